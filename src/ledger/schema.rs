//! The ledger's schema and its migrations, and the pragmas every connection gets.
//!
//! Migrations are append-only: never edit a released `M::up`, add a new one. The schema version
//! lives in SQLite's `user_version`, managed by `rusqlite_migration`.
//! Timestamps are INTEGER microseconds since the Unix epoch (UTC), so they sort and compare as
//! numbers; ids are INTEGER (Gorgias ids fit in an i64).

use std::time::Duration;

use rusqlite::Connection;
use rusqlite_migration::{M, Migrations};

/// How long a statement waits for another connection's lock before giving up with SQLITE_BUSY.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Version 1: tickets, the action log, the event log, meta.
///
/// `actions.trigger` is quoted everywhere because TRIGGER is an SQL keyword.
/// No CHECK constraints on state/kind/status strings: a new state must not need a table rebuild;
/// the ledger validates them when reading (and reports `Corrupt` for a bad one).
/// AUTOINCREMENT keeps ids of pruned actions/events from being reused, so an id in a log line
/// always means one row.
const V1: &str = r#"
CREATE TABLE tickets (
    ticket_id            INTEGER PRIMARY KEY,
    state                TEXT    NOT NULL,
    reason               TEXT,
    last_customer_msg_id INTEGER,
    last_customer_msg_at INTEGER,
    last_bot_reply_at    INTEGER,
    close_deadline       INTEGER,
    email_requested_at   INTEGER,
    returned_at          INTEGER,
    seen_updated_at      INTEGER,
    seen_messages_count  INTEGER,
    seen_fingerprint     TEXT,
    pending_since        INTEGER,
    answers              INTEGER NOT NULL DEFAULT 0,
    handovers            INTEGER NOT NULL DEFAULT 0,
    closes               INTEGER NOT NULL DEFAULT 0,
    created_at           INTEGER,
    updated_at           INTEGER
) STRICT;
CREATE INDEX tickets_by_state ON tickets(state, close_deadline);
CREATE INDEX tickets_by_close_deadline ON tickets(close_deadline) WHERE close_deadline IS NOT NULL;

CREATE TABLE actions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    key         TEXT    NOT NULL UNIQUE,
    ticket_id   INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    "trigger"   TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    payload     TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    finished_at INTEGER,
    attempts    INTEGER NOT NULL DEFAULT 1,
    detail      TEXT
) STRICT;
CREATE INDEX actions_by_status ON actions(status);
CREATE INDEX actions_by_ticket ON actions(ticket_id);

CREATE TABLE events (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        INTEGER NOT NULL,
    ticket_id INTEGER,
    kind      TEXT    NOT NULL,
    reason    TEXT,
    detail    TEXT
) STRICT;
CREATE INDEX events_by_at ON events(at);
CREATE INDEX events_by_kind ON events(kind, at);
CREATE INDEX events_by_ticket ON events(ticket_id) WHERE ticket_id IS NOT NULL;

CREATE TABLE meta (
    key   TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
"#;

/// Version 2: knowledge entries learned from agents' `#kb` internal notes, one per note
/// (`id` = `note:<message id>`), so they survive restarts.
const V2: &str = r#"
CREATE TABLE kb_learned (
    id         TEXT    NOT NULL PRIMARY KEY,
    ticket_id  INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    question   TEXT    NOT NULL,
    answer     TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX kb_learned_by_ticket ON kb_learned(ticket_id);
"#;

/// The knowledge index table: the FTS5 table the knowledge base searches. The daemon's index
/// lives in the ledger (migration V3); tests, `kb list` and `preview` build the same table in
/// memory. Columns: question, answer, keywords (searched, BM25 weights in `kb_index`) and
/// `entry_id` (not searched: resolves a row to its entry). Part of a released migration: a
/// change needs a new migration, not an edit.
pub(crate) const KB_INDEX_TABLE: &str = "CREATE VIRTUAL TABLE kb_index USING fts5(\
     question, answer, keywords, entry_id UNINDEXED, \
     tokenize = 'porter unicode61 remove_diacritics 2');";

/// Version 4: dense vectors of knowledge texts, cached by embedding model and content hash, so a
/// restart or a reload embeds only the texts that changed. `vector` is `dim` little-endian f32.
/// Derived data like `kb_index`: deleting rows only costs a re-embedding.
const V4: &str = r#"
CREATE TABLE kb_vectors (
    model  TEXT NOT NULL,
    hash   TEXT NOT NULL,
    dim    INTEGER NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (model, hash)
) WITHOUT ROWID;
"#;

/// Version 5: knowledge read from the shop's own sources (Gorgias macros, help-centre pages),
/// kept so that a restart while a source is down still answers with its last good entries,
/// and so that `kb list` and `status` can show them. `kb_sourced` holds one row per entry
/// (`entry_id` = `macro:ID` or `site:URL#heading`), `kb_sources` one row per source with its
/// last refresh and error.
const V5: &str = r#"
CREATE TABLE kb_sourced (
    source   TEXT    NOT NULL,
    entry_id TEXT    NOT NULL,
    question TEXT    NOT NULL,
    answer   TEXT    NOT NULL,
    language TEXT,
    read_at  INTEGER NOT NULL,
    PRIMARY KEY (source, entry_id)
) STRICT;
CREATE TABLE kb_sources (
    name         TEXT    NOT NULL PRIMARY KEY,
    last_attempt INTEGER,
    last_ok      INTEGER,
    last_error   TEXT,
    entries      INTEGER NOT NULL DEFAULT 0
) STRICT;
"#;

/// Every migration, oldest first.
pub(crate) fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(V1).comment("tickets, actions, events, meta"),
        M::up(V2).comment("kb_learned"),
        // V3: the knowledge index. Derived data: the daemon rewrites every row at start, on a
        // file change, SIGHUP or a learned note, so no bookkeeping table is needed.
        M::up(KB_INDEX_TABLE).comment("kb_index (FTS5)"),
        M::up(V4).comment("kb_vectors"),
        M::up(V5).comment("kb_sourced, kb_sources"),
    ])
}

/// The schema version after all migrations (what `user_version` must read).
pub(crate) fn latest_version() -> i64 {
    // One per `M::up` in `migrations()`.
    5
}

/// Pragmas for the daemon's read-write connection.
///
/// busy_timeout first, so that switching to WAL waits for another opener instead of failing.
/// WAL lets `perfectbot status` read while the daemon writes; FULL syncs each commit, because a
/// lost "done" would repeat a Gorgias write after a power loss.
pub(crate) fn configure_read_write(conn: &mut Connection) -> rusqlite::Result<String> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")?;
    // Any `conn.transaction()` (including the migrations') takes the write lock at BEGIN:
    // a deferred transaction that upgrades in WAL mode gets SQLITE_BUSY at once.
    conn.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
    Ok(mode)
}

/// Pragmas for a read-only connection: no journal change (that would be a write).
pub(crate) fn configure_read_only(conn: &mut Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.execute_batch("PRAGMA foreign_keys = ON;")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        migrations().validate().expect("valid migrations");
    }

    #[test]
    fn latest_version_matches_the_migration_count() {
        let mut conn = Connection::open_in_memory().expect("open");
        migrations().to_latest(&mut conn).expect("migrate");
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("user_version");
        assert_eq!(v, latest_version());
    }
}
