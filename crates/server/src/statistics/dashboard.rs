//! The dashboard: a period (compared with the one before) and filters, the headline figures,
//! charts with their tables, and every table as CSV or XLSX.

use crate::state::Desk;
use crate::web::form::Choice;
use axum::extract::{Path, Query};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use minijinja::context;
use serde::{Deserialize, Serialize};
use sportello_domain::{rome_date, Channel, Kind, Language};

use super::charts::{self, Chart};
use super::export;
use super::figures::{self, Figures, Scope};
use super::period::{self, Period};
use super::report::{self, Names, Table};
use crate::directory;
use crate::staff::SignedIn;
use crate::staff::StaffBar;
use crate::staff::{Role, Staff};
use crate::state::AppState;
use crate::web::form::{Errors, ShownError};
use crate::web::{i18n, AppError, Page, Result};

#[derive(Debug, Default, Deserialize, Serialize, Clone)]
#[serde(default)]
pub struct Filters {
    dal: String,
    al: String,
    tipo: String,
    argomento: String,
    canale: String,
    ufficio: String,
    tabella: String,
    lingua: String,
}

impl Filters {
    /// The query string that keeps the period and filters (for exports and period links).
    fn query(&self) -> String {
        crate::web::query_string(&[
            ("dal", &self.dal),
            ("al", &self.al),
            ("tipo", &self.tipo),
            ("argomento", &self.argomento),
            ("canale", &self.canale),
            ("ufficio", &self.ufficio),
        ])
    }
}

/// Whether someone reads the statistics of the whole organisation (not only their departments).
fn sees_everything(staff: &Staff) -> bool {
    staff.has(Role::UrpManager) || staff.has(Role::Administrator)
}

/// Managers and administrators see the whole organisation; a referent their departments.
fn scope_for(staff: &Staff, organisation_id: String) -> Result<Scope> {
    let departments = if sees_everything(staff) {
        None
    } else if staff.has(Role::Referent) {
        Some(staff.departments.iter().map(|d| d.to_string()).collect())
    } else {
        return Err(AppError::NotFound);
    };
    Ok(Scope {
        organisation_id,
        departments,
        ..Scope::default()
    })
}

/// The names of topics (active or not) and departments, in the reader's language.
pub async fn names(app: &AppState, language: Language) -> Result<Names> {
    let topics = crate::directory::all_topics(&app.pool, app.organisation_id).await?;
    Ok(Names {
        language,
        topics: topics
            .into_iter()
            .map(|t| {
                let name = if language == Language::En {
                    t.name_en
                } else {
                    t.name_it
                };
                (t.code, name)
            })
            .collect(),
        departments: directory::departments(&app.pool, app.organisation_id)
            .await?
            .into_iter()
            .map(|d| (d.id.to_string(), d.name))
            .collect(),
    })
}

pub struct Computed {
    pub current: Figures,
    pub previous: Figures,
    pub names: Names,
    errors: Vec<ShownError>,
}

async fn compute(
    app: &AppState,
    language: Language,
    staff: &Staff,
    filters: &Filters,
) -> Result<Computed> {
    let mut scope = scope_for(staff, app.organisation_id.to_string())?;
    let now = app.clock.now();
    let today = rome_date(now);
    let mut errors = Errors::new();
    let period = match period::parse(&filters.dal, &filters.al, today) {
        Ok(period) => period,
        Err(key) => {
            errors.add(
                if key == "statistics.error.to" {
                    "al"
                } else {
                    "dal"
                },
                key,
            );
            period::parse("", "", today).expect("the default period is valid")
        }
    };
    let some = |text: &str| (!text.trim().is_empty()).then(|| text.trim().to_string());
    scope.kind = some(&filters.tipo).filter(|k| Kind::parse(k).is_some());
    scope.topic = some(&filters.argomento);
    scope.channel = some(&filters.canale).filter(|c| Channel::ALL.iter().any(|ch| ch.code() == c));
    scope.department = some(&filters.ufficio);
    if let (Some(allowed), Some(department)) = (&scope.departments, &scope.department) {
        if !allowed.contains(department) {
            return Err(AppError::NotFound);
        }
    }
    let mut computed = figures_for(app, language, &scope, period).await?;
    computed.errors = errors.shown(language);
    Ok(computed)
}

/// The figures of a period and of the one before, with the names to show them.
pub async fn figures_for(
    app: &AppState,
    language: Language,
    scope: &Scope,
    period: Period,
) -> Result<Computed> {
    let now = app.clock.now();
    // The two periods on two connections at once: the database works on both cores.
    let (current, previous, names) = tokio::join!(
        figures::compute(&app.pool, scope, period, now),
        figures::compute(&app.pool, scope, period.previous(), now),
        names(app, language),
    );
    let (current, previous, names) = (current?, previous?, names?);
    Ok(Computed {
        current,
        previous,
        names,
        errors: Vec::new(),
    })
}

/// The period report "L'URP in cifre" as a PDF, and every table as one XLSX workbook.
pub fn report_files(app: &AppState, computed: &Computed) -> (Vec<u8>, Vec<u8>) {
    let tables = report::all(&computed.current, &computed.previous, &computed.names);
    (report_pdf(app, computed), export::xlsx(&tables))
}

/// The period report "L'URP in cifre" as a PDF.
pub fn report_pdf(app: &AppState, computed: &Computed) -> Vec<u8> {
    let language = computed.names.language;
    let t = |key: &str| i18n::text(language, key, &[]);
    let tables = report::all(&computed.current, &computed.previous, &computed.names);
    let period = computed.current.period.expect("computed for a period");
    let previous = computed.previous.period.expect("computed for a period");
    let period_text = i18n::text(
        language,
        "statistics.period_text",
        &[
            ("from", &i18n::long_date(language, period.from)),
            ("to", &i18n::long_date(language, period.to)),
        ],
    );
    let previous_text = i18n::text(
        language,
        "statistics.previous_text",
        &[
            ("from", &i18n::long_date(language, previous.from)),
            ("to", &i18n::long_date(language, previous.to)),
        ],
    );
    let generated = i18n::text(
        language,
        "statistics.generated",
        &[("at", &i18n::date_time(language, app.clock.now()))],
    );
    let with_charts: Vec<(Table, Option<Chart>)> = tables
        .iter()
        .map(|table| (table.clone(), chart_for(table, computed)))
        .collect();
    let cover = super::pdf_report::Cover {
        organisation: &app.organisation_name,
        title: &t("transparency.title"),
        period: &period_text,
        previous: &previous_text,
        note: &t("statistics.times_note"),
        generated: &generated,
    };
    super::pdf_report::render(&cover, &with_charts, language)
}

#[derive(Serialize)]
struct Headline {
    key: &'static str,
    value: String,
    previous: String,
    /// "+12%" / "−3%" when both are numbers.
    change: Option<String>,
}

#[derive(Serialize)]
struct Shown {
    id: &'static str,
    title: String,
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    chart: Option<Chart>,
}

fn headlines(computed: &Computed, language: Language) -> Vec<Headline> {
    let number = |cell: &report::Cell| match cell {
        report::Cell::Int(n) => Some(*n as f64),
        report::Cell::Num(v) => *v,
        report::Cell::Text(_) => None,
    };
    let signed = |text: String, negative: bool| {
        if negative {
            format!("−{}", text.trim_start_matches('-'))
        } else {
            format!("+{text}")
        }
    };
    report::summary_rows(&computed.current, &computed.previous)
        .into_iter()
        .map(|(key, now, before)| {
            let change = match (key, number(&now), number(&before)) {
                // A share changes by percentage points, an average by its own unit.
                ("in_time_share", Some(now), Some(before)) => {
                    let points = (now - before).round();
                    let text = i18n::text(
                        language,
                        "statistics.points",
                        &[("n", &format!("{:.0}", points.abs()))],
                    );
                    Some(signed(text, points < 0.0))
                }
                ("average_stars", Some(now), Some(before)) => {
                    let difference = ((now - before) * 10.0).round() / 10.0;
                    let text = report::shown(&report::Cell::Num(Some(difference.abs())), language);
                    Some(signed(text, difference < 0.0))
                }
                (_, Some(now), Some(before)) if before != 0.0 => {
                    let percent = ((now - before) / before * 100.0).round();
                    Some(signed(format!("{:.0}%", percent.abs()), percent < 0.0))
                }
                _ => None,
            };
            Headline {
                key,
                value: report::shown(&now, language),
                previous: report::shown(&before, language),
                change,
            }
        })
        .collect()
}

fn chart_for(table: &Table, computed: &Computed) -> Option<Chart> {
    let names = &computed.names;
    let t = |key: &str| i18n::text(names.language, key, &[]);
    // Only the tables with a chart have a description (looked up in each arm).
    let description = || t(&format!("statistics.chart.{}", table.id));
    let number = |cell: &report::Cell| match cell {
        report::Cell::Int(n) => *n,
        _ => 0,
    };
    match table.id {
        "trend" => {
            let points: Vec<(String, Vec<i64>)> = table
                .rows
                .iter()
                .map(|row| {
                    (
                        report::shown(&row[0], names.language),
                        vec![number(&row[1]), number(&row[2])],
                    )
                })
                .collect();
            Some(charts::columns(
                "chart-trend",
                &table.title,
                &description(),
                &[
                    t("statistics.measure.received"),
                    t("statistics.measure.answered"),
                ],
                &points,
            ))
        }
        "by_kind" | "by_topic" | "by_channel" | "by_department" | "aging" => {
            let rows: Vec<(String, i64)> = table
                .rows
                .iter()
                .map(|row| (report::shown(&row[0], names.language), number(&row[1])))
                .collect();
            Some(charts::bars(
                &format!("chart-{}", table.id),
                &table.title,
                &description(),
                &rows,
            ))
        }
        "satisfaction" => {
            let rows: Vec<(String, i64)> = table
                .rows
                .iter()
                .take(5)
                .map(|row| (report::shown(&row[0], names.language), number(&row[1])))
                .collect();
            Some(charts::bars(
                "chart-satisfaction",
                &table.title,
                &description(),
                &rows,
            ))
        }
        _ => None,
    }
}

pub async fn dashboard(
    Desk { app, language }: Desk,
    signed_in: SignedIn,
    Query(filters): Query<Filters>,
) -> Result<Response> {
    let staff = &signed_in.staff;
    let computed = compute(&app, language, staff, &filters).await?;
    let tables = report::all(&computed.current, &computed.previous, &computed.names);
    let shown: Vec<Shown> = tables
        .iter()
        .skip(1)
        .map(|table| Shown {
            id: table.id,
            title: table.title.clone(),
            headers: table.headers.clone(),
            rows: table
                .rows
                .iter()
                .map(|row| {
                    row.iter()
                        .map(|cell| report::shown(cell, language))
                        .collect()
                })
                .collect(),
            chart: chart_for(table, &computed),
        })
        .collect();
    let period = computed.current.period.expect("computed for a period");
    let previous = computed.previous.period.expect("computed for a period");
    let today = rome_date(app.clock.now());
    let presets = presets(today, language);
    let kinds: Vec<Choice> = Kind::ALL
        .iter()
        .map(|k| Choice {
            value: k.code().into(),
            label: computed.names.kind(k.code()),
        })
        .collect();
    let channels: Vec<Choice> = Channel::ALL
        .iter()
        .map(|c| Choice {
            value: c.code().into(),
            label: computed.names.channel(c.code()),
        })
        .collect();
    let mut topics: Vec<Choice> = computed
        .names
        .topics
        .iter()
        .map(|(code, name)| Choice {
            value: code.clone(),
            label: name.clone(),
        })
        .collect();
    topics.sort_by(|a, b| a.label.cmp(&b.label));
    let mut departments: Vec<Choice> = computed
        .names
        .departments
        .iter()
        .filter(|(id, _)| {
            sees_everything(staff) || staff.departments.iter().any(|d| d.to_string() == **id)
        })
        .map(|(id, name)| Choice {
            value: id.clone(),
            label: name.clone(),
        })
        .collect();
    departments.sort_by(|a, b| a.label.cmp(&b.label));
    let page = Page::new(
        language,
        "/ufficio/statistiche",
        &app.organisation_name,
        "statistics.title",
    );
    let body = app.templates.render(
        "statistics/dashboard.html",
        context! {
            lang => page.lang, page, staff => StaffBar::new(staff, &signed_in.csrf_token),
            filters, errors => computed.errors, headlines => headlines(&computed, language),
            tables => shown, kinds, channels, topics, departments, presets,
            period_text => i18n::text(language, "statistics.period_text", &[
                ("from", &i18n::long_date(language, period.from)),
                ("to", &i18n::long_date(language, period.to)),
            ]),
            previous_text => i18n::text(language, "statistics.previous_text", &[
                ("from", &i18n::long_date(language, previous.from)),
                ("to", &i18n::long_date(language, previous.to)),
            ]),
            from => period.from.to_string(), to => period.to.to_string(),
            export_query => filters.query(),
            referent => !sees_everything(staff),
            // FAQ deflections are counted for the whole organisation only, unfiltered.
            deflections => computed.current.totals.deflections.is_some(),
        },
    )?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Html(body)).into_response())
}

#[derive(Serialize)]
struct Preset {
    label: String,
    from: String,
    to: String,
}

/// Quick choices: this month, last month, this year, last year.
fn presets(today: chrono::NaiveDate, language: Language) -> Vec<Preset> {
    use chrono::Datelike;
    let this_month = Period::month_of(today);
    let last_month = this_month.previous();
    let this_year = Period::year(today.year());
    let last_year = Period::year(today.year() - 1);
    [
        (
            "statistics.preset.this_month",
            Period::new(this_month.from, today),
        ),
        ("statistics.preset.last_month", last_month),
        (
            "statistics.preset.this_year",
            Period::new(this_year.from, today),
        ),
        ("statistics.preset.last_year", last_year),
    ]
    .into_iter()
    .map(|(key, p)| Preset {
        label: i18n::text(language, key, &[]),
        from: p.from.to_string(),
        to: p.to.to_string(),
    })
    .collect()
}

/// A table (or all of them) as CSV or XLSX, for the same period and filters as the page.
pub async fn download(
    Desk { app, language }: Desk,
    signed_in: SignedIn,
    Path(format): Path<String>,
    Query(filters): Query<Filters>,
) -> Result<Response> {
    if !matches!(format.as_str(), "csv" | "xlsx" | "pdf") {
        return Err(AppError::NotFound);
    }
    let language = match filters.lingua.as_str() {
        "it" => Language::It,
        "en" => Language::En,
        _ => language,
    };
    let computed = compute(&app, language, &signed_in.staff, &filters).await?;
    if !computed.errors.is_empty() {
        // A period that cannot be read: the page explains why, keeping what was typed.
        return Ok(
            Redirect::to(&format!("/ufficio/statistiche?{}", filters.query())).into_response(),
        );
    }
    if format == "pdf" {
        let period = computed.current.period.expect("computed for a period");
        let pdf = report_pdf(&app, &computed);
        let name = format!(
            "urp-in-cifre-{}-{}-{}.pdf",
            period.from,
            period.to,
            language.code()
        );
        return Ok(attachment("application/pdf", &name, pdf));
    }
    let tables = report::all(&computed.current, &computed.previous, &computed.names);
    let chosen: Vec<Table> = if filters.tabella.is_empty() || filters.tabella == "tutte" {
        tables
    } else {
        tables
            .into_iter()
            .filter(|t| t.id == filters.tabella)
            .collect()
    };
    let period = computed.current.period.expect("computed for a period");
    let stem = match chosen.as_slice() {
        [one] => format!("statistiche-{}-{}-{}", one.id, period.from, period.to),
        _ => format!("statistiche-{}-{}", period.from, period.to),
    };
    let (content_type, body, extension) = match (format.as_str(), chosen.as_slice()) {
        (_, []) => return Err(AppError::NotFound),
        ("csv", [one]) => ("text/csv; charset=utf-8", export::csv(one), "csv"),
        ("xlsx", tables) => (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            export::xlsx(tables),
            "xlsx",
        ),
        _ => return Err(AppError::NotFound),
    };
    Ok(attachment(
        content_type,
        &format!("{stem}.{extension}"),
        body,
    ))
}

fn attachment(content_type: &str, name: &str, body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                crate::tracking::content_disposition(name),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        body,
    )
        .into_response()
}
