//! API clients for administrators: create one (name, scopes, departments), see its token once,
//! see when each was last used, revoke one. A revoked client's token opens nothing from the
//! next call on.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{log, Admin};
use crate::api::{self as clients, NewClient, Scope};
use crate::directory;
use crate::state::{AppState, Desk};
use crate::web::checked::CsrfForm;
use crate::web::form::Errors;
use crate::web::{i18n, AppError, Result, View};

pub const PAGE: &str = "/ufficio/amministrazione/api";

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ClientForm {
    name: String,
    scope: Vec<String>,
    department: Vec<String>,
}

#[derive(Serialize)]
struct Shown {
    id: String,
    name: String,
    scopes: Vec<&'static str>,
    departments: Vec<String>,
    created: String,
    last_used: Option<String>,
    revoked: Option<String>,
}

pub async fn page(Desk { app, language }: Desk, admin: Admin) -> Result<Response> {
    let view = clients_view(
        &app,
        language,
        &admin,
        &Errors::new(),
        &ClientForm::default(),
        None,
    )
    .await?;
    app.render(language, view)
}

async fn clients_view(
    app: &AppState,
    language: sportello_domain::Language,
    admin: &Admin,
    errors: &Errors,
    typed: &ClientForm,
    created: Option<(String, String)>,
) -> Result<View> {
    let departments = directory::departments(&app.pool, app.organisation_id).await?;
    let names: std::collections::HashMap<Uuid, String> =
        departments.iter().map(|d| (d.id, d.name.clone())).collect();
    let shown: Vec<Shown> = clients::all_clients(&app.pool, app.organisation_id)
        .await?
        .into_iter()
        .map(|client| Shown {
            id: client.id.to_string(),
            name: client.name,
            scopes: client.scopes.iter().map(|s| s.code()).collect(),
            departments: client
                .departments
                .iter()
                .map(|d| names.get(d).cloned().unwrap_or_else(|| d.to_string()))
                .collect(),
            created: i18n::date_time(language, client.created_at),
            last_used: client.last_used_at.map(|at| i18n::date_time(language, at)),
            revoked: client.revoked_at.map(|at| i18n::date_time(language, at)),
        })
        .collect();
    let scopes: Vec<&str> = Scope::ALL.iter().map(|s| s.code()).collect();
    let (created_name, token) = created.unzip();
    Ok(View::new("admin/api_clients.html", PAGE, "admin.api.title")
        .with(context! {
            staff => admin.0.bar(), clients => shown, departments, scopes,
            errors => errors.shown(language), typed, created_name, token,
        })
        .private())
}

/// Creates a client and shows its token, this once.
pub async fn create(
    Desk { app, language }: Desk,
    admin: Admin,
    CsrfForm(typed): CsrfForm<ClientForm>,
) -> Result<Response> {
    let mut errors = Errors::new();
    let name = typed.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 200 {
        errors.add("name", "admin.api.error.name");
    }
    let scopes: Vec<Scope> = typed.scope.iter().filter_map(|s| Scope::of(s)).collect();
    if scopes.is_empty() || scopes.len() != typed.scope.len() {
        errors.add("scopes", "admin.api.error.scopes");
    }
    let known: Vec<Uuid> = directory::departments(&app.pool, app.organisation_id)
        .await?
        .into_iter()
        .map(|d| d.id)
        .collect();
    let departments: Vec<Uuid> = typed
        .department
        .iter()
        .filter_map(|d| Uuid::parse_str(d).ok())
        .filter(|d| known.contains(d))
        .collect();
    if departments.len() != typed.department.len() {
        errors.add("departments", "admin.api.error.departments");
    } else if !departments.is_empty() && scopes.iter().any(|s| s.whole_organisation()) {
        errors.add("departments", "admin.api.error.limited_scopes");
    }
    if !errors.is_empty() {
        let view = clients_view(&app, language, &admin, &errors, &typed, None).await?;
        return app.render(language, view.status(StatusCode::UNPROCESSABLE_ENTITY));
    }
    let new = NewClient {
        name: name.clone(),
        scopes,
        departments,
    };
    let (id, token) = clients::create_client(
        &app.pool,
        app.organisation_id,
        admin.0.staff.id,
        &new,
        app.clock.now(),
    )
    .await?;
    log(&app, &admin, "api_client_created", Some(id)).await?;
    let view = clients_view(
        &app,
        language,
        &admin,
        &Errors::new(),
        &ClientForm::default(),
        Some((name, token)),
    )
    .await?;
    app.render(language, view.status(StatusCode::CREATED))
}

pub async fn revoke(
    Desk { app, .. }: Desk,
    admin: Admin,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<ClientForm>,
) -> Result<Response> {
    let id = Uuid::parse_str(&id).map_err(|_| AppError::NotFound)?;
    if !clients::revoke_client(&app.pool, app.organisation_id, id, app.clock.now()).await? {
        return Err(AppError::NotFound);
    }
    log(&app, &admin, "api_client_revoked", Some(id)).await?;
    Ok(Redirect::to(PAGE).into_response())
}
