//! The monthly reports' settings: whether the URP's and the departments' reports are e-mailed,
//! on which working day of the month, and to whom besides the URP managers.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use minijinja::context;
use serde::Deserialize;
use sportello_domain::Language;

use super::{log, Admin};
use crate::staff::StaffBar;
use crate::state::AppState;
use crate::statistics::{self as scheduled, ReportSettings};
use crate::web::form::{Errors, ShownError};
use crate::web::{AppError, Lang, Page, Result};

const MAX_RECIPIENTS: usize = 20;
/// `organisations.report_recipients` is a `VARCHAR(1000)`.
const RECIPIENTS_LENGTH: usize = 1000;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Saved {
    salvato: String,
}

pub async fn reports(
    State(app): State<AppState>,
    Lang(language): Lang,
    admin: Admin,
    Query(saved): Query<Saved>,
) -> Result<Response> {
    let current = scheduled::load(&app.pool, app.organisation_id).await?;
    let values = HashMap::from([
        (
            "urp".to_string(),
            if current.urp { "1" } else { "" }.to_string(),
        ),
        (
            "departments".to_string(),
            if current.departments { "1" } else { "" }.to_string(),
        ),
        ("working_day".to_string(), current.working_day.to_string()),
        ("recipients".to_string(), current.recipients.join(", ")),
    ]);
    render(
        &app,
        language,
        &admin,
        &values,
        Vec::new(),
        saved.salvato == "1",
        StatusCode::OK,
    )
}

pub async fn save_reports(
    State(app): State<AppState>,
    Lang(language): Lang,
    admin: Admin,
    Form(values): Form<HashMap<String, String>>,
) -> Result<Response> {
    if !admin
        .0
        .csrf_ok(values.get("csrf_token").map(String::as_str).unwrap_or(""))
    {
        return Err(AppError::Csrf);
    }
    let value = |name: &str| {
        values
            .get(name)
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    let mut errors = Errors::new();
    let working_day = match value("working_day").parse::<u32>() {
        Ok(day) if (1..=10).contains(&day) => day,
        _ => {
            errors.add("working_day", "admin.reports.error.day");
            1
        }
    };
    let recipients: Vec<String> = value("recipients")
        .split([',', ';', '\n'])
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .collect();
    let wrong: Vec<&String> = recipients
        .iter()
        .filter(|a| a.parse::<lettre::Address>().is_err() || a.len() > 254)
        .collect();
    // Kept joined by ", " in a column of RECIPIENTS_LENGTH characters.
    let too_long = recipients.join(", ").chars().count() > RECIPIENTS_LENGTH;
    if !wrong.is_empty() || recipients.len() > MAX_RECIPIENTS || too_long {
        errors.add_with(
            "recipients",
            "admin.reports.error.recipients",
            &[("max", &MAX_RECIPIENTS.to_string())],
        );
    }
    if !errors.is_empty() {
        return render(
            &app,
            language,
            &admin,
            &values,
            errors.shown(language),
            false,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let settings = ReportSettings {
        urp: value("urp") == "1",
        departments: value("departments") == "1",
        working_day,
        recipients,
    };
    scheduled::save(&app.pool, app.organisation_id, &settings).await?;
    log(&app, &admin, "reports", None).await?;
    Ok(Redirect::to("/ufficio/amministrazione/rapporti?salvato=1").into_response())
}

fn render(
    app: &AppState,
    language: Language,
    admin: &Admin,
    values: &HashMap<String, String>,
    errors: Vec<ShownError>,
    saved: bool,
    status: StatusCode,
) -> Result<Response> {
    let page = Page::new(
        language,
        "/ufficio/amministrazione/rapporti",
        &app.organisation_name,
        "admin.reports.title",
    );
    let value = |name: &str| values.get(name).cloned().unwrap_or_default();
    let body = app.templates.render(
        "admin/reports.html",
        context! {
            lang => page.lang, page, staff => StaffBar::new(&admin.0.staff, &admin.0.csrf_token),
            errors, saved,
            urp => value("urp") == "1", departments => value("departments") == "1",
            working_day => value("working_day"), recipients => value("recipients"),
        },
    )?;
    Ok((status, Html(body)).into_response())
}
