//! Sign-in with OpenID Connect: the authorization code flow with PKCE (S256), `state` bound to
//! the browser and used once, `nonce` checked in the ID token, and the ID token's RS256
//! signature verified against the issuer's published keys (its `iss`, `aud`, `exp` too). This is
//! how a Comune connects SPID and CIE: through its identity provider or a SPID/CIE proxy that
//! speaks OIDC. The claims' names are configurable (SPID's fiscal number claim by default).

use crate::state::Desk;
use axum::extract::Query;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use minijinja::context;
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::citizen_store::session;
use crate::citizen_store::{self as store, NewCitizen};
use crate::config::OidcConfig;
use crate::state::AppState;
use crate::web::checked::{CsrfForm, NoFields};
use crate::web::form::Errors;
use crate::web::{cookies, csrf, AppError, Result};

const BROWSER_COOKIE: &str = "sportello_oidc";
const LOGIN_LIFETIME: Duration = Duration::minutes(10);

/// What the discovery document tells.
#[derive(Debug, Clone, Deserialize)]
pub struct Provider {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
}

#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("the provider could not be reached: {0}")]
    Http(#[from] reqwest::Error),
    #[error("the discovery document names issuer {found}, not {expected}")]
    IssuerMismatch { expected: String, found: String },
    #[error("the login is unknown, used or expired")]
    UnknownState,
    #[error("the provider refused: {0}")]
    Refused(String),
    #[error("the ID token is invalid: {0}")]
    InvalidToken(&'static str),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client with rustls")
}

/// Reads the issuer's discovery document; it must name the configured issuer exactly.
pub async fn discover(config: &OidcConfig) -> std::result::Result<Provider, OidcError> {
    let url = format!("{}/.well-known/openid-configuration", config.issuer);
    let provider: Provider = client()
        .get(url)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    if provider.issuer.trim_end_matches('/') != config.issuer {
        return Err(OidcError::IssuerMismatch {
            expected: config.issuer.clone(),
            found: provider.issuer,
        });
    }
    Ok(provider)
}

fn random() -> String {
    csrf::new_nonce()
}

fn hash(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

pub fn redirect_uri(app: &AppState) -> String {
    format!("{}/area/accesso/oidc/ritorno", app.config.public_url)
}

/// The sign-in page again, with what went wrong.
fn failed(
    app: &AppState,
    language: sportello_domain::Language,
    headers: &HeaderMap,
    key: &str,
    status: StatusCode,
) -> Result<Response> {
    let mut errors = Errors::new();
    errors.add("oidc", key);
    let view = super::registration::public(
        app,
        headers,
        "area/login.html",
        "/area/accesso",
        "area.login.title",
    )
    .with(context! { form => context! { torna => "/area" }, errors => errors.shown(language) })
    .status(status);
    app.render(language, view)
}

/// Starts a sign-in: a POST (it stores the login in progress), answered with the redirect to
/// the provider.
pub async fn start(
    Desk { app, language }: Desk,
    crate::web::ClientIp(client): crate::web::ClientIp,
    headers: HeaderMap,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response> {
    let config = app.config.oidc.clone().ok_or(AppError::NotFound)?;
    if !app.submissions.allow(client) {
        return Err(AppError::TooManyRequests);
    }
    let provider = match discover(&config).await {
        Ok(provider) => provider,
        Err(error) => {
            tracing::warn!(%error, "OpenID Connect provider unusable");
            return failed(
                &app,
                language,
                &headers,
                "area.error.oidc_unavailable",
                StatusCode::BAD_GATEWAY,
            );
        }
    };
    let (state, nonce, verifier, browser) = (random(), random(), random(), random());
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let now = app.clock.now();
    sqlx::query("DELETE FROM oidc_logins WHERE expires_at < ?")
        .bind(now)
        .execute(&app.pool)
        .await?;
    sqlx::query(
        "INSERT INTO oidc_logins (state_hash, nonce, code_verifier, browser_hash, expires_at) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(hash(&state))
    .bind(&nonce)
    .bind(&verifier)
    .bind(hash(&browser))
    .bind(now + LOGIN_LIFETIME)
    .execute(&app.pool)
    .await?;
    let mut url =
        reqwest::Url::parse(&provider.authorization_endpoint).map_err(AppError::internal)?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &config.client_id)
        .append_pair("redirect_uri", &redirect_uri(&app))
        .append_pair("scope", &config.scopes)
        .append_pair("state", &state)
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let cookie = cookies::set(
        &cookies::name(BROWSER_COOKIE, app.secure_cookies()),
        &browser,
        LOGIN_LIFETIME.num_seconds() as u64,
        app.secure_cookies(),
    );
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to(url.as_str())).into_response())
}

#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// The provider sends the browser back here with a code and the state.
pub async fn callback(
    Desk { app, language }: Desk,
    headers: HeaderMap,
    Query(callback): Query<Callback>,
) -> Result<Response> {
    let config = app.config.oidc.clone().ok_or(AppError::NotFound)?;
    match finish(&app, &config, &headers, &callback, language).await {
        Ok(citizen_id) => {
            session::sign_in(&app, &headers, citizen_id, app.clock.now(), "/area").await
        }
        Err(error) => {
            tracing::warn!(%error, "OpenID Connect sign-in refused");
            let key = match error {
                OidcError::Http(_) | OidcError::IssuerMismatch { .. } => {
                    "area.error.oidc_unavailable"
                }
                OidcError::Database(error) => return Err(AppError::internal(error)),
                _ => "area.error.oidc_failed",
            };
            failed(&app, language, &headers, key, StatusCode::UNAUTHORIZED)
        }
    }
}

async fn finish(
    app: &AppState,
    config: &OidcConfig,
    headers: &HeaderMap,
    callback: &Callback,
    language: sportello_domain::Language,
) -> std::result::Result<uuid::Uuid, OidcError> {
    if let Some(error) = &callback.error {
        return Err(OidcError::Refused(error.chars().take(100).collect()));
    }
    let (Some(code), Some(state)) = (&callback.code, &callback.state) else {
        return Err(OidcError::UnknownState);
    };
    let now = app.clock.now();
    // The state is used once, by the browser that started the login, within its lifetime.
    let row: Option<(String, String, String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT nonce, code_verifier, browser_hash, expires_at FROM oidc_logins WHERE state_hash = ?",
    )
    .bind(hash(state))
    .fetch_optional(&app.pool)
    .await?;
    let deleted = sqlx::query("DELETE FROM oidc_logins WHERE state_hash = ?")
        .bind(hash(state))
        .execute(&app.pool)
        .await?;
    let Some((nonce, verifier, browser_hash, expires_at)) = row else {
        return Err(OidcError::UnknownState);
    };
    let browser = cookies::get(
        headers,
        &cookies::name(BROWSER_COOKIE, app.secure_cookies()),
    )
    .unwrap_or("");
    if deleted.rows_affected() != 1 || expires_at < now || hash(browser) != browser_hash {
        return Err(OidcError::UnknownState);
    }
    let provider = discover(config).await?;
    let response = client()
        .post(&provider.token_endpoint)
        .basic_auth(&config.client_id, Some(&config.client_secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect_uri(app).as_str()),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await?;
    if !response.status().is_success() {
        return Err(OidcError::Refused(format!(
            "token endpoint answered {}",
            response.status()
        )));
    }
    let tokens: Value = response.json().await?;
    let id_token = tokens
        .get("id_token")
        .and_then(Value::as_str)
        .ok_or(OidcError::InvalidToken("no id_token"))?;
    let jwks: Value = client()
        .get(&provider.jwks_uri)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let claims = verify_id_token(
        id_token,
        &jwks,
        &Expected {
            issuer: &config.issuer,
            client_id: &config.client_id,
            nonce: &nonce,
            now,
        },
    )?;
    Ok(account_for(app, config, &claims, language).await?)
}

/// What an ID token must say.
pub struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub nonce: &'a str,
    pub now: DateTime<Utc>,
}

/// Verifies an ID token (RS256 only) against a JWKS document and returns its claims.
pub fn verify_id_token(
    token: &str,
    jwks: &Value,
    expected: &Expected<'_>,
) -> std::result::Result<serde_json::Map<String, Value>, OidcError> {
    use rsa::{BigUint, Pkcs1v15Sign, RsaPublicKey};
    let invalid = OidcError::InvalidToken;
    let mut parts = token.split('.');
    let (Some(head), Some(body), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid("not a JWS"));
    };
    let decode = |part: &str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| invalid("bad base64"))
    };
    let header: Value =
        serde_json::from_slice(&decode(head)?).map_err(|_| invalid("bad header"))?;
    if header.get("alg").and_then(Value::as_str) != Some("RS256") {
        return Err(invalid("the algorithm must be RS256"));
    }
    let kid = header.get("kid").and_then(Value::as_str);
    let keys = jwks
        .get("keys")
        .and_then(Value::as_array)
        .ok_or(invalid("no keys"))?;
    let key = keys
        .iter()
        .filter(|k| k.get("kty").and_then(Value::as_str) == Some("RSA"))
        .filter(|k| {
            k.get("use")
                .and_then(Value::as_str)
                .is_none_or(|u| u == "sig")
        })
        .find(|k| kid.is_none() || k.get("kid").and_then(Value::as_str) == kid)
        .ok_or(invalid("no key for this token"))?;
    let component = |name: &str| {
        key.get(name)
            .and_then(Value::as_str)
            .ok_or(invalid("incomplete key"))
            .and_then(&decode)
            .map(|bytes| BigUint::from_bytes_be(&bytes))
    };
    let public =
        RsaPublicKey::new(component("n")?, component("e")?).map_err(|_| invalid("bad key"))?;
    let signed = format!("{head}.{body}");
    public
        .verify(
            Pkcs1v15Sign::new::<Sha256>(),
            &Sha256::digest(signed.as_bytes()),
            &decode(signature)?,
        )
        .map_err(|_| invalid("the signature does not match"))?;
    let claims: serde_json::Map<String, Value> =
        serde_json::from_slice(&decode(body)?).map_err(|_| invalid("bad claims"))?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if text("iss").map(|i| i.trim_end_matches('/')) != Some(expected.issuer) {
        return Err(invalid("another issuer"));
    }
    let audience_ok = match claims.get("aud") {
        Some(Value::String(aud)) => aud == expected.client_id,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(expected.client_id)),
        _ => false,
    };
    if !audience_ok || text("azp").is_some_and(|azp| azp != expected.client_id) {
        return Err(invalid("another audience"));
    }
    let leeway = 60;
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or(invalid("no expiry"))?;
    if exp + leeway < expected.now.timestamp() {
        return Err(invalid("expired"));
    }
    if claims
        .get("iat")
        .and_then(Value::as_i64)
        .is_some_and(|iat| iat - leeway > expected.now.timestamp())
    {
        return Err(invalid("issued in the future"));
    }
    let nonce_ok = text("nonce")
        .is_some_and(|n| csrf::constant_time_eq(n.as_bytes(), expected.nonce.as_bytes()));
    if !nonce_ok {
        return Err(invalid("the nonce does not match"));
    }
    if text("sub").is_none_or(str::is_empty) {
        return Err(invalid("no subject"));
    }
    Ok(claims)
}

/// A claim's text, trimmed; none when it is missing, not text or empty.
fn claim<'a>(claims: &'a serde_json::Map<String, Value>, name: &str) -> Option<&'a str> {
    claims
        .get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The account for these claims: the one linked to this subject, or the one with this verified
/// e-mail (then linked), or a new one.
async fn account_for(
    app: &AppState,
    config: &OidcConfig,
    claims: &serde_json::Map<String, Value>,
    language: sportello_domain::Language,
) -> std::result::Result<uuid::Uuid, sqlx::Error> {
    let text = |name: &str| claim(claims, name);
    let subject = hash(&format!(
        "{}|{}",
        config.issuer,
        text("sub").unwrap_or_default()
    ));
    let linked: Option<String> =
        sqlx::query_scalar("SELECT id FROM citizens WHERE oidc_subject = ?")
            .bind(&subject)
            .fetch_optional(&app.pool)
            .await?;
    if let Some(id) = linked.and_then(|id| uuid::Uuid::parse_str(&id).ok()) {
        return Ok(id);
    }
    let now = app.clock.now();
    // An address of the Comune's own is nobody's personal contact (mail to it would loop).
    let own = crate::mail::OwnAddresses::load(app).await?;
    let email = text(&config.claim_email).filter(|e| crate::mail::is_email(e) && !own.contains(e));
    // SPID's e-mail is declared by the person, not proven: only an explicit
    // `email_verified: true` lets the address find (and become) an account's.
    let email_verified = claims.get("email_verified").and_then(Value::as_bool) == Some(true);
    let fiscal = text(&config.claim_fiscal_number)
        .map(|code| code.trim_start_matches("TINIT-").to_uppercase());
    // The fiscal code identifies the person: the record the front office made for them, or an
    // account already holding it, is theirs — unless another identity is linked to it.
    if let Some(fiscal) = &fiscal {
        let found: Option<(String, Option<String>)> = sqlx::query_as(
            "SELECT id, oidc_subject FROM citizens WHERE organisation_id = ? AND fiscal_code = ?
              ORDER BY created_at LIMIT 1",
        )
        .bind(app.organisation_id.to_string())
        .bind(fiscal)
        .fetch_optional(&app.pool)
        .await?;
        if let Some((id, None)) = found {
            let linked = sqlx::query(
                "UPDATE citizens SET oidc_subject = ? WHERE id = ? AND oidc_subject IS NULL",
            )
            .bind(&subject)
            .bind(&id)
            .execute(&app.pool)
            .await?;
            // Another identity may have linked it a moment ago: then it is not this person's.
            if linked.rows_affected() == 1 {
                return Ok(uuid::Uuid::parse_str(&id).unwrap_or_default());
            }
        }
    }
    let mut email_free = true;
    if let (Some(email), true) = (email, email_verified) {
        if let Some((citizen, _)) =
            store::find_by_email(&app.pool, app.organisation_id, email).await?
        {
            email_free = false;
            let other_person = citizen.signs_in_with_oidc
                || matches!((&citizen.fiscal_code, &fiscal), (Some(a), Some(b)) if a != b);
            if !other_person {
                // The identity provider has proven the address. An unconfirmed registration
                // of it was nobody's proof: it becomes this person's (their names, no pending
                // links).
                let mut tx = app.pool.begin().await?;
                let linked = sqlx::query(
                    "UPDATE citizens SET
                        first_name = IF(email_verified_at IS NULL, ?, first_name),
                        last_name = IF(email_verified_at IS NULL, ?, last_name),
                        oidc_subject = ?, fiscal_code = COALESCE(fiscal_code, ?),
                        email_verified_at = COALESCE(email_verified_at, ?)
                      WHERE id = ? AND oidc_subject IS NULL",
                )
                .bind(text(&config.claim_given_name).unwrap_or(&citizen.first_name))
                .bind(text(&config.claim_family_name).unwrap_or(&citizen.last_name))
                .bind(&subject)
                .bind(&fiscal)
                .bind(now)
                .bind(citizen.id.to_string())
                .execute(&mut *tx)
                .await?;
                if linked.rows_affected() != 1 {
                    // Linked to another identity a moment ago: a new account instead.
                    tx.rollback().await?;
                    return create_account(
                        app,
                        config,
                        claims,
                        &subject,
                        None,
                        fiscal.as_deref(),
                        language,
                    )
                    .await;
                }
                sqlx::query("DELETE FROM citizen_tokens WHERE citizen_id = ? AND purpose = 'verify' AND used_at IS NULL")
                    .bind(citizen.id.to_string())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                return Ok(citizen.id);
            }
        }
    }
    let email = email.filter(|_| email_verified && email_free);
    create_account(
        app,
        config,
        claims,
        &subject,
        email,
        fiscal.as_deref(),
        language,
    )
    .await
}

/// A new account for an identity no record matches.
async fn create_account(
    app: &AppState,
    config: &OidcConfig,
    claims: &serde_json::Map<String, Value>,
    subject: &str,
    email: Option<&str>,
    fiscal: Option<&str>,
    language: sportello_domain::Language,
) -> std::result::Result<uuid::Uuid, sqlx::Error> {
    let text = |name: &str| claim(claims, name);
    let now = app.clock.now();
    let mut conn = app.pool.acquire().await?;
    let id = store::insert(
        &mut conn,
        app.organisation_id,
        &NewCitizen {
            first_name: text(&config.claim_given_name).unwrap_or("-"),
            last_name: text(&config.claim_family_name).unwrap_or("-"),
            email,
            password_hash: None,
            fiscal_code: fiscal,
            phone: None,
            created_by: None,
            language,
        },
        now,
    )
    .await?;
    sqlx::query("UPDATE citizens SET oidc_subject = ?, email_verified_at = IF(email IS NULL, NULL, ?) WHERE id = ?")
        .bind(subject)
        .bind(now)
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    tracing::info!(citizen_id = %id, "citizen account created through OpenID Connect");
    Ok(id)
}
