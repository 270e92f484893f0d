//! "Where is my order?" end to end: the simulator holds Shopify orders on its customers, the
//! daemon reads the ticket's customer and answers, asks for the number, or says it cannot find
//! an order that is not the customer's own, and hands the rest to people.

use crate::common::*;
use jiff::{SignedDuration, Timestamp};
use perfectbot::ledger::TicketState;
use perfectbot_sim::{Faults, NewTicket, ShopifyFulfillment, ShopifyOrder};
use std::time::Duration;

const HANDLED: &str = "PerfectBot: Handled";
const AUTO_CLOSED: &str = "PerfectBot: Auto-closed";
const AGENT_REQUIRED: &str = "PerfectBot: Agent Required";

fn days_ago(d: i64) -> Option<Timestamp> {
    Some(Timestamp::now() - SignedDuration::from_hours(24 * d))
}

fn shipped(number: u64, days: i64, carrier: &str, tracking: &str) -> ShopifyOrder {
    ShopifyOrder {
        number,
        created_at: days_ago(days),
        fulfillment_status: Some("fulfilled".into()),
        fulfillments: vec![ShopifyFulfillment {
            status: "success".into(),
            tracking_company: Some(carrier.into()),
            tracking_number: Some(tracking.into()),
            tracking_url: Some(format!("https://track.test/{tracking}")),
            shipment_status: Some("in_transit".into()),
        }],
        items: vec!["Merino Sweater".into()],
        ..ShopifyOrder::default()
    }
}

fn unshipped(number: u64, days: i64) -> ShopifyOrder {
    ShopifyOrder {
        number,
        created_at: days_ago(days),
        items: vec!["Wool Socks".into()],
        ..ShopifyOrder::default()
    }
}

async fn orders_app() -> TestApp {
    spawn_app(|cfg, _| {
        cfg.orders.enabled = true;
        cfg.orders.number_wait = Duration::from_secs(2);
    })
    .await
}

/// A customer with these orders.
fn customer_with(app: &TestApp, name: &str, email: &str, orders: &[ShopifyOrder]) -> u64 {
    let c = app.sim.create_customer(name, Some(email));
    for o in orders {
        app.sim.add_shopify_order(c, o);
    }
    c
}

/// A chat from `customer` assigned to the bot, in `language`.
fn order_chat(app: &TestApp, customer: u64, language: Option<&str>, text: &str) -> u64 {
    app.sim.create_ticket(NewTicket {
        channel: "chat".into(),
        customer_id: customer,
        first_message: text.into(),
        assignee_user: Some(app.bot()),
        language: language.map(str::to_string),
        ..NewTicket::default()
    })
}

/// The customer ids the bot read with `GET /api/customers/{id}`.
fn customers_read(app: &TestApp) -> Vec<u64> {
    app.sim
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.pattern == "/api/customers/{id}")
        .filter_map(|r| {
            r.path
                .trim_end_matches('/')
                .rsplit('/')
                .next()?
                .parse()
                .ok()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn number_given_gets_the_status_then_the_ticket_closes_as_usual() {
    let app = orders_app().await;
    let jane = customer_with(
        &app,
        "Jane Doe",
        "jane@example.org",
        &[shipped(1042, 3, "UPS", "1Z999AA1"), unshipped(1043, 1)],
    );
    let id = order_chat(&app, jane, Some("en"), "Hi! Where is my order #1042?");
    app.wait_state(id, TicketState::Answered).await;
    assert_eq!(
        app.bot_replies(id),
        [
            "Good news: your order #1042 is on its way. UPS, tracking number 1Z999AA1: https://track.test/1Z999AA1"
        ]
    );
    // The normal lifecycle: idle close (Handled comes with its tags).
    let t = app
        .wait_ticket(id, "closed", |t| t.status == "closed")
        .await;
    assert!(tag_names(&t).contains(&AUTO_CLOSED.to_string()));
    assert!(tag_names(&t).contains(&HANDLED.to_string()));
    assert_eq!(customers_read(&app), [jane]);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn number_given_in_german_gets_the_status_in_german() {
    let app = orders_app().await;
    let c = customer_with(
        &app,
        "Jonas Weber",
        "jonas@example.org",
        &[shipped(3001, 2, "DHL", "00340434")],
    );
    let id = order_chat(&app, c, Some("de"), "Wo ist meine Bestellung 3001?");
    app.wait_state(id, TicketState::Answered).await;
    assert_eq!(
        app.bot_replies(id),
        [
            "Gute Nachricht: Ihre Bestellung #3001 ist unterwegs. DHL, Sendungsnummer 00340434: https://track.test/00340434"
        ]
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn number_asked_for_in_french_then_answered() {
    let app = orders_app().await;
    let c = customer_with(
        &app,
        "Camille Roy",
        "camille@example.org",
        &[shipped(2001, 4, "Colissimo", "6A123"), unshipped(2002, 1)],
    );
    let id = order_chat(&app, c, Some("fr"), "Bonjour, où est ma commande ?");
    app.wait_state(id, TicketState::AwaitingOrder).await;
    let asked = app.bot_replies(id);
    assert_eq!(asked.len(), 1);
    assert!(
        asked[0]
            .starts_with("Je peux vérifier cela pour vous. Quel est votre numéro de commande ?"),
        "{asked:?}"
    );
    assert_eq!(app.ticket(id).status, "open");

    app.sim.customer_says(id, "c'est la 2002");
    app.wait_state(id, TicketState::Answered).await;
    let replies = app.bot_replies(id);
    assert_eq!(replies.len(), 2);
    assert!(
        replies[1].starts_with("Votre commande #2002 n'a pas encore été expédiée."),
        "{replies:?}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn number_asked_for_in_english_then_answered() {
    let app = orders_app().await;
    let c = customer_with(
        &app,
        "Ann Lee",
        "ann@example.org",
        &[shipped(1101, 4, "UPS", "1Z1"), unshipped(1102, 1)],
    );
    let id = order_chat(&app, c, None, "When will my order ship?");
    app.wait_state(id, TicketState::AwaitingOrder).await;
    assert!(app.bot_replies(id)[0].contains("What is your order number?"));
    app.sim.customer_says(id, "1101");
    app.wait_state(id, TicketState::Answered).await;
    assert!(app.bot_replies(id)[1].starts_with("Good news: your order #1101 is on its way. UPS"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn someone_elses_order_is_not_found_and_worded_as_a_missing_one() {
    let app = orders_app().await;
    let alice = customer_with(
        &app,
        "Alice Small",
        "alice@example.org",
        &[shipped(1042, 2, "UPS", "1ZALICE")],
    );
    let bob = customer_with(
        &app,
        "Bob Big",
        "bob@example.org",
        &[shipped(5005, 2, "FedEx", "FXBOB")],
    );

    // Alice asks about Bob's order, then about an order that does not exist.
    let theirs = order_chat(&app, alice, Some("en"), "Where is my order #5005?");
    let nobody = order_chat(&app, alice, Some("en"), "Where is my order #5006?");
    app.wait_state(theirs, TicketState::AwaitingOrder).await;
    app.wait_state(nobody, TicketState::AwaitingOrder).await;
    let a = app.bot_replies(theirs);
    let b = app.bot_replies(nobody);
    assert_eq!(a.len(), 1);
    assert!(
        a[0].starts_with("I can't find order #5005 in this conversation."),
        "{a:?}"
    );
    // The same words either way: whether #5005 exists is not revealed.
    assert_eq!(a[0].replace("5005", "N"), b[0].replace("5006", "N"));
    for secret in [
        "FedEx", "FXBOB", "Bob", "1ZALICE", "#1042", "Merino", "Secret",
    ] {
        assert!(!a[0].contains(secret), "{a:?}");
    }
    // Only Alice's own record was ever read.
    let read = customers_read(&app);
    assert!(!read.is_empty());
    assert!(
        read.iter().all(|c| *c == alice),
        "read {read:?}, bob is {bob}"
    );

    // Insisting with the same number after being told hands over, still without the order.
    app.sim.customer_says(theirs, "it is 5005, I'm sure");
    app.wait_state(theirs, TicketState::Escalated).await;
    let t = app.ticket(theirs);
    assert!(tag_names(&t).contains(&AGENT_REQUIRED.to_string()));
    for text in app
        .bot_replies(theirs)
        .iter()
        .chain(app.bot_notes(theirs).iter())
    {
        assert!(!text.contains("FXBOB") && !text.contains("FedEx"), "{text}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn someone_elses_order_in_spanish_is_not_found() {
    let app = orders_app().await;
    let ana = customer_with(&app, "Ana Ruiz", "ana@example.org", &[unshipped(7001, 1)]);
    let _other = customer_with(
        &app,
        "Otro",
        "otro@example.org",
        &[shipped(7002, 1, "SEUR", "SEUR9")],
    );
    let id = order_chat(&app, ana, Some("es"), "¿Dónde está mi pedido 7002?");
    app.wait_state(id, TicketState::AwaitingOrder).await;
    let r = app.bot_replies(id);
    assert!(
        r[0].starts_with("No encuentro el pedido #7002 en esta conversación."),
        "{r:?}"
    );
    assert!(!r[0].contains("SEUR"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_reply_to_the_number_request_hands_over_after_the_wait() {
    let app = orders_app().await;
    let c = customer_with(
        &app,
        "Sam",
        "sam@example.org",
        &[unshipped(1, 1), unshipped(2, 2)],
    );
    let id = order_chat(&app, c, Some("en"), "where's my package?");
    app.wait_state(id, TicketState::AwaitingOrder).await;
    let row = app.wait_state(id, TicketState::Escalated).await;
    assert_eq!(row.reason.map(|r| r.as_str()), Some("order"));
    let notes = app.bot_notes(id);
    assert!(
        notes
            .iter()
            .any(|n| n.contains("asked for the order number")),
        "{notes:?}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_request_hands_over_with_the_order_in_the_note() {
    let app = orders_app().await;
    let c = customer_with(
        &app,
        "Kim",
        "kim@example.org",
        &[shipped(4242, 1, "UPS", "1ZKIM")],
    );
    let id = order_chat(&app, c, Some("en"), "Please cancel my order #4242");
    let row = app.wait_state(id, TicketState::Escalated).await;
    assert_eq!(row.reason.map(|r| r.as_str()), Some("order"));
    let notes = app.bot_notes(id).join("\n");
    assert!(notes.contains("change, cancel or refund"), "{notes}");
    assert!(
        notes.contains("order #4242") && notes.contains("1ZKIM"),
        "{notes}"
    );
    assert!(
        !notes.contains("Secret Street")
            && !notes.contains("Merino")
            && !notes.contains("4242 4242"),
        "{notes}"
    );
    assert_eq!(app.ticket(id).assignee_user, None, "released to the team");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_order_hands_over() {
    let app = orders_app().await;
    let c = customer_with(&app, "Lou", "lou@example.org", &[unshipped(6001, 8)]);
    let id = order_chat(&app, c, Some("en"), "where is order 6001?");
    app.wait_state(id, TicketState::Escalated).await;
    let notes = app.bot_notes(id).join("\n");
    assert!(notes.contains("still unfulfilled 8 days"), "{notes}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_customer_read_hands_over_never_silence() {
    // 5xx on every try, an unreadable body, and a deleted customer (404).
    for case in ["5xx", "garbage", "404"] {
        let app = orders_app().await;
        let c = customer_with(
            &app,
            "Pat",
            "pat@example.org",
            &[shipped(1042, 1, "UPS", "1ZPAT")],
        );
        match case {
            "5xx" => app.sim.set_faults(Faults {
                error_rate: 1.0,
                path_prefix: Some("/api/customers".into()),
                methods: Some(vec!["GET".into()]),
                ..Faults::default()
            }),
            "garbage" => app.sim.set_faults(Faults {
                malformed_rate: 1.0,
                path_prefix: Some("/api/customers".into()),
                methods: Some(vec!["GET".into()]),
                ..Faults::default()
            }),
            _ => {}
        }
        let id = order_chat(&app, c, Some("en"), "where is my order #1042?");
        if case == "404" {
            app.sim.delete_customer(c);
        }
        let row = app.wait_state(id, TicketState::Escalated).await;
        assert_eq!(row.reason.map(|r| r.as_str()), Some("order"), "{case}");
        assert!(
            !app.bot_replies(id).is_empty(),
            "{case}: the customer is told"
        );
        assert!(
            !app.bot_replies(id).iter().any(|r| r.contains("1ZPAT")),
            "{case}"
        );
        let notes = app.bot_notes(id).join("\n");
        assert!(notes.contains("could not be read"), "{case}: {notes}");
        app.sim.set_faults(Faults::default());
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_are_off_by_default() {
    let app = spawn_app(|_, _| {}).await;
    let c = customer_with(
        &app,
        "Off",
        "off@example.org",
        &[shipped(1042, 1, "UPS", "1ZOFF")],
    );
    let id = order_chat(&app, c, Some("en"), "How long does shipping take?");
    app.wait_state(id, TicketState::Answered).await;
    assert!(customers_read(&app).is_empty());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_with_500_orders_gets_the_one_named() {
    let app = orders_app().await;
    let c = app
        .sim
        .create_customer("Big Buyer", Some("big@example.org"));
    for n in 0..500u64 {
        let o = if n == 250 {
            shipped(10_250, 30, "GLS", "GLS250")
        } else {
            unshipped(10_000 + n, 100 + n as i64)
        };
        app.sim.add_shopify_order(c, &o);
    }
    let id = order_chat(&app, c, Some("en"), "tracking for order 10250 please");
    app.wait_state(id, TicketState::Answered).await;
    assert_eq!(
        app.bot_replies(id),
        [
            "Good news: your order #10250 is on its way. GLS, tracking number GLS250: https://track.test/GLS250"
        ]
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_of_another_integration_type_are_not_shopify_orders() {
    let app = orders_app().await;
    let c = app.sim.create_customer("Mags", Some("mags@example.org"));
    let mut data = serde_json::Map::new();
    data.insert(
        "12".into(),
        serde_json::json!({"__integration_type__": "magento2", "orders": [
            {"name": "#1042", "order_number": 1042, "fulfillment_status": "fulfilled",
             "fulfillments": [{"status": "success", "tracking_number": "MAG1"}]}
        ]}),
    );
    app.sim.set_customer_integrations(c, data);
    let id = order_chat(&app, c, Some("en"), "where is my order?");
    let row = app.wait_state(id, TicketState::Escalated).await;
    assert_eq!(row.reason.map(|r| r.as_str()), Some("order"));
    assert!(
        app.bot_notes(id)
            .join("\n")
            .contains("holds no Shopify order")
    );
    assert!(!app.bot_replies(id).iter().any(|r| r.contains("MAG1")));
    app.stop().await;
}
