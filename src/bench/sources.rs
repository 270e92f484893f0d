//! Knowledge costs: the built-in embedding model per message, and importing macros and a help
//! centre.

use super::*;

/// The built-in model's cost per customer message (one thread, after loading).
#[derive(Debug, Clone, Serialize)]
pub struct EmbedFigures {
    pub messages: usize,
    /// Loading the compiled-in model (tokenizer parse, weights), once per process.
    pub load_ms: f64,
    /// Embedding one message: median and 99th percentile.
    pub embed_median_us: f64,
    pub embed_p99_us: f64,
    /// The whole kb decision for one message (BM25 + embedding + fusion), median.
    pub decide_median_us: f64,
}

/// Times the built-in model on chat-sized messages (the questions of the example knowledge base
/// and variations), `rounds` passes.
pub(super) fn embed_costs(rounds: usize) -> anyhow::Result<EmbedFigures> {
    use crate::responder::embed::builtin;
    use crate::responder::kb::{DEFAULT_CONFIDENCE, Kb, KbResponder};
    let started = std::time::Instant::now();
    let model = builtin();
    let load_ms = started.elapsed().as_secs_f64() * 1000.0;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/kb");
    let entries = crate::responder::kb::read_dir_entries(&dir).or_else(|_| {
        crate::responder::kb::read_dir_entries(std::path::Path::new("tests/data/kb"))
    })?;
    let texts: Vec<String> = entries
        .iter()
        .flat_map(|e| {
            [
                e.question.clone(),
                format!("hi, quick question: {} thanks", e.question.to_lowercase()),
            ]
        })
        .collect();
    let responder = KbResponder::new(Kb::from_entries(entries)?, DEFAULT_CONFIDENCE);
    let time = |f: &dyn Fn(&str)| -> Vec<f64> {
        let mut us = Vec::with_capacity(rounds * texts.len());
        for _ in 0..rounds {
            for t in &texts {
                let at = std::time::Instant::now();
                f(t);
                us.push(at.elapsed().as_secs_f64() * 1e6);
            }
        }
        us.sort_by(f64::total_cmp);
        us
    };
    let embed = time(&|t| {
        std::hint::black_box(model.embed_one(t));
    });
    let decide = time(&|t| {
        std::hint::black_box(responder.decide(t, None));
    });
    let pick = |v: &[f64], q: f64| v[((v.len() - 1) as f64 * q) as usize];
    Ok(EmbedFigures {
        messages: embed.len(),
        load_ms,
        embed_median_us: pick(&embed, 0.5),
        embed_p99_us: pick(&embed, 0.99),
        decide_median_us: pick(&decide, 0.5),
    })
}

/// One refresh of the knowledge sources.
#[derive(Debug, Clone, Serialize)]
pub struct SourcesRefresh {
    pub wall_ms: f64,
    /// Gorgias API requests (the macro list pages).
    pub api_requests: u64,
    /// Requests to the website (robots.txt, sitemap, pages).
    pub site_requests: usize,
    pub pages_read: usize,
    pub pages_not_modified: usize,
    /// Knowledge entries in use afterwards.
    pub entries: usize,
}

/// Importing the knowledge the shop already keeps: macros and a help centre.
#[derive(Debug, Clone, Serialize)]
pub struct SourcesFigures {
    pub macros: usize,
    pub pages: usize,
    /// The Gorgias budget the import ran under (requests per window, window seconds).
    pub requests_per_window: u32,
    pub window_s: u64,
    /// The first import (empty ledger).
    pub first: SourcesRefresh,
    /// The next refresh with nothing changed (conditional requests).
    pub unchanged: SourcesRefresh,
    /// After editing 10 macros and 10 pages (only those re-indexed).
    pub edited: SourcesRefresh,
}

/// Imports `macros` macros and a help centre of `pages` articles (two sections each) into a
/// daemon on an empty ledger, then refreshes twice: once with nothing changed, once after
/// editing ten of each. The Gorgias budget is the default one (40 per 20 s).
pub(super) async fn sources_import(macros: usize, pages: usize) -> anyhow::Result<SourcesFigures> {
    let e = env(Some((DEFAULT_RATE, WINDOW))).await?;
    let site = perfectbot_sim::site::Site::new();
    let mut macro_ids = Vec::with_capacity(macros);
    for i in 0..macros {
        macro_ids.push(e.sim.create_macro(perfectbot_sim::NewMacro {
            name: format!("Macro {i}: question about topic {i}"),
            language: Some("en".into()),
            text: format!(
                "Hi {{{{ticket.customer.firstname}}}}, here is the answer about topic {i}."
            ),
            ..perfectbot_sim::NewMacro::default()
        }));
    }
    let article = |i: usize, v: usize| {
        (
            format!("article-{i}"),
            format!("Article {i}"),
            [
                (
                    format!("How does feature {i} work?"),
                    format!("<p>Feature {i} works like this (version {v}).</p>"),
                ),
                (
                    format!("What does feature {i} cost?"),
                    format!("<p>Feature {i} costs {i} EUR.</p>"),
                ),
            ],
        )
    };
    let set = |i: usize, v: usize| {
        let (slug, title, sections) = article(i, v);
        let refs: Vec<(&str, &str)> = sections
            .iter()
            .map(|(h, b)| (h.as_str(), b.as_str()))
            .collect();
        site.set_article(&slug, &title, &refs);
    };
    for i in 0..pages {
        set(i, 1);
    }
    let server = site.serve().await.context("serving the help centre")?;
    let mut cfg = e.config(&e.dir.path().join("ledger.db"));
    cfg.kb.macros = true;
    cfg.kb.sites = vec![server.sitemap_url()];
    cfg.gorgias.requests_per_window = DEFAULT_RATE;
    let daemon = Daemon::build(cfg, Arc::new(SystemClock)).await?;
    async fn once(d: &Daemon) -> anyhow::Result<SourcesRefresh> {
        let started = Instant::now();
        let r = d
            .refresh_sources_once()
            .await?
            .context("no knowledge sources configured")?;
        if let Some((name, Err(e))) = r.sources.iter().find(|(_, res)| res.is_err()) {
            bail!("source {name} failed: {e}");
        }
        Ok(SourcesRefresh {
            wall_ms: started.elapsed().as_secs_f64() * 1000.0,
            api_requests: r.api_requests,
            site_requests: r.site_requests,
            pages_read: r.pages_read,
            pages_not_modified: r.pages_not_modified,
            entries: d.knowledge().entries().len(),
        })
    }
    let first = once(&daemon).await?;
    let unchanged = once(&daemon).await?;
    for id in macro_ids.iter().take(10) {
        e.sim
            .edit_macro_text(*id, &format!("Edited answer for macro {id}."));
    }
    for i in 0..10.min(pages) {
        set(i, 2);
    }
    let edited = once(&daemon).await?;
    Ok(SourcesFigures {
        macros,
        pages,
        requests_per_window: DEFAULT_RATE,
        window_s: WINDOW.as_secs(),
        first,
        unchanged,
        edited,
    })
}
