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

/// The close deadlines this process armed, each with the monotonic instant it stands for, so
/// that a step of the wall clock (NTP, a VM resumed, an operator) never closes a ticket early:
/// a close fires only once both the wall clock and the monotonic clock say it is due. After a
/// restart the map is empty and the wall clock (the ledger's deadlines) is all there is.
#[derive(Debug, Default)]
pub struct CloseTimers {
    armed: Mutex<std::collections::HashMap<u64, (Timestamp, tokio::time::Instant)>>,
}

impl CloseTimers {
    /// Records the ticket's close deadline as decided at wall time `now`, to fire `real` later
    /// on the monotonic clock (`real` is the wait in real time: see [`Clock::real`]). A
    /// deadline already armed is kept as first armed; `None` forgets the ticket.
    pub fn arm(&self, ticket_id: u64, deadline: Option<Timestamp>, real: Duration) {
        let mut armed = self.lock();
        match deadline {
            None => {
                armed.remove(&ticket_id);
            }
            Some(d) if armed.get(&ticket_id).is_some_and(|(at, _)| *at == d) => {}
            Some(d) => {
                let now = tokio::time::Instant::now();
                // Tickets can leave without being looked at again (deleted, forgotten): drop
                // the entries whose wait is over once there are many, so the map stays small.
                if armed.len() >= PRUNE_AT {
                    armed.retain(|_, (_, mono)| *mono > now);
                }
                let mono = now.checked_add(real).unwrap_or_else(far_future);
                armed.insert(ticket_id, (d, mono));
            }
        }
    }

    /// How much longer the monotonic clock says to wait before closing the ticket at its
    /// `deadline`; `None` when nothing holds it (not armed here, armed for another deadline,
    /// or the wait is over).
    pub fn held(&self, ticket_id: u64, deadline: Option<Timestamp>) -> Option<Duration> {
        let armed = self.lock();
        let (at, mono) = armed.get(&ticket_id)?;
        if Some(*at) != deadline {
            return None;
        }
        let left = mono.saturating_duration_since(tokio::time::Instant::now());
        (!left.is_zero()).then_some(left)
    }

    /// The shortest monotonic wait among the deadlines the wall clock already says are due
    /// (`now`), for the worker's wake-up; entries whose wait is over are dropped.
    pub fn shortest_hold(&self, now: Timestamp) -> Option<Duration> {
        let mut armed = self.lock();
        let mono_now = tokio::time::Instant::now();
        armed.retain(|_, (_, mono)| *mono > mono_now);
        armed
            .values()
            .filter(|(at, _)| *at <= now)
            .map(|(_, mono)| mono.saturating_duration_since(mono_now))
            .min()
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<u64, (Timestamp, tokio::time::Instant)>>
    {
        self.armed.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The size at which [`CloseTimers::arm`] drops entries that no longer hold anything.
const PRUNE_AT: usize = 4096;

/// An instant about 30 years ahead: "never" for a wait that does not fit in an `Instant`.
fn far_future() -> tokio::time::Instant {
    let now = tokio::time::Instant::now();
    now.checked_add(Duration::from_secs(30 * 365 * 86_400))
        .unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_close_waits_for_the_monotonic_clock_whatever_the_wall_clock_says() {
        let timers = CloseTimers::default();
        let wall: Timestamp = "2026-11-23T10:00:00Z".parse().unwrap();
        let deadline = wall + SignedDuration::from_secs(60);
        timers.arm(7, Some(deadline), Duration::from_secs(60));
        // The wall clock jumps two hours: the deadline is past by the wall, not by the monotonic
        // clock.
        let jumped = wall + SignedDuration::from_hours(2);
        let held = timers.held(7, Some(deadline)).expect("held");
        assert!(held > Duration::from_secs(30) && held <= Duration::from_secs(60));
        assert!(timers.shortest_hold(jumped).is_some());
        // Not yet due by the wall clock: nothing for the wake-up to wait on.
        assert_eq!(timers.shortest_hold(wall), None);
        // Re-arming the same deadline keeps the first instant; another deadline (the ticket was
        // answered again) is not held by the old one.
        timers.arm(7, Some(deadline), Duration::from_secs(3600));
        assert!(timers.held(7, Some(deadline)).expect("held") <= Duration::from_secs(60));
        assert_eq!(timers.held(7, Some(jumped)), None);
        // Unknown tickets (a restart) are not held; a huge wait does not overflow.
        assert_eq!(timers.held(8, Some(deadline)), None);
        timers.arm(9, Some(deadline), Duration::MAX);
        assert!(timers.held(9, Some(deadline)).is_some());
        timers.arm(9, None, Duration::ZERO);
        assert_eq!(timers.held(9, Some(deadline)), None);
        // Entries whose wait is over are dropped once there are many.
        for id in 100..100 + PRUNE_AT as u64 {
            timers.arm(id, Some(deadline), Duration::ZERO);
        }
        timers.arm(1, Some(deadline), Duration::from_secs(60));
        assert!(timers.lock().len() < 10, "{}", timers.lock().len());
        // Once the monotonic wait is over, the close is free.
        timers.arm(10, Some(deadline), Duration::from_millis(20));
        let until = Instant::now() + Duration::from_secs(10);
        while timers.held(10, Some(deadline)).is_some() {
            assert!(Instant::now() < until, "the hold never ended");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

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
