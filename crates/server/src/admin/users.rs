//! Staff accounts for administrators: invite by e-mail (a single-use link to set one's own
//! password, valid seven days), change roles and departments, deactivate (which ends every
//! session of that person at once).

use std::collections::HashMap;

use axum::extract::{Path, RawForm, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Duration;
use minijinja::context;
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{log, Admin};
use crate::directory;
use crate::staff::StaffBar;
use crate::staff::{self, password, NewStaff, Role};
use crate::state::AppState;
use crate::web::{csrf, i18n, AppError, Lang, Page, Result};

const INVITATION_DAYS: i64 = 7;

/// Repeated form fields (checkbox groups) as name → values.
fn parse_form(raw: &[u8]) -> HashMap<String, Vec<String>> {
    let mut fields: HashMap<String, Vec<String>> = HashMap::new();
    for (name, value) in form_urlencoded::parse(raw) {
        fields
            .entry(name.into_owned())
            .or_default()
            .push(value.into_owned());
    }
    fields
}

fn one(fields: &HashMap<String, Vec<String>>, name: &str) -> String {
    fields
        .get(name)
        .and_then(|v| v.first())
        .map(|v| v.trim().to_string())
        .unwrap_or_default()
}

fn roles_of(fields: &HashMap<String, Vec<String>>) -> Vec<Role> {
    fields
        .get("role")
        .map(|v| v.iter().filter_map(|r| r.parse().ok()).collect())
        .unwrap_or_default()
}

fn departments_of(fields: &HashMap<String, Vec<String>>) -> Vec<Uuid> {
    fields
        .get("department")
        .map(|v| v.iter().filter_map(|d| Uuid::parse_str(d).ok()).collect())
        .unwrap_or_default()
}

pub async fn users(
    State(app): State<AppState>,
    Lang(language): Lang,
    admin: Admin,
) -> Result<Response> {
    render(
        &app,
        language,
        &admin,
        None,
        &HashMap::new(),
        StatusCode::OK,
    )
    .await
}

async fn render(
    app: &AppState,
    language: sportello_domain::Language,
    admin: &Admin,
    error: Option<String>,
    typed: &HashMap<String, Vec<String>>,
    status: StatusCode,
) -> Result<Response> {
    let people = staff::list(&app.pool, app.organisation_id).await?;
    let departments = directory::departments(&app.pool, app.organisation_id).await?;
    let roles: Vec<(String, String)> = Role::ALL
        .iter()
        .map(|r| {
            (
                r.code().to_string(),
                i18n::text(language, &format!("role.{}", r.code()), &[]),
            )
        })
        .collect();
    let typed_one: HashMap<String, String> = typed
        .iter()
        .map(|(k, v)| (k.clone(), v.first().cloned().unwrap_or_default()))
        .collect();
    let page = Page::new(
        language,
        "/ufficio/amministrazione/personale",
        &app.organisation_name,
        "admin.users.title",
    );
    let body = app.templates.render(
        "admin/users.html",
        context! {
            lang => page.lang, page, staff => StaffBar::new(&admin.0.staff, &admin.0.csrf_token),
            people, departments, roles, error, typed => typed_one,
            typed_roles => typed.get("role").cloned().unwrap_or_default(),
            typed_departments => typed.get("department").cloned().unwrap_or_default(),
        },
    )?;
    Ok((status, Html(body)).into_response())
}

/// Invites a new member of staff: the account exists at once, without a usable password, and an
/// e-mail with a single-use link lets the person choose theirs.
pub async fn add_user(
    State(app): State<AppState>,
    Lang(language): Lang,
    admin: Admin,
    RawForm(raw): RawForm,
) -> Result<Response> {
    let fields = parse_form(&raw);
    if !admin.0.csrf_ok(&one(&fields, "csrf_token")) {
        return Err(AppError::Csrf);
    }
    let (email, name, roles, departments) = (
        one(&fields, "email"),
        one(&fields, "name"),
        roles_of(&fields),
        departments_of(&fields),
    );
    let mut unusable = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut unusable);
    let new = NewStaff {
        organisation_id: app.organisation_id,
        email: &email,
        name: &name,
        password: &URL_SAFE_NO_PAD.encode(unusable),
        roles: &roles,
        departments: &departments,
    };
    let id = match staff::add(&app.pool, new, app.clock.now()).await {
        Ok(id) => id,
        Err(refused @ (staff::AddStaffError::Exists | staff::AddStaffError::Invalid(_))) => {
            let key = match refused {
                staff::AddStaffError::Exists => "admin.error.staff_exists",
                _ => "admin.error.staff_invalid",
            };
            let error = Some(i18n::text(language, key, &[]));
            return render(
                &app,
                language,
                &admin,
                error,
                &fields,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        Err(staff::AddStaffError::Database(error)) => return Err(error.into()),
    };
    invite(&app, id).await?;
    log(&app, &admin, "staff_invited", Some(id)).await?;
    Ok(Redirect::to("/ufficio/amministrazione/personale").into_response())
}

/// Creates an invitation and queues its e-mail (the clear token lives in the outbox row only
/// until the mail is sent, like a tracking token).
async fn invite(app: &AppState, staff_id: Uuid) -> Result<()> {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let now = app.clock.now();
    let mut tx = app.pool.begin().await?;
    sqlx::query(
        "INSERT INTO staff_invitations (token_hash, staff_id, expires_at) VALUES (?, ?, ?)",
    )
    .bind(hex::encode(Sha256::digest(token.as_bytes())))
    .bind(staff_id.to_string())
    .bind(now + Duration::days(INVITATION_DAYS))
    .execute(&mut *tx)
    .await?;
    let mail = sportello_projections::outbox::Mail::Invitation {
        staff: staff_id,
        token: token.clone(),
    };
    sportello_projections::outbox::queue(&mut tx, &mail, now).await?;
    tx.commit().await?;
    app.mail_queued.notify_waiters();
    Ok(())
}

pub async fn save_user(
    State(app): State<AppState>,
    Lang(language): Lang,
    admin: Admin,
    Path(id): Path<Uuid>,
    RawForm(raw): RawForm,
) -> Result<Response> {
    let fields = parse_form(&raw);
    if !admin.0.csrf_ok(&one(&fields, "csrf_token")) {
        return Err(AppError::Csrf);
    }
    let roles = roles_of(&fields);
    if roles.is_empty() {
        let error = Some(i18n::text(language, "admin.error.staff_invalid", &[]));
        return render(
            &app,
            language,
            &admin,
            error,
            &HashMap::new(),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let active = one(&fields, "active") == "1";
    if id == admin.0.staff.id && (!active || !roles.contains(&Role::Administrator)) {
        let error = Some(i18n::text(language, "admin.error.self", &[]));
        return render(
            &app,
            language,
            &admin,
            error,
            &HashMap::new(),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    if !staff::update(
        &app.pool,
        app.organisation_id,
        id,
        &roles,
        &departments_of(&fields),
        active,
    )
    .await?
    {
        return Err(AppError::NotFound);
    }
    if one(&fields, "reset_totp") == "1" {
        staff::reset_totp(&app.pool, id).await?;
    }
    if one(&fields, "reinvite") == "1" {
        invite(&app, id).await?;
    }
    log(&app, &admin, "staff_updated", Some(id)).await?;
    Ok(Redirect::to("/ufficio/amministrazione/personale").into_response())
}

/// The staff id behind a live invitation token.
async fn invited(app: &AppState, token: &str) -> Result<Uuid> {
    let hash = hex::encode(Sha256::digest(token.as_bytes()));
    let row: Option<(String, chrono::DateTime<chrono::Utc>)> =
        sqlx::query_as("SELECT staff_id, expires_at FROM staff_invitations WHERE token_hash = ?")
            .bind(hash)
            .fetch_optional(&app.pool)
            .await?;
    match row {
        Some((id, expires_at)) if expires_at > app.clock.now() => {
            Uuid::parse_str(&id).map_err(|_| AppError::NotFound)
        }
        _ => Err(AppError::NotFound),
    }
}

pub async fn invitation(
    State(app): State<AppState>,
    Lang(language): Lang,
    headers: axum::http::HeaderMap,
    Path(token): Path<String>,
) -> Result<Response> {
    invited(&app, &token).await?;
    render_invitation(&app, language, &headers, &token, None, StatusCode::OK)
}

fn render_invitation(
    app: &AppState,
    language: sportello_domain::Language,
    headers: &axum::http::HeaderMap,
    token: &str,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response> {
    let (csrf_token, cookie) = csrf::issue(&app.csrf_secret, headers, app.secure_cookies());
    let page = Page::new(
        language,
        "/ufficio/accesso",
        &app.organisation_name,
        "invitation.title",
    );
    let body = app.templates.render(
        "admin/invitation.html",
        context! { lang => page.lang, page, token, csrf_token, error },
    )?;
    let mut response = (status, Html(body)).into_response();
    if let Some(cookie) = cookie {
        response.headers_mut().insert(
            axum::http::header::SET_COOKIE,
            cookie.parse().map_err(AppError::internal)?,
        );
    }
    Ok(response)
}

#[derive(serde::Deserialize)]
pub struct PasswordForm {
    csrf_token: String,
    password: String,
    password_confirmation: String,
}

pub async fn accept_invitation(
    State(app): State<AppState>,
    Lang(language): Lang,
    headers: axum::http::HeaderMap,
    Path(token): Path<String>,
    Form(form): Form<PasswordForm>,
) -> Result<Response> {
    let staff_id = invited(&app, &token).await?;
    if !csrf::verify_request(
        &app.csrf_secret,
        &headers,
        Some(&form.csrf_token),
        app.secure_cookies(),
    ) {
        return render_invitation(
            &app,
            language,
            &headers,
            &token,
            Some(i18n::text(language, "login.error.csrf", &[])),
            StatusCode::FORBIDDEN,
        );
    }
    if form.password != form.password_confirmation {
        return render_invitation(
            &app,
            language,
            &headers,
            &token,
            Some(i18n::text(language, "invitation.error.mismatch", &[])),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    if password::check_strength(&form.password).is_err() {
        return render_invitation(
            &app,
            language,
            &headers,
            &token,
            Some(i18n::text(language, "invitation.error.weak", &[])),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    staff::set_password(&app.pool, staff_id, &form.password).await?;
    Ok(Redirect::to("/ufficio/accesso").into_response())
}
