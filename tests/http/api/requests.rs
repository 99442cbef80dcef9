//! Requests through the API: the inbox's filters with a keyset cursor, one request with its
//! timeline and ETag, and department-limited clients that see what a referent sees.

use axum::http::StatusCode;
use sportello_server::staff::Role;

use super::{administrator, call, client_token, json, problem};
use crate::support::{complaint, TestApp};

#[tokio::test]
async fn the_list_filters_and_pages_with_a_cursor() {
    let app = TestApp::start().await;
    let mut filed = Vec::new();
    for subject in [
        "Lampione spento",
        "Buca",
        "Rifiuti",
        "Semaforo rotto",
        "Panchina",
    ] {
        let (receipt, id) = app.file_request(complaint(subject)).await;
        filed.push((receipt.reference, id));
    }
    app.settle().await;
    let csrf = administrator(&app).await;
    let token = client_token(&app, &csrf, "Sito", &["requests:read"], &[]).await;

    let mut seen = Vec::new();
    let mut path = "/api/v1/requests?limit=2".to_string();
    loop {
        let page = call(&app, &path, &token).await;
        page.assert_status(StatusCode::OK);
        let body = json(&page);
        let items = body["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(
            items
                .iter()
                .map(|i| i["reference"].as_str().unwrap().to_string()),
        );
        match body["next"].as_str() {
            Some(next) => path = format!("/api/v1/requests?limit=2&after={next}"),
            None => break,
        }
    }
    // Page by page, the same order as in one page (newest first; the id breaks a tie), each once.
    let whole = json(&call(&app, "/api/v1/requests?limit=100", &token).await);
    let expected: Vec<String> = whole["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["reference"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(seen, expected);
    let mut all = seen.clone();
    all.sort();
    let mut references: Vec<String> = filed.iter().map(|(r, _)| r.clone()).collect();
    references.sort();
    assert_eq!(all, references);

    let oldest = json(&call(&app, "/api/v1/requests?sort=oldest&limit=1", &token).await);
    assert_eq!(
        oldest["items"][0]["reference"],
        expected.last().unwrap().as_str()
    );
    assert!(oldest["items"][0]["subject"].is_string());
    assert_eq!(oldest["items"][0]["status"], "received");

    let words = json(&call(&app, "/api/v1/requests?q=semafori", &token).await);
    assert_eq!(words["items"].as_array().unwrap().len(), 1);
    assert_eq!(words["items"][0]["subject"], "Semaforo rotto");
    let none = json(&call(&app, "/api/v1/requests?kind=praise", &token).await);
    assert!(none["items"].as_array().unwrap().is_empty());
    assert!(none["next"].is_null());
}

#[tokio::test]
async fn bad_filters_are_named_in_the_problem() {
    let app = TestApp::start().await;
    let csrf = administrator(&app).await;
    let token = client_token(&app, &csrf, "Sito", &["requests:read"], &[]).await;
    let refused = call(
        &app,
        "/api/v1/requests?status=lost&limit=0&received_from=31-12-2026&after=xyz&overdue=maybe",
        &token,
    )
    .await;
    let body = problem(&refused, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for field in ["status", "limit", "received_from", "after", "overdue"] {
        assert!(fields.contains(&field), "{field} in {fields:?}");
    }
    // Numbers out of any range, repeated keys and odd bytes are refused, never a 500.
    for query in [
        "limit=99999999999999999999",
        "limit=-1",
        "status=received&status=closed",
        "after=%00",
    ] {
        let response = call(&app, &format!("/api/v1/requests?{query}"), &token).await;
        assert!(
            response.status.is_client_error(),
            "{query}: {}",
            response.status
        );
        problem(&response, response.status);
    }
}

#[tokio::test]
async fn one_request_has_its_timeline_its_personal_data_and_an_etag() {
    let app = TestApp::start().await;
    let roads = app.add_department("Lavori pubblici").await;
    let (receipt, id) = app.file_request(complaint("Buca in via Roma")).await;
    let (email, password) = app
        .add_staff("Anna Operatrice", &[Role::UrpOperator], &[])
        .await;
    let office = app.browser();
    office.signed_in_as(&email, &password).await;
    office
        .act(
            &id,
            "inoltra",
            &[
                ("department", &roads.to_string()),
                ("message", "Da verificare"),
            ],
        )
        .await
        .assert_status(StatusCode::SEE_OTHER);
    app.settle().await;
    let csrf = administrator(&app).await;
    let token = client_token(&app, &csrf, "Sito", &["requests:read"], &[]).await;

    let one = call(&app, &format!("/api/v1/requests/{id}"), &token).await;
    one.assert_status(StatusCode::OK);
    let body = json(&one);
    assert_eq!(body["reference"], receipt.reference.as_str());
    assert_eq!(body["subject"], "Buca in via Roma");
    assert_eq!(body["status"], "forwarded");
    assert_eq!(body["department"], roads.to_string());
    let version = body["version"].as_u64().unwrap();
    assert_eq!(one.header("etag"), Some(format!("\"{version}\"")));
    let types: Vec<&str> = body["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(types.first(), Some(&"RequestReceived"));
    assert!(types.contains(&"RequestForwarded"), "{types:?}");
    assert_eq!(types.len() as u64, version);
    // Sealed parts are opened for a client that reads requests: the forwarding note in clear.
    let forwarded = body["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "RequestForwarded")
        .unwrap();
    assert_eq!(forwarded["data"]["note"], "Da verificare", "{forwarded}");
    assert!(!one.text().contains("ciphertext"));

    for missing in [
        "00000000-0000-0000-0000-000000000000",
        "not-an-id",
        "2026%2F0000001",
    ] {
        let response = call(&app, &format!("/api/v1/requests/{missing}"), &token).await;
        problem(&response, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn a_department_limited_client_sees_what_that_departments_referent_sees() {
    let app = TestApp::start().await;
    let roads = app.add_department("Lavori pubblici").await;
    let parks = app.add_department("Verde pubblico").await;
    let (_, to_roads) = app.file_request(complaint("Buca")).await;
    let (_, to_parks) = app.file_request(complaint("Siepe")).await;
    let (_, not_forwarded) = app.file_request(complaint("Domanda")).await;
    let (email, password) = app
        .add_staff("Anna Operatrice", &[Role::UrpOperator], &[])
        .await;
    let office = app.browser();
    office.signed_in_as(&email, &password).await;
    for (id, department) in [(&to_roads, roads), (&to_parks, parks)] {
        office
            .act(id, "inoltra", &[("department", &department.to_string())])
            .await
            .assert_status(StatusCode::SEE_OTHER);
    }
    app.settle().await;
    let csrf = administrator(&app).await;
    let roads_only = client_token(&app, &csrf, "GIS strade", &["requests:read"], &[roads]).await;

    let list = json(&call(&app, "/api/v1/requests", &roads_only).await);
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![to_roads.as_str()]);
    call(&app, &format!("/api/v1/requests/{to_roads}"), &roads_only)
        .await
        .assert_status(StatusCode::OK);
    for hidden in [&to_parks, &not_forwarded] {
        let response = call(&app, &format!("/api/v1/requests/{hidden}"), &roads_only).await;
        problem(&response, StatusCode::NOT_FOUND);
    }
    // Filtering by another department does not widen the limit.
    let other = json(
        &call(
            &app,
            &format!("/api/v1/requests?department={parks}"),
            &roads_only,
        )
        .await,
    );
    assert!(other["items"].as_array().unwrap().is_empty());
}
