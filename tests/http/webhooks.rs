//! Webhooks against a real receiver that verifies every signature with the Standard Webhooks
//! reference library (PyPI `standardwebhooks`): deliveries in order per request, personal data
//! only where the endpoint allows it, retries after 500s and timeouts, the endpoint disabled
//! after a day of failures with a mail to the administrators, the delivery log and "send again".

use std::time::Duration;

use axum::http::StatusCode;
use sportello_server::staff::Role;

use crate::support::receiver::Receiver;
use crate::support::smtp::{parse, SmtpServer};
use crate::support::{complaint, Options, TestApp};

/// A server whose clock is the real time (the reference library refuses a signature more than
/// five minutes off), that may deliver to the local receiver over HTTP.
async fn server(smtp: Option<&SmtpServer>) -> TestApp {
    TestApp::start_with(Options {
        now: chrono::Utc::now(),
        smtp_url: smtp.map(|s| s.url()),
        extra: vec![
            ("SPORTELLO_WEBHOOK_HTTP_HOSTS", "127.0.0.1".into()),
            ("SPORTELLO_WEBHOOK_TIMEOUT_SECONDS", "1".into()),
        ],
    })
    .await
}

/// An administrator signed in; returns the page's CSRF token.
async fn administrator(app: &TestApp) -> String {
    let (email, password) = app
        .add_staff("Ada Amministratrice", &[Role::Administrator], &[])
        .await;
    app.signed_in_as(&email, &password).await;
    app.get("/ufficio/amministrazione/webhook")
        .await
        .csrf_token()
}

/// Registers an endpoint on the administrators' page; returns its id, after telling the
/// receiver its secret.
async fn register(
    app: &TestApp,
    csrf: &str,
    receiver: &Receiver,
    path: &str,
    extra: &[(&str, &str)],
) -> String {
    let url = receiver.url(path);
    let mut fields = vec![("csrf_token", csrf), ("url", url.as_str())];
    fields.extend_from_slice(extra);
    let created = app
        .post_urlencoded("/ufficio/amministrazione/webhook", &fields)
        .await;
    created.assert_status(StatusCode::CREATED);
    let text = created.text();
    let secret = text
        .split("id=\"new-secret\" value=\"")
        .nth(1)
        .expect("the secret is shown")
        .split('"')
        .next()
        .unwrap()
        .to_string();
    assert!(secret.starts_with("whsec_"));
    receiver.trust(path, &secret);
    sqlx::query_scalar("SELECT id FROM webhook_endpoints WHERE url = ?")
        .bind(&url)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// Runs the processors, then the sender until nothing more is due now.
async fn deliver(app: &TestApp) {
    app.settle().await;
    for _ in 0..50 {
        if sportello_server::webhooks::deliver_due(&app.app)
            .await
            .unwrap()
            == 0
        {
            return;
        }
    }
}

/// Makes every pending delivery due now (what waiting out the backoff would do).
async fn make_due(app: &TestApp) {
    sqlx::query("UPDATE webhook_deliveries SET next_attempt_at = ? WHERE status = 'pending'")
        .bind(app.app.clock.now())
        .execute(&app.pool)
        .await
        .unwrap();
}

#[tokio::test]
async fn deliveries_are_signed_in_order_per_request_and_carry_personal_data_only_when_allowed() {
    let receiver = Receiver::start().await;
    let app = server(None).await;
    let roads = app.add_department("Lavori pubblici").await;
    let csrf = administrator(&app).await;
    register(&app, &csrf, &receiver, "/ok", &[]).await;
    register(
        &app,
        &csrf,
        &receiver,
        "/ok-personal",
        &[("personal", "1"), ("event", "RequestReceived")],
    )
    .await;
    let roads_text = roads.to_string();
    register(
        &app,
        &csrf,
        &receiver,
        "/ok-roads",
        &[("department", &roads_text)],
    )
    .await;

    let (receipt, id) = app.file_request(complaint("Buca in via Roma")).await;
    let (email, password) = app
        .add_staff("Anna Operatrice", &[Role::UrpOperator], &[])
        .await;
    let office = app.browser();
    office.signed_in_as(&email, &password).await;
    office
        .act(&id, "inoltra", &[("department", &roads_text)])
        .await
        .assert_status(StatusCode::SEE_OTHER);
    office
        .act(&id, "nota", &[("message", "Sopralluogo")])
        .await
        .assert_status(StatusCode::SEE_OTHER);
    deliver(&app).await;

    let all = receiver.on("/ok");
    assert!(all.iter().all(|d| d["verified"] == true), "{all:?}");
    let types: Vec<&str> = all
        .iter()
        .map(|d| d["payload"]["type"].as_str().unwrap())
        .collect();
    // The acknowledgement is recorded after the staff's actions (the mail worker ran later).
    assert_eq!(
        types,
        vec![
            "RequestReceived",
            "RequestForwarded",
            "InternalNoteAdded",
            "RequestAcknowledged"
        ]
    );
    let sequences: Vec<i64> = all
        .iter()
        .map(|d| d["payload"]["data"]["sequence"].as_i64().unwrap())
        .collect();
    assert!(
        sequences.windows(2).all(|w| w[0] < w[1]),
        "in order: {sequences:?}"
    );
    assert_eq!(
        all[0]["payload"]["data"]["reference"],
        receipt.reference.as_str()
    );
    let plain = serde_json::to_string(&all).unwrap();
    assert!(
        !plain.contains("Maria") && !plain.contains("Sopralluogo"),
        "no personal data"
    );
    assert!(
        !plain.contains("ciphertext"),
        "sealed parts are left out, not sent sealed"
    );

    let personal = receiver.on("/ok-personal");
    assert_eq!(personal.len(), 1, "only the chosen type");
    assert!(personal[0]["verified"] == true);
    assert_eq!(
        personal[0]["payload"]["data"]["event"]["personal"]["first_name"],
        "Maria"
    );

    // The department's endpoint hears of the request once it is theirs.
    let roads_only: Vec<String> = receiver
        .on("/ok-roads")
        .iter()
        .map(|d| d["payload"]["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        roads_only,
        vec![
            "RequestForwarded",
            "InternalNoteAdded",
            "RequestAcknowledged"
        ]
    );

    // Delivered once: the processor and the sender again change nothing.
    deliver(&app).await;
    assert_eq!(receiver.on("/ok").len(), 4);
    // The ids are the deliveries' own, unique.
    let ids: std::collections::HashSet<String> = receiver
        .log()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), receiver.log().len());
}

#[tokio::test]
async fn failures_are_retried_in_order_and_a_day_of_them_disables_the_endpoint() {
    let receiver = Receiver::start().await;
    let smtp = SmtpServer::start().await;
    let app = server(Some(&smtp)).await;
    let csrf = administrator(&app).await;
    let flaky = register(&app, &csrf, &receiver, "/flaky", &[]).await;
    let down = register(&app, &csrf, &receiver, "/down", &[]).await;
    register(
        &app,
        &csrf,
        &receiver,
        "/slow",
        &[("event", "RequestReceived")],
    )
    .await;
    let (_, id) = app.file_request(complaint("Buca")).await;
    let (email, password) = app
        .add_staff("Anna Operatrice", &[Role::UrpOperator], &[])
        .await;
    let office = app.browser();
    office.signed_in_as(&email, &password).await;
    office
        .act(&id, "nota", &[("message", "Prima nota")])
        .await
        .assert_status(StatusCode::SEE_OTHER);
    deliver(&app).await;

    // The first attempt failed; the second event waits behind the first.
    let first = receiver.on("/flaky");
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0]["payload"]["type"], "RequestReceived");
    let (attempts, next): (i32, chrono::DateTime<chrono::Utc>) = sqlx::query_as(
        "SELECT attempts, next_attempt_at FROM webhook_deliveries WHERE endpoint_id = ? AND sequence = 1",
    )
    .bind(&flaky)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(attempts, 1);
    assert!(next > app.app.clock.now(), "retried later, not at once");
    make_due(&app).await;
    deliver(&app).await;
    make_due(&app).await;
    deliver(&app).await;
    let flaky_log = receiver.on("/flaky");
    let seen: Vec<(i64, i64)> = flaky_log
        .iter()
        .map(|d| {
            (
                d["payload"]["data"]["sequence"].as_i64().unwrap(),
                d["answered"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![(1, 500), (1, 500), (1, 200), (2, 200), (3, 200)],
        "the same first event until it got through, then the next ones in order"
    );
    assert!(flaky_log.iter().all(|d| d["verified"] == true));
    assert_eq!(
        flaky_log[0]["id"], flaky_log[2]["id"],
        "a retry keeps its webhook-id"
    );

    // A timeout is a failure too, retried: the slow endpoint's first call outlasted the timeout.
    let slow: (String, i32) = sqlx::query_as(
        "SELECT d.status, d.attempts FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
          WHERE e.url LIKE '%/slow'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(slow, ("delivered".to_string(), 2));
    assert_eq!(receiver.on("/slow").len(), 2);

    // A day of failures: the delivery fails, the endpoint is disabled, administrators are told.
    sqlx::query("UPDATE webhook_deliveries SET first_attempt_at = first_attempt_at - INTERVAL 25 HOUR WHERE endpoint_id = ?")
        .bind(&down)
        .execute(&app.pool)
        .await
        .unwrap();
    make_due(&app).await;
    deliver(&app).await;
    let (active, reason): (bool, Option<String>) =
        sqlx::query_as("SELECT active, disabled_reason FROM webhook_endpoints WHERE id = ?")
            .bind(&down)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(!active);
    assert_eq!(reason.as_deref(), Some("http_503"), "stored as a code");
    app.settle().await;
    // The citizen's acknowledgement, then the administrator's notice.
    let mails = smtp.wait_for(2, Duration::from_secs(10)).await;
    let told = mails
        .iter()
        .map(parse)
        .find(|m| m.subject.contains("webhook"))
        .expect("the administrators are told");
    assert!(told.text.contains(&receiver.url("/down")));
    assert!(
        told.text.contains("ha risposto con lo stato HTTP 503"),
        "{}",
        told.text
    );
    assert!(told
        .to
        .iter()
        .any(|to| to.contains("ada.amministratrice@comune.test")));
    // Disabled, it is sent nothing more.
    let calls = receiver.on("/down").len();
    make_due(&app).await;
    deliver(&app).await;
    assert_eq!(receiver.on("/down").len(), calls);

    // The log shows it; enabled again and sent again, the failed delivery goes through the
    // queue once more (the receiver still answers 503 — it is sent, and fails, again).
    let page = app
        .get(&format!("/ufficio/amministrazione/webhook/{down}"))
        .await;
    page.assert_status(StatusCode::OK);
    assert!(page.text().contains("Non consegnato"));
    assert!(crate::support::unescape(&page.text())
        .contains("l'indirizzo ha risposto con lo stato HTTP 503"));
    let failed: String = sqlx::query_scalar(
        "SELECT id FROM webhook_deliveries WHERE endpoint_id = ? AND status = 'failed' LIMIT 1",
    )
    .bind(&down)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let csrf = page.csrf_token();
    app.post_urlencoded(
        &format!("/ufficio/amministrazione/webhook/{down}/stato"),
        &[("csrf_token", &csrf), ("state", "on")],
    )
    .await
    .assert_status(StatusCode::SEE_OTHER);
    app.post_urlencoded(
        &format!("/ufficio/amministrazione/webhook/{down}/consegne/{failed}"),
        &[("csrf_token", &csrf)],
    )
    .await
    .assert_status(StatusCode::SEE_OTHER);
    deliver(&app).await;
    assert!(receiver.on("/down").len() > calls, "sent again");
    // Another organisation's id, or a made-up delivery, is a 404.
    app.post_urlencoded(
        &format!("/ufficio/amministrazione/webhook/{down}/consegne/msg_nessuno"),
        &[("csrf_token", &csrf)],
    )
    .await
    .assert_status(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn only_https_endpoints_or_allowed_hosts_are_registered_by_administrators() {
    let app = server(None).await;
    let csrf = administrator(&app).await;
    for url in [
        "http://example.org/hook",
        "ftp://example.org/",
        "https://user:pw@example.org/",
        "https://10.0.0.7/hook",
        "https://[::1]/hook",
        "https://169.254.169.254/latest",
        "not a url",
        "",
    ] {
        let refused = app
            .post_urlencoded(
                "/ufficio/amministrazione/webhook",
                &[
                    ("csrf_token", &csrf),
                    ("url", url),
                    ("event", "RequestReceived"),
                ],
            )
            .await;
        refused.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            refused.error_summary().unwrap().contains("https://"),
            "{url}"
        );
        assert_eq!(
            refused.input_value("url").as_deref(),
            Some(url.trim()),
            "kept as typed"
        );
    }
    let bad_event = app
        .post_urlencoded(
            "/ufficio/amministrazione/webhook",
            &[
                ("csrf_token", &csrf),
                ("url", "https://example.org/h"),
                ("event", "Nothing"),
            ],
        )
        .await;
    bad_event.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    let created = app
        .post_urlencoded(
            "/ufficio/amministrazione/webhook",
            &[("csrf_token", &csrf), ("url", "https://example.org/h")],
        )
        .await;
    created.assert_status(StatusCode::CREATED);
    // Nobody else reaches the pages.
    let (email, password) = app
        .add_staff(
            "Anna Operatrice",
            &[Role::UrpOperator, Role::UrpManager],
            &[],
        )
        .await;
    let other = app.browser();
    other.signed_in_as(&email, &password).await;
    other
        .get("/ufficio/amministrazione/webhook")
        .await
        .assert_status(StatusCode::NOT_FOUND);
}
