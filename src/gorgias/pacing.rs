//! Pacing under Gorgias's per-account leaky bucket, shared by every clone of one client.
//!
//! Three brakes, all applied before a request is sent:
//! - a `governor` GCRA bucket: one request per `window / requests_per_window`, with a burst of
//!   `requests_per_window - headroom` (headroom = max(1, n/20), so 2 for 40 per 20 s, 4 for 80),
//!   because other clients of the account fill the same bucket and we cannot see them coming;
//! - the server's own count, `X-Gorgias-Account-Api-Call-Limit: used/limit`: when it says the
//!   bucket holds `limit - headroom` or more, nothing is sent until enough has leaked out to be
//!   back under that mark (`(used + 1 - (limit - headroom)) * window / limit`);
//! - a 429's `Retry-After`: nothing is sent before it has passed.
//!
//! The last two share one "not before" instant. This module never sends anything itself.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota};
use tokio::time::Instant;

/// The longest `Retry-After` honoured: a bogus header must not freeze the daemon for hours.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(600);

/// The shared pacer. See the module docs for the rules.
pub struct Pacer {
    limiter: DefaultDirectRateLimiter,
    not_before: Mutex<Option<Instant>>,
    /// When the requests of the last `window` were let through (for [`Pacer::busy`]).
    sent: Mutex<std::collections::VecDeque<Instant>>,
    requests_per_window: u32,
    window: Duration,
    period: Duration,
    headroom: u32,
}

impl std::fmt::Debug for Pacer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pacer")
            .field("window", &self.window)
            .field("headroom", &self.headroom)
            .field("not_before", &self.blocked_until())
            .finish_non_exhaustive()
    }
}

/// Requests kept in reserve below the limit for the account's other clients.
pub fn headroom(requests_per_window: u32) -> u32 {
    (requests_per_window / 20)
        .max(1)
        .min(requests_per_window.saturating_sub(1))
}

impl Pacer {
    /// A pacer for `requests_per_window` requests per `window`. Errors name the bad value.
    pub fn new(requests_per_window: u32, window: Duration) -> Result<Pacer, String> {
        let n = NonZeroU32::new(requests_per_window)
            .ok_or_else(|| "requests_per_window must be at least 1".to_owned())?;
        let period = window / n.get();
        let burst =
            NonZeroU32::new(n.get() - headroom(n.get())).expect("headroom leaves at least 1");
        let quota = Quota::with_period(period)
            .ok_or_else(|| format!("window {window:?} is too short for {n} requests"))?
            .allow_burst(burst);
        Ok(Pacer {
            limiter: DefaultDirectRateLimiter::direct(quota),
            not_before: Mutex::new(None),
            sent: Mutex::new(std::collections::VecDeque::new()),
            requests_per_window: n.get(),
            window,
            period,
            headroom: headroom(n.get()),
        })
    }

    /// Wait until a request may be sent, then take its slot.
    pub async fn acquire(&self) {
        loop {
            if let Some(t) = self.blocked_until() {
                tokio::time::sleep_until(t).await;
            }
            self.limiter.until_ready().await;
            // A 429 or a full server bucket may have been seen while we waited for the token:
            // wait that out too, then take a fresh token (the old one is simply spent).
            if self.blocked_until().is_none() {
                self.note_sent(Instant::now());
                return;
            }
        }
    }

    fn note_sent(&self, now: Instant) {
        let mut sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
        sent.push_back(now);
        while sent
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) > self.window)
        {
            sent.pop_front();
        }
    }

    /// Whether more than half of the budget went out over the last window: optional requests
    /// (an early poll on a webhook) wait, so that closes and replies keep the rest.
    pub fn busy(&self) -> bool {
        let now = Instant::now();
        let sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
        let recent = sent
            .iter()
            .filter(|t| now.saturating_duration_since(**t) <= self.window)
            .count();
        recent * 2 > self.requests_per_window as usize
    }

    /// The time for one request to leak out of our bucket (`window / requests_per_window`).
    pub fn leak_interval(&self) -> Duration {
        self.period
    }

    /// The instant before which nothing may be sent, if it is still ahead.
    pub fn blocked_until(&self) -> Option<Instant> {
        let guard = self.not_before.lock().unwrap_or_else(|e| e.into_inner());
        guard.filter(|t| *t > Instant::now())
    }

    /// Send nothing for `d` from now (never shortens an existing block).
    pub fn block_for(&self, d: Duration) {
        let until = Instant::now() + d.min(MAX_RETRY_AFTER);
        let mut guard = self.not_before.lock().unwrap_or_else(|e| e.into_inner());
        if guard.is_none_or(|t| t < until) {
            *guard = Some(until);
        }
    }

    /// Sync from `X-Gorgias-Account-Api-Call-Limit: used/limit`; returns the wait it imposed.
    /// A malformed header is ignored.
    pub fn observe_call_limit(&self, header: &str) -> Option<Duration> {
        let wait = call_limit_wait(header, self.window)?;
        self.block_for(wait);
        Some(wait)
    }
}

/// How long to hold off given the server's `used/limit`, leaking `limit` per `window`.
/// `None` when the server's bucket has room (or the header does not parse).
pub fn call_limit_wait(header: &str, window: Duration) -> Option<Duration> {
    let (used, limit) = header.trim().split_once('/')?;
    let used: f64 = used.trim().parse().ok()?;
    let limit: u32 = limit.trim().parse().ok()?;
    if limit == 0 || !used.is_finite() {
        return None;
    }
    let mark = f64::from(limit - headroom(limit));
    if used < mark {
        return None;
    }
    let over = used + 1.0 - mark;
    Some(window.mul_f64(over / f64::from(limit)))
}

/// Parse `Retry-After` as (possibly fractional) seconds; an HTTP date or garbage gives `None`.
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    let secs: f64 = v.trim().parse().ok()?;
    if secs.is_finite() && secs >= 0.0 {
        Some(Duration::from_secs_f64(
            secs.min(MAX_RETRY_AFTER.as_secs_f64()),
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headroom_keeps_two_of_forty_and_never_empties_the_bucket() {
        assert_eq!(headroom(40), 2);
        assert_eq!(headroom(80), 4);
        assert_eq!(headroom(4), 1);
        assert_eq!(headroom(1), 0);
    }

    #[test]
    fn call_limit_header_waits_only_near_the_top() {
        let w = Duration::from_secs(20);
        assert_eq!(call_limit_wait("10/40", w), None);
        assert_eq!(call_limit_wait("37/40", w), None);
        assert_eq!(
            call_limit_wait("38/40", w),
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            call_limit_wait("40/40", w),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(call_limit_wait("garbage", w), None);
        assert_eq!(call_limit_wait("3/0", w), None);
    }

    #[test]
    fn retry_after_parses_seconds_and_caps_them() {
        assert_eq!(parse_retry_after("1"), Some(Duration::from_secs(1)));
        assert_eq!(
            parse_retry_after(" 2.5 "),
            Some(Duration::from_millis(2500))
        );
        assert_eq!(parse_retry_after("99999"), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-1"), None);
    }

    #[test]
    fn zero_requests_or_zero_window_is_rejected() {
        assert!(Pacer::new(0, Duration::from_secs(1)).is_err());
        assert!(Pacer::new(4, Duration::ZERO).is_err());
        assert!(Pacer::new(4, Duration::from_secs(2)).is_ok());
    }

    #[tokio::test]
    async fn block_is_shared_and_never_shortened() {
        let p = Pacer::new(100, Duration::from_secs(1)).unwrap();
        assert!(p.blocked_until().is_none());
        p.block_for(Duration::from_secs(5));
        let first = p.blocked_until().unwrap();
        p.block_for(Duration::from_millis(10));
        assert_eq!(p.blocked_until(), Some(first));
    }

    #[tokio::test]
    async fn busy_once_more_than_half_the_window_went_out() {
        let p = Pacer::new(10, Duration::from_secs(20)).unwrap();
        for _ in 0..5 {
            p.acquire().await;
        }
        assert!(!p.busy(), "5 of 10 is half, not more");
        p.acquire().await;
        assert!(p.busy(), "6 of 10 in the window");
    }
}
