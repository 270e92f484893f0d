//! Is the daemon alive and polling? The one picture `/healthz` reports ([`Health`], updated
//! after every poll) and the one definition of a stale poll ([`stale_after`]), which
//! `perfectbot status` uses too.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How old the last successful poll may be before the daemon counts as stale (`/healthz` 503,
/// `status` says STALE): five poll intervals, and at least a minute. A few missed polls are
/// normal (a slow Gorgias, backoff after 429s, a long pass through a backlog); a minute of
/// them is not.
pub fn stale_after(poll_interval: Duration) -> Duration {
    poll_interval.saturating_mul(5).max(Duration::from_secs(60))
}

/// Are polls succeeding? Updated by the daemon after every poll, read by `/healthz`.
#[derive(Debug)]
pub struct Health {
    /// A poll older than this ([`stale_after`]) no longer counts as recent.
    stale_after: Duration,
    last: Mutex<LastPoll>,
}

#[derive(Debug, Default)]
struct LastPoll {
    ok_at: Option<Instant>,
    /// Set when the latest poll failed; cleared by the next success.
    failed: Option<String>,
}

impl Health {
    /// A picture with no poll yet, for a daemon that polls every `poll_interval`.
    pub fn new(poll_interval: Duration) -> Health {
        Health {
            stale_after: stale_after(poll_interval),
            last: Mutex::new(LastPoll::default()),
        }
    }

    /// The latest poll worked.
    pub fn poll_succeeded(&self) {
        let mut last = self.last.lock().expect("health mutex poisoned");
        last.ok_at = Some(Instant::now());
        last.failed = None;
    }

    /// The latest poll failed with `error`.
    pub fn poll_failed(&self, error: &str) {
        // The error may quote a response: /healthz shows an excerpt.
        let error = crate::ledger::excerpt(error, 1024).into_owned();
        self.last.lock().expect("health mutex poisoned").failed = Some(error);
    }

    /// `Ok` while the latest poll succeeded recently; otherwise why not, in words.
    pub fn check(&self) -> Result<(), String> {
        self.check_at(Instant::now())
    }

    fn check_at(&self, now: Instant) -> Result<(), String> {
        let last = self.last.lock().expect("health mutex poisoned");
        if let Some(e) = &last.failed {
            return Err(format!("last poll failed: {e}"));
        }
        let Some(ok_at) = last.ok_at else {
            return Err("no successful poll yet".into());
        };
        let age = now.saturating_duration_since(ok_at);
        if age > self.stale_after {
            return Err(format!("last successful poll {}s ago", age.as_secs()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_needs_a_first_poll() {
        let h = Health::new(Duration::from_secs(10));
        assert_eq!(h.check(), Err("no successful poll yet".to_string()));
        h.poll_succeeded();
        assert_eq!(h.check(), Ok(()));
    }

    #[test]
    fn health_reports_the_failure_until_a_poll_succeeds() {
        let h = Health::new(Duration::from_secs(10));
        h.poll_succeeded();
        h.poll_failed("GET /api/views/0/items: 503");
        assert_eq!(
            h.check(),
            Err("last poll failed: GET /api/views/0/items: 503".to_string())
        );
        h.poll_succeeded();
        assert_eq!(h.check(), Ok(()));
    }

    #[test]
    fn health_goes_stale_after_five_intervals_or_a_minute() {
        let h = Health::new(Duration::from_secs(10));
        h.poll_succeeded();
        let ok_at = h.last.lock().unwrap().ok_at.unwrap();
        assert_eq!(h.check_at(ok_at + Duration::from_secs(40)), Ok(()));
        assert_eq!(
            h.check_at(ok_at + Duration::from_secs(95)),
            Err("last successful poll 95s ago".to_string())
        );
        assert_eq!(h.check_at(ok_at + Duration::from_secs(59)), Ok(()));
        assert!(h.check_at(ok_at + Duration::from_secs(61)).is_err());
        assert_eq!(stale_after(Duration::from_secs(1)), Duration::from_secs(60));
        assert_eq!(
            stale_after(Duration::from_secs(20)),
            Duration::from_secs(100)
        );
    }
}
