//! Wall-clock time, injected. Nothing that decides by the time of day reads the system clock
//! directly: it takes a `&dyn Clock` (or a `now` argument), so tests can fix or move time.
//! Scheduling time (sleeps, intervals, timeouts) stays with `tokio::time`, but every wait that
//! stands for a span of the clock's time goes through [`Clock::real`]: the bench runs the
//! daemon, the client and the simulator on a [`FastClock`] so that hours of traffic at the real
//! rate limit pass in minutes, with every ratio (budget, poll interval, close delay) intact.

use jiff::{SignedDuration, Timestamp};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A source of the current wall-clock time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current instant.
    fn now(&self) -> Timestamp;
    /// Seconds of this clock per real second: 1 except for a [`FastClock`].
    fn speed(&self) -> u32 {
        1
    }
    /// How long a sleep must really last for `d` of this clock's time to pass.
    fn real(&self, d: Duration) -> Duration {
        d / self.speed().max(1)
    }
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that runs `speed` times faster than real time from the moment it is made; for the
/// bench. Everything that shares it (daemon, client pacer, simulator bucket) is sped up alike.
#[derive(Debug, Clone)]
pub struct FastClock {
    speed: u32,
    started: Instant,
    at: Timestamp,
}

impl FastClock {
    /// A clock reading the real time now and then running `speed` times faster (at least 1).
    pub fn new(speed: u32) -> Self {
        FastClock {
            speed: speed.max(1),
            started: Instant::now(),
            at: Timestamp::now(),
        }
    }
}

impl Clock for FastClock {
    fn now(&self) -> Timestamp {
        let real = self.started.elapsed();
        let fast = SignedDuration::try_from(real * self.speed).unwrap_or(SignedDuration::MAX);
        self.at.checked_add(fast).unwrap_or(Timestamp::MAX)
    }
    fn speed(&self) -> u32 {
        self.speed
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_clock_runs_speed_times_faster_and_shortens_real_waits() {
        let c = FastClock::new(50);
        let t0 = c.now();
        let real = Instant::now();
        std::thread::sleep(Duration::from_millis(40));
        let clock_ms = (c.now() - t0).as_millis_f64();
        let real_ms = real.elapsed().as_secs_f64() * 1000.0;
        // At least 50x the real time slept; never less (no timing upper bound on a busy box).
        assert!(
            clock_ms >= 50.0 * 40.0,
            "{clock_ms} ms of clock time in {real_ms} ms"
        );
        assert_eq!(c.real(Duration::from_secs(20)), Duration::from_millis(400));
        assert_eq!(
            SystemClock.real(Duration::from_secs(20)),
            Duration::from_secs(20)
        );
        assert_eq!(FastClock::new(0).speed(), 1);
    }
}
