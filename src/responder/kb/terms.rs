//! The words of a customer text the search looks for: stopwords and filler dropped, synonyms
//! grouped, and the FTS5 query matching a group.

use std::collections::HashSet;

use crate::responder::text;

/// Words that carry no topic: NLTK's English stopword list plus chat filler ("hi", "pls",
/// "need", "want"). English only; other languages still match, with more noise.
const STOPWORDS: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "against",
    "ain",
    "all",
    "also",
    "am",
    "an",
    "and",
    "any",
    "are",
    "aren",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "could",
    "couldn",
    "d",
    "did",
    "didn",
    "do",
    "does",
    "doesn",
    "doing",
    "don",
    "down",
    "during",
    "each",
    "few",
    "for",
    "from",
    "further",
    "get",
    "got",
    "had",
    "hadn",
    "has",
    "hasn",
    "have",
    "haven",
    "having",
    "he",
    "hello",
    "help",
    "her",
    "here",
    "hers",
    "herself",
    "hey",
    "hi",
    "him",
    "himself",
    "his",
    "how",
    "i",
    "if",
    "im",
    "in",
    "into",
    "is",
    "isn",
    "it",
    "its",
    "itself",
    "just",
    "know",
    "let",
    "like",
    "ll",
    "m",
    "ma",
    "me",
    "might",
    "mightn",
    "more",
    "most",
    "must",
    "mustn",
    "my",
    "myself",
    "need",
    "needn",
    "no",
    "nor",
    "not",
    "now",
    "o",
    "of",
    "off",
    "ok",
    "okay",
    "on",
    "once",
    "only",
    "or",
    "other",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "please",
    "pls",
    "re",
    "s",
    "same",
    "shan",
    "she",
    "should",
    "shouldn",
    "so",
    "some",
    "such",
    "t",
    "than",
    "thank",
    "thanks",
    "that",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "to",
    "too",
    "u",
    "under",
    "until",
    "up",
    "ur",
    "ve",
    "very",
    "want",
    "was",
    "wasn",
    "we",
    "were",
    "weren",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "won",
    "would",
    "wouldn",
    "y",
    "yes",
    "you",
    "your",
    "yours",
    "yourself",
    "yourselves",
];

/// The query terms of a customer text: lowercase, unaccented, stopwords, one-letter tokens and
/// plain numbers (order numbers, quantities) dropped, duplicates removed.
pub(crate) fn query_terms(text: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    text::tokens(text)
        .into_iter()
        .filter(|t| t.chars().count() >= 2 && !STOPWORDS.contains(&t.as_str()))
        .filter(|t| !t.chars().all(|c| c.is_ascii_digit()))
        .filter(|t| seen.insert(t.clone()))
        .collect()
}

/// Words that carry no topic in a question to a shop, on top of [`STOPWORDS`] (which the intent
/// detector shares, so they stay apart): time fillers and vague verbs. Each was a word shared by
/// chance between a question and an unrelated entry ("right now", "still", "how does it work").
const SEARCH_FILLER: &[&str] = &[
    "actually",
    "already",
    "anyone",
    "anything",
    "came",
    "currently",
    "else",
    "ever",
    "exactly",
    "instead",
    "maybe",
    "much",
    "possible",
    "really",
    "right",
    "someone",
    "something",
    "still",
    "sure",
    "thing",
    "things",
    "today",
    "tomorrow",
    "usually",
    "way",
    "work",
    "yesterday",
];

/// Words customers and knowledge files use for the same thing. A query word in a group matches
/// an entry holding any word of it, and counts once (coverage does not grow with synonyms).
/// Plain shop vocabulary, so that a knowledge base need not list every variant as a keyword;
/// each group is one sense (no "order" in the parcel group: it would match everything). Not
/// delivery~shipping: in a shop most entries speak of both, so the merged word weighs nothing
/// and blurs the shipping entries into each other (measured: more paraphrases answered wrongly).
const SYNONYMS: &[&[&str]] = &[
    &["parcel", "parcels", "package", "packages", "shipment"],
    &[
        "refund",
        "refunded",
        "refunds",
        "reimburse",
        "reimbursed",
        "reimbursement",
    ],
    &[
        "cost", "costs", "price", "prices", "charge", "charges", "fee", "fees",
    ],
    &["amex", "visa", "mastercard", "card"],
    &[
        "jumper", "jumpers", "sweater", "sweaters", "pullover", "knitwear",
    ],
    &["dryer", "tumble"],
    &["clothes", "clothing", "garment", "garments", "collection"],
    &[
        "eco",
        "sustainable",
        "sustainability",
        "green",
        "environment",
    ],
    &["program", "programme", "club", "scheme"],
    &["colour", "colours", "color", "colors"],
    &["broke", "broken", "break", "smashed", "cracked"],
    &["tear", "torn", "ripped", "rip", "hole"],
    &["present", "gift"],
    &["zip", "zipper"],
    &["shop", "store", "showroom", "boutique"],
    &["coupon", "voucher", "promo", "code"],
    &["login", "log", "signin", "sign"],
    &["cancel", "cancellation", "cancelled", "canceled"],
    &["exchange", "swap", "replace"],
    &[
        "abroad",
        "internationally",
        "international",
        "overseas",
        "worldwide",
    ],
];

/// The query terms of a text for the search: [`query_terms`] less [`SEARCH_FILLER`], each with
/// its synonyms (the term itself first).
pub(super) fn search_terms(text: &str) -> Vec<Vec<String>> {
    // "free of charge" means free, whatever it is about: "charge" would pull in the prices.
    let text = text.to_lowercase().replace("free of charge", "free");
    let mut groups: Vec<Vec<String>> = Vec::new();
    for term in query_terms(&text) {
        if SEARCH_FILLER.contains(&term.as_str()) {
            continue;
        }
        let mut group = vec![term.clone()];
        if let Some(syn) = SYNONYMS.iter().find(|g| g.contains(&term.as_str())) {
            group.extend(syn.iter().filter(|w| **w != term).map(|w| (*w).to_owned()));
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
