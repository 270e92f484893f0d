//! What a newcomer meets first: check-config catching what would stop `run`, quiet broken
//! pipes, one clear error for an unreachable Gorgias, plain (colourless) text logs with the
//! start-up line, polling failures logged once and their recovery, and `status` without
//! `--config`.

use crate::common::*;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_perfectbot"));
    c.env_remove("PERFECTBOT_CONFIG")
        .env_remove("PERFECTBOT_GORGIAS_API_KEY")
        .env_remove("CREDENTIALS_DIRECTORY")
        .env_remove("JOURNAL_STREAM");
    c
}

/// A valid config in `dir` whose knowledge folder holds `kb_files`.
fn config_with_kb(dir: &Path, kb_files: &[(&str, &str)], base_url: &str) -> std::path::PathBuf {
    let kb = dir.join("kb");
    std::fs::create_dir_all(&kb).unwrap();
    for (name, text) in kb_files {
        std::fs::write(kb.join(name), text).unwrap();
    }
    std::fs::write(dir.join("key"), "k").unwrap();
    let cfg = dir.join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[gorgias]\nbase_url = \"{base_url}\"\nemail = \"bot@example.org\"\napi_key_file = \"key\"\n\
             [ledger]\npath = \"ledger.db\"\n[kb]\ndir = \"kb\"\n"
        ),
    )
    .unwrap();
    cfg
}

const GOOD_KB: &str =
    "[[entries]]\nquestion = \"How long does shipping take?\"\nanswer = \"2-3 days.\"\n";

#[test]
fn check_config_counts_knowledge_entries_and_names_the_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_with_kb(dir.path(), &[("a.toml", GOOD_KB)], "http://127.0.0.1:9");
    let out = bin()
        .args(["check-config", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("knowledge:       1 entries"), "{stdout}");
    assert!(
        stdout.contains("ledger.db (created at the first start)"),
        "{stdout}"
    );
}

#[test]
fn check_config_rejects_a_broken_knowledge_file_a_missing_kb_dir_and_a_missing_ledger_folder() {
    let dir = tempfile::tempdir().unwrap();
    // A broken file: an entry without an answer.
    let cfg = config_with_kb(
        dir.path(),
        &[
            ("good.toml", GOOD_KB),
            ("broken.toml", "[[entries]]\nquestion = \"q\"\n"),
        ],
        "http://127.0.0.1:9",
    );
    let out = bin()
        .args(["check-config", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("kb.dir") && err.contains("broken.toml"),
        "{err}"
    );

    // A kb.dir that does not exist, and a ledger in a folder that does not exist.
    std::fs::write(
        &cfg,
        "[gorgias]\nbase_url = \"http://127.0.0.1:9\"\nemail = \"bot@example.org\"\napi_key_file = \"key\"\n\
         [ledger]\npath = \"no/such/folder/ledger.db\"\n[kb]\ndir = \"no-kb-here\"\n",
    )
    .unwrap();
    let out = bin()
        .args(["check-config", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("kb.dir") && err.contains("no-kb-here"),
        "{err}"
    );
    assert!(
        err.contains("ledger.path") && err.contains("no/such/folder"),
        "{err}"
    );
}

#[test]
fn a_closed_stdout_is_a_quiet_exit_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_with_kb(dir.path(), &[("a.toml", GOOD_KB)], "http://127.0.0.1:9");
    for _ in 0..5 {
        let mut child = bin()
            .args(["check-config", "--config"])
            .arg(&cfg)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // `| head -0`: the reader goes away before the command writes.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{err}");
        assert_ne!(out.status.code(), Some(101), "{err}");
    }
}

#[test]
fn status_without_config_reads_the_installed_path() {
    let out = bin().arg("status").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    if Path::new("/etc/perfectbot/config.toml").exists() {
        return; // an installed bot on this machine: status reads it, nothing to show here
    }
    assert!(!out.status.success());
    assert!(err.contains("/etc/perfectbot/config.toml"), "{err}");
    assert!(!err.contains("required"), "--config is optional: {err}");
}

#[test]
fn unreachable_gorgias_is_one_clear_error_not_an_api_key_question() {
    // A port nobody listens on: the connection is refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_with_kb(
        dir.path(),
        &[("a.toml", GOOD_KB)],
        &format!("http://127.0.0.1:{port}"),
    );
    let out = bin()
        .args(["run", "--config"])
        .arg(&cfg)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("cannot reach Gorgias"), "{err}");
    assert!(!err.contains("API key right"), "{err}");
    assert_eq!(
        err.matches("identity check").count(),
        1,
        "said once:\n{err}"
    );
}

/// Text logs to a file: no colour codes, the start-up line names version, mode, knowledge
/// and config; polls failing give one warning, and recovering one info line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_logs_are_plain_and_an_outage_is_two_lines() {
    let (sim, server, seeded) = start_sim(relaxed_sim()).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = crate::restart::write_config(&server, &seeded, dir.path());
    let log = dir.path().join("daemon.log");
    let mut child = run_logged(&cfg, &log);
    let read = || std::fs::read_to_string(&log).unwrap_or_default();
    let wait = |what: &str, f: &dyn Fn(&str) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = read();
            if f(&text) {
                return text;
            }
            assert!(Instant::now() < deadline, "no {what} in:\n{text}");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let id = bot_chat(
        &sim,
        seeded.bot.id,
        "p@example.org",
        "How long does shipping take?",
    );
    let needle = format!("ticket_id={id}");
    let text = tokio::task::block_in_place(|| wait("ticket line", &|t| t.contains(&needle)));
    assert!(!text.contains('\u{1b}'), "colour codes in a file:\n{text}");
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        text.contains(&format!("perfectbot {version} running: live mode,"))
            && text.contains("knowledge entries, config ")
            && text.contains(&cfg.display().to_string()),
        "{text}"
    );

    // Every request fails for a while: one warning, however many polls fail.
    sim.set_faults(perfectbot_sim::Faults {
        error_rate: 1.0,
        ..Default::default()
    });
    tokio::task::block_in_place(|| wait("outage warning", &|t| t.contains("retrying every pass")));
    // Several polls (200 ms apart) fail before the faults stop.
    let failed_polls = || sim.requests().iter().filter(|r| r.status >= 500).count();
    let deadline = Instant::now() + Duration::from_secs(30);
    while failed_polls() < 10 {
        assert!(
            Instant::now() < deadline,
            "the faults did not fail 10 requests"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    sim.set_faults(perfectbot_sim::Faults::default());
    let text = tokio::task::block_in_place(|| {
        wait("recovery line", &|t| t.contains("Gorgias answers again"))
    });
    // One warning for the outage, and at most one for each ticket that could not be worked on
    // meanwhile (here the one ticket, whose close falls due during the outage).
    let pass_warnings = text
        .lines()
        .filter(|l| l.contains(" WARN ") && !l.contains("ticket_id="))
        .count();
    assert_eq!(pass_warnings, 1, "one warning for the outage:\n{text}");
    let ticket_warnings = text
        .lines()
        .filter(|l| l.contains(" WARN ") && l.contains(&needle))
        .count();
    assert!(
        ticket_warnings <= 1,
        "one warning per ticket at most:\n{text}"
    );
    assert_eq!(text.matches("Gorgias answers again").count(), 1, "{text}");
    child.kill().unwrap();
    child.wait().unwrap();
}
