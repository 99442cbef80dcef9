//! The OpenAPI document is generated from the handlers and served; every operation it lists is
//! a route that answers (here: asks for a token), and every error of the API, routed or not, is a
//! problem document in the asker's language.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};

use super::{call, call_in, json, problem};
use crate::support::TestApp;

#[tokio::test]
async fn the_document_is_openapi_3_1_and_each_operation_is_a_guarded_route() {
    let app = TestApp::start().await;
    let served = app.get("/api/v1/openapi.json").await;
    served.assert_status(StatusCode::OK);
    assert_eq!(
        served.header("content-type").as_deref(),
        Some("application/json")
    );
    let document = json(&served);
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    assert_eq!(
        document,
        serde_json::to_value(sportello_server::api::document()).unwrap()
    );
    let paths = document["paths"].as_object().unwrap();
    assert!(paths.len() >= 5, "{:?}", paths.keys());
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            for status in ["400", "401", "403", "429", "500"] {
                assert!(
                    operation["responses"].get(status).is_some(),
                    "{method} {path} documents {status}"
                );
            }
            // Every documented route exists and asks for a token (a made-up id fills the path).
            let concrete = path
                .replace("{id}", "00000000-0000-0000-0000-000000000000")
                .replace("{delivery}", "msg_0");
            let request = Request::builder()
                .method(method.to_uppercase().as_str())
                .uri(&concrete)
                .body(Body::empty())
                .unwrap();
            let response = app.send(request).await;
            problem(&response, StatusCode::UNAUTHORIZED);
        }
    }
}

#[tokio::test]
async fn every_error_under_the_api_is_a_translated_problem_document() {
    let app = TestApp::start().await;
    let italian = call(&app, "/api/v1/requests", "").await;
    let body = problem(&italian, StatusCode::UNAUTHORIZED);
    assert!(
        body["detail"].as_str().unwrap().contains("token valido"),
        "{body}"
    );
    let english = call_in(&app, "/api/v1/requests", "", "en").await;
    let body = problem(&english, StatusCode::UNAUTHORIZED);
    assert!(
        body["detail"].as_str().unwrap().contains("valid token"),
        "{body}"
    );

    problem(
        &call(&app, "/api/v1/nothing-here", "").await,
        StatusCode::NOT_FOUND,
    );
    problem(&call(&app, "/api", "").await, StatusCode::NOT_FOUND);
    let wrong_method = app
        .send(
            Request::delete("/api/v1/topics")
                .header(header::AUTHORIZATION, "Bearer x")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    problem(&wrong_method, StatusCode::METHOD_NOT_ALLOWED);
    // A cross-site form post to the API meets the API's own answer, not the site's CSRF page.
    let cross_site = app
        .send(
            Request::put("/api/v1/topics")
                .header(header::ORIGIN, "https://evil.example")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert!(cross_site.status.is_client_error());
    // The security headers are on API answers too.
    assert!(italian.header("x-content-type-options").is_some());
}

#[tokio::test]
async fn the_reference_page_is_built_from_the_document_and_lists_every_operation() {
    let app = TestApp::start().await;
    let page = app.get("/api/v1/docs").await;
    page.assert_status(StatusCode::OK);
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    let text = crate::support::unescape(&page.text());
    let document = serde_json::to_value(sportello_server::api::document()).unwrap();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let line = format!("{} {path}", method.to_uppercase());
            assert!(text.contains(&line), "the page lists {line}");
        }
    }
    for schema in document["components"]["schemas"]
        .as_object()
        .unwrap()
        .keys()
    {
        assert!(
            text.contains(&format!("id=\"schema-{schema}\"")),
            "{schema}"
        );
    }
}
