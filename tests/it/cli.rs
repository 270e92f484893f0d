//! The binary's commands: check-config on good and bad files, SIGTERM, preview --language.

use crate::common::*;
use assert_cmd::Command;
use std::time::{Duration, Instant};

fn write(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn check_config_accepts_a_good_file_and_prints_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let key = write(dir.path(), "key", "secret-key-123\n");
    std::fs::create_dir(dir.path().join("kb")).unwrap();
    write(
        &dir.path().join("kb"),
        "a.md",
        "## Gift wrapping\nYes, gift wrapping is free.\n",
    );
    let cfg = write(
        dir.path(),
        "config.toml",
        &format!(
            "[gorgias]\nbase_url = \"http://127.0.0.1:9\"\nemail = \"bot@example.org\"\napi_key_file = \"{}\"\n\
             [ledger]\npath = \"ledger.db\"\n[kb]\ndir = \"kb\"\n",
            key.display()
        ),
    );
    let out = Command::cargo_bin("perfectbot")
        .unwrap()
        .args(["check-config", "--config"])
        .arg(&cfg)
        .env_remove("PERFECTBOT_GORGIAS_API_KEY")
        .env_remove("CREDENTIALS_DIRECTORY")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("127.0.0.1:9"), "{stdout}");
    assert!(!stdout.contains("secret-key-123"));
}

#[test]
fn check_config_reports_every_problem_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(
        dir.path(),
        "config.toml",
        "[gorgias]\nbase_url = \"http://127.0.0.1:9\"\nemail = \"bot@example.org\"\napi_key_file = \"/nonexistent/key\"\n\
         [timing]\nclose_after = \"15 minutes please\"\nsweep = \"*/10 * * * *\"\n\
         [business_hours]\nsource = \"config\"\ntimezone = \"Mars/Olympus\"\n\
         [bot]\nnmae = \"typo\"\n",
    );
    // Through PERFECTBOT_CONFIG rather than --config.
    let out = Command::cargo_bin("perfectbot")
        .unwrap()
        .arg("check-config")
        .env("PERFECTBOT_CONFIG", &cfg)
        .env_remove("PERFECTBOT_GORGIAS_API_KEY")
        .env_remove("CREDENTIALS_DIRECTORY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "timing.close_after: \"15 minutes please\" is not a duration",
        "timing.sweep",
        "Mars/Olympus",
        "nmae",
        "/nonexistent/key",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
}

/// What once passed check-config and then crashed `run` (a duration overflowing a timestamp),
/// and what leaked (plain http to another host, credentials in the URL): refused up front, by
/// check-config and by `run` alike, without echoing the password.
#[test]
fn check_config_and_run_refuse_huge_durations_plain_http_and_credentials_in_the_url() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(
        dir.path(),
        "config.toml",
        "[gorgias]\nbase_url = \"http://user:hunter2pw@store.example.com\"\nemail = \"bot@example.org\"\n\
         [timing]\nclose_after = \"8000y\"\nemail_wait = \"9000y\"\n",
    );
    let plain = write(
        dir.path(),
        "plain.toml",
        "[gorgias]\nbase_url = \"http://store.example.com\"\nemail = \"bot@example.org\"\n",
    );
    for (command, file) in [
        ("check-config", &cfg),
        ("run", &cfg),
        ("check-config", &plain),
    ] {
        let out = Command::cargo_bin("perfectbot")
            .unwrap()
            .args([command, "--config"])
            .arg(file)
            .env("PERFECTBOT_GORGIAS_API_KEY", "k")
            .env_remove("CREDENTIALS_DIRECTORY")
            .timeout(Duration::from_secs(30))
            .output()
            .unwrap();
        assert_ne!(out.status.code(), Some(0), "{command} accepted {file:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        let needles: &[&str] = if file == &cfg {
            &[
                "config.toml: timing.close_after: \"8000y\" is more than the maximum",
                "config.toml: timing.email_wait: \"9000y\" is more than the maximum",
                "gorgias.base_url: \"http://store.example.com\" has a user name or password",
            ]
        } else {
            &["plain.toml: gorgias.base_url: \"http://store.example.com\" is plain http://"]
        };
        for needle in needles {
            assert!(
                err.contains(needle),
                "{command}: missing {needle:?} in:\n{err}"
            );
        }
        let all = format!("{err}{}", String::from_utf8_lossy(&out.stdout));
        assert!(!all.contains("hunter2pw"), "{all}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn check_config_names_a_missing_file() {
    let out = Command::cargo_bin("perfectbot")
        .unwrap()
        .args(["check-config", "--config", "/nonexistent/perfectbot.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/perfectbot.toml"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_daemon_cleanly_within_ten_seconds() {
    let (sim, server, seeded) = start_sim(relaxed_sim()).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = crate::restart::write_config(&server, &seeded, dir.path());
    let mut child = crate::common::KillOnDrop(
        std::process::Command::new(env!("CARGO_BIN_EXE_perfectbot"))
            .args(["run", "--config"])
            .arg(&cfg)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    // Wait until it works: it answers a ticket.
    let id = crate::common::bot_chat(
        &sim,
        seeded.bot.id,
        "x@example.org",
        "How long does shipping take?",
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while sim.ticket_json(id).unwrap()["messages"]
        .as_array()
        .unwrap()
        .len()
        < 2
    {
        assert!(Instant::now() < deadline, "the daemon never answered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let sent = Instant::now();
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "exit status {status}");
            break;
        }
        assert!(
            sent.elapsed() < Duration::from_secs(10),
            "still running 10 s after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_one_object_per_line_with_ticket_ids() {
    let (sim, server, seeded) = start_sim(relaxed_sim()).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = crate::restart::write_config(&server, &seeded, dir.path());
    crate::common::set_log_format(&cfg, "json");
    let log = dir.path().join("log.json");
    let mut child = crate::common::run_logged(&cfg, &log);
    let id = crate::common::bot_chat(
        &sim,
        seeded.bot.id,
        "j@example.org",
        "How long does shipping take?",
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(&log)
        .unwrap()
        .contains("\"decided\"")
    {
        assert!(Instant::now() < deadline, "no decision logged");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let logged = std::fs::read_to_string(&log).unwrap();
    let mut about_ticket = 0;
    for line in logged.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        if v["fields"]["ticket_id"].as_u64() == Some(id) {
            about_ticket += 1;
        }
    }
    assert!(
        about_ticket >= 2,
        "reply and decision lines carry ticket_id:\n{logged}"
    );
    assert!(!logged.contains(&seeded.bot.api_key));
}

/// A preview config with a one-entry knowledge folder in `dir`.
fn preview_config_in(dir: &std::path::Path) -> std::path::PathBuf {
    std::fs::create_dir_all(dir.join("kb")).unwrap();
    write(
        &dir.join("kb"),
        "a.md",
        "## Gift wrapping\nYes, gift wrapping is free.\n",
    );
    write(dir, "key", "not-a-real-key");
    write(
        dir,
        "config.toml",
        "[gorgias]\nbase_url = \"http://127.0.0.1:9\"\nemail = \"bot@example.org\"\n\
         api_key_file = \"key\"\n\n[ledger]\npath = \"ledger.db\"\n\n[kb]\ndir = \"kb\"\n\n\
         [handover.messages.fr]\n\
         online = \"Bonjour {customer_name}, un collègue arrive ; il écrira à {email}.\"\n",
    )
}

#[test]
fn preview_language_fr_shows_the_french_handover_with_french_fill_ins() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = preview_config_in(dir.path());
    let run = |extra: &[&str]| {
        Command::cargo_bin("perfectbot")
            .unwrap()
            .args(["preview", "--json", "--config"])
            .arg(&cfg)
            .args(extra)
            .env_remove("PERFECTBOT_GORGIAS_API_KEY")
            .env_remove("CREDENTIALS_DIRECTORY")
            .write_stdin("je veux parler à un humain\nnon\n")
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap()
    };
    let last = |stdout: &[u8]| -> serde_json::Value {
        let text = String::from_utf8_lossy(stdout);
        serde_json::from_str(text.lines().last().unwrap_or_default()).unwrap()
    };
    let out = run(&["--language", "fr"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The email is asked for first (in French), then the French handover message.
    let asked: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(asked["decision"], "ask_email", "{asked}");
    assert!(
        asked["text"].as_str().unwrap().contains("e-mail"),
        "{asked}"
    );
    let v = last(&out.stdout);
    assert_eq!(v["decision"], "handover", "{v}");
    assert_eq!(v["reason"], "requested", "{v}");
    assert_eq!(
        v["text"], "Bonjour à vous, un collègue arrive ; il écrira à votre adresse e-mail.",
        "{v}"
    );
    assert_eq!(v["sources"], serde_json::json!([]));
    assert_eq!(v["language"], "fr");

    // Without --language: the default (English) message, no language field.
    let out = run(&[]);
    let v = last(&out.stdout);
    assert!(
        v["text"]
            .as_str()
            .unwrap()
            .starts_with("Thanks for your patience"),
        "{v}"
    );
    assert!(v.get("language").is_none(), "{v}");

    // A tag that is not a language is refused by the argument parser.
    let out = run(&["--language", "french"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not a language"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn preview_starts_without_any_gorgias_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = preview_config_in(dir.path());
    // No key file, no credentials, no environment variable: preview never calls Gorgias.
    write(
        dir.path(),
        "config.toml",
        "[gorgias]\nbase_url = \"http://127.0.0.1:9\"\nemail = \"bot@example.org\"\n\n\
         [ledger]\npath = \"ledger.db\"\n\n[kb]\ndir = \"kb\"\n",
    );
    let out = Command::cargo_bin("perfectbot")
        .unwrap()
        .args(["preview", "--json", "--config"])
        .arg(&cfg)
        .env_remove("PERFECTBOT_GORGIAS_API_KEY")
        .env_remove("CREDENTIALS_DIRECTORY")
        .write_stdin("do you do gift wrapping?\n")
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["decision"], "answer", "{v}");
}
