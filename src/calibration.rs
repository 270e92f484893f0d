//! The knowledge base's calibration numbers that `config` validates `[kb]` with and the `kb`
//! responder decides with: the default answer confidence and the BM25-only confidence model
//! (also how a deprecated `kb.min_score` becomes a confidence). The rest of the fitted model
//! lives with the decision in `responder::hybrid`.
//!
//! The BM25-only model was fitted on `tests/data/eval/kb_dev.jsonl`, the hybrid one on the three
//! development files (the evidence dumped by the test `dump_kb_evidence`, then
//! `scripts/fit_kb_calibration.py`: an L2-regularised logistic regression of "the best entry is
//! the right one"), never on a held-out file.

/// The confidence for BM25 alone (`embedding = "none"`, or the query could not be embedded):
/// intercept and weight of the normalised BM25 score of the best entry, fitted like
/// `responder::hybrid::CONFIDENCE_MODEL`. Also how a deprecated `kb.min_score` becomes a
/// confidence ([`bm25_confidence`]): the old default 1.0 is 0.374.
pub const BM25_ONLY_MODEL: [f64; 2] = [-2.084, 1.57];

/// The default `kb.confidence`: the lowest value at which each of the three development
/// writers' English uncovered questions are answered at most 0.15 of the time (kb_dev,
/// kb_dev_terse, kb_dev_verbose: 0.09 / 0.13 / 0.10, with 0.52 / 0.54 / 0.07 of their English
/// questions answered with the right entry). A wrong answer costs more than a handover, and
/// unseen wording comes out a little worse than the wording the decision was fitted on
/// (`perfectbot eval` prints the whole curve for a shop's own messages).
pub const DEFAULT_CONFIDENCE: f64 = 0.75;

/// The confidence the BM25-only model gives a normalised BM25 score.
pub fn bm25_confidence(score: f64) -> f64 {
    sigmoid(BM25_ONLY_MODEL[0] + BM25_ONLY_MODEL[1] * score)
}

/// The logistic function the confidence models map their linear score through, 0..1.
pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_old_min_score_default_is_a_confidence_of_0_374() {
        assert!((bm25_confidence(1.0) - 0.374).abs() < 0.001);
        assert!(bm25_confidence(0.0) < bm25_confidence(1.0));
        assert_eq!(sigmoid(0.0), 0.5);
    }
}
