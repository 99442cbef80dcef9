//! The notifications processor: follows the log and queues, in the outbox, the e-mail each event
//! calls for (the citizen's answer, a question, a redirection; the department's forwarding and
//! reminders). It moves its checkpoint in the same transaction, and the outbox's unique key makes
//! a replay queue nothing twice. It is a side effect, not a read model: never rebuilt.

use sportello_domain::RequestEvent;
use sqlx::MySqlConnection;

use crate::outbox::{Mail, Notice};
use crate::{ProjectionError, StoredEvent};

pub struct Notifications;

pub const NAME: &str = "notifications";

/// The actor of the synthetic history `sportello demo --history` writes: its events happened in
/// a simulation, so nobody is told of them.
pub const SYNTHETIC_ACTOR: &str = "demo:history";

/// The notices an event calls for: the mail to send, and to whom it goes.
pub fn notices_for(event: &RequestEvent) -> &'static [Notice] {
    use sportello_domain::Outcome;
    match event {
        RequestEvent::InformationRequested { .. } => &[Notice::InformationRequest],
        RequestEvent::RequestAnswered { .. } => &[Notice::Answer],
        RequestEvent::RequestRedirected { .. } => &[Notice::Redirect],
        // The department must act; the citizen is told where the request is.
        RequestEvent::RequestForwarded { .. } => &[Notice::Forwarded, Notice::Status],
        RequestEvent::RequestTakenInCharge { .. } | RequestEvent::RequestReopened { .. } => {
            &[Notice::Status]
        }
        RequestEvent::RequestHandedBack { .. } => &[Notice::HandedBack],
        RequestEvent::RequestReminded { .. } => &[Notice::Reminder],
        // A redirection has told the citizen already (RequestRedirected comes with its closure).
        RequestEvent::RequestClosed { outcome, .. } if *outcome != Outcome::NotCompetent => {
            &[Notice::Closed]
        }
        _ => &[],
    }
}

crate::projection!(Notifications, NAME, apply, clear);

async fn apply(conn: &mut MySqlConnection, stored: &StoredEvent) -> Result<(), ProjectionError> {
    if stored.metadata.get("actor").map(String::as_str) == Some(SYNTHETIC_ACTOR) {
        return Ok(());
    }
    for notice in notices_for(&stored.event) {
        let mail = Mail::Notice {
            request: stored.aggregate_id.clone(),
            notice: *notice,
            sequence: stored.sequence,
        };
        crate::outbox::queue(conn, &mail, stored.event.at()).await?;
    }
    Ok(())
}

/// Never called by a rebuild (see `crate::all`); clearing would mean sending again.
async fn clear(_conn: &mut MySqlConnection) -> Result<(), ProjectionError> {
    Ok(())
}
