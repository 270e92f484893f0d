//! Responders: turn a customer's turn into an answer, "no knowledge" or a handover.
//!
//! This module owns the [`Responder`] interface and the types that cross it ([`Turn`],
//! [`Outcome`], [`HandoverReason`], [`ResponderError`]). The submodules are the pieces the engine
//! and the responders share:
//! - [`kb`]: the knowledge base (SQLite FTS5 with BM25, plus dense vectors) and the `kb`
//!   responder;
//! - [`embed`]: embedding models (built-in, model2vec, OpenAI-compatible) behind one trait;
//! - [`hybrid`]: dense retrieval, its fusion with BM25 and the calibrated answer decision;
//! - [`lang`]: the language of a text and the lead-in of an answer in another language;
//! - [`intent`]: pure detection of handover requests and frustration;
//! - [`smalltalk`]: pure detection of greetings, thanks, acknowledgements and goodbyes;
//! - [`email`]: pure extraction of an email address from free text;
//! - [`learn`]: pure harvesting of `#kb` internal notes into knowledge entries;
//! - [`openai`]: the `openai` responder (an OpenAI-compatible endpoint grounded on the kb);
//! - [`template`]: Gorgias template variables in answers, rendered per turn or refused;
//! - `text`: normalisation helpers (diacritics, tokens) used by the three above.
//!
//! Responders never touch Gorgias, the ledger or the clock: they read a [`Turn`] and return an
//! [`Outcome`]. Deciding what to do with the outcome (post, tag, hand over, retry) is the
//! engine's job.

pub mod email;
pub mod embed;
pub mod hybrid;
pub mod intent;
pub mod kb;
pub mod lang;
pub mod learn;
pub mod openai;
pub mod smalltalk;
pub mod template;
/// The text folding the responder shares with `orders` lives at the crate's top level.
pub(crate) use crate::text;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use crate::config::{Config, ResponderKind};

/// Who said something earlier in the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Speaker {
    Customer,
    Bot,
    Agent,
}

/// One turn to answer: the customer's unanswered messages plus the conversation so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Turn {
    /// The customer's unanswered messages, oldest first (answered together, as one turn).
    pub messages: Vec<String>,
    /// The earlier conversation, oldest first.
    pub history: Vec<(Speaker, String)>,
    /// The customer's language when known (ISO 639-1, e.g. "en", "fr").
    pub language: Option<String>,
    pub customer_name: Option<String>,
    /// The ticket's id and the customer's email, for answers with template variables.
    pub ticket_id: Option<u64>,
    pub customer_email: Option<String>,
}

impl Turn {
    /// A turn with a single customer message and no history (tests, `preview`).
    pub fn from_message(text: impl Into<String>) -> Self {
        Self {
            messages: vec![text.into()],
            ..Self::default()
        }
    }

    /// The unanswered messages joined into one text, the way responders read them.
    pub fn text(&self) -> String {
        self.messages.join("\n")
    }

    /// The customer's earlier messages (from the history), oldest first.
    pub fn previous_customer_messages(&self) -> Vec<String> {
        self.history
            .iter()
            .filter(|(who, _)| *who == Speaker::Customer)
            .map(|(_, text)| text.clone())
            .collect()
    }

    /// Whether the bot has already replied in this conversation.
    pub fn bot_answered_before(&self) -> bool {
        self.history.iter().any(|(who, _)| *who == Speaker::Bot)
    }
}

/// Why a ticket goes to people: the ledger stores it, so it is defined there.
pub use crate::ledger::{HandoverReason, UnknownHandoverReason};

/// What a responder makes of a turn.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Post `text`. `sources` names the knowledge entries used (e.g. `shop.toml#3`); `score` is
    /// the responder's confidence on its own scale (for the kb: the normalised BM25 score).
    Answer {
        text: String,
        sources: Vec<String>,
        score: f64,
    },
    /// Nothing good enough; the best score seen, if anything matched at all.
    NoKnowledge { best_score: Option<f64> },
    /// The responder itself decided a person should take over.
    Handover(HandoverReason),
}

/// A responder failure. The engine retries transient ones on the next poll and hands over
/// (reason `error`) once `answer_deadline` passes; permanent ones are not worth retrying.
#[derive(Debug, thiserror::Error)]
pub enum ResponderError {
    /// The backend did not answer in time.
    #[error("responder {responder} timed out after {after:?}")]
    Timeout { responder: String, after: Duration },
    /// The backend could not be reached or answered with a server error / rate limit.
    #[error("responder {responder} is unavailable: {detail}")]
    Unavailable { responder: String, detail: String },
    /// The backend answered, but with something we cannot use (malformed, refused, wrong shape).
    #[error("responder {responder} returned an unusable response: {detail}")]
    InvalidResponse { responder: String, detail: String },
    /// The responder is misconfigured (bad key, unknown model): retrying will not help.
    #[error("responder {responder} is misconfigured: {detail}")]
    Config { responder: String, detail: String },
    /// A bug or broken invariant inside the responder (e.g. a poisoned lock).
    #[error("responder {responder} failed internally: {detail}")]
    Internal { responder: String, detail: String },
}

impl ResponderError {
    /// Whether retrying later may succeed (timeouts, unreachable backends).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Timeout { .. } | Self::Unavailable { .. })
    }
}

/// The future a [`Responder`] returns: boxed so that `Arc<dyn Responder>` works.
pub type AnswerFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Outcome, ResponderError>> + Send + 'a>>;

/// Something that answers customer turns. Object-safe: the engine holds an `Arc<dyn Responder>`.
pub trait Responder: Send + Sync {
    /// A short name for logs and metrics ("kb", "openai").
    fn name(&self) -> &str;
    /// Answer one turn. Must not post anything anywhere; may take time (network responders).
    fn answer<'a>(&'a self, turn: &'a Turn) -> AnswerFuture<'a>;
    /// Swap in a new knowledge base (files re-read, notes learned). Returns false for a
    /// responder that has none (then the call does nothing).
    fn replace_kb(&self, _kb: kb::Kb) -> bool {
        false
    }
}

/// The configured embedding model (`kb.embedding`), `None` for BM25 alone. A model2vec
/// directory is read here: an error names it.
pub fn build_embedder(config: &Config) -> anyhow::Result<Option<Arc<dyn embed::Embedder>>> {
    use crate::config::Embedding;
    Ok(match &config.kb.embedding {
        Embedding::Builtin => Some(embed::builtin()),
        Embedding::Model2Vec { dir } => Some(Arc::new(
            embed::StaticModel::load_dir(dir).context("kb.embedding = \"model2vec\"")?,
        )),
        Embedding::OpenAi(cfg) => Some(Arc::new(embed::OpenAiEmbedder::new(cfg))),
        Embedding::None => None,
    })
}

/// The configured responder (`responder.kind`), with its knowledge base loaded from `kb.dir`
/// and indexed in memory with the configured embedding model. The one place the daemon and
/// `preview` build it, so both answer alike.
pub fn build_responder(config: &Config) -> anyhow::Result<Arc<dyn Responder>> {
    let entries = kb::read_dir_entries(&config.kb.dir).with_context(|| {
        format!(
            "loading the knowledge base from {}",
            config.kb.dir.display()
        )
    })?;
    let kb = kb::Kb::from_entries_with(entries, build_embedder(config)?)?;
    build_responder_with(config, kb)
}

/// The configured responder (`responder.kind`) over a knowledge base built by the caller
/// (`preview`: files plus the ledger's learned entries).
pub fn build_responder_with(config: &Config, kb: kb::Kb) -> anyhow::Result<Arc<dyn Responder>> {
    Ok(match config.responder.kind {
        ResponderKind::Kb => {
            if let Some(old) = config.kb.deprecated_min_score {
                tracing::warn!(
                    min_score = old,
                    confidence = config.kb.confidence,
                    "kb.min_score is deprecated: replace it with kb.confidence (0..1; see config.toml.example)"
                );
            }
            Arc::new(kb::KbResponder::new(kb, config.kb.confidence))
        }
        ResponderKind::OpenAi => {
            let openai = config
                .openai
                .as_ref()
                .context("responder.kind = \"openai\" needs an [openai] section")?;
            Arc::new(openai::OpenAiResponder::new(openai, kb)?.with_intent(intent_config(config)))
        }
    })
}

/// The intent detector's extra phrases from the config (one place for the daemon and preview).
pub fn intent_config(config: &Config) -> intent::IntentConfig {
    intent::IntentConfig {
        extra_handover_phrases: config.bot.handover_phrases.clone(),
        extra_frustration_phrases: config.bot.frustration_phrases.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handover_reason_names_round_trip() {
        for reason in HandoverReason::ALL {
            assert_eq!(HandoverReason::parse(reason.as_str()), Some(reason));
            assert_eq!(reason.as_str().parse::<HandoverReason>().ok(), Some(reason));
        }
        assert_eq!(HandoverReason::Automation.as_str(), "rule");
        assert!(HandoverReason::parse("automation").is_none());
        let err = "nope".parse::<HandoverReason>().unwrap_err();
        assert!(err.to_string().contains("\"nope\""));
    }

    #[test]
    fn only_timeouts_and_unavailable_backends_are_transient() {
        let r = || "x".to_owned();
        assert!(
            ResponderError::Timeout {
                responder: r(),
                after: Duration::from_secs(1)
            }
            .is_transient()
        );
        assert!(
            ResponderError::Unavailable {
                responder: r(),
                detail: r()
            }
            .is_transient()
        );
        assert!(
            !ResponderError::Config {
                responder: r(),
                detail: r()
            }
            .is_transient()
        );
        assert!(
            !ResponderError::InvalidResponse {
                responder: r(),
                detail: r()
            }
            .is_transient()
        );
    }

    #[test]
    fn turn_reads_its_history() {
        let turn = Turn {
            messages: vec!["a".into(), "b".into()],
            history: vec![
                (Speaker::Customer, "hi".into()),
                (Speaker::Bot, "hello".into()),
                (Speaker::Agent, "note".into()),
            ],
            ..Turn::default()
        };
        assert_eq!(turn.text(), "a\nb");
        assert_eq!(turn.previous_customer_messages(), vec!["hi".to_owned()]);
        assert!(turn.bot_answered_before());
        assert!(!Turn::from_message("x").bot_answered_before());
    }

    struct Fixed;
    impl Responder for Fixed {
        fn name(&self) -> &str {
            "fixed"
        }
        fn answer<'a>(&'a self, turn: &'a Turn) -> AnswerFuture<'a> {
            Box::pin(async move {
                Ok(Outcome::Answer {
                    text: turn.text(),
                    sources: vec![],
                    score: 1.0,
                })
            })
        }
    }

    #[tokio::test]
    async fn responder_is_usable_as_a_trait_object() {
        let r: Arc<dyn Responder> = Arc::new(Fixed);
        let turn = Turn::from_message("echo");
        let out = r.answer(&turn).await.unwrap();
        assert_eq!(r.name(), "fixed");
        assert!(matches!(out, Outcome::Answer { ref text, .. } if text == "echo"));
    }
}
