//! Reading a request's events back: decoded (for processors), with their metadata and times
//! (the audit view), and folded into the aggregate's state now (for access checks and actions).

use std::collections::HashMap;

use serde_json::Value;
use sportello_domain::Request;
use sqlx::MySqlPool;

/// Every event of one request, oldest first, decoded (for processors that need the facts).
pub async fn history<'e>(
    db: impl sqlx::MySqlExecutor<'e>,
    aggregate_id: &str,
) -> anyhow::Result<Vec<sportello_domain::RequestEvent>> {
    let rows: Vec<(String, String, Value)> = sqlx::query_as(
        "SELECT event_type, event_version, payload FROM events
          WHERE aggregate_type = 'request' AND aggregate_id = ? ORDER BY sequence",
    )
    .bind(aggregate_id)
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|(event_type, version, payload)| {
            Ok(sportello_projections::decode(
                &event_type,
                &version,
                payload,
            )?)
        })
        .collect()
}

/// One stored event of a request with who caused it and when it was recorded (the audit view).
#[derive(Debug, Clone)]
pub struct Recorded {
    pub sequence: i64,
    pub event: sportello_domain::RequestEvent,
    pub metadata: HashMap<String, String>,
    pub recorded_at: chrono::DateTime<chrono::Utc>,
}

/// Every event of one request with its metadata, oldest first.
pub async fn recorded(pool: &MySqlPool, aggregate_id: &str) -> anyhow::Result<Vec<Recorded>> {
    let rows: Vec<(
        i64,
        String,
        String,
        Value,
        Value,
        chrono::DateTime<chrono::Utc>,
    )> = sqlx::query_as(
        "SELECT sequence, event_type, event_version, payload, metadata, recorded_at FROM events
          WHERE aggregate_type = 'request' AND aggregate_id = ? ORDER BY sequence",
    )
    .bind(aggregate_id)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(
            |(sequence, event_type, version, payload, metadata, recorded_at)| {
                Ok(Recorded {
                    sequence,
                    event: sportello_projections::decode(&event_type, &version, payload)?,
                    metadata: serde_json::from_value(metadata)?,
                    recorded_at,
                })
            },
        )
        .collect()
}

/// The request as its events make it now (for access checks and actions: never stale).
pub fn fold(events: &[Recorded]) -> Request {
    use cqrs_es::Aggregate;
    let mut request = Request::default();
    for recorded in events {
        request.apply(recorded.event.clone());
    }
    request
}
