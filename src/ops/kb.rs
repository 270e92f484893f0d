//! `perfectbot kb list`: every knowledge entry with where it came from. Read-only (the files
//! and, if it exists yet, the ledger), no network, safe while the daemon runs.

use std::path::Path;

use anyhow::Context as _;
use jiff::Timestamp;
use serde_json::json;

use crate::knowledge::learned_entry;
use crate::responder::kb::{self, KbEntry};
use crate::responder::learn;

/// `perfectbot kb list`: every entry (files, learned notes, macros, site pages) with its id,
/// its source (`file:PATH`, `note:ticket T message M`, `macro:ID`, `site:URL#heading`), its
/// language, when it was read, and its question (clipped). Reads the files and, read-only, the
/// ledger (if it exists yet), which holds the notes and the sources' last entries.
pub async fn list(config_path: &Path, as_json: bool) -> anyhow::Result<()> {
    let config = super::load_offline(config_path)?;
    let files = kb::read_dir_entries(&config.kb.dir)
        .with_context(|| format!("reading the knowledge files in {}", config.kb.dir.display()))?;
    let mut learned = vec![];
    let mut sourced = vec![];
    if config.ledger.path.is_file() {
        let ledger = super::open_ledger(&config.ledger.path).await?;
        let what = || format!("reading the ledger {}", config.ledger.path.display());
        learned = ledger.learned().await.with_context(what)?;
        sourced = ledger.sourced().await.with_context(what)?;
    }
    struct Listed {
        entry: KbEntry,
        kind: &'static str,
        source: String,
        read_at: Option<Timestamp>,
        ticket: Option<(u64, u64)>,
    }
    let modified = |path: &str| -> Option<Timestamp> {
        let t = std::fs::metadata(path).ok()?.modified().ok()?;
        Timestamp::try_from(t).ok()
    };
    let mut items: Vec<Listed> = files
        .into_iter()
        .map(|e| Listed {
            kind: "file",
            source: format!("file:{}", e.source),
            read_at: modified(&e.source),
            ticket: None,
            entry: e,
        })
        .collect();
    items.extend(learned.iter().map(|r| Listed {
        entry: learned_entry(r),
        kind: "note",
        source: format!("note:{}", learn::source_of(r.ticket_id, r.message_id)),
        read_at: Some(r.updated_at),
        ticket: Some((r.ticket_id, r.message_id)),
    }));
    items.extend(sourced.iter().map(|r| {
        let entry = crate::sources::entry_of(r);
        Listed {
            kind: crate::knowledge::kind_of(&entry.id),
            source: entry.source.clone(),
            read_at: Some(r.read_at),
            ticket: None,
            entry,
        }
    }));
    if as_json {
        let out: Vec<_> = items
            .iter()
            .map(|i| {
                json!({
                    "id": i.entry.id,
                    "question": i.entry.question,
                    "answer": i.entry.answer,
                    "source": i.source,
                    "kind": i.kind,
                    "language": i.entry.language,
                    "read_at": i.read_at.map(|t| t.to_string()),
                    "ticket_id": i.ticket.map(|t| t.0),
                    "message_id": i.ticket.map(|t| t.1),
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(out));
    } else {
        for i in &items {
            let read = i
                .read_at
                .map(|t| t.strftime("%Y-%m-%d %H:%M:%SZ").to_string())
                .unwrap_or_else(|| "-".to_owned());
            println!(
                "{}\t{}\t{}\t{}\t{}",
                i.entry.id,
                i.source,
                i.entry.language.as_deref().unwrap_or("-"),
                read,
                clip(&i.entry.question, 60)
            );
        }
        let count = |k: &str| items.iter().filter(|i| i.kind == k).count();
        println!(
            "{} entries ({} from files, {} learned from notes, {} from macros, {} from sites)",
            items.len(),
            count("file"),
            count("note"),
            count("macro"),
            count("site"),
        );
    }
    Ok(())
}

fn clip(s: &str, max: usize) -> String {
    let one_line = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max {
        one_line
    } else {
        let cut: String = one_line.chars().take(max - 1).collect();
        format!("{cut}…")
    }
}
