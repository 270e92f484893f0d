//! Conversation workloads: customers chat, the real daemon answers and closes, the figures come
//! from the simulator's counters and the ledger's events.

use super::*;

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
    /// The requests a conversation costs itself: all but the list polls, over the resolved
    /// conversations (at best 5: read, reply, read before the close, one tag write, close).
    pub requests_per_resolved_besides_polls: f64,
    /// List polls (`PUT /api/views/0/items`, route `/api/views/{id}/items`) during the run.
    pub list_polls: u64,
    /// 5 + this run's list polls shared over the resolved conversations.
    pub minimum_per_resolved: f64,
    pub rate_limited: u64,
    pub reply_latency_p50_ms: u64,
    pub reply_latency_p99_ms: u64,
    pub close_lag_p50_ms: u64,
    pub close_lag_p99_ms: u64,
    /// Requests by "METHOD route".
    pub by_route: BTreeMap<String, u64>,
}

/// What makes the bot look at a new customer message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Wake {
    /// The default 5 s poll.
    Polling,
    /// A Gorgias HTTP integration calling `/webhook`; polling slowed to once a minute.
    Webhook,
}

/// One conversation workload.
#[derive(Debug, Clone, Copy)]
pub(super) struct Workload {
    pub(super) n: usize,
    /// The clock's speed: the daemon, its client's pacer and the simulator's bucket all run
    /// on one `FastClock`, so the budget, the poll interval and the close delay keep their
    /// real ratios while the wall time shrinks.
    pub(super) speed: u32,
    pub(super) every: Duration,
    pub(super) wake: Wake,
    pub(super) close_after: Duration,
}

pub(super) async fn conversation_run(wl: Workload) -> anyhow::Result<ConversationFigures> {
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
        requests_per_resolved_besides_polls: requests.saturating_sub(list_polls) as f64
            / resolved as f64,
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
