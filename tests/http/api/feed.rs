//! The event feed and the statistics: what an auditor or an analyst reads to build their own
//! view outside Sportello, and the dashboard's figures.

use std::collections::HashMap;

use axum::http::StatusCode;
use sportello_server::event_store::chain;

use super::{administrator, call, client_token, json, problem};
use crate::support::{complaint, TestApp};

/// A request's status as an outside consumer folds it from event types alone.
fn fold(status: &mut HashMap<String, String>, event: &serde_json::Value) {
    let id = event["aggregate_id"].as_str().unwrap().to_string();
    let next = match event["type"].as_str().unwrap() {
        "RequestReceived" => "received",
        "RequestTakenIntoEvaluation" => "in_evaluation",
        "InformationRequested" => "waiting_for_citizen",
        "RequestForwarded" => "forwarded",
        "RequestTakenInCharge" => "taken_in_charge",
        "RequestAnswered" => "answered",
        "RequestClosed" | "RequestRedirected" => "closed",
        _ => return,
    };
    status.insert(id, next.to_string());
}

#[tokio::test]
async fn the_feed_rebuilds_outside_the_queues_counts_and_its_chain_verifies() {
    let app = TestApp::start().await;
    let roads = app.add_department("Lavori pubblici").await;
    let mut ids = Vec::new();
    for subject in ["Buca", "Lampione", "Rifiuti", "Semaforo"] {
        ids.push(app.file_request(complaint(subject)).await.1);
    }
    app.settle().await;
    let csrf = administrator(&app).await;
    let writer = client_token(
        &app,
        &csrf,
        "Smistamento",
        &["requests:write", "requests:read"],
        &[],
    )
    .await;
    let auditor = client_token(&app, &csrf, "Revisore", &["events:read"], &[]).await;
    for (id, action, body) in [
        (
            &ids[0],
            "forward",
            serde_json::json!({"department": roads.to_string()}),
        ),
        (
            &ids[1],
            "forward",
            serde_json::json!({"department": roads.to_string()}),
        ),
        (&ids[1], "take-charge", serde_json::json!({})),
        (&ids[2], "answer", serde_json::json!({"message": "Fatto."})),
    ] {
        let etag = call(&app, &format!("/api/v1/requests/{id}"), &writer)
            .await
            .header("etag")
            .unwrap();
        super::post_json(
            &app,
            &format!("/api/v1/requests/{id}/{action}"),
            &writer,
            &body,
            &[("if-match", &etag)],
        )
        .await
        .assert_status(StatusCode::OK);
    }
    app.settle().await;

    // Page by page, in commit order, until nothing new.
    let mut after = 0;
    let mut events = Vec::new();
    loop {
        let page = call(
            &app,
            &format!("/api/v1/events?after={after}&limit=3"),
            &auditor,
        )
        .await;
        page.assert_status(StatusCode::OK);
        let body = json(&page);
        let batch = body["events"].as_array().unwrap().clone();
        assert!(!page.text().contains("Maria"), "no personal data in clear");
        if batch.is_empty() {
            assert_eq!(body["next_after"], after);
            break;
        }
        after = body["next_after"].as_i64().unwrap();
        events.extend(batch);
    }
    assert_eq!(events.len() as i64, app.count_events().await);
    let positions: Vec<i64> = events
        .iter()
        .map(|e| e["position"].as_i64().unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]));

    // Each request's chain, recomputed from what the feed gave.
    let mut last: HashMap<String, String> = HashMap::new();
    for event in &events {
        let id = event["aggregate_id"].as_str().unwrap();
        let previous = last
            .get(id)
            .cloned()
            .unwrap_or_else(|| chain::GENESIS.to_string());
        let hash = chain::hash(
            &previous,
            id,
            event["sequence"].as_i64().unwrap(),
            event["type"].as_str().unwrap(),
            event["version"].as_str().unwrap(),
            &event["payload"],
            &event["metadata"],
        );
        assert_eq!(event["chain_hash"].as_str(), Some(hash.as_str()), "{event}");
        last.insert(id.to_string(), hash);
    }

    // The whole log's chain too, up to a checkpoint the deployment signed.
    let kept = sportello_server::event_store::checkpoint::sign_today(
        &app.pool,
        &app.app.config.data_dir,
        app.app.clock.now(),
    )
    .await
    .unwrap()
    .unwrap();
    let mut previous = chain::GENESIS.to_string();
    for event in &events {
        let recorded_at: chrono::DateTime<chrono::Utc> =
            serde_json::from_value(event["recorded_at"].clone()).unwrap();
        let hash = sportello_server::event_store::log_chain::log_hash(
            &previous,
            event["log_index"].as_i64().unwrap(),
            event["position"].as_i64().unwrap(),
            recorded_at,
            event["aggregate_id"].as_str().unwrap(),
            event["sequence"].as_i64().unwrap(),
            event["chain_hash"].as_str().unwrap(),
        );
        assert_eq!(event["log_hash"].as_str(), Some(hash.as_str()));
        previous = hash;
    }
    assert_eq!(events.last().unwrap()["log_index"], kept.size);
    assert_eq!(
        previous, kept.head,
        "the feed's log ends where the signed checkpoint says"
    );

    // A count per status, folded outside, equals the queue's.
    let mut status = HashMap::new();
    events.iter().for_each(|e| fold(&mut status, e));
    let mut outside: HashMap<String, usize> = HashMap::new();
    status
        .values()
        .for_each(|s| *outside.entry(s.clone()).or_default() += 1);
    let listed = json(&call(&app, "/api/v1/requests?limit=100", &writer).await);
    let mut queue: HashMap<String, usize> = HashMap::new();
    for item in listed["items"].as_array().unwrap() {
        *queue
            .entry(item["status"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert_eq!(outside, queue);

    // The feed is for events:read; a reader of requests does not get it, nor bad positions.
    problem(
        &call(&app, "/api/v1/events", &writer).await,
        StatusCode::FORBIDDEN,
    );
    for query in ["after=-1", "after=abc", "limit=0", "limit=1001"] {
        problem(
            &call(&app, &format!("/api/v1/events?{query}"), &auditor).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
}

#[tokio::test]
async fn statistics_of_a_period_are_the_dashboards_and_a_department_counts_its_own() {
    let app = TestApp::start().await;
    let roads = app.add_department("Lavori pubblici").await;
    let (_, first) = app.file_request(complaint("Buca")).await;
    app.file_request(complaint("Lampione")).await;
    app.settle().await;
    let csrf = administrator(&app).await;
    let writer = client_token(
        &app,
        &csrf,
        "Smistamento",
        &["requests:write", "requests:read"],
        &[],
    )
    .await;
    let etag = call(&app, &format!("/api/v1/requests/{first}"), &writer)
        .await
        .header("etag")
        .unwrap();
    super::post_json(
        &app,
        &format!("/api/v1/requests/{first}/forward"),
        &writer,
        &serde_json::json!({"department": roads.to_string()}),
        &[("if-match", &etag)],
    )
    .await
    .assert_status(StatusCode::OK);
    app.settle().await;
    let analyst = client_token(&app, &csrf, "Analisi", &["statistics:read"], &[]).await;
    let roads_only = client_token(
        &app,
        &csrf,
        "Analisi strade",
        &["statistics:read"],
        &[roads],
    )
    .await;

    let all = json(
        &call(
            &app,
            "/api/v1/statistics?from=2026-01-01&to=2026-12-31",
            &analyst,
        )
        .await,
    );
    assert_eq!(all["totals"]["received"], 2, "{all}");
    assert_eq!(all["from"], "2026-01-01");
    assert_eq!(all["aging"].as_array().unwrap().len(), 4);
    let mine = json(
        &call(
            &app,
            "/api/v1/statistics?from=2026-01-01&to=2026-12-31",
            &roads_only,
        )
        .await,
    );
    assert_eq!(mine["totals"]["received"], 1, "{mine}");
    let complaints = json(
        &call(
            &app,
            "/api/v1/statistics?from=2026-01-01&to=2026-12-31&kind=praise",
            &analyst,
        )
        .await,
    );
    assert_eq!(complaints["totals"]["received"], 0);

    for query in [
        "from=31/12/2026",
        "from=2026-12-31&to=2026-01-01",
        "kind=x",
        "department=y",
    ] {
        problem(
            &call(&app, &format!("/api/v1/statistics?{query}"), &analyst).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    problem(
        &call(&app, "/api/v1/statistics", &writer).await,
        StatusCode::FORBIDDEN,
    );
}
