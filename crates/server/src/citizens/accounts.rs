//! Registering, confirming the e-mail address, signing in and out, forgetting and resetting the
//! password, and the profile (password, e-mail, deleting the account). No page says whether an
//! address is known: registration and "forgot password" answer the same in every case, and the
//! owner of the address learns the rest by e-mail. Sign-ins are throttled like staff's.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use minijinja::context;
use serde::Deserialize;
use sportello_domain::Language;
use std::collections::BTreeMap;

use super::respond;
use crate::citizen_store::session::{self, CitizenSignedIn};
use crate::citizen_store::{self as store, NewCitizen, Purpose, Registered};
use crate::mail::is_email;
use crate::staff::{password, sessions, throttle};
use crate::state::AppState;
use crate::web::form::Errors;
use crate::web::{csrf, is_local_path, AppError, ClientIp, Lang, Page, Result};

const NAME_MAX: usize = 100;

type Fields = BTreeMap<String, String>;

fn field<'a>(form: &'a Fields, name: &str) -> &'a str {
    form.get(name).map(String::as_str).unwrap_or("").trim()
}

/// Renders one of the area's public pages with a fresh CSRF token for its form.
#[allow(clippy::too_many_arguments)]
fn public_page(
    app: &AppState,
    language: Language,
    headers: &HeaderMap,
    template: &str,
    path: &str,
    title_key: &'static str,
    form: &Fields,
    errors: &Errors,
    extra: minijinja::Value,
    status: StatusCode,
) -> Result<Response> {
    let (csrf_token, cookie) = csrf::issue(&app.csrf_secret, headers, app.secure_cookies());
    let page = Page::new(language, path, &app.organisation_name, title_key);
    let body = app.templates.render(
        template,
        context! {
            lang => page.lang, page, form, csrf_token, errors => errors.shown(language),
            oidc => app.config.oidc.as_ref().map(|o| o.button_label.clone()), ..extra
        },
    )?;
    respond(status, body, cookie)
}

fn csrf_ok(app: &AppState, headers: &HeaderMap, form: &Fields) -> bool {
    csrf::verify_request(
        &app.csrf_secret,
        headers,
        form.get("csrf_token").map(String::as_str),
        app.secure_cookies(),
    )
}

/// "Check your e-mail": the one answer registration and "forgot password" give.
fn mail_sent(
    app: &AppState,
    language: Language,
    headers: &HeaderMap,
    key: &str,
) -> Result<Response> {
    public_page(
        app,
        language,
        headers,
        "area/message.html",
        "/area/accesso",
        "area.mail_sent.title",
        &Fields::new(),
        &Errors::new(),
        context! { message => key },
        StatusCode::OK,
    )
}

pub async fn register_form(
    State(app): State<AppState>,
    Lang(language): Lang,
    headers: HeaderMap,
) -> Result<Response> {
    public_page(
        &app,
        language,
        &headers,
        "area/register.html",
        "/area/registrazione",
        "area.register.title",
        &Fields::new(),
        &Errors::new(),
        context! {},
        StatusCode::OK,
    )
}

/// Checks a new password and its confirmation into `errors`.
fn check_new_password(form: &Fields, errors: &mut Errors) {
    let new = form.get("password").map(String::as_str).unwrap_or("");
    if password::check_strength(new).is_err() {
        errors.add("password", "area.error.weak_password");
    } else if form.get("password_confirmation").map(String::as_str) != Some(new) {
        errors.add("password_confirmation", "area.error.password_mismatch");
    }
}

pub async fn register(
    State(app): State<AppState>,
    Lang(language): Lang,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    Form(form): Form<Fields>,
) -> Result<Response> {
    let mut errors = Errors::new();
    let again = |errors: &Errors, status| {
        let kept = form.clone();
        public_page(
            &app,
            language,
            &headers,
            "area/register.html",
            "/area/registrazione",
            "area.register.title",
            &kept,
            errors,
            context! {},
            status,
        )
    };
    if !csrf_ok(&app, &headers, &form) {
        errors.add("general", "form.error.csrf");
        return again(&errors, StatusCode::FORBIDDEN);
    }
    if !app.submissions.allow(client) {
        errors.add("general", "form.error.too_many");
        return again(&errors, StatusCode::TOO_MANY_REQUESTS);
    }
    let (first_name, last_name, email) = (
        field(&form, "first_name"),
        field(&form, "last_name"),
        field(&form, "email"),
    );
    if first_name.is_empty() || first_name.chars().count() > NAME_MAX {
        errors.add("first_name", "form.error.first_name");
    }
    if last_name.is_empty() || last_name.chars().count() > NAME_MAX {
        errors.add("last_name", "form.error.last_name");
    }
    if !is_email(email) {
        errors.add("email", "form.error.email");
    } else if crate::mail::OwnAddresses::load(&app).await?.contains(email) {
        errors.add("email", "form.error.own_address");
    }
    if field(&form, "privacy") != "accepted" {
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
    mail_sent(&app, language, &headers, "area.mail_sent.register")
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
    let mut form = Fields::new();
    form.insert("first_name".into(), citizen.first_name.clone());
    form.insert("last_name".into(), citizen.last_name.clone());
    render_confirm(
        &app,
        language,
        &headers,
        &token,
        &citizen,
        &form,
        &Errors::new(),
        StatusCode::OK,
    )
}

#[allow(clippy::too_many_arguments)]
fn render_confirm(
    app: &AppState,
    language: Language,
    headers: &HeaderMap,
    token: &str,
    citizen: &store::Citizen,
    form: &Fields,
    errors: &Errors,
    status: StatusCode,
) -> Result<Response> {
    public_page(
        app,
        language,
        headers,
        "area/confirm_account.html",
        "/area/accesso",
        "area.confirm.title",
        form,
        errors,
        context! { token, email => citizen.email },
        status,
    )
}

pub async fn confirm(
    State(app): State<AppState>,
    Lang(language): Lang,
    headers: HeaderMap,
    Path(token): Path<String>,
    Form(form): Form<Fields>,
) -> Result<Response> {
    let now = app.clock.now();
    let link = store::peek(&app.pool, &token, Purpose::Verify, now)
        .await?
        .ok_or(AppError::LinkExpired)?;
    let citizen = store::find(&app.pool, link.citizen_id)
        .await?
        .ok_or(AppError::LinkExpired)?;
    let mut errors = Errors::new();
    if !csrf_ok(&app, &headers, &form) {
        errors.add("general", "form.error.csrf");
    }
    let (first_name, last_name) = (field(&form, "first_name"), field(&form, "last_name"));
    if first_name.is_empty() || first_name.chars().count() > NAME_MAX {
        errors.add("first_name", "form.error.first_name");
    }
    if last_name.is_empty() || last_name.chars().count() > NAME_MAX {
        errors.add("last_name", "form.error.last_name");
    }
    check_new_password(&form, &mut errors);
    if !errors.is_empty() {
        let mut kept = Fields::new();
        kept.insert("first_name".into(), first_name.to_string());
        kept.insert("last_name".into(), last_name.to_string());
        return render_confirm(
            &app,
            language,
            &headers,
            &token,
            &citizen,
            &kept,
            &errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let link = store::consume(&app.pool, &token, Purpose::Verify, now)
        .await?
        .ok_or(AppError::LinkExpired)?;
    let hash = hash_password(form.get("password").cloned().unwrap_or_default()).await?;
    store::set_names(&app.pool, link.citizen_id, first_name, last_name).await?;
    store::set_password(&app.pool, link.citizen_id, &hash).await?;
    store::mark_verified(&app.pool, link.citizen_id, now).await?;
    store::void_links(&app.pool, link.citizen_id).await?;
    session::sign_in(&app, &headers, link.citizen_id, now, "/area").await
}

/// Argon2 off the async workers (it takes tens of milliseconds of CPU).
async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || password::hash(&password))
        .await
        .map_err(AppError::internal)
}

/// Checks the current password, throttled like a login (a stolen session cannot guess it).
pub(super) async fn current_password_ok(
    app: &AppState,
    client: std::net::IpAddr,
    citizen_id: uuid::Uuid,
    given: &str,
) -> Result<bool> {
    let now = app.clock.now();
    let account = format!("citizen-current:{citizen_id}");
    if !throttle::attempt(&app.pool, &account, &client.to_string(), now).await? {
        return Ok(false);
    }
    let hash = store::password_hash(&app.pool, citizen_id).await?;
    let given = given.to_string();
    let ok = tokio::task::spawn_blocking(move || password::verify(&given, hash.as_deref()))
        .await
        .map_err(AppError::internal)?;
    if ok {
        throttle::succeeded(&app.pool, &account, &client.to_string()).await?;
    }
    Ok(ok)
}

#[derive(Deserialize)]
pub struct Back {
    torna: Option<String>,
}

fn back_to(torna: Option<&str>) -> String {
    torna
        .filter(|path| {
            is_local_path(path)
                && (path.starts_with("/area") || path.starts_with("/segnalazioni/nuova"))
        })
        .unwrap_or("/area")
        .to_string()
}

pub async fn login_form(
    State(app): State<AppState>,
    Lang(language): Lang,
    headers: HeaderMap,
    Query(back): Query<Back>,
) -> Result<Response> {
    let mut form = Fields::new();
    form.insert("torna".into(), back_to(back.torna.as_deref()));
    public_page(
        &app,
        language,
        &headers,
        "area/login.html",
        "/area/accesso",
        "area.login.title",
        &form,
        &Errors::new(),
        context! {},
        StatusCode::OK,
    )
}

pub async fn login(
    State(app): State<AppState>,
    Lang(language): Lang,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    Form(form): Form<Fields>,
) -> Result<Response> {
    let email = field(&form, "email").to_string();
    let back = back_to(form.get("torna").map(String::as_str));
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
        let mut kept = Fields::new();
        kept.insert("email".into(), email.clone());
        kept.insert("torna".into(), back.clone());
        public_page(
            &app,
            language,
            &headers,
            "area/login.html",
            "/area/accesso",
            "area.login.title",
            &kept,
            &errors,
            context! {},
            status,
        )
    };
    if !csrf_ok(&app, &headers, &form) {
        return fail("form.error.csrf", StatusCode::FORBIDDEN);
    }
    let now = app.clock.now();
    if !throttle::attempt(
        &app.pool,
        &format!("citizen:{email}"),
        &client.to_string(),
        now,
    )
    .await?
    {
        return fail("login.error.throttled", StatusCode::TOO_MANY_REQUESTS);
    }
    let found = store::find_by_email(&app.pool, app.organisation_id, &email).await?;
    let hash = found
        .as_ref()
        .and_then(|(c, hash)| hash.clone().filter(|_| c.email_verified));
    let given = form.get("password").cloned().unwrap_or_default();
    let valid = tokio::task::spawn_blocking({
        let hash = hash.clone();
        move || password::verify(&given, hash.as_deref())
    })
    .await
    .map_err(AppError::internal)?;
    let Some((citizen, _)) = found.filter(|_| valid) else {
        return fail("area.error.invalid_login", StatusCode::UNAUTHORIZED);
    };
    throttle::succeeded(&app.pool, &format!("citizen:{email}"), &client.to_string()).await?;
    session::sign_in(&app, &headers, citizen.id, now, &back).await
}

#[derive(Deserialize)]
pub struct TokenOnly {
    csrf_token: String,
}

pub async fn logout(
    State(app): State<AppState>,
    signed_in: CitizenSignedIn,
    Form(form): Form<TokenOnly>,
) -> Result<Response> {
    if !signed_in.csrf_ok(&form.csrf_token) {
        return Err(AppError::Csrf);
    }
    sessions::close(&app.pool, &signed_in.cookie).await?;
    Ok((
        [(header::SET_COOKIE, session::forget_cookie(&app))],
        Redirect::to("/"),
    )
        .into_response())
}

pub async fn forgot_form(
    State(app): State<AppState>,
    Lang(language): Lang,
    headers: HeaderMap,
) -> Result<Response> {
    public_page(
        &app,
        language,
        &headers,
        "area/forgot.html",
        "/area/password-dimenticata",
        "area.forgot.title",
        &Fields::new(),
        &Errors::new(),
        context! {},
        StatusCode::OK,
    )
}

pub async fn forgot(
    State(app): State<AppState>,
    Lang(language): Lang,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    Form(form): Form<Fields>,
) -> Result<Response> {
    let email = field(&form, "email");
    let mut errors = Errors::new();
    if !csrf_ok(&app, &headers, &form) {
        errors.add("general", "form.error.csrf");
    } else if !app.submissions.allow(client) {
        errors.add("general", "form.error.too_many");
    } else if !is_email(email) {
        errors.add("email", "form.error.email");
    }
    if !errors.is_empty() {
        return public_page(
            &app,
            language,
            &headers,
            "area/forgot.html",
            "/area/password-dimenticata",
            "area.forgot.title",
            &form,
            &errors,
            context! {},
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    if let Some((citizen, _)) = store::find_by_email(&app.pool, app.organisation_id, email).await? {
        store::send_link(&app.pool, citizen.id, Purpose::Reset, None, app.clock.now()).await?;
        app.mail_queued.notify_waiters();
    }
    mail_sent(&app, language, &headers, "area.mail_sent.forgot")
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
    public_page(
        &app,
        language,
        &headers,
        "area/reset.html",
        "/area/accesso",
        "area.reset.title",
        &Fields::new(),
        &Errors::new(),
        context! { token },
        StatusCode::OK,
    )
}

pub async fn reset(
    State(app): State<AppState>,
    Lang(language): Lang,
    headers: HeaderMap,
    Path(token): Path<String>,
    Form(form): Form<Fields>,
) -> Result<Response> {
    let now = app.clock.now();
    store::peek(&app.pool, &token, Purpose::Reset, now)
        .await?
        .ok_or(AppError::LinkExpired)?;
    let mut errors = Errors::new();
    if !csrf_ok(&app, &headers, &form) {
        errors.add("general", "form.error.csrf");
    } else {
        check_new_password(&form, &mut errors);
    }
    if !errors.is_empty() {
        return public_page(
            &app,
            language,
            &headers,
            "area/reset.html",
            "/area/accesso",
            "area.reset.title",
            &Fields::new(),
            &errors,
            context! { token },
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let link = store::consume(&app.pool, &token, Purpose::Reset, now)
        .await?
        .ok_or(AppError::LinkExpired)?;
    let hash = hash_password(form.get("password").cloned().unwrap_or_default()).await?;
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

/// The profile page: who I am, and the forms to change password and e-mail or leave.
pub async fn profile(
    State(app): State<AppState>,
    Lang(language): Lang,
    signed_in: CitizenSignedIn,
    Query(notice): Query<Notice>,
) -> Result<Response> {
    render_profile(
        &app,
        language,
        &signed_in,
        &Fields::new(),
        &Errors::new(),
        notice.avviso.as_deref(),
        StatusCode::OK,
    )
}

#[derive(Deserialize)]
pub struct Notice {
    avviso: Option<String>,
}

fn render_profile(
    app: &AppState,
    language: Language,
    signed_in: &CitizenSignedIn,
    form: &Fields,
    errors: &Errors,
    notice: Option<&str>,
    status: StatusCode,
) -> Result<Response> {
    let page = Page::new(
        language,
        "/area/profilo",
        &app.organisation_name,
        "area.profile.title",
    );
    let notice = match notice {
        Some("email") => Some("area.notice.email_link"),
        Some("email_changed") => Some("area.notice.email_changed"),
        Some("password") => Some("area.notice.password_changed"),
        _ => None,
    };
    let body = app.templates.render(
        "area/profile.html",
        context! {
            lang => page.lang, page, citizen => signed_in.citizen, csrf_token => signed_in.csrf_token,
            form, errors => errors.shown(language), notice,
        },
    )?;
    respond(status, body, None)
}

pub async fn change_password(
    State(app): State<AppState>,
    Lang(language): Lang,
    ClientIp(client): ClientIp,
    signed_in: CitizenSignedIn,
    Form(form): Form<Fields>,
) -> Result<Response> {
    if !signed_in.csrf_ok(field(&form, "csrf_token")) {
        return Err(AppError::Csrf);
    }
    let mut errors = Errors::new();
    let id = signed_in.citizen.id;
    if signed_in.citizen.has_password {
        let given = form
            .get("current_password")
            .map(String::as_str)
            .unwrap_or("");
        if !current_password_ok(&app, client, id, given).await? {
            errors.add("current_password", "area.error.current_password");
        }
    }
    check_new_password(&form, &mut errors);
    if !errors.is_empty() {
        return render_profile(
            &app,
            language,
            &signed_in,
            &Fields::new(),
            &errors,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let hash = hash_password(form.get("password").cloned().unwrap_or_default()).await?;
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
    State(app): State<AppState>,
    Lang(language): Lang,
    ClientIp(client): ClientIp,
    signed_in: CitizenSignedIn,
    Form(form): Form<Fields>,
) -> Result<Response> {
    if !signed_in.csrf_ok(field(&form, "csrf_token")) {
        return Err(AppError::Csrf);
    }
    let mut errors = Errors::new();
    let email = field(&form, "new_email");
    if !is_email(email) {
        errors.add("new_email", "form.error.email");
    } else if crate::mail::OwnAddresses::load(&app).await?.contains(email) {
        errors.add("new_email", "form.error.own_address");
    }
    if signed_in.citizen.has_password {
        let given = form.get("email_password").map(String::as_str).unwrap_or("");
        if !current_password_ok(&app, client, signed_in.citizen.id, given).await? {
            errors.add("email_password", "area.error.current_password");
        }
    }
    if errors.is_empty() && !app.submissions.allow(client) {
        errors.add("new_email", "form.error.too_many");
    }
    if !errors.is_empty() {
        let mut kept = Fields::new();
        kept.insert("new_email".into(), email.to_string());
        return render_profile(
            &app,
            language,
            &signed_in,
            &kept,
            &errors,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
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
    State(app): State<AppState>,
    Lang(language): Lang,
    signed_in: CitizenSignedIn,
    Path(token): Path<String>,
) -> Result<Response> {
    let link = store::peek(&app.pool, &token, Purpose::EmailChange, app.clock.now())
        .await?
        .filter(|link| link.citizen_id == signed_in.citizen.id)
        .ok_or(AppError::LinkExpired)?;
    let page = Page::new(
        language,
        "/area/profilo",
        &app.organisation_name,
        "area.email_confirm.title",
    );
    let body = app.templates.render(
        "area/confirm.html",
        context! {
            lang => page.lang, page, csrf_token => signed_in.csrf_token,
            action => format!("/area/nuova-email/{token}"), button => "area.email_confirm.submit",
            text => "area.email_confirm.text", email => link.new_email,
        },
    )?;
    respond(StatusCode::OK, body, None)
}

pub async fn email_confirm(
    State(app): State<AppState>,
    Lang(language): Lang,
    signed_in: CitizenSignedIn,
    Path(token): Path<String>,
    Form(form): Form<Fields>,
) -> Result<Response> {
    if !signed_in.csrf_ok(field(&form, "csrf_token")) {
        return Err(AppError::Csrf);
    }
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
        return render_profile(
            &app,
            language,
            &signed_in,
            &Fields::new(),
            &errors,
            None,
            StatusCode::CONFLICT,
        );
    }
    // Links mailed to the old address (a reset) stop working.
    store::void_links(&app.pool, link.citizen_id).await?;
    Ok(Redirect::to("/area/profilo?avviso=email_changed").into_response())
}
