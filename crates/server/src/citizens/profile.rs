//! The profile: who I am, a new password (which ends the other sessions and every link), and a
//! new address, confirmed through a link sent to it that works only for the account that asked,
//! signed in.

use crate::state::Desk;
use crate::web::params::Notice;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::{Deserialize, Serialize};
use sportello_domain::Language;

use super::passwords;
use super::registration::check_address;
use crate::citizen_store::{self as store, session, CitizenSignedIn, Purpose};
use crate::staff::sessions;
use crate::state::AppState;
use crate::web::checked::{CsrfForm, NoFields};
use crate::web::form::Errors;
use crate::web::{AppError, ClientIp, Result, View};

/// What the profile's forms keep when they come back with errors.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AddressChange {
    new_email: String,
    #[serde(skip_serializing)]
    email_password: String,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct PasswordChange {
    current_password: String,
    password: String,
    password_confirmation: String,
}

/// The profile page as `status`, with the address form as typed, its errors and the notice
/// of what was just done.
fn profile_page(
    app: &AppState,
    signed_in: &CitizenSignedIn,
    form: &AddressChange,
    errors: &Errors,
    notice: Option<&str>,
    status: StatusCode,
    language: Language,
) -> Result<Response> {
    let notice = match notice {
        Some("email") => Some("area.notice.email_link"),
        Some("email_changed") => Some("area.notice.email_changed"),
        Some("password") => Some("area.notice.password_changed"),
        _ => None,
    };
    let view =
        View::new("area/profile.html", "/area/profilo", "area.profile.title").with(context! {
            citizen => signed_in.citizen, csrf_token => signed_in.csrf_token,
            form, errors => errors.shown(language), notice,
        });
    app.render(language, view.status(status))
}

/// The profile again with the errors of a form that keeps nothing typed.
fn refused(
    app: &AppState,
    signed_in: &CitizenSignedIn,
    errors: &Errors,
    status: StatusCode,
    language: Language,
) -> Result<Response> {
    let form = AddressChange::default();
    profile_page(app, signed_in, &form, errors, None, status, language)
}

/// The profile page: who I am, and the forms to change password and e-mail or leave.
pub async fn profile(
    Desk { app, language }: Desk,
    signed_in: CitizenSignedIn,
    Query(notice): Query<Notice>,
) -> Result<Response> {
    let (form, notice) = (AddressChange::default(), notice.avviso.as_deref());
    profile_page(
        &app,
        &signed_in,
        &form,
        &Errors::new(),
        notice,
        StatusCode::OK,
        language,
    )
}

pub async fn change_password(
    Desk { app, language }: Desk,
    ClientIp(client): ClientIp,
    signed_in: CitizenSignedIn,
    CsrfForm(form): CsrfForm<PasswordChange>,
) -> Result<Response> {
    let mut errors = Errors::new();
    let id = signed_in.citizen.id;
    if signed_in.citizen.has_password
        && !passwords::current_ok(&app, client, id, &form.current_password).await?
    {
        errors.add("current_password", "area.error.current_password");
    }
    passwords::check_new(&form.password, &form.password_confirmation, &mut errors);
    if !errors.is_empty() {
        return refused(
            &app,
            &signed_in,
            &errors,
            StatusCode::UNPROCESSABLE_ENTITY,
            language,
        );
    }
    let hash = passwords::hash(&form.password).await?;
    store::set_password(&app.pool, id, &hash).await?;
    // Other browsers signed in with the old password are signed out, and links mailed before
    // stop working; this browser starts afresh.
    store::void_links(&app.pool, id).await?;
    sessions::close_all_citizen(&app.pool, id).await?;
    session::sign_in(
        &app,
        &HeaderMap::new(),
        id,
        app.clock.now(),
        "/area/profilo?avviso=password",
    )
    .await
}

pub async fn change_email(
    Desk { app, language }: Desk,
    ClientIp(client): ClientIp,
    signed_in: CitizenSignedIn,
    CsrfForm(form): CsrfForm<AddressChange>,
) -> Result<Response> {
    let mut errors = Errors::new();
    let email = form.new_email.trim();
    check_address(&app, email, "new_email", &mut errors).await?;
    if signed_in.citizen.has_password
        && !passwords::current_ok(&app, client, signed_in.citizen.id, &form.email_password).await?
    {
        errors.add("email_password", "area.error.current_password");
    }
    if errors.is_empty() && !app.submissions.allow(client) {
        errors.add("new_email", "form.error.too_many");
    }
    if !errors.is_empty() {
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return profile_page(&app, &signed_in, &form, &errors, None, status, language);
    }
    // The address changes only once its owner follows the link sent to it, signed in as the
    // account that asked; whether another account has it is not said here.
    store::send_link(
        &app.pool,
        signed_in.citizen.id,
        Purpose::EmailChange,
        Some(email),
        app.clock.now(),
    )
    .await?;
    app.mail_queued.notify_waiters();
    Ok(Redirect::to("/area/profilo?avviso=email").into_response())
}

/// The link to a new address is confirmed by the account that asked for it, signed in: pressing
/// a button in a mail is not enough to hand one's address to somebody else's account.
pub async fn email_confirm_form(
    Desk { app, language }: Desk,
    signed_in: CitizenSignedIn,
    Path(token): Path<String>,
) -> Result<Response> {
    let link = store::peek(&app.pool, &token, Purpose::EmailChange, app.clock.now())
        .await?
        .filter(|link| link.citizen_id == signed_in.citizen.id)
        .ok_or(AppError::LinkExpired)?;
    let view = View::new(
        "area/confirm.html",
        "/area/profilo",
        "area.email_confirm.title",
    )
    .with(context! {
        csrf_token => signed_in.csrf_token,
        action => format!("/area/nuova-email/{token}"), button => "area.email_confirm.submit",
        text => "area.email_confirm.text", email => link.new_email,
    });
    app.render(language, view)
}

pub async fn email_confirm(
    Desk { app, language }: Desk,
    signed_in: CitizenSignedIn,
    Path(token): Path<String>,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response> {
    let now = app.clock.now();
    let link = store::peek(&app.pool, &token, Purpose::EmailChange, now)
        .await?
        .filter(|link| link.citizen_id == signed_in.citizen.id)
        .ok_or(AppError::LinkExpired)?;
    store::consume(&app.pool, &token, Purpose::EmailChange, now)
        .await?
        .ok_or(AppError::LinkExpired)?;
    let email = link.new_email.unwrap_or_default();
    if !store::change_email(&app.pool, link.citizen_id, &email, now).await? {
        let mut errors = Errors::new();
        errors.add("new_email", "area.error.email_taken");
        return refused(&app, &signed_in, &errors, StatusCode::CONFLICT, language);
    }
    // Links mailed to the old address (a reset) stop working.
    store::void_links(&app.pool, link.citizen_id).await?;
    Ok(Redirect::to("/area/profilo?avviso=email_changed").into_response())
}
