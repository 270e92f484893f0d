//! The Prometheus metrics: their names, the one process-wide recorder, and the small recording
//! functions the daemon, the executor and the Gorgias client call. It owns no state of its own
//! beyond the recorder; it must not decide anything (a metric is only ever a side note).
//!
//! Recording works whether or not a recorder is installed (without one, the `metrics` facade
//! drops the values), so the daemon records unconditionally and only `perfectbot run` with
//! `[http] listen` (or a test) installs the recorder. A process can hold one global recorder:
//! [`install`] is idempotent, and every caller shares the same [`PrometheusHandle`].

use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Duration;

pub const ANSWERS: &str = "perfectbot_answers_total";
pub const HANDOVERS: &str = "perfectbot_handovers_total";
pub const CLOSES: &str = "perfectbot_closes_total";
pub const CLOSE_LAG: &str = "perfectbot_close_lag_seconds";
pub const REPLY_LATENCY: &str = "perfectbot_reply_latency_seconds";
pub const API_REQUESTS: &str = "perfectbot_api_requests_total";
pub const API_RATE_LIMITED: &str = "perfectbot_api_rate_limited_total";
pub const POLL_DURATION: &str = "perfectbot_poll_duration_seconds";
pub const POLL_FAILURES: &str = "perfectbot_poll_failures_total";
pub const TICKETS: &str = "perfectbot_tickets";
pub const KB_ENTRIES: &str = "perfectbot_kb_entries";

/// Close lag: from the close deadline to the close landing. Mostly the poll interval.
const CLOSE_LAG_BUCKETS: &[f64] = &[0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0];
/// Reply latency: from the customer's message to the answer landing.
const REPLY_LATENCY_BUCKETS: &[f64] = &[0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0];
/// One poll: a view listing plus the changed tickets read and acted on.
const POLL_BUCKETS: &[f64] = &[0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

static HANDLE: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();

/// Why the recorder could not be installed.
#[derive(Debug, thiserror::Error)]
#[error("cannot install the Prometheus recorder: {0}")]
pub struct InstallError(String);

/// Install the process-wide Prometheus recorder (once; later calls return the same handle) and
/// describe every metric. Render with [`PrometheusHandle::render`]; call
/// [`PrometheusHandle::run_upkeep`] on a timer (the HTTP listener does) or histograms grow.
pub fn install() -> Result<PrometheusHandle, InstallError> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(CLOSE_LAG.into()), CLOSE_LAG_BUCKETS)
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full(REPLY_LATENCY.into()),
                        REPLY_LATENCY_BUCKETS,
                    )
                })
                .and_then(|b| {
                    b.set_buckets_for_metric(Matcher::Full(POLL_DURATION.into()), POLL_BUCKETS)
                })
                .map_err(|e| e.to_string())?;
            let handle = builder.install_recorder().map_err(|e| e.to_string())?;
            describe();
            Ok(handle)
        })
        .clone()
        .map_err(InstallError)
}

/// HELP lines, and the unlabelled series at zero so that a scrape shows them from the start.
fn describe() {
    describe_counter!(ANSWERS, "Answers the bot posted.");
    describe_counter!(HANDOVERS, "Tickets handed to humans, by reason.");
    describe_counter!(CLOSES, "Tickets the bot closed after the idle time.");
    describe_histogram!(
        CLOSE_LAG,
        metrics::Unit::Seconds,
        "From a close deadline to the close landing in Gorgias."
    );
    describe_histogram!(
        REPLY_LATENCY,
        metrics::Unit::Seconds,
        "From the customer's message to the bot's answer landing in Gorgias."
    );
    describe_counter!(
        API_REQUESTS,
        "Gorgias API responses, by endpoint (method and path pattern) and status."
    );
    describe_counter!(API_RATE_LIMITED, "Gorgias API answers 429 (rate limited).");
    describe_histogram!(
        POLL_DURATION,
        metrics::Unit::Seconds,
        "Duration of one poll (listing plus acting)."
    );
    describe_counter!(POLL_FAILURES, "Polls that failed as a whole.");
    describe_gauge!(TICKETS, "Tickets in the ledger, by state.");
    describe_gauge!(
        KB_ENTRIES,
        "Knowledge entries in use, by source kind (file, note, macro, site)."
    );
    counter!(ANSWERS).absolute(0);
    counter!(CLOSES).absolute(0);
    counter!(API_RATE_LIMITED).absolute(0);
    counter!(POLL_FAILURES).absolute(0);
}

/// Count one executed plan event: answers (with the reply latency), handovers (by reason),
/// idle closes (with the close lag). The executor passes it once the writes have landed
/// ([`crate::ledger::Event::landed`]). Other events are not counted.
pub fn record_event(event: &crate::ledger::Event) {
    use crate::ledger::Event;
    let secs = |ms: u64| ms as f64 / 1000.0;
    match event {
        Event::Answered { latency_ms, .. } => {
            counter!(ANSWERS).increment(1);
            if let Some(ms) = latency_ms {
                histogram!(REPLY_LATENCY).record(secs(*ms));
            }
        }
        Event::Handover { reason, .. } => {
            counter!(HANDOVERS, "reason" => reason.as_str()).increment(1);
        }
        Event::Closed { lag_ms, .. } => {
            counter!(CLOSES).increment(1);
            if let Some(ms) = lag_ms {
                histogram!(CLOSE_LAG).record(secs(*ms));
            }
        }
        _ => {}
    }
}

/// Count one Gorgias API response (`status` = its HTTP status, or "error" when there was no
/// response). The path's numeric ids become `{id}` so the label set stays small.
pub fn record_api_response(method: &str, path: &str, status: &str) {
    counter!(
        API_REQUESTS,
        "endpoint" => endpoint(method, path),
        "status" => status.to_owned()
    )
    .increment(1);
}

/// Count one 429 from Gorgias.
pub fn record_rate_limited() {
    counter!(API_RATE_LIMITED).increment(1);
}

/// Record one poll: its duration, and whether it failed as a whole.
pub fn record_poll(took: Duration, ok: bool) {
    histogram!(POLL_DURATION).record(took.as_secs_f64());
    if !ok {
        counter!(POLL_FAILURES).increment(1);
    }
}

/// Set the tickets-by-state gauge from the ledger's counts (every state, zeros included).
pub fn record_ticket_counts(counts: &BTreeMap<String, u64>) {
    for (state, n) in counts {
        gauge!(TICKETS, "state" => state.clone()).set(*n as f64);
    }
}

/// Set the knowledge-entries gauge from the kinds of the entries in use (`file`, `note`,
/// `macro`, `site`: see `knowledge::kind_of`), every kind shown, zeros included.
pub fn record_kb_entries(kinds: impl IntoIterator<Item = &'static str>) {
    let mut counts: BTreeMap<&'static str, u64> = ["file", "note", "macro", "site"]
        .into_iter()
        .map(|k| (k, 0))
        .collect();
    for kind in kinds {
        *counts.entry(kind).or_default() += 1;
    }
    for (kind, n) in counts {
        gauge!(KB_ENTRIES, "source" => kind).set(n as f64);
    }
}

/// "GET /api/tickets/{id}/messages" from ("GET", "/api/tickets/123/messages?x=1").
pub fn endpoint(method: &str, path: &str) -> String {
    let path = path.split(['?', '#']).next().unwrap_or("");
    let mut out = String::with_capacity(method.len() + path.len() + 4);
    out.push_str(method);
    out.push_str(" /");
    let mut first = true;
    for seg in path.trim_start_matches('/').split('/') {
        if !first {
            out.push('/');
        }
        first = false;
        if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str("{id}");
        } else {
            out.push_str(seg);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_replaces_ids_and_drops_the_query() {
        assert_eq!(
            endpoint("GET", "/api/tickets/123/messages?cursor=abc"),
            "GET /api/tickets/{id}/messages"
        );
        assert_eq!(endpoint("PUT", "/api/tickets/9"), "PUT /api/tickets/{id}");
        assert_eq!(endpoint("GET", "/api/users/0"), "GET /api/users/{id}");
        assert_eq!(endpoint("GET", "/api/views/"), "GET /api/views/");
        assert_eq!(endpoint("GET", "api/tickets"), "GET /api/tickets");
        assert_eq!(
            endpoint("POST", "/api/views/12/items"),
            "POST /api/views/{id}/items"
        );
    }

    #[test]
    fn knowledge_entries_are_counted_by_source() {
        let handle = install().expect("install");
        record_kb_entries(["file", "note", "macro", "macro", "site"]);
        let text = handle.render();
        for line in [
            "perfectbot_kb_entries{source=\"file\"} 1",
            "perfectbot_kb_entries{source=\"note\"} 1",
            "perfectbot_kb_entries{source=\"macro\"} 2",
            "perfectbot_kb_entries{source=\"site\"} 1",
        ] {
            assert!(text.contains(line), "{line} not in:\n{text}");
        }
    }

    #[test]
    fn install_is_idempotent_and_renders_recorded_events() {
        let a = install().expect("first install");
        let b = install().expect("second install returns the same handle");
        use crate::ledger::{Event, HandoverReason, StateReason, TicketState};
        record_event(&Event::Answered {
            question: String::new(),
            sources: Vec::new(),
            score: None,
            order: None,
            since: Some(jiff::Timestamp::UNIX_EPOCH),
            latency_ms: Some(1500),
        });
        record_event(&Event::Handover {
            reason: HandoverReason::Requested.into(),
            question: None,
            availability: None,
            error: None,
        });
        record_event(&Event::Closed {
            deadline: None,
            lag_ms: Some(200),
        });
        record_event(&Event::StateChanged {
            to: TicketState::Answered,
            from: TicketState::Active,
            reason: Some(StateReason::Answered),
            rule: "customer_turn".into(),
        });
        record_api_response("GET", "/api/tickets/5", "200");
        let text = b.render();
        a.run_upkeep();
        for name in [ANSWERS, CLOSES, POLL_FAILURES, API_RATE_LIMITED] {
            assert!(
                text.contains(&format!("{name} ")),
                "{name} missing:\n{text}"
            );
        }
        assert!(
            text.contains(r#"perfectbot_handovers_total{reason="requested"}"#),
            "{text}"
        );
        assert!(
            text.contains(r#"endpoint="GET /api/tickets/{id}",status="200""#),
            "{text}"
        );
        // Buckets, not a summary: a histogram has `_bucket` lines with `le`.
        assert!(
            text.contains(r#"perfectbot_reply_latency_seconds_bucket{le="2.5"}"#),
            "{text}"
        );
        assert!(
            text.contains(r#"perfectbot_close_lag_seconds_bucket{le="0.25"}"#),
            "{text}"
        );
    }
}
