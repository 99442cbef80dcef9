//! What the back office's actions mail: to the department, the URP and the citizen.

use super::*;

#[tokio::test]
async fn everyone_who_must_know_gets_an_email() {
    use crate::support::smtp::{parse, ParsedMail, ReceivedMail};
    let find = |mails: &[ReceivedMail], subject: &str| -> (ReceivedMail, ParsedMail) {
        let mail = mails
            .iter()
            .find(|m| parse(m).subject == subject)
            .unwrap_or_else(|| panic!("a mail «{subject}»"))
            .clone();
        let parsed = parse(&mail);
        (mail, parsed)
    };
    let smtp = crate::support::smtp::SmtpServer::start().await;
    let app = TestApp::with_mail(&smtp).await;
    let roads = app.add_department("Lavori pubblici").await;
    let (referent, referent_password) = app
        .add_staff("Rita Referente", &[Role::Referent], &[roads])
        .await;
    let receipt = app.file(complaint("Lampione spento")).await;
    let reference = receipt.reference.clone();
    let id = app.aggregate_id(&reference).await;
    app.sign_in_operator().await;
    app.act(
        &id,
        "inoltra",
        &[
            ("department", &roads.to_string()),
            ("message", "Via Roma, lato nord"),
        ],
    )
    .await;
    app.settle().await;
    // The acknowledgement, the department's mail and the citizen's update.
    let mails = smtp.wait_for(3, std::time::Duration::from_secs(5)).await;
    let (raw, forwarded) = find(
        &mails,
        &format!("Richiesta {reference} inoltrata al vostro ufficio"),
    );
    assert!(
        raw.to.contains(&referent) && raw.to.contains(&"lavori-pubblici@comune.test".to_string())
    );
    assert!(forwarded
        .text
        .contains(&format!("https://urp.comune.test/ufficio/richieste/{id}")));
    assert!(forwarded.text.contains("Via Roma, lato nord"));
    assert!(
        !forwarded.text.contains("maria.rossi@example.it"),
        "no citizen contacts in the department's mail"
    );
    let (raw, update) = find(&mails, &format!("Richiesta {reference}: aggiornamento"));
    assert_eq!(raw.to, ["maria.rossi@example.it"]);
    assert!(update
        .text
        .contains("inoltrata all'ufficio competente: Lavori pubblici"));

    let other = app.copy_with_mail(&smtp).await;
    other.signed_in_as(&referent, &referent_password).await;
    other.act(&id, "prendi", &[]).await;
    other
        .act(&id, "chiedi", &[("message", "In quale punto esatto?")])
        .await;
    app.settle().await;
    let mails = smtp.wait_for(5, std::time::Duration::from_secs(5)).await;
    let (raw, question) = find(
        &mails,
        &format!("Richiesta {reference}: ci servono altre informazioni"),
    );
    assert_eq!(raw.to, ["maria.rossi@example.it"]);
    assert!(question.text.contains("In quale punto esatto?"));
    assert!(mails.iter().any(|m| parse(m)
        .text
        .contains("ha preso in carico la tua richiesta")));
    assert_eq!(
        app.get(&format!("/segui/{}", receipt.token))
            .await
            .element_text("status")
            .unwrap(),
        "In attesa di tue integrazioni"
    );

    // A second round of work sends nothing again.
    app.settle().await;
    assert_eq!(smtp.count(), 5);
}

#[tokio::test]
async fn an_answer_carries_documents_to_the_tracking_page_and_the_email() {
    let smtp = crate::support::smtp::SmtpServer::start().await;
    let app = TestApp::with_mail(&smtp).await;
    let (receipt, id) = app.file_request(complaint("Modulo residenza")).await;
    let staff = app.copy_with_mail(&smtp).await;
    staff.sign_in_operator().await;
    let refused = staff
        .act_with_files(
            &id,
            "rispondi",
            "Ecco il modulo.",
            &[("programma.exe", "application/pdf", b"MZ not a pdf".to_vec())],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.count_events().await, 1, "nothing recorded");
    let pdf = b"%PDF-1.4 modulo di residenza".to_vec();
    let answered = staff
        .act_with_files(
            &id,
            "rispondi",
            "Ecco il modulo da compilare.",
            &[("modulo-residenza.pdf", "application/pdf", pdf.clone())],
        )
        .await;
    answered.assert_status(StatusCode::SEE_OTHER);
    app.settle().await;

    let page = app.get(&format!("/segui/{}", receipt.token)).await;
    assert!(page.text().contains("Scarica modulo-residenza.pdf"));
    let link = page
        .text()
        .split("href=\"")
        .find(|part| part.contains("/risposte/"))
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let download = app.get(&link).await;
    assert_eq!(download.bytes, pdf);
    download.assert_attachment("application/pdf", "attachment;");
    assert_eq!(
        staff
            .get(&link.replace(
                &format!("/segui/{}", receipt.token),
                &format!("/ufficio/richieste/{id}")
            ))
            .await
            .bytes,
        pdf
    );

    let mails = smtp.wait_for(2, std::time::Duration::from_secs(5)).await;
    let raw = String::from_utf8_lossy(&mails[1].data).to_string();
    assert!(
        raw.contains("multipart/mixed") && raw.contains("modulo-residenza.pdf"),
        "the document travels with the answer"
    );
    assert!(crate::support::smtp::parse(&mails[1])
        .text
        .contains("Ecco il modulo da compilare."));
}

#[tokio::test]
async fn the_citizen_is_told_when_a_request_is_closed_but_not_twice_on_a_redirection() {
    let smtp = crate::support::smtp::SmtpServer::start().await;
    let app = TestApp::with_mail(&smtp).await;
    let inps = app.add_inps("Via Ciro il Grande 21, Roma", "803 164").await;
    let first = app.file(complaint("Ritirata")).await;
    let second = app.file(complaint("Pensione")).await;
    app.sign_in_operator().await;
    app.act(
        &app.aggregate_id(&first.reference).await,
        "chiudi",
        &[("outcome", "withdrawn")],
    )
    .await;
    app.act(
        &app.aggregate_id(&second.reference).await,
        "reindirizza",
        &[
            ("external_body", &inps.to_string()),
            ("message", "Si rivolga all'INPS."),
        ],
    )
    .await;
    app.settle().await;
    let mails = smtp.wait_for(4, std::time::Duration::from_secs(5)).await;
    app.settle().await;
    assert_eq!(
        smtp.count(),
        4,
        "two acknowledgements, one closure, one redirection"
    );
    let subjects: Vec<String> = mails
        .iter()
        .map(|m| crate::support::smtp::parse(m).subject)
        .collect();
    assert!(subjects.contains(&format!("Richiesta {} chiusa", first.reference)));
    let redirect = mails
        .iter()
        .map(crate::support::smtp::parse)
        .find(|m| m.subject.contains("a chi rivolgerti"))
        .unwrap();
    assert!(redirect.text.contains("INPS") && redirect.text.contains("803 164"));
    assert!(!subjects.contains(&format!("Richiesta {} chiusa", second.reference)));
}
