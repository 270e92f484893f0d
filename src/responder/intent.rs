//! TEMPORARY stand-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    HandoverRequested,
    Frustrated,
    None,
}
#[derive(Debug, Clone, Default)]
pub struct IntentConfig {
    pub extra_handover_phrases: Vec<String>,
    pub extra_frustration_phrases: Vec<String>,
}
pub fn classify(turn: &[String], _prev: &[String], _b: bool, _c: &IntentConfig) -> Intent {
    let t = turn.join(" ").to_lowercase();
    if t.contains("human") {
        Intent::HandoverRequested
    } else if t.contains("useless") {
        Intent::Frustrated
    } else {
        Intent::None
    }
}
