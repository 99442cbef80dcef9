//! `Idempotency-Key` on every POST of the API: the first answer is stored with the key (per
//! client) for 24 hours and replayed to a retry of the same request; the same key with another
//! request is refused (422); a retry that arrives while the first is still being answered — on
//! this copy or another — waits for that answer. Answers that say "try again" (a 5xx, a 429, a
//! 401) are not kept, so the retry runs.

use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::clients::token_hash;
use super::problem::{finish, ApiError};
use crate::state::AppState;
use crate::web::i18n;

/// How long a key answers for.
const KEPT_HOURS: i64 = 24;
/// How long a retry waits for the first request's answer before it is told to come back.
const WAIT: Duration = Duration::from_secs(30);
/// A key still without an answer after this was abandoned (the first caller went away or its
/// copy stopped mid-answer): a retry takes it over.
const ABANDONED_SECONDS: i64 = 120;

/// The largest body the API reads (a request with five attachments of 10 MB, base64-encoded).
pub const BODY_LIMIT: usize = crate::web::upload::MAX_ACCEPTED_BYTES / 3 * 4 + 1024 * 1024;

type Stored = (
    String,
    DateTime<Utc>,
    Option<i16>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<Vec<u8>>,
);

pub async fn once(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let language = i18n::from_accept_language(request.headers());
    let key = request
        .headers()
        .get("idempotency-key")
        .map(|value| value.to_str().map(str::to_string));
    let (Method::POST, Some(key)) = (request.method().clone(), key) else {
        return next.run(request).await;
    };
    let key = match key {
        Ok(key)
            if (1..=255).contains(&key.len()) && key.bytes().all(|b| (0x20..0x7f).contains(&b)) =>
        {
            key
        }
        _ => {
            let refused = ApiError::invalid("Idempotency-Key", "api.error.idempotency_key");
            return finish(language, refused.into_response());
        }
    };
    let Some(token) = bearer(&request) else {
        // Without a token the call is refused anyway; nothing to remember.
        return next.run(request).await;
    };
    // Nothing is read nor stored for a token that opens nothing: the call is refused as it is.
    match super::clients::by_token(&app.pool, &token).await {
        Ok(Some(client)) if client.organisation_id == app.organisation_id => {}
        Ok(_) => return next.run(request).await,
        Err(error) => return finish(language, ApiError::internal(error).into_response()),
    }
    let scope = token_hash(&token);
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, BODY_LIMIT).await else {
        return finish(language, ApiError::TooLarge.into_response());
    };
    let mut hasher = Sha256::new();
    hasher.update(parts.method.as_str());
    hasher.update([0]);
    hasher.update(parts.uri.path_and_query().map_or("", |p| p.as_str()));
    hasher.update([0]);
    hasher.update(
        parts
            .headers
            .get(header::CONTENT_TYPE)
            .map_or(&b""[..], |v| v.as_bytes()),
    );
    hasher.update([0]);
    // The version the client saw is part of the request: a corrected If-Match is another one.
    hasher.update(
        parts
            .headers
            .get(header::IF_MATCH)
            .map_or(&b""[..], |v| v.as_bytes()),
    );
    hasher.update([0]);
    hasher.update(&bytes);
    let fingerprint = hex::encode(hasher.finalize());
    match claim(&app, &scope, &key, &fingerprint).await {
        Ok(Claim::Ours) => {}
        Ok(Claim::Answered(response)) => return response,
        Ok(Claim::Refused(error)) => return finish(language, error.into_response()),
        Err(error) => return finish(language, ApiError::internal(error).into_response()),
    }
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let status = response.status();
    let retry = status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::UNAUTHORIZED;
    if retry {
        let _ = forget(&app, &scope, &key).await;
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, usize::MAX).await else {
        let _ = forget(&app, &scope, &key).await;
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let text = |name: header::HeaderName| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let stored = sqlx::query(
        "UPDATE api_idempotency SET status = ?, content_type = ?, location = ?, etag = ?, body = ?
          WHERE scope = ? AND idem_key = ?",
    )
    .bind(status.as_u16() as i16)
    .bind(text(header::CONTENT_TYPE))
    .bind(text(header::LOCATION))
    .bind(text(header::ETAG))
    .bind(bytes.to_vec())
    .bind(&scope)
    .bind(&key)
    .execute(&app.pool)
    .await;
    if let Err(error) = stored {
        // The answer stands; a retry will run again, and finds the request's version moved on.
        tracing::error!(%error, "idempotent answer not stored");
        let _ = forget(&app, &scope, &key).await;
    }
    Response::from_parts(parts, Body::from(bytes))
}

enum Claim {
    /// This call answers; the key is taken.
    Ours,
    /// The first answer, replayed.
    Answered(Response),
    Refused(ApiError),
}

/// Takes the key, or finds what the first request with it got (waiting while it is made).
async fn claim(
    app: &AppState,
    scope: &str,
    key: &str,
    fingerprint: &str,
) -> Result<Claim, sqlx::Error> {
    let started = tokio::time::Instant::now();
    loop {
        let now = app.clock.now();
        let taken = sqlx::query(
            "INSERT IGNORE INTO api_idempotency (scope, idem_key, fingerprint, created_at)
             VALUES (?, ?, ?, ?)",
        )
        .bind(scope)
        .bind(key.as_bytes())
        .bind(fingerprint)
        .bind(now)
        .execute(&app.pool)
        .await?;
        if taken.rows_affected() == 1 {
            return Ok(Claim::Ours);
        }
        let found: Option<Stored> = sqlx::query_as(
            "SELECT fingerprint, created_at, status, content_type, location, etag, body
               FROM api_idempotency WHERE scope = ? AND idem_key = ?",
        )
        .bind(scope)
        .bind(key.as_bytes())
        .fetch_optional(&app.pool)
        .await?;
        let Some((first, created_at, status, content_type, location, etag, body)) = found else {
            continue;
        };
        let abandoned =
            status.is_none() && now - created_at > chrono::Duration::seconds(ABANDONED_SECONDS);
        if abandoned || now - created_at > chrono::Duration::hours(KEPT_HOURS) {
            sqlx::query(
                "DELETE FROM api_idempotency WHERE scope = ? AND idem_key = ? AND created_at = ?",
            )
            .bind(scope)
            .bind(key.as_bytes())
            .bind(created_at)
            .execute(&app.pool)
            .await?;
            continue;
        }
        if first != fingerprint {
            return Ok(Claim::Refused(ApiError::KeyReused));
        }
        if let Some(status) = status {
            let mut response = Response::new(Body::from(body.unwrap_or_default()));
            *response.status_mut() =
                StatusCode::from_u16(status as u16).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let headers = response.headers_mut();
            for (name, value) in [
                (header::CONTENT_TYPE, content_type),
                (header::LOCATION, location),
                (header::ETAG, etag),
            ] {
                if let Some(value) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
                    headers.insert(name, value);
                }
            }
            headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
            return Ok(Claim::Answered(response));
        }
        if started.elapsed() > WAIT {
            return Ok(Claim::Refused(ApiError::KeyInProgress));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn forget(app: &AppState, scope: &str, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM api_idempotency WHERE scope = ? AND idem_key = ? AND status IS NULL")
        .bind(scope)
        .bind(key.as_bytes())
        .execute(&app.pool)
        .await?;
    Ok(())
}

/// Keys older than a day, removed by the hourly retention job.
pub async fn sweep(app: &AppState) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM api_idempotency WHERE created_at < ? LIMIT 10000")
        .bind(app.clock.now() - chrono::Duration::hours(KEPT_HOURS))
        .execute(&app.pool)
        .await?;
    Ok(done.rows_affected())
}

fn bearer(request: &Request) -> Option<String> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
        .filter(|t| !t.is_empty() && t.len() <= 200)
}
