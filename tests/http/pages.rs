//! The plain pages, the language switch, health, security headers and assets.

use axum::body::Body;
use axum::http::{Request, StatusCode};

use crate::support::TestApp;

#[tokio::test]
async fn the_home_page_is_italian_with_a_visible_way_to_english() {
    let app = TestApp::start().await;
    let page = app.get("/").await;
    assert_eq!(page.status, StatusCode::OK);
    let text = page.text();
    assert!(text.contains("<html lang=\"it\">"));
    assert!(text.contains("Scrivi al tuo Comune"));
    assert!(text.contains("href=\"/segnalazioni/nuova\""));
    assert!(text.contains("href=\"/lingua/en?torna=/\""));
    assert!(text.contains("href=\"/privacy\""));
}

#[tokio::test]
async fn the_language_switch_remembers_the_choice_and_returns_to_the_page() {
    let app = TestApp::start().await;
    let switch = app.get("/lingua/en?torna=/segnalazioni/nuova").await;
    assert_eq!(switch.status, StatusCode::SEE_OTHER);
    assert_eq!(
        switch.header("location").as_deref(),
        Some("/segnalazioni/nuova")
    );
    assert!(switch.header("set-cookie").unwrap().contains("HttpOnly"));
    let page = app.get("/segnalazioni/nuova").await;
    assert!(page.text().contains("<html lang=\"en\">"));
    assert!(page.text().contains("New request"));
    assert_eq!(app.get("/lingua/de").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_language_switch_never_sends_people_to_another_site() {
    let app = TestApp::start().await;
    for target in [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
    ] {
        let switch = app.get(&format!("/lingua/it?torna={target}")).await;
        assert_eq!(switch.header("location").as_deref(), Some("/"), "{target}");
    }
}

#[tokio::test]
async fn the_privacy_notice_exists_in_both_languages() {
    let app = TestApp::start().await;
    assert!(app
        .get("/privacy")
        .await
        .text()
        .contains("Informativa sulla privacy"));
    app.get("/lingua/en").await;
    assert!(app.get("/privacy").await.text().contains("Privacy notice"));
}

#[tokio::test]
async fn every_page_carries_the_security_headers() {
    let app = TestApp::start().await;
    for path in ["/", "/segnalazioni/nuova", "/privacy", "/missing"] {
        let page = app.get(path).await;
        let csp = page.header("content-security-policy").unwrap();
        assert!(
            csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{path}"
        );
        assert_eq!(
            page.header("x-content-type-options").as_deref(),
            Some("nosniff")
        );
        assert_eq!(page.header("x-frame-options").as_deref(), Some("DENY"));
        assert_eq!(
            page.header("referrer-policy").as_deref(),
            Some("no-referrer")
        );
        assert_eq!(
            page.header("strict-transport-security").as_deref(),
            Some("max-age=31536000; includeSubDomains"),
            "the public URL is https"
        );
    }
}

#[tokio::test]
async fn cookies_are_secure_behind_https() {
    let app = TestApp::start().await;
    let page = app.get("/segnalazioni/nuova").await;
    let cookie = page.header("set-cookie").unwrap();
    assert!(
        cookie.starts_with("__Host-sportello_csrf=")
            && cookie.contains("Secure")
            && cookie.contains("SameSite=Lax")
    );
}

#[tokio::test]
async fn assets_are_embedded_and_cached_for_good() {
    let app = TestApp::start().await;
    let home = app.get("/").await.text();
    let css = home
        .split("href=\"")
        .find(|part| part.contains("bootstrap-italia.min.css"))
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let response = app.get(&css).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(
        response.header("content-type").as_deref(),
        Some("text/css; charset=utf-8")
    );
    assert_eq!(
        response.header("cache-control").as_deref(),
        Some("public, max-age=31536000, immutable")
    );
    let font = css.replace(
        "css/bootstrap-italia.min.css",
        "fonts/Titillium_Web/titillium-web-v10-latin-ext_latin-regular.woff2",
    );
    assert_eq!(
        app.get(&font).await.header("content-type").as_deref(),
        Some("font/woff2")
    );
    assert_eq!(
        app.get("/assets/x/app/missing.css").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn health_answers_while_the_database_does() {
    let app = TestApp::start().await;
    assert_eq!(app.get("/healthz").await.status, StatusCode::OK);
    app.pool.close().await;
    assert_eq!(
        app.get("/healthz").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[tokio::test]
async fn nothing_changes_state_through_get_and_other_methods_are_refused() {
    let app = TestApp::start().await;
    let get = app.get("/segnalazioni").await;
    assert_eq!(get.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(get.header("allow").as_deref(), Some("POST"));
    assert!(
        get.text().contains("La richiesta non è valida."),
        "a page, not an empty body"
    );
    let post = app
        .send(Request::post("/").body(Body::empty()).unwrap())
        .await;
    assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(app.count_events().await, 0);
}

#[tokio::test]
async fn unknown_pages_are_a_translated_404() {
    let app = TestApp::start().await;
    let page = app.get("/non-esiste").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(
        page.text().contains("<html lang=\"it\">")
            && page.text().contains("La pagina che cerchi non esiste")
    );
}

#[tokio::test]
async fn a_trial_install_opens_a_living_desk() {
    let app = TestApp::start().await;
    let living = sportello_server::demo::living(&app.app).await.unwrap();
    let (email, password) = living.staff.expect("a fresh install");
    assert_eq!(living.requests, sportello_server::demo::LIVING_REQUESTS + 3);
    assert!(
        sportello_server::demo::seed_back_office(&app.app)
            .await
            .unwrap()
            .is_none(),
        "never twice"
    );
    app.settle().await;
    let chain = sportello_server::event_store::chain::verify(&app.pool)
        .await
        .unwrap();
    assert!(chain.breaks.is_empty(), "{chain:?}");
    // Every status, over ninety days, with reminders, ratings and varied subjects.
    let statuses: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT status FROM queue_requests ORDER BY status")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    for status in sportello_domain::Status::ALL.iter().skip(1) {
        assert!(
            statuses.contains(&status.code().to_string()),
            "{status:?} in {statuses:?}"
        );
    }
    let (days, reminded, subjects): (i64, i64, i64) = sqlx::query_as(
        "SELECT DATEDIFF(MAX(received_at), MIN(received_at)),
                CAST(SUM(reminders > 0) AS SIGNED), COUNT(DISTINCT subject)
           FROM queue_requests",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(days >= 80, "{days} days");
    assert!(
        reminded >= 1 && subjects >= 20,
        "{reminded} reminded, {subjects} subjects"
    );
    let rated: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE event_type = 'RequestRated'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(rated >= 5, "{rated} rated");
    let sent: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(
        sent <= 3,
        "mail only for the three filed now, {sent} queued"
    );
    // The staff member works it: the inbox, an overdue request, the dashboard.
    app.signed_in_as(&email, &password).await;
    let inbox = app.get("/ufficio/richieste").await;
    assert_eq!(
        inbox.element_text("total").unwrap(),
        format!("{} richieste", living.requests)
    );
    let overdue = app.get("/ufficio/richieste?scadute=1").await;
    assert!(overdue.text().contains("class=\"overdue\""));
    assert!(app
        .get("/ufficio/amministrazione/uffici")
        .await
        .text()
        .contains("Servizi sociali"));
    // The printed link opens the request waiting for its citizen, who can answer.
    let citizen = app.browser();
    let tracking = citizen
        .get(&format!("/segui/{}", living.tracking.expect("one waiting")))
        .await;
    assert_eq!(tracking.status, StatusCode::OK);
    assert!(
        tracking
            .text()
            .contains("Può indicarci l&#x27;indirizzo preciso?")
            || tracking
                .text()
                .contains("Può indicarci l'indirizzo preciso?")
    );
}

#[tokio::test]
async fn the_language_switch_ignores_targets_with_whitespace_or_control_characters() {
    let app = TestApp::start().await;
    for target in [
        "/%09/evil.example",
        "/%20/evil.example",
        "/%0d%0aSet-Cookie:x",
    ] {
        let switch = app.get(&format!("/lingua/it?torna={target}")).await;
        assert_eq!(switch.header("location").as_deref(), Some("/"), "{target}");
    }
}

#[tokio::test]
async fn a_post_a_browser_says_came_from_another_site_is_refused_even_with_a_valid_token() {
    let app = TestApp::start().await;
    let token = app.open_form().await;
    let (content_type, body) = crate::support::complaint("Da un altro sito")
        .first("csrf_token", &token)
        .encode();
    let post = |headers: &[(&str, &str)]| {
        let mut request = Request::post("/segnalazioni").header("content-type", &content_type);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.body(Body::from(body.clone())).unwrap()
    };
    for headers in [
        &[("origin", "https://evil.example")][..],
        &[("origin", "null"), ("sec-fetch-site", "cross-site")],
        &[("sec-fetch-site", "cross-site")],
        &[
            ("sec-fetch-site", "same-site"),
            ("origin", "https://urp.comune.test"),
        ],
    ] {
        let refused = app.send(post(headers)).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{headers:?}");
        assert!(refused.text().contains("proviene da un altro sito"));
    }
    assert_eq!(app.count_events().await, 0);
    // Our own pages, and clients that send neither header, get through.
    let ours = app
        .send(post(&[
            ("origin", "https://urp.comune.test"),
            ("sec-fetch-site", "same-origin"),
        ]))
        .await;
    assert_eq!(ours.status, StatusCode::SEE_OTHER);
    // A form on our pages, whose no-referrer policy makes the browser send `Origin: null`.
    let without_referrer = app
        .send(post(&[
            ("origin", "null"),
            ("sec-fetch-site", "same-origin"),
        ]))
        .await;
    assert_eq!(without_referrer.status, StatusCode::SEE_OTHER);
    assert_eq!(app.send(post(&[])).await.status, StatusCode::SEE_OTHER);
    // Reading stays open to links from anywhere.
    let linked = app
        .send(
            Request::get("/")
                .header("sec-fetch-site", "cross-site")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(linked.status, StatusCode::OK);
}
