//! Signed checkpoints of the whole log: once a day the log's size, head position and head hash
//! are signed with the deployment's Ed25519 key and published (the public page, the monthly
//! report). An auditor who kept one proves later that the log still contains it:
//! `sportello events verify --checkpoint FILE` checks the signature against the deployment's key
//! and recomputes the chain up to that size. The key lives in a file of the data directory
//! (`SPORTELLO_DATA_DIR/keys/checkpoint.ed25519`, made at first use), not in the database: who
//! can rewrite the database cannot sign a new history.

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, NaiveDate, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sqlx::MySqlPool;

use super::log_chain;

/// A checkpoint as published and as an auditor keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub version: u8,
    pub day: NaiveDate,
    /// Entries of the log chain (events) it covers.
    pub size: i64,
    /// The last covered event's position.
    pub position: i64,
    /// The log chain's hash after `size` entries.
    pub head: String,
    pub signed_at: DateTime<Utc>,
    /// The deployment's Ed25519 public key, base64.
    pub public_key: String,
    /// Ed25519 over `message()`, base64.
    pub signature: String,
}

impl Checkpoint {
    /// What is signed: a fixed first line, then each field on its own line.
    pub fn message(&self) -> Vec<u8> {
        format!(
            "sportello-checkpoint v{}\n{}\n{}\n{}\n{}\n{}\n",
            self.version,
            self.day,
            self.size,
            self.position,
            self.head,
            self.signed_at.format("%Y-%m-%dT%H:%M:%S%.6fZ")
        )
        .into_bytes()
    }

    /// Whether the signature is the key's over the fields.
    pub fn signed_by(&self, key: &VerifyingKey) -> bool {
        let Ok(bytes) = STANDARD.decode(&self.signature) else {
            return false;
        };
        let Ok(signature) = Signature::from_slice(&bytes) else {
            return false;
        };
        STANDARD.encode(key.as_bytes()) == self.public_key
            && key.verify(&self.message(), &signature).is_ok()
    }
}

/// The key file's place.
pub fn key_path(data_dir: &Path) -> PathBuf {
    data_dir.join("keys").join("checkpoint.ed25519")
}

/// The deployment's key if its file is there (verifying never makes one: a missing key is an
/// operator's problem to solve, not a reason to trust a new one).
pub fn existing_key(data_dir: &Path) -> anyhow::Result<Option<SigningKey>> {
    let path = key_path(data_dir);
    match std::fs::read(&path) {
        Ok(bytes) => {
            let seed: [u8; 32] = bytes
                .as_slice()
                .try_into()
                .map_err(|_| anyhow::anyhow!("{} is not a 32-byte Ed25519 key", path.display()))?;
            Ok(Some(SigningKey::from_bytes(&seed)))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error.into()),
    }
}

/// The deployment's signing key: read, or made (32 random bytes, readable by its owner only).
pub fn signing_key(data_dir: &Path) -> anyhow::Result<SigningKey> {
    let path = key_path(data_dir);
    if let Some(key) = existing_key(data_dir)? {
        return Ok(key);
    }
    let mut seed = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut seed);
    std::fs::create_dir_all(path.parent().expect("a parent"))?;
    write_private(&path, &seed)?;
    Ok(SigningKey::from_bytes(&seed))
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

/// Signs today's checkpoint if there is none yet (one row a day: the first copy to sign wins).
pub async fn sign_today(
    pool: &MySqlPool,
    data_dir: &Path,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<Checkpoint>> {
    let day = sportello_domain::rome_date(now);
    let done: Option<NaiveDate> =
        sqlx::query_scalar("SELECT day FROM log_checkpoints WHERE day = ?")
            .bind(day)
            .fetch_optional(pool)
            .await?;
    if done.is_some() {
        return Ok(None);
    }
    let key = signing_key(data_dir)?;
    let mut conn = pool.acquire().await?;
    let head = log_chain::head(&mut conn).await?;
    let mut checkpoint = Checkpoint {
        version: 1,
        day,
        size: head.size,
        position: head.position,
        head: head.hash,
        signed_at: now,
        public_key: STANDARD.encode(key.verifying_key().as_bytes()),
        signature: String::new(),
    };
    checkpoint.signature = STANDARD.encode(key.sign(&checkpoint.message()).to_bytes());
    let inserted = sqlx::query(
        "INSERT IGNORE INTO log_checkpoints (day, size, global_position, head, signed_at, public_key, signature)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(checkpoint.day)
    .bind(checkpoint.size)
    .bind(checkpoint.position)
    .bind(&checkpoint.head)
    .bind(checkpoint.signed_at)
    .bind(&checkpoint.public_key)
    .bind(&checkpoint.signature)
    .execute(&mut *conn)
    .await?;
    Ok((inserted.rows_affected() == 1).then_some(checkpoint))
}

type Row = (NaiveDate, i64, i64, String, DateTime<Utc>, String, String);

fn of(row: Row) -> Checkpoint {
    let (day, size, position, head, signed_at, public_key, signature) = row;
    Checkpoint {
        version: 1,
        day,
        size,
        position,
        head,
        signed_at,
        public_key,
        signature,
    }
}

/// The latest checkpoints, newest first.
pub async fn latest(pool: &MySqlPool, limit: i64) -> Result<Vec<Checkpoint>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT day, size, global_position, head, signed_at, public_key, signature
           FROM log_checkpoints ORDER BY day DESC LIMIT ?",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(of).collect())
}

pub async fn of_day(pool: &MySqlPool, day: NaiveDate) -> Result<Option<Checkpoint>, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT day, size, global_position, head, signed_at, public_key, signature
           FROM log_checkpoints WHERE day = ?",
    )
    .bind(day)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(of))
}

/// Whether the log still contains a checkpoint: the problems found, none when it does.
pub async fn verify(
    pool: &MySqlPool,
    data_dir: &Path,
    checkpoint: &Checkpoint,
) -> anyhow::Result<Vec<String>> {
    let Some(key) = existing_key(data_dir)? else {
        anyhow::bail!(
            "the deployment's checkpoint key is missing ({}): restore it from its backup to verify",
            key_path(data_dir).display()
        );
    };
    let key = key.verifying_key();
    if !checkpoint.signed_by(&key) {
        return Ok(vec![
            "the checkpoint's signature is not this deployment's key over its fields (altered, or signed elsewhere)".into(),
        ]);
    }
    let report = log_chain::verify(pool, Some(checkpoint.size)).await?;
    let mut problems: Vec<String> = report.breaks.iter().map(ToString::to_string).collect();
    if report.entries < checkpoint.size {
        problems.push(format!(
            "the log ends after {} entries (position {}), but the checkpoint of {} covers {} (position {}): its tail was cut",
            report.entries, report.head_position, checkpoint.day, checkpoint.size, checkpoint.position
        ));
    } else if report.head_hash != checkpoint.head || report.head_position != checkpoint.position {
        problems.push(format!(
            "after {} entries the log's hash is {}, the checkpoint of {} says {}: what it covered was changed",
            checkpoint.size, report.head_hash, checkpoint.day, checkpoint.head
        ));
    }
    Ok(problems)
}
