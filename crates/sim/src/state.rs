//! The simulator's data: users, teams, customers, tickets, messages, tags, views, integrations,
//! settings and events, and the rules Gorgias applies when they change (timestamps, reopening,
//! assign-on-reply, tags created on first use). It renders the API's JSON shapes itself.
//! It does not use the client's models (`perfectbot::gorgias::model`, out of reach of this
//! crate): the simulator is a second, independent reading of the API, so it cannot silently agree
//! with the client's mistakes.

use super::filter;
use jiff::Timestamp;
use perfectbot_clock::Clock;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

/// An API error: status, message and optional per-field details, rendered as
/// `{"error":{"msg":..,"data":{..}}}`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiError {
    pub status: u16,
    pub msg: String,
    pub data: Option<Value>,
}

impl ApiError {
    pub(crate) fn new(status: u16, msg: impl Into<String>) -> ApiError {
        ApiError {
            status,
            msg: msg.into(),
            data: None,
        }
    }
    pub(crate) fn bad(msg: impl Into<String>) -> ApiError {
        ApiError::new(400, msg)
    }
    /// A 400 naming fields, like Gorgias's validation errors.
    pub(crate) fn fields(fields: BTreeMap<String, Vec<String>>) -> ApiError {
        ApiError {
            status: 400,
            msg: "Validation error.".into(),
            data: Some(json!(fields)),
        }
    }
    pub(crate) fn field(name: &str, msg: &str) -> ApiError {
        ApiError::fields(BTreeMap::from([(name.to_string(), vec![msg.to_string()])]))
    }
    pub(crate) fn not_found() -> ApiError {
        ApiError::new(404, "Resource not found.")
    }
    pub(crate) fn body(&self) -> Value {
        match &self.data {
            Some(d) => json!({"error": {"msg": self.msg, "data": d}}),
            None => json!({"error": {"msg": self.msg}}),
        }
    }
}

/// Which shape `GET /api/account/settings?type=business-hours` answers with; Gorgias has been
/// seen answering all three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HoursShape {
    /// `[{"id":..,"type":"business-hours","data":{..}}]`
    BareArray,
    /// A list envelope: `{"object":"list","data":[..],"meta":{..}}`.
    #[default]
    Envelope,
    /// One object, as older accounts answer: `{"id":..,"type":"business-hours","data":{..}}`.
    LegacyObject,
}

pub(crate) struct User {
    pub id: u64,
    pub email: String,
    pub name: String,
    pub role: String,
    pub api_key: String,
    pub tokens: Vec<String>,
    pub active: bool,
    pub availability: String,
    pub created: Timestamp,
}

pub(crate) struct Team {
    pub id: u64,
    pub name: String,
    pub members: Vec<u64>,
    pub created: Timestamp,
}

pub(crate) struct Customer {
    pub id: u64,
    pub name: String,
    pub email: Option<String>,
    pub created: Timestamp,
    pub updated: Timestamp,
}

pub(crate) struct Tag {
    pub id: u64,
    pub name: String,
    pub created: Timestamp,
}

/// Who sent or received a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Party {
    User(u64),
    Customer(u64),
}

pub(crate) struct Message {
    pub id: u64,
    pub ticket_id: u64,
    pub m: NewMessage,
    pub created: Timestamp,
    pub sent: Option<Timestamp>,
}

/// A message to add, already validated.
#[derive(Debug, Clone)]
pub(crate) struct NewMessage {
    pub channel: String,
    pub via: String,
    pub public: bool,
    pub from_agent: bool,
    pub sender: Party,
    pub receiver: Option<Party>,
    pub source: Option<Value>,
    pub integration_id: Option<u64>,
    pub rule_id: Option<u64>,
    pub macros: Vec<Value>,
    pub body_text: Option<String>,
    pub body_html: Option<String>,
    pub subject: Option<String>,
    pub external_id: Option<String>,
    pub sent: Option<Timestamp>,
}

pub(crate) struct Ticket {
    pub id: u64,
    pub external_id: Option<String>,
    pub status: String,
    pub priority: String,
    pub channel: String,
    pub via: String,
    pub from_agent: bool,
    pub spam: bool,
    pub customer_id: u64,
    pub assignee_user: Option<u64>,
    pub assignee_team: Option<u64>,
    pub language: Option<String>,
    pub subject: Option<String>,
    pub tags: Vec<u64>,
    pub messages: Vec<u64>,
    pub created: Timestamp,
    pub last_received: Option<Timestamp>,
    pub last_message: Option<Timestamp>,
    pub updated: Timestamp,
    pub closed: Option<Timestamp>,
    pub snooze: Option<Timestamp>,
    pub trashed: Option<Timestamp>,
}

pub(crate) struct View {
    pub id: u64,
    pub name: String,
    pub category: Option<String>,
    pub visibility: String,
    pub filters: String,
    pub order_by: String,
    pub order_dir: String,
    pub decoration: Value,
    pub shared_with_users: Vec<u64>,
    pub shared_with_teams: Vec<u64>,
    pub slug: String,
    pub created: Timestamp,
    pub updated: Timestamp,
}

pub(crate) struct Integration {
    pub id: u64,
    pub kind: String,
    pub name: String,
    pub http: Option<Value>,
    pub meta: Value,
    pub created: Timestamp,
    pub updated: Timestamp,
}

pub(crate) struct Event {
    pub id: u64,
    pub kind: String,
    pub object_type: String,
    pub object_id: u64,
    pub user_id: Option<u64>,
    pub data: Value,
    pub created: Timestamp,
}

/// The fields of a ticket the views and lists may sort by.
pub(crate) const TICKET_ORDER_FIELDS: &[&str] = &[
    "created_datetime",
    "updated_datetime",
    "last_message_datetime",
    "last_received_message_datetime",
    "closed_datetime",
    "id",
];

/// Behaviour switches, set from `SimOptions` and at run time.
#[derive(Debug, Clone)]
pub(crate) struct Behaviour {
    pub assign_on_reply: bool,
    pub presence: bool,
    pub hours_shape: HoursShape,
    pub naive_datetimes: bool,
}

pub(crate) struct State {
    pub clock: Arc<dyn Clock>,
    last_ts: Timestamp,
    next_id: BTreeMap<&'static str, u64>,
    pub behaviour: Behaviour,
    pub users: BTreeMap<u64, User>,
    pub teams: BTreeMap<u64, Team>,
    pub customers: BTreeMap<u64, Customer>,
    /// Each customer's integration data (Shopify orders), keyed by integration id string:
    /// see `customers`.
    pub customer_integrations: BTreeMap<u64, serde_json::Map<String, Value>>,
    pub tickets: BTreeMap<u64, Ticket>,
    pub messages: BTreeMap<u64, Message>,
    pub tags: BTreeMap<u64, Tag>,
    pub views: BTreeMap<u64, View>,
    pub integrations: BTreeMap<u64, Integration>,
    pub events: Vec<Event>,
    pub business_hours: Value,
    pub chat_integration_id: u64,
    pub cursor_salt: u64,
    pub macros: BTreeMap<u64, super::macros::SimMacro>,
}

/// Format a time as Gorgias does: microseconds and `+00:00`.
pub(crate) fn fmt_ts(t: Timestamp) -> String {
    format!("{}+00:00", t.strftime("%Y-%m-%dT%H:%M:%S%.6f"))
}

fn fmt_naive(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.6f").to_string()
}

fn opt_ts(t: Option<Timestamp>) -> Value {
    t.map_or(Value::Null, |t| Value::String(fmt_ts(t)))
}

/// A syntactic email check close to what a web form validator accepts.
pub(crate) fn valid_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !s.chars().any(|c| c.is_whitespace() || c == ',' || c == ';')
}

fn excerpt(text: &str) -> String {
    let t: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    t.chars().take(100).collect()
}

impl State {
    pub(crate) fn new(clock: Arc<dyn Clock>, behaviour: Behaviour, cursor_salt: u64) -> State {
        let start = clock.now();
        let mut s = State {
            clock,
            last_ts: start,
            next_id: BTreeMap::from([
                ("user", 1001),
                ("team", 11),
                ("customer", 5001),
                ("ticket", 20001),
                ("message", 900_001),
                ("tag", 301),
                ("view", 41),
                ("integration", 71),
                ("event", 1),
                ("macro", 61),
            ]),
            behaviour,
            users: BTreeMap::new(),
            teams: BTreeMap::new(),
            customers: BTreeMap::new(),
            customer_integrations: BTreeMap::new(),
            tickets: BTreeMap::new(),
            messages: BTreeMap::new(),
            tags: BTreeMap::new(),
            views: BTreeMap::new(),
            integrations: BTreeMap::new(),
            events: Vec::new(),
            business_hours: json!({"timezone": "UTC", "business_hours": []}),
            chat_integration_id: 0,
            cursor_salt,
            macros: BTreeMap::new(),
        };
        let now = s.now();
        let id = s.id("integration");
        s.integrations.insert(
            id,
            Integration {
                id,
                kind: "gorgias_chat".into(),
                name: "Website chat".into(),
                http: None,
                meta: json!({"app_id": "sim-chat"}),
                created: now,
                updated: now,
            },
        );
        s.chat_integration_id = id;
        s
    }

    pub(crate) fn id(&mut self, kind: &'static str) -> u64 {
        let n = self.next_id.entry(kind).or_insert(1);
        let id = *n;
        *n += 1;
        id
    }

    /// The current time, in whole microseconds, strictly after the previous one handed out, so
    /// that every change moves `updated_datetime` even under a frozen test clock.
    pub(crate) fn now(&mut self) -> Timestamp {
        let raw = self.clock.now();
        let micros = raw.as_microsecond();
        let floor = self.last_ts.as_microsecond() + 1;
        let t = Timestamp::from_microsecond(micros.max(floor)).unwrap_or(self.last_ts);
        self.last_ts = t;
        t
    }

    fn dt(&self, t: Timestamp) -> Value {
        Value::String(if self.behaviour.naive_datetimes {
            fmt_naive(t)
        } else {
            fmt_ts(t)
        })
    }

    fn opt_dt(&self, t: Option<Timestamp>) -> Value {
        t.map_or(Value::Null, |t| self.dt(t))
    }

    pub(crate) fn event(&mut self, kind: &str, object_type: &str, object_id: u64, data: Value) {
        let created = self.now();
        let id = self.id("event");
        self.events.push(Event {
            id,
            kind: kind.into(),
            object_type: object_type.into(),
            object_id,
            user_id: None,
            data,
            created,
        });
    }

    // ---------- rendering ----------

    pub(crate) fn user_ref(&self, id: u64) -> Value {
        match self.users.get(&id) {
            Some(u) => json!({"id": u.id, "email": u.email, "name": u.name}),
            None => json!({"id": id}),
        }
    }

    pub(crate) fn user_json(&self, u: &User, with_availability: bool) -> Value {
        let (first, last) = u.name.split_once(' ').unwrap_or((&u.name, ""));
        let mut v = json!({
            "id": u.id,
            "email": u.email,
            "name": u.name,
            "firstname": first,
            "lastname": last,
            "active": u.active,
            "role": {"name": u.role},
            "bio": null,
            "country": null,
            "language": "en",
            "timezone": "UTC",
            "external_id": null,
            "meta": {},
            "created_datetime": fmt_ts(u.created),
            "updated_datetime": fmt_ts(u.created),
            "deactivated_datetime": null,
        });
        if with_availability && self.behaviour.presence {
            v["availability_status"] = json!({"status": u.availability});
        }
        v
    }

    pub(crate) fn team_ref(&self, id: u64) -> Value {
        match self.teams.get(&id) {
            Some(t) => json!({"id": t.id, "name": t.name, "decoration": null}),
            None => json!({"id": id}),
        }
    }

    pub(crate) fn team_json(&self, t: &Team) -> Value {
        json!({
            "id": t.id,
            "uri": format!("/api/teams/{}", t.id),
            "name": t.name,
            "description": null,
            "decoration": null,
            "members": t.members.iter().map(|m| {
                let mut r = self.user_ref(*m);
                r["meta"] = json!({});
                r
            }).collect::<Vec<_>>(),
            "created_datetime": fmt_ts(t.created),
        })
    }

    pub(crate) fn customer_ref(&self, id: u64) -> Value {
        match self.customers.get(&id) {
            Some(c) => json!({"id": c.id, "email": c.email, "name": c.name}),
            None => json!({"id": id}),
        }
    }

    pub(crate) fn customer_json(&self, c: &Customer) -> Value {
        let (first, last) = c.name.split_once(' ').unwrap_or((&c.name, ""));
        let channels: Vec<Value> = c
            .email
            .iter()
            .map(|e| {
                json!({"id": c.id * 10 + 1, "type": "email", "address": e, "preferred": true,
                       "created_datetime": fmt_ts(c.created)})
            })
            .collect();
        json!({
            "id": c.id,
            "uri": format!("/api/customers/{}", c.id),
            "email": c.email,
            "name": c.name,
            "firstname": first,
            "lastname": last,
            "channels": channels,
            "external_id": null,
            "language": null,
            "timezone": null,
            "note": null,
            "meta": {},
            "data": null,
            "active": true,
            "created_datetime": fmt_ts(c.created),
            "updated_datetime": fmt_ts(c.updated),
        })
    }

    pub(crate) fn tag_json(&self, t: &Tag) -> Value {
        json!({
            "id": t.id,
            "uri": format!("/api/tags/{}", t.id),
            "name": t.name,
            "decoration": null,
            "description": null,
            "created_datetime": fmt_ts(t.created),
            "usage": self.tickets.values().filter(|x| x.tags.contains(&t.id)).count(),
        })
    }

    fn party(&self, p: Party) -> Value {
        match p {
            Party::User(id) => self.user_ref(id),
            Party::Customer(id) => self.customer_ref(id),
        }
    }

    pub(crate) fn message_json(&self, m: &Message) -> Value {
        let n = &m.m;
        json!({
            "id": m.id,
            "uri": format!("/api/tickets/{}/messages/{}", m.ticket_id, m.id),
            "ticket_id": m.ticket_id,
            "external_id": n.external_id,
            "channel": n.channel,
            "via": n.via,
            "public": n.public,
            "from_agent": n.from_agent,
            "sender": self.party(n.sender),
            "receiver": n.receiver.map_or(Value::Null, |r| self.party(r)),
            "source": n.source.clone().unwrap_or(Value::Null),
            "integration_id": n.integration_id,
            "rule_id": n.rule_id,
            "macros": n.macros,
            "attachments": [],
            "subject": n.subject,
            "body_text": n.body_text,
            "body_html": n.body_html,
            "stripped_text": n.body_text,
            "stripped_html": n.body_html,
            "meta": null,
            "created_datetime": self.dt(m.created),
            "sent_datetime": self.opt_dt(m.sent),
            "failed_datetime": null,
            "opened_datetime": null,
        })
    }

    /// A ticket as `GET /api/tickets/{id}` (full, with messages) or as a list item (compact).
    pub(crate) fn ticket_json(&self, t: &Ticket, full: bool) -> Value {
        let tags: Vec<Value> = t
            .tags
            .iter()
            .filter_map(|id| self.tags.get(id))
            .map(|g| json!({"id": g.id, "name": g.name, "decoration": null}))
            .collect();
        let customer = if full {
            self.customers.get(&t.customer_id).map_or_else(
                || json!({"id": t.customer_id}),
                |c| {
                    let full = self.customer_json(c);
                    json!({"id": c.id, "email": c.email, "name": c.name,
                           "firstname": full["firstname"], "lastname": full["lastname"],
                           "channels": full["channels"]})
                },
            )
        } else {
            self.customer_ref(t.customer_id)
        };
        let mut v = json!({
            "id": t.id,
            "uri": format!("/api/tickets/{}", t.id),
            "external_id": t.external_id,
            "status": t.status,
            "priority": t.priority,
            "channel": t.channel,
            "via": t.via,
            "from_agent": t.from_agent,
            "spam": t.spam,
            "customer": customer,
            "assignee_user": t.assignee_user.map_or(Value::Null, |u| self.user_ref(u)),
            "assignee_team": t.assignee_team.map_or(Value::Null, |g| self.team_ref(g)),
            "language": t.language,
            "subject": t.subject,
            "tags": tags,
            "is_unread": false,
            "meta": null,
            "created_datetime": fmt_ts(t.created),
            "opened_datetime": null,
            "last_received_message_datetime": self.opt_dt(t.last_received),
            "last_message_datetime": self.opt_dt(t.last_message),
            "updated_datetime": fmt_ts(t.updated),
            "closed_datetime": opt_ts(t.closed),
            "snooze_datetime": opt_ts(t.snooze),
            "trashed_datetime": opt_ts(t.trashed),
        });
        if full {
            let msgs: Vec<Value> = t
                .messages
                .iter()
                .filter_map(|id| self.messages.get(id))
                .map(|m| self.message_json(m))
                .collect();
            v["messages"] = Value::Array(msgs);
            v["reply_options"] = json!({
                t.channel.clone(): {"answerable": true},
                "internal-note": {"answerable": true},
            });
        } else {
            v["messages_count"] = json!(t.messages.len());
            let last_text = t
                .messages
                .iter()
                .rev()
                .filter_map(|id| self.messages.get(id))
                .find(|m| m.m.public)
                .and_then(|m| m.m.body_text.clone())
                .unwrap_or_default();
            v["excerpt"] = json!(excerpt(&last_text));
        }
        v
    }

    pub(crate) fn view_json(&self, v: &View) -> Value {
        json!({
            "id": v.id,
            "uri": format!("/api/views/{}", v.id),
            "name": v.name,
            "slug": v.slug,
            "type": "ticket-list",
            "category": v.category,
            "visibility": v.visibility,
            "filters": v.filters,
            "order_by": v.order_by,
            "order_dir": v.order_dir,
            "decoration": v.decoration,
            "shared_with_users": v.shared_with_users,
            "shared_with_teams": v.shared_with_teams,
            "fields": ["details", "tags", "customer", "assignee_user", "updated_datetime"],
            "created_datetime": fmt_ts(v.created),
            "updated_datetime": fmt_ts(v.updated),
            "deactivated_datetime": null,
        })
    }

    pub(crate) fn integration_json(&self, i: &Integration) -> Value {
        let mut v = json!({
            "id": i.id,
            "uri": format!("/api/integrations/{}", i.id),
            "type": i.kind,
            "name": i.name,
            "meta": i.meta,
            "created_datetime": fmt_ts(i.created),
            "updated_datetime": fmt_ts(i.updated),
            "deactivated_datetime": null,
            "locked_datetime": null,
        });
        if let Some(h) = &i.http {
            v["http"] = h.clone();
        }
        v
    }

    pub(crate) fn event_json(&self, e: &Event) -> Value {
        json!({
            "id": e.id,
            "uri": format!("/api/events/{}", e.id),
            "type": e.kind,
            "object_type": e.object_type,
            "object_id": e.object_id,
            "user_id": e.user_id,
            "context": null,
            "data": e.data,
            "created_datetime": fmt_ts(e.created),
        })
    }

    /// The business-hours setting object.
    pub(crate) fn hours_setting(&self) -> Value {
        json!({"id": 1, "type": "business-hours", "data": self.business_hours})
    }

    // ---------- lookups ----------

    pub(crate) fn user_by_basic(&self, email: &str, key: &str) -> Option<u64> {
        self.users
            .values()
            .find(|u| {
                u.active
                    && u.email.eq_ignore_ascii_case(email)
                    && !u.api_key.is_empty()
                    && subtle_eq(&u.api_key, key)
            })
            .map(|u| u.id)
    }

    pub(crate) fn user_by_token(&self, token: &str) -> Option<u64> {
        self.users
            .values()
            .find(|u| u.active && u.tokens.iter().any(|t| subtle_eq(t, token)))
            .map(|u| u.id)
    }

    pub(crate) fn customer_by_email(&self, email: &str) -> Option<u64> {
        self.customers
            .values()
            .find(|c| {
                c.email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(email))
            })
            .map(|c| c.id)
    }

    /// The sort key of a ticket for `field` (one of [`TICKET_ORDER_FIELDS`]).
    pub(crate) fn ticket_key(t: &Ticket, field: &str) -> Option<i64> {
        let ts = match field {
            "created_datetime" => Some(t.created),
            "updated_datetime" => Some(t.updated),
            "last_message_datetime" => t.last_message,
            "last_received_message_datetime" => t.last_received,
            "closed_datetime" => t.closed,
            "id" => return i64::try_from(t.id).ok(),
            _ => None,
        };
        ts.map(|t| t.as_microsecond())
    }

    /// Tickets (compact JSON with their sort keys) matching a filter, trashed ones excluded.
    pub(crate) fn view_tickets(
        &self,
        expr: &filter::Expr,
        current_user: u64,
        order_by: &str,
    ) -> Vec<((Option<i64>, u64), Value)> {
        let ctx = filter::EvalCtx {
            current_user_id: current_user,
        };
        // Building every ticket's JSON for every page made a listing cost grow with the whole
        // account (200 ms a page at 10,000 tickets); the status and assignee are checked first.
        let cheap = |t: &Ticket| {
            filter::may_hold(
                expr,
                "ticket.status",
                Some(&Value::from(t.status.as_str())),
                &ctx,
            ) && filter::may_hold(
                expr,
                "ticket.assignee_user.id",
                t.assignee_user.map(Value::from).as_ref(),
                &ctx,
            )
        };
        self.tickets
            .values()
            .filter(|t| t.trashed.is_none() && cheap(t))
            .filter_map(|t| {
                let j = self.ticket_json(t, false);
                filter::eval(expr, &j, &ctx).then(|| ((State::ticket_key(t, order_by), t.id), j))
            })
            .collect()
    }

    // ---------- mutations ----------

    pub(crate) fn add_user(&mut self, name: &str, email: &str, role: &str, key: String) -> u64 {
        let id = self.id("user");
        let created = self.now();
        self.users.insert(
            id,
            User {
                id,
                email: email.into(),
                name: name.into(),
                role: role.into(),
                api_key: key,
                tokens: Vec::new(),
                active: true,
                availability: "offline".into(),
                created,
            },
        );
        id
    }

    pub(crate) fn add_customer(&mut self, name: &str, email: Option<&str>) -> u64 {
        let id = self.id("customer");
        let now = self.now();
        self.customers.insert(
            id,
            Customer {
                id,
                name: name.into(),
                email: email.map(str::to_string),
                created: now,
                updated: now,
            },
        );
        id
    }

    /// The id of the tag with this exact (case-sensitive) name, created if new.
    pub(crate) fn tag_id(&mut self, name: &str) -> u64 {
        if let Some(t) = self.tags.values().find(|t| t.name == name) {
            return t.id;
        }
        let id = self.id("tag");
        let created = self.now();
        self.tags.insert(
            id,
            Tag {
                id,
                name: name.into(),
                created,
            },
        );
        id
    }

    /// Mark a ticket changed: moves `updated_datetime` and records a `ticket-updated` event.
    pub(crate) fn touch(&mut self, ticket_id: u64) {
        let now = self.now();
        if let Some(t) = self.tickets.get_mut(&ticket_id) {
            t.updated = now;
        }
        self.event(
            "ticket-updated",
            "Ticket",
            ticket_id,
            json!({"ticket_id": ticket_id}),
        );
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn create_ticket(
        &mut self,
        channel: &str,
        via: &str,
        customer_id: u64,
        subject: Option<String>,
        assignee_user: Option<u64>,
        assignee_team: Option<u64>,
        tags: &[String],
    ) -> u64 {
        let id = self.id("ticket");
        let now = self.now();
        let tag_ids: Vec<u64> = tags.iter().map(|n| self.tag_id(n)).collect();
        let mut uniq = Vec::new();
        for t in tag_ids {
            if !uniq.contains(&t) {
                uniq.push(t);
            }
        }
        self.tickets.insert(
            id,
            Ticket {
                id,
                external_id: None,
                status: "open".into(),
                priority: "normal".into(),
                channel: channel.into(),
                via: via.into(),
                from_agent: false,
                spam: false,
                customer_id,
                assignee_user,
                assignee_team,
                language: None,
                subject,
                tags: uniq,
                messages: Vec::new(),
                created: now,
                last_received: None,
                last_message: None,
                updated: now,
                closed: None,
                snooze: None,
                trashed: None,
            },
        );
        self.event("ticket-created", "Ticket", id, json!({"ticket_id": id}));
        id
    }

    /// Add a message and apply Gorgias's side effects. The ticket must exist.
    pub(crate) fn add_message(&mut self, ticket_id: u64, m: NewMessage) -> Result<u64, ApiError> {
        if !self.tickets.contains_key(&ticket_id) {
            return Err(ApiError::not_found());
        }
        let id = self.id("message");
        let now = self.now();
        let assign_on_reply = self.behaviour.assign_on_reply;
        let t = self
            .tickets
            .get_mut(&ticket_id)
            .expect("ticket existence checked above");
        if t.messages.is_empty() {
            t.from_agent = m.from_agent;
        }
        t.messages.push(id);
        t.last_message = Some(now);
        t.updated = now;
        let mut reopened = false;
        if !m.from_agent {
            t.last_received = Some(now);
            if t.status == "closed" {
                t.status = "open".into();
                t.closed = None;
                t.snooze = None;
                reopened = true;
            }
        }
        if m.from_agent
            && m.public
            && m.channel != "internal-note"
            && m.via != "rule"
            && assign_on_reply
            && t.assignee_user.is_none()
            && let Party::User(uid) = m.sender
        {
            t.assignee_user = Some(uid);
        }
        let sent = Some(m.sent.unwrap_or(now));
        self.messages.insert(
            id,
            Message {
                id,
                ticket_id,
                m,
                created: now,
                sent,
            },
        );
        self.event(
            "ticket-message-created",
            "TicketMessage",
            id,
            json!({"ticket_id": ticket_id, "message_id": id}),
        );
        if reopened {
            self.event(
                "ticket-updated",
                "Ticket",
                ticket_id,
                json!({"ticket_id": ticket_id}),
            );
        }
        Ok(id)
    }

    /// The address pair and integration of the customer's side of a chat ticket.
    pub(crate) fn chat_source(&self, ticket_id: u64, from_customer: bool) -> (Value, Option<u64>) {
        let t = self.tickets.get(&ticket_id);
        let cust = t.and_then(|t| self.customers.get(&t.customer_id));
        let cust_addr = cust.map_or(Value::Null, |c| {
            json!({"name": c.name, "address": c.email.clone().unwrap_or_else(|| format!("chat-customer-{}", c.id))})
        });
        let shop = json!({"name": "Support", "address": format!("chat-integration-{}", self.chat_integration_id)});
        let kind = t.map_or("chat".to_string(), |t| t.channel.clone());
        let src = if from_customer {
            json!({"type": kind, "from": cust_addr, "to": [shop]})
        } else {
            json!({"type": kind, "from": shop, "to": [cust_addr]})
        };
        (src, Some(self.chat_integration_id))
    }
}

fn subtle_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_microseconds_and_offset() {
        let t: Timestamp = "2024-02-14T21:31:12.367230Z".parse().expect("valid");
        assert_eq!(fmt_ts(t), "2024-02-14T21:31:12.367230+00:00");
        assert_eq!(fmt_naive(t), "2024-02-14T21:31:12.367230");
    }

    #[test]
    fn email_syntax_check_rejects_obvious_garbage() {
        assert!(valid_email("a.b@example.com"));
        for bad in [
            "",
            "a",
            "a@",
            "@b.com",
            "a@b",
            "a b@c.com",
            "a@@b.com",
            "a@b..com",
        ] {
            assert!(!valid_email(bad), "{bad}");
        }
    }
}
