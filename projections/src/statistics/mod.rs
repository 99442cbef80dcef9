//! The statistics: one row per request with its milestones (`stat_requests`) and the cells that
//! sum them by day, month and year with the activities counted (`stat_cells`). Kept live by a
//! checkpointed processor; `sportello projections rebuild statistics` rebuilds them in bulk from
//! the events with the same fold, so a statistic added later covers the whole past.

mod bulk;
mod cells;
mod fact;

use sqlx::MySqlConnection;

use crate::{ProjectionError, StoredEvent};
pub use cells::{Cell, CellKey, Cells, Dims, Grain, Hours, CELL_COLUMNS, HOURS_AT, KEY_COLUMNS};
pub use fact::{Activity, Effect, Fact, IGNORED};

pub struct Statistics;

pub const NAME: &str = "statistics";

const COLUMNS: &str = "aggregate_id, organisation_id, kind, topic_code, channel, department_id,
    received_at, received_on, answer_due, first_response_on, first_response_minutes, answered_on,
    answer_minutes, answered_in_time, closed_on, redirected_on, reminders, pending_forward_at,
    rated_on, stars, reasons";

crate::projection!(Statistics, NAME, apply, clear, bulk: bulk::rebuild, batch: apply_all);

async fn apply(conn: &mut MySqlConnection, stored: &StoredEvent) -> Result<(), ProjectionError> {
    apply_all(conn, std::slice::from_ref(stored)).await
}

/// Applies a batch of events: the facts they touch read in one query and written back in one,
/// the cells' changes summed over the batch and each cell read and written once — a hundred
/// requests received on one day change one day's cell once, not a hundred times.
async fn apply_all(
    conn: &mut MySqlConnection,
    events: &[StoredEvent],
) -> Result<(), ProjectionError> {
    let mut touched: Vec<&str> = Vec::new();
    for stored in events {
        // `RequestReceived` matters too.
        if fact::matters(&stored.event) {
            touched.push(&stored.aggregate_id);
        }
    }
    let mut facts = load_all(conn, &touched).await?;
    let mut changed: Vec<String> = Vec::new();
    let mut delta = Cells::default();
    for stored in events {
        if let Some(fact) = Fact::received(&stored.aggregate_id, &stored.event) {
            if facts.contains_key(&fact.aggregate_id) {
                continue;
            }
            delta.add_fact(&fact, 1);
            changed.push(fact.aggregate_id.clone());
            facts.insert(fact.aggregate_id.clone(), fact);
            continue;
        }
        if !fact::matters(&stored.event) {
            continue;
        }
        let Some(fact) = facts.get_mut(&stored.aggregate_id) else {
            continue;
        };
        delta.add_fact(fact, -1);
        let effects = fact.apply(&stored.event);
        delta.add_fact(fact, 1);
        for effect in &effects {
            delta.add_effect(fact, effect);
        }
        changed.push(stored.aggregate_id.clone());
    }
    changed.sort();
    changed.dedup();
    let changed: Vec<&Fact> = changed.iter().filter_map(|id| facts.get(id)).collect();
    save_all(conn, &changed).await?;
    add_cells(conn, delta).await
}
async fn clear(conn: &mut MySqlConnection) -> Result<(), ProjectionError> {
    for table in ["stat_requests", "stat_cells"] {
        sqlx::query(&format!("DELETE FROM {table}"))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The stored facts of these requests, by request.
async fn load_all(
    conn: &mut MySqlConnection,
    ids: &[&str],
) -> Result<std::collections::HashMap<String, Fact>, ProjectionError> {
    let mut found = std::collections::HashMap::new();
    if ids.is_empty() {
        return Ok(found);
    }
    let mut query = sqlx::QueryBuilder::new(format!(
        "SELECT {COLUMNS} FROM stat_requests WHERE aggregate_id IN ("
    ));
    let mut list = query.separated(", ");
    for id in ids {
        list.push_bind(*id);
    }
    query.push(")");
    let facts: Vec<Fact> = query.build_query_as().fetch_all(&mut *conn).await?;
    for fact in facts {
        found.insert(fact.aggregate_id.clone(), fact);
    }
    Ok(found)
}

async fn save_all(conn: &mut MySqlConnection, facts: &[&Fact]) -> Result<(), ProjectionError> {
    if facts.is_empty() {
        return Ok(());
    }
    let mut query = sqlx::QueryBuilder::new(format!("REPLACE INTO stat_requests ({COLUMNS}) "));
    bulk::push_facts(&mut query, facts.iter().copied());
    query.build().execute(conn).await?;
    Ok(())
}

/// Adds a delta to the stored cells (the processor holds its checkpoint's lock, so nobody else
/// writes them meanwhile); a cell left empty is deleted, as the bulk rebuild would not write it.
/// Binds a cell's key to a query's `organisation_id = ? AND grain = ? AND day = ? AND kind = ?
/// AND topic_code = ? AND channel = ? AND department_id = ?`.
fn bind_key<'q>(
    query: sqlx::query::Query<'q, sqlx::MySql, sqlx::mysql::MySqlArguments>,
    key: &'q CellKey,
) -> sqlx::query::Query<'q, sqlx::MySql, sqlx::mysql::MySqlArguments> {
    query
        .bind(&key.organisation_id)
        .bind(key.grain.code())
        .bind(key.day)
        .bind(&key.dims.kind)
        .bind(&key.dims.topic_code)
        .bind(&key.dims.channel)
        .bind(&key.dims.department_id)
}

async fn add_cells(conn: &mut MySqlConnection, delta: Cells) -> Result<(), ProjectionError> {
    for (key, change) in delta.0 {
        if change.is_empty() {
            continue;
        }
        let select = format!(
            "SELECT {CELL_COLUMNS} FROM stat_cells
              WHERE organisation_id = ? AND grain = ? AND day = ? AND kind = ? AND topic_code = ?
                AND channel = ? AND department_id = ?"
        );
        let row = bind_key(sqlx::query(&select), &key)
            .fetch_optional(&mut *conn)
            .await?;
        let mut cell = match row {
            Some(row) => Cell::read(&row, 0)?,
            None => Cell::default(),
        };
        cell.add(&change, 1);
        if cell.is_empty() {
            let delete = sqlx::query(
                "DELETE FROM stat_cells
                  WHERE organisation_id = ? AND grain = ? AND day = ? AND kind = ? AND topic_code = ?
                    AND channel = ? AND department_id = ?",
            );
            bind_key(delete, &key).execute(&mut *conn).await?;
        } else {
            let mut query = sqlx::QueryBuilder::new(format!(
                "REPLACE INTO stat_cells ({KEY_COLUMNS}, {CELL_COLUMNS}) "
            ));
            cells::push_cells(&mut query, std::iter::once((&key, &cell)));
            query.build().execute(&mut *conn).await?;
        }
    }
    Ok(())
}
