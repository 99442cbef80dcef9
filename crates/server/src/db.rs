//! Connecting to MySQL/MariaDB, running the migrations, and the installation's shared secrets.

use std::time::Duration;

use rand::RngCore;
use sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions};
use sqlx::MySqlPool;

pub async fn connect(url: &str, max_connections: u32) -> Result<MySqlPool, sqlx::Error> {
    let options: MySqlConnectOptions = url.parse()?;
    let options = options
        .charset("utf8mb4")
        .timezone(Some(String::from("+00:00")));
    MySqlPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
}

pub async fn migrate(pool: &MySqlPool) -> Result<(), sqlx::migrate::MigrateError> {
    sqlx::migrate!("../../migrations").run(pool).await?;
    // Events recorded before the hash chain existed are chained once, in order; afterwards every
    // append chains its events, and the flag spares each start a scan of the whole log.
    let chained: Option<String> =
        sqlx::query_scalar("SELECT value FROM settings WHERE name = 'events_chained'")
            .fetch_optional(pool)
            .await
            .map_err(sqlx::migrate::MigrateError::Execute)?;
    if chained.is_none() {
        crate::event_store::chain_unchained(pool)
            .await
            .map_err(sqlx::migrate::MigrateError::Execute)?;
        sqlx::query("INSERT IGNORE INTO settings (name, value) VALUES ('events_chained', '1')")
            .execute(pool)
            .await
            .map_err(sqlx::migrate::MigrateError::Execute)?;
    }
    // The whole log's chain (migration …0029) covers the events recorded before it, once, in
    // order; afterwards every append extends it. Nothing to do is two indexed reads.
    let mut tx = pool
        .begin()
        .await
        .map_err(sqlx::migrate::MigrateError::Execute)?;
    crate::event_store::lock_appends(&mut tx)
        .await
        .map_err(sqlx::migrate::MigrateError::Execute)?;
    crate::event_store::log_chain::extend(&mut tx)
        .await
        .map_err(sqlx::migrate::MigrateError::Execute)?;
    tx.commit()
        .await
        .map_err(sqlx::migrate::MigrateError::Execute)?;
    // The inbox's word index (migration …0021) starts with the requests already queued.
    let filled: Option<String> =
        sqlx::query_scalar("SELECT value FROM settings WHERE name = 'queue_words_filled'")
            .fetch_optional(pool)
            .await
            .map_err(sqlx::migrate::MigrateError::Execute)?;
    if filled.is_none() {
        sportello_projections::queue::fill_words(pool)
            .await
            .map_err(|error| sqlx::migrate::MigrateError::Source(Box::new(error)))?;
        sqlx::query("INSERT IGNORE INTO settings (name, value) VALUES ('queue_words_filled', '1')")
            .execute(pool)
            .await
            .map_err(sqlx::migrate::MigrateError::Execute)?;
    }
    Ok(())
}

/// A random secret shared by every server copy, created the first time it is asked for.
pub async fn shared_secret(pool: &MySqlPool, name: &str) -> Result<Vec<u8>, sqlx::Error> {
    let mut fresh = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut fresh);
    sqlx::query("INSERT IGNORE INTO settings (name, value) VALUES (?, ?)")
        .bind(name)
        .bind(hex::encode(fresh))
        .execute(pool)
        .await?;
    let value: String = sqlx::query_scalar("SELECT value FROM settings WHERE name = ?")
        .bind(name)
        .fetch_one(pool)
        .await?;
    Ok(hex::decode(value).unwrap_or_default())
}

/// The row `sql` selects by id within an organisation (it binds the id, then the
/// organisation), read by `from_row`.
pub async fn find_in_organisation<T>(
    pool: &MySqlPool,
    sql: &str,
    id: &str,
    organisation_id: uuid::Uuid,
    from_row: fn(sqlx::mysql::MySqlRow) -> Result<T, sqlx::Error>,
) -> Result<Option<T>, sqlx::Error> {
    sqlx::query(sql)
        .bind(id)
        .bind(organisation_id.to_string())
        .fetch_optional(pool)
        .await?
        .map(from_row)
        .transpose()
}

/// Whether the database answers (for /healthz).
pub async fn ping(pool: &MySqlPool) -> bool {
    sqlx::query_scalar::<_, i32>("SELECT 1")
        .fetch_one(pool)
        .await
        .is_ok()
}
