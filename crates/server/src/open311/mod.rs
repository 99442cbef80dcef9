//! Open311 GeoReport v2 (`/open311/v2`): discovery, the services (the Comune's topics, the kind
//! of request as an attribute), filing a request (`POST requests`, with an API client's token as
//! `api_key`), reading requests (`GET requests`, `GET requests/{id}` — the reference is the
//! `service_request_id`), and `GET tokens/{token}`; JSON or XML by the path's extension; the
//! specification's error list. `jurisdiction_id`, when given, must name this organisation (the
//! host of its public address). Individual requests are read only with a key: see docs/api.md.

mod format;
mod requests;
mod services;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use std::collections::HashMap;

pub use format::{split, Format};

use crate::api::{client_by_token, Client, Scope};
use crate::state::AppState;

/// Query or form parameters, as sent (a repeated key keeps its last value).
pub type Params = HashMap<String, String>;

/// The organisation's jurisdiction id: its public host.
pub fn jurisdiction(app: &AppState) -> String {
    url::Url::parse(&app.config.public_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default()
}

/// A given `jurisdiction_id` must be this organisation's.
fn wrong_jurisdiction(app: &AppState, params: &Params, format: Format) -> Option<Response> {
    match params
        .get("jurisdiction_id")
        .map(|j| j.trim())
        .filter(|j| !j.is_empty())
    {
        Some(given) if !given.eq_ignore_ascii_case(&jurisdiction(app)) => Some(format::error(
            format,
            StatusCode::NOT_FOUND,
            "jurisdiction_id not found: this server serves one jurisdiction (see discovery)",
        )),
        _ => None,
    }
}

/// The client whose token is the `api_key`, with `scope`, within its allowance.
async fn client(
    app: &AppState,
    params: &Params,
    scope: Scope,
    format: Format,
) -> Result<Client, Box<Response>> {
    let refused = |status, text: &str| Box::new(format::error(format, status, text));
    let key = params.get("api_key").map(|k| k.trim()).unwrap_or("");
    if key.is_empty() || key.len() > 200 {
        return Err(refused(
            StatusCode::FORBIDDEN,
            "api_key required: an API client's token",
        ));
    }
    let found = client_by_token(&app.pool, key)
        .await
        .map_err(|_| refused(StatusCode::INTERNAL_SERVER_ERROR, "internal error"))?
        .filter(|c| c.organisation_id == app.organisation_id);
    let Some(client) = found else {
        return Err(refused(StatusCode::FORBIDDEN, "api_key not valid"));
    };
    if !client.has(scope) {
        return Err(refused(
            StatusCode::FORBIDDEN,
            &format!("api_key lacks the permission {}", scope.code()),
        ));
    }
    if app.api_calls.check(client.id).is_err() {
        return Err(refused(
            StatusCode::TOO_MANY_REQUESTS,
            "too many calls from this api_key: retry in a minute",
        ));
    }
    Ok(client)
}

/// `/open311/v2/{discovery|services|requests}.{json|xml}`
async fn top_get(
    State(app): State<AppState>,
    Path(file): Path<String>,
    Query(params): Query<Params>,
) -> Response {
    let Some((name, format)) = split(&file) else {
        return format::error(
            Format::Json,
            StatusCode::NOT_FOUND,
            "not found: use .json or .xml",
        );
    };
    if let Some(refused) = wrong_jurisdiction(&app, &params, format) {
        return refused;
    }
    match name {
        "discovery" => services::discovery(&app, format),
        "services" => services::list(&app, format).await,
        "requests" => requests::list(&app, &params, format).await,
        _ => format::error(format, StatusCode::NOT_FOUND, "not found"),
    }
}

/// `POST /open311/v2/requests.{json|xml}`, form-encoded as the specification shows.
async fn top_post(
    State(app): State<AppState>,
    Path(file): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let Some(("requests", format)) = split(&file) else {
        return format::error(Format::Json, StatusCode::NOT_FOUND, "not found");
    };
    let form = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return format::error(
            format,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send application/x-www-form-urlencoded, as GeoReport v2 says",
        );
    }
    let params: Params = form_urlencoded::parse(&body).into_owned().collect();
    if let Some(refused) = wrong_jurisdiction(&app, &params, format) {
        return refused;
    }
    requests::file(&app, &params, format).await
}

/// `/open311/v2/{services|requests|tokens}/{id}.{json|xml}`
async fn one(
    State(app): State<AppState>,
    Path((collection, file)): Path<(String, String)>,
    Query(params): Query<Params>,
) -> Response {
    let Some((id, format)) = split(&file) else {
        return format::error(
            Format::Json,
            StatusCode::NOT_FOUND,
            "not found: use .json or .xml",
        );
    };
    if let Some(refused) = wrong_jurisdiction(&app, &params, format) {
        return refused;
    }
    match collection.as_str() {
        "services" => services::definition(&app, id, format).await,
        "requests" => requests::one(&app, &params, id, format).await,
        "tokens" => requests::token(&app, &params, id, format).await,
        _ => format::error(format, StatusCode::NOT_FOUND, "not found"),
    }
}

pub fn routes() -> axum::Router<AppState> {
    use axum::routing::get;
    axum::Router::new()
        .route("/open311/v2/{file}", get(top_get).post(top_post))
        .route("/open311/v2/{collection}/{file}", get(one))
        .route(
            "/open311/{*rest}",
            axum::routing::any(|| async {
                format::error(
                    Format::Json,
                    StatusCode::NOT_FOUND,
                    "not found: see /open311/v2/discovery.json",
                )
            }),
        )
        .method_not_allowed_fallback(|| async {
            format::error(
                Format::Json,
                StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed here",
            )
        })
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
}
