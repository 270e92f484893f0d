//! `[gorgias]`, `[bot]`, `[timing]`, `[ledger]`, `[http]` and `[log]`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use secrecy::SecretString;

use super::secrets::SecretSource;
use super::{
    DEFAULT_LEDGER_PATH, DEFAULT_LOG_FILTER, DEFAULT_SWEEP, Validator, check_cron, is_loopback_url,
    limits,
};
use crate::config::raw::*;
use crate::config::types::*;
use crate::config::{
    DEFAULT_GORGIAS_MAX_BODY, ENV_GORGIAS_API_KEY, GORGIAS_MAX_BODY_RANGE, Secrets, parse_size,
};

impl Validator<'_> {
    pub(super) fn gorgias(&mut self, raw: RawGorgias) -> GorgiasConfig {
        let example = "https://your-store.gorgias.com";
        let base_url = match raw.base_url {
            None => {
                self.err(
                    "gorgias.base_url",
                    format!("missing: set it to your Gorgias address, e.g. {example:?}"),
                );
                String::new()
            }
            Some(text) => match self.http_url("gorgias.base_url", &text, example) {
                Some(url) if url.ends_with("/api") => {
                    self.err(
                        "gorgias.base_url",
                        format!(
                            "{text:?} must not end in /api: give the account address (e.g. {example:?}), \
                             the bot adds /api/... itself"
                        ),
                    );
                    String::new()
                }
                Some(url) => url,
                None => String::new(),
            },
        };
        let email = match raw.email {
            Some(e) if !e.contains('@') || e.trim().contains(char::is_whitespace) => {
                self.err("gorgias.email", format!("{e:?} is not an email address"));
                String::new()
            }
            Some(e) => e.trim().to_string(),
            None if raw.bearer => String::new(),
            None => {
                self.err(
                    "gorgias.email",
                    "missing: the email of the Gorgias user whose API key the bot uses \
                     (or set gorgias.bearer = true for an OAuth2 token)",
                );
                String::new()
            }
        };
        let api_key_file = raw.api_key_file.as_deref().map(|p| self.resolve(p));
        let api_key = match self.secrets {
            // Not read at all: a command that never calls Gorgias has no use for it.
            Secrets::Optional => Ok(Some(SecretString::default())),
            Secrets::Required => self.secret(SecretSource {
                key: "gorgias.api_key",
                credential: "gorgias_api_key",
                file: api_key_file.as_deref(),
                env_var: Some(ENV_GORGIAS_API_KEY),
            }),
        };
        let api_key = match api_key {
            Ok(Some(key)) => key,
            Ok(None) => {
                self.err(
                    "gorgias.api_key",
                    format!(
                        "no API key found; put it in $CREDENTIALS_DIRECTORY/gorgias_api_key \
                         (systemd LoadCredential=), in the file named by gorgias.api_key_file, \
                         or in the environment variable {ENV_GORGIAS_API_KEY}"
                    ),
                );
                SecretString::default()
            }
            Err(()) => SecretString::default(),
        };
        let requests_per_window = match raw.requests_per_window {
            Some(0) => {
                self.err(
                    "gorgias.requests_per_window",
                    "0 must be at least 1 (try 40)",
                );
                40
            }
            Some(n) if n > limits::MAX_REQUESTS_PER_WINDOW => {
                self.err(
                    "gorgias.requests_per_window",
                    format!(
                        "{n} is more than the maximum of {} (try 40)",
                        limits::MAX_REQUESTS_PER_WINDOW
                    ),
                );
                40
            }
            Some(n) => n,
            None => 40,
        };
        if base_url.starts_with("http://") && !is_loopback_url(&base_url) {
            if raw.allow_insecure_http {
                self.warnings.push(format!(
                    "gorgias.base_url = {base_url:?} is plain http:// to another machine: the API \
                     key crosses the network in clear (allowed by gorgias.allow_insecure_http)"
                ));
            } else {
                self.err(
                    "gorgias.base_url",
                    format!(
                        "{base_url:?} is plain http:// to another machine, which would send the \
                         API key in clear; use https:// (or set gorgias.allow_insecure_http = true)"
                    ),
                );
            }
        }
        GorgiasConfig {
            base_url,
            email,
            api_key,
            api_key_file,
            bearer: raw.bearer,
            requests_per_window,
            window: self.duration("gorgias.window", raw.window, "20s", limits::WINDOW),
            timeout: self.duration("gorgias.timeout", raw.timeout, "30s", limits::TIMEOUT),
            connect_timeout: self.duration(
                "gorgias.connect_timeout",
                raw.connect_timeout,
                "10s",
                limits::TIMEOUT,
            ),
            max_body: self.size(
                "gorgias.max_body",
                raw.max_body,
                DEFAULT_GORGIAS_MAX_BODY,
                GORGIAS_MAX_BODY_RANGE,
            ),
            stall_timeout: self.duration(
                "gorgias.stall_timeout",
                raw.stall_timeout,
                "10s",
                limits::TIMEOUT,
            ),
            allow_insecure_http: raw.allow_insecure_http,
        }
    }

    /// A byte count: a number, or digits with a unit (B, KB, MB, GB: powers of 1000; KiB, MiB,
    /// GiB: of 1024), within `range`.
    pub(super) fn size(
        &mut self,
        key: &str,
        raw: Option<RawSize>,
        default: usize,
        range: (usize, usize),
    ) -> usize {
        let Some(raw) = raw else {
            return default;
        };
        let parsed = match &raw {
            RawSize::Bytes(n) => Some(*n),
            RawSize::Text(t) => parse_size(t),
        };
        let shown = match &raw {
            RawSize::Bytes(n) => n.to_string(),
            RawSize::Text(t) => format!("{t:?}"),
        };
        match parsed.map(|n| usize::try_from(n).unwrap_or(usize::MAX)) {
            Some(n) if (range.0..=range.1).contains(&n) => n,
            Some(_) => {
                self.err(
                    key,
                    format!(
                        "{shown} is out of range: {} to {} bytes (try \"20MB\")",
                        range.0, range.1
                    ),
                );
                default
            }
            None => {
                self.err(
                    key,
                    format!("{shown} is not a size (try \"20MB\" or a number of bytes)"),
                );
                default
            }
        }
    }

    pub(super) fn bot(&mut self, raw: RawBot) -> BotConfig {
        let name = self
            .non_empty("bot.name", raw.name, "PerfectBot")
            .trim()
            .to_string();
        let channels = match raw.channels {
            None => vec!["chat".to_string()],
            Some(list) if list.is_empty() => {
                self.err(
                    "bot.channels",
                    "[] must list at least one channel (e.g. [\"chat\"])",
                );
                vec!["chat".to_string()]
            }
            Some(list) => {
                if list.iter().any(|c| c.trim().is_empty()) {
                    self.err(
                        "bot.channels",
                        format!("{list:?} has an empty channel name"),
                    );
                }
                list.into_iter().map(|c| c.trim().to_string()).collect()
            }
        };
        for (key, list) in [
            ("bot.handover_phrases", &raw.handover_phrases),
            ("bot.frustration_phrases", &raw.frustration_phrases),
        ] {
            if list.iter().any(|p| p.trim().is_empty()) {
                self.err(key, format!("{list:?} has an empty phrase"));
            }
        }
        if raw.opt_out_tags.iter().any(|t| t.trim().is_empty()) {
            self.err(
                "bot.opt_out_tags",
                format!("{:?} has an empty tag", raw.opt_out_tags),
            );
        }
        BotConfig {
            name,
            user_id: raw.user_id,
            channels,
            mode: self.choice(
                "bot.mode",
                raw.mode,
                Mode::Live,
                &[("live", Mode::Live), ("shadow", Mode::Shadow)],
            ),
            opt_out_tags: raw.opt_out_tags,
            handover_phrases: raw.handover_phrases,
            frustration_phrases: raw.frustration_phrases,
        }
    }

    pub(super) fn timing(&mut self, raw: RawTiming) -> TimingConfig {
        let sweep = match raw.sweep {
            None => DEFAULT_SWEEP.to_string(),
            Some(text) => match check_cron(&text) {
                Ok(()) => text.trim().to_string(),
                Err(why) => {
                    self.err("timing.sweep", format!("{text:?} {why}"));
                    DEFAULT_SWEEP.to_string()
                }
            },
        };
        TimingConfig {
            poll_interval: self.duration(
                "timing.poll_interval",
                raw.poll_interval,
                "5s",
                limits::POLL_INTERVAL,
            ),
            sweep,
            close_after: self.duration(
                "timing.close_after",
                raw.close_after,
                "15m",
                limits::CLOSE_AFTER,
            ),
            email_wait: self.duration(
                "timing.email_wait",
                raw.email_wait,
                "5m",
                limits::EMAIL_WAIT,
            ),
            answer_deadline: self.duration(
                "timing.answer_deadline",
                raw.answer_deadline,
                "2m",
                limits::ANSWER_DEADLINE,
            ),
        }
    }

    pub(super) fn ledger(&mut self, raw: RawLedger) -> LedgerConfig {
        let path = match raw.path {
            Some(p) if p.trim().is_empty() => {
                self.err("ledger.path", "\"\" must not be empty");
                PathBuf::from(DEFAULT_LEDGER_PATH)
            }
            Some(p) => self.resolve(&p),
            // systemd's StateDirectory= sets this (colon-separated when several are given).
            None => match (self.env)("STATE_DIRECTORY")
                .and_then(|dirs| dirs.split(':').next().map(str::to_string))
                .filter(|d| !d.is_empty())
            {
                Some(dir) => Path::new(&dir).join("ledger.db"),
                None => PathBuf::from(DEFAULT_LEDGER_PATH),
            },
        };
        LedgerConfig { path }
    }

    pub(super) fn http(&mut self, raw: RawHttp) -> HttpConfig {
        let listen = raw
            .listen
            .and_then(|text| match text.trim().parse::<SocketAddr>() {
                Ok(addr) => Some(addr),
                Err(_) => {
                    self.err(
                        "http.listen",
                        format!("{text:?} is not a socket address (e.g. \"127.0.0.1:9184\")"),
                    );
                    None
                }
            });
        let webhook_secret_file = raw.webhook_secret_file.as_deref().map(|p| self.resolve(p));
        let webhook_secret = match self.secrets {
            Secrets::Optional => None,
            Secrets::Required => self
                .secret(SecretSource {
                    key: "http.webhook_secret",
                    credential: "webhook_secret",
                    file: webhook_secret_file.as_deref(),
                    env_var: None,
                })
                .ok()
                .flatten(),
        };
        HttpConfig {
            listen,
            webhook_secret_file,
            webhook_secret,
        }
    }

    pub(super) fn log(&mut self, raw: RawLog) -> LogConfig {
        let format = self.choice(
            "log.format",
            raw.format,
            LogFormat::Auto,
            &[
                ("text", LogFormat::Text),
                ("json", LogFormat::Json),
                ("journald", LogFormat::Journald),
                ("auto", LogFormat::Auto),
            ],
        );
        let filter = match raw.filter {
            None => DEFAULT_LOG_FILTER.to_string(),
            Some(f) => match tracing_subscriber::EnvFilter::try_new(&f) {
                Ok(_) => f,
                Err(e) => {
                    self.err(
                        "log.filter",
                        format!("{f:?} is not a log filter ({e}); try {DEFAULT_LOG_FILTER:?}"),
                    );
                    DEFAULT_LOG_FILTER.to_string()
                }
            },
        };
        LogConfig { format, filter }
    }
}
