//! The statistics: one row per request with its milestones (`stat_requests`), one row per taking
//! in charge (`stat_take_charges`) and daily counts of what happened (`stat_activity`). Kept live
//! by a checkpointed processor; `sportello projections rebuild statistics` rebuilds them in bulk
//! from the events with the same fold, so a statistic added later covers the whole past.

mod bulk;
mod fact;

use async_trait::async_trait;
use sqlx::{MySqlConnection, MySqlPool};

use crate::{Projection, ProjectionError, StoredEvent};
pub use fact::{counts, Effect, Fact, ACTIVITIES};

pub struct Statistics;

pub const NAME: &str = "statistics";

const COLUMNS: &str = "aggregate_id, organisation_id, kind, topic_code, channel, department_id,
    received_at, received_on, answer_due, first_response_on, first_response_minutes, answered_on,
    answer_minutes, answered_in_time, closed_on, redirected_on, reminders, pending_forward_at,
    rated_on, stars, reasons";

#[async_trait]
impl Projection for Statistics {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn apply(
        &self,
        conn: &mut MySqlConnection,
        stored: &StoredEvent,
    ) -> Result<(), ProjectionError> {
        if let Some(fact) = Fact::received(&stored.aggregate_id, &stored.event) {
            return save(conn, &fact).await;
        }
        if !fact::matters(&stored.event) {
            return Ok(());
        }
        let Some(mut fact) = load(conn, &stored.aggregate_id).await? else {
            return Ok(());
        };
        let effects = fact.apply(&stored.event);
        save(conn, &fact).await?;
        for effect in effects {
            record(conn, &fact, stored.sequence, &effect).await?;
        }
        Ok(())
    }

    async fn clear(&self, conn: &mut MySqlConnection) -> Result<(), ProjectionError> {
        for table in ["stat_requests", "stat_take_charges", "stat_activity"] {
            sqlx::query(&format!("DELETE FROM {table}"))
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }

    async fn rebuild_in_bulk(&self, pool: &MySqlPool) -> Option<Result<u64, ProjectionError>> {
        Some(bulk::rebuild(pool).await)
    }
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

async fn record(
    conn: &mut MySqlConnection,
    fact: &Fact,
    sequence: i64,
    effect: &Effect,
) -> Result<(), ProjectionError> {
    match effect {
        Effect::TakeCharge {
            department_id,
            taken_on,
            minutes,
        } => {
            sqlx::query(
                "INSERT IGNORE INTO stat_take_charges (aggregate_id, sequence, organisation_id,
                     department_id, kind, topic_code, channel, taken_on, minutes)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&fact.aggregate_id)
            .bind(sequence)
            .bind(&fact.organisation_id)
            .bind(department_id)
            .bind(&fact.kind)
            .bind(&fact.topic_code)
            .bind(&fact.channel)
            .bind(taken_on)
            .bind(minutes)
            .execute(conn)
            .await?;
        }
        Effect::Activity {
            day,
            activity,
            department_id,
        } => {
            sqlx::query(
                "INSERT INTO stat_activity (organisation_id, day, activity, kind, topic_code, channel,
                     department_id, n)
                 VALUES (?, ?, ?, ?, ?, ?, ?, 1) ON DUPLICATE KEY UPDATE n = n + 1",
            )
            .bind(&fact.organisation_id)
            .bind(day)
            .bind(activity)
            .bind(&fact.kind)
            .bind(&fact.topic_code)
            .bind(&fact.channel)
            .bind(department_id)
            .execute(conn)
            .await?;
        }
    }
    Ok(())
}
