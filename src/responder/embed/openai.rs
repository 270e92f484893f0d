//! The `openai` embedding backend: `POST {base}/v1/embeddings` of any OpenAI-compatible server
//! (OpenAI, Ollama, llama.cpp, vLLM), `encoding_format: "float"`, in batches, with a timeout;
//! every body read with a size cap ([`crate::netbody::read_capped`]).

use std::sync::Mutex;
use std::time::Duration;

use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;

use super::{EmbedError, Embedder, normalise};
use crate::config::OpenAiEmbeddingConfig;

/// The largest response body read for one batch: 64 texts of 4,096 floats written out in JSON
/// are about 6 MB.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// The largest vector accepted: no embedding model has more dimensions.
const MAX_DIM: usize = 16_384;

/// The embeddings URL for a base URL given with or without its `/v1`.
pub fn embeddings_url(base_url: &str) -> String {
    let base = base_url.trim().trim_end_matches('/');
    if base.ends_with("/v1") {
        format!("{base}/embeddings")
    } else {
        format!("{base}/v1/embeddings")
    }
}

/// See the module doc.
pub struct OpenAiEmbedder {
    id: String,
    endpoint: String,
    model: String,
    api_key: Option<SecretString>,
    timeout: Duration,
    batch: usize,
    /// The dimension of the first vectors received: a server that changes it mid-way (another
    /// model loaded under the same name) is an error, not a silently mixed index.
    dim: Mutex<Option<usize>>,
}

impl std::fmt::Debug for OpenAiEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiEmbedder")
            .field("endpoint", &self.endpoint)
            .field("model", &self.model)
            .finish()
    }
}

#[derive(Deserialize)]
struct Response {
    data: Vec<Item>,
}

#[derive(Deserialize)]
struct Item {
    embedding: Vec<f32>,
    #[serde(default)]
    index: Option<usize>,
}

impl OpenAiEmbedder {
    /// An embedder for `cfg`. Nothing is sent until the first [`Embedder::embed`].
    pub fn new(cfg: &OpenAiEmbeddingConfig) -> OpenAiEmbedder {
        let endpoint = embeddings_url(&cfg.base_url);
        OpenAiEmbedder {
            id: format!("openai:{endpoint}:{}", cfg.model),
            endpoint,
            model: cfg.model.clone(),
            api_key: cfg.api_key.clone(),
            timeout: if cfg.timeout.is_zero() {
                Duration::from_secs(20)
            } else {
                cfg.timeout
            },
            batch: cfg.batch.max(1),
            dim: Mutex::new(None),
        }
    }

    fn unavailable(&self, detail: String) -> EmbedError {
        EmbedError::Unavailable {
            endpoint: self.endpoint.clone(),
            detail,
        }
    }

    fn invalid(&self, detail: String) -> EmbedError {
        EmbedError::InvalidResponse {
            endpoint: self.endpoint.clone(),
            detail,
        }
    }

    async fn embed_batch(
        &self,
        http: &reqwest::Client,
        texts: &[&str],
    ) -> Result<Vec<Vec<f32>>, EmbedError> {
        let body = serde_json::json!({
            "model": self.model,
            "input": texts,
            "encoding_format": "float",
        });
        let mut req = http.post(&self.endpoint).json(&body);
        if let Some(key) = &self.api_key {
            req = req.bearer_auth(key.expose_secret());
        }
        let resp = req
            .send()
            .await
            .map_err(|e| self.unavailable(format!("request failed: {e}")))?;
        let status = resp.status();
        let bytes = crate::netbody::read_capped(resp, MAX_BODY, self.timeout)
            .await
            .map_err(|e| self.invalid(e.to_string()))?;
        if !status.is_success() {
            let head = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned();
            return Err(self.unavailable(format!("HTTP {status}: {head}")));
        }
        let parsed: Response = serde_json::from_slice(&bytes)
            .map_err(|e| self.invalid(format!("not an embeddings response: {e}")))?;
        if parsed.data.len() != texts.len() {
            return Err(self.invalid(format!(
                "{} vectors for {} texts",
                parsed.data.len(),
                texts.len()
            )));
        }
        let mut out: Vec<Option<Vec<f32>>> = vec![None; texts.len()];
        for (pos, item) in parsed.data.into_iter().enumerate() {
            let at = item.index.unwrap_or(pos);
            let slot = out
                .get_mut(at)
                .ok_or_else(|| self.invalid(format!("vector index {at} out of range")))?;
            if slot.is_some() {
                return Err(self.invalid(format!("vector index {at} given twice")));
            }
            let mut v = item.embedding;
            self.check_dim(v.len())?;
            if v.iter().any(|x| !x.is_finite()) {
                return Err(self.invalid("a vector holds a non-finite number".to_owned()));
            }
            normalise(&mut v);
            *slot = Some(v);
        }
        Ok(out.into_iter().flatten().collect())
    }

    fn check_dim(&self, len: usize) -> Result<(), EmbedError> {
        if len == 0 || len > MAX_DIM {
            return Err(self.invalid(format!("a vector of {len} dimensions")));
        }
        let mut dim = self.dim.lock().unwrap_or_else(|p| p.into_inner());
        match *dim {
            Some(d) if d != len => Err(self.invalid(format!(
                "a vector of {len} dimensions where earlier ones had {d}"
            ))),
            Some(_) => Ok(()),
            None => {
                *dim = Some(len);
                Ok(())
            }
        }
    }

    async fn embed_all(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let http = reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("perfectbot/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| self.unavailable(format!("building the HTTP client: {e}")))?;
        let mut out = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(self.batch) {
            out.extend(self.embed_batch(&http, chunk).await?);
        }
        Ok(out)
    }
}

impl Embedder for OpenAiEmbedder {
    fn model_id(&self) -> &str {
        &self.id
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        // Callers are synchronous (index builds and searches on blocking threads, tests): the
        // request runs on a thread of its own with a private runtime, so this works whether or
        // not the caller is inside a tokio runtime.
        std::thread::scope(|s| {
            s.spawn(|| {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| self.unavailable(format!("starting a runtime: {e}")))?;
                rt.block_on(self.embed_all(texts))
            })
            .join()
            .unwrap_or_else(|_| Err(self.unavailable("the request thread panicked".to_owned())))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A loopback server answering every request with `answer(request body)` (status, body),
    /// counting requests.
    async fn fake(
        answer: impl Fn(serde_json::Value) -> (u16, String) + Send + Sync + 'static,
    ) -> (String, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let count = Arc::new(AtomicUsize::new(0));
        let seen = Arc::clone(&count);
        let answer = Arc::new(answer);
        tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                let answer = Arc::clone(&answer);
                let seen = Arc::clone(&seen);
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 8192];
                    let body = loop {
                        let n = sock.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        let text = String::from_utf8_lossy(&buf).into_owned();
                        if let Some(end) = text.find("\r\n\r\n") {
                            let len = text[..end]
                                .lines()
                                .find_map(|l| {
                                    l.to_ascii_lowercase()
                                        .strip_prefix("content-length:")
                                        .map(|v| v.trim().parse::<usize>().unwrap())
                                })
                                .unwrap_or(0);
                            if buf.len() >= end + 4 + len {
                                break buf[end + 4..end + 4 + len].to_vec();
                            }
                        }
                    };
                    seen.fetch_add(1, Ordering::SeqCst);
                    let req: serde_json::Value = serde_json::from_slice(&body).unwrap();
                    let (status, body) = answer(req);
                    let head = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = sock.write_all(head.as_bytes()).await;
                    let _ = sock.write_all(body.as_bytes()).await;
                });
            }
        });
        (format!("http://{addr}"), count)
    }

    type Answer = Box<dyn Fn(serde_json::Value) -> (u16, String) + Send + Sync>;

    fn embedder(base: &str, batch: usize) -> OpenAiEmbedder {
        OpenAiEmbedder::new(&OpenAiEmbeddingConfig {
            base_url: base.to_owned(),
            model: "m".to_owned(),
            api_key: Some(SecretString::from("k")),
            timeout: Duration::from_secs(5),
            batch,
        })
    }

    /// Vectors [len(text), 1, 0] in reverse order with their indexes, checking the request.
    fn good(req: serde_json::Value) -> (u16, String) {
        assert_eq!(req["encoding_format"], "float");
        assert_eq!(req["model"], "m");
        let inputs = req["input"].as_array().unwrap();
        let data: Vec<_> = inputs
            .iter()
            .enumerate()
            .rev()
            .map(|(i, t)| {
                let len = t.as_str().unwrap().len() as f32;
                serde_json::json!({"index": i, "embedding": [len, 1.0, 0.0]})
            })
            .collect();
        (200, serde_json::json!({"data": data}).to_string())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn batches_requests_orders_by_index_and_normalises() {
        let (base, count) = fake(good).await;
        let e = embedder(&base, 2);
        let texts = ["a", "bbb", "cc", "dddd", "e"];
        let out = tokio::task::spawn_blocking(move || e.embed(&texts))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(out.len(), 5);
        assert_eq!(count.load(Ordering::SeqCst), 3);
        let expect = |len: f32| len / (len * len + 1.0).sqrt();
        assert!((out[1][0] - expect(3.0)).abs() < 1e-6);
        assert!((out[3][0] - expect(4.0)).abs() < 1e-6);
        assert!(embeddings_url("http://x/v1/").ends_with("/v1/embeddings"));
        assert_eq!(embeddings_url("http://x"), "http://x/v1/embeddings");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn bad_json_wrong_counts_and_dimensions_and_errors_are_named() {
        let cases: Vec<(Answer, &str)> = vec![
            (
                Box::new(|_| (200, "{not json".to_owned())),
                "not an embeddings response",
            ),
            (
                Box::new(|_| (200, r#"{"data":[{"embedding":[1,2]}]}"#.to_owned())),
                "1 vectors for 2 texts",
            ),
            (
                Box::new(|_| {
                    (
                        200,
                        r#"{"data":[{"embedding":[1,2]},{"embedding":[1,2,3]}]}"#.to_owned(),
                    )
                }),
                "dimensions",
            ),
            (
                Box::new(|_| {
                    (
                        200,
                        r#"{"data":[{"embedding":[]},{"embedding":[]}]}"#.to_owned(),
                    )
                }),
                "0 dimensions",
            ),
            (
                Box::new(|_| {
                    (
                        200,
                        r#"{"data":[{"index":5,"embedding":[1]},{"embedding":[1]}]}"#.to_owned(),
                    )
                }),
                "out of range",
            ),
            (Box::new(|_| (503, "busy".to_owned())), "HTTP 503"),
            (
                Box::new(|_| (200, format!("{{\"data\":[{}]}}", "1,".repeat(MAX_BODY / 2)))),
                "larger than",
            ),
        ];
        for (answer, want) in cases {
            let (base, _) = fake(answer).await;
            let e = embedder(&base, 8);
            let err = tokio::task::spawn_blocking(move || e.embed(&["a", "b"]))
                .await
                .unwrap()
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "want {want:?} in {err}");
            assert!(err.contains(&base), "{err}");
        }
    }

    #[test]
    fn unreachable_server_is_unavailable_and_works_outside_a_runtime() {
        // A port nothing listens on (bound then dropped).
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let e = embedder(&format!("http://127.0.0.1:{port}"), 8);
        let err = e.embed(&["a"]).unwrap_err();
        assert!(matches!(err, EmbedError::Unavailable { .. }), "{err}");
        assert!(e.embed(&[]).unwrap().is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_later_batch_with_other_dimensions_is_refused() {
        let calls = Arc::new(AtomicUsize::new(0));
        let c = Arc::clone(&calls);
        let (base, _) = fake(move |_| {
            let n = c.fetch_add(1, Ordering::SeqCst);
            let v = if n == 0 { "[1,0]" } else { "[1,0,0]" };
            (200, format!("{{\"data\":[{{\"embedding\":{v}}}]}}"))
        })
        .await;
        let e = embedder(&base, 1);
        let err = tokio::task::spawn_blocking(move || e.embed(&["a", "b"]))
            .await
            .unwrap()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("3 dimensions where earlier ones had 2"),
            "{err}"
        );
    }
}
