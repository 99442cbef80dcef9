//! The background work every server copy runs: projections catching up with the event log, the
//! mail outbox, and the mailboxes read for mail and PEC in (one copy at a time holds each). Each stops when `shutdown` turns true and resumes from its checkpoint.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::mail;
use crate::state::AppState;

const TICK: Duration = Duration::from_secs(1);

/// Starts the processors this copy runs (`SPORTELLO_PROCESSORS`, all by default); the handles
/// end after `shutdown` is set.
pub fn spawn_all(app: &AppState, shutdown: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    let wanted = |name: &str| {
        app.config
            .processors
            .as_ref()
            .is_none_or(|names| names.iter().any(|n| n == name))
    };
    let mut handles: Vec<JoinHandle<()>> = sportello_projections::processors()
        .into_iter()
        .filter(|projection| wanted(projection.name()))
        .map(|projection| {
            let app = app.clone();
            let mut shutdown = shutdown.clone();
            tokio::spawn(async move {
                loop {
                    if let Err(error) = sportello_projections::catch_up(&app.pool, projection.as_ref()).await {
                        tracing::error!(projection = projection.name(), %error, "projection failed; retrying");
                    }
                    tokio::select! {
                        _ = app.events_appended.notified() => {}
                        _ = tokio::time::sleep(TICK) => {}
                        _ = shutdown.changed() => return,
                    }
                }
            })
        })
        .collect();
    if wanted("webhooks") {
        let app = app.clone();
        let mut shutdown = shutdown.clone();
        handles.push(tokio::spawn(async move {
            loop {
                let sent = match crate::webhooks::deliver_due(&app).await {
                    Ok(sent) => sent,
                    Err(error) => {
                        tracing::error!(%error, "webhook deliveries failed; retrying");
                        0
                    }
                };
                if sent > 0 {
                    continue;
                }
                tokio::select! {
                    _ = app.events_appended.notified() => {}
                    _ = tokio::time::sleep(TICK) => {}
                    _ = shutdown.changed() => return,
                }
            }
        }));
    }
    if wanted("mail-in") {
        handles.extend(crate::mail_in::spawn(app, &shutdown));
    }
    if !wanted("mail") {
        return handles;
    }
    let app = app.clone();
    let mut shutdown = shutdown.clone();
    handles.push(tokio::spawn(async move {
        loop {
            if let Err(error) = mail::worker::work(&app).await {
                tracing::error!(%error, "mail outbox failed; retrying");
            }
            tokio::select! {
                _ = app.mail_queued.notified() => {}
                _ = tokio::time::sleep(TICK) => {}
                _ = shutdown.changed() => return,
            }
        }
    }));
    handles
}
