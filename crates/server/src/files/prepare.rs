//! Checking what was uploaded: every file by its content (`attachments::prepare`, in a
//! blocking task: images are decoded and re-encoded), the count and the total, each refusal
//! named for the field it belongs to.

use super::attachments::{self, PreparedAttachment, MAX_FILES};
use crate::web::form::FieldError;
use crate::web::upload::Upload;
use crate::web::{AppError, Result};

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
