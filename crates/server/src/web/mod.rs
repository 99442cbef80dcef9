//! The HTTP kernel every page uses: templates and the translation catalogue, the language,
//! CSRF tokens, security headers, embedded assets, the client's address and rate limits, and
//! the one error type with its pages.

pub mod assets;
pub mod checked;
pub mod client;
pub mod cookies;
pub mod csrf;
pub mod error;
pub mod form;
pub mod i18n;
pub mod markup;
pub mod origin;
pub mod params;
pub mod security;
pub mod templates;
pub mod text;
pub mod upload;
pub mod view;

pub use client::{ClientIp, RateLimiter};
pub use error::{AppError, Result};
pub use templates::{Page, Templates};
pub use view::View;

/// `a=1&b=x%20y` from the pairs whose value is not empty, values percent-encoded.
pub fn query_string(pairs: &[(&str, &String)]) -> String {
    pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Whether a `?torna=` target is a path of this site and nothing else: it starts with one `/`,
/// and holds only the characters our own paths use (no `//`, backslash, whitespace or control
/// character, which browsers may read as another host).
pub fn is_local_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/-_.~?=&%".contains(&b))
}

/// The way to the sign-in page at `login`, coming back afterwards to the page asked for (a
/// GET's own address; after a form, `home`).
pub fn to_sign_in(
    parts: &axum::http::request::Parts,
    login: &str,
    home: &str,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let back = if parts.method == axum::http::Method::GET {
        parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or(home)
    } else {
        home
    };
    axum::response::Redirect::to(&format!("{login}?torna={}", encode(back))).into_response()
}

/// Percent-encodes a path for a query parameter.
pub fn encode(path: &str) -> String {
    path.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_plain_local_paths_are_followed() {
        for good in [
            "/",
            "/segnalazioni/nuova",
            "/segui/abc-DEF_1",
            "/ufficio/richieste?stato=received&pagina=2",
        ] {
            assert!(super::is_local_path(good), "{good}");
        }
        for bad in [
            "//evil.example",
            "/\t/evil.example",
            "/\\evil.example",
            "https://evil.example",
            "/a b",
            "evil",
            "/%09/x\u{7f}",
        ] {
            assert!(!super::is_local_path(bad), "{bad:?}");
        }
    }
}
