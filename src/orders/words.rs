//! The per-language data of the orders feature: the words that make a customer's turn an order
//! question (detection) and the built-in replies (answers): the `[orders]` table of each
//! language's `src/lang/<code>.toml`, compiled in and parsed once. Code holds the logic only; a test checks
//! that every language fills every role.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

/// The languages with built-in order words and replies (those of the intent detector).
pub use crate::lang::BUILTIN_LANGUAGES as LANGUAGES;

/// The `[orders]` table of one language's data file (`src/lang/<code>.toml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Language {
    pub words: Words,
    pub messages: super::OrderTemplates,
    pub labels: Labels,
}

/// Detection words, matched on lowercase tokens as written or folded (no accents): write
/// the accent only where it tells words apart (French "où" is "where", "ou" is "or").
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Words {
    /// "order", "commande": the thing the customer bought.
    pub order: Vec<String>,
    /// "package", "colis": what travels.
    pub parcel: Vec<String>,
    /// "where", "when", "status": a question when just before (or after) an order word.
    pub question: Vec<String>,
    /// "shipped", "arrived", "delivered": about progress when in a clause with an order word.
    pub progress: Vec<String>,
    /// "tracking", "suivi": asking for the tracking itself (an order question on its own).
    pub tracking: Vec<String>,
    /// "number", "no", "n°": between an order word and its number ("order no. 1042").
    pub number: Vec<String>,
    /// "cancel", "refund", "change": asking to change an order (always a person's job).
    pub change: Vec<String>,
}

/// Words used inside a reply.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Labels {
    /// "tracking number", before the number in a shipment line.
    pub tracking_number: String,
    /// "no tracking number yet", for a shipment without tracking.
    pub no_tracking: String,
}

/// Every built-in language, parsed once. A file that does not parse is a build mistake caught
/// by the tests, never a runtime condition.
pub fn all() -> &'static BTreeMap<&'static str, Language> {
    static ALL: OnceLock<BTreeMap<&'static str, Language>> = OnceLock::new();
    ALL.get_or_init(|| {
        LANGUAGES
            .iter()
            .map(|code| (*code, read(code).unwrap_or_else(|e| panic!("{e}"))))
            .collect()
    })
}

/// The `[orders]` table of `code`, or why it cannot be read.
fn read(code: &str) -> Result<Language, String> {
    crate::lang::table::<Language>(code, "orders")?
        .ok_or_else(|| format!("{}: no [orders] table", crate::lang::file_name(code)))
}

/// The built-in data of `code` (a lower-case ISO 639-1 code), if it is one of [`LANGUAGES`].
pub fn language(code: &str) -> Option<&'static Language> {
    all().get(code)
}

/// English: the fallback for tickets in any other language.
pub fn english() -> &'static Language {
    language("en").expect("en.toml is compiled in")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_fills_every_role() {
        for code in LANGUAGES {
            read(code).unwrap_or_else(|e| panic!("{e}"));
            let l = language(code).unwrap_or_else(|| panic!("{code} missing"));
            let w = &l.words;
            for (role, list) in [
                ("order", &w.order),
                ("parcel", &w.parcel),
                ("question", &w.question),
                ("progress", &w.progress),
                ("tracking", &w.tracking),
                ("number", &w.number),
                ("change", &w.change),
            ] {
                assert!(!list.is_empty(), "{code}: words.{role} is empty");
                for word in list {
                    // Words are matched against lowercase tokens, as written or folded: an
                    // uppercase word never matches anything.
                    assert_eq!(&word.to_lowercase(), word, "{code}: words.{role}: {word:?}");
                    assert!(
                        word.chars().all(char::is_alphanumeric),
                        "{code}: words.{role}: {word:?} is not one token"
                    );
                }
            }
            for (key, text) in l.messages.entries() {
                assert!(!text.trim().is_empty(), "{code}: messages.{key} is empty");
                let allowed = super::super::placeholders_of(key);
                for p in super::super::placeholders_in(text) {
                    assert!(
                        allowed.contains(&p.as_str()),
                        "{code}: messages.{key}: {{{p}}}"
                    );
                }
            }
            assert!(l.messages.not_found.contains("{number}"), "{code}");
            assert!(l.messages.shipped.contains("{tracking}"), "{code}");
            assert!(l.messages.partly_shipped.contains("{tracking}"), "{code}");
            for key in ["not_shipped", "shipped", "partly_shipped", "delivered"] {
                let text = l.messages.get(key).unwrap();
                assert!(
                    text.contains("{order}"),
                    "{code}: messages.{key} names no order"
                );
            }
            assert!(!l.labels.tracking_number.trim().is_empty(), "{code}");
            assert!(!l.labels.no_tracking.trim().is_empty(), "{code}");
        }
    }
}
