//! The webhooks processor: follows the log and queues, for each active endpoint of the request's
//! organisation that wants the event (its types, its department), one delivery — in the same
//! transaction as its checkpoint, and at most once (the key on endpoint and position). The server's
//! webhook sender delivers them. Like `notifications` a side effect, never rebuilt. It keeps what
//! it needs of each request in `webhook_requests` (organisation, reference, department), so
//! deciding never reads another read model.

use sportello_domain::RequestEvent;
use sqlx::MySqlConnection;
use uuid::Uuid;

use crate::notifications::SYNTHETIC_ACTOR;
use crate::{ProjectionError, StoredEvent};

pub struct Webhooks;

pub const NAME: &str = "webhooks";

crate::projection!(Webhooks, NAME, apply, clear);

async fn apply(conn: &mut MySqlConnection, stored: &StoredEvent) -> Result<(), ProjectionError> {
    let id = &stored.aggregate_id;
    match &stored.event {
        RequestEvent::RequestReceived {
            organisation_id,
            reference,
            ..
        } => {
            sqlx::query(
                "INSERT IGNORE INTO webhook_requests (aggregate_id, organisation_id, reference)
                 VALUES (?, ?, ?)",
            )
            .bind(id)
            .bind(organisation_id.to_string())
            .bind(reference.to_string())
            .execute(&mut *conn)
            .await?;
        }
        RequestEvent::RequestForwarded { department, .. } => {
            sqlx::query("UPDATE webhook_requests SET department_id = ? WHERE aggregate_id = ?")
                .bind(department.to_string())
                .bind(id)
                .execute(&mut *conn)
                .await?;
        }
        RequestEvent::RequestHandedBack { .. } | RequestEvent::RequestReopened { .. } => {
            sqlx::query("UPDATE webhook_requests SET department_id = NULL WHERE aggregate_id = ?")
                .bind(id)
                .execute(&mut *conn)
                .await?;
        }
        _ => {}
    }
    if stored.metadata.get("actor").map(String::as_str) == Some(SYNTHETIC_ACTOR) {
        return Ok(());
    }
    let request: Option<(String, Option<String>)> = sqlx::query_as(
        "SELECT organisation_id, department_id FROM webhook_requests WHERE aggregate_id = ?",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((organisation, department)) = request else {
        return Ok(());
    };
    // Endpoints registered after the event was recorded do not get it; a disabled one does
    // (its deliveries wait until it is enabled again).
    let endpoints: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT id, event_types, department_id FROM webhook_endpoints
          WHERE organisation_id = ? AND created_at <= ?",
    )
    .bind(&organisation)
    .bind(stored.recorded_at)
    .fetch_all(&mut *conn)
    .await?;
    let kind = stored.event.name();
    for (endpoint, types, wanted_department) in endpoints {
        let wants_type = types.split_whitespace().next().is_none()
            || types.split_whitespace().any(|t| t == kind);
        let wants_department = wanted_department.is_none() || wanted_department == department;
        if !(wants_type && wants_department) {
            continue;
        }
        sqlx::query(
            "INSERT IGNORE INTO webhook_deliveries (id, endpoint_id, position, aggregate_id, sequence,
                 event_type, status, next_attempt_at, created_at)
             VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
        )
        .bind(format!("msg_{}", Uuid::new_v4().simple()))
        .bind(&endpoint)
        .bind(stored.position)
        .bind(id)
        .bind(stored.sequence)
        .bind(kind)
        .bind(stored.recorded_at)
        .bind(stored.recorded_at)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Never called by a rebuild (see `crate::all`); clearing would mean delivering again.
async fn clear(_conn: &mut MySqlConnection) -> Result<(), ProjectionError> {
    Ok(())
}
