//! The event feed: the organisation's events in commit order, as stored — payload, metadata and
//! chain hash — so an auditor or an analyst can build their own projection outside Sportello and
//! check each request's hash chain (see docs/api.md). Sealed personal data stays sealed here:
//! the feed never opens it. Appends commit in `global_position` order (the append lock), so a
//! consumer that asks for what comes after the last position it read never skips an event.

use axum::extract::{Query, State};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::{IntoParams, ToSchema};

use super::auth::Caller;
use super::clients::Scope;
use super::problem::ApiError;
use crate::state::AppState;

const PAGE_MAX: i64 = 1000;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// The last position read (0, or absent, for the beginning).
    #[param(value_type = Option<i64>, minimum = 0)]
    after: Option<String>,
    /// Events per page, 1 to 1000 (default 500).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
}

/// One event as recorded.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedEvent {
    /// The event's place in the log: strictly increasing in commit order (not gap-free).
    position: i64,
    /// The request's id.
    aggregate_id: String,
    /// The event's number within its request, from 1.
    sequence: i64,
    #[serde(rename = "type")]
    kind: String,
    version: String,
    recorded_at: DateTime<Utc>,
    /// As stored; personal data in it is sealed (encrypted under the request's key). Passed
    /// through as the database holds it, not parsed and written again.
    #[schema(value_type = Object)]
    payload: Box<serde_json::value::RawValue>,
    /// Who acted (`staff:<id>`, `api:<id>`, `citizen`, `system`), the channel, a correlation id.
    #[schema(value_type = Object)]
    metadata: Box<serde_json::value::RawValue>,
    /// SHA-256 over the previous event's hash (of the same request; 64 zeros for the first) and
    /// this event's fields: see docs/api.md for how to recompute it.
    chain_hash: Option<String>,
    /// The event's entry in the whole log's chain (1, 2, 3 …) and that entry's hash: see
    /// docs/api.md; the last one of a page, checked against a signed checkpoint of the same size,
    /// proves the log up to there is the one the deployment signed.
    log_index: Option<i64>,
    log_hash: Option<String>,
}

/// A page of the feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedPage {
    events: Vec<FeedEvent>,
    /// Pass as `after` for the next page (the last position on this one, or `after` itself
    /// when nothing new has been recorded).
    next_after: i64,
}

/// The organisation's events in commit order.
#[utoipa::path(get, path = "/api/v1/events", tag = "events",
    params(FeedQuery),
    responses(
        (status = 200, description = "A page of events", body = FeedPage),
        (status = 422, description = "A parameter was refused", body = super::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["events:read"])))]
pub async fn feed(
    State(app): State<AppState>,
    caller: Caller,
    Query(query): Query<FeedQuery>,
) -> Result<Json<FeedPage>, ApiError> {
    caller.needs(Scope::EventsRead)?;
    let mut faults = Vec::new();
    let after = match query
        .after
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
    {
        None => 0,
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|a| *a >= 0)
            .unwrap_or_else(|| {
                faults.push(("after".to_string(), "api.error.unknown_value", None));
                0
            }),
    };
    let limit = match query
        .limit
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        None => 500,
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|l| (1..=PAGE_MAX).contains(l))
            .unwrap_or_else(|| {
                faults.push(("limit".to_string(), "api.error.unknown_value", None));
                500
            }),
    };
    if !faults.is_empty() {
        return Err(ApiError::Invalid(faults));
    }
    let rows = sqlx::query(
        "SELECT e.global_position, e.aggregate_id, e.sequence, e.event_type, e.event_version,
                CAST(e.payload AS CHAR) AS payload, CAST(e.metadata AS CHAR) AS metadata,
                e.recorded_at, e.chain_hash, l.log_index, l.log_hash
           FROM events e
           LEFT JOIN log_chain l ON l.global_position = e.global_position
          WHERE e.global_position > ? AND e.aggregate_type = 'request'
          ORDER BY e.global_position
          LIMIT ?",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(&app.pool)
    .await?;
    let events = rows
        .iter()
        .map(|row| {
            Ok(FeedEvent {
                position: row.try_get("global_position")?,
                aggregate_id: row.try_get("aggregate_id")?,
                sequence: row.try_get("sequence")?,
                kind: row.try_get("event_type")?,
                version: row.try_get("event_version")?,
                recorded_at: row.try_get("recorded_at")?,
                payload: raw(row.try_get("payload")?)?,
                metadata: raw(row.try_get("metadata")?)?,
                chain_hash: row.try_get("chain_hash")?,
                log_index: row.try_get("log_index")?,
                log_hash: row.try_get("log_hash")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let next_after = events.last().map_or(after, |e| e.position);
    Ok(Json(FeedPage { events, next_after }))
}

/// A stored JSON column as it is, checked to be JSON.
fn raw(text: String) -> Result<Box<serde_json::value::RawValue>, sqlx::Error> {
    serde_json::value::RawValue::from_string(text)
        .map_err(|error| sqlx::Error::Decode(Box::new(error)))
}
