//! Who is asking, for staff pages: the session cookie, checked against the database on every
//! request (with the person's current roles), and the session-bound CSRF token of staff forms.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};

use crate::staff::{self, sessions, Staff};
use crate::state::AppState;
use crate::web::checked::SessionToken;
use crate::web::{cookies, to_sign_in};

/// A signed-in member of staff allowed into the back office.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub staff: Staff,
    pub csrf_token: String,
    pub cookie: String,
}

impl SignedIn {
    /// What the staff pages' header shows about this person.
    pub fn bar(&self) -> super::StaffBar {
        super::StaffBar::new(&self.staff, &self.csrf_token)
    }

    /// Whether a staff form's token is this session's (compared in constant time).
    pub fn csrf_ok(&self, token: &str) -> bool {
        crate::web::csrf::constant_time_eq(self.csrf_token.as_bytes(), token.as_bytes())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for SignedIn
where
    AppState: FromRef<S>,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<SignedIn, Response> {
        let app = AppState::from_ref(state);
        let to_login = || to_sign_in(parts, "/ufficio/accesso", "/ufficio");
        let Some(cookie) = cookies::get(
            &parts.headers,
            &cookies::name(sessions::COOKIE, app.secure_cookies()),
        )
        .map(str::to_string) else {
            return Err(to_login());
        };
        let now = app.clock.now();
        let session = match sessions::load(&app.pool, &cookie, now).await {
            Ok(Some(session)) => session,
            Ok(None) => return Err(to_login()),
            Err(error) => return Err(crate::web::AppError::internal(error).into_response()),
        };
        let sessions::Owner::Staff(staff_id) = session.owner else {
            return Err(to_login());
        };
        let staff = match staff::find(&app.pool, staff_id).await {
            Ok(Some(staff))
                if staff.may_use_back_office()
                    || staff.has(staff::Role::Administrator)
                    || staff.has(staff::Role::FrontOffice)
                    || staff.has(staff::Role::Auditor) =>
            {
                staff
            }
            Ok(_) => return Err(crate::web::AppError::NotFound.into_response()),
            Err(error) => return Err(crate::web::AppError::internal(error).into_response()),
        };
        // Where two factors are required, someone without them may only set them up or leave.
        let path = parts.uri.path();
        if !staff.totp && path != "/ufficio/profilo/due-fattori" && path != "/ufficio/esci" {
            match app.settings().await {
                Ok(settings) if settings.require_totp => {
                    return Err(Redirect::to("/ufficio/profilo/due-fattori").into_response());
                }
                Ok(_) => {}
                Err(error) => return Err(crate::web::AppError::internal(error).into_response()),
            }
        }
        // The session's token is what this person's forms carry (`web::checked`).
        parts
            .extensions
            .insert(SessionToken(session.csrf_token.clone()));
        Ok(SignedIn {
            staff,
            csrf_token: session.csrf_token,
            cookie,
        })
    }
}

impl SignedIn {
    /// The signed-in person when `allowed` lets them open the page; anyone else is told it does
    /// not exist (404), as for a request they may not see.
    pub async fn only<S: Send + Sync>(
        parts: &mut Parts,
        state: &S,
        allowed: fn(&Staff) -> bool,
    ) -> Result<SignedIn, Response>
    where
        AppState: FromRef<S>,
    {
        let signed_in = SignedIn::from_request_parts(parts, state).await?;
        if allowed(&signed_in.staff) {
            Ok(signed_in)
        } else {
            Err(crate::web::AppError::NotFound.into_response())
        }
    }
}

/// A signed-in member of the URP, who edits the FAQ and the library.
pub struct Urp(pub SignedIn);

impl<S: Send + Sync> FromRequestParts<S> for Urp
where
    AppState: FromRef<S>,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Urp, Response> {
        SignedIn::only(parts, state, Staff::is_urp).await.map(Urp)
    }
}
