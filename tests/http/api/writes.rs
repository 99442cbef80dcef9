//! Writing through the API: filing a request with the web form's rules, the back office's
//! actions on the version the client saw, and idempotent retries.

use axum::http::StatusCode;
use base64::Engine;
use serde_json::json;
use sportello_server::staff::Role;

use super::{administrator, call, client_token, json, post_json, problem};
use crate::support::{png, TestApp};

fn new_request(subject: &str) -> serde_json::Value {
    json!({
        "kind": "complaint",
        "topic": "lavori-pubblici",
        "subject": subject,
        "description": "Una buca profonda davanti al numero 12, pericolosa per le biciclette.",
        "place": "Via Roma 12",
        "citizen": {"first_name": "Maria", "last_name": "Rossi", "email": "maria.rossi@example.org"},
        "attachments": [{
            "name": "buca.png",
            "content": base64::engine::general_purpose::STANDARD.encode(png(40, 30)),
        }],
    })
}

async fn metadata_actor(app: &TestApp, id: &str, event_type: &str) -> String {
    sqlx::query_scalar(
        "SELECT CAST(JSON_VALUE(metadata, '$.actor') AS CHAR) FROM events WHERE aggregate_id = ? AND event_type = ?
          ORDER BY sequence DESC LIMIT 1",
    )
    .bind(id)
    .bind(event_type)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_request_filed_through_the_api_follows_the_forms_rules() {
    let app = TestApp::start().await;
    let csrf = administrator(&app).await;
    let writer = client_token(
        &app,
        &csrf,
        "App del Comune",
        &["requests:write", "requests:read"],
        &[],
    )
    .await;
    let reader = client_token(&app, &csrf, "Sito", &["requests:read"], &[]).await;

    let filed = post_json(
        &app,
        "/api/v1/requests",
        &writer,
        &new_request("Buca in via Roma"),
        &[],
    )
    .await;
    filed.assert_status(StatusCode::CREATED);
    let body = json(&filed);
    let id = body["id"].as_str().unwrap().to_string();
    assert_eq!(
        filed.header("location"),
        Some(format!("/api/v1/requests/{id}"))
    );
    // Committed before the answer: the reference is in the log.
    assert_eq!(
        app.aggregate_id(body["reference"].as_str().unwrap()).await,
        id
    );
    // The citizen's private link goes to them by mail, never into an answer another system keeps.
    assert!(body.get("tracking_url").is_none() && !filed.text().contains("/segui/"));
    let client_id: String =
        sqlx::query_scalar("SELECT id FROM api_clients WHERE name = 'App del Comune'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        metadata_actor(&app, &id, "RequestReceived").await,
        format!("api:{client_id}")
    );
    app.settle().await;
    let one = json(&call(&app, &format!("/api/v1/requests/{id}"), &reader).await);
    assert_eq!(one["channel"], "api");
    assert_eq!(one["place"], "Via Roma 12");
    let received = &one["timeline"][0]["data"];
    assert_eq!(
        received["attachments"].as_array().unwrap().len(),
        1,
        "{received}"
    );

    // The form's rules, each named by its field; nothing filed.
    let events = app.count_events().await;
    let mut bad = new_request("");
    bad["citizen"]["email"] = json!("non-un-indirizzo");
    bad["kind"] = json!("lamentela");
    bad["attachments"] = json!([
        {"name": "foto.jpg", "content": base64::engine::general_purpose::STANDARD.encode(b"MZ\x90\x00 not a picture")},
        {"name": "x.pdf", "content": "%%% not base64"},
    ]);
    let refused = post_json(&app, "/api/v1/requests", &writer, &bad, &[]).await;
    let problem_body = problem(&refused, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = problem_body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for field in [
        "kind",
        "subject",
        "citizen.email",
        "attachments",
        "attachments[1].content",
    ] {
        assert!(fields.contains(&field), "{field} in {fields:?}");
    }
    assert!(
        refused.text().contains("foto.jpg"),
        "the refused file is named"
    );
    assert_eq!(app.count_events().await, events);

    // Not JSON, broken JSON, a reader's token: refused before anything is read.
    let text = app
        .send(
            axum::http::Request::post("/api/v1/requests")
                .header("authorization", format!("Bearer {writer}"))
                .header("content-type", "text/plain")
                .body(axum::body::Body::from("ciao"))
                .unwrap(),
        )
        .await;
    problem(&text, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let broken = app
        .send(
            axum::http::Request::post("/api/v1/requests")
                .header("authorization", format!("Bearer {writer}"))
                .header("content-type", "application/json")
                .body(axum::body::Body::from("{\"kind\": "))
                .unwrap(),
        )
        .await;
    problem(&broken, StatusCode::BAD_REQUEST);
    let read_only = post_json(&app, "/api/v1/requests", &reader, &new_request("X"), &[]).await;
    problem(&read_only, StatusCode::FORBIDDEN);
    assert_eq!(app.count_events().await, events);
}

#[tokio::test]
async fn an_action_is_taken_on_the_version_the_client_saw() {
    let app = TestApp::start().await;
    let roads = app.add_department("Lavori pubblici").await;
    let (_, id) = app.file_request(crate::support::complaint("Buca")).await;
    app.settle().await;
    let csrf = administrator(&app).await;
    let token = client_token(
        &app,
        &csrf,
        "Protocollo",
        &["requests:write", "requests:read"],
        &[],
    )
    .await;
    let seen = call(&app, &format!("/api/v1/requests/{id}"), &token).await;
    let etag = seen.header("etag").unwrap();
    let forward = json!({"department": roads.to_string(), "note": "Da verificare"});
    let path = format!("/api/v1/requests/{id}/forward");

    let events = app.count_events().await;
    problem(
        &post_json(&app, &path, &token, &forward, &[]).await,
        StatusCode::PRECONDITION_REQUIRED,
    );
    let stale = post_json(&app, &path, &token, &forward, &[("if-match", "\"1\"")]).await;
    let body = problem(&stale, StatusCode::PRECONDITION_FAILED);
    assert_eq!(body["current_version"].to_string(), etag.trim_matches('"'));
    let unknown = json!({"department": uuid::Uuid::new_v4().to_string()});
    let refused = post_json(&app, &path, &token, &unknown, &[("if-match", &etag)]).await;
    assert_eq!(
        problem(&refused, StatusCode::UNPROCESSABLE_ENTITY)["errors"][0]["field"],
        "department"
    );
    assert_eq!(app.count_events().await, events, "nothing recorded");

    let done = post_json(&app, &path, &token, &forward, &[("if-match", &etag)]).await;
    done.assert_status(StatusCode::OK);
    let now = json(&done);
    assert_eq!(now["status"], "forwarded");
    assert_ne!(done.header("etag").unwrap(), etag);
    let client_id: String = sqlx::query_scalar("SELECT id FROM api_clients")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        metadata_actor(&app, &id, "RequestForwarded").await,
        format!("api:{client_id}")
    );
    // The same version again: the request has moved on.
    let again = post_json(&app, &path, &token, &forward, &[("if-match", &etag)]).await;
    problem(&again, StatusCode::PRECONDITION_FAILED);

    // Staff see the client as who acted.
    let (email, password) = app
        .add_staff("Anna Operatrice", &[Role::UrpOperator], &[])
        .await;
    let office = app.browser();
    office.signed_in_as(&email, &password).await;
    let page = office.get(&format!("/ufficio/richieste/{id}")).await;
    assert!(
        page.text().contains("Protocollo (API)"),
        "the timeline names the client"
    );
}

#[tokio::test]
async fn a_department_client_takes_charge_answers_and_closes_as_a_referent_would() {
    let app = TestApp::start().await;
    let roads = app.add_department("Lavori pubblici").await;
    let parks = app.add_department("Verde pubblico").await;
    let (_, id) = app.file_request(crate::support::complaint("Buca")).await;
    let (_, elsewhere) = app.file_request(crate::support::complaint("Siepe")).await;
    app.settle().await;
    let csrf = administrator(&app).await;
    let urp = client_token(
        &app,
        &csrf,
        "Smistamento",
        &["requests:write", "requests:read"],
        &[],
    )
    .await;
    let gis = client_token(
        &app,
        &csrf,
        "GIS strade",
        &["requests:write", "requests:read"],
        &[roads],
    )
    .await;
    let act = |token: String, id: String, action: &'static str, body: serde_json::Value| {
        let app = &app;
        async move {
            let seen = call(app, &format!("/api/v1/requests/{id}"), &token).await;
            let etag = seen.header("etag").unwrap_or_default();
            post_json(
                app,
                &format!("/api/v1/requests/{id}/{action}"),
                &token,
                &body,
                &[("if-match", &etag)],
            )
            .await
        }
    };
    // Not yet forwarded: not the department's to see.
    problem(
        &act(gis.clone(), id.clone(), "take-charge", json!({})).await,
        StatusCode::NOT_FOUND,
    );
    act(
        urp.clone(),
        id.clone(),
        "forward",
        json!({"department": roads.to_string()}),
    )
    .await
    .assert_status(StatusCode::OK);
    act(
        urp.clone(),
        elsewhere.clone(),
        "forward",
        json!({"department": parks.to_string()}),
    )
    .await
    .assert_status(StatusCode::OK);
    // A referent does not forward: not open to it.
    let forward = act(
        gis.clone(),
        id.clone(),
        "forward",
        json!({"department": parks.to_string()}),
    )
    .await;
    problem(&forward, StatusCode::CONFLICT);
    let taken = act(gis.clone(), id.clone(), "take-charge", json!({})).await;
    taken.assert_status(StatusCode::OK);
    assert_eq!(json(&taken)["status"], "taken_in_charge");
    let noted = act(
        gis.clone(),
        id.clone(),
        "notes",
        json!({"message": "Sopralluogo martedì"}),
    )
    .await;
    noted.assert_status(StatusCode::OK);
    let empty = act(gis.clone(), id.clone(), "answer", json!({"message": "   "})).await;
    assert_eq!(
        problem(&empty, StatusCode::UNPROCESSABLE_ENTITY)["errors"][0]["field"],
        "message"
    );
    let answered = act(
        gis.clone(),
        id.clone(),
        "answer",
        json!({"message": "Riparata il 4 dicembre."}),
    )
    .await;
    answered.assert_status(StatusCode::OK);
    assert_eq!(json(&answered)["status"], "answered");
    let bad_outcome = act(urp.clone(), id.clone(), "close", json!({"outcome": "boh"})).await;
    problem(&bad_outcome, StatusCode::UNPROCESSABLE_ENTITY);
    let closed = act(
        urp.clone(),
        id.clone(),
        "close",
        json!({"outcome": "answered"}),
    )
    .await;
    closed.assert_status(StatusCode::OK);
    assert_eq!(json(&closed)["status"], "closed");
    // Another department's request stays out of reach, for reading and for acting.
    problem(
        &act(
            gis.clone(),
            elsewhere.clone(),
            "notes",
            json!({"message": "x"}),
        )
        .await,
        StatusCode::NOT_FOUND,
    );
    // Asking the citizen is the URP's.
    let (_, fresh) = app.file_request(crate::support::complaint("Rumore")).await;
    app.settle().await;
    let asked = act(
        urp.clone(),
        fresh.clone(),
        "ask",
        json!({"message": "Di che via si tratta?"}),
    )
    .await;
    asked.assert_status(StatusCode::OK);
    assert_eq!(json(&asked)["status"], "waiting_for_citizen");
}

#[tokio::test]
async fn twenty_parallel_posts_with_one_idempotency_key_file_one_request() {
    let app = TestApp::start().await;
    let csrf = administrator(&app).await;
    let token = client_token(&app, &csrf, "App", &["requests:write"], &[]).await;
    let body = new_request("Semaforo spento");
    let key = [("idempotency-key", "app-7f3a-0001")];
    let answers = futures::future::join_all(
        (0..20).map(|_| post_json(&app, "/api/v1/requests", &token, &body, &key)),
    )
    .await;
    let references: std::collections::HashSet<String> = answers
        .iter()
        .map(|answer| {
            answer.assert_status(StatusCode::CREATED);
            json(answer)["reference"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(references.len(), 1, "one reference for all: {references:?}");
    let filed: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE event_type = 'RequestReceived'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(filed, 1);
    assert!(
        answers
            .iter()
            .filter(|a| a.header("idempotent-replayed").is_some())
            .count()
            >= 19
    );

    // The same key with another body is refused; another key files another request.
    let other = post_json(
        &app,
        "/api/v1/requests",
        &token,
        &new_request("Altro"),
        &key,
    )
    .await;
    problem(&other, StatusCode::UNPROCESSABLE_ENTITY);
    let second = post_json(
        &app,
        "/api/v1/requests",
        &token,
        &body,
        &[("idempotency-key", "app-7f3a-0002")],
    )
    .await;
    second.assert_status(StatusCode::CREATED);
    assert!(!references.contains(json(&second)["reference"].as_str().unwrap()));
    // A key is the client's own: another client's same key files its own request.
    let other_client = client_token(&app, &csrf, "Altra app", &["requests:write"], &[]).await;
    let theirs = post_json(&app, "/api/v1/requests", &other_client, &body, &key).await;
    theirs.assert_status(StatusCode::CREATED);
    assert!(theirs.header("idempotent-replayed").is_none());
    let bad_key = post_json(
        &app,
        "/api/v1/requests",
        &token,
        &body,
        &[("idempotency-key", "")],
    )
    .await;
    problem(&bad_key, StatusCode::UNPROCESSABLE_ENTITY);
}
