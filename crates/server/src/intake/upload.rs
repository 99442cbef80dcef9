//! Reading multipart forms with files: the typed fields are kept even when the files go over
//! the limits, and every file is checked and prepared before anything is stored.

use axum::extract::Multipart;
use axum::http::StatusCode;

use super::attachments::{self, PreparedAttachment, MAX_FILES, MAX_FILE_BYTES};
use super::form::FieldError;
use crate::web::{AppError, Result};

/// One file as sent; `oversized` files are not kept in memory past the limit.
pub struct Upload {
    pub name: String,
    pub(crate) bytes: Vec<u8>,
    pub(crate) oversized: bool,
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
/// to the per-file limit), stopping once `max_total` bytes have gone by.
pub async fn read_multipart(mut multipart: Multipart, max_total: usize) -> Result<Received> {
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

/// Checks every upload (in a blocking task: images are decoded and re-encoded).
pub async fn prepare_uploads(
    uploads: Vec<Upload>,
    too_large: bool,
) -> Result<(Vec<PreparedAttachment>, Vec<FieldError>)> {
    let mut errors = Vec::new();
    if too_large {
        errors.push(FieldError {
            field: "attachments",
            message: "form.error.attachments_total",
            detail: None,
        });
        return Ok((Vec::new(), errors));
    }
    if uploads.len() > MAX_FILES {
        errors.push(FieldError {
            field: "attachments",
            message: "form.error.attachments_count",
            detail: None,
        });
        return Ok((Vec::new(), errors));
    }
    let results = tokio::task::spawn_blocking(move || {
        uploads
            .into_iter()
            .map(|upload| {
                let result = if upload.oversized {
                    Err(attachments::AttachmentError::TooLarge)
                } else {
                    attachments::prepare(&upload.name, upload.bytes)
                };
                (attachments::safe_name(&upload.name), result)
            })
            .collect::<Vec<_>>()
    })
    .await
    .map_err(AppError::internal)?;
    let mut prepared = Vec::new();
    for (name, result) in results {
        match result {
            Ok(attachment) => prepared.push(attachment),
            Err(error) => errors.push(FieldError {
                field: "attachments",
                message: error.message_key(),
                detail: Some(name),
            }),
        }
    }
    Ok((prepared, errors))
}
