//! Mailboxes over TLS and STARTTLS (the shared Dovecot's certificate signed by a throwaway
//! authority given as `SPORTELLO_IMAP_CA_FILE`), and what administrators see when a mailbox
//! does not connect: an untrusted certificate, a wrong password.

use std::time::Duration;

use axum::http::StatusCode;
use sportello_server::staff::Role;

use super::{channels, letter, requests, until, user};
use crate::support::dovecot::Dovecot;
use crate::support::{strip_tags, Options, TestApp};

const STATUS: &str = "/ufficio/amministrazione/stato";

/// The readers of every configured mailbox, as the server runs them, until the guard is dropped.
struct Readers {
    stop: tokio::sync::watch::Sender<bool>,
}

impl Readers {
    fn start(app: &TestApp) -> Readers {
        let (stop, shutdown) = tokio::sync::watch::channel(false);
        drop(sportello_server::mail_in::spawn(&app.app, &shutdown));
        Readers { stop }
    }
}

impl Drop for Readers {
    fn drop(&mut self) {
        self.stop.send(true).ok();
    }
}

async fn status_page(app: &TestApp) -> String {
    let (email, password) = app
        .add_staff("Ada Amministratrice", &[Role::Administrator], &[])
        .await;
    app.signed_in_as(&email, &password).await;
    let page = app.get(STATUS).await;
    assert_eq!(page.status, StatusCode::OK);
    strip_tags(&page.text())
}

#[tokio::test]
async fn mailboxes_over_tls_and_starttls_are_read_with_the_comunes_own_authority() {
    let dovecot = Dovecot::shared().await;
    let (mail, pec) = (user(), user());
    let app = TestApp::start_with(Options {
        extra: vec![
            ("SPORTELLO_IMAP_URL", dovecot.tls_url(&mail)),
            ("SPORTELLO_PEC_IMAP_URL", dovecot.starttls_url(&pec)),
            ("SPORTELLO_IMAP_CA_FILE", dovecot.ca_file()),
            ("SPORTELLO_MAIL_IN_POLL_SECONDS", "1".to_string()),
        ],
        ..Default::default()
    })
    .await;
    dovecot
        .deliver(
            &mail,
            &letter("tls@example.org", "Buca", "Una buca in via Roma."),
        )
        .await;
    dovecot
        .deliver(
            &pec,
            &letter("starttls@example.org", "Lampione", "Un lampione spento."),
        )
        .await;
    let readers = Readers::start(&app);
    until(Duration::from_secs(30), "both messages filed", || async {
        let filed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mail_in_messages")
            .fetch_one(&app.pool)
            .await
            .unwrap();
        filed == 2
    })
    .await;
    app.settle().await;
    assert_eq!(channels(&app).await, ["email", "pec"]);
    assert_eq!(
        dovecot.count(&mail, "INBOX").await,
        0,
        "moved out once filed"
    );

    let page = status_page(&app).await;
    drop(readers);
    assert_eq!(
        page.matches("collegata (ultima verifica").count(),
        2,
        "{page}"
    );
    assert_eq!(
        page.matches("messaggi letti nelle ultime 24 ore: 1")
            .count(),
        2,
        "{page}"
    );
    for processor in ["citizen_status", "queue", "statistics", "notifications"] {
        assert!(page.contains(processor), "{processor} is listed: {page}");
    }
}

#[tokio::test]
async fn administrators_see_why_a_mailbox_does_not_connect_and_only_they_do() {
    let dovecot = Dovecot::shared().await;
    let (mail, pec) = (user(), user());
    let wrong = dovecot
        .url(&pec)
        .replace(crate::support::dovecot::PASSWORD, "cambiata-ieri");
    let app = TestApp::start_with(Options {
        // No SPORTELLO_IMAP_CA_FILE: the server's certificate is signed by no known authority.
        extra: vec![
            ("SPORTELLO_IMAP_URL", dovecot.tls_url(&mail)),
            ("SPORTELLO_PEC_IMAP_URL", wrong),
        ],
        ..Default::default()
    })
    .await;
    dovecot
        .deliver(
            &mail,
            &letter("kept@example.org", "Buca", "Una buca in via Roma."),
        )
        .await;
    let readers = Readers::start(&app);
    until(
        Duration::from_secs(30),
        "both failures reported",
        || async {
            let failing: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM mail_in_status WHERE NOT ok AND failures > 0",
            )
            .fetch_one(&app.pool)
            .await
            .unwrap();
            failing == 2
        },
    )
    .await;
    assert_eq!(
        app.get("/healthz").await.status,
        StatusCode::OK,
        "the server goes on"
    );

    let page = status_page(&app).await;
    drop(readers);
    assert_eq!(page.matches("non raggiungibile").count(), 2, "{page}");
    assert!(
        page.contains("UnknownIssuer"),
        "the certificate is named: {page}"
    );
    assert!(
        page.contains("IMAP sign-in refused"),
        "the password is named: {page}"
    );
    // Each failed at least once by now (the certificate's may have been retried since).
    assert_eq!(
        page.matches("tentativi falliti di fila: ").count(),
        2,
        "{page}"
    );
    assert!(!page.contains("cambiata-ieri"), "never the password itself");
    assert!(requests(&app).await.is_empty());
    assert_eq!(
        dovecot.count(&mail, "INBOX").await,
        1,
        "the message waits, untouched"
    );

    let (operator, _, _) = app.operator_client().await;
    assert_eq!(operator.get(STATUS).await.status, StatusCode::NOT_FOUND);
    let quarantine = strip_tags(&operator.get("/ufficio/posta").await.text());
    assert_eq!(
        quarantine.matches("non raggiungibile").count(),
        2,
        "the URP sees it too"
    );
}
