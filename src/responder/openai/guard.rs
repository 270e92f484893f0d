//! The checks on the model's decision before it can reach a customer. Pure: text in, verdict out.
//!
//! An `answer` decision becomes an [`Outcome::Answer`] only when every guard passes; otherwise it
//! is `NoKnowledge` (handed over with the no-knowledge message), never edited into shape:
//! - it cites at least one entry, and only entries that were supplied (an unknown id is a model
//!   inventing a source);
//! - every link (`http://`, `https://`, `www.`, or a `domain.tld/path`), email address and phone
//!   number in it appears in the cited entries (a phishing link or a made-up hotline never
//!   reaches the customer);
//! - it is at most `max_answer_chars` characters. A longer one is refused rather than cut: a cut
//!   can drop the condition that makes a sentence true ("free returns ... within the EU"), and a
//!   chat answer that long means the model went off track;
//! - it makes no promise (refund, discount, free, compensation, voucher, guarantee, a
//!   percentage...) that the cited entries do not make themselves.
//!
//! The text is sent as plain text: the Gorgias reply body escapes it (`gorgias::body`).

use std::collections::HashSet;

use serde::Deserialize;

use super::super::text;
use super::prompt::Grounding;
use crate::responder::{HandoverReason, Outcome};

/// The model's reply, as the decision schema spells it.
#[derive(Debug, Deserialize)]
pub(crate) struct RawDecision {
    pub decision: String,
    #[serde(default, alias = "answer")]
    pub text: Option<String>,
    #[serde(default)]
    pub sources: Option<Vec<String>>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// Why an `answer` was turned into no knowledge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No citation at all.
    Uncited,
    /// A citation that is not one of the supplied entries.
    UnknownSource(String),
    /// Longer than `max_answer_chars`.
    TooLong { chars: usize, max: usize },
    /// A link, email or phone number the cited entries do not contain.
    UnknownContact(String),
    /// A promise the cited entries do not make.
    Promise(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Uncited => write!(f, "the answer cites no knowledge entry"),
            Self::UnknownSource(id) => write!(f, "the answer cites {id:?}, which was not supplied"),
            Self::TooLong { chars, max } => {
                write!(
                    f,
                    "the answer is {chars} characters long (openai.max_answer_chars = {max})"
                )
            }
            Self::UnknownContact(c) => {
                write!(
                    f,
                    "the answer contains {c:?}, which the cited entries do not"
                )
            }
            Self::Promise(p) => write!(
                f,
                "the answer promises {p:?}, which the cited entries do not"
            ),
        }
    }
}

/// The verdict on one reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// A usable outcome (an answer that passed every guard, no knowledge, a handover).
    Outcome(Outcome),
    /// An answer refused by a guard: no knowledge.
    Refused(Refusal, Outcome),
    /// Not a decision at all (garbage, wrong shape, empty answer): worth one retry.
    Invalid(String),
}

/// Parses the model's content and applies every guard. `grounding` is what was supplied.
pub fn judge(content: &str, grounding: &Grounding, max_answer_chars: usize) -> Verdict {
    let json = strip_fence(content);
    let raw: RawDecision = match serde_json::from_str(json) {
        Ok(raw) => raw,
        Err(e) => {
            return Verdict::Invalid(format!(
                "the reply is not the decision JSON ({e}): {}",
                super::snippet(json.as_bytes())
            ));
        }
    };
    let no_knowledge = Outcome::NoKnowledge {
        best_score: grounding.best_score(),
    };
    match raw.decision.trim().to_ascii_lowercase().as_str() {
        "answer" => {
            let text = raw.text.as_deref().map(str::trim).unwrap_or_default();
            if text.is_empty() {
                return Verdict::Invalid("decision \"answer\" with an empty text".to_owned());
            }
            match check_answer(
                text,
                raw.sources.as_deref().unwrap_or_default(),
                grounding,
                max_answer_chars,
            ) {
                Ok((sources, score)) => Verdict::Outcome(Outcome::Answer {
                    text: text.to_owned(),
                    sources,
                    score,
                }),
                Err(refusal) => Verdict::Refused(refusal, no_knowledge),
            }
        }
        "no_knowledge" => Verdict::Outcome(no_knowledge),
        "handover" => {
            let reason = raw
                .reason
                .as_deref()
                .and_then(|r| HandoverReason::parse(r.trim()));
            // Only these are the model's to give; anything else (missing, "error", "rule")
            // means it judged a person should take over, the customer's words the likeliest
            // cause.
            Verdict::Outcome(Outcome::Handover(match reason {
                Some(
                    r @ (HandoverReason::Requested
                    | HandoverReason::Frustrated
                    | HandoverReason::NoKnowledge),
                ) => r,
                _ => HandoverReason::Requested,
            }))
        }
        other => Verdict::Invalid(format!("unknown decision {other:?}")),
    }
}

/// The guards on an answer's text; on success the cited ids (deduplicated, in citation order)
/// and the best score among them.
fn check_answer(
    text: &str,
    sources: &[String],
    grounding: &Grounding,
    max_answer_chars: usize,
) -> Result<(Vec<String>, f64), Refusal> {
    let mut seen = HashSet::new();
    let mut cited = Vec::new();
    for id in sources.iter().map(|s| s.trim()) {
        let Some(entry) = grounding.get(id) else {
            return Err(Refusal::UnknownSource(id.to_owned()));
        };
        if seen.insert(id) {
            cited.push(entry);
        }
    }
    if cited.is_empty() {
        return Err(Refusal::Uncited);
    }
    let chars = text.chars().count();
    if chars > max_answer_chars {
        return Err(Refusal::TooLong {
            chars,
            max: max_answer_chars,
        });
    }
    let knowledge: String = cited
        .iter()
        .map(|g| format!("{}\n{}\n", g.entry.question, g.entry.answer))
        .collect();
    check_contacts(text, &knowledge)?;
    check_promises(text, &knowledge)?;
    let score = cited.iter().map(|g| g.score).fold(0.0, f64::max);
    Ok((cited.iter().map(|g| g.entry.id.clone()).collect(), score))
}

/// Characters that end a link or address when they trail it ("see https://x.example/a.").
const TRAILING: &[char] = &[
    '.', ',', ';', ':', '!', '?', ')', ']', '}', '"', '\'', '>', '*',
];

/// Every link, email address and phone number in `text` must be in `knowledge`.
fn check_contacts(text: &str, knowledge: &str) -> Result<(), Refusal> {
    let known = knowledge.to_lowercase();
    let known_links: Vec<String> = words(knowledge).filter_map(link).collect();
    for word in words(text) {
        if let Some(l) = link(word) {
            // The same link, or a shorter form of one (its site, a parent path): never a
            // different host that happens to start the same ("shop.exam" in "shop.example").
            let ok = known_links.iter().any(|k| {
                k.strip_prefix(l.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '?', '#']))
            });
            if !ok {
                return Err(Refusal::UnknownContact(
                    word.trim_end_matches(TRAILING).to_owned(),
                ));
            }
        } else if let Some(email) = email(word).filter(|e| !known.contains(e)) {
            return Err(Refusal::UnknownContact(email));
        }
    }
    let known_numbers: Vec<String> = phone_numbers(knowledge);
    for number in phone_numbers(text) {
        if !known_numbers.iter().any(|k| k.contains(&number)) {
            return Err(Refusal::UnknownContact(number));
        }
    }
    Ok(())
}

fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| {
        c.is_whitespace() || matches!(c, '<' | '>' | '(' | ')' | '[' | ']' | '"' | '`')
    })
    .filter(|w| !w.is_empty())
}

/// A link in a word, normalised for comparison (lowercase, no scheme, no `www.`, no trailing
/// punctuation or slash), or `None`.
fn link(word: &str) -> Option<String> {
    let w = word.trim_end_matches(TRAILING).to_lowercase();
    let rest = if let Some(r) = w
        .strip_prefix("https://")
        .or_else(|| w.strip_prefix("http://"))
    {
        r.to_owned()
    } else if let Some(i) = w.find("://") {
        // Any other scheme (ftp://, javascript://...) is a link too.
        w[i + 3..].to_owned()
    } else if w.starts_with("www.") || looks_like_domain(&w) {
        w.clone()
    } else {
        return None;
    };
    let rest = rest.strip_prefix("www.").unwrap_or(&rest);
    let rest = rest.trim_end_matches('/');
    (!rest.is_empty()).then(|| rest.to_owned())
}

/// `host.tld` or `host.tld/...`: a link written without a scheme ("phish.example/verify").
/// Errs on the side of seeing a link ("node.js" is one): an answer refused by mistake is
/// handed over, a link let through by mistake reaches the customer.
fn looks_like_domain(w: &str) -> bool {
    let host = w.split(['/', '?', '#']).next().unwrap_or(w);
    let labels: Vec<&str> = host.split('.').collect();
    labels.len() >= 2
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        && labels.last().is_some_and(|tld| {
            (2..=24).contains(&tld.len()) && tld.chars().all(|c| c.is_ascii_alphabetic())
        })
}

fn email(word: &str) -> Option<String> {
    let w = word
        .trim_start_matches(['"', '\'', '<', '(', ':'])
        .trim_end_matches(TRAILING)
        .trim_start_matches("mailto:");
    let (local, domain) = w.split_once('@')?;
    (!local.is_empty() && domain.contains('.') && !domain.starts_with('.'))
        .then(|| w.to_lowercase())
}

/// Phone-number-like runs (digits with `+ - . / ( )` and single spaces between, 7+ digits),
/// as their digits.
fn phone_numbers(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut digits = String::new();
    let mut gap = 0;
    let flush = |digits: &mut String, out: &mut Vec<String>| {
        if digits.len() >= 7 {
            out.push(std::mem::take(digits));
        } else {
            digits.clear();
        }
    };
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            gap = 0;
        } else if matches!(c, '+' | '-' | '.' | '/' | '(' | ')' | ' ' | '\u{a0}') && gap < 2 {
            if !digits.is_empty() {
                gap += 1;
            }
        } else {
            flush(&mut digits, &mut out);
            gap = 0;
        }
    }
    flush(&mut digits, &mut out);
    out
}

/// Word stems (folded to ASCII, lowercase) that promise money, goods or an outcome. A stem
/// matches a token that starts with it.
const PROMISES: &[&str] = &[
    // English
    "refund",
    "reimburs",
    "discount",
    "free",
    "voucher",
    "coupon",
    "guarantee",
    "warrant",
    "giftcard",
    "cashback",
    "rebate",
    "promo",
    "credit",
    "waive",
    // French
    "rembours",
    "remise",
    "reduction",
    "gratuit",
    "dedommag",
    "indemni",
    "garanti",
    // German
    "erstatt",
    "ruckerstatt",
    "rabatt",
    "kostenlos",
    "gratis",
    "entschadig",
    "gutschein",
    "gutschrift",
    "garantie",
    // Spanish, Italian, Portuguese
    "reembols",
    "descuento",
    "cupon",
    "compensa",
    "garantia",
    "rimbors",
    "sconto",
    "risarc",
    "buono",
    "garanzi",
    "desconto",
    // Dutch
    "terugbetal",
    "korting",
    "vergoed",
    "tegoedbon",
];

/// Short stems that must match a whole token (they start too many unrelated words).
const WHOLE_WORD: &[&str] = &["promo", "free", "credit"];

/// A promise in `text` that `knowledge` does not make, or a percentage it does not state.
fn check_promises(text: &str, knowledge: &str) -> Result<(), Refusal> {
    let said = promise_stems(text);
    let known = promise_stems(knowledge);
    if let Some(p) = said.iter().find(|p| !known.contains(*p)) {
        return Err(Refusal::Promise((*p).to_owned()));
    }
    let known_pct = percentages(knowledge);
    if let Some(p) = percentages(text)
        .into_iter()
        .find(|p| !known_pct.contains(p))
    {
        return Err(Refusal::Promise(p));
    }
    Ok(())
}

fn promise_stems(text: &str) -> HashSet<&'static str> {
    let mut tokens = text::tokens(text);
    // "Feel free to ask" promises nothing.
    for i in 1..tokens.len() {
        if tokens[i] == "free" && tokens[i - 1] == "feel" {
            tokens[i].clear();
        }
    }
    PROMISES
        .iter()
        .copied()
        .filter(|stem| {
            tokens.iter().any(|t| {
                if WHOLE_WORD.contains(stem) {
                    t == stem
                        || (t.len() == stem.len() + 1 && t.starts_with(stem) && t.ends_with('s'))
                } else {
                    t.starts_with(stem)
                }
            })
        })
        .collect()
}

/// "20%", "20 %", "20 percent": the numbers.
fn percentages(text: &str) -> Vec<String> {
    let folded = text::fold(text);
    let mut out = Vec::new();
    let chars: Vec<char> = folded.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_digit() || chars[i] == '.' || chars[i] == ',')
            {
                i += 1;
            }
            let number: String = chars[start..i].iter().collect();
            let mut j = i;
            while j < chars.len() && chars[j] == ' ' {
                j += 1;
            }
            let tail: String = chars[j..chars.len().min(j + 8)].iter().collect();
            if tail.starts_with('%')
                || tail.starts_with("percent")
                || tail.starts_with("pour")
                || tail.starts_with("prozent")
                || tail.starts_with("por ciento")
            {
                out.push(format!("{}%", number.trim_end_matches(['.', ','])));
            }
        } else {
            i += 1;
        }
    }
    out
}

/// The JSON inside a Markdown code fence, which local models add even in JSON mode.
pub(crate) fn strip_fence(content: &str) -> &str {
    let t = content.trim();
    let Some(rest) = t.strip_prefix("```") else {
        return t;
    };
    let rest = rest.strip_prefix("json").unwrap_or(rest);
    rest.strip_suffix("```").unwrap_or(rest).trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPING: &str = "Orders leave within 1 business day. Track them on https://shop.example/track \
        or www.shop.example/orders, write to help@shop.example or call +33 1 23 45 67 89. \
        Standard shipping is free over 50 EUR.";

    #[test]
    fn links_emails_and_numbers_from_the_knowledge_pass() {
        for text in [
            "Track it on https://shop.example/track.",
            "Track it on http://www.shop.example/track/",
            "See shop.example/orders (or write to Help@Shop.example).",
            "Call us on +33 (0)1 23 45 67 89? No: +33 1 23 45 67 89.",
            "Orders leave within 1 business day, e.g. today, for 4.95 EUR.",
            "Everything is on shop.example, see https://shop.example/track",
        ] {
            let r = check_contacts(text, SHIPPING);
            // "+33 (0)1..." holds a 0 the knowledge does not: a different number.
            if text.contains("(0)") {
                assert!(r.is_err(), "{text}");
            } else {
                assert_eq!(r, Ok(()), "{text}");
            }
        }
    }

    #[test]
    fn links_emails_and_numbers_not_in_the_knowledge_are_refused() {
        for (text, what) in [
            (
                "Verify at http://phish.example/verify",
                "http://phish.example/verify",
            ),
            (
                "Go to https://shop.example.evil.example/track",
                "https://shop.example.evil.example/track",
            ),
            ("See www.other.example", "www.other.example"),
            ("Open phish.example/login now", "phish.example/login"),
            ("Visit phish.example today", "phish.example"),
            ("Visit https://shop.exam/track", "https://shop.exam/track"),
            ("See https://shop.exam", "https://shop.exam"),
            // A query the knowledge does not have is another link.
            (
                "See https://shop.example/track?u=evil",
                "https://shop.example/track?u=evil",
            ),
            ("Use javascript://alert(1)", "javascript://alert"),
            ("Write to refunds@phish.example.", "refunds@phish.example"),
            ("Call 0800 123 4567", "08001234567"),
        ] {
            match check_contacts(text, SHIPPING) {
                Err(Refusal::UnknownContact(c)) => {
                    assert!(c.contains(what) || what.contains(&c), "{text}: {c}")
                }
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn promises_must_be_in_the_knowledge() {
        assert_eq!(
            check_promises("Shipping is free over 50 EUR.", SHIPPING),
            Ok(())
        );
        assert_eq!(check_promises("Feel free to ask again!", "nothing"), Ok(()));
        assert_eq!(
            check_promises("We accept credit cards.", "Visa and credit cards."),
            Ok(())
        );
        for (text, stem) in [
            ("You will get a full refund.", "refund"),
            ("We will reimburse the postage.", "reimburs"),
            ("Here is a voucher for your trouble.", "voucher"),
            ("We guarantee delivery tomorrow.", "guarantee"),
            ("Vous serez remboursé.", "rembours"),
            ("Sie erhalten einen Gutschein.", "gutschein"),
            ("Le daremos un descuento.", "descuento"),
        ] {
            assert_eq!(
                check_promises(text, SHIPPING),
                Err(Refusal::Promise(stem.to_owned())),
                "{text}"
            );
        }
        assert_eq!(
            check_promises("You get 20% off.", "10% off your first order"),
            Err(Refusal::Promise("20%".to_owned()))
        );
        assert_eq!(
            check_promises("85 % of it is organic.", "85% of our collection"),
            Ok(())
        );
    }

    #[test]
    fn phone_numbers_need_seven_digits() {
        assert_eq!(
            phone_numbers("call +33 1 23 45 67 89 now"),
            vec!["33123456789"]
        );
        assert!(phone_numbers("order 12345, 2-4 days, 4.95 EUR").is_empty());
    }
}
