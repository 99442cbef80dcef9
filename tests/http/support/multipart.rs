//! Builds multipart/form-data bodies the way a browser sends the form.

/// A field's name, its file name and type if it is a file, and its bytes.
type Part = (String, Option<(String, String)>, Vec<u8>);

#[derive(Clone, Default)]
pub struct Multipart {
    parts: Vec<Part>,
}

const BOUNDARY: &str = "----sportello-test-boundary-7MA4YWxkTrZu0gW";

impl Multipart {
    pub fn new() -> Multipart {
        Multipart::default()
    }

    /// Sets a text field, replacing an earlier value of the same name.
    pub fn text(mut self, name: &str, value: &str) -> Multipart {
        self.parts
            .retain(|(existing, file, _)| existing != name || file.is_some());
        self.parts
            .push((name.into(), None, value.as_bytes().to_vec()));
        self
    }

    /// Puts a text field first, where the form has its hidden CSRF token.
    pub fn first(mut self, name: &str, value: &str) -> Multipart {
        self.parts.retain(|(existing, _, _)| existing != name);
        self.parts
            .insert(0, (name.into(), None, value.as_bytes().to_vec()));
        self
    }

    pub fn without(mut self, name: &str) -> Multipart {
        self.parts.retain(|(existing, _, _)| existing != name);
        self
    }

    pub fn file(
        mut self,
        name: &str,
        file_name: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Multipart {
        self.parts.push((
            name.into(),
            Some((file_name.into(), content_type.into())),
            bytes,
        ));
        self
    }

    pub fn encode(&self) -> (String, Vec<u8>) {
        let mut body = Vec::new();
        for (name, file, bytes) in &self.parts {
            body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
            match file {
                None => body.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes()),
                Some((file_name, content_type)) => body.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: {content_type}\r\n\r\n"
                    )
                    .as_bytes(),
                ),
            }
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        (format!("multipart/form-data; boundary={BOUNDARY}"), body)
    }
}
