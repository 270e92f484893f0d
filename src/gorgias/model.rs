//! Typed, lenient models of the Gorgias API objects the bot uses. Unknown fields are ignored,
//! missing optional fields default, and datetimes parse with or without an offset (none = UTC).
//! These are the client's view of the API; the simulator keeps its own representation.

use jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serialize};

/// The datetimes believed from Gorgias: from 1970 to 2200. Beyond, the time arithmetic done
/// on them (a deadline is a datetime plus a duration) could overflow; a ticket carrying one is
/// a ticket that cannot be read, and is handled as such.
const SANE_SECONDS: std::ops::Range<i64> = 0..7_258_118_400;

/// Parse a Gorgias datetime: RFC 3339 with offset, or a naive datetime meaning UTC, between
/// 1970 and 2200.
pub fn parse_datetime(s: &str) -> Result<Timestamp, String> {
    let t = match s.parse::<Timestamp>() {
        Ok(t) => t,
        Err(_) => match s.parse::<jiff::civil::DateTime>() {
            Ok(dt) => jiff::tz::TimeZone::UTC
                .to_timestamp(dt)
                .map_err(|e| format!("{s:?}: {e}"))?,
            Err(e) => return Err(format!("{s:?} is not a datetime: {e}")),
        },
    };
    if !SANE_SECONDS.contains(&t.as_second()) {
        return Err(format!("{s:?} is outside 1970 to 2200"));
    }
    Ok(t)
}

/// Serde helpers for `Option<Timestamp>` in Gorgias's formats.
pub mod opt_datetime {
    use super::*;
    /// Deserialize null, a missing field, or a datetime string with or without offset.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
        let raw: Option<String> = Option::deserialize(d)?;
        match raw {
            None => Ok(None),
            Some(s) if s.is_empty() => Ok(None),
            Some(s) => parse_datetime(&s)
                .map(Some)
                .map_err(serde::de::Error::custom),
        }
    }
    /// Serialize as RFC 3339 with offset.
    pub fn serialize<S: serde::Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&t.to_string()),
            None => s.serialize_none(),
        }
    }
}

/// Deserialize a list of at most `max` items, failing on the first one past it: a hostile
/// answer (a million `{}` messages fit in a few MB) must not become gigabytes of structs. A
/// ticket that fails this way is a ticket that cannot be read, and is handled as such.
fn bounded_list<'de, D, T>(d: D, max: usize, what: &'static str) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct V<T> {
        max: usize,
        what: &'static str,
        _t: std::marker::PhantomData<T>,
    }
    impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for V<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "a list of at most {} {}", self.max, self.what)
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Vec<T>, E> {
            Ok(Vec::new())
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let mut out = Vec::new();
            while let Some(item) = seq.next_element()? {
                if out.len() >= self.max {
                    return Err(serde::de::Error::custom(format!(
                        "more than {} {}",
                        self.max, self.what
                    )));
                }
                out.push(item);
            }
            Ok(out)
        }
    }
    d.deserialize_any(V {
        max,
        what,
        _t: std::marker::PhantomData,
    })
}

/// The most messages read from one ticket (a chat has tens; a thread of years, hundreds).
pub const MAX_MESSAGES: usize = 5_000;
/// The most tags, team members, macros or business-hours ranges read from one object.
pub const MAX_SMALL_LIST: usize = 1_000;

fn messages_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Message>, D::Error> {
    bounded_list(d, MAX_MESSAGES, "messages")
}
fn tags_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Tag>, D::Error> {
    bounded_list(d, MAX_SMALL_LIST, "tags")
}
fn members_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<UserRef>, D::Error> {
    bounded_list(d, MAX_SMALL_LIST * 10, "members")
}
fn ranges_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<BusinessHoursRange>, D::Error> {
    bounded_list(d, MAX_SMALL_LIST, "business-hours ranges")
}
fn macros_list<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Vec<serde_json::Value>>, D::Error> {
    bounded_list(d, MAX_SMALL_LIST, "macros").map(Some)
}

/// A Gorgias user (`GET /api/users`, `/api/users/0`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct User {
    pub id: u64,
    pub email: Option<String>,
    pub name: Option<String>,
    pub active: Option<bool>,
    pub role: Option<Role>,
    /// Present only when asked for with `relationships=availability_status` and exposed.
    pub availability_status: Option<Availability>,
}

/// A user's role.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct Role {
    pub name: String,
}

/// Agent presence, where the account exposes it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct Availability {
    /// "online" | "offline" | "busy" (others possible).
    pub status: String,
}

/// A reference to a user inside a ticket or message.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct UserRef {
    pub id: u64,
    pub email: Option<String>,
    pub name: Option<String>,
}

/// A team (`GET /api/teams`), or a reference to one in a ticket.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct Team {
    pub id: u64,
    pub name: Option<String>,
    #[serde(deserialize_with = "members_list")]
    pub members: Vec<UserRef>,
}

/// The customer of a ticket.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct Customer {
    pub id: u64,
    pub email: Option<String>,
    pub name: Option<String>,
}

/// A tag on a ticket.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct Tag {
    pub id: Option<u64>,
    pub name: String,
}

/// `source` of a message: the address pair.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct Source {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<serde_json::Value>,
}

/// A message of a ticket (public reply, customer message or internal note).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct Message {
    pub id: u64,
    pub ticket_id: Option<u64>,
    pub channel: Option<String>,
    pub via: Option<String>,
    pub public: Option<bool>,
    pub from_agent: bool,
    pub sender: Option<UserRef>,
    pub source: Option<Source>,
    pub integration_id: Option<u64>,
    pub rule_id: Option<u64>,
    #[serde(deserialize_with = "macros_list")]
    pub macros: Option<Vec<serde_json::Value>>,
    pub body_text: Option<String>,
    pub body_html: Option<String>,
    pub stripped_text: Option<String>,
    #[serde(with = "opt_datetime")]
    pub created_datetime: Option<Timestamp>,
    #[serde(with = "opt_datetime")]
    pub sent_datetime: Option<Timestamp>,
    #[serde(with = "opt_datetime")]
    pub failed_datetime: Option<Timestamp>,
}

impl Message {
    /// An internal note (never shown to the customer).
    pub fn is_internal_note(&self) -> bool {
        self.public == Some(false) || self.channel.as_deref() == Some("internal-note")
    }
    /// Written on the agent side by this user (public or a note).
    pub fn is_by(&self, user_id: u64) -> bool {
        self.from_agent && self.sender.as_ref().is_some_and(|s| s.id == user_id)
    }
    /// A public message (the customer sees it) written by this user: for the bot's id, one of
    /// the bot's replies.
    pub fn is_public_by(&self, user_id: u64) -> bool {
        self.is_by(user_id) && !self.is_internal_note()
    }
    /// Written by the customer (a public message not from the agent side).
    pub fn is_from_customer(&self) -> bool {
        !self.from_agent && !self.is_internal_note()
    }
    /// Produced by a Gorgias Rule, Flow or Macro rather than by a person or the bot.
    pub fn is_automation(&self) -> bool {
        matches!(self.via.as_deref(), Some("rule") | Some("self_service"))
            || self.rule_id.is_some()
            || self.macros.as_ref().is_some_and(|m| !m.is_empty())
    }
    /// The text to read: stripped text, else body text, else the text of the HTML body (for
    /// messages that carry only `body_html`), at most [`super::html::MAX_TEXT_CHARS`]
    /// characters: no chat message is longer, and everything that judges a message (intent,
    /// search, embedding) then costs a bounded time whatever a hostile body holds.
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        fn non_empty(s: &Option<String>) -> Option<&str> {
            s.as_deref().filter(|s| !s.trim().is_empty())
        }
        if let Some(t) = non_empty(&self.stripped_text).or(non_empty(&self.body_text)) {
            let end = t
                .char_indices()
                .nth(super::html::MAX_TEXT_CHARS)
                .map_or(t.len(), |(i, _)| i);
            return std::borrow::Cow::Borrowed(&t[..end]);
        }
        match non_empty(&self.body_html) {
            Some(html) => std::borrow::Cow::Owned(super::html::html_to_text(
                html,
                super::html::MAX_TEXT_CHARS,
            )),
            None => std::borrow::Cow::Borrowed(""),
        }
    }
}

/// A ticket: full (`GET /api/tickets/{id}`, with `messages`) or compact (lists, without).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct Ticket {
    pub id: u64,
    pub external_id: Option<String>,
    /// "open" | "closed".
    pub status: String,
    pub channel: Option<String>,
    pub via: Option<String>,
    pub spam: Option<bool>,
    pub customer: Option<Customer>,
    pub assignee_user: Option<UserRef>,
    pub assignee_team: Option<Team>,
    pub language: Option<String>,
    pub subject: Option<String>,
    pub excerpt: Option<String>,
    #[serde(deserialize_with = "tags_list")]
    pub tags: Vec<Tag>,
    /// Empty in compact tickets.
    #[serde(deserialize_with = "messages_list")]
    pub messages: Vec<Message>,
    pub messages_count: Option<u64>,
    #[serde(with = "opt_datetime")]
    pub created_datetime: Option<Timestamp>,
    #[serde(with = "opt_datetime")]
    pub last_received_message_datetime: Option<Timestamp>,
    #[serde(with = "opt_datetime")]
    pub last_message_datetime: Option<Timestamp>,
    #[serde(with = "opt_datetime")]
    pub updated_datetime: Option<Timestamp>,
    #[serde(with = "opt_datetime")]
    pub closed_datetime: Option<Timestamp>,
    #[serde(with = "opt_datetime")]
    pub snooze_datetime: Option<Timestamp>,
    #[serde(with = "opt_datetime")]
    pub trashed_datetime: Option<Timestamp>,
}

impl Ticket {
    /// Open (not closed, not snoozed).
    pub fn is_open(&self) -> bool {
        self.status == "open"
    }
    /// Carries a tag of exactly this name (tag names are case-sensitive).
    pub fn has_tag(&self, name: &str) -> bool {
        self.tags.iter().any(|t| t.name == name)
    }
    /// Assigned to this user (for the bot's id: the ticket is the bot's to answer).
    pub fn is_assigned_to(&self, user_id: u64) -> bool {
        self.assignee_user.as_ref().is_some_and(|u| u.id == user_id)
    }
}

/// A saved view.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct View {
    pub id: u64,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub category: Option<String>,
    pub visibility: Option<String>,
    pub filters: Option<String>,
    pub order_by: Option<String>,
    pub order_dir: Option<String>,
    pub slug: Option<String>,
    pub decoration: Option<serde_json::Value>,
}

/// An HTTP integration (webhook).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct Integration {
    pub id: u64,
    #[serde(rename = "type")]
    pub kind: String,
    pub name: Option<String>,
    pub http: Option<serde_json::Value>,
}

/// One range of the business-hours setting: `days` "1,2,3,4,5" (1 = Monday), "HH:MM" times.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct BusinessHoursRange {
    pub days: String,
    pub from_time: String,
    pub to_time: String,
}

/// The `business-hours` account setting's data.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct BusinessHoursSetting {
    pub timezone: String,
    /// Empty = always open.
    #[serde(deserialize_with = "ranges_list")]
    pub business_hours: Vec<BusinessHoursRange>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_parse_with_and_without_offset() {
        let a = parse_datetime("2024-02-14T21:31:12.367230+00:00").unwrap();
        let b = parse_datetime("2024-02-14T21:31:12.367230").unwrap();
        assert_eq!(a, b);
        assert!(parse_datetime("yesterday").is_err());
        // Values jiff accepts but arithmetic on them (plus a deadline) could overflow.
        for far in [
            "9999-12-30T00:00:00Z",
            "-009999-01-02T00:00:00Z",
            "1969-12-31T23:59:59Z",
        ] {
            assert!(parse_datetime(far).is_err(), "{far}");
        }
    }

    #[test]
    fn a_message_with_only_html_reads_as_the_html_text() {
        let m: Message = serde_json::from_str(
            r#"{"id":1,"body_text":"","body_html":"<div>Where is <b>order</b> #12?<br>Thanks &amp; bye</div>"}"#,
        )
        .unwrap();
        assert_eq!(m.text(), "Where is order #12?\nThanks & bye");
        let plain: Message =
            serde_json::from_str(r#"{"id":2,"body_text":"plain","body_html":"<p>html</p>"}"#)
                .unwrap();
        assert_eq!(
            plain.text(),
            "plain",
            "the text body wins when there is one"
        );
        let none: Message = serde_json::from_str(r#"{"id":3,"body_text":"  "}"#).unwrap();
        assert_eq!(none.text(), "");
        let huge = Message {
            body_html: Some("<p>long words here</p>".repeat(100_000)),
            ..Message::default()
        };
        assert!(huge.text().chars().count() <= crate::gorgias::html::MAX_TEXT_CHARS);
        let long = "é ".repeat(crate::gorgias::html::MAX_TEXT_CHARS);
        let huge_text = Message {
            body_text: Some(long.clone()),
            ..Message::default()
        };
        assert_eq!(
            huge_text.text(),
            long[..long
                .char_indices()
                .nth(crate::gorgias::html::MAX_TEXT_CHARS)
                .unwrap()
                .0],
            "a text body is cut at the same length, on a character boundary"
        );
    }

    #[test]
    fn huge_lists_inside_a_ticket_fail_it_instead_of_filling_memory() {
        let many = |n: usize| vec!["{}"; n].join(",");
        let ok: Ticket = serde_json::from_str(&format!(
            r#"{{"id":1,"messages":[{}]}}"#,
            many(MAX_MESSAGES)
        ))
        .unwrap();
        assert_eq!(ok.messages.len(), MAX_MESSAGES);
        let err = serde_json::from_str::<Ticket>(&format!(
            r#"{{"id":1,"messages":[{}]}}"#,
            many(1_000_000)
        ))
        .unwrap_err();
        assert!(err.to_string().contains("more than 5000 messages"), "{err}");
        let err = serde_json::from_str::<Ticket>(&format!(
            r#"{{"id":1,"tags":[{}]}}"#,
            many(MAX_SMALL_LIST + 1)
        ))
        .unwrap_err();
        assert!(err.to_string().contains("tags"), "{err}");
        // null lists are empty lists, as before.
        let t: Ticket = serde_json::from_str(r#"{"id":1,"tags":null,"messages":null}"#).unwrap();
        assert!(t.tags.is_empty() && t.messages.is_empty());
        let m: Message = serde_json::from_str(r#"{"id":1,"macros":null}"#).unwrap();
        assert_eq!(m.macros, Some(vec![]));
    }

    #[test]
    fn unknown_fields_are_ignored_and_missing_ones_default() {
        let t: Ticket = serde_json::from_str(
            r#"{"id":7,"status":"open","whatever":{"x":1},"tags":[{"name":"a","decoration":null}],
                "updated_datetime":"2021-01-07T13:00:00.123456","assignee_user":null}"#,
        )
        .unwrap();
        assert_eq!(t.id, 7);
        assert!(t.has_tag("a"));
        assert!(t.updated_datetime.is_some());
        assert!(t.messages.is_empty());
    }
}

/// A macro (`GET /api/macros`): one of the team's canned answers. Lenient like every model;
/// what its actions mean is `crate::sources::macros`' business.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct Macro {
    pub id: u64,
    pub name: String,
    pub language: Option<String>,
    #[serde(with = "opt_datetime")]
    pub archived_datetime: Option<Timestamp>,
    #[serde(with = "opt_datetime")]
    pub updated_datetime: Option<Timestamp>,
    pub actions: Vec<MacroAction>,
}

/// One action of a macro, e.g. `{"type": "user", "name": "setResponseText", "arguments":
/// {"body_text": "...", "body_html": "..."}}`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct MacroAction {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub name: String,
    pub arguments: serde_json::Value,
}
