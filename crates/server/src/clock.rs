//! The one source of "now". Production reads the system clock; tests set and move it.

use std::sync::{Arc, RwLock};

use chrono::{DateTime, Duration, Utc};

#[derive(Clone, Default)]
pub struct Clock {
    /// `None` reads the system clock; `Some` is a fixed instant a test controls.
    fixed: Arc<RwLock<Option<DateTime<Utc>>>>,
}

impl Clock {
    pub fn system() -> Clock {
        Clock::default()
    }

    pub fn fixed(at: DateTime<Utc>) -> Clock {
        Clock {
            fixed: Arc::new(RwLock::new(Some(at))),
        }
    }

    // The one place that reads the wall clock (clippy.toml forbids it elsewhere).
    #[allow(clippy::disallowed_methods)]
    pub fn now(&self) -> DateTime<Utc> {
        self.fixed
            .read()
            .expect("clock lock")
            .unwrap_or_else(Utc::now)
    }

    /// Moves a fixed clock forward (tests only; the system clock moves by itself).
    pub fn advance(&self, by: Duration) {
        let mut fixed = self.fixed.write().expect("clock lock");
        if let Some(at) = fixed.as_mut() {
            *at += by;
        }
    }
}
