//! The service's state for administrators: each mailbox as its reader last found it (a wrong
//! password shows here, with the error and the failed attempts in a row), how far each
//! processor is behind the event log, and the mail waiting to go out or given up on. Read from
//! the database, so every server copy shows the same; no personal data.

use axum::response::Response;
use chrono::{DateTime, Utc};
use minijinja::context;
use serde::Serialize;

use super::Admin;
use crate::state::Desk;
use crate::web::{i18n, Result, View};

pub const PAGE: &str = "/ufficio/amministrazione/stato";

#[derive(Serialize)]
struct Processor {
    name: String,
    position: i64,
    behind: i64,
}

pub async fn status(Desk { app, language }: Desk, admin: Admin) -> Result<Response> {
    let names: Vec<String> = sportello_projections::processors()
        .iter()
        .map(|projection| projection.name().to_string())
        .collect();
    let mailboxes = crate::mail_in::status::states(&app, language).await?;
    let head: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(global_position), 0) FROM events")
        .fetch_one(&app.pool)
        .await?;
    let checkpoints: Vec<(String, i64)> =
        sqlx::query_as("SELECT name, position FROM projection_checkpoints")
            .fetch_all(&app.pool)
            .await?;
    let mut processors = Vec::with_capacity(names.len());
    for name in names {
        let position = checkpoints
            .iter()
            .find(|(known, _)| *known == name)
            .map_or(0, |(_, position)| *position);
        // Counted, not subtracted: positions may leave gaps (a Galera cluster steps them).
        let behind: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE global_position > ?")
                .bind(position)
                .fetch_one(&app.pool)
                .await?;
        processors.push(Processor {
            name,
            position,
            behind,
        });
    }
    let (pending, oldest): (i64, Option<DateTime<Utc>>) =
        sqlx::query_as("SELECT COUNT(*), MIN(created_at) FROM outbox WHERE status = 'pending'")
            .fetch_one(&app.pool)
            .await?;
    let failed: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbox WHERE status = 'failed' AND finished_at > ?",
    )
    .bind(app.clock.now() - chrono::Duration::days(7))
    .fetch_one(&app.pool)
    .await?;
    let view = View::new("admin/status.html", PAGE, "admin.status.title")
        .with(context! {
            staff => admin.0.bar(), mailboxes, processors, head, pending, failed,
            oldest => oldest.map(|at| i18n::date_time(language, at)),
        })
        .private();
    app.render(language, view)
}
