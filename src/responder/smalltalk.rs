//! Small talk: greetings, thanks, acknowledgements and goodbyes with nothing else in them.
//!
//! Nearly every resolved chat ends with "thanks" and many start with "hi": neither is a question
//! for the knowledge base, and sending them to the responder made the bot hand over its own
//! successes as "no knowledge". A message is small talk when every word of it belongs to a
//! small-talk phrase ("thank you", "have a nice day", "d'accord", "vielen Dank") or to the filler
//! that goes with them ("so much", "for your help"), in any of the seven languages, and at least
//! one phrase is there. Anything else ("thanks, but where is my parcel?", "not great") is not
//! small talk. Emoji count: a thumbs-up alone is an acknowledgement, a thumbs-down never.
//!
//! Pure and deterministic, like [`super::intent`]: what to reply is [`courtesy_for`]'s choice, the
//! text comes from the config (`handover.messages`: `greeting`, `thanks`, `goodbye`).

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

use SmallTalkKind::{Acknowledgement as A, Goodbye as B, Greeting as G, Thanks as T};

/// Small-talk phrases: words (normalised: lowercase, no diacritics, apostrophes as breaks), kind,
/// language ("" when the words are shared by several languages).
const PHRASES: &[(&str, SmallTalkKind, &str)] = &[
    // English
    ("hi", G, "en"),
    ("hello", G, "en"),
    ("hey", G, ""),
    ("hiya", G, "en"),
    ("heya", G, "en"),
    ("howdy", G, "en"),
    ("yo", G, "en"),
    ("good morning", G, "en"),
    ("good afternoon", G, "en"),
    ("good evening", G, "en"),
    ("morning", G, "en"),
    ("greetings", G, "en"),
    ("how are you", G, "en"),
    ("how r u", G, "en"),
    ("how are u", G, "en"),
    ("how s it going", G, "en"),
    ("thanks", T, "en"),
    ("thank you", T, "en"),
    ("thank u", T, "en"),
    ("thankyou", T, "en"),
    ("thx", T, "en"),
    ("thnx", T, "en"),
    ("thanx", T, "en"),
    ("thnks", T, "en"),
    ("tnx", T, "en"),
    ("tks", T, "en"),
    ("ty", T, "en"),
    ("tyvm", T, "en"),
    ("tysm", T, "en"),
    ("cheers", T, "en"),
    ("many thanks", T, "en"),
    ("much appreciated", T, "en"),
    ("appreciated", T, "en"),
    ("appreciate it", T, "en"),
    ("i appreciate it", T, "en"),
    ("no thanks", T, "en"),
    ("no thank you", T, "en"),
    ("ok", A, ""),
    ("okay", A, ""),
    ("k", A, ""),
    ("kk", A, ""),
    ("okie", A, "en"),
    ("alright", A, "en"),
    ("all right", A, "en"),
    ("great", A, "en"),
    ("perfect", A, ""),
    ("cool", A, ""),
    ("awesome", A, "en"),
    ("nice", A, "en"),
    ("fine", A, "en"),
    ("good", A, "en"),
    ("excellent", A, ""),
    ("brilliant", A, "en"),
    ("grand", A, "en"),
    ("sorted", A, "en"),
    ("all sorted", A, "en"),
    ("brill", A, "en"),
    ("ace", A, "en"),
    ("fab", A, "en"),
    ("fabulous", A, "en"),
    ("np", A, "en"),
    ("nice one", A, "en"),
    ("good to know", A, "en"),
    ("i ll wait", A, "en"),
    ("i will wait", A, "en"),
    ("will wait", A, "en"),
    ("i ll check", A, "en"),
    ("i ll have a look", A, "en"),
    ("i ll try", A, "en"),
    ("will try", A, "en"),
    ("lovely", A, "en"),
    ("wonderful", A, "en"),
    ("amazing", A, "en"),
    ("fantastic", A, "en"),
    ("super", A, ""),
    ("top", A, ""),
    ("yes", A, "en"),
    ("yep", A, "en"),
    ("yup", A, "en"),
    ("got it", A, "en"),
    ("gotcha", A, "en"),
    ("understood", A, "en"),
    ("noted", A, "en"),
    ("i see", A, "en"),
    ("sounds good", A, "en"),
    ("makes sense", A, "en"),
    ("fair enough", A, "en"),
    ("will do", A, "en"),
    ("no worries", A, "en"),
    ("no problem", A, "en"),
    ("all good", A, "en"),
    ("all set", A, "en"),
    ("i m good", A, "en"),
    ("i am good", A, "en"),
    ("that works", A, "en"),
    ("that helps", A, "en"),
    ("that helped", A, "en"),
    ("that was helpful", A, "en"),
    ("very helpful", A, "en"),
    ("helpful", A, "en"),
    ("that s all", A, "en"),
    ("that is all", A, "en"),
    ("that s it", A, "en"),
    ("that s everything", A, "en"),
    ("that was all", A, "en"),
    ("that was it", A, "en"),
    ("nothing else", A, "en"),
    ("nothing more", A, "en"),
    ("that s all i needed", A, "en"),
    ("that s what i needed", A, "en"),
    ("that answers my question", A, "en"),
    ("that answers it", A, "en"),
    ("i ll try that", A, "en"),
    ("i will try that", A, "en"),
    ("bye", B, "en"),
    ("goodbye", B, "en"),
    ("bye bye", B, "en"),
    ("see you", B, "en"),
    ("see ya", B, "en"),
    ("cya", B, "en"),
    ("take care", B, "en"),
    ("good night", B, "en"),
    ("have a nice day", B, "en"),
    ("have a good day", B, "en"),
    ("have a great day", B, "en"),
    ("have a good one", B, "en"),
    ("have a nice weekend", B, "en"),
    ("have a good weekend", B, "en"),
    ("have a great weekend", B, "en"),
    ("have a good evening", B, "en"),
    ("have a nice evening", B, "en"),
    ("have a lovely day", B, "en"),
    ("have a nice one", B, "en"),
    ("enjoy your day", B, "en"),
    ("speak soon", B, "en"),
    ("talk soon", B, "en"),
    ("you too", B, "en"),
    // French
    ("bonjour", G, "fr"),
    ("bonsoir", G, "fr"),
    ("salut", G, "fr"),
    ("coucou", G, "fr"),
    ("ca va", G, "fr"),
    ("comment allez vous", G, "fr"),
    ("merci", T, "fr"),
    ("merci bien", T, "fr"),
    ("merci beaucoup", T, "fr"),
    ("mille mercis", T, "fr"),
    ("je vous remercie", T, "fr"),
    ("je te remercie", T, "fr"),
    ("non merci", T, "fr"),
    ("d accord", A, "fr"),
    ("dac", A, "fr"),
    ("parfait", A, "fr"),
    ("genial", A, ""),
    ("tres bien", A, "fr"),
    ("c est bon", A, "fr"),
    ("c est parfait", A, "fr"),
    ("c est note", A, "fr"),
    ("c est tout", A, "fr"),
    ("ce sera tout", A, "fr"),
    ("c etait tout", A, "fr"),
    ("rien d autre", A, "fr"),
    ("c est clair", A, "fr"),
    ("ca marche", A, "fr"),
    ("entendu", A, "fr"),
    ("compris", A, "fr"),
    ("nickel", A, "fr"),
    ("oui", A, "fr"),
    ("ca m aide", A, "fr"),
    ("au revoir", B, "fr"),
    ("bonne journee", B, "fr"),
    ("bonne soiree", B, "fr"),
    ("bonne fin de journee", B, "fr"),
    ("bon week end", B, "fr"),
    ("bon weekend", B, "fr"),
    ("a bientot", B, "fr"),
    ("a plus", B, "fr"),
    ("vous aussi", B, "fr"),
    // German
    ("hallo", G, "de"),
    ("guten tag", G, "de"),
    ("guten morgen", G, "de"),
    ("guten abend", G, "de"),
    ("moin", G, "de"),
    ("servus", G, "de"),
    ("gruss gott", G, "de"),
    ("gruezi", G, "de"),
    ("wie geht s", G, "de"),
    ("wie geht es ihnen", G, "de"),
    ("danke", T, "de"),
    ("dank", T, ""),
    ("danke schon", T, "de"),
    ("dankeschon", T, "de"),
    ("vielen dank", T, "de"),
    ("besten dank", T, "de"),
    ("herzlichen dank", T, "de"),
    ("tausend dank", T, "de"),
    ("nein danke", T, "de"),
    ("alles klar", A, "de"),
    ("perfekt", A, "de"),
    ("prima", A, ""),
    ("gut", A, "de"),
    ("sehr gut", A, "de"),
    ("toll", A, "de"),
    ("klasse", A, "de"),
    ("verstanden", A, "de"),
    ("in ordnung", A, "de"),
    ("passt", A, "de"),
    ("alles gut", A, "de"),
    ("hat geklappt", A, "de"),
    ("hat funktioniert", A, "de"),
    ("das wars", A, "de"),
    ("das war s", A, "de"),
    ("das ist alles", A, "de"),
    ("das war alles", A, "de"),
    ("mehr nicht", A, "de"),
    ("sonst nichts", A, "de"),
    ("das hilft", A, "de"),
    ("ja", A, "de"),
    ("tschuss", B, "de"),
    ("tschau", B, "de"),
    ("auf wiedersehen", B, "de"),
    ("bis bald", B, "de"),
    ("bis dann", B, "de"),
    ("machs gut", B, "de"),
    ("schonen tag", B, "de"),
    ("schonen tag noch", B, "de"),
    ("einen schonen tag", B, "de"),
    ("schonen abend", B, "de"),
    ("schones wochenende", B, "de"),
    ("ihnen auch", B, "de"),
    ("gleichfalls", B, "de"),
    // Spanish
    ("hola", G, "es"),
    ("buenos dias", G, "es"),
    ("buenas tardes", G, "es"),
    ("buenas noches", G, "es"),
    ("buenas", G, "es"),
    ("buen dia", G, "es"),
    ("que tal", G, "es"),
    ("como estas", G, "es"),
    ("como esta", G, "es"),
    ("gracias", T, "es"),
    ("muchas gracias", T, "es"),
    ("mil gracias", T, "es"),
    ("se agradece", T, "es"),
    ("no gracias", T, "es"),
    ("vale", A, "es"),
    ("perfecto", A, "es"),
    ("de acuerdo", A, "es"),
    ("entendido", A, ""),
    ("muy bien", A, "es"),
    ("esta bien", A, "es"),
    ("listo", A, "es"),
    ("eso es todo", A, "es"),
    ("eso era todo", A, "es"),
    ("era todo", A, "es"),
    ("nada mas", A, "es"),
    ("todo claro", A, "es"),
    ("claro", A, "es"),
    ("bueno", A, "es"),
    ("estupendo", A, "es"),
    ("excelente", A, ""),
    ("muy amable", A, "es"),
    ("que amable", A, "es"),
    ("todo bien", A, "es"),
    ("si", A, "es"),
    ("adios", B, "es"),
    ("hasta luego", B, "es"),
    ("hasta pronto", B, "es"),
    ("hasta manana", B, "es"),
    ("nos vemos", B, "es"),
    ("chao", B, "es"),
    ("que tenga un buen dia", B, "es"),
    ("que tengas un buen dia", B, "es"),
    ("buen fin de semana", B, "es"),
    ("igualmente", B, "es"),
    // Italian
    ("ciao", G, "it"),
    ("salve", G, "it"),
    ("buongiorno", G, "it"),
    ("buonasera", G, "it"),
    ("come va", G, "it"),
    ("come stai", G, "it"),
    ("grazie", T, "it"),
    ("grazie mille", T, "it"),
    ("grazie tante", T, "it"),
    ("ti ringrazio", T, "it"),
    ("la ringrazio", T, "it"),
    ("no grazie", T, "it"),
    ("va bene", A, "it"),
    ("perfetto", A, "it"),
    ("ottimo", A, "it"),
    ("d accordo", A, "it"),
    ("capito", A, "it"),
    ("tutto chiaro", A, "it"),
    ("benissimo", A, "it"),
    ("bene", A, "it"),
    ("fantastico", A, "it"),
    ("gentilissimo", A, "it"),
    ("gentilissima", A, "it"),
    ("gentilissimi", A, "it"),
    ("gentile", A, "it"),
    ("e tutto", A, "it"),
    ("era tutto", A, "it"),
    ("niente altro", A, "it"),
    ("nient altro", A, "it"),
    ("arrivederci", B, "it"),
    ("buona giornata", B, "it"),
    ("buona serata", B, "it"),
    ("a presto", B, "it"),
    ("alla prossima", B, "it"),
    ("buon fine settimana", B, "it"),
    ("altrettanto", B, "it"),
    // Dutch
    ("hoi", G, "nl"),
    ("hallo daar", G, "nl"),
    ("goedemorgen", G, "nl"),
    ("goedemiddag", G, "nl"),
    ("goedenavond", G, "nl"),
    ("goedendag", G, "nl"),
    ("hoe gaat het", G, "nl"),
    ("bedankt", T, "nl"),
    ("dank je", T, "nl"),
    ("dank u", T, "nl"),
    ("dankjewel", T, "nl"),
    ("dankuwel", T, "nl"),
    ("dank je wel", T, "nl"),
    ("dank u wel", T, "nl"),
    ("hartelijk dank", T, "nl"),
    ("nee bedankt", T, "nl"),
    ("oke", A, "nl"),
    ("helder", A, "nl"),
    ("duidelijk", A, "nl"),
    ("begrepen", A, "nl"),
    ("in orde", A, "nl"),
    ("goed zo", A, "nl"),
    ("mooi", A, "nl"),
    ("fijn", A, "nl"),
    ("geweldig", A, "nl"),
    ("helemaal goed", A, "nl"),
    ("is goed", A, "nl"),
    ("komt goed", A, "nl"),
    ("dat was het", A, "nl"),
    ("dat was alles", A, "nl"),
    ("dat is alles", A, "nl"),
    ("verder niets", A, "nl"),
    ("doei", B, "nl"),
    ("dag", B, "nl"),
    ("tot ziens", B, "nl"),
    ("tot later", B, "nl"),
    ("fijne dag", B, "nl"),
    ("fijne dag nog", B, "nl"),
    ("nog een fijne dag", B, "nl"),
    ("prettige dag", B, "nl"),
    ("fijn weekend", B, "nl"),
    // Portuguese
    ("ola", G, "pt"),
    ("oi", G, "pt"),
    ("bom dia", G, "pt"),
    ("boa tarde", G, "pt"),
    ("boa noite", G, "pt"),
    ("tudo bom", G, "pt"),
    ("como vai", G, "pt"),
    ("obrigado", T, "pt"),
    ("obrigada", T, "pt"),
    ("muito obrigado", T, "pt"),
    ("muito obrigada", T, "pt"),
    ("brigado", T, "pt"),
    ("brigada", T, "pt"),
    ("valeu", T, "pt"),
    ("vlw", T, "pt"),
    ("obg", T, "pt"),
    ("obrigadao", T, "pt"),
    ("obrigadinho", T, "pt"),
    ("obrigadinha", T, "pt"),
    ("nao obrigado", T, "pt"),
    ("nao obrigada", T, "pt"),
    ("ta bom", A, "pt"),
    ("ta", A, "pt"),
    ("beleza", A, "pt"),
    ("perfeito", A, "pt"),
    ("otimo", A, "pt"),
    ("entendi", A, "pt"),
    ("certo", A, "pt"),
    ("combinado", A, "pt"),
    ("tudo bem", A, "pt"),
    ("tudo certo", A, "pt"),
    ("e isso", A, "pt"),
    ("so isso", A, "pt"),
    ("era so isso", A, "pt"),
    ("era isso", A, "pt"),
    ("nada mais", A, "pt"),
    ("legal", A, "pt"),
    ("show", A, "pt"),
    ("sim", A, "pt"),
    ("tchau", B, "pt"),
    ("adeus", B, "pt"),
    ("ate logo", B, "pt"),
    ("ate mais", B, "pt"),
    ("ate breve", B, "pt"),
    ("tenha um bom dia", B, "pt"),
    ("bom fim de semana", B, "pt"),
];

/// Words that go with small talk without changing it: intensifiers, "for your help", "again",
/// addressing the team. Never enough on their own (a message of filler only is not small talk).
const FILLER: &[&str] = &[
    // en
    "no",
    "nope",
    "nah",
    "stuff",
    "news",
    "right",
    "yes",
    "bcp",
    "lieben",
    "vielen",
    "so",
    "very",
    "much",
    "a",
    "lot",
    "again",
    "you",
    "u",
    "for",
    "the",
    "your",
    "all",
    "help",
    "info",
    "information",
    "answer",
    "reply",
    "response",
    "quick",
    "fast",
    "really",
    "guys",
    "team",
    "there",
    "everyone",
    "folks",
    "oh",
    "ah",
    "and",
    "just",
    "now",
    "then",
    "well",
    "that",
    "this",
    "it",
    "is",
    "s",
    "was",
    "thats",
    "indeed",
    "too",
    "once",
    "kind",
    "kindly",
    "sir",
    "madam",
    "mate",
    "dear",
    "lol",
    "haha",
    "wow",
    "yay",
    "sweet",
    "ha",
    "hmm",
    "um",
    "great",
    "quickly",
    "support",
    "assistance",
    "everything",
    "bot", // fr
    "pour",
    "votre",
    "ton",
    "ta",
    "vos",
    "aide",
    "beaucoup",
    "encore",
    "bien",
    "vous",
    "tous",
    "tout",
    "le",
    "la",
    "l",
    "reponse",
    "infos",
    "et",
    "alors",
    "ah",
    "ok",
    "oh",
    "vraiment",
    "a",
    "toi",
    "rapide",
    "madame",
    "monsieur", // de
    "fur",
    "ihre",
    "die",
    "hilfe",
    "auch",
    "nochmal",
    "sehr",
    "noch",
    "ihnen",
    "dir",
    "euch",
    "antwort",
    "mal",
    "zusammen",
    "und",
    "echt",
    "schnelle",
    "info",
    "nett", // es
    "por",
    "su",
    "tu",
    "ayuda",
    "todo",
    "muy",
    "de",
    "nuevo",
    "respuesta",
    "informacion",
    "y",
    "pues",
    "bueno",
    "todos",
    "ti",
    "usted",
    "rapida", // it
    "per",
    "il",
    "aiuto",
    "tante",
    "molto",
    "di",
    "tutto",
    "risposta",
    "e",
    "ancora",
    "davvero",
    "tutti",
    "cuore", // nl
    "voor",
    "hulp",
    "je",
    "wel",
    "heel",
    "erg",
    "veel",
    "het",
    "antwoord",
    "nog",
    "even",
    "en",
    "jullie",
    "snelle", // pt
    "pela",
    "pelo",
    "ajuda",
    "sua",
    "muito",
    "resposta",
    "informacao",
    "mais",
    "vez",
    "voce",
    "vc",
    "rapida",
];

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

/// The phrases, each as squeezed words, once per process.
fn phrase_table() -> &'static [(Vec<String>, SmallTalkKind, &'static str)] {
    static TABLE: std::sync::OnceLock<Vec<(Vec<String>, SmallTalkKind, &'static str)>> =
        std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        PHRASES
            .iter()
            .map(|(p, kind, lang)| (p.split(' ').map(squeeze).collect(), *kind, *lang))
            .collect()
    })
}

fn filler_table() -> &'static std::collections::HashSet<String> {
    static TABLE: std::sync::OnceLock<std::collections::HashSet<String>> =
        std::sync::OnceLock::new();
    TABLE.get_or_init(|| FILLER.iter().map(|w| squeeze(w)).collect())
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
    let table = phrase_table();
    let filler = filler_table();
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
    use super::*;

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
