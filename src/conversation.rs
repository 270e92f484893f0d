//! A synthetic conversation run through the daemon's own decision path: a ticket built from
//! customer messages (and a bot reply when the customer was already answered), then
//! [`engine::decide`] in its two phases (without an answer, then with the responder's outcome),
//! exactly as the poll loop does. Used by `perfectbot eval`; nothing here touches Gorgias or a
//! ledger.

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use crate::engine::{self, Action, Answering, Availability, Input, Policy};
use crate::gorgias::{Customer, Message, Ticket, UserRef};
use crate::responder::{HandoverReason, Responder};

/// The customer's id in synthetic tickets.
const CUSTOMER: u64 = 100;

/// One conversation to decide: earlier customer messages, whether the bot already replied to
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
    /// Handed to people, with the reason (and the best score for "no knowledge").
    Handover {
        reason: HandoverReason,
        score: Option<f64>,
    },
    /// Nothing said, nothing handed over.
    Silent,
}

/// The synthetic ticket of `ex`, the way Gorgias would show it to the bot: open, on chat,
/// assigned to the bot, customer messages a minute apart.
pub fn ticket_for(ex: &Exchange, bot_user_id: u64, now: Timestamp) -> Ticket {
    let mut messages = Vec::new();
    let mut at = now - SignedDuration::from_mins(10);
    let push = |messages: &mut Vec<Message>, from_agent: bool, text: &str, at: Timestamp| {
        let id = messages.len() as u64 + 1;
        messages.push(Message {
            id,
            ticket_id: Some(1),
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
                id: if from_agent { bot_user_id } else { CUSTOMER },
                ..Default::default()
            }),
            body_text: Some(text.to_owned()),
            created_datetime: Some(at),
            ..Default::default()
        });
    };
    for text in &ex.previous {
        push(&mut messages, false, text, at);
        at += SignedDuration::from_mins(1);
    }
    if ex.answered {
        push(&mut messages, true, "(the bot's earlier answer)", at);
        at += SignedDuration::from_mins(1);
    }
    push(&mut messages, false, &ex.text, at);
    Ticket {
        id: 1,
        status: "open".into(),
        channel: Some("chat".into()),
        customer: Some(Customer {
            id: CUSTOMER,
            email: Some("customer@example.org".into()),
            name: Some("Alex".into()),
        }),
        assignee_user: Some(UserRef {
            id: bot_user_id,
            ..Default::default()
        }),
        language: ex.language.clone(),
        updated_datetime: Some(at),
        messages,
        ..Default::default()
    }
}

/// Decides `ex` with `responder` under `policy`, the engine's two phases; a responder that
/// fails or takes longer than `timeout` counts as the engine's `error` handover.
pub async fn run(
    responder: &Arc<dyn Responder>,
    policy: &Policy,
    ex: &Exchange,
    now: Timestamp,
    timeout: Duration,
) -> Verdict {
    let ticket = ticket_for(ex, policy.bot_user_id, now);
    let availability = Availability::Online;
    let input = |answer| Input {
        ticket: &ticket,
        row: None,
        now,
        availability: &availability,
        answer,
    };
    let first = engine::decide(&input(Answering::NotAsked), policy);
    let plan = match &first.need_answer {
        None => first,
        Some(turn) => match tokio::time::timeout(timeout, responder.answer(turn)).await {
            Ok(Ok(outcome)) => engine::decide(&input(Answering::Outcome(&outcome)), policy),
            Ok(Err(_)) | Err(_) => {
                return Verdict::Handover {
                    reason: HandoverReason::Error,
                    score: None,
                };
            }
        },
    };
    verdict_of(&plan)
}

fn verdict_of(plan: &engine::Plan) -> Verdict {
    if let Some((sources, score)) = plan.events.iter().find_map(|e| match e {
        crate::ledger::Event::Answered { sources, score, .. } => Some((sources.clone(), *score)),
        _ => None,
    }) {
        let text = reply_text(plan).unwrap_or_default();
        if sources.is_empty() {
            return Verdict::Courtesy { text };
        }
        return Verdict::Answer {
            text,
            sources,
            score: score.unwrap_or(0.0),
        };
    }
    if let Some(reason) = plan
        .events
        .iter()
        .find_map(|e| e.reason().and_then(HandoverReason::parse))
    {
        // No planned event carries the responder's best score.
        return Verdict::Handover {
            reason,
            score: None,
        };
    }
    match reply_text(plan) {
        Some(text) => Verdict::Courtesy { text },
        None => Verdict::Silent,
    }
}

fn reply_text(plan: &engine::Plan) -> Option<String> {
    plan.steps.iter().find_map(|s| match &s.action {
        Action::Reply(t) => Some(t.clone()),
        _ => None,
    })
}
