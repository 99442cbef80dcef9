//! Webhooks: administrators register HTTPS endpoints (event types, an optional department,
//! whether payloads carry personal data); the `webhooks` processor queues a delivery per event
//! and endpoint, and the sender here delivers them signed as Standard Webhooks says, retried
//! for a day, with a delivery log and "send again". See docs/api.md.

mod notice;
mod page;
mod sender;
mod store;

pub(crate) use notice::disabled_notice;
pub use sender::{backoff, deliver_due, signature, RETRY_HOURS};
pub use store::find as find_endpoint;

use crate::state::AppState;

/// The administrators' webhook pages.
pub fn routes() -> axum::Router<AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route(page::PAGE, get(page::list).post(page::create))
        .route("/ufficio/amministrazione/webhook/{id}", get(page::log))
        .route(
            "/ufficio/amministrazione/webhook/{id}/stato",
            post(page::switch),
        )
        .route(
            "/ufficio/amministrazione/webhook/{id}/consegne/{delivery}",
            post(page::send_again),
        )
}
