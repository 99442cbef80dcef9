//! The back office over HTTP: signing in, the inbox, the request page, the actions, and who may
//! see and do what.

use axum::http::StatusCode;
use sportello_server::staff::Role;

use crate::support::{complaint, Options, TestApp};

const URP: &[Role] = &[Role::UrpOperator];

#[tokio::test]
async fn staff_pages_ask_to_sign_in_first() {
    let app = TestApp::start().await;
    let page = app.get("/ufficio/richieste?stato=received").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(
        page.header("location").as_deref(),
        Some("/ufficio/accesso?torna=/ufficio/richieste%3Fstato%3Dreceived")
    );
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_account_get_the_same_answer() {
    let app = TestApp::start().await;
    let (email, _) = app.add_staff("Anna Operatrice", URP, &[]).await;
    let wrong = app.sign_in(&email, "not the password at all").await;
    let unknown = app
        .sign_in("nobody@comune.test", "not the password at all")
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        wrong.element_text("error-summary"),
        unknown.element_text("error-summary")
    );
    assert_eq!(
        wrong.input_value("email").unwrap(),
        email,
        "the e-mail typed is kept"
    );
}

#[tokio::test]
async fn signing_in_opens_a_fresh_session_and_signing_out_ends_it() {
    let app = TestApp::start().await;
    let (email, password) = app.add_staff("Anna Operatrice", URP, &[]).await;
    let response = app.sign_in(&email, &password).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(response.header("location").as_deref(), Some("/ufficio"));
    assert_eq!(
        app.get("/ufficio").await.header("location").as_deref(),
        Some("/ufficio/richieste"),
        "the back office's staff land in the inbox"
    );
    let cookie = response.header("set-cookie").unwrap();
    assert!(
        cookie.starts_with("__Host-sportello_session=")
            && cookie.contains("HttpOnly")
            && cookie.contains("Secure")
    );
    let inbox = app.get("/ufficio/richieste").await;
    assert_eq!(inbox.status, StatusCode::OK);
    assert!(inbox.text().contains("Anna Operatrice"));
    // Signing in again rotates the session: the old cookie no longer works.
    let old: String = sqlx::query_scalar("SELECT id_hash FROM sessions")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    app.signed_in_as(&email, &password).await;
    let hashes: Vec<String> = sqlx::query_scalar("SELECT id_hash FROM sessions")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(hashes.len(), 1);
    assert_ne!(hashes[0], old);
    let token = inbox
        .text()
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let fresh = app.get("/ufficio/richieste").await;
    let token = fresh
        .text()
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .map(|t| t.split('"').next().unwrap().to_string())
        .unwrap_or(token);
    let out = app
        .post_urlencoded("/ufficio/esci", &[("csrf_token", &token)])
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.get("/ufficio/richieste").await.status,
        StatusCode::SEE_OTHER,
        "back to the login"
    );
}

#[tokio::test]
async fn sessions_end_after_thirty_idle_minutes() {
    let app = TestApp::start().await;
    let (email, password) = app.add_staff("Anna Operatrice", URP, &[]).await;
    app.signed_in_as(&email, &password).await;
    app.app.clock.advance(chrono::Duration::minutes(29));
    assert_eq!(app.get("/ufficio/richieste").await.status, StatusCode::OK);
    app.app.clock.advance(chrono::Duration::minutes(31));
    assert_eq!(
        app.get("/ufficio/richieste").await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn logins_are_throttled_per_account_even_with_the_right_password() {
    let app = TestApp::start().await;
    let (email, password) = app.add_staff("Anna Operatrice", URP, &[]).await;
    let attempts = (0..8).map(|_| app.sign_in(&email, "a wrong password!"));
    let statuses: Vec<u16> = futures::future::join_all(attempts)
        .await
        .iter()
        .map(|r| r.status.as_u16())
        .collect();
    // At most five passwords are checked, however the parallel attempts interleave (the account's
    // and the client's counts may cross the limit at different attempts).
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let throttled = statuses.iter().filter(|s| **s == 429).count();
    assert!(
        checked <= 5 && checked + throttled == 8 && throttled >= 3,
        "{statuses:?}"
    );
    app.set_client_ip("203.0.113.77:1000");
    assert_eq!(
        app.sign_in(&email, &password).await.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the account is locked for a while"
    );
    app.app.clock.advance(chrono::Duration::minutes(16));
    assert_eq!(
        app.sign_in(&email, &password).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn an_operator_forwards_a_referent_takes_charge_and_answers_the_citizen_reads_it() {
    let app = TestApp::start().await;
    let roads = app.add_department("Lavori pubblici").await;
    let receipt = app.file(complaint("Lampione spento")).await;
    app.settle().await;
    let id = app.aggregate_id(&receipt.reference).await;

    let (operator, operator_password) = app.add_staff("Anna Operatrice", URP, &[]).await;
    app.signed_in_as(&operator, &operator_password).await;
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
    assert_eq!(
        forwarded.status,
        StatusCode::SEE_OTHER,
        "{}",
        forwarded.text()
    );

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
    let answered = referent
        .act(
            &id,
            "rispondi",
            &[("message", "Il lampione sarà riparato entro venerdì.")],
        )
        .await;
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
    let (operator, password) = app.add_staff("Anna Operatrice", URP, &[]).await;
    app.signed_in_as(&operator, &password).await;
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
    let token = inbox
        .text()
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
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
async fn a_front_office_operator_cannot_use_the_back_office() {
    let app = TestApp::start().await;
    let receipt = app.file(complaint("Sportello")).await;
    let id = app.aggregate_id(&receipt.reference).await;
    let (email, password) = app
        .add_staff("Franco Sportello", &[Role::FrontOffice], &[])
        .await;
    app.signed_in_as(&email, &password).await;
    // The counter's staff are sent to the front office, and see no request's back-office page.
    let inbox = app.get("/ufficio/richieste").await;
    assert_eq!(inbox.status, StatusCode::SEE_OTHER);
    assert_eq!(inbox.header("location").as_deref(), Some("/ufficio"));
    assert_eq!(
        app.get("/ufficio").await.header("location").as_deref(),
        Some("/ufficio/sportello")
    );
    assert_eq!(
        app.get(&format!("/ufficio/richieste/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_role_taken_away_takes_effect_on_the_open_session() {
    let app = TestApp::start().await;
    let (email, password) = app.add_staff("Anna Operatrice", URP, &[]).await;
    app.signed_in_as(&email, &password).await;
    assert_eq!(app.get("/ufficio/richieste").await.status, StatusCode::OK);
    sqlx::query("DELETE FROM staff_roles")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        app.get("/ufficio/richieste").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn actions_need_the_sessions_csrf_token() {
    let app = TestApp::start().await;
    let receipt = app.file(complaint("Token")).await;
    let id = app.aggregate_id(&receipt.reference).await;
    let (email, password) = app.add_staff("Anna Operatrice", URP, &[]).await;
    app.signed_in_as(&email, &password).await;
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
    let receipt = app.file(complaint("Concorrenza")).await;
    let id = app.aggregate_id(&receipt.reference).await;
    let (anna, anna_password) = app.add_staff("Anna Operatrice", URP, &[]).await;
    app.signed_in_as(&anna, &anna_password).await;
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
    let receipt = app.file(complaint("Accessi")).await;
    let id = app.aggregate_id(&receipt.reference).await;
    let (email, password) = app.add_staff("Anna Operatrice", URP, &[]).await;
    app.signed_in_as(&email, &password).await;
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
    let receipt = app.file(complaint("Senza testo")).await;
    let id = app.aggregate_id(&receipt.reference).await;
    let (email, password) = app.add_staff("Anna Operatrice", URP, &[]).await;
    app.signed_in_as(&email, &password).await;
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
    let (email, password) = app.add_staff("Anna Operatrice", URP, &[]).await;
    app.signed_in_as(&email, &password).await;
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
    let (email, password) = app.add_staff("Anna Operatrice", URP, &[]).await;
    app.signed_in_as(&email, &password).await;
    for index in 0..3 {
        let receipt = app.file(complaint(&format!("Richiesta {index}"))).await;
        let id = app.aggregate_id(&receipt.reference).await;
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
    let app = TestApp::start_with(Options {
        smtp_url: Some(smtp.url()),
        ..Default::default()
    })
    .await;
    let roads = app.add_department("Lavori pubblici").await;
    let (referent, referent_password) = app
        .add_staff("Rita Referente", &[Role::Referent], &[roads])
        .await;
    let receipt = app.file(complaint("Lampione spento")).await;
    let reference = receipt.reference.clone();
    let id = app.aggregate_id(&reference).await;
    let (operator, password) = app.add_staff("Anna Operatrice", URP, &[]).await;
    app.signed_in_as(&operator, &password).await;
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

    let other = TestApp::on_database(
        app.database_url.clone(),
        Options {
            smtp_url: Some(smtp.url()),
            ..Default::default()
        },
    )
    .await;
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
async fn a_referent_hands_a_request_back_and_the_urp_reopens_a_closed_one() {
    use crate::support::smtp::parse;
    let smtp = crate::support::smtp::SmtpServer::start().await;
    let app = TestApp::start_with(Options {
        smtp_url: Some(smtp.url()),
        ..Default::default()
    })
    .await;
    let roads = app.add_department("Lavori pubblici").await;
    let receipt = app.file(complaint("Non nostro")).await;
    let id = app.aggregate_id(&receipt.reference).await;
    let (operator, password) = app.add_staff("Anna Operatrice", URP, &[]).await;
    app.signed_in_as(&operator, &password).await;
    app.act(&id, "inoltra", &[("department", &roads.to_string())])
        .await;
    let referent = TestApp::on_database(
        app.database_url.clone(),
        Options {
            smtp_url: Some(smtp.url()),
            ..Default::default()
        },
    )
    .await;
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
async fn two_factor_authentication_is_set_up_then_asked_at_every_sign_in() {
    let app = TestApp::start().await;
    let (email, password) = app.add_staff("Anna Operatrice", URP, &[]).await;
    app.signed_in_as(&email, &password).await;
    let setup = app.get("/ufficio/profilo/due-fattori").await;
    let secret = setup.element_text("totp-secret").unwrap();
    let token = setup.input_value("csrf_token").unwrap();
    let wrong = app
        .post_urlencoded(
            "/ufficio/profilo/due-fattori",
            &[
                ("csrf_token", &token),
                ("secret", &secret),
                ("code", "000000"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    let code = code_for(&secret, &app);
    let enabled = app
        .post_urlencoded(
            "/ufficio/profilo/due-fattori",
            &[("csrf_token", &token), ("secret", &secret), ("code", &code)],
        )
        .await;
    assert_eq!(enabled.status, StatusCode::OK);
    let recovery: Vec<String> = enabled
        .text()
        .split("<code>")
        .skip(1)
        .map(|part| part.split("</code>").next().unwrap().to_string())
        .collect();
    assert_eq!(recovery.len(), 10);

    // A new sign-in stops at the code; the same code cannot be used twice.
    app.forget_cookies();
    app.app.clock.advance(chrono::Duration::seconds(30));
    let first = app.sign_in(&email, &password).await;
    assert_eq!(
        first.header("location").as_deref(),
        Some("/ufficio/accesso/codice")
    );
    assert_eq!(
        app.get("/ufficio/richieste").await.status,
        StatusCode::SEE_OTHER,
        "no session yet"
    );
    let form = app.get("/ufficio/accesso/codice").await;
    let csrf = form.input_value("csrf_token").unwrap();
    let bad = app
        .post_urlencoded(
            "/ufficio/accesso/codice",
            &[("csrf_token", &csrf), ("code", "123456")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    let good = app
        .post_urlencoded(
            "/ufficio/accesso/codice",
            &[("csrf_token", &csrf), ("code", &code_for(&secret, &app))],
        )
        .await;
    assert_eq!(good.status, StatusCode::SEE_OTHER);
    assert_eq!(app.get("/ufficio/richieste").await.status, StatusCode::OK);

    // A recovery code works once.
    assert_eq!(
        second_step(&app, &email, &password, &recovery[0]).await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        second_step(&app, &email, &password, &recovery[0]).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn when_two_factors_are_required_staff_set_them_up_first() {
    let app = TestApp::start().await;
    sqlx::query("UPDATE organisations SET require_totp = TRUE")
        .execute(&app.pool)
        .await
        .unwrap();
    let (email, password) = app.add_staff("Anna Operatrice", URP, &[]).await;
    app.signed_in_as(&email, &password).await;
    let inbox = app.get("/ufficio/richieste").await;
    assert_eq!(inbox.status, StatusCode::SEE_OTHER);
    assert_eq!(
        inbox.header("location").as_deref(),
        Some("/ufficio/profilo/due-fattori")
    );
    assert_eq!(
        app.get("/ufficio/profilo/due-fattori").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_answer_carries_documents_to_the_tracking_page_and_the_email() {
    let smtp = crate::support::smtp::SmtpServer::start().await;
    let app = TestApp::start_with(Options {
        smtp_url: Some(smtp.url()),
        ..Default::default()
    })
    .await;
    let receipt = app.file(complaint("Modulo residenza")).await;
    let id = app.aggregate_id(&receipt.reference).await;
    let staff = TestApp::on_database(
        app.database_url.clone(),
        Options {
            smtp_url: Some(smtp.url()),
            ..Default::default()
        },
    )
    .await;
    let (email, password) = staff.add_staff("Anna Operatrice", URP, &[]).await;
    staff.signed_in_as(&email, &password).await;
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
    assert_eq!(
        answered.status,
        StatusCode::SEE_OTHER,
        "{}",
        answered.text()
    );
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
    assert_eq!(
        download.header("content-type").as_deref(),
        Some("application/pdf")
    );
    assert!(download
        .header("content-disposition")
        .unwrap()
        .starts_with("attachment;"));
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
async fn colleagues_behind_one_address_do_not_lock_each_other_out() {
    let app = TestApp::start().await;
    for index in 0..7 {
        let (email, password) = app.add_staff(&format!("Collega {index}"), URP, &[]).await;
        assert_eq!(
            app.sign_in(&email, &password).await.status,
            StatusCode::SEE_OTHER,
            "colleague {index}"
        );
    }
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
    let (email, password) = app.add_staff("Anna Operatrice", URP, &[]).await;
    app.signed_in_as(&email, &password).await;
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
async fn the_citizen_is_told_when_a_request_is_closed_but_not_twice_on_a_redirection() {
    let smtp = crate::support::smtp::SmtpServer::start().await;
    let app = TestApp::start_with(Options {
        smtp_url: Some(smtp.url()),
        ..Default::default()
    })
    .await;
    let body = sportello_server::directory::ExternalBody {
        id: uuid::Uuid::nil(),
        name: "INPS".into(),
        handles: "Pensioni".into(),
        address: "Via Ciro il Grande 21, Roma".into(),
        phone: "803 164".into(),
        email: String::new(),
        website: "https://www.inps.it".into(),
        hours: String::new(),
        active: true,
    };
    let inps = sportello_server::directory::add_external_body(
        &app.pool,
        sportello_server::app::DEFAULT_ORGANISATION,
        &body,
    )
    .await
    .unwrap();
    let first = app.file(complaint("Ritirata")).await;
    let second = app.file(complaint("Pensione")).await;
    let (email, password) = app.add_staff("Anna Operatrice", URP, &[]).await;
    app.signed_in_as(&email, &password).await;
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

/// The current code of a TOTP secret shown on the set-up page.
fn code_for(secret: &str, app: &TestApp) -> String {
    let secret = sportello_server::staff::totp::TotpSecret::from_base32(secret).unwrap();
    sportello_server::staff::totp::code_at(&secret, app.app.clock.now().timestamp())
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
    let receipt = app.file(complaint("Buca")).await;
    let id = app.aggregate_id(&receipt.reference).await;
    let (email, password) = app.add_staff("Anna Operatrice", URP, &[]).await;
    app.signed_in_as(&email, &password).await;
    let page = app.get(&format!("/ufficio/richieste/{id}")).await;
    assert!(page.text().contains(&format!(
        "<option value=\"{roads}\" selected>Lavori pubblici</option>"
    )));
}

#[tokio::test]
async fn signing_out_everywhere_ends_every_session() {
    let app = TestApp::start().await;
    let (email, password) = app.add_staff("Anna Operatrice", URP, &[]).await;
    app.signed_in_as(&email, &password).await;
    let laptop = TestApp::on_database(app.database_url.clone(), Options::default()).await;
    laptop.signed_in_as(&email, &password).await;
    let token = app
        .get("/ufficio/profilo/due-fattori")
        .await
        .input_value("csrf_token")
        .unwrap();
    let out = app
        .post_urlencoded("/ufficio/esci-ovunque", &[("csrf_token", &token)])
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(
        laptop.get("/ufficio/richieste").await.status,
        StatusCode::SEE_OTHER,
        "the other device is signed out too"
    );
    assert_eq!(
        app.get("/ufficio/richieste").await.status,
        StatusCode::SEE_OTHER
    );
}

/// Signs in afresh with the password, then answers the code step; returns the code step's status.
async fn second_step(app: &TestApp, email: &str, password: &str, code: &str) -> StatusCode {
    app.forget_cookies();
    app.sign_in(email, password).await;
    let csrf = app
        .get("/ufficio/accesso/codice")
        .await
        .input_value("csrf_token")
        .unwrap();
    app.post_urlencoded(
        "/ufficio/accesso/codice",
        &[("csrf_token", &csrf), ("code", code)],
    )
    .await
    .status
}

#[tokio::test]
async fn the_second_factor_cannot_be_guessed_or_replaced_with_a_session_alone() {
    let app = TestApp::start().await;
    let (email, password) = app.add_staff("Anna Operatrice", URP, &[]).await;
    app.signed_in_as(&email, &password).await;
    let setup = app.get("/ufficio/profilo/due-fattori").await;
    let secret = setup.element_text("totp-secret").unwrap();
    let token = setup.input_value("csrf_token").unwrap();
    let code = code_for(&secret, &app);
    app.post_urlencoded(
        "/ufficio/profilo/due-fattori",
        &[("csrf_token", &token), ("secret", &secret), ("code", &code)],
    )
    .await;

    // Replacing the key needs a code of the current one.
    app.app.clock.advance(chrono::Duration::seconds(30));
    let other = sportello_server::staff::totp::TotpSecret::generate().to_base32();
    let replaced = app
        .post_urlencoded(
            "/ufficio/profilo/due-fattori",
            &[
                ("csrf_token", &token),
                ("secret", &other),
                ("code", &code_for(&other, &app)),
                ("current_code", "000000"),
            ],
        )
        .await;
    assert_eq!(replaced.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Five wrong codes, in parallel, use up the challenge: then even the right one is refused.
    app.forget_cookies();
    app.sign_in(&email, &password).await;
    let csrf = app
        .get("/ufficio/accesso/codice")
        .await
        .input_value("csrf_token")
        .unwrap();
    let guesses = (0..8).map(|n| {
        let (app, csrf) = (&app, csrf.clone());
        async move {
            app.post_urlencoded(
                "/ufficio/accesso/codice",
                &[("csrf_token", &csrf), ("code", &format!("{:06}", n))],
            )
            .await
            .status
        }
    });
    let statuses = futures::future::join_all(guesses).await;
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::UNAUTHORIZED)
            .count(),
        5,
        "{statuses:?}"
    );
    app.app.clock.advance(chrono::Duration::seconds(30));
    let right = app
        .post_urlencoded(
            "/ufficio/accesso/codice",
            &[("csrf_token", &csrf), ("code", &code_for(&secret, &app))],
        )
        .await;
    assert_eq!(
        right.header("location").as_deref(),
        Some("/ufficio/accesso"),
        "the challenge is spent"
    );
    let open: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        open, 1,
        "only the session of the set-up: the spent challenge opened none"
    );
}
