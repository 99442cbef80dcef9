//! Deciding on a request inside the caller's transaction, for a writer that must commit another
//! row with the events it causes (a message read from a mailbox records its identity beside the
//! reply it becomes: read again after a crash, it is recognised and recorded once).

use std::collections::HashMap;

use cqrs_es::DomainEvent;
use sportello_domain::{decide_after, Request, RequestCommand, RequestError, RequestEvent};
use sqlx::MySqlConnection;

use super::{append, history, lock_appends, NewEvent};

impl NewEvent {
    /// A request's event at `sequence`, with its metadata, recorded now.
    pub fn request(
        aggregate_id: &str,
        sequence: i64,
        event: &RequestEvent,
        metadata: &serde_json::Value,
    ) -> NewEvent {
        use cqrs_es::Aggregate;
        NewEvent {
            aggregate_type: Request::TYPE.to_string(),
            aggregate_id: aggregate_id.to_string(),
            sequence,
            event_type: event.event_type(),
            event_version: event.event_version(),
            payload: serde_json::to_value(event).expect("events serialise"),
            metadata: metadata.clone(),
            recorded_at: None,
        }
    }
}

/// Takes the append lock, reads the request as it is now, lets the aggregate decide `command`
/// and appends what it decided, all in `conn`'s transaction: nobody can append to it between the
/// reading and the writing. Returns the events, or why the aggregate refused; a database error
/// (a deadlock too, for the caller's retry) is the outer one.
pub async fn decide_in(
    conn: &mut MySqlConnection,
    aggregate_id: &str,
    command: RequestCommand,
    metadata: &HashMap<String, String>,
) -> Result<Result<Vec<RequestEvent>, RequestError>, sqlx::Error> {
    lock_appends(conn).await?;
    let past = history(&mut *conn, aggregate_id).await.map_err(|error| {
        match error.downcast::<sqlx::Error>() {
            Ok(error) => error,
            Err(other) => sqlx::Error::Decode(other.into()),
        }
    })?;
    let events = match decide_after(&past, command) {
        Ok(events) => events,
        Err(rejected) => return Ok(Err(rejected)),
    };
    let metadata = serde_json::to_value(metadata).expect("metadata serialises");
    let next = past.len() as i64 + 1;
    let rows: Vec<NewEvent> = events
        .iter()
        .enumerate()
        .map(|(i, event)| NewEvent::request(aggregate_id, next + i as i64, event, &metadata))
        .collect();
    append(conn, &rows).await?;
    Ok(Ok(events))
}
