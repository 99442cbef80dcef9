//! The citizen area over HTTP with a real SMTP server: accounts (verification, reset links, no
//! enumeration, throttling, sessions), "my area" and who reaches what, replies with files,
//! reopening, rating, drafts, the data download, erasure surviving a rebuild, retention.

mod area;
mod data_rights;
mod registration;
mod sessions;

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use chrono::Duration;
use serde_json::Value;
use sportello_domain::ErasureReason;
use sportello_server::citizens::data_rights::erase_request;
use sportello_server::citizens::retention;
use sportello_server::staff::Role;

use crate::support::office::{ANSWER, QUESTION};
use crate::support::smtp::{parse, SmtpServer};
use crate::support::{
    complaint, png, strip_tags, Multipart, Receipt, TestApp, TestResponse, CITIZEN_PASSWORD,
};

/// Giulia's address (see `giulia_signed_in`).
const GIULIA: &str = "giulia.bianchi@example.it";

const CITIZEN_COOKIE: &str = "__Host-sportello_citizen";
const OPERATOR: (&str, &str) = (
    "anna.operatrice@comune.test",
    "Anna Operatrice ha una password lunga",
);

async fn app_with_mail() -> (TestApp, SmtpServer) {
    let smtp = SmtpServer::start().await;
    let app = TestApp::with_mail(&smtp).await;
    (app, smtp)
}

/// Maria, registered (maria.rossi@example.it) and signed in, in a browser of her own.
async fn maria_signed_in(app: &TestApp, smtp: &SmtpServer) -> TestApp {
    app.register_citizen(smtp, "Maria", "maria.rossi@example.it")
        .await
}

/// Giulia, registered (giulia.bianchi@example.it) and signed in, in a browser of her own.
async fn giulia_signed_in(app: &TestApp, smtp: &SmtpServer) -> TestApp {
    app.register_citizen(smtp, "Giulia", GIULIA).await
}

/// Asks, from the profile page, to move the account to `new_email`, giving `password`.
async fn ask_for_new_email(browser: &TestApp, new_email: &str, password: &str) -> TestResponse {
    browser
        .post_with_token(
            "/area/profilo",
            "/area/profilo/email",
            &[("new_email", new_email), ("email_password", password)],
        )
        .await
}

/// The status of the answer to signing in through the area's login form.
async fn sign_in_status(browser: &TestApp, email: &str, password: &str) -> StatusCode {
    browser.citizen_sign_in(email, password).await.status
}

/// The e-mail address the profile page shows.
async fn profile_email(browser: &TestApp) -> String {
    browser
        .get("/area/profilo")
        .await
        .element_text("citizen-email")
        .unwrap()
}

/// Staff answer the request with ANSWER and a work order in PDF ("ordine.pdf").
async fn answer_with_work_order(staff: &TestApp, id: &str) -> TestResponse {
    staff
        .act_with_files(
            id,
            "rispondi",
            ANSWER,
            &[("ordine.pdf", "application/pdf", pdf("ordine di lavoro"))],
        )
        .await
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
    let saved = admin
        .post_with_token(
            "/ufficio/amministrazione/impostazioni",
            "/ufficio/amministrazione/impostazioni",
            &[
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
    saved.assert_status(StatusCode::SEE_OTHER);
}

/// A request filed by `citizen`, answered and closed by `staff`; returns its id.
async fn closed_request(citizen: &TestApp, staff: &TestApp, subject: &str) -> String {
    let (_, id) = citizen.file_request(complaint(subject)).await;
    let answered = staff.act(&id, "rispondi", &[("message", ANSWER)]).await;
    assert_eq!(answered.status, StatusCode::SEE_OTHER);
    let closed = staff.act(&id, "chiudi", &[("outcome", "answered")]).await;
    closed.assert_status(StatusCode::SEE_OTHER);
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
