//! Registering, confirming the address (where the password is chosen), and forgetting and
//! resetting the password. No page says whether an address is known: registration and "forgot
//! password" answer the same in every case, and the owner of the address learns the rest by
//! e-mail. A link's GET shows a page; only its POST acts.

use crate::state::Desk;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use minijinja::context;
use serde::{Deserialize, Serialize};
use sportello_domain::Language;

use super::passwords;
use crate::citizen_store::{self as store, session, Citizen, NewCitizen, Purpose, Registered};
use crate::mail::{is_email, OwnAddresses};
use crate::staff::sessions;
use crate::state::AppState;
use crate::web::checked::{self, Submitted};
use crate::web::form::Errors;
use crate::web::{AppError, ClientIp, Result, View};

const NAME_MAX: usize = 100;

/// One of the area's public pages, with a fresh CSRF token for its form.
pub(super) fn public(
    app: &AppState,
    headers: &HeaderMap,
    template: &'static str,
    path: &str,
    title: &'static str,
) -> View {
    View::new(template, path, title)
        .public_form(&app.csrf_key(), headers)
        .with(context! { oidc => app.config.oidc.as_ref().map(|o| o.button_label.clone()) })
}

/// A public page of the area: its template, its path and its title.
pub(super) type AreaPage = (&'static str, &'static str, &'static str);

const REGISTER: AreaPage = (
    "area/register.html",
    "/area/registrazione",
    "area.register.title",
);
const CONFIRM: AreaPage = (
    "area/confirm_account.html",
    "/area/accesso",
    "area.confirm.title",
);
const FORGOT: AreaPage = (
    "area/forgot.html",
    "/area/password-dimenticata",
    "area.forgot.title",
);
const RESET: AreaPage = ("area/reset.html", "/area/accesso", "area.reset.title");
const MAIL_SENT: AreaPage = ("area/message.html", "/area/accesso", "area.mail_sent.title");

/// One of the area's public pages showing `form` as typed, with its errors.
pub(super) fn form_page<F: Serialize>(
    app: &AppState,
    headers: &HeaderMap,
    (template, path, title): AreaPage,
    form: &F,
    errors: &Errors,
    language: Language,
) -> View {
    public(app, headers, template, path, title)
        .with(context! { form, errors => errors.shown(language) })
}

/// The fields of a form whose token failed, with the general error that says so; or the
/// malformed body's error.
pub(super) fn kept<T>(submitted: Submitted<T>, errors: &mut Errors) -> Result<T> {
    let (form, forged) = checked::typed(submitted)?;
    if forged {
        errors.add("general", "form.error.csrf");
    }
    Ok(form)
}

/// A public form of the area that opens empty.
pub trait BlankForm: Default + Serialize {
    const PAGE: AreaPage;
}

/// The page of a form that opens empty (registration, "forgot password").
pub async fn blank<F: BlankForm>(
    Desk { app, language }: Desk,
    headers: HeaderMap,
) -> Result<Response> {
    let view = form_page(
        &app,
        &headers,
        F::PAGE,
        &F::default(),
        &Errors::new(),
        language,
    );
    app.render(language, view)
}

/// A public form as typed, and the status that refuses it before its own checks: its token
/// failed (403), or this address sent too many (429); the errors say why.
fn admitted<T>(
    app: &AppState,
    client: std::net::IpAddr,
    submitted: Submitted<T>,
    errors: &mut Errors,
) -> Result<(T, Option<StatusCode>)> {
    let form = kept(submitted, errors)?;
    let refused = if !errors.is_empty() {
        Some(StatusCode::FORBIDDEN)
    } else if !app.submissions.allow(client) {
        errors.add("general", "form.error.too_many");
        Some(StatusCode::TOO_MANY_REQUESTS)
    } else {
        None
    };
    Ok((form, refused))
}

/// "Check your e-mail": the one answer registration and "forgot password" give.
fn mail_sent(
    app: &AppState,
    headers: &HeaderMap,
    language: Language,
    key: &str,
) -> Result<Response> {
    let form = Registration::default();
    let view = form_page(app, headers, MAIL_SENT, &form, &Errors::new(), language)
        .with(context! { message => key });
    app.render(language, view)
}

/// Checks a citizen's first and last name as typed.
fn check_names(first_name: &str, last_name: &str, errors: &mut Errors) {
    if first_name.is_empty() || first_name.chars().count() > NAME_MAX {
        errors.add("first_name", "form.error.first_name");
    }
    if last_name.is_empty() || last_name.chars().count() > NAME_MAX {
        errors.add("last_name", "form.error.last_name");
    }
}

/// Checks an address a citizen gives as theirs, under `field`: one of ours is not.
pub(super) async fn check_address(
    app: &AppState,
    email: &str,
    field: &'static str,
    errors: &mut Errors,
) -> Result<()> {
    if !is_email(email) {
        errors.add(field, "form.error.email");
    } else if OwnAddresses::load(app).await?.contains(email) {
        errors.add(field, "form.error.own_address");
    }
    Ok(())
}

/// The citizen a live "confirm your address" link is for.
async fn to_verify(app: &AppState, token: &str, now: DateTime<Utc>) -> Result<Citizen> {
    let link = store::peek(&app.pool, token, Purpose::Verify, now)
        .await?
        .ok_or(AppError::LinkExpired)?;
    store::find(&app.pool, link.citizen_id)
        .await?
        .ok_or(AppError::LinkExpired)
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Registration {
    first_name: String,
    last_name: String,
    email: String,
    privacy: String,
}

impl BlankForm for Registration {
    const PAGE: AreaPage = REGISTER;
}

pub async fn register(
    Desk { app, language }: Desk,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    submitted: Submitted<Registration>,
) -> Result<Response> {
    let mut errors = Errors::new();
    let (form, refused) = admitted(&app, client, submitted, &mut errors)?;
    let again = |errors: &Errors, status| {
        app.render(
            language,
            form_page(&app, &headers, REGISTER, &form, errors, language).status(status),
        )
    };
    if let Some(status) = refused {
        return again(&errors, status);
    }
    let (first_name, last_name, email) = (
        form.first_name.trim(),
        form.last_name.trim(),
        form.email.trim(),
    );
    check_names(first_name, last_name, &mut errors);
    check_address(&app, email, "email", &mut errors).await?;
    if form.privacy != "accepted" {
        errors.add("privacy", "form.error.privacy");
    }
    if !errors.is_empty() {
        return again(&errors, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let now = app.clock.now();
    let new = NewCitizen {
        first_name,
        last_name,
        email: Some(email),
        password_hash: None,
        fiscal_code: None,
        phone: None,
        created_by: None,
        language,
    };
    match store::register(&app.pool, app.organisation_id, new, now).await? {
        // The password is chosen on the link's page, by whoever holds the mailbox: a
        // registration never sets one, so nobody can slip theirs into someone else's account.
        Registered::NeedsVerification(id) => {
            store::send_link(&app.pool, id, Purpose::Verify, None, now).await?;
        }
        Registered::AlreadyKnown(id) => {
            // The owner hears that someone tried, with a way back in if it was them.
            store::send_link(&app.pool, id, Purpose::Reset, None, now).await?;
        }
    }
    app.mail_queued.notify_waiters();
    mail_sent(&app, &headers, language, "area.mail_sent.register")
}

/// The confirmation page's form: the names (filled in, to correct) and the password to choose.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Confirmation {
    first_name: String,
    last_name: String,
    #[serde(skip_serializing)]
    password: String,
    #[serde(skip_serializing)]
    password_confirmation: String,
}

fn confirmation_page(
    app: &AppState,
    headers: &HeaderMap,
    token: &str,
    email: &Option<String>,
    form: &Confirmation,
    errors: &Errors,
    language: Language,
) -> View {
    form_page(app, headers, CONFIRM, form, errors, language).with(context! { token, email })
}

/// The link in the e-mail opens a page where the owner of the address chooses the password
/// (and checks the name): following a link never changes anything by itself.
pub async fn confirm_form(
    Desk { app, language }: Desk,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response> {
    let citizen = to_verify(&app, &token, app.clock.now()).await?;
    let form = Confirmation {
        first_name: citizen.first_name.clone(),
        last_name: citizen.last_name.clone(),
        ..Confirmation::default()
    };
    let view = confirmation_page(
        &app,
        &headers,
        &token,
        &citizen.email,
        &form,
        &Errors::new(),
        language,
    );
    app.render(language, view)
}

pub async fn confirm(
    Desk { app, language }: Desk,
    headers: HeaderMap,
    Path(token): Path<String>,
    submitted: Submitted<Confirmation>,
) -> Result<Response> {
    let now = app.clock.now();
    let citizen = to_verify(&app, &token, now).await?;
    let mut errors = Errors::new();
    let form = kept(submitted, &mut errors)?;
    let (first_name, last_name) = (form.first_name.trim(), form.last_name.trim());
    check_names(first_name, last_name, &mut errors);
    passwords::check_new(&form.password, &form.password_confirmation, &mut errors);
    if !errors.is_empty() {
        let view = confirmation_page(
            &app,
            &headers,
            &token,
            &citizen.email,
            &form,
            &errors,
            language,
        )
        .status(StatusCode::UNPROCESSABLE_ENTITY);
        return app.render(language, view);
    }
    let link = store::consume(&app.pool, &token, Purpose::Verify, now)
        .await?
        .ok_or(AppError::LinkExpired)?;
    let hash = passwords::hash(&form.password).await?;
    store::set_names(&app.pool, link.citizen_id, first_name, last_name).await?;
    store::set_password(&app.pool, link.citizen_id, &hash).await?;
    store::mark_verified(&app.pool, link.citizen_id, now).await?;
    store::void_links(&app.pool, link.citizen_id).await?;
    session::sign_in(&app, &headers, link.citizen_id, now, "/area").await
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Forgotten {
    email: String,
}

impl BlankForm for Forgotten {
    const PAGE: AreaPage = FORGOT;
}

pub async fn forgot(
    Desk { app, language }: Desk,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    submitted: Submitted<Forgotten>,
) -> Result<Response> {
    let mut errors = Errors::new();
    let (form, refused) = admitted(&app, client, submitted, &mut errors)?;
    let email = form.email.trim();
    if refused.is_none() && !is_email(email) {
        errors.add("email", "form.error.email");
    }
    if !errors.is_empty() {
        let view = form_page(&app, &headers, FORGOT, &form, &errors, language)
            .status(StatusCode::UNPROCESSABLE_ENTITY);
        return app.render(language, view);
    }
    if let Some((citizen, _)) = store::find_by_email(&app.pool, app.organisation_id, email).await? {
        store::send_link(&app.pool, citizen.id, Purpose::Reset, None, app.clock.now()).await?;
        app.mail_queued.notify_waiters();
    }
    mail_sent(&app, &headers, language, "area.mail_sent.forgot")
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct NewPassword {
    #[serde(skip_serializing)]
    password: String,
    #[serde(skip_serializing)]
    password_confirmation: String,
}

fn reset_page(
    app: &AppState,
    headers: &HeaderMap,
    token: &str,
    errors: &Errors,
    language: Language,
) -> View {
    let form = NewPassword::default();
    form_page(app, headers, RESET, &form, errors, language).with(context! { token })
}

pub async fn reset_form(
    Desk { app, language }: Desk,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response> {
    store::peek(&app.pool, &token, Purpose::Reset, app.clock.now())
        .await?
        .ok_or(AppError::LinkExpired)?;
    app.render(
        language,
        reset_page(&app, &headers, &token, &Errors::new(), language),
    )
}

pub async fn reset(
    Desk { app, language }: Desk,
    headers: HeaderMap,
    Path(token): Path<String>,
    submitted: Submitted<NewPassword>,
) -> Result<Response> {
    let now = app.clock.now();
    store::peek(&app.pool, &token, Purpose::Reset, now)
        .await?
        .ok_or(AppError::LinkExpired)?;
    let mut errors = Errors::new();
    let form = kept(submitted, &mut errors)?;
    if errors.is_empty() {
        passwords::check_new(&form.password, &form.password_confirmation, &mut errors);
    }
    if !errors.is_empty() {
        let view = reset_page(&app, &headers, &token, &errors, language)
            .status(StatusCode::UNPROCESSABLE_ENTITY);
        return app.render(language, view);
    }
    let link = store::consume(&app.pool, &token, Purpose::Reset, now)
        .await?
        .ok_or(AppError::LinkExpired)?;
    let hash = passwords::hash(&form.password).await?;
    store::set_password(&app.pool, link.citizen_id, &hash).await?;
    // The link proved the address; every other session and link ends with the old password.
    store::mark_verified(&app.pool, link.citizen_id, now).await?;
    store::void_links(&app.pool, link.citizen_id).await?;
    sessions::close_all_citizen(&app.pool, link.citizen_id).await?;
    session::sign_in(
        &app,
        &headers,
        link.citizen_id,
        now,
        "/area?avviso=password",
    )
    .await
}
