//! Who is asking, in the citizen area: the citizen's session cookie, checked against the database
//! on every request, with the session's CSRF token for the area's forms.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::citizen_store::{self as store, Citizen};
use crate::staff::sessions::{self, Owner};
use crate::state::AppState;
use crate::web::to_sign_in;
use crate::web::{cookies, AppError};

/// A signed-in citizen.
#[derive(Debug, Clone)]
pub struct CitizenSignedIn {
    pub citizen: Citizen,
    pub csrf_token: String,
    pub cookie: String,
}

impl CitizenSignedIn {
    /// Whether a form's token is this session's (compared in constant time).
    pub fn csrf_ok(&self, token: &str) -> bool {
        crate::web::csrf::constant_time_eq(self.csrf_token.as_bytes(), token.as_bytes())
    }
}

/// The signed-in citizen, if any (for pages anyone may see, like the new-request form).
pub async fn current(
    app: &AppState,
    headers: &HeaderMap,
) -> Result<Option<CitizenSignedIn>, AppError> {
    let name = cookies::name(sessions::CITIZEN_COOKIE, app.secure_cookies());
    let Some(cookie) = cookies::get(headers, &name).map(str::to_string) else {
        return Ok(None);
    };
    let Some(session) = sessions::load(&app.pool, &cookie, app.clock.now()).await? else {
        return Ok(None);
    };
    let Owner::Citizen(id) = session.owner else {
        return Ok(None);
    };
    Ok(store::find(&app.pool, id)
        .await?
        .map(|citizen| CitizenSignedIn {
            citizen,
            csrf_token: session.csrf_token,
            cookie,
        }))
}

impl<S: Send + Sync> FromRequestParts<S> for CitizenSignedIn
where
    AppState: FromRef<S>,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        let app = AppState::from_ref(state);
        match current(&app, &parts.headers).await {
            Ok(Some(signed_in)) => {
                // The session's token is what the area's forms carry (`web::checked`).
                parts.extensions.insert(crate::web::checked::SessionToken(
                    signed_in.csrf_token.clone(),
                ));
                Ok(signed_in)
            }
            Ok(None) => Err(to_sign_in(parts, "/area/accesso", "/area")),
            Err(error) => Err(error.into_response()),
        }
    }
}

/// Signs a citizen in: ends the browser's previous citizen session, opens a new one (a login
/// always rotates the identifier) and answers with its cookie and a redirect.
pub async fn sign_in(
    app: &AppState,
    headers: &HeaderMap,
    citizen_id: Uuid,
    now: DateTime<Utc>,
    to: &str,
) -> Result<Response, AppError> {
    let name = cookies::name(sessions::CITIZEN_COOKIE, app.secure_cookies());
    if let Some(previous) = cookies::get(headers, &name) {
        sessions::close(&app.pool, previous).await?;
    }
    let session = sessions::open(&app.pool, Owner::Citizen(citizen_id), now).await?;
    tracing::info!(citizen_id = %citizen_id, "citizen signed in");
    let cookie = cookies::set(
        &name,
        &session,
        sessions::ABSOLUTE.num_seconds() as u64,
        app.secure_cookies(),
    );
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to(to)).into_response())
}

/// The Set-Cookie value that forgets the citizen's session.
pub fn forget_cookie(app: &AppState) -> String {
    cookies::set(
        &cookies::name(sessions::CITIZEN_COOKIE, app.secure_cookies()),
        "",
        0,
        app.secure_cookies(),
    )
}
