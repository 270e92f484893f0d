//! Faults: the daemon against a simulator that fails requests (5xx, malformed bodies, resets,
//! delays, a 429 storm) ends every conversation right, never replies twice to one customer
//! message and keeps running; a ledger that can no longer be written stops it with a reason and
//! loses nothing already recorded.

use crate::common::*;
use perfectbot::ledger::{ActionKind, Ledger, SimulatedFailure, TicketState};
use perfectbot_sim::{Delay, Faults};
use std::time::{Duration, Instant};

/// Answerable questions end closed; handover requests and unknown questions end escalated.
const QUESTIONS: [(&str, End); 4] = [
    ("How long does shipping take?", End::Closed),
    ("I want to talk to a human", End::Escalated),
    ("What payment methods do you accept?", End::Closed),
    ("Do you sponsor football teams?", End::Escalated),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Closed,
    Escalated,
}

fn errors() -> Faults {
    Faults {
        error_rate: 0.15,
        malformed_rate: 0.05,
        reset_rate: 0.03,
        ..Faults::default()
    }
}

fn reached(app: &TestApp, id: u64, want: End) -> bool {
    let t = app.ticket(id);
    let tags = tag_names(&t);
    match want {
        End::Closed => !t.is_open() && tags.iter().any(|x| x == "PerfectBot: Auto-closed"),
        End::Escalated => {
            t.assignee_user.is_none()
                && tags.iter().any(|x| {
                    x == "PerfectBot: Agent Required" || x == "PerfectBot: Agent Check Recommended"
                })
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_conversations_under_faults_end_right_with_one_reply_each() {
    let app = spawn_app(|_, _| {}).await;
    let started = Instant::now();
    // A 429 storm first, then the error mix for the whole creation phase.
    app.sim.set_faults(Faults {
        storm_for: Some(Duration::from_secs(3)),
        ..errors()
    });
    let mut tickets = Vec::new();
    let mut delays_on = false;
    for i in 0..50 {
        let (q, want) = QUESTIONS[i % QUESTIONS.len()];
        let id = app.chat(Some(&format!("c{i}@example.org")), q);
        tickets.push((id, want));
        if i % 10 == 9 {
            tokio::time::sleep(Duration::from_millis(700)).await;
        }
        // Slow answers (up to 2 s) for a while, on top of the errors.
        if !delays_on && started.elapsed() > Duration::from_secs(3) {
            app.sim.set_faults(Faults {
                delay: Delay::UpTo(Duration::from_secs(2)),
                ..errors()
            });
            delays_on = true;
        }
    }
    tokio::time::sleep(Duration::from_secs(4)).await;
    // Errors only (no delays) until a good share of the work has been done under them.
    app.sim.set_faults(errors());
    let faults_until = Instant::now() + Duration::from_secs(15);
    let deadline = Instant::now() + Duration::from_secs(75);
    loop {
        if Instant::now() >= faults_until {
            // Convergence: the faults have done their damage; let the retries finish.
            app.sim.set_faults(Faults::default());
        }
        if tickets.iter().all(|(id, want)| reached(&app, *id, *want)) {
            break;
        }
        assert!(
            !app.handle.as_ref().unwrap().is_finished(),
            "the daemon stopped under faults"
        );
        if Instant::now() >= deadline {
            let stuck: Vec<_> = tickets
                .iter()
                .filter(|(id, want)| !reached(&app, *id, *want))
                .collect();
            panic!(
                "not every ticket reached its end state: {stuck:?}; first: {:#?}; row: {:?}",
                app.sim.ticket_json(stuck[0].0),
                app.row(stuck[0].0).await
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    app.sim.set_faults(Faults::default());
    let stats = app.sim.stats();
    assert!(
        stats.faults_injected >= 20,
        "faults were injected: {stats:?}"
    );
    assert!(stats.rate_limited > 0, "the storm answered 429s: {stats:?}");
    assert!(
        stats.by_status.keys().any(|s| *s >= 500),
        "5xx were answered: {stats:?}"
    );

    // The invariant over the whole run: one customer message, one reply (everyone has an email).
    for (id, want) in &tickets {
        let replies = app.bot_replies(*id);
        assert_eq!(
            replies.len(),
            1,
            "ticket {id} ({want:?}): replies {replies:?}; ticket {:#}; actions {:#?}",
            app.sim.ticket_json(*id).unwrap(),
            app.daemon.ledger().actions_for(*id).await.unwrap()
        );
        let notes = app.bot_notes(*id);
        match want {
            End::Closed => {
                assert!(
                    notes.is_empty(),
                    "ticket {id}: no note on a close: {notes:?}"
                );
                assert_eq!(app.row(*id).await.unwrap().state, TicketState::Closed);
            }
            End::Escalated => {
                assert_eq!(
                    notes.len(),
                    1,
                    "ticket {id}: one handover note: {notes:?}; ticket {:#}; actions {:#?}",
                    app.sim.ticket_json(*id).unwrap(),
                    app.daemon.ledger().actions_for(*id).await.unwrap()
                );
                assert_eq!(app.row(*id).await.unwrap().state, TicketState::Escalated);
            }
        }
    }
    // Still running after all that, and nothing left half-done.
    app.settle().await;
    assert!(!app.handle.as_ref().unwrap().is_finished());
    for (id, _) in &tickets {
        assert_eq!(app.bot_replies(*id).len(), 1, "ticket {id} after settling");
    }
    assert!(
        app.daemon
            .ledger()
            .pending_actions()
            .await
            .unwrap()
            .is_empty(),
        "no action left unfinished"
    );
    app.stop().await;
}

/// Rows recorded before the ledger failed, as (ticket id, state).
async fn recorded(ledger: &Ledger, ids: &[u64]) -> Vec<(u64, TicketState)> {
    let rows = ledger.tickets(ids).await.unwrap();
    let mut v: Vec<_> = rows.values().map(|r| (r.ticket_id, r.state)).collect();
    v.sort_unstable_by_key(|x| x.0);
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_ledger_stops_the_daemon_with_the_reason_and_loses_nothing() {
    ledger_failure_stops_the_daemon(SimulatedFailure::Full, "full").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_ledger_stops_the_daemon_with_the_reason_and_loses_nothing() {
    ledger_failure_stops_the_daemon(SimulatedFailure::ReadOnly, "read-only").await;
}

async fn ledger_failure_stops_the_daemon(failure: SimulatedFailure, why: &str) {
    let mut app = spawn_app(|_, _| {}).await;
    let path = app.daemon.config().ledger.path.clone();
    // Some work recorded first.
    let mut ids = Vec::new();
    for (i, (q, _)) in QUESTIONS.iter().enumerate() {
        ids.push(app.chat(Some(&format!("before{i}@example.org")), q));
    }
    for (i, id) in ids.iter().enumerate() {
        let want = match QUESTIONS[i].1 {
            End::Closed => TicketState::Answered,
            End::Escalated => TicketState::Escalated,
        };
        // An answered ticket may already have closed by the time we look.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let s = app.row(*id).await.map(|r| r.state);
            if s == Some(want) || (want == TicketState::Answered && s == Some(TicketState::Closed))
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "ticket {id} never reached {want}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let before = recorded(app.daemon.ledger(), &ids).await;

    // The daemon's own connection can no longer write (see the hook for why not from outside).
    app.daemon
        .ledger()
        .simulate_failure_for_tests(failure)
        .await
        .unwrap();
    // More work, which needs new rows in the action log and the events.
    let mut more = Vec::new();
    for i in 0..20 {
        more.push(app.chat(Some(&format!("after{i}@example.org")), QUESTIONS[i % 4].0));
    }
    let handle = app.handle.take().unwrap();
    let result = tokio::time::timeout(Duration::from_secs(30), handle)
        .await
        .expect("the daemon stops by itself when the ledger is full")
        .unwrap();
    let err = result.expect_err("run_until_cancelled returns Err");
    let msg = format!("{err:#}");
    assert!(msg.contains("ledger"), "the error names the ledger: {msg}");
    assert!(msg.contains(why), "the error says why ({why}): {msg}");

    // Nothing recorded before is lost: re-open the file with a fresh connection.
    let reopened = Ledger::open(&path).await.unwrap();
    assert_eq!(reopened.integrity_check().await.unwrap(), "ok");
    let after = recorded(&reopened, &ids).await;
    assert_eq!(
        after.len(),
        before.len(),
        "rows lost: {before:?} -> {after:?}"
    );
    for ((id_b, s_b), (id_a, s_a)) in before.iter().zip(&after) {
        assert_eq!(id_b, id_a);
        // A ticket may have moved on (answered -> closed) before the freeze, never backwards.
        assert!(
            s_a == s_b || (*s_b == TicketState::Answered && *s_a == TicketState::Closed),
            "ticket {id_a}: {s_b} -> {s_a}"
        );
    }
    // Every reply that went out was recorded: no ticket got a reply without its action row.
    for id in ids.iter().chain(&more) {
        let replies = app.bot_replies(*id);
        assert!(replies.len() <= 1, "ticket {id}: {replies:?}");
        if !replies.is_empty() {
            let actions = reopened.actions_for(*id).await.unwrap();
            assert!(
                actions.iter().any(|a| a.key.kind == ActionKind::Reply),
                "ticket {id}: a reply went out without its record: {actions:?}"
            );
        }
    }
}

/// Polls succeed (what /healthz reports and what feeds the watchdog), within 10 s.
async fn wait_healthy(app: &TestApp) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let health = app.daemon.health().check();
        if health.is_ok() {
            return;
        }
        assert!(Instant::now() < deadline, "/healthz is not 200: {health:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How many `GET /api/tickets/{id}` requests for `id` so far.
fn ticket_gets(app: &TestApp, id: u64) -> usize {
    let path = format!("/api/tickets/{id}");
    app.sim
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.trim_end_matches('/') == path)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_tickets_are_skipped_then_handed_over_while_the_others_are_served() {
    let app = spawn_app(|_, _| {}).await;
    // A lone surrogate in a customer's message (in the listing's excerpt and the full ticket),
    // and a ticket whose created_datetime is garbage. Neither can be decoded; both are set up
    // before the bot may see them (the second is assigned to it only once poisoned).
    app.sim.set_faults(Faults {
        rewrite: vec![("POISON-MARK".into(), "\\ud800".into())],
        ..Faults::default()
    });
    let surrogate = app.chat(Some("s@example.org"), "POISON-MARK where is my order?");
    let bad_date = app.chat_with(Some("d@example.org"), "Where is my order?", |t| {
        t.assignee_user = None;
    });
    let created = app.sim.ticket_json(bad_date).unwrap()["created_datetime"]
        .as_str()
        .unwrap()
        .to_owned();
    app.sim.set_faults(Faults {
        rewrite: vec![
            ("POISON-MARK".into(), "\\ud800".into()),
            (
                format!("\"created_datetime\":\"{created}\""),
                "\"created_datetime\":\"last tuesday-ish\"".into(),
            ),
        ],
        ..Faults::default()
    });
    app.sim.assign(bad_date, Some(app.bot()), None);
    // The other tickets are answered meanwhile, and the bot stays healthy.
    let good: Vec<u64> = (0..3)
        .map(|i| {
            app.chat(
                Some(&format!("g{i}@example.org")),
                "How long does shipping take?",
            )
        })
        .collect();
    for id in &good {
        app.wait_ticket(*id, "answered", |t| {
            t.messages
                .iter()
                .any(|m| m.from_agent && !m.is_internal_note())
        })
        .await;
    }
    wait_healthy(&app).await;
    // Past the answer deadline (3 s here), each unreadable ticket is handed over: tagged for a
    // check, released, an internal note saying it could not be read; never a reply.
    for id in [surrogate, bad_date] {
        let t = app
            .wait_ticket(id, "the unreadable ticket handed over", |t| {
                t.assignee_user.is_none()
                    && tag_names(t)
                        .iter()
                        .any(|x| x == "PerfectBot: Agent Check Recommended")
            })
            .await;
        let notes = app.bot_notes(id);
        assert_eq!(notes.len(), 1, "ticket {id}: {notes:?}");
        assert!(notes[0].contains("could not read"), "{notes:?}");
        assert!(app.bot_replies(id).is_empty(), "ticket {id}: {t:#?}");
        let row = app.row(id).await.unwrap();
        assert_eq!(row.state, TicketState::Escalated);
        assert_eq!(row.reason.map(|r| r.as_str()), Some("unreadable"));
    }
    wait_healthy(&app).await;
    // Read once when found, once more at the deadline; not on each of the ~15 polls between
    // (the poisoned ticket once cost 39 GETs per 20 s).
    let gets = [ticket_gets(&app, surrogate), ticket_gets(&app, bad_date)];
    assert!(
        gets.iter().all(|n| *n <= 3),
        "GETs of the unreadable tickets: {gets:?}"
    );
    app.settle().await;
    assert_eq!(
        [ticket_gets(&app, surrogate), ticket_gets(&app, bad_date)],
        gets,
        "once handed over, left alone"
    );
    for id in [surrogate, bad_date] {
        assert_eq!(app.bot_notes(id).len(), 1, "handed over once");
    }
    app.stop().await;
}

/// A daemon whose listings wait two minutes before a stall or timeout ends them (so that only
/// closing first gets a close done while one hangs), and a chat it answered, its close armed.
async fn answered_with_patient_listings(email: &str) -> (TestApp, u64) {
    let app = spawn_app(|cfg, _| {
        cfg.gorgias.stall_timeout = Duration::from_secs(120);
        cfg.gorgias.timeout = Duration::from_secs(240);
    })
    .await;
    let id = app.chat(Some(email), "How long does shipping take?");
    let row = app.wait_state(id, TicketState::Answered).await;
    assert!(row.close_deadline.is_some());
    (app, id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_listing_does_not_hold_a_due_close() {
    let (app, id) = answered_with_patient_listings("stall@example.org").await;
    // Every listing from now on stalls halfway through its body for two minutes.
    app.sim.set_faults(Faults {
        stall: Some(Duration::from_secs(120)),
        path_prefix: Some("/api/views".into()),
        ..Faults::default()
    });
    // The close (due 2 s after the answer) lands while the listing is still stalled; before,
    // it waited for the listing to give up.
    app.wait_ticket(id, "closed during a stalled listing", |t| !t.is_open())
        .await;
    assert_eq!(app.row(id).await.unwrap().state, TicketState::Closed);
    // Stopping does not wait for the stalled listing either.
    app.sim.set_faults(Faults::default());
    tokio::time::timeout(Duration::from_secs(30), app.stop())
        .await
        .expect("the daemon stops while a listing is stalled");
}

/// A close done beside a listing that was asked for before it: the listing shows the ticket as
/// the close read it (open, untagged), not as the close left it. That is no change: the bot
/// acted on that very version, so the ticket is not read again (a request for nothing).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_closed_beside_a_listing_is_not_read_again_for_what_that_listing_shows() {
    let (app, id) = answered_with_patient_listings("stale@example.org").await;
    assert_eq!(ticket_gets(&app, id), 1, "the answer's read");
    // Every listing from now on is answered as it was asked for, but only after 3 s: the
    // close (due 2 s after the answer) lands meanwhile.
    app.sim.set_faults(Faults {
        stall: Some(Duration::from_secs(3)),
        path_prefix: Some("/api/views".into()),
        ..Faults::default()
    });
    app.wait_state(id, TicketState::Closed).await;
    // The listing the close went beside ends, and the poll with it; then two more, at once.
    app.wait_polls(1).await;
    app.sim.set_faults(Faults::default());
    app.wait_polls(2).await;
    assert_eq!(
        ticket_gets(&app, id),
        2,
        "the answer's read and the close's, nothing for the stale listing"
    );
    assert!(!app.ticket(id).is_open());
    app.stop().await;
}
