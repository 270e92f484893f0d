//! Small talk: greetings, thanks, acknowledgements and goodbyes with nothing else in them.
//!
//! Nearly every resolved chat ends with "thanks" and many start with "hi": neither is a question
//! for the knowledge base, and sending them to the responder made the bot hand over its own
//! successes as "no knowledge". A message is small talk when every word of it belongs to a
//! small-talk phrase ("thank you", "have a nice day", "d'accord", "vielen Dank") or to the filler
//! that goes with them ("so much", "for your help"), in any of the seven languages (the
//! `[smalltalk]` table of each `src/lang/<code>.toml`), and at least one phrase is there. Anything else ("thanks, but where is my parcel?", "not great") is not
//! small talk. Emoji count: a thumbs-up alone is an acknowledgement, a thumbs-down never.
//!
//! Pure and deterministic, like [`super::intent`]: what to reply is [`courtesy_for`]'s choice, the
//! text comes from the config (`handover.messages`: `greeting`, `thanks`, `goodbye`).

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use super::text;

/// What kind of small talk a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SmallTalkKind {
    /// "hi", "hello?", "bonjour".
    Greeting,
    /// "thanks!", "merci beaucoup".
    Thanks,
    /// "ok great", "perfect, that's all", a thumbs-up.
    Acknowledgement,
    /// "bye", "have a nice day", "tschüss".
    Goodbye,
}

impl SmallTalkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Greeting => "greeting",
            Self::Thanks => "thanks",
            Self::Acknowledgement => "acknowledgement",
            Self::Goodbye => "goodbye",
        }
    }

    /// When a turn mixes kinds, the one that says most about where the chat is: a goodbye ends
    /// it, thanks close a topic, an acknowledgement only follows, a greeting only opens.
    fn rank(self) -> u8 {
        match self {
            Self::Greeting => 0,
            Self::Acknowledgement => 1,
            Self::Thanks => 2,
            Self::Goodbye => 3,
        }
    }
}

/// A small-talk turn: its kind and, when its words say it, its language (ISO 639-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SmallTalk {
    pub kind: SmallTalkKind,
    pub language: Option<&'static str>,
}

/// Which courtesy message answers small talk (a key of the message set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Courtesy {
    Greeting,
    Thanks,
    Goodbye,
}

/// What to say to small talk: nothing for thanks or an acknowledgement right after the bot's
/// own reply (the customer is closing the topic; a "you're welcome" would only invite another
/// round), the matching courtesy otherwise.
pub fn courtesy_for(kind: SmallTalkKind, after_bot_reply: bool) -> Option<Courtesy> {
    match kind {
        SmallTalkKind::Greeting => Some(Courtesy::Greeting),
        SmallTalkKind::Goodbye => Some(Courtesy::Goodbye),
        SmallTalkKind::Thanks | SmallTalkKind::Acknowledgement if after_bot_reply => None,
        SmallTalkKind::Thanks | SmallTalkKind::Acknowledgement => Some(Courtesy::Thanks),
    }
}

/// Emoji that acknowledge or thank (a thumbs-up alone is an answer in chat).
const POSITIVE_EMOJI: &[char] = &[
    '👍', '👌', '🙏', '😊', '🙂', '😀', '😃', '😄', '😁', '❤', '♥', '💯', '✅', '✔', '🥰', '😍',
    '☺', '😉', '🎉', '👏', '🤝', '💪', '🤗', '😎', '🌟', '⭐', '💙', '💚', '💜', '🧡', '💛',
];

/// Emoji that greet or wave goodbye.
const WAVE_EMOJI: &[char] = &['👋'];

/// Emoji that never go with a satisfied customer: such a message is not small talk.
const NEGATIVE_EMOJI: &[char] = &[
    '👎', '😡', '😠', '🤬', '😤', '😞', '😢', '😭', '🙄', '😒', '💩', '😫', '😩', '🤦', '😑', '😐',
    '😕', '🙁', '☹', '😣', '😖',
];

/// Longest small-talk message read as small talk, in words: longer ones carry something else.
const MAX_WORDS: usize = 14;

/// Collapses letters repeated for emphasis ("thanksss", "hiii", "helloooo", "cooool"), on both
/// sides of a comparison: runs of one letter become one letter.
fn squeeze(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.chars() {
        if !out.ends_with(c) {
            out.push(c);
        }
    }
    out
}

/// The `[smalltalk]` table of a language's data file (`src/lang/<code>.toml`): its phrases by
/// kind and its filler words.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Words {
    greeting: Vec<String>,
    thanks: Vec<String>,
    acknowledgement: Vec<String>,
    goodbye: Vec<String>,
    filler: Vec<String>,
}

/// Every language's small-talk words, ready for matching.
struct Data {
    /// Each phrase once, as squeezed words, with its kind and language ("" when several
    /// languages list it), in the order of [`crate::lang::BUILTIN_LANGUAGES`] then of the file.
    phrases: Vec<(Vec<String>, SmallTalkKind, &'static str)>,
    /// The filler of all languages, squeezed.
    filler: HashSet<String>,
}

/// The data, loaded on first use. The files are compiled in and checked by the tests below, so
/// a failure here is a build that shipped broken data.
fn data() -> &'static Data {
    static DATA: OnceLock<Data> = OnceLock::new();
    DATA.get_or_init(|| match load() {
        Ok(data) => data,
        Err(e) => panic!("built-in language data: {e}"),
    })
}

fn load() -> Result<Data, String> {
    let mut listed: Vec<(String, SmallTalkKind, &'static str)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut filler = HashSet::new();
    for code in crate::lang::BUILTIN_LANGUAGES {
        let words = crate::lang::table::<Words>(code, "smalltalk")?
            .ok_or_else(|| format!("{}: no [smalltalk] table", crate::lang::file_name(code)))?;
        let by_kind = [
            (SmallTalkKind::Greeting, &words.greeting),
            (SmallTalkKind::Thanks, &words.thanks),
            (SmallTalkKind::Acknowledgement, &words.acknowledgement),
            (SmallTalkKind::Goodbye, &words.goodbye),
        ];
        for (kind, phrases) in by_kind {
            for phrase in phrases {
                match index.get(phrase) {
                    Some(&i) => {
                        let (_, first_kind, language) = &mut listed[i];
                        if *first_kind != kind {
                            return Err(format!(
                                "{}: [smalltalk] {phrase:?} is {} here but {} in another language",
                                crate::lang::file_name(code),
                                kind.as_str(),
                                first_kind.as_str()
                            ));
                        }
                        // Shared by several languages: it tells none of them.
                        *language = "";
                    }
                    None => {
                        index.insert(phrase.clone(), listed.len());
                        listed.push((phrase.clone(), kind, code));
                    }
                }
            }
        }
        filler.extend(words.filler.iter().map(|w| squeeze(w)));
    }
    let phrases = listed
        .into_iter()
        .map(|(p, kind, language)| (p.split(' ').map(squeeze).collect(), kind, language))
        .collect();
    Ok(Data { phrases, filler })
}

/// The small talk in one message, or `None` when it holds anything else (a question, a request,
/// a complaint) or is empty.
pub fn small_talk(message: &str) -> Option<SmallTalk> {
    if message.chars().any(|c| NEGATIVE_EMOJI.contains(&c)) {
        return None;
    }
    let words: Vec<String> = text::tokens(message).iter().map(|w| squeeze(w)).collect();
    if words.len() > MAX_WORDS {
        return None;
    }
    let mut kind: Option<SmallTalkKind> = None;
    let mut votes: Vec<&'static str> = Vec::new();
    let mut note = |k: SmallTalkKind, lang: &'static str| {
        if kind.is_none_or(|have| k.rank() > have.rank()) {
            kind = Some(k);
        }
        if !lang.is_empty() {
            votes.push(lang);
        }
    };
    if message.chars().any(|c| POSITIVE_EMOJI.contains(&c)) {
        note(SmallTalkKind::Acknowledgement, "");
    }
    if message.chars().any(|c| WAVE_EMOJI.contains(&c)) {
        note(SmallTalkKind::Greeting, "");
    }
    let Data {
        phrases: table,
        filler,
    } = data();
    let mut i = 0;
    while i < words.len() {
        let longest = table
            .iter()
            .filter(|(p, ..)| words[i..].starts_with(p))
            .max_by_key(|(p, ..)| p.len());
        if let Some((p, k, lang)) = longest {
            note(*k, lang);
            i += p.len();
        } else if filler.contains(&words[i]) {
            i += 1;
        } else {
            return None;
        }
    }
    let kind = kind?;
    // "hello?" checks someone is there; "thanks?" or "ok?" asks something the words do not say.
    if kind != SmallTalkKind::Greeting && message.contains('?') {
        return None;
    }
    Some(SmallTalk {
        kind,
        language: majority(&votes),
    })
}

/// The most frequent language among the phrases, the first seen on a tie.
fn majority(votes: &[&'static str]) -> Option<&'static str> {
    let mut best: Option<(&'static str, usize)> = None;
    for v in votes {
        let n = votes.iter().filter(|w| *w == v).count();
        if best.is_none_or(|(_, m)| n > m) {
            best = Some((v, n));
        }
    }
    best.map(|(v, _)| v)
}

/// A whole turn (the customer's unanswered messages) as small talk: every message must be small
/// talk ("hi" then "where is my order?" is a question). The kinds combine as
/// [`SmallTalkKind::rank`] says; the language is the latest message's that names one.
pub fn turn_small_talk(messages: &[String]) -> Option<SmallTalk> {
    let mut turn: Option<SmallTalk> = None;
    for m in messages {
        let one = small_talk(m)?;
        turn = Some(match turn {
            None => one,
            Some(t) => SmallTalk {
                kind: if one.kind.rank() >= t.kind.rank() {
                    one.kind
                } else {
                    t.kind
                },
                language: one.language.or(t.language),
            },
        });
    }
    turn
}

/// The languages small talk is recognised in (the eval files are checked against them).
#[cfg(test)]
pub(crate) fn tests_languages() -> &'static [&'static str] {
    &crate::lang::BUILTIN_LANGUAGES
}

#[cfg(test)]
mod tests {
    use super::SmallTalkKind::{Acknowledgement as A, Goodbye as B, Greeting as G, Thanks as T};
    use super::*;

    #[test]
    fn every_language_fills_every_small_talk_role() {
        let roles = match toml::Value::try_from(Words::default()) {
            Ok(toml::Value::Table(table)) => table.keys().cloned().collect::<Vec<_>>(),
            other => panic!("the role struct serialises to a table, not {other:?}"),
        };
        assert_eq!(roles.len(), 5, "{roles:?}");
        let problems = crate::lang::check_roles("smalltalk", &roles);
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        load().unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn small_talk_words_are_normalised_as_the_detector_sees_them() {
        for code in crate::lang::BUILTIN_LANGUAGES {
            let words = crate::lang::table::<Words>(code, "smalltalk")
                .unwrap()
                .unwrap();
            let all = [
                &words.greeting,
                &words.thanks,
                &words.acknowledgement,
                &words.goodbye,
                &words.filler,
            ];
            for phrase in all.into_iter().flatten() {
                assert_eq!(
                    text::tokens(phrase).join(" "),
                    *phrase,
                    "{code}: {phrase:?} is not written as the detector sees it"
                );
            }
        }
    }

    #[test]
    fn a_phrase_of_several_languages_says_nothing_of_the_language() {
        let shared = |p: &str| {
            data()
                .phrases
                .iter()
                .find(|(words, ..)| words.join(" ") == p)
                .map(|(_, _, language)| *language)
        };
        assert_eq!(shared("ok"), Some(""));
        assert_eq!(shared("super"), Some(""));
        assert_eq!(shared("merci"), Some("fr"));
        assert_eq!(small_talk("super").and_then(|s| s.language), None);
        assert_eq!(
            small_talk("super merci").and_then(|s| s.language),
            Some("fr")
        );
    }

    fn kind(text: &str) -> Option<SmallTalkKind> {
        small_talk(text).map(|s| s.kind)
    }

    #[test]
    fn greetings_thanks_acknowledgements_and_goodbyes_are_small_talk() {
        let cases: &[(&str, SmallTalkKind)] = &[
            ("hi", G),
            ("Hello?", G),
            ("hiii there", G),
            ("Good morning!", G),
            ("Bonjour", G),
            ("Hallo zusammen", G),
            ("hola buenas", G),
            ("Ciao!", G),
            ("goedemorgen", G),
            ("Olá, bom dia", G),
            ("👋", G),
            ("thanks!", T),
            ("Thank you so much for your help!!", T),
            ("thx a lot", T),
            ("merci", T),
            ("Merci beaucoup pour votre aide", T),
            ("Vielen Dank!", T),
            ("muchas gracias", T),
            ("grazie mille", T),
            ("dank je wel", T),
            ("muito obrigada", T),
            ("ok great, thanks", T),
            ("no thanks, that's all", T),
            ("ok great", A),
            ("perfect, that's all", A),
            ("👍", A),
            ("👍🏻", A),
            ("got it 👌", A),
            ("d'accord, c'est noté", A),
            ("alles klar", A),
            ("vale, perfecto", A),
            ("va bene", A),
            ("oké, duidelijk", A),
            ("tá bom", A),
            ("bye", B),
            ("thanks, have a nice day!", B),
            ("Au revoir, bonne journée", B),
            ("Danke, tschüss!", B),
            ("adiós", B),
            ("arrivederci", B),
            ("tot ziens", B),
            ("tchau, obrigado", B),
        ];
        for (text, want) in cases {
            assert_eq!(kind(text), Some(*want), "{text}");
        }
    }

    #[test]
    fn anything_more_than_small_talk_is_not_small_talk() {
        for text in [
            "hi, where is my order?",
            "Hello, can I return a sweater?",
            "thanks, but my parcel still hasn't arrived",
            "ok but how long does shipping take",
            "not great",
            "thanks for nothing",
            "ok?",
            "thanks?",
            "👎",
            "ok 😡",
            "",
            "?",
            "...",
            "really",
            "help",
            "yes I want a refund",
            "Bonjour, je voudrais retourner un article",
            "Hallo, wo ist meine Bestellung?",
            "great, just great. still no parcel",
            "thanks thanks thanks thanks thanks thanks thanks thanks thanks thanks thanks thanks \
             thanks thanks thanks",
        ] {
            assert_eq!(small_talk(text), None, "{text}");
        }
    }

    #[test]
    fn the_language_comes_from_the_words() {
        let lang = |t: &str| small_talk(t).and_then(|s| s.language);
        assert_eq!(lang("merci !"), Some("fr"));
        assert_eq!(lang("Vielen Dank"), Some("de"));
        assert_eq!(lang("gracias"), Some("es"));
        assert_eq!(lang("grazie"), Some("it"));
        assert_eq!(lang("bedankt"), Some("nl"));
        assert_eq!(lang("obrigado"), Some("pt"));
        assert_eq!(lang("thanks"), Some("en"));
        assert_eq!(lang("ok"), None);
        assert_eq!(lang("👍"), None);
        assert_eq!(lang("ok super merci"), Some("fr"));
    }

    #[test]
    fn a_turn_is_small_talk_only_when_every_message_is() {
        let turn =
            |m: &[&str]| turn_small_talk(&m.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(turn(&["hi", "thanks"]).map(|s| s.kind), Some(T));
        assert_eq!(turn(&["merci", "👍"]).map(|s| s.language), Some(Some("fr")));
        assert_eq!(turn(&["hi", "where is my order?"]), None);
        assert_eq!(turn(&[]), None);
    }

    #[test]
    fn thanks_right_after_a_reply_gets_no_courtesy() {
        assert_eq!(courtesy_for(T, true), None);
        assert_eq!(courtesy_for(A, true), None);
        assert_eq!(courtesy_for(T, false), Some(Courtesy::Thanks));
        assert_eq!(courtesy_for(A, false), Some(Courtesy::Thanks));
        assert_eq!(courtesy_for(G, true), Some(Courtesy::Greeting));
        assert_eq!(courtesy_for(B, true), Some(Courtesy::Goodbye));
    }
}
