//! The settings page: answer deadlines per kind, reminder and escalation periods, the patron
//! saint's day, and whether staff must use two-factor authentication.

use crate::state::Desk;
use std::collections::HashMap;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::{Deserialize, Serialize};
use sportello_domain::{Kind, Language, WorkingCalendar};

use super::{log, Admin};
use crate::settings::{self, parse_month_day, Settings};
use crate::web::checked::CsrfForm;
use crate::web::{i18n, Result, View};

/// The settings as the page sends them (every value as typed, checked below).
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SettingsForm {
    days_information: String,
    days_complaint: String,
    days_suggestion: String,
    days_praise: String,
    reminder_days: String,
    escalation_days: String,
    reopen_days: String,
    retention_months: String,
    patron_saint: String,
    require_totp: String,
}

impl SettingsForm {
    /// The values by field name, as the page's fields are built.
    fn values(&self) -> HashMap<String, String> {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(map)) => map
                .into_iter()
                .filter_map(|(name, value)| Some((name, value.as_str()?.to_string())))
                .collect(),
            _ => HashMap::new(),
        }
    }
}

#[derive(Serialize)]
struct Field {
    name: String,
    label: String,
    value: String,
    error: Option<String>,
}

pub async fn settings(Desk { app, language }: Desk, admin: Admin) -> Result<Response> {
    let current = app.settings().await?;
    let mut values: HashMap<String, String> = HashMap::new();
    for kind in Kind::ALL {
        values.insert(
            format!("days_{}", kind.code()),
            current.answer_days_for(kind).to_string(),
        );
    }
    values.insert("reminder_days".into(), current.reminder_days.to_string());
    values.insert("reopen_days".into(), current.reopen_days.to_string());
    values.insert(
        "retention_months".into(),
        current
            .retention_months
            .map(|m| m.to_string())
            .unwrap_or_default(),
    );
    values.insert(
        "escalation_days".into(),
        current.escalation_days.to_string(),
    );
    values.insert(
        "patron_saint".into(),
        current
            .calendar
            .patron_saint
            .map(|(m, d)| format!("{m:02}-{d:02}"))
            .unwrap_or_default(),
    );
    values.insert(
        "require_totp".into(),
        if current.require_totp {
            "1".into()
        } else {
            String::new()
        },
    );
    app.render(
        language,
        settings_view(language, &admin, &values, &HashMap::new()),
    )
}

pub async fn save_settings(
    Desk { app, language }: Desk,
    admin: Admin,
    CsrfForm(form): CsrfForm<SettingsForm>,
) -> Result<Response> {
    let values = form.values();
    let mut errors: HashMap<String, String> = HashMap::new();
    let mut days = |name: &str| -> u32 {
        let value = values.get(name).map(|v| v.trim()).unwrap_or("");
        match value.parse::<u32>() {
            Ok(days) if (1..=365).contains(&days) => days,
            _ => {
                errors.insert(
                    name.to_string(),
                    i18n::text(language, "admin.error.days", &[]),
                );
                0
            }
        }
    };
    let answer_days: HashMap<Kind, u32> = Kind::ALL
        .iter()
        .map(|kind| (*kind, days(&format!("days_{}", kind.code()))))
        .collect();
    let reminder_days = days("reminder_days");
    let escalation_days = days("escalation_days");
    let reopen_days = match values
        .get("reopen_days")
        .map(|v| v.trim())
        .unwrap_or("")
        .parse::<u32>()
    {
        Ok(days) if days <= 3650 => days,
        _ => {
            errors.insert(
                "reopen_days".into(),
                i18n::text(language, "admin.error.reopen_days", &[]),
            );
            0
        }
    };
    let retention_text = values
        .get("retention_months")
        .map(|v| v.trim())
        .unwrap_or("");
    let retention_months = match retention_text.parse::<u32>() {
        _ if retention_text.is_empty() => None,
        Ok(months) if (1..=1200).contains(&months) => Some(months),
        _ => {
            errors.insert(
                "retention_months".into(),
                i18n::text(language, "admin.error.retention", &[]),
            );
            None
        }
    };
    let patron_text = values.get("patron_saint").map(|v| v.trim()).unwrap_or("");
    let patron_saint = if patron_text.is_empty() {
        None
    } else {
        parse_month_day(patron_text)
    };
    if !patron_text.is_empty() && patron_saint.is_none() {
        errors.insert(
            "patron_saint".into(),
            i18n::text(language, "admin.error.patron_saint", &[]),
        );
    }
    if !errors.is_empty() {
        let view = settings_view(language, &admin, &values, &errors);
        return app.render(language, view.status(StatusCode::UNPROCESSABLE_ENTITY));
    }
    let settings = Settings {
        answer_days,
        reminder_days,
        escalation_days,
        calendar: WorkingCalendar { patron_saint },
        require_totp: values.get("require_totp").is_some_and(|v| v == "1"),
        reopen_days,
        retention_months,
    };
    settings::save(&app.pool, app.organisation_id, &settings).await?;
    app.kept_settings.forget();
    log(&app, &admin, "settings", None).await?;
    Ok(Redirect::to("/ufficio/amministrazione/impostazioni?salvato=1").into_response())
}

/// The settings page with `values` as typed and their `errors`.
fn settings_view(
    language: Language,
    admin: &Admin,
    values: &HashMap<String, String>,
    errors: &HashMap<String, String>,
) -> View {
    let value = |name: &str| values.get(name).cloned().unwrap_or_default();
    let field = |name: String, label: String| Field {
        value: value(&name),
        error: errors.get(&name).cloned(),
        name,
        label,
    };
    let mut fields: Vec<Field> = Kind::ALL
        .iter()
        .map(|kind| {
            field(
                format!("days_{}", kind.code()),
                i18n::text(
                    language,
                    "admin.settings.answer_days",
                    &[(
                        "kind",
                        &i18n::text(language, &format!("kind.{}", kind.code()), &[]),
                    )],
                ),
            )
        })
        .collect();
    fields.push(field(
        "reminder_days".into(),
        i18n::text(language, "admin.settings.reminder_days", &[]),
    ));
    fields.push(field(
        "escalation_days".into(),
        i18n::text(language, "admin.settings.escalation_days", &[]),
    ));
    View::new(
        "admin/settings.html",
        "/ufficio/amministrazione/impostazioni",
        "admin.settings.title",
    )
    .with(context! {
        staff => admin.0.bar(),
        fields, patron_saint => value("patron_saint"), patron_error => errors.get("patron_saint"),
        require_totp => value("require_totp") == "1",
        reopen_days => value("reopen_days"), reopen_error => errors.get("reopen_days"),
        retention_months => value("retention_months"), retention_error => errors.get("retention_months"),
        errors => errors.values().collect::<Vec<_>>(),
    })
}
