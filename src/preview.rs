//! `perfectbot preview`: chat with the configured responder and policy in the terminal.
//!
//! Each line typed (or piped) is a customer message. It goes through what the engine does with a
//! customer turn: [`intent::classify`] first (a request for a person or frustration hands over),
//! then the responder built by [`build_responder_with`] (the daemon's own code path). The decision is
//! shown: an answer with its sources and score, "no knowledge" with the best score, or a handover
//! with its reason and the message the customer would get (the `handover.messages.online`
//! template: preview assumes the team is online). `--language fr` treats the conversation as a
//! ticket in that language: the responder's turn carries it and the handover message is the
//! one a French ticket would get, rendered by the engine's own [`render_message`].
//!
//! On a terminal the conversation is kept across lines (`you> ` / `bot> `). With input piped,
//! every non-empty line is the first message of a new conversation and yields exactly one output
//! line: a JSON object with `--json` (the field names `decision`, `reason`, `text`, `sources`,
//! `score` are a promise to scripts), a readable line otherwise.
//!
//! Preview must not touch Gorgias or write to the ledger: it reads the config, the knowledge
//! files and, when the ledger file exists, the entries learned from `#kb` notes (a read-only
//! open: a running daemon owns that file), indexes them in memory, and calls the responder
//! (which for `openai` is the configured endpoint), nothing else.

use std::io::{IsTerminal as _, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use serde_json::{Value, json};
use tokio::io::{AsyncBufRead, AsyncBufReadExt as _};

use crate::config::{self, Config};
use crate::daemon::policy_for;
use crate::engine::{Availability, Policy, render_message};
use crate::knowledge::learned_entry;
use crate::responder::intent::{self, Intent};
use crate::responder::kb::{self, Kb};
use crate::responder::smalltalk::{self, Courtesy, SmallTalk};
use crate::responder::{HandoverReason, Outcome, Responder, Speaker, Turn, build_responder_with};

/// What the bot would do with one customer message.
#[derive(Debug, Clone, PartialEq)]
pub struct PreviewDecision {
    /// "answer" | "no_knowledge" | "handover" | "none" (small talk that needs no reply).
    pub decision: &'static str,
    /// `None` for answers; "no_knowledge" for no knowledge; the handover reason otherwise.
    pub reason: Option<&'static str>,
    /// What the customer would read: the answer, or the handover message.
    pub text: String,
    /// Knowledge entries the answer used.
    pub sources: Vec<String>,
    /// The answer's score, or the best score seen for "no knowledge"; `None` otherwise.
    pub score: Option<f64>,
    /// The responder's error, when it failed (the decision is then a handover, reason "error").
    pub error: Option<String>,
    /// The ticket language previewed (`--language`), if any.
    pub language: Option<String>,
}

impl PreviewDecision {
    /// The promised JSON shape: `decision`, `reason`, `text`, `sources`, `score` (and `error`
    /// when the responder failed, `language` when one was given).
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "decision": self.decision,
            "reason": self.reason,
            "text": self.text,
            "sources": self.sources,
            "score": self.score,
        });
        if let Some(e) = &self.error {
            v["error"] = json!(e);
        }
        if let Some(l) = &self.language {
            v["language"] = json!(l);
        }
        v
    }

    /// One readable line (piped input without `--json`).
    pub fn to_line(&self) -> String {
        format!("{}: {}", self.label(), self.text)
    }

    /// The decision in words: "answer [shop.toml#4, score 1.83]", "handover (requested)".
    pub fn label(&self) -> String {
        let score = |s: Option<f64>| s.map_or("none".to_owned(), |s| format!("{s:.2}"));
        match self.decision {
            "answer" if self.sources.is_empty() && self.score.is_none() => {
                "answer [small talk]".to_owned()
            }
            "answer" => format!(
                "answer [{}, score {}]",
                self.sources.join(", "),
                score(self.score)
            ),
            "no_knowledge" => format!(
                "no_knowledge [best score {}] -> handover",
                score(self.score)
            ),
            "none" => "none [small talk, no reply]".to_owned(),
            _ => match &self.error {
                Some(e) => format!("handover ({}: {e})", self.reason.unwrap_or("error")),
                None => format!("handover ({})", self.reason.unwrap_or("requested")),
            },
        }
    }
}

/// The configured responder and policy, ready to answer lines.
pub struct Preview {
    responder: Arc<dyn Responder>,
    policy: Policy,
    timeout: Duration,
    /// The ticket language the conversation is treated as (a Gorgias tag, e.g. "fr").
    language: Option<String>,
}

impl Preview {
    /// Builds the responder as the daemon does, over the same entries (files, plus the notes
    /// learned in the ledger when its file exists) but indexed in memory, and the policy (bot
    /// user id 0: preview never asks Gorgias who the bot is).
    pub async fn from_config(config: &Config) -> anyhow::Result<Preview> {
        let mut entries = kb::read_dir_entries(&config.kb.dir).with_context(|| {
            format!(
                "loading the knowledge base from {}",
                config.kb.dir.display()
            )
        })?;
        entries.extend(learned_entries(&config.ledger.path).await);
        let embedder = crate::responder::build_embedder(config)?;
        let responder = build_responder_with(config, Kb::from_entries_with(entries, embedder)?)?;
        // The same bound the daemon puts around the responder.
        let timeout = config
            .timing
            .answer_deadline
            .min(Duration::from_secs(30))
            .max(Duration::from_secs(1));
        Ok(Preview::new(responder, policy_for(config, 0), timeout))
    }

    /// A preview over any responder (tests).
    pub fn new(responder: Arc<dyn Responder>, policy: Policy, timeout: Duration) -> Preview {
        Preview {
            responder,
            policy,
            timeout,
            language: None,
        }
    }

    /// Treats the conversation as a ticket in `language` (a Gorgias tag: "fr", "fr-FR"), as
    /// `--language` does; `None` = no language, as a ticket without one.
    pub fn with_language(mut self, language: Option<String>) -> Preview {
        self.language = language;
        self
    }

    /// The decision for one customer message after `history` (oldest first).
    pub async fn decide(&self, history: &[(Speaker, String)], message: &str) -> PreviewDecision {
        let turn = Turn {
            messages: vec![message.to_owned()],
            history: history.to_vec(),
            language: self.language.clone(),
            ..Turn::default()
        };
        let intent = intent::classify(
            &turn.messages,
            &turn.previous_customer_messages(),
            turn.bot_answered_before(),
            &self.policy.intent,
        );
        match intent {
            Intent::HandoverRequested => return self.handover(HandoverReason::Requested, None),
            Intent::Frustrated => return self.handover(HandoverReason::Frustrated, None),
            Intent::SmallTalk(talk) => {
                let after_bot_reply = history.last().is_some_and(|(who, _)| *who == Speaker::Bot);
                return self.small_talk(talk, after_bot_reply);
            }
            Intent::None => {}
        }
        let result = tokio::time::timeout(self.timeout, self.responder.answer(&turn)).await;
        match result {
            Ok(Ok(Outcome::Answer {
                text,
                sources,
                score,
            })) => PreviewDecision {
                decision: "answer",
                reason: None,
                text,
                sources,
                score: Some(score),
                error: None,
                language: self.language.clone(),
            },
            Ok(Ok(Outcome::NoKnowledge { best_score })) => PreviewDecision {
                decision: "no_knowledge",
                reason: Some(HandoverReason::NoKnowledge.as_str()),
                score: best_score,
                ..self.handover(HandoverReason::NoKnowledge, None)
            },
            Ok(Ok(Outcome::Handover(reason))) => self.handover(reason, None),
            Ok(Err(e)) => self.handover(HandoverReason::Error, Some(e.to_string())),
            Err(_) => self.handover(
                HandoverReason::Error,
                Some(format!("the responder timed out after {:?}", self.timeout)),
            ),
        }
    }

    /// Small talk, as the engine treats it: a courtesy reply ("answer", no sources) in the
    /// previewed language (else the language of the customer's words), or nothing ("none") for
    /// thanks right after the bot's reply.
    fn small_talk(&self, talk: SmallTalk, after_bot_reply: bool) -> PreviewDecision {
        let language = self.language.as_deref().or(talk.language);
        let set = self.policy.messages.for_language(language);
        let (decision, text) = match smalltalk::courtesy_for(talk.kind, after_bot_reply) {
            None => ("none", String::new()),
            Some(courtesy) => {
                let template = match courtesy {
                    Courtesy::Greeting => &set.greeting,
                    Courtesy::Thanks => &set.thanks,
                    Courtesy::Goodbye => &set.goodbye,
                };
                let text = render_message(
                    &self.policy,
                    language,
                    template,
                    &Availability::Online,
                    None,
                    None,
                );
                ("answer", text)
            }
        };
        PreviewDecision {
            decision,
            reason: None,
            text,
            sources: Vec::new(),
            score: None,
            error: None,
            language: self.language.clone(),
        }
    }

    /// A handover: the `online` message in the previewed language, as the engine renders it
    /// for a customer with no known name or email (the language's fill-in words).
    fn handover(&self, reason: HandoverReason, error: Option<String>) -> PreviewDecision {
        let language = self.language.as_deref();
        let template = &self.policy.messages.for_language(language).online;
        PreviewDecision {
            decision: "handover",
            reason: Some(reason.as_str()),
            text: render_message(
                &self.policy,
                language,
                template,
                &Availability::Online,
                None,
                None,
            ),
            sources: Vec::new(),
            score: None,
            error,
            language: self.language.clone(),
        }
    }
}

/// How lines are read and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Keep the conversation across lines and prompt with `you> ` (a terminal).
    pub interactive: bool,
    /// One JSON object per decision.
    pub json: bool,
}

/// Reads customer lines from `input` until its end and writes the decisions to `output`.
/// Empty lines are skipped.
pub async fn run_lines<R, W>(
    preview: &Preview,
    mut input: R,
    output: &mut W,
    opts: Options,
) -> anyhow::Result<()>
where
    R: AsyncBufRead + Unpin,
    W: Write,
{
    let mut history: Vec<(Speaker, String)> = Vec::new();
    let mut line = String::new();
    loop {
        if opts.interactive {
            write!(output, "you> ")?;
            output.flush()?;
        }
        line.clear();
        if input
            .read_line(&mut line)
            .await
            .context("reading the input")?
            == 0
        {
            if opts.interactive {
                writeln!(output)?;
            }
            return Ok(());
        }
        let message = line.trim();
        if message.is_empty() {
            continue;
        }
        let d = preview.decide(&history, message).await;
        if opts.json {
            writeln!(output, "{}", d.to_json())?;
        } else if opts.interactive && d.decision == "none" {
            writeln!(output, "     ({})", d.label())?;
        } else if opts.interactive {
            writeln!(output, "bot> {}", d.text)?;
            writeln!(output, "     ({})", d.label())?;
        } else {
            writeln!(output, "{}", d.to_line())?;
        }
        output.flush()?;
        if opts.interactive {
            history.push((Speaker::Customer, message.to_owned()));
            if d.decision != "none" {
                history.push((Speaker::Bot, d.text));
            }
        }
    }
}

/// The entries learned from `#kb` notes in the ledger at `path`, read-only; none when the file
/// does not exist yet. A ledger that cannot be read (e.g. written by another version) is
/// reported and skipped: preview still works on the files.
async fn learned_entries(path: &Path) -> Vec<kb::KbEntry> {
    if !path.is_file() {
        return vec![];
    }
    let read = async {
        let ledger = crate::ops::open_ledger(path).await?;
        anyhow::Ok(ledger.learned().await?)
    };
    match read.await {
        Ok(rows) => rows.iter().map(learned_entry).collect(),
        Err(e) => {
            tracing::warn!(ledger = %path.display(), error = %e,
                "cannot read the learned knowledge from the ledger; previewing the files only");
            vec![]
        }
    }
}

/// `perfectbot preview --config FILE [--json] [--language LANG]`: stdin to stdout,
/// interactive on a terminal.
pub async fn run(config_path: &Path, json: bool, language: Option<String>) -> anyhow::Result<()> {
    let config = config::load_offline(config_path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let preview = Preview::from_config(&config).await?.with_language(language);
    let interactive = std::io::stdin().is_terminal();
    if interactive && !json {
        println!(
            "perfectbot preview: responder {}, nothing is sent to Gorgias. Ctrl-D to quit.",
            preview.responder.name()
        );
    }
    let input = tokio::io::BufReader::new(tokio::io::stdin());
    let mut output = std::io::stdout();
    run_lines(&preview, input, &mut output, Options { interactive, json }).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::responder::kb::{Kb, KbResponder};
    use crate::responder::{AnswerFuture, ResponderError};

    fn preview_over(responder: Arc<dyn Responder>) -> Preview {
        let config = Config::for_tests("http://127.0.0.1:9", "bot@example.com", "key");
        Preview::new(responder, policy_for(&config, 0), Duration::from_secs(5))
    }

    fn kb_preview() -> Preview {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/kb");
        let kb = Kb::load_dir(&dir).unwrap();
        preview_over(Arc::new(KbResponder::new(
            kb,
            crate::responder::kb::DEFAULT_CONFIDENCE,
        )))
    }

    async fn run_on(preview: &Preview, input: &str, opts: Options) -> String {
        let mut out = Vec::new();
        run_lines(preview, input.as_bytes(), &mut out, opts)
            .await
            .unwrap();
        String::from_utf8(out).unwrap()
    }

    const PIPED_JSON: Options = Options {
        interactive: false,
        json: true,
    };

    #[tokio::test]
    async fn piped_lines_each_get_one_json_decision() {
        let p = kb_preview();
        let out = run_on(
            &p,
            "How can I track my order?\n\n   \nI want to talk to a human\nthis is useless!!!\nWho won the football match last night?\n",
            PIPED_JSON,
        )
        .await;
        let lines: Vec<Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 4, "{out}");
        assert_eq!(lines[0]["decision"], "answer");
        assert_eq!(lines[0]["reason"], Value::Null);
        assert_eq!(lines[0]["sources"], json!(["shop.toml#4"]));
        assert!(lines[0]["score"].as_f64().unwrap() >= crate::responder::kb::DEFAULT_CONFIDENCE);
        assert!(lines[0]["text"].as_str().unwrap().contains("tracking link"));
        assert_eq!(lines[1]["decision"], "handover");
        assert_eq!(lines[1]["reason"], "requested");
        assert_eq!(lines[1]["score"], Value::Null);
        assert_eq!(lines[2]["reason"], "frustrated");
        assert_eq!(lines[3]["decision"], "no_knowledge", "{out}");
        assert_eq!(lines[3]["reason"], "no_knowledge");
        assert_eq!(lines[3]["sources"], json!([]));
        // The customer would read the configured `online` handover message (no placeholders).
        let online = p.policy.messages.default.online.as_str();
        assert_eq!(lines[1]["text"], online);
        assert_eq!(lines[3]["text"], online);
        // No `--language`: no language field, as before.
        assert!(lines.iter().all(|l| l.get("language").is_none()), "{out}");
    }

    #[tokio::test]
    async fn small_talk_is_a_courtesy_answer_or_nothing() {
        let p = kb_preview();
        // Piped: each line is a new conversation, so thanks gets "you're welcome".
        let out = run_on(
            &p,
            "hello?\nthanks!\nmerci\nhi, how can I track my order?\n",
            PIPED_JSON,
        )
        .await;
        let lines: Vec<Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 4, "{out}");
        let messages = &p.policy.messages;
        assert_eq!(lines[0]["decision"], "answer", "{out}");
        assert_eq!(lines[0]["sources"], json!([]));
        assert_eq!(lines[0]["score"], Value::Null);
        assert_eq!(lines[0]["text"], messages.default.greeting.as_str());
        assert_eq!(lines[1]["text"], messages.default.thanks.as_str());
        // No --language: the customer's French words pick the French courtesy.
        assert_eq!(
            lines[2]["text"],
            messages.for_language(Some("fr")).thanks.as_str()
        );
        // A greeting with a question is a question.
        assert_eq!(lines[3]["sources"], json!(["shop.toml#4"]), "{out}");

        // In a conversation, thanks right after the bot's answer gets no reply at all.
        let d = p
            .decide(
                &[
                    (Speaker::Customer, "How can I track my order?".into()),
                    (Speaker::Bot, "As soon as your order ships...".into()),
                ],
                "ok great, thanks 👍",
            )
            .await;
        assert_eq!(d.decision, "none");
        assert_eq!(d.to_json()["decision"], "none");
        assert_eq!(d.text, "");
        assert_eq!(d.label(), "none [small talk, no reply]");
        let out = run_on(
            &p,
            "How can I track my order?\nthanks!\n",
            Options {
                interactive: true,
                json: false,
            },
        )
        .await;
        assert!(out.contains("(none [small talk, no reply])"), "{out}");
    }

    #[tokio::test]
    async fn piped_lines_are_separate_conversations() {
        // The same question twice after a bot answer would be a repeat (frustration) within one
        // conversation; piped, each line starts afresh.
        let p = kb_preview();
        let q = "How can I track my order?\n";
        let out = run_on(&p, &format!("{q}{q}"), PIPED_JSON).await;
        for l in out.lines() {
            let v: Value = serde_json::from_str(l).unwrap();
            assert_eq!(v["decision"], "answer", "{out}");
        }
    }

    #[tokio::test]
    async fn interactive_keeps_the_conversation() {
        let p = kb_preview();
        let q = "How can I track my order?\n";
        let out = run_on(
            &p,
            &format!("{q}{q}"),
            Options {
                interactive: true,
                json: false,
            },
        )
        .await;
        assert!(
            out.starts_with("you> bot> As soon as your order ships"),
            "{out}"
        );
        assert!(out.contains("(answer [shop.toml#4, score"), "{out}");
        // Asked again after the answer: the engine reads that as frustration.
        assert!(out.contains("(handover (frustrated))"), "{out}");
    }

    #[tokio::test]
    async fn readable_lines_name_the_decision() {
        let p = kb_preview();
        let out = run_on(
            &p,
            "I want to talk to a human\n",
            Options {
                interactive: false,
                json: false,
            },
        )
        .await;
        assert_eq!(out.lines().count(), 1);
        assert!(out.starts_with("handover (requested): "), "{out}");
    }

    struct Failing;
    impl Responder for Failing {
        fn name(&self) -> &str {
            "failing"
        }
        fn answer<'a>(&'a self, _: &'a Turn) -> AnswerFuture<'a> {
            Box::pin(async {
                Err(ResponderError::Unavailable {
                    responder: "failing".into(),
                    detail: "down".into(),
                })
            })
        }
    }

    #[tokio::test]
    async fn a_failing_responder_shows_a_handover_with_reason_error() {
        let p = preview_over(Arc::new(Failing));
        let d = p.decide(&[], "where is my parcel?").await;
        assert_eq!(d.decision, "handover");
        assert_eq!(d.reason, Some("error"));
        assert!(d.error.as_deref().unwrap().contains("down"));
        assert_eq!(
            d.to_json()["error"],
            "responder failing is unavailable: down"
        );
    }

    /// A config whose knowledge folder holds one entry and whose ledger is `dir/ledger.db`.
    fn config_in(dir: &Path) -> Config {
        let kb_dir = dir.join("kb");
        std::fs::create_dir_all(&kb_dir).unwrap();
        std::fs::write(kb_dir.join("a.md"), "## Gift wrapping\nYes, for free.\n").unwrap();
        let mut config = Config::for_tests("http://127.0.0.1:9", "bot@example.com", "key");
        config.kb.dir = kb_dir;
        config.ledger.path = dir.join("ledger.db");
        config
    }

    #[tokio::test]
    async fn preview_answers_from_notes_learned_in_the_ledger_without_writing_it() {
        let dir = tempfile::tempdir().unwrap();
        let config = config_in(dir.path());
        let ledger = crate::ledger::Ledger::open(&config.ledger.path)
            .await
            .unwrap();
        let now = jiff::Timestamp::from_second(1).unwrap();
        let row = crate::ledger::LearnedRow {
            id: "note:11".into(),
            ticket_id: 3,
            message_id: 11,
            question: "Do you sponsor sports teams?".into(),
            answer: "No sponsoring, sorry.".into(),
            updated_at: now,
        };
        assert!(ledger.sync_learned(3, vec![row], now).await.unwrap());

        let p = Preview::from_config(&config).await.unwrap();
        let d = p.decide(&[], "do you sponsor sports teams").await;
        assert_eq!(d.decision, "answer", "{d:?}");
        assert_eq!(d.sources, ["note:11"]);
        assert_eq!(d.text, "No sponsoring, sorry.");
        let d = p.decide(&[], "gift wrapping").await;
        assert_eq!(d.sources, ["a.md#1"]);
        // Preview indexed in memory: the daemon's index in the ledger was left alone.
        let count: i64 = rusqlite::Connection::open(&config.ledger.path)
            .unwrap()
            .query_row("SELECT count(*) FROM kb_index", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, 0);
    }

    #[tokio::test]
    async fn preview_without_a_ledger_uses_the_files_and_creates_none() {
        let dir = tempfile::tempdir().unwrap();
        let config = config_in(dir.path());
        let p = Preview::from_config(&config).await.unwrap();
        let d = p.decide(&[], "gift wrapping").await;
        assert_eq!(d.sources, ["a.md#1"]);
        assert!(!config.ledger.path.exists());
    }

    #[test]
    fn the_online_template_is_rendered_like_the_engine_does() {
        let mut p = kb_preview();
        p.policy.messages.default.online =
            "Hi {customer_name}, back {next_open}; we write to {email}.".into();
        let d = p.handover(HandoverReason::Requested, None);
        assert_eq!(d.text, "Hi there, back soon; we write to your email.");
    }

    /// Records the language of the turns it is asked about and knows nothing.
    #[derive(Default)]
    struct Recording(std::sync::Mutex<Vec<Option<String>>>);
    impl Responder for Recording {
        fn name(&self) -> &str {
            "recording"
        }
        fn answer<'a>(&'a self, turn: &'a Turn) -> AnswerFuture<'a> {
            self.0.lock().unwrap().push(turn.language.clone());
            Box::pin(async { Ok(Outcome::NoKnowledge { best_score: None }) })
        }
    }

    #[tokio::test]
    async fn language_fr_previews_a_french_ticket() {
        let recording = Arc::new(Recording::default());
        let p = preview_over(recording.clone()).with_language(Some("fr-FR".into()));
        let out = run_on(
            &p,
            "je veux parler à un humain
quelle est la couleur du ciel ?
",
            PIPED_JSON,
        )
        .await;
        let lines: Vec<Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2, "{out}");
        let french = crate::config::MessageTemplates::builtin("fr")
            .unwrap()
            .online;
        assert_eq!(lines[0]["decision"], "handover");
        assert_eq!(lines[0]["reason"], "requested");
        assert_eq!(lines[0]["text"], french.as_str());
        assert_eq!(lines[0]["language"], "fr-FR");
        assert_eq!(lines[1]["decision"], "no_knowledge");
        assert_eq!(lines[1]["text"], french.as_str());
        // The responder saw the French ticket (the handover line never reached it).
        assert_eq!(
            *recording.0.lock().unwrap(),
            vec![Some("fr-FR".to_string())]
        );
        // The promised fields are all still there.
        for key in ["decision", "reason", "text", "sources", "score"] {
            assert!(lines[1].get(key).is_some(), "{key}: {out}");
        }
    }

    #[tokio::test]
    async fn language_fills_missing_values_with_that_languages_words() {
        let mut p = kb_preview().with_language(Some("fr".into()));
        p.policy.messages.languages.get_mut("fr").unwrap().online =
            "Bonjour {customer_name}, retour {next_open} ; réponse à {email}.".into();
        let d = p.decide(&[], "je veux parler à un humain").await;
        assert_eq!(
            d.text,
            "Bonjour à vous, retour bientôt ; réponse à votre adresse e-mail."
        );
        // Without a language the same conversation gets the default (English) message.
        let d = p
            .with_language(None)
            .decide(&[], "I want to talk to a human")
            .await;
        assert_eq!(d.text, crate::config::MessageTemplates::english().online);
    }
}
