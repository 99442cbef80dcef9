//! A read model's copy of where a request stands (`status`, and `status_before_wait` while it
//! waits for the citizen), moved on by the domain's own rule (`Standing::after`): no read model
//! decides a status in SQL.

use sportello_domain::{RequestEvent, Standing};
use sqlx::MySqlConnection;

use crate::ProjectionError;

/// The tables that keep a standing (one row per request, keyed by `aggregate_id`).
#[derive(Debug, Clone, Copy)]
pub enum Table {
    Queue,
    CitizenStatus,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Queue => "queue_requests",
            Table::CitizenStatus => "citizen_requests",
        }
    }
}

/// Moves the row's standing on by `event` (a request's first event inserts the row itself, with
/// `Standing::default().after(event)`); returns the new standing.
pub async fn move_on(
    conn: &mut MySqlConnection,
    table: Table,
    aggregate_id: &str,
    event: &RequestEvent,
) -> Result<Standing, ProjectionError> {
    let stored: Option<(String, Option<String>)> = sqlx::query_as(&format!(
        "SELECT status, status_before_wait FROM {} WHERE aggregate_id = ?",
        table.name()
    ))
    .bind(aggregate_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((status, resume_to)) = stored else {
        return Ok(Standing::default().after(event));
    };
    let before = Standing::parse(&status, resume_to.as_deref());
    let after = before.after(event);
    if after != before {
        sqlx::query(&format!(
            "UPDATE {} SET status = ?, status_before_wait = ? WHERE aggregate_id = ?",
            table.name()
        ))
        .bind(after.status.code())
        .bind(after.resume_to.map(|status| status.code()))
        .bind(aggregate_id)
        .execute(conn)
        .await?;
    }
    Ok(after)
}
