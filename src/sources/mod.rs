//! Knowledge the shop already keeps elsewhere: its Gorgias macros (`kb.macros`) and its
//! help-centre or FAQ websites (`kb.sites`), read at start, every `kb.refresh` and on SIGHUP,
//! and handed to the live knowledge base (`knowledge::LiveKb::set_sourced`) which re-indexes
//! only what changed.
//!
//! Each source is refreshed on its own: one that fails keeps its last good entries (in memory
//! and in the ledger's `kb_sourced`, so a restart while it is down still answers from them) and
//! is logged at error level once when it starts failing, at debug while it keeps failing, and
//! at info when it recovers. Every refresh is recorded in the ledger (`kb_sources`) for
//! `perfectbot status`. Submodules: `macros` (macro -> entry, pure), `html` (page -> sections,
//! pure), `sites` (the polite crawler).
//!
//! This module reads and stores; it decides nothing about tickets. Macro templates are
//! rendered per ticket by the responder, not here.

pub mod html;
pub mod macros;
pub mod sites;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;

use jiff::Timestamp;

use crate::config::KbConfig;
use crate::gorgias::Client;
use crate::knowledge::LiveKb;
use crate::ledger::{Ledger, LedgerError, SourcedRow};
use crate::responder::Responder;
use crate::responder::kb::KbEntry;
use macros::{MacroFilter, Skip};
use sites::{SiteCache, SiteLimits, SiteReader};

/// The name of the macros source (in `kb_sources`, logs and metrics).
pub const MACROS: &str = "macros";

/// The source name of a configured site.
pub fn site_source(url: &str) -> String {
    format!("site:{url}")
}

/// One configured source.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    Macros,
    Site(String),
}

impl Source {
    fn name(&self) -> String {
        match self {
            Source::Macros => MACROS.to_owned(),
            Source::Site(url) => site_source(url),
        }
    }
}

/// What one refresh of every source did.
#[derive(Debug, Default, Clone)]
pub struct RefreshReport {
    /// Per source: its name and its entry count, or the error that kept the last entries.
    pub sources: Vec<(String, Result<usize, String>)>,
    /// Gorgias API requests made by the macro import.
    pub api_requests: u64,
    /// HTTP requests made to the sites (robots.txt and sitemaps included).
    pub site_requests: usize,
    /// Pages read in full, and pages the sites said had not changed.
    pub pages_read: usize,
    pub pages_not_modified: usize,
    /// Pages skipped (not HTML, too large, a redirect loop, gone, disallowed...), each logged.
    pub pages_skipped: usize,
    /// Whether any source's entries changed.
    pub changed: bool,
}

/// The configured sources and what is remembered between their refreshes.
pub struct Sources {
    sources: Vec<Source>,
    filter: MacroFilter,
    client: Client,
    reader: SiteReader,
    caches: tokio::sync::Mutex<HashMap<String, SiteCache>>,
    /// The error each failing source last logged, so a failure is logged once, not hourly.
    failing: Mutex<HashMap<String, String>>,
    /// Macro problems already logged (a macro skipped for the same reason every hour is
    /// logged the first time only).
    reported: Mutex<HashSet<String>>,
}

impl std::fmt::Debug for Sources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sources")
            .field("sources", &self.sources)
            .finish()
    }
}

impl Sources {
    /// The sources `kb` configures, read with `client` (macros: the daemon's client, so its
    /// requests share the API budget); `None` when there are none.
    pub fn from_config(kb: &KbConfig, client: Client) -> anyhow::Result<Option<Sources>> {
        let mut sources = Vec::new();
        if kb.macros {
            sources.push(Source::Macros);
        }
        sources.extend(kb.sites.iter().cloned().map(Source::Site));
        if sources.is_empty() {
            return Ok(None);
        }
        let reader = SiteReader::new(SiteLimits::new(kb.site_max_pages, kb.site_max_page_bytes))?;
        Ok(Some(Sources {
            sources,
            filter: MacroFilter {
                name_prefix: kb.macro_name_prefix.clone(),
                languages: kb.macro_languages.clone(),
            },
            client,
            reader,
            caches: tokio::sync::Mutex::new(HashMap::new()),
            failing: Mutex::new(HashMap::new()),
            reported: Mutex::new(HashSet::new()),
        }))
    }

    /// The configured sources' names.
    pub fn names(&self) -> Vec<String> {
        self.sources.iter().map(Source::name).collect()
    }

    /// At start: the entries stored by earlier runs (for the configured sources; the others
    /// are forgotten), so the bot answers from them before the first refresh ends.
    pub async fn load_stored(
        &self,
        ledger: &Ledger,
        live: &LiveKb,
        responder: &dyn Responder,
    ) -> Result<usize, LedgerError> {
        let names = self.names();
        ledger.forget_sources_except(names.clone()).await?;
        let mut by_source: BTreeMap<String, Vec<KbEntry>> = BTreeMap::new();
        for row in ledger.sourced().await? {
            by_source
                .entry(row.source.clone())
                .or_default()
                .push(entry_of(&row));
        }
        let mut n = 0;
        for (name, entries) in by_source {
            n += entries.len();
            live.set_sourced(&name, entries, Some(&names), responder)
                .await;
        }
        Ok(n)
    }

    /// Reads every source once, in turn, and hands what changed to `live`. A source that
    /// fails keeps its entries. Only a ledger that cannot be written is an error.
    pub async fn refresh_once(
        &self,
        ledger: &Ledger,
        live: &LiveKb,
        responder: &dyn Responder,
        now: Timestamp,
    ) -> Result<RefreshReport, LedgerError> {
        let mut report = RefreshReport::default();
        let names = self.names();
        for source in &self.sources {
            let name = source.name();
            let read = match source {
                Source::Macros => {
                    let before = self.client.stats().requests;
                    let r = self.read_macros().await;
                    report.api_requests += self.client.stats().requests.saturating_sub(before);
                    r
                }
                Source::Site(url) => {
                    let mut caches = self.caches.lock().await;
                    let cache = caches.entry(url.clone()).or_default();
                    match self.reader.read(&name, url, cache).await {
                        Ok(r) => {
                            report.site_requests += r.requests;
                            report.pages_read += r.pages_read;
                            report.pages_not_modified += r.not_modified;
                            report.pages_skipped += r.skipped;
                            Ok(r.entries)
                        }
                        Err(e) => Err(e.to_string()),
                    }
                }
            };
            match read {
                Ok(entries) => {
                    let n = entries.len();
                    let rows = entries
                        .iter()
                        .map(|e| SourcedRow {
                            entry_id: e.id.clone(),
                            source: name.clone(),
                            question: e.question.clone(),
                            answer: e.answer.clone(),
                            language: e.language.clone(),
                            read_at: now,
                        })
                        .collect();
                    let changed = ledger.replace_sourced(&name, rows).await?;
                    report.changed |= changed;
                    live.set_sourced(&name, entries, Some(&names), responder)
                        .await;
                    ledger
                        .record_source_refresh(&name, now, Ok(n as u64))
                        .await?;
                    let recovered = self.failing().remove(&name).is_some();
                    if recovered {
                        tracing::info!(source = %name, entries = n, "knowledge source readable again");
                    } else if changed {
                        tracing::info!(source = %name, entries = n, "knowledge source refreshed");
                    } else {
                        tracing::debug!(source = %name, entries = n, "knowledge source unchanged");
                    }
                    report.sources.push((name, Ok(n)));
                }
                Err(e) => {
                    let kept = live.sourced(&name).len();
                    let first = self.failing().insert(name.clone(), e.clone()).as_ref() != Some(&e);
                    if first {
                        tracing::error!(source = %name, error = %e, kept_entries = kept,
                            "knowledge source cannot be read; keeping its last good entries");
                    } else {
                        tracing::debug!(source = %name, error = %e, "knowledge source still cannot be read");
                    }
                    ledger
                        .record_source_refresh(&name, now, Err(e.clone()))
                        .await?;
                    report.sources.push((name, Err(e)));
                }
            }
        }
        Ok(report)
    }

    fn failing(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.failing.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every usable macro as an entry; one log line per macro left out (the first time).
    async fn read_macros(&self) -> Result<Vec<KbEntry>, String> {
        let list = self.client.macros().await.map_err(|e| e.to_string())?;
        let mut entries = Vec::new();
        let mut seen = HashSet::new();
        for m in &list {
            if !seen.insert(m.id) {
                continue;
            }
            match macros::entry(m, &self.filter) {
                Ok(e) => entries.push(e),
                Err(Skip::Archived | Skip::Filtered) => {}
                Err(skip) => {
                    let key = format!("{}:{skip}", m.id);
                    let new = self
                        .reported
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(key);
                    if new {
                        tracing::warn!(macro_id = m.id, name = %m.name, reason = %skip, "macro not imported");
                    }
                }
            }
        }
        Ok(entries)
    }
}

/// The knowledge entry of a stored sourced row.
pub fn entry_of(row: &SourcedRow) -> KbEntry {
    KbEntry {
        id: row.entry_id.clone(),
        question: row.question.clone(),
        answer: row.answer.clone(),
        keywords: vec![],
        language: row.language.clone(),
        source: row.entry_id.clone(),
    }
}

pub use crate::knowledge::kind_of;
