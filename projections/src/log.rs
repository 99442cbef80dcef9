//! Reading the event log in commit order. Appends lock `event_append_lock` before inserting, so
//! a row with a higher global position never commits before one with a lower position: reading
//! "after my checkpoint" cannot skip a row that is still to commit.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sportello_domain::{RequestEvent, EVENT_VERSION};
use sqlx::{MySqlConnection, Row};

use crate::ProjectionError;

/// One event as it sits in the log, decoded.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub position: i64,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event: RequestEvent,
    pub metadata: HashMap<String, String>,
    pub recorded_at: DateTime<Utc>,
}

/// Events after `position`, oldest first, at most `limit`.
pub async fn events_after(
    conn: &mut MySqlConnection,
    position: i64,
    limit: i64,
) -> Result<Vec<StoredEvent>, ProjectionError> {
    let rows = sqlx::query(
        "SELECT global_position, aggregate_id, sequence, event_type, event_version, payload,
                metadata, recorded_at
           FROM events
          WHERE global_position > ? AND aggregate_type = 'request'
          ORDER BY global_position
          LIMIT ?",
    )
    .bind(position)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|row| {
            let position: i64 = row.try_get("global_position")?;
            let event_type: String = row.try_get("event_type")?;
            let version: String = row.try_get("event_version")?;
            let payload: serde_json::Value = row.try_get("payload")?;
            let metadata: serde_json::Value = row.try_get("metadata")?;
            Ok(StoredEvent {
                position,
                aggregate_id: row.try_get("aggregate_id")?,
                sequence: row.try_get("sequence")?,
                event: decode(&event_type, &version, payload)
                    .map_err(|source| ProjectionError::Decode { position, source })?,
                metadata: serde_json::from_value(metadata)
                    .map_err(|source| ProjectionError::Decode { position, source })?,
                recorded_at: row.try_get("recorded_at")?,
            })
        })
        .collect()
}

/// Turns a stored payload into today's event shape. When an event changes shape, its new
/// version is written and the old one is upcast here (and in the server's event store).
pub fn decode(
    event_type: &str,
    version: &str,
    payload: serde_json::Value,
) -> Result<RequestEvent, serde_json::Error> {
    upcastable(event_type, version)?;
    serde_json::from_value(payload)
}

/// `decode` for a payload still in its stored bytes (no intermediate JSON value).
pub fn decode_bytes(
    event_type: &str,
    version: &str,
    payload: &[u8],
) -> Result<RequestEvent, serde_json::Error> {
    upcastable(event_type, version)?;
    serde_json::from_slice(payload)
}

/// Whether an event of this version can be read as today's (the one place for upcasters).
fn upcastable(event_type: &str, version: &str) -> Result<(), serde_json::Error> {
    if version != EVENT_VERSION {
        return Err(serde::de::Error::custom(format!(
            "no upcaster for {event_type} version {version}"
        )));
    }
    Ok(())
}
