//! The events' hash chain: each event's `chain_hash` is the SHA-256 of the previous event's hash
//! (of the same request; 64 zeros for the first) and the event's own stored fields, so changing,
//! removing or reordering any recorded event breaks every hash after it. (Removing a request's
//! newest events leaves a shorter chain that still holds: the chain proves what is there was not
//! changed, not that nothing came after it.) Written in the append's
//! transaction (under the append lock, `append`); `verify` recomputes every chain and reports
//! the breaks.

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::{MySqlConnection, MySqlPool, Row};

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash of one event after `previous`. JSON is hashed in serde_json's compact form with
/// sorted keys, which is what it reads back from the database, whatever the database stored.
pub fn hash(
    previous: &str,
    aggregate_id: &str,
    sequence: i64,
    event_type: &str,
    event_version: &str,
    payload: &Value,
    metadata: &Value,
) -> String {
    let mut digest = Sha256::new();
    for part in [
        previous,
        aggregate_id,
        &sequence.to_string(),
        event_type,
        event_version,
        &payload.to_string(),
        &metadata.to_string(),
    ] {
        digest.update(part.as_bytes());
        digest.update(b"\n");
    }
    hex::encode(digest.finalize())
}

/// The chain hash of an aggregate's event at `sequence`, inside the appending transaction.
pub async fn previous(
    conn: &mut MySqlConnection,
    aggregate_type: &str,
    aggregate_id: &str,
    sequence: i64,
) -> Result<String, sqlx::Error> {
    if sequence <= 1 {
        return Ok(GENESIS.to_string());
    }
    let hash: Option<Option<String>> = sqlx::query_scalar(
        "SELECT chain_hash FROM events WHERE aggregate_type = ? AND aggregate_id = ? AND sequence = ?",
    )
    .bind(aggregate_type)
    .bind(aggregate_id)
    .bind(sequence - 1)
    .fetch_optional(conn)
    .await?;
    Ok(hash.flatten().unwrap_or_else(|| GENESIS.to_string()))
}

/// A place where a chain does not hold: which request (its reference when its first event
/// names one), which event (its sequence in the request and its position in the log), what is
/// wrong, and the hash the stored fields give beside the hash stored with them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Break {
    pub aggregate_id: String,
    pub reference: Option<String>,
    pub sequence: i64,
    pub position: i64,
    pub problem: &'static str,
    pub expected_hash: String,
    pub found_hash: Option<String>,
}

impl std::fmt::Display for Break {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "request {} ({}), event {} at position {}: {}; expected hash {}, found {}",
            self.reference.as_deref().unwrap_or("without a reference"),
            self.aggregate_id,
            self.sequence,
            self.position,
            self.problem,
            self.expected_hash,
            self.found_hash.as_deref().unwrap_or("none")
        )
    }
}

/// What `verify` found.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub events: u64,
    pub aggregates: u64,
    pub breaks: Vec<Break>,
}

/// Recomputes every request's chain from its stored events (in pages of one aggregate range).
pub async fn verify(pool: &MySqlPool) -> Result<Report, sqlx::Error> {
    let mut report = Report::default();
    let mut after: (String, i64) = (String::new(), 0);
    let mut last_hash = GENESIS.to_string();
    let mut expected_sequence = 1;
    let mut reference: Option<String> = None;
    loop {
        let rows = sqlx::query(
            "SELECT aggregate_id, sequence, event_type, event_version, payload, metadata, chain_hash,
                    global_position
               FROM events WHERE aggregate_type = 'request' AND (aggregate_id, sequence) > (?, ?)
              ORDER BY aggregate_id, sequence LIMIT 2000",
        )
        .bind(&after.0)
        .bind(after.1)
        .fetch_all(pool)
        .await?;
        if rows.is_empty() {
            return Ok(report);
        }
        for row in rows {
            let id: String = row.try_get(0)?;
            let sequence: i64 = row.try_get(1)?;
            let payload: Value = row.try_get(4)?;
            if id != after.0 {
                report.aggregates += 1;
                last_hash = GENESIS.to_string();
                expected_sequence = 1;
                reference = payload
                    .pointer("/RequestReceived/reference")
                    .and_then(Value::as_str)
                    .map(str::to_string);
            }
            report.events += 1;
            let stored: Option<String> = row.try_get(6)?;
            let position: i64 = row.try_get(7)?;
            let computed = hash(
                &last_hash,
                &id,
                sequence,
                &row.try_get::<String, _>(2)?,
                &row.try_get::<String, _>(3)?,
                &payload,
                &row.try_get::<Value, _>(5)?,
            );
            let problem = match &stored {
                _ if sequence != expected_sequence => Some("an event is missing before this one"),
                None => Some("the event has no chain hash"),
                Some(stored) if *stored != computed => {
                    Some("the event or one before it was changed")
                }
                Some(_) => None,
            };
            if let Some(problem) = problem {
                report.breaks.push(Break {
                    aggregate_id: id.clone(),
                    reference: reference.clone(),
                    sequence,
                    position,
                    problem,
                    expected_hash: computed.clone(),
                    found_hash: stored.clone(),
                });
            }
            // Go on from the stored hash, so one change is reported once, where it is.
            last_hash = row.try_get::<Option<String>, _>(6)?.unwrap_or(computed);
            expected_sequence = sequence + 1;
            after = (id, sequence);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_depends_on_every_field_and_on_the_previous_hash() {
        let payload = serde_json::json!({"b": 1, "a": "x"});
        let other_payload = serde_json::json!({"b": 2, "a": "x"});
        let reordered: Value = serde_json::from_str(r#"{"a":"x","b":1}"#).unwrap();
        let metadata = serde_json::json!({"actor": "citizen"});
        let other_metadata = serde_json::json!({"actor": "staff"});
        let previous = "f".repeat(64);
        type Fields<'a> = (
            &'a str,
            &'a str,
            i64,
            &'a str,
            &'a str,
            &'a Value,
            &'a Value,
        );
        let of = |f: Fields| hash(f.0, f.1, f.2, f.3, f.4, f.5, f.6);
        // The event, then the same with one field changed at a time.
        #[rustfmt::skip]
        let fields: [Fields; 8] = [
            (GENESIS, "id", 1, "RequestReceived", "1.0", &payload, &metadata),
            (&previous, "id", 1, "RequestReceived", "1.0", &payload, &metadata),
            (GENESIS, "other", 1, "RequestReceived", "1.0", &payload, &metadata),
            (GENESIS, "id", 2, "RequestReceived", "1.0", &payload, &metadata),
            (GENESIS, "id", 1, "RequestClosed", "1.0", &payload, &metadata),
            (GENESIS, "id", 1, "RequestReceived", "2.0", &payload, &metadata),
            (GENESIS, "id", 1, "RequestReceived", "1.0", &other_payload, &metadata),
            (GENESIS, "id", 1, "RequestReceived", "1.0", &payload, &other_metadata),
        ];
        let base = of(fields[0]);
        assert_eq!(base.len(), 64);
        for (changed, f) in fields.iter().enumerate().skip(1) {
            assert_ne!(
                base,
                of(*f),
                "changing field {} changes the hash",
                changed - 1
            );
        }
        let mut same = fields[0];
        same.5 = &reordered;
        assert_eq!(base, of(same), "key order does not matter");
    }
}
