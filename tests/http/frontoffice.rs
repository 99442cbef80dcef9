//! The front office: finding or registering a citizen, entering a request on their behalf with
//! the same reference sequence and acknowledgement as the web, the receipt (page and PDF), and
//! the citizen's requests shown at the counter.

use std::time::Duration;

use axum::http::StatusCode;
use sportello_server::staff::Role;

use crate::support::multipart::Multipart;
use crate::support::smtp::{parse, SmtpServer};
use crate::support::{complaint, TestApp, TestResponse};

async fn front_office(app: &TestApp) -> String {
    let (email, password) = app
        .add_staff("Franco Sportello", &[Role::FrontOffice], &[])
        .await;
    app.signed_in_as(&email, &password).await;
    app.get("/ufficio/sportello")
        .await
        .input_value("csrf_token")
        .expect("the front office's forms carry the session's token")
}

/// Registers a citizen at the counter; returns their id.
async fn register(app: &TestApp, token: &str, fields: &[(&str, &str)]) -> String {
    let mut all = vec![("csrf_token", token)];
    all.extend_from_slice(fields);
    let response = app
        .post_urlencoded("/ufficio/sportello/cittadini", &all)
        .await;
    response.assert_status(StatusCode::SEE_OTHER);
    last_segment(&response)
}

/// The last segment of the path a response redirects to (an id).
fn last_segment(response: &TestResponse) -> String {
    let location = response.header("location").unwrap();
    location.rsplit('/').next().unwrap().to_string()
}

/// Ada Neri, who has no e-mail address.
const ADA: &[(&str, &str)] = &[("first_name", "Ada"), ("last_name", "Neri")];

/// Signs in at the counter and registers Ada with `more` details; returns the session's token
/// and her id.
async fn counter_with_ada(app: &TestApp, more: &[(&str, &str)]) -> (String, String) {
    let token = front_office(app).await;
    let mut fields = ADA.to_vec();
    fields.extend_from_slice(more);
    let citizen = register(app, &token, &fields).await;
    (token, citizen)
}

/// The page's text from the element with this id on.
fn from_element(page: &TestResponse, id: &str) -> String {
    page.text()
        .split(&format!("id=\"{id}\""))
        .nth(1)
        .unwrap()
        .to_string()
}

fn entry(token: &str, contact: &str) -> Multipart {
    Multipart::new()
        .text("csrf_token", token)
        .text("channel", "counter")
        .text("identity_checked", "yes")
        .text("contact", contact)
        .text("kind", "complaint")
        .text("topic", "lavori-pubblici")
        .text("subject", "Marciapiede rotto")
        .text(
            "description",
            "Il marciapiede davanti al civico 3 è rotto da mesi.",
        )
}

async fn enter(app: &TestApp, citizen: &str, form: Multipart) -> TestResponse {
    let (content_type, body) = form.encode();
    app.send(
        axum::http::Request::post(format!("/ufficio/sportello/cittadini/{citizen}/nuova"))
            .header(axum::http::header::CONTENT_TYPE, content_type)
            .body(axum::body::Body::from(body))
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn a_citizen_is_found_by_name_email_phone_or_fiscal_code() {
    let app = TestApp::start().await;
    let token = front_office(&app).await;
    register(
        &app,
        &token,
        &[
            ("first_name", "Giuseppe"),
            ("last_name", "Verdi"),
            ("email", "g.verdi@example.it"),
            ("phone", "+39 0521 123456"),
            ("fiscal_code", "vrdgpp80a01g337x"),
        ],
    )
    .await;
    for query in [
        "Verdi",
        "verd gius",
        "G.Verdi@example.it",
        "+39 0521 123456",
        "VRDGPP80A01G337X",
    ] {
        let page = app
            .get(&format!(
                "/ufficio/sportello?q={}",
                crate::support::urlencode(query)
            ))
            .await;
        assert!(
            page.element_text("results")
                .unwrap()
                .contains("Verdi Giuseppe"),
            "{query}"
        );
    }
    let none = app.get("/ufficio/sportello?q=Bianchi").await;
    assert!(!none.element_text("results").unwrap().contains("Verdi"));
}

#[tokio::test]
async fn registering_a_citizen_checks_what_was_typed_and_keeps_it() {
    let app = TestApp::start().await;
    let token = front_office(&app).await;
    let response = app
        .post_urlencoded(
            "/ufficio/sportello/cittadini",
            &[
                ("csrf_token", &token),
                ("first_name", "Anna"),
                ("last_name", ""),
                ("fiscal_code", "ABC"),
                ("email", "non-una-mail"),
            ],
        )
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(response.input_value("first_name").unwrap(), "Anna");
    let text = response.text();
    assert!(text.contains("Il codice fiscale ha 16 caratteri"));
    assert!(
        text.contains("aria-describedby=\"last_name-error-"),
        "errors are tied to their fields"
    );
    let forged = app
        .post_urlencoded(
            "/ufficio/sportello/cittadini",
            &[("csrf_token", "x"), ("first_name", "A"), ("last_name", "B")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_request_entered_at_the_counter_shares_the_sequence_and_is_acknowledged_by_its_receipt() {
    let smtp = SmtpServer::start().await;
    let app = TestApp::with_mail(&smtp).await;
    let web = app.file(complaint("Dal web")).await;
    let (token, citizen) = counter_with_ada(&app, &[]).await;
    let response = enter(&app, &citizen, entry(&token, "paper")).await;
    response.assert_status(StatusCode::SEE_OTHER);
    let receipt_path = response.header("location").unwrap();
    let receipt = app.get(&receipt_path).await;
    assert_eq!(receipt.status, StatusCode::OK);
    let reference = receipt.element_text("reference").unwrap();
    let (year, number) = web.reference.split_once('/').unwrap();
    let next: u32 = number.parse::<u32>().unwrap() + 1;
    assert_eq!(
        reference,
        format!("{year}/{next:07}"),
        "one sequence for every channel"
    );
    assert!(receipt.element_text("deadline").unwrap().contains("2026"));
    assert!(receipt.element_text("identity").is_some());
    assert!(
        receipt.text().contains("<svg"),
        "the QR code is on the page"
    );
    let link = receipt.element_text("tracking-link").unwrap();
    let path = link
        .strip_prefix("https://urp.comune.test")
        .unwrap()
        .to_string();
    app.forget_cookies();
    let followed = app.get(&path).await;
    assert_eq!(
        followed.status,
        StatusCode::OK,
        "the receipt's link is the private tracking link"
    );
    assert!(followed.text().contains("Marciapiede rotto"));
    let events = app.event_types(&reference).await;
    assert_eq!(
        events,
        ["RequestReceived", "RequestAcknowledged"],
        "paper: acknowledged by the receipt"
    );
    let id = receipt_path.rsplit('/').next().unwrap();
    let payload: serde_json::Value =
        sqlx::query_scalar("SELECT payload FROM events WHERE aggregate_id = ? AND sequence = 1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let received = &payload["RequestReceived"];
    assert_eq!(received["channel"], "counter");
    assert_eq!(received["filed_by"]["citizen"], citizen.as_str());
    assert_eq!(received["filed_by"]["identity_checked"], true);
    assert_eq!(received["filed_by"]["paper_only"], true);
    app.settle().await;
    let mails = smtp.wait_for(1, Duration::from_secs(3)).await;
    assert_eq!(
        mails.len(),
        1,
        "only the web request's acknowledgement: paper gets no e-mail"
    );
}

#[tokio::test]
async fn with_e_mail_the_citizen_gets_the_acknowledgement() {
    let smtp = SmtpServer::start().await;
    let app = TestApp::with_mail(&smtp).await;
    let (token, citizen) = counter_with_ada(&app, &[("email", "ada.neri@example.it")]).await;
    let response = enter(&app, &citizen, entry(&token, "email")).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    app.settle().await;
    let mails = smtp.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(mails[0].to, ["ada.neri@example.it"]);
    assert!(parse(&mails[0]).subject.contains("ricevuta"));
}

#[tokio::test]
async fn someone_without_e_mail_must_get_paper_and_mistakes_keep_what_was_typed() {
    let app = TestApp::start().await;
    let (token, citizen) = counter_with_ada(&app, &[]).await;
    let response = enter(&app, &citizen, entry(&token, "email").first("subject", "")).await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    let text = response.text();
    assert!(text.contains("Il cittadino non ha un indirizzo e-mail"));
    assert!(text.contains("Marciapiede davanti") || text.contains("Il marciapiede davanti"));
    assert_eq!(app.count_events().await, 0);
}

#[tokio::test]
async fn the_receipt_is_a_pdf_too() {
    let app = TestApp::start().await;
    let (token, citizen) = counter_with_ada(&app, &[]).await;
    let response = enter(&app, &citizen, entry(&token, "paper")).await;
    let receipt_path = response.header("location").unwrap();
    let reference = app
        .get(&receipt_path)
        .await
        .element_text("reference")
        .unwrap();
    let pdf = app.get(&format!("{receipt_path}/pdf")).await;
    assert_eq!(pdf.status, StatusCode::OK);
    pdf.assert_attachment("application/pdf", "attachment");
    let bytes = pdf.bytes.clone();
    assert!(bytes.starts_with(b"%PDF-1.4"));
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        text.contains(&reference),
        "the reference is written in the PDF"
    );
    assert!(text.contains("Marciapiede rotto"));
    assert!(text.contains("/segui/"), "with the tracking link");
}

#[tokio::test]
async fn the_counter_shows_a_citizens_requests_with_their_state_and_answers() {
    let app = TestApp::start().await;
    let (token, citizen) = counter_with_ada(&app, &[]).await;
    let response = enter(&app, &citizen, entry(&token, "paper")).await;
    let id = last_segment(&response);
    let page = app
        .get(&format!("/ufficio/sportello/cittadini/{citizen}"))
        .await;
    let listed = from_element(&page, "requests");
    assert!(
        listed.contains("Ricevuta, in attesa di valutazione"),
        "{listed}"
    );
    assert!(
        listed.contains("/ufficio/sportello/ricevute/"),
        "with the receipt to print again"
    );
    let request = app
        .get(&format!(
            "/ufficio/sportello/cittadini/{citizen}/richieste/{id}"
        ))
        .await;
    assert_eq!(request.status, StatusCode::OK);
    // Only as the request of the citizen being served.
    let stranger = register(
        &app,
        &token,
        &[("first_name", "Elio"), ("last_name", "Verdi")],
    )
    .await;
    assert_eq!(
        app.get(&format!(
            "/ufficio/sportello/cittadini/{stranger}/richieste/{id}"
        ))
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    let history = from_element(&request, "history");
    assert!(history.contains("Richiesta ricevuta"), "{history}");
    assert!(
        history.contains("Ricevuta consegnata allo sportello"),
        "paper: acknowledged by the receipt, not by e-mail"
    );
}

#[tokio::test]
async fn only_the_front_office_and_the_urp_use_the_counter() {
    let app = TestApp::start().await;
    let department = app.add_department("Lavori pubblici").await;
    let (email, password) = app
        .add_staff("Rita Referente", &[Role::Referent], &[department])
        .await;
    app.signed_in_as(&email, &password).await;
    for path in [
        "/ufficio/sportello",
        "/ufficio/sportello/cittadini/00000000-0000-0000-0000-000000000000",
    ] {
        assert_eq!(app.get(path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
    app.forget_cookies();
    let anonymous = app.get("/ufficio/sportello").await;
    assert_eq!(
        anonymous.status,
        StatusCode::SEE_OTHER,
        "strangers are asked to sign in"
    );
}

#[tokio::test]
async fn the_receipt_is_reprinted_only_by_its_operator_or_the_urp() {
    let app = TestApp::start().await;
    let (token, citizen) = counter_with_ada(&app, &[]).await;
    let receipt = enter(&app, &citizen, entry(&token, "paper"))
        .await
        .header("location")
        .unwrap();
    assert_eq!(app.get(&receipt).await.status, StatusCode::OK);
    let (email, password) = app
        .add_staff("Carla Collega", &[Role::FrontOffice], &[])
        .await;
    let colleague = app.browser();
    colleague.signed_in_as(&email, &password).await;
    assert_eq!(colleague.get(&receipt).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        colleague.get(&format!("{receipt}/pdf")).await.status,
        StatusCode::NOT_FOUND,
        "the receipt carries the private link: not for every colleague"
    );
    let (urp, secret) = app.add_staff("Ugo Urp", &[Role::UrpOperator], &[]).await;
    let office = app.browser();
    office.signed_in_as(&urp, &secret).await;
    assert_eq!(office.get(&receipt).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_citizen_who_asks_at_the_counter_is_erased_with_their_requests() {
    let app = TestApp::start().await;
    let (token, citizen) = counter_with_ada(&app, &[("fiscal_code", "NRADAA80A41H501Z")]).await;
    let receipt = enter(&app, &citizen, entry(&token, "paper"))
        .await
        .header("location")
        .unwrap();
    let id = receipt.rsplit('/').next().unwrap().to_string();
    let unconfirmed = app
        .post_urlencoded(
            &format!("/ufficio/sportello/cittadini/{citizen}/cancella"),
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(unconfirmed.status, StatusCode::SEE_OTHER);
    let again = app.get(&unconfirmed.header("location").unwrap()).await;
    assert!(again
        .text()
        .contains("Conferma che il cittadino lo ha chiesto."));
    assert_eq!(
        app.count_events().await,
        2,
        "nothing erased without the confirmation"
    );
    let erased = app
        .post_urlencoded(
            &format!("/ufficio/sportello/cittadini/{citizen}/cancella"),
            &[("csrf_token", &token), ("confirm", "yes")],
        )
        .await;
    assert_eq!(erased.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.get(&format!("/ufficio/sportello/cittadini/{citizen}"))
            .await
            .status,
        StatusCode::NOT_FOUND,
        "the record is gone"
    );
    let found = app.get("/ufficio/sportello?q=Neri").await;
    assert!(!found.text().contains("NRADAA80A41H501Z"));
    let events = app.event_types(&app.reference_of(&id).await).await;
    assert_eq!(
        events.last().map(String::as_str),
        Some("PersonalDataErased")
    );
    assert_eq!(
        app.get(&receipt).await.status,
        StatusCode::NOT_FOUND,
        "no receipt token left"
    );
}
