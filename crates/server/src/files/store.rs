//! Storing files: their bytes in `files` (content-addressed), before the event that names them,
//! and the records an event keeps of them.

use sportello_domain::Attachment;

use super::attachments::{PreparedAttachment, PreparedFile};

/// Stores prepared files (and their thumbnails) before the event that will name them.
pub async fn store_attachments(
    pool: &sqlx::MySqlPool,
    attachments: &[PreparedAttachment],
) -> Result<(), sqlx::Error> {
    for attachment in attachments {
        store_file(pool, &attachment.file).await?;
        if let Some(thumbnail) = &attachment.thumbnail {
            store_file(pool, thumbnail).await?;
        }
    }
    Ok(())
}

/// How an event names prepared files.
pub fn attachment_records(attachments: &[PreparedAttachment]) -> Vec<Attachment> {
    attachments
        .iter()
        .map(|a| Attachment {
            file_id: a.file.id.clone(),
            thumbnail_id: a.thumbnail.as_ref().map(|t| t.id.clone()),
            content_type: a.file.content_type.to_string(),
            size: a.file.bytes.len() as u64,
            name: None,
            sealed_name: None,
        })
        .collect()
}

async fn store_file(pool: &sqlx::MySqlPool, file: &PreparedFile) -> Result<(), sqlx::Error> {
    store_bytes(pool, &file.id, file.content_type, &file.bytes).await
}

/// Stores `bytes` under `id` (their SHA-256). Stored again (the same bytes), a file counts as
/// fresh, so the sweep of unnamed files never takes one an event or a document is about to name.
pub async fn store_bytes(
    pool: &sqlx::MySqlPool,
    id: &str,
    content_type: &str,
    bytes: &[u8],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO files (id, content_type, size, bytes) VALUES (?, ?, ?, ?)
         ON DUPLICATE KEY UPDATE created_at = CURRENT_TIMESTAMP(6)",
    )
    .bind(id)
    .bind(content_type)
    .bind(bytes.len() as i64)
    .bind(bytes)
    .execute(pool)
    .await?;
    Ok(())
}
