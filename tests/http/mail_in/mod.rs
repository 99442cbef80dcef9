//! Mail and PEC in, against a real IMAP server (Dovecot, `support::dovecot`) and the test SMTP
//! server: messages are delivered with IMAP APPEND, read as the background reader reads them,
//! and what they cause is read back from the pages and the mail staff and citizens get.

mod letters;
mod quarantine;
mod recovery;
mod replies;
mod status;

use crate::support::dovecot::Dovecot;
use crate::support::smtp::{self, SmtpServer};
use crate::support::TestApp;

/// A fresh mailbox user on the shared Dovecot.
pub(crate) fn user() -> String {
    format!("urp{}", uuid::Uuid::new_v4().simple())
}

/// A plain message from Maria Rossi to the URP.
pub(crate) fn letter(message_id: &str, subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Maria Rossi <maria.rossi@example.org>\r\nTo: URP <urp@comune.test>\r\n\
         Subject: {subject}\r\nMessage-ID: <{message_id}>\r\nDate: Tue, 10 Mar 2026 09:00:00 +0100\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

pub(crate) struct Mailed {
    pub aggregate_id: String,
    pub reference: String,
    pub channel: String,
}

pub(crate) async fn requests(app: &TestApp) -> Vec<Mailed> {
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT aggregate_id, reference, channel FROM queue_requests ORDER BY received_at, reference",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(aggregate_id, reference, channel)| Mailed {
            aggregate_id,
            reference,
            channel,
        })
        .collect()
}

/// Waits until `check` holds, at most `limit`.
pub(crate) async fn until<F, Fut>(limit: std::time::Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = std::time::Instant::now();
    while !check().await {
        assert!(started.elapsed() < limit, "waited {limit:?} for {what}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The URP mailbox `app` is configured to read.
pub(crate) fn mailbox_of(app: &TestApp) -> sportello_server::mail_in::Mailbox {
    let config = app
        .app
        .config
        .mail_in
        .as_ref()
        .expect("a mailbox is configured");
    config.mail.clone().expect("the URP's mailbox")
}

/// The channels of the requests filed, sorted.
pub(crate) async fn channels(app: &TestApp) -> Vec<String> {
    let mut channels: Vec<String> = requests(app).await.into_iter().map(|r| r.channel).collect();
    channels.sort();
    channels
}

/// The requests' pages as the URP operator sees them, one after the other.
pub(crate) async fn staff_pages(app: &TestApp, filed: &[Mailed]) -> String {
    let (operator, _, _) = app.operator_client().await;
    let mut pages = String::new();
    for request in filed {
        let page = operator
            .get(&format!("/ufficio/richieste/{}", request.aggregate_id))
            .await;
        assert_eq!(page.status, axum::http::StatusCode::OK);
        pages.push_str(&page.text());
    }
    pages
}

pub(crate) async fn quarantined(app: &TestApp) -> Vec<String> {
    sqlx::query_scalar("SELECT reason FROM mail_quarantine ORDER BY id")
        .fetch_all(&app.pool)
        .await
        .unwrap()
}

/// Files a letter and returns the request and the acknowledgement as the citizen got it.
pub(crate) async fn filed_letter(
    app: &TestApp,
    dovecot: &Dovecot,
    smtp: &SmtpServer,
    user: &str,
) -> (Mailed, smtp::ParsedMail) {
    dovecot
        .deliver(
            user,
            &letter(
                "first@example.org",
                "Rifiuti non raccolti",
                "Da tre giorni nessuno ritira i rifiuti.",
            ),
        )
        .await;
    app.read_mailbox().await;
    let sent = smtp.wait_for(1, std::time::Duration::from_secs(5)).await;
    let filed = requests(app).await.remove(0);
    (filed, smtp::parse(&sent[0]))
}

pub(crate) fn header(mail: &smtp::ParsedMail, name: &str) -> String {
    mail.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// The address between the angle brackets of a header such as `URP <urp+r…@comune.test>`.
pub(crate) fn address_in(value: &str) -> String {
    value
        .rsplit('<')
        .next()
        .unwrap_or(value)
        .trim_end_matches('>')
        .to_string()
}

/// Delivers to `user`'s mailbox the citizen's reply to `ack`, sent to `to`.
pub(crate) async fn deliver_reply(
    dovecot: &Dovecot,
    user: &str,
    to: &str,
    ack: &smtp::ParsedMail,
    id: &str,
    body: &str,
) {
    dovecot
        .deliver(user, &reply_to_ack(to, ack, id, body))
        .await;
}

pub(crate) fn reply_to_ack(to: &str, ack: &smtp::ParsedMail, id: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Maria Rossi <maria.rossi@example.org>\r\nTo: {to}\r\nSubject: Re: {}\r\n\
         Message-ID: <{id}>\r\nIn-Reply-To: {}\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n\r\n> testo citato\r\n",
        ack.subject,
        header(ack, "Message-ID")
    )
    .into_bytes()
}

pub(crate) async fn event_types(app: &TestApp, aggregate_id: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT event_type FROM events WHERE aggregate_id = ? ORDER BY sequence")
        .bind(aggregate_id)
        .fetch_all(&app.pool)
        .await
        .unwrap()
}
