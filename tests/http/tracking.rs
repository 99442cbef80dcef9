//! The private tracking link: the only way in, and what it shows.

use axum::http::StatusCode;

use crate::support::office::QUESTION;
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

/// Sends a reply from the tracking page with the page's own CSRF token.
async fn reply(app: &TestApp, token: &str, message: &str) -> crate::support::TestResponse {
    let page = app.get(&format!("/segui/{token}")).await;
    let csrf = page
        .input_value("csrf_token")
        .expect("the reply form has a CSRF token");
    reply_with_token(app, token, &csrf, message).await
}

/// Sends a reply to the request with this tracking token, carrying `csrf` as the form's token.
async fn reply_with_token(
    app: &TestApp,
    token: &str,
    csrf: &str,
    message: &str,
) -> crate::support::TestResponse {
    let form = crate::support::Multipart::new()
        .text("csrf_token", csrf)
        .text("message", message);
    let (content_type, body) = form.encode();
    let request = axum::http::Request::post(format!("/segui/{token}/risposta"))
        .header("content-type", content_type)
        .body(axum::body::Body::from(body))
        .unwrap();
    app.send(request).await
}

#[tokio::test]
async fn the_citizen_answers_a_question_from_the_tracking_page_and_the_clock_resumes() {
    let app = TestApp::start().await;
    let (receipt, id) = app.file_request(complaint("Buca")).await;
    let (staff, email, password) = app.operator_client().await;
    staff.act(&id, "chiedi", &[("message", QUESTION)]).await;
    app.settle().await;
    let waiting = app.get(&format!("/segui/{}", receipt.token)).await;
    assert!(waiting.text().contains("In quale via si trova la buca?"));
    assert!(waiting
        .text()
        .contains("il termine per la risposta è sospeso"));

    // Ten days later the citizen answers: the deadline moves on by ten days.
    app.app.clock.advance(chrono::Duration::days(10));
    let response = reply(
        &app,
        &receipt.token,
        "In via Garibaldi, davanti al civico 8.",
    )
    .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    app.settle().await;
    let page = app.get(&format!("/segui/{}", receipt.token)).await;
    assert_eq!(page.element_text("status").unwrap(), "In valutazione");
    assert!(page
        .text()
        .contains("In via Garibaldi, davanti al civico 8."));
    assert!(
        page.text().contains("20 aprile 2026"),
        "9 April + 10 days = Sunday 19 → Monday 20 April"
    );
    staff.app.clock.advance(chrono::Duration::days(10));
    staff.signed_in_as(&email, &password).await;
    assert!(staff
        .get(&format!("/ufficio/richieste/{id}"))
        .await
        .text()
        .contains("Il cittadino ha inviato altre informazioni"));
}

#[tokio::test]
async fn a_reply_too_short_keeps_what_was_typed() {
    let app = TestApp::start().await;
    let receipt = app.file(complaint("Buca")).await;
    let response = reply(&app, &receipt.token, "Corto").await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response
        .text()
        .contains("Il messaggio deve avere da 10 a 4000 caratteri."));
    assert_eq!(response.element_text("message").unwrap(), "Corto");
    assert_eq!(app.count_events().await, 1);
}

/// A reply long enough to be accepted.
const LONG_ENOUGH: &str = "Un messaggio abbastanza lungo";

#[tokio::test]
async fn a_reply_needs_the_forms_csrf_token() {
    let app = TestApp::start().await;
    let receipt = app.file(complaint("Buca")).await;
    let forged = reply_with_token(&app, &receipt.token, "forged", LONG_ENOUGH).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(app.count_events().await, 1);
}

#[tokio::test]
async fn a_closed_request_takes_no_reply() {
    let app = TestApp::start().await;
    let (receipt, id) = app.file_request(complaint("Buca")).await;
    let (staff, _, _) = app.operator_client().await;
    let page = app.get(&format!("/segui/{}", receipt.token)).await;
    let csrf = page.input_value("csrf_token").unwrap();
    staff.act(&id, "chiudi", &[("outcome", "withdrawn")]).await;
    app.settle().await;
    assert!(!app
        .get(&format!("/segui/{}", receipt.token))
        .await
        .text()
        .contains("Rispondi o aggiungi informazioni"));
    let late = reply_with_token(&app, &receipt.token, &csrf, LONG_ENOUGH).await;
    assert_eq!(late.status, StatusCode::CONFLICT);
}
