//! `perfectbot try`: the Gorgias simulator with its customer chat page and the real daemon in
//! one process, for a person to meet the bot by hand. It writes a real config file (and the
//! example knowledge base) into a directory, loads it the way `run` does, and runs the same
//! [`Daemon`] against the simulator until ctrl-c. It opens nothing; it prints the page's URL.
//!
//! Timings are the real defaults shortened where waiting would hide the lifecycle from a person
//! at a keyboard: a poll every 2 s (replies show within seconds, through the real poll loop),
//! `close_after` 2 minutes (long enough to type a follow-up, short enough to watch a ticket
//! close), `email_wait` 2 minutes, `answer_deadline` 30 s.

use crate::clock::SystemClock;
use crate::daemon::Daemon;
use anyhow::Context as _;
use perfectbot_sim::{Seeded, Sim, SimOptions, SimServer};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The example knowledge base shipped in `examples/kb` (not a test fixture).
pub const EXAMPLE_KB: &[(&str, &str)] = &[
    ("store.toml", include_str!("../examples/kb/store.toml")),
    ("care.md", include_str!("../examples/kb/care.md")),
];

/// What `perfectbot try` starts.
#[derive(Debug, Clone)]
pub struct TryOptions {
    /// Where the simulator (API and chat page) listens.
    pub listen: SocketAddr,
    /// How long the bot waits before closing an answered ticket.
    pub close_after: Duration,
    /// Where the config, the API key file, the knowledge base and the ledger go.
    pub dir: PathBuf,
}

/// The simulator and the daemon, running.
pub struct Trying {
    /// `http://ADDR/chat`.
    pub chat_url: String,
    /// The simulator's base URL (the Gorgias API is under `/api`).
    pub base_url: String,
    /// The config file the daemon runs with.
    pub config_path: PathBuf,
    /// The simulated account (for tests).
    pub sim: Sim,
    /// Its users.
    pub seeded: Seeded,
    server: SimServer,
    cancel: CancellationToken,
    runner: JoinHandle<anyhow::Result<()>>,
}

/// The config `try` writes: the simulator's address and bot user, the example knowledge base,
/// a ledger in the same directory, and the timings explained in the module docs.
pub fn config_text(base_url: &str, bot_email: &str, close_after: Duration) -> String {
    format!(
        "# Written by `perfectbot try`: the bot against the built-in Gorgias simulator.\n\
         [gorgias]\nbase_url = \"{base_url}\"\nemail = \"{bot_email}\"\napi_key_file = \"api_key\"\n\
\n\
         [timing]\npoll_interval = \"2s\"\nsweep = \"*/5 * * * * *\"\nclose_after = \"{}\"\n\
         email_wait = \"2m\"\nanswer_deadline = \"30s\"\n\n\
         [ledger]\npath = \"ledger.db\"\n\n[kb]\ndir = \"kb\"\n",
        humantime::format_duration(close_after)
    )
}

fn write_files(
    dir: &Path,
    base_url: &str,
    seeded: &Seeded,
    close_after: Duration,
) -> anyhow::Result<PathBuf> {
    let kb = dir.join("kb");
    std::fs::create_dir_all(&kb).with_context(|| format!("creating {}", kb.display()))?;
    for (name, text) in EXAMPLE_KB {
        let p = kb.join(name);
        std::fs::write(&p, text).with_context(|| format!("writing {}", p.display()))?;
    }
    let key = dir.join("api_key");
    std::fs::write(&key, &seeded.bot.api_key)
        .with_context(|| format!("writing {}", key.display()))?;
    // A fresh ledger each run: the simulator's tickets are gone, so old rows would only confuse.
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.join(format!("ledger.db{suffix}")));
    }
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        config_text(base_url, &seeded.bot.email, close_after),
    )
    .with_context(|| format!("writing {}", config.display()))?;
    Ok(config)
}

/// Start the simulator (with `/chat`) and the daemon; return once both run.
pub async fn start(opts: TryOptions) -> anyhow::Result<Trying> {
    let sim = Sim::new(SimOptions::default());
    let seeded = sim.seed_default();
    // Always open, and one agent online: the handover message says a person is coming.
    sim.set_business_hours(serde_json::json!({"timezone": "Europe/Paris", "business_hours": []}));
    sim.set_availability(seeded.agents[0].id, "online");
    let server = sim
        .serve_with_chat(opts.listen, &seeded)
        .await
        .with_context(|| format!("binding the simulator to {}", opts.listen))?;
    let base_url = server.base_url();
    std::fs::create_dir_all(&opts.dir)
        .with_context(|| format!("creating {}", opts.dir.display()))?;
    let config_path = write_files(&opts.dir, &base_url, &seeded, opts.close_after)?;
    let cfg = crate::config::load(&config_path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let daemon = Daemon::build(cfg, Arc::new(SystemClock))
        .await
        .context("starting the bot")?;
    let cancel = CancellationToken::new();
    let runner = {
        let c = cancel.clone();
        tokio::spawn(async move { daemon.run_until_cancelled(c).await })
    };
    Ok(Trying {
        chat_url: format!("{base_url}/chat"),
        base_url,
        config_path,
        sim,
        seeded,
        server,
        cancel,
        runner,
    })
}

impl Trying {
    /// Stop the daemon (it finishes the call in hand), then the simulator.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.cancel.cancel();
        let result = match tokio::time::timeout(Duration::from_secs(15), self.runner).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => Err(anyhow::anyhow!("the bot's task failed: {e}")),
            Err(_) => Err(anyhow::anyhow!("the bot did not stop within 15 s")),
        };
        self.server.shutdown().await;
        result
    }

    /// True once the daemon stopped on its own (a fatal error).
    pub fn bot_stopped(&self) -> bool {
        self.runner.is_finished()
    }
}

/// `perfectbot try`: start, print where to go, run until ctrl-c (or until the bot stops).
pub async fn run(
    listen: SocketAddr,
    close_after: Duration,
    dir: Option<PathBuf>,
) -> anyhow::Result<()> {
    let tmp = tempfile::tempdir().context("creating a temporary directory")?;
    let dir = dir.unwrap_or_else(|| tmp.path().to_path_buf());
    let trying = start(TryOptions {
        listen,
        close_after,
        dir: dir.clone(),
    })
    .await?;
    println!("perfectbot try: the bot is running against the built-in Gorgias simulator.");
    println!();
    println!("  Open the customer chat:  {}", trying.chat_url);
    println!();
    println!(
        "  Gorgias simulator API:   {}/api (bot: {})",
        trying.base_url, trying.seeded.bot.email
    );
    println!(
        "  The bot's config:        {}",
        trying.config_path.display()
    );
    println!(
        "  close_after = {}, a poll every 2 s; the knowledge base is examples/kb (ask about shipping, returns, boot sizes...)",
        humantime::format_duration(close_after)
    );
    println!(
        "  While it runs: perfectbot status --config {}",
        trying.config_path.display()
    );
    println!("  Create a ticket from a script:");
    println!(
        "    curl -s -H 'Content-Type: application/json' -d '{{\"text\":\"How long does shipping take?\",\"language\":\"en\"}}' {}/chat/api/conversations",
        trying.base_url
    );
    println!();
    println!("Press ctrl-c to stop.");
    loop {
        tokio::select! {
            r = tokio::signal::ctrl_c() => { r.context("waiting for ctrl-c")?; break; }
            _ = tokio::time::sleep(Duration::from_millis(500)) => {
                if trying.bot_stopped() { break; }
            }
        }
    }
    trying.stop().await
}
