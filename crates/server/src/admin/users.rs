//! Staff accounts for administrators: invite by e-mail (a single-use link to set one's own
//! password, valid seven days), change roles and departments, deactivate (which ends every
//! session of that person at once).

use crate::state::Desk;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Duration;
use minijinja::context;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{log, Admin};
use crate::directory;
use crate::staff::{self, password, NewStaff, Role};
use crate::state::AppState;
use crate::web::checked::{CsrfForm, Refused};
use crate::web::{i18n, AppError, Result, View};

const INVITATION_DAYS: i64 = 7;

/// A member of staff as the administration's forms send them: a new one (name and address),
/// or a change (active, two factors reset, invited again); the role and department checkbox
/// groups as lists.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct StaffForm {
    name: String,
    email: String,
    role: Vec<String>,
    department: Vec<String>,
    active: String,
    reset_totp: String,
    reinvite: String,
}

impl StaffForm {
    fn roles(&self) -> Vec<Role> {
        self.role.iter().filter_map(|r| r.parse().ok()).collect()
    }

    fn departments(&self) -> Vec<Uuid> {
        self.department
            .iter()
            .filter_map(|d| Uuid::parse_str(d).ok())
            .collect()
    }
}

pub async fn users(Desk { app, language }: Desk, admin: Admin) -> Result<Response> {
    let view = users_view(&app, language, &admin, None, &StaffForm::default()).await?;
    app.render(language, view)
}

/// Everyone, the form that invites someone (with what was typed), and an error, if any.
async fn users_view(
    app: &AppState,
    language: sportello_domain::Language,
    admin: &Admin,
    error: Option<String>,
    typed: &StaffForm,
) -> Result<View> {
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
    Ok(View::new(
        "admin/users.html",
        "/ufficio/amministrazione/personale",
        "admin.users.title",
    )
    .with(context! {
        staff => admin.0.bar(), people, departments, roles, error, typed,
        typed_roles => typed.role, typed_departments => typed.department,
    }))
}

/// Invites a new member of staff: the account exists at once, without a usable password, and an
/// e-mail with a single-use link lets the person choose theirs.
pub async fn add_user(
    Desk { app, language }: Desk,
    admin: Admin,
    CsrfForm(fields): CsrfForm<StaffForm>,
) -> Result<Response> {
    let (email, name, roles, departments) = (
        fields.email.trim().to_string(),
        fields.name.trim().to_string(),
        fields.roles(),
        fields.departments(),
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
            let view = users_view(&app, language, &admin, error, &fields).await?;
            return app.render(language, view.status(StatusCode::UNPROCESSABLE_ENTITY));
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
    Desk { app, language }: Desk,
    admin: Admin,
    Path(id): Path<Uuid>,
    CsrfForm(fields): CsrfForm<StaffForm>,
) -> Result<Response> {
    let refuse = |key: &str| {
        let error = Some(i18n::text(language, key, &[]));
        let (app, admin) = (&app, &admin);
        async move {
            let view = users_view(app, language, admin, error, &StaffForm::default()).await?;
            app.render(language, view.status(StatusCode::UNPROCESSABLE_ENTITY))
        }
    };
    let roles = fields.roles();
    if roles.is_empty() {
        return refuse("admin.error.staff_invalid").await;
    }
    let active = fields.active == "1";
    if id == admin.0.staff.id && (!active || !roles.contains(&Role::Administrator)) {
        return refuse("admin.error.self").await;
    }
    if !staff::update(
        &app.pool,
        app.organisation_id,
        id,
        &roles,
        &fields.departments(),
        active,
    )
    .await?
    {
        return Err(AppError::NotFound);
    }
    if fields.reset_totp == "1" {
        staff::reset_totp(&app.pool, id).await?;
    }
    if fields.reinvite == "1" {
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
    Desk { app, language }: Desk,
    headers: axum::http::HeaderMap,
    Path(token): Path<String>,
) -> Result<Response> {
    invited(&app, &token).await?;
    app.render(language, invitation_view(&app, &headers, &token, None))
}

/// The invitation's page: choose a password.
fn invitation_view(
    app: &AppState,
    headers: &axum::http::HeaderMap,
    token: &str,
    error: Option<String>,
) -> View {
    View::new(
        "admin/invitation.html",
        "/ufficio/accesso",
        "invitation.title",
    )
    .public_form(&app.csrf_key(), headers)
    .with(context! { token, error })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PasswordForm {
    password: String,
    password_confirmation: String,
}

pub async fn accept_invitation(
    Desk { app, language }: Desk,
    headers: axum::http::HeaderMap,
    Path(token): Path<String>,
    submitted: std::result::Result<CsrfForm<PasswordForm>, Refused<PasswordForm>>,
) -> Result<Response> {
    let staff_id = invited(&app, &token).await?;
    let refuse = |key: &str, status| {
        let error = Some(i18n::text(language, key, &[]));
        app.render(
            language,
            invitation_view(&app, &headers, &token, error).status(status),
        )
    };
    let form = match submitted {
        Ok(CsrfForm(form)) => form,
        Err(Refused::Forged(_)) => return refuse("login.error.csrf", StatusCode::FORBIDDEN),
        Err(Refused::Malformed(error)) => return Err(error),
    };
    if form.password != form.password_confirmation {
        return refuse(
            "invitation.error.mismatch",
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    if password::check_strength(&form.password).is_err() {
        return refuse("invitation.error.weak", StatusCode::UNPROCESSABLE_ENTITY);
    }
    staff::set_password(&app.pool, staff_id, &form.password).await?;
    Ok(Redirect::to("/ufficio/accesso").into_response())
}
