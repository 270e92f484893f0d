//! The messages the bot writes in each language: the handover templates, the courtesy replies
//! and the words that stand in for a missing placeholder value, with their built-in
//! translations.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::builtin;

/// The keys of a message set, in the order of [`MessageTemplates::get`]: the handover messages,
/// then the courtesy replies to small talk.
pub(super) const MESSAGE_KEYS: [&str; 7] = [
    "online",
    "no_agents",
    "after_hours",
    "email_request",
    "greeting",
    "thanks",
    "goodbye",
];

pub use crate::lang::{BUILTIN_LANGUAGES, language_code};

/// The words a handover message gets where a placeholder has no value, in one language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FillIns {
    /// For `{next_open}` when the next opening is unknown: "soon".
    pub next_open: &'static str,
    /// For `{customer_name}` when the customer has no name: "there" ("Hi there"). Empty means
    /// the placeholder goes with the space before it ("Hallo {customer_name}," -> "Hallo,"):
    /// most languages greet without a stand-in word.
    pub customer_name: &'static str,
    /// For `{email}` when no address is known: "your email".
    pub email: &'static str,
}

impl FillIns {
    /// The words in `language` (a lower-case ISO 639-1 code, see [`language_code`]); English
    /// for `None` and for languages without built-in words.
    pub fn for_language(language: Option<&str>) -> FillIns {
        language
            .and_then(builtin::fill_ins)
            .unwrap_or_else(|| builtin::english().fill_ins())
    }
}

/// Every ISO 639-1 code: a `[handover.messages.xx]` table must name one of these.
pub(super) const ISO_639_1: &str = "aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce \
ch co cr cs cu cv cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha \
he hi ho hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku \
kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv \
ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st \
su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu";

/// One language's messages: the handover templates (`{next_open}`, `{email}`, `{customer_name}`)
/// and the courtesy replies to small talk.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageTemplates {
    /// Within business hours, an agent available.
    pub online: String,
    /// Within business hours, nobody available.
    pub no_agents: String,
    /// Outside business hours.
    pub after_hours: String,
    /// Asking for the customer's email before the handover.
    pub email_request: String,
    /// The courtesy reply to a greeting ("hi", "bonjour") with nothing else in it.
    pub greeting: String,
    /// The courtesy reply to thanks or an acknowledgement that does not follow a bot reply
    /// (right after one, the bot stays quiet).
    pub thanks: String,
    /// The courtesy reply to a goodbye ("bye", "have a nice day").
    pub goodbye: String,
}

impl MessageTemplates {
    /// The built-in English templates (the default when nothing is configured).
    pub fn english() -> MessageTemplates {
        builtin::english().messages.clone()
    }

    /// The built-in templates in `language` (a lower-case ISO 639-1 code), if it is one of
    /// [`BUILTIN_LANGUAGES`].
    pub fn builtin(language: &str) -> Option<MessageTemplates> {
        builtin::messages(language).cloned()
    }

    /// The template of `MESSAGE_KEYS[i]`.
    pub(super) fn get(&self, i: usize) -> &str {
        match i {
            0 => &self.online,
            1 => &self.no_agents,
            2 => &self.after_hours,
            3 => &self.email_request,
            4 => &self.greeting,
            5 => &self.thanks,
            _ => &self.goodbye,
        }
    }

    pub(super) fn get_mut(&mut self, i: usize) -> &mut String {
        match i {
            0 => &mut self.online,
            1 => &mut self.no_agents,
            2 => &mut self.after_hours,
            3 => &mut self.email_request,
            4 => &mut self.greeting,
            5 => &mut self.thanks,
            _ => &mut self.goodbye,
        }
    }
}

/// `[handover.messages]` and `[handover.messages.LANG]`, resolved: `default` for tickets in no
/// known language, `languages` (key: lower-case ISO 639-1 code) for the rest. Each language's
/// set is complete; per key it is the configured `[handover.messages.LANG]` text, else the
/// configured default if it differs from the built-in English one (a team's own wording is
/// never replaced by a built-in translation), else the built-in translation, else the default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandoverMessages {
    pub default: MessageTemplates,
    pub languages: BTreeMap<String, MessageTemplates>,
}

impl HandoverMessages {
    /// The built-in messages: English as the default, a set for each of [`BUILTIN_LANGUAGES`].
    pub fn builtin() -> HandoverMessages {
        HandoverMessages {
            default: MessageTemplates::english(),
            languages: BUILTIN_LANGUAGES
                .iter()
                .filter_map(|code| Some((code.to_string(), MessageTemplates::builtin(code)?)))
                .collect(),
        }
    }

    /// The templates for a ticket in `language` as Gorgias gives it ("fr", "FR", "fr-FR",
    /// "pt_BR"); no language, or one without a set, gets the default.
    pub fn for_language(&self, language: Option<&str>) -> &MessageTemplates {
        language
            .and_then(language_code)
            .and_then(|code| self.languages.get(&code))
            .unwrap_or(&self.default)
    }
}
