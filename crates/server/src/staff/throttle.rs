//! Login throttling per account and per client, in the database so that every server copy and
//! every parallel attempt counts: an attempt is counted *before* the password is checked, and a
//! success clears the account's count.

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use sqlx::MySqlPool;

/// Attempts allowed per window, per account and per client address.
pub const LIMIT: i32 = 5;
pub const WINDOW: Duration = Duration::minutes(15);

fn subject(kind: &str, value: &str) -> String {
    hex::encode(Sha256::digest(
        format!("{kind}:{}", value.trim().to_lowercase()).as_bytes(),
    ))
}

/// Counts one attempt for this account and this client; `false` when either is over the limit.
/// Each attempt reads its own count inside the transaction that increments it (the row stays
/// locked until commit), so of a burst of parallel attempts at most `LIMIT` pass.
pub async fn attempt(
    pool: &MySqlPool,
    email: &str,
    client: &str,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let mut allowed = true;
    for key in [subject("account", email), subject("client", client)] {
        let count =
            sportello_projections::retry("login count", || count_attempt(pool, &key, now)).await?;
        allowed &= count <= LIMIT;
    }
    Ok(allowed)
}

/// Counts one attempt under `key` and returns the count in the window.
async fn count_attempt(
    pool: &MySqlPool,
    key: &str,
    now: DateTime<Utc>,
) -> Result<i32, sqlx::Error> {
    {
        let mut tx = pool.begin().await?;
        sqlx::query(
            "INSERT INTO login_failures (subject, failures, window_start) VALUES (?, 1, ?)
             ON DUPLICATE KEY UPDATE
                failures = IF(window_start < ?, 1, failures + 1),
                window_start = IF(window_start < ?, VALUES(window_start), window_start)",
        )
        .bind(key)
        .bind(now)
        .bind(now - WINDOW)
        .bind(now - WINDOW)
        .execute(&mut *tx)
        .await?;
        let count: i32 =
            sqlx::query_scalar("SELECT failures FROM login_failures WHERE subject = ? FOR UPDATE")
                .bind(key)
                .fetch_one(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(count)
    }
}

/// A successful login forgets the account's attempts and gives the client back the attempt it
/// used, so colleagues behind one office address are not locked out by each other's sign-ins.
pub async fn succeeded(pool: &MySqlPool, email: &str, client: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM login_failures WHERE subject = ?")
        .bind(subject("account", email))
        .execute(pool)
        .await?;
    sqlx::query("UPDATE login_failures SET failures = GREATEST(failures - 1, 0) WHERE subject = ?")
        .bind(subject("client", client))
        .execute(pool)
        .await?;
    Ok(())
}
