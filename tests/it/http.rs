//! The HTTP listener against a running daemon: `/healthz` follows the polls, `/metrics` counts
//! what the bot did, `/webhook` is authenticated and only wakes the poller.
//!
//! The Prometheus recorder is process-wide and shared by every daemon of this test binary, so
//! metric checks compare before and after, never against zero.

use crate::common::*;
use perfectbot::http::{self, Health, HttpState, SECRET_HEADER};
use perfectbot::ledger::TicketState;
use perfectbot_sim::Faults;
use secrecy::SecretString;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

const SECRET: &str = "s3cret-hook";

/// Start the listener for `app`'s daemon on a free loopback port; returns its base URL.
async fn listen(app: &TestApp) -> String {
    format!("http://{}", app.serve_http().await.addr)
}

async fn get(url: &str) -> (u16, String) {
    let r = reqwest::get(url).await.expect("request");
    let status = r.status().as_u16();
    (status, r.text().await.expect("body"))
}

async fn hook(base: &str, secret: Option<&str>, body: &str) -> (u16, String) {
    let mut rb = reqwest::Client::new()
        .post(format!("{base}/webhook"))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(s) = secret {
        rb = rb.header(SECRET_HEADER, s);
    }
    let r = rb.send().await.expect("request");
    let status = r.status().as_u16();
    (status, r.text().await.expect("body"))
}

/// Wait (up to 20 s) until `/healthz` answers `status`; returns its body.
async fn wait_health(base: &str, status: u16) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (s, body) = get(&format!("{base}/healthz")).await;
        if s == status {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "/healthz never answered {status}; last {s} {body:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The value of one series (`name` or `name{labels}`) in a Prometheus text page; 0 if absent.
fn value(page: &str, series: &str) -> f64 {
    page.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.trim().parse().expect("a number"))
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_is_503_before_the_first_poll() {
    let state = HttpState {
        health: Arc::new(Health::new(Duration::from_secs(1))),
        poke: Arc::new(Notify::new()),
        webhook_secret: None,
        metrics: perfectbot::metrics::install().expect("recorder"),
    };
    let health = state.health.clone();
    let cancel = CancellationToken::new();
    let server = http::serve("127.0.0.1:0".parse().unwrap(), state, cancel.clone())
        .await
        .expect("listener");
    let base = format!("http://{}", server.addr);
    assert_eq!(
        get(&format!("{base}/healthz")).await,
        (503, "no successful poll yet\n".to_string())
    );
    health.poll_succeeded();
    assert_eq!(get(&format!("{base}/healthz")).await.0, 200);
    // Graceful stop with the token.
    cancel.cancel();
    server.task.await.expect("join").expect("served");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_follows_the_polls() {
    let app = spawn_app(|_, _| {}).await;
    let base = listen(&app).await;
    assert_eq!(wait_health(&base, 200).await, "ok\n");
    app.sim.set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    let why = wait_health(&base, 503).await;
    assert!(why.starts_with("last poll failed: "), "{why}");
    app.sim.set_faults(Faults::default());
    wait_health(&base, 200).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_answers_handovers_closes_and_api_calls() {
    let app = spawn_app(|_, _| {}).await;
    let base = listen(&app).await;
    let url = format!("{base}/metrics");
    let (status, before) = get(&url).await;
    assert_eq!(status, 200);
    let id = app.chat(Some("ada@example.org"), "How long does shipping take?");
    let human = app.chat(Some("hal@example.org"), "I am furious!!! NOTHING WORKS!!!");
    app.wait_state(id, TicketState::Closed).await;
    let row = app.wait_state(human, TicketState::Escalated).await;
    let reason = row.reason.expect("a handover reason");
    let (_, after) = get(&url).await;
    for name in [
        "perfectbot_answers_total",
        "perfectbot_handovers_total",
        "perfectbot_closes_total",
        "perfectbot_close_lag_seconds",
        "perfectbot_reply_latency_seconds",
        "perfectbot_api_requests_total",
        "perfectbot_api_rate_limited_total",
        "perfectbot_poll_duration_seconds",
        "perfectbot_poll_failures_total",
        "perfectbot_tickets",
    ] {
        assert!(
            after.contains(&format!("# TYPE {name} ")),
            "{name}:\n{after}"
        );
    }
    for series in ["perfectbot_answers_total", "perfectbot_closes_total"] {
        assert!(
            value(&after, series) >= value(&before, series) + 1.0,
            "{series} did not grow:\n{after}"
        );
    }
    let handovers = format!("perfectbot_handovers_total{{reason=\"{reason}\"}}");
    assert!(
        value(&after, &handovers) >= value(&before, &handovers) + 1.0,
        "{handovers}:\n{after}"
    );
    let ticket_reads =
        r#"perfectbot_api_requests_total{endpoint="GET /api/tickets/{id}",status="200"}"#;
    assert!(
        value(&after, ticket_reads) > value(&before, ticket_reads),
        "{after}"
    );
    for h in [
        "perfectbot_close_lag_seconds_count",
        "perfectbot_reply_latency_seconds_count",
        "perfectbot_poll_duration_seconds_count",
    ] {
        assert!(value(&after, h) >= value(&before, h) + 1.0, "{h}:\n{after}");
    }
    assert!(
        after.contains(r#"perfectbot_tickets{state="closed"}"#),
        "{after}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_is_disabled_without_a_secret() {
    let app = spawn_app(|_, _| {}).await;
    let base = listen(&app).await;
    assert_eq!(
        hook(&base, Some("anything"), "{}").await,
        (404, "webhook disabled\n".to_string())
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_rejects_bad_calls_and_a_good_one_wakes_the_poller() {
    let app = spawn_app(|cfg, _| {
        cfg.timing.poll_interval = Duration::from_secs(120);
        cfg.http.webhook_secret = Some(SecretString::from(SECRET));
    })
    .await;
    let base = listen(&app).await;
    // The first poll runs at start; after it, nothing polls for two minutes.
    wait_health(&base, 200).await;
    let id = app.chat(Some("ada@example.org"), "How long does shipping take?");
    // The same listener on a poke the test holds: whether a call poked is then a stored
    // permit to look at, not a poll that did not come during a sleep.
    let poke = Arc::new(Notify::new());
    let state = HttpState {
        health: app.daemon.health().clone(),
        poke: poke.clone(),
        webhook_secret: Some(SecretString::from(SECRET)),
        metrics: perfectbot::metrics::install().expect("recorder"),
    };
    let probe = http::serve("127.0.0.1:0".parse().unwrap(), state, app.cancel.clone())
        .await
        .expect("listener");
    let poked = || async {
        tokio::time::timeout(Duration::ZERO, poke.notified())
            .await
            .is_ok()
    };
    bad_hooks(&format!("http://{}", probe.addr)).await;
    assert!(!poked().await, "a bad webhook poked the poller");
    let good = format!(r#"{{"ticket_id": {id}}}"#);
    let probe_base = format!("http://{}", probe.addr);
    assert_eq!(hook(&probe_base, Some(SECRET), &good).await.0, 202);
    assert!(poked().await, "a good webhook did not poke");
    // The daemon's own listener: bad calls first, then the good one wakes the real poller,
    // which answers long before the two-minute poll.
    bad_hooks(&base).await;
    assert_eq!(hook(&base, Some(SECRET), &good).await.0, 202);
    app.wait_state(id, TicketState::Answered).await;
    assert_eq!(app.bot_replies(id).len(), 1);
    app.stop().await;
}

/// Webhook calls that must be refused (and so never poke): no, wrong or partial secret, a body
/// that is not a hint, a body past the cap.
async fn bad_hooks(base: &str) {
    assert_eq!(hook(base, None, "{}").await.0, 401, "no secret");
    assert_eq!(hook(base, Some("s3cret-hooK"), "{}").await.0, 401, "wrong");
    assert_eq!(hook(base, Some("s3"), "{}").await.0, 401, "prefix");
    assert_eq!(hook(base, Some(SECRET), "not json").await.0, 400);
    assert_eq!(hook(base, Some(SECRET), "[1]").await.0, 400);
    assert_eq!(
        hook(base, Some(SECRET), r#"{"ticket_id": true}"#).await.0,
        400
    );
    // A hint is small: a body past the cap is refused unread.
    let padded = format!(
        r#"{{"ticket_id": 1, "pad": "{}"}}"#,
        "x".repeat(http::MAX_WEBHOOK_BODY)
    );
    assert_eq!(hook(base, Some(SECRET), &padded).await.0, 413);
}

/// The simulator's HTTP integration calls the daemon's `/webhook` as Gorgias would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gorgias_http_integration_wakes_the_poller() {
    let app = spawn_app(|cfg, _| {
        cfg.timing.poll_interval = Duration::from_secs(120);
        cfg.http.webhook_secret = Some(SecretString::from(SECRET));
    })
    .await;
    let base = listen(&app).await;
    wait_health(&base, 200).await;
    app.daemon
        .client()
        .create_integration(&serde_json::json!({
            "name": "perfectbot",
            "type": "http",
            "http": {
                "url": format!("{base}/webhook"),
                "method": "POST",
                "request_content_type": "application/json",
                "headers": {"X-Perfectbot-Secret": SECRET},
                "form": {"ticket_id": "{{ticket.id}}"},
                "triggers": {"ticket-created": true, "ticket-message-created": true},
            },
        }))
        .await
        .expect("integration created");
    let id = app.chat(Some("ada@example.org"), "How long does shipping take?");
    app.wait_state(id, TicketState::Answered).await;
    let deliveries = app.sim.webhook_deliveries();
    assert!(
        deliveries
            .iter()
            .any(|d| d.ticket_id == id && d.status == Some(202)),
        "{deliveries:?}"
    );
    app.stop().await;
}

/// A client that sends a request one byte every 100 ms (headers first, then, for a webhook, a
/// body that never ends) and reads until the server closes; returns once it is closed.
async fn slow_client(addr: std::net::SocketAddr, with_body: bool) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (mut rd, mut wr) = stream.into_split();
    let head = if with_body {
        format!(
            "POST /webhook HTTP/1.1\r\nhost: x\r\n{SECRET_HEADER}: {SECRET}\r\n\
             content-type: application/json\r\ncontent-length: 100000\r\n\r\n{{\"a\":\""
        )
    } else {
        "GET /healthz HTTP/1.1\r\nhost: x\r\nx-slow: ".to_string()
    };
    let writer = tokio::spawn(async move {
        let mut bytes = head.into_bytes().into_iter().chain(std::iter::repeat(b'a'));
        // Headers are sent whole when a body trickles (that is the slow part).
        if with_body {
            let head: Vec<u8> = bytes.by_ref().take_while(|b| *b != b'"').collect();
            if wr.write_all(&head).await.is_err() {
                return;
            }
        }
        for b in bytes {
            if wr.write_all(&[b]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let mut buf = [0u8; 1024];
    loop {
        match rd.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            // A 408 or the like before the close is fine: the point is the close.
            Ok(_) => {}
        }
    }
    writer.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_cannot_hold_the_listener_and_healthz_stays_reachable() {
    let state = HttpState {
        health: Arc::new(Health::new(Duration::from_secs(1))),
        poke: Arc::new(Notify::new()),
        webhook_secret: Some(SecretString::from(SECRET)),
        metrics: perfectbot::metrics::install().expect("recorder"),
    };
    state.health.poll_succeeded();
    let cancel = CancellationToken::new();
    let limits = http::Limits {
        max_connections: 8,
        request_timeout: Duration::from_secs(1),
    };
    let server = Arc::new(
        http::serve_with_limits(
            "127.0.0.1:0".parse().unwrap(),
            state,
            cancel.clone(),
            limits,
        )
        .await
        .expect("listener"),
    );
    let addr = server.addr;
    // 20 slow clients, half trickling headers, half a webhook body: every one is cut off.
    let clients: Vec<_> = (0..20)
        .map(|i| tokio::spawn(slow_client(addr, i % 2 == 1)))
        .collect();
    // Never more than the cap open at once, while they come and go.
    let watch = {
        let server = server.clone();
        tokio::spawn(async move {
            let mut most = 0;
            for _ in 0..100 {
                most = most.max(server.open_connections());
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            most
        })
    };
    // /healthz answers while they hold the slots (it waits at most for one to time out).
    let base = format!("http://{addr}");
    let health = tokio::time::timeout(Duration::from_secs(30), get(&format!("{base}/healthz")))
        .await
        .expect("/healthz reachable while slow clients hold the listener");
    assert_eq!(health, (200, "ok\n".to_string()));
    for c in clients {
        tokio::time::timeout(Duration::from_secs(60), c)
            .await
            .expect("a slow client was never cut off")
            .expect("client task");
    }
    let most = watch.await.expect("watch");
    assert!(most <= 8, "{most} connections open at once");
    assert!(most >= 1, "the watcher saw the slow clients");
    cancel.cancel();
}
