//! Webhook endpoints through the API (`webhooks:manage`): what administrators do on their page.

use axum::http::StatusCode;
use serde_json::json;

use super::{administrator, call, client_token, json, post_json, problem};
use crate::support::TestApp;

#[tokio::test]
async fn a_client_with_webhooks_manage_registers_lists_disables_and_reads_the_log() {
    let app = TestApp::start().await;
    let csrf = administrator(&app).await;
    let manager = client_token(&app, &csrf, "Integrazioni", &["webhooks:manage"], &[]).await;
    let reader = client_token(&app, &csrf, "Sito", &["requests:read"], &[]).await;

    let bad = post_json(
        &app,
        "/api/v1/webhooks",
        &manager,
        &json!({"url": "http://example.org/h", "event_types": ["Nothing"]}),
        &[],
    )
    .await;
    let body = problem(&bad, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["url", "event_types"]);

    let created = post_json(
        &app,
        "/api/v1/webhooks",
        &manager,
        &json!({"url": "https://protocollo.example.org/eventi", "event_types": ["RequestReceived"]}),
        &[],
    )
    .await;
    created.assert_status(StatusCode::CREATED);
    let endpoint = json(&created);
    assert!(endpoint["secret"].as_str().unwrap().starts_with("whsec_"));
    let id = endpoint["id"].as_str().unwrap().to_string();
    let listed = json(&call(&app, "/api/v1/webhooks", &manager).await);
    assert_eq!(listed[0]["id"], id.as_str());
    assert!(
        listed[0].get("secret").is_none(),
        "the secret is shown once"
    );
    // The administrators' page lists it too.
    assert!(app
        .get("/ufficio/amministrazione/webhook")
        .await
        .text()
        .contains("protocollo.example.org"));

    let off = post_json(
        &app,
        &format!("/api/v1/webhooks/{id}/state"),
        &manager,
        &json!({"active": false}),
        &[],
    )
    .await;
    off.assert_status(StatusCode::OK);
    assert_eq!(json(&off)["active"], false);
    let log = json(&call(&app, &format!("/api/v1/webhooks/{id}/deliveries"), &manager).await);
    assert!(log.as_array().unwrap().is_empty());
    let resend = post_json(
        &app,
        &format!("/api/v1/webhooks/{id}/deliveries/msg_nessuna/resend"),
        &manager,
        &json!({}),
        &[],
    )
    .await;
    problem(&resend, StatusCode::NOT_FOUND);
    let unknown = post_json(
        &app,
        "/api/v1/webhooks/nessuno/state",
        &manager,
        &json!({"active": true}),
        &[],
    )
    .await;
    problem(&unknown, StatusCode::NOT_FOUND);

    // Personal data go only to a client that may read them itself.
    let personal = post_json(
        &app,
        "/api/v1/webhooks",
        &manager,
        &json!({"url": "https://p.example.org/h", "personal": true}),
        &[],
    )
    .await;
    let refused = problem(&personal, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused["errors"][0]["field"], "personal");
    // Revoking the client stops the endpoints it registered.
    let client_id: String =
        sqlx::query_scalar("SELECT id FROM api_clients WHERE name = 'Integrazioni'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let on = json!({"active": true});
    post_json(
        &app,
        &format!("/api/v1/webhooks/{id}/state"),
        &manager,
        &on,
        &[],
    )
    .await
    .assert_status(StatusCode::OK);
    app.post_urlencoded(
        &format!("/ufficio/amministrazione/api/{client_id}/revoca"),
        &[("csrf_token", &csrf)],
    )
    .await
    .assert_status(StatusCode::SEE_OTHER);
    let active: bool = sqlx::query_scalar("SELECT active FROM webhook_endpoints WHERE id = ?")
        .bind(&id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(!active, "a revoked client's endpoints stop");

    // Without the scope: 403, naming it.
    let refused = call(&app, "/api/v1/webhooks", &reader).await;
    assert!(problem(&refused, StatusCode::FORBIDDEN)["detail"]
        .as_str()
        .unwrap()
        .contains("webhooks:manage"));
}
