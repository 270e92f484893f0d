//! Request bodies the client writes to Gorgias: replies and notes, partial ticket updates, views.
//! Each serializes to exactly the documented shape (see gorgias-api.md) and nothing more: a field
//! that is not set is not sent. This module builds bodies; it never sends them.

use serde::{Serialize, Serializer};

use super::model::{Message, Source};

/// `via` of every message the bot writes: it writes through the REST API.
pub const VIA_API: &str = "api";
/// The channel of internal notes.
pub const INTERNAL_NOTE: &str = "internal-note";

/// The `sender` of a new message: only the id is needed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SenderRef {
    pub id: u64,
}

/// The body of `POST /api/tickets/{id}/messages`. Never carries `sent_datetime`: Gorgias delivers
/// a message only when that field is left empty.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewMessage {
    pub channel: String,
    pub via: String,
    pub from_agent: bool,
    pub public: bool,
    pub sender: SenderRef,
    pub body_text: String,
    pub body_html: String,
    /// The chat integration the customer wrote through; copied so the reply reaches the widget.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integration_id: Option<u64>,
    /// The address pair, swapped from the customer's message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
}

impl NewMessage {
    /// A public reply on the customer's channel (chat by default), copying `channel`,
    /// `integration_id` and the swapped `source.from`/`source.to` pair from the customer's last
    /// message: `from` = their `to` (its first address when it is a list), `to` = `[their from]`.
    pub fn reply_to(customer_msg: &Message, sender_id: u64, text: &str) -> NewMessage {
        let channel = customer_msg
            .channel
            .clone()
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| "chat".to_owned());
        let source = customer_msg.source.as_ref().map(|s| Source {
            kind: Some(channel.clone()),
            from: s.to.as_ref().and_then(first_address),
            to: s
                .from
                .as_ref()
                .filter(|f| !f.is_null())
                .map(|f| serde_json::Value::Array(vec![f.clone()])),
        });
        NewMessage {
            channel,
            via: VIA_API.to_owned(),
            from_agent: true,
            public: true,
            sender: SenderRef { id: sender_id },
            body_text: text.to_owned(),
            body_html: text_to_html(text),
            integration_id: customer_msg.integration_id,
            source,
        }
    }

    /// An internal note: `channel: "internal-note"`, `public: false`; never shown to the customer.
    pub fn internal_note(sender_id: u64, text: &str) -> NewMessage {
        NewMessage {
            channel: INTERNAL_NOTE.to_owned(),
            via: VIA_API.to_owned(),
            from_agent: true,
            public: false,
            sender: SenderRef { id: sender_id },
            body_text: text.to_owned(),
            body_html: text_to_html(text),
            integration_id: None,
            source: None,
        }
    }
}

/// A list of addresses yields its first; a single address is taken as is.
fn first_address(v: &serde_json::Value) -> Option<serde_json::Value> {
    match v {
        serde_json::Value::Null => None,
        serde_json::Value::Array(a) => a.first().cloned(),
        other => Some(other.clone()),
    }
}

/// Plain text as simple HTML: blank lines separate `<p>` paragraphs, single newlines become
/// `<br>`, and `& < > " '` are escaped so customer-visible text can never inject markup.
pub fn text_to_html(text: &str) -> String {
    let normalized = text.replace("\r\n", "\n");
    let mut out = String::new();
    for para in normalized
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        out.push_str("<p>");
        for (i, line) in para.lines().enumerate() {
            if i > 0 {
                out.push_str("<br>");
            }
            escape_into(line, &mut out);
        }
        out.push_str("</p>");
    }
    out
}

fn escape_into(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// A ticket status the bot sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TicketStatus {
    Open,
    Closed,
}

/// The body of `PUT /api/tickets/{id}`, a partial update: only the fields set are sent. Never
/// carries `tags` (sending them would replace every tag). For the assignees, `Some(None)` sends
/// JSON `null` (unassign) and `Some(Some(id))` sends `{"id": id}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TicketUpdate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<TicketStatus>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_assignee"
    )]
    pub assignee_user: Option<Option<u64>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_assignee"
    )]
    pub assignee_team: Option<Option<u64>>,
}

fn ser_assignee<S: Serializer>(v: &Option<Option<u64>>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(Some(id)) => SenderRef { id: *id }.serialize(s),
        _ => s.serialize_none(),
    }
}

impl TicketUpdate {
    /// `{"status":"closed"}`.
    pub fn close() -> TicketUpdate {
        TicketUpdate {
            status: Some(TicketStatus::Closed),
            ..Default::default()
        }
    }
    /// `{"status":"open"}`.
    pub fn open() -> TicketUpdate {
        TicketUpdate {
            status: Some(TicketStatus::Open),
            ..Default::default()
        }
    }
    /// `{"assignee_user":null}`: takes the ticket away from its user (the team is kept).
    pub fn unassign() -> TicketUpdate {
        TicketUpdate {
            assignee_user: Some(None),
            ..Default::default()
        }
    }
    /// `{"assignee_user":{"id":N}}`.
    pub fn assign_user(id: u64) -> TicketUpdate {
        TicketUpdate {
            assignee_user: Some(Some(id)),
            ..Default::default()
        }
    }
    /// `{"assignee_team":{"id":N}}`.
    pub fn assign_team(id: u64) -> TicketUpdate {
        TicketUpdate {
            assignee_team: Some(Some(id)),
            ..Default::default()
        }
    }
    /// Also set the status (to combine, e.g. `TicketUpdate::unassign().with_status(Open)`).
    pub fn with_status(mut self, status: TicketStatus) -> TicketUpdate {
        self.status = Some(status);
        self
    }
    /// Also set (or, with `None`, clear) the assigned user.
    pub fn with_assignee_user(mut self, id: Option<u64>) -> TicketUpdate {
        self.assignee_user = Some(id);
        self
    }
    /// Also set (or, with `None`, clear) the assigned team.
    pub fn with_assignee_team(mut self, id: Option<u64>) -> TicketUpdate {
        self.assignee_team = Some(id);
        self
    }
    /// Nothing to send.
    pub fn is_empty(&self) -> bool {
        self.status.is_none() && self.assignee_user.is_none() && self.assignee_team.is_none()
    }
}

/// `decoration` of a view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decoration {
    pub emoji: String,
}

/// The body of `POST /api/views`. `slug` is deprecated by Gorgias but required on create by its
/// schema, so it is always sent (derived from the name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewView {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub filters: String,
    pub order_by: String,
    pub order_dir: String,
    pub visibility: String,
    pub slug: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decoration: Option<Decoration>,
}

impl NewView {
    /// A public `ticket-list` view ordered by `order_by` descending, slug derived from the name.
    pub fn ticket_list(name: &str, filters: &str, order_by: &str) -> NewView {
        NewView {
            name: name.to_owned(),
            kind: "ticket-list".to_owned(),
            filters: filters.to_owned(),
            order_by: order_by.to_owned(),
            order_dir: "desc".to_owned(),
            visibility: "public".to_owned(),
            slug: slugify(name),
            decoration: None,
        }
    }
    /// Show the view with this emoji in the Gorgias sidebar.
    pub fn with_emoji(mut self, emoji: &str) -> NewView {
        self.decoration = Some(Decoration {
            emoji: emoji.to_owned(),
        });
        self
    }
}

/// Lowercase ASCII letters and digits, every other run of characters one `-`, no `-` at the ends.
pub fn slugify(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    while slug.ends_with('-') {
        slug.pop();
    }
    if slug.is_empty() {
        "view".to_owned()
    } else {
        slug
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn customer_msg() -> Message {
        serde_json::from_value(json!({
            "id": 11, "channel": "chat", "via": "gorgias_chat", "from_agent": false,
            "integration_id": 77,
            "source": {"type": "chat",
                       "from": {"address": "c@example.com", "name": "Cus"},
                       "to": [{"address": "shop@example.com", "name": "Shop"}]},
            "body_text": "hi"
        }))
        .unwrap()
    }

    #[test]
    fn reply_copies_channel_integration_and_swaps_source() {
        let m = NewMessage::reply_to(&customer_msg(), 5, "Hello <b>&\n\nbye");
        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(
            v,
            json!({
                "channel": "chat", "via": "api", "from_agent": true, "public": true,
                "sender": {"id": 5},
                "body_text": "Hello <b>&\n\nbye",
                "body_html": "<p>Hello &lt;b&gt;&amp;</p><p>bye</p>",
                "integration_id": 77,
                "source": {"type": "chat",
                           "from": {"address": "shop@example.com", "name": "Shop"},
                           "to": [{"address": "c@example.com", "name": "Cus"}]}
            })
        );
        assert!(v.get("sent_datetime").is_none());
    }

    #[test]
    fn internal_note_is_private_and_has_no_source() {
        let v = serde_json::to_value(NewMessage::internal_note(5, "a\nb")).unwrap();
        assert_eq!(
            v,
            json!({"channel": "internal-note", "via": "api", "from_agent": true, "public": false,
                   "sender": {"id": 5}, "body_text": "a\nb", "body_html": "<p>a<br>b</p>"})
        );
    }

    #[test]
    fn ticket_update_sends_only_what_is_set() {
        let j = |u: TicketUpdate| serde_json::to_value(u).unwrap();
        assert_eq!(j(TicketUpdate::close()), json!({"status": "closed"}));
        assert_eq!(j(TicketUpdate::open()), json!({"status": "open"}));
        assert_eq!(j(TicketUpdate::unassign()), json!({"assignee_user": null}));
        assert_eq!(
            j(TicketUpdate::assign_user(3)),
            json!({"assignee_user": {"id": 3}})
        );
        assert_eq!(
            j(TicketUpdate::assign_team(4)),
            json!({"assignee_team": {"id": 4}})
        );
        assert_eq!(
            j(TicketUpdate::unassign()
                .with_status(TicketStatus::Open)
                .with_assignee_team(Some(9))),
            json!({"status": "open", "assignee_user": null, "assignee_team": {"id": 9}})
        );
        assert_eq!(j(TicketUpdate::default()), json!({}));
    }

    #[test]
    fn new_view_has_type_slug_and_public_visibility() {
        let v = serde_json::to_value(
            NewView::ticket_list(
                "Bot: open chats!",
                "eq(ticket.status, 'open')",
                "updated_datetime",
            )
            .with_emoji("🤖"),
        )
        .unwrap();
        assert_eq!(
            v,
            json!({"name": "Bot: open chats!", "type": "ticket-list",
                   "filters": "eq(ticket.status, 'open')", "order_by": "updated_datetime",
                   "order_dir": "desc", "visibility": "public", "slug": "bot-open-chats",
                   "decoration": {"emoji": "🤖"}})
        );
    }
}
