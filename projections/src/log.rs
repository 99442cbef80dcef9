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
    mut payload: serde_json::Value,
) -> Result<RequestEvent, serde_json::Error> {
    upcastable(event_type, version)?;
    if (event_type, version) == ("RequestReceived", EVENT_VERSION) {
        payload = received_1_0_to_1_1(payload);
    }
    serde_json::from_value(payload)
}

/// The upcaster of `RequestReceived` 1.0 (no location) to 1.1: the location is `null`. Also
/// registered with the server's event store, so the aggregate loads old events the same way.
pub fn received_1_0_to_1_1(mut payload: serde_json::Value) -> serde_json::Value {
    if let Some(fields) = payload
        .get_mut("RequestReceived")
        .and_then(serde_json::Value::as_object_mut)
    {
        fields.entry("location").or_insert(serde_json::Value::Null);
    }
    payload
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

/// Whether an event of this version can be read as today's (the one place for upcasters):
/// every event at `EVENT_VERSION`, and `RequestReceived` at `RECEIVED_VERSION` too.
fn upcastable(event_type: &str, version: &str) -> Result<(), serde_json::Error> {
    let current = version == EVENT_VERSION
        || (event_type == "RequestReceived" && version == sportello_domain::RECEIVED_VERSION);
    if !current {
        return Err(serde::de::Error::custom(format!(
            "no upcaster for {event_type} version {version}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `RequestReceived` as version 1.0 wrote it (kept as it was, for good).
    const RECEIVED_1_0: &str = r#"{"RequestReceived":{"organisation_id":"00000000-0000-0000-0000-000000000001","reference":"2026/0000001","kind":"complaint","topic":"lavori-pubblici","channel":"web","language":"it","tracking_token_hash":"abababababababababababababababababababababababababababababababab","personal":{"key_id":"00000000-0000-0000-0000-000000000002","nonce":"n","ciphertext":"c"},"attachments":[],"received_at":"2026-03-10T09:00:00Z","answer_due":"2026-04-09"}}"#;

    #[test]
    fn a_1_0_received_event_reads_as_today_s_without_a_location_and_unknown_versions_stop() {
        let payload: serde_json::Value = serde_json::from_str(RECEIVED_1_0).unwrap();
        let event = decode("RequestReceived", "1.0", payload.clone()).unwrap();
        let RequestEvent::RequestReceived {
            location,
            reference,
            ..
        } = event
        else {
            panic!("a RequestReceived");
        };
        assert_eq!(location, None);
        assert_eq!(reference.to_string(), "2026/0000001");
        assert!(decode("RequestReceived", "1.1", payload.clone()).is_ok());
        assert!(decode("RequestReceived", "1.2", payload.clone()).is_err());
        let acknowledged =
            serde_json::json!({"RequestAcknowledged": {"at": "2026-03-10T09:00:00Z"}});
        assert!(decode("RequestAcknowledged", "1.1", acknowledged).is_err());
        assert_eq!(
            received_1_0_to_1_1(payload)["RequestReceived"]["location"],
            serde_json::Value::Null
        );
    }
}
