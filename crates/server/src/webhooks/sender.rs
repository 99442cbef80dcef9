//! Delivering webhooks: the due deliveries, the first pending one of each request and endpoint
//! only (so each endpoint hears of a request's events in their order), leased so that one copy
//! sends each, signed as the Standard Webhooks specification says. A 2xx answer delivers; any
//! other answer or none is retried with exponential backoff for 24 hours, after which the
//! delivery fails, the endpoint is disabled and the administrators are told by e-mail. Sending
//! never happens inside a citizen's request: the processor queues, this loop sends.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use sportello_domain::Sealed;
use sportello_projections::outbox::{self, Mail};

use crate::personal;
use crate::state::AppState;

/// How long a delivery is retried before the endpoint is disabled.
pub const RETRY_HOURS: i64 = 24;
/// How long a copy holds the deliveries it is sending.
const LEASE: chrono::Duration = chrono::Duration::seconds(120);
const BATCH: i64 = 50;

/// The wait before attempt `attempts + 1`: 10 s, 20 s, 40 s … at most an hour.
pub fn backoff(attempts: i32) -> chrono::Duration {
    let exponent = attempts.clamp(0, 12) as u32;
    chrono::Duration::seconds((10i64 << exponent).min(3600))
}

/// The `webhook-signature` value: `v1,` and the base64 HMAC-SHA256, under the secret's bytes,
/// of `id.timestamp.body`.
pub fn signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .ok()?;
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).ok()?;
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    Some(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

type Due = (
    String,
    String,
    i64,
    String,
    i32,
    DateTime<Utc>,
    String,
    String,
    bool,
);

/// Sends what is due now (one batch): a delivery never tried is due at once, a retried one at
/// its `next_attempt_at`. Returns how many were attempted.
pub async fn deliver_due(app: &AppState) -> anyhow::Result<usize> {
    let now = app.clock.now();
    let due: Vec<Due> = sqlx::query_as(
        "SELECT d.id, d.endpoint_id, d.position, d.aggregate_id, d.attempts,
                COALESCE(d.first_attempt_at, ?), e.url, e.secret, e.personal
           FROM webhook_deliveries d
           JOIN webhook_endpoints e ON e.id = d.endpoint_id
          WHERE d.status = 'pending' AND (d.attempts = 0 OR d.next_attempt_at <= ?) AND e.active
            AND (d.leased_until IS NULL OR d.leased_until < ?)
            AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p
                             WHERE p.endpoint_id = d.endpoint_id AND p.aggregate_id = d.aggregate_id
                               AND p.status = 'pending' AND p.position < d.position)
          ORDER BY d.next_attempt_at, d.position
          LIMIT ?",
    )
    .bind(now)
    .bind(now)
    .bind(now)
    .bind(BATCH)
    .fetch_all(&app.pool)
    .await?;
    let mut sent = 0;
    for (id, endpoint, position, aggregate_id, attempts, first, url, secret, open) in due {
        // The lease, taken now (an earlier send of this batch may have been slow): another copy
        // that picked the same row skips it, and only the holder records the outcome.
        let now = app.clock.now();
        let lease = now + LEASE;
        let leased = sqlx::query(
            "UPDATE webhook_deliveries SET leased_until = ?
              WHERE id = ? AND status = 'pending' AND (leased_until IS NULL OR leased_until < ?)",
        )
        .bind(lease)
        .bind(&id)
        .bind(now)
        .execute(&app.pool)
        .await?;
        if leased.rows_affected() != 1 {
            continue;
        }
        sent += 1;
        let body = payload(app, position, &aggregate_id, open).await?;
        let outcome = match reachable(app, &url).await {
            Ok(_) => post(app, &url, &secret, &id, &body).await,
            Err(refused) => Err(refused),
        };
        let first = if attempts == 0 { now } else { first };
        record(app, &id, &endpoint, attempts, first, lease, outcome).await?;
    }
    Ok(sent)
}

/// Whether `url`'s host may be called: one the configuration allows, or one whose every
/// address is public — never the server's own network (loopback, private, link-local, unique
/// local), which a webhook must not reach unless the deployment says so.
async fn reachable(app: &AppState, url: &str) -> Outcome {
    let parsed = url::Url::parse(url).map_err(|_| "bad_url".to_string())?;
    let host = parsed.host_str().unwrap_or("").to_ascii_lowercase();
    if app.config.webhook_http_hosts.contains(&host) {
        return Ok(0);
    }
    let port = parsed.port_or_known_default().unwrap_or(443);
    let addresses = tokio::net::lookup_host((host.trim_matches(['[', ']']), port))
        .await
        .map_err(|_| "unresolved".to_string())?;
    for address in addresses {
        if !super::public_address(address.ip()) {
            return Err("private".to_string());
        }
    }
    Ok(0)
}

/// The JSON sent for the event at `position`: its type and time, the request's id and
/// reference, the event's fields with sealed parts opened (`open`) or left out.
async fn payload(
    app: &AppState,
    position: i64,
    aggregate_id: &str,
    open: bool,
) -> anyhow::Result<Vec<u8>> {
    let (kind, sequence, stored, recorded_at): (String, i64, Value, DateTime<Utc>) = sqlx::query_as(
        "SELECT event_type, sequence, payload, recorded_at FROM events WHERE global_position = ?",
    )
    .bind(position)
    .fetch_one(&app.pool)
    .await?;
    let reference: Option<String> =
        sqlx::query_scalar("SELECT reference FROM webhook_requests WHERE aggregate_id = ?")
            .bind(aggregate_id)
            .fetch_optional(&app.pool)
            .await?;
    let mut fields = match stored {
        Value::Object(map) if map.len() == 1 => {
            map.into_iter().next().map(|(_, v)| v).unwrap_or_default()
        }
        other => other,
    };
    let mut sealed: Vec<Sealed> = Vec::new();
    personal::collect_sealed(&mut fields, &mut sealed);
    let opened = if open {
        personal::open_json(&app.pool, &sealed).await?
    } else {
        vec![None; sealed.len()]
    };
    personal::fill_sealed(&mut fields, &mut opened.into_iter());
    let body = json!({
        "type": kind,
        "timestamp": recorded_at,
        "data": {
            "request_id": aggregate_id,
            "reference": reference,
            "sequence": sequence,
            "position": position,
            "event": fields,
        },
    });
    Ok(serde_json::to_vec(&body)?)
}

/// What an attempt got: the status, or why there was none.
type Outcome = Result<u16, String>;

async fn post(app: &AppState, url: &str, secret: &str, id: &str, body: &[u8]) -> Outcome {
    let timestamp = app.clock.now().timestamp();
    let signed = signature(secret, id, timestamp, body).ok_or("bad_secret")?;
    let client = reqwest::Client::builder()
        .timeout(app.config.webhook_timeout)
        .connect_timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|_| "failed".to_string())?;
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .header("user-agent", "Sportello-Webhooks/1")
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signed)
        .body(body.to_vec())
        .send()
        .await
        .map_err(|error| {
            if error.is_timeout() {
                "timeout".to_string()
            } else if error.is_connect() {
                "unreachable".to_string()
            } else {
                "failed".to_string()
            }
        })?;
    Ok(response.status().as_u16())
}

async fn record(
    app: &AppState,
    id: &str,
    endpoint: &str,
    attempts: i32,
    first: DateTime<Utc>,
    lease: DateTime<Utc>,
    outcome: Outcome,
) -> anyhow::Result<()> {
    let now = app.clock.now();
    let attempts = attempts + 1;
    let (status, error) = match &outcome {
        Ok(code) if (200..300).contains(code) => {
            sqlx::query(
                "UPDATE webhook_deliveries SET status = 'delivered', attempts = ?, last_status = ?,
                        last_error = NULL, delivered_at = ?, leased_until = NULL,
                        first_attempt_at = COALESCE(first_attempt_at, ?)
                  WHERE id = ? AND status = 'pending' AND leased_until = ?",
            )
            .bind(attempts)
            .bind(*code as i16)
            .bind(now)
            .bind(first)
            .bind(id)
            .bind(lease)
            .execute(&app.pool)
            .await?;
            return Ok(());
        }
        Ok(code) => (Some(*code as i16), format!("http_{code}")),
        Err(error) => (None, error.clone()),
    };
    let given_up = now - first >= chrono::Duration::hours(RETRY_HOURS);
    let mut tx = app.pool.begin().await?;
    sqlx::query(
        "UPDATE webhook_deliveries SET status = ?, attempts = ?, last_status = ?, last_error = ?,
                next_attempt_at = ?, leased_until = NULL, first_attempt_at = ?
          WHERE id = ? AND status = 'pending' AND leased_until = ?",
    )
    .bind(if given_up { "failed" } else { "pending" })
    .bind(attempts)
    .bind(status)
    .bind(&error)
    .bind(now + backoff(attempts - 1))
    .bind(first)
    .bind(id)
    .bind(lease)
    .execute(&mut *tx)
    .await?;
    if given_up {
        let disabled = sqlx::query(
            "UPDATE webhook_endpoints SET active = FALSE, disabled_at = ?, disabled_reason = ?
              WHERE id = ? AND active",
        )
        .bind(now)
        // A code (`http_503`, `timeout` …), put in words where it is shown.
        .bind(&error)
        .bind(endpoint)
        .execute(&mut *tx)
        .await?;
        if disabled.rows_affected() == 1 {
            tracing::warn!(
                endpoint_id = endpoint,
                "webhook endpoint disabled after a day of failures"
            );
            let endpoint_id = uuid::Uuid::parse_str(endpoint)?;
            for staff in administrators(app).await? {
                outbox::queue(
                    &mut tx,
                    &Mail::WebhookDisabled {
                        staff,
                        endpoint: endpoint_id,
                    },
                    now,
                )
                .await?;
            }
        }
    }
    tx.commit().await?;
    if given_up {
        app.mail_queued.notify_waiters();
    }
    Ok(())
}

/// The organisation's active administrators.
async fn administrators(app: &AppState) -> Result<Vec<uuid::Uuid>, sqlx::Error> {
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT s.id FROM staff s JOIN staff_roles r ON r.staff_id = s.id
          WHERE s.organisation_id = ? AND s.active AND r.role = 'administrator'",
    )
    .bind(app.organisation_id.to_string())
    .fetch_all(&app.pool)
    .await?;
    Ok(ids
        .iter()
        .filter_map(|id| uuid::Uuid::parse_str(id).ok())
        .collect())
}
