//! The systemd unit: hardened to an exposure of 1.5 or lower, and `systemd-analyze verify`
//! has nothing to say. Without systemd-analyze these tests fail rather than pass unseen
//! (`.ci/run` installs it; elsewhere install the `systemd` package).

use std::process::Command;

const UNIT: &str = include_str!("../../systemd/perfectbot.service");

/// Fails the test, saying why, when systemd-analyze cannot be run.
fn require_analyze() {
    let ok = Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "systemd-analyze is not installed: these tests check the unit with it (install the \
         systemd package; .ci/run does)"
    );
}

#[test]
fn unit_exposure_is_at_most_1_5() {
    require_analyze();
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=yes"])
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/systemd/perfectbot.service"
        ))
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let line = text
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_else(|| panic!("no exposure line in:\n{text}"));
    let score: f64 = line
        .split(':')
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("cannot read the score from {line:?}"));
    assert!(score <= 1.5, "exposure {score} > 1.5:\n{text}");
}

#[test]
fn unit_verifies_cleanly() {
    require_analyze();
    // The unit names the installed path; verify it against the binary built here.
    let dir = tempfile::tempdir().unwrap();
    let unit = dir.path().join("perfectbot.service");
    std::fs::write(
        &unit,
        UNIT.replace("/usr/bin/perfectbot", env!("CARGO_BIN_EXE_perfectbot")),
    )
    .unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit)
        .output()
        .unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && said.trim().is_empty(),
        "systemd-analyze verify said:\n{said}"
    );
}

#[test]
fn unit_keeps_the_key_out_of_the_unit_and_notifies() {
    for needle in [
        "Type=notify",
        "WatchdogSec=",
        "LoadCredential=gorgias_api_key:",
        "DynamicUser=yes",
        "StateDirectory=perfectbot",
        "ExecStartPre=/usr/bin/perfectbot check-config",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "LoadCredential=webhook_secret:/etc/perfectbot/webhook_secret",
        "Documentation=file:///usr/share/doc/perfectbot/README.md",
        // Above the listener's 256 connections (http::Limits::DEFAULT) with room to spare.
        "LimitNOFILE=4096",
    ] {
        assert!(UNIT.contains(needle), "the unit lacks {needle}");
    }
    assert!(
        !UNIT.contains("PERFECTBOT_GORGIAS_API_KEY="),
        "no key in the unit"
    );
    let nofile: usize = UNIT
        .lines()
        .find_map(|l| l.strip_prefix("LimitNOFILE="))
        .and_then(|v| v.trim().parse().ok())
        .expect("LimitNOFILE= is a number");
    assert!(
        nofile >= 2 * perfectbot::http::Limits::DEFAULT.max_connections + 1024,
        "LimitNOFILE={nofile} leaves too little above the listener's connections"
    );
}

/// The daemon speaks systemd's notify protocol: READY=1 once the config is valid, the ledger
/// open and Gorgias answered the identity check; then WATCHDOG=1 with a STATUS= picture while
/// polls succeed; STOPPING=1 on SIGTERM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_socket_gets_ready_watchdog_and_status() {
    use std::os::unix::net::UnixDatagram;
    use std::time::{Duration, Instant};
    let (sim, server, seeded) = crate::common::start_sim(crate::common::relaxed_sim()).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = crate::restart::write_config(&server, &seeded, dir.path());
    let sock_path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let c = sim.create_customer("n", Some("n@example.org"));
    sim.create_ticket(perfectbot_sim::NewTicket {
        channel: "chat".into(),
        customer_id: c,
        first_message: "How long does shipping take?".into(),
        assignee_user: Some(seeded.bot.id),
        ..Default::default()
    });
    let mut child = crate::common::KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_perfectbot"))
            .args(["run", "--config"])
            .arg(&cfg)
            .env("NOTIFY_SOCKET", &sock_path)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut got: Vec<String> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline
        && !(got.iter().any(|m| m.contains("READY=1"))
            && got.iter().any(|m| {
                m.contains("WATCHDOG=1") && m.contains("STATUS=") && m.contains("answered")
            }))
    {
        if let Ok(n) = sock.recv(&mut buf) {
            got.push(String::from_utf8_lossy(&buf[..n]).to_string());
        }
    }
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let stop_deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < stop_deadline && !got.iter().any(|m| m.contains("STOPPING=1")) {
        if let Ok(n) = sock.recv(&mut buf) {
            got.push(String::from_utf8_lossy(&buf[..n]).to_string());
        }
    }
    assert!(child.wait().unwrap().success());
    let ready = got
        .iter()
        .position(|m| m.contains("READY=1"))
        .unwrap_or_else(|| panic!("no READY: {got:?}"));
    let watchdog = got
        .iter()
        .position(|m| m.contains("WATCHDOG=1") && m.contains("STATUS="))
        .unwrap_or_else(|| panic!("no WATCHDOG with STATUS: {got:?}"));
    assert!(ready < watchdog, "READY comes first: {got:?}");
    assert!(
        got.iter()
            .any(|m| m.contains("STATUS=") && m.contains("tickets:")),
        "{got:?}"
    );
    assert!(got.iter().any(|m| m.contains("STOPPING=1")), "{got:?}");
    // Identity check before READY: the simulator saw GET /api/users/0 before any ticket read.
    let first = sim.requests().into_iter().next().unwrap();
    assert_eq!(first.pattern, "/api/users/{id}", "{first:?}");
}

/// With `JOURNAL_STREAM` set, logs go to the journal with proper priorities (info = 6,
/// warning = 4) and structured fields, so `journalctl -p warning` and `grep ticket_id=` work.
/// The test plays journald on its socket; skipped (with the reason) where a real journald runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journald_gets_priorities_and_ticket_fields() {
    use std::os::unix::net::UnixDatagram;
    use std::time::{Duration, Instant};
    let path = std::path::Path::new("/run/systemd/journal/socket");
    if path.exists() {
        eprintln!(
            "SKIPPED: a journald socket already exists at {}",
            path.display()
        );
        return;
    }
    if std::fs::create_dir_all(path.parent().unwrap()).is_err() {
        eprintln!(
            "SKIPPED: cannot create {} (not root?)",
            path.parent().unwrap().display()
        );
        return;
    }
    let sock = UnixDatagram::bind(path).unwrap();
    struct Remove(&'static std::path::Path);
    impl Drop for Remove {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(self.0);
        }
    }
    let _cleanup = Remove(path);
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();

    let (sim, server, seeded) = crate::common::start_sim(crate::common::relaxed_sim()).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = crate::restart::write_config(&server, &seeded, dir.path());
    crate::common::set_log_format(&cfg, "auto");
    let id = crate::common::bot_chat(
        &sim,
        seeded.bot.id,
        "q@example.org",
        "How long does shipping take?",
    );
    let _child = crate::common::KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_perfectbot"))
            .args(["run", "--config"])
            .arg(&cfg)
            .env("JOURNAL_STREAM", "8:12345")
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut got: Vec<Entry> = Vec::new();
    let mut buf = vec![0u8; 65536];
    // Syslog priorities: INFO -> 6, WARN -> 4, ERROR -> 3. The ticket id is a field and in
    // the MESSAGE text, so `journalctl -u perfectbot | grep ticket_id=N` finds the line.
    let has_info_about_ticket = |got: &Vec<Entry>| {
        let id = id.to_string();
        let text = format!("ticket_id={id}");
        got.iter().any(|e| {
            field(e, "PRIORITY") == Some("6")
                && field(e, "F_TICKET_ID") == Some(id.as_str())
                && field(e, "MESSAGE").is_some_and(|m| m.contains(&text))
        })
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline && !has_info_about_ticket(&got) {
        if let Ok(n) = sock.recv(&mut buf) {
            got.push(parse_entry(&buf[..n]));
        }
    }
    assert!(
        has_info_about_ticket(&got),
        "no info entry with the ticket id: {got:?}"
    );
    // Make polls fail: the retry is logged at warning priority.
    sim.set_faults(perfectbot_sim::Faults {
        error_rate: 1.0,
        ..Default::default()
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let warned = |got: &Vec<Entry>| got.iter().any(|e| field(e, "PRIORITY") == Some("4"));
    while Instant::now() < deadline && !warned(&got) {
        if let Ok(n) = sock.recv(&mut buf) {
            got.push(parse_entry(&buf[..n]));
        }
    }
    assert!(warned(&got), "no warning entry: {got:?}");
    assert!(
        !got.iter()
            .flatten()
            .any(|(_, v)| v.contains(&seeded.bot.api_key)),
        "the key reached the journal"
    );
}

type Entry = Vec<(String, String)>;

fn field<'e>(e: &'e Entry, name: &str) -> Option<&'e str> {
    e.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// The journal's native protocol: `KEY=value\n`, or `KEY\n` + 8-byte little-endian length +
/// value + `\n` for values that may hold newlines.
fn parse_entry(mut b: &[u8]) -> Entry {
    let mut out = Vec::new();
    while let Some(nl) = b.iter().position(|&c| c == b'\n') {
        let line = &b[..nl];
        if let Some(eq) = line.iter().position(|&c| c == b'=') {
            out.push((
                String::from_utf8_lossy(&line[..eq]).to_string(),
                String::from_utf8_lossy(&line[eq + 1..]).to_string(),
            ));
            b = &b[nl + 1..];
        } else {
            let key = String::from_utf8_lossy(line).to_string();
            let rest = &b[nl + 1..];
            if rest.len() < 8 {
                break;
            }
            let len = u64::from_le_bytes(rest[..8].try_into().unwrap()) as usize;
            let value = &rest[8..(8 + len).min(rest.len())];
            out.push((key, String::from_utf8_lossy(value).to_string()));
            b = rest.get(8 + len + 1..).unwrap_or(&[]);
        }
    }
    out
}
