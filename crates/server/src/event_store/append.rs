//! The one way events enter the log. `append` takes the append lock (so commits happen in
//! `global_position` order, see projections' `log`), chains each event to the one before it of
//! its request (`chain`) and inserts them, many rows per statement, inside the caller's
//! transaction: the cqrs-es repository, intake's filing and the history generator all call it,
//! and nothing else writes `events` (a test reads the sources to hold that).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use cqrs_es::persist::SerializedEvent;
use serde_json::Value;
use sqlx::{MySql, MySqlConnection, MySqlPool, QueryBuilder, Row};

use super::chain;

/// An event as it is appended.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    pub payload: Value,
    pub metadata: Value,
    /// When it happened, for a history written after the fact; `None`: now (the database's
    /// clock, the default of `recorded_at`).
    pub recorded_at: Option<DateTime<Utc>>,
}

impl From<&SerializedEvent> for NewEvent {
    fn from(event: &SerializedEvent) -> NewEvent {
        NewEvent {
            aggregate_type: event.aggregate_type.clone(),
            aggregate_id: event.aggregate_id.clone(),
            sequence: event.sequence as i64,
            event_type: event.event_type.clone(),
            event_version: event.event_version.clone(),
            payload: event.payload.clone(),
            metadata: event.metadata.clone(),
            recorded_at: None,
        }
    }
}

/// Rows per INSERT statement.
const ROWS_PER_INSERT: usize = 500;

/// Takes the append lock for the rest of the transaction.
pub async fn lock_appends(conn: &mut MySqlConnection) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT id FROM event_append_lock WHERE id = 1 FOR UPDATE")
        .execute(conn)
        .await?;
    Ok(())
}

/// Appends `events` in the caller's transaction: the append lock, the chain, the rows. A
/// duplicate (aggregate, sequence) fails with SQLSTATE 23000: another writer got there first.
pub async fn append(conn: &mut MySqlConnection, events: &[NewEvent]) -> Result<(), sqlx::Error> {
    if events.is_empty() {
        return Ok(());
    }
    lock_appends(conn).await?;
    // Each event's hash chains it to the one before it of the same aggregate.
    let mut last: HashMap<(&str, &str), (i64, String)> = HashMap::new();
    let mut hashes = Vec::with_capacity(events.len());
    for event in events {
        let key = (event.aggregate_type.as_str(), event.aggregate_id.as_str());
        let previous = match last.get(&key) {
            Some((sequence, hash)) if *sequence == event.sequence - 1 => hash.clone(),
            _ => {
                chain::previous(
                    conn,
                    &event.aggregate_type,
                    &event.aggregate_id,
                    event.sequence,
                )
                .await?
            }
        };
        let hash = chain::hash(
            &previous,
            &event.aggregate_id,
            event.sequence,
            &event.event_type,
            &event.event_version,
            &event.payload,
            &event.metadata,
        );
        last.insert(key, (event.sequence, hash.clone()));
        hashes.push(hash);
    }
    let rows: Vec<(&NewEvent, &String)> = events.iter().zip(&hashes).collect();
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let mut insert: QueryBuilder<MySql> = QueryBuilder::new(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version,
                 payload, metadata, chain_hash, recorded_at) ",
        );
        insert.push_values(chunk, |mut row, (event, hash)| {
            row.push_bind(&event.aggregate_type)
                .push_bind(&event.aggregate_id)
                .push_bind(event.sequence)
                .push_bind(&event.event_type)
                .push_bind(&event.event_version)
                .push_bind(&event.payload)
                .push_bind(&event.metadata)
                .push_bind(*hash);
            match event.recorded_at {
                Some(at) => row.push_bind(at),
                None => row.push("UTC_TIMESTAMP(6)"),
            };
        });
        insert.build().execute(&mut *conn).await?;
    }
    // The whole log's chain, over the rows just inserted (still under the append lock).
    super::log_chain::extend(conn).await?;
    Ok(())
}

/// Chains the events recorded before the chain existed, in order (once, at migration time): the
/// one other write to `events`, and it only fills `chain_hash`, under the append lock.
pub async fn chain_unchained(pool: &MySqlPool) -> Result<u64, sqlx::Error> {
    let mut chained = 0;
    loop {
        let mut tx = pool.begin().await?;
        lock_appends(&mut tx).await?;
        let rows = sqlx::query(
            "SELECT aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata
               FROM events WHERE chain_hash IS NULL ORDER BY global_position LIMIT 1000",
        )
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            tx.commit().await?;
            return Ok(chained);
        }
        for row in rows {
            let (kind, id, sequence): (String, String, i64) =
                (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
            let previous = chain::previous(&mut tx, &kind, &id, sequence).await?;
            let payload: Value = row.try_get(5)?;
            let metadata: Value = row.try_get(6)?;
            let chain_hash = chain::hash(
                &previous,
                &id,
                sequence,
                &row.try_get::<String, _>(3)?,
                &row.try_get::<String, _>(4)?,
                &payload,
                &metadata,
            );
            sqlx::query("UPDATE events SET chain_hash = ? WHERE aggregate_type = ? AND aggregate_id = ? AND sequence = ?")
                .bind(chain_hash)
                .bind(&kind)
                .bind(&id)
                .bind(sequence)
                .execute(&mut *tx)
                .await?;
            chained += 1;
        }
        tx.commit().await?;
    }
}
