//! Handover requests and frustration, detected from the customer's words alone.
//!
//! Pure and deterministic: phrase lists in English, French, German, Spanish, Italian, Dutch and
//! Portuguese (extensible from config), matched on normalised tokens (lowercase, no diacritics,
//! punctuation as breaks) and clause by clause, so that negations ("I don't need an agent",
//! "sans parler à un conseiller") stay in their clause. It must not decide what a handover does;
//! the engine turns [`Intent`] into a handover reason.
//!
//! A handover request is (a) an explicit phrase ("real person", "echter Mensch"), (b) a request
//! or talk verb followed within a few words by a target ("speak ... to a human", "parler à un
//! conseiller"; German and Dutch infinitives may follow the target: "mit einem Mitarbeiter
//! sprechen"), or (c) a clause made only of a target and filler ("agent", "human please").
//! Weak targets (someone, support, customer service) count only after talk verbs, so "how do I
//! contact customer service" stays a question for the knowledge base, and qualified agents
//! ("shipping agent", "customs agent") are not people to hand over to. Also requests:
//! (d) asking whether someone is there ("is there anyone real there", "hay alguien"), (e) a
//! modal with a person as subject and an action for the customer ("can someone call me",
//! "kann mich jemand anrufen"). Not requests: other people's agents ("my agent at the bank"),
//! "in person", compounds ("person-sized", "human hair"), descriptions ("is the model a real
//! person?").
//!
//! Frustration is recognised by phrase families rather than fixed strings where a family
//! exists: a negation next to a help word in either order, "thanks for nothing", "is a joke",
//! a problem that persists ("still not") or comes back ("wrong ... again"), asking again
//! ("for the third time", "I already asked", "asked twice now"), the same answer over and over
//! ("you keep sending me the same link"), nobody answering ("nadie me responde"), the nth time
//! something goes wrong ("third time my order is delayed"), and an earlier question repeated
//! after an answer.

use super::smalltalk::{self, SmallTalk};
use super::text;

mod escalation;
mod frustration;
mod handover;
mod words;

use frustration::STRONG_SIGNALS;
pub use frustration::frustration_signals;
pub use handover::is_handover_request;
use words::words;

/// What the customer's turn asks for, before any answer is searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// The customer asked for a person.
    HandoverRequested,
    /// The customer is angry, insulting, shouting or repeating an unanswered question.
    Frustrated,
    /// Only greetings, thanks, acknowledgements or goodbyes: never a handover, never a
    /// question for the knowledge base.
    SmallTalk(SmallTalk),
    /// None of these: answer the question.
    None,
}

/// Extra phrases from the config (matched after normalisation, on word boundaries).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IntentConfig {
    pub extra_handover_phrases: Vec<String>,
    pub extra_frustration_phrases: Vec<String>,
}

fn has<S: AsRef<str>>(list: &[S], token: &str) -> bool {
    list.iter().any(|w| w.as_ref() == token)
}

/// Positions where the token sequence `phrase` starts in `tokens`.
fn find_all(tokens: &[String], phrase: &[String]) -> Vec<usize> {
    if phrase.is_empty() || phrase.len() > tokens.len() {
        return Vec::new();
    }
    (0..=tokens.len() - phrase.len())
        .filter(|&i| tokens[i..i + phrase.len()] == *phrase)
        .collect()
}

fn phrase_tokens(phrase: &str) -> Vec<String> {
    text::tokens(phrase)
}

/// Whether token `i` negates. "t" does only as the tail of "n't" (after "don", "can",
/// "isn"...): in French "y a-t-il quelqu'un" it is a euphonic letter.
fn is_negation(tokens: &[String], i: usize) -> bool {
    has(&words().handover.neg, &tokens[i])
        && (tokens[i] != "t" || i > 0 && tokens[i - 1].ends_with('n'))
}

/// Whether the request spanning `start..=end` of a clause is negated: a negation inside the
/// span ("I want no agent"), or right before it once articles, adverbs and verbs are skipped
/// ("I don't really want to talk to ..."). A negation followed by a pronoun is a question
/// inversion ("can't I talk to someone?"), not a refusal.
fn negated(clause: &[String], start: usize, end: usize) -> bool {
    let is_neg = |i: usize| {
        is_negation(clause, i)
            && !clause
                .get(i + 1)
                .is_some_and(|next| has(&words().handover.pronouns, next))
    };
    if (start..=end.min(clause.len().saturating_sub(1))).any(is_neg) {
        return true;
    }
    let mut i = start;
    let mut looked = 0;
    while i > 0 && looked < 5 {
        i -= 1;
        looked += 1;
        if is_neg(i) {
            return true;
        }
        let t = clause[i].as_str();
        if !(has(&words().handover.skip, t)
            || has(&words().handover.request_verbs, t)
            || has(&words().handover.talk_verbs, t))
        {
            return false;
        }
    }
    false
}

/// Whether `message` repeats one of `previous` (the same question asked again). Both must be
/// real questions (at least 3 words besides pleasantries, so "thanks!" twice is not a repeat),
/// and their topic words (the knowledge base's query terms: no stopwords, no numbers) must
/// overlap by at least 60% (Jaccard): "where is my order???" repeats "Where is my order 1234?",
/// "do you also ship to Austria?" does not repeat "do you ship to Germany?".
fn repeats(message: &str, previous: &[String]) -> bool {
    // The whole message, and each clause on its own: "where is my order, I asked yesterday"
    // repeats "where is my order 5521?" in its first clause.
    let pieces = |m: &str| {
        let mut all = vec![m.to_owned()];
        all.extend(text::clauses(m).iter().map(|c| c.join(" ")));
        all
    };
    let earlier: Vec<String> = previous.iter().flat_map(|p| pieces(p)).collect();
    pieces(message).iter().any(|m| repeats_one(m, &earlier))
}

fn repeats_one(message: &str, previous: &[String]) -> bool {
    let meaningful = |s: &str| {
        text::tokens(s)
            .iter()
            .filter(|t| !has(&words().frustration.pleasantries, t))
            .count()
            >= 3
    };
    if !meaningful(message) {
        return false;
    }
    let a = super::kb::query_terms(message);
    if a.is_empty() {
        return false;
    }
    previous.iter().any(|p| {
        if !meaningful(p) {
            return false;
        }
        let b = super::kb::query_terms(p);
        let common = a.iter().filter(|t| b.contains(t)).count();
        let union = a.len() + b.len() - common;
        common * 10 >= union * 6
    })
}

/// Whether `message` says it asks again ("I asked when, not how long"): a rewording that
/// [`repeats`] cannot see as the same question.
fn asks_again(message: &str) -> bool {
    let tokens = text::tokens(message);
    words()
        .frustration
        .reask
        .iter()
        .any(|phrase| !find_all(&tokens, &phrase_tokens(phrase)).is_empty())
}

/// Classifies a turn (the customer's unanswered messages). A request for a person wins over
/// frustration (both hand over; "requested" is what the customer said). Frustration is any
/// strong signal, or shouting / "!!!" in a message without a positive word, or a message
/// repeating an earlier customer message (or saying it asks again) after the bot already
/// answered. Small talk comes
/// last: "thanks for nothing" is frustration, "thanks, but I want a person" a request.
pub fn classify(
    turn_messages: &[String],
    previous_customer_messages: &[String],
    bot_answered_before: bool,
    cfg: &IntentConfig,
) -> Intent {
    if turn_messages.iter().any(|m| is_handover_request(m, cfg)) {
        return Intent::HandoverRequested;
    }
    let frustrated = turn_messages.iter().any(|m| {
        let signals = frustration_signals(m, cfg);
        let positive = text::tokens(m)
            .iter()
            .any(|t| has(&words().frustration.positive, t));
        signals.iter().any(|s| has(STRONG_SIGNALS, s))
            || (!signals.is_empty() && !positive)
            || (bot_answered_before
                && !previous_customer_messages.is_empty()
                && (repeats(m, previous_customer_messages) || asks_again(m)))
    });
    if frustrated {
        Intent::Frustrated
    } else if let Some(talk) = smalltalk::turn_small_talk(turn_messages) {
        Intent::SmallTalk(talk)
    } else {
        Intent::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::{Confusion, Expect, IntentClass, ratio};
    use serde::Deserialize;

    fn cfg() -> IntentConfig {
        IntentConfig::default()
    }

    fn one(text: &str) -> Intent {
        classify(&[text.to_owned()], &[], false, &cfg())
    }

    /// Whether each text is a handover request is `want` (a failure names the text).
    fn requests_are(want: bool, texts: &[&str]) {
        for text in texts {
            assert_eq!(is_handover_request(text, &cfg()), want, "{text}");
        }
    }

    /// Every text is classified as `want` (a failure names every text that is not).
    fn all_are(want: Intent, texts: &[&str]) {
        let wrong: Vec<(&str, Intent)> = texts
            .iter()
            .map(|t| (*t, one(t)))
            .filter(|(_, got)| *got != want)
            .collect();
        assert!(wrong.is_empty(), "want {want:?}: {wrong:#?}");
    }

    #[test]
    fn preferring_someone_or_a_question_beyond_the_bot_is_a_request() {
        requests_are(
            true,
            &[
                "I'd rather sort this out with someone tbh",
                "ich kläre das lieber telefonisch mit jemandem",
                "prefiero tratarlo con alguien del equipo",
                "this is too complicated for a bot",
                "c'est trop compliqué pour un robot",
                "das ist mir zu kompliziert für einen Chat",
                "i need somebody from the team to look at this",
                "is anybody actually working today",
                "any humans here",
                "get me someone else",
                "please escalate",
                "can a staff member take over",
                "bitte rufen Sie mich an",
            ],
        );
        requests_are(
            false,
            &[
                "Is someone from your team around on Saturday afternoon?",
                "is anyone else having trouble with the checkout",
                "I spoke to someone on the phone yesterday, is my address changed?",
                "i'd rather have the blue one than the green one",
                "is it too big for a child of ten",
                "i need the jacket to look smart for a wedding",
            ],
        );
    }

    #[test]
    fn mild_self_directed_or_delighted_words_are_not_frustration() {
        all_are(
            Intent::None,
            &[
                "the size guide is kind of useless for trousers, is the inseam listed anywhere",
                "sorry if this is dumb but where do I enter the promo code",
                "sorry voor de domme vraag maar waar vul ik de kortingscode in",
                "I'm furious with myself, I typed the wrong address, can I change it?",
                "wtf these prices are so good, is shipping free over 50",
                "holy shit the parka is gorgeous, when is it restocking in M",
            ],
        );
        all_are(
            Intent::Frustrated,
            &[
                "this is useless",
                "you are stupid",
                "wtf is going on with my order",
                "am i talking to a wall??",
                "I'm going to the police, you took my money and sent nothing",
                "Vous vous fichez de moi ? J'ai été débitée deux fois.",
                "Vergognatevi!",
                "esto es una tomadura de pelo, tres semanas esperando",
                "Na toll, danke für gar nichts.",
                "disputing this with my credit card company",
                "klarna dispute opened",
                "you've got to be kidding me",
            ],
        );
    }

    #[test]
    fn explicit_requests_for_a_person_are_handovers() {
        requests_are(
            true,
            &[
                "Can I talk to a person?",
                "human please",
                "AGENT",
                "I want to speak to a real person",
                "connect me with support",
                "Je voudrais parler à un conseiller",
                "Ich möchte mit einem Mitarbeiter sprechen",
                "Quiero hablar con un agente",
                "Vorrei parlare con un operatore",
                "Ik wil met een medewerker spreken",
                "Quero falar com um atendente",
            ],
        );
    }

    #[test]
    fn refusing_the_bot_asks_for_a_person() {
        requests_are(
            true,
            &[
                "i'm not talking to a bot",
                "not talking to a machine about my money",
                "I refuse to chat with a robot",
                "no bots please",
                "I don't want to talk to a machine",
                "sick of talking to a computer",
                "je ne veux pas parler à une machine",
                "j'en ai marre de parler à un robot",
                "ich will nicht mit einem Bot reden",
                "no quiero hablar con un bot",
                "non voglio parlare con una macchina",
                "ik wil niet met een robot praten",
                "não quero falar com um robô",
            ],
        );
        requests_are(
            false,
            &[
                "I'm not a bot, why does the checkout keep asking?",
                "the bot did not understand my question about sizes",
                "are you not a bot?",
                "is the robot vacuum in stock",
                "non voglio parlare ai vostri operatori, solo sapere la taglia",
            ],
        );
    }

    #[test]
    fn indignation_and_insults_in_every_language_are_frustration() {
        all_are(
            Intent::Frustrated,
            &[
                "I'm disgusted with how I've been treated",
                "i've been waiting for a reply for days",
                "ihr seid unfähig",
                "das ist inakzeptabel",
                "sois unos inútiles",
                "esto es indignante",
                "voy a poner una reclamación",
                "voy a denunciaros",
                "è inaccettabile",
                "dit is onaanvaardbaar",
                "isto é inaceitável",
                "vocês são uns incompetentes",
                "voy a pedir la devolución al banco",
                "vi metto una recensione da una stella",
                "ik laat de betaling terugdraaien",
            ],
        );
        requests_are(
            true,
            &[
                "j'aimerais être recontacté par téléphone",
                "passatemi un collega per favore",
            ],
        );
    }

    #[test]
    fn being_mocked_and_losing_patience_are_frustration() {
        all_are(
            Intent::Frustrated,
            &[
                "wow. just wow.",
                "read my message again please, that's not what i said",
                "i'm losing my patience",
                "appalling service",
                "why is nobody helping me",
                "what is wrong with you people",
                "vous vous moquez de moi ?",
                "wollt ihr mich verarschen?",
                "ich bin sehr verärgert",
                "me estáis tomando el pelo",
                "mi state prendendo in giro?",
                "houden jullie me voor de gek?",
                "estão a gozar comigo?",
            ],
        );
        all_are(
            Intent::None,
            &[
                "could you answer me this: do you ship to Norway?",
                "is the shocking pink dress back in stock",
                "is the Nightmare Before Christmas shirt available in L",
                "delivery is taking forever lately, how long does it take to Italy?",
                "my daughter was so upset it sold out, will it come back?",
            ],
        );
    }

    #[test]
    fn a_person_the_customer_can_talk_to_is_asked_for() {
        requests_are(
            true,
            &[
                "any staff i could speak with?",
                "is there a member of staff I can talk to",
                "i need a person i can actually speak to about this",
                "who can i speak to about a faulty jacket",
                "can a member of staff reply to me",
                "are there any humans working there?",
            ],
        );
        requests_are(
            false,
            &[
                "the agent I was talking to yesterday promised a refund",
                "the person i spoke to said it would ship monday",
                "who do i contact about a damaged parcel",
                "is the model in the photo someone I can book for a shoot",
            ],
        );
    }

    #[test]
    fn negated_mentions_are_not_handovers() {
        requests_are(
            false,
            &[
                "No need for an agent, I found it",
                "I don't want a human, just tell me the price",
                "I don't need to talk to anyone",
                "can I change my address without talking to a person?",
                "Je ne veux pas parler à un conseiller",
                "Ich möchte nicht mit einem Mitarbeiter sprechen",
                "kein Mensch nötig",
                "no hace falta un agente",
                "no quiero hablar con una persona",
                "non serve un operatore",
                "non voglio parlare con un umano",
                "geen medewerker nodig",
                "ik hoef geen mens te spreken",
                "não preciso de atendente",
                "não quero falar com um humano",
                "je ne veux pas parler a quelqu un",
            ],
        );
    }

    #[test]
    fn other_kinds_of_agent_are_not_handovers() {
        assert!(!is_handover_request(
            "Which shipping agent do you use?",
            &cfg()
        ));
        assert!(!is_handover_request(
            "Do I need a customs agent for Norway?",
            &cfg()
        ));
        assert!(!is_handover_request("Are you a real person?", &cfg()));
    }

    #[test]
    fn question_inversion_is_not_a_negation() {
        assert!(is_handover_request("why can't I talk to a human", &cfg()));
    }

    #[test]
    fn extra_phrases_extend_the_lists() {
        let cfg = IntentConfig {
            extra_handover_phrases: vec!["Ticket eröffnen".into()],
            extra_frustration_phrases: vec!["so slow".into()],
        };
        assert!(is_handover_request("bitte ein Ticket eroffnen", &cfg));
        assert!(frustration_signals("you are SO slow", &cfg).contains(&"custom"));
        assert_eq!(
            classify(&["you are so slow".into()], &[], false, &cfg),
            Intent::Frustrated
        );
        assert_eq!(one("you are so slow"), Intent::None);
    }

    #[test]
    fn shouting_needs_enough_capital_letters() {
        assert!(frustration_signals("WHERE IS MY ORDER", &cfg()).contains(&"shouting"));
        assert!(!frustration_signals("WHERE IS IT", &cfg()).contains(&"shouting"));
        assert!(!frustration_signals("order NW12345 to DE", &cfg()).contains(&"shouting"));
        assert_eq!(one("WHERE IS MY ORDER"), Intent::Frustrated);
        assert!(matches!(one("THANK YOU SO MUCH"), Intent::SmallTalk(_)));
    }

    #[test]
    fn exclamation_runs_are_signals_unless_happy() {
        assert!(frustration_signals("hello?!?!", &cfg()).contains(&"exclamations"));
        assert_eq!(one("Still nothing!!!"), Intent::Frustrated);
        assert!(matches!(one("Great, thanks!!!"), Intent::SmallTalk(_)));
        assert_eq!(one("Where is my order?"), Intent::None);
    }

    #[test]
    fn a_question_asked_again_after_an_answer_is_frustration() {
        let prev = vec!["Where is my order 1234?".to_owned()];
        let again = vec!["where is my order???".to_owned()];
        assert_eq!(classify(&again, &prev, true, &cfg()), Intent::Frustrated);
        assert_eq!(classify(&again, &prev, false, &cfg()), Intent::None);
        let thanks = vec!["thank you very much".to_owned()];
        // Thanks twice is small talk, not a repeated question.
        assert!(matches!(
            classify(&thanks, &["thank you very much".to_owned()], true, &cfg()),
            Intent::SmallTalk(_)
        ));
        let other = vec!["Do you ship to Norway?".to_owned()];
        assert_eq!(classify(&other, &prev, true, &cfg()), Intent::None);
    }

    #[test]
    fn asking_again_in_other_words_after_an_answer_is_frustration() {
        let cases = [
            (
                "when will my refund come",
                "yes but WHEN. i asked when, not how long it takes",
            ),
            (
                "do you deliver on saturdays?",
                "yes or no. saturday delivery. simple question",
            ),
            (
                "wann kommt meine rückerstattung",
                "ja das hab ich gelesen. trotzdem nix da",
            ),
            (
                "hoe lang duurt terugbetaling",
                "dat zei je net ook al, waar blijft het",
            ),
        ];
        for (earlier, now) in cases {
            let prev = vec![earlier.to_owned()];
            let turn = vec![now.to_owned()];
            assert_eq!(
                classify(&turn, &prev, true, &cfg()),
                Intent::Frustrated,
                "{now}"
            );
            // Without the bot's answer before it, or without an earlier message, it is a
            // question like any other.
            assert_ne!(
                classify(&turn, &prev, false, &cfg()),
                Intent::Frustrated,
                "{now}"
            );
            assert_ne!(
                classify(&turn, &[], true, &cfg()),
                Intent::Frustrated,
                "{now}"
            );
        }
    }

    #[test]
    fn payment_reversals_through_the_bank_are_frustration() {
        all_are(
            Intent::Frustrated,
            &[
                "reversing the charge on my amex, dont bother replying",
                "I'll get my money back through my bank then since you won't refund me",
                "lastschrift geht zurück, hab meiner bank schon bescheid gegeben",
                "heb mijn bank al gebeld om het terug te laten boeken",
            ],
        );
        all_are(
            Intent::None,
            &[
                "can I pay by bank transfer?",
                "my bank says the payment is pending, is my order confirmed?",
            ],
        );
    }

    #[test]
    fn handover_request_wins_over_frustration() {
        assert_eq!(
            one("This bot is useless, let me talk to a human"),
            Intent::HandoverRequested
        );
        assert_eq!(one("This bot is useless"), Intent::Frustrated);
        assert_eq!(
            one("sorry, stupid question: do you ship to Canada?"),
            Intent::None
        );
    }

    #[test]
    fn presence_questions_and_polite_requests_are_handovers() {
        requests_are(
            true,
            &[
                "is there anybody there?",
                "¿Hay alguien?",
                "Y a-t-il quelqu'un ?",
                "c'è qualcuno?",
                "Kann mich jemand zurückrufen?",
                "Could someone from your team email me?",
                "Alguém pode ligar-me?",
                "I need someone who knows the product",
                "speak to an opertor",
                "Passez-moi le responsable",
            ],
        );
    }

    #[test]
    fn compounds_possessives_and_idioms_are_not_requests() {
        requests_are(
            false,
            &[
                "Do I need to come in person to collect it?",
                "I asked my agent at the bank",
                "Is there a person-sized bag?",
                "I'd like the human hair extensions please",
                "Is the model in the picture a real person?",
                "Do you have a person I can send the invoice to?",
                "Can I get a refund?",
                "je veux mon argent",
            ],
        );
    }

    #[test]
    fn failed_help_is_frustration_in_every_language() {
        all_are(
            Intent::Frustrated,
            &[
                "that did not really help",
                "Ça ne m'a pas aidé",
                "Das hat mir nicht geholfen",
                "No me ayudó",
                "Non mi è stato utile",
                "Dit helpt niet",
                "Não ajudou",
                "merci pour rien",
                "ne sert à rien",
            ],
        );
        all_are(
            Intent::None,
            &[
                "I don't need help anymore, thanks",
                "Ich brauche keine Hilfe mehr",
            ],
        );
        // Not frustration, and not a question either: small talk.
        assert!(matches!(
            one("Thanks, nothing else for now"),
            Intent::SmallTalk(_)
        ));
    }

    #[test]
    fn asking_again_or_a_problem_that_persists_is_frustration() {
        all_are(
            Intent::Frustrated,
            &[
                "This is the third time I'm writing",
                "zum dritten Mal: wo ist das Paket",
                "Je l'ai déjà demandé",
                "still not working",
                "wrong colour again",
            ],
        );
        all_are(
            Intent::None,
            &[
                "The second time I ordered it was fine",
                "Is it still not in stock?",
                "Can I order again? The last one was damaged",
            ],
        );
        // A clause of the new message repeats an earlier question.
        assert_eq!(
            classify(
                &["where is my order, I asked yesterday".to_owned()],
                &["Where is my order 5521?".to_owned()],
                true,
                &cfg()
            ),
            Intent::Frustrated
        );
    }

    #[test]
    fn a_bare_person_word_with_chat_please_is_a_handover() {
        requests_are(
            true,
            &[
                "un humain stp",
                "humano porfa",
                "agent plz",
                "una persona por fa",
                "Mitarbeiter bitte jetzt",
                "een medewerker graag",
            ],
        );
        requests_are(
            false,
            &["pas d'humain stp", "cheveux humains stp", "the price porfa"],
        );
    }

    #[test]
    fn a_colleague_asked_to_look_is_a_handover() {
        requests_are(
            true,
            &[
                "Would it be possible for a colleague of yours to have a look at this?",
                "Could one of your colleagues check my order",
                "un collègue svp",
                "¿Puede un compañero revisar mi pedido?",
            ],
        );
        requests_are(
            false,
            &[
                "Would it be possible for my colleague to pick it up?",
                "Is it possible for me to check the status myself?",
                "Is it possible to contact customer service by phone?",
            ],
        );
    }

    #[test]
    fn needing_someone_to_get_in_touch_is_a_handover() {
        requests_are(
            true,
            &[
                "Necesito que alguien de atención al cliente me llame",
                "J'ai besoin que quelqu'un du service client me rappelle",
                "ich brauche jemanden der mich anruft",
                "Ik wil dat iemand mij terugbelt",
                "Preciso que alguém me ligue",
            ],
        );
        requests_are(
            false,
            &[
                "I don't need anyone to call me, email is fine",
                "No necesito que alguien me llame",
                "No necesito que nadie me llame",
            ],
        );
    }

    #[test]
    fn nobody_answering_is_frustration() {
        all_are(
            Intent::Frustrated,
            &[
                "Esto es una vergüenza, nadie me responde",
                "no one has replied to my email",
                "personne ne m'a répondu",
                "Niemand antwortet mir",
                "nessuno risponde al telefono",
                "niemand reageert op mijn mail",
                "ninguém me responde",
            ],
        );
        all_are(
            Intent::None,
            &[
                "If no one answers the door, can the courier leave it with a neighbour?",
                "Can anyone answer a quick question about sizes?",
            ],
        );
    }

    #[test]
    fn asking_several_times_or_getting_the_same_answer_is_frustration() {
        all_are(
            Intent::Frustrated,
            &[
                "I've asked twice now",
                "j'ai demandé trois fois",
                "ich habe schon zweimal gefragt",
                "he preguntado varias veces",
                "I called 3 times yesterday",
                "You keep sending me the same FAQ link",
                "Sie schicken mir immer die gleiche Antwort",
                "me sigues enviando el mismo enlace",
                "je blijft me dezelfde link sturen",
            ],
        );
        all_are(
            Intent::None,
            &[
                "Can I write the name two times on the card?",
                "I ordered twice last year and loved it",
                "Can you send me the same link again for my sister?",
                "Is it always the same link for tracking?",
            ],
        );
    }

    #[test]
    fn the_nth_time_something_goes_wrong_is_frustration() {
        all_are(
            Intent::Frustrated,
            &[
                "third time my order is 'delayed'",
                "second time my parcel arrives damaged",
                "das dritte Mal, dass mein Paket verspätet ist",
            ],
        );
        all_are(
            Intent::None,
            &[
                "The second time I ordered it was fine",
                "third time ordering from you, love the quality",
            ],
        );
    }

    #[derive(Deserialize)]
    struct Labelled {
        messages: Vec<Item>,
    }
    #[derive(Deserialize)]
    struct Item {
        text: String,
        label: String,
        #[serde(default)]
        previous: Vec<String>,
        #[serde(default)]
        answered: bool,
        /// Which set the item is in (absent = 1). Sets 1 and 2 are tuned on; 3 was measured
        /// blind (handover R 0.867, frustrated R 0.900, P 1.000) and then tuned on; 4 is
        /// never tuned on.
        #[serde(default = "batch_one")]
        batch: u32,
    }
    fn batch_one() -> u32 {
        1
    }

    /// Prints one set's figures from eval's scorer.
    fn print_scores(title: &str, scores: &Confusion<IntentClass>, classes: &[IntentClass]) {
        println!("intent [{title}] {} messages", scores.total());
        for c in classes {
            println!("  {:<10} {}", c.as_str(), scores.describe(*c));
        }
    }

    #[test]
    fn labelled_messages_meet_precision_and_recall_floors() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/intent_labelled.toml");
        let set: Labelled = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        assert!(set.messages.len() >= 300, "{}", set.messages.len());
        // Small talk is not labelled in this set: it is "none" (ordinary) here.
        let label = |l: &str| match l {
            "handover" => IntentClass::Requested,
            "frustrated" => IntentClass::Frustrated,
            "none" => IntentClass::Ordinary,
            other => panic!("bad label {other}"),
        };
        let mut mistakes = Vec::new();
        let results: Vec<(u32, IntentClass, IntentClass)> = set
            .messages
            .iter()
            .map(|m| {
                let want = label(&m.label);
                let got = match IntentClass::of_intent(classify(
                    std::slice::from_ref(&m.text),
                    &m.previous,
                    m.answered,
                    &cfg(),
                )) {
                    IntentClass::SmallTalk => IntentClass::Ordinary,
                    other => other,
                };
                if got != want {
                    mistakes.push(format!(
                        "  batch {} want {:<10} got {:<10} {:?}",
                        m.batch,
                        want.as_str(),
                        got.as_str(),
                        m.text
                    ));
                }
                (m.batch, want, got)
            })
            .collect();
        for line in &mistakes {
            println!("{line}");
        }
        let scores = |title: &str, keep: &dyn Fn(u32) -> bool| {
            let mut scores = Confusion::default();
            for (_, want, got) in results.iter().filter(|(b, _, _)| keep(*b)) {
                scores.add(Some(*want), Some(*got));
            }
            let classes = [
                IntentClass::Requested,
                IntentClass::Frustrated,
                IntentClass::Ordinary,
            ];
            print_scores(title, &scores, &classes);
            scores
        };
        scores("held-out batch 2", &|b| b == 2);
        scores("whole set", &|_| true);
        let tuned = scores("batches 1-2 (tuned on)", &|b| b <= 2);
        let blind = scores("batch 3 (measured blind, then tuned on)", &|b| b == 3);
        let blind4 = scores("held-out batch 4 (blind, never tuned on)", &|b| b == 4);

        // Floors on the tuned batches 1-3: just under what the rules reach there (1.000 for
        // both classes). They guard against regressions and say nothing about unseen text:
        // batch 2 measured blind was handover P 0.900 R 0.600, frustrated P 1.000 R 0.592;
        // batch 3 handover P 1.000 R 0.867, frustrated P 1.000 R 0.900. Its 7 misses are
        // covered by general rule families (chat "please", colleagues, "need someone to call
        // me", "nobody answers", "asked twice", "the same link", "third time ... delayed").
        let (handover, frustrated) = (IntentClass::Requested, IntentClass::Frustrated);
        let floors = [
            (&tuned, "batches 1-2", handover, 0.97, 0.97),
            (&tuned, "batches 1-2", frustrated, 0.97, 0.97),
            (&blind, "batch 3", handover, 0.97, 0.97),
            (&blind, "batch 3", frustrated, 0.97, 0.97),
            // Batch 4 is not tuned on: measured blind, handover P 0.962 (25/26) R 0.833,
            // frustrated P 1.000 R 0.900. Its one false handover, "no hace falta hablar con
            // un agente", showed a bug in the hard rule ("falta" is a need word), which makes
            // handover P read 1.000 on it. Floors about 0.05 under.
            (&blind4, "batch 4", handover, 0.95, 0.78),
            (&blind4, "batch 4", frustrated, 0.95, 0.85),
        ];
        for (scores, set_name, class, min_p, min_r) in floors {
            let (p, r) = (
                scores.precision(class).unwrap_or(0.0),
                scores.recall(class).unwrap_or(0.0),
            );
            let class = class.as_str();
            assert!(p >= min_p, "{set_name}: {class} precision {p:.3} < {min_p}");
            assert!(r >= min_r, "{set_name}: {class} recall {r:.3} < {min_r}");
        }

        // Hard rule: a negated request ("no need for an agent", "kein Mensch nötig") is never
        // a handover. Every "none" message with a negation and a person word is checked.
        let mut negated_requests = 0;
        for m in set.messages.iter().filter(|m| m.label == "none") {
            let tokens = text::tokens(&m.text);
            let has_neg = (0..tokens.len()).any(|i| is_negation(&tokens, i));
            let has_person = tokens.iter().any(|t| {
                has(&words().handover.strong_targets, t)
                    || has(&words().handover.someone, t)
                    || has(&words().handover.weak_targets, t)
            });
            if has_neg && has_person {
                negated_requests += 1;
                assert!(
                    !is_handover_request(&m.text, &cfg()),
                    "negated request taken for a handover: {:?}",
                    m.text
                );
            }
        }
        println!("intent: {negated_requests} negated requests, none taken for a handover");
        assert!(negated_requests >= 20, "{negated_requests}");
    }

    /// The figures the targets are stated in, for one file.
    #[derive(Debug)]
    struct EvalFigures {
        requested_precision: f64,
        requested_recall: f64,
        frustrated_precision: f64,
        frustrated_recall: f64,
        /// Handovers (either reason) among the ordinary messages.
        ordinary_handed_over: f64,
        /// Ordinary messages taken for small talk (they would get a courtesy, not an answer).
        ordinary_as_small_talk: f64,
        /// Small talk handed over by the rules.
        small_talk_handed_over: f64,
        /// Small talk not recognised: handed over, or sent to the responder (where it meets
        /// "no knowledge", a handover too, unless the knowledge happens to match).
        small_talk_missed: f64,
    }

    /// Scores one eval file with `classify` and eval's scorer; prints the figures, and each
    /// mistake when `show` (never for the held-out file, whose lines must not guide any
    /// change).
    fn score_eval_file(name: &str, show: bool) -> EvalFigures {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/eval")
            .join(name);
        let cases = crate::eval::read_cases(&path, &[]).unwrap_or_else(|e| panic!("{e:#}"));
        let mut scores = Confusion::default();
        for (n, case) in cases.iter().enumerate() {
            let lang = case.lang.as_deref().unwrap_or("(none)");
            assert!(
                super::super::smalltalk::tests_languages().contains(&lang),
                "{name} case {}: language {lang}",
                n + 1
            );
            let want = IntentClass::of_case(case)
                .filter(|_| {
                    matches!(
                        (case.expect, case.reason.is_some()),
                        (Expect::Handover, true) | (Expect::Smalltalk | Expect::None, false)
                    )
                })
                .unwrap_or_else(|| {
                    panic!(
                        "{name} case {}: bad label {:?} {:?}",
                        n + 1,
                        case.expect,
                        case.reason
                    )
                });
            let got = IntentClass::of_intent(classify(
                std::slice::from_ref(&case.text),
                &case.previous,
                case.answered,
                &cfg(),
            ));
            if show && got != want {
                println!(
                    "  {name}: want {want:?} got {got:?} [{lang}] {:?}",
                    case.text
                );
            }
            scores.add(Some(want), Some(got));
        }
        print_scores(
            &format!("eval {name}"),
            &scores,
            &[IntentClass::Requested, IntentClass::Frustrated],
        );
        let handover = |c: Option<IntentClass>| c.is_some_and(IntentClass::is_handover);
        let handovers = scores.count(|w, g| handover(w) && handover(g));
        println!(
            "  handover (either reason) precision {:.3} recall {:.3}",
            ratio(handovers, scores.count(|_, g| handover(g))).unwrap_or(0.0),
            ratio(handovers, scores.count(|w, _| handover(w))).unwrap_or(0.0)
        );
        let small = IntentClass::SmallTalk;
        let figures = EvalFigures {
            requested_precision: scores.precision(IntentClass::Requested).unwrap_or(0.0),
            requested_recall: scores.recall(IntentClass::Requested).unwrap_or(0.0),
            frustrated_precision: scores.precision(IntentClass::Frustrated).unwrap_or(0.0),
            frustrated_recall: scores.recall(IntentClass::Frustrated).unwrap_or(0.0),
            ordinary_handed_over: scores.ordinary_handed_over().unwrap_or(0.0),
            ordinary_as_small_talk: scores.ordinary_as_small_talk().unwrap_or(0.0),
            small_talk_handed_over: scores.share_of(small, handover).unwrap_or(0.0),
            small_talk_missed: scores.share_of(small, |g| g != Some(small)).unwrap_or(0.0),
        };
        println!(
            "  ordinary handed over {:.3}, ordinary taken for small talk {:.3} (of {})",
            figures.ordinary_handed_over,
            figures.ordinary_as_small_talk,
            scores.labelled(IntentClass::Ordinary)
        );
        println!(
            "  small talk handed over {:.3}, small talk not recognised {:.3} (of {})",
            figures.small_talk_handed_over,
            figures.small_talk_missed,
            scores.labelled(small)
        );
        figures
    }

    /// Checks measured figures against floors (precision and recall of requested, then of
    /// frustrated) and ceilings (ordinary handed over, ordinary taken for small talk, small talk
    /// handed over, small talk not recognised).
    fn check_figures(f: &EvalFigures, floors: [f64; 4], ceilings: [f64; 4], name: &str) {
        let got = [
            f.requested_precision,
            f.requested_recall,
            f.frustrated_precision,
            f.frustrated_recall,
        ];
        let labels = ["requested P", "requested R", "frustrated P", "frustrated R"];
        for ((g, min), l) in got.iter().zip(floors).zip(labels) {
            assert!(*g >= min, "{name}: {l} {g:.3} < {min}");
        }
        let got = [
            f.ordinary_handed_over,
            f.ordinary_as_small_talk,
            f.small_talk_handed_over,
            f.small_talk_missed,
        ];
        let labels = [
            "ordinary handed over",
            "ordinary as small talk",
            "small talk handed over",
            "small talk missed",
        ];
        for ((g, max), l) in got.iter().zip(ceilings).zip(labels) {
            assert!(*g <= max, "{name}: {l} {g:.3} > {max}");
        }
    }

    #[test]
    fn callbacks_and_phone_requests_are_handovers() {
        requests_are(
            true,
            &[
                "callback please 07700 900123",
                "could someone give me a ring on 07700 900777",
                "pls call me back asap",
                "my number is +44 7700 900321, call when you can",
                "can you phone me this afternoon",
                "pouvez-vous me rappeler demain ?",
                "appelez-moi au 06 12 34 56 78",
                "rufen Sie mich bitte an, 0176 1234567",
                "bitte um Rückruf",
                "¿me podéis llamar esta tarde?",
                "llamadme al 600 123 456",
                "mi potete chiamare?",
                "kunnen jullie me terugbellen op 06 12345678",
                "podem ligar-me amanhã?",
                "can I get someone on the phone",
                "I'd like a real human, not a bot",
                "i need a proper person to sort this",
                "quero falar com uma pessoa de verdade",
            ],
        );
        requests_are(
            false,
            &[
                "do you call before delivery?",
                "will the driver ring me when he's outside?",
                "call me crazy but I love the green one",
                "I don't need anyone to call me, email is fine",
                "please don't ring me, I'm at work",
                "my order number is 1234567, where is it",
                "the courier called me yesterday",
                "my son is a real estate agent, can he sign?",
                "what's your phone number?",
                "le livreur va-t-il m'appeler ?",
                "ruft der Paketbote vorher an?",
                "is the bot real or fake lol",
                "my phone number is wrong on the order, it should be 07700 900123",
                "I missed a call from 07700 900555, was that you?",
                "do you have a whatsapp number? mine is 07700 900123",
                "can you call the courier for me?",
                "mon numéro de téléphone a changé : 06 12 34 56 78",
            ],
        );
    }

    #[test]
    fn disputes_threats_and_giving_up_are_frustration() {
        all_are(
            Intent::Frustrated,
            &[
                "I've opened a dispute with paypal",
                "I'll just do a chargeback then",
                "disputing the charge with my credit card company",
                "j'ai ouvert un litige sur paypal",
                "ich habe eine Rückbuchung veranlasst",
                "voy a pedir un contracargo a mi banco",
                "ho aperto una contestazione con la banca",
                "ik ga de betaling terugboeken",
                "leaving a one star review right now",
                "you'll be getting a terrible review from me",
                "I'm going to post this on facebook",
                "je vais laisser un avis négatif",
                "ich werde eine schlechte Bewertung schreiben",
                "voy a dejar una reseña negativa",
                "lascerò una recensione negativa",
                "vou deixar uma avaliação negativa",
                "I'm reporting you to trading standards",
                "my solicitor will be in touch",
                "je vais porter plainte",
                "ich gehe zum Anwalt",
                "voy a poner una hoja de reclamaciones",
                "contatterò un avvocato",
                "ik stap naar de consumentenbond",
                "vou fazer queixa no procon",
                "cancel everything and refund me",
                "never ordering from you again",
                "plus jamais je commande chez vous",
                "nie wieder bestelle ich hier",
                "nunca más compro aquí",
                "mai più da voi",
                "nooit meer bij jullie",
                "did you even read my message",
                "you're not even listening to me",
                "lisez-vous au moins mes messages ?",
                "liest du überhaupt, was ich schreibe?",
                "¿siquiera lees lo que escribo?",
                "what a waste of time this chat is",
                "quelle perte de temps",
                "reine Zeitverschwendung",
                "oh great, really useful 🙄",
            ],
        );
        all_are(
            Intent::None,
            &[
                "I'll leave a review when it arrives!",
                "can I share my discount code on instagram?",
                "do you have a facebook page?",
                "how do I cancel my order?",
                "can I cancel all my orders from today, I ordered twice by mistake",
                "my bank says the payment went through, no confirmation though",
                "is there a dispute process if an item is damaged?",
                "did you get my email with the photos?",
                "I read the size guide but I'm between sizes",
                "I can't read the tracking number on the label",
                "my lawyer friend recommended you, do you ship to Malta?",
                "how many stars does the hotel have",
                "do you sell the review copies of the book?",
                "the sizing makes no sense to me, is a 38 a medium?",
                "is it worth the time to order express?",
                "Sue from your team said I could return it",
            ],
        );
    }

    #[test]
    fn indirect_requests_anger_and_sarcasm_are_handovers() {
        requests_are(
            true,
            &[
                "I'd rather deal with a person for this one",
                "honestly i'd prefer to talk to someone",
                "je préfère parler à quelqu'un",
                "ich würde lieber mit einem Menschen reden",
                "¿me pasas con alguien?",
                "mi passate un operatore?",
                "chamem um atendente por favor",
                "text me on 07700 900654",
                "you can reach me on 0612345678",
            ],
        );
        requests_are(
            false,
            &[
                "text me the tracking link please",
                "can you reach the courier?",
                "I'd rather have the blue one, is it in stock?",
            ],
        );
        all_are(
            Intent::Frustrated,
            &[
                "I'm absolutely livid",
                "j'en ai ras le bol",
                "ich habe die Nase voll",
                "estoy muy cabreado",
                "sono arrabbiatissimo",
                "ik ben het zat",
                "estou revoltado com isso",
                "oh very helpful",
                "great, another automated answer",
                "super, toujours rien",
            ],
        );
        all_are(
            Intent::None,
            &[
                "oh great, does it come in red?",
                "great, another question: do you ship to Norway?",
                "ja super, wann kommt das Paket?",
                "super, encore une question : livrez-vous en Suisse ?",
            ],
        );
    }

    #[test]
    fn more_small_talk_in_every_language() {
        for text in [
            "cheers mate",
            "sorted, ty",
            "ok I'll wait then",
            "no that's everything",
            "hi, how are you?",
            "have a lovely day!",
            "merci bcp",
            "Danke, hat geklappt",
            "vielen lieben Dank",
            "muy amable, gracias",
            "grazie di cuore",
            "helemaal goed, bedankt",
            "vlw",
            "oi, tudo bom?",
            "🙏🏼",
            "👍👍",
        ] {
            assert!(
                matches!(one(text), Intent::SmallTalk(_)),
                "{text}: {:?}",
                one(text)
            );
        }
    }

    #[test]
    fn being_misunderstood_ignored_or_let_down_is_frustration() {
        all_are(
            Intent::Frustrated,
            &[
                "answer the question!",
                "are you actually reading my messages",
                "hello?? is anybody reading this",
                "u dont understand anything",
                "vous ne comprenez rien",
                "Sie verstehen mich nicht",
                "no entiendes nada",
                "stop sending me the same link",
                "what kind of service is this",
                "absolute shambles",
                "worst company ever",
                "le pire service que j'ai vu",
                "this is the last time i order from you",
                "i will never recommend you",
                "tell your friends to avoid you, I will",
                "ive raised a claim with paypal",
                "paypal case opened",
            ],
        );
        all_are(
            Intent::None,
            &[
                "I don't understand the size chart, is a 38 a medium?",
                "je ne comprends pas le tableau des tailles",
                "can I pay with paypal in case my card fails?",
                "do you understand French?",
                "the last time I ordered it came in 2 days, is that still the case?",
                "which is the worst time to order before christmas?",
            ],
        );
        requests_are(
            true,
            &[
                "let me talk to your boss",
                "verbinden Sie mich bitte weiter",
                "whats the number for customer service, i want to call",
            ],
        );
    }

    /// Ordinary shop questions (the knowledge base's evaluation set, paraphrases and unrelated
    /// questions alike) are neither handovers nor small talk.
    #[test]
    fn ordinary_questions_are_neither_handovers_nor_small_talk() {
        #[derive(Deserialize)]
        struct Question {
            text: String,
        }
        #[derive(Deserialize)]
        struct Set {
            paraphrases: Vec<Question>,
            unrelated: Vec<Question>,
        }
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/kb_paraphrases.toml");
        let set: Set = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let questions: Vec<&str> = set
            .paraphrases
            .iter()
            .chain(&set.unrelated)
            .map(|q| q.text.as_str())
            .collect();
        assert!(questions.len() >= 100, "{}", questions.len());
        let got: Vec<(&str, Intent)> = questions.iter().map(|q| (*q, one(q))).collect();
        // The set's one bare greeting ("hello", among the unrelated questions) is small talk;
        // nothing else is.
        let small_talk: Vec<&str> = got
            .iter()
            .filter(|(_, i)| matches!(i, Intent::SmallTalk(_)))
            .map(|(q, _)| *q)
            .collect();
        assert_eq!(small_talk, vec!["hello"]);
        // Two handovers are the older rules' and defensible ("what number can I call to talk
        // to someone", "Still haven't been refunded, how long does it take?"); the ceiling
        // keeps any new family from adding more.
        let handovers: Vec<&(&str, Intent)> = got
            .iter()
            .filter(|(_, i)| matches!(i, Intent::HandoverRequested | Intent::Frustrated))
            .collect();
        println!(
            "ordinary questions handed over: {handovers:?} of {}",
            got.len()
        );
        assert!(handovers.len() <= 2, "{handovers:#?}");
    }

    /// The development set (tuned on): its mistakes are printed. Before tuning: requested
    /// P 1.000 R 0.653, frustrated P 1.000 R 0.449, no small talk class (every greeting and
    /// thanks went to the responder); after: 1.000 everywhere, ordinary handed over 0.000,
    /// small talk not recognised 0.000. Floors just under.
    #[test]
    fn eval_dev_set_meets_its_floors() {
        let dev = score_eval_file("intent_dev.jsonl", true);
        check_figures(&dev, [0.97; 4], [0.02, 0.02, 0.02, 0.03], "dev");
    }

    /// The held-out set: never tuned on, so its lines are never printed. Measured once before
    /// any tuning (requested P 1.000 R 0.796, frustrated P 0.966 R 0.571, ordinary handed over
    /// 0.017, small talk all sent to the responder) and once after (requested P 1.000 R 0.898,
    /// frustrated P 0.976 R 0.837, ordinary handed over 0.017, ordinary taken for small talk
    /// 0.000, small talk handed over 0.000, not recognised 0.021). Floors a little under the
    /// second measurement; the rules were not changed after it.
    #[test]
    fn eval_held_out_set_meets_its_floors() {
        let held_out = score_eval_file("intent_heldout.jsonl", false);
        check_figures(
            &held_out,
            [0.95, 0.85, 0.93, 0.79],
            [0.04, 0.03, 0.03, 0.05],
            "held-out",
        );
    }
}
