//! The operator's commands: `status` on a live daemon's ledger, `report` on known events,
//! `setup` against the simulator (views that select the right tickets, idempotent, webhook).

use crate::common::perfectbot;
use crate::common::*;
use jiff::{SignedDuration, Timestamp};
use perfectbot::ledger::{Event, Ledger, NewEvent, TicketState};
use perfectbot::ops;
use perfectbot_sim::NewTicket;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A config file for the offline commands: only the ledger matters; the key file is absent on
/// purpose (status and report must not need it).
fn offline_config(dir: &Path, ledger: &Path) -> PathBuf {
    let p = dir.join("ops.toml");
    std::fs::write(
        &p,
        format!(
            "[gorgias]\nbase_url = \"http://127.0.0.1:9\"\nemail = \"bot@example.org\"\n\
             api_key_file = \"/nonexistent/key\"\n[ledger]\npath = \"{}\"\n",
            ledger.display()
        ),
    )
    .unwrap();
    p
}

fn arg(p: &Path) -> String {
    p.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_reads_a_running_daemons_ledger() {
    let app = spawn_app(|cfg, _| cfg.timing.close_after = Duration::from_secs(600)).await;
    let answered = app.chat(Some("ada@example.org"), "How long does shipping take?");
    let human = app.chat(Some("bob@example.org"), "Can I talk to a human please?");
    app.wait_state(answered, TicketState::Answered).await;
    app.wait_state(human, TicketState::Escalated).await;

    // In-process, read-only, while the daemon is alive and writing.
    let path = app.daemon.config().ledger.path.clone();
    let ledger = ops::open_ledger(&path).await.unwrap();
    assert!(ledger.is_read_only());
    // The tickets' rows land during the first poll, its last_poll_at at the poll's end.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let s = loop {
        let s = ops::status::gather(&ledger, Timestamp::now(), SignedDuration::from_secs(3))
            .await
            .unwrap();
        if s.last_poll_at.is_some() || std::time::Instant::now() > deadline {
            break s;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(s.counts["answered"], 1);
    assert_eq!(s.counts["escalated"], 1);
    assert_eq!(s.next_closes.len(), 1);
    assert_eq!(s.next_closes[0].ticket_id, answered);
    assert!(s.next_closes[0].at > Timestamp::now());
    assert!(s.last_poll_at.is_some());

    // The real binary, while the daemon still runs.
    let dir = tempfile::tempdir().unwrap();
    let cfg = offline_config(dir.path(), &path);
    let out = perfectbot(vec!["status".into(), "--config".into(), arg(&cfg)]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("answered        1"), "{stdout}");
    assert!(stdout.contains("escalated       1"), "{stdout}");
    assert!(
        stdout.contains(&format!("ticket {answered:<8} in ")),
        "{stdout}"
    );
    assert!(
        stdout.contains("Last poll:") && stdout.contains(" ago)"),
        "{stdout}"
    );

    let out = perfectbot(vec![
        "status".into(),
        "--json".into(),
        "--config".into(),
        arg(&cfg),
    ])
    .await;
    assert!(out.status.success());
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["tickets"]["answered"], 1);
    assert_eq!(j["next_closes"][0]["ticket_id"], answered);
    assert!(j["next_closes"][0]["in_secs"].as_i64().unwrap() > 0);
    assert_eq!(j["pending_actions"], 0);
    app.stop().await;
}

#[tokio::test]
async fn status_names_a_missing_ledger_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("state").join("ledger.db");
    let cfg = offline_config(dir.path(), &missing);
    let out = perfectbot(vec!["status".into(), "--config".into(), arg(&cfg)]).await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&arg(&missing)), "{err}");
    assert!(!missing.exists(), "status must not create the ledger");
}

/// An event as the ledger stores it (kind, reason, JSON detail).
fn stored(
    at: Timestamp,
    ticket: u64,
    kind: &str,
    reason: Option<&str>,
    detail: serde_json::Value,
) -> NewEvent {
    let event = Event::from_stored(kind, reason, Some(&detail.to_string())).unwrap();
    NewEvent::ticket(at, ticket, event)
}

/// A ledger with known events over the last hours.
async fn ledger_with_known_events(path: &Path) {
    let l = Ledger::open(path).await.unwrap();
    let now = Timestamp::now();
    let at = |mins_ago: i64| now - SignedDuration::from_mins(mins_ago);
    let mut events = Vec::new();
    // Five auto-closes with lags 100..500 ms; tickets 1 and 2 reopen, 1 within the hour.
    for (i, lag) in [(1u64, 300u64), (2, 100), (3, 500), (4, 200), (5, 400)] {
        events.push(stored(
            at(300),
            i,
            "closed",
            Some("idle"),
            json!({"deadline_us": 0, "lag_ms": lag}),
        ));
    }
    events.push(stored(
        at(240),
        1,
        "state:active",
        Some("reopened"),
        json!({"from": "closed", "rule": "reopened"}),
    ));
    events.push(stored(
        at(100),
        2,
        "state:active",
        Some("reopened"),
        json!({"from": "closed", "rule": "reopened"}),
    ));
    // Answers with latencies 1000, 3000, 2000 ms.
    for (i, lat) in [(10u64, 1000u64), (11, 3000), (12, 2000)] {
        events.push(stored(
            at(200),
            i,
            "answered",
            None,
            json!({"sources": ["shipping"], "score": 3.2, "question": "q", "since_us": 0, "latency_ms": lat}),
        ));
    }
    // Handovers: 3 no_knowledge (2 the same question), 2 requested, 1 error.
    let handover = |t: u64, reason: &str, q: &str| {
        stored(
            at(50),
            t,
            "handover",
            Some(reason),
            json!({"question": q, "availability": "online"}),
        )
    };
    events.push(handover(20, "no_knowledge", "Do you ship to Mars?"));
    events.push(handover(21, "no_knowledge", "do you ship to  MARS"));
    events.push(handover(22, "no_knowledge", "Can I pay in gold?"));
    events.push(handover(23, "requested", "a human please"));
    events.push(handover(24, "requested", "agent"));
    events.push(handover(25, "error", "where is my order"));
    // Outside the window: must not count.
    events.push(stored(
        now - SignedDuration::from_hours(48),
        30,
        "closed",
        Some("idle"),
        json!({"lag_ms": 999_999}),
    ));
    for e in events {
        l.record_event(e).await.unwrap();
    }
}

#[tokio::test]
async fn report_gives_exact_figures_in_text_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.db");
    ledger_with_known_events(&ledger).await;
    let cfg = offline_config(dir.path(), &ledger);

    let out = perfectbot(vec![
        "report".into(),
        "--config".into(),
        arg(&cfg),
        "--since".into(),
        "24h".into(),
        "--json".into(),
    ])
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["auto_closed"], 5);
    assert_eq!(j["answered"], 3);
    assert_eq!(
        j["handovers"],
        json!({"no_knowledge": 3, "requested": 2, "error": 1})
    );
    assert_eq!(j["reopened_after_close"], 2);
    assert_eq!(j["false_close_rate"], 0.4);
    assert_eq!(j["close_lag_ms"], json!({"median": 300, "p95": 500}));
    assert_eq!(j["reply_latency_ms"], json!({"median": 2000}));
    assert_eq!(
        j["top_no_knowledge"],
        json!([{"question": "do you ship to mars", "count": 2},
               {"question": "can i pay in gold", "count": 1}])
    );
    let since: Timestamp = j["since"].as_str().unwrap().parse().unwrap();
    let back = Timestamp::now().duration_since(since);
    assert!(back >= SignedDuration::from_hours(24) && back < SignedDuration::from_hours(25));

    let out = perfectbot(vec![
        "report".into(),
        "--config".into(),
        arg(&cfg),
        "--since".into(),
        "7d".into(),
    ])
    .await;
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "auto-closed:            6",
        "no_knowledge         3",
        "requested            2",
        "reopened within 24h of an auto-close: 2 (false-close rate 33.3%)",
        "   2  do you ship to mars",
        "median 2000 ms",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_creates_four_views_that_select_the_right_tickets_once() {
    let (sim, server, seeded) = start_sim(relaxed_sim()).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_for(&server, &seeded, dir.path());
    let client = perfectbot::daemon::client_for(&cfg).unwrap();
    let tags = cfg.tags.clone();
    let bot = seeded.bot.id;
    let agent = seeded.agents[0].id;
    let ticket = |tags: &[&str], assignee: Option<u64>, status: &str| {
        let c = sim.create_customer("c", Some("c@example.org"));
        let id = sim.create_ticket(NewTicket {
            channel: "chat".into(),
            customer_id: c,
            first_message: "hello".into(),
            assignee_user: assignee,
            tags: tags.iter().map(|t| t.to_string()).collect(),
            ..NewTicket::default()
        });
        if status != "open" {
            sim.set_status(id, status);
        }
        id
    };
    let auto_closed = ticket(&[&tags.auto_closed, &tags.handled], None, "closed");
    let _closed_by_agent = ticket(&[&tags.handled], Some(agent), "closed");
    let needs_agent = ticket(&[&tags.agent_required], None, "open");
    let check = ticket(&[&tags.agent_check], Some(agent), "open");
    let _closed_escalated = ticket(&[&tags.agent_required], None, "closed");
    let bots = ticket(&[], Some(bot), "open");
    let _agents = ticket(&[], Some(agent), "open");
    let preview = ticket(&[&tags.preview], Some(bot), "open");

    let lines = ops::setup::setup(&client, &cfg, bot, None).await.unwrap();
    assert_eq!(lines.len(), 4);
    assert!(
        lines
            .iter()
            .all(|l| l.outcome == ops::setup::Outcome::Created)
    );
    let mut expected: Vec<(&str, Vec<u64>)> = vec![
        ("✅ Closed", vec![auto_closed]),
        ("🙋 Agent required", vec![needs_agent, check]),
        ("🖐 Open", vec![bots, preview]),
        ("👁 Preview", vec![preview]),
    ];
    for (line, (name, want)) in lines.iter().zip(expected.iter_mut()) {
        assert_eq!(line.name, *name);
        let mut got: Vec<u64> = client
            .view_items(line.id)
            .await
            .unwrap()
            .iter()
            .map(|t| t.id)
            .collect();
        got.sort_unstable();
        want.sort_unstable();
        assert_eq!(&got, want, "view {name}");
    }

    let again = ops::setup::setup(&client, &cfg, bot, None).await.unwrap();
    assert!(
        again
            .iter()
            .all(|l| l.outcome == ops::setup::Outcome::Found),
        "{again:?}"
    );
    let ids: Vec<u64> = again.iter().map(|l| l.id).collect();
    assert_eq!(ids, lines.iter().map(|l| l.id).collect::<Vec<_>>());
    assert_eq!(
        sim.views_json()
            .iter()
            .filter(|v| expected.iter().any(|(n, _)| v["name"] == *n))
            .count(),
        4
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_binary_prints_one_line_each_and_creates_the_webhook_once() {
    let (sim, server, seeded) = start_sim(relaxed_sim()).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = crate::restart::write_config(&server, &seeded, dir.path());
    let url = "https://bot.example.org/webhook";
    let http_integrations = || {
        sim.integrations_json()
            .into_iter()
            .filter(|i| i["type"] == "http" && i["http"]["url"] == url)
            .collect::<Vec<_>>()
    };
    let setup = || {
        perfectbot(vec![
            "setup".into(),
            "--config".into(),
            arg(&cfg),
            "--webhook".into(),
            url.into(),
        ])
    };

    let out = setup().await;
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.lines().count(), 5, "{stdout}");
    assert_eq!(stdout.matches("created view").count(), 4, "{stdout}");
    assert!(
        stdout.contains("created integration \"perfectbot webhook\""),
        "{stdout}"
    );
    let hooks = http_integrations();
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0]["name"], "perfectbot webhook");
    assert_eq!(hooks[0]["http"]["form"]["ticket_id"], "{{ticket.id}}");
    assert_eq!(hooks[0]["http"]["triggers"]["ticket-message-created"], true);

    let out = setup().await;
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{stdout}");
    assert_eq!(stdout.matches("found view").count(), 4, "{stdout}");
    assert!(stdout.contains("found integration"), "{stdout}");
    assert!(!stdout.contains("created"), "{stdout}");
    assert_eq!(http_integrations().len(), 1);
    drop(server);
}
