//! The `openai` responder in the running daemon: calls that run concurrently (a hanging one
//! holds no other ticket), replies that reach Gorgias as text, `preview` with this responder,
//! and (opt-in, `#[ignore]`) the whole protocol against a real llama.cpp server.

use crate::common::*;
use assert_cmd::Command;
use perfectbot::config::{OpenAiConfig, ResponderKind};
use perfectbot::ledger::TicketState;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn completion(content: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "object": "chat.completion",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content},
            "finish_reason": "stop"
        }]
    }))
}

fn answer(text: &str, source: &str) -> String {
    json!({"decision": "answer", "text": text, "sources": [source], "reason": "none"}).to_string()
}

fn use_openai(cfg: &mut perfectbot::config::Config, base_url: &str) {
    cfg.responder.kind = ResponderKind::OpenAi;
    let mut openai = OpenAiConfig::new(base_url, "fake-model");
    openai.timeout = Duration::from_secs(60);
    cfg.openai = Some(openai);
}

const TRACK: &str = "You can follow your parcel with the tracking link we email you.";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_model_call_holds_no_other_tickets_answer_handover_or_close() {
    let model = MockServer::start().await;
    // The question naming Zebraland hangs (far past any test); every other one is answered.
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(body_string_contains("Zebraland"))
        .respond_with(
            completion(&answer(TRACK, "shop.toml#4")).set_delay(Duration::from_secs(3600)),
        )
        .mount(&model)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(completion(&answer(TRACK, "shop.toml#4")))
        .mount(&model)
        .await;
    let uri = model.uri();
    let app = spawn_app(|cfg, _| {
        use_openai(cfg, &uri);
        // Long enough that the hanging call is still hanging at the end of the test: the
        // responder's own timeout is min(answer_deadline, 30 s).
        cfg.timing.answer_deadline = Duration::from_secs(120);
    })
    .await;

    // Answered before anything hangs: its idle close falls due while the other call hangs.
    let closing = app.chat(Some("d@example.org"), "How can I track my order?");
    app.wait_state(closing, TicketState::Answered).await;

    let hanging = app.chat(
        Some("a@example.org"),
        "How much does shipping cost to Zebraland?",
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let asked = model
            .received_requests()
            .await
            .unwrap()
            .iter()
            .any(|r| String::from_utf8_lossy(&r.body).contains("Zebraland"));
        if asked {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the hanging question never reached the model"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // With the call to the model hanging, other tickets go on.
    let answered = app.chat(
        Some("b@example.org"),
        "Where is my parcel? I'd like to track it",
    );
    let handed = app.chat(Some("c@example.org"), "I want to talk to a human please");
    assert_eq!(
        app.wait_state(answered, TicketState::Answered).await.state,
        TicketState::Answered
    );
    assert_eq!(app.bot_replies(answered), vec![TRACK.to_owned()]);
    let row = app.wait_state(handed, TicketState::Escalated).await;
    assert_eq!(row.reason.as_deref(), Some("requested"));
    app.wait_state(closing, TicketState::Closed).await;

    // ... and all of that happened while the first call was still out: nothing was decided
    // on the hanging ticket.
    assert!(app.bot_replies(hanging).is_empty());
    let row = app.row(hanging).await;
    assert!(
        row.as_ref().is_none_or(|r| r.state == TicketState::Active),
        "{row:?}"
    );
    let hung = model
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| String::from_utf8_lossy(&r.body).contains("Zebraland"))
        .count();
    assert_eq!(hung, 1, "one call for the hanging ticket, not one per poll");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_answer_reaches_gorgias_as_escaped_text() {
    let text = "Open <b>My account</b> > Orders: <script>alert(1)</script> & follow the link.";
    let model = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(completion(&answer(text, "shop.toml#4")))
        .mount(&model)
        .await;
    let uri = model.uri();
    let app = spawn_app(|cfg, _| use_openai(cfg, &uri)).await;
    let id = app.chat(Some("e@example.org"), "How can I track my order?");
    app.wait_state(id, TicketState::Answered).await;
    let t = app.ticket(id);
    let bot = app.bot();
    let reply = t
        .messages
        .iter()
        .find(|m| m.public == Some(true) && m.sender.as_ref().is_some_and(|s| s.id == bot))
        .expect("the bot's reply");
    assert_eq!(reply.body_text.as_deref(), Some(text));
    let html = reply.body_html.as_deref().unwrap();
    assert!(
        !html.contains("<script>") && !html.contains("<b>"),
        "{html}"
    );
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert!(html.contains("&amp; follow"), "{html}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preview_decides_with_the_openai_responder() {
    let model = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_string_contains("order, please"))
        .respond_with(completion(&answer(TRACK, "shop.toml#4")))
        .mount(&model)
        .await;
    Mock::given(method("POST"))
        .and(body_string_contains("Wombat"))
        .respond_with(completion(&answer(
            "Verify your address at http://phish.example/verify first.",
            "shop.toml#1",
        )))
        .mount(&model)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let kb = dir.path().join("kb");
    std::fs::create_dir_all(&kb).unwrap();
    std::fs::write(kb.join("shop.toml"), KB).unwrap();
    std::fs::write(dir.path().join("key"), "not-a-real-key").unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[gorgias]\nbase_url = \"http://127.0.0.1:9\"\nemail = \"bot@example.org\"\n\
             api_key_file = \"key\"\n\n[ledger]\npath = \"ledger.db\"\n\n[kb]\ndir = \"kb\"\n\n\
             [responder]\nkind = \"openai\"\n\n[openai]\nbase_url = \"{}\"\nmodel = \"m\"\n",
            model.uri()
        ),
    )
    .unwrap();
    // The whole knowledge base goes with each call: the fake tells the questions apart by
    // words only the customer used.
    let input = "How can I track my order, please?\nI want to talk to a human\n\
                 How long is delivery to Wombat Street?\n";
    let out = tokio::task::spawn_blocking(move || {
        Command::cargo_bin("perfectbot")
            .unwrap()
            .args(["preview", "--json", "--config"])
            .arg(&cfg)
            .env_remove("PERFECTBOT_GORGIAS_API_KEY")
            .env_remove("PERFECTBOT_OPENAI_API_KEY")
            .env_remove("CREDENTIALS_DIRECTORY")
            .write_stdin(input)
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect();
    let got: Vec<(&str, &Value)> = lines
        .iter()
        .map(|v| (v["decision"].as_str().unwrap(), &v["reason"]))
        .collect();
    assert_eq!(
        got,
        vec![
            ("answer", &Value::Null),
            ("handover", &json!("requested")),
            ("no_knowledge", &json!("no_knowledge")),
        ],
        "{stdout}"
    );
    assert_eq!(lines[0]["text"], TRACK);
    // The handover never reached the model; the other two did.
    assert_eq!(model.received_requests().await.unwrap().len(), 2);
}
