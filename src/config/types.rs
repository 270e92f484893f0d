//! The validated configuration: the types the rest of the bot reads.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use jiff::civil::Date;
use secrecy::SecretString;

use super::messages::HandoverMessages;
use crate::hours::{BusinessHours, HoursRange};

/// The validated configuration. Build it with [`load`], [`load_with_env`] or [`parse_str`].
#[derive(Debug, Clone)]
pub struct Config {
    /// The config file as the user named it (used in messages).
    pub file: String,
    pub gorgias: GorgiasConfig,
    pub bot: BotConfig,
    pub timing: TimingConfig,
    pub ledger: LedgerConfig,
    pub responder: ResponderConfig,
    pub kb: KbConfig,
    /// Present when `responder.kind = "openai"`.
    pub openai: Option<OpenAiConfig>,
    pub handover: HandoverConfig,
    pub tags: Tags,
    pub business_hours: BusinessHoursConfig,
    pub http: HttpConfig,
    pub log: LogConfig,
    pub orders: OrdersConfig,
    /// What loading found allowed but risky (a key file others can read, plain http): shown
    /// by [`Config::notes`].
    pub load_warnings: Vec<String>,
}

/// `[orders]`: "where is my order?" answered from the Shopify orders Gorgias holds on the
/// ticket's customer (see `crate::orders`).
#[derive(Debug, Clone)]
pub struct OrdersConfig {
    pub enabled: bool,
    pub recent_window: Duration,
    pub late_after: Duration,
    pub number_wait: Duration,
    pub messages: crate::orders::OrderMessages,
}

/// `[gorgias]`: where the helpdesk is and how to authenticate.
#[derive(Debug, Clone)]
pub struct GorgiasConfig {
    /// e.g. "https://your-store.gorgias.com", no trailing slash; the API is `{base_url}/api/...`.
    pub base_url: String,
    /// The login for HTTP Basic auth. Empty when `bearer = true` and no email was given.
    pub email: String,
    /// Never printed: Debug shows `[REDACTED]`.
    pub api_key: SecretString,
    /// The configured key file (resolved), if any; informational.
    pub api_key_file: Option<PathBuf>,
    /// The key is an OAuth2 bearer token rather than a Basic-auth API key.
    pub bearer: bool,
    pub requests_per_window: u32,
    pub window: Duration,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// The largest response body read from Gorgias, in bytes; a larger one fails the request.
    pub max_body: usize,
    /// A response body that sends nothing for this long has stalled: the request fails.
    pub stall_timeout: Duration,
    /// `http://` to a host other than this machine was allowed (the key then crosses the
    /// network in clear: a warning at start-up).
    pub allow_insecure_http: bool,
}

/// `[bot]`: who the bot is and which tickets it works on.
#[derive(Debug, Clone)]
pub struct BotConfig {
    pub name: String,
    /// `None`: the API key's own user, resolved at run time.
    pub user_id: Option<u64>,
    pub channels: Vec<String>,
    pub mode: Mode,
    /// Extra tags that keep the bot off a ticket, besides `tags.not_involved`.
    pub opt_out_tags: Vec<String>,
    /// Extra phrases that mean "let me talk to a person" (any language), added to the built-in
    /// lists; matched on word boundaries, case and accents ignored.
    pub handover_phrases: Vec<String>,
    /// Extra phrases that signal frustration, added to the built-in lists.
    pub frustration_phrases: Vec<String>,
}

/// Live: act on tickets. Shadow: only post internal notes saying what it would do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Live,
    Shadow,
}

/// `[timing]`: the lifecycle's clocks.
#[derive(Debug, Clone)]
pub struct TimingConfig {
    pub poll_interval: Duration,
    /// A validated six-field cron string (seconds first), in UTC.
    pub sweep: String,
    pub close_after: Duration,
    pub email_wait: Duration,
    pub answer_deadline: Duration,
}

/// `[ledger]`.
#[derive(Debug, Clone)]
pub struct LedgerConfig {
    pub path: PathBuf,
}

/// `[responder]`.
#[derive(Debug, Clone)]
pub struct ResponderConfig {
    pub kind: ResponderKind,
}

/// Which responder answers customers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponderKind {
    Kb,
    OpenAi,
}

/// `[kb]`: the embedded knowledge base.
#[derive(Debug, Clone)]
pub struct KbConfig {
    pub dir: PathBuf,
    /// How sure the `kb` responder must be that its best entry is the right answer (0..1).
    pub confidence: f64,
    /// The deprecated `kb.min_score`, when set (already mapped into `confidence`); the daemon
    /// logs a warning naming it.
    pub deprecated_min_score: Option<f64>,
    pub note_prefix: String,
    /// Where the knowledge entries' dense vectors come from.
    pub embedding: Embedding,
    /// Import the account's Gorgias macros that have a response text (`kb.macros`).
    pub macros: bool,
    /// Only macros whose name starts with this (`kb.macro_name_prefix`).
    pub macro_name_prefix: Option<String>,
    /// Only macros in these languages (lowercase ISO 639-1; empty = every language).
    pub macro_languages: Vec<String>,
    /// Help-centre or FAQ sites: sitemap URLs or page URLs (`kb.sites`).
    pub sites: Vec<String>,
    /// How often macros and sites are read again (`kb.refresh`, default 1h).
    pub refresh: Duration,
    /// At most this many pages read per site (`kb.site_max_pages`).
    pub site_max_pages: usize,
    /// A page or sitemap larger than this many bytes is skipped (`kb.site_max_page_bytes`).
    pub site_max_page_bytes: usize,
}

/// `kb.embedding`: the model that gives knowledge entries and customer texts their vectors.
#[derive(Debug, Clone)]
pub enum Embedding {
    /// The model compiled into the binary (the default).
    Builtin,
    /// A model2vec-format directory (`tokenizer.json` + `model.safetensors`).
    Model2Vec { dir: PathBuf },
    /// An OpenAI-compatible `/v1/embeddings`.
    OpenAi(OpenAiEmbeddingConfig),
    /// No vectors: BM25 alone.
    None,
}

/// `[kb]`'s `embedding_*` keys for `embedding = "openai"`.
#[derive(Debug, Clone)]
pub struct OpenAiEmbeddingConfig {
    /// e.g. "http://127.0.0.1:11434" or "https://api.openai.com/v1".
    pub base_url: String,
    pub model: String,
    /// `None` for local servers that need no key.
    pub api_key: Option<SecretString>,
    pub timeout: Duration,
    /// Texts per request.
    pub batch: usize,
}

/// Default `kb.site_max_pages`.
pub const DEFAULT_SITE_MAX_PAGES: usize = 1000;
/// Default `kb.site_max_page_bytes`: 2 MB, far above a help article's HTML.
pub const DEFAULT_SITE_MAX_PAGE_BYTES: usize = 2 * 1024 * 1024;

/// `[openai]`: an OpenAI-compatible chat-completions endpoint.
#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    /// No trailing slash, e.g. "https://api.openai.com/v1".
    pub base_url: String,
    pub model: String,
    /// `None` for local servers that need no key (Ollama, llama.cpp, vLLM).
    pub api_key: Option<SecretString>,
    pub api_key_file: Option<PathBuf>,
    /// Each call's timeout (connect, request and body together).
    pub timeout: Duration,
    /// Sampling temperature; 0 makes the decision as repeatable as the server allows.
    pub temperature: f64,
    /// The most tokens the model may write per call. Leave room: a JSON-schema grammar still
    /// lets a small model pad with whitespace.
    pub max_tokens: u32,
    /// How the decision's shape is asked for (`json_schema`, falling back to `json_object` when
    /// the server refuses it).
    pub response_format: StructuredOutput,
    /// How many knowledge entries (the search's best) ground a call when the whole knowledge
    /// base does not fit `context_tokens`.
    pub grounding_entries: usize,
    /// The whole knowledge base grounds each call when its entries fit this many tokens
    /// (estimated at 4 characters a token).
    pub context_tokens: usize,
    /// A longer answer is not sent (no knowledge, handed over).
    pub max_answer_chars: usize,
    /// How many responder calls may run at once.
    pub concurrency: usize,
    /// The largest response body read from the endpoint.
    pub max_body_bytes: usize,
}

/// How the `openai` responder asks for its structured decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StructuredOutput {
    /// `response_format: json_schema` (strict), falling back to `json_object` on a server
    /// that refuses the schema.
    JsonSchema,
    /// `response_format: json_object` only, with the schema spelled out in the prompt.
    JsonObject,
}

impl OpenAiConfig {
    /// The `[openai]` defaults for an endpoint (no key).
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            model: model.into(),
            api_key: None,
            api_key_file: None,
            timeout: Duration::from_secs(20),
            temperature: 0.0,
            max_tokens: 1024,
            response_format: StructuredOutput::JsonSchema,
            grounding_entries: 8,
            context_tokens: 3000,
            max_answer_chars: 1500,
            concurrency: 4,
            max_body_bytes: 2_000_000,
        }
    }
}

/// `[handover]`.
#[derive(Debug, Clone)]
pub struct HandoverConfig {
    pub collect_email: CollectEmail,
    pub assign_team_id: Option<u64>,
    pub assign_user_id: Option<u64>,
    pub messages: HandoverMessages,
}

/// When to ask the customer for an email address before handing over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollectEmail {
    Always,
    WhenOffline,
    Never,
}

/// The tag names the bot reads and writes, resolved from `[tags]` and `bot.name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tags {
    pub agent_required: String,
    pub agent_check: String,
    pub handled: String,
    pub not_involved: String,
    pub auto_closed: String,
    pub preview: String,
}

impl Tags {
    /// The default tag names for a bot called `name` ("PerfectBot: Handled", ...).
    pub fn for_name(name: &str) -> Tags {
        Tags {
            agent_required: format!("{name}: Agent Required"),
            agent_check: format!("{name}: Agent Check Recommended"),
            handled: format!("{name}: Handled"),
            not_involved: format!("{name}: Not Involved"),
            auto_closed: format!("{name}: Auto-closed"),
            preview: format!("{name}: Preview"),
        }
    }

    /// Every tag that keeps the bot off a ticket: `not_involved` plus `extra`
    /// (`bot.opt_out_tags`), without duplicates, in that order.
    pub fn opt_out(&self, extra: &[String]) -> Vec<String> {
        let mut all = vec![self.not_involved.clone()];
        for tag in extra {
            if !all.contains(tag) {
                all.push(tag.clone());
            }
        }
        all
    }

    /// The tags that mean "handed over, an agent must look": while one is on a ticket that is
    /// assigned back to the bot, the bot stays quiet.
    pub fn escalation(&self) -> [&str; 2] {
        [&self.agent_required, &self.agent_check]
    }
}

/// Where business hours come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoursSource {
    Gorgias,
    Config,
}

/// `[business_hours]`.
#[derive(Debug, Clone)]
pub struct BusinessHoursConfig {
    pub source: HoursSource,
    pub timezone: String,
    /// Closed local dates, applied with either source.
    pub holidays: Vec<Date>,
    pub ranges: Vec<HoursRange>,
    /// The ready-made hours when `source = "config"`; `None` with `source = "gorgias"` (build
    /// them from the account setting with `BusinessHours::from_gorgias(.., holidays)`).
    pub hours: Option<BusinessHours>,
}

/// `[http]`: the optional listener for `/healthz`, `/metrics` and `/webhook`.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// `None`: no listener.
    pub listen: Option<SocketAddr>,
    pub webhook_secret_file: Option<PathBuf>,
    /// From `$CREDENTIALS_DIRECTORY/webhook_secret`, else `webhook_secret_file`.
    pub webhook_secret: Option<SecretString>,
}

/// `[log]`.
#[derive(Debug, Clone)]
pub struct LogConfig {
    pub format: LogFormat,
    /// An `EnvFilter` directive string, validated.
    pub filter: String,
}

/// Log output format. `Auto`: journald when `JOURNAL_STREAM` is set, else text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
    Journald,
    Auto,
}
