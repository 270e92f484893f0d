//! The knowledge base: question/answer entries loaded from a folder of TOML and Markdown files
//! (`entries`), indexed in a SQLite FTS5 table (`kb_index`: in the ledger file for the daemon,
//! in memory for tests, `kb list` and `preview`, see [`KbStore`]; the statements live in
//! [`crate::ledger::KbIndex`]) and searched with BM25 and dense vectors (`index`, with the
//! query words of `terms`); and the `kb` responder deciding on the result (`responder`).
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

mod entries;
mod index;
mod responder;
mod terms;

pub use super::hybrid::DEFAULT_CONFIDENCE;
pub use entries::{KbEntry, KbError, MAX_KB_FILE_BYTES, knowledge_files, read_dir_entries};
pub use index::{Kb, KbStore};
pub use responder::KbResponder;
pub(crate) use terms::query_terms;

#[cfg(test)]
mod tests;
