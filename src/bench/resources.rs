//! The daemon's resources: a sweep over a large ledger, peak memory with many tracked tickets,
//! and the CPU of an idle daemon.

use super::*;

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

/// Memory with many tracked tickets: the daemon alone in this process, the simulator in a
/// child process (`perfectbot sim`), so the figures are the daemon's own.
#[derive(Debug, Clone, Serialize)]
pub struct MemoryFigures {
    pub tracked: usize,
    /// VmRSS when the bench started.
    pub start_rss_kib: u64,
    /// The simulator child's VmHWM once it held the tickets (its own process).
    pub sim_hwm_kib: u64,
    /// VmRSS of this process once the tickets were made and recorded in the ledger, just
    /// before the daemon was built; the peak (VmHWM) is reset there.
    pub before_daemon_rss_kib: u64,
    /// VmRSS with the daemon built, just before its poll.
    pub resting_rss_kib: u64,
    /// VmHWM after the daemon was built, polled over every tracked ticket and swept, counted
    /// from the reset before it was built (through /proc/self/clear_refs): the daemon's own
    /// peak, with this small bench driver's resting memory. `None` where the kernel does not
    /// allow the reset.
    pub daemon_peak_kib: Option<u64>,
    /// How far the poll raised the peak above `resting_rss_kib` (reset again just before it):
    /// the poll's working set over all tracked tickets.
    pub poll_rise_kib: Option<u64>,
    /// Time of that poll (the view listed in pages of 100, paced at the simulator's default
    /// 40 requests per 20 s) and sweep.
    pub poll_ms: f64,
    pub sweep_ms: f64,
    /// Requests the poll made (the list pages; no ticket should need a full read).
    pub poll_requests: u64,
}

/// CPU of an idle daemon (polling, nothing to do).
#[derive(Debug, Clone, Serialize)]
pub struct IdleFigures {
    pub seconds: f64,
    pub cpu_ms: f64,
    pub cpu_percent: f64,
    pub poll_interval_s: f64,
}

/// A row in `state` for ticket `id`, as the engine would leave it.
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

pub(super) async fn sweep_large(rows: usize) -> anyhow::Result<SweepFigures> {
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

/// `perfectbot sim` running as a child process (killed when dropped).
struct ChildSim {
    child: tokio::process::Child,
    base_url: String,
    bot_id: u64,
    bot_email: String,
    bot_key: String,
}

impl ChildSim {
    /// Starts this very binary as `perfectbot sim` on a free loopback port and reads the
    /// account from its banner.
    async fn start() -> anyhow::Result<ChildSim> {
        use tokio::io::AsyncBufReadExt as _;
        let exe = std::env::current_exe().context("finding this program's path")?;
        let mut child = tokio::process::Command::new(exe)
            .args(["sim", "--listen", "127.0.0.1:0"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("starting `perfectbot sim`")?;
        let stdout = child.stdout.take().context("the simulator's stdout")?;
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let (mut base_url, mut bot) = (None, None);
        let read = async {
            while let Some(line) = lines.next_line().await? {
                let line = line.trim();
                if let Some(url) = line.strip_prefix("base_url") {
                    base_url = Some(url.trim().to_owned());
                } else if let Some(rest) = line.strip_prefix("bot ") {
                    let field = |name: &str| {
                        rest.split_whitespace()
                            .find_map(|w| w.strip_prefix(name))
                            .map(str::to_owned)
                    };
                    bot = Some((field("id="), field("email="), field("api_key=")));
                }
                if base_url.is_some() && bot.is_some() {
                    break;
                }
            }
            anyhow::Ok(())
        };
        tokio::time::timeout(Duration::from_secs(60), read)
            .await
            .context("the simulator did not print its banner within 60 s")??;
        let (Some(base_url), Some((Some(id), Some(email), Some(key)))) = (base_url, bot) else {
            bail!("the simulator's banner did not name its URL and bot account");
        };
        Ok(ChildSim {
            child,
            base_url,
            bot_id: id.parse().context("the bot's id in the banner")?,
            bot_email: email,
            bot_key: key,
        })
    }

    /// The child's VmHWM.
    fn hwm_kib(&self) -> Option<u64> {
        let pid = self.child.id()?;
        status_kib(&format!("/proc/{pid}/status"), "VmHWM:")
    }
}

/// Returns the heap's free pages to the system (glibc keeps them otherwise).
fn release_free_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}

pub(super) async fn memory_with_tracked(
    tracked: usize,
    start_rss: u64,
) -> anyhow::Result<MemoryFigures> {
    let sim = ChildSim::start().await?;
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let kb = dir.path().join("kb");
    std::fs::create_dir_all(&kb)?;
    std::fs::write(kb.join("shop.toml"), DEMO_KB)?;
    let mut cfg = Config::for_tests(&sim.base_url, &sim.bot_email, &sim.bot_key);
    cfg.ledger.path = dir.path().join("ledger.db");
    cfg.kb.dir = kb;
    // The simulator's default budget, as Gorgias's.
    cfg.gorgias.requests_per_window = DEFAULT_RATE;
    cfg.gorgias.window = WINDOW;
    // The customers start their chats through the simulator's chat page API (not the Gorgias
    // API, so no budget is spent on them), a few at a time.
    let http = reqwest::Client::new();
    let url = format!("{}/chat/api/conversations", sim.base_url);
    let workers = 8;
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..workers {
        let (http, url) = (http.clone(), url.clone());
        tasks.spawn(async move {
            for i in (w..tracked).step_by(workers) {
                let body = serde_json::json!({
                    "text": QUESTIONS[i % QUESTIONS.len()],
                    "email": format!("m{i}@example.org"),
                    "language": "en",
                });
                http.post(&url)
                    .json(&body)
                    .send()
                    .await?
                    .error_for_status()?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.context("a ticket-making task panicked")?
            .context("making a chat ticket")?;
    }
    // Each ticket answered and waiting for its idle close, recorded as the listing shows it,
    // so the daemon's poll reads none in full. Page by page: this bench's own peak stays small.
    let now = Timestamp::now();
    {
        let ledger = Ledger::open(&cfg.ledger.path).await?;
        let client = crate::daemon::client_on(&cfg, Arc::new(SystemClock))?;
        let mut pages = client.ad_hoc_view_pages(
            &format!(
                "eq(ticket.status, 'open') && eq(ticket.assignee_user.id, {})",
                sim.bot_id
            ),
            "updated_datetime",
        );
        let mut recorded = 0;
        while let Some(page) = pages.next_page().await? {
            for t in &page.items {
                let mut r = row(t.id, TicketState::Answered, now);
                r.seen_updated_at = t.updated_datetime;
                ledger.save_ticket(&r).await?;
                recorded += 1;
            }
        }
        if recorded != tracked {
            bail!("the simulator listed {recorded} tickets, not {tracked}");
        }
    }
    let sim_hwm = sim.hwm_kib().unwrap_or(0);
    // The setup's freed heap goes back to the system first, so that what stays resident is
    // what is in use; from here on the process is the daemon (and this driver, at rest).
    release_free_heap();
    let peak_reset = reset_peak();
    let before_daemon = proc_status_kib("VmRSS:").unwrap_or(0);
    let daemon = Daemon::build(cfg, Arc::new(SystemClock)).await?;
    let cancel = CancellationToken::new();
    let resting = proc_status_kib("VmRSS:").unwrap_or(0);
    let built_peak = proc_status_kib("VmHWM:").unwrap_or(0);
    reset_peak();
    let sent = daemon.client().stats().requests;
    let before = Instant::now();
    let polled = daemon.poll_once(&cancel).await?;
    let poll_ms = before.elapsed().as_secs_f64() * 1000.0;
    let poll_requests = daemon.client().stats().requests - sent;
    let poll_peak = proc_status_kib("VmHWM:").unwrap_or(0);
    if polled.seen != tracked {
        bail!("the poll listed {} tickets, not {tracked}", polled.seen);
    }
    let t = Instant::now();
    daemon.sweep_once(&cancel).await?;
    let sweep_ms = t.elapsed().as_secs_f64() * 1000.0;
    let end_peak = proc_status_kib("VmHWM:").unwrap_or(0);
    drop(daemon);
    drop(sim);
    Ok(MemoryFigures {
        tracked,
        start_rss_kib: start_rss,
        sim_hwm_kib: sim_hwm,
        before_daemon_rss_kib: before_daemon,
        resting_rss_kib: resting,
        daemon_peak_kib: peak_reset.then(|| built_peak.max(end_peak)),
        poll_rise_kib: peak_reset.then(|| poll_peak.saturating_sub(resting)),
        poll_ms,
        sweep_ms,
        poll_requests,
    })
}

pub(super) async fn idle_cpu(over: Duration) -> anyhow::Result<IdleFigures> {
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
