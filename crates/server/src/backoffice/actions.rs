//! Acting on a request: each action is one command to the aggregate, which decides. The form
//! carries the version the person saw; if the request changed meanwhile (or another copy wins
//! the append), nothing is recorded and the page says "this request changed, reload".

use crate::state::Desk;
use axum::extract::Path;
use axum::extract::{FromRef, FromRequest, Request};
use axum::http::header;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sportello_domain::{Outcome, RequestCommand};
use uuid::Uuid;

use super::request::{action_of, render, visible_to, Visible};
use crate::directory;
use crate::event_store::{self, CommandError};
use crate::files::{attachment_records, prepare_uploads, store_attachments};
use crate::personal;
use crate::staff::SignedIn;
use crate::state::AppState;
use crate::web::checked::{CsrfForm, CsrfKey, CsrfMultipart};
use crate::web::upload::Upload;
use crate::web::{AppError, Result};

const MESSAGE_MAX: usize = 8000;

/// An action's fields, as sent.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ActionFields {
    version: String,
    message: String,
    department: String,
    external_body: String,
    outcome: String,
    /// How to reach a citizen whose address does not work: `paper` or `phone`.
    contact: String,
    /// Library documents chosen for an answer.
    documents: Vec<String>,
    /// The protocol registration recorded by hand: number, date, register.
    protocol_number: String,
    protocol_date: String,
    protocol_register: String,
}

/// What an action's form sends, its token checked; the answer's form may carry files.
pub struct ActionForm {
    version: usize,
    message: String,
    department: String,
    external_body: String,
    outcome: String,
    contact: String,
    documents: Vec<String>,
    protocol: (String, String, String),
    uploads: Vec<Upload>,
    too_large: bool,
}

impl ActionForm {
    fn of(fields: ActionFields, uploads: Vec<Upload>, too_large: bool) -> ActionForm {
        ActionForm {
            version: fields.version.parse().unwrap_or(usize::MAX),
            message: fields.message,
            department: fields.department,
            external_body: fields.external_body,
            outcome: fields.outcome,
            contact: fields.contact,
            documents: fields.documents,
            protocol: (
                fields.protocol_number,
                fields.protocol_date,
                fields.protocol_register,
            ),
            uploads,
            too_large,
        }
    }
}

/// The answer's form is multipart (it may carry files), the others plain: each checked as such.
impl<S> FromRequest<S> for ActionForm
where
    S: Send + Sync,
    CsrfKey: FromRef<S>,
{
    type Rejection = Response;

    async fn from_request(
        request: Request,
        state: &S,
    ) -> std::result::Result<ActionForm, Response> {
        let multipart = request
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|kind| kind.as_bytes().starts_with(b"multipart/form-data"));
        if multipart {
            let sent = CsrfMultipart::<ActionFields>::from_request(request, state)
                .await
                .map_err(IntoResponse::into_response)?;
            return Ok(ActionForm::of(sent.form, sent.uploads, sent.too_large));
        }
        let CsrfForm(fields) = CsrfForm::<ActionFields>::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(ActionForm::of(fields, Vec::new(), false))
    }
}

pub async fn act(
    Desk { app, language }: Desk,
    signed_in: SignedIn,
    Path((id, action)): Path<(String, String)>,
    form: ActionForm,
) -> Result<Response> {
    let visible = visible_to(&app, &signed_in.staff, &id).await?;
    let refuse = |notice: &'static str, status: StatusCode| {
        let (app, signed_in, visible) = (&app, &signed_in, &visible);
        async move {
            let mut response =
                render(app, language, signed_in, visible, Some(notice), None).await?;
            *response.status_mut() = status;
            Ok::<Response, AppError>(response)
        }
    };
    // The person decided on the version they saw: if the request changed since, that is what
    // they are told, before anything is decided on a state they have not seen.
    let seen = form.version;
    if seen != visible.events.len() {
        return refuse("request.changed", StatusCode::CONFLICT).await;
    }
    let Some(chosen) = action_of(&action) else {
        return Err(AppError::NotFound);
    };
    let capacity = signed_in.staff.capacity();
    if !visible.state.allowed_actions(&capacity).contains(&chosen) {
        return Err(AppError::Forbidden);
    }
    let command = match command_for(&app, &signed_in, &visible, &action, form).await? {
        Ok(command) => command,
        Err(notice) => return refuse(notice, StatusCode::UNPROCESSABLE_ENTITY).await,
    };
    let metadata = event_store::metadata(
        &format!("staff:{}", signed_in.staff.id),
        "back_office",
        &Uuid::new_v4().to_string(),
    );
    // The aggregate checks the action against the capacity again, on the events it loads.
    let command = RequestCommand::AsStaff {
        capacity,
        command: Box::new(command),
    };
    let appended = app
        .requests
        .execute_seen(&visible.aggregate_id, seen, command, metadata)
        .await;
    match appended {
        Ok(()) => {}
        Err(CommandError::Conflict) => {
            return refuse("request.changed", StatusCode::CONFLICT).await
        }
        Err(CommandError::Rejected(_)) => {
            return refuse("request.not_allowed", StatusCode::CONFLICT).await
        }
        Err(error) => return Err(AppError::internal(error)),
    }
    app.events_appended.notify_waiters();
    tracing::info!(aggregate_id = visible.aggregate_id, staff_id = %signed_in.staff.id, action, "request action");
    Ok(Redirect::to(&format!("/ufficio/richieste/{}", visible.aggregate_id)).into_response())
}

/// Parses the form for `action` into a command, or names what is missing.
async fn command_for(
    app: &AppState,
    signed_in: &SignedIn,
    visible: &Visible,
    action: &str,
    form: ActionForm,
) -> Result<Result<RequestCommand, &'static str>> {
    let by = signed_in.staff.id;
    let at = app.clock.now();
    let text = form.message.trim();
    if text.chars().count() > MESSAGE_MAX {
        return Ok(Err("request.error.message_long"));
    }
    let seal = |text: String| {
        let pool = app.pool.clone();
        let key_id = visible.key_id();
        async move { personal::seal_text(&pool, key_id, &text).await }
    };
    let needs_text = matches!(
        action,
        "chiedi" | "rispondi" | "reindirizza" | "restituisci" | "nota"
    );
    if needs_text && text.is_empty() {
        return Ok(Err("request.error.message_required"));
    }
    let sealed = if text.is_empty() {
        None
    } else {
        Some(seal(text.to_string()).await?.ok_or(AppError::Gone)?)
    };
    let department = visible.state.department().unwrap_or_default();
    Ok(Ok(match action {
        "valuta" => RequestCommand::TakeIntoEvaluation { by, at },
        "chiedi" => RequestCommand::AskForInformation {
            by,
            at,
            message: sealed.expect("checked"),
        },
        "rispondi" => {
            let (prepared, errors) = prepare_uploads(form.uploads, form.too_large).await?;
            if !errors.is_empty() {
                return Ok(Err("request.error.attachments"));
            }
            store_attachments(&app.pool, &prepared).await?;
            let mut attachments = attachment_records(&prepared);
            for (attachment, file) in attachments.iter_mut().zip(&prepared) {
                attachment.sealed_name = Some(
                    personal::seal_text(&app.pool, visible.key_id(), &file.name)
                        .await?
                        .ok_or(AppError::Gone)?,
                );
            }
            attachments.extend(
                crate::documents::as_attachments(&app.pool, app.organisation_id, &form.documents)
                    .await?,
            );
            RequestCommand::Answer {
                by,
                at,
                message: sealed.expect("checked"),
                attachments,
            }
        }
        "nota" => RequestCommand::AddNote {
            by,
            at,
            note: sealed.expect("checked"),
        },
        "prendi" => RequestCommand::TakeCharge { by, at, department },
        "protocollo" => {
            let (number, date, register) = &form.protocol;
            let (number, register) = (number.trim(), register.trim());
            let date = chrono::NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d").ok();
            match date {
                Some(date)
                    if (1..=50).contains(&number.chars().count())
                        && (1..=100).contains(&register.chars().count())
                        && date <= sportello_domain::rome_date(at) =>
                {
                    RequestCommand::RecordProtocol {
                        by,
                        at,
                        number: number.to_string(),
                        date,
                        register: register.to_string(),
                    }
                }
                _ => return Ok(Err("request.error.protocol")),
            }
        }
        "contatto" => match sportello_domain::Contact::parse(&form.contact) {
            Some(to) => RequestCommand::SwitchContact { by, at, to },
            None => return Ok(Err("request.error.contact")),
        },
        "restituisci" => RequestCommand::HandBack {
            by,
            at,
            department,
            note: sealed.expect("checked"),
        },
        "riapri" => RequestCommand::Reopen {
            by,
            at,
            reason: sealed,
        },
        "inoltra" => {
            let found =
                directory::find_department(&app.pool, app.organisation_id, &form.department)
                    .await?;
            let Some(target) = found.filter(|d| d.active && !form.department.is_empty()) else {
                return Ok(Err("request.error.department"));
            };
            RequestCommand::Forward {
                by,
                at,
                department: target.id,
                note: sealed,
            }
        }
        "reindirizza" => {
            let bodies = directory::external_bodies(&app.pool, app.organisation_id).await?;
            let Some(body) = bodies
                .into_iter()
                .find(|b| b.active && b.id.to_string() == form.external_body)
            else {
                return Ok(Err("request.error.external_body"));
            };
            RequestCommand::Redirect {
                by,
                at,
                external_body: body.id,
                message: sealed.expect("checked"),
            }
        }
        "chiudi" => {
            let Some(outcome) =
                Outcome::parse(&form.outcome).filter(|o| *o != Outcome::NotCompetent)
            else {
                return Ok(Err("request.error.outcome"));
            };
            RequestCommand::Close { by, at, outcome }
        }
        _ => return Err(AppError::NotFound),
    }))
}
