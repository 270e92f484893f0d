//! The worker loop: [`Daemon::run_until_cancelled`] waits for the next thing to do (the poll
//! tick, a webhook's poke within the wake-up policy, the cron sweep, the earliest close
//! deadline, a finished responder call, SIGHUP, the hourly retention sweep) and does it, one
//! pass at a time; after each pass it feeds `/healthz`, the metrics, the ledger's meta and
//! systemd. The knowledge sources are refreshed in a task of their own, supervised here.

use super::{Cause, Daemon, PassError, PassStats};
use crate::engine;
use crate::gorgias::GorgiasError;
use crate::ledger::{LedgerError, TicketState};
use anyhow::Context as _;
use jiff::SignedDuration;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// The shortest time between two polls woken early by webhooks.
pub const POKE_GAP: Duration = Duration::from_secs(2);
/// The gap between webhook-woken polls while more than half of the API budget is in use (the
/// default poll interval): measured, a busy bot's own writes otherwise keep early polls coming
/// every `POKE_GAP` and the list polls push close lag past 2 s.
pub const BUSY_POKE_GAP: Duration = Duration::from_secs(5);
/// How long finished tickets, actions and events are kept in the ledger (90 days).
pub const RETENTION: Duration = Duration::from_secs(90 * 24 * 3600);

/// The webhook wake-up policy: a poke (a webhook's hint) polls at once unless the last poll
/// was less than a gap ago; then one poll is due when the gap ends, however many pokes came.
/// Every write the bot makes fires webhooks too, and a list poll per webhook would eat the API
/// budget that closes and replies need.
#[derive(Debug)]
struct Wake {
    gap: Duration,
    busy_gap: Duration,
    last_poll: Instant,
    due: Option<Instant>,
}

impl Wake {
    fn new(gap: Duration, busy_gap: Duration, now: Instant) -> Wake {
        Wake {
            gap,
            busy_gap,
            last_poll: now,
            due: None,
        }
    }

    /// A poke at `now`: true to poll now; otherwise a poll is due later ([`Wake::due`]). With
    /// more than half the API budget spent (`busy`), early polls come at most once per busy
    /// gap, so closes and replies keep the rest.
    fn poked(&mut self, busy: bool, now: Instant) -> bool {
        let gap = if busy { self.busy_gap } else { self.gap };
        if now.saturating_duration_since(self.last_poll) >= gap {
            true
        } else {
            self.due = Some(self.last_poll + gap);
            false
        }
    }

    /// When a deferred poke's poll is due (pokes meanwhile change nothing).
    fn due(&self) -> Option<Instant> {
        self.due
    }

    /// A poll started at `at` (for whatever reason): it serves every poke so far.
    fn polled(&mut self, at: Instant) {
        self.last_poll = at;
        self.due = None;
    }
}

impl Daemon {
    /// Run until `cancel`: check unfinished actions, then poll every `poll_interval`, sweep on
    /// the cron schedule, and wake exactly at the earliest close or handover deadline.
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
        // Webhooks (a hint) wake the poller early, within the wake-up policy.
        let mut wake = Wake::new(
            self.clock.real(POKE_GAP),
            self.clock.real(BUSY_POKE_GAP),
            Instant::now(),
        );
        // While Gorgias keeps failing, one warning when it starts and one info line when it
        // recovers, not a warning per pass (the journal would fill with the same line).
        let mut outage: Option<Outage> = None;
        // Macros and sites are read in a task of their own: a slow website must not hold up
        // replies. It ends only with the daemon (or when the ledger cannot be written).
        let sources_cancel = cancel.child_token();
        let mut sources_task = tokio::spawn(self.sources_loop(sources_cancel.clone()));
        // Handover deadlines up to here had a sweep: one whose handover failed waits for the
        // cron sweep rather than waking the loop again and again.
        let mut swept_through = jiff::Timestamp::MIN;
        let result = loop {
            let now = self.clock.now();
            // The budget's room for the closes due soon, as they come nearer while idle.
            self.closes_soon(now).await?;
            // Closes, and the handovers the sweep would otherwise do only on its schedule (the
            // cron sweep stays as their safety net).
            let handover = self
                .ledger
                .next_handover_deadline(
                    swept_through,
                    self.policy.email_wait,
                    self.policy.answer_deadline,
                    self.policy.orders.number_wait,
                )
                .await?;
            let next = match (self.ledger.next_deadline().await?, handover) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
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
                _ = self.poke.notified(), if wake.due().is_none() => {
                    if wake.poked(self.client.budget_busy(), Instant::now()) {
                        Work::Poll
                    } else {
                        continue;
                    }
                }
                _ = tokio::time::sleep_until(tokio::time::Instant::from_std(
                    wake.due().unwrap_or_else(Instant::now),
                )), if wake.due().is_some() => {
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
                wake.polled(started);
            }
            if matches!(work, Work::Sweep) {
                // Set before the pass: a deadline that comes due during it still wakes one.
                swept_through = self.clock.now();
            }
            let pass = match work {
                Work::Poll => self.poll_pass(&cancel).await,
                Work::Sweep => self.sweep_pass(&cancel).await,
                Work::Answer(id) => {
                    let mut stats = PassStats::default();
                    self.answer_done(id, &cancel, &mut stats)
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
                        let _ = self.ledger.record_poll_ok(self.clock.now()).await;
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
                    let _ = self.ledger.record_error(self.clock.now(), None, &e).await;
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
fn outage_reason(e: &GorgiasError) -> &'static str {
    use GorgiasError as E;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poke_polls_at_once_unless_a_poll_was_within_the_gap() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let mut w = Wake::new(2 * s, 5 * s, t0);
        // Within the gap of the last poll: deferred to its end; more pokes change nothing.
        assert!(!w.poked(false, t0 + s));
        assert_eq!(w.due(), Some(t0 + 2 * s));
        w.polled(t0 + 2 * s);
        assert_eq!(w.due(), None);
        // Past the gap: at once.
        assert!(w.poked(false, t0 + 5 * s));
        w.polled(t0 + 5 * s);
        // A busy budget stretches the gap.
        assert!(!w.poked(true, t0 + 8 * s));
        assert_eq!(w.due(), Some(t0 + 10 * s));
        w.polled(t0 + 10 * s);
        assert!(w.poked(true, t0 + 15 * s));
    }
}
