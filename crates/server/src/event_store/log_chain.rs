//! The whole log's hash chain: entry n (its `log_index`, from 1) is the SHA-256 of entry n-1's
//! hash (64 zeros before the first) and of its event's position, time, request, sequence and
//! chain hash, one per line. The request chains prove what each request's events say; this one
//! proves which events the log held, in which order and at which times, so deleting a whole
//! request or altering a time is seen, and a signed checkpoint of the head (see `checkpoint`)
//! shows a truncated tail. `extend` runs in every append's transaction, under the append lock.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{MySqlConnection, MySqlPool};

use super::chain::GENESIS;

/// One entry's hash.
pub fn log_hash(
    previous: &str,
    index: i64,
    position: i64,
    recorded_at: DateTime<Utc>,
    aggregate_id: &str,
    sequence: i64,
    chain_hash: &str,
) -> String {
    let mut digest = Sha256::new();
    for part in [
        previous,
        &index.to_string(),
        &position.to_string(),
        &recorded_at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        aggregate_id,
        &sequence.to_string(),
        chain_hash,
    ] {
        digest.update(part.as_bytes());
        digest.update(b"\n");
    }
    hex::encode(digest.finalize())
}

/// The log's head: how many entries, the last one's position and hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Head {
    pub size: i64,
    pub position: i64,
    pub hash: String,
}

pub async fn head(conn: &mut MySqlConnection) -> Result<Head, sqlx::Error> {
    let last: Option<(i64, i64, String)> = sqlx::query_as(
        "SELECT log_index, global_position, log_hash FROM log_chain ORDER BY log_index DESC LIMIT 1",
    )
    .fetch_optional(conn)
    .await?;
    Ok(match last {
        Some((size, position, hash)) => Head {
            size,
            position,
            hash,
        },
        None => Head {
            size: 0,
            position: 0,
            hash: GENESIS.to_string(),
        },
    })
}

type Unlogged = (i64, String, i64, DateTime<Utc>, Option<String>);

/// Chains every event not yet on the log chain, in position order, inside the caller's
/// transaction (which holds the append lock). Returns how many it chained.
pub async fn extend(conn: &mut MySqlConnection) -> Result<u64, sqlx::Error> {
    let mut head = head(conn).await?;
    let mut chained = 0;
    loop {
        let rows: Vec<Unlogged> = sqlx::query_as(
            "SELECT global_position, aggregate_id, sequence, recorded_at, chain_hash FROM events
              WHERE global_position > ? ORDER BY global_position LIMIT 1000",
        )
        .bind(head.position)
        .fetch_all(&mut *conn)
        .await?;
        if rows.is_empty() {
            return Ok(chained);
        }
        let mut insert = sqlx::QueryBuilder::new(
            "INSERT INTO log_chain (log_index, global_position, aggregate_id, sequence, recorded_at,
                 chain_hash, log_hash) ",
        );
        let mut entries = Vec::with_capacity(rows.len());
        for (position, aggregate_id, sequence, recorded_at, chain_hash) in rows {
            let chain_hash = chain_hash.unwrap_or_default();
            let index = head.size + 1;
            let hash = log_hash(
                &head.hash,
                index,
                position,
                recorded_at,
                &aggregate_id,
                sequence,
                &chain_hash,
            );
            entries.push((
                index,
                position,
                aggregate_id,
                sequence,
                recorded_at,
                chain_hash,
                hash.clone(),
            ));
            head = Head {
                size: index,
                position,
                hash,
            };
        }
        insert.push_values(&entries, |mut row, entry| {
            row.push_bind(entry.0)
                .push_bind(entry.1)
                .push_bind(&entry.2)
                .push_bind(entry.3)
                .push_bind(entry.4)
                .push_bind(&entry.5)
                .push_bind(&entry.6);
        });
        insert.build().execute(&mut *conn).await?;
        chained += entries.len() as u64;
    }
}

/// A place where the log chain does not hold, named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogBreak {
    pub log_index: i64,
    pub position: i64,
    pub aggregate_id: String,
    pub problem: &'static str,
}

impl std::fmt::Display for LogBreak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "log entry {} (position {}, request {}): {}",
            self.log_index, self.position, self.aggregate_id, self.problem
        )
    }
}

/// What verifying the log chain found, and its head as recomputed.
#[derive(Debug, Default, Serialize)]
pub struct LogReport {
    pub entries: i64,
    pub breaks: Vec<LogBreak>,
    /// The recomputed hash after each checkpointed size is asked for by `verify_checkpoint`.
    pub head_position: i64,
    pub head_hash: String,
}

type Entry = (
    i64,
    i64,
    String,
    i64,
    DateTime<Utc>,
    String,
    String,
    Option<DateTime<Utc>>,
    Option<String>,
);

/// Recomputes the log chain over its stored entries and the events they name (up to entry
/// `until`, or all): a missing entry, a deleted event, an altered time or content, an event the
/// chain does not cover — each named where it is. Returns the head hash as recomputed.
pub async fn verify(pool: &MySqlPool, until: Option<i64>) -> Result<LogReport, sqlx::Error> {
    let mut report = LogReport {
        head_hash: GENESIS.to_string(),
        ..LogReport::default()
    };
    let mut previous = GENESIS.to_string();
    let mut after = 0i64;
    let until = until.unwrap_or(i64::MAX);
    loop {
        let rows: Vec<Entry> = sqlx::query_as(
            "SELECT l.log_index, l.global_position, l.aggregate_id, l.sequence, l.recorded_at,
                    l.chain_hash, l.log_hash, e.recorded_at, e.chain_hash
               FROM log_chain l
               LEFT JOIN events e ON e.global_position = l.global_position
              WHERE l.log_index > ? AND l.log_index <= ?
              ORDER BY l.log_index LIMIT 2000",
        )
        .bind(after)
        .bind(until)
        .fetch_all(pool)
        .await?;
        if rows.is_empty() {
            break;
        }
        for (
            index,
            position,
            aggregate_id,
            sequence,
            recorded_at,
            chain_hash,
            stored,
            event_time,
            event_chain,
        ) in rows
        {
            let expected_index = report.entries + 1;
            let computed = log_hash(
                &previous,
                index,
                position,
                recorded_at,
                &aggregate_id,
                sequence,
                &chain_hash,
            );
            let problem = if index != expected_index {
                Some("entries are missing before this one (the log was cut)")
            } else if event_time.is_none() {
                Some("its event was deleted")
            } else if event_time != Some(recorded_at) {
                Some("its event's time was changed")
            } else if event_chain.as_deref() != Some(chain_hash.as_str()) {
                Some("its event was changed")
            } else if computed != stored {
                Some("the log chain was changed here")
            } else {
                None
            };
            if let Some(problem) = problem {
                report.breaks.push(LogBreak {
                    log_index: index,
                    position,
                    aggregate_id: aggregate_id.clone(),
                    problem,
                });
            }
            report.entries = index;
            report.head_position = position;
            // Go on from the recomputed hash when the entry is whole, from the stored one
            // otherwise, so one change is reported once, where it is.
            previous = if problem.is_none() { computed } else { stored };
            report.head_hash = previous.clone();
            after = index;
        }
    }
    // Events the chain does not cover (appended around it).
    if until == i64::MAX {
        let uncovered: Vec<(i64, String)> = sqlx::query_as(
            "SELECT e.global_position, e.aggregate_id FROM events e
               LEFT JOIN log_chain l ON l.global_position = e.global_position
              WHERE l.global_position IS NULL ORDER BY e.global_position LIMIT 100",
        )
        .fetch_all(pool)
        .await?;
        for (position, aggregate_id) in uncovered {
            report.breaks.push(LogBreak {
                log_index: 0,
                position,
                aggregate_id,
                problem: "the event is not on the log chain",
            });
        }
    }
    Ok(report)
}
