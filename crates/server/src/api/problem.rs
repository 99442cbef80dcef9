//! Every error of the API as `application/problem+json` (RFC 9457), its `detail` in the
//! asker's language. A handler returns an `ApiError`; the `problems` layer, which knows the
//! language, writes the body — also for what axum itself refuses (a wrong method, a body too
//! large, a malformed query), so no API answer is ever an HTML page or a bare text.

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sportello_domain::Language;
use utoipa::ToSchema;

use crate::web::i18n;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// Names the kind of problem: `urn:sportello:problem:<code>`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// What went wrong, in the language asked for (Italian or English).
    pub detail: String,
    /// The fields at fault, when the input was refused.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
    /// The request's current version, when the one given in `If-Match` was stale.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_version: Option<usize>,
}

/// One field's problem.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldProblem {
    /// The field, as named in the request (a query parameter or a JSON member).
    pub field: String,
    pub detail: String,
}

/// A refused field: its name, a catalogue key, and what fills the key's `{name}` (a file's name).
pub type Fault = (String, &'static str, Option<String>);

/// What went wrong, before it is put in the asker's language.
#[derive(Debug)]
pub enum ApiError {
    /// No token, an unknown or a revoked one.
    Unauthorized,
    /// The token lacks the scope the operation needs.
    Scope(&'static str),
    /// Nothing here, or nothing this client may see (the same answer).
    NotFound,
    /// The input was refused: each field with a catalogue key.
    Invalid(Vec<Fault>),
    /// A stale `If-Match`.
    Stale {
        current: usize,
    },
    /// An action without `If-Match`.
    VersionRequired,
    /// The action is not open to this client on the request as it stands.
    NotAllowed,
    /// The body is not JSON, or not JSON of the expected shape.
    Malformed,
    /// The body is not `application/json`.
    MediaType,
    /// The body is over the API's limit.
    TooLarge,
    /// The `Idempotency-Key` was used before with another request.
    KeyReused,
    /// The first request with this `Idempotency-Key` is still being answered.
    KeyInProgress,
    /// Over the client's allowance for this minute.
    TooMany {
        retry_after: u64,
    },
    Internal(anyhow::Error),
}

impl ApiError {
    pub fn internal(error: impl Into<anyhow::Error>) -> ApiError {
        ApiError::Internal(error.into())
    }

    pub fn invalid(field: &str, key: &'static str) -> ApiError {
        ApiError::Invalid(vec![(field.to_string(), key, None)])
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> ApiError {
        ApiError::internal(error)
    }
}

impl From<sportello_projections::ProjectionError> for ApiError {
    fn from(error: sportello_projections::ProjectionError) -> ApiError {
        ApiError::internal(error)
    }
}

impl From<crate::web::AppError> for ApiError {
    fn from(error: crate::web::AppError) -> ApiError {
        match error {
            crate::web::AppError::NotFound | crate::web::AppError::Gone => ApiError::NotFound,
            other => ApiError::internal(anyhow::anyhow!("{other:?}")),
        }
    }
}

/// The problem a response carries until the layer writes it.
#[derive(Debug, Clone)]
struct Pending {
    code: &'static str,
    errors: Vec<Fault>,
    args: Vec<(&'static str, String)>,
    current_version: Option<usize>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let pending = |code: &'static str| Pending {
            code,
            errors: Vec::new(),
            args: Vec::new(),
            current_version: None,
        };
        let (status, pending) = match self {
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, pending("unauthorized")),
            ApiError::Scope(scope) => (
                StatusCode::FORBIDDEN,
                Pending {
                    args: vec![("scope", scope.to_string())],
                    ..pending("scope")
                },
            ),
            ApiError::NotFound => (StatusCode::NOT_FOUND, pending("not_found")),
            ApiError::Invalid(errors) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                Pending {
                    errors,
                    ..pending("invalid")
                },
            ),
            ApiError::Stale { current } => (
                StatusCode::PRECONDITION_FAILED,
                Pending {
                    current_version: Some(current),
                    ..pending("stale")
                },
            ),
            ApiError::VersionRequired => (
                StatusCode::PRECONDITION_REQUIRED,
                pending("version_required"),
            ),
            ApiError::NotAllowed => (StatusCode::CONFLICT, pending("not_allowed")),
            ApiError::Malformed => (StatusCode::BAD_REQUEST, pending("malformed")),
            ApiError::MediaType => (StatusCode::UNSUPPORTED_MEDIA_TYPE, pending("media_type")),
            ApiError::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, pending("too_large")),
            ApiError::KeyReused => (StatusCode::UNPROCESSABLE_ENTITY, pending("key_reused")),
            ApiError::KeyInProgress => (StatusCode::CONFLICT, pending("key_in_progress")),
            ApiError::TooMany { retry_after } => {
                let mut response = StatusCode::TOO_MANY_REQUESTS.into_response();
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after.max(1)));
                response.extensions_mut().insert(pending("too_many"));
                return response;
            }
            ApiError::Internal(error) => {
                tracing::error!(error = format!("{error:#}"), "API request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, pending("internal"))
            }
        };
        let mut response = status.into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"sportello\""),
            );
        }
        response.extensions_mut().insert(pending);
        response
    }
}

/// The code of a problem axum or a layer raised by status alone.
fn code_of(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "media_type",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::TOO_MANY_REQUESTS => "too_many",
        status if status.is_server_error() => "internal",
        _ => "bad_request",
    }
}

/// The problem as the asker reads it.
pub fn problem(language: Language, status: StatusCode, code: &str) -> Problem {
    Problem {
        kind: format!("urn:sportello:problem:{code}"),
        title: status.canonical_reason().unwrap_or("Error").to_string(),
        status: status.as_u16(),
        detail: i18n::text(language, &format!("api.problem.{code}"), &[]),
        errors: Vec::new(),
        current_version: None,
    }
}

/// Writes every error of the API as a problem document in the asker's language.
pub async fn problems(request: Request, next: Next) -> Response {
    let language = i18n::from_accept_language(request.headers());
    finish(language, next.run(request).await)
}

/// The response, its error (if it is one) written as a problem document in `language`.
pub fn finish(language: Language, response: Response) -> Response {
    let status = response.status();
    let pending = response.extensions().get::<Pending>().cloned();
    let already = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|kind| kind.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if already || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let pending = pending.unwrap_or(Pending {
        code: code_of(status),
        errors: Vec::new(),
        args: Vec::new(),
        current_version: None,
    });
    let args: Vec<(&str, &str)> = pending
        .args
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    let mut body = problem(language, status, pending.code);
    body.detail = i18n::text(language, &format!("api.problem.{}", pending.code), &args);
    body.errors = pending
        .errors
        .iter()
        .map(|(field, key, name)| FieldProblem {
            field: field.clone(),
            detail: i18n::text(language, key, &[("name", name.as_deref().unwrap_or(""))]),
        })
        .collect();
    body.current_version = pending.current_version;
    let (mut parts, _) = response.into_parts();
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    parts.headers.remove(header::CONTENT_LENGTH);
    let json = serde_json::to_vec(&body).unwrap_or_default();
    Response::from_parts(parts, axum::body::Body::from(json))
}
