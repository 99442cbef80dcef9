//! The URP decides what waits in quarantine.

use super::*;
use crate::support::mailing::with_mailbox;

/// The quarantine page's CSRF token and the ids of the messages waiting there.
async fn quarantine_page(client: &TestApp) -> (String, String) {
    let page = client.get("/ufficio/posta").await;
    assert_eq!(page.status, axum::http::StatusCode::OK);
    let token = page
        .input_value("csrf_token")
        .expect("a form with its token");
    (token, page.text())
}

async fn waiting_ids(app: &TestApp) -> Vec<i64> {
    sqlx::query_scalar("SELECT id FROM mail_quarantine WHERE status = 'waiting' ORDER BY id")
        .fetch_all(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_urp_files_attaches_or_discards_what_waits_in_quarantine_and_each_decision_is_recorded()
{
    use axum::http::StatusCode;
    let (dovecot, smtp, user) = (Dovecot::shared().await, SmtpServer::start().await, user());
    let app = with_mailbox(&smtp, dovecot, &user, vec![]).await;
    let (filed, ack) = filed_letter(&app, dovecot, &smtp, &user).await;
    let auto = "From: Giulia Neri <giulia@example.org>\r\nTo: urp@comune.test\r\nSubject: Risposta automatica: orari\r\n\
        Message-ID: <q1@example.org>\r\nAuto-Submitted: auto-replied\r\n\r\nVorrei sapere gli orari dell'anagrafe.\r\n";
    dovecot.deliver(&user, auto.as_bytes()).await;
    deliver_reply(
        dovecot,
        &user,
        "urp+rzzzzzzzzzzzzzzzzzzzzzzzzzz@comune.test",
        &ack,
        "q2@example.org",
        "Allego la foto che mancava.",
    )
    .await;
    let bulk = "From: news@example.org\r\nTo: urp@comune.test\r\nSubject: Offerte\r\nMessage-ID: <q3@example.org>\r\n\
        Precedence: bulk\r\n\r\nOfferte.\r\n";
    dovecot.deliver(&user, bulk.as_bytes()).await;
    app.read_mailbox().await;
    let ids = waiting_ids(&app).await;
    assert_eq!(ids.len(), 3);

    // Only the URP reaches the quarantine.
    let department = app.add_department("Lavori pubblici").await;
    let (referent, _, _) = app
        .staff_client(
            "Rita Referente",
            &[sportello_server::staff::Role::Referent],
            &[department],
        )
        .await;
    assert_eq!(
        referent.get("/ufficio/posta").await.status,
        StatusCode::NOT_FOUND
    );
    let (operator, _, _) = app.operator_client().await;
    let inbox = operator.get("/ufficio/richieste").await.text();
    assert!(inbox.contains("Posta in quarantena: 3 messaggi aspettano una decisione"));
    let (token, page) = quarantine_page(&operator).await;
    assert!(page.contains("Risposta automatica: orari"));
    assert!(page.contains("risposta automatica, lista o avviso di sistema"));
    assert!(page.contains("risposta a un indirizzo che non corrisponde a nessuna richiesta"));

    // Without the token nothing happens.
    let forged = operator
        .post_urlencoded(&format!("/ufficio/posta/{}/scarta", ids[2]), &[])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    // File the automatic one as a request.
    let done = operator
        .post_urlencoded(
            &format!("/ufficio/posta/{}/archivia", ids[0]),
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    app.settle().await;
    let all = requests(&app).await;
    assert_eq!(all.len(), 2);
    let new = all
        .iter()
        .find(|r| r.aggregate_id != filed.aggregate_id)
        .unwrap();
    assert_eq!(new.channel, "email");
    let again = operator
        .post_urlencoded(
            &format!("/ufficio/posta/{}/archivia", ids[0]),
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND, "decided once");

    // Attach the forged reply: a wrong number is refused and kept, the right one works.
    let wrong = operator
        .post_urlencoded(
            &format!("/ufficio/posta/{}/allega", ids[1]),
            &[("csrf_token", &token), ("riferimento", "2026/9999999")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong
        .text()
        .contains("Non c&#x27;è una richiesta con questo numero"));
    assert!(
        wrong.text().contains("value=\"2026/9999999\""),
        "what was typed is kept"
    );
    assert!(wrong.text().contains("aria-invalid=\"true\""));
    assert!(
        wrong.text().contains("href=\"#riferimento\"")
            && wrong.text().contains("id=\"riferimento\""),
        "the error summary links to the field that holds the wrong number"
    );
    let attached = operator
        .post_urlencoded(
            &format!("/ufficio/posta/{}/allega", ids[1]),
            &[("csrf_token", &token), ("riferimento", &filed.reference)],
        )
        .await;
    assert_eq!(attached.status, StatusCode::SEE_OTHER);
    app.settle().await;
    let types = event_types(&app, &filed.aggregate_id).await;
    assert!(types.contains(&"CitizenReplied".to_string()), "{types:?}");

    // Discard the list mail.
    let discarded = operator
        .post_urlencoded(
            &format!("/ufficio/posta/{}/scarta", ids[2]),
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(discarded.status, StatusCode::SEE_OTHER);

    let rows: Vec<(String, Option<String>, bool)> =
        sqlx::query_as("SELECT status, decided_by, raw IS NULL FROM mail_quarantine ORDER BY id")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        rows.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
        ["filed", "attached", "discarded"]
    );
    assert!(
        rows.iter().all(|r| r.1.is_some() && r.2),
        "who decided is kept, the message is not"
    );
    let (_, page) = quarantine_page(&operator).await;
    assert!(page.contains("Nessun messaggio in quarantena."));
    assert!(page.contains("Registrato come richiesta") && page.contains("Scartato"));
    assert!(page.contains("Anna Operatrice"));
    assert!(!operator
        .get("/ufficio/richieste")
        .await
        .text()
        .contains("quarantine-notice"));
}
