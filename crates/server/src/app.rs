//! The application state every handler shares, and the router.

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue};
use axum::routing::{get, post};
use axum::{middleware, Router};
use sqlx::MySqlPool;
use tokio::sync::Notify;
use uuid::Uuid;

use crate::clock::Clock;
use crate::config::Config;
use crate::event_store::{self, Requests};
use crate::mail::Transport;
use crate::web::{self, RateLimiter, Templates};
use crate::{admin, backoffice, citizens, db, frontoffice, intake, pages, site_pages, tracking};

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
    /// SMTP, or `.eml` files when no SMTP server is configured.
    pub mail: Arc<Transport>,
    /// The organisation these pages serve.
    pub organisation_id: Uuid,
    pub organisation_name: String,
    /// The published FAQs' search index, rebuilt when another save changes them (any copy).
    pub faq_index: crate::faq::index::SharedIndex,
    /// The organisation's settings as last read (at most `recent::STALENESS` old).
    pub kept_settings: Arc<crate::recent::Recent<crate::settings::Settings>>,
}

impl AppState {
    /// Connects the pieces to an already migrated database.
    pub async fn build(config: Config, pool: MySqlPool, clock: Clock) -> anyhow::Result<AppState> {
        let csrf_secret = db::shared_secret(&pool, "csrf_secret").await?;
        let organisation_name: String =
            sqlx::query_scalar("SELECT name FROM organisations WHERE id = ?")
                .bind(DEFAULT_ORGANISATION.to_string())
                .fetch_one(&pool)
                .await?;
        let mail = Transport::from_config(&config)?;
        Ok(AppState {
            submissions: Arc::new(RateLimiter::per_hour(config.submissions_per_hour)),
            config: Arc::new(config),
            requests: Arc::new(event_store::requests(pool.clone())),
            pool,
            templates: Arc::new(Templates::new()),
            clock,
            csrf_secret: Arc::new(csrf_secret),
            events_appended: Arc::new(Notify::new()),
            mail_queued: Arc::new(Notify::new()),
            mail: Arc::new(mail),
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

    /// Whether cookies must be marked Secure (the public URL is HTTPS).
    pub fn secure_cookies(&self) -> bool {
        self.config.public_url.starts_with("https://")
    }
}

/// The FAQ and the documents library: public pages and staff editing.
fn faq_routes() -> Router<AppState> {
    use crate::documents;
    use crate::faq::{public, staff};
    Router::new()
        .route("/faq", get(public::index))
        .route("/faq/cerca", get(public::search_page))
        .route("/faq/suggerimenti", get(public::suggestions))
        .route("/faq/aperture", post(public::opened))
        .route("/faq/argomenti/{code}", get(public::topic))
        .route("/faq/{id}", get(public::question))
        .route("/faq/{id}/voto", post(public::vote))
        .route("/ufficio/faq", get(staff::list).post(staff::create))
        .route("/ufficio/faq/nuova", get(staff::new_form))
        .route("/ufficio/faq/mancanti", get(staff::missing))
        .route(
            "/ufficio/faq/{id}",
            get(staff::edit_form).post(staff::update),
        )
        .route("/ufficio/faq/{id}/storia", get(staff::history))
        .route("/ufficio/richieste/{id}/faq", post(staff::from_request))
        .route("/documenti", get(documents::public_list))
        .route("/documenti/{id}/scarica", get(documents::download))
        .route(
            "/ufficio/documenti",
            get(documents::staff_list)
                .post(documents::upload)
                .layer(DefaultBodyLimit::max(
                    documents::MAX_BYTES + 2 * 1024 * 1024,
                )),
        )
        .route("/ufficio/documenti/{id}", post(documents::update))
        .route(
            "/ufficio/documenti/{id}/scarica",
            get(documents::staff_download),
        )
}

/// The front office: citizens found or registered at the counter, requests entered for them,
/// receipts.
fn frontoffice_routes() -> Router<AppState> {
    Router::new()
        .route("/ufficio/sportello", get(frontoffice::home))
        .route(
            "/ufficio/sportello/cittadini",
            post(frontoffice::create_citizen),
        )
        .route(
            "/ufficio/sportello/cittadini/{id}",
            get(frontoffice::citizen),
        )
        .route(
            "/ufficio/sportello/cittadini/{id}/nuova",
            get(frontoffice::entry_form)
                .post(frontoffice::enter)
                .layer(DefaultBodyLimit::max(web::upload::MAX_BODY_BYTES)),
        )
        .route(
            "/ufficio/sportello/cittadini/{citizen}/richieste/{id}",
            get(frontoffice::request),
        )
        .route(
            "/ufficio/sportello/cittadini/{id}/cancella",
            post(frontoffice::erase),
        )
        .route(
            "/ufficio/sportello/ricevute/{id}",
            get(frontoffice::receipt_page),
        )
        .route(
            "/ufficio/sportello/ricevute/{id}/pdf",
            get(frontoffice::receipt_pdf),
        )
}

/// The citizen area: accounts, OpenID Connect, my area, drafts and data rights.
fn citizen_routes() -> Router<AppState> {
    use citizens::{accounts, area, data_rights, drafts, oidc};
    Router::new()
        .route("/area", get(area::home))
        .route(
            "/area/registrazione",
            get(accounts::register_form).post(accounts::register),
        )
        .route(
            "/area/conferma/{token}",
            get(accounts::confirm_form).post(accounts::confirm),
        )
        .route(
            "/area/accesso",
            get(accounts::login_form).post(accounts::login),
        )
        .route("/area/accesso/oidc", post(oidc::start))
        .route("/area/accesso/oidc/ritorno", get(oidc::callback))
        .route("/area/esci", post(accounts::logout))
        .route(
            "/area/password-dimenticata",
            get(accounts::forgot_form).post(accounts::forgot),
        )
        .route(
            "/area/password/{token}",
            get(accounts::reset_form).post(accounts::reset),
        )
        .route(
            "/area/nuova-email/{token}",
            get(accounts::email_confirm_form).post(accounts::email_confirm),
        )
        .route("/area/profilo", get(accounts::profile))
        .route("/area/profilo/password", post(accounts::change_password))
        .route("/area/profilo/email", post(accounts::change_email))
        .route("/area/profilo/elimina", post(data_rights::delete_account))
        .route("/area/dati", get(data_rights::export))
        .route("/area/bozze/{id}/elimina", post(drafts::delete))
        .route("/area/richieste/{id}", get(area::request))
        .route(
            "/area/richieste/{id}/risposta",
            post(area::reply).layer(DefaultBodyLimit::max(web::upload::MAX_BODY_BYTES)),
        )
        .route("/area/richieste/{id}/riapri", post(area::reopen))
        .route("/area/richieste/{id}/valuta", post(area::rate))
        .route(
            "/area/richieste/{id}/allegati/{position}",
            get(area::download),
        )
        .route(
            "/area/richieste/{id}/allegati/{position}/anteprima",
            get(area::preview),
        )
        .route(
            "/area/richieste/{id}/risposte/{sequence}/{index}",
            get(area::entry_file),
        )
}

pub fn router(app: AppState) -> Router {
    let mut router = Router::new()
        .route("/", get(pages::home))
        .route("/segnalazioni/nuova", get(intake::form))
        .route(
            "/segnalazioni",
            post(intake::submit).layer(DefaultBodyLimit::max(web::upload::MAX_BODY_BYTES)),
        )
        .route("/segui/{token}", get(tracking::page))
        .route("/segui/{token}/ricevuta", get(tracking::confirmation))
        .route(
            "/segui/{token}/risposte/{sequence}/{index}",
            get(tracking::answer_file),
        )
        .route(
            "/ufficio/richieste/{id}/risposte/{sequence}/{index}",
            get(backoffice::answer_file),
        )
        .route(
            "/ufficio/richieste/{id}/allegati/{position}/anteprima",
            get(backoffice::preview),
        )
        .route(
            "/segui/{token}/risposta",
            post(tracking::reply).layer(DefaultBodyLimit::max(web::upload::MAX_BODY_BYTES)),
        )
        .route("/segui/{token}/riapri", post(tracking::reopen))
        .route("/segui/{token}/valuta", post(tracking::rate))
        .route(
            "/segui/{token}/allegati/{position}",
            get(tracking::download),
        )
        .route(
            "/segui/{token}/allegati/{position}/anteprima",
            get(tracking::preview),
        )
        .route("/ufficio", get(frontoffice::landing))
        .merge(frontoffice_routes())
        .route(
            "/ufficio/accesso",
            get(backoffice::login_form).post(backoffice::login),
        )
        .route(
            "/ufficio/accesso/codice",
            get(backoffice::second_factor::code_form).post(backoffice::second_factor::check_code),
        )
        .route(
            "/ufficio/profilo/due-fattori",
            get(backoffice::second_factor::setup).post(backoffice::second_factor::confirm_setup),
        )
        .route("/ufficio/esci", post(backoffice::logout))
        .route("/ufficio/esci-ovunque", post(backoffice::logout_everywhere))
        .route("/ufficio/richieste", get(backoffice::inbox))
        .route("/ufficio/richieste/{id}", get(backoffice::page))
        .route(
            "/ufficio/richieste/{id}/allegati/{position}",
            get(backoffice::download),
        )
        .route(
            "/ufficio/richieste/{id}/{action}",
            post(backoffice::act).layer(DefaultBodyLimit::max(web::upload::MAX_BODY_BYTES)),
        )
        .route(
            "/ufficio/amministrazione",
            get(|| async { axum::response::Redirect::to("/ufficio/amministrazione/impostazioni") }),
        )
        .route(
            "/ufficio/amministrazione/impostazioni",
            get(admin::settings).post(admin::save_settings),
        )
        .route(
            "/ufficio/amministrazione/uffici",
            get(admin::departments).post(admin::save_department),
        )
        .route(
            "/ufficio/amministrazione/enti",
            get(admin::bodies).post(admin::save_body),
        )
        .route(
            "/ufficio/amministrazione/argomenti",
            get(admin::topics).post(admin::save_topic),
        )
        .route(
            "/ufficio/amministrazione/risposte",
            get(admin::answers).post(admin::save_answer),
        )
        .route(
            "/ufficio/amministrazione/personale",
            get(admin::users).post(admin::add_user),
        )
        .route(
            "/ufficio/amministrazione/personale/{id}",
            post(admin::save_user),
        )
        .route(
            "/ufficio/invito/{token}",
            get(admin::invitation).post(admin::accept_invitation),
        )
        .merge(citizen_routes())
        .merge(faq_routes())
        .route("/statistiche", get(crate::statistics::public::page))
        .route(
            "/statistiche/dati/{file}",
            get(crate::statistics::open_files::download),
        )
        .route(
            "/ufficio/amministrazione/rapporti",
            get(admin::reports).post(admin::save_reports),
        )
        .route("/ufficio/statistiche", get(crate::statistics::dashboard))
        .route(
            "/ufficio/statistiche/esporta/{format}",
            get(crate::statistics::download),
        )
        .route("/ufficio/revisione", get(crate::audit::find))
        .route("/ufficio/revisione/{id}", get(crate::audit::page))
        .route("/ufficio/revisione/{id}/json", get(crate::audit::export))
        .route("/privacy", get(site_pages::privacy))
        .route("/accessibilita", get(site_pages::accessibility))
        .route("/ufficio/amministrazione/pagine", get(site_pages::edit))
        .route(
            "/ufficio/amministrazione/pagine/{slug}/{lang}",
            post(site_pages::save),
        )
        .route("/lingua/{lang}", get(pages::language))
        .route("/healthz", get(pages::healthz))
        .route("/assets/{version}/{*path}", get(web::assets::serve))
        .fallback(pages::not_found)
        .layer(middleware::from_fn_with_state(
            app.clone(),
            web::origin::same_origin_only,
        ))
        .layer(middleware::from_fn_with_state(
            app.clone(),
            web::error::render_errors,
        ))
        .layer(middleware::from_fn(web::security::headers));
    if app.secure_cookies() {
        router = router.layer(
            tower_http::set_header::SetResponseHeaderLayer::if_not_present(
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static(web::security::HSTS),
            ),
        );
    }
    router.with_state(app)
}
