//! The `perfectbot` binary: CLI, logging, signals -> cancellation, exit codes. Nothing else.

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use perfectbot::clock::SystemClock;
use perfectbot::config::{self, LogFormat};
use perfectbot::daemon::{Daemon, Supervisor};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Where the Debian package puts the config, and where every command looks without --config.
const DEFAULT_CONFIG: &str = "/etc/perfectbot/config.toml";

#[derive(Parser)]
#[command(
    name = "perfectbot",
    version,
    about = "A self-hosted chat agent for the Gorgias helpdesk"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the bot (the daemon).
    Run {
        /// The configuration file.
        #[arg(long, env = "PERFECTBOT_CONFIG", default_value = DEFAULT_CONFIG)]
        config: PathBuf,
    },
    /// Validate a configuration file without touching the network; exit 2 when invalid.
    CheckConfig {
        /// The configuration file.
        #[arg(long, env = "PERFECTBOT_CONFIG", default_value = DEFAULT_CONFIG)]
        config: PathBuf,
    },
    /// Be the customer: each line is a message the daemon's decision path answers (asking for
    /// the email before a handover, silent once handed over); an empty line starts a new
    /// conversation. Nothing goes to Gorgias; no Gorgias key is needed.
    Preview {
        /// The configuration file.
        #[arg(long, env = "PERFECTBOT_CONFIG", default_value = DEFAULT_CONFIG)]
        config: PathBuf,
        /// Print each decision as one JSON object (decision, reason, text, sources, score).
        #[arg(long)]
        json: bool,
        /// Treat the conversation as a ticket in this language (as Gorgias gives it: "fr",
        /// "fr-FR"): the responder sees it and handovers show that language's message.
        #[arg(long, value_parser = parse_language)]
        language: Option<String>,
        /// Imagine the conversation at this time, in the config's business hours: "Sunday
        /// 22:00" (the next one) or an ISO date-time ("2026-12-06T22:00", or with Z/offset).
        #[arg(long, value_name = "WHEN", value_parser = perfectbot::preview::At::parse)]
        at: Option<perfectbot::preview::At>,
        /// Whether an agent is available within business hours: "online" or "none".
        #[arg(long, value_name = "online|none", default_value = "online", value_parser = ["online", "none"])]
        agents: String,
        /// The customer's email as Gorgias knows it (by default unknown: the bot asks for it
        /// before a handover).
        #[arg(long)]
        email: Option<String>,
    },
    /// Score the configured bot on labelled messages (JSON Lines: text, expect, entry, ...)
    /// through the daemon's decision path; no Gorgias key, nothing sent to Gorgias.
    Eval {
        /// The configuration file.
        #[arg(long, env = "PERFECTBOT_CONFIG")]
        config: PathBuf,
        /// The labelled cases, one JSON object per line.
        cases: PathBuf,
        /// Print the figures as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run the built-in Gorgias simulator (seeded with a bot user, two agents, a team).
    Sim {
        /// Where to listen.
        #[arg(long, default_value = "127.0.0.1:8089")]
        listen: SocketAddr,
    },
    /// Try the bot by hand: the simulator's customer chat page and the real daemon together.
    /// Prints the page's URL; opens nothing.
    Try {
        /// Where the simulator (its API and the chat page) listens.
        #[arg(long, default_value = "127.0.0.1:8089")]
        listen: SocketAddr,
        /// How long the bot waits before closing an answered ticket.
        #[arg(long, default_value = "2m", value_parser = humantime::parse_duration)]
        close_after: Duration,
        /// Keep the config, knowledge base and ledger in this directory (default: a temporary
        /// one, removed at exit).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Measure the bot against the built-in simulator (see BENCHMARKS.md).
    Bench {
        /// fast: a few minutes; full: about 45 minutes; scale: the 1,000 and 10,000 runs alone.
        #[arg(long, value_enum, default_value = "fast")]
        size: perfectbot::bench::Size,
        /// Print the figures as JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Run one workload only.
        #[arg(long, value_enum)]
        only: Option<perfectbot::bench::Phase>,
    },
    /// Run the whole lifecycle against the built-in simulator; no Gorgias account needed.
    Demo {
        /// How long the bot waits before closing an answered ticket in the demo.
        #[arg(long, default_value = "6s", value_parser = humantime::parse_duration)]
        close_after: Duration,
        /// Keep the demo's ledger and a config for it in this directory (then try
        /// `perfectbot status --config DIR/config.toml` and `perfectbot report --config ...`),
        /// and print the bot's /metrics at the end.
        #[arg(long)]
        keep: Option<PathBuf>,
    },
    /// Print the ledger's picture (tickets by state, next deadlines, last poll, errors);
    /// read-only, no network, safe while the daemon runs.
    Status {
        /// The configuration file.
        #[arg(long, env = "PERFECTBOT_CONFIG", default_value = DEFAULT_CONFIG)]
        config: PathBuf,
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print what the bot did over a period: closes, handovers by reason, false closes,
    /// lags, and the questions it could not answer. Read-only, no network.
    Report {
        /// The configuration file.
        #[arg(long, env = "PERFECTBOT_CONFIG", default_value = DEFAULT_CONFIG)]
        config: PathBuf,
        /// How far back to look ("7d", "24h").
        #[arg(long, default_value = "7d", value_parser = humantime::parse_duration)]
        since: Duration,
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// The knowledge base.
    Kb {
        #[command(subcommand)]
        command: KbCommand,
    },
    /// Create the team's Gorgias views (idempotent), and with --webhook the HTTP integration.
    Setup {
        /// The configuration file.
        #[arg(long, env = "PERFECTBOT_CONFIG", default_value = DEFAULT_CONFIG)]
        config: PathBuf,
        /// The daemon's public /webhook URL: also create the Gorgias HTTP integration.
        #[arg(long)]
        webhook: Option<String>,
    },
}

#[derive(Subcommand)]
enum KbCommand {
    /// Every knowledge entry (files and learned from `#kb` notes): id, source, question.
    /// Read-only (files and ledger), no network.
    List {
        /// The configuration file.
        #[arg(long, env = "PERFECTBOT_CONFIG", default_value = DEFAULT_CONFIG)]
        config: PathBuf,
        /// A JSON array instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// `--language`: a tag that starts with a two-letter ISO 639-1 code, kept as given.
fn parse_language(tag: &str) -> Result<String, String> {
    match perfectbot::config::language_code(tag) {
        Some(_) => Ok(tag.trim().to_string()),
        None => Err(format!(
            "{tag:?} is not a language: use a two-letter code such as \"fr\" or \"pt-BR\""
        )),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if matches!(
        cli.command,
        Command::CheckConfig { .. }
            | Command::Status { .. }
            | Command::Report { .. }
            | Command::Kb { .. }
            | Command::Bench { .. }
    ) {
        quiet_on_broken_pipe();
    }
    match cli.command {
        Command::CheckConfig { config } => check_config(&config),
        Command::Run { config } => with_runtime(run(config)),
        Command::Preview {
            config,
            json,
            language,
            at,
            agents,
            email,
        } => {
            init_logs(LogFormat::Text, "warn");
            let args = perfectbot::preview::Args {
                json,
                language,
                at,
                email,
                no_agents: agents == "none",
            };
            with_runtime(async move { perfectbot::preview::run(&config, args).await })
        }
        Command::Eval {
            config,
            cases,
            json,
        } => {
            init_logs(LogFormat::Text, "error");
            with_runtime(async move { perfectbot::eval::run(&config, &cases, json).await })
        }
        Command::Sim { listen } => {
            init_logs(LogFormat::Auto, "info");
            with_runtime(perfectbot_sim::run_cli(listen))
        }
        Command::Try {
            listen,
            close_after,
            dir,
        } => {
            init_logs(LogFormat::Text, "warn,perfectbot=info");
            with_runtime(perfectbot::tryit::run(listen, close_after, dir))
        }
        Command::Bench { size, json, only } => {
            init_logs(LogFormat::Text, "error");
            with_runtime(bench(size, json, only))
        }
        Command::Demo { close_after, keep } => {
            init_logs(LogFormat::Text, "warn");
            with_runtime(perfectbot::demo::run(close_after, keep))
        }
        Command::Status { config, json } => {
            with_runtime(perfectbot::ops::status::run(&config, json))
        }
        Command::Report {
            config,
            since,
            json,
        } => with_runtime(perfectbot::ops::report::run(&config, since, json)),
        Command::Kb {
            command: KbCommand::List { config, json },
        } => with_runtime(async move { perfectbot::ops::kb::list(&config, json).await }),
        Command::Setup { config, webhook } => {
            init_logs(LogFormat::Text, "warn");
            with_runtime(perfectbot::ops::setup::run(&config, webhook))
        }
    }
}

fn with_runtime(fut: impl std::future::Future<Output = anyhow::Result<()>>) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("perfectbot: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(fut) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            report_error(&e);
            ExitCode::FAILURE
        }
    }
}

/// An error that ends a command, said once: through the logs when they go to the journal or
/// as JSON (where operators read them, with the error priority), else once on stderr.
fn report_error(e: &anyhow::Error) {
    if LOGS_ELSEWHERE.load(std::sync::atomic::Ordering::Relaxed) {
        tracing::error!("{e:#}");
    } else {
        eprintln!("perfectbot: {e:#}");
    }
}

/// Set when `run` sent its logs to the journal or to JSON: its fatal error goes there too.
static LOGS_ELSEWHERE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn check_config(path: &std::path::Path) -> ExitCode {
    let cfg = match config::load(path) {
        Ok(cfg) => cfg,
        Err(errors) => {
            eprintln!("{errors}");
            return ExitCode::from(2);
        }
    };
    // The file is valid; what it points at must be usable too, or `run` would fail at start.
    let pre = match perfectbot::ops::preflight::check(&cfg) {
        Ok(pre) => pre,
        Err(problems) => {
            for p in problems {
                eprintln!("{}: {p}", path.display());
            }
            return ExitCode::from(2);
        }
    };
    println!("{}: valid", path.display());
    println!("{}", cfg.summary());
    println!(
        "knowledge:       {} entries in {}",
        pre.kb_entries,
        cfg.kb.dir.display()
    );
    println!(
        "ledger:          {}{}",
        pre.ledger.display(),
        if pre.ledger_exists {
            ""
        } else {
            " (created at the first start)"
        }
    );
    for note in cfg.notes() {
        println!("note: {note}");
    }
    ExitCode::SUCCESS
}

async fn run(path: PathBuf) -> anyhow::Result<()> {
    let cfg = config::load(&path).map_err(|e| anyhow::anyhow!("{e}"))?;
    init_logs(cfg.log.format, &cfg.log.filter);
    let journald = match cfg.log.format {
        LogFormat::Journald => true,
        LogFormat::Auto => std::env::var_os("JOURNAL_STREAM").is_some(),
        _ => false,
    };
    LOGS_ELSEWHERE.store(
        cfg.log.format == LogFormat::Json || journald,
        std::sync::atomic::Ordering::Relaxed,
    );
    for note in cfg.notes() {
        tracing::warn!("{note}");
    }
    let cancel = CancellationToken::new();
    let kb_reload = Arc::new(tokio::sync::Notify::new());
    // Before the build: a SIGTERM while it waits on Gorgias stops the daemon cleanly.
    let signals = tokio::spawn(signal_handler(cancel.clone(), kb_reload.clone()));
    if cfg.http.listen.is_some() {
        // Before the build, so that its identity check is counted too.
        perfectbot::metrics::install()?;
    }
    let daemon = Daemon::builder(cfg, Arc::new(SystemClock))
        .kb_reload(kb_reload.clone())
        .build()
        .await
        .context("starting")?;
    let daemon = Arc::new(daemon);
    let config = daemon.config();
    let version = env!("CARGO_PKG_VERSION");
    let mode = match config.bot.mode {
        config::Mode::Live => "live",
        config::Mode::Shadow => "shadow",
    };
    let entries = daemon.knowledge().entries().len();
    tracing::info!(
        version,
        mode,
        knowledge_entries = entries,
        config = %path.display(),
        bot_user_id = daemon.bot_user_id(),
        "perfectbot {version} running: {mode} mode, {entries} knowledge entries, config {}",
        path.display()
    );
    // The worker may take 35 s to stop (a knowledge site's request in flight); the listener
    // and the signal handler stop at once.
    let mut tasks = Supervisor::new(cancel.clone(), Duration::from_secs(40));
    tasks.spawn("signal handler", async move {
        signals.await.map_err(|e| anyhow::anyhow!("{e}"))?
    });
    if let Some(listen) = config.http.listen {
        let state = perfectbot::http::HttpState::new(
            daemon.health().clone(),
            daemon.poke().clone(),
            config.http.webhook_secret.clone(),
        )?;
        let server = perfectbot::http::serve(listen, state, cancel.clone()).await?;
        tasks.spawn("http server", server.wait());
    }
    let worker = daemon.clone();
    let c = cancel.clone();
    tasks.spawn("worker", async move { worker.run_until_cancelled(c).await });
    let result = tasks.run().await;
    tracing::info!("perfectbot stopped");
    result
}

async fn bench(
    size: perfectbot::bench::Size,
    json: bool,
    only: Option<perfectbot::bench::Phase>,
) -> anyhow::Result<()> {
    let report = perfectbot::bench::run(size, only).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", perfectbot::bench::table(&report));
    }
    Ok(())
}

/// SIGTERM / SIGINT cancel the token: the worker finishes the API call in hand and stops.
/// SIGHUP asks the worker to re-read the knowledge files (a permit is kept if it is busy).
async fn signal_handler(
    cancel: CancellationToken,
    kb_reload: Arc<tokio::sync::Notify>,
) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
        let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
        let mut hup = signal(SignalKind::hangup()).context("installing the SIGHUP handler")?;
        loop {
            tokio::select! {
                // Stopped by another task: nothing to do.
                _ = cancel.cancelled() => return Ok(()),
                _ = term.recv() => { tracing::info!("SIGTERM: stopping"); break; }
                _ = int.recv() => { tracing::info!("SIGINT: stopping"); break; }
                // Only the knowledge files are reloaded: the client, policy, hours and bot
                // identity are built once at start-up, and a restart rebuilds them losing
                // nothing (the ledger remembers every decision).
                _ = hup.recv() => {
                    tracing::info!("SIGHUP: reloading the knowledge files (other configuration changes take effect on restart)");
                    kb_reload.notify_one();
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    cancel.cancel();
    Ok(())
}

fn init_logs(format: LogFormat, filter: &str) {
    perfectbot::logs::init(format, filter);
}

/// A closed stdout (`perfectbot status | head -1`) ends a one-shot command quietly, as it ends
/// `ls`: the default SIGPIPE action, instead of Rust's ignored SIGPIPE and a panic in
/// `println!`. Never for the long-running commands: a journal restart must not kill the daemon.
fn quiet_on_broken_pipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any thread exists; SIG_DFL is a valid action.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
