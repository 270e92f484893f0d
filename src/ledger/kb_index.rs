//! The knowledge index (`kb_index`, FTS5, migration V3) and the vector cache beside it, on a
//! connection of their own: the knowledge base's blocking searches must not queue behind the
//! ledger's async writer. The daemon's index lives in the ledger file; tests, `kb list` and
//! `preview` build the same table in a private in-memory database. The scoring built on these
//! rows is the knowledge base's (`responder::kb`); every statement is here.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior, params};

use super::schema::KB_INDEX_TABLE;
use super::vectors;

/// BM25 column weights, in the table's column order (question, answer, keywords, entry_id): a
/// question word counts ten times an answer word, a keyword five times; the id is not searched.
const BM25: &str = "bm25(kb_index, 10.0, 1.0, 5.0, 0.0)";

/// How long the re-index waits for the ledger's writer before giving up (the ledger's own
/// transactions are milliseconds long).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// One row of the index: an entry's searched texts and its id.
#[derive(Debug, Clone, Copy)]
pub struct KbIndexRow<'a> {
    pub entry_id: &'a str,
    pub question: &'a str,
    pub answer: &'a str,
    pub keywords: &'a [String],
}

/// A connection on a knowledge index.
pub struct KbIndex {
    conn: Connection,
}

impl KbIndex {
    /// A new, empty index in a private in-memory database.
    pub fn in_memory() -> rusqlite::Result<KbIndex> {
        let conn = Connection::open_in_memory()?;
        conn.execute_batch(KB_INDEX_TABLE)?;
        Ok(KbIndex { conn })
    }

    /// The `kb_index` table of the ledger file at `path`, which must exist and be migrated.
    pub fn open_ledger(path: &Path) -> rusqlite::Result<KbIndex> {
        // No CREATE flag: the ledger (and its migrations) belong to `Ledger::open`.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // The ledger file is already in WAL mode (persistent). NORMAL, not the ledger's FULL: the
        // index is rebuilt from the files and `kb_learned` at every start, so a commit lost to a
        // power cut costs nothing, while FULL would fsync on every re-index.
        conn.execute_batch("PRAGMA synchronous = NORMAL;")?;
        Ok(KbIndex { conn })
    }

    /// Replaces every row with `rows` in one `BEGIN IMMEDIATE` transaction (in WAL mode a
    /// deferred one that turns into a writer gets SQLITE_BUSY at once): searches, which read in
    /// a transaction of their own, see the old index or the new one, never a mix. Row ids are
    /// the rows' positions.
    pub fn replace_all(&mut self, rows: &[KbIndexRow<'_>]) -> rusqlite::Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute("DELETE FROM kb_index", [])?;
        insert_rows(&tx, rows, RowIds::Positions)?;
        tx.commit()
    }

    /// Deletes the rows of the `changed` ids and inserts `rows` (the current version of those
    /// still present), in one `BEGIN IMMEDIATE` transaction. Row ids are assigned by SQLite:
    /// searches resolve rows by `entry_id`.
    pub fn replace_changed(
        &mut self,
        changed: &[String],
        rows: &[KbIndexRow<'_>],
    ) -> rusqlite::Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let ids = serde_json::Value::from(changed.to_vec()).to_string();
        tx.execute(
            "DELETE FROM kb_index WHERE entry_id IN (SELECT value FROM json_each(?1))",
            [ids],
        )?;
        insert_rows(&tx, rows, RowIds::Assigned)?;
        tx.commit()
    }

    /// A read of the index: every search of one question goes through one, so a re-index
    /// committed meanwhile cannot mix old and new rows. Dropped (rolled back, it wrote nothing)
    /// when done.
    pub fn read(&mut self) -> rusqlite::Result<KbIndexRead<'_>> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Deferred)?;
        Ok(KbIndexRead { tx })
    }

    /// The cached vectors of `model` among `hashes`, by hash (see `ledger::vectors`).
    pub fn cached_vectors(
        &self,
        model: &str,
        hashes: &[&str],
    ) -> rusqlite::Result<HashMap<String, Vec<f32>>> {
        vectors::cached_vectors(&self.conn, model, hashes)
    }

    /// Stores `new` vectors of `model` and forgets those of texts not in `keep`.
    pub fn store_vectors(
        &self,
        model: &str,
        new: &[(&str, &[f32])],
        keep: &[&str],
    ) -> rusqlite::Result<()> {
        vectors::store_vectors(&self.conn, model, new, keep)
    }
}

/// How [`insert_rows`] numbers the rows it inserts.
#[derive(Clone, Copy)]
enum RowIds {
    /// Each row's position in the list: the whole index is being written.
    Positions,
    /// Whatever SQLite assigns: the rows join an index that already has others.
    Assigned,
}

fn insert_rows(tx: &Transaction<'_>, rows: &[KbIndexRow<'_>], ids: RowIds) -> rusqlite::Result<()> {
    let mut insert = tx.prepare(
        "INSERT INTO kb_index (rowid, question, answer, keywords, entry_id) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for (i, row) in rows.iter().enumerate() {
        // A NULL rowid is SQLite's to assign.
        let rowid = match ids {
            RowIds::Positions => Some(i64::try_from(i).expect("fewer than 2^63 entries")),
            RowIds::Assigned => None,
        };
        insert.execute(params![
            rowid,
            row.question,
            row.answer,
            row.keywords.join(" ; "),
            row.entry_id
        ])?;
    }
    Ok(())
}

/// One read transaction on a [`KbIndex`].
pub struct KbIndexRead<'a> {
    tx: Transaction<'a>,
}

impl KbIndexRead<'_> {
    /// The row ids matching the FTS5 query `query`.
    pub fn matching(&self, query: &str) -> rusqlite::Result<HashSet<usize>> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT rowid FROM kb_index WHERE kb_index MATCH ?1")?;
        let rows = stmt
            .query_map([query], |r| r.get::<_, i64>(0))?
            .collect::<Result<Vec<i64>, _>>()?;
        Ok(rows
            .into_iter()
            .filter_map(|r| usize::try_from(r).ok())
            .collect())
    }

    /// The (row id, entry id) of at most `limit` rows matching `query`, best BM25 first.
    pub fn ranked(&self, query: &str, limit: usize) -> rusqlite::Result<Vec<(usize, String)>> {
        let sql = format!(
            "SELECT rowid, entry_id FROM kb_index WHERE kb_index MATCH ?1 ORDER BY {BM25} LIMIT ?2"
        );
        let mut stmt = self.tx.prepare_cached(&sql)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt
            .query_map(params![query, limit], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows
            .into_iter()
            .filter_map(|(rowid, id)| Some((usize::try_from(rowid).ok()?, id)))
            .collect())
    }
}
