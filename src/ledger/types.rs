//! The ledger's row types: what the bot remembers per ticket and per action.
//! The engine reads and returns `TicketRow`s; the ledger stores them.

use jiff::Timestamp;

/// Where the bot stands with a ticket. Stored (and serialized) by [`TicketState::as_str`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(into = "&'static str", try_from = "String")]
pub enum TicketState {
    /// The bot owns it and has a customer message to handle (or has just started tracking it).
    #[default]
    Active,
    /// The bot answered last; the idle close deadline is armed.
    Answered,
    /// A handover is under way; the bot asked for the customer's email and waits.
    AwaitingEmail,
    /// The customer asked about an order; the bot asked for the order number and waits
    /// (`orders.number_wait`, counted from `last_bot_reply_at`).
    AwaitingOrder,
    /// Handed over to people (tagged, unassigned/assigned). Silent until returned.
    Escalated,
    /// Closed by the bot (or found closed). A customer message reopens it.
    Closed,
    /// An agent or team took it over. Silent until returned.
    Released,
    /// An opt-out tag is on it. Silent until the tag is gone.
    Ignored,
}

impl TicketState {
    /// The name stored in the database and shown in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Answered => "answered",
            Self::AwaitingEmail => "awaiting_email",
            Self::AwaitingOrder => "awaiting_order",
            Self::Escalated => "escalated",
            Self::Closed => "closed",
            Self::Released => "released",
            Self::Ignored => "ignored",
        }
    }
    /// Parse a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "active" => Self::Active,
            "answered" => Self::Answered,
            "awaiting_email" => Self::AwaitingEmail,
            "awaiting_order" => Self::AwaitingOrder,
            "escalated" => Self::Escalated,
            "closed" => Self::Closed,
            "released" => Self::Released,
            "ignored" => Self::Ignored,
            _ => return None,
        })
    }
    /// All states, in display order.
    pub const ALL: [TicketState; 8] = [
        Self::Active,
        Self::Answered,
        Self::AwaitingEmail,
        Self::AwaitingOrder,
        Self::Escalated,
        Self::Closed,
        Self::Released,
        Self::Ignored,
    ];
}

impl From<TicketState> for &'static str {
    fn from(s: TicketState) -> Self {
        s.as_str()
    }
}

impl TryFrom<String> for TicketState {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s).ok_or_else(|| format!("unknown ticket state {s:?}"))
    }
}

impl std::fmt::Display for TicketState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the ledger remembers about one ticket.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TicketRow {
    pub ticket_id: u64,
    pub state: TicketState,
    /// Why the ticket is in its state (stored by its name: "requested", "no_knowledge", "rule",
    /// "agent_takeover"...).
    pub reason: Option<super::StateReason>,
    /// The newest customer message the bot has handled (answered, handed over or skipped).
    pub last_customer_msg_id: Option<u64>,
    pub last_customer_msg_at: Option<Timestamp>,
    /// When the bot's last public reply was posted.
    pub last_bot_reply_at: Option<Timestamp>,
    /// When the idle close falls due (state `answered`).
    pub close_deadline: Option<Timestamp>,
    /// When the bot asked for the email (state `awaiting_email`).
    pub email_requested_at: Option<Timestamp>,
    /// When an agent returned the ticket to the bot; only newer customer messages are answered.
    pub returned_at: Option<Timestamp>,
    /// The ticket's `updated_datetime` and `messages_count` when last read in full, so that the
    /// poll reads in full only the tickets that changed.
    pub seen_updated_at: Option<Timestamp>,
    pub seen_messages_count: Option<u64>,
    /// What the ticket's listing should look like (status, assignee, tags, message count) after
    /// the bot's own last writes; a listing that matches needs no full read.
    pub seen_fingerprint: Option<String>,
    /// Since when a customer message has waited for an answer (responder errors); drives
    /// `answer_deadline`.
    pub pending_since: Option<Timestamp>,
    /// Counters over the ticket's life.
    pub answers: u32,
    pub handovers: u32,
    pub closes: u32,
    /// When the ledger first saw the ticket, and last changed the row.
    pub created_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
}

impl TicketRow {
    /// A fresh row for a ticket the bot has just met.
    pub fn new(ticket_id: u64, now: Timestamp) -> Self {
        Self {
            ticket_id,
            created_at: Some(now),
            updated_at: Some(now),
            ..Self::default()
        }
    }
}

/// The kinds of Gorgias writes; part of every idempotency key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActionKind {
    Reply,
    Note,
    Tag,
    Untag,
    Assign,
    Unassign,
    Close,
    Email,
}

impl ActionKind {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reply => "reply",
            Self::Note => "note",
            Self::Tag => "tag",
            Self::Untag => "untag",
            Self::Assign => "assign",
            Self::Unassign => "unassign",
            Self::Close => "close",
            Self::Email => "email",
        }
    }
    /// Parse a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "reply" => Self::Reply,
            "note" => Self::Note,
            "tag" => Self::Tag,
            "untag" => Self::Untag,
            "assign" => Self::Assign,
            "unassign" => Self::Unassign,
            "close" => Self::Close,
            "email" => Self::Email,
            _ => return None,
        })
    }
}

/// An action's idempotency key: at most one action with this key is ever performed.
/// `trigger` is the customer message (or other event) the action answers, e.g. "m:1234",
/// "deadline:2026-11-23T10:00:00Z", "note-1"; with `kind` it makes the key unique.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ActionKey {
    pub ticket_id: u64,
    pub kind: ActionKind,
    pub trigger: String,
}

impl ActionKey {
    /// The key as one string: "ticket/kind/trigger".
    pub fn as_string(&self) -> String {
        format!("{}/{}/{}", self.ticket_id, self.kind.as_str(), self.trigger)
    }
}

/// Where an action stands in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionStatus {
    /// Recorded, maybe sent, not confirmed: must be checked against Gorgias before a retry.
    Pending,
    /// Confirmed done.
    Done,
    /// Given up (e.g. 404, or the decision was withdrawn). Never retried under this key.
    Abandoned,
}

/// One row of the action log.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionRow {
    pub id: i64,
    pub key: ActionKey,
    pub status: ActionStatus,
    /// The write's content (JSON), enough to check whether it landed and to retry it.
    pub payload: String,
    pub created_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    pub attempts: u32,
    pub detail: Option<String>,
}

/// What `begin_action` found.
#[derive(Debug, Clone, PartialEq)]
pub enum Begin {
    /// Newly recorded as pending: go ahead and perform it.
    Started(ActionRow),
    /// Already recorded and still pending (a crash, or a failed try): check Gorgias first.
    Pending(ActionRow),
    /// Already done or abandoned: do not perform it again.
    Finished(ActionRow),
}

/// A failure [`crate::ledger::Ledger::simulate_failure_for_tests`] can inject.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimulatedFailure {
    /// The disk is full: the file may not grow.
    Full,
    /// The file is read-only.
    ReadOnly,
}
