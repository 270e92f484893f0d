//! Closes first: a listing (one request, or many pages) can take long when Gorgias stalls or
//! paces us, and the worker does nothing else meanwhile. Closes that fall due while it is in
//! flight are done at once, between its reads, instead of waiting behind it.

use super::{Daemon, PassError, PassStats};
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
                _ = cancel.cancelled() => return Ok(None),
                out = &mut listing => return Ok(Some(out)),
                _ = tokio::time::sleep_until(wake.unwrap_or_else(tokio::time::Instant::now)),
                    if wake.is_some() =>
                {
                    last_pass = Some(tokio::time::Instant::now());
                    self.close_due(cancel, stats).await?;
                }
            }
        }
    }
}
