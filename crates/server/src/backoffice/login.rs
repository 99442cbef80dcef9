//! Signing in and out. The form is protected like the citizen's (a signed cookie token, since
//! there is no session yet); a success opens a fresh session and ends the one the browser had.

use crate::state::Desk;
use crate::web::params::Back;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;

use crate::staff::SignedIn;
use crate::staff::{self, password, sessions, throttle};
use crate::state::AppState;
use crate::web::checked::{self, CsrfForm, NoFields, Submitted};
use crate::web::{cookies, ClientIp, Result, View};

/// Only a back-office path is followed after signing in.
fn back_target(back: Option<&str>) -> String {
    match back {
        Some(path)
            if path.starts_with("/ufficio")
                && crate::web::is_local_path(path)
                && path.len() <= 300 =>
        {
            path.to_string()
        }
        _ => "/ufficio".to_string(),
    }
}

pub async fn login_form(
    Desk { app, language }: Desk,
    headers: HeaderMap,
    Query(back): Query<Back>,
) -> Result<Response> {
    let view = login_view(&app, &headers, "", back.torna.as_deref(), None);
    app.render(language, view)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LoginForm {
    email: String,
    password: String,
    torna: Option<String>,
}

pub async fn login(
    Desk { app, language }: Desk,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    submitted: Submitted<LoginForm>,
) -> Result<Response> {
    let (form, forged) = checked::typed(submitted)?;
    let back = form.torna.as_deref();
    let refuse = |key: &str, status| {
        let view = login_view(&app, &headers, &form.email, back, Some(key)).status(status);
        app.render(language, view)
    };
    if forged {
        return refuse("login.error.csrf", StatusCode::FORBIDDEN);
    }
    let now = app.clock.now();
    if !throttle::attempt(&app.pool, &form.email, &client.to_string(), now).await? {
        tracing::warn!("login throttled");
        return refuse("login.error.throttled", StatusCode::TOO_MANY_REQUESTS);
    }
    let credentials = staff::credentials(&app.pool, &form.email).await?;
    let stored = credentials.as_ref().map(|(_, hash)| hash.clone());
    let valid = password::verify_off_thread(&form.password, stored).await?;
    let Some((staff_id, _)) = credentials.filter(|_| valid) else {
        return refuse("login.error.invalid", StatusCode::UNAUTHORIZED);
    };
    // With two factors, the attempts are cleared only once the code is right too.
    if staff::totp_state(&app.pool, staff_id).await?.is_some() {
        return super::second_factor::challenge(&app, staff_id, &back_target(back)).await;
    }
    throttle::succeeded(&app.pool, &form.email, &client.to_string()).await?;
    if let Some(previous) = cookies::get(
        &headers,
        &cookies::name(sessions::COOKIE, app.secure_cookies()),
    ) {
        sessions::close(&app.pool, previous).await?;
    }
    let session = sessions::open(&app.pool, staff_id, now).await?;
    tracing::info!(staff_id = %staff_id, "staff signed in");
    let cookie = cookies::set(
        &cookies::name(sessions::COOKIE, app.secure_cookies()),
        &session,
        sessions::ABSOLUTE.num_seconds() as u64,
        app.secure_cookies(),
    );
    Ok((
        [(header::SET_COOKIE, cookie)],
        Redirect::to(&back_target(back)),
    )
        .into_response())
}

pub async fn logout(
    State(app): State<AppState>,
    signed_in: SignedIn,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response> {
    sessions::close(&app.pool, &signed_in.cookie).await?;
    Ok(signed_out(&app))
}

pub async fn logout_everywhere(
    State(app): State<AppState>,
    signed_in: SignedIn,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response> {
    sessions::close_all(&app.pool, signed_in.staff.id).await?;
    Ok(signed_out(&app))
}

fn signed_out(app: &AppState) -> Response {
    let cookie = cookies::set(
        &cookies::name(sessions::COOKIE, app.secure_cookies()),
        "",
        0,
        app.secure_cookies(),
    );
    (
        [(header::SET_COOKIE, cookie)],
        Redirect::to("/ufficio/accesso"),
    )
        .into_response()
}

/// The sign-in page, with the address typed and an error, if any.
fn login_view(
    app: &AppState,
    headers: &HeaderMap,
    email: &str,
    back: Option<&str>,
    error: Option<&str>,
) -> View {
    View::new("backoffice/login.html", "/ufficio/accesso", "login.title")
        .public_form(&app.csrf_key(), headers)
        .with(context! { email, error, torna => back_target(back) })
}
