//! The languages perfectbot speaks: their codes, and one data file per language
//! (`src/lang/<code>.toml`) holding everything the bot reads or writes in that language, by
//! role: the words the intent detector matches, day and month names and how an opening is said
//! (`[dates]`, `[opening]`, read by `hours`), the built-in messages, the
//! small-talk phrases and filler (`[smalltalk]`, read by `responder::smalltalk`), the
//! retrieval's function words, lead-in line and glossary (`[retrieval]`, read by
//! `responder::lang`; English only: the knowledge search's stopwords, filler and synonyms in
//! `[retrieval.search]`, read by `responder::kb::terms`) and the orders feature's words and
//! replies (`[orders]`, read by `orders::words`).
//!
//! The files are compiled in (`include_str!`) and parsed once. Each consumer reads its own tables
//! ([`merged`] for word lists that hold in every language at once, [`table`] for one language's
//! words); the roles a language has no words for are named in its top-level `lacks` list, so a
//! test can tell a missing translation from a role the language does not need.
//!
//! Adding a language: copy `en.toml` to `<code>.toml`, fill every role (or name it in `lacks`),
//! and add the code to [`BUILTIN_LANGUAGES`] and [`FILES`].

use std::sync::OnceLock;

use serde::Deserialize;
use serde::de::DeserializeOwned;

/// The languages with built-in data (intent words, day names, handover messages), English first.
pub const BUILTIN_LANGUAGES: [&str; 7] = ["en", "fr", "de", "es", "it", "nl", "pt"];

/// The data file of each of [`BUILTIN_LANGUAGES`], in the same order.
pub const FILES: [(&str, &str); 7] = [
    ("en", include_str!("en.toml")),
    ("fr", include_str!("fr.toml")),
    ("de", include_str!("de.toml")),
    ("es", include_str!("es.toml")),
    ("it", include_str!("it.toml")),
    ("nl", include_str!("nl.toml")),
    ("pt", include_str!("pt.toml")),
];

/// The lower-case two-letter code of a language tag: "fr", "FR", "fr-FR", "pt_BR" -> "fr"/"pt".
/// `None` when the tag does not start with two letters (e.g. "fra", "", "x").
pub fn language_code(tag: &str) -> Option<String> {
    let primary = tag.trim().split(['-', '_']).next().unwrap_or("");
    (primary.len() == 2 && primary.chars().all(|c| c.is_ascii_alphabetic()))
        .then(|| primary.to_ascii_lowercase())
}

/// Where a language's data lives, for error messages.
pub fn file_name(code: &str) -> String {
    format!("src/lang/{code}.toml")
}

/// Every data file parsed, in [`FILES`] order (parsed on first use).
fn parsed() -> &'static [(&'static str, Result<toml::Table, String>)] {
    static PARSED: OnceLock<Vec<(&'static str, Result<toml::Table, String>)>> = OnceLock::new();
    PARSED.get_or_init(|| {
        FILES
            .iter()
            .map(|(code, text)| {
                let table = text
                    .parse::<toml::Table>()
                    .map_err(|e| format!("{}: {e}", file_name(code)));
                (*code, table)
            })
            .collect()
    })
}

/// The whole parsed data file of `code`.
fn file(code: &str) -> Result<&'static toml::Table, String> {
    match parsed().iter().find(|(c, _)| *c == code) {
        Some((_, Ok(table))) => Ok(table),
        Some((_, Err(e))) => Err(e.clone()),
        None => Err(format!("no built-in data for language {code:?}")),
    }
}

/// Table `[name]` of one language, read as `T`; `None` when the file has no such table.
pub fn table<T: DeserializeOwned>(code: &str, name: &str) -> Result<Option<T>, String> {
    let Some(value) = file(code)?.get(name) else {
        return Ok(None);
    };
    T::deserialize(value.clone())
        .map(Some)
        .map_err(|e| format!("{} [{name}]: {e}", file_name(code)))
}

/// Table `[name]` of every language merged into one `T`: each key's list is the lists of all
/// languages in [`BUILTIN_LANGUAGES`] order, each entry once. For word lists matched against
/// any language at once (the intent detector does not know the customer's language).
pub fn merged<T: DeserializeOwned>(name: &str) -> Result<T, String> {
    let mut out = toml::Table::new();
    for code in BUILTIN_LANGUAGES {
        let Some(value) = file(code)?.get(name) else {
            continue;
        };
        let toml::Value::Table(roles) = value else {
            return Err(format!("{} [{name}]: not a table", file_name(code)));
        };
        for (role, words) in roles {
            let toml::Value::Array(words) = words else {
                return Err(format!("{} [{name}] {role}: not a list", file_name(code)));
            };
            let all = out
                .entry(role.clone())
                .or_insert_with(|| toml::Value::Array(Vec::new()));
            if let toml::Value::Array(all) = all {
                for word in words {
                    if !all.contains(word) {
                        all.push(word.clone());
                    }
                }
            }
        }
    }
    T::deserialize(toml::Value::Table(out)).map_err(|e| format!("src/lang/*.toml [{name}]: {e}"))
}

/// The roles `code` declares it has no words for, as "table.role" (its top-level `lacks`).
pub fn lacks(code: &str) -> Result<Vec<String>, String> {
    match file(code)?.get("lacks") {
        None => Ok(Vec::new()),
        Some(value) => Vec::<String>::deserialize(value.clone())
            .map_err(|e| format!("{} lacks: {e}", file_name(code))),
    }
}

/// Checks that every language fills every role of table `name` or names it in `lacks`, and
/// names no role it fills (or that does not exist) in `lacks`. `roles`: the table's role names.
/// The problems found, one line each (empty when the data is complete).
pub fn check_roles(name: &str, roles: &[String]) -> Vec<String> {
    let mut problems = Vec::new();
    for code in BUILTIN_LANGUAGES {
        let lacks = match lacks(code) {
            Ok(lacks) => lacks,
            Err(e) => {
                problems.push(e);
                continue;
            }
        };
        let table = match file(code) {
            Ok(file) => file.get(name).and_then(toml::Value::as_table),
            Err(e) => {
                problems.push(e);
                continue;
            }
        };
        for role in roles {
            let filled = table
                .and_then(|t| t.get(role))
                .and_then(toml::Value::as_array)
                .is_some_and(|words| !words.is_empty());
            let declared = lacks.contains(&format!("{name}.{role}"));
            match (filled, declared) {
                (false, false) => problems.push(format!(
                    "{}: [{name}] {role} is empty and not in `lacks`",
                    file_name(code)
                )),
                (true, true) => problems.push(format!(
                    "{}: [{name}] {role} has words but is in `lacks`",
                    file_name(code)
                )),
                _ => {}
            }
        }
        for lacked in &lacks {
            if let Some(role) = lacked.strip_prefix(&format!("{name}."))
                && !roles.iter().any(|r| r == role)
            {
                problems.push(format!(
                    "{}: `lacks` names {lacked}, not a role of [{name}]",
                    file_name(code)
                ));
            }
        }
        if let Some(table) = table {
            for key in table.keys() {
                if !roles.contains(key) {
                    problems.push(format!("{}: [{name}] {key} is not a role", file_name(code)));
                }
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_codes_are_two_letters_lower_case() {
        assert_eq!(language_code("fr").as_deref(), Some("fr"));
        assert_eq!(language_code("FR").as_deref(), Some("fr"));
        assert_eq!(language_code("fr-FR").as_deref(), Some("fr"));
        assert_eq!(language_code(" pt_BR ").as_deref(), Some("pt"));
        assert_eq!(language_code("fra"), None);
        assert_eq!(language_code(""), None);
        assert_eq!(language_code("x"), None);
        assert_eq!(language_code("1a"), None);
    }

    #[test]
    fn every_builtin_language_has_a_data_file_that_parses() {
        assert_eq!(
            FILES.map(|(code, _)| code),
            BUILTIN_LANGUAGES,
            "FILES and BUILTIN_LANGUAGES list the same languages in the same order"
        );
        for code in BUILTIN_LANGUAGES {
            file(code).unwrap_or_else(|e| panic!("{e}"));
            lacks(code).unwrap_or_else(|e| panic!("{e}"));
        }
        assert!(file("xx").is_err());
    }

    #[test]
    fn lacks_entries_name_a_table_and_a_role() {
        for code in BUILTIN_LANGUAGES {
            for lacked in lacks(code).unwrap() {
                let (table, role) = lacked
                    .split_once('.')
                    .unwrap_or_else(|| panic!("{code}: {lacked:?} is not table.role"));
                assert!(
                    file(code).unwrap().contains_key(table),
                    "{code}: {lacked:?} names a table the file does not have"
                );
                assert!(!role.is_empty());
            }
        }
    }

    #[test]
    fn merging_keeps_language_order_and_each_word_once() {
        #[derive(Deserialize)]
        struct Dates {
            days: Vec<String>,
        }
        let all: Dates = merged("dates").unwrap();
        assert_eq!(all.days.first().map(String::as_str), Some("Monday"));
        assert!(all.days.contains(&"lundi".to_owned()));
        let mut unique = all.days.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), all.days.len());
    }

    #[test]
    fn role_check_reports_missing_and_unknown_roles() {
        let roles = vec!["days".to_owned(), "months".to_owned(), "weeks".to_owned()];
        let problems = check_roles("dates", &roles);
        assert_eq!(problems.len(), BUILTIN_LANGUAGES.len(), "{problems:?}");
        assert!(problems[0].contains("src/lang/en.toml: [dates] weeks is empty"));
        let problems = check_roles("dates", &["days".to_owned()]);
        assert!(problems.iter().all(|p| p.contains("months is not a role")));
    }
}
