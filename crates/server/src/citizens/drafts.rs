//! Drafts of new requests, for signed-in citizens: what they typed, saved to finish later.
//! Files are not kept in a draft (the form asks for them again when the request is sent).

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sportello_domain::Language;
use uuid::Uuid;

use crate::citizen_store::session::CitizenSignedIn;
use crate::intake::NewRequestForm;
use crate::state::AppState;
use crate::web::checked::{CsrfForm, NoFields};
use crate::web::{i18n, AppError, Result};

/// The fields a draft keeps.
const KEPT: &[&str] = &["kind", "topic", "subject", "description", "place", "phone"];

#[derive(Serialize)]
pub struct Listed {
    pub id: String,
    pub subject: String,
    pub updated: String,
}

pub async fn list(app: &AppState, language: Language, citizen_id: Uuid) -> Result<Vec<Listed>> {
    let rows: Vec<(String, serde_json::Value, DateTime<Utc>)> = sqlx::query_as(
        "SELECT id, fields, updated_at FROM request_drafts WHERE citizen_id = ? ORDER BY updated_at DESC",
    )
    .bind(citizen_id.to_string())
    .fetch_all(&app.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, fields, updated)| Listed {
            id,
            subject: fields
                .get("subject")
                .and_then(|s| s.as_str())
                .filter(|s| !s.trim().is_empty())
                .map(str::to_string)
                .unwrap_or_else(|| i18n::text(language, "area.drafts.untitled", &[])),
            updated: i18n::date_time(language, updated),
        })
        .collect())
}

/// Saves what was typed as a draft (a new one, or over the one being finished).
pub async fn save(
    app: &AppState,
    citizen_id: Uuid,
    draft_id: Option<&str>,
    form: &NewRequestForm,
) -> Result<Uuid> {
    let value = serde_json::to_value(form).map_err(AppError::internal)?;
    let fields: serde_json::Map<String, serde_json::Value> = value
        .as_object()
        .map(|all| {
            all.iter()
                .filter(|(name, _)| KEPT.contains(&name.as_str()))
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect()
        })
        .unwrap_or_default();
    let now = app.clock.now();
    if let Some(id) = draft_id.and_then(|id| Uuid::parse_str(id).ok()) {
        let updated = sqlx::query(
            "UPDATE request_drafts SET fields = ?, updated_at = ? WHERE id = ? AND citizen_id = ?",
        )
        .bind(serde_json::Value::Object(fields.clone()))
        .bind(now)
        .bind(id.to_string())
        .bind(citizen_id.to_string())
        .execute(&app.pool)
        .await?;
        if updated.rows_affected() == 1 {
            return Ok(id);
        }
    }
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO request_drafts (id, citizen_id, fields, updated_at) VALUES (?, ?, ?, ?)",
    )
    .bind(id.to_string())
    .bind(citizen_id.to_string())
    .bind(serde_json::Value::Object(fields))
    .bind(now)
    .execute(&app.pool)
    .await?;
    Ok(id)
}

/// The draft as a form to go on with; `None` when it is not this citizen's.
pub async fn load(
    app: &AppState,
    citizen_id: Uuid,
    draft_id: &str,
) -> Result<Option<NewRequestForm>> {
    let fields: Option<serde_json::Value> =
        sqlx::query_scalar("SELECT fields FROM request_drafts WHERE id = ? AND citizen_id = ?")
            .bind(draft_id)
            .bind(citizen_id.to_string())
            .fetch_optional(&app.pool)
            .await?;
    Ok(fields.map(|fields| {
        let mut form = NewRequestForm::default();
        if let Some(all) = fields.as_object() {
            for (name, value) in all {
                if let Some(text) = value.as_str() {
                    form.set(name, text.to_string());
                }
            }
        }
        form
    }))
}

pub async fn remove(app: &AppState, citizen_id: Uuid, draft_id: &str) -> Result<()> {
    sqlx::query("DELETE FROM request_drafts WHERE id = ? AND citizen_id = ?")
        .bind(draft_id)
        .bind(citizen_id.to_string())
        .execute(&app.pool)
        .await?;
    Ok(())
}

pub async fn delete(
    State(app): State<AppState>,
    signed_in: CitizenSignedIn,
    Path(id): Path<String>,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response> {
    remove(&app, signed_in.citizen.id, &id).await?;
    Ok(Redirect::to("/area").into_response())
}
