//! Filing a request: the files first, then one transaction that takes the append lock,
//! allocates the next gap-free reference of the year, seals the personal data, lets the
//! aggregate decide, appends the event and queues the acknowledgement. The reference exists
//! for the citizen only once this transaction has committed.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use sportello_domain::{
    decide_after, decide_new, rome_year, Attachment, Channel, FiledBy, Language, NewRequest,
    Reference, RequestCommand,
};
use sportello_projections::outbox::{self, Mail};
use sqlx::MySqlConnection;
use uuid::Uuid;

use super::ValidRequest;
use crate::event_store::{append, lock_appends, metadata, NewEvent};
use crate::files::{attachment_records, store_attachments, PreparedAttachment};
use crate::personal::{self, PersonalData};
use crate::state::AppState;
use crate::web::AppError;

/// A valid request with its prepared files and who sends it.
pub struct Submission {
    pub request: ValidRequest,
    pub attachments: Vec<PreparedAttachment>,
    pub language: Language,
    pub channel: Channel,
    pub actor: String,
    pub correlation_id: String,
    /// Who filed it: a guest, a signed-in citizen, or the front office on someone's behalf.
    pub filed_by: FiledBy,
    /// What else the filing's transaction writes (the message that brought the request, read
    /// from a mailbox), given the new request's id; called again if the transaction is retried.
    pub also: Option<Also>,
}

/// Rows written in the filing's transaction beside its events.
pub type Also = Box<AlsoFn>;

/// Writes rows in a transaction, given the new request's id.
pub type AlsoFn = dyn for<'c> Fn(&'c mut MySqlConnection, &'c str) -> Writing<'c> + Send + Sync;

/// A write in progress inside a transaction.
pub type Writing<'c> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), sqlx::Error>> + Send + 'c>>;

/// What the citizen gets back once the request is safely stored.
#[derive(Debug, Clone)]
pub struct Filed {
    pub aggregate_id: String,
    pub reference: Reference,
    /// The private tracking token, in clear: shown once, mailed once, stored only as a hash.
    pub token: String,
}

/// The hash under which a tracking token is stored and looked up.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A new private tracking token: 256 random bits, URL-safe.
pub fn new_token() -> String {
    let mut token_bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut token_bytes);
    URL_SAFE_NO_PAD.encode(token_bytes)
}

pub async fn file_request(app: &AppState, submission: Submission) -> Result<Filed, AppError> {
    let mut filed = file_requests(app, vec![submission]).await?;
    Ok(filed.remove(0))
}

/// A submission with what its transaction needs: the new request's id, its tracking token, the
/// personal data to seal and the attachments' records.
struct Ready<'a> {
    submission: &'a Submission,
    aggregate_id: String,
    token: String,
    personal_data: PersonalData,
    attachments: Vec<Attachment>,
}

impl<'a> Ready<'a> {
    fn of(submission: &'a Submission) -> Ready<'a> {
        let request = &submission.request;
        Ready {
            submission,
            aggregate_id: Uuid::new_v4().to_string(),
            token: new_token(),
            personal_data: PersonalData {
                first_name: request.first_name.clone(),
                last_name: request.last_name.clone(),
                email: request.email.clone(),
                phone: request.phone.clone(),
                subject: request.subject.clone(),
                description: request.description.clone(),
                place: request.place.clone(),
                attachment_names: submission
                    .attachments
                    .iter()
                    .map(|a| a.name.clone())
                    .collect(),
            },
            attachments: attachment_records(&submission.attachments),
        }
    }
}

/// Files several requests in one transaction, in their order (a group commit: one durable
/// commit for all, as a mailbox's backlog is read); any failure files none of them.
pub async fn file_requests(
    app: &AppState,
    submissions: Vec<Submission>,
) -> Result<Vec<Filed>, AppError> {
    for submission in &submissions {
        store_attachments(&app.pool, &submission.attachments).await?;
    }
    let ready: Vec<Ready> = submissions.iter().map(Ready::of).collect();
    let settings = app.settings().await?;
    // A deadlock (or a certification conflict) rolls the whole transaction back, the numbers
    // included; it is run again, so the citizen never sees it.
    let references = sportello_projections::retry("filing", || async {
        let mut tx = app.pool.begin().await?;
        let mut references = Vec::with_capacity(ready.len());
        for one in &ready {
            references.push(commit(app, &mut tx, one, &settings).await?);
        }
        tx.commit().await?;
        Ok::<_, AppError>(references)
    })
    .await?;
    app.events_appended.notify_waiters();
    app.mail_queued.notify_waiters();
    Ok(ready
        .into_iter()
        .zip(references)
        .map(|(one, reference)| {
            tracing::info!(aggregate_id = one.aggregate_id, reference = %reference,
                channel = one.submission.channel.code(), "request filed");
            Filed {
                aggregate_id: one.aggregate_id,
                reference,
                token: one.token,
            }
        })
        .collect())
}

/// One request's part of the filing's transaction: the append lock, the year's next number, the
/// sealed data, the aggregate's decision, the events, the acknowledgement's outbox row and the
/// receipt's token.
async fn commit(
    app: &AppState,
    tx: &mut MySqlConnection,
    ready: &Ready<'_>,
    settings: &crate::settings::Settings,
) -> Result<Reference, AppError> {
    let (submission, aggregate_id, token) = (
        ready.submission,
        ready.aggregate_id.as_str(),
        ready.token.as_str(),
    );
    let (personal_data, attachments) = (&ready.personal_data, &ready.attachments);
    let request = &submission.request;
    lock_appends(&mut *tx).await?;
    let received_at = app.clock.now();
    let year = rome_year(received_at);
    let number = next_number(&mut *tx, app.organisation_id, year).await?;
    let reference = Reference::new(year, number).map_err(AppError::internal)?;
    let personal = personal::seal(&mut *tx, personal_data).await?;
    let personal_key = personal.key_id;
    let location = match &request.coordinates {
        Some(coordinates) => {
            Some(personal::seal_value_in(&mut *tx, personal_key, coordinates).await?)
        }
        None => None,
    };
    let command = RequestCommand::Receive(Box::new(NewRequest {
        organisation_id: app.organisation_id,
        reference,
        kind: request.kind,
        topic: request.topic.clone(),
        channel: submission.channel,
        language: submission.language,
        tracking_token_hash: token_hash(token),
        personal,
        attachments: attachments.to_vec(),
        received_at,
        answer_days: settings.answer_days_for(request.kind),
        calendar: settings.calendar,
        filed_by: submission.filed_by.clone(),
        location,
    }));
    let mut events = decide_new(command).map_err(AppError::internal)?;
    // Someone who chose paper at the counter is acknowledged by the receipt in their hand.
    let paper = submission.filed_by.paper_only;
    if paper {
        let acknowledged = decide_after(
            &events,
            RequestCommand::RecordAcknowledgement { at: received_at },
        )
        .map_err(AppError::internal)?;
        events.extend(acknowledged);
    }
    let metadata = metadata(
        &submission.actor,
        submission.channel.code(),
        &submission.correlation_id,
    );
    let metadata = serde_json::to_value(&metadata).expect("metadata serialises");
    let new_events: Vec<NewEvent> = events
        .iter()
        .enumerate()
        .map(|(index, event)| NewEvent::request(aggregate_id, index as i64 + 1, event, &metadata))
        .collect();
    append(&mut *tx, &new_events).await?;
    if !paper {
        let acknowledgement = Mail::Acknowledgement {
            request: aggregate_id.to_string(),
            token: token.to_string(),
        };
        outbox::queue(&mut *tx, &acknowledgement, received_at).await?;
    }
    if let Some(also) = &submission.also {
        also(&mut *tx, aggregate_id).await?;
    }
    if let Some(operator) = submission.filed_by.operator {
        // The receipt can be printed again: its token, sealed under the request's key.
        let sealed = personal::seal_text_in(&mut *tx, personal_key, token).await?;
        sqlx::query(
            "INSERT INTO front_office_receipts (aggregate_id, operator_id, token) VALUES (?, ?, ?)",
        )
        .bind(aggregate_id)
        .bind(operator.to_string())
        .bind(serde_json::to_value(&sealed).expect("sealed data serialises"))
        .execute(&mut *tx)
        .await?;
    }
    Ok(reference)
}

/// The next number of the year, under the append lock the caller holds: no two transactions can
/// read the same counter, and a rollback gives the number back.
async fn next_number(
    conn: &mut MySqlConnection,
    organisation_id: Uuid,
    year: i32,
) -> Result<u32, sqlx::Error> {
    let last: Option<i32> = sqlx::query_scalar(
        "SELECT last_number FROM reference_counters WHERE organisation_id = ? AND year = ? FOR UPDATE",
    )
    .bind(organisation_id.to_string())
    .bind(year)
    .fetch_optional(&mut *conn)
    .await?;
    let next = last.unwrap_or(0) + 1;
    sqlx::query(
        "INSERT INTO reference_counters (organisation_id, year, last_number) VALUES (?, ?, ?)
         ON DUPLICATE KEY UPDATE last_number = VALUES(last_number)",
    )
    .bind(organisation_id.to_string())
    .bind(year)
    .bind(next)
    .execute(conn)
    .await?;
    Ok(next as u32)
}
