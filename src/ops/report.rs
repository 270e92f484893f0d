//! `perfectbot report --since 7d`: how the bot did over a period, from the ledger's event log.
//!
//! Pure arithmetic over `EventRow`s ([`compute`]) plus a thin command ([`run`]) that reads the
//! log read-only. It never touches the network and never writes the ledger. The figures rely
//! on the events the engine and executor record: `Answered` (its latency), `Closed` (the idle
//! close, its lag), `Handover` (reason, question) and a `StateChanged` to active with reason
//! `reopened`.
//!
//! After an email request the handover's `question` is the customer's last message (often
//! the email itself): the report then prefers the question on the `EmailRequested` event and
//! otherwise skips a text that contains an email address.
//!
//! Percentiles are nearest-rank (the value of an actual event, never an interpolation): the
//! median of [1, 2, 3, 4] is 2, the p95 of twenty values is the 19th.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::ledger::{Event, EventRow, StateReason, TicketState};

/// A reopen counts against an auto-close when it comes within this of the close.
pub const REOPEN_WINDOW: SignedDuration = SignedDuration::from_hours(24);

/// How many "no knowledge" questions the report lists.
const TOP_QUESTIONS: usize = 10;

/// The figures over one period.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The start of the period (events at or after it).
    pub since: Timestamp,
    pub until: Timestamp,
    /// Answers posted.
    pub answered: u64,
    /// Tickets closed by the idle timer.
    pub auto_closed: u64,
    /// Handovers by reason ("requested", "frustrated", "no_knowledge", "error", "rule", ...).
    pub handovers: BTreeMap<String, u64>,
    /// Auto-closes followed by the customer reopening the ticket within [`REOPEN_WINDOW`].
    pub reopened_after_close: u64,
    /// `reopened_after_close / auto_closed`; None without auto-closes.
    pub false_close_rate: Option<f64>,
    pub close_lag_median_ms: Option<u64>,
    pub close_lag_p95_ms: Option<u64>,
    pub reply_latency_median_ms: Option<u64>,
    /// The most frequent normalised questions that ended in a "no knowledge" handover, most
    /// frequent first (ties alphabetically): what to add to the knowledge base.
    pub top_no_knowledge: Vec<(String, u64)>,
}

/// Computes the report from the events of the period (oldest first, as `events_since` gives
/// them); `until` is the moment the report is made.
pub fn compute(events: &[EventRow], since: Timestamp, until: Timestamp) -> Report {
    let mut answered = 0;
    let mut handovers: BTreeMap<String, u64> = BTreeMap::new();
    let mut lags = Vec::new();
    let mut latencies = Vec::new();
    let mut questions: HashMap<String, u64> = HashMap::new();
    // Per ticket, the auto-closes not yet matched with a reopen.
    let mut open_closes: HashMap<u64, Timestamp> = HashMap::new();
    let mut auto_closed = 0;
    let mut reopened_after_close = 0;
    // Per ticket, the question recorded when the bot asked for the email (None when the event
    // carries none): the later handover's `question` is the customer's last message, which
    // after an email request is usually the email reply, not the question.
    let mut asked_email: HashMap<u64, Option<String>> = HashMap::new();

    for e in events {
        match &e.event {
            Event::Answered { latency_ms, .. } => {
                answered += 1;
                latencies.extend(*latency_ms);
            }
            Event::Closed { lag_ms, .. } => {
                auto_closed += 1;
                lags.extend(*lag_ms);
                if let Some(id) = e.ticket_id {
                    open_closes.insert(id, e.at);
                }
            }
            Event::EmailRequested { question, .. } => {
                if let Some(id) = e.ticket_id {
                    let q = Some(question.clone()).filter(|q| !q.is_empty());
                    asked_email.insert(id, q);
                }
            }
            Event::Handover {
                reason, question, ..
            } => {
                *handovers.entry(reason.as_str().to_owned()).or_default() += 1;
                let said = question.clone();
                let question = match e.ticket_id.and_then(|id| asked_email.remove(&id)) {
                    Some(Some(asked)) => Some(asked),
                    // No question kept with the email request: trust the handover's text
                    // unless it is the email reply.
                    Some(None) => said.filter(|q| !contains_email(q)),
                    None => said,
                };
                if *reason == StateReason::Handover(crate::ledger::HandoverReason::NoKnowledge)
                    && let Some(q) = question.as_deref().and_then(normalise_question)
                {
                    *questions.entry(q).or_default() += 1;
                }
            }
            Event::StateChanged {
                to: TicketState::Active,
                reason: Some(StateReason::Reopened),
                ..
            } => {
                if let Some(closed_at) = e.ticket_id.and_then(|id| open_closes.remove(&id))
                    && e.at.duration_since(closed_at) <= REOPEN_WINDOW
                {
                    reopened_after_close += 1;
                }
            }
            _ => {}
        }
    }

    lags.sort_unstable();
    latencies.sort_unstable();
    let mut top: Vec<(String, u64)> = questions.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    top.truncate(TOP_QUESTIONS);
    Report {
        since,
        until,
        answered,
        auto_closed,
        handovers,
        reopened_after_close,
        false_close_rate: (auto_closed > 0)
            .then(|| reopened_after_close as f64 / auto_closed as f64),
        close_lag_median_ms: percentile(&lags, 50),
        close_lag_p95_ms: percentile(&lags, 95),
        reply_latency_median_ms: percentile(&latencies, 50),
        top_no_knowledge: top,
    }
}

/// Nearest-rank percentile of sorted values: the smallest value with at least `p`% of the
/// values at or below it.
fn percentile(sorted: &[u64], p: usize) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// A question as it is counted: lowercase, whitespace collapsed, punctuation trimmed from
/// both ends ("  Do you ship to Mars?? " -> "do you ship to mars"). None when nothing is left.
pub fn normalise_question(q: &str) -> Option<String> {
    let lower = q.to_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    let joined = words.join(" ");
    let trimmed = joined.trim_matches(|c: char| {
        c.is_ascii_punctuation()
            || c.is_whitespace()
            || matches!(c, '¿' | '¡' | '…' | '“' | '”' | '«' | '»')
    });
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

/// True when some word of `s` looks like an email address.
fn contains_email(s: &str) -> bool {
    s.split_whitespace().any(|w| {
        w.split_once('@')
            .is_some_and(|(user, host)| !user.is_empty() && host.contains('.'))
    })
}

impl Report {
    /// The report as a readable block.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "Report from {} to {}\n",
            super::stamp(self.since),
            super::stamp(self.until)
        );
        out.push_str(&format!("  answered:               {}\n", self.answered));
        out.push_str(&format!("  auto-closed:            {}\n", self.auto_closed));
        let handed: u64 = self.handovers.values().sum();
        out.push_str(&format!("  handed over:            {handed}\n"));
        for (reason, n) in &self.handovers {
            out.push_str(&format!("    {reason:<20} {n}\n"));
        }
        let rate = self
            .false_close_rate
            .map_or_else(|| "-".to_owned(), |r| format!("{:.1}%", r * 100.0));
        out.push_str(&format!(
            "  reopened within 24h of an auto-close: {} (false-close rate {rate})\n",
            self.reopened_after_close
        ));
        out.push_str(&format!(
            "  close lag:              median {}, p95 {}\n",
            ms(self.close_lag_median_ms),
            ms(self.close_lag_p95_ms)
        ));
        out.push_str(&format!(
            "  reply latency:          median {}\n",
            ms(self.reply_latency_median_ms)
        ));
        if self.top_no_knowledge.is_empty() {
            out.push_str("  no \"no knowledge\" handovers\n");
        } else {
            out.push_str("  unanswered questions (add these to the knowledge base):\n");
            for (q, n) in &self.top_no_knowledge {
                out.push_str(&format!("    {n:>4}  {q}\n"));
            }
        }
        out
    }

    /// The report as one JSON object with stable keys.
    pub fn to_json(&self) -> Value {
        json!({
            "since": super::stamp_ms(self.since),
            "until": super::stamp_ms(self.until),
            "answered": self.answered,
            "auto_closed": self.auto_closed,
            "handovers": self.handovers,
            "reopened_after_close": self.reopened_after_close,
            "false_close_rate": self.false_close_rate,
            "close_lag_ms": {"median": self.close_lag_median_ms, "p95": self.close_lag_p95_ms},
            "reply_latency_ms": {"median": self.reply_latency_median_ms},
            "top_no_knowledge": self.top_no_knowledge.iter()
                .map(|(q, n)| json!({"question": q, "count": n}))
                .collect::<Vec<_>>(),
        })
    }
}

fn ms(v: Option<u64>) -> String {
    match v {
        None => "-".to_owned(),
        Some(v) if v < 10_000 => format!("{v} ms"),
        Some(v) => format!("{:.1} s", v as f64 / 1000.0),
    }
}

/// The `report` command: loads the config (no secrets needed), reads the events since
/// `now - since`, prints the figures.
pub async fn run(config_path: &Path, since: Duration, as_json: bool) -> anyhow::Result<()> {
    let config = super::load_offline(config_path)?;
    let ledger = super::open_ledger(&config.ledger.path).await?;
    let now = Timestamp::now();
    let back = SignedDuration::try_from(since).unwrap_or(SignedDuration::MAX);
    let start = now.saturating_sub(back).unwrap_or(Timestamp::MIN);
    let events = ledger
        .events_since(start)
        .await
        .with_context(|| format!("reading the ledger {}", config.ledger.path.display()))?;
    let report = compute(&events, start, now);
    if as_json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.to_text());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row as the ledger stores it (kind, reason, detail).
    fn ev(at_s: i64, ticket: u64, kind: &str, reason: Option<&str>, detail: Value) -> EventRow {
        EventRow {
            id: at_s,
            at: Timestamp::from_second(1_700_000_000 + at_s).unwrap(),
            ticket_id: Some(ticket),
            event: Event::from_stored(kind, reason, Some(&detail.to_string())).unwrap(),
        }
    }

    #[test]
    fn an_email_reply_is_not_counted_as_the_unanswered_question() {
        let events = vec![
            ev(1, 1, "email_requested", Some("no_knowledge"), json!({})),
            ev(
                2,
                1,
                "handover",
                Some("no_knowledge"),
                json!({"question": "it's ada@example.org"}),
            ),
            ev(
                3,
                2,
                "email_requested",
                Some("no_knowledge"),
                json!({"question": "Do you ship to Mars?"}),
            ),
            ev(
                4,
                2,
                "handover",
                Some("no_knowledge"),
                json!({"question": "bo@example.org"}),
            ),
            // Email wait expired without a reply: the handover's text is the question.
            ev(5, 3, "email_requested", Some("no_knowledge"), json!({})),
            ev(
                6,
                3,
                "handover",
                Some("no_knowledge"),
                json!({"question": "Do you ship to Mars"}),
            ),
        ];
        let r = compute(&events, events[0].at, events[5].at);
        assert_eq!(r.handovers["no_knowledge"], 3);
        assert_eq!(
            r.top_no_knowledge,
            vec![("do you ship to mars".to_owned(), 2)]
        );
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        assert_eq!(percentile(&[], 50), None);
        assert_eq!(percentile(&[7], 95), Some(7));
        assert_eq!(percentile(&[1, 2, 3, 4], 50), Some(2));
        let twenty: Vec<u64> = (1..=20).collect();
        assert_eq!(percentile(&twenty, 95), Some(19));
        assert_eq!(percentile(&twenty, 50), Some(10));
    }

    #[test]
    fn questions_are_lowercased_and_trimmed_of_punctuation() {
        assert_eq!(
            normalise_question("  Do you ship   to MARS?? ").as_deref(),
            Some("do you ship to mars")
        );
        assert_eq!(
            normalise_question("¿Envían a Marte?").as_deref(),
            Some("envían a marte")
        );
        assert_eq!(normalise_question("?!"), None);
    }

    #[test]
    fn a_reopen_counts_only_within_24h_of_an_auto_close() {
        let day = 86_400;
        let events = vec![
            ev(0, 1, "closed", Some("idle"), json!({"lag_ms": 100})),
            ev(10, 2, "closed", Some("idle"), json!({"lag_ms": 300})),
            ev(20, 3, "closed", Some("idle"), json!({"lag_ms": 200})),
            // Ticket 1 reopens an hour later: a false close.
            ev(3600, 1, "state:active", Some("reopened"), json!({})),
            // Ticket 2 reopens after two days: the close was right.
            ev(2 * day, 2, "state:active", Some("reopened"), json!({})),
            // Ticket 4 was never auto-closed (e.g. closed by an agent).
            ev(30, 4, "state:active", Some("reopened"), json!({})),
            // A second reopen of ticket 1 does not count twice.
            ev(7200, 1, "state:active", Some("reopened"), json!({})),
        ];
        let r = compute(&events, events[0].at, events[4].at);
        assert_eq!(r.auto_closed, 3);
        assert_eq!(r.reopened_after_close, 1);
        assert_eq!(r.false_close_rate, Some(1.0 / 3.0));
        assert_eq!(r.close_lag_median_ms, Some(200));
        assert_eq!(r.close_lag_p95_ms, Some(300));
    }

    #[test]
    fn handovers_group_by_reason_and_no_knowledge_questions_rank() {
        let nk = |s, t, q: &str| {
            ev(
                s,
                t,
                "handover",
                Some("no_knowledge"),
                json!({"question": q, "availability": "online"}),
            )
        };
        let events = vec![
            nk(1, 1, "Do you ship to Mars?"),
            nk(2, 2, "do you ship to mars"),
            nk(3, 3, "Where is my order!"),
            ev(
                4,
                4,
                "handover",
                Some("requested"),
                json!({"question": "human"}),
            ),
            ev(5, 5, "answered", None, json!({"latency_ms": 900})),
            ev(6, 6, "answered", None, json!({"latency_ms": 100})),
            ev(7, 7, "answered", None, json!({"latency_ms": 500})),
        ];
        let r = compute(&events, events[0].at, events[6].at);
        assert_eq!(r.handovers["no_knowledge"], 3);
        assert_eq!(r.handovers["requested"], 1);
        assert_eq!(
            r.top_no_knowledge,
            vec![
                ("do you ship to mars".to_owned(), 2),
                ("where is my order".to_owned(), 1)
            ]
        );
        assert_eq!(r.answered, 3);
        assert_eq!(r.reply_latency_median_ms, Some(500));
        assert_eq!(r.false_close_rate, None);
        let j = r.to_json();
        assert_eq!(j["handovers"]["no_knowledge"], 3);
        assert_eq!(j["top_no_knowledge"][0]["count"], 2);
        assert_eq!(j["close_lag_ms"]["median"], Value::Null);
        assert!(
            r.to_text().contains("   2  do you ship to mars"),
            "{}",
            r.to_text()
        );
    }
}
