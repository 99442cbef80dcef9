//! How each mailbox was last found — connected, or failing with the error, how many times in a
//! row — written by the reader that holds it and read by the quarantine page and the
//! administrators' status page. Kept in the database: any server copy shows what the reading
//! copy found.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sportello_domain::Language;

use super::Which;
use crate::state::AppState;
use crate::web::i18n;

/// Records what a reader found: `None` connected, or the error.
pub async fn report(app: &AppState, which: Which, error: Option<&str>) {
    let error = error.map(|e| e.chars().take(300).collect::<String>());
    let _ = sqlx::query(
        "INSERT INTO mail_in_status (mailbox, ok, last_error, checked_at, failures)
         VALUES (?, ?, ?, ?, IF(? IS NULL, 0, 1))
         ON DUPLICATE KEY UPDATE ok = VALUES(ok), last_error = VALUES(last_error),
                                 checked_at = VALUES(checked_at),
                                 failures = IF(VALUES(ok), 0, failures + 1)",
    )
    .bind(which.code())
    .bind(error.is_none())
    .bind(&error)
    .bind(app.clock.now())
    .bind(&error)
    .execute(&app.pool)
    .await;
}

/// A row of `mail_in_status`: mailbox, ok, last error, failures in a row, when.
type Row = (String, bool, Option<String>, i32, DateTime<Utc>);

/// A configured mailbox as people see it.
#[derive(Serialize)]
pub struct MailboxState {
    pub name: String,
    /// Whether a reader has tried it yet.
    pub checked: bool,
    pub ok: bool,
    pub error: Option<String>,
    /// Failed attempts in a row.
    pub failures: i32,
    pub at: String,
    /// Messages read in the last 24 hours.
    pub read_today: i64,
}

/// Every mailbox configured here or read by another copy, in order (the URP's, then the PEC
/// one).
pub async fn states(app: &AppState, language: Language) -> Result<Vec<MailboxState>, sqlx::Error> {
    let config = app.config.mail_in.as_ref();
    let rows: Vec<Row> =
        sqlx::query_as("SELECT mailbox, ok, last_error, failures, checked_at FROM mail_in_status")
            .fetch_all(&app.pool)
            .await?;
    let since = app.clock.now() - chrono::Duration::hours(24);
    let read: Vec<(String, i64)> = sqlx::query_as(
        "SELECT mailbox, COUNT(*) FROM mail_in_messages
          WHERE organisation_id = ? AND received_at > ? GROUP BY mailbox",
    )
    .bind(app.organisation_id.to_string())
    .bind(since)
    .fetch_all(&app.pool)
    .await?;
    let configured = [
        (Which::Mail, config.is_some_and(|c| c.mail.is_some())),
        (Which::Pec, config.is_some_and(|c| c.pec.is_some())),
    ];
    Ok(configured
        .into_iter()
        .filter(|(which, here)| *here || rows.iter().any(|row| row.0 == which.code()))
        .map(|(which, _)| {
            let row = rows.iter().find(|row| row.0 == which.code());
            MailboxState {
                name: i18n::text(
                    language,
                    &format!("quarantine.mailbox.{}", which.code()),
                    &[],
                ),
                checked: row.is_some(),
                ok: row.is_some_and(|row| row.1),
                error: row.and_then(|row| row.2.clone()),
                failures: row.map_or(0, |row| row.3),
                at: row
                    .map(|row| i18n::date_time(language, row.4))
                    .unwrap_or_default(),
                read_today: read
                    .iter()
                    .find(|(code, _)| code == which.code())
                    .map_or(0, |(_, n)| *n),
            }
        })
        .collect())
}
