//! Mail and PEC in: the URP's mailboxes read over IMAP, each message becoming a request, a reply
//! on its request, a bounce or PEC receipt recorded on the request it is about, or a place in
//! quarantine for a person to decide. One server copy reads a mailbox at a time (a lease in the
//! database); the others take over when it stops renewing.

pub mod imap;
mod ingest;
mod letters;
pub mod quarantine;
pub mod read;
mod record;
pub mod reply;
pub mod status;

use std::time::Duration;

use tokio::sync::watch;
use uuid::Uuid;

pub use crate::config::mail_in::{MailIn, Mailbox};
pub use ingest::drain;
pub use quarantine::routes;
pub use record::Which;
pub use status::report;

use crate::state::AppState;

/// How long a lease holds without renewal: three polls, at least ten seconds, at most a minute.
fn lease_seconds(app: &AppState) -> i64 {
    let poll = app
        .config
        .mail_in
        .as_ref()
        .map(|m| m.poll.as_secs())
        .unwrap_or(30);
    (poll as i64 * 3).clamp(10, 60)
}
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Takes or renews the lease on a mailbox for `holder`; whether `holder` has it now. The
/// database's clock decides, so every copy agrees whatever its own.
pub async fn lease(app: &AppState, which: Which, holder: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query(
        "INSERT INTO mail_in_leases (mailbox, holder, held_until)
         VALUES (?, ?, UTC_TIMESTAMP(6) + INTERVAL ? SECOND)
         ON DUPLICATE KEY UPDATE
           holder = IF(held_until < UTC_TIMESTAMP(6) OR holder = VALUES(holder), VALUES(holder), holder),
           held_until = IF(holder = VALUES(holder), VALUES(held_until), held_until)",
    )
    .bind(which.code())
    .bind(holder.to_string())
    .bind(lease_seconds(app))
    .execute(&app.pool)
    .await?;
    let now: Option<String> =
        sqlx::query_scalar("SELECT holder FROM mail_in_leases WHERE mailbox = ?")
            .bind(which.code())
            .fetch_optional(&app.pool)
            .await?;
    Ok(now.as_deref() == Some(holder.to_string().as_str()))
}

/// Lets the lease go (a copy shutting down), so another copy takes over at once.
async fn release(app: &AppState, which: Which, holder: Uuid) {
    let _ = sqlx::query("DELETE FROM mail_in_leases WHERE mailbox = ? AND holder = ?")
        .bind(which.code())
        .bind(holder.to_string())
        .execute(&app.pool)
        .await;
}

/// Reads a mailbox as long as the server runs, as `holder` (its lease's name): waits for the lease, connects, deals with what is
/// waiting, then waits for news (IDLE, or polling); on any error reports it and tries again
/// later, waiting longer each time (up to five minutes), without stopping the server.
pub async fn run(
    app: AppState,
    which: Which,
    mailbox: Mailbox,
    holder: Uuid,
    mut shutdown: watch::Receiver<bool>,
) {
    let poll = app
        .config
        .mail_in
        .as_ref()
        .map(|m| m.poll)
        .unwrap_or(Duration::from_secs(30));
    let mut backoff = Duration::from_secs(1);
    loop {
        let outcome = tokio::select! {
            outcome = session(&app, which, &mailbox, holder, poll, &mut backoff) => outcome,
            _ = shutdown.changed() => break,
        };
        let pause = match outcome {
            Ok(()) => poll,
            Err(error) => {
                let text = format!("{error:#}");
                tracing::warn!(mailbox = which.code(), error = %text, "mailbox unavailable; trying again later");
                report(&app, which, Some(&text)).await;
                let pause = backoff;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                pause
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = shutdown.changed() => break,
        }
    }
    release(&app, which, holder).await;
}

/// One connection's life while this copy holds the lease; `Ok` when the lease is someone else's.
async fn session(
    app: &AppState,
    which: Which,
    mailbox: &Mailbox,
    holder: Uuid,
    poll: Duration,
    backoff: &mut Duration,
) -> anyhow::Result<()> {
    if !lease(app, which, holder).await? {
        return Ok(());
    }
    let mut connection = imap::Connection::open(mailbox).await?;
    report(app, which, None).await;
    *backoff = Duration::from_secs(1);
    loop {
        if !lease(app, which, holder).await? {
            connection.close().await;
            return Ok(());
        }
        ingest::drain(app, which, &mut connection, Some(holder)).await?;
        connection = connection.wait(poll).await?;
    }
}

/// Starts a reader for each configured mailbox.
pub fn spawn(app: &AppState, shutdown: &watch::Receiver<bool>) -> Vec<tokio::task::JoinHandle<()>> {
    let Some(config) = app.config.mail_in.clone() else {
        return Vec::new();
    };
    [(Which::Mail, config.mail), (Which::Pec, config.pec)]
        .into_iter()
        .filter_map(|(which, mailbox)| {
            let mailbox = mailbox?;
            let holder = Uuid::new_v4();
            Some(tokio::spawn(run(
                app.clone(),
                which,
                mailbox,
                holder,
                shutdown.clone(),
            )))
        })
        .collect()
}
