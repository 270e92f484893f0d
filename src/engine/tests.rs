//! The lifecycle table as tests: one row per rule of the seed article, plus property tests of
//! the invariants (never two replies to one customer message, never a close with an unanswered
//! customer message, never a write on an opted-out ticket or someone else's).

use super::*;
use crate::config::{CollectEmail, MessageTemplates, Tags};
use crate::gorgias::{Customer, Tag, Team, UserRef};
use crate::ledger::ActionKind;
use crate::responder::intent::IntentConfig;
use proptest::prelude::*;

const BOT: u64 = 1;
const AGENT: u64 = 2;
const CUSTOMER: u64 = 100;

fn t0() -> Timestamp {
    "2026-11-23T10:00:00Z".parse().unwrap()
}

fn at(secs: i64) -> Timestamp {
    t0() + SignedDuration::from_secs(secs)
}

fn policy() -> Policy {
    Policy {
        bot_user_id: BOT,
        channels: vec!["chat".into()],
        extra_opt_out_tags: vec!["ai_ignore".into()],
        tags: Tags {
            agent_required: "PerfectBot: Agent Required".into(),
            agent_check: "PerfectBot: Agent Check Recommended".into(),
            handled: "PerfectBot: Handled".into(),
            not_involved: "PerfectBot: Not Involved".into(),
            auto_closed: "PerfectBot: Auto-closed".into(),
            preview: "PerfectBot: Preview".into(),
        },
        close_after: SignedDuration::from_mins(15),
        email_wait: SignedDuration::from_mins(5),
        answer_deadline: SignedDuration::from_mins(2),
        collect_email: CollectEmail::Always,
        assign_team_id: None,
        assign_user_id: None,
        messages: Messages {
            default: MessageTemplates {
                online: "An agent will be with you shortly, {customer_name}.".into(),
                no_agents: "Our agents are busy; we will reply to {email}.".into(),
                after_hours: "We are closed; back {next_open}.".into(),
                email_request: "What is your email?".into(),
                greeting: "Hello {customer_name}! How can I help?".into(),
                thanks: "You're welcome!".into(),
                goodbye: "Goodbye!".into(),
            },
            languages: [(
                "fr".to_string(),
                MessageTemplates {
                    online: "Un collègue arrive, {customer_name}.".into(),
                    no_agents: "Tout le monde est occupé ; réponse à {email}.".into(),
                    after_hours: "Fermé ; retour : {next_open}.".into(),
                    email_request: "Votre e-mail ?".into(),
                    greeting: "Bonjour {customer_name} !".into(),
                    thanks: "Avec plaisir !".into(),
                    goodbye: "Au revoir !".into(),
                },
            )]
            .into(),
        },
        intent: IntentConfig::default(),
        orders: crate::orders::OrdersPolicy::default(),
    }
}

/// A chat ticket assigned to the bot, built message by message.
#[derive(Clone)]
struct T(Ticket);

impl T {
    fn new() -> Self {
        T(crate::conversation::chat_ticket(
            7,
            BOT,
            Customer {
                id: CUSTOMER,
                email: Some("jane@example.org".into()),
                name: Some("Jane".into()),
            },
        ))
    }
    fn msg(mut self, id: u64, secs: i64, from_agent: bool, sender: u64, text: &str) -> Self {
        let m = crate::conversation::chat_message(7, id, at(secs), from_agent, sender, text);
        self.0.messages.push(m);
        self.0.updated_datetime = Some(at(secs));
        self
    }
    fn customer(self, id: u64, secs: i64, text: &str) -> Self {
        self.msg(id, secs, false, CUSTOMER, text)
    }
    fn bot(self, id: u64, secs: i64, text: &str) -> Self {
        self.msg(id, secs, true, BOT, text)
    }
    fn agent(self, id: u64, secs: i64, text: &str) -> Self {
        self.msg(id, secs, true, AGENT, text)
    }
    fn rule(mut self, id: u64, secs: i64, text: &str) -> Self {
        self = self.msg(id, secs, true, 0, text);
        let m = self.0.messages.last_mut().unwrap();
        m.via = Some("rule".into());
        m.rule_id = Some(9);
        self
    }
    fn tag(mut self, name: &str) -> Self {
        self.0.tags.push(Tag {
            id: None,
            name: name.into(),
        });
        self
    }
    fn assigned_to(mut self, user: Option<u64>) -> Self {
        self.0.assignee_user = user.map(|id| UserRef {
            id,
            ..Default::default()
        });
        self
    }
    fn team(mut self, id: u64) -> Self {
        self.0.assignee_team = Some(Team {
            id,
            ..Default::default()
        });
        self
    }
    fn channel(mut self, c: &str) -> Self {
        self.0.channel = Some(c.into());
        self
    }
    fn status(mut self, s: &str) -> Self {
        self.0.status = s.into();
        self
    }
    fn no_email(mut self) -> Self {
        if let Some(c) = self.0.customer.as_mut() {
            c.email = None;
        }
        self
    }
}

fn answer(text: &str) -> Outcome {
    Outcome::Answer {
        text: text.into(),
        sources: vec!["shop.toml#1".into()],
        score: 3.0,
    }
}

fn run(t: &T, row: Option<&TicketRow>, now: Timestamp, answer: Answering<'_>) -> Plan {
    run_with(t, row, now, answer, &Availability::Online, &policy())
}

/// The first look at a ticket, agents online, nothing asked of the responder yet.
fn first_turn(t: &T, p: &Policy) -> Plan {
    run_with(
        t,
        None,
        at(1),
        Answering::NotAsked,
        &Availability::Online,
        p,
    )
}

/// The first look at a ticket while the business is closed until Monday 09:00.
fn after_hours_turn(t: &T, p: &Policy) -> Plan {
    run_with(
        t,
        None,
        at(1),
        Answering::NotAsked,
        &closed_until_monday(),
        p,
    )
}

fn run_with(
    t: &T,
    row: Option<&TicketRow>,
    now: Timestamp,
    answer: Answering<'_>,
    availability: &Availability,
    policy: &Policy,
) -> Plan {
    decide(
        &Input {
            ticket: &t.0,
            row,
            now,
            availability,
            answer,
        },
        policy,
    )
}

fn actions(p: &Plan) -> Vec<Action> {
    p.steps.iter().map(|s| s.action.clone()).collect()
}

fn replies(p: &Plan) -> Vec<String> {
    p.steps
        .iter()
        .filter_map(|s| match &s.action {
            Action::Reply(t) => Some(t.clone()),
            _ => None,
        })
        .collect()
}

fn row_in(state: TicketState) -> TicketRow {
    TicketRow {
        state,
        ..TicketRow::new(7, at(-3600))
    }
}

/// The row of a ticket whose customer asked for a person (message 1 at 0 s) and was asked for
/// an email at 1 s.
fn awaiting_email_row() -> TicketRow {
    TicketRow {
        state: TicketState::AwaitingEmail,
        reason: Some(HandoverReason::Requested.into()),
        email_requested_at: Some(at(1)),
        last_customer_msg_id: Some(1),
        last_customer_msg_at: Some(at(0)),
        ..TicketRow::new(7, at(0))
    }
}

/// The ticket of [`awaiting_email_row`]: no email known, a request for a person, the bot's
/// question.
fn asked_for_email() -> T {
    T::new()
        .no_email()
        .customer(1, 0, "talk to a human please")
        .bot(2, 1, "What is your email?")
}

/// Each row: a name, the seed rule it checks, and an assertion on the plan.
#[test]
fn lifecycle_table() {
    let p = policy();
    let ans = answer("Orders ship in 2 days.");
    let nk = Outcome::NoKnowledge { best_score: None };
    struct Case {
        name: &'static str,
        ticket: T,
        row: Option<TicketRow>,
        now: Timestamp,
        answering: Answering<'static>,
        check: Box<dyn Fn(&Plan)>,
    }
    // Leak the outcomes so the table can hold 'static references.
    let ans: &'static Outcome = Box::leak(Box::new(ans));
    let nk: &'static Outcome = Box::leak(Box::new(nk));
    let answered_row = TicketRow {
        state: TicketState::Answered,
        last_customer_msg_id: Some(1),
        last_customer_msg_at: Some(at(0)),
        last_bot_reply_at: Some(at(5)),
        close_deadline: Some(at(5) + p.close_after),
        ..TicketRow::new(7, at(0))
    };
    let cases = vec![
        Case {
            name: "1. an opt-out tag keeps the bot off, ledger state ignored",
            ticket: T::new()
                .customer(1, 0, "hello?")
                .tag("PerfectBot: Not Involved"),
            row: None,
            now: at(10),
            answering: Answering::NotAsked,
            check: Box::new(|p| {
                assert!(p.is_quiet());
                assert!(p.need_answer.is_none());
                assert_eq!(p.row.state, TicketState::Ignored);
            }),
        },
        Case {
            name: "1b. a configured opt-out tag (ai_ignore) also keeps the bot off",
            ticket: T::new().customer(1, 0, "hello?").tag("ai_ignore"),
            row: Some(answered_row.clone()),
            now: at(5000),
            answering: Answering::NotAsked,
            check: Box::new(|p| {
                assert!(p.is_quiet(), "never closes an opted-out ticket");
                assert_eq!(p.row.state, TicketState::Ignored);
            }),
        },
        Case {
            name: "2. a Gorgias rule answered first: tag Not Involved, release, stay silent",
            ticket: T::new()
                .customer(1, 0, "where is my order")
                .rule(2, 1, "auto reply"),
            row: None,
            now: at(10),
            answering: Answering::NotAsked,
            check: Box::new(|p| {
                assert_eq!(
                    actions(p),
                    vec![
                        Action::AddTags(vec!["PerfectBot: Not Involved".into()]),
                        Action::Unassign
                    ]
                );
                assert!(replies(p).is_empty());
                assert_eq!(p.row.state, TicketState::Ignored);
                assert_eq!(p.row.reason.map(|r| r.as_str()), Some("rule"));
            }),
        },
        Case {
            name: "3. not a bot channel: nothing",
            ticket: T::new().channel("email").customer(1, 0, "hi"),
            row: None,
            now: at(10),
            answering: Answering::NotAsked,
            check: Box::new(|p| {
                assert!(p.is_quiet() && p.need_answer.is_none());
                assert_eq!(p.row.state, TicketState::Ignored);
            }),
        },
        Case {
            name: "4. assigned to an agent: released, never writes",
            ticket: T::new().customer(1, 0, "hi").assigned_to(Some(AGENT)),
            row: Some(answered_row.clone()),
            now: at(5000),
            answering: Answering::NotAsked,
            check: Box::new(|p| {
                assert!(p.is_quiet());
                assert_eq!(p.row.state, TicketState::Released);
                assert_eq!(p.row.close_deadline, None);
            }),
        },
        Case {
            name: "4b. assigned to a team: released",
            ticket: T::new().customer(1, 0, "hi").assigned_to(None).team(5),
            row: Some(row_in(TicketState::Active)),
            now: at(10),
            answering: Answering::NotAsked,
            check: Box::new(|p| {
                assert!(p.is_quiet());
                assert_eq!(p.row.state, TicketState::Released);
            }),
        },
        Case {
            name: "5. back with the bot but still tagged Agent Required: nothing",
            ticket: T::new()
                .customer(1, 0, "hi")
                .tag("PerfectBot: Agent Required"),
            row: Some(row_in(TicketState::Escalated)),
            now: at(10),
            answering: Answering::NotAsked,
            check: Box::new(|p| {
                assert!(p.is_quiet() && p.need_answer.is_none());
                assert_eq!(p.row.state, TicketState::Escalated);
            }),
        },
        Case {
            name: "6. returned to the bot: active, answers only what no one answered",
            ticket: T::new()
                .customer(1, 0, "question one")
                .agent(2, 10, "agent answer")
                .customer(3, 20, "new question"),
            row: Some(row_in(TicketState::Escalated)),
            now: at(30),
            answering: Answering::NotAsked,
            check: Box::new(|p| {
                assert_eq!(p.row.state, TicketState::Active);
                assert_eq!(p.row.returned_at, Some(at(30)));
                let turn = p.need_answer.as_ref().expect("asks the responder");
                assert_eq!(turn.messages, vec!["new question".to_string()]);
            }),
        },
        Case {
            name: "6b. returned with nothing new from the customer: quiet",
            ticket: T::new()
                .customer(1, 0, "q")
                .agent(2, 10, "answered by agent"),
            row: Some(row_in(TicketState::Released)),
            now: at(30),
            answering: Answering::NotAsked,
            check: Box::new(|p| {
                assert!(p.is_quiet() && p.need_answer.is_none());
                assert_eq!(p.row.state, TicketState::Active);
            }),
        },
        Case {
            name: "7. a question the responder knows: reply, arm the close (Handled comes with the close's tags)",
            ticket: T::new().customer(1, 0, "when will my order ship?"),
            row: None,
            now: at(3),
            answering: Answering::Outcome(ans),
            check: Box::new(|p| {
                assert_eq!(replies(p), vec!["Orders ship in 2 days.".to_string()]);
                assert_eq!(
                    p.steps.len(),
                    1,
                    "the answer is one request: {:?}",
                    actions(p)
                );
                assert_eq!(p.row.state, TicketState::Answered);
                assert_eq!(
                    p.row.close_deadline,
                    Some(at(3) + SignedDuration::from_mins(15))
                );
                assert_eq!(p.row.last_customer_msg_id, Some(1));
            }),
        },
        Case {
            name: "7a. a new turn first asks the responder and does nothing else",
            ticket: T::new().customer(1, 0, "when will my order ship?"),
            row: None,
            now: at(3),
            answering: Answering::NotAsked,
            check: Box::new(|p| {
                assert!(p.is_quiet());
                assert_eq!(p.need_answer.as_ref().unwrap().messages.len(), 1);
            }),
        },
        Case {
            name: "7b. handover on demand: email known, online message, Agent Required, unassign, note",
            ticket: T::new().customer(1, 0, "I want to talk to a human"),
            row: None,
            now: at(3),
            answering: Answering::NotAsked,
            check: Box::new(|p| {
                let a = actions(p);
                assert_eq!(
                    replies(p),
                    vec!["An agent will be with you shortly, Jane.".to_string()]
                );
                assert!(a.contains(&Action::AddTags(vec!["PerfectBot: Agent Required".into()])));
                assert!(a.contains(&Action::Unassign));
                assert!(a.iter().any(
                    |x| matches!(x, Action::Note(n) if n.contains("requested") && n.contains("jane@example.org"))
                ));
                assert_eq!(
                    a.last(),
                    Some(&Action::Unassign),
                    "the release is the last write"
                );
                assert_eq!(p.row.state, TicketState::Escalated);
                assert_eq!(p.row.reason.map(|r| r.as_str()), Some("requested"));
                // The reply goes before the unassign (Gorgias may assign to whoever replies).
                let reply_at = a
                    .iter()
                    .position(|x| matches!(x, Action::Reply(_)))
                    .unwrap();
                let release_at = a.iter().position(|x| *x == Action::Unassign).unwrap();
                assert!(reply_at < release_at);
            }),
        },
        Case {
            name: "7c. frustration: handover with Agent Required",
            ticket: T::new().customer(1, 0, "this is useless"),
            row: None,
            now: at(3),
            answering: Answering::NotAsked,
            check: Box::new(|p| {
                assert_eq!(p.row.reason.map(|r| r.as_str()), Some("frustrated"));
                assert!(
                    actions(p)
                        .contains(&Action::AddTags(vec!["PerfectBot: Agent Required".into()]))
                );
            }),
        },
        Case {
            name: "7d. no knowledge: handover with Agent Check Recommended, ticket stays open",
            ticket: T::new().customer(1, 0, "do you sell unicorns?"),
            row: None,
            now: at(3),
            answering: Answering::Outcome(nk),
            check: Box::new(|p| {
                let a = actions(p);
                assert!(a.contains(&Action::AddTags(vec![
                    "PerfectBot: Agent Check Recommended".into()
                ])));
                assert!(!a.contains(&Action::Close));
                assert_eq!(p.row.reason.map(|r| r.as_str()), Some("no_knowledge"));
            }),
        },
        Case {
            name: "7e. handover without a known email asks for it first",
            ticket: T::new().no_email().customer(1, 0, "talk to a human please"),
            row: None,
            now: at(3),
            answering: Answering::NotAsked,
            check: Box::new(|p| {
                assert_eq!(replies(p), vec!["What is your email?".to_string()]);
                assert_eq!(actions(p).len(), 1);
                assert_eq!(p.row.state, TicketState::AwaitingEmail);
                assert_eq!(p.row.reason.map(|r| r.as_str()), Some("requested"));
            }),
        },
        Case {
            name: "7f. the email arrives: saved on the customer, then the handover",
            ticket: asked_for_email().customer(3, 30, "sure, it's jane.doe@example.org"),
            row: Some(awaiting_email_row()),
            now: at(31),
            answering: Answering::NotAsked,
            check: Box::new(|p| {
                let a = actions(p);
                assert_eq!(
                    a[0],
                    Action::SetEmail {
                        customer_id: CUSTOMER,
                        email: "jane.doe@example.org".into()
                    }
                );
                assert!(a.contains(&Action::AddTags(vec!["PerfectBot: Agent Required".into()])));
                assert_eq!(p.row.state, TicketState::Escalated);
            }),
        },
        Case {
            name: "7g. no email within email_wait: handover anyway (sweep)",
            ticket: T::new().no_email().customer(1, 0, "human please").bot(
                2,
                1,
                "What is your email?",
            ),
            row: Some(awaiting_email_row()),
            now: at(1 + 300),
            answering: Answering::NotAsked,
            check: Box::new(|p| {
                assert_eq!(p.row.state, TicketState::Escalated);
                assert!(
                    actions(p)
                        .iter()
                        .any(|x| matches!(x, Action::Note(n) if n.contains("not given")))
                );
            }),
        },
        Case {
            name: "7h. responder failing: retry, then hand over with reason error after answer_deadline",
            ticket: T::new().customer(1, 0, "where is my parcel"),
            row: Some(TicketRow {
                pending_since: Some(at(0)),
                ..TicketRow::new(7, at(0))
            }),
            now: at(121),
            answering: Answering::Failed("timeout"),
            check: Box::new(|p| {
                assert_eq!(p.row.state, TicketState::Escalated);
                assert_eq!(p.row.reason.map(|r| r.as_str()), Some("error"));
                assert!(actions(p).contains(&Action::AddTags(vec![
                    "PerfectBot: Agent Check Recommended".into()
                ])));
            }),
        },
        Case {
            name: "7i. responder failing before the deadline: nothing yet, remembered",
            ticket: T::new().customer(1, 0, "where is my parcel"),
            row: None,
            now: at(30),
            answering: Answering::Failed("timeout"),
            check: Box::new(|p| {
                assert!(p.is_quiet());
                assert_eq!(p.row.pending_since, Some(at(0)));
                assert_eq!(p.row.last_customer_msg_id, None, "still unanswered");
            }),
        },
        Case {
            name: "7s. a greeting at the start: a courtesy reply, no handover, no responder, close armed",
            ticket: T::new().customer(1, 0, "hello?"),
            row: None,
            now: at(3),
            answering: Answering::NotAsked,
            check: Box::new(|p| {
                assert!(
                    p.need_answer.is_none(),
                    "small talk never reaches the responder"
                );
                assert_eq!(
                    actions(p),
                    vec![Action::Reply("Hello Jane! How can I help?".into())]
                );
                assert_eq!(
                    p.steps[0].trigger, "m1",
                    "keyed by the message like any reply"
                );
                assert_eq!(p.row.state, TicketState::Answered);
                assert_eq!(
                    p.row.close_deadline,
                    Some(at(3) + SignedDuration::from_mins(15))
                );
                assert_eq!(p.row.last_bot_reply_at, Some(at(3)));
                assert_eq!(p.row.last_customer_msg_id, Some(1));
                assert_eq!(p.row.answers, 0, "a courtesy is not an answer");
                assert_eq!(p.rule, Rule::SmallTalk);
            }),
        },
        Case {
            name: "7t. thanks right after an answer: no reply, Handled kept, close re-armed from now",
            ticket: T::new()
                .customer(1, 0, "q")
                .bot(2, 5, "a")
                .tag("PerfectBot: Handled")
                .customer(3, 60, "thanks!"),
            row: Some(answered_row.clone()),
            now: at(61),
            answering: Answering::NotAsked,
            check: Box::new(|p| {
                assert!(p.is_quiet(), "no write at all: {:?}", p.steps);
                assert!(p.need_answer.is_none());
                assert_eq!(p.row.state, TicketState::Answered);
                assert_eq!(
                    p.row.close_deadline,
                    Some(at(61) + SignedDuration::from_mins(15))
                );
                assert_eq!(p.row.last_customer_msg_id, Some(3), "the thanks is handled");
                assert_eq!(p.row.last_bot_reply_at, Some(at(5)));
                assert!(p.events.iter().any(|e| matches!(e,
                    crate::ledger::Event::SmallTalk { talk, replied: false, .. } if talk == "thanks")));
            }),
        },
        Case {
            name: "7u. thanks with a new question: the question is answered normally",
            ticket: T::new().customer(1, 0, "q").bot(2, 5, "a").customer(
                3,
                60,
                "thanks! and do you ship to Canada?",
            ),
            row: Some(answered_row.clone()),
            now: at(61),
            answering: Answering::NotAsked,
            check: Box::new(|p| {
                assert!(p.is_quiet());
                let turn = p.need_answer.as_ref().expect("asks the responder");
                assert_eq!(
                    turn.messages,
                    vec!["thanks! and do you ship to Canada?".to_string()]
                );
            }),
        },
        Case {
            name: "7v. thanks while awaiting the email: still the email path (handover)",
            ticket: asked_for_email().customer(3, 30, "thanks"),
            row: Some(awaiting_email_row()),
            now: at(31),
            answering: Answering::NotAsked,
            check: Box::new(|p| {
                assert_eq!(p.row.state, TicketState::Escalated);
                assert_eq!(p.row.reason.map(|r| r.as_str()), Some("requested"));
                assert!(
                    actions(p)
                        .iter()
                        .any(|x| matches!(x, Action::Note(n) if n.contains("not given")))
                );
            }),
        },
        Case {
            name: "7w. a goodbye after an answer gets a goodbye; the close is re-armed",
            ticket: T::new()
                .customer(1, 0, "q")
                .bot(2, 5, "a")
                .customer(3, 60, "ok thanks, bye!"),
            row: Some(answered_row.clone()),
            now: at(61),
            answering: Answering::NotAsked,
            check: Box::new(|p| {
                assert_eq!(replies(p), vec!["Goodbye!".to_string()]);
                assert_eq!(p.row.state, TicketState::Answered);
                assert_eq!(
                    p.row.close_deadline,
                    Some(at(61) + SignedDuration::from_mins(15))
                );
            }),
        },
        Case {
            name: "7x. thanks when a person spoke last: a courtesy reply, not silence",
            ticket: T::new().customer(1, 0, "merci"),
            row: None,
            now: at(3),
            answering: Answering::NotAsked,
            check: Box::new(|p| {
                // No ticket language: the customer's words say French.
                assert_eq!(replies(p), vec!["Avec plaisir !".to_string()]);
            }),
        },
        Case {
            name: "7y. a greeting with a question in it is a question",
            ticket: T::new().customer(1, 0, "Hi! Do you ship to Canada?"),
            row: None,
            now: at(3),
            answering: Answering::NotAsked,
            check: Box::new(|p| {
                assert!(p.is_quiet());
                assert!(p.need_answer.is_some());
            }),
        },
        Case {
            name: "8. bot answered last, customer silent, deadline passed: tag Auto-closed and close",
            ticket: T::new()
                .customer(1, 0, "q")
                .bot(2, 5, "a")
                .tag("PerfectBot: Handled"),
            row: Some(answered_row.clone()),
            now: at(5 + 900),
            answering: Answering::NotAsked,
            check: Box::new(|p| {
                assert_eq!(
                    actions(p),
                    vec![
                        Action::AddTags(vec!["PerfectBot: Auto-closed".into()]),
                        Action::Close
                    ]
                );
                assert_eq!(p.row.state, TicketState::Closed);
            }),
        },
        Case {
            name: "8b. before the deadline: nothing",
            ticket: T::new().customer(1, 0, "q").bot(2, 5, "a"),
            row: Some(answered_row.clone()),
            now: at(5 + 899),
            answering: Answering::NotAsked,
            check: Box::new(|p| {
                assert!(p.is_quiet());
                assert_eq!(p.row.state, TicketState::Answered);
            }),
        },
        Case {
            name: "8c. the customer wrote before the deadline: no close, a new turn",
            ticket: T::new().customer(1, 0, "q").bot(2, 5, "a").customer(
                3,
                600,
                "and another thing",
            ),
            row: Some(answered_row.clone()),
            now: at(5 + 900),
            answering: Answering::NotAsked,
            check: Box::new(|p| {
                assert!(!actions(p).contains(&Action::Close));
                assert!(p.need_answer.is_some());
            }),
        },
        Case {
            name: "9. a customer writes after the close: the bot carries on",
            ticket: T::new().customer(1, 0, "q").bot(2, 5, "a").customer(
                3,
                2000,
                "one more question",
            ),
            row: Some(TicketRow {
                state: TicketState::Closed,
                ..answered_row.clone()
            }),
            now: at(2001),
            answering: Answering::NotAsked,
            check: Box::new(|p| {
                assert_eq!(p.row.state, TicketState::Active);
                assert_eq!(
                    p.need_answer.as_ref().unwrap().messages,
                    vec!["one more question".to_string()]
                );
            }),
        },
        Case {
            name: "10. an agent replies on the bot's ticket without reassigning: assigned to that agent, bot silent",
            ticket: T::new()
                .customer(1, 0, "q")
                .bot(2, 5, "a")
                .agent(3, 60, "let me help")
                .customer(4, 70, "thanks"),
            row: Some(answered_row.clone()),
            now: at(80),
            answering: Answering::NotAsked,
            check: Box::new(|p| {
                assert_eq!(actions(p), vec![Action::AssignUser(AGENT)]);
                assert_eq!(p.row.state, TicketState::Released);
                assert!(p.need_answer.is_none());
            }),
        },
        Case {
            name: "11. a ticket closed elsewhere stops being tracked",
            ticket: T::new().customer(1, 0, "q").bot(2, 5, "a").status("closed"),
            row: Some(answered_row.clone()),
            now: at(100),
            answering: Answering::NotAsked,
            check: Box::new(|p| {
                assert!(p.is_quiet());
                assert_eq!(p.row.state, TicketState::Closed);
                assert_eq!(p.row.close_deadline, None);
            }),
        },
    ];
    for c in cases {
        let plan = run(&c.ticket, c.row.as_ref(), c.now, c.answering);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (c.check)(&plan)));
        assert!(outcome.is_ok(), "case failed: {}\nplan: {plan:#?}", c.name);
    }
}

#[test]
fn handover_message_fits_availability() {
    let t = T::new().customer(1, 0, "talk to a human");
    let p = policy();
    let busy = run_with(
        &t,
        None,
        at(1),
        Answering::NotAsked,
        &Availability::NoAgents,
        &p,
    );
    assert_eq!(
        replies(&busy),
        vec!["Our agents are busy; we will reply to jane@example.org.".to_string()]
    );
    let closed = closed_until_monday();
    let after = run_with(&t, None, at(1), Answering::NotAsked, &closed, &p);
    assert_eq!(
        replies(&after),
        vec!["We are closed; back Monday 09:00 CET.".to_string()]
    );
}

impl T {
    fn language(mut self, language: &str) -> Self {
        self.0.language = Some(language.into());
        self
    }
}

#[test]
fn handover_message_is_in_the_tickets_language() {
    let p = policy();
    let closed = closed_until_monday();
    for tag in ["fr", "FR", "fr-FR", "fr_CA"] {
        let t = T::new()
            .language(tag)
            .customer(1, 0, "je veux parler à un humain");
        let plan = run_with(&t, None, at(1), Answering::NotAsked, &closed, &p);
        assert_eq!(
            replies(&plan),
            vec!["Fermé ; retour : lundi à 09:00 CET.".to_string()],
            "language {tag:?}"
        );
    }
    // The email request too, in French.
    let t = T::new()
        .no_email()
        .language("fr")
        .customer(1, 0, "je veux parler à un humain");
    let plan = first_turn(&t, &p);
    assert_eq!(replies(&plan), vec!["Votre e-mail ?".to_string()]);
}

#[test]
fn handover_message_falls_back_to_the_default_for_unknown_or_missing_languages() {
    let p = policy();
    for language in [Some("sv"), Some("xyz"), Some(""), None] {
        let mut t = T::new().customer(1, 0, "talk to a human");
        t.0.language = language.map(str::to_string);
        let plan = first_turn(&t, &p);
        assert_eq!(
            replies(&plan),
            vec!["An agent will be with you shortly, Jane.".to_string()],
            "language {language:?}"
        );
    }
}

#[test]
fn collect_email_when_offline_only_asks_when_nobody_is_available() {
    let t = T::new().no_email().customer(1, 0, "talk to a human");
    let p = Policy {
        collect_email: CollectEmail::WhenOffline,
        ..policy()
    };
    let online = first_turn(&t, &p);
    assert_eq!(online.row.state, TicketState::Escalated);
    let offline = run_with(
        &t,
        None,
        at(1),
        Answering::NotAsked,
        &Availability::NoAgents,
        &p,
    );
    assert_eq!(offline.row.state, TicketState::AwaitingEmail);
    let never = Policy {
        collect_email: CollectEmail::Never,
        ..policy()
    };
    let plan = run_with(
        &t,
        None,
        at(1),
        Answering::NotAsked,
        &Availability::NoAgents,
        &never,
    );
    assert_eq!(plan.row.state, TicketState::Escalated);
}

#[test]
fn handover_assigns_to_the_configured_team_or_user() {
    let t = T::new().customer(1, 0, "talk to a human");
    let team = Policy {
        assign_team_id: Some(42),
        ..policy()
    };
    let plan = first_turn(&t, &team);
    assert!(actions(&plan).contains(&Action::AssignTeam(42)));
    assert!(!actions(&plan).contains(&Action::Unassign));
    let user = Policy {
        assign_user_id: Some(AGENT),
        ..policy()
    };
    let plan = first_turn(&t, &user);
    assert!(actions(&plan).contains(&Action::AssignUser(AGENT)));
}

#[test]
fn escalated_ticket_assigned_to_the_handover_team_stays_escalated() {
    let t = T::new()
        .customer(1, 0, "q")
        .assigned_to(None)
        .team(42)
        .tag("PerfectBot: Agent Required");
    let plan = run(
        &t,
        Some(&row_in(TicketState::Escalated)),
        at(10),
        Answering::NotAsked,
    );
    assert_eq!(plan.row.state, TicketState::Escalated);
    assert!(plan.is_quiet());
}

#[test]
fn every_step_of_a_plan_has_a_distinct_idempotency_key() {
    let t = T::new()
        .no_email()
        .customer(1, 0, "talk to a human")
        .bot(2, 1, "email?")
        .customer(3, 5, "a@b.org");
    let row = awaiting_email_row();
    let plan = run(&t, Some(&row), at(6), Answering::NotAsked);
    let mut keys: Vec<(ActionKind, &str)> = plan
        .steps
        .iter()
        .map(|s| (s.action.kind(), s.trigger.as_str()))
        .collect();
    let n = keys.len();
    keys.sort_by_key(|(k, t)| (k.as_str(), t.to_string()));
    keys.dedup();
    assert_eq!(keys.len(), n, "{:?}", plan.steps);
}

// ---- property tests: simulate a conversation through many decisions ----

#[derive(Debug, Clone)]
enum Ev {
    Customer(u8),
    Agent,
    AssignAgent,
    ReturnToBot,
    OptOut,
    RemoveOptOut,
    Wait(u16),
    CloseByAgent,
}

fn ev() -> impl Strategy<Value = Ev> {
    prop_oneof![
        4 => (0u8..6).prop_map(Ev::Customer),
        1 => Just(Ev::Agent),
        1 => Just(Ev::AssignAgent),
        1 => Just(Ev::ReturnToBot),
        1 => Just(Ev::OptOut),
        1 => Just(Ev::RemoveOptOut),
        3 => (1u16..1200).prop_map(Ev::Wait),
        1 => Just(Ev::CloseByAgent),
    ]
}

const TEXTS: [&str; 6] = [
    "where is my order",
    "talk to a human",
    "this is useless",
    "do you ship to Mars",
    "thanks",
    "my email is x@example.org",
];

fn outcome_for(text: &str) -> Outcome {
    if text.contains("Mars") {
        Outcome::NoKnowledge { best_score: None }
    } else {
        answer("an answer")
    }
}

/// Apply a plan's actions to the ticket, as Gorgias would.
fn apply(t: &mut T, plan: &Plan, now_secs: i64, next_id: &mut u64) {
    for s in &plan.steps {
        match &s.action {
            Action::Reply(text) => {
                *next_id += 1;
                *t = t.clone().bot(*next_id, now_secs, text);
            }
            Action::Note(_) => {}
            Action::AddTags(names) => {
                for n in names {
                    if !t.0.has_tag(n) {
                        *t = t.clone().tag(n);
                    }
                }
            }
            Action::RemoveTags(names) => t.0.tags.retain(|x| !names.contains(&x.name)),
            Action::Unassign => t.0.assignee_user = None,
            Action::AssignUser(id) => *t = t.clone().assigned_to(Some(*id)),
            Action::AssignTeam(id) => *t = t.clone().assigned_to(None).team(*id),
            Action::Close => t.0.status = "closed".into(),
            Action::SetEmail { email, .. } => {
                if let Some(c) = t.0.customer.as_mut() {
                    c.email = Some(email.clone());
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn invariants_hold_over_random_conversations(events in proptest::collection::vec(ev(), 1..40), no_email in any::<bool>()) {

        let mut t = T::new();
        if no_email { t = t.no_email(); }
        let mut row: Option<TicketRow> = None;
        let mut now: i64 = 0;
        let mut next_id: u64 = 1000;
        let mut replied_to: std::collections::HashSet<String> = Default::default();
        for e in events {
            now += 1;
            match e {
                Ev::Customer(i) => {
                    next_id += 1;
                    t = t.customer(next_id, now, TEXTS[i as usize]);
                    t.0.status = "open".into(); // a customer message reopens
                }
                Ev::Agent => { next_id += 1; t = t.agent(next_id, now, "agent here"); }
                Ev::AssignAgent => t = t.assigned_to(Some(AGENT)),
                Ev::ReturnToBot => {
                    t = t.assigned_to(Some(BOT));
                    t.0.assignee_team = None;
                    t.0.tags.retain(|x| !x.name.contains("Agent"));
                }
                Ev::OptOut => if !t.0.has_tag("ai_ignore") { t = t.tag("ai_ignore") },
                Ev::RemoveOptOut => t.0.tags.retain(|x| x.name != "ai_ignore"),
                Ev::Wait(s) => now += s as i64,
                Ev::CloseByAgent => t.0.status = "closed".into(),
            }
            let before = t.clone();
            let mut plan = run(&t, row.as_ref(), at(now), Answering::NotAsked);
            if let Some(turn) = plan.need_answer.clone() {
                prop_assert!(plan.steps.is_empty());
                let o = outcome_for(&turn.messages.join(" "));
                plan = run(&t, row.as_ref(), at(now), Answering::Outcome(&o));
            }
            let owned_by_other = before.0.assignee_user.as_ref().is_some_and(|u| u.id != BOT)
                || (before.0.assignee_user.is_none() && before.0.assignee_team.is_some());
            let opted_out = before.0.has_tag("ai_ignore") || before.0.has_tag("PerfectBot: Not Involved");
            if owned_by_other || opted_out || !before.0.is_open() {
                prop_assert!(plan.steps.is_empty(), "wrote on a ticket not the bot's: {:?}", plan.steps);
            }
            if plan.steps.iter().any(|s| s.action == Action::Close) {
                let last_customer = before.0.messages.iter().filter(|m| m.is_from_customer()).map(|m| m.id).max();
                let last_bot = before.0.messages.iter().filter(|m| m.from_agent).map(|m| m.id).max();
                // Thanks after the bot's reply is deliberately left without a reply: bare small
                // talk is the only customer message a close may leave behind.
                let unanswered_question = before.0.messages.iter().any(|m| {
                    m.is_from_customer()
                        && Some(m.id) > last_bot
                        && crate::responder::smalltalk::small_talk(&m.text()).is_none()
                });
                prop_assert!(
                    last_customer < last_bot || !unanswered_question,
                    "closed with an unanswered customer message"
                );
            }
            for s in &plan.steps {
                if let Action::Reply(_) = s.action {
                    // The trigger's message part ("m123" or "email_wait:...") identifies what the reply answers.
                    let key = s.trigger.clone();
                    prop_assert!(replied_to.insert(key.clone()), "two replies for {key}");
                    let msg_part = key.split(':').next().unwrap_or("").to_string();
                    if msg_part.starts_with('m') {
                        let n = plan.steps.iter().filter(|x| matches!(x.action, Action::Reply(_)) && x.trigger.split(':').next() == Some(msg_part.as_str())).count();
                        prop_assert!(n <= 1, "two replies to one customer message in one plan");
                    }
                }
            }
            apply(&mut t, &plan, now, &mut next_id);
            row = Some(plan.row);
        }
    }
}

#[test]
fn a_plan_interrupted_after_its_reply_is_replanned_with_the_same_keys() {
    let t = T::new().customer(1, 0, "when will my order ship?");
    let o = answer("Orders ship in 2 days.");
    let first = run(&t, None, at(1), Answering::Outcome(&o));
    // Only the reply landed before a crash; the ledger row was not saved.
    let after_reply = t.clone().bot(2, 1, "Orders ship in 2 days.");
    let again = run(&after_reply, None, at(5), Answering::Outcome(&o));
    let keys = |p: &Plan| -> Vec<(ActionKind, String)> {
        p.steps
            .iter()
            .map(|s| (s.action.kind(), s.trigger.clone()))
            .collect()
    };
    assert_eq!(keys(&first), keys(&again));
    // Even if the responder changed its mind, any reply to message 1 has the same key.
    let nk = Outcome::NoKnowledge { best_score: None };
    let flipped = run(&after_reply, None, at(5), Answering::Outcome(&nk));
    let reply_keys: Vec<_> = flipped
        .steps
        .iter()
        .filter(|s| s.action.kind() == ActionKind::Reply)
        .map(|s| s.trigger.clone())
        .collect();
    assert_eq!(reply_keys, vec!["m1".to_string()]);
}

/// After hours, opening Monday 30 November 09:00 CET (plain data: the engine only puts it
/// into words, so it need not match `t0`).
fn closed_until_monday() -> Availability {
    Availability::AfterHours {
        next_open: Some(crate::hours::NextOpen {
            local: jiff::civil::date(2026, 11, 30).at(9, 0, 0, 0),
            days_ahead: 4,
            zone: "CET".into(),
        }),
    }
}

fn nameless(mut t: T) -> T {
    if let Some(c) = t.0.customer.as_mut() {
        c.name = None;
    }
    t
}

#[test]
fn french_after_hours_handover_names_the_day_in_french_and_fills_in_french() {
    let mut p = Policy {
        collect_email: CollectEmail::Never,
        ..policy()
    };
    p.messages.languages.insert(
        "fr".into(),
        MessageTemplates {
            after_hours: "Bonjour {customer_name} ! Retour {next_open}, réponse à {email}.".into(),
            ..MessageTemplates::builtin("fr").unwrap()
        },
    );
    let t = nameless(T::new().no_email().language("fr-FR")).customer(
        1,
        0,
        "je veux parler à un humain",
    );
    let plan = after_hours_turn(&t, &p);
    assert_eq!(
        replies(&plan),
        vec![
            "Bonjour à vous ! Retour lundi à 09:00 CET, réponse à votre adresse e-mail."
                .to_string()
        ]
    );
    // Closed with no known opening: the French "soon".
    let never = Availability::AfterHours { next_open: None };
    let plan = run_with(&t, None, at(1), Answering::NotAsked, &never, &p);
    assert_eq!(
        replies(&plan),
        vec!["Bonjour à vous ! Retour bientôt, réponse à votre adresse e-mail.".to_string()]
    );
}

#[test]
fn built_in_after_hours_messages_read_naturally_in_each_language() {
    let p = Policy {
        messages: Messages::builtin(),
        ..policy()
    };
    let cases = [
        (
            "fr",
            "Notre équipe est absente pour le moment. Nous serons de retour lundi à 09:00 CET et vous répondrons à ce moment-là.",
            "Nous serons de retour bientôt et",
        ),
        (
            "de",
            "Unser Team ist gerade nicht erreichbar. Wir sind am Montag um 09:00 CET wieder für Sie da und melden uns dann bei Ihnen.",
            "Wir sind bald wieder für Sie da",
        ),
        (
            "es",
            "Nuestro equipo no está disponible en este momento. Volvemos el lunes a las 09:00 CET y le responderemos entonces.",
            "Volvemos pronto y",
        ),
        (
            "it",
            "Il nostro team al momento non è disponibile. Saremo di nuovo operativi lunedì alle 09:00 CET e le risponderemo allora.",
            "operativi a breve e",
        ),
        (
            "nl",
            "Ons team is op dit moment offline. We zijn maandag om 09:00 CET weer bereikbaar en nemen dan contact met u op.",
            "We zijn binnenkort weer bereikbaar",
        ),
        (
            "pt",
            "A nossa equipe está offline neste momento. Estaremos de volta segunda-feira às 09:00 CET e responderemos nesse momento.",
            "Estaremos de volta em breve e",
        ),
        (
            "en",
            "Our team is offline right now. We open again Monday 09:00 CET and will get back to you then.",
            "We open again soon and",
        ),
    ];
    let never = Availability::AfterHours { next_open: None };
    for (lang, monday, soon) in cases {
        let t = T::new().language(lang).customer(1, 0, "talk to a human");
        let plan = after_hours_turn(&t, &p);
        assert_eq!(replies(&plan), vec![monday.to_string()], "{lang}");
        let plan = run_with(&t, None, at(1), Answering::NotAsked, &never, &p);
        assert!(
            replies(&plan)[0].contains(soon),
            "{lang}: {:?}",
            replies(&plan)
        );
    }
}

#[test]
fn a_language_without_a_stand_in_name_drops_the_placeholder_and_its_space() {
    let mut p = policy();
    p.messages.languages.insert(
        "de".into(),
        MessageTemplates {
            online: "Hallo {customer_name}, gleich ist jemand für Sie da.".into(),
            ..MessageTemplates::builtin("de").unwrap()
        },
    );
    let t =
        nameless(T::new().language("de")).customer(1, 0, "Ich möchte mit einem Menschen sprechen");
    let plan = first_turn(&t, &p);
    assert_eq!(
        replies(&plan),
        vec!["Hallo, gleich ist jemand für Sie da.".to_string()]
    );
}

#[test]
fn default_text_keeps_english_words_whatever_the_tickets_language() {
    // A team's customised default reaches French tickets untranslated: English words inside it,
    // as before, rather than "lundi" in an English sentence.
    let mut p = Policy {
        collect_email: CollectEmail::Never,
        ..policy()
    };
    let default = p.messages.default.clone();
    p.messages.languages.insert("fr".into(), default);
    let t =
        nameless(T::new().no_email().language("fr")).customer(1, 0, "je veux parler à un humain");
    let plan = after_hours_turn(&t, &p);
    assert_eq!(
        replies(&plan),
        vec!["We are closed; back Monday 09:00 CET.".to_string()]
    );
    let plan = run_with(
        &t,
        None,
        at(1),
        Answering::NotAsked,
        &Availability::NoAgents,
        &p,
    );
    assert_eq!(
        replies(&plan),
        vec!["Our agents are busy; we will reply to your email.".to_string()]
    );
    // A language with no set of its own gets the default and English words too.
    let t = nameless(T::new().language("sv")).customer(1, 0, "talk to a human");
    let plan = first_turn(&t, &p);
    assert_eq!(
        replies(&plan),
        vec!["An agent will be with you shortly, there.".to_string()]
    );
}

#[test]
fn after_a_silent_thanks_the_ticket_closes_at_the_re_armed_deadline() {
    let t = T::new()
        .customer(1, 0, "q")
        .bot(2, 5, "a")
        .tag("PerfectBot: Handled")
        .customer(3, 600, "perfect, that's all 👍");
    let answered = TicketRow {
        state: TicketState::Answered,
        last_customer_msg_id: Some(1),
        last_customer_msg_at: Some(at(0)),
        last_bot_reply_at: Some(at(5)),
        close_deadline: Some(at(5) + SignedDuration::from_mins(15)),
        ..TicketRow::new(7, at(0))
    };
    let thanks = run(&t, Some(&answered), at(601), Answering::NotAsked);
    assert!(thanks.is_quiet());
    // The old deadline (at 905) has passed, but the close moved with the customer's message.
    let before = run(&t, Some(&thanks.row), at(905), Answering::NotAsked);
    assert!(before.is_quiet(), "{:?}", before.steps);
    let due = run(&t, Some(&thanks.row), at(601 + 900), Answering::NotAsked);
    assert_eq!(
        actions(&due),
        vec![
            Action::AddTags(vec!["PerfectBot: Auto-closed".into()]),
            Action::Close
        ]
    );
    assert_eq!(due.row.state, TicketState::Closed);
}

#[test]
fn courtesy_replies_speak_the_tickets_language() {
    let t = T::new().language("fr-FR").customer(1, 0, "hello");
    let plan = first_turn(&t, &policy());
    assert_eq!(replies(&plan), vec!["Bonjour Jane !".to_string()]);
    // No ticket language and no language in the words ("ok"): the default set.
    let t = T::new().customer(1, 0, "👋");
    assert_eq!(
        replies(&first_turn(&t, &policy())),
        vec!["Hello Jane! How can I help?".to_string()]
    );
    // Replayed after an interruption, the courtesy has the same idempotency key.
    let again = first_turn(&t, &policy());
    assert_eq!(again.steps[0].trigger, "m1");
}

#[test]
fn deadline_arithmetic_saturates_instead_of_panicking() {
    // Durations far beyond what the config allows, and dates at the ends of the calendar as a
    // hostile Gorgias could send them: every deadline is held at the end, nothing panics.
    let mut p = policy();
    p.close_after = SignedDuration::MAX;
    p.email_wait = SignedDuration::MAX;
    p.answer_deadline = SignedDuration::MAX;
    let mut t = T::new().customer(1, 0, "when will my order ship?");
    t.0.messages[0].created_datetime = Some(Timestamp::MAX);
    let o = answer("Orders ship in 2 days.");
    let plan = run_with(
        &t,
        None,
        Timestamp::MAX,
        Answering::Outcome(&o),
        &Availability::Online,
        &p,
    );
    assert_eq!(plan.row.close_deadline, Some(Timestamp::MAX));
    let failed = run_with(
        &t,
        None,
        at(1),
        Answering::Failed("down"),
        &Availability::Online,
        &p,
    );
    assert_eq!(failed.rule, Rule::ResponderRetry);
    let answered = TicketRow {
        last_bot_reply_at: Some(Timestamp::MAX),
        ..row_in(TicketState::Answered)
    };
    let quiet = T::new().customer(1, 0, "hi").bot(2, 1, "hello");
    let mut row = answered.clone();
    row.last_customer_msg_id = Some(1);
    row.last_customer_msg_at = Some(at(0));
    let waiting = run_with(
        &quiet,
        Some(&row),
        at(10),
        Answering::NotAsked,
        &Availability::Online,
        &p,
    );
    assert_eq!(waiting.rule, Rule::Waiting);
    let awaiting = TicketRow {
        email_requested_at: Some(Timestamp::MAX),
        ..row.clone()
    };
    let awaiting = TicketRow {
        state: TicketState::AwaitingEmail,
        ..awaiting
    };
    let plan = run_with(
        &quiet,
        Some(&awaiting),
        at(10),
        Answering::NotAsked,
        &Availability::Online,
        &p,
    );
    assert_eq!(plan.rule, Rule::AwaitingEmail);
    assert_eq!(later(Timestamp::MIN, -SignedDuration::MAX), Timestamp::MIN);
}

#[test]
fn an_answer_with_a_template_placeholder_left_in_it_is_never_sent() {
    let t = T::new().customer(1, 0, "Do you sell laces?");
    let unrendered = answer("Hi {{ticket.customer.firstname}}, yes we do.");
    let p = run(&t, None, at(10), Answering::Outcome(&unrendered));
    assert!(
        replies(&p).iter().all(|r| !r.contains("{{")),
        "{:?}",
        replies(&p)
    );
    assert_eq!(p.row.state, TicketState::Escalated);
    assert!(actions(&p).contains(&Action::AddTags(vec![policy().tags.agent_check.clone()])));
    // Asked first, the turn carries what templates need: the ticket id, the customer's name
    // and email.
    let asked = run(&t, None, at(10), Answering::NotAsked);
    let turn = asked.need_answer.unwrap();
    assert_eq!(turn.ticket_id, Some(t.0.id));
    assert!(turn.customer_email.is_some());
}
