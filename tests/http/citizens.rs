//! The citizen area over HTTP with a real SMTP server: accounts (verification, reset links, no
//! enumeration, throttling, sessions), "my area" and who reaches what, replies with files,
//! reopening, rating, drafts, the data download, erasure surviving a rebuild, retention.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use chrono::Duration;
use serde_json::Value;
use sportello_domain::ErasureReason;
use sportello_server::citizens::data_rights::erase_request;
use sportello_server::citizens::retention;
use sportello_server::staff::Role;

use crate::support::smtp::{parse, SmtpServer};
use crate::support::{
    complaint, png, strip_tags, Multipart, Options, Receipt, TestApp, TestResponse,
    CITIZEN_PASSWORD,
};

const CITIZEN_COOKIE: &str = "__Host-sportello_citizen";
const OPERATOR: (&str, &str) = (
    "anna.operatrice@comune.test",
    "Anna Operatrice ha una password lunga",
);

async fn app_with_mail() -> (TestApp, SmtpServer) {
    let smtp = SmtpServer::start().await;
    let app = TestApp::start_with(Options {
        smtp_url: Some(smtp.url()),
        ..Default::default()
    })
    .await;
    (app, smtp)
}

/// A browser signed in as an operator of the URP (sign in again with OPERATOR after the clock
/// has moved more than half an hour).
async fn operator(app: &TestApp) -> TestApp {
    app.add_staff("Anna Operatrice", &[Role::UrpOperator], &[])
        .await;
    let staff = app.browser();
    staff.signed_in_as(OPERATOR.0, OPERATOR.1).await;
    staff
}

/// A complaint with the citizen's e-mail address.
fn complaint_from(subject: &str, email: &str) -> Multipart {
    complaint(subject)
        .text("email", email)
        .text("email_confirmation", email)
}

fn pdf(text: &str) -> Vec<u8> {
    format!("%PDF-1.4\n% {text}\ntrailer <<>>\n%%EOF\n").into_bytes()
}

/// A page's text without this browser's CSRF token, to compare two browsers' pages.
fn without_token(page: &TestResponse) -> String {
    let text = page.text();
    match page.input_value("csrf_token") {
        Some(token) => text.replace(&token, "TOKEN"),
        None => text,
    }
}

/// Checks that the error summary links to `field`, that the field points at its message and is
/// marked invalid; returns the message.
fn field_error(page: &TestResponse, field: &str) -> String {
    let text = page.text();
    assert!(
        text.contains(&format!("<a href=\"#{field}\">")),
        "the summary links to {field}"
    );
    let tag = text
        .split(&format!("id=\"{field}\""))
        .nth(1)
        .unwrap_or_else(|| panic!("a control with id {field}"))
        .split('>')
        .next()
        .unwrap();
    assert!(tag.contains("aria-invalid=\"true\""), "{field}: {tag}");
    let described = tag
        .split("aria-describedby=\"")
        .nth(1)
        .unwrap_or_else(|| panic!("{field} is described by its error: {tag}"))
        .split('"')
        .next()
        .unwrap();
    let error_id = described
        .split(' ')
        .find(|id| id.starts_with(&format!("{field}-error-")))
        .unwrap_or_else(|| panic!("{field}: {described}"));
    page.element_text(error_id)
        .unwrap_or_else(|| panic!("the element {error_id} exists"))
}

/// What "my area" lists: each request's title (reference — subject) and status, in order.
fn listed(page: &TestResponse) -> Vec<(String, String)> {
    let text = page.text();
    text.split("<li class=\"card-wrapper")
        .skip(1)
        .map(|item| {
            let title = item
                .split("<h3")
                .nth(1)
                .unwrap()
                .split("</h3>")
                .next()
                .unwrap();
            let status = item
                .split("class=\"request-status\">")
                .nth(1)
                .unwrap()
                .split('<')
                .next()
                .unwrap();
            (
                strip_tags(&format!("<h3{title}")).trim().to_string(),
                strip_tags(status),
            )
        })
        .collect()
}

/// The first link on a page whose address starts with `prefix`.
fn link_starting(page: &TestResponse, prefix: &str) -> Option<String> {
    let text = page.text();
    let after = text.split(&format!("href=\"{prefix}")).nth(1)?;
    Some(format!("{prefix}{}", after.split('"').next()?))
}

/// Sends a reply (with files) from a request's page, with the page's CSRF token.
async fn reply(
    browser: &TestApp,
    base: &str,
    message: &str,
    files: &[(&str, &str, Vec<u8>)],
) -> TestResponse {
    let csrf = browser
        .get(base)
        .await
        .input_value("csrf_token")
        .expect("the reply form has a CSRF token");
    let mut form = Multipart::new()
        .text("csrf_token", &csrf)
        .text("message", message);
    for (name, content_type, bytes) in files {
        form = form.file("attachments", name, content_type, bytes.clone());
    }
    let (content_type, body) = form.encode();
    let request = Request::post(format!("{base}/risposta"))
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap();
    browser.send(request).await
}

/// Posts one of the citizen's forms on a request's page (reopen, rate) with the page's token.
async fn post_on_page(
    browser: &TestApp,
    base: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> TestResponse {
    let csrf = browser
        .get(base)
        .await
        .input_value("csrf_token")
        .expect("the page has a CSRF token");
    let mut all = vec![("csrf_token", csrf.as_str())];
    all.extend_from_slice(fields);
    browser
        .post_urlencoded(&format!("{base}/{action}"), &all)
        .await
}

/// An administrator sets the days to reopen and the months to keep personal data ("": always).
async fn configure(app: &TestApp, reopen_days: &str, retention_months: &str) {
    let (email, password) = app
        .add_staff("Ada Amministratrice", &[Role::Administrator], &[])
        .await;
    let admin = app.browser();
    admin.signed_in_as(&email, &password).await;
    let token = admin
        .get("/ufficio/amministrazione/impostazioni")
        .await
        .input_value("csrf_token")
        .unwrap();
    let saved = admin
        .post_urlencoded(
            "/ufficio/amministrazione/impostazioni",
            &[
                ("csrf_token", &token),
                ("days_information", "30"),
                ("days_complaint", "30"),
                ("days_suggestion", "30"),
                ("days_praise", "30"),
                ("reminder_days", "10"),
                ("escalation_days", "5"),
                ("reopen_days", reopen_days),
                ("retention_months", retention_months),
                ("patron_saint", ""),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
}

/// A request filed by `citizen`, answered and closed by `staff`; returns its id.
async fn closed_request(citizen: &TestApp, staff: &TestApp, subject: &str) -> String {
    let receipt = citizen.file(complaint(subject)).await;
    let id = citizen.aggregate_id(&receipt.reference).await;
    let answered = staff
        .act(
            &id,
            "rispondi",
            &[("message", "Il lampione sarà riparato entro venerdì.")],
        )
        .await;
    assert_eq!(answered.status, StatusCode::SEE_OTHER);
    let closed = staff.act(&id, "chiudi", &[("outcome", "answered")]).await;
    assert_eq!(closed.status, StatusCode::SEE_OTHER, "{}", closed.text());
    citizen.settle().await;
    id
}

async fn count(app: &TestApp, query: &str) -> i64 {
    sqlx::query_scalar(query)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

// --- Accounts ---------------------------------------------------------------------------------

#[tokio::test]
async fn registering_mails_a_link_whose_page_confirms_the_address_and_signs_in() {
    let (app, smtp) = app_with_mail().await;
    let browser = app.browser();
    let registered = browser
        .register("Giulia", "giulia.bianchi@example.it", CITIZEN_PASSWORD)
        .await;
    assert_eq!(registered.status, StatusCode::OK);
    assert!(registered
        .element_text("message")
        .unwrap()
        .starts_with("Se l'indirizzo è corretto, ti abbiamo inviato"));

    let link = app
        .mailed_link(&smtp, "giulia.bianchi@example.it", "/area/conferma/")
        .await;
    let mail = parse(&smtp.messages()[0]);
    assert_eq!(mail.subject, "Conferma il tuo indirizzo e-mail");
    assert!(
        mail.text.contains("Gentile utente,"),
        "an unproven address is not greeted with the names someone typed"
    );

    // Not yet verified: the same answer as a wrong password for an unknown address.
    let early = browser
        .citizen_sign_in("giulia.bianchi@example.it", CITIZEN_PASSWORD)
        .await;
    let unknown = browser
        .citizen_sign_in("nessuno@example.it", "una password qualsiasi")
        .await;
    assert_eq!(early.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(early.error_summary(), unknown.error_summary());
    assert!(early.error_summary().unwrap().contains(
        "E-mail o password non corrette, oppure l'indirizzo non è ancora stato confermato."
    ));
    assert!(early
        .header("set-cookie")
        .is_none_or(|c| !c.starts_with(CITIZEN_COOKIE)));

    // Following the link only shows a button; pressing it confirms and signs in.
    let page = browser.get(&link).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains(&format!("action=\"{link}\"")));
    assert!(page.text().contains("Conferma e accedi"));
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM citizens WHERE email_verified_at IS NOT NULL"
        )
        .await,
        0,
        "a GET changes nothing"
    );
    let confirmed = browser.follow_link(&link).await;
    assert_eq!(confirmed.status, StatusCode::SEE_OTHER);
    assert_eq!(confirmed.header("location").as_deref(), Some("/area"));
    let area = browser.get("/area").await;
    assert_eq!(area.status, StatusCode::OK);
    assert!(area.text().contains("Benvenuta o benvenuto, Giulia."));
    // The link is used up; the password now works.
    assert_eq!(browser.get(&link).await.status, StatusCode::GONE);
    let other = app.browser();
    assert_eq!(
        other
            .citizen_sign_in("giulia.bianchi@example.it", CITIZEN_PASSWORD)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn registering_a_verified_address_again_answers_the_same_and_mails_its_owner_a_reset_link() {
    let (app, smtp) = app_with_mail().await;
    app.register_citizen(&smtp, "Giulia", "giulia.bianchi@example.it")
        .await;
    let mails_before = smtp.count();

    let stranger = app.browser();
    let again = stranger
        .register(
            "Intrusa",
            "giulia.bianchi@example.it",
            "la password della intrusa",
        )
        .await;
    let newcomer = app.browser();
    let fresh = newcomer
        .register("Luca", "luca.neri@example.it", "la password di luca neri")
        .await;
    assert_eq!(again.status, fresh.status);
    assert_eq!(
        without_token(&again),
        without_token(&fresh),
        "nothing tells a known address from a new one"
    );

    // The owner hears of it, with a reset link; no second confirmation link.
    let link = app
        .mailed_link(&smtp, "giulia.bianchi@example.it", "/area/password/")
        .await;
    let to_owner: Vec<_> = smtp.messages()[mails_before..]
        .iter()
        .filter(|mail| mail.to == ["giulia.bianchi@example.it"])
        .map(parse)
        .collect();
    assert_eq!(to_owner.len(), 1);
    assert_eq!(to_owner[0].subject, "Accesso allo Sportello URP");
    assert!(to_owner[0].text.contains(&link));
    // The stranger's password does nothing; the owner's still works.
    assert_eq!(
        stranger
            .citizen_sign_in("giulia.bianchi@example.it", "la password della intrusa")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        stranger
            .citizen_sign_in("giulia.bianchi@example.it", CITIZEN_PASSWORD)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn a_registration_sets_no_password_the_owner_of_the_address_chooses_it_on_the_link() {
    let (app, smtp) = app_with_mail().await;
    // Someone registers Giulia's address; then Giulia registers it herself.
    let stranger = app.browser();
    let registered = stranger
        .register("Intrusa", "giulia.bianchi@example.it", "ignored")
        .await;
    assert_eq!(registered.status, StatusCode::OK);
    let first_link = app
        .mailed_link(&smtp, "giulia.bianchi@example.it", "/area/conferma/")
        .await;
    let giulia = app.browser();
    giulia
        .register("Giulia", "giulia.bianchi@example.it", "ignored")
        .await;
    let second_link = app
        .mailed_link(&smtp, "giulia.bianchi@example.it", "/area/conferma/")
        .await;
    assert_ne!(first_link, second_link);
    assert_eq!(
        giulia.get(&first_link).await.status,
        StatusCode::GONE,
        "a new link voids the old"
    );
    // Nobody can sign in before the address's owner chooses a password on the link's page.
    assert_eq!(
        stranger
            .citizen_sign_in("giulia.bianchi@example.it", "ignored")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let page = giulia.get(&second_link).await;
    assert!(page.input_value("password").is_some() || page.text().contains("name=\"password\""));
    let token = page.input_value("csrf_token").unwrap();
    let weak = giulia
        .post_urlencoded(
            &second_link,
            &[
                ("csrf_token", &token),
                ("first_name", "Giulia"),
                ("last_name", "Bianchi"),
                ("password", "corta"),
                ("password_confirmation", "corta"),
            ],
        )
        .await;
    assert_eq!(
        weak.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the link is not used up by a mistake"
    );
    assert_eq!(weak.input_value("first_name").unwrap(), "Giulia");
    let confirmed = giulia.follow_link(&second_link).await;
    assert_eq!(
        confirmed.status,
        StatusCode::SEE_OTHER,
        "{}",
        confirmed.text()
    );
    let other = app.browser();
    assert_eq!(
        other
            .citizen_sign_in("giulia.bianchi@example.it", CITIZEN_PASSWORD)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM citizens").await, 1);
}

#[tokio::test]
async fn forgetting_the_password_answers_the_same_for_known_and_unknown_addresses() {
    let (app, smtp) = app_with_mail().await;
    app.register_citizen(&smtp, "Giulia", "giulia.bianchi@example.it")
        .await;
    let mails_before = smtp.count();
    let forgot = |email: &'static str| {
        let browser = app.browser();
        async move {
            let token = browser
                .get("/area/password-dimenticata")
                .await
                .input_value("csrf_token")
                .unwrap();
            browser
                .post_urlencoded(
                    "/area/password-dimenticata",
                    &[("csrf_token", &token), ("email", email)],
                )
                .await
        }
    };
    let known = forgot("giulia.bianchi@example.it").await;
    let unknown = forgot("nessuno@example.it").await;
    assert_eq!(known.status, StatusCode::OK);
    assert_eq!(unknown.status, StatusCode::OK);
    assert_eq!(without_token(&known), without_token(&unknown));
    assert!(known
        .element_text("message")
        .unwrap()
        .starts_with("Se l'indirizzo corrisponde a un account"));

    app.mailed_link(&smtp, "giulia.bianchi@example.it", "/area/password/")
        .await;
    let sent: Vec<_> = smtp.messages()[mails_before..]
        .iter()
        .map(|mail| mail.to.clone())
        .collect();
    assert_eq!(
        sent,
        [["giulia.bianchi@example.it"]],
        "one mail, to the owner"
    );
}

/// Asks for a reset link for `email` and returns it.
async fn reset_link(app: &TestApp, smtp: &SmtpServer, email: &str) -> String {
    let browser = app.browser();
    let token = browser
        .get("/area/password-dimenticata")
        .await
        .input_value("csrf_token")
        .unwrap();
    let sent = browser
        .post_urlencoded(
            "/area/password-dimenticata",
            &[("csrf_token", &token), ("email", email)],
        )
        .await;
    assert_eq!(sent.status, StatusCode::OK);
    app.mailed_link(smtp, email, "/area/password/").await
}

#[tokio::test]
async fn a_reset_link_works_once() {
    let (app, smtp) = app_with_mail().await;
    app.register_citizen(&smtp, "Giulia", "giulia.bianchi@example.it")
        .await;
    let link = reset_link(&app, &smtp, "giulia.bianchi@example.it").await;
    let browser = app.browser();
    let page = browser.get(&link).await;
    assert_eq!(page.status, StatusCode::OK);
    let token = page.input_value("csrf_token").unwrap();
    let chosen = browser
        .post_urlencoded(
            &link,
            &[
                ("csrf_token", &token),
                ("password", "la nuova password di giulia"),
                ("password_confirmation", "la nuova password di giulia"),
            ],
        )
        .await;
    assert_eq!(chosen.status, StatusCode::SEE_OTHER, "{}", chosen.text());
    assert_eq!(
        chosen.header("location").as_deref(),
        Some("/area?avviso=password")
    );
    assert!(browser
        .get("/area?avviso=password")
        .await
        .text()
        .contains("La password è stata cambiata."));

    // Used: neither the page nor a second POST (with a valid form token) does anything.
    assert_eq!(browser.get(&link).await.status, StatusCode::GONE);
    let again = browser
        .post_urlencoded(
            &link,
            &[
                ("csrf_token", &token),
                ("password", "una terza password lunga"),
                ("password_confirmation", "una terza password lunga"),
            ],
        )
        .await;
    assert_eq!(again.status, StatusCode::GONE);
    let other = app.browser();
    assert_eq!(
        other
            .citizen_sign_in("giulia.bianchi@example.it", "una terza password lunga")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        other
            .citizen_sign_in("giulia.bianchi@example.it", CITIZEN_PASSWORD)
            .await
            .status,
        StatusCode::UNAUTHORIZED,
        "the old password is gone"
    );
    assert_eq!(
        other
            .citizen_sign_in("giulia.bianchi@example.it", "la nuova password di giulia")
            .await
            .status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn a_reset_link_expires_after_an_hour() {
    let (app, smtp) = app_with_mail().await;
    app.register_citizen(&smtp, "Giulia", "giulia.bianchi@example.it")
        .await;
    let link = reset_link(&app, &smtp, "giulia.bianchi@example.it").await;
    let browser = app.browser();
    app.app.clock.advance(Duration::minutes(59));
    let page = browser.get(&link).await;
    assert_eq!(page.status, StatusCode::OK, "still valid");
    let token = page.input_value("csrf_token").unwrap();
    app.app.clock.advance(Duration::minutes(2));
    assert_eq!(browser.get(&link).await.status, StatusCode::GONE);
    let late = browser
        .post_urlencoded(
            &link,
            &[
                ("csrf_token", &token),
                ("password", "la nuova password di giulia"),
                ("password_confirmation", "la nuova password di giulia"),
            ],
        )
        .await;
    assert_eq!(late.status, StatusCode::GONE);
    assert_eq!(
        browser
            .citizen_sign_in("giulia.bianchi@example.it", CITIZEN_PASSWORD)
            .await
            .status,
        StatusCode::SEE_OTHER,
        "the password did not change"
    );
}

#[tokio::test]
async fn logins_are_throttled_per_account_even_with_the_right_password() {
    let (app, smtp) = app_with_mail().await;
    app.register_citizen(&smtp, "Giulia", "giulia.bianchi@example.it")
        .await;
    let browser = app.browser();
    for attempt in 0..5 {
        assert_eq!(
            browser
                .citizen_sign_in("giulia.bianchi@example.it", "una password sbagliata")
                .await
                .status,
            StatusCode::UNAUTHORIZED,
            "attempt {attempt}"
        );
    }
    let sixth = browser
        .citizen_sign_in("giulia.bianchi@example.it", CITIZEN_PASSWORD)
        .await;
    assert_eq!(sixth.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(sixth
        .header("set-cookie")
        .is_none_or(|c| !c.starts_with(CITIZEN_COOKIE)));
    browser.set_client_ip("203.0.113.77:1000");
    assert_eq!(
        browser
            .citizen_sign_in("giulia.bianchi@example.it", CITIZEN_PASSWORD)
            .await
            .status,
        StatusCode::TOO_MANY_REQUESTS,
        "the account is locked for a while, from any address"
    );
    app.app.clock.advance(Duration::minutes(16));
    assert_eq!(
        browser
            .citizen_sign_in("giulia.bianchi@example.it", CITIZEN_PASSWORD)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
}

/// GET `path` presenting only this session cookie.
async fn get_with_session(app: &TestApp, path: &str, session: &str) -> TestResponse {
    let request = Request::get(path)
        .header(header::COOKIE, format!("{CITIZEN_COOKIE}={session}"))
        .body(Body::empty())
        .unwrap();
    app.send(request).await
}

#[tokio::test]
async fn signing_in_rotates_the_session_and_signing_out_ends_it() {
    let (app, smtp) = app_with_mail().await;
    let browser = app
        .register_citizen(&smtp, "Giulia", "giulia.bianchi@example.it")
        .await;
    let first = browser.cookie(CITIZEN_COOKIE).unwrap();
    assert_eq!(
        get_with_session(&app, "/area", &first).await.status,
        StatusCode::OK
    );

    let again = browser
        .citizen_sign_in("giulia.bianchi@example.it", CITIZEN_PASSWORD)
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    let cookie = again.header("set-cookie").unwrap();
    assert!(
        cookie.starts_with(CITIZEN_COOKIE)
            && cookie.contains("HttpOnly")
            && cookie.contains("Secure")
    );
    let second = browser.cookie(CITIZEN_COOKIE).unwrap();
    assert_ne!(second, first, "a login gives a new session");
    assert_eq!(
        get_with_session(&app, "/area", &first).await.status,
        StatusCode::SEE_OTHER,
        "the old session is over"
    );
    assert_eq!(
        get_with_session(&app, "/area", &second).await.status,
        StatusCode::OK
    );

    let token = browser
        .get("/area")
        .await
        .input_value("csrf_token")
        .unwrap();
    let out = browser
        .post_urlencoded("/area/esci", &[("csrf_token", &token)])
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    let area = browser.get("/area").await;
    assert_eq!(area.status, StatusCode::SEE_OTHER);
    assert!(area
        .header("location")
        .unwrap()
        .starts_with("/area/accesso"));
    assert_eq!(
        get_with_session(&app, "/area", &second).await.status,
        StatusCode::SEE_OTHER,
        "ended on the server, not only forgotten by the browser"
    );
}

#[tokio::test]
async fn changing_the_password_signs_out_the_other_sessions() {
    let (app, smtp) = app_with_mail().await;
    let laptop = app
        .register_citizen(&smtp, "Giulia", "giulia.bianchi@example.it")
        .await;
    let phone = app.browser();
    phone
        .citizen_sign_in("giulia.bianchi@example.it", CITIZEN_PASSWORD)
        .await;
    assert_eq!(phone.get("/area").await.status, StatusCode::OK);

    let token = laptop
        .get("/area/profilo")
        .await
        .input_value("csrf_token")
        .unwrap();
    let wrong = laptop
        .post_urlencoded(
            "/area/profilo/password",
            &[
                ("csrf_token", &token),
                ("current_password", "non è la password"),
                ("password", "la nuova password di giulia"),
                ("password_confirmation", "la nuova password di giulia"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        field_error(&wrong, "current_password"),
        "La password attuale non è corretta."
    );
    assert_eq!(phone.get("/area").await.status, StatusCode::OK);

    let changed = laptop
        .post_urlencoded(
            "/area/profilo/password",
            &[
                ("csrf_token", &token),
                ("current_password", CITIZEN_PASSWORD),
                ("password", "la nuova password di giulia"),
                ("password_confirmation", "la nuova password di giulia"),
            ],
        )
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.text());
    assert_eq!(
        laptop.get("/area").await.status,
        StatusCode::OK,
        "this browser goes on"
    );
    assert_eq!(
        phone.get("/area").await.status,
        StatusCode::SEE_OTHER,
        "the other browser is signed out"
    );
    assert_eq!(
        phone
            .citizen_sign_in("giulia.bianchi@example.it", CITIZEN_PASSWORD)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        phone
            .citizen_sign_in("giulia.bianchi@example.it", "la nuova password di giulia")
            .await
            .status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn the_email_address_changes_only_once_the_link_sent_to_it_is_confirmed() {
    let (app, smtp) = app_with_mail().await;
    let browser = app
        .register_citizen(&smtp, "Giulia", "giulia.bianchi@example.it")
        .await;
    let token = browser
        .get("/area/profilo")
        .await
        .input_value("csrf_token")
        .unwrap();
    let asked = browser
        .post_urlencoded(
            "/area/profilo/email",
            &[
                ("csrf_token", &token),
                ("new_email", "giulia@nuovo.example.it"),
                ("email_password", CITIZEN_PASSWORD),
            ],
        )
        .await;
    assert_eq!(asked.status, StatusCode::SEE_OTHER, "{}", asked.text());
    assert_eq!(
        asked.header("location").as_deref(),
        Some("/area/profilo?avviso=email")
    );
    let link = app
        .mailed_link(&smtp, "giulia@nuovo.example.it", "/area/nuova-email/")
        .await;
    assert_eq!(
        parse(smtp.messages().last().unwrap()).subject,
        "Conferma il nuovo indirizzo e-mail"
    );

    // Until the link is used nothing changes.
    assert_eq!(
        browser
            .get("/area/profilo")
            .await
            .element_text("citizen-email")
            .unwrap(),
        "giulia.bianchi@example.it"
    );
    let other = app.browser();
    assert_eq!(
        other
            .citizen_sign_in("giulia@nuovo.example.it", CITIZEN_PASSWORD)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );

    let confirmed = browser.follow_link(&link).await;
    assert_eq!(confirmed.status, StatusCode::SEE_OTHER);
    assert_eq!(
        confirmed.header("location").as_deref(),
        Some("/area/profilo?avviso=email_changed")
    );
    assert_eq!(
        browser
            .get("/area/profilo")
            .await
            .element_text("citizen-email")
            .unwrap(),
        "giulia@nuovo.example.it"
    );
    assert_eq!(
        other
            .citizen_sign_in("giulia.bianchi@example.it", CITIZEN_PASSWORD)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        other
            .citizen_sign_in("giulia@nuovo.example.it", CITIZEN_PASSWORD)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn registration_errors_keep_what_was_typed_and_the_links_page_never_returns_passwords() {
    let (app, smtp) = app_with_mail().await;
    let token = app
        .get("/area/registrazione")
        .await
        .input_value("csrf_token")
        .unwrap();
    let page = app
        .post_urlencoded(
            "/area/registrazione",
            &[
                ("csrf_token", &token),
                ("first_name", "Giulia"),
                ("last_name", ""),
                ("email", "giulia-senza-chiocciola"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(page.input_value("first_name").unwrap(), "Giulia");
    assert_eq!(
        page.input_value("email").unwrap(),
        "giulia-senza-chiocciola"
    );
    assert!(!field_error(&page, "last_name").is_empty());
    assert!(!field_error(&page, "email").is_empty());
    assert!(!field_error(&page, "privacy").is_empty());
    assert_eq!(count(&app, "SELECT COUNT(*) FROM citizens").await, 0);
    app.settle().await;
    assert_eq!(smtp.count(), 0);

    // On the link's page: a weak or mismatched password keeps the names, never the passwords.
    let browser = app.browser();
    browser
        .register("Giulia", "giulia.bianchi@example.it", "unused")
        .await;
    let link = app
        .mailed_link(&smtp, "giulia.bianchi@example.it", "/area/conferma/")
        .await;
    let token = browser.get(&link).await.input_value("csrf_token").unwrap();
    let choose = |password: &'static str, again: &'static str| {
        let (browser, link, token) = (&browser, &link, &token);
        async move {
            browser
                .post_urlencoded(
                    link,
                    &[
                        ("csrf_token", token),
                        ("first_name", "Giulia"),
                        ("last_name", "Bianchi"),
                        ("password", password),
                        ("password_confirmation", again),
                    ],
                )
                .await
        }
    };
    let weak = choose("segreta", "segreta").await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        !weak.text().contains("segreta"),
        "passwords are never sent back"
    );
    assert_eq!(
        field_error(&weak, "password"),
        "La password deve avere almeno 12 caratteri e non essere fatta di un solo carattere."
    );
    let mismatch = choose(
        "una password lunga e segreta",
        "una password diversa e segreta",
    )
    .await;
    assert_eq!(
        field_error(&mismatch, "password_confirmation"),
        "Le due password non coincidono."
    );
    assert_eq!(mismatch.input_value("last_name").unwrap(), "Bianchi");
}

#[tokio::test]
async fn a_failed_login_keeps_the_address_but_not_the_password() {
    let app = TestApp::start().await;
    let page = app
        .citizen_sign_in("giulia.bianchi@example.it", "la mia password segreta")
        .await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        page.input_value("email").unwrap(),
        "giulia.bianchi@example.it"
    );
    assert!(!page.text().contains("la mia password segreta"));
    assert!(field_error(&page, "email").starts_with("E-mail o password non corrette"));
}

#[tokio::test]
async fn signing_in_goes_back_where_the_citizen_was_and_never_elsewhere() {
    let (app, smtp) = app_with_mail().await;
    app.register_citizen(&smtp, "Giulia", "giulia.bianchi@example.it")
        .await;
    let browser = app.browser();
    let asked = browser.get("/area/profilo").await;
    assert_eq!(
        asked.header("location").as_deref(),
        Some("/area/accesso?torna=/area/profilo")
    );
    for (back, landing) in [
        ("/area/profilo", "/area/profilo"),
        ("/segnalazioni/nuova", "/segnalazioni/nuova"),
        ("https://evil.example/area", "/area"),
        ("//evil.example/area", "/area"),
        ("/ufficio/richieste", "/area"),
    ] {
        let token = browser
            .get(&format!(
                "/area/accesso?torna={}",
                crate::support::urlencode(back)
            ))
            .await
            .input_value("csrf_token")
            .unwrap();
        let signed_in = browser
            .post_urlencoded(
                "/area/accesso",
                &[
                    ("csrf_token", &token),
                    ("email", "giulia.bianchi@example.it"),
                    ("password", CITIZEN_PASSWORD),
                    ("torna", back),
                ],
            )
            .await;
        assert_eq!(signed_in.status, StatusCode::SEE_OTHER, "{back}");
        assert_eq!(
            signed_in.header("location").as_deref(),
            Some(landing),
            "{back}"
        );
    }
}

#[tokio::test]
async fn a_new_address_that_is_not_one_keeps_what_was_typed() {
    let (app, smtp) = app_with_mail().await;
    let browser = app
        .register_citizen(&smtp, "Giulia", "giulia.bianchi@example.it")
        .await;
    let token = browser
        .get("/area/profilo")
        .await
        .input_value("csrf_token")
        .unwrap();
    let page = browser
        .post_urlencoded(
            "/area/profilo/email",
            &[
                ("csrf_token", &token),
                ("new_email", "giulia-senza-chiocciola"),
                ("email_password", "non è la password"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        page.input_value("new_email").unwrap(),
        "giulia-senza-chiocciola"
    );
    assert!(!field_error(&page, "new_email").is_empty());
    assert_eq!(
        field_error(&page, "email_password"),
        "La password attuale non è corretta."
    );
    assert!(!page.text().contains("non è la password"));
    let mails = smtp.count();
    app.settle().await;
    assert_eq!(smtp.count(), mails, "no link was sent");
}

// --- My area and who reaches what ------------------------------------------------------------

#[tokio::test]
async fn my_area_lists_my_requests_filed_signed_in_and_as_a_guest_newest_first() {
    let (app, smtp) = app_with_mail().await;
    let staff = operator(&app).await;
    // Before the account existed, as a guest with the same address.
    let guest = app
        .file(complaint_from(
            "Buca in via Verdi",
            "maria.rossi@example.it",
        ))
        .await;
    app.file(complaint_from(
        "Richiesta di un altro",
        "luca.neri@example.it",
    ))
    .await;
    app.app.clock.advance(Duration::minutes(10));
    let maria = app
        .register_citizen(&smtp, "Maria", "maria.rossi@example.it")
        .await;
    let luca = app
        .register_citizen(&smtp, "Luca", "luca.neri@example.it")
        .await;
    let signed_in = maria.file(complaint("Lampione spento")).await;
    app.app.clock.advance(Duration::minutes(10));
    luca.file(complaint_from("Rumore notturno", "luca.neri@example.it"))
        .await;
    let by_account: Option<String> =
        sqlx::query_scalar("SELECT citizen_id FROM citizen_requests WHERE reference = ?")
            .bind(&signed_in.reference)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(by_account.is_some(), "filed while signed in");
    let guest_id = app.aggregate_id(&guest.reference).await;
    staff.act(&guest_id, "valuta", &[]).await;
    app.settle().await;

    let area = maria.get("/area").await;
    assert_eq!(area.status, StatusCode::OK);
    assert_eq!(
        listed(&area),
        [
            (
                format!("{} — Lampione spento", signed_in.reference),
                "Ricevuta, in attesa di valutazione".to_string()
            ),
            (
                format!("{} — Buca in via Verdi", guest.reference),
                "In valutazione".to_string()
            ),
        ]
    );
    let luca_area = luca.get("/area").await;
    let luca_titles: Vec<String> = listed(&luca_area).into_iter().map(|(t, _)| t).collect();
    assert_eq!(luca_titles.len(), 2, "{luca_titles:?}");
    assert!(luca_titles
        .iter()
        .all(|t| !t.contains("Lampione") && !t.contains("Buca")));
}

#[tokio::test]
async fn my_area_asks_to_sign_in_first() {
    let app = TestApp::start().await;
    let area = app.get("/area").await;
    assert_eq!(area.status, StatusCode::SEE_OTHER);
    assert_eq!(
        area.header("location").as_deref(),
        Some("/area/accesso?torna=/area")
    );
    let profile = app.get("/area/profilo").await;
    assert_eq!(
        profile.header("location").as_deref(),
        Some("/area/accesso?torna=/area/profilo")
    );
    assert_eq!(app.get("/area/dati").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn another_citizen_reaches_nothing_of_my_request_by_any_url() {
    let (app, smtp) = app_with_mail().await;
    let staff = operator(&app).await;
    let maria = app
        .register_citizen(&smtp, "Maria", "maria.rossi@example.it")
        .await;
    let luca = app
        .register_citizen(&smtp, "Luca", "luca.neri@example.it")
        .await;
    let receipt = maria
        .file(complaint("Lampione spento").file("attachments", "foto.png", "image/png", png(8, 8)))
        .await;
    let id = app.aggregate_id(&receipt.reference).await;
    let answered = staff
        .act_with_files(
            &id,
            "rispondi",
            "Il lampione sarà riparato entro venerdì.",
            &[("ordine.pdf", "application/pdf", pdf("ordine di lavoro"))],
        )
        .await;
    assert_eq!(answered.status, StatusCode::SEE_OTHER);
    staff.act(&id, "chiudi", &[("outcome", "answered")]).await;
    app.settle().await;

    let base = format!("/area/richieste/{id}");
    let page = maria.get(&base).await;
    assert_eq!(page.status, StatusCode::OK);
    let answer_file =
        link_starting(&page, &format!("{base}/risposte/")).expect("the answer's file");
    let urls = [
        base.clone(),
        format!("{base}/allegati/0"),
        format!("{base}/allegati/0/anteprima"),
        answer_file,
    ];
    // The owner reaches every one of them…
    for url in &urls {
        assert_eq!(maria.get(url).await.status, StatusCode::OK, "{url}");
    }
    // …the other citizen none, not even knowing the id.
    for url in &urls {
        let response = luca.get(url).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{url}");
        assert!(!response.text().contains("Lampione spento"));
    }
    // Every action, even with a valid form token of Luca's own, is a 404.
    let events = app.count_events().await;
    let token = luca
        .get("/segnalazioni/nuova")
        .await
        .input_value("csrf_token")
        .unwrap();
    let form = Multipart::new()
        .text("csrf_token", &token)
        .text("message", "Un messaggio abbastanza lungo");
    let (content_type, body) = form.encode();
    let replied = luca
        .send(
            Request::post(format!("{base}/risposta"))
                .header(header::CONTENT_TYPE, content_type)
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
    assert_eq!(replied.status, StatusCode::NOT_FOUND);
    for (action, fields) in [
        ("riapri", vec![("reason", "Il lampione è ancora spento.")]),
        ("valuta", vec![("stars", "1")]),
        (
            "valuta",
            vec![("stars", "1"), ("step", "2"), ("reasons", "slow")],
        ),
    ] {
        let mut all = vec![("csrf_token", token.as_str())];
        all.extend(fields);
        let response = luca
            .post_urlencoded(&format!("{base}/{action}"), &all)
            .await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{action}");
    }
    assert_eq!(app.count_events().await, events, "nothing was recorded");
    assert!(!listed(&luca.get("/area").await)
        .iter()
        .any(|(title, _)| title.contains(&receipt.reference)));
}

// --- Replies, reopening, rating --------------------------------------------------------------

#[tokio::test]
async fn a_reply_with_files_from_my_area_shows_in_the_history_with_a_download_link() {
    let (app, smtp) = app_with_mail().await;
    let staff = operator(&app).await;
    let maria = app
        .register_citizen(&smtp, "Maria", "maria.rossi@example.it")
        .await;
    let receipt = maria.file(complaint("Buca")).await;
    let id = app.aggregate_id(&receipt.reference).await;
    staff
        .act(
            &id,
            "chiedi",
            &[("message", "In quale via si trova la buca?")],
        )
        .await;
    app.settle().await;

    let base = format!("/area/richieste/{id}");
    let document = pdf("pianta della via");
    let sent = reply(
        &maria,
        &base,
        "In via Garibaldi, davanti al civico 8.",
        &[
            ("pianta.pdf", "application/pdf", document.clone()),
            ("foto.png", "image/png", png(6, 6)),
        ],
    )
    .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.text());
    assert_eq!(sent.header("location").as_deref(), Some(base.as_str()));
    app.settle().await;

    let page = maria.get(&base).await;
    let history = page.text();
    assert!(history.contains("Hai inviato altre informazioni"));
    assert!(history.contains("In via Garibaldi, davanti al civico 8."));
    assert!(
        history.contains("Scarica allegato-1.pdf") && history.contains("Scarica allegato-2.png")
    );
    let link = link_starting(&page, &format!("{base}/risposte/")).unwrap();
    assert!(link.ends_with("/0"), "{link}");
    let download = maria.get(&link).await;
    assert_eq!(download.status, StatusCode::OK);
    assert_eq!(download.bytes, document);
    assert_eq!(
        download.header("content-type").as_deref(),
        Some("application/pdf")
    );
    assert!(download
        .header("content-disposition")
        .unwrap()
        .starts_with("attachment;"));
    assert!(app
        .event_types(&receipt.reference)
        .await
        .contains(&"CitizenReplied".to_string()));
    // Staff read it on their page with the same file.
    let staff_page = staff.get(&format!("/ufficio/richieste/{id}")).await;
    assert!(staff_page
        .text()
        .contains("In via Garibaldi, davanti al civico 8."));
}

#[tokio::test]
async fn a_reply_with_a_file_from_the_tracking_link_shows_in_the_history() {
    let app = TestApp::start().await;
    let receipt = app.file(complaint("Buca")).await;
    let base = format!("/segui/{}", receipt.token);
    let document = pdf("altre informazioni");
    let sent = reply(
        &app,
        &base,
        "Aggiungo la pianta della via.",
        &[("pianta.pdf", "application/pdf", document.clone())],
    )
    .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.text());
    app.settle().await;
    assert!(app
        .history(&receipt)
        .await
        .iter()
        .any(|entry| entry.starts_with("Hai inviato altre informazioni")));
    let page = app.get(&base).await;
    assert!(page.text().contains("Aggiungo la pianta della via."));
    let link = link_starting(&page, &format!("{base}/risposte/")).expect("a download link");
    let download = app.get(&link).await;
    assert_eq!(download.status, StatusCode::OK);
    assert_eq!(download.bytes, document);
}

#[tokio::test]
async fn a_closed_request_is_reopened_within_the_configured_days() {
    let (app, smtp) = app_with_mail().await;
    configure(&app, "10", "").await;
    let staff = operator(&app).await;
    let maria = app
        .register_citizen(&smtp, "Maria", "maria.rossi@example.it")
        .await;
    let id = closed_request(&maria, &staff, "Lampione spento").await;
    let base = format!("/area/richieste/{id}");
    app.app.clock.advance(Duration::days(9));
    maria
        .citizen_sign_in("maria.rossi@example.it", CITIZEN_PASSWORD)
        .await;
    let page = maria.get(&base).await;
    assert_eq!(page.element_text("status").unwrap(), "Chiusa");
    assert!(page
        .text()
        .contains("puoi riaprire la richiesta fino al 20 marzo 2026"));
    let reopened = post_on_page(
        &maria,
        &base,
        "riapri",
        &[("reason", "Il lampione è di nuovo spento da ieri sera.")],
    )
    .await;
    assert_eq!(
        reopened.status,
        StatusCode::SEE_OTHER,
        "{}",
        reopened.text()
    );
    app.settle().await;
    let page = maria.get(&base).await;
    assert_eq!(page.element_text("status").unwrap(), "In valutazione");
    assert!(page.text().contains("Richiesta riaperta"));
    let reference = page.element_text("reference").unwrap();
    assert_eq!(
        app.event_types(&reference).await.last().map(String::as_str),
        Some("RequestReopened")
    );
}

#[tokio::test]
async fn a_closed_request_is_not_reopened_after_the_configured_days() {
    let (app, smtp) = app_with_mail().await;
    configure(&app, "10", "").await;
    let staff = operator(&app).await;
    let maria = app
        .register_citizen(&smtp, "Maria", "maria.rossi@example.it")
        .await;
    let id = closed_request(&maria, &staff, "Lampione spento").await;
    let base = format!("/area/richieste/{id}");
    // The page's form, taken while it was still offered.
    let token = maria.get(&base).await.input_value("csrf_token").unwrap();
    app.app
        .clock
        .advance(Duration::days(10) + Duration::minutes(1));
    maria
        .citizen_sign_in("maria.rossi@example.it", CITIZEN_PASSWORD)
        .await;
    let page = maria.get(&base).await;
    assert!(!page.text().contains(&format!("action=\"{base}/riapri\"")));
    let events = app.count_events().await;
    let late = maria
        .post_urlencoded(
            &format!("{base}/riapri"),
            &[
                ("csrf_token", &token),
                ("reason", "Il lampione è di nuovo spento da ieri sera."),
            ],
        )
        .await;
    assert_eq!(late.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(late
        .text()
        .contains("Il periodo per riaprire questa richiesta è terminato."));
    assert_eq!(app.count_events().await, events);
}

#[tokio::test]
async fn rating_takes_two_steps_and_records_the_reasons_once() {
    let (app, smtp) = app_with_mail().await;
    let staff = operator(&app).await;
    let maria = app
        .register_citizen(&smtp, "Maria", "maria.rossi@example.it")
        .await;
    let id = closed_request(&maria, &staff, "Lampione spento").await;
    let base = format!("/area/richieste/{id}");

    let first = post_on_page(&maria, &base, "valuta", &[("stars", "2")]).await;
    assert_eq!(first.status, StatusCode::OK);
    let step = first.text();
    assert!(step.contains("name=\"step\" value=\"2\""));
    assert!(step.contains("Dove possiamo migliorare?"));
    assert!(step.contains("id=\"reason-slow\"") && !step.contains("id=\"reason-fast\""));
    assert_eq!(
        ratings(&app, &id).await,
        0,
        "the first step records nothing"
    );

    let rated = post_on_page(
        &maria,
        &base,
        "valuta",
        &[
            ("stars", "2"),
            ("step", "2"),
            ("reasons", "slow"),
            ("reasons", "unclear"),
            ("reasons", "fast"),
            ("comment", "Ci sono volute tre settimane."),
        ],
    )
    .await;
    assert_eq!(rated.status, StatusCode::SEE_OTHER, "{}", rated.text());
    assert_eq!(
        rated.header("location"),
        Some(format!("{base}#rating-title"))
    );
    let payload: String = sqlx::query_scalar(
        "SELECT CAST(payload AS CHAR) FROM events WHERE aggregate_id = ? AND event_type = 'RequestRated'",
    )
    .bind(&id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let payload: Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(payload["RequestRated"]["stars"], 2);
    assert_eq!(
        payload["RequestRated"]["reasons"],
        serde_json::json!(["slow", "unclear"]),
        "only the reasons offered for two stars"
    );
    assert!(
        !payload.to_string().contains("tre settimane"),
        "the comment is sealed"
    );
    app.settle().await;
    let page = maria.get(&base).await;
    assert_eq!(page.element_text("rating").unwrap(), "2 stelle su 5");
    assert!(page
        .text()
        .contains("Hai valutato la risposta: 2 stelle su 5"));

    let again = post_on_page(
        &maria,
        &base,
        "valuta",
        &[("stars", "5"), ("step", "2"), ("reasons", "fast")],
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.text().contains("Hai già valutato questa risposta."));
    assert_eq!(ratings(&app, &id).await, 1);
}

async fn ratings(app: &TestApp, id: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM events WHERE aggregate_id = ? AND event_type = 'RequestRated'",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn stars_out_of_range_are_refused() {
    let app = TestApp::start().await;
    let staff = operator(&app).await;
    let receipt = app.file(complaint("Lampione spento")).await;
    let id = app.aggregate_id(&receipt.reference).await;
    staff.act(&id, "chiudi", &[("outcome", "withdrawn")]).await;
    app.settle().await;
    let base = format!("/segui/{}", receipt.token);
    let events = app.count_events().await;
    for stars in ["0", "6", "-1", "tre", ""] {
        for step in ["1", "2"] {
            let refused =
                post_on_page(&app, &base, "valuta", &[("stars", stars), ("step", step)]).await;
            assert_eq!(
                refused.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{stars} {step}"
            );
            assert!(refused.text().contains("Scegli da 1 a 5 stelle."));
        }
    }
    assert_eq!(app.count_events().await, events);
    // In range it is taken (the same form, so the refusals were about the stars).
    let rated = post_on_page(&app, &base, "valuta", &[("stars", "5"), ("step", "2")]).await;
    assert_eq!(rated.status, StatusCode::SEE_OTHER);
}

// --- Drafts ----------------------------------------------------------------------------------

#[tokio::test]
async fn a_draft_is_saved_reopened_only_by_its_owner_and_removed_when_the_request_is_sent() {
    let (app, smtp) = app_with_mail().await;
    let maria = app
        .register_citizen(&smtp, "Maria", "maria.rossi@example.it")
        .await;
    let luca = app
        .register_citizen(&smtp, "Luca", "luca.neri@example.it")
        .await;
    let typed = Multipart::new()
        .text("kind", "complaint")
        .text("topic", "lavori-pubblici")
        .text("subject", "Buca in via Verdi")
        .text("description", "Una buca profonda")
        .text("place", "Via Verdi 3")
        .text("action", "draft");
    let saved = maria.submit(typed).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    assert_eq!(
        saved.header("location").as_deref(),
        Some("/area?avviso=bozza")
    );

    let area = maria.get("/area?avviso=bozza").await;
    assert!(area.text().contains("Bozza salvata."));
    assert!(area.element_text("drafts").is_some());
    let link = link_starting(&area, "/segnalazioni/nuova?bozza=").expect("the draft is listed");
    let draft_id = link.split('=').nth(1).unwrap().to_string();
    assert!(area
        .text()
        .contains(&format!("href=\"{link}\">Buca in via Verdi</a>")));

    let reopened = maria.get(&link).await;
    assert_eq!(reopened.status, StatusCode::OK);
    assert_eq!(
        reopened.input_value("subject").unwrap(),
        "Buca in via Verdi"
    );
    assert_eq!(reopened.input_value("place").unwrap(), "Via Verdi 3");
    assert_eq!(
        reopened.element_text("description").unwrap(),
        "Una buca profonda"
    );
    assert_eq!(reopened.input_value("bozza").unwrap(), draft_id);
    assert_eq!(
        reopened.input_value("first_name").unwrap(),
        "Maria",
        "from the account"
    );

    // Somebody else's draft id is not found, and saving over it makes a draft of one's own.
    assert_eq!(luca.get(&link).await.status, StatusCode::NOT_FOUND);
    let over = luca
        .submit(
            Multipart::new()
                .text("subject", "Sovrascritta")
                .text("bozza", &draft_id)
                .text("action", "draft"),
        )
        .await;
    assert_eq!(over.status, StatusCode::SEE_OTHER);
    assert_eq!(
        maria.get(&link).await.input_value("subject").unwrap(),
        "Buca in via Verdi"
    );

    let sent = maria
        .file(
            complaint("Buca in via Verdi")
                .text("bozza", &draft_id)
                .text("action", "send"),
        )
        .await;
    app.settle().await;
    let area = maria.get("/area").await;
    assert!(area.element_text("drafts").is_none(), "the draft is gone");
    assert_eq!(maria.get(&link).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        listed(&area),
        [(
            format!("{} — Buca in via Verdi", sent.reference),
            "Ricevuta, in attesa di valutazione".to_string()
        )]
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM request_drafts").await,
        1,
        "Luca's"
    );

    // A draft is deleted by its owner only.
    let luca_area = luca.get("/area").await;
    let luca_draft = link_starting(&luca_area, "/segnalazioni/nuova?bozza=")
        .unwrap()
        .split('=')
        .nth(1)
        .unwrap()
        .to_string();
    for (who, deleted) in [(&maria, 1), (&luca, 0)] {
        let token = who.get("/area").await.input_value("csrf_token").unwrap();
        let response = who
            .post_urlencoded(
                &format!("/area/bozze/{luca_draft}/elimina"),
                &[("csrf_token", &token)],
            )
            .await;
        assert_eq!(response.status, StatusCode::SEE_OTHER);
        assert_eq!(
            count(&app, "SELECT COUNT(*) FROM request_drafts").await,
            deleted,
            "after a try by {}",
            if deleted == 1 { "Maria" } else { "Luca" }
        );
    }
}

// --- Data rights -----------------------------------------------------------------------------

/// The files of a ZIP archive, read through its central directory, each checked against the
/// CRC-32 the archive declares (only stored entries, as the export writes them).
fn unzip(bytes: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]) as usize;
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    let end = bytes.len() - 22;
    assert_eq!(
        u32_at(end),
        0x0605_4b50,
        "an end of central directory record"
    );
    let entries = u16_at(end + 10);
    let mut at = u32_at(end + 16) as usize;
    let mut files = BTreeMap::new();
    for _ in 0..entries {
        assert_eq!(u32_at(at), 0x0201_4b50, "a central directory entry");
        assert_eq!(u16_at(at + 10), 0, "stored");
        let crc = u32_at(at + 16);
        let size = u32_at(at + 20) as usize;
        let name_length = u16_at(at + 28);
        let name = String::from_utf8(bytes[at + 46..at + 46 + name_length].to_vec()).unwrap();
        let local = u32_at(at + 42) as usize;
        assert_eq!(u32_at(local), 0x0403_4b50, "{name}: a local header");
        let start = local + 30 + u16_at(local + 26) + u16_at(local + 28);
        let data = bytes[start..start + size].to_vec();
        assert_eq!(crc32fast::hash(&data), crc, "{name}: CRC");
        files.insert(name, data);
        at += 46 + name_length + u16_at(at + 30) + u16_at(at + 32);
    }
    files
}

#[tokio::test]
async fn my_data_download_holds_my_account_my_requests_their_history_and_files() {
    let (app, smtp) = app_with_mail().await;
    let staff = operator(&app).await;
    let giulia = app
        .register_citizen(&smtp, "Giulia", "giulia.bianchi@example.it")
        .await;
    app.file(complaint_from(
        "Richiesta di un altro",
        "luca.neri@example.it",
    ))
    .await;
    let form_pdf = pdf("modulo compilato");
    let receipt = giulia
        .file(
            complaint_from("Lampione spento", "giulia.bianchi@example.it").file(
                "attachments",
                "modulo.pdf",
                "application/pdf",
                form_pdf.clone(),
            ),
        )
        .await;
    let id = app.aggregate_id(&receipt.reference).await;
    let answer_pdf = pdf("ordine di lavoro");
    staff
        .act_with_files(
            &id,
            "rispondi",
            "Il lampione sarà riparato entro venerdì.",
            &[("ordine.pdf", "application/pdf", answer_pdf.clone())],
        )
        .await;
    app.settle().await;

    let download = giulia.get("/area/dati").await;
    assert_eq!(download.status, StatusCode::OK);
    assert_eq!(
        download.header("content-type").as_deref(),
        Some("application/zip")
    );
    assert!(download
        .header("content-disposition")
        .unwrap()
        .starts_with("attachment;"));
    let files = unzip(&download.bytes);
    assert_eq!(files.len(), 3, "{:?}", files.keys().collect::<Vec<_>>());
    let data: Value = serde_json::from_slice(&files["dati.json"]).unwrap();

    let account = &data["account"];
    assert_eq!(account["first_name"], "Giulia");
    assert_eq!(account["last_name"], "Bianchi");
    assert_eq!(account["email"], "giulia.bianchi@example.it");
    assert_eq!(account["email_verified"], true);

    let requests = data["requests"].as_array().unwrap();
    assert_eq!(requests.len(), 1, "only hers");
    let request = &requests[0];
    assert_eq!(request["reference"], receipt.reference.as_str());
    let personal = &request["personal_data"];
    assert_eq!(personal["subject"], "Lampione spento");
    assert_eq!(personal["first_name"], "Maria", "as typed in the form");
    assert_eq!(personal["email"], "giulia.bianchi@example.it");
    assert!(personal["description"]
        .as_str()
        .unwrap()
        .contains("Il lampione davanti al civico 12"));
    let attachment = request["attachments"][0].as_str().unwrap();
    assert!(attachment.ends_with("modulo.pdf"), "{attachment}");
    assert_eq!(files[attachment], form_pdf);

    let history = request["history"].as_array().unwrap();
    assert_eq!(history[0]["entry"], "received");
    let answer = history
        .iter()
        .find(|entry| entry["entry"] == "answered")
        .expect("the answer is in the history");
    assert_eq!(
        answer["message"],
        "Il lampione sarà riparato entro venerdì."
    );
    let answer_file = answer["files"][0].as_str().unwrap();
    assert_eq!(files[answer_file], answer_pdf);
    assert!(!String::from_utf8_lossy(&files["dati.json"]).contains("Richiesta di un altro"));
}

#[tokio::test]
async fn deleting_the_account_erases_every_request_of_mine_and_a_rebuild_brings_nothing_back() {
    let (app, smtp) = app_with_mail().await;
    let staff = operator(&app).await;
    let guest = app
        .file(
            complaint_from("Buca davanti a casa", "maria.rossi@example.it").file(
                "attachments",
                "buca.png",
                "image/png",
                png(8, 8),
            ),
        )
        .await;
    let luca_pdf = pdf("esposto di luca");
    let other = app
        .file(
            complaint_from("Rumore notturno", "luca.neri@example.it")
                .text("last_name", "Neri")
                .file(
                    "attachments",
                    "esposto.pdf",
                    "application/pdf",
                    luca_pdf.clone(),
                ),
        )
        .await;
    let maria = app
        .register_citizen(&smtp, "Maria", "maria.rossi@example.it")
        .await;
    let signed_in = maria
        .file(complaint("Lampione spento").file(
            "attachments",
            "modulo.pdf",
            "application/pdf",
            pdf("modulo di maria"),
        ))
        .await;
    let id = app.aggregate_id(&signed_in.reference).await;
    staff
        .act_with_files(
            &id,
            "rispondi",
            "Il lampione sarà riparato entro venerdì.",
            &[("ordine.pdf", "application/pdf", pdf("ordine di lavoro"))],
        )
        .await;
    app.settle().await;
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM events WHERE payload LIKE '%ordine.pdf%'"
        )
        .await,
        0,
        "the name of a file staff uploaded for her is sealed in the event"
    );
    assert!(maria
        .get(&format!("/area/richieste/{id}"))
        .await
        .text()
        .contains("ordine.pdf"));
    assert_eq!(listed(&maria.get("/area").await).len(), 2);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM files").await, 5);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM data_keys").await, 3);

    let token = maria
        .get("/area/profilo")
        .await
        .input_value("csrf_token")
        .unwrap();
    let deleted = maria
        .post_urlencoded(
            "/area/profilo/elimina",
            &[
                ("csrf_token", &token),
                ("delete_password", CITIZEN_PASSWORD),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{}", deleted.text());
    assert_eq!(
        deleted.header("location").as_deref(),
        Some("/?avviso=account_eliminato")
    );
    app.settle().await;

    // The account is gone.
    assert_eq!(maria.get("/area").await.status, StatusCode::SEE_OTHER);
    assert_eq!(
        maria
            .citizen_sign_in("maria.rossi@example.it", CITIZEN_PASSWORD)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM citizens").await, 0);
    // Each of her requests records the erasure once; Luca's keeps everything.
    for reference in [&guest.reference, &signed_in.reference] {
        let erased = app
            .event_types(reference)
            .await
            .into_iter()
            .filter(|t| t == "PersonalDataErased")
            .count();
        assert_eq!(erased, 1, "{reference}");
    }
    assert!(!app
        .event_types(&other.reference)
        .await
        .contains(&"PersonalDataErased".to_string()));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM data_keys").await, 1);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM files").await,
        1,
        "Luca's file only"
    );
    assert_eq!(
        app.get(&format!("/segui/{}/allegati/0", other.token))
            .await
            .bytes,
        luca_pdf
    );

    let erased = [
        (&guest, "Buca davanti a casa"),
        (&signed_in, "Lampione spento"),
    ];
    shows_erased(&app, &staff, &erased, &other).await;

    let ids = [
        app.aggregate_id(&guest.reference).await,
        app.aggregate_id(&signed_in.reference).await,
    ];
    nothing_personal_in_the_views(&app, &ids).await;

    // Every read model rebuilt from the events: still nothing of hers.
    for projection in sportello_projections::all() {
        let applied = sportello_projections::rebuild(&app.pool, projection.as_ref())
            .await
            .unwrap();
        assert!(applied > 0, "{} rebuilt", projection.name());
    }
    nothing_personal_in_the_views(&app, &ids).await;
    let kept: Option<String> =
        sqlx::query_scalar("SELECT subject FROM queue_requests WHERE reference = ?")
            .bind(&other.reference)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        kept.as_deref(),
        Some("Rumore notturno"),
        "Luca's is rebuilt whole"
    );
    shows_erased(&app, &staff, &erased, &other).await;
    let search = |words: &'static str| {
        let staff = &staff;
        async move {
            staff
                .get(&format!("/ufficio/richieste?cerca={words}"))
                .await
                .element_text("total")
                .unwrap()
        }
    };
    assert_eq!(search("Rumore").await, "1 richieste", "(a control)");
    assert_eq!(search("Lampione").await, "0 richieste");
    assert_eq!(search("Rossi").await, "0 richieste");
    // Whoever registers that address again finds none of those requests.
    let again = app
        .register_citizen(&smtp, "Maria", "maria.rossi@example.it")
        .await;
    assert!(listed(&again.get("/area").await).is_empty());
}

/// The views hold no personal data of these requests, and no index to find them by e-mail.
async fn nothing_personal_in_the_views(app: &TestApp, ids: &[String]) {
    for id in ids {
        let (subject, name, email): (Option<String>, Option<String>, Option<String>) =
            sqlx::query_as(
                "SELECT subject, citizen_name, citizen_email FROM queue_requests WHERE aggregate_id = ?",
            )
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
        assert_eq!((subject, name, email), (None, None, None), "{id}");
        let index: Option<String> =
            sqlx::query_scalar("SELECT email_index FROM citizen_requests WHERE aggregate_id = ?")
                .bind(id)
                .fetch_one(&app.pool)
                .await
                .unwrap();
        assert_eq!(index, None, "{id}");
    }
}

/// The tracking pages and staff's pages of `erased` requests show the erasure and none of the
/// personal data; the `kept` request still shows its subject.
async fn shows_erased(app: &TestApp, staff: &TestApp, erased: &[(&Receipt, &str)], kept: &Receipt) {
    for (receipt, subject) in erased {
        let page = app.get(&format!("/segui/{}", receipt.token)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.element_text("subject").is_none());
        assert!(page
            .text()
            .contains("I dati personali di questa richiesta sono stati cancellati."));
        assert!(!page.text().contains(subject));
        assert!(app
            .history(receipt)
            .await
            .contains(&"Dati personali cancellati (su richiesta del cittadino)".to_string()));
        let id = app.aggregate_id(&receipt.reference).await;
        let staff_view = staff.get(&format!("/ufficio/richieste/{id}")).await;
        assert_eq!(staff_view.status, StatusCode::OK);
        let text = staff_view.text();
        assert!(text.contains("Dati personali cancellati: su richiesta del cittadino"));
        assert!(!text.contains(subject) && !text.contains("maria.rossi@example.it"));
    }
    let kept_page = app.get(&format!("/segui/{}", kept.token)).await;
    assert_eq!(
        kept_page.element_text("subject").unwrap(),
        "Rumore notturno"
    );
}

#[tokio::test]
async fn erasing_a_request_keeps_a_document_another_request_was_answered_with() {
    let (app, smtp) = app_with_mail().await;
    let staff = operator(&app).await;
    let maria = app
        .register_citizen(&smtp, "Maria", "maria.rossi@example.it")
        .await;
    let hers = maria.file(complaint("Lampione spento")).await;
    let other = app
        .file(complaint_from("Rumore notturno", "luca.neri@example.it"))
        .await;
    // The same document, stored once, answers both.
    let rules = pdf("regolamento comunale sul rumore");
    for receipt in [&hers, &other] {
        let id = app.aggregate_id(&receipt.reference).await;
        let answered = staff
            .act_with_files(
                &id,
                "rispondi",
                "Trova le regole nel regolamento allegato.",
                &[("regolamento.pdf", "application/pdf", rules.clone())],
            )
            .await;
        assert_eq!(answered.status, StatusCode::SEE_OTHER);
    }
    app.settle().await;

    let token = maria
        .get("/area/profilo")
        .await
        .input_value("csrf_token")
        .unwrap();
    let deleted = maria
        .post_urlencoded(
            "/area/profilo/elimina",
            &[
                ("csrf_token", &token),
                ("delete_password", CITIZEN_PASSWORD),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    app.settle().await;
    assert!(app
        .event_types(&hers.reference)
        .await
        .contains(&"PersonalDataErased".to_string()));

    let base = format!("/segui/{}", other.token);
    let page = app.get(&base).await;
    let link = link_starting(&page, &format!("{base}/risposte/")).expect("the answer's document");
    let download = app.get(&link).await;
    assert_eq!(
        download.status,
        StatusCode::OK,
        "Luca's answer keeps its document"
    );
    assert_eq!(download.bytes, rules);

    // Once no request that is not erased names it, it goes with the last one.
    let other_id = app.aggregate_id(&other.reference).await;
    assert!(
        erase_request(&app.app, &other_id, ErasureReason::Retention, "test")
            .await
            .unwrap()
    );
    assert_eq!(app.get(&link).await.status, StatusCode::NOT_FOUND);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM files").await, 0);
}

#[tokio::test]
async fn deleting_the_account_needs_the_password_and_the_confirmation() {
    let (app, smtp) = app_with_mail().await;
    let maria = app
        .register_citizen(&smtp, "Maria", "maria.rossi@example.it")
        .await;
    let receipt = maria.file(complaint("Lampione spento")).await;
    let token = maria
        .get("/area/profilo")
        .await
        .input_value("csrf_token")
        .unwrap();
    let refused = maria
        .post_urlencoded(
            "/area/profilo/elimina",
            &[("csrf_token", &token), ("delete_password", "non è la mia")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        field_error(&refused, "delete_password"),
        "La password attuale non è corretta."
    );
    assert_eq!(
        field_error(&refused, "delete_confirm"),
        "Conferma di voler eliminare l'account."
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM citizens").await, 1);
    assert_eq!(maria.get("/area").await.status, StatusCode::OK);
    assert!(!app
        .event_types(&receipt.reference)
        .await
        .contains(&"PersonalDataErased".to_string()));
}

#[tokio::test]
async fn retention_anonymises_requests_closed_long_enough_ago_once() {
    let app = TestApp::start().await;
    let staff = operator(&app).await;
    let old = app.file(complaint("Chiusa sette mesi fa")).await;
    let old_id = app.aggregate_id(&old.reference).await;
    staff
        .act(&old_id, "chiudi", &[("outcome", "withdrawn")])
        .await;
    app.settle().await;
    assert_eq!(
        retention::run(&app.app).await.unwrap(),
        0,
        "nothing without a retention period"
    );

    app.app.clock.advance(Duration::days(150));
    staff.signed_in_as(OPERATOR.0, OPERATOR.1).await;
    let recent = app.file(complaint("Chiusa due mesi fa")).await;
    let recent_id = app.aggregate_id(&recent.reference).await;
    staff
        .act(&recent_id, "chiudi", &[("outcome", "withdrawn")])
        .await;
    app.settle().await;
    app.app.clock.advance(Duration::days(61));
    configure(&app, "30", "6").await;

    assert_eq!(retention::run(&app.app).await.unwrap(), 1);
    assert_eq!(retention::run(&app.app).await.unwrap(), 0, "recorded once");
    app.settle().await;
    assert_eq!(retention::run(&app.app).await.unwrap(), 0);

    let erasures = |reference: String| {
        let app = &app;
        async move {
            app.event_types(&reference)
                .await
                .into_iter()
                .filter(|t| t == "PersonalDataErased")
                .count()
        }
    };
    assert_eq!(erasures(old.reference.clone()).await, 1);
    assert_eq!(erasures(recent.reference.clone()).await, 0);
    let old_page = app.get(&format!("/segui/{}", old.token)).await;
    assert!(old_page.element_text("subject").is_none());
    assert!(!old_page.text().contains("Chiusa sette mesi fa"));
    assert!(app
        .history(&old)
        .await
        .contains(&"Dati personali cancellati (scaduto il periodo di conservazione)".to_string()));
    assert_eq!(
        app.get(&format!("/segui/{}", recent.token))
            .await
            .element_text("subject")
            .unwrap(),
        "Chiusa due mesi fa"
    );
    let subject: Option<String> =
        sqlx::query_scalar("SELECT subject FROM queue_requests WHERE aggregate_id = ?")
            .bind(&old_id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(subject, None);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM data_keys").await, 1);
}

#[tokio::test]
async fn a_never_confirmed_registration_gives_way_to_whoever_proves_the_address() {
    let (app, smtp) = app_with_mail().await;
    let browser = app
        .register_citizen(&smtp, "Giulia", "giulia.bianchi@example.it")
        .await;
    // Someone registered the address Giulia moves to, and never confirmed it.
    let squatter = app.browser();
    squatter
        .register(
            "Intruso",
            "giulia@nuovo.example.it",
            "una-password-qualsiasi",
        )
        .await;
    let token = browser
        .get("/area/profilo")
        .await
        .input_value("csrf_token")
        .unwrap();
    browser
        .post_urlencoded(
            "/area/profilo/email",
            &[
                ("csrf_token", &token),
                ("new_email", "giulia@nuovo.example.it"),
                ("email_password", CITIZEN_PASSWORD),
            ],
        )
        .await;
    let link = app
        .mailed_link(&smtp, "giulia@nuovo.example.it", "/area/nuova-email/")
        .await;
    let confirmed = browser.follow_link(&link).await;
    assert_eq!(
        confirmed.status,
        StatusCode::SEE_OTHER,
        "{}",
        confirmed.text()
    );
    assert_eq!(
        browser
            .get("/area/profilo")
            .await
            .element_text("citizen-email")
            .unwrap(),
        "giulia@nuovo.example.it"
    );
    let accounts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM citizens")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(accounts, 1, "the unconfirmed registration is gone");
}
