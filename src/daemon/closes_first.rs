//! Closes first: a listing (one request, or many pages) can take long when Gorgias stalls or
//! paces us, and so can a ticket's reads and writes once the API budget is spent; the worker
//! does nothing else meanwhile. Closes that fall due while such work is in flight are done at
//! once, between its requests, instead of waiting behind it: the work's next request is not
//! even asked for until the close is done, and the close's own requests take the slots the
//! pacer keeps free for it (`Lane::Close`, `reserve_for_closes`).

use super::passes::CLOSE_LOOKAHEAD;
use super::{Cause, Daemon, PassError, PassStats};
use crate::engine;
use jiff::Timestamp;
use std::future::Future;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The shortest gap between two close passes for the same close during one piece of work: a
/// close that keeps failing (Gorgias down) is tried again after this, not in a busy loop.
const CLOSE_RETRY_GAP: Duration = Duration::from_secs(1);
/// The shortest gap between two looks at a close that was not due yet when the timer fired
/// (the wall clock a little behind the monotonic one, or a clock that only moves when told),
/// and between two looks at the closes coming within the lookahead: short, since the close is
/// due any moment.
const EARLY_WAKE_GAP: Duration = Duration::from_millis(25);

/// What runs beside the closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Beside {
    /// A listing: dropped when the daemon is cancelled (it has done nothing yet).
    Listing,
    /// Work that is finished even then (it checks for cancellation between tickets itself);
    /// `Some(id)` while it acts on ticket `id`, whose own close is left out: one ticket is
    /// never acted on twice at once.
    Work(Option<u64>),
}

impl Daemon {
    /// Drives `listing` to its end while doing the closes that fall due meanwhile (each to its
    /// end: the listing's read waits, never the close). `None` when cancelled first.
    pub(super) async fn serving_closes<T>(
        &self,
        listing: impl Future<Output = T>,
        cancel: &CancellationToken,
        stats: &mut PassStats,
    ) -> Result<Option<T>, PassError> {
        self.serving_closes_beside(Beside::Listing, listing, cancel, stats)
            .await
    }

    /// Drives `work` (requests that are not about one of the bot's tickets, e.g. reading
    /// handed-over tickets for `#kb` notes) to its end while doing the closes that fall due
    /// meanwhile. It is not dropped when cancelled: it stops by itself.
    pub(super) async fn work_serving_closes<T>(
        &self,
        work: impl Future<Output = T>,
        cancel: &CancellationToken,
        stats: &mut PassStats,
    ) -> Result<T, PassError> {
        let done = self
            .serving_closes_beside(Beside::Work(None), work, cancel, stats)
            .await?;
        Ok(done.expect("work beside the closes is never dropped"))
    }

    /// Processes ticket `id` while doing the closes of other tickets that fall due meanwhile:
    /// its requests may wait for the budget (most of all while the budget is kept free for
    /// those very closes), and a close must not wait for them. Never the ticket itself: one
    /// ticket is never acted on twice at once.
    pub(super) async fn process_serving_closes(
        &self,
        id: u64,
        cause: Cause,
        cancel: &CancellationToken,
        stats: &mut PassStats,
    ) -> Result<(), PassError> {
        let mut own = PassStats::default();
        let work = self.process_counted(id, cause, &mut own);
        let mut closes = PassStats::default();
        let done = self
            .serving_closes_beside(Beside::Work(Some(id)), work, cancel, &mut closes)
            .await;
        for s in [own, closes] {
            stats.seen += s.seen;
            stats.decided += s.decided;
            stats.failed += s.failed;
        }
        match done? {
            Some(result) => result,
            // Only a listing is dropped on cancel, never a ticket's work.
            None => Ok(()),
        }
    }

    /// Drives `work` to its end, doing every close of another ticket as it falls due. `None`
    /// when `work` is a listing and the daemon was cancelled first.
    async fn serving_closes_beside<T>(
        &self,
        beside: Beside,
        work: impl Future<Output = T>,
        cancel: &CancellationToken,
        stats: &mut PassStats,
    ) -> Result<Option<T>, PassError> {
        let busy = match beside {
            Beside::Work(id) => id,
            Beside::Listing => None,
        };
        tokio::pin!(work);
        // The close the timer last fired for, and when it may fire for it again: still the
        // first one afterwards, it failed (or was not due yet), and waits for the gap.
        let mut last_pass: Option<((u64, Timestamp), tokio::time::Instant)> = None;
        loop {
            let now = self.clock.now();
            // The first due close of another ticket within the lookahead (the ticket being
            // worked on may be due too: its close waits for its work, and must not wake this
            // loop for nothing).
            let (soon, next_soon) = self.closes_ahead(now).await?;
            let first = soon
                .into_iter()
                .filter(|r| Some(r.ticket_id) != busy)
                .find_map(|r| Some((r.ticket_id, r.close_deadline?)));
            let at_clock = |d: Timestamp| {
                let until = if d <= now {
                    Duration::ZERO
                } else {
                    self.clock.real(engine::until(now, d).unsigned_abs())
                };
                tokio::time::Instant::now() + until
            };
            let close_at = first.map(|(id, d)| {
                let mut at = at_clock(d);
                // Due by the wall clock but held by the monotonic one (a clock step, or the
                // wall clock read a moment early): wake when the hold ends, not a gap later.
                if let Some(left) = self.close_timers.held(id, Some(d)) {
                    at = at.max(tokio::time::Instant::now() + left);
                }
                if let Some((fired_for, not_before)) = last_pass
                    && (id, d) == fired_for
                {
                    at = at.max(not_before);
                }
                at
            });
            // Besides: when the next close comes within the lookahead (the pacer's reserve for
            // closes grows then, and the work's requests must see it), and after the lookahead
            // at the latest, as a deadline may be set meanwhile (one indexed query).
            let look_again = at_clock(
                next_soon
                    .unwrap_or(engine::later(now, CLOSE_LOOKAHEAD))
                    .min(engine::later(now, CLOSE_LOOKAHEAD)),
            );
            // Not in a tight loop on a clock that only moves when told (tests).
            let look_again = look_again.max(tokio::time::Instant::now() + EARLY_WAKE_GAP);
            let at = close_at.map_or(look_again, |c| c.min(look_again));
            tokio::select! {
                biased;
                // Work is finished even then (a pass stops between tickets).
                _ = cancel.cancelled(), if beside == Beside::Listing => return Ok(None),
                out = &mut work => return Ok(Some(out)),
                _ = tokio::time::sleep_until(at) => {
                    if close_at != Some(at) {
                        // Only to look again.
                        continue;
                    }
                    let now = self.clock.now();
                    last_pass = first.and_then(|(id, d)| {
                        let gap = if d > now {
                            EARLY_WAKE_GAP
                        } else if self.close_timers.held(id, Some(d)).is_some() {
                            // Not tried: the next round waits for the hold's end.
                            return None;
                        } else {
                            CLOSE_RETRY_GAP
                        };
                        Some(((id, d), tokio::time::Instant::now() + gap))
                    });
                    self.close_due_beside(busy, cancel, stats).await?;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;
    use crate::config::Config;
    use crate::gorgias::pacing::Lane;
    use crate::ledger::TicketState;
    use jiff::SignedDuration;
    use perfectbot_sim::{NewTicket, SimOptions};
    use std::sync::Arc;

    /// A simulator started with `opts` and a daemon on the demo's knowledge base, its config
    /// adjusted by `tune`.
    struct Setup {
        sim: perfectbot_sim::Sim,
        _server: perfectbot_sim::SimServer,
        bot_id: u64,
        _dir: tempfile::TempDir,
        daemon: Daemon,
    }

    impl Setup {
        async fn new(opts: SimOptions, tune: impl FnOnce(&mut Config)) -> Setup {
            let (sim, server, seeded) = perfectbot_sim::start_seeded(opts).await.unwrap();
            let dir = tempfile::tempdir().unwrap();
            let kb = dir.path().join("kb");
            std::fs::create_dir_all(&kb).unwrap();
            std::fs::write(kb.join("shop.toml"), crate::demo::DEMO_KB).unwrap();
            let mut cfg =
                Config::for_tests(&server.base_url(), &seeded.bot.email, &seeded.bot.api_key);
            cfg.ledger.path = dir.path().join("ledger.db");
            cfg.kb.dir = kb;
            tune(&mut cfg);
            let daemon = Daemon::build(cfg, Arc::new(SystemClock)).await.unwrap();
            Setup {
                sim,
                _server: server,
                bot_id: seeded.bot.id,
                _dir: dir,
                daemon,
            }
        }

        /// A new chat ticket assigned to the bot, its first message `text`.
        fn chat(&self, text: &str) -> u64 {
            let customer = self.sim.create_customer("Customer", Some("c@example.org"));
            self.sim.create_ticket(NewTicket {
                channel: "chat".into(),
                customer_id: customer,
                first_message: text.into(),
                assignee_user: Some(self.bot_id),
                ..NewTicket::default()
            })
        }
    }

    /// The demo's late close, made a rule: ticket A is being worked on (its customer wrote
    /// again; its own close falls due meanwhile and waits for that work) while its reads queue
    /// for a spent budget, and ticket B's close falls due in the middle. B's read, tag write
    /// and close go at once, before A's next read: at most the one read already under way at
    /// B's deadline comes between. Before, A's own deadline woke the close timer, found
    /// nothing else due and held the timer back a second, and A's reads took the slots
    /// meanwhile (one every 400 ms here).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_due_close_goes_before_the_reads_queued_for_a_spent_budget() {
        let setup = Setup::new(
            SimOptions {
                rate_limit: Some((2000, Duration::from_secs(20))),
                ..SimOptions::default()
            },
            |cfg| {
                cfg.timing.close_after = Duration::from_secs(3);
                // 40 per 16 s: a burst of 38, then a slot every 400 ms.
                cfg.gorgias.requests_per_window = 40;
                cfg.gorgias.window = Duration::from_secs(16);
            },
        )
        .await;
        let (sim, daemon) = (&setup.sim, &setup.daemon);
        let cancel = CancellationToken::new();
        let chat = |text: &str| setup.chat(text);
        let answered = async |id: u64| {
            let row = daemon.ledger().ticket(id).await.unwrap().unwrap();
            assert_eq!(row.state, TicketState::Answered, "{row:?}");
            row.close_deadline.expect("close armed")
        };
        // Both answered in one poll, newest first: A's close falls due a moment before B's.
        let b = chat("What payment methods do you accept?");
        let a = chat("How long does shipping take?");
        daemon.poll_once(&cancel).await.unwrap();
        let (due_a, due_b) = (answered(a).await, answered(b).await);
        assert!(due_a < due_b, "{due_a} {due_b}");
        sim.customer_says(a, "And to Canada?");
        // The budget spent for everyone but the two closes due soon (their reserve stays free,
        // as the worker keeps it).
        daemon.closes_soon(daemon.clock.now()).await.unwrap();
        let pacer = daemon.client().pacer();
        while tokio::time::timeout(Duration::ZERO, pacer.acquire_in(Lane::Read))
            .await
            .is_ok()
        {}
        assert!(
            daemon.clock.now() < due_a,
            "the machine was too slow to set the test up"
        );
        // A's work: reads, each waiting for a slot, until B is closed and once more.
        let b_closed = || sim.ticket_json(b).unwrap()["status"] == "closed";
        let reads = async {
            for _ in 0..60 {
                let closed = b_closed();
                daemon.client().ticket(a).await.unwrap();
                if closed {
                    return true;
                }
            }
            false
        };
        let mut stats = PassStats::default();
        let done = daemon
            .serving_closes_beside(Beside::Work(Some(a)), reads, &cancel, &mut stats)
            .await
            .unwrap();
        assert_eq!(done, Some(true), "B was never closed");
        assert_eq!(
            daemon.ledger().ticket(b).await.unwrap().unwrap().state,
            TicketState::Closed
        );
        assert_eq!(
            sim.ticket_json(a).unwrap()["status"],
            "open",
            "the ticket worked on is never closed beside its work"
        );
        let log = sim.requests();
        let ticket_b = format!("/api/tickets/{b}");
        let close = log
            .iter()
            .position(|r| r.method == "PUT" && r.path == ticket_b)
            .expect("B's close");
        let close_b: Vec<_> = log[close - 2..=close]
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect();
        assert_eq!(
            close_b,
            [
                format!("GET {ticket_b}"),
                format!("POST {ticket_b}/tags"),
                format!("PUT {ticket_b}")
            ],
            "B's read, tag write and close back to back"
        );
        let slipped: Vec<_> = log[..close - 2]
            .iter()
            .filter(|r| r.at > due_b)
            .map(|r| format!("{} {} at {}", r.method, r.path, r.at))
            .collect();
        assert!(
            slipped.len() <= 1,
            "requests after B's deadline ({due_b}) before its close: {slipped:?}"
        );
    }

    /// What the close timer wakes for while work waits for the budget: the closes within the
    /// lookahead (their slots reserved), and when the next one comes within it, so that the
    /// reserve grows before the work's requests take those slots.
    #[tokio::test]
    async fn the_next_close_beyond_the_lookahead_is_named_for_the_reserve() {
        // Past the lookahead, within twice it.
        let setup = Setup::new(SimOptions::default(), |cfg| {
            cfg.timing.close_after = Duration::from_secs(8);
        })
        .await;
        let daemon = &setup.daemon;
        let id = setup.chat("How long does shipping take?");
        daemon.poll_once(&CancellationToken::new()).await.unwrap();
        let row = daemon.ledger().ticket(id).await.unwrap().unwrap();
        assert_eq!(row.state, TicketState::Answered, "{row:?}");
        let due = row.close_deadline.expect("close armed");
        let answered_at = engine::later(due, -SignedDuration::from_secs(8));

        let (soon, next) = daemon.closes_ahead(answered_at).await.unwrap();
        assert!(soon.is_empty(), "{soon:?}");
        assert_eq!(next, Some(engine::later(due, -CLOSE_LOOKAHEAD)));

        let (soon, next) = daemon
            .closes_ahead(engine::later(due, -CLOSE_LOOKAHEAD))
            .await
            .unwrap();
        assert_eq!(soon.iter().map(|r| r.ticket_id).collect::<Vec<_>>(), [id]);
        assert_eq!(next, None, "nothing after it");

        // Further than twice the lookahead: not named yet (the timer looks again then anyway).
        let early = engine::later(due, -SignedDuration::from_secs(11));
        assert_eq!(
            daemon.closes_ahead(early).await.unwrap(),
            (Vec::new(), None)
        );
    }
}
