//! The configuration: `config.toml` -> raw serde structs -> a validated, typed [`Config`].
//!
//! Owns: every key name and default (a promise to users, documented in `config.toml.example`),
//! the reading of secrets (API keys, webhook secret) from systemd credentials, files or the
//! environment, and the error messages. Every problem is collected and reported at once, each
//! naming the file, the key and the bad value:
//! `config.toml: timing.close_after: "15 minutes please" is not a duration (try "15m")`.
//!
//! Must not: touch the network, read the clock, or ever put a secret in an error or in Debug
//! output (secrets are `SecretString`). The environment is passed in as a function so tests
//! never depend on the real one.

mod builtin;
mod messages;
mod raw;
mod summary;
#[cfg(test)]
mod tests;
mod types;
mod validate;

use std::fmt;
use std::path::{Path, PathBuf};

pub use messages::{BUILTIN_LANGUAGES, FillIns, HandoverMessages, MessageTemplates, language_code};
pub use types::*;

use raw::{RawConfig, RawGorgias};
use validate::Validator;

/// Placeholders a handover message may use.
pub const PLACEHOLDERS: [&str; 3] = ["next_open", "email", "customer_name"];

/// Environment variable holding the Gorgias API key (the last place looked).
pub const ENV_GORGIAS_API_KEY: &str = "PERFECTBOT_GORGIAS_API_KEY";
/// Environment variable holding the OpenAI-compatible API key (the last place looked).
pub const ENV_OPENAI_API_KEY: &str = "PERFECTBOT_OPENAI_API_KEY";
/// The environment variable read for `kb.embedding_api_key` when no credential file has it.
pub const ENV_EMBEDDING_API_KEY: &str = "PERFECTBOT_EMBEDDING_API_KEY";

/// All the problems found in a config file, one per line when displayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<String>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

// ---------------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------------

/// Loads and validates the config file at `path`, reading secrets and `$STATE_DIRECTORY` /
/// `$CREDENTIALS_DIRECTORY` from the real environment.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    load_with_env(path, &|name| std::env::var(name).ok())
}

/// Like [`load`], with the environment given as a function (for tests).
pub fn load_with_env(
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigErrors> {
    load_with(path, env, Secrets::Required)
}

/// Loads the config for a command that never calls Gorgias (`status`, `report`, `preview`,
/// `eval`): see [`Secrets::Optional`]. The real environment, as [`load`].
pub fn load_offline(path: &Path) -> Result<Config, ConfigErrors> {
    load_with(path, &|name| std::env::var(name).ok(), Secrets::Optional)
}

/// Which secrets a command needs, so loading knows what a missing one means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secrets {
    /// The daemon's needs: the Gorgias API key is required, and every secret that is named
    /// must be readable.
    Required,
    /// A command that never calls Gorgias: the Gorgias API key and the webhook secret are not
    /// read (`gorgias.api_key` is left empty, `http.webhook_secret` is `None`), and the
    /// responder's keys (`openai.api_key`, `kb.embedding_api_key`) are read where they can
    /// be; one that is missing or unreadable is left out with a note (see
    /// [`Config::notes`]), never an error, since the operator's shell usually cannot read
    /// what systemd hands the unit.
    Optional,
}

/// Like [`load_with_env`], saying which secrets are needed.
pub fn load_with(
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
    secrets: Secrets,
) -> Result<Config, ConfigErrors> {
    let label = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigErrors(vec![format!("{label}: cannot read the config file: {e}")]))?;
    let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    parse_with_base(&label, &base_dir, &text, env, secrets)
}

/// Parses and validates config text. `file_label` names the file in messages; relative paths
/// are resolved against its directory.
pub fn parse_str(
    file_label: &str,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigErrors> {
    let base_dir = Path::new(file_label)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    parse_with_base(file_label, &base_dir, text, env, Secrets::Required)
}

/// Fills a handover template: each `{name}` whose name is in `values` is replaced; anything
/// else is left as written (templates were checked at load time).
pub fn fill_template(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (name, value) in values {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

fn parse_with_base(
    label: &str,
    base_dir: &Path,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
    secrets: Secrets,
) -> Result<Config, ConfigErrors> {
    let mut v = Validator {
        file: label.to_string(),
        base_dir: base_dir.to_path_buf(),
        env,
        secrets,
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    let raw = v.deserialize(text)?;
    let config = v.validate(raw);
    if v.errors.is_empty() {
        Ok(config)
    } else {
        Err(ConfigErrors(v.errors))
    }
}

/// `gorgias.max_body` when not set; the client owns it so that `gorgias` needs nothing from
/// `config`.
pub use crate::gorgias::client::DEFAULT_MAX_BODY as DEFAULT_GORGIAS_MAX_BODY;
/// What `gorgias.max_body` may be set to.
pub const GORGIAS_MAX_BODY_RANGE: (usize, usize) = (64 * 1024, 1 << 30);

/// "20MB", "512 KiB", "1000": digits then an optional unit (B, KB, MB, GB in powers of 1000;
/// KiB, MiB, GiB in powers of 1024; case-insensitive). `None` for anything else or an overflow.
pub fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(factor)
}

impl Config {
    /// A config with every default, for tests and the demo: the given Gorgias address, login
    /// and key, everything else as if the file had only `[gorgias]`.
    ///
    /// # Panics
    /// If `base_url` is not an http(s) URL or `email` is not an email address: a test bug.
    pub fn for_tests(base_url: &str, email: &str, api_key: &str) -> Config {
        let raw = RawConfig {
            gorgias: RawGorgias {
                base_url: Some(base_url.to_string()),
                email: Some(email.to_string()),
                ..RawGorgias::default()
            },
            ..RawConfig::default()
        };
        let key = api_key.to_string();
        let env = move |name: &str| (name == ENV_GORGIAS_API_KEY).then(|| key.clone());
        let mut v = Validator {
            file: "(test config)".to_string(),
            base_dir: PathBuf::new(),
            env: &env,
            secrets: Secrets::Required,
            errors: Vec::new(),
            warnings: Vec::new(),
        };
        let config = v.validate(raw);
        assert!(v.errors.is_empty(), "Config::for_tests: {:?}", v.errors);
        config
    }
}
