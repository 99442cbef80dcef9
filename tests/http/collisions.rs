//! Collisions: a deadlock met by a write is tried again inside Sportello and never reaches a
//! person, and a person who acted on a version that changed is told so before anything else.
//!
//! The deadlocks are made on purpose: a heavier transaction of the test takes the locks the
//! write will need, waits until the write is blocked on them, then asks for a lock the write
//! holds. InnoDB rolls back the lighter of the two — the write — exactly as it does when two
//! citizens, a processor and the mail worker meet in production.

use std::time::Duration;

use axum::http::StatusCode;
use sportello_server::staff::Role;

use crate::support::{complaint, Options, TestApp};

const URP: &[Role] = &[Role::UrpOperator];

/// Runs `write` while a transaction of the test holds what `first` locks; once `write` waits,
/// the test asks for what `second` locks (held by `write`): a deadlock that InnoDB resolves by
/// rolling `write` back. Returns what `write` gave.
async fn deadlocked<T>(
    app: &TestApp,
    first: &str,
    second: &str,
    write: impl std::future::Future<Output = T>,
) -> T {
    let mut conn = app.pool.acquire().await.unwrap();
    sqlx::query("BEGIN").execute(&mut *conn).await.unwrap();
    // Weight: InnoDB rolls back the transaction that changed fewer rows.
    sqlx::query(
        "INSERT INTO settings (name, value) SELECT CONCAT('weight-', seq), 'x' FROM seq_1_to_500",
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    sqlx::query(first).execute(&mut *conn).await.unwrap();
    let blocker = async {
        // Wait until another transaction waits for a lock, then close the circle.
        for _ in 0..500 {
            let waiting: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM information_schema.INNODB_TRX t
                   JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id
                  WHERE t.trx_state = 'LOCK WAIT' AND p.DB = DATABASE()",
            )
            .fetch_one(&app.pool)
            .await
            .unwrap();
            if waiting > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        sqlx::query(second)
            .execute(&mut *conn)
            .await
            .expect("the test's heavier transaction is not the one rolled back");
        sqlx::query("ROLLBACK").execute(&mut *conn).await.unwrap();
    };
    let (outcome, ()) = tokio::join!(write, blocker);
    outcome
}

/// Whether the server's latest deadlock happened in this test's database.
async fn deadlocks_seen(app: &TestApp) -> i64 {
    let database: String = sqlx::query_scalar("SELECT DATABASE()")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let status: (String, String, String) = sqlx::query_as("SHOW ENGINE INNODB STATUS")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let latest = status
        .2
        .split("LATEST DETECTED DEADLOCK")
        .nth(1)
        .unwrap_or("");
    i64::from(latest.contains(&format!("`{database}`")))
}

#[tokio::test]
async fn a_submission_that_meets_a_deadlock_is_filed_and_the_citizen_gets_the_reference() {
    let app = TestApp::start().await;
    let token = app.open_form().await;
    let form = complaint("Nel mezzo di un deadlock").first("csrf_token", &token);
    let response = deadlocked(
        &app,
        // The outbox's last gap: the acknowledgement's row cannot go in.
        "SELECT id FROM outbox FOR UPDATE",
        "SELECT id FROM event_append_lock WHERE id = 1 FOR UPDATE",
        app.post_form(&form),
    )
    .await;
    assert_eq!(deadlocks_seen(&app).await, 1, "a deadlock really happened");
    response.assert_status(StatusCode::SEE_OTHER);
    let confirmation = app.get(&response.header("location").unwrap()).await;
    assert_eq!(
        confirmation.element_text("reference").as_deref(),
        Some("2026/0000001"),
        "the number rolled back with the first attempt is the one filed"
    );
    let queued: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!((app.count_events().await, queued), (1, 1));
}

#[tokio::test]
async fn a_staff_action_that_meets_a_deadlock_is_recorded_once() {
    let app = TestApp::start().await;
    let (_, id) = app.file_request(complaint("Azione in collisione")).await;
    app.sign_in_operator().await;
    let (token, version) = app.action_form(&id, "nota").await;
    let response = deadlocked(
        &app,
        "SELECT global_position FROM events FOR UPDATE",
        "SELECT id FROM event_append_lock WHERE id = 1 FOR UPDATE",
        app.post_urlencoded(
            &format!("/ufficio/richieste/{id}/nota"),
            &[
                ("csrf_token", &token),
                ("version", &version),
                ("message", "Annotazione"),
            ],
        ),
    )
    .await;
    assert_eq!(deadlocks_seen(&app).await, 1, "a deadlock really happened");
    response.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(app.count_events().await, 2);
}

#[tokio::test]
async fn a_projection_batch_that_meets_a_deadlock_is_applied_again() {
    let app = TestApp::start().await;
    app.file(complaint("Prima")).await;
    app.settle().await;
    app.file(complaint("Seconda")).await;
    let queue = sportello_projections::named("queue").unwrap();
    let applied = deadlocked(
        &app,
        "SELECT aggregate_id FROM queue_requests FOR UPDATE",
        "SELECT position FROM projection_checkpoints WHERE name = 'queue' FOR UPDATE",
        sportello_projections::catch_up(&app.pool, queue.as_ref()),
    )
    .await;
    assert_eq!(deadlocks_seen(&app).await, 1, "a deadlock really happened");
    assert_eq!(applied.expect("the catch-up went on"), 1);
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM queue_requests")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(rows, 2);
}

#[tokio::test]
async fn a_burst_of_submissions_beside_the_running_processors_and_mail_worker_never_fails() {
    let app = TestApp::start().await;
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let workers = sportello_server::processors::spawn_all(&app.app, shutdown);
    let token = app.open_form().await;
    let mut statuses = Vec::new();
    for round in 0..3 {
        let submissions = (0..40).map(|index| {
            let form = complaint(&format!("Raffica {round}-{index}")).first("csrf_token", &token);
            let app = &app;
            async move { app.post_form(&form).await.status.as_u16() }
        });
        statuses.extend(futures::future::join_all(submissions).await);
    }
    stop.send(true).unwrap();
    for worker in workers {
        worker.await.unwrap();
    }
    assert!(statuses.iter().all(|status| *status == 303), "{statuses:?}");
    assert!(app.count_events().await >= 120);
}

#[tokio::test]
async fn an_action_on_a_version_that_changed_is_told_so_even_if_it_is_no_longer_allowed() {
    let app = TestApp::start().await;
    let (_, id) = app.file_request(complaint("Due operatori")).await;
    app.sign_in_operator().await;
    let second = TestApp::on_database(app.database_url.clone(), Options::default()).await;
    let (bruno, bruno_password) = second.add_staff("Bruno Operatore", URP, &[]).await;
    second.signed_in_as(&bruno, &bruno_password).await;
    // Both see a received request and its "take into evaluation" button.
    let (token, version) = second.action_form(&id, "valuta").await;
    assert_eq!(
        app.act(&id, "valuta", &[]).await.status,
        StatusCode::SEE_OTHER
    );
    // Bruno's click comes after Anna's: the request is in evaluation now, where "valuta" is no
    // longer offered, but what Bruno must hear is that it changed.
    for _ in 0..2 {
        let late = second
            .post_urlencoded(
                &format!("/ufficio/richieste/{id}/valuta"),
                &[("csrf_token", &token), ("version", &version)],
            )
            .await;
        assert_eq!(late.status, StatusCode::CONFLICT);
        assert!(late.text().contains("modificata da qualcun altro"));
    }
    assert_eq!(app.count_events().await, 2);
}

#[tokio::test]
async fn two_operators_clicking_at_the_same_instant_record_one_action_and_the_other_hears_why() {
    let app = TestApp::start().await;
    let (anna, anna_password) = app.add_staff("Anna Operatrice", URP, &[]).await;
    let second = TestApp::on_database(app.database_url.clone(), Options::default()).await;
    let (bruno, bruno_password) = second.add_staff("Bruno Operatore", URP, &[]).await;
    app.signed_in_as(&anna, &anna_password).await;
    second.signed_in_as(&bruno, &bruno_password).await;
    for round in 0..8 {
        let (_, id) = app.file_request(complaint(&format!("Gara {round}"))).await;
        let (anna_token, version) = app.action_form(&id, "valuta").await;
        let (bruno_token, _) = second.action_form(&id, "valuta").await;
        let path = format!("/ufficio/richieste/{id}/valuta");
        let anna_form = [("csrf_token", anna_token.as_str()), ("version", &version)];
        let bruno_form = [("csrf_token", bruno_token.as_str()), ("version", &version)];
        let (first, other) = tokio::join!(
            app.post_urlencoded(&path, &anna_form),
            second.post_urlencoded(&path, &bruno_form),
        );
        let mut statuses = [first.status.as_u16(), other.status.as_u16()];
        statuses.sort();
        assert_eq!(statuses, [303, 409], "round {round}");
        let events: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE aggregate_id = ?")
            .bind(&id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
        assert_eq!(events, 2, "round {round}");
    }
}
