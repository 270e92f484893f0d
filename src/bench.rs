//! `perfectbot bench`: the measured workloads, against the in-process simulator with the real
//! daemon (`Daemon::build` + `run_until_cancelled`). It owns the workloads and the figures they
//! produce (requests per resolved conversation next to the API's minimum, 429s, reply latency,
//! close lag, the sweep over a large ledger, peak memory, idle CPU); it must not change how the
//! daemon works: it only drives customers and reads counters.
//!
//! Figures are process-wide where the kernel gives them (RSS, CPU): the simulator runs in the
//! same process, so they include its share; the report says so.

use crate::clock::{Clock, FastClock, SystemClock};
use crate::config::Config;
use crate::daemon::Daemon;
use crate::demo::DEMO_KB;
use crate::gorgias::Ticket;
use crate::ledger::{Ledger, TicketRow, TicketState};
use crate::sim::{NewTicket, Seeded, Sim, SimOptions, SimServer};
use anyhow::{Context as _, bail};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// How much to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Size {
    /// A few minutes: 20 conversations by polling and 20 by webhook in real time, then 200 on
    /// a clock running 25x.
    Fast,
    /// About 45 minutes: 100 conversations in real time and the same 100 on a clock running
    /// 20x (the check that the fast clock changes nothing but the wall time), then the `scale`
    /// runs.
    Full,
    /// About 35 minutes: 1,000 and 10,000 conversations by polling and by webhook, the default
    /// 15-minute close, on a clock running 50x.
    Scale,
}

/// One workload, to run it alone (`--only`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Phase {
    Memory,
    Idle,
    Sweep,
    Conversations,
    /// The built-in embedding model and the hybrid search on the example knowledge base.
    Embed,
    /// Importing 500 macros and a help centre of 200 pages (`kb.macros`, `kb.sites`).
    Sources,
}

/// Gorgias's default budget for an API key.
const DEFAULT_RATE: u32 = 40;
const WINDOW: Duration = Duration::from_secs(20);
/// One new conversation every 4 s of clock time: 900 chats an hour, a busy shop, using about
/// three quarters of the default budget.
const ARRIVAL: Duration = Duration::from_secs(4);
/// Answerable from the example knowledge base (the demo's), so each ends closed.
const QUESTIONS: [&str; 2] = [
    "How long does shipping take?",
    "What payment methods do you accept?",
];
/// The API's minimum for an answered-then-closed conversation: GET ticket, POST reply, POST
/// tag Handled; then GET before close, POST tag Auto-closed, PUT close.
const MIN_REQUESTS: f64 = 6.0;

/// Figures of one conversation run.
#[derive(Debug, Clone, Serialize)]
pub struct ConversationFigures {
    pub label: String,
    pub conversations: usize,
    pub resolved: usize,
    /// Clock seconds per real second (1 = real time); every figure below but `wall_s` is in
    /// the clock's time.
    pub clock_speed: u32,
    /// Clock time from the first arrival to the last resolution.
    pub clock_s: f64,
    /// The ledger was on tmpfs (fast-clock runs), not on disk.
    pub ledger_on_tmpfs: bool,
    /// Both sides: the simulator's bucket and the client's pacer.
    pub requests_per_window: u32,
    pub window_s: u64,
    pub poll_interval_s: f64,
    pub close_after_s: f64,
    /// One new conversation every this many seconds.
    pub arrival_every_s: f64,
    pub wall_s: f64,
    pub requests: u64,
    pub requests_per_resolved: f64,
    /// List polls (`PUT /api/views/0/items`, route `/api/views/{id}/items`) during the run.
    pub list_polls: u64,
    /// 6 + this run's list polls shared over the resolved conversations.
    pub minimum_per_resolved: f64,
    pub rate_limited: u64,
    pub reply_latency_p50_ms: u64,
    pub reply_latency_p99_ms: u64,
    pub close_lag_p50_ms: u64,
    pub close_lag_p99_ms: u64,
    /// Requests by "METHOD route".
    pub by_route: BTreeMap<String, u64>,
}

/// The sweep over a large ledger.
#[derive(Debug, Clone, Serialize)]
pub struct SweepFigures {
    pub rows: usize,
    pub answered_not_due: usize,
    pub insert_s: f64,
    /// Each timed sweep, in milliseconds.
    pub runs_ms: Vec<f64>,
    pub median_ms: f64,
}

/// Memory with many tracked tickets.
#[derive(Debug, Clone, Serialize)]
pub struct MemoryFigures {
    pub tracked: usize,
    /// VmRSS when the bench started.
    pub start_rss_kib: u64,
    /// VmHWM once the simulator held the tickets, before the daemon was built.
    pub sim_loaded_hwm_kib: u64,
    /// VmHWM after the daemon polled and swept over them.
    pub peak_hwm_kib: u64,
    /// Time of that poll (the view listed in pages of 100) and sweep.
    pub poll_ms: f64,
    pub sweep_ms: f64,
    /// Requests the poll made (the list pages; no ticket should need a full read).
    pub poll_requests: u64,
    /// Time of the listing alone (the simulator's share of the poll).
    pub list_ms: f64,
}

/// CPU of an idle daemon (polling, nothing to do).
#[derive(Debug, Clone, Serialize)]
pub struct IdleFigures {
    pub seconds: f64,
    pub cpu_ms: f64,
    pub cpu_percent: f64,
    pub poll_interval_s: f64,
}

/// Everything one `perfectbot bench` measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub size: String,
    pub debug_build: bool,
    pub cores: usize,
    pub memory: Option<MemoryFigures>,
    pub idle: Option<IdleFigures>,
    pub sweep: Option<SweepFigures>,
    pub sources: Option<SourcesFigures>,
    pub conversations: Vec<ConversationFigures>,
    pub embed: Option<EmbedFigures>,
}

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
fn embed_costs(rounds: usize) -> anyhow::Result<EmbedFigures> {
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

/// Run the workloads of `size` (all, or only `only`) and return the figures (progress goes to
/// stderr). Memory runs first so that its peak is not another workload's.
pub async fn run(size: Size, only: Option<Phase>) -> anyhow::Result<Report> {
    let start_rss = proc_status_kib("VmRSS:").unwrap_or(0);
    let on = |p: Phase| only.is_none_or(|o| o == p);
    let mut memory = None;
    if on(Phase::Memory) {
        eprintln!("bench: memory with 10,000 tracked tickets ...");
        memory = Some(memory_with_tracked(10_000, start_rss).await?);
    }
    let mut idle = None;
    if on(Phase::Idle) {
        eprintln!("bench: idle CPU over 10 s ...");
        idle = Some(idle_cpu(Duration::from_secs(10)).await?);
    }
    let mut sweep = None;
    if on(Phase::Sweep) {
        eprintln!("bench: sweep over 100,000 ledger rows ...");
        sweep = Some(sweep_large(100_000).await?);
    }
    let mut embed = None;
    if on(Phase::Embed) {
        eprintln!("bench: embedding customer messages with the built-in model ...");
        embed = Some(embed_costs(20)?);
    }
    let mut sources = None;
    if on(Phase::Sources) {
        eprintln!("bench: importing 500 macros and 200 help-centre pages ...");
        sources = Some(sources_import(500, 200).await?);
    }
    let mut conversations = Vec::new();
    let short = Duration::from_secs(5);
    let default_close = Duration::from_secs(15 * 60);
    let w = |n, speed, wake, close_after| Workload {
        n,
        speed,
        every: ARRIVAL,
        wake,
        close_after,
    };
    let runs: Vec<Workload> = match size {
        Size::Fast => vec![
            w(20, 1, Wake::Polling, short),
            w(20, 1, Wake::Webhook, short),
            w(200, 25, Wake::Polling, default_close),
        ],
        Size::Full | Size::Scale => {
            let mut runs = vec![];
            if size == Size::Full {
                runs.extend([
                    w(100, 1, Wake::Polling, short),
                    w(100, 20, Wake::Polling, short),
                ]);
            }
            for n in [1000, 10_000] {
                runs.extend([
                    w(n, 50, Wake::Polling, default_close),
                    w(n, 50, Wake::Webhook, default_close),
                ]);
            }
            runs
        }
    };
    for wl in runs.into_iter().filter(|_| on(Phase::Conversations)) {
        eprintln!(
            "bench: {} conversations at {DEFAULT_RATE} req/20 s, one every {:?}, woken by {:?}, close after {:?}, clock {}x ...",
            wl.n, wl.every, wl.wake, wl.close_after, wl.speed
        );
        conversations.push(conversation_run(wl).await?);
    }
    Ok(Report {
        size: format!("{size:?}").to_lowercase(),
        debug_build: cfg!(debug_assertions),
        embed,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        memory,
        idle,
        sweep,
        sources,
        conversations,
    })
}

/// The report as a table.
pub fn table(r: &Report) -> String {
    let mut out = String::new();
    let mut line = |k: &str, v: String| out.push_str(&format!("{k:<44} {v}\n"));
    line(
        "build / cores",
        format!(
            "{} / {}",
            if r.debug_build { "debug" } else { "release" },
            r.cores
        ),
    );
    if let Some(e) = &r.embed {
        line(
            "embed: load / one message (median, p99)",
            format!(
                "{:.0} ms / {:.1} us, {:.1} us ({} messages)",
                e.load_ms, e.embed_median_us, e.embed_p99_us, e.messages
            ),
        );
        line(
            "embed: kb decision per message (median)",
            format!("{:.1} us", e.decide_median_us),
        );
    }
    for c in &r.conversations {
        line("", String::new());
        line(
            &format!("conversations [{}]", c.label),
            format!(
                "{} started, {} resolved in {:.0} s of clock time ({:.0} s wall; one every {} s)",
                c.conversations, c.resolved, c.clock_s, c.wall_s, c.arrival_every_s
            ),
        );
        line(
            "  pacing (both sides) / poll / close_after",
            format!(
                "{} req/{} s / {} s / {} s{}",
                c.requests_per_window,
                c.window_s,
                c.poll_interval_s,
                c.close_after_s,
                if c.ledger_on_tmpfs {
                    " (ledger on tmpfs)"
                } else {
                    ""
                }
            ),
        );
        line(
            "  API requests per resolved conversation",
            format!(
                "{:.2} (minimum {:.2} = 6 + {} list polls / {})",
                c.requests_per_resolved, c.minimum_per_resolved, c.list_polls, c.resolved
            ),
        );
        line("  429 answers", c.rate_limited.to_string());
        line(
            "  reply latency p50 / p99",
            format!(
                "{} ms / {} ms",
                c.reply_latency_p50_ms, c.reply_latency_p99_ms
            ),
        );
        line(
            "  close lag p50 / p99",
            format!("{} ms / {} ms", c.close_lag_p50_ms, c.close_lag_p99_ms),
        );
        for (route, n) in &c.by_route {
            line(&format!("    {route}"), n.to_string());
        }
    }
    if let Some(sw) = &r.sweep {
        line("", String::new());
        line(
            &format!(
                "sweep over {} rows ({} answered, not due)",
                sw.rows, sw.answered_not_due
            ),
            format!(
                "median {:.1} ms of {:?} ms (rows inserted in {:.1} s)",
                sw.median_ms, sw.runs_ms, sw.insert_s
            ),
        );
    }
    if let Some(src) = &r.sources {
        line("", String::new());
        line(
            &format!("import {} macros + {} pages", src.macros, src.pages),
            format!(
                "at {} req/{} s (Gorgias budget)",
                src.requests_per_window, src.window_s
            ),
        );
        for (name, f) in [
            ("first import", &src.first),
            ("refresh, nothing changed", &src.unchanged),
            ("refresh, 10 macros + 10 pages edited", &src.edited),
        ] {
            line(
                &format!("  {name}"),
                format!(
                    "{:.0} ms, {} API requests, {} site requests ({} pages read, {} not modified), {} entries",
                    f.wall_ms,
                    f.api_requests,
                    f.site_requests,
                    f.pages_read,
                    f.pages_not_modified,
                    f.entries
                ),
            );
        }
    }
    if let Some(m) = &r.memory {
        line(
            &format!("memory, {} tracked tickets (process)", m.tracked),
            format!(
                "start RSS {} MiB, sim loaded {} MiB, peak (VmHWM) {} MiB",
                m.start_rss_kib / 1024,
                m.sim_loaded_hwm_kib / 1024,
                m.peak_hwm_kib / 1024
            ),
        );
        line(
            "  poll (its requests; listing alone) / sweep",
            format!(
                "{:.0} ms ({} requests; {:.0} ms) / {:.1} ms",
                m.poll_ms, m.poll_requests, m.list_ms, m.sweep_ms
            ),
        );
    }
    if let Some(idle) = &r.idle {
        line(
            "idle CPU (process, poll every 5 s)",
            format!(
                "{:.0} ms over {:.0} s = {:.2} %",
                idle.cpu_ms, idle.seconds, idle.cpu_percent
            ),
        );
    }
    out
}

struct Env {
    sim: Sim,
    _server: SimServer,
    seeded: Seeded,
    dir: tempfile::TempDir,
}

async fn env(rate_limit: Option<(u32, Duration)>) -> anyhow::Result<Env> {
    env_on(rate_limit, Arc::new(SystemClock)).await
}

async fn env_on(rate_limit: Option<(u32, Duration)>, clock: Arc<dyn Clock>) -> anyhow::Result<Env> {
    let (sim, server, seeded) = crate::sim::start_seeded_on(
        SimOptions {
            rate_limit,
            ..SimOptions::default()
        },
        clock.clone(),
    )
    .await
    .context("starting the simulator")?;
    // On a fast clock every real millisecond counts `speed` times: the ledger goes to tmpfs so
    // the disk's fsync time is not multiplied with it (the real-time runs keep the disk).
    let shm = Path::new("/dev/shm");
    let dir = if clock.speed() > 1 && shm.is_dir() {
        tempfile::tempdir_in(shm)
    } else {
        tempfile::tempdir()
    }
    .context("creating a temporary directory")?;
    let kb = dir.path().join("kb");
    std::fs::create_dir_all(&kb)?;
    std::fs::write(kb.join("shop.toml"), DEMO_KB)?;
    Ok(Env {
        sim,
        _server: server,
        seeded,
        dir,
    })
}

impl Env {
    /// The default config against this simulator, with the ledger in `ledger`.
    fn config(&self, ledger: &Path) -> Config {
        let mut cfg = Config::for_tests(
            &self._server.base_url(),
            &self.seeded.bot.email,
            &self.seeded.bot.api_key,
        );
        cfg.ledger.path = ledger.to_path_buf();
        cfg.kb.dir = self.dir.path().join("kb");
        cfg
    }

    fn chat(&self, email: &str, text: &str) -> u64 {
        let c = self.sim.create_customer("Bench Customer", Some(email));
        self.sim.create_ticket(NewTicket {
            channel: "chat".into(),
            customer_id: c,
            first_message: text.into(),
            assignee_user: Some(self.seeded.bot.id),
            ..NewTicket::default()
        })
    }

    fn resolved(&self, id: u64) -> bool {
        self.sim.ticket_json(id).is_some_and(|t| {
            t["status"] == "closed"
                && t["tags"].as_array().is_some_and(|tags| {
                    tags.iter()
                        .any(|x| x["name"].as_str() == Some("PerfectBot: Auto-closed"))
                })
        })
    }
}

/// What makes the bot look at a new customer message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wake {
    /// The default 5 s poll.
    Polling,
    /// A Gorgias HTTP integration calling `/webhook`; polling slowed to once a minute.
    Webhook,
}

/// One conversation workload.
#[derive(Debug, Clone, Copy)]
struct Workload {
    n: usize,
    /// The clock's speed: the daemon, its client's pacer and the simulator's bucket all run
    /// on one `FastClock`, so the budget, the poll interval and the close delay keep their
    /// real ratios while the wall time shrinks.
    speed: u32,
    every: Duration,
    wake: Wake,
    close_after: Duration,
}

async fn conversation_run(wl: Workload) -> anyhow::Result<ConversationFigures> {
    let Workload {
        n,
        speed,
        every,
        wake,
        close_after,
    } = wl;
    let clock: Arc<dyn Clock> = Arc::new(FastClock::new(speed));
    let env = env_on(Some((DEFAULT_RATE, WINDOW)), clock.clone()).await?;
    let mut cfg = env.config(&env.dir.path().join("ledger.db"));
    cfg.gorgias.requests_per_window = DEFAULT_RATE;
    cfg.gorgias.window = WINDOW;
    // The default poll interval (a minute when webhooks wake the bot).
    cfg.timing.poll_interval = match wake {
        Wake::Polling => Duration::from_secs(5),
        Wake::Webhook => Duration::from_secs(60),
    };
    cfg.timing.close_after = close_after;
    if wake == Wake::Webhook {
        cfg.http.webhook_secret = Some(secrecy::SecretString::from(
            "bench-webhook-secret".to_string(),
        ));
    }
    let poll = cfg.timing.poll_interval;
    let daemon = Arc::new(Daemon::build(cfg.clone(), clock.clone()).await?);
    let cancel = CancellationToken::new();
    if wake == Wake::Webhook {
        // The listener and the Gorgias HTTP integration that calls it, as `setup --webhook` makes.
        let state = crate::http::HttpState::new(
            daemon.health().clone(),
            daemon.poke().clone(),
            cfg.http.webhook_secret.clone(),
        )?;
        let server =
            crate::http::serve(SocketAddr::from(([127, 0, 0, 1], 0)), state, cancel.clone())
                .await?;
        let url = format!("http://{}/webhook", server.addr);
        crate::daemon::client_on(&cfg, clock.clone())?
            .create_integration(&crate::ops::setup::webhook_body(&cfg, &url))
            .await
            .context("creating the webhook integration")?;
    }
    let runner = {
        let (d, c) = (daemon.clone(), cancel.clone());
        tokio::spawn(async move { d.run_until_cancelled(c).await })
    };
    let t0 = clock.now();
    let started = Instant::now();
    let s0 = env.sim.stats();
    let mut ids = Vec::with_capacity(n);
    // Arrivals keep to the clock's schedule even when creating a ticket takes a while.
    let first = tokio::time::Instant::now();
    for i in 0..n {
        ids.push(env.chat(&format!("b{i}@example.org"), QUESTIONS[i % QUESTIONS.len()]));
        let due =
            first + clock.real(every.saturating_mul(u32::try_from(i + 1).unwrap_or(u32::MAX)));
        tokio::time::sleep_until(due).await;
    }
    // At the default pacing a conversation needs ~3.4 s of the budget; allow for slack.
    let deadline =
        Instant::now() + clock.real(close_after + Duration::from_secs(120 + 4 * n as u64));
    let mut open_from = 0;
    while open_from < ids.len() {
        if runner.is_finished() || Instant::now() > deadline {
            break;
        }
        // Resolved tickets stay resolved: check each one until it is, in order.
        while open_from < ids.len() && env.resolved(ids[open_from]) {
            open_from += 1;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let wall = started.elapsed();
    let clock_s = (clock.now() - t0).as_secs_f64();
    let s1 = env.sim.stats();
    cancel.cancel();
    runner
        .await
        .context("the daemon task panicked")?
        .context("the daemon stopped with an error")?;
    let resolved = ids.iter().filter(|id| env.resolved(**id)).count();
    if resolved == 0 {
        bail!("no conversation was resolved");
    }
    let mut by_route = BTreeMap::new();
    for ((m, p), v) in &s1.by_route {
        let before = s0
            .by_route
            .get(&(m.clone(), p.clone()))
            .copied()
            .unwrap_or(0);
        if v > &before {
            by_route.insert(format!("{m} {p}"), v - before);
        }
    }
    let list_polls = by_route
        .get("PUT /api/views/{id}/items")
        .copied()
        .unwrap_or(0);
    let requests = s1.requests - s0.requests;
    let mut latency = Vec::new();
    let mut lag = Vec::new();
    for e in daemon.ledger().events_since(t0).await? {
        match e.event {
            crate::ledger::Event::Answered { latency_ms, .. } => latency.extend(latency_ms),
            crate::ledger::Event::Closed { lag_ms, .. } => lag.extend(lag_ms),
            _ => {}
        }
    }
    Ok(ConversationFigures {
        label: format!(
            "{n}, {}, clock {speed}x",
            match wake {
                Wake::Polling => "polling",
                Wake::Webhook => "webhook",
            }
        ),
        conversations: n,
        resolved,
        clock_speed: speed,
        clock_s,
        ledger_on_tmpfs: env.dir.path().starts_with("/dev/shm"),
        requests_per_window: DEFAULT_RATE,
        window_s: WINDOW.as_secs(),
        poll_interval_s: poll.as_secs_f64(),
        close_after_s: close_after.as_secs_f64(),
        arrival_every_s: every.as_secs_f64(),
        wall_s: wall.as_secs_f64(),
        requests,
        requests_per_resolved: requests as f64 / resolved as f64,
        list_polls,
        minimum_per_resolved: MIN_REQUESTS + list_polls as f64 / resolved as f64,
        rate_limited: s1.rate_limited - s0.rate_limited,
        reply_latency_p50_ms: percentile(&mut latency, 50.0),
        reply_latency_p99_ms: percentile(&mut latency, 99.0),
        close_lag_p50_ms: percentile(&mut lag, 50.0),
        close_lag_p99_ms: percentile(&mut lag, 99.0),
        by_route,
    })
}

/// A row in `state` for ticket `id`, as the engine would leave it.
/// Imports `macros` macros and a help centre of `pages` articles (two sections each) into a
/// daemon on an empty ledger, then refreshes twice: once with nothing changed, once after
/// editing ten of each. The Gorgias budget is the default one (40 per 20 s).
async fn sources_import(macros: usize, pages: usize) -> anyhow::Result<SourcesFigures> {
    let e = env(Some((DEFAULT_RATE, WINDOW))).await?;
    let site = crate::sim::site::Site::new();
    let mut macro_ids = Vec::with_capacity(macros);
    for i in 0..macros {
        macro_ids.push(e.sim.create_macro(crate::sim::NewMacro {
            name: format!("Macro {i}: question about topic {i}"),
            language: Some("en".into()),
            text: format!(
                "Hi {{{{ticket.customer.firstname}}}}, here is the answer about topic {i}."
            ),
            ..crate::sim::NewMacro::default()
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

fn row(id: u64, state: TicketState, now: Timestamp) -> TicketRow {
    let mut r = TicketRow::new(id, now);
    r.state = state;
    r.last_customer_msg_id = Some(id * 10);
    r.last_customer_msg_at = Some(now);
    r.last_bot_reply_at = Some(now);
    match state {
        TicketState::Answered => {
            r.close_deadline = Some(now + SignedDuration::from_hours(1));
            r.answers = 1;
        }
        TicketState::Escalated => {
            r.reason = Some(crate::ledger::HandoverReason::NoKnowledge.into());
            r.handovers = 1;
        }
        _ => {
            r.reason = Some(crate::ledger::StateReason::Idle);
            r.answers = 1;
            r.closes = 1;
        }
    }
    r
}

async fn sweep_large(rows: usize) -> anyhow::Result<SweepFigures> {
    let env = env(None).await?;
    let path = env.dir.path().join("ledger.db");
    let now = Timestamp::now();
    let answered = rows / 20;
    let inserted = Instant::now();
    {
        let ledger = Ledger::open(&path).await?;
        for i in 0..rows {
            let state = if i < answered {
                TicketState::Answered
            } else if i % 3 == 0 {
                TicketState::Escalated
            } else {
                TicketState::Closed
            };
            ledger
                .save_ticket(&row(1_000_000 + i as u64, state, now))
                .await?;
        }
        ledger.checkpoint().await?;
    }
    let insert_s = inserted.elapsed().as_secs_f64();
    let daemon = Daemon::build(env.config(&path), Arc::new(SystemClock)).await?;
    let cancel = CancellationToken::new();
    let mut runs_ms = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let stats = daemon.sweep_once(&cancel).await?;
        runs_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        if stats.seen != 0 {
            bail!("the sweep found {} tickets due; none should be", stats.seen);
        }
    }
    let mut sorted = runs_ms.clone();
    sorted.sort_by(f64::total_cmp);
    Ok(SweepFigures {
        rows,
        answered_not_due: answered,
        insert_s,
        median_ms: sorted[sorted.len() / 2],
        runs_ms: runs_ms.iter().map(|x| (x * 10.0).round() / 10.0).collect(),
    })
}

async fn memory_with_tracked(tracked: usize, start_rss: u64) -> anyhow::Result<MemoryFigures> {
    // Memory, not pacing, is measured here: no rate limit, so the poll lists every page at once.
    let env = env(None).await?;
    let path = env.dir.path().join("ledger.db");
    let now = Timestamp::now();
    let ledger = Ledger::open(&path).await?;
    for i in 0..tracked {
        let id = env.chat(&format!("m{i}@example.org"), QUESTIONS[i % QUESTIONS.len()]);
        let t: Ticket = serde_json::from_value(
            env.sim
                .ticket_json(id)
                .context("a ticket the simulator just created")?,
        )?;
        // Answered and waiting for its idle close; seen as listed, so the poll reads none.
        let mut r = row(id, TicketState::Answered, now);
        r.seen_updated_at = t.updated_datetime;
        r.seen_messages_count = Some(t.messages.len() as u64);
        ledger.save_ticket(&r).await?;
    }
    drop(ledger);
    let sim_loaded = proc_status_kib("VmHWM:").unwrap_or(0);
    let mut cfg = env.config(&path);
    cfg.gorgias.requests_per_window = 1_000_000;
    let daemon = Daemon::build(cfg, Arc::new(SystemClock)).await?;
    let cancel = CancellationToken::new();
    let t = Instant::now();
    daemon
        .client()
        .ad_hoc_view_items(
            &format!(
                "eq(ticket.status, 'open') && eq(ticket.assignee_user.id, {})",
                daemon.bot_user_id()
            ),
            "updated_datetime",
        )
        .await?;
    let list_ms = t.elapsed().as_secs_f64() * 1000.0;
    let before = env.sim.stats().requests;
    let t = Instant::now();
    let polled = daemon.poll_once(&cancel).await?;
    let poll_ms = t.elapsed().as_secs_f64() * 1000.0;
    let poll_requests = env.sim.stats().requests - before;
    if polled.seen != tracked {
        bail!("the poll listed {} tickets, not {tracked}", polled.seen);
    }
    let t = Instant::now();
    daemon.sweep_once(&cancel).await?;
    let sweep_ms = t.elapsed().as_secs_f64() * 1000.0;
    Ok(MemoryFigures {
        tracked,
        start_rss_kib: start_rss,
        sim_loaded_hwm_kib: sim_loaded,
        peak_hwm_kib: proc_status_kib("VmHWM:").unwrap_or(0),
        poll_ms,
        sweep_ms,
        poll_requests,
        list_ms,
    })
}

async fn idle_cpu(over: Duration) -> anyhow::Result<IdleFigures> {
    let env = env(Some((DEFAULT_RATE, WINDOW))).await?;
    let cfg = env.config(&env.dir.path().join("ledger.db"));
    let poll = cfg.timing.poll_interval;
    let daemon = Arc::new(Daemon::build(cfg, Arc::new(SystemClock)).await?);
    let cancel = CancellationToken::new();
    let runner = {
        let (d, c) = (daemon.clone(), cancel.clone());
        tokio::spawn(async move { d.run_until_cancelled(c).await })
    };
    // Let start-up work (recovery, first poll) pass.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let c0 = cpu_ms()?;
    let t = Instant::now();
    tokio::time::sleep(over).await;
    let cpu = cpu_ms()? - c0;
    let secs = t.elapsed().as_secs_f64();
    cancel.cancel();
    runner.await.context("the daemon task panicked")??;
    Ok(IdleFigures {
        seconds: secs,
        cpu_ms: cpu,
        cpu_percent: cpu / (secs * 1000.0) * 100.0,
        poll_interval_s: poll.as_secs_f64(),
    })
}

/// Nearest-rank percentile (0 for no samples).
fn percentile(v: &mut [u64], p: f64) -> u64 {
    if v.is_empty() {
        return 0;
    }
    v.sort_unstable();
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

/// A `kB` line of /proc/self/status (Linux only; None elsewhere).
fn proc_status_kib(key: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// User + system CPU of the whole process, in milliseconds (/proc/self/stat, 100 ticks/s).
fn cpu_ms() -> anyhow::Result<f64> {
    let s = std::fs::read_to_string("/proc/self/stat").context("reading /proc/self/stat")?;
    // Fields after the command name (which may hold spaces) start at state (field 3).
    let rest = s
        .rsplit_once(')')
        .map(|(_, r)| r)
        .context("parsing /proc/self/stat")?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> anyhow::Result<f64> {
        f.get(i)
            .context("short /proc/self/stat")?
            .parse::<f64>()
            .context("parsing /proc/self/stat")
    };
    // utime is field 14, stime 15; `rest` starts at field 3.
    Ok((ticks(11)? + ticks(12)?) * 10.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_is_nearest_rank() {
        let mut v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&mut v, 50.0), 50);
        assert_eq!(percentile(&mut v, 99.0), 99);
        assert_eq!(percentile(&mut [7], 99.0), 7);
        assert_eq!(percentile(&mut [], 50.0), 0);
    }

    #[test]
    fn cpu_and_memory_are_readable_on_linux() {
        assert!(cpu_ms().unwrap() >= 0.0);
        assert!(proc_status_kib("VmHWM:").unwrap() > 0);
    }
}
