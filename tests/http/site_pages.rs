//! The privacy notice and the accessibility statement: linked from every page, written by
//! administrators, shown as text (never as HTML).

use axum::http::StatusCode;
use sportello_server::staff::Role;

use crate::support::TestApp;

#[tokio::test]
async fn every_page_links_the_privacy_notice_and_the_accessibility_statement() {
    let app = TestApp::start().await;
    for path in [
        "/",
        "/segnalazioni/nuova",
        "/area/accesso",
        "/privacy",
        "/accessibilita",
    ] {
        let page = app.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        let text = page.text();
        assert!(text.contains("href=\"/privacy\""), "{path}");
        assert!(text.contains("href=\"/accessibilita\""), "{path}");
    }
    assert!(app
        .get("/accessibilita")
        .await
        .text()
        .contains("Dichiarazione di accessibilità"));
}

#[tokio::test]
async fn an_administrator_rewrites_a_page_and_its_text_is_shown_escaped() {
    let app = TestApp::start().await;
    let (email, password) = app
        .add_staff("Ada Amministratrice", &[Role::Administrator], &[])
        .await;
    app.signed_in_as(&email, &password).await;
    let editor = app.get("/ufficio/amministrazione/pagine").await;
    assert_eq!(editor.status, StatusCode::OK);
    let token = editor.input_value("csrf_token").unwrap();
    let saved = app
        .post_urlencoded(
            "/ufficio/amministrazione/pagine/privacy/it",
            &[
                ("csrf_token", &token),
                ("title", "Privacy del Comune di Prova"),
                ("body", "## Chi tratta i dati\n\nIl Comune <script>alert(1)</script>.\n\n- primo\n- secondo"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    app.forget_cookies();
    let page = app.get("/privacy").await.text();
    assert!(page.contains("<h1>Privacy del Comune di Prova</h1>"));
    assert!(page.contains("<h2 class=\"h4 mt-4\">Chi tratta i dati</h2>"));
    assert!(page.contains("&lt;script&gt;"), "never raw HTML");
    assert!(!page.contains("<script>alert"));
    assert!(page.contains("<li>secondo</li>"));
    let english = app
        .send(
            axum::http::Request::get("/privacy")
                .header("cookie", "sportello_lang=en")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .text();
    assert!(
        english.contains("Privacy notice"),
        "the English page keeps its default"
    );
}

#[tokio::test]
async fn an_empty_page_is_refused_and_only_administrators_edit() {
    let app = TestApp::start().await;
    let (email, password) = app
        .add_staff("Ada Amministratrice", &[Role::Administrator], &[])
        .await;
    app.signed_in_as(&email, &password).await;
    let refused = app
        .post_with_token(
            "/ufficio/amministrazione/pagine",
            "/ufficio/amministrazione/pagine/accessibility/en",
            &[("title", ""), ("body", "Testo")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.text().contains("The title is required")
            || refused.text().contains("Il titolo è obbligatorio")
    );
    let (operator, secret) = app
        .add_staff("Otto Operatore", &[Role::UrpOperator], &[])
        .await;
    app.forget_cookies();
    app.signed_in_as(&operator, &secret).await;
    assert_eq!(
        app.get("/ufficio/amministrazione/pagine").await.status,
        StatusCode::NOT_FOUND
    );
}
