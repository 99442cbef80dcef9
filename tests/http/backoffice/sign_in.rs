//! Staff sign in: sessions, throttling, two factors, roles taking effect at once.

use super::*;

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
    let token = inbox.csrf_token();
    let fresh = app.get("/ufficio/richieste").await;
    let token = fresh.form_token().unwrap_or(token);
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
    app.sign_in_operator().await;
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
async fn a_front_office_operator_cannot_use_the_back_office() {
    let app = TestApp::start().await;
    let (_, id) = app.file_request(complaint("Sportello")).await;
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
    app.sign_in_operator().await;
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
async fn two_factor_authentication_is_set_up_then_asked_at_every_sign_in() {
    let app = TestApp::start().await;
    let (email, password) = app.sign_in_operator().await;
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
    app.sign_in_operator().await;
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
async fn signing_out_everywhere_ends_every_session() {
    let app = TestApp::start().await;
    let (email, password) = app.sign_in_operator().await;
    let laptop = TestApp::on_database(app.database_url.clone(), Options::default()).await;
    laptop.signed_in_as(&email, &password).await;
    let out = app
        .post_with_token("/ufficio/profilo/due-fattori", "/ufficio/esci-ovunque", &[])
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

#[tokio::test]
async fn the_second_factor_cannot_be_guessed_or_replaced_with_a_session_alone() {
    let app = TestApp::start().await;
    let (email, password) = app.sign_in_operator().await;
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
