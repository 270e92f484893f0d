//! Closes first: a listing (one request, or many pages) can take long when Gorgias stalls or
//! paces us, and the worker does nothing else meanwhile. Closes that fall due while it is in
//! flight are done at once, between its reads, instead of waiting behind it.

use super::{Cause, Daemon, PassError, PassStats};
use crate::engine;
use std::future::Future;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The shortest gap between two close passes during one listing: a close that keeps failing
/// (Gorgias down) is tried again after this, not in a busy loop.
const CLOSE_RETRY_GAP: Duration = Duration::from_secs(1);

impl Daemon {
    /// Drives `listing` to its end while doing the closes that fall due meanwhile (each to its
    /// end: the listing's read waits, never the close). `None` when cancelled first.
    pub(super) async fn serving_closes<T>(
        &self,
        listing: impl Future<Output = T>,
        cancel: &CancellationToken,
        stats: &mut PassStats,
    ) -> Result<Option<T>, PassError> {
        self.serving_closes_beside(None, listing, cancel, stats)
            .await
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
            .serving_closes_beside(Some(id), work, cancel, &mut closes)
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

    /// [`Daemon::serving_closes`], leaving out the close of `busy` (its work is `work`).
    async fn serving_closes_beside<T>(
        &self,
        busy: Option<u64>,
        listing: impl Future<Output = T>,
        cancel: &CancellationToken,
        stats: &mut PassStats,
    ) -> Result<Option<T>, PassError> {
        tokio::pin!(listing);
        let mut last_pass: Option<tokio::time::Instant> = None;
        loop {
            let next = self.ledger.next_deadline().await?;
            let wake = next.map(|d| {
                let now = self.clock.now();
                let until = if d <= now {
                    Duration::ZERO
                } else {
                    self.clock.real(engine::until(now, d).unsigned_abs())
                };
                let at = tokio::time::Instant::now() + until;
                match last_pass {
                    Some(p) => at.max(p + CLOSE_RETRY_GAP),
                    None => at,
                }
            });
            tokio::select! {
                biased;
                // A ticket's work is finished even then (a pass stops between tickets).
                _ = cancel.cancelled(), if busy.is_none() => return Ok(None),
                out = &mut listing => return Ok(Some(out)),
                _ = tokio::time::sleep_until(wake.unwrap_or_else(tokio::time::Instant::now)),
                    if wake.is_some() =>
                {
                    last_pass = Some(tokio::time::Instant::now());
                    self.close_due_beside(busy, cancel, stats).await?;
                }
            }
        }
    }
}
