//! Server-side sessions in MySQL, so every server copy knows them, for staff and for citizens
//! alike (each under its own cookie). The cookie holds 256 random
//! bits; the table holds their hash. A session ends after 30 idle minutes or 12 hours in all,
//! at logout, or when its owner logs out everywhere. Each session has its own CSRF secret.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::MySqlPool;
use uuid::Uuid;

pub const COOKIE: &str = "sportello_session";
/// The citizen area's session cookie: a citizen and a member of staff may share a browser.
pub const CITIZEN_COOKIE: &str = "sportello_citizen";

/// Whose session it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    Staff(Uuid),
    Citizen(Uuid),
}
pub const IDLE: Duration = Duration::minutes(30);
pub const ABSOLUTE: Duration = Duration::hours(12);
/// How stale `last_seen_at` may get before a request writes it again.
const TOUCH_AFTER: Duration = Duration::minutes(1);

fn random() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn hash(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

/// Opens a session for `owner`; returns the cookie value. Any session the browser had before
/// is ended by the caller, so a login always rotates the identifier.
pub async fn open(
    pool: &MySqlPool,
    owner: impl Into<Owner>,
    now: DateTime<Utc>,
) -> Result<String, sqlx::Error> {
    let value = random();
    let (staff_id, citizen_id) = match owner.into() {
        Owner::Staff(id) => (Some(id.to_string()), None),
        Owner::Citizen(id) => (None, Some(id.to_string())),
    };
    sqlx::query(
        "INSERT INTO sessions (id_hash, staff_id, citizen_id, csrf_secret, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(hash(&value))
    .bind(staff_id)
    .bind(citizen_id)
    .bind(hex::encode(Sha256::digest(random().as_bytes())))
    .bind(now)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(value)
}

/// A live session: whose it is and its CSRF token.
#[derive(Debug, Clone)]
pub struct Session {
    pub owner: Owner,
    pub csrf_token: String,
}

impl From<Uuid> for Owner {
    /// A bare id is a member of staff's (the back office's calls predate citizens' sessions).
    fn from(staff_id: Uuid) -> Owner {
        Owner::Staff(staff_id)
    }
}

/// The live session behind a cookie value, touched; `None` when unknown or expired (and then
/// removed).
pub async fn load(
    pool: &MySqlPool,
    value: &str,
    now: DateTime<Utc>,
) -> Result<Option<Session>, sqlx::Error> {
    let id_hash = hash(value);
    type Row = (
        Option<String>,
        Option<String>,
        String,
        DateTime<Utc>,
        DateTime<Utc>,
    );
    let row: Option<Row> = sqlx::query_as(
        "SELECT staff_id, citizen_id, csrf_secret, created_at, last_seen_at FROM sessions WHERE id_hash = ?",
    )
    .bind(&id_hash)
    .fetch_optional(pool)
    .await?;
    let Some((staff_id, citizen_id, csrf_token, created_at, last_seen_at)) = row else {
        return Ok(None);
    };
    let parse = |id: Option<String>| id.and_then(|id| Uuid::parse_str(&id).ok());
    let owner = match (parse(staff_id), parse(citizen_id)) {
        (Some(id), _) => Owner::Staff(id),
        (None, Some(id)) => Owner::Citizen(id),
        (None, None) => return Ok(None),
    };
    if now - last_seen_at > IDLE || now - created_at > ABSOLUTE {
        close(pool, value).await?;
        return Ok(None);
    }
    if now - last_seen_at > TOUCH_AFTER {
        sqlx::query("UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?")
            .bind(now)
            .bind(&id_hash)
            .execute(pool)
            .await?;
    }
    Ok(Some(Session { owner, csrf_token }))
}

pub async fn close(pool: &MySqlPool, value: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE id_hash = ?")
        .bind(hash(value))
        .execute(pool)
        .await?;
    Ok(())
}

/// Ends every session of this member of staff (logout everywhere, deactivation).
pub async fn close_all(pool: &MySqlPool, staff_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE staff_id = ?")
        .bind(staff_id.to_string())
        .execute(pool)
        .await?;
    Ok(())
}

/// Ends every session of this citizen (password reset, account deleted).
pub async fn close_all_citizen(pool: &MySqlPool, citizen_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE citizen_id = ?")
        .bind(citizen_id.to_string())
        .execute(pool)
        .await?;
    Ok(())
}
