//! A value read from the database and kept by one server copy for a short, bounded time: what
//! every page needs and rarely changes (the organisation's settings) is not read again for each
//! page. A change saved through this copy is seen at once; one saved through another copy within
//! `STALENESS`.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How old a kept value may be: a change made on another copy holds everywhere within it.
pub const STALENESS: Duration = Duration::from_secs(1);

pub struct Recent<T> {
    kept: Mutex<Option<(Instant, T)>>,
}

impl<T> Default for Recent<T> {
    fn default() -> Self {
        Recent {
            kept: Mutex::new(None),
        }
    }
}

impl<T: Clone> Recent<T> {
    /// The kept value if it is younger than `STALENESS`, else what `load` reads now (kept for
    /// the next callers). Two callers may both load at the moment it expires; both are right.
    pub async fn get<E, F, Fut>(&self, load: F) -> Result<T, E>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<T, E>>,
    {
        if let Some((at, value)) = self.kept.lock().expect("recent value lock").as_ref() {
            if at.elapsed() < STALENESS {
                return Ok(value.clone());
            }
        }
        let read_at = Instant::now();
        let value = load().await?;
        *self.kept.lock().expect("recent value lock") = Some((read_at, value.clone()));
        Ok(value)
    }

    /// Forgets the kept value (this copy just changed it).
    pub fn forget(&self) {
        *self.kept.lock().expect("recent value lock") = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_value_is_read_once_while_fresh_and_again_when_forgotten_or_old() {
        let recent: Recent<u32> = Recent::default();
        let mut reads = 0;
        for _ in 0..3 {
            let value: Result<u32, ()> = recent
                .get(|| {
                    reads += 1;
                    async { Ok(7) }
                })
                .await;
            assert_eq!(value, Ok(7));
        }
        assert_eq!(reads, 1);
        recent.forget();
        let _: Result<u32, ()> = recent
            .get(|| {
                reads += 1;
                async { Ok(8) }
            })
            .await;
        assert_eq!(reads, 2);
        *recent.kept.lock().unwrap() = Some((Instant::now() - STALENESS, 8));
        let again: Result<u32, ()> = recent
            .get(|| {
                reads += 1;
                async { Ok(9) }
            })
            .await;
        assert_eq!((again, reads), (Ok(9), 3));
    }
}
