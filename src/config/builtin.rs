//! The built-in messages and fill-in words of each language, kept as data: one file per
//! language, `src/lang/<code>.toml`, with its `[messages]` (the seven default messages) and
//! `[fill_ins]` tables, compiled into the binary and parsed once, on first use.
//!
//! `{next_open}` renders in the message's language as a phrase of time ("lundi à 09:00 CET",
//! "am Montag um 09:00 CET", see [`crate::hours::NextOpen::describe`]) or as the language's
//! `fill_ins.next_open` ("bientôt"), so a sentence must read with either. The translations use
//! formal address (vous, Sie, usted, Lei, u); Portuguese reads for both Brazil and Portugal.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::Deserialize;

use super::messages::{FillIns, MessageTemplates};
use crate::lang::FILES;

/// The tables of a language file read here (the file may hold others, read elsewhere).
#[derive(Debug, Deserialize)]
struct LanguageFile {
    messages: MessageTemplates,
    fill_ins: FillInWords,
}

/// `[fill_ins]`: see [`FillIns`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FillInWords {
    next_open: String,
    customer_name: String,
    email: String,
}

/// One built-in language.
#[derive(Debug)]
pub(super) struct Language {
    pub(super) messages: MessageTemplates,
    fill_ins: FillInWords,
}

impl Language {
    pub(super) fn fill_ins(&'static self) -> FillIns {
        FillIns {
            next_open: &self.fill_ins.next_open,
            customer_name: &self.fill_ins.customer_name,
            email: &self.fill_ins.email,
        }
    }
}

/// Parses one language file; every key of both tables is required.
fn parse(code: &str, text: &str) -> Result<Language, String> {
    let file: LanguageFile =
        toml::from_str(text).map_err(|e| format!("src/lang/{code}.toml: {e}"))?;
    Ok(Language {
        messages: file.messages,
        fill_ins: file.fill_ins,
    })
}

static BUILTIN: LazyLock<BTreeMap<&'static str, Language>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|(code, text)| {
            // Compiled-in data, checked by the tests: a failure here is a build defect.
            let language = parse(code, text).unwrap_or_else(|e| panic!("{e}"));
            (*code, language)
        })
        .collect()
});

/// The built-in messages in `code` (a lower-case ISO 639-1 code).
pub(super) fn messages(code: &str) -> Option<&'static MessageTemplates> {
    BUILTIN.get(code).map(|l| &l.messages)
}

/// The built-in fill-in words in `code`.
pub(super) fn fill_ins(code: &str) -> Option<FillIns> {
    BUILTIN.get(code).map(Language::fill_ins)
}

/// English: the default messages and words.
pub(super) fn english() -> &'static Language {
    BUILTIN
        .get("en")
        .unwrap_or_else(|| panic!("src/lang/en.toml is built in"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::BUILTIN_LANGUAGES;
    use crate::config::messages::MESSAGE_KEYS;

    #[test]
    fn every_built_in_language_has_a_file_that_fills_every_key() {
        let codes: Vec<&str> = FILES.iter().map(|(code, _)| *code).collect();
        assert_eq!(codes, BUILTIN_LANGUAGES);
        for (code, text) in FILES {
            // Every key present (the structs have no defaults) and none unknown.
            let language = parse(code, text).unwrap();
            for (i, key) in MESSAGE_KEYS.iter().enumerate() {
                assert!(
                    !language.messages.get(i).trim().is_empty(),
                    "{code}: messages.{key} is empty"
                );
            }
            let words = &language.fill_ins;
            assert!(
                !words.next_open.trim().is_empty(),
                "{code}: fill_ins.next_open"
            );
            assert!(!words.email.trim().is_empty(), "{code}: fill_ins.email");
        }
    }

    #[test]
    fn a_language_file_missing_a_key_or_with_an_unknown_one_is_refused() {
        let en = FILES[0].1;
        let missing = en.replace("goodbye =", "# goodbye =");
        let e = parse("xx", &missing).unwrap_err();
        assert!(
            e.contains("src/lang/xx.toml") && e.contains("goodbye"),
            "{e}"
        );
        let unknown = en.replace("[fill_ins]", "[fill_ins]\nsoon = \"x\"");
        let e = parse("xx", &unknown).unwrap_err();
        assert!(e.contains("soon"), "{e}");
        // Tables for other modules are allowed beside ours.
        assert!(parse("xx", &format!("{en}\n[intents]\ngreeting = [\"hi\"]\n")).is_ok());
    }

    #[test]
    fn english_fill_ins_are_the_defaults() {
        let words = FillIns::for_language(None);
        assert_eq!(words.next_open, "soon");
        assert_eq!(words.customer_name, "there");
        assert_eq!(FillIns::for_language(Some("fr")).next_open, "bientôt");
        assert_eq!(FillIns::for_language(Some("zz")), words);
    }
}
