//! Families of handover requests and frustration that need more than a verb and a target:
//! callbacks and phone requests, asking for a real person, payment disputes, threats (public
//! reviews, consumer agencies, lawyers), cancelling everything, "do you even read", and a few
//! shapes of exasperation. Each family is a small grammar over normalised tokens (see
//! [`super::text`]) in the seven languages, not a list of sentences, and each is scoped to a
//! clause and checked for negation where a negation can turn it around.

use super::words::words;
use super::{find_all, has, is_negation, negated, phrase_tokens};

// ---------------------------------------------------------------------------------------------
// Callbacks and phone requests (handover, reason requested)
// ---------------------------------------------------------------------------------------------

/// Whether the message holds a phone number: at least nine digits in groups joined by single
/// spaces, dots, dashes or slashes (an optional leading "+", brackets allowed). Order numbers
/// are shorter; tracking numbers usually carry letters.
pub(super) fn has_phone_number(text: &str) -> bool {
    let mut digits = 0usize;
    let mut separators = 0usize;
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits += 1;
            separators = 0;
            if digits >= 9 {
                return true;
            }
        } else if matches!(c, ' ' | '.' | '-' | '/' | '(' | ')' | '+') {
            separators += 1;
            if separators > 2 {
                digits = 0;
            }
        } else {
            digits = 0;
            separators = 0;
        }
    }
    false
}

/// "Call me on 07700 900123", "can u ring me pls", "können Sie mich zurückrufen", "me pueden
/// llamar", "potete richiamarmi", "podem me ligar", "callback please": a call verb aimed at the
/// customer (a pronoun next to it, a clitic, or a phone number in the message), not negated,
/// not a courier's call and not "call me crazy".
pub(super) fn asks_for_callback(clause: &[String], phone_number: bool) -> bool {
    if clause
        .iter()
        .any(|t| has(&words().escalation.third_parties, t))
    {
        return false;
    }
    (0..clause.len()).any(|i| {
        let t = clause[i].as_str();
        let call = has(&words().escalation.call_words, t)
            || (phone_number && has(&words().escalation.contact_by_number, t));
        let attached = has(&words().escalation.call_me_words, t);
        if !call && !attached {
            return false;
        }
        let me_before = (i.saturating_sub(3)..i).any(|k| has(&words().escalation.me, &clause[k]));
        let me_after = clause
            .get(i + 1)
            .is_some_and(|n| has(&words().escalation.me, n))
            && !clause
                .get(i + 2)
                .is_some_and(|n| has(&words().escalation.call_me_idioms, n));
        // "call me back", "rappelez-moi", "llamarme"; or any call word beside a phone number
        // ("0612345679, appel svp").
        // "I want to call", "I need to phone someone": the customer wants a phone call.
        let wants = (i.saturating_sub(3)..i).any(|k| {
            has(
                &[
                    "want", "need", "wanna", "like", "veux", "voudrais", "mochte", "will",
                    "quiero", "voglio", "vorrei", "wil", "quero",
                ],
                &clause[k],
            )
        }) && call;
        // "My phone number is ...", "I missed a call from 07700 ...": the word is a noun, and a
        // number beside it is not a request to be called.
        let noun = clause
            .get(i + 1)
            .is_some_and(|n| has(&["number", "numero", "nummer", "no", "nr", "num"], n))
            || (i > 0 && has(&words().escalation.determiners, &clause[i - 1]));
        let aimed = attached || me_before || me_after || ((phone_number || wants) && !noun);
        // "Do you call before delivery?": a question about the shop's habits, not a request.
        let habit =
            i > 0 && has(&["do", "does", "will"], &clause[i - 1]) && !me_after && !me_before
                || clause.first().is_some_and(|f| f == "do" || f == "does");
        aimed && !habit && !negated_within(clause, i, 6)
    })
}

/// Whether a negation stands in the `window` words before `at` ("I don't need anyone to call
/// me"), or right at it; a negation before a pronoun is a question inversion ("can't you call
/// me?"), not a refusal.
fn negated_within(clause: &[String], at: usize, window: usize) -> bool {
    (at.saturating_sub(window)..=at).any(|k| {
        is_negation(clause, k)
            && !clause
                .get(k + 1)
                .is_some_and(|n| has(&words().handover.pronouns, n))
    })
}

// ---------------------------------------------------------------------------------------------
// A real person, a person on the phone, a person rather than a bot (reason requested)
// ---------------------------------------------------------------------------------------------

/// "I want a real person", "je peux avoir un vrai agent", "gibt es jemand echten", "someone
/// on the phone", "een mens ipv een bot": a person qualified as real, reachable by phone, or
/// opposed to the bot. The negation of the person itself ("no real person could ...") is
/// checked; identity questions ("are you a real person?") are ruled out by the caller.
pub(super) fn wants_a_real_person(clause: &[String]) -> bool {
    let person_at = |i: usize| {
        clause
            .get(i)
            .is_some_and(|t| has(&words().escalation.person, t))
    };
    for i in 0..clause.len() {
        if !has(&words().escalation.real, &clause[i]) {
            continue;
        }
        // "real person", "vrai agent", "jemand echten", "persona real"; not "real estate agent".
        let near = [i + 1]
            .into_iter()
            .chain(i.checked_sub(1))
            .find(|&k| person_at(k));
        if let Some(k) = near
            && !negated(clause, i.min(k), i.max(k))
        {
            return true;
        }
    }
    for phrase in words()
        .escalation
        .on_the_phone
        .iter()
        .map(|p| phrase_tokens(p))
    {
        for at in find_all(clause, &phrase) {
            // "I spoke to someone on the phone yesterday" tells what happened.
            let told =
                (at.saturating_sub(6)..at).any(|k| has(&words().escalation.talked, &clause[k]));
            if (at.saturating_sub(4)..at).any(person_at) && !negated(clause, at, at) && !told {
                return true;
            }
        }
    }
    // "a human, not a bot" / "een mens ipv een bot": person, then a contrast, then the bot.
    for i in 0..clause.len() {
        if !person_at(i) || negated(clause, i, i) {
            continue;
        }
        let contrast = (i + 1..clause.len().min(i + 4))
            .find(|&k| has(&words().escalation.instead, &clause[k]));
        if let Some(c) = contrast
            && (c + 1..clause.len().min(c + 4)).any(|k| has(&words().escalation.bot, &clause[k]))
        {
            return true;
        }
    }
    false
}

// ---------------------------------------------------------------------------------------------
// Frustration: disputes, threats, cancelling everything, "do you even read"
// ---------------------------------------------------------------------------------------------

/// "I'm disputing the payment with PayPal", "I've contacted my bank to do a chargeback",
/// "j'ai fait opposition auprès de ma banque", "ya he abierto una disputa en paypal",
/// "vou contestar a compra no cartão".
fn payment_dispute(tokens: &[String]) -> bool {
    if tokens
        .iter()
        .any(|t| has(&words().escalation.dispute_words, t))
    {
        return true;
    }
    let near_payment = |i: usize, before: usize, after: usize| {
        (i.saturating_sub(before)..tokens.len().min(i + after + 1))
            .any(|k| k != i && has(&words().escalation.payment, &tokens[k]))
    };
    (0..tokens.len()).any(|i| {
        let t = &tokens[i];
        (has(&words().escalation.dispute_verbs, t) && near_payment(i, 0, 4))
            || (has(&words().escalation.dispute_nouns, t) && near_payment(i, 4, 4))
            || (t == "charge" && tokens.get(i + 1).is_some_and(|n| n == "back"))
    })
}

/// "Going to report this on Trustpilot", "posting screenshots on twitter", "a 1 star review
/// everywhere", "ik ga een slechte review schrijven", "I'll be contacting the BBB", "vi
/// denuncio", "je vais contacter la DGCCRF", "ich schalte die Verbraucherzentrale ein".
fn threatens(text: &str, tokens: &[String]) -> bool {
    // A lawyer or an agency in a question is a plain question ("my lawyer friend recommended
    // you, do you ship to Malta?") unless the customer says what they are about to do.
    let intent = !text.contains('?') || tokens.iter().any(|t| has(&words().escalation.future, t));
    let authority = (intent
        && tokens
            .iter()
            .any(|t| has(&words().escalation.authorities, t)))
        || words()
            .escalation
            .authority_phrases
            .iter()
            .any(|p| !find_all(tokens, &phrase_tokens(p)).is_empty());
    // "1 star review", "bad review", "avis négatif" (the bad word on either side).
    // "1 star review", "bad review", "avis négatif" (the bad word on either side).
    let bad_review = (0..tokens.len()).any(|i| {
        has(&words().escalation.review, &tokens[i])
            && ((i.saturating_sub(2)..i).any(|k| has(&words().escalation.bad, &tokens[k]))
                || tokens.get(i + 1).is_some_and(|n| {
                    has(
                        &["negatif", "negative", "negativa", "negativo", "negatieve"],
                        n,
                    )
                }))
            && !negated(tokens, i, i)
    });
    // "Going to report this on Trustpilot", "I'm posting screenshots on twitter": an intent
    // to go public (not "can I share my code on facebook?").
    let public = (0..tokens.len()).any(|i| {
        has(&words().escalation.post, &tokens[i])
            && (i.saturating_sub(4)..i).any(|k| has(&words().escalation.future, &tokens[k]))
            && (i + 1..tokens.len().min(i + 8)).any(|k| has(&words().escalation.public, &tokens[k]))
    });
    authority || bad_review || public
}

/// "Cancel everything", "cancel every order", "cancelem tudo", "never buying from you again",
/// "nunca mais compro aqui", "I'm done with you lot".
fn gives_up_on_the_shop(tokens: &[String], clauses: &[Vec<String>]) -> bool {
    // An order, not a question: the cancel verb opens its clause (after "please", "just").
    let cancel_all = clauses.iter().any(|c| {
        let start = c
            .iter()
            .position(|t| !has(&["please", "pls", "just", "so", "then", "now", "and"], t))
            .unwrap_or(0);
        c.get(start)
            .is_some_and(|t| has(&words().escalation.cancel, t))
            && (start + 1..c.len().min(start + 4)).any(|k| has(&words().escalation.all, &c[k]))
    });
    let never_again = words().escalation.never_again.iter().any(|seq| {
        !find_all(
            tokens,
            &seq.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>(),
        )
        .is_empty()
    });
    // "never buying from you again": never, a buying verb, "again" within a few words.
    let never_buy = (0..tokens.len()).any(|i| {
        tokens[i] == "never"
            && tokens
                .get(i + 1)
                .is_some_and(|n| has(&words().escalation.buy, n) || n == "will" || n == "ll")
            && (i + 2..tokens.len().min(i + 7)).any(|k| tokens[k] == "again")
    }) || tokens
        .windows(2)
        .any(|w| w[0] == "never" && has(&["recommend", "recommending"], &w[1]));
    let done = words().escalation.done_with.iter().any(|seq| {
        !find_all(
            tokens,
            &seq.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>(),
        )
        .is_empty()
    });
    cancel_all || never_again || never_buy || done
}

/// "Do you even read what I write?", "are you even listening", "vous lisez au moins ce que
/// j'écris ?", "lesen Sie überhaupt, was ich schreibe?", "¿pero lees lo que te escribo?",
/// "ma leggete quello che scrivo?", "vocês leem o que eu escrevo?".
fn not_read(tokens: &[String]) -> bool {
    (0..tokens.len()).any(|i| {
        let you = has(&words().escalation.read_you, &tokens[i])
            || (has(&words().escalation.read, &tokens[i])
                && (i.saturating_sub(4)..tokens.len().min(i + 3))
                    .any(|k| has(&words().escalation.you, &tokens[k])));
        if !you {
            return false;
        }
        let even = (i.saturating_sub(2)..tokens.len().min(i + 4))
            .any(|k| has(&words().escalation.even, &tokens[k]));
        let wrote = (i + 1..tokens.len().min(i + 6)).any(|k| {
            has(&words().escalation.i_wrote, &tokens[k])
                || (has(
                    &["write", "wrote", "said", "say", "typed", "asked"],
                    &tokens[k],
                ) && tokens.get(k - 1).is_some_and(|p| p == "i"))
        });
        // "Did you read my message?" asks; "you didn't read my message" complains.
        let didnt = (i.saturating_sub(3)..i).any(|k| is_negation(tokens, k))
            && (i.saturating_sub(4)..i).any(|k| has(&["you", "u"], &tokens[k]))
            && tokens
                .first()
                .is_none_or(|f| !has(&["did", "do", "have", "can"], f));
        even || wrote || didnt
    }) || (0..tokens.len()).any(|i| {
        // "Is anybody reading this?"
        has(&["anybody", "anyone", "somebody", "someone"], &tokens[i])
            && tokens
                .get(i + 1)
                .is_some_and(|n| has(&["reading", "read", "listening"], n))
    })
}

/// "You don't understand anything", "vous ne comprenez rien", "Sie verstehen nicht",
/// "no entiendes nada", "non capisci niente", "je begrijpt het niet", "você não entende":
/// the customer saying the bot does not understand (not "I don't understand the chart").
fn not_understood(tokens: &[String]) -> bool {
    (0..tokens.len()).any(|i| {
        if !has(&words().escalation.understand, &tokens[i])
            || (tokens[i] == "get" && tokens.get(i + 1).is_none_or(|n| n != "it"))
        {
            return false;
        }
        // Second-person forms say "you" by themselves ("no entiendes nada", "non capisci").
        let you = has(
            &[
                "comprenez",
                "verstehst",
                "entiendes",
                "entienden",
                "entendeis",
                "capisci",
                "capite",
                "begrijpt",
                "snapt",
                "entendem",
            ],
            &tokens[i],
        ) || (i.saturating_sub(4)..tokens.len().min(i + 2))
            .any(|k| has(&words().escalation.you_forms, &tokens[k]));
        let not = (i.saturating_sub(3)..tokens.len().min(i + 3)).any(|k| is_negation(tokens, k))
            || (i + 1..tokens.len().min(i + 3)).any(|k| {
                has(
                    &[
                        "nothing", "rien", "nichts", "nada", "niente", "nulla", "niks", "niets",
                    ],
                    &tokens[k],
                )
            });
        // "Do you understand?", "don't you understand that ...": a question is still a question.
        let question = tokens
            .first()
            .is_some_and(|f| has(&["do", "does", "can", "did"], f));
        you && not && !question
    })
}

/// "Worst company ever", "worst shop I've used", "le pire service", "der schlechteste Laden",
/// "el peor servicio", "il peggiore negozio", "a pior loja".
fn worst_ever(tokens: &[String]) -> bool {
    (0..tokens.len()).any(|i| {
        has(&words().escalation.worst, &tokens[i])
            && (i + 1..tokens.len().min(i + 4)).any(|k| has(&words().escalation.what, &tokens[k]))
    })
}

/// "The last time I order from you", "la dernière fois que je commande chez vous", "das letzte
/// Mal, dass ich hier bestelle", "la última vez que compro aquí".
fn last_time_buying(tokens: &[String]) -> bool {
    (0..tokens.len().saturating_sub(1)).any(|i| {
        has(&words().escalation.last, &tokens[i])
            && has(&words().frustration.time_words, &tokens[i + 1])
            && (i + 2..tokens.len().min(i + 7))
                .any(|k| has(&words().escalation.order_verbs, &tokens[k]))
    })
}

/// "I've raised a claim with PayPal", "paypal case opened": a buyer-protection claim.
fn payment_claim(tokens: &[String]) -> bool {
    const PROVIDER: &[&str] = &["paypal", "klarna", "amex", "visa", "mastercard"];
    (0..tokens.len()).any(|i| {
        has(PROVIDER, &tokens[i])
            && (i.saturating_sub(3)..tokens.len().min(i + 4)).any(|k| {
                has(&words().escalation.claim, &tokens[k])
                    && !(k > 0 && has(&["in", "en", "im", "no", "nel"], &tokens[k - 1]))
            })
    })
}

/// "A waste of (my) time", "perte de temps", "Zeitverschwendung", "pérdida de tiempo",
/// "perdita di tempo", "tijdverspilling", "perda de tempo".
fn waste_of_time(tokens: &[String]) -> bool {
    tokens.iter().any(|t| {
        has(
            &[
                "zeitverschwendung",
                "tijdverspilling",
                "timewaste",
                "timewaster",
            ],
            t,
        )
    }) || (0..tokens.len()).any(|i| {
        has(&words().escalation.waste, &tokens[i])
            && (i + 1..tokens.len().min(i + 4))
                .any(|k| has(&words().escalation.waste_time, &tokens[k]))
    })
}

/// "You've ruined my daughter's birthday", "vous avez gâché", "ihr habt ... ruiniert": the
/// shop blamed for ruining something.
fn blames_for_ruin(tokens: &[String]) -> bool {
    (0..tokens.len()).any(|i| {
        has(&words().escalation.ruined, &tokens[i])
            && (i.saturating_sub(4)..i).any(|k| has(&words().escalation.ruin_you, &tokens[k]))
    })
}

/// "Makes no sense", "n'a aucun sens", "ergibt keinen Sinn", "no tiene sentido", "non ha
/// senso", "slaat nergens op", "não faz sentido": only as a statement (a question with it is
/// still a question: "the size chart makes no sense, is M a 10?").
fn nonsense(text: &str, tokens: &[String]) -> bool {
    !text.contains('?')
        && words()
            .escalation
            .nonsense
            .iter()
            .any(|p| !find_all(tokens, &phrase_tokens(p)).is_empty())
}

/// "Oh very helpful", "yeah really useful", "great, another automated answer", "super,
/// toujours rien": praise that a sceptical opener or a letdown turns around, in a message with
/// no thanks in it.
fn sarcastic_praise(tokens: &[String]) -> bool {
    if tokens.iter().any(|t| has(&words().frustration.thanks, t)) {
        return false;
    }
    let sceptic = tokens
        .first()
        .is_some_and(|t| has(&words().escalation.sceptic, t))
        && tokens.windows(2).take(4).any(|w| {
            has(&words().escalation.so_words, &w[0]) && has(&words().escalation.praise, &w[1])
        });
    let praised = tokens
        .iter()
        .take(3)
        .any(|t| has(&words().escalation.praise, t));
    let letdown = tokens.iter().any(|t| has(&words().frustration.nothing, t))
        || tokens
            .windows(2)
            .any(|w| w[0] == "another" && has(&words().escalation.canned, &w[1]));
    sceptic || (praised && letdown)
}

/// Emoji of anger or contempt: a frustration signal on their own ("oh brilliant, so helpful 🙄").
const ANGRY_EMOJI: &[char] = &['🙄', '😡', '😠', '🤬', '😤', '🖕', '👎', '💩', '🤡'];

/// The frustration families of this module found in `text`, by signal name: `dispute`,
/// `threat`, `gives_up`, `not_read`, `complaint` (waste of time, ruined, nonsense) and
/// `angry_emoji`.
pub(super) fn frustration_families(text: &str, tokens: &[String]) -> Vec<&'static str> {
    let clauses = super::text::clauses(text);
    let mut signals = Vec::new();
    if payment_dispute(tokens) || payment_claim(tokens) {
        signals.push("dispute");
    }
    if threatens(text, tokens) {
        signals.push("threat");
    }
    if gives_up_on_the_shop(tokens, &clauses) || last_time_buying(tokens) {
        signals.push("gives_up");
    }
    if not_read(tokens) || not_understood(tokens) {
        signals.push("not_read");
    }
    if waste_of_time(tokens)
        || blames_for_ruin(tokens)
        || nonsense(text, tokens)
        || sarcastic_praise(tokens)
        || worst_ever(tokens)
    {
        signals.push("complaint");
    }
    if text.chars().any(|c| ANGRY_EMOJI.contains(&c)) {
        signals.push("angry_emoji");
    }
    signals
}
