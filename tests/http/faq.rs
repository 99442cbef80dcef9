//! The FAQ and the documents library over HTTP: Italian-aware search (stems and accents),
//! ranking, publication rules, votes, deflection counting, FAQs made from requests, the history
//! of every change, and library documents attached to answers and received by e-mail.

use std::time::Duration;

use axum::http::StatusCode;
use sportello_server::staff::Role;
use uuid::Uuid;

use crate::support::multipart::Multipart;
use crate::support::smtp::{parse, SmtpServer};
use crate::support::{complaint, urlencode, Options, TestApp, TestResponse};

/// A member of staff with these roles and departments, signed in in a browser of their own.
async fn staff_browser(app: &TestApp, name: &str, roles: &[Role], departments: &[Uuid]) -> TestApp {
    let (email, password) = app.add_staff(name, roles, departments).await;
    let staff = app.browser();
    staff.signed_in_as(&email, &password).await;
    staff
}

/// Signs in an URP operator in a browser of their own.
async fn urp(app: &TestApp) -> (TestApp, String) {
    let staff = staff_browser(app, "Ugo Urp", &[Role::UrpOperator], &[]).await;
    let token = staff
        .get("/ufficio/faq/nuova")
        .await
        .input_value("csrf_token")
        .unwrap();
    (staff, token)
}

/// Creates a FAQ through the editor; returns its id.
async fn faq(staff: &TestApp, token: &str, fields: &[(&str, &str)]) -> String {
    let mut all = vec![
        ("csrf_token", token),
        ("topic", "anagrafe"),
        ("position", "0"),
    ];
    all.extend_from_slice(fields);
    let saved = staff.post_urlencoded("/ufficio/faq", &all).await;
    saved.assert_status(StatusCode::SEE_OTHER);
    sqlx::query_scalar("SELECT id FROM faqs ORDER BY updated_at DESC, id LIMIT 1")
        .fetch_one(&staff.pool)
        .await
        .unwrap()
}

/// Saves a published version of the FAQ `id` through its editor, over `revision`.
async fn save_faq(
    staff: &TestApp,
    token: &str,
    id: &str,
    revision: &str,
    position: &str,
    question: &str,
    answer: &str,
) -> TestResponse {
    let mut fields = vec![
        ("csrf_token", token),
        ("revision", revision),
        ("topic", "anagrafe"),
        ("position", position),
    ];
    fields.extend(published(question, answer));
    staff
        .post_urlencoded(&format!("/ufficio/faq/{id}"), &fields)
        .await
}

fn published<'a>(question: &'a str, answer: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("question_it", question),
        ("answer_it", answer),
        ("published", "1"),
    ]
}

/// Publishes a FAQ (question, answer) through the editor; returns its id.
async fn publish(staff: &TestApp, token: &str, question: &str, answer: &str) -> String {
    faq(staff, token, &published(question, answer)).await
}

/// Signs in an URP operator and publishes a FAQ; returns their browser, token and the FAQ's id.
async fn urp_with_faq(app: &TestApp, question: &str, answer: &str) -> (TestApp, String, String) {
    let (staff, token) = urp(app).await;
    let id = publish(&staff, &token, question, answer).await;
    (staff, token, id)
}

/// Signs in an URP operator and publishes these FAQs (question, answer), in order.
async fn urp_publishing(app: &TestApp, faqs: &[(&str, &str)]) {
    let (staff, token) = urp(app).await;
    for (question, answer) in faqs {
        publish(&staff, &token, question, answer).await;
    }
}

/// The questions of a search's results, in order (marks removed).
async fn results(app: &TestApp, query: &str) -> Vec<String> {
    let page = app.get(&format!("/faq/cerca?q={}", urlencode(query))).await;
    assert_eq!(page.status, StatusCode::OK);
    let text = page.text();
    let Some(list) = text.split("id=\"results\"").nth(1) else {
        return Vec::new();
    };
    list.split("<li")
        .skip(1)
        .filter_map(|item| item.split("<a href=\"/faq/").nth(1))
        .map(|link| {
            let inner = link
                .split_once('>')
                .unwrap()
                .1
                .split("</a>")
                .next()
                .unwrap();
            crate::support::unescape(&crate::support::strip_tags(inner))
        })
        .collect()
}

#[tokio::test]
async fn search_understands_italian_inflections_derivations_and_accents() {
    let app = TestApp::start().await;
    urp_publishing(
        &app,
        &[
            (
                "Come ottengo un certificato di residenza?",
                "Dall'anagrafe nazionale con SPID.",
            ),
            (
                "Chi rilascia la certificazione energetica?",
                "Un tecnico abilitato.",
            ),
            ("Perché la TARI è aumentata?", "Per i costi del servizio."),
            ("Dove si paga il parcheggio?", "Ai parcometri."),
        ],
    )
    .await;

    let found = results(&app, "certificati").await;
    for question in [
        "Come ottengo un certificato di residenza?",
        "Chi rilascia la certificazione energetica?",
    ] {
        assert!(found.contains(&question.to_string()), "{found:?}");
    }
    assert!(!found.iter().any(|q| q.contains("parcheggio")));
    assert_eq!(
        results(&app, "perche tari").await,
        ["Perché la TARI è aumentata?"]
    );
    assert_eq!(
        results(&app, "PERCHÉ Tari").await,
        ["Perché la TARI è aumentata?"]
    );
    assert!(
        results(&app, "come e perché").await.is_empty(),
        "stop words alone find nothing"
    );

    let page = app.get("/faq/cerca?q=certificati").await.text();
    assert!(
        page.contains("<mark>certificato</mark>"),
        "matches are highlighted"
    );
}

/// Two FAQs: one says "passaporto" in its answer, the other in its question.
const PASSPORT: &[(&str, &str)] = &[
    (
        "Orari degli uffici",
        "Per il passaporto rivolgiti alla Questura.",
    ),
    (
        "Come chiedo il passaporto?",
        "Alla Questura, con appuntamento.",
    ),
];

#[tokio::test]
async fn a_match_in_the_question_ranks_above_one_in_the_answer() {
    let app = TestApp::start().await;
    urp_publishing(&app, PASSPORT).await;
    assert_eq!(
        results(&app, "passaporto").await,
        ["Come chiedo il passaporto?", "Orari degli uffici"]
    );
}

#[tokio::test]
async fn only_published_faqs_are_public() {
    let app = TestApp::start().await;
    let (staff, token) = urp(&app).await;
    let draft = faq(
        &staff,
        &token,
        &[
            ("question_it", "Bozza sul passaporto"),
            ("answer_it", "Da scrivere."),
        ],
    )
    .await;
    assert_eq!(
        app.get(&format!("/faq/{draft}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(results(&app, "passaporto").await.is_empty());
    assert!(!app
        .get("/faq")
        .await
        .text()
        .contains("Bozza sul passaporto"));
    assert!(staff
        .get("/ufficio/faq")
        .await
        .text()
        .contains("Bozza sul passaporto"));

    let editor = staff.get(&format!("/ufficio/faq/{draft}")).await;
    let revision = editor.input_value("revision").unwrap();
    let published = save_faq(
        &staff,
        &token,
        &draft,
        &revision,
        "1",
        "Come chiedo il passaporto?",
        "Alla **Questura**.",
    )
    .await;
    assert_eq!(published.status, StatusCode::SEE_OTHER);
    let page = app.get(&format!("/faq/{draft}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text().contains("<strong>Questura</strong>"),
        "safe formatting"
    );
    assert_eq!(
        results(&app, "passaporto").await,
        ["Come chiedo il passaporto?"]
    );
}

#[tokio::test]
async fn answers_are_formatted_safely_never_as_html() {
    let app = TestApp::start().await;
    let (_, _, id) = urp_with_faq(&app, "Formattazione", "Vedi [qui](javascript:alert(1)) e [il sito](https://comune.example.it).\n\n- <script>alert(2)</script>\n- *fine*").await;
    let page = app.get(&format!("/faq/{id}")).await.text();
    assert!(!page.contains("<script>alert"), "no raw HTML");
    assert!(page.contains("&lt;script&gt;"));
    assert!(!page.contains("href=\"javascript:"));
    assert!(page.contains("<a href=\"https://comune.example.it\">il sito</a>"));
    assert!(page.contains("<li><em>fine</em></li>"));
}

#[tokio::test]
async fn an_answer_in_one_language_is_shown_in_the_other_marked_with_its_language() {
    let app = TestApp::start().await;
    let (_, _, id) = urp_with_faq(&app, "Come chiedo il passaporto?", "Alla Questura.").await;
    let english = app
        .send(
            axum::http::Request::get(format!("/faq/{id}"))
                .header("cookie", "sportello_lang=en")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(english.status, StatusCode::OK);
    assert!(
        english.text().contains("<article lang=\"it\">"),
        "the Italian text, marked as such"
    );
}

async fn vote(app: &TestApp, id: &str, fields: &[(&str, &str)]) -> TestResponse {
    let token = app
        .get(&format!("/faq/{id}"))
        .await
        .input_value("csrf_token")
        .unwrap();
    let mut all = vec![("csrf_token", token.as_str())];
    all.extend_from_slice(fields);
    app.post_urlencoded(&format!("/faq/{id}/voto"), &all).await
}

#[tokio::test]
async fn votes_are_counted_for_staff_with_their_comments() {
    let app = TestApp::start().await;
    let (staff, _, id) = urp_with_faq(&app, "Come chiedo il passaporto?", "Alla Questura.").await;
    let yes = vote(&app, &id, &[("useful", "yes"), ("comment", "Chiarissimo")]).await;
    assert_eq!(yes.status, StatusCode::SEE_OTHER);
    assert!(app
        .get(&yes.header("location").unwrap())
        .await
        .element_text("vote-thanks")
        .is_some());
    vote(&app, &id, &[("useful", "no")]).await;
    vote(&app, &id, &[("useful", "yes")]).await;
    let none = vote(&app, &id, &[("comment", "senza scelta")]).await;
    assert_eq!(none.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(none.text().contains("Scegli Sì o No."));
    assert!(
        none.text().contains(">senza scelta</textarea>"),
        "the comment is kept"
    );
    let forged = app
        .post_urlencoded(
            &format!("/faq/{id}/voto"),
            &[("csrf_token", "x"), ("useful", "yes")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let list = staff.get("/ufficio/faq").await.text();
    assert!(list.contains("2 sì · 1 no"), "{list}");
    assert!(staff
        .get(&format!("/ufficio/faq/{id}/storia"))
        .await
        .text()
        .contains("Chiarissimo"));
}

#[tokio::test]
async fn a_suggestion_opened_without_sending_the_form_counts_as_answered_by_the_faq() {
    let app = TestApp::start().await;
    let (staff, _, id) = urp_with_faq(
        &app,
        "Come rinnovo la carta d'identità?",
        "Con appuntamento.",
    )
    .await;
    let suggested = app
        .get("/faq/suggerimenti?q=rinnovo%20carta%20identita")
        .await;
    assert!(suggested.text().contains(&format!("data-faq=\"{id}\"")));

    let open = |app: &TestApp| {
        let app = app.browser();
        let id = id.clone();
        async move {
            let form = app.get("/segnalazioni/nuova").await;
            let csrf = form.input_value("csrf_token").unwrap();
            let session = form.input_value("form_session").unwrap();
            let opened = app
                .post_urlencoded(
                    "/faq/aperture",
                    &[
                        ("csrf_token", &csrf),
                        ("form_session", &session),
                        ("faq", &id),
                    ],
                )
                .await;
            assert_eq!(opened.status, StatusCode::NO_CONTENT);
            (app, session)
        }
    };
    // One citizen reads the FAQ and goes away; another reads it and sends the form anyway.
    let (_gone, _) = open(&app).await;
    let (sender, session) = open(&app).await;
    let receipt = sender
        .file(complaint("Carta d'identità").text("form_session", &session))
        .await;
    assert!(!receipt.reference.is_empty());

    let before = staff
        .get("/ufficio/faq")
        .await
        .element_text("deflected")
        .unwrap();
    assert!(
        before.ends_with(": 0"),
        "not before the grace hour: {before}"
    );
    app.app.clock.advance(chrono::Duration::hours(2));
    // Two hours later the morning's session has ended: a colleague looks.
    let colleague = staff_browser(&app, "Vera Urp", &[Role::UrpManager], &[]).await;
    let after = colleague
        .get("/ufficio/faq")
        .await
        .element_text("deflected")
        .unwrap();
    assert!(after.ends_with(": 1"), "{after}");
    let forged = app
        .post_urlencoded(
            "/faq/aperture",
            &[("csrf_token", "x"), ("form_session", "y"), ("faq", &id)],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let form = app.get("/segnalazioni/nuova").await;
    let unknown = app
        .post_urlencoded(
            "/faq/aperture",
            &[
                ("csrf_token", &form.input_value("csrf_token").unwrap()),
                ("form_session", &form.input_value("form_session").unwrap()),
                ("faq", "00000000-0000-0000-0000-000000000000"),
            ],
        )
        .await;
    assert_eq!(
        unknown.status,
        StatusCode::NOT_FOUND,
        "only a FAQ one can open counts"
    );
}

#[tokio::test]
async fn every_change_is_kept_and_a_stale_editor_does_not_overwrite() {
    let app = TestApp::start().await;
    let (staff, token, id) = urp_with_faq(&app, "Prima domanda", "Prima risposta.").await;
    let save = |revision: &'static str, answer: &'static str| {
        save_faq(&staff, &token, &id, revision, "0", "Prima domanda", answer)
    };
    assert_eq!(
        save("1", "Seconda risposta.").await.status,
        StatusCode::SEE_OTHER
    );
    let stale = save("1", "Risposta di chi non ha ricaricato.").await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    let history = staff.get(&format!("/ufficio/faq/{id}/storia")).await.text();
    assert!(history.contains("Versione 2") && history.contains("Versione 1"));
    assert!(history.contains("Prima risposta.") && history.contains("Seconda risposta."));
    assert!(history.contains("Ugo Urp"), "who changed it");
    assert!(!history.contains("chi non ha ricaricato"));
}

#[tokio::test]
async fn the_editor_checks_what_was_typed_and_keeps_it() {
    let app = TestApp::start().await;
    let (staff, token) = urp(&app).await;
    let page = staff
        .post_urlencoded(
            "/ufficio/faq",
            &[
                ("csrf_token", &token),
                ("topic", "nessuno"),
                ("position", "x"),
                ("question_it", "Solo la domanda"),
                ("answer_it", ""),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    let text = page.text();
    assert!(text.contains("Scegli un argomento."));
    assert!(text.contains("Scrivi la risposta a questa domanda."));
    assert!(text.contains("aria-describedby=\"answer_it-error-"));
    assert_eq!(page.input_value("question_it").unwrap(), "Solo la domanda");
    let department = app.add_department("Anagrafe").await;
    let referent = staff_browser(&app, "Rita Referente", &[Role::Referent], &[department]).await;
    assert_eq!(
        referent.get("/ufficio/faq").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn one_click_makes_a_draft_faq_from_an_answer_without_the_citizens_data() {
    let app = TestApp::start().await;
    let (staff, token) = urp(&app).await;
    let receipt = app
        .file(
            complaint("Orari della biblioteca")
                .text("first_name", "Maria")
                .text("last_name", "Rossi"),
        )
        .await;
    let id = app.aggregate_id(&receipt.reference).await;
    let answered = staff
        .act(
            &id,
            "rispondi",
            &[(
                "message",
                "Gentile Maria Rossi, la biblioteca è aperta dalle 9 alle 18. Per informazioni scriva a maria.rossi@example.it.",
            )],
        )
        .await;
    answered.assert_status(StatusCode::SEE_OTHER);
    let page = staff.get(&format!("/ufficio/richieste/{id}")).await;
    let staff_token = page.input_value("csrf_token").unwrap();
    let made = staff
        .post_urlencoded(
            &format!("/ufficio/richieste/{id}/faq"),
            &[("csrf_token", &staff_token)],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER);
    let editor = staff.get(&made.header("location").unwrap()).await;
    let answer = editor.text();
    let answer = answer
        .split("id=\"answer_it\"")
        .nth(1)
        .unwrap()
        .split("</textarea>")
        .next()
        .unwrap();
    assert!(
        answer.contains("la biblioteca è aperta dalle 9 alle 18"),
        "{answer}"
    );
    assert!(
        !answer.contains("Maria") && !answer.contains("Rossi") && !answer.contains("@"),
        "{answer}"
    );
    assert!(editor.text().contains("Bozza non pubblicata"));
    assert!(
        results(&app, "biblioteca").await.is_empty(),
        "a draft until someone publishes it"
    );
    let _ = token;
}

#[tokio::test]
async fn the_missing_faqs_view_shows_topics_and_words_without_answers() {
    let app = TestApp::start().await;
    let (staff, _) = urp(&app).await;
    for _ in 0..3 {
        app.file(complaint("Lampione spento in via Roma")).await;
    }
    app.settle().await;
    let page = staff.get("/ufficio/faq/mancanti").await;
    assert_eq!(page.status, StatusCode::OK);
    let text = page.text();
    assert!(text.contains("Lavori pubblici"), "{text}");
    assert!(text.contains("lampione (3)"), "{text}");
}

fn pdf(title: &str) -> Vec<u8> {
    format!("%PDF-1.4\n% {title}\ntrailer <<>>\n%%EOF\n").into_bytes()
}

async fn upload(
    staff: &TestApp,
    token: &str,
    title: &str,
    name: &str,
    bytes: Vec<u8>,
    published: bool,
) -> TestResponse {
    let mut form = Multipart::new()
        .text("csrf_token", token)
        .text("title", title)
        .text(
            "description",
            "Il modulo da compilare e consegnare all'ufficio.",
        )
        .text("topic", "anagrafe")
        .text("language", "it");
    if published {
        form = form.text("published", "1");
    }
    let (content_type, body) = form
        .file("attachments", name, "application/pdf", bytes)
        .encode();
    staff
        .post_multipart("/ufficio/documenti", content_type, body)
        .await
}

const RESIDENCE_FORM: &str = "Modulo cambio di residenza";

/// Uploads `pdf(stem)` as "{stem}.pdf" with this title.
async fn upload_pdf(
    staff: &TestApp,
    token: &str,
    title: &str,
    stem: &str,
    published: bool,
) -> TestResponse {
    upload(
        staff,
        token,
        title,
        &format!("{stem}.pdf"),
        pdf(stem),
        published,
    )
    .await
}

#[tokio::test]
async fn documents_are_accepted_by_content_listed_searched_and_downloaded_safely() {
    let app = TestApp::start().await;
    let (staff, token) = urp(&app).await;
    let saved = upload_pdf(&staff, &token, RESIDENCE_FORM, "residenza", true).await;
    saved.assert_status(StatusCode::SEE_OTHER);
    let refused = upload(
        &staff,
        &token,
        "Non un PDF",
        "finto.pdf",
        b"<html>no</html>".to_vec(),
        true,
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().contains("Sono accettati solo documenti PDF"));
    assert_eq!(refused.input_value("title").unwrap(), "Non un PDF");
    upload_pdf(&staff, &token, "Bozza interna", "bozza", false).await;

    let list = app.get("/documenti").await.text();
    assert!(list.contains("Modulo cambio di residenza"));
    assert!(
        !list.contains("Bozza interna"),
        "unpublished documents are not public"
    );
    let searched = app.get("/documenti?q=residenze").await.text();
    assert!(
        searched.contains("Modulo cambio di residenza"),
        "the search stems too"
    );
    let id: String =
        sqlx::query_scalar("SELECT id FROM documents WHERE title = 'Modulo cambio di residenza'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let download = app.get(&format!("/documenti/{id}/scarica")).await;
    assert_eq!(download.status, StatusCode::OK);
    download.assert_attachment("application/pdf", "attachment");
    assert_eq!(download.bytes, pdf("residenza"));
    let hidden: String =
        sqlx::query_scalar("SELECT id FROM documents WHERE title = 'Bozza interna'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        app.get(&format!("/documenti/{hidden}/scarica"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_library_document_attached_to_an_answer_reaches_the_citizen_by_e_mail() {
    let smtp = SmtpServer::start().await;
    let app = TestApp::with_mail(&smtp).await;
    let (staff, token) = urp(&app).await;
    upload_pdf(&staff, &token, RESIDENCE_FORM, "residenza", true).await;
    let document: String = sqlx::query_scalar("SELECT id FROM documents LIMIT 1")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let (receipt, id) = app.file_request(complaint("Cambio di residenza")).await;
    let page = staff.get(&format!("/ufficio/richieste/{id}")).await;
    assert!(
        page.text().contains(&format!("value=\"{document}\"")),
        "offered on the answer form"
    );
    let (csrf, version) = staff.action_form(&id, "rispondi").await;
    let (content_type, body) = Multipart::new()
        .text("csrf_token", &csrf)
        .text("version", &version)
        .text("message", "Le inviamo il modulo da compilare.")
        .text("documents", &document)
        .encode();
    let answered = staff
        .post_multipart(
            &format!("/ufficio/richieste/{id}/rispondi"),
            content_type,
            body,
        )
        .await;
    answered.assert_status(StatusCode::SEE_OTHER);
    app.settle().await;
    let mails = smtp.wait_for(2, Duration::from_secs(5)).await;
    let answer = mails
        .iter()
        .map(parse)
        .find(|m| m.subject.contains("la risposta"))
        .expect("the answer's mail");
    let raw = String::from_utf8_lossy(
        &mails
            .iter()
            .find(|m| parse(m).subject.contains("la risposta"))
            .unwrap()
            .data,
    )
    .to_string();
    assert!(
        raw.contains("residenza.pdf"),
        "the document is attached: {}",
        answer.subject
    );
    // And on the tracking page, as a download under the answer.
    let tracking = app.get(&format!("/segui/{}", receipt.token)).await.text();
    assert!(tracking.contains("residenza.pdf"));
}

#[tokio::test]
async fn another_server_copy_finds_a_faq_at_its_next_search_after_a_save() {
    let app = TestApp::start().await;
    let other_copy = TestApp::on_database(app.database_url.clone(), Options::default()).await;
    assert!(
        results(&other_copy, "passaporto").await.is_empty(),
        "its index is built now"
    );
    let (staff, token) = urp(&app).await;
    publish(&staff, &token, "Come chiedo il passaporto?", "In Questura.").await;
    assert_eq!(
        results(&other_copy, "passaporto").await,
        ["Come chiedo il passaporto?"],
        "the save's generation tells the other copy to rebuild"
    );
}
