//! `perfectbot eval --config F CASES.jsonl [--json]`: the configured bot scored on a shop's own
//! labelled messages, through the daemon's decision path ([`crate::conversation`]: a synthetic
//! ticket, the engine's two phases, the configured responder), so that a team can see how it
//! would do and pick `kb.confidence` before going live.
//!
//! Each line: `{"text", "expect": "answer"|"no_knowledge"|"handover"|"smalltalk"|"none",
//! "entry"?, "reason"?: "requested"|"frustrated", "lang"?, "previous"?: [..], "answered"?: bool}`;
//! other fields are ignored. So both the knowledge sets (`kb_*.jsonl`) and the intent sets
//! (`intent_*.jsonl`: "smalltalk" = a courtesy reply or silence, "none" = an ordinary message
//! that must not be handed over as requested or frustrated) are read, and the intent figures
//! (precision and recall of each handover reason and of small talk) are reported. The config is read as preview reads it
//! ([`crate::ops::load_offline`]): no Gorgias key is needed and nothing is sent to Gorgias,
//! while the responder's keys are the real ones; the knowledge files, plus the `#kb` entries
//! learned in the ledger when it exists (read-only), are indexed in memory. With the
//! built-in embedding model no network is used at all. Progress goes to stderr.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::config::{Config, ResponderKind};
use crate::conversation::{self, Exchange, Verdict};
use crate::engine::Policy;
use crate::responder::intent::Intent;
use crate::responder::kb::{Kb, KbEntry};
use crate::responder::{HandoverReason, Responder, build_embedder, build_responder_with};

/// The `kb.confidence` values of the table.
pub const CONFIDENCE_STEPS: [f64; 9] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

/// What a case expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    Answer,
    NoKnowledge,
    Handover,
    Smalltalk,
    /// An ordinary message: anything but a handover as requested or frustrated.
    None,
}

impl Expect {
    fn as_str(self) -> &'static str {
        match self {
            Expect::Answer => "answer",
            Expect::NoKnowledge => "no_knowledge",
            Expect::Handover => "handover",
            Expect::Smalltalk => "smalltalk",
            Expect::None => "none",
        }
    }
    const ALL: [Expect; 5] = [
        Expect::Answer,
        Expect::NoKnowledge,
        Expect::Handover,
        Expect::Smalltalk,
        Expect::None,
    ];
}

/// One labelled message.
#[derive(Debug, Clone, Deserialize)]
pub struct Case {
    pub text: String,
    pub expect: Expect,
    #[serde(default)]
    pub entry: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub lang: Option<String>,
    #[serde(default)]
    pub previous: Vec<String>,
    #[serde(default)]
    pub answered: bool,
}

/// Reads a cases file; an error names the file, the line and the problem.
pub fn read_cases(path: &Path, known_entries: &[KbEntry]) -> anyhow::Result<Vec<Case>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the cases file {}", path.display()))?;
    let mut cases = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = || format!("{} line {}", path.display(), i + 1);
        let case: Case = serde_json::from_str(line).with_context(at)?;
        if case.text.trim().is_empty() {
            bail!("{}: empty \"text\"", at());
        }
        match (case.expect, &case.entry) {
            (Expect::Answer, None) => bail!("{}: \"expect\": \"answer\" needs \"entry\"", at()),
            (Expect::Answer, Some(id)) if !known_entries.iter().any(|e| &e.id == id) => {
                bail!("{}: entry {id:?} is not in the knowledge base", at())
            }
            _ => {}
        }
        if let Some(r) = &case.reason
            && !matches!(r.as_str(), "requested" | "frustrated")
        {
            bail!(
                "{}: \"reason\" {r:?} is not \"requested\" or \"frustrated\"",
                at()
            );
        }
        cases.push(case);
    }
    if cases.is_empty() {
        bail!("{} holds no cases", path.display());
    }
    Ok(cases)
}

/// What the bot did with one case, in the terms of the figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Got {
    /// Answered with the expected entry.
    RightAnswer,
    /// Answered, but with another entry, or a question the case says is uncovered.
    WrongAnswer,
    NoKnowledge,
    Handover(HandoverReason),
    /// A courtesy reply or nothing at all.
    Smalltalk,
}

impl Got {
    /// The class the bot's action belongs to (for precision and recall).
    fn class(self) -> Option<Expect> {
        match self {
            Got::RightAnswer | Got::WrongAnswer => Some(Expect::Answer),
            Got::NoKnowledge => Some(Expect::NoKnowledge),
            Got::Handover(HandoverReason::Requested | HandoverReason::Frustrated) => {
                Some(Expect::Handover)
            }
            Got::Handover(_) => None,
            Got::Smalltalk => Some(Expect::Smalltalk),
        }
    }
}

fn judge(case: &Case, verdict: &Verdict) -> Got {
    match verdict {
        Verdict::Answer { sources, .. } => {
            let right = case.expect == Expect::Answer
                && case
                    .entry
                    .as_ref()
                    .is_some_and(|e| sources.first() == Some(e));
            if right {
                Got::RightAnswer
            } else {
                Got::WrongAnswer
            }
        }
        Verdict::Handover {
            reason: HandoverReason::NoKnowledge,
            ..
        } => Got::NoKnowledge,
        Verdict::Handover { reason, .. } => Got::Handover(*reason),
        Verdict::Courtesy { .. } | Verdict::Silent => Got::Smalltalk,
    }
}

/// Whether the bot did what the case expects.
fn correct(case: &Case, got: Got) -> bool {
    match case.expect {
        Expect::Answer => got == Got::RightAnswer,
        Expect::NoKnowledge => got == Got::NoKnowledge,
        Expect::Handover => match (got, case.reason.as_deref()) {
            (Got::Handover(r), Some(want)) => r.as_str() == want,
            (Got::Handover(r), None) => {
                matches!(r, HandoverReason::Requested | HandoverReason::Frustrated)
            }
            _ => false,
        },
        Expect::Smalltalk => got == Got::Smalltalk,
        Expect::None => !matches!(
            got,
            Got::Handover(HandoverReason::Requested | HandoverReason::Frustrated)
        ),
    }
}

/// The intent classes of the figures: a handover by its reason, small talk, and an ordinary
/// message (labelled `none`: anything but a handover as requested or frustrated is right).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum IntentClass {
    Requested,
    Frustrated,
    SmallTalk,
    Ordinary,
}

impl IntentClass {
    /// The classes given a precision and a recall, in the report's order.
    const REPORTED: [IntentClass; 3] = [
        IntentClass::Requested,
        IntentClass::Frustrated,
        IntentClass::SmallTalk,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IntentClass::Requested => "requested",
            IntentClass::Frustrated => "frustrated",
            IntentClass::SmallTalk => "smalltalk",
            IntentClass::Ordinary => "ordinary",
        }
    }

    /// A case's label (`None`: a knowledge case, or a handover without a reason).
    pub fn of_case(case: &Case) -> Option<IntentClass> {
        match (case.expect, case.reason.as_deref()) {
            (Expect::Handover, Some("requested")) => Some(IntentClass::Requested),
            (Expect::Handover, Some("frustrated")) => Some(IntentClass::Frustrated),
            (Expect::Smalltalk, _) => Some(IntentClass::SmallTalk),
            (Expect::None, _) => Some(IntentClass::Ordinary),
            _ => None,
        }
    }

    /// What intent detection alone made of a message (`Ordinary`: it goes to the responder).
    pub fn of_intent(intent: Intent) -> IntentClass {
        match intent {
            Intent::HandoverRequested => IntentClass::Requested,
            Intent::Frustrated => IntentClass::Frustrated,
            Intent::SmallTalk(_) => IntentClass::SmallTalk,
            Intent::None => IntentClass::Ordinary,
        }
    }

    /// The class of the bot's action (`None`: an answer, "no knowledge" or another handover).
    fn of_got(got: Got) -> Option<IntentClass> {
        match got {
            Got::Handover(HandoverReason::Requested) => Some(IntentClass::Requested),
            Got::Handover(HandoverReason::Frustrated) => Some(IntentClass::Frustrated),
            Got::Smalltalk => Some(IntentClass::SmallTalk),
            _ => None,
        }
    }

    pub fn is_handover(self) -> bool {
        matches!(self, IntentClass::Requested | IntentClass::Frustrated)
    }
}

/// `num / den`, or `None` when `den` is 0.
pub fn ratio(num: usize, den: usize) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

/// Labelled classes against predicted ones, counted (`None`: no class on that side): the one
/// per-class scorer behind the intent figures of `perfectbot eval` and of the intent unit
/// tests.
#[derive(Debug, Clone)]
pub struct Confusion<C> {
    cells: BTreeMap<(Option<C>, Option<C>), usize>,
}

impl<C> Default for Confusion<C> {
    fn default() -> Self {
        Confusion {
            cells: BTreeMap::new(),
        }
    }
}

impl<C: Ord + Copy> Confusion<C> {
    pub fn add(&mut self, want: Option<C>, got: Option<C>) {
        *self.cells.entry((want, got)).or_default() += 1;
    }

    /// The cases whose (label, prediction) `keep` accepts.
    pub fn count(&self, keep: impl Fn(Option<C>, Option<C>) -> bool) -> usize {
        self.cells
            .iter()
            .filter(|((w, g), _)| keep(*w, *g))
            .map(|(_, n)| n)
            .sum()
    }

    pub fn total(&self) -> usize {
        self.count(|_, _| true)
    }

    pub fn labelled(&self, c: C) -> usize {
        self.count(|w, _| w == Some(c))
    }

    pub fn predicted(&self, c: C) -> usize {
        self.count(|_, g| g == Some(c))
    }

    pub fn hits(&self, c: C) -> usize {
        self.count(|w, g| w == Some(c) && g == Some(c))
    }

    pub fn precision(&self, c: C) -> Option<f64> {
        ratio(self.hits(c), self.predicted(c))
    }

    pub fn recall(&self, c: C) -> Option<f64> {
        ratio(self.hits(c), self.labelled(c))
    }

    /// Of the cases labelled `c`, the share whose prediction `keep` accepts.
    pub fn share_of(&self, c: C, keep: impl Fn(Option<C>) -> bool) -> Option<f64> {
        ratio(self.count(|w, g| w == Some(c) && keep(g)), self.labelled(c))
    }

    /// "precision 1.000 (25/26) recall 0.833 (25/30)" (0.000 for a ratio of nothing).
    pub fn describe(&self, c: C) -> String {
        let (hits, predicted, labelled) = (self.hits(c), self.predicted(c), self.labelled(c));
        format!(
            "precision {:.3} ({hits}/{predicted}) recall {:.3} ({hits}/{labelled})",
            self.precision(c).unwrap_or(0.0),
            self.recall(c).unwrap_or(0.0)
        )
    }
}

impl Confusion<IntentClass> {
    /// Ordinary messages handed over as requested or frustrated.
    pub fn ordinary_handed_over(&self) -> Option<f64> {
        self.share_of(IntentClass::Ordinary, |g| {
            g.is_some_and(IntentClass::is_handover)
        })
    }

    /// Ordinary messages taken for small talk (a courtesy, not an answer).
    pub fn ordinary_as_small_talk(&self) -> Option<f64> {
        self.share_of(IntentClass::Ordinary, |g| g == Some(IntentClass::SmallTalk))
    }
}

/// The figures of one run.
#[derive(Debug, Default, Clone)]
struct Tally {
    n: usize,
    /// expect -> (cases, correct)
    by_expect: BTreeMap<Expect, (usize, usize)>,
    /// predicted class -> (predicted, of which correct)
    by_class: BTreeMap<Expect, (usize, usize)>,
    right_answers: usize,
    /// Answerable questions answered with another entry.
    wrong_entry: usize,
    /// Uncovered questions answered anyway.
    answered_uncovered: usize,
    no_knowledge: usize,
    handovers: BTreeMap<&'static str, usize>,
    /// language -> (answerable, right; uncovered, answered)
    by_lang: BTreeMap<String, [usize; 4]>,
    intent: Confusion<IntentClass>,
}

impl Tally {
    fn add(&mut self, case: &Case, got: Got) {
        self.n += 1;
        let ok = correct(case, got);
        let e = self.by_expect.entry(case.expect).or_default();
        e.0 += 1;
        e.1 += usize::from(ok);
        if let Some(class) = got.class() {
            let c = self.by_class.entry(class).or_default();
            c.0 += 1;
            c.1 += usize::from(ok);
        }
        let lang = self
            .by_lang
            .entry(case.lang.clone().unwrap_or_else(|| "?".into()))
            .or_default();
        match (case.expect, got) {
            (Expect::Answer, Got::RightAnswer) => {
                self.right_answers += 1;
                lang[0] += 1;
                lang[1] += 1;
            }
            (Expect::Answer, Got::WrongAnswer) => {
                self.wrong_entry += 1;
                lang[0] += 1;
            }
            (Expect::Answer, _) => lang[0] += 1,
            (Expect::NoKnowledge, g) => {
                lang[2] += 1;
                if g == Got::WrongAnswer {
                    self.answered_uncovered += 1;
                    lang[3] += 1;
                }
            }
            _ => {}
        }
        self.intent
            .add(IntentClass::of_case(case), IntentClass::of_got(got));
        match got {
            Got::NoKnowledge => self.no_knowledge += 1,
            Got::Handover(r) => *self.handovers.entry(r.as_str()).or_default() += 1,
            _ => {}
        }
    }

    fn rate(num: usize, den: usize) -> Value {
        Self::rounded(ratio(num, den))
    }

    /// A ratio to three decimals, `null` for a ratio of nothing.
    fn rounded(r: Option<f64>) -> Value {
        r.map_or(Value::Null, |r| json!((r * 1000.0).round() / 1000.0))
    }

    fn to_json(&self) -> Value {
        let answerable = self.by_expect.get(&Expect::Answer).map_or(0, |e| e.0);
        let uncovered = self.by_expect.get(&Expect::NoKnowledge).map_or(0, |e| e.0);
        let classes: serde_json::Map<String, Value> = Expect::ALL
            .iter()
            .filter(|c| self.by_expect.contains_key(c) || self.by_class.contains_key(c))
            .map(|c| {
                let (cases, right) = self.by_expect.get(c).copied().unwrap_or_default();
                let (predicted, correct) = self.by_class.get(c).copied().unwrap_or_default();
                (
                    c.as_str().to_owned(),
                    json!({
                        "cases": cases,
                        "recall": Self::rate(right, cases),
                        "predicted": predicted,
                        "precision": Self::rate(correct, predicted),
                    }),
                )
            })
            .collect();
        let langs: serde_json::Map<String, Value> = self
            .by_lang
            .iter()
            .map(|(l, [a, r, u, w])| {
                (
                    l.clone(),
                    json!({
                        "answerable": a, "right_answers": Self::rate(*r, *a),
                        "uncovered": u, "answered_uncovered": Self::rate(*w, *u),
                    }),
                )
            })
            .collect();
        let labelled = |c: &IntentClass| self.intent.labelled(*c) > 0;
        let intent: serde_json::Map<String, Value> = if IntentClass::REPORTED.iter().any(labelled) {
            IntentClass::REPORTED
                .iter()
                .map(|c| {
                    (
                        c.as_str().to_owned(),
                        json!({
                            "cases": self.intent.labelled(*c),
                            "predicted": self.intent.predicted(*c),
                            "precision": Self::rounded(self.intent.precision(*c)),
                            "recall": Self::rounded(self.intent.recall(*c)),
                        }),
                    )
                })
                .collect()
        } else {
            serde_json::Map::new()
        };
        json!({
            "cases": self.n,
            "answerable": answerable,
            "right_answers": self.right_answers,
            "right_answer_rate": Self::rate(self.right_answers, answerable),
            "wrong_entry": self.wrong_entry,
            "wrong_entry_rate": Self::rate(self.wrong_entry, answerable),
            "uncovered": uncovered,
            "answered_uncovered": self.answered_uncovered,
            "answered_uncovered_rate": Self::rate(self.answered_uncovered, uncovered),
            "no_knowledge": self.no_knowledge,
            "handovers": self.handovers,
            "classes": classes,
            "languages": langs,
            "intent": intent,
            "ordinary": {
                "cases": self.intent.labelled(IntentClass::Ordinary),
                "handed_over": Self::rounded(self.intent.ordinary_handed_over()),
                "as_small_talk": Self::rounded(self.intent.ordinary_as_small_talk()),
            },
        })
    }
}

/// Scores `cases` with `responder` under `policy`; `progress` is called after each case.
async fn score(
    responder: &Arc<dyn Responder>,
    policy: &Policy,
    cases: &[Case],
    timeout: Duration,
    mut progress: impl FnMut(usize),
) -> (Tally, Vec<(Got, Verdict)>) {
    let now = jiff::Timestamp::now();
    let mut tally = Tally::default();
    let mut out = Vec::with_capacity(cases.len());
    for (i, case) in cases.iter().enumerate() {
        let ex = Exchange {
            previous: case.previous.clone(),
            answered: case.answered,
            text: case.text.clone(),
            language: None,
        };
        let verdict = conversation::run(responder, policy, &ex, now, timeout).await;
        let got = judge(case, &verdict);
        tally.add(case, got);
        out.push((got, verdict));
        progress(i + 1);
    }
    (tally, out)
}

/// The evaluation of `cases` by the bot `config` describes over `entries`: the figures at the
/// configured `kb.confidence`, each case's verdict, and (for the `kb` responder) the figures at
/// every value of [`CONFIDENCE_STEPS`]. `quiet` silences the progress lines.
pub async fn evaluate(
    config: &Config,
    entries: Vec<KbEntry>,
    cases: &[Case],
    quiet: bool,
) -> anyhow::Result<Value> {
    let policy = crate::daemon::policy_for(config, config.bot.user_id.unwrap_or(1));
    let embedder = build_embedder(config)?;
    let timeout = config.timing.answer_deadline.max(Duration::from_secs(1));
    let build = |config: &Config| -> anyhow::Result<Arc<dyn Responder>> {
        let kb = Kb::from_entries_with(entries.clone(), embedder.clone())?;
        build_responder_with(config, kb)
    };
    let total = cases.len();
    let progress = |label: String| {
        move |done: usize| {
            if !quiet && (done.is_multiple_of(50) || done == total) {
                eprintln!("eval {label}: {done}/{total}");
            }
        }
    };
    let responder = build(config)?;
    let (tally, verdicts) = score(
        &responder,
        &policy,
        cases,
        timeout,
        progress("configured".into()),
    )
    .await;
    let mut table = Vec::new();
    if config.responder.kind == ResponderKind::Kb {
        for c in CONFIDENCE_STEPS {
            let mut at = config.clone();
            at.kb.confidence = c;
            at.kb.deprecated_min_score = None;
            let responder = build(&at)?;
            let (t, _) = score(
                &responder,
                &policy,
                cases,
                timeout,
                progress(format!("confidence {c}")),
            )
            .await;
            let mut row = t.to_json();
            row["confidence"] = json!(c);
            table.push(row);
        }
    }
    let detail: Vec<Value> = cases
        .iter()
        .zip(&verdicts)
        .map(|(case, (got, verdict))| {
            let (decision, sources, score) = match verdict {
                Verdict::Answer { sources, score, .. } => ("answer", sources.clone(), Some(*score)),
                Verdict::Courtesy { .. } => ("courtesy", vec![], None),
                Verdict::Silent => ("none", vec![], None),
                Verdict::Handover { reason, score } => (reason.as_str(), vec![], *score),
            };
            json!({
                "text": case.text,
                "expect": case.expect.as_str(),
                "entry": case.entry,
                "decision": decision,
                "sources": sources,
                "score": score,
                "correct": correct(case, *got),
            })
        })
        .collect();
    let mut summary = tally.to_json();
    summary["confidence"] = json!(config.kb.confidence);
    summary["responder"] = json!(responder.name());
    Ok(json!({ "summary": summary, "table": table, "cases": detail }))
}

fn pct(v: &Value) -> String {
    v.as_f64()
        .map_or_else(|| "-".to_owned(), |x| format!("{:.3}", x))
}

/// The readable report of [`evaluate`]'s result.
pub fn render(result: &Value) -> String {
    let s = &result["summary"];
    let mut out = String::new();
    out.push_str(&format!(
        "{} cases, responder {}, kb.confidence {}\n",
        s["cases"],
        s["responder"].as_str().unwrap_or("?"),
        s["confidence"]
    ));
    out.push_str(&format!(
        "right answers:        {} of {} answerable ({})\n",
        s["right_answers"],
        s["answerable"],
        pct(&s["right_answer_rate"])
    ));
    out.push_str(&format!(
        "wrong entry:          {} of {} answerable ({})\n",
        s["wrong_entry"],
        s["answerable"],
        pct(&s["wrong_entry_rate"])
    ));
    out.push_str(&format!(
        "uncovered answered:   {} of {} uncovered ({})\n",
        s["answered_uncovered"],
        s["uncovered"],
        pct(&s["answered_uncovered_rate"])
    ));
    out.push_str(&format!("no knowledge:         {}\n", s["no_knowledge"]));
    out.push_str(&format!("handovers by reason:  {}\n", s["handovers"]));
    // One table layout for the answer classes and the intent classes.
    let class_table =
        |out: &mut String, heading: &str, classes: &serde_json::Map<String, Value>| {
            out.push_str(&format!(
                "\n{heading:<13} cases  recall  predicted  precision\n"
            ));
            for (name, c) in classes {
                out.push_str(&format!(
                    "{name:<13} {:>5}  {:>6}  {:>9}  {:>9}\n",
                    c["cases"],
                    pct(&c["recall"]),
                    c["predicted"],
                    pct(&c["precision"])
                ));
            }
        };
    if let Some(classes) = s["classes"].as_object() {
        class_table(&mut out, "class", classes);
    } else {
        out.push_str("\nclass         cases  recall  predicted  precision\n");
    }
    if let Some(intent) = s["intent"].as_object().filter(|i| !i.is_empty()) {
        class_table(&mut out, "intent", intent);
        let o = &s["ordinary"];
        out.push_str(&format!(
            "ordinary messages: {}, handed over as requested/frustrated {}, taken for small talk {}\n",
            o["cases"],
            pct(&o["handed_over"]),
            pct(&o["as_small_talk"])
        ));
    }
    out.push_str("\nlanguage  answerable  right  uncovered  answered\n");
    if let Some(langs) = s["languages"].as_object() {
        for (name, l) in langs {
            out.push_str(&format!(
                "{name:<8}  {:>10}  {:>5}  {:>9}  {:>8}\n",
                l["answerable"],
                pct(&l["right_answers"]),
                l["uncovered"],
                pct(&l["answered_uncovered"])
            ));
        }
    }
    if let Some(rows) = result["table"].as_array().filter(|r| !r.is_empty()) {
        out.push_str(
            "\nkb.confidence  right answers  wrong entry  uncovered answered  no knowledge\n",
        );
        for r in rows {
            out.push_str(&format!(
                "{:<13}  {:>13}  {:>11}  {:>18}  {:>12}\n",
                r["confidence"],
                pct(&r["right_answer_rate"]),
                pct(&r["wrong_entry_rate"]),
                pct(&r["answered_uncovered_rate"]),
                r["no_knowledge"]
            ));
        }
    }
    out
}

/// `perfectbot eval`.
pub async fn run(config_path: &Path, cases_path: &Path, as_json: bool) -> anyhow::Result<()> {
    let config = crate::ops::load_offline(config_path)?;
    let mut entries = crate::responder::kb::read_dir_entries(&config.kb.dir)
        .with_context(|| format!("reading the knowledge files in {}", config.kb.dir.display()))?;
    if config.ledger.path.is_file() {
        let ledger = crate::ops::open_ledger(&config.ledger.path).await?;
        let learned = ledger
            .learned()
            .await
            .with_context(|| format!("reading the ledger {}", config.ledger.path.display()))?;
        entries.extend(learned.iter().map(crate::knowledge::learned_entry));
    }
    let cases = read_cases(cases_path, &entries)?;
    let result = evaluate(&config, entries, &cases, false).await?;
    if as_json {
        println!("{}", serde_json::to_string_pretty(&result)?);
    } else {
        print!("{}", render(&result));
    }
    Ok(())
}
