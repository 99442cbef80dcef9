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

/// The outbox kind an event calls for, if any.
pub fn kind_for(event: &RequestEvent) -> Option<&'static str> {
    match event {
        RequestEvent::InformationRequested { .. } => Some("information_request"),
        RequestEvent::RequestAnswered { .. } => Some("answer"),
        RequestEvent::RequestRedirected { .. } => Some("redirect"),
        RequestEvent::RequestForwarded { .. } => Some("forwarded"),
        RequestEvent::RequestReminded { .. } => Some("reminder"),
        // A redirection has told the citizen already (RequestRedirected comes with its closure).
        RequestEvent::RequestClosed { outcome, .. }
            if *outcome != sportello_domain::Outcome::NotCompetent =>
        {
            Some("closed")
        }
        _ => None,
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
        let Some(kind) = kind_for(&stored.event) else {
            return Ok(());
        };
        sqlx::query(
            "INSERT IGNORE INTO outbox (aggregate_id, kind, event_sequence, next_attempt_at, created_at)
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&stored.aggregate_id)
        .bind(kind)
        .bind(stored.sequence)
        .bind(stored.event.at())
        .bind(stored.event.at())
        .execute(conn)
        .await?;
        Ok(())
    }

    /// Never called by a rebuild (see `crate::all`); clearing would mean sending again.
    async fn clear(&self, _conn: &mut MySqlConnection) -> Result<(), ProjectionError> {
        Ok(())
    }
}
