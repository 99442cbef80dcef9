//! The back office over HTTP: signing in, the inbox, the request page, the actions, and who may
//! see and do what.

mod mail;
mod requests;
mod sign_in;

use axum::http::StatusCode;
use sportello_server::staff::Role;

use crate::support::office::ANSWER;
use crate::support::{complaint, Options, TestApp};

const URP: &[Role] = &[Role::UrpOperator];

/// The current code of a TOTP secret shown on the set-up page.
fn code_for(secret: &str, app: &TestApp) -> String {
    let secret = sportello_server::staff::totp::TotpSecret::from_base32(secret).unwrap();
    sportello_server::staff::totp::code_at(&secret, app.app.clock.now().timestamp())
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
