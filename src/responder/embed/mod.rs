//! Dense text embeddings for the knowledge base: the [`Embedder`] interface and its backends.
//! - `builtin`: WordLlama `l2_supercat` (256 dimensions, int8 per row), compiled into the binary
//!   and run in-process ([`builtin`]); no download, no file beside the binary.
//! - `model2vec`: a static model the user provides (`tokenizer.json` + `model.safetensors`),
//!   the same code path as `builtin` ([`StaticModel`]).
//! - `openai`: any OpenAI-compatible `/v1/embeddings` ([`OpenAiEmbedder`]).
//!
//! Every vector an embedder returns is L2-normalised (a zero vector for a text with no tokens),
//! so a dot product is the cosine. This module turns texts into vectors and nothing else: it
//! knows no knowledge entry, no ticket and no threshold.

mod openai;
mod static_model;

use std::sync::{Arc, OnceLock};

pub use crate::config::OpenAiEmbeddingConfig;
pub use openai::OpenAiEmbedder;
pub use static_model::StaticModel;

/// Why texts could not be embedded. Every variant says what to check.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// The model files are missing, unreadable or not a model this code can run.
    #[error("embedding model {what}: {detail}")]
    Model { what: String, detail: String },
    /// The embedding server could not be reached, timed out or answered with an error status.
    #[error("embedding server {endpoint}: {detail}")]
    Unavailable { endpoint: String, detail: String },
    /// The embedding server answered, but not with what was asked (bad JSON, wrong count or
    /// dimensions, a body too large).
    #[error("embedding server {endpoint} returned an unusable response: {detail}")]
    InvalidResponse { endpoint: String, detail: String },
}

/// Something that turns texts into L2-normalised vectors of one fixed dimension.
///
/// Blocking: a static model computes in microseconds; a remote one waits for the network.
/// Callers run it where blocking is allowed (index builds and searches already run on
/// `spawn_blocking`).
pub trait Embedder: Send + Sync {
    /// A stable name for the model and its weights: vectors cached under one id are reused only
    /// by an embedder with the same id.
    fn model_id(&self) -> &str;
    /// One vector per text, in order, each L2-normalised (zero for a text without tokens).
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError>;
}

/// The built-in model, loaded once per process from the bytes compiled into the binary.
pub fn builtin() -> Arc<StaticModel> {
    static MODEL: OnceLock<Arc<StaticModel>> = OnceLock::new();
    Arc::clone(MODEL.get_or_init(|| {
        Arc::new(
            StaticModel::from_static(
                BUILTIN_ID,
                include_bytes!("../../../models/l2_supercat/tokenizer.json"),
                include_bytes!("../../../models/l2_supercat/model.safetensors"),
            )
            .expect("the built-in model is compiled in and checked by a test"),
        )
    }))
}

/// The cache id of the built-in model (change it whenever the shipped weights change).
pub const BUILTIN_ID: &str = "builtin:wordllama-l2_supercat-256-int8";

/// The dot product of two vectors of the same length (the cosine of two normalised vectors);
/// 0 for vectors of different lengths (a cached vector of another model never matches).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return 0.0;
    }
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Scales `v` to unit length in place; a zero (or non-finite) vector becomes all zeros.
pub(crate) fn normalise(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm.is_finite() && norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    } else {
        v.iter_mut().for_each(|x| *x = 0.0);
    }
}

/// The content hash under which a text's vector is cached: hex SHA-256 of the text.
pub fn content_hash(text: &str) -> String {
    hash_bytes(text.as_bytes())
}

/// Hex SHA-256 of `bytes`.
pub(crate) fn hash_bytes(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_of_mismatched_lengths_is_zero_and_normalise_handles_zero() {
        assert_eq!(cosine(&[1.0, 0.0], &[1.0]), 0.0);
        let mut v = vec![3.0, 4.0];
        normalise(&mut v);
        assert!((cosine(&v, &v) - 1.0).abs() < 1e-6);
        let mut z = vec![0.0, 0.0];
        normalise(&mut z);
        assert_eq!(z, vec![0.0, 0.0]);
        let mut nan = vec![f32::NAN, 1.0];
        normalise(&mut nan);
        assert_eq!(nan, vec![0.0, 0.0]);
        assert_eq!(content_hash("abc").len(), 64);
        assert_ne!(content_hash("abc"), content_hash("abd"));
    }
}
