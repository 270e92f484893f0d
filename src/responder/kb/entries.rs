//! Knowledge entries and the files they come from: the `*.toml` and `*.md` formats, the size
//! cap, and the checks every knowledge base makes on its entries.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

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
pub(super) fn read_capped(path: &Path, limit: u64) -> std::io::Result<String> {
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

/// Checks that ids are unique and non-empty and questions and answers non-empty; returns each
/// id's position.
pub(super) fn validate(entries: &[KbEntry]) -> Result<HashMap<String, usize>, KbError> {
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
