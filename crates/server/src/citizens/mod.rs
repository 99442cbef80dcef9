//! The citizen area: accounts (password or OpenID Connect), "my area" with every request of the
//! citizen, replies, reopening and rating, drafts, and the citizen's data rights (export,
//! erasure) with the retention job that anonymises old requests.

pub mod accounts;
pub mod area;
pub mod data_rights;
pub mod drafts;
pub mod oidc;
pub mod retention;
pub mod session;
pub mod store;

use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};

pub use session::CitizenSignedIn;

use crate::web::{AppError, Result};

/// A page of the area: never cached (it is someone's own), with the CSRF cookie when new.
pub fn respond(status: StatusCode, body: String, csrf_cookie: Option<String>) -> Result<Response> {
    let mut response = (status, [(header::CACHE_CONTROL, "no-store")], Html(body)).into_response();
    if let Some(cookie) = csrf_cookie {
        response.headers_mut().append(
            header::SET_COOKIE,
            cookie.parse().map_err(AppError::internal)?,
        );
    }
    Ok(response)
}
