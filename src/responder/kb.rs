//! The knowledge base: question/answer entries loaded from a folder of TOML and Markdown files,
//! indexed in a SQLite FTS5 table (`kb_index`: in the ledger file for the daemon, in memory for
//! tests, `kb list` and `preview`, see [`KbStore`]) and searched with BM25; and the `kb`
//! responder built on it.
//!
//! File formats (a promise to users, keep them stable):
//! - `*.toml`: `[[entries]]` tables with `question` and `answer` (required), `keywords = [..]`
//!   and `language` (optional; a top-level `language` is the file's default).
//! - `*.md`: one entry per `## question` heading; the answer is the text under it up to the
//!   next `##` (or `#`) heading. Text before the first `##` is ignored.
//!
//! Entry ids are `FILE#N` (N counts the file's entries from 1), so answers can cite their source.
//! This module must not decide what to do when nothing matches: it reports the best score and
//! the engine hands over.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior, params};
use serde::Deserialize;

use super::embed::{self, Embedder};
use super::hybrid::{self, DenseIndex, Evidence, NoCache, VectorCache};
use super::{AnswerFuture, Outcome, Responder, ResponderError, Turn};
use super::{lang, text};
use crate::ledger::KB_INDEX_TABLE;

pub use super::hybrid::DEFAULT_CONFIDENCE;

/// One question/answer pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KbEntry {
    /// Stable id, `FILE#N` for file entries (e.g. `shop.toml#3`).
    pub id: String,
    pub question: String,
    pub answer: String,
    /// Extra words customers use for this question; indexed between question and answer.
    pub keywords: Vec<String>,
    /// ISO 639-1 language of the entry; `None` means any language.
    pub language: Option<String>,
    /// Where the entry came from (a file path, or e.g. a ticket for learned notes).
    pub source: String,
}

/// Why a knowledge base could not be built. Every variant names the file, entry or folder.
#[derive(Debug, thiserror::Error)]
pub enum KbError {
    #[error("cannot read knowledge file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("knowledge file {path} is not valid: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("knowledge file {path}: entry {index} {problem}")]
    Entry {
        path: PathBuf,
        index: usize,
        problem: String,
    },
    #[error("no knowledge entries in {dir}: {why}")]
    NoEntries { dir: PathBuf, why: String },
    #[error("knowledge entry {id:?}: {problem}")]
    Invalid { id: String, problem: String },
    #[error("cannot build the knowledge index: {0}")]
    Index(#[from] rusqlite::Error),
    #[error("cannot index the knowledge base in the ledger {path}: {source}")]
    Ledger {
        path: PathBuf,
        source: rusqlite::Error,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    entries: Vec<RawEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    question: Option<String>,
    answer: Option<String>,
    #[serde(default)]
    keywords: Vec<String>,
    language: Option<String>,
}

/// Parses one TOML knowledge file. `name` is the file name used in ids.
fn parse_toml(path: &Path, name: &str, content: &str) -> Result<Vec<KbEntry>, KbError> {
    let raw: RawFile = toml::from_str(content).map_err(|e| KbError::Syntax {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    if raw.entries.is_empty() {
        return Err(KbError::Syntax {
            path: path.to_owned(),
            message: "holds no entries (expected [[entries]] tables with question and answer)"
                .to_owned(),
        });
    }
    let mut out = Vec::with_capacity(raw.entries.len());
    for (i, entry) in raw.entries.into_iter().enumerate() {
        let index = i + 1;
        let problem = |problem: &str| KbError::Entry {
            path: path.to_owned(),
            index,
            problem: problem.to_owned(),
        };
        let question = entry
            .question
            .map(|q| q.trim().to_owned())
            .ok_or_else(|| problem("lacks `question`"))?;
        let answer = entry
            .answer
            .map(|a| a.trim().to_owned())
            .ok_or_else(|| problem("lacks `answer`"))?;
        if question.is_empty() {
            return Err(problem("has an empty `question`"));
        }
        if answer.is_empty() {
            return Err(problem("has an empty `answer`"));
        }
        out.push(KbEntry {
            id: format!("{name}#{index}"),
            question,
            answer,
            keywords: clean_keywords(entry.keywords),
            language: clean_language(entry.language.or_else(|| raw.language.clone())),
            source: path.display().to_string(),
        });
    }
    Ok(out)
}

/// Parses one Markdown knowledge file: `## question` headings, answers below them. Headings
/// inside fenced code blocks are answer text, not questions.
fn parse_markdown(path: &Path, name: &str, content: &str) -> Result<Vec<KbEntry>, KbError> {
    let mut sections: Vec<(String, Vec<&str>)> = Vec::new();
    let mut current: Option<(String, Vec<&str>)> = None;
    let mut in_fence = false;
    for line in content.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
        }
        if !in_fence {
            if let Some(question) = trimmed.strip_prefix("## ") {
                sections.extend(current.take());
                current = Some((
                    question.trim().trim_end_matches('#').trim().to_owned(),
                    vec![],
                ));
                continue;
            }
            if trimmed.starts_with("# ") {
                // A level-1 heading ends the current entry: it titles the next part of the file.
                sections.extend(current.take());
                continue;
            }
        }
        if let Some((_, body)) = current.as_mut() {
            body.push(line);
        }
    }
    sections.extend(current.take());
    if sections.is_empty() {
        return Err(KbError::Syntax {
            path: path.to_owned(),
            message: "holds no entries (expected `## question` headings with the answer below)"
                .to_owned(),
        });
    }
    let mut out = Vec::with_capacity(sections.len());
    for (i, (question, body)) in sections.into_iter().enumerate() {
        let index = i + 1;
        let answer = body.join("\n").trim().to_owned();
        if question.is_empty() {
            return Err(KbError::Entry {
                path: path.to_owned(),
                index,
                problem: "has an empty `##` heading (the question)".to_owned(),
            });
        }
        if answer.is_empty() {
            return Err(KbError::Entry {
                path: path.to_owned(),
                index,
                problem: format!("(## {question}) has no answer text below its heading"),
            });
        }
        out.push(KbEntry {
            id: format!("{name}#{index}"),
            question,
            answer,
            keywords: vec![],
            language: None,
            source: path.display().to_string(),
        });
    }
    Ok(out)
}

fn clean_keywords(keywords: Vec<String>) -> Vec<String> {
    keywords
        .into_iter()
        .map(|k| k.trim().to_owned())
        .filter(|k| !k.is_empty())
        .collect()
}

fn clean_language(language: Option<String>) -> Option<String> {
    language
        .map(|l| l.trim().to_lowercase())
        .filter(|l| !l.is_empty())
}

/// Words that carry no topic: NLTK's English stopword list plus chat filler ("hi", "pls",
/// "need", "want"). English only; other languages still match, with more noise.
const STOPWORDS: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "against",
    "ain",
    "all",
    "also",
    "am",
    "an",
    "and",
    "any",
    "are",
    "aren",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "could",
    "couldn",
    "d",
    "did",
    "didn",
    "do",
    "does",
    "doesn",
    "doing",
    "don",
    "down",
    "during",
    "each",
    "few",
    "for",
    "from",
    "further",
    "get",
    "got",
    "had",
    "hadn",
    "has",
    "hasn",
    "have",
    "haven",
    "having",
    "he",
    "hello",
    "help",
    "her",
    "here",
    "hers",
    "herself",
    "hey",
    "hi",
    "him",
    "himself",
    "his",
    "how",
    "i",
    "if",
    "im",
    "in",
    "into",
    "is",
    "isn",
    "it",
    "its",
    "itself",
    "just",
    "know",
    "let",
    "like",
    "ll",
    "m",
    "ma",
    "me",
    "might",
    "mightn",
    "more",
    "most",
    "must",
    "mustn",
    "my",
    "myself",
    "need",
    "needn",
    "no",
    "nor",
    "not",
    "now",
    "o",
    "of",
    "off",
    "ok",
    "okay",
    "on",
    "once",
    "only",
    "or",
    "other",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "please",
    "pls",
    "re",
    "s",
    "same",
    "shan",
    "she",
    "should",
    "shouldn",
    "so",
    "some",
    "such",
    "t",
    "than",
    "thank",
    "thanks",
    "that",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "to",
    "too",
    "u",
    "under",
    "until",
    "up",
    "ur",
    "ve",
    "very",
    "want",
    "was",
    "wasn",
    "we",
    "were",
    "weren",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "won",
    "would",
    "wouldn",
    "y",
    "yes",
    "you",
    "your",
    "yours",
    "yourself",
    "yourselves",
];

/// The query terms of a customer text: lowercase, unaccented, stopwords, one-letter tokens and
/// plain numbers (order numbers, quantities) dropped, duplicates removed.
pub(crate) fn query_terms(text: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    text::tokens(text)
        .into_iter()
        .filter(|t| t.chars().count() >= 2 && !STOPWORDS.contains(&t.as_str()))
        .filter(|t| !t.chars().all(|c| c.is_ascii_digit()))
        .filter(|t| seen.insert(t.clone()))
        .collect()
}

/// Words that carry no topic in a question to a shop, on top of [`STOPWORDS`] (which the intent
/// detector shares, so they stay apart): time fillers and vague verbs. Each was a word shared by
/// chance between a question and an unrelated entry ("right now", "still", "how does it work").
const SEARCH_FILLER: &[&str] = &[
    "actually",
    "already",
    "anyone",
    "anything",
    "came",
    "currently",
    "else",
    "ever",
    "exactly",
    "instead",
    "maybe",
    "much",
    "possible",
    "really",
    "right",
    "someone",
    "something",
    "still",
    "sure",
    "thing",
    "things",
    "today",
    "tomorrow",
    "usually",
    "way",
    "work",
    "yesterday",
];

/// Words customers and knowledge files use for the same thing. A query word in a group matches
/// an entry holding any word of it, and counts once (coverage does not grow with synonyms).
/// Plain shop vocabulary, so that a knowledge base need not list every variant as a keyword;
/// each group is one sense (no "order" in the parcel group: it would match everything). Not
/// delivery~shipping: in a shop most entries speak of both, so the merged word weighs nothing
/// and blurs the shipping entries into each other (measured: more paraphrases answered wrongly).
const SYNONYMS: &[&[&str]] = &[
    &["parcel", "parcels", "package", "packages", "shipment"],
    &[
        "refund",
        "refunded",
        "refunds",
        "reimburse",
        "reimbursed",
        "reimbursement",
    ],
    &[
        "cost", "costs", "price", "prices", "charge", "charges", "fee", "fees",
    ],
    &["amex", "visa", "mastercard", "card"],
    &[
        "jumper", "jumpers", "sweater", "sweaters", "pullover", "knitwear",
    ],
    &["dryer", "tumble"],
    &["clothes", "clothing", "garment", "garments", "collection"],
    &[
        "eco",
        "sustainable",
        "sustainability",
        "green",
        "environment",
    ],
    &["program", "programme", "club", "scheme"],
    &["colour", "colours", "color", "colors"],
    &["broke", "broken", "break", "smashed", "cracked"],
    &["tear", "torn", "ripped", "rip", "hole"],
    &["present", "gift"],
    &["zip", "zipper"],
    &["shop", "store", "showroom", "boutique"],
    &["coupon", "voucher", "promo", "code"],
    &["login", "log", "signin", "sign"],
    &["cancel", "cancellation", "cancelled", "canceled"],
    &["exchange", "swap", "replace"],
    &[
        "abroad",
        "internationally",
        "international",
        "overseas",
        "worldwide",
    ],
];

/// The query terms of a text for the search: [`query_terms`] less [`SEARCH_FILLER`], each with
/// its synonyms (the term itself first).
fn search_terms(text: &str) -> Vec<Vec<String>> {
    // "free of charge" means free, whatever it is about: "charge" would pull in the prices.
    let text = text.to_lowercase().replace("free of charge", "free");
    let mut groups: Vec<Vec<String>> = Vec::new();
    for term in query_terms(&text) {
        if SEARCH_FILLER.contains(&term.as_str()) {
            continue;
        }
        let mut group = vec![term.clone()];
        if let Some(syn) = SYNONYMS.iter().find(|g| g.contains(&term.as_str())) {
            group.extend(syn.iter().filter(|w| **w != term).map(|w| (*w).to_owned()));
        }
        // Two words of one group in a text ("ship ... delivery") are one term.
        if !groups.iter().any(|g| g.contains(&term)) {
            groups.push(group);
        }
    }
    groups
}

/// An FTS5 query matching any word of a group (each quoted: no operator can slip in).
fn any_of(group: &[String]) -> String {
    let words: Vec<String> = group.iter().map(|w| format!("\"{w}\"")).collect();
    format!("({})", words.join(" OR "))
}

/// The knowledge files of `dir`: its `*.toml` and `*.md` files (not recursive, hidden files
/// skipped), sorted by name.
pub fn knowledge_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = Vec::new();
    for item in std::fs::read_dir(dir)? {
        let item = item?;
        let path = item.path();
        let name = item.file_name().to_string_lossy().into_owned();
        let wanted = name.ends_with(".toml") || name.ends_with(".md");
        if wanted && !name.starts_with('.') && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// The most one knowledge file may hold: far above any FAQ, and a file that is not one (a log,
/// a dump copied into the folder by mistake) fails by name instead of filling memory.
pub const MAX_KB_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// The file's text, failing once it is over `limit` bytes (read at most one byte past it).
fn read_capped(path: &Path, limit: u64) -> std::io::Result<String> {
    use std::io::Read as _;
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(limit + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > limit {
        return Err(std::io::Error::other(format!(
            "larger than the {} MiB a knowledge file may hold",
            limit / (1024 * 1024)
        )));
    }
    Ok(text)
}

/// The entries of every `*.toml` and `*.md` file of `dir` (not recursive; hidden files
/// skipped), in file-name order, without building an index. Same errors as [`Kb::load_dir`].
pub fn read_dir_entries(dir: &Path) -> Result<Vec<KbEntry>, KbError> {
    let no_entries = |why: String| KbError::NoEntries {
        dir: dir.to_owned(),
        why,
    };
    let files =
        knowledge_files(dir).map_err(|e| no_entries(format!("the folder cannot be read ({e})")))?;
    if files.is_empty() {
        return Err(no_entries(
            "the folder holds no .toml or .md files".to_owned(),
        ));
    }
    let mut entries = Vec::new();
    for path in &files {
        let content = read_capped(path, MAX_KB_FILE_BYTES).map_err(|source| KbError::Read {
            path: path.clone(),
            source,
        })?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.ends_with(".toml") {
            entries.extend(parse_toml(path, &name, &content)?);
        } else {
            entries.extend(parse_markdown(path, &name, &content)?);
        }
    }
    Ok(entries)
}

/// BM25 column weights, in the table's column order (question, answer, keywords, entry_id): a
/// question word counts ten times an answer word, a keyword five times; the id is not searched.
const BM25: &str = "bm25(kb_index, 10.0, 1.0, 5.0, 0.0)";

/// How long the re-index waits for the ledger's writer before giving up (the ledger's own
/// transactions are milliseconds long).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Where a knowledge index lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KbStore {
    /// A private in-memory SQLite database (tests, `kb list`, `preview`).
    Memory,
    /// The `kb_index` table of the ledger file at this path (the daemon). The ledger must exist
    /// and be migrated (schema V3) before the first build.
    Ledger(PathBuf),
}

impl KbStore {
    /// The store for the daemon's ledger path: the ledger file itself, or memory for an
    /// in-memory ledger (`:memory:` cannot be shared between connections).
    pub fn for_ledger(path: &Path) -> KbStore {
        if path.as_os_str().is_empty() || path == Path::new(":memory:") {
            KbStore::Memory
        } else {
            KbStore::Ledger(path.to_owned())
        }
    }

    /// Indexes `entries` here with the built-in embedding model and returns the knowledge base
    /// searching it. Blocking (SQLite I/O, and for the ledger a wait for its write lock): call
    /// it off the async runtime.
    pub fn build(&self, entries: Vec<KbEntry>) -> Result<Kb, KbError> {
        self.build_with(entries, Some(embed::builtin()))
    }

    /// Like [`KbStore::build`], with dense vectors from `embedder` (`None`: BM25 alone). In the
    /// ledger, vectors are cached by model and content hash: only new or changed texts are
    /// embedded.
    pub fn build_with(
        &self,
        entries: Vec<KbEntry>,
        embedder: Option<Arc<dyn Embedder>>,
    ) -> Result<Kb, KbError> {
        match self {
            KbStore::Memory => Kb::from_entries_with(entries, embedder),
            KbStore::Ledger(path) => Kb::index_in_ledger(path, entries, embedder),
        }
    }
}

impl KbStore {
    /// Like [`KbStore::build`] for `entries` when only the entries whose ids are in `changed`
    /// differ from the last build in this store (added, edited or removed): in the ledger, only
    /// their rows are deleted and re-inserted (one `BEGIN IMMEDIATE` transaction); in memory,
    /// where each index is private to its knowledge base, the index is built anew. Blocking.
    pub fn update(
        &self,
        entries: Vec<KbEntry>,
        changed: &[String],
        embedder: Option<Arc<dyn Embedder>>,
    ) -> Result<Kb, KbError> {
        let KbStore::Ledger(path) = self else {
            return Kb::from_entries_with(entries, embedder);
        };
        let by_id = validate(&entries)?;
        let in_ledger = |source| KbError::Ledger {
            path: path.to_owned(),
            source,
        };
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(path, flags).map_err(in_ledger)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(in_ledger)?;
        conn.execute_batch("PRAGMA synchronous = NORMAL;")
            .map_err(in_ledger)?;
        write_changes(&mut conn, &entries, &by_id, changed).map_err(in_ledger)?;
        // Vectors are cached by content hash: only the changed texts are embedded again.
        let dense = dense_index(embedder, &entries, &mut LedgerCache(&conn));
        Ok(Kb {
            entries,
            by_id,
            conn: Mutex::new(conn),
            dense,
        })
    }
}

/// Deletes the rows of the `changed` ids and inserts the current version of those still in
/// `entries` (row ids assigned by SQLite: searches resolve rows by `entry_id`).
fn write_changes(
    conn: &mut Connection,
    entries: &[KbEntry],
    by_id: &HashMap<String, usize>,
    changed: &[String],
) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let ids = serde_json::Value::from(changed.to_vec()).to_string();
    tx.execute(
        "DELETE FROM kb_index WHERE entry_id IN (SELECT value FROM json_each(?1))",
        [ids],
    )?;
    {
        let mut insert = tx.prepare(
            "INSERT INTO kb_index (question, answer, keywords, entry_id) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for entry in changed
            .iter()
            .filter_map(|id| by_id.get(id).map(|&i| &entries[i]))
        {
            insert.execute(params![
                entry.question,
                entry.answer,
                entry.keywords.join(" ; "),
                entry.id
            ])?;
        }
    }
    tx.commit()
}

/// A searchable knowledge base: the entries, and a SQLite connection on the FTS5 index over
/// them (in memory, or the ledger's `kb_index` table). Searches lock the connection briefly
/// (well under a millisecond on hundreds of page-cached entries).
pub struct Kb {
    entries: Vec<KbEntry>,
    by_id: HashMap<String, usize>,
    conn: Mutex<Connection>,
    /// The entries' vectors; `None` for BM25 alone (`embedding = "none"`, or the model failed
    /// at build time).
    dense: Option<DenseIndex>,
}

/// The ledger's `kb_vectors` as a [`VectorCache`]. A cache that cannot be read or written only
/// costs embedding again: logged, never fatal.
struct LedgerCache<'a>(&'a Connection);

impl VectorCache for LedgerCache<'_> {
    fn get(&mut self, model: &str, hashes: &[&str]) -> Vec<Option<Vec<f32>>> {
        match crate::ledger::vectors::cached_vectors(self.0, model, hashes) {
            Ok(mut found) => hashes.iter().map(|h| found.remove(*h)).collect(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the vector cache; embedding everything");
                vec![None; hashes.len()]
            }
        }
    }
    fn put(&mut self, model: &str, new: &[(&str, &[f32])], keep: &[&str]) {
        if let Err(e) = crate::ledger::vectors::store_vectors(self.0, model, new, keep) {
            tracing::warn!(error = %e, "cannot write the vector cache");
        }
    }
}

/// The dense index of `entries`, or `None` (logged) when the model fails: the knowledge base
/// then searches with BM25 alone rather than not at all.
fn dense_index(
    embedder: Option<Arc<dyn Embedder>>,
    entries: &[KbEntry],
    cache: &mut dyn VectorCache,
) -> Option<DenseIndex> {
    let embedder = embedder?;
    let model = embedder.model_id().to_owned();
    match DenseIndex::build(embedder, entries, cache) {
        Ok((index, embedded)) => {
            tracing::debug!(
                model,
                entries = entries.len(),
                embedded,
                "knowledge vectors ready"
            );
            Some(index)
        }
        Err(e) => {
            tracing::error!(error = %e, model, "cannot embed the knowledge entries; searching with BM25 alone");
            None
        }
    }
}
/// Checks that ids are unique and non-empty and questions and answers non-empty; returns each
/// id's position.
fn validate(entries: &[KbEntry]) -> Result<HashMap<String, usize>, KbError> {
    let mut ids = HashMap::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let invalid = |problem: &str| KbError::Invalid {
            id: entry.id.clone(),
            problem: problem.to_owned(),
        };
        if entry.id.trim().is_empty() {
            return Err(invalid("has an empty id"));
        }
        if ids.insert(entry.id.clone(), i).is_some() {
            return Err(invalid("is defined twice"));
        }
        if entry.question.trim().is_empty() {
            return Err(invalid("has an empty question"));
        }
        if entry.answer.trim().is_empty() {
            return Err(invalid("has an empty answer"));
        }
    }
    Ok(ids)
}

/// Replaces every row of `kb_index` with `entries` in one `BEGIN IMMEDIATE` transaction (in
/// WAL mode a deferred one that turns into a writer gets SQLITE_BUSY at once). Row ids are the
/// entries' positions.
fn write_index(conn: &mut Connection, entries: &[KbEntry]) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute("DELETE FROM kb_index", [])?;
    {
        let mut insert = tx.prepare(
            "INSERT INTO kb_index (rowid, question, answer, keywords, entry_id) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for (i, entry) in entries.iter().enumerate() {
            let rowid = i64::try_from(i).expect("fewer than 2^63 entries");
            insert.execute(params![
                rowid,
                entry.question,
                entry.answer,
                entry.keywords.join(" ; "),
                entry.id
            ])?;
        }
    }
    tx.commit()
}

impl std::fmt::Debug for Kb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kb")
            .field("entries", &self.entries.len())
            .finish()
    }
}

impl Kb {
    /// Loads every `*.toml` and `*.md` file of `dir` (not recursive; hidden files skipped), in
    /// file-name order. A bad file fails the whole load with an error naming it; a missing or
    /// empty folder is an error too (a bot with no knowledge would hand over everything).
    pub fn load_dir(dir: &Path) -> Result<Kb, KbError> {
        Kb::from_entries(read_dir_entries(dir)?)
    }

    /// Builds a knowledge base from entries (e.g. files plus entries learned from `#kb` notes),
    /// indexed in a private in-memory database. Ids must be unique and questions and answers non-empty. An empty list is allowed and
    /// yields a knowledge base that never matches.
    pub fn from_entries(entries: Vec<KbEntry>) -> Result<Kb, KbError> {
        Kb::from_entries_with(entries, Some(embed::builtin()))
    }

    /// Like [`Kb::from_entries`], with vectors from `embedder` (`None`: BM25 alone).
    pub fn from_entries_with(
        entries: Vec<KbEntry>,
        embedder: Option<Arc<dyn Embedder>>,
    ) -> Result<Kb, KbError> {
        let by_id = validate(&entries)?;
        let mut conn = Connection::open_in_memory()?;
        conn.execute_batch(KB_INDEX_TABLE)?;
        write_index(&mut conn, &entries)?;
        let dense = dense_index(embedder, &entries, &mut NoCache);
        Ok(Kb {
            entries,
            by_id,
            conn: Mutex::new(conn),
            dense,
        })
    }

    /// Indexes `entries` in the `kb_index` table of the ledger at `path` and returns the
    /// knowledge base searching it, on its own connection. The rewrite is one `BEGIN IMMEDIATE`
    /// transaction (delete every row, insert every entry): searches, which read in a
    /// transaction of their own, see the old index or the new one, never a mix. Blocking.
    pub fn index_in_ledger(
        path: &Path,
        entries: Vec<KbEntry>,
        embedder: Option<Arc<dyn Embedder>>,
    ) -> Result<Kb, KbError> {
        let by_id = validate(&entries)?;
        let in_ledger = |source| KbError::Ledger {
            path: path.to_owned(),
            source,
        };
        // No CREATE flag: the ledger (and its migrations) belong to `Ledger::open`.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(path, flags).map_err(in_ledger)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(in_ledger)?;
        // The ledger file is already in WAL mode (persistent). NORMAL, not the ledger's FULL: the
        // index is rebuilt from the files and `kb_learned` at every start, so a commit lost to a
        // power cut costs nothing, while FULL would fsync on every re-index.
        conn.execute_batch("PRAGMA synchronous = NORMAL;")
            .map_err(in_ledger)?;
        write_index(&mut conn, &entries).map_err(in_ledger)?;
        // Outside the index transaction: a remote model may take seconds, and the ledger's
        // writer must not wait for it. Each cache statement commits on its own.
        let dense = dense_index(embedder, &entries, &mut LedgerCache(&conn));
        Ok(Kb {
            entries,
            by_id,
            conn: Mutex::new(conn),
            dense,
        })
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the knowledge base has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// A copy of all entries, in load order.
    pub fn entries(&self) -> Vec<KbEntry> {
        self.entries.clone()
    }

    /// The `k` best entries for a customer text with their fused scores, best first (see
    /// [`Kb::retrieve`]), keeping only entries with some evidence: a BM25 match, or a
    /// confidence of at least [`hybrid::SEARCH_FLOOR`]. Empty when nothing matches (the dense
    /// side alone ranks every entry, even for gibberish).
    pub fn search(&self, text: &str, k: usize) -> Vec<(KbEntry, f64)> {
        self.retrieve(text, k)
            .into_iter()
            .filter(|(_, ev)| ev.bm25 > 0.0 || ev.confidence() >= hybrid::SEARCH_FLOOR)
            .map(|(entry, evidence)| (entry, evidence.fused))
            .collect()
    }

    /// The embedding model's cache id, `None` for BM25 alone.
    pub fn embedding_model(&self) -> Option<&str> {
        self.dense.as_ref().map(DenseIndex::model_id)
    }

    /// The `k` best entries for a customer text, best first, with what the two retrievers say
    /// about each ([`hybrid::fuse`]). With vectors, every entry is ranked (the dense side scores
    /// them all); without, only those BM25 matched.
    ///
    /// A text in another supported language is also searched in English words
    /// ([`lang::to_english`]): the reading whose best entry is likelier right wins, so an
    /// English knowledge base answers a French question, and an entry written in French (a
    /// knowledge base with answers per language) still matches the customer's own words best.
    pub fn retrieve(&self, text: &str, k: usize) -> Vec<(KbEntry, Evidence)> {
        self.retrieve_for(text, k, hybrid::DEFAULT_CONFIDENCE)
    }

    /// [`Kb::retrieve`], preferring an entry written in the text's own language whenever its
    /// confidence reaches `enough` (a knowledge base with answers per language answers in the
    /// customer's language rather than with a likelier English entry and a lead-in line).
    pub fn retrieve_for(&self, text: &str, k: usize, enough: f64) -> Vec<(KbEntry, Evidence)> {
        if k == 0 || self.entries.is_empty() {
            return Vec::new();
        }
        let own = self.retrieve_as(text, k, false);
        let Some(english) = lang::to_english(text) else {
            return own;
        };
        let same_language = own.first().is_some_and(|(entry, evidence)| {
            entry_language(entry) == Some(english.from) && evidence.confidence() >= enough
        });
        if same_language {
            return own;
        }
        let translated = self.retrieve_as(&english.text, k, true);
        let best = |r: &[(KbEntry, Evidence)]| r.first().map_or(-1.0, |(_, e)| e.confidence());
        if best(&translated) > best(&own) {
            translated
        } else {
            own
        }
    }

    fn retrieve_as(&self, text: &str, k: usize, translated: bool) -> Vec<(KbEntry, Evidence)> {
        let (bm25, coverage, dense) = self.raw_scores(text);
        let bm25: Vec<(usize, f64)> = bm25
            .into_iter()
            .enumerate()
            .filter(|(_, s)| *s > 0.0)
            .collect();
        hybrid::fuse(&bm25, &coverage, dense.as_deref(), self.entries.len(), k)
            .into_iter()
            .map(|(row, mut evidence)| {
                evidence.translated = translated;
                (self.entries[row].clone(), evidence)
            })
            .collect()
    }

    /// Per entry, in entry order: the normalised BM25 score and coverage (0 where BM25 found
    /// nothing), and the dense score when there are vectors.
    pub(crate) fn raw_scores(&self, text: &str) -> (Vec<f64>, Vec<f64>, Option<Vec<f64>>) {
        let n = self.entries.len();
        let (mut bm25, mut coverage) = (vec![0.0; n], vec![0.0; n]);
        match self.search_rows(text, n.max(20)) {
            Ok(rows) => {
                for (row, score, cov) in rows {
                    if row < n {
                        bm25[row] = score;
                        coverage[row] = cov;
                    }
                }
            }
            Err(e) => {
                // Terms are plain alphanumerics, so a query error is a bug, not bad input.
                tracing::error!(error = %e, "knowledge base search failed");
            }
        }
        let dense = self
            .dense
            .as_ref()
            .filter(|_| !text.trim().is_empty())
            .and_then(|d| d.scores(text));
        (bm25, coverage, dense)
    }

    fn search_rows(&self, text: &str, k: usize) -> Result<Vec<(usize, f64, f64)>, rusqlite::Error> {
        let terms = search_terms(text);
        if terms.is_empty() || k == 0 || self.entries.is_empty() {
            return Ok(Vec::new());
        }
        // A poisoned lock only means another search panicked; the index itself is read-only.
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        // One read transaction for all the statements below: with the index in the ledger, a
        // re-index committed meanwhile must not mix old and new rows. Dropped (rolled back, it
        // wrote nothing) at the end.
        let conn = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        // Which entries each term matches, through the same tokenizer (so stemming applies).
        let mut term_rows: Vec<HashSet<usize>> = Vec::with_capacity(terms.len());
        let mut strong_rows: Vec<HashSet<usize>> = Vec::with_capacity(terms.len());
        {
            let mut stmt =
                conn.prepare_cached("SELECT rowid FROM kb_index WHERE kb_index MATCH ?1")?;
            let mut run = |q: String| -> Result<HashSet<usize>, rusqlite::Error> {
                let rows = stmt
                    .query_map([q], |r| r.get::<_, i64>(0))?
                    .collect::<Result<Vec<i64>, _>>()?;
                Ok(rows
                    .into_iter()
                    .filter_map(|r| usize::try_from(r).ok())
                    .collect())
            };
            for term in &terms {
                term_rows.push(run(any_of(term))?);
                strong_rows.push(run(format!("{{question keywords}} : {}", any_of(term)))?);
            }
        }
        let query = terms
            .iter()
            .map(|t| any_of(t))
            .collect::<Vec<_>>()
            .join(" OR ");
        let sql = format!(
            "SELECT rowid, entry_id FROM kb_index WHERE kb_index MATCH ?1 ORDER BY {BM25} LIMIT ?2"
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let limit = i64::try_from(k.max(20)).unwrap_or(i64::MAX);
        let candidates = stmt
            .query_map(params![query, limit], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        // Floor the corpus size so that a small knowledge base still gives its words weight
        // (with 3 entries, a word in 2 of them would otherwise count for nothing).
        let n = self.entries.len().max(MIN_CORPUS) as f64;
        let idf = |df: usize| ((n - df as f64 + 0.5) / (df as f64 + 0.5) + 1.0).ln();
        let total_idf: f64 = term_rows.iter().map(|rows| idf(rows.len())).sum();
        let mut scored: Vec<(usize, f64, f64)> = candidates
            .into_iter()
            .filter_map(|(rowid, entry_id)| {
                let row = usize::try_from(rowid).ok()?;
                // A row of an index newer than this knowledge base (re-indexed, not swapped in
                // yet: a few microseconds) is skipped rather than answered with another entry.
                let index = *self.by_id.get(&entry_id)?;
                let evidence: f64 = term_rows
                    .iter()
                    .zip(&strong_rows)
                    .map(|(any, strong)| {
                        if strong.contains(&row) {
                            idf(any.len())
                        } else if any.contains(&row) {
                            ANSWER_ONLY_WEIGHT * idf(any.len())
                        } else {
                            0.0
                        }
                    })
                    .sum();
                let coverage = evidence / total_idf;
                Some((index, normalise(evidence, coverage), coverage))
            })
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1));
        scored.truncate(k);
        Ok(scored)
    }
}

/// How much a query term found only in an entry's answer counts towards coverage, against 1.0
/// for a term found in its question or keywords: answers are long and share many words with
/// unrelated questions ("company", "order").
const ANSWER_ONLY_WEIGHT: f64 = 1.0 / 3.0;

/// The corpus size assumed at least when weighing words (see `search_rows`).
const MIN_CORPUS: usize = 30;

/// The normalised BM25 score of an entry (one input of the answer decision in
/// [`hybrid`]; with `embedding = "none"` the only one), from its *evidence* (the IDF-weighted sum of
/// the query words it contains; answer-only hits weigh a third) and *coverage* (evidence over
/// the IDF of all query words).
///
/// Why not `-bm25` itself: it is unbounded, grows with every extra word, and FTS5 clamps the
/// IDF of words found in over half the entries to ~0, so in a small knowledge base even an exact
/// question scores ~0. BM25 still picks and orders the candidates; this score decides. Coverage
/// penalises texts whose distinctive words the entry lacks: one rare word shared by chance
/// ("Australia" in "what is the capital of Australia?") scores below a real match. The square
/// root keeps long texts from winning on volume. The factor 1.9 puts the default threshold 1.0
/// where it was calibrated on `tests/data/kb_paraphrases.toml` (the test
/// `default_threshold_meets_the_calibration_floors` prints the curve): on the part the search
/// was tuned on, ~0.91 of paraphrases answered with the right entry and ~0.09 of unrelated
/// questions answered at all; on the held-out part, ~0.67 and ~0.20 (10 questions). Raising
/// `min_score` to 1.2 gives ~0.87 / ~0.06 (tuned); lowering it to 0.9 gives ~0.91 / ~0.12.
fn normalise(evidence: f64, coverage: f64) -> f64 {
    1.9 * evidence.max(0.0).sqrt() * coverage
}

/// The `kb` responder: answers with the best entry when the confidence of the fused evidence
/// ([`Evidence::confidence`]) reaches `kb.confidence`.
pub struct KbResponder {
    kb: Arc<RwLock<Kb>>,
    confidence: f64,
}

impl KbResponder {
    /// A responder over `kb` answering when the best entry's confidence is at least
    /// `confidence` (0..1).
    pub fn new(kb: Kb, confidence: f64) -> Self {
        Self {
            kb: Arc::new(RwLock::new(kb)),
            confidence,
        }
    }

    /// Swaps in a new knowledge base (reload, learned entries); searches in flight finish on
    /// the old one.
    pub fn replace(&self, kb: Kb) {
        let mut guard = self.kb.write().unwrap_or_else(|p| p.into_inner());
        *guard = kb;
    }

    /// The shared knowledge base (for `status`, learning, tests).
    pub fn kb(&self) -> Arc<RwLock<Kb>> {
        Arc::clone(&self.kb)
    }

    /// The confidence threshold in use.
    pub fn confidence(&self) -> f64 {
        self.confidence
    }

    /// The decision for one text, synchronous: a SQLite search and an embedding (in-process,
    /// or a network call for a remote model); async callers use [`Responder::answer`].
    pub fn decide(&self, text: &str, language: Option<&str>) -> Outcome {
        decide_in(&self.kb, self.confidence, text, language)
    }
}

/// The language of an entry: its declared one, else the one its text shows.
fn entry_language(entry: &KbEntry) -> Option<&'static str> {
    match entry.language.as_deref() {
        Some(declared) => lang::supported(declared),
        None => lang::detect(&format!("{}\n{}", entry.question, entry.answer)),
    }
}

/// The answer text for a customer writing in `customer`: the entry's answer, led in by a line
/// in the customer's language when the entry is written in another one. `None` when the
/// languages differ and there is no such line (a language without data): no knowledge rather
/// than an answer the customer may not read.
fn answer_text(entry: &KbEntry, customer: Option<&str>) -> Option<String> {
    match (customer, entry_language(entry)) {
        (Some(c), Some(e)) if c != e => {
            lang::lead_in(c, e).map(|lead| format!("{lead}\n\n{}", entry.answer))
        }
        (Some(_), None) if entry.language.is_some() => None,
        _ => Some(entry.answer.clone()),
    }
}

fn decide_in(kb: &RwLock<Kb>, confidence: f64, text: &str, language: Option<&str>) -> Outcome {
    decide_for(kb, confidence, &Turn::from_message(text), text, language)
}

/// The decision for `text`, with `turn` giving the values of template variables (macros).
fn decide_for(
    kb: &RwLock<Kb>,
    confidence: f64,
    turn: &Turn,
    text: &str,
    language: Option<&str>,
) -> Outcome {
    let kb = kb.read().unwrap_or_else(|p| p.into_inner());
    let Some((mut entry, evidence)) = kb.retrieve_for(text, 2, confidence).into_iter().next()
    else {
        return Outcome::NoKnowledge { best_score: None };
    };
    let score = evidence.confidence();
    if score < confidence {
        return Outcome::NoKnowledge {
            best_score: Some(score),
        };
    }
    // A macro whose template variables cannot be filled for this ticket (a greeting by name
    // for a customer whose name is unknown) is not used for it: the confidence was for this
    // entry, so the next one is no answer either.
    match super::template::render(&entry.answer, turn) {
        Ok(answer) => entry.answer = answer,
        Err(variable) => {
            tracing::debug!(entry = %entry.id, variable, "entry not used: a template variable has no value for this ticket");
            return Outcome::NoKnowledge {
                best_score: Some(score),
            };
        }
    }
    // The message's own words first: a ticket's language is often the shop's default.
    // A short text without function words ("Rücksendung?") by its shop words.
    let customer = lang::detect(text)
        .or_else(|| lang::to_english(text).map(|t| t.from))
        .or_else(|| language.and_then(lang::supported));
    match answer_text(&entry, customer) {
        Some(text) => Outcome::Answer {
            text,
            sources: vec![entry.id],
            score,
        },
        None => Outcome::NoKnowledge {
            best_score: Some(score),
        },
    }
}

impl Responder for KbResponder {
    fn name(&self) -> &str {
        "kb"
    }

    fn replace_kb(&self, kb: Kb) -> bool {
        self.replace(kb);
        true
    }

    fn answer<'a>(&'a self, turn: &'a Turn) -> AnswerFuture<'a> {
        // The search is SQLite (for the daemon, on the ledger file): never on a runtime worker.
        // spawn_blocking rather than block_in_place, which panics on a current-thread runtime.
        let kb = Arc::clone(&self.kb);
        let confidence = self.confidence;
        let text = turn.text();
        let language = turn.language.clone();
        let turn = turn.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                decide_for(&kb, confidence, &turn, &text, language.as_deref())
            })
            .await
            .map_err(|e| ResponderError::Internal {
                responder: "kb".to_owned(),
                detail: format!("the knowledge base search panicked: {e}"),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(path: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(path)
    }

    fn entry(id: &str, question: &str, answer: &str) -> KbEntry {
        KbEntry {
            id: id.to_owned(),
            question: question.to_owned(),
            answer: answer.to_owned(),
            keywords: vec![],
            language: None,
            source: "test".to_owned(),
        }
    }

    fn write(dir: &Path, name: &str, content: &str) {
        std::fs::write(dir.join(name), content).unwrap();
    }

    #[derive(Deserialize)]
    struct EvalSet {
        paraphrases: Vec<Paraphrase>,
        unrelated: Vec<Unrelated>,
    }
    #[derive(Deserialize, Clone)]
    struct Paraphrase {
        text: String,
        expected: String,
        /// Written before the recall tuning and never tuned on.
        #[serde(default)]
        held_out: bool,
    }
    #[derive(Deserialize, Clone)]
    struct Unrelated {
        text: String,
        #[serde(default)]
        held_out: bool,
    }

    struct Figures {
        /// Answered, with the expected entry.
        accuracy: f64,
        /// Paraphrases answered with another entry.
        paraphrase_wrong: f64,
        /// Unrelated questions answered at all.
        wrong_answer_rate: f64,
    }

    /// The part of the set with `held_out` equal to `held_out`.
    fn part(set: &EvalSet, held_out: bool) -> EvalSet {
        EvalSet {
            paraphrases: set
                .paraphrases
                .iter()
                .filter(|p| p.held_out == held_out)
                .cloned()
                .collect(),
            unrelated: set
                .unrelated
                .iter()
                .filter(|u| u.held_out == held_out)
                .cloned()
                .collect(),
        }
    }

    fn measure(kb: &Kb, set: &EvalSet, min_score: f64) -> Figures {
        let responder = KbResponder::new(Kb::from_entries(kb.entries()).unwrap(), min_score);
        let mut right = 0;
        let mut wrong = 0;
        for p in &set.paraphrases {
            if let Outcome::Answer { sources, .. } = responder.decide(&p.text, None) {
                if sources == [p.expected.clone()] {
                    right += 1;
                } else {
                    wrong += 1;
                }
            }
        }
        let answered = set
            .unrelated
            .iter()
            .filter(|u| matches!(responder.decide(&u.text, None), Outcome::Answer { .. }))
            .count();
        let n = set.paraphrases.len() as f64;
        Figures {
            accuracy: right as f64 / n,
            paraphrase_wrong: wrong as f64 / n,
            wrong_answer_rate: answered as f64 / set.unrelated.len() as f64,
        }
    }

    #[test]
    fn default_threshold_meets_the_calibration_floors() {
        let kb = Kb::load_dir(&data("kb")).unwrap();
        let raw = std::fs::read_to_string(data("kb_paraphrases.toml")).unwrap();
        let set: EvalSet = toml::from_str(&raw).unwrap();
        assert!(set.paraphrases.len() >= 60 && set.unrelated.len() >= 30);
        let ids: HashSet<String> = kb.entries().into_iter().map(|e| e.id).collect();
        for p in &set.paraphrases {
            assert!(ids.contains(&p.expected), "unknown id {}", p.expected);
        }
        let ranked_first = |set: &EvalSet| {
            set.paraphrases
                .iter()
                .filter(|p| kb.search(&p.text, 1).first().map(|(e, _)| &e.id) == Some(&p.expected))
                .count() as f64
                / set.paraphrases.len() as f64
        };
        let (tuned, held) = (part(&set, false), part(&set, true));
        println!(
            "kb calibration: {} entries; tuned part {} paraphrases / {} unrelated, held-out part {} / {}; expected entry ranked first: tuned {:.3}, held-out {:.3}",
            kb.len(),
            tuned.paraphrases.len(),
            tuned.unrelated.len(),
            held.paraphrases.len(),
            held.unrelated.len(),
            ranked_first(&tuned),
            ranked_first(&held),
        );
        println!("kb confidence | part     | top-1 acc | paraphrases wrong | unrelated answered");
        for min_score in [0.5, 0.6, 0.7, 0.75, 0.8, 0.9] {
            for (name, part) in [("tuned", &tuned), ("held-out", &held), ("all", &set)] {
                let f = measure(&kb, part, min_score);
                println!(
                    "kb {min_score:>9.2} | {name:<8} | {:>9.3} | {:>17.3} | {:>18.3}",
                    f.accuracy, f.paraphrase_wrong, f.wrong_answer_rate
                );
            }
        }
        if std::env::var_os("KB_EVAL_MISSES").is_some() {
            let r = KbResponder::new(Kb::from_entries(kb.entries()).unwrap(), DEFAULT_CONFIDENCE);
            // The tuned part only: looking at held-out misses would make them tuned too.
            for p in &tuned.paraphrases {
                let out = r.decide(&p.text, None);
                let ok =
                    matches!(&out, Outcome::Answer { sources, .. } if sources[0] == p.expected);
                if !ok {
                    let top = kb.search(&p.text, 2);
                    println!(
                        "MISS {:?} want {} got {:?}; terms {:?}; top {:?}",
                        p.text,
                        p.expected,
                        out,
                        query_terms(&p.text),
                        top.iter()
                            .map(|(e, s)| (e.id.clone(), *s))
                            .collect::<Vec<_>>()
                    );
                }
            }
            for u in &tuned.unrelated {
                if let Outcome::Answer { sources, score, .. } = r.decide(&u.text, None) {
                    println!("WRONG {:?} -> {sources:?} {score:.2}", u.text);
                }
            }
        }
        // Just under the figures reached, so that a change that loses recall or answers more
        // strangers fails here. With BM25 alone (min_score 1.0) they were tuned: 0.914 / 0.088 /
        // 0.029, held-out: 0.667 / 0.200 / 0.067. With the hybrid decision at the default
        // confidence 0.75, chosen on the blind dev set (tests/data/eval/kb_dev.jsonl), they are
        // tuned: 0.757 / 0.000 / 0.014, held-out: 0.600 / 0.000 / 0.000: the tuned part was BM25's
        // own tuning set, and the stricter operating point answers no unrelated question.
        let f = measure(&kb, &tuned, DEFAULT_CONFIDENCE);
        assert!(f.accuracy >= 0.74, "accuracy {:.3}", f.accuracy);
        assert!(
            f.wrong_answer_rate <= 0.03,
            "wrong-answer rate {:.3}",
            f.wrong_answer_rate
        );
        assert!(
            f.paraphrase_wrong <= 0.03,
            "paraphrases answered wrongly {:.3}",
            f.paraphrase_wrong
        );
        let f = measure(&kb, &held, DEFAULT_CONFIDENCE);
        assert!(f.accuracy >= 0.58, "held-out accuracy {:.3}", f.accuracy);
        assert!(
            f.wrong_answer_rate <= 0.05,
            "held-out wrong-answer rate {:.3}",
            f.wrong_answer_rate
        );
        assert!(
            f.paraphrase_wrong <= 0.03,
            "held-out paraphrases answered wrongly {:.3}",
            f.paraphrase_wrong
        );
    }

    #[test]
    fn example_knowledge_base_loads_toml_and_markdown() {
        let kb = Kb::load_dir(&data("kb")).unwrap();
        let entries = kb.entries();
        assert!(kb.len() >= 23, "{}", kb.len());
        assert_eq!(entries[0].id, "faq.md#1");
        let first_toml = entries.iter().find(|e| e.id == "shop.toml#1").unwrap();
        assert_eq!(first_toml.question, "How long does shipping take?");
        assert!(first_toml.keywords.contains(&"delivery time".to_owned()));
        assert!(first_toml.source.ends_with("shop.toml"));
    }

    #[test]
    fn markdown_entries_run_until_the_next_heading() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "faq.md",
            "# Title\nintro text is ignored\n\n## First question?\nline one\n\n```\n## not a heading\n```\nline two\n## Second question ##\nsecond answer\n# Appendix\nignored\n",
        );
        let kb = Kb::load_dir(dir.path()).unwrap();
        let e = kb.entries();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].id, "faq.md#1");
        assert_eq!(e[0].question, "First question?");
        assert_eq!(
            e[0].answer,
            "line one\n\n```\n## not a heading\n```\nline two"
        );
        assert_eq!(e[1].question, "Second question");
        assert_eq!(e[1].answer, "second answer");
    }

    #[test]
    fn file_language_is_the_default_for_its_entries() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "fr.toml",
            "language = \"FR\"\n[[entries]]\nquestion = \"q\"\nanswer = \"a\"\n[[entries]]\nquestion = \"q2\"\nanswer = \"a2\"\nlanguage = \"de\"\n",
        );
        let e = Kb::load_dir(dir.path()).unwrap().entries();
        assert_eq!(e[0].language.as_deref(), Some("fr"));
        assert_eq!(e[1].language.as_deref(), Some("de"));
    }

    #[test]
    fn a_knowledge_file_past_the_size_cap_fails_by_name() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "ok.md", "## Q?\nA.\n");
        let huge = std::fs::File::create(dir.path().join("dump.md")).unwrap();
        huge.set_len(MAX_KB_FILE_BYTES + 1).unwrap();
        let err = Kb::load_dir(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("dump.md") && err.contains("larger than the 16 MiB"),
            "{err}"
        );
        assert!(read_capped(&dir.path().join("ok.md"), MAX_KB_FILE_BYTES).is_ok());
    }

    #[test]
    fn entry_without_answer_is_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "bad.toml",
            "[[entries]]\nquestion = \"a\"\nanswer = \"b\"\n[[entries]]\nquestion = \"c\"\nanswer = \"d\"\n[[entries]]\nquestion = \"e\"\n",
        );
        let err = Kb::load_dir(dir.path()).unwrap_err().to_string();
        assert!(err.contains("bad.toml"), "{err}");
        assert!(err.contains("entry 3 lacks `answer`"), "{err}");
    }

    #[test]
    fn unknown_keys_and_bad_syntax_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "typo.toml",
            "[[entries]]\nquestion = \"a\"\nanwser = \"b\"\n",
        );
        let err = Kb::load_dir(dir.path()).unwrap_err().to_string();
        assert!(err.contains("typo.toml") && err.contains("anwser"), "{err}");

        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "broken.toml", "[[entries]\nquestion = ");
        let err = Kb::load_dir(dir.path()).unwrap_err().to_string();
        assert!(err.contains("broken.toml"), "{err}");
    }

    #[test]
    fn markdown_heading_without_answer_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "faq.md", "## Has one\nyes\n## Has none\n\n");
        let err = Kb::load_dir(dir.path()).unwrap_err().to_string();
        assert!(err.contains("faq.md") && err.contains("entry 2"), "{err}");
        assert!(err.contains("Has none"), "{err}");
    }

    #[test]
    fn empty_or_missing_folder_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "notes.txt", "not knowledge");
        let err = Kb::load_dir(dir.path()).unwrap_err().to_string();
        assert!(err.starts_with("no knowledge entries in "), "{err}");
        assert!(err.contains(&dir.path().display().to_string()), "{err}");

        let missing = dir.path().join("nope");
        let err = Kb::load_dir(&missing).unwrap_err().to_string();
        assert!(
            err.contains("no knowledge entries in") && err.contains("nope"),
            "{err}"
        );
    }

    #[test]
    fn duplicate_ids_are_refused() {
        let err = Kb::from_entries(vec![entry("x#1", "q", "a"), entry("x#1", "q2", "a2")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("x#1") && err.contains("twice"), "{err}");
    }

    #[test]
    fn search_ranks_the_matching_question_first() {
        let kb = Kb::from_entries(vec![
            entry("a", "How long does shipping take?", "Two to four days."),
            entry(
                "b",
                "Which payment methods do you accept?",
                "Cards and PayPal.",
            ),
        ])
        .unwrap();
        let hits = kb.search("can I pay with paypal", 5);
        assert_eq!(hits[0].0.id, "b");
        assert!(hits.iter().all(|(e, _)| e.id != "a"));
        assert!(kb.search("the of and", 5).is_empty());
        assert!(kb.search("", 5).is_empty());
        assert!(kb.search("!!! \"quotes\" OR * NEAR(", 5).is_empty());
    }

    #[test]
    fn stemming_and_diacritics_still_match() {
        let kb = Kb::from_entries(vec![
            entry("ship", "Shipping costs", "Free over 50 EUR."),
            entry("cafe", "Café opening times", "From 8."),
        ])
        .unwrap();
        assert_eq!(kb.search("what does it cost to ship?", 1)[0].0.id, "ship");
        assert_eq!(kb.search("cafe", 1)[0].0.id, "cafe");
    }

    #[test]
    fn synonyms_match_and_count_once() {
        let kb = Kb::from_entries(vec![
            entry("card", "Do you take credit cards?", "Yes, all of them."),
            entry("wrap", "Gift wrapping", "3 EUR."),
            entry("ship", "Shipping costs", "Free over 50 EUR."),
        ])
        .unwrap();
        let hit = kb.search("can I pay with amex", 1);
        assert_eq!(hit[0].0.id, "card");
        // "present" and "gift" are one term: the text's coverage is full, not doubled (the BM25
        // side; the dense side reads the words as they are).
        let one = kb.retrieve("gift wrapping", 1)[0].1.bm25;
        let both = kb.retrieve("gift present wrapping", 1)[0].1.bm25;
        assert_eq!(kb.search("present wrapping", 1)[0].0.id, "wrap");
        assert!((one - both).abs() < 1e-9, "{one} vs {both}");
        // "free of charge" is not a question about prices.
        assert!(
            search_terms("are returns free of charge?")
                .iter()
                .all(|g| !g.contains(&"cost".to_owned()))
        );
        assert!(
            search_terms("what do you charge")
                .iter()
                .any(|g| g.contains(&"cost".to_owned()))
        );
        assert!(
            search_terms("where is it right now, still waiting")
                .iter()
                .all(|g| g[0] != "right" && g[0] != "still")
        );
    }

    #[tokio::test]
    async fn ledger_index_is_rewritten_whole_and_an_older_kb_skips_rows_it_does_not_know() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.db");
        let _ledger = crate::ledger::Ledger::open(&path).await.unwrap();
        let store = KbStore::for_ledger(&path);
        let old = store
            .build(vec![entry("wrap", "Gift wrapping", "3 EUR.")])
            .unwrap();
        assert_eq!(old.search("gift wrapping", 1)[0].0.id, "wrap");
        let new = store
            .build(vec![entry("student", "Student discount", "10%.")])
            .unwrap();
        assert_eq!(new.search("student discount", 1)[0].0.id, "student");
        assert!(new.search("gift wrapping", 1).is_empty());
        // The old knowledge base now reads the new index (not yet swapped out): it answers
        // nothing rather than another entry.
        assert!(old.search("student discount", 1).is_empty());
        let rows: i64 = rusqlite::Connection::open(&path)
            .unwrap()
            .query_row("SELECT count(*) FROM kb_index", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 1);
    }

    #[test]
    fn ledger_store_without_a_ledger_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("none.db");
        let err = KbStore::Ledger(path.clone())
            .build(vec![entry("a", "q", "a")])
            .unwrap_err()
            .to_string();
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert!(!path.exists());
    }

    #[tokio::test]
    async fn responder_answers_above_the_threshold_and_declines_below() {
        let kb = Kb::load_dir(&data("kb")).unwrap();
        let responder = KbResponder::new(kb, DEFAULT_CONFIDENCE);
        let turn = Turn::from_message("Which payment methods do you accept?");
        match responder.answer(&turn).await.unwrap() {
            Outcome::Answer {
                text,
                sources,
                score,
            } => {
                assert!(text.contains("PayPal"));
                assert_eq!(sources, vec!["shop.toml#8".to_owned()]);
                assert!(score >= DEFAULT_CONFIDENCE);
            }
            other => panic!("expected an answer, got {other:?}"),
        }
        // The dense side ranks every entry, so "no knowledge" now carries the best confidence.
        let turn = Turn::from_message("what is the meaning of life");
        match responder.answer(&turn).await.unwrap() {
            Outcome::NoKnowledge {
                best_score: Some(s),
            } => assert!(s < DEFAULT_CONFIDENCE, "{s}"),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn responder_joins_the_turns_messages() {
        let kb = Kb::load_dir(&data("kb")).unwrap();
        let responder = KbResponder::new(kb, DEFAULT_CONFIDENCE);
        let turn = Turn {
            messages: vec!["hi".into(), "i forgot my password".into()],
            ..Turn::default()
        };
        let out = responder.answer(&turn).await.unwrap();
        assert!(matches!(out, Outcome::Answer { ref sources, .. } if sources[0] == "shop.toml#20"));
    }

    #[tokio::test]
    async fn macro_variables_are_rendered_per_turn_or_the_entry_is_not_used() {
        let kb = Kb::from_entries(vec![entry(
            "macro:7",
            "Replacement laces for hiking boots",
            "Hi {{ticket.customer.firstname}}, laces cost 4 EUR.",
        )])
        .unwrap();
        let r = KbResponder::new(kb, crate::responder::hybrid::DEFAULT_CONFIDENCE);
        let named = Turn {
            customer_name: Some("Ada Lovelace".into()),
            ..Turn::from_message("replacement laces for hiking boots")
        };
        match r.answer(&named).await.unwrap() {
            Outcome::Answer { text, .. } => assert_eq!(text, "Hi Ada, laces cost 4 EUR."),
            other => panic!("{other:?}"),
        }
        // No name known: the macro is not used for this ticket.
        let anonymous = Turn::from_message("replacement laces for hiking boots");
        assert!(matches!(
            r.answer(&anonymous).await.unwrap(),
            Outcome::NoKnowledge { .. }
        ));
    }

    #[test]
    fn an_answer_in_another_language_than_the_customers_says_so() {
        // Entries in another language used to be skipped; now they answer, led in by a line in
        // the customer's language naming the answer's language (or not at all when no such
        // line exists).
        let mut fr = entry("fr", "Livraison gratuite ?", "Oui, dès 50 EUR.");
        fr.language = Some("fr".into());
        let responder = KbResponder::new(Kb::from_entries(vec![fr.clone()]).unwrap(), 0.0);
        match responder.decide("est-ce que la livraison est gratuite ?", Some("en")) {
            Outcome::Answer { text, .. } => assert_eq!(text, "Oui, dès 50 EUR."),
            other => panic!("{other:?}"),
        }
        match responder.decide("is the delivery free, livraison gratuite?", Some("de")) {
            Outcome::Answer { text, .. } => {
                assert!(
                    text.starts_with("Our answer to this is written in French:\n\n"),
                    "{text}"
                )
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            answer_text(&fr, Some("de"))
                .unwrap()
                .lines()
                .next()
                .unwrap(),
            "Unsere Antwort darauf ist auf Französisch verfasst:"
        );
        let mut sv = entry("sv", "Fri frakt?", "Ja.");
        sv.language = Some("sv".into());
        assert_eq!(answer_text(&sv, Some("fr")), None);
        assert_eq!(answer_text(&sv, None).as_deref(), Some("Ja."));
    }

    #[test]
    fn questions_in_other_languages_find_the_english_entry_or_a_same_language_one() {
        let kb = Kb::load_dir(&data("kb")).unwrap();
        let english = kb.entries();
        let responder = KbResponder::new(kb, DEFAULT_CONFIDENCE);
        for (text, want, lead) in [
            (
                "Combien coûte la livraison ?",
                "shop.toml#2",
                "Notre réponse",
            ),
            (
                "Wie kann ich mein Passwort zurücksetzen?",
                "shop.toml#20",
                "Unsere Antwort",
            ),
            (
                "¿Puedo cancelar mi pedido?",
                "shop.toml#11",
                "Nuestra respuesta",
            ),
        ] {
            match responder.decide(text, None) {
                Outcome::Answer {
                    text: answer,
                    sources,
                    ..
                } => {
                    assert_eq!(sources, vec![want.to_owned()], "{text}");
                    assert!(answer.starts_with(lead), "{text}: {answer}");
                }
                other => panic!("{text}: {other:?}"),
            }
        }
        // With an entry written in the customer's language, that one answers, as written.
        let mut entries = english;
        let mut fr = entry(
            "frais-fr",
            "Combien coûte la livraison ?",
            "La livraison coûte 4,90 EUR, offerte dès 50 EUR.",
        );
        fr.language = Some("fr".into());
        entries.push(fr);
        let responder = KbResponder::new(Kb::from_entries(entries).unwrap(), DEFAULT_CONFIDENCE);
        match responder.decide("combien coûte la livraison en France ?", None) {
            Outcome::Answer { text, sources, .. } => {
                assert_eq!(sources, vec!["frais-fr".to_owned()]);
                assert_eq!(text, "La livraison coûte 4,90 EUR, offerte dès 50 EUR.");
            }
            other => panic!("{other:?}"),
        }
    }

    /// The built-in model, counting the texts it embeds.
    struct Counting(std::sync::atomic::AtomicUsize);
    impl Embedder for Counting {
        fn model_id(&self) -> &str {
            embed::BUILTIN_ID
        }
        fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, embed::EmbedError> {
            self.0
                .fetch_add(texts.len(), std::sync::atomic::Ordering::SeqCst);
            embed::builtin().embed(texts)
        }
    }

    #[tokio::test]
    async fn ledger_build_embeds_only_new_or_changed_texts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.db");
        let _ledger = crate::ledger::Ledger::open(&path).await.unwrap();
        let store = KbStore::for_ledger(&path);
        let counting = Arc::new(Counting(Default::default()));
        let count = || counting.0.load(std::sync::atomic::Ordering::SeqCst);
        let e: Option<Arc<dyn Embedder>> = Some(counting.clone());
        let a = entry("a", "Gift wrapping", "3 EUR.");
        let b = entry("b", "Student discount", "10%.");
        let kb = store
            .build_with(vec![a.clone(), b.clone()], e.clone())
            .unwrap();
        assert_eq!(count(), 4, "two texts per entry");
        assert_eq!(kb.embedding_model(), Some(embed::BUILTIN_ID));
        // A restart: everything is cached.
        store
            .build_with(vec![a.clone(), b.clone()], e.clone())
            .unwrap();
        assert_eq!(count(), 4);
        // One answer edited: its long text only.
        let mut b2 = b.clone();
        b2.answer = "15% with a student card.".into();
        let kb = store.build_with(vec![a.clone(), b2], e.clone()).unwrap();
        assert_eq!(count(), 5);
        assert_eq!(kb.retrieve("student discount", 1)[0].0.id, "b");
        // The old long text was forgotten: the cache holds what is in use.
        let rows: i64 = rusqlite::Connection::open(&path)
            .unwrap()
            .query_row("SELECT count(*) FROM kb_vectors", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 4);
        // Without a model, BM25 alone.
        let kb = store.build_with(vec![a, b], None).unwrap();
        assert_eq!(kb.embedding_model(), None);
        assert_eq!(kb.search("gift wrapping", 1)[0].0.id, "a");
    }

    #[test]
    fn hybrid_retrieval_uses_both_rankings() {
        let kb = Kb::load_dir(&data("kb")).unwrap();
        let bm25_only = Kb::from_entries_with(kb.entries(), None).unwrap();
        let text = "how many days till my stuff gets here";
        let hits = kb.retrieve(text, 40);
        assert_eq!(hits[0].0.id, "shop.toml#1");
        assert!(hits[0].1.dense.is_some());
        // The dense side ranks every entry; BM25 alone only the ones sharing words.
        assert_eq!(hits.len(), kb.len());
        assert!(bm25_only.retrieve(text, 40).len() < kb.len());
        assert!(
            bm25_only
                .retrieve(text, 1)
                .iter()
                .all(|(_, e)| e.dense.is_none())
        );
    }

    #[test]
    fn replace_swaps_the_knowledge_base() {
        let responder = KbResponder::new(
            Kb::from_entries(vec![entry("old", "Gift wrapping", "Yes.")]).unwrap(),
            DEFAULT_CONFIDENCE,
        );
        assert!(matches!(
            responder.decide("gift wrapping", None),
            Outcome::Answer { .. }
        ));
        responder
            .replace(Kb::from_entries(vec![entry("new", "Student discount", "10%.")]).unwrap());
        assert!(matches!(
            responder.decide("gift wrapping", None),
            Outcome::NoKnowledge { .. }
        ));
        assert!(
            matches!(responder.decide("student discount", None), Outcome::Answer { ref sources, .. } if sources[0] == "new")
        );
        assert_eq!(responder.kb().read().unwrap().len(), 1);
    }

    /// The raw evidence for every case of a labelled file, for fitting the answer decision
    /// offline: `KB_DUMP_CASES=tests/data/eval/kb_dev.jsonl KB_DUMP_OUT=/tmp/f.jsonl cargo
    /// nextest run --run-ignored only -E 'test(dump_kb_evidence)'`. Only ever run on the
    /// development file.
    #[test]
    #[ignore]
    fn dump_kb_evidence() {
        use std::io::Write as _;
        let (Some(cases), Some(out)) = (
            std::env::var_os("KB_DUMP_CASES"),
            std::env::var_os("KB_DUMP_OUT"),
        ) else {
            return;
        };
        let kb = Kb::load_dir(&data("kb")).unwrap();
        let ids: Vec<String> = kb.entries().into_iter().map(|e| e.id).collect();
        let mut f = std::fs::File::create(out).unwrap();
        for line in std::fs::read_to_string(cases).unwrap().lines() {
            let case: serde_json::Value = serde_json::from_str(line).unwrap();
            let text = case["text"].as_str().unwrap();
            let mut variants = serde_json::Map::new();
            let mut add = |name: &str, t: &str| {
                let (b, c, d) = kb.raw_scores(t);
                variants.insert(
                    name.to_owned(),
                    serde_json::json!({"text": t, "bm25": b, "cov": c, "dense": d}),
                );
            };
            add("orig", text);
            if let Some(t) = lang::to_english(text) {
                add("tr", &t.text);
                add("both", &format!("{text} {}", t.text));
            }
            let row = serde_json::json!({
                "text": text, "expect": case["expect"], "entry": case["entry"],
                "lang": case["lang"], "ids": ids, "v": variants,
            });
            writeln!(f, "{row}").unwrap();
        }
    }
}
