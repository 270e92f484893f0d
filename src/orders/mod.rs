//! "Where is my order?": the Shopify orders Gorgias holds on a ticket's customer, read into
//! typed orders, and the pure decisions about them.
//!
//! Owns: parsing a customer's `integrations` (only `__integration_type__ = "shopify"` entries)
//! into [`CustomerOrders`]; the order reply templates ([`OrderTemplates`], built-in for the
//! seven languages in `lang/*.toml`, overridable from `[orders.messages]`); [`detect`] (is this
//! turn an order question, a request to change an order, and which order numbers does it
//! give) and [`answer`] (the identity rule: what may be disclosed, and the reply or the reason
//! to hand over).
//!
//! Must not: do I/O (the daemon reads `GET /api/customers/{id}`), read the clock, or ever look
//! at another customer. What is never read cannot leak: the parser keeps no address, no line
//! items and no payment details, so no reply or note can show them.

pub mod answer;
pub mod detect;
pub mod words;

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use serde_json::Value;

/// At most this many orders of one customer are considered (the first ones Gorgias lists); a
/// customer record with more is read, and the rest ignored, rather than held whole.
pub const MAX_ORDERS: usize = 1000;
/// At most this many fulfilments per order are considered.
pub const MAX_FULFILLMENTS: usize = 20;
/// Longest text kept from a field (carrier, tracking number, order name); longer is cut.
const MAX_FIELD_CHARS: usize = 200;
/// Longest tracking URL shown; a longer one is left out rather than cut (a cut link is wrong).
const MAX_URL_CHARS: usize = 2000;

/// One Shopify order, as far as the bot may use it: no address, no items, no payment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Order {
    /// Shopify's order id.
    pub id: Option<u64>,
    /// "#1042" (what the customer sees); when missing, built from `number`.
    pub name: String,
    /// 1042.
    pub number: Option<u64>,
    pub created_at: Option<Timestamp>,
    pub cancelled_at: Option<Timestamp>,
    /// `null` (unfulfilled), "partial", "fulfilled", "restocked".
    pub fulfillment_status: Option<String>,
    pub fulfillments: Vec<Fulfillment>,
}

impl Order {
    /// Whether `number` (as the customer gave it) names this order: its `order_number`, or the
    /// digits of its name ("#1042", "#EU1042").
    pub fn has_number(&self, number: u64) -> bool {
        self.number == Some(number) || digits_of(&self.name) == Some(number)
    }
}

/// One fulfilment (a shipment) of an order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fulfillment {
    /// "pending", "open", "success", "cancelled", "error", "failure".
    pub status: Option<String>,
    pub tracking_company: Option<String>,
    pub tracking_number: Option<String>,
    /// Only an http(s) URL is kept.
    pub tracking_url: Option<String>,
    /// "label_printed", "in_transit", "out_for_delivery", "delivered", "failure", ...
    pub shipment_status: Option<String>,
    pub created_at: Option<Timestamp>,
}

/// The orders on one Gorgias customer, from every Shopify integration it has.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomerOrders {
    pub customer_id: u64,
    pub orders: Vec<Order>,
    /// How many Shopify integrations the customer has (0: no Shopify data at all).
    pub shopify_integrations: usize,
    /// Order entries that could not be used (not an object, or neither a name nor a number).
    pub skipped: usize,
    /// More than [`MAX_ORDERS`] were listed; only the first were considered.
    pub truncated: bool,
}

/// What the daemon found when it read the ticket's customer, for the engine's second pass.
#[derive(Debug, Clone, PartialEq)]
pub enum OrderLookup {
    Found(CustomerOrders),
    /// The read failed (5xx, 404, unreadable, another customer's record): why, for the note.
    Failed(String),
}

/// The orders feature's policy (from `[orders]`).
#[derive(Debug, Clone, PartialEq)]
pub struct OrdersPolicy {
    pub enabled: bool,
    /// Without an order number, a customer's only order within this window is theirs to hear
    /// about.
    pub recent_window: SignedDuration,
    /// An order still unfulfilled this long after it was placed goes to a person.
    pub late_after: SignedDuration,
    /// How long the bot waits for the order number it asked for before handing over.
    pub number_wait: SignedDuration,
    pub messages: OrderMessages,
}

impl Default for OrdersPolicy {
    fn default() -> Self {
        OrdersPolicy {
            enabled: false,
            recent_window: SignedDuration::from_hours(60 * 24),
            late_after: SignedDuration::from_hours(5 * 24),
            number_wait: SignedDuration::from_mins(10),
            messages: OrderMessages::builtin(),
        }
    }
}

/// One language's order replies. Placeholders: see [`placeholders_of`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderTemplates {
    /// Asking for the order number (once).
    pub ask_number: String,
    /// The number given is not one of this customer's orders (the same words whether or not
    /// the order exists).
    pub not_found: String,
    pub not_shipped: String,
    pub shipped: String,
    pub partly_shipped: String,
    pub delivered: String,
}

impl OrderTemplates {
    /// The keys, as written in config and the language files.
    pub const KEYS: [&'static str; 6] = [
        "ask_number",
        "not_found",
        "not_shipped",
        "shipped",
        "partly_shipped",
        "delivered",
    ];

    /// (key, text) for every key.
    pub fn entries(&self) -> [(&'static str, &str); 6] {
        [
            ("ask_number", &self.ask_number),
            ("not_found", &self.not_found),
            ("not_shipped", &self.not_shipped),
            ("shipped", &self.shipped),
            ("partly_shipped", &self.partly_shipped),
            ("delivered", &self.delivered),
        ]
    }

    /// The template of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries()
            .into_iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v)
    }

    /// The template of `key`, to change it.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut String> {
        Some(match key {
            "ask_number" => &mut self.ask_number,
            "not_found" => &mut self.not_found,
            "not_shipped" => &mut self.not_shipped,
            "shipped" => &mut self.shipped,
            "partly_shipped" => &mut self.partly_shipped,
            "delivered" => &mut self.delivered,
            _ => return None,
        })
    }

    /// The built-in templates of `code`, if it is one of [`words::LANGUAGES`].
    pub fn builtin(code: &str) -> Option<OrderTemplates> {
        words::language(code).map(|l| l.messages.clone())
    }
}

/// The placeholders a template may use, by key.
pub fn placeholders_of(key: &str) -> &'static [&'static str] {
    match key {
        "ask_number" => &["customer_name"],
        "not_found" => &["customer_name", "number"],
        "shipped" | "partly_shipped" => &["customer_name", "order", "tracking"],
        _ => &["customer_name", "order"],
    }
}

/// The `{name}` placeholders written in `text`.
pub fn placeholders_in(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    out.push(name.to_string());
                }
                rest = &after[close + 1..];
            }
            None => break,
        }
    }
    out
}

/// The order replies: a default set for tickets in no built-in language, and one per language
/// (key: lower-case ISO 639-1 code), resolved like the handover messages: per key, the
/// `[orders.messages.LANG]` text, else the team's own default text, else the built-in
/// translation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderMessages {
    pub default: OrderTemplates,
    pub languages: BTreeMap<String, OrderTemplates>,
}

impl OrderMessages {
    /// English as the default and the built-in set of every language.
    pub fn builtin() -> OrderMessages {
        OrderMessages {
            default: words::english().messages.clone(),
            languages: words::LANGUAGES
                .iter()
                .filter_map(|c| Some((c.to_string(), OrderTemplates::builtin(c)?)))
                .collect(),
        }
    }

    /// The templates for a ticket in `language` as Gorgias gives it ("fr", "fr-FR").
    pub fn for_language(&self, language: Option<&str>) -> &OrderTemplates {
        language
            .and_then(crate::lang::language_code)
            .and_then(|code| self.languages.get(&code))
            .unwrap_or(&self.default)
    }
}

/// Reads a `GET /api/customers/{id}` body into the customer's orders. Lenient field by field
/// (a missing or odd field is `None`), strict about whose record it is: a body for another
/// customer id is refused, so a confused or hostile answer never discloses someone else's order.
pub fn parse_customer(expected_id: u64, body: &Value) -> Result<CustomerOrders, String> {
    let Some(obj) = body.as_object() else {
        return Err("the customer record is not a JSON object".into());
    };
    match obj.get("id").and_then(as_u64) {
        Some(id) if id == expected_id => {}
        Some(id) => {
            return Err(format!(
                "asked for customer {expected_id}, got customer {id}"
            ));
        }
        None => return Err(format!("the record for customer {expected_id} has no id")),
    }
    let mut out = CustomerOrders {
        customer_id: expected_id,
        ..CustomerOrders::default()
    };
    // `integrations` is an object keyed by integration id; a list is accepted too.
    let entries: Vec<&Value> = match obj.get("integrations") {
        Some(Value::Object(m)) => m.values().collect(),
        Some(Value::Array(a)) => a.iter().collect(),
        _ => Vec::new(),
    };
    for entry in entries {
        let is_shopify = entry
            .get("__integration_type__")
            .and_then(Value::as_str)
            .is_some_and(|t| t.eq_ignore_ascii_case("shopify"));
        if !is_shopify {
            continue;
        }
        out.shopify_integrations += 1;
        let Some(orders) = entry.get("orders").and_then(Value::as_array) else {
            continue;
        };
        for o in orders {
            if out.orders.len() >= MAX_ORDERS {
                out.truncated = true;
                break;
            }
            match parse_order(o) {
                Some(order) => out.orders.push(order),
                None => out.skipped += 1,
            }
        }
    }
    Ok(out)
}

/// One order object, or `None` when it cannot be named (no `name`, no `order_number`).
fn parse_order(v: &Value) -> Option<Order> {
    let o = v.as_object()?;
    let number = o.get("order_number").and_then(as_u64);
    let name = o
        .get("name")
        .and_then(Value::as_str)
        .map(clean)
        .filter(|n| !n.is_empty())
        .or_else(|| number.map(|n| format!("#{n}")))?;
    let fulfillments = o
        .get("fulfillments")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(parse_fulfillment)
                .take(MAX_FULFILLMENTS)
                .collect()
        })
        .unwrap_or_default();
    Some(Order {
        id: o.get("id").and_then(as_u64),
        name,
        number,
        created_at: o.get("created_at").and_then(as_time),
        cancelled_at: o.get("cancelled_at").and_then(as_time),
        fulfillment_status: o.get("fulfillment_status").and_then(as_text),
        fulfillments,
    })
}

fn parse_fulfillment(v: &Value) -> Option<Fulfillment> {
    let f = v.as_object()?;
    let url = f
        .get("tracking_url")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|u| {
            (u.starts_with("https://") || u.starts_with("http://"))
                && u.len() <= MAX_URL_CHARS
                && !u.chars().any(char::is_whitespace)
        })
        .map(str::to_string);
    Some(Fulfillment {
        status: f.get("status").and_then(as_text),
        tracking_company: f.get("tracking_company").and_then(as_text),
        tracking_number: f.get("tracking_number").and_then(as_text),
        tracking_url: url,
        shipment_status: f.get("shipment_status").and_then(as_text),
        created_at: f.get("created_at").and_then(as_time),
    })
}

/// A number given as a JSON number or a string of digits.
fn as_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A non-empty text field, cleaned and cut to [`MAX_FIELD_CHARS`].
fn as_text(v: &Value) -> Option<String> {
    v.as_str().map(clean).filter(|s| !s.is_empty())
}

fn as_time(v: &Value) -> Option<Timestamp> {
    v.as_str()
        .and_then(|s| crate::gorgias::parse_datetime(s.trim()).ok())
}

/// No control characters (a line break in a carrier name must not forge lines in a reply or a
/// note), trimmed, at most [`MAX_FIELD_CHARS`].
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_FIELD_CHARS)
        .collect::<String>()
        .trim()
        .to_string()
}

/// The number in an order name: "#1042" -> 1042, "#EU-1042" -> 1042; none when it holds no
/// digits or several groups of them.
fn digits_of(name: &str) -> Option<u64> {
    let mut groups = name
        .split(|c: char| !c.is_ascii_digit())
        .filter(|g| !g.is_empty());
    let first = groups.next()?;
    if groups.next().is_some() || first.len() > 18 {
        return None;
    }
    first.parse().ok()
}

#[cfg(test)]
mod tests;
