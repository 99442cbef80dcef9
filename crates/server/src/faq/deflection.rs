//! Deflection: a citizen writing a request opens a suggested FAQ and then does not send the
//! form. Counted without personal data, by the form's anonymous session (a random value in the
//! form, stored hashed): opening a suggestion records a row; sending that form marks its rows.
//! A row still unmarked an hour after it was opened is a question the FAQ answered.

use chrono::Duration;
use sha2::{Digest, Sha256};

use crate::state::AppState;
use crate::web::Result;

/// How long after opening a suggestion a form may still be sent before it counts as answered.
pub const GRACE: Duration = Duration::hours(1);

fn hash(session: &str) -> String {
    hex::encode(Sha256::digest(session.as_bytes()))
}

/// A fresh anonymous form session.
pub fn new_session() -> String {
    crate::web::csrf::new_nonce()
}

pub async fn opened(app: &AppState, session: &str, faq_id: &str) -> Result<()> {
    sqlx::query("INSERT INTO faq_deflections (form_session, faq_id, opened_at) VALUES (?, ?, ?)")
        .bind(hash(session))
        .bind(faq_id)
        .bind(app.clock.now())
        .execute(&app.pool)
        .await?;
    Ok(())
}

/// The form of this session was sent: its suggestions did not answer the question.
pub async fn submitted(app: &AppState, session: &str) -> Result<()> {
    if session.len() != 43 {
        return Ok(());
    }
    sqlx::query("UPDATE faq_deflections SET submitted_at = ? WHERE form_session = ? AND submitted_at IS NULL")
        .bind(app.clock.now())
        .bind(hash(session))
        .execute(&app.pool)
        .await?;
    Ok(())
}

/// Questions answered by the FAQ since `since`: form sessions with a suggestion opened, not sent.
pub async fn answered_since(app: &AppState, since: chrono::DateTime<chrono::Utc>) -> Result<i64> {
    answered_between(&app.pool, since, app.clock.now() - GRACE).await
}

/// Form sessions that opened a suggestion in `[from, to)` and were not sent. `to` should be an
/// hour (`GRACE`) ago at the latest: a form may still be sent until then.
pub async fn answered_between(
    pool: &sqlx::MySqlPool,
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
) -> Result<i64> {
    let count: i64 = sqlx::query_scalar(
        "SELECT COUNT(DISTINCT form_session) FROM faq_deflections d
          WHERE d.opened_at >= ? AND d.opened_at < ?
            AND NOT EXISTS (SELECT 1 FROM faq_deflections s WHERE s.form_session = d.form_session AND s.submitted_at IS NOT NULL)",
    )
    .bind(from)
    .bind(to)
    .fetch_one(pool)
    .await?;
    Ok(count)
}

/// Per FAQ: how many times it was opened from a suggestion and the form was not sent.
pub async fn answered_per_faq(
    app: &AppState,
    since: chrono::DateTime<chrono::Utc>,
) -> Result<std::collections::HashMap<String, i64>> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT d.faq_id, COUNT(*) FROM faq_deflections d
          WHERE d.opened_at >= ? AND d.opened_at < ?
            AND NOT EXISTS (SELECT 1 FROM faq_deflections s WHERE s.form_session = d.form_session AND s.submitted_at IS NOT NULL)
          GROUP BY d.faq_id",
    )
    .bind(since)
    .bind(app.clock.now() - GRACE)
    .fetch_all(&app.pool)
    .await?;
    Ok(rows.into_iter().collect())
}
