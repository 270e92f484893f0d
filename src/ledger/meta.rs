//! The daemon's own facts in the `meta` table, by intent: when a poll last ran and last
//! proved Gorgias answers, the last error, the mode the ledger was last run in. One writer
//! per fact and one reader for all of them (`perfectbot status`), so the keys and the stored
//! formats live here only.

use super::{Ledger, LedgerError};
use jiff::Timestamp;

/// A poll pass ran to its end (RFC 3339).
const LAST_POLL_AT: &str = "last_poll_at";
/// A poll of the running loop succeeded: Gorgias answered (RFC 3339).
const LAST_PASS_OK: &str = "last_pass_ok";
/// The last failure, "<when>: <what>" or "<when> ticket <id>: <what>".
const LAST_ERROR: &str = "last_error";
/// "live" or "shadow".
const MODE: &str = "mode";

/// What the daemon last recorded about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DaemonMeta {
    pub last_poll_at: Option<Timestamp>,
    pub last_pass_ok: Option<Timestamp>,
    /// As recorded: "<when>: <what>" or "<when> ticket <id>: <what>" (an excerpt).
    pub last_error: Option<String>,
}

impl Ledger {
    /// A poll pass ran to its end at `at`.
    pub async fn record_poll_done(&self, at: Timestamp) -> Result<(), LedgerError> {
        self.set_meta(LAST_POLL_AT, &at.to_string()).await
    }

    /// A poll of the running loop succeeded at `at`: only a poll proves Gorgias answers (a
    /// sweep with nothing due never calls it).
    pub async fn record_poll_ok(&self, at: Timestamp) -> Result<(), LedgerError> {
        self.set_meta(LAST_PASS_OK, &at.to_string()).await
    }

    /// A failure at `at`: of a whole pass (`ticket` None) or of one ticket's processing.
    pub async fn record_error(
        &self,
        at: Timestamp,
        ticket: Option<u64>,
        error: &(dyn std::fmt::Display + Sync),
    ) -> Result<(), LedgerError> {
        let line = match ticket {
            Some(id) => format!("{at} ticket {id}: {error}"),
            None => format!("{at}: {error}"),
        };
        self.set_meta(LAST_ERROR, &line).await
    }

    /// The daemon's last poll, good poll and error. A timestamp that does not parse (a ledger
    /// edited by hand) reads as absent.
    pub async fn daemon_meta(&self) -> Result<DaemonMeta, LedgerError> {
        let ts = |v: Option<String>| v.and_then(|s| s.parse::<Timestamp>().ok());
        Ok(DaemonMeta {
            last_poll_at: ts(self.meta(LAST_POLL_AT).await?),
            last_pass_ok: ts(self.meta(LAST_PASS_OK).await?),
            last_error: self.meta(LAST_ERROR).await?,
        })
    }

    /// The mode the ledger was last run in ("live", "shadow"), if any.
    pub async fn recorded_mode(&self) -> Result<Option<String>, LedgerError> {
        self.meta(MODE).await
    }

    /// Remembers the mode the daemon runs in.
    pub async fn record_mode(&self, mode: &str) -> Result<(), LedgerError> {
        self.set_meta(MODE, mode).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn meta_reads_back_what_the_daemon_recorded() {
        let l = Ledger::open_in_memory().await.unwrap();
        assert_eq!(l.daemon_meta().await.unwrap(), DaemonMeta::default());
        let at: Timestamp = "2026-03-01T10:00:00Z".parse().unwrap();
        l.record_poll_done(at).await.unwrap();
        l.record_error(at, Some(42), &"Gorgias 503").await.unwrap();
        let m = l.daemon_meta().await.unwrap();
        assert_eq!(m.last_poll_at, Some(at));
        assert_eq!(m.last_pass_ok, None);
        assert_eq!(
            m.last_error.as_deref(),
            Some("2026-03-01T10:00:00Z ticket 42: Gorgias 503")
        );
        l.record_poll_ok(at).await.unwrap();
        l.record_error(at, None, &"listing failed").await.unwrap();
        let m = l.daemon_meta().await.unwrap();
        assert_eq!(m.last_pass_ok, Some(at));
        assert_eq!(
            m.last_error.as_deref(),
            Some("2026-03-01T10:00:00Z: listing failed")
        );
        assert_eq!(l.recorded_mode().await.unwrap(), None);
        l.record_mode("shadow").await.unwrap();
        assert_eq!(l.recorded_mode().await.unwrap().as_deref(), Some("shadow"));
    }
}
