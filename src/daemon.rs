//! The running bot: wiring (client, ledger, responder, policy, business hours), the poll loop,
//! the sweeps and the deadline timer. One worker does all ticket work serially, so a poll and a
//! sweep never act on the same ticket at once; the cron ticker, the deadline timer and webhooks
//! only signal it. Responder calls are the exception: they run concurrently off the worker
//! ([`crate::inflight`]), and the worker decides a ticket again when its answer arrives.
//!
//! `poll_once` and `sweep_once` are callable directly (tests, the demo); `run_until_cancelled`
//! drives them.

use crate::clock::Clock;
use crate::config::{Config, HoursSource, Mode};
use crate::engine::describe;
use crate::engine::{self, Answering, Availability, Input, Plan, Policy, Rule};
use crate::executor::{ExecError, Executor, StepOutcome};
use crate::gorgias::{Auth, Client, ClientConfig, GorgiasError, Ticket};
use crate::hours::BusinessHours;
use crate::inflight::{Answered, Progress};
use crate::ledger::{Ledger, LedgerError, LedgerLock, TicketRow, TicketState};
use crate::responder::{Outcome, Responder};
use anyhow::Context as _;
use jiff::{SignedDuration, Timestamp};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, broadcast, mpsc};
use tokio_util::sync::CancellationToken;

mod closes_first;
mod unreadable;

/// The shortest time between two polls woken early by webhooks.
pub const POKE_GAP: Duration = Duration::from_secs(2);

/// How long finished tickets, actions and events are kept in the ledger (90 days).
/// A poll reads the whole view at least this often (clock time); polls in between read only
/// its newest pages, down to what the previous listing saw.
pub const FULL_LISTING_EVERY: Duration = Duration::from_secs(60);
/// Slack below the newest `updated_datetime` a listing saw, for updates stamped alike.
const LISTING_MARGIN: SignedDuration = SignedDuration::from_secs(60);
/// The gap between webhook-woken polls while more than half of the API budget is in use (the
/// default poll interval): measured, a busy bot's own writes otherwise keep early polls coming
/// every `POKE_GAP` and the list polls push close lag past 2 s.
pub const BUSY_POKE_GAP: Duration = Duration::from_secs(5);
pub const RETENTION: Duration = Duration::from_secs(90 * 24 * 3600);

/// One decision taken, for the demo's timeline and for tests that watch the daemon.
#[derive(Debug, Clone)]
pub struct Notice {
    pub at: Timestamp,
    pub ticket_id: u64,
    pub rule: Rule,
    pub state: TicketState,
    pub reason: Option<String>,
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

/// What the polls remember between listings (in memory: a restart starts with a full one).
#[derive(Debug, Default)]
struct Listing {
    /// When the whole view was last read (by the clock).
    last_full: Option<Timestamp>,
    /// Tickets updated before this were seen by an earlier listing.
    watermark: Option<Timestamp>,
    /// Tickets whose processing failed: looked at again on the next poll.
    retry: std::collections::HashSet<u64>,
    /// Tickets that cannot be decoded: not read again on every poll.
    unreadable: unreadable::Unreadable,
}

/// The running bot.
pub struct Daemon {
    pub config: Config,
    pub client: Client,
    pub ledger: Ledger,
    pub executor: Executor,
    pub responder: Arc<dyn Responder>,
    pub policy: Policy,
    pub hours: BusinessHours,
    pub clock: Arc<dyn Clock>,
    /// Wakes the worker for an early poll (webhook hint, tests).
    pub poke: Arc<Notify>,
    /// Are polls succeeding? Read by `/healthz`.
    pub health: Arc<crate::http::Health>,
    /// The knowledge files' and learned notes' entries behind the responder's index.
    pub knowledge: Arc<crate::knowledge::LiveKb>,
    /// Wakes the worker to re-read the knowledge files (SIGHUP).
    pub kb_reload: Arc<Notify>,
    /// The macros and sites the knowledge base also reads (`kb.macros`, `kb.sites`), if any.
    pub sources: Option<Arc<crate::sources::Sources>>,
    /// Wakes the sources task for an early refresh (SIGHUP, tests).
    pub sources_reload: Arc<Notify>,
    notices: broadcast::Sender<Notice>,
    presence: Mutex<Option<(Instant, Option<bool>)>>,
    listing: Mutex<Listing>,
    view_filter: String,
    /// One bot per ledger: held from `build` until the daemon stops or is dropped.
    ledger_lock: Mutex<Option<LedgerLock>>,
    /// Close deadlines armed by this process, on the monotonic clock too.
    close_timers: crate::clock::CloseTimers,
    /// Responder calls in flight (bounded by `openai.concurrency`).
    inflight: crate::inflight::InFlight,
}

impl Daemon {
    /// Build everything from the config: the Gorgias identity check, the ledger, the knowledge
    /// base, business hours. Fails with a message naming what is wrong.
    pub async fn build(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Daemon> {
        let client = client_on(&config, clock.clone())?;
        let bot_user_id = match config.bot.user_id {
            Some(id) => id,
            None => {
                client
                    .current_user()
                    .await
                    .map_err(|e| identity_error(e, &config.gorgias.base_url))?
                    .id
            }
        };
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
        // One build, in the ledger (whose vector cache makes a restart embed nothing new): the
        // responder starts on it rather than on an in-memory index of its own.
        let kb = knowledge.first_index(&ledger).await.with_context(|| {
            format!("indexing the knowledge base of {}", config.kb.dir.display())
        })?;
        let responder = crate::responder::build_responder_with(&config, kb)?;
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
        let health = Arc::new(crate::http::Health::new(
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
            kb_reload: Arc::new(Notify::new()),
            sources,
            sources_reload: Arc::new(Notify::new()),
            notices,
            presence: Mutex::new(None),
            listing: Mutex::new(Listing::default()),
            view_filter,
            ledger_lock: Mutex::new(Some(ledger_lock)),
            close_timers: crate::clock::CloseTimers::default(),
            inflight,
        })
    }

    /// Watch every decision as it is taken.
    pub fn subscribe(&self) -> broadcast::Receiver<Notice> {
        self.notices.subscribe()
    }

    /// The bot's Gorgias user id.
    pub fn bot_user_id(&self) -> u64 {
        self.policy.bot_user_id
    }

    /// One poll and the answers it asked for: [`Daemon::poll_pass`], then every responder call
    /// it started is awaited and its ticket decided. For callers that drive the daemon step by
    /// step (tests, the demo, bench); the running loop never waits for answers.
    pub async fn poll_once(&self, cancel: &CancellationToken) -> Result<PassStats, PassError> {
        let mut stats = self.poll_pass(cancel).await?;
        self.settle_answers(cancel, &mut stats).await?;
        Ok(stats)
    }

    /// Waits for every responder call in flight and decides its ticket (those decisions may
    /// start new calls, e.g. for a customer who wrote meanwhile: awaited too).
    pub async fn settle_answers(
        &self,
        cancel: &CancellationToken,
        stats: &mut PassStats,
    ) -> Result<(), PassError> {
        loop {
            if cancel.is_cancelled() {
                break;
            }
            // A finished call's slot is marked done and its id sent under one lock: while
            // nothing is queued, a call still counted as running will signal.
            let id = match self.inflight.try_done() {
                Some(id) => id,
                None if self.inflight.running() > 0 => match self.inflight.next_done().await {
                    Some(id) => id,
                    None => break,
                },
                None => break,
            };
            self.process_counted(id, Cause::Answer, stats).await?;
        }
        Ok(())
    }

    /// One poll: list the bot's open tickets through one view query, read in full only those
    /// that changed since the ledger last saw them (plus tracked ones that left the view, and
    /// ones waiting on a responder retry), decide and act on each. Answers are asked for, not
    /// awaited: each ticket is decided again when its responder call finishes.
    pub async fn poll_pass(&self, cancel: &CancellationToken) -> Result<PassStats, PassError> {
        self.ledger.check_file()?;
        self.knowledge.reload_if_changed(&*self.responder).await;
        let (full_due, watermark, retry) = {
            let l = self.listing();
            // By the clock, so tests can move it; a clock that went back counts as due.
            let now = self.clock.now();
            let full_due = l.last_full.is_none_or(|at| {
                now < at || engine::until(at, now).unsigned_abs() >= FULL_LISTING_EVERY
            });
            (full_due, l.watermark, l.retry.clone())
        };
        // Newest first: once a page reaches tickets last updated before the previous listing
        // (less a margin for ties), the rest of the list is what that listing already saw.
        let mut stats = PassStats::default();
        let listing =
            self.client
                .ad_hoc_view_items_until(&self.view_filter, "updated_datetime", |page| {
                    watermark.filter(|_| !full_due).is_some_and(|w| {
                        page.last()
                            .and_then(|t| t.updated_datetime)
                            .is_some_and(|u| u < w)
                    })
                });
        // A stalled or long listing must not hold closes that fall due meanwhile.
        let Some(listing) = self.serving_closes(listing, cancel, &mut stats).await? else {
            return Ok(stats);
        };
        let listing = listing?;
        let unreadable_now = self
            .listing()
            .unreadable
            .observe_listing(&listing.items, &listing.skipped);
        let (listed, complete) = (listing.items, listing.complete);
        {
            let mut l = self.listing();
            if let Some(newest) = listed.iter().filter_map(|t| t.updated_datetime).max() {
                l.watermark = Some(engine::later(newest, -LISTING_MARGIN));
            }
            if complete {
                l.last_full = Some(self.clock.now());
            }
        }
        let ids: Vec<u64> = listed.iter().map(|t| t.id).collect();
        let rows = self.ledger.tickets(&ids).await?;
        let mut todo: Vec<u64> = listed
            .iter()
            .filter(|t| match rows.get(&t.id) {
                None => true,
                Some(r) => {
                    let unchanged = match (engine::fingerprint(t), &r.seen_fingerprint) {
                        (Some(listed), Some(expected)) => listed == *expected,
                        _ => r.seen_updated_at == t.updated_datetime,
                    };
                    r.pending_since.is_some() || !unchanged
                }
            })
            .map(|t| t.id)
            .collect();
        // Sets: with thousands of tracked tickets a linear `contains` per row is quadratic.
        let listed_ids: std::collections::HashSet<u64> = ids.iter().copied().collect();
        let mut queued: std::collections::HashSet<u64> = todo.iter().copied().collect();
        for r in self.ledger.tracked().await? {
            // A full listing shows which tracked tickets left the view (closed, reassigned or
            // unassigned). A partial one cannot, but tickets waiting on a responder retry and
            // tickets that failed last time are looked at on every poll all the same.
            let wanted = if complete {
                !listed_ids.contains(&r.ticket_id)
            } else {
                r.pending_since.is_some() || retry.contains(&r.ticket_id)
            };
            if wanted && queued.insert(r.ticket_id) {
                todo.push(r.ticket_id);
            }
        }
        // Tickets with unfinished actions are looked at (and resumed) whatever the listing says.
        for id in self.executor.tickets_with_pending().await? {
            if queued.insert(id) {
                todo.push(id);
            }
        }
        // Listed items that did not decode are read once in full; known unreadable ones not.
        todo.extend(unreadable_now.into_iter().filter(|id| queued.insert(*id)));
        let todo = self.without_unreadable(todo);
        stats.seen += listed.len();
        for id in todo {
            if cancel.is_cancelled() {
                break;
            }
            // A long pass (a backlog paced at the API limit) must not hold closes past their
            // deadline: those due go first, one ticket's work late at most.
            self.close_due(cancel, &mut stats).await?;
            self.process_counted(id, Cause::Poll, &mut stats).await?;
        }
        self.hand_over_unreadable(cancel, &mut stats).await?;
        let now = self.clock.now();
        self.ledger
            .set_meta("last_poll_at", &now.to_string())
            .await?;
        Ok(stats)
    }

    /// The idle closes due now, each read fresh and re-decided; returns how many were due.
    async fn close_due(
        &self,
        cancel: &CancellationToken,
        stats: &mut PassStats,
    ) -> Result<usize, PassError> {
        let due = self.ledger.due_closes(self.clock.now()).await?;
        for r in &due {
            if cancel.is_cancelled() {
                break;
            }
            if self.listing().unreadable.skip(r.ticket_id) {
                continue;
            }
            if let Some(left) = self.close_timers.held(r.ticket_id, r.close_deadline) {
                tracing::debug!(
                    ticket_id = r.ticket_id,
                    left_ms = left.as_millis() as u64,
                    "close due by the wall clock but not by the monotonic clock; waiting"
                );
                continue;
            }
            self.process_counted(r.ticket_id, Cause::Sweep, stats)
                .await?;
        }
        Ok(due.len())
    }

    /// One sweep: idle closes due, `awaiting_email` past `email_wait`, customer messages
    /// unanswered past `answer_deadline`. Each ticket is read fresh and re-decided.
    pub async fn sweep_once(&self, cancel: &CancellationToken) -> Result<PassStats, PassError> {
        let mut stats = self.sweep_pass(cancel).await?;
        self.settle_answers(cancel, &mut stats).await?;
        Ok(stats)
    }

    /// [`Daemon::sweep_once`] without waiting for the answers it asked for (the running loop).
    async fn sweep_pass(&self, cancel: &CancellationToken) -> Result<PassStats, PassError> {
        self.ledger.check_file()?;
        let mut stats = PassStats::default();
        stats.seen += self.close_due(cancel, &mut stats).await?;
        let now = self.clock.now();
        // Not `answered`, so never one of the closes just done.
        let due: Vec<u64> = self
            .ledger
            .tickets_in_states(&[
                TicketState::Active,
                TicketState::AwaitingEmail,
                TicketState::AwaitingOrder,
            ])
            .await?
            .into_iter()
            .filter(|r| {
                let email_due = r.state == TicketState::AwaitingEmail
                    && r.email_requested_at
                        .is_some_and(|at| engine::later(at, self.policy.email_wait) <= now);
                let order_due = r.state == TicketState::AwaitingOrder
                    && r.last_bot_reply_at
                        .is_some_and(|at| engine::later(at, self.policy.orders.number_wait) <= now);
                let answer_due = r
                    .pending_since
                    .is_some_and(|at| engine::later(at, self.policy.answer_deadline) <= now);
                email_due || answer_due || order_due
            })
            .map(|r| r.ticket_id)
            .collect();
        let due = self.without_unreadable(due);
        stats.seen += due.len();
        for id in due {
            if cancel.is_cancelled() {
                break;
            }
            self.process_counted(id, Cause::Sweep, &mut stats).await?;
        }
        // Six polls' worth: notes on handed-over tickets need not be learned within seconds.
        if self.knowledge.escalated_scan_due(
            self.clock
                .real(self.config.timing.poll_interval.saturating_mul(6)),
        ) {
            self.learn_from_escalated_once(cancel).await?;
        }
        Ok(stats)
    }

    async fn process_counted(
        &self,
        id: u64,
        cause: Cause,
        stats: &mut PassStats,
    ) -> Result<(), PassError> {
        let result = self.process(id, cause).await;
        // Each ticket done is the loop being alive: a long pass (a backlog paced at the API
        // limit) must not look like a hang to systemd's watchdog.
        let _ = sd_notify::notify(&[sd_notify::NotifyState::Watchdog]);
        // `insert` is false when the ticket already failed last time: its repeats are debug,
        // so a ticket that keeps failing through an outage is one warning, not one per pass.
        let first_failure = match &result {
            Ok(()) => {
                self.listing().retry.remove(&id);
                false
            }
            // Not read again on every poll: see `unreadable`.
            Err(ProcessError::Gorgias(e @ GorgiasError::Decode { .. })) => {
                self.listing().retry.remove(&id);
                self.unreadable_found(id, e);
                stats.failed += 1;
                return Ok(());
            }
            Err(_) => self.listing().retry.insert(id),
        };
        match result {
            Ok(()) => stats.decided += 1,
            Err(ProcessError::Exec(e)) if e.is_fatal() => {
                return Err(PassError::Ledger(e.to_string()));
            }
            Err(ProcessError::Ledger(e)) if e.is_fatal() => {
                return Err(PassError::Ledger(e.to_string()));
            }
            Err(e) => {
                stats.failed += 1;
                if first_failure {
                    tracing::warn!(ticket_id = id, error = %e, "ticket not processed; will retry");
                } else {
                    tracing::debug!(ticket_id = id, error = %e, "ticket not processed again; will retry");
                }
                let _ = self
                    .ledger
                    .set_meta(
                        "last_error",
                        &format!("{} ticket {id}: {e}", self.clock.now()),
                    )
                    .await;
            }
        }
        Ok(())
    }

    /// Read one ticket fresh, decide (asking the responder if needed), act.
    async fn process(&self, id: u64, cause: Cause) -> Result<(), ProcessError> {
        let mut ticket = match self.client.ticket(id).await {
            Ok(t) => t,
            Err(GorgiasError::NotFound { .. }) => return self.forget_deleted(id).await,
            Err(e) => return Err(e.into()),
        };
        let now = self.clock.now();
        if self.executor.resume(&ticket, now).await? > 0 {
            // Decide on what Gorgias says after the resumed writes, on the next pass.
            return Ok(());
        }
        // Before deciding, so that a note answering this very ticket's question is used.
        self.knowledge
            .learn_from(
                &ticket,
                self.bot_user_id(),
                &self.ledger,
                &*self.responder,
                now,
            )
            .await?;
        let row = self.ledger.ticket(id).await?;
        let availability = self.availability(now).await;
        let mut plan = self.decide(
            &ticket,
            row.as_ref(),
            now,
            &availability,
            Answering::NotAsked,
        );
        if let Some(customer_id) = plan.need_orders.take() {
            let asked = Instant::now();
            let lookup = self.customer_orders(customer_id).await;
            let now = self.clock.now();
            let answering = Answering::Orders(&lookup);
            plan = self.decide(&ticket, row.as_ref(), now, &availability, answering);
            // As after a slow responder: before handing over, decide on what Gorgias says now.
            if is_handover(&plan) && asked.elapsed() > Duration::from_secs(1) {
                ticket = self.client.ticket(id).await?;
                plan = self.decide(&ticket, row.as_ref(), now, &availability, answering);
                if plan.need_orders.is_some() || plan.need_answer.is_some() {
                    return Ok(());
                }
            }
        }
        match plan.need_answer.take() {
            // The ticket was read fresh above, after the call finished, and the outcome is for
            // exactly this turn: a customer who wrote meanwhile gets a new call instead.
            Some(turn) => match self.inflight.answer(id, &turn, &self.responder) {
                Progress::Waiting => return Ok(()),
                Progress::Ready(answered) => {
                    let answering = match &answered {
                        Answered::Outcome(outcome) => Answering::Outcome(outcome),
                        Answered::Failed(why) => Answering::Failed(why),
                    };
                    plan = self.decide(&ticket, row.as_ref(), now, &availability, answering);
                }
            },
            None => self.inflight.forget(id),
        }
        if plan.rule == Rule::IdleClose
            && let Some(left) = self
                .close_timers
                .held(id, row.as_ref().and_then(|r| r.close_deadline))
        {
            tracing::warn!(
                ticket_id = id,
                left_ms = left.as_millis() as u64,
                "the wall clock is ahead of the time this process measured: the close waits"
            );
            return Ok(());
        }
        if is_shadow(&self.config) {
            let tag = &self.policy.tags.preview;
            plan = plan.shadowed(tag, ticket.has_tag(tag));
        }
        let outcomes = self.executor.execute(&ticket, &plan, now).await?;
        let deadline = plan.row.close_deadline;
        let wait = deadline.map_or(Duration::ZERO, |d| engine::until(now, d).unsigned_abs());
        self.close_timers.arm(id, deadline, self.clock.real(wait));
        self.report(&ticket, &plan, &outcomes, cause, now);
        Ok(())
    }

    /// The ticket's customer's Shopify orders; any failure (5xx, 404, an unreadable body, a
    /// record for someone else) is a `Failed` the engine hands over on, never an error that
    /// leaves the customer unanswered.
    async fn customer_orders(&self, customer_id: u64) -> crate::orders::OrderLookup {
        use crate::orders::{OrderLookup, parse_customer};
        match self.client.customer(customer_id).await {
            Ok(body) => match parse_customer(customer_id, &body) {
                Ok(orders) => OrderLookup::Found(orders),
                Err(why) => OrderLookup::Failed(why),
            },
            Err(e) => {
                tracing::warn!(customer_id, error = %e, "cannot read the customer's orders");
                OrderLookup::Failed(e.to_string())
            }
        }
    }

    fn decide(
        &self,
        ticket: &Ticket,
        row: Option<&TicketRow>,
        now: Timestamp,
        availability: &Availability,
        answer: Answering<'_>,
    ) -> Plan {
        engine::decide(
            &Input {
                ticket,
                row,
                now,
                availability,
                answer,
            },
            &self.policy,
        )
    }

    async fn forget_deleted(&self, id: u64) -> Result<(), ProcessError> {
        self.inflight.forget(id);
        if let Some(mut row) = self.ledger.ticket(id).await? {
            row.state = TicketState::Released;
            row.reason = Some("deleted".into());
            row.close_deadline = None;
            row.pending_since = None;
            self.ledger.save_ticket(&row).await?;
        }
        Ok(())
    }

    fn report(
        &self,
        ticket: &Ticket,
        plan: &Plan,
        outcomes: &[StepOutcome],
        cause: Cause,
        now: Timestamp,
    ) {
        let actions: Vec<String> = plan
            .steps
            .iter()
            .zip(outcomes)
            .filter(|(_, o)| !matches!(o, StepOutcome::AlreadyDone))
            .map(|(s, _)| describe(&s.action))
            .collect();
        let changed = plan.previous_state != Some(plan.row.state);
        if actions.is_empty() && !changed {
            tracing::debug!(
                ticket_id = ticket.id,
                rule = plan.rule.as_str(),
                "nothing to do"
            );
            return;
        }
        tracing::info!(
            ticket_id = ticket.id,
            rule = plan.rule.as_str(),
            state = plan.row.state.as_str(),
            reason = plan.row.reason.as_deref().unwrap_or(""),
            cause = ?cause,
            "decided"
        );
        let _ = self.notices.send(Notice {
            at: now,
            ticket_id: ticket.id,
            rule: plan.rule,
            state: plan.row.state,
            reason: plan.row.reason.clone(),
            actions,
        });
    }

    fn listing(&self) -> std::sync::MutexGuard<'_, Listing> {
        self.listing.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Online / no agents / after hours. Presence is read from Gorgias at most once a minute,
    /// and only within business hours; an account that does not expose it counts as online.
    pub async fn availability(&self, now: Timestamp) -> Availability {
        if !self.hours.is_open(now) {
            return Availability::AfterHours {
                next_open: self.hours.next_open_local(now),
            };
        }
        let cached = *self.presence.lock().expect("presence mutex poisoned");
        let anyone = match cached {
            Some((at, v)) if at.elapsed() < self.clock.real(Duration::from_secs(60)) => v,
            _ => {
                let v = match self.client.users(true).await {
                    Ok(users) => {
                        let agents: Vec<_> = users
                            .iter()
                            .filter(|u| u.id != self.policy.bot_user_id && u.active != Some(false))
                            .filter(|u| u.role.as_ref().is_none_or(|r| r.name != "bot"))
                            .collect();
                        if agents.iter().any(|u| u.availability_status.is_some()) {
                            Some(agents.iter().any(|u| {
                                u.availability_status
                                    .as_ref()
                                    .is_some_and(|a| a.status == "online")
                            }))
                        } else {
                            None
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "could not read agent presence; assuming agents are available");
                        None
                    }
                };
                *self.presence.lock().expect("presence mutex poisoned") = Some((Instant::now(), v));
                v
            }
        };
        match anyone {
            Some(false) => Availability::NoAgents,
            _ => Availability::Online,
        }
    }

    /// Run until `cancel`: check unfinished actions, then poll every `poll_interval`, sweep on
    /// the cron schedule, and wake exactly at the earliest close deadline.
    pub async fn run_until_cancelled(&self, cancel: CancellationToken) -> anyhow::Result<()> {
        // Unfinished actions from before a restart are checked against Gorgias and finished
        // (or abandoned) before anything new is done.
        let unfinished = self.executor.tickets_with_pending().await?;
        if !unfinished.is_empty() {
            tracing::info!(
                tickets = unfinished.len(),
                "resuming unfinished actions from before the restart"
            );
            let mut stats = PassStats::default();
            for id in unfinished {
                if let Err(PassError::Ledger(e)) =
                    self.process_counted(id, Cause::Poll, &mut stats).await
                {
                    anyhow::bail!("the ledger cannot be written ({e})");
                }
            }
        }
        let (sweep_tx, mut sweep_rx) = mpsc::channel::<()>(1);
        let scheduler = start_cron(&self.config.timing.sweep, sweep_tx).await?;
        // READY only now: the config is valid, the ledger open, Gorgias answered the identity
        // check (in `build`) and unfinished actions are reconciled.
        let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
        // Every wait below is in the clock's time (`real`): see `Clock::speed`.
        let mut poll = tokio::time::interval(self.clock.real(self.config.timing.poll_interval));
        let mut retention = tokio::time::interval(self.clock.real(Duration::from_secs(3600)));
        retention.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Webhooks (a hint) wake the poller early, but at most once per POKE_GAP: every write
        // the bot makes fires webhooks too, and a list poll per webhook would eat the API
        // budget that closes and replies need.
        let poke_gap = self.clock.real(POKE_GAP);
        let busy_poke_gap = self.clock.real(BUSY_POKE_GAP);
        let mut last_poll = Instant::now();
        let mut poke_due: Option<tokio::time::Instant> = None;
        // While Gorgias keeps failing, one warning when it starts and one info line when it
        // recovers, not a warning per pass (the journal would fill with the same line).
        let mut outage: Option<Outage> = None;
        // Macros and sites are read in a task of their own: a slow website must not hold up
        // replies. It ends only with the daemon (or when the ledger cannot be written).
        let sources_cancel = cancel.child_token();
        let mut sources_task = tokio::spawn(self.sources_loop(sources_cancel.clone()));
        let result = loop {
            let next = self.ledger.next_deadline().await?;
            let now = self.clock.now();
            let sleep_for = match next {
                // Due by the wall clock but held by the monotonic one (a clock step): wake when
                // the hold ends rather than spin.
                Some(d) if d <= now => match self.close_timers.shortest_hold(now) {
                    Some(left) => left + Duration::from_millis(5),
                    None => self.clock.real(Duration::from_millis(5)),
                },
                Some(d) => self
                    .clock
                    .real(engine::until(now, d).unsigned_abs() + Duration::from_millis(5)),
                None => self.clock.real(Duration::from_secs(3600)),
            };
            let work = tokio::select! {
                _ = cancel.cancelled() => break Ok(()),
                _ = poll.tick() => Work::Poll,
                _ = self.poke.notified(), if poke_due.is_none() => {
                    // With more than half the budget spent, early polls come at most once per
                    // BUSY_POKE_GAP instead, so closes and replies keep the rest.
                    let gap = if self.client.budget_busy() { busy_poke_gap } else { poke_gap };
                    if last_poll.elapsed() >= gap {
                        Work::Poll
                    } else {
                        poke_due = Some(tokio::time::Instant::from_std(last_poll + gap));
                        continue;
                    }
                }
                _ = tokio::time::sleep_until(poke_due.unwrap_or_else(tokio::time::Instant::now)), if poke_due.is_some() => {
                    Work::Poll
                }
                Some(()) = sweep_rx.recv() => Work::Sweep,
                Some(id) = self.inflight.next_done() => Work::Answer(id),
                _ = tokio::time::sleep(sleep_for) => Work::Sweep,
                _ = self.kb_reload.notified() => {
                    self.knowledge.reload_files(&*self.responder, "SIGHUP").await;
                    self.sources_reload.notify_one();
                    continue;
                }
                ended = &mut sources_task => {
                    break match ended {
                        Ok(Ok(())) if cancel.is_cancelled() => Ok(()),
                        Ok(Ok(())) => Err(anyhow::anyhow!("the knowledge sources task ended")),
                        Ok(Err(e)) => Err(e),
                        Err(e) => Err(anyhow::anyhow!("the knowledge sources task failed: {e}")),
                    };
                }
                _ = retention.tick() => {
                    self.prune_once().await?;
                    continue;
                }
            };
            let started = Instant::now();
            if matches!(work, Work::Poll) {
                last_poll = started;
                poke_due = None;
            }
            let pass = match work {
                Work::Poll => self.poll_pass(&cancel).await,
                Work::Sweep => self.sweep_pass(&cancel).await,
                Work::Answer(id) => {
                    let mut stats = PassStats::default();
                    self.process_counted(id, Cause::Answer, &mut stats)
                        .await
                        .map(|()| stats)
                }
            };
            if matches!(work, Work::Poll) {
                self.observe_poll(started.elapsed(), &pass).await;
            } else {
                // Closes happen in sweeps: the tickets gauge must not wait for the next poll
                // to agree with closes_total.
                self.observe_counts().await;
            }
            match pass {
                Ok(stats) => {
                    if stats.decided > 0 || stats.failed > 0 {
                        tracing::debug!(
                            ?work,
                            seen = stats.seen,
                            decided = stats.decided,
                            failed = stats.failed,
                            ms = started.elapsed().as_millis() as u64,
                            "pass done"
                        );
                    }
                    if let Some(o) = outage.take() {
                        tracing::info!(
                            failed_passes = o.failures,
                            down_for = %humantime::format_duration(Duration::from_secs(o.started.elapsed().as_secs())),
                            "Gorgias answers again: passes recovered after {} failed pass(es)",
                            o.failures
                        );
                    }
                    // Only a poll proves that Gorgias answers: a sweep with nothing due never
                    // calls it, so it would report a good pass through an outage.
                    if matches!(work, Work::Poll) {
                        let _ = self
                            .ledger
                            .set_meta("last_pass_ok", &self.clock.now().to_string())
                            .await;
                    }
                    if matches!(work, Work::Poll) {
                        // The watchdog is fed only by polls that worked: a wedged or failing
                        // poll loop gets the service restarted.
                        let status = self.status_line().await.unwrap_or_default();
                        let _ = sd_notify::notify(&[
                            sd_notify::NotifyState::Watchdog,
                            sd_notify::NotifyState::Status(&status),
                        ]);
                    }
                }
                Err(PassError::Ledger(e)) => {
                    break Err(anyhow::anyhow!(
                        "the ledger cannot be written ({e}); stopping so nothing is done without a record"
                    ));
                }
                Err(PassError::Gorgias(e)) => {
                    match &mut outage {
                        None => {
                            tracing::warn!(?work, error = %e, "{}; retrying every pass (one line when it recovers)", outage_reason(&e));
                            outage = Some(Outage {
                                started: Instant::now(),
                                failures: 1,
                            });
                        }
                        Some(o) => {
                            o.failures += 1;
                            tracing::debug!(?work, error = %e, failures = o.failures, "pass failed again");
                        }
                    }
                    let _ = self
                        .ledger
                        .set_meta("last_error", &format!("{}: {e}", self.clock.now()))
                        .await;
                }
            }
        };
        self.observe_counts().await;
        sources_cancel.cancel();
        if !sources_task.is_finished() {
            // Cancellation is checked between requests; a request in flight is bounded by the
            // site's request timeout.
            let _ = tokio::time::timeout(Duration::from_secs(35), &mut sources_task).await;
        }
        let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
        let mut scheduler = scheduler;
        let _ = scheduler.shutdown().await;
        // Stopped: another daemon may take the ledger (the in-process restart of tests; a
        // process releases it by ending anyway).
        self.ledger_lock
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        result
    }

    /// The knowledge sources' loop, as a `'static` future: refresh at once, then every
    /// `kb.refresh` or when `sources_reload` is notified, until `cancel`. Ends with an error
    /// only when the ledger cannot be written. Without sources it just waits for `cancel`.
    fn sources_loop(
        &self,
        cancel: CancellationToken,
    ) -> impl std::future::Future<Output = anyhow::Result<()>> + Send + 'static {
        let sources = self.sources.clone();
        let ledger = self.ledger.clone();
        let knowledge = self.knowledge.clone();
        let responder = self.responder.clone();
        let clock = self.clock.clone();
        let reload = self.sources_reload.clone();
        let every = self.clock.real(self.config.kb.refresh);
        async move {
            let Some(sources) = sources else {
                cancel.cancelled().await;
                return Ok(());
            };
            loop {
                let refresh = sources.refresh_once(&ledger, &knowledge, &*responder, clock.now());
                tokio::select! {
                    _ = cancel.cancelled() => return Ok(()),
                    done = refresh => {
                        done.map_err(|e| anyhow::anyhow!(
                            "the ledger cannot be written while storing knowledge sources ({e})"
                        ))?;
                    }
                }
                tokio::select! {
                    _ = cancel.cancelled() => return Ok(()),
                    _ = tokio::time::sleep(every) => {}
                    _ = reload.notified() => {}
                }
            }
        }
    }

    /// Reads every knowledge source once now (tests, `bench`); see [`crate::sources`].
    pub async fn refresh_sources_once(
        &self,
    ) -> Result<Option<crate::sources::RefreshReport>, LedgerError> {
        let Some(sources) = &self.sources else {
            return Ok(None);
        };
        sources
            .refresh_once(
                &self.ledger,
                &self.knowledge,
                &*self.responder,
                self.clock.now(),
            )
            .await
            .map(Some)
    }

    /// The retention sweep: forgets finished tickets, actions and events untouched for
    /// [`RETENTION`]. Long enough that nothing pruned can still be re-triggered.
    pub async fn prune_once(&self) -> Result<(), LedgerError> {
        let cutoff = engine::later(
            self.clock.now(),
            -SignedDuration::try_from(RETENTION).unwrap_or(SignedDuration::MAX),
        );
        let stats = self.ledger.prune(cutoff).await?;
        if stats.tickets + stats.actions + stats.events > 0 {
            tracing::info!(
                tickets = stats.tickets,
                actions = stats.actions,
                events = stats.events,
                "retention: pruned old rows"
            );
        }
        Ok(())
    }

    /// A one-line picture for systemd's STATUS=: "14 tickets: 9 answered, 3 awaiting customer,
    /// next close in 42s".
    pub async fn status_line(&self) -> Result<String, LedgerError> {
        let counts = self.ledger.counts_by_state().await?;
        let get = |s: TicketState| counts.get(s.as_str()).copied().unwrap_or(0);
        let tracked = get(TicketState::Active)
            + get(TicketState::Answered)
            + get(TicketState::AwaitingEmail)
            + get(TicketState::AwaitingOrder);
        let mut line = format!(
            "{tracked} tickets: {} answered, {} awaiting customer, {} escalated",
            get(TicketState::Answered),
            get(TicketState::AwaitingEmail)
                + get(TicketState::AwaitingOrder)
                + get(TicketState::Active),
            get(TicketState::Escalated)
        );
        if let Some(d) = self.ledger.next_deadline().await? {
            let secs = engine::until(self.clock.now(), d).as_secs();
            line.push_str(&format!(", next close in {secs}s"));
        }
        Ok(line)
    }
}

/// Health and metrics after each poll (the `/healthz` and `/metrics` side of the loop).
impl Daemon {
    async fn observe_poll(&self, took: Duration, pass: &Result<PassStats, PassError>) {
        crate::metrics::record_poll(took, pass.is_ok());
        match pass {
            Ok(_) => self.health.poll_succeeded(),
            Err(e) => self.health.poll_failed(&e.to_string()),
        }
        self.observe_counts().await;
    }

    /// The tickets-by-state gauge from the ledger.
    async fn observe_counts(&self) {
        if let Ok(counts) = self.ledger.counts_by_state().await {
            crate::metrics::record_ticket_counts(&counts);
        }
    }
}

/// A run of failed passes, from the first failure.
struct Outage {
    started: Instant,
    failures: u32,
}

/// The first line of an outage: unreachable is not the same problem as a refusal.
fn outage_reason(e: &crate::gorgias::GorgiasError) -> &'static str {
    use crate::gorgias::GorgiasError as E;
    match e {
        E::Transport { .. } | E::Timeout { .. } => "Gorgias cannot be reached",
        E::Unauthorized { .. } => "Gorgias refuses the API key",
        E::RateLimited { .. } => "Gorgias is rate limiting the bot",
        E::Server { .. } => "Gorgias answers with server errors",
        _ => "a pass against Gorgias failed",
    }
}

#[derive(Debug, Clone, Copy)]
enum Work {
    Poll,
    Sweep,
    /// Decide a ticket whose responder call finished.
    Answer(u64),
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

#[derive(Debug, thiserror::Error)]
enum ProcessError {
    #[error(transparent)]
    Gorgias(#[from] GorgiasError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Exec(#[from] ExecError),
}

/// Whether the plan hands the ticket over now (or asks for the email first).
fn is_handover(plan: &Plan) -> bool {
    matches!(
        plan.row.state,
        TicketState::Escalated | TicketState::AwaitingEmail
    ) && plan.previous_state != Some(plan.row.state)
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
    let before = ledger.meta("mode").await?;
    if before.as_deref() == Some("shadow") && mode == Mode::Live {
        let n = ledger.forget_tickets().await?;
        tracing::info!(
            rows = n,
            "switched from shadow mode to live: the bot starts afresh on every ticket"
        );
    }
    if before.as_deref() != Some(now) {
        ledger.set_meta("mode", now).await?;
    }
    Ok(())
}

/// The cron ticker: its job only signals the worker (`try_send` on a channel of one, so runs
/// never pile up or overlap).
async fn start_cron(
    cron: &str,
    tx: mpsc::Sender<()>,
) -> anyhow::Result<tokio_cron_scheduler::JobScheduler> {
    use tokio_cron_scheduler::{Job, JobScheduler};
    let scheduler = JobScheduler::new()
        .await
        .context("starting the sweep scheduler")?;
    let job = Job::new_async(cron, move |_id, _lock| {
        let tx = tx.clone();
        Box::pin(async move {
            let _ = tx.try_send(());
        })
    })
    .with_context(|| format!("timing.sweep: {cron:?}"))?;
    scheduler.add(job).await.context("adding the sweep job")?;
    scheduler
        .start()
        .await
        .context("starting the sweep scheduler")?;
    Ok(scheduler)
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
        intent: intent_config(config),
        orders: crate::orders::OrdersPolicy {
            enabled: config.orders.enabled,
            recent_window: signed(config.orders.recent_window),
            late_after: signed(config.orders.late_after),
            number_wait: signed(config.orders.number_wait),
            messages: config.orders.messages.clone(),
        },
    }
}

/// The intent detector's extra phrases from the config (one place for the daemon and preview).
pub fn intent_config(config: &Config) -> crate::responder::intent::IntentConfig {
    crate::responder::intent::IntentConfig {
        extra_handover_phrases: config.bot.handover_phrases.clone(),
        extra_frustration_phrases: config.bot.frustration_phrases.clone(),
    }
}

/// Shadow mode is decided here rather than in the engine: the engine's plan is what the bot
/// would do; in shadow mode the daemon only describes it.
pub fn is_shadow(config: &Config) -> bool {
    config.bot.mode == Mode::Shadow
}

impl From<&Outcome> for &'static str {
    fn from(o: &Outcome) -> Self {
        match o {
            Outcome::Answer { .. } => "answer",
            Outcome::NoKnowledge { .. } => "no_knowledge",
            Outcome::Handover(_) => "handover",
        }
    }
}

/// How many handed-over tickets one scan reads in full: a long human queue (read whole after a
/// restart) must not hold the worker, and the API budget, away from the bot's own tickets.
pub const ESCALATED_READS_PER_SCAN: usize = 10;

/// Learning from `#kb` notes on tickets handed over to people: they left the bot's view, so the
/// poll never reads them, yet that is where agents answer what the bot could not.
impl Daemon {
    /// Lists the open tickets carrying an escalation tag (one view query), reads in full those
    /// that changed since the last scan (at most [`ESCALATED_READS_PER_SCAN`], most recently
    /// updated first; the rest wait for the next scan) and learns their `#kb` notes. Tickets
    /// assigned to the bot are skipped (the poll reads them). A Gorgias failure is logged and left to the next
    /// scan; only a ledger failure is returned. Returns the number of tickets read.
    pub async fn learn_from_escalated_once(
        &self,
        cancel: &CancellationToken,
    ) -> Result<usize, PassError> {
        let quote = |s: &str| format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"));
        let tags = &self.policy.tags;
        let filter = format!(
            "eq(ticket.status, 'open') && containsAny(ticket.tags.name, [{}, {}])",
            quote(&tags.agent_required),
            quote(&tags.agent_check)
        );
        let listing = self.client.ad_hoc_view_items(&filter, "updated_datetime");
        let listed = match self
            .serving_closes(listing, cancel, &mut PassStats::default())
            .await?
        {
            None => return Ok(0),
            Some(Ok(listed)) => listed,
            Some(Err(e)) => {
                // debug: this listing is the poll's own view query; when it fails, the poll's
                // pass-level warning has said so once already.
                tracing::debug!(error = %e, "cannot list handed-over tickets for #kb notes; will try again");
                return Ok(0);
            }
        };
        let bot = self.bot_user_id();
        let mut read = 0;
        for t in &listed {
            if cancel.is_cancelled() || read >= ESCALATED_READS_PER_SCAN {
                break;
            }
            let bots = t.assignee_user.as_ref().is_some_and(|u| u.id == bot);
            if bots || !self.knowledge.escalated_changed(t.id, t.updated_datetime) {
                continue;
            }
            match self.client.ticket(t.id).await {
                Ok(full) => {
                    self.knowledge
                        .learn_from(&full, bot, &self.ledger, &*self.responder, self.clock.now())
                        .await?;
                    self.knowledge.escalated_read(t.id, t.updated_datetime);
                    read += 1;
                }
                Err(e) => {
                    tracing::warn!(ticket_id = t.id, error = %e, "cannot read a handed-over ticket for #kb notes; will try again");
                }
            }
        }
        let ids: Vec<u64> = listed.iter().map(|t| t.id).collect();
        self.knowledge.escalated_keep_only(&ids);
        Ok(read)
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
