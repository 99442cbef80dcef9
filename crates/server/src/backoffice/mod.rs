//! The back office: staff sign in, work the inbox (the queue projection), open a request and act
//! on it. Every handler checks who is asking against the request's own events before reading or
//! changing it (never a read model that may lag); a request outside someone's reach is a 404.

mod actions;
mod inbox;
mod login;
mod place;
mod request;
pub mod second_factor;

pub use actions::act;
pub use inbox::inbox;
pub use login::{login, login_form, logout, logout_everywhere};
pub use request::{answer_file, download, page, preview, visible_to, visible_within, Visible};

/// Signing in (with the second factor), the inbox, a request's page, its files and actions.
pub fn routes() -> axum::Router<crate::state::AppState> {
    use crate::web::upload::with_files;
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/ufficio/accesso", get(login_form).post(login))
        .route(
            "/ufficio/accesso/codice",
            get(second_factor::code_form).post(second_factor::check_code),
        )
        .route(
            "/ufficio/profilo/due-fattori",
            get(second_factor::setup).post(second_factor::confirm_setup),
        )
        .route("/ufficio/esci", post(logout))
        .route("/ufficio/esci-ovunque", post(logout_everywhere))
        .route("/ufficio/richieste", get(inbox))
        .route("/ufficio/richieste/{id}", get(page))
        .route("/ufficio/richieste/{id}/allegati/{position}", get(download))
        .route(
            "/ufficio/richieste/{id}/allegati/{position}/anteprima",
            get(preview),
        )
        .route(
            "/ufficio/richieste/{id}/risposte/{sequence}/{index}",
            get(answer_file),
        )
        .route("/ufficio/richieste/{id}/{action}", with_files(post(act)))
}
