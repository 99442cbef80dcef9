//! Reply addresses: every mail about a request says `Reply-To: urp+r<token>@…`, where the token
//! is 128 bits of HMAC-SHA-256 of the request's id under a secret every copy shares. The token is
//! stored only as its SHA-256, beside the request it names: a reply finds its request by it, a
//! guessed or altered one finds nothing, and the reference number plays no part.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use sqlx::{MySqlConnection, MySqlPool};

const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// The request's reply token: 26 characters of base32 (128 bits and two more).
pub fn token(secret: &[u8], aggregate_id: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("any key length");
    mac.update(b"reply-to:");
    mac.update(aggregate_id.as_bytes());
    let bytes = mac.finalize().into_bytes();
    base32(&bytes[..17])[..26].to_string()
}

fn base32(bytes: &[u8]) -> String {
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// `user+r<token>@domain` of the sender address `from`.
pub fn address(from: &lettre::Address, token: &str) -> lettre::Address {
    format!("{}+r{token}@{}", from.user(), from.domain())
        .parse()
        .expect("a tag of base32 letters keeps an address valid")
}

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Remembers the token of a request (once; again is harmless).
pub async fn remember(
    conn: &mut MySqlConnection,
    token: &str,
    aggregate_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT IGNORE INTO reply_tokens (token_hash, aggregate_id) VALUES (?, ?)")
        .bind(hash(token))
        .bind(aggregate_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The request a reply token names, if any.
pub async fn find(pool: &MySqlPool, token: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT aggregate_id FROM reply_tokens WHERE token_hash = ?")
        .bind(hash(token))
        .fetch_optional(pool)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_long_enough_stable_and_different_for_each_request_and_secret() {
        let a = token(b"secret", "7d0b6a7e-0000-0000-0000-000000000001");
        assert_eq!(a.len(), 26);
        assert!(a.bytes().all(|b| ALPHABET.contains(&b)));
        assert_eq!(a, token(b"secret", "7d0b6a7e-0000-0000-0000-000000000001"));
        assert_ne!(a, token(b"secret", "7d0b6a7e-0000-0000-0000-000000000002"));
        assert_ne!(a, token(b"other", "7d0b6a7e-0000-0000-0000-000000000001"));
    }

    #[test]
    fn the_reply_address_keeps_the_mailbox_and_adds_the_tag() {
        let from: lettre::Address = "urp@comune.test".parse().unwrap();
        let reply = address(&from, "abcdefghijklmnopqrstuvwxyz");
        assert_eq!(
            reply.to_string(),
            "urp+rabcdefghijklmnopqrstuvwxyz@comune.test"
        );
    }

    #[test]
    fn base32_matches_rfc_4648() {
        assert_eq!(base32(b"foobar"), "mzxw6ytboi");
        assert_eq!(base32(b"f"), "my");
    }
}
