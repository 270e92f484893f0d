//! The file as written: serde structs. Values that need a good message (durations, enums,
//! dates) stay strings here and are checked by the validator. Unknown keys are not refused
//! here: the validator reports them all at once (`serde_ignored`).

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawConfig {
    pub(super) gorgias: RawGorgias,
    pub(super) bot: RawBot,
    pub(super) timing: RawTiming,
    pub(super) ledger: RawLedger,
    pub(super) responder: RawResponder,
    pub(super) kb: RawKb,
    pub(super) openai: Option<RawOpenAi>,
    pub(super) handover: RawHandover,
    pub(super) tags: RawTags,
    pub(super) business_hours: RawBusinessHours,
    pub(super) http: RawHttp,
    pub(super) log: RawLog,
    pub(super) orders: RawOrders,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawOrders {
    pub(super) enabled: bool,
    pub(super) recent_window: Option<String>,
    pub(super) late_after: Option<String>,
    pub(super) number_wait: Option<String>,
    /// The default templates and `[orders.messages.LANG]` tables (see `Validator::orders`).
    pub(super) messages: toml::Table,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawGorgias {
    pub(super) base_url: Option<String>,
    pub(super) email: Option<String>,
    pub(super) api_key_file: Option<String>,
    pub(super) bearer: bool,
    pub(super) requests_per_window: Option<u32>,
    pub(super) window: Option<String>,
    pub(super) timeout: Option<String>,
    pub(super) connect_timeout: Option<String>,
    pub(super) max_body: Option<RawSize>,
    pub(super) stall_timeout: Option<String>,
    pub(super) allow_insecure_http: bool,
}

/// A size in bytes: a number, or a string such as "20MB" or "512KiB".
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum RawSize {
    Bytes(u64),
    Text(String),
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawBot {
    pub(super) name: Option<String>,
    pub(super) user_id: Option<u64>,
    pub(super) channels: Option<Vec<String>>,
    pub(super) mode: Option<String>,
    pub(super) opt_out_tags: Vec<String>,
    pub(super) handover_phrases: Vec<String>,
    pub(super) frustration_phrases: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawTiming {
    pub(super) poll_interval: Option<String>,
    pub(super) sweep: Option<String>,
    pub(super) close_after: Option<String>,
    pub(super) email_wait: Option<String>,
    pub(super) answer_deadline: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawLedger {
    pub(super) path: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawResponder {
    pub(super) kind: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawKb {
    pub(super) dir: Option<String>,
    pub(super) min_score: Option<f64>,
    pub(super) confidence: Option<f64>,
    pub(super) note_prefix: Option<String>,
    pub(super) embedding: Option<String>,
    pub(super) model2vec_dir: Option<String>,
    pub(super) embedding_url: Option<String>,
    pub(super) embedding_model: Option<String>,
    pub(super) embedding_api_key_file: Option<String>,
    pub(super) embedding_timeout: Option<String>,
    pub(super) embedding_batch: Option<usize>,
    pub(super) macros: Option<bool>,
    pub(super) macro_name_prefix: Option<String>,
    pub(super) macro_languages: Option<Vec<String>>,
    pub(super) sites: Option<Vec<String>>,
    pub(super) refresh: Option<String>,
    pub(super) site_max_pages: Option<u64>,
    pub(super) site_max_page_bytes: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawOpenAi {
    pub(super) base_url: Option<String>,
    pub(super) model: Option<String>,
    pub(super) api_key_file: Option<String>,
    pub(super) timeout: Option<String>,
    pub(super) temperature: Option<f64>,
    pub(super) max_tokens: Option<u32>,
    pub(super) response_format: Option<String>,
    pub(super) grounding_entries: Option<usize>,
    pub(super) context_tokens: Option<usize>,
    pub(super) max_answer_chars: Option<usize>,
    pub(super) concurrency: Option<usize>,
    pub(super) max_body_bytes: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawHandover {
    pub(super) collect_email: Option<String>,
    pub(super) assign_team_id: Option<u64>,
    pub(super) assign_user_id: Option<u64>,
    /// The seven default templates and `[handover.messages.LANG]` tables, told apart (and
    /// checked key by key) in `Validator::messages`: serde cannot mix fixed keys with a map.
    pub(super) messages: toml::Table,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawTags {
    pub(super) agent_required: Option<String>,
    pub(super) agent_check: Option<String>,
    pub(super) handled: Option<String>,
    pub(super) not_involved: Option<String>,
    pub(super) auto_closed: Option<String>,
    pub(super) preview: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawBusinessHours {
    pub(super) source: Option<String>,
    pub(super) timezone: Option<String>,
    /// Strings or bare TOML dates (`2025-12-25` unquoted is valid TOML).
    pub(super) holidays: Vec<toml::Value>,
    pub(super) ranges: Vec<RawRange>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawRange {
    pub(super) days: Option<String>,
    pub(super) from: Option<String>,
    pub(super) to: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawHttp {
    pub(super) listen: Option<String>,
    pub(super) webhook_secret_file: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawLog {
    pub(super) format: Option<String>,
    pub(super) filter: Option<String>,
}
