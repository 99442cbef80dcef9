//! Who is calling: the client's address (believing X-Forwarded-For only from configured proxies)
//! and a per-client rate limit. The limit lives in this process: each server copy counts on its
//! own, which bounds abuse per copy (stated in docs/operations.md).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::request::Parts;

use crate::config::Config;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp
where
    std::sync::Arc<Config>: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<ClientIp, Self::Rejection> {
        let config = std::sync::Arc::<Config>::from_ref(state);
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip())
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let forwarded = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|value| value.to_str().ok());
        Ok(ClientIp(client_address(
            peer,
            forwarded,
            &config.trusted_proxies,
        )))
    }
}

/// The first address, walking X-Forwarded-For from the right, that is not a trusted proxy.
pub fn client_address(peer: IpAddr, forwarded: Option<&str>, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let hops = forwarded
        .unwrap_or("")
        .split(',')
        .rev()
        .filter_map(|hop| hop.trim().parse::<IpAddr>().ok());
    let mut client = peer;
    for hop in hops {
        client = hop;
        if !trusted.contains(&hop) {
            break;
        }
    }
    client
}

/// At most `limit` events per client in a window, counted in fixed windows; a client is an
/// address (the submission and sign-in limits) or an API client's id.
pub struct RateLimiter<K = IpAddr> {
    limit: u32,
    window: Duration,
    counts: Mutex<HashMap<K, (Instant, u32)>>,
}

impl RateLimiter<IpAddr> {
    pub fn per_hour(limit: u32) -> RateLimiter {
        RateLimiter::new(limit, Duration::from_secs(3600))
    }
}

impl<K: std::hash::Hash + Eq> RateLimiter<K> {
    pub fn new(limit: u32, window: Duration) -> RateLimiter<K> {
        RateLimiter {
            limit,
            window,
            counts: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one attempt; `false` once the client is over the limit.
    pub fn allow(&self, client: K) -> bool {
        self.check(client).is_ok()
    }

    /// Counts one attempt; once the client is over the limit, how long until its window ends.
    pub fn check(&self, client: K) -> Result<(), Duration> {
        let now = Instant::now();
        let mut counts = self.counts.lock().expect("rate limiter lock");
        if counts.len() > 100_000 {
            counts.retain(|_, (start, _)| now.duration_since(*start) < self.window);
        }
        let entry = counts.entry(client).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        entry.1 += 1;
        if entry.1 <= self.limit {
            Ok(())
        } else {
            Err(self.window.saturating_sub(now.duration_since(entry.0)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn forwarded_headers_count_only_from_trusted_proxies() {
        let proxy = ip("10.0.0.1");
        assert_eq!(
            client_address(ip("203.0.113.9"), Some("1.2.3.4"), &[proxy]),
            ip("203.0.113.9")
        );
        assert_eq!(
            client_address(proxy, Some("1.2.3.4"), &[proxy]),
            ip("1.2.3.4")
        );
        assert_eq!(
            client_address(proxy, Some("6.6.6.6, 1.2.3.4"), &[proxy]),
            ip("1.2.3.4")
        );
        assert_eq!(client_address(proxy, None, &[proxy]), proxy);
    }

    #[test]
    fn the_limit_counts_per_client() {
        let limiter = RateLimiter::per_hour(2);
        assert!(limiter.allow(ip("1.1.1.1")) && limiter.allow(ip("1.1.1.1")));
        assert!(!limiter.allow(ip("1.1.1.1")));
        assert!(limiter.allow(ip("2.2.2.2")));
    }
}
