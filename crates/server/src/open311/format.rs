//! Open311 answers in the format the path asks for (`.json` or `.xml`), and the specification's
//! error list. XML is written from the same JSON value: an array's items take the element name
//! the specification gives them (`services` → `service`, `service_requests` → `request` …).

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

/// `discovery.json` → ("discovery", Json); `None` for another extension.
pub fn split(file: &str) -> Option<(&str, Format)> {
    let (name, extension) = file.rsplit_once('.')?;
    let format = match extension {
        "json" => Format::Json,
        "xml" => Format::Xml,
        _ => return None,
    };
    Some((name, format))
}

fn item_name(list: &str) -> &'static str {
    match list {
        "services" => "service",
        "service_requests" => "request",
        "attributes" => "attribute",
        "values" => "value",
        "endpoints" => "endpoint",
        "formats" => "format",
        "errors" => "error",
        _ => "item",
    }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

fn element(out: &mut String, name: &str, value: &Value) {
    match value {
        Value::Null => {
            out.push_str(&format!("<{name}/>"));
        }
        Value::Array(items) => {
            out.push_str(&format!("<{name}>"));
            for item in items {
                element(out, item_name(name), item);
            }
            out.push_str(&format!("</{name}>"));
        }
        Value::Object(fields) => {
            out.push_str(&format!("<{name}>"));
            for (key, field) in fields {
                element(out, key, field);
            }
            out.push_str(&format!("</{name}>"));
        }
        Value::String(text) => out.push_str(&format!("<{name}>{}</{name}>", escape(text))),
        other => out.push_str(&format!("<{name}>{other}</{name}>")),
    }
}

/// The XML document of `value` under `root`.
pub fn xml(root: &str, value: &Value) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
    element(&mut out, root, value);
    out
}

/// An answer: `value` as JSON, or as XML under `root`.
pub fn answer(format: Format, status: StatusCode, root: &str, value: Value) -> Response {
    match format {
        Format::Json => (
            status,
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            value.to_string(),
        )
            .into_response(),
        Format::Xml => (
            status,
            [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
            xml(root, &value),
        )
            .into_response(),
    }
}

/// The specification's error answer: a list of `{code, description}` with the HTTP status.
pub fn error(format: Format, status: StatusCode, description: &str) -> Response {
    answer(
        format,
        status,
        "errors",
        json!([{ "code": status.as_u16(), "description": description }]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_take_the_specifications_element_names_and_text_is_escaped() {
        let value = json!([{ "service_code": "a&b", "keywords": null, "metadata": true }]);
        assert_eq!(
            xml("services", &value),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><services><service><keywords/><metadata>true</metadata><service_code>a&amp;b</service_code></service></services>"
        );
        assert_eq!(split("requests.xml"), Some(("requests", Format::Xml)));
        assert_eq!(split("requests.html"), None);
    }
}
