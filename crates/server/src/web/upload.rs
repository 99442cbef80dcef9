//! Reading multipart forms with files: the typed fields are kept even when the files go over
//! the limits (`files` checks each file's content before anything is stored).

use axum::extract::Multipart;
use axum::http::StatusCode;

use super::{AppError, Result};

/// At most this many files per form.
pub const MAX_FILES: usize = 5;
/// At most this large each.
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;
/// What a form with files accepts in all: five files of 10 MB and the text fields, with room for
/// the multipart framing. Bodies up to twice as large are still read (and their files refused
/// with a clear message, the typed fields kept); beyond `MAX_BODY_BYTES` the server stops.
pub const MAX_ACCEPTED_BYTES: usize = MAX_FILES * MAX_FILE_BYTES + 2 * 1024 * 1024;
pub const MAX_BODY_BYTES: usize = 2 * MAX_ACCEPTED_BYTES;

/// A route whose forms carry files: its body may be as large as `MAX_BODY_BYTES`.
pub fn with_files<S: Clone + Send + Sync + 'static>(
    route: axum::routing::MethodRouter<S>,
) -> axum::routing::MethodRouter<S> {
    route.layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// One file as sent; `oversized` files are not kept in memory past the limit.
pub struct Upload {
    pub name: String,
    pub bytes: Vec<u8>,
    pub oversized: bool,
}

/// What the multipart body held: the typed fields, the uploads, the CSRF token.
pub struct Received {
    pub fields: Vec<(String, String)>,
    pub uploads: Vec<Upload>,
    pub csrf_token: Option<String>,
    /// The body went over what the form accepts; the fields read so far are kept.
    pub too_large: bool,
}

/// Reads a multipart form: text fields (64 KB each at most), files in `attachments` (kept only up
/// to the per-file limit), stopping once `MAX_ACCEPTED_BYTES` have gone by.
pub async fn read_multipart(mut multipart: Multipart) -> Result<Received> {
    let max_total = MAX_ACCEPTED_BYTES;
    let mut received = Received {
        fields: Vec::new(),
        uploads: Vec::new(),
        csrf_token: None,
        too_large: false,
    };
    let mut total = 0usize;
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(error) if error.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                received.too_large = true;
                break;
            }
            Err(_) => return Err(AppError::BadRequest),
        };
        let name = field.name().unwrap_or_default().to_string();
        let is_file = name == "attachments";
        let mut upload = Upload {
            name: field.file_name().unwrap_or_default().to_string(),
            bytes: Vec::new(),
            oversized: false,
        };
        loop {
            let chunk = match field.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(error) if error.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    received.too_large = true;
                    break;
                }
                Err(_) => return Err(AppError::BadRequest),
            };
            total += chunk.len();
            let limit = if is_file { MAX_FILE_BYTES } else { 64 * 1024 };
            if upload.bytes.len() + chunk.len() > limit {
                upload.oversized = true;
                upload.bytes = Vec::new();
            } else if !upload.oversized {
                upload.bytes.extend_from_slice(&chunk);
            }
        }
        if total > max_total {
            received.too_large = true;
        }
        if is_file {
            if !(upload.name.is_empty() && upload.bytes.is_empty() && !upload.oversized) {
                received.uploads.push(upload);
            }
        } else if upload.oversized {
            return Err(AppError::PayloadTooLarge);
        } else {
            let value = String::from_utf8(upload.bytes).map_err(|_| AppError::BadRequest)?;
            if name == "csrf_token" {
                received.csrf_token = Some(value);
            } else {
                received.fields.push((name, value));
            }
        }
        if received.too_large {
            break;
        }
    }
    Ok(received)
}
