//! A static embedding model (WordLlama, model2vec): a tokenizer and one vector per token; a
//! text's vector is the mean of its tokens' vectors, L2-normalised. No network, no threads.
//!
//! Weights are a safetensors file holding one 2-D tensor `[vocab, dim]`: `embeddings`
//! (model2vec's name) or `embedding.weight` (WordLlama's), in F32 or F16, or I8 with a
//! per-row F32 tensor `scales` (value = q * scale: how the built-in model is shipped).

use std::borrow::Cow;
use std::path::Path;

use safetensors::{Dtype, SafeTensors};

use super::{EmbedError, Embedder, normalise};

/// Texts are cut to this many bytes (at a character boundary) before tokenizing: a customer
/// message is far shorter, and a pasted novel must not cost more than a few milliseconds. The
/// mean of the first 8 KiB says what the text is about as well as the mean of all of it.
pub const MAX_TEXT_BYTES: usize = 8 * 1024;

/// The rows of the token matrix, as stored.
enum Rows {
    F32(Vec<f32>),
    /// Two's-complement bytes. Borrowed for a model compiled into the binary: a copy would
    /// double its size in memory (8 MB for the built-in one), and the borrowed rows are paged
    /// in only as their tokens are used.
    I8 {
        q: Cow<'static, [u8]>,
        scales: Vec<f32>,
    },
}

/// A loaded static model; see the module doc.
pub struct StaticModel {
    id: String,
    tokenizer: tokenizers::Tokenizer,
    rows: Rows,
    vocab: usize,
    dim: usize,
    /// Tokens that carry no meaning of their own (the tokenizer's unknown token): skipped, as
    /// model2vec does.
    skip: Option<u32>,
}

impl std::fmt::Debug for StaticModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticModel")
            .field("id", &self.id)
            .field("vocab", &self.vocab)
            .field("dim", &self.dim)
            .finish()
    }
}

fn f16_to_f32(bits: u16) -> f32 {
    let sign = u32::from(bits >> 15) << 31;
    let exp = u32::from((bits >> 10) & 0x1f);
    let frac = u32::from(bits & 0x3ff);
    let out = match (exp, frac) {
        (0, 0) => sign,
        (0, _) => {
            // Subnormal: value = frac * 2^-24.
            let v = frac as f32 * f32::from_bits(0x3380_0000);
            return if sign != 0 { -v } else { v };
        }
        (0x1f, 0) => sign | 0x7f80_0000,
        (0x1f, _) => sign | 0x7fc0_0000,
        _ => sign | ((exp + 127 - 15) << 23) | (frac << 13),
    };
    f32::from_bits(out)
}

impl StaticModel {
    /// Loads `tokenizer.json` and `model.safetensors` from `dir` (a model2vec directory). The
    /// cache id is `model2vec:` and a hash of both files, so replacing the files re-embeds.
    pub fn load_dir(dir: &Path) -> Result<StaticModel, EmbedError> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read(&path).map_err(|e| EmbedError::Model {
                what: path.display().to_string(),
                detail: format!("cannot be read: {e}"),
            })
        };
        let tokenizer = read("tokenizer.json")?;
        let weights = read("model.safetensors")?;
        let mut both = super::hash_bytes(&tokenizer);
        both.push_str(&super::hash_bytes(&weights));
        let id = format!("model2vec:{}", &super::content_hash(&both)[..16]);
        StaticModel::from_bytes(&id, &tokenizer, &weights).map_err(|e| match e {
            EmbedError::Model { detail, .. } => EmbedError::Model {
                what: dir.display().to_string(),
                detail,
            },
            other => other,
        })
    }

    /// Builds a model from the bytes of a `tokenizer.json` and a safetensors file.
    pub fn from_bytes(
        id: &str,
        tokenizer: &[u8],
        weights: &[u8],
    ) -> Result<StaticModel, EmbedError> {
        StaticModel::build(id, tokenizer, weights, |q| Cow::Owned(q.to_vec()))
    }

    /// [`StaticModel::from_bytes`] for weights that live as long as the process (compiled into
    /// the binary): int8 rows are read where they are, not copied.
    pub fn from_static(
        id: &str,
        tokenizer: &[u8],
        weights: &'static [u8],
    ) -> Result<StaticModel, EmbedError> {
        StaticModel::build(id, tokenizer, weights, Cow::Borrowed)
    }

    fn build<'w>(
        id: &str,
        tokenizer: &[u8],
        weights: &'w [u8],
        int8_rows: impl FnOnce(&'w [u8]) -> Cow<'static, [u8]>,
    ) -> Result<StaticModel, EmbedError> {
        let bad = |detail: String| EmbedError::Model {
            what: id.to_owned(),
            detail,
        };
        let tokenizer = tokenizers::Tokenizer::from_bytes(tokenizer)
            .map_err(|e| bad(format!("tokenizer.json is not a tokenizer: {e}")))?;
        let tensors = SafeTensors::deserialize(weights)
            .map_err(|e| bad(format!("model.safetensors cannot be read: {e}")))?;
        let name = ["embeddings", "embedding.weight"]
            .into_iter()
            .find(|n| tensors.tensor(n).is_ok())
            .ok_or_else(|| {
                bad("model.safetensors holds no `embeddings` (or `embedding.weight`) tensor".into())
            })?;
        let view = tensors
            .tensor(name)
            .map_err(|e| bad(format!("tensor {name}: {e}")))?;
        let (vocab, dim) = match view.shape() {
            [v, d] if *v > 0 && *d > 0 => (*v, *d),
            other => {
                return Err(bad(format!(
                    "tensor {name} has shape {other:?}, expected [vocab, dim]"
                )));
            }
        };
        let data = view.data();
        let rows = match view.dtype() {
            Dtype::F32 => Rows::F32(
                data.chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
            ),
            Dtype::F16 => Rows::F32(
                data.chunks_exact(2)
                    .map(|b| f16_to_f32(u16::from_le_bytes([b[0], b[1]])))
                    .collect(),
            ),
            Dtype::I8 => {
                let scales = tensors.tensor("scales").map_err(|_| {
                    bad(format!(
                        "tensor {name} is int8 but there is no `scales` tensor"
                    ))
                })?;
                if scales.dtype() != Dtype::F32 || scales.shape() != [vocab] {
                    return Err(bad(format!(
                        "tensor scales must be F32 [{vocab}], not {:?} {:?}",
                        scales.dtype(),
                        scales.shape()
                    )));
                }
                Rows::I8 {
                    q: int8_rows(data),
                    scales: scales
                        .data()
                        .chunks_exact(4)
                        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                        .collect(),
                }
            }
            other => {
                return Err(bad(format!(
                    "tensor {name} has type {other:?}; F32, F16 or I8 expected"
                )));
            }
        };
        let len = match &rows {
            Rows::F32(v) => v.len(),
            Rows::I8 { q, .. } => q.len(),
        };
        if len != vocab * dim {
            return Err(bad(format!(
                "tensor {name} holds {len} values, not {vocab} x {dim}"
            )));
        }
        let skip = tokenizer
            .token_to_id("[UNK]")
            .filter(|_| !matches!(tokenizer.get_model(), tokenizers::ModelWrapper::BPE(_)));
        Ok(StaticModel {
            id: id.to_owned(),
            tokenizer,
            rows,
            vocab,
            dim,
            skip,
        })
    }

    /// The vector size.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The token ids of `text` (no special tokens), after the length cap.
    pub fn token_ids(&self, text: &str) -> Vec<u32> {
        let mut end = text.len().min(MAX_TEXT_BYTES);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        match self.tokenizer.encode_fast(&text[..end], false) {
            Ok(enc) => enc.get_ids().to_vec(),
            // The tokenizers here never fail on text; if one does, the text has no tokens.
            Err(e) => {
                tracing::debug!(error = %e, "tokenizer refused a text");
                Vec::new()
            }
        }
    }

    /// The normalised mean vector of one text (all zeros when it has no tokens).
    pub fn embed_one(&self, text: &str) -> Vec<f32> {
        let mut sum = vec![0.0f32; self.dim];
        for id in self.token_ids(text) {
            if Some(id) == self.skip {
                continue;
            }
            // Clamped like WordLlama does: a tokenizer larger than the matrix cannot index out.
            let row = (id as usize).min(self.vocab - 1);
            let start = row * self.dim;
            match &self.rows {
                Rows::F32(v) => {
                    for (s, x) in sum.iter_mut().zip(&v[start..start + self.dim]) {
                        *s += x;
                    }
                }
                Rows::I8 { q, scales } => {
                    let scale = scales[row];
                    for (s, x) in sum.iter_mut().zip(&q[start..start + self.dim]) {
                        *s += f32::from(x.cast_signed()) * scale;
                    }
                }
            }
        }
        // The mean and the sum point the same way: normalising the sum is the mean normalised.
        normalise(&mut sum);
        sum
    }
}

impl Embedder for StaticModel {
    fn model_id(&self) -> &str {
        &self.id
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        Ok(texts.iter().map(|t| self.embed_one(t)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::responder::embed::{builtin, cosine};

    #[derive(serde::Deserialize)]
    struct Fixtures {
        cases: Vec<Case>,
    }
    #[derive(serde::Deserialize)]
    struct Case {
        text: String,
        ids: Vec<u32>,
        vector: Vec<f32>,
    }

    fn fixtures() -> Fixtures {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/embed/wordllama_fixtures.json");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn builtin_model_tokenizes_and_embeds_like_wordllama() {
        let model = builtin();
        assert_eq!(model.dim(), 256);
        let f = fixtures();
        assert!(f.cases.len() >= 12);
        for case in &f.cases {
            assert_eq!(
                model.token_ids(&case.text),
                case.ids,
                "tokens of {:?}",
                case.text
            );
            let v = model.embed_one(&case.text);
            // The fixtures come from the fp16 weights; the shipped ones are int8 per row.
            let c = cosine(&v, &case.vector);
            assert!(
                c > 0.999,
                "{:?}: cosine {c} with wordllama's vector",
                case.text
            );
        }
    }

    #[test]
    fn similar_questions_are_closer_than_unrelated_ones() {
        let m = builtin();
        let ship = m.embed_one("How long does shipping take?");
        let days = m.embed_one("how many days till my stuff gets here");
        let fr = m.embed_one("Combien de temps prend la livraison ?");
        let pay = m.embed_one("Which payment methods do you accept?");
        assert!(cosine(&ship, &days) > cosine(&pay, &days));
        assert!(cosine(&ship, &fr) > cosine(&pay, &fr));
    }

    #[test]
    fn empty_huge_and_odd_texts_give_finite_vectors() {
        let m = builtin();
        assert!(m.embed_one("").iter().all(|x| *x == 0.0));
        let huge = "é".repeat(100_000);
        assert!(m.token_ids(&huge).len() <= MAX_TEXT_BYTES);
        let v = m.embed_one(&huge);
        assert!((cosine(&v, &v) - 1.0).abs() < 1e-4);
        assert!(
            m.embed_one("\u{0}\u{feff}\u{202e}")
                .iter()
                .all(|x| x.is_finite())
        );
    }

    #[test]
    fn shipped_model_files_match_their_checksums() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/l2_supercat");
        let sums = std::fs::read_to_string(dir.join("SHA256SUMS")).unwrap();
        let mut checked = 0;
        for line in sums.lines().filter(|l| !l.trim().is_empty()) {
            let (sum, name) = line.split_once("  ").unwrap();
            let bytes = std::fs::read(dir.join(name.trim())).unwrap();
            use sha2::Digest as _;
            let got: String = sha2::Sha256::digest(&bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(got, sum, "{name}");
            checked += 1;
        }
        assert!(checked >= 3);
    }

    #[test]
    fn model2vec_directory_loads_f16_and_f32_and_names_bad_files() {
        let dir = tempfile::tempdir().unwrap();
        let err = StaticModel::load_dir(dir.path()).unwrap_err().to_string();
        assert!(err.contains("tokenizer.json"), "{err}");
        let tok = include_bytes!("../../../models/l2_supercat/tokenizer.json");
        std::fs::write(dir.path().join("tokenizer.json"), tok).unwrap();
        std::fs::write(dir.path().join("model.safetensors"), b"not weights").unwrap();
        let err = StaticModel::load_dir(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("safetensors") && err.contains(&dir.path().display().to_string()),
            "{err}"
        );
        // A tiny F16 model over the same tokenizer: 32000 x 2, token row r = (r, 1).
        let vocab = 32000usize;
        let mut data = Vec::with_capacity(vocab * 4);
        for r in 0..vocab {
            for x in [if r == 1734 { 1.0f32 } else { 0.0 }, 0.5] {
                data.extend_from_slice(&half_bits(x).to_le_bytes());
            }
        }
        let view = safetensors::tensor::TensorView::new(Dtype::F16, vec![vocab, 2], &data).unwrap();
        let bytes = safetensors::serialize([("embeddings", view)], None).unwrap();
        std::fs::write(dir.path().join("model.safetensors"), bytes).unwrap();
        let m = StaticModel::load_dir(dir.path()).unwrap();
        assert!(m.model_id().starts_with("model2vec:"));
        assert_eq!(m.dim(), 2);
        let v = m.embed_one("x");
        assert!((cosine(&v, &v) - 1.0).abs() < 1e-5);
    }

    /// f32 -> f16 bits for the few exact values the test uses (0, 0.5, 1).
    fn half_bits(x: f32) -> u16 {
        match x {
            0.0 => 0,
            0.5 => 0x3800,
            1.0 => 0x3c00,
            _ => unreachable!(),
        }
    }

    #[test]
    fn f16_conversion_matches_known_values() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x3800), 0.5);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert!(f16_to_f32(0x7c00).is_infinite());
    }
}
