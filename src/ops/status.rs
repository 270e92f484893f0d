//! `perfectbot status`: the ledger's picture now, for an operator at a shell.
//!
//! Reads the ledger through a read-only handle (works while the daemon runs and writes), never
//! the network. It shows what the daemon remembers, not what Gorgias says: a ticket changed
//! in Gorgias since the last poll shows as the ledger last saw it.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::{ago, relative};
use crate::ledger::{EventRow, Ledger, LedgerError, TicketState};

/// How many deadlines and errors the picture lists.
const SHOWN: usize = 5;

/// One ticket's next deadline.
#[derive(Debug, Clone, PartialEq)]
pub struct Deadline {
    pub ticket_id: u64,
    pub at: Timestamp,
}

/// A recent failure: a ticket-level error event, or the daemon's `last_error`.
#[derive(Debug, Clone, PartialEq)]
pub struct RecentError {
    pub at: Timestamp,
    pub ticket_id: Option<u64>,
    pub kind: String,
    pub reason: Option<String>,
    /// The error text from the event's detail (`detail.error`), else the whole detail.
    pub message: Option<String>,
}

/// The ledger's picture at `now`.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub now: Timestamp,
    /// Tickets per ledger state; every state is present.
    pub counts: BTreeMap<String, u64>,
    /// The earliest idle-close deadlines (state `answered`), earliest first.
    pub next_closes: Vec<Deadline>,
    /// `awaiting_email` tickets and when their email wait ends, earliest first.
    pub email_waits: Vec<Deadline>,
    pub last_poll_at: Option<Timestamp>,
    pub last_pass_ok: Option<Timestamp>,
    /// The daemon's `last_error` meta value, as written ("<when>: <what>").
    pub last_error: Option<String>,
    /// The newest `responder_failed` / `error` events, newest first.
    pub recent_errors: Vec<RecentError>,
    /// Actions recorded but not confirmed (normally 0 between passes).
    pub pending_actions: usize,
    /// The knowledge sources (macros, sites): last refresh, last error, entries in use.
    pub sources: Vec<crate::ledger::SourceStatusRow>,
    /// A last poll older than this is flagged as stale (the daemon may be down or stuck);
    /// None: never flagged.
    pub stale_after: Option<SignedDuration>,
}

impl Status {
    /// True when the daemon has not polled within `stale_after` (or never has).
    pub fn poll_is_stale(&self) -> bool {
        match (self.stale_after, self.last_poll_at) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(limit), Some(at)) => self.now.duration_since(at) > limit,
        }
    }
}

/// Reads the picture from `ledger` at `now`; `email_wait` is `timing.email_wait`.
pub async fn gather(
    ledger: &Ledger,
    now: Timestamp,
    email_wait: SignedDuration,
) -> Result<Status, LedgerError> {
    let counts = ledger.counts_by_state().await?;
    let mut next_closes: Vec<Deadline> = ledger
        .tickets_in_states(&[TicketState::Answered])
        .await?
        .into_iter()
        .filter_map(|r| {
            r.close_deadline.map(|at| Deadline {
                ticket_id: r.ticket_id,
                at,
            })
        })
        .collect();
    next_closes.sort_by_key(|d| (d.at, d.ticket_id));
    next_closes.truncate(SHOWN);
    let mut email_waits: Vec<Deadline> = ledger
        .tickets_in_states(&[TicketState::AwaitingEmail])
        .await?
        .into_iter()
        .filter_map(|r| {
            r.email_requested_at.map(|asked| Deadline {
                ticket_id: r.ticket_id,
                at: asked.saturating_add(email_wait).unwrap_or(Timestamp::MAX),
            })
        })
        .collect();
    email_waits.sort_by_key(|d| (d.at, d.ticket_id));

    let crate::ledger::DaemonMeta {
        last_poll_at,
        last_pass_ok,
        last_error,
    } = ledger.daemon_meta().await?;

    let mut errors: Vec<EventRow> = Vec::new();
    for kind in ["responder_failed", "error"] {
        errors.extend(ledger.recent_events(Some(kind), SHOWN).await?);
    }
    errors.sort_by_key(|e| std::cmp::Reverse((e.at, e.id)));
    errors.truncate(SHOWN);
    let recent_errors = errors.into_iter().map(recent_error).collect();
    let pending_actions = ledger.pending_actions().await?.len();
    let sources = ledger.source_statuses().await?;
    Ok(Status {
        now,
        counts,
        next_closes,
        email_waits,
        last_poll_at,
        last_pass_ok,
        last_error,
        recent_errors,
        pending_actions,
        sources,
        stale_after: None,
    })
}

fn recent_error(e: EventRow) -> RecentError {
    let message = match e.event.detail() {
        Value::Object(o) => match o.get("error") {
            Some(Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
            None => Value::Object(o).to_string(),
        },
        v => v.to_string(),
    };
    RecentError {
        at: e.at,
        ticket_id: e.ticket_id,
        kind: e.event.kind().into_owned(),
        reason: e.event.reason().map(str::to_owned),
        message: Some(message),
    }
}

impl Status {
    /// The picture as a readable block.
    pub fn to_text(&self) -> String {
        let now = self.now;
        let mut out = String::new();
        let total: u64 = self.counts.values().sum();
        out.push_str(&format!("Tickets in the ledger: {total}\n"));
        for state in TicketState::ALL {
            let n = self.counts.get(state.as_str()).copied().unwrap_or(0);
            out.push_str(&format!("  {:<15} {n}\n", state.as_str()));
        }

        let deadline = |d: &Deadline| {
            format!(
                "  ticket {:<8} {} ({})\n",
                d.ticket_id,
                relative(now, d.at),
                super::stamp(d.at)
            )
        };
        out.push_str("Next closes:\n");
        if self.next_closes.is_empty() {
            out.push_str("  none\n");
        }
        for d in &self.next_closes {
            out.push_str(&deadline(d));
        }
        if !self.email_waits.is_empty() {
            out.push_str("Waiting for an email (handover when the wait ends):\n");
            for d in &self.email_waits {
                out.push_str(&deadline(d));
            }
        }

        let when = |t: Option<Timestamp>| match t {
            Some(t) => format!("{} ({})", super::stamp(t), ago(now, t)),
            None => "never".to_owned(),
        };
        out.push_str(&format!(
            "Last poll:       {}{}\n",
            when(self.last_poll_at),
            if self.poll_is_stale() {
                "  STALE: is the daemon running? (systemctl status perfectbot)"
            } else {
                ""
            }
        ));
        out.push_str(&format!("Last good pass:  {}\n", when(self.last_pass_ok)));
        out.push_str(&format!(
            "Last error:      {}\n",
            self.last_error.as_deref().unwrap_or("none")
        ));
        if !self.recent_errors.is_empty() {
            out.push_str("Recent failures:\n");
            for e in &self.recent_errors {
                let ticket = e
                    .ticket_id
                    .map_or_else(String::new, |id| format!(" ticket {id}"));
                let reason = e
                    .reason
                    .as_deref()
                    .map_or_else(String::new, |r| format!(" ({r})"));
                out.push_str(&format!(
                    "  {} {}{ticket} {}{reason}: {}\n",
                    super::stamp(e.at),
                    ago(now, e.at),
                    e.kind,
                    e.message.as_deref().unwrap_or("-")
                ));
            }
        }
        if !self.sources.is_empty() {
            out.push_str("Knowledge sources:\n");
            for src in &self.sources {
                let ok = src
                    .last_ok
                    .map_or_else(|| "never".to_owned(), |t| format!("{t} ({})", ago(now, t)));
                let error = match (&src.last_error, src.last_attempt) {
                    (Some(e), Some(at)) => format!("; FAILING since {at}: {e}"),
                    (Some(e), None) => format!("; FAILING: {e}"),
                    _ => String::new(),
                };
                out.push_str(&format!(
                    "  {}: {} entries, last refreshed {ok}{error}\n",
                    src.name, src.entries
                ));
            }
        }
        out.push_str(&format!(
            "Unfinished actions: {}{}\n",
            self.pending_actions,
            if self.pending_actions > 0 {
                " (re-checked against Gorgias on the next pass or start-up)"
            } else {
                ""
            }
        ));
        out
    }

    /// The picture as one JSON object with stable keys.
    pub fn to_json(&self) -> Value {
        let now = self.now;
        let deadline = |d: &Deadline| {
            json!({
                "ticket_id": d.ticket_id,
                "at": super::stamp_ms(d.at),
                "in_secs": d.at.duration_since(now).as_secs(),
            })
        };
        let ts = |t: Option<Timestamp>| t.map(super::stamp_ms);
        let age = |t: Option<Timestamp>| t.map(|t| now.duration_since(t).as_secs());
        json!({
            "now": super::stamp_ms(now),
            "tickets": self.counts,
            "next_closes": self.next_closes.iter().map(deadline).collect::<Vec<_>>(),
            "email_waits": self.email_waits.iter().map(deadline).collect::<Vec<_>>(),
            "last_poll_at": ts(self.last_poll_at),
            "last_poll_age_secs": age(self.last_poll_at),
            "last_poll_stale": self.poll_is_stale(),
            "last_pass_ok": ts(self.last_pass_ok),
            "last_pass_ok_age_secs": age(self.last_pass_ok),
            "last_error": self.last_error,
            "recent_errors": self.recent_errors.iter().map(|e| json!({
                "at": super::stamp_ms(e.at),
                "ticket_id": e.ticket_id,
                "kind": e.kind,
                "reason": e.reason,
                "message": e.message,
            })).collect::<Vec<_>>(),
            "pending_actions": self.pending_actions,
            "sources": self.sources.iter().map(|s| json!({
                "name": s.name,
                "entries": s.entries,
                "last_attempt": ts(s.last_attempt),
                "last_ok": ts(s.last_ok),
                "last_error": s.last_error,
            })).collect::<Vec<_>>(),
        })
    }
}

/// The `status` command: loads the config (no secrets needed), reads the ledger, prints.
pub async fn run(config_path: &Path, as_json: bool) -> anyhow::Result<()> {
    let config = super::load_offline(config_path)?;
    let ledger = super::open_ledger(&config.ledger.path).await?;
    let email_wait =
        SignedDuration::try_from(config.timing.email_wait).unwrap_or(SignedDuration::MAX);
    let mut status = gather(&ledger, Timestamp::now(), email_wait)
        .await
        .with_context(|| format!("reading the ledger {}", config.ledger.path.display()))?;
    let stale = crate::health::stale_after(config.timing.poll_interval);
    status.stale_after = Some(SignedDuration::try_from(stale).unwrap_or(SignedDuration::MAX));
    if as_json {
        println!("{}", status.to_json());
    } else {
        print!("{}", status.to_text());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{NewEvent, TicketRow};

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[tokio::test]
    async fn status_lists_earliest_closes_email_waits_and_errors() {
        let l = Ledger::open_in_memory().await.unwrap();
        let now = ts("2026-03-01T10:00:00Z");
        for (id, offset) in [(1u64, 60i64), (2, -3), (3, 42), (4, 600), (5, 7), (6, 9)] {
            let mut r = TicketRow::new(id, now);
            r.state = TicketState::Answered;
            r.close_deadline = Some(now + SignedDuration::from_secs(offset));
            l.save_ticket(&r).await.unwrap();
        }
        let mut r = TicketRow::new(7, now);
        r.state = TicketState::AwaitingEmail;
        r.email_requested_at = Some(now - SignedDuration::from_secs(100));
        l.save_ticket(&r).await.unwrap();
        let mut r = TicketRow::new(8, now);
        r.state = TicketState::Escalated;
        l.save_ticket(&r).await.unwrap();
        l.record_event(NewEvent::ticket(
            now - SignedDuration::from_secs(30),
            3,
            crate::ledger::Event::ResponderFailed {
                reason: crate::ledger::AfterFailure::Retry,
                error: "openai timed out".into(),
            },
        ))
        .await
        .unwrap();
        l.record_poll_done(now - SignedDuration::from_secs(4))
            .await
            .unwrap();
        l.record_error(ts("2026-03-01T09:59:00Z"), None, &"Gorgias 503")
            .await
            .unwrap();
        let src = |s: i64| now - SignedDuration::from_secs(s);
        l.record_source_refresh("macros", src(60), Ok(3))
            .await
            .unwrap();
        l.record_source_refresh("site:https://help.example/sitemap.xml", src(120), Ok(8))
            .await
            .unwrap();
        l.record_source_refresh(
            "site:https://help.example/sitemap.xml",
            src(10),
            Err("HTTP 503".into()),
        )
        .await
        .unwrap();

        let s = gather(&l, now, SignedDuration::from_secs(300))
            .await
            .unwrap();
        assert_eq!(s.counts["answered"], 6);
        assert_eq!(s.counts["awaiting_email"], 1);
        assert_eq!(s.counts["escalated"], 1);
        assert_eq!(s.counts["closed"], 0);
        let ids: Vec<u64> = s.next_closes.iter().map(|d| d.ticket_id).collect();
        assert_eq!(ids, vec![2, 5, 6, 3, 1]);
        assert_eq!(
            s.email_waits,
            vec![Deadline {
                ticket_id: 7,
                at: now + SignedDuration::from_secs(200)
            }]
        );
        assert_eq!(s.recent_errors.len(), 1);
        assert_eq!(
            s.recent_errors[0].message.as_deref(),
            Some("openai timed out")
        );

        let text = s.to_text();
        assert!(text.contains("ticket 2        overdue 3s"), "{text}");
        assert!(text.contains("ticket 3        in 42s"), "{text}");
        assert!(text.contains("ticket 7        in 3m 20s"), "{text}");
        assert!(
            text.contains("Last poll:       2026-03-01T09:59:56Z (4s ago)"),
            "{text}"
        );
        assert!(text.contains("Last good pass:  never"), "{text}");
        assert!(!text.contains("STALE"), "{text}");
        assert!(text.contains("Gorgias 503"), "{text}");
        assert!(text.contains("openai timed out"), "{text}");
        assert!(!text.contains("ticket 4 "), "only the 5 earliest: {text}");
        assert!(
            text.contains(
                "  macros: 3 entries, last refreshed 2026-03-01T09:59:00Z (1m 00s ago)\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "  site:https://help.example/sitemap.xml: 8 entries, last refreshed \
                 2026-03-01T09:58:00Z (2m 00s ago); FAILING since 2026-03-01T09:59:50Z: HTTP 503"
            ),
            "{text}"
        );

        let j = s.to_json();
        assert_eq!(j["tickets"]["answered"], 6);
        assert_eq!(j["next_closes"][0]["ticket_id"], 2);
        assert_eq!(j["next_closes"][0]["in_secs"], -3);
        assert_eq!(j["last_poll_age_secs"], 4);
        assert_eq!(j["pending_actions"], 0);
        assert_eq!(j["last_poll_stale"], false);
        assert_eq!(j["sources"][1]["last_error"], "HTTP 503");
        assert_eq!(j["sources"][0]["entries"], 3);

        let mut s = s;
        s.stale_after = Some(SignedDuration::from_secs(60));
        assert!(!s.poll_is_stale());
        s.now = now + SignedDuration::from_secs(120);
        assert!(s.poll_is_stale());
        assert!(s.to_text().contains("STALE: is the daemon running?"));
    }
}
