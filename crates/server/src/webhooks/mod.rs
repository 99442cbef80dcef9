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
pub use store::{
    all as all_endpoints, create as create_endpoint, deliveries, find as find_endpoint, send_again,
    set_active, Delivery, Endpoint, NewEndpoint,
};

use crate::state::AppState;

/// Whether `url` may receive webhooks: HTTPS, or HTTP to a host the configuration allows; no
/// credentials in it.
pub fn acceptable(app: &AppState, url: &str) -> bool {
    let Ok(parsed) = url::Url::parse(url) else {
        return false;
    };
    let host = parsed.host_str().unwrap_or("").to_ascii_lowercase();
    let scheme_ok = match parsed.scheme() {
        "https" => true,
        "http" => app.config.webhook_http_hosts.contains(&host),
        _ => false,
    };
    scheme_ok
        && !host.is_empty()
        && parsed.username().is_empty()
        && parsed.password().is_none()
        && url.len() <= 500
}

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
