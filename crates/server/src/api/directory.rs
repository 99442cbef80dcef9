//! The organisation's directory through the API: topics (what a request is about), departments
//! (where it is forwarded) and other bodies (where a citizen is redirected). Any valid client
//! may read them: they name no person.

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Caller;
use super::problem::ApiError;
use crate::directory;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct Topic {
    code: String,
    name_it: String,
    name_en: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Department {
    id: String,
    name: String,
    active: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Body {
    id: String,
    name: String,
    /// What the body deals with.
    handles: String,
    address: String,
    phone: String,
    email: String,
    website: String,
    hours: String,
    active: bool,
}

/// The topics a request can be filed under, in the form's order.
#[utoipa::path(get, path = "/api/v1/topics", tag = "directory",
    responses((status = 200, description = "The active topics", body = Vec<Topic>)),
    security(("bearer" = [])))]
pub async fn topics(
    State(app): State<AppState>,
    _caller: Caller,
) -> Result<Json<Vec<Topic>>, ApiError> {
    let topics = directory::active_topics(&app.pool, app.organisation_id).await?;
    Ok(Json(
        topics
            .into_iter()
            .map(|t| Topic {
                code: t.code,
                name_it: t.name_it,
                name_en: t.name_en,
            })
            .collect(),
    ))
}

/// The departments, by name.
#[utoipa::path(get, path = "/api/v1/departments", tag = "directory",
    responses((status = 200, description = "The departments", body = Vec<Department>)),
    security(("bearer" = [])))]
pub async fn departments(
    State(app): State<AppState>,
    _caller: Caller,
) -> Result<Json<Vec<Department>>, ApiError> {
    let departments = directory::departments(&app.pool, app.organisation_id).await?;
    Ok(Json(
        departments
            .into_iter()
            .map(|d| Department {
                id: d.id.to_string(),
                name: d.name,
                active: d.active,
            })
            .collect(),
    ))
}

/// The other bodies a request can be redirected to, by name.
#[utoipa::path(get, path = "/api/v1/bodies", tag = "directory",
    responses((status = 200, description = "The other bodies", body = Vec<Body>)),
    security(("bearer" = [])))]
pub async fn bodies(
    State(app): State<AppState>,
    _caller: Caller,
) -> Result<Json<Vec<Body>>, ApiError> {
    let bodies = directory::external_bodies(&app.pool, app.organisation_id).await?;
    Ok(Json(
        bodies
            .into_iter()
            .map(|b| Body {
                id: b.id.to_string(),
                name: b.name,
                handles: b.handles,
                address: b.address,
                phone: b.phone,
                email: b.email,
                website: b.website,
                hours: b.hours,
                active: b.active,
            })
            .collect(),
    ))
}
