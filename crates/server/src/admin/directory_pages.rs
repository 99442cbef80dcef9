//! Departments, other bodies and topics: each a list where every entry is a small form, plus a
//! form for a new one. A mistake shows the page again with the message and what was typed.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use minijinja::context;
use uuid::Uuid;

use super::{log, Admin};
use crate::directory::canned::{self, CannedAnswer};
use crate::directory::{self, Department, ExternalBody};
use crate::directory::{self as topics_store, TopicSetting};
use crate::mail::is_email;
use crate::staff::StaffBar;
use crate::state::AppState;
use crate::web::{i18n, AppError, Lang, Page, Result};

type Fields = HashMap<String, String>;

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

fn text(fields: &Fields, name: &str) -> String {
    fields
        .get(name)
        .map(|v| v.trim().to_string())
        .unwrap_or_default()
}

fn checked(fields: &Fields, name: &str) -> bool {
    fields.get(name).is_some_and(|v| v == "1")
}

fn check_csrf(admin: &Admin, fields: &Fields) -> Result<()> {
    if admin
        .0
        .csrf_ok(fields.get("csrf_token").map(String::as_str).unwrap_or(""))
    {
        Ok(())
    } else {
        Err(AppError::Csrf)
    }
}

/// Renders one of the directory pages with an optional error and the typed new entry.
#[allow(clippy::too_many_arguments)]
async fn render(
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
    let page = Page::new(language, path, &app.organisation_name, title_key);
    let body = app.templates.render(
        template,
        context! {
            lang => page.lang, page, staff => StaffBar::new(&admin.0.staff, &admin.0.csrf_token),
            departments, bodies, topics, answers, kinds, error, typed,
        },
    )?;
    Ok((status, Html(body)).into_response())
}

pub async fn departments(
    State(app): State<AppState>,
    Lang(language): Lang,
    admin: Admin,
) -> Result<Response> {
    render(
        &app,
        language,
        &admin,
        &DEPARTMENTS,
        None,
        &Fields::new(),
        StatusCode::OK,
    )
    .await
}

pub async fn save_department(
    State(app): State<AppState>,
    Lang(language): Lang,
    admin: Admin,
    Form(fields): Form<Fields>,
) -> Result<Response> {
    check_csrf(&admin, &fields)?;
    let department = Department {
        id: Uuid::parse_str(&text(&fields, "id")).unwrap_or_else(|_| Uuid::nil()),
        name: text(&fields, "name"),
        email: text(&fields, "email"),
        head_name: Some(text(&fields, "head_name")).filter(|v| !v.is_empty()),
        head_email: Some(text(&fields, "head_email")).filter(|v| !v.is_empty()),
        active: checked(&fields, "active") || text(&fields, "id").is_empty(),
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
        let error = Some(i18n::text(language, key, &[]));
        return render(
            &app,
            language,
            &admin,
            &DEPARTMENTS,
            error,
            &fields,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
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
            let error = Some(i18n::text(language, "admin.error.duplicate", &[]));
            return render(
                &app,
                language,
                &admin,
                &DEPARTMENTS,
                error,
                &fields,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        Err(error) => return Err(error.into()),
    }
    Ok(Redirect::to("/ufficio/amministrazione/uffici").into_response())
}

pub async fn bodies(
    State(app): State<AppState>,
    Lang(language): Lang,
    admin: Admin,
) -> Result<Response> {
    render(
        &app,
        language,
        &admin,
        &BODIES,
        None,
        &Fields::new(),
        StatusCode::OK,
    )
    .await
}

pub async fn save_body(
    State(app): State<AppState>,
    Lang(language): Lang,
    admin: Admin,
    Form(fields): Form<Fields>,
) -> Result<Response> {
    check_csrf(&admin, &fields)?;
    let body = ExternalBody {
        id: Uuid::parse_str(&text(&fields, "id")).unwrap_or_else(|_| Uuid::nil()),
        name: text(&fields, "name"),
        handles: text(&fields, "handles"),
        address: text(&fields, "address"),
        phone: text(&fields, "phone"),
        email: text(&fields, "email"),
        website: text(&fields, "website"),
        hours: text(&fields, "hours"),
        active: checked(&fields, "active") || text(&fields, "id").is_empty(),
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
        let error = Some(i18n::text(language, key, &[]));
        return render(
            &app,
            language,
            &admin,
            &BODIES,
            error,
            &fields,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
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

pub async fn topics(
    State(app): State<AppState>,
    Lang(language): Lang,
    admin: Admin,
) -> Result<Response> {
    render(
        &app,
        language,
        &admin,
        &TOPICS,
        None,
        &Fields::new(),
        StatusCode::OK,
    )
    .await
}

pub async fn save_topic(
    State(app): State<AppState>,
    Lang(language): Lang,
    admin: Admin,
    Form(fields): Form<Fields>,
) -> Result<Response> {
    check_csrf(&admin, &fields)?;
    let departments = directory::departments(&app.pool, app.organisation_id).await?;
    let department = text(&fields, "default_department");
    let topic = TopicSetting {
        code: text(&fields, "code").to_lowercase(),
        name_it: text(&fields, "name_it"),
        name_en: text(&fields, "name_en"),
        position: text(&fields, "position").parse().unwrap_or(0),
        active: checked(&fields, "active") || text(&fields, "existing").is_empty(),
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
        let error = Some(i18n::text(language, key, &[]));
        return render(
            &app,
            language,
            &admin,
            &TOPICS,
            error,
            &fields,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    topics_store::save_topic(&app.pool, app.organisation_id, &topic).await?;
    log(&app, &admin, "topic", None).await?;
    Ok(Redirect::to("/ufficio/amministrazione/argomenti").into_response())
}

pub async fn answers(
    State(app): State<AppState>,
    Lang(language): Lang,
    admin: Admin,
) -> Result<Response> {
    render(
        &app,
        language,
        &admin,
        &ANSWERS,
        None,
        &Fields::new(),
        StatusCode::OK,
    )
    .await
}

pub async fn save_answer(
    State(app): State<AppState>,
    Lang(language): Lang,
    admin: Admin,
    Form(fields): Form<Fields>,
) -> Result<Response> {
    check_csrf(&admin, &fields)?;
    let topics = topics_store::all_topics(&app.pool, app.organisation_id).await?;
    let answer = CannedAnswer {
        id: text(&fields, "id"),
        title: text(&fields, "title"),
        kind: Some(text(&fields, "kind")).filter(|k| sportello_domain::Kind::parse(k).is_some()),
        topic_code: Some(text(&fields, "topic")).filter(|t| topics.iter().any(|x| &x.code == t)),
        body_it: text(&fields, "body_it"),
        body_en: text(&fields, "body_en"),
        active: checked(&fields, "active") || text(&fields, "id").is_empty(),
    };
    let problem = if answer.title.is_empty() || answer.title.chars().count() > 200 {
        Some("admin.error.name")
    } else if answer.body_it.is_empty() || answer.body_en.is_empty() {
        Some("admin.error.bodies")
    } else {
        None
    };
    if let Some(key) = problem {
        let error = Some(i18n::text(language, key, &[]));
        return render(
            &app,
            language,
            &admin,
            &ANSWERS,
            error,
            &fields,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    if !canned::save(&app.pool, app.organisation_id, &answer).await? {
        return Err(AppError::NotFound);
    }
    log(&app, &admin, "canned_answer", None).await?;
    Ok(Redirect::to("/ufficio/amministrazione/risposte").into_response())
}
