//! Canned answers: the URP's ready texts, per kind and topic, in Italian and English.

use serde::Serialize;
use sqlx::{MySqlPool, Row};
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, Default)]
pub struct CannedAnswer {
    pub id: String,
    pub title: String,
    pub kind: Option<String>,
    pub topic_code: Option<String>,
    pub body_it: String,
    pub body_en: String,
    pub active: bool,
}

/// Every canned answer of the organisation, by title.
pub async fn all(
    pool: &MySqlPool,
    organisation_id: Uuid,
) -> Result<Vec<CannedAnswer>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, title, kind, topic_code, body_it, body_en, active FROM canned_answers
          WHERE organisation_id = ? ORDER BY title",
    )
    .bind(organisation_id.to_string())
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok(CannedAnswer {
                id: row.try_get("id")?,
                title: row.try_get("title")?,
                kind: row.try_get("kind")?,
                topic_code: row.try_get("topic_code")?,
                body_it: row.try_get("body_it")?,
                body_en: row.try_get("body_en")?,
                active: row.try_get("active")?,
            })
        })
        .collect()
}

/// The active answers that suit a request of this kind and topic (or any).
pub async fn suitable(
    pool: &MySqlPool,
    organisation_id: Uuid,
    kind: &str,
    topic: &str,
) -> Result<Vec<CannedAnswer>, sqlx::Error> {
    Ok(all(pool, organisation_id)
        .await?
        .into_iter()
        .filter(|a| a.active)
        .filter(|a| {
            a.kind.as_deref().is_none_or(|k| k == kind)
                && a.topic_code.as_deref().is_none_or(|t| t == topic)
        })
        .collect())
}

/// Creates (empty id) or updates a canned answer; `false` when the id is not the organisation's.
pub async fn save(
    pool: &MySqlPool,
    organisation_id: Uuid,
    answer: &CannedAnswer,
) -> Result<bool, sqlx::Error> {
    if answer.id.is_empty() {
        sqlx::query(
            "INSERT INTO canned_answers (id, organisation_id, title, kind, topic_code, body_it, body_en, active)
             VALUES (?, ?, ?, ?, ?, ?, ?, TRUE)",
        )
        .bind(Uuid::new_v4().to_string())
        .bind(organisation_id.to_string())
        .bind(&answer.title)
        .bind(&answer.kind)
        .bind(&answer.topic_code)
        .bind(&answer.body_it)
        .bind(&answer.body_en)
        .execute(pool)
        .await?;
        return Ok(true);
    }
    let result = sqlx::query(
        "UPDATE canned_answers SET title = ?, kind = ?, topic_code = ?, body_it = ?, body_en = ?, active = ?
          WHERE id = ? AND organisation_id = ?",
    )
    .bind(&answer.title)
    .bind(&answer.kind)
    .bind(&answer.topic_code)
    .bind(&answer.body_it)
    .bind(&answer.body_en)
    .bind(answer.active)
    .bind(&answer.id)
    .bind(organisation_id.to_string())
    .execute(pool)
    .await?;
    Ok(result.rows_affected() > 0)
}

/// Fills the placeholders of a canned text.
pub fn fill(
    text: &str,
    first_name: &str,
    last_name: &str,
    reference: &str,
    subject: &str,
) -> String {
    text.replace("{nome}", first_name)
        .replace("{cognome}", last_name)
        .replace("{riferimento}", reference)
        .replace("{oggetto}", subject)
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_are_filled() {
        assert_eq!(
            super::fill(
                "Gentile {nome} {cognome}, per la richiesta {riferimento} ({oggetto})…",
                "Maria",
                "Rossi",
                "2026/0000001",
                "Buca"
            ),
            "Gentile Maria Rossi, per la richiesta 2026/0000001 (Buca)…"
        );
    }
}
