//! Replay for auditors: a request's complete event history — every event, its data (personal
//! data stays sealed: it is the log as stored), who caused it and when, with its hash chain
//! checked — as a page for the auditor role and administrators, as JSON to download, and from the
//! command line (`sportello events REFERENCE`).

use crate::state::Desk;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;
use serde_json::{json, Value};
use sqlx::{MySqlPool, Row};
use uuid::Uuid;

use crate::event_store::chain;
use crate::staff::Role;
use crate::staff::SignedIn;
use crate::state::AppState;
use crate::web::{i18n, AppError, Result, View};

/// The request with this reference ("2026/0000001"), if any: from the queue, or (when it has not
/// caught up, as for the command line) from the events themselves.
pub async fn aggregate_of(
    pool: &MySqlPool,
    organisation_id: Uuid,
    reference: &str,
) -> Result<Option<String>, sqlx::Error> {
    let queued: Option<String> = sqlx::query_scalar(
        "SELECT aggregate_id FROM queue_requests WHERE organisation_id = ? AND reference = ?",
    )
    .bind(organisation_id.to_string())
    .bind(reference.trim())
    .fetch_optional(pool)
    .await?;
    if queued.is_some() {
        return Ok(queued);
    }
    sqlx::query_scalar(
        "SELECT aggregate_id FROM events
          WHERE aggregate_type = 'request' AND event_type = 'RequestReceived'
            AND JSON_VALUE(payload, '$.RequestReceived.reference') = ?
            AND JSON_VALUE(payload, '$.RequestReceived.organisation_id') = ?
          LIMIT 1",
    )
    .bind(reference.trim())
    .bind(organisation_id.to_string())
    .fetch_optional(pool)
    .await
}

/// Every event of a request as stored, oldest first, each with whether its chain hash holds.
pub async fn history(pool: &MySqlPool, aggregate_id: &str) -> Result<Vec<Value>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT sequence, event_type, event_version, payload, metadata, recorded_at, global_position, chain_hash
           FROM events WHERE aggregate_type = 'request' AND aggregate_id = ? ORDER BY sequence",
    )
    .bind(aggregate_id)
    .fetch_all(pool)
    .await?;
    let mut previous = chain::GENESIS.to_string();
    let mut events = Vec::with_capacity(rows.len());
    for row in rows {
        let sequence: i64 = row.try_get(0)?;
        let event_type: String = row.try_get(1)?;
        let event_version: String = row.try_get(2)?;
        let payload: Value = row.try_get(3)?;
        let metadata: Value = row.try_get(4)?;
        let recorded_at: chrono::DateTime<chrono::Utc> = row.try_get(5)?;
        let stored: Option<String> = row.try_get(7)?;
        let computed = chain::hash(
            &previous,
            aggregate_id,
            sequence,
            &event_type,
            &event_version,
            &payload,
            &metadata,
        );
        let chain_ok = stored.as_deref() == Some(computed.as_str());
        events.push(json!({
            "sequence": sequence,
            "type": event_type,
            "version": event_version,
            "recorded_at": recorded_at,
            "global_position": row.try_get::<i64, _>(6)?,
            "caused_by": metadata.get("actor"),
            "channel": metadata.get("channel"),
            "data": payload,
            "metadata": metadata,
            "chain_hash": stored,
            "chain_ok": chain_ok,
        }));
        previous = stored.unwrap_or(computed);
    }
    Ok(events)
}

fn auditor(signed_in: &SignedIn) -> Result<()> {
    let staff = &signed_in.staff;
    if staff.has(Role::Auditor) || staff.has(Role::Administrator) {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

#[derive(Deserialize)]
pub struct Find {
    riferimento: Option<String>,
}

/// Find a request by its reference.
pub async fn find(
    Desk { app, language }: Desk,
    signed_in: SignedIn,
    Query(find): Query<Find>,
) -> Result<Response> {
    auditor(&signed_in)?;
    let reference = find.riferimento.unwrap_or_default();
    let mut not_found = false;
    if !reference.trim().is_empty() {
        match aggregate_of(&app.pool, app.organisation_id, &reference).await? {
            Some(id) => {
                return Ok(Redirect::to(&format!("/ufficio/revisione/{id}")).into_response())
            }
            None => not_found = true,
        }
    }
    let status = if not_found {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::OK
    };
    let view = View::new("audit/find.html", "/ufficio/revisione", "audit.title")
        .with(context! { staff => signed_in.bar(), reference, not_found });
    app.render(language, view.status(status))
}

async fn checked(app: &AppState, signed_in: &SignedIn, id: &str) -> Result<Vec<Value>> {
    auditor(signed_in)?;
    let events = history(&app.pool, id).await?;
    let belongs = events
        .first()
        .and_then(|e| e["data"]["RequestReceived"]["organisation_id"].as_str())
        == Some(app.organisation_id.to_string().as_str());
    if !belongs {
        return Err(AppError::NotFound);
    }
    sqlx::query(
        "INSERT INTO staff_access_log (staff_id, aggregate_id, viewed_at) VALUES (?, ?, ?)",
    )
    .bind(signed_in.staff.id.to_string())
    .bind(id)
    .bind(app.clock.now())
    .execute(&app.pool)
    .await?;
    Ok(events)
}

pub async fn page(
    Desk { app, language }: Desk,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> Result<Response> {
    let events = checked(&app, &signed_in, &id).await?;
    let reference = events[0]["data"]["RequestReceived"]["reference"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let intact = events.iter().all(|e| e["chain_ok"] == true);
    let shown: Vec<Value> = events
        .iter()
        .map(|e| {
            let at = e["recorded_at"]
                .as_str()
                .and_then(|t| t.parse::<chrono::DateTime<chrono::Utc>>().ok());
            json!({
                "sequence": e["sequence"], "type": e["type"], "version": e["version"],
                "at": at.map(|at| i18n::date_time(language, at)), "caused_by": e["caused_by"],
                "data": serde_json::to_string_pretty(&e["data"]).unwrap_or_default(),
                "chain_ok": e["chain_ok"], "chain_hash": e["chain_hash"],
            })
        })
        .collect();
    let path = format!("/ufficio/revisione/{id}");
    let view = View::new("audit/history.html", path, "audit.title").with(context! {
        staff => signed_in.bar(), id, reference, events => shown, intact,
    });
    app.render(language, view.private())
}

/// The same history as a JSON download.
pub async fn export(
    State(app): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> Result<Response> {
    let events = checked(&app, &signed_in, &id).await?;
    let body = serde_json::to_vec_pretty(&json!({ "aggregate_id": id, "events": events }))
        .map_err(AppError::internal)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"eventi-{id}.json\""),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        body,
    )
        .into_response())
}

/// The auditors' pages: find a request by reference, read and download its history.
pub fn routes() -> axum::Router<AppState> {
    use axum::routing::get;
    axum::Router::new()
        .route("/ufficio/revisione", get(find))
        .route("/ufficio/revisione/{id}", get(page))
        .route("/ufficio/revisione/{id}/json", get(export))
}
