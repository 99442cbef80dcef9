//! Staff two-factor authentication: time-based one-time passwords (RFC 6238 with HMAC-SHA1,
//! six digits and 30-second steps, the defaults every authenticator app speaks) and the
//! single-use recovery codes a staff member keeps for when the phone is lost.
//!
//! This module owns the arithmetic only: the secret's base32 and `otpauth://` forms, code
//! generation and verification with replay protection, and recovery-code generation and
//! hashing. Storing the secret, the last used step and the recovery-code hashes is the caller's.

use std::fmt;

use hmac::{Hmac, Mac};
use rand::{Rng, RngCore};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::web::csrf::constant_time_eq;

/// Seconds per step; apps assume 30 unless the URI says otherwise, and some ignore the URI.
const STEP_SECONDS: i64 = 30;
/// Digits per code; six is the only length every app supports.
const DIGITS: usize = 6;
const MODULUS: u32 = 10u32.pow(DIGITS as u32);
/// Steps accepted either side of the current one, so a phone clock up to about 30 seconds off
/// (or a code typed just as it rolled over) still works.
const DRIFT_STEPS: i64 = 1;
/// RFC 4226 recommends 160 bits: the HMAC-SHA1 block gains nothing from a longer key.
const SECRET_BYTES: usize = 20;
const BASE32_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Digits and upper-case letters without 0/O, 1/I/L: recovery codes get read off paper and
/// typed by hand, often years later. 31 symbols, so a 10-character code carries ~49.5 bits.
const RECOVERY_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
const RECOVERY_CODE_COUNT: usize = 10;
const RECOVERY_CODE_LEN: usize = 10;

/// The shared key between the server and the staff member's authenticator app.
#[derive(Clone)]
pub struct TotpSecret(Vec<u8>);

/// Redacted, so a stray `{:?}` in a log line cannot leak the second factor.
impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(..)")
    }
}

impl TotpSecret {
    /// A fresh random secret of 20 bytes.
    pub fn generate() -> TotpSecret {
        let mut bytes = vec![0u8; SECRET_BYTES];
        rand::thread_rng().fill_bytes(&mut bytes);
        TotpSecret(bytes)
    }

    /// Parses RFC 4648 base32, case-insensitively, ignoring whitespace and '=' padding (people
    /// paste secrets grouped in fours, lower-cased, or padded). `None` for a character outside
    /// the alphabet, a length no encoder produces (a truncated paste) or an empty secret.
    pub fn from_base32(text: &str) -> Option<TotpSecret> {
        let mut bytes = Vec::with_capacity(text.len() * 5 / 8);
        // Bits not yet emitted; kept below 2^bits so the buffer never overflows.
        let mut buffer: u32 = 0;
        let mut bits: u32 = 0;
        let mut symbols = 0usize;
        for c in text.chars() {
            if c == '=' || c.is_ascii_whitespace() {
                continue;
            }
            buffer = (buffer << 5) | u32::from(base32_value(c)?);
            bits += 5;
            symbols += 1;
            if bits >= 8 {
                bits -= 8;
                bytes.push((buffer >> bits) as u8);
                buffer &= (1 << bits) - 1;
            }
        }
        // Whole bytes encode to 8k + 0, 2, 4, 5 or 7 symbols; the other remainders cannot occur.
        if matches!(symbols % 8, 1 | 3 | 6) || bytes.is_empty() {
            return None;
        }
        Some(TotpSecret(bytes))
    }

    /// RFC 4648 base32, upper case, without padding (apps and the otpauth URI expect none).
    pub fn to_base32(&self) -> String {
        let mut out = String::with_capacity((self.0.len() * 8).div_ceil(5));
        let mut buffer: u32 = 0;
        let mut bits: u32 = 0;
        for &byte in &self.0 {
            buffer = (buffer << 8) | u32::from(byte);
            bits += 8;
            while bits >= 5 {
                bits -= 5;
                out.push(char::from(
                    BASE32_ALPHABET[((buffer >> bits) & 0x1f) as usize],
                ));
            }
            buffer &= (1 << bits) - 1;
        }
        if bits > 0 {
            // The last symbol's missing low bits are zero, as RFC 4648 pads.
            out.push(char::from(
                BASE32_ALPHABET[((buffer << (5 - bits)) & 0x1f) as usize],
            ));
        }
        out
    }

    /// The Key URI an authenticator app scans from a QR code. The issuer appears both as the
    /// label prefix (older apps read only that) and as a parameter (newer apps prefer it).
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> String {
        let issuer = percent_encode(issuer);
        let account = percent_encode(account);
        let secret = self.to_base32();
        format!(
            "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}\
             &algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}"
        )
    }
}

/// The code an app shows at `unix_seconds`: six digits, zero-padded.
pub fn code_at(secret: &TotpSecret, unix_seconds: i64) -> String {
    code_for_step(secret, step_at(unix_seconds))
}

/// Checks a typed code against the current step and one step either side. Whitespace anywhere
/// is ignored (apps display "123 456"); what remains must be exactly six ASCII digits. A step
/// at or before `last_used_step` is refused, so a code seen over a shoulder or in a proxy log
/// cannot be replayed. Returns the matched step, which the caller stores as the new
/// `last_used_step`.
pub fn verify(
    secret: &TotpSecret,
    code: &str,
    unix_seconds: i64,
    last_used_step: Option<i64>,
) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let current = step_at(unix_seconds);
    let mut matched = None;
    // Every candidate is compared (no early return), and if two steps happen to share a code the
    // later one wins: storing the higher step closes the replay window further.
    for delta in -DRIFT_STEPS..=DRIFT_STEPS {
        let Some(step) = current.checked_add(delta) else {
            continue;
        };
        if last_used_step.is_some_and(|last| step <= last) {
            continue;
        }
        if constant_time_eq(code_for_step(secret, step).as_bytes(), code.as_bytes()) {
            matched = Some(step);
        }
    }
    matched
}

/// A fresh set of ten distinct recovery codes, formatted `XXXXX-XXXXX` for reading aloud and
/// copying. Show them once; keep only their hashes.
pub fn recovery_codes() -> Vec<String> {
    let mut rng = rand::thread_rng();
    let mut codes: Vec<String> = Vec::with_capacity(RECOVERY_CODE_COUNT);
    while codes.len() < RECOVERY_CODE_COUNT {
        let code = recovery_code(&mut rng);
        // A repeat is vanishingly unlikely, but it would silently turn two codes into one.
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    codes
}

/// The stored form of a recovery code: SHA-256 hex of the code upper-cased with dashes and
/// whitespace removed, so "abcde-fghjk", "ABCDE FGHJK" and "ABCDEFGHJK" are the same code.
/// A plain hash suffices: the codes are random with ~49.5 bits each, not chosen passwords.
pub fn hash_recovery_code(code: &str) -> String {
    let normalised: String = code
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    hex::encode(Sha256::digest(normalised.as_bytes()))
}

fn step_at(unix_seconds: i64) -> i64 {
    // Euclidean division keeps the steps evenly 30 seconds wide even before 1970.
    unix_seconds.div_euclid(STEP_SECONDS)
}

/// RFC 4226 HOTP with the step as the counter.
fn code_for_step(secret: &TotpSecret, step: i64) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(&secret.0).expect("HMAC takes any key length");
    // The counter is 8 bytes big-endian; a negative step (never in practice) just maps to its
    // two's-complement bytes, which keeps the function total.
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    // Dynamic truncation: the low nibble of the last byte picks 4 bytes; the top bit is dropped
    // so the value reads the same as signed or unsigned.
    let offset = usize::from(digest[digest.len() - 1] & 0x0f);
    let binary = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    format!("{:0width$}", binary % MODULUS, width = DIGITS)
}

fn base32_value(c: char) -> Option<u8> {
    let c = c.to_ascii_uppercase();
    match c {
        'A'..='Z' => Some(c as u8 - b'A'),
        '2'..='7' => Some(c as u8 - b'2' + 26),
        _ => None,
    }
}

/// Percent-encoding for a URI component: RFC 3986 unreserved characters stay, every other
/// UTF-8 byte becomes %XX (so a ':' in the issuer cannot be taken for the label separator).
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for &byte in text.as_bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn recovery_code(rng: &mut impl Rng) -> String {
    let mut code = String::with_capacity(RECOVERY_CODE_LEN + 1);
    for i in 0..RECOVERY_CODE_LEN {
        if i == RECOVERY_CODE_LEN / 2 {
            code.push('-');
        }
        // gen_range is unbiased, unlike a byte taken modulo 31.
        let index = rng.gen_range(0..RECOVERY_ALPHABET.len());
        code.push(char::from(RECOVERY_ALPHABET[index]));
    }
    code
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    /// The RFC 6238 appendix B key for SHA1.
    fn rfc_secret() -> TotpSecret {
        TotpSecret(b"12345678901234567890".to_vec())
    }

    #[test]
    fn codes_match_the_rfc_6238_sha1_vectors() {
        // The RFC lists 8-digit values; six digits are their last six (modulo 10^6).
        let secret = rfc_secret();
        for (time, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
            (20_000_000_000, "353130"),
        ] {
            assert_eq!(code_at(&secret, time), code, "at {time}");
            assert_eq!(verify(&secret, code, time, None), Some(time / STEP_SECONDS));
        }
    }

    #[test]
    fn base32_matches_the_rfc_4648_vectors_and_round_trips() {
        for (plain, encoded) in [
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(TotpSecret(plain.as_bytes().to_vec()).to_base32(), encoded);
            let decoded = TotpSecret::from_base32(encoded).expect("valid base32");
            assert_eq!(decoded.0, plain.as_bytes());
        }

        let secret = TotpSecret::generate();
        assert_eq!(secret.0.len(), 20);
        let again = TotpSecret::from_base32(&secret.to_base32()).expect("own output parses");
        assert_eq!(again.0, secret.0);
        assert_ne!(TotpSecret::generate().0, secret.0);
    }

    #[test]
    fn base32_parsing_forgives_case_spaces_and_padding_but_not_garbage() {
        let secret = TotpSecret::from_base32(" mzxw 6ytb oi====== ").expect("lenient form parses");
        assert_eq!(secret.0, b"foobar");
        assert_eq!(
            TotpSecret::from_base32("MZXW6YTBOI======").map(|s| s.0),
            Some(b"foobar".to_vec())
        );

        assert!(TotpSecret::from_base32("").is_none());
        assert!(TotpSecret::from_base32("  ==== ").is_none());
        assert!(
            TotpSecret::from_base32("MZXW1YTB").is_none(),
            "1 is not base32"
        );
        assert!(
            TotpSecret::from_base32("MZXW0YTB").is_none(),
            "0 is not base32"
        );
        assert!(TotpSecret::from_base32("MZX").is_none(), "truncated");
        assert!(TotpSecret::from_base32("MZXW6Y").is_none(), "truncated");
        assert!(TotpSecret::from_base32("MZXWè").is_none());
    }

    #[test]
    fn the_otpauth_uri_encodes_issuer_and_account() {
        let secret = TotpSecret(b"foobar".to_vec());
        assert_eq!(
            secret.otpauth_uri("Sportello Città", "anna.rossi+1@example.org"),
            "otpauth://totp/Sportello%20Citt%C3%A0:anna.rossi%2B1%40example.org\
             ?secret=MZXW6YTBOI&issuer=Sportello%20Citt%C3%A0\
             &algorithm=SHA1&digits=6&period=30"
        );
        assert_eq!(percent_encode("a:b/c?d~e_f-g.h"), "a%3Ab%2Fc%3Fd~e_f-g.h");
    }

    #[test]
    fn one_step_of_drift_is_accepted_and_two_are_refused() {
        let secret = rfc_secret();
        let now = 1_111_111_111;
        let step = now / STEP_SECONDS;
        assert_eq!(
            verify(&secret, &code_at(&secret, now), now, None),
            Some(step)
        );
        assert_eq!(
            verify(&secret, &code_at(&secret, now - 30), now, None),
            Some(step - 1)
        );
        assert_eq!(
            verify(&secret, &code_at(&secret, now + 30), now, None),
            Some(step + 1)
        );
        assert_eq!(
            verify(&secret, &code_at(&secret, now - 60), now, None),
            None
        );
        assert_eq!(
            verify(&secret, &code_at(&secret, now + 60), now, None),
            None
        );
    }

    #[test]
    fn a_used_step_and_anything_before_it_are_refused() {
        let secret = rfc_secret();
        let now = 1_111_111_111;
        let step = now / STEP_SECONDS;
        let code = code_at(&secret, now);
        assert_eq!(verify(&secret, &code, now, Some(step - 1)), Some(step));
        assert_eq!(verify(&secret, &code, now, Some(step)), None, "replay");
        assert_eq!(
            verify(&secret, &code, now + 30, Some(step)),
            None,
            "replay a step later"
        );
        assert_eq!(
            verify(&secret, &code_at(&secret, now - 30), now, Some(step)),
            None
        );
        assert_eq!(verify(&secret, &code, now, Some(step + 1)), None);
    }

    #[test]
    fn malformed_codes_are_refused_and_whitespace_is_ignored() {
        let secret = rfc_secret();
        assert_eq!(verify(&secret, " 287 082\n", 59, None), Some(1));
        for code in [
            "",
            "      ",
            "28708",
            "2870820",
            "0287082",
            "28708a",
            "+87082",
            "-87082",
            "287-082",
            "２８７０８２",
            "287082\u{0}",
        ] {
            assert_eq!(verify(&secret, code, 59, None), None, "{code:?}");
        }
    }

    #[test]
    fn recovery_codes_are_distinct_unambiguous_and_formatted() {
        let codes = recovery_codes();
        assert_eq!(codes.len(), 10);
        assert_eq!(codes.iter().collect::<HashSet<_>>().len(), 10);
        for code in &codes {
            assert_eq!(code.len(), 11, "{code}");
            for (i, c) in code.chars().enumerate() {
                if i == 5 {
                    assert_eq!(c, '-', "{code}");
                } else {
                    assert!(
                        u8::try_from(c).is_ok_and(|b| RECOVERY_ALPHABET.contains(&b)),
                        "{code}"
                    );
                    assert!(!"0O1IL".contains(c), "{code}");
                }
            }
            assert_eq!(
                hash_recovery_code(code),
                hash_recovery_code(&code.to_lowercase())
            );
        }
        assert_ne!(recovery_codes(), codes);
    }

    #[test]
    fn recovery_code_hashing_normalises_case_dashes_and_spaces() {
        let hash = hash_recovery_code("ABCDEFGHJK");
        assert_eq!(hash.len(), 64);
        assert!(hash
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_eq!(hash_recovery_code("abcde-fghjk"), hash);
        assert_eq!(hash_recovery_code(" ABCDE FGHJK "), hash);
        assert_ne!(hash_recovery_code("ABCDEFGHJM"), hash);
        // SHA-256 of "ABCDEFGHJK" itself, so stored hashes stay valid across refactors.
        assert_eq!(hash, hex::encode(Sha256::digest(b"ABCDEFGHJK")));
    }

    #[test]
    fn the_secret_does_not_show_in_debug_output() {
        assert_eq!(format!("{:?}", rfc_secret()), "TotpSecret(..)");
    }
}
