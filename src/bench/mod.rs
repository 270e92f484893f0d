//! `perfectbot bench`: the measured workloads, against the in-process simulator with the real
//! daemon (`Daemon::build` + `run_until_cancelled`). It owns the workloads and the figures they
//! produce (requests per resolved conversation next to the API's minimum, 429s, reply latency,
//! close lag, the sweep over a large ledger, peak memory, idle CPU); it must not change how the
//! daemon works: it only drives customers and reads counters.
//!
//! Figures are process-wide where the kernel gives them (RSS, CPU): the simulator runs in the
//! same process, so they include its share; the report says so.

mod ceiling;
mod conversations;
mod resources;
mod sources;
mod table;

pub use ceiling::{CeilingFigures, CeilingStep, Limits};
pub use conversations::ConversationFigures;
pub use resources::{IdleFigures, MemoryFigures, SweepFigures};
pub use sources::{EmbedFigures, SourcesFigures, SourcesRefresh};
pub use table::table;

use ceiling::ceiling;
use conversations::{Wake, Workload, conversation_run};
use resources::{idle_cpu, memory_with_tracked, sweep_large};
use sources::{embed_costs, sources_import};

use crate::clock::{Clock, FastClock, SystemClock};
use crate::config::Config;
use crate::daemon::Daemon;
use crate::demo::DEMO_KB;
use crate::ledger::{Ledger, TicketRow, TicketState};
use anyhow::{Context as _, bail};
use jiff::{SignedDuration, Timestamp};
use perfectbot_sim::{NewTicket, Seeded, Sim, SimOptions, SimServer};
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
    /// The most conversations an hour one API key sustains: a rising arrival rate until a
    /// step breaks (part of `full` and `scale`; with `--only ceiling` in any size).
    Ceiling,
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
/// The API's minimum for an answered-then-closed conversation: GET ticket, POST reply; then GET
/// before close, one POST of tags (Handled and Auto-closed together), PUT close.
const MIN_REQUESTS: f64 = 5.0;

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
    pub ceiling: Option<CeilingFigures>,
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
    let mut ceiling_figures = None;
    if on(Phase::Ceiling) && (size != Size::Fast || only == Some(Phase::Ceiling)) {
        eprintln!(
            "bench: the ceiling, a rising arrival rate until latency or close lag breaks ..."
        );
        ceiling_figures = Some(ceiling().await?);
    }
    Ok(Report {
        ceiling: ceiling_figures,
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
    let (sim, server, seeded) = perfectbot_sim::start_seeded_on(
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

/// Nearest-rank percentile (0 for no samples).
fn percentile(v: &mut [u64], p: f64) -> u64 {
    if v.is_empty() {
        return 0;
    }
    v.sort_unstable();
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

/// Reset the process's peak RSS (VmHWM) to its current RSS (Linux: `5` to
/// /proc/self/clear_refs); false where that is not allowed.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// A `kB` line of /proc/self/status (Linux only; None elsewhere).
fn proc_status_kib(key: &str) -> Option<u64> {
    status_kib("/proc/self/status", key)
}

/// A `kB` line of a /proc/<pid>/status file.
fn status_kib(path: &str, key: &str) -> Option<u64> {
    let s = std::fs::read_to_string(path).ok()?;
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
        // A peak well above the current RSS, then reset: the peak comes down to the RSS.
        let big = vec![1u8; 64 << 20];
        std::hint::black_box(&big);
        drop(big);
        assert!(reset_peak(), "/proc/self/clear_refs is not writable");
        let (peak, rss) = (
            proc_status_kib("VmHWM:").unwrap(),
            proc_status_kib("VmRSS:").unwrap(),
        );
        assert!(
            peak < rss + (32 << 10),
            "peak {peak} kB, rss {rss} kB after the reset"
        );
    }
}
