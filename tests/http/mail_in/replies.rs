//! Replies, bounces and PEC: what comes back about a request lands on it, or waits.

use super::*;
use crate::support::mailing::with_mailbox;

#[tokio::test]
async fn a_reply_to_the_acknowledgement_lands_on_its_request_and_a_forged_one_in_quarantine() {
    let (dovecot, smtp, user) = (Dovecot::shared().await, SmtpServer::start().await, user());
    let app = with_mailbox(&smtp, dovecot, &user, vec![]).await;
    let (filed, ack) = filed_letter(&app, dovecot, &smtp, &user).await;
    let reply_address = address_in(&header(&ack, "Reply-To"));
    deliver_reply(
        dovecot,
        &user,
        &reply_address,
        &ack,
        "r1@example.org",
        "Aggiungo: anche in via Verdi.",
    )
    .await;
    // The same reply with one letter of the token changed, and one to a token never issued.
    let (head, tail) = reply_address.split_once('@').unwrap();
    let altered = format!(
        "{}{}@{tail}",
        &head[..head.len() - 1],
        if head.ends_with('a') { 'b' } else { 'a' }
    );
    deliver_reply(
        dovecot,
        &user,
        &altered,
        &ack,
        "r2@example.org",
        "Sono un altro.",
    )
    .await;
    deliver_reply(
        dovecot,
        &user,
        "urp+rabcdefghijklmnopqrstuvwxyz@comune.test",
        &ack,
        "r3@example.org",
        "Indovino.",
    )
    .await;
    assert_eq!(app.read_mailbox().await, 3);

    let types = event_types(&app, &filed.aggregate_id).await;
    assert_eq!(
        types.iter().filter(|t| *t == "CitizenReplied").count(),
        1,
        "{types:?}"
    );
    assert_eq!(requests(&app).await.len(), 1, "no reply became a request");
    assert_eq!(quarantined(&app).await, ["unknown_reply", "unknown_reply"]);
    let page = staff_pages(&app, std::slice::from_ref(&filed)).await;
    assert!(page.contains("anche in via Verdi"));
    assert!(page.contains("Il cittadino ha inviato altre informazioni (E-mail)"));
    assert!(!page.contains("Sono un altro") && !page.contains("Indovino"));
}

#[tokio::test]
async fn a_reply_to_a_closed_request_reopens_it_or_after_the_period_starts_a_new_one() {
    use sportello_domain::{Outcome, RequestCommand};
    let (dovecot, smtp, user) = (Dovecot::shared().await, SmtpServer::start().await, user());
    let app = with_mailbox(&smtp, dovecot, &user, vec![]).await;
    let (filed, ack) = filed_letter(&app, dovecot, &smtp, &user).await;
    let close = |at| RequestCommand::Close {
        by: uuid::Uuid::nil(),
        at,
        outcome: Outcome::Withdrawn,
    };
    let metadata = sportello_server::event_store::metadata("staff:test", "web", "c1");
    sportello_server::event_store::execute(
        &app.app.requests,
        &filed.aggregate_id,
        close(crate::support::default_now()),
        metadata.clone(),
    )
    .await
    .unwrap();
    let reply_address = address_in(&header(&ack, "Reply-To"));
    deliver_reply(
        dovecot,
        &user,
        &reply_address,
        &ack,
        "c1@example.org",
        "Non è ancora risolto.",
    )
    .await;
    app.read_mailbox().await;
    let types = event_types(&app, &filed.aggregate_id).await;
    assert_eq!(
        types[types.len() - 2..],
        ["RequestReopened".to_string(), "CitizenReplied".to_string()]
    );

    // Closed again, forty days ago: past the thirty days of reopening.
    sportello_server::event_store::execute(
        &app.app.requests,
        &filed.aggregate_id,
        close(crate::support::default_now() - chrono::Duration::days(40)),
        metadata,
    )
    .await
    .unwrap();
    deliver_reply(
        dovecot,
        &user,
        &reply_address,
        &ack,
        "c2@example.org",
        "Ancora rifiuti per strada.",
    )
    .await;
    app.read_mailbox().await;
    let all = requests(&app).await;
    assert_eq!(all.len(), 2, "a new request");
    let new = all
        .iter()
        .find(|r| r.aggregate_id != filed.aggregate_id)
        .unwrap();
    let page = staff_pages(&app, std::slice::from_ref(new)).await;
    assert!(page.contains("Ancora rifiuti per strada"));
    assert!(
        page.contains(&format!("segue la richiesta {}", filed.reference)),
        "it says which request it follows"
    );
}

#[tokio::test]
async fn a_bounce_of_the_acknowledgement_tells_staff_the_address_does_not_work() {
    let (dovecot, smtp, user) = (Dovecot::shared().await, SmtpServer::start().await, user());
    let app = with_mailbox(&smtp, dovecot, &user, vec![]).await;
    let (filed, ack) = filed_letter(&app, dovecot, &smtp, &user).await;
    let dsn = format!(
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\nTo: urp@comune.test\r\n\
         Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <b1@mx.example.org>\r\n\
         Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n\
         --B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n\
         --B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\n\
         Final-Recipient: rfc822; maria.rossi@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n\
         Diagnostic-Code: smtp; 550 5.1.1 <maria.rossi@example.org>: Recipient address rejected\r\n\r\n\
         --B\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: urp@comune.test\r\n\
         To: maria.rossi@example.org\r\nSubject: {}\r\nMessage-ID: {}\r\n\r\n--B--\r\n",
        ack.subject,
        header(&ack, "Message-ID")
    );
    dovecot.deliver(&user, dsn.as_bytes()).await;
    app.read_mailbox().await;
    let types = event_types(&app, &filed.aggregate_id).await;
    assert!(types.contains(&"DeliveryFailed".to_string()), "{types:?}");
    assert!(quarantined(&app).await.is_empty());
    let (operator, _, _) = app.operator_client().await;
    let inbox = operator.get("/ufficio/richieste").await.text();
    assert!(inbox.contains("indirizzo e-mail non funzionante"));
    assert!(inbox.contains("E-mail"), "the channel is shown");
    let page = operator
        .get(&format!("/ufficio/richieste/{}", filed.aggregate_id))
        .await
        .text();
    assert!(
        page.contains("l&#x27;indirizzo del cittadino non funziona (status 5.1.1)"),
        "{page}"
    );
    assert!(
        !page.contains("Recipient address rejected"),
        "the server's text is not kept"
    );
    assert_eq!(smtp.count(), 1, "a bounce is never answered");

    // The URP stops writing by e-mail: the answer is recorded, and no mail goes to the citizen.
    let refused = operator
        .act(&filed.aggregate_id, "contatto", &[("contact", "fax")])
        .await;
    assert_eq!(refused.status, axum::http::StatusCode::UNPROCESSABLE_ENTITY);
    let switched = operator
        .act(&filed.aggregate_id, "contatto", &[("contact", "paper")])
        .await;
    assert_eq!(switched.status, axum::http::StatusCode::SEE_OTHER);
    let answered = operator
        .act(
            &filed.aggregate_id,
            "rispondi",
            &[("message", "Abbiamo segnalato la raccolta.")],
        )
        .await;
    assert_eq!(answered.status, axum::http::StatusCode::SEE_OTHER);
    app.settle().await;
    assert_eq!(
        smtp.count(),
        1,
        "no e-mail to an address that does not work"
    );
    let page = operator
        .get(&format!("/ufficio/richieste/{}", filed.aggregate_id))
        .await
        .text();
    assert!(page.contains("Il cittadino sarà contattato per lettera, non più per e-mail"));
    let closed: Vec<String> =
        sqlx::query_scalar("SELECT status FROM outbox WHERE request_id = ? AND kind = 'answer'")
            .bind(&filed.aggregate_id)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(closed, ["paper"], "the answer's mail is closed, not sent");
}

#[tokio::test]
async fn a_pec_message_is_filed_as_pec_answered_by_pec_and_its_receipts_recorded() {
    let (dovecot, smtp, user) = (Dovecot::shared().await, SmtpServer::start().await, user());
    let pec_smtp = SmtpServer::start().await;
    let app = with_mailbox(
        &smtp,
        dovecot,
        &user,
        vec![
            ("SPORTELLO_PEC_SMTP_URL", pec_smtp.url()),
            ("SPORTELLO_PEC_FROM", "protocollo@pec.comune.test".into()),
            // One letter an hour per sender: the provider's receipts never count against it.
            ("SPORTELLO_MAIL_IN_PER_SENDER_HOUR", "1".into()),
        ],
    )
    .await;
    let inner = "From: Studio Legale Neri <studio.neri@pec.example.org>\r\nTo: protocollo@pec.comune.test\r\n\
        Subject: Istanza di accesso agli atti\r\nMessage-ID: <inner1@pec.example.org>\r\n\
        MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
        Chiediamo copia della delibera n. 12/2026.\r\n";
    let envelope = format!(
        "From: \"Per conto di: studio.neri@pec.example.org\" <posta-certificata@pec.provider.it>\r\n\
         To: protocollo@pec.comune.test\r\nSubject: POSTA CERTIFICATA: Istanza di accesso agli atti\r\n\
         Message-ID: <env1@pec.provider.it>\r\nX-Trasporto: posta-certificata\r\n\
         X-Riferimento-Message-ID: <inner1@pec.example.org>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=\"S\"\r\n\r\n\
         --S\r\nContent-Type: multipart/mixed; boundary=\"M\"\r\n\r\n\
         --M\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nMessaggio di posta certificata.\r\n\
         --M\r\nContent-Type: application/xml; name=\"daticert.xml\"\r\n\
         Content-Disposition: attachment; filename=\"daticert.xml\"\r\n\r\n\
         <postacert tipo=\"posta-certificata\"><intestazione><mittente>studio.neri@pec.example.org</mittente></intestazione></postacert>\r\n\
         --M\r\nContent-Type: message/rfc822; name=\"postacert.eml\"\r\n\
         Content-Disposition: attachment; filename=\"postacert.eml\"\r\n\r\n{inner}\r\n--M--\r\n\
         --S\r\nContent-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\n\
         Content-Disposition: attachment; filename=\"smime.p7s\"\r\nContent-Transfer-Encoding: base64\r\n\r\n\
         MIAGCSqGSIb3DQEHAqCAMIACAQExDzANBglghkgBZQMEAgEFADCABgkqhkiG9w0BBwEAAA==\r\n--S--\r\n"
    );
    dovecot.deliver(&user, envelope.as_bytes()).await;
    app.read_mailbox().await;
    let filed = requests(&app).await;
    assert_eq!(filed.len(), 1);
    assert_eq!(filed[0].channel, "pec");
    let page = staff_pages(&app, &filed).await;
    assert!(page.contains("Istanza di accesso agli atti"));
    assert!(page.contains("delibera n. 12/2026"));
    assert!(
        page.contains("studio.neri@pec.example.org"),
        "the sender is the citizen, not the provider"
    );

    let sent = pec_smtp
        .wait_for(1, std::time::Duration::from_secs(5))
        .await;
    assert_eq!(smtp.count(), 0, "the answer to a PEC goes by PEC");
    assert_eq!(sent[0].from, "protocollo@pec.comune.test");
    let ack = smtp::parse(&sent[0]);
    assert_eq!(ack.to, ["studio.neri@pec.example.org"]);
    assert!(header(&ack, "From").contains("protocollo@pec.comune.test"));
    assert_eq!(header(&ack, "In-Reply-To"), "<inner1@pec.example.org>");

    for (kind, id) in [("accettazione", "rc1"), ("avvenuta-consegna", "rc2")] {
        let receipt = format!(
            "From: posta-certificata@pec.provider.it\r\nTo: protocollo@pec.comune.test\r\n\
             Subject: {kind}: {}\r\nMessage-ID: <{id}@pec.provider.it>\r\nX-Ricevuta: {kind}\r\n\
             X-Riferimento-Message-ID: {}\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=\"R\"\r\n\r\n--R\r\nContent-Type: text/plain\r\n\r\nRicevuta.\r\n\
             --R\r\nContent-Type: application/xml; name=\"daticert.xml\"\r\n\
             Content-Disposition: attachment; filename=\"daticert.xml\"\r\n\r\n\
             <postacert tipo=\"{kind}\"><dati><consegna>studio.neri@pec.example.org</consegna></dati></postacert>\r\n--R--\r\n",
            ack.subject,
            header(&ack, "Message-ID")
        );
        dovecot.deliver(&user, receipt.as_bytes()).await;
    }
    app.read_mailbox().await;
    let types = event_types(&app, &filed[0].aggregate_id).await;
    assert_eq!(
        types.iter().filter(|t| *t == "PecReceiptRecorded").count(),
        2,
        "{types:?}"
    );
    let (operator, _, _) = app
        .staff_client(
            "Piero Protocollo",
            &[sportello_server::staff::Role::UrpOperator],
            &[],
        )
        .await;
    let page = operator
        .get(&format!("/ufficio/richieste/{}", filed[0].aggregate_id))
        .await
        .text();
    assert!(page.contains("Ricevuta PEC: accettazione"));
    assert!(page.contains("Ricevuta PEC: avvenuta consegna"));
    assert!(quarantined(&app).await.is_empty());
}

#[tokio::test]
async fn a_message_delivered_twice_is_filed_once_and_a_flooding_sender_waits() {
    let (dovecot, smtp, user) = (Dovecot::shared().await, SmtpServer::start().await, user());
    let app = with_mailbox(
        &smtp,
        dovecot,
        &user,
        vec![("SPORTELLO_MAIL_IN_PER_SENDER_HOUR", "2".into())],
    )
    .await;
    let same = letter(
        "twice@example.org",
        "Doppia",
        "Lo stesso messaggio arrivato due volte.",
    );
    dovecot.deliver(&user, &same).await;
    dovecot.deliver(&user, &same).await;
    dovecot
        .deliver(
            &user,
            &letter(
                "third@example.org",
                "Terza",
                "La terza richiesta in un'ora.",
            ),
        )
        .await;
    assert_eq!(app.read_mailbox().await, 3);
    assert_eq!(requests(&app).await.len(), 1, "the copy is recognised");
    let outcomes: Vec<String> =
        sqlx::query_scalar("SELECT outcome FROM mail_in_messages ORDER BY uid")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(outcomes, ["request", "duplicate", "quarantine"]);
    assert_eq!(quarantined(&app).await, ["over_rate"]);
}

#[tokio::test]
async fn every_read_model_rebuilt_after_a_mail_in_history_equals_the_live_one() {
    let (dovecot, smtp, user) = (Dovecot::shared().await, SmtpServer::start().await, user());
    let app = with_mailbox(&smtp, dovecot, &user, vec![]).await;
    let (filed, ack) = filed_letter(&app, dovecot, &smtp, &user).await;
    let reply_address = address_in(&header(&ack, "Reply-To"));
    deliver_reply(
        dovecot,
        &user,
        &reply_address,
        &ack,
        "h1@example.org",
        "Una risposta per posta.",
    )
    .await;
    let dsn = format!(
        "From: MAILER-DAEMON@mx.example.org\r\nTo: urp@comune.test\r\nSubject: Undelivered\r\n\
         Message-ID: <h2@mx.example.org>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n\
         --B\r\nContent-Type: message/delivery-status\r\n\r\nStatus: 5.2.2\r\n\r\n\
         --B\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {}\r\n\r\n--B--\r\n",
        header(&ack, "Message-ID")
    );
    dovecot.deliver(&user, dsn.as_bytes()).await;
    app.read_mailbox().await;
    assert!(event_types(&app, &filed.aggregate_id)
        .await
        .contains(&"DeliveryFailed".to_string()));
    let (operator, _, _) = app.operator_client().await;
    let switched = operator
        .act(&filed.aggregate_id, "contatto", &[("contact", "paper")])
        .await;
    assert_eq!(switched.status, axum::http::StatusCode::SEE_OTHER);
    app.settle().await;
    assert!(event_types(&app, &filed.aggregate_id)
        .await
        .contains(&"ContactSwitched".to_string()));

    let tables = [
        "citizen_requests",
        "citizen_timeline",
        "citizen_attachments",
        "queue_requests",
        "queue_words",
        "queue_counts",
        "stat_requests",
        "stat_cells",
    ];
    let checksums = || async {
        let mut sums = Vec::new();
        for table in tables {
            let row: (String, Option<i64>) = sqlx::query_as(&format!("CHECKSUM TABLE {table}"))
                .fetch_one(&app.pool)
                .await
                .unwrap();
            sums.push((table, row.1));
        }
        sums
    };
    let live = checksums().await;
    assert!(
        live.iter().all(|(_, sum)| sum.is_some()),
        "every table read: {live:?}"
    );
    for projection in sportello_projections::all() {
        sportello_projections::rebuild(&app.pool, projection.as_ref())
            .await
            .unwrap();
    }
    assert_eq!(checksums().await, live);
}
