//! The ceiling: the most conversations an hour one API key sustains. Conversations arrive at a
//! rising rate, each step a fresh daemon and simulator at Gorgias's default budget on both sides,
//! until a step breaks: a 429, a conversation left unresolved, or reply latency or close lag
//! past its limit (a backlog growing faster than the budget drains it shows there first).

use super::*;

/// The arrival rates tried, in conversations an hour, lowest first.
const RATES: [u32; 9] = [600, 720, 840, 960, 1080, 1200, 1440, 1680, 1920];
/// Arrivals last this long in each step (clock time): long enough for closes to overlap them.
const ARRIVALS_FOR: Duration = Duration::from_secs(15 * 60);
/// A short close, so that a step's closes compete with its arrivals for the budget.
const CLOSE_AFTER: Duration = Duration::from_secs(120);
/// The clock's speed for each step.
const SPEED: u32 = 10;

/// What a step may not exceed and still count as sustained.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Limits {
    /// Six poll intervals: a bot keeping up answers within one or two; a backlog growing
    /// faster than the budget drains it passes this within minutes.
    pub reply_latency_p99_ms: u64,
    pub close_lag_p99_ms: u64,
}

pub const LIMITS: Limits = Limits {
    reply_latency_p99_ms: 30_000,
    close_lag_p99_ms: 10_000,
};

/// One arrival rate and how the bot kept up with it.
#[derive(Debug, Clone, Serialize)]
pub struct CeilingStep {
    pub per_hour: u32,
    /// Why the step does not count as sustained; `None` when it held.
    pub broke_on: Option<String>,
    pub run: ConversationFigures,
}

/// The rising-rate search.
#[derive(Debug, Clone, Serialize)]
pub struct CeilingFigures {
    /// The highest rate that held (conversations an hour), if any did.
    pub sustained_per_hour: Option<u32>,
    /// The first rate that broke, if one did.
    pub broke_at_per_hour: Option<u32>,
    pub limits: Limits,
    pub close_after_s: f64,
    pub steps: Vec<CeilingStep>,
}

/// Why `run` does not count as sustained under `limits`, or `None` when it held.
pub fn broke_on(run: &ConversationFigures, limits: &Limits) -> Option<String> {
    if run.rate_limited > 0 {
        return Some(format!("{} answers 429", run.rate_limited));
    }
    if run.resolved < run.conversations {
        return Some(format!(
            "{} of {} conversations unresolved",
            run.conversations - run.resolved,
            run.conversations
        ));
    }
    if run.reply_latency_p99_ms > limits.reply_latency_p99_ms {
        return Some(format!(
            "reply latency p99 {} ms over {} ms",
            run.reply_latency_p99_ms, limits.reply_latency_p99_ms
        ));
    }
    if run.close_lag_p99_ms > limits.close_lag_p99_ms {
        return Some(format!(
            "close lag p99 {} ms over {} ms",
            run.close_lag_p99_ms, limits.close_lag_p99_ms
        ));
    }
    None
}

/// Steps up the arrival rate until one breaks (or the last rate holds).
pub(super) async fn ceiling() -> anyhow::Result<CeilingFigures> {
    let mut steps = Vec::new();
    let mut sustained = None;
    let mut broke_at = None;
    for per_hour in RATES {
        let every = Duration::from_secs(3600) / per_hour;
        let n = (ARRIVALS_FOR.as_secs() * u64::from(per_hour) / 3600) as usize;
        eprintln!(
            "bench: ceiling step, {per_hour} conversations an hour ({n}, one every {every:?}, clock {SPEED}x) ..."
        );
        let run = conversation_run(Workload {
            n,
            speed: SPEED,
            every,
            wake: Wake::Polling,
            close_after: CLOSE_AFTER,
        })
        .await?;
        let broke = broke_on(&run, &LIMITS);
        let held = broke.is_none();
        steps.push(CeilingStep {
            per_hour,
            broke_on: broke,
            run,
        });
        if held {
            sustained = Some(per_hour);
        } else {
            broke_at = Some(per_hour);
            break;
        }
    }
    Ok(CeilingFigures {
        sustained_per_hour: sustained,
        broke_at_per_hour: broke_at,
        limits: LIMITS,
        close_after_s: CLOSE_AFTER.as_secs_f64(),
        steps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run() -> ConversationFigures {
        ConversationFigures {
            label: "t".into(),
            conversations: 100,
            resolved: 100,
            clock_speed: 1,
            clock_s: 1.0,
            ledger_on_tmpfs: false,
            requests_per_window: 40,
            window_s: 20,
            poll_interval_s: 5.0,
            close_after_s: 120.0,
            arrival_every_s: 4.0,
            wall_s: 1.0,
            requests: 700,
            requests_per_resolved: 7.0,
            requests_per_resolved_besides_polls: 7.0,
            list_polls: 0,
            minimum_per_resolved: 6.0,
            rate_limited: 0,
            reply_latency_p50_ms: 2_000,
            reply_latency_p99_ms: 6_000,
            close_lag_p50_ms: 100,
            close_lag_p99_ms: 900,
            by_route: BTreeMap::new(),
        }
    }

    #[test]
    fn a_step_breaks_on_a_429_an_unresolved_conversation_or_a_limit() {
        assert_eq!(broke_on(&run(), &LIMITS), None);
        let mut r = run();
        r.rate_limited = 1;
        assert_eq!(broke_on(&r, &LIMITS).as_deref(), Some("1 answers 429"));
        let mut r = run();
        r.resolved = 97;
        assert!(broke_on(&r, &LIMITS).unwrap().contains("3 of 100"));
        let mut r = run();
        r.reply_latency_p99_ms = 30_001;
        assert!(broke_on(&r, &LIMITS).unwrap().starts_with("reply latency"));
        let mut r = run();
        r.close_lag_p99_ms = 10_001;
        assert!(broke_on(&r, &LIMITS).unwrap().starts_with("close lag"));
        // At the limit still holds.
        let mut r = run();
        r.close_lag_p99_ms = 10_000;
        r.reply_latency_p99_ms = 30_000;
        assert_eq!(broke_on(&r, &LIMITS), None);
    }
}
