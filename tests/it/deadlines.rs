//! Handover deadlines fire at their deadline, from the worker loop's timer, not at the next
//! cron sweep. The daemon runs its real loop on a clock that moves only when told: the sweep is
//! hourly and polls every ten minutes, so within a test's bound only the timer can hand over.

use crate::common::{bot_chat, config_for, relaxed_sim, run_daemon};
use jiff::SignedDuration;
use perfectbot::clock::{Clock, ManualClock};
use perfectbot::daemon::Daemon;
use perfectbot::ledger::{ActionStatus, TicketRow, TicketState};
use std::sync::Arc;
use std::time::{Duration, Instant};

const HOURLY: &str = "0 0 * * * *";

/// Wait (up to 20 s) until `f` holds for the ticket's row, with no action of it pending.
async fn wait_row(d: &Daemon, id: u64, what: &str, f: impl Fn(&TicketRow) -> bool) -> TicketRow {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(r) = d.ledger().ticket(id).await.unwrap()
            && f(&r)
            && d.ledger()
                .actions_for(id)
                .await
                .unwrap()
                .iter()
                .all(|a| a.status != ActionStatus::Pending)
        {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "ticket {id}: {what} never happened: {:?}",
            d.ledger().ticket(id).await.unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs the daemon's loop on a manual clock with a rare poll and an hourly sweep.
async fn start(
    tweak: impl FnOnce(&mut perfectbot::config::Config),
    responder: Option<Arc<dyn perfectbot::responder::Responder>>,
) -> (
    ManualClock,
    perfectbot_sim::Sim,
    perfectbot_sim::SimServer,
    perfectbot_sim::Seeded,
    tempfile::TempDir,
    Daemon,
) {
    let clock = ManualClock::new(jiff::Timestamp::now());
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());
    let (sim, server, seeded) = perfectbot_sim::start_seeded_on(relaxed_sim(), shared.clone())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config_for(&server, &seeded, dir.path());
    cfg.timing.sweep = HOURLY.into();
    cfg.timing.poll_interval = Duration::from_secs(600);
    tweak(&mut cfg);
    let mut b = Daemon::builder(cfg, shared);
    if let Some(r) = responder {
        b = b.responder(r);
    }
    (clock, sim, server, seeded, dir, b.build().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_wait_handover_fires_at_its_deadline_not_at_the_sweep() {
    let (clock, sim, _server, seeded, _dir, daemon) = start(
        |cfg| cfg.timing.email_wait = Duration::from_secs(3600),
        None,
    )
    .await;
    let customer = sim.create_customer("No Mail", None);
    let id = sim.create_ticket(perfectbot_sim::NewTicket {
        channel: "chat".into(),
        customer_id: customer,
        first_message: "I want to speak to a real person".into(),
        assignee_user: Some(seeded.bot.id),
        ..Default::default()
    });
    // The loop's first poll asks for the email.
    let running = run_daemon(daemon);
    let d = running.daemon.clone();
    let asked = wait_row(&d, id, "the email ask", |r| {
        r.state == TicketState::AwaitingEmail
    })
    .await;
    let due = asked.email_requested_at.expect("asked") + SignedDuration::from_secs(3600);
    // The clock passes the deadline while the loop sleeps; the reload wakes it once so it
    // looks at the clock again (no poll, no sweep of its own).
    clock.set(due + SignedDuration::from_secs(1));
    d.kb_reload().notify_one();
    let row = wait_row(&d, id, "the email-wait handover", |r| {
        r.state == TicketState::Escalated
    })
    .await;
    assert!(row.updated_at.expect("updated") >= due);
    assert_eq!(row.reason.map(|r| r.as_str()), Some("requested"));
    running.stop().await;
}

/// A responder whose backend is down.
struct Broken(std::sync::atomic::AtomicUsize);

impl perfectbot::responder::Responder for Broken {
    fn name(&self) -> &str {
        "broken"
    }
    fn answer<'a>(
        &'a self,
        _turn: &'a perfectbot::responder::Turn,
    ) -> perfectbot::responder::AnswerFuture<'a> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Box::pin(async {
            Err(perfectbot::responder::ResponderError::Unavailable {
                responder: "broken".into(),
                detail: "backend down".into(),
            })
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answer_deadline_handover_fires_at_its_deadline_not_at_the_sweep() {
    let broken = Arc::new(Broken(Default::default()));
    let (clock, sim, _server, seeded, _dir, daemon) = start(
        |cfg| cfg.timing.answer_deadline = Duration::from_secs(3600),
        Some(broken.clone()),
    )
    .await;
    let id = bot_chat(
        &sim,
        seeded.bot.id,
        "m@example.org",
        "How long does shipping take?",
    );
    let running = run_daemon(daemon);
    let d = running.daemon.clone();
    // The first poll asks; the answer fails and waits for a retry.
    let pending = wait_row(&d, id, "the failed answer", |r| {
        r.pending_since.is_some() && broken.0.load(std::sync::atomic::Ordering::SeqCst) >= 1
    })
    .await;
    let due = pending.pending_since.expect("pending") + SignedDuration::from_secs(3600);
    clock.set(due + SignedDuration::from_secs(1));
    d.kb_reload().notify_one();
    let row = wait_row(&d, id, "the answer-deadline handover", |r| {
        r.state == TicketState::Escalated
    })
    .await;
    assert!(row.updated_at.expect("updated") >= due);
    assert_eq!(row.reason.map(|r| r.as_str()), Some("error"));
    running.stop().await;
}
