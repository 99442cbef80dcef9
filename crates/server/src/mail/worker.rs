//! The mail worker. Rows are queued (`sportello_projections::outbox::queue`) in the same
//! transaction as the event or the row that calls for them;
//! each copy of the server claims due rows with a lease, so no row is sent by two copies at
//! once. A sent acknowledgement is recorded as `RequestAcknowledged` through the aggregate, which
//! refuses a second one: after a crash or restart a row whose request is already acknowledged
//! is closed without sending again.

use std::time::Duration;

use sportello_domain::{RequestCommand, RequestError, RequestEvent};
use sportello_projections::outbox::{Mail, Row, ROW_COLUMNS};
use uuid::Uuid;

use super::message::{self, Acknowledgement};
use super::notices;
use super::{Plan, SendFailure};
use crate::event_store::{self, CommandError};
use crate::personal;
use crate::state::AppState;
use crate::web::i18n;

const LEASE: Duration = Duration::from_secs(120);
const MAX_BACKOFF: Duration = Duration::from_secs(3600);
const BATCH: i64 = 20;
const ACTOR: &str = "system:mailer";

/// Sends every row due now, in one pass in queue order: a row that fails is not tried again in
/// the same pass. Rows are claimed with `SKIP LOCKED` and a lease, so several server copies
/// share the queue without deadlocks and a copy that dies releases its rows when the lease ends.
pub async fn work(app: &AppState) -> anyhow::Result<()> {
    let started = app.clock.now();
    let mut after_id = 0i64;
    loop {
        let claim = Uuid::new_v4().to_string();
        let claimed = sportello_projections::retry("outbox claim", || {
            claim_rows(app, &claim, started, after_id)
        })
        .await?;
        let Some(last) = claimed else {
            return Ok(());
        };
        after_id = last;
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {ROW_COLUMNS} FROM outbox WHERE claimed_by = ? ORDER BY id"
        ))
        .bind(&claim)
        .fetch_all(&app.pool)
        .await?;
        let mut sent = Vec::new();
        let mut batch_started = std::time::Instant::now();
        for row in rows {
            let Some(mail) = Mail::from_row(&row) else {
                // Written by a newer version, or damaged: never guessed at.
                tracing::warn!(
                    outbox_id = row.id,
                    kind = row.kind,
                    "outbox row not understood"
                );
                if let Err(error) = finish(app, &row, "skipped").await {
                    tracing::error!(outbox_id = row.id, %error, "outbox row not closed");
                }
                continue;
            };
            match deliver(app, &row, &mail).await {
                Ok(Some(done)) => sent.push(done),
                Ok(None) => {}
                Err(error) => {
                    tracing::error!(outbox_id = row.id, kind = row.kind, %error, "outbox row failed")
                }
            }
            // Slow SMTP: what left is recorded well before the rows' lease runs out, so no
            // other copy claims them and sends them again.
            if batch_started.elapsed() > LEASE / 2 {
                record_sent(app, &claim, std::mem::take(&mut sent)).await?;
                batch_started = std::time::Instant::now();
            }
        }
        record_sent(app, &claim, sent).await?;
    }
}

/// A mail that left, to be recorded: its row, when it left, and the request it acknowledges.
struct Sent {
    row: i64,
    at: chrono::DateTime<chrono::Utc>,
    acknowledges: Option<String>,
}

/// Records the mails of a batch that left in one transaction: each acknowledgement as
/// `RequestAcknowledged` through the aggregate (one already there is the outcome we wanted) and
/// each row closed as sent. One durable commit for the batch, not two for every mail. Should
/// the batch not go through (a request whose history cannot be read), each mail is recorded on
/// its own, so one cannot hold the others back. A crash before the commit sends them again when
/// the rows' lease runs out, with the same Message-IDs.
async fn record_sent(app: &AppState, claim: &str, sent: Vec<Sent>) -> anyhow::Result<()> {
    if sent.is_empty() {
        return Ok(());
    }
    if let Err(error) = record_together(app, claim, &sent).await {
        tracing::warn!(%error, mails = sent.len(), "recording a batch of sent mail; one by one");
        for mail in &sent {
            if let Err(error) = record_together(app, claim, std::slice::from_ref(mail)).await {
                tracing::error!(outbox_id = mail.row, %error, "sent mail not recorded");
            }
        }
    }
    if sent.iter().any(|mail| mail.acknowledges.is_some()) {
        app.events_appended.notify_waiters();
    }
    Ok(())
}

async fn record_together(app: &AppState, claim: &str, sent: &[Sent]) -> anyhow::Result<()> {
    sportello_projections::retry("outbox sent", || async {
        let mut tx = app.pool.begin().await?;
        for mail in sent {
            if let Some(request) = &mail.acknowledges {
                let metadata = event_store::metadata(ACTOR, "system", &Uuid::new_v4().to_string());
                let command = RequestCommand::RecordAcknowledgement { at: mail.at };
                match event_store::decide_in(&mut tx, request, command, &metadata).await? {
                    Ok(_) | Err(RequestError::AlreadyAcknowledged) => {}
                    Err(refused) => {
                        tracing::warn!(outbox_id = mail.row, %refused, "acknowledgement not recorded")
                    }
                }
            }
            // Still ours: a row another copy claimed after our lease ran out is its to close.
            sqlx::query(
                "UPDATE outbox SET status = 'sent', tracking_token = NULL, finished_at = ?,
                        claimed_by = NULL, claimed_until = NULL
                  WHERE id = ? AND claimed_by = ?",
            )
            .bind(mail.at)
            .bind(mail.row)
            .bind(claim)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await
    })
    .await?;
    Ok(())
}

/// Claims up to `BATCH` due rows after `after_id` for `claim`; returns the last id claimed.
/// READ COMMITTED: the claim locks the rows it takes and no gaps, so a filing that queues its
/// acknowledgement meanwhile does not wait for it (under REPEATABLE READ the two deadlocked).
async fn claim_rows(
    app: &AppState,
    claim: &str,
    started: chrono::DateTime<chrono::Utc>,
    after_id: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let mut conn = app.pool.acquire().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        .execute(&mut *conn)
        .await?;
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM outbox
          WHERE status = 'pending' AND next_attempt_at <= ? AND id > ?
            AND (claimed_until IS NULL OR claimed_until < ?)
          ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED",
    )
    .bind(started)
    .bind(after_id)
    .bind(started)
    .bind(BATCH)
    .fetch_all(&mut *tx)
    .await?;
    let Some(&last) = ids.last() else {
        tx.commit().await?;
        return Ok(None);
    };
    let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    sqlx::query(&format!(
        "UPDATE outbox SET claimed_by = ?, claimed_until = ? WHERE id IN ({list})"
    ))
    .bind(claim)
    .bind(app.clock.now() + LEASE)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(last))
}

/// Sends one row's mail; what left is returned to be recorded with its batch, anything else
/// (closed, deferred, failed) is recorded here.
async fn deliver(app: &AppState, row: &Row, mail: &Mail) -> anyhow::Result<Option<Sent>> {
    let acknowledged = match mail {
        Mail::Acknowledgement { request, .. } => Some(request.as_str()),
        _ => None,
    };
    let plan = match mail {
        Mail::Acknowledgement { request, token } => acknowledgement(app, request, token).await?,
        Mail::Notice {
            request,
            notice,
            sequence,
        } => notices::plan(app, request, *notice, *sequence).await?,
        Mail::Invitation { staff, token } => notices::invitation(app, *staff, token).await?,
        Mail::CitizenLink {
            citizen,
            purpose,
            token,
        } => notices::citizen_link(app, *citizen, *purpose, token).await?,
        Mail::MonthlyReport { month, audience } => {
            crate::statistics::monthly_report(app, month, *audience).await?
        }
        Mail::WebhookDisabled { staff, endpoint } => {
            crate::webhooks::disabled_notice(app, *staff, *endpoint).await?
        }
    };
    let mut message = match plan {
        Plan::Send(message) => message,
        Plan::Close(status) => return finish(app, row, status).await.map(|()| None),
    };
    if mail.for_citizen() {
        let own = super::OwnAddresses::load(app).await?;
        if message
            .envelope()
            .to()
            .iter()
            .any(|address| own.contains(address.as_ref()))
        {
            // Never to Sportello's own mailboxes as if they were a citizen's: that is a loop.
            tracing::warn!(
                outbox_id = row.id,
                kind = row.kind,
                "mail to one of our own addresses not sent"
            );
            if let Some(request) = acknowledged {
                let command = RequestCommand::RecordAcknowledgementFailure {
                    at: app.clock.now(),
                    attempts: row.attempts as u32 + 1,
                    reason: "own address".into(),
                };
                record(app, request, command).await?;
            }
            return finish(app, row, "own_address").await.map(|()| None);
        }
    }
    stamp(&mut message, &app.config.public_url, row);
    let by_pec = match mail.request().filter(|_| mail.for_citizen()) {
        Some(request) => {
            super::conversation::join(app, request, &mut message)
                .await?
                .by_pec
        }
        None => false,
    };
    let attempts = row.attempts as u32 + 1;
    let sent = match (
        &app.pec_mail,
        app.config.mail_in.as_ref().and_then(|m| m.pec_from.clone()),
    ) {
        (Some(pec), Some(from)) if by_pec => {
            // From the PEC address, through the PEC provider: its receipts are the legal proof.
            message
                .headers_mut()
                .set(lettre::message::header::From::from(
                    lettre::message::Mailboxes::from(from.clone()),
                ));
            let envelope =
                lettre::address::Envelope::new(Some(from.email), message.envelope().to().to_vec())
                    .map_err(|error| anyhow::anyhow!("PEC envelope: {error}"))?;
            pec.send_as(&envelope, &message.formatted()).await
        }
        _ => app.mail.send(message).await,
    };
    match sent {
        Ok(()) => {
            tracing::info!(
                outbox_id = row.id,
                aggregate_id = mail.request(),
                kind = row.kind,
                attempts,
                "mail sent"
            );
            Ok(Some(Sent {
                row: row.id,
                at: app.clock.now(),
                acknowledges: acknowledged.map(str::to_string),
            }))
        }
        Err(SendFailure::Transient(reason)) if attempts < app.config.mail_max_attempts => {
            let delay = backoff(app.config.mail_retry_base, attempts);
            warn_unsent(row, mail, attempts, &reason, "deferred");
            sqlx::query(
                "UPDATE outbox SET attempts = ?, next_attempt_at = ?, last_error = ?, claimed_by = NULL,
                        claimed_until = NULL WHERE id = ?",
            )
            .bind(attempts as i32)
            .bind(app.clock.now() + delay)
            .bind(&reason)
            .bind(row.id)
            .execute(&app.pool)
            .await?;
            Ok(None)
        }
        Err(SendFailure::Transient(reason) | SendFailure::Permanent(reason)) => {
            if let Some(request) = acknowledged {
                let command = RequestCommand::RecordAcknowledgementFailure {
                    at: app.clock.now(),
                    attempts,
                    reason: reason.clone(),
                };
                record(app, request, command).await?;
            }
            warn_unsent(row, mail, attempts, &reason, "failed for good");
            sqlx::query("UPDATE outbox SET attempts = ?, last_error = ? WHERE id = ?")
                .bind(attempts as i32)
                .bind(&reason)
                .bind(row.id)
                .execute(&app.pool)
                .await?;
            finish(app, row, "failed").await.map(|()| None)
        }
    }
}

/// Logs a mail that did not go, and what becomes of it (`deferred`, `failed for good`).
fn warn_unsent(row: &Row, mail: &Mail, attempts: u32, reason: &str, outcome: &str) {
    tracing::warn!(
        outbox_id = row.id,
        aggregate_id = mail.request(),
        kind = row.kind,
        attempts,
        reason,
        "mail {outcome}"
    );
}

/// The acknowledgement of a new request, unless it was already acknowledged (a row reclaimed
/// after a crash) or the citizen's data is gone.
async fn acknowledgement(app: &AppState, request: &str, token: &str) -> anyhow::Result<Plan> {
    let history = event_store::history(&app.pool, request).await?;
    if history
        .iter()
        .any(|event| matches!(event, RequestEvent::RequestAcknowledged { .. }))
    {
        return Ok(Plan::Close("sent"));
    }
    let Some(RequestEvent::RequestReceived {
        reference,
        kind,
        topic,
        language,
        personal,
        received_at,
        answer_due,
        ..
    }) = history.into_iter().next()
    else {
        anyhow::bail!("outbox row names a request with no RequestReceived");
    };
    let Some(personal) = personal::open(&app.pool, &personal).await? else {
        // The citizen's data was erased before the mail left: there is nobody to write to.
        return Ok(Plan::Close("cancelled"));
    };
    let reference = reference.to_string();
    let ack = Acknowledgement {
        reference: &reference,
        kind: i18n::text(language, &format!("kind.{}", kind.code()), &[]),
        topic: notices::topic_name(app, &topic, language).await?,
        received: i18n::date_time(language, received_at),
        answer_due: i18n::long_date(language, answer_due),
        tracking_link: format!("{}/segui/{token}", app.config.public_url),
        personal: &personal,
    };
    Ok(Plan::Send(message::acknowledgement(app, language, &ack)?))
}

/// Headers every mail carries: a `Message-ID` made from its outbox row, so a resend after a
/// crash carries the same one and receivers can drop the duplicate; and `Auto-Submitted:
/// auto-generated` (RFC 3834), so out-of-office replies and other automatons do not answer.
fn stamp(message: &mut lettre::Message, public_url: &str, row: &Row) {
    use lettre::message::header::{HeaderName, HeaderValue, MessageId};
    let host = public_url
        .split("://")
        .nth(1)
        .unwrap_or(public_url)
        .split(['/', ':'])
        .next()
        .filter(|host| !host.is_empty())
        .unwrap_or("localhost");
    let headers = message.headers_mut();
    headers.set(MessageId::from(message_id(row.id, row.created_at, host)));
    headers.insert_raw(HeaderValue::new(
        HeaderName::new_from_ascii_str("Auto-Submitted"),
        "auto-generated".into(),
    ));
}

/// `<sportello.{row}.{created, in microseconds}@{host}>`: unique per row and deployment, the same
/// for every attempt to send the row.
pub fn message_id(row: i64, created_at: chrono::DateTime<chrono::Utc>, host: &str) -> String {
    format!("<sportello.{row}.{}@{host}>", created_at.timestamp_micros())
}

/// Records the outcome through the aggregate. "Already acknowledged" means another attempt got
/// there first, which is the outcome we wanted; a concurrent append is retried.
async fn record(app: &AppState, aggregate_id: &str, command: RequestCommand) -> anyhow::Result<()> {
    for _ in 0..3 {
        let metadata = event_store::metadata(ACTOR, "system", &Uuid::new_v4().to_string());
        match event_store::execute(&app.requests, aggregate_id, command.clone(), metadata).await {
            Ok(()) | Err(CommandError::Rejected(RequestError::AlreadyAcknowledged)) => {
                app.events_appended.notify_waiters();
                return Ok(());
            }
            Err(CommandError::Conflict) => continue,
            Err(error) => return Err(error.into()),
        }
    }
    anyhow::bail!("request {aggregate_id} kept changing while recording the mail outcome")
}

/// Closes a row and forgets the tracking token it carried.
async fn finish(app: &AppState, row: &Row, status: &str) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE outbox SET status = ?, tracking_token = NULL, finished_at = ?, claimed_by = NULL,
                claimed_until = NULL WHERE id = ?",
    )
    .bind(status)
    .bind(app.clock.now())
    .bind(row.id)
    .execute(&app.pool)
    .await?;
    Ok(())
}

/// `base` doubled for every attempt after the first, at most an hour.
fn backoff(base: Duration, attempts: u32) -> chrono::Duration {
    let factor = 2u32.saturating_pow(attempts.saturating_sub(1).min(16));
    let delay = base.saturating_mul(factor).min(MAX_BACKOFF);
    chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::hours(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        let base = Duration::from_secs(30);
        assert_eq!(backoff(base, 1), chrono::Duration::seconds(30));
        assert_eq!(backoff(base, 2), chrono::Duration::seconds(60));
        assert_eq!(backoff(base, 4), chrono::Duration::seconds(240));
        assert_eq!(backoff(base, 30), chrono::Duration::hours(1));
    }
}
