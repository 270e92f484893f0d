//! The live knowledge base: `#kb` internal notes teach the bot (and survive a restart, and show
//! in `perfectbot kb list`); knowledge files changed on disk are used without a restart.

use crate::common::*;
use perfectbot::clock::SystemClock;
use perfectbot::daemon::Daemon;
use perfectbot::ledger::TicketState;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const NOTE_ANSWER: &str = "We do not sponsor teams, sorry!";

/// A config file for `kb list`: the ledger and the knowledge folder matter, nothing else.
fn offline_config(dir: &Path, ledger: &Path, kb: &Path) -> String {
    let p = dir.join("kb.toml");
    std::fs::write(
        &p,
        format!(
            "[gorgias]\nbase_url = \"http://127.0.0.1:9\"\nemail = \"bot@example.org\"\n\
             api_key_file = \"/nonexistent/key\"\n[ledger]\npath = \"{}\"\n[kb]\ndir = \"{}\"\n",
            ledger.display(),
            kb.display()
        ),
    )
    .unwrap();
    p.display().to_string()
}

async fn wait_reply(app: &TestApp, id: u64, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if app.bot_replies(id).iter().any(|r| r.contains(want)) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "ticket {id} never got a reply with {want:?}: {:?}",
            app.bot_replies(id)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kb_note_teaches_the_bot_and_survives_a_restart() {
    let mut app = spawn_app(|_, _| {}).await;
    let first = app.chat(None, "Do you sponsor amateur football teams?");
    let row = app.wait_state(first, TicketState::Escalated).await;
    assert_eq!(row.reason.map(|r| r.as_str()), Some("no_knowledge"));

    // The agent answers the gap in a note on the handed-over ticket (no longer the bot's): the
    // bot's scan of handed-over tickets reads it and learns.
    let note = app
        .sim
        .agent_note(first, app.agent(), &format!("#kb {NOTE_ANSWER}"));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let learned = app.daemon.ledger().learned().await.unwrap();
        if let Some(l) = learned.first() {
            assert_eq!(l.id, format!("note:{note}"));
            assert_eq!(l.ticket_id, first);
            assert_eq!(l.question, "Do you sponsor amateur football teams?");
            assert_eq!(l.answer, NOTE_ANSWER);
            break;
        }
        assert!(Instant::now() < deadline, "the note was never learned");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        app.bot_replies(first)
            .iter()
            .all(|r| !r.contains(NOTE_ANSWER))
    );

    let second = app.chat(None, "would you sponsor our football team?");
    wait_reply(&app, second, NOTE_ANSWER).await;

    // Restart on the same ledger: the learned entry is still used.
    app.cancel.cancel();
    app.handle.take().unwrap().await.unwrap().unwrap();
    let config = app.daemon.config().clone();
    let again = Arc::new(Daemon::build(config, Arc::new(SystemClock)).await.unwrap());
    let cancel = CancellationToken::new();
    let run = {
        let (d, c) = (again.clone(), cancel.clone());
        tokio::spawn(async move { d.run_until_cancelled(c).await })
    };
    let third = app.chat(None, "Do you sponsor football teams?");
    wait_reply(&app, third, NOTE_ANSWER).await;
    cancel.cancel();
    run.await.unwrap().unwrap();

    // `perfectbot kb list` shows it, with where it came from.
    let dir = tempfile::tempdir().unwrap();
    let cfg = offline_config(
        dir.path(),
        &again.config().ledger.path,
        &again.config().kb.dir,
    );
    let out = perfectbot(vec![
        "kb".into(),
        "list".into(),
        "--config".into(),
        cfg.clone(),
    ])
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!(
            "note:{note}\tnote:ticket {first} message {note}\t-\t"
        )) && stdout.contains("\tDo you sponsor"),
        "{stdout}"
    );
    assert!(stdout.contains("shop.toml#1\t"), "{stdout}");
    assert!(stdout.contains("1 learned from notes"), "{stdout}");
    let out = perfectbot(vec![
        "kb".into(),
        "list".into(),
        "--config".into(),
        cfg,
        "--json".into(),
    ])
    .await;
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let learned: Vec<_> = json
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "note")
        .collect();
    assert_eq!(learned.len(), 1);
    assert_eq!(learned[0]["ticket_id"], first);
    assert_eq!(learned[0]["message_id"], note);
    assert_eq!(learned[0]["answer"], NOTE_ANSWER);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kb_note_is_learned_when_the_ticket_comes_back_to_the_bot() {
    // The agent removes the escalation tag (so the handed-over scan no longer lists it), writes
    // the note and gives the ticket back: the poll reads it and learns before deciding.
    let app = spawn_app(|_, _| {}).await;
    let id = app.chat(None, "Can I pay with cryptocurrency?");
    app.wait_state(id, TicketState::Escalated).await;
    let tags: Vec<String> = tag_names(&app.ticket(id));
    let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
    app.sim.remove_tags(id, &tags);
    let note = app
        .sim
        .agent_note(id, app.agent(), "#KB: We only take cards and PayPal.");
    app.sim.assign(id, Some(app.bot()), None);
    let deadline = Instant::now() + Duration::from_secs(20);
    while app.daemon.ledger().learned().await.unwrap().is_empty() {
        assert!(Instant::now() < deadline, "the note was never learned");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let learned = app.daemon.ledger().learned().await.unwrap();
    assert_eq!(learned[0].id, format!("note:{note}"));
    assert_eq!(learned[0].answer, "We only take cards and PayPal.");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_knowledge_file_is_answerable_without_restart() {
    let app = spawn_app(|_, _| {}).await;
    let kb_dir = app.daemon.config().kb.dir.clone();
    let before = app.chat(None, "Can I bring my dog into the shop?");
    app.wait_state(before, TicketState::Escalated).await;

    std::fs::write(
        kb_dir.join("pets.md"),
        "## Can I bring my dog into the shop?\nDogs on a leash are welcome in the shop.\n",
    )
    .unwrap();
    let after = app.chat(None, "can I bring my dog to the shop?");
    wait_reply(&app, after, "Dogs on a leash are welcome").await;

    // A broken file keeps the knowledge base as it was (never an empty one).
    std::fs::write(kb_dir.join("broken.toml"), "[[entries]\nquestion = ").unwrap();
    app.settle().await;
    let dog = app.chat(None, "is my dog allowed in the shop?");
    wait_reply(&app, dog, "Dogs on a leash are welcome").await;
    let shipping = app.chat(None, "How long does shipping take?");
    app.wait_state(shipping, TicketState::Answered).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_knowledge_files_and_logs_the_count() {
    let (sim, server, seeded) = start_sim(relaxed_sim()).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = crate::restart::write_config(&server, &seeded, dir.path());
    crate::common::set_log_format(&cfg, "json");
    let log = dir.path().join("log.json");
    let mut child = crate::common::run_logged(&cfg, &log);
    let logged = |what: &str| {
        std::fs::read_to_string(&log)
            .unwrap()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|v| {
                v["fields"]["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with(what))
            })
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let started = format!("perfectbot {} running", env!("CARGO_PKG_VERSION"));
    while logged(&started).is_none() {
        assert!(Instant::now() < deadline, "the daemon never started");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let files = perfectbot::responder::kb::read_dir_entries(&dir.path().join("kb"))
        .unwrap()
        .len();
    std::process::Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .unwrap();
    let reloaded = loop {
        if let Some(v) = logged("knowledge base reloaded") {
            break v;
        }
        assert!(
            Instant::now() < deadline,
            "SIGHUP did not reload the knowledge base"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(reloaded["fields"]["why"], "SIGHUP");
    assert_eq!(reloaded["fields"]["entries"].as_u64(), Some(files as u64));
    assert!(
        child.try_wait().unwrap().is_none(),
        "SIGHUP stopped the daemon"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    drop(sim);
}

/// The `kb_index` rows of a ledger file, by entry id (a separate connection, as any reader).
fn ledger_index(path: &Path) -> Vec<String> {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let mut stmt = conn
        .prepare("SELECT entry_id FROM kb_index ORDER BY rowid")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_indexes_the_knowledge_base_in_the_ledger_and_reindexes_changes() {
    let app = spawn_app(|_, _| {}).await;
    let kb_dir = app.daemon.config().kb.dir.clone();
    let ledger = app.daemon.config().ledger.path.clone();
    let files: Vec<String> = perfectbot::responder::kb::read_dir_entries(&kb_dir)
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert!(!files.is_empty());
    assert_eq!(ledger_index(&ledger), files);

    std::fs::write(
        kb_dir.join("zz-pets.md"),
        "## Can I bring my dog into the shop?\nDogs on a leash are welcome in the shop.\n",
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ledger_index(&ledger).contains(&"zz-pets.md#1".to_owned()) {
        assert!(
            Instant::now() < deadline,
            "the changed file never reached the ledger's index"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(ledger_index(&ledger).len(), files.len() + 1);
    let dog = app.chat(None, "can I bring my dog to the shop?");
    wait_reply(&app, dog, "Dogs on a leash are welcome").await;
    app.stop().await;
}

/// A loopback `/v1/embeddings` server counting the texts it embeds (one vector per text, from
/// its bytes, so that different texts get different vectors).
async fn counting_embeddings_server() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let texts = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = Arc::clone(&texts);
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                let body = loop {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                        continue;
                    };
                    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .map_or(0, |v| v.trim().parse().unwrap());
                    if buf.len() >= end + 4 + len {
                        break buf[end + 4..end + 4 + len].to_vec();
                    }
                };
                let req: serde_json::Value = serde_json::from_slice(&body).unwrap();
                let inputs = req["input"].as_array().unwrap();
                seen.fetch_add(inputs.len(), std::sync::atomic::Ordering::SeqCst);
                let data: Vec<_> = inputs
                    .iter()
                    .enumerate()
                    .map(|(i, t)| {
                        let t = t.as_str().unwrap();
                        let v = [t.len() as f32, t.bytes().map(f32::from).sum::<f32>(), 1.0];
                        serde_json::json!({"index": i, "embedding": v})
                    })
                    .collect();
                let body = serde_json::json!({ "data": data }).to_string();
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(body.as_bytes()).await;
            });
        }
    });
    (format!("http://{addr}"), texts)
}

/// The daemon's start builds the knowledge index once, in the ledger: every entry's two texts
/// are embedded once at the first start, and a restart on the same ledger embeds nothing (the
/// vectors are cached by content hash).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_start_embeds_each_knowledge_text_once_and_a_restart_none() {
    let (_sim, server, seeded) = start_sim(relaxed_sim()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config_for(&server, &seeded, dir.path());
    let (base, texts) = counting_embeddings_server().await;
    cfg.kb.embedding = perfectbot::config::Embedding::OpenAi(
        perfectbot::responder::embed::OpenAiEmbeddingConfig {
            base_url: base,
            model: "counted".to_owned(),
            api_key: None,
            timeout: Duration::from_secs(10),
            batch: 16,
        },
    );
    let entries = perfectbot::responder::kb::read_dir_entries(&cfg.kb.dir)
        .unwrap()
        .len();
    assert!(entries > 2);
    let count = || texts.load(std::sync::atomic::Ordering::SeqCst);
    let daemon = Daemon::build(cfg.clone(), Arc::new(SystemClock))
        .await
        .unwrap();
    assert_eq!(count(), 2 * entries, "each entry's two texts, once");
    drop(daemon);
    let daemon = Daemon::build(cfg, Arc::new(SystemClock)).await.unwrap();
    assert_eq!(
        count(),
        2 * entries,
        "a restart reads every vector from the ledger"
    );
    drop(daemon);
}
