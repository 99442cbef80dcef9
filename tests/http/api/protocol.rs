//! The protocol registry: its adapter records the registration through the API (or staff by
//! hand); the number shows on the timeline, on the citizen's page, and the inbox filters the
//! requests not yet protocolled.

use axum::http::StatusCode;
use serde_json::json;
use sportello_server::staff::Role;

use super::{administrator, call, client_token, json, post_json, problem};
use crate::support::{complaint, TestApp};

#[tokio::test]
async fn the_registry_records_its_number_once_and_everyone_sees_it() {
    let app = TestApp::start().await;
    let (receipt, id) = app.file_request(complaint("Buca")).await;
    let (_, other) = app.file_request(complaint("Lampione")).await;
    app.settle().await;
    let csrf = administrator(&app).await;
    let registry = client_token(
        &app,
        &csrf,
        "Protocollo",
        &["requests:read", "requests:write"],
        &[],
    )
    .await;
    let waiting = json(&call(&app, "/api/v1/requests?protocolled=false", &registry).await);
    assert_eq!(waiting["items"].as_array().unwrap().len(), 2);

    let path = format!("/api/v1/requests/{id}/protocol");
    let etag = call(&app, &format!("/api/v1/requests/{id}"), &registry)
        .await
        .header("etag")
        .unwrap();
    let bad = post_json(
        &app,
        &path,
        &registry,
        &json!({"number": "", "date": "2099-01-01", "register": "Generale"}),
        &[("if-match", &etag)],
    )
    .await;
    let body = problem(&bad, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["number", "date"]);
    let registration =
        json!({"number": "2026/0012345", "date": "2026-03-10", "register": "Protocollo generale"});
    let done = post_json(
        &app,
        &path,
        &registry,
        &registration,
        &[("if-match", &etag)],
    )
    .await;
    done.assert_status(StatusCode::OK);
    let now = json(&done);
    assert!(
        now.get("citizen").is_none(),
        "an action's answer carries no personal data"
    );
    let read = json(&call(&app, &format!("/api/v1/requests/{id}"), &registry).await);
    assert_eq!(read["protocol"]["number"], "2026/0012345");
    assert_eq!(now["status"], "received", "protocolling changes no status");
    let again = post_json(
        &app,
        &path,
        &registry,
        &registration,
        &[("if-match", &done.header("etag").unwrap())],
    )
    .await;
    problem(&again, StatusCode::CONFLICT);
    app.settle().await;

    // The inbox's filter and the API's list leave it out now.
    let waiting = json(&call(&app, "/api/v1/requests?protocolled=false", &registry).await);
    let ids: Vec<&str> = waiting["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![other.as_str()]);
    let (email, password) = app
        .add_staff("Anna Operatrice", &[Role::UrpOperator], &[])
        .await;
    let office = app.browser();
    office.signed_in_as(&email, &password).await;
    let inbox = office.get("/ufficio/richieste?da_protocollare=1").await;
    inbox.assert_status(StatusCode::OK);
    assert!(!inbox.text().contains(&receipt.reference));
    assert!(inbox.text().contains(&app.reference_of(&other).await));
    let all = office.get("/ufficio/richieste").await;
    assert!(all.text().contains(&receipt.reference));

    // Staff read it on the timeline, and no longer get the form for it.
    let page = office.get(&format!("/ufficio/richieste/{id}")).await;
    assert!(
        page.text()
            .contains("Protocollo n. 2026/0012345 del 10 marzo 2026"),
        "timeline"
    );
    assert!(!page.text().contains("id=\"action-protocollo\""));
    // The citizen reads it on their page.
    let tracking = app.get(&format!("/segui/{}", receipt.token)).await;
    assert!(
        tracking
            .text()
            .contains("Protocollo n. 2026/0012345 del 10 marzo 2026"),
        "citizen's page"
    );

    // Rebuilt from the events, the queue and the citizen's view say the same.
    for projection in [
        &sportello_projections::queue::Queue as &dyn sportello_projections::Projection,
        &sportello_projections::citizen_status::CitizenStatus,
    ] {
        sportello_projections::rebuild(&app.pool, projection)
            .await
            .unwrap();
    }
    let waiting = json(&call(&app, "/api/v1/requests?protocolled=false", &registry).await);
    let ids: Vec<&str> = waiting["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![other.as_str()], "after the rebuild");
    let tracking = app.get(&format!("/segui/{}", receipt.token)).await;
    assert!(
        tracking
            .text()
            .contains("Protocollo n. 2026/0012345 del 10 marzo 2026"),
        "after the rebuild"
    );
}

#[tokio::test]
async fn staff_record_a_registration_by_hand_with_its_rules() {
    let app = TestApp::start().await;
    let (_, id) = app.file_request(complaint("Buca")).await;
    app.settle().await;
    let (email, password) = app
        .add_staff("Anna Operatrice", &[Role::UrpOperator], &[])
        .await;
    app.signed_in_as(&email, &password).await;
    let refused = app
        .act(
            &id,
            "protocollo",
            &[
                ("protocol_number", "88"),
                ("protocol_date", "10/03/2026"),
                ("protocol_register", "Generale"),
            ],
        )
        .await;
    refused.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().contains("una data non futura"));
    let done = app
        .act(
            &id,
            "protocollo",
            &[
                ("protocol_number", "88"),
                ("protocol_date", "2026-03-10"),
                ("protocol_register", "Generale"),
            ],
        )
        .await;
    done.assert_status(StatusCode::SEE_OTHER);
    let page = app.get(&format!("/ufficio/richieste/{id}")).await;
    assert!(page
        .text()
        .contains("Protocollo n. 88 del 10 marzo 2026 (registro Generale)"));
    assert_eq!(
        app.event_types(&app.reference_of(&id).await)
            .await
            .last()
            .map(String::as_str),
        Some("RequestProtocolled")
    );
}
