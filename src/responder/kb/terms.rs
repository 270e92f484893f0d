//! The words of a customer text the search looks for: stopwords and filler dropped, synonyms
//! grouped, and the FTS5 query matching a group.

use std::collections::HashSet;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::responder::text;

/// The search's word lists: the `[retrieval.search]` table of `src/lang/en.toml` (English only,
/// see there).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Search {
    /// Words that carry no topic (NLTK's English stopwords plus chat filler).
    stopwords: HashSet<String>,
    /// Words that carry no topic in a question to a shop, on top of `stopwords`.
    filler: HashSet<String>,
    /// Groups of words meaning the same thing, in the file's order.
    synonyms: Vec<Vec<String>>,
}

/// The part of the `[retrieval]` table read here (the rest is `responder::lang`'s).
#[derive(Deserialize)]
struct Retrieval {
    search: Search,
}

/// The language the search's word lists are written in.
const SEARCH_LANGUAGE: &str = "en";

fn load() -> Result<Search, String> {
    crate::lang::table::<Retrieval>(SEARCH_LANGUAGE, "retrieval")?
        .map(|r| r.search)
        .ok_or_else(|| {
            format!(
                "{}: no [retrieval] table",
                crate::lang::file_name(SEARCH_LANGUAGE)
            )
        })
}

/// The word lists, loaded on first use. The file is compiled in and checked by a test, so a
/// failure here is a build that shipped broken data.
fn words() -> &'static Search {
    static WORDS: OnceLock<Search> = OnceLock::new();
    WORDS.get_or_init(|| match load() {
        Ok(words) => words,
        Err(e) => panic!("built-in language data: {e}"),
    })
}

/// The query terms of a customer text: lowercase, unaccented, stopwords, one-letter tokens and
/// plain numbers (order numbers, quantities) dropped, duplicates removed.
pub(crate) fn query_terms(text: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    text::tokens(text)
        .into_iter()
        .filter(|t| t.chars().count() >= 2 && !words().stopwords.contains(t))
        .filter(|t| !t.chars().all(|c| c.is_ascii_digit()))
        .filter(|t| seen.insert(t.clone()))
        .collect()
}

/// The query terms of a text for the search: [`query_terms`] less the search filler, each with
/// its synonyms (the term itself first).
pub(super) fn search_terms(text: &str) -> Vec<Vec<String>> {
    // "free of charge" means free, whatever it is about: "charge" would pull in the prices.
    let text = text.to_lowercase().replace("free of charge", "free");
    let mut groups: Vec<Vec<String>> = Vec::new();
    let words = words();
    for term in query_terms(&text) {
        if words.filler.contains(&term) {
            continue;
        }
        let mut group = vec![term.clone()];
        if let Some(syn) = words.synonyms.iter().find(|g| g.contains(&term)) {
            group.extend(syn.iter().filter(|w| **w != term).cloned());
        }
        // Two words of one group in a text ("ship ... delivery") are one term.
        if !groups.iter().any(|g| g.contains(&term)) {
            groups.push(group);
        }
    }
    groups
}

/// An FTS5 query matching any word of a group (each quoted: no operator can slip in).
pub(super) fn any_of(group: &[String]) -> String {
    let words: Vec<String> = group.iter().map(|w| format!("\"{w}\"")).collect();
    format!("({})", words.join(" OR "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_search_word_lists_load_and_are_folded() {
        let words = load().unwrap_or_else(|e| panic!("{e}"));
        assert!(words.stopwords.contains("the") && words.filler.contains("still"));
        assert!(
            words.synonyms.iter().all(|g| g.len() >= 2),
            "a group of one word"
        );
        let all = words
            .stopwords
            .iter()
            .chain(&words.filler)
            .chain(words.synonyms.iter().flatten());
        for word in all {
            assert_eq!(
                text::tokens(word),
                std::slice::from_ref(word),
                "{word:?} is not one folded token"
            );
        }
        // A word in two groups would only ever find the first.
        let mut seen = HashSet::new();
        for word in words.synonyms.iter().flatten() {
            assert!(seen.insert(word), "{word:?} is in two synonym groups");
        }
    }

    #[test]
    fn search_terms_drop_stopwords_and_filler_and_group_synonyms() {
        assert_eq!(
            search_terms("Hi, is my parcel still on its way? Free of charge?"),
            vec![
                vec![
                    "parcel".to_owned(),
                    "parcels".to_owned(),
                    "package".to_owned(),
                    "packages".to_owned(),
                    "shipment".to_owned()
                ],
                vec!["free".to_owned()],
            ]
        );
    }
}
