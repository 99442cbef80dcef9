//! The access matrix, generated from the OpenAPI document (a new operation cannot be forgotten):
//! every operation × a client of each single scope × with and without a department limit. A
//! client without the operation's scope gets 403; with it, never 401 nor 403; a client limited
//! to another department gets 404 on a request that is not its department's.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};

use super::{administrator, client_token, json};
use crate::support::{complaint, TestApp};

const SCOPES: [&str; 5] = [
    "requests:read",
    "requests:write",
    "statistics:read",
    "events:read",
    "webhooks:manage",
];

#[tokio::test]
async fn every_operation_answers_each_scope_and_department_limit_as_documented() {
    let app = TestApp::start().await;
    let roads = app.add_department("Lavori pubblici").await;
    let parks = app.add_department("Verde pubblico").await;
    let (_, id) = app.file_request(complaint("Buca")).await;
    app.settle().await;
    let csrf = administrator(&app).await;
    let mut clients = Vec::new();
    for scope in SCOPES {
        let all = client_token(&app, &csrf, &format!("tutto {scope}"), &[scope], &[]).await;
        clients.push((scope, None, all));
        // The scopes that span every department are not given to a limited client (the form
        // refuses them; see clients.rs).
        if !matches!(scope, "events:read" | "webhooks:manage") {
            let name = format!("verde {scope}");
            let limited = client_token(&app, &csrf, &name, &[scope], &[parks]).await;
            clients.push((scope, Some(parks), limited));
        }
    }
    let document = serde_json::to_value(sportello_server::api::document()).unwrap();
    let mut checked = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let needed: Vec<&str> = operation["security"][0]["bearer"]
                .as_array()
                .map(|s| s.iter().filter_map(|v| v.as_str()).collect())
                .unwrap_or_default();
            let concrete = path.replace("{id}", &id).replace("{delivery}", "msg_0");
            for (scope, limit, token) in &clients {
                let mut request = Request::builder()
                    .method(method.to_uppercase().as_str())
                    .uri(&concrete)
                    .header(header::AUTHORIZATION, format!("Bearer {token}"));
                let mut body = Body::empty();
                if method == "post" {
                    request = request
                        .header(header::CONTENT_TYPE, "application/json")
                        .header(header::IF_MATCH, "\"999\"");
                    // Every action's fields at once: each body parses, so the answer is about the
                    // client and the request, not the body's shape.
                    body = Body::from(
                        serde_json::json!({
                            "department": roads.to_string(), "note": "nota", "message": "testo",
                            "outcome": "withdrawn", "number": "1", "date": "2026-01-01",
                            "register": "Generale", "active": true, "url": "https://esempio.example/h",
                        })
                        .to_string(),
                    );
                }
                let response = app.send(request.body(body).unwrap()).await;
                let what = format!("{method} {path} as {scope} limited to {limit:?}");
                let allowed = needed.is_empty() || needed.contains(scope);
                if !allowed {
                    assert_eq!(
                        response.status,
                        StatusCode::FORBIDDEN,
                        "{what}: {}",
                        response.text()
                    );
                    continue;
                }
                assert!(
                    response.status != StatusCode::UNAUTHORIZED
                        && response.status != StatusCode::FORBIDDEN,
                    "{what}: {}",
                    response.text()
                );
                assert!(
                    !response.status.is_server_error(),
                    "{what}: {}",
                    response.text()
                );
                // The request is in no department: a department-limited client does not see it.
                if limit.is_some() && path.contains("/requests/{id}") {
                    assert_eq!(
                        response.status,
                        StatusCode::NOT_FOUND,
                        "{what}: {}",
                        response.text()
                    );
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 20, "{checked} allowed calls checked");
    // The limited client sees the request once it is its department's.
    let writer = clients
        .iter()
        .find(|(s, l, _)| *s == "requests:write" && l.is_none())
        .unwrap()
        .2
        .clone();
    let reader = clients
        .iter()
        .find(|(s, l, _)| *s == "requests:read" && *l == Some(parks))
        .unwrap()
        .2
        .clone();
    let etag = super::call(&app, &format!("/api/v1/requests/{id}"), &clients[0].2)
        .await
        .header("etag")
        .unwrap();
    super::post_json(
        &app,
        &format!("/api/v1/requests/{id}/forward"),
        &writer,
        &serde_json::json!({"department": parks.to_string()}),
        &[("if-match", &etag)],
    )
    .await
    .assert_status(StatusCode::OK);
    let seen = super::call(&app, &format!("/api/v1/requests/{id}"), &reader).await;
    seen.assert_status(StatusCode::OK);
    assert_eq!(json(&seen)["department"], parks.to_string());
}
