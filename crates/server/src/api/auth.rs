//! Who is calling: the client whose bearer token the request carries, unrevoked, of this
//! organisation and within its allowance for the minute. Everything else is a 401 that says
//! nothing about why (an unknown token and a revoked one read the same).

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;

use super::clients::{self, Client, Scope};
use super::problem::ApiError;
use crate::state::AppState;

/// The calling client.
pub struct Caller(pub Client);

impl Caller {
    /// The operation needs `scope`: 403 naming it otherwise.
    pub fn needs(&self, scope: Scope) -> Result<(), ApiError> {
        if !self.0.has(scope) {
            return Err(ApiError::Scope(scope.code()));
        }
        // A department-limited client never reaches what spans every department.
        if scope.whole_organisation() && !self.0.departments.is_empty() {
            return Err(ApiError::Scope(scope.code()));
        }
        Ok(())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller
where
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Caller, ApiError> {
        let app = AppState::from_ref(state);
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| {
                let (scheme, token) = value.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .filter(|token| !token.is_empty() && token.len() <= 200)
            .ok_or(ApiError::Unauthorized)?;
        let client = clients::by_token(&app.pool, token)
            .await?
            .filter(|client| client.organisation_id == app.organisation_id)
            .ok_or(ApiError::Unauthorized)?;
        if let Err(wait) = app.api_calls.check(client.id) {
            tracing::warn!(client_id = %client.id, "API client over its allowance");
            return Err(ApiError::TooMany {
                retry_after: wait.as_secs() + 1,
            });
        }
        clients::touch(&app.pool, &client, app.clock.now()).await?;
        Ok(Caller(client))
    }
}
