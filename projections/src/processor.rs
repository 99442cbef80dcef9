//! The checkpointed catch-up loop every projection runs, and its rebuild.

use async_trait::async_trait;
use sqlx::{MySqlConnection, MySqlPool};

use crate::log::{events_after, StoredEvent};

/// How many events one transaction applies.
const BATCH: i64 = 500;

#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("event at position {position} cannot be decoded: {source}")]
    Decode {
        position: i64,
        source: serde_json::Error,
    },
}

/// A read model built from the events. `apply` runs inside the transaction that also moves the
/// checkpoint, so it must only write its own tables.
#[async_trait]
pub trait Projection: Send + Sync {
    fn name(&self) -> &'static str;
    async fn apply(
        &self,
        conn: &mut MySqlConnection,
        event: &StoredEvent,
    ) -> Result<(), ProjectionError>;
    /// Applies a batch of events in order, in one transaction; by default one by one. A
    /// projection that can do better (fewer queries for the same rows) says how.
    async fn apply_batch(
        &self,
        conn: &mut MySqlConnection,
        events: &[StoredEvent],
    ) -> Result<(), ProjectionError> {
        for event in events {
            self.apply(conn, event).await?;
        }
        Ok(())
    }
    /// Empties the read model's tables.
    async fn clear(&self, conn: &mut MySqlConnection) -> Result<(), ProjectionError>;
    /// A faster rebuild than applying the events one by one, for projections that have one. It
    /// must leave the same rows as `clear` followed by a catch-up, and move the checkpoint.
    async fn rebuild_in_bulk(&self, _pool: &MySqlPool) -> Option<Result<u64, ProjectionError>> {
        None
    }
}

/// `impl Projection` for a read model kept by its module's functions: its name, `apply(conn,
/// event)`, `clear(conn)` and, where it has one, a bulk rebuild `bulk(pool)`.
macro_rules! projection {
    ($projection:ty, $name:expr, $apply:path, $clear:path $(, bulk: $bulk:path)? $(, batch: $batch:path)?) => {
        #[async_trait::async_trait]
        impl $crate::Projection for $projection {
            fn name(&self) -> &'static str {
                $name
            }

            async fn apply(
                &self,
                conn: &mut sqlx::MySqlConnection,
                event: &$crate::StoredEvent,
            ) -> Result<(), $crate::ProjectionError> {
                $apply(conn, event).await
            }

            async fn clear(
                &self,
                conn: &mut sqlx::MySqlConnection,
            ) -> Result<(), $crate::ProjectionError> {
                $clear(conn).await
            }

            $(
                async fn apply_batch(
                    &self,
                    conn: &mut sqlx::MySqlConnection,
                    events: &[$crate::StoredEvent],
                ) -> Result<(), $crate::ProjectionError> {
                    $batch(conn, events).await
                }
            )?

            $(
                async fn rebuild_in_bulk(
                    &self,
                    pool: &sqlx::MySqlPool,
                ) -> Option<Result<u64, $crate::ProjectionError>> {
                    Some($bulk(pool).await)
                }
            )?
        }
    };
}
pub(crate) use projection;

/// Applies every event after the projection's checkpoint. Several server copies may call this
/// at once: the checkpoint row is locked for each batch, so they take turns and no event is
/// applied twice. Returns how many events were applied.
pub async fn catch_up(
    pool: &MySqlPool,
    projection: &dyn Projection,
) -> Result<u64, ProjectionError> {
    ensure_checkpoint(pool, projection.name()).await?;
    let mut applied = 0;
    // A batch that meets a deadlock (or a certification conflict) is rolled back whole and
    // applied again: the checkpoint moves only with the rows it stands for.
    while let Some(count) =
        crate::retry::retry("projection batch", || apply_batch(pool, projection)).await?
    {
        applied += count;
    }
    Ok(applied)
}

/// Applies the next batch after the checkpoint in one transaction; `None` when nothing is left
/// (or a bulk rebuild has paused the projection).
async fn apply_batch(
    pool: &MySqlPool,
    projection: &dyn Projection,
) -> Result<Option<u64>, ProjectionError> {
    let mut tx = pool.begin().await?;
    let position = lock_checkpoint(&mut tx, projection.name()).await?;
    if rebuilding(&mut tx, projection.name()).await? {
        // A bulk rebuild is replacing the tables; it moves the checkpoint when done.
        tx.commit().await?;
        return Ok(None);
    }
    let events = events_after(&mut tx, position, BATCH).await?;
    let Some(last) = events.last().map(|event| event.position) else {
        tx.commit().await?;
        return Ok(None);
    };
    projection.apply_batch(&mut tx, &events).await?;
    sqlx::query("UPDATE projection_checkpoints SET position = ? WHERE name = ?")
        .bind(last)
        .bind(projection.name())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Some(events.len() as u64))
}

/// Drops the read model and builds it again from the first event. Returns the events applied.
pub async fn rebuild(
    pool: &MySqlPool,
    projection: &dyn Projection,
) -> Result<u64, ProjectionError> {
    if let Some(done) = projection.rebuild_in_bulk(pool).await {
        let rebuilt = done?;
        return Ok(rebuilt + catch_up(pool, projection).await?);
    }
    ensure_checkpoint(pool, projection.name()).await?;
    crate::retry::retry("projection clear", || async {
        let mut tx = pool.begin().await?;
        lock_checkpoint(&mut tx, projection.name()).await?;
        projection.clear(&mut tx).await?;
        sqlx::query("UPDATE projection_checkpoints SET position = 0 WHERE name = ?")
            .bind(projection.name())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok::<(), ProjectionError>(())
    })
    .await?;
    catch_up(pool, projection).await
}

/// Creates the checkpoint row on first use, in its own statement: inside the locking transaction
/// the shared lock of a duplicate insert would deadlock with another copy's `FOR UPDATE`.
async fn ensure_checkpoint(pool: &MySqlPool, name: &str) -> Result<(), ProjectionError> {
    sqlx::query("INSERT IGNORE INTO projection_checkpoints (name, position) VALUES (?, 0)")
        .bind(name)
        .execute(pool)
        .await?;
    Ok(())
}

/// The projection's checkpoint, locked until the transaction ends.
async fn lock_checkpoint(conn: &mut MySqlConnection, name: &str) -> Result<i64, ProjectionError> {
    let position =
        sqlx::query_scalar("SELECT position FROM projection_checkpoints WHERE name = ? FOR UPDATE")
            .bind(name)
            .fetch_one(&mut *conn)
            .await?;
    Ok(position)
}

/// Whether a bulk rebuild has paused the projection (read under the caller's row lock).
async fn rebuilding(conn: &mut MySqlConnection, name: &str) -> Result<bool, ProjectionError> {
    let flag: bool =
        sqlx::query_scalar("SELECT rebuilding FROM projection_checkpoints WHERE name = ?")
            .bind(name)
            .fetch_one(&mut *conn)
            .await?;
    Ok(flag)
}

/// Whether events exist that the projection has not applied yet (two cheap reads, no lock).
pub async fn is_behind(pool: &MySqlPool, name: &str) -> Result<bool, ProjectionError> {
    let last: Option<i64> = sqlx::query_scalar("SELECT MAX(global_position) FROM events")
        .fetch_one(pool)
        .await?;
    Ok(last.unwrap_or(0) > checkpoint(pool, name).await?)
}

/// The projection's checkpoint, without locking it (for tests and monitoring).
pub async fn checkpoint(pool: &MySqlPool, name: &str) -> Result<i64, ProjectionError> {
    let position: Option<i64> =
        sqlx::query_scalar("SELECT position FROM projection_checkpoints WHERE name = ?")
            .bind(name)
            .fetch_optional(pool)
            .await?;
    Ok(position.unwrap_or(0))
}
