//! The customer chat page in a real browser: headless Chromium driven over WebDriver
//! (chromedriver on 127.0.0.1) through `perfectbot try`'s simulator and daemon: a question
//! answered, then "I want a human": the bot asks for the email, hands over, and the agent's
//! buttons take the ticket over and give it back.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them). When they are
//! missing the test fails under CI (`CI` set) and, elsewhere, says how to install them.

use perfectbot::tryit::{self, TryOptions};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn find_tool(env: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env) {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path).chain([PathBuf::from("/usr/bin")]) {
        for name in names {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct WebDriver {
    http: reqwest::Client,
    base: String,
    session: String,
}

impl WebDriver {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut req = self.http.request(method, &url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap_or_else(|e| panic!("{url}: {e}"));
        let status = r.status();
        let v: Value = r.json().await.unwrap();
        assert!(status.is_success(), "{url}: {status} {v}");
        v["value"].clone()
    }

    async fn element(&self, css: &str) -> String {
        let v = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        v[ELEMENT].as_str().unwrap().to_string()
    }

    async fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    async fn click(&self, css: &str) {
        let id = self.element(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            Some(json!({})),
        )
        .await;
    }

    async fn script(&self, js: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": js, "args": []})),
        )
        .await
    }

    /// Wait (deadline 60 s) until `js` returns true; on timeout fail with the page's state.
    async fn wait_for(&self, what: &str, js: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if self.script(js).await == json!(true) {
                return;
            }
            if Instant::now() > deadline {
                let page = self.script(PAGE_STATE).await;
                panic!("timed out waiting for {what}; page: {page:#}");
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// What the page shows, for assertions and failure messages.
const PAGE_STATE: &str = "return {
  status: document.getElementById('status').textContent,
  assignee: document.getElementById('assignee').textContent,
  tags: Array.from(document.querySelectorAll('#tags .tag')).map(e => e.textContent),
  messages: Array.from(document.querySelectorAll('#messages .msg'))
    .map(e => [e.className.replace('msg from-', ''), e.lastChild.textContent]),
  error: document.getElementById('error').textContent,
};";

async fn start_chromedriver(
    driver: &Path,
    chromium: &Path,
    profile: &Path,
) -> (KillOnDrop, WebDriver) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", driver.display()));
    let child = KillOnDrop(child);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = http.get(format!("{base}/status")).send().await
            && r.status().is_success()
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "chromedriver did not start on {base}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let caps = json!({"capabilities": {"alwaysMatch": {
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium,
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                     "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync",
                     "--disable-dev-shm-usage",
                     format!("--user-data-dir={}", profile.display())],
        },
    }}});
    let r = http
        .post(format!("{base}/session"))
        .json(&caps)
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    let session = v["value"]["sessionId"]
        .as_str()
        .unwrap_or_else(|| panic!("no WebDriver session: {v}"))
        .to_string();
    (
        child,
        WebDriver {
            http,
            base,
            session,
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_page_in_chromium_answers_then_hands_over_and_the_agent_takes_over() {
    let chromium = find_tool("PERFECTBOT_CHROMIUM", &["chromium", "chromium-browser"]);
    let driver = find_tool("PERFECTBOT_CHROMEDRIVER", &["chromedriver"]);
    let (Some(chromium), Some(driver)) = (chromium, driver) else {
        let msg = "the chat page test needs headless Chromium and chromedriver: \
                   `apt-get install -y chromium chromium-driver` (Debian), or set \
                   PERFECTBOT_CHROMIUM and PERFECTBOT_CHROMEDRIVER";
        if std::env::var_os("CI").is_some() {
            panic!("{msg}");
        }
        eprintln!("NOT RUN: {msg}");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let trying = tryit::start(TryOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        // Long enough that no close interferes with the conversation.
        close_after: Duration::from_secs(600),
        dir: dir.path().join("try"),
    })
    .await
    .unwrap();
    let (_driver, wd) = start_chromedriver(&driver, &chromium, &dir.path().join("profile")).await;

    wd.call(
        reqwest::Method::POST,
        "/url",
        Some(json!({ "url": trying.chat_url })),
    )
    .await;
    // Start a conversation in English without an email: the bot will have to ask for it.
    wd.script("document.getElementById('language').value = 'en'; return true;")
        .await;
    wd.type_into("#first", "How long does shipping take?").await;
    wd.click("#start-button").await;
    wd.wait_for(
        "the bot's answer",
        "return Array.from(document.querySelectorAll('.from-bot'))
           .some(e => e.textContent.includes('Innsbruck'));",
    )
    .await;
    // Handled is not a request of its own: it rides on the handover's tag write below.
    wd.wait_for(
        "the bot as assignee",
        "return document.getElementById('assignee').textContent.includes('(bot)')
           && document.getElementById('status').textContent === 'open';",
    )
    .await;

    wd.type_into("#text", "I want a human").await;
    wd.click("#send").await;
    wd.wait_for(
        "the bot asking for an email",
        "return document.querySelectorAll('.from-bot').length === 2;",
    )
    .await;
    wd.type_into("#text", "sure, it is ana.lopez@example.org")
        .await;
    wd.click("#send").await;
    wd.wait_for(
        "the handover: Agent Required and Handled, nobody assigned",
        "return document.getElementById('tags').textContent.includes('PerfectBot: Agent Required')
           && document.getElementById('tags').textContent.includes('PerfectBot: Handled')
           && document.getElementById('assignee').textContent === 'nobody';",
    )
    .await;

    // The simulator agrees with the page, and the email reached the customer.
    let ids = trying.sim.ticket_ids();
    assert_eq!(ids.len(), 1);
    let t = trying.sim.ticket_json(ids[0]).unwrap();
    assert!(t["assignee_user"].is_null(), "{t:#}");
    assert_eq!(t["customer"]["email"], "ana.lopez@example.org");
    let notes = t["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["public"] == false)
        .count();
    assert!(notes >= 1, "the handover leaves an internal note: {t:#}");

    wd.click("#takeover").await;
    wd.wait_for(
        "the agent's takeover",
        "return document.getElementById('assignee').textContent.includes('Alice Martin (agent)');",
    )
    .await;
    wd.click("#handback").await;
    wd.wait_for(
        "the hand-back to the bot",
        "return document.getElementById('assignee').textContent.includes('(bot)')
           && !document.getElementById('tags').textContent.includes('Agent Required');",
    )
    .await;
    let page = wd.script(PAGE_STATE).await;
    assert_eq!(page["error"], "", "{page:#}");
    assert_eq!(page["messages"][0][0], "customer", "{page:#}");

    let _ = wd
        .http
        .delete(format!("{}/session/{}", wd.base, wd.session))
        .send()
        .await;
    trying.stop().await.unwrap();
}
