//! Working a request: the inbox, the actions, who may see and do what, concurrent edits.

use super::*;

#[tokio::test]
async fn an_operator_forwards_a_referent_takes_charge_and_answers_the_citizen_reads_it() {
    let app = TestApp::start().await;
    let roads = app.add_department("Lavori pubblici").await;
    let receipt = app.file(complaint("Lampione spento")).await;
    app.settle().await;
    let id = app.aggregate_id(&receipt.reference).await;

    app.sign_in_operator().await;
    let inbox = app.get("/ufficio/richieste").await;
    assert!(inbox.text().contains(&receipt.reference) && inbox.text().contains("Lampione spento"));
    assert_eq!(
        app.act(&id, "valuta", &[]).await.status,
        StatusCode::SEE_OTHER
    );
    let forwarded = app
        .act(
            &id,
            "inoltra",
            &[("department", &roads.to_string()), ("message", "Urgente")],
        )
        .await;
    forwarded.assert_status(StatusCode::SEE_OTHER);

    let referent = TestApp::on_database(app.database_url.clone(), Options::default()).await;
    let (email, password) = referent
        .add_staff("Rita Referente", &[Role::Referent], &[roads])
        .await;
    referent.signed_in_as(&email, &password).await;
    app.settle().await;
    assert!(referent
        .get("/ufficio/richieste")
        .await
        .text()
        .contains(&receipt.reference));
    assert_eq!(
        referent.act(&id, "prendi", &[]).await.status,
        StatusCode::SEE_OTHER
    );
    let answered = referent.act(&id, "rispondi", &[("message", ANSWER)]).await;
    assert_eq!(answered.status, StatusCode::SEE_OTHER);

    app.settle().await;
    let tracking = app.get(&format!("/segui/{}", receipt.token)).await;
    assert_eq!(tracking.element_text("status").unwrap(), "Risposta inviata");
    assert!(tracking
        .text()
        .contains("Il lampione sarà riparato entro venerdì."));
    assert!(tracking
        .text()
        .contains("Inoltrata all&#x27;ufficio competente: Lavori pubblici"));
    assert!(
        !tracking.text().contains("Urgente"),
        "the note for the office stays internal"
    );

    let page = app.get(&format!("/ufficio/richieste/{id}")).await;
    let timeline = page.text();
    assert!(timeline.contains("Presa in carico da: Lavori pubblici · Rita Referente"));
    assert!(timeline.contains("Inoltrata a: Lavori pubblici · Anna Operatrice"));
    assert!(timeline.contains("Urgente"), "staff read the internal note");
    assert_eq!(page.element_text("status").unwrap(), "Risposta inviata");
}

#[tokio::test]
async fn a_referent_reaches_nothing_of_another_department() {
    let app = TestApp::start().await;
    let roads = app.add_department("Lavori pubblici").await;
    let parks = app.add_department("Verde pubblico").await;
    let receipt = app
        .file(complaint("Lampione spento").file(
            "attachments",
            "foto.png",
            "image/png",
            crate::support::png(4, 4),
        ))
        .await;
    let id = app.aggregate_id(&receipt.reference).await;
    app.sign_in_operator().await;
    app.act(&id, "inoltra", &[("department", &roads.to_string())])
        .await;
    app.settle().await;

    let other = TestApp::on_database(app.database_url.clone(), Options::default()).await;
    let (email, password) = other
        .add_staff("Paolo Parchi", &[Role::Referent], &[parks])
        .await;
    other.signed_in_as(&email, &password).await;
    assert!(!other
        .get("/ufficio/richieste")
        .await
        .text()
        .contains(&receipt.reference));
    let searched = other
        .get(&format!("/ufficio/richieste?cerca={}", receipt.reference))
        .await;
    assert_eq!(searched.element_text("total").unwrap(), "0 richieste");
    for path in [
        format!("/ufficio/richieste/{id}"),
        format!("/ufficio/richieste/{id}/allegati/0"),
        format!("/ufficio/richieste/{id}/allegati/0/anteprima"),
        format!("/ufficio/richieste/{id}/risposte/1/0"),
    ] {
        assert_eq!(
            other.get(&path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    // Every action, even with a valid token of their own session, is a 404.
    let inbox = other.get("/ufficio/richieste").await;
    let token = inbox.csrf_token();
    for action in [
        "prendi",
        "rispondi",
        "restituisci",
        "nota",
        "chiudi",
        "inoltra",
        "valuta",
    ] {
        let response = other
            .post_urlencoded(
                &format!("/ufficio/richieste/{id}/{action}"),
                &[("csrf_token", &token), ("version", "2"), ("message", "x")],
            )
            .await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{action}");
    }
    assert_eq!(app.count_events().await, 3, "nothing was recorded");
}

#[tokio::test]
async fn actions_need_the_sessions_csrf_token() {
    let app = TestApp::start().await;
    let (_, id) = app.file_request(complaint("Token")).await;
    app.sign_in_operator().await;
    let response = app
        .post_urlencoded(
            &format!("/ufficio/richieste/{id}/valuta"),
            &[("csrf_token", "forged"), ("version", "1")],
        )
        .await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert_eq!(app.count_events().await, 1);
}

#[tokio::test]
async fn two_operators_acting_at_once_never_lose_an_update() {
    let app = TestApp::start().await;
    let (_, id) = app.file_request(complaint("Concorrenza")).await;
    app.sign_in_operator().await;
    let second = TestApp::on_database(app.database_url.clone(), Options::default()).await;
    let (bruno, bruno_password) = second.add_staff("Bruno Operatore", URP, &[]).await;
    second.signed_in_as(&bruno, &bruno_password).await;
    // Both open the page at the same version…
    let (token, _) = second.action_form(&id, "nota").await;
    // …Anna acts first…
    assert_eq!(
        app.act(&id, "nota", &[("message", "Ci penso io")])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    // …and Bruno, still on the old version, is told to reload.
    let late = second
        .post_urlencoded(
            &format!("/ufficio/richieste/{id}/valuta"),
            &[("csrf_token", &token), ("version", "1")],
        )
        .await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    assert!(late.text().contains("modificata da qualcun altro"));
    assert_eq!(app.count_events().await, 2);
}

#[tokio::test]
async fn staff_opening_a_request_is_recorded() {
    let app = TestApp::start().await;
    let (_, id) = app.file_request(complaint("Accessi")).await;
    app.sign_in_operator().await;
    app.get(&format!("/ufficio/richieste/{id}")).await;
    let logged: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM staff_access_log WHERE aggregate_id = ?")
            .bind(&id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(logged, 1);
}

#[tokio::test]
async fn a_missing_message_keeps_the_page_and_records_nothing() {
    let app = TestApp::start().await;
    let (_, id) = app.file_request(complaint("Senza testo")).await;
    app.sign_in_operator().await;
    let response = app.act(&id, "rispondi", &[("message", "   ")]).await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.text().contains("Scrivi il testo."));
    assert_eq!(app.count_events().await, 1);
}

#[tokio::test]
async fn the_inbox_filters_by_status_kind_text_and_overdue() {
    let app = TestApp::start().await;
    let first = app.file(complaint("Buca in via Roma")).await;
    app.file(complaint("Lampione spento").text("kind", "information"))
        .await;
    app.settle().await;
    let (email, password) = app.sign_in_operator().await;
    let all = app.get("/ufficio/richieste").await;
    assert_eq!(all.element_text("total").unwrap(), "2 richieste");
    let info = app.get("/ufficio/richieste?tipo=information").await;
    assert_eq!(info.element_text("total").unwrap(), "1 richieste");
    assert!(info.text().contains("Lampione spento") && !info.text().contains("Buca in via Roma"));
    let by_reference = app
        .get(&format!("/ufficio/richieste?cerca={}", first.reference))
        .await;
    assert_eq!(by_reference.element_text("total").unwrap(), "1 richieste");
    let by_word = app.get("/ufficio/richieste?cerca=lampione").await;
    assert!(
        by_word.text().contains("Lampione spento") && !by_word.text().contains("Buca in via Roma")
    );
    let by_citizen = app.get("/ufficio/richieste?cerca=rossi").await;
    assert_eq!(by_citizen.element_text("total").unwrap(), "2 richieste");
    assert_eq!(
        app.get("/ufficio/richieste?scadute=1")
            .await
            .element_text("total")
            .unwrap(),
        "0 richieste"
    );
    app.app.clock.advance(chrono::Duration::days(40));
    app.signed_in_as(&email, &password).await;
    let overdue = app.get("/ufficio/richieste?scadute=1").await;
    assert_eq!(overdue.element_text("total").unwrap(), "2 richieste");
    assert!(overdue.text().contains("class=\"overdue\""));
    let bad_date = app.get("/ufficio/richieste?dal=ieri").await;
    assert!(bad_date.text().contains("non è valida"));
    assert_eq!(
        bad_date.input_value("dal").unwrap(),
        "ieri",
        "what was typed is kept"
    );
}

#[tokio::test]
async fn a_rebuilt_queue_equals_the_live_one() {
    let app = TestApp::start().await;
    let roads = app.add_department("Lavori pubblici").await;
    app.sign_in_operator().await;
    for index in 0..3 {
        let (_, id) = app
            .file_request(complaint(&format!("Richiesta {index}")))
            .await;
        if index > 0 {
            app.act(&id, "inoltra", &[("department", &roads.to_string())])
                .await;
        }
        if index > 1 {
            app.act(&id, "chiudi", &[("outcome", "withdrawn")]).await;
        }
    }
    app.settle().await;
    let snapshot = || async {
        sqlx::query_scalar::<_, String>(
            "SELECT CONVERT(CONCAT_WS('|', aggregate_id, reference, status, COALESCE(department_id, '-'),
                    COALESCE(forwarded_at, '-'), COALESCE(closed_at, '-'), COALESCE(outcome, '-'), answer_due,
                    COALESCE(subject, '-'), COALESCE(citizen_name, '-')) USING utf8mb4)
               FROM queue_requests ORDER BY aggregate_id",
        )
        .fetch_all(&app.pool)
        .await
        .unwrap()
    };
    let counts = || async {
        sqlx::query_scalar::<_, String>(
            "SELECT CONVERT(CONCAT_WS('|', status, kind, topic_code, channel, department_id, n) USING utf8mb4)
               FROM queue_counts WHERE n > 0 ORDER BY 1",
        )
        .fetch_all(&app.pool)
        .await
        .unwrap()
    };
    let words = || async {
        sqlx::query_scalar::<_, String>(
            "SELECT CONVERT(CONCAT_WS('|', aggregate_id, word, received_at) USING utf8mb4)
               FROM queue_words ORDER BY 1",
        )
        .fetch_all(&app.pool)
        .await
        .unwrap()
    };
    let live = snapshot().await;
    let live_counts = counts().await;
    let live_words = words().await;
    assert!(
        live_words.len() >= 3 * 4,
        "subject, name and address of each"
    );
    assert_eq!(live.len(), 3);
    assert_eq!(
        live_counts
            .iter()
            .map(|row| row.rsplit('|').next().unwrap().parse::<i64>().unwrap())
            .sum::<i64>(),
        3
    );
    sportello_projections::rebuild(&app.pool, &sportello_projections::queue::Queue)
        .await
        .unwrap();
    assert_eq!(snapshot().await, live);
    assert_eq!(counts().await, live_counts);
    assert_eq!(words().await, live_words);
}

#[tokio::test]
async fn a_referent_hands_a_request_back_and_the_urp_reopens_a_closed_one() {
    use crate::support::smtp::parse;
    let smtp = crate::support::smtp::SmtpServer::start().await;
    let app = TestApp::with_mail(&smtp).await;
    let roads = app.add_department("Lavori pubblici").await;
    let (receipt, id) = app.file_request(complaint("Non nostro")).await;
    let (operator, _) = app.sign_in_operator().await;
    app.act(&id, "inoltra", &[("department", &roads.to_string())])
        .await;
    let referent = app.copy_with_mail(&smtp).await;
    let (email, referent_password) = referent
        .add_staff("Rita Referente", &[Role::Referent], &[roads])
        .await;
    referent.signed_in_as(&email, &referent_password).await;
    assert_eq!(
        referent
            .act(&id, "restituisci", &[("message", "È della Polizia locale")])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    // Handed back, it is no longer the referent's: a 404 now.
    assert_eq!(
        referent
            .get(&format!("/ufficio/richieste/{id}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    app.settle().await;
    let page = app.get(&format!("/ufficio/richieste/{id}")).await;
    assert_eq!(page.element_text("status").unwrap(), "In valutazione");
    assert!(
        page.text()
            .contains("Restituita all&#x27;URP da: Lavori pubblici")
            && page.text().contains("È della Polizia locale")
    );
    let mails = smtp.wait_for(3, std::time::Duration::from_secs(5)).await;
    let back = mails
        .iter()
        .find(|m| parse(m).subject == format!("Richiesta {} restituita all'URP", receipt.reference))
        .unwrap();
    assert_eq!(back.to, vec![operator.to_string()]);
    assert!(parse(back).text.contains("È della Polizia locale"));

    app.act(&id, "chiudi", &[("outcome", "duplicate")]).await;
    let reopened = app
        .act(&id, "riapri", &[("message", "Il cittadino ha chiarito")])
        .await;
    assert_eq!(reopened.status, StatusCode::SEE_OTHER);
    app.settle().await;
    assert_eq!(
        app.get(&format!("/segui/{}", receipt.token))
            .await
            .element_text("status")
            .unwrap(),
        "In valutazione"
    );
    assert!(app
        .get(&format!("/segui/{}", receipt.token))
        .await
        .text()
        .contains("Richiesta riaperta"));
}

#[tokio::test]
async fn staff_see_image_previews_of_what_the_citizen_sent() {
    let app = TestApp::start().await;
    let receipt = app
        .file(complaint("Con foto").file(
            "attachments",
            "buca.png",
            "image/png",
            crate::support::png(30, 20),
        ))
        .await;
    let id = app.aggregate_id(&receipt.reference).await;
    app.sign_in_operator().await;
    let page = app.get(&format!("/ufficio/richieste/{id}")).await;
    assert!(page.text().contains(&format!(
        "src=\"/ufficio/richieste/{id}/allegati/0/anteprima\""
    )));
    assert!(page.text().contains("alt=\"Anteprima di buca.png\""));
    let preview = app
        .get(&format!("/ufficio/richieste/{id}/allegati/0/anteprima"))
        .await;
    assert_eq!(preview.status, StatusCode::OK);
    assert!(image::load_from_memory(&preview.bytes).is_ok());
}

#[tokio::test]
async fn forwarding_offers_the_topics_default_office_first() {
    let app = TestApp::start().await;
    let roads = app.add_department("Lavori pubblici").await;
    app.add_department("Verde pubblico").await;
    sqlx::query("UPDATE topics SET default_department = ? WHERE code = 'lavori-pubblici'")
        .bind(roads.to_string())
        .execute(&app.pool)
        .await
        .unwrap();
    let (_, id) = app.file_request(complaint("Buca")).await;
    app.sign_in_operator().await;
    let page = app.get(&format!("/ufficio/richieste/{id}")).await;
    assert!(page.text().contains(&format!(
        "<option value=\"{roads}\" selected>Lavori pubblici</option>"
    )));
}
