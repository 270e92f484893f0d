//! A Gorgias simulator: an axum HTTP server on loopback that answers the subset of the Gorgias
//! REST API described in `gorgias-api.md` with its real shapes and rules (Basic/Bearer auth,
//! cursor pages, views and their filter language, tickets, messages, tags, users, teams,
//! customers, account settings, integrations, events, the leaky-bucket rate limit and its
//! headers), plus fault injection. Tests, benchmarks and `perfectbot demo` drive it in-process
//! through [`Sim`] and talk to it over HTTP like the daemon does.
//!
//! It models Gorgias, not our client: a crate of its own, it cannot use perfectbot's models
//! (`perfectbot::gorgias::model`), and it rejects what Gorgias rejects. Submodules: `state` (data and rules), `server` (HTTP, routing, validation,
//! paging), `customers` (the Shopify data Gorgias holds on customers), `filter` (the view filter
//! language), `faults` (rate limit, faults, request log),
//! `webhooks` (delivery of HTTP integrations while served).

mod chat;
mod customers;
mod faults;
pub mod filter;
mod macros;
mod server;
pub mod site;
mod state;
#[cfg(test)]
mod tests;
mod webhooks;

pub use customers::{ShopifyFulfillment, ShopifyOrder};
pub use faults::{Delay, Faults, RequestRecord, SimStats};
pub use macros::{NewMacro, response_text_action};
pub use state::HoursShape;
pub use webhooks::WebhookDelivery;

use faults::Traffic;
use jiff::Timestamp;
use perfectbot_clock::{Clock, SystemClock};
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use state::{Behaviour, NewMessage, Party, State};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// How the simulator behaves where Gorgias's behaviour is configurable or unknown.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// The account's leaky bucket: (capacity, window). `None` disables the limit (and the
    /// `X-Gorgias-Account-Api-Call-Limit` header). Default 40 per 20 s.
    pub rate_limit: Option<(u32, Duration)>,
    /// An agent's public reply on a ticket with no assignee assigns it to that agent
    /// (gorgias-api.md marks this [guess]). Default on.
    pub assign_on_reply: bool,
    /// `GET /api/users?relationships=availability_status` adds `availability_status`. Default on.
    pub presence: bool,
    /// The shape of `GET /api/account/settings?type=business-hours`.
    pub business_hours_shape: HoursShape,
    /// Seed for fault injection and cursor salts.
    pub seed: u64,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            rate_limit: Some((40, Duration::from_secs(20))),
            assign_on_reply: true,
            presence: true,
            business_hours_shape: HoursShape::default(),
            seed: 0x5eed,
        }
    }
}

/// A user of the simulated account. The key is a test credential of a fake account, not a
/// secret, so it is a plain string (the Debug output hides it anyway).
#[derive(Clone, PartialEq, Eq)]
pub struct SimUser {
    /// User id.
    pub id: u64,
    /// Login email (the Basic auth user name).
    pub email: String,
    /// Display name.
    pub name: String,
    /// REST API key (the Basic auth password).
    pub api_key: String,
}

impl std::fmt::Debug for SimUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimUser")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("name", &self.name)
            .field("api_key", &"<redacted>")
            .finish()
    }
}

/// What [`Sim::seed_default`] created.
#[derive(Debug, Clone)]
pub struct Seeded {
    /// "PerfectBot", role `bot`: the daemon's user.
    pub bot: SimUser,
    /// Two human agents, role `agent`.
    pub agents: Vec<SimUser>,
    /// The "Support" team (both agents).
    pub team_id: u64,
    /// The seeded chat integration (customer chat messages carry it).
    pub chat_integration_id: u64,
}

/// A ticket to create in-process. The first message comes from the customer.
#[derive(Debug, Clone)]
pub struct NewTicket {
    /// Ticket channel, default `chat`.
    pub channel: String,
    /// The customer (from [`Sim::create_customer`]).
    pub customer_id: u64,
    /// The customer's first message.
    pub first_message: String,
    /// Initial assignee user.
    pub assignee_user: Option<u64>,
    /// Initial assignee team.
    pub assignee_team: Option<u64>,
    /// Initial tags, by name.
    pub tags: Vec<String>,
    /// How it arrived, default `gorgias_chat`.
    pub via: String,
    /// Subject.
    pub subject: Option<String>,
    /// The ticket's `language` as Gorgias detects it (e.g. "fr"); `None` shows as null.
    pub language: Option<String>,
}

impl Default for NewTicket {
    fn default() -> Self {
        NewTicket {
            channel: "chat".into(),
            customer_id: 0,
            first_message: String::new(),
            assignee_user: None,
            assignee_team: None,
            tags: Vec::new(),
            via: "gorgias_chat".into(),
            subject: None,
            language: None,
        }
    }
}

pub(crate) struct Inner {
    state: Mutex<State>,
    traffic: Mutex<Traffic>,
}

/// The simulator. Cheap to clone; every clone is the same account.
#[derive(Clone)]
pub struct Sim {
    inner: Arc<Inner>,
}

/// A running HTTP server for a [`Sim`].
pub struct SimServer {
    /// The bound address (port 0 resolved).
    pub addr: SocketAddr,
    stop: tokio_util::sync::CancellationToken,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl SimServer {
    /// `http://127.0.0.1:PORT`, the base URL to give a client (it appends `/api/...`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stop accepting, let in-flight requests finish (bounded to 5 s), then return.
    pub async fn shutdown(mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Who types a message into a ticket.
#[derive(Clone, Copy)]
enum Author<'a> {
    /// The customer, through `via` (how the ticket reached the helpdesk).
    Customer { via: &'a str },
    /// An agent (or the account's rule bot): a public reply, or an internal note; `rule_id`
    /// when a Gorgias Rule sent it.
    Agent {
        user_id: u64,
        note: bool,
        rule_id: Option<u64>,
    },
}

fn random_key(rng: &mut rand::rngs::StdRng, len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..len)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

impl Sim {
    /// A simulator with an empty account (only the chat integration) and the system clock.
    pub fn new(opts: SimOptions) -> Sim {
        Sim::with_clock(opts, Arc::new(SystemClock))
    }

    /// A simulator whose datetimes come from `clock` (e.g. a `ManualClock` shared with the
    /// daemon under test). The bucket leaks by the clock's speed (a `FastClock` speeds it up;
    /// a manual clock does not stop it); injected delays use real time.
    pub fn with_clock(opts: SimOptions, clock: Arc<dyn Clock>) -> Sim {
        let salt = rand::rngs::StdRng::seed_from_u64(opts.seed ^ 0xc0ffee).random::<u64>();
        let behaviour = Behaviour {
            assign_on_reply: opts.assign_on_reply,
            presence: opts.presence,
            hours_shape: opts.business_hours_shape,
            naive_datetimes: false,
        };
        let speed = clock.speed();
        Sim {
            inner: Arc::new(Inner {
                state: Mutex::new(State::new(clock, behaviour, salt)),
                traffic: Mutex::new(Traffic::new(opts.seed, opts.rate_limit, speed)),
            }),
        }
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        // A poisoned lock means a test panicked mid-change; the data is still usable.
        self.inner
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn traffic(&self) -> MutexGuard<'_, Traffic> {
        self.inner
            .traffic
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn now_peek(&self) -> Timestamp {
        self.state().clock.now()
    }

    pub(crate) fn authenticate(&self, headers: &axum::http::HeaderMap) -> Option<u64> {
        server::authenticate(&self.state(), headers)
    }

    /// Bind `addr` (port 0 picks a free port), serve in a spawned task, return the handle.
    pub async fn serve(&self, addr: SocketAddr) -> std::io::Result<SimServer> {
        self.serve_app(addr, server::router(self.clone())).await
    }

    /// [`Sim::serve`] plus the customer chat page at `/chat` (simulator-only routes, outside
    /// `/api`): conversations start as chat tickets assigned to `seeded.bot`, and the page's
    /// agent is `seeded.agents[0]`.
    pub async fn serve_with_chat(
        &self,
        addr: SocketAddr,
        seeded: &Seeded,
    ) -> std::io::Result<SimServer> {
        let setup = chat::ChatSetup::from_seeded(seeded).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the chat page needs a seeded account with an agent",
            )
        })?;
        let app = chat::router(self.clone(), setup).merge(server::router(self.clone()));
        self.serve_app(addr, app).await
    }

    async fn serve_app(&self, addr: SocketAddr, app: axum::Router) -> std::io::Result<SimServer> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let stop = tokio_util::sync::CancellationToken::new();
        tokio::spawn(webhooks::run(self.clone(), stop.clone()));
        let stopped = stop.clone();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move { stopped.cancelled().await })
                .await
        });
        Ok(SimServer {
            addr,
            stop,
            task: Some(task),
        })
    }

    /// Seed the usual account: the bot user "PerfectBot" (role `bot`), two agents (role `agent`),
    /// the "Support" team with both agents, business hours Mon-Fri 09:00-18:00 Europe/Paris.
    pub fn seed_default(&self) -> Seeded {
        let bot = self.add_user("PerfectBot", "bot@perfectbot.test", "bot");
        let a1 = self.add_user("Alice Martin", "alice@shop.test", "agent");
        let a2 = self.add_user("Bruno Petit", "bruno@shop.test", "agent");
        let team_id = self.add_team("Support", &[a1.id, a2.id]);
        self.set_business_hours(json!({
            "timezone": "Europe/Paris",
            "business_hours": [{"days": "1,2,3,4,5", "from_time": "09:00", "to_time": "18:00"}],
        }));
        Seeded {
            bot,
            agents: vec![a1, a2],
            team_id,
            chat_integration_id: self.state().chat_integration_id,
        }
    }

    /// Add an active user with a fresh API key (deterministic from the seed).
    pub fn add_user(&self, name: &str, email: &str, role: &str) -> SimUser {
        let key = {
            let st = self.state();
            let n = st.users.len() as u64;
            let mut rng = rand::rngs::StdRng::seed_from_u64(st.cursor_salt ^ (n + 1));
            random_key(&mut rng, 40)
        };
        let id = self.state().add_user(name, email, role, key.clone());
        SimUser {
            id,
            email: email.into(),
            name: name.into(),
            api_key: key,
        }
    }

    /// Register an OAuth-style bearer token for a user.
    pub fn add_token(&self, user_id: u64, token: &str) {
        if let Some(u) = self.state().users.get_mut(&user_id) {
            u.tokens.push(token.into());
        }
    }

    /// Activate or deactivate a user (a deactivated user's key answers 401).
    pub fn set_user_active(&self, user_id: u64, active: bool) {
        if let Some(u) = self.state().users.get_mut(&user_id) {
            u.active = active;
        }
    }

    /// Add a team; returns its id.
    pub fn add_team(&self, name: &str, members: &[u64]) -> u64 {
        let mut st = self.state();
        let id = st.id("team");
        let created = st.now();
        st.teams.insert(
            id,
            state::Team {
                id,
                name: name.into(),
                members: members.to_vec(),
                created,
            },
        );
        id
    }

    /// Set a user's presence (`online`, `offline`, `busy`); users start `offline`.
    pub fn set_availability(&self, user_id: u64, status: &str) {
        if let Some(u) = self.state().users.get_mut(&user_id) {
            u.availability = status.into();
        }
    }

    /// Replace the business-hours setting's `data` object
    /// (`{"timezone":..,"business_hours":[{"days":"1,2,3","from_time":"09:00","to_time":"18:00"}]}`).
    pub fn set_business_hours(&self, setting: Value) {
        self.state().business_hours = setting;
    }

    /// Change the business-hours answer shape at run time.
    pub fn set_business_hours_shape(&self, shape: HoursShape) {
        self.state().behaviour.hours_shape = shape;
    }

    /// Emit message datetimes and the ticket's `last_*message_datetime` without an offset
    /// (`2021-01-07T13:00:00.123456`), as some Gorgias payloads do.
    pub fn set_naive_datetimes(&self, on: bool) {
        self.state().behaviour.naive_datetimes = on;
    }

    /// Switch assign-on-reply at run time.
    pub fn set_assign_on_reply(&self, on: bool) {
        self.state().behaviour.assign_on_reply = on;
    }

    /// Create a customer; returns its id.
    pub fn create_customer(&self, name: &str, email: Option<&str>) -> u64 {
        self.state().add_customer(name, email)
    }

    /// Create a ticket with the customer's first message; returns the ticket id.
    ///
    /// Panics if the customer does not exist (a test setup mistake).
    pub fn create_ticket(&self, t: NewTicket) -> u64 {
        let id = {
            let mut st = self.state();
            assert!(
                st.customers.contains_key(&t.customer_id),
                "create_ticket: unknown customer {}",
                t.customer_id
            );
            let id = st.create_ticket(
                &t.channel,
                &t.via,
                t.customer_id,
                t.subject.clone(),
                t.assignee_user,
                t.assignee_team,
                &t.tags,
            );
            // Set under the same lock, before the first message: no poll sees it without.
            if let Some(ticket) = st.tickets.get_mut(&id) {
                ticket.language = t.language.clone();
            }
            id
        };
        self.typed_message(id, &t.first_message, Author::Customer { via: &t.via });
        id
    }

    /// The customer writes on the ticket (reopens it if closed); returns the message id.
    ///
    /// Panics if the ticket does not exist.
    pub fn customer_says(&self, ticket_id: u64, text: &str) -> u64 {
        let via = self
            .state()
            .tickets
            .get(&ticket_id)
            .map(|t| t.via.clone())
            .unwrap_or_else(|| panic!("unknown ticket {ticket_id}"));
        let via = if via == "helpdesk" || via == "rule" {
            "gorgias_chat".to_string()
        } else {
            via
        };
        self.typed_message(ticket_id, text, Author::Customer { via: &via })
    }

    /// A message typed into the ticket by `author`: a plain-text body (its HTML an escaped
    /// paragraph), no subject, macros or sending time.
    fn typed_message(&self, ticket_id: u64, text: &str, author: Author<'_>) -> u64 {
        let mut st = self.state();
        let (customer, channel) = match st.tickets.get(&ticket_id) {
            Some(t) => (t.customer_id, t.channel.clone()),
            None => panic!("unknown ticket {ticket_id}"),
        };
        let (source, integration_id) = match author {
            Author::Agent { note: true, .. } => (
                json!({"type": "internal-note", "from": null, "to": []}),
                None,
            ),
            Author::Agent { .. } => st.chat_source(ticket_id, false),
            Author::Customer { .. } => st.chat_source(ticket_id, true),
        };
        let (channel, via, sender, receiver, rule_id) = match author {
            Author::Customer { via } => (
                channel,
                via.to_string(),
                Party::Customer(customer),
                None,
                None,
            ),
            Author::Agent {
                user_id,
                note,
                rule_id,
            } => (
                if note {
                    "internal-note".into()
                } else {
                    channel
                },
                if rule_id.is_some() {
                    "rule"
                } else {
                    "helpdesk"
                }
                .into(),
                Party::User(user_id),
                (!note).then_some(Party::Customer(customer)),
                rule_id,
            ),
        };
        let m = NewMessage {
            channel,
            via,
            public: !matches!(author, Author::Agent { note: true, .. }),
            from_agent: matches!(author, Author::Agent { .. }),
            sender,
            receiver,
            source: Some(source),
            integration_id,
            rule_id,
            macros: Vec::new(),
            body_text: Some(text.into()),
            body_html: Some(format!("<p>{}</p>", html_escape(text))),
            subject: None,
            external_id: None,
            sent: None,
        };
        st.add_message(ticket_id, m)
            .unwrap_or_else(|_| panic!("unknown ticket {ticket_id}"))
    }

    /// A human agent replies publicly from the helpdesk; returns the message id.
    pub fn agent_says(&self, ticket_id: u64, user_id: u64, text: &str) -> u64 {
        self.typed_message(
            ticket_id,
            text,
            Author::Agent {
                user_id,
                note: false,
                rule_id: None,
            },
        )
    }

    /// A human agent writes an internal note; returns the message id.
    pub fn agent_note(&self, ticket_id: u64, user_id: u64, text: &str) -> u64 {
        self.typed_message(
            ticket_id,
            text,
            Author::Agent {
                user_id,
                note: true,
                rule_id: None,
            },
        )
    }

    /// A Gorgias Rule posts a public message (`via: "rule"`, `rule_id` set, `from_agent: true`),
    /// sent as the account's "Gorgias Bot" system user (created on first use).
    pub fn rule_says(&self, ticket_id: u64, rule_id: u64, text: &str) -> u64 {
        let bot = {
            let st = self.state();
            st.users
                .values()
                .find(|u| u.email == "gorgias-bot@gorgias.invalid")
                .map(|u| u.id)
        };
        let bot = bot.unwrap_or_else(|| {
            self.state().add_user(
                "Gorgias Bot",
                "gorgias-bot@gorgias.invalid",
                "bot",
                String::new(),
            )
        });
        self.typed_message(
            ticket_id,
            text,
            Author::Agent {
                user_id: bot,
                note: false,
                rule_id: Some(rule_id),
            },
        )
    }

    /// Set the assignees (moves `updated_datetime`).
    pub fn assign(&self, ticket_id: u64, user_id: Option<u64>, team_id: Option<u64>) {
        let mut st = self.state();
        if let Some(t) = st.tickets.get_mut(&ticket_id) {
            t.assignee_user = user_id;
            t.assignee_team = team_id;
            st.touch(ticket_id);
        }
    }

    /// Add tags by name (created on first use).
    pub fn add_tags(&self, ticket_id: u64, names: &[&str]) {
        let mut st = self.state();
        if !st.tickets.contains_key(&ticket_id) {
            return;
        }
        let ids: Vec<u64> = names.iter().map(|n| st.tag_id(n)).collect();
        let mut changed = false;
        if let Some(t) = st.tickets.get_mut(&ticket_id) {
            for id in ids {
                if !t.tags.contains(&id) {
                    t.tags.push(id);
                    changed = true;
                }
            }
        }
        if changed {
            st.touch(ticket_id);
        }
    }

    /// Remove tags by name.
    pub fn remove_tags(&self, ticket_id: u64, names: &[&str]) {
        let mut st = self.state();
        let ids: Vec<u64> = st
            .tags
            .values()
            .filter(|g| names.contains(&g.name.as_str()))
            .map(|g| g.id)
            .collect();
        let mut changed = false;
        if let Some(t) = st.tickets.get_mut(&ticket_id) {
            let before = t.tags.len();
            t.tags.retain(|g| !ids.contains(g));
            changed = t.tags.len() != before;
        }
        if changed {
            st.touch(ticket_id);
        }
    }

    /// Set the status, `open` or `closed`.
    ///
    /// Panics on any other status (Gorgias has only these two).
    pub fn set_status(&self, ticket_id: u64, status: &str) {
        assert!(
            status == "open" || status == "closed",
            "set_status: Gorgias statuses are open|closed, not {status:?}"
        );
        let mut st = self.state();
        let now = st.now();
        if let Some(t) = st.tickets.get_mut(&ticket_id) {
            if status == "closed" && t.status != "closed" {
                t.closed = Some(now);
            }
            if status == "open" {
                t.closed = None;
                t.snooze = None;
            }
            t.status = status.into();
            st.touch(ticket_id);
        }
    }

    /// Move a ticket to the trash (it leaves views and default ticket lists).
    pub fn trash(&self, ticket_id: u64) {
        let mut st = self.state();
        let now = st.now();
        if let Some(t) = st.tickets.get_mut(&ticket_id) {
            t.trashed = Some(now);
            st.touch(ticket_id);
        }
    }

    /// The full ticket exactly as `GET /api/tickets/{id}` returns it.
    pub fn ticket_json(&self, id: u64) -> Option<Value> {
        let st = self.state();
        st.tickets.get(&id).map(|t| st.ticket_json(t, true))
    }

    /// Every ticket id, ascending.
    pub fn ticket_ids(&self) -> Vec<u64> {
        self.state().tickets.keys().copied().collect()
    }

    /// A customer as `GET /api/customers/{id}` returns it.
    pub fn customer_json(&self, id: u64) -> Option<Value> {
        let st = self.state();
        st.customers.get(&id).map(|c| st.customer_json(c))
    }

    /// Every saved view, as the API returns them.
    pub fn views_json(&self) -> Vec<Value> {
        let st = self.state();
        st.views.values().map(|v| st.view_json(v)).collect()
    }

    /// Every integration (the seeded chat one included), as the API returns them.
    pub fn integrations_json(&self) -> Vec<Value> {
        let st = self.state();
        st.integrations
            .values()
            .map(|i| st.integration_json(i))
            .collect()
    }

    /// Replace the fault settings (a `storm_for` starts counting now).
    pub fn set_faults(&self, f: Faults) {
        self.traffic().set_faults(f);
    }

    /// The request log, oldest first (bounded to the last 10 000 requests).
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.traffic().log.iter().cloned().collect()
    }

    /// Webhooks sent so far (bounded to the last 10 000), oldest first.
    pub fn webhook_deliveries(&self) -> Vec<WebhookDelivery> {
        self.traffic().webhooks.iter().cloned().collect()
    }

    /// Counters since start.
    pub fn stats(&self) -> SimStats {
        self.traffic().stats.clone()
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A served simulator seeded with the default users and team, business hours always open and
/// the first agent online: what the demo, the benchmarks and the tests run against.
pub async fn start_seeded(opts: SimOptions) -> std::io::Result<(Sim, SimServer, Seeded)> {
    start_seeded_on(opts, Arc::new(SystemClock)).await
}

/// [`start_seeded`] on `clock` (the bench's `FastClock`).
pub async fn start_seeded_on(
    opts: SimOptions,
    clock: Arc<dyn Clock>,
) -> std::io::Result<(Sim, SimServer, Seeded)> {
    let sim = Sim::with_clock(opts, clock);
    let seeded = sim.seed_default();
    sim.set_business_hours(serde_json::json!({"timezone": "Europe/Paris", "business_hours": []}));
    sim.set_availability(seeded.agents[0].id, "online");
    let server = sim.serve(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    Ok((sim, server, seeded))
}

/// `perfectbot sim --listen ADDR`: seed the default account, serve the API and the customer chat
/// page, print the page's URL, the credentials and a ready config, run until ctrl-c.
pub async fn run_cli(listen: SocketAddr) -> anyhow::Result<()> {
    use anyhow::Context;
    let sim = Sim::new(SimOptions::default());
    let seeded = sim.seed_default();
    let server = sim
        .serve_with_chat(listen, &seeded)
        .await
        .with_context(|| format!("binding the simulator to {listen}"))?;
    let macros = sim.seed_demo_macros();
    let site_server = site::Site::help_centre()
        .serve_on(SocketAddr::new(listen.ip(), 0))
        .await
        .context("serving the help-centre website")?;
    // This is the point of the command: the credentials of a throwaway fake account.
    print!("{}", cli_banner(&server.base_url(), &seeded));
    println!(
        "Knowledge the shop already keeps:\n  macros     {} (GET /api/macros; try [kb] macros = true)\n  help site  {} (try [kb] sites = [\"{}\"])",
        macros.len(),
        site_server.base_url(),
        site_server.sitemap_url()
    );
    tokio::signal::ctrl_c()
        .await
        .context("waiting for ctrl-c")?;
    server.shutdown().await;
    drop(site_server);
    Ok(())
}

/// What `perfectbot sim` prints: where the chat page is, the account, a config for the bot and
/// how to create a ticket from a script.
pub fn cli_banner(base_url: &str, seeded: &Seeded) -> String {
    let mut out = String::new();
    out.push_str("Gorgias simulator running\n");
    out.push_str(&format!(
        "  chat page  {base_url}/chat   (play the customer)\n"
    ));
    out.push_str(&format!("  base_url   {base_url}\n"));
    out.push_str(&format!(
        "  bot        id={} email={} api_key={}\n",
        seeded.bot.id, seeded.bot.email, seeded.bot.api_key
    ));
    for a in &seeded.agents {
        out.push_str(&format!(
            "  agent      id={} email={} api_key={} ({})\n",
            a.id, a.email, a.api_key, a.name
        ));
    }
    out.push_str(&format!("  team       id={} Support\n", seeded.team_id));
    out.push_str("  rate limit 40 requests / 20 s\n\n");
    out.push_str("A config for the bot (save it as sim.toml next to a kb/ directory of knowledge files):\n\n");
    out.push_str(&format!(
        "[gorgias]\nbase_url = \"{base_url}\"\nemail = \"{}\"\n\n[ledger]\npath = \"sim-ledger.db\"\n\n[kb]\ndir = \"kb\"\n\n",
        seeded.bot.email
    ));
    out.push_str(&format!(
        "then: PERFECTBOT_GORGIAS_API_KEY={} perfectbot run --config sim.toml\n",
        seeded.bot.api_key
    ));
    out.push_str(
        "(or run `perfectbot try`: this simulator and the bot together, ready to chat)\n\n",
    );
    out.push_str("Create a chat ticket assigned to the bot from a script:\n");
    out.push_str(&format!(
        "  curl -s -H 'Content-Type: application/json' \\\n    -d '{{\"text\":\"How long does shipping take?\",\"language\":\"en\",\"email\":\"ana@example.org\"}}' \\\n    {base_url}/chat/api/conversations\n"
    ));
    out.push_str("Press ctrl-c to stop.\n");
    out
}
