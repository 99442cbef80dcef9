//! The inbox's word index (`queue_words`): each request's search terms with its receipt time,
//! written when its `RequestReceived` is applied and removed with its personal data.

use sqlx::MySqlConnection;

use crate::ProjectionError;

/// Writes a request's search terms (see `words::search_terms`).
pub(super) async fn index_words(
    conn: &mut MySqlConnection,
    organisation_id: &str,
    received_at: chrono::DateTime<chrono::Utc>,
    aggregate_id: &str,
    text: &str,
) -> Result<(), ProjectionError> {
    let terms = crate::words::search_terms(text);
    if terms.is_empty() {
        return Ok(());
    }
    let mut insert = sqlx::QueryBuilder::new(
        "INSERT IGNORE INTO queue_words (organisation_id, word, received_at, aggregate_id) ",
    );
    insert.push_values(&terms, |mut row, term| {
        row.push_bind(organisation_id)
            .push_bind(term)
            .push_bind(received_at)
            .push_bind(aggregate_id);
    });
    insert.build().execute(conn).await?;
    Ok(())
}

/// A queued request's id, organisation, receipt time, subject, citizen's name and address.
type Queued = (
    String,
    String,
    chrono::DateTime<chrono::Utc>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Fills the search terms of requests already in the queue (once, after the migration that
/// made the index: the queue's clear columns hold what is needed, so nothing is rebuilt).
pub async fn fill_words(pool: &sqlx::MySqlPool) -> Result<u64, ProjectionError> {
    let mut after = String::new();
    let mut filled = 0;
    loop {
        let rows: Vec<Queued> =
            sqlx::query_as(
                "SELECT aggregate_id, organisation_id, received_at, subject, citizen_name, citizen_email
                   FROM queue_requests WHERE aggregate_id > ? ORDER BY aggregate_id LIMIT 1000",
            )
            .bind(&after)
            .fetch_all(pool)
            .await?;
        let Some(last) = rows.last() else {
            return Ok(filled);
        };
        after = last.0.clone();
        let mut tx = pool.begin().await?;
        for (id, organisation, received_at, subject, name, email) in &rows {
            let text = [subject, name, email]
                .iter()
                .filter_map(|part| part.as_deref())
                .collect::<Vec<_>>()
                .join(" ");
            index_words(&mut tx, organisation, *received_at, id, &text).await?;
            filled += 1;
        }
        tx.commit().await?;
    }
}
