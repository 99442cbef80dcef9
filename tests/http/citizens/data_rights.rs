//! My data: the download, deleting the account, erasure and retention.

use super::*;

/// The files of a ZIP archive, read through its central directory, each checked against the
/// CRC-32 the archive declares (only stored entries, as the export writes them).
fn unzip(bytes: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]) as usize;
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    let end = bytes.len() - 22;
    assert_eq!(
        u32_at(end),
        0x0605_4b50,
        "an end of central directory record"
    );
    let entries = u16_at(end + 10);
    let mut at = u32_at(end + 16) as usize;
    let mut files = BTreeMap::new();
    for _ in 0..entries {
        assert_eq!(u32_at(at), 0x0201_4b50, "a central directory entry");
        assert_eq!(u16_at(at + 10), 0, "stored");
        let crc = u32_at(at + 16);
        let size = u32_at(at + 20) as usize;
        let name_length = u16_at(at + 28);
        let name = String::from_utf8(bytes[at + 46..at + 46 + name_length].to_vec()).unwrap();
        let local = u32_at(at + 42) as usize;
        assert_eq!(u32_at(local), 0x0403_4b50, "{name}: a local header");
        let start = local + 30 + u16_at(local + 26) + u16_at(local + 28);
        let data = bytes[start..start + size].to_vec();
        assert_eq!(crc32fast::hash(&data), crc, "{name}: CRC");
        files.insert(name, data);
        at += 46 + name_length + u16_at(at + 30) + u16_at(at + 32);
    }
    files
}

#[tokio::test]
async fn my_data_download_holds_my_account_my_requests_their_history_and_files() {
    let (app, smtp) = app_with_mail().await;
    let staff = operator(&app).await;
    let giulia = giulia_signed_in(&app, &smtp).await;
    app.file(complaint_from(
        "Richiesta di un altro",
        "luca.neri@example.it",
    ))
    .await;
    let form_pdf = pdf("modulo compilato");
    let receipt = giulia
        .file(
            complaint_from("Lampione spento", "giulia.bianchi@example.it").file(
                "attachments",
                "modulo.pdf",
                "application/pdf",
                form_pdf.clone(),
            ),
        )
        .await;
    let id = app.aggregate_id(&receipt.reference).await;
    let answer_pdf = pdf("ordine di lavoro");
    staff
        .act_with_files(
            &id,
            "rispondi",
            "Il lampione sarà riparato entro venerdì.",
            &[("ordine.pdf", "application/pdf", answer_pdf.clone())],
        )
        .await;
    app.settle().await;

    let download = giulia.get("/area/dati").await;
    assert_eq!(download.status, StatusCode::OK);
    download.assert_attachment("application/zip", "attachment;");
    let files = unzip(&download.bytes);
    assert_eq!(files.len(), 3, "{:?}", files.keys().collect::<Vec<_>>());
    let data: Value = serde_json::from_slice(&files["dati.json"]).unwrap();

    let account = &data["account"];
    assert_eq!(account["first_name"], "Giulia");
    assert_eq!(account["last_name"], "Bianchi");
    assert_eq!(account["email"], "giulia.bianchi@example.it");
    assert_eq!(account["email_verified"], true);

    let requests = data["requests"].as_array().unwrap();
    assert_eq!(requests.len(), 1, "only hers");
    let request = &requests[0];
    assert_eq!(request["reference"], receipt.reference.as_str());
    let personal = &request["personal_data"];
    assert_eq!(personal["subject"], "Lampione spento");
    assert_eq!(personal["first_name"], "Maria", "as typed in the form");
    assert_eq!(personal["email"], "giulia.bianchi@example.it");
    assert!(personal["description"]
        .as_str()
        .unwrap()
        .contains("Il lampione davanti al civico 12"));
    let attachment = request["attachments"][0].as_str().unwrap();
    assert!(attachment.ends_with("modulo.pdf"), "{attachment}");
    assert_eq!(files[attachment], form_pdf);

    let history = request["history"].as_array().unwrap();
    assert_eq!(history[0]["entry"], "received");
    let answer = history
        .iter()
        .find(|entry| entry["entry"] == "answered")
        .expect("the answer is in the history");
    assert_eq!(
        answer["message"],
        "Il lampione sarà riparato entro venerdì."
    );
    let answer_file = answer["files"][0].as_str().unwrap();
    assert_eq!(files[answer_file], answer_pdf);
    assert!(!String::from_utf8_lossy(&files["dati.json"]).contains("Richiesta di un altro"));
}

#[tokio::test]
async fn deleting_the_account_erases_every_request_of_mine_and_a_rebuild_brings_nothing_back() {
    let (app, smtp) = app_with_mail().await;
    let staff = operator(&app).await;
    let guest = app
        .file(
            complaint_from("Buca davanti a casa", "maria.rossi@example.it").file(
                "attachments",
                "buca.png",
                "image/png",
                png(8, 8),
            ),
        )
        .await;
    let luca_pdf = pdf("esposto di luca");
    let other = app
        .file(
            complaint_from("Rumore notturno", "luca.neri@example.it")
                .text("last_name", "Neri")
                .file(
                    "attachments",
                    "esposto.pdf",
                    "application/pdf",
                    luca_pdf.clone(),
                ),
        )
        .await;
    let maria = maria_signed_in(&app, &smtp).await;
    let signed_in = maria
        .file(complaint("Lampione spento").file(
            "attachments",
            "modulo.pdf",
            "application/pdf",
            pdf("modulo di maria"),
        ))
        .await;
    let id = app.aggregate_id(&signed_in.reference).await;
    answer_with_work_order(&staff, &id).await;
    app.settle().await;
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM events WHERE payload LIKE '%ordine.pdf%'"
        )
        .await,
        0,
        "the name of a file staff uploaded for her is sealed in the event"
    );
    assert!(maria
        .get(&format!("/area/richieste/{id}"))
        .await
        .text()
        .contains("ordine.pdf"));
    assert_eq!(listed(&maria.get("/area").await).len(), 2);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM files").await, 5);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM data_keys").await, 3);

    let deleted = delete_account(
        &maria,
        &[("delete_password", CITIZEN_PASSWORD), ("confirm", "yes")],
    )
    .await;
    deleted.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(
        deleted.header("location").as_deref(),
        Some("/?avviso=account_eliminato")
    );
    app.settle().await;

    // The account is gone.
    assert_eq!(maria.get("/area").await.status, StatusCode::SEE_OTHER);
    assert_eq!(
        sign_in_status(&maria, "maria.rossi@example.it", CITIZEN_PASSWORD).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM citizens").await, 0);
    // Each of her requests records the erasure once; Luca's keeps everything.
    for reference in [&guest.reference, &signed_in.reference] {
        let erased = app
            .event_types(reference)
            .await
            .into_iter()
            .filter(|t| t == "PersonalDataErased")
            .count();
        assert_eq!(erased, 1, "{reference}");
    }
    assert!(!app
        .event_types(&other.reference)
        .await
        .contains(&"PersonalDataErased".to_string()));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM data_keys").await, 1);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM files").await,
        1,
        "Luca's file only"
    );
    assert_eq!(
        app.get(&format!("/segui/{}/allegati/0", other.token))
            .await
            .bytes,
        luca_pdf
    );

    let erased = [
        (&guest, "Buca davanti a casa"),
        (&signed_in, "Lampione spento"),
    ];
    shows_erased(&app, &staff, &erased, &other).await;

    let ids = [
        app.aggregate_id(&guest.reference).await,
        app.aggregate_id(&signed_in.reference).await,
    ];
    nothing_personal_in_the_views(&app, &ids).await;

    // Every read model rebuilt from the events: still nothing of hers.
    for projection in sportello_projections::all() {
        let applied = sportello_projections::rebuild(&app.pool, projection.as_ref())
            .await
            .unwrap();
        assert!(applied > 0, "{} rebuilt", projection.name());
    }
    nothing_personal_in_the_views(&app, &ids).await;
    let kept: Option<String> =
        sqlx::query_scalar("SELECT subject FROM queue_requests WHERE reference = ?")
            .bind(&other.reference)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        kept.as_deref(),
        Some("Rumore notturno"),
        "Luca's is rebuilt whole"
    );
    shows_erased(&app, &staff, &erased, &other).await;
    let search = |words: &'static str| {
        let staff = &staff;
        async move {
            staff
                .get(&format!("/ufficio/richieste?cerca={words}"))
                .await
                .element_text("total")
                .unwrap()
        }
    };
    assert_eq!(search("Rumore").await, "1 richieste", "(a control)");
    assert_eq!(search("Lampione").await, "0 richieste");
    assert_eq!(search("Rossi").await, "0 richieste");
    // Whoever registers that address again finds none of those requests.
    let again = maria_signed_in(&app, &smtp).await;
    assert!(listed(&again.get("/area").await).is_empty());
}

/// The views hold no personal data of these requests, and no index to find them by e-mail.
async fn nothing_personal_in_the_views(app: &TestApp, ids: &[String]) {
    for id in ids {
        let (subject, name, email): (Option<String>, Option<String>, Option<String>) =
            sqlx::query_as(
                "SELECT subject, citizen_name, citizen_email FROM queue_requests WHERE aggregate_id = ?",
            )
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
        assert_eq!((subject, name, email), (None, None, None), "{id}");
        let index: Option<String> =
            sqlx::query_scalar("SELECT email_index FROM citizen_requests WHERE aggregate_id = ?")
                .bind(id)
                .fetch_one(&app.pool)
                .await
                .unwrap();
        assert_eq!(index, None, "{id}");
    }
}

/// The tracking pages and staff's pages of `erased` requests show the erasure and none of the
/// personal data; the `kept` request still shows its subject.
async fn shows_erased(app: &TestApp, staff: &TestApp, erased: &[(&Receipt, &str)], kept: &Receipt) {
    for (receipt, subject) in erased {
        let page = app.get(&format!("/segui/{}", receipt.token)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.element_text("subject").is_none());
        assert!(page
            .text()
            .contains("I dati personali di questa richiesta sono stati cancellati."));
        assert!(!page.text().contains(subject));
        assert!(app
            .history(receipt)
            .await
            .contains(&"Dati personali cancellati (su richiesta del cittadino)".to_string()));
        let id = app.aggregate_id(&receipt.reference).await;
        let staff_view = staff.get(&format!("/ufficio/richieste/{id}")).await;
        assert_eq!(staff_view.status, StatusCode::OK);
        let text = staff_view.text();
        assert!(text.contains("Dati personali cancellati: su richiesta del cittadino"));
        assert!(!text.contains(subject) && !text.contains("maria.rossi@example.it"));
    }
    let kept_page = app.get(&format!("/segui/{}", kept.token)).await;
    assert_eq!(
        kept_page.element_text("subject").unwrap(),
        "Rumore notturno"
    );
}

#[tokio::test]
async fn erasing_a_request_keeps_a_document_another_request_was_answered_with() {
    let (app, smtp) = app_with_mail().await;
    let staff = operator(&app).await;
    let maria = maria_signed_in(&app, &smtp).await;
    let hers = maria.file(complaint("Lampione spento")).await;
    let other = app
        .file(complaint_from("Rumore notturno", "luca.neri@example.it"))
        .await;
    // The same document, stored once, answers both.
    let rules = pdf("regolamento comunale sul rumore");
    for receipt in [&hers, &other] {
        let id = app.aggregate_id(&receipt.reference).await;
        let answered = staff
            .act_with_files(
                &id,
                "rispondi",
                "Trova le regole nel regolamento allegato.",
                &[("regolamento.pdf", "application/pdf", rules.clone())],
            )
            .await;
        assert_eq!(answered.status, StatusCode::SEE_OTHER);
    }
    app.settle().await;

    let deleted = delete_account(
        &maria,
        &[("delete_password", CITIZEN_PASSWORD), ("confirm", "yes")],
    )
    .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    app.settle().await;
    assert!(app
        .event_types(&hers.reference)
        .await
        .contains(&"PersonalDataErased".to_string()));

    let base = format!("/segui/{}", other.token);
    let page = app.get(&base).await;
    let link = link_starting(&page, &format!("{base}/risposte/")).expect("the answer's document");
    let download = app.get(&link).await;
    assert_eq!(
        download.status,
        StatusCode::OK,
        "Luca's answer keeps its document"
    );
    assert_eq!(download.bytes, rules);

    // Once no request that is not erased names it, it goes with the last one.
    let other_id = app.aggregate_id(&other.reference).await;
    assert!(
        erase_request(&app.app, &other_id, ErasureReason::Retention, "test")
            .await
            .unwrap()
    );
    assert_eq!(app.get(&link).await.status, StatusCode::NOT_FOUND);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM files").await, 0);
}

#[tokio::test]
async fn deleting_the_account_needs_the_password_and_the_confirmation() {
    let (app, smtp) = app_with_mail().await;
    let maria = maria_signed_in(&app, &smtp).await;
    let receipt = maria.file(complaint("Lampione spento")).await;
    let refused = delete_account(&maria, &[("delete_password", "non è la mia")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        field_error(&refused, "delete_password"),
        "La password attuale non è corretta."
    );
    assert_eq!(
        field_error(&refused, "delete_confirm"),
        "Conferma di voler eliminare l'account."
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM citizens").await, 1);
    assert_eq!(maria.get("/area").await.status, StatusCode::OK);
    assert!(!app
        .event_types(&receipt.reference)
        .await
        .contains(&"PersonalDataErased".to_string()));
}

#[tokio::test]
async fn retention_anonymises_requests_closed_long_enough_ago_once() {
    let app = TestApp::start().await;
    let staff = operator(&app).await;
    let old = app.file(complaint("Chiusa sette mesi fa")).await;
    let old_id = app.aggregate_id(&old.reference).await;
    staff
        .act(&old_id, "chiudi", &[("outcome", "withdrawn")])
        .await;
    app.settle().await;
    assert_eq!(
        retention::run(&app.app).await.unwrap(),
        0,
        "nothing without a retention period"
    );

    app.app.clock.advance(Duration::days(150));
    staff.signed_in_as(OPERATOR.0, OPERATOR.1).await;
    let recent = app.file(complaint("Chiusa due mesi fa")).await;
    let recent_id = app.aggregate_id(&recent.reference).await;
    staff
        .act(&recent_id, "chiudi", &[("outcome", "withdrawn")])
        .await;
    app.settle().await;
    app.app.clock.advance(Duration::days(61));
    configure(&app, "30", "6").await;

    assert_eq!(retention::run(&app.app).await.unwrap(), 1);
    assert_eq!(retention::run(&app.app).await.unwrap(), 0, "recorded once");
    app.settle().await;
    assert_eq!(retention::run(&app.app).await.unwrap(), 0);

    let erasures = |reference: String| {
        let app = &app;
        async move {
            app.event_types(&reference)
                .await
                .into_iter()
                .filter(|t| t == "PersonalDataErased")
                .count()
        }
    };
    assert_eq!(erasures(old.reference.clone()).await, 1);
    assert_eq!(erasures(recent.reference.clone()).await, 0);
    let old_page = app.get(&format!("/segui/{}", old.token)).await;
    assert!(old_page.element_text("subject").is_none());
    assert!(!old_page.text().contains("Chiusa sette mesi fa"));
    assert!(app
        .history(&old)
        .await
        .contains(&"Dati personali cancellati (scaduto il periodo di conservazione)".to_string()));
    assert_eq!(
        app.get(&format!("/segui/{}", recent.token))
            .await
            .element_text("subject")
            .unwrap(),
        "Chiusa due mesi fa"
    );
    let subject: Option<String> =
        sqlx::query_scalar("SELECT subject FROM queue_requests WHERE aggregate_id = ?")
            .bind(&old_id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(subject, None);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM data_keys").await, 1);
}

#[tokio::test]
async fn a_never_confirmed_registration_gives_way_to_whoever_proves_the_address() {
    let (app, smtp) = app_with_mail().await;
    let browser = giulia_signed_in(&app, &smtp).await;
    // Someone registered the address Giulia moves to, and never confirmed it.
    let squatter = app.browser();
    squatter
        .register(
            "Intruso",
            "giulia@nuovo.example.it",
            "una-password-qualsiasi",
        )
        .await;
    ask_for_new_email(&browser, "giulia@nuovo.example.it", CITIZEN_PASSWORD).await;
    let link = app
        .mailed_link(&smtp, "giulia@nuovo.example.it", "/area/nuova-email/")
        .await;
    let confirmed = browser.follow_link(&link).await;
    confirmed.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(profile_email(&browser).await, "giulia@nuovo.example.it");
    let accounts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM citizens")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(accounts, 1, "the unconfirmed registration is gone");
}

/// Sends the profile page's form that deletes the account, with these fields.
async fn delete_account(browser: &TestApp, fields: &[(&str, &str)]) -> TestResponse {
    browser
        .post_with_token("/area/profilo", "/area/profilo/elimina", fields)
        .await
}
