use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use super::entries::*;
use super::index::*;
use super::responder::*;
use super::terms::*;
use super::*;
use crate::responder::embed::{self, Embedder};
use crate::responder::{Outcome, Responder, Turn, lang};

fn data(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(path)
}

fn entry(id: &str, question: &str, answer: &str) -> KbEntry {
    KbEntry {
        id: id.to_owned(),
        question: question.to_owned(),
        answer: answer.to_owned(),
        keywords: vec![],
        language: None,
        source: "test".to_owned(),
    }
}

fn write(dir: &Path, name: &str, content: &str) {
    std::fs::write(dir.join(name), content).unwrap();
}

#[derive(Deserialize)]
struct EvalSet {
    paraphrases: Vec<Paraphrase>,
    unrelated: Vec<Unrelated>,
}
#[derive(Deserialize, Clone)]
struct Paraphrase {
    text: String,
    expected: String,
    /// Written before the recall tuning and never tuned on.
    #[serde(default)]
    held_out: bool,
}
#[derive(Deserialize, Clone)]
struct Unrelated {
    text: String,
    #[serde(default)]
    held_out: bool,
}

struct Figures {
    /// Answered, with the expected entry.
    accuracy: f64,
    /// Paraphrases answered with another entry.
    paraphrase_wrong: f64,
    /// Unrelated questions answered at all.
    wrong_answer_rate: f64,
}

/// The part of the set with `held_out` equal to `held_out`.
fn part(set: &EvalSet, held_out: bool) -> EvalSet {
    EvalSet {
        paraphrases: set
            .paraphrases
            .iter()
            .filter(|p| p.held_out == held_out)
            .cloned()
            .collect(),
        unrelated: set
            .unrelated
            .iter()
            .filter(|u| u.held_out == held_out)
            .cloned()
            .collect(),
    }
}

fn measure(kb: &Kb, set: &EvalSet, min_score: f64) -> Figures {
    let responder = KbResponder::new(Kb::from_entries(kb.entries()).unwrap(), min_score);
    let mut right = 0;
    let mut wrong = 0;
    for p in &set.paraphrases {
        if let Outcome::Answer { sources, .. } = responder.decide(&p.text, None) {
            if sources == [p.expected.clone()] {
                right += 1;
            } else {
                wrong += 1;
            }
        }
    }
    let answered = set
        .unrelated
        .iter()
        .filter(|u| matches!(responder.decide(&u.text, None), Outcome::Answer { .. }))
        .count();
    let n = set.paraphrases.len() as f64;
    Figures {
        accuracy: right as f64 / n,
        paraphrase_wrong: wrong as f64 / n,
        wrong_answer_rate: answered as f64 / set.unrelated.len() as f64,
    }
}

#[test]
fn default_threshold_meets_the_calibration_floors() {
    let kb = Kb::load_dir(&data("kb")).unwrap();
    let raw = std::fs::read_to_string(data("kb_paraphrases.toml")).unwrap();
    let set: EvalSet = toml::from_str(&raw).unwrap();
    assert!(set.paraphrases.len() >= 60 && set.unrelated.len() >= 30);
    let ids: HashSet<String> = kb.entries().into_iter().map(|e| e.id).collect();
    for p in &set.paraphrases {
        assert!(ids.contains(&p.expected), "unknown id {}", p.expected);
    }
    let ranked_first = |set: &EvalSet| {
        set.paraphrases
            .iter()
            .filter(|p| kb.search(&p.text, 1).first().map(|(e, _)| &e.id) == Some(&p.expected))
            .count() as f64
            / set.paraphrases.len() as f64
    };
    let (tuned, held) = (part(&set, false), part(&set, true));
    println!(
        "kb calibration: {} entries; tuned part {} paraphrases / {} unrelated, held-out part {} / {}; expected entry ranked first: tuned {:.3}, held-out {:.3}",
        kb.len(),
        tuned.paraphrases.len(),
        tuned.unrelated.len(),
        held.paraphrases.len(),
        held.unrelated.len(),
        ranked_first(&tuned),
        ranked_first(&held),
    );
    println!("kb confidence | part     | top-1 acc | paraphrases wrong | unrelated answered");
    for min_score in [0.5, 0.6, 0.7, 0.75, 0.8, 0.9] {
        for (name, part) in [("tuned", &tuned), ("held-out", &held), ("all", &set)] {
            let f = measure(&kb, part, min_score);
            println!(
                "kb {min_score:>9.2} | {name:<8} | {:>9.3} | {:>17.3} | {:>18.3}",
                f.accuracy, f.paraphrase_wrong, f.wrong_answer_rate
            );
        }
    }
    if std::env::var_os("KB_EVAL_MISSES").is_some() {
        let r = KbResponder::new(Kb::from_entries(kb.entries()).unwrap(), DEFAULT_CONFIDENCE);
        // The tuned part only: looking at held-out misses would make them tuned too.
        for p in &tuned.paraphrases {
            let out = r.decide(&p.text, None);
            let ok = matches!(&out, Outcome::Answer { sources, .. } if sources[0] == p.expected);
            if !ok {
                let top = kb.search(&p.text, 2);
                println!(
                    "MISS {:?} want {} got {:?}; terms {:?}; top {:?}",
                    p.text,
                    p.expected,
                    out,
                    query_terms(&p.text),
                    top.iter()
                        .map(|(e, s)| (e.id.clone(), *s))
                        .collect::<Vec<_>>()
                );
            }
        }
        for u in &tuned.unrelated {
            if let Outcome::Answer { sources, score, .. } = r.decide(&u.text, None) {
                println!("WRONG {:?} -> {sources:?} {score:.2}", u.text);
            }
        }
    }
    // Just under the figures reached, so that a change that loses recall or answers more
    // strangers fails here. With BM25 alone (min_score 1.0) they were tuned: 0.914 / 0.088 /
    // 0.029, held-out: 0.667 / 0.200 / 0.067. With the hybrid decision at the default
    // confidence 0.75, the decision fitted on the three blind development writers
    // (tests/data/eval/kb_dev*), they are tuned: 0.643 / 0.000 / 0.000, held-out: 0.567 / 0.000
    // / 0.000 (the decision fitted on the first writer alone: 0.757 / 0.000 / 0.014 and 0.600 /
    // 0.000 / 0.000): the tuned part was BM25's own tuning set, and the stricter decision answers
    // no unrelated question.
    let f = measure(&kb, &tuned, DEFAULT_CONFIDENCE);
    assert!(f.accuracy >= 0.62, "accuracy {:.3}", f.accuracy);
    assert!(
        f.wrong_answer_rate <= 0.03,
        "wrong-answer rate {:.3}",
        f.wrong_answer_rate
    );
    assert!(
        f.paraphrase_wrong <= 0.03,
        "paraphrases answered wrongly {:.3}",
        f.paraphrase_wrong
    );
    let f = measure(&kb, &held, DEFAULT_CONFIDENCE);
    assert!(f.accuracy >= 0.55, "held-out accuracy {:.3}", f.accuracy);
    assert!(
        f.wrong_answer_rate <= 0.05,
        "held-out wrong-answer rate {:.3}",
        f.wrong_answer_rate
    );
    assert!(
        f.paraphrase_wrong <= 0.03,
        "held-out paraphrases answered wrongly {:.3}",
        f.paraphrase_wrong
    );
}

#[test]
fn example_knowledge_base_loads_toml_and_markdown() {
    let kb = Kb::load_dir(&data("kb")).unwrap();
    let entries = kb.entries();
    assert!(kb.len() >= 23, "{}", kb.len());
    assert_eq!(entries[0].id, "faq.md#1");
    let first_toml = entries.iter().find(|e| e.id == "shop.toml#1").unwrap();
    assert_eq!(first_toml.question, "How long does shipping take?");
    assert!(first_toml.keywords.contains(&"delivery time".to_owned()));
    assert!(first_toml.source.ends_with("shop.toml"));
}

#[test]
fn markdown_entries_run_until_the_next_heading() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "faq.md",
        "# Title\nintro text is ignored\n\n## First question?\nline one\n\n```\n## not a heading\n```\nline two\n## Second question ##\nsecond answer\n# Appendix\nignored\n",
    );
    let kb = Kb::load_dir(dir.path()).unwrap();
    let e = kb.entries();
    assert_eq!(e.len(), 2);
    assert_eq!(e[0].id, "faq.md#1");
    assert_eq!(e[0].question, "First question?");
    assert_eq!(
        e[0].answer,
        "line one\n\n```\n## not a heading\n```\nline two"
    );
    assert_eq!(e[1].question, "Second question");
    assert_eq!(e[1].answer, "second answer");
}

#[test]
fn file_language_is_the_default_for_its_entries() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "fr.toml",
        "language = \"FR\"\n[[entries]]\nquestion = \"q\"\nanswer = \"a\"\n[[entries]]\nquestion = \"q2\"\nanswer = \"a2\"\nlanguage = \"de\"\n",
    );
    let e = Kb::load_dir(dir.path()).unwrap().entries();
    assert_eq!(e[0].language.as_deref(), Some("fr"));
    assert_eq!(e[1].language.as_deref(), Some("de"));
}

#[test]
fn a_knowledge_file_past_the_size_cap_fails_by_name() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "ok.md", "## Q?\nA.\n");
    let huge = std::fs::File::create(dir.path().join("dump.md")).unwrap();
    huge.set_len(MAX_KB_FILE_BYTES + 1).unwrap();
    let err = Kb::load_dir(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("dump.md") && err.contains("larger than the 16 MiB"),
        "{err}"
    );
    assert!(read_capped(&dir.path().join("ok.md"), MAX_KB_FILE_BYTES).is_ok());
}

#[test]
fn entry_without_answer_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "bad.toml",
        "[[entries]]\nquestion = \"a\"\nanswer = \"b\"\n[[entries]]\nquestion = \"c\"\nanswer = \"d\"\n[[entries]]\nquestion = \"e\"\n",
    );
    let err = Kb::load_dir(dir.path()).unwrap_err().to_string();
    assert!(err.contains("bad.toml"), "{err}");
    assert!(err.contains("entry 3 lacks `answer`"), "{err}");
}

#[test]
fn unknown_keys_and_bad_syntax_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "typo.toml",
        "[[entries]]\nquestion = \"a\"\nanwser = \"b\"\n",
    );
    let err = Kb::load_dir(dir.path()).unwrap_err().to_string();
    assert!(err.contains("typo.toml") && err.contains("anwser"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "broken.toml", "[[entries]\nquestion = ");
    let err = Kb::load_dir(dir.path()).unwrap_err().to_string();
    assert!(err.contains("broken.toml"), "{err}");
}

#[test]
fn markdown_heading_without_answer_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "faq.md", "## Has one\nyes\n## Has none\n\n");
    let err = Kb::load_dir(dir.path()).unwrap_err().to_string();
    assert!(err.contains("faq.md") && err.contains("entry 2"), "{err}");
    assert!(err.contains("Has none"), "{err}");
}

#[test]
fn empty_or_missing_folder_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "notes.txt", "not knowledge");
    let err = Kb::load_dir(dir.path()).unwrap_err().to_string();
    assert!(err.starts_with("no knowledge entries in "), "{err}");
    assert!(err.contains(&dir.path().display().to_string()), "{err}");

    let missing = dir.path().join("nope");
    let err = Kb::load_dir(&missing).unwrap_err().to_string();
    assert!(
        err.contains("no knowledge entries in") && err.contains("nope"),
        "{err}"
    );
}

#[test]
fn duplicate_ids_are_refused() {
    let err = Kb::from_entries(vec![entry("x#1", "q", "a"), entry("x#1", "q2", "a2")])
        .unwrap_err()
        .to_string();
    assert!(err.contains("x#1") && err.contains("twice"), "{err}");
}

#[test]
fn search_ranks_the_matching_question_first() {
    let kb = Kb::from_entries(vec![
        entry("a", "How long does shipping take?", "Two to four days."),
        entry(
            "b",
            "Which payment methods do you accept?",
            "Cards and PayPal.",
        ),
    ])
    .unwrap();
    let hits = kb.search("can I pay with paypal", 5);
    assert_eq!(hits[0].0.id, "b");
    assert!(hits.iter().all(|(e, _)| e.id != "a"));
    assert!(kb.search("the of and", 5).is_empty());
    assert!(kb.search("", 5).is_empty());
    assert!(kb.search("!!! \"quotes\" OR * NEAR(", 5).is_empty());
}

#[test]
fn stemming_and_diacritics_still_match() {
    let kb = Kb::from_entries(vec![
        entry("ship", "Shipping costs", "Free over 50 EUR."),
        entry("cafe", "Café opening times", "From 8."),
    ])
    .unwrap();
    assert_eq!(kb.search("what does it cost to ship?", 1)[0].0.id, "ship");
    assert_eq!(kb.search("cafe", 1)[0].0.id, "cafe");
}

#[test]
fn synonyms_match_and_count_once() {
    let kb = Kb::from_entries(vec![
        entry("card", "Do you take credit cards?", "Yes, all of them."),
        entry("wrap", "Gift wrapping", "3 EUR."),
        entry("ship", "Shipping costs", "Free over 50 EUR."),
    ])
    .unwrap();
    let hit = kb.search("can I pay with amex", 1);
    assert_eq!(hit[0].0.id, "card");
    // "present" and "gift" are one term: the text's coverage is full, not doubled (the BM25
    // side; the dense side reads the words as they are).
    let one = kb.retrieve("gift wrapping", 1)[0].1.bm25;
    let both = kb.retrieve("gift present wrapping", 1)[0].1.bm25;
    assert_eq!(kb.search("present wrapping", 1)[0].0.id, "wrap");
    assert!((one - both).abs() < 1e-9, "{one} vs {both}");
    // "free of charge" is not a question about prices.
    assert!(
        search_terms("are returns free of charge?")
            .iter()
            .all(|g| !g.contains(&"cost".to_owned()))
    );
    assert!(
        search_terms("what do you charge")
            .iter()
            .any(|g| g.contains(&"cost".to_owned()))
    );
    assert!(
        search_terms("where is it right now, still waiting")
            .iter()
            .all(|g| g[0] != "right" && g[0] != "still")
    );
}

#[tokio::test]
async fn ledger_index_is_rewritten_whole_and_an_older_kb_skips_rows_it_does_not_know() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let _ledger = crate::ledger::Ledger::open(&path).await.unwrap();
    let store = KbStore::for_ledger(&path);
    let old = store
        .build(vec![entry("wrap", "Gift wrapping", "3 EUR.")])
        .unwrap();
    assert_eq!(old.search("gift wrapping", 1)[0].0.id, "wrap");
    let new = store
        .build(vec![entry("student", "Student discount", "10%.")])
        .unwrap();
    assert_eq!(new.search("student discount", 1)[0].0.id, "student");
    assert!(new.search("gift wrapping", 1).is_empty());
    // The old knowledge base now reads the new index (not yet swapped out): it answers
    // nothing rather than another entry.
    assert!(old.search("student discount", 1).is_empty());
    let rows: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("SELECT count(*) FROM kb_index", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 1);
}

#[test]
fn ledger_store_without_a_ledger_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("none.db");
    let err = KbStore::Ledger(path.clone())
        .build(vec![entry("a", "q", "a")])
        .unwrap_err()
        .to_string();
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(!path.exists());
}

#[tokio::test]
async fn responder_answers_above_the_threshold_and_declines_below() {
    let kb = Kb::load_dir(&data("kb")).unwrap();
    let responder = KbResponder::new(kb, DEFAULT_CONFIDENCE);
    let turn = Turn::from_message("Which payment methods do you accept?");
    match responder.answer(&turn).await.unwrap() {
        Outcome::Answer {
            text,
            sources,
            score,
        } => {
            assert!(text.contains("PayPal"));
            assert_eq!(sources, vec!["shop.toml#8".to_owned()]);
            assert!(score >= DEFAULT_CONFIDENCE);
        }
        other => panic!("expected an answer, got {other:?}"),
    }
    // The dense side ranks every entry, so "no knowledge" now carries the best confidence.
    let turn = Turn::from_message("what is the meaning of life");
    match responder.answer(&turn).await.unwrap() {
        Outcome::NoKnowledge {
            best_score: Some(s),
        } => assert!(s < DEFAULT_CONFIDENCE, "{s}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn responder_joins_the_turns_messages() {
    let kb = Kb::load_dir(&data("kb")).unwrap();
    let responder = KbResponder::new(kb, DEFAULT_CONFIDENCE);
    let turn = Turn {
        messages: vec!["hi".into(), "i forgot my password".into()],
        ..Turn::default()
    };
    let out = responder.answer(&turn).await.unwrap();
    assert!(matches!(out, Outcome::Answer { ref sources, .. } if sources[0] == "shop.toml#20"));
}

#[tokio::test]
async fn macro_variables_are_rendered_per_turn_or_the_entry_is_not_used() {
    let kb = Kb::from_entries(vec![entry(
        "macro:7",
        "Replacement laces for hiking boots",
        "Hi {{ticket.customer.firstname}}, laces cost 4 EUR.",
    )])
    .unwrap();
    let r = KbResponder::new(kb, crate::responder::hybrid::DEFAULT_CONFIDENCE);
    let named = Turn {
        customer_name: Some("Ada Lovelace".into()),
        ..Turn::from_message("replacement laces for hiking boots")
    };
    match r.answer(&named).await.unwrap() {
        Outcome::Answer { text, .. } => assert_eq!(text, "Hi Ada, laces cost 4 EUR."),
        other => panic!("{other:?}"),
    }
    // No name known: the macro is not used for this ticket.
    let anonymous = Turn::from_message("replacement laces for hiking boots");
    assert!(matches!(
        r.answer(&anonymous).await.unwrap(),
        Outcome::NoKnowledge { .. }
    ));
}

#[test]
fn an_answer_in_another_language_than_the_customers_says_so() {
    // Entries in another language used to be skipped; now they answer, led in by a line in
    // the customer's language naming the answer's language (or not at all when no such
    // line exists).
    let mut fr = entry("fr", "Livraison gratuite ?", "Oui, dès 50 EUR.");
    fr.language = Some("fr".into());
    let responder = KbResponder::new(Kb::from_entries(vec![fr.clone()]).unwrap(), 0.0);
    match responder.decide("est-ce que la livraison est gratuite ?", Some("en")) {
        Outcome::Answer { text, .. } => assert_eq!(text, "Oui, dès 50 EUR."),
        other => panic!("{other:?}"),
    }
    match responder.decide("is the delivery free, livraison gratuite?", Some("de")) {
        Outcome::Answer { text, .. } => {
            assert!(
                text.starts_with("Our answer to this is written in French:\n\n"),
                "{text}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        answer_text(&fr, Some("de"))
            .unwrap()
            .lines()
            .next()
            .unwrap(),
        "Unsere Antwort darauf ist auf Französisch verfasst:"
    );
    let mut sv = entry("sv", "Fri frakt?", "Ja.");
    sv.language = Some("sv".into());
    assert_eq!(answer_text(&sv, Some("fr")), None);
    assert_eq!(answer_text(&sv, None).as_deref(), Some("Ja."));
}

#[test]
fn questions_in_other_languages_find_the_english_entry_or_a_same_language_one() {
    let kb = Kb::load_dir(&data("kb")).unwrap();
    let english = kb.entries();
    let responder = KbResponder::new(kb, DEFAULT_CONFIDENCE);
    for (text, want, lead) in [
        (
            "Combien coûte la livraison ?",
            "shop.toml#2",
            "Notre réponse",
        ),
        (
            "Wie kann ich mein Passwort zurücksetzen?",
            "shop.toml#20",
            "Unsere Antwort",
        ),
        (
            "¿Puedo cancelar mi pedido?",
            "shop.toml#11",
            "Nuestra respuesta",
        ),
    ] {
        match responder.decide(text, None) {
            Outcome::Answer {
                text: answer,
                sources,
                ..
            } => {
                assert_eq!(sources, vec![want.to_owned()], "{text}");
                assert!(answer.starts_with(lead), "{text}: {answer}");
            }
            other => panic!("{text}: {other:?}"),
        }
    }
    // With an entry written in the customer's language, that one answers, as written.
    let mut entries = english;
    let mut fr = entry(
        "frais-fr",
        "Combien coûte la livraison ?",
        "La livraison coûte 4,90 EUR, offerte dès 50 EUR.",
    );
    fr.language = Some("fr".into());
    entries.push(fr);
    let responder = KbResponder::new(Kb::from_entries(entries).unwrap(), DEFAULT_CONFIDENCE);
    match responder.decide("combien coûte la livraison en France ?", None) {
        Outcome::Answer { text, sources, .. } => {
            assert_eq!(sources, vec!["frais-fr".to_owned()]);
            assert_eq!(text, "La livraison coûte 4,90 EUR, offerte dès 50 EUR.");
        }
        other => panic!("{other:?}"),
    }
}

/// The built-in model, counting the texts it embeds.
struct Counting(std::sync::atomic::AtomicUsize);
impl Embedder for Counting {
    fn model_id(&self) -> &str {
        embed::BUILTIN_ID
    }
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, embed::EmbedError> {
        self.0
            .fetch_add(texts.len(), std::sync::atomic::Ordering::SeqCst);
        embed::builtin().embed(texts)
    }
}

#[tokio::test]
async fn ledger_build_embeds_only_new_or_changed_texts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let _ledger = crate::ledger::Ledger::open(&path).await.unwrap();
    let store = KbStore::for_ledger(&path);
    let counting = Arc::new(Counting(Default::default()));
    let count = || counting.0.load(std::sync::atomic::Ordering::SeqCst);
    let e: Option<Arc<dyn Embedder>> = Some(counting.clone());
    let a = entry("a", "Gift wrapping", "3 EUR.");
    let b = entry("b", "Student discount", "10%.");
    let kb = store
        .build_with(vec![a.clone(), b.clone()], e.clone())
        .unwrap();
    assert_eq!(count(), 4, "two texts per entry");
    assert_eq!(kb.embedding_model(), Some(embed::BUILTIN_ID));
    // A restart: everything is cached.
    store
        .build_with(vec![a.clone(), b.clone()], e.clone())
        .unwrap();
    assert_eq!(count(), 4);
    // One answer edited: its long text only.
    let mut b2 = b.clone();
    b2.answer = "15% with a student card.".into();
    let kb = store.build_with(vec![a.clone(), b2], e.clone()).unwrap();
    assert_eq!(count(), 5);
    assert_eq!(kb.retrieve("student discount", 1)[0].0.id, "b");
    // The old long text was forgotten: the cache holds what is in use.
    let rows: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("SELECT count(*) FROM kb_vectors", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 4);
    // Without a model, BM25 alone.
    let kb = store.build_with(vec![a, b], None).unwrap();
    assert_eq!(kb.embedding_model(), None);
    assert_eq!(kb.search("gift wrapping", 1)[0].0.id, "a");
}

#[test]
fn hybrid_retrieval_uses_both_rankings() {
    let kb = Kb::load_dir(&data("kb")).unwrap();
    let bm25_only = Kb::from_entries_with(kb.entries(), None).unwrap();
    let text = "how many days till my stuff gets here";
    let hits = kb.retrieve(text, 40);
    assert_eq!(hits[0].0.id, "shop.toml#1");
    assert!(hits[0].1.dense.is_some());
    // The dense side ranks every entry; BM25 alone only the ones sharing words.
    assert_eq!(hits.len(), kb.len());
    assert!(bm25_only.retrieve(text, 40).len() < kb.len());
    assert!(
        bm25_only
            .retrieve(text, 1)
            .iter()
            .all(|(_, e)| e.dense.is_none())
    );
}

#[test]
fn replace_swaps_the_knowledge_base() {
    let responder = KbResponder::new(
        Kb::from_entries(vec![entry("old", "Gift wrapping", "Yes.")]).unwrap(),
        DEFAULT_CONFIDENCE,
    );
    assert!(matches!(
        responder.decide("gift wrapping", None),
        Outcome::Answer { .. }
    ));
    responder.replace(Kb::from_entries(vec![entry("new", "Student discount", "10%.")]).unwrap());
    assert!(matches!(
        responder.decide("gift wrapping", None),
        Outcome::NoKnowledge { .. }
    ));
    assert!(
        matches!(responder.decide("student discount", None), Outcome::Answer { ref sources, .. } if sources[0] == "new")
    );
    assert_eq!(responder.kb().read().unwrap().len(), 1);
}

/// The raw evidence for every case of a labelled file, for fitting the answer decision
/// offline (`scripts/fit_kb_calibration.py` says how): per reading of the text (the text and
/// its English reading), every entry's scores. Only ever run on development files.
#[test]
#[ignore]
fn dump_kb_evidence() {
    use std::io::Write as _;
    let (Some(cases), Some(out)) = (
        std::env::var_os("KB_DUMP_CASES"),
        std::env::var_os("KB_DUMP_OUT"),
    ) else {
        return;
    };
    let kb = Kb::load_dir(&data("kb")).unwrap();
    let ids: Vec<String> = kb.entries().into_iter().map(|e| e.id).collect();
    let mut f = std::fs::File::create(out).unwrap();
    for line in std::fs::read_to_string(cases).unwrap().lines() {
        let case: serde_json::Value = serde_json::from_str(line).unwrap();
        let text = case["text"].as_str().unwrap();
        let mut variants = serde_json::Map::new();
        let mut add = |name: &str, t: &str| {
            let (b, c, d) = kb.raw_scores(t);
            variants.insert(
                name.to_owned(),
                serde_json::json!({"text": t, "bm25": b, "cov": c, "dense": d}),
            );
        };
        add("orig", text);
        if let Some(t) = lang::to_english(text) {
            add("tr", &t.text);
        }
        let row = serde_json::json!({
            "text": text, "expect": case["expect"], "entry": case["entry"],
            "lang": case["lang"], "ids": ids, "v": variants,
        });
        writeln!(f, "{row}").unwrap();
    }
}
