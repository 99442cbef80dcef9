//! Signing in and out, changing the password and the address.

use super::*;

/// GET `path` presenting only this session cookie.
async fn get_with_session(app: &TestApp, path: &str, session: &str) -> TestResponse {
    let request = Request::get(path)
        .header(header::COOKIE, format!("{CITIZEN_COOKIE}={session}"))
        .body(Body::empty())
        .unwrap();
    app.send(request).await
}

#[tokio::test]
async fn signing_in_rotates_the_session_and_signing_out_ends_it() {
    let (app, smtp) = app_with_mail().await;
    let browser = giulia_signed_in(&app, &smtp).await;
    let first = browser.cookie(CITIZEN_COOKIE).unwrap();
    assert_eq!(
        get_with_session(&app, "/area", &first).await.status,
        StatusCode::OK
    );

    let again = browser
        .citizen_sign_in("giulia.bianchi@example.it", CITIZEN_PASSWORD)
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    let cookie = again.header("set-cookie").unwrap();
    assert!(
        cookie.starts_with(CITIZEN_COOKIE)
            && cookie.contains("HttpOnly")
            && cookie.contains("Secure")
    );
    let second = browser.cookie(CITIZEN_COOKIE).unwrap();
    assert_ne!(second, first, "a login gives a new session");
    assert_eq!(
        get_with_session(&app, "/area", &first).await.status,
        StatusCode::SEE_OTHER,
        "the old session is over"
    );
    assert_eq!(
        get_with_session(&app, "/area", &second).await.status,
        StatusCode::OK
    );

    let out = browser.post_with_token("/area", "/area/esci", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    let area = browser.get("/area").await;
    assert_eq!(area.status, StatusCode::SEE_OTHER);
    assert!(area
        .header("location")
        .unwrap()
        .starts_with("/area/accesso"));
    assert_eq!(
        get_with_session(&app, "/area", &second).await.status,
        StatusCode::SEE_OTHER,
        "ended on the server, not only forgotten by the browser"
    );
}

#[tokio::test]
async fn changing_the_password_signs_out_the_other_sessions() {
    let (app, smtp) = app_with_mail().await;
    let laptop = giulia_signed_in(&app, &smtp).await;
    let phone = app.browser();
    phone
        .citizen_sign_in("giulia.bianchi@example.it", CITIZEN_PASSWORD)
        .await;
    assert_eq!(phone.get("/area").await.status, StatusCode::OK);

    let token = laptop
        .get("/area/profilo")
        .await
        .input_value("csrf_token")
        .unwrap();
    let wrong = laptop
        .post_urlencoded(
            "/area/profilo/password",
            &[
                ("csrf_token", &token),
                ("current_password", "non è la password"),
                ("password", "la nuova password di giulia"),
                ("password_confirmation", "la nuova password di giulia"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        field_error(&wrong, "current_password"),
        "La password attuale non è corretta."
    );
    assert_eq!(phone.get("/area").await.status, StatusCode::OK);

    let changed = laptop
        .post_urlencoded(
            "/area/profilo/password",
            &[
                ("csrf_token", &token),
                ("current_password", CITIZEN_PASSWORD),
                ("password", "la nuova password di giulia"),
                ("password_confirmation", "la nuova password di giulia"),
            ],
        )
        .await;
    changed.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(
        laptop.get("/area").await.status,
        StatusCode::OK,
        "this browser goes on"
    );
    assert_eq!(
        phone.get("/area").await.status,
        StatusCode::SEE_OTHER,
        "the other browser is signed out"
    );
    assert_eq!(
        sign_in_status(&phone, "giulia.bianchi@example.it", CITIZEN_PASSWORD).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        sign_in_status(
            &phone,
            "giulia.bianchi@example.it",
            "la nuova password di giulia"
        )
        .await,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn the_email_address_changes_only_once_the_link_sent_to_it_is_confirmed() {
    let (app, smtp) = app_with_mail().await;
    let browser = giulia_signed_in(&app, &smtp).await;
    let asked = ask_for_new_email(&browser, "giulia@nuovo.example.it", CITIZEN_PASSWORD).await;
    asked.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(
        asked.header("location").as_deref(),
        Some("/area/profilo?avviso=email")
    );
    let link = app
        .mailed_link(&smtp, "giulia@nuovo.example.it", "/area/nuova-email/")
        .await;
    assert_eq!(
        parse(smtp.messages().last().unwrap()).subject,
        "Conferma il nuovo indirizzo e-mail"
    );

    // Until the link is used nothing changes.
    assert_eq!(profile_email(&browser).await, "giulia.bianchi@example.it");
    let other = app.browser();
    assert_eq!(
        sign_in_status(&other, "giulia@nuovo.example.it", CITIZEN_PASSWORD).await,
        StatusCode::UNAUTHORIZED
    );

    let confirmed = browser.follow_link(&link).await;
    assert_eq!(confirmed.status, StatusCode::SEE_OTHER);
    assert_eq!(
        confirmed.header("location").as_deref(),
        Some("/area/profilo?avviso=email_changed")
    );
    assert_eq!(profile_email(&browser).await, "giulia@nuovo.example.it");
    assert_eq!(
        sign_in_status(&other, "giulia.bianchi@example.it", CITIZEN_PASSWORD).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        sign_in_status(&other, "giulia@nuovo.example.it", CITIZEN_PASSWORD).await,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn registration_errors_keep_what_was_typed_and_the_links_page_never_returns_passwords() {
    let (app, smtp) = app_with_mail().await;
    let page = app
        .post_with_token(
            "/area/registrazione",
            "/area/registrazione",
            &[
                ("first_name", "Giulia"),
                ("last_name", ""),
                ("email", "giulia-senza-chiocciola"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(page.input_value("first_name").unwrap(), "Giulia");
    assert_eq!(
        page.input_value("email").unwrap(),
        "giulia-senza-chiocciola"
    );
    assert!(!field_error(&page, "last_name").is_empty());
    assert!(!field_error(&page, "email").is_empty());
    assert!(!field_error(&page, "privacy").is_empty());
    assert_eq!(count(&app, "SELECT COUNT(*) FROM citizens").await, 0);
    app.settle().await;
    assert_eq!(smtp.count(), 0);

    // On the link's page: a weak or mismatched password keeps the names, never the passwords.
    let browser = app.browser();
    browser
        .register("Giulia", "giulia.bianchi@example.it", "unused")
        .await;
    let link = app
        .mailed_link(&smtp, "giulia.bianchi@example.it", "/area/conferma/")
        .await;
    let token = browser.get(&link).await.input_value("csrf_token").unwrap();
    let choose = |password: &'static str, again: &'static str| {
        let (browser, link, token) = (&browser, &link, &token);
        async move {
            browser
                .post_urlencoded(
                    link,
                    &[
                        ("csrf_token", token),
                        ("first_name", "Giulia"),
                        ("last_name", "Bianchi"),
                        ("password", password),
                        ("password_confirmation", again),
                    ],
                )
                .await
        }
    };
    let weak = choose("segreta", "segreta").await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        !weak.text().contains("segreta"),
        "passwords are never sent back"
    );
    assert_eq!(
        field_error(&weak, "password"),
        "La password deve avere almeno 12 caratteri e non essere fatta di un solo carattere."
    );
    let mismatch = choose(
        "una password lunga e segreta",
        "una password diversa e segreta",
    )
    .await;
    assert_eq!(
        field_error(&mismatch, "password_confirmation"),
        "Le due password non coincidono."
    );
    assert_eq!(mismatch.input_value("last_name").unwrap(), "Bianchi");
}

#[tokio::test]
async fn a_failed_login_keeps_the_address_but_not_the_password() {
    let app = TestApp::start().await;
    let page = app
        .citizen_sign_in("giulia.bianchi@example.it", "la mia password segreta")
        .await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        page.input_value("email").unwrap(),
        "giulia.bianchi@example.it"
    );
    assert!(!page.text().contains("la mia password segreta"));
    assert!(field_error(&page, "email").starts_with("E-mail o password non corrette"));
}

#[tokio::test]
async fn signing_in_goes_back_where_the_citizen_was_and_never_elsewhere() {
    let (app, smtp) = app_with_mail().await;
    giulia_signed_in(&app, &smtp).await;
    let browser = app.browser();
    let asked = browser.get("/area/profilo").await;
    assert_eq!(
        asked.header("location").as_deref(),
        Some("/area/accesso?torna=/area/profilo")
    );
    for (back, landing) in [
        ("/area/profilo", "/area/profilo"),
        ("/segnalazioni/nuova", "/segnalazioni/nuova"),
        ("https://evil.example/area", "/area"),
        ("//evil.example/area", "/area"),
        ("/ufficio/richieste", "/area"),
    ] {
        let signed_in = browser
            .post_with_token(
                &format!("/area/accesso?torna={}", crate::support::urlencode(back)),
                "/area/accesso",
                &[
                    ("email", "giulia.bianchi@example.it"),
                    ("password", CITIZEN_PASSWORD),
                    ("torna", back),
                ],
            )
            .await;
        assert_eq!(signed_in.status, StatusCode::SEE_OTHER, "{back}");
        assert_eq!(
            signed_in.header("location").as_deref(),
            Some(landing),
            "{back}"
        );
    }
}

#[tokio::test]
async fn a_new_address_that_is_not_one_keeps_what_was_typed() {
    let (app, smtp) = app_with_mail().await;
    let browser = giulia_signed_in(&app, &smtp).await;
    let page = ask_for_new_email(&browser, "giulia-senza-chiocciola", "non è la password").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        page.input_value("new_email").unwrap(),
        "giulia-senza-chiocciola"
    );
    assert!(!field_error(&page, "new_email").is_empty());
    assert_eq!(
        field_error(&page, "email_password"),
        "La password attuale non è corretta."
    );
    assert!(!page.text().contains("non è la password"));
    let mails = smtp.count();
    app.settle().await;
    assert_eq!(smtp.count(), mails, "no link was sent");
}

// --- My area and who reaches what ------------------------------------------------------------
