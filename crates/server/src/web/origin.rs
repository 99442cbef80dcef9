//! Defence in depth beside the CSRF token: a state-changing request (anything but GET, HEAD and
//! OPTIONS) that a browser says came from another site is refused before any handler runs.
//! Browsers send `Sec-Fetch-Site` and `Origin` with such requests; a request with neither (an
//! old client, a script without a browser) is left to the CSRF token alone.

use axum::extract::{Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppError;
use crate::config::Config;

pub async fn same_origin_only(
    State(config): State<std::sync::Arc<Config>>,
    request: Request,
    next: Next,
) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !safe && !is_same_origin(request.headers(), &config.public_url) {
        tracing::warn!(method = %request.method(), "cross-origin request refused");
        return AppError::Csrf.into_response();
    }
    next.run(request).await
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> &str {
    match url.find("://") {
        Some(start) => match url[start + 3..].find('/') {
            Some(end) => &url[..start + 3 + end],
            None => url,
        },
        None => url,
    }
}

/// Whether the browser's own headers place the request on our site (or say nothing).
/// `Origin: null` says nothing by itself: browsers send it for a form on one of our own pages,
/// whose `Referrer-Policy: no-referrer` hides the origin; `Sec-Fetch-Site` tells them apart.
pub fn is_same_origin(headers: &axum::http::HeaderMap, public_url: &str) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        // `none`: the person typed or bookmarked it; `same-origin`: one of our pages.
        if !matches!(site.as_bytes(), b"same-origin" | b"none") {
            return false;
        }
    }
    match headers.get(header::ORIGIN).map(|origin| origin.to_str()) {
        None | Some(Ok("null")) => true,
        Some(origin) => {
            origin.is_ok_and(|origin| origin.eq_ignore_ascii_case(origin_of(public_url)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue};

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn only_our_own_origin_or_silence_passes() {
        let ours = "https://urp.comune.test";
        assert!(is_same_origin(&headers(&[]), ours));
        assert!(is_same_origin(
            &headers(&[
                ("origin", "https://urp.comune.test"),
                ("sec-fetch-site", "same-origin")
            ]),
            ours
        ));
        assert!(is_same_origin(
            &headers(&[("origin", "https://urp.comune.test")]),
            "https://urp.comune.test/"
        ));
        assert!(!is_same_origin(
            &headers(&[("origin", "https://evil.example")]),
            ours
        ));
        assert!(is_same_origin(
            &headers(&[("origin", "null"), ("sec-fetch-site", "same-origin")]),
            ours
        ));
        assert!(!is_same_origin(
            &headers(&[("origin", "null"), ("sec-fetch-site", "cross-site")]),
            ours
        ));
        assert!(!is_same_origin(
            &headers(&[("origin", "http://urp.comune.test")]),
            ours
        ));
        assert!(!is_same_origin(
            &headers(&[("sec-fetch-site", "cross-site")]),
            ours
        ));
        assert!(!is_same_origin(
            &headers(&[("sec-fetch-site", "same-site")]),
            ours
        ));
        assert_eq!(
            origin_of("http://127.0.0.1:8080/x/y"),
            "http://127.0.0.1:8080"
        );
    }
}
