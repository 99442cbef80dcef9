//! The private tracking link: the only way in, and what it shows.

use axum::http::StatusCode;

use crate::support::{complaint, TestApp};

#[tokio::test]
async fn the_tracking_page_shows_status_history_and_what_was_sent() {
    let app = TestApp::start().await;
    let receipt = app.file(complaint("Lampione spento")).await;
    app.settle().await;
    let page = app.get(&format!("/segui/{}", receipt.token)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.element_text("reference").unwrap(), receipt.reference);
    assert_eq!(
        page.element_text("status").unwrap(),
        "Ricevuta, in attesa di valutazione"
    );
    assert_eq!(page.element_text("subject").unwrap(), "Lampione spento");
    assert_eq!(
        app.history(&receipt).await,
        [
            "Richiesta ricevuta",
            "Conferma di ricezione inviata per e-mail"
        ]
    );
    assert!(page
        .text()
        .contains("<time datetime=\"2026-03-10T09:00:00+00:00\">10 marzo 2026, 10:00</time>"));
    assert_eq!(page.header("cache-control").as_deref(), Some("no-store"));
    assert_eq!(
        page.header("referrer-policy").as_deref(),
        Some("no-referrer"),
        "the token never leaks as a referrer"
    );
}

#[tokio::test]
async fn a_wrong_or_malformed_token_is_not_found() {
    let app = TestApp::start().await;
    let receipt = app.file(complaint("Lampione spento")).await;
    let mut wrong = receipt.token.clone();
    wrong.replace_range(0..1, if wrong.starts_with('A') { "B" } else { "A" });
    for path in [
        format!("/segui/{wrong}"),
        format!("/segui/{wrong}/ricevuta"),
        format!("/segui/{wrong}/allegati/0"),
        "/segui/short".to_string(),
        "/segui/2026%2F0000001".to_string(),
    ] {
        let page = app.get(&path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        assert!(
            page.text().contains("La pagina che cerchi non esiste"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn the_reference_number_grants_nothing() {
    let app = TestApp::start().await;
    let receipt = app.file(complaint("Lampione spento")).await;
    let (year, number) = receipt.reference.split_once('/').unwrap();
    for path in [
        format!("/segui/{year}/{number}"),
        format!("/segui/{year}-{number}"),
        format!("/segui/{number}"),
    ] {
        assert_eq!(app.get(&path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn the_token_is_stored_only_as_a_hash() {
    let app = TestApp::start().await;
    let receipt = app.file(complaint("Lampione spento")).await;
    app.settle().await;
    let dump: Vec<String> = sqlx::query_scalar(
        "SELECT CAST(CONCAT(payload, metadata) AS CHAR) FROM events
         UNION ALL SELECT tracking_token_hash FROM citizen_requests
         UNION ALL SELECT COALESCE(tracking_token, '') FROM outbox",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(
        dump.iter().all(|value| !value.contains(&receipt.token)),
        "the clear token is erased once mailed"
    );
}

#[tokio::test]
async fn personal_data_is_not_readable_in_the_event_log() {
    let app = TestApp::start().await;
    app.file(complaint("Lampione spento")).await;
    let payload: String = sqlx::query_scalar("SELECT CAST(payload AS CHAR) FROM events")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    for personal in [
        "Maria",
        "Rossi",
        "maria.rossi@example.it",
        "Lampione spento",
        "Via Roma 12",
    ] {
        assert!(!payload.contains(personal), "{personal} is sealed");
    }
}

#[tokio::test]
async fn erasing_the_key_erases_the_personal_data_from_the_tracking_page() {
    let app = TestApp::start().await;
    let receipt = app.file(complaint("Lampione spento")).await;
    sqlx::query("DELETE FROM data_keys")
        .execute(&app.pool)
        .await
        .unwrap();
    let page = app.get(&format!("/segui/{}", receipt.token)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page
        .text()
        .contains("I dati personali di questa richiesta sono stati cancellati."));
    assert!(!page.text().contains("Lampione spento"));
}
