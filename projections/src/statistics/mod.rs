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

crate::projection!(Statistics, NAME, apply, clear, bulk: bulk::rebuild);

async fn apply(conn: &mut MySqlConnection, stored: &StoredEvent) -> Result<(), ProjectionError> {
    let mut delta = Cells::default();
    if let Some(fact) = Fact::received(&stored.aggregate_id, &stored.event) {
        if load(conn, &fact.aggregate_id).await?.is_some() {
            return Ok(());
        }
        save(conn, &fact).await?;
        delta.add_fact(&fact, 1);
        return add_cells(conn, delta).await;
    }
    if !fact::matters(&stored.event) {
        return Ok(());
    }
    let Some(mut fact) = load(conn, &stored.aggregate_id).await? else {
        return Ok(());
    };
    delta.add_fact(&fact, -1);
    let effects = fact.apply(&stored.event);
    save(conn, &fact).await?;
    delta.add_fact(&fact, 1);
    for effect in &effects {
        delta.add_effect(&fact, effect);
    }
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

async fn load(conn: &mut MySqlConnection, id: &str) -> Result<Option<Fact>, ProjectionError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM stat_requests WHERE aggregate_id = ?"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?)
}

async fn save(conn: &mut MySqlConnection, fact: &Fact) -> Result<(), ProjectionError> {
    let mut query = sqlx::QueryBuilder::new(format!("REPLACE INTO stat_requests ({COLUMNS}) "));
    bulk::push_facts(&mut query, std::iter::once(fact));
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
