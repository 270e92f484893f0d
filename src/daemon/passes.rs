//! The passes the worker runs: a poll (list the bot's open tickets, pick those that changed)
//! and a sweep (the closes, email waits, order waits and answer deadlines that fell due), each
//! ticket then processed by `ticket.rs`; and the scan of handed-over tickets for `#kb` notes.

use super::{Cause, Daemon, PassError, PassStats, unreadable};
use crate::engine;
use crate::gorgias::pacing::{self, Lane};
use crate::ledger::TicketState;
use jiff::{SignedDuration, Timestamp};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// A poll reads the whole view at least this often (clock time); polls in between read only
/// its newest pages, down to what the previous listing saw.
pub const FULL_LISTING_EVERY: Duration = Duration::from_secs(60);
/// Closes due within this (clock time) have their requests' slots kept free in the API budget
/// (`Client::reserve_for_closes`): at the default 2 requests/s a full bucket frees the three
/// requests of a close in 1.5 s, so a few closes' worth in this time.
pub const CLOSE_LOOKAHEAD: SignedDuration = SignedDuration::from_secs(5);
/// Slack below the newest `updated_datetime` a listing saw, for updates stamped alike.
const LISTING_MARGIN: SignedDuration = SignedDuration::from_secs(60);

pub use crate::knowledge::ESCALATED_READS_PER_SCAN;

/// What the polls remember between listings (in memory: a restart starts with a full one).
#[derive(Debug, Default)]
pub(super) struct Listing {
    /// When the whole view was last read (by the clock).
    pub(super) last_full: Option<Timestamp>,
    /// Tickets updated before this were seen by an earlier listing.
    pub(super) watermark: Option<Timestamp>,
    /// Tickets whose processing failed: looked at again on the next poll.
    pub(super) retry: std::collections::HashSet<u64>,
    /// Tickets that cannot be decoded: not read again on every poll.
    pub(super) unreadable: unreadable::Unreadable,
    /// While a poll lists the view: the tickets read meanwhile (by the closes done beside the
    /// listing), each with the fingerprint the listing would show for it as read. A page asked
    /// for before such a read can show the ticket as it was then, not as the bot's writes left
    /// it: that is no change (the bot acted on that very version), and no reason to read it.
    pub(super) read_while_listing: Option<std::collections::HashMap<u64, String>>,
}

impl Daemon {
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
            self.answer_done(id, cancel, stats).await?;
        }
        Ok(())
    }

    /// A responder call for ticket `id` finished: read the ticket and decide with its outcome,
    /// unless the outcome was already used (see [`crate::inflight::InFlight::is_done`]): then
    /// there is nothing to decide and the read would be a request for nothing. Closes that
    /// fall due while its read waits for the budget go first.
    pub(super) async fn answer_done(
        &self,
        id: u64,
        cancel: &CancellationToken,
        stats: &mut PassStats,
    ) -> Result<(), PassError> {
        if !self.inflight.is_done(id) {
            return Ok(());
        }
        self.process_serving_closes(id, Cause::Answer, cancel, stats)
            .await
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
        let stop_below = watermark.filter(|_| !full_due);
        let mut stats = PassStats::default();
        // Page by page: across pages the poll keeps only what it needs at the end (the ids
        // listed, the newest update, the ids to read), never the decoded tickets: with
        // thousands of tracked tickets the whole listing would be the daemon's largest use
        // of memory.
        let mut pages = self
            .client
            .ad_hoc_view_pages(&self.view_filter, "updated_datetime");
        let mut listed_ids = std::collections::HashSet::new();
        let mut newest: Option<Timestamp> = None;
        let mut todo: Vec<u64> = Vec::new();
        let mut unreadable_now = Vec::new();
        {
            let mut l = self.listing();
            l.unreadable.begin_listing();
            l.read_while_listing = Some(std::collections::HashMap::new());
        }
        loop {
            // A stalled or long listing must not hold closes that fall due meanwhile.
            let Some(page) = self
                .serving_closes(pages.next_page(), cancel, &mut stats)
                .await?
            else {
                self.listing().read_while_listing = None;
                return Ok(stats);
            };
            let page = match page {
                Ok(Some(page)) => page,
                Ok(None) => break,
                Err(e) => {
                    self.listing().read_while_listing = None;
                    return Err(e.into());
                }
            };
            let read_meanwhile = self
                .listing()
                .read_while_listing
                .clone()
                .unwrap_or_default();
            unreadable_now.extend(
                self.listing()
                    .unreadable
                    .observe_page(&page.items, &page.skipped),
            );
            newest = newest.max(page.items.iter().filter_map(|t| t.updated_datetime).max());
            let ids: Vec<u64> = page.items.iter().map(|t| t.id).collect();
            let rows = self.ledger.tickets(&ids).await?;
            todo.extend(
                page.items
                    .iter()
                    .filter(|t| match rows.get(&t.id) {
                        None => true,
                        Some(r) => {
                            let listed = engine::fingerprint(t);
                            let unchanged = match (&listed, &r.seen_fingerprint) {
                                (Some(listed), Some(expected)) => listed == expected,
                                _ => r.seen_updated_at == t.updated_datetime,
                            };
                            // Or shown as a close beside this listing read it: see
                            // `read_while_listing`.
                            let acted_on =
                                listed.is_some_and(|l| read_meanwhile.get(&t.id) == Some(&l));
                            // A pending answer whose call is in flight is read when the call
                            // ends: re-reading it on every poll meanwhile would cost a request
                            // for nothing.
                            (r.pending_since.is_some() && !self.inflight.has_call(t.id))
                                || !(unchanged || acted_on)
                        }
                    })
                    .map(|t| t.id),
            );
            stats.seen += ids.len();
            listed_ids.extend(ids);
            let enough = stop_below.is_some_and(|w| {
                page.items
                    .last()
                    .and_then(|t| t.updated_datetime)
                    .is_some_and(|u| u < w)
            });
            if enough {
                break;
            }
        }
        {
            let mut l = self.listing();
            l.unreadable.end_listing();
            l.read_while_listing = None;
        }
        let complete = pages.complete();
        {
            let mut l = self.listing();
            if let Some(newest) = newest {
                l.watermark = Some(engine::later(newest, -LISTING_MARGIN));
            }
            if complete {
                l.last_full = Some(self.clock.now());
            }
        }
        // Sets: with thousands of tracked tickets a linear `contains` per row is quadratic.
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
        for id in todo {
            if cancel.is_cancelled() {
                break;
            }
            // A long pass (a backlog paced at the API limit) must not hold closes past their
            // deadline: those due go first, one ticket's work late at most.
            self.close_due(cancel, &mut stats).await?;
            self.process_serving_closes(id, Cause::Poll, cancel, &mut stats)
                .await?;
        }
        self.hand_over_unreadable(cancel, &mut stats).await?;
        self.ledger.record_poll_done(self.clock.now()).await?;
        Ok(stats)
    }

    /// The idle closes due now, each read fresh and re-decided; returns how many were due.
    pub(super) async fn close_due(
        &self,
        cancel: &CancellationToken,
        stats: &mut PassStats,
    ) -> Result<usize, PassError> {
        self.close_due_beside(None, cancel, stats).await
    }

    /// [`Daemon::close_due`] but for ticket `busy` (being processed meanwhile).
    pub(super) async fn close_due_beside(
        &self,
        busy: Option<u64>,
        cancel: &CancellationToken,
        stats: &mut PassStats,
    ) -> Result<usize, PassError> {
        let now = self.clock.now();
        let due: Vec<_> = self
            .closes_soon(now)
            .await?
            .into_iter()
            .filter(|r| r.close_deadline.is_some_and(|d| d <= now))
            .filter(|r| Some(r.ticket_id) != busy)
            .collect();
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
            // Its read, tags and close take the pacer's next slot before queued polls and
            // reads: the close is due at an exact instant, they can wait.
            pacing::in_lane(
                Lane::Close,
                self.process_counted(r.ticket_id, Cause::Sweep, stats),
            )
            .await?;
        }
        Ok(due.len())
    }

    /// The closes due by [`CLOSE_LOOKAHEAD`] from `now` (those overdue included), earliest
    /// first; the pacer keeps their requests' slots free meanwhile, so that each goes at its
    /// deadline rather than one slot every `window / requests_per_window` after it.
    pub(super) async fn closes_soon(
        &self,
        now: Timestamp,
    ) -> Result<Vec<crate::ledger::TicketRow>, PassError> {
        let soon = self
            .ledger
            .due_closes(engine::later(now, CLOSE_LOOKAHEAD))
            .await?;
        self.client.reserve_for_closes(soon.len());
        Ok(soon)
    }

    /// One sweep: idle closes due, `awaiting_email` past `email_wait`, customer messages
    /// unanswered past `answer_deadline`. Each ticket is read fresh and re-decided.
    pub async fn sweep_once(&self, cancel: &CancellationToken) -> Result<PassStats, PassError> {
        let mut stats = self.sweep_pass(cancel).await?;
        self.settle_answers(cancel, &mut stats).await?;
        Ok(stats)
    }

    /// [`Daemon::sweep_once`] without waiting for the answers it asked for (the running loop).
    pub(super) async fn sweep_pass(
        &self,
        cancel: &CancellationToken,
    ) -> Result<PassStats, PassError> {
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
            self.process_serving_closes(id, Cause::Sweep, cancel, &mut stats)
                .await?;
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
    pub(super) fn listing(&self) -> std::sync::MutexGuard<'_, Listing> {
        self.listing.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Learning from `#kb` notes on tickets handed over to people: they left the bot's view, so
    /// the poll never reads them, yet that is where agents answer what the bot could not. Lists
    /// the open tickets carrying an escalation tag (one view query, closes served meanwhile)
    /// and lets [`crate::knowledge::LiveKb::learn_from_escalated`] read and learn them. A
    /// Gorgias failure is logged and left to the next scan; only a ledger failure is returned.
    /// Returns the number of tickets read.
    pub async fn learn_from_escalated_once(
        &self,
        cancel: &CancellationToken,
    ) -> Result<usize, PassError> {
        let filter = crate::knowledge::escalated_filter(&self.policy.tags);
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
        // Up to ESCALATED_READS_PER_SCAN reads, each waiting for the budget: closes that fall
        // due meanwhile go first.
        let learning = self.knowledge.learn_from_escalated(
            &listed,
            &self.client,
            self.bot_user_id(),
            &self.ledger,
            &*self.responder,
            &*self.clock,
            cancel,
        );
        Ok(self
            .work_serving_closes(learning, cancel, &mut PassStats::default())
            .await??)
    }
}
