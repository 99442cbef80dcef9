//! Sign-in with OpenID Connect against a real provider (`tests/oidc/provider.mjs`, npm
//! `oidc-provider`, started with node for each test): success, a wrong state, a wrong nonce, a
//! tampered ID token, a provider that names another issuer.

use std::collections::HashMap;
use std::process::Stdio;
use std::time::Duration;

use axum::http::StatusCode;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Utc;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::Url;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use sportello_server::citizens::oidc::{verify_id_token, Expected, OidcError};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::support::{complaint, Options, TestApp, TestResponse};

const CLIENT_ID: &str = "sportello";
const CLIENT_SECRET: &str = "segreto-del-client-di-prova";
/// The test app's public URL, and so where the provider sends the browser back.
const APP: &str = "https://urp.comune.test";
const CALLBACK: &str = "https://urp.comune.test/area/accesso/oidc/ritorno";

/// The provider, running until the test lets go of it.
struct Provider {
    /// The issuer it puts in its discovery document and its tokens.
    issuer: String,
    /// Where it listens (the issuer too, unless it was started with another one).
    address: String,
    _process: Child,
}

impl Provider {
    async fn start(issuer: Option<&str>) -> Provider {
        let script =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/oidc/provider.mjs");
        let mut command = Command::new("node");
        command
            .arg(script)
            .env("OIDC_CLIENT_ID", CLIENT_ID)
            .env("OIDC_CLIENT_SECRET", CLIENT_SECRET)
            .env("OIDC_REDIRECT_URIS", CALLBACK)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(issuer) = issuer {
            command.env("OIDC_ISSUER", issuer);
        }
        let mut process = command
            .spawn()
            .expect("node runs tests/oidc/provider.mjs (npm ci installs oidc-provider)");
        // The provider's log, shown with a failing test's output.
        let mut log = BufReader::new(process.stderr.take().unwrap()).lines();
        tokio::spawn(async move {
            while let Ok(Some(line)) = log.next_line().await {
                eprintln!("oidc provider: {line}");
            }
        });
        let mut stdout = BufReader::new(process.stdout.take().unwrap()).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), stdout.next_line())
            .await
            .expect("the provider starts within 30 s")
            .unwrap()
            .expect("the provider prints its ready line");
        let ready: Value = serde_json::from_str(&line).unwrap();
        Provider {
            issuer: ready["issuer"].as_str().unwrap().to_string(),
            address: format!("http://127.0.0.1:{}", ready["port"]),
            _process: process,
        }
    }

    /// Makes the next sign-in at the provider this person.
    async fn set_account(&self, account: Value) {
        let response = client()
            .post(format!("{}/__test/account", self.address))
            .json(&account)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::NO_CONTENT);
    }

    async fn discovery(&self) -> Value {
        get_json(format!("{}/.well-known/openid-configuration", self.address)).await
    }

    async fn jwks(&self) -> Value {
        let uri = self.discovery().await["jwks_uri"]
            .as_str()
            .unwrap()
            .to_string();
        get_json(uri).await
    }

    /// Runs the authorization code flow as the client itself and returns the ID token.
    async fn id_token(&self, nonce: &str) -> String {
        let discovery = self.discovery().await;
        let verifier = "a-code-verifier-of-the-test-that-is-long-enough-for-pkce";
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let mut url = Url::parse(discovery["authorization_endpoint"].as_str().unwrap()).unwrap();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", CLIENT_ID)
            .append_pair("redirect_uri", CALLBACK)
            .append_pair("scope", "openid profile email")
            .append_pair("state", "test-state")
            .append_pair("nonce", nonce)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        let back = ProviderBrowser::new().follow(url.as_str()).await;
        let code = back
            .query_pairs()
            .find(|(name, _)| name == "code")
            .map(|(_, code)| code.to_string())
            .expect("the provider sends a code back");
        let tokens: Value = client()
            .post(discovery["token_endpoint"].as_str().unwrap())
            .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", CALLBACK),
                ("code_verifier", verifier),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        tokens["id_token"]
            .as_str()
            .unwrap_or_else(|| panic!("an ID token: {tokens}"))
            .to_string()
    }
}

/// The JSON document at `uri`.
async fn get_json(uri: String) -> Value {
    client()
        .get(uri)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// The citizen's browser on the provider's side, with the provider's cookies.
struct ProviderBrowser {
    client: reqwest::Client,
    jar: HashMap<String, String>,
}

impl ProviderBrowser {
    fn new() -> ProviderBrowser {
        ProviderBrowser {
            client: client(),
            jar: HashMap::new(),
        }
    }

    /// Follows redirects from `url` until one leads back to the app; returns that address.
    async fn follow(&mut self, url: &str) -> Url {
        let mut url = Url::parse(url).unwrap();
        for _ in 0..10 {
            if url.as_str().starts_with(APP) {
                return url;
            }
            let cookies: Vec<String> = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let response = self
                .client
                .get(url.clone())
                .header(COOKIE, cookies.join("; "))
                .send()
                .await
                .unwrap();
            for value in response.headers().get_all(SET_COOKIE) {
                let pair = value.to_str().unwrap().split(';').next().unwrap();
                let (name, value) = pair.split_once('=').unwrap();
                if value.is_empty() {
                    self.jar.remove(name);
                } else {
                    self.jar.insert(name.to_string(), value.to_string());
                }
            }
            let Some(location) = response.headers().get(LOCATION) else {
                let status = response.status();
                panic!("{status} at {url}: {}", response.text().await.unwrap());
            };
            url = url.join(location.to_str().unwrap()).unwrap();
        }
        panic!("too many redirects, last {url}");
    }
}

/// The app, configured for `issuer`, with a clock at the real time (the provider's tokens are
/// issued now).
async fn app_for(issuer: &str) -> TestApp {
    TestApp::start_with(Options {
        now: Utc::now(),
        extra: vec![
            ("SPORTELLO_OIDC_ISSUER", issuer.to_string()),
            ("SPORTELLO_OIDC_CLIENT_ID", CLIENT_ID.to_string()),
            ("SPORTELLO_OIDC_CLIENT_SECRET", CLIENT_SECRET.to_string()),
        ],
        ..Default::default()
    })
    .await
}

/// Presses "Sign in with SPID / CIE" on the login page; the answer to the POST.
async fn start_login(app: &TestApp) -> TestResponse {
    let page = app.get("/area/accesso").await;
    assert!(
        page.text().contains("id=\"oidc-login\""),
        "the button is there"
    );
    let token = page.input_value("csrf_token").unwrap();
    app.post_urlencoded("/area/accesso/oidc", &[("csrf_token", &token)])
        .await
}

/// The authorization URL the app sends the browser to.
async fn authorization_url(app: &TestApp) -> String {
    let started = start_login(app).await;
    started.assert_status(StatusCode::SEE_OTHER);
    started.header("location").unwrap()
}

/// Signs `browser` in at the provider (a fresh session there) and back; asserts the app's
/// callback redirects.
async fn sign_in_through_provider(browser: &TestApp) {
    let to_provider = authorization_url(browser).await;
    let back = ProviderBrowser::new().follow(&to_provider).await;
    assert_eq!(
        browser.get(&callback_path(&back)).await.status,
        StatusCode::SEE_OTHER
    );
}

/// Asserts that a refused sign-in shows the login page again with `message` in its summary.
#[track_caller]
fn assert_login_refused(refused: &TestResponse, message: &str) {
    assert!(refused.error_summary().unwrap().contains(message));
    assert!(
        refused.text().contains("id=\"oidc-login\""),
        "the login page again"
    );
}

/// The app's callback as the provider sends the browser back: path and query.
fn callback_path(url: &Url) -> String {
    assert!(url.as_str().starts_with(CALLBACK), "{url}");
    format!("{}?{}", url.path(), url.query().unwrap())
}

fn with_param(url: &Url, name: &str, value: &str) -> Url {
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == name {
                value.to_string()
            } else {
                v.to_string()
            };
            (k.to_string(), v)
        })
        .collect();
    let mut changed = url.clone();
    changed.query_pairs_mut().clear().extend_pairs(pairs);
    changed
}

async fn citizens(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM citizens")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

fn giulia() -> Value {
    json!({
        "sub": "cie-42",
        "given_name": "Giulia",
        "family_name": "Verdi",
        "email": "giulia.verdi@example.org",
        "email_verified": true,
        "fiscal_number": "TINIT-VRDGLI85M41H501Z",
    })
}

#[tokio::test]
async fn signing_in_through_the_provider_opens_my_area_and_finds_the_same_account_next_time() {
    let provider = Provider::start(None).await;
    provider.set_account(giulia()).await;
    let app = app_for(&provider.issuer).await;
    // Filed before, as a guest, with the address the provider vouches for.
    let guest = app
        .file(
            complaint("Buca in via Verdi")
                .text("email", "giulia.verdi@example.org")
                .text("email_confirmation", "giulia.verdi@example.org"),
        )
        .await;
    app.settle().await;

    let browser = app.browser();
    let to_provider = authorization_url(&browser).await;
    assert!(to_provider.starts_with(&provider.address), "{to_provider}");
    let back = ProviderBrowser::new().follow(&to_provider).await;
    let signed_in = browser.get(&callback_path(&back)).await;
    signed_in.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(signed_in.header("location").as_deref(), Some("/area"));
    let area = browser.get("/area").await;
    assert_eq!(area.status, StatusCode::OK);
    assert!(area.text().contains("Benvenuta o benvenuto, Giulia."));
    assert!(
        area.text().contains(&guest.reference),
        "her guest request is hers"
    );
    let profile = browser.get("/area/profilo").await;
    assert_eq!(
        profile.element_text("citizen-name").unwrap(),
        "Giulia Verdi"
    );
    assert_eq!(
        profile.element_text("citizen-email").unwrap(),
        "giulia.verdi@example.org"
    );
    assert!(profile.text().contains("VRDGLI85M41H501Z"));

    // Another browser, a fresh session at the provider: the same account.
    let other = app.browser();
    sign_in_through_provider(&other).await;
    assert!(other.get("/area").await.text().contains(&guest.reference));
    assert_eq!(citizens(&app).await, 1);
    // The callback is used up.
    assert_eq!(
        other.get(&callback_path(&back)).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_callback_with_another_state_signs_nobody_in() {
    let provider = Provider::start(None).await;
    let app = app_for(&provider.issuer).await;
    let to_provider = authorization_url(&app).await;
    let back = ProviderBrowser::new().follow(&to_provider).await;
    let state = back
        .query_pairs()
        .find(|(name, _)| name == "state")
        .unwrap()
        .1
        .to_string();
    let mut forged = state.clone();
    forged.replace_range(0..1, if state.starts_with('A') { "B" } else { "A" });

    let refused = app
        .get(&callback_path(&with_param(&back, "state", &forged)))
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_login_refused(
        &refused,
        "L'accesso con identità digitale non è riuscito. Riprova dall'inizio.",
    );
    assert_eq!(app.get("/area").await.status, StatusCode::SEE_OTHER);
    assert_eq!(citizens(&app).await, 0);

    // The untouched callback still works: it was the state that was refused.
    assert_eq!(
        app.get(&callback_path(&back)).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(app.get("/area").await.status, StatusCode::OK);
}

#[tokio::test]
async fn an_id_token_with_another_nonce_is_refused() {
    let provider = Provider::start(None).await;
    let app = app_for(&provider.issuer).await;
    let to_provider = Url::parse(&authorization_url(&app).await).unwrap();
    // The provider issues its token for whatever nonce the authorization request carries.
    let tampered = with_param(&to_provider, "nonce", "a-nonce-the-app-never-chose");
    let back = ProviderBrowser::new().follow(tampered.as_str()).await;
    let refused = app.get(&callback_path(&back)).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(refused
        .error_summary()
        .unwrap()
        .contains("L'accesso con identità digitale non è riuscito."));
    assert_eq!(app.get("/area").await.status, StatusCode::SEE_OTHER);
    assert_eq!(citizens(&app).await, 0);
}

#[tokio::test]
async fn a_tampered_id_token_is_rejected() {
    let provider = Provider::start(None).await;
    let token = provider.id_token("the-nonce-of-this-test").await;
    let jwks = provider.jwks().await;
    let expected = Expected {
        issuer: &provider.issuer,
        client_id: CLIENT_ID,
        nonce: "the-nonce-of-this-test",
        now: Utc::now(),
    };
    let claims = verify_id_token(&token, &jwks, &expected).expect("the real token is accepted");
    assert_eq!(claims["sub"], "citizen-1");

    let parts: Vec<&str> = token.split('.').collect();
    let mut payload = parts[1].to_string();
    let middle = payload.len() / 2;
    let flipped = if &payload[middle..=middle] == "A" {
        "B"
    } else {
        "A"
    };
    payload.replace_range(middle..=middle, flipped);
    let tampered = format!("{}.{payload}.{}", parts[0], parts[2]);
    assert!(matches!(
        verify_id_token(&tampered, &jwks, &expected),
        Err(OidcError::InvalidToken("the signature does not match"))
    ));

    // Claims rewritten and encoded again: the signature no longer matches either.
    let mut claims_json: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims_json["sub"] = json!("somebody-else");
    let rewritten = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims_json).unwrap()),
        parts[2]
    );
    assert!(matches!(
        verify_id_token(&rewritten, &jwks, &expected),
        Err(OidcError::InvalidToken("the signature does not match"))
    ));
    // And the untampered token with another nonce expected is refused.
    let other_nonce = Expected {
        nonce: "another-nonce",
        ..expected
    };
    assert!(matches!(
        verify_id_token(&token, &jwks, &other_nonce),
        Err(OidcError::InvalidToken("the nonce does not match"))
    ));
}

#[tokio::test]
async fn a_provider_naming_another_issuer_is_refused() {
    let provider = Provider::start(Some("http://issuer.invalid/realm")).await;
    assert_eq!(provider.issuer, "http://issuer.invalid/realm");
    // The app is configured with the provider's real address as its issuer.
    let app = app_for(&provider.address).await;
    let refused = start_login(&app).await;
    assert_eq!(refused.status, StatusCode::BAD_GATEWAY);
    assert_login_refused(&refused, "Il servizio di identità digitale non risponde.");
    assert!(refused.header("location").is_none());
    let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM oidc_logins")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(pending, 0, "no login was started");
    assert_eq!(app.get("/area").await.status, StatusCode::SEE_OTHER);

    // A genuine token of that provider carries its issuer: refused where another is expected.
    let token = provider.id_token("the-nonce-of-this-test").await;
    let jwks = provider.jwks().await;
    let expecting = |issuer| Expected {
        issuer,
        client_id: CLIENT_ID,
        nonce: "the-nonce-of-this-test",
        now: Utc::now(),
    };
    assert!(matches!(
        verify_id_token(&token, &jwks, &expecting(&provider.address)),
        Err(OidcError::InvalidToken("another issuer"))
    ));
    assert!(verify_id_token(&token, &jwks, &expecting("http://issuer.invalid/realm")).is_ok());
}

#[tokio::test]
async fn signing_in_adopts_an_unconfirmed_registration_of_the_address_and_voids_its_link() {
    let provider = Provider::start(None).await;
    provider.set_account(giulia()).await;
    let app = app_for(&provider.issuer).await;
    // Someone registers Giulia's address with a password of their own and never confirms it.
    let squatter = app.browser();
    let registered = squatter
        .register(
            "Intrusa",
            "giulia.verdi@example.org",
            "la-password-di-un-altra",
        )
        .await;
    assert_eq!(registered.status, StatusCode::OK);
    let pending: String = sqlx::query_scalar(
        "SELECT tracking_token FROM outbox WHERE kind = 'citizen_verify' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();

    let browser = app.browser();
    sign_in_through_provider(&browser).await;
    assert_eq!(citizens(&app).await, 1, "the same address, one account");
    let profile = browser.get("/area/profilo").await;
    assert_eq!(
        profile.element_text("citizen-name").unwrap(),
        "Giulia Verdi",
        "the proven identity's names, not the registrant's"
    );
    assert_eq!(
        squatter
            .get(&format!("/area/conferma/{pending}"))
            .await
            .status,
        StatusCode::GONE,
        "the registrant's confirmation link no longer works"
    );
    let login = squatter
        .citizen_sign_in("giulia.verdi@example.org", "la-password-di-un-altra")
        .await;
    assert_eq!(login.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_fiscal_code_links_the_sign_in_to_the_record_the_counter_made() {
    let provider = Provider::start(None).await;
    provider.set_account(giulia()).await;
    let app = app_for(&provider.issuer).await;
    // Giulia was registered at the counter, without e-mail, with her fiscal code.
    sqlx::query(
        "INSERT INTO citizens (id, organisation_id, first_name, last_name, fiscal_code, created_at)
         VALUES ('00000000-0000-0000-0000-00000000c0de', ?, 'Giulia', 'Verdi (sportello)', 'VRDGLI85M41H501Z', NOW(6))",
    )
    .bind(sportello_server::app::DEFAULT_ORGANISATION.to_string())
    .execute(&app.pool)
    .await
    .unwrap();
    let browser = app.browser();
    sign_in_through_provider(&browser).await;
    assert_eq!(
        citizens(&app).await,
        1,
        "no second record for the same person"
    );
    assert_eq!(
        browser
            .get("/area/profilo")
            .await
            .element_text("citizen-name")
            .unwrap(),
        "Giulia Verdi (sportello)"
    );
}
