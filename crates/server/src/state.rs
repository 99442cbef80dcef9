//! The application state every handler shares: one field per shared thing, each with a comment.

use std::sync::Arc;

use axum::extract::FromRef;
use sqlx::MySqlPool;
use tokio::sync::Notify;
use uuid::Uuid;

use crate::clock::Clock;
use crate::config::Config;
use crate::event_store::{self, Requests};
use crate::mail::Transport;
use crate::web::checked::CsrfKey;
use crate::web::{RateLimiter, Templates};
use crate::{db, faq};

/// The default organisation created by the first migration (one Comune per install for now).
pub const DEFAULT_ORGANISATION: Uuid = Uuid::from_u128(0x6f1c2a7e_4b0d_4c57_9a39_1b7c1d0e0001);

#[derive(Clone)]
pub struct AppState {
    /// The validated configuration.
    pub config: Arc<Config>,
    /// The one database: events, read models, files, outbox, secrets.
    pub pool: MySqlPool,
    /// The request aggregate's command side (cqrs-es over our event log).
    pub requests: Arc<Requests>,
    /// Page and mail templates with the translation catalogue.
    pub templates: Arc<Templates>,
    /// Where "now" comes from.
    pub clock: Clock,
    /// Signs CSRF tokens; the same for every server copy (kept in the database).
    pub csrf_secret: Arc<Vec<u8>>,
    /// Woken after this copy appends events, so projections catch up at once.
    pub events_appended: Arc<Notify>,
    /// Woken after this copy queues mail.
    pub mail_queued: Arc<Notify>,
    /// Submissions per client per hour (per copy).
    pub submissions: Arc<RateLimiter>,
    /// API calls per client per minute (per copy).
    pub api_calls: Arc<RateLimiter<Uuid>>,
    /// SMTP, or `.eml` files when no SMTP server is configured.
    pub mail: Arc<Transport>,
    /// The PEC provider's SMTP, for mail about requests that came by PEC (when configured).
    pub pec_mail: Option<Arc<Transport>>,
    /// Derives the requests' reply addresses; the same for every server copy (kept in the
    /// database, like the CSRF secret).
    pub reply_secret: Arc<Vec<u8>>,
    /// The organisation these pages serve.
    pub organisation_id: Uuid,
    pub organisation_name: String,
    /// The published FAQs' search index, rebuilt when another save changes them (any copy).
    pub faq_index: faq::index::SharedIndex,
    /// The organisation's settings as last read (at most `recent::STALENESS` old).
    pub kept_settings: Arc<crate::recent::Recent<crate::settings::Settings>>,
}

impl AppState {
    /// Connects the pieces to an already migrated database.
    pub async fn build(config: Config, pool: MySqlPool, clock: Clock) -> anyhow::Result<AppState> {
        let csrf_secret = db::shared_secret(&pool, "csrf_secret").await?;
        let reply_secret = db::shared_secret(&pool, "reply_secret").await?;
        let organisation_name: String =
            sqlx::query_scalar("SELECT name FROM organisations WHERE id = ?")
                .bind(DEFAULT_ORGANISATION.to_string())
                .fetch_one(&pool)
                .await?;
        let mail = Transport::from_config(&config)?;
        let pec_mail = match config
            .mail_in
            .as_ref()
            .and_then(|m| m.pec_smtp_url.as_deref())
        {
            Some(url) => Some(Arc::new(Transport::smtp(url)?)),
            None => None,
        };
        Ok(AppState {
            submissions: Arc::new(RateLimiter::per_hour(config.submissions_per_hour)),
            api_calls: Arc::new(RateLimiter::new(
                config.api_calls_per_minute,
                std::time::Duration::from_secs(60),
            )),
            config: Arc::new(config),
            requests: Arc::new(event_store::requests(pool.clone())),
            pool,
            templates: Arc::new(Templates::new()),
            clock,
            csrf_secret: Arc::new(csrf_secret),
            events_appended: Arc::new(Notify::new()),
            mail_queued: Arc::new(Notify::new()),
            mail: Arc::new(mail),
            pec_mail,
            reply_secret: Arc::new(reply_secret),
            organisation_id: DEFAULT_ORGANISATION,
            organisation_name,
            faq_index: Default::default(),
            kept_settings: Default::default(),
        })
    }

    /// The organisation's settings: as saved through this copy, or at most a second old when
    /// another copy saved them (pages do not read them from the database each time).
    pub async fn settings(&self) -> Result<crate::settings::Settings, sqlx::Error> {
        self.kept_settings
            .get(|| crate::settings::load(&self.pool, self.organisation_id, &self.config))
            .await
    }

    /// Renders a page in the layout, in `language`, for this organisation.
    pub fn render(
        &self,
        language: sportello_domain::Language,
        view: crate::web::View,
    ) -> crate::web::Result<axum::response::Response> {
        view.render(&self.templates, &self.organisation_name, language)
    }

    /// What public forms' CSRF tokens are made and checked with.
    pub fn csrf_key(&self) -> CsrfKey {
        CsrfKey::from_ref(self)
    }

    /// Whether cookies must be marked Secure (the public URL is HTTPS).
    pub fn secure_cookies(&self) -> bool {
        self.config.public_url.starts_with("https://")
    }
}

/// The CSRF forms' key, for `web::checked`'s extractors.
impl FromRef<AppState> for CsrfKey {
    fn from_ref(app: &AppState) -> CsrfKey {
        CsrfKey {
            secret: app.csrf_secret.clone(),
            secure: app.secure_cookies(),
        }
    }
}

/// The configuration, for the kernel's extractors and middleware.
impl FromRef<AppState> for Arc<Config> {
    fn from_ref(app: &AppState) -> Arc<Config> {
        app.config.clone()
    }
}

/// What error pages need, for `web::error::render_errors`.
impl FromRef<AppState> for crate::web::error::ErrorPages {
    fn from_ref(app: &AppState) -> crate::web::error::ErrorPages {
        crate::web::error::ErrorPages {
            templates: app.templates.clone(),
            organisation_name: app.organisation_name.clone(),
        }
    }
}

/// What every page handler starts from: the application, and the language the asker reads
/// (from the language cookie, Italian by default). One extractor, so a handler's signature
/// names only what is particular to it.
pub struct Desk {
    pub app: AppState,
    pub language: sportello_domain::Language,
}

impl axum::extract::FromRequestParts<AppState> for Desk {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        app: &AppState,
    ) -> Result<Desk, Self::Rejection> {
        Ok(Desk {
            app: app.clone(),
            language: crate::web::i18n::from_headers(&parts.headers),
        })
    }
}
