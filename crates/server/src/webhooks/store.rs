//! Webhook endpoints and their deliveries as stored.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::Serialize;
use sqlx::MySqlPool;
use uuid::Uuid;

/// An endpoint as administrators see it (its secret only when just created).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Endpoint {
    pub id: String,
    pub url: String,
    pub event_types: String,
    pub department_id: Option<String>,
    pub personal: bool,
    pub active: bool,
    pub disabled_at: Option<DateTime<Utc>>,
    pub disabled_reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// What a new endpoint is made of, already checked.
pub struct NewEndpoint {
    pub url: String,
    pub event_types: Vec<String>,
    pub department: Option<Uuid>,
    pub personal: bool,
}

/// A Standard Webhooks secret: `whsec_` and 32 random bytes in base64.
fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("whsec_{}", STANDARD.encode(bytes))
}

const COLUMNS: &str = "id, url, event_types, department_id, personal, active, disabled_at, \
     disabled_reason, created_at";

/// Registers an endpoint; returns its id and its secret (shown this once on the page).
pub async fn create(
    pool: &MySqlPool,
    organisation_id: Uuid,
    by: Uuid,
    new: &NewEndpoint,
    at: DateTime<Utc>,
) -> Result<(Uuid, String), sqlx::Error> {
    let id = Uuid::new_v4();
    let secret = new_secret();
    sqlx::query(
        "INSERT INTO webhook_endpoints (id, organisation_id, url, event_types, department_id,
             personal, secret, created_by, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id.to_string())
    .bind(organisation_id.to_string())
    .bind(&new.url)
    .bind(new.event_types.join(" "))
    .bind(new.department.map(|d| d.to_string()))
    .bind(new.personal)
    .bind(&secret)
    .bind(by.to_string())
    .bind(at)
    .execute(pool)
    .await?;
    Ok((id, secret))
}

pub async fn all(pool: &MySqlPool, organisation_id: Uuid) -> Result<Vec<Endpoint>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM webhook_endpoints WHERE organisation_id = ? ORDER BY created_at DESC"
    ))
    .bind(organisation_id.to_string())
    .fetch_all(pool)
    .await
}

pub async fn find(
    pool: &MySqlPool,
    organisation_id: Uuid,
    id: &str,
) -> Result<Option<Endpoint>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM webhook_endpoints WHERE organisation_id = ? AND id = ?"
    ))
    .bind(organisation_id.to_string())
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// Turns an endpoint on (its pending deliveries resume) or off; `false` when there is none.
pub async fn set_active(
    pool: &MySqlPool,
    organisation_id: Uuid,
    id: &str,
    active: bool,
    at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE webhook_endpoints
            SET active = ?, disabled_at = IF(?, NULL, ?), disabled_reason = NULL
          WHERE organisation_id = ? AND id = ?",
    )
    .bind(active)
    .bind(active)
    .bind(at)
    .bind(organisation_id.to_string())
    .bind(id)
    .execute(pool)
    .await?;
    if active && done.rows_affected() == 1 {
        // Enabled again: what waited gets a new day of retries from its next attempt.
        sqlx::query(
            "UPDATE webhook_deliveries SET first_attempt_at = NULL, attempts = 0, next_attempt_at = ?
              WHERE endpoint_id = ? AND status = 'pending'",
        )
        .bind(at)
        .bind(id)
        .execute(pool)
        .await?;
    }
    Ok(done.rows_affected() == 1)
}

/// One delivery as the log shows it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Delivery {
    pub id: String,
    pub event_type: String,
    pub reference: Option<String>,
    pub status: String,
    pub attempts: i32,
    pub last_status: Option<i16>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub next_attempt_at: DateTime<Utc>,
}

/// The endpoint's latest deliveries, newest first.
pub async fn deliveries(pool: &MySqlPool, endpoint: &str) -> Result<Vec<Delivery>, sqlx::Error> {
    sqlx::query_as(
        "SELECT d.id, d.event_type, r.reference, d.status, d.attempts, d.last_status, d.last_error,
                d.created_at, d.delivered_at, d.next_attempt_at
           FROM webhook_deliveries d
           LEFT JOIN webhook_requests r ON r.aggregate_id = d.aggregate_id
          WHERE d.endpoint_id = ?
          ORDER BY d.position DESC
          LIMIT 100",
    )
    .bind(endpoint)
    .fetch_all(pool)
    .await
}

/// "Send again": the delivery goes back in the queue, with a new day of retries.
pub async fn send_again(
    pool: &MySqlPool,
    endpoint: &str,
    delivery: &str,
    at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE webhook_deliveries
            SET status = 'pending', attempts = 0, next_attempt_at = ?, first_attempt_at = NULL
          WHERE endpoint_id = ? AND id = ? AND status <> 'pending'",
    )
    .bind(at)
    .bind(endpoint)
    .bind(delivery)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}
