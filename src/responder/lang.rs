//! The language of a text, guessed from frequent function words, and the line that introduces
//! an answer written in another language than the customer's. Seven languages (en fr de es it
//! nl pt), the `[retrieval]` table of each language's `src/lang/<code>.toml`, loaded once. Pure; decides nothing.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Deserialize;

use super::text;

/// The supported languages, in the order of their data: those with built-in data files.
pub use crate::lang::BUILTIN_LANGUAGES as LANGUAGES;

/// The `[retrieval]` table of a language's data file (`src/lang/<code>.toml`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LangFile {
    stopwords: Vec<String>,
    lead_in: String,
    names: HashMap<String, String>,
    /// Folded shop word -> English words (none for English).
    #[serde(default)]
    glossary: HashMap<String, String>,
    /// The knowledge search's word lists, read by `responder::kb::terms`.
    #[serde(default, rename = "search")]
    _search: Option<serde::de::IgnoredAny>,
}

/// The `[retrieval]` table of one language, or why it cannot be read.
fn read(code: &str) -> Result<LangFile, String> {
    crate::lang::table::<LangFile>(code, "retrieval")?
        .ok_or_else(|| format!("{}: no [retrieval] table", crate::lang::file_name(code)))
}

fn data() -> &'static [LangFile] {
    static DATA: OnceLock<Vec<LangFile>> = OnceLock::new();
    DATA.get_or_init(|| {
        LANGUAGES
            .iter()
            .map(|code| {
                read(code).unwrap_or_else(|e| {
                    panic!("language files are compiled in and checked by a test: {e}")
                })
            })
            .collect()
    })
}

/// The language of `text` among [`LANGUAGES`], when its function words say so clearly: at least
/// two of them, and more than any other language has. `None` for short or mixed texts
/// ("refund?", an order number).
pub fn detect(text: &str) -> Option<&'static str> {
    let tokens = text::tokens(text);
    let mut counts: Vec<(usize, &'static str)> = data()
        .iter()
        .zip(LANGUAGES)
        .map(|(d, code)| {
            let n = tokens
                .iter()
                .filter(|t| d.stopwords.iter().any(|s| s == *t))
                .count();
            (n, code)
        })
        .collect();
    counts.sort_by_key(|c| std::cmp::Reverse(c.0));
    match (counts[0], counts[1]) {
        ((best, code), (second, _)) if best >= 2 && best > second => Some(code),
        _ => None,
    }
}

/// A customer text put into English words for searching an English knowledge base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Translation {
    /// The language the text was read as.
    pub from: &'static str,
    /// The text in English words: glossary words translated, the language's function words
    /// dropped, other words (names, brands, words the glossary lacks) kept.
    pub text: String,
    /// Whether `from` alone claims the text; false when several languages read it the same
    /// and `from` is only the first of them.
    pub certain: bool,
}

/// The glossary's English for a folded token, trying it as is and then without a plural or
/// inflection ending ("bestellungen", "commandes").
fn gloss<'a>(glossary: &'a HashMap<String, String>, token: &str) -> Option<&'a str> {
    if let Some(en) = glossary.get(token) {
        return Some(en);
    }
    ["s", "es", "n", "en", "e"].iter().find_map(|suffix| {
        let stem = token.strip_suffix(suffix)?;
        (stem.len() >= 4)
            .then(|| glossary.get(stem))
            .flatten()
            .map(String::as_str)
    })
}

/// Glossary words of `d` in `tokens` that are not English already ("code", "stock").
fn glossary_hits(d: &LangFile, tokens: &[String]) -> usize {
    tokens
        .iter()
        .filter(|t| gloss(&d.glossary, t).is_some_and(|en| en != t.as_str()))
        .count()
}

/// `text` in English words ([`Translation`]) when it is written in another supported language:
/// the one its function words show ([`detect`]), or for a short text without them, the one
/// whose glossary holds more of its words than any other's ("Rücksendung?"); languages tied on
/// that count are fine when they all read the text the same ("envíos a Canadá?" in Spanish and
/// Portuguese). `None` for English, and for texts no language claims.
pub fn to_english(text: &str) -> Option<Translation> {
    let tokens = text::tokens(text);
    match detect(text) {
        Some("en") => None,
        Some(code) => read_as(&[code], &tokens),
        None => {
            let hits: Vec<(usize, &'static str)> = data()
                .iter()
                .zip(LANGUAGES)
                .skip(1)
                .map(|(d, code)| (glossary_hits(d, &tokens), code))
                .collect();
            let best = hits.iter().map(|h| h.0).max().filter(|b| *b >= 1)?;
            let tied: Vec<&'static str> =
                hits.iter().filter(|h| h.0 == best).map(|h| h.1).collect();
            // Tied languages must not read any word differently.
            let disagree = tokens.iter().any(|t| {
                let mut english = tied
                    .iter()
                    .filter_map(|c| lang_data(c).and_then(|d| gloss(&d.glossary, t)));
                english
                    .next()
                    .is_some_and(|first| english.any(|other| other != first))
            });
            if disagree {
                None
            } else {
                read_as(&tied, &tokens)
            }
        }
    }
}

fn lang_data(code: &str) -> Option<&'static LangFile> {
    LANGUAGES
        .iter()
        .position(|l| *l == code)
        .and_then(|i| data().get(i))
}

/// `tokens` read as the first of `langs`: glossary words in English, the function words of
/// every one of `langs` dropped (they are several when tied languages gloss the text alike).
fn read_as(langs: &[&'static str], tokens: &[String]) -> Option<Translation> {
    let from = *langs.first()?;
    let data: Vec<&LangFile> = langs.iter().filter_map(|c| lang_data(c)).collect();
    let mut words: Vec<&str> = Vec::with_capacity(tokens.len());
    for t in tokens {
        match data.iter().find_map(|d| gloss(&d.glossary, t)) {
            Some(en) => words.push(en),
            None if data.iter().any(|d| d.stopwords.iter().any(|s| s == t)) => {}
            None => words.push(t),
        }
    }
    Some(Translation {
        from,
        text: words.join(" "),
        certain: langs.len() == 1,
    })
}

/// The ISO 639-1 code of a language tag ("fr-FR" -> "fr") when it is one of [`LANGUAGES`].
pub fn supported(tag: &str) -> Option<&'static str> {
    let code = tag.trim().get(..2)?.to_ascii_lowercase();
    LANGUAGES.into_iter().find(|l| *l == code)
}

/// The line, in the customer's language `customer`, saying that the answer below is written in
/// `answer_language`. `None` when either is not supported.
pub fn lead_in(customer: &str, answer_language: &str) -> Option<String> {
    let i = LANGUAGES.iter().position(|l| *l == customer)?;
    let d = &data()[i];
    let name = d.names.get(answer_language)?;
    Some(d.lead_in.replace("{language}", name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_file_fills_every_role() {
        for code in LANGUAGES {
            read(code).unwrap_or_else(|e| panic!("{e}"));
        }
        assert_eq!(data().len(), LANGUAGES.len());
        for (d, code) in data().iter().zip(LANGUAGES) {
            assert!(d.stopwords.len() >= 30, "{code}");
            assert!(d.lead_in.contains("{language}"), "{code}");
            for other in LANGUAGES {
                assert!(
                    d.names.contains_key(other),
                    "{code} lacks a name for {other}"
                );
            }
            if code != "en" {
                assert!(d.glossary.len() >= 100, "{code}: a short glossary");
            }
            for (w, en) in &d.glossary {
                assert_eq!(
                    text::tokens(w),
                    vec![w.clone()],
                    "{code}: glossary key {w:?} is not a folded token"
                );
                assert!(!en.trim().is_empty(), "{code}: {w:?} has no English");
            }
            for w in &d.stopwords {
                assert_eq!(
                    text::tokens(w),
                    vec![w.clone()],
                    "{code}: {w:?} is not a folded token"
                );
            }
        }
    }

    #[test]
    fn detects_clear_languages_and_abstains_on_short_texts() {
        assert_eq!(detect("how long does it take to get my order?"), Some("en"));
        assert_eq!(
            detect("bonjour, combien de temps pour recevoir ma commande ?"),
            Some("fr")
        );
        assert_eq!(
            detect("Wie lange dauert die Lieferung nach Österreich?"),
            Some("de")
        );
        assert_eq!(detect("hola, cuánto tarda el envío a España?"), Some("es"));
        assert_eq!(
            detect("ciao, quanto tempo ci vuole per la consegna?"),
            Some("it")
        );
        assert_eq!(
            detect("hoe lang duurt het voordat mijn bestelling er is?"),
            Some("nl")
        );
        assert_eq!(
            detect("olá, quanto tempo demora a minha encomenda?"),
            Some("pt")
        );
        assert_eq!(detect("refund?"), None);
        assert_eq!(detect("#48213"), None);
    }

    #[test]
    fn lead_in_names_the_answer_language_in_the_customer_language() {
        assert_eq!(
            lead_in("fr", "en").unwrap(),
            "Notre réponse à cette question est rédigée en anglais :"
        );
        assert!(lead_in("de", "en").unwrap().contains("Englisch"));
        assert!(lead_in("sv", "en").is_none());
        assert_eq!(supported("fr-FR"), Some("fr"));
        assert_eq!(supported("sv"), None);
        assert_eq!(supported(""), None);
    }

    #[test]
    fn other_languages_are_put_into_english_words_for_the_search() {
        let t = to_english("Wo ist meine Bestellung? Das Paket ist nicht angekommen").unwrap();
        assert_eq!(t.from, "de");
        assert!(
            t.text.contains("order") && t.text.contains("parcel"),
            "{t:?}"
        );
        assert!(!t.text.contains("ist"), "function words dropped: {t:?}");
        // A plural through its singular; an unknown word kept as is.
        let t = to_english("je voudrais annuler mes paiements Zalando").unwrap();
        assert_eq!(t.from, "fr");
        assert!(
            t.text.contains("cancel") && t.text.contains("payment"),
            "{t:?}"
        );
        assert!(t.text.contains("zalando"), "{t:?}");
        // Short texts without function words: the glossary tells the language.
        assert_eq!(to_english("Rücksendung?").unwrap().text, "return");
        assert_eq!(to_english("devolución??").unwrap().from, "es");
        // English, numbers and words no glossary claims: no translation.
        assert_eq!(to_english("how long does shipping take?"), None);
        assert_eq!(to_english("refund?"), None);
        assert_eq!(to_english("#48213"), None);
        assert_eq!(
            to_english("stock code"),
            None,
            "shared words are no evidence"
        );
    }

    #[test]
    fn languages_tied_on_a_short_text_agree_or_give_no_reading() {
        // Spanish and Portuguese glossaries both hold these words, with the same English.
        let t = to_english("envios a canada?").unwrap();
        assert!(
            t.text.contains("shipping") && t.text.contains("canada"),
            "{t:?}"
        );
        assert!(!t.certain, "{t:?}");
        assert!(to_english("Rücksendung?").unwrap().certain);
        assert!(
            to_english("Wo ist meine Bestellung? Das Paket ist nicht angekommen")
                .unwrap()
                .certain
        );
    }
}
