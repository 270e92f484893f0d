//! The Shopify data Gorgias holds on customers: a `shopify` integration on the account and,
//! per customer, that integration's raw data (`{"__integration_type__": "shopify", "customer":
//! {..}, "orders": [..]}`) under `integrations`, keyed by the integration id as a string, in
//! `GET /api/customers/{id}` only (a ticket's embedded customer lacks it, see gorgias-api.md).
//! Orders are Shopify REST order objects, address and payment fields included, so that a test
//! can check the bot never repeats them.

use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::Sim;
use super::state::{Customer, Integration, State, fmt_ts};

/// A customer as `GET /api/customers/{id}` returns it: the usual fields plus `integrations`.
pub(crate) fn with_integrations(st: &State, c: &Customer) -> Value {
    let mut v = st.customer_json(c);
    let data = st
        .customer_integrations
        .get(&c.id)
        .cloned()
        .unwrap_or_default();
    if let Some(obj) = v.as_object_mut() {
        obj.insert("integrations".into(), Value::Object(data));
    }
    v
}

/// One fulfilment of an order, for [`ShopifyOrder::fulfillments`].
#[derive(Debug, Clone, Default)]
pub struct ShopifyFulfillment {
    /// "success", "cancelled", "failure", ...
    pub status: String,
    pub tracking_company: Option<String>,
    pub tracking_number: Option<String>,
    pub tracking_url: Option<String>,
    /// "in_transit", "delivered", "failure", ...; `None` is null.
    pub shipment_status: Option<String>,
}

/// A Shopify order to put on a customer ([`Sim::add_shopify_order`]).
#[derive(Debug, Clone, Default)]
pub struct ShopifyOrder {
    /// 1042 (the name is "#1042").
    pub number: u64,
    pub created_at: Option<Timestamp>,
    pub cancelled_at: Option<Timestamp>,
    /// `None` (unfulfilled), "partial", "fulfilled".
    pub fulfillment_status: Option<String>,
    pub fulfillments: Vec<ShopifyFulfillment>,
    /// Line item titles (never to be shown by the bot for another order, never in a note).
    pub items: Vec<String>,
}

impl ShopifyOrder {
    /// The order as Shopify's REST API (and so Gorgias) holds it.
    pub fn to_json(&self, email: Option<&str>) -> Value {
        let fulfillments: Vec<Value> = self
            .fulfillments
            .iter()
            .enumerate()
            .map(|(i, f)| {
                json!({
                    "id": self.number * 100 + i as u64,
                    "status": f.status,
                    "tracking_company": f.tracking_company,
                    "tracking_number": f.tracking_number,
                    "tracking_numbers": f.tracking_number.iter().collect::<Vec<_>>(),
                    "tracking_url": f.tracking_url,
                    "tracking_urls": f.tracking_url.iter().collect::<Vec<_>>(),
                    "shipment_status": f.shipment_status,
                    "created_at": self.created_at.map(fmt_ts),
                })
            })
            .collect();
        let items: Vec<Value> = self
            .items
            .iter()
            .map(|t| json!({"title": t, "quantity": 1, "price": "19.90"}))
            .collect();
        json!({
            "id": 4_500_000_000u64 + self.number,
            "name": format!("#{}", self.number),
            "order_number": self.number,
            "email": email,
            "created_at": self.created_at.map(fmt_ts),
            "cancelled_at": self.cancelled_at.map(fmt_ts),
            "financial_status": "paid",
            "fulfillment_status": self.fulfillment_status,
            "total_price": "39.80",
            "currency": "EUR",
            "gateway": "shopify_payments",
            "payment_details": {"credit_card_number": "•••• •••• •••• 4242", "credit_card_company": "Visa"},
            "line_items": items,
            "shipping_address": {
                "name": "Private Person", "address1": "12 Secret Street", "city": "Lyon",
                "zip": "69001", "country": "France", "phone": "+33 6 12 34 56 78"
            },
            "fulfillments": fulfillments,
        })
    }
}

impl Sim {
    /// The account's Shopify store as a Gorgias integration (created on first use); its id.
    pub fn shopify_integration(&self) -> u64 {
        let mut st = self.state();
        if let Some(i) = st.integrations.values().find(|i| i.kind == "shopify") {
            return i.id;
        }
        let id = st.id("integration");
        let now = st.now();
        st.integrations.insert(
            id,
            Integration {
                id,
                kind: "shopify".into(),
                name: "sim-shop".into(),
                http: None,
                meta: json!({"shop_name": "sim-shop"}),
                created: now,
                updated: now,
            },
        );
        id
    }

    /// Add `order` to the customer's Shopify data (the store's customer object is created on
    /// first use). Panics if the customer does not exist (a test setup mistake).
    pub fn add_shopify_order(&self, customer_id: u64, order: &ShopifyOrder) {
        let integration = self.shopify_integration().to_string();
        let mut st = self.state();
        let c = st
            .customers
            .get(&customer_id)
            .unwrap_or_else(|| panic!("unknown customer {customer_id}"));
        let email = c.email.clone();
        let shop_customer = json!({
            "id": 7_000_000 + customer_id,
            "email": email,
            "first_name": c.name.split(' ').next().unwrap_or(""),
            "orders_count": 0,
        });
        let order = order.to_json(email.as_deref());
        let data = st.customer_integrations.entry(customer_id).or_default();
        let entry = data.entry(integration).or_insert_with(
            || json!({"__integration_type__": "shopify", "customer": shop_customer, "orders": []}),
        );
        if let Some(orders) = entry.get_mut("orders").and_then(Value::as_array_mut) {
            orders.push(order);
            let n = orders.len();
            if let Some(count) = entry.pointer_mut("/customer/orders_count") {
                *count = json!(n);
            }
        }
    }

    /// Replace the customer's whole `integrations` object (for malformed or foreign data).
    pub fn set_customer_integrations(&self, customer_id: u64, integrations: Map<String, Value>) {
        self.state()
            .customer_integrations
            .insert(customer_id, integrations);
    }

    /// Delete the customer record (as a merge or a data-deletion request does): its tickets
    /// keep pointing at the id, and `GET /api/customers/{id}` answers 404.
    pub fn delete_customer(&self, customer_id: u64) {
        let mut st = self.state();
        st.customers.remove(&customer_id);
        st.customer_integrations.remove(&customer_id);
    }
}
