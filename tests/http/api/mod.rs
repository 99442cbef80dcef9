//! The API for other systems: clients and tokens made on the administrators' page, requests and
//! the directory read with them, problem documents for every error, and the OpenAPI document
//! that describes each route.

mod clients;
mod document;
mod feed;
mod hooks;
mod matrix;
mod protocol;
mod requests;
mod writes;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use sportello_server::staff::Role;

use crate::support::{TestApp, TestResponse};

/// Signs in a new administrator in `app` (a browser of its own); returns the page's CSRF token.
pub async fn administrator(app: &TestApp) -> String {
    let (email, password) = app
        .add_staff("Ada Amministratrice", &[Role::Administrator], &[])
        .await;
    app.signed_in_as(&email, &password).await;
    app.get("/ufficio/amministrazione/api")
        .await
        .input_value("csrf_token")
        .expect("the page carries a CSRF token")
}

/// Creates a client on the administrators' page (as its administrator, signed in in `admin`);
/// returns the token the page showed.
pub async fn client_token(
    admin: &TestApp,
    csrf: &str,
    name: &str,
    scopes: &[&str],
    departments: &[uuid::Uuid],
) -> String {
    let departments: Vec<String> = departments.iter().map(|d| d.to_string()).collect();
    let mut fields = vec![("csrf_token", csrf), ("name", name)];
    fields.extend(scopes.iter().map(|s| ("scope", *s)));
    fields.extend(departments.iter().map(|d| ("department", d.as_str())));
    let created = admin
        .post_urlencoded("/ufficio/amministrazione/api", &fields)
        .await;
    created.assert_status(StatusCode::CREATED);
    let text = created.text();
    let after = text
        .split("id=\"new-token\" value=\"")
        .nth(1)
        .expect("the token is shown");
    after.split('"').next().unwrap().to_string()
}

/// A GET of the API with this token (none when empty), in Italian unless `language` says.
pub async fn call(app: &TestApp, path: &str, token: &str) -> TestResponse {
    call_in(app, path, token, "it").await
}

pub async fn call_in(app: &TestApp, path: &str, token: &str, language: &str) -> TestResponse {
    let mut request = Request::get(path).header(header::ACCEPT_LANGUAGE, language);
    if !token.is_empty() {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    app.send(request.body(Body::empty()).unwrap()).await
}

/// A POST of JSON to the API with this token and extra headers.
pub async fn post_json(
    app: &TestApp,
    path: &str,
    token: &str,
    body: &serde_json::Value,
    headers: &[(&str, &str)],
) -> TestResponse {
    let mut request = Request::post(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    app.send(request.body(Body::from(body.to_string())).unwrap())
        .await
}

pub fn json(response: &TestResponse) -> serde_json::Value {
    serde_json::from_slice(&response.bytes)
        .unwrap_or_else(|_| panic!("JSON, got {}: {}", response.status, response.text()))
}

/// Asserts an RFC 9457 problem document with this status; returns it.
pub fn problem(response: &TestResponse, status: StatusCode) -> serde_json::Value {
    assert_eq!(response.status, status, "{}", response.text());
    assert_eq!(
        response.header("content-type").as_deref(),
        Some("application/problem+json")
    );
    let body = json(response);
    assert_eq!(body["status"], status.as_u16());
    assert!(body["type"]
        .as_str()
        .unwrap()
        .starts_with("urn:sportello:problem:"));
    assert!(!body["detail"].as_str().unwrap().is_empty());
    body
}
