//! The wiring: from a validated config to a [`Daemon`] (the Gorgias identity check, the ledger
//! and its lock, the responder, the knowledge base and its sources, business hours, the
//! policy), and the pieces other commands build the same way (`client_for`, `policy_for`).

use super::{Daemon, passes::Listing};
use crate::clock::Clock;
use crate::config::{Config, HoursSource, Mode};
use crate::engine::Policy;
use crate::executor::Executor;
use crate::gorgias::{Auth, Client, ClientConfig, GorgiasError};
use crate::hours::BusinessHours;
use crate::ledger::{Ledger, LedgerLock};
use crate::responder::Responder;
use anyhow::Context as _;
use jiff::SignedDuration;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, broadcast};

/// What [`Daemon::builder`] returns: the config and clock, plus what the config does not say.
pub struct DaemonBuilder {
    config: Config,
    clock: Arc<dyn Clock>,
    responder: Option<Arc<dyn Responder>>,
    kb_reload: Option<Arc<Notify>>,
}

impl DaemonBuilder {
    pub(super) fn new(config: Config, clock: Arc<dyn Clock>) -> DaemonBuilder {
        DaemonBuilder {
            config,
            clock,
            responder: None,
            kb_reload: None,
        }
    }

    /// Answer with this responder instead of the configured one (tests).
    pub fn responder(mut self, responder: Arc<dyn Responder>) -> DaemonBuilder {
        self.responder = Some(responder);
        self
    }

    /// Re-read the knowledge files when this is notified (main's SIGHUP handler); by default
    /// only [`Daemon::kb_reload`] does.
    pub fn kb_reload(mut self, kb_reload: Arc<Notify>) -> DaemonBuilder {
        self.kb_reload = Some(kb_reload);
        self
    }

    /// Build everything from the config: the Gorgias identity check, the ledger, the knowledge
    /// base, business hours. Fails with a message naming what is wrong.
    pub async fn build(self) -> anyhow::Result<Daemon> {
        let DaemonBuilder {
            config,
            clock,
            responder,
            kb_reload,
        } = self;
        let client = client_on(&config, clock.clone())?;
        let bot_user_id = bot_user_id(&config, &client).await?;
        // Before the ledger is touched: a second daemon on it would redo the first's work.
        let ledger_lock = LedgerLock::acquire(&config.ledger.path)?;
        let ledger = Ledger::open(&config.ledger.path)
            .await
            .with_context(|| format!("opening the ledger {}", config.ledger.path.display()))?;
        switch_mode(&ledger, config.bot.mode).await?;
        let knowledge = Arc::new(
            crate::knowledge::LiveKb::load(&config.kb.dir, &config.kb.note_prefix)
                .with_context(|| {
                    format!(
                        "loading the knowledge base from {}",
                        config.kb.dir.display()
                    )
                })?
                // The index lives in the ledger file (see `knowledge`'s module doc).
                .index_in(crate::responder::kb::KbStore::for_ledger(
                    &config.ledger.path,
                ))
                .embed_with(crate::responder::build_embedder(&config)?),
        );
        let responder = match responder {
            Some(r) => {
                knowledge
                    .load_learned(&ledger, &*r)
                    .await
                    .context("reading the knowledge learned from notes in the ledger")?;
                r
            }
            // One build, in the ledger (whose vector cache makes a restart embed nothing new):
            // the responder starts on it rather than on an in-memory index of its own.
            None => {
                let kb = knowledge.first_index(&ledger).await.with_context(|| {
                    format!("indexing the knowledge base of {}", config.kb.dir.display())
                })?;
                crate::responder::build_responder_with(&config, kb)?
            }
        };
        let sources = crate::sources::Sources::from_config(&config.kb, client.clone())
            .context("setting up the knowledge sources (kb.macros, kb.sites)")?
            .map(Arc::new);
        if let Some(sources) = &sources {
            let n = sources
                .load_stored(&ledger, &knowledge, &*responder)
                .await
                .context("reading the knowledge sources' last entries from the ledger")?;
            tracing::info!(
                sources = sources.names().len(),
                entries = n,
                "knowledge sources configured; their last entries are in use until the first refresh"
            );
        }
        let hours = match config.business_hours.source {
            HoursSource::Config => config
                .business_hours
                .hours
                .clone()
                .unwrap_or_else(BusinessHours::always_open),
            HoursSource::Gorgias => match client.business_hours().await {
                Ok(Some(s)) => {
                    BusinessHours::from_gorgias(&s, config.business_hours.holidays.clone())
                        .map_err(|e| anyhow::anyhow!("Gorgias business-hours setting: {e}"))?
                }
                Ok(None) => BusinessHours::always_open(),
                // An account without the setting (or an API that does not expose it) means no
                // hours are set: Gorgias treats that as always open.
                Err(
                    e @ (GorgiasError::NotFound { .. }
                    | GorgiasError::Decode { .. }
                    | GorgiasError::BadRequest { .. }),
                ) => {
                    tracing::warn!(error = %e, "no readable business-hours setting; treating hours as always open");
                    BusinessHours::always_open()
                }
                Err(e) => return Err(e).context("reading the business-hours setting from Gorgias"),
            },
        };
        let policy = policy_for(&config, bot_user_id);
        let executor = Executor {
            client: client.clone(),
            ledger: ledger.clone(),
            bot_user_id,
            clock: clock.clone(),
        };
        let (notices, _) = broadcast::channel(1024);
        let view_filter =
            format!("eq(ticket.status, 'open') && eq(ticket.assignee_user.id, {bot_user_id})");
        let responder_timeout = config
            .timing
            .answer_deadline
            .min(Duration::from_secs(30))
            .max(Duration::from_secs(1));
        let concurrency = config.openai.as_ref().map_or(4, |o| o.concurrency);
        let inflight = crate::inflight::InFlight::new(concurrency, responder_timeout);
        let health = Arc::new(crate::health::Health::new(
            clock.real(config.timing.poll_interval),
        ));
        Ok(Daemon {
            config,
            client,
            ledger,
            executor,
            responder,
            policy,
            hours,
            clock,
            poke: Arc::new(Notify::new()),
            health,
            knowledge,
            kb_reload: kb_reload.unwrap_or_default(),
            sources,
            sources_reload: Arc::new(Notify::new()),
            notices,
            presence: crate::gorgias::presence::Presence::default(),
            listing: Mutex::new(Listing::default()),
            view_filter,
            ledger_lock: Mutex::new(Some(ledger_lock)),
            close_timers: crate::clock::CloseTimers::default(),
            inflight,
        })
    }
}

/// The bot's Gorgias user id: `bot.user_id` if set, else the user owning the API key
/// (`GET /api/users/0`), with an error that says what to check when Gorgias refuses.
pub async fn bot_user_id(config: &Config, client: &Client) -> anyhow::Result<u64> {
    match config.bot.user_id {
        Some(id) => Ok(id),
        None => Ok(client
            .current_user()
            .await
            .map_err(|e| identity_error(e, &config.gorgias.base_url))?
            .id),
    }
}

/// Remember the mode in the ledger; going from shadow to live forgets the shadow rows, which
/// say "answered" or "closed" for tickets whose customers never saw a reply. The live bot then
/// meets each ticket afresh and answers what no one has answered. (Live to shadow needs nothing:
/// live rows are true.)
async fn switch_mode(ledger: &Ledger, mode: Mode) -> anyhow::Result<()> {
    let now = match mode {
        Mode::Live => "live",
        Mode::Shadow => "shadow",
    };
    let before = ledger.recorded_mode().await?;
    if before.as_deref() == Some("shadow") && mode == Mode::Live {
        let n = ledger.forget_tickets().await?;
        tracing::info!(
            rows = n,
            "switched from shadow mode to live: the bot starts afresh on every ticket"
        );
    }
    if before.as_deref() != Some(now) {
        ledger.record_mode(now).await?;
    }
    Ok(())
}

/// The Gorgias client for this config.
pub fn client_for(config: &Config) -> anyhow::Result<Client> {
    client_on(config, Arc::new(crate::clock::SystemClock))
}

/// The Gorgias client for this config, pacing by `clock`'s seconds (see [`Clock::speed`]).
pub fn client_on(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<Client> {
    let g = &config.gorgias;
    let auth = if g.bearer {
        Auth::Bearer(g.api_key.clone())
    } else {
        Auth::Basic {
            email: g.email.clone(),
            api_key: g.api_key.clone(),
        }
    };
    let mut cc = ClientConfig::new(g.base_url.clone(), auth);
    cc.requests_per_window = g.requests_per_window;
    cc.window = g.window;
    cc.timeout = g.timeout;
    cc.connect_timeout = g.connect_timeout;
    cc.max_body = g.max_body;
    cc.stall_timeout = g.stall_timeout;
    cc.clock = clock;
    Client::new(cc).context("building the Gorgias client")
}

/// The engine's policy for this config.
pub fn policy_for(config: &Config, bot_user_id: u64) -> Policy {
    let signed = |d: Duration| SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX);
    Policy {
        bot_user_id,
        channels: config.bot.channels.clone(),
        extra_opt_out_tags: config.bot.opt_out_tags.clone(),
        tags: config.tags.clone(),
        close_after: signed(config.timing.close_after),
        email_wait: signed(config.timing.email_wait),
        answer_deadline: signed(config.timing.answer_deadline),
        collect_email: config.handover.collect_email,
        assign_team_id: config.handover.assign_team_id,
        assign_user_id: config.handover.assign_user_id,
        messages: config.handover.messages.clone(),
        intent: crate::responder::intent_config(config),
        orders: crate::orders::OrdersPolicy {
            enabled: config.orders.enabled,
            recent_window: signed(config.orders.recent_window),
            late_after: signed(config.orders.late_after),
            number_wait: signed(config.orders.number_wait),
            messages: config.orders.messages.clone(),
        },
    }
}

/// The start-up identity check's failure, with the next step that fits it: a refused or
/// timed-out connection is about the address or the network, not the key.
fn identity_error(e: crate::gorgias::GorgiasError, base_url: &str) -> anyhow::Error {
    use crate::gorgias::GorgiasError as E;
    let hint = match &e {
        E::Unauthorized { .. } => {
            "Gorgias refused the credentials: check gorgias.email and the API key (and that the user is active)".to_string()
        }
        E::Transport { .. } | E::Timeout { .. } => format!(
            "cannot reach Gorgias at {base_url}: check gorgias.base_url, DNS and the network (the API key was not tried)"
        ),
        E::NotFound { .. } => format!(
            "{base_url} answered 404 for /api/users/0: is gorgias.base_url your account's address (https://STORE.gorgias.com)?"
        ),
        E::Decode { .. } => format!(
            "{base_url} did not answer like the Gorgias API: is gorgias.base_url right?"
        ),
        _ => "Gorgias answered with an error; retry later".to_string(),
    };
    anyhow::Error::new(e).context(format!("identity check: GET /api/users/0 failed. {hint}"))
}
