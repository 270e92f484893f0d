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
    /// Run the built-in Gorgias simulator (seeded with a bot user, two agents, a team).
    Sim {
        /// Where to listen.
        #[arg(long, default_value = "127.0.0.1:8089")]
        listen: SocketAddr,
    },
    /// Measure the bot against the built-in simulator (see BENCHMARKS.md).
    Bench {
        /// fast: a few minutes; full: about a quarter of an hour.
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
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig { config } => check_config(&config),
        Command::Run { config } => with_runtime(run(config)),
        Command::Sim { listen } => {
            init_logs(LogFormat::Auto, "info");
            with_runtime(perfectbot::sim::run_cli(listen))
        }
        Command::Bench { size, json, only } => {
            init_logs(LogFormat::Text, "error");
            with_runtime(bench(size, json, only))
        }
        Command::Demo { close_after } => {
            init_logs(LogFormat::Text, "warn");
            with_runtime(perfectbot::demo::run(close_after))
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
    spawn_signal_handler(cancel.clone());
    let daemon = Daemon::build(cfg, Arc::new(SystemClock))
        .await
        .context("starting")?;
    tracing::info!(bot_user_id = daemon.bot_user_id(), "perfectbot running");
    let result = daemon.run_until_cancelled(cancel).await;
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
fn spawn_signal_handler(cancel: CancellationToken) {
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
                    // The client, policy, hours and bot identity are built once at start-up; a
                    // restart rebuilds them and loses nothing (the ledger remembers every
                    // decision), so SIGHUP does not half-reload.
                    _ = hup.recv() => tracing::warn!("SIGHUP: configuration changes take effect on restart (systemctl restart perfectbot)"),
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
