//! Answering well: the `openai` responder end to end against a loopback fake endpoint, and
//! `perfectbot preview` as a binary.

use crate::common::*;
use assert_cmd::Command;
use perfectbot::config::{OpenAiConfig, ResponderKind};
use perfectbot::ledger::TicketState;
use serde_json::{Value, json};
use std::time::Duration;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const AGENT_CHECK: &str = "PerfectBot: Agent Check Recommended";
const FAKE_KEY: &str = "sk-fake-openai-key";

/// A fake OpenAI-compatible endpoint whose model always says `content`.
async fn fake_model(content: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(header(
            "authorization",
            format!("Bearer {FAKE_KEY}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "chat.completion",
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop"
            }]
        })))
        .mount(&server)
        .await;
    server
}

fn use_openai(cfg: &mut perfectbot::config::Config, server: &MockServer) {
    cfg.responder.kind = ResponderKind::OpenAi;
    let mut openai = OpenAiConfig::new(server.uri(), "fake-model");
    openai.api_key = Some(FAKE_KEY.into());
    openai.timeout = Duration::from_secs(5);
    cfg.openai = Some(openai);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_responder_posts_the_models_grounded_answer() {
    let answer = "Your parcel is on its way: follow it with the tracking link in your email.";
    let content = json!({
        "decision": "answer",
        "text": answer,
        "sources": ["shop.toml#4"],
        "reason": null
    })
    .to_string();
    let model = fake_model(&content).await;
    let uri = model.uri();
    let app = spawn_app(|cfg, _| use_openai(cfg, &model)).await;
    assert_eq!(app.daemon.responder().name(), "openai");
    let id = app.chat(Some("ann@example.org"), "How can I track my order?");
    app.wait_state(id, TicketState::Answered).await;
    assert_eq!(app.bot_replies(id), vec![answer.to_owned()]);
    let requests = model.received_requests().await.unwrap();
    assert!(!requests.is_empty(), "the fake at {uri} was asked");
    let body: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert!(
        body["messages"][0]["content"]
            .as_str()
            .unwrap()
            .contains("[shop.toml#4]")
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_garbage_hands_over_with_agent_check() {
    let model = fake_model("Sure! I'd love to help with that :)").await;
    let app = spawn_app(|cfg, _| use_openai(cfg, &model)).await;
    let id = app.chat(Some("bob@example.org"), "How can I track my order?");
    let row = app.wait_state(id, TicketState::Escalated).await;
    assert_eq!(row.reason.as_deref(), Some("error"));
    let t = app.ticket(id);
    assert!(tag_names(&t).contains(&AGENT_CHECK.to_string()), "{t:#?}");
    assert_eq!(t.status, "open", "never closed");
    let replies = app.bot_replies(id);
    assert_eq!(replies.len(), 1, "only the handover message: {replies:?}");
    assert!(
        !replies[0].contains("love to help"),
        "the garbage is never posted"
    );
    app.stop().await;
}

/// A config file for the binary: the example knowledge base, a Gorgias that must never be
/// contacted (port 9, discard).
fn preview_config(dir: &std::path::Path) -> std::path::PathBuf {
    let kb = dir.join("kb");
    std::fs::create_dir_all(&kb).unwrap();
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/kb");
    for f in ["shop.toml", "faq.md"] {
        std::fs::copy(data.join(f), kb.join(f)).unwrap();
    }
    std::fs::write(dir.join("key"), "not-a-real-key").unwrap();
    let p = dir.join("config.toml");
    std::fs::write(
        &p,
        "[gorgias]\nbase_url = \"http://127.0.0.1:9\"\nemail = \"bot@example.org\"\n\
         api_key_file = \"key\"\n\n[ledger]\npath = \"ledger.db\"\n\n[kb]\ndir = \"kb\"\n",
    )
    .unwrap();
    p
}

#[test]
fn preview_json_gives_one_decision_per_piped_line() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = preview_config(dir.path());
    let input = "How can I track my order?\n\
                 \n\
                 I want to talk to a human\n\
                 \x20\x20\n\
                 this is useless!!!\n\
                 Who won the football match last night?\n";
    let out = Command::cargo_bin("perfectbot")
        .unwrap()
        .args(["preview", "--json", "--config"])
        .arg(&cfg)
        .env_remove("PERFECTBOT_GORGIAS_API_KEY")
        .env_remove("CREDENTIALS_DIRECTORY")
        .write_stdin(input)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect();
    let got: Vec<(String, Value)> = lines
        .iter()
        .map(|v| {
            (
                v["decision"].as_str().unwrap().to_owned(),
                v["reason"].clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("answer".to_owned(), Value::Null),
            ("handover".to_owned(), json!("requested")),
            ("handover".to_owned(), json!("frustrated")),
            ("no_knowledge".to_owned(), json!("no_knowledge")),
        ],
        "{stdout}"
    );
    assert_eq!(lines[0]["sources"], json!(["shop.toml#4"]));
    assert!(lines[0]["score"].is_number());
    assert!(lines[0]["text"].as_str().unwrap().contains("tracking link"));
    for v in &lines[1..] {
        assert!(!v["text"].as_str().unwrap().is_empty(), "{v}");
        assert_eq!(v["sources"], json!([]));
    }
    assert!(
        !dir.path().join("ledger.db").exists(),
        "preview opens no ledger"
    );
}

#[test]
fn preview_without_json_prints_one_readable_line_per_message() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = preview_config(dir.path());
    let out = Command::cargo_bin("perfectbot")
        .unwrap()
        .args(["preview", "--config"])
        .arg(&cfg)
        .env_remove("PERFECTBOT_GORGIAS_API_KEY")
        .env_remove("CREDENTIALS_DIRECTORY")
        .write_stdin("I want to talk to a human\nHow can I track my order?\n")
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(lines[0].starts_with("handover (requested): "), "{stdout}");
    assert!(
        lines[1].starts_with("answer [shop.toml#4, score "),
        "{stdout}"
    );
}
