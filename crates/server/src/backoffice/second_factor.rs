//! Two-factor authentication for staff: after the password, a code from an authenticator app (or
//! a single-use recovery code) before any session opens; and the page where staff set it up.
//! When the organisation requires it, staff without it are sent to set it up first.

use crate::state::Desk;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Duration;
use minijinja::context;
use rand::RngCore;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::staff::SignedIn;
use crate::staff::{self, sessions, totp};
use crate::state::AppState;
use crate::web::checked::{CsrfForm, Refused};
use crate::web::View;
use crate::web::{cookies, i18n, AppError, Result};

pub const CHALLENGE_COOKIE: &str = "sportello_challenge";
const CHALLENGE_MINUTES: i64 = 5;
const CHALLENGE_ATTEMPTS: i32 = 5;

fn hash(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

/// After a correct password, for someone with two factors: remember who is halfway in, and ask
/// for the code. Returns the response that sets the challenge cookie.
pub async fn challenge(app: &AppState, staff_id: Uuid, back: &str) -> Result<Response> {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let value = URL_SAFE_NO_PAD.encode(bytes);
    // One open challenge per person: signing in again does not add five more guesses.
    sqlx::query("DELETE FROM login_challenges WHERE staff_id = ?")
        .bind(staff_id.to_string())
        .execute(&app.pool)
        .await?;
    sqlx::query(
        "INSERT INTO login_challenges (token_hash, staff_id, expires_at, back) VALUES (?, ?, ?, ?)",
    )
    .bind(hash(&value))
    .bind(staff_id.to_string())
    .bind(app.clock.now() + Duration::minutes(CHALLENGE_MINUTES))
    .bind(back)
    .execute(&app.pool)
    .await?;
    let cookie = cookies::set(
        &cookies::name(CHALLENGE_COOKIE, app.secure_cookies()),
        &value,
        (CHALLENGE_MINUTES * 60) as u64,
        app.secure_cookies(),
    );
    Ok((
        [(header::SET_COOKIE, cookie)],
        Redirect::to("/ufficio/accesso/codice"),
    )
        .into_response())
}

/// The live challenge behind the cookie: (staff id, wrong attempts, where to go after).
async fn live_challenge(
    app: &AppState,
    headers: &HeaderMap,
) -> Result<Option<(String, Uuid, i32, String)>> {
    let Some(value) = cookies::get(
        headers,
        &cookies::name(CHALLENGE_COOKIE, app.secure_cookies()),
    ) else {
        return Ok(None);
    };
    let token_hash = hash(value);
    let row: Option<(String, chrono::DateTime<chrono::Utc>, i32, String)> = sqlx::query_as(
        "SELECT staff_id, expires_at, attempts, back FROM login_challenges WHERE token_hash = ?",
    )
    .bind(&token_hash)
    .fetch_optional(&app.pool)
    .await?;
    Ok(row
        .filter(|(_, expires_at, attempts, _)| {
            *expires_at > app.clock.now() && *attempts < CHALLENGE_ATTEMPTS
        })
        .and_then(|(id, _, attempts, back)| {
            Uuid::parse_str(&id)
                .ok()
                .map(|id| (token_hash, id, attempts, back))
        }))
}

pub async fn code_form(Desk { app, language }: Desk, headers: HeaderMap) -> Result<Response> {
    if live_challenge(&app, &headers).await?.is_none() {
        return Ok(Redirect::to("/ufficio/accesso").into_response());
    }
    app.render(language, code_view(&app, &headers, None))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CodeForm {
    code: String,
}

pub async fn check_code(
    Desk { app, language }: Desk,
    crate::web::ClientIp(client): crate::web::ClientIp,
    headers: HeaderMap,
    submitted: std::result::Result<CsrfForm<CodeForm>, Refused<CodeForm>>,
) -> Result<Response> {
    let form = match submitted {
        Ok(CsrfForm(form)) => form,
        Err(Refused::Forged(_)) => {
            let view = code_view(&app, &headers, Some("login.error.csrf"));
            return app.render(language, view.status(StatusCode::FORBIDDEN));
        }
        Err(Refused::Malformed(error)) => return Err(error),
    };
    let Some((token_hash, staff_id, _, back)) = live_challenge(&app, &headers).await? else {
        return Ok(Redirect::to("/ufficio/accesso").into_response());
    };
    let now = app.clock.now();
    // Claim one of the challenge's attempts before checking the code, in one statement: parallel
    // guesses cannot all read the same count and slip past the limit.
    let claimed = sqlx::query(
        "UPDATE login_challenges SET attempts = attempts + 1
          WHERE token_hash = ? AND attempts < ? AND expires_at > ?",
    )
    .bind(&token_hash)
    .bind(CHALLENGE_ATTEMPTS)
    .bind(now)
    .execute(&app.pool)
    .await?
    .rows_affected();
    if claimed == 0 {
        return Ok(Redirect::to("/ufficio/accesso").into_response());
    }
    let accepted = match staff::totp_state(&app.pool, staff_id).await? {
        Some((secret, last_step)) => {
            let secret = totp::TotpSecret::from_base32(&secret)
                .ok_or_else(|| AppError::internal("stored TOTP secret is not base32"))?;
            match totp::verify(&secret, &form.code, now.timestamp(), last_step) {
                Some(step) => staff::use_totp_step(&app.pool, staff_id, step).await?,
                None => staff::use_recovery_code(&app.pool, staff_id, &form.code).await?,
            }
        }
        None => false,
    };
    if !accepted {
        let view = code_view(&app, &headers, Some("code.error.invalid"));
        return app.render(language, view.status(StatusCode::UNAUTHORIZED));
    }
    sqlx::query("DELETE FROM login_challenges WHERE token_hash = ?")
        .bind(&token_hash)
        .execute(&app.pool)
        .await?;
    if let Some(previous) = cookies::get(
        &headers,
        &cookies::name(sessions::COOKIE, app.secure_cookies()),
    ) {
        sessions::close(&app.pool, previous).await?;
    }
    if let Some(email) = staff::find(&app.pool, staff_id).await?.map(|s| s.email) {
        crate::staff::throttle::succeeded(&app.pool, &email, &client.to_string()).await?;
    }
    let session = sessions::open(&app.pool, staff_id, now).await?;
    tracing::info!(staff_id = %staff_id, "staff signed in with two factors");
    let session_cookie = cookies::set(
        &cookies::name(sessions::COOKIE, app.secure_cookies()),
        &session,
        sessions::ABSOLUTE.num_seconds() as u64,
        app.secure_cookies(),
    );
    let clear = cookies::set(
        &cookies::name(CHALLENGE_COOKIE, app.secure_cookies()),
        "",
        0,
        app.secure_cookies(),
    );
    let mut response = Redirect::to(&back).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        session_cookie.parse().map_err(AppError::internal)?,
    );
    response.headers_mut().append(
        header::SET_COOKIE,
        clear.parse().map_err(AppError::internal)?,
    );
    Ok(response)
}

/// The page that asks for the code (or a recovery code) after the password.
fn code_view(app: &AppState, headers: &HeaderMap, error: Option<&str>) -> View {
    View::new(
        "backoffice/code.html",
        "/ufficio/accesso/codice",
        "code.title",
    )
    .public_form(&app.csrf_key(), headers)
    .with(context! { error })
}

/// The set-up page: a new secret to add to an authenticator app, confirmed with a code.
pub async fn setup(Desk { app, language }: Desk, signed_in: SignedIn) -> Result<Response> {
    let secret = totp::TotpSecret::generate().to_base32();
    app.render(language, setup_view(language, &signed_in, &secret))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SetupForm {
    secret: String,
    code: String,
    /// A code from the current authenticator, needed to replace it.
    #[serde(default)]
    current_code: String,
}

pub async fn confirm_setup(
    Desk { app, language }: Desk,
    signed_in: SignedIn,
    CsrfForm(form): CsrfForm<SetupForm>,
) -> Result<Response> {
    let refuse = |error: &str| {
        let view = setup_view(language, &signed_in, &form.secret)
            .with(context! { error })
            .status(StatusCode::UNPROCESSABLE_ENTITY);
        app.render(language, view)
    };
    let Some(secret) = totp::TotpSecret::from_base32(&form.secret) else {
        return Err(AppError::BadRequest);
    };
    // Replacing a second factor needs the current one: a stolen session alone cannot lock the
    // owner out.
    if let Some((current, last_step)) = staff::totp_state(&app.pool, signed_in.staff.id).await? {
        let current = totp::TotpSecret::from_base32(&current)
            .ok_or_else(|| AppError::internal("stored TOTP secret is not base32"))?;
        let proven = match totp::verify(
            &current,
            &form.current_code,
            app.clock.now().timestamp(),
            last_step,
        ) {
            Some(step) => staff::use_totp_step(&app.pool, signed_in.staff.id, step).await?,
            None => false,
        };
        if !proven {
            return refuse("totp.error.current");
        }
    }
    let Some(step) = totp::verify(&secret, &form.code, app.clock.now().timestamp(), None) else {
        return refuse("code.error.invalid");
    };
    let codes = totp::recovery_codes();
    let hashes: Vec<String> = codes
        .iter()
        .map(|code| totp::hash_recovery_code(code))
        .collect();
    staff::enable_totp(
        &app.pool,
        signed_in.staff.id,
        &secret.to_base32(),
        step,
        &hashes,
    )
    .await?;
    tracing::info!(staff_id = %signed_in.staff.id, "two-factor authentication enabled");
    let view = setup_view(language, &signed_in, "").with(context! { recovery_codes => codes });
    app.render(language, view)
}

/// The set-up page for `secret` (its QR code's URI), for this person.
fn setup_view(language: sportello_domain::Language, signed_in: &SignedIn, secret: &str) -> View {
    let uri = totp::TotpSecret::from_base32(secret).map(|s| {
        s.otpauth_uri(
            &i18n::text(language, "layout.brand", &[]),
            &signed_in.staff.email,
        )
    });
    View::new(
        "backoffice/totp.html",
        "/ufficio/profilo/due-fattori",
        "totp.title",
    )
    .with(context! {
        staff => signed_in.bar(), enabled => signed_in.staff.totp, secret, uri,
    })
}
