//! Operating the bot: the commands an operator runs beside the daemon.
//! - [`status`]: the ledger's picture right now (read-only, no network; safe while the daemon
//!   runs).
//! - [`report`]: figures over a period from the event log (read-only, no network).
//! - [`kb`]: `kb list`, every knowledge entry and its source (read-only, no network).
//! - [`setup`]: creates the team's Gorgias views (and optionally the webhook), idempotently.
//!
//! These commands never write the ledger and never decide anything about a ticket: the daemon
//! owns both. `status` and `report` read the config without its Gorgias secrets
//! ([`config::Secrets::Optional`]), so an operator can run them from a shell that cannot read
//! the API key (systemd hands it only to the unit).

pub mod kb;
pub mod preflight;
pub mod report;
pub mod setup;
pub mod status;

use std::path::{Path, PathBuf};

use jiff::SignedDuration;

use crate::config::{self, Config};
use crate::ledger::{Ledger, LedgerError};

/// Why an operations command could not run.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    /// The config file is unreadable or invalid (every problem, one per line).
    #[error("{0}")]
    Config(String),
    /// The ledger file is not there: the daemon has not run yet with this config, or
    /// `ledger.path` points elsewhere.
    #[error(
        "no ledger at {path}: has the daemon run with this config yet? (ledger.path, or $STATE_DIRECTORY/ledger.db)"
    )]
    LedgerMissing { path: PathBuf },
    /// The ledger could not be opened or read.
    #[error("reading the ledger {path}")]
    Ledger {
        path: PathBuf,
        #[source]
        source: Box<LedgerError>,
    },
}

/// Loads the config for a command that never calls Gorgias ([`config::load_offline`]): the
/// Gorgias key is not read, so a missing or unreadable key file is not an error. Everything
/// else (the ledger path, `$STATE_DIRECTORY`, timings, tags) is read as the daemon reads it.
pub fn load_offline(path: &Path) -> Result<Config, OpsError> {
    config::load_offline(path).map_err(|e| OpsError::Config(e.to_string()))
}

/// Opens the ledger read-only, with a clear error when the file is absent (SQLite's own
/// "unable to open database file" does not say which file or why).
pub async fn open_ledger(path: &Path) -> Result<Ledger, OpsError> {
    if !path.is_file() {
        return Err(OpsError::LedgerMissing {
            path: path.to_path_buf(),
        });
    }
    Ledger::open_read_only(path)
        .await
        .map_err(|source| OpsError::Ledger {
            path: path.to_path_buf(),
            source: Box::new(source),
        })
}

/// A duration for people, at most two units: "42s", "3m 05s", "2h 03m", "4d 07h".
/// Negative durations are shown by magnitude (the caller says "overdue").
pub fn short_duration(d: SignedDuration) -> String {
    let secs = d.as_secs().unsigned_abs();
    let (days, hours, mins, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if days > 0 {
        format!("{days}d {hours:02}h")
    } else if hours > 0 {
        format!("{hours}h {mins:02}m")
    } else if mins > 0 {
        format!("{mins}m {s:02}s")
    } else {
        format!("{s}s")
    }
}

/// "in 42s" for a moment ahead of `now`, "overdue 3s" for one behind it.
pub fn relative(now: jiff::Timestamp, at: jiff::Timestamp) -> String {
    let d = at.duration_since(now);
    if d.is_negative() {
        format!("overdue {}", short_duration(d))
    } else {
        format!("in {}", short_duration(d))
    }
}

/// A moment as people read it: to the second, in UTC ("2026-12-07T00:54:13Z"), never with
/// nanoseconds.
pub fn stamp(t: jiff::Timestamp) -> String {
    t.round(jiff::Unit::Second).unwrap_or(t).to_string()
}

/// A moment in JSON output: RFC 3339 to the millisecond.
pub fn stamp_ms(t: jiff::Timestamp) -> String {
    t.round(jiff::Unit::Millisecond).unwrap_or(t).to_string()
}

/// "42s ago" for a moment behind `now` (a clock skew ahead of it shows as "just now").
pub fn ago(now: jiff::Timestamp, at: jiff::Timestamp) -> String {
    let d = now.duration_since(at);
    if d.is_negative() {
        "just now".to_owned()
    } else {
        format!("{} ago", short_duration(d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;

    #[test]
    fn stamps_never_show_nanoseconds() {
        let t: Timestamp = "2026-12-07T00:54:13.443393147Z".parse().unwrap();
        assert_eq!(stamp(t), "2026-12-07T00:54:13Z");
        assert_eq!(stamp_ms(t), "2026-12-07T00:54:13.443Z");
    }

    #[test]
    fn short_durations_use_at_most_two_units() {
        assert_eq!(short_duration(SignedDuration::from_secs(42)), "42s");
        assert_eq!(short_duration(SignedDuration::from_secs(185)), "3m 05s");
        assert_eq!(short_duration(SignedDuration::from_secs(7380)), "2h 03m");
        assert_eq!(
            short_duration(SignedDuration::from_secs(4 * 86_400 + 7 * 3600 + 5)),
            "4d 07h"
        );
        assert_eq!(short_duration(SignedDuration::from_secs(-3)), "3s");
    }

    #[test]
    fn relative_says_in_or_overdue() {
        let now: Timestamp = "2026-03-01T10:00:00Z".parse().unwrap();
        assert_eq!(relative(now, now + SignedDuration::from_secs(42)), "in 42s");
        assert_eq!(
            relative(now, now - SignedDuration::from_secs(3)),
            "overdue 3s"
        );
        assert_eq!(ago(now, now - SignedDuration::from_secs(90)), "1m 30s ago");
    }

    #[test]
    fn offline_load_needs_no_api_key() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("config.toml");
        std::fs::write(
            &cfg,
            "[gorgias]\nbase_url = \"http://127.0.0.1:9\"\nemail = \"bot@example.org\"\n\
             api_key_file = \"/nonexistent/key\"\n[ledger]\npath = \"state/l.db\"\n",
        )
        .unwrap();
        let c = load_offline(&cfg).unwrap();
        assert_eq!(c.ledger.path, dir.path().join("state/l.db"));
    }

    #[tokio::test]
    async fn a_missing_ledger_is_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nope.db");
        let err = open_ledger(&path).await.unwrap_err();
        assert!(matches!(err, OpsError::LedgerMissing { .. }));
        assert!(err.to_string().contains(&path.display().to_string()));
    }
}
