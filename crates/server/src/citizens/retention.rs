//! Retention: closed requests older than the period administrators set lose their personal data
//! (and spent account links, unfinished sign-ins and old login counters are forgotten)
//! (see `data_rights::erase_request`). A scheduled job on every server copy; what is due comes
//! from the queue, so downtime is caught up, and the aggregate records each erasure once.

use chrono::Months;
use sportello_domain::ErasureReason;

use super::data_rights::erase_request;
use crate::state::AppState;

/// Requests handled per run, so one run never holds the database for long.
const BATCH: i64 = 200;

/// Anonymises every request due now; returns how many this call recorded.
pub async fn run(app: &AppState) -> anyhow::Result<usize> {
    purge_spent(app).await?;
    let Some(months) = app.settings().await?.retention_months else {
        return Ok(0);
    };
    let now = app.clock.now();
    let Some(before) = now.checked_sub_months(Months::new(months)) else {
        return Ok(0);
    };
    let mut recorded = 0;
    loop {
        let due: Vec<String> = sqlx::query_scalar(
            "SELECT aggregate_id FROM queue_requests
              WHERE organisation_id = ? AND status = ? AND closed_at < ? AND erased_at IS NULL
              ORDER BY closed_at LIMIT ?",
        )
        .bind(app.organisation_id.to_string())
        .bind(sportello_domain::Status::Closed.code())
        .bind(before)
        .bind(BATCH)
        .fetch_all(&app.pool)
        .await?;
        if due.is_empty() {
            break;
        }
        let mut progressed = false;
        for aggregate_id in &due {
            if erase_request(
                app,
                aggregate_id,
                ErasureReason::Retention,
                "system:retention",
            )
            .await
            .map_err(|error| anyhow::anyhow!("{error:?}"))?
            {
                recorded += 1;
                progressed = true;
            }
        }
        // Wait for the queue to record the erasures before reading it again.
        sportello_projections::catch_up(&app.pool, &sportello_projections::queue::Queue).await?;
        if !progressed {
            break;
        }
    }
    if recorded > 0 {
        tracing::info!(
            recorded,
            months,
            "retention: personal data of closed requests erased"
        );
    }
    Ok(recorded)
}

/// Forgets what has served its purpose: account links used or expired a day ago (with the
/// address an e-mail change was going to), OpenID Connect logins never finished, login
/// throttling counters of past windows, and files no request or document names.
pub async fn purge_spent(app: &AppState) -> anyhow::Result<()> {
    let day_ago = app.clock.now() - chrono::Duration::days(1);
    sqlx::query(
        "DELETE FROM citizen_tokens WHERE (used_at IS NOT NULL AND used_at < ?) OR expires_at < ?",
    )
    .bind(day_ago)
    .bind(day_ago)
    .execute(&app.pool)
    .await?;
    sqlx::query("DELETE FROM oidc_logins WHERE expires_at < ?")
        .bind(day_ago)
        .execute(&app.pool)
        .await?;
    sqlx::query("DELETE FROM login_failures WHERE window_start < ?")
        .bind(day_ago)
        .execute(&app.pool)
        .await?;
    // Files stored for a command that was then refused (the request closed or changed
    // meanwhile) are named by no event: after a day they go. Not while the status view is behind
    // (a rebuild empties its list of named files).
    if !sportello_projections::is_behind(&app.pool, sportello_projections::citizen_status::NAME)
        .await?
    {
        sqlx::query(
            "DELETE FROM files WHERE created_at < ?
                AND NOT EXISTS (SELECT 1 FROM citizen_files c WHERE c.file_id = files.id)
                AND NOT EXISTS (SELECT 1 FROM documents d WHERE d.file_id = files.id)",
        )
        .bind(day_ago)
        .execute(&app.pool)
        .await?;
    }
    Ok(())
}
