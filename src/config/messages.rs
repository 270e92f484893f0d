//! The messages the bot writes in each language: the handover templates, the courtesy replies
//! and the words that stand in for a missing placeholder value, with their built-in
//! translations.

use std::collections::BTreeMap;

pub(super) const DEFAULT_ONLINE: &str = "Thanks for your patience! I'm passing you to a member of our team now. They will reply here shortly.";
pub(super) const DEFAULT_NO_AGENTS: &str = "I've passed your conversation to our team. Everyone is busy right now, but someone will get back to you as soon as possible.";
pub(super) const DEFAULT_AFTER_HOURS: &str =
    "Our team is offline right now. We open again {next_open} and will get back to you then.";
pub(super) const DEFAULT_EMAIL_REQUEST: &str =
    "Before I pass you to our team, could you share your email address so we can follow up?";
pub(super) const DEFAULT_GREETING: &str = "Hello! How can I help you today?";
pub(super) const DEFAULT_THANKS: &str =
    "You're welcome! Is there anything else I can help you with?";
pub(super) const DEFAULT_GOODBYE: &str = "Thank you for contacting us. Have a great day!";

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

/// The languages with built-in handover messages (the intent detector's languages).
pub const BUILTIN_LANGUAGES: [&str; 7] = ["en", "fr", "de", "es", "it", "nl", "pt"];

/// Built-in translations of the seven default messages, in `MESSAGE_KEYS` order. `{next_open}`
/// renders in the message's language as a phrase of time ("lundi à 09:00 CET", "am Montag um
/// 09:00 CET", see [`crate::hours::NextOpen::describe`]), or as the language's "soon" ([`FillIns`]), so
/// the sentence must read with either. Formal address (vous, Sie, usted, Lei, u); Portuguese
/// reads for both Brazil and Portugal.
const BUILTIN_TRANSLATIONS: [(&str, [&str; 7]); 6] = [
    (
        "fr",
        [
            "Merci de votre patience ! Je transmets votre demande à un membre de notre équipe, qui vous répondra ici dans quelques instants.",
            "J'ai transmis votre conversation à notre équipe. Tout le monde est occupé pour le moment, mais quelqu'un vous répondra dès que possible.",
            "Notre équipe est absente pour le moment. Nous serons de retour {next_open} et vous répondrons à ce moment-là.",
            "Avant de vous mettre en relation avec notre équipe, pourriez-vous m'indiquer votre adresse e-mail afin que nous puissions assurer le suivi ?",
            "Bonjour ! Comment puis-je vous aider ?",
            "Avec plaisir ! Puis-je vous aider pour autre chose ?",
            "Merci de nous avoir contactés. Excellente journée !",
        ],
    ),
    (
        "de",
        [
            "Vielen Dank für Ihre Geduld! Ich leite Sie jetzt an ein Mitglied unseres Teams weiter. Sie erhalten hier in Kürze eine Antwort.",
            "Ich habe Ihr Gespräch an unser Team weitergeleitet. Im Moment sind alle beschäftigt, aber wir melden uns so schnell wie möglich bei Ihnen.",
            "Unser Team ist gerade nicht erreichbar. Wir sind {next_open} wieder für Sie da und melden uns dann bei Ihnen.",
            "Bevor ich Sie an unser Team weiterleite: Könnten Sie mir Ihre E-Mail-Adresse nennen, damit wir uns bei Ihnen melden können?",
            "Hallo! Wie kann ich Ihnen helfen?",
            "Gern geschehen! Kann ich Ihnen sonst noch helfen?",
            "Vielen Dank für Ihre Nachricht. Einen schönen Tag noch!",
        ],
    ),
    (
        "es",
        [
            "¡Gracias por su paciencia! Le paso ahora con un miembro de nuestro equipo, que le responderá aquí en breve.",
            "He pasado su conversación a nuestro equipo. En este momento todos están ocupados, pero alguien le responderá lo antes posible.",
            "Nuestro equipo no está disponible en este momento. Volvemos {next_open} y le responderemos entonces.",
            "Antes de pasarle con nuestro equipo, ¿podría indicarnos su dirección de correo electrónico para que podamos hacer el seguimiento?",
            "¡Hola! ¿En qué puedo ayudarle?",
            "¡De nada! ¿Puedo ayudarle en algo más?",
            "Gracias por contactarnos. ¡Que tenga un buen día!",
        ],
    ),
    (
        "it",
        [
            "Grazie per la pazienza! La metto ora in contatto con un membro del nostro team, che le risponderà qui a breve.",
            "Ho inoltrato la sua conversazione al nostro team. Al momento sono tutti occupati, ma qualcuno le risponderà il prima possibile.",
            "Il nostro team al momento non è disponibile. Saremo di nuovo operativi {next_open} e le risponderemo allora.",
            "Prima di passarla al nostro team, potrebbe indicarmi il suo indirizzo email, così potremo ricontattarla?",
            "Salve! Come posso aiutarla?",
            "Prego! Posso aiutarla in qualcos'altro?",
            "Grazie per averci contattato. Buona giornata!",
        ],
    ),
    (
        "nl",
        [
            "Bedankt voor uw geduld! Ik verbind u nu door met een collega van ons team. U krijgt hier binnenkort een reactie.",
            "Ik heb uw gesprek doorgestuurd naar ons team. Iedereen is op dit moment bezet, maar we nemen zo snel mogelijk contact met u op.",
            "Ons team is op dit moment offline. We zijn {next_open} weer bereikbaar en nemen dan contact met u op.",
            "Voordat ik u doorverbind met ons team: wilt u uw e-mailadres met ons delen, zodat we contact met u kunnen opnemen?",
            "Hallo! Waarmee kan ik u helpen?",
            "Graag gedaan! Kan ik u nog ergens anders mee helpen?",
            "Bedankt voor uw bericht. Nog een fijne dag!",
        ],
    ),
    (
        "pt",
        [
            "Obrigado pela sua paciência! Vou transferir a sua conversa agora para alguém da nossa equipe, que responderá aqui em breve.",
            "Transferi a sua conversa para a nossa equipe. Neste momento estão todos ocupados, mas alguém responderá assim que possível.",
            "A nossa equipe está offline neste momento. Estaremos de volta {next_open} e responderemos nesse momento.",
            "Antes de transferir a sua conversa para a nossa equipe, poderia indicar o seu endereço de e-mail para que possamos dar seguimento?",
            "Olá! Como posso ajudar?",
            "De nada! Posso ajudar em mais alguma coisa?",
            "Obrigado pela sua mensagem. Tenha um ótimo dia!",
        ],
    ),
];

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

/// [`FillIns`] for each of [`BUILTIN_LANGUAGES`], English first.
const BUILTIN_FILL_INS: [(&str, FillIns); 7] = [
    (
        "en",
        FillIns {
            next_open: "soon",
            customer_name: "there",
            email: "your email",
        },
    ),
    (
        "fr",
        FillIns {
            next_open: "bientôt",
            customer_name: "à vous",
            email: "votre adresse e-mail",
        },
    ),
    (
        "de",
        FillIns {
            next_open: "bald",
            customer_name: "",
            email: "Ihre E-Mail-Adresse",
        },
    ),
    (
        "es",
        FillIns {
            next_open: "pronto",
            customer_name: "",
            email: "su correo electrónico",
        },
    ),
    (
        "it",
        FillIns {
            next_open: "a breve",
            customer_name: "",
            email: "il suo indirizzo email",
        },
    ),
    (
        "nl",
        FillIns {
            next_open: "binnenkort",
            customer_name: "",
            email: "uw e-mailadres",
        },
    ),
    (
        "pt",
        FillIns {
            next_open: "em breve",
            customer_name: "",
            email: "o seu e-mail",
        },
    ),
];

impl FillIns {
    /// The words in `language` (a lower-case ISO 639-1 code, see [`language_code`]); English
    /// for `None` and for languages without built-in words.
    pub fn for_language(language: Option<&str>) -> FillIns {
        let english = BUILTIN_FILL_INS[0].1;
        language
            .and_then(|code| BUILTIN_FILL_INS.iter().find(|(c, _)| *c == code))
            .map_or(english, |(_, words)| *words)
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
#[derive(Debug, Clone, PartialEq, Eq)]
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
        MessageTemplates::from_array([
            DEFAULT_ONLINE,
            DEFAULT_NO_AGENTS,
            DEFAULT_AFTER_HOURS,
            DEFAULT_EMAIL_REQUEST,
            DEFAULT_GREETING,
            DEFAULT_THANKS,
            DEFAULT_GOODBYE,
        ])
    }

    /// The built-in templates in `language` (a lower-case ISO 639-1 code), if it is one of
    /// [`BUILTIN_LANGUAGES`].
    pub fn builtin(language: &str) -> Option<MessageTemplates> {
        if language == "en" {
            return Some(MessageTemplates::english());
        }
        BUILTIN_TRANSLATIONS
            .iter()
            .find(|(code, _)| *code == language)
            .map(|(_, texts)| MessageTemplates::from_array(*texts))
    }

    fn from_array(texts: [&str; 7]) -> MessageTemplates {
        let [
            online,
            no_agents,
            after_hours,
            email_request,
            greeting,
            thanks,
            goodbye,
        ] = texts.map(str::to_string);
        MessageTemplates {
            online,
            no_agents,
            after_hours,
            email_request,
            greeting,
            thanks,
            goodbye,
        }
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

/// The lower-case two-letter code of a language tag: "fr", "FR", "fr-FR", "pt_BR" -> "fr"/"pt".
/// `None` when the tag does not start with two letters (e.g. "fra", "", "x").
pub fn language_code(tag: &str) -> Option<String> {
    let primary = tag.trim().split(['-', '_']).next().unwrap_or("");
    (primary.len() == 2 && primary.chars().all(|c| c.is_ascii_alphabetic()))
        .then(|| primary.to_ascii_lowercase())
}
