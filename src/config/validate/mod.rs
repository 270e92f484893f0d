//! Raw structs -> [`Config`]: every check, each problem recorded (naming the file, the key
//! and the value) and validation carried on, so one run reports them all. The checks of each
//! section live in the submodules.

mod handover;
mod knowledge;
mod orders;
mod secrets;
mod service;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use jiff::civil::Date;

use serde::Deserialize as _;

use super::raw::*;
use super::types::*;
use super::{ConfigErrors, PLACEHOLDERS, Secrets};

const DEFAULT_LEDGER_PATH: &str = "/var/lib/perfectbot/ledger.db";
const DEFAULT_KB_DIR: &str = "/etc/perfectbot/kb";
const DEFAULT_LOG_FILTER: &str = "info,tokio_cron_scheduler=warn";
const DEFAULT_SWEEP: &str = "*/10 * * * * *";

/// The range each duration key accepts. The maxima are far above any sensible setting yet keep
/// every deadline the bot computes from them (a timestamp plus a duration) far inside the
/// calendar; the minima keep the loops from spinning.
mod limits {
    use std::time::Duration;

    const MS: Duration = Duration::from_millis(1);
    const SEC: Duration = Duration::from_secs(1);
    const HOUR: Duration = Duration::from_secs(3600);
    const DAY: Duration = Duration::from_secs(86_400);

    pub const WINDOW: (Duration, Duration) = (SEC, HOUR);
    pub const TIMEOUT: (Duration, Duration) = (MS, Duration::from_secs(10 * 60));
    pub const POLL_INTERVAL: (Duration, Duration) = (Duration::from_millis(100), HOUR);
    pub const CLOSE_AFTER: (Duration, Duration) = (MS, Duration::from_secs(30 * 86_400));
    pub const EMAIL_WAIT: (Duration, Duration) = (Duration::ZERO, Duration::from_secs(7 * 86_400));
    pub const ANSWER_DEADLINE: (Duration, Duration) = (MS, DAY);
    pub const REFRESH: (Duration, Duration) =
        (Duration::from_secs(60), Duration::from_secs(7 * 86_400));
    pub const ORDERS_WINDOW: (Duration, Duration) = (HOUR, Duration::from_secs(3 * 365 * 86_400));
    /// Not a duration: the most requests per window the pacer is asked to allow.
    pub const MAX_REQUESTS_PER_WINDOW: u32 = 100_000;
}

pub(super) struct Validator<'e> {
    pub(super) file: String,
    pub(super) base_dir: PathBuf,
    pub(super) env: &'e dyn Fn(&str) -> Option<String>,
    pub(super) secrets: Secrets,
    pub(super) errors: Vec<String>,
    /// Allowed but worth a warning (they end up in [`Config::notes`]).
    pub(super) warnings: Vec<String>,
}

impl Validator<'_> {
    fn err(&mut self, key: &str, msg: impl fmt::Display) {
        self.errors.push(format!("{}: {key}: {msg}", self.file));
    }

    /// TOML text -> raw structs. A syntax error stops here (nothing else can be trusted).
    /// Past that, reading cannot fail: every value of the wrong type is recorded with its key
    /// ([`Lenient::check`]) and every unknown key collected (`serde_ignored`), in one pass, so
    /// one run reports them all together with the checks below.
    pub(super) fn deserialize(&mut self, text: &str) -> Result<RawConfig, ConfigErrors> {
        let table: toml::Table = match toml::from_str(text) {
            Ok(t) => t,
            Err(e) => return Err(ConfigErrors(vec![self.syntax_error(text, &e)])),
        };
        let mut unknown: Vec<Vec<Segment>> = Vec::new();
        let mut record = |path: serde_ignored::Path<'_>| unknown.push(segments(&path));
        let ignored = serde_ignored::Deserializer::new(toml::Value::Table(table), &mut record);
        let wire = match <RawConfig as Lenient>::Wire::deserialize(ignored) {
            Ok(wire) => wire,
            // Only the reading of the value tree itself could end here, never a value's type.
            Err(e) => {
                return Err(ConfigErrors(vec![format!(
                    "{}: {}",
                    self.file,
                    e.message()
                )]));
            }
        };
        let mut wrong = Vec::new();
        let raw = RawConfig::check(wire, "", &mut wrong);
        for problem in wrong {
            self.errors.push(format!("{}: {problem}", self.file));
        }
        for path in unknown {
            let message = self.unknown_key(&path);
            self.errors.push(message);
        }
        Ok(raw)
    }

    /// The message for a key no section knows, with the keys its section does know.
    fn unknown_key(&self, path: &[Segment]) -> String {
        let key = show_path(path);
        let hint = if key == "gorgias.api_key" || key == "openai.api_key" {
            format!(
                "unknown key: API keys never go in the config file; use \
                 $CREDENTIALS_DIRECTORY, {key}_file or the environment \
                 (see config.toml.example)"
            )
        } else {
            let parent = &path[..path.len().saturating_sub(1)];
            match known_keys(parent) {
                Some(known) => format!("unknown key (expected {})", one_of(known)),
                None => "unknown key".to_string(),
            }
        };
        format!("{}: {key}: {hint}", self.file)
    }

    fn syntax_error(&self, text: &str, e: &toml::de::Error) -> String {
        let message = e.message().trim().replace('\n', "; ");
        let Some(span) = e.span() else {
            return format!("{}: {message}", self.file);
        };
        let start = span.start.min(text.len());
        let before = &text[..start];
        let line_no = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        let line = text[line_start..].lines().next().unwrap_or("");
        // Name the key when the line is `key = ...`, prefixed by its [table].
        let table = before[..line_start]
            .lines()
            .rev()
            .map(str::trim)
            .find(|l| l.starts_with('['))
            .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_string());
        let key = line
            .split_once('=')
            .map(|(k, _)| k.trim())
            .filter(|k| !k.is_empty() && !k.starts_with('[') && !k.starts_with('#'))
            .map(|k| match &table {
                Some(t) => format!("{t}.{k}"),
                None => k.to_string(),
            });
        match key {
            Some(key) => format!(
                "{}: line {line_no}, column {column}: {key}: {message}",
                self.file
            ),
            None => format!("{}: line {line_no}, column {column}: {message}", self.file),
        }
    }

    fn resolve(&self, p: &str) -> PathBuf {
        let path = PathBuf::from(p);
        if path.is_absolute() {
            path
        } else {
            self.base_dir.join(path)
        }
    }

    /// A humantime duration within `[min, max]` (`min` zero allows "0s"). The maxima keep
    /// every deadline computed from a duration far inside the calendar's range, and the minima
    /// keep loops from spinning.
    fn duration(
        &mut self,
        key: &str,
        raw: Option<String>,
        default: &str,
        (min, max): (Duration, Duration),
    ) -> Duration {
        let fallback =
            humantime::parse_duration(default).expect("built-in default durations parse");
        let Some(text) = raw else {
            return fallback;
        };
        let show = |d: Duration| humantime::format_duration(d).to_string();
        match humantime::parse_duration(text.trim()) {
            Ok(d) if d.is_zero() && !min.is_zero() => {
                self.err(
                    key,
                    format!("{text:?} must be more than zero (try {default:?})"),
                );
                fallback
            }
            Ok(d) if d < min => {
                self.err(
                    key,
                    format!(
                        "{text:?} is less than the minimum of {:?} (try {default:?})",
                        show(min)
                    ),
                );
                fallback
            }
            Ok(d) if d > max => {
                self.err(
                    key,
                    format!(
                        "{text:?} is more than the maximum of {:?} (try {default:?})",
                        show(max)
                    ),
                );
                fallback
            }
            Ok(d) => d,
            // humantime also fails on a number too large for a Duration ("9999999999999y").
            Err(_) => {
                self.err(key, format!("{text:?} is not a duration (try {default:?})"));
                fallback
            }
        }
    }

    fn choice<T: Copy>(
        &mut self,
        key: &str,
        raw: Option<String>,
        default: T,
        options: &[(&str, T)],
    ) -> T {
        let Some(text) = raw else {
            return default;
        };
        match options.iter().find(|(name, _)| *name == text.trim()) {
            Some((_, value)) => *value,
            None => {
                let names: Vec<String> = options.iter().map(|(n, _)| format!("{n:?}")).collect();
                self.err(key, format!("{text:?} is not one of {}", names.join(", ")));
                default
            }
        }
    }

    /// An http(s) URL with a host and nothing after the path. Its messages never show a user
    /// name or password written into the URL: such a URL is refused without echoing it.
    fn http_url(&mut self, key: &str, text: &str, example: &str) -> Option<String> {
        let trimmed = text.trim().trim_end_matches('/');
        let parsed = self.web_url(key, trimmed, text, example)?;
        if parsed.query().is_some() || parsed.fragment().is_some() {
            self.err(
                key,
                format!("{text:?} must not have a query (?...) or fragment (#...)"),
            );
            return None;
        }
        Some(trimmed.to_string())
    }

    /// `to_parse` as an http(s) URL with a host and no user name or password; errors name
    /// `text` (never its credentials).
    fn web_url(
        &mut self,
        key: &str,
        to_parse: &str,
        text: &str,
        example: &str,
    ) -> Option<url::Url> {
        let parsed = match url::Url::parse(to_parse) {
            Ok(u) => u,
            Err(_) => {
                let shown = redact_userinfo(text);
                self.err(key, format!("{shown:?} is not a URL (e.g. {example:?})"));
                return None;
            }
        };
        if !parsed.username().is_empty() || parsed.password().is_some() {
            let mut shown = parsed.clone();
            let _ = shown.set_username("");
            let _ = shown.set_password(None);
            self.err(
                key,
                format!(
                    "\"{}\" has a user name or password in it (not shown); give the address \
                     alone and the credentials through the key file or the environment \
                     (see config.toml.example)",
                    shown.as_str().trim_end_matches('/')
                ),
            );
            return None;
        }
        if parsed.scheme() != "https" && parsed.scheme() != "http" {
            self.err(
                key,
                format!("{text:?} must start with https:// (or http://)"),
            );
            return None;
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            self.err(key, format!("{text:?} has no host name (e.g. {example:?})"));
            return None;
        }
        Some(parsed)
    }

    /// A count of at least `min` (the default when absent; an error naming the key below it).
    fn at_least<T: Copy + PartialOrd + fmt::Display>(
        &mut self,
        key: &str,
        raw: Option<T>,
        min: T,
        default: T,
    ) -> T {
        match raw {
            Some(n) if n < min => {
                self.err(key, format!("{n} must be at least {min} (try {default})"));
                default
            }
            Some(n) => n,
            None => default,
        }
    }

    /// A site to read: an http(s) URL with a host (a query is allowed: some FAQ pages need
    /// one); the fragment is dropped.
    fn site_url(&mut self, key: &str, text: &str) -> Option<String> {
        let example = "https://help.example.com/sitemap.xml";
        let mut parsed = self.web_url(key, text.trim(), text, example)?;
        parsed.set_fragment(None);
        Some(parsed.to_string())
    }

    fn non_empty(&mut self, key: &str, raw: Option<String>, default: &str) -> String {
        match raw {
            None => default.to_string(),
            Some(s) if s.trim().is_empty() => {
                self.err(key, format!("{s:?} must not be empty"));
                default.to_string()
            }
            Some(s) => s,
        }
    }

    pub(super) fn validate(&mut self, raw: RawConfig) -> Config {
        let gorgias = self.gorgias(raw.gorgias);
        let bot = self.bot(raw.bot);
        let timing = self.timing(raw.timing);
        let ledger = self.ledger(raw.ledger);
        let responder = ResponderConfig {
            kind: self.choice(
                "responder.kind",
                raw.responder.kind,
                ResponderKind::Kb,
                &[("kb", ResponderKind::Kb), ("openai", ResponderKind::OpenAi)],
            ),
        };
        let kb = self.kb(raw.kb);
        let openai = self.openai(raw.openai, responder.kind);
        let handover = self.handover(raw.handover);
        let tags = self.tags(raw.tags, &bot.name);
        let business_hours = self.business_hours(raw.business_hours);
        let http = self.http(raw.http);
        let log = self.log(raw.log);
        let orders = self.orders(raw.orders);
        Config {
            file: self.file.clone(),
            gorgias,
            bot,
            timing,
            ledger,
            responder,
            kb,
            openai,
            handover,
            tags,
            business_hours,
            http,
            log,
            orders,
            load_warnings: self.warnings.clone(),
        }
    }
}

/// Checks a sweep cron string: six fields, seconds first, in the syntax of the `cron` crate,
/// and also accepted by tokio-cron-scheduler itself (it parses with `croner`, whose syntax
/// differs in corners: a string must satisfy both to be safe). Returns why not.
pub(super) fn check_cron(text: &str) -> Result<(), String> {
    let fields = text.split_whitespace().count();
    let shorthand = text.trim().starts_with('@');
    if !shorthand && fields < 6 {
        return Err(format!(
            "has {fields} fields; six are needed, seconds first, in UTC (e.g. \"0 */10 * * * *\" or \"{DEFAULT_SWEEP}\")"
        ));
    }
    // The `cron` crate numbers weekdays 1-7 from Sunday, croner (which the scheduler runs)
    // 0-6 from Sunday: "1-5" would mean different days to the two. Names mean the same.
    if !shorthand
        && text.split_whitespace().nth(5).is_some_and(|dow| {
            dow.split('/')
                .next()
                .is_some_and(|d| d.contains(|c: char| c.is_ascii_digit()))
        })
    {
        return Err(format!(
            "numbers its days of the week; use names (e.g. \"MON-FRI\") in the sixth field, \
             as cron dialects disagree on what the numbers mean (e.g. \"{DEFAULT_SWEEP}\")"
        ));
    }
    if let Err(e) = cron::Schedule::from_str(text.trim()) {
        return Err(format!(
            "is not a valid cron expression ({e}); six fields, seconds first, e.g. \"{DEFAULT_SWEEP}\""
        ));
    }
    let job =
        tokio_cron_scheduler::Job::new_async(text.trim(), |_id, _scheduler| Box::pin(async {}));
    if job.is_err() {
        return Err(format!(
            "is not accepted by the scheduler (tokio-cron-scheduler); six fields, seconds first, e.g. \"{DEFAULT_SWEEP}\""
        ));
    }
    Ok(())
}

/// True when the URL's host is this machine (`localhost`, 127.0.0.0/8, `::1`): plain http
/// there never crosses a network.
fn is_loopback_url(text: &str) -> bool {
    let Ok(u) = url::Url::parse(text) else {
        return false;
    };
    match u.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// `text` with anything between `://` and an `@` before the next `/` replaced by `***`, for
/// messages about a URL that did not parse (it may still carry a password).
fn redact_userinfo(text: &str) -> String {
    let Some(scheme_end) = text.find("://") else {
        return text.to_string();
    };
    let rest = &text[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}***{}", &text[..scheme_end + 3], &rest[at..]),
        None => text.to_string(),
    }
}

fn parse_date(text: &str) -> Option<Date> {
    // jiff would also take "2025-12-25T10:00"; a holiday is a whole date and nothing else.
    if text.len() != 10 {
        return None;
    }
    text.parse::<Date>().ok()
}

/// The `{name}`s in a template that are not known placeholders.
pub(super) fn unknown_placeholders(text: &str) -> Vec<String> {
    let mut unknown = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        let name = &after[..close];
        if !name.contains('{') && !PLACEHOLDERS.contains(&name) {
            unknown.push(format!("{{{name}}}"));
        }
        rest = &after[close + 1..];
    }
    unknown
}

/// One step of a key's path in the file.
enum Segment {
    Key(String),
    /// An element of an array of tables, from 0.
    Index(usize),
}

fn segments(path: &serde_ignored::Path<'_>) -> Vec<Segment> {
    let mut out = match path {
        serde_ignored::Path::Root => return Vec::new(),
        serde_ignored::Path::Seq { parent, .. }
        | serde_ignored::Path::Map { parent, .. }
        | serde_ignored::Path::Some { parent }
        | serde_ignored::Path::NewtypeStruct { parent }
        | serde_ignored::Path::NewtypeVariant { parent } => segments(parent),
    };
    match path {
        serde_ignored::Path::Seq { index, .. } => out.push(Segment::Index(*index)),
        serde_ignored::Path::Map { key, .. } => out.push(Segment::Key(key.clone())),
        _ => {}
    }
    out
}

/// "gorgias.window", "business_hours.ranges[1].dayz": named as the wrong-typed values are.
fn show_path(path: &[Segment]) -> String {
    path.iter()
        .fold(String::new(), |out, segment| match segment {
            Segment::Key(k) => key_path(&out, k),
            Segment::Index(i) => element_path(&out, *i),
        })
}

/// The keys the table at `parent` may hold, read from the raw structs themselves.
fn known_keys(parent: &[Segment]) -> Option<&'static [&'static str]> {
    let keys: Vec<&str> = parent
        .iter()
        .filter_map(|s| match s {
            Segment::Key(k) => Some(k.as_str()),
            Segment::Index(_) => None,
        })
        .collect();
    Some(match keys.as_slice() {
        [] => fields_of::<WireConfig>(),
        ["gorgias"] => fields_of::<WireGorgias>(),
        ["bot"] => fields_of::<WireBot>(),
        ["timing"] => fields_of::<WireTiming>(),
        ["ledger"] => fields_of::<WireLedger>(),
        ["responder"] => fields_of::<WireResponder>(),
        ["kb"] => fields_of::<WireKb>(),
        ["openai"] => fields_of::<WireOpenAi>(),
        ["handover"] => fields_of::<WireHandover>(),
        ["tags"] => fields_of::<WireTags>(),
        ["business_hours"] => fields_of::<WireBusinessHours>(),
        ["business_hours", "ranges"] => fields_of::<WireRange>(),
        ["http"] => fields_of::<WireHttp>(),
        ["log"] => fields_of::<WireLog>(),
        ["orders"] => fields_of::<WireOrders>(),
        _ => return None,
    })
}

/// "`a`", "`a` or `b`", "one of `a`, `b`, `c`": as serde words it.
fn one_of(keys: &[&str]) -> String {
    let quoted: Vec<String> = keys.iter().map(|k| format!("`{k}`")).collect();
    match quoted.as_slice() {
        [] => "no keys".to_string(),
        [one] => one.clone(),
        [a, b] => format!("{a} or {b}"),
        _ => format!("one of {}", quoted.join(", ")),
    }
}

/// The field names of a derived `Deserialize` struct: the derive hands them to
/// `deserialize_struct`, where this deserializer keeps them (and deserializes nothing).
fn fields_of<'de, T: serde::Deserialize<'de>>() -> &'static [&'static str] {
    use serde::de::{self, Visitor};
    struct Fields<'a>(&'a mut &'static [&'static str]);
    impl<'de> de::Deserializer<'de> for Fields<'_> {
        type Error = de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _visitor: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(de::Error::custom("fields read"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Fields(&mut fields));
    fields
}
