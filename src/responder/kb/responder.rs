//! The `kb` responder: the answer decision on top of the knowledge base's retrieval.

use std::sync::{Arc, RwLock};

use crate::responder::{AnswerFuture, Outcome, Responder, ResponderError, Turn, lang, template};

use super::entries::KbEntry;
use super::index::Kb;

/// The `kb` responder: answers with the best entry when the confidence of the fused evidence
/// ([`Evidence::confidence`]) reaches `kb.confidence`.
pub struct KbResponder {
    kb: Arc<RwLock<Kb>>,
    confidence: f64,
}

impl KbResponder {
    /// A responder over `kb` answering when the best entry's confidence is at least
    /// `confidence` (0..1).
    pub fn new(kb: Kb, confidence: f64) -> Self {
        Self {
            kb: Arc::new(RwLock::new(kb)),
            confidence,
        }
    }

    /// Swaps in a new knowledge base (reload, learned entries); searches in flight finish on
    /// the old one.
    pub fn replace(&self, kb: Kb) {
        let mut guard = self.kb.write().unwrap_or_else(|p| p.into_inner());
        *guard = kb;
    }

    /// The shared knowledge base (for `status`, learning, tests).
    pub fn kb(&self) -> Arc<RwLock<Kb>> {
        Arc::clone(&self.kb)
    }

    /// The confidence threshold in use.
    pub fn confidence(&self) -> f64 {
        self.confidence
    }

    /// The decision for one text, synchronous: a SQLite search and an embedding (in-process,
    /// or a network call for a remote model); async callers use [`Responder::answer`].
    pub fn decide(&self, text: &str, language: Option<&str>) -> Outcome {
        decide_in(&self.kb, self.confidence, text, language)
    }
}

/// The language of an entry: its declared one, else the one its text shows.
pub(super) fn entry_language(entry: &KbEntry) -> Option<&'static str> {
    match entry.language.as_deref() {
        Some(declared) => lang::supported(declared),
        None => lang::detect(&format!("{}\n{}", entry.question, entry.answer)),
    }
}

/// The answer text for a customer writing in `customer`: the entry's answer, led in by a line
/// in the customer's language when the entry is written in another one. `None` when the
/// languages differ and there is no such line (a language without data): no knowledge rather
/// than an answer the customer may not read.
pub(super) fn answer_text(entry: &KbEntry, customer: Option<&str>) -> Option<String> {
    match (customer, entry_language(entry)) {
        (Some(c), Some(e)) if c != e => {
            lang::lead_in(c, e).map(|lead| format!("{lead}\n\n{}", entry.answer))
        }
        (Some(_), None) if entry.language.is_some() => None,
        _ => Some(entry.answer.clone()),
    }
}

fn decide_in(kb: &RwLock<Kb>, confidence: f64, text: &str, language: Option<&str>) -> Outcome {
    decide_for(kb, confidence, &Turn::from_message(text), text, language)
}

/// The decision for `text`, with `turn` giving the values of template variables (macros).
fn decide_for(
    kb: &RwLock<Kb>,
    confidence: f64,
    turn: &Turn,
    text: &str,
    language: Option<&str>,
) -> Outcome {
    let kb = kb.read().unwrap_or_else(|p| p.into_inner());
    let Some((mut entry, evidence)) = kb.retrieve_for(text, 2, confidence).into_iter().next()
    else {
        return Outcome::NoKnowledge { best_score: None };
    };
    let score = evidence.confidence();
    if score < confidence {
        return Outcome::NoKnowledge {
            best_score: Some(score),
        };
    }
    // A macro whose template variables cannot be filled for this ticket (a greeting by name
    // for a customer whose name is unknown) is not used for it: the confidence was for this
    // entry, so the next one is no answer either.
    match template::render(&entry.answer, turn) {
        Ok(answer) => entry.answer = answer,
        Err(variable) => {
            tracing::debug!(entry = %entry.id, variable, "entry not used: a template variable has no value for this ticket");
            return Outcome::NoKnowledge {
                best_score: Some(score),
            };
        }
    }
    // The message's own words first: a ticket's language is often the shop's default.
    // A short text without function words ("Rücksendung?") by its shop words.
    let reading = lang::to_english(text);
    let customer = lang::detect(text)
        .or_else(|| reading.as_ref().filter(|t| t.certain).map(|t| t.from))
        .or_else(|| language.and_then(lang::supported))
        .or_else(|| reading.map(|t| t.from));
    match answer_text(&entry, customer) {
        Some(text) => Outcome::Answer {
            text,
            sources: vec![entry.id],
            score,
        },
        None => Outcome::NoKnowledge {
            best_score: Some(score),
        },
    }
}

impl Responder for KbResponder {
    fn name(&self) -> &str {
        "kb"
    }

    fn replace_kb(&self, kb: Kb) -> bool {
        self.replace(kb);
        true
    }

    fn answer<'a>(&'a self, turn: &'a Turn) -> AnswerFuture<'a> {
        // The search is SQLite (for the daemon, on the ledger file): never on a runtime worker.
        // spawn_blocking rather than block_in_place, which panics on a current-thread runtime.
        let kb = Arc::clone(&self.kb);
        let confidence = self.confidence;
        let text = turn.text();
        let language = turn.language.clone();
        let turn = turn.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                decide_for(&kb, confidence, &turn, &text, language.as_deref())
            })
            .await
            .map_err(|e| ResponderError::Internal {
                responder: "kb".to_owned(),
                detail: format!("the knowledge base search panicked: {e}"),
            })
        })
    }
}
