//! The citizen area: accounts (password or OpenID Connect), "my area" with every request of the
//! citizen, replies, reopening and rating, drafts, and the citizen's data rights (export,
//! erasure) with the retention job that anonymises old requests.

pub mod area;
pub mod data_rights;
pub mod drafts;
pub mod oidc;
mod passwords;
pub mod profile;
pub mod registration;
pub mod retention;
pub mod sign_in;

pub use area::read_own_writes;
pub use data_rights::erase_citizen;
pub use drafts::{load as load_draft, remove as remove_draft, save as save_draft};
pub use retention::run as run_retention;

/// The citizen area: accounts, OpenID Connect, my area, drafts and data rights.
pub fn routes() -> axum::Router<crate::state::AppState> {
    use crate::web::upload::with_files;
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/area", get(area::home))
        .route(
            "/area/registrazione",
            get(registration::blank::<registration::Registration>).post(registration::register),
        )
        .route(
            "/area/conferma/{token}",
            get(registration::confirm_form).post(registration::confirm),
        )
        .route(
            "/area/accesso",
            get(sign_in::login_form).post(sign_in::login),
        )
        .route("/area/accesso/oidc", post(oidc::start))
        .route("/area/accesso/oidc/ritorno", get(oidc::callback))
        .route("/area/esci", post(sign_in::logout))
        .route(
            "/area/password-dimenticata",
            get(registration::blank::<registration::Forgotten>).post(registration::forgot),
        )
        .route(
            "/area/password/{token}",
            get(registration::reset_form).post(registration::reset),
        )
        .route(
            "/area/nuova-email/{token}",
            get(profile::email_confirm_form).post(profile::email_confirm),
        )
        .route("/area/profilo", get(profile::profile))
        .route("/area/profilo/password", post(profile::change_password))
        .route("/area/profilo/email", post(profile::change_email))
        .route("/area/profilo/elimina", post(data_rights::delete_account))
        .route("/area/dati", get(data_rights::export))
        .route("/area/bozze/{id}/elimina", post(drafts::delete))
        .route("/area/richieste/{id}", get(area::request))
        .route(
            "/area/richieste/{id}/risposta",
            with_files(post(area::reply)),
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
