//! `spawn_app`: a simulator and a daemon on loopback with a temporary ledger and fast timings.

use jiff::SignedDuration;
use perfectbot::clock::{Clock, ManualClock, SystemClock};
use perfectbot::config::Config;
use perfectbot::daemon::{Daemon, DaemonBuilder};
use perfectbot::gorgias::Ticket;
use perfectbot::ledger::{TicketRow, TicketState};
use perfectbot_sim::{NewTicket, Seeded, Sim, SimOptions, SimServer};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub const KB: &str = include_str!("../data/kb/shop.toml");

pub struct TestApp {
    pub sim: Sim,
    /// Kept alive for the test's duration: dropping it stops the simulator.
    _server: SimServer,
    pub seeded: Seeded,
    pub daemon: Arc<Daemon>,
    pub cancel: CancellationToken,
    pub handle: Option<JoinHandle<anyhow::Result<()>>>,
    /// Set for an app from [`spawn_stepped`]: the clock the simulator and the daemon share,
    /// which moves only when the test says so.
    pub clock: Option<ManualClock>,
    /// Kept alive for the test's duration: the ledger and knowledge base live in it.
    _dir: tempfile::TempDir,
}

/// Fast timings for tests: poll 200 ms, close after 2 s, sweeps every second.
pub fn fast(cfg: &mut Config) {
    cfg.timing.poll_interval = Duration::from_millis(200);
    cfg.timing.close_after = Duration::from_secs(2);
    cfg.timing.sweep = "* * * * * *".into();
    cfg.timing.email_wait = Duration::from_secs(3);
    cfg.timing.answer_deadline = Duration::from_secs(3);
    cfg.gorgias.requests_per_window = 2000;
}

/// A simulator seeded with a bot, two agents, a team and always-open hours.
pub async fn start_sim(opts: SimOptions) -> (Sim, SimServer, Seeded) {
    perfectbot_sim::start_seeded(opts).await.unwrap()
}

/// A config for the bot against `server`, with the demo knowledge base in `dir`.
pub fn config_for(server: &SimServer, seeded: &Seeded, dir: &std::path::Path) -> Config {
    let kb_dir = dir.join("kb");
    std::fs::create_dir_all(&kb_dir).unwrap();
    std::fs::write(kb_dir.join("shop.toml"), KB).unwrap();
    let mut cfg = Config::for_tests(&server.base_url(), &seeded.bot.email, &seeded.bot.api_key);
    cfg.ledger.path = dir.join("ledger.db");
    cfg.kb.dir = kb_dir;
    fast(&mut cfg);
    cfg
}

pub fn relaxed_sim() -> SimOptions {
    SimOptions {
        rate_limit: Some((2000, Duration::from_secs(20))),
        ..SimOptions::default()
    }
}

/// A daemon running in-process on `cfg`, as `perfectbot run` would.
pub struct Running {
    pub daemon: Arc<Daemon>,
    pub cancel: CancellationToken,
    pub handle: JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// Stop it and check it stopped cleanly.
    pub async fn stop(self) {
        self.cancel.cancel();
        self.handle.await.unwrap().unwrap();
    }
}

/// Start a daemon (already built, e.g. with a test responder) in the background.
pub fn run_daemon(daemon: Daemon) -> Running {
    let daemon = Arc::new(daemon);
    let cancel = CancellationToken::new();
    let handle = {
        let d = daemon.clone();
        let c = cancel.clone();
        tokio::spawn(async move { d.run_until_cancelled(c).await })
    };
    Running {
        daemon,
        cancel,
        handle,
    }
}

/// Build and start a daemon on `cfg`.
pub async fn start_daemon(cfg: Config) -> Running {
    run_daemon(Daemon::build(cfg, Arc::new(SystemClock)).await.unwrap())
}

pub async fn spawn_app(tweak: impl FnOnce(&mut Config, &Seeded)) -> TestApp {
    spawn_app_with(tweak, |b| b).await
}

/// Like [`spawn_app`], with a chance to change the daemon before it is built (e.g. its
/// responder).
pub async fn spawn_app_with(
    tweak: impl FnOnce(&mut Config, &Seeded),
    adjust: impl FnOnce(DaemonBuilder) -> DaemonBuilder,
) -> TestApp {
    let (sim, server, seeded) = start_sim(relaxed_sim()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config_for(&server, &seeded, dir.path());
    tweak(&mut cfg, &seeded);
    let daemon = adjust(Daemon::builder(cfg, Arc::new(SystemClock)))
        .build()
        .await
        .unwrap();
    let Running {
        daemon,
        cancel,
        handle,
    } = run_daemon(daemon);
    TestApp {
        sim,
        _server: server,
        seeded,
        daemon,
        cancel,
        handle: Some(handle),
        clock: None,
        _dir: dir,
    }
}

/// Like [`spawn_app`], but nothing runs in the background: the test drives the daemon one pass
/// at a time ([`TestApp::step`]) on a clock shared with the simulator that moves only when told
/// ([`TestApp::advance`]). "Nothing happens" checks then mean "a whole pass saw it and did
/// nothing", not "nothing happened during a sleep".
pub async fn spawn_stepped(tweak: impl FnOnce(&mut Config, &Seeded)) -> TestApp {
    let clock = ManualClock::new(jiff::Timestamp::now());
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());
    let (sim, server, seeded) = perfectbot_sim::start_seeded_on(relaxed_sim(), shared.clone())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config_for(&server, &seeded, dir.path());
    tweak(&mut cfg, &seeded);
    let daemon = Daemon::build(cfg, shared).await.unwrap();
    TestApp {
        sim,
        _server: server,
        seeded,
        daemon: Arc::new(daemon),
        cancel: CancellationToken::new(),
        handle: None,
        clock: Some(clock),
        _dir: dir,
    }
}

impl TestApp {
    /// The daemon's HTTP listener on a free loopback port, as `perfectbot run` builds it; it
    /// stops with the app.
    pub async fn serve_http(&self) -> perfectbot::http::Server {
        let d = &self.daemon;
        let state = perfectbot::http::HttpState::new(
            d.health().clone(),
            d.poke().clone(),
            d.config().http.webhook_secret.clone(),
        )
        .expect("http state");
        perfectbot::http::serve("127.0.0.1:0".parse().unwrap(), state, self.cancel.clone())
            .await
            .expect("listener")
    }

    pub fn bot(&self) -> u64 {
        self.seeded.bot.id
    }
    pub fn agent(&self) -> u64 {
        self.seeded.agents[0].id
    }

    /// A new chat ticket assigned to the bot with one customer message.
    pub fn chat(&self, email: Option<&str>, text: &str) -> u64 {
        self.chat_with(email, text, |_| {})
    }

    pub fn chat_with(
        &self,
        email: Option<&str>,
        text: &str,
        f: impl FnOnce(&mut NewTicket),
    ) -> u64 {
        let customer = self.sim.create_customer("Test Customer", email);
        let mut t = NewTicket {
            channel: "chat".into(),
            customer_id: customer,
            first_message: text.into(),
            assignee_user: Some(self.bot()),
            ..NewTicket::default()
        };
        f(&mut t);
        self.sim.create_ticket(t)
    }

    /// The ticket as the API would return it.
    pub fn ticket(&self, id: u64) -> Ticket {
        serde_json::from_value(self.sim.ticket_json(id).expect("ticket exists")).unwrap()
    }

    pub async fn row(&self, id: u64) -> Option<TicketRow> {
        self.daemon.ledger().ticket(id).await.unwrap()
    }

    /// A stepped app ([`spawn_stepped`]): one poll and one sweep, each to its end (answers
    /// included), with the clock moved a little before and after so that what the simulator
    /// does next is stamped after what the daemon saw.
    pub async fn step(&self) {
        let clock = self
            .clock
            .as_ref()
            .expect("step drives an app from spawn_stepped");
        clock.advance(SignedDuration::from_millis(10));
        self.daemon.poll_once(&self.cancel).await.unwrap();
        self.daemon.sweep_once(&self.cancel).await.unwrap();
        clock.advance(SignedDuration::from_millis(10));
    }

    /// A stepped app: move the shared clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let clock = self
            .clock
            .as_ref()
            .expect("advance moves an app from spawn_stepped");
        clock.advance(SignedDuration::try_from(by).unwrap());
    }

    /// Wait (up to 20 s) until the ledger has the ticket in `state` with every action of the
    /// plan that put it there done (rows are written ahead of their actions). A stepped app is
    /// stepped until then.
    pub async fn wait_state(&self, id: u64, state: TicketState) -> TicketRow {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if self.clock.is_some() {
                self.step().await;
            }
            if let Some(r) = self.row(id).await
                && r.state == state
                && self
                    .daemon
                    .ledger()
                    .actions_for(id)
                    .await
                    .unwrap()
                    .iter()
                    .all(|a| a.status != perfectbot::ledger::ActionStatus::Pending)
            {
                return r;
            }
            assert!(
                Instant::now() < deadline,
                "ticket {id} did not reach {state}; row: {:?}; ticket: {:#?}",
                self.row(id).await,
                self.sim.ticket_json(id)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Wait (up to 20 s) until `f` holds for the ticket.
    pub async fn wait_ticket(&self, id: u64, what: &str, f: impl Fn(&Ticket) -> bool) -> Ticket {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if self.clock.is_some() {
                self.step().await;
            }
            let t = self.ticket(id);
            if f(&t) {
                return t;
            }
            assert!(
                Instant::now() < deadline,
                "ticket {id}: {what} never happened: {t:#?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Public messages the bot posted on the ticket.
    pub fn bot_replies(&self, id: u64) -> Vec<String> {
        let bot = self.bot();
        self.ticket(id)
            .messages
            .iter()
            .filter(|m| {
                m.from_agent
                    && !m.is_internal_note()
                    && m.sender.as_ref().is_some_and(|s| s.id == bot)
            })
            .map(|m| m.text().to_string())
            .collect()
    }

    /// Internal notes the bot posted on the ticket.
    pub fn bot_notes(&self, id: u64) -> Vec<String> {
        let bot = self.bot();
        self.ticket(id)
            .messages
            .iter()
            .filter(|m| m.is_internal_note() && m.sender.as_ref().is_some_and(|s| s.id == bot))
            .map(|m| m.text().to_string())
            .collect()
    }

    /// For "nothing happens" checks: on a stepped app, two whole passes (the second sees what
    /// the first wrote); on a running one, three more view listings seen by the simulator (the
    /// first may have begun before the caller's change, the second sees it, the third sees
    /// what the second's pass wrote), waited for with a deadline.
    pub async fn settle(&self) {
        if self.clock.is_some() {
            self.step().await;
            self.step().await;
        } else {
            self.wait_polls(3).await;
        }
    }

    /// Wait (up to 20 s) until the running daemon has listed the view `n` more times.
    pub async fn wait_polls(&self, n: u64) {
        wait_polls(&self.sim, n).await;
    }

    pub async fn stop(mut self) {
        self.cancel.cancel();
        if let Some(h) = self.handle.take() {
            h.await.unwrap().unwrap();
        }
    }
}

/// View listings (the polls' reads, any page) the simulator has answered so far.
pub fn polls(sim: &Sim) -> u64 {
    sim.stats()
        .by_route
        .iter()
        .filter(|((_, route), _)| route == "/api/views/{id}/items")
        .map(|(_, n)| n)
        .sum()
}

/// Wait (up to 20 s) until a running daemon has listed the view `n` more times: the
/// observable end of "a few more polls" for checks that nothing more happened.
pub async fn wait_polls(sim: &Sim, n: u64) {
    let target = polls(sim) + n;
    let deadline = Instant::now() + Duration::from_secs(20);
    while polls(sim) < target {
        assert!(
            Instant::now() < deadline,
            "the daemon did not poll {n} more times in 20 s ({} of {target})",
            polls(sim)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn tag_names(t: &Ticket) -> Vec<String> {
    t.tags.iter().map(|t| t.name.clone()).collect()
}

/// A child process (the real binary) that is killed when the test ends, even by a panic, so a
/// failing test never leaves a daemon running.
pub struct KillOnDrop(pub std::process::Child);

impl std::ops::Deref for KillOnDrop {
    type Target = std::process::Child;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for KillOnDrop {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A new customer (with `email`) and a chat ticket assigned to the bot, with one message.
pub fn bot_chat(sim: &Sim, bot: u64, email: &str, text: &str) -> u64 {
    let customer = sim.create_customer(email, Some(email));
    sim.create_ticket(NewTicket {
        channel: "chat".into(),
        customer_id: customer,
        first_message: text.into(),
        assignee_user: Some(bot),
        ..NewTicket::default()
    })
}

/// Rewrite `[log] format` in a config file written by `restart::write_config`.
pub fn set_log_format(cfg: &std::path::Path, format: &str) {
    let text = std::fs::read_to_string(cfg)
        .unwrap()
        .replace("format = \"text\"", &format!("format = \"{format}\""));
    std::fs::write(cfg, text).unwrap();
}

/// Runs the real binary off the runtime's threads (the in-process simulator keeps serving),
/// with no config, key or credentials from the environment.
pub async fn perfectbot(args: Vec<String>) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_perfectbot"))
            .args(&args)
            .env_remove("PERFECTBOT_CONFIG")
            .env_remove("PERFECTBOT_GORGIAS_API_KEY")
            .env_remove("CREDENTIALS_DIRECTORY")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

/// `perfectbot run --config CFG` in the background, its logs (stderr) going to `log`.
pub fn run_logged(cfg: &std::path::Path, log: &std::path::Path) -> KillOnDrop {
    KillOnDrop(
        std::process::Command::new(env!("CARGO_BIN_EXE_perfectbot"))
            .args(["run", "--config"])
            .arg(cfg)
            .env_remove("JOURNAL_STREAM")
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap(),
    )
}
