//! The order path as decision-table rows: the identity rule end to end through `decide`
//! (number given, number asked for, someone else's number), the problems that go to a person,
//! and the lookup failures that must never leave the customer unanswered.

use super::*;
use crate::gorgias::{Customer, UserRef};
use crate::orders::{CustomerOrders, OrderLookup, OrdersPolicy, parse_customer};
use serde_json::{Value, json};

const BOT: u64 = 1;
const CUSTOMER: u64 = 100;

fn t0() -> Timestamp {
    "2026-12-07T10:00:00Z".parse().unwrap()
}

fn at(secs: i64) -> Timestamp {
    t0() + SignedDuration::from_secs(secs)
}

fn policy() -> Policy {
    let cfg = crate::config::Config::for_tests("http://127.0.0.1:9", "bot@shop.test", "k");
    let mut p = crate::daemon::policy_for(&cfg, BOT);
    p.orders = OrdersPolicy {
        enabled: true,
        ..OrdersPolicy::default()
    };
    p
}

fn ticket(language: Option<&str>, msgs: &[(u64, i64, bool, &str)]) -> Ticket {
    let mut t = Ticket {
        id: 7,
        status: "open".into(),
        channel: Some("chat".into()),
        language: language.map(str::to_string),
        customer: Some(Customer {
            id: CUSTOMER,
            email: Some("jane@example.org".into()),
            name: Some("Jane".into()),
        }),
        assignee_user: Some(UserRef {
            id: BOT,
            ..Default::default()
        }),
        ..Default::default()
    };
    for &(id, secs, from_bot, text) in msgs {
        t.messages.push(Message {
            id,
            ticket_id: Some(7),
            channel: Some("chat".into()),
            via: Some(if from_bot { "api" } else { "gorgias_chat" }.into()),
            public: Some(true),
            from_agent: from_bot,
            sender: Some(UserRef {
                id: if from_bot { BOT } else { CUSTOMER },
                ..Default::default()
            }),
            body_text: Some(text.into()),
            created_datetime: Some(at(secs)),
            ..Default::default()
        });
        t.updated_datetime = Some(at(secs));
    }
    t
}

fn order(number: u64, days: i64, fulfilled: bool) -> Value {
    let created = (t0() - SignedDuration::from_hours(24 * days)).to_string();
    let mut o = json!({"id": 9000 + number, "name": format!("#{number}"), "order_number": number,
        "created_at": created, "fulfillment_status": null, "fulfillments": [],
        "shipping_address": {"address1": "12 Secret Street"}, "line_items": [{"title": "Secret Sweater"}]});
    if fulfilled {
        o["fulfillment_status"] = json!("fulfilled");
        o["fulfillments"] = json!([{"status": "success", "tracking_company": "UPS",
            "tracking_number": "1Z999", "tracking_url": "https://ups.test/1Z999", "shipment_status": "in_transit"}]);
    }
    o
}

fn orders(list: Vec<Value>) -> OrderLookup {
    let body = json!({"id": CUSTOMER, "integrations": {"7": {"__integration_type__": "shopify", "orders": list}}});
    OrderLookup::Found(parse_customer(CUSTOMER, &body).unwrap())
}

fn decide_at(
    t: &Ticket,
    row: Option<&TicketRow>,
    now: Timestamp,
    a: Answering<'_>,
    p: &Policy,
) -> Plan {
    decide(
        &Input {
            ticket: t,
            row,
            now,
            availability: &Availability::Online,
            answer: a,
        },
        p,
    )
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

fn notes(p: &Plan) -> Vec<String> {
    p.steps
        .iter()
        .filter_map(|s| match &s.action {
            Action::Note(t) => Some(t.clone()),
            _ => None,
        })
        .collect()
}

/// Both phases: the plan asks for the customer's orders, then decides with them.
fn two_phase(t: &Ticket, row: Option<&TicketRow>, now: Timestamp, lookup: &OrderLookup) -> Plan {
    let p = policy();
    let first = decide_at(t, row, now, Answering::NotAsked, &p);
    assert_eq!(first.need_orders, Some(CUSTOMER), "{first:?}");
    assert!(first.steps.is_empty() && first.need_answer.is_none());
    decide_at(t, row, now, Answering::Orders(lookup), &p)
}

#[test]
fn number_given_and_owned_gets_the_status_with_tracking() {
    let t = ticket(None, &[(11, 0, false, "Hi, where is my order #1042?")]);
    let plan = two_phase(
        &t,
        None,
        at(5),
        &orders(vec![order(1042, 2, true), order(1043, 3, false)]),
    );
    assert_eq!(
        replies(&plan),
        [
            "Good news: your order #1042 is on its way. UPS, tracking number 1Z999: https://ups.test/1Z999"
        ]
    );
    // Handled rides on the close's tag write: the answer is one request.
    assert_eq!(plan.steps.len(), 1, "{:?}", plan.steps);
    assert_eq!(plan.row.state, TicketState::Answered);
    assert_eq!(plan.row.close_deadline, Some(at(5) + policy().close_after));
    assert_eq!(plan.rule, Rule::OrderTurn);
}

#[test]
fn the_status_is_in_the_tickets_language() {
    let t = ticket(
        Some("fr"),
        &[(11, 0, false, "Bonjour, où est ma commande 1042 ?")],
    );
    let plan = two_phase(&t, None, at(5), &orders(vec![order(1042, 2, true)]));
    assert_eq!(
        replies(&plan),
        [
            "Bonne nouvelle : votre commande #1042 est en route. UPS, numéro de suivi 1Z999: https://ups.test/1Z999"
        ]
    );
}

#[test]
fn someone_elses_number_is_not_found_and_reveals_nothing() {
    let t = ticket(None, &[(11, 0, false, "where is order #2001?")]);
    // #2001 is not on this customer's record (it may be another customer's: the engine cannot
    // know and must not care).
    let plan = two_phase(&t, None, at(5), &orders(vec![order(1042, 2, true)]));
    let r = replies(&plan);
    assert_eq!(r.len(), 1);
    assert!(
        r[0].starts_with("I can't find order #2001 in this conversation"),
        "{r:?}"
    );
    for secret in ["#1042", "UPS", "1Z999", "Secret"] {
        assert!(!r[0].contains(secret), "{r:?}");
    }
    assert_eq!(plan.row.state, TicketState::AwaitingOrder);
    // The same words when the customer has no order at all.
    let plan2 = two_phase(&t, None, at(5), &orders(vec![]));
    assert_eq!(replies(&plan2), r);
}

#[test]
fn missing_number_is_asked_once_then_answered() {
    let t = ticket(None, &[(11, 0, false, "where is my order?")]);
    let lookup = orders(vec![order(1042, 2, true), order(1043, 3, false)]);
    let plan = two_phase(&t, None, at(5), &lookup);
    assert_eq!(replies(&plan).len(), 1);
    assert!(replies(&plan)[0].contains("What is your order number?"));
    assert_eq!(plan.row.state, TicketState::AwaitingOrder);
    assert_eq!(plan.row.close_deadline, None);

    // The customer answers with a bare number: it is the number asked for.
    let t2 = ticket(
        None,
        &[
            (11, 0, false, "where is my order?"),
            (12, 5, true, "What is your order number?"),
            (13, 30, false, "1043"),
        ],
    );
    let plan2 = two_phase(&t2, Some(&plan.row), at(31), &lookup);
    assert_eq!(
        replies(&plan2),
        [
            "Your order #1043 has not shipped yet. You will receive an email with the tracking details as soon as it leaves our warehouse."
        ]
    );
    assert_eq!(plan2.row.state, TicketState::Answered);
}

#[test]
fn asked_already_and_still_no_number_hands_over() {
    let lookup = orders(vec![order(1042, 2, true), order(1043, 3, false)]);
    let t = ticket(None, &[(11, 0, false, "where is my order?")]);
    let asked = two_phase(&t, None, at(5), &lookup);
    let t2 = ticket(
        None,
        &[
            (11, 0, false, "where is my order?"),
            (12, 5, true, "number?"),
            (13, 30, false, "I don't have it"),
        ],
    );
    let plan = two_phase(&t2, Some(&asked.row), at(31), &lookup);
    assert_eq!(plan.row.state, TicketState::Escalated);
    assert_eq!(plan.row.reason.map(|r| r.as_str()), Some("order"));
    assert!(
        notes(&plan)[0].contains("asked for the order number"),
        "{:?}",
        notes(&plan)
    );
    assert!(
        plan.steps
            .iter()
            .any(|s| s.action == Action::AddTags(vec![policy().tags.agent_required]))
    );
}

#[test]
fn no_reply_to_the_number_request_hands_over_after_the_wait() {
    let lookup = orders(vec![order(1042, 2, true), order(1043, 3, false)]);
    let t = ticket(None, &[(11, 0, false, "where is my order?")]);
    let asked = two_phase(&t, None, at(5), &lookup);
    let t2 = ticket(
        None,
        &[
            (11, 0, false, "where is my order?"),
            (12, 5, true, "number?"),
        ],
    );
    let p = policy();
    let wait = p.orders.number_wait;
    let before = decide_at(
        &t2,
        Some(&asked.row),
        at(5) + wait - SignedDuration::from_secs(1),
        Answering::NotAsked,
        &p,
    );
    assert!(before.steps.is_empty());
    assert_eq!(before.rule, Rule::AwaitingOrder);
    let after = decide_at(&t2, Some(&asked.row), at(5) + wait, Answering::NotAsked, &p);
    assert_eq!(after.row.state, TicketState::Escalated);
    assert_eq!(after.rule, Rule::OrderWaitExpired);
    assert!(
        !replies(&after).is_empty(),
        "the customer is told a person will follow"
    );
}

#[test]
fn one_recent_order_is_answered_without_a_number() {
    let t = ticket(Some("de"), &[(11, 0, false, "Wo ist meine Bestellung?")]);
    let plan = two_phase(
        &t,
        None,
        at(5),
        &orders(vec![order(1042, 2, false), order(800, 120, true)]),
    );
    assert_eq!(replies(&plan).len(), 1);
    assert!(replies(&plan)[0].starts_with("Ihre Bestellung #1042 wurde noch nicht versandt"));
}

#[test]
fn problems_and_change_requests_hand_over_with_the_order_in_the_note() {
    let cancelled = {
        let mut o = order(1042, 2, false);
        o["cancelled_at"] = json!(t0().to_string());
        o
    };
    let failed = {
        let mut o = order(1042, 2, true);
        o["fulfillments"][0]["shipment_status"] = json!("failure");
        o
    };
    let cases = [
        ("where is order #1042", cancelled, "the order is cancelled"),
        (
            "where is order #1042",
            order(1042, 9, false),
            "still unfulfilled 9 days",
        ),
        ("where is order #1042", failed, "shipment status failure"),
        (
            "please cancel order #1042",
            order(1042, 1, false),
            "change, cancel or refund",
        ),
    ];
    for (text, o, why) in cases {
        let t = ticket(None, &[(11, 0, false, text)]);
        let plan = two_phase(&t, None, at(5), &orders(vec![o]));
        assert_eq!(plan.row.state, TicketState::Escalated, "{text}");
        assert_eq!(plan.row.reason.map(|r| r.as_str()), Some("order"));
        let n = notes(&plan);
        assert!(n[0].contains(why), "{text}: {n:?}");
        assert!(n[0].contains("order #1042"), "{n:?}");
        assert!(!n.iter().any(|x| x.contains("Secret")), "{n:?}");
        // Never the order status to the customer: only the handover message.
        assert!(
            !replies(&plan).iter().any(|r| r.contains("#1042")),
            "{:?}",
            replies(&plan)
        );
    }
}

#[test]
fn a_failed_lookup_hands_over_never_silence() {
    for why in [
        "GET /api/customers/100: server error 503",
        "asked for customer 100, got customer 101",
    ] {
        let t = ticket(None, &[(11, 0, false, "where is my order #1042?")]);
        let plan = two_phase(&t, None, at(5), &OrderLookup::Failed(why.into()));
        assert_eq!(plan.row.state, TicketState::Escalated);
        assert!(!replies(&plan).is_empty());
        assert!(notes(&plan)[0].contains(why));
    }
}

#[test]
fn a_ticket_without_a_customer_hands_over_without_a_lookup() {
    let mut t = ticket(None, &[(11, 0, false, "where is my order #1042?")]);
    t.customer = None;
    let plan = decide_at(&t, None, at(5), Answering::NotAsked, &policy());
    assert_eq!(plan.need_orders, None);
    // No customer, so no email: the usual handover asks for it first, reason kept.
    assert_eq!(plan.row.state, TicketState::AwaitingEmail);
    assert_eq!(plan.row.reason.map(|r| r.as_str()), Some("order"));
    assert!(notes(&plan)[0].contains("no Gorgias customer"));
}

#[test]
fn other_questions_and_a_disabled_feature_go_to_the_responder() {
    let p = policy();
    let t = ticket(None, &[(11, 0, false, "Do you ship to Norway?")]);
    let plan = decide_at(&t, None, at(5), Answering::NotAsked, &p);
    assert!(plan.need_answer.is_some() && plan.need_orders.is_none());

    let mut off = policy();
    off.orders.enabled = false;
    let t = ticket(None, &[(11, 0, false, "where is my order #1042?")]);
    let plan = decide_at(&t, None, at(5), Answering::NotAsked, &off);
    assert!(plan.need_answer.is_some() && plan.need_orders.is_none());
}

#[test]
fn a_person_request_still_wins_over_an_order_question() {
    let t = ticket(
        None,
        &[(11, 0, false, "where is my order? I want to talk to a human")],
    );
    let plan = decide_at(&t, None, at(5), Answering::NotAsked, &policy());
    assert_eq!(plan.need_orders, None);
    assert_eq!(plan.row.reason.map(|r| r.as_str()), Some("requested"));
}

/// The unused import guard: `CustomerOrders` is the type the lookup carries.
#[test]
fn lookup_found_carries_the_customers_orders() {
    let OrderLookup::Found(c) = orders(vec![order(1042, 1, false)]) else {
        panic!()
    };
    let _: &CustomerOrders = &c;
    assert_eq!(c.customer_id, CUSTOMER);
}
