//! Headers every response carries, and the request log line (matched route, never the raw path:
//! tracking tokens travel in paths).

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

const CSP: &str = "default-src 'self'; img-src 'self' data:; font-src 'self' data:; style-src 'self'; \
     script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// Everything that is not a page — attachments, exports, open data, images, assets — is never
/// a document that may run or load anything: opened directly, it is a sandboxed, inert one.
pub const DOWNLOAD_CSP: &str = "default-src 'none'; sandbox";

/// Whether a response is one of our HTML pages (which get the page policy).
fn is_page(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|kind| kind.as_bytes().starts_with(b"text/html"))
        && !headers
            .get(header::CONTENT_DISPOSITION)
            .is_some_and(|disposition| disposition.as_bytes().starts_with(b"attachment"))
}

pub async fn headers(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let csp = if is_page(headers) { CSP } else { DOWNLOAD_CSP };
    let mut set = |name: header::HeaderName, value: &'static str| {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    };
    set(header::CONTENT_SECURITY_POLICY, csp);
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::REFERRER_POLICY, "no-referrer");
    set(header::X_FRAME_OPTIONS, "DENY");
    set(
        header::HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=()",
    );
    set(
        header::HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(header::CACHE_CONTROL, "no-store");
    tracing::info!(
        method = %method,
        route,
        status = response.status().as_u16(),
        micros = started.elapsed().as_micros() as u64,
        "request"
    );
    response
}

/// HSTS, only when the public URL is HTTPS (added by the router when so configured).
pub const HSTS: &str = "max-age=31536000; includeSubDomains";
