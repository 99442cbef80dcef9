//! My area: my requests, replies, reopening, rating and drafts.

use super::*;

#[tokio::test]
async fn my_area_lists_my_requests_filed_signed_in_and_as_a_guest_newest_first() {
    let (app, smtp) = app_with_mail().await;
    let staff = operator(&app).await;
    // Before the account existed, as a guest with the same address.
    let guest = app
        .file(complaint_from(
            "Buca in via Verdi",
            "maria.rossi@example.it",
        ))
        .await;
    app.file(complaint_from(
        "Richiesta di un altro",
        "luca.neri@example.it",
    ))
    .await;
    app.app.clock.advance(Duration::minutes(10));
    let maria = maria_signed_in(&app, &smtp).await;
    let luca = app
        .register_citizen(&smtp, "Luca", "luca.neri@example.it")
        .await;
    let signed_in = maria.file(complaint("Lampione spento")).await;
    app.app.clock.advance(Duration::minutes(10));
    luca.file(complaint_from("Rumore notturno", "luca.neri@example.it"))
        .await;
    let by_account: Option<String> =
        sqlx::query_scalar("SELECT citizen_id FROM citizen_requests WHERE reference = ?")
            .bind(&signed_in.reference)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(by_account.is_some(), "filed while signed in");
    let guest_id = app.aggregate_id(&guest.reference).await;
    staff.act(&guest_id, "valuta", &[]).await;
    app.settle().await;

    let area = maria.get("/area").await;
    assert_eq!(area.status, StatusCode::OK);
    assert_eq!(
        listed(&area),
        [
            (
                format!("{} — Lampione spento", signed_in.reference),
                "Ricevuta, in attesa di valutazione".to_string()
            ),
            (
                format!("{} — Buca in via Verdi", guest.reference),
                "In valutazione".to_string()
            ),
        ]
    );
    let luca_area = luca.get("/area").await;
    let luca_titles: Vec<String> = listed(&luca_area).into_iter().map(|(t, _)| t).collect();
    assert_eq!(luca_titles.len(), 2, "{luca_titles:?}");
    assert!(luca_titles
        .iter()
        .all(|t| !t.contains("Lampione") && !t.contains("Buca")));
}

#[tokio::test]
async fn my_area_asks_to_sign_in_first() {
    let app = TestApp::start().await;
    let area = app.get("/area").await;
    assert_eq!(area.status, StatusCode::SEE_OTHER);
    assert_eq!(
        area.header("location").as_deref(),
        Some("/area/accesso?torna=/area")
    );
    let profile = app.get("/area/profilo").await;
    assert_eq!(
        profile.header("location").as_deref(),
        Some("/area/accesso?torna=/area/profilo")
    );
    assert_eq!(app.get("/area/dati").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn another_citizen_reaches_nothing_of_my_request_by_any_url() {
    let (app, smtp) = app_with_mail().await;
    let staff = operator(&app).await;
    let maria = maria_signed_in(&app, &smtp).await;
    let luca = app
        .register_citizen(&smtp, "Luca", "luca.neri@example.it")
        .await;
    let receipt = maria
        .file(complaint("Lampione spento").file("attachments", "foto.png", "image/png", png(8, 8)))
        .await;
    let id = app.aggregate_id(&receipt.reference).await;
    let answered = answer_with_work_order(&staff, &id).await;
    assert_eq!(answered.status, StatusCode::SEE_OTHER);
    staff.act(&id, "chiudi", &[("outcome", "answered")]).await;
    app.settle().await;

    let base = format!("/area/richieste/{id}");
    let page = maria.get(&base).await;
    assert_eq!(page.status, StatusCode::OK);
    let answer_file =
        link_starting(&page, &format!("{base}/risposte/")).expect("the answer's file");
    let urls = [
        base.clone(),
        format!("{base}/allegati/0"),
        format!("{base}/allegati/0/anteprima"),
        answer_file,
    ];
    // The owner reaches every one of them…
    for url in &urls {
        assert_eq!(maria.get(url).await.status, StatusCode::OK, "{url}");
    }
    // …the other citizen none, not even knowing the id.
    for url in &urls {
        let response = luca.get(url).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{url}");
        assert!(!response.text().contains("Lampione spento"));
    }
    // Every action, even with a valid form token of Luca's own, is a 404.
    let events = app.count_events().await;
    let token = luca
        .get("/segnalazioni/nuova")
        .await
        .input_value("csrf_token")
        .unwrap();
    let form = Multipart::new()
        .text("csrf_token", &token)
        .text("message", "Un messaggio abbastanza lungo");
    let (content_type, body) = form.encode();
    let replied = luca
        .send(
            Request::post(format!("{base}/risposta"))
                .header(header::CONTENT_TYPE, content_type)
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
    assert_eq!(replied.status, StatusCode::NOT_FOUND);
    for (action, fields) in [
        ("riapri", vec![("reason", "Il lampione è ancora spento.")]),
        ("valuta", vec![("stars", "1")]),
        (
            "valuta",
            vec![("stars", "1"), ("step", "2"), ("reasons", "slow")],
        ),
    ] {
        let mut all = vec![("csrf_token", token.as_str())];
        all.extend(fields);
        let response = luca
            .post_urlencoded(&format!("{base}/{action}"), &all)
            .await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{action}");
    }
    assert_eq!(app.count_events().await, events, "nothing was recorded");
    assert!(!listed(&luca.get("/area").await)
        .iter()
        .any(|(title, _)| title.contains(&receipt.reference)));
}

// --- Replies, reopening, rating --------------------------------------------------------------

#[tokio::test]
async fn a_reply_with_files_from_my_area_shows_in_the_history_with_a_download_link() {
    let (app, smtp) = app_with_mail().await;
    let staff = operator(&app).await;
    let maria = maria_signed_in(&app, &smtp).await;
    let (receipt, id) = maria.file_request(complaint("Buca")).await;
    staff.act(&id, "chiedi", &[("message", QUESTION)]).await;
    app.settle().await;

    let base = format!("/area/richieste/{id}");
    let document = pdf("pianta della via");
    let sent = reply(
        &maria,
        &base,
        "In via Garibaldi, davanti al civico 8.",
        &[
            ("pianta.pdf", "application/pdf", document.clone()),
            ("foto.png", "image/png", png(6, 6)),
        ],
    )
    .await;
    sent.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(sent.header("location").as_deref(), Some(base.as_str()));
    app.settle().await;

    let page = maria.get(&base).await;
    let history = page.text();
    assert!(history.contains("Hai inviato altre informazioni"));
    assert!(history.contains("In via Garibaldi, davanti al civico 8."));
    assert!(
        history.contains("Scarica allegato-1.pdf") && history.contains("Scarica allegato-2.png")
    );
    let link = link_starting(&page, &format!("{base}/risposte/")).unwrap();
    assert!(link.ends_with("/0"), "{link}");
    let download = maria.get(&link).await;
    assert_eq!(download.status, StatusCode::OK);
    assert_eq!(download.bytes, document);
    download.assert_attachment("application/pdf", "attachment;");
    assert!(app
        .event_types(&receipt.reference)
        .await
        .contains(&"CitizenReplied".to_string()));
    // Staff read it on their page with the same file.
    let staff_page = staff.get(&format!("/ufficio/richieste/{id}")).await;
    assert!(staff_page
        .text()
        .contains("In via Garibaldi, davanti al civico 8."));
}

#[tokio::test]
async fn a_reply_with_a_file_from_the_tracking_link_shows_in_the_history() {
    let app = TestApp::start().await;
    let receipt = app.file(complaint("Buca")).await;
    let base = format!("/segui/{}", receipt.token);
    let document = pdf("altre informazioni");
    let sent = reply(
        &app,
        &base,
        "Aggiungo la pianta della via.",
        &[("pianta.pdf", "application/pdf", document.clone())],
    )
    .await;
    sent.assert_status(StatusCode::SEE_OTHER);
    app.settle().await;
    assert!(app
        .history(&receipt)
        .await
        .iter()
        .any(|entry| entry.starts_with("Hai inviato altre informazioni")));
    let page = app.get(&base).await;
    assert!(page.text().contains("Aggiungo la pianta della via."));
    let link = link_starting(&page, &format!("{base}/risposte/")).expect("a download link");
    let download = app.get(&link).await;
    assert_eq!(download.status, StatusCode::OK);
    assert_eq!(download.bytes, document);
}

/// Maria's request, answered and closed, in an app that lets a request be reopened for ten days;
/// returns the app, its mail server, Maria's browser and the request's page in her area.
async fn closed_with_ten_days_to_reopen() -> (TestApp, SmtpServer, TestApp, String) {
    let (app, smtp) = app_with_mail().await;
    configure(&app, "10", "").await;
    let staff = operator(&app).await;
    let maria = maria_signed_in(&app, &smtp).await;
    let id = closed_request(&maria, &staff, "Lampione spento").await;
    (app, smtp, maria, format!("/area/richieste/{id}"))
}

#[tokio::test]
async fn a_closed_request_is_reopened_within_the_configured_days() {
    let (app, _smtp, maria, base) = closed_with_ten_days_to_reopen().await;
    app.app.clock.advance(Duration::days(9));
    maria
        .citizen_sign_in("maria.rossi@example.it", CITIZEN_PASSWORD)
        .await;
    let page = maria.get(&base).await;
    assert_eq!(page.element_text("status").unwrap(), "Chiusa");
    assert!(page
        .text()
        .contains("puoi riaprire la richiesta fino al 20 marzo 2026"));
    let reopened = post_on_page(
        &maria,
        &base,
        "riapri",
        &[("reason", "Il lampione è di nuovo spento da ieri sera.")],
    )
    .await;
    reopened.assert_status(StatusCode::SEE_OTHER);
    app.settle().await;
    let page = maria.get(&base).await;
    assert_eq!(page.element_text("status").unwrap(), "In valutazione");
    assert!(page.text().contains("Richiesta riaperta"));
    let reference = page.element_text("reference").unwrap();
    assert_eq!(
        app.event_types(&reference).await.last().map(String::as_str),
        Some("RequestReopened")
    );
}

#[tokio::test]
async fn a_closed_request_is_not_reopened_after_the_configured_days() {
    let (app, _smtp, maria, base) = closed_with_ten_days_to_reopen().await;
    // The page's form, taken while it was still offered.
    let token = maria.get(&base).await.input_value("csrf_token").unwrap();
    app.app
        .clock
        .advance(Duration::days(10) + Duration::minutes(1));
    maria
        .citizen_sign_in("maria.rossi@example.it", CITIZEN_PASSWORD)
        .await;
    let page = maria.get(&base).await;
    assert!(!page.text().contains(&format!("action=\"{base}/riapri\"")));
    let events = app.count_events().await;
    let late = maria
        .post_urlencoded(
            &format!("{base}/riapri"),
            &[
                ("csrf_token", &token),
                ("reason", "Il lampione è di nuovo spento da ieri sera."),
            ],
        )
        .await;
    assert_eq!(late.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(late
        .text()
        .contains("Il periodo per riaprire questa richiesta è terminato."));
    assert_eq!(app.count_events().await, events);
}

#[tokio::test]
async fn rating_takes_two_steps_and_records_the_reasons_once() {
    let (app, smtp) = app_with_mail().await;
    let staff = operator(&app).await;
    let maria = maria_signed_in(&app, &smtp).await;
    let id = closed_request(&maria, &staff, "Lampione spento").await;
    let base = format!("/area/richieste/{id}");

    let first = post_on_page(&maria, &base, "valuta", &[("stars", "2")]).await;
    assert_eq!(first.status, StatusCode::OK);
    let step = first.text();
    assert!(step.contains("name=\"step\" value=\"2\""));
    assert!(step.contains("Dove possiamo migliorare?"));
    assert!(step.contains("id=\"reason-slow\"") && !step.contains("id=\"reason-fast\""));
    assert_eq!(
        ratings(&app, &id).await,
        0,
        "the first step records nothing"
    );

    let rated = post_on_page(
        &maria,
        &base,
        "valuta",
        &[
            ("stars", "2"),
            ("step", "2"),
            ("reasons", "slow"),
            ("reasons", "unclear"),
            ("reasons", "fast"),
            ("comment", "Ci sono volute tre settimane."),
        ],
    )
    .await;
    rated.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(
        rated.header("location"),
        Some(format!("{base}#rating-title"))
    );
    let payload: String = sqlx::query_scalar(
        "SELECT CAST(payload AS CHAR) FROM events WHERE aggregate_id = ? AND event_type = 'RequestRated'",
    )
    .bind(&id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let payload: Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(payload["RequestRated"]["stars"], 2);
    assert_eq!(
        payload["RequestRated"]["reasons"],
        serde_json::json!(["slow", "unclear"]),
        "only the reasons offered for two stars"
    );
    assert!(
        !payload.to_string().contains("tre settimane"),
        "the comment is sealed"
    );
    app.settle().await;
    let page = maria.get(&base).await;
    assert_eq!(page.element_text("rating").unwrap(), "2 stelle su 5");
    assert!(page
        .text()
        .contains("Hai valutato la risposta: 2 stelle su 5"));

    let again = post_on_page(
        &maria,
        &base,
        "valuta",
        &[("stars", "5"), ("step", "2"), ("reasons", "fast")],
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.text().contains("Hai già valutato questa risposta."));
    assert_eq!(ratings(&app, &id).await, 1);
}

async fn ratings(app: &TestApp, id: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM events WHERE aggregate_id = ? AND event_type = 'RequestRated'",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn stars_out_of_range_are_refused() {
    let app = TestApp::start().await;
    let staff = operator(&app).await;
    let (receipt, id) = app.file_request(complaint("Lampione spento")).await;
    staff.act(&id, "chiudi", &[("outcome", "withdrawn")]).await;
    app.settle().await;
    let base = format!("/segui/{}", receipt.token);
    let events = app.count_events().await;
    for stars in ["0", "6", "-1", "tre", ""] {
        for step in ["1", "2"] {
            let refused =
                post_on_page(&app, &base, "valuta", &[("stars", stars), ("step", step)]).await;
            assert_eq!(
                refused.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{stars} {step}"
            );
            assert!(refused.text().contains("Scegli da 1 a 5 stelle."));
        }
    }
    assert_eq!(app.count_events().await, events);
    // In range it is taken (the same form, so the refusals were about the stars).
    let rated = post_on_page(&app, &base, "valuta", &[("stars", "5"), ("step", "2")]).await;
    assert_eq!(rated.status, StatusCode::SEE_OTHER);
}

// --- Drafts ----------------------------------------------------------------------------------

#[tokio::test]
async fn a_draft_is_saved_reopened_only_by_its_owner_and_removed_when_the_request_is_sent() {
    let (app, smtp) = app_with_mail().await;
    let maria = maria_signed_in(&app, &smtp).await;
    let luca = app
        .register_citizen(&smtp, "Luca", "luca.neri@example.it")
        .await;
    let typed = Multipart::new()
        .text("kind", "complaint")
        .text("topic", "lavori-pubblici")
        .text("subject", "Buca in via Verdi")
        .text("description", "Una buca profonda")
        .text("place", "Via Verdi 3")
        .text("action", "draft");
    let saved = maria.submit(typed).await;
    saved.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(
        saved.header("location").as_deref(),
        Some("/area?avviso=bozza")
    );

    let area = maria.get("/area?avviso=bozza").await;
    assert!(area.text().contains("Bozza salvata."));
    assert!(area.element_text("drafts").is_some());
    let link = link_starting(&area, "/segnalazioni/nuova?bozza=").expect("the draft is listed");
    let draft_id = link.split('=').nth(1).unwrap().to_string();
    assert!(area
        .text()
        .contains(&format!("href=\"{link}\">Buca in via Verdi</a>")));

    let reopened = maria.get(&link).await;
    assert_eq!(reopened.status, StatusCode::OK);
    assert_eq!(
        reopened.input_value("subject").unwrap(),
        "Buca in via Verdi"
    );
    assert_eq!(reopened.input_value("place").unwrap(), "Via Verdi 3");
    assert_eq!(
        reopened.element_text("description").unwrap(),
        "Una buca profonda"
    );
    assert_eq!(reopened.input_value("bozza").unwrap(), draft_id);
    assert_eq!(
        reopened.input_value("first_name").unwrap(),
        "Maria",
        "from the account"
    );

    // Somebody else's draft id is not found, and saving over it makes a draft of one's own.
    assert_eq!(luca.get(&link).await.status, StatusCode::NOT_FOUND);
    let over = luca
        .submit(
            Multipart::new()
                .text("subject", "Sovrascritta")
                .text("bozza", &draft_id)
                .text("action", "draft"),
        )
        .await;
    assert_eq!(over.status, StatusCode::SEE_OTHER);
    assert_eq!(
        maria.get(&link).await.input_value("subject").unwrap(),
        "Buca in via Verdi"
    );

    let sent = maria
        .file(
            complaint("Buca in via Verdi")
                .text("bozza", &draft_id)
                .text("action", "send"),
        )
        .await;
    app.settle().await;
    let area = maria.get("/area").await;
    assert!(area.element_text("drafts").is_none(), "the draft is gone");
    assert_eq!(maria.get(&link).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        listed(&area),
        [(
            format!("{} — Buca in via Verdi", sent.reference),
            "Ricevuta, in attesa di valutazione".to_string()
        )]
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM request_drafts").await,
        1,
        "Luca's"
    );

    // A draft is deleted by its owner only.
    let luca_area = luca.get("/area").await;
    let luca_draft = link_starting(&luca_area, "/segnalazioni/nuova?bozza=")
        .unwrap()
        .split('=')
        .nth(1)
        .unwrap()
        .to_string();
    for (who, deleted) in [(&maria, 1), (&luca, 0)] {
        let response = who
            .post_with_token("/area", &format!("/area/bozze/{luca_draft}/elimina"), &[])
            .await;
        assert_eq!(response.status, StatusCode::SEE_OTHER);
        assert_eq!(
            count(&app, "SELECT COUNT(*) FROM request_drafts").await,
            deleted,
            "after a try by {}",
            if deleted == 1 { "Maria" } else { "Luca" }
        );
    }
}
