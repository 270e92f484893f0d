//! One conversation through the daemon's own decision path, without Gorgias: a synthetic chat
//! ticket assigned to the bot and what the ledger would remember of it, decided with
//! [`engine::decide`] in the poll loop's phases (the customer's orders when the plan asks for
//! them, then the responder), and each plan's writes applied to the ticket the way Gorgias
//! applies them (a reply becomes the bot's message, a release unassigns the ticket, a saved email
//! lands on the customer). So the whole lifecycle plays out: an answer, the email asked for
//! before a handover, the handover message for the moment, and silence once the ticket is the
//! team's.
//!
//! `perfectbot preview` keeps one [`Conversation`] across the lines a person types; `perfectbot
//! eval` builds one per labelled case ([`run`]). Nothing here touches Gorgias or a ledger.

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use crate::engine::{self, Action, Answering, Availability, Input, Plan, Policy};
use crate::gorgias::{Customer, Message, Tag, Team, Ticket, UserRef};
use crate::ledger::{Event, StateReason, TicketRow, TicketState};
use crate::orders::OrderLookup;
use crate::responder::{HandoverReason, Outcome, Responder};

/// The synthetic ticket's id.
const TICKET: u64 = 1;
/// The customer's id in synthetic tickets.
const CUSTOMER: u64 = 100;

/// A public chat message as Gorgias lists it on ticket `ticket_id`: from the customer, or from
/// the agent side (`from_agent`) with `sender` as its author (the bot, an agent; 0 for a rule).
pub fn chat_message(
    ticket_id: u64,
    id: u64,
    at: Timestamp,
    from_agent: bool,
    sender: u64,
    text: &str,
) -> Message {
    Message {
        id,
        ticket_id: Some(ticket_id),
        channel: Some("chat".into()),
        via: Some(
            if from_agent {
                "helpdesk"
            } else {
                "gorgias_chat"
            }
            .into(),
        ),
        public: Some(true),
        from_agent,
        sender: Some(UserRef {
            id: sender,
            ..Default::default()
        }),
        body_text: Some(text.to_owned()),
        created_datetime: Some(at),
        ..Default::default()
    }
}

/// An open chat ticket of `customer`, assigned to the bot user, with no messages yet: what a
/// Gorgias rule hands the bot.
pub fn chat_ticket(id: u64, bot_user_id: u64, customer: Customer) -> Ticket {
    Ticket {
        id,
        status: "open".into(),
        channel: Some("chat".into()),
        customer: Some(customer),
        assignee_user: Some(UserRef {
            id: bot_user_id,
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A conversation with the bot: the ticket as Gorgias would hold it and the ledger's row.
#[derive(Debug, Clone)]
pub struct Conversation {
    ticket: Ticket,
    row: Option<TicketRow>,
    bot_user_id: u64,
}

/// What the daemon would do about the ticket at one moment.
#[derive(Debug, Clone)]
pub struct Decided {
    /// The plan the daemon would execute: its replies, tags, note and release.
    pub plan: Plan,
    /// The responder's outcome, when the turn needed one and it gave one.
    pub outcome: Option<Outcome>,
    /// Why the responder gave no outcome (an error or the timeout), when it was asked.
    pub failure: Option<String>,
    /// The availability the plan was decided with.
    pub availability: Availability,
}

impl Decided {
    /// The public replies the customer would read, in order.
    pub fn replies(&self) -> impl Iterator<Item = &str> {
        self.plan.steps.iter().filter_map(|s| match &s.action {
            Action::Reply(t) => Some(t.as_str()),
            _ => None,
        })
    }

    /// Whether the plan hands the ticket over to people.
    pub fn hands_over(&self) -> bool {
        self.plan
            .events
            .iter()
            .any(|e| matches!(e, Event::Handover { .. }))
    }

    /// Whether the plan asks the customer for their email before a handover.
    pub fn asks_email(&self) -> bool {
        self.plan
            .events
            .iter()
            .any(|e| matches!(e, Event::EmailRequested { .. }))
    }

    /// The handover this decision made or began (asking for the email first): its reason.
    pub fn handover_reason(&self) -> Option<HandoverReason> {
        self.plan.events.iter().find_map(|e| match e {
            Event::Handover {
                reason: StateReason::Handover(r),
                ..
            } => Some(*r),
            Event::EmailRequested { reason, .. } => Some(*reason),
            _ => None,
        })
    }

    /// The best knowledge score when the responder found nothing good enough.
    pub fn best_score(&self) -> Option<f64> {
        match &self.outcome {
            Some(Outcome::NoKnowledge { best_score }) => *best_score,
            _ => None,
        }
    }

    /// When the bot answered (from knowledge, or an order's status): the entries it cited and
    /// its score.
    pub fn answered(&self) -> Option<(Vec<String>, Option<f64>)> {
        self.plan.events.iter().find_map(|e| match e {
            Event::Answered { sources, score, .. } => Some((sources.clone(), *score)),
            _ => None,
        })
    }

    /// The decision in the terms `eval` scores.
    pub fn verdict(&self) -> Verdict {
        let text = self.replies().next().map(str::to_owned);
        if let Some((sources, score)) = self.answered() {
            let text = text.unwrap_or_default();
            if sources.is_empty() {
                return Verdict::Courtesy { text };
            }
            return Verdict::Answer {
                text,
                sources,
                score: score.unwrap_or(0.0),
            };
        }
        if let Some(reason) = self.handover_reason() {
            return Verdict::Handover {
                reason,
                score: self.best_score(),
            };
        }
        match text {
            Some(text) => Verdict::Courtesy { text },
            None => Verdict::Silent,
        }
    }
}

/// Why preview and eval have no orders to show: they never read Gorgias. The engine hands an
/// order question over on it, as the daemon does when the read fails.
const NO_ORDERS: &str = "orders are not read outside the daemon (preview, eval)";

impl Conversation {
    /// A new conversation of `customer` on a chat ticket in `language` (a Gorgias tag).
    pub fn new(bot_user_id: u64, customer: Customer, language: Option<String>) -> Conversation {
        let mut ticket = chat_ticket(TICKET, bot_user_id, customer);
        ticket.language = language;
        Conversation {
            ticket,
            row: None,
            bot_user_id,
        }
    }

    /// A customer without a name, with `email` if it is known.
    pub fn customer(email: Option<String>) -> Customer {
        Customer {
            id: CUSTOMER,
            email,
            name: None,
        }
    }

    /// The ticket as it stands.
    pub fn ticket(&self) -> &Ticket {
        &self.ticket
    }

    /// The ledger's state of the ticket (`None` before the first decision).
    pub fn state(&self) -> Option<TicketState> {
        self.row.as_ref().map(|r| r.state)
    }

    /// True once the ticket is no longer the bot's (handed over, closed): the engine decides
    /// nothing more on it until people give it back.
    pub fn with_team(&self) -> bool {
        let owned = self
            .ticket
            .assignee_user
            .as_ref()
            .is_some_and(|u| u.id == self.bot_user_id);
        !owned || !self.ticket.is_open()
    }

    /// True before the customer's first message.
    pub fn is_empty(&self) -> bool {
        self.ticket.messages.is_empty()
    }

    fn push(&mut self, from_agent: bool, text: &str, at: Timestamp) {
        let id = self.ticket.messages.len() as u64 + 1;
        let sender = if from_agent {
            self.bot_user_id
        } else {
            CUSTOMER
        };
        let m = chat_message(self.ticket.id, id, at, from_agent, sender, text);
        self.ticket.messages.push(m);
        self.ticket.updated_datetime = Some(at);
    }

    /// Adds a customer message at `at` without deciding.
    pub fn add_customer_message(&mut self, text: &str, at: Timestamp) {
        self.push(false, text, at);
    }

    /// Adds a public message by the bot at `at` without deciding (an earlier answer).
    pub fn add_bot_message(&mut self, text: &str, at: Timestamp) {
        self.push(true, text, at);
    }

    /// The ledger's row as the daemon leaves it after answering every customer message so far
    /// at `at`: only later messages are the new turn, the earlier ones are what it may repeat.
    fn answered_so_far(&mut self, at: Timestamp) {
        let last = self.ticket.messages.iter().rfind(|m| m.is_from_customer());
        let mut row = self
            .row
            .take()
            .unwrap_or_else(|| TicketRow::new(self.ticket.id, at));
        row.state = TicketState::Answered;
        row.last_bot_reply_at = Some(at);
        row.answers += 1;
        engine::mark_handled_through(&mut row, last);
        self.row = Some(row);
    }

    /// The customer writes `text` at `now`: the daemon's decision on the ticket, and its writes
    /// applied to the ticket and the row.
    pub async fn customer_says(
        &mut self,
        text: &str,
        now: Timestamp,
        availability: Availability,
        responder: &Arc<dyn Responder>,
        policy: &Policy,
        timeout: Duration,
    ) -> Decided {
        self.add_customer_message(text, now);
        let decided = self
            .decide(now, availability, responder, policy, timeout)
            .await;
        self.apply(&decided.plan, now);
        decided
    }

    /// What the daemon would do with the ticket at `now`, the poll loop's phases: the plan
    /// without an answer; with the customer's orders when it asks for them (never read here:
    /// the engine's failed-lookup handover); with the responder's outcome when it needs one.
    /// A responder that fails or outlasts `timeout` is decided as the daemon ends up deciding
    /// it: retried until `answer_deadline`, then the `error` handover.
    pub async fn decide(
        &self,
        now: Timestamp,
        availability: Availability,
        responder: &Arc<dyn Responder>,
        policy: &Policy,
        timeout: Duration,
    ) -> Decided {
        let mut plan = self.plan(now, &availability, Answering::NotAsked, policy);
        if plan.need_orders.is_some() {
            let lookup = OrderLookup::Failed(NO_ORDERS.to_owned());
            plan = self.plan(now, &availability, Answering::Orders(&lookup), policy);
        }
        let (mut outcome, mut failure) = (None, None);
        if let Some(turn) = plan.need_answer.take() {
            match tokio::time::timeout(timeout, responder.answer(&turn)).await {
                Ok(Ok(o)) => {
                    plan = self.plan(now, &availability, Answering::Outcome(&o), policy);
                    outcome = Some(o);
                }
                Ok(Err(e)) => failure = Some(e.to_string()),
                Err(_) => failure = Some(format!("the responder timed out after {timeout:?}")),
            }
            if let Some(why) = &failure {
                let deadline = engine::later(now, policy.answer_deadline);
                plan = self.plan(deadline, &availability, Answering::Failed(why), policy);
            }
        }
        Decided {
            plan,
            outcome,
            failure,
            availability,
        }
    }

    fn plan(
        &self,
        now: Timestamp,
        availability: &Availability,
        answer: Answering<'_>,
        policy: &Policy,
    ) -> Plan {
        let input = Input {
            ticket: &self.ticket,
            row: self.row.as_ref(),
            now,
            availability,
            answer,
        };
        engine::decide(&input, policy)
    }

    /// Applies `plan` as the executor and Gorgias would: the ticket changes and the row moves on.
    fn apply(&mut self, plan: &Plan, now: Timestamp) {
        for step in &plan.steps {
            match &step.action {
                Action::Reply(text) => self.push(true, text, now),
                Action::Note(text) => {
                    self.push(true, text, now);
                    if let Some(m) = self.ticket.messages.last_mut() {
                        m.public = Some(false);
                        m.channel = Some("internal-note".into());
                    }
                }
                Action::AddTags(names) => {
                    for name in names {
                        if !self.ticket.has_tag(name) {
                            self.ticket.tags.push(Tag {
                                id: None,
                                name: name.clone(),
                            });
                        }
                    }
                }
                Action::RemoveTags(names) => self.ticket.tags.retain(|t| !names.contains(&t.name)),
                Action::Unassign => {
                    self.ticket.assignee_user = None;
                    self.ticket.assignee_team = None;
                }
                Action::AssignUser(id) => {
                    self.ticket.assignee_user = Some(UserRef {
                        id: *id,
                        ..Default::default()
                    });
                }
                Action::AssignTeam(id) => {
                    self.ticket.assignee_user = None;
                    self.ticket.assignee_team = Some(Team {
                        id: *id,
                        ..Default::default()
                    });
                }
                Action::Close => self.ticket.status = "closed".into(),
                Action::SetEmail { email, .. } => {
                    if let Some(c) = self.ticket.customer.as_mut() {
                        c.email = Some(email.clone());
                    }
                }
            }
        }
        self.ticket.updated_datetime = Some(now);
        self.row = Some(plan.row.clone());
    }
}

/// One labelled case for `eval`: earlier customer messages, whether the bot already replied to
/// them, and the new message.
#[derive(Debug, Clone, Default)]
pub struct Exchange {
    pub previous: Vec<String>,
    pub answered: bool,
    pub text: String,
    /// The ticket's language (Gorgias's `language`), if any.
    pub language: Option<String>,
}

/// What the bot did with the new message.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// A reply from knowledge: the entries used and the responder's score.
    Answer {
        text: String,
        sources: Vec<String>,
        score: f64,
    },
    /// A reply that cites no knowledge (a courtesy reply).
    Courtesy { text: String },
    /// Handed to people (or the email asked for first), with the reason (and the best score
    /// for "no knowledge").
    Handover {
        reason: HandoverReason,
        score: Option<f64>,
    },
    /// Nothing said, nothing handed over.
    Silent,
}

/// The conversation of `ex` as the bot first sees it: a known customer (so a handover does not
/// stop at the email question), customer messages a minute apart, the bot's earlier answer
/// when there was one, and the whole lot unanswered in one turn.
pub fn conversation_for(ex: &Exchange, bot_user_id: u64, now: Timestamp) -> Conversation {
    let customer = Customer {
        id: CUSTOMER,
        email: Some("customer@example.org".into()),
        name: Some("Alex".into()),
    };
    let mut c = Conversation::new(bot_user_id, customer, ex.language.clone());
    let mut at = now - SignedDuration::from_mins(10);
    for text in &ex.previous {
        c.add_customer_message(text, at);
        at += SignedDuration::from_mins(1);
    }
    if ex.answered {
        c.add_bot_message("(the bot's earlier answer)", at);
        c.answered_so_far(at);
        at += SignedDuration::from_mins(1);
    }
    c.add_customer_message(&ex.text, at);
    c
}

/// Decides `ex` with `responder` under `policy` (every agent online), as the daemon would.
pub async fn run(
    responder: &Arc<dyn Responder>,
    policy: &Policy,
    ex: &Exchange,
    now: Timestamp,
    timeout: Duration,
) -> Verdict {
    conversation_for(ex, policy.bot_user_id, now)
        .decide(now, Availability::Online, responder, policy, timeout)
        .await
        .verdict()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::daemon::policy_for;
    use crate::responder::kb::{DEFAULT_CONFIDENCE, Kb, KbResponder};

    fn kb_responder() -> Arc<dyn Responder> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/kb");
        Arc::new(KbResponder::new(
            Kb::load_dir(&dir).unwrap(),
            DEFAULT_CONFIDENCE,
        ))
    }

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).unwrap()
    }

    #[tokio::test]
    async fn a_handover_asks_for_the_email_then_releases_the_ticket_and_goes_silent() {
        let config = Config::for_tests("http://127.0.0.1:9", "bot@example.com", "key");
        let policy = policy_for(&config, 5);
        let r = kb_responder();
        let mut c = Conversation::new(5, Conversation::customer(None), None);
        let online = || Availability::Online;
        let d = Duration::from_secs(5);

        let got = c
            .customer_says("How can I track my order?", t(0), online(), &r, &policy, d)
            .await;
        assert!(matches!(got.verdict(), Verdict::Answer { .. }), "{got:?}");
        assert_eq!(c.state(), Some(TicketState::Answered));

        let got = c
            .customer_says("I want to talk to a human", t(1), online(), &r, &policy, d)
            .await;
        assert!(got.asks_email(), "{got:?}");
        assert_eq!(
            got.replies().collect::<Vec<_>>(),
            [policy.messages.default.email_request.as_str()]
        );
        assert_eq!(c.state(), Some(TicketState::AwaitingEmail));
        assert!(!c.with_team());

        let got = c
            .customer_says("sure, it is jo@example.org", t(2), online(), &r, &policy, d)
            .await;
        assert_eq!(got.handover_reason(), Some(HandoverReason::Requested));
        assert!(c.with_team(), "{got:?}");
        let email = c.ticket().customer.as_ref().and_then(|c| c.email.clone());
        assert_eq!(email.as_deref(), Some("jo@example.org"));
        assert_eq!(c.state(), Some(TicketState::Escalated));

        // The team's now: the customer writes again and the engine does nothing.
        let got = c
            .customer_says("How can I track my order?", t(3), online(), &r, &policy, d)
            .await;
        assert!(got.plan.steps.is_empty(), "{got:?}");
        assert_eq!(got.verdict(), Verdict::Silent);
    }
}
