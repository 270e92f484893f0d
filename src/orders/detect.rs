//! Is a customer's turn about an order, and which order numbers does it give?
//!
//! Pure and deterministic, on the words of `lang/*.toml` (the ticket's language plus English,
//! or every language when the ticket's is unknown). A turn is:
//! - a **change** request when it holds a change word ("cancel", "rembourser") and an order
//!   word or an order number ("cancel my order", "refund #1042");
//! - a **whereabouts** question when a question word comes just before an order or parcel word
//!   ("where is my order", "wann kommt meine Bestellung"), a progress word shares a clause with
//!   one ("my order hasn't arrived", "commande pas reçue"), or it asks for tracking ("tracking
//!   number?", "suivi de colis").
//!
//! Order numbers are digit runs of 3 to 12 digits standing alone (not inside "1Z999AA", a date
//! or an amount such as "12.50"). A number is *given* (strong) when it follows `#`, follows an
//! order word ("order 1042", "commande n° 1042"), is the whole turn ("1042"), or answers the
//! bot's request for it; other numbers in an order question are weak: they count only if they
//! name one of the customer's own orders (so "I paid 120 euros for my order" is not taken for
//! order 120).
//!
//! Must not: decide what is disclosed (that is [`super::answer`]).

use super::words::{self, Words};

/// What the turn asks about orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AskKind {
    /// Not an order question.
    None,
    /// Where is it, when does it ship, what is its tracking.
    Whereabouts,
    /// Change, cancel or refund an order: a person's job.
    Change,
}

/// One order number found in the turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GivenNumber {
    pub number: u64,
    /// Given as an order number (see the module doc), rather than a number that happens to be
    /// in an order question.
    pub strong: bool,
}

/// The turn, as the orders feature reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderAsk {
    pub kind: AskKind,
    /// In the order written; strong and weak mixed.
    pub numbers: Vec<GivenNumber>,
}

impl OrderAsk {
    /// The numbers the customer gave as order numbers.
    pub fn strong_numbers(&self) -> impl Iterator<Item = u64> + '_ {
        self.numbers.iter().filter(|n| n.strong).map(|n| n.number)
    }
}

/// How many tokens a question word may come before an order word ("where is my order": 2).
const QUESTION_REACH: usize = 4;
/// Most digits an order number has; longer runs are tracking or phone numbers.
const MAX_DIGITS: usize = 12;
const MIN_DIGITS: usize = 3;
/// Numbers looked at per turn (a pasted log of numbers must not cost more).
const MAX_NUMBERS: usize = 20;

/// Reads a turn (the customer's unanswered messages). `language` is the ticket's (Gorgias
/// tag); `awaiting_number` is true when the bot asked for the order number and this turn
/// answers it (bare numbers are then given numbers).
pub fn detect(texts: &[String], language: Option<&str>, awaiting_number: bool) -> OrderAsk {
    let langs = languages_for(language);
    let has = |token: &Token, role: fn(&Words) -> &Vec<String>| {
        langs.iter().any(|w| {
            role(w)
                .iter()
                .any(|x| *x == token.raw || *x == token.folded)
        })
    };
    let text = texts.join("\n");
    let clauses = clauses(&text);
    let numbers = numbers(&text, &clauses, awaiting_number, &has);

    let any_order_word = clauses.iter().flatten().any(|t| has(t, |w| &w.order));
    let any_change = clauses.iter().flatten().any(|t| has(t, |w| &w.change));
    let strong = numbers.iter().any(|n| n.strong);
    let kind = if any_change && (any_order_word || strong) {
        AskKind::Change
    } else if clauses.iter().any(|c| whereabouts(c, &has)) {
        AskKind::Whereabouts
    } else {
        AskKind::None
    };
    OrderAsk { kind, numbers }
}

/// A token in its lowercase form and its folded form ("où" / "ou"): word lists may be written
/// with accents where the accent matters (French "où" is "where", "ou" is "or").
#[derive(Debug, Clone)]
struct Token {
    raw: String,
    folded: String,
    /// The token is made of digits only.
    digits: bool,
}

fn languages_for(language: Option<&str>) -> Vec<&'static Words> {
    let code = language.and_then(crate::lang::language_code);
    match code.as_deref().and_then(words::language) {
        Some(l) => vec![&l.words, &words::english().words],
        None => words::all().values().map(|l| &l.words).collect(),
    }
}

fn clauses(text: &str) -> Vec<Vec<Token>> {
    text.to_lowercase()
        .split([
            '.', ',', ';', ':', '!', '?', '\n', '\r', '(', ')', '–', '—', '¿', '¡',
        ])
        .map(|clause| {
            clause
                .split(|c: char| !c.is_alphanumeric())
                .filter(|t| !t.is_empty())
                .map(|t| Token {
                    raw: t.to_string(),
                    folded: crate::text::fold(t),
                    digits: t.chars().all(|c| c.is_ascii_digit()),
                })
                .collect::<Vec<_>>()
        })
        .filter(|c| !c.is_empty())
        .collect()
}

fn whereabouts(
    clause: &[Token],
    has: &impl Fn(&Token, fn(&Words) -> &Vec<String>) -> bool,
) -> bool {
    let is_ref = |t: &Token| has(t, |w| &w.order) || has(t, |w| &w.parcel);
    if clause.iter().any(|t| has(t, |w| &w.tracking)) {
        return true;
    }
    let refs: Vec<usize> = (0..clause.len()).filter(|&i| is_ref(&clause[i])).collect();
    if refs.is_empty() {
        return false;
    }
    if clause.iter().any(|t| has(t, |w| &w.progress)) {
        // A progress word ("shipped", "arrived") anywhere in the clause.
        return true;
    }
    refs.iter().any(|&r| {
        (r.saturating_sub(QUESTION_REACH)..r).any(|q| has(&clause[q], |w| &w.question))
            || (r + 1..(r + 3).min(clause.len())).any(|q| has(&clause[q], |w| &w.question))
    })
}

fn numbers(
    text: &str,
    clauses: &[Vec<Token>],
    awaiting_number: bool,
    has: &impl Fn(&Token, fn(&Words) -> &Vec<String>) -> bool,
) -> Vec<GivenNumber> {
    let chars: Vec<char> = text.chars().collect();
    let only_number = {
        let tokens: Vec<&Token> = clauses.iter().flatten().collect();
        tokens.len() == 1 && tokens[0].digits
    };
    let mut out: Vec<GivenNumber> = Vec::new();
    let mut i = 0;
    while i < chars.len() && out.len() < MAX_NUMBERS {
        if !chars[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        let run: String = chars[start..i].iter().collect();
        let before = start.checked_sub(1).map(|j| chars[j]);
        let after = chars.get(i).copied();
        let after2 = chars.get(i + 1).copied();
        // Part of a word ("1Z999", "abc123"), a decimal, a date or a time: not an order number.
        let glued = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
        let joins = |c: Option<char>, next: Option<char>| {
            matches!(c, Some('.' | ',' | '/' | ':' | '-'))
                && next.is_some_and(|n| n.is_ascii_digit())
        };
        let before2 = start.checked_sub(2).map(|j| chars[j]);
        if glued(before)
            || glued(after)
            || joins(after, after2)
            || (matches!(before, Some('.' | ',' | '/' | ':' | '-'))
                && before2.is_some_and(|c| c.is_ascii_digit()))
            || !(MIN_DIGITS..=MAX_DIGITS).contains(&run.len())
        {
            continue;
        }
        let Ok(number) = run.parse::<u64>() else {
            continue;
        };
        let hashed = before == Some('#')
            || (matches!(before, Some(' ')) && start >= 2 && chars[start - 2] == '#');
        let strong =
            hashed || awaiting_number || only_number || after_order_word(&chars[..start], has);
        if let Some(seen) = out.iter_mut().find(|n| n.number == number) {
            seen.strong |= strong;
        } else {
            out.push(GivenNumber { number, strong });
        }
    }
    out
}

/// Whether the text just before a number ends with an order word, maybe followed by a number
/// word ("order 1042", "order no. 1042", "commande n° 1042"; compounds such as "Bestellnummer"
/// are order words of their own).
fn after_order_word(
    before: &[char],
    has: &impl Fn(&Token, fn(&Words) -> &Vec<String>) -> bool,
) -> bool {
    // The last few words before the number, nearest last.
    let tail: String = before
        .iter()
        .rev()
        .take(40)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let lower = tail.to_lowercase();
    let words: Vec<Token> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(|t| Token {
            raw: t.to_string(),
            folded: crate::text::fold(t),
            digits: false,
        })
        .collect();
    // A number separated from the word by a sentence break is not that word's number.
    let trimmed = lower.trim_end();
    if trimmed.ends_with(['.', '!', '?', '\n'])
        && !trimmed.ends_with("no.")
        && !trimmed.ends_with("nr.")
    {
        return false;
    }
    let mut rest = words.iter().rev();
    let Some(last) = rest.next() else {
        return false;
    };
    if has(last, |w| &w.order) {
        return true;
    }
    has(last, |w| &w.number) && rest.next().is_some_and(|t| has(t, |w| &w.order))
}
