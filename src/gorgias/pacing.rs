//! Pacing under Gorgias's per-account leaky bucket, shared by every clone of one client.
//!
//! Three brakes, all applied before a request is sent:
//! - a GCRA bucket ([`Bucket`]): one request per `window / requests_per_window`, with a burst of
//!   `requests_per_window - headroom` (headroom = max(1, n/20), so 2 for 40 per 20 s, 4 for 80),
//!   because other clients of the account fill the same bucket and we cannot see them coming;
//!   the last [`close_reserve`] slots of that burst are the close lane's alone;
//! - the server's own count, `X-Gorgias-Account-Api-Call-Limit: used/limit`: when it says the
//!   bucket holds `limit - headroom` or more, nothing is sent until enough has leaked out to be
//!   back under that mark (`(used + 1 - (limit - headroom)) * window / limit`);
//! - a 429's `Retry-After`: nothing is sent before it has passed.
//!
//! The last two share one "not before" instant. This module never sends anything itself.
//!
//! Requests wait in three lanes ([`Lane`]): while a waiter of a higher lane is due to take the
//! next slot, the lower lanes let it, so a close never waits behind the reads and polls queued
//! before it. And the reads and other writes leave the last few slots of the bucket free, so a
//! close that falls due while the budget is in use finds its read, tag write and close's slots
//! at once instead of one every `window / requests_per_window`. A waiter that does not come back for its slot within [`GRACE`] (a request future
//! left unpolled) stops holding the others. Every lane draws on the one bucket: priority
//! reorders the queue, it never adds a request.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// The longest `Retry-After` honoured: a bogus header must not freeze the daemon for hours.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(600);

/// Which queue a request waits in; a higher lane takes the next free slot first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Lane {
    /// Reads and list polls: they start new work, so they may wait.
    Read = 0,
    /// Other writes (a reply, an assignment): they finish work someone waits for.
    Write = 1,
    /// A close and the tag writes around it: due at an exact instant, they go first.
    Close = 2,
}

impl Lane {
    const ALL: usize = 3;

    /// The lane of one Gorgias request, from its route: a close (`PUT /api/tickets/{id}` with
    /// `status: closed`) and any ticket tag write go first; reads (`GET`) and list polls
    /// (`PUT /api/views/{id}/items`) last; every other write in between.
    pub fn of_request(method: &str, path: &str, body: Option<&serde_json::Value>) -> Lane {
        let ticket_part = path.strip_prefix("/api/tickets/");
        let is_ticket = ticket_part.is_some_and(|id| id.bytes().all(|b| b.is_ascii_digit()));
        let is_tags = ticket_part.is_some_and(|rest| {
            rest.strip_suffix("/tags")
                .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
        });
        let is_listing = path.starts_with("/api/views/") && path.ends_with("/items");
        match method {
            "GET" | "HEAD" => Lane::Read,
            "PUT" if is_listing => Lane::Read,
            "PUT" if is_ticket && body.is_some_and(|b| b["status"] == "closed") => Lane::Close,
            "POST" | "DELETE" if is_tags => Lane::Close,
            _ => Lane::Write,
        }
    }

    /// This lane, or the caller's [`in_lane`] scope if that is higher.
    pub fn raised_by_scope(self) -> Lane {
        SCOPE.try_with(|l| (*l).max(self)).unwrap_or(self)
    }
}

tokio::task_local! {
    static SCOPE: Lane;
}

/// Run `fut` with every Gorgias request it makes in `lane` at least: a due close's read
/// before its writes goes first too when the caller wraps the whole close in `Lane::Close`.
pub async fn in_lane<F: std::future::Future>(lane: Lane, fut: F) -> F::Output {
    SCOPE.scope(lane, fut).await
}

/// How long a waiter may be late for a slot it was due to take before the lanes below stop
/// deferring to it: a request future that was polled once and then left unpolled (held in a
/// `select!` while its caller does other work) must not hold the others back.
pub const GRACE: Duration = Duration::from_millis(250);

/// The requests waiting for a slot: each with its lane and the instant by which it will have
/// looked again (when it wakes, plus [`GRACE`]).
#[derive(Debug, Default)]
struct Queue {
    next: u64,
    waiters: Vec<(u64, Lane, Instant)>,
}

impl Queue {
    /// The latest instant to which a waiter in `lane` defers: while a waiter of a higher lane is
    /// due to look again, the lower ones let it go first. `None` when nothing higher is waiting.
    fn defer_until(&self, lane: Lane, now: Instant) -> Option<Instant> {
        self.waiters
            .iter()
            .filter(|(_, l, by)| *l > lane && *by >= now)
            .map(|(_, _, by)| *by)
            .max()
    }

    fn set(&mut self, id: u64, by: Instant) {
        if let Some(w) = self.waiters.iter_mut().find(|w| w.0 == id) {
            w.2 = by;
        }
    }
}

/// Slots at the top of the bucket only [`Lane::Close`] may take: one due close's requests (its
/// read, the tag write, the close). The reads and other writes stop that many short of the
/// burst, so a close does not queue for slots leaking out one every `window / n` (1.5 s for
/// its three at 40 per 20 s). The rate stays the bucket's; only the burst left to the other
/// lanes is smaller.
pub const CLOSE_RESERVE: u32 = 3;

/// The close lane's reserve for a bucket of `burst`: [`CLOSE_RESERVE`], at most an eighth of
/// the burst (so a small budget keeps its burst for everyone; 0 below 8).
pub fn close_reserve(burst: u32) -> u32 {
    CLOSE_RESERVE.min(burst / 8)
}

/// The reserve while `closes` are due soon ([`Pacer::reserve_for_closes`]): each close's
/// [`CLOSE_RESERVE`] requests, at least the standing [`close_reserve`], at most half the burst
/// (the other lanes keep the rest of it and the whole rate).
pub fn reserve_for(burst: u32, closes: usize) -> u32 {
    let wanted = u32::try_from(closes)
        .unwrap_or(u32::MAX)
        .saturating_mul(CLOSE_RESERVE);
    wanted.min(burst / 2).max(close_reserve(burst))
}

/// A GCRA bucket ("theoretical arrival time"): a slot every `period`, up to `burst` at once.
#[derive(Debug)]
struct Bucket {
    /// When the bucket will be empty again (every slot taken so far leaked out).
    tat: Mutex<Option<Instant>>,
    period: Duration,
    burst: u32,
}

impl Bucket {
    /// Takes a slot at `now` if, after it, more than `keep` of the burst stay free; otherwise
    /// the wait until that is so.
    fn take(&self, now: Instant, keep: u32) -> Result<(), Duration> {
        let mut tat = self.tat.lock().unwrap_or_else(|e| e.into_inner());
        let start = tat.map_or(now, |t| t.max(now));
        // The slots in use, as time: `(start - now) / period`. After this one they must be at
        // most `burst - keep`.
        let allowed = self
            .period
            .saturating_mul(self.burst.saturating_sub(1).saturating_sub(keep));
        let ahead = start - now;
        if ahead <= allowed {
            *tat = Some(start + self.period);
            Ok(())
        } else {
            Err(ahead - allowed)
        }
    }
}

/// The shared pacer. See the module docs for the rules.
pub struct Pacer {
    bucket: Bucket,
    /// Slots of the burst only closes take: [`close_reserve`], more while closes are due soon
    /// ([`Pacer::reserve_for_closes`]).
    reserve: std::sync::atomic::AtomicU32,
    queue: Mutex<Queue>,
    /// Woken whenever the queue changes (a waiter came or left), so the head is re-decided.
    changed: Notify,
    not_before: Mutex<Option<Instant>>,
    /// When the requests of the last `window` were let through (for [`Pacer::busy`]).
    sent: Mutex<std::collections::VecDeque<Instant>>,
    requests_per_window: u32,
    window: Duration,
    period: Duration,
    headroom: u32,
    /// Whether a malformed header was already logged (once each, not on every response).
    bad_call_limit: AtomicBool,
    bad_retry_after: AtomicBool,
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

/// One waiter's place in the queue; leaving it (sent or cancelled) lets the next one go.
struct Place<'a> {
    pacer: &'a Pacer,
    lane: Lane,
    id: u64,
}

impl Place<'_> {
    fn defer_until(&self, now: Instant) -> Option<Instant> {
        let q = self.pacer.queue.lock().unwrap_or_else(|e| e.into_inner());
        q.defer_until(self.lane, now)
    }

    fn will_look_by(&self, by: Instant) {
        let mut q = self.pacer.queue.lock().unwrap_or_else(|e| e.into_inner());
        q.set(self.id, by);
    }
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        let mut q = self.pacer.queue.lock().unwrap_or_else(|e| e.into_inner());
        q.waiters.retain(|w| w.0 != self.id);
        drop(q);
        self.pacer.changed.notify_waiters();
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
        let burst = n.get() - headroom(n.get());
        if period.is_zero() {
            return Err(format!("window {window:?} is too short for {n} requests"));
        }
        Ok(Pacer {
            bucket: Bucket {
                tat: Mutex::new(None),
                period,
                burst,
            },
            reserve: std::sync::atomic::AtomicU32::new(close_reserve(burst)),
            queue: Mutex::new(Queue::default()),
            changed: Notify::new(),
            not_before: Mutex::new(None),
            sent: Mutex::new(std::collections::VecDeque::new()),
            requests_per_window: n.get(),
            window,
            period,
            headroom: headroom(n.get()),
            bad_call_limit: AtomicBool::new(false),
            bad_retry_after: AtomicBool::new(false),
        })
    }

    /// Wait until a request may be sent, then take its slot (in the [`Lane::Write`] lane).
    pub async fn acquire(&self) {
        self.acquire_in(Lane::Write).await;
    }

    /// Wait in `lane` until no waiter of a higher lane is due to go first and the budget has
    /// a slot, then take it. Dropping the future (a cancelled request) leaves the queue.
    pub async fn acquire_in(&self, lane: Lane) {
        let place = self.enqueue(lane);
        loop {
            // Registered before looking, so a change between the look and the wait still wakes.
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let now = Instant::now();
            if let Some(t) = self.blocked_until() {
                place.will_look_by(t + GRACE);
                tokio::select! {
                    () = tokio::time::sleep_until(t) => {}
                    () = changed => {}
                }
                continue;
            }
            if let Some(t) = place.defer_until(now) {
                place.will_look_by(t + GRACE);
                tokio::select! {
                    () = tokio::time::sleep_until(t) => {}
                    () = changed => {}
                }
                continue;
            }
            let keep = if lane == Lane::Close {
                0
            } else {
                self.reserve.load(Ordering::Relaxed)
            };
            match self.bucket.take(now, keep) {
                Ok(()) => {
                    self.note_sent(now);
                    return; // `place` leaves the queue and wakes the lanes below.
                }
                Err(wait) => {
                    place.will_look_by(now + wait + GRACE);
                    // A higher lane arriving meanwhile goes first.
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        () = changed => {}
                    }
                }
            }
        }
    }

    fn enqueue(&self, lane: Lane) -> Place<'_> {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        let id = q.next;
        q.next += 1;
        q.waiters.push((id, lane, Instant::now() + GRACE));
        drop(q);
        self.changed.notify_waiters();
        Place {
            pacer: self,
            lane,
            id,
        }
    }

    /// `closes` fall due soon: the other lanes leave their requests' slots free
    /// ([`reserve_for`]), so the bucket has drained enough by their deadlines for each to go
    /// at once. Set again whenever the count changes; 0 restores the standing reserve.
    pub fn reserve_for_closes(&self, closes: usize) {
        let reserve = reserve_for(self.bucket.burst, closes);
        if self.reserve.swap(reserve, Ordering::Relaxed) != reserve {
            // Waiters held by a larger reserve look again.
            self.changed.notify_waiters();
        }
    }

    /// Requests waiting for a slot, by lane (`[read, write, close]`).
    pub fn waiting(&self) -> [usize; Lane::ALL] {
        let q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        let mut n = [0; Lane::ALL];
        for (_, lane, _) in &q.waiters {
            n[*lane as usize] += 1;
        }
        n
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
    /// A header that does not parse is ignored, and said so once (not on every response).
    pub fn observe_call_limit(&self, header: &str) -> Option<Duration> {
        let Some((used, limit)) = parse_call_limit(header) else {
            if !self.bad_call_limit.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    value = %clip(header),
                    "ignoring an X-Gorgias-Account-Api-Call-Limit header that is not \"used/limit\" \
                     in whole numbers (logged once)"
                );
            }
            return None;
        };
        let wait = call_limit_wait(used, limit, self.window)?;
        self.block_for(wait);
        Some(wait)
    }

    /// A 429's `Retry-After`, checked by [`parse_retry_after`]; one that does not parse is
    /// ignored (the caller falls back to its own wait), and said so once.
    pub fn retry_after(&self, header: &str) -> Option<Duration> {
        let parsed = parse_retry_after(header);
        if parsed.is_none() && !self.bad_retry_after.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                value = %clip(header),
                "ignoring a Retry-After header that is not a number of seconds (logged once)"
            );
        }
        parsed
    }
}

/// The largest bucket size believed from the header: Gorgias's are 40 and 80.
pub const MAX_CALL_LIMIT: u32 = 10_000;

/// `used/limit` in whole numbers, `limit` in `1..=MAX_CALL_LIMIT`; `used` above `limit` is
/// clamped to it (a full bucket). Anything else (`1e20/40`, `-1/40`, `3/0`, `NaN/40`) is `None`.
pub fn parse_call_limit(header: &str) -> Option<(u32, u32)> {
    let (used, limit) = header.trim().split_once('/')?;
    let used = whole_number(used)?;
    let limit = u32::try_from(whole_number(limit)?).ok()?;
    if limit == 0 || limit > MAX_CALL_LIMIT {
        return None;
    }
    Some((u32::try_from(used).unwrap_or(u32::MAX).min(limit), limit))
}

/// ASCII digits only (no sign, exponent or fraction), at most 18 of them so they fit a u64.
fn whole_number(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.is_empty() || s.len() > 18 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A header value for a log line: short, whatever its length.
fn clip(v: &str) -> String {
    v.chars().take(64).collect()
}

/// How long to hold off given the server's `used/limit` (as [`parse_call_limit`] gives them),
/// leaking `limit` per `window`: `(used + 1 - (limit - headroom)) * window / limit`, in integer
/// arithmetic, so at most `(headroom + 1) / limit` of a window. `None` when the bucket has room.
pub fn call_limit_wait(used: u32, limit: u32, window: Duration) -> Option<Duration> {
    if limit == 0 {
        return None;
    }
    let used = used.min(limit);
    let mark = limit - headroom(limit);
    if used < mark {
        return None;
    }
    let over = used + 1 - mark;
    Some(window.saturating_mul(over) / limit)
}

/// Parse `Retry-After` as seconds: digits with an optional fraction (`1`, `2.5`), capped at
/// [`MAX_RETRY_AFTER`]. An HTTP date, an exponent, a sign or garbage gives `None`.
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    let (whole, frac) = v.split_once('.').unwrap_or((v, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(frac) || (v.contains('.') && frac.is_empty()) {
        return None;
    }
    let cap = MAX_RETRY_AFTER.as_secs();
    // Over 18 digits of seconds is far past the cap anyway.
    let secs = if whole.len() > 18 {
        cap
    } else {
        whole.parse::<u64>().ok()?.min(cap)
    };
    let mut nanos = 0u32;
    let mut scale = 100_000_000u32;
    for b in frac.bytes().take(9) {
        nanos += u32::from(b - b'0') * scale;
        scale /= 10;
    }
    Some(Duration::new(secs, nanos).min(MAX_RETRY_AFTER))
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
        let wait = |h: &str| parse_call_limit(h).and_then(|(u, l)| call_limit_wait(u, l, w));
        assert_eq!(wait("10/40"), None);
        assert_eq!(wait("37/40"), None);
        assert_eq!(wait("38/40"), Some(Duration::from_millis(500)));
        assert_eq!(wait("40/40"), Some(Duration::from_millis(1500)));
        assert_eq!(wait("garbage"), None);
        assert_eq!(wait("3/0"), None);
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
        for hostile in ["1e20", "NaN", "inf", "+5", "1.", ".5", "0x10", "", "1 2"] {
            assert_eq!(parse_retry_after(hostile), None, "{hostile:?}");
        }
        assert_eq!(
            parse_retry_after(&"9".repeat(400)),
            Some(MAX_RETRY_AFTER),
            "a number too long for any integer is capped, not a panic"
        );
        assert_eq!(parse_retry_after("0.0000000001"), Some(Duration::ZERO));
    }

    #[test]
    fn hostile_call_limit_headers_never_panic_and_are_ignored_or_clamped() {
        // Each of these once reached `Duration::mul_f64` with a huge or odd factor.
        for hostile in [
            "1e20/40",
            "NaN/40",
            "inf/40",
            "-1/40",
            "40/1e3",
            "40/-40",
            "1.5/40",
            "40/40/40",
            "/40",
            "40/",
            "",
            "99999999999999999999/40",
            "40/99999999999",
            "40/20000",
        ] {
            assert_eq!(parse_call_limit(hostile), None, "{hostile:?}");
        }
        assert_eq!(parse_call_limit(" 12 / 40 "), Some((12, 40)));
        assert_eq!(parse_call_limit("4000000000/40"), Some((40, 40)), "clamped");
        let p = Pacer::new(40, Duration::from_secs(20)).unwrap();
        assert_eq!(p.observe_call_limit("1e20/40"), None);
        assert!(p.blocked_until().is_none());
        // An absurd count is a full bucket: the wait stays within a window.
        let w = p.observe_call_limit("4000000000/40").unwrap();
        assert!(w <= Duration::from_secs(20), "{w:?}");
        assert_eq!(
            call_limit_wait(u32::MAX, MAX_CALL_LIMIT, Duration::MAX),
            Some(Duration::MAX / MAX_CALL_LIMIT)
        );
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

    #[test]
    fn requests_are_laned_by_route() {
        let closed = serde_json::json!({"status": "closed"});
        let assign = serde_json::json!({"assignee_user": {"id": 3}});
        let names = serde_json::json!({"names": ["Auto-closed"]});
        assert_eq!(
            Lane::of_request("PUT", "/api/tickets/12", Some(&closed)),
            Lane::Close
        );
        assert_eq!(
            Lane::of_request("POST", "/api/tickets/12/tags", Some(&names)),
            Lane::Close
        );
        assert_eq!(
            Lane::of_request("DELETE", "/api/tickets/12/tags", Some(&names)),
            Lane::Close
        );
        assert_eq!(
            Lane::of_request("PUT", "/api/tickets/12", Some(&assign)),
            Lane::Write
        );
        assert_eq!(
            Lane::of_request("POST", "/api/tickets/12/messages", None),
            Lane::Write
        );
        assert_eq!(Lane::of_request("GET", "/api/tickets/12", None), Lane::Read);
        assert_eq!(
            Lane::of_request("PUT", "/api/views/0/items", Some(&closed)),
            Lane::Read
        );
        assert_eq!(
            Lane::of_request("PUT", "/api/customers/5", Some(&closed)),
            Lane::Write
        );
        assert_eq!(
            Lane::of_request("POST", "/api/tickets//tags", None),
            Lane::Write
        );
    }

    #[tokio::test]
    async fn a_scope_raises_a_request_lane_but_never_lowers_it() {
        assert_eq!(Lane::Read.raised_by_scope(), Lane::Read);
        let (read, close) = in_lane(Lane::Close, async {
            (Lane::Read.raised_by_scope(), Lane::Close.raised_by_scope())
        })
        .await;
        assert_eq!((read, close), (Lane::Close, Lane::Close));
        let close = in_lane(Lane::Read, async { Lane::Close.raised_by_scope() }).await;
        assert_eq!(close, Lane::Close);
    }

    /// Waits (with a deadline, never a bare sleep) until the pacer holds `want` waiters.
    async fn until_waiting(p: &Pacer, want: [usize; Lane::ALL]) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while p.waiting() != want {
            assert!(
                Instant::now() < deadline,
                "waiting {:?}, wanted {want:?}",
                p.waiting()
            );
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_close_takes_the_next_slot_before_queued_reads_and_polls() {
        use std::sync::Arc;
        // 20 per second, burst 19: the slots come one every 50 ms once the burst is spent.
        let p = Arc::new(Pacer::new(20, Duration::from_secs(1)).unwrap());
        for _ in 0..19 {
            p.acquire_in(Lane::Read).await;
        }
        let order = Arc::new(Mutex::new(Vec::new()));
        let spawn = |lane: Lane, name: String| {
            let (p, order) = (p.clone(), order.clone());
            tokio::spawn(async move {
                p.acquire_in(lane).await;
                order.lock().unwrap().push(name);
            })
        };
        let mut tasks = Vec::new();
        for i in 0..12 {
            tasks.push(spawn(Lane::Read, format!("read{i}")));
        }
        until_waiting(&p, [12, 0, 0]).await;
        tasks.push(spawn(Lane::Write, "reply".into()));
        until_waiting(&p, [12, 1, 0]).await;
        tasks.push(spawn(Lane::Close, "close".into()));
        for t in tasks {
            t.await.unwrap();
        }
        let order = order.lock().unwrap().clone();
        assert_eq!(order.len(), 14, "{order:?}");
        let at = |name: &str| order.iter().position(|n| n == name).unwrap();
        // A read may have taken its slot in the instant before the close (or the reply) queued;
        // never more than that one.
        assert!(at("close") <= 1, "the close waited behind reads: {order:?}");
        assert!(at("reply") <= 2 && at("reply") > at("close"), "{order:?}");
        assert_eq!(p.waiting(), [0, 0, 0]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_close_left_unpolled_does_not_hold_the_reads_back() {
        use std::sync::Arc;
        let p = Arc::new(Pacer::new(20, Duration::from_secs(1)).unwrap());
        // The whole burst spent, the closes' reserve too.
        for _ in 0..19 {
            p.acquire_in(Lane::Close).await;
        }
        // A close polled once (it queues) and then held, as a `select!` holds a future while
        // its caller does other work.
        let close = p.acquire_in(Lane::Close);
        tokio::pin!(close);
        assert!(
            tokio::time::timeout(Duration::ZERO, close.as_mut())
                .await
                .is_err()
        );
        assert_eq!(p.waiting(), [0, 0, 1]);
        // The reads still get their slots (this would hang, up to the deadline, otherwise).
        let reads = {
            let p = p.clone();
            tokio::spawn(async move {
                for _ in 0..3 {
                    p.acquire_in(Lane::Read).await;
                }
            })
        };
        tokio::time::timeout(Duration::from_secs(60), reads)
            .await
            .expect("the reads waited for a close nobody polls")
            .unwrap();
        // And the close, polled again, takes a slot too.
        tokio::time::timeout(Duration::from_secs(60), close)
            .await
            .expect("the close never got its slot");
        assert_eq!(p.waiting(), [0, 0, 0]);
    }

    #[tokio::test]
    async fn every_lane_draws_on_one_budget() {
        // 4 per minute, burst 3: three slots now, then one per 15 s whichever the lane.
        let p = Pacer::new(4, Duration::from_secs(60)).unwrap();
        p.acquire_in(Lane::Close).await;
        p.acquire_in(Lane::Write).await;
        p.acquire_in(Lane::Read).await;
        // The bucket is empty for every lane: a close may not borrow what reads spent.
        assert!(
            p.bucket.take(Instant::now(), 0).is_err(),
            "a fourth slot within the burst of 3"
        );
        // One poll of a close finds no slot either (its turn, but no token).
        let close = tokio::time::timeout(Duration::ZERO, p.acquire_in(Lane::Close));
        assert!(close.await.is_err(), "a close was sent over the budget");
        assert_eq!(p.waiting(), [0, 0, 0]);
    }

    #[test]
    fn the_other_lanes_leave_the_close_reserve_free_until_it_leaks_back() {
        // 40 per 20 s: a burst of 38, a slot every 500 ms, the top 3 for closes only.
        let p = Pacer::new(40, Duration::from_secs(20)).unwrap();
        let reserve = p.reserve.load(Ordering::Relaxed);
        assert_eq!((p.bucket.burst, reserve), (38, 3));
        let now = Instant::now();
        for _ in 0..35 {
            p.bucket.take(now, reserve).unwrap();
        }
        assert_eq!(
            p.bucket.take(now, reserve),
            Err(Duration::from_millis(500)),
            "a 36th read waits for a slot to leak"
        );
        for _ in 0..3 {
            p.bucket
                .take(now, 0)
                .expect("a close takes the reserve at once");
        }
        assert_eq!(p.bucket.take(now, 0), Err(Duration::from_millis(500)));
        // Once a close spent it, the reserve leaks back before the other lanes go again.
        assert_eq!(
            p.bucket.take(now, reserve),
            Err(Duration::from_millis(2000))
        );
        // Small budgets keep their whole burst for everyone.
        assert_eq!(close_reserve(3), 0);
        assert_eq!(close_reserve(9), 1);
        assert_eq!(close_reserve(76), 3);
        // Closes due soon: three slots each, the standing reserve at least, half the burst at
        // most.
        assert_eq!(reserve_for(38, 0), 3);
        assert_eq!(reserve_for(38, 4), 12);
        assert_eq!(reserve_for(38, 100), 19);
        assert_eq!(reserve_for(3, 1), 1);
        p.reserve_for_closes(4);
        assert_eq!(p.reserve.load(Ordering::Relaxed), 12);
        p.reserve_for_closes(0);
        assert_eq!(p.reserve.load(Ordering::Relaxed), 3);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_close_finds_its_slots_free_while_reads_queue_for_the_budget() {
        use std::sync::Arc;
        let p = Arc::new(Pacer::new(40, Duration::from_secs(20)).unwrap());
        for _ in 0..35 {
            p.acquire_in(Lane::Read).await;
        }
        // Reads queue for more (they would take the last three slots if they could).
        let reads = {
            let p = p.clone();
            tokio::spawn(async move {
                for _ in 0..10 {
                    p.acquire_in(Lane::Read).await;
                }
            })
        };
        until_waiting(&p, [1, 0, 0]).await;
        // A close's read, tag write and close go at once: one poll each.
        for step in ["read", "tags", "close"] {
            assert!(
                tokio::time::timeout(Duration::ZERO, p.acquire_in(Lane::Close))
                    .await
                    .is_ok(),
                "the close's {step} waited for the budget"
            );
        }
        reads.abort();
    }

    #[tokio::test]
    async fn a_cancelled_waiter_leaves_the_queue() {
        let p = Pacer::new(4, Duration::from_secs(60)).unwrap();
        for _ in 0..3 {
            p.acquire_in(Lane::Read).await;
        }
        {
            let close = p.acquire_in(Lane::Close);
            tokio::pin!(close);
            // One poll: it queues, finds the bucket empty and waits.
            assert!(
                tokio::time::timeout(Duration::ZERO, close.as_mut())
                    .await
                    .is_err()
            );
            assert_eq!(p.waiting(), [0, 0, 1]);
        }
        assert_eq!(
            p.waiting(),
            [0, 0, 0],
            "the dropped close still blocks the queue"
        );
    }
}
