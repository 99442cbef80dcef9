//! Transactions that meet a deadlock, a lock-wait timeout or (on Galera) a certification
//! conflict are rolled back whole by the database; running them again is the documented cure.
//! `retry` does that, a bounded number of times with jittered backoff, so a collision is never
//! shown to a person nor stops a processor.

use std::future::Future;
use std::time::Duration;

use rand::Rng;

/// Attempts in all, the first included.
const ATTEMPTS: u32 = 8;
/// The first pause; it doubles with each attempt, at most `MAX_PAUSE`, and is jittered.
const FIRST_PAUSE: Duration = Duration::from_millis(4);
const MAX_PAUSE: Duration = Duration::from_millis(250);

/// An error that may clear if the transaction runs again.
pub trait Transient {
    fn is_transient(&self) -> bool;
}

/// MariaDB's and MySQL's "run it again" errors: 1213 deadlock (also Galera's certification
/// failure), 1205 lock-wait timeout, 1020 "record has changed since last read".
pub fn is_transient_sqlx(error: &sqlx::Error) -> bool {
    let sqlx::Error::Database(database) = error else {
        return false;
    };
    match database.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        Some(mysql) => matches!(mysql.number(), 1213 | 1205 | 1020),
        None => database.code().as_deref() == Some("40001"),
    }
}

impl Transient for sqlx::Error {
    fn is_transient(&self) -> bool {
        is_transient_sqlx(self)
    }
}

impl Transient for crate::ProjectionError {
    fn is_transient(&self) -> bool {
        match self {
            crate::ProjectionError::Database(error) => is_transient_sqlx(error),
            _ => false,
        }
    }
}

impl Transient for anyhow::Error {
    fn is_transient(&self) -> bool {
        self.chain().any(|cause| {
            cause
                .downcast_ref::<sqlx::Error>()
                .is_some_and(is_transient_sqlx)
                || cause
                    .downcast_ref::<crate::ProjectionError>()
                    .is_some_and(Transient::is_transient)
        })
    }
}

/// Runs `attempt` (a whole transaction: begin … commit) until it succeeds, fails for another
/// reason, or has met a transient conflict `ATTEMPTS` times. `what` names it in the log.
pub async fn retry<T, E, F, Fut>(what: &'static str, mut attempt: F) -> Result<T, E>
where
    E: Transient + std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut tries = 1;
    loop {
        match attempt().await {
            Err(error) if tries < ATTEMPTS && error.is_transient() => {
                tracing::debug!(what, tries, %error, "transient database conflict; trying again");
                tokio::time::sleep(pause(tries)).await;
                tries += 1;
            }
            Err(error) if error.is_transient() => {
                tracing::warn!(what, tries, %error, "transient database conflict, tries exhausted");
                return Err(error);
            }
            outcome => return outcome,
        }
    }
}

/// A random pause between half and all of the doubled delay.
fn pause(tries: u32) -> Duration {
    let full = FIRST_PAUSE
        .saturating_mul(2u32.saturating_pow(tries.saturating_sub(1)))
        .min(MAX_PAUSE);
    let half = full / 2;
    half + Duration::from_micros(rand::thread_rng().gen_range(0..=half.as_micros() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Busy(bool);
    impl std::fmt::Display for Busy {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "busy")
        }
    }
    impl Transient for Busy {
        fn is_transient(&self) -> bool {
            self.0
        }
    }

    #[tokio::test]
    async fn a_transient_conflict_is_tried_again_and_a_lasting_one_gives_up() {
        let mut calls = 0;
        let outcome: Result<u32, Busy> = retry("test", || {
            calls += 1;
            let now = calls;
            async move {
                if now < 3 {
                    Err(Busy(true))
                } else {
                    Ok(now)
                }
            }
        })
        .await;
        assert_eq!(outcome.unwrap(), 3);

        let mut calls = 0;
        let outcome: Result<(), Busy> = retry("test", || {
            calls += 1;
            async { Err(Busy(true)) }
        })
        .await;
        assert!(outcome.is_err());
        assert_eq!(calls, ATTEMPTS);

        let mut calls = 0;
        let outcome: Result<(), Busy> = retry("test", || {
            calls += 1;
            async { Err(Busy(false)) }
        })
        .await;
        assert!(outcome.is_err());
        assert_eq!(calls, 1, "another error is not retried");
    }

    #[test]
    fn pauses_grow_and_stay_bounded() {
        for tries in 1..20 {
            let p = pause(tries);
            assert!(p <= MAX_PAUSE, "{p:?}");
            assert!(p >= FIRST_PAUSE / 2);
        }
    }
}
