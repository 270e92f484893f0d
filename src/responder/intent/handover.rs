//! Requests for a person: the clause-by-clause grammar of (a) explicit phrases, (b) a request or
//! talk verb then a target, (c) a clause made of a target and filler, (d) asking whether someone
//! is there, (e) a person asked to act, (f) refusing to talk to the bot and (g) a person the
//! customer can talk to, with identity and description questions, other people's agents and
//! compounds ruled out (see the module above for examples).

use super::text;
use super::words::words;
use super::{IntentConfig, escalation, find_all, has, negated, phrase_tokens};

pub(super) fn is_target(clause: &[String], i: usize, weak_allowed: bool) -> bool {
    let t = clause[i].as_str();
    if clause
        .get(i + 1)
        .is_some_and(|n| has(&words().handover.compound_heads, n))
    {
        return false;
    }
    if i > 0 {
        let before = clause[i - 1].as_str();
        if has(&words().handover.other_possessives, before)
            || (has(&words().handover.in_person, before) && has(&words().handover.person_words, t))
        {
            return false;
        }
    }
    if t == "agent" || t == "agents" || t == "agente" || t == "agentes" {
        if i > 0 && has(&words().handover.agent_qualifiers, &clause[i - 1]) {
            return false;
        }
        // "agent de voyage", "agente de aduanas": a qualifier after the word.
        if clause
            .get(i + 1)
            .is_some_and(|n| n == "de" || n == "di" || n == "da")
            && clause
                .get(i + 2)
                .is_some_and(|n| !has(&["service", "servicio", "servizio", "atendimento"], n))
        {
            return false;
        }
        return true;
    }
    has(&words().handover.strong_targets, t)
        || (weak_allowed && has(&words().handover.weak_targets, t))
}

/// "Are you a real person?", "am I talking to a bot?": asking what the bot is, not for a person.
/// "Are you able to connect me to a human?" is still a request.
pub(super) fn is_identity_question(clause: &[String]) -> bool {
    words().handover.identity_starts.iter().any(|start| {
        if clause.len() <= start.len() || clause.iter().zip(start.iter()).any(|(a, b)| a != b) {
            return false;
        }
        let next = clause[start.len()..]
            .iter()
            .find(|t| !has(&words().handover.identity_skip, t));
        next.is_some_and(|t| {
            has(&words().handover.identity_words, t) || has(&words().handover.strong_targets, t)
        })
    })
}

/// "Is the model in the photo a real person?": a question describing a thing, not a request,
/// unless it talks of talking or of someone being available.
pub(super) fn is_description_question(clause: &[String]) -> bool {
    clause.len() >= 2
        && has(&words().handover.copulas, &clause[0])
        && has(&words().handover.determiners, &clause[1])
        && !clause.iter().any(|t| {
            has(&words().handover.talk_verbs, t)
                || has(&["available", "online", "there", "verfugbar"], t)
        })
}

/// Whether `a` and `b` differ by at most one edit (insert, delete, substitute, swap).
pub(super) fn one_edit_apart(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a == b {
        return true;
    }
    let (short, long) = if a.len() <= b.len() {
        (&a, &b)
    } else {
        (&b, &a)
    };
    match long.len() - short.len() {
        0 => {
            let diff: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
            diff.len() == 1
                || (diff.len() == 2
                    && diff[1] == diff[0] + 1
                    && a[diff[0]] == b[diff[1]]
                    && a[diff[1]] == b[diff[0]])
        }
        1 => {
            let first = (0..short.len())
                .find(|&i| short[i] != long[i])
                .unwrap_or(short.len());
            short[first..] == long[first + 1..]
        }
        _ => false,
    }
}

/// A misspelt strong target ("humn", "agnet", "opertor"): only after a talk verb, where
/// little else fits, and only for words of five letters or more so that short words do not
/// collide ("argent" is not "agent" after a request verb).
pub(super) fn misspelt_target(token: &str) -> bool {
    token.chars().count() >= 4
        && !has(&words().handover.strong_targets, token)
        && words()
            .handover
            .strong_targets
            .iter()
            .any(|t| t.chars().count() >= 5 && one_edit_apart(token, t))
}

/// "Is there anyone real there?", "hay alguien?", "c'è qualcuno in carne e ossa?": asking
/// whether a person is present is asking for one.
fn asks_whether_someone_is_there(clause: &[String]) -> bool {
    // "Is someone from your team around on Saturday?" asks about opening hours.
    if clause.iter().any(|t| has(&words().handover.later, t)) {
        return false;
    }
    words().handover.presence.iter().any(|open| {
        let open: Vec<String> = open.iter().map(|w| (*w).to_owned()).collect();
        // An opening may end with the person ("is anyone working today").
        let person_in_open = open
            .last()
            .is_some_and(|w| has(&words().handover.someone, w));
        find_all(clause, &open).into_iter().any(|at| {
            let from = at + open.len() - usize::from(person_in_open);
            (from..clause.len().min(from + 4)).any(|j| {
                let person =
                    has(&words().handover.someone, &clause[j]) || is_target(clause, j, false);
                let follows_ok = clause.get(j + 1).is_none_or(|n| {
                    has(&words().handover.presence_follow, n) || has(&words().handover.someone, n)
                });
                person && follows_ok && !negated(clause, at, j)
            })
        })
    })
}

/// "Can someone call me?", "could a member of staff look at my order", "kann mich jemand
/// anrufen", "alguém pode ligar-me": a modal, a person as subject and an action a person does
/// for the customer, in any order within the clause.
fn asks_person_to_act(clause: &[String]) -> bool {
    let modal = clause.iter().position(|t| has(&words().handover.modals, t));
    let person = (0..clause.len()).find(|&j| {
        has(&words().handover.someone, &clause[j])
            || (is_target(clause, j, true) && !has(&["service", "support"], &clause[j]))
    });
    let action = clause
        .iter()
        .position(|t| has(&words().handover.person_actions, t));
    // "a person I can send it to": the customer is the one acting.
    let customer_acts = modal.is_some_and(|m| {
        let me = |i: usize| {
            clause
                .get(i)
                .is_some_and(|t| has(&words().handover.pronouns, t) && t != "you")
        };
        (m > 0 && me(m - 1)) || me(m + 1)
    });
    match (modal, person, action) {
        (Some(m), Some(p), Some(a)) if !customer_acts => {
            let (lo, hi) = (m.min(p).min(a), m.max(p).max(a));
            // A long frame ("would it be possible for a colleague of yours to have a look")
            // is fine as long as the person and the action stay close.
            (hi - lo <= 8 || (p.abs_diff(a) <= 6 && hi - lo <= 14)) && !negated(clause, lo, hi)
        }
        _ => false,
    }
}

/// "I need someone from customer service to call me", "necesito que alguien me llame",
/// "j'ai besoin que quelqu'un me rappelle", "ik wil dat iemand mij terugbelt": a request verb,
/// then a person, then a verb of getting in touch aimed at the customer. The negation is seen
/// from the request verb ("I don't need anyone to call me").
fn wants_someone_to_get_in_touch(clause: &[String]) -> bool {
    (0..clause.len())
        .filter(|&r| has(&words().handover.request_verbs, &clause[r]))
        .any(|r| {
            (r + 1..clause.len().min(r + 7))
                .filter(|&j| {
                    is_target(clause, j, true) && !has(&["service", "support"], &clause[j])
                })
                .any(|j| {
                    (j + 1..clause.len().min(j + 7)).any(|v| {
                        let in_touch = has(&words().handover.contact_forms, &clause[v])
                            && (has(&words().handover.me_us, &clause[v - 1])
                                || clause
                                    .get(v + 1)
                                    .is_some_and(|n| has(&words().handover.me_us, n)));
                        // "I need somebody from the team to look at this".
                        let to_act = has(&words().handover.person_actions, &clause[v])
                            && has(&words().handover.to_do, &clause[v - 1]);
                        (in_touch || to_act) && !negated(clause, r, v)
                    })
                })
        })
}

/// "I'm not talking to a bot", "no bots please", "I refuse to chat with a robot", "je ne veux
/// pas parler à une machine": a negation or a refusal, then the bot within a few words, either
/// right after it or with a talk or request verb between or just after ("not a bot" alone says
/// what someone is, not what they want).
fn refuses_the_bot(clause: &[String]) -> bool {
    let h = &words().handover;
    let last_person = (0..clause.len())
        .rev()
        .find(|&k| is_target(clause, k, true));
    (0..clause.len())
        .filter(|&i| super::is_negation(clause, i) || has(&h.refusals, &clause[i]))
        .any(|i| {
            (i + 1..clause.len().min(i + 7)).any(|j| {
                let verb = |t: &String| {
                    has(&h.talk_verbs, t) || has(&h.request_verbs, t) || has(&h.final_verbs, t)
                };
                // German and Dutch put the verb last: "nicht mit einem Bot reden". A person
                // after it makes the word something else ("non voglio parlare ai tuoi
                // operatori": "ai" is "to the").
                has(&words().escalation.bot, &clause[j])
                    && (j == i + 1
                        || clause[i + 1..j].iter().any(verb)
                        || clause[j + 1..clause.len().min(j + 3)].iter().any(verb))
                    && last_person.is_none_or(|k| k <= j)
            })
        })
}

/// "This is too complicated for a bot", "trop compliqué pour un robot", "te ingewikkeld voor een
/// chatbot": the customer judging the question beyond the bot asks for a person.
fn too_much_for_the_bot(clause: &[String]) -> bool {
    let h = &words().handover;
    (0..clause.len())
        .filter(|&i| has(&h.too, &clause[i]))
        .any(|i| {
            (i + 1..clause.len().min(i + 5))
                .filter(|&f| has(&h.for_whom, &clause[f]))
                .any(|f| {
                    let bot = |k: usize| {
                        has(&words().escalation.bot, &clause[k]) || has(&h.chats, &clause[k])
                    };
                    (f + 1..clause.len().min(f + 4))
                        .take_while(|&k| !bot(k))
                        .all(|k| has(&h.skip, &clause[k]) || has(&h.articles, &clause[k]))
                        && (f + 1..clause.len().min(f + 4)).any(bot)
                        && !negated(clause, i, f)
                })
        })
}

/// "I'd rather sort this out with someone", "ich kläre das lieber mit jemandem", "prefiero
/// tratarlo con alguien del equipo": preferring a person.
fn prefers_someone(clause: &[String]) -> bool {
    let h = &words().handover;
    (0..clause.len())
        .filter(|&i| has(&h.preference, &clause[i]))
        .any(|i| {
            (i + 1..clause.len().min(i + 9)).any(|j| {
                (has(&h.someone, &clause[j]) || is_target(clause, j, false))
                    && !negated(clause, i, j)
            })
        })
}

/// "Any staff I could speak with?", "someone I can talk to", "quelqu'un à qui je peux parler":
/// a person, then the customer able to talk to them. "The agent I was talking to" has no "can"
/// and stays a mention.
fn person_to_talk_to(clause: &[String]) -> bool {
    let h = &words().handover;
    (0..clause.len())
        .filter(|&j| has(&h.someone, &clause[j]) || is_target(clause, j, true))
        .any(|j| {
            (j + 1..clause.len().min(j + 4))
                .filter(|&p| has(&h.pronouns, &clause[p]) && !has(&["you", "u"], &clause[p]))
                .any(|p| {
                    clause.get(p + 1).is_some_and(|a| has(&h.able, a))
                        && (p + 2..clause.len().min(p + 5)).any(|v| has(&h.talk_verbs, &clause[v]))
                        && !negated(clause, j, p + 1)
                })
        })
}

/// Whether one clause asks for a person; `phone_number`: the message holds one (a call verb
/// then asks for a callback).
fn clause_requests_person(clause: &[String], extra: &[Vec<String>], phone_number: bool) -> bool {
    if is_identity_question(clause) || is_description_question(clause) {
        return false;
    }
    if asks_whether_someone_is_there(clause)
        || asks_person_to_act(clause)
        || wants_someone_to_get_in_touch(clause)
        || escalation::asks_for_callback(clause, phone_number)
        || escalation::wants_a_real_person(clause)
        || refuses_the_bot(clause)
        || person_to_talk_to(clause)
        || too_much_for_the_bot(clause)
        || prefers_someone(clause)
    {
        return true;
    }
    for phrase in words()
        .handover
        .handover_phrases
        .iter()
        .map(|p| phrase_tokens(p))
        .chain(extra.iter().cloned())
    {
        // A phrase that holds its own negation ("not talking to a bot") is negated only by
        // what comes before it.
        let own_negation = (0..phrase.len()).any(|i| super::is_negation(&phrase, i));
        for start in find_all(clause, &phrase) {
            let negated = if own_negation {
                start > 0 && negated(clause, start - 1, start - 1)
            } else {
                negated(clause, start, start + phrase.len() - 1)
            };
            if !negated {
                return true;
            }
        }
    }
    // (b) verb then target within a few words; the earliest verb before the target anchors the
    // negation check, so "I don't want to talk to a human" is seen from "want".
    const WINDOW: usize = 6;
    for j in 0..clause.len() {
        let from = j.saturating_sub(WINDOW);
        let verbs: Vec<(usize, bool)> = (from..j)
            .filter_map(|i| {
                let t = clause[i].as_str();
                if has(&words().handover.talk_verbs, t) {
                    Some((i, true))
                } else if has(&words().handover.request_verbs, t) {
                    Some((i, false))
                } else {
                    None
                }
            })
            .collect();
        let talk_before = verbs.iter().any(|(_, talk)| *talk);
        // "I want someone who can read my messages": a relative clause makes "someone" a person.
        let someone_who = has(&words().handover.someone, &clause[j])
            && clause
                .get(j + 1)
                .is_some_and(|n| has(&words().handover.relatives, n));
        let target = is_target(clause, j, talk_before || someone_who)
            || (talk_before && misspelt_target(&clause[j]));
        if let Some(&(first, _)) = verbs.first()
            && target
            && !negated(clause, first, j)
        {
            return true;
        }
        // German/Dutch word order: "(mit einem) Mitarbeiter sprechen".
        if is_target(clause, j, true) {
            let after = (j + 1..clause.len().min(j + 4))
                .find(|&i| has(&words().handover.final_verbs, &clause[i]));
            if let Some(v) = after {
                let weak_ok = clause[v] != "nodig";
                if is_target(clause, j, weak_ok) && !negated(clause, j, v) {
                    return true;
                }
            }
        }
    }
    // "Can someone call me?": a person asked to get in touch.
    for j in 0..clause.len() {
        if !is_target(clause, j, true) {
            continue;
        }
        let callback = (j + 1..clause.len().min(j + 6)).find(|&i| {
            has(&words().handover.callback_verbs, &clause[i])
                && clause.get(i + 1).is_some_and(|n| n == "me" || n == "us")
        });
        if let Some(v) = callback
            && !negated(clause, j, v)
        {
            return true;
        }
    }
    // (c) a clause that is only a request: "agent", "human please", "un conseiller svp".
    clause.len() <= 6
        && clause
            .iter()
            .any(|t| has(&words().handover.strong_targets, t))
        && clause.iter().enumerate().all(|(i, t)| {
            has(&words().handover.filler, t)
                || (has(&words().handover.strong_targets, t) && is_target(clause, i, false))
        })
}

/// Whether `text` asks to talk to a person (any clause, any supported language, or one of the
/// configured extra phrases), ignoring negated mentions ("no need for an agent").
pub fn is_handover_request(text: &str, cfg: &IntentConfig) -> bool {
    let extra: Vec<Vec<String>> = cfg
        .extra_handover_phrases
        .iter()
        .map(|p| phrase_tokens(p))
        .filter(|p| !p.is_empty())
        .collect();
    let phone_number = escalation::has_phone_number(text);
    text::clauses(&join_compounds(text))
        .iter()
        .any(|clause| clause_requests_person(clause, &extra, phone_number))
}

/// Removes the hyphen of compounds ("person-sized" -> "personsized") so their parts are not
/// read as words of a request; a hyphen before a pronoun ("passez-moi", "ligar-me") stays.
pub(super) fn join_compounds(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        if c == '-' && i > 0 && chars[i - 1].is_alphabetic() {
            let next: String = chars[i + 1..]
                .iter()
                .take_while(|c| c.is_alphanumeric())
                .collect();
            let next = text::fold(&next);
            if !next.is_empty() && !has(&words().handover.clitics, &next) {
                continue;
            }
        }
        out.push(c);
    }
    out
}
