//! Rebuilds: a generated history's bulk rebuild, a paused projection, reopenings — each equal to the live projection.

use super::*;

fn plan() -> sportello_server::demo::history::Plan {
    sportello_server::demo::history::Plan {
        requests: 400,
        days: 730,
        seed: 7,
        lively: false,
    }
}

#[tokio::test]
async fn a_generated_history_is_valid_quiet_and_its_bulk_rebuild_equals_the_live_projection() {
    let app = TestApp::start().await;
    let generated = sportello_server::demo::history::generate(&app.app, &plan())
        .await
        .unwrap();
    assert_eq!(generated.requests, 400);
    let report = sportello_server::event_store::chain::verify(&app.pool)
        .await
        .unwrap();
    assert!(report.breaks.is_empty(), "{report:?}");
    assert_eq!(report.events as usize, generated.events);
    // Every read model follows the history event by event, as a running server would.
    app.settle().await;
    let queued: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(queued, 0, "a simulated history sends no mail");
    let listed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM queue_requests")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(listed, 400);
    // References are gap-free within each year.
    let years: Vec<(i32, i64, i64)> = sqlx::query_as(
        "SELECT c.year, c.last_number, COUNT(q.aggregate_id) FROM reference_counters c
           JOIN queue_requests q ON q.reference LIKE CONCAT(c.year, '/%')
          GROUP BY c.year, c.last_number",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(years.len() >= 2);
    for (year, last, count) in years {
        assert_eq!(last, count, "{year}");
    }
    let live = snapshot(&app).await;
    let kinds: i64 = sqlx::query_scalar(
        "SELECT (SUM(forwardings) > 0) + (SUM(reminders) > 0) + (SUM(redirections) > 0) FROM stat_cells",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(kinds, 3, "forwardings, reminders and redirections happened");
    sportello_projections::rebuild(&app.pool, &Statistics)
        .await
        .unwrap();
    assert_eq!(snapshot(&app).await, live);
    // The same seed gives the same history.
    let again = TestApp::start().await;
    let other = sportello_server::demo::history::generate(&again.app, &plan())
        .await
        .unwrap();
    assert_eq!(other.events, generated.events);
}

#[tokio::test]
async fn a_paused_projection_is_left_alone_until_its_rebuild_ends() {
    let app = TestApp::start().await;
    app.settle().await;
    sqlx::query("UPDATE projection_checkpoints SET rebuilding = TRUE WHERE name = 'statistics'")
        .execute(&app.pool)
        .await
        .unwrap();
    app.file(complaint("Durante la ricostruzione")).await;
    let applied = sportello_projections::catch_up(&app.pool, &Statistics)
        .await
        .unwrap();
    assert_eq!(applied, 0, "the rebuild owns the tables");
    let counted: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM stat_requests")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(counted, 0);
    // The rebuild ends (here: an interrupted one is run again, one that had stopped right after
    // its swap having left the old tables behind) and the processor goes on.
    for table in ["stat_requests", "stat_cells"] {
        sqlx::query(&format!("CREATE TABLE {table}_old LIKE {table}"))
            .execute(&app.pool)
            .await
            .unwrap();
    }
    sportello_projections::rebuild(&app.pool, &Statistics)
        .await
        .unwrap();
    let counted: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM stat_requests")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(counted, 1);
    app.file(complaint("Dopo")).await;
    assert!(
        sportello_projections::catch_up(&app.pool, &Statistics)
            .await
            .unwrap()
            >= 1
    );
}

#[tokio::test]
async fn a_reopening_takes_the_closure_out_of_the_cells_live_as_a_rebuild_would() {
    let h = history().await;
    let manager = h.as_staff(&h.manager).await;
    check(
        &summary(&manager, FEBRUARY.0, FEBRUARY.1, "").await,
        &[("Chiuse", "3", "0")],
    );
    // A (received on 31 January, closed on 6 February) is reopened in March.
    let a: String =
        sqlx::query_scalar("SELECT aggregate_id FROM stat_requests WHERE closed_on = '2026-02-06'")
            .fetch_one(&h.app.pool)
            .await
            .unwrap();
    h.to("2026-03-12T09:00:00Z");
    h.act(
        &h.manager,
        &a,
        "riapri",
        &[("message", "Il guasto è tornato.")],
    )
    .await;
    let manager = h.as_staff(&h.manager).await;
    check(
        &summary(&manager, FEBRUARY.0, FEBRUARY.1, "").await,
        &[("Chiuse", "2", "0"), ("Riaperte", "0", "0")],
    );
    check(
        &summary(&manager, MARCH.0, MARCH.1, "").await,
        // A reopened request counts as never closed, at the end of February too (the request
        // keeps its latest closure only).
        &[("Riaperte", "1", "0"), ("Aperte a fine periodo", "4", "4")],
    );
    // Open again at the end of March: A 59 days old, D 56, H 54, E 39.
    let aging = csv(&manager, "aging", MARCH.0, MARCH.1, "").await;
    let counts: Vec<&str> = aging.iter().map(|row| row[1].as_str()).collect();
    assert_eq!(counts, ["0", "0", "4", "0"]);
    let live = snapshot(&h.app).await;
    sportello_projections::rebuild(&h.app.pool, &Statistics)
        .await
        .unwrap();
    assert_eq!(snapshot(&h.app).await, live);
}
