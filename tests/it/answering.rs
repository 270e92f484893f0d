//! Answering well: the `openai` responder end to end against a loopback fake endpoint.

use crate::common::*;
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
    assert_eq!(row.reason.map(|r| r.as_str()), Some("error"));
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
