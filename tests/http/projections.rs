//! The citizen status view: durable, checkpointed, rebuildable to the same rows.

use sportello_projections::citizen_status::CitizenStatus;

use crate::support::{complaint, png, TestApp};

async fn snapshot(app: &TestApp) -> Vec<String> {
    let mut rows: Vec<String> = Vec::new();
    for query in [
        "SELECT CONVERT(CONCAT_WS('|', aggregate_id, organisation_id, tracking_token_hash, reference, kind, topic_code, channel,
                language, status, received_at, answer_due, COALESCE(acknowledged_at, '-'), personal) USING utf8mb4)
           FROM citizen_requests ORDER BY aggregate_id",
        "SELECT CONVERT(CONCAT_WS('|', aggregate_id, sequence, entry, occurred_at) USING utf8mb4) FROM citizen_timeline ORDER BY aggregate_id, sequence",
        "SELECT CONVERT(CONCAT_WS('|', aggregate_id, position, file_id, COALESCE(thumbnail_id, '-'), content_type, size) USING utf8mb4)
           FROM citizen_attachments ORDER BY aggregate_id, position",
    ] {
        rows.extend(sqlx::query_scalar::<_, String>(query).fetch_all(&app.pool).await.unwrap());
    }
    rows
}

#[tokio::test]
async fn a_rebuilt_status_view_equals_the_live_one() {
    let app = TestApp::start().await;
    for index in 0..5 {
        let mut form = complaint(&format!("Richiesta {index}"));
        if index % 2 == 0 {
            form = form.file("attachments", "foto.png", "image/png", png(10, 10));
        }
        app.file(form).await;
        app.app.clock.advance(chrono::Duration::hours(5));
    }
    app.settle().await;
    let live = snapshot(&app).await;
    assert_eq!(
        live.iter()
            .filter(|row| row.contains("|acknowledged|"))
            .count(),
        5
    );
    let applied = sportello_projections::rebuild(&app.pool, &CitizenStatus)
        .await
        .unwrap();
    assert_eq!(applied, 10, "five received and five acknowledged");
    assert_eq!(snapshot(&app).await, live);
}

#[tokio::test]
async fn a_stopped_processor_catches_up_from_its_checkpoint() {
    let app = TestApp::start().await;
    let first = app.file(complaint("Prima")).await;
    app.settle().await;
    let checkpoint = sportello_projections::checkpoint(&app.pool, "citizen_status")
        .await
        .unwrap();
    // Events committed while no processor runs (as after a crash right after the commit)…
    for index in 0..3 {
        let token = app.open_form().await;
        app.post_form(&complaint(&format!("Mentre era fermo {index}")).first("csrf_token", &token))
            .await;
    }
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM citizen_requests")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(rows, 1, "the view has not seen them yet");
    // …are applied when it starts again, from its checkpoint, each exactly once.
    let applied = sportello_projections::catch_up(&app.pool, &CitizenStatus)
        .await
        .unwrap();
    assert_eq!(applied, 3);
    assert!(
        sportello_projections::checkpoint(&app.pool, "citizen_status")
            .await
            .unwrap()
            > checkpoint
    );
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM citizen_requests")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(rows, 4);
    assert_eq!(
        sportello_projections::catch_up(&app.pool, &CitizenStatus)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        app.history(&first).await,
        [
            "Richiesta ricevuta",
            "Conferma di ricezione inviata per e-mail"
        ]
    );
}

#[tokio::test]
async fn a_processor_running_during_concurrent_appends_skips_nothing() {
    let app = TestApp::start().await;
    let token = app.open_form().await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let pool = app.pool.clone();
    let watching = stop.clone();
    let processor = tokio::spawn(async move {
        while !watching.load(std::sync::atomic::Ordering::Relaxed) {
            sportello_projections::catch_up(&pool, &CitizenStatus)
                .await
                .unwrap();
        }
    });
    let submissions = (0..60).map(|index| {
        let form = complaint(&format!("Concorrente {index}")).first("csrf_token", &token);
        let app = &app;
        async move { app.post_form(&form).await.status }
    });
    let statuses = futures::future::join_all(submissions).await;
    assert!(statuses.iter().all(|status| status.as_u16() == 303));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    processor.await.unwrap();
    sportello_projections::catch_up(&app.pool, &CitizenStatus)
        .await
        .unwrap();
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM citizen_requests")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(rows, 60, "every event reached the view exactly once");
}

/// The citizen area's part of the status view: owners, e-mail index, phases, ratings, erasure,
/// the messages and files of the history, and which request names which file.
async fn area_snapshot(app: &TestApp) -> Vec<String> {
    let mut rows: Vec<String> = Vec::new();
    for query in [
        "SELECT CONVERT(CONCAT_WS('|', aggregate_id, status, COALESCE(citizen_id, '-'), COALESCE(email_index, '-'),
                COALESCE(taken_in_charge_at, '-'), COALESCE(answered_at, '-'), COALESCE(closed_at, '-'),
                COALESCE(stars, '-'), COALESCE(erased_at, '-'), paper_only, COALESCE(outcome, '-')) USING utf8mb4)
           FROM citizen_requests ORDER BY aggregate_id",
        "SELECT CONVERT(CONCAT_WS('|', aggregate_id, sequence, entry, COALESCE(detail, '-'),
                COALESCE(CAST(message AS CHAR), '-'), COALESCE(CAST(files AS CHAR), '-')) USING utf8mb4)
           FROM citizen_timeline ORDER BY aggregate_id, sequence",
        "SELECT CONVERT(CONCAT_WS('|', file_id, aggregate_id) USING utf8mb4) FROM citizen_files ORDER BY file_id, aggregate_id",
    ] {
        rows.extend(sqlx::query_scalar::<_, String>(query).fetch_all(&app.pool).await.unwrap());
    }
    rows
}

#[tokio::test]
async fn a_rebuilt_citizen_area_view_equals_the_live_one() {
    use axum::http::StatusCode;
    let app = TestApp::start().await;
    let (email, password) = app
        .add_staff(
            "Ugo Urp",
            &[sportello_server::staff::Role::UrpOperator],
            &[],
        )
        .await;
    let staff = app.browser();
    staff.signed_in_as(&email, &password).await;
    // One answered with a document, closed and rated; one erased; one still open.
    let rated = app
        .file(complaint("Da valutare").file("attachments", "foto.png", "image/png", png(8, 8)))
        .await;
    let erased = app.file(complaint("Da cancellare")).await;
    app.file(complaint("Aperta")).await;
    let rated_id = app.aggregate_id(&rated.reference).await;
    let answered = staff
        .act_with_files(
            &rated_id,
            "rispondi",
            "Ecco la risposta.",
            &[(
                "risposta.pdf",
                "application/pdf",
                b"%PDF-1.4\n%%EOF\n".to_vec(),
            )],
        )
        .await;
    assert_eq!(answered.status, StatusCode::SEE_OTHER);
    staff
        .act(&rated_id, "chiudi", &[("outcome", "answered")])
        .await;
    app.settle().await;
    let rating = app.rate_four_stars(&rated.token).await;
    assert_eq!(rating.status, StatusCode::SEE_OTHER);
    let erased_id = app.aggregate_id(&erased.reference).await;
    sportello_server::citizens::data_rights::erase_request(
        &app.app,
        &erased_id,
        sportello_domain::ErasureReason::Retention,
        "system:test",
    )
    .await
    .unwrap();
    app.settle().await;
    let live = area_snapshot(&app).await;
    assert!(live.iter().any(|row| row.contains("|rated|4|")), "{live:?}");
    assert!(
        live.iter().any(|row| row.contains("|erased|retention|")),
        "{live:?}"
    );
    assert!(
        live.iter().any(|row| row.contains("sealed_name")),
        "the answer's file is listed"
    );
    assert!(
        !live.iter().any(|row| row.contains("risposta.pdf")),
        "its name is sealed"
    );
    sportello_projections::rebuild(&app.pool, &CitizenStatus)
        .await
        .unwrap();
    assert_eq!(area_snapshot(&app).await, live);
}
