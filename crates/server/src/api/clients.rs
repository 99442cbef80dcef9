//! API clients as stored: created by administrators, each with its scopes and, optionally, the
//! departments it is limited to. The token is shown once and kept only as its SHA-256, so a
//! leaked database opens no client; a revoked client's token opens nothing.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::MySqlPool;
use uuid::Uuid;

/// What a client may do. Personal data (names, contacts, texts) reach only `requests:*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Scope {
    RequestsRead,
    RequestsWrite,
    StatisticsRead,
    EventsRead,
    WebhooksManage,
}

impl Scope {
    pub const ALL: [Scope; 5] = [
        Scope::RequestsRead,
        Scope::RequestsWrite,
        Scope::StatisticsRead,
        Scope::EventsRead,
        Scope::WebhooksManage,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Scope::RequestsRead => "requests:read",
            Scope::RequestsWrite => "requests:write",
            Scope::StatisticsRead => "statistics:read",
            Scope::EventsRead => "events:read",
            Scope::WebhooksManage => "webhooks:manage",
        }
    }

    pub fn of(code: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|scope| scope.code() == code)
    }

    /// Scopes that reach beyond any department (the whole log; endpoints that hear of every
    /// request): not for a client limited to departments.
    pub fn whole_organisation(self) -> bool {
        matches!(self, Scope::EventsRead | Scope::WebhooksManage)
    }
}

/// A client as the API and the administrators' page see it.
#[derive(Debug, Clone, Serialize)]
pub struct Client {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub name: String,
    pub scopes: Vec<Scope>,
    /// Empty: every department.
    pub departments: Vec<Uuid>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl Client {
    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }

    /// Whether the client may see a request in `department` (a request not yet forwarded
    /// belongs to the URP: only clients of every department see it), as referents do.
    pub fn may_see(&self, department: Option<Uuid>) -> bool {
        self.departments.is_empty() || department.is_some_and(|d| self.departments.contains(&d))
    }
}

/// What a new client is made of, already checked.
pub struct NewClient {
    pub name: String,
    pub scopes: Vec<Scope>,
    pub departments: Vec<Uuid>,
}

/// A new token: a recognisable prefix and 256 random bits, URL-safe.
fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("spt_{}", URL_SAFE_NO_PAD.encode(bytes))
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

type Row = (
    String,
    String,
    String,
    String,
    String,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
);

const COLUMNS: &str =
    "id, organisation_id, name, scopes, departments, created_at, revoked_at, last_used_at";

fn client_of(row: Row) -> Client {
    let (id, organisation_id, name, scopes, departments, created_at, revoked_at, last_used_at) =
        row;
    Client {
        id: Uuid::parse_str(&id).unwrap_or_default(),
        organisation_id: Uuid::parse_str(&organisation_id).unwrap_or_default(),
        name,
        scopes: scopes.split_whitespace().filter_map(Scope::of).collect(),
        departments: departments
            .split_whitespace()
            .filter_map(|d| Uuid::parse_str(d).ok())
            .collect(),
        created_at,
        revoked_at,
        last_used_at,
    }
}

/// Creates a client; returns it with its token, in clear this once.
pub async fn create(
    pool: &MySqlPool,
    organisation_id: Uuid,
    by: Uuid,
    new: &NewClient,
    at: DateTime<Utc>,
) -> Result<(Uuid, String), sqlx::Error> {
    let id = Uuid::new_v4();
    let token = new_token();
    let scopes: Vec<&str> = new.scopes.iter().map(|scope| scope.code()).collect();
    let departments: Vec<String> = new.departments.iter().map(Uuid::to_string).collect();
    sqlx::query(
        "INSERT INTO api_clients (id, organisation_id, name, scopes, departments, token_hash,
                                  created_by, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id.to_string())
    .bind(organisation_id.to_string())
    .bind(&new.name)
    .bind(scopes.join(" "))
    .bind(departments.join(" "))
    .bind(token_hash(&token))
    .bind(by.to_string())
    .bind(at)
    .execute(pool)
    .await?;
    Ok((id, token))
}

/// Every client of the organisation, newest first, revoked ones included.
pub async fn all(pool: &MySqlPool, organisation_id: Uuid) -> Result<Vec<Client>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM api_clients WHERE organisation_id = ? ORDER BY created_at DESC"
    ))
    .bind(organisation_id.to_string())
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(client_of).collect())
}

/// The client holding this token, unless revoked.
pub async fn by_token(pool: &MySqlPool, token: &str) -> Result<Option<Client>, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM api_clients WHERE token_hash = ? AND revoked_at IS NULL"
    ))
    .bind(token_hash(token))
    .fetch_optional(pool)
    .await?;
    Ok(row.map(client_of))
}

/// Revokes a client of the organisation; `false` when there is none (or it was revoked).
pub async fn revoke(
    pool: &MySqlPool,
    organisation_id: Uuid,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE api_clients SET revoked_at = ?
          WHERE id = ? AND organisation_id = ? AND revoked_at IS NULL",
    )
    .bind(at)
    .bind(id.to_string())
    .bind(organisation_id.to_string())
    .execute(pool)
    .await?;
    // The webhook endpoints it registered stop with it.
    sqlx::query(
        "UPDATE webhook_endpoints SET active = FALSE, disabled_at = ?, disabled_reason = 'revoked'
          WHERE created_by = ? AND organisation_id = ? AND active",
    )
    .bind(at)
    .bind(id.to_string())
    .bind(organisation_id.to_string())
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Notes that the client was used: at most once a minute, so a busy client does not write a
/// row on every call.
pub async fn touch(
    pool: &MySqlPool,
    client: &Client,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    if client
        .last_used_at
        .is_some_and(|last| at - last < chrono::Duration::minutes(1))
    {
        return Ok(());
    }
    sqlx::query("UPDATE api_clients SET last_used_at = ? WHERE id = ?")
        .bind(at)
        .bind(client.id.to_string())
        .execute(pool)
        .await?;
    Ok(())
}
