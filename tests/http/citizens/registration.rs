//! Registering, confirming the address, forgetting and resetting the password.

use super::*;

#[tokio::test]
async fn registering_mails_a_link_whose_page_confirms_the_address_and_signs_in() {
    let (app, smtp) = app_with_mail().await;
    let browser = app.browser();
    let registered = browser.register("Giulia", GIULIA, CITIZEN_PASSWORD).await;
    assert_eq!(registered.status, StatusCode::OK);
    assert!(registered
        .element_text("message")
        .unwrap()
        .starts_with("Se l'indirizzo è corretto, ti abbiamo inviato"));

    let link = app.mailed_link(&smtp, GIULIA, "/area/conferma/").await;
    let mail = parse(&smtp.messages()[0]);
    assert_eq!(mail.subject, "Conferma il tuo indirizzo e-mail");
    assert!(
        mail.text.contains("Gentile utente,"),
        "an unproven address is not greeted with the names someone typed"
    );

    // Not yet verified: the same answer as a wrong password for an unknown address.
    let early = browser.citizen_sign_in(GIULIA, CITIZEN_PASSWORD).await;
    let unknown = browser
        .citizen_sign_in("nessuno@example.it", "una password qualsiasi")
        .await;
    assert_eq!(early.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(early.error_summary(), unknown.error_summary());
    assert!(early.error_summary().unwrap().contains(
        "E-mail o password non corrette, oppure l'indirizzo non è ancora stato confermato."
    ));
    assert!(early
        .header("set-cookie")
        .is_none_or(|c| !c.starts_with(CITIZEN_COOKIE)));

    // Following the link only shows a button; pressing it confirms and signs in.
    let page = browser.get(&link).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains(&format!("action=\"{link}\"")));
    assert!(page.text().contains("Conferma e accedi"));
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM citizens WHERE email_verified_at IS NOT NULL"
        )
        .await,
        0,
        "a GET changes nothing"
    );
    let confirmed = browser.follow_link(&link).await;
    assert_eq!(confirmed.status, StatusCode::SEE_OTHER);
    assert_eq!(confirmed.header("location").as_deref(), Some("/area"));
    let area = browser.get("/area").await;
    assert_eq!(area.status, StatusCode::OK);
    assert!(area.text().contains("Benvenuta o benvenuto, Giulia."));
    // The link is used up; the password now works.
    assert_eq!(browser.get(&link).await.status, StatusCode::GONE);
    let other = app.browser();
    assert_eq!(
        sign_in_status(&other, GIULIA, CITIZEN_PASSWORD).await,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn registering_a_verified_address_again_answers_the_same_and_mails_its_owner_a_reset_link() {
    let (app, smtp) = app_with_mail().await;
    giulia_signed_in(&app, &smtp).await;
    let mails_before = smtp.count();

    let stranger = app.browser();
    let again = stranger
        .register("Intrusa", GIULIA, "la password della intrusa")
        .await;
    let newcomer = app.browser();
    let fresh = newcomer
        .register("Luca", "luca.neri@example.it", "la password di luca neri")
        .await;
    assert_eq!(again.status, fresh.status);
    assert_eq!(
        without_token(&again),
        without_token(&fresh),
        "nothing tells a known address from a new one"
    );

    // The owner hears of it, with a reset link; no second confirmation link.
    let link = app.mailed_link(&smtp, GIULIA, "/area/password/").await;
    let to_owner: Vec<_> = smtp.messages()[mails_before..]
        .iter()
        .filter(|mail| mail.to == [GIULIA])
        .map(parse)
        .collect();
    assert_eq!(to_owner.len(), 1);
    assert_eq!(to_owner[0].subject, "Accesso allo Sportello URP");
    assert!(to_owner[0].text.contains(&link));
    // The stranger's password does nothing; the owner's still works.
    assert_eq!(
        sign_in_status(&stranger, GIULIA, "la password della intrusa").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        sign_in_status(&stranger, GIULIA, CITIZEN_PASSWORD).await,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn a_registration_sets_no_password_the_owner_of_the_address_chooses_it_on_the_link() {
    let (app, smtp) = app_with_mail().await;
    // Someone registers Giulia's address; then Giulia registers it herself.
    let stranger = app.browser();
    let registered = stranger.register("Intrusa", GIULIA, "ignored").await;
    assert_eq!(registered.status, StatusCode::OK);
    let first_link = app.mailed_link(&smtp, GIULIA, "/area/conferma/").await;
    let giulia = app.browser();
    giulia.register("Giulia", GIULIA, "ignored").await;
    let second_link = app.mailed_link(&smtp, GIULIA, "/area/conferma/").await;
    assert_ne!(first_link, second_link);
    assert_eq!(
        giulia.get(&first_link).await.status,
        StatusCode::GONE,
        "a new link voids the old"
    );
    // Nobody can sign in before the address's owner chooses a password on the link's page.
    assert_eq!(
        sign_in_status(&stranger, GIULIA, "ignored").await,
        StatusCode::UNAUTHORIZED
    );
    let page = giulia.get(&second_link).await;
    assert!(page.input_value("password").is_some() || page.text().contains("name=\"password\""));
    let token = page.input_value("csrf_token").unwrap();
    let weak = giulia
        .post_urlencoded(
            &second_link,
            &[
                ("csrf_token", &token),
                ("first_name", "Giulia"),
                ("last_name", "Bianchi"),
                ("password", "corta"),
                ("password_confirmation", "corta"),
            ],
        )
        .await;
    assert_eq!(
        weak.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the link is not used up by a mistake"
    );
    assert_eq!(weak.input_value("first_name").unwrap(), "Giulia");
    let confirmed = giulia.follow_link(&second_link).await;
    confirmed.assert_status(StatusCode::SEE_OTHER);
    let other = app.browser();
    assert_eq!(
        sign_in_status(&other, GIULIA, CITIZEN_PASSWORD).await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM citizens").await, 1);
}

#[tokio::test]
async fn forgetting_the_password_answers_the_same_for_known_and_unknown_addresses() {
    let (app, smtp) = app_with_mail().await;
    giulia_signed_in(&app, &smtp).await;
    let mails_before = smtp.count();
    let forgot = |email: &'static str| {
        let browser = app.browser();
        async move {
            browser
                .post_with_token(
                    "/area/password-dimenticata",
                    "/area/password-dimenticata",
                    &[("email", email)],
                )
                .await
        }
    };
    let known = forgot(GIULIA).await;
    let unknown = forgot("nessuno@example.it").await;
    assert_eq!(known.status, StatusCode::OK);
    assert_eq!(unknown.status, StatusCode::OK);
    assert_eq!(without_token(&known), without_token(&unknown));
    assert!(known
        .element_text("message")
        .unwrap()
        .starts_with("Se l'indirizzo corrisponde a un account"));

    app.mailed_link(&smtp, GIULIA, "/area/password/").await;
    let sent: Vec<_> = smtp.messages()[mails_before..]
        .iter()
        .map(|mail| mail.to.clone())
        .collect();
    assert_eq!(sent, [[GIULIA]], "one mail, to the owner");
}

/// Asks for a reset link for `email` and returns it.
async fn reset_link(app: &TestApp, smtp: &SmtpServer, email: &str) -> String {
    let browser = app.browser();
    let sent = browser
        .post_with_token(
            "/area/password-dimenticata",
            "/area/password-dimenticata",
            &[("email", email)],
        )
        .await;
    assert_eq!(sent.status, StatusCode::OK);
    app.mailed_link(smtp, email, "/area/password/").await
}

/// Sends the reset link's form choosing `password` (typed twice), with the form's `token`.
async fn choose_password(
    browser: &TestApp,
    link: &str,
    token: &str,
    password: &str,
) -> TestResponse {
    browser
        .post_urlencoded(
            link,
            &[
                ("csrf_token", token),
                ("password", password),
                ("password_confirmation", password),
            ],
        )
        .await
}

#[tokio::test]
async fn a_reset_link_works_once() {
    let (app, smtp) = app_with_mail().await;
    giulia_signed_in(&app, &smtp).await;
    let link = reset_link(&app, &smtp, GIULIA).await;
    let browser = app.browser();
    let page = browser.get(&link).await;
    assert_eq!(page.status, StatusCode::OK);
    let token = page.input_value("csrf_token").unwrap();
    let chosen = choose_password(&browser, &link, &token, "la nuova password di giulia").await;
    chosen.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(
        chosen.header("location").as_deref(),
        Some("/area?avviso=password")
    );
    assert!(browser
        .get("/area?avviso=password")
        .await
        .text()
        .contains("La password è stata cambiata."));

    // Used: neither the page nor a second POST (with a valid form token) does anything.
    assert_eq!(browser.get(&link).await.status, StatusCode::GONE);
    let again = choose_password(&browser, &link, &token, "una terza password lunga").await;
    assert_eq!(again.status, StatusCode::GONE);
    let other = app.browser();
    assert_eq!(
        sign_in_status(&other, GIULIA, "una terza password lunga").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        sign_in_status(&other, GIULIA, CITIZEN_PASSWORD).await,
        StatusCode::UNAUTHORIZED,
        "the old password is gone"
    );
    assert_eq!(
        sign_in_status(&other, GIULIA, "la nuova password di giulia").await,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn a_reset_link_expires_after_an_hour() {
    let (app, smtp) = app_with_mail().await;
    giulia_signed_in(&app, &smtp).await;
    let link = reset_link(&app, &smtp, GIULIA).await;
    let browser = app.browser();
    app.app.clock.advance(Duration::minutes(59));
    let page = browser.get(&link).await;
    assert_eq!(page.status, StatusCode::OK, "still valid");
    let token = page.input_value("csrf_token").unwrap();
    app.app.clock.advance(Duration::minutes(2));
    assert_eq!(browser.get(&link).await.status, StatusCode::GONE);
    let late = choose_password(&browser, &link, &token, "la nuova password di giulia").await;
    assert_eq!(late.status, StatusCode::GONE);
    assert_eq!(
        sign_in_status(&browser, GIULIA, CITIZEN_PASSWORD).await,
        StatusCode::SEE_OTHER,
        "the password did not change"
    );
}

#[tokio::test]
async fn logins_are_throttled_per_account_even_with_the_right_password() {
    let (app, smtp) = app_with_mail().await;
    giulia_signed_in(&app, &smtp).await;
    let browser = app.browser();
    for attempt in 0..5 {
        assert_eq!(
            sign_in_status(&browser, GIULIA, "una password sbagliata").await,
            StatusCode::UNAUTHORIZED,
            "attempt {attempt}"
        );
    }
    let sixth = browser.citizen_sign_in(GIULIA, CITIZEN_PASSWORD).await;
    assert_eq!(sixth.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(sixth
        .header("set-cookie")
        .is_none_or(|c| !c.starts_with(CITIZEN_COOKIE)));
    browser.set_client_ip("203.0.113.77:1000");
    assert_eq!(
        sign_in_status(&browser, GIULIA, CITIZEN_PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
        "the account is locked for a while, from any address"
    );
    app.app.clock.advance(Duration::minutes(16));
    assert_eq!(
        sign_in_status(&browser, GIULIA, CITIZEN_PASSWORD).await,
        StatusCode::SEE_OTHER
    );
}
