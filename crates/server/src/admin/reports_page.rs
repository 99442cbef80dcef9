//! The monthly reports' settings: whether the URP's and the departments' reports are e-mailed,
//! on which working day of the month, and to whom besides the URP managers.

use crate::state::Desk;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;

use super::{log, Admin};
use crate::statistics::{self as scheduled, ReportSettings};
use crate::web::checked::CsrfForm;
use crate::web::form::{Errors, ShownError};
use crate::web::{Result, View};

const MAX_RECIPIENTS: usize = 20;
/// `organisations.report_recipients` is a `VARCHAR(1000)`.
const RECIPIENTS_LENGTH: usize = 1000;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Saved {
    salvato: String,
}

pub async fn reports(
    Desk { app, language }: Desk,
    admin: Admin,
    Query(saved): Query<Saved>,
) -> Result<Response> {
    let current = scheduled::load(&app.pool, app.organisation_id).await?;
    let form = ReportsForm {
        urp: if current.urp { "1" } else { "" }.to_string(),
        departments: if current.departments { "1" } else { "" }.to_string(),
        working_day: current.working_day.to_string(),
        recipients: current.recipients.join(", "),
    };
    let view =
        reports_view(&admin, &form, Vec::new()).with(context! { saved => saved.salvato == "1" });
    app.render(language, view)
}

/// The reports' settings as typed.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ReportsForm {
    urp: String,
    departments: String,
    working_day: String,
    recipients: String,
}

pub async fn save_reports(
    Desk { app, language }: Desk,
    admin: Admin,
    CsrfForm(form): CsrfForm<ReportsForm>,
) -> Result<Response> {
    let mut errors = Errors::new();
    let working_day = match form.working_day.trim().parse::<u32>() {
        Ok(day) if (1..=10).contains(&day) => day,
        _ => {
            errors.add("working_day", "admin.reports.error.day");
            1
        }
    };
    let recipients: Vec<String> = form
        .recipients
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
        let view = reports_view(&admin, &form, errors.shown(language))
            .status(StatusCode::UNPROCESSABLE_ENTITY);
        return app.render(language, view);
    }
    let settings = ReportSettings {
        urp: form.urp == "1",
        departments: form.departments == "1",
        working_day,
        recipients,
    };
    scheduled::save(&app.pool, app.organisation_id, &settings).await?;
    log(&app, &admin, "reports", None).await?;
    Ok(Redirect::to("/ufficio/amministrazione/rapporti?salvato=1").into_response())
}

/// The reports' settings page, with what was typed and its errors.
fn reports_view(admin: &Admin, form: &ReportsForm, errors: Vec<ShownError>) -> View {
    View::new(
        "admin/reports.html",
        "/ufficio/amministrazione/rapporti",
        "admin.reports.title",
    )
    .with(context! {
        staff => admin.0.bar(), errors,
        urp => form.urp == "1", departments => form.departments == "1",
        working_day => form.working_day, recipients => form.recipients,
    })
}
