//! Dense retrieval over the knowledge entries and its fusion with BM25, and the answer decision
//! from the fused evidence: the `kb` responder's judgement, apart from the index plumbing in
//! [`super::kb`].
//!
//! Each entry has two vectors: its question with its keywords ("short"), and that plus its
//! answer ("long"); an entry's dense score is the mean cosine of the query with both. The fused
//! score of an entry is `dense + BM25_WEIGHT * min(bm25, BM25_CAP) / BM25_CAP`, where bm25 is
//! the normalised BM25 score of [`super::kb`] (1.0 was the old answer threshold). The decision
//! then asks how likely the best entry is the right answer, from the evidence
//! ([`Evidence::confidence`]: a logistic model of the fused score, the margin over the next
//! entry, the dense and BM25 scores, whether both retrievers put the same entry first, how much
//! of the query the entry covers and whether the query is a translation), and answers when
//! that reaches `kb.confidence`.
//!
//! The constants were fitted on the three development files `tests/data/eval/kb_dev.jsonl`,
//! `kb_dev_terse.jsonl` and `kb_dev_verbose.jsonl` (three writers; the evidence dumped by the
//! test `dump_kb_evidence`, then `scripts/fit_kb_calibration.py`: an L2-regularised logistic
//! regression of "the best entry is the right one"), never on a held-out file.

use std::sync::Arc;

use super::embed::{EmbedError, Embedder, content_hash, cosine};
use super::kb::KbEntry;
pub use crate::calibration::{BM25_ONLY_MODEL, DEFAULT_CONFIDENCE, bm25_confidence};

/// The weight of BM25 in the fused score, against 1.0 for the dense score.
pub const BM25_WEIGHT: f64 = 0.25;
/// Normalised BM25 scores above this count as this (a long exact match is not more right).
pub const BM25_CAP: f64 = 2.0;

/// The logistic model of [`Evidence::confidence`]: intercept, then the weights of fused score,
/// margin, dense score, BM25 score (capped, over the cap), agreement (0/1), coverage of the
/// query's words by the entry, and whether the query was translated into English (0/1).
pub const CONFIDENCE_MODEL: [f64; 8] = [-1.873, 0.994, 0.721, 0.912, 0.327, 0.813, 1.345, 0.142];

/// The confidence below which an entry BM25 did not match is left out of [`super::kb::Kb::search`]
/// (grounding lists, "anything at all?"): the dense side alone ranks every entry.
pub const SEARCH_FLOOR: f64 = 0.3;

/// The texts of an entry that get a vector: (question + keywords, that + answer).
pub fn entry_texts(entry: &KbEntry) -> [String; 2] {
    let mut short = entry.question.clone();
    for k in &entry.keywords {
        short.push(' ');
        short.push_str(k);
    }
    let long = format!("{short}\n{}", entry.answer);
    [short, long]
}

/// The dense side of a knowledge index: two vectors per entry, in entry order.
pub struct DenseIndex {
    embedder: Arc<dyn Embedder>,
    short: Vec<Vec<f32>>,
    long: Vec<Vec<f32>>,
}

impl std::fmt::Debug for DenseIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DenseIndex")
            .field("model", &self.embedder.model_id())
            .field("entries", &self.short.len())
            .finish()
    }
}

/// A vector cache: what is known by content hash, and where new vectors go.
pub trait VectorCache {
    /// The cached vectors among `hashes`, by hash.
    fn get(&mut self, model: &str, hashes: &[&str]) -> Vec<Option<Vec<f32>>>;
    /// Stores new vectors; `keep` is every hash in use now (others may be forgotten).
    fn put(&mut self, model: &str, new: &[(&str, &[f32])], keep: &[&str]);
}

/// No cache: everything is embedded at every build (in-memory indexes).
pub struct NoCache;

impl VectorCache for NoCache {
    fn get(&mut self, _model: &str, hashes: &[&str]) -> Vec<Option<Vec<f32>>> {
        vec![None; hashes.len()]
    }
    fn put(&mut self, _model: &str, _new: &[(&str, &[f32])], _keep: &[&str]) {}
}

impl DenseIndex {
    /// Embeds every entry's two texts, taking what `cache` already has and storing the rest.
    /// Returns the index and how many texts were embedded now.
    pub fn build(
        embedder: Arc<dyn Embedder>,
        entries: &[KbEntry],
        cache: &mut dyn VectorCache,
    ) -> Result<(DenseIndex, usize), EmbedError> {
        let texts: Vec<String> = entries.iter().flat_map(entry_texts).collect();
        let hashes: Vec<String> = texts.iter().map(|t| content_hash(t)).collect();
        let hash_refs: Vec<&str> = hashes.iter().map(String::as_str).collect();
        let model = embedder.model_id().to_owned();
        let mut vectors = cache.get(&model, &hash_refs);
        let missing: Vec<usize> = (0..texts.len()).filter(|i| vectors[*i].is_none()).collect();
        if !missing.is_empty() {
            let todo: Vec<&str> = missing.iter().map(|i| texts[*i].as_str()).collect();
            let fresh = embedder.embed(&todo)?;
            for (i, v) in missing.iter().zip(fresh) {
                vectors[*i] = Some(v);
            }
            let new: Vec<(&str, &[f32])> = missing
                .iter()
                .filter_map(|i| Some((hash_refs[*i], vectors[*i].as_deref()?)))
                .collect();
            cache.put(&model, &new, &hash_refs);
        }
        let mut short = Vec::with_capacity(entries.len());
        let mut long = Vec::with_capacity(entries.len());
        for (i, v) in vectors.into_iter().enumerate() {
            let v = v.unwrap_or_default();
            if i % 2 == 0 {
                short.push(v)
            } else {
                long.push(v)
            }
        }
        Ok((
            DenseIndex {
                embedder,
                short,
                long,
            },
            missing.len(),
        ))
    }

    /// The embedding model's cache id.
    pub fn model_id(&self) -> &str {
        self.embedder.model_id()
    }

    /// Each entry's dense score for `text` (mean cosine with its two vectors), or `None` when
    /// the text cannot be embedded (a remote model unreachable: BM25 answers alone).
    pub fn scores(&self, text: &str) -> Option<Vec<f64>> {
        let q = match self.embedder.embed(&[text]) {
            Ok(mut v) if v.len() == 1 => v.remove(0),
            Ok(_) => return None,
            Err(e) => {
                tracing::warn!(error = %e, "cannot embed the customer's text; searching with BM25 alone");
                return None;
            }
        };
        Some(
            self.short
                .iter()
                .zip(&self.long)
                .map(|(s, l)| f64::from(cosine(&q, s) + cosine(&q, l)) / 2.0)
                .collect(),
        )
    }
}

/// What the retrievers say about one entry for one text.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    /// The fused score (see the module doc); the BM25 score alone without a dense side.
    pub fused: f64,
    /// Fused score minus the next entry's.
    pub margin: f64,
    /// The dense score, when there is a dense side.
    pub dense: Option<f64>,
    /// The normalised BM25 score (0 when BM25 found nothing).
    pub bm25: f64,
    /// Whether the dense ranking and BM25 put this entry first.
    pub agree: bool,
    /// The IDF-weighted share of the query's words the entry holds (answer-only words weigh
    /// less; 0 when BM25 found nothing): a topic match whose distinctive words the entry lacks
    /// is likelier a near miss.
    pub coverage: f64,
    /// Whether the query was the customer's text put into English words
    /// ([`super::lang::to_english`]): a glossary translation matches less closely than the
    /// customer's own words, at the same chance of being right.
    pub translated: bool,
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

impl Evidence {
    /// How likely this entry is the right answer, 0..1 (see the module doc).
    pub fn confidence(&self) -> f64 {
        let b = self.bm25.min(BM25_CAP) / BM25_CAP;
        match self.dense {
            Some(d) => {
                let w = CONFIDENCE_MODEL;
                sigmoid(
                    w[0] + w[1] * self.fused
                        + w[2] * self.margin
                        + w[3] * d
                        + w[4] * b
                        + w[5] * f64::from(u8::from(self.agree))
                        + w[6] * self.coverage.clamp(0.0, 1.0)
                        + w[7] * f64::from(u8::from(self.translated)),
                )
            }
            None => bm25_confidence(self.bm25),
        }
    }
}

/// Ranks entries from their BM25 scores (`(row, score)`, any order), their coverage (one per
/// entry, or none) and dense scores (one per entry, or none): the best `k` rows with their
/// evidence, best first. The evidence is for an untranslated query.
pub fn fuse(
    bm25: &[(usize, f64)],
    coverage: &[f64],
    dense: Option<&[f64]>,
    n: usize,
    k: usize,
) -> Vec<(usize, Evidence)> {
    let mut b = vec![0.0f64; n];
    for (row, s) in bm25 {
        if let Some(slot) = b.get_mut(*row) {
            *slot = *s;
        }
    }
    // The entry a retriever puts first alone: a tie at the top (two entries holding the same
    // query words) singles out none, so it is no agreement.
    let best_by = |scores: &[f64]| -> Option<usize> {
        let (i, best) = scores
            .iter()
            .enumerate()
            .filter(|(_, s)| **s > 0.0)
            .max_by(|x, y| x.1.total_cmp(y.1))?;
        (scores.iter().filter(|s| *s == best).count() == 1).then_some(i)
    };
    let top_bm25 = best_by(&b);
    let (fused, top_dense): (Vec<f64>, Option<usize>) = match dense {
        Some(d) if d.len() == n => (
            (0..n)
                .map(|i| d[i] + BM25_WEIGHT * b[i].min(BM25_CAP) / BM25_CAP)
                .collect(),
            best_by(d),
        ),
        _ => (b.clone(), None),
    };
    let mut order: Vec<usize> = (0..n)
        .filter(|i| dense.is_some_and(|d| d.len() == n) || b[*i] > 0.0)
        .collect();
    order.sort_by(|x, y| fused[*y].total_cmp(&fused[*x]));
    order
        .iter()
        .enumerate()
        .take(k)
        .map(|(pos, &row)| {
            // With no next entry the margin is unknown: none, rather than the whole score (a
            // one-entry knowledge base must not look certain of everything).
            let next = order.get(pos + 1).map_or(fused[row], |r| fused[*r]);
            let dense_here = dense.filter(|d| d.len() == n).map(|d| d[row]);
            (
                row,
                Evidence {
                    fused: fused[row],
                    margin: fused[row] - next,
                    dense: dense_here,
                    bm25: b[row],
                    agree: dense_here.is_some() && top_dense == Some(row) && top_bm25 == Some(row),
                    coverage: coverage.get(row).copied().unwrap_or(0.0),
                    translated: false,
                },
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fusion_ranks_by_blend_and_reports_agreement_and_margin() {
        // Entry 0: BM25 strong, dense middling; entry 1: dense best; entry 2: nothing.
        let out = fuse(&[(0, 2.5)], &[], Some(&[0.5, 0.6, 0.1]), 3, 3);
        assert_eq!(out[0].0, 0, "0.5 + 0.25 beats 0.6");
        assert!((out[0].1.fused - 0.75).abs() < 1e-9);
        assert!((out[0].1.margin - 0.15).abs() < 1e-9);
        assert!(!out[0].1.agree, "the dense ranking put entry 1 first");
        // A BM25 tie at the top is no agreement, even for the entry ranked first.
        let out = fuse(&[(1, 1.0), (2, 1.0)], &[], Some(&[0.5, 0.6, 0.1]), 3, 1);
        assert_eq!(out[0].0, 1);
        assert!(!out[0].1.agree);
        let out = fuse(&[(1, 1.0)], &[0.0, 0.5], Some(&[0.5, 0.6, 0.1]), 3, 1);
        assert_eq!(out.len(), 1);
        assert!(out[0].1.agree);
        assert_eq!(out[0].1.coverage, 0.5);
        assert!(!out[0].1.translated);
        // BM25 alone ranks only what it matched; out-of-range rows are ignored.
        let out = fuse(&[(2, 1.0), (9, 5.0)], &[], None, 3, 5);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].1.dense, None);
        // One entry: no margin, so no false certainty.
        let out = fuse(&[(0, 3.0)], &[], Some(&[0.9]), 1, 1);
        assert_eq!(out[0].1.margin, 0.0);
    }

    #[test]
    fn confidence_grows_with_the_evidence() {
        let ev = |fused, margin, dense, bm25, agree| Evidence {
            fused,
            margin,
            dense: Some(dense),
            bm25,
            agree,
            coverage: 0.3,
            translated: false,
        };
        let weak = ev(0.3, 0.0, 0.3, 0.0, false).confidence();
        let strong = ev(1.2, 0.3, 1.0, 2.0, true).confidence();
        assert!(weak < 0.35 && strong > 0.85, "{weak} {strong}");
        // More of the query's words in the entry: likelier right. The same scores from a
        // translated query: a little likelier right (its words match less closely).
        let mid = ev(0.6, 0.2, 0.5, 0.5, true);
        let covered = Evidence {
            coverage: 0.9,
            ..mid.clone()
        };
        let translated = Evidence {
            translated: true,
            ..mid.clone()
        };
        assert!(covered.confidence() > mid.confidence() + 0.05);
        assert!(translated.confidence() > mid.confidence());
        let overflow = Evidence {
            coverage: 7.0,
            ..mid.clone()
        };
        assert_eq!(
            overflow.confidence(),
            Evidence {
                coverage: 1.0,
                ..mid
            }
            .confidence()
        );
        assert!((bm25_confidence(1.0) - 0.374).abs() < 0.001);
        let none = Evidence {
            fused: 1.0,
            margin: 1.0,
            dense: None,
            bm25: 1.0,
            agree: false,
            coverage: 1.0,
            translated: true,
        };
        assert_eq!(none.confidence(), bm25_confidence(1.0));
    }
}
