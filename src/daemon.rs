//! The running bot. One worker does all ticket work serially, so a poll and a sweep never act
//! on the same ticket at once; the cron ticker, the deadline timer and webhooks only signal it.
//! Responder calls are the exception: they run concurrently off the worker
//! ([`crate::inflight`]), and the worker decides a ticket again when its answer arrives.
//!
//! From a poll to a close, by file:
//! - `daemon/wiring.rs`: [`Daemon::builder`] builds everything from the config (the Gorgias
//!   identity check, the ledger and its lock, the knowledge base, business hours, the policy).
//! - `daemon/worker.rs`: [`Daemon::run_until_cancelled`], the loop: it waits for the poll
//!   tick, a webhook's poke (the wake-up policy), the cron sweep, the earliest close deadline
//!   or a finished responder call, and runs one pass at a time; health, metrics, systemd.
//! - `daemon/passes.rs`: the passes. [`Daemon::poll_once`] lists the bot's open tickets and
//!   picks those that changed; [`Daemon::sweep_once`] picks the closes and waits that are due.
//! - `daemon/closes_first.rs`: closes that fall due during a long listing are done meanwhile.
//! - `daemon/ticket.rs`: one ticket: read it fresh, resume unfinished writes, learn its `#kb`
//!   notes, ask for orders or an answer, [`crate::engine::decide`], then
//!   [`crate::executor::Executor::execute`] writes the plan (the idle close is one such plan).
//! - `daemon/unreadable.rs`: tickets Gorgias sends in a shape we cannot decode.
//! - `daemon/supervise.rs`: the process's long-lived tasks; one that dies stops them all.
//!
//! Around it: agent presence is [`crate::gorgias::presence`], the `#kb` scan of handed-over
//! tickets is [`crate::knowledge`], the daemon's own meta (last poll, last error) is
//! `ledger/meta.rs`, `/healthz` reads [`crate::health`].
//!
//! `poll_once` and `sweep_once` are callable directly (tests, the demo); `run_until_cancelled`
//! drives them.

use crate::clock::Clock;
use crate::config::{Config, Mode};
use crate::engine::{Policy, Rule};
use crate::executor::{ExecError, Executor};
use crate::gorgias::{Client, GorgiasError};
use crate::health::Health;
use crate::hours::BusinessHours;
use crate::ledger::{Ledger, LedgerError, LedgerLock, TicketState};
use crate::responder::Responder;
use jiff::Timestamp;
use std::sync::{Arc, Mutex};
use tokio::sync::{Notify, broadcast};

mod closes_first;
mod passes;
mod supervise;
mod ticket;
mod unreadable;
mod wiring;
mod worker;

pub use crate::responder::intent_config;
pub use passes::{ESCALATED_READS_PER_SCAN, FULL_LISTING_EVERY};
pub use supervise::Supervisor;
pub use wiring::{DaemonBuilder, bot_user_id, client_for, client_on, policy_for};
pub use worker::{BUSY_POKE_GAP, POKE_GAP, RETENTION};

/// One decision taken, for the demo's timeline and for tests that watch the daemon.
#[derive(Debug, Clone)]
pub struct Notice {
    pub at: Timestamp,
    pub ticket_id: u64,
    pub rule: Rule,
    pub state: TicketState,
    pub reason: Option<crate::ledger::StateReason>,
    /// What was written, in words ("replied: ...", "tagged ...", "closed").
    pub actions: Vec<String>,
}

/// Why a ticket was looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cause {
    Poll,
    Sweep,
    /// Its responder call finished.
    Answer,
}

/// Counters of one poll or sweep.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PassStats {
    /// Tickets listed (poll) or due (sweep).
    pub seen: usize,
    /// Tickets read in full and decided.
    pub decided: usize,
    /// Tickets whose processing failed (logged; retried later).
    pub failed: usize,
}

/// Why a whole pass failed.
#[derive(Debug, thiserror::Error)]
pub enum PassError {
    /// Listing failed; the next pass tries again.
    #[error(transparent)]
    Gorgias(#[from] GorgiasError),
    /// The ledger cannot be written: fatal.
    #[error("ledger: {0}")]
    Ledger(String),
}

impl From<LedgerError> for PassError {
    fn from(e: LedgerError) -> Self {
        PassError::Ledger(e.to_string())
    }
}

/// Why one ticket's processing failed (the others go on).
#[derive(Debug, thiserror::Error)]
enum ProcessError {
    #[error(transparent)]
    Gorgias(#[from] GorgiasError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Exec(#[from] ExecError),
}

/// The running bot: built by [`Daemon::builder`] (or [`Daemon::build`]), then read-only from
/// outside; its parts are lent out through the accessors below.
pub struct Daemon {
    config: Config,
    client: Client,
    ledger: Ledger,
    executor: Executor,
    responder: Arc<dyn Responder>,
    policy: Policy,
    hours: BusinessHours,
    clock: Arc<dyn Clock>,
    /// Wakes the worker for an early poll (webhook hint, tests).
    poke: Arc<Notify>,
    /// Are polls succeeding? Read by `/healthz`.
    health: Arc<Health>,
    /// The knowledge files' and learned notes' entries behind the responder's index.
    knowledge: Arc<crate::knowledge::LiveKb>,
    /// Wakes the worker to re-read the knowledge files (SIGHUP).
    kb_reload: Arc<Notify>,
    /// The macros and sites the knowledge base also reads (`kb.macros`, `kb.sites`), if any.
    sources: Option<Arc<crate::sources::Sources>>,
    /// Wakes the sources task for an early refresh (SIGHUP, tests).
    sources_reload: Arc<Notify>,
    notices: broadcast::Sender<Notice>,
    /// Who of the agents is online, read from Gorgias at most once a minute.
    presence: crate::gorgias::presence::Presence,
    listing: Mutex<passes::Listing>,
    view_filter: String,
    /// One bot per ledger: held from `build` until the daemon stops or is dropped.
    ledger_lock: Mutex<Option<LedgerLock>>,
    /// Close deadlines armed by this process, on the monotonic clock too.
    close_timers: crate::clock::CloseTimers,
    /// Responder calls in flight (bounded by `openai.concurrency`).
    inflight: crate::inflight::InFlight,
}

impl Daemon {
    /// Build everything from the config, with the defaults; see [`Daemon::builder`].
    pub async fn build(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Daemon> {
        Daemon::builder(config, clock).build().await
    }

    /// A builder: set what the config does not say (a test responder, the SIGHUP signal), then
    /// [`DaemonBuilder::build`].
    pub fn builder(config: Config, clock: Arc<dyn Clock>) -> DaemonBuilder {
        DaemonBuilder::new(config, clock)
    }

    /// Watch every decision as it is taken.
    pub fn subscribe(&self) -> broadcast::Receiver<Notice> {
        self.notices.subscribe()
    }

    /// The bot's Gorgias user id.
    pub fn bot_user_id(&self) -> u64 {
        self.policy.bot_user_id
    }

    /// The validated config it was built from.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The Gorgias client (paced, shared with every part of the daemon).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The executor that performs plans on Gorgias (tests run a plan of their own through it).
    pub fn executor(&self) -> &Executor {
        &self.executor
    }

    /// The ledger (tests and the demo read it; only the daemon writes ticket rows).
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// The responder answering customers.
    pub fn responder(&self) -> &Arc<dyn Responder> {
        &self.responder
    }

    /// The engine's policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The live knowledge base.
    pub fn knowledge(&self) -> &Arc<crate::knowledge::LiveKb> {
        &self.knowledge
    }

    /// The knowledge sources (macros, sites), if any are configured.
    pub fn sources(&self) -> Option<&Arc<crate::sources::Sources>> {
        self.sources.as_ref()
    }

    /// Are polls succeeding? (`/healthz` reads it.)
    pub fn health(&self) -> &Arc<Health> {
        &self.health
    }

    /// Notified: the worker polls early (a webhook's hint), within the wake-up policy.
    pub fn poke(&self) -> &Arc<Notify> {
        &self.poke
    }

    /// Notified: the worker re-reads the knowledge files and the sources refresh (SIGHUP).
    pub fn kb_reload(&self) -> &Arc<Notify> {
        &self.kb_reload
    }
}

/// Shadow mode is decided here rather than in the engine: the engine's plan is what the bot
/// would do; in shadow mode the daemon only describes it.
pub fn is_shadow(config: &Config) -> bool {
    config.bot.mode == Mode::Shadow
}
