//! The engine's inputs and outputs: policy, availability, the plan of actions.

use crate::config::{CollectEmail, Tags};
use crate::gorgias::Ticket;
use crate::ledger::{ActionKind, Event, StateReason, TicketRow, TicketState};
use crate::responder::intent::IntentConfig;
use crate::responder::{Outcome, Turn};
use jiff::{SignedDuration, Timestamp};

/// Everything configurable the decisions depend on (built from the config once).
#[derive(Debug, Clone)]
pub struct Policy {
    pub bot_user_id: u64,
    pub channels: Vec<String>,
    /// Extra opt-out tags (`bot.opt_out_tags`); `tags.not_involved` always counts too.
    pub extra_opt_out_tags: Vec<String>,
    pub tags: Tags,
    pub close_after: SignedDuration,
    pub email_wait: SignedDuration,
    pub answer_deadline: SignedDuration,
    pub collect_email: CollectEmail,
    pub assign_team_id: Option<u64>,
    pub assign_user_id: Option<u64>,
    pub messages: Messages,
    pub intent: IntentConfig,
    /// `[orders]`: order status from the customer's Shopify data (off by default).
    pub orders: crate::orders::OrdersPolicy,
}

impl Policy {
    /// Every tag that keeps the bot off a ticket.
    pub fn opt_out_tags(&self) -> impl Iterator<Item = &String> {
        std::iter::once(&self.tags.not_involved).chain(self.extra_opt_out_tags.iter())
    }
}

/// The handover message templates (`{next_open}`, `{email}`, `{customer_name}`): a default set
/// and one per language, picked by the ticket's `language` ([`Messages::for_language`]).
pub type Messages = crate::config::HandoverMessages;

/// Whether people can take a handover now.
#[derive(Debug, Clone, PartialEq)]
pub enum Availability {
    /// Within business hours and at least one agent available.
    Online,
    /// Within business hours, nobody available.
    NoAgents,
    /// Outside business hours; the next opening in the business's time zone (`None`: never
    /// within the search window), put into words in each ticket's language by the engine.
    AfterHours {
        next_open: Option<crate::hours::NextOpen>,
    },
}

impl Availability {
    /// "online" | "no_agents" | "after_hours".
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Online => "online",
            Self::NoAgents => "no_agents",
            Self::AfterHours { .. } => "after_hours",
        }
    }
}

/// The responder's part of the input.
#[derive(Debug, Clone, Copy)]
pub enum Answering<'a> {
    /// The responder has not been asked: if a turn needs an answer, the plan says so.
    NotAsked,
    /// The responder's outcome for this turn.
    Outcome(&'a Outcome),
    /// The responder failed (timeout, backend down): retried until `answer_deadline`.
    Failed(&'a str),
    /// An order question: the ticket's customer's orders as the daemon read them (asked for
    /// by `Plan::need_orders`).
    Orders(&'a crate::orders::OrderLookup),
}

/// One decision's input: a fresh ticket and what the ledger remembers of it.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// The full ticket (with messages), as Gorgias says it is now.
    pub ticket: &'a Ticket,
    /// The ledger's row, `None` the first time the bot meets the ticket.
    pub row: Option<&'a TicketRow>,
    pub now: Timestamp,
    pub availability: &'a Availability,
    pub answer: Answering<'a>,
}

/// A write to Gorgias.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// A public chat reply.
    Reply(String),
    /// An internal note for the agents.
    Note(String),
    AddTags(Vec<String>),
    RemoveTags(Vec<String>),
    Unassign,
    AssignUser(u64),
    AssignTeam(u64),
    Close,
    SetEmail {
        customer_id: u64,
        email: String,
    },
}

impl Action {
    /// The action's kind, part of its idempotency key.
    pub fn kind(&self) -> ActionKind {
        match self {
            Self::Reply(_) => ActionKind::Reply,
            Self::Note(_) => ActionKind::Note,
            Self::AddTags(_) => ActionKind::Tag,
            Self::RemoveTags(_) => ActionKind::Untag,
            Self::Unassign => ActionKind::Unassign,
            Self::AssignUser(_) | Self::AssignTeam(_) => ActionKind::Assign,
            Self::Close => ActionKind::Close,
            Self::SetEmail { .. } => ActionKind::Email,
        }
    }
}

/// An action with the trigger that makes its idempotency key unique.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub action: Action,
    /// E.g. "m123:answer", "m123:handover", "close:1700000000000000", "rule:55".
    pub trigger: String,
}

/// Which row of the lifecycle table decided (for logs and tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    Nothing,
    Closed,
    OptOut,
    Automation,
    NotBotChannel,
    NotOwned,
    StillEscalated,
    Returned,
    Reopened,
    AgentReplied,
    CustomerTurn,
    SmallTalk,
    ResponderRetry,
    AnswerDeadline,
    AwaitingEmail,
    EmailReceived,
    EmailWaitExpired,
    Waiting,
    IdleClose,
    /// An order question (answered, asked for its number, or handed over).
    OrderTurn,
    /// Waiting for the order number the bot asked for.
    AwaitingOrder,
    /// The order number never came within `orders.number_wait`.
    OrderWaitExpired,
    /// Gorgias sent the ticket, but it could not be decoded.
    Unreadable,
}

impl Rule {
    /// A short name for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Nothing => "nothing",
            Self::Closed => "closed",
            Self::OptOut => "opt_out",
            Self::Automation => "automation",
            Self::NotBotChannel => "not_bot_channel",
            Self::NotOwned => "not_owned",
            Self::StillEscalated => "still_escalated",
            Self::Returned => "returned",
            Self::Reopened => "reopened",
            Self::AgentReplied => "agent_replied",
            Self::CustomerTurn => "customer_turn",
            Self::SmallTalk => "small_talk",
            Self::ResponderRetry => "responder_retry",
            Self::AnswerDeadline => "answer_deadline",
            Self::AwaitingEmail => "awaiting_email",
            Self::EmailReceived => "email_received",
            Self::EmailWaitExpired => "email_wait_expired",
            Self::Waiting => "waiting",
            Self::IdleClose => "idle_close",
            Self::OrderTurn => "order_turn",
            Self::AwaitingOrder => "awaiting_order",
            Self::OrderWaitExpired => "order_wait_expired",
            Self::Unreadable => "unreadable",
        }
    }
}

/// The engine's answer: the writes to perform, in order, and the ledger row afterwards.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The ledger row once every step is done.
    pub row: TicketRow,
    pub steps: Vec<Step>,
    /// What to record in the event log once the steps are done.
    pub events: Vec<Event>,
    /// Set when the turn needs the responder: ask it and decide again with its outcome.
    pub need_answer: Option<Turn>,
    /// Set when the turn is an order question: read this Gorgias customer's orders and decide
    /// again with them (`Answering::Orders`).
    pub need_orders: Option<u64>,
    pub rule: Rule,
    /// The state before this decision.
    pub previous_state: Option<TicketState>,
}

impl Plan {
    pub(crate) fn new(row: TicketRow) -> Self {
        let previous_state = Some(row.state);
        Self {
            row,
            steps: Vec::new(),
            events: Vec::new(),
            need_answer: None,
            need_orders: None,
            rule: Rule::Nothing,
            previous_state,
        }
    }

    pub(crate) fn push(&mut self, action: Action, trigger: &str) {
        self.steps.push(Step {
            action,
            trigger: trigger.to_string(),
        });
    }

    pub(crate) fn set_state(
        &mut self,
        state: TicketState,
        reason: Option<StateReason>,
        rule: Rule,
    ) {
        if self.row.state != state {
            self.events.push(Event::StateChanged {
                to: state,
                from: self.row.state,
                reason,
                rule: rule.as_str().to_owned(),
            });
        }
        self.row.state = state;
        self.row.reason = reason;
        self.rule = rule;
    }

    /// Move to a resting `state` (nothing due: no close deadline, no pending answer); when the
    /// ticket is already there, only note which rule held.
    pub(crate) fn enter(&mut self, state: TicketState, reason: StateReason, rule: Rule) {
        if self.row.state == state {
            self.rule = rule;
            return;
        }
        self.set_state(state, Some(reason), rule);
        self.row.close_deadline = None;
        self.row.pending_since = None;
    }

    pub(crate) fn event(&mut self, event: Event) {
        self.events.push(event);
    }

    /// True when the plan changes nothing in Gorgias.
    pub fn is_quiet(&self) -> bool {
        self.steps.is_empty()
    }
}

/// A short human description of an action, for logs and the demo's timeline.
pub fn describe(action: &Action) -> String {
    match action {
        Action::Reply(t) => format!("replied: {}", clip(t, 70)),
        Action::Note(t) => format!(
            "internal note: {}",
            clip(t.lines().next().unwrap_or(""), 70)
        ),
        Action::AddTags(n) => format!("tagged {}", n.join(", ")),
        Action::RemoveTags(n) => format!("untagged {}", n.join(", ")),
        Action::Unassign => "unassigned".to_string(),
        Action::AssignUser(id) => format!("assigned to user {id}"),
        Action::AssignTeam(id) => format!("assigned to team {id}"),
        Action::Close => "closed".to_string(),
        Action::SetEmail { email, .. } => format!("saved customer email {email}"),
    }
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n).collect::<String>() + "…"
    }
}

impl Plan {
    /// Shadow mode: instead of the writes, one internal note saying what the bot would do, and
    /// the Preview tag. The row moves on as if the writes were done, so each decision is
    /// described once and the whole lifecycle (answer, close, handover) plays out in notes.
    pub fn shadowed(mut self, preview_tag: &str, ticket_has_preview: bool) -> Plan {
        let Some(first) = self.steps.first() else {
            return self;
        };
        let trigger = format!("shadow:{}", first.trigger);
        let mut note = String::from("PerfectBot (shadow mode) would:");
        for s in &self.steps {
            note.push_str("\n- ");
            note.push_str(&match &s.action {
                Action::Reply(text) => format!("reply: {text}"),
                Action::Note(text) => format!("post the internal note: {text}"),
                other => describe(other),
            });
        }
        if let Some(reason) = &self.row.reason {
            note.push_str(&format!(
                "\n(reason: {reason}; rule: {})",
                self.rule.as_str()
            ));
        }
        let mut steps = vec![Step {
            action: Action::Note(note),
            trigger: trigger.clone(),
        }];
        if !ticket_has_preview {
            steps.push(Step {
                action: Action::AddTags(vec![preview_tag.to_string()]),
                trigger: "shadow:preview".to_string(),
            });
        }
        self.steps = steps;
        self
    }
}
