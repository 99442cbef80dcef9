//! The quarantine: messages that did not become requests wait here for the URP, who files one
//! as a request, attaches it to a request as the citizen's message, or discards it. Each
//! decision is recorded on the row (who, when, which request) in the transaction that carries it
//! out, and the message itself is deleted then: what it said lives on in the request, or nowhere.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use minijinja::context;
use serde::{Deserialize, Serialize};
use sportello_domain::{Language, RequestCommand};
use uuid::Uuid;

use super::read::{self, Held};
use super::Which;
use crate::event_store;
use crate::files::{attachment_records, store_attachments};
use crate::staff::{SignedIn, Urp};
use crate::state::{AppState, Desk};
use crate::web::checked::{CsrfForm, NoFields};
use crate::web::form::Errors;
use crate::web::{i18n, AppError, Result, View};

const PAGE: &str = "/ufficio/posta";

pub fn routes() -> axum::Router<AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route(PAGE, get(page))
        .route("/ufficio/posta/{id}/archivia", post(file))
        .route("/ufficio/posta/{id}/allega", post(attach))
        .route("/ufficio/posta/{id}/scarta", post(discard))
}

#[derive(Serialize)]
struct Waiting {
    id: i64,
    received: String,
    mailbox: String,
    reason: String,
    sender: String,
    subject: String,
    size_kb: u64,
    /// Only its headers were kept (too large): it cannot be filed from here.
    headers_only: bool,
}

#[derive(sqlx::FromRow)]
struct WaitingRow {
    id: i64,
    received_at: DateTime<Utc>,
    mailbox: String,
    reason: String,
    sender: Option<String>,
    subject: Option<String>,
    size: i64,
    headers_only: bool,
}

#[derive(sqlx::FromRow)]
struct DecidedRow {
    received_at: DateTime<Utc>,
    sender: Option<String>,
    status: String,
    decided_by: Option<String>,
    decided_at: Option<DateTime<Utc>>,
    aggregate_id: Option<String>,
    reference: Option<String>,
}

#[derive(Serialize)]
struct Decided {
    received: String,
    sender: String,
    decision: String,
    by: String,
    at: String,
    reference: Option<String>,
    request: Option<String>,
}

/// The reference typed to attach a message to.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Attach {
    riferimento: String,
}

async fn page(Desk { app, language }: Desk, Urp(signed_in): Urp) -> Result<Response> {
    let view = view(&app, language, &signed_in, None, &Errors::new()).await?;
    app.render(language, view)
}

/// The page, with the form of message `failed` as typed and its errors when one was refused.
async fn view(
    app: &AppState,
    language: Language,
    signed_in: &SignedIn,
    failed: Option<(u64, &Attach)>,
    errors: &Errors,
) -> Result<View> {
    let organisation = app.organisation_id.to_string();
    let rows: Vec<WaitingRow> = sqlx::query_as(
        "SELECT id, received_at, mailbox, reason, sender, subject, size,
                    reason = 'too_large' AS headers_only
               FROM mail_quarantine WHERE organisation_id = ? AND status = 'waiting'
              ORDER BY received_at, id LIMIT 200",
    )
    .bind(&organisation)
    .fetch_all(&app.pool)
    .await?;
    let waiting: Vec<Waiting> = rows
        .into_iter()
        .map(|row| Waiting {
            id: row.id,
            received: i18n::date_time(language, row.received_at),
            mailbox: i18n::text(
                language,
                &format!("quarantine.mailbox.{}", row.mailbox),
                &[],
            ),
            reason: i18n::text(language, &format!("quarantine.reason.{}", row.reason), &[]),
            sender: row.sender.unwrap_or_default(),
            subject: row.subject.unwrap_or_default(),
            size_kb: (row.size.max(0) as u64).div_ceil(1024),
            headers_only: row.headers_only,
        })
        .collect();
    let names = crate::staff::names(&app.pool, app.organisation_id).await?;
    let rows: Vec<DecidedRow> =
        sqlx::query_as(
            "SELECT m.received_at, m.sender, m.status, m.decided_by, m.decided_at, m.aggregate_id, q.reference
               FROM mail_quarantine m LEFT JOIN queue_requests q ON q.aggregate_id = m.aggregate_id
              WHERE m.organisation_id = ? AND m.status <> 'waiting'
              ORDER BY m.decided_at DESC, m.id DESC LIMIT 20",
        )
        .bind(&organisation)
        .fetch_all(&app.pool)
        .await?;
    let decided: Vec<Decided> = rows
        .into_iter()
        .map(|row| Decided {
            received: i18n::date_time(language, row.received_at),
            sender: row.sender.unwrap_or_default(),
            decision: i18n::text(
                language,
                &format!("quarantine.decision.{}", row.status),
                &[],
            ),
            by: row
                .decided_by
                .and_then(|id| Uuid::parse_str(&id).ok())
                .and_then(|id| names.get(&id).cloned())
                .unwrap_or_default(),
            at: row
                .decided_at
                .map(|at| i18n::date_time(language, at))
                .unwrap_or_default(),
            reference: row.reference,
            request: row.aggregate_id,
        })
        .collect();
    let mailboxes = super::status::states(app, language).await?;
    let (failed_id, typed) = match failed {
        Some((id, form)) => (Some(id), form.riferimento.clone()),
        None => (None, String::new()),
    };
    Ok(
        View::new("mail_in/quarantine.html", PAGE, "quarantine.title")
            .with(context! {
                staff => signed_in.bar(), waiting, decided, mailboxes,
                failed_id, typed, errors => errors.shown(language),
            })
            .private(),
    )
}

/// A waiting message of this organisation: its mailbox and raw bytes (`None`: headers only).
async fn waiting(app: &AppState, id: u64) -> Result<(Which, Option<Vec<u8>>, String)> {
    let row: Option<(String, Option<Vec<u8>>, String)> = sqlx::query_as(
        "SELECT mailbox, raw, reason FROM mail_quarantine
          WHERE id = ? AND organisation_id = ? AND status = 'waiting'",
    )
    .bind(id)
    .bind(app.organisation_id.to_string())
    .fetch_optional(&app.pool)
    .await?;
    let (mailbox, raw, reason) = row.ok_or(AppError::NotFound)?;
    let which = if mailbox == "pec" {
        Which::Pec
    } else {
        Which::Mail
    };
    let raw = raw.filter(|_| Held::parse(&reason) != Some(Held::TooLarge));
    Ok((which, raw, reason))
}

/// Marks a waiting message decided, in the caller's transaction; `false` when someone else
/// decided it first.
async fn decide(
    conn: &mut sqlx::MySqlConnection,
    organisation: Uuid,
    id: u64,
    status: &str,
    by: Uuid,
    at: DateTime<Utc>,
    request: Option<&str>,
) -> std::result::Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE mail_quarantine SET status = ?, decided_by = ?, decided_at = ?, aggregate_id = ?, raw = NULL
          WHERE id = ? AND organisation_id = ? AND status = 'waiting'",
    )
    .bind(status)
    .bind(by.to_string())
    .bind(at)
    .bind(request)
    .bind(id)
    .bind(organisation.to_string())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Why a decision was refused, with the field it concerns, its message and its status.
#[derive(Clone, Copy)]
enum Refusal {
    Decided,
    Unreadable,
    Reference,
    Erased,
    Closed,
}

impl Refusal {
    fn parts(self) -> (&'static str, &'static str, StatusCode) {
        let invalid = StatusCode::UNPROCESSABLE_ENTITY;
        match self {
            Refusal::Decided => ("general", "quarantine.error.decided", StatusCode::CONFLICT),
            Refusal::Unreadable => ("general", "quarantine.error.unreadable", invalid),
            Refusal::Reference => ("riferimento", "quarantine.error.reference", invalid),
            Refusal::Erased => ("riferimento", "quarantine.error.erased", invalid),
            Refusal::Closed => ("riferimento", "quarantine.error.closed", invalid),
        }
    }
}

async fn refuse(
    app: &AppState,
    language: Language,
    signed_in: &SignedIn,
    failed: Option<(u64, &Attach)>,
    refusal: Refusal,
) -> Result<Response> {
    let (field, key, status) = refusal.parts();
    let mut errors = Errors::new();
    errors.add(field, key);
    let view = view(app, language, signed_in, failed, &errors).await?;
    app.render(language, view.status(status))
}

/// "File as a request": the message becomes a request, as if it had been read as a letter.
async fn file(
    Desk { app, language }: Desk,
    Urp(signed_in): Urp,
    Path(id): Path<u64>,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response> {
    let (which, raw, _) = waiting(&app, id).await?;
    let Some(letter) = raw.as_deref().and_then(read::letter_anyway) else {
        return refuse(&app, language, &signed_in, None, Refusal::Unreadable).await;
    };
    let (by, at) = (signed_in.staff.id, app.clock.now());
    let organisation = app.organisation_id;
    let also: crate::intake::Also = Box::new(move |tx, aggregate_id| {
        Box::pin(async move {
            if decide(tx, organisation, id, "filed", by, at, Some(aggregate_id)).await? {
                Ok(())
            } else {
                // Decided meanwhile by someone else: nothing is filed.
                Err(sqlx::Error::RowNotFound)
            }
        })
    });
    let origin = super::letters::Origin {
        mailbox: which,
        follows: None,
        actor: format!("staff:{}", signed_in.staff.id),
    };
    match super::letters::file_letter(&app, letter, origin, also).await {
        Ok(filed) => {
            Ok(Redirect::to(&format!("/ufficio/richieste/{}", filed.aggregate_id)).into_response())
        }
        // Nothing was filed; if someone decided meanwhile, that is what the person is told.
        Err(error) => match waiting(&app, id).await {
            Err(AppError::NotFound) => {
                refuse(&app, language, &signed_in, None, Refusal::Decided).await
            }
            _ => Err(AppError::internal(error)),
        },
    }
}

/// "Attach to request …": the message is added to a request as the citizen's message.
async fn attach(
    Desk { app, language }: Desk,
    Urp(signed_in): Urp,
    Path(id): Path<u64>,
    CsrfForm(form): CsrfForm<Attach>,
) -> Result<Response> {
    let (_, raw, _) = waiting(&app, id).await?;
    let failed = Some((id, &form));
    let reference = form.riferimento.trim();
    let request: Option<String> = sqlx::query_scalar(
        "SELECT aggregate_id FROM queue_requests WHERE organisation_id = ? AND reference = ?",
    )
    .bind(app.organisation_id.to_string())
    .bind(reference)
    .fetch_optional(&app.pool)
    .await?;
    let Some(request) = request else {
        return refuse(&app, language, &signed_in, failed, Refusal::Reference).await;
    };
    let Some(letter) = raw.as_deref().and_then(read::letter_anyway) else {
        return refuse(&app, language, &signed_in, failed, Refusal::Unreadable).await;
    };
    let history = event_store::history(&app.pool, &request)
        .await
        .map_err(AppError::internal)?;
    let Some(sportello_domain::RequestEvent::RequestReceived { personal, .. }) = history.first()
    else {
        return Err(AppError::NotFound);
    };
    let (prepared, refused) = super::letters::prepare(letter.files)
        .await
        .map_err(AppError::internal)?;
    // What staff read names the files refused, as for a reply read from the mailbox.
    let text = super::letters::what_it_says(&letter.text, &refused);
    let Some(message) = crate::personal::seal_text(&app.pool, personal.key_id, &text).await? else {
        return refuse(&app, language, &signed_in, failed, Refusal::Erased).await;
    };
    store_attachments(&app.pool, &prepared).await?;
    let command = RequestCommand::RecordCitizenReply {
        at: app.clock.now(),
        message,
        attachments: attachment_records(&prepared),
        calendar: app.settings().await?.calendar,
        channel: if letter.pec {
            sportello_domain::Channel::Pec
        } else {
            sportello_domain::Channel::Email
        },
    };
    let metadata = event_store::metadata(
        &format!("staff:{}", signed_in.staff.id),
        "back_office",
        &Uuid::new_v4().to_string(),
    );
    let (by, at) = (signed_in.staff.id, app.clock.now());
    let outcome = sportello_projections::retry("quarantine attach", || async {
        let mut tx = app.pool.begin().await?;
        if let Err(rejected) =
            event_store::decide_in(&mut tx, &request, command.clone(), &metadata).await?
        {
            return Ok::<_, sqlx::Error>(Err(Some(rejected)));
        }
        if !decide(
            &mut tx,
            app.organisation_id,
            id,
            "attached",
            by,
            at,
            Some(&request),
        )
        .await?
        {
            return Ok(Err(None));
        }
        tx.commit().await?;
        Ok(Ok(()))
    })
    .await?;
    match outcome {
        Ok(()) => {
            app.events_appended.notify_waiters();
            Ok(Redirect::to(&format!("/ufficio/richieste/{request}")).into_response())
        }
        Err(None) => refuse(&app, language, &signed_in, None, Refusal::Decided).await,
        Err(Some(_)) => refuse(&app, language, &signed_in, failed, Refusal::Closed).await,
    }
}

/// "Discard": recorded, and the message deleted.
async fn discard(
    Desk { app, language }: Desk,
    Urp(signed_in): Urp,
    Path(id): Path<u64>,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response> {
    waiting(&app, id).await?;
    let (by, at) = (signed_in.staff.id, app.clock.now());
    let done = sportello_projections::retry("quarantine discard", || async {
        let mut conn = app.pool.acquire().await?;
        decide(
            &mut conn,
            app.organisation_id,
            id,
            "discarded",
            by,
            at,
            None,
        )
        .await
    })
    .await?;
    if !done {
        return refuse(&app, language, &signed_in, None, Refusal::Decided).await;
    }
    Ok(Redirect::to(&format!("{PAGE}?avviso=scartato")).into_response())
}
