//! The administrators' webhook pages: the endpoints with the form that registers one (its secret
//! shown once), and each endpoint's delivery log with "send again", disable and enable.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::{Deserialize, Serialize};
use sportello_domain::RequestEvent;
use uuid::Uuid;

use super::store::{self, NewEndpoint};
use crate::admin::{log as admin_log, Admin};
use crate::directory;
use crate::state::{AppState, Desk};
use crate::web::checked::CsrfForm;
use crate::web::form::Errors;
use crate::web::{i18n, AppError, Result, View};

pub const PAGE: &str = "/ufficio/amministrazione/webhook";

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct EndpointForm {
    url: String,
    event: Vec<String>,
    department: String,
    personal: String,
    /// `on` or `off` (the switch on the log page).
    state: String,
}

#[derive(Serialize)]
struct Shown {
    id: String,
    url: String,
    events: String,
    department: Option<String>,
    personal: bool,
    active: bool,
    disabled: Option<String>,
    disabled_reason: Option<String>,
}

pub async fn list(Desk { app, language }: Desk, admin: Admin) -> Result<Response> {
    let view = list_view(
        &app,
        language,
        &admin,
        &Errors::new(),
        &EndpointForm::default(),
        None,
    )
    .await?;
    app.render(language, view)
}

/// An endpoint as the pages show it; `departments` are the organisation's names, read once.
fn shown(
    language: sportello_domain::Language,
    departments: &std::collections::HashMap<Uuid, String>,
    endpoint: store::Endpoint,
) -> Shown {
    Shown {
        events: if endpoint.event_types.is_empty() {
            i18n::text(language, "webhooks.all_events", &[])
        } else {
            endpoint
                .event_types
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(", ")
        },
        department: endpoint
            .department_id
            .as_deref()
            .and_then(|d| Uuid::parse_str(d).ok())
            .and_then(|d| departments.get(&d).cloned()),
        disabled: endpoint.disabled_at.map(|at| i18n::date_time(language, at)),
        disabled_reason: endpoint
            .disabled_reason
            .map(|code| super::failure_text(language, &code)),
        id: endpoint.id,
        url: endpoint.url,
        personal: endpoint.personal,
        active: endpoint.active,
    }
}

async fn list_view(
    app: &AppState,
    language: sportello_domain::Language,
    admin: &Admin,
    errors: &Errors,
    typed: &EndpointForm,
    secret: Option<String>,
) -> Result<View> {
    let departments = directory::departments(&app.pool, app.organisation_id).await?;
    let names: std::collections::HashMap<Uuid, String> =
        departments.iter().map(|d| (d.id, d.name.clone())).collect();
    let endpoints: Vec<Shown> = store::all(&app.pool, app.organisation_id)
        .await?
        .into_iter()
        .map(|endpoint| shown(language, &names, endpoint))
        .collect();
    Ok(View::new("admin/webhooks.html", PAGE, "webhooks.title")
        .with(context! {
            staff => admin.0.bar(), endpoints, departments, typed, secret,
            event_names => RequestEvent::NAMES, errors => errors.shown(language),
        })
        .private())
}

pub async fn create(
    Desk { app, language }: Desk,
    admin: Admin,
    CsrfForm(typed): CsrfForm<EndpointForm>,
) -> Result<Response> {
    let mut errors = Errors::new();
    let url = typed.url.trim().to_string();
    if !super::acceptable(&app, &url) {
        errors.add("url", "webhooks.error.url");
    }
    if typed
        .event
        .iter()
        .any(|e| !RequestEvent::NAMES.contains(&e.as_str()))
    {
        errors.add("events", "webhooks.error.events");
    }
    let department = match typed.department.trim() {
        "" => None,
        chosen => {
            let known = directory::departments(&app.pool, app.organisation_id).await?;
            match known.into_iter().find(|d| d.id.to_string() == chosen) {
                Some(d) => Some(d.id),
                None => {
                    errors.add("department", "webhooks.error.department");
                    None
                }
            }
        }
    };
    if !errors.is_empty() {
        let view = list_view(&app, language, &admin, &errors, &typed, None).await?;
        return app.render(language, view.status(StatusCode::UNPROCESSABLE_ENTITY));
    }
    let new = NewEndpoint {
        url,
        event_types: {
            let mut types = typed.event.clone();
            types.sort();
            types.dedup();
            types
        },
        department,
        personal: typed.personal == "1",
    };
    let (id, secret) = store::create(
        &app.pool,
        app.organisation_id,
        admin.0.staff.id,
        &new,
        app.clock.now(),
    )
    .await?;
    admin_log(&app, &admin, "webhook_created", Some(id)).await?;
    let view = list_view(
        &app,
        language,
        &admin,
        &Errors::new(),
        &EndpointForm::default(),
        Some(secret),
    )
    .await?;
    app.render(language, view.status(StatusCode::CREATED))
}

#[derive(Serialize)]
struct ShownDelivery {
    id: String,
    event_type: String,
    reference: String,
    status: String,
    attempts: i32,
    last: String,
    created: String,
    when: String,
}

pub async fn log(
    Desk { app, language }: Desk,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<Response> {
    let endpoint = store::find(&app.pool, app.organisation_id, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    let deliveries: Vec<ShownDelivery> = store::deliveries(&app.pool, &endpoint.id)
        .await?
        .into_iter()
        .map(|d| ShownDelivery {
            last: match (d.last_status, &d.last_error) {
                (Some(code), _) => format!("HTTP {code}"),
                (None, Some(error)) => super::failure_text(language, error),
                (None, None) => String::new(),
            },
            when: match d.status.as_str() {
                "delivered" => d
                    .delivered_at
                    .map(|at| i18n::date_time(language, at))
                    .unwrap_or_default(),
                "pending" => i18n::date_time(language, d.next_attempt_at),
                _ => String::new(),
            },
            created: i18n::date_time(language, d.created_at),
            reference: d.reference.unwrap_or_default(),
            id: d.id,
            event_type: d.event_type,
            status: d.status,
            attempts: d.attempts,
        })
        .collect();
    let departments = directory::department_names(&app.pool, app.organisation_id).await?;
    let endpoint = shown(language, &departments, endpoint);
    let view = View::new("admin/webhook.html", PAGE, "webhooks.log_title")
        .with(context! { staff => admin.0.bar(), endpoint, deliveries })
        .private();
    app.render(language, view)
}

/// Disables or enables an endpoint (enabling resumes its pending deliveries).
pub async fn switch(
    Desk { app, .. }: Desk,
    admin: Admin,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<EndpointForm>,
) -> Result<Response> {
    let active = match form.state.as_str() {
        "on" => true,
        "off" => false,
        _ => return Err(AppError::NotFound),
    };
    if !store::set_active(&app.pool, app.organisation_id, &id, active, app.clock.now()).await? {
        return Err(AppError::NotFound);
    }
    let action = if active {
        "webhook_enabled"
    } else {
        "webhook_disabled"
    };
    admin_log(&app, &admin, action, Uuid::parse_str(&id).ok()).await?;
    Ok(Redirect::to(&format!("{PAGE}/{id}")).into_response())
}

/// "Send again": a delivery goes back in the queue with a new day of retries.
pub async fn send_again(
    Desk { app, .. }: Desk,
    admin: Admin,
    Path((id, delivery)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<EndpointForm>,
) -> Result<Response> {
    let endpoint = store::find(&app.pool, app.organisation_id, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !store::send_again(&app.pool, &endpoint.id, &delivery, app.clock.now()).await? {
        return Err(AppError::NotFound);
    }
    admin_log(
        &app,
        &admin,
        "webhook_sent_again",
        Uuid::parse_str(&id).ok(),
    )
    .await?;
    Ok(Redirect::to(&format!("{PAGE}/{id}")).into_response())
}
