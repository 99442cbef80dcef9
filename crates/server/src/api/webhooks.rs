//! Webhook endpoints through the API (`webhooks:manage`): what administrators do on their page —
//! list, register (the secret in the answer, this once), disable or enable, read the delivery
//! log, send a delivery again. An endpoint registered by a client names the client as its maker.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sportello_domain::RequestEvent;
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::Caller;
use super::body::JsonBody;
use super::clients::Scope;
use super::problem::{ApiError, Fault};
use crate::state::AppState;
use crate::webhooks::{self, NewEndpoint};

/// An endpoint as registered.
#[derive(Debug, Serialize, ToSchema)]
pub struct Webhook {
    id: String,
    url: String,
    /// The event types it gets; empty: every type.
    event_types: Vec<String>,
    department: Option<String>,
    /// Whether payloads carry the citizen's personal data.
    personal: bool,
    active: bool,
    disabled_at: Option<DateTime<Utc>>,
    disabled_reason: Option<String>,
    created_at: DateTime<Utc>,
    /// The signing secret: in the answer that registers the endpoint only.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

impl Webhook {
    fn of(endpoint: webhooks::Endpoint, secret: Option<String>) -> Webhook {
        Webhook {
            event_types: endpoint
                .event_types
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            id: endpoint.id,
            url: endpoint.url,
            department: endpoint.department_id,
            personal: endpoint.personal,
            active: endpoint.active,
            disabled_at: endpoint.disabled_at,
            disabled_reason: endpoint.disabled_reason,
            created_at: endpoint.created_at,
            secret,
        }
    }
}

/// A new endpoint.
#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(default)]
pub struct NewWebhook {
    /// An https:// address.
    #[schema(max_length = 500)]
    url: String,
    /// Event types from the catalogue; none: every type.
    event_types: Vec<String>,
    /// A department's id: only its requests.
    department: Option<String>,
    personal: bool,
}

/// Turning an endpoint on or off.
#[derive(Debug, Deserialize, ToSchema)]
pub struct WebhookState {
    active: bool,
}

/// One delivery of the log.
#[derive(Debug, Serialize, ToSchema)]
pub struct Delivery {
    /// The `webhook-id` it is sent with.
    id: String,
    event_type: String,
    reference: Option<String>,
    /// pending, delivered or failed.
    status: String,
    attempts: i32,
    last_status: Option<i16>,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
    delivered_at: Option<DateTime<Utc>>,
}

/// The registered endpoints, newest first.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks",
    responses((status = 200, description = "The endpoints", body = Vec<Webhook>)),
    security(("bearer" = ["webhooks:manage"])))]
pub async fn list(
    State(app): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Webhook>>, ApiError> {
    caller.needs(Scope::WebhooksManage)?;
    let all = webhooks::all_endpoints(&app.pool, caller.0.organisation_id).await?;
    Ok(Json(
        all.into_iter().map(|e| Webhook::of(e, None)).collect(),
    ))
}

/// Registers an endpoint; the answer carries its signing secret, this once.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks",
    request_body = NewWebhook,
    responses((status = 201, description = "Registered", body = Webhook)),
    security(("bearer" = ["webhooks:manage"])))]
pub async fn create(
    State(app): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<NewWebhook>,
) -> Result<Response, ApiError> {
    caller.needs(Scope::WebhooksManage)?;
    let client = &caller.0;
    let mut faults: Vec<Fault> = Vec::new();
    let url = body.url.trim().to_string();
    if !webhooks::acceptable(&app, &url) {
        faults.push(("url".into(), "webhooks.error.url", None));
    }
    let mut event_types = body.event_types.clone();
    event_types.sort();
    event_types.dedup();
    if event_types
        .iter()
        .any(|t| !RequestEvent::NAMES.contains(&t.as_str()))
    {
        faults.push(("event_types".into(), "webhooks.error.events", None));
    }
    // Personal data go only where the client itself may read them.
    if body.personal && !client.has(Scope::RequestsRead) {
        faults.push(("personal".into(), "webhooks.error.personal", None));
    }
    let department = match body
        .department
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        None => None,
        Some(chosen) => {
            let known = crate::directory::departments(&app.pool, client.organisation_id).await?;
            let found = known
                .into_iter()
                .find(|d| d.id.to_string() == chosen)
                .map(|d| d.id);
            if found.is_none() {
                faults.push(("department".into(), "webhooks.error.department", None));
            }
            found
        }
    };
    if !faults.is_empty() {
        return Err(ApiError::Invalid(faults));
    }
    let new = NewEndpoint {
        url,
        event_types,
        department,
        personal: body.personal,
    };
    let (id, secret) = webhooks::create_endpoint(
        &app.pool,
        client.organisation_id,
        client.id,
        &new,
        app.clock.now(),
    )
    .await?;
    let endpoint = webhooks::find_endpoint(&app.pool, client.organisation_id, &id.to_string())
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok((
        StatusCode::CREATED,
        Json(Webhook::of(endpoint, Some(secret))),
    )
        .into_response())
}

/// Disables an endpoint, or enables it again (its pending deliveries resume).
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/state", tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint's id")),
    request_body = WebhookState,
    responses(
        (status = 200, description = "The endpoint as it is now", body = Webhook),
        (status = 404, description = "No such endpoint", body = super::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["webhooks:manage"])))]
pub async fn state(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<WebhookState>,
) -> Result<Json<Webhook>, ApiError> {
    caller.needs(Scope::WebhooksManage)?;
    let organisation = caller.0.organisation_id;
    if Uuid::parse_str(&id).is_err()
        || !webhooks::set_active(&app.pool, organisation, &id, body.active, app.clock.now()).await?
    {
        return Err(ApiError::NotFound);
    }
    let endpoint = webhooks::find_endpoint(&app.pool, organisation, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(Webhook::of(endpoint, None)))
}

/// The endpoint's latest hundred deliveries, newest first.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint's id")),
    responses(
        (status = 200, description = "The deliveries", body = Vec<Delivery>),
        (status = 404, description = "No such endpoint", body = super::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["webhooks:manage"])))]
pub async fn deliveries(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<Delivery>>, ApiError> {
    caller.needs(Scope::WebhooksManage)?;
    let endpoint = webhooks::find_endpoint(&app.pool, caller.0.organisation_id, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let list = webhooks::deliveries(&app.pool, &endpoint.id).await?;
    Ok(Json(
        list.into_iter()
            .map(|d| Delivery {
                id: d.id,
                event_type: d.event_type,
                reference: d.reference,
                status: d.status,
                attempts: d.attempts,
                last_status: d.last_status,
                last_error: d.last_error,
                created_at: d.created_at,
                delivered_at: d.delivered_at,
            })
            .collect(),
    ))
}

/// Sends a delivery again, with a new day of retries.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/deliveries/{delivery}/resend", tag = "webhooks",
    params(
        ("id" = String, Path, description = "The endpoint's id"),
        ("delivery" = String, Path, description = "The delivery's id (its webhook-id)"),
    ),
    responses(
        (status = 202, description = "Queued again"),
        (status = 404, description = "No such endpoint or delivery", body = super::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["webhooks:manage"])))]
pub async fn resend(
    State(app): State<AppState>,
    caller: Caller,
    Path((id, delivery)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    caller.needs(Scope::WebhooksManage)?;
    let endpoint = webhooks::find_endpoint(&app.pool, caller.0.organisation_id, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if !webhooks::send_again(&app.pool, &endpoint.id, &delivery, app.clock.now()).await? {
        return Err(ApiError::NotFound);
    }
    Ok(StatusCode::ACCEPTED)
}
