//! Signing in to the area with a password (throttled like staff's, a decoy hash for unknown
//! addresses, so neither timing nor wording tells whether an address is known) and signing out.

use crate::state::Desk;
use crate::web::params::Back;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

use super::registration::{form_page, AreaPage};
use crate::citizen_store::{self as store, session, CitizenSignedIn};
use crate::staff::{password, sessions, throttle};
use crate::state::AppState;
use crate::web::checked::{self, CsrfForm, NoFields, Submitted};
use crate::web::form::Errors;
use crate::web::{is_local_path, ClientIp, Result};

/// Where to go after signing in: a page of the area or the new-request form, nothing else.
fn back_to(torna: Option<&str>) -> String {
    torna
        .filter(|path| {
            is_local_path(path)
                && (path.starts_with("/area") || path.starts_with("/segnalazioni/nuova"))
        })
        .unwrap_or("/area")
        .to_string()
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Login {
    email: String,
    #[serde(skip_serializing)]
    password: String,
    torna: String,
}

const LOGIN: AreaPage = ("area/login.html", "/area/accesso", "area.login.title");

fn login_page(
    app: &AppState,
    headers: &HeaderMap,
    form: &Login,
    errors: &Errors,
    language: sportello_domain::Language,
) -> crate::web::View {
    form_page(app, headers, LOGIN, form, errors, language)
}

pub async fn login_form(
    Desk { app, language }: Desk,
    headers: HeaderMap,
    Query(back): Query<Back>,
) -> Result<Response> {
    let form = Login {
        torna: back_to(back.torna.as_deref()),
        ..Login::default()
    };
    app.render(
        language,
        login_page(&app, &headers, &form, &Errors::new(), language),
    )
}

pub async fn login(
    Desk { app, language }: Desk,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    submitted: Submitted<Login>,
) -> Result<Response> {
    let (mut form, forged) = checked::typed(submitted)?;
    form.torna = back_to(Some(&form.torna));
    let email = form.email.trim().to_string();
    let fail = |key: &str, status| {
        let mut errors = Errors::new();
        errors.add(
            if key == "form.error.csrf" {
                "general"
            } else {
                "email"
            },
            key,
        );
        app.render(
            language,
            login_page(&app, &headers, &form, &errors, language).status(status),
        )
    };
    if forged {
        return fail("form.error.csrf", StatusCode::FORBIDDEN);
    }
    let now = app.clock.now();
    let account = format!("citizen:{email}");
    if !throttle::attempt(&app.pool, &account, &client.to_string(), now).await? {
        return fail("login.error.throttled", StatusCode::TOO_MANY_REQUESTS);
    }
    let found = store::find_by_email(&app.pool, app.organisation_id, &email).await?;
    let hash = found
        .as_ref()
        .and_then(|(c, hash)| hash.clone().filter(|_| c.email_verified));
    let valid = password::verify_off_thread(&form.password, hash).await?;
    let Some((citizen, _)) = found.filter(|_| valid) else {
        return fail("area.error.invalid_login", StatusCode::UNAUTHORIZED);
    };
    throttle::succeeded(&app.pool, &account, &client.to_string()).await?;
    session::sign_in(&app, &headers, citizen.id, now, &form.torna).await
}

pub async fn logout(
    State(app): State<AppState>,
    signed_in: CitizenSignedIn,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response> {
    sessions::close(&app.pool, &signed_in.cookie).await?;
    Ok((
        [(header::SET_COOKIE, session::forget_cookie(&app))],
        Redirect::to("/"),
    )
        .into_response())
}
