//! The acknowledgement e-mail through a real SMTP server: once, in the citizen's language,
//! retried through outages, recorded as an event, never duplicated by a restart.

use std::time::Duration;

use crate::support::smtp::{parse, Mode, SmtpServer};
use crate::support::{complaint, Options, TestApp};

#[tokio::test]
async fn the_acknowledgement_carries_the_reference_a_summary_and_the_private_link() {
    let smtp = SmtpServer::start().await;
    let app = TestApp::with_mail(&smtp).await;
    let receipt = app.file(complaint("Lampione spento")).await;
    app.settle().await;
    let mails = smtp.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(mails[0].to, ["maria.rossi@example.it"]);
    let mail = parse(&mails[0]);
    assert_eq!(
        mail.subject,
        format!("Segnalazione {} ricevuta", receipt.reference)
    );
    assert!(mail.text.contains("Gentile Maria,"));
    assert!(mail.text.contains("Oggetto: Lampione spento"));
    assert!(mail
        .text
        .contains("Argomento: Lavori pubblici e manutenzioni"));
    assert!(mail
        .text
        .contains("Risposta dovuta entro il: 9 aprile 2026"));
    let link = format!("https://urp.comune.test/segui/{}", receipt.token);
    assert!(
        mail.text.contains(&link),
        "the link uses the configured public URL"
    );
    assert!(mail.html.contains(&format!("href=\"{link}\"")));
    assert!(mail.html.contains("<html lang=\"it\">"));
    assert_eq!(
        app.event_types(&receipt.reference).await,
        ["RequestReceived", "RequestAcknowledged"]
    );
    assert_eq!(
        app.history(&receipt).await,
        [
            "Richiesta ricevuta",
            "Conferma di ricezione inviata per e-mail"
        ]
    );
}

#[tokio::test]
async fn an_english_speaking_citizen_gets_the_mail_in_english() {
    let smtp = SmtpServer::start().await;
    let app = TestApp::with_mail(&smtp).await;
    app.get("/lingua/en").await;
    let receipt = app.file(complaint("Broken street light")).await;
    app.settle().await;
    let mail = parse(&smtp.wait_for(1, Duration::from_secs(5)).await[0]);
    assert_eq!(
        mail.subject,
        format!("Request {} received", receipt.reference)
    );
    assert!(mail.text.contains("Dear Maria,"));
    assert!(mail.text.contains("Answer due by: 9 April 2026"));
}

#[tokio::test]
async fn a_host_header_never_changes_the_link_in_the_mail() {
    let smtp = SmtpServer::start().await;
    let app = TestApp::with_mail(&smtp).await;
    let token = app.open_form().await;
    let (content_type, body) = complaint("Host").first("csrf_token", &token).encode();
    let request = axum::http::Request::post("/segnalazioni")
        .header("content-type", content_type)
        .header("host", "evil.example")
        .header("x-forwarded-host", "evil.example")
        .body(axum::body::Body::from(body))
        .unwrap();
    app.send(request).await;
    app.settle().await;
    let mail = parse(&smtp.wait_for(1, Duration::from_secs(5)).await[0]);
    assert!(!mail.text.contains("evil.example"));
    assert!(mail.text.contains("https://urp.comune.test/segui/"));
}

#[tokio::test]
async fn an_smtp_outage_is_retried_and_a_restart_sends_no_second_mail() {
    let smtp = SmtpServer::start().await;
    smtp.set_mode(Mode::Refuse);
    let app = TestApp::with_mail(&smtp).await;
    let receipt = app.file(complaint("Durante il guasto")).await;
    app.settle().await;
    assert_eq!(smtp.count(), 0);
    let (status, attempts): (String, i32) = sqlx::query_as("SELECT status, attempts FROM outbox")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!((status.as_str(), attempts), ("pending", 1));
    assert_eq!(
        app.event_types(&receipt.reference).await,
        ["RequestReceived"],
        "no acknowledgement before the mail is accepted"
    );

    // The server comes back while the first copy is gone: a restarted copy sends once.
    let database_url = app.database_url.clone();
    drop(app);
    smtp.set_mode(Mode::Accept);
    let restarted = TestApp::on_database(
        database_url,
        Options {
            smtp_url: Some(smtp.url()),
            ..Default::default()
        },
    )
    .await;
    restarted.settle().await;
    smtp.wait_for(1, Duration::from_secs(5)).await;
    // Another restart, and another round of work: nothing more is sent.
    let again = restarted.copy_with_mail(&smtp).await;
    again.settle().await;
    restarted.settle().await;
    assert_eq!(smtp.count(), 1);
    assert_eq!(
        again.event_types(&receipt.reference).await,
        ["RequestReceived", "RequestAcknowledged"]
    );
}

#[tokio::test]
async fn a_temporary_refusal_is_retried_until_accepted() {
    let smtp = SmtpServer::start().await;
    smtp.set_mode(Mode::TemporaryFailure);
    let app = TestApp::with_mail(&smtp).await;
    let receipt = app.file(complaint("Greylisting")).await;
    app.settle().await;
    smtp.set_mode(Mode::Accept);
    app.settle().await;
    assert_eq!(smtp.wait_for(1, Duration::from_secs(5)).await.len(), 1);
    let attempts: i32 = sqlx::query_scalar("SELECT attempts FROM outbox")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(attempts, 1, "one failed attempt before the success");
    assert_eq!(
        app.event_types(&receipt.reference).await,
        ["RequestReceived", "RequestAcknowledged"]
    );
}

#[tokio::test]
async fn a_permanent_refusal_is_recorded_as_an_event_for_staff_not_shown_to_the_citizen() {
    let smtp = SmtpServer::start().await;
    smtp.set_mode(Mode::PermanentFailure);
    let app = TestApp::with_mail(&smtp).await;
    let receipt = app.file(complaint("Casella inesistente")).await;
    app.settle().await;
    assert_eq!(
        app.event_types(&receipt.reference).await,
        ["RequestReceived", "AcknowledgementFailed"]
    );
    let payload: String = sqlx::query_scalar(
        "SELECT CAST(payload AS CHAR) FROM events WHERE event_type = 'AcknowledgementFailed'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(
        payload.contains("smtp 550") && !payload.contains("maria"),
        "{payload}"
    );
    assert_eq!(app.history(&receipt).await, ["Richiesta ricevuta"]);
    let status: String = sqlx::query_scalar("SELECT status FROM outbox")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(status, "failed");
}

#[tokio::test]
async fn retries_stop_after_the_configured_attempts_with_a_failure_event() {
    let smtp = SmtpServer::start().await;
    smtp.set_mode(Mode::Refuse);
    let app = TestApp::with_mail(&smtp).await;
    let receipt = app.file(complaint("Server spento")).await;
    for _ in 0..3 {
        app.settle().await;
    }
    assert_eq!(
        app.event_types(&receipt.reference).await,
        ["RequestReceived", "AcknowledgementFailed"]
    );
    let (status, attempts): (String, i32) = sqlx::query_as("SELECT status, attempts FROM outbox")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!((status.as_str(), attempts), ("failed", 3));
}

#[tokio::test]
async fn a_row_reclaimed_after_a_crash_is_not_sent_twice() {
    let smtp = SmtpServer::start().await;
    let app = TestApp::with_mail(&smtp).await;
    app.file(complaint("Crash")).await;
    app.settle().await;
    smtp.wait_for(1, Duration::from_secs(5)).await;
    // As if the copy had died after recording the event but before closing the row.
    sqlx::query("UPDATE outbox SET status = 'pending', tracking_token = 'x'")
        .execute(&app.pool)
        .await
        .unwrap();
    app.settle().await;
    assert_eq!(smtp.count(), 1);
}

#[tokio::test]
async fn two_copies_working_the_outbox_at_once_send_each_mail_once() {
    let smtp = SmtpServer::start().await;
    let first = TestApp::with_mail(&smtp).await;
    for index in 0..10 {
        first.file(complaint(&format!("Richiesta {index}"))).await;
    }
    let second = first.copy_with_mail(&smtp).await;
    tokio::join!(first.settle(), second.settle());
    smtp.wait_for(10, Duration::from_secs(10)).await;
    first.settle().await;
    assert_eq!(smtp.count(), 10);
}

#[tokio::test]
async fn without_smtp_the_mail_is_written_as_an_eml_file() {
    let app = TestApp::start().await;
    let receipt = app.file(complaint("Senza SMTP")).await;
    app.settle().await;
    let files: Vec<_> = std::fs::read_dir(app.data_dir.join("mail"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    assert!(files[0].extension().unwrap() == "eml");
    let bytes = std::fs::read(&files[0]).unwrap();
    let mail = parse(&crate::support::smtp::ReceivedMail {
        from: String::new(),
        to: vec![],
        data: bytes,
    });
    assert!(mail.subject.contains(&receipt.reference));
}

/// The value of a top-level header of a received mail.
fn header(mail: &crate::support::smtp::ParsedMail, name: &str) -> Option<String> {
    mail.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
}

#[tokio::test]
async fn every_mail_carries_a_message_id_of_its_outbox_row_and_says_it_was_sent_automatically() {
    let smtp = SmtpServer::start().await;
    let app = TestApp::with_mail(&smtp).await;
    let department = app.add_department("Lavori Pubblici").await;
    let (_, id) = app.file_request(complaint("Intestazioni")).await;
    app.sign_in_operator().await;
    let forwarded = app
        .act(&id, "inoltra", &[("department", &department.to_string())])
        .await;
    assert_eq!(forwarded.status, axum::http::StatusCode::SEE_OTHER);
    app.settle().await;
    // The acknowledgement, the department's notice and the citizen's "forwarded" note.
    let mails = smtp.wait_for(3, Duration::from_secs(5)).await;
    let rows: Vec<(i64, chrono::DateTime<chrono::Utc>, String)> =
        sqlx::query_as("SELECT id, created_at, kind FROM outbox ORDER BY id")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    let mut ids = Vec::new();
    for mail in &mails {
        let mail = parse(mail);
        assert_eq!(
            header(&mail, "Auto-Submitted").as_deref(),
            Some("auto-generated"),
            "{}",
            mail.subject
        );
        let message_id = header(&mail, "Message-ID").expect("a Message-ID");
        assert!(
            rows.iter().any(|(row, created, _)| message_id
                == sportello_server::mail::worker::message_id(*row, *created, "urp.comune.test")),
            "{message_id} comes from an outbox row"
        );
        ids.push(message_id);
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3, "one Message-ID per mail");

    // The department's mail sent again (as after a crash between sending and closing the row)
    // carries the same Message-ID, so the receiver can tell it is the same message.
    let (row, _, _) = rows
        .iter()
        .find(|(_, _, kind)| kind == "forwarded")
        .unwrap();
    let first = mails
        .iter()
        .find(|mail| mail.to.iter().any(|to| to == "lavori-pubblici@comune.test"))
        .map(|mail| header(&parse(mail), "Message-ID").unwrap())
        .expect("the department's mail");
    sqlx::query("UPDATE outbox SET status = 'pending', finished_at = NULL WHERE id = ?")
        .bind(row)
        .execute(&app.pool)
        .await
        .unwrap();
    app.settle().await;
    let again = smtp.wait_for(4, Duration::from_secs(5)).await;
    assert_eq!(header(&parse(&again[3]), "Message-ID"), Some(first));
}

#[tokio::test]
async fn the_comunes_own_addresses_are_refused_as_a_citizens_contact() {
    let smtp = SmtpServer::start().await;
    let app = TestApp::with_mail(&smtp).await;
    app.add_department("Tributi").await;
    app.add_operator().await;
    for own in [
        "urp@comune.test",
        "URP+prova@Comune.test",
        "tributi@comune.test",
        "dirigente@comune.test",
        "anna.operatrice@comune.test",
    ] {
        let response = app
            .submit(
                complaint("Indirizzo del Comune")
                    .text("email", own)
                    .text("email_confirmation", own),
            )
            .await;
        assert_eq!(
            response.status,
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "{own}"
        );
        assert!(
            response
                .error_summary()
                .unwrap()
                .contains("Questo indirizzo è del Comune"),
            "{own}"
        );
        assert_eq!(response.input_value("email").as_deref(), Some(own), "kept");
    }
    assert_eq!(app.count_events().await, 0);
    let registration = app
        .register(
            "Anna",
            "tributi@comune.test",
            "una password lunga e segreta",
        )
        .await;
    assert_eq!(
        registration.status,
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    );
    assert!(registration
        .text()
        .contains("Questo indirizzo è del Comune"));
}

#[tokio::test]
async fn an_address_that_became_the_comunes_gets_no_mail_and_staff_are_told() {
    let smtp = SmtpServer::start().await;
    let app = TestApp::with_mail(&smtp).await;
    let receipt = app.file(complaint("Indirizzo diventato del Comune")).await;
    // Between the filing and the mail, the citizen's address became an office's.
    sportello_server::directory::add_department(
        &app.pool,
        sportello_server::app::DEFAULT_ORGANISATION,
        "Ufficio Rossi",
        "maria.rossi@example.it",
        None,
    )
    .await
    .unwrap();
    app.settle().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(smtp.count(), 0);
    assert_eq!(
        app.event_types(&receipt.reference).await,
        ["RequestReceived", "AcknowledgementFailed"]
    );
}
