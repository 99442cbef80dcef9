//! Administration over HTTP: only administrators get in; settings, offices, topics, other bodies
//! and staff invitations change what the rest of the application does.

use axum::http::StatusCode;
use sportello_server::staff::Role;

use crate::support::{complaint, Options, TestApp};

async fn admin(app: &TestApp) -> String {
    let (email, password) = app
        .add_staff("Ada Amministratrice", &[Role::Administrator], &[])
        .await;
    app.signed_in_as(&email, &password).await;
    app.get("/ufficio/amministrazione/impostazioni")
        .await
        .input_value("csrf_token")
        .unwrap()
}

#[tokio::test]
async fn only_administrators_reach_the_administration() {
    let app = TestApp::start().await;
    let (email, password) = app
        .add_staff(
            "Anna Operatrice",
            &[Role::UrpOperator, Role::UrpManager],
            &[],
        )
        .await;
    app.signed_in_as(&email, &password).await;
    for path in ["impostazioni", "uffici", "enti", "argomenti", "personale"] {
        assert_eq!(
            app.get(&format!("/ufficio/amministrazione/{path}"))
                .await
                .status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let token = app.get("/ufficio/richieste").await.csrf_token();
    let post = app
        .post_urlencoded(
            "/ufficio/amministrazione/uffici",
            &[
                ("csrf_token", &token),
                ("name", "X"),
                ("email", "x@comune.test"),
            ],
        )
        .await;
    assert_eq!(post.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn each_directory_page_shows_its_own_section() {
    let app = TestApp::start().await;
    admin(&app).await;
    for (path, heading, not) in [
        ("uffici", "Uffici", "Altri enti"),
        ("enti", "Altri enti", "Risposte predefinite"),
        ("argomenti", "Argomenti", "Risposte predefinite"),
        ("risposte", "Risposte predefinite", "Altri enti"),
    ] {
        let page = app.get(&format!("/ufficio/amministrazione/{path}")).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        let title = page
            .text()
            .split("<h1")
            .nth(1)
            .unwrap_or_default()
            .to_string();
        assert!(title.contains(heading), "{path}: {title}");
        assert!(
            !title
                .split("</h1>")
                .next()
                .unwrap_or_default()
                .contains(not),
            "{path}"
        );
    }
}

#[tokio::test]
async fn deadlines_and_the_patron_saint_apply_to_new_requests() {
    let app = TestApp::start().await;
    let token = admin(&app).await;
    let bad = app
        .post_urlencoded(
            "/ufficio/amministrazione/impostazioni",
            &[
                ("csrf_token", &token),
                ("days_information", "0"),
                ("days_complaint", "20"),
                ("days_suggestion", "30"),
                ("days_praise", "30"),
                ("reminder_days", "10"),
                ("escalation_days", "5"),
                ("patron_saint", "31-02"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().contains("da 1 a 365") && bad.text().contains("MM-GG"));
    assert_eq!(
        bad.input_value("days_complaint").unwrap(),
        "20",
        "what was typed is kept"
    );
    // 10 March + 20 days = 30 March; the patron saint's day on 30 March moves it to the 31st.
    let saved = app
        .post_urlencoded(
            "/ufficio/amministrazione/impostazioni",
            &[
                ("csrf_token", &token),
                ("days_information", "30"),
                ("days_complaint", "20"),
                ("days_suggestion", "30"),
                ("days_praise", "30"),
                ("reminder_days", "7"),
                ("escalation_days", "3"),
                ("reopen_days", "30"),
                ("patron_saint", "03-30"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let receipt = app.file(complaint("Con termini nuovi")).await;
    let page = app.get(&format!("/segui/{}/ricevuta", receipt.token)).await;
    assert!(
        page.element_text("deadline")
            .unwrap()
            .contains("31 marzo 2026"),
        "{:?}",
        page.element_text("deadline")
    );
}

#[tokio::test]
async fn offices_topics_and_other_bodies_are_managed_here() {
    let app = TestApp::start().await;
    let token = admin(&app).await;
    let add = |fields: Vec<(&'static str, String)>, path: &'static str| {
        let app = &app;
        let token = token.clone();
        async move {
            let mut all: Vec<(&str, String)> = vec![("csrf_token", token)];
            all.extend(fields);
            let borrowed: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.post_urlencoded(path, &borrowed).await
        }
    };
    let bad = add(
        vec![("name", "Verde".into()), ("email", "non-valida".into())],
        "/ufficio/amministrazione/uffici",
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.input_value("name").unwrap(), "Verde");
    let ok = add(
        vec![
            ("name", "Verde pubblico".into()),
            ("email", "verde@comune.test".into()),
        ],
        "/ufficio/amministrazione/uffici",
    )
    .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    let again = add(
        vec![
            ("name", "Verde pubblico".into()),
            ("email", "verde2@comune.test".into()),
        ],
        "/ufficio/amministrazione/uffici",
    )
    .await;
    assert!(again.text().contains("Esiste già"));

    let topic = add(
        vec![
            ("code", "cimiteri".into()),
            ("name_it", "Servizi cimiteriali".into()),
            ("name_en", "Cemeteries".into()),
            ("position", "5".into()),
        ],
        "/ufficio/amministrazione/argomenti",
    )
    .await;
    assert_eq!(topic.status, StatusCode::SEE_OTHER);
    assert!(app
        .get("/segnalazioni/nuova")
        .await
        .text()
        .contains("Servizi cimiteriali"));
    // Deactivating a topic takes it out of the citizen's form.
    add(
        vec![
            ("existing", "1".into()),
            ("code", "cimiteri".into()),
            ("name_it", "Servizi cimiteriali".into()),
            ("name_en", "Cemeteries".into()),
        ],
        "/ufficio/amministrazione/argomenti",
    )
    .await;
    assert!(!app
        .get("/segnalazioni/nuova")
        .await
        .text()
        .contains("Servizi cimiteriali"));

    let body = add(
        vec![
            ("name", "ASL Roma 1".into()),
            ("phone", "06 1234".into()),
            ("website", "https://www.aslroma1.it".into()),
        ],
        "/ufficio/amministrazione/enti",
    )
    .await;
    assert_eq!(body.status, StatusCode::SEE_OTHER);
    let listing = app.get("/ufficio/amministrazione/enti").await;
    assert!(listing.text().contains("ASL Roma 1"));
    let logged: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM admin_log")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(logged, 4);
}

#[tokio::test]
async fn an_invited_person_sets_a_password_and_signs_in_and_deactivation_ends_their_sessions() {
    let smtp = crate::support::smtp::SmtpServer::start().await;
    let app = TestApp::with_mail(&smtp).await;
    let token = admin(&app).await;
    let invited = app
        .post_urlencoded(
            "/ufficio/amministrazione/personale",
            &[
                ("csrf_token", &token),
                ("name", "Bruno Nuovo"),
                ("email", "bruno@comune.test"),
                ("role", "urp_operator"),
                ("role", "urp_manager"),
            ],
        )
        .await;
    assert_eq!(invited.status, StatusCode::SEE_OTHER);
    app.settle().await;
    let mail =
        crate::support::smtp::parse(&smtp.wait_for(1, std::time::Duration::from_secs(5)).await[0]);
    assert_eq!(mail.subject, "Il tuo accesso allo Sportello URP");
    let link = mail
        .text
        .lines()
        .find(|l| l.contains("/ufficio/invito/"))
        .unwrap()
        .trim()
        .to_string();
    let path = link
        .trim_start_matches("https://urp.comune.test")
        .to_string();

    let bruno = TestApp::on_database(app.database_url.clone(), Options::default()).await;
    let page = bruno.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = page.input_value("csrf_token").unwrap();
    let weak = bruno
        .post_urlencoded(
            &path,
            &[
                ("csrf_token", &csrf),
                ("password", "corta"),
                ("password_confirmation", "corta"),
            ],
        )
        .await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    let set = bruno
        .post_urlencoded(
            &path,
            &[
                ("csrf_token", &csrf),
                ("password", "una frase lunga e sicura"),
                ("password_confirmation", "una frase lunga e sicura"),
            ],
        )
        .await;
    assert_eq!(set.status, StatusCode::SEE_OTHER);
    assert_eq!(
        bruno.get(&path).await.status,
        StatusCode::NOT_FOUND,
        "the link works once"
    );
    bruno
        .signed_in_as("bruno@comune.test", "una frase lunga e sicura")
        .await;
    assert_eq!(bruno.get("/ufficio/richieste").await.status, StatusCode::OK);

    // A new invitation used to reset the password ends the sessions opened with the old one.
    let bruno_id: String =
        sqlx::query_scalar("SELECT id FROM staff WHERE email = 'bruno@comune.test'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    app.post_urlencoded(
        &format!("/ufficio/amministrazione/personale/{bruno_id}"),
        &[
            ("csrf_token", &token),
            ("role", "urp_operator"),
            ("active", "1"),
            ("reinvite", "1"),
        ],
    )
    .await;
    app.settle().await;
    let mails = smtp.wait_for(2, std::time::Duration::from_secs(5)).await;
    let reset_mail = crate::support::smtp::parse(&mails[1]);
    let reset = reset_mail
        .text
        .lines()
        .find(|l| l.contains("/ufficio/invito/"))
        .unwrap()
        .trim()
        .trim_start_matches("https://urp.comune.test")
        .to_string();
    let device = TestApp::on_database(app.database_url.clone(), Options::default()).await;
    let csrf = device.get(&reset).await.input_value("csrf_token").unwrap();
    let fields = [
        ("csrf_token", csrf.as_str()),
        ("password", "una nuova frase sicura"),
        ("password_confirmation", "una nuova frase sicura"),
    ];
    assert_eq!(
        device.post_urlencoded(&reset, &fields).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        bruno.get("/ufficio/richieste").await.status,
        StatusCode::SEE_OTHER,
        "the old session is over"
    );
    bruno
        .signed_in_as("bruno@comune.test", "una nuova frase sicura")
        .await;

    // Deactivated by the administrator: Bruno's open session ends at once.
    let id: String = sqlx::query_scalar("SELECT id FROM staff WHERE email = 'bruno@comune.test'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let off = app
        .post_urlencoded(
            &format!("/ufficio/amministrazione/personale/{id}"),
            &[("csrf_token", &token), ("role", "urp_operator")],
        )
        .await;
    assert_eq!(off.status, StatusCode::SEE_OTHER);
    assert_eq!(
        bruno.get("/ufficio/richieste").await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        bruno
            .sign_in("bruno@comune.test", "una frase lunga e sicura")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn an_administrator_cannot_lock_themselves_out() {
    let app = TestApp::start().await;
    let token = admin(&app).await;
    let id: String = sqlx::query_scalar("SELECT id FROM staff")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let response = app
        .post_urlencoded(
            &format!("/ufficio/amministrazione/personale/{id}"),
            &[
                ("csrf_token", &token),
                ("role", "urp_operator"),
                ("active", "1"),
            ],
        )
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.text().contains("Non puoi togliere a te stesso"));
}

#[tokio::test]
async fn administrators_read_a_requests_full_history_without_acting() {
    let app = TestApp::start().await;
    let (_, id) = app.file_request(complaint("Da verificare")).await;
    admin(&app).await;
    let page = app.get(&format!("/ufficio/richieste/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("Richiesta ricevuta"));
    assert!(
        !page.text().contains("id=\"action-"),
        "no actions for an administrator alone"
    );
}

#[tokio::test]
async fn a_canned_answer_starts_the_answer_with_the_requests_data() {
    let app = TestApp::start().await;
    let token = admin(&app).await;
    let saved = app
        .post_urlencoded(
            "/ufficio/amministrazione/risposte",
            &[("csrf_token", &token), ("title", "Lampioni"), ("kind", "complaint"), ("topic", ""),
              ("body_it", "Gentile {nome}, la richiesta {riferimento} ({oggetto}) è stata presa in esame."),
              ("body_en", "Dear {nome}, request {riferimento} is being looked at.")],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let missing = app
        .post_urlencoded(
            "/ufficio/amministrazione/risposte",
            &[
                ("csrf_token", &token),
                ("title", "Vuota"),
                ("body_it", "solo italiano"),
                ("body_en", ""),
            ],
        )
        .await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    let id: String = sqlx::query_scalar("SELECT id FROM canned_answers")
        .fetch_one(&app.pool)
        .await
        .unwrap();

    let receipt = app.file(complaint("Lampione spento")).await;
    let request = app.aggregate_id(&receipt.reference).await;
    let operator = TestApp::on_database(app.database_url.clone(), Options::default()).await;
    let (email, password) = operator
        .add_staff("Anna Operatrice", &[Role::UrpOperator], &[])
        .await;
    operator.signed_in_as(&email, &password).await;
    let page = operator
        .get(&format!("/ufficio/richieste/{request}?modello={id}"))
        .await;
    let answer = page.element_text("rispondi-message").unwrap();
    assert_eq!(
        answer,
        format!(
            "Gentile Maria, la richiesta {} (Lampione spento) è stata presa in esame.",
            receipt.reference
        )
    );
    // An information request does not get a complaint's canned answer.
    let info = app
        .file(complaint("Orari").text("kind", "information"))
        .await;
    let info_id = app.aggregate_id(&info.reference).await;
    assert!(!operator
        .get(&format!("/ufficio/richieste/{info_id}"))
        .await
        .text()
        .contains("Lampioni"));
}

/// Saves the settings page with `days` as every kind's answer days.
async fn save_answer_days(app: &TestApp, token: &str, days: &str) {
    let saved = app
        .post_urlencoded(
            "/ufficio/amministrazione/impostazioni",
            &[
                ("csrf_token", token),
                ("days_information", days),
                ("days_complaint", days),
                ("days_suggestion", days),
                ("days_praise", days),
                ("reminder_days", "10"),
                ("escalation_days", "5"),
                ("reopen_days", "30"),
                ("patron_saint", ""),
            ],
        )
        .await;
    saved.assert_status(StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn settings_saved_on_one_copy_hold_there_at_once_and_on_every_copy_within_a_second() {
    let app = TestApp::start().await;
    let token = admin(&app).await;
    let other = TestApp::on_database(app.database_url.clone(), Options::default()).await;
    // The home page promises an answer within the longest answer days.
    let promise = |copy: &TestApp| {
        let copy = copy.browser();
        async move {
            let text = copy.get("/").await.text();
            let after = text
                .split("Ti rispondiamo entro ")
                .nth(1)
                .unwrap()
                .to_string();
            after.split(' ').next().unwrap().to_string()
        }
    };
    assert_eq!(promise(&other).await, "30");
    save_answer_days(&app, &token, "20").await;
    assert_eq!(promise(&app).await, "20", "at once where saved");
    tokio::time::sleep(sportello_server::recent::STALENESS).await;
    assert_eq!(promise(&other).await, "20", "within a second elsewhere");
}

#[tokio::test]
async fn the_home_page_reads_nothing_from_the_database_that_has_not_changed() {
    let app = TestApp::start().await;
    assert_eq!(app.get("/").await.status, StatusCode::OK);
    // With the database gone, a page that needed it could not be served.
    app.pool.close().await;
    let again = app.browser().get("/").await;
    assert_eq!(again.status, StatusCode::OK);
    assert!(again.text().contains("Ti rispondiamo entro 30 giorni"));
}
