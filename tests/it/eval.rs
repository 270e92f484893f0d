//! `perfectbot eval` over the labelled knowledge sets, through the daemon's decision path, with
//! floors a little under the figures measured, so that a change that loses right answers or
//! answers more uncovered questions fails here. The dev file was tuned on; the held-out file
//! never was (its figures were measured once, after the tuning was done).

use std::path::{Path, PathBuf};

use perfectbot::eval::{evaluate, read_cases};
use perfectbot::responder::kb::read_dir_entries;

fn data(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(p)
}

async fn summary(config: &str, cases: &str) -> serde_json::Value {
    let config = perfectbot::ops::load_offline(&data(config)).unwrap();
    let entries = read_dir_entries(&config.kb.dir).unwrap();
    let cases = read_cases(&data(cases), &entries).unwrap();
    let result = evaluate(&config, entries, &cases, true).await.unwrap();
    assert_eq!(result["table"].as_array().unwrap().len(), 9);
    result["summary"].clone()
}

fn en(s: &serde_json::Value, key: &str) -> f64 {
    s["languages"]["en"][key].as_f64().unwrap()
}

#[tokio::test]
async fn dev_set_meets_its_floors() {
    let s = summary("eval/configs/default.toml", "eval/kb_dev.jsonl").await;
    eprintln!("{s}");
    // Measured (kb.confidence 0.8): English 0.545 right, 0.091 uncovered answered; the six
    // other languages against the English knowledge base 0.467 right, 0.038 uncovered answered.
    assert!(en(&s, "right_answers") >= 0.53, "{s}");
    assert!(en(&s, "answered_uncovered") <= 0.1, "{s}");
    assert!(s["wrong_entry_rate"].as_f64().unwrap() <= 0.03, "{s}");
    let (right, uncovered) = other_languages(&s);
    assert!(right >= 0.44, "{s}");
    assert!(uncovered <= 0.08, "{s}");
}

/// The share of right answers and of uncovered questions answered over the languages other
/// than English, from the per-language figures.
fn other_languages(s: &serde_json::Value) -> (f64, f64) {
    let (mut answerable, mut right, mut uncovered, mut answered) = (0.0, 0.0, 0.0, 0.0);
    for (lang, l) in s["languages"].as_object().unwrap() {
        if lang == "en" {
            continue;
        }
        let a = l["answerable"].as_f64().unwrap();
        let u = l["uncovered"].as_f64().unwrap();
        answerable += a;
        right += a * l["right_answers"].as_f64().unwrap_or(0.0);
        uncovered += u;
        answered += u * l["answered_uncovered"].as_f64().unwrap_or(0.0);
    }
    assert!(answerable > 0.0 && uncovered > 0.0);
    (right / answerable, answered / uncovered)
}

#[tokio::test]
async fn held_out_set_meets_its_floors() {
    let s = summary("eval/configs/default.toml", "eval/kb_heldout.jsonl").await;
    eprintln!("{s}");
    assert!(en(&s, "right_answers") >= HELD_OUT_RIGHT_EN, "{s}");
    assert!(en(&s, "answered_uncovered") <= HELD_OUT_UNCOVERED_EN, "{s}");
    let (right, uncovered) = other_languages(&s);
    assert!(right >= HELD_OUT_RIGHT_OTHER, "{s}");
    assert!(uncovered <= HELD_OUT_UNCOVERED_OTHER, "{s}");
}

/// Just past the held-out measurements, never tuned on: at kb.confidence 0.75 English right
/// answers 0.518, uncovered answered 0.182 (8 of 44); the six other languages against the
/// English knowledge base 0.600 right (0.000 before the glossary translation), 0.111 uncovered
/// answered. At the default 0.8 (chosen on the three development writers): English 0.411 /
/// 0.182, other languages 0.550 / 0.111.
const HELD_OUT_RIGHT_OTHER: f64 = 0.52;
const HELD_OUT_UNCOVERED_OTHER: f64 = 0.15;
const HELD_OUT_RIGHT_EN: f64 = 0.39;
const HELD_OUT_UNCOVERED_EN: f64 = 0.21;

/// The second held-out knowledge set (another writer, `tests/data/eval/README-heldout2.md`),
/// never tuned on; at kb.confidence 0.75: English right answers 0.300, uncovered answered 0.320
/// (16 of 50, 44 of which are near-misses); the six other languages 0.500 right, 0.133
/// uncovered answered; wrong entry 0.027. At the default 0.8: English 0.289 / 0.260, other
/// languages 0.350 / 0.100, wrong entry 0.013. Far under the first held-out set:
/// the answer decision was fitted on the first writer's wording. Floors just under, so that the
/// figures can only be moved up by a change made without this file in view.
#[tokio::test]
async fn second_held_out_kb_set_meets_its_floors() {
    let s = summary("eval/configs/default.toml", "eval/kb_heldout2.jsonl").await;
    eprintln!("{s}");
    assert!(en(&s, "right_answers") >= 0.27, "{s}");
    assert!(en(&s, "answered_uncovered") <= 0.28, "{s}");
    assert!(s["wrong_entry_rate"].as_f64().unwrap() <= 0.03, "{s}");
    let (right, uncovered) = other_languages(&s);
    assert!(right >= 0.33, "{s}");
    assert!(uncovered <= 0.12, "{s}");
}

/// The second held-out intent set, never tuned on: requested precision 1.000 recall 0.920,
/// frustrated precision 1.000 recall 0.911 (0.889 before the indignation words of session 8),
/// ordinary messages handed over 0.000 and taken for
/// small talk 0.000, small talk recognised 0.978 (precision 1.000). (Frustration was first
/// measured at 0.778 by an eval that hid repeated questions.) Floors just under.
#[tokio::test]
async fn second_held_out_intent_set_meets_its_floors() {
    let s = summary("eval/configs/default.toml", "eval/intent_heldout2.jsonl").await;
    eprintln!("{s}");
    let i = &s["intent"];
    let f = |class: &str, key: &str| i[class][key].as_f64().unwrap();
    assert!(f("requested", "precision") >= 0.95, "{s}");
    assert!(f("requested", "recall") >= 0.9, "{s}");
    assert!(f("frustrated", "precision") >= 0.95, "{s}");
    assert!(f("frustrated", "recall") >= 0.89, "{s}");
    assert!(f("smalltalk", "precision") >= 0.95, "{s}");
    assert!(f("smalltalk", "recall") >= 0.95, "{s}");
    assert!(
        s["ordinary"]["handed_over"].as_f64().unwrap() <= 0.02,
        "{s}"
    );
    assert!(
        s["ordinary"]["as_small_talk"].as_f64().unwrap() <= 0.02,
        "{s}"
    );
}

/// The third writer's held-out part (`tests/data/eval/README-intent.md`), never tuned on:
/// requested precision 0.960 recall 0.828 (0.724 before the bot refusals, "a person I can talk
/// to", the Italian plural targets and "être recontacté"), frustrated precision 1.000 recall 0.774, small talk 1.000 (0.933 before the
/// small-talk words of the third writer's development part), ordinary messages handed over
/// 0.000. Floors just under.
#[tokio::test]
async fn third_held_out_intent_set_meets_its_floors() {
    let s = summary("eval/configs/default.toml", "eval/intent_heldout3.jsonl").await;
    eprintln!("{s}");
    let i = &s["intent"];
    let f = |class: &str, key: &str| i[class][key].as_f64().unwrap();
    assert!(f("requested", "precision") >= 0.9, "{s}");
    assert!(f("requested", "recall") >= 0.8, "{s}");
    assert!(f("frustrated", "precision") >= 0.95, "{s}");
    assert!(f("frustrated", "recall") >= 0.75, "{s}");
    assert!(f("smalltalk", "recall") >= 0.93, "{s}");
    assert!(
        s["ordinary"]["handed_over"].as_f64().unwrap() <= 0.05,
        "{s}"
    );
}

#[test]
fn bad_case_lines_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cases.jsonl");
    let entries = read_dir_entries(&data("kb")).unwrap();
    std::fs::write(
        &path,
        "{\"text\":\"hi\",\"expect\":\"answer\",\"entry\":\"nope#1\"}\n",
    )
    .unwrap();
    let err = read_cases(&path, &entries).unwrap_err().to_string();
    assert!(err.contains("line 1") && err.contains("nope#1"), "{err}");
    std::fs::write(&path, "\n{\"text\":\"hi\",\"expect\":\"maybe\"}\n").unwrap();
    let err = format!("{:#}", read_cases(&path, &entries).unwrap_err());
    assert!(err.contains("line 2"), "{err}");
}

/// The intent labels ("handover" by reason, "smalltalk", "none") are read and scored per class:
/// a small file of clear cases, each class right once, one ordinary message, and one wrong
/// label (small talk labelled as a request) that must lower the figures it belongs to.
#[tokio::test]
async fn intent_cases_are_scored_per_class() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("intent.jsonl");
    std::fs::write(
        &path,
        concat!(
            "{\"text\": \"i want to speak to a human\", \"expect\": \"handover\", \"reason\": \"requested\", \"lang\": \"en\"}\n",
            "{\"text\": \"im going to leave a 1 star review everywhere i can\", \"expect\": \"handover\", \"reason\": \"frustrated\", \"lang\": \"en\"}\n",
            "{\"text\": \"hi\", \"expect\": \"smalltalk\", \"lang\": \"en\"}\n",
            "{\"text\": \"hey there\", \"expect\": \"handover\", \"reason\": \"requested\", \"lang\": \"en\"}\n",
            "{\"text\": \"do u ship to canada\", \"expect\": \"none\", \"lang\": \"en\"}\n",
        ),
    )
    .unwrap();
    let config = perfectbot::ops::load_offline(&data("eval/configs/default.toml")).unwrap();
    let entries = read_dir_entries(&config.kb.dir).unwrap();
    let cases = read_cases(&path, &entries).unwrap();
    let result = evaluate(&config, entries, &cases, true).await.unwrap();
    let s = &result["summary"];
    let i = &s["intent"];
    assert_eq!(i["requested"]["cases"], 2, "{s}");
    assert_eq!(i["requested"]["predicted"], 1, "{s}");
    assert_eq!(i["requested"]["precision"], 1.0, "{s}");
    assert_eq!(i["requested"]["recall"], 0.5, "{s}");
    assert_eq!(i["frustrated"]["recall"], 1.0, "{s}");
    assert_eq!(i["frustrated"]["precision"], 1.0, "{s}");
    // "hi" and the mislabelled "hey there" are both small talk to the bot.
    assert_eq!(i["smalltalk"]["cases"], 1, "{s}");
    assert_eq!(i["smalltalk"]["predicted"], 2, "{s}");
    assert_eq!(i["smalltalk"]["precision"], 0.5, "{s}");
    assert_eq!(i["ordinary"], serde_json::Value::Null, "{s}");
    assert_eq!(s["ordinary"]["cases"], 1, "{s}");
    assert_eq!(s["ordinary"]["handed_over"], 0.0, "{s}");
    let correct: Vec<bool> = result["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["correct"].as_bool().unwrap())
        .collect();
    assert_eq!(correct, [true, true, true, false, true]);
    let text = perfectbot::eval::render(&result);
    assert!(
        text.contains("intent") && text.contains("ordinary messages: 1"),
        "{text}"
    );
}

/// The intent sets of the repository parse as eval cases (their "none" label included).
#[test]
fn the_intent_sets_are_read() {
    let entries = read_dir_entries(&data("kb")).unwrap();
    for name in [
        "eval/intent_dev.jsonl",
        "eval/intent_heldout.jsonl",
        "eval/intent_heldout2.jsonl",
        "eval/intent_dev3.jsonl",
        "eval/intent_heldout3.jsonl",
    ] {
        let cases = read_cases(&data(name), &entries).unwrap();
        assert!(cases.len() > 90, "{name}");
    }
}
