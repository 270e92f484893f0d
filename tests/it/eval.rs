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

/// Floors of one knowledge set: English right answers (at least) and uncovered questions
/// answered (at most), the same over the six other languages, and answers with the wrong entry.
struct KbFloors {
    english: (f64, f64),
    other: (f64, f64),
    wrong_entry: f64,
}

async fn kb_set_meets(file: &str, floors: KbFloors) {
    let s = summary("eval/configs/default.toml", file).await;
    eprintln!("{s}");
    assert!(en(&s, "right_answers") >= floors.english.0, "{s}");
    assert!(en(&s, "answered_uncovered") <= floors.english.1, "{s}");
    assert!(
        s["wrong_entry_rate"].as_f64().unwrap() <= floors.wrong_entry,
        "{s}"
    );
    let (right, uncovered) = other_languages(&s);
    assert!(right >= floors.other.0, "{s}");
    assert!(uncovered <= floors.other.1, "{s}");
}

/// The first writer's development half, tuned on (kb.confidence 0.75, the decision fitted on
/// the three development writers, the glossaries of 2026-12-07): English 0.518 right, 0.091
/// uncovered answered; the six other languages against the English knowledge base 0.683
/// right (0.467 with the glossaries before), 0.077 uncovered answered; wrong entry 0.012.
#[tokio::test]
async fn dev_set_meets_its_floors() {
    kb_set_meets(
        "eval/kb_dev.jsonl",
        KbFloors {
            english: (0.5, 0.1),
            other: (0.65, 0.1),
            wrong_entry: 0.03,
        },
    )
    .await;
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

/// The first held-out set, never tuned on. At the start of 2026-12-07 (kb.confidence 0.75,
/// the decision fitted on the first writer alone): English right answers 0.518, uncovered
/// answered 0.182 (8 of 44); the six other languages 0.600 right (0.000 before the glossary
/// translation), 0.111 uncovered answered. Now (the decision refitted on three development
/// writers, larger glossaries, the default still 0.75): English 0.393 / 0.159, other
/// languages 0.717 / 0.148, wrong entry 0.006. Floors just past.
#[tokio::test]
async fn held_out_set_meets_its_floors() {
    kb_set_meets(
        "eval/kb_heldout.jsonl",
        KbFloors {
            english: (0.37, 0.18),
            other: (0.68, 0.16),
            wrong_entry: 0.02,
        },
    )
    .await;
}

/// The second held-out knowledge set (another writer, `tests/data/eval/README-heldout2.md`),
/// never tuned on. At the start of 2026-12-07: English right answers 0.300, uncovered answered
/// 0.320 (16 of 50, 44 of which are near-misses); the six other languages 0.500 right, 0.133
/// uncovered answered; wrong entry 0.027. Now: English 0.256 / 0.280, other languages 0.567 /
/// 0.200, wrong entry 0.020. Floors just under, so that the figures can only be moved up by a
/// change made without this file in view.
#[tokio::test]
async fn second_held_out_kb_set_meets_its_floors() {
    kb_set_meets(
        "eval/kb_heldout2.jsonl",
        KbFloors {
            english: (0.24, 0.3),
            other: (0.53, 0.22),
            wrong_entry: 0.03,
        },
    )
    .await;
}

/// The fourth writer's knowledge set (`tests/data/eval/README-fourth-writer.md`), never tuned
/// on. First measured on main as it stood at the start of 2026-12-07: English right answers
/// 0.467, uncovered answered 0.232; other languages 0.467 / 0.125. Now: English 0.400 / 0.161,
/// other languages 0.550 / 0.125, wrong entry 0.000. Floors just under.
#[tokio::test]
async fn fourth_writers_kb_set_meets_its_floors() {
    kb_set_meets(
        "eval/kb_heldout3.jsonl",
        KbFloors {
            english: (0.38, 0.18),
            other: (0.52, 0.15),
            wrong_entry: 0.02,
        },
    )
    .await;
}

/// Floors of one held-out intent set: recall and precision of requests and frustration, the
/// recall of small talk, and the most ordinary messages handed over or taken for small talk.
struct IntentFloors {
    requested: (f64, f64),
    frustrated: (f64, f64),
    smalltalk: f64,
    ordinary_handed_over: f64,
    ordinary_as_small_talk: f64,
}

async fn intent_set_meets(file: &str, floors: IntentFloors) {
    let s = summary("eval/configs/default.toml", file).await;
    eprintln!("{s}");
    let i = &s["intent"];
    let f = |class: &str, key: &str| i[class][key].as_f64().unwrap();
    assert!(f("requested", "recall") >= floors.requested.0, "{s}");
    assert!(f("requested", "precision") >= floors.requested.1, "{s}");
    assert!(f("frustrated", "recall") >= floors.frustrated.0, "{s}");
    assert!(f("frustrated", "precision") >= floors.frustrated.1, "{s}");
    assert!(f("smalltalk", "recall") >= floors.smalltalk, "{s}");
    assert!(f("smalltalk", "precision") >= 0.95, "{s}");
    let ordinary = |key: &str| s["ordinary"][key].as_f64().unwrap();
    assert!(
        ordinary("handed_over") <= floors.ordinary_handed_over,
        "{s}"
    );
    assert!(
        ordinary("as_small_talk") <= floors.ordinary_as_small_talk,
        "{s}"
    );
}

/// The second held-out intent set, never tuned on: requested recall 0.980 (0.920 before the
/// rules of 2026-12-07's afternoon: preferring someone, a question too complicated for a bot,
/// presence questions naming the person), precision 1.000; frustrated recall 0.911 (0.889
/// before the indignation words of session 8), precision 1.000; ordinary messages handed over
/// 0.000 and taken for small talk 0.000; small talk recognised 0.978 (precision 1.000).
/// (Frustration was first measured at 0.778 by an eval that hid repeated questions.) Floors
/// just under.
#[tokio::test]
async fn second_held_out_intent_set_meets_its_floors() {
    intent_set_meets(
        "eval/intent_heldout2.jsonl",
        IntentFloors {
            requested: (0.96, 0.95),
            frustrated: (0.89, 0.95),
            smalltalk: 0.95,
            ordinary_handed_over: 0.02,
            ordinary_as_small_talk: 0.02,
        },
    )
    .await;
}

/// The third writer's held-out part (`tests/data/eval/README-intent.md`), never tuned on:
/// requested recall 0.897 (0.724 before the bot refusals, "a person I can talk to", the
/// Italian plural targets and "être recontacté"; 0.828 before the rules of 2026-12-07's
/// afternoon), precision 0.963; frustrated recall 0.839 (0.774 before that afternoon's rules),
/// precision 1.000; small talk 1.000 (0.933 before the small-talk words of the third writer's
/// development part); ordinary messages handed over 0.000. Floors just under.
#[tokio::test]
async fn third_held_out_intent_set_meets_its_floors() {
    intent_set_meets(
        "eval/intent_heldout3.jsonl",
        IntentFloors {
            requested: (0.86, 0.9),
            frustrated: (0.8, 0.95),
            smalltalk: 0.93,
            ordinary_handed_over: 0.05,
            ordinary_as_small_talk: 0.05,
        },
    )
    .await;
}

/// The fourth writer's held-out set (`tests/data/eval/README-fourth-writer.md`), never tuned
/// on: first measured on main as it stood (requested 0.829, frustrated 0.814), then once after
/// the session's rules: requested recall 0.857 (precision 1.000), frustrated 0.814 (1.000),
/// small talk 0.975 (1.000), ordinary messages handed over 0.000. Floors just under.
#[tokio::test]
async fn fourth_held_out_intent_set_meets_its_floors() {
    intent_set_meets(
        "eval/intent_heldout4.jsonl",
        IntentFloors {
            requested: (0.84, 0.95),
            frustrated: (0.8, 0.95),
            smalltalk: 0.95,
            ordinary_handed_over: 0.02,
            ordinary_as_small_talk: 0.02,
        },
    )
    .await;
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
