//! Take-charge reminders. A scheduled job (every minute, on every server copy) asks the queue
//! which forwarded requests are past their limit and sends each a remind command. What is due
//! comes from the events, not from memory, so a restart or a day of downtime catches up; the
//! aggregate refuses a second reminder of the same level for the same forwarding, and two copies
//! racing lose the append to optimistic concurrency, so each reminder is recorded exactly once.

use chrono::Duration;
use sportello_domain::{ReminderLevel, RequestCommand};
use sportello_projections::queue;
use tokio_cron_scheduler::{Job, JobScheduler};
use uuid::Uuid;

use crate::event_store::{self, CommandError};
use crate::state::AppState;

/// Sends every reminder due now; returns how many were recorded by this call.
pub async fn run(app: &AppState) -> anyhow::Result<usize> {
    let now = app.clock.now();
    let settings = app.settings().await?;
    let remind_before = now - Duration::days(i64::from(settings.reminder_days));
    let escalate_before = now - Duration::days(i64::from(settings.escalation_days));
    let mut recorded = 0;
    for due in queue::due_reminders(&app.pool, remind_before, escalate_before).await? {
        let Ok(department) = Uuid::parse_str(&due.department_id) else {
            continue;
        };
        let level = if due.level == "head" {
            ReminderLevel::Head
        } else {
            ReminderLevel::Referents
        };
        let command = RequestCommand::Remind {
            at: now,
            department,
            level,
        };
        let metadata =
            event_store::metadata("system:scheduler", "system", &Uuid::new_v4().to_string());
        match event_store::execute(&app.requests, &due.aggregate_id, command, metadata).await {
            Ok(()) => {
                recorded += 1;
                tracing::info!(
                    aggregate_id = due.aggregate_id,
                    level = level.code(),
                    "reminder recorded"
                );
            }
            // Another copy, or an earlier run the queue has not caught up with, did it already;
            // or the request moved on (taken in charge, handed back) since the queue was read.
            Err(CommandError::Conflict | CommandError::Rejected(_)) => {}
            Err(error) => return Err(error.into()),
        }
    }
    if recorded > 0 {
        app.events_appended.notify_waiters();
    }
    Ok(recorded)
}

/// Starts the scheduler that runs the reminders every minute, the monthly reports' check every
/// quarter of an hour, the retention job every hour and, every hour too, makes the day's open
/// data files if they are not made yet (so the first download after midnight does not wait).
pub async fn schedule(app: &AppState) -> anyhow::Result<JobScheduler> {
    let scheduler = JobScheduler::new().await?;
    let retention_app = app.clone();
    let reports_app = app.clone();
    let open_data_app = app.clone();
    let app = app.clone();
    scheduler
        .add(Job::new_async("0 * * * * *", move |_id, _scheduler| {
            let app = app.clone();
            Box::pin(async move {
                if let Err(error) = run(&app).await {
                    tracing::error!(%error, "reminders failed; the next run catches up");
                }
            })
        })?)
        .await?;
    scheduler
        .add(Job::new_async("0 17 * * * *", move |_id, _scheduler| {
            let app = retention_app.clone();
            Box::pin(async move {
                if let Err(error) = crate::citizens::run_retention(&app).await {
                    tracing::error!(%error, "retention failed; the next run catches up");
                }
                let (now, data_dir) = (app.clock.now(), app.config.data_dir.clone());
                if let Err(error) =
                    crate::event_store::checkpoint::sign_today(&app.pool, &data_dir, now).await
                {
                    tracing::error!(%error, "the log's checkpoint was not signed; the next run will");
                }
                if let Err(error) = crate::api::forget_old_keys(&app).await {
                    tracing::error!(%error, "old idempotency keys not removed; the next run will");
                }
            })
        })?)
        .await?;
    scheduler
        .add(Job::new_async("0 */15 * * * *", move |_id, _scheduler| {
            let app = reports_app.clone();
            Box::pin(async move {
                if let Err(error) = crate::statistics::queue_monthly_reports(&app).await {
                    tracing::error!(%error, "monthly reports failed; the next run catches up");
                }
            })
        })?)
        .await?;
    scheduler
        .add(Job::new_async("0 5 * * * *", move |_id, _scheduler| {
            let app = open_data_app.clone();
            Box::pin(async move {
                if let Err(error) = crate::statistics::make_open_data(&app).await {
                    tracing::error!(%error, "open data files failed; the next run tries again");
                }
            })
        })?)
        .await?;
    scheduler.start().await?;
    Ok(scheduler)
}
