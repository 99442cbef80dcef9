//! Rebuilding the statistics in bulk: every event that matters is read once, folded in memory
//! with the live projection's fold, each request's final fact summed into the cells, and the rows
//! are written with multi-row inserts into fresh tables that then take the live ones' place in
//! one atomic `RENAME TABLE`. Meanwhile the projection is paused
//! (`projection_checkpoints.rebuilding`): every copy's processor leaves it alone, and after the
//! swap it goes on from the position the rebuild read up to. (Emptying the live tables inside one
//! transaction instead cost minutes of undo log with a million rows.) An interrupted rebuild
//! leaves the projection paused, with its old tables intact: run it again. The events are
//! streamed in the table's own order (request by request, each in sequence) rather than the
//! log's: one sequential scan instead of a lookup per event, and the same rows, since every
//! statistic folds one request's events in order and the cells only add up.

use sqlx::{MySql, MySqlPool, QueryBuilder, Row};

use super::cells::{push_cells, Cells, CELL_COLUMNS, KEY_COLUMNS};
use super::fact::{Fact, IGNORED};
use super::{COLUMNS, NAME};
use futures_util::TryStreamExt;

use crate::{log::decode_bytes, ProjectionError};

const ROWS_PER_INSERT: usize = 1_000;

const TABLES: [&str; 2] = ["stat_requests", "stat_cells"];

pub async fn rebuild(pool: &MySqlPool) -> Result<u64, ProjectionError> {
    sqlx::query("INSERT IGNORE INTO projection_checkpoints (name, position) VALUES (?, 0)")
        .bind(NAME)
        .execute(pool)
        .await?;
    // Pause the live processors: they wait for the row lock, then see the flag and skip.
    sqlx::query("UPDATE projection_checkpoints SET rebuilding = TRUE WHERE name = ?")
        .bind(NAME)
        .execute(pool)
        .await?;
    let mut conn = pool.acquire().await?;
    let last: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(global_position), 0) FROM events WHERE aggregate_type = 'request'",
    )
    .fetch_one(&mut *conn)
    .await?;
    for table in TABLES {
        // `_old` is left by a rebuild interrupted after its swap; `_next` by one before it.
        sqlx::query(&format!("DROP TABLE IF EXISTS {table}_next, {table}_old"))
            .execute(&mut *conn)
            .await?;
        sqlx::query(&format!("CREATE TABLE {table}_next LIKE {table}"))
            .execute(&mut *conn)
            .await?;
    }
    // Secondary indexes are added after the rows: InnoDB then builds each one sorted, in one
    // pass, instead of inserting a million keys at random places.
    let indexes = secondary_indexes(&mut conn).await?;
    for (table, index) in &indexes {
        sqlx::query(&format!("ALTER TABLE {table}_next DROP INDEX {}", index.0))
            .execute(&mut *conn)
            .await?;
    }

    // The events come request by request, so the facts come in the table's key order: written in
    // that order, the inserts append to the primary key instead of splitting its pages.
    let mut facts: Vec<Fact> = Vec::new();
    let mut cells = Cells::default();
    let started = std::time::Instant::now();
    let read_events = format!(
        "SELECT aggregate_id, event_type, event_version, payload, global_position
           FROM events
          WHERE aggregate_type = 'request' AND global_position <= ?
            AND event_type NOT IN ('{}')
          ORDER BY aggregate_type, aggregate_id, sequence",
        IGNORED.join("', '")
    );
    let mut rows = sqlx::query(&read_events).bind(last).fetch(&mut *conn);
    while let Some(row) = rows.try_next().await? {
        let event_type: &str = row.try_get(1)?;
        let aggregate_id: &str = row.try_get(0)?;
        let version: &str = row.try_get(2)?;
        let payload: &[u8] = row.try_get(3)?;
        let event = decode_bytes(event_type, version, payload).map_err(|source| {
            ProjectionError::Decode {
                position: row.try_get(4).unwrap_or_default(),
                source,
            }
        })?;
        if let Some(fact) = Fact::received(aggregate_id, &event) {
            // The previous request's events are all folded: its fact is final.
            if let Some(done) = facts.last() {
                cells.add_fact(done, 1);
            }
            facts.push(fact);
            continue;
        }
        let Some(fact) = facts.last_mut().filter(|f| f.aggregate_id == aggregate_id) else {
            continue;
        };
        for effect in fact.apply(&event) {
            cells.add_effect(fact, &effect);
        }
    }
    if let Some(done) = facts.last() {
        cells.add_fact(done, 1);
    }
    drop(rows);
    // The events passed over in SQL count as read too, as far as the checkpoint is concerned.
    let read: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM events WHERE aggregate_type = 'request' AND global_position <= ?",
    )
    .bind(last)
    .fetch_one(&mut *conn)
    .await?;
    let reading = started.elapsed();

    for chunk in facts.chunks(ROWS_PER_INSERT) {
        let mut query = QueryBuilder::new(format!("INSERT INTO stat_requests_next ({COLUMNS}) "));
        push_facts(&mut query, chunk.iter());
        query.build().execute(&mut *conn).await?;
    }
    let mut cells: Vec<_> = cells.0.into_iter().filter(|(_, c)| !c.is_empty()).collect();
    cells.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    for chunk in cells.chunks(ROWS_PER_INSERT) {
        let mut query = QueryBuilder::new(format!(
            "INSERT INTO stat_cells_next ({KEY_COLUMNS}, {CELL_COLUMNS}) "
        ));
        push_cells(&mut query, chunk.iter().map(|(key, cell)| (key, cell)));
        query.build().execute(&mut *conn).await?;
    }
    for (table, (name, columns)) in &indexes {
        sqlx::query(&format!(
            "ALTER TABLE {table}_next ADD INDEX {name} ({columns})"
        ))
        .execute(&mut *conn)
        .await?;
    }
    // The swap: one atomic statement; then the checkpoint, and the processors resume.
    sqlx::query(
        "RENAME TABLE stat_requests TO stat_requests_old, stat_requests_next TO stat_requests,
                      stat_cells TO stat_cells_old, stat_cells_next TO stat_cells",
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE projection_checkpoints SET position = ?, rebuilding = FALSE WHERE name = ?",
    )
    .bind(last)
    .bind(NAME)
    .execute(&mut *conn)
    .await?;
    for table in TABLES {
        sqlx::query(&format!("DROP TABLE {table}_old"))
            .execute(&mut *conn)
            .await?;
    }
    tracing::info!(
        events = read,
        requests = facts.len(),
        cells = cells.len(),
        reading_secs = reading.as_secs_f64(),
        writing_secs = (started.elapsed() - reading).as_secs_f64(),
        "statistics rebuilt in bulk"
    );
    Ok(read as u64)
}

/// The live tables' secondary indexes, as (table, (name, "col1, col2, …")), read from the
/// database so that the migrations stay their only definition.
async fn secondary_indexes(
    conn: &mut sqlx::MySqlConnection,
) -> Result<Vec<(&'static str, (String, String))>, ProjectionError> {
    let mut out = Vec::new();
    for table in TABLES {
        let columns: Vec<(String, String)> = sqlx::query_as(
            "SELECT CAST(index_name AS CHAR), CAST(column_name AS CHAR) FROM information_schema.statistics
              WHERE table_schema = DATABASE() AND table_name = ? AND index_name <> 'PRIMARY'
              ORDER BY index_name, seq_in_index",
        )
        .bind(table)
        .fetch_all(&mut *conn)
        .await?;
        let mut indexes: Vec<(String, Vec<String>)> = Vec::new();
        for (index, column) in columns {
            match indexes.last_mut() {
                Some((name, list)) if *name == index => list.push(column),
                _ => indexes.push((index, vec![column])),
            }
        }
        for (name, list) in indexes {
            out.push((table, (name, list.join(", "))));
        }
    }
    Ok(out)
}

/// `VALUES (…), (…)` for these facts, in the order of `COLUMNS`.
pub(super) fn push_facts<'a>(
    query: &mut QueryBuilder<'a, MySql>,
    facts: impl Iterator<Item = &'a Fact>,
) {
    query.push_values(facts, |mut row, fact| {
        row.push_bind(&fact.aggregate_id)
            .push_bind(&fact.organisation_id)
            .push_bind(&fact.kind)
            .push_bind(&fact.topic_code)
            .push_bind(&fact.channel)
            .push_bind(&fact.department_id)
            .push_bind(fact.received_at)
            .push_bind(fact.received_on)
            .push_bind(fact.answer_due)
            .push_bind(fact.first_response_on)
            .push_bind(fact.first_response_minutes)
            .push_bind(fact.answered_on)
            .push_bind(fact.answer_minutes)
            .push_bind(fact.answered_in_time)
            .push_bind(fact.closed_on)
            .push_bind(fact.redirected_on)
            .push_bind(fact.reminders)
            .push_bind(fact.pending_forward_at)
            .push_bind(fact.rated_on)
            .push_bind(fact.stars)
            .push_bind(&fact.reasons);
    });
}
