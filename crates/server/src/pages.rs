//! The portal's plain pages: home, language switch, health and not-found (the privacy notice and
//! the accessibility statement are in `site_pages`).

use crate::state::Desk;
use crate::web::params::Back;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use minijinja::context;
use sportello_domain::Language;

use crate::state::AppState;
use crate::web::i18n::LANGUAGE_COOKIE;
use crate::web::{cookies, AppError, Page, Result};

pub async fn home(Desk { app, language }: Desk) -> Result<Html<String>> {
    let page = Page::new(language, "/", &app.organisation_name, "home.title");
    let body = app.templates.render(
        "home.html",
        context! { lang => page.lang, page, answer_days => longest_answer_days(&app).await? },
    )?;
    Ok(Html(body))
}

/// The longest answer deadline of any kind: what the home page may promise.
async fn longest_answer_days(app: &AppState) -> Result<u32> {
    let settings = app.settings().await?;
    Ok(sportello_domain::Kind::ALL
        .iter()
        .map(|kind| settings.answer_days_for(*kind))
        .max()
        .unwrap_or(30))
}

/// Remembers the chosen language in a cookie and goes back to the page it was chosen on. Only
/// a local path is followed, so the switch cannot be used to send people elsewhere.
pub async fn language(
    State(app): State<AppState>,
    Path(code): Path<String>,
    Query(back): Query<Back>,
) -> Result<Response> {
    let language = Language::parse(&code).ok_or(AppError::NotFound)?;
    let target = back
        .torna
        .filter(|path| crate::web::is_local_path(path))
        .unwrap_or_else(|| "/".into());
    let cookie = cookies::set(
        LANGUAGE_COOKIE,
        language.code(),
        365 * 24 * 3600,
        app.secure_cookies(),
    );
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to(&target)).into_response())
}

pub async fn healthz(State(app): State<AppState>) -> Response {
    if crate::db::ping(&app.pool).await {
        (StatusCode::OK, "ok").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
    }
}

pub async fn not_found() -> AppError {
    AppError::NotFound
}

/// The plain pages: home, the language switch, health.
pub fn routes() -> axum::Router<AppState> {
    use axum::routing::get;
    axum::Router::new()
        .route("/", get(home))
        .route("/lingua/{lang}", get(language))
        .route("/healthz", get(healthz))
}
