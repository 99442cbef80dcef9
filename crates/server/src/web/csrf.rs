//! CSRF protection for forms without a login: a random nonce in an HttpOnly cookie and, in the
//! form, its HMAC under the installation's secret (shared by every server copy through the
//! database). A cross-site page can neither read the cookie nor compute the HMAC.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

pub const COOKIE: &str = "sportello_csrf";

/// The form token for this browser, and the Set-Cookie value when it has no nonce yet (the
/// cookie is reused across tabs, so several open forms all stay valid).
pub fn issue(
    secret: &[u8],
    headers: &axum::http::HeaderMap,
    secure: bool,
) -> (String, Option<String>) {
    let cookie_name = super::cookies::name(COOKIE, secure);
    let existing = super::cookies::get(headers, &cookie_name)
        .filter(|nonce| nonce.len() == 43)
        .map(str::to_string);
    let nonce = existing.clone().unwrap_or_else(new_nonce);
    let cookie = existing
        .is_none()
        .then(|| super::cookies::set(&cookie_name, &nonce, 7 * 24 * 3600, secure));
    (token_for(secret, &nonce), cookie)
}

/// Whether a public form's token matches this browser's cookie.
pub fn verify_request(
    secret: &[u8],
    headers: &axum::http::HeaderMap,
    token: Option<&str>,
    secure: bool,
) -> bool {
    verify(
        secret,
        super::cookies::get(headers, &super::cookies::name(COOKIE, secure)),
        token,
    )
}

/// Compares without stopping at the first difference, so response timing does not reveal how
/// much of a guess was right (session CSRF tokens, one-time codes, OpenID Connect nonces).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let difference = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(difference) == 0
}

/// A fresh nonce for the cookie.
pub fn new_nonce() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The token a form carries for this nonce.
pub fn token_for(secret: &[u8], nonce: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(nonce.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// Whether the form's token matches the cookie's nonce (constant-time comparison).
pub fn verify(secret: &[u8], nonce: Option<&str>, token: Option<&str>) -> bool {
    let (Some(nonce), Some(token)) = (nonce, token) else {
        return false;
    };
    let Ok(token) = URL_SAFE_NO_PAD.decode(token) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(nonce.as_bytes());
    mac.verify_slice(&token).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_matches_only_its_nonce_and_secret() {
        let nonce = new_nonce();
        let token = token_for(b"secret", &nonce);
        assert!(verify(b"secret", Some(&nonce), Some(&token)));
        assert!(!verify(b"other", Some(&nonce), Some(&token)));
        assert!(!verify(b"secret", Some(&new_nonce()), Some(&token)));
        assert!(!verify(b"secret", None, Some(&token)));
        assert!(!verify(b"secret", Some(&nonce), None));
    }
}
