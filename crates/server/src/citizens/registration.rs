//! Registering, confirming the address (where the password is chosen), and forgetting and
//! resetting the password. No page says whether an address is known: registration and "forgot
//! password" answer the same in every case, and the owner of the address learns the rest by
//! e-mail. A link's GET shows a page; only its POST acts.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::passwords;
use crate::citizen_store::{self as store, session, NewCitizen, Purpose, Registered};
use crate::mail::{is_email, OwnAddresses};
use crate::staff::sessions;
use crate::state::AppState;
use crate::web::checked::{CsrfForm, Refused};
use crate::web::form::Errors;
use crate::web::{AppError, ClientIp, Lang, Result, View};

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

/// The fields of a form whose token failed, with the general error that says so; or the
/// malformed body's error.
pub(super) fn kept<T>(
    submitted: std::result::Result<CsrfForm<T>, Refused<T>>,
    errors: &mut Errors,
) -> Result<T> {
    match submitted {
        Ok(CsrfForm(form)) => Ok(form),
        Err(Refused::Forged(form)) => {
            errors.add("general", "form.error.csrf");
            Ok(form)
        }
        Err(Refused::Malformed(error)) => Err(error),
    }
}

/// "Check your e-mail": the one answer registration and "forgot password" give.
fn mail_sent(
    app: &AppState,
    headers: &HeaderMap,
    language: sportello_domain::Language,
    key: &str,
) -> Result<Response> {
    let view = public(app, headers, "area/message.html", "/area/accesso", "area.mail_sent.title")
        .with(context! { message => key, form => Registration::default(), errors => Errors::new().shown(language) });
    app.render(language, view)
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Registration {
    first_name: String,
    last_name: String,
    email: String,
    privacy: String,
}

fn registration_page(
    app: &AppState,
    headers: &HeaderMap,
    form: &Registration,
    errors: &Errors,
    language: sportello_domain::Language,
) -> View {
    public(
        app,
        headers,
        "area/register.html",
        "/area/registrazione",
        "area.register.title",
    )
    .with(context! { form, errors => errors.shown(language) })
}

pub async fn register_form(
    State(app): State<AppState>,
    Lang(language): Lang,
    headers: HeaderMap,
) -> Result<Response> {
    let view = registration_page(
        &app,
        &headers,
        &Registration::default(),
        &Errors::new(),
        language,
    );
    app.render(language, view)
}

pub async fn register(
    State(app): State<AppState>,
    Lang(language): Lang,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    submitted: std::result::Result<CsrfForm<Registration>, Refused<Registration>>,
) -> Result<Response> {
    let mut errors = Errors::new();
    let form = kept(submitted, &mut errors)?;
    let again = |errors: &Errors, status| {
        app.render(
            language,
            registration_page(&app, &headers, &form, errors, language).status(status),
        )
    };
    if !errors.is_empty() {
        return again(&errors, StatusCode::FORBIDDEN);
    }
    if !app.submissions.allow(client) {
        errors.add("general", "form.error.too_many");
        return again(&errors, StatusCode::TOO_MANY_REQUESTS);
    }
    let (first_name, last_name, email) = (
        form.first_name.trim(),
        form.last_name.trim(),
        form.email.trim(),
    );
    if first_name.is_empty() || first_name.chars().count() > NAME_MAX {
        errors.add("first_name", "form.error.first_name");
    }
    if last_name.is_empty() || last_name.chars().count() > NAME_MAX {
        errors.add("last_name", "form.error.last_name");
    }
    if !is_email(email) {
        errors.add("email", "form.error.email");
    } else if OwnAddresses::load(&app).await?.contains(email) {
        errors.add("email", "form.error.own_address");
    }
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
    language: sportello_domain::Language,
) -> View {
    public(
        app,
        headers,
        "area/confirm_account.html",
        "/area/accesso",
        "area.confirm.title",
    )
    .with(context! { token, email, form, errors => errors.shown(language) })
}

/// The link in the e-mail opens a page where the owner of the address chooses the password
/// (and checks the name): following a link never changes anything by itself.
pub async fn confirm_form(
    State(app): State<AppState>,
    Lang(language): Lang,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response> {
    let link = store::peek(&app.pool, &token, Purpose::Verify, app.clock.now())
        .await?
        .ok_or(AppError::LinkExpired)?;
    let citizen = store::find(&app.pool, link.citizen_id)
        .await?
        .ok_or(AppError::LinkExpired)?;
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
    State(app): State<AppState>,
    Lang(language): Lang,
    headers: HeaderMap,
    Path(token): Path<String>,
    submitted: std::result::Result<CsrfForm<Confirmation>, Refused<Confirmation>>,
) -> Result<Response> {
    let now = app.clock.now();
    let link = store::peek(&app.pool, &token, Purpose::Verify, now)
        .await?
        .ok_or(AppError::LinkExpired)?;
    let citizen = store::find(&app.pool, link.citizen_id)
        .await?
        .ok_or(AppError::LinkExpired)?;
    let mut errors = Errors::new();
    let form = kept(submitted, &mut errors)?;
    let (first_name, last_name) = (form.first_name.trim(), form.last_name.trim());
    if first_name.is_empty() || first_name.chars().count() > NAME_MAX {
        errors.add("first_name", "form.error.first_name");
    }
    if last_name.is_empty() || last_name.chars().count() > NAME_MAX {
        errors.add("last_name", "form.error.last_name");
    }
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

fn forgot_page(
    app: &AppState,
    headers: &HeaderMap,
    form: &Forgotten,
    errors: &Errors,
    language: sportello_domain::Language,
) -> View {
    public(
        app,
        headers,
        "area/forgot.html",
        "/area/password-dimenticata",
        "area.forgot.title",
    )
    .with(context! { form, errors => errors.shown(language) })
}

pub async fn forgot_form(
    State(app): State<AppState>,
    Lang(language): Lang,
    headers: HeaderMap,
) -> Result<Response> {
    let view = forgot_page(
        &app,
        &headers,
        &Forgotten::default(),
        &Errors::new(),
        language,
    );
    app.render(language, view)
}

pub async fn forgot(
    State(app): State<AppState>,
    Lang(language): Lang,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    submitted: std::result::Result<CsrfForm<Forgotten>, Refused<Forgotten>>,
) -> Result<Response> {
    let mut errors = Errors::new();
    let form = kept(submitted, &mut errors)?;
    let email = form.email.trim();
    if !errors.is_empty() {
    } else if !app.submissions.allow(client) {
        errors.add("general", "form.error.too_many");
    } else if !is_email(email) {
        errors.add("email", "form.error.email");
    }
    if !errors.is_empty() {
        let view = forgot_page(&app, &headers, &form, &errors, language)
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
    language: sportello_domain::Language,
) -> View {
    public(
        app,
        headers,
        "area/reset.html",
        "/area/accesso",
        "area.reset.title",
    )
    .with(context! { token, form => NewPassword::default(), errors => errors.shown(language) })
}

pub async fn reset_form(
    State(app): State<AppState>,
    Lang(language): Lang,
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
    State(app): State<AppState>,
    Lang(language): Lang,
    headers: HeaderMap,
    Path(token): Path<String>,
    submitted: std::result::Result<CsrfForm<NewPassword>, Refused<NewPassword>>,
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
