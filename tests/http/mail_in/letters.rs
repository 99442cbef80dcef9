//! Letters becoming requests: text, HTML, charsets, attachments, and what waits instead.

use super::*;
use crate::support::jpeg_with_gps;
use crate::support::mailing::with_mailbox;

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

#[tokio::test]
async fn what_arrives_in_the_pec_mailbox_is_filed_as_pec() {
    let (dovecot, smtp) = (Dovecot::shared().await, SmtpServer::start().await);
    let (user, pec_user) = (user(), user());
    let app = with_mailbox(
        &smtp,
        dovecot,
        &user,
        vec![("SPORTELLO_PEC_IMAP_URL", dovecot.url(&pec_user))],
    )
    .await;
    dovecot
        .deliver(
            &user,
            &letter(
                "o1@example.org",
                "Per posta",
                "Arrivata alla casella ordinaria.",
            ),
        )
        .await;
    dovecot
        .deliver(
            &pec_user,
            &letter("p1@example.org", "Per PEC", "Arrivata alla casella PEC."),
        )
        .await;
    assert_eq!(app.read_mailbox().await, 2);
    assert_eq!(channels(&app).await, ["email", "pec"]);
    let mailboxes: Vec<String> =
        sqlx::query_scalar("SELECT mailbox FROM mail_in_messages ORDER BY mailbox")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(mailboxes, ["mail", "pec"]);
}
