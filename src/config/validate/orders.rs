//! `[orders]`: the order-status settings and their messages.

use std::collections::BTreeMap;

use super::{Validator, limits};
use crate::config::messages::ISO_639_1;
use crate::config::raw::*;
use crate::config::types::*;

impl Validator<'_> {
    /// `[orders]`. Messages resolve like `[handover.messages]`: per key, the language's own
    /// table, else the team's own default text, else the built-in translation.
    pub(super) fn orders(&mut self, raw: RawOrders) -> OrdersConfig {
        use crate::orders::{OrderMessages, OrderTemplates, placeholders_in, placeholders_of};
        let builtin = OrderMessages::builtin();
        let mut default = builtin.default.clone();
        let mut customised: Vec<&str> = Vec::new();
        let mut tables: BTreeMap<String, (String, toml::Table)> = BTreeMap::new();
        let check = |v: &mut Self, full: &str, key: &str, value: toml::Value| -> Option<String> {
            let toml::Value::String(text) = value else {
                v.err(full, "expected a string (a message template)");
                return None;
            };
            if text.trim().is_empty() {
                v.err(full, "must not be empty");
                return None;
            }
            let allowed = placeholders_of(key);
            let unknown: Vec<String> = placeholders_in(&text)
                .into_iter()
                .filter(|p| !allowed.contains(&p.as_str()))
                .map(|p| format!("{{{p}}}"))
                .collect();
            v.placeholders_known(full, &text, &unknown, allowed)
                .then_some(text)
        };
        for (key, value) in raw.messages {
            let full = format!("orders.messages.{key}");
            if OrderTemplates::KEYS.contains(&key.as_str()) {
                if let Some(text) = check(self, &full, &key, value)
                    && let Some(slot) = default.get_mut(&key)
                {
                    // The built-in English text written out is not the team's own wording.
                    let own = builtin.default.get(&key) != Some(text.as_str());
                    *slot = text;
                    if let Some(k) = OrderTemplates::KEYS.iter().find(|k| **k == key)
                        && own
                    {
                        customised.push(k);
                    }
                }
                continue;
            }
            let code = key.to_ascii_lowercase();
            match value {
                toml::Value::Table(t)
                    if code.len() == 2 && ISO_639_1.split_whitespace().any(|c| c == code) =>
                {
                    if let std::collections::btree_map::Entry::Vacant(e) = tables.entry(code) {
                        e.insert((key, t));
                    } else {
                        self.err(&full, "the same language is given twice; keep one table");
                    }
                }
                _ => self.err(
                    &full,
                    format!(
                        "unknown key (expected one of {}, or an [{full}] table of messages in one \
                         language, named by its two-letter ISO 639-1 code)",
                        OrderTemplates::KEYS.join(", ")
                    ),
                ),
            }
        }
        let codes: std::collections::BTreeSet<String> = builtin
            .languages
            .keys()
            .cloned()
            .chain(tables.keys().cloned())
            .collect();
        let mut languages = BTreeMap::new();
        for code in codes {
            let mut set = builtin
                .languages
                .get(&code)
                .cloned()
                .unwrap_or_else(|| default.clone());
            for key in &customised {
                if let (Some(slot), Some(text)) = (set.get_mut(key), default.get(key)) {
                    *slot = text.to_string();
                }
            }
            if let Some((written, table)) = tables.remove(&code) {
                for (key, value) in table {
                    let full = format!("orders.messages.{written}.{key}");
                    if !OrderTemplates::KEYS.contains(&key.as_str()) {
                        self.err(
                            &full,
                            format!(
                                "unknown key (expected one of {})",
                                OrderTemplates::KEYS.join(", ")
                            ),
                        );
                        continue;
                    }
                    if let Some(text) = check(self, &full, &key, value)
                        && let Some(slot) = set.get_mut(&key)
                    {
                        *slot = text;
                    }
                }
            }
            languages.insert(code, set);
        }
        OrdersConfig {
            enabled: raw.enabled,
            recent_window: self.duration(
                "orders.recent_window",
                raw.recent_window,
                "60d",
                limits::ORDERS_WINDOW,
            ),
            late_after: self.duration(
                "orders.late_after",
                raw.late_after,
                "5d",
                limits::ORDERS_WINDOW,
            ),
            number_wait: self.duration(
                "orders.number_wait",
                raw.number_wait,
                "10m",
                limits::EMAIL_WAIT,
            ),
            messages: OrderMessages { default, languages },
        }
    }
}
