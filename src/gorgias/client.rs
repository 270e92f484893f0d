//! The Gorgias HTTP client: auth, pacing under the account's rate limit, bounded retries, cursor
//! paging, and error mapping. One `reqwest::Client` behind an `Arc`; clones share the connection
//! pool, the pacer (so a 429 stops every clone) and the counters.
//!
//! Retry rules: GET, PUT and DELETE (and the tags POST, harmless to repeat) are retried on
//! transient errors with jittered exponential backoff; a 429 is always retried after its
//! `Retry-After` because Gorgias did not perform the request. Other POSTs that create something
//! are never resent blindly: `post_message` re-reads the ticket to see whether the message landed.
//!
//! This module talks HTTP only: no decisions, no ledger, no wall-clock policy. It never logs or
//! prints the API key (it lives in a `SecretString` and in a header marked sensitive).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use base64::Engine;
use reqwest::Method;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tracing::{debug, info, warn};

use super::body::{NewMessage, NewView, TicketUpdate};
use super::decode::{self, NextPage, SkippedItem};
use super::error::GorgiasError;
use super::model::{BusinessHoursSetting, Integration, Macro, Message, Team, Ticket, User, View};
use super::pacing::{Lane, Pacer};
use crate::clock::{Clock, SystemClock};

/// Items per page (Gorgias's maximum).
pub const PAGE_LIMIT: u32 = 100;
/// The largest answer body read when not configured (`gorgias.max_body`): far above any real
/// page of 100 tickets or any ticket.
pub const DEFAULT_MAX_BODY: usize = 20_000_000;
/// Paging stops after this many pages (serving what was read): no real list is that long, a
/// broken server's is (at the account's pace, 2,000 pages are already 17 minutes).
pub const MAX_PAGES: usize = 2_000;
/// Paging stops once a list holds this many items (10 times the largest backlog measured).
pub const MAX_LIST_ITEMS: usize = 100_000;
/// How many distinct "logged once" warnings are remembered before the memory starts over.
const WARNED_CAPACITY: usize = 10_000;
/// How many times a message POST may be sent again after a failure that left it uncertain
/// whether the message landed (each resend is preceded by a re-read of the ticket).
pub const MESSAGE_RESENDS: u32 = 2;
/// A landed message is recognised if created no earlier than this before our send (server and
/// local clocks disagree a little).
pub const LANDED_MARGIN: Duration = Duration::from_secs(60);
/// First backoff delay; doubled per attempt, with jitter.
const BACKOFF_BASE: Duration = Duration::from_millis(200);
const BACKOFF_MAX: Duration = Duration::from_secs(10);
const CALL_LIMIT_HEADER: &str = "x-gorgias-account-api-call-limit";

/// How the client authenticates. `Debug` shows the email but never the key or token.
#[derive(Clone, Debug)]
pub enum Auth {
    /// A private integration: HTTP Basic with the user's email and the REST API key.
    Basic {
        email: String,
        api_key: SecretString,
    },
    /// An OAuth2 access token.
    Bearer(SecretString),
}

/// Everything the client needs. `Debug` is safe to log (the secret is redacted).
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// `https://{subdomain}.gorgias.com` (a trailing `/` or `/api` is tolerated).
    pub base_url: String,
    pub auth: Auth,
    /// The account's budget: 40 per 20 s for API keys, 80 for OAuth apps.
    pub requests_per_window: u32,
    pub window: Duration,
    /// Whole request, including reading the body.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// The largest response body read, in bytes: a larger one fails the request (not retried:
    /// the same request would get the same answer) without being held in memory.
    pub max_body: usize,
    /// A response body that sends nothing for this long has stalled: the attempt fails (and is
    /// retried like a timeout), long before `timeout` would end it.
    pub stall_timeout: Duration,
    /// Retries after the first attempt for retryable failures (0 = never retry).
    pub max_retries: u32,
    /// Whose seconds `window` and `Retry-After` count: the system clock, or the bench's
    /// [`crate::clock::FastClock`] (the pacer then runs as fast as the simulator's bucket).
    pub clock: Arc<dyn Clock>,
}

impl ClientConfig {
    /// Defaults for an API-key integration: 40 requests per 20 s, 30 s timeout, 10 s connect
    /// timeout, bodies up to 20 MB that never stall for 10 s, 3 retries.
    pub fn new(base_url: impl Into<String>, auth: Auth) -> ClientConfig {
        ClientConfig {
            base_url: base_url.into(),
            auth,
            requests_per_window: 40,
            window: Duration::from_secs(20),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_body: DEFAULT_MAX_BODY,
            stall_timeout: Duration::from_secs(10),
            max_retries: 3,
            clock: Arc::new(SystemClock),
        }
    }
}

/// Counters since the client was built (all clones together).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// Requests put on the wire (every attempt counts).
    pub requests: u64,
    pub status_2xx: u64,
    /// Includes the 429s.
    pub status_4xx: u64,
    pub status_5xx: u64,
    /// 1xx/3xx, which Gorgias should never send.
    pub status_other: u64,
    /// No status at all: timeouts, refused or reset connections.
    pub transport_errors: u64,
    pub rate_limited: u64,
    /// Attempts made again after a failure (including message resends).
    pub retries: u64,
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    status_2xx: AtomicU64,
    status_4xx: AtomicU64,
    status_5xx: AtomicU64,
    status_other: AtomicU64,
    transport_errors: AtomicU64,
    rate_limited: AtomicU64,
    retries: AtomicU64,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// When a failed request may be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RetryPolicy {
    /// Idempotent in effect: any transient error.
    Transient,
    /// Creates something: only a 429 (Gorgias did not perform it).
    RateLimitOnly,
}

/// The items of a list as far as it was read.
#[derive(Debug)]
pub struct Listed<T> {
    pub items: Vec<T>,
    /// Read to its end. `false` when the caller's `enough` stopped it, or when the server's
    /// paging could not be followed further (a repeated cursor, too many pages or items): the
    /// pages read are served, but nothing may be concluded from what the list lacks.
    pub complete: bool,
    /// Items that did not decode (each logged once by the client).
    pub skipped: Vec<SkippedItem>,
}

/// A Gorgias API client. Cheap to clone; clones share pacing, connections and counters.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: url::Url,
    auth: HeaderValue,
    pacer: Pacer,
    counters: Counters,
    max_retries: u32,
    max_body: usize,
    stall_timeout: Duration,
    clock: Arc<dyn Clock>,
    /// Warnings already given (see [`Client::warn_once`]).
    warned: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base.as_str())
            .field("pacer", &self.inner.pacer)
            .finish_non_exhaustive()
    }
}

fn invalid(detail: impl Into<String>) -> GorgiasError {
    GorgiasError::InvalidConfig {
        detail: detail.into(),
    }
}

impl Client {
    /// Build the client: validates the base URL, the rate and the credentials' header form.
    pub fn new(cfg: ClientConfig) -> Result<Client, GorgiasError> {
        let trimmed = cfg.base_url.trim().trim_end_matches('/');
        let trimmed = trimmed.strip_suffix("/api").unwrap_or(trimmed);
        let base = url::Url::parse(&format!("{trimmed}/"))
            .map_err(|e| invalid(format!("base_url {:?}: {e}", cfg.base_url)))?;
        if !matches!(base.scheme(), "http" | "https") || base.query().is_some() {
            return Err(invalid(format!(
                "base_url {:?} must be an http(s) URL without a query",
                cfg.base_url
            )));
        }
        if cfg.timeout.is_zero() || cfg.connect_timeout.is_zero() || cfg.stall_timeout.is_zero() {
            return Err(invalid(
                "timeout, connect_timeout and stall_timeout must be above zero",
            ));
        }
        let pacer =
            Pacer::new(cfg.requests_per_window, cfg.clock.real(cfg.window)).map_err(invalid)?;
        let mut auth = match &cfg.auth {
            Auth::Basic { email, api_key } => {
                let raw = format!("{email}:{}", api_key.expose_secret());
                let encoded = base64::engine::general_purpose::STANDARD.encode(raw);
                HeaderValue::from_str(&format!("Basic {encoded}"))
            }
            Auth::Bearer(token) => {
                HeaderValue::from_str(&format!("Bearer {}", token.expose_secret()))
            }
        }
        .map_err(|_| {
            invalid("the API credentials contain characters not allowed in an HTTP header")
        })?;
        auth.set_sensitive(true);
        let http = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(cfg.connect_timeout)
            .user_agent(concat!("perfectbot/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| invalid(format!("building the HTTP client: {e}")))?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base,
                auth,
                pacer,
                counters: Counters::default(),
                max_retries: cfg.max_retries,
                max_body: cfg.max_body,
                stall_timeout: cfg.stall_timeout,
                clock: cfg.clock.clone(),
                warned: std::sync::Mutex::new(std::collections::HashSet::new()),
            }),
        })
    }

    /// Whether more than half of the API budget was used over the last window (see
    /// [`Pacer::busy`]): a hint for optional requests to wait.
    pub fn budget_busy(&self) -> bool {
        self.inner.pacer.busy()
    }

    /// The pacer itself, for tests that spend the budget without sending requests.
    #[cfg(test)]
    pub(crate) fn pacer(&self) -> &Pacer {
        &self.inner.pacer
    }

    /// `closes` fall due soon: requests other than closes leave room in the budget for them
    /// (see [`Pacer::reserve_for_closes`]).
    pub fn reserve_for_closes(&self, closes: usize) {
        self.inner.pacer.reserve_for_closes(closes);
    }

    /// The user that owns the key (`GET /api/users/0`): the bot's own identity.
    pub async fn current_user(&self) -> Result<User, GorgiasError> {
        self.get_json("/api/users/0").await
    }

    /// Every ticket of a saved view (`GET /api/views/{id}/items`, all pages). Items are compact
    /// tickets (no messages).
    pub async fn view_items(&self, view_id: u64) -> Result<Vec<Ticket>, GorgiasError> {
        self.list_all(
            Method::GET,
            &format!("/api/views/{view_id}/items"),
            Vec::new(),
            None,
        )
        .await
    }

    /// Every ticket of an unsaved view (`PUT /api/views/0/items`), newest `order_by` first.
    pub async fn ad_hoc_view_items(
        &self,
        filters: &str,
        order_by: &str,
    ) -> Result<Vec<Ticket>, GorgiasError> {
        Ok(self
            .ad_hoc_view_items_until(filters, order_by, |_| false)
            .await?
            .items)
    }

    /// The first pages of an unsaved view, newest `order_by` first, up to and including the
    /// first page for which `enough(page)` is true; whether that was the whole list, and the
    /// items that could not be decoded.
    pub async fn ad_hoc_view_items_until(
        &self,
        filters: &str,
        order_by: &str,
        enough: impl Fn(&[Ticket]) -> bool,
    ) -> Result<Listed<Ticket>, GorgiasError> {
        let body = json!({"view": {"type": "ticket-list", "filters": filters, "order_by": order_by, "order_dir": "desc"}});
        self.list_until(
            Method::PUT,
            "/api/views/0/items",
            Vec::new(),
            Some(body),
            enough,
        )
        .await
    }

    /// One full ticket with its messages (`GET /api/tickets/{id}`).
    pub async fn ticket(&self, id: u64) -> Result<Ticket, GorgiasError> {
        self.get_json(&format!("/api/tickets/{id}")).await
    }

    /// Every message of a ticket, oldest first (`GET /api/messages?ticket_id=..`, all pages).
    pub async fn messages(&self, ticket_id: u64) -> Result<Vec<Message>, GorgiasError> {
        let query = vec![
            ("ticket_id".to_owned(), ticket_id.to_string()),
            ("order_by".to_owned(), "created_datetime:asc".to_owned()),
        ];
        self.list_all(Method::GET, "/api/messages", query, None)
            .await
    }

    /// Post a reply or note (`POST /api/tickets/{id}/messages`). Never sent twice blindly: after
    /// a failure that may have landed (5xx, timeout, broken connection, unreadable 2xx), the
    /// ticket is re-read and a message from the same sender with the same `body_text`, created
    /// no earlier than `LANDED_MARGIN` before the first send, is returned as ours; only if there
    /// is none is it sent again (at most `MESSAGE_RESENDS` times). A 429 is resent after its wait.
    pub async fn post_message(
        &self,
        ticket_id: u64,
        msg: &NewMessage,
    ) -> Result<Message, GorgiasError> {
        let path = format!("/api/tickets/{ticket_id}/messages");
        let body = to_json(msg);
        let since = self
            .inner
            .clock
            .now()
            .checked_sub(jiff::SignedDuration::try_from(LANDED_MARGIN).expect("a small constant"))
            .unwrap_or(jiff::Timestamp::MIN);
        let mut uncertain = 0u32;
        let mut rate_limited = 0u32;
        // The last failure after which the message may or may not have been created.
        let mut pending: Option<GorgiasError> = None;
        loop {
            if let Some(err) = pending.take() {
                tokio::time::sleep(backoff_delay(uncertain)).await;
                if let Some(m) = self.find_landed(ticket_id, msg, since).await? {
                    info!(
                        ticket_id,
                        message_id = m.id,
                        "message landed despite the error; not sending it again"
                    );
                    return Ok(m);
                }
                if uncertain > MESSAGE_RESENDS {
                    return Err(err);
                }
                bump(&self.inner.counters.retries);
                warn!(
                    ticket_id,
                    attempt = uncertain + 1,
                    "message not found after a failed send; sending it again"
                );
            }
            match self.send_once(&Method::POST, &path, &[], Some(&body)).await {
                Ok(bytes) => {
                    return match decode_json::<Message>("POST", &path, &bytes) {
                        Ok(m) => Ok(m),
                        Err(e) => {
                            // It was created (2xx) but we cannot read it: find it, never resend.
                            warn!(ticket_id, error = %e, "message created but the response did not parse; re-reading the ticket");
                            self.find_landed(ticket_id, msg, since).await?.ok_or(e)
                        }
                    };
                }
                Err(e @ GorgiasError::RateLimited { .. }) => {
                    // Gorgias did not perform it: safe to send again once Retry-After has passed.
                    rate_limited += 1;
                    if rate_limited > self.inner.max_retries {
                        return Err(e);
                    }
                    bump(&self.inner.counters.retries);
                    warn!(ticket_id, error = %e, "rate limited; sending the message again after Retry-After");
                }
                Err(e) if e.is_transient() => {
                    uncertain += 1;
                    warn!(ticket_id, error = %e, "message send failed; checking whether it landed");
                    pending = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Our message on the ticket, if it is there (see `post_message`).
    async fn find_landed(
        &self,
        ticket_id: u64,
        msg: &NewMessage,
        since: jiff::Timestamp,
    ) -> Result<Option<Message>, GorgiasError> {
        let messages = match self.ticket(ticket_id).await {
            Ok(t) => t.messages,
            // A ticket that does not decode as a whole (one bad message): its messages are
            // listed one by one, and ours decodes.
            Err(GorgiasError::Decode { .. }) => self.messages(ticket_id).await?,
            Err(e) => return Err(e),
        };
        Ok(messages
            .into_iter()
            .filter(|m| {
                m.sender.as_ref().is_some_and(|s| s.id == msg.sender.id)
                    && m.body_text.as_deref().map(str::trim) == Some(msg.body_text.trim())
                    && m.created_datetime.is_some_and(|t| t >= since)
            })
            .max_by_key(|m| (m.created_datetime, m.id)))
    }

    /// Partial update (`PUT /api/tickets/{id}`); returns the full ticket.
    pub async fn update_ticket(
        &self,
        id: u64,
        update: &TicketUpdate,
    ) -> Result<Ticket, GorgiasError> {
        let path = format!("/api/tickets/{id}");
        let bytes = self.write(Method::PUT, &path, to_json(update)).await?;
        // The write took effect; a ticket that does not decode as a whole (one unreadable
        // message) still tells its status and assignees, which is what callers check.
        decode_json("PUT", &path, &bytes).or_else(|e| lenient_ticket(&bytes).ok_or(e))
    }

    /// Add tags by name (`POST /api/tickets/{id}/tags`); tags are created on first use.
    pub async fn add_tags(&self, ticket_id: u64, names: &[String]) -> Result<(), GorgiasError> {
        let path = format!("/api/tickets/{ticket_id}/tags");
        // Adding a tag twice is harmless, so this POST may be retried like a PUT.
        self.write(Method::POST, &path, json!({"names": names}))
            .await?;
        Ok(())
    }

    /// Remove tags by name (`DELETE /api/tickets/{id}/tags`).
    pub async fn remove_tags(&self, ticket_id: u64, names: &[String]) -> Result<(), GorgiasError> {
        let path = format!("/api/tickets/{ticket_id}/tags");
        self.write(Method::DELETE, &path, json!({"names": names}))
            .await?;
        Ok(())
    }

    /// Set a customer's email (`PUT /api/customers/{id}`). `GorgiasError::Conflict` when
    /// another customer already has it.
    pub async fn set_customer_email(
        &self,
        customer_id: u64,
        email: &str,
    ) -> Result<(), GorgiasError> {
        let path = format!("/api/customers/{customer_id}");
        self.write(Method::PUT, &path, json!({"email": email}))
            .await?;
        Ok(())
    }

    /// One customer with its integrations' data (`GET /api/customers/{id}`), as raw JSON: the
    /// Shopify part is read by `crate::orders::parse_customer`, which checks whose it is.
    pub async fn customer(&self, id: u64) -> Result<Value, GorgiasError> {
        self.get_json(&format!("/api/customers/{id}")).await
    }

    /// Every user (`GET /api/users`, all pages), with `availability_status` when asked for and
    /// the account exposes it.
    pub async fn users(&self, with_availability: bool) -> Result<Vec<User>, GorgiasError> {
        let query = if with_availability {
            vec![("relationships".to_owned(), "availability_status".to_owned())]
        } else {
            Vec::new()
        };
        self.list_all(Method::GET, "/api/users", query, None).await
    }

    /// Every team with its members (`GET /api/teams`, all pages).
    pub async fn teams(&self) -> Result<Vec<Team>, GorgiasError> {
        self.list_all(Method::GET, "/api/teams", Vec::new(), None)
            .await
    }

    /// The account's business hours (`GET /api/account/settings?type=business-hours`), in any of
    /// the observed shapes; `None` when the account has no such setting.
    pub async fn business_hours(&self) -> Result<Option<BusinessHoursSetting>, GorgiasError> {
        let path = "/api/account/settings";
        let query = vec![("type".to_owned(), "business-hours".to_owned())];
        let bytes = self
            .call(Method::GET, path, query, None, RetryPolicy::Transient)
            .await?;
        let v: Value = decode_json("GET", path, &bytes)?;
        decode::parse_business_hours(v).map_err(|detail| GorgiasError::Decode {
            method: "GET".into(),
            path: path.into(),
            detail,
        })
    }

    /// Every saved view (`GET /api/views`, all pages).
    pub async fn views(&self) -> Result<Vec<View>, GorgiasError> {
        self.list_all(Method::GET, "/api/views", Vec::new(), None)
            .await
    }

    /// Create a saved view (`POST /api/views`). Not retried on transient errors (it would
    /// duplicate the view); the caller lists views and tries again.
    pub async fn create_view(&self, v: &NewView) -> Result<View, GorgiasError> {
        self.create("/api/views", to_json(v)).await
    }

    /// POST a new object; retried only after a 429 (Gorgias did not act), never on other
    /// transient errors, which could create it twice.
    async fn create<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: Value,
    ) -> Result<T, GorgiasError> {
        let bytes = self
            .call(
                Method::POST,
                path,
                Vec::new(),
                Some(body),
                RetryPolicy::RateLimitOnly,
            )
            .await?;
        decode_json("POST", path, &bytes)
    }

    /// A write that does the same when received twice (a partial update, adding or removing
    /// tags): retried on every transient error, like a read.
    async fn write(
        &self,
        method: Method,
        path: &str,
        body: Value,
    ) -> Result<Vec<u8>, GorgiasError> {
        self.call(method, path, Vec::new(), Some(body), RetryPolicy::Transient)
            .await
    }

    /// Every integration (`GET /api/integrations`, all pages).
    pub async fn integrations(&self) -> Result<Vec<Integration>, GorgiasError> {
        self.list_all(Method::GET, "/api/integrations", Vec::new(), None)
            .await
    }

    /// Create an integration, e.g. an HTTP webhook (`POST /api/integrations`). Not retried on
    /// transient errors, like `create_view`.
    pub async fn create_integration(&self, body: &Value) -> Result<Integration, GorgiasError> {
        self.create("/api/integrations", body.clone()).await
    }

    /// Every macro (`GET /api/macros`, all pages, archived ones included: the caller decides).
    /// Each item is decoded on its own: one unreadable macro is logged and skipped, not the list.
    pub async fn macros(&self) -> Result<Vec<Macro>, GorgiasError> {
        let raw: Vec<Value> = self
            .list_all(Method::GET, "/api/macros", Vec::new(), None)
            .await?;
        Ok(raw
            .into_iter()
            .filter_map(|v| {
                let id = v.get("id").cloned();
                serde_json::from_value::<Macro>(v)
                    .map_err(|e| warn!(macro_id = ?id, error = %e, "skipping an unreadable macro"))
                    .ok()
            })
            .collect())
    }

    /// A snapshot of the counters (requests, statuses, 429s, retries).
    pub fn stats(&self) -> ClientStats {
        let c = &self.inner.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ClientStats {
            requests: get(&c.requests),
            status_2xx: get(&c.status_2xx),
            status_4xx: get(&c.status_4xx),
            status_5xx: get(&c.status_5xx),
            status_other: get(&c.status_other),
            transport_errors: get(&c.transport_errors),
            rate_limited: get(&c.rate_limited),
            retries: get(&c.retries),
        }
    }

    async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, GorgiasError> {
        // A GET changes nothing, so a body cut short in transit is simply read again. A body
        // that is whole but does not decode (a lone surrogate, a malformed date) would read the
        // same again: that is returned at once.
        let mut attempt = 0;
        loop {
            let bytes = self
                .call(Method::GET, path, Vec::new(), None, RetryPolicy::Transient)
                .await?;
            match serde_json::from_slice(&bytes) {
                Ok(v) => return Ok(v),
                Err(e)
                    if e.classify() == serde_json::error::Category::Eof
                        && attempt < self.inner.max_retries =>
                {
                    attempt += 1;
                    bump(&self.inner.counters.retries);
                    warn!(path, error = %e, "GET response cut short; reading it again");
                    tokio::time::sleep(backoff_delay(attempt)).await;
                }
                Err(e) => {
                    return Err(GorgiasError::Decode {
                        method: "GET".to_owned(),
                        path: path.to_owned(),
                        detail: e.to_string(),
                    });
                }
            }
        }
    }

    /// Log `message` (with `detail`) the first time `key` is seen: a defect that repeats on
    /// every poll is said once, not every few seconds.
    fn warn_once(&self, key: String, message: &str, detail: &str) {
        let mut warned = self.inner.warned.lock().unwrap_or_else(|p| p.into_inner());
        if warned.len() >= WARNED_CAPACITY {
            warned.clear();
        }
        if warned.insert(key) {
            warn!(detail, "{message} (logged once)");
        }
    }

    /// Every item of a cursor list: `limit=100`, cursors kept only in memory. Items that do not
    /// decode are skipped (logged once each); a repeated cursor, more than `MAX_PAGES` pages
    /// or `MAX_LIST_ITEMS` items end the paging with what was read.
    async fn list_all<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        base_query: Vec<(String, String)>,
        body: Option<Value>,
    ) -> Result<Vec<T>, GorgiasError> {
        Ok(self
            .list_until(method, path, base_query, body, |_: &[T]| false)
            .await?
            .items)
    }

    /// [`Client::list_all`] that stops after the first page for which `enough(page)` is true.
    /// Also says whether the list was read to its end, and which items did not decode.
    async fn list_until<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        base_query: Vec<(String, String)>,
        body: Option<Value>,
        enough: impl Fn(&[T]) -> bool,
    ) -> Result<Listed<T>, GorgiasError> {
        let mut pages = Pages::new(self.clone(), method, path, base_query, body);
        let mut out = Listed {
            items: Vec::new(),
            complete: false,
            skipped: Vec::new(),
        };
        while let Some(page) = pages.next_page().await? {
            let stop = enough(&page.items);
            out.items.extend(page.items);
            out.skipped.extend(page.skipped);
            if stop {
                break;
            }
        }
        out.complete = pages.complete();
        Ok(out)
    }

    /// An unsaved view (`PUT /api/views/0/items`), newest `order_by` first, one page at a time:
    /// the caller holds a page (at most 100 tickets) rather than the whole listing.
    pub fn ad_hoc_view_pages(&self, filters: &str, order_by: &str) -> Pages<Ticket> {
        let body = json!({"view": {"type": "ticket-list", "filters": filters, "order_by": order_by, "order_dir": "desc"}});
        Pages::new(
            self.clone(),
            Method::PUT,
            "/api/views/0/items",
            Vec::new(),
            Some(body),
        )
    }

    /// One logical request with the retries its policy allows. Returns the 2xx body.
    async fn call(
        &self,
        method: Method,
        path: &str,
        query: Vec<(String, String)>,
        body: Option<Value>,
        policy: RetryPolicy,
    ) -> Result<Vec<u8>, GorgiasError> {
        let backoff = ExponentialBuilder::default()
            .with_jitter()
            .with_min_delay(BACKOFF_BASE)
            .with_max_delay(BACKOFF_MAX)
            .with_max_times(self.inner.max_retries as usize);
        let (method, query, body) = (&method, &query, body.as_ref());
        (|| self.send_once(method, path, query, body))
            .retry(backoff)
            .when(|e| match policy {
                RetryPolicy::Transient => e.is_transient(),
                RetryPolicy::RateLimitOnly => matches!(e, GorgiasError::RateLimited { .. }),
            })
            // The pacer already holds every request until Retry-After has passed; no extra wait.
            .adjust(|e, d| match e {
                GorgiasError::RateLimited { .. } => d.map(|_| Duration::ZERO),
                _ => d,
            })
            .notify(|e, d| {
                bump(&self.inner.counters.retries);
                // debug, not warn: a request's retries are routine, and an outage is told once by
                // the daemon's pass-level warning (and its recovery line), not once per retry.
                tracing::debug!(%method, path, error = %e, wait_ms = d.as_millis() as u64, "retrying Gorgias request");
            })
            .await
    }

    /// One attempt: wait for the pacer, send, account, map the status.
    async fn send_once(
        &self,
        method: &Method,
        path: &str,
        query: &[(String, String)],
        body: Option<&Value>,
    ) -> Result<Vec<u8>, GorgiasError> {
        let inner = &*self.inner;
        let mut url = inner.base.join(path.trim_start_matches('/')).map_err(|e| {
            GorgiasError::InvalidConfig {
                detail: format!("path {path:?} does not fit the base URL: {e}"),
            }
        })?;
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        }
        let lane = Lane::of_request(method.as_str(), path, body).raised_by_scope();
        // Logged with the request: a request late for the budget and one late for local work
        // (a slow disk, a busy machine) look alike otherwise.
        let queued = std::time::Instant::now();
        inner.pacer.acquire_in(lane).await;
        let waited_ms = queued.elapsed().as_millis() as u64;
        let mut req = inner
            .http
            .request(method.clone(), url)
            .header(AUTHORIZATION, inner.auth.clone())
            .header(ACCEPT, "application/json");
        if let Some(b) = body {
            req = req.json(b);
        }
        bump(&inner.counters.requests);
        let started = std::time::Instant::now();
        let transport = |e: reqwest::Error| {
            bump(&inner.counters.transport_errors);
            crate::metrics::record_api_response(method.as_str(), path, "error");
            map_transport(method, path, e)
        };
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                let err = transport(e);
                debug!(%method, path, ?lane, waited_ms, ms = started.elapsed().as_millis() as u64, error = %err, "gorgias request failed");
                return Err(err);
            }
        };
        let status = resp.status();
        if let Some(v) = resp
            .headers()
            .get(CALL_LIMIT_HEADER)
            .and_then(|v| v.to_str().ok())
            && let Some(wait) = inner.pacer.observe_call_limit(v)
        {
            debug!(
                call_limit = v,
                wait_ms = wait.as_millis() as u64,
                "server bucket nearly full; holding off"
            );
        }
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| inner.pacer.retry_after(v));
        match status.as_u16() {
            200..=299 => bump(&inner.counters.status_2xx),
            400..=499 => bump(&inner.counters.status_4xx),
            500..=599 => bump(&inner.counters.status_5xx),
            _ => bump(&inner.counters.status_other),
        }
        // Capped and with a stall timeout: a 400 MB or a dribbling answer costs neither the
        // memory nor the minutes.
        let bytes = match crate::netbody::read_capped(resp, inner.max_body, inner.stall_timeout)
            .await
        {
            Ok(b) => b,
            Err(crate::netbody::BodyError::Transport(e)) => return Err(transport(e)),
            Err(crate::netbody::BodyError::Stalled { after }) => {
                bump(&inner.counters.transport_errors);
                crate::metrics::record_api_response(method.as_str(), path, "error");
                warn!(%method, path, status = status.as_u16(), ?after, "Gorgias response body stalled");
                return Err(GorgiasError::Stalled {
                    method: method.to_string(),
                    path: path.to_owned(),
                    after,
                });
            }
            Err(crate::netbody::BodyError::TooLarge { limit }) => {
                crate::metrics::record_api_response(method.as_str(), path, "too_large");
                warn!(%method, path, status = status.as_u16(), limit, "Gorgias response larger than gorgias.max_body; not read");
                return Err(GorgiasError::TooLarge {
                    method: method.to_string(),
                    path: path.to_owned(),
                    limit,
                });
            }
        };
        debug!(%method, path, status = status.as_u16(), ?lane, waited_ms, ms = started.elapsed().as_millis() as u64, "gorgias request");
        crate::metrics::record_api_response(method.as_str(), path, status.as_str());
        if status.is_success() {
            return Ok(bytes);
        }
        let (m, p) = (method.to_string(), path.to_owned());
        let code = status.as_u16();
        if code == 429 {
            // Gorgias always sends Retry-After on 429; without it, wait for one request to leak.
            let wait = retry_after
                .unwrap_or_else(|| inner.pacer.leak_interval().max(Duration::from_secs(1)));
            // Block before counting: whoever sees the count must also see the block.
            inner.pacer.block_for(inner.clock.real(wait));
            bump(&inner.counters.rate_limited);
            crate::metrics::record_rate_limited();
            return Err(GorgiasError::RateLimited {
                method: m,
                path: p,
                retry_after: wait,
            });
        }
        let msg = decode::error_message(code, &bytes);
        Err(match code {
            401 | 403 => GorgiasError::Unauthorized {
                method: m,
                path: p,
                status: code,
                msg,
            },
            404 => GorgiasError::NotFound {
                method: m,
                path: p,
                msg,
            },
            409 => GorgiasError::Conflict {
                method: m,
                path: p,
                msg,
            },
            500..=599 => GorgiasError::Server {
                method: m,
                path: p,
                status: code,
                msg,
            },
            _ => GorgiasError::BadRequest {
                method: m,
                path: p,
                status: code,
                msg,
            },
        })
    }
}

fn map_transport(method: &Method, path: &str, e: reqwest::Error) -> GorgiasError {
    let (method, path) = (method.to_string(), path.to_owned());
    if e.is_timeout() {
        return GorgiasError::Timeout { method, path };
    }
    GorgiasError::Transport {
        method,
        path,
        detail: crate::netbody::transport_detail(e),
    }
}

fn decode_json<T: DeserializeOwned>(
    method: &str,
    path: &str,
    bytes: &[u8],
) -> Result<T, GorgiasError> {
    serde_json::from_slice(bytes).map_err(|e| GorgiasError::Decode {
        method: method.to_owned(),
        path: path.to_owned(),
        detail: e.to_string(),
    })
}

/// The id, status and assignees of a ticket whose other fields do not decode.
fn lenient_ticket(bytes: &[u8]) -> Option<Ticket> {
    #[derive(serde::Deserialize)]
    struct Id {
        id: u64,
    }
    #[derive(serde::Deserialize)]
    struct Lenient {
        id: u64,
        #[serde(default)]
        status: Option<String>,
        #[serde(default)]
        assignee_user: Option<Id>,
        #[serde(default)]
        assignee_team: Option<Id>,
    }
    let l: Lenient = serde_json::from_slice(bytes).ok()?;
    Some(Ticket {
        id: l.id,
        status: l.status.unwrap_or_default(),
        assignee_user: l.assignee_user.map(|u| super::model::UserRef {
            id: u.id,
            ..Default::default()
        }),
        assignee_team: l.assignee_team.map(|t| Team {
            id: t.id,
            ..Default::default()
        }),
        ..Ticket::default()
    })
}

fn to_json<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).expect("request bodies are plain structs that always serialize")
}

/// Jittered exponential delay for the `attempt`-th retry (1-based).
fn backoff_delay(attempt: u32) -> Duration {
    let exp = BACKOFF_BASE
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(10))
        .min(BACKOFF_MAX);
    let jitter_ms = rand::random_range(0..=BACKOFF_BASE.as_millis() as u64);
    exp + Duration::from_millis(jitter_ms)
}

mod pages;
pub use pages::{ListPage, Pages};

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
