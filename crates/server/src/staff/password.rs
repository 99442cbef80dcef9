//! Password hashing with Argon2id (the crate's defaults: 19 MiB, 2 passes), and the rules a
//! new password must meet.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

/// A hash to compare with when the account does not exist, so that an unknown e-mail costs the
/// same time as a wrong password (no user enumeration by timing).
const DECOY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c3BvcnRlbGxvZGVjb3k$0kqz9JzOG3nq1YF9p6N2c6W8PpJgkcWbdQwL5t3J8bY";

pub fn hash(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashing in memory")
        .to_string()
}

/// Whether `password` matches `hash`; with no hash, compares with a decoy and says no.
pub fn verify(password: &str, hash: Option<&str>) -> bool {
    let stored = hash.unwrap_or(DECOY);
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let matches = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    matches && hash.is_some()
}

/// `verify` off the async workers (Argon2 takes tens of milliseconds of CPU).
pub async fn verify_off_thread(password: &str, hash: Option<String>) -> crate::web::Result<bool> {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || verify(&password, hash.as_deref()))
        .await
        .map_err(crate::web::AppError::internal)
}

/// At least 12 characters, not all of one kind of character.
pub fn check_strength(password: &str) -> Result<(), &'static str> {
    if password.chars().count() < 12 {
        return Err("the password must have at least 12 characters");
    }
    if password
        .chars()
        .all(|c| c == password.chars().next().unwrap_or(' '))
    {
        return Err("the password is too simple");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_against_its_hash_only() {
        let stored = hash("correct horse battery");
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", Some(&stored)));
        assert!(!verify("wrong horse battery", Some(&stored)));
        assert!(!verify("correct horse battery", None));
    }

    #[test]
    fn the_decoy_is_a_valid_argon2_hash() {
        assert!(PasswordHash::new(DECOY).is_ok());
    }

    #[test]
    fn short_or_trivial_passwords_are_refused() {
        assert!(check_strength("short").is_err());
        assert!(check_strength("aaaaaaaaaaaaaaa").is_err());
        assert!(check_strength("una frase lunga abbastanza").is_ok());
    }
}
