//! Mail and PEC in, against a real IMAP server (Dovecot, `support::dovecot`) and the test SMTP
//! server: messages are delivered with IMAP APPEND, read as the background reader reads them,
//! and what they cause is read back from the pages and the mail staff and citizens get.

use crate::support::dovecot::Dovecot;
use crate::support::mailing::with_mailbox;
use crate::support::smtp::{self, SmtpServer};
use crate::support::{jpeg_with_gps, TestApp};

/// A fresh mailbox user on the shared Dovecot.
fn user() -> String {
    format!("urp{}", uuid::Uuid::new_v4().simple())
}

/// A plain message from Maria Rossi to the URP.
fn letter(message_id: &str, subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Maria Rossi <maria.rossi@example.org>\r\nTo: URP <urp@comune.test>\r\n\
         Subject: {subject}\r\nMessage-ID: <{message_id}>\r\nDate: Tue, 10 Mar 2026 09:00:00 +0100\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

struct Mailed {
    aggregate_id: String,
    reference: String,
    channel: String,
}

async fn requests(app: &TestApp) -> Vec<Mailed> {
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

/// The requests' pages as the URP operator sees them, one after the other.
async fn staff_pages(app: &TestApp, filed: &[Mailed]) -> String {
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

async fn quarantined(app: &TestApp) -> Vec<String> {
    sqlx::query_scalar("SELECT reason FROM mail_quarantine ORDER BY id")
        .fetch_all(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_letter_becomes_a_request_answered_in_its_thread_with_a_reply_address() {
    let (dovecot, smtp, user) = (Dovecot::shared().await, SmtpServer::start().await, user());
    let app = with_mailbox(&smtp, dovecot, &user, vec![]).await;
    dovecot
        .deliver(
            &user,
            &letter(
                "m1@example.org",
                "Buca in via Roma",
                "C'è una buca profonda davanti al civico 12.",
            ),
        )
        .await;
    assert_eq!(app.read_mailbox().await, 1);

    let filed = requests(&app).await;
    assert_eq!(filed.len(), 1);
    assert_eq!(filed[0].channel, "email");
    let page = staff_pages(&app, &filed[..1]).await;
    assert!(page.contains("Buca in via Roma"));
    assert!(page.contains("buca profonda davanti al civico 12"));
    assert!(page.contains("maria.rossi@example.org"));
    assert!(page.contains("Maria") && page.contains("Rossi"));

    let sent = smtp.wait_for(1, std::time::Duration::from_secs(5)).await;
    let ack = smtp::parse(&sent[0]);
    assert_eq!(ack.to, ["maria.rossi@example.org"]);
    assert!(ack.subject.contains(&filed[0].reference));
    let header = |name: &str| {
        ack.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert_eq!(header("In-Reply-To"), "<m1@example.org>");
    assert_eq!(header("References"), "<m1@example.org>");
    let reply_to = header("Reply-To");
    assert!(reply_to.contains("urp+r"), "{reply_to}");
    assert!(reply_to.contains("@comune.test"), "{reply_to}");
    assert!(
        ack.text.contains("/segui/"),
        "the private link is in the acknowledgement"
    );

    assert_eq!(
        dovecot.count(&user, "INBOX").await,
        0,
        "read messages leave the inbox"
    );
    assert_eq!(dovecot.count(&user, "Sportello-Elaborati").await, 1);
}

#[tokio::test]
async fn html_only_accented_latin1_and_encoded_subjects_are_read_as_people_wrote_them() {
    let (dovecot, smtp, user) = (Dovecot::shared().await, SmtpServer::start().await, user());
    let app = with_mailbox(&smtp, dovecot, &user, vec![]).await;
    let html = "From: Luca Bianchi <luca@example.org>\r\nTo: urp@comune.test\r\n\
        Subject: =?UTF-8?Q?Lampione_rotto_in_pi=C3=A0zza?=\r\nMessage-ID: <h1@example.org>\r\n\
        MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
        <html><head><style>p{color:red}</style><script>alert('x')</script></head>\
        <body><p>Il lampione <b>non funziona</b> da una settimana.</p></body></html>\r\n";
    dovecot.deliver(&user, html.as_bytes()).await;
    let mut latin1 =
        b"From: =?ISO-8859-1?Q?Nicol=F2_Verdi?= <nicolo@example.org>\r\nTo: urp@comune.test\r\n\
        Subject: =?ISO-8859-1?Q?Citt=E0_e_pubblicit=E0?=\r\nMessage-ID: <l1@example.org>\r\n\
        MIME-Version: 1.0\r\nContent-Type: text/plain; charset=ISO-8859-1\r\n\
        Content-Transfer-Encoding: 8bit\r\n\r\n"
            .to_vec();
    latin1.extend_from_slice(b"Perch\xe9 la citt\xe0 non risponde? Grazie, Nicol\xf2.\r\n");
    dovecot.deliver(&user, &latin1).await;
    assert_eq!(app.read_mailbox().await, 2);

    let filed = requests(&app).await;
    assert_eq!(filed.len(), 2);
    let pages = staff_pages(&app, &filed).await;
    assert!(pages.contains("Lampione rotto in piàzza"));
    assert!(pages.contains("non funziona"));
    assert!(
        !pages.contains("alert(&#x27;x&#x27;)") && !pages.contains("alert('x')"),
        "scripts are not text"
    );
    assert!(
        !pages.contains("&lt;b&gt;"),
        "HTML is rendered to text, not escaped markup"
    );
    assert!(pages.contains("Città e pubblicità"));
    assert!(pages.contains("Perché la città non risponde? Grazie, Nicolò."));
    assert!(pages.contains("Nicolò"));
}

#[tokio::test]
async fn attachments_follow_the_web_forms_rules_and_a_refused_file_is_named() {
    let (dovecot, smtp, user) = (Dovecot::shared().await, SmtpServer::start().await, user());
    let app = with_mailbox(&smtp, dovecot, &user, vec![]).await;
    use base64::Engine;
    let b64 = |bytes: &[u8]| {
        base64::engine::general_purpose::STANDARD
            .encode(bytes)
            .as_bytes()
            .chunks(76)
            .map(|c| String::from_utf8_lossy(c).to_string())
            .collect::<Vec<_>>()
            .join("\r\n")
    };
    let photo = jpeg_with_gps(60, 30);
    let exe = [b"MZ\x90\x00\x03\x00\x00\x00".as_slice(), &[0u8; 64]].concat();
    let message = format!(
        "From: Maria Rossi <maria.rossi@example.org>\r\nTo: urp@comune.test\r\nSubject: Foto della buca\r\n\
         Message-ID: <a1@example.org>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n--XX\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nEcco la foto della buca.\r\n--XX\r\n\
         Content-Type: image/jpeg; name=\"buca.jpg\"\r\nContent-Disposition: attachment; filename=\"buca.jpg\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--XX\r\n\
         Content-Type: image/jpeg; name=\"vacanze.jpg\"\r\nContent-Disposition: attachment; filename=\"vacanze.jpg\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--XX--\r\n",
        b64(&photo),
        b64(&exe)
    );
    dovecot.deliver(&user, message.as_bytes()).await;
    app.read_mailbox().await;

    let filed = requests(&app).await;
    assert_eq!(filed.len(), 1);
    let files: Vec<(String, Vec<u8>)> = sqlx::query_as(
        "SELECT content_type, bytes FROM files WHERE content_type = 'image/jpeg' ORDER BY size DESC",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(!files.is_empty(), "the photo is kept");
    assert!(
        files
            .iter()
            .all(|(_, bytes)| !bytes.windows(8).any(|w| w == b"GPS-45.4")),
        "without its EXIF"
    );
    assert!(
        !sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM files WHERE bytes LIKE 'MZ%'")
            .fetch_one(&app.pool)
            .await
            .unwrap()
            .is_positive(),
        "the executable is not kept"
    );
    let page = staff_pages(&app, &filed[..1]).await;
    assert!(page.contains("buca.jpg"));
    assert!(page.contains("Allegati non accettati"));
    assert!(page.contains("vacanze.jpg"), "the refused file is named");
}

#[tokio::test]
async fn automatic_messages_and_our_own_go_to_quarantine_unanswered() {
    let (dovecot, smtp, user) = (Dovecot::shared().await, SmtpServer::start().await, user());
    let app = with_mailbox(&smtp, dovecot, &user, vec![]).await;
    let out_of_office = "From: Maria Rossi <maria.rossi@example.org>\r\nTo: urp@comune.test\r\n\
        Subject: Fuori sede\r\nMessage-ID: <o1@example.org>\r\nAuto-Submitted: auto-replied\r\n\r\n\
        Sono fuori sede fino al 20 marzo.\r\n";
    let list = "From: Newsletter <news@example.org>\r\nTo: urp@comune.test\r\nSubject: Offerte\r\n\
        Message-ID: <n1@example.org>\r\nPrecedence: bulk\r\n\r\nOfferte della settimana.\r\n";
    let daemon =
        "From: Mail Delivery System <MAILER-DAEMON@example.org>\r\nTo: urp@comune.test\r\n\
        Subject: Warning\r\nMessage-ID: <d1@example.org>\r\n\r\nDelayed.\r\n";
    let own = "From: URP <urp@comune.test>\r\nTo: urp@comune.test\r\nSubject: Prova\r\n\
        Message-ID: <s1@example.org>\r\n\r\nProva di invio.\r\n";
    for message in [out_of_office, list, daemon, own] {
        dovecot.deliver(&user, message.as_bytes()).await;
    }
    assert_eq!(app.read_mailbox().await, 4);
    assert!(requests(&app).await.is_empty(), "none became a request");
    assert_eq!(
        quarantined(&app).await,
        ["automatic", "automatic", "automatic", "own_address"]
    );
    assert_eq!(smtp.count(), 0, "nobody was answered");
}

#[tokio::test]
async fn malformed_and_oversized_messages_wait_in_quarantine_and_the_others_go_on() {
    let (dovecot, smtp, user) = (Dovecot::shared().await, SmtpServer::start().await, user());
    let app = with_mailbox(
        &smtp,
        dovecot,
        &user,
        vec![("SPORTELLO_MAIL_IN_MAX_MB", "1".into())],
    )
    .await;
    let no_sender = "To: urp@comune.test\r\nSubject: ???\r\nMessage-ID: <x1@example.org>\r\n\r\nsenza mittente\r\n";
    dovecot.deliver(&user, no_sender.as_bytes()).await;
    let broken = "From: Maria Rossi <maria.rossi@example.org>\r\nTo: urp@comune.test\r\nSubject: Rotto\r\n\
        Message-ID: <x2@example.org>\r\nMIME-Version: 1.0\r\n\
        Content-Type: multipart/mixed; boundary=\"never-closed\"\r\n\r\n--never-closed\r\n\
        Content-Type: text/plain; charset=x-unknown-charset\r\nContent-Transfer-Encoding: base64\r\n\r\n\
        %%%not base64%%%\r\n";
    dovecot.deliver(&user, broken.as_bytes()).await;
    let mut big = letter("x3@example.org", "Allegato enorme", "Vedi allegato.");
    big.extend(std::iter::repeat_n(b'a', 1_200_000));
    dovecot.deliver(&user, &big).await;
    dovecot
        .deliver(
            &user,
            &letter(
                "x4@example.org",
                "Normale",
                "Questa invece è una richiesta normale.",
            ),
        )
        .await;
    assert_eq!(app.read_mailbox().await, 4);
    let reasons = quarantined(&app).await;
    assert!(reasons.contains(&"malformed".to_string()), "{reasons:?}");
    assert!(reasons.contains(&"too_large".to_string()), "{reasons:?}");
    let filed = requests(&app).await;
    assert!(
        !filed.is_empty(),
        "the normal message was filed even after the broken ones"
    );
    let kept: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT raw FROM mail_quarantine WHERE reason = 'too_large'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(
        kept.unwrap().len() < 10_000,
        "of a too large message only its headers are kept"
    );
}

/// Files a letter and returns the request and the acknowledgement as the citizen got it.
async fn filed_letter(
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

fn header(mail: &smtp::ParsedMail, name: &str) -> String {
    mail.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// The address between the angle brackets of a header such as `URP <urp+r…@comune.test>`.
fn address_in(value: &str) -> String {
    value
        .rsplit('<')
        .next()
        .unwrap_or(value)
        .trim_end_matches('>')
        .to_string()
}

fn reply_to_ack(to: &str, ack: &smtp::ParsedMail, id: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Maria Rossi <maria.rossi@example.org>\r\nTo: {to}\r\nSubject: Re: {}\r\n\
         Message-ID: <{id}>\r\nIn-Reply-To: {}\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n\r\n> testo citato\r\n",
        ack.subject,
        header(ack, "Message-ID")
    )
    .into_bytes()
}

async fn event_types(app: &TestApp, aggregate_id: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT event_type FROM events WHERE aggregate_id = ? ORDER BY sequence")
        .bind(aggregate_id)
        .fetch_all(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_reply_to_the_acknowledgement_lands_on_its_request_and_a_forged_one_in_quarantine() {
    let (dovecot, smtp, user) = (Dovecot::shared().await, SmtpServer::start().await, user());
    let app = with_mailbox(&smtp, dovecot, &user, vec![]).await;
    let (filed, ack) = filed_letter(&app, dovecot, &smtp, &user).await;
    let reply_address = address_in(&header(&ack, "Reply-To"));
    dovecot
        .deliver(
            &user,
            &reply_to_ack(
                &reply_address,
                &ack,
                "r1@example.org",
                "Aggiungo: anche in via Verdi.",
            ),
        )
        .await;
    // The same reply with one letter of the token changed, and one to a token never issued.
    let (head, tail) = reply_address.split_once('@').unwrap();
    let altered = format!(
        "{}{}@{tail}",
        &head[..head.len() - 1],
        if head.ends_with('a') { 'b' } else { 'a' }
    );
    dovecot
        .deliver(
            &user,
            &reply_to_ack(&altered, &ack, "r2@example.org", "Sono un altro."),
        )
        .await;
    dovecot
        .deliver(
            &user,
            &reply_to_ack(
                "urp+rabcdefghijklmnopqrstuvwxyz@comune.test",
                &ack,
                "r3@example.org",
                "Indovino.",
            ),
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
    dovecot
        .deliver(
            &user,
            &reply_to_ack(
                &reply_address,
                &ack,
                "c1@example.org",
                "Non è ancora risolto.",
            ),
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
    dovecot
        .deliver(
            &user,
            &reply_to_ack(
                &reply_address,
                &ack,
                "c2@example.org",
                "Ancora rifiuti per strada.",
            ),
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
    dovecot
        .deliver(
            &user,
            &reply_to_ack(
                "urp+rzzzzzzzzzzzzzzzzzzzzzzzzzz@comune.test",
                &ack,
                "q2@example.org",
                "Allego la foto che mancava.",
            ),
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
