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
    // An address written as an IP must be public (host names are checked when sending).
    let ip_ok = host
        .trim_matches(['[', ']'])
        .parse::<std::net::IpAddr>()
        .map_or(true, |ip| {
            public_address(ip) || app.config.webhook_http_hosts.contains(&host)
        });
    scheme_ok
        && ip_ok
        && !host.is_empty()
        && parsed.username().is_empty()
        && parsed.password().is_none()
        && url.len() <= 500
}

/// A delivery's failure or an endpoint's reason for being disabled, in words: the codes the
/// sender stores (`http_503`, `timeout`, `unreachable`, `private` …, `revoked`).
pub fn failure_text(language: sportello_domain::Language, code: &str) -> String {
    match code.strip_prefix("http_") {
        Some(status) => {
            crate::web::i18n::text(language, "webhooks.failure.http", &[("status", status)])
        }
        None => crate::web::i18n::text(language, &format!("webhooks.failure.{code}"), &[]),
    }
}

/// Whether an address is on the public internet (not loopback, private, link-local, unique
/// local, unspecified or documentation).
pub fn public_address(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => {
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
        }
        std::net::IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || v6
                    .to_ipv4_mapped()
                    .is_some_and(|v4| !public_address(v4.into())))
        }
    }
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
