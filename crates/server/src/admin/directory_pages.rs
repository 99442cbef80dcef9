//! Departments, other bodies and topics: each a list where every entry is a small form, plus a
//! form for a new one. A mistake shows the page again with the message and what was typed.

use crate::state::Desk;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{log, Admin};
use crate::directory::canned::{self, CannedAnswer};
use crate::directory::{self, Department, ExternalBody};
use crate::directory::{self as topics_store, TopicSetting};
use crate::mail::is_email;
use crate::state::AppState;
use crate::web::checked::CsrfForm;
use crate::web::{i18n, AppError, Result, View};

/// What the directory pages' forms send (each form a part of these fields): a department, another
/// body, a topic or a canned answer, new or changed.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Fields {
    active: String,
    address: String,
    body_en: String,
    body_it: String,
    code: String,
    default_department: String,
    email: String,
    existing: String,
    handles: String,
    head_email: String,
    head_name: String,
    hours: String,
    id: String,
    kind: String,
    name: String,
    name_en: String,
    name_it: String,
    phone: String,
    position: String,
    title: String,
    topic: String,
    website: String,
}

/// One of the directory pages: its template, title and address.
struct Section {
    template: &'static str,
    title_key: &'static str,
    path: &'static str,
}

const DEPARTMENTS: Section = Section {
    template: "admin/departments.html",
    title_key: "admin.departments.title",
    path: "/ufficio/amministrazione/uffici",
};
const BODIES: Section = Section {
    template: "admin/bodies.html",
    title_key: "admin.bodies.title",
    path: "/ufficio/amministrazione/enti",
};
const TOPICS: Section = Section {
    template: "admin/topics.html",
    title_key: "admin.topics.title",
    path: "/ufficio/amministrazione/argomenti",
};
const ANSWERS: Section = Section {
    template: "admin/answers.html",
    title_key: "admin.answers.title",
    path: "/ufficio/amministrazione/risposte",
};

/// One of the directory pages with an optional error and the typed new entry, as `status`.
async fn respond(
    app: &AppState,
    language: sportello_domain::Language,
    admin: &Admin,
    section: &Section,
    error: Option<String>,
    typed: &Fields,
    status: StatusCode,
) -> Result<Response> {
    let (template, title_key, path) = (section.template, section.title_key, section.path);
    let departments = directory::departments(&app.pool, app.organisation_id).await?;
    let bodies = directory::external_bodies(&app.pool, app.organisation_id).await?;
    let topics = topics_store::all_topics(&app.pool, app.organisation_id).await?;
    let answers = canned::all(&app.pool, app.organisation_id).await?;
    let kinds: Vec<(String, String)> = sportello_domain::Kind::ALL
        .iter()
        .map(|k| {
            (
                k.code().to_string(),
                i18n::text(language, &format!("kind.{}", k.code()), &[]),
            )
        })
        .collect();
    let view = View::new(template, path, title_key).with(context! {
        staff => admin.0.bar(), departments, bodies, topics, answers, kinds, error, typed,
    });
    app.render(language, view.status(status))
}

/// One of the directory pages again, with what was typed and what is wrong with it.
async fn refuse(
    app: &AppState,
    language: sportello_domain::Language,
    admin: &Admin,
    section: &Section,
    key: &str,
    typed: &Fields,
) -> Result<Response> {
    let error = Some(i18n::text(language, key, &[]));
    let status = StatusCode::UNPROCESSABLE_ENTITY;
    respond(app, language, admin, section, error, typed, status).await
}

/// The directory pages, each at its section's address: the page, and the form that saves one
/// of its entries.
pub fn routes() -> axum::Router<AppState> {
    use axum::routing::get;
    let page = |section: &'static Section| {
        get(
            move |Desk { app, language }: Desk, admin: Admin| async move {
                section_page(&app, language, &admin, section).await
            },
        )
    };
    axum::Router::new()
        .route(DEPARTMENTS.path, page(&DEPARTMENTS).post(save_department))
        .route(BODIES.path, page(&BODIES).post(save_body))
        .route(TOPICS.path, page(&TOPICS).post(save_topic))
        .route(ANSWERS.path, page(&ANSWERS).post(save_answer))
}

/// A directory page (departments, other bodies, topics, canned answers), empty form.
async fn section_page(
    app: &AppState,
    language: sportello_domain::Language,
    admin: &Admin,
    section: &'static Section,
) -> Result<Response> {
    let fields = Fields::default();
    respond(app, language, admin, section, None, &fields, StatusCode::OK).await
}

pub async fn save_department(
    Desk { app, language }: Desk,
    admin: Admin,
    CsrfForm(fields): CsrfForm<Fields>,
) -> Result<Response> {
    let department = Department {
        id: Uuid::parse_str(fields.id.trim()).unwrap_or_else(|_| Uuid::nil()),
        name: fields.name.trim().to_string(),
        email: fields.email.trim().to_string(),
        head_name: Some(fields.head_name.trim().to_string()).filter(|v| !v.is_empty()),
        head_email: Some(fields.head_email.trim().to_string()).filter(|v| !v.is_empty()),
        active: (fields.active == "1") || fields.id.trim().to_string().is_empty(),
    };
    let problem = if department.name.is_empty() || department.name.chars().count() > 200 {
        Some("admin.error.name")
    } else if !is_email(&department.email)
        || department
            .head_email
            .as_deref()
            .is_some_and(|e| !is_email(e))
    {
        Some("admin.error.email")
    } else {
        None
    };
    if let Some(key) = problem {
        return refuse(&app, language, &admin, &DEPARTMENTS, key, &fields).await;
    }
    let saved = if department.id.is_nil() {
        let head = department
            .head_name
            .as_deref()
            .zip(department.head_email.as_deref());
        directory::add_department(
            &app.pool,
            app.organisation_id,
            &department.name,
            &department.email,
            head,
        )
        .await
        .map(Some)
    } else {
        directory::update_department(&app.pool, app.organisation_id, &department)
            .await
            .map(|found| found.then_some(department.id))
    };
    match saved {
        Ok(Some(id)) => log(&app, &admin, "department", Some(id)).await?,
        Ok(None) => return Err(AppError::NotFound),
        Err(sqlx::Error::Database(error)) if error.code().as_deref() == Some("23000") => {
            return refuse(
                &app,
                language,
                &admin,
                &DEPARTMENTS,
                "admin.error.duplicate",
                &fields,
            )
            .await;
        }
        Err(error) => return Err(error.into()),
    }
    Ok(Redirect::to("/ufficio/amministrazione/uffici").into_response())
}

pub async fn save_body(
    Desk { app, language }: Desk,
    admin: Admin,
    CsrfForm(fields): CsrfForm<Fields>,
) -> Result<Response> {
    let body = ExternalBody {
        id: Uuid::parse_str(fields.id.trim()).unwrap_or_else(|_| Uuid::nil()),
        name: fields.name.trim().to_string(),
        handles: fields.handles.trim().to_string(),
        address: fields.address.trim().to_string(),
        phone: fields.phone.trim().to_string(),
        email: fields.email.trim().to_string(),
        website: fields.website.trim().to_string(),
        hours: fields.hours.trim().to_string(),
        active: (fields.active == "1") || fields.id.trim().to_string().is_empty(),
    };
    let problem = if body.name.is_empty() || body.name.chars().count() > 200 {
        Some("admin.error.name")
    } else if !body.email.is_empty() && !is_email(&body.email) {
        Some("admin.error.email")
    } else if !(body.website.is_empty()
        || body.website.starts_with("https://")
        || body.website.starts_with("http://"))
    {
        Some("admin.error.website")
    } else {
        None
    };
    if let Some(key) = problem {
        return refuse(&app, language, &admin, &BODIES, key, &fields).await;
    }
    let id = if body.id.is_nil() {
        directory::add_external_body(&app.pool, app.organisation_id, &body).await?
    } else if directory::update_external_body(&app.pool, app.organisation_id, &body).await? {
        body.id
    } else {
        return Err(AppError::NotFound);
    };
    log(&app, &admin, "external_body", Some(id)).await?;
    Ok(Redirect::to("/ufficio/amministrazione/enti").into_response())
}

pub async fn save_topic(
    Desk { app, language }: Desk,
    admin: Admin,
    CsrfForm(fields): CsrfForm<Fields>,
) -> Result<Response> {
    let departments = directory::departments(&app.pool, app.organisation_id).await?;
    let department = fields.default_department.trim().to_string();
    let topic = TopicSetting {
        code: fields.code.trim().to_string().to_lowercase(),
        name_it: fields.name_it.trim().to_string(),
        name_en: fields.name_en.trim().to_string(),
        position: fields.position.trim().to_string().parse().unwrap_or(0),
        active: (fields.active == "1") || fields.existing.trim().to_string().is_empty(),
        default_department: Some(department.clone()).filter(|d| !d.is_empty()),
    };
    let code_ok = !topic.code.is_empty()
        && topic.code.len() <= 64
        && topic
            .code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let problem = if !code_ok {
        Some("admin.error.code")
    } else if topic.name_it.is_empty() || topic.name_en.is_empty() {
        Some("admin.error.name")
    } else if !department.is_empty() && !departments.iter().any(|d| d.id.to_string() == department)
    {
        Some("admin.error.department")
    } else {
        None
    };
    if let Some(key) = problem {
        return refuse(&app, language, &admin, &TOPICS, key, &fields).await;
    }
    topics_store::save_topic(&app.pool, app.organisation_id, &topic).await?;
    log(&app, &admin, "topic", None).await?;
    Ok(Redirect::to("/ufficio/amministrazione/argomenti").into_response())
}

pub async fn save_answer(
    Desk { app, language }: Desk,
    admin: Admin,
    CsrfForm(fields): CsrfForm<Fields>,
) -> Result<Response> {
    let topics = topics_store::all_topics(&app.pool, app.organisation_id).await?;
    let answer = CannedAnswer {
        id: fields.id.trim().to_string(),
        title: fields.title.trim().to_string(),
        kind: Some(fields.kind.trim().to_string())
            .filter(|k| sportello_domain::Kind::parse(k).is_some()),
        topic_code: Some(fields.topic.trim().to_string())
            .filter(|t| topics.iter().any(|x| &x.code == t)),
        body_it: fields.body_it.trim().to_string(),
        body_en: fields.body_en.trim().to_string(),
        active: (fields.active == "1") || fields.id.trim().to_string().is_empty(),
    };
    let problem = if answer.title.is_empty() || answer.title.chars().count() > 200 {
        Some("admin.error.name")
    } else if answer.body_it.is_empty() || answer.body_en.is_empty() {
        Some("admin.error.bodies")
    } else {
        None
    };
    if let Some(key) = problem {
        return refuse(&app, language, &admin, &ANSWERS, key, &fields).await;
    }
    if !canned::save(&app.pool, app.organisation_id, &answer).await? {
        return Err(AppError::NotFound);
    }
    log(&app, &admin, "canned_answer", None).await?;
    Ok(Redirect::to("/ufficio/amministrazione/risposte").into_response())
}
