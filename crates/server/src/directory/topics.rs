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

impl Topic {
    /// The topic's name in `language`.
    pub fn name(&self, language: sportello_domain::Language) -> &str {
        match language {
            sportello_domain::Language::En => &self.name_en,
            sportello_domain::Language::It => &self.name_it,
        }
    }
}

/// The name in `language` of the topic with `code` (the code itself if it is no longer there).
pub fn topic_name(topics: &[Topic], code: &str, language: sportello_domain::Language) -> String {
    topics
        .iter()
        .find(|t| t.code == code)
        .map(|t| t.name(language).to_string())
        .unwrap_or_else(|| code.to_string())
}

/// Active topics as (code, name in `language`) for a form's select.
pub async fn topic_choices(
    pool: &MySqlPool,
    organisation_id: Uuid,
    language: sportello_domain::Language,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    Ok(active_topics(pool, organisation_id)
        .await?
        .into_iter()
        .map(|t| (t.name(language).to_string(), t.code))
        .map(|(name, code)| (code, name))
        .collect())
}

/// The codes of the active topics, which a form's topic must be one of.
pub async fn active_topic_codes(
    pool: &MySqlPool,
    organisation_id: Uuid,
) -> Result<Vec<String>, sqlx::Error> {
    Ok(active_topics(pool, organisation_id)
        .await?
        .into_iter()
        .map(|t| t.code)
        .collect())
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

/// A topic as administrators edit it.
#[derive(Debug, Clone, Serialize)]
pub struct TopicSetting {
    pub code: String,
    pub name_it: String,
    pub name_en: String,
    pub position: i32,
    pub active: bool,
    pub default_department: Option<String>,
}

/// Every topic of the organisation, active or not, in order.
pub async fn all_topics(
    pool: &MySqlPool,
    organisation_id: Uuid,
) -> Result<Vec<TopicSetting>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT code, name_it, name_en, position, active, default_department FROM topics
          WHERE organisation_id = ? ORDER BY position, code",
    )
    .bind(organisation_id.to_string())
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok(TopicSetting {
                code: row.try_get("code")?,
                name_it: row.try_get("name_it")?,
                name_en: row.try_get("name_en")?,
                position: row.try_get("position")?,
                active: row.try_get("active")?,
                default_department: row.try_get("default_department")?,
            })
        })
        .collect()
}

/// Creates or updates a topic (by its code).
pub async fn save_topic(
    pool: &MySqlPool,
    organisation_id: Uuid,
    topic: &TopicSetting,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO topics (organisation_id, code, name_it, name_en, position, active, default_department)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON DUPLICATE KEY UPDATE name_it = VALUES(name_it), name_en = VALUES(name_en), position = VALUES(position),
             active = VALUES(active), default_department = VALUES(default_department)",
    )
    .bind(organisation_id.to_string())
    .bind(&topic.code)
    .bind(&topic.name_it)
    .bind(&topic.name_en)
    .bind(topic.position)
    .bind(topic.active)
    .bind(&topic.default_department)
    .execute(pool)
    .await?;
    Ok(())
}
