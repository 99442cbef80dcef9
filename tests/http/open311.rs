//! Open311 GeoReport v2 driven exactly as the specification shows: discovery and services,
//! `POST requests` form-encoded with an API client's token as `api_key`, `GET requests` with its
//! filters, `GET requests/{id}` and `GET tokens/{token}`, in JSON and in XML, and the
//! specification's errors. A request filed by Open311 is on the staff's page with its place and
//! its position on the map; the web form takes the position too.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use sportello_server::staff::Role;

use crate::support::{complaint, TestApp, TestResponse};

async fn key(app: &TestApp, scopes: &[&str]) -> String {
    let name = format!("Ada {}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let (email, password) = app.add_staff(&name, &[Role::Administrator], &[]).await;
    let admin = app.browser();
    admin.signed_in_as(&email, &password).await;
    let csrf = admin.get("/ufficio/amministrazione/api").await.csrf_token();
    crate::api::client_token(
        &admin,
        &csrf,
        &format!("Open311 {}", scopes.join(" ")),
        scopes,
        &[],
    )
    .await
}

async fn post(app: &TestApp, path: &str, fields: &[(&str, &str)]) -> TestResponse {
    let body = fields
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                crate::support::urlencode(k),
                crate::support::urlencode(v)
            )
        })
        .collect::<Vec<_>>()
        .join("&");
    app.send(
        Request::post(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap(),
    )
    .await
}

fn json(response: &TestResponse) -> serde_json::Value {
    serde_json::from_slice(&response.bytes)
        .unwrap_or_else(|_| panic!("{}: {}", response.status, response.text()))
}

#[tokio::test]
async fn discovery_and_services_in_json_and_xml() {
    let app = TestApp::start().await;
    let discovery = json(&app.get("/open311/v2/discovery.json").await);
    assert_eq!(
        discovery["endpoints"][0]["specification"],
        "http://wiki.open311.org/GeoReport_v2"
    );
    assert_eq!(
        discovery["endpoints"][0]["url"],
        "https://urp.comune.test/open311/v2"
    );
    let services = app
        .get("/open311/v2/services.json?jurisdiction_id=urp.comune.test")
        .await;
    services.assert_status(StatusCode::OK);
    let list = json(&services);
    let roads = list
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service_code"] == "lavori-pubblici")
        .expect("topics are services");
    assert_eq!(roads["metadata"], true);
    assert_eq!(roads["type"], "realtime");
    let xml = app.get("/open311/v2/services.xml").await;
    assert_eq!(
        xml.header("content-type").as_deref(),
        Some("text/xml; charset=utf-8")
    );
    assert!(
        xml.text().contains("<services><service>")
            && xml
                .text()
                .contains("<service_code>lavori-pubblici</service_code>")
    );
    let definition = json(&app.get("/open311/v2/services/lavori-pubblici.json").await);
    assert_eq!(definition["attributes"][0]["code"], "kind");
    let kinds: Vec<&str> = definition["attributes"][0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["key"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"complaint") && kinds.contains(&"suggestion"));
    let definition_xml = app.get("/open311/v2/services/lavori-pubblici.xml").await;
    assert!(
        definition_xml.text().contains("<attributes><attribute>")
            && definition_xml.text().contains("<values><value><key>")
    );

    // The specification's errors, in the format asked for.
    let unknown = app.get("/open311/v2/services/nessuno.json").await;
    unknown.assert_status(StatusCode::NOT_FOUND);
    assert_eq!(json(&unknown)[0]["code"], 404);
    let unknown_xml = app.get("/open311/v2/services/nessuno.xml").await;
    assert!(unknown_xml
        .text()
        .contains("<errors><error><code>404</code><description>"));
    let elsewhere = app
        .get("/open311/v2/services.json?jurisdiction_id=altro.comune.it")
        .await;
    elsewhere.assert_status(StatusCode::NOT_FOUND);
    assert!(json(&elsewhere)[0]["description"]
        .as_str()
        .unwrap()
        .contains("jurisdiction_id"));
    app.get("/open311/v2/services.html")
        .await
        .assert_status(StatusCode::NOT_FOUND);
    app.get("/open311/v3/anything")
        .await
        .assert_status(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_request_filed_by_open311_is_read_back_and_seen_on_the_web_with_its_position() {
    let app = TestApp::start().await;
    let writer = key(&app, &["requests:write", "requests:read"]).await;
    let filed = post(
        &app,
        "/open311/v2/requests.json",
        &[
            ("api_key", &writer),
            ("jurisdiction_id", "urp.comune.test"),
            ("service_code", "lavori-pubblici"),
            ("lat", "41.902782"),
            ("long", "12.496366"),
            ("address_string", "Piazza Venezia 1"),
            ("email", "giulia.bianchi@example.org"),
            ("first_name", "Giulia"),
            ("last_name", "Bianchi"),
            (
                "description",
                "Una buca profonda davanti alla fermata dell'autobus.",
            ),
            ("attribute[kind]", "complaint"),
        ],
    )
    .await;
    filed.assert_status(StatusCode::OK);
    let answer = json(&filed);
    let reference = answer[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_string();
    let token = answer[0]["token"].as_str().unwrap().to_string();
    assert_eq!(
        app.aggregate_id(&reference).await,
        token,
        "committed before the answer"
    );
    app.settle().await;

    // GET requests with the spec's filters, JSON and XML.
    let listed = json(
        &app.get(&format!(
            "/open311/v2/requests.json?api_key={writer}&service_code=lavori-pubblici&status=open"
        ))
        .await,
    );
    let item = &listed[0];
    assert_eq!(item["service_request_id"], reference.as_str());
    assert_eq!(item["status"], "open");
    assert_eq!(item["lat"], 41.902782);
    assert_eq!(item["long"], 12.496366);
    assert_eq!(item["address"], "Piazza Venezia 1");
    assert!(item["description"]
        .as_str()
        .unwrap()
        .starts_with("Una buca"));
    assert!(
        item["requested_datetime"].as_str().is_some()
            && item["expected_datetime"].as_str().is_some()
    );
    let closed = json(
        &app.get(&format!(
            "/open311/v2/requests.json?api_key={writer}&status=closed"
        ))
        .await,
    );
    assert!(closed.as_array().unwrap().is_empty());
    let other_service = json(
        &app.get(&format!(
            "/open311/v2/requests.json?api_key={writer}&service_code=altro"
        ))
        .await,
    );
    assert!(other_service.as_array().unwrap().is_empty());
    let before = json(
        &app.get(&format!(
            "/open311/v2/requests.json?api_key={writer}&end_date=2020-01-01T00:00:00Z"
        ))
        .await,
    );
    assert!(before.as_array().unwrap().is_empty());
    let xml = app
        .get(&format!("/open311/v2/requests.xml?api_key={writer}"))
        .await;
    assert!(
        xml.text()
            .contains("<service_requests><request><address>Piazza Venezia 1</address>"),
        "{}",
        xml.text()
    );
    assert!(xml.text().contains(&format!(
        "<service_request_id>{reference}</service_request_id>"
    )));
    let by_id = json(
        &app.get(&format!(
            "/open311/v2/requests.json?api_key={writer}&service_request_id={}",
            reference.replace('/', "-")
        ))
        .await,
    );
    assert_eq!(by_id.as_array().unwrap().len(), 1);
    let one = json(
        &app.get(&format!(
            "/open311/v2/requests/{}.json?api_key={writer}",
            reference.replace('/', "%2F")
        ))
        .await,
    );
    assert_eq!(one[0]["service_request_id"], reference.as_str());
    let via_token = json(
        &app.get(&format!("/open311/v2/tokens/{token}.json?api_key={writer}"))
            .await,
    );
    assert_eq!(via_token[0]["service_request_id"], reference.as_str());

    // On the web: the staff's page shows the place and the position with a link to the map.
    let (email, password) = app
        .add_staff("Anna Operatrice", &[Role::UrpOperator], &[])
        .await;
    let office = app.browser();
    office.signed_in_as(&email, &password).await;
    let page = office.get(&format!("/ufficio/richieste/{token}")).await;
    page.assert_status(StatusCode::OK);
    assert!(page.text().contains("Piazza Venezia 1"));
    assert_eq!(
        page.element_text("coordinates")
            .unwrap()
            .split(" — ")
            .next(),
        Some("41.902782, 12.496366")
    );
    assert!(page
        .text()
        .contains("https://www.openstreetmap.org/?mlat=41.902782&amp;mlon=12.496366"));
    assert!(
        page.text()
            .contains("Open311 requests:write requests:read (API)"),
        "filed by the client"
    );
}

#[tokio::test]
async fn open311_refuses_what_the_web_form_refuses_and_needs_a_key_with_its_scope() {
    let app = TestApp::start().await;
    let writer = key(&app, &["requests:write"]).await;
    let missing = post(
        &app,
        "/open311/v2/requests.json",
        &[
            ("api_key", &writer),
            ("service_code", "lavori-pubblici"),
            ("description", "Breve"),
            ("lat", "91"),
        ],
    )
    .await;
    missing.assert_status(StatusCode::BAD_REQUEST);
    let errors: Vec<String> = json(&missing)
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["description"].as_str().unwrap().to_string())
        .collect();
    for field in [
        "description:",
        "first_name:",
        "last_name:",
        "email:",
        "lat:",
    ] {
        assert!(
            errors.iter().any(|e| e.starts_with(field)),
            "{field} in {errors:?}"
        );
    }
    let events = app.count_events().await;
    assert_eq!(events, 0, "nothing filed");
    let xml = post(&app, "/open311/v2/requests.xml", &[("api_key", &writer)]).await;
    xml.assert_status(StatusCode::BAD_REQUEST);
    assert!(xml.text().contains("<errors><error><code>400</code>"));
    let no_key = post(
        &app,
        "/open311/v2/requests.json",
        &[("service_code", "lavori-pubblici")],
    )
    .await;
    no_key.assert_status(StatusCode::FORBIDDEN);
    assert!(json(&no_key)[0]["description"]
        .as_str()
        .unwrap()
        .contains("api_key"));
    let bad_key = app
        .get("/open311/v2/requests.json?api_key=spt_nessuno")
        .await;
    bad_key.assert_status(StatusCode::FORBIDDEN);
    // Reading individual requests needs requests:read.
    let write_only = app
        .get(&format!("/open311/v2/requests.json?api_key={writer}"))
        .await;
    write_only.assert_status(StatusCode::FORBIDDEN);
    assert!(json(&write_only)[0]["description"]
        .as_str()
        .unwrap()
        .contains("requests:read"));
    let reader = key(&app, &["requests:read"]).await;
    let filing_as_reader = post(&app, "/open311/v2/requests.json", &[("api_key", &reader)]).await;
    filing_as_reader.assert_status(StatusCode::FORBIDDEN);
    let bad_status = app
        .get(&format!(
            "/open311/v2/requests.json?api_key={reader}&status=maybe"
        ))
        .await;
    bad_status.assert_status(StatusCode::BAD_REQUEST);
    let bad_date = app
        .get(&format!(
            "/open311/v2/requests.json?api_key={reader}&start_date=ieri"
        ))
        .await;
    bad_date.assert_status(StatusCode::BAD_REQUEST);
    let not_form = app
        .send(
            Request::post("/open311/v2/requests.json")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{}"))
                .unwrap(),
        )
        .await;
    not_form.assert_status(StatusCode::UNSUPPORTED_MEDIA_TYPE);
    app.get(&format!(
        "/open311/v2/requests/2026-9999999.json?api_key={reader}"
    ))
    .await
    .assert_status(StatusCode::NOT_FOUND);
    app.get(&format!("/open311/v2/tokens/x.json?api_key={reader}"))
        .await
        .assert_status(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_web_form_takes_a_position_both_coordinates_or_neither() {
    let app = TestApp::start().await;
    let refused = app
        .submit(
            complaint("Buca")
                .text("latitude", "41,9")
                .text("longitude", ""),
        )
        .await;
    refused.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused
        .error_summary()
        .unwrap()
        .contains("tutte e due o nessuna"));
    assert_eq!(
        refused.input_value("latitude").as_deref(),
        Some("41,9"),
        "kept as typed"
    );
    let (_, id) = app
        .file_request(
            complaint("Buca")
                .text("latitude", "41,902782")
                .text("longitude", "12.496366"),
        )
        .await;
    let (email, password) = app
        .add_staff("Anna Operatrice", &[Role::UrpOperator], &[])
        .await;
    app.signed_in_as(&email, &password).await;
    let page = app.get(&format!("/ufficio/richieste/{id}")).await;
    assert!(page
        .element_text("coordinates")
        .unwrap()
        .starts_with("41.902782, 12.496366"));
    // Sealed in the event, not in clear.
    let payload: String = sqlx::query_scalar(
        "SELECT CAST(payload AS CHAR) FROM events WHERE aggregate_id = ? AND sequence = 1",
    )
    .bind(&id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(payload.contains("\"location\"") && !payload.contains("41.9"));
    let version: String = sqlx::query_scalar(
        "SELECT event_version FROM events WHERE aggregate_id = ? AND sequence = 1",
    )
    .bind(&id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(version, "1.1");
}
