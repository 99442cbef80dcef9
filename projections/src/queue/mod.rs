//! The operators' queue: every request with the columns the inbox filters and sorts on, kept
//! by a checkpointed processor and rebuilt by `sportello projections rebuild queue`.

use sportello_domain::RequestEvent;
use sqlx::MySqlConnection;

mod inbox;
mod search;
mod words;

pub use inbox::{
    due_reminders, inbox, page, request, DueReminder, Inbox, InboxFilter, InboxRow, InboxSort,
    COUNT_CAP,
};
pub use search::EXAMINED;
pub use words::fill_words;

use words::index_words;

use crate::standing::Table;
use crate::{personal, ProjectionError, StoredEvent};

pub struct Queue;

pub const NAME: &str = "queue";

crate::projection!(Queue, NAME, apply, clear, batch: apply_all);

async fn apply(conn: &mut MySqlConnection, stored: &StoredEvent) -> Result<(), ProjectionError> {
    apply_all(conn, std::slice::from_ref(stored)).await
}

/// Applies a batch of events: each to its request's row, the counts' changes summed over the
/// batch and written once per set of dimensions. A new request's dimensions come from its
/// event, and an event that cannot change the standing is not asked for them.
async fn apply_all(
    conn: &mut MySqlConnection,
    events: &[StoredEvent],
) -> Result<(), ProjectionError> {
    let mut counts: std::collections::HashMap<Dimensions, i64> = Default::default();
    for stored in events {
        let id = stored.aggregate_id.as_str();
        if let RequestEvent::RequestReceived {
            organisation_id,
            kind,
            topic,
            channel,
            ..
        } = &stored.event
        {
            apply_event(conn, stored).await?;
            let status = sportello_domain::Standing::default()
                .after(&stored.event)
                .status;
            let dimensions = (
                organisation_id.to_string(),
                status.code().to_string(),
                kind.code().to_string(),
                topic.clone(),
                channel.code().to_string(),
                String::new(),
            );
            *counts.entry(dimensions).or_default() += 1;
            continue;
        }
        // Status and department change only with the standing.
        if !sportello_domain::Standing::may_change(&stored.event) {
            apply_event(conn, stored).await?;
            continue;
        }
        let before = dimensions(conn, id).await?;
        apply_event(conn, stored).await?;
        let after = dimensions(conn, id).await?;
        if before != after {
            for (dimensions, change) in [(before, -1), (after, 1)] {
                if let Some(dimensions) = dimensions {
                    *counts.entry(dimensions).or_default() += change;
                }
            }
        }
    }
    // Written even when they sum to nothing: the rows are the same whatever the batches.
    for (dimensions, change) in &counts {
        count(conn, dimensions, *change).await?;
    }
    Ok(())
}

async fn clear(conn: &mut MySqlConnection) -> Result<(), ProjectionError> {
    sqlx::query("DELETE FROM queue_requests")
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM queue_counts")
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM queue_words").execute(conn).await?;
    Ok(())
}

/// What a request is counted under: organisation, status, kind, topic, channel, department.
type Dimensions = (String, String, String, String, String, String);

async fn dimensions(
    conn: &mut MySqlConnection,
    id: &str,
) -> Result<Option<Dimensions>, ProjectionError> {
    Ok(sqlx::query_as(
        "SELECT organisation_id, status, kind, topic_code, channel, COALESCE(department_id, '')
           FROM queue_requests WHERE aggregate_id = ?",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?)
}

async fn count(
    conn: &mut MySqlConnection,
    d: &Dimensions,
    delta: i64,
) -> Result<(), ProjectionError> {
    sqlx::query(
        "INSERT INTO queue_counts (organisation_id, status, kind, topic_code, channel, department_id, n)
         VALUES (?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE n = n + VALUES(n)",
    )
    .bind(&d.0)
    .bind(&d.1)
    .bind(&d.2)
    .bind(&d.3)
    .bind(&d.4)
    .bind(&d.5)
    .bind(delta)
    .execute(conn)
    .await?;
    Ok(())
}

/// Applies one event to the request's row.
async fn apply_event(
    conn: &mut MySqlConnection,
    stored: &StoredEvent,
) -> Result<(), ProjectionError> {
    use RequestEvent as E;
    let id = stored.aggregate_id.as_str();
    match &stored.event {
        E::RequestReceived {
            organisation_id,
            reference,
            kind,
            topic,
            channel,
            language,
            personal,
            received_at,
            answer_due,
            ..
        } => {
            // A broken seal must not stop the queue: the request is listed without its text.
            let opened = personal::open_in(conn, personal).await.ok().flatten();
            let name = opened
                .as_ref()
                .map(|p| format!("{} {}", p.first_name, p.last_name));
            let standing = sportello_domain::Standing::default().after(&stored.event);
            sqlx::query(
                "INSERT INTO queue_requests (aggregate_id, organisation_id, reference, kind, topic_code,
                     channel, language, status, received_at, answer_due, subject, citizen_name, citizen_email)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(id)
            .bind(organisation_id.to_string())
            .bind(reference.to_string())
            .bind(kind.code())
            .bind(topic)
            .bind(channel.code())
            .bind(language.code())
            .bind(standing.status.code())
            .bind(received_at)
            .bind(answer_due)
            .bind(opened.as_ref().map(|p| p.subject.as_str()))
            .bind(&name)
            .bind(opened.as_ref().map(|p| p.email.as_str()))
            .execute(&mut *conn)
            .await?;
            if let Some(opened) = &opened {
                let text = format!(
                    "{} {} {}",
                    opened.subject,
                    name.as_deref().unwrap_or(""),
                    opened.email
                );
                index_words(conn, &organisation_id.to_string(), *received_at, id, &text).await?;
            }
        }
        event => {
            crate::standing::move_on(conn, Table::Queue, id, event).await?;
            apply_columns(conn, id, event).await?;
        }
    }
    Ok(())
}

/// The columns an event changes besides the standing.
async fn apply_columns(
    conn: &mut MySqlConnection,
    id: &str,
    event: &RequestEvent,
) -> Result<(), ProjectionError> {
    use RequestEvent as E;
    match event {
        E::RequestAcknowledged { .. } => update(conn, id, "ack_failed = FALSE").await?,
        E::AcknowledgementFailed { .. } => update(conn, id, "ack_failed = TRUE").await?,
        E::DeliveryFailed { .. } => update(conn, id, "mail_failed = TRUE").await?,
        E::CitizenReplied { answer_due, .. } => {
            sqlx::query("UPDATE queue_requests SET answer_due = ? WHERE aggregate_id = ?")
                .bind(answer_due)
                .bind(id)
                .execute(&mut *conn)
                .await?;
        }
        E::PersonalDataErased { at, .. } => {
            sqlx::query("DELETE FROM queue_words WHERE aggregate_id = ?")
                .bind(id)
                .execute(&mut *conn)
                .await?;
            sqlx::query(
                "UPDATE queue_requests SET subject = NULL, citizen_name = NULL, citizen_email = NULL,
                        erased_at = ? WHERE aggregate_id = ?",
            )
            .bind(at)
            .bind(id)
            .execute(&mut *conn)
            .await?;
        }
        E::RequestForwarded { at, department, .. } => {
            sqlx::query(
                "UPDATE queue_requests SET department_id = ?, forwarded_at = ?,
                        taken_by = NULL, taken_in_charge_at = NULL, reminders = 0,
                        last_reminder_level = NULL, last_reminded_at = NULL
                  WHERE aggregate_id = ?",
            )
            .bind(department.to_string())
            .bind(at)
            .bind(id)
            .execute(&mut *conn)
            .await?;
        }
        E::RequestTakenInCharge { by, at, .. } => {
            sqlx::query(
                "UPDATE queue_requests SET taken_by = ?, taken_in_charge_at = ? WHERE aggregate_id = ?",
            )
            .bind(by.to_string())
            .bind(at)
            .bind(id)
            .execute(&mut *conn)
            .await?;
        }
        E::RequestHandedBack { .. } => {
            update(conn, id, "department_id = NULL, taken_by = NULL, forwarded_at = NULL").await?
        }
        E::RequestAnswered { at, .. } => {
            sqlx::query("UPDATE queue_requests SET answered_at = ? WHERE aggregate_id = ?")
                .bind(at)
                .bind(id)
                .execute(&mut *conn)
                .await?;
        }
        E::RequestClosed { at, outcome, .. } => {
            sqlx::query("UPDATE queue_requests SET closed_at = ?, outcome = ? WHERE aggregate_id = ?")
                .bind(at)
                .bind(outcome.code())
                .bind(id)
                .execute(&mut *conn)
                .await?;
        }
        E::RequestReopened { .. } => update(
            conn,
            id,
            "closed_at = NULL, outcome = NULL, department_id = NULL, taken_by = NULL, forwarded_at = NULL",
        )
        .await?,
        E::RequestReminded { at, level, .. } => {
            sqlx::query(
                "UPDATE queue_requests SET reminders = reminders + 1, last_reminder_level = ?, last_reminded_at = ?
                  WHERE aggregate_id = ?",
            )
            .bind(level.code())
            .bind(at)
            .bind(id)
            .execute(&mut *conn)
            .await?;
        }
        E::RequestProtocolled { .. } => update(conn, id, "protocolled = TRUE").await?,
        E::RequestReceived { .. }
        | E::RequestTakenIntoEvaluation { .. }
        | E::InformationRequested { .. }
        | E::RequestRedirected { .. }
        | E::InternalNoteAdded { .. }
        | E::PecReceiptRecorded { .. }
        | E::ContactSwitched { .. }
        | E::RequestRated { .. } => {}
    }
    Ok(())
}

/// `UPDATE queue_requests SET {assignments} WHERE aggregate_id = ?` for fixed assignments.
async fn update(
    conn: &mut MySqlConnection,
    id: &str,
    assignments: &str,
) -> Result<(), ProjectionError> {
    sqlx::query(&format!(
        "UPDATE queue_requests SET {assignments} WHERE aggregate_id = ?"
    ))
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}
