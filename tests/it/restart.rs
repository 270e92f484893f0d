//! Crashes: the real binary killed with SIGKILL in the middle of work and restarted on the same
//! ledger leaves no duplicate reply, no lost handover, no wrong close.

use crate::common::*;
use perfectbot_sim::{NewTicket, Seeded, SimServer};
use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A config file for the real binary against `server`.
pub fn write_config(server: &SimServer, seeded: &Seeded, dir: &Path) -> PathBuf {
    let kb = dir.join("kb");
    std::fs::create_dir_all(&kb).unwrap();
    std::fs::write(kb.join("shop.toml"), KB).unwrap();
    std::fs::write(dir.join("key"), &seeded.bot.api_key).unwrap();
    // A key file is private, as the daemon asks (a readable one is warned about).
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(dir.join("key"), std::fs::Permissions::from_mode(0o600)).unwrap();
    let text = format!(
        r#"[gorgias]
base_url = "{}"
email = "{}"
api_key_file = "key"
requests_per_window = 2000

[timing]
poll_interval = "200ms"
sweep = "* * * * * *"
close_after = "2s"
email_wait = "3s"
answer_deadline = "3s"

[ledger]
path = "ledger.db"

[kb]
dir = "kb"

[log]
format = "text"
filter = "info"
"#,
        server.base_url(),
        seeded.bot.email
    );
    let p = dir.join("config.toml");
    std::fs::write(&p, text).unwrap();
    p
}

fn start(cfg: &Path, log: &Path) -> KillOnDrop {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_perfectbot"))
            .args(["run", "--config"])
            .arg(cfg)
            .env_remove("PERFECTBOT_GORGIAS_API_KEY")
            .env_remove("CREDENTIALS_DIRECTORY")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_in_the_middle_of_work_leaves_no_duplicate_and_loses_nothing() {
    let (sim, server, seeded) = start_sim(relaxed_sim()).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(&server, &seeded, dir.path());
    let log = dir.path().join("daemon.log");
    let bot = seeded.bot.id;
    // Answerable questions (end closed), handover requests and unknown questions (end escalated).
    let questions = [
        ("How long does shipping take?", "closed"),
        ("I want to talk to a human", "escalated"),
        ("What payment methods do you accept?", "closed"),
        ("Do you sponsor football teams?", "escalated"),
    ];
    // 20 kills during 200 conversations; PERFECTBOT_LONG_CRASH=1 for 100 kills / 1,000.
    let long = std::env::var_os("PERFECTBOT_LONG_CRASH").is_some();
    let kills = if long { 100 } else { 20 };
    let per_round = 10;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut child = start(&cfg, &log);
    let mut tickets = Vec::new();
    for round in 0..kills {
        for i in 0..per_round {
            let (q, want) = questions[(round + i) % questions.len()];
            let c = sim.create_customer(
                &format!("c{round}-{i}"),
                Some(&format!("c{round}-{i}@example.org")),
            );
            let id = sim.create_ticket(NewTicket {
                channel: "chat".into(),
                customer_id: c,
                first_message: q.to_string(),
                assignee_user: Some(bot),
                ..NewTicket::default()
            });
            tickets.push((id, want));
        }
        tokio::time::sleep(Duration::from_millis(rng.random_range(100..700))).await;
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        child = start(&cfg, &log);
    }
    // Let the last run finish the work.
    let deadline = Instant::now() + Duration::from_secs(if long { 600 } else { 90 });
    let done = |id: u64, want: &str| {
        let t = sim.ticket_json(id).unwrap();
        let tags: Vec<&str> = t["tags"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|x| x["name"].as_str())
            .collect();
        match want {
            "closed" => t["status"] == "closed" && tags.contains(&"PerfectBot: Auto-closed"),
            _ => {
                t["assignee_user"].is_null()
                    && tags.iter().any(|x| x.starts_with("PerfectBot: Agent"))
            }
        }
    };
    while !tickets.iter().all(|(id, want)| done(*id, want)) {
        if Instant::now() > deadline {
            let stuck: Vec<String> = tickets
                .iter()
                .filter(|(id, want)| !done(*id, want))
                .map(|(id, want)| {
                    format!(
                        "ticket {id} (want {want}): {}",
                        sim.ticket_json(*id).unwrap()
                    )
                })
                .collect();
            panic!(
                "not every ticket reached its end state:\n{}\nlog:\n{}",
                stuck.join("\n"),
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();

    for (id, want) in &tickets {
        let t: perfectbot::gorgias::Ticket =
            serde_json::from_value(sim.ticket_json(*id).unwrap()).unwrap();
        let replies: Vec<std::borrow::Cow<str>> = t
            .messages
            .iter()
            .filter(|m| {
                m.from_agent
                    && !m.is_internal_note()
                    && m.sender.as_ref().is_some_and(|s| s.id == bot)
            })
            .map(|m| m.text())
            .collect();
        let notes = t.messages.iter().filter(|m| m.is_internal_note()).count();
        // One customer message each, and the customers all have an email: exactly one reply.
        assert_eq!(replies.len(), 1, "ticket {id}: replies {replies:?}");
        match *want {
            "closed" => assert_eq!(notes, 0, "ticket {id}"),
            _ => assert_eq!(notes, 1, "ticket {id}: one handover note"),
        }
    }
    let ledger = perfectbot::ledger::Ledger::open(&dir.path().join("ledger.db"))
        .await
        .unwrap();
    assert_eq!(ledger.integrity_check().await.unwrap(), "ok");
    assert!(
        ledger.pending_actions().await.unwrap().is_empty(),
        "no action left unfinished"
    );
}

/// The crash window the random kills found: a handover whose reply and tag landed but whose
/// note and release did not. The bot's own tag must not be taken for an agent's: on start-up
/// the rest of the handover is finished, and nothing is sent twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handover_cut_after_its_tag_is_finished_on_restart() {
    use perfectbot::ledger::{ActionKey, ActionKind, Ledger};
    let (sim, server, seeded) = start_sim(relaxed_sim()).await;
    let dir = tempfile::tempdir().unwrap();
    let bot = seeded.bot.id;
    let c = sim.create_customer("Zoe", Some("zoe@example.org"));
    let id = sim.create_ticket(NewTicket {
        channel: "chat".into(),
        customer_id: c,
        first_message: "I want to talk to a human".into(),
        assignee_user: Some(bot),
        ..NewTicket::default()
    });
    let msg_id = sim.ticket_json(id).unwrap()["messages"][0]["id"]
        .as_u64()
        .unwrap();
    // What the dead process had done: recorded four steps, performed two.
    let reply = "Thanks for your patience! I'm passing you to a member of our team now.";
    sim.agent_says(id, bot, reply);
    sim.add_tags(id, &["PerfectBot: Agent Required"]);
    {
        let ledger = Ledger::open(&dir.path().join("ledger.db")).await.unwrap();
        let now = jiff::Timestamp::now();
        let key = |kind, trigger: &str| ActionKey {
            ticket_id: id,
            kind,
            trigger: trigger.to_string(),
        };
        let m = format!("m{msg_id}");
        let h = format!("m{msg_id}:handover");
        for (k, t, payload) in [
            (
                ActionKind::Reply,
                m.as_str(),
                serde_json::json!({ "reply": reply }),
            ),
            (
                ActionKind::Tag,
                h.as_str(),
                serde_json::json!({ "add_tags": ["PerfectBot: Agent Required"] }),
            ),
            (
                ActionKind::Note,
                h.as_str(),
                serde_json::json!({ "note": "PerfectBot handover (requested): the customer asked for a person." }),
            ),
            (
                ActionKind::Unassign,
                h.as_str(),
                serde_json::json!({ "unassign": true }),
            ),
        ] {
            ledger
                .begin_action(&key(k, t), &payload.to_string(), now)
                .await
                .unwrap();
        }
    }
    let cfg = config_for(&server, &seeded, dir.path());
    let running = start_daemon(cfg).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let t = sim.ticket_json(id).unwrap();
        if t["assignee_user"].is_null() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the handover was never finished: {t}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    wait_polls(&sim, 3).await;
    let t: perfectbot::gorgias::Ticket =
        serde_json::from_value(sim.ticket_json(id).unwrap()).unwrap();
    let public: Vec<_> = t
        .messages
        .iter()
        .filter(|m| m.from_agent && !m.is_internal_note())
        .collect();
    let notes: Vec<_> = t.messages.iter().filter(|m| m.is_internal_note()).collect();
    assert_eq!(public.len(), 1, "the reply was not sent again");
    assert_eq!(notes.len(), 1, "the note was sent once");
    assert!(
        running
            .daemon
            .ledger()
            .pending_actions()
            .await
            .unwrap()
            .is_empty()
    );
    running.stop().await;
}

/// Waits (up to 30 s) until the daemon's log file contains `needle`.
async fn wait_for_log(log: &Path, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.contains(needle) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{needle:?} never appeared in the log:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn args(words: &[&str], cfg: &Path) -> Vec<String> {
    let mut v: Vec<String> = words.iter().map(|w| w.to_string()).collect();
    v.push("--config".into());
    v.push(cfg.display().to_string());
    v
}

/// One bot per ledger: a second `perfectbot run` on the same ledger refuses to start, naming
/// the ledger, while the read-only commands keep working; a `kill -9` of the first leaves
/// nothing stale behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_daemon_on_one_ledger_refuses_to_start_and_kill_9_leaves_no_stale_lock() {
    let (sim, server, seeded) = start_sim(relaxed_sim()).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(&server, &seeded, dir.path());
    let first_log = dir.path().join("first.log");
    let mut first = start(&cfg, &first_log);
    wait_for_log(&first_log, "running: live mode").await;
    let id = bot_chat(
        &sim,
        seeded.bot.id,
        "a@example.org",
        "How long does shipping take?",
    );

    // Bounded: a second daemon that did start would otherwise run until killed.
    let second_log = dir.path().join("second.log");
    let mut second = start(&cfg, &second_log);
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = second.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the second daemon started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(!status.success(), "the second daemon exited 0");
    let err = std::fs::read_to_string(&second_log).unwrap();
    let ledger = dir.path().join("ledger.db");
    assert!(
        err.contains(&format!(
            "the ledger {} is in use by another perfectbot",
            ledger.display()
        )),
        "{err}"
    );
    // Readers do not take the lock.
    for cmd in [&["status"][..], &["report"][..], &["kb", "list"][..]] {
        let out = perfectbot(args(cmd, &cfg)).await;
        assert!(
            out.status.success(),
            "{cmd:?} failed while the daemon runs: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The first daemon goes on alone: one reply.
    let deadline = Instant::now() + Duration::from_secs(30);
    while sim.ticket_json(id).unwrap()["status"] != "closed" {
        assert!(
            Instant::now() < deadline,
            "the first daemon stopped working"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    assert!(dir.path().join("ledger.db.lock").exists());
    let again_log = dir.path().join("again.log");
    let _again = start(&cfg, &again_log);
    wait_for_log(&again_log, "running: live mode").await;
    let bot = seeded.bot.id;
    let replies = sim.ticket_json(id).unwrap()["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["sender"]["id"] == bot && m["public"] == true)
        .count();
    assert_eq!(replies, 1);
}

/// In-process too: a second `Daemon::build` on a ledger in use fails naming it; once the first
/// daemon has stopped, the ledger is free.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_daemon_in_process_is_refused_until_the_first_stops() {
    use perfectbot::clock::SystemClock;
    use perfectbot::daemon::Daemon;
    use std::sync::Arc;
    let mut app = spawn_app(|_, _| {}).await;
    let config = app.daemon.config().clone();
    let err = Daemon::build(config.clone(), Arc::new(SystemClock))
        .await
        .err()
        .expect("a second daemon on one ledger");
    let text = format!("{err:#}");
    assert!(
        text.contains(&format!(
            "the ledger {} is in use by another perfectbot",
            config.ledger.path.display()
        )),
        "{text}"
    );
    app.cancel.cancel();
    app.handle.take().unwrap().await.unwrap().unwrap();
    let again = Daemon::build(config, Arc::new(SystemClock)).await;
    assert!(again.is_ok(), "{:?}", again.err());
}

/// A ledger deleted under a running daemon: it stops with an error naming the file and a
/// non-zero exit, instead of writing into a file no one will read again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_ledger_stops_the_daemon_with_an_error_naming_it() {
    let (sim, server, seeded) = start_sim(relaxed_sim()).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(&server, &seeded, dir.path());
    let log = dir.path().join("daemon.log");
    let mut child = start(&cfg, &log);
    wait_for_log(&log, "running: live mode").await;
    let id = bot_chat(
        &sim,
        seeded.bot.id,
        "a@example.org",
        "How long does shipping take?",
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while sim.ticket_json(id).unwrap()["messages"]
        .as_array()
        .unwrap()
        .len()
        < 2
    {
        assert!(Instant::now() < deadline, "never answered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ledger = dir.path().join("ledger.db");
    std::fs::remove_file(&ledger).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the daemon kept running without its ledger:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(!status.success());
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains(&format!(
            "the ledger {} was deleted while the bot was running",
            ledger.display()
        )),
        "{text}"
    );
}

/// Defence in depth behind the ledger: against a fresh ledger, a ticket the bot already
/// answered in Gorgias gets no second reply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_ledger_never_answers_again_what_the_bot_already_answered() {
    use perfectbot::ledger::{ActionKey, ActionKind, ActionStatus};
    let (sim, server, seeded) = start_sim(relaxed_sim()).await;
    let bot = seeded.bot.id;
    let id = bot_chat(&sim, bot, "a@example.org", "How long does shipping take?");
    let msg_id = sim.ticket_json(id).unwrap()["messages"][0]["id"]
        .as_u64()
        .unwrap();
    sim.agent_says(id, bot, "Orders ship within 2 business days.");
    let dir = tempfile::tempdir().unwrap();
    let running = start_daemon(config_for(&server, &seeded, dir.path())).await;
    let key = ActionKey {
        ticket_id: id,
        kind: ActionKind::Reply,
        trigger: format!("m{msg_id}"),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let action = running.daemon.ledger().action(&key).await.unwrap();
        if action
            .as_ref()
            .is_some_and(|a| a.status != ActionStatus::Pending)
        {
            break;
        }
        assert!(Instant::now() < deadline, "the ticket was never decided");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    running.stop().await;
    let replies = sim.ticket_json(id).unwrap()["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["sender"]["id"] == bot && m["public"] == true)
        .count();
    assert_eq!(replies, 1, "the bot answered a second time");
}
