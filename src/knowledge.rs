//! The live knowledge base: the entries of `kb.dir`'s files plus the entries learned from
//! `#kb` internal notes (stored in the ledger), re-indexed into the responder when either
//! changes (a file changed, SIGHUP, a note learned); and the `#kb` scan of handed-over
//! tickets ([`LiveKb::learn_from_escalated`]).
//!
//! Where the index lives ([`KbStore`]): for the daemon, in the ledger file itself, in the FTS5
//! table `kb_index` (ledger migration V3), so the bot's whole state is one file that
//! `sqlite3 ledger.db` can inspect (which entries, which ranking for a text), backed up and
//! checked together. Each re-index opens its own rusqlite connection on the ledger (WAL,
//! busy_timeout) and rewrites every row in one `BEGIN IMMEDIATE` transaction; searches read in
//! a transaction, so they see the old index or the new one, never half of it. The index is
//! derived data: rebuilt from the files and `kb_learned` at every start. Neither touches a
//! runtime worker: re-indexing runs on `spawn_blocking` (it may wait for the ledger's write
//! lock), and so does the `kb` responder's search (`KbResponder::answer`). `preview` must never
//! write into a ledger a running daemon owns: it reads the learned rows read-only and indexes in
//! memory ([`KbStore::Memory`]); `kb list` ([`crate::ops::kb`]) builds no index at all.
//!
//! This module links the ledger and the responder; it decides nothing about tickets. A file
//! that cannot be read or parsed keeps the last good entries (never an empty knowledge base)
//! and is logged with its name; so does an index that cannot be written (the responder keeps
//! searching the previous one).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use jiff::Timestamp;

use crate::gorgias::Ticket;
use crate::ledger::{LearnedRow, Ledger, LedgerError};
use crate::responder::Responder;
use crate::responder::embed::Embedder;
use crate::responder::kb::{self, Kb, KbEntry, KbError, KbStore};
use crate::responder::learn;

mod escalated;
pub use escalated::{ESCALATED_READS_PER_SCAN, escalated_filter};

/// What the knowledge files looked like when last read: (path, modified, length) of each.
type DirStamp = Vec<(PathBuf, Option<SystemTime>, u64)>;

struct State {
    files: Vec<KbEntry>,
    stamp: DirStamp,
    learned: Vec<LearnedRow>,
    /// Entries read from the shop's own sources (`crate::sources`), by source name.
    sourced: std::collections::BTreeMap<String, Vec<KbEntry>>,
}

/// The knowledge files' entries and the learned ones; see the module doc.
pub struct LiveKb {
    dir: PathBuf,
    store: KbStore,
    embedder: Option<Arc<dyn Embedder>>,
    note_prefix: String,
    state: Mutex<State>,
    escalated: Mutex<Escalated>,
    /// What the last successful build put in the index: the next build re-indexes only the
    /// entries that differ. Behind an async lock held for the whole build, so that two builds
    /// (a learned note, a source refresh) never compute their changes from the same base.
    indexed: tokio::sync::Mutex<Option<Vec<KbEntry>>>,
}

/// What the scan of handed-over tickets has read: each ticket's `updated_datetime` when read,
/// and when the last scan ran.
#[derive(Default)]
struct Escalated {
    seen: HashMap<u64, Option<Timestamp>>,
    last_scan: Option<Instant>,
}

impl std::fmt::Debug for LiveKb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveKb").field("dir", &self.dir).finish()
    }
}

/// The knowledge entry of a stored learned row.
pub fn learned_entry(row: &LearnedRow) -> KbEntry {
    KbEntry {
        id: row.id.clone(),
        question: row.question.clone(),
        answer: row.answer.clone(),
        keywords: vec![],
        language: None,
        source: learn::source_of(row.ticket_id, row.message_id),
    }
}

/// The kind of source an entry came from, by its id: `macro`, `site`, `note` or `file`.
pub fn kind_of(entry_id: &str) -> &'static str {
    if entry_id.starts_with("macro:") {
        "macro"
    } else if entry_id.starts_with("site:") {
        "site"
    } else if entry_id.starts_with("note:") {
        "note"
    } else {
        "file"
    }
}

fn stamp(dir: &Path) -> DirStamp {
    kb::knowledge_files(dir)
        .unwrap_or_default()
        .into_iter()
        .map(|p| {
            let meta = std::fs::metadata(&p).ok();
            let modified = meta.as_ref().and_then(|m| m.modified().ok());
            let len = meta.map(|m| m.len()).unwrap_or(0);
            (p, modified, len)
        })
        .collect()
}

impl LiveKb {
    /// Reads the knowledge files of `dir` (an error names the bad file); learned entries are
    /// added with [`LiveKb::load_learned`]. Indexes in memory until [`LiveKb::index_in`].
    pub fn load(dir: &Path, note_prefix: &str) -> Result<LiveKb, KbError> {
        // Stamped before reading: a file changed while it is read is read again next time.
        let stamp = stamp(dir);
        let files = kb::read_dir_entries(dir)?;
        Ok(LiveKb {
            dir: dir.to_owned(),
            store: KbStore::Memory,
            embedder: Some(crate::responder::embed::builtin()),
            note_prefix: note_prefix.to_owned(),
            state: Mutex::new(State {
                files,
                stamp,
                learned: vec![],
                sourced: Default::default(),
            }),
            escalated: Mutex::new(Escalated::default()),
            indexed: tokio::sync::Mutex::new(None),
        })
    }

    /// Where the index is built from now on (the daemon: [`KbStore::for_ledger`]).
    pub fn index_in(mut self, store: KbStore) -> LiveKb {
        self.store = store;
        self
    }

    /// The embedding model for the entries' vectors from now on (`None`: BM25 alone; the
    /// default is the built-in model).
    pub fn embed_with(mut self, embedder: Option<Arc<dyn Embedder>>) -> LiveKb {
        self.embedder = embedder;
        self
    }

    /// Where the index is built.
    pub fn store(&self) -> &KbStore {
        &self.store
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every entry: files first, then learned ones, then those of each source (by source name;
    /// an id already taken, e.g. one page listed by two sites, is used once).
    pub fn entries(&self) -> Vec<KbEntry> {
        let st = self.state();
        let mut all = st.files.clone();
        all.extend(st.learned.iter().map(learned_entry));
        let mut seen: std::collections::HashSet<String> =
            all.iter().map(|e| e.id.clone()).collect();
        for entries in st.sourced.values() {
            all.extend(
                entries
                    .iter()
                    .filter(|e| seen.insert(e.id.clone()))
                    .cloned(),
            );
        }
        all
    }

    /// The entries in use from each source, by source name.
    pub fn sourced_counts(&self) -> Vec<(String, usize)> {
        self.state()
            .sourced
            .iter()
            .map(|(name, e)| (name.clone(), e.len()))
            .collect()
    }

    /// The entries of source `name` now in use (empty if none).
    pub fn sourced(&self, name: &str) -> Vec<KbEntry> {
        self.state().sourced.get(name).cloned().unwrap_or_default()
    }

    /// Makes `entries` the entries of source `name` (and drops the sources not in `keep`, when
    /// given) and, if that changes anything, re-indexes the changed entries into `responder`.
    /// Returns the entry count in use.
    pub async fn set_sourced(
        &self,
        name: &str,
        entries: Vec<KbEntry>,
        keep: Option<&[String]>,
        responder: &dyn Responder,
    ) -> usize {
        {
            let mut st = self.state();
            st.sourced.insert(name.to_owned(), entries);
            if let Some(keep) = keep {
                st.sourced.retain(|n, _| keep.contains(n));
            }
        }
        self.install(responder).await
    }

    /// The index over every entry, built in the store. Blocking (see [`KbStore::build`]).
    pub fn build(&self) -> Result<Kb, KbError> {
        self.store.build_with(self.entries(), self.embedder.clone())
    }

    /// Whether a knowledge file was added, removed or changed since the last read (a few
    /// `stat`s: cheap enough for every poll).
    pub fn files_changed(&self) -> bool {
        stamp(&self.dir) != self.state().stamp
    }

    /// Reads the learned entries from the ledger and builds the first index over every entry,
    /// for the responder to start with: the daemon's one build at start (vectors computed once,
    /// or read from the ledger's cache); later builds re-index only what changed. Unlike a
    /// re-index, a failure is an error: a daemon must not start without its knowledge.
    pub async fn first_index(&self, ledger: &Ledger) -> anyhow::Result<Kb> {
        use anyhow::Context as _;
        let learned = ledger
            .learned()
            .await
            .context("reading the knowledge learned from notes in the ledger")?;
        self.state().learned = learned;
        let mut indexed = self.indexed.lock().await;
        let entries = self.entries();
        let snapshot = entries.clone();
        let store = self.store.clone();
        let embedder = self.embedder.clone();
        let kb = tokio::task::spawn_blocking(move || store.build_with(entries, embedder))
            .await
            .context("the knowledge index build panicked")??;
        crate::metrics::record_kb_entries(snapshot.iter().map(|e| kind_of(&e.id)));
        *indexed = Some(snapshot);
        Ok(kb)
    }

    /// Reads the learned entries from the ledger and swaps the rebuilt index into `responder`.
    pub async fn load_learned(
        &self,
        ledger: &Ledger,
        responder: &dyn Responder,
    ) -> Result<usize, LedgerError> {
        let learned = ledger.learned().await?;
        let n = learned.len();
        self.state().learned = learned;
        self.install(responder).await;
        Ok(n)
    }

    /// Re-reads the knowledge files and swaps the rebuilt index into `responder`. A bad file
    /// keeps the last good entries and is logged (the error names it); it is not read again
    /// until the files change once more. Returns the entry count in use.
    pub async fn reload_files(&self, responder: &dyn Responder, why: &str) -> usize {
        let stamp = stamp(&self.dir);
        match kb::read_dir_entries(&self.dir) {
            Ok(files) => {
                {
                    let mut st = self.state();
                    st.files = files;
                    st.stamp = stamp;
                }
                let n = self.install(responder).await;
                tracing::info!(
                    entries = n,
                    dir = %self.dir.display(),
                    why,
                    "knowledge base reloaded"
                );
                n
            }
            Err(e) => {
                self.state().stamp = stamp;
                let n = self.entries().len();
                tracing::error!(error = %e, entries = n, why,
                    "knowledge files not reloaded; keeping the previous knowledge base");
                n
            }
        }
    }

    /// Re-reads the files if they changed since the last read.
    pub async fn reload_if_changed(&self, responder: &dyn Responder) {
        if self.files_changed() {
            self.reload_files(responder, "files changed").await;
        }
    }

    /// Harvests the `#kb` notes of a freshly read ticket into the ledger; when that changes
    /// anything, rebuilds the index from files and every learned entry.
    pub async fn learn_from(
        &self,
        ticket: &Ticket,
        bot_user_id: u64,
        ledger: &Ledger,
        responder: &dyn Responder,
        now: Timestamp,
    ) -> Result<(), LedgerError> {
        let notes = learn::harvest(ticket, &self.note_prefix, bot_user_id);
        // Most tickets have no notes and never had, and notes once learned rarely change: skip
        // the ledger write when what is known already matches.
        let unchanged = {
            let st = self.state();
            let mut known: Vec<(String, &str, &str)> = st
                .learned
                .iter()
                .filter(|r| r.ticket_id == ticket.id)
                .map(|r| (r.id.clone(), r.question.as_str(), r.answer.as_str()))
                .collect();
            let mut found: Vec<(String, &str, &str)> = notes
                .iter()
                .map(|n| (n.id(), n.question.as_str(), n.answer.as_str()))
                .collect();
            known.sort();
            found.sort();
            known == found
        };
        if unchanged {
            return Ok(());
        }
        let rows = notes
            .iter()
            .map(|n| LearnedRow {
                id: n.id(),
                ticket_id: n.ticket_id,
                message_id: n.message_id,
                question: n.question.clone(),
                answer: n.answer.clone(),
                updated_at: now,
            })
            .collect();
        if ledger.sync_learned(ticket.id, rows, now).await? {
            let n = self.load_learned(ledger, responder).await?;
            tracing::info!(
                ticket_id = ticket.id,
                notes = notes.len(),
                learned = n,
                "learned knowledge from internal notes"
            );
        }
        Ok(())
    }

    fn escalated(&self) -> std::sync::MutexGuard<'_, Escalated> {
        self.escalated.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether a scan of handed-over tickets is due (at most one per `every`); if so, it counts
    /// as started now.
    pub fn escalated_scan_due(&self, every: Duration) -> bool {
        let mut e = self.escalated();
        if e.last_scan.is_some_and(|at| at.elapsed() < every) {
            return false;
        }
        e.last_scan = Some(Instant::now());
        true
    }

    /// Whether a handed-over ticket changed since the scan last read it.
    pub fn escalated_changed(&self, ticket_id: u64, updated: Option<Timestamp>) -> bool {
        self.escalated().seen.get(&ticket_id) != Some(&updated)
    }

    /// Remembers that the scan read the ticket as of `updated`.
    pub fn escalated_read(&self, ticket_id: u64, updated: Option<Timestamp>) {
        self.escalated().seen.insert(ticket_id, updated);
    }

    /// Forgets tickets that left the handed-over list (keeps the memory bounded by the queue).
    pub fn escalated_keep_only(&self, ids: &[u64]) {
        self.escalated().seen.retain(|id, _| ids.contains(id));
    }

    /// Builds the index (off the runtime: a ledger-backed build waits for the ledger's write
    /// lock and writes the file) and gives it to the responder; a build failure keeps the
    /// responder's index. Returns the entry count.
    async fn install(&self, responder: &dyn Responder) -> usize {
        let mut indexed = self.indexed.lock().await;
        let entries = self.entries();
        let changed = indexed.as_ref().map(|before| changed_ids(before, &entries));
        if changed.as_ref().is_some_and(Vec::is_empty) {
            return entries.len();
        }
        let store = self.store.clone();
        let embedder = self.embedder.clone();
        let snapshot = entries.clone();
        let built = tokio::task::spawn_blocking(move || match changed {
            Some(changed) => store.update(entries, &changed, embedder),
            None => store.build_with(entries, embedder),
        })
        .await;
        match built {
            Ok(Ok(kb)) => {
                let n = kb.len();
                responder.replace_kb(kb);
                crate::metrics::record_kb_entries(snapshot.iter().map(|e| kind_of(&e.id)));
                *indexed = Some(snapshot);
                n
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "cannot rebuild the knowledge index; keeping the previous one");
                0
            }
            Err(e) => {
                tracing::error!(error = %e, "the knowledge index build panicked; keeping the previous one");
                0
            }
        }
    }
}

/// The ids of the entries added, edited or removed between `before` and `after`.
fn changed_ids(before: &[KbEntry], after: &[KbEntry]) -> Vec<String> {
    let old: HashMap<&str, &KbEntry> = before.iter().map(|e| (e.id.as_str(), e)).collect();
    let new: HashMap<&str, &KbEntry> = after.iter().map(|e| (e.id.as_str(), e)).collect();
    let mut changed: Vec<String> = after
        .iter()
        .filter(|e| old.get(e.id.as_str()) != Some(e))
        .map(|e| e.id.clone())
        .collect();
    changed.extend(
        before
            .iter()
            .filter(|e| !new.contains_key(e.id.as_str()))
            .map(|e| e.id.clone()),
    );
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::responder::Outcome;
    use crate::responder::kb::KbResponder;
    use serde_json::json;

    fn write(dir: &Path, name: &str, content: &str) {
        std::fs::write(dir.join(name), content).unwrap();
    }

    fn answers(r: &KbResponder, text: &str) -> Option<String> {
        match r.decide(text, None) {
            Outcome::Answer { sources, .. } => Some(sources[0].clone()),
            _ => None,
        }
    }

    #[tokio::test]
    async fn changed_files_are_reloaded_and_a_bad_file_keeps_the_old_entries() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a.md", "## Gift wrapping\nYes, for free.\n");
        let live = LiveKb::load(dir.path(), "#kb").unwrap();
        let r = KbResponder::new(
            live.build().unwrap(),
            crate::responder::kb::DEFAULT_CONFIDENCE,
        );
        assert!(!live.files_changed());
        write(dir.path(), "b.md", "## Student discount\nTen percent.\n");
        assert!(live.files_changed());
        live.reload_if_changed(&r).await;
        assert!(!live.files_changed());
        assert_eq!(answers(&r, "student discount").as_deref(), Some("b.md#1"));

        write(dir.path(), "c.toml", "[[entries]\nquestion = ");
        assert_eq!(live.reload_files(&r, "test").await, 2);
        assert_eq!(live.entries().len(), 2);
        assert_eq!(answers(&r, "gift wrapping").as_deref(), Some("a.md#1"));
        // The bad file is not re-read on every poll.
        assert!(!live.files_changed());
    }

    fn index_rows(ledger: &Path) -> Vec<String> {
        let conn = rusqlite::Connection::open(ledger).unwrap();
        let mut stmt = conn
            .prepare("SELECT entry_id FROM kb_index ORDER BY rowid")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[tokio::test]
    async fn ledger_index_holds_every_entry_and_follows_the_files() {
        let dir = tempfile::tempdir().unwrap();
        let kb_dir = dir.path().join("kb");
        std::fs::create_dir(&kb_dir).unwrap();
        write(&kb_dir, "a.md", "## Gift wrapping\nYes, for free.\n");
        let path = dir.path().join("ledger.db");
        let ledger = Ledger::open(&path).await.unwrap();
        let live = LiveKb::load(&kb_dir, "#kb")
            .unwrap()
            .index_in(KbStore::for_ledger(&path));
        let r = KbResponder::new(
            Kb::from_entries(vec![]).unwrap(),
            crate::responder::kb::DEFAULT_CONFIDENCE,
        );
        assert!(index_rows(&path).is_empty());
        live.load_learned(&ledger, &r).await.unwrap();
        assert_eq!(index_rows(&path), ["a.md#1"]);
        assert_eq!(answers(&r, "gift wrapping").as_deref(), Some("a.md#1"));

        write(&kb_dir, "b.md", "## Student discount\nTen percent.\n");
        live.reload_if_changed(&r).await;
        assert_eq!(index_rows(&path), ["a.md#1", "b.md#1"]);
        assert_eq!(answers(&r, "student discount").as_deref(), Some("b.md#1"));

        // A bad file keeps the index (in the ledger too) as it was.
        write(&kb_dir, "c.toml", "[[entries]\nquestion = ");
        assert_eq!(live.reload_files(&r, "test").await, 2);
        assert_eq!(index_rows(&path), ["a.md#1", "b.md#1"]);
        assert_eq!(answers(&r, "gift wrapping").as_deref(), Some("a.md#1"));
    }

    fn index_rowids(ledger: &Path) -> Vec<(i64, String, String)> {
        let conn = rusqlite::Connection::open(ledger).unwrap();
        let mut stmt = conn
            .prepare("SELECT rowid, entry_id, answer FROM kb_index ORDER BY entry_id")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn sourced(id: &str, question: &str, answer: &str) -> KbEntry {
        KbEntry {
            id: id.into(),
            question: question.into(),
            answer: answer.into(),
            keywords: vec![],
            language: None,
            source: id.into(),
        }
    }

    #[tokio::test]
    async fn a_source_refresh_reindexes_only_the_entries_that_changed() {
        let dir = tempfile::tempdir().unwrap();
        let kb_dir = dir.path().join("kb");
        std::fs::create_dir(&kb_dir).unwrap();
        write(&kb_dir, "a.md", "## Gift wrapping\nYes, for free.\n");
        let path = dir.path().join("ledger.db");
        let ledger = Ledger::open(&path).await.unwrap();
        let live = LiveKb::load(&kb_dir, "#kb")
            .unwrap()
            .index_in(KbStore::for_ledger(&path));
        let r = KbResponder::new(
            Kb::from_entries(vec![]).unwrap(),
            crate::responder::hybrid::DEFAULT_CONFIDENCE,
        );
        live.load_learned(&ledger, &r).await.unwrap();
        let macros = vec![
            sourced("macro:1", "Replacement laces", "Laces cost 4 EUR."),
            sourced("macro:2", "Engraving on watches", "Engraving is free."),
        ];
        live.set_sourced("macros", macros.clone(), None, &r).await;
        assert_eq!(index_rowids(&path).len(), 3);
        assert_eq!(answers(&r, "replacement laces").as_deref(), Some("macro:1"));

        // Nothing changed: nothing built (the responder keeps whatever it has).
        r.replace(Kb::from_entries(vec![]).unwrap());
        live.set_sourced("macros", macros.clone(), None, &r).await;
        assert_eq!(answers(&r, "replacement laces"), None);

        // One macro edited, one archived: only their rows are rewritten. A row no build of
        // ours wrote proves it: a full rebuild would delete it.
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute(
                "INSERT INTO kb_index (question, answer, keywords, entry_id) \
                 VALUES ('sentinel', 'sentinel', '', 'sentinel')",
                [],
            )
            .unwrap();
        let edited = vec![sourced("macro:1", "Replacement laces", "Laces cost 3 EUR.")];
        live.set_sourced("macros", edited, None, &r).await;
        let after = index_rowids(&path);
        let ids: Vec<&str> = after.iter().map(|r| r.1.as_str()).collect();
        assert_eq!(ids, ["a.md#1", "macro:1", "sentinel"]);
        assert_eq!(after[1].2, "Laces cost 3 EUR.");
        assert_eq!(answers(&r, "engraving on watches"), None);
        match r.decide("replacement laces", None) {
            Outcome::Answer { text, .. } => assert_eq!(text, "Laces cost 3 EUR."),
            other => panic!("{other:?}"),
        }
        // A source no longer configured is dropped with its entries.
        live.set_sourced("site:x", vec![], Some(&["site:x".to_owned()]), &r)
            .await;
        assert_eq!(index_rowids(&path).len(), 2, "a.md#1 and the sentinel");
    }

    #[test]
    fn in_memory_ledger_path_indexes_in_memory() {
        assert_eq!(KbStore::for_ledger(Path::new(":memory:")), KbStore::Memory);
        assert_eq!(
            KbStore::for_ledger(Path::new("/var/lib/perfectbot/ledger.db")),
            KbStore::Ledger(PathBuf::from("/var/lib/perfectbot/ledger.db"))
        );
    }

    #[test]
    fn escalated_scan_rereads_only_changed_tickets_and_forgets_departed_ones() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a.md", "## Gift wrapping\nYes, for free.\n");
        let live = LiveKb::load(dir.path(), "#kb").unwrap();
        assert!(live.escalated_scan_due(Duration::from_secs(3600)));
        assert!(!live.escalated_scan_due(Duration::from_secs(3600)));
        assert!(live.escalated_scan_due(Duration::ZERO));
        let t1 = Some(Timestamp::from_second(1).unwrap());
        let t2 = Some(Timestamp::from_second(2).unwrap());
        assert!(live.escalated_changed(9, t1));
        live.escalated_read(9, t1);
        assert!(!live.escalated_changed(9, t1));
        assert!(live.escalated_changed(9, t2));
        live.escalated_keep_only(&[8]);
        assert!(live.escalated_changed(9, t1));
    }

    #[tokio::test]
    async fn learned_entries_join_the_files_and_follow_the_ledger() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a.md", "## Gift wrapping\nYes, for free.\n");
        let live = LiveKb::load(dir.path(), "#kb").unwrap();
        let r = KbResponder::new(
            live.build().unwrap(),
            crate::responder::kb::DEFAULT_CONFIDENCE,
        );
        let ledger = Ledger::open_in_memory().await.unwrap();
        let ticket: Ticket = serde_json::from_value(json!({
            "id": 3,
            "messages": [
                {"id": 10, "public": true, "from_agent": false, "body_text": "Do you sponsor teams?"},
                {"id": 11, "public": false, "from_agent": true, "sender": {"id": 2},
                 "body_text": "#kb No sponsoring, sorry."}
            ]
        }))
        .unwrap();
        let now = Timestamp::from_second(1).unwrap();
        live.learn_from(&ticket, 1, &ledger, &r, now).await.unwrap();
        assert_eq!(answers(&r, "sponsor teams").as_deref(), Some("note:11"));
        assert_eq!(ledger.learned().await.unwrap().len(), 1);

        // The note deleted: the entry goes, from the ledger and the index.
        let mut gone = ticket.clone();
        gone.messages.pop();
        live.learn_from(&gone, 1, &ledger, &r, now).await.unwrap();
        assert!(ledger.learned().await.unwrap().is_empty());
        assert_eq!(answers(&r, "sponsor teams"), None);
        assert_eq!(answers(&r, "gift wrapping").as_deref(), Some("a.md#1"));
    }
}
