//! The notifications processor: follows the log and queues, in the outbox, the e-mail each event
//! calls for (the citizen's answer, a question, a redirection; the department's forwarding and
//! reminders). It moves its checkpoint in the same transaction, and the outbox's unique key makes
//! a replay queue nothing twice. It is a side effect, not a read model: never rebuilt.

use async_trait::async_trait;
use sportello_domain::RequestEvent;
use sqlx::MySqlConnection;

use crate::{Projection, ProjectionError, StoredEvent};

pub struct Notifications;

pub const NAME: &str = "notifications";

/// The actor of the synthetic history `sportello demo --history` writes: its events happened in
/// a simulation, so nobody is told of them.
pub const SYNTHETIC_ACTOR: &str = "demo:history";

/// The outbox kinds an event calls for: the mail to send, and to whom it goes.
pub fn kinds_for(event: &RequestEvent) -> &'static [&'static str] {
    use sportello_domain::Outcome;
    match event {
        RequestEvent::InformationRequested { .. } => &["information_request"],
        RequestEvent::RequestAnswered { .. } => &["answer"],
        RequestEvent::RequestRedirected { .. } => &["redirect"],
        // The department must act; the citizen is told where the request is.
        RequestEvent::RequestForwarded { .. } => &["forwarded", "status"],
        RequestEvent::RequestTakenInCharge { .. } | RequestEvent::RequestReopened { .. } => {
            &["status"]
        }
        RequestEvent::RequestHandedBack { .. } => &["handed_back"],
        RequestEvent::RequestReminded { .. } => &["reminder"],
        // A redirection has told the citizen already (RequestRedirected comes with its closure).
        RequestEvent::RequestClosed { outcome, .. } if *outcome != Outcome::NotCompetent => {
            &["closed"]
        }
        _ => &[],
    }
}

#[async_trait]
impl Projection for Notifications {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn apply(
        &self,
        conn: &mut MySqlConnection,
        stored: &StoredEvent,
    ) -> Result<(), ProjectionError> {
        if stored.metadata.get("actor").map(String::as_str) == Some(SYNTHETIC_ACTOR) {
            return Ok(());
        }
        for kind in kinds_for(&stored.event) {
            sqlx::query(
            "INSERT IGNORE INTO outbox (aggregate_id, kind, event_sequence, next_attempt_at, created_at)
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&stored.aggregate_id)
        .bind(kind)
        .bind(stored.sequence)
        .bind(stored.event.at())
        .bind(stored.event.at())
        .execute(&mut *conn)
        .await?;
        }
        Ok(())
    }

    /// Never called by a rebuild (see `crate::all`); clearing would mean sending again.
    async fn clear(&self, _conn: &mut MySqlConnection) -> Result<(), ProjectionError> {
        Ok(())
    }
}
