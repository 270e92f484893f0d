//! The identity rule and the order reply: what may be disclosed to this conversation, in which
//! words, and when a person must take over. Pure: the caller passes the customer's orders (read
//! from the ticket's own Gorgias customer, never another) and `now`.
//!
//! Identity: an order is disclosed only when it is on the ticket's customer record AND either
//! the customer gave its number, or the customer has exactly one order placed within
//! `recent_window` and gave no number. A number that is not on the record gets the same
//! "cannot find it in this conversation" whether the order exists elsewhere or not: nothing
//! else is ever looked up.

use jiff::Timestamp;

use super::detect::{AskKind, OrderAsk};
use super::words::Labels;
use super::{CustomerOrders, Fulfillment, Order, OrderTemplates, OrdersPolicy};

/// Most shipments listed in one reply.
const MAX_SHIPMENTS_SHOWN: usize = 5;

/// What the bot may do with an order question.
#[derive(Debug, Clone, PartialEq)]
pub enum Disclosure<'o> {
    /// Tell the customer this order's status.
    Status(&'o Order, Shipping<'o>),
    /// Ask for the order number (only when not asked before).
    AskNumber,
    /// The number given is not one of this customer's orders.
    NotFound(u64),
    /// A person must take over; the order (when one is identified) goes in the agents' note.
    Handover(Cause, Option<&'o Order>),
}

/// Why an order question goes to a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// The customer asked to change, cancel or refund an order.
    ChangeRequested,
    Cancelled,
    /// Unfulfilled this many whole days after it was placed (past `late_after`).
    Late {
        days: i64,
    },
    /// A shipment failed or came back ("failure", "returned", ...).
    ShipmentProblem(String),
    /// Asked for the number already, and still none that identifies an order.
    NoNumber,
    /// Asked already, and the number given is still not on this customer's record.
    NotFoundAgain(u64),
    /// The customer record holds no Shopify order at all.
    NoOrders,
}

impl Cause {
    /// Why, in words, for the agents' note.
    pub fn describe(&self) -> String {
        match self {
            Cause::ChangeRequested => {
                "the customer asks to change, cancel or refund an order".into()
            }
            Cause::Cancelled => "the order is cancelled".into(),
            Cause::Late { days } => format!("the order is still unfulfilled {days} days after it was placed"),
            Cause::ShipmentProblem(s) => format!("a shipment reports a problem: {s}"),
            Cause::NoNumber => {
                "the bot asked for the order number and got none that identifies one of this customer's orders".into()
            }
            Cause::NotFoundAgain(n) => format!(
                "order number {n} given after the bot asked; it is not on this customer's record (the bot said it cannot find it)"
            ),
            Cause::NoOrders => "this customer's Gorgias record holds no Shopify order".into(),
        }
    }
}

/// Where an order stands, in the terms the customer is told.
#[derive(Debug, Clone, PartialEq)]
pub enum Shipping<'o> {
    NotShipped,
    /// On its way (`partial`: only part of it), with the shipments to list.
    Shipped {
        partial: bool,
        shipments: Vec<&'o Fulfillment>,
    },
    Delivered,
    /// Needs a person.
    Problem(Cause),
}

/// The identity rule (see the module doc) and the order's status. `asked_before`: the bot has
/// already asked for the number in this conversation.
pub fn disclose<'o>(
    orders: &'o CustomerOrders,
    ask: &OrderAsk,
    asked_before: bool,
    now: Timestamp,
    policy: &OrdersPolicy,
) -> Disclosure<'o> {
    let own = |n: u64| orders.orders.iter().find(|o| o.has_number(n));
    // A strong number first, then a weak one that names an own order.
    let by_number = ask.strong_numbers().find_map(own).or_else(|| {
        ask.numbers
            .iter()
            .filter(|n| !n.strong)
            .find_map(|n| own(n.number))
    });
    let first_strong = ask.strong_numbers().next();
    let recent: Vec<&Order> = orders
        .orders
        .iter()
        .filter(|o| {
            o.created_at
                .is_some_and(|c| c <= now && now.duration_since(c) <= policy.recent_window)
        })
        .collect();
    let only_recent = (recent.len() == 1).then(|| recent[0]);

    if ask.kind == AskKind::Change {
        // For the agents only: the order the customer named, else their only recent one.
        let order = by_number.or(if first_strong.is_none() {
            only_recent
        } else {
            None
        });
        return Disclosure::Handover(Cause::ChangeRequested, order);
    }
    let order = match (by_number, first_strong) {
        (Some(o), _) => o,
        (None, Some(n)) if asked_before => {
            return Disclosure::Handover(Cause::NotFoundAgain(n), None);
        }
        (None, Some(n)) => return Disclosure::NotFound(n),
        (None, None) => match only_recent {
            Some(o) => o,
            None if orders.orders.is_empty() => {
                return Disclosure::Handover(Cause::NoOrders, None);
            }
            None if asked_before => return Disclosure::Handover(Cause::NoNumber, None),
            None => return Disclosure::AskNumber,
        },
    };
    match shipping(order, now, policy) {
        Shipping::Problem(cause) => Disclosure::Handover(cause, Some(order)),
        s => Disclosure::Status(order, s),
    }
}

/// Where `order` stands. A cancelled (or restocked) order, a failed or returned shipment, and
/// an order unfulfilled past `late_after` are problems for a person; so is an order marked
/// fulfilled whose every shipment was cancelled.
pub fn shipping<'o>(order: &'o Order, now: Timestamp, policy: &OrdersPolicy) -> Shipping<'o> {
    let status = order
        .fulfillment_status
        .as_deref()
        .map(str::to_ascii_lowercase);
    if order.cancelled_at.is_some() || status.as_deref() == Some("restocked") {
        return Shipping::Problem(Cause::Cancelled);
    }
    let lower = |s: &Option<String>| s.as_deref().map(str::to_ascii_lowercase);
    for f in &order.fulfillments {
        let fs = lower(&f.status);
        let ss = lower(&f.shipment_status);
        if matches!(fs.as_deref(), Some("failure" | "error")) {
            return Shipping::Problem(Cause::ShipmentProblem(format!(
                "fulfilment status {}",
                fs.unwrap_or_default()
            )));
        }
        if matches!(
            ss.as_deref(),
            Some("failure" | "returned" | "return_to_sender" | "returned_to_sender")
        ) {
            return Shipping::Problem(Cause::ShipmentProblem(format!(
                "shipment status {}",
                ss.unwrap_or_default()
            )));
        }
    }
    let active: Vec<&Fulfillment> = order
        .fulfillments
        .iter()
        .filter(|f| lower(&f.status).as_deref() != Some("cancelled"))
        .collect();
    let partial = status.as_deref() == Some("partial");
    let fulfilled = status.as_deref() == Some("fulfilled");
    if active.is_empty() {
        if fulfilled && !order.fulfillments.is_empty() {
            // Every shipment cancelled, yet marked fulfilled: the data disagrees with itself.
            return Shipping::Problem(Cause::ShipmentProblem(
                "marked fulfilled but every shipment is cancelled".into(),
            ));
        }
        if fulfilled || partial {
            return Shipping::Shipped {
                partial,
                shipments: Vec::new(),
            };
        }
        if let Some(created) = order.created_at
            && created <= now
            && now.duration_since(created) > policy.late_after
        {
            let days = now.duration_since(created).as_hours() / 24;
            return Shipping::Problem(Cause::Late { days });
        }
        return Shipping::NotShipped;
    }
    let delivered = active
        .iter()
        .all(|f| lower(&f.shipment_status).as_deref() == Some("delivered"));
    if delivered && !partial {
        Shipping::Delivered
    } else {
        Shipping::Shipped {
            partial,
            shipments: active
                .into_iter()
                .filter(|f| lower(&f.shipment_status).as_deref() != Some("delivered") || delivered)
                .collect(),
        }
    }
}

/// The reply for a status, from the ticket's language's templates.
pub fn reply(
    templates: &OrderTemplates,
    labels: &Labels,
    order: &Order,
    s: &Shipping<'_>,
    customer_name: Option<&str>,
) -> String {
    let template = match s {
        Shipping::NotShipped => &templates.not_shipped,
        Shipping::Shipped { partial: false, .. } => &templates.shipped,
        Shipping::Shipped { partial: true, .. } => &templates.partly_shipped,
        Shipping::Delivered => &templates.delivered,
        // Problems are handed over; never said to the customer in these words.
        Shipping::Problem(_) => &templates.not_shipped,
    };
    let tracking = match s {
        Shipping::Shipped { shipments, .. } => tracking_text(shipments, labels),
        _ => String::new(),
    };
    fill(
        template,
        &[
            ("order", order.name.as_str()),
            ("tracking", tracking.as_str()),
            ("customer_name", customer_name.unwrap_or("")),
        ],
    )
}

/// The request for the order number.
pub fn ask_number(templates: &OrderTemplates, customer_name: Option<&str>) -> String {
    fill(
        &templates.ask_number,
        &[("customer_name", customer_name.unwrap_or(""))],
    )
}

/// "I can't find order #1043 in this conversation": the same words whether or not it exists.
pub fn not_found(templates: &OrderTemplates, number: u64, customer_name: Option<&str>) -> String {
    fill(
        &templates.not_found,
        &[
            ("number", &format!("#{number}")),
            ("customer_name", customer_name.unwrap_or("")),
        ],
    )
}

/// One line per shipment: "UPS, tracking number 1Z999: https://...". Shipments with the same
/// tracking are listed once.
fn tracking_text(shipments: &[&Fulfillment], labels: &Labels) -> String {
    let mut lines: Vec<String> = Vec::new();
    for f in shipments {
        let mut line = String::new();
        if let Some(c) = &f.tracking_company {
            line.push_str(c);
        }
        match (&f.tracking_number, &f.tracking_url) {
            (None, None) => {
                if !line.is_empty() {
                    line.push_str(": ");
                }
                line.push_str(&labels.no_tracking);
            }
            (number, url) => {
                if let Some(n) = number {
                    if !line.is_empty() {
                        line.push_str(", ");
                    }
                    line.push_str(&labels.tracking_number);
                    line.push(' ');
                    line.push_str(n);
                }
                if let Some(u) = url {
                    if !line.is_empty() {
                        line.push_str(": ");
                    }
                    line.push_str(u);
                }
            }
        }
        if !lines.contains(&line) {
            lines.push(line);
        }
        if lines.len() >= MAX_SHIPMENTS_SHOWN {
            break;
        }
    }
    if lines.is_empty() {
        return labels.no_tracking.clone();
    }
    lines.join("; ")
}

/// The order as the agents' note shows it: name, status, shipments. Never the address, items
/// or payment (they are not even read).
pub fn note_line(order: &Order) -> String {
    let mut s = format!(
        "order {}{}: fulfilment status {}",
        order.name,
        order
            .id
            .map(|id| format!(" (Shopify id {id})"))
            .unwrap_or_default(),
        order.fulfillment_status.as_deref().unwrap_or("unfulfilled")
    );
    if let Some(c) = order.created_at {
        s.push_str(&format!(", placed {}", c.strftime("%Y-%m-%d")));
    }
    if let Some(c) = order.cancelled_at {
        s.push_str(&format!(", cancelled {}", c.strftime("%Y-%m-%d")));
    }
    for f in order.fulfillments.iter().take(MAX_SHIPMENTS_SHOWN) {
        s.push_str(&format!(
            "\n  shipment: {} / {}, carrier {}, tracking {} {}",
            f.status.as_deref().unwrap_or("?"),
            f.shipment_status.as_deref().unwrap_or("?"),
            f.tracking_company.as_deref().unwrap_or("?"),
            f.tracking_number.as_deref().unwrap_or("none"),
            f.tracking_url.as_deref().unwrap_or("")
        ));
    }
    if order.fulfillments.len() > MAX_SHIPMENTS_SHOWN {
        s.push_str(&format!(
            "\n  (+{} more shipments)",
            order.fulfillments.len() - MAX_SHIPMENTS_SHOWN
        ));
    }
    s
}

/// Replaces each `{name}` in one pass (a value holding braces is never filled again); the
/// customer's name goes with the space before it when unknown ("Hi {customer_name}," -> "Hi,").
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let found = after.find('}').and_then(|close| {
            let name = &after[..close];
            values
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (close, v.trim()))
        });
        match found {
            Some((close, value)) => {
                let head = &rest[..open];
                if value.is_empty() && head.ends_with(' ') {
                    out.push_str(&head[..head.len() - 1]);
                } else {
                    out.push_str(head);
                }
                out.push_str(value);
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[..=open]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out.trim().to_string()
}
