//! A message's identity in its mailbox, and what is written for it: the row recording what it
//! became, in the transaction of what it caused; or its place in quarantine.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sportello_domain::Channel;
use sqlx::MySqlConnection;
use uuid::Uuid;

use super::read::{self, Held};
use crate::state::AppState;

/// Which of the Comune's mailboxes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Mail,
    Pec,
}

impl Which {
    pub fn code(self) -> &'static str {
        match self {
            Which::Mail => "mail",
            Which::Pec => "pec",
        }
    }

    pub fn channel(self) -> Channel {
        match self {
            Which::Mail => Channel::Email,
            Which::Pec => Channel::Pec,
        }
    }
}

/// A message's identity and when it was read.
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    pub mailbox: Which,
    pub uidvalidity: u32,
    pub uid: u32,
    pub message_id_hash: String,
    pub sender_hash: Option<String>,
    pub received_at: DateTime<Utc>,
}

impl Identity {
    /// The identity of the message `uid` of a folder, read now: its Message-ID's hash (the
    /// whole message's when it has none) and its sender's.
    pub fn of(
        mailbox: Which,
        uidvalidity: u32,
        uid: u32,
        raw: &[u8],
        received_at: DateTime<Utc>,
    ) -> Identity {
        let message_id = read::message_id(raw).map(String::into_bytes);
        Identity {
            mailbox,
            uidvalidity,
            uid,
            message_id_hash: sha256(message_id.as_deref().unwrap_or(raw)),
            sender_hash: read::sender(raw).map(|s| sha256(s.as_bytes())),
            received_at,
        }
    }

    /// The metadata of the events a message causes: the mailbox as actor, its channel, and a
    /// correlation id of its own.
    pub fn metadata(&self) -> std::collections::HashMap<String, String> {
        crate::event_store::metadata(
            &format!("mail:{}", self.mailbox.code()),
            self.mailbox.channel().code(),
            &Uuid::new_v4().to_string(),
        )
    }

    /// Records what became of the message, in the caller's transaction.
    pub async fn record(
        &self,
        conn: &mut MySqlConnection,
        organisation: Uuid,
        outcome: &str,
        aggregate_id: Option<&str>,
        quarantine_id: Option<u64>,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO mail_in_messages (organisation_id, mailbox, uidvalidity, uid, message_id_hash,
                    sender_hash, outcome, aggregate_id, quarantine_id, received_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(organisation.to_string())
        .bind(self.mailbox.code())
        .bind(self.uidvalidity)
        .bind(self.uid)
        .bind(&self.message_id_hash)
        .bind(&self.sender_hash)
        .bind(outcome)
        .bind(aggregate_id)
        .bind(quarantine_id)
        .bind(self.received_at)
        .execute(conn)
        .await?;
        Ok(())
    }
}

pub(crate) fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Into quarantine: the message (its headers only when `whole` is false), why, and its
/// identity, in one transaction.
pub(crate) async fn hold(
    app: &AppState,
    identity: &Identity,
    held: Held,
    raw: &[u8],
    size: u64,
    whole: bool,
) -> anyhow::Result<()> {
    let sender = read::sender(raw).map(|s| s.chars().take(320).collect::<String>());
    let subject = read::subject(raw).map(|s| s.chars().take(300).collect::<String>());
    let raw = if whole { raw.to_vec() } else { header_of(raw) };
    let organisation = app.organisation_id;
    sportello_projections::retry("quarantine", || async {
        let mut tx = app.pool.begin().await?;
        let id = sqlx::query(
            "INSERT INTO mail_quarantine (organisation_id, mailbox, reason, sender, subject, raw, size, received_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(organisation.to_string())
        .bind(identity.mailbox.code())
        .bind(held.code())
        .bind(&sender)
        .bind(&subject)
        .bind(&raw)
        .bind(size as i64)
        .bind(identity.received_at)
        .execute(&mut *tx)
        .await?
        .last_insert_id();
        identity
            .record(&mut tx, organisation, "quarantine", None, Some(id))
            .await?;
        tx.commit().await
    })
    .await?;
    tracing::info!(
        mailbox = identity.mailbox.code(),
        uid = identity.uid,
        reason = held.code(),
        "mail held in quarantine"
    );
    Ok(())
}

/// The header block of a message (up to the first empty line).
fn header_of(raw: &[u8]) -> Vec<u8> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n").map(|i| i + 2))
        .unwrap_or(raw.len());
    raw[..end].to_vec()
}
