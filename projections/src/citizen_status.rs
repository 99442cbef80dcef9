//! The citizen's status view: what the private tracking link shows — reference, status in
//! words, the public history and the attachments. Personal data stays sealed here as it is in
//! the event; the page opens it with the request's key, so erasing the key erases it here too.

use chrono::{DateTime, NaiveDate, Utc};
use sportello_domain::{RequestEvent, Sealed, Standing};
use sqlx::{MySqlConnection, MySqlPool, Row};

use crate::standing::Table;
use crate::{ProjectionError, StoredEvent};

pub struct CitizenStatus;

pub const NAME: &str = "citizen_status";

crate::projection!(CitizenStatus, NAME, apply, clear);

async fn apply(conn: &mut MySqlConnection, stored: &StoredEvent) -> Result<(), ProjectionError> {
    let id = &stored.aggregate_id;
    if !matches!(stored.event, RequestEvent::RequestReceived { .. }) {
        crate::standing::move_on(conn, Table::CitizenStatus, id, &stored.event).await?;
    }
    match &stored.event {
        RequestEvent::RequestReceived {
            organisation_id,
            reference,
            kind,
            topic,
            channel,
            language,
            tracking_token_hash,
            personal,
            attachments,
            received_at,
            answer_due,
            filed_by,
            ..
        } => {
            // The blind index that finds a guest's request from their verified e-mail; none
            // once the key is gone, so a rebuild after an erasure cannot find it again.
            let email_index = match crate::personal::open_in(conn, personal)
                .await
                .ok()
                .flatten()
            {
                Some(opened) if !opened.email.trim().is_empty() => {
                    crate::personal::email_index(conn, &opened.email).await.ok()
                }
                _ => None,
            };
            let personal = serde_json::to_value(personal).expect("sealed data serialises");
            sqlx::query(
                "INSERT INTO citizen_requests (aggregate_id, organisation_id, tracking_token_hash,
                     reference, kind, topic_code, channel, language, status, received_at,
                     answer_due, personal, citizen_id, email_index, paper_only)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(id)
            .bind(organisation_id.to_string())
            .bind(tracking_token_hash)
            .bind(reference.to_string())
            .bind(kind.code())
            .bind(topic)
            .bind(channel.code())
            .bind(language.code())
            .bind(Standing::default().after(&stored.event).status.code())
            .bind(received_at)
            .bind(answer_due)
            .bind(personal)
            .bind(filed_by.citizen.map(|id| id.to_string()))
            .bind(email_index)
            .bind(filed_by.paper_only)
            .execute(&mut *conn)
            .await?;
            add_entry(conn, stored, "received", *received_at).await?;
            name_files(conn, id, attachments).await?;
            for (position, attachment) in attachments.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO citizen_attachments (aggregate_id, position, file_id, thumbnail_id,
                         content_type, size) VALUES (?, ?, ?, ?, ?, ?)",
                )
                .bind(id)
                .bind(position as i32)
                .bind(&attachment.file_id)
                .bind(&attachment.thumbnail_id)
                .bind(&attachment.content_type)
                .bind(attachment.size as i64)
                .execute(&mut *conn)
                .await?;
            }
        }
        RequestEvent::RequestAcknowledged { at } => {
            sqlx::query("UPDATE citizen_requests SET acknowledged_at = ? WHERE aggregate_id = ?")
                .bind(at)
                .bind(id)
                .execute(&mut *conn)
                .await?;
            // On paper, the receipt handed over at the counter is the acknowledgement.
            let paper: Option<bool> = sqlx::query_scalar(
                "SELECT paper_only FROM citizen_requests WHERE aggregate_id = ?",
            )
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
            let entry = if paper == Some(true) {
                "acknowledged_receipt"
            } else {
                "acknowledged"
            };
            add_entry(conn, stored, entry, *at).await?;
        }
        RequestEvent::RequestTakenIntoEvaluation { at, .. } => {
            add_entry(conn, stored, "in_evaluation", *at).await?;
        }
        RequestEvent::InformationRequested { at, message, .. } => {
            add_message(
                conn,
                stored,
                "information_requested",
                *at,
                Some(message),
                None,
            )
            .await?;
        }
        RequestEvent::CitizenReplied {
            at,
            message,
            answer_due,
            attachments,
            ..
        } => {
            sqlx::query("UPDATE citizen_requests SET answer_due = ? WHERE aggregate_id = ?")
                .bind(answer_due)
                .bind(id)
                .execute(&mut *conn)
                .await?;
            add_message(conn, stored, "citizen_replied", *at, Some(message), None).await?;
            set_files(conn, stored, attachments).await?;
        }
        RequestEvent::RequestRedirected {
            at,
            message,
            external_body,
            ..
        } => {
            add_message(
                conn,
                stored,
                "redirected",
                *at,
                Some(message),
                Some(&external_body.to_string()),
            )
            .await?;
        }
        RequestEvent::RequestForwarded { at, department, .. } => {
            add_message(
                conn,
                stored,
                "forwarded",
                *at,
                None,
                Some(&department.to_string()),
            )
            .await?;
        }
        RequestEvent::RequestTakenInCharge { at, department, .. } => {
            set_time(conn, id, "taken_in_charge_at", *at).await?;
            add_message(
                conn,
                stored,
                "taken_in_charge",
                *at,
                None,
                Some(&department.to_string()),
            )
            .await?;
        }
        // Which office handed it back is the URP's business; the citizen sees it in evaluation.
        RequestEvent::RequestHandedBack { .. } => {}
        RequestEvent::RequestAnswered {
            at,
            message,
            attachments,
            ..
        } => {
            set_time(conn, id, "answered_at", *at).await?;
            add_message(conn, stored, "answered", *at, Some(message), None).await?;
            set_files(conn, stored, attachments).await?;
        }
        RequestEvent::RequestClosed { at, outcome, .. } => {
            sqlx::query("UPDATE citizen_requests SET outcome = ?, closed_at = ?, stars = NULL WHERE aggregate_id = ?")
                .bind(outcome.code())
                .bind(at)
                .bind(id)
                .execute(&mut *conn)
                .await?;
            add_message(conn, stored, "closed", *at, None, Some(outcome.code())).await?;
        }
        RequestEvent::RequestReopened { at, .. } => {
            sqlx::query("UPDATE citizen_requests SET outcome = NULL, closed_at = NULL, stars = NULL WHERE aggregate_id = ?")
                .bind(id)
                .execute(&mut *conn)
                .await?;
            add_entry(conn, stored, "reopened", *at).await?;
        }
        RequestEvent::RequestRated { at, stars, .. } => {
            sqlx::query("UPDATE citizen_requests SET stars = ? WHERE aggregate_id = ?")
                .bind(i16::from(*stars))
                .bind(id)
                .execute(&mut *conn)
                .await?;
            add_message(conn, stored, "rated", *at, None, Some(&stars.to_string())).await?;
        }
        RequestEvent::PersonalDataErased { at, reason } => {
            sqlx::query("UPDATE citizen_requests SET erased_at = ?, email_index = NULL WHERE aggregate_id = ?")
                .bind(at)
                .bind(id)
                .execute(&mut *conn)
                .await?;
            add_message(conn, stored, "erased", *at, None, Some(reason.code())).await?;
        }
        // The citizen sees the registry's number and date: "Protocollo n. … del …".
        RequestEvent::RequestProtocolled {
            at, number, date, ..
        } => {
            let detail = format!("{number}|{date}");
            add_message(conn, stored, "protocolled", *at, None, Some(&detail)).await?;
        }
        // For staff only: failed mail, internal notes, reminders to departments.
        RequestEvent::AcknowledgementFailed { .. }
        | RequestEvent::DeliveryFailed { .. }
        | RequestEvent::ContactSwitched { .. }
        | RequestEvent::PecReceiptRecorded { .. }
        | RequestEvent::InternalNoteAdded { .. }
        | RequestEvent::RequestReminded { .. } => {}
    }
    Ok(())
}

async fn clear(conn: &mut MySqlConnection) -> Result<(), ProjectionError> {
    for table in [
        "citizen_timeline",
        "citizen_attachments",
        "citizen_files",
        "citizen_requests",
    ] {
        sqlx::query(&format!("DELETE FROM {table}"))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

async fn set_time(
    conn: &mut MySqlConnection,
    id: &str,
    column: &str,
    at: DateTime<Utc>,
) -> Result<(), ProjectionError> {
    sqlx::query(&format!(
        "UPDATE citizen_requests SET {column} = ? WHERE aggregate_id = ?"
    ))
    .bind(at)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records which stored files (and thumbnails) this request names.
async fn name_files(
    conn: &mut MySqlConnection,
    id: &str,
    attachments: &[sportello_domain::Attachment],
) -> Result<(), ProjectionError> {
    for attachment in attachments {
        for file in [Some(&attachment.file_id), attachment.thumbnail_id.as_ref()]
            .into_iter()
            .flatten()
        {
            sqlx::query("INSERT IGNORE INTO citizen_files (file_id, aggregate_id) VALUES (?, ?)")
                .bind(file)
                .bind(id)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

/// Files that came with a timeline entry (an answer's documents, a reply's attachments).
async fn set_files(
    conn: &mut MySqlConnection,
    stored: &StoredEvent,
    attachments: &[sportello_domain::Attachment],
) -> Result<(), ProjectionError> {
    if attachments.is_empty() {
        return Ok(());
    }
    name_files(conn, &stored.aggregate_id, attachments).await?;
    sqlx::query("UPDATE citizen_timeline SET files = ? WHERE aggregate_id = ? AND sequence = ?")
        .bind(serde_json::to_value(attachments).expect("attachments serialise"))
        .bind(&stored.aggregate_id)
        .bind(stored.sequence)
        .execute(conn)
        .await?;
    Ok(())
}

async fn add_entry(
    conn: &mut MySqlConnection,
    stored: &StoredEvent,
    entry: &str,
    at: DateTime<Utc>,
) -> Result<(), ProjectionError> {
    add_message(conn, stored, entry, at, None, None).await
}

/// A public timeline entry, with the (sealed) message the citizen reads under it and a detail
/// such as the department or the outcome.
async fn add_message(
    conn: &mut MySqlConnection,
    stored: &StoredEvent,
    entry: &str,
    at: DateTime<Utc>,
    message: Option<&Sealed>,
    detail: Option<&str>,
) -> Result<(), ProjectionError> {
    let message =
        message.map(|sealed| serde_json::to_value(sealed).expect("sealed data serialises"));
    sqlx::query(
        "INSERT INTO citizen_timeline (aggregate_id, sequence, entry, occurred_at, message, detail)
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(&stored.aggregate_id)
    .bind(stored.sequence)
    .bind(entry)
    .bind(at)
    .bind(message)
    .bind(detail)
    .execute(conn)
    .await?;
    Ok(())
}

/// A request as its citizen follows it.
#[derive(Debug, Clone)]
pub struct TrackedRequest {
    pub aggregate_id: String,
    pub reference: String,
    pub kind: String,
    pub topic_code: String,
    pub channel: String,
    pub language: String,
    pub status: String,
    pub received_at: DateTime<Utc>,
    pub answer_due: NaiveDate,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub taken_in_charge_at: Option<DateTime<Utc>>,
    pub answered_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub stars: Option<u8>,
    pub erased_at: Option<DateTime<Utc>>,
    pub personal: Sealed,
}

/// One line of the public history, with the message the citizen reads under it (sealed) and a
/// detail: the department's or other body's id, or the outcome's code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    pub sequence: i64,
    pub entry: String,
    pub occurred_at: DateTime<Utc>,
    pub message: Option<Sealed>,
    pub detail: Option<String>,
    /// Files staff attached (to an answer).
    pub files: Vec<sportello_domain::Attachment>,
}

#[derive(Debug, Clone)]
pub struct TrackedAttachment {
    pub position: i32,
    pub file_id: String,
    pub thumbnail_id: Option<String>,
    pub content_type: String,
    pub size: i64,
}

const REQUEST_COLUMNS: &str =
    "aggregate_id, reference, kind, topic_code, channel, language, status,
    received_at, answer_due, acknowledged_at, personal, taken_in_charge_at, answered_at, closed_at,
    stars, erased_at";

fn tracked_from(row: sqlx::mysql::MySqlRow) -> Result<TrackedRequest, ProjectionError> {
    let personal: serde_json::Value = row.try_get("personal")?;
    Ok(TrackedRequest {
        aggregate_id: row.try_get("aggregate_id")?,
        reference: row.try_get("reference")?,
        kind: row.try_get("kind")?,
        topic_code: row.try_get("topic_code")?,
        channel: row.try_get("channel")?,
        language: row.try_get("language")?,
        status: row.try_get("status")?,
        received_at: row.try_get("received_at")?,
        answer_due: row.try_get("answer_due")?,
        acknowledged_at: row.try_get("acknowledged_at")?,
        taken_in_charge_at: row.try_get("taken_in_charge_at")?,
        answered_at: row.try_get("answered_at")?,
        closed_at: row.try_get("closed_at")?,
        stars: row.try_get::<Option<i16>, _>("stars")?.map(|s| s as u8),
        erased_at: row.try_get("erased_at")?,
        personal: serde_json::from_value(personal).map_err(|source| ProjectionError::Decode {
            position: 0,
            source,
        })?,
    })
}

/// The request whose tracking token hashes to `token_hash`.
pub async fn request_by_token_hash(
    pool: &MySqlPool,
    token_hash: &str,
) -> Result<Option<TrackedRequest>, ProjectionError> {
    let row = sqlx::query(&format!(
        "SELECT {REQUEST_COLUMNS} FROM citizen_requests WHERE tracking_token_hash = ?"
    ))
    .bind(token_hash)
    .fetch_optional(pool)
    .await?;
    row.map(tracked_from).transpose()
}

/// A request by its id (for staff, who have checked their access already).
pub async fn request_by_id(
    pool: &MySqlPool,
    aggregate_id: &str,
) -> Result<Option<TrackedRequest>, ProjectionError> {
    let row = sqlx::query(&format!(
        "SELECT {REQUEST_COLUMNS} FROM citizen_requests WHERE aggregate_id = ?"
    ))
    .bind(aggregate_id)
    .fetch_optional(pool)
    .await?;
    row.map(tracked_from).transpose()
}

/// Whose requests "my area" lists: filed while signed in, or as a guest with the e-mail address
/// the citizen has verified (its blind index).
#[derive(Debug, Clone)]
pub struct Owner {
    pub citizen_id: String,
    pub email_index: Option<String>,
}

/// Every request of this citizen, newest first (two index ranges, merged by the database).
pub async fn requests_of(
    pool: &MySqlPool,
    owner: &Owner,
) -> Result<Vec<TrackedRequest>, ProjectionError> {
    let rows = sqlx::query(&format!(
        "SELECT {REQUEST_COLUMNS} FROM citizen_requests WHERE citizen_id = ?
         UNION
         SELECT {REQUEST_COLUMNS} FROM citizen_requests WHERE email_index = ?
         ORDER BY received_at DESC, reference DESC"
    ))
    .bind(&owner.citizen_id)
    .bind(owner.email_index.as_deref().unwrap_or("-"))
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(tracked_from).collect()
}

/// One request of this citizen; `None` when it is somebody else's (or does not exist).
pub async fn request_of(
    pool: &MySqlPool,
    owner: &Owner,
    aggregate_id: &str,
) -> Result<Option<TrackedRequest>, ProjectionError> {
    let row = sqlx::query(&format!(
        "SELECT {REQUEST_COLUMNS} FROM citizen_requests
          WHERE aggregate_id = ? AND (citizen_id = ? OR email_index = ?)"
    ))
    .bind(aggregate_id)
    .bind(&owner.citizen_id)
    .bind(owner.email_index.as_deref().unwrap_or("-"))
    .fetch_optional(pool)
    .await?;
    row.map(tracked_from).transpose()
}

/// The public history of a request, oldest first.
pub async fn history_of(
    pool: &MySqlPool,
    aggregate_id: &str,
) -> Result<Vec<HistoryEntry>, ProjectionError> {
    let rows = sqlx::query(
        "SELECT sequence, entry, occurred_at, CAST(message AS CHAR) AS message, detail,
                CAST(files AS CHAR) AS files
           FROM citizen_timeline WHERE aggregate_id = ? ORDER BY sequence",
    )
    .bind(aggregate_id)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|row| {
            let message: Option<String> = row.try_get("message")?;
            let files: Option<String> = row.try_get("files")?;
            Ok(HistoryEntry {
                sequence: row.try_get("sequence")?,
                files: files
                    .map(|text| serde_json::from_str(&text))
                    .transpose()
                    .map_err(|source| ProjectionError::Decode {
                        position: 0,
                        source,
                    })?
                    .unwrap_or_default(),
                entry: row.try_get("entry")?,
                occurred_at: row.try_get("occurred_at")?,
                message: message
                    .map(|text| serde_json::from_str(&text))
                    .transpose()
                    .map_err(|source| ProjectionError::Decode {
                        position: 0,
                        source,
                    })?,
                detail: row.try_get("detail")?,
            })
        })
        .collect()
}

/// The files sent with a request, in the order the citizen chose them.
pub async fn attachments_of(
    pool: &MySqlPool,
    aggregate_id: &str,
) -> Result<Vec<TrackedAttachment>, ProjectionError> {
    let rows = sqlx::query(
        "SELECT position, file_id, thumbnail_id, content_type, size
           FROM citizen_attachments WHERE aggregate_id = ? ORDER BY position",
    )
    .bind(aggregate_id)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok(TrackedAttachment {
                position: row.try_get("position")?,
                file_id: row.try_get("file_id")?,
                thumbnail_id: row.try_get("thumbnail_id")?,
                content_type: row.try_get("content_type")?,
                size: row.try_get("size")?,
            })
        })
        .collect()
}
