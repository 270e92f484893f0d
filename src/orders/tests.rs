//! The orders module's tests: parsing untrusted customer records, detection in the seven
//! languages, the identity rule, and the status of odd orders.

use super::answer::{Cause, Disclosure, Shipping, disclose, shipping};
use super::detect::{AskKind, detect};
use super::*;
use serde_json::json;

fn now() -> Timestamp {
    "2026-12-07T10:00:00Z".parse().unwrap()
}

fn days_ago(d: i64) -> String {
    (now() - SignedDuration::from_hours(24 * d)).to_string()
}

fn order_json(number: u64, days: i64) -> Value {
    json!({
        "id": 9000 + number, "name": format!("#{number}"), "order_number": number,
        "created_at": days_ago(days), "cancelled_at": null, "fulfillment_status": null,
        "line_items": [{"title": "Secret Sweater", "quantity": 1}],
        "shipping_address": {"address1": "12 Secret Street"},
        "fulfillments": []
    })
}

fn customer(id: u64, orders: Vec<Value>) -> Value {
    json!({"id": id, "email": "jane@example.org", "integrations": {
        "7": {"__integration_type__": "shopify", "customer": {"id": 1}, "orders": orders}
    }})
}

fn parsed(orders: Vec<Value>) -> CustomerOrders {
    parse_customer(100, &customer(100, orders)).unwrap()
}

fn ask(text: &str) -> detect::OrderAsk {
    detect(&[text.to_string()], Some("en"), false)
}

fn policy() -> OrdersPolicy {
    OrdersPolicy {
        enabled: true,
        ..OrdersPolicy::default()
    }
}

fn shipped(mut o: Value, fulfillments: Value) -> Value {
    o["fulfillment_status"] = json!("fulfilled");
    o["fulfillments"] = fulfillments;
    o
}

// ---- parsing ---------------------------------------------------------------------------------

#[test]
fn only_shopify_integrations_are_read() {
    let body = json!({"id": 100, "integrations": {
        "3": {"__integration_type__": "http", "orders": [order_json(1, 1)]},
        "4": {"__integration_type__": "magento2", "orders": [order_json(2, 1)]},
        "7": {"__integration_type__": "shopify", "orders": [order_json(1042, 1)]},
        "8": "garbage",
    }});
    let c = parse_customer(100, &body).unwrap();
    assert_eq!(c.shopify_integrations, 1);
    let names: Vec<&str> = c.orders.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["#1042"]);
}

#[test]
fn an_integration_of_another_type_only_is_no_orders() {
    let body = json!({"id": 100, "integrations": {"3": {"__integration_type__": "http", "orders": [order_json(1042, 1)]}}});
    let c = parse_customer(100, &body).unwrap();
    assert!(c.orders.is_empty());
    assert_eq!(c.shopify_integrations, 0);
    // And an order question on it goes to a person, not "not found" nor a status.
    let d = disclose(&c, &ask("where is order #1042?"), false, now(), &policy());
    assert_eq!(d, Disclosure::NotFound(1042));
    let d = disclose(&c, &ask("where is my order?"), false, now(), &policy());
    assert_eq!(d, Disclosure::Handover(Cause::NoOrders, None));
}

#[test]
fn a_record_for_another_customer_is_refused() {
    let err = parse_customer(100, &customer(101, vec![order_json(1042, 1)])).unwrap_err();
    assert!(err.contains("got customer 101"), "{err}");
    assert!(parse_customer(100, &json!({"integrations": {}})).is_err());
    assert!(parse_customer(100, &json!([1, 2])).is_err());
    assert!(parse_customer(100, &json!("garbage")).is_err());
}

#[test]
fn orders_missing_fields_are_read_leniently_or_skipped() {
    let c = parsed(vec![
        json!({"order_number": 1001}),
        json!({"name": "#1002", "created_at": "not a date", "fulfillments": "nope"}),
        json!({"id": 5, "fulfillment_status": "fulfilled"}),
        json!(17),
        json!(null),
        json!({"order_number": "1003", "fulfillments": [null, {"tracking_number": 42}, {"status": "success"}]}),
    ]);
    let names: Vec<&str> = c.orders.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["#1001", "#1002", "#1003"]);
    assert_eq!(c.skipped, 3);
    assert_eq!(c.orders[1].created_at, None);
    assert!(c.orders[1].fulfillments.is_empty());
    assert_eq!(c.orders[2].fulfillments.len(), 2);
    assert_eq!(c.orders[2].fulfillments[0].tracking_number, None);
}

#[test]
fn tracking_urls_that_are_not_web_links_are_dropped_and_text_is_cleaned() {
    let c = parsed(vec![shipped(
        order_json(1042, 1),
        json!([{"status": "success", "tracking_company": "UPS\nPAID: card 4242",
                "tracking_number": "1Z999", "tracking_url": "javascript:alert(1)"}]),
    )]);
    let f = &c.orders[0].fulfillments[0];
    assert_eq!(f.tracking_url, None);
    assert_eq!(f.tracking_company.as_deref(), Some("UPS PAID: card 4242"));
}

#[test]
fn a_customer_with_500_orders_is_read_whole_and_a_huge_list_is_capped() {
    let many: Vec<Value> = (1..=500)
        .map(|n| order_json(1000 + n, 400 + n as i64))
        .collect();
    let c = parsed(many);
    assert_eq!(c.orders.len(), 500);
    assert!(!c.truncated);
    let d = disclose(&c, &ask("where is my order 1250?"), false, now(), &policy());
    match d {
        Disclosure::Handover(_, Some(o)) | Disclosure::Status(o, _) => assert_eq!(o.name, "#1250"),
        other => panic!("{other:?}"),
    }
    // Old orders only: no number means ask for it, never a guess.
    assert_eq!(
        disclose(&c, &ask("where is my order?"), false, now(), &policy()),
        Disclosure::AskNumber
    );
    let huge: Vec<Value> = (0..(MAX_ORDERS + 5) as u64)
        .map(|n| order_json(n + 1000, 400))
        .collect();
    let c = parsed(huge);
    assert_eq!(c.orders.len(), MAX_ORDERS);
    assert!(c.truncated);
}

// ---- detection -------------------------------------------------------------------------------

#[test]
fn whereabouts_questions_are_recognised_in_seven_languages() {
    let cases = [
        ("en", "Where is my order?"),
        ("en", "When will my order ship?"),
        ("en", "Has my package shipped yet"),
        ("en", "what's my tracking number"),
        ("en", "any update on my order #1042?"),
        ("en", "I ordered last week and it still hasn't arrived"),
        ("fr", "Où est ma commande ?"),
        ("fr", "Quand ma commande sera-t-elle expédiée ?"),
        ("fr", "je n'ai pas reçu mon colis"),
        ("fr", "numéro de suivi svp"),
        ("de", "Wo ist meine Bestellung?"),
        ("de", "Wann kommt mein Paket an?"),
        ("de", "Meine Bestellung ist noch nicht angekommen"),
        ("es", "¿Dónde está mi pedido?"),
        ("es", "Cuándo llega mi paquete"),
        ("it", "Dov'è il mio ordine?"),
        ("it", "Quando arriva il mio pacco?"),
        ("nl", "Waar is mijn bestelling?"),
        ("nl", "Wanneer komt mijn pakket"),
        ("pt", "Onde está o meu pedido?"),
        ("pt", "Cadê minha encomenda?"),
        ("pt", "Quero o código de rastreio"),
    ];
    for (lang, text) in cases {
        let a = detect(&[text.to_string()], Some(lang), false);
        assert_eq!(a.kind, AskKind::Whereabouts, "{lang}: {text}");
        // Unknown ticket language: every language's words.
        let a = detect(&[text.to_string()], None, false);
        assert_eq!(a.kind, AskKind::Whereabouts, "(any) {text}");
    }
}

#[test]
fn change_requests_are_recognised() {
    let cases = [
        ("en", "I want to cancel my order"),
        ("en", "please refund order #1042"),
        ("en", "Can I change the address on my order?"),
        ("fr", "Je voudrais annuler ma commande"),
        ("de", "Ich möchte meine Bestellung stornieren"),
        ("es", "Quiero cancelar mi pedido 1042"),
        ("it", "Vorrei un rimborso per il mio ordine"),
        ("nl", "Ik wil mijn bestelling annuleren"),
        ("pt", "Quero cancelar o meu pedido"),
    ];
    for (lang, text) in cases {
        let a = detect(&[text.to_string()], Some(lang), false);
        assert_eq!(a.kind, AskKind::Change, "{lang}: {text}");
    }
}

#[test]
fn other_questions_are_not_order_questions() {
    let cases = [
        ("en", "How long does shipping take to Canada?"),
        ("en", "Do you ship to Norway?"),
        (
            "en",
            "Where do I enter my discount code when I pay for my order?",
        ),
        ("en", "What is your refund policy?"),
        ("en", "hello"),
        ("fr", "Je peux payer ma commande par carte ou paypal ?"),
        ("pt", "Posso pagar o pedido com cartão ou paypal?"),
        ("de", "Wie lange dauert der Versand?"),
    ];
    for (lang, text) in cases {
        let a = detect(&[text.to_string()], Some(lang), false);
        assert_eq!(a.kind, AskKind::None, "{lang}: {text}");
    }
}

#[test]
fn order_numbers_are_read_when_given_and_not_from_amounts_dates_or_tracking() {
    let strong = |text: &str, awaiting: bool| -> Vec<u64> {
        detect(&[text.to_string()], None, awaiting)
            .strong_numbers()
            .collect()
    };
    assert_eq!(strong("where is #1042?", false), [1042]);
    assert_eq!(strong("where is # 1042?", false), [1042]);
    assert_eq!(strong("where is order 1042", false), [1042]);
    assert_eq!(strong("order no. 1042 please", false), [1042]);
    assert_eq!(strong("où est la commande n° 1042", false), [1042]);
    assert_eq!(strong("Bestellung Nr. 1042", false), [1042]);
    assert_eq!(
        strong("Meine Bestellnummer 1042, wo ist sie?", false),
        [1042]
    );
    assert_eq!(strong("1042", false), [1042]);
    assert_eq!(strong("it's 1042", true), [1042]);
    assert!(strong("I paid 120 euros for my order, where is it?", false).is_empty());
    assert!(strong("my order of 2026-12-01", false).is_empty());
    assert!(strong("order 12.50", false).is_empty());
    assert!(strong("tracking 1Z999AA10123456784", false).is_empty());
    assert!(strong("order 12", false).is_empty());
    assert!(strong("order 1234567890123", false).is_empty());
    // Weak numbers are kept for matching against the customer's own orders.
    let a = detect(
        &["I paid 120 for my order, where is it?".into()],
        None,
        false,
    );
    assert_eq!(a.numbers.len(), 1);
    assert!(!a.numbers[0].strong);
}

// ---- the identity rule -----------------------------------------------------------------------

#[test]
fn identity_number_given_and_owned_discloses() {
    let c = parsed(vec![order_json(1042, 2), order_json(1043, 3)]);
    match disclose(
        &c,
        &ask("where is my order #1043?"),
        false,
        now(),
        &policy(),
    ) {
        Disclosure::Status(o, Shipping::NotShipped) => assert_eq!(o.name, "#1043"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn identity_number_of_another_customer_or_nobody_is_not_found() {
    // The record holds only this customer's orders: #1044 may be someone else's or nobody's,
    // and the answer must be the same.
    let c = parsed(vec![order_json(1042, 2)]);
    assert_eq!(
        disclose(
            &c,
            &ask("where is my order #1044?"),
            false,
            now(),
            &policy()
        ),
        Disclosure::NotFound(1044)
    );
    assert_eq!(
        disclose(&c, &ask("where is my order #1044?"), true, now(), &policy()),
        Disclosure::Handover(Cause::NotFoundAgain(1044), None)
    );
    // A given number that is not theirs never falls back to their only recent order.
    assert!(matches!(
        disclose(&c, &ask("order 99999 where is it"), false, now(), &policy()),
        Disclosure::NotFound(99999)
    ));
}

#[test]
fn identity_no_number_one_recent_order_discloses() {
    let c = parsed(vec![order_json(1042, 2), order_json(900, 200)]);
    match disclose(&c, &ask("where is my order?"), false, now(), &policy()) {
        Disclosure::Status(o, _) => assert_eq!(o.name, "#1042"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn identity_no_number_several_recent_orders_asks_once_then_hands_over() {
    let c = parsed(vec![order_json(1042, 2), order_json(1043, 3)]);
    assert_eq!(
        disclose(&c, &ask("where is my order?"), false, now(), &policy()),
        Disclosure::AskNumber
    );
    assert_eq!(
        disclose(&c, &ask("I don't know it"), true, now(), &policy()),
        Disclosure::Handover(Cause::NoNumber, None)
    );
}

#[test]
fn a_weak_number_counts_only_when_it_is_the_customers_own() {
    let c = parsed(vec![order_json(1042, 2), order_json(1043, 3)]);
    // "120" is not an order of theirs: ignored, so the bot asks rather than says "not found".
    assert_eq!(
        disclose(
            &c,
            &ask("I paid 120 for my order, where is it?"),
            false,
            now(),
            &policy()
        ),
        Disclosure::AskNumber
    );
    match disclose(
        &c,
        &ask("my order, the 1043 one, where is it?"),
        false,
        now(),
        &policy(),
    ) {
        Disclosure::Status(o, _) => assert_eq!(o.name, "#1043"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_change_request_hands_over_with_the_named_order_only_if_it_is_theirs() {
    let c = parsed(vec![order_json(1042, 2)]);
    match disclose(
        &c,
        &ask("please cancel order #1042"),
        false,
        now(),
        &policy(),
    ) {
        Disclosure::Handover(Cause::ChangeRequested, Some(o)) => assert_eq!(o.name, "#1042"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        disclose(
            &c,
            &ask("please cancel order #5555"),
            false,
            now(),
            &policy()
        ),
        Disclosure::Handover(Cause::ChangeRequested, None)
    );
}

// ---- status ----------------------------------------------------------------------------------

#[test]
fn status_of_odd_orders() {
    let p = policy();
    let one = |o: Value| parsed(vec![o]).orders.remove(0);

    let o = one(json!({"name": "#1", "cancelled_at": days_ago(1), "created_at": days_ago(2)}));
    assert_eq!(shipping(&o, now(), &p), Shipping::Problem(Cause::Cancelled));

    let o = one(order_json(2, 6));
    assert_eq!(
        shipping(&o, now(), &p),
        Shipping::Problem(Cause::Late { days: 6 })
    );
    let o = one(order_json(2, 4));
    assert_eq!(shipping(&o, now(), &p), Shipping::NotShipped);
    // No date: cannot be late; still honestly "not shipped yet".
    let o = one(json!({"name": "#3"}));
    assert_eq!(shipping(&o, now(), &p), Shipping::NotShipped);

    let o = one(shipped(
        order_json(4, 2),
        json!([{"status": "success", "shipment_status": "failure"}]),
    ));
    assert!(matches!(
        shipping(&o, now(), &p),
        Shipping::Problem(Cause::ShipmentProblem(_))
    ));
    let o = one(shipped(
        order_json(5, 2),
        json!([{"status": "success", "shipment_status": "returned"}]),
    ));
    assert!(matches!(
        shipping(&o, now(), &p),
        Shipping::Problem(Cause::ShipmentProblem(_))
    ));

    let o = one(shipped(
        order_json(6, 2),
        json!([{"status": "success", "shipment_status": "delivered"}]),
    ));
    assert_eq!(shipping(&o, now(), &p), Shipping::Delivered);

    // A fulfilment with no tracking: on its way, without a tracking line.
    let o = one(shipped(order_json(7, 2), json!([{"status": "success"}])));
    let s = shipping(&o, now(), &p);
    let text = answer::reply(
        &words::english().messages,
        &words::english().labels,
        &o,
        &s,
        None,
    );
    assert!(text.contains("#7 is on its way"), "{text}");
    assert!(text.contains("no tracking number yet"), "{text}");

    // Several fulfilments: each listed once, the cancelled one left out.
    let o = one(shipped(
        order_json(8, 2),
        json!([
            {"status": "success", "tracking_company": "UPS", "tracking_number": "1Z1", "tracking_url": "https://ups.test/1Z1", "shipment_status": "in_transit"},
            {"status": "cancelled", "tracking_company": "DHL", "tracking_number": "D0"},
            {"status": "success", "tracking_company": "DHL", "tracking_number": "D2", "shipment_status": "delivered"},
            {"status": "success", "tracking_company": "UPS", "tracking_number": "1Z1", "tracking_url": "https://ups.test/1Z1"},
        ]),
    ));
    let s = shipping(&o, now(), &p);
    let text = answer::reply(
        &words::english().messages,
        &words::english().labels,
        &o,
        &s,
        None,
    );
    assert_eq!(
        text,
        "Good news: your order #8 is on its way. UPS, tracking number 1Z1: https://ups.test/1Z1"
    );

    let mut partial = shipped(
        order_json(9, 2),
        json!([{"status": "success", "tracking_company": "La Poste", "tracking_url": "https://laposte.test/x"}]),
    );
    partial["fulfillment_status"] = json!("partial");
    let o = one(partial);
    let s = shipping(&o, now(), &p);
    let fr = words::language("fr").unwrap();
    let text = answer::reply(&fr.messages, &fr.labels, &o, &s, None);
    assert!(
        text.starts_with(
            "Une partie de votre commande #9 est en route. La Poste: https://laposte.test/x"
        ),
        "{text}"
    );
}

#[test]
fn replies_never_carry_address_items_or_payment() {
    let mut o = shipped(
        order_json(1042, 2),
        json!([{"status": "success", "tracking_company": "UPS", "tracking_number": "1Z"}]),
    );
    o["payment_details"] = json!({"credit_card_number": "4242"});
    let c = parsed(vec![o]);
    let d = disclose(&c, &ask("where is #1042"), false, now(), &policy());
    let Disclosure::Status(order, s) = d else {
        panic!("{d:?}")
    };
    for code in words::LANGUAGES {
        let l = words::language(code).unwrap();
        let text = answer::reply(&l.messages, &l.labels, order, &s, Some("Jane"));
        let note = answer::note_line(order);
        for secret in ["Secret Street", "Secret Sweater", "4242"] {
            assert!(!text.contains(secret), "{code}: {text}");
            assert!(!note.contains(secret), "{note}");
        }
    }
}

#[test]
fn templates_fill_in_one_pass() {
    let mut t = words::english().messages.clone();
    t.not_found = "Hi {customer_name}, no {number} here {unknown}".into();
    assert_eq!(
        answer::not_found(&t, 7, Some("{number}")),
        "Hi {number}, no #7 here {unknown}"
    );
    assert_eq!(answer::not_found(&t, 7, None), "Hi, no #7 here {unknown}");
}
