//! The simulator's HTTP face: one axum fallback handler that does what Gorgias's edge does
//! (HTML 404 outside `/api`, auth, 429 storms, the leaky bucket and its header, injected faults),
//! then routes `/api/...` (with or without a trailing slash) to handlers that validate input the
//! way Gorgias does and page lists with opaque cursors.
//! It must not hold the state lock across an `.await`.

use super::Sim;
use super::faults::{Admit, RequestRecord};
use super::filter;
use super::state::{
    ApiError, Integration, NewMessage, Party, State, TICKET_ORDER_FIELDS, View, valid_email,
};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use futures::StreamExt;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::time::Instant;

const MAX_BODY: usize = 2 * 1024 * 1024;
const LIMIT_HEADER: &str = "x-gorgias-account-api-call-limit";

/// The router: every request goes through [`handle`].
pub(crate) fn router(sim: Sim) -> Router {
    Router::new().fallback(handle).with_state(sim)
}

const NOT_FOUND_HTML: &str = "<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head>\
<body><h1>Not Found</h1><p>The requested URL was not found on this server.</p></body></html>\n";

fn json_response(status: u16, body: &Value) -> Response {
    let mut r = Response::new(Body::from(body.to_string()));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn set_limit_header(r: &mut Response, used: u32, limit: u32) {
    if let Ok(v) = HeaderValue::from_str(&format!("{used}/{limit}")) {
        r.headers_mut().insert(LIMIT_HEADER, v);
    }
}

fn rate_limited(retry_after: u64) -> Response {
    let mut r = json_response(
        429,
        &json!({"error": {"msg": "Too many requests. Please retry later."}}),
    );
    if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

async fn handle(axum::extract::State(sim): axum::extract::State<Sim>, req: Request) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let record = |sim: &Sim, pattern: &str, status: u16, user: Option<u64>| {
        let at = sim.now_peek();
        sim.traffic().record(RequestRecord {
            method: method.to_string(),
            path: path.clone(),
            pattern: pattern.to_string(),
            query: query.clone(),
            status,
            user_id: user,
            at,
        });
    };

    if !(path == "/api" || path.starts_with("/api/")) {
        record(&sim, &path, 404, None);
        let mut r = Response::new(Body::from(NOT_FOUND_HTML));
        *r.status_mut() = StatusCode::NOT_FOUND;
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        return r;
    }

    let decision = sim.traffic().decide(method.as_str(), &path);
    if !decision.delay.is_zero() {
        tokio::time::sleep(decision.delay).await;
    }

    let headers = req.headers().clone();
    let body = match axum::body::to_bytes(req.into_body(), MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            record(&sim, &pattern_for(&path), 413, None);
            return json_response(413, &json!({"error": {"msg": "Request entity too large."}}));
        }
    };
    let user = sim.authenticate(&headers);

    // Edge decisions, under the traffic lock only.
    let pattern = pattern_for(&path);
    let now = Instant::now();
    let edge = {
        let mut tr = sim.traffic();
        let level = tr.bucket.as_mut().map(|b| b.peek(now));
        match user {
            None => Edge::Unauthorized(level),
            Some(_) => match tr.storm_left(now) {
                Some(left) => Edge::Limited(left, level),
                None => match tr.bucket.as_mut().map(|b| b.offer(now)) {
                    None => Edge::Admitted(None),
                    Some(Admit::Ok { used, limit }) => {
                        tr.stats.max_bucket_used = tr.stats.max_bucket_used.max(used);
                        Edge::Admitted(Some((used, limit)))
                    }
                    Some(Admit::Limited {
                        used,
                        limit,
                        retry_after,
                    }) => Edge::Limited(retry_after, Some((used, limit))),
                },
            },
        }
    };
    let level = match edge {
        Edge::Unauthorized(level) => {
            record(&sim, &pattern, 401, None);
            let mut r = json_response(401, &json!({"error": {"msg": "Unauthorized."}}));
            if let Some((u, l)) = level {
                set_limit_header(&mut r, u, l);
            }
            return r;
        }
        Edge::Limited(retry_after, level) => {
            record(&sim, &pattern, 429, user);
            let mut r = rate_limited(retry_after);
            if let Some((u, l)) = level {
                set_limit_header(&mut r, u, l);
            }
            return r;
        }
        Edge::Admitted(level) => level,
    };
    let user_id = user.expect("admitted only with a user");

    if let Some(status) = decision.error_status {
        sim.traffic().stats.faults_injected += 1;
        record(&sim, &pattern, status, Some(user_id));
        let mut r = json_response(
            status,
            &json!({"error": {"msg": "The server encountered an internal error."}}),
        );
        if let Some((u, l)) = level {
            set_limit_header(&mut r, u, l);
        }
        return r;
    }

    let (pattern, result) = {
        let mut st = sim.state();
        route(&mut st, user_id, &method, &path, &query, &headers, &body)
    };
    let (status, value) = match result {
        Ok(x) => x,
        Err(e) => (e.status, Some(e.body())),
    };
    record(&sim, &pattern, status, Some(user_id));

    let mut text = value.map(|v| v.to_string()).unwrap_or_default();
    if (200..300).contains(&status) {
        let rewrite = sim.traffic().faults.rewrite.clone();
        for (from, to) in &rewrite {
            text = text.replace(from.as_str(), to);
        }
    }
    let mut r = if let Some(stall) = decision.stall.filter(|_| !text.is_empty()) {
        sim.traffic().stats.faults_injected += 1;
        let cut = half_of(&text);
        let (first, second) = (
            Bytes::from(text[..cut].to_string()),
            Bytes::from(text[cut..].to_string()),
        );
        let stream = futures::stream::iter([first])
            .map(Ok::<Bytes, std::io::Error>)
            .chain(futures::stream::once(async move {
                tokio::time::sleep(stall).await;
                Ok(second)
            }));
        Response::new(Body::from_stream(stream))
    } else if decision.reset {
        sim.traffic().stats.faults_injected += 1;
        let half = Bytes::from(text[..half_of(&text)].to_string());
        let stream = futures::stream::iter(vec![
            Ok::<Bytes, std::io::Error>(half),
            Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "simulated connection reset",
            )),
        ]);
        Response::new(Body::from_stream(stream))
    } else if decision.malformed && (200..300).contains(&status) && !text.is_empty() {
        sim.traffic().stats.faults_injected += 1;
        Response::new(Body::from(text[..half_of(&text)].to_string()))
    } else {
        Response::new(Body::from(text))
    };
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status != 204 {
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    if let Some((u, l)) = level {
        set_limit_header(&mut r, u, l);
    }
    r
}

/// About half of `text`'s length, on a character boundary (a body cut short for a fault must
/// not panic on non-ASCII text).
fn half_of(text: &str) -> usize {
    let mut cut = text.len() / 2;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    cut
}

/// What the edge decided before routing: bucket levels are (used, limit).
enum Edge {
    Unauthorized(Option<(u32, u32)>),
    Limited(u64, Option<(u32, u32)>),
    Admitted(Option<(u32, u32)>),
}

/// The route pattern of a path, for counters (the path itself when no route matches).
fn pattern_for(path: &str) -> String {
    let rest = path.strip_prefix("/api").unwrap_or(path);
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let segs: Vec<&str> = rest.split('/').skip(1).collect();
    parse_route(&segs).map_or_else(|| path.to_string(), |(_, p)| p.to_string())
}

/// The user a request's credentials belong to, if any.
pub(crate) fn authenticate(st: &State, headers: &HeaderMap) -> Option<u64> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = STANDARD.decode(rest).ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (email, key) = text.split_once(':')?;
        st.user_by_basic(email, key)
    } else if scheme.eq_ignore_ascii_case("bearer") {
        st.user_by_token(rest)
    } else {
        None
    }
}

// ---------- query strings ----------

struct Query(Vec<(String, String)>);

impl Query {
    fn parse(raw: &str) -> Query {
        Query(
            url::form_urlencoded::parse(raw.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    /// Every value of `key` or `key[]`, comma lists split.
    fn all(&self, key: &str) -> Vec<String> {
        let alt = format!("{key}[]");
        self.0
            .iter()
            .filter(|(k, _)| k == key || *k == alt)
            .flat_map(|(_, v)| v.split(','))
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    }
    fn u64(&self, key: &str) -> Result<Option<u64>, ApiError> {
        match self.get(key) {
            None | Some("") => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| ApiError::field(key, "Not a valid integer.")),
        }
    }
    fn bool(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.get(key) {
            None | Some("") => Ok(None),
            Some("true" | "1" | "True") => Ok(Some(true)),
            Some("false" | "0" | "False") => Ok(Some(false)),
            Some(_) => Err(ApiError::field(key, "Not a valid boolean.")),
        }
    }
}

// ---------- paging ----------

type Key = (Option<i64>, u64);

struct Paging {
    limit: usize,
    cursor: Option<Cursor>,
    field: String,
    desc: bool,
}

struct Cursor {
    next: bool,
    key: Key,
}

fn encode_cursor(next: bool, field: &str, key: Key, salt: u64) -> String {
    let k = key.0.map_or("-".to_string(), |v| v.to_string());
    let raw = format!(
        "{}|{field}|{k}|{}|{salt:x}",
        if next { "n" } else { "p" },
        key.1
    );
    URL_SAFE_NO_PAD.encode(raw)
}

fn decode_cursor(s: &str, field: &str, salt: u64) -> Option<Cursor> {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).ok()?).ok()?;
    let parts: Vec<&str> = raw.split('|').collect();
    let [dir, f, k, id, sa] = parts.as_slice() else {
        return None;
    };
    if *f != field || u64::from_str_radix(sa, 16).ok()? != salt {
        return None;
    }
    let next = match *dir {
        "n" => true,
        "p" => false,
        _ => return None,
    };
    let key0 = if *k == "-" {
        None
    } else {
        Some(k.parse().ok()?)
    };
    Some(Cursor {
        next,
        key: (key0, id.parse().ok()?),
    })
}

fn paging(
    q: &Query,
    allowed: &[&str],
    default: (&str, bool),
    salt: u64,
) -> Result<Paging, ApiError> {
    let limit = match q.get("limit") {
        None => 30,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n >= 1 => usize::try_from(n.min(100)).unwrap_or(100),
            _ => {
                return Err(ApiError::field(
                    "limit",
                    "Must be greater than or equal to 1 and less than or equal to 100.",
                ));
            }
        },
    };
    let (field, desc) = match q.get("order_by") {
        None | Some("") => (default.0.to_string(), default.1),
        Some(v) => {
            let (f, d) = v.split_once(':').unwrap_or((v, "asc"));
            if !allowed.contains(&f) {
                return Err(ApiError::field(
                    "order_by",
                    &format!("Must be one of: {}.", allowed.join(", ")),
                ));
            }
            let desc = match d {
                "asc" => false,
                "desc" => true,
                _ => {
                    return Err(ApiError::field(
                        "order_by",
                        "Direction must be asc or desc.",
                    ));
                }
            };
            (f.to_string(), desc)
        }
    };
    let cursor = match q.get("cursor") {
        None | Some("") => None,
        Some(c) => Some(
            decode_cursor(c, &field, salt)
                .ok_or_else(|| ApiError::field("cursor", "Invalid cursor."))?,
        ),
    };
    Ok(Paging {
        limit,
        cursor,
        field,
        desc,
    })
}

/// Sort and cut one page; returns (items, prev_cursor, next_cursor).
fn page(
    mut items: Vec<(Key, Value)>,
    p: &Paging,
    salt: u64,
) -> (Vec<Value>, Option<String>, Option<String>) {
    items.sort_by(|a, b| if p.desc { b.0.cmp(&a.0) } else { a.0.cmp(&b.0) });
    let after = |k: &Key, c: &Key| if p.desc { k < c } else { k > c };
    let (start, end) = match &p.cursor {
        None => (0, p.limit.min(items.len())),
        Some(c) if c.next => {
            let s = items
                .iter()
                .position(|(k, _)| after(k, &c.key))
                .unwrap_or(items.len());
            (s, (s + p.limit).min(items.len()))
        }
        Some(c) => {
            let e = items
                .iter()
                .position(|(k, _)| after(k, &c.key) || *k == c.key)
                .unwrap_or(items.len());
            (e.saturating_sub(p.limit), e)
        }
    };
    let slice = &items[start..end];
    let prev =
        (start > 0 && !slice.is_empty()).then(|| encode_cursor(false, &p.field, slice[0].0, salt));
    let next = (end < items.len() && !slice.is_empty())
        .then(|| encode_cursor(true, &p.field, slice[slice.len() - 1].0, salt));
    (slice.iter().map(|(_, v)| v.clone()).collect(), prev, next)
}

fn list_body(uri: &str, data: Vec<Value>, prev: Option<String>, next: Option<String>) -> Value {
    json!({
        "object": "list",
        "uri": uri,
        "data": data,
        "meta": {"prev_cursor": prev, "next_cursor": next},
    })
}

/// A list of things ordered by id (or creation, which follows id).
fn simple_list(
    uri: &str,
    q: &Query,
    items: Vec<(u64, Value)>,
    salt: u64,
    default_desc: bool,
) -> Result<Value, ApiError> {
    let p = paging(q, &["id", "created_datetime"], ("id", default_desc), salt)?;
    let keyed = items.into_iter().map(|(id, v)| ((None, id), v)).collect();
    let (data, prev, next) = page(keyed, &p, salt);
    Ok(list_body(uri, data, prev, next))
}

// ---------- routing ----------

enum Route {
    Users,
    User(u64),
    Teams,
    Team(u64),
    Tickets,
    Ticket(u64),
    TicketTags(u64),
    TicketMessages(u64),
    TicketMessage(u64, u64),
    Messages,
    Message(u64),
    Customers,
    Customer(u64),
    Tags,
    Views,
    View(u64),
    ViewItems(u64),
    Account,
    AccountSettings,
    Integrations,
    Integration(u64),
    Events,
    Macros,
    Macro(u64),
}

fn parse_route(segs: &[&str]) -> Option<(Route, &'static str)> {
    let id = |s: &str| s.parse::<u64>().ok();
    Some(match segs {
        ["users"] => (Route::Users, "/api/users"),
        ["users", a] => (Route::User(id(a)?), "/api/users/{id}"),
        ["teams"] => (Route::Teams, "/api/teams"),
        ["teams", a] => (Route::Team(id(a)?), "/api/teams/{id}"),
        ["tickets"] => (Route::Tickets, "/api/tickets"),
        ["tickets", a] => (Route::Ticket(id(a)?), "/api/tickets/{id}"),
        ["tickets", a, "tags"] => (Route::TicketTags(id(a)?), "/api/tickets/{id}/tags"),
        ["tickets", a, "messages"] => (Route::TicketMessages(id(a)?), "/api/tickets/{id}/messages"),
        ["tickets", a, "messages", b] => (
            Route::TicketMessage(id(a)?, id(b)?),
            "/api/tickets/{id}/messages/{id}",
        ),
        ["messages"] => (Route::Messages, "/api/messages"),
        ["messages", a] => (Route::Message(id(a)?), "/api/messages/{id}"),
        ["customers"] => (Route::Customers, "/api/customers"),
        ["customers", a] => (Route::Customer(id(a)?), "/api/customers/{id}"),
        ["tags"] => (Route::Tags, "/api/tags"),
        ["views"] => (Route::Views, "/api/views"),
        ["views", a] => (Route::View(id(a)?), "/api/views/{id}"),
        ["views", a, "items"] => (Route::ViewItems(id(a)?), "/api/views/{id}/items"),
        ["account"] => (Route::Account, "/api/account"),
        ["account", "settings"] => (Route::AccountSettings, "/api/account/settings"),
        ["integrations"] => (Route::Integrations, "/api/integrations"),
        ["integrations", a] => (Route::Integration(id(a)?), "/api/integrations/{id}"),
        ["events"] => (Route::Events, "/api/events"),
        ["macros"] => (Route::Macros, "/api/macros"),
        ["macros", a] => (Route::Macro(id(a)?), "/api/macros/{id}"),
        _ => return None,
    })
}

type Answer = Result<(u16, Option<Value>), ApiError>;

fn ok(v: Value) -> Answer {
    Ok((200, Some(v)))
}

fn method_not_allowed() -> Answer {
    Err(ApiError::new(405, "Method not allowed."))
}

fn route(
    st: &mut State,
    user: u64,
    method: &Method,
    path: &str,
    raw_query: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> (String, Answer) {
    let rest = path.strip_prefix("/api").unwrap_or(path);
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let segs: Vec<&str> = rest.split('/').skip(1).collect();
    let Some((route, pattern)) = parse_route(&segs) else {
        return (path.to_string(), Err(ApiError::not_found()));
    };
    let body = match parse_body(method, headers, body) {
        Ok(b) => b,
        Err(e) => return (pattern.to_string(), Err(e)),
    };
    let q = Query::parse(raw_query);
    let uri = if rest.is_empty() {
        "/api".to_string()
    } else {
        format!("/api{rest}")
    };
    let ans = dispatch(st, user, method, route, &uri, &q, body);
    (pattern.to_string(), ans)
}

/// JSON only: a body must be declared and parse as JSON.
fn parse_body(
    method: &Method,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Option<Value>, ApiError> {
    if body.is_empty() {
        return Ok(None);
    }
    if *method == Method::GET {
        return Ok(None);
    }
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.to_ascii_lowercase().contains("application/json") {
        return Err(ApiError::bad(
            "Invalid request: the body must be JSON (Content-Type: application/json).",
        ));
    }
    serde_json::from_slice(body)
        .map(Some)
        .map_err(|e| ApiError::bad(format!("Invalid JSON body: {e}.")))
}

fn require_object(body: Option<Value>) -> Result<Map<String, Value>, ApiError> {
    match body {
        Some(Value::Object(m)) => Ok(m),
        Some(_) => Err(ApiError::bad("Invalid request: expected a JSON object.")),
        None => Err(ApiError::bad("Invalid request: a JSON body is required.")),
    }
}

fn dispatch(
    st: &mut State,
    user: u64,
    method: &Method,
    route: Route,
    uri: &str,
    q: &Query,
    body: Option<Value>,
) -> Answer {
    let salt = st.cursor_salt;
    let get = *method == Method::GET;
    match route {
        Route::Users if get => list_users(st, uri, q),
        Route::User(id) if get => {
            let id = if id == 0 { user } else { id };
            let with = q
                .all("relationships")
                .iter()
                .any(|r| r == "availability_status");
            st.users
                .get(&id)
                .map(|u| st.user_json(u, with))
                .map_or_else(|| Err(ApiError::not_found()), ok)
        }
        Route::Teams if get => {
            let items = st.teams.values().map(|t| (t.id, st.team_json(t))).collect();
            ok(simple_list(uri, q, items, salt, false)?)
        }
        Route::Team(id) if get => st
            .teams
            .get(&id)
            .map(|t| st.team_json(t))
            .map_or_else(|| Err(ApiError::not_found()), ok),
        Route::Tickets if get => list_tickets(st, user, uri, q),
        Route::Ticket(id) if get => st
            .tickets
            .get(&id)
            .map(|t| st.ticket_json(t, true))
            .map_or_else(|| Err(ApiError::not_found()), ok),
        Route::Ticket(id) if *method == Method::PUT => update_ticket(st, id, body),
        Route::TicketTags(id) => ticket_tags(st, id, method, uri, q, body),
        Route::TicketMessages(id) if get => {
            if !st.tickets.contains_key(&id) {
                return Err(ApiError::not_found());
            }
            list_messages(st, uri, q, Some(id))
        }
        Route::TicketMessages(id) if *method == Method::POST => post_message(st, id, body),
        Route::TicketMessage(tid, mid) if get => st
            .messages
            .get(&mid)
            .filter(|m| m.ticket_id == tid)
            .map(|m| st.message_json(m))
            .map_or_else(|| Err(ApiError::not_found()), ok),
        Route::Messages if get => {
            let tid = q.u64("ticket_id")?;
            list_messages(st, uri, q, tid)
        }
        Route::Message(id) if get => st
            .messages
            .get(&id)
            .map(|m| st.message_json(m))
            .map_or_else(|| Err(ApiError::not_found()), ok),
        Route::Customers if get => {
            let email = q.get("email").map(str::to_string);
            let items = st
                .customers
                .values()
                .filter(|c| {
                    email.as_deref().is_none_or(|e| {
                        c.email
                            .as_deref()
                            .is_some_and(|x| x.eq_ignore_ascii_case(e))
                    })
                })
                .map(|c| (c.id, st.customer_json(c)))
                .collect();
            ok(simple_list(uri, q, items, salt, false)?)
        }
        Route::Customer(id) if get => st
            .customers
            .get(&id)
            .map(|c| super::customers::with_integrations(st, c))
            .map_or_else(|| Err(ApiError::not_found()), ok),
        Route::Customer(id) if *method == Method::PUT => update_customer(st, id, body),
        Route::Tags if get => list_tags(st, uri, q),
        Route::Views if get => {
            let items = st.views.values().map(|v| (v.id, st.view_json(v))).collect();
            ok(simple_list(uri, q, items, salt, false)?)
        }
        Route::Views if *method == Method::POST => create_view(st, body),
        Route::View(id) if get => st
            .views
            .get(&id)
            .map(|v| st.view_json(v))
            .map_or_else(|| Err(ApiError::not_found()), ok),
        Route::View(id) if *method == Method::PUT => update_view(st, id, body),
        Route::View(id) if *method == Method::DELETE => st
            .views
            .remove(&id)
            .map_or_else(|| Err(ApiError::not_found()), |_| Ok((204, None))),
        Route::ViewItems(id) if get => {
            let Some(v) = st.views.get(&id) else {
                return Err(ApiError::not_found());
            };
            let (filters, ob, od) = (v.filters.clone(), v.order_by.clone(), v.order_dir.clone());
            view_items(st, user, uri, q, Some(id), &filters, &ob, &od)
        }
        Route::ViewItems(0) if *method == Method::PUT => {
            let mut obj = require_object(body)?;
            let Some(Value::Object(mut view)) = obj.remove("view") else {
                return Err(ApiError::field("view", "Missing data for required field."));
            };
            // An ad-hoc view is never saved, so it needs no name.
            view.entry("name").or_insert_with(|| json!("ad-hoc"));
            let spec = validate_view(&view, true)?;
            view_items(
                st,
                user,
                uri,
                q,
                None,
                &spec.filters.unwrap_or_default(),
                &spec.order_by.unwrap_or_else(|| "updated_datetime".into()),
                &spec.order_dir.unwrap_or_else(|| "desc".into()),
            )
        }
        Route::Account if get => ok(json!({
            "domain": "sim",
            "status": {"status": "active"},
            "created_datetime": "2020-01-01T00:00:00.000000+00:00",
            "meta": {},
            "settings": [st.hours_setting()],
        })),
        Route::AccountSettings if get => {
            let want = q.get("type");
            let matching: Vec<Value> = [st.hours_setting()]
                .into_iter()
                .filter(|s| want.is_none_or(|w| s["type"] == w))
                .collect();
            use super::state::HoursShape;
            ok(match st.behaviour.hours_shape {
                HoursShape::BareArray => Value::Array(matching),
                HoursShape::Envelope => list_body(uri, matching, None, None),
                HoursShape::LegacyObject => matching.into_iter().next().unwrap_or(Value::Null),
            })
        }
        Route::Integrations if get => {
            let items = st
                .integrations
                .values()
                .map(|i| (i.id, st.integration_json(i)))
                .collect();
            ok(simple_list(uri, q, items, salt, false)?)
        }
        Route::Integrations if *method == Method::POST => create_integration(st, body),
        Route::Integration(id) if get => st
            .integrations
            .get(&id)
            .map(|i| st.integration_json(i))
            .map_or_else(|| Err(ApiError::not_found()), ok),
        Route::Integration(id) if *method == Method::DELETE => st
            .integrations
            .remove(&id)
            .map_or_else(|| Err(ApiError::not_found()), |_| Ok((204, None))),
        Route::Events if get => list_events(st, uri, q),
        Route::Macros if get => {
            let items = st.macro_items(q.get("search"), &q.all("languages"));
            ok(simple_list(uri, q, items, salt, false)?)
        }
        Route::Macro(id) if get => st
            .macros
            .get(&id)
            .map(|m| m.json())
            .map_or_else(|| Err(ApiError::not_found()), ok),
        _ => method_not_allowed(),
    }
}

// ---------- handlers ----------

fn list_users(st: &State, uri: &str, q: &Query) -> Answer {
    let roles = q.all("roles");
    let email = q.get("email");
    let search = q.get("search").map(str::to_lowercase);
    let with = q
        .all("relationships")
        .iter()
        .any(|r| r == "availability_status");
    let items = st
        .users
        .values()
        .filter(|u| roles.is_empty() || roles.contains(&u.role))
        .filter(|u| email.is_none_or(|e| u.email.eq_ignore_ascii_case(e)))
        .filter(|u| {
            search.as_deref().is_none_or(|s| {
                u.name.to_lowercase().contains(s) || u.email.to_lowercase().contains(s)
            })
        })
        .map(|u| (u.id, st.user_json(u, with)))
        .collect();
    ok(simple_list(uri, q, items, st.cursor_salt, false)?)
}

fn list_tickets(st: &State, user: u64, uri: &str, q: &Query) -> Answer {
    let p = paging(
        q,
        &["created_datetime", "updated_datetime"],
        ("created_datetime", true),
        st.cursor_salt,
    )?;
    let customer_id = q.u64("customer_id")?;
    let rule_id = q.u64("rule_id")?;
    let external_id = q.get("external_id");
    let trashed = q.bool("trashed")?.unwrap_or(false);
    let mut ids = Vec::new();
    for s in q.all("ticket_ids") {
        ids.push(
            s.parse::<u64>()
                .map_err(|_| ApiError::field("ticket_ids", "Not a valid integer."))?,
        );
    }
    let view = match q.u64("view_id")? {
        None => None,
        Some(vid) => {
            let v = st.views.get(&vid).ok_or_else(ApiError::not_found)?;
            Some(filter::parse(&v.filters).map_err(|e| ApiError::bad(e.to_string()))?)
        }
    };
    let ctx = filter::EvalCtx {
        current_user_id: user,
    };
    let items = st
        .tickets
        .values()
        .filter(|t| t.trashed.is_some() == trashed)
        .filter(|t| customer_id.is_none_or(|c| t.customer_id == c))
        .filter(|t| external_id.is_none_or(|e| t.external_id.as_deref() == Some(e)))
        .filter(|t| ids.is_empty() || ids.contains(&t.id))
        .filter(|t| {
            rule_id.is_none_or(|r| {
                t.messages
                    .iter()
                    .filter_map(|m| st.messages.get(m))
                    .any(|m| m.m.rule_id == Some(r))
            })
        })
        .filter_map(|t| {
            let j = st.ticket_json(t, false);
            let keep = view.as_ref().is_none_or(|e| filter::eval(e, &j, &ctx));
            keep.then(|| ((State::ticket_key(t, &p.field), t.id), j))
        })
        .collect();
    let (data, prev, next) = page(items, &p, st.cursor_salt);
    ok(list_body(uri, data, prev, next))
}

#[allow(clippy::too_many_arguments)]
fn view_items(
    st: &State,
    user: u64,
    uri: &str,
    q: &Query,
    view_id: Option<u64>,
    filters: &str,
    order_by: &str,
    order_dir: &str,
) -> Answer {
    let expr = filter::parse(filters).map_err(|e| ApiError::field("filters", &e.to_string()))?;
    let p = paging(
        q,
        TICKET_ORDER_FIELDS,
        (order_by, order_dir == "desc"),
        st.cursor_salt,
    )?;
    let items = st.view_tickets(&expr, user, &p.field);
    let (data, prev, next) = page(items, &p, st.cursor_salt);
    let base = format!("/api/views/{}/items", view_id.unwrap_or(0));
    let items_url = |c: &Option<String>, dir: &str| {
        c.as_ref()
            .map(|c| format!("{base}?cursor={c}&direction={dir}"))
    };
    let mut body = list_body(uri, data, prev.clone(), next.clone());
    body["meta"]["next_items"] = json!(items_url(&next, "next"));
    body["meta"]["prev_items"] = json!(items_url(&prev, "prev"));
    ok(body)
}

fn list_messages(st: &State, uri: &str, q: &Query, ticket_id: Option<u64>) -> Answer {
    let p = paging(
        q,
        &["created_datetime", "id"],
        ("created_datetime", true),
        st.cursor_salt,
    )?;
    let items = st
        .messages
        .values()
        .filter(|m| ticket_id.is_none_or(|t| m.ticket_id == t))
        .map(|m| ((None, m.id), st.message_json(m)))
        .collect();
    let (data, prev, next) = page(items, &p, st.cursor_salt);
    ok(list_body(uri, data, prev, next))
}

fn list_tags(st: &State, uri: &str, q: &Query) -> Answer {
    let p = paging(
        q,
        &["id", "name", "created_datetime", "usage"],
        ("id", false),
        st.cursor_salt,
    )?;
    let search = q.get("search").map(str::to_lowercase);
    let mut names: Vec<&str> = st.tags.values().map(|t| t.name.as_str()).collect();
    names.sort_unstable();
    let items = st
        .tags
        .values()
        .filter(|t| {
            search
                .as_deref()
                .is_none_or(|s| t.name.to_lowercase().contains(s))
        })
        .map(|t| {
            let j = st.tag_json(t);
            let k = match p.field.as_str() {
                "name" => names
                    .iter()
                    .position(|n| *n == t.name)
                    .and_then(|i| i64::try_from(i).ok()),
                "usage" => j["usage"].as_i64(),
                _ => None,
            };
            ((k, t.id), j)
        })
        .collect();
    let (data, prev, next) = page(items, &p, st.cursor_salt);
    ok(list_body(uri, data, prev, next))
}

fn list_events(st: &State, uri: &str, q: &Query) -> Answer {
    let p = paging(
        q,
        &["created_datetime", "id"],
        ("created_datetime", true),
        st.cursor_salt,
    )?;
    let types = q.all("types");
    let object_type = q.get("object_type");
    let object_id = q.u64("object_id")?;
    let mut bounds = Vec::new();
    for op in ["gt", "gte", "lt", "lte"] {
        if let Some(v) = q.get(&format!("created_datetime[{op}]")) {
            let t = filter::parse_datetime(v).ok_or_else(|| {
                ApiError::field(&format!("created_datetime[{op}]"), "Not a valid datetime.")
            })?;
            bounds.push((op, t));
        }
    }
    let items = st
        .events
        .iter()
        .filter(|e| types.is_empty() || types.contains(&e.kind))
        .filter(|e| object_type.is_none_or(|o| e.object_type == o))
        .filter(|e| object_id.is_none_or(|o| e.object_id == o))
        .filter(|e| {
            bounds.iter().all(|(op, t)| match *op {
                "gt" => e.created > *t,
                "gte" => e.created >= *t,
                "lt" => e.created < *t,
                _ => e.created <= *t,
            })
        })
        .map(|e| ((None, e.id), st.event_json(e)))
        .collect();
    let (data, prev, next) = page(items, &p, st.cursor_salt);
    ok(list_body(uri, data, prev, next))
}

fn id_of(v: &Value) -> Option<u64> {
    v.get("id").and_then(Value::as_u64)
}

fn update_ticket(st: &mut State, id: u64, body: Option<Value>) -> Answer {
    if !st.tickets.contains_key(&id) {
        return Err(ApiError::not_found());
    }
    let obj = require_object(body)?;
    let mut errs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut err = |f: &str, m: &str| errs.entry(f.into()).or_default().push(m.into());

    let status = match obj.get("status") {
        None => None,
        Some(Value::String(s)) if s == "open" || s == "closed" => Some(s.clone()),
        Some(_) => {
            err("status", "Must be one of: open, closed.");
            None
        }
    };
    let assignee_user = match obj.get("assignee_user") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(v) => match id_of(v) {
            Some(u) if st.users.contains_key(&u) => Some(Some(u)),
            Some(_) => {
                err("assignee_user", "User not found.");
                None
            }
            None => {
                err("assignee_user", "Must be null or an object with an id.");
                None
            }
        },
    };
    let assignee_team = match obj.get("assignee_team") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(v) => match id_of(v) {
            Some(t) if st.teams.contains_key(&t) => Some(Some(t)),
            Some(_) => {
                err("assignee_team", "Team not found.");
                None
            }
            None => {
                err("assignee_team", "Must be null or an object with an id.");
                None
            }
        },
    };
    let tags: Option<Vec<String>> = match obj.get("tags") {
        None => None,
        Some(Value::Array(items)) => {
            let mut names = Vec::new();
            for it in items {
                if let Some(n) = it
                    .get("name")
                    .and_then(Value::as_str)
                    .filter(|n| !n.is_empty())
                {
                    names.push(n.to_string());
                } else if let Some(t) = id_of(it).and_then(|i| st.tags.get(&i)) {
                    names.push(t.name.clone());
                } else {
                    err(
                        "tags",
                        "Each tag must be an object with a name or a known id.",
                    );
                }
            }
            Some(names)
        }
        Some(_) => {
            err("tags", "Not a valid list.");
            None
        }
    };
    let subject = match obj.get("subject") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(s)) => Some(Some(s.clone())),
        Some(_) => {
            err("subject", "Not a valid string.");
            None
        }
    };
    let priority = match obj.get("priority") {
        None => None,
        Some(Value::String(s)) if ["low", "normal", "high", "critical"].contains(&s.as_str()) => {
            Some(s.clone())
        }
        Some(_) => {
            err("priority", "Must be one of: low, normal, high, critical.");
            None
        }
    };
    let spam = match obj.get("spam") {
        None => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => {
            err("spam", "Not a valid boolean.");
            None
        }
    };
    let snooze = match obj.get("snooze_datetime") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(s)) => match filter::parse_datetime(s) {
            Some(t) => Some(Some(t)),
            None => {
                err("snooze_datetime", "Not a valid datetime.");
                None
            }
        },
        Some(_) => {
            err("snooze_datetime", "Not a valid datetime.");
            None
        }
    };
    if !errs.is_empty() {
        return Err(ApiError::fields(errs));
    }
    let tag_ids = tags.map(|names| {
        let mut ids: Vec<u64> = Vec::new();
        for n in names {
            let tid = st.tag_id(&n);
            if !ids.contains(&tid) {
                ids.push(tid);
            }
        }
        ids
    });
    let now = st.now();
    let t = st
        .tickets
        .get_mut(&id)
        .expect("ticket existence checked above");
    let mut changed = false;
    if let Some(s) = status {
        if s == "closed" && t.status != "closed" {
            t.closed = Some(now);
        }
        if s == "open" {
            t.closed = None;
            t.snooze = None;
        }
        t.status = s;
        changed = true;
    }
    if let Some(u) = assignee_user {
        t.assignee_user = u;
        changed = true;
    }
    if let Some(g) = assignee_team {
        t.assignee_team = g;
        changed = true;
    }
    if let Some(ids) = tag_ids {
        t.tags = ids;
        changed = true;
    }
    if let Some(s) = subject {
        t.subject = s;
        changed = true;
    }
    if let Some(p) = priority {
        t.priority = p;
        changed = true;
    }
    if let Some(s) = spam {
        t.spam = s;
        changed = true;
    }
    if let Some(s) = snooze {
        t.snooze = s;
        changed = true;
    }
    if changed {
        st.touch(id);
    }
    let t = st.tickets.get(&id).expect("ticket existence checked above");
    ok(st.ticket_json(t, true))
}

fn ticket_tags(
    st: &mut State,
    id: u64,
    method: &Method,
    uri: &str,
    q: &Query,
    body: Option<Value>,
) -> Answer {
    if !st.tickets.contains_key(&id) {
        return Err(ApiError::not_found());
    }
    let list = |st: &State| -> Result<Value, ApiError> {
        let t = st.tickets.get(&id).expect("ticket existence checked above");
        let items = t
            .tags
            .iter()
            .filter_map(|g| st.tags.get(g))
            .map(|g| (g.id, st.tag_json(g)))
            .collect();
        simple_list(uri, q, items, st.cursor_salt, false)
    };
    if *method == Method::GET {
        return ok(list(st)?);
    }
    if ![Method::POST, Method::DELETE, Method::PUT].contains(method) {
        return method_not_allowed();
    }
    let obj = require_object(body)?;
    let names: Vec<String> = match obj.get("names") {
        None => return Err(ApiError::field("names", "Missing data for required field.")),
        Some(Value::Array(a)) => {
            let mut names = Vec::new();
            for v in a {
                match v.as_str() {
                    Some(s) if !s.trim().is_empty() => names.push(s.to_string()),
                    _ => {
                        return Err(ApiError::field(
                            "names",
                            "Each name must be a non-empty string.",
                        ));
                    }
                }
            }
            names
        }
        Some(_) => return Err(ApiError::field("names", "Not a valid list.")),
    };
    let before = st
        .tickets
        .get(&id)
        .map(|t| t.tags.clone())
        .unwrap_or_default();
    let after: Vec<u64> = if *method == Method::DELETE {
        let remove: Vec<u64> = st
            .tags
            .values()
            .filter(|g| names.contains(&g.name))
            .map(|g| g.id)
            .collect();
        before
            .iter()
            .copied()
            .filter(|g| !remove.contains(g))
            .collect()
    } else {
        let mut ids = if *method == Method::POST {
            before.clone()
        } else {
            Vec::new()
        };
        for n in &names {
            let g = st.tag_id(n);
            if !ids.contains(&g) {
                ids.push(g);
            }
        }
        ids
    };
    if after != before {
        if let Some(t) = st.tickets.get_mut(&id) {
            t.tags = after;
        }
        st.touch(id);
    }
    if *method == Method::DELETE {
        Ok((204, None))
    } else {
        let status = if *method == Method::POST { 201 } else { 202 };
        Ok((status, Some(list(st)?)))
    }
}

/// Channels and vias a message may carry.
const CHANNELS: &[&str] = &[
    "chat",
    "email",
    "api",
    "contact_form",
    "facebook",
    "facebook-messenger",
    "facebook-mention",
    "instagram-comment",
    "instagram-direct-message",
    "whatsapp",
    "sms",
    "phone",
    "internal-note",
    "help-center",
    "twitter",
    "yotpo-review",
];
const VIAS: &[&str] = &[
    "api",
    "chat",
    "gorgias_chat",
    "email",
    "helpdesk",
    "rule",
    "self_service",
    "contact_form",
    "form",
    "facebook",
    "instagram",
    "whatsapp",
    "sms",
    "phone",
    "twilio",
    "aircall",
    "zendesk",
    "shopify",
];

fn post_message(st: &mut State, ticket_id: u64, body: Option<Value>) -> Answer {
    if !st.tickets.contains_key(&ticket_id) {
        return Err(ApiError::not_found());
    }
    let obj = require_object(body)?;
    let mut errs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut err = |f: &str, m: &str| errs.entry(f.into()).or_default().push(m.into());
    const MISSING: &str = "Missing data for required field.";

    let string = |key: &str, err: &mut dyn FnMut(&str, &str)| match obj.get(key) {
        None | Some(Value::Null) => {
            err(key, MISSING);
            None
        }
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            err(key, "Not a valid string.");
            None
        }
    };
    let channel = string("channel", &mut err);
    let via = string("via", &mut err);
    let boolean = |key: &str, err: &mut dyn FnMut(&str, &str)| match obj.get(key) {
        None | Some(Value::Null) => {
            err(key, MISSING);
            None
        }
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => {
            err(key, "Not a valid boolean.");
            None
        }
    };
    let from_agent = boolean("from_agent", &mut err);
    let public = boolean("public", &mut err);
    if let Some(c) = &channel
        && !CHANNELS.contains(&c.as_str())
    {
        err(
            "channel",
            &format!("Must be one of: {}.", CHANNELS.join(", ")),
        );
    }
    if let Some(v) = &via
        && !VIAS.contains(&v.as_str())
    {
        err("via", &format!("Must be one of: {}.", VIAS.join(", ")));
    }
    let opt_str = |key: &str, err: &mut dyn FnMut(&str, &str)| match obj.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            err(key, "Not a valid string.");
            None
        }
    };
    let body_text = opt_str("body_text", &mut err);
    let body_html = opt_str("body_html", &mut err);
    if body_text.as_deref().is_none_or(str::is_empty)
        && body_html.as_deref().is_none_or(str::is_empty)
    {
        err("body_text", MISSING);
    }
    let subject = opt_str("subject", &mut err);
    let external_id = opt_str("external_id", &mut err);
    let sender = match obj.get("sender") {
        None | Some(Value::Null) => {
            err("sender", MISSING);
            None
        }
        Some(s @ Value::Object(_)) => {
            let sid = id_of(s);
            let semail = s.get("email").and_then(Value::as_str);
            if sid.is_none() && semail.is_none() {
                err("sender", "An id or an email is required.");
                None
            } else {
                match from_agent {
                    Some(true) => {
                        let uid = sid.filter(|i| st.users.contains_key(i)).or_else(|| {
                            semail.and_then(|e| {
                                st.users
                                    .values()
                                    .find(|u| u.email.eq_ignore_ascii_case(e))
                                    .map(|u| u.id)
                            })
                        });
                        if uid.is_none() {
                            err(
                                "sender",
                                "User not found: an agent message needs a known user as sender.",
                            );
                        }
                        uid.map(Party::User)
                    }
                    Some(false) => {
                        let cid = sid
                            .filter(|i| st.customers.contains_key(i))
                            .or_else(|| semail.and_then(|e| st.customer_by_email(e)));
                        if cid.is_none() {
                            err("sender", "Customer not found.");
                        }
                        cid.map(Party::Customer)
                    }
                    None => None,
                }
            }
        }
        Some(_) => {
            err("sender", "Not a valid object.");
            None
        }
    };
    let receiver = match obj.get("receiver") {
        None | Some(Value::Null) => None,
        Some(r) => match id_of(r) {
            Some(i) if st.customers.contains_key(&i) && from_agent == Some(true) => {
                Some(Party::Customer(i))
            }
            Some(i) if st.users.contains_key(&i) => Some(Party::User(i)),
            Some(i) if st.customers.contains_key(&i) => Some(Party::Customer(i)),
            _ => {
                if let Some(e) = r.get("email").and_then(Value::as_str)
                    && let Some(c) = st.customer_by_email(e)
                {
                    Some(Party::Customer(c))
                } else {
                    err("receiver", "Receiver not found.");
                    None
                }
            }
        },
    };
    let source = match obj.get("source") {
        None | Some(Value::Null) => None,
        Some(s @ Value::Object(_)) => Some(s.clone()),
        Some(_) => {
            err("source", "Not a valid object.");
            None
        }
    };
    let opt_u64 = |key: &str, err: &mut dyn FnMut(&str, &str)| match obj.get(key) {
        None | Some(Value::Null) => None,
        Some(v) => {
            let n = v.as_u64();
            if n.is_none() {
                err(key, "Not a valid integer.");
            }
            n
        }
    };
    let integration_id = opt_u64("integration_id", &mut err);
    if let Some(i) = integration_id
        && !st.integrations.contains_key(&i)
    {
        err("integration_id", "Integration not found.");
    }
    let rule_id = opt_u64("rule_id", &mut err);
    let macros = match obj.get("macros") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(_) => {
            err("macros", "Not a valid list.");
            Vec::new()
        }
    };
    let sent = match obj.get("sent_datetime") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            let t = filter::parse_datetime(s);
            if t.is_none() {
                err("sent_datetime", "Not a valid datetime.");
            }
            t
        }
        Some(_) => {
            err("sent_datetime", "Not a valid datetime.");
            None
        }
    };
    if channel.as_deref() == Some("internal-note") && public == Some(true) {
        err("public", "An internal note cannot be public.");
    }
    let (Some(channel), Some(via), Some(from_agent), Some(public), Some(sender)) =
        (channel, via, from_agent, public, sender)
    else {
        return Err(ApiError::fields(errs));
    };
    if !errs.is_empty() {
        return Err(ApiError::fields(errs));
    }
    let customer = st.tickets.get(&ticket_id).map(|t| t.customer_id);
    let receiver = receiver.or_else(|| {
        (from_agent && public)
            .then_some(customer)
            .flatten()
            .map(Party::Customer)
    });
    let mid = st.add_message(
        ticket_id,
        NewMessage {
            channel,
            via,
            public,
            from_agent,
            sender,
            receiver,
            source,
            integration_id,
            rule_id,
            macros,
            body_text,
            body_html,
            subject,
            external_id,
            sent,
        },
    )?;
    let m = st.messages.get(&mid).expect("message just added");
    Ok((201, Some(st.message_json(m))))
}

fn update_customer(st: &mut State, id: u64, body: Option<Value>) -> Answer {
    if !st.customers.contains_key(&id) {
        return Err(ApiError::not_found());
    }
    let obj = require_object(body)?;
    let email = match obj.get("email") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(e)) => {
            let e = e.trim();
            if !valid_email(e) {
                return Err(ApiError::field("email", "Not a valid email address."));
            }
            if st.customer_by_email(e).is_some_and(|other| other != id) {
                return Err(ApiError::new(
                    409,
                    format!("A customer with the email {e} already exists."),
                ));
            }
            Some(Some(e.to_string()))
        }
        Some(_) => return Err(ApiError::field("email", "Not a valid string.")),
    };
    let name = match obj.get("name") {
        None => None,
        Some(Value::String(n)) => Some(n.clone()),
        Some(_) => return Err(ApiError::field("name", "Not a valid string.")),
    };
    let now = st.now();
    let c = st
        .customers
        .get_mut(&id)
        .expect("customer existence checked above");
    if let Some(e) = email {
        c.email = e;
    }
    if let Some(n) = name {
        c.name = n;
    }
    c.updated = now;
    st.event(
        "customer-updated",
        "Customer",
        id,
        json!({"customer_id": id}),
    );
    let c = st
        .customers
        .get(&id)
        .expect("customer existence checked above");
    ok(st.customer_json(c))
}

struct ViewSpec {
    name: Option<String>,
    filters: Option<String>,
    order_by: Option<String>,
    order_dir: Option<String>,
    visibility: Option<String>,
    category: Option<Option<String>>,
    slug: Option<String>,
    decoration: Option<Value>,
    shared_with_users: Option<Vec<u64>>,
    shared_with_teams: Option<Vec<u64>>,
}

/// Validate a view body; `create` makes name/type/filters required.
fn validate_view(obj: &Map<String, Value>, create: bool) -> Result<ViewSpec, ApiError> {
    let mut errs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut err = |f: &str, m: String| errs.entry(f.into()).or_default().push(m);
    const MISSING: &str = "Missing data for required field.";
    let mut s = ViewSpec {
        name: None,
        filters: None,
        order_by: None,
        order_dir: None,
        visibility: None,
        category: None,
        slug: None,
        decoration: None,
        shared_with_users: None,
        shared_with_teams: None,
    };
    match obj.get("name") {
        Some(Value::String(n)) if !n.trim().is_empty() => s.name = Some(n.clone()),
        None if !create => {}
        None => err("name", MISSING.into()),
        Some(_) => err("name", "Must be a non-empty string.".into()),
    }
    match obj.get("type") {
        Some(Value::String(t)) if t == "ticket-list" => {}
        None if !create => {}
        None => err("type", MISSING.into()),
        Some(_) => err("type", "Must be one of: ticket-list.".into()),
    }
    match obj.get("filters") {
        Some(Value::String(f)) => match filter::parse(f) {
            Ok(_) => s.filters = Some(f.clone()),
            Err(e) => err("filters", e.to_string()),
        },
        None if !create => {}
        None => err("filters", MISSING.into()),
        Some(_) => err("filters", "Not a valid string.".into()),
    }
    match obj.get("order_by") {
        None | Some(Value::Null) => {}
        Some(Value::String(o)) if TICKET_ORDER_FIELDS.contains(&o.as_str()) => {
            s.order_by = Some(o.clone());
        }
        Some(_) => err(
            "order_by",
            format!("Must be one of: {}.", TICKET_ORDER_FIELDS.join(", ")),
        ),
    }
    match obj.get("order_dir") {
        None | Some(Value::Null) => {}
        Some(Value::String(o)) if o == "asc" || o == "desc" => s.order_dir = Some(o.clone()),
        Some(_) => err("order_dir", "Must be one of: asc, desc.".into()),
    }
    match obj.get("visibility") {
        None | Some(Value::Null) => {}
        Some(Value::String(v)) if ["public", "shared", "private"].contains(&v.as_str()) => {
            s.visibility = Some(v.clone());
        }
        Some(_) => err(
            "visibility",
            "Must be one of: public, shared, private.".into(),
        ),
    }
    match obj.get("category") {
        None => {}
        Some(Value::Null) => s.category = Some(None),
        Some(Value::String(c)) => s.category = Some(Some(c.clone())),
        Some(_) => err("category", "Not a valid string.".into()),
    }
    match obj.get("slug") {
        None | Some(Value::Null) => {}
        Some(Value::String(c)) => s.slug = Some(c.clone()),
        Some(_) => err("slug", "Not a valid string.".into()),
    }
    if let Some(d) = obj.get("decoration") {
        s.decoration = Some(d.clone());
    }
    for key in ["shared_with_users", "shared_with_teams"] {
        match obj.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::Array(a)) => {
                let ids: Option<Vec<u64>> =
                    a.iter().map(|v| v.as_u64().or_else(|| id_of(v))).collect();
                match ids {
                    Some(ids) if key == "shared_with_users" => s.shared_with_users = Some(ids),
                    Some(ids) => s.shared_with_teams = Some(ids),
                    None => err(key, "Not a valid list of ids.".into()),
                }
            }
            Some(_) => err(key, "Not a valid list.".into()),
        }
    }
    if errs.is_empty() {
        Ok(s)
    } else {
        // A bad filter is the problem most worth naming in the message itself.
        let msg = errs
            .get("filters")
            .and_then(|v| v.first())
            .map_or_else(|| "Validation error.".to_string(), |m| m.clone());
        let mut e = ApiError::fields(errs);
        e.msg = msg;
        Err(e)
    }
}

fn slugify(name: &str) -> String {
    name.to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

fn create_view(st: &mut State, body: Option<Value>) -> Answer {
    let obj = require_object(body)?;
    let s = validate_view(&obj, true)?;
    let id = st.id("view");
    let now = st.now();
    let name = s.name.unwrap_or_default();
    let v = View {
        id,
        slug: s.slug.unwrap_or_else(|| slugify(&name)),
        name,
        category: s.category.flatten(),
        visibility: s.visibility.unwrap_or_else(|| "public".into()),
        filters: s.filters.unwrap_or_default(),
        order_by: s.order_by.unwrap_or_else(|| "updated_datetime".into()),
        order_dir: s.order_dir.unwrap_or_else(|| "desc".into()),
        decoration: s.decoration.unwrap_or(Value::Null),
        shared_with_users: s.shared_with_users.unwrap_or_default(),
        shared_with_teams: s.shared_with_teams.unwrap_or_default(),
        created: now,
        updated: now,
    };
    let j = st.view_json(&v);
    st.views.insert(id, v);
    Ok((201, Some(j)))
}

fn update_view(st: &mut State, id: u64, body: Option<Value>) -> Answer {
    if !st.views.contains_key(&id) {
        return Err(ApiError::not_found());
    }
    let obj = require_object(body)?;
    let s = validate_view(&obj, false)?;
    let now = st.now();
    let v = st.views.get_mut(&id).expect("view existence checked above");
    if let Some(x) = s.name {
        v.name = x;
    }
    if let Some(x) = s.filters {
        v.filters = x;
    }
    if let Some(x) = s.order_by {
        v.order_by = x;
    }
    if let Some(x) = s.order_dir {
        v.order_dir = x;
    }
    if let Some(x) = s.visibility {
        v.visibility = x;
    }
    if let Some(x) = s.category {
        v.category = x;
    }
    if let Some(x) = s.slug {
        v.slug = x;
    }
    if let Some(x) = s.decoration {
        v.decoration = x;
    }
    if let Some(x) = s.shared_with_users {
        v.shared_with_users = x;
    }
    if let Some(x) = s.shared_with_teams {
        v.shared_with_teams = x;
    }
    v.updated = now;
    let v = st.views.get(&id).expect("view existence checked above");
    ok(st.view_json(v))
}

fn create_integration(st: &mut State, body: Option<Value>) -> Answer {
    let obj = require_object(body)?;
    let mut errs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut err = |f: &str, m: &str| errs.entry(f.into()).or_default().push(m.into());
    const MISSING: &str = "Missing data for required field.";
    let name = match obj.get("name") {
        Some(Value::String(n)) if !n.trim().is_empty() => n.clone(),
        None => {
            err("name", MISSING);
            String::new()
        }
        Some(_) => {
            err("name", "Must be a non-empty string.");
            String::new()
        }
    };
    match obj.get("type") {
        Some(Value::String(t)) if t == "http" => {}
        None => err("type", MISSING),
        Some(_) => err(
            "type",
            "Only integrations of type http can be created through the API.",
        ),
    }
    let mut http = match obj.get("http") {
        Some(Value::Object(h)) => h.clone(),
        None => {
            err("http", MISSING);
            Map::new()
        }
        Some(_) => {
            err("http", "Not a valid object.");
            Map::new()
        }
    };
    if obj.get("http").is_some_and(Value::is_object) {
        match http.get("url") {
            Some(Value::String(u)) => match url::Url::parse(u) {
                Ok(p) if p.scheme() == "http" || p.scheme() == "https" => {}
                _ => err("http.url", "Not a valid URL."),
            },
            None => err("http.url", MISSING),
            Some(_) => err("http.url", "Not a valid string."),
        }
        match http.get("method") {
            None => {
                http.insert("method".into(), json!("POST"));
            }
            Some(Value::String(m))
                if ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&m.as_str()) => {}
            Some(_) => err(
                "http.method",
                "Must be one of: GET, POST, PUT, PATCH, DELETE.",
            ),
        }
        match http.get("headers") {
            None | Some(Value::Object(_)) => {}
            Some(_) => err("http.headers", "Not a valid object."),
        }
        match http.get("triggers") {
            None => {}
            Some(Value::Object(t)) if t.values().all(Value::is_boolean) => {}
            Some(_) => err("http.triggers", "Must map event names to booleans."),
        }
        http.entry("request_content_type")
            .or_insert_with(|| json!("application/json"));
        http.entry("headers").or_insert_with(|| json!({}));
        http.entry("triggers").or_insert_with(|| json!({}));
    }
    if !errs.is_empty() {
        return Err(ApiError::fields(errs));
    }
    let id = st.id("integration");
    let now = st.now();
    let i = Integration {
        id,
        kind: "http".into(),
        name,
        http: Some(Value::Object(http)),
        meta: json!({}),
        created: now,
        updated: now,
    };
    let j = st.integration_json(&i);
    st.integrations.insert(id, i);
    Ok((201, Some(j)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_foreign_salt_or_field() {
        let c = encode_cursor(true, "updated_datetime", (Some(123), 9), 0xabc);
        let d = decode_cursor(&c, "updated_datetime", 0xabc).expect("decodes");
        assert!(d.next);
        assert_eq!(d.key, (Some(123), 9));
        assert!(decode_cursor(&c, "updated_datetime", 0xabd).is_none());
        assert!(decode_cursor(&c, "created_datetime", 0xabc).is_none());
        assert!(decode_cursor("garbage!!", "updated_datetime", 0xabc).is_none());
    }

    #[test]
    fn pages_walk_forward_and_back_without_overlap() {
        let items: Vec<(Key, Value)> = (1..=7u64).map(|i| ((None, i), json!(i))).collect();
        let q = Query::parse("limit=3");
        let mut p = paging(&q, &["id"], ("id", false), 1).expect("valid");
        let (a, prev, next) = page(items.clone(), &p, 1);
        assert_eq!(a, vec![json!(1), json!(2), json!(3)]);
        assert!(prev.is_none());
        p.cursor = decode_cursor(&next.expect("more"), "id", 1);
        let (b, prev, next) = page(items.clone(), &p, 1);
        assert_eq!(b, vec![json!(4), json!(5), json!(6)]);
        p.cursor = decode_cursor(&next.expect("more"), "id", 1);
        let (c, _, next) = page(items.clone(), &p, 1);
        assert_eq!(c, vec![json!(7)]);
        assert!(next.is_none());
        p.cursor = decode_cursor(&prev.expect("prev"), "id", 1);
        let (back, _, _) = page(items, &p, 1);
        assert_eq!(back, vec![json!(1), json!(2), json!(3)]);
    }
}
