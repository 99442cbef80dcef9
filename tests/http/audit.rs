//! Replay and audit: every event carries a hash chained to the previous one of its request; an
//! auditor reads (and downloads) a request's complete history; a changed, removed or reordered
//! event is found.

use axum::http::StatusCode;
use sportello_server::staff::Role;

use crate::support::{complaint, TestApp};

async fn auditor(app: &TestApp) -> TestApp {
    let (email, password) = app.add_staff("Aldo Auditor", &[Role::Auditor], &[]).await;
    let browser = app.browser();
    browser.signed_in_as(&email, &password).await;
    browser
}

#[tokio::test]
async fn every_event_is_chained_and_verify_finds_a_changed_or_missing_one() {
    let app = TestApp::start().await;
    let first = app.file(complaint("Lampione spento")).await;
    let second = app.file(complaint("Buca in strada")).await;
    app.settle().await;
    let report = sportello_server::event_store::chain::verify(&app.pool)
        .await
        .unwrap();
    assert!(report.events >= 2 && report.breaks.is_empty(), "{report:?}");
    let unchained: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE chain_hash IS NULL")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(unchained, 0);

    // Someone edits a recorded event in the database.
    let id = app.aggregate_id(&first.reference).await;
    change_the_topic_received(&app, &id).await;
    let report = sportello_server::event_store::chain::verify(&app.pool)
        .await
        .unwrap();
    assert_eq!(report.breaks.len(), 1, "{report:?}");
    assert_eq!(report.breaks[0].aggregate_id, id);
    assert_eq!(report.breaks[0].sequence, 1);

    // Someone removes an event from the middle of the other request's history.
    let other = app.aggregate_id(&second.reference).await;
    let (email, password) = app.add_staff("Ugo Urp", &[Role::UrpOperator], &[]).await;
    app.signed_in_as(&email, &password).await;
    app.act(&other, "valuta", &[]).await;
    app.act(&other, "nota", &[("message", "Da verificare")])
        .await;
    let removed = sqlx::query("DELETE FROM events WHERE aggregate_id = ? AND sequence = 2")
        .bind(&other)
        .execute(&app.pool)
        .await
        .unwrap()
        .rows_affected();
    assert_eq!(removed, 1);
    let report = sportello_server::event_store::chain::verify(&app.pool)
        .await
        .unwrap();
    let broken: Vec<_> = report
        .breaks
        .iter()
        .filter(|b| b.aggregate_id == other)
        .collect();
    assert_eq!(broken.len(), 1, "{report:?}");
    assert_eq!(broken[0].sequence, 3);
}

#[tokio::test]
async fn events_recorded_before_the_chain_are_chained_once_at_migration() {
    let app = TestApp::start().await;
    app.file(complaint("Lampione spento")).await;
    sqlx::query("UPDATE events SET chain_hash = NULL")
        .execute(&app.pool)
        .await
        .unwrap();
    let chained = sportello_server::event_store::chain_unchained(&app.pool)
        .await
        .unwrap();
    assert!(chained >= 1);
    assert!(sportello_server::event_store::chain::verify(&app.pool)
        .await
        .unwrap()
        .breaks
        .is_empty());
    assert_eq!(
        sportello_server::event_store::chain_unchained(&app.pool)
            .await
            .unwrap(),
        0
    );
    // Migrating again does not scan the log: the first migration left the flag that says every
    // event is chained (an event emptied later is a break `verify` reports, not a gap to fill).
    sqlx::query("UPDATE events SET chain_hash = NULL")
        .execute(&app.pool)
        .await
        .unwrap();
    sportello_server::db::migrate(&app.pool).await.unwrap();
    let unchained: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE chain_hash IS NULL")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(unchained >= 1);
    assert!(!sportello_server::event_store::chain::verify(&app.pool)
        .await
        .unwrap()
        .breaks
        .is_empty());
}

#[tokio::test]
async fn an_auditor_reads_and_downloads_a_requests_complete_history() {
    let app = TestApp::start().await;
    let receipt = app.file(complaint("Lampione spento")).await;
    app.settle().await;
    let id = app.aggregate_id(&receipt.reference).await;
    let auditor = auditor(&app).await;
    let found = auditor
        .get(&format!(
            "/ufficio/revisione?riferimento={}",
            receipt.reference.replace('/', "%2F")
        ))
        .await;
    assert_eq!(found.status, StatusCode::SEE_OTHER);
    assert_eq!(
        found.header("location").unwrap(),
        format!("/ufficio/revisione/{id}")
    );
    let page = auditor.get(&format!("/ufficio/revisione/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let text = page.text();
    assert!(
        text.contains("RequestReceived") && text.contains("Catena di hash integra"),
        "{text}"
    );
    assert!(
        !text.contains("Lampione spento"),
        "personal data stays sealed in the log"
    );
    let json = auditor.get(&format!("/ufficio/revisione/{id}/json")).await;
    assert_eq!(
        json.header("content-type").as_deref(),
        Some("application/json")
    );
    let history: serde_json::Value = serde_json::from_slice(&json.bytes).unwrap();
    let events = history["events"].as_array().unwrap();
    assert_eq!(events[0]["type"], "RequestReceived");
    assert_eq!(events[0]["caused_by"], "citizen");
    assert!(events.iter().all(|e| e["chain_ok"] == true));
    let missing = auditor
        .get("/ufficio/revisione?riferimento=2026%2F9999999")
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn only_auditors_and_administrators_read_the_log() {
    let app = TestApp::start().await;
    let (_, id) = app.file_request(complaint("Lampione spento")).await;
    let (email, password) = app.add_staff("Ugo Urp", &[Role::UrpOperator], &[]).await;
    app.signed_in_as(&email, &password).await;
    for path in [
        "/ufficio/revisione".to_string(),
        format!("/ufficio/revisione/{id}"),
        format!("/ufficio/revisione/{id}/json"),
    ] {
        assert_eq!(app.get(&path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
    let auditor = auditor(&app).await;
    assert_eq!(
        auditor.get("/ufficio").await.header("location").as_deref(),
        Some("/ufficio/revisione"),
        "an auditor lands on the audit page"
    );
    assert_eq!(
        auditor
            .get(&format!("/ufficio/richieste/{id}"))
            .await
            .status,
        StatusCode::NOT_FOUND,
        "and reads the log, not the back office"
    );
}

#[tokio::test]
async fn the_command_line_finds_a_request_by_reference_even_before_the_views_catch_up() {
    let app = TestApp::start().await;
    let (receipt, id) = app.file_request(complaint("Lampione spento")).await;
    sqlx::query("DELETE FROM queue_requests")
        .execute(&app.pool)
        .await
        .unwrap();
    let organisation = sportello_server::app::DEFAULT_ORGANISATION;
    let found = sportello_server::audit::aggregate_of(&app.pool, organisation, &receipt.reference)
        .await
        .unwrap();
    assert_eq!(found.as_deref(), Some(id.as_str()));
    let history = sportello_server::audit::history(&app.pool, &id)
        .await
        .unwrap();
    assert_eq!(
        history[0]["data"]["RequestReceived"]["reference"],
        receipt.reference
    );
}

#[tokio::test]
async fn the_command_line_names_each_break_and_exits_with_its_own_code_without_a_backtrace() {
    let app = TestApp::start().await;
    let (receipt, id) = app.file_request(complaint("Lampione spento")).await;
    let verify = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_sportello"))
            .args(["events", "verify"])
            .env("SPORTELLO_DATABASE_URL", &app.database_url)
            .env("SPORTELLO_DATA_DIR", &app.data_dir)
            .env("SPORTELLO_LOG", "warn")
            .env("RUST_BACKTRACE", "1")
            .output()
            .unwrap()
    };
    let clean = verify();
    assert_eq!(clean.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&clean.stdout).contains("\"breaks\": []"));

    let (position, stored): (i64, String) = sqlx::query_as(
        "SELECT global_position, chain_hash FROM events WHERE aggregate_id = ? AND sequence = 1",
    )
    .bind(&id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    change_the_topic_received(&app, &id).await;
    let broken = verify();
    let stderr = String::from_utf8_lossy(&broken.stderr);
    assert_eq!(broken.status.code(), Some(3), "{stderr}");
    let line = stderr
        .lines()
        .find(|line| line.contains(&receipt.reference))
        .unwrap_or_else(|| panic!("the break names the request: {stderr}"));
    assert!(line.contains(&id));
    assert!(
        line.contains(&format!("event 1 at position {position}")),
        "{line}"
    );
    assert!(line.contains(&format!("found {stored}")), "{line}");
    assert!(line.contains("expected hash "), "{line}");
    assert!(
        !stderr.contains("backtrace") && !stderr.contains("panicked"),
        "{stderr}"
    );
    let report: serde_json::Value = serde_json::from_slice(&broken.stdout).unwrap();
    assert_eq!(report["breaks"][0]["reference"], receipt.reference.as_str());
    assert_eq!(report["breaks"][0]["position"], position);
}

/// Edits the first event of a request in the database, as someone tampering with it would.
async fn change_the_topic_received(app: &TestApp, id: &str) {
    sqlx::query(
        "UPDATE events SET payload = JSON_SET(payload, '$.RequestReceived.topic', 'altro')
          WHERE aggregate_id = ? AND sequence = 1",
    )
    .bind(id)
    .execute(&app.pool)
    .await
    .unwrap();
}
