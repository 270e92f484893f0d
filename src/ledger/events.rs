//! The event log: what happened to tickets, for the audit trail, `/metrics`, `report`, `demo`
//! and `bench`. [`Event`] is the one type every writer (the engine plans them, the executor
//! stamps when they landed) and every reader uses; nobody re-parses JSON by name.
//!
//! Stored as the columns earlier versions wrote, so existing ledgers read back: `kind` ("answered",
//! "closed", "state:escalated", ...), `reason` (the reason's stored name) and `detail` (the
//! remaining fields as JSON, customer text cut to an excerpt). A stored row that does not read
//! back as an [`Event`] is `Corrupt`, naming the event and its ticket.

use std::borrow::Cow;

use jiff::Timestamp;
use rusqlite::{Connection, Row, params};
use serde::{Deserialize, Serialize};

use super::error::Ctx;
use super::{
    Cell, EXCERPT_BYTES, HandoverReason, Ledger, LedgerError, StateReason, TicketState, excerpt,
    in_write_tx, json_text, to_i64,
};

/// What the bot did or saw. Serialized with `kind` as the tag; [`Event::kind`] and
/// [`Event::reason`] are the stored columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// The ticket's state changed (stored kind `state:<to>`). `rule` names the lifecycle rule
    /// that decided (`engine::Rule::as_str`).
    #[serde(rename = "state")]
    StateChanged {
        to: TicketState,
        #[serde(default)]
        from: TicketState,
        #[serde(default)]
        reason: Option<StateReason>,
        #[serde(default)]
        rule: String,
    },
    /// The bot answered. `since` is when the customer started waiting; `latency_ms` is set by
    /// the executor once the reply has landed ([`Event::landed`]).
    Answered {
        #[serde(default)]
        question: String,
        #[serde(default)]
        sources: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        score: Option<f64>,
        /// The order whose status was the answer (order questions).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        order: Option<String>,
        #[serde(rename = "since_us", default, with = "micros")]
        since: Option<Timestamp>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        latency_ms: Option<u64>,
    },
    /// The idle close (stored reason `idle`). `lag_ms` is set by the executor once the close
    /// has landed.
    Closed {
        #[serde(rename = "deadline_us", default, with = "micros")]
        deadline: Option<Timestamp>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lag_ms: Option<u64>,
    },
    /// Handed over to people: a [`HandoverReason`], or `unreadable` (with the `error`).
    Handover {
        reason: StateReason,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        question: Option<String>,
        /// `engine::Availability::as_str` when the handover was decided.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        availability: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// The bot asked for the customer's email before a handover.
    EmailRequested {
        reason: HandoverReason,
        #[serde(default)]
        question: String,
    },
    /// Small talk; the stored reason is the kind of talk ("greeting", "thanks", ...).
    SmallTalk {
        #[serde(rename = "reason")]
        talk: String,
        replied: bool,
        #[serde(default)]
        question: String,
    },
    /// An answer with a template placeholder left in it, handed over instead (stored reason
    /// `no_knowledge`).
    UnrenderedAnswer {
        #[serde(default)]
        sources: Vec<String>,
    },
    /// The responder failed: retried later, or handed over past `answer_deadline`.
    ResponderFailed { reason: AfterFailure, error: String },
    /// The customer's orders could not be read (stored reason `order`).
    OrdersFailed { error: String },
    /// The bot asked for the order number (stored reason `order`).
    OrderNumberRequested {},
    /// The order number given matched no order of the customer's (stored reason `order`).
    OrderNotFound {},
}

/// What followed a responder failure (the stored reason of [`Event::ResponderFailed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AfterFailure {
    /// Asked again on the next poll.
    #[serde(rename = "retry")]
    Retry,
    /// `answer_deadline` passed: handed over with reason `error`.
    #[serde(rename = "error")]
    HandedOver,
}

impl AfterFailure {
    fn as_str(self) -> &'static str {
        match self {
            Self::Retry => "retry",
            Self::HandedOver => "error",
        }
    }
}

impl Event {
    /// The stored kind: "answered", "closed", "handover", "state:escalated", ...
    pub fn kind(&self) -> Cow<'static, str> {
        Cow::Borrowed(match self {
            Self::StateChanged { to, .. } => return Cow::Owned(format!("state:{}", to.as_str())),
            Self::Answered { .. } => "answered",
            Self::Closed { .. } => "closed",
            Self::Handover { .. } => "handover",
            Self::EmailRequested { .. } => "email_requested",
            Self::SmallTalk { .. } => "small_talk",
            Self::UnrenderedAnswer { .. } => "unrendered_answer",
            Self::ResponderFailed { .. } => "responder_failed",
            Self::OrdersFailed { .. } => "orders_failed",
            Self::OrderNumberRequested {} => "order_number_requested",
            Self::OrderNotFound {} => "order_not_found",
        })
    }

    /// The stored reason, when the event has one.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Self::StateChanged { reason, .. } => reason.map(StateReason::as_str),
            Self::Answered { .. } => None,
            Self::Closed { .. } => Some(StateReason::Idle.as_str()),
            Self::Handover { reason, .. } => Some(reason.as_str()),
            Self::EmailRequested { reason, .. } => Some(reason.as_str()),
            Self::SmallTalk { talk, .. } => Some(talk),
            Self::UnrenderedAnswer { .. } => Some(HandoverReason::NoKnowledge.as_str()),
            Self::ResponderFailed { reason, .. } => Some(reason.as_str()),
            Self::OrdersFailed { .. } | Self::OrderNumberRequested {} | Self::OrderNotFound {} => {
                Some(HandoverReason::Order.as_str())
            }
        }
    }

    /// The event as it stands once the plan's writes have landed at `at`: a close gets its lag
    /// behind the deadline, an answer its latency since the customer began waiting. That is
    /// what the customer sees, so the figures are measured to it.
    pub fn landed(mut self, at: Timestamp) -> Event {
        let ms_since = |t: Timestamp| {
            u64::try_from((at.as_microsecond() - t.as_microsecond()).max(0) / 1000).ok()
        };
        match &mut self {
            Self::Closed { deadline, lag_ms } => *lag_ms = deadline.and_then(ms_since),
            Self::Answered {
                since, latency_ms, ..
            } => *latency_ms = since.and_then(ms_since),
            _ => {}
        }
        self
    }

    /// The stored detail: every field but the kind and the reason.
    pub fn detail(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(obj) = v.as_object_mut() {
            obj.remove("kind");
            obj.remove("reason");
            if matches!(self, Self::StateChanged { .. }) {
                obj.remove("to");
            }
        }
        v
    }

    /// The inverse of ([`Event::kind`], [`Event::reason`], [`Event::detail`]): the event a
    /// stored row holds, or why it holds none.
    pub fn from_stored(
        kind: &str,
        reason: Option<&str>,
        detail: Option<&str>,
    ) -> Result<Event, String> {
        let mut obj = match detail {
            Some(d) => match serde_json::from_str::<serde_json::Value>(d) {
                Ok(serde_json::Value::Object(o)) => o,
                Ok(_) => return Err("detail is not a JSON object".to_owned()),
                Err(e) => return Err(format!("detail is not JSON: {e}")),
            },
            None => serde_json::Map::new(),
        };
        match kind.strip_prefix("state:") {
            Some(to) => {
                obj.insert("kind".into(), "state".into());
                obj.insert("to".into(), to.into());
            }
            None => {
                obj.insert("kind".into(), kind.into());
            }
        }
        if let Some(r) = reason {
            obj.insert("reason".into(), r.into());
        }
        serde_json::from_value(serde_json::Value::Object(obj)).map_err(|e| e.to_string())
    }
}

/// `Option<Timestamp>` as integer microseconds since the epoch (the stored `*_us` fields).
mod micros {
    use jiff::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_i64(t.as_microsecond()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
        Option::<i64>::deserialize(d)?
            .map(|us| Timestamp::from_microsecond(us).map_err(serde::de::Error::custom))
            .transpose()
    }
}

/// An event to append to the event log.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub at: Timestamp,
    pub ticket_id: Option<u64>,
    pub event: Event,
}

impl NewEvent {
    /// An event about one ticket.
    pub fn ticket(at: Timestamp, ticket_id: u64, event: Event) -> Self {
        Self {
            at,
            ticket_id: Some(ticket_id),
            event,
        }
    }

    /// An event about the bot as a whole, not one ticket.
    pub fn global(at: Timestamp, event: Event) -> Self {
        Self {
            at,
            ticket_id: None,
            event,
        }
    }
}

/// One entry of the event log, as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    pub id: i64,
    pub at: Timestamp,
    pub ticket_id: Option<u64>,
    pub event: Event,
}

const EVENT_COLS: &str = "id, at, ticket_id, kind, reason, detail";

impl Ledger {
    /// Appends an event to the event log.
    pub async fn record_event(&self, e: NewEvent) -> Result<(), LedgerError> {
        self.call(move |c| {
            let what = format!("record event {}", e.event.kind());
            in_write_tx(c, &what, |tx| insert_event(tx, &what, &e))
        })
        .await
    }

    /// Events at or after `since`, oldest first.
    pub async fn events_since(&self, since: Timestamp) -> Result<Vec<EventRow>, LedgerError> {
        let since_us = since.as_microsecond();
        self.call(move |c| {
            let what = format!("read events since {since}");
            let sql = format!("SELECT {EVENT_COLS} FROM events WHERE at >= ?1 ORDER BY at, id");
            query_events(c, &what, &sql, [since_us])
        })
        .await
    }

    /// The newest `limit` events (of one stored kind, e.g. "responder_failed", if given),
    /// newest first.
    pub async fn recent_events(
        &self,
        kind: Option<&str>,
        limit: usize,
    ) -> Result<Vec<EventRow>, LedgerError> {
        let kind = kind.map(str::to_owned);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.call(move |c| {
            let what = format!("read recent events ({})", kind.as_deref().unwrap_or("all"));
            match kind {
                Some(k) => {
                    let sql = format!(
                        "SELECT {EVENT_COLS} FROM events WHERE kind = ?1 \
                         ORDER BY at DESC, id DESC LIMIT ?2"
                    );
                    query_events(c, &what, &sql, params![k, limit])
                }
                None => {
                    let sql = format!(
                        "SELECT {EVENT_COLS} FROM events ORDER BY at DESC, id DESC LIMIT ?1"
                    );
                    query_events(c, &what, &sql, [limit])
                }
            }
        })
        .await
    }
}

/// Every string in a JSON value cut to an [`excerpt`] of [`EXCERPT_BYTES`].
fn excerpt_strings(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::String(s) if s.len() > EXCERPT_BYTES => {
            *s = excerpt(s, EXCERPT_BYTES).into_owned();
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(excerpt_strings),
        serde_json::Value::Object(map) => map.values_mut().for_each(excerpt_strings),
        _ => {}
    }
}

fn event_from_row(r: &Row<'_>) -> Result<EventRow, LedgerError> {
    let what = "read an events row";
    let id: i64 = r.get(0).ctx(what)?;
    let cell = Cell::new("events", format!("id={id}"));
    let ticket_id = cell.u64("ticket_id", r.get(2).ctx(what)?)?;
    let kind: String = r.get(3).ctx(what)?;
    let reason: Option<String> = r.get(4).ctx(what)?;
    let detail: Option<String> = r.get(5).ctx(what)?;
    let event = Event::from_stored(&kind, reason.as_deref(), detail.as_deref()).map_err(|why| {
        let ticket = ticket_id.map_or_else(|| "no ticket".to_owned(), |t| format!("ticket {t}"));
        cell.corrupt("kind/reason/detail", &kind, &format!("({ticket}) {why}:"))
    })?;
    Ok(EventRow {
        id,
        at: cell.ts_req("at", r.get(1).ctx(what)?)?,
        ticket_id,
        event,
    })
}

fn query_events(
    c: &Connection,
    what: &str,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<EventRow>, LedgerError> {
    super::query_rows(c, what, sql, params, event_from_row)
}

pub(super) fn insert_event(c: &Connection, what: &str, e: &NewEvent) -> Result<(), LedgerError> {
    let ticket_id = e
        .ticket_id
        .map(|v| to_i64("event ticket id", v))
        .transpose()?;
    let mut detail = e.event.detail();
    excerpt_strings(&mut detail);
    let detail = json_text("event detail", &detail)?;
    let reason = e
        .event
        .reason()
        .map(|r| excerpt(r, EXCERPT_BYTES).into_owned());
    c.prepare_cached(
        "INSERT INTO events (at, ticket_id, kind, reason, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut s| {
        s.execute(params![
            e.at.as_microsecond(),
            ticket_id,
            e.event.kind(),
            reason,
            detail
        ])
    })
    .ctx(what)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap()
    }

    fn every_kind() -> Vec<Event> {
        vec![
            Event::StateChanged {
                to: TicketState::Escalated,
                from: TicketState::Active,
                reason: Some(StateReason::Handover(HandoverReason::Requested)),
                rule: "customer_turn".into(),
            },
            Event::Answered {
                question: "where?".into(),
                sources: vec!["shop.toml#3".into()],
                score: Some(0.75),
                order: None,
                since: Some(ts(100)),
                latency_ms: Some(412),
            },
            Event::Closed {
                deadline: Some(ts(200)),
                lag_ms: Some(7),
            },
            Event::Handover {
                reason: StateReason::Unreadable,
                question: None,
                availability: None,
                error: Some("bad datetime".into()),
            },
            Event::EmailRequested {
                reason: HandoverReason::Frustrated,
                question: "q".into(),
            },
            Event::SmallTalk {
                talk: "thanks".into(),
                replied: false,
                question: "merci".into(),
            },
            Event::UnrenderedAnswer {
                sources: vec!["m1".into()],
            },
            Event::ResponderFailed {
                reason: AfterFailure::Retry,
                error: "timed out".into(),
            },
            Event::OrdersFailed {
                error: "500".into(),
            },
            Event::OrderNumberRequested {},
            Event::OrderNotFound {},
        ]
    }

    #[test]
    fn every_event_reads_back_from_its_stored_columns() {
        for e in every_kind() {
            let detail = e.detail().to_string();
            let back = Event::from_stored(&e.kind(), e.reason(), Some(&detail)).unwrap();
            assert_eq!(back, e, "{detail}");
        }
    }

    #[test]
    fn the_stored_columns_are_the_ones_earlier_versions_wrote() {
        let closed = Event::Closed {
            deadline: Some(ts(1)),
            lag_ms: None,
        };
        assert_eq!(closed.kind(), "closed");
        assert_eq!(closed.reason(), Some("idle"));
        assert_eq!(
            closed.detail(),
            serde_json::json!({"deadline_us": 1_000_000})
        );
        let state = &every_kind()[0];
        assert_eq!(state.kind(), "state:escalated");
        assert_eq!(state.reason(), Some("requested"));
        assert_eq!(
            state.detail(),
            serde_json::json!({"from": "active", "rule": "customer_turn"})
        );
        // A row as an earlier version wrote it.
        let old = Event::from_stored(
            "answered",
            None,
            Some(
                r#"{"sources":["a"],"score":1.5,"question":"q","since_us":5000000,"latency_ms":9}"#,
            ),
        )
        .unwrap();
        assert!(
            matches!(old, Event::Answered { latency_ms: Some(9), since: Some(s), .. } if s == ts(5))
        );
    }

    #[test]
    fn landing_turns_deadlines_into_lag_and_waits_into_latency() {
        let closed = Event::Closed {
            deadline: Some(ts(10)),
            lag_ms: None,
        }
        .landed(ts(12));
        assert_eq!(
            closed,
            Event::Closed {
                deadline: Some(ts(10)),
                lag_ms: Some(2000)
            }
        );
        // Landed before the deadline (a clock step): never negative.
        let early = Event::Closed {
            deadline: Some(ts(10)),
            lag_ms: None,
        }
        .landed(ts(9));
        assert!(matches!(
            early,
            Event::Closed {
                lag_ms: Some(0),
                ..
            }
        ));
    }

    #[test]
    fn an_unknown_kind_or_reason_is_an_error_not_a_default() {
        assert!(Event::from_stored("poll", None, None).is_err());
        assert!(Event::from_stored("handover", Some("bored"), Some("{}")).is_err());
        assert!(Event::from_stored("closed", Some("idle"), Some("[1]")).is_err());
    }
}
