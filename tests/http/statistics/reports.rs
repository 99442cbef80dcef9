//! The period report's PDF and the monthly reports.

use super::*;

/// The strings a PDF shows (`(…) Tj`), in order, decoded from WinAnsi.
fn pdf_strings(pdf: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < pdf.len() {
        if pdf[i] == b'(' {
            let mut text = String::new();
            let mut j = i + 1;
            while j < pdf.len() && pdf[j] != b')' {
                let byte = if pdf[j] == b'\\' {
                    j += 1;
                    pdf[j]
                } else {
                    pdf[j]
                };
                text.push(match byte {
                    0x96 => '–',
                    0x85 => '…',
                    b => b as char,
                });
                j += 1;
            }
            if pdf[j + 1..].starts_with(b" Tj") {
                out.push(text);
            }
            i = j;
        }
        i += 1;
    }
    out
}

#[tokio::test]
async fn the_period_report_is_a_pdf_with_the_same_numbers_in_italian_or_english() {
    let h = history().await;
    let manager = h.as_staff(&h.manager).await;
    let response = manager
        .get("/ufficio/statistiche/esporta/pdf?dal=2026-02-01&al=2026-02-28")
        .await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.header("content-type").unwrap(), "application/pdf");
    assert!(response
        .header("content-disposition")
        .unwrap()
        .contains("urp-in-cifre-2026-02-01-2026-02-28-it.pdf"));
    assert!(response.bytes.starts_with(b"%PDF-1.4"));
    let strings = pdf_strings(&response.bytes);
    let joined = strings.join("\n");
    assert!(joined.contains("L'URP in cifre"), "{joined}");
    assert!(joined.contains("Dal 1 febbraio 2026 al 28 febbraio 2026."));
    // The summary row "Ricevute": 5 this period, 1 the period before.
    let at = strings.iter().position(|s| s == "Ricevute").unwrap();
    assert_eq!(strings[at + 1..at + 3], ["5", "1"]);
    let at = strings
        .iter()
        .position(|s| s == "Risposta, mediana (giorni)")
        .unwrap();
    assert_eq!(strings[at + 1..at + 3], ["5,0", "–"]);
    assert!(
        strings.iter().any(|s| s == "Lavori pubblici"),
        "the departments' table"
    );
    assert!(
        strings.iter().any(|s| s == "Arretrato per età"),
        "the aging chart and table"
    );

    let english = manager
        .get("/ufficio/statistiche/esporta/pdf?dal=2026-02-01&al=2026-02-28&lingua=en")
        .await;
    let strings = pdf_strings(&english.bytes);
    assert!(strings.iter().any(|s| s == "The URP in figures"));
    let at = strings.iter().position(|s| s == "Received").unwrap();
    assert_eq!(strings[at + 1..at + 3], ["5", "1"]);
    let at = strings
        .iter()
        .position(|s| s == "Answer, median (days)")
        .unwrap();
    assert_eq!(strings[at + 1], "5.0");
}

#[tokio::test]
async fn monthly_reports_go_out_once_with_their_attachments_and_can_be_turned_off() {
    use crate::support::smtp::SmtpServer;
    use mail_parser::{MessageParser, MimeHeaders};
    use sportello_server::statistics::scheduled;
    let smtp = SmtpServer::start().await;
    let h = history_with(Some(smtp.url())).await;
    h.app.settle().await;
    let before = smtp
        .wait_for(1, std::time::Duration::from_secs(5))
        .await
        .len();
    // 10 March: February's reports are due since Monday 2 March (the first working day). Two
    // server copies check at once, and again later: each report is queued once.
    let other = TestApp::on_database(
        h.app.database_url.clone(),
        Options {
            now: h.app.app.clock.now(),
            smtp_url: Some(smtp.url()),
            ..Options::default()
        },
    )
    .await;
    let (first, second) = tokio::join!(scheduled::run(&h.app.app), scheduled::run(&other.app));
    assert_eq!(
        first.unwrap() + second.unwrap(),
        3,
        "the URP's and two departments'"
    );
    assert_eq!(scheduled::run(&h.app.app).await.unwrap(), 0);
    h.app.settle().await;
    other.settle().await;
    let mails = smtp
        .wait_for(before + 3, std::time::Duration::from_secs(10))
        .await;
    let reports: Vec<_> = mails
        .iter()
        .filter_map(|mail| {
            let parsed = MessageParser::default()
                .parse(mail.data.as_slice())
                .unwrap();
            let subject = parsed.subject().unwrap_or_default().to_string();
            (subject.contains("febbraio 2026"))
                .then(|| (mail.to.clone(), subject, mail.data.clone()))
        })
        .collect();
    assert_eq!(
        reports.len(),
        3,
        "{:?}",
        reports.iter().map(|r| &r.1).collect::<Vec<_>>()
    );
    let urp = reports
        .iter()
        .find(|r| r.1 == "L'URP in cifre – febbraio 2026")
        .unwrap();
    assert_eq!(urp.0, ["marta.manager@comune.test"]);
    let roads = reports
        .iter()
        .find(|r| r.0.contains(&"rita.referente@comune.test".to_string()))
        .expect("the roads department's report to its referent");
    assert!(
        roads.0.contains(&"dirigente@comune.test".to_string()),
        "and to its head"
    );

    let message = MessageParser::default().parse(urp.2.as_slice()).unwrap();
    assert!(
        message.body_text(0).unwrap().contains("Ricevute: 5"),
        "the summary in the mail"
    );
    let files: Vec<(String, Vec<u8>)> = message
        .attachments()
        .map(|a| {
            (
                a.attachment_name().unwrap_or_default().to_string(),
                a.contents().to_vec(),
            )
        })
        .collect();
    let names: Vec<&str> = files.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(
        names,
        ["urp-in-cifre-2026-02.pdf", "urp-in-cifre-2026-02.xlsx"]
    );
    let strings = pdf_strings(&files[0].1);
    let at = strings.iter().position(|s| s == "Ricevute").unwrap();
    assert_eq!(strings[at + 1..at + 3], ["5", "1"]);
    let mut workbook: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(files[1].1.clone())).unwrap();
    use calamine::Reader;
    let first_sheet = workbook.sheet_names()[0].clone();
    let sheet = workbook.worksheet_range(&first_sheet).unwrap();
    let received = sheet.rows().find(|row| row[0] == "Ricevute").unwrap();
    assert_eq!(received[1].to_string(), "5");

    let message = MessageParser::default().parse(roads.2.as_slice()).unwrap();
    let pdf = message.attachments().next().unwrap().contents().to_vec();
    let strings = pdf_strings(&pdf);
    let at = strings.iter().position(|s| s == "Ricevute").unwrap();
    assert_eq!(strings[at + 1], "1", "only the department's requests");

    // Nothing more goes out this month, even after a restart.
    let restarted = TestApp::on_database(
        h.app.database_url.clone(),
        Options {
            now: h.app.app.clock.now(),
            ..Options::default()
        },
    )
    .await;
    assert_eq!(scheduled::run(&restarted.app).await.unwrap(), 0);

    // An administrator turns them off: April's first working day passes without reports.
    let (email, password) = h
        .app
        .add_staff("Ada Amministratrice", &[Role::Administrator], &[])
        .await;
    let admin = h.app.browser();
    admin.signed_in_as(&email, &password).await;
    let form = admin.get("/ufficio/amministrazione/rapporti").await;
    assert_eq!(form.status, StatusCode::OK);
    let token = form.input_value("csrf_token").unwrap();
    let refused = admin
        .post_urlencoded(
            "/ufficio/amministrazione/rapporti",
            &[
                ("csrf_token", &token),
                ("working_day", "0"),
                ("recipients", "sindaco@comune.test, non-valido"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let summary = refused.error_summary().unwrap();
    assert!(
        summary.contains("da 1 a 10") && summary.contains("Controlla gli indirizzi"),
        "{summary}"
    );
    assert_eq!(
        refused.input_value("recipients").unwrap(),
        "sindaco@comune.test, non-valido"
    );
    // Twenty valid addresses that together do not fit the 1000 characters kept.
    let long: Vec<String> = (0..20)
        .map(|i| format!("{}{i}@comune.test", "a".repeat(50)))
        .collect();
    let long = long.join(", ");
    let refused = admin
        .post_urlencoded(
            "/ufficio/amministrazione/rapporti",
            &[
                ("csrf_token", &token),
                ("working_day", "2"),
                ("recipients", &long),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.error_summary().unwrap().contains("1000 caratteri"));
    assert_eq!(refused.input_value("recipients").unwrap(), long);
    let saved = admin
        .post_urlencoded(
            "/ufficio/amministrazione/rapporti",
            &[
                ("csrf_token", &token),
                ("working_day", "2"),
                ("recipients", "sindaco@comune.test"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let settings = scheduled::load(&h.app.pool, sportello_server::app::DEFAULT_ORGANISATION)
        .await
        .unwrap();
    assert_eq!(
        (settings.urp, settings.departments, settings.working_day),
        (false, false, 2)
    );
    assert_eq!(settings.recipients, ["sindaco@comune.test"]);
    h.to("2026-04-03T08:00:00Z");
    assert_eq!(scheduled::run(&h.app.app).await.unwrap(), 0);
    let forbidden = h.as_staff(&h.manager).await;
    assert_eq!(
        forbidden
            .get("/ufficio/amministrazione/rapporti")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}
