//! `[handover]` with its messages, `[tags]` and `[business_hours]`.

use std::collections::BTreeMap;

use super::{Validator, parse_date, unknown_placeholders};
use crate::config::PLACEHOLDERS;
use crate::config::messages::{
    BUILTIN_LANGUAGES, HandoverMessages, ISO_639_1, MESSAGE_KEYS, MessageTemplates, language_code,
};
use crate::config::raw::*;
use crate::config::types::*;
use crate::hours::{BusinessHours, HoursRange};

impl Validator<'_> {
    pub(super) fn handover(&mut self, raw: RawHandover) -> HandoverConfig {
        let collect_email = self.choice(
            "handover.collect_email",
            raw.collect_email,
            CollectEmail::Always,
            &[
                ("always", CollectEmail::Always),
                ("when_offline", CollectEmail::WhenOffline),
                ("never", CollectEmail::Never),
            ],
        );
        if let (Some(team), Some(user)) = (raw.assign_team_id, raw.assign_user_id) {
            self.err(
                "handover.assign_team_id",
                format!(
                    "{team} and handover.assign_user_id = {user} are both set; a handover goes \
                     to a team or to a user: set one of them (or neither, to unassign)"
                ),
            );
        }
        let messages = self.messages(raw.messages);
        HandoverConfig {
            collect_email,
            assign_team_id: raw.assign_team_id,
            assign_user_id: raw.assign_user_id,
            messages,
        }
    }

    /// `[handover.messages]`: see [`HandoverMessages`] for how a language's set is resolved.
    pub(super) fn messages(&mut self, raw: toml::Table) -> HandoverMessages {
        let english = MessageTemplates::english();
        let mut default = english.clone();
        let mut customised = [false; MESSAGE_KEYS.len()];
        // Code -> (the key as written, its table); BTreeMap keeps the error order stable.
        let mut tables: BTreeMap<String, (String, toml::Table)> = BTreeMap::new();
        for (key, value) in raw {
            let full = format!("handover.messages.{key}");
            if let Some(i) = MESSAGE_KEYS.iter().position(|k| *k == key) {
                if let Some(text) = self.template_value(&full, value, english.get(i)) {
                    customised[i] = text != english.get(i);
                    *default.get_mut(i) = text;
                }
                continue;
            }
            let toml::Value::Table(table) = value else {
                self.err(
                    &full,
                    format!(
                        "unknown key (expected one of {}, or a [{full}] table of messages in \
                         one language, named by its two-letter ISO 639-1 code)",
                        MESSAGE_KEYS.join(", ")
                    ),
                );
                continue;
            };
            let code = key.to_ascii_lowercase();
            if code.len() != 2 || !ISO_639_1.split_whitespace().any(|c| c == code) {
                let hint = match language_code(&key) {
                    Some(primary) if primary != code => {
                        format!(" (tickets in {key:?} use the [handover.messages.{primary}] table)")
                    }
                    _ => String::new(),
                };
                self.err(
                    &full,
                    format!(
                        "{key:?} is not a language: name a table by a two-letter ISO 639-1 \
                         code such as \"fr\" or \"de\"{hint}"
                    ),
                );
                continue;
            }
            if let Some((first, _)) = tables.get(&code) {
                self.err(
                    &full,
                    format!("is the same language as handover.messages.{first}; keep one table"),
                );
                continue;
            }
            tables.insert(code, (key, table));
        }

        let mut languages = BTreeMap::new();
        let codes: std::collections::BTreeSet<String> = BUILTIN_LANGUAGES
            .iter()
            .map(|c| c.to_string())
            .chain(tables.keys().cloned())
            .collect();
        for code in codes {
            let builtin = MessageTemplates::builtin(&code);
            let mut set = default.clone();
            for (i, &custom) in customised.iter().enumerate() {
                if let (false, Some(b)) = (custom, &builtin) {
                    *set.get_mut(i) = b.get(i).to_string();
                }
            }
            if let Some((written, table)) = tables.remove(&code) {
                for (key, value) in table {
                    let full = format!("handover.messages.{written}.{key}");
                    match MESSAGE_KEYS.iter().position(|k| *k == key) {
                        Some(i) => {
                            let fallback = set.get(i).to_string();
                            if let Some(text) = self.template_value(&full, value, &fallback) {
                                *set.get_mut(i) = text;
                            }
                        }
                        None => self.err(
                            &full,
                            format!("unknown key (expected one of {})", MESSAGE_KEYS.join(", ")),
                        ),
                    }
                }
            }
            languages.insert(code, set);
        }
        HandoverMessages { default, languages }
    }

    /// A template given as a TOML value: a checked string, or `None` after recording why not.
    pub(super) fn template_value(
        &mut self,
        key: &str,
        value: toml::Value,
        default: &str,
    ) -> Option<String> {
        match value {
            toml::Value::String(text) => {
                let before = self.errors.len();
                let text = self.template(key, Some(text), default);
                (self.errors.len() == before).then_some(text)
            }
            other => {
                self.err(
                    key,
                    format!(
                        "invalid type: {} `{other}`, expected a string (a message template)",
                        other.type_str()
                    ),
                );
                None
            }
        }
    }

    pub(super) fn template(&mut self, key: &str, raw: Option<String>, default: &str) -> String {
        let text = self.non_empty(key, raw, default);
        self.placeholders_known(key, &text, &unknown_placeholders(&text), &PLACEHOLDERS);
        text
    }

    /// Whether a message template (handover or orders) `text` at `key` uses no placeholder
    /// outside `known`; its `unknown` ones (written `{name}`) are recorded with the known ones.
    pub(super) fn placeholders_known(
        &mut self,
        key: &str,
        text: &str,
        unknown: &[String],
        known: &[&str],
    ) -> bool {
        if unknown.is_empty() {
            return true;
        }
        let known: Vec<String> = known.iter().map(|p| format!("{{{p}}}")).collect();
        self.err(
            key,
            format!(
                "{text:?} uses unknown placeholder(s) {} (known: {})",
                unknown.join(", "),
                known.join(", ")
            ),
        );
        false
    }

    pub(super) fn tags(&mut self, raw: RawTags, name: &str) -> Tags {
        let d = Tags::for_name(name);
        let tags = Tags {
            agent_required: self.non_empty(
                "tags.agent_required",
                raw.agent_required,
                &d.agent_required,
            ),
            agent_check: self.non_empty("tags.agent_check", raw.agent_check, &d.agent_check),
            handled: self.non_empty("tags.handled", raw.handled, &d.handled),
            not_involved: self.non_empty("tags.not_involved", raw.not_involved, &d.not_involved),
            auto_closed: self.non_empty("tags.auto_closed", raw.auto_closed, &d.auto_closed),
            preview: self.non_empty("tags.preview", raw.preview, &d.preview),
        };
        // Two roles sharing one tag would make the bot misread its own marks.
        let named = [
            ("tags.agent_required", &tags.agent_required),
            ("tags.agent_check", &tags.agent_check),
            ("tags.handled", &tags.handled),
            ("tags.not_involved", &tags.not_involved),
            ("tags.auto_closed", &tags.auto_closed),
            ("tags.preview", &tags.preview),
        ];
        let mut seen: BTreeMap<String, &str> = BTreeMap::new();
        for (key, tag) in named {
            let folded = tag.trim().to_lowercase();
            if let Some(first) = seen.get(&folded) {
                self.err(
                    key,
                    format!("{tag:?} is the same tag as {first}; each tag must differ"),
                );
            } else {
                seen.insert(folded, key);
            }
        }
        tags
    }

    pub(super) fn business_hours(&mut self, raw: RawBusinessHours) -> BusinessHoursConfig {
        let source = self.choice(
            "business_hours.source",
            raw.source,
            HoursSource::Gorgias,
            &[
                ("gorgias", HoursSource::Gorgias),
                ("config", HoursSource::Config),
            ],
        );
        let timezone = raw
            .timezone
            .unwrap_or_else(|| "UTC".to_string())
            .trim()
            .to_string();
        let tz_ok = match jiff::tz::TimeZone::get(&timezone) {
            Ok(_) => true,
            Err(_) => {
                self.err(
                    "business_hours.timezone",
                    format!("{timezone:?} is not a known time zone (e.g. \"Europe/Paris\", \"US/Pacific\")"),
                );
                false
            }
        };
        let mut holidays = Vec::new();
        for value in &raw.holidays {
            let text = match value {
                toml::Value::String(s) => s.trim().to_string(),
                other => other.to_string(),
            };
            match parse_date(&text) {
                Some(d) => holidays.push(d),
                None => self.err(
                    "business_hours.holidays",
                    format!("{text:?} is not a date (use \"YYYY-MM-DD\", e.g. \"2025-12-25\")"),
                ),
            }
        }
        let mut ranges = Vec::new();
        for (i, r) in raw.ranges.into_iter().enumerate() {
            let key = element_path("business_hours.ranges", i);
            let days = self.range_field(&key, "days", r.days, crate::hours::parse_days);
            let from = self.range_field(&key, "from", r.from, crate::hours::parse_hhmm);
            let to = self.range_field(&key, "to", r.to, crate::hours::parse_end_hhmm);
            if let (Some(days), Some(from), Some(to)) = (days, from, to) {
                ranges.push(HoursRange { days, from, to });
            }
        }
        if source == HoursSource::Gorgias && !ranges.is_empty() {
            self.err(
                "business_hours.ranges",
                "are set, but business_hours.source = \"gorgias\" reads the hours from Gorgias; \
                 set source = \"config\" to use these ranges (or remove them)",
            );
        }
        let hours = if source == HoursSource::Config && tz_ok {
            match BusinessHours::new(&timezone, ranges.clone(), holidays.clone()) {
                Ok(h) => Some(h),
                Err(e) => {
                    self.err("business_hours.timezone", e);
                    None
                }
            }
        } else {
            None
        };
        BusinessHoursConfig {
            source,
            timezone,
            holidays,
            ranges,
            hours,
        }
    }

    /// One field of a `[[business_hours.ranges]]` entry: present and parseable, or an error.
    pub(super) fn range_field<T>(
        &mut self,
        range_key: &str,
        field: &str,
        raw: Option<String>,
        parse: fn(&str) -> Result<T, String>,
    ) -> Option<T> {
        let key = format!("{range_key}.{field}");
        let Some(text) = raw else {
            self.err(
                &key,
                "missing (each range needs days, from and to, e.g. days = \"mon-fri\", \
                 from = \"09:00\", to = \"17:00\")",
            );
            return None;
        };
        parse(&text).map_err(|e| self.err(&key, e)).ok()
    }
}
