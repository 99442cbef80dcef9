//! FAQ: public pages, Italian-aware search, suggestions while a citizen writes a request and the
//! count of questions they answered, votes, and staff editing with every version kept.

pub mod deflection;
mod from_request;
pub mod index;
mod missing;
pub mod public;
pub mod staff;
pub mod store;

pub use deflection::{
    answered_between as deflections_between, new_session as new_deflection_session,
    submitted as deflection_submitted, GRACE as DEFLECTION_GRACE,
};
pub use store::{save, Draft, Text};

/// The FAQ's public pages and their editing by the URP.
pub fn routes() -> axum::Router<crate::state::AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/faq", get(public::index))
        .route("/faq/cerca", get(public::search_page))
        .route("/faq/suggerimenti", get(public::suggestions))
        .route("/faq/aperture", post(public::opened))
        .route("/faq/argomenti/{code}", get(public::topic))
        .route("/faq/{id}", get(public::question))
        .route("/faq/{id}/voto", post(public::vote))
        .route("/ufficio/faq", get(staff::list).post(staff::save))
        .route("/ufficio/faq/nuova", get(staff::new_form))
        .route("/ufficio/faq/mancanti", get(missing::missing))
        .route("/ufficio/faq/{id}", get(staff::edit_form).post(staff::save))
        .route("/ufficio/faq/{id}/storia", get(staff::history))
        .route(
            "/ufficio/richieste/{id}/faq",
            post(from_request::from_request),
        )
}
