//! The intent detector's words, read from the language files (`src/lang/<code>.toml`, tables
//! `[handover]`, `[frustration]` and `[escalation]`): each role is the words of all languages at
//! once, since a message is matched before (and without) knowing its language.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// Every role of the three tables, merged over the languages.
#[derive(Debug, Default)]
pub(super) struct Words {
    pub(super) handover: Handover,
    pub(super) frustration: Frustration,
    pub(super) escalation: Escalation,
}

/// The words, loaded on first use. The data is compiled in and checked by the tests below, so a
/// failure here is a build that shipped broken data.
pub(super) fn words() -> &'static Words {
    static WORDS: OnceLock<Words> = OnceLock::new();
    WORDS.get_or_init(|| match load() {
        Ok(words) => words,
        Err(e) => panic!("built-in language data: {e}"),
    })
}

fn load() -> Result<Words, String> {
    Ok(Words {
        handover: crate::lang::merged("handover")?,
        frustration: crate::lang::merged("frustration")?,
        escalation: crate::lang::merged("escalation")?,
    })
}

/// Words of a request for a person (`[handover]`).
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct Handover {
    /// Tokens that negate what follows them in a clause (all languages; "t" is the tail of "n't").
    pub(super) neg: Vec<String>,
    /// Pronouns after which a negation is a question inversion ("can't I talk to someone?").
    pub(super) pronouns: Vec<String>,
    /// Words skipped when looking from a request back to a negation: articles, prepositions,
    /// adverbs ("I don't really want to speak with an agent").
    pub(super) skip: Vec<String>,
    /// Targets that are a person to hand over to on their own ("I want an agent").
    pub(super) strong_targets: Vec<String>,
    /// Targets that mean a person only after a talk verb ("talk to someone", not "need someone").
    pub(super) weak_targets: Vec<String>,
    /// Words for "someone": a person when they are the subject of a request ("can someone call
    /// me"), found after "is there", or followed by "who" ("someone who can read").
    pub(super) someone: Vec<String>,
    /// Relative pronouns after "someone" ("I want someone who can ...").
    pub(super) relatives: Vec<String>,
    /// Possessives that make a target someone else's person ("my agent at the bank", "mon agent").
    /// "su", "seu", "ihr" are left out: they are also the formal "your".
    pub(super) other_possessives: Vec<String>,
    /// Words after a target that make it a modifier: "human hair", "human resources", "person size"
    /// (hyphenated compounds are joined before matching).
    pub(super) compound_heads: Vec<String>,
    /// Prepositions that make "person" an adverb: "in person", "en personne", "em pessoa".
    pub(super) in_person: Vec<String>,
    /// The word "person", made an adverb by a word of `in_person` before it.
    pub(super) person_words: Vec<String>,
    /// Modal verbs of a polite request whose subject is a person ("can someone call me", "kann mich
    /// jemand anrufen", "quelqu'un peut-il me rappeler").
    pub(super) modals: Vec<String>,
    /// What a person is asked to do in such a request: get in touch, look into it, help.
    pub(super) person_actions: Vec<String>,
    /// Openings of a question whether a person is there ("is there anyone", "hay alguien", "c'è
    /// qualcuno", "gibt es einen Menschen").
    pub(super) presence: Vec<Vec<String>>,
    /// Words that may follow the person in a presence question; anything else makes the target a
    /// modifier ("is there a human hair version").
    pub(super) presence_follow: Vec<String>,
    /// Copulas and determiners opening a question about a thing ("is the model a real person?"),
    /// which describes rather than asks for someone.
    pub(super) copulas: Vec<String>,
    /// Determiners after a copula that open a description ("is the model a real person?").
    pub(super) determiners: Vec<String>,
    /// Hyphenated second parts that are pronouns ("passez-moi", "ligar-me", "peut-il"): the hyphen
    /// stays a break. Any other hyphen joins a compound ("person-sized", "human-readable") whose
    /// parts must not be read as a request.
    pub(super) clitics: Vec<String>,
    /// Words before "agent(s)" that make it something other than a support person.
    pub(super) agent_qualifiers: Vec<String>,
    /// Verbs that ask for something: they take strong targets only ("I need an agent").
    pub(super) request_verbs: Vec<String>,
    /// Verbs about talking or being put through: they take weak targets too ("talk to someone").
    pub(super) talk_verbs: Vec<String>,
    /// Infinitives that end German and Dutch clauses: the target may come before them.
    pub(super) final_verbs: Vec<String>,
    /// Verbs that, after a target and before "me", ask a person to get in touch ("someone call
    /// me").
    pub(super) callback_verbs: Vec<String>,
    /// Forms of "get in touch" that a wanted person is asked to do, including the subjunctives of
    /// "I need someone to call me" ("que alguien me llame", "que quelqu'un me rappelle", "dat
    /// iemand mij terugbelt", "que alguém me ligue").
    pub(super) contact_forms: Vec<String>,
    /// Object pronouns for "me"/"us", before the verb ("me llame", "mich anruft") or after it
    /// ("call me", "ligar-me").
    pub(super) me_us: Vec<String>,
    /// Multi-word phrases that ask for a person by themselves.
    pub(super) handover_phrases: Vec<String>,
    /// Words of refusing or being fed up that, like a negation, turn talking to the bot
    /// (`[escalation] bot`) into a request for a person ("I refuse to chat with a robot", "marre de parler à une machine").
    pub(super) refusals: Vec<String>,
    /// First-person forms of "can" ("a person I can talk to", "quelqu'un à qui je peux parler"):
    /// the customer able to talk to a person is a person asked for.
    pub(super) able: Vec<String>,
    /// The infinitive marker before what a wanted person is to do ("someone to look at it").
    pub(super) to_do: Vec<String>,
    /// "Too", as in "too complicated for a bot".
    pub(super) too: Vec<String>,
    /// "For", as in "too complicated for a bot".
    pub(super) for_whom: Vec<String>,
    /// Articles between "for" and the bot ("for a bot", "pour un robot", "für einen Bot").
    pub(super) articles: Vec<String>,
    /// Chats, which a question can be too complicated for ("too complicated for a chat").
    pub(super) chats: Vec<String>,
    /// Words of preferring, which take someone as the person wanted ("I'd rather sort this out
    /// with someone", "ich kläre das lieber mit jemandem").
    pub(super) preference: Vec<String>,
    /// Days and times ahead, which make "is anyone there" a question about opening hours ("is
    /// someone around on Saturday?").
    pub(super) later: Vec<String>,
    /// Words that may surround a bare target in a clause that is only a request: "human please",
    /// "agent now", "un conseiller svp".
    pub(super) filler: Vec<String>,
    /// Words that make a message an identity question ("are you a real person?"), not a request.
    pub(super) identity_starts: Vec<Vec<String>>,
    /// What follows an identity question's opening: "are you (a) real ...", "am I talking to ...".
    pub(super) identity_words: Vec<String>,
    /// Articles and adverbs between an identity question's opening and its subject.
    pub(super) identity_skip: Vec<String>,
}

/// Words of frustration (`[frustration]`).
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct Frustration {
    /// Swear words, matched as whole tokens.
    pub(super) profanity: Vec<String>,
    /// Insults aimed at the bot or the shop, matched as whole tokens ("stupid question" excepted).
    pub(super) insults: Vec<String>,
    /// Complaints about the help received (phrases, normalised; negations built in where needed).
    pub(super) complaints: Vec<String>,
    /// Hedges that make a one-word complaint mild annoyance ("a bit useless", "un peu nul").
    pub(super) hedges: Vec<String>,
    /// Nouns for a question, which make an insult beside them self-deprecation ("stupid
    /// question", "question bête").
    pub(super) question_nouns: Vec<String>,
    /// Apologies which, followed by "if" or "for", excuse the customer's own question ("sorry if
    /// this is dumb").
    pub(super) apologies: Vec<String>,
    /// Words of oneself, which make a complaint anger at oneself ("furious with myself").
    pub(super) oneself: Vec<String>,
    /// Words of helping or being useful, and the negations that, next to them, say the help failed
    /// ("didn't help", "ne m'a pas aidé", "hat mir nicht geholfen", "não ajudou").
    pub(super) help_words: Vec<String>,
    /// Negations that turn a help word into a complaint ("didn't help", "hilft nicht").
    pub(super) help_neg: Vec<String>,
    /// Words that may sit between a negation and the help word: pronouns, auxiliaries, adverbs.
    pub(super) help_gap: Vec<String>,
    /// "Thanks for nothing" in each language: a thank word, then "nothing" within three words.
    pub(super) thanks: Vec<String>,
    /// Adverbs allowed between "thanks for" and "nothing" ("thanks for absolutely nothing").
    pub(super) intensifiers: Vec<String>,
    /// "Nothing", as in "thanks for nothing" and "good for nothing".
    pub(super) nothing: Vec<String>,
    /// "For", as in "thanks for nothing" and "for the third time".
    pub(super) for_words: Vec<String>,
    /// "Is good for nothing": serve verbs followed by "nothing" ("ne sert à rien", "no sirve para
    /// nada", "non serve a niente", "nützt nichts").
    pub(super) serve: Vec<String>,
    /// "You are a joke", "c'est une blague", "das ist ein Witz".
    pub(super) joke: Vec<String>,
    /// Copulas and exclamatives before "joke" ("this is a joke", "what a joke").
    pub(super) copula_any: Vec<String>,
    /// A problem that persists: "still not", "toujours pas", "immer noch nicht", "sigue sin",
    /// "ancora nessun", "nog steeds geen", "continua sem". "Not yet" ("noch nicht", "todavía no",
    /// "nog niet", "ainda não") is a plain question and is not here.
    pub(super) still: Vec<Vec<String>>,
    /// Openings of a yes/no question ("is it still ...", "est-ce que", "ist es noch").
    pub(super) question_openers: Vec<String>,
    /// Negations after "still" that make a problem persist ("still not working").
    pub(super) still_neg: Vec<String>,
    /// "Your answer is wrong": an answer word and a wrong word a few words apart.
    pub(super) answer_words: Vec<String>,
    /// "Wrong", near a word of `answer_words` ("wrong answer", "réponse fausse").
    pub(super) wrong_words: Vec<String>,
    /// A problem happening again: "delivered to the wrong house again", "schon wieder kaputt".
    pub(super) again: Vec<Vec<String>>,
    /// Things going wrong with an order, which make "again" or "the third time" a complaint.
    pub(super) problems: Vec<String>,
    /// "For the second time", "zum dritten Mal", "voor de derde keer", "pela terceira vez": an
    /// ordinal of two or more, then a word for "time".
    pub(super) ordinals: Vec<String>,
    /// "Time" as in "for the third time", "last time".
    pub(super) time_words: Vec<String>,
    /// "I already asked", "j'ai déjà demandé", "hab ich schon gefragt", "ya te lo pregunté", "l'ho
    /// già chiesto", "heb ik al gevraagd", "já perguntei": an already word near a verb of asking or
    /// telling.
    pub(super) already: Vec<String>,
    /// Past forms of asking, telling or writing ("I already asked").
    pub(super) asked: Vec<String>,
    /// Verbs of asking, writing, contacting in the present ("the third time I'm writing").
    pub(super) asking: Vec<String>,
    /// Repetition counts: "twice", "zweimal", or a count word before a word for "times" ("three
    /// times", "plusieurs fois", "dos veces", "tre volte", "drie keer", "várias vezes").
    pub(super) count_one_word: Vec<String>,
    /// Numbers and quantities followed by a word of `times_words` ("three times", "several times").
    pub(super) count_words: Vec<String>,
    /// "Times", after a count ("twice" needs none: see `count_one_word`).
    pub(super) times_words: Vec<String>,
    /// Verbs of having asked or of asking right now (not bare infinitives: "can I write the name
    /// two times" is a question about the card, not a complaint).
    pub(super) asked_or_asking: Vec<String>,
    /// "Nobody answers", "personne ne répond", "niemand antwortet", "nadie me responde", "nessuno
    /// risponde", "niemand reageert", "ninguém responde": nobody, then a verb of answering with
    /// only pronouns and auxiliaries between.
    pub(super) nobody: Vec<Vec<String>>,
    /// Verbs of answering after "nobody" ("nobody answers", "nadie responde").
    pub(super) reply_verbs: Vec<String>,
    /// Words allowed between "nobody" and the verb of answering (pronouns, auxiliaries, adverbs).
    pub(super) reply_gap: Vec<String>,
    /// Conditionals that make "nobody answers" a hypothesis ("if no one answers the door").
    pub(super) conditionals: Vec<String>,
    /// "You keep sending me the same link", "vous m'envoyez toujours la même réponse", "me sigues
    /// enviando el mismo enlace": a word of "same" before a word for an answer, in a message that
    /// says it keeps happening.
    pub(super) same: Vec<String>,
    /// What the bot keeps sending: answers, links, messages, articles.
    pub(super) reply_things: Vec<String>,
    /// Words of repetition the customer is tired of ("keeps", "always", "stop").
    pub(super) keeps: Vec<String>,
    /// "You keep sending", "I keep asking": keep, then a verb of repeating oneself.
    pub(super) keep_doing: Vec<String>,
    /// Openings of exasperation ("Seriously?", "are you kidding", "en serio", "sul serio").
    pub(super) exasperation: Vec<String>,
    /// The customer saying the answer missed the point.
    pub(super) not_answered: Vec<String>,
    /// Asking again in other words after an answer ("I asked WHEN", "yes or no, simple
    /// question", "das hab ich gelesen", "dat zei je net"): frustration only in a turn that
    /// follows the bot's answer to an earlier message.
    pub(super) reask: Vec<String>,
    /// Words that make a shouted or exclaimed message a happy one ("THANK YOU SO MUCH!!!").
    pub(super) positive: Vec<String>,
    /// Tokens that do not make a message a question worth comparing ("thanks", "ok").
    pub(super) pleasantries: Vec<String>,
}

/// Words of the escalation families (`[escalation]`).
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct Escalation {
    /// Verbs and nouns of calling someone on the phone, in their common forms.
    pub(super) call_words: Vec<String>,
    /// Other ways of getting in touch: they ask for a person only beside a phone number ("text me
    /// on 07700 900123", "you can reach me on ..."): "text me the tracking link" is not one.
    pub(super) contact_by_number: Vec<String>,
    /// Call verbs with the customer attached as a clitic ("llamarme", "richiamarmi", "ligarme").
    pub(super) call_me_words: Vec<String>,
    /// Object pronouns for the customer near a call verb ("call me", "mich anrufen", "me llamen").
    pub(super) me: Vec<String>,
    /// Articles and possessives that make a call word a noun ("a call", "my phone").
    pub(super) determiners: Vec<String>,
    /// Third parties whose calls a customer asks about ("will the driver ring me?"): not a request
    /// for the shop's people.
    pub(super) third_parties: Vec<String>,
    /// Words after "call me" that make it an idiom ("call me crazy, but ...").
    pub(super) call_me_idioms: Vec<String>,
    /// "Real" in the sense of "a human, not the bot".
    pub(super) real: Vec<String>,
    /// Words for a person, for [`REAL`] and [`ON_THE_PHONE`] to qualify.
    pub(super) person: Vec<String>,
    /// Phrases of being on the phone: "someone on the phone", "iemand aan de lijn".
    pub(super) on_the_phone: Vec<String>,
    /// Past forms of talking, which make "someone on the phone" a report of what happened.
    pub(super) talked: Vec<String>,
    /// Words that oppose the person to the bot: "a human instead of a bot", "een mens ipv een bot".
    pub(super) instead: Vec<String>,
    /// Words for the bot, opposed to a person ("a human instead of a bot").
    pub(super) bot: Vec<String>,
    /// Words that are a payment dispute by themselves.
    pub(super) dispute_words: Vec<String>,
    /// Verbs of disputing, with a payment word after them ("disputing the payment", "contester le
    /// prélèvement", "contestar a compra").
    pub(super) dispute_verbs: Vec<String>,
    /// Nouns of a dispute opened with a payment provider ("opened a dispute on PayPal", "fait
    /// opposition auprès de ma banque", "ho aperto una contestazione").
    pub(super) dispute_nouns: Vec<String>,
    /// Payment words a dispute is about.
    pub(super) payment: Vec<String>,
    /// Names of places where customers complain in public.
    pub(super) public: Vec<String>,
    /// Markers of what the customer is about to do ("I'm going to", "I'll", "je vais", "ich werde",
    /// "voy a", "vado a", "ik ga", "vou").
    pub(super) future: Vec<String>,
    /// Verbs of telling the public.
    pub(super) post: Vec<String>,
    /// Bad ratings: "1 star", "one star", "bad review", "avis négatif", "schlechte Bewertung".
    pub(super) review: Vec<String>,
    /// Words of a bad review ("a 1 star review", "une mauvaise note").
    pub(super) bad: Vec<String>,
    /// Consumer agencies, regulators and the law.
    pub(super) authorities: Vec<String>,
    /// Multi-word authorities and legal threats.
    pub(super) authority_phrases: Vec<String>,
    /// Verbs of cancelling, as an order to the shop.
    pub(super) cancel: Vec<String>,
    /// Everything / every ("cancel all my orders" may be a plain request: it is not here).
    pub(super) all: Vec<String>,
    /// "Never again": "never buying from you again", "plus jamais", "nie wieder", "nunca más", "mai
    /// più", "nooit meer", "nunca mais"; and "done with you", "you lost a customer".
    pub(super) never_again: Vec<Vec<String>>,
    /// Being done with the shop ("done with you", "fini avec vous").
    pub(super) done_with: Vec<Vec<String>>,
    /// Verbs of buying that "never ... again" is about ("never ordering from you again").
    pub(super) buy: Vec<String>,
    /// Second-person forms of reading or listening ("lisez", "liest", "leggete", "leem").
    pub(super) read_you: Vec<String>,
    /// Other forms of reading or listening, which need "you" nearby ("do you even read").
    pub(super) read: Vec<String>,
    /// "You" as the shop, before a verb of reading ("do you even read").
    pub(super) you: Vec<String>,
    /// "Even", "at least", "at all" in a question about reading.
    pub(super) even: Vec<String>,
    /// What the customer wrote (first person).
    pub(super) i_wrote: Vec<String>,
    /// Verbs of understanding ("you don't understand").
    pub(super) understand: Vec<String>,
    /// "You" as the subject of not understanding, the bot included.
    pub(super) you_forms: Vec<String>,
    /// "Worst", as in "worst company ever".
    pub(super) worst: Vec<String>,
    /// What "worst" is said of: the company, the service, "ever".
    pub(super) what: Vec<String>,
    /// "Last", as in "the last time I buy here".
    pub(super) last: Vec<String>,
    /// Verbs and nouns of buying after "last time".
    pub(super) order_verbs: Vec<String>,
    /// A claim opened with the payment provider ("PayPal claim").
    pub(super) claim: Vec<String>,
    /// Wasting, as in "a waste of my time".
    pub(super) waste: Vec<String>,
    /// "Time", after a word of `waste`.
    pub(super) waste_time: Vec<String>,
    /// Ruining, blamed on the shop ("you ruined my birthday").
    pub(super) ruined: Vec<String>,
    /// "You" (and "you have") before a word of `ruined`.
    pub(super) ruin_you: Vec<String>,
    /// Saying the answer makes no sense.
    pub(super) nonsense: Vec<String>,
    /// Sarcastic openers ("oh great", "yeah, very helpful").
    pub(super) sceptic: Vec<String>,
    /// Intensifiers inside sarcastic praise ("oh so helpful").
    pub(super) so_words: Vec<String>,
    /// Praise words that read as sarcasm after a word of `sceptic`.
    pub(super) praise: Vec<String>,
    /// Words calling the answer canned or automated.
    pub(super) canned: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The role names of a table: the fields of its struct.
    fn roles<T: Default + Serialize>() -> Vec<String> {
        match toml::Value::try_from(T::default()) {
            Ok(toml::Value::Table(table)) => table.keys().cloned().collect(),
            other => panic!("a role struct serialises to a table, not {other:?}"),
        }
    }

    #[test]
    fn the_language_files_load() {
        load().unwrap_or_else(|e| panic!("{e}"));
        assert!(words().handover.neg.contains(&"nicht".to_owned()));
        assert!(words().frustration.profanity.contains(&"merde".to_owned()));
    }

    #[test]
    fn every_language_fills_every_role_or_declares_it_lacking() {
        let mut problems = Vec::new();
        problems.extend(crate::lang::check_roles("handover", &roles::<Handover>()));
        problems.extend(crate::lang::check_roles(
            "frustration",
            &roles::<Frustration>(),
        ));
        problems.extend(crate::lang::check_roles(
            "escalation",
            &roles::<Escalation>(),
        ));
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn each_language_table_reads_on_its_own() {
        for code in crate::lang::BUILTIN_LANGUAGES {
            crate::lang::table::<Handover>(code, "handover").unwrap_or_else(|e| panic!("{e}"));
            crate::lang::table::<Frustration>(code, "frustration")
                .unwrap_or_else(|e| panic!("{e}"));
            crate::lang::table::<Escalation>(code, "escalation").unwrap_or_else(|e| panic!("{e}"));
        }
    }

    #[test]
    fn words_are_normalised_as_the_detector_sees_them() {
        let w = words();
        let tables = [
            toml::Value::try_from(&w.handover),
            toml::Value::try_from(&w.frustration),
            toml::Value::try_from(&w.escalation),
        ];
        for table in tables {
            let toml::Value::Table(table) = table.unwrap() else {
                panic!("a table")
            };
            for (role, words) in table {
                for word in words.as_array().unwrap() {
                    let phrases: Vec<String> = match word {
                        toml::Value::String(s) => vec![s.clone()],
                        toml::Value::Array(seq) => {
                            vec![
                                seq.iter()
                                    .map(|w| w.as_str().unwrap())
                                    .collect::<Vec<_>>()
                                    .join(" "),
                            ]
                        }
                        other => panic!("{role}: {other:?}"),
                    };
                    for phrase in phrases {
                        assert_eq!(
                            crate::responder::text::tokens(&phrase).join(" "),
                            phrase,
                            "{role}: {phrase:?} is not normalised"
                        );
                    }
                }
            }
        }
    }
}
