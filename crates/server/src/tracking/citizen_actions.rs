//! What the citizen does to their request, from the tracking link or their area: reply or add
//! information with attachments (resuming the answer clock after a question), reopen a closed
//! request within the period, and rate the answer in two steps (stars, then reasons and a
//! comment: the Designers Italia rating pattern, which works without JavaScript).

use crate::state::Desk;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use sportello_domain::{Language, RequestCommand};

use super::{tracking_view, Access};
use crate::event_store::{self, CommandError};
use crate::files::{attachment_records, prepare_uploads, store_attachments};
use crate::intake::{DESCRIPTION_MAX, DESCRIPTION_MIN};
use crate::personal;
use crate::state::AppState;
use crate::web::checked::{self, Submitted, SubmittedFiles};
use crate::web::form::Errors;
use crate::web::{AppError, ClientIp, Result};

/// Reasons offered after a good rating (4–5 stars) and after a poor one (1–3).
pub const POSITIVE_REASONS: &[&str] = &["clear", "easy", "fast", "helpful", "other"];
pub const NEGATIVE_REASONS: &[&str] = &["unclear", "hard", "slow", "unhelpful", "other"];

/// The citizen's forms as typed, to show them again.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CitizenForm {
    pub message: String,
    pub reason: String,
    /// The stars chosen in the rating's first step: the page then shows the second.
    pub stars: Option<u8>,
    pub reasons: Vec<String>,
    pub comment: String,
}

/// What the citizen sends, as it arrived: the fields, and whether the form's token was good
/// (a page shows the form again with what was typed either way).
pub struct Sent<T> {
    pub form: T,
    pub forged: bool,
}

impl<T> Sent<T> {
    pub fn of(submitted: Submitted<T>) -> Result<Sent<T>> {
        let (form, forged) = checked::typed(submitted)?;
        Ok(Sent { form, forged })
    }
}

/// A reply's fields (its files come beside them).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ReplyForm {
    message: String,
}

/// A reopening's fields.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ReopenForm {
    reason: String,
}

/// A rating's fields: the first step sends the stars; the second the reasons and a comment too.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RatingForm {
    stars: String,
    reasons: Vec<String>,
    comment: String,
    step: String,
}

pub async fn reply(
    Desk { app, language }: Desk,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    Path(token): Path<String>,
    submitted: SubmittedFiles<ReplyForm>,
) -> Result<Response> {
    let access = Access::Token(token);
    reply_with(&app, language, client, &headers, &access, submitted).await
}

/// A reply: more information, or the answer to a question (which resumes the answer clock),
/// with up to five files checked like the request's. Same protection as the form: CSRF, rate
/// limit, a length check.
pub async fn reply_with(
    app: &AppState,
    language: Language,
    client: std::net::IpAddr,
    headers: &HeaderMap,
    access: &Access,
    submitted: SubmittedFiles<ReplyForm>,
) -> Result<Response> {
    let request = access.resolve(app).await?;
    let (sent, forged) = checked::typed(submitted)?;
    let form = CitizenForm {
        message: sent.form.message.trim().replace("\r\n", "\n"),
        ..CitizenForm::default()
    };
    let mut errors = Errors::new();
    let fail = |errors: Errors, status: StatusCode| {
        let (request, form) = (&request, &form);
        async move {
            let view =
                tracking_view(app, language, headers, access, request, form, &errors).await?;
            app.render(language, view.status(status))
        }
    };
    if forged {
        errors.add("message", "form.error.csrf");
        return fail(errors, StatusCode::FORBIDDEN).await;
    }
    if !app.submissions.allow(client) {
        errors.add("message", "form.error.too_many");
        return fail(errors, StatusCode::TOO_MANY_REQUESTS).await;
    }
    let length = form.message.chars().count();
    if !(DESCRIPTION_MIN..=DESCRIPTION_MAX).contains(&length) {
        errors.add("message", "tracking.reply_error.length");
    }
    let (prepared, file_errors) = prepare_uploads(sent.uploads, sent.too_large).await?;
    for error in &file_errors {
        errors.add("reply-files", error.message);
    }
    if !errors.is_empty() {
        return fail(errors, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let sealed = personal::seal_text(&app.pool, request.personal.key_id, &form.message)
        .await?
        .ok_or(AppError::Gone)?;
    store_attachments(&app.pool, &prepared).await?;
    let command = RequestCommand::RecordCitizenReply {
        at: app.clock.now(),
        message: sealed,
        attachments: attachment_records(&prepared),
        calendar: app.settings().await?.calendar,
        channel: sportello_domain::Channel::Web,
    };
    match execute(app, access, &request.aggregate_id, command).await? {
        Ok(()) => Ok(Redirect::to(&access.base()).into_response()),
        Err(key) => {
            errors.add("message", key);
            fail(errors, StatusCode::CONFLICT).await
        }
    }
}

/// Runs a citizen's command; `Err(key)` is the catalogue key of a refusal to show.
async fn execute(
    app: &AppState,
    access: &Access,
    aggregate_id: &str,
    command: RequestCommand,
) -> Result<std::result::Result<(), &'static str>> {
    let actor = match access {
        Access::Token(_) => "citizen".to_string(),
        Access::Citizen(owner, _) => format!("citizen:{}", owner.citizen_id),
    };
    let metadata = event_store::metadata(&actor, "web", &uuid::Uuid::new_v4().to_string());
    match event_store::execute(&app.requests, aggregate_id, command, metadata).await {
        Ok(()) => {
            // The page the citizen goes back to shows what they just did (read their own write).
            sportello_projections::catch_up(
                &app.pool,
                &sportello_projections::citizen_status::CitizenStatus,
            )
            .await?;
            app.events_appended.notify_waiters();
            Ok(Ok(()))
        }
        Err(CommandError::Conflict) => Ok(Err("tracking.reply_error.again")),
        Err(CommandError::Rejected(sportello_domain::RequestError::ReopeningPeriodOver)) => {
            Ok(Err("tracking.reopen_error.late"))
        }
        Err(CommandError::Rejected(sportello_domain::RequestError::AlreadyRated)) => {
            Ok(Err("tracking.rate_error.again"))
        }
        Err(CommandError::Rejected(_)) => Ok(Err("tracking.action_error.status")),
        Err(error) => Err(AppError::internal(error)),
    }
}

pub async fn reopen(
    Desk { app, language }: Desk,
    headers: HeaderMap,
    Path(token): Path<String>,
    submitted: Submitted<ReopenForm>,
) -> Result<Response> {
    let sent = Sent::of(submitted)?;
    reopen_with(&app, language, &headers, &Access::Token(token), sent).await
}

pub async fn reopen_with(
    app: &AppState,
    language: Language,
    headers: &HeaderMap,
    access: &Access,
    sent: Sent<ReopenForm>,
) -> Result<Response> {
    let request = access.resolve(app).await?;
    let form = CitizenForm {
        reason: sent.form.reason.trim().replace("\r\n", "\n"),
        ..CitizenForm::default()
    };
    let mut errors = Errors::new();
    if sent.forged {
        errors.add("reopen-reason", "form.error.csrf");
    } else if !(DESCRIPTION_MIN..=DESCRIPTION_MAX).contains(&form.reason.chars().count()) {
        errors.add("reopen-reason", "tracking.reopen_error.length");
    }
    if errors.is_empty() {
        let sealed = personal::seal_text(&app.pool, request.personal.key_id, &form.reason)
            .await?
            .ok_or(AppError::Gone)?;
        let command = RequestCommand::ReopenByCitizen {
            at: app.clock.now(),
            reason: sealed,
            reopen_days: app.settings().await?.reopen_days,
        };
        match execute(app, access, &request.aggregate_id, command).await? {
            Ok(()) => return Ok(Redirect::to(&access.base()).into_response()),
            Err(key) => errors.add("reopen-reason", key),
        }
    }
    let view = tracking_view(app, language, headers, access, &request, &form, &errors).await?;
    app.render(language, view.status(StatusCode::UNPROCESSABLE_ENTITY))
}

pub async fn rate(
    Desk { app, language }: Desk,
    headers: HeaderMap,
    Path(token): Path<String>,
    submitted: Submitted<RatingForm>,
) -> Result<Response> {
    let sent = Sent::of(submitted)?;
    rate_with(&app, language, &headers, &Access::Token(token), sent).await
}

/// The rating: the first step sends the stars and gets the second step back; the second sends
/// stars, reasons and comment, and records the rating.
pub async fn rate_with(
    app: &AppState,
    language: Language,
    headers: &HeaderMap,
    access: &Access,
    sent: Sent<RatingForm>,
) -> Result<Response> {
    let request = access.resolve(app).await?;
    let fields = sent.form;
    let stars: Option<u8> = fields.stars.parse().ok().filter(|s| (1..=5).contains(s));
    let offered = match stars {
        Some(4..=5) => POSITIVE_REASONS,
        _ => NEGATIVE_REASONS,
    };
    let reasons: Vec<String> = fields
        .reasons
        .into_iter()
        .filter(|reason| offered.contains(&reason.as_str()))
        .collect();
    let form = CitizenForm {
        stars,
        reasons: reasons.clone(),
        comment: fields.comment.trim().replace("\r\n", "\n"),
        ..CitizenForm::default()
    };
    let mut errors = Errors::new();
    if sent.forged {
        errors.add("rating-stars", "form.error.csrf");
    } else if stars.is_none() {
        errors.add("rating-stars", "tracking.rate_error.stars");
    } else if form.comment.chars().count() > DESCRIPTION_MAX {
        errors.add("rating-comment", "tracking.rate_error.comment");
    }
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    if !errors.is_empty() || fields.step != "2" {
        let view = tracking_view(app, language, headers, access, &request, &form, &errors).await?;
        return app.render(language, view.status(status));
    }
    let comment = if form.comment.is_empty() {
        None
    } else {
        Some(
            personal::seal_text(&app.pool, request.personal.key_id, &form.comment)
                .await?
                .ok_or(AppError::Gone)?,
        )
    };
    let command = RequestCommand::Rate {
        at: app.clock.now(),
        stars: stars.unwrap_or_default(),
        reasons,
        comment,
    };
    match execute(app, access, &request.aggregate_id, command).await? {
        Ok(()) => Ok(Redirect::to(&format!("{}#rating-title", access.base())).into_response()),
        Err(key) => {
            errors.add("rating-stars", key);
            let view =
                tracking_view(app, language, headers, access, &request, &form, &errors).await?;
            app.render(language, view.status(StatusCode::CONFLICT))
        }
    }
}
