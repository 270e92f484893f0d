//! The language of a text, guessed from frequent function words, and the line that introduces
//! an answer written in another language than the customer's. Seven languages (en fr de es it
//! nl pt), one data file each under `lang/`, loaded once. Pure; decides nothing.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Deserialize;

use super::text;

/// The supported languages, in the order of their data files.
pub const LANGUAGES: [&str; 7] = ["en", "fr", "de", "es", "it", "nl", "pt"];

const FILES: [&str; 7] = [
    include_str!("lang/en.toml"),
    include_str!("lang/fr.toml"),
    include_str!("lang/de.toml"),
    include_str!("lang/es.toml"),
    include_str!("lang/it.toml"),
    include_str!("lang/nl.toml"),
    include_str!("lang/pt.toml"),
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LangFile {
    stopwords: Vec<String>,
    lead_in: String,
    names: HashMap<String, String>,
}

fn data() -> &'static [LangFile] {
    static DATA: OnceLock<Vec<LangFile>> = OnceLock::new();
    DATA.get_or_init(|| {
        FILES
            .iter()
            .map(|f| {
                toml::from_str(f).expect("language files are compiled in and checked by a test")
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
}
