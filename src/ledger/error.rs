//! `LedgerError`: what can go wrong with the ledger, and whether the daemon can go on.
//!
//! SQLite failures are classified by their result code at the point they are caught, so the
//! daemon can say why it stops ("the ledger's disk is full") rather than print an SQLite code.

use std::path::PathBuf;

use rusqlite::ErrorCode;

/// A ledger failure. `what` names the operation (and the ticket, key or row) that failed.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The directory that should hold the ledger file does not exist (the ledger never creates
    /// it: under systemd, `StateDirectory=` does).
    #[error("the ledger's directory {dir} does not exist (ledger file {path})")]
    DirMissing { path: PathBuf, dir: PathBuf },
    /// The ledger file could not be created.
    #[error("cannot create the ledger {}: {source}", path.display())]
    Create {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// SQLite could not open (or configure) the file.
    #[error("cannot open the ledger {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    /// The schema migrations failed.
    #[error("cannot migrate the ledger schema of {path}: {source}")]
    Migrate {
        path: PathBuf,
        #[source]
        source: rusqlite_migration::Error,
    },
    /// A read-only open found a schema version other than this build's (run the daemon once
    /// to migrate, or use the matching binary).
    #[error("the ledger {path} has schema version {found}, this build expects {expected}")]
    SchemaMismatch {
        path: PathBuf,
        found: i64,
        expected: i64,
    },
    /// SQLITE_READONLY: the file, its directory or the connection is read-only.
    #[error("the ledger {} is read-only ({what}): {source}", path.display())]
    ReadOnly {
        /// The ledger file (filled in by the handle the call went through).
        path: PathBuf,
        what: String,
        #[source]
        source: rusqlite::Error,
    },
    /// SQLITE_FULL: the disk (or the database's size limit) is full.
    #[error("the disk of the ledger {} is full ({what}): {source}", path.display())]
    Full {
        path: PathBuf,
        what: String,
        #[source]
        source: rusqlite::Error,
    },
    /// Any other SQLite failure (busy past the timeout, I/O error, damaged file, ...).
    #[error("ledger error in {} ({what}): {source}", path.display())]
    Sqlite {
        path: PathBuf,
        what: String,
        #[source]
        source: rusqlite::Error,
    },
    /// Another process holds the ledger's lock: one bot per ledger.
    #[error(
        "the ledger {} is in use by another perfectbot (its lock {} is held); \
         exactly one bot may run on a ledger",
        path.display(),
        lock.display()
    )]
    InUse { path: PathBuf, lock: PathBuf },
    /// The lock file beside the ledger could not be created or locked.
    #[error("cannot lock the ledger {} (lock file {}): {source}", path.display(), lock.display())]
    Lock {
        path: PathBuf,
        lock: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The ledger file the bot opened is gone from its path or was replaced by another file:
    /// what the bot writes would be lost, and a fresh ledger forgets what was done.
    #[error("the ledger {} {how} while the bot was running", path.display())]
    Lost { path: PathBuf, how: &'static str },
    /// A stored value this build cannot read (an unknown state or kind, a negative id, a
    /// timestamp out of range): names the table, row and value.
    #[error("corrupt ledger data: {detail}")]
    Corrupt { detail: String },
    /// `finish_action` named an action id that is not in the log.
    #[error("no action with id {id} in the ledger")]
    NoSuchAction { id: i64 },
    /// A value the ledger cannot store (e.g. an id above i64::MAX, unserializable JSON).
    #[error("cannot store {what}: {detail}")]
    Unstorable { what: String, detail: String },
    /// The connection's thread is gone: nothing more can be read or written.
    #[error("the ledger connection is closed")]
    Closed,
}

impl LedgerError {
    /// Wraps an SQLite error, sorting out read-only and full from the rest.
    pub(crate) fn sqlite(what: impl Into<String>, source: rusqlite::Error) -> Self {
        let what = what.into();
        // The handle names the file ([`Self::in_file`]): the connection's thread does not know it.
        let path = PathBuf::new();
        match source.sqlite_error_code() {
            Some(ErrorCode::ReadOnly) => Self::ReadOnly { path, what, source },
            Some(ErrorCode::DiskFull) => Self::Full { path, what, source },
            _ => Self::Sqlite { path, what, source },
        }
    }

    /// Names the ledger file in an SQLite failure that does not name it yet.
    pub(crate) fn in_file(mut self, file: &std::path::Path) -> Self {
        if let Self::ReadOnly { path, .. } | Self::Full { path, .. } | Self::Sqlite { path, .. } =
            &mut self
            && path.as_os_str().is_empty()
        {
            *path = file.to_path_buf();
        }
        self
    }

    /// True when the ledger cannot (or can no longer be trusted to) record writes: the daemon
    /// must stop acting on Gorgias, exit non-zero and let systemd restart it.
    /// False for a failure that may pass (busy past the timeout, a bad value in one row, an
    /// unknown action id).
    pub fn is_fatal(&self) -> bool {
        match self {
            Self::DirMissing { .. }
            | Self::Create { .. }
            | Self::Open { .. }
            | Self::Migrate { .. }
            | Self::SchemaMismatch { .. }
            | Self::ReadOnly { .. }
            | Self::Full { .. }
            | Self::InUse { .. }
            | Self::Lock { .. }
            | Self::Lost { .. }
            | Self::Closed => true,
            Self::Sqlite { source, .. } => matches!(
                source.sqlite_error_code(),
                Some(
                    ErrorCode::SystemIoFailure
                        | ErrorCode::DatabaseCorrupt
                        | ErrorCode::NotADatabase
                        | ErrorCode::CannotOpen
                        | ErrorCode::PermissionDenied
                        | ErrorCode::OutOfMemory
                        | ErrorCode::NoLargeFileSupport
                )
            ),
            Self::Corrupt { .. } | Self::NoSuchAction { .. } | Self::Unstorable { .. } => false,
        }
    }

    /// True for SQLITE_BUSY/SQLITE_LOCKED past the busy timeout: another process holds the
    /// write lock; retrying later may succeed.
    pub fn is_busy(&self) -> bool {
        matches!(
            self,
            Self::Sqlite { source, .. }
                if matches!(
                    source.sqlite_error_code(),
                    Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
                )
        )
    }
}

impl From<tokio_rusqlite::Error<LedgerError>> for LedgerError {
    fn from(e: tokio_rusqlite::Error<LedgerError>) -> Self {
        match e {
            tokio_rusqlite::Error::Error(inner) => inner,
            // ConnectionClosed, Close, and any future variant: the thread is gone.
            _ => Self::Closed,
        }
    }
}

/// Adds the failing operation's name to an SQLite error.
pub(crate) trait Ctx<T> {
    /// Maps an SQLite error to a `LedgerError` naming `what`.
    fn ctx(self, what: &str) -> Result<T, LedgerError>;
}

impl<T> Ctx<T> for rusqlite::Result<T> {
    fn ctx(self, what: &str) -> Result<T, LedgerError> {
        self.map_err(|e| LedgerError::sqlite(what, e))
    }
}
