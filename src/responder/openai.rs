//! The `openai` responder: any OpenAI-compatible chat-completions endpoint (OpenAI, Azure's v1
//! API, vLLM, Ollama, llama.cpp), grounded on the knowledge base.
//!
//! For each turn it searches the [`Kb`] (top 5 entries fitting the customer's language), puts
//! those entries in the system prompt, and asks the model for one JSON decision:
//! `{"decision": "answer"|"no_knowledge"|"handover", "text": "...", "sources": ["shop.toml#3"],
//! "reason": "requested"|"frustrated"|null}`. The decision is validated before it becomes an
//! [`Outcome`]:
//! - `answer` needs a non-empty `text`; `sources` are kept only when they are ids of the entries
//!   given. An answer citing none of the given entries is treated as `NoKnowledge`: an ungrounded
//!   answer is exactly what this responder exists to prevent. Its score is the best knowledge
//!   score among the cited entries.
//! - `handover` takes its reason from [`HandoverReason::parse`]; only `requested`, `frustrated`
//!   and `no_knowledge` are the model's to give. Anything else (missing, unknown, `error`,
//!   `rule`) becomes `Requested`: the model judged that a person should take over, and the
//!   customer's words are the likeliest cause.
//! - When the knowledge base has nothing at all for the text, the model is not called: the
//!   outcome is `NoKnowledge` (it could only have answered ungrounded).
//!
//! Failures: a timeout, an unreachable backend, a 408/429/5xx are transient
//! [`ResponderError`]s (the engine retries until `answer_deadline`, then hands over with reason
//! `error`); 401/403/404 are `Config` errors; a response that is not a chat completion is
//! `InvalidResponse`. A completion whose content is not a valid decision (garbage, truncated,
//! refused, unknown decision, empty answer) is `Outcome::Handover(HandoverReason::Error)` at
//! once: never silence. The API key is only ever in a sensitive header; it is never logged.
//!
//! This module must not post anything or decide what a handover does: that is the engine's job.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use secrecy::ExposeSecret as _;
use serde::Deserialize;
use serde_json::{Value, json};

use super::kb::{Kb, KbEntry};
use super::{AnswerFuture, HandoverReason, Outcome, Responder, ResponderError, Speaker, Turn};
use crate::config::OpenAiConfig;

/// How many knowledge entries ground each answer.
pub const GROUNDING_ENTRIES: usize = 5;

/// The longest connect timeout used, whatever `openai.timeout` says.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

const NAME: &str = "openai";

/// The `openai` responder. Cheap to share behind an `Arc`; the HTTP client pools connections.
pub struct OpenAiResponder {
    http: reqwest::Client,
    endpoint: String,
    model: String,
    timeout: Duration,
    kb: Arc<RwLock<Kb>>,
}

impl std::fmt::Debug for OpenAiResponder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // No key here: it lives only inside the client's default headers.
        f.debug_struct("OpenAiResponder")
            .field("endpoint", &self.endpoint)
            .field("model", &self.model)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// `POST` target for a configured base URL: `{base}/v1/chat/completions`, whether or not the
/// base already ends in `/v1` (both spellings are common in vendors' docs).
pub fn chat_completions_url(base_url: &str) -> String {
    let base = base_url.trim().trim_end_matches('/');
    if base.ends_with("/v1") {
        format!("{base}/chat/completions")
    } else {
        format!("{base}/v1/chat/completions")
    }
}

impl OpenAiResponder {
    /// A responder for `[openai]`, grounded on `kb`. Fails (as `Config`) when the key cannot
    /// go in an HTTP header or the HTTP client cannot be built.
    pub fn new(cfg: &OpenAiConfig, kb: Kb) -> Result<Self, ResponderError> {
        let config_error = |detail: String| ResponderError::Config {
            responder: NAME.to_owned(),
            detail,
        };
        let mut headers = HeaderMap::new();
        if let Some(key) = &cfg.api_key {
            let mut value = HeaderValue::from_str(&format!("Bearer {}", key.expose_secret()))
                .map_err(|_| {
                    config_error(
                        "openai.api_key contains characters not allowed in an HTTP header"
                            .to_owned(),
                    )
                })?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        let timeout = if cfg.timeout.is_zero() {
            Duration::from_secs(20)
        } else {
            cfg.timeout
        };
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(timeout)
            .connect_timeout(timeout.min(MAX_CONNECT_TIMEOUT))
            .user_agent(concat!("perfectbot/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| config_error(format!("building the HTTP client: {e}")))?;
        Ok(Self {
            http,
            endpoint: chat_completions_url(&cfg.base_url),
            model: cfg.model.clone(),
            timeout,
            kb: Arc::new(RwLock::new(kb)),
        })
    }

    /// The URL requests go to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Swaps in a new knowledge base (reload, learned entries).
    pub fn replace(&self, kb: Kb) {
        let mut guard = self.kb.write().unwrap_or_else(|p| p.into_inner());
        *guard = kb;
    }

    /// The shared knowledge base the answers are grounded on.
    pub fn kb(&self) -> Arc<RwLock<Kb>> {
        Arc::clone(&self.kb)
    }

    /// The entries that ground a turn: the best [`GROUNDING_ENTRIES`] for its text, without
    /// entries in another language than the customer's (entries without one fit everyone).
    /// The search is SQLite (on the ledger file, for the daemon): off the runtime's workers.
    async fn grounding(&self, turn: &Turn) -> Result<Vec<(KbEntry, f64)>, ResponderError> {
        let kb = Arc::clone(&self.kb);
        let (text, language) = (turn.text(), turn.language.clone());
        let for_template = turn.clone();
        tokio::task::spawn_blocking(move || {
            let kb = kb.read().unwrap_or_else(|p| p.into_inner());
            kb.search(&text, GROUNDING_ENTRIES)
                .into_iter()
                .filter(
                    |(entry, _)| match (language.as_deref(), entry.language.as_deref()) {
                        (Some(want), Some(have)) => want.eq_ignore_ascii_case(have),
                        _ => true,
                    },
                )
                // A macro's variables rendered for this ticket; one that cannot be is left out
                // of the grounding (the model must not see, or copy, a `{{...}}`).
                .filter_map(|(mut entry, score)| {
                    entry.answer = super::template::render(&entry.answer, &for_template).ok()?;
                    Some((entry, score))
                })
                .collect()
        })
        .await
        .map_err(|e| ResponderError::Internal {
            responder: "openai".to_owned(),
            detail: format!("the knowledge base search panicked: {e}"),
        })
    }

    async fn decide(&self, turn: &Turn) -> Result<Outcome, ResponderError> {
        let entries = self.grounding(turn).await?;
        if entries.is_empty() {
            return Ok(Outcome::NoKnowledge { best_score: None });
        }
        let body = request_body(&self.model, turn, &entries);
        let content = self.complete(&body).await?;
        let outcome = match content {
            Ok(content) => validate(&content, &entries),
            Err(why) => Err(why),
        };
        Ok(match outcome {
            Ok(outcome) => {
                tracing::debug!(
                    responder = NAME,
                    decision = <&'static str>::from(&outcome),
                    "model decided"
                );
                outcome
            }
            Err(why) => {
                tracing::warn!(responder = NAME, model = %self.model, reason = "error", "unusable model decision, handing over: {why}");
                Outcome::Handover(HandoverReason::Error)
            }
        })
    }

    /// One chat-completions call. The outer `Result` is the transport and the envelope; the
    /// inner one is the model's message content (Err: refused or missing, with why).
    async fn complete(&self, body: &Value) -> Result<Result<String, String>, ResponderError> {
        let transport = |e: reqwest::Error| self.transport_error(e);
        let response = self
            .http
            .post(&self.endpoint)
            .json(body)
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(transport)?;
        if !status.is_success() {
            return Err(self.status_error(status.as_u16(), &bytes));
        }
        let completion: Completion =
            serde_json::from_slice(&bytes).map_err(|e| ResponderError::InvalidResponse {
                responder: NAME.to_owned(),
                detail: format!(
                    "POST {}: not a chat completion ({e}): {}",
                    self.endpoint,
                    snippet(&bytes)
                ),
            })?;
        let Some(choice) = completion.choices.into_iter().next() else {
            return Err(ResponderError::InvalidResponse {
                responder: NAME.to_owned(),
                detail: format!("POST {}: the completion has no choices", self.endpoint),
            });
        };
        let finish = choice.finish_reason.unwrap_or_default();
        Ok(match (choice.message.content, choice.message.refusal) {
            (Some(content), _) if !content.trim().is_empty() => {
                if finish == "length" {
                    Err("the reply was cut off (finish_reason length)".to_owned())
                } else {
                    Ok(content)
                }
            }
            (_, Some(refusal)) => Err(format!("the model refused: {refusal}")),
            _ => Err(format!(
                "the reply has no content (finish_reason {finish:?})"
            )),
        })
    }

    fn transport_error(&self, e: reqwest::Error) -> ResponderError {
        if e.is_timeout() {
            return ResponderError::Timeout {
                responder: NAME.to_owned(),
                after: self.timeout,
            };
        }
        // reqwest's own message is terse ("error sending request"); the cause is in the chain.
        let e = e.without_url();
        let mut detail = format!("POST {}: {e}", self.endpoint);
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            detail.push_str(": ");
            detail.push_str(&s.to_string());
            source = s.source();
        }
        ResponderError::Unavailable {
            responder: NAME.to_owned(),
            detail,
        }
    }

    fn status_error(&self, status: u16, body: &[u8]) -> ResponderError {
        let responder = NAME.to_owned();
        let what = format!("POST {} answered HTTP {status}", self.endpoint);
        match status {
            // The body of a refused key may echo part of it: leave it out.
            401 | 403 => ResponderError::Config {
                responder,
                detail: format!("{what}: the endpoint refused the API key (openai.api_key)"),
            },
            404 => ResponderError::Config {
                responder,
                detail: format!(
                    "{what}: check openai.base_url and that model {:?} exists: {}",
                    self.model,
                    snippet(body)
                ),
            },
            408 | 429 | 500..=599 => ResponderError::Unavailable {
                responder,
                detail: format!("{what}: {}", snippet(body)),
            },
            _ => ResponderError::InvalidResponse {
                responder,
                detail: format!("{what}: {}", snippet(body)),
            },
        }
    }
}

impl Responder for OpenAiResponder {
    fn name(&self) -> &str {
        NAME
    }

    fn replace_kb(&self, kb: Kb) -> bool {
        self.replace(kb);
        true
    }

    fn answer<'a>(&'a self, turn: &'a Turn) -> AnswerFuture<'a> {
        Box::pin(self.decide(turn))
    }
}

/// At most 300 characters of a response body, for error messages.
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(300) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_owned(),
    }
}

/// The instructions: role, the exact schema, the rules, then the entries.
fn system_prompt(turn: &Turn, entries: &[(KbEntry, f64)]) -> String {
    let mut p = String::from(
        "You are the customer-support assistant of an online shop, answering a customer in a \
         live chat. You may answer ONLY with facts from the knowledge entries below.\n\n\
         Reply with exactly one JSON object and nothing else, with this schema:\n\
         {\"decision\": \"answer\" | \"no_knowledge\" | \"handover\", \"text\": string, \
         \"sources\": [string], \"reason\": \"requested\" | \"frustrated\" | null}\n\n\
         - \"answer\": the entries answer the customer's latest message. \"text\" is your reply \
         to the customer (short, friendly, in the customer's language), using only facts from \
         the entries; \"sources\" lists the ids of the entries you used (at least one, e.g. \
         [\"shop.toml#3\"]); \"reason\" is null.\n\
         - \"no_knowledge\": the entries do not answer it, or only in part. \"text\" is \"\", \
         \"sources\" is [], \"reason\" is null.\n\
         - \"handover\": a person must take over. \"reason\" is \"requested\" when the customer \
         asks for a person, \"frustrated\" when the customer is angry or upset. \"text\" is \"\", \
         \"sources\" is [].\n\n\
         Never invent facts, prices, dates, links or policies that are not in the entries. Never \
         promise an action (refund, cancellation, change) the entries do not describe.\n",
    );
    if let Some(language) = &turn.language {
        p.push_str(&format!("The customer's language: {language}.\n"));
    }
    if let Some(name) = turn
        .customer_name
        .as_deref()
        .filter(|n| !n.trim().is_empty())
    {
        p.push_str(&format!("The customer's name: {name}.\n"));
    }
    p.push_str("\nKnowledge entries:\n");
    for (entry, _) in entries {
        p.push_str(&format!(
            "\n[{}]\nQuestion: {}\nAnswer: {}\n",
            entry.id, entry.question, entry.answer
        ));
    }
    p
}

/// The chat-completions request body. No `temperature`: reasoning models reject any value
/// other than their default, and the schema plus the validation keep replies in line.
fn request_body(model: &str, turn: &Turn, entries: &[(KbEntry, f64)]) -> Value {
    let mut messages = vec![json!({"role": "system", "content": system_prompt(turn, entries)})];
    for (who, text) in &turn.history {
        let (role, content) = match who {
            Speaker::Customer => ("user", text.clone()),
            Speaker::Bot => ("assistant", text.clone()),
            // A person's reply is context the model did not write; say who wrote it.
            Speaker::Agent => ("assistant", format!("(a human agent wrote:) {text}")),
        };
        messages.push(json!({"role": role, "content": content}));
    }
    messages.push(json!({"role": "user", "content": turn.text()}));
    json!({
        "model": model,
        "messages": messages,
        "response_format": {"type": "json_object"},
    })
}

#[derive(Deserialize)]
struct Completion {
    #[serde(default)]
    choices: Vec<Choice>,
}

#[derive(Deserialize)]
struct Choice {
    message: ChoiceMessage,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct ChoiceMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
}

#[derive(Deserialize)]
struct RawDecision {
    decision: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    sources: Option<Vec<String>>,
    #[serde(default)]
    reason: Option<String>,
}

/// Turns the model's content into an outcome, or says why it is unusable (see the module doc
/// for the rules). Tolerates a Markdown code fence around the JSON: local models add one even
/// in JSON mode.
fn validate(content: &str, entries: &[(KbEntry, f64)]) -> Result<Outcome, String> {
    let json = strip_fence(content);
    let raw: RawDecision = serde_json::from_str(json).map_err(|e| {
        format!(
            "the reply is not the decision JSON ({e}): {}",
            snippet(json.as_bytes())
        )
    })?;
    let best_score = entries.first().map(|(_, s)| *s);
    match raw.decision.trim().to_ascii_lowercase().as_str() {
        "answer" => {
            let text = raw.text.as_deref().map(str::trim).unwrap_or_default();
            if text.is_empty() {
                return Err("decision \"answer\" with an empty text".to_owned());
            }
            let mut seen = HashSet::new();
            let cited: Vec<(String, f64)> = raw
                .sources
                .unwrap_or_default()
                .iter()
                .filter_map(|id| entries.iter().find(|(e, _)| e.id == id.trim()))
                .filter(|(e, _)| seen.insert(e.id.clone()))
                .map(|(e, s)| (e.id.clone(), *s))
                .collect();
            if cited.is_empty() {
                return Ok(Outcome::NoKnowledge { best_score });
            }
            let score = cited.iter().map(|(_, s)| *s).fold(f64::MIN, f64::max);
            Ok(Outcome::Answer {
                text: text.to_owned(),
                sources: cited.into_iter().map(|(id, _)| id).collect(),
                score,
            })
        }
        "no_knowledge" => Ok(Outcome::NoKnowledge { best_score }),
        "handover" => {
            let reason = raw
                .reason
                .as_deref()
                .and_then(|r| HandoverReason::parse(r.trim()));
            Ok(Outcome::Handover(match reason {
                Some(
                    r @ (HandoverReason::Requested
                    | HandoverReason::Frustrated
                    | HandoverReason::NoKnowledge),
                ) => r,
                _ => HandoverReason::Requested,
            }))
        }
        other => Err(format!("unknown decision {other:?}")),
    }
}

fn strip_fence(content: &str) -> &str {
    let t = content.trim();
    let Some(rest) = t.strip_prefix("```") else {
        return t;
    };
    let rest = rest.strip_prefix("json").unwrap_or(rest);
    rest.strip_suffix("```").unwrap_or(rest).trim()
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const KEY: &str = "sk-test-never-print-me";

    fn shop_kb() -> Kb {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/kb");
        Kb::load_dir(&dir).unwrap()
    }

    fn cfg(server: &MockServer, timeout: Duration) -> OpenAiConfig {
        OpenAiConfig {
            base_url: format!("{}/v1", server.uri()),
            model: "test-model".into(),
            api_key: Some(SecretString::from(KEY)),
            api_key_file: None,
            timeout,
        }
    }

    fn completion(content: &str) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_json(json!({
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": "test-model",
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop"
            }]
        }))
    }

    async fn fake(response: ResponseTemplate) -> MockServer {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .respond_with(response)
            .mount(&server)
            .await;
        server
    }

    async fn ask(
        response: ResponseTemplate,
        text: &str,
    ) -> (Result<Outcome, ResponderError>, MockServer) {
        let server = fake(response).await;
        let r = OpenAiResponder::new(&cfg(&server, Duration::from_secs(5)), shop_kb()).unwrap();
        let out = r.answer(&Turn::from_message(text)).await;
        (out, server)
    }

    const TRACKING: &str = "Where is my order? I want to track my parcel";

    #[test]
    fn endpoint_accepts_base_urls_with_or_without_v1() {
        for base in [
            "http://h:1",
            "http://h:1/",
            "http://h:1/v1",
            "http://h:1/v1/",
        ] {
            assert_eq!(chat_completions_url(base), "http://h:1/v1/chat/completions");
        }
        assert_eq!(
            chat_completions_url("https://x.openai.azure.com/openai/v1"),
            "https://x.openai.azure.com/openai/v1/chat/completions"
        );
    }

    #[tokio::test]
    async fn a_grounded_answer_is_posted_with_its_sources_and_score() {
        let content = json!({
            "decision": "answer",
            "text": "You can follow your parcel with the tracking link we emailed you.",
            "sources": ["shop.toml#4", "made-up.md#9", "shop.toml#4"],
            "reason": null
        })
        .to_string();
        let (out, _server) = ask(completion(&content), TRACKING).await;
        match out.unwrap() {
            Outcome::Answer {
                text,
                sources,
                score,
            } => {
                assert!(text.starts_with("You can follow your parcel"));
                assert_eq!(sources, vec!["shop.toml#4".to_owned()]);
                assert!(score > 0.0);
            }
            other => panic!("expected an answer, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn an_answer_citing_none_of_the_given_entries_is_no_knowledge() {
        let content =
            json!({"decision": "answer", "text": "Sure!", "sources": ["other.md#1"]}).to_string();
        let (out, _server) = ask(completion(&content), TRACKING).await;
        assert!(matches!(
            out.unwrap(),
            Outcome::NoKnowledge { best_score: Some(s) } if s > 0.0
        ));
    }

    #[tokio::test]
    async fn no_knowledge_is_reported_with_the_best_score() {
        let content = json!({"decision": "no_knowledge", "text": "", "sources": []}).to_string();
        let (out, _server) = ask(completion(&content), TRACKING).await;
        assert!(matches!(
            out.unwrap(),
            Outcome::NoKnowledge {
                best_score: Some(_)
            }
        ));
    }

    #[tokio::test]
    async fn handover_carries_the_models_reason() {
        let content =
            json!({"decision": "handover", "text": "", "sources": [], "reason": "frustrated"})
                .to_string();
        let (out, _server) = ask(completion(&content), TRACKING).await;
        assert_eq!(out.unwrap(), Outcome::Handover(HandoverReason::Frustrated));
    }

    #[test]
    fn handover_reasons_not_the_models_to_give_become_requested() {
        let entries = vec![];
        for reason in [
            json!("rule"),
            json!("error"),
            json!("sensitive"),
            json!(null),
        ] {
            let content = json!({"decision": "handover", "reason": reason}).to_string();
            assert_eq!(
                validate(&content, &entries),
                Ok(Outcome::Handover(HandoverReason::Requested)),
                "{reason}"
            );
        }
        let content = json!({"decision": "handover", "reason": "no_knowledge"}).to_string();
        assert_eq!(
            validate(&content, &entries),
            Ok(Outcome::Handover(HandoverReason::NoKnowledge))
        );
    }

    #[test]
    fn invalid_decisions_are_refused_with_a_reason() {
        let entries = vec![];
        for (content, why) in [
            ("not json at all", "not the decision JSON"),
            (r#"{"text": "hi"}"#, "not the decision JSON"),
            (r#"{"decision": "maybe"}"#, "unknown decision"),
            (
                r#"{"decision": "answer", "text": "  ", "sources": []}"#,
                "empty text",
            ),
        ] {
            let err = validate(content, &entries).unwrap_err();
            assert!(err.contains(why), "{content}: {err}");
        }
    }

    #[test]
    fn a_fenced_json_reply_is_accepted() {
        let content = "```json\n{\"decision\": \"no_knowledge\"}\n```";
        assert_eq!(
            validate(content, &[]),
            Ok(Outcome::NoKnowledge { best_score: None })
        );
    }

    #[tokio::test]
    async fn garbage_content_hands_over_with_reason_error() {
        let (out, _server) = ask(completion("I think the answer is 42."), TRACKING).await;
        assert_eq!(out.unwrap(), Outcome::Handover(HandoverReason::Error));
    }

    #[tokio::test]
    async fn a_refusal_hands_over_with_reason_error() {
        let refused = ResponseTemplate::new(200).set_body_json(json!({
            "choices": [{"message": {"role": "assistant", "content": null, "refusal": "no"},
                         "finish_reason": "stop"}]
        }));
        let (out, _server) = ask(refused, TRACKING).await;
        assert_eq!(out.unwrap(), Outcome::Handover(HandoverReason::Error));
    }

    #[tokio::test]
    async fn a_server_error_is_transient() {
        let (out, _server) =
            ask(ResponseTemplate::new(500).set_body_string("boom"), TRACKING).await;
        let err = out.unwrap_err();
        assert!(matches!(err, ResponderError::Unavailable { .. }), "{err}");
        assert!(err.is_transient());
        assert!(err.to_string().contains("HTTP 500"), "{err}");
    }

    #[tokio::test]
    async fn a_refused_key_is_a_config_error_that_does_not_echo_the_body() {
        let body = format!("Incorrect API key provided: {KEY}");
        let (out, _server) = ask(ResponseTemplate::new(401).set_body_string(body), TRACKING).await;
        let err = out.unwrap_err();
        assert!(matches!(err, ResponderError::Config { .. }), "{err}");
        assert!(!err.is_transient());
        assert!(!err.to_string().contains(KEY));
    }

    #[tokio::test]
    async fn a_body_that_is_not_a_completion_is_an_invalid_response() {
        let html = ResponseTemplate::new(200).set_body_string("<html>proxy login</html>");
        let (out, _server) = ask(html, TRACKING).await;
        assert!(matches!(
            out.unwrap_err(),
            ResponderError::InvalidResponse { .. }
        ));
    }

    #[tokio::test]
    async fn a_slow_endpoint_times_out_as_a_transient_error() {
        let slow = completion(r#"{"decision": "no_knowledge"}"#).set_delay(Duration::from_secs(10));
        let server = fake(slow).await;
        let r = OpenAiResponder::new(&cfg(&server, Duration::from_millis(300)), shop_kb()).unwrap();
        let err = r.answer(&Turn::from_message(TRACKING)).await.unwrap_err();
        assert!(
            matches!(err, ResponderError::Timeout { after, .. } if after == Duration::from_millis(300)),
            "{err}"
        );
        assert!(err.is_transient());
    }

    #[tokio::test]
    async fn an_unreachable_endpoint_is_transient() {
        // Bind then drop a listener: the port is (almost surely) closed afterwards.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let c = OpenAiConfig {
            base_url: format!("http://127.0.0.1:{port}"),
            model: "m".into(),
            api_key: None,
            api_key_file: None,
            timeout: Duration::from_secs(2),
        };
        let r = OpenAiResponder::new(&c, shop_kb()).unwrap();
        let err = r.answer(&Turn::from_message(TRACKING)).await.unwrap_err();
        assert!(err.is_transient(), "{err}");
    }

    #[tokio::test]
    async fn the_request_carries_model_key_grounding_and_json_mode() {
        let content = json!({"decision": "no_knowledge"}).to_string();
        let server = fake(completion(&content)).await;
        let r = OpenAiResponder::new(&cfg(&server, Duration::from_secs(5)), shop_kb()).unwrap();
        let turn = Turn {
            messages: vec![TRACKING.into()],
            history: vec![
                (Speaker::Customer, "hello".into()),
                (Speaker::Bot, "Hi! How can I help?".into()),
            ],
            language: Some("en".into()),
            customer_name: Some("Ada".into()),
            ..Turn::default()
        };
        r.answer(&turn).await.unwrap();
        let requests = server.received_requests().await.unwrap();
        assert_eq!(requests.len(), 1);
        let req = &requests[0];
        assert_eq!(
            req.headers.get("authorization").unwrap().to_str().unwrap(),
            format!("Bearer {KEY}")
        );
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        assert_eq!(body["model"], "test-model");
        assert_eq!(body["response_format"], json!({"type": "json_object"}));
        let messages = body["messages"].as_array().unwrap();
        assert_eq!(messages[0]["role"], "system");
        let system = messages[0]["content"].as_str().unwrap();
        assert!(system.contains("[shop.toml#4]"), "{system}");
        assert!(system.contains("How can I track my order?"), "{system}");
        assert!(system.contains("tracking link"), "{system}");
        assert!(
            system.contains("\"no_knowledge\""),
            "the schema is spelled out: {system}"
        );
        assert!(system.contains("Ada"));
        assert_eq!(messages[1], json!({"role": "user", "content": "hello"}));
        assert_eq!(messages[2]["role"], "assistant");
        assert_eq!(messages.last().unwrap()["content"], TRACKING);
        assert!(!format!("{r:?}").contains(KEY));
    }

    #[tokio::test]
    async fn a_text_the_knowledge_base_knows_nothing_about_skips_the_model() {
        let server = fake(completion("{}")).await;
        let r = OpenAiResponder::new(&cfg(&server, Duration::from_secs(5)), shop_kb()).unwrap();
        let out = r.answer(&Turn::from_message("zzzz qqqq")).await.unwrap();
        assert_eq!(out, Outcome::NoKnowledge { best_score: None });
        assert!(server.received_requests().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn no_key_means_no_authorization_header() {
        let content = json!({"decision": "no_knowledge"}).to_string();
        let server = fake(completion(&content)).await;
        let mut c = cfg(&server, Duration::from_secs(5));
        c.api_key = None;
        c.base_url = server.uri();
        let r = OpenAiResponder::new(&c, shop_kb()).unwrap();
        r.answer(&Turn::from_message(TRACKING)).await.unwrap();
        let requests = server.received_requests().await.unwrap();
        assert!(requests[0].headers.get("authorization").is_none());
    }
}
