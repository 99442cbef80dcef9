//! The topics a citizen chooses from (configured per organisation).

use serde::Serialize;
use sqlx::{MySqlPool, Row};
use uuid::Uuid;

#[derive(Debug, Clone, Serialize)]
pub struct Topic {
    pub code: String,
    pub name_it: String,
    pub name_en: String,
}

/// Active topics of the organisation, in their configured order.
pub async fn active_topics(
    pool: &MySqlPool,
    organisation_id: Uuid,
) -> Result<Vec<Topic>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT code, name_it, name_en FROM topics WHERE organisation_id = ? AND active ORDER BY position",
    )
    .bind(organisation_id.to_string())
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok(Topic {
                code: row.try_get("code")?,
                name_it: row.try_get("name_it")?,
                name_en: row.try_get("name_en")?,
            })
        })
        .collect()
}
