//! Typed, lenient models of the Gorgias API objects the bot uses. Unknown fields are ignored,
//! missing optional fields default, and datetimes parse with or without an offset (none = UTC).
//! These are the client's view of the API; the simulator keeps its own representation.

use jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serialize};

/// Parse a Gorgias datetime: RFC 3339 with offset, or a naive datetime meaning UTC.
pub fn parse_datetime(s: &str) -> Result<Timestamp, String> {
    if let Ok(t) = s.parse::<Timestamp>() {
        return Ok(t);
    }
    match s.parse::<jiff::civil::DateTime>() {
        Ok(dt) => jiff::tz::TimeZone::UTC
            .to_timestamp(dt)
            .map_err(|e| format!("{s:?}: {e}")),
        Err(e) => Err(format!("{s:?} is not a datetime: {e}")),
    }
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
    /// The text to read: stripped text, else body text, else nothing.
    pub fn text(&self) -> &str {
        self.stripped_text
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .or(self.body_text.as_deref())
            .unwrap_or("")
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
    pub tags: Vec<Tag>,
    /// Empty in compact tickets.
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
