//! The SQLite ledger: ticket rows, the action log (intent recorded before every Gorgias write),
//! the append-only event log, and a small key/value `meta` table.
//!
//! One dedicated thread owns each connection (tokio-rusqlite), so calls on one `Ledger` are
//! serialized and rusqlite never runs on a runtime worker. Every writing transaction is
//! `BEGIN IMMEDIATE`; no transaction outlives one `conn.call`, so none is ever held across an
//! await (least of all an HTTP call).
//!
//! This module stores and fetches; it makes no decisions and never reads a clock: every "now"
//! is an argument. Queries are named by intent (`due_closes`, `tracked`), and all SQL lives here
//! and in `schema.rs`.
//!
//! Timestamps are stored as INTEGER microseconds since the epoch: a `Timestamp` with
//! nanoseconds comes back truncated to the microsecond.

mod error;
mod events;
mod kb_index;
mod learned;
mod lock;
mod meta;
mod reason;
mod records;
mod schema;
mod sourced;
mod tickets;
mod types;
pub(crate) mod vectors;

#[cfg(test)]
mod tests;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use jiff::Timestamp;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, TransactionBehavior, params};

use error::Ctx;
pub use error::LedgerError;
use events::insert_event;
pub use events::{AfterFailure, Event, EventRow, NewEvent};
pub use learned::LearnedRow;
pub use lock::{LedgerLock, lock_path};
pub use meta::DaemonMeta;
pub use reason::{HandoverReason, StateReason, UnknownHandoverReason, UnknownStateReason};
pub use records::PruneStats;
pub use sourced::{SourceStatusRow, SourcedRow};
use tickets::upsert_ticket;
pub use types::*;

pub use kb_index::{KbIndex, KbIndexRead, KbIndexRow};

/// A handle on the ledger. Cheap to clone: clones share one connection and its thread.
#[derive(Clone)]
pub struct Ledger {
    conn: tokio_rusqlite::Connection,
    read_only: bool,
    /// The file, named in every error (":memory:" for an in-memory ledger).
    path: Arc<PathBuf>,
    /// The file's identity when it was opened read-write (see [`Ledger::check_file`]).
    identity: Option<FileId>,
}

impl fmt::Debug for Ledger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ledger")
            .field("path", &self.path)
            .field("read_only", &self.read_only)
            .finish_non_exhaustive()
    }
}

/// The most bytes of one customer-supplied text the ledger keeps (an excerpt of a longer one):
/// the ledger records what happened, it is not an archive of messages, and a 1 MB message must
/// not cost 1 MB per event.
pub const EXCERPT_BYTES: usize = 4096;

/// `text` cut to at most `max` bytes on a character boundary, with "…" marking a cut.
pub fn excerpt(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if text.len() <= max {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    std::borrow::Cow::Owned(format!("{}…", &text[..end]))
}

/// Which file a path names: device and inode. A file deleted and created anew at the same path
/// gets another identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    fn of(path: &Path) -> std::io::Result<FileId> {
        let m = std::fs::metadata(path)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt as _;
            Ok(FileId {
                dev: m.dev(),
                ino: m.ino(),
            })
        }
        #[cfg(not(unix))]
        {
            let _ = m;
            Ok(FileId { dev: 0, ino: 0 })
        }
    }
}

/// Creates the ledger file private to its owner (0600) when it does not exist yet: it holds
/// customer text. SQLite gives its -wal and -shm files the same permissions. An existing file
/// is left as it is, with a warning if others may read it.
fn create_private(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                if let Ok(m) = std::fs::metadata(path) {
                    let mode = m.permissions().mode() & 0o777;
                    if mode & 0o077 != 0 {
                        tracing::warn!(path = %path.display(), mode = format!("{mode:04o}"),
                            "the ledger can be read by other users; it holds customer text (chmod 600 it)");
                    }
                }
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

/// The states whose rows a retention sweep may delete.
const PRUNABLE_STATES: [TicketState; 3] = [
    TicketState::Closed,
    TicketState::Released,
    TicketState::Ignored,
];

const ACTION_COLS: &str = "id, key, ticket_id, kind, \"trigger\", status, payload, created_at, \
     finished_at, attempts, detail";

impl Ledger {
    /// Opens (creating if absent) the ledger file, sets the pragmas and migrates the schema.
    /// The file's directory must exist: the ledger does not create it.
    pub async fn open(path: &Path) -> Result<Ledger, LedgerError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let is_dir = tokio::fs::metadata(dir).await.is_ok_and(|m| m.is_dir());
            if !is_dir {
                return Err(LedgerError::DirMissing {
                    path: path.to_path_buf(),
                    dir: dir.to_path_buf(),
                });
            }
        }
        let owned = path.to_path_buf();
        tokio::task::spawn_blocking(move || create_private(&owned))
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))
            .and_then(|r| r)
            .map_err(|source| LedgerError::Create {
                path: path.to_path_buf(),
                source,
            })?;
        let conn = tokio_rusqlite::Connection::open(path)
            .await
            .map_err(|source| LedgerError::Open {
                path: path.to_path_buf(),
                source,
            })?;
        let mut ledger = Self::set_up(conn, path.to_path_buf()).await?;
        ledger.identity = FileId::of(path).ok();
        Ok(ledger)
    }

    /// Opens a private in-memory ledger (tests, `demo`).
    pub async fn open_in_memory() -> Result<Ledger, LedgerError> {
        let path = PathBuf::from(":memory:");
        let conn = tokio_rusqlite::Connection::open_in_memory()
            .await
            .map_err(|source| LedgerError::Open {
                path: path.clone(),
                source,
            })?;
        Self::set_up(conn, path).await
    }

    async fn set_up(
        conn: tokio_rusqlite::Connection,
        path: PathBuf,
    ) -> Result<Ledger, LedgerError> {
        let path_for_errors = path.clone();
        conn.call(move |c| {
            let mode = schema::configure_read_write(c).map_err(|source| LedgerError::Open {
                path: path.clone(),
                source,
            })?;
            if mode != "wal" && mode != "memory" {
                tracing::warn!(path = %path.display(), journal_mode = %mode,
                    "the ledger could not switch to WAL; readers will block the writer");
            }
            schema::migrations()
                .to_latest(c)
                .map_err(|source| LedgerError::Migrate { path, source })
        })
        .await?;
        Ok(Ledger {
            conn,
            read_only: false,
            path: Arc::new(path_for_errors),
            identity: None,
        })
    }

    /// Opens an existing ledger for reading only (`perfectbot status` while the daemon runs):
    /// no migrations, no journal change. Fails if the schema is not this build's.
    pub async fn open_read_only(path: &Path) -> Result<Ledger, LedgerError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = tokio_rusqlite::Connection::open_with_flags(path, flags)
            .await
            .map_err(|source| LedgerError::Open {
                path: path.to_path_buf(),
                source,
            })?;
        let path = path.to_path_buf();
        let path_for_errors = path.clone();
        conn.call(move |c| {
            let open_err = |source| LedgerError::Open {
                path: path.clone(),
                source,
            };
            schema::configure_read_only(c).map_err(open_err)?;
            let found: i64 = c
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .map_err(open_err)?;
            let expected = schema::latest_version();
            if found != expected {
                return Err(LedgerError::SchemaMismatch {
                    path,
                    found,
                    expected,
                });
            }
            Ok(())
        })
        .await?;
        Ok(Ledger {
            conn,
            read_only: true,
            path: Arc::new(path_for_errors),
            identity: None,
        })
    }

    /// True for a handle from `open_read_only` (every write fails with `ReadOnly`).
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// The ledger file (":memory:" for an in-memory ledger).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Checks that the path still names the file this handle opened: `Lost` when it was
    /// deleted or replaced (by hand, a restore, a cleanup job). Writes would then go to an
    /// unlinked file and be lost, and the next start would meet a fresh ledger that knows
    /// nothing of what was done. Ok for in-memory and read-only handles.
    pub fn check_file(&self) -> Result<(), LedgerError> {
        let Some(opened) = self.identity else {
            return Ok(());
        };
        let how = match FileId::of(&self.path) {
            Ok(now) if now == opened => return Ok(()),
            Ok(_) => "was replaced by another file",
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => "was deleted",
            Err(_) => "can no longer be found",
        };
        Err(LedgerError::Lost {
            path: self.path.to_path_buf(),
            how,
        })
    }

    async fn call<R, F>(&self, f: F) -> Result<R, LedgerError>
    where
        F: FnOnce(&mut Connection) -> Result<R, LedgerError> + Send + 'static,
        R: Send + 'static,
    {
        self.conn
            .call(f)
            .await
            .map_err(|e| LedgerError::from(e).in_file(&self.path))
    }

    // ---- actions ----

    /// Records the intent to perform an action, once per key:
    /// - absent: inserted as pending with attempts 1 → `Started` (go ahead);
    /// - present and pending: attempts += 1 → `Pending` (check Gorgias before retrying);
    /// - done or abandoned: untouched → `Finished` (never again).
    ///
    /// The stored payload is the first one; a later call's `payload` is ignored.
    pub async fn begin_action(
        &self,
        key: &ActionKey,
        payload: &str,
        now: Timestamp,
    ) -> Result<Begin, LedgerError> {
        let key = key.clone();
        let payload = payload.to_owned();
        self.call(move |c| {
            let what = format!("begin action {}", key.as_string());
            in_write_tx(c, &what, |tx| begin_in_tx(tx, &what, &key, &payload, now))
        })
        .await
    }

    /// Write-ahead for a whole plan, in ONE transaction: every step is begun (as
    /// [`Self::begin_action`] would) and the ticket's row saved, so a crash leaves either the
    /// whole plan recorded or none of it.
    pub async fn begin_plan(
        &self,
        row: &TicketRow,
        steps: &[(ActionKey, String)],
        now: Timestamp,
    ) -> Result<Vec<Begin>, LedgerError> {
        let row = row.clone();
        let steps = steps.to_vec();
        self.call(move |c| {
            let what = format!("begin the plan of ticket {}", row.ticket_id);
            in_write_tx(c, &what, |tx| {
                let mut out = Vec::with_capacity(steps.len());
                for (key, payload) in &steps {
                    out.push(begin_in_tx(tx, &what, key, payload, now)?);
                }
                upsert_ticket(tx, &what, &row)?;
                Ok(out)
            })
        })
        .await
    }

    /// Sets an action's status. `Done`/`Abandoned` stamp `finished_at = now`; `Pending` clears
    /// it (a failed try to be checked again). `detail` replaces the stored one when given.
    pub async fn finish_action(
        &self,
        id: i64,
        status: ActionStatus,
        detail: Option<&str>,
        now: Timestamp,
    ) -> Result<(), LedgerError> {
        let detail = detail.map(str::to_owned);
        self.call(move |c| {
            let what = format!("finish action {id} as {}", status_str(status));
            in_write_tx(c, &what, |tx| {
                update_action(tx, &what, id, status, detail, now)
            })
        })
        .await
    }

    /// Finishes an action, saves the ticket row it changed and optionally appends an event,
    /// in one transaction: the log never says "done" without the row reflecting it.
    pub async fn finish_action_and_save(
        &self,
        id: i64,
        status: ActionStatus,
        detail: Option<&str>,
        now: Timestamp,
        row: &TicketRow,
        event: Option<NewEvent>,
    ) -> Result<(), LedgerError> {
        let detail = detail.map(str::to_owned);
        let row = row.clone();
        self.call(move |c| {
            let what = format!(
                "finish action {id} as {} and save ticket {}",
                status_str(status),
                row.ticket_id
            );
            in_write_tx(c, &what, |tx| {
                update_action(tx, &what, id, status, detail, now)?;
                upsert_ticket(tx, &what, &row)?;
                match &event {
                    Some(e) => insert_event(tx, &what, e),
                    None => Ok(()),
                }
            })
        })
        .await
    }

    /// Actions recorded but not confirmed (to re-check against Gorgias at start-up), oldest
    /// first.
    pub async fn pending_actions(&self) -> Result<Vec<ActionRow>, LedgerError> {
        self.call(|c| {
            let sql = format!("SELECT {ACTION_COLS} FROM actions WHERE status = ?1 ORDER BY id");
            query_actions(
                c,
                "read pending actions",
                &sql,
                [status_str(ActionStatus::Pending)],
            )
        })
        .await
    }

    /// The action recorded under a key, if any.
    pub async fn action(&self, key: &ActionKey) -> Result<Option<ActionRow>, LedgerError> {
        let key_str = key.as_string();
        self.call(move |c| {
            let what = format!("read action {key_str}");
            select_action(c, &what, &key_str)
        })
        .await
    }

    /// Every action recorded for a ticket, oldest first.
    pub async fn actions_for(&self, ticket_id: u64) -> Result<Vec<ActionRow>, LedgerError> {
        let id_sql = to_i64("ticket id", ticket_id)?;
        self.call(move |c| {
            let what = format!("read actions of ticket {ticket_id}");
            let sql = format!("SELECT {ACTION_COLS} FROM actions WHERE ticket_id = ?1 ORDER BY id");
            query_actions(c, &what, &sql, [id_sql])
        })
        .await
    }

    /// Forgets every ticket row (the action and event logs stay). Used when the bot goes from
    /// shadow mode to live: shadow rows describe what the bot would have done, not what
    /// customers saw, so the live bot starts from what Gorgias shows. Returns how many rows.
    pub async fn forget_tickets(&self) -> Result<u64, LedgerError> {
        self.call(move |c| {
            let what = "forget ticket rows";
            in_write_tx(c, what, |tx| {
                let n = tx.execute("DELETE FROM tickets", []).ctx(what)?;
                Ok(n as u64)
            })
        })
        .await
    }

    // ---- meta ----

    /// Sets a meta value (e.g. `last_poll_at`, `last_poll_ok`, `last_error`).
    pub async fn set_meta(&self, key: &str, value: &str) -> Result<(), LedgerError> {
        // Values can carry text from outside (an error message quoting a response).
        let (key, value) = (key.to_owned(), excerpt(value, EXCERPT_BYTES).into_owned());
        self.call(move |c| {
            let what = format!("set meta {key}");
            in_write_tx(c, &what, |tx| {
                tx.execute(
                    "INSERT INTO meta (key, value) VALUES (?1, ?2) \
                     ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    [&key, &value],
                )
                .ctx(&what)?;
                Ok(())
            })
        })
        .await
    }

    /// A meta value, if set.
    pub async fn meta(&self, key: &str) -> Result<Option<String>, LedgerError> {
        let key = key.to_owned();
        self.call(move |c| {
            c.query_row("SELECT value FROM meta WHERE key = ?1", [&key], |r| {
                r.get(0)
            })
            .optional()
            .ctx(&format!("read meta {key}"))
        })
        .await
    }

    // ---- upkeep ----

    /// Retention sweep, in one transaction. Deletes:
    /// - ticket rows in closed/released/ignored last changed before `older_than` (by
    ///   `updated_at`, else `created_at`; a row with neither is kept);
    /// - done/abandoned actions finished before `older_than`;
    /// - events before `older_than`.
    ///
    /// A pruned action's key can be started again: choose `older_than` well before anything
    /// that could still re-trigger it (weeks, not hours).
    pub async fn prune(&self, older_than: Timestamp) -> Result<PruneStats, LedgerError> {
        let cutoff = older_than.as_microsecond();
        let states: Vec<&str> = PRUNABLE_STATES.iter().map(|s| s.as_str()).collect();
        let states_json = json_text("ticket states", &states)?;
        self.call(move |c| {
            let what = format!("prune rows older than {older_than}");
            in_write_tx(c, &what, |tx| {
                let tickets = tx
                    .execute(
                        "DELETE FROM tickets WHERE state IN (SELECT value FROM json_each(?1)) \
                         AND COALESCE(updated_at, created_at) < ?2",
                        params![states_json, cutoff],
                    )
                    .ctx(&what)?;
                let actions = tx
                    .execute(
                        "DELETE FROM actions WHERE status IN (?1, ?2) AND finished_at < ?3",
                        params![
                            status_str(ActionStatus::Done),
                            status_str(ActionStatus::Abandoned),
                            cutoff
                        ],
                    )
                    .ctx(&what)?;
                let events = tx
                    .execute("DELETE FROM events WHERE at < ?1", [cutoff])
                    .ctx(&what)?;
                Ok(PruneStats {
                    tickets: tickets as u64,
                    actions: actions as u64,
                    events: events as u64,
                })
            })
        })
        .await
    }

    /// Runs `PRAGMA integrity_check`: "ok" when the file is sound, else SQLite's findings, one
    /// per line.
    pub async fn integrity_check(&self) -> Result<String, LedgerError> {
        self.call(|c| {
            let what = "integrity check";
            let mut stmt = c.prepare("PRAGMA integrity_check").ctx(what)?;
            let lines = stmt
                .query_map([], |r| r.get::<_, String>(0))
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .ctx(what)?;
            Ok(lines.join("\n"))
        })
        .await
    }

    /// Test hook: make this handle's connection fail its writes as a full disk
    /// (`SimulatedFailure::Full`: the file may not grow by one page) or a read-only file
    /// (`SimulatedFailure::ReadOnly`). Both settings are per connection, which is why they
    /// cannot be applied from outside the process (and chmod does not stop root).
    #[doc(hidden)]
    pub async fn simulate_failure_for_tests(
        &self,
        failure: SimulatedFailure,
    ) -> Result<(), LedgerError> {
        self.call(move |c| {
            let what = "test hook";
            match failure {
                SimulatedFailure::Full => {
                    let pages: i64 = c
                        .query_row("PRAGMA page_count", [], |r| r.get(0))
                        .ctx(what)?;
                    c.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(()))
                        .ctx(what)?;
                }
                SimulatedFailure::ReadOnly => c.execute_batch("PRAGMA query_only = 1").ctx(what)?,
            }
            Ok(())
        })
        .await
    }

    /// Copies the WAL into the database file and truncates it (upkeep, e.g. daily), so the
    /// WAL does not grow without bound. Returns Ok also when readers kept it from completing:
    /// the next checkpoint finishes the work.
    pub async fn checkpoint(&self) -> Result<(), LedgerError> {
        self.call(|c| {
            let (busy, _log, _done): (i64, i64, i64) = c
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .ctx("checkpoint")?;
            if busy != 0 {
                tracing::debug!("ledger checkpoint incomplete: readers active");
            }
            Ok(())
        })
        .await
    }
}

// ---- helpers (run on the connection's thread) ----

/// Runs `f` in a `BEGIN IMMEDIATE` transaction, committing on Ok; an Err rolls back (drop).
/// Begin one action inside a write transaction (see [`Ledger::begin_action`]).
fn begin_in_tx(
    tx: &rusqlite::Transaction<'_>,
    what: &str,
    key: &ActionKey,
    payload: &str,
    now: Timestamp,
) -> Result<Begin, LedgerError> {
    let key_str = key.as_string();
    let ticket_sql = to_i64("action ticket id", key.ticket_id)?;
    match select_action(tx, what, &key_str)? {
        None => {
            tx.prepare_cached(
                "INSERT INTO actions (key, ticket_id, kind, \"trigger\", status, \
                     payload, created_at, finished_at, attempts, detail) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, 1, NULL)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    key_str,
                    ticket_sql,
                    key.kind.as_str(),
                    key.trigger,
                    status_str(ActionStatus::Pending),
                    payload,
                    now.as_microsecond(),
                ])
            })
            .ctx(what)?;
            Ok(Begin::Started(ActionRow {
                id: tx.last_insert_rowid(),
                key: key.clone(),
                status: ActionStatus::Pending,
                payload: payload.to_owned(),
                // As stored: truncated to the microsecond.
                created_at: Timestamp::from_microsecond(now.as_microsecond()).unwrap_or(now),
                finished_at: None,
                attempts: 1,
                detail: None,
            }))
        }
        Some(mut row) if row.status == ActionStatus::Pending => {
            tx.execute(
                "UPDATE actions SET attempts = attempts + 1 WHERE id = ?1",
                [row.id],
            )
            .ctx(what)?;
            row.attempts = row.attempts.saturating_add(1);
            Ok(Begin::Pending(row))
        }
        Some(row) => Ok(Begin::Finished(row)),
    }
}

fn in_write_tx<R>(
    c: &mut Connection,
    what: &str,
    f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<R, LedgerError>,
) -> Result<R, LedgerError> {
    let tx = c
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .ctx(what)?;
    let out = f(&tx)?;
    tx.commit().ctx(what)?;
    Ok(out)
}

/// Every row `stmt` (no parameters) yields, mapped by `f`.
fn all_rows<T>(
    stmt: &mut rusqlite::Statement<'_>,
    what: &str,
    f: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>, LedgerError> {
    stmt.query_map([], f)
        .ctx(what)?
        .collect::<Result<_, _>>()
        .ctx(what)
}

/// Every row of the parameterless query `sql`, read as the tuple `T` and then made a typed
/// row by `check`: SQLite hands back plain integers, and a stored value out of its type's range
/// is `Corrupt` naming its cell rather than a silent default.
fn checked_rows<T, R>(
    c: &Connection,
    what: &str,
    sql: &str,
    check: impl FnMut(T) -> Result<R, LedgerError>,
) -> Result<Vec<R>, LedgerError>
where
    T: for<'r> TryFrom<&'r Row<'r>, Error = rusqlite::Error>,
{
    let mut stmt = c.prepare(sql).ctx(what)?;
    let raw: Vec<T> = all_rows(&mut stmt, what, |r| T::try_from(r))?;
    raw.into_iter().map(check).collect()
}

/// Deletes the rows of one group of `table` (`group_col = group`) whose `id_col` is not in
/// `keep`: what makes a group's stored entries exactly the ones just read. Returns how many.
/// The table and column names are this module's constants, never input.
fn delete_unkept(
    tx: &rusqlite::Transaction<'_>,
    what: &str,
    table: &str,
    group_col: &str,
    group: &dyn rusqlite::ToSql,
    id_col: &str,
    keep: &[&str],
) -> Result<usize, LedgerError> {
    let keep = json_text("kept ids", keep)?;
    tx.execute(
        &format!(
            "DELETE FROM {table} WHERE {group_col} = ?1 \
             AND {id_col} NOT IN (SELECT value FROM json_each(?2))"
        ),
        rusqlite::params![group, keep],
    )
    .ctx(what)
}

fn to_i64(what: &str, v: u64) -> Result<i64, LedgerError> {
    i64::try_from(v).map_err(|_| LedgerError::Unstorable {
        what: what.to_owned(),
        detail: format!("{v} is above i64::MAX"),
    })
}

fn json_text<T: serde::Serialize + ?Sized>(what: &str, v: &T) -> Result<String, LedgerError> {
    serde_json::to_string(v).map_err(|e| LedgerError::Unstorable {
        what: what.to_owned(),
        detail: e.to_string(),
    })
}

fn opt_us(t: Option<Timestamp>) -> Option<i64> {
    t.map(Timestamp::as_microsecond)
}

fn status_str(s: ActionStatus) -> &'static str {
    match s {
        ActionStatus::Pending => "pending",
        ActionStatus::Done => "done",
        ActionStatus::Abandoned => "abandoned",
    }
}

fn parse_status(s: &str) -> Option<ActionStatus> {
    Some(match s {
        "pending" => ActionStatus::Pending,
        "done" => ActionStatus::Done,
        "abandoned" => ActionStatus::Abandoned,
        _ => return None,
    })
}

/// Names a stored row, to turn a bad value into a `Corrupt` that says where it is.
struct Cell {
    table: &'static str,
    row: String,
}

impl Cell {
    fn new(table: &'static str, row: String) -> Self {
        Self { table, row }
    }

    fn corrupt(&self, column: &str, value: impl fmt::Debug, why: &str) -> LedgerError {
        LedgerError::Corrupt {
            detail: format!(
                "table {}, row {}, column {column}: {why} {value:?}",
                self.table, self.row
            ),
        }
    }

    fn ts(&self, column: &str, us: Option<i64>) -> Result<Option<Timestamp>, LedgerError> {
        us.map(|v| {
            Timestamp::from_microsecond(v)
                .map_err(|_| self.corrupt(column, v, "timestamp out of range"))
        })
        .transpose()
    }

    fn ts_req(&self, column: &str, us: i64) -> Result<Timestamp, LedgerError> {
        Timestamp::from_microsecond(us)
            .map_err(|_| self.corrupt(column, us, "timestamp out of range"))
    }

    fn u64(&self, column: &str, v: Option<i64>) -> Result<Option<u64>, LedgerError> {
        v.map(|v| u64::try_from(v).map_err(|_| self.corrupt(column, v, "negative number")))
            .transpose()
    }

    fn u32(&self, column: &str, v: i64) -> Result<u32, LedgerError> {
        u32::try_from(v).map_err(|_| self.corrupt(column, v, "counter out of range"))
    }
}

fn action_from_row(r: &Row<'_>) -> Result<ActionRow, LedgerError> {
    let what = "read an actions row";
    let id: i64 = r.get(0).ctx(what)?;
    let key_str: String = r.get(1).ctx(what)?;
    let cell = Cell::new("actions", format!("id={id} key={key_str:?}"));
    let ticket_id: i64 = r.get(2).ctx(what)?;
    let kind: String = r.get(3).ctx(what)?;
    let trigger: String = r.get(4).ctx(what)?;
    let status: String = r.get(5).ctx(what)?;
    let key = ActionKey {
        ticket_id: cell
            .u64("ticket_id", Some(ticket_id))?
            .expect("Some in, Some out"),
        kind: ActionKind::parse(&kind)
            .ok_or_else(|| cell.corrupt("kind", &kind, "unknown kind"))?,
        trigger,
    };
    if key.as_string() != key_str {
        return Err(cell.corrupt("key", &key_str, "key does not match ticket_id/kind/trigger"));
    }
    Ok(ActionRow {
        id,
        key,
        status: parse_status(&status)
            .ok_or_else(|| cell.corrupt("status", &status, "unknown status"))?,
        payload: r.get(6).ctx(what)?,
        created_at: cell.ts_req("created_at", r.get(7).ctx(what)?)?,
        finished_at: cell.ts("finished_at", r.get(8).ctx(what)?)?,
        attempts: cell.u32("attempts", r.get(9).ctx(what)?)?,
        detail: r.get(10).ctx(what)?,
    })
}

/// Every row `sql` yields with `params`, each read by `from_row` (which names a bad value).
fn query_rows<T>(
    c: &Connection,
    what: &str,
    sql: &str,
    params: impl rusqlite::Params,
    from_row: fn(&Row<'_>) -> Result<T, LedgerError>,
) -> Result<Vec<T>, LedgerError> {
    let mut stmt = c.prepare_cached(sql).ctx(what)?;
    let mut rows = stmt.query(params).ctx(what)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().ctx(what)? {
        out.push(from_row(r)?);
    }
    Ok(out)
}

fn query_actions(
    c: &Connection,
    what: &str,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<ActionRow>, LedgerError> {
    query_rows(c, what, sql, params, action_from_row)
}

fn select_action(c: &Connection, what: &str, key: &str) -> Result<Option<ActionRow>, LedgerError> {
    let sql = format!("SELECT {ACTION_COLS} FROM actions WHERE key = ?1");
    Ok(query_actions(c, what, &sql, [key])?.into_iter().next())
}

fn update_action(
    c: &Connection,
    what: &str,
    id: i64,
    status: ActionStatus,
    detail: Option<String>,
    now: Timestamp,
) -> Result<(), LedgerError> {
    let finished_at = match status {
        ActionStatus::Pending => None,
        ActionStatus::Done | ActionStatus::Abandoned => Some(now.as_microsecond()),
    };
    let n = c
        .execute(
            "UPDATE actions SET status = ?1, finished_at = ?2, detail = COALESCE(?3, detail) \
             WHERE id = ?4",
            params![status_str(status), finished_at, detail, id],
        )
        .ctx(what)?;
    if n == 0 {
        return Err(LedgerError::NoSuchAction { id });
    }
    Ok(())
}
