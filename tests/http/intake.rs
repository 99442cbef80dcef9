//! Filing a request through the form: validation, anti-abuse, CSRF.

use axum::http::StatusCode;

use crate::support::{complaint, Options, TestApp};

#[tokio::test]
async fn a_complaint_gets_a_reference_and_its_history_starts_with_received() {
    let app = TestApp::start().await;
    let receipt = app.file(complaint("Lampione spento")).await;
    assert_eq!(receipt.reference, "2026/0000001");
    assert_eq!(receipt.token.len(), 43, "256 random bits, base64url");
    assert_eq!(app.history(&receipt).await, ["Richiesta ricevuta"]);
}

#[tokio::test]
async fn the_confirmation_says_what_happens_next_the_deadline_and_the_private_link() {
    let app = TestApp::start().await;
    let receipt = app.file(complaint("Buca in strada")).await;
    let page = app.get(&format!("/segui/{}/ricevuta", receipt.token)).await;
    let text = page.text();
    assert!(text.contains("Che cosa succede adesso"));
    // Received 10 March 2026 (Rome): 30 days later.
    assert_eq!(
        page.element_text("deadline").unwrap(),
        "Il Comune deve risponderti entro il 9 aprile 2026 (30 giorni, Legge 241/1990)."
    );
    assert_eq!(
        page.element_text("tracking-link").unwrap(),
        format!("https://urp.comune.test/segui/{}", receipt.token)
    );
    assert_eq!(page.header("cache-control").as_deref(), Some("no-store"));
}

#[tokio::test]
async fn a_configured_deadline_is_shown_instead_of_thirty_days() {
    let app = TestApp::start_with(Options {
        extra: vec![("SPORTELLO_ANSWER_DAYS", "20".into())],
        ..Default::default()
    })
    .await;
    let receipt = app.file(complaint("Buca in strada")).await;
    let page = app.get(&format!("/segui/{}/ricevuta", receipt.token)).await;
    assert!(page
        .element_text("deadline")
        .unwrap()
        .contains("30 marzo 2026 (20 giorni"));
}

#[tokio::test]
async fn mistakes_rerender_the_form_with_everything_typed_and_linked_errors() {
    let app = TestApp::start().await;
    let form = complaint("Oggetto <b>importante</b>")
        .text("description", "corta")
        .text("email_confirmation", "altro@example.it")
        .text("phone", "06 1234 5678");
    let page = app.submit(form).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    let text = page.text();
    assert!(text.contains("id=\"error-summary\""));
    assert!(
        text.contains("href=\"#description\""),
        "the summary links to the field"
    );
    assert!(text.contains("href=\"#email_confirmation\""));
    assert!(text.contains("La descrizione è troppo breve"));
    assert_eq!(
        page.input_value("subject").unwrap(),
        "Oggetto <b>importante</b>"
    );
    assert!(
        !text.contains("<b>importante</b>"),
        "what was typed is escaped"
    );
    assert_eq!(page.input_value("first_name").unwrap(), "Maria");
    assert_eq!(page.input_value("phone").unwrap(), "06 1234 5678");
    assert_eq!(page.element_text("description").unwrap(), "corta");
    let described = text
        .split("id=\"description\"")
        .nth(1)
        .unwrap()
        .split('>')
        .next()
        .unwrap()
        .to_string();
    let error_id = described
        .split("aria-describedby=\"description-hint ")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert!(described.contains("aria-invalid=\"true\""));
    assert!(
        page.element_text(error_id)
            .unwrap()
            .contains("La descrizione è troppo breve"),
        "the field points at its error"
    );
    assert!(
        text.contains("value=\"complaint\" checked"),
        "the chosen kind stays chosen"
    );
    assert!(text.contains("value=\"lavori-pubblici\" selected"));
    assert_eq!(app.count_events().await, 0, "nothing is filed");
}

#[tokio::test]
async fn every_required_field_is_named_when_the_form_is_empty() {
    let app = TestApp::start().await;
    let token = app.open_form().await;
    let page = app
        .post_form(&crate::support::Multipart::new().first("csrf_token", &token))
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    for field in [
        "kind-information",
        "topic",
        "subject",
        "description",
        "first_name",
        "last_name",
        "email",
        "privacy",
    ] {
        assert!(
            page.text().contains(&format!("href=\"#{field}\"")),
            "{field} is in the summary"
        );
    }
}

#[tokio::test]
async fn errors_are_translated_into_english() {
    let app = TestApp::start().await;
    app.get("/lingua/en").await;
    let page = app.submit(complaint("Pothole").without("privacy")).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text().contains("<html lang=\"en\">"));
    assert!(page
        .text()
        .contains("To send the request you must accept the privacy notice."));
}

#[tokio::test]
async fn a_missing_or_forged_csrf_token_files_nothing_but_keeps_what_was_typed() {
    let app = TestApp::start().await;
    app.open_form().await;
    let page = app
        .post_form(&complaint("Senza token").first("csrf_token", "forged"))
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.text().contains("Il modulo è scaduto"));
    assert_eq!(page.input_value("subject").unwrap(), "Senza token");
    let fresh = page.input_value("csrf_token").unwrap();
    // A token from another browser (another cookie) does not work either.
    let other = TestApp::on_database(app.database_url.clone(), Options::default()).await;
    let refused = other
        .post_form(&complaint("Token altrui").first("csrf_token", &fresh))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    // The fresh token of the re-rendered page works.
    let response = app
        .post_form(&complaint("Senza token").first("csrf_token", &fresh))
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_honeypot_refuses_robots() {
    let app = TestApp::start().await;
    let page = app
        .submit(complaint("Spam").text("website", "http://spam.example"))
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.count_events().await, 0);
}

#[tokio::test]
async fn submissions_are_rate_limited_per_client_keeping_what_was_typed() {
    let app = TestApp::start_with(Options {
        extra: vec![("SPORTELLO_SUBMISSIONS_PER_HOUR", "2".into())],
        ..Default::default()
    })
    .await;
    app.file(complaint("Uno")).await;
    app.file(complaint("Due")).await;
    let page = app.submit(complaint("Tre")).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(page.input_value("subject").unwrap(), "Tre");
    app.set_client_ip("203.0.113.50:40000");
    app.file(complaint("Tre")).await;
}

#[tokio::test]
async fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
    let app = TestApp::start_with(Options {
        extra: vec![
            ("SPORTELLO_SUBMISSIONS_PER_HOUR", "1".into()),
            ("SPORTELLO_TRUSTED_PROXIES", "10.0.0.1".into()),
        ],
        ..Default::default()
    })
    .await;
    app.set_client_ip("10.0.0.1:443");
    let send = |client: &'static str| {
        let app = &app;
        async move {
            let token = app.open_form().await;
            let (content_type, body) = complaint("Via proxy").first("csrf_token", &token).encode();
            let request = axum::http::Request::post("/segnalazioni")
                .header("content-type", content_type)
                .header("x-forwarded-for", client)
                .body(axum::body::Body::from(body))
                .unwrap();
            app.send(request).await.status
        }
    };
    assert_eq!(send("192.0.2.1").await, StatusCode::SEE_OTHER);
    assert_eq!(send("192.0.2.1").await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        send("192.0.2.2").await,
        StatusCode::SEE_OTHER,
        "another citizen behind the same proxy"
    );
}

#[tokio::test]
async fn behind_https_a_planted_cookie_without_the_host_prefix_is_not_believed() {
    let app = TestApp::start().await;
    // A sibling subdomain could set `sportello_csrf` but never `__Host-sportello_csrf`.
    let nonce = sportello_server::web::csrf::new_nonce();
    let token = sportello_server::web::csrf::token_for(&app.app.csrf_secret, &nonce);
    let (content_type, body) = complaint("Cookie piantato")
        .first("csrf_token", &token)
        .encode();
    let request = axum::http::Request::post("/segnalazioni")
        .header("content-type", content_type)
        .header("cookie", format!("sportello_csrf={nonce}"))
        .body(axum::body::Body::from(body))
        .unwrap();
    assert_eq!(app.send(request).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.count_events().await, 0);
}
