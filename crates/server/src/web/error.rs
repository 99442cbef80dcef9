//! The one error type. Handlers return it with `?`; `render_errors` turns it into a page in the
//! visitor's language, and unexpected errors are logged once, here, without personal data.

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use minijinja::context;

use super::{i18n, Page, Templates};

pub type Result<T, E = AppError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("the form expired or came from another site")]
    Csrf,
    #[error("not allowed")]
    Forbidden,
    #[error("the personal data has been erased")]
    Gone,
    #[error("the link has been used or has expired")]
    LinkExpired,
    #[error("too many requests")]
    TooManyRequests,
    #[error("the upload is too large")]
    PayloadTooLarge,
    #[error("bad request")]
    BadRequest,
    /// Anything unexpected, with its cause chain (logged once, never shown).
    #[error("{0:#}")]
    Internal(anyhow::Error),
}

impl AppError {
    /// An unexpected error from something that is not a `std::error::Error` (a message, a
    /// template value); errors that are keep their cause chain through `From`.
    pub fn internal(error: impl std::fmt::Display) -> AppError {
        AppError::Internal(anyhow::anyhow!("{error}"))
    }

    fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Csrf | AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::Gone | AppError::LinkExpired => StatusCode::GONE,
            AppError::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::BadRequest => StatusCode::BAD_REQUEST,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn message_key(&self) -> &'static str {
        match self {
            AppError::NotFound => "error.not_found",
            AppError::Csrf => "error.csrf",
            AppError::Forbidden => "error.forbidden",
            AppError::Gone => "error.gone",
            AppError::LinkExpired => "error.link_expired",
            AppError::TooManyRequests => "error.too_many",
            AppError::PayloadTooLarge => "error.too_large",
            AppError::BadRequest => "error.bad_request",
            AppError::Internal(_) => "error.internal",
        }
    }
}

macro_rules! internal_from {
    ($($source:ty),*) => {$(
        impl From<$source> for AppError {
            fn from(error: $source) -> AppError {
                AppError::Internal(error.into())
            }
        }
    )*};
}
internal_from!(
    anyhow::Error,
    sqlx::Error,
    minijinja::Error,
    sportello_projections::ProjectionError,
    crate::personal::SealError,
    crate::event_store::CommandError
);

impl sportello_projections::Transient for AppError {
    fn is_transient(&self) -> bool {
        match self {
            AppError::Internal(error) => error.is_transient(),
            _ => false,
        }
    }
}

/// Marks a response whose body the error page middleware writes.
#[derive(Clone, Copy)]
struct ErrorPage(&'static str);

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Internal(detail) = &self {
            tracing::error!(error = format!("{detail:#}"), "request failed");
        }
        let mut response = self.status().into_response();
        response
            .extensions_mut()
            .insert(ErrorPage(self.message_key()));
        response
    }
}

/// What an error page needs: the templates and the organisation's name.
#[derive(Clone)]
pub struct ErrorPages {
    pub templates: std::sync::Arc<Templates>,
    pub organisation_name: String,
}

/// Renders error responses as pages in the visitor's language.
pub async fn render_errors(
    State(app): State<ErrorPages>,
    request: Request,
    next: Next,
) -> Response {
    let language = i18n::from_headers(request.headers());
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    let Some(ErrorPage(message_key)) = response.extensions().get::<ErrorPage>().copied() else {
        // Rejections from axum itself (a malformed form, a wrong method) get a page too.
        let plain = match response.headers().get(header::CONTENT_TYPE) {
            None => true,
            Some(kind) => kind.as_bytes().starts_with(b"text/plain"),
        };
        if response.status().is_client_error() && plain {
            let mut rendered = page(
                &app,
                response.status(),
                language,
                &path,
                "error.bad_request",
            );
            if let Some(allow) = response.headers().get(header::ALLOW) {
                rendered.headers_mut().insert(header::ALLOW, allow.clone());
            }
            return rendered;
        }
        return response;
    };
    page(&app, response.status(), language, &path, message_key)
}

fn page(
    app: &ErrorPages,
    status: StatusCode,
    language: sportello_domain::Language,
    path: &str,
    message_key: &str,
) -> Response {
    let page = Page::new(language, path, &app.organisation_name, "error.title");
    let body = app
        .templates
        .render(
            "error.html",
            context! { page, lang => page.lang, message_key, status => status.as_u16() },
        )
        .unwrap_or_else(|_| "Error".to_string());
    (status, Html(body)).into_response()
}
