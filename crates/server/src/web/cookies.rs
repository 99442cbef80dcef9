//! Reading the Cookie header and writing Set-Cookie values, with the attributes every cookie of
//! ours carries (HttpOnly, SameSite, Secure behind HTTPS).

use axum::http::HeaderMap;

/// The value of cookie `name` in the request, if sent.
pub fn get<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// The name a security cookie goes by: behind HTTPS with the `__Host-` prefix, which browsers
/// accept only from this host over a secure connection with `Path=/` and no `Domain` — so a
/// sibling subdomain cannot plant one.
pub fn name(base: &str, secure: bool) -> String {
    if secure {
        format!("__Host-{base}")
    } else {
        base.to_string()
    }
}

/// A Set-Cookie value. `secure` follows the public URL's scheme, so local HTTP trials work.
pub fn set(name: &str, value: &str, max_age_seconds: u64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; Max-Age={max_age_seconds}; HttpOnly; SameSite=Lax{secure}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_cookie_among_several() {
        let mut headers = HeaderMap::new();
        headers.insert("cookie", "a=1; sportello_lang=en; b=2".parse().unwrap());
        assert_eq!(get(&headers, "sportello_lang"), Some("en"));
        assert_eq!(get(&headers, "missing"), None);
    }
}
