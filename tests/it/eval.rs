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
    // Measured (kb.confidence 0.75): English 0.600 right, 0.091 uncovered answered; the six
    // other languages against the English knowledge base 0.500 right, 0.038 uncovered answered.
    assert!(en(&s, "right_answers") >= 0.58, "{s}");
    assert!(en(&s, "answered_uncovered") <= 0.1, "{s}");
    assert!(s["wrong_entry_rate"].as_f64().unwrap() <= 0.03, "{s}");
    let (right, uncovered) = other_languages(&s);
    assert!(right >= 0.45, "{s}");
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

/// Just past the single held-out measurement after all tuning, never tuned on (kb.confidence
/// 0.75): English right answers 0.518, uncovered answered 0.182 (8 of 44; the same as with the
/// previous decision at 0.8); the six other languages against the English knowledge base 0.600
/// right (0.000 before the glossary translation), 0.111 uncovered answered.
const HELD_OUT_RIGHT_OTHER: f64 = 0.55;
const HELD_OUT_UNCOVERED_OTHER: f64 = 0.15;
const HELD_OUT_RIGHT_EN: f64 = 0.49;
const HELD_OUT_UNCOVERED_EN: f64 = 0.21;

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
