//! `perfectbot preview` as a binary: a person's conversation piped on stdin goes through the
//! daemon's decision path (the answer, the email asked for before a handover, the handover
//! message for the imagined time, silence once the team has it), with no Gorgias key and no
//! ledger written.

use assert_cmd::Command;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A config for the binary in `dir`: the example knowledge base shipped in `examples/kb`, a
/// Gorgias that must never be contacted (port 9, discard) and no Gorgias key at all, then
/// `extra` (business hours...).
fn config_in(dir: &Path, extra: &str) -> PathBuf {
    let kb = dir.join("kb");
    std::fs::create_dir_all(&kb).unwrap();
    for (name, text) in perfectbot::tryit::EXAMPLE_KB {
        std::fs::write(kb.join(name), text).unwrap();
    }
    let p = dir.join("config.toml");
    std::fs::write(
        &p,
        format!(
            "[gorgias]\nbase_url = \"http://127.0.0.1:9\"\nemail = \"bot@example.org\"\n\n\
             [ledger]\npath = \"ledger.db\"\n\n[kb]\ndir = \"kb\"\n\n{extra}"
        ),
    )
    .unwrap();
    p
}

/// Weekdays 09:00-18:00 in Paris: closed on Sunday night.
const OFFICE_HOURS: &str = "[business_hours]\nsource = \"config\"\ntimezone = \"Europe/Paris\"\n\n\
    [[business_hours.ranges]]\ndays = \"mon-fri\"\nfrom = \"09:00\"\nto = \"18:00\"\n";

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
            .collect()
    }
}

fn preview(cfg: &Path, args: &[&str], input: &str) -> Run {
    let out = Command::cargo_bin("perfectbot")
        .unwrap()
        .args(["preview", "--config"])
        .arg(cfg)
        .args(args)
        .env_remove("PERFECTBOT_GORGIAS_API_KEY")
        .env_remove("PERFECTBOT_OPENAI_API_KEY")
        .env_remove("CREDENTIALS_DIRECTORY")
        .write_stdin(input)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

const ONLINE: &str = "Thanks for your patience! I'm passing you to a member of our team now.";
const AFTER_HOURS: &str = "Our team is offline right now. We open again Monday 09:00 CET";

#[test]
fn preview_answers_asks_for_the_email_hands_over_and_then_stays_silent() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_in(dir.path(), OFFICE_HOURS);
    let input = "How long does shipping take?\n\
                 I want a human\n\
                 sure, jo@example.org\n\
                 hello? is anyone there?\n\
                 How long does shipping take?\n";
    let run = preview(&cfg, &["--json", "--at", "Wednesday 10:00"], input);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let lines = run.json();
    let got: Vec<(&str, &Value)> = lines
        .iter()
        .map(|v| (v["decision"].as_str().unwrap(), &v["reason"]))
        .collect();
    assert_eq!(
        got,
        vec![
            ("answer", &Value::Null),
            ("ask_email", &json!("requested")),
            ("handover", &json!("requested")),
            ("with_team", &Value::Null),
            ("with_team", &Value::Null),
        ],
        "{}",
        run.stdout
    );
    // (a) A question the example knowledge base covers, answered from its entry.
    assert_eq!(lines[0]["sources"], json!(["store.toml#1"]));
    assert!(
        lines[0]["text"]
            .as_str()
            .unwrap()
            .starts_with("We ship from our warehouse in Innsbruck"),
        "{}",
        run.stdout
    );
    // (b) No email known: asked for first; once given, the in-hours handover message.
    assert!(
        lines[1]["text"].as_str().unwrap().contains("email address"),
        "{}",
        run.stdout
    );
    assert_eq!(lines[1]["state"], "awaiting_email");
    assert!(
        lines[2]["text"].as_str().unwrap().starts_with(ONLINE),
        "{}",
        run.stdout
    );
    assert_eq!(lines[2]["availability"], "online");
    assert_eq!(lines[2]["state"], "escalated");
    // Then no bot turn at all, even for a question it could answer.
    for v in &lines[3..] {
        assert_eq!(v["text"], "", "{v}");
        assert_eq!(v["state"], "escalated", "{v}");
    }
    // The start-up line says what is previewed; nothing is written.
    let first = run.stderr.lines().next().unwrap_or_default();
    for part in [
        concat!("perfectbot preview ", env!("CARGO_PKG_VERSION")),
        &format!("config {}", cfg.display()),
        "mode live",
        "responder kb",
        "knowledge entries",
        "business hours: open at Wed",
        "customer email unknown",
    ] {
        assert!(first.contains(part), "{part:?} in {first}");
    }
    assert!(
        !dir.path().join("ledger.db").exists(),
        "preview opens no ledger"
    );
}

#[test]
fn preview_at_a_closed_time_shows_the_after_hours_message() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_in(dir.path(), OFFICE_HOURS);
    // (c) Sunday night is closed in the config's hours: the after-hours message, with the
    // next opening in words; the same for an ISO date-time on a Sunday.
    for at in ["Sunday 22:00", "2026-12-06T22:00"] {
        let run = preview(
            &cfg,
            &["--at", at],
            "I want to talk to a person\nmy email is jo@example.org\nhello?\n",
        );
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        let lines: Vec<&str> = run.stdout.lines().collect();
        assert_eq!(lines.len(), 3, "{}", run.stdout);
        assert!(
            lines[0].starts_with("ask_email (before a handover: requested): "),
            "{}",
            run.stdout
        );
        assert!(
            lines[1].starts_with(&format!("handover (requested, after_hours): {AFTER_HOURS}")),
            "{at}: {}",
            run.stdout
        );
        assert_eq!(lines[2], "with_team [handed over: the bot takes no turn]");
        assert!(
            run.stderr.contains("business hours: closed at Sun"),
            "{}",
            run.stderr
        );
    }

    // A known email skips the question; nobody available in hours gets the no-agents message.
    let run = preview(
        &cfg,
        &[
            "--json",
            "--at",
            "Tuesday 11:00",
            "--agents",
            "none",
            "--email",
            "jo@example.org",
        ],
        "I want to talk to a person\n",
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let v = &run.json()[0];
    assert_eq!(v["decision"], "handover", "{v}");
    assert_eq!(v["availability"], "no_agents", "{v}");
    assert!(
        v["text"]
            .as_str()
            .unwrap()
            .contains("Everyone is busy right now"),
        "{v}"
    );
}

#[test]
fn a_malformed_at_is_refused_naming_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_in(dir.path(), OFFICE_HOURS);
    // (d)
    for bad in ["Someday 25:00", "Sunday 25:00", "2026-13-45T22:00"] {
        let run = preview(&cfg, &["--at", bad], "hello\n");
        assert_eq!(run.code, Some(2), "{bad}: {}", run.stderr);
        assert!(
            run.stderr.contains(&format!("{bad:?} is not a time")),
            "{bad}: {}",
            run.stderr
        );
        assert!(run.stdout.is_empty(), "{}", run.stdout);
    }
    // Hours that only Gorgias knows cannot be imagined: said, with the way out.
    let cfg = config_in(dir.path(), "");
    let run = preview(&cfg, &["--at", "Sunday 22:00"], "hello\n");
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr.contains("business_hours.source = \"config\""),
        "{}",
        run.stderr
    );
    assert_eq!(
        run.stderr.matches("--at").count(),
        1,
        "said once: {}",
        run.stderr
    );
}

#[test]
fn piped_json_gives_one_decision_per_message_and_blank_lines_separate_conversations() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_in(dir.path(), "");
    let input = "How do I track my parcel?\n\
                 \n\
                 this is useless!!!\n\
                 \x20\x20\n\
                 Who won the football match last night?\n\
                 no thanks\n";
    let run = preview(&cfg, &["--json"], input);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let lines = run.json();
    let got: Vec<(&str, &Value, u64)> = lines
        .iter()
        .map(|v| {
            (
                v["decision"].as_str().unwrap(),
                &v["reason"],
                v["conversation"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("answer", &Value::Null, 1),
            ("ask_email", &json!("frustrated"), 2),
            ("ask_email", &json!("no_knowledge"), 3),
            ("no_knowledge", &json!("no_knowledge"), 3),
        ],
        "{}",
        run.stdout
    );
    assert!(lines[0]["score"].is_number());
    assert!(lines[2]["score"].is_number(), "the best score shown");
    for v in &lines[1..] {
        assert!(!v["text"].as_str().unwrap().is_empty(), "{v}");
        assert_eq!(v["sources"], json!([]));
    }
    // Hours from Gorgias (the default): preview does not read them and says so.
    assert!(run.stderr.contains("not by preview"), "{}", run.stderr);
}
