//! Static assets embedded in the binary at build time: bootstrap-italia (from npm) and our own
//! small CSS and JavaScript. Paths carry the package version, so they are cached for good.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// The URL prefix of every asset; the version makes old caches irrelevant after an upgrade.
pub const PREFIX: &str = concat!(
    "/assets/",
    env!("CARGO_PKG_VERSION"),
    "-",
    env!("BOOTSTRAP_ITALIA_VERSION")
);

pub async fn serve(Path((_version, path)): Path<(String, String)>) -> Response {
    let Some((_, bytes)) = ASSETS.iter().find(|(name, _)| *name == path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    (
        [
            (header::CONTENT_TYPE, content_type(&path)),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        *bytes,
    )
        .into_response()
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("woff2") => "font/woff2",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}
