//! The engine's order path: a customer turn that asks where an order is (or asks to change
//! one) is answered from the customer's Shopify orders, which the daemon reads between the two
//! phases (`Plan::need_orders`, then `Answering::Orders`). What may be disclosed is
//! `crate::orders::answer::disclose`; this file turns its verdict into actions and states.

use super::{Action, Answering, Input, Plan, Policy, Rule, handover, mark_handled_through};
use crate::gorgias::Message;
use crate::ledger::{Event, StateReason, TicketState};
use crate::orders::answer::{self, Cause, Disclosure};
use crate::orders::detect::{self, AskKind};
use crate::orders::{Order, OrderLookup, words};
use crate::responder::HandoverReason;

/// Rule 7 for an order question. Returns false when the turn is not one (the caller goes on
/// with the responder); true when the plan is made (actions, or `need_orders`).
pub(super) fn order_turn(
    input: &Input<'_>,
    policy: &Policy,
    plan: &mut Plan,
    texts: &[String],
    latest: &Message,
    trigger: &str,
) -> bool {
    let t = input.ticket;
    let awaiting = plan.row.state == TicketState::AwaitingOrder;
    let ask = detect::detect(texts, t.language.as_deref(), awaiting);
    if ask.kind == AskKind::None && !awaiting {
        return false;
    }
    let customer_id = t.customer.as_ref().map_or(0, |c| c.id);
    let lookup = match input.answer {
        Answering::Orders(lookup) => lookup,
        _ if customer_id == 0 => {
            mark_handled_through(&mut plan.row, Some(latest));
            order_handover(
                input,
                policy,
                plan,
                trigger,
                "the ticket has no Gorgias customer to read orders from".into(),
                None,
                Rule::OrderTurn,
            );
            return true;
        }
        _ => {
            plan.rule = Rule::OrderTurn;
            plan.need_orders = Some(customer_id);
            return true;
        }
    };
    mark_handled_through(&mut plan.row, Some(latest));
    let orders = match lookup {
        OrderLookup::Found(o) => o,
        OrderLookup::Failed(why) => {
            plan.event(Event::OrdersFailed {
                error: why.to_string(),
            });
            order_handover(
                input,
                policy,
                plan,
                trigger,
                format!("the customer's orders could not be read: {why}"),
                None,
                Rule::OrderTurn,
            );
            return true;
        }
    };
    let templates = policy.orders.messages.for_language(t.language.as_deref());
    let name = t.customer.as_ref().and_then(|c| c.name.as_deref());
    match answer::disclose(orders, &ask, awaiting, input.now, &policy.orders) {
        Disclosure::Status(order, shipping) => {
            let labels = labels_for(t.language.as_deref());
            let text = answer::reply(templates, labels, order, &shipping, name);
            super::post_answer(
                input,
                policy,
                plan,
                trigger,
                text,
                Event::Answered {
                    question: texts.join("\n"),
                    sources: vec!["orders".to_owned()],
                    score: None,
                    order: Some(order.name.clone()),
                    since: Some(texts_since(input, latest)),
                    latency_ms: None,
                },
                Rule::OrderTurn,
            );
        }
        Disclosure::AskNumber => ask_again(
            input,
            plan,
            trigger,
            answer::ask_number(templates, name),
            Event::OrderNumberRequested {},
        ),
        Disclosure::NotFound(n) => ask_again(
            input,
            plan,
            trigger,
            answer::not_found(templates, n, name),
            Event::OrderNotFound {},
        ),
        Disclosure::Handover(cause, order) => {
            order_handover(
                input,
                policy,
                plan,
                trigger,
                cause.describe(),
                order,
                Rule::OrderTurn,
            );
        }
    }
    true
}

/// The state `awaiting_order` with nothing new from the customer: hand over once
/// `orders.number_wait` has passed since the bot asked.
pub(super) fn number_wait(input: &Input<'_>, policy: &Policy, plan: &mut Plan) {
    let asked = plan.row.last_bot_reply_at.unwrap_or(input.now);
    if input.now >= super::later(asked, policy.orders.number_wait) {
        let trigger = format!("order_wait:{}", asked.as_microsecond());
        order_handover(
            input,
            policy,
            plan,
            &trigger,
            Cause::NoNumber.describe() + " (no reply)",
            None,
            Rule::OrderWaitExpired,
        );
    } else {
        plan.rule = Rule::AwaitingOrder;
    }
}

/// A reply that waits for the customer's order number: state `awaiting_order`, no idle close
/// (the number wait replaces it).
fn ask_again(input: &Input<'_>, plan: &mut Plan, trigger: &str, text: String, event: Event) {
    plan.push(Action::Reply(text), trigger);
    plan.row.last_bot_reply_at = Some(input.now);
    plan.row.close_deadline = None;
    plan.row.pending_since = None;
    plan.set_state(
        TicketState::AwaitingOrder,
        Some(StateReason::OrderNumber),
        Rule::OrderTurn,
    );
    plan.event(event);
}

/// The order note for the agents (why, and the order when one is identified), then the usual
/// handover with reason `order`. The note is its own action so it is posted even when the
/// handover first waits for the customer's email.
fn order_handover(
    input: &Input<'_>,
    policy: &Policy,
    plan: &mut Plan,
    trigger: &str,
    why: String,
    order: Option<&Order>,
    rule: Rule,
) {
    let mut note = format!("PerfectBot order check: {why}.");
    match order {
        Some(o) => {
            note.push('\n');
            note.push_str(&answer::note_line(o));
        }
        None => note.push_str("\nno order identified for this conversation"),
    }
    plan.push(Action::Note(note), &format!("{trigger}:order"));
    handover(
        input,
        policy,
        plan,
        HandoverReason::Order,
        trigger,
        None,
        rule,
    );
}

fn labels_for(language: Option<&str>) -> &'static words::Labels {
    language
        .and_then(crate::lang::language_code)
        .and_then(|c| words::language(&c))
        .map_or(&words::english().labels, |l| &l.labels)
}

/// When the customer started waiting (for the answer-latency figure), in microseconds.
fn texts_since(input: &Input<'_>, latest: &Message) -> jiff::Timestamp {
    input
        .row
        .and_then(|r| r.pending_since)
        .or(latest.created_datetime)
        .unwrap_or(input.now)
}
