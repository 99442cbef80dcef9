//! The back office's actions through the API: forward, take charge, answer, ask the citizen,
//! close, add a note. Each is one command to the aggregate, as on the request page: the client
//! acts as itself (`by` is its id, the actor `api:<id>`), in the capacity its departments give
//! it, on the version it saw (`If-Match`, else 428; a stale one is 412 and records nothing).

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use sportello_domain::{Action, Capacity, Outcome, RequestCommand, Sealed};
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::Caller;
use super::body::JsonBody;
use super::clients::{Client, Scope};
use super::problem::ApiError;

use crate::backoffice::{visible_within, Visible};
use crate::directory;
use crate::event_store::{self, CommandError};
use crate::personal;
use crate::state::AppState;

const MESSAGE_MAX: usize = 8000;

/// The version the client saw, from `If-Match: "N"` (a weak tag is read the same).
fn version_seen(headers: &HeaderMap) -> Result<usize, ApiError> {
    let value = headers
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .ok_or(ApiError::VersionRequired)?;
    let tag = value.strip_prefix("W/").unwrap_or(value);
    tag.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .and_then(|t| t.parse().ok())
        .ok_or(ApiError::VersionRequired)
}

/// The capacity a client acts in: limited to departments, their referent; otherwise the URP
/// and the referent of every department.
async fn capacity_of(app: &AppState, client: &Client) -> Result<Capacity, ApiError> {
    if !client.departments.is_empty() {
        return Ok(Capacity {
            urp: false,
            departments: client.departments.clone(),
        });
    }
    let all = directory::departments(&app.pool, client.organisation_id).await?;
    Ok(Capacity {
        urp: true,
        departments: all.into_iter().map(|d| d.id).collect(),
    })
}

/// Text the client sent, checked and sealed under the request's key.
async fn sealed(
    app: &AppState,
    visible: &Visible,
    field: &str,
    text: Option<&str>,
    required: bool,
) -> Result<Option<Sealed>, ApiError> {
    let text = text.map(str::trim).unwrap_or("");
    if text.is_empty() {
        return if required {
            Err(ApiError::invalid(field, "api.error.required"))
        } else {
            Ok(None)
        };
    }
    if text.chars().count() > MESSAGE_MAX {
        return Err(ApiError::invalid(field, "api.error.too_long"));
    }
    let sealed = personal::seal_text(&app.pool, visible.key_id(), text)
        .await
        .map_err(ApiError::internal)?;
    // The request's key is gone (its data erased): nothing more is written about it.
    sealed.map(Some).ok_or(ApiError::NotAllowed)
}

/// Runs one action: access, version, capacity, then the command through the aggregate.
async fn act(
    app: &AppState,
    caller: &Caller,
    id: &str,
    headers: &HeaderMap,
    action: Action,
    build: impl AsyncFnOnce(&Visible, Uuid) -> Result<RequestCommand, ApiError>,
) -> Result<Response, ApiError> {
    caller.needs(Scope::RequestsWrite)?;
    let client = &caller.0;
    let visible = visible_within(app, client.organisation_id, |d| client.may_see(d), id).await?;
    let seen = version_seen(headers)?;
    if seen != visible.events.len() {
        return Err(ApiError::Stale {
            current: visible.events.len(),
        });
    }
    let capacity = capacity_of(app, client).await?;
    if !visible.state.allowed_actions(&capacity).contains(&action) {
        return Err(ApiError::NotAllowed);
    }
    let command = build(&visible, client.id).await?;
    let metadata = event_store::metadata(
        &format!("api:{}", client.id),
        "api",
        &Uuid::new_v4().to_string(),
    );
    let command = RequestCommand::AsStaff {
        capacity,
        command: Box::new(command),
    };
    match app
        .requests
        .execute_seen(&visible.aggregate_id, seen, command, metadata)
        .await
    {
        Ok(()) => {}
        Err(CommandError::Conflict) => {
            let now = event_store::recorded(&app.pool, &visible.aggregate_id)
                .await
                .map_err(ApiError::internal)?;
            return Err(ApiError::Stale { current: now.len() });
        }
        Err(CommandError::Rejected(_)) => return Err(ApiError::NotAllowed),
        Err(error) => return Err(ApiError::internal(error)),
    }
    app.events_appended.notify_waiters();
    tracing::info!(aggregate_id = %visible.aggregate_id, client_id = %client.id, ?action, "API action");
    // The answer names the request's new version and status only: no personal data (a client
    // may write without `requests:read`, and an idempotent answer is kept for a day), and it
    // holds even when the action took the request out of the client's departments.
    let now = event_store::recorded(&app.pool, &visible.aggregate_id)
        .await
        .map_err(ApiError::internal)?;
    let version = now.len();
    let done = Done {
        id: visible.aggregate_id.clone(),
        reference: reference_of(&visible),
        version,
        status: event_store::fold(&now).status().code().to_string(),
    };
    let mut response = Json(done).into_response();
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{version}\"")) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    Ok(response)
}

/// What an action answers: the request's new version (its ETag too) and status.
#[derive(Debug, Serialize, ToSchema)]
pub struct Done {
    id: String,
    reference: String,
    version: usize,
    status: String,
}

fn reference_of(visible: &Visible) -> String {
    match &visible.received {
        sportello_domain::RequestEvent::RequestReceived { reference, .. } => reference.to_string(),
        _ => String::new(),
    }
}

/// Where to forward, with an optional note for the department.
#[derive(Debug, Deserialize, ToSchema)]
pub struct Forwarding {
    /// The department's id.
    #[schema(format = Uuid)]
    department: String,
    #[schema(max_length = 8000)]
    note: Option<String>,
}

/// A text for the citizen (an answer, a question) or for staff (a note).
#[derive(Debug, Deserialize, ToSchema)]
pub struct Message {
    #[schema(min_length = 1, max_length = 8000)]
    message: String,
}

fn outcomes() -> utoipa::openapi::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(
            Outcome::ALL
                .into_iter()
                .filter(|o| *o != Outcome::NotCompetent)
                .map(Outcome::code),
        ))
        .build()
}

/// How the request ends: answered, withdrawn or duplicate.
#[derive(Debug, Deserialize, ToSchema)]
pub struct Closing {
    #[schema(schema_with = outcomes)]
    outcome: String,
}

/// Forward to a department.
#[utoipa::path(post, path = "/api/v1/requests/{id}/forward", tag = "actions",
    params(("id" = String, Path, description = "The request's id")),
    request_body = Forwarding,
    responses((status = 200, description = "Done: the request as it is now", body = Done)),
    security(("bearer" = ["requests:write"])))]
pub async fn forward(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<Forwarding>,
) -> Result<Response, ApiError> {
    act(
        &app,
        &caller,
        &id,
        &headers,
        Action::Forward,
        async |visible, by| {
            let found = directory::find_department(
                &app.pool,
                caller.0.organisation_id,
                body.department.trim(),
            )
            .await?;
            let Some(target) = found.filter(|d| d.active) else {
                return Err(ApiError::invalid("department", "api.error.unknown_value"));
            };
            let note = sealed(&app, visible, "note", body.note.as_deref(), false).await?;
            Ok(RequestCommand::Forward {
                by,
                at: app.clock.now(),
                department: target.id,
                note,
            })
        },
    )
    .await
}

/// Take charge of a request forwarded to one's department (presa in carico).
#[utoipa::path(post, path = "/api/v1/requests/{id}/take-charge", tag = "actions",
    params(("id" = String, Path, description = "The request's id")),
    responses((status = 200, description = "Done: the request as it is now", body = Done)),
    security(("bearer" = ["requests:write"])))]
pub async fn take_charge(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    act(
        &app,
        &caller,
        &id,
        &headers,
        Action::TakeCharge,
        async |visible, by| {
            Ok(RequestCommand::TakeCharge {
                by,
                at: app.clock.now(),
                department: visible.state.department().unwrap_or_default(),
            })
        },
    )
    .await
}

/// Answer the citizen.
#[utoipa::path(post, path = "/api/v1/requests/{id}/answer", tag = "actions",
    params(("id" = String, Path, description = "The request's id")),
    request_body = Message,
    responses((status = 200, description = "Done: the request as it is now", body = Done)),
    security(("bearer" = ["requests:write"])))]
pub async fn answer(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<Message>,
) -> Result<Response, ApiError> {
    act(
        &app,
        &caller,
        &id,
        &headers,
        Action::Answer,
        async |visible, by| {
            let message = sealed(&app, visible, "message", Some(&body.message), true).await?;
            Ok(RequestCommand::Answer {
                by,
                at: app.clock.now(),
                message: message.expect("required"),
                attachments: Vec::new(),
            })
        },
    )
    .await
}

/// Ask the citizen for more information (the answer's clock pauses until they reply).
#[utoipa::path(post, path = "/api/v1/requests/{id}/ask", tag = "actions",
    params(("id" = String, Path, description = "The request's id")),
    request_body = Message,
    responses((status = 200, description = "Done: the request as it is now", body = Done)),
    security(("bearer" = ["requests:write"])))]
pub async fn ask(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<Message>,
) -> Result<Response, ApiError> {
    act(
        &app,
        &caller,
        &id,
        &headers,
        Action::AskForInformation,
        async |visible, by| {
            let message = sealed(&app, visible, "message", Some(&body.message), true).await?;
            Ok(RequestCommand::AskForInformation {
                by,
                at: app.clock.now(),
                message: message.expect("required"),
            })
        },
    )
    .await
}

/// Close the request with its outcome.
#[utoipa::path(post, path = "/api/v1/requests/{id}/close", tag = "actions",
    params(("id" = String, Path, description = "The request's id")),
    request_body = Closing,
    responses((status = 200, description = "Done: the request as it is now", body = Done)),
    security(("bearer" = ["requests:write"])))]
pub async fn close(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<Closing>,
) -> Result<Response, ApiError> {
    act(
        &app,
        &caller,
        &id,
        &headers,
        Action::Close,
        async |_, by| {
            let Some(outcome) =
                Outcome::parse(body.outcome.trim()).filter(|o| *o != Outcome::NotCompetent)
            else {
                return Err(ApiError::invalid("outcome", "api.error.unknown_value"));
            };
            Ok(RequestCommand::Close {
                by,
                at: app.clock.now(),
                outcome,
            })
        },
    )
    .await
}

/// Add an internal note, seen by staff only.
#[utoipa::path(post, path = "/api/v1/requests/{id}/notes", tag = "actions",
    params(("id" = String, Path, description = "The request's id")),
    request_body = Message,
    responses((status = 200, description = "Done: the request as it is now", body = Done)),
    security(("bearer" = ["requests:write"])))]
pub async fn note(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<Message>,
) -> Result<Response, ApiError> {
    act(
        &app,
        &caller,
        &id,
        &headers,
        Action::AddNote,
        async |visible, by| {
            let note = sealed(&app, visible, "message", Some(&body.message), true).await?;
            Ok(RequestCommand::AddNote {
                by,
                at: app.clock.now(),
                note: note.expect("required"),
            })
        },
    )
    .await
}

/// The protocollo informatico's registration of a request.
#[derive(Debug, Deserialize, ToSchema)]
pub struct Registration {
    #[schema(min_length = 1, max_length = 50)]
    number: String,
    /// The registration's day (YYYY-MM-DD), not in the future.
    #[schema(value_type = String, format = Date)]
    date: String,
    #[schema(min_length = 1, max_length = 100)]
    register: String,
}

/// Record the protocollo informatico's registration (once per request): shown on the timeline,
/// on the citizen's page and in the inbox's "not yet protocolled" filter.
#[utoipa::path(post, path = "/api/v1/requests/{id}/protocol", tag = "actions",
    params(("id" = String, Path, description = "The request's id")),
    request_body = Registration,
    responses((status = 200, description = "Done: the request as it is now", body = Done)),
    security(("bearer" = ["requests:write"])))]
pub async fn protocol(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<Registration>,
) -> Result<Response, ApiError> {
    act(
        &app,
        &caller,
        &id,
        &headers,
        Action::RecordProtocol,
        async |_, by| {
            let at = app.clock.now();
            let mut faults = Vec::new();
            let number = body.number.trim();
            if !(1..=50).contains(&number.chars().count()) {
                faults.push(("number".to_string(), "api.error.length", None));
            }
            let register = body.register.trim();
            if !(1..=100).contains(&register.chars().count()) {
                faults.push(("register".to_string(), "api.error.length", None));
            }
            let date = chrono::NaiveDate::parse_from_str(body.date.trim(), "%Y-%m-%d")
                .ok()
                .filter(|d| *d <= sportello_domain::rome_date(at));
            if date.is_none() {
                faults.push(("date".to_string(), "api.error.date", None));
            }
            match date {
                Some(date) if faults.is_empty() => Ok(RequestCommand::RecordProtocol {
                    by,
                    at,
                    number: number.to_string(),
                    date,
                    register: register.to_string(),
                }),
                _ => Err(ApiError::Invalid(faults)),
            }
        },
    )
    .await
}
