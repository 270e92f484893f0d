//! `[kb]` and `[openai]`: where answers come from.

use std::path::PathBuf;

use super::secrets::SecretSource;
use super::{DEFAULT_KB_DIR, Validator, is_loopback_url, limits};
use crate::config::raw::*;
use crate::config::types::*;
use crate::config::{ENV_EMBEDDING_API_KEY, ENV_OPENAI_API_KEY, Secrets};

impl Validator<'_> {
    pub(super) fn kb(&mut self, raw: RawKb) -> KbConfig {
        use crate::calibration::{DEFAULT_CONFIDENCE, bm25_confidence};
        let deprecated_min_score = match raw.min_score {
            Some(s) if !s.is_finite() || s < 0.0 => {
                self.err(
                    "kb.min_score",
                    format!("{s} must be a number of 0 or more (deprecated: use kb.confidence)"),
                );
                None
            }
            other => other,
        };
        let confidence = match (raw.confidence, deprecated_min_score) {
            (Some(c), _) if !c.is_finite() || !(0.0..=1.0).contains(&c) => {
                self.err(
                    "kb.confidence",
                    format!("{c} must be between 0 and 1 (try {DEFAULT_CONFIDENCE})"),
                );
                DEFAULT_CONFIDENCE
            }
            (Some(c), _) => c,
            // The old threshold on the BM25 score, as the confidence BM25 alone gives it.
            (None, Some(s)) => (bm25_confidence(s) * 1000.0).round() / 1000.0,
            (None, None) => DEFAULT_CONFIDENCE,
        };
        let dir = match raw.dir {
            Some(d) if d.trim().is_empty() => {
                self.err("kb.dir", "\"\" must not be empty");
                PathBuf::from(DEFAULT_KB_DIR)
            }
            Some(d) => self.resolve(&d),
            None => PathBuf::from(DEFAULT_KB_DIR),
        };
        #[derive(Clone, Copy)]
        enum Kind {
            Builtin,
            Model2Vec,
            OpenAi,
            None,
        }
        let kind = self.choice(
            "kb.embedding",
            raw.embedding,
            Kind::Builtin,
            &[
                ("builtin", Kind::Builtin),
                ("model2vec", Kind::Model2Vec),
                ("openai", Kind::OpenAi),
                ("none", Kind::None),
            ],
        );
        let timeout = self.duration(
            "kb.embedding_timeout",
            raw.embedding_timeout,
            "10s",
            limits::TIMEOUT,
        );
        let batch = match raw.embedding_batch {
            Some(0) => {
                self.err("kb.embedding_batch", "0 must be at least 1 (try 32)");
                32
            }
            Some(n) => n.min(2048),
            None => 32,
        };
        let embedding = match kind {
            Kind::Builtin => Embedding::Builtin,
            Kind::None => Embedding::None,
            Kind::Model2Vec => match raw.model2vec_dir {
                Some(d) if !d.trim().is_empty() => Embedding::Model2Vec {
                    dir: self.resolve(&d),
                },
                _ => {
                    self.err(
                        "kb.model2vec_dir",
                        "missing: kb.embedding = \"model2vec\" needs the model's directory \
                         (tokenizer.json and model.safetensors)",
                    );
                    Embedding::None
                }
            },
            Kind::OpenAi => {
                let example = "http://127.0.0.1:11434";
                let url = match raw.embedding_url.as_deref() {
                    Some(u) => self.http_url("kb.embedding_url", u, example),
                    None => {
                        self.err(
                            "kb.embedding_url",
                            format!(
                                "missing: kb.embedding = \"openai\" needs it (e.g. {example:?})"
                            ),
                        );
                        None
                    }
                };
                let model = raw.embedding_model.filter(|m| !m.trim().is_empty());
                if model.is_none() {
                    self.err(
                        "kb.embedding_model",
                        "missing: kb.embedding = \"openai\" needs it (e.g. \"nomic-embed-text\")",
                    );
                }
                let key_file = raw
                    .embedding_api_key_file
                    .as_deref()
                    .map(|p| self.resolve(p));
                let api_key = self
                    .secret(SecretSource {
                        key: "kb.embedding_api_key",
                        credential: "embedding_api_key",
                        file: key_file.as_deref(),
                        env_var: Some(ENV_EMBEDDING_API_KEY),
                    })
                    .ok()
                    .flatten();
                match (url, model) {
                    (Some(base_url), Some(model)) => Embedding::OpenAi(OpenAiEmbeddingConfig {
                        base_url,
                        model,
                        api_key,
                        timeout,
                        batch,
                    }),
                    _ => Embedding::None,
                }
            }
        };
        let macro_languages = raw
            .macro_languages
            .unwrap_or_default()
            .into_iter()
            .filter_map(|l| {
                let l = l.trim().to_lowercase();
                if l.is_empty() {
                    self.err("kb.macro_languages", "\"\" is not a language (e.g. \"en\")");
                    None
                } else {
                    Some(l)
                }
            })
            .collect();
        let mut sites = Vec::new();
        for (i, site) in raw.sites.unwrap_or_default().into_iter().enumerate() {
            let key = format!("kb.sites[{i}]");
            if let Some(url) = self.site_url(&key, &site) {
                if sites.contains(&url) {
                    self.err(&key, format!("{site:?} is listed twice"));
                } else {
                    sites.push(url);
                }
            }
        }
        let bounded = |v: &mut Validator<'_>, key: &str, raw: Option<u64>, default: usize| match raw
        {
            Some(0) => {
                v.err(key, format!("0 must be more than zero (default {default})"));
                default
            }
            Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
            None => default,
        };
        KbConfig {
            dir,
            confidence,
            deprecated_min_score,
            note_prefix: self.non_empty("kb.note_prefix", raw.note_prefix, "#kb"),
            embedding,
            macros: raw.macros.unwrap_or(false),
            macro_name_prefix: raw.macro_name_prefix.filter(|p| !p.is_empty()),
            macro_languages,
            sites,
            refresh: self.duration("kb.refresh", raw.refresh, "1h", limits::REFRESH),
            site_max_pages: bounded(
                self,
                "kb.site_max_pages",
                raw.site_max_pages,
                DEFAULT_SITE_MAX_PAGES,
            ),
            site_max_page_bytes: bounded(
                self,
                "kb.site_max_page_bytes",
                raw.site_max_page_bytes,
                DEFAULT_SITE_MAX_PAGE_BYTES,
            ),
        }
    }

    pub(super) fn openai(
        &mut self,
        raw: Option<RawOpenAi>,
        kind: ResponderKind,
    ) -> Option<OpenAiConfig> {
        let Some(raw) = raw else {
            if kind == ResponderKind::OpenAi {
                self.err(
                    "openai",
                    "missing: responder.kind = \"openai\" needs an [openai] section with base_url and model",
                );
            }
            return None;
        };
        let needed = kind == ResponderKind::OpenAi;
        let example = "https://api.openai.com/v1";
        let base_url = match raw.base_url {
            Some(u) => self.http_url("openai.base_url", &u, example),
            None => {
                if needed {
                    self.err(
                        "openai.base_url",
                        format!("missing: responder.kind = \"openai\" needs it (e.g. {example:?})"),
                    );
                }
                None
            }
        };
        let model = match raw.model {
            Some(m) if m.trim().is_empty() => {
                self.err("openai.model", "\"\" must not be empty");
                None
            }
            Some(m) => Some(m.trim().to_string()),
            None => {
                if needed {
                    self.err(
                        "openai.model",
                        "missing: responder.kind = \"openai\" needs it (e.g. \"gpt-4o-mini\")",
                    );
                }
                None
            }
        };
        let timeout = self.duration("openai.timeout", raw.timeout, "20s", limits::TIMEOUT);
        let api_key_file = raw.api_key_file.as_deref().map(|p| self.resolve(p));
        let d = OpenAiConfig::new("", "");
        let temperature = match raw.temperature {
            Some(t) if !t.is_finite() || !(0.0..=2.0).contains(&t) => {
                self.err(
                    "openai.temperature",
                    format!("{t} must be between 0 and 2 (try 0)"),
                );
                d.temperature
            }
            Some(t) => t,
            None => d.temperature,
        };
        let response_format = self.choice(
            "openai.response_format",
            raw.response_format,
            d.response_format,
            &[
                ("json_schema", StructuredOutput::JsonSchema),
                ("json_object", StructuredOutput::JsonObject),
            ],
        );
        let max_tokens = self.at_least("openai.max_tokens", raw.max_tokens, 64, d.max_tokens);
        let grounding_entries = self.at_least(
            "openai.grounding_entries",
            raw.grounding_entries,
            1,
            d.grounding_entries,
        );
        let context_tokens = self.at_least(
            "openai.context_tokens",
            raw.context_tokens,
            0,
            d.context_tokens,
        );
        let max_answer_chars = self.at_least(
            "openai.max_answer_chars",
            raw.max_answer_chars,
            1,
            d.max_answer_chars,
        );
        let concurrency = self.at_least("openai.concurrency", raw.concurrency, 1, d.concurrency);
        let max_body_bytes = self.at_least(
            "openai.max_body_bytes",
            raw.max_body_bytes,
            1024,
            d.max_body_bytes,
        );
        if !needed {
            return None;
        }
        let api_key = self
            .secret(SecretSource {
                key: "openai.api_key",
                credential: "openai_api_key",
                file: api_key_file.as_deref(),
                env_var: Some(ENV_OPENAI_API_KEY),
            })
            .ok()?;
        let (base_url, model) = (base_url?, model?);
        if api_key.is_some() && base_url.starts_with("http://") && !is_loopback_url(&base_url) {
            self.warnings.push(format!(
                "openai.base_url = {base_url:?} is plain http:// to another machine: the API key \
                 crosses the network in clear"
            ));
        }
        // Local servers (Ollama, llama.cpp, vLLM) take no key; the hosted services do.
        let host = url::Url::parse(&base_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default();
        if api_key.is_none()
            && self.secrets == Secrets::Required
            && (host.ends_with("openai.com") || host.ends_with("azure.com"))
        {
            self.err(
                "openai.api_key",
                format!(
                    "no API key found for {host}; put it in $CREDENTIALS_DIRECTORY/openai_api_key, \
                     in the file named by openai.api_key_file, or in the environment variable \
                     {ENV_OPENAI_API_KEY}"
                ),
            );
        } else if api_key.is_none() && (host.ends_with("openai.com") || host.ends_with("azure.com"))
        {
            self.warnings.push(format!(
                "openai.api_key: none found for {host}; calls to it go without a key"
            ));
        }
        Some(OpenAiConfig {
            base_url,
            model,
            api_key,
            api_key_file,
            timeout,
            temperature,
            max_tokens,
            response_format,
            grounding_entries,
            context_tokens,
            max_answer_chars,
            concurrency,
            max_body_bytes,
        })
    }
}
