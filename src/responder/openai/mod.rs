//! The `openai` responder: any OpenAI-compatible chat-completions endpoint (OpenAI, Azure's v1
//! API, vLLM, Ollama, llama.cpp), grounded on the knowledge base.
//!
//! For each turn:
//! 1. **Guards before.** A turn the intent rules read as a request for a person or as
//!    frustration is handed over without calling the model: whatever it would say, a person
//!    takes it.
//! 2. **Grounding** ([`prompt::grounding`]): the whole knowledge base (in the customer's
//!    language) when it fits `openai.context_tokens`, else the search's best
//!    `openai.grounding_entries`; each entry labelled with its stable id (`shop.toml#3`). When
//!    nothing grounds the turn the model is not called: no knowledge.
//! 3. **Structured output.** One JSON decision, asked for with `response_format: json_schema`
//!    (strict; [`prompt::decision_schema`]). A server that refuses the schema (HTTP 400 naming
//!    `response_format` or `json_schema`) is asked again with `json_object`, and so is every
//!    later call of this process. Temperature 0 by default.
//! 4. **Guards after** ([`guard::judge`]): citations, links, emails, phone numbers, length and
//!    promises are checked against the cited entries; a failing answer is no knowledge. A reply
//!    cut off (`finish_reason: "length"`) or not a decision is asked once more (a cut-off one
//!    with twice the `max_tokens`), then handed over with reason `error`: never silence.
//!
//! Failures: a timeout, an unreachable backend, a stalled body, a 408/429/5xx are transient
//! [`ResponderError`]s (the engine retries until `answer_deadline`, then hands over with reason
//! `error`); 401/403/404 are `Config` errors; a response that is not a chat completion, or a
//! body over `openai.max_body_bytes`, is `InvalidResponse`. Every body is read with
//! [`read_capped`]. The API key is only ever in a sensitive header; it is never logged.
//!
//! This module must not post anything or decide what a handover does: that is the engine's job.

pub mod guard;
pub mod prompt;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use secrecy::ExposeSecret as _;
use serde::Deserialize;
use serde_json::Value;

use self::guard::Verdict;
use self::prompt::{Grounding, Shape};
use super::intent::{self, Intent, IntentConfig};
use super::kb::Kb;
use super::{AnswerFuture, HandoverReason, Outcome, Responder, ResponderError, Turn};
use crate::config::{OpenAiConfig, StructuredOutput};
use crate::netbody::{BodyError, read_capped, transport_detail};

/// The longest connect timeout used, whatever `openai.timeout` says.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest wait for the next chunk of a body, whatever `openai.timeout` says.
const MAX_STALL: Duration = Duration::from_secs(10);

const NAME: &str = "openai";

/// The `openai` responder. Cheap to share behind an `Arc`; the HTTP client pools connections.
pub struct OpenAiResponder {
    http: reqwest::Client,
    endpoint: String,
    model: String,
    timeout: Duration,
    temperature: f64,
    max_tokens: u32,
    grounding_entries: usize,
    context_tokens: usize,
    max_answer_chars: usize,
    max_body_bytes: usize,
    /// Set once the server refused `json_schema`: every later call asks for `json_object`.
    schema_refused: AtomicBool,
    intent: IntentConfig,
    kb: Arc<RwLock<Kb>>,
}

impl std::fmt::Debug for OpenAiResponder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // No key here: it lives only inside the client's default headers.
        f.debug_struct("OpenAiResponder")
            .field("endpoint", &self.endpoint)
            .field("model", &self.model)
            .field("timeout", &self.timeout)
            .field("format", &self.format())
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

/// Why a completion's content cannot be judged.
enum Unusable {
    /// `finish_reason: "length"`.
    Truncated,
    /// Refused, empty or missing.
    Other(String),
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
            temperature: cfg.temperature,
            max_tokens: cfg.max_tokens.max(1),
            grounding_entries: cfg.grounding_entries.max(1),
            context_tokens: cfg.context_tokens,
            max_answer_chars: cfg.max_answer_chars.max(1),
            max_body_bytes: cfg.max_body_bytes.max(1),
            schema_refused: AtomicBool::new(cfg.response_format == StructuredOutput::JsonObject),
            intent: IntentConfig::default(),
            kb: Arc::new(RwLock::new(kb)),
        })
    }

    /// The same responder with the configured extra handover and frustration phrases.
    pub fn with_intent(mut self, intent: IntentConfig) -> Self {
        self.intent = intent;
        self
    }

    /// The URL requests go to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The `response_format` the next call asks for.
    pub fn format(&self) -> StructuredOutput {
        if self.schema_refused.load(Ordering::Relaxed) {
            StructuredOutput::JsonObject
        } else {
            StructuredOutput::JsonSchema
        }
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

    /// The entries that ground a turn ([`prompt::grounding`]). The search is SQLite (on the
    /// ledger file, for the daemon): off the runtime's workers.
    async fn grounding(&self, turn: &Turn) -> Result<Grounding, ResponderError> {
        let kb = Arc::clone(&self.kb);
        let turn = turn.clone();
        let (top, budget) = (self.grounding_entries, self.context_tokens);
        tokio::task::spawn_blocking(move || {
            let kb = kb.read().unwrap_or_else(|p| p.into_inner());
            prompt::grounding(&kb, &turn, top, budget)
        })
        .await
        .map_err(|e| ResponderError::Internal {
            responder: NAME.to_owned(),
            detail: format!("the knowledge base search panicked: {e}"),
        })
    }

    async fn decide(&self, turn: &Turn) -> Result<Outcome, ResponderError> {
        // The rules decide these, not the model: a person takes the ticket whatever it says.
        match intent::classify(
            &turn.messages,
            &turn.previous_customer_messages(),
            turn.bot_answered_before(),
            &self.intent,
        ) {
            Intent::HandoverRequested => return Ok(Outcome::Handover(HandoverReason::Requested)),
            Intent::Frustrated => return Ok(Outcome::Handover(HandoverReason::Frustrated)),
            // The engine answers small talk itself; the model never sees it from the daemon.
            Intent::None | Intent::SmallTalk(_) => {}
        }
        let grounding = self.grounding(turn).await?;
        if grounding.is_empty() {
            return Ok(Outcome::NoKnowledge { best_score: None });
        }
        let mut max_tokens = self.max_tokens;
        let mut last_why = String::new();
        for attempt in 1..=2 {
            let why = match self.complete(turn, &grounding, max_tokens).await? {
                Ok(content) => match guard::judge(&content, &grounding, self.max_answer_chars) {
                    Verdict::Outcome(outcome) => {
                        tracing::debug!(
                            responder = NAME,
                            decision = <&'static str>::from(&outcome),
                            attempt,
                            "model decided"
                        );
                        return Ok(outcome);
                    }
                    Verdict::Refused(refusal, outcome) => {
                        tracing::warn!(responder = NAME, model = %self.model, "answer refused by a guard, handing over as no knowledge: {refusal}");
                        return Ok(outcome);
                    }
                    Verdict::Invalid(why) => why,
                },
                Err(Unusable::Truncated) => {
                    // The same budget at temperature 0 would likely be cut at the same place.
                    max_tokens = max_tokens.saturating_mul(2);
                    "the reply was cut off (finish_reason length)".to_owned()
                }
                Err(Unusable::Other(why)) => why,
            };
            tracing::info!(responder = NAME, model = %self.model, attempt, "unusable model reply: {why}");
            last_why = why;
        }
        tracing::warn!(responder = NAME, model = %self.model, reason = "error", "no usable decision after a retry, handing over: {last_why}");
        Ok(Outcome::Handover(HandoverReason::Error))
    }

    /// One chat completion (two requests when the server refuses the schema). The outer
    /// `Result` is the transport and the envelope; the inner one is the message content.
    async fn complete(
        &self,
        turn: &Turn,
        grounding: &Grounding,
        max_tokens: u32,
    ) -> Result<Result<String, Unusable>, ResponderError> {
        let format = self.format();
        let body = |format| {
            prompt::request_body(
                Shape {
                    model: &self.model,
                    temperature: self.temperature,
                    max_tokens,
                    format,
                },
                turn,
                grounding,
            )
        };
        match self.post(&body(format)).await {
            Err(Refused::Schema(detail)) if format == StructuredOutput::JsonSchema => {
                if !self.schema_refused.swap(true, Ordering::Relaxed) {
                    tracing::warn!(responder = NAME, model = %self.model, "the server refused response_format json_schema; using json_object from now on: {detail}");
                }
                match self.post(&body(StructuredOutput::JsonObject)).await {
                    Ok(r) => Ok(r),
                    Err(Refused::Schema(detail)) => Err(self.status_error(400, detail.as_bytes())),
                    Err(Refused::Error(e)) => Err(e),
                }
            }
            Err(Refused::Schema(detail)) => Err(self.status_error(400, detail.as_bytes())),
            Err(Refused::Error(e)) => Err(e),
            Ok(r) => Ok(r),
        }
    }

    async fn post(&self, body: &Value) -> Result<Result<String, Unusable>, Refused> {
        let transport = |e: reqwest::Error| Refused::Error(self.transport_error(e));
        let response = self
            .http
            .post(&self.endpoint)
            .json(body)
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        let stall = self.timeout.min(MAX_STALL);
        let bytes = read_capped(response, self.max_body_bytes, stall)
            .await
            .map_err(|e| Refused::Error(self.body_error(e)))?;
        if status.as_u16() == 400 && names_response_format(&bytes) {
            return Err(Refused::Schema(snippet(&bytes)));
        }
        if !status.is_success() {
            return Err(Refused::Error(self.status_error(status.as_u16(), &bytes)));
        }
        let completion: Completion = serde_json::from_slice(&bytes).map_err(|e| {
            Refused::Error(ResponderError::InvalidResponse {
                responder: NAME.to_owned(),
                detail: format!(
                    "POST {}: not a chat completion ({e}): {}",
                    self.endpoint,
                    snippet(&bytes)
                ),
            })
        })?;
        let Some(choice) = completion.choices.into_iter().next() else {
            return Err(Refused::Error(ResponderError::InvalidResponse {
                responder: NAME.to_owned(),
                detail: format!("POST {}: the completion has no choices", self.endpoint),
            }));
        };
        let finish = choice.finish_reason.unwrap_or_default();
        Ok(match (choice.message.content, choice.message.refusal) {
            _ if finish == "length" => Err(Unusable::Truncated),
            (Some(content), _) if !content.trim().is_empty() => Ok(content),
            (_, Some(refusal)) => Err(Unusable::Other(format!("the model refused: {refusal}"))),
            _ => Err(Unusable::Other(format!(
                "the reply has no content (finish_reason {finish:?})"
            ))),
        })
    }

    fn body_error(&self, e: BodyError) -> ResponderError {
        let responder = NAME.to_owned();
        match e {
            BodyError::TooLarge { limit } => ResponderError::InvalidResponse {
                responder,
                detail: format!(
                    "POST {}: the response body is larger than {limit} bytes (openai.max_body_bytes)",
                    self.endpoint
                ),
            },
            BodyError::Stalled { after } => ResponderError::Unavailable {
                responder,
                detail: format!(
                    "POST {}: the response body stalled (nothing for {after:?})",
                    self.endpoint
                ),
            },
            BodyError::Transport(e) => self.transport_error(e),
        }
    }

    fn transport_error(&self, e: reqwest::Error) -> ResponderError {
        if e.is_timeout() {
            return ResponderError::Timeout {
                responder: NAME.to_owned(),
                after: self.timeout,
            };
        }
        ResponderError::Unavailable {
            responder: NAME.to_owned(),
            detail: format!("POST {}: {}", self.endpoint, transport_detail(e)),
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

/// A request that did not produce a completion.
enum Refused {
    /// HTTP 400 naming the response format: the server does not take the schema.
    Schema(String),
    Error(ResponderError),
}

/// Whether an error body names the structured-output request (`response_format`,
/// `json_schema`): the sign of a server that cannot take the schema, as opposed to a request
/// it cannot take at all.
fn names_response_format(body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(body).to_ascii_lowercase();
    text.contains("response_format") || text.contains("json_schema")
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
pub(crate) fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(300) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_owned(),
    }
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

#[cfg(test)]
mod tests;
