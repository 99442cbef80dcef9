//! Dealing with the messages waiting in a mailbox, oldest first (in each batch, the ones too
//! large to fetch whole before the others). Each message's identity (the
//! mailbox, UIDVALIDITY and UID, and a hash of its Message-ID) is committed in the transaction
//! of what it causes — a new request, a reply, a bounce or receipt recorded on a request, or a
//! place in quarantine — and only then is the message moved out of the inbox. A crash between
//! the two reads it again, finds its identity and just moves it: filed once, never lost.

use chrono::{DateTime, Utc};
use sportello_domain::RequestCommand;
use uuid::Uuid;

use super::imap::Connection;
use super::letters::{file_letters, replied};
use super::read::{self, Held, Letter, Reading};
use super::record::{hold, Identity, Which};
use super::reply;
use crate::event_store;
use crate::state::AppState;

/// Messages asked of the server at once (their sizes in one command, their move in one): an
/// IMAP server's work per command grows with the folder (Dovecot's maildir: 90 ms a command
/// with 4 000 messages waiting), so a large backlog goes faster in large batches.
const BATCH: usize = 500;
/// Messages fetched with one command: few commands (each costs the server in proportion to the
/// folder), yet a batch in two halves, the second fetched while the first is filed.
const FETCH: usize = BATCH / 2;
/// At most this many bytes of messages fetched at once.
const BATCH_BYTES: u64 = 16 * 1024 * 1024;
/// Letters filed in one transaction: large enough to share a durable commit, small enough that
/// the web form's submissions never wait long for the append lock.
const FILED_TOGETHER: usize = 50;

/// Deals with every message waiting in the folder; returns how many it dealt with. Messages are
/// asked of the server in batches (sizes, then bodies, then one move for the batch), each
/// committed (letters `FILED_TOGETHER` at a time) before the batch is moved. A reader holding
/// the mailbox's lease (`holder`) renews it after every batch and stops when it has lost it, so a
/// long backlog is never read by two copies.
pub async fn drain(
    app: &AppState,
    which: Which,
    conn: &mut Connection,
    holder: Option<Uuid>,
) -> anyhow::Result<usize> {
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
        // Too large ones by their headers; the others whole, in groups bounded by count and
        // size, the next group fetched while this one is dealt with and filed.
        let (large, whole): (Vec<u32>, Vec<u32>) = unknown
            .iter()
            .copied()
            .filter(|uid| sizes.contains_key(uid))
            .partition(|uid| sizes[uid] > limits.max_bytes);
        let groups = groups(&whole, &sizes);
        let uidvalidity = conn.uidvalidity;
        let mut batch = Pending::default();
        let mut fetched = conn.fetch(&large, true).await?;
        fetched.extend(match groups.first() {
            Some(first) => conn.fetch(first, false).await?,
            None => Default::default(),
        });
        let mut order: Vec<&[u32]> = vec![&large];
        order.extend(groups.iter().map(Vec::as_slice));
        for (index, group) in order.iter().enumerate() {
            // The group after the first whole one is fetched while this one is dealt with.
            let ahead = if index == 0 { None } else { groups.get(index) };
            let work = async {
                for &uid in group.iter() {
                    let Some(raw) = fetched.remove(&uid) else {
                        continue;
                    };
                    let size = sizes[&uid];
                    let message = Fetched {
                        identity: Identity::of(which, uidvalidity, uid, &raw, app.clock.now()),
                        raw,
                        size,
                        too_large: size > limits.max_bytes,
                    };
                    deal(app, &limits, &own, &mut batch, message).await?;
                    done.push(uid);
                    if batch.letters.len() >= FILED_TOGETHER {
                        // Committed: the database counts them from now on, the batch no longer.
                        file_pending(app, std::mem::take(&mut batch)).await?;
                    }
                }
                anyhow::Ok(())
            };
            let fetch_ahead = async {
                match ahead {
                    Some(next) => conn.fetch(next, false).await,
                    None => Ok(Default::default()),
                }
            };
            let (worked, next) = tokio::join!(work, fetch_ahead);
            worked?;
            fetched.extend(next?);
        }
        file_pending(app, batch).await?;
        // Committed (now or before a crash): out of the inbox.
        conn.processed(&done).await?;
        dealt += done.len();
        if let Some(holder) = holder {
            if !super::lease(app, which, holder).await? {
                break;
            }
        }
    }
    if dealt > 0 {
        app.events_appended.notify_waiters();
        app.mail_queued.notify_waiters();
    }
    Ok(dealt)
}

/// Whole messages in fetching order, grouped by at most `FETCH` and `BATCH_BYTES`.
fn groups(uids: &[u32], sizes: &std::collections::HashMap<u32, u64>) -> Vec<Vec<u32>> {
    let mut groups: Vec<Vec<u32>> = Vec::new();
    let mut bytes = 0u64;
    for &uid in uids {
        let size = sizes[&uid];
        match groups.last_mut() {
            Some(group) if group.len() < FETCH && bytes + size <= BATCH_BYTES => {
                group.push(uid);
                bytes += size;
            }
            _ => {
                groups.push(vec![uid]);
                bytes = size;
            }
        }
    }
    groups
}

/// The letters of a batch waiting to be filed together, and what they count for duplicates and
/// the per-sender rate before they are committed.
#[derive(Default)]
struct Pending {
    letters: Vec<(Identity, Letter)>,
    /// Each waiting letter's message and size, should it have to wait in quarantine instead.
    raws: std::collections::HashMap<u32, (Vec<u8>, u64)>,
    ids: std::collections::HashSet<String>,
    senders: std::collections::HashMap<String, i64>,
}

/// Files the letters waiting; one that cannot be filed waits in quarantine for a person, so it
/// never holds the mailbox back.
async fn file_pending(app: &AppState, pending: Pending) -> anyhow::Result<()> {
    for identity in file_letters(app, pending.letters).await? {
        let (raw, size) = &pending.raws[&identity.uid];
        hold(app, &identity, Held::NotFiled, raw, *size, true).await?;
    }
    Ok(())
}

/// Whether this message's sender has used up the hourly allowance (counting the letters of
/// this batch not yet filed).
async fn over_rate(
    app: &AppState,
    limits: &super::MailIn,
    pending: &Pending,
    identity: &Identity,
) -> anyhow::Result<bool> {
    let Some(sender) = &identity.sender_hash else {
        return Ok(false);
    };
    let recent: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM mail_in_messages WHERE sender_hash = ? AND received_at > ?",
    )
    .bind(sender)
    .bind(identity.received_at - chrono::Duration::hours(1))
    .fetch_one(&app.pool)
    .await?;
    let waiting = pending.senders.get(sender).copied().unwrap_or(0);
    Ok(recent + waiting >= i64::from(limits.per_sender_hour))
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
        // When its first copy still waits in this batch, that copy is filed first: a crash or
        // an error before then must not leave the copy recorded and the original not.
        if pending.ids.contains(&identity.message_id_hash) {
            file_pending(app, std::mem::take(pending)).await?;
        }
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
    let reading = read::read(&raw, &|address| own.contains(address));
    match reading {
        Reading::Held(held) => hold(app, &identity, held, &raw, size, true).await,
        // The allowance is for what citizens write: a PEC provider's receipts and the bounces
        // about our own mail never count against it.
        Reading::Letter(_) if over_rate(app, limits, pending, &identity).await? => {
            hold(app, &identity, Held::OverRate, &raw, size, true).await
        }
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
                pending.raws.insert(identity.uid, (raw, size));
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

/// A bounce or a receipt recorded on its request, with the message's identity.
async fn recorded(
    app: &AppState,
    identity: &Identity,
    request: &str,
    outcome: &str,
    command: RequestCommand,
) -> anyhow::Result<()> {
    let metadata = identity.metadata();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_fetched_in_groups_bounded_by_count_and_bytes() {
        let uids: Vec<u32> = (1..=600).collect();
        let small = uids.iter().map(|&uid| (uid, 1_000)).collect();
        let counted = groups(&uids, &small);
        assert_eq!(
            counted.iter().map(Vec::len).collect::<Vec<_>>(),
            [FETCH, FETCH, 600 - 2 * FETCH]
        );
        let large = uids.iter().map(|&uid| (uid, 6 * 1024 * 1024)).collect();
        let weighed = groups(&uids[..5], &large);
        assert_eq!(weighed, [vec![1, 2], vec![3, 4], vec![5]], "16 MB at most");
        let huge = [(1, BATCH_BYTES + 1)].into_iter().collect();
        assert_eq!(
            groups(&[1], &huge),
            [vec![1]],
            "one message alone may pass the bound"
        );
        let flat: Vec<u32> = counted.concat();
        assert_eq!(flat, uids, "in order, each once");
    }
}
