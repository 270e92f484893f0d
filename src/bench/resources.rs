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

/// Memory with many tracked tickets.
#[derive(Debug, Clone, Serialize)]
pub struct MemoryFigures {
    pub tracked: usize,
    /// VmRSS when the bench started.
    pub start_rss_kib: u64,
    /// VmHWM once the simulator held the tickets, before the daemon was built.
    pub sim_loaded_hwm_kib: u64,
    /// VmHWM after the daemon polled and swept over them (the process's, since it started:
    /// the simulator's building of the tickets included).
    pub peak_hwm_kib: u64,
    /// VmRSS with the simulator loaded and the daemon built, just before the poll.
    pub resting_rss_kib: u64,
    /// How far the poll raised the peak above `resting_rss_kib` (the peak reset through
    /// /proc/self/clear_refs just before it): the daemon's working set for one poll over all
    /// tracked tickets, plus the one page the simulator is serialising. `None` where the
    /// kernel does not allow the reset.
    pub poll_rise_kib: Option<u64>,
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

pub(super) async fn memory_with_tracked(
    tracked: usize,
    start_rss: u64,
) -> anyhow::Result<MemoryFigures> {
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
    // The daemon's own share: the peak is reset just before the poll, so what it rises above
    // the resting RSS is the poll's working set (the simulator's tickets are resident before and
    // after; its only transient is the one page it is serialising).
    let peak_reset = reset_peak();
    let resting = proc_status_kib("VmRSS:").unwrap_or(0);
    let before = env.sim.stats().requests;
    let t = Instant::now();
    let polled = daemon.poll_once(&cancel).await?;
    let poll_ms = t.elapsed().as_secs_f64() * 1000.0;
    let poll_requests = env.sim.stats().requests - before;
    let poll_peak = proc_status_kib("VmHWM:").unwrap_or(0);
    if polled.seen != tracked {
        bail!("the poll listed {} tickets, not {tracked}", polled.seen);
    }
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
    let t = Instant::now();
    daemon.sweep_once(&cancel).await?;
    let sweep_ms = t.elapsed().as_secs_f64() * 1000.0;
    Ok(MemoryFigures {
        tracked,
        start_rss_kib: start_rss,
        sim_loaded_hwm_kib: sim_loaded,
        peak_hwm_kib: proc_status_kib("VmHWM:").unwrap_or(0),
        resting_rss_kib: resting,
        poll_rise_kib: peak_reset.then(|| poll_peak.saturating_sub(resting)),
        poll_ms,
        sweep_ms,
        poll_requests,
        list_ms,
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
