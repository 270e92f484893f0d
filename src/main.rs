//! The `perfectbot` binary: CLI, logging, signals -> cancellation, exit codes. Nothing else.

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use perfectbot::clock::SystemClock;
use perfectbot::config::{self, LogFormat};
use perfectbot::daemon::Daemon;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

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
        #[arg(long, env = "PERFECTBOT_CONFIG")]
        config: PathBuf,
    },
    /// Validate a configuration file without touching the network; exit 2 when invalid.
    CheckConfig {
        /// The configuration file.
        #[arg(long, env = "PERFECTBOT_CONFIG")]
        config: PathBuf,
    },
    /// Chat with the configured responder and policy on stdin/stdout; nothing goes to Gorgias.
    /// Piped input: one new conversation per line, one decision per line.
    Preview {
        /// The configuration file.
        #[arg(long, env = "PERFECTBOT_CONFIG")]
        config: PathBuf,
        /// Print each decision as one JSON object (decision, reason, text, sources, score).
        #[arg(long)]
        json: bool,
        /// Treat the conversation as a ticket in this language (as Gorgias gives it: "fr",
        /// "fr-FR"): the responder sees it and handovers show that language's message.
        #[arg(long, value_parser = parse_language)]
        language: Option<String>,
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
        #[arg(long, env = "PERFECTBOT_CONFIG")]
        config: PathBuf,
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print what the bot did over a period: closes, handovers by reason, false closes,
    /// lags, and the questions it could not answer. Read-only, no network.
    Report {
        /// The configuration file.
        #[arg(long, env = "PERFECTBOT_CONFIG")]
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
        #[arg(long, env = "PERFECTBOT_CONFIG")]
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
        #[arg(long, env = "PERFECTBOT_CONFIG")]
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
    match cli.command {
        Command::CheckConfig { config } => check_config(&config),
        Command::Run { config } => with_runtime(run(config)),
        Command::Preview {
            config,
            json,
            language,
        } => {
            init_logs(LogFormat::Text, "warn");
            with_runtime(async move { perfectbot::preview::run(&config, json, language).await })
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
            with_runtime(perfectbot::sim::run_cli(listen))
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
        } => with_runtime(async move { perfectbot::knowledge::list(&config, json).await }),
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
            tracing::error!("{e:#}");
            eprintln!("perfectbot: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn check_config(path: &std::path::Path) -> ExitCode {
    match config::load(path) {
        Ok(cfg) => {
            println!("{}: valid", path.display());
            println!("{}", cfg.summary());
            for note in cfg.notes() {
                println!("note: {note}");
            }
            ExitCode::SUCCESS
        }
        Err(errors) => {
            eprintln!("{errors}");
            ExitCode::from(2)
        }
    }
}

async fn run(path: PathBuf) -> anyhow::Result<()> {
    let cfg = config::load(&path).map_err(|e| anyhow::anyhow!("{e}"))?;
    init_logs(cfg.log.format, &cfg.log.filter);
    for note in cfg.notes() {
        tracing::warn!("{note}");
    }
    let cancel = CancellationToken::new();
    let kb_reload = Arc::new(tokio::sync::Notify::new());
    spawn_signal_handler(cancel.clone(), kb_reload.clone());
    if cfg.http.listen.is_some() {
        // Before the build, so that its identity check is counted too.
        perfectbot::metrics::install()?;
    }
    let mut daemon = Daemon::build(cfg, Arc::new(SystemClock))
        .await
        .context("starting")?;
    daemon.kb_reload = kb_reload;
    tracing::info!(bot_user_id = daemon.bot_user_id(), "perfectbot running");
    let server = match daemon.config.http.listen {
        Some(listen) => {
            let state = perfectbot::http::HttpState::for_daemon(&daemon)?;
            Some(perfectbot::http::serve(listen, state, cancel.clone()).await?)
        }
        None => None,
    };
    let result = daemon.run_until_cancelled(cancel.clone()).await;
    // The daemon may stop on its own (a fatal ledger error): the listener stops with it.
    cancel.cancel();
    if let Some(server) = server {
        let _ = tokio::time::timeout(Duration::from_secs(5), server.task).await;
    }
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
fn spawn_signal_handler(cancel: CancellationToken, kb_reload: Arc<tokio::sync::Notify>) {
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
                signal(SignalKind::hangup()),
            ) else {
                tracing::error!("cannot install signal handlers");
                return;
            };
            loop {
                tokio::select! {
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
            let _ = tokio::signal::ctrl_c().await;
        }
        cancel.cancel();
    });
}

fn init_logs(format: LogFormat, filter: &str) {
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::prelude::*;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(filter));
    let journald = match format {
        LogFormat::Journald => true,
        LogFormat::Auto => std::env::var_os("JOURNAL_STREAM").is_some(),
        _ => false,
    };
    if journald && let Ok(layer) = tracing_journald::layer() {
        let _ = tracing_subscriber::registry()
            .with(filter)
            .with(layer)
            .try_init();
        return;
    }
    if format == LogFormat::Json {
        let _ = tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .try_init();
    } else {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .try_init();
    }
}
