//! Dealing with the messages waiting in a mailbox, oldest first. Each message's identity (the
//! mailbox, UIDVALIDITY and UID, and a hash of its Message-ID) is committed in the transaction
//! of what it causes — a new request, a reply, a bounce or receipt recorded on a request, or a
//! place in quarantine — and only then is the message moved out of the inbox. A crash between
//! the two reads it again, finds its identity and just moves it: filed once, never lost.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sportello_domain::{Channel, FiledBy, Kind, Reference, RequestCommand, RequestError};
use sqlx::MySqlConnection;
use uuid::Uuid;

use super::imap::Connection;
use super::read::{self, Held, Letter, Reading};
use super::reply;
use crate::event_store;
use crate::files::{attachment_records, attachments, store_attachments, PreparedAttachment};
use crate::intake::{file_request, Submission, ValidRequest, SUBJECT_MAX};
use crate::state::AppState;
use crate::web::i18n;

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

    fn channel(self) -> Channel {
        match self {
            Which::Mail => Channel::Email,
            Which::Pec => Channel::Pec,
        }
    }
}

/// A message's identity and when it was read.
#[derive(Debug, Clone)]
struct Identity {
    mailbox: Which,
    uidvalidity: u32,
    uid: u32,
    message_id_hash: String,
    sender_hash: Option<String>,
    received_at: DateTime<Utc>,
}

impl Identity {
    /// Records what became of the message, in the caller's transaction.
    async fn record(
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

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Messages asked of the server at once.
const BATCH: usize = 50;
/// At most this many bytes of messages fetched at once.
const BATCH_BYTES: u64 = 32 * 1024 * 1024;

/// Deals with every message waiting in the folder; returns how many it dealt with. Messages are
/// asked of the server in batches (sizes, then bodies, then one move for the batch), each
/// committed on its own before the batch is moved.
pub async fn drain(app: &AppState, which: Which, conn: &mut Connection) -> anyhow::Result<usize> {
    let Some(limits) = app.config.mail_in.clone() else {
        return Ok(0);
    };
    let own = crate::mail::OwnAddresses::load(app).await?;
    let mut dealt = 0;
    for chunk in conn.waiting().await?.chunks(BATCH) {
        let list = chunk
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let known: Vec<i64> = sqlx::query_scalar(&format!(
            "SELECT uid FROM mail_in_messages WHERE mailbox = ? AND uidvalidity = ? AND uid IN ({list})"
        ))
        .bind(which.code())
        .bind(conn.uidvalidity)
        .fetch_all(&app.pool)
        .await?;
        let unknown: Vec<u32> = chunk
            .iter()
            .copied()
            .filter(|uid| !known.contains(&i64::from(*uid)))
            .collect();
        let sizes = conn.sizes(&unknown).await?;
        let mut done: Vec<u32> = chunk
            .iter()
            .copied()
            .filter(|uid| known.contains(&i64::from(*uid)))
            .collect();
        // Whole messages in sub-batches bounded by their size; too large ones by their headers.
        let mut batch = Pending::default();
        let mut left: Vec<u32> = unknown
            .iter()
            .copied()
            .filter(|uid| sizes.contains_key(uid))
            .collect();
        while !left.is_empty() {
            let mut take = Vec::new();
            let mut bytes = 0u64;
            for &uid in &left {
                let size = sizes[&uid];
                if size > limits.max_bytes {
                    continue;
                }
                if !take.is_empty() && bytes + size > BATCH_BYTES {
                    break;
                }
                bytes += size;
                take.push(uid);
            }
            let large: Vec<u32> = left
                .iter()
                .copied()
                .filter(|uid| sizes[uid] > limits.max_bytes)
                .collect();
            let mut fetched = conn.fetch(&take, false).await?;
            fetched.extend(conn.fetch(&large, true).await?);
            for uid in take.iter().chain(&large).copied() {
                let Some(raw) = fetched.remove(&uid) else {
                    continue;
                };
                let identity = Identity {
                    mailbox: which,
                    uidvalidity: conn.uidvalidity,
                    uid,
                    message_id_hash: sha256(
                        read::message_id(&raw)
                            .map(String::into_bytes)
                            .as_deref()
                            .unwrap_or(&raw),
                    ),
                    sender_hash: read::sender(&raw).map(|s| sha256(s.as_bytes())),
                    received_at: app.clock.now(),
                };
                let size = sizes[&uid];
                let message = Fetched {
                    identity,
                    raw,
                    size,
                    too_large: size > limits.max_bytes,
                };
                deal(app, &limits, &own, &mut batch, message).await?;
                done.push(uid);
            }
            left.retain(|uid| !take.contains(uid) && !large.contains(uid));
        }
        file_letters(app, std::mem::take(&mut batch.letters)).await?;
        // Committed (now or before a crash): out of the inbox.
        conn.processed(&done).await?;
        dealt += done.len();
    }
    if dealt > 0 {
        app.events_appended.notify_waiters();
        app.mail_queued.notify_waiters();
    }
    Ok(dealt)
}

/// The letters of a batch waiting to be filed together, and what they count for duplicates and
/// the per-sender rate before they are committed.
#[derive(Default)]
struct Pending {
    letters: Vec<(Identity, Letter)>,
    ids: std::collections::HashSet<String>,
    senders: std::collections::HashMap<String, i64>,
}

/// A message as fetched: its identity, its bytes (its headers only when too large), its size.
struct Fetched {
    identity: Identity,
    raw: Vec<u8>,
    size: u64,
    too_large: bool,
}

async fn deal(
    app: &AppState,
    limits: &super::MailIn,
    own: &crate::mail::OwnAddresses,
    pending: &mut Pending,
    message: Fetched,
) -> anyhow::Result<()> {
    let Fetched {
        identity,
        raw,
        size,
        too_large,
    } = message;
    if too_large {
        return hold(app, &identity, Held::TooLarge, &raw, size, false).await;
    }
    let seen: Option<i64> =
        sqlx::query_scalar("SELECT id FROM mail_in_messages WHERE message_id_hash = ? LIMIT 1")
            .bind(&identity.message_id_hash)
            .fetch_optional(&app.pool)
            .await?;
    if seen.is_some() || pending.ids.contains(&identity.message_id_hash) {
        // The same message delivered twice (or copied back into the inbox): dealt with already.
        let organisation = app.organisation_id;
        sportello_projections::retry("mail in", || async {
            let mut tx = app.pool.begin().await?;
            identity
                .record(&mut tx, organisation, "duplicate", None, None)
                .await?;
            tx.commit().await
        })
        .await?;
        return Ok(());
    }
    if let Some(sender) = &identity.sender_hash {
        let recent: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM mail_in_messages WHERE sender_hash = ? AND received_at > ?",
        )
        .bind(sender)
        .bind(identity.received_at - chrono::Duration::hours(1))
        .fetch_one(&app.pool)
        .await?;
        let waiting = pending.senders.get(sender).copied().unwrap_or(0);
        if recent + waiting >= i64::from(limits.per_sender_hour) {
            return hold(app, &identity, Held::OverRate, &raw, size, true).await;
        }
    }
    let reading = read::read(&raw, &|address| own.contains(address));
    match reading {
        Reading::Held(held) => hold(app, &identity, held, &raw, size, true).await,
        Reading::Letter(letter) => match letter.reply_token.clone() {
            Some(token) => match reply::find(&app.pool, &token).await? {
                Some(request) => replied(app, &identity, &request, *letter, &raw, size).await,
                None => hold(app, &identity, Held::UnknownReply, &raw, size, true).await,
            },
            None => {
                pending.ids.insert(identity.message_id_hash.clone());
                if let Some(sender) = &identity.sender_hash {
                    *pending.senders.entry(sender.clone()).or_default() += 1;
                }
                pending.letters.push((identity, *letter));
                Ok(())
            }
        },
        Reading::Bounce { original, reason } => {
            let command = RequestCommand::RecordDeliveryFailure {
                at: identity.received_at,
                reason,
            };
            match about(app, original.as_deref()).await? {
                Some(request) => recorded(app, &identity, &request, "bounce", command).await,
                None => hold(app, &identity, Held::UnmatchedBounce, &raw, size, true).await,
            }
        }
        Reading::PecReceipt {
            receipt,
            original,
            daticert,
        } => {
            let Some(request) = about(app, original.as_deref()).await? else {
                return hold(app, &identity, Held::UnmatchedReceipt, &raw, size, true).await;
            };
            let evidence = match (daticert, key_of(app, &request).await?) {
                (Some(text), Some(key)) => {
                    crate::personal::seal_text(&app.pool, key, &text).await?
                }
                _ => None,
            };
            let command = RequestCommand::RecordPecReceipt {
                at: identity.received_at,
                receipt: pec_receipt(receipt),
                evidence,
            };
            recorded(app, &identity, &request, "receipt", command).await
        }
    }
}

fn pec_receipt(receipt: read::Receipt) -> sportello_domain::PecReceipt {
    use sportello_domain::PecReceipt as P;
    match receipt {
        read::Receipt::Acceptance => P::Acceptance,
        read::Receipt::Delivery => P::Delivery,
        read::Receipt::NotAccepted => P::NotAccepted,
        read::Receipt::DeliveryError => P::DeliveryError,
    }
}

/// The request a mail we sent was about, from the Message-ID we gave it
/// (`<sportello.{outbox row}.{created µs}@host>`): the row and its time must both match.
async fn about(app: &AppState, message_id: Option<&str>) -> anyhow::Result<Option<String>> {
    let Some(local) = message_id
        .map(|id| id.trim_matches(['<', '>']))
        .and_then(|id| id.split('@').next())
        .and_then(|local| local.strip_prefix("sportello."))
    else {
        return Ok(None);
    };
    let Some((row, micros)) = local.split_once('.') else {
        return Ok(None);
    };
    let (Ok(row), Ok(micros)) = (row.parse::<i64>(), micros.parse::<i64>()) else {
        return Ok(None);
    };
    let found: Option<(Option<String>, DateTime<Utc>)> =
        sqlx::query_as("SELECT request_id, created_at FROM outbox WHERE id = ?")
            .bind(row)
            .fetch_optional(&app.pool)
            .await?;
    Ok(found
        .filter(|(_, created)| created.timestamp_micros() == micros)
        .and_then(|(request, _)| request))
}

/// The key the request's personal data is sealed with (`None` once erased).
async fn key_of(app: &AppState, request: &str) -> anyhow::Result<Option<Uuid>> {
    let history = event_store::history(&app.pool, request).await?;
    Ok(match history.first() {
        Some(sportello_domain::RequestEvent::RequestReceived { personal, .. }) => {
            Some(personal.key_id)
        }
        _ => None,
    })
}

/// Into quarantine: the message (its headers only when `whole` is false), why, and its
/// identity, in one transaction.
async fn hold(
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

/// A bounce or a receipt recorded on its request, with the message's identity.
async fn recorded(
    app: &AppState,
    identity: &Identity,
    request: &str,
    outcome: &str,
    command: RequestCommand,
) -> anyhow::Result<()> {
    let metadata = event_store::metadata(
        &format!("mail:{}", identity.mailbox.code()),
        identity.mailbox.channel().code(),
        &Uuid::new_v4().to_string(),
    );
    let organisation = app.organisation_id;
    let result = sportello_projections::retry("mail in", || async {
        let mut tx = app.pool.begin().await?;
        // Refused (an erased request keeps no receipts): the message is still dealt with.
        let _refused = event_store::decide_in(&mut tx, request, command.clone(), &metadata).await?;
        identity
            .record(&mut tx, organisation, outcome, Some(request), None)
            .await?;
        tx.commit().await
    })
    .await;
    result?;
    Ok(())
}

/// Checks the message's files as the web form does; returns the accepted ones and a line
/// naming each refused one.
pub(crate) async fn prepare(
    files: Vec<(String, Vec<u8>)>,
) -> anyhow::Result<(Vec<PreparedAttachment>, Vec<String>)> {
    let results = tokio::task::spawn_blocking(move || {
        files
            .into_iter()
            .enumerate()
            .map(|(index, (name, bytes))| {
                let result = if index >= attachments::MAX_FILES {
                    Err(None)
                } else {
                    attachments::prepare(&name, bytes).map_err(Some)
                };
                (attachments::safe_name(&name), result)
            })
            .collect::<Vec<_>>()
    })
    .await?;
    let mut accepted = Vec::new();
    let mut refused = Vec::new();
    for (name, result) in results {
        match result {
            Ok(attachment) => accepted.push(attachment),
            Err(error) => refused.push((name, error)),
        }
    }
    let lines = refused
        .into_iter()
        .map(|(name, error)| {
            let why = match error {
                Some(error) => i18n::text(sportello_domain::Language::It, error.message_key(), &[]),
                None => i18n::text(
                    sportello_domain::Language::It,
                    "form.error.attachments_count",
                    &[],
                ),
            };
            format!("{name}: {why}")
        })
        .collect();
    Ok((accepted, lines))
}

/// A citizen's letter filed as a new request (channel e-mail or PEC), answered in its thread;
/// the message's identity is recorded in the filing's transaction.
async fn file(
    app: &AppState,
    identity: &Identity,
    letter: Letter,
    follows: Option<Reference>,
) -> anyhow::Result<()> {
    let also = record_as_request(identity, app.organisation_id);
    let actor = format!("mail:{}", identity.mailbox.code());
    file_letter(app, letter, identity.mailbox, follows, actor, also).await?;
    Ok(())
}

/// Files `letter` as a new request (see `submission_of`).
pub(crate) async fn file_letter(
    app: &AppState,
    letter: Letter,
    mailbox: Which,
    follows: Option<Reference>,
    actor: String,
    also: crate::intake::Also,
) -> anyhow::Result<crate::intake::Filed> {
    let submission = submission_of(app, letter, mailbox, follows, actor, also).await?;
    file_request(app, submission)
        .await
        .map_err(|error| anyhow::anyhow!("filing a mailed request: {error}"))
}

/// Letters read in one batch filed together, in one transaction; if that fails, one by one (so
/// one that cannot be filed does not hold back the others).
async fn file_letters(app: &AppState, letters: Vec<(Identity, Letter)>) -> anyhow::Result<()> {
    if letters.is_empty() {
        return Ok(());
    }
    // Prepared side by side (images are decoded and re-encoded), filed in their order.
    let mut preparing = tokio::task::JoinSet::new();
    for (index, (identity, letter)) in letters.iter().enumerate() {
        let (app, letter, mailbox) = (app.clone(), letter.clone(), identity.mailbox);
        let actor = format!("mail:{}", identity.mailbox.code());
        let also = record_as_request(identity, app.organisation_id);
        preparing.spawn(async move {
            let submission = submission_of(&app, letter, mailbox, None, actor, also).await;
            (index, submission)
        });
    }
    let mut prepared = Vec::with_capacity(letters.len());
    while let Some(done) = preparing.join_next().await {
        let (index, submission) = done?;
        prepared.push((index, submission?));
    }
    prepared.sort_by_key(|(index, _)| *index);
    let submissions = prepared.into_iter().map(|(_, s)| s).collect();
    if crate::intake::file_requests(app, submissions).await.is_ok() {
        return Ok(());
    }
    for (identity, letter) in letters {
        file(app, &identity, letter, None).await?;
    }
    Ok(())
}

/// Records a message's identity as the request it became, in the filing's transaction.
fn record_as_request(identity: &Identity, organisation: Uuid) -> crate::intake::Also {
    let record = identity.clone();
    Box::new(move |tx, aggregate_id| {
        let record = record.clone();
        Box::pin(async move {
            record
                .record(tx, organisation, "request", Some(aggregate_id), None)
                .await
        })
    })
}

/// A letter as a submission: kind "information" under the URP's own topic (staff reclassify by
/// forwarding), the web form's attachment rules, the refused files named in the description;
/// `also` writes in the filing's transaction. The acknowledgement answers the letter's
/// Message-ID.
async fn submission_of(
    app: &AppState,
    letter: Letter,
    mailbox: Which,
    follows: Option<Reference>,
    actor: String,
    also: crate::intake::Also,
) -> anyhow::Result<Submission> {
    let language = sportello_domain::Language::It;
    let (prepared, refused) = prepare(letter.files).await?;
    let mut description = if letter.text.trim().is_empty() {
        i18n::text(language, "mail_in.no_text", &[])
    } else {
        letter.text.clone()
    };
    if !refused.is_empty() {
        description.push_str("\n\n");
        description.push_str(&i18n::text(language, "mail_in.refused_files", &[]));
        for line in &refused {
            description.push_str("\n- ");
            description.push_str(line);
        }
    }
    let subject = match letter.subject.trim() {
        "" => i18n::text(language, "mail_in.no_subject", &[]),
        subject => subject.chars().take(SUBJECT_MAX).collect(),
    };
    let topics = crate::directory::active_topics(&app.pool, app.organisation_id).await?;
    let topic = topics
        .iter()
        .find(|t| t.code == "urp-altro")
        .or(topics.last())
        .map(|t| t.code.clone())
        .ok_or_else(|| anyhow::anyhow!("no active topic to file mail under"))?;
    let request = ValidRequest {
        kind: Kind::Information,
        topic,
        subject,
        description,
        place: None,
        first_name: letter.first_name.chars().take(100).collect(),
        last_name: letter.last_name.chars().take(100).collect(),
        email: letter.address.clone(),
        phone: None,
    };
    let channel = if letter.pec {
        Channel::Pec
    } else {
        mailbox.channel()
    };
    // Only a Message-ID that can go back into a header as it is.
    let thread = letter.message_id.clone().filter(|id| {
        id.len() <= 250
            && id
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b'<' && b != b'>')
    });
    let first: std::sync::Arc<crate::intake::AlsoFn> = std::sync::Arc::from(also);
    let also: crate::intake::Also = Box::new(move |tx, aggregate_id| {
        let (first, thread) = (first.clone(), thread.clone());
        Box::pin(async move {
            first(&mut *tx, aggregate_id).await?;
            if let Some(message_id) = thread {
                sqlx::query("INSERT INTO mail_threads (aggregate_id, message_id) VALUES (?, ?)")
                    .bind(aggregate_id)
                    .bind(message_id)
                    .execute(&mut *tx)
                    .await?;
            }
            Ok(())
        })
    });
    Ok(Submission {
        request,
        attachments: prepared,
        language,
        channel,
        actor,
        correlation_id: Uuid::new_v4().to_string(),
        filed_by: FiledBy {
            follows,
            ..FiledBy::default()
        },
        also: Some(also),
    })
}

/// A reply to one of our mails, added to its request: reopened first when it was closed and the
/// reopening period allows; filed as a new request that follows it otherwise.
async fn replied(
    app: &AppState,
    identity: &Identity,
    request: &str,
    letter: Letter,
    raw: &[u8],
    size: u64,
) -> anyhow::Result<()> {
    let events = event_store::recorded(&app.pool, request).await?;
    let Some(sportello_domain::RequestEvent::RequestReceived {
        personal,
        reference,
        ..
    }) = events.first().map(|r| r.event.clone())
    else {
        return hold(app, identity, Held::UnknownReply, raw, size, true).await;
    };
    let closed = event_store::fold(&events).status() == sportello_domain::Status::Closed;
    let settings = app.settings().await?;
    let text = if letter.text.trim().is_empty() {
        i18n::text(sportello_domain::Language::It, "mail_in.no_text", &[])
    } else {
        letter.text.clone()
    };
    let Some(message) = crate::personal::seal_text(&app.pool, personal.key_id, &text).await? else {
        // Erased: what the citizen writes now is a new matter.
        return file(app, identity, letter, None).await;
    };
    let (prepared, refused) = prepare(letter.files.clone()).await?;
    store_attachments(&app.pool, &prepared).await?;
    let reopen = closed.then(|| RequestCommand::ReopenByCitizen {
        at: identity.received_at,
        reason: message.clone(),
        reopen_days: settings.reopen_days,
    });
    let reply = RequestCommand::RecordCitizenReply {
        at: identity.received_at,
        message,
        attachments: attachment_records(&prepared),
        calendar: settings.calendar,
        channel: if letter.pec {
            Channel::Pec
        } else {
            identity.mailbox.channel()
        },
    };
    if !refused.is_empty() {
        tracing::info!(
            aggregate_id = request,
            refused = refused.len(),
            "files of a reply refused"
        );
    }
    let metadata = event_store::metadata(
        &format!("mail:{}", identity.mailbox.code()),
        identity.mailbox.channel().code(),
        &Uuid::new_v4().to_string(),
    );
    let organisation = app.organisation_id;
    let outcome = sportello_projections::retry("mail reply", || async {
        let mut tx = app.pool.begin().await?;
        for command in reopen.iter().chain([&reply]) {
            if let Err(rejected) =
                event_store::decide_in(&mut tx, request, command.clone(), &metadata).await?
            {
                return Ok::<_, sqlx::Error>(Err(rejected));
            }
        }
        identity
            .record(&mut tx, organisation, "reply", Some(request), None)
            .await?;
        tx.commit().await?;
        Ok(Ok(()))
    })
    .await?;
    match outcome {
        Ok(()) => Ok(()),
        Err(RequestError::ReopeningPeriodOver | RequestError::Erased) => {
            file(app, identity, letter, Some(reference)).await
        }
        Err(other) => {
            tracing::warn!(aggregate_id = request, error = %other, "reply not recorded");
            hold(app, identity, Held::UnknownReply, raw, size, true).await
        }
    }
}
