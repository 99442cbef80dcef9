//! The event log's public page: the daily signed checkpoints (size, head hash, signature) with
//! each one as a JSON file to keep, and how to check them. Public on purpose: a checkpoint names
//! no request and no person, and its value is that anyone may keep one.

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use minijinja::context;
use serde::Serialize;

use crate::event_store::checkpoint;
use crate::state::Desk;
use crate::web::{i18n, AppError, Result, View};

pub const PAGE: &str = "/registro";

#[derive(Serialize)]
struct Shown {
    day: String,
    day_label: String,
    size: i64,
    head: String,
    signed: String,
}

pub async fn page(Desk { app, language }: Desk) -> Result<Response> {
    let checkpoints: Vec<Shown> = checkpoint::latest(&app.pool, 31)
        .await?
        .into_iter()
        .map(|c| Shown {
            day: c.day.to_string(),
            day_label: i18n::long_date(language, c.day),
            size: c.size,
            head: c.head,
            signed: i18n::date_time(language, c.signed_at),
        })
        .collect();
    // The key that signed the latest checkpoint, as stored with it (the page makes no key).
    let public_key = checkpoint::latest(&app.pool, 1)
        .await?
        .pop()
        .map(|c| c.public_key)
        .unwrap_or_default();
    let view = View::new("log_checkpoints.html", PAGE, "checkpoints.title")
        .with(context! { checkpoints, public_key });
    app.render(language, view)
}

/// One checkpoint as the JSON file an auditor keeps (`/registro/2026-12-03.json`).
pub async fn file(Desk { app, .. }: Desk, Path(name): Path<String>) -> Result<Response> {
    let day = name
        .strip_suffix(".json")
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .ok_or(AppError::NotFound)?;
    let found = checkpoint::of_day(&app.pool, day)
        .await?
        .ok_or(AppError::NotFound)?;
    let body = serde_json::to_vec_pretty(&found).map_err(AppError::internal)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"registro-{day}.json\""),
            ),
        ],
        body,
    )
        .into_response())
}

pub fn routes() -> axum::Router<crate::state::AppState> {
    use axum::routing::get;
    axum::Router::new()
        .route(PAGE, get(page))
        .route("/registro/{file}", get(file))
}
