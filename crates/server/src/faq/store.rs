//! FAQs in the database: the current text per language (with its search columns), every earlier
//! version in `faq_revisions`, votes and deflections.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sportello_domain::Language;
use sqlx::{MySqlPool, Row};
use std::collections::HashMap;
use uuid::Uuid;

use crate::search;
use crate::web::markup;

/// A question and its answer in one language.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Text {
    pub question: String,
    pub answer: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Faq {
    pub id: Uuid,
    pub topic_code: String,
    pub position: i32,
    pub published: bool,
    pub revision: i32,
    pub it: Option<Text>,
    pub en: Option<Text>,
    pub updated_at: DateTime<Utc>,
}

impl Faq {
    /// The text in `language`, or in the other one when this FAQ has only that (with its language).
    pub fn text_in(&self, language: Language) -> Option<(&Text, Language)> {
        let (wanted, other) = match language {
            Language::It => (&self.it, (&self.en, Language::En)),
            Language::En => (&self.en, (&self.it, Language::It)),
        };
        wanted
            .as_ref()
            .map(|t| (t, language))
            .or_else(|| other.0.as_ref().map(|t| (t, other.1)))
    }
}

/// What staff send to create or change a FAQ.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    pub topic_code: String,
    pub position: i32,
    pub published: bool,
    pub it: Option<Text>,
    pub en: Option<Text>,
    pub source_request: Option<String>,
}

/// Creates (`id` None) or changes a FAQ, keeping the new version in its history. Returns its id.
/// Saving over a version someone else has changed meanwhile.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("the FAQ changed meanwhile")]
    Stale,
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

pub async fn save(
    pool: &MySqlPool,
    organisation_id: Uuid,
    id: Option<Uuid>,
    draft: &Draft,
    staff_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Uuid, sqlx::Error> {
    match save_over(pool, organisation_id, id, None, draft, staff_id, now).await {
        Ok(id) => Ok(id),
        Err(SaveError::Database(error)) => Err(error),
        Err(SaveError::Stale) => Err(sqlx::Error::RowNotFound),
    }
}

/// As `save`, refusing when the FAQ is no longer at `expected` revision (checked under the row's
/// lock, so of two editors saving the same version one wins).
pub async fn save_over(
    pool: &MySqlPool,
    organisation_id: Uuid,
    id: Option<Uuid>,
    expected: Option<i32>,
    draft: &Draft,
    staff_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Uuid, SaveError> {
    let mut tx = pool.begin().await?;
    let (id, revision) = match id {
        Some(id) => {
            let revision: Option<i32> = sqlx::query_scalar(
                "SELECT revision FROM faqs WHERE id = ? AND organisation_id = ? FOR UPDATE",
            )
            .bind(id.to_string())
            .bind(organisation_id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
            let Some(revision) = revision else {
                return Err(SaveError::Database(sqlx::Error::RowNotFound));
            };
            if expected.is_some_and(|expected| expected != revision) {
                return Err(SaveError::Stale);
            }
            sqlx::query(
                "UPDATE faqs SET topic_code = ?, position = ?, published = ?, revision = ?,
                        updated_at = ?, updated_by = ? WHERE id = ?",
            )
            .bind(&draft.topic_code)
            .bind(draft.position)
            .bind(draft.published)
            .bind(revision + 1)
            .bind(now)
            .bind(staff_id.to_string())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
            (id, revision + 1)
        }
        None => {
            let id = Uuid::new_v4();
            sqlx::query(
                "INSERT INTO faqs (id, organisation_id, topic_code, position, published, revision,
                     source_request, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)",
            )
            .bind(id.to_string())
            .bind(organisation_id.to_string())
            .bind(&draft.topic_code)
            .bind(draft.position)
            .bind(draft.published)
            .bind(&draft.source_request)
            .bind(now)
            .bind(staff_id.to_string())
            .execute(&mut *tx)
            .await?;
            (id, 1)
        }
    };
    sqlx::query("DELETE FROM faq_texts WHERE faq_id = ?")
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
    for (language, text) in [(Language::It, &draft.it), (Language::En, &draft.en)] {
        let Some(text) = text else { continue };
        sqlx::query(
            "INSERT INTO faq_texts (faq_id, language, organisation_id, published, question, answer,
                 search_question, search_answer) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(language.code())
        .bind(organisation_id.to_string())
        .bind(draft.published)
        .bind(&text.question)
        .bind(&text.answer)
        .bind(search::index_text(language, &text.question))
        .bind(search::index_text(language, &markup::plain(&text.answer)))
        .execute(&mut *tx)
        .await?;
    }
    super::index::bump(&mut tx).await?;
    sqlx::query(
        "INSERT INTO faq_revisions (faq_id, revision, staff_id, at, topic_code, position, published,
             question_it, answer_it, question_en, answer_en) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id.to_string())
    .bind(revision)
    .bind(staff_id.to_string())
    .bind(now)
    .bind(&draft.topic_code)
    .bind(draft.position)
    .bind(draft.published)
    .bind(draft.it.as_ref().map(|t| &t.question))
    .bind(draft.it.as_ref().map(|t| &t.answer))
    .bind(draft.en.as_ref().map(|t| &t.question))
    .bind(draft.en.as_ref().map(|t| &t.answer))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(id)
}

const COLUMNS: &str = "f.id, f.topic_code, f.position, f.published, f.revision, f.updated_at,
    it.question AS question_it, it.answer AS answer_it, en.question AS question_en, en.answer AS answer_en";

const FROM: &str = "FROM faqs f
    LEFT JOIN faq_texts it ON it.faq_id = f.id AND it.language = 'it'
    LEFT JOIN faq_texts en ON en.faq_id = f.id AND en.language = 'en'";

fn from_row(row: sqlx::mysql::MySqlRow) -> Result<Faq, sqlx::Error> {
    let text = |q: Option<String>, a: Option<String>| {
        q.map(|question| Text {
            question,
            answer: a.unwrap_or_default(),
        })
    };
    let id: String = row.try_get("id")?;
    Ok(Faq {
        id: Uuid::parse_str(&id).unwrap_or_default(),
        topic_code: row.try_get("topic_code")?,
        position: row.try_get("position")?,
        published: row.try_get("published")?,
        revision: row.try_get("revision")?,
        updated_at: row.try_get("updated_at")?,
        it: text(row.try_get("question_it")?, row.try_get("answer_it")?),
        en: text(row.try_get("question_en")?, row.try_get("answer_en")?),
    })
}

pub async fn find(
    pool: &MySqlPool,
    organisation_id: Uuid,
    id: &str,
) -> Result<Option<Faq>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} {FROM} WHERE f.id = ? AND f.organisation_id = ?");
    crate::db::find_in_organisation(pool, &sql, id, organisation_id, from_row).await
}

/// Every FAQ (staff), or only the published ones, ordered by topic and position.
pub async fn list(
    pool: &MySqlPool,
    organisation_id: Uuid,
    only_published: bool,
    topic: Option<&str>,
) -> Result<Vec<Faq>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} {FROM} WHERE f.organisation_id = ? AND (f.published OR NOT ?)
            AND (? IS NULL OR f.topic_code = ?)
          ORDER BY f.topic_code, f.position, f.updated_at"
    ))
    .bind(organisation_id.to_string())
    .bind(only_published)
    .bind(topic)
    .bind(topic)
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// One version of a FAQ, as its history shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Revision {
    pub revision: i32,
    pub staff_id: Option<String>,
    pub at: DateTime<Utc>,
    pub topic_code: String,
    pub position: i32,
    pub published: bool,
    pub it: Option<Text>,
    pub en: Option<Text>,
}

pub async fn revisions(pool: &MySqlPool, id: &str) -> Result<Vec<Revision>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT revision, staff_id, at, topic_code, position, published, question_it, answer_it,
                question_en, answer_en FROM faq_revisions WHERE faq_id = ? ORDER BY revision DESC",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|row| {
            let text = |q: Option<String>, a: Option<String>| {
                q.map(|question| Text {
                    question,
                    answer: a.unwrap_or_default(),
                })
            };
            Ok(Revision {
                revision: row.try_get("revision")?,
                staff_id: row.try_get("staff_id")?,
                at: row.try_get("at")?,
                topic_code: row.try_get("topic_code")?,
                position: row.try_get("position")?,
                published: row.try_get("published")?,
                it: text(row.try_get("question_it")?, row.try_get("answer_it")?),
                en: text(row.try_get("question_en")?, row.try_get("answer_en")?),
            })
        })
        .collect()
}

pub async fn vote(
    pool: &MySqlPool,
    faq_id: &str,
    useful: bool,
    comment: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO faq_votes (faq_id, useful, comment, at) VALUES (?, ?, ?, ?)")
        .bind(faq_id)
        .bind(useful)
        .bind(comment)
        .bind(now)
        .execute(pool)
        .await?;
    Ok(())
}

/// Votes per FAQ: (useful, not useful).
pub async fn vote_counts(
    pool: &MySqlPool,
    organisation_id: Uuid,
) -> Result<HashMap<String, (i64, i64)>, sqlx::Error> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT v.faq_id, CAST(SUM(v.useful) AS SIGNED), CAST(SUM(NOT v.useful) AS SIGNED)
           FROM faq_votes v JOIN faqs f ON f.id = v.faq_id
          WHERE f.organisation_id = ? GROUP BY v.faq_id",
    )
    .bind(organisation_id.to_string())
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, yes, no)| (id, (yes, no)))
        .collect())
}

/// The comments left with votes on one FAQ, newest first.
pub async fn comments(
    pool: &MySqlPool,
    faq_id: &str,
) -> Result<Vec<(bool, String, DateTime<Utc>)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT useful, comment, at FROM faq_votes WHERE faq_id = ? AND comment IS NOT NULL ORDER BY at DESC LIMIT 100",
    )
    .bind(faq_id)
    .fetch_all(pool)
    .await
}
