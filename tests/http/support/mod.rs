//! The test application: its own database, a fixed clock, a cookie jar, and helpers that fill
//! and send the citizen's form.

#![allow(dead_code)]

pub mod dovecot;
mod forms;
pub mod mailing;
pub mod multipart;
pub mod office;
pub mod receiver;
mod response;
pub mod smtp;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Request, StatusCode};
use chrono::{DateTime, Utc};
use http_body_util::BodyExt;
use sportello_server::app::DEFAULT_ORGANISATION;
use sportello_server::app::{router, AppState};
use sportello_server::clock::Clock;
use sportello_server::config::Config;
use sportello_server::staff::{self, Role};
use sportello_server::{db, directory, local_db, mail};
use sqlx::MySqlPool;
use tower::ServiceExt;
use uuid::Uuid;

pub use multipart::Multipart;

/// The instant tests start at unless they say otherwise (a Tuesday in March, Rome time 10:00).
pub fn default_now() -> DateTime<Utc> {
    "2026-03-10T09:00:00Z".parse().unwrap()
}

pub struct TestApp {
    pub app: AppState,
    pub pool: MySqlPool,
    pub database_url: String,
    pub data_dir: std::path::PathBuf,
    jar: Mutex<HashMap<String, String>>,
    pub client_ip: Mutex<SocketAddr>,
}

pub struct Options {
    pub smtp_url: Option<String>,
    pub now: DateTime<Utc>,
    pub extra: Vec<(&'static str, String)>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            smtp_url: None,
            now: default_now(),
            extra: Vec::new(),
        }
    }
}

/// The server all test databases live on: SPORTELLO_TEST_DATABASE_URL, or (outside CI) a
/// private MariaDB under target/.
async fn server_url() -> String {
    if let Ok(url) = std::env::var("SPORTELLO_TEST_DATABASE_URL") {
        return url;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but SPORTELLO_TEST_DATABASE_URL is not set: the tests need MariaDB"
    );
    static PRIVATE: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    PRIVATE
        .get_or_init(|| async {
            let dir =
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-mariadb");
            local_db::start(&dir)
                .await
                .expect("a private MariaDB for the tests");
            let socket = local_db::socket_for(&dir).unwrap();
            format!("mysql://root@localhost/?socket={}", socket.display())
        })
        .await
        .clone()
}

/// `base` (a server URL, maybe with ?socket=) pointed at `database`.
fn with_database(base: &str, database: &str) -> String {
    let (head, query) = match base.split_once('?') {
        Some((head, query)) => (head, format!("?{query}")),
        None => (base, String::new()),
    };
    let scheme_end = head.find("://").map(|i| i + 3).unwrap_or(0);
    let host_end = head[scheme_end..]
        .find('/')
        .map(|i| i + scheme_end)
        .unwrap_or(head.len());
    format!("{}/{database}{query}", &head[..host_end])
}

/// A fresh, migrated database; returns its URL.
pub async fn fresh_database() -> String {
    let base = server_url().await;
    let name = format!("sportello_test_{}", uuid::Uuid::new_v4().simple());
    let admin = db::connect(&with_database(&base, ""), 1)
        .await
        .expect("connecting to the test MariaDB");
    sqlx::query(&format!(
        // The server's defaults, as a DBA's plain CREATE DATABASE gives: the migrations must not
        // depend on the database's default character set or collation.
        "CREATE DATABASE {name}"
    ))
    .execute(&admin)
    .await
    .unwrap();
    admin.close().await;
    let url = with_database(&base, &name);
    let pool = db::connect(&url, 2).await.unwrap();
    db::migrate(&pool).await.unwrap();
    pool.close().await;
    url
}

impl TestApp {
    pub async fn start() -> TestApp {
        TestApp::start_with(Options::default()).await
    }

    pub async fn start_with(options: Options) -> TestApp {
        let url = fresh_database().await;
        TestApp::on_database(url, options).await
    }

    /// A server copy on an existing database (a restart, or a second copy).
    pub async fn on_database(database_url: String, options: Options) -> TestApp {
        // The server's logs, shown with a failing test's output.
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter("warn")
            .try_init();
        let data_dir =
            std::env::temp_dir().join(format!("sportello-test-{}", uuid::Uuid::new_v4().simple()));
        let mut vars: HashMap<String, String> = HashMap::from([
            ("SPORTELLO_DATABASE_URL".into(), database_url.clone()),
            ("SPORTELLO_DATA_DIR".into(), data_dir.display().to_string()),
            (
                "SPORTELLO_PUBLIC_URL".into(),
                "https://urp.comune.test".into(),
            ),
            (
                "SPORTELLO_MAIL_FROM".into(),
                "URP Comune di Esempio <urp@comune.test>".into(),
            ),
            ("SPORTELLO_MAIL_RETRY_SECONDS".into(), "0".into()),
            ("SPORTELLO_MAIL_MAX_ATTEMPTS".into(), "3".into()),
            ("SPORTELLO_SUBMISSIONS_PER_HOUR".into(), "10000".into()),
        ]);
        if let Some(smtp) = options.smtp_url {
            vars.insert("SPORTELLO_SMTP_URL".into(), smtp);
        }
        for (key, value) in options.extra {
            vars.insert(key.into(), value);
        }
        let config = Config::from_vars(&vars).unwrap();
        let pool = db::connect(&database_url, 30).await.unwrap();
        let app = AppState::build(config, pool.clone(), Clock::fixed(options.now))
            .await
            .unwrap();
        TestApp {
            app,
            pool,
            database_url,
            data_dir,
            jar: Mutex::new(HashMap::new()),
            client_ip: Mutex::new("198.51.100.7:50000".parse().unwrap()),
        }
    }

    /// Runs the background work once, to completion: projections, then the mail outbox, then
    /// the projections again for what the mail recorded.
    pub async fn settle(&self) {
        for projection in sportello_projections::processors() {
            sportello_projections::catch_up(&self.pool, projection.as_ref())
                .await
                .unwrap();
        }
        mail::worker::work(&self.app).await.unwrap();
        for projection in sportello_projections::processors() {
            sportello_projections::catch_up(&self.pool, projection.as_ref())
                .await
                .unwrap();
        }
    }

    pub async fn send(&self, mut request: Request<Body>) -> TestResponse {
        let cookies: Vec<String> = self
            .jar
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if !cookies.is_empty() && !request.headers().contains_key(header::COOKIE) {
            request
                .headers_mut()
                .insert(header::COOKIE, cookies.join("; ").parse().unwrap());
        }
        request
            .extensions_mut()
            .insert(ConnectInfo(*self.client_ip.lock().unwrap()));
        let response = router(self.app.clone()).oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        for value in headers.get_all(header::SET_COOKIE) {
            let pair = value.to_str().unwrap().split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            self.jar
                .lock()
                .unwrap()
                .insert(name.to_string(), value.to_string());
        }
        let bytes = response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        TestResponse {
            status,
            headers,
            bytes,
        }
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.send(Request::get(path).body(Body::empty()).unwrap())
            .await
    }

    pub async fn post_form(&self, form: &Multipart) -> TestResponse {
        let (content_type, body) = form.encode();
        let request = Request::post("/segnalazioni")
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap();
        self.send(request).await
    }

    /// Opens the form (which sets the CSRF cookie) and returns its CSRF token.
    pub async fn open_form(&self) -> String {
        let page = self.get("/segnalazioni/nuova").await;
        assert_eq!(page.status, StatusCode::OK);
        page.input_value("csrf_token")
            .expect("the form carries a CSRF token")
    }

    /// Opens the form and sends `form` with the page's CSRF token.
    pub async fn submit(&self, form: Multipart) -> TestResponse {
        let token = self.open_form().await;
        self.post_form(&form.first("csrf_token", &token)).await
    }

    /// Files a valid request and returns its receipt.
    pub async fn file(&self, form: Multipart) -> Receipt {
        let response = self.submit(form).await;
        response.assert_status(StatusCode::SEE_OTHER);
        let location = response.header("location").unwrap();
        let token = location
            .trim_start_matches("/segui/")
            .trim_end_matches("/ricevuta")
            .to_string();
        let confirmation = self.get(&location).await;
        assert_eq!(confirmation.status, StatusCode::OK);
        let reference = confirmation
            .element_text("reference")
            .expect("the confirmation shows the reference");
        Receipt { token, reference }
    }

    /// The public history entries of a request, as shown on its tracking page.
    pub async fn history(&self, receipt: &Receipt) -> Vec<String> {
        let page = self.get(&format!("/segui/{}", receipt.token)).await;
        assert_eq!(page.status, StatusCode::OK);
        let text = page.text();
        let list = text
            .split("<ol id=\"history\"")
            .nth(1)
            .unwrap()
            .split("</ol>")
            .next()
            .unwrap()
            .to_string();
        list.split("<li>")
            .skip(1)
            .map(|item| {
                strip_tags(item)
                    .split(" — ")
                    .nth(1)
                    .unwrap_or("")
                    .trim()
                    .to_string()
            })
            .collect()
    }

    /// Event types of one request, in order, straight from the event store.
    pub async fn event_types(&self, reference: &str) -> Vec<String> {
        sqlx::query_scalar(
            "SELECT e.event_type FROM events e JOIN citizen_requests r ON r.aggregate_id = e.aggregate_id
              WHERE r.reference = ? ORDER BY e.sequence",
        )
        .bind(reference)
        .fetch_all(&self.pool)
        .await
        .unwrap()
    }

    /// Creates a member of staff; returns their e-mail and password.
    pub async fn add_staff(
        &self,
        name: &str,
        roles: &[Role],
        departments: &[Uuid],
    ) -> (String, String) {
        let email = format!("{}@comune.test", name.to_lowercase().replace(' ', "."));
        let password = format!("{name} ha una password lunga");
        let new = staff::NewStaff {
            organisation_id: DEFAULT_ORGANISATION,
            email: &email,
            name,
            password: &password,
            roles,
            departments,
        };
        staff::add(&self.pool, new, self.app.clock.now())
            .await
            .unwrap();
        (email, password)
    }

    /// A second browser on the same database, signed in as a new member of staff (another copy of
    /// the server, as behind a load balancer). Returns it with the person's e-mail and password.
    pub async fn staff_client(
        &self,
        name: &str,
        roles: &[Role],
        departments: &[Uuid],
    ) -> (TestApp, String, String) {
        let (email, password) = self.add_staff(name, roles, departments).await;
        let client = TestApp::on_database(self.database_url.clone(), Options::default()).await;
        client.signed_in_as(&email, &password).await;
        (client, email, password)
    }

    pub async fn add_department(&self, name: &str) -> Uuid {
        let email = format!("{}@comune.test", name.to_lowercase().replace(' ', "-"));
        directory::add_department(
            &self.pool,
            DEFAULT_ORGANISATION,
            name,
            &email,
            Some(("Dirigente", "dirigente@comune.test")),
        )
        .await
        .unwrap()
    }

    /// Signs in through the login form; returns the response to the POST.
    pub async fn sign_in(&self, email: &str, password: &str) -> TestResponse {
        let form_page = self.get("/ufficio/accesso").await;
        let token = form_page
            .input_value("csrf_token")
            .expect("the login form has a CSRF token");
        self.post_urlencoded(
            "/ufficio/accesso",
            &[
                ("email", email),
                ("password", password),
                ("csrf_token", &token),
            ],
        )
        .await
    }

    /// Signs in and expects to land in the back office.
    pub async fn signed_in_as(&self, email: &str, password: &str) {
        let response = self.sign_in(email, password).await;
        response.assert_status(StatusCode::SEE_OTHER);
    }

    pub async fn post_urlencoded(&self, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let request = Request::post(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        self.send(request).await
    }

    /// The CSRF token and version an action's form on a request page carries.
    pub async fn action_form(&self, aggregate_id: &str, action: &str) -> (String, String) {
        let page = self
            .get(&format!("/ufficio/richieste/{aggregate_id}"))
            .await;
        assert_eq!(page.status, StatusCode::OK, "the request page opens");
        let text = page.text();
        let form = text
            .split(&format!("id=\"action-{action}\""))
            .nth(1)
            .unwrap_or_else(|| panic!("the action {action} is offered"));
        let value = |name: &str| {
            let after = form
                .split(&format!("name=\"{name}\" value=\""))
                .nth(1)
                .unwrap();
            after.split('"').next().unwrap().to_string()
        };
        (value("csrf_token"), value("version"))
    }

    /// Opens a request page in the back office and performs an action with the page's token
    /// and version.
    pub async fn act(
        &self,
        aggregate_id: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> TestResponse {
        let (token, version) = self.action_form(aggregate_id, action).await;
        let mut all = vec![
            ("csrf_token", token.as_str()),
            ("version", version.as_str()),
        ];
        all.extend_from_slice(fields);
        self.post_urlencoded(&format!("/ufficio/richieste/{aggregate_id}/{action}"), &all)
            .await
    }

    /// Like `act`, but sends the action's form as multipart with files (the answer's form).
    pub async fn act_with_files(
        &self,
        aggregate_id: &str,
        action: &str,
        message: &str,
        files: &[(&str, &str, Vec<u8>)],
    ) -> TestResponse {
        let (token, version) = self.action_form(aggregate_id, action).await;
        let mut multipart = Multipart::new()
            .text("csrf_token", &token)
            .text("version", &version)
            .text("message", message);
        for (name, content_type, bytes) in files {
            multipart = multipart.file("attachments", name, content_type, bytes.clone());
        }
        let (content_type, body) = multipart.encode();
        let request = Request::post(format!("/ufficio/richieste/{aggregate_id}/{action}"))
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap();
        self.send(request).await
    }

    /// The reference of the request with this aggregate id.
    pub async fn reference_of(&self, aggregate_id: &str) -> String {
        sqlx::query_scalar("SELECT reference FROM citizen_requests WHERE aggregate_id = ?")
            .bind(aggregate_id)
            .fetch_one(&self.pool)
            .await
            .expect("a request with this id")
    }

    /// The aggregate id of the request with this reference.
    pub async fn aggregate_id(&self, reference: &str) -> String {
        sqlx::query_scalar(
            "SELECT aggregate_id FROM events WHERE event_type = 'RequestReceived'
               AND JSON_VALUE(payload, '$.RequestReceived.reference') = ?",
        )
        .bind(reference)
        .fetch_one(&self.pool)
        .await
        .unwrap()
    }

    /// How many events the store holds.
    pub async fn count_events(&self) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM events")
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    pub fn set_client_ip(&self, addr: &str) {
        *self.client_ip.lock().unwrap() = addr.parse().unwrap();
    }

    pub fn forget_cookies(&self) {
        self.jar.lock().unwrap().clear();
    }

    /// The value this browser holds for a cookie.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.jar.lock().unwrap().get(name).cloned()
    }

    /// Another browser on the same server copy (same clock, same database), with no cookies.
    pub fn browser(&self) -> TestApp {
        TestApp {
            app: self.app.clone(),
            pool: self.pool.clone(),
            database_url: self.database_url.clone(),
            data_dir: self.data_dir.clone(),
            jar: Mutex::new(HashMap::new()),
            client_ip: Mutex::new(*self.client_ip.lock().unwrap()),
        }
    }

    /// Works the outbox, then returns the link (as a path) of the newest mail to `to` with a link
    /// under `path`, e.g. "/area/conferma/".
    pub async fn mailed_link(&self, smtp: &smtp::SmtpServer, to: &str, path: &str) -> String {
        self.settle().await;
        let prefix = format!("https://urp.comune.test{path}");
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let found = smtp
                .messages()
                .iter()
                .rev()
                .filter(|mail| mail.to.iter().any(|address| address == to))
                .find_map(|mail| {
                    let text = smtp::parse(mail).text;
                    let start = text.find(&prefix)?;
                    let link: String = text[start..]
                        .chars()
                        .take_while(|c| !c.is_whitespace())
                        .collect();
                    Some(link["https://urp.comune.test".len()..].to_string())
                });
            if let Some(link) = found {
                return link;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no mail to {to} with a link under {path}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Sends the citizen's registration form; returns the answer to the POST.
    pub async fn register(&self, first_name: &str, email: &str, password: &str) -> TestResponse {
        let token = self
            .get("/area/registrazione")
            .await
            .input_value("csrf_token")
            .expect("the registration form has a CSRF token");
        self.post_urlencoded(
            "/area/registrazione",
            &[
                ("csrf_token", &token),
                ("first_name", first_name),
                ("last_name", "Bianchi"),
                ("email", email),
                ("password", password),
                ("password_confirmation", password),
                ("privacy", "accepted"),
            ],
        )
        .await
    }

    /// Opens a link's page (a GET shows a button) and presses its button; the answer to the POST.
    pub async fn follow_link(&self, path: &str) -> TestResponse {
        let page = self.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.text());
        let token = page
            .input_value("csrf_token")
            .expect("the link's page has a form");
        // A registration's link asks for the name (filled in) and the password to choose.
        let first = page.input_value("first_name").unwrap_or_default();
        let last = page.input_value("last_name").unwrap_or_default();
        self.post_urlencoded(
            path,
            &[
                ("csrf_token", &token),
                ("first_name", &first),
                ("last_name", &last),
                ("password", CITIZEN_PASSWORD),
                ("password_confirmation", CITIZEN_PASSWORD),
            ],
        )
        .await
    }

    /// A citizen who registered with `email`, confirmed the address through the link mailed to
    /// it choosing CITIZEN_PASSWORD, and is signed in, in a browser of their own.
    pub async fn register_citizen(
        &self,
        smtp: &smtp::SmtpServer,
        first_name: &str,
        email: &str,
    ) -> TestApp {
        let browser = self.browser();
        let registered = browser.register(first_name, email, CITIZEN_PASSWORD).await;
        registered.assert_status(StatusCode::OK);
        let link = self.mailed_link(smtp, email, "/area/conferma/").await;
        let confirmed = browser.follow_link(&link).await;
        confirmed.assert_status(StatusCode::SEE_OTHER);
        assert_eq!(confirmed.header("location").as_deref(), Some("/area"));
        browser
    }

    /// Signs a citizen in through the area's login form; returns the answer to the POST.
    pub async fn citizen_sign_in(&self, email: &str, password: &str) -> TestResponse {
        let token = self
            .get("/area/accesso")
            .await
            .input_value("csrf_token")
            .expect("the login form has a CSRF token");
        self.post_urlencoded(
            "/area/accesso",
            &[
                ("csrf_token", &token),
                ("email", email),
                ("password", password),
                ("torna", "/area"),
            ],
        )
        .await
    }
}

/// The password `register_citizen` chooses.
pub const CITIZEN_PASSWORD: &str = "una password lunga e segreta";

pub struct Receipt {
    pub token: String,
    pub reference: String,
}

pub struct TestResponse {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub bytes: Vec<u8>,
}

impl TestResponse {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).to_string()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    }

    /// The `value` of the input named `name`, unescaped.
    pub fn input_value(&self, name: &str) -> Option<String> {
        let text = self.text();
        let tag = text.split(&format!("name=\"{name}\"")).nth(1)?;
        let value = tag.split("value=\"").nth(1)?.split('"').next()?;
        Some(unescape(value))
    }

    /// The whole text of the error summary at the top of a form, tags stripped.
    pub fn error_summary(&self) -> Option<String> {
        let text = self.text();
        let after = text.split("id=\"error-summary\"").nth(1)?;
        let inner = after.split_once('>')?.1.split("</div>").next()?;
        Some(
            strip_tags(inner)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        )
    }

    /// The text of the element with this id, tags stripped.
    pub fn element_text(&self, id: &str) -> Option<String> {
        let text = self.text();
        let after = text.split(&format!("id=\"{id}\"")).nth(1)?;
        let inner = after.split_once('>')?.1;
        let tag_end = inner.find("</")?;
        Some(unescape(strip_tags(&inner[..tag_end]).trim()))
    }
}

pub fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

pub fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in html.chars() {
        match c {
            '<' => inside = true,
            '>' => inside = false,
            _ if !inside => out.push(c),
            _ => {}
        }
    }
    unescape(&out)
}

pub fn unescape(text: &str) -> String {
    text.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// A complaint with every required field filled.
pub fn complaint(subject: &str) -> Multipart {
    Multipart::new()
        .text("kind", "complaint")
        .text("topic", "lavori-pubblici")
        .text("subject", subject)
        .text(
            "description",
            "Il lampione davanti al civico 12 di via Roma è spento da due settimane.",
        )
        .text("place", "Via Roma 12")
        .text("first_name", "Maria")
        .text("last_name", "Rossi")
        .text("email", "maria.rossi@example.it")
        .text("email_confirmation", "maria.rossi@example.it")
        .text("phone", "")
        .text("privacy", "accepted")
        .text("website", "")
}

/// A small valid PNG generated in memory.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([x as u8, y as u8, 128]));
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(image)
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

/// A JPEG carrying an EXIF segment with a fake GPS marker and orientation 6 (turn 90°).
pub fn jpeg_with_gps(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, _| image::Rgb([x as u8, 10, 200]));
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(image)
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .unwrap();
    let plain = out.into_inner();
    // TIFF header (big endian), one IFD entry: Orientation (0x0112) SHORT 1 = 6; then a marker.
    let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec();
    tiff.extend_from_slice(&[
        0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0,
    ]);
    tiff.extend_from_slice(b"GPS-45.4642N-9.1900E");
    let mut exif = b"Exif\0\0".to_vec();
    exif.extend_from_slice(&tiff);
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE1];
    bytes.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
    bytes.extend_from_slice(&exif);
    bytes.extend_from_slice(&plain[2..]);
    bytes
}
