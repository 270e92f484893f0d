//! Frustration signals in one message: fixed phrases (profanity, insults, complaints) and phrase
//! families (help that failed, thanks for nothing, a problem that persists or comes back, asking
//! again, the same answer over and over, nobody answering), plus shouting and "!!!".

use super::text;
use super::words::words;
use super::{IntentConfig, escalation, find_all, has, is_negation, phrase_tokens};

/// Signals that count on their own; "shouting" and "exclamations" count only in a message
/// with no positive word.
pub(super) const STRONG_SIGNALS: &[&str] = &[
    "profanity",
    "insult",
    "complaint",
    "not_answered",
    "repeated_question",
    "asked_again",
    "custom",
    "dispute",
    "threat",
    "gives_up",
    "not_read",
    "angry_emoji",
];

pub(super) fn contains_phrase(tokens: &[String], phrase: &str) -> Option<usize> {
    find_all(tokens, &phrase_tokens(phrase)).first().copied()
}

/// Single-word complaints ("useless", "ridiculous") preceded by a negation ("not useless")
/// do not count.
pub(super) fn negated_before(tokens: &[String], at: usize) -> bool {
    (at.saturating_sub(2)..at).any(|i| is_negation(tokens, i))
}

/// Anger at oneself a few words after a complaint ("furious with myself", "sauer auf mich
/// selbst").
fn at_oneself(tokens: &[String], end: usize) -> bool {
    (end + 1..tokens.len().min(end + 5)).any(|k| has(&words().frustration.oneself, &tokens[k]))
}

/// An apology for the customer's own question shortly before ("sorry if this is dumb",
/// "désolé si c'est bête", "perdón por la pregunta tonta").
fn apologised_before(tokens: &[String], at: usize) -> bool {
    let w = &words().frustration;
    (at.saturating_sub(6)..at).any(|k| {
        has(&w.apologies, &tokens[k])
            && tokens
                .get(k + 1)
                .is_some_and(|n| has(&w.conditionals, n) || has(&w.for_words, n))
    })
}

/// A hedge within two words before a complaint ("a bit useless", "kinda pointless").
fn hedged_before(tokens: &[String], at: usize) -> bool {
    (at.saturating_sub(2)..at).any(|i| has(&words().frustration.hedges, &tokens[i]))
}

pub(super) fn is_shouting(text: &str) -> bool {
    let mut letters = 0usize;
    let mut upper = 0usize;
    for word in text.split_whitespace() {
        // Order numbers and codes ("AB12CD") are written in capitals without shouting.
        if word.chars().any(|c| c.is_ascii_digit()) {
            continue;
        }
        for c in word.chars().filter(|c| c.is_alphabetic()) {
            letters += 1;
            if c.is_uppercase() {
                upper += 1;
            }
        }
    }
    letters >= 12 && upper * 10 >= letters * 7
}

pub(super) fn has_exclamation_run(text: &str) -> bool {
    let mut run = 0usize;
    let mut bangs = 0usize;
    for c in text.chars() {
        if c == '!' || c == '?' {
            run += 1;
            if c == '!' {
                bangs += 1;
            }
            if run >= 3 && bangs >= 2 {
                return true;
            }
        } else if !c.is_whitespace() {
            run = 0;
            bangs = 0;
        }
    }
    false
}

/// The frustration signals in one message, by name: `profanity`, `insult`, `complaint`,
/// `not_answered` (the answer missed or did not help), `asked_again` ("for the third time",
/// "I already asked"), `custom` (a configured phrase), `shouting` (at least 70% capitals over at
/// least 12 letters) and `exclamations` (a run like "!!!" or "?!?!"). Empty when calm.
pub fn frustration_signals(text: &str, cfg: &IntentConfig) -> Vec<&'static str> {
    let tokens = text::tokens(text);
    let mut signals = Vec::new();
    if tokens
        .iter()
        .any(|t| has(&words().frustration.profanity, t))
    {
        signals.push("profanity");
    }
    let w = &words().frustration;
    // "stupid question", "question bête", "sorry if this is dumb", "dumb of me":
    // self-deprecation, not an insult.
    let self_deprecating = |i: usize| {
        tokens
            .get(i + 1)
            .is_some_and(|n| has(&w.question_nouns, n) || n == "me" || n == "of")
            || (i > 0 && has(&w.question_nouns, &tokens[i - 1]))
            || apologised_before(&tokens, i)
            || at_oneself(&tokens, i)
    };
    let insult = tokens
        .iter()
        .enumerate()
        .any(|(i, t)| has(&w.insults, t) && !negated_before(&tokens, i) && !self_deprecating(i));
    if insult {
        signals.push("insult");
    }
    let complaint = words().frustration.complaints.iter().any(|phrase| {
        let words = phrase_tokens(phrase);
        find_all(&tokens, &words).first().is_some_and(|&at| {
            // Built-in negative phrases ("not helpful") are complaints as they stand; a hedged
            // word ("kind of useless", "un peu inutile") is mild annoyance, not frustration.
            (words.len() > 1 || !(negated_before(&tokens, at) || hedged_before(&tokens, at)))
                && !at_oneself(&tokens, (at + words.len()).saturating_sub(1))
        })
    });
    if complaint {
        signals.push("complaint");
    }
    let family = text::clauses(text).iter().any(|c| complaint_families(c));
    if (family || exasperated(text)) && !signals.contains(&"complaint") {
        signals.push("complaint");
    }
    if words()
        .frustration
        .not_answered
        .iter()
        .any(|phrase| contains_phrase(&tokens, phrase).is_some())
        || help_failed(&tokens)
        || near(
            &tokens,
            &words().frustration.answer_words,
            &words().frustration.wrong_words,
            4,
        )
    {
        signals.push("not_answered");
    }
    if asked_again(&tokens) {
        signals.push("asked_again");
    }
    for signal in escalation::frustration_families(text, &tokens) {
        if !signals.contains(&signal) {
            signals.push(signal);
        }
    }
    if cfg
        .extra_frustration_phrases
        .iter()
        .any(|p| !phrase_tokens(p).is_empty() && contains_phrase(&tokens, p).is_some())
    {
        signals.push("custom");
    }
    // "wtf these prices are so good", "holy shit the parka is gorgeous": swearing in delight.
    if signals.first() == Some(&"profanity")
        && tokens
            .iter()
            .enumerate()
            .any(|(i, t)| has(&w.positive, t) && !negated_before(&tokens, i) && !has(&w.thanks, t))
    {
        signals.remove(0);
    }
    if is_shouting(text) {
        signals.push("shouting");
    }
    if has_exclamation_run(text) {
        signals.push("exclamations");
    }
    signals
}

/// Whether a word of `first` is followed, within `window` words, by a word of `second`.
pub(super) fn near<A: AsRef<str>, B: AsRef<str>>(
    tokens: &[String],
    first: &[A],
    second: &[B],
    window: usize,
) -> bool {
    tokens.iter().enumerate().any(|(i, t)| {
        has(first, t)
            && tokens[i + 1..tokens.len().min(i + 1 + window)]
                .iter()
                .any(|n| has(second, n))
    })
}

/// Where the word sequences of `seqs` end in `tokens` (index after the last word).
pub(super) fn seq_ends(tokens: &[String], seqs: &[Vec<String>]) -> Vec<usize> {
    seqs.iter()
        .flat_map(|seq| {
            find_all(tokens, seq)
                .into_iter()
                .map(move |at| at + seq.len())
        })
        .collect()
}

/// "Didn't help", "ne m'a pas aidé", "hat mir überhaupt nicht geholfen", "dit helpt
/// helemaal niet", "não ajudou": a negation and a help word with only pronouns, auxiliaries
/// and adverbs between them, in either order. "I don't need help" is not one: "need" is
/// not a gap word.
pub(super) fn help_failed(tokens: &[String]) -> bool {
    let bridged = |from: usize, to: usize| {
        (from + 1..to).all(|k| has(&words().frustration.help_gap, &tokens[k]))
    };
    tokens.iter().enumerate().any(|(i, t)| {
        if !has(&words().frustration.help_words, t) {
            return false;
        }
        let before = (i.saturating_sub(5)..i)
            .any(|n| has(&words().frustration.help_neg, &tokens[n]) && bridged(n, i));
        let after = (i + 1..tokens.len().min(i + 5))
            .any(|n| has(&words().frustration.help_neg, &tokens[n]) && bridged(i, n));
        before || after
    })
}

/// Complaints recognised by shape rather than by fixed phrase: thanks for nothing, good for
/// nothing, "is a joke", a problem that persists or comes back.
pub(super) fn complaint_families(tokens: &[String]) -> bool {
    // "Thanks for (absolutely) nothing", "merci pour rien du tout".
    let thanks_for_nothing = tokens.windows(3).enumerate().any(|(i, w)| {
        has(&words().frustration.thanks, &w[0])
            && has(&words().frustration.for_words, &w[1])
            && (i + 2..tokens.len().min(i + 4))
                .any(|k| has(&words().frustration.nothing, &tokens[k]))
            && (i + 2..tokens.len().min(i + 4))
                .take_while(|&k| !has(&words().frustration.nothing, &tokens[k]))
                .all(|k| has(&words().frustration.intensifiers, &tokens[k]))
    });
    let good_for_nothing = near(
        tokens,
        &words().frustration.serve,
        &words().frustration.nothing,
        3,
    );
    let joke = tokens.iter().enumerate().any(|(i, t)| {
        has(&words().frustration.joke, t)
            && (i.saturating_sub(3)..i).any(|k| has(&words().frustration.copula_any, &tokens[k]))
    });
    // "Is it still not in stock?" asks about a state; "still not working" complains.
    let yes_no_question = tokens
        .first()
        .is_some_and(|t| has(&words().frustration.question_openers, t));
    let persists = !yes_no_question
        && seq_ends(tokens, &words().frustration.still)
            .into_iter()
            .any(|end| {
                (end..tokens.len().min(end + 3))
                    .any(|k| has(&words().frustration.still_neg, &tokens[k]))
            });
    let recurs = !seq_ends(tokens, &words().frustration.again).is_empty()
        && tokens.iter().any(|t| has(&words().frustration.problems, t));
    thanks_for_nothing
        || good_for_nothing
        || joke
        || persists
        || recurs
        || nobody_answers(tokens)
        || same_answer_again(tokens)
}

/// "Nobody answers", "personne ne m'a répondu", "nadie me responde"; not under a conditional
/// ("if no one answers the door").
pub(super) fn nobody_answers(tokens: &[String]) -> bool {
    let bridged = |from: usize, to: usize| {
        (from..to).all(|k| has(&words().frustration.reply_gap, &tokens[k]))
    };
    seq_ends(tokens, &words().frustration.nobody)
        .into_iter()
        .any(|end| {
            let start = end - 1;
            let conditional =
                (0..start).any(|k| has(&words().frustration.conditionals, &tokens[k]));
            !conditional
                && (end..tokens.len().min(end + 4))
                    .any(|v| has(&words().frustration.reply_verbs, &tokens[v]) && bridged(end, v))
        })
}

/// "You keep sending me the same FAQ link", "Sie schicken mir immer die gleiche Antwort",
/// "I keep asking": repetition the customer is tired of. A question ("can you send the same
/// link again?", "is it always the same link?") is not one.
pub(super) fn same_answer_again(tokens: &[String]) -> bool {
    if tokens.first().is_some_and(|t| {
        has(&words().frustration.question_openers, t) || has(&words().handover.modals, t)
    }) {
        return false;
    }
    let keep_doing = tokens.iter().enumerate().any(|(i, t)| {
        (t == "keep" || t == "keeps")
            && tokens[i + 1..tokens.len().min(i + 3)]
                .iter()
                .any(|n| has(&words().frustration.keep_doing, n))
    });
    let same_thing = near(
        tokens,
        &words().frustration.same,
        &words().frustration.reply_things,
        3,
    ) && tokens.iter().any(|t| has(&words().frustration.keeps, t));
    keep_doing || same_thing
}

/// The customer says they are asking again: "for the third time", "I already asked".
pub(super) fn asked_again(tokens: &[String]) -> bool {
    // "The second time I ordered it was fine" is not asking again: the ordinal needs "for
    // the"/"zum"/"pour la" before it or a verb of asking or writing in the message.
    let w = &words().frustration;
    let nth_time = tokens.iter().enumerate().any(|(i, t)| {
        has(&w.ordinals, t)
            && tokens.get(i + 1).is_some_and(|n| has(&w.time_words, n))
            && ((i.saturating_sub(3)..i)
                .any(|k| has(&w.for_words, &tokens[k]) || has(&["zum", "la"], &tokens[k]))
                // "third time my order is delayed": the thing that went wrong, again.
                || tokens
                    .iter()
                    .any(|t| has(&w.asked, t) || has(&w.asking, t) || has(&w.problems, t)))
    });
    nth_time
        || near(
            tokens,
            &words().frustration.already,
            &words().frustration.asked,
            3,
        )
        || near(tokens, &words().frustration.asked, &["already"], 2)
        || asked_n_times(tokens)
}

/// "I've asked twice now", "j'ai demandé trois fois", "schon zweimal gefragt", "he escrito
/// varias veces": a count of times within three words of a verb of having asked or written.
pub(super) fn asked_n_times(tokens: &[String]) -> bool {
    let counts = tokens.iter().enumerate().filter_map(|(i, t)| {
        if has(&words().frustration.count_one_word, t) {
            Some((i, i))
        } else if (has(&words().frustration.count_words, t)
            || t.parse::<u32>().is_ok_and(|n| (2..100).contains(&n)))
            && tokens
                .get(i + 1)
                .is_some_and(|n| has(&words().frustration.times_words, n))
        {
            Some((i, i + 1))
        } else {
            None
        }
    });
    counts.into_iter().any(|(start, end)| {
        let asked = |k: usize| {
            has(&words().frustration.asked, &tokens[k])
                || has(&words().frustration.asked_or_asking, &tokens[k])
        };
        (start.saturating_sub(3)..start).any(asked)
            || (end + 1..tokens.len().min(end + 4)).any(asked)
    })
}

/// A message that opens with exasperation: "Seriously??? 2 weeks", "En serio, ...".
pub(super) fn exasperated(text: &str) -> bool {
    text::clauses(text).first().is_some_and(|first| {
        words()
            .frustration
            .exasperation
            .iter()
            .any(|e| find_all(first, &phrase_tokens(e)).first() == Some(&0))
    })
}
