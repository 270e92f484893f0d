//! Everything the simulator does to a request besides answering it: the account's leaky-bucket
//! rate limit, injected faults (5xx, delay, malformed bodies, connection resets, 429 storms),
//! and the request log with its counters.
//! It must not touch tickets or any other API data: it only decides what happens to a request.

use jiff::Timestamp;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

/// How long to hold a request before answering it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Delay {
    /// Answer at once.
    #[default]
    None,
    /// Always wait this long.
    Fixed(Duration),
    /// Wait a random time (seeded) between zero and this.
    UpTo(Duration),
}

/// Faults to inject; change them at run time with `Sim::set_faults`. Probabilities are in
/// `0.0..=1.0` and drawn from the simulator's seeded RNG, so a given request sequence always gets
/// the same faults.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Probability that a request answers 500, 502 or 503 (picked at random) instead of working.
    /// The request has no effect on the data.
    pub error_rate: f64,
    /// Added latency.
    pub delay: Delay,
    /// Probability that a 2xx JSON answer is cut in half (status 200, invalid JSON). The request
    /// has taken effect.
    pub malformed_rate: f64,
    /// Probability that the connection drops while the body is being sent. The request has taken
    /// effect.
    pub reset_rate: f64,
    /// The body stalls halfway for this long (headers and the first half sent at once): a
    /// stalled read. The request has taken effect.
    pub stall: Option<Duration>,
    /// Text replacements in every 2xx JSON body, whatever `path_prefix` and `methods` say,
    /// e.g. a customer's words replaced by `\ud800` (a lone surrogate, which no Rust string can
    /// hold) or a datetime by garbage: data the client must survive.
    pub rewrite: Vec<(String, String)>,
    /// For this long after `set_faults`, every request answers 429 with `Retry-After`.
    pub storm_for: Option<Duration>,
    /// If set, faults (other than the storm) hit only paths starting with this, e.g.
    /// `/api/tickets`.
    pub path_prefix: Option<String>,
    /// If set, faults (other than the storm) hit only these methods, e.g. `["PUT", "POST"]`.
    pub methods: Option<Vec<String>>,
}

/// One request as the simulator saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    /// HTTP method.
    pub method: String,
    /// Path as sent (with or without the trailing slash).
    pub path: String,
    /// The route it matched, e.g. `/api/tickets/{id}/messages` (or the path when none).
    pub pattern: String,
    /// Raw query string (empty when none).
    pub query: String,
    /// Status answered.
    pub status: u16,
    /// The authenticated user, if the credentials were good.
    pub user_id: Option<u64>,
    /// Simulator wall time when it was answered.
    pub at: Timestamp,
}

/// Counters since the simulator started.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Requests answered (any path, any status).
    pub requests: u64,
    /// Requests by status code.
    pub by_status: BTreeMap<u16, u64>,
    /// Requests answered 429 (bucket overflow or storm).
    pub rate_limited: u64,
    /// The highest bucket level reached (requests in flight in the window).
    pub max_bucket_used: u32,
    /// Requests by (method, route pattern).
    pub by_route: BTreeMap<(String, String), u64>,
    /// Faults injected (5xx, malformed, reset), excluding storms.
    pub faults_injected: u64,
}

const LOG_CAPACITY: usize = 10_000;

/// The account's leaky bucket: it fills by one per accepted request and leaks `capacity/window`
/// per second. Rejected requests do not fill it.
#[derive(Debug, Clone)]
pub(crate) struct Bucket {
    capacity: u32,
    window: Duration,
    level: f64,
    last: Instant,
    /// Seconds of the simulator's clock per real second (see `Clock::speed`).
    speed: f64,
}

/// The outcome of offering a request to the bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admit {
    /// Accepted; `used` is the level after it (for the header).
    Ok { used: u32, limit: u32 },
    /// Over the limit; retry after this many whole seconds (>= 1).
    Limited {
        used: u32,
        limit: u32,
        retry_after: u64,
    },
}

impl Bucket {
    pub(crate) fn new(capacity: u32, window: Duration, speed: u32) -> Bucket {
        Bucket {
            capacity: capacity.max(1),
            window: if window.is_zero() {
                Duration::from_secs(1)
            } else {
                window
            },
            level: 0.0,
            last: Instant::now(),
            speed: f64::from(speed.max(1)),
        }
    }

    fn leak(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64() * self.speed;
        let rate = f64::from(self.capacity) / self.window.as_secs_f64();
        self.level = (self.level - elapsed * rate).max(0.0);
        self.last = now;
    }

    fn used(&self) -> u32 {
        // Round up: a bucket holding 0.3 of a request still shows that request.
        self.level.ceil() as u32
    }

    /// The current level, without offering anything.
    pub(crate) fn peek(&mut self, now: Instant) -> (u32, u32) {
        self.leak(now);
        (self.used(), self.capacity)
    }

    /// Offer one request.
    pub(crate) fn offer(&mut self, now: Instant) -> Admit {
        self.leak(now);
        let cap = f64::from(self.capacity);
        if self.level + 1.0 > cap + 1e-9 {
            let rate = cap / self.window.as_secs_f64();
            let wait = (self.level + 1.0 - cap) / rate;
            Admit::Limited {
                used: self.used(),
                limit: self.capacity,
                retry_after: (wait.ceil() as u64).max(1),
            }
        } else {
            self.level += 1.0;
            Admit::Ok {
                used: self.used(),
                limit: self.capacity,
            }
        }
    }
}

/// What the fault dice decided for one request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Decision {
    pub delay: Duration,
    pub error_status: Option<u16>,
    pub malformed: bool,
    pub reset: bool,
    pub stall: Option<Duration>,
}

/// Fault settings, the RNG, the storm deadline, the bucket and the log: one lock guards them.
pub(crate) struct Traffic {
    pub faults: Faults,
    pub storm_until: Option<Instant>,
    rng: StdRng,
    pub bucket: Option<Bucket>,
    pub log: VecDeque<RequestRecord>,
    pub stats: SimStats,
    pub webhooks: VecDeque<super::webhooks::WebhookDelivery>,
}

impl Traffic {
    pub(crate) fn new(seed: u64, rate_limit: Option<(u32, Duration)>, speed: u32) -> Traffic {
        Traffic {
            faults: Faults::default(),
            storm_until: None,
            rng: StdRng::seed_from_u64(seed),
            bucket: rate_limit.map(|(c, w)| Bucket::new(c, w, speed)),
            log: VecDeque::new(),
            stats: SimStats::default(),
            webhooks: VecDeque::new(),
        }
    }

    pub(crate) fn set_faults(&mut self, f: Faults) {
        self.storm_until = f.storm_for.map(|d| Instant::now() + d);
        self.faults = f;
    }

    /// Seconds left in the storm, if one is raging.
    pub(crate) fn storm_left(&mut self, now: Instant) -> Option<u64> {
        let until = self.storm_until?;
        if now >= until {
            self.storm_until = None;
            return None;
        }
        let left = until.duration_since(now).as_secs_f64().ceil() as u64;
        Some(left.max(1))
    }

    /// Roll the dice for one request. Every roll is drawn whatever the settings, so the RNG
    /// sequence depends only on the number of requests, not on which faults are enabled.
    pub(crate) fn decide(&mut self, method: &str, path: &str) -> Decision {
        let r_err: f64 = self.rng.random();
        let r_status: u32 = self.rng.random_range(0..3);
        let r_mal: f64 = self.rng.random();
        let r_reset: f64 = self.rng.random();
        let r_delay: f64 = self.rng.random();
        let f = &self.faults;
        let applies = f.path_prefix.as_deref().is_none_or(|p| path.starts_with(p))
            && f.methods
                .as_ref()
                .is_none_or(|ms| ms.iter().any(|m| m.eq_ignore_ascii_case(method)));
        if !applies {
            return Decision::default();
        }
        let delay = match f.delay {
            Delay::None => Duration::ZERO,
            Delay::Fixed(d) => d,
            Delay::UpTo(d) => d.mul_f64(r_delay),
        };
        Decision {
            delay,
            error_status: (r_err < f.error_rate).then(|| [500, 502, 503][r_status as usize]),
            malformed: r_mal < f.malformed_rate,
            reset: r_reset < f.reset_rate,
            stall: f.stall,
        }
    }

    pub(crate) fn record_webhook(&mut self, d: super::webhooks::WebhookDelivery) {
        if self.webhooks.len() >= LOG_CAPACITY {
            self.webhooks.pop_front();
        }
        self.webhooks.push_back(d);
    }

    pub(crate) fn record(&mut self, rec: RequestRecord) {
        let s = &mut self.stats;
        s.requests += 1;
        *s.by_status.entry(rec.status).or_default() += 1;
        if rec.status == 429 {
            s.rate_limited += 1;
        }
        *s.by_route
            .entry((rec.method.clone(), rec.pattern.clone()))
            .or_default() += 1;
        if self.log.len() >= LOG_CAPACITY {
            self.log.pop_front();
        }
        self.log.push_back(rec);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sped_up_bucket_leaks_by_its_clock_and_says_retry_after_in_clock_seconds() {
        // 3 per 30 s on a clock running 10x: one slot leaks per real second.
        let mut b = Bucket::new(3, Duration::from_secs(30), 10);
        let t = Instant::now();
        b.last = t;
        for _ in 0..3 {
            assert!(matches!(b.offer(t), Admit::Ok { .. }));
        }
        let Admit::Limited { retry_after, .. } = b.offer(t) else {
            panic!("fourth request must be limited");
        };
        assert_eq!(
            retry_after, 10,
            "Retry-After counts the simulator's clock seconds"
        );
        let later = t + Duration::from_secs(1);
        assert!(matches!(b.offer(later), Admit::Ok { used: 3, .. }));
        assert!(matches!(b.offer(later), Admit::Limited { .. }));
    }

    #[test]
    fn bucket_rejects_over_capacity_and_rejections_do_not_fill_it() {
        let mut b = Bucket::new(3, Duration::from_secs(30), 1);
        let t = Instant::now();
        b.last = t;
        for i in 1..=3 {
            assert_eq!(b.offer(t), Admit::Ok { used: i, limit: 3 });
        }
        let Admit::Limited { retry_after, .. } = b.offer(t) else {
            panic!("fourth request must be limited");
        };
        // Leaks 0.1/s: one slot frees after 10 s.
        assert_eq!(retry_after, 10);
        assert!(matches!(b.offer(t), Admit::Limited { used: 3, .. }));
        // After 10 s exactly one slot is free again.
        let later = t + Duration::from_secs(10);
        assert!(matches!(b.offer(later), Admit::Ok { used: 3, .. }));
        assert!(matches!(b.offer(later), Admit::Limited { .. }));
    }

    #[test]
    fn same_seed_gives_same_faults() {
        let run = |seed| {
            let mut t = Traffic::new(seed, None, 1);
            t.set_faults(Faults {
                error_rate: 0.3,
                ..Faults::default()
            });
            (0..50)
                .map(|_| t.decide("GET", "/api/tickets").error_status)
                .collect::<Vec<_>>()
        };
        let a = run(7);
        assert_eq!(a, run(7));
        assert!(a.iter().any(Option::is_some) && a.iter().any(Option::is_none));
    }

    #[test]
    fn path_prefix_limits_faults() {
        let mut t = Traffic::new(1, None, 1);
        t.set_faults(Faults {
            error_rate: 1.0,
            path_prefix: Some("/api/views".into()),
            ..Faults::default()
        });
        assert_eq!(t.decide("GET", "/api/tickets").error_status, None);
        assert!(t.decide("GET", "/api/views/1/items").error_status.is_some());
    }
}
