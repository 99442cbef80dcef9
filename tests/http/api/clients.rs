//! API clients: administrators create them with scopes and departments; the token is shown
//! once, stored hashed, revocable, its last use shown; scopes and allowances are enforced.

use axum::http::StatusCode;
use sportello_server::staff::Role;

use super::{administrator, call, call_in, client_token, json, problem};
use crate::support::{Options, TestApp};

#[tokio::test]
async fn a_token_is_shown_once_stored_hashed_and_stops_working_when_revoked() {
    let app = TestApp::start().await;
    let csrf = administrator(&app).await;
    let token = client_token(&app, &csrf, "Sito del Comune", &["requests:read"], &[]).await;
    assert!(token.starts_with("spt_") && token.len() > 40, "{token}");

    // The list shows the client, never the token again; the database holds only its hash.
    let page = app.get("/ufficio/amministrazione/api").await;
    page.assert_status(StatusCode::OK);
    assert!(page.text().contains("Sito del Comune"));
    assert!(!page.text().contains(&token));
    let stored: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM api_clients")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0], token);
    assert!(!stored[0].contains(&token[4..]));

    // The token works, and its use shows on the page.
    let topics = call(&app, "/api/v1/topics", &token).await;
    topics.assert_status(StatusCode::OK);
    assert!(json(&topics).as_array().is_some_and(|t| !t.is_empty()));
    let page = app.get("/ufficio/amministrazione/api").await;
    let row = page.element_text("api-clients").unwrap_or_default();
    assert!(!page.text().contains(">Mai<"), "last use shown: {row}");

    // Revoked: the same token opens nothing, and says so exactly as an unknown one does.
    let id: String = sqlx::query_scalar("SELECT id FROM api_clients")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let revoked = app
        .post_urlencoded(
            &format!("/ufficio/amministrazione/api/{id}/revoca"),
            &[("csrf_token", &csrf)],
        )
        .await;
    revoked.assert_status(StatusCode::SEE_OTHER);
    let refused = call(&app, "/api/v1/topics", &token).await;
    let body = problem(&refused, StatusCode::UNAUTHORIZED);
    assert!(refused
        .header("www-authenticate")
        .unwrap()
        .starts_with("Bearer"));
    let unknown = call(&app, "/api/v1/topics", "spt_nessuno").await;
    assert_eq!(problem(&unknown, StatusCode::UNAUTHORIZED), body);
    assert!(app
        .get("/ufficio/amministrazione/api")
        .await
        .text()
        .contains("Revocato il"));
    // Revoking twice, or a client that does not exist, is a 404.
    let again = app
        .post_urlencoded(
            &format!("/ufficio/amministrazione/api/{id}/revoca"),
            &[("csrf_token", &csrf)],
        )
        .await;
    again.assert_status(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_form_refuses_bad_input_with_linked_errors_and_keeps_what_was_typed() {
    let app = TestApp::start().await;
    let csrf = administrator(&app).await;
    let refused = app
        .post_urlencoded(
            "/ufficio/amministrazione/api",
            &[
                ("csrf_token", &csrf),
                ("name", "   "),
                ("scope", "requests:delete"),
            ],
        )
        .await;
    refused.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    let summary = refused.error_summary().unwrap();
    assert!(summary.contains("nome del client"), "{summary}");
    assert!(summary.contains("almeno un permesso"), "{summary}");
    assert!(refused.text().contains("aria-describedby=\"name-error-1\""));
    let kept = app
        .post_urlencoded(
            "/ufficio/amministrazione/api",
            &[
                ("csrf_token", &csrf),
                ("name", "App del Comune"),
                ("department", "00000000-0000-0000-0000-000000000001"),
                ("scope", "requests:read"),
            ],
        )
        .await;
    kept.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(kept.input_value("name").as_deref(), Some("App del Comune"));
    // The event feed and the webhooks span every department: not for a limited client.
    let roads = app.add_department("Lavori pubblici").await;
    let limited = app
        .post_urlencoded(
            "/ufficio/amministrazione/api",
            &[
                ("csrf_token", &csrf),
                ("name", "Revisore strade"),
                ("scope", "events:read"),
                ("department", &roads.to_string()),
            ],
        )
        .await;
    limited.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(limited
        .error_summary()
        .unwrap()
        .contains("tutti gli uffici"));
    assert!(kept.error_summary().unwrap().contains("uffici"));
    assert!(kept.text().contains("value=\"requests:read\" checked"));
    // Without the CSRF token nothing is created.
    let forged = app
        .post_urlencoded(
            "/ufficio/amministrazione/api",
            &[("name", "Falso"), ("scope", "requests:read")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_clients")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 0);
}

#[tokio::test]
async fn only_administrators_manage_clients() {
    let app = TestApp::start().await;
    let (email, password) = app
        .add_staff(
            "Anna Operatrice",
            &[Role::UrpOperator, Role::UrpManager],
            &[],
        )
        .await;
    app.signed_in_as(&email, &password).await;
    let page = app.get("/ufficio/amministrazione/api").await;
    page.assert_status(StatusCode::NOT_FOUND);
    let csrf = app.get("/ufficio/richieste").await.csrf_token();
    let created = app
        .post_urlencoded(
            "/ufficio/amministrazione/api",
            &[
                ("csrf_token", &csrf),
                ("name", "X"),
                ("scope", "requests:read"),
            ],
        )
        .await;
    created.assert_status(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn each_scope_opens_only_its_operations() {
    let app = TestApp::start().await;
    let csrf = administrator(&app).await;
    let statistics = client_token(&app, &csrf, "Analisi", &["statistics:read"], &[]).await;
    let refused = call_in(&app, "/api/v1/requests", &statistics, "en").await;
    let body = problem(&refused, StatusCode::FORBIDDEN);
    assert!(
        body["detail"].as_str().unwrap().contains("requests:read"),
        "{body}"
    );
    assert!(
        body["detail"].as_str().unwrap().starts_with("This client"),
        "English: {body}"
    );
    let one = call(
        &app,
        "/api/v1/requests/00000000-0000-0000-0000-000000000000",
        &statistics,
    )
    .await;
    problem(&one, StatusCode::FORBIDDEN);
    // The directory names no person: any client reads it.
    for path in ["/api/v1/topics", "/api/v1/departments", "/api/v1/bodies"] {
        call(&app, path, &statistics)
            .await
            .assert_status(StatusCode::OK);
    }
}

#[tokio::test]
async fn a_client_over_its_allowance_is_told_when_to_come_back() {
    let app = TestApp::start_with(Options {
        extra: vec![("SPORTELLO_API_CALLS_PER_MINUTE", "3".into())],
        ..Options::default()
    })
    .await;
    let csrf = administrator(&app).await;
    let busy = client_token(&app, &csrf, "Impaziente", &["requests:read"], &[]).await;
    let calm = client_token(&app, &csrf, "Paziente", &["requests:read"], &[]).await;
    for _ in 0..3 {
        call(&app, "/api/v1/topics", &busy)
            .await
            .assert_status(StatusCode::OK);
    }
    let over = call(&app, "/api/v1/topics", &busy).await;
    problem(&over, StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = over.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    // Another client has its own allowance.
    call(&app, "/api/v1/topics", &calm)
        .await
        .assert_status(StatusCode::OK);
}
