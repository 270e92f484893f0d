//! Wall-clock time, injected. Nothing that decides by the time of day reads the system clock
//! directly: it takes a `&dyn Clock` (or a `now` argument), so tests can fix or move time.
//! Scheduling time (sleeps, intervals, timeouts) stays with `tokio::time`.

use jiff::{SignedDuration, Timestamp};
use std::sync::{Arc, Mutex};

/// A source of the current wall-clock time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current instant.
    fn now(&self) -> Timestamp;
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that only moves when told to; for tests.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<Timestamp>>);

impl ManualClock {
    /// A clock standing at `at`.
    pub fn new(at: Timestamp) -> Self {
        Self(Arc::new(Mutex::new(at)))
    }
    /// Move the clock forward (or back, with a negative duration).
    pub fn advance(&self, by: SignedDuration) {
        let mut t = self.0.lock().expect("clock mutex poisoned");
        *t = t.checked_add(by).expect("clock overflow");
    }
    /// Set the clock to `at`.
    pub fn set(&self, at: Timestamp) {
        *self.0.lock().expect("clock mutex poisoned") = at;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().expect("clock mutex poisoned")
    }
}
