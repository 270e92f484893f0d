//! The configuration: `config.toml` -> raw serde structs -> a validated, typed [`Config`].
//!
//! Owns: every key name and default (a promise to users, documented in `config.toml.example`),
//! the reading of secrets (API keys, webhook secret) from systemd credentials, files or the
//! environment, and the error messages. Every problem is collected and reported at once, each
//! naming the file, the key and the bad value:
//! `config.toml: timing.close_after: "15 minutes please" is not a duration (try "15m")`.
//!
//! Must not: touch the network, read the clock, or ever put a secret in an error or in Debug
//! output (secrets are `SecretString`). The environment is passed in as a function so tests
//! never depend on the real one.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use jiff::civil::Date;
use secrecy::SecretString;
use serde::Deserialize;

use crate::hours::{BusinessHours, HoursRange};

/// Placeholders a handover message may use.
pub const PLACEHOLDERS: [&str; 3] = ["next_open", "email", "customer_name"];

/// Environment variable holding the Gorgias API key (the last place looked).
pub const ENV_GORGIAS_API_KEY: &str = "PERFECTBOT_GORGIAS_API_KEY";
/// Environment variable holding the OpenAI-compatible API key (the last place looked).
pub const ENV_OPENAI_API_KEY: &str = "PERFECTBOT_OPENAI_API_KEY";
/// The environment variable read for `kb.embedding_api_key` when no credential file has it.
pub const ENV_EMBEDDING_API_KEY: &str = "PERFECTBOT_EMBEDDING_API_KEY";

const DEFAULT_LEDGER_PATH: &str = "/var/lib/perfectbot/ledger.db";
const DEFAULT_KB_DIR: &str = "/etc/perfectbot/kb";
const DEFAULT_LOG_FILTER: &str = "info,tokio_cron_scheduler=warn";
const DEFAULT_SWEEP: &str = "*/10 * * * * *";

/// The range each duration key accepts. The maxima are far above any sensible setting yet keep
/// every deadline the bot computes from them (a timestamp plus a duration) far inside the
/// calendar; the minima keep the loops from spinning.
mod limits {
    use std::time::Duration;

    const MS: Duration = Duration::from_millis(1);
    const SEC: Duration = Duration::from_secs(1);
    const HOUR: Duration = Duration::from_secs(3600);
    const DAY: Duration = Duration::from_secs(86_400);

    pub const WINDOW: (Duration, Duration) = (SEC, HOUR);
    pub const TIMEOUT: (Duration, Duration) = (MS, Duration::from_secs(10 * 60));
    pub const POLL_INTERVAL: (Duration, Duration) = (Duration::from_millis(100), HOUR);
    pub const CLOSE_AFTER: (Duration, Duration) = (MS, Duration::from_secs(30 * 86_400));
    pub const EMAIL_WAIT: (Duration, Duration) = (Duration::ZERO, Duration::from_secs(7 * 86_400));
    pub const ANSWER_DEADLINE: (Duration, Duration) = (MS, DAY);
    pub const REFRESH: (Duration, Duration) =
        (Duration::from_secs(60), Duration::from_secs(7 * 86_400));
    pub const ORDERS_WINDOW: (Duration, Duration) = (HOUR, Duration::from_secs(3 * 365 * 86_400));
    /// Not a duration: the most requests per window the pacer is asked to allow.
    pub const MAX_REQUESTS_PER_WINDOW: u32 = 100_000;
}

const DEFAULT_ONLINE: &str = "Thanks for your patience! I'm passing you to a member of our team now. They will reply here shortly.";
const DEFAULT_NO_AGENTS: &str = "I've passed your conversation to our team. Everyone is busy right now, but someone will get back to you as soon as possible.";
const DEFAULT_AFTER_HOURS: &str =
    "Our team is offline right now. We open again {next_open} and will get back to you then.";
const DEFAULT_EMAIL_REQUEST: &str =
    "Before I pass you to our team, could you share your email address so we can follow up?";
const DEFAULT_GREETING: &str = "Hello! How can I help you today?";
const DEFAULT_THANKS: &str = "You're welcome! Is there anything else I can help you with?";
const DEFAULT_GOODBYE: &str = "Thank you for contacting us. Have a great day!";

/// The keys of a message set, in the order of [`MessageTemplates::get`]: the handover messages,
/// then the courtesy replies to small talk.
const MESSAGE_KEYS: [&str; 7] = [
    "online",
    "no_agents",
    "after_hours",
    "email_request",
    "greeting",
    "thanks",
    "goodbye",
];

pub use crate::lang::{BUILTIN_LANGUAGES, language_code};

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
const ISO_639_1: &str = "aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce \
ch co cr cs cu cv cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha \
he hi ho hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku \
kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv \
ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st \
su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu";

// ---------------------------------------------------------------------------------------------
// The validated configuration
// ---------------------------------------------------------------------------------------------

/// The validated configuration. Build it with [`load`], [`load_with_env`] or [`parse_str`].
#[derive(Debug, Clone)]
pub struct Config {
    /// The config file as the user named it (used in messages).
    pub file: String,
    pub gorgias: GorgiasConfig,
    pub bot: BotConfig,
    pub timing: TimingConfig,
    pub ledger: LedgerConfig,
    pub responder: ResponderConfig,
    pub kb: KbConfig,
    /// Present when `responder.kind = "openai"`.
    pub openai: Option<OpenAiConfig>,
    pub handover: HandoverConfig,
    pub tags: Tags,
    pub business_hours: BusinessHoursConfig,
    pub http: HttpConfig,
    pub log: LogConfig,
    pub orders: OrdersConfig,
    /// What loading found allowed but risky (a key file others can read, plain http): shown
    /// by [`Config::notes`].
    pub load_warnings: Vec<String>,
}

/// `[orders]`: "where is my order?" answered from the Shopify orders Gorgias holds on the
/// ticket's customer (see `crate::orders`).
#[derive(Debug, Clone)]
pub struct OrdersConfig {
    pub enabled: bool,
    pub recent_window: Duration,
    pub late_after: Duration,
    pub number_wait: Duration,
    pub messages: crate::orders::OrderMessages,
}

/// `[gorgias]`: where the helpdesk is and how to authenticate.
#[derive(Debug, Clone)]
pub struct GorgiasConfig {
    /// e.g. "https://your-store.gorgias.com", no trailing slash; the API is `{base_url}/api/...`.
    pub base_url: String,
    /// The login for HTTP Basic auth. Empty when `bearer = true` and no email was given.
    pub email: String,
    /// Never printed: Debug shows `[REDACTED]`.
    pub api_key: SecretString,
    /// The configured key file (resolved), if any; informational.
    pub api_key_file: Option<PathBuf>,
    /// The key is an OAuth2 bearer token rather than a Basic-auth API key.
    pub bearer: bool,
    pub requests_per_window: u32,
    pub window: Duration,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// The largest response body read from Gorgias, in bytes; a larger one fails the request.
    pub max_body: usize,
    /// A response body that sends nothing for this long has stalled: the request fails.
    pub stall_timeout: Duration,
    /// `http://` to a host other than this machine was allowed (the key then crosses the
    /// network in clear: a warning at start-up).
    pub allow_insecure_http: bool,
}

/// `[bot]`: who the bot is and which tickets it works on.
#[derive(Debug, Clone)]
pub struct BotConfig {
    pub name: String,
    /// `None`: the API key's own user, resolved at run time.
    pub user_id: Option<u64>,
    pub channels: Vec<String>,
    pub mode: Mode,
    /// Extra tags that keep the bot off a ticket, besides `tags.not_involved`.
    pub opt_out_tags: Vec<String>,
    /// Extra phrases that mean "let me talk to a person" (any language), added to the built-in
    /// lists; matched on word boundaries, case and accents ignored.
    pub handover_phrases: Vec<String>,
    /// Extra phrases that signal frustration, added to the built-in lists.
    pub frustration_phrases: Vec<String>,
}

/// Live: act on tickets. Shadow: only post internal notes saying what it would do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Live,
    Shadow,
}

/// `[timing]`: the lifecycle's clocks.
#[derive(Debug, Clone)]
pub struct TimingConfig {
    pub poll_interval: Duration,
    /// A validated six-field cron string (seconds first), in UTC.
    pub sweep: String,
    pub close_after: Duration,
    pub email_wait: Duration,
    pub answer_deadline: Duration,
}

/// `[ledger]`.
#[derive(Debug, Clone)]
pub struct LedgerConfig {
    pub path: PathBuf,
}

/// `[responder]`.
#[derive(Debug, Clone)]
pub struct ResponderConfig {
    pub kind: ResponderKind,
}

/// Which responder answers customers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponderKind {
    Kb,
    OpenAi,
}

/// `[kb]`: the embedded knowledge base.
#[derive(Debug, Clone)]
pub struct KbConfig {
    pub dir: PathBuf,
    /// How sure the `kb` responder must be that its best entry is the right answer (0..1).
    pub confidence: f64,
    /// The deprecated `kb.min_score`, when set (already mapped into `confidence`); the daemon
    /// logs a warning naming it.
    pub deprecated_min_score: Option<f64>,
    pub note_prefix: String,
    /// Where the knowledge entries' dense vectors come from.
    pub embedding: Embedding,
    /// Import the account's Gorgias macros that have a response text (`kb.macros`).
    pub macros: bool,
    /// Only macros whose name starts with this (`kb.macro_name_prefix`).
    pub macro_name_prefix: Option<String>,
    /// Only macros in these languages (lowercase ISO 639-1; empty = every language).
    pub macro_languages: Vec<String>,
    /// Help-centre or FAQ sites: sitemap URLs or page URLs (`kb.sites`).
    pub sites: Vec<String>,
    /// How often macros and sites are read again (`kb.refresh`, default 1h).
    pub refresh: Duration,
    /// At most this many pages read per site (`kb.site_max_pages`).
    pub site_max_pages: usize,
    /// A page or sitemap larger than this many bytes is skipped (`kb.site_max_page_bytes`).
    pub site_max_page_bytes: usize,
}

/// `kb.embedding`: the model that gives knowledge entries and customer texts their vectors.
#[derive(Debug, Clone)]
pub enum Embedding {
    /// The model compiled into the binary (the default).
    Builtin,
    /// A model2vec-format directory (`tokenizer.json` + `model.safetensors`).
    Model2Vec { dir: PathBuf },
    /// An OpenAI-compatible `/v1/embeddings`.
    OpenAi(crate::responder::embed::OpenAiEmbeddingConfig),
    /// No vectors: BM25 alone.
    None,
}

/// Default `kb.site_max_pages`.
pub const DEFAULT_SITE_MAX_PAGES: usize = 1000;
/// Default `kb.site_max_page_bytes`: 2 MB, far above a help article's HTML.
pub const DEFAULT_SITE_MAX_PAGE_BYTES: usize = 2 * 1024 * 1024;

/// `[openai]`: an OpenAI-compatible chat-completions endpoint.
#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    /// No trailing slash, e.g. "https://api.openai.com/v1".
    pub base_url: String,
    pub model: String,
    /// `None` for local servers that need no key (Ollama, llama.cpp, vLLM).
    pub api_key: Option<SecretString>,
    pub api_key_file: Option<PathBuf>,
    /// Each call's timeout (connect, request and body together).
    pub timeout: Duration,
    /// Sampling temperature; 0 makes the decision as repeatable as the server allows.
    pub temperature: f64,
    /// The most tokens the model may write per call. Leave room: a JSON-schema grammar still
    /// lets a small model pad with whitespace.
    pub max_tokens: u32,
    /// How the decision's shape is asked for (`json_schema`, falling back to `json_object` when
    /// the server refuses it).
    pub response_format: StructuredOutput,
    /// How many knowledge entries (the search's best) ground a call when the whole knowledge
    /// base does not fit `context_tokens`.
    pub grounding_entries: usize,
    /// The whole knowledge base grounds each call when its entries fit this many tokens
    /// (estimated at 4 characters a token).
    pub context_tokens: usize,
    /// A longer answer is not sent (no knowledge, handed over).
    pub max_answer_chars: usize,
    /// How many responder calls may run at once.
    pub concurrency: usize,
    /// The largest response body read from the endpoint.
    pub max_body_bytes: usize,
}

/// How the `openai` responder asks for its structured decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StructuredOutput {
    /// `response_format: json_schema` (strict), falling back to `json_object` on a server
    /// that refuses the schema.
    JsonSchema,
    /// `response_format: json_object` only, with the schema spelled out in the prompt.
    JsonObject,
}

impl OpenAiConfig {
    /// The `[openai]` defaults for an endpoint (no key).
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            model: model.into(),
            api_key: None,
            api_key_file: None,
            timeout: Duration::from_secs(20),
            temperature: 0.0,
            max_tokens: 1024,
            response_format: StructuredOutput::JsonSchema,
            grounding_entries: 8,
            context_tokens: 3000,
            max_answer_chars: 1500,
            concurrency: 4,
            max_body_bytes: 2_000_000,
        }
    }
}

/// `[handover]`.
#[derive(Debug, Clone)]
pub struct HandoverConfig {
    pub collect_email: CollectEmail,
    pub assign_team_id: Option<u64>,
    pub assign_user_id: Option<u64>,
    pub messages: HandoverMessages,
}

/// When to ask the customer for an email address before handing over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollectEmail {
    Always,
    WhenOffline,
    Never,
}

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
    fn get(&self, i: usize) -> &str {
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

    fn get_mut(&mut self, i: usize) -> &mut String {
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

/// The tag names the bot reads and writes, resolved from `[tags]` and `bot.name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tags {
    pub agent_required: String,
    pub agent_check: String,
    pub handled: String,
    pub not_involved: String,
    pub auto_closed: String,
    pub preview: String,
}

impl Tags {
    /// The default tag names for a bot called `name` ("PerfectBot: Handled", ...).
    pub fn for_name(name: &str) -> Tags {
        Tags {
            agent_required: format!("{name}: Agent Required"),
            agent_check: format!("{name}: Agent Check Recommended"),
            handled: format!("{name}: Handled"),
            not_involved: format!("{name}: Not Involved"),
            auto_closed: format!("{name}: Auto-closed"),
            preview: format!("{name}: Preview"),
        }
    }

    /// Every tag that keeps the bot off a ticket: `not_involved` plus `extra`
    /// (`bot.opt_out_tags`), without duplicates, in that order.
    pub fn opt_out(&self, extra: &[String]) -> Vec<String> {
        let mut all = vec![self.not_involved.clone()];
        for tag in extra {
            if !all.contains(tag) {
                all.push(tag.clone());
            }
        }
        all
    }

    /// The tags that mean "handed over, an agent must look": while one is on a ticket that is
    /// assigned back to the bot, the bot stays quiet.
    pub fn escalation(&self) -> [&str; 2] {
        [&self.agent_required, &self.agent_check]
    }
}

/// Where business hours come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoursSource {
    Gorgias,
    Config,
}

/// `[business_hours]`.
#[derive(Debug, Clone)]
pub struct BusinessHoursConfig {
    pub source: HoursSource,
    pub timezone: String,
    /// Closed local dates, applied with either source.
    pub holidays: Vec<Date>,
    pub ranges: Vec<HoursRange>,
    /// The ready-made hours when `source = "config"`; `None` with `source = "gorgias"` (build
    /// them from the account setting with `BusinessHours::from_gorgias(.., holidays)`).
    pub hours: Option<BusinessHours>,
}

/// `[http]`: the optional listener for `/healthz`, `/metrics` and `/webhook`.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// `None`: no listener.
    pub listen: Option<SocketAddr>,
    pub webhook_secret_file: Option<PathBuf>,
    /// From `$CREDENTIALS_DIRECTORY/webhook_secret`, else `webhook_secret_file`.
    pub webhook_secret: Option<SecretString>,
}

/// `[log]`.
#[derive(Debug, Clone)]
pub struct LogConfig {
    pub format: LogFormat,
    /// An `EnvFilter` directive string, validated.
    pub filter: String,
}

/// Log output format. `Auto`: journald when `JOURNAL_STREAM` is set, else text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
    Journald,
    Auto,
}

/// All the problems found in a config file, one per line when displayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<String>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

// ---------------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------------

/// Loads and validates the config file at `path`, reading secrets and `$STATE_DIRECTORY` /
/// `$CREDENTIALS_DIRECTORY` from the real environment.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    load_with_env(path, &|name| std::env::var(name).ok())
}

/// Like [`load`], with the environment given as a function (for tests).
pub fn load_with_env(
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigErrors> {
    let label = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigErrors(vec![format!("{label}: cannot read the config file: {e}")]))?;
    let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    parse_with_base(&label, &base_dir, &text, env)
}

/// Parses and validates config text. `file_label` names the file in messages; relative paths
/// are resolved against its directory.
pub fn parse_str(
    file_label: &str,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigErrors> {
    let base_dir = Path::new(file_label)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    parse_with_base(file_label, &base_dir, text, env)
}

/// Fills a handover template: each `{name}` whose name is in `values` is replaced; anything
/// else is left as written (templates were checked at load time).
pub fn fill_template(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (name, value) in values {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

fn parse_with_base(
    label: &str,
    base_dir: &Path,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigErrors> {
    let mut v = Validator {
        file: label.to_string(),
        base_dir: base_dir.to_path_buf(),
        env,
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    let raw = v.deserialize(text)?;
    let config = v.validate(raw);
    if v.errors.is_empty() {
        Ok(config)
    } else {
        Err(ConfigErrors(v.errors))
    }
}

/// `gorgias.max_body` when not set: far above any real page of 100 tickets or any ticket.
pub const DEFAULT_GORGIAS_MAX_BODY: usize = 20_000_000;
/// What `gorgias.max_body` may be set to.
pub const GORGIAS_MAX_BODY_RANGE: (usize, usize) = (64 * 1024, 1 << 30);

/// "20MB", "512 KiB", "1000": digits then an optional unit (B, KB, MB, GB in powers of 1000;
/// KiB, MiB, GiB in powers of 1024; case-insensitive). `None` for anything else or an overflow.
pub fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(factor)
}

impl Config {
    /// A config with every default, for tests and the demo: the given Gorgias address, login
    /// and key, everything else as if the file had only `[gorgias]`.
    ///
    /// # Panics
    /// If `base_url` is not an http(s) URL or `email` is not an email address: a test bug.
    pub fn for_tests(base_url: &str, email: &str, api_key: &str) -> Config {
        let raw = RawConfig {
            gorgias: RawGorgias {
                base_url: Some(base_url.to_string()),
                email: Some(email.to_string()),
                ..RawGorgias::default()
            },
            ..RawConfig::default()
        };
        let key = api_key.to_string();
        let env = move |name: &str| (name == ENV_GORGIAS_API_KEY).then(|| key.clone());
        let mut v = Validator {
            file: "(test config)".to_string(),
            base_dir: PathBuf::new(),
            env: &env,
            errors: Vec::new(),
            warnings: Vec::new(),
        };
        let config = v.validate(raw);
        assert!(v.errors.is_empty(), "Config::for_tests: {:?}", v.errors);
        config
    }

    /// A short multi-line summary for `check-config`. Never contains a secret.
    pub fn summary(&self) -> String {
        let d = |d: Duration| humantime::format_duration(d).to_string();
        let mut lines = vec![
            format!("config file:     {}", self.file),
            format!("gorgias:         {}/api", self.gorgias.base_url),
            format!(
                "auth:            {}",
                if self.gorgias.bearer {
                    "bearer token".to_string()
                } else {
                    format!("basic, as {}", self.gorgias.email)
                }
            ),
            format!(
                "api budget:      {} requests / {}",
                self.gorgias.requests_per_window,
                d(self.gorgias.window)
            ),
            format!(
                "bot:             {} (user {}), mode {}, channels {}",
                self.bot.name,
                self.bot
                    .user_id
                    .map_or("from the API key".to_string(), |id| id.to_string()),
                match self.bot.mode {
                    Mode::Live => "live",
                    Mode::Shadow => "shadow",
                },
                self.bot.channels.join(", ")
            ),
            format!(
                "timing:          poll {}, sweep \"{}\" (UTC), close after {}, email wait {}, answer deadline {}",
                d(self.timing.poll_interval),
                self.timing.sweep,
                d(self.timing.close_after),
                d(self.timing.email_wait),
                d(self.timing.answer_deadline)
            ),
            format!("ledger:          {}", self.ledger.path.display()),
        ];
        lines.push(match (&self.responder.kind, &self.openai) {
            (ResponderKind::OpenAi, Some(o)) => {
                format!(
                    "responder:       openai, model {} at {}",
                    o.model, o.base_url
                )
            }
            _ => format!(
                "responder:       kb from {} (confidence {}, embedding {})",
                self.kb.dir.display(),
                self.kb.confidence,
                match &self.kb.embedding {
                    Embedding::Builtin => "builtin".to_owned(),
                    Embedding::Model2Vec { dir } => format!("model2vec {}", dir.display()),
                    Embedding::OpenAi(o) => format!("openai {} at {}", o.model, o.base_url),
                    Embedding::None => "none".to_owned(),
                }
            ),
        });
        lines.push(format!(
            "handover:        collect email {}, then {}",
            match self.handover.collect_email {
                CollectEmail::Always => "always",
                CollectEmail::WhenOffline => "when offline",
                CollectEmail::Never => "never",
            },
            match (self.handover.assign_team_id, self.handover.assign_user_id) {
                (Some(team), _) => format!("assign to team {team}"),
                (_, Some(user)) => format!("assign to user {user}"),
                _ => "unassign".to_string(),
            }
        ));
        lines.push(format!(
            "messages:        default, and per language: {}",
            self.handover
                .messages
                .languages
                .keys()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        ));
        let bh = &self.business_hours;
        lines.push(match bh.source {
            HoursSource::Gorgias => format!(
                "business hours:  from Gorgias, {} holiday(s)",
                bh.holidays.len()
            ),
            HoursSource::Config if bh.ranges.is_empty() => format!(
                "business hours:  config, always open, {} holiday(s)",
                bh.holidays.len()
            ),
            HoursSource::Config => format!(
                "business hours:  config, {} range(s) in {}, {} holiday(s)",
                bh.ranges.len(),
                bh.timezone,
                bh.holidays.len()
            ),
        });
        lines.push(match self.http.listen {
            Some(addr) => format!(
                "http:            listening on {addr}, webhook {}",
                if self.http.webhook_secret.is_some() {
                    "secret set"
                } else {
                    "off (no secret)"
                }
            ),
            None => "http:            no listener".to_string(),
        });
        lines.push(format!(
            "log:             {:?}, {}",
            self.log.format, self.log.filter
        ));
        lines.join("\n")
    }

    /// Things that are allowed but worth a warning at start-up (e.g. listening on a
    /// non-loopback address). Never contains a secret.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = self.load_warnings.clone();
        if let Some(addr) = self.http.listen {
            if !addr.ip().is_loopback() {
                notes.push(format!(
                    "http.listen = \"{addr}\" is reachable from other machines: /metrics is public there"
                ));
            }
            if self.http.webhook_secret.is_none() {
                notes.push(
                    "http: no webhook secret configured, so /webhook is disabled".to_string(),
                );
            }
        }
        // A customised default reaches languages that have a built-in translation of it: say
        // so, as the team may expect those customers to get their language.
        let m = &self.handover.messages;
        let english = MessageTemplates::english();
        for (i, key) in MESSAGE_KEYS.iter().enumerate() {
            if m.default.get(i) == english.get(i) {
                continue;
            }
            let untranslated: Vec<&str> = BUILTIN_LANGUAGES
                .iter()
                .filter(|code| **code != "en")
                .filter(|code| m.for_language(Some(code)).get(i) == m.default.get(i))
                .copied()
                .collect();
            if !untranslated.is_empty() {
                notes.push(format!(
                    "handover.messages.{key} is your own text, so tickets in {} get it as written \
                     rather than the built-in translation (add [handover.messages.LANG] tables \
                     to translate it)",
                    untranslated.join(", ")
                ));
            }
        }
        if self.bot.mode == Mode::Shadow {
            notes.push(
                "bot.mode = \"shadow\": the bot only posts internal notes, it never replies"
                    .to_string(),
            );
        }
        notes
    }
}

// ---------------------------------------------------------------------------------------------
// Raw serde structs: the file as written. Values that need a good message (durations, enums,
// dates) stay strings here and are checked by the validator.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawConfig {
    gorgias: RawGorgias,
    bot: RawBot,
    timing: RawTiming,
    ledger: RawLedger,
    responder: RawResponder,
    kb: RawKb,
    openai: Option<RawOpenAi>,
    handover: RawHandover,
    tags: RawTags,
    business_hours: RawBusinessHours,
    http: RawHttp,
    log: RawLog,
    orders: RawOrders,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawOrders {
    enabled: bool,
    recent_window: Option<String>,
    late_after: Option<String>,
    number_wait: Option<String>,
    /// The default templates and `[orders.messages.LANG]` tables (see `Validator::orders`).
    messages: toml::Table,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawGorgias {
    base_url: Option<String>,
    email: Option<String>,
    api_key_file: Option<String>,
    bearer: bool,
    requests_per_window: Option<u32>,
    window: Option<String>,
    timeout: Option<String>,
    connect_timeout: Option<String>,
    max_body: Option<RawSize>,
    stall_timeout: Option<String>,
    allow_insecure_http: bool,
}

/// A size in bytes: a number, or a string such as "20MB" or "512KiB".
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawSize {
    Bytes(u64),
    Text(String),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawBot {
    name: Option<String>,
    user_id: Option<u64>,
    channels: Option<Vec<String>>,
    mode: Option<String>,
    opt_out_tags: Vec<String>,
    handover_phrases: Vec<String>,
    frustration_phrases: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawTiming {
    poll_interval: Option<String>,
    sweep: Option<String>,
    close_after: Option<String>,
    email_wait: Option<String>,
    answer_deadline: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawLedger {
    path: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawResponder {
    kind: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawKb {
    dir: Option<String>,
    min_score: Option<f64>,
    confidence: Option<f64>,
    note_prefix: Option<String>,
    embedding: Option<String>,
    model2vec_dir: Option<String>,
    embedding_url: Option<String>,
    embedding_model: Option<String>,
    embedding_api_key_file: Option<String>,
    embedding_timeout: Option<String>,
    embedding_batch: Option<usize>,
    macros: Option<bool>,
    macro_name_prefix: Option<String>,
    macro_languages: Option<Vec<String>>,
    sites: Option<Vec<String>>,
    refresh: Option<String>,
    site_max_pages: Option<u64>,
    site_max_page_bytes: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawOpenAi {
    base_url: Option<String>,
    model: Option<String>,
    api_key_file: Option<String>,
    timeout: Option<String>,
    temperature: Option<f64>,
    max_tokens: Option<u32>,
    response_format: Option<String>,
    grounding_entries: Option<usize>,
    context_tokens: Option<usize>,
    max_answer_chars: Option<usize>,
    concurrency: Option<usize>,
    max_body_bytes: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawHandover {
    collect_email: Option<String>,
    assign_team_id: Option<u64>,
    assign_user_id: Option<u64>,
    /// The seven default templates and `[handover.messages.LANG]` tables, told apart (and
    /// checked key by key) in `Validator::messages`: serde cannot mix fixed keys with a map
    /// under `deny_unknown_fields`.
    messages: toml::Table,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawTags {
    agent_required: Option<String>,
    agent_check: Option<String>,
    handled: Option<String>,
    not_involved: Option<String>,
    auto_closed: Option<String>,
    preview: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawBusinessHours {
    source: Option<String>,
    timezone: Option<String>,
    /// Strings or bare TOML dates (`2025-12-25` unquoted is valid TOML).
    holidays: Vec<toml::Value>,
    ranges: Vec<RawRange>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawRange {
    days: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawHttp {
    listen: Option<String>,
    webhook_secret_file: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawLog {
    format: Option<String>,
    filter: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

struct Validator<'e> {
    file: String,
    base_dir: PathBuf,
    env: &'e dyn Fn(&str) -> Option<String>,
    errors: Vec<String>,
    /// Allowed but worth a warning (they end up in [`Config::notes`]).
    warnings: Vec<String>,
}

impl Validator<'_> {
    fn err(&mut self, key: &str, msg: impl fmt::Display) {
        self.errors.push(format!("{}: {key}: {msg}", self.file));
    }

    /// TOML text -> raw structs. A syntax error stops here (nothing else can be trusted);
    /// unknown keys and wrong types are each recorded, the offending key dropped, and
    /// deserializing retried, so one run reports them all together with the checks below.
    fn deserialize(&mut self, text: &str) -> Result<RawConfig, ConfigErrors> {
        let table: toml::Table = match toml::from_str(text) {
            Ok(t) => t,
            Err(e) => return Err(ConfigErrors(vec![self.syntax_error(text, &e)])),
        };
        let mut value = toml::Value::Table(table);
        let mut failures = Vec::new();
        // Each round removes one key, so this ends; the bound is a belt for the braces.
        for _ in 0..100 {
            match value.clone().try_into::<RawConfig>() {
                Ok(raw) => {
                    self.errors.extend(failures);
                    return Ok(raw);
                }
                Err(e) => {
                    let (message, path) = split_toml_error(&e);
                    let (full_path, shown) = match unknown_field(&message) {
                        Some(field) => {
                            let mut full = path.clone();
                            full.push(field.clone());
                            let key = full.join(".");
                            let hint = if key == "gorgias.api_key" || key == "openai.api_key" {
                                format!(
                                    "unknown key: API keys never go in the config file; use \
                                     $CREDENTIALS_DIRECTORY, {key}_file or the environment \
                                     (see config.toml.example)"
                                )
                            } else {
                                let expected = message
                                    .split_once(", expected")
                                    .map(|(_, rest)| format!(" (expected{rest})"))
                                    .unwrap_or_default();
                                format!("unknown key{expected}")
                            };
                            (full, format!("{}: {key}: {hint}", self.file))
                        }
                        None => {
                            let key = if path.is_empty() {
                                "(top level)".to_string()
                            } else {
                                path.join(".")
                            };
                            (path.clone(), format!("{}: {key}: {message}", self.file))
                        }
                    };
                    failures.push(shown);
                    if full_path.is_empty() || !remove_key(&mut value, &full_path) {
                        break;
                    }
                }
            }
        }
        self.errors.extend(failures);
        Err(ConfigErrors(std::mem::take(&mut self.errors)))
    }

    fn syntax_error(&self, text: &str, e: &toml::de::Error) -> String {
        let message = e.message().trim().replace('\n', "; ");
        let Some(span) = e.span() else {
            return format!("{}: {message}", self.file);
        };
        let start = span.start.min(text.len());
        let before = &text[..start];
        let line_no = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        let line = text[line_start..].lines().next().unwrap_or("");
        // Name the key when the line is `key = ...`, prefixed by its [table].
        let table = before[..line_start]
            .lines()
            .rev()
            .map(str::trim)
            .find(|l| l.starts_with('['))
            .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_string());
        let key = line
            .split_once('=')
            .map(|(k, _)| k.trim())
            .filter(|k| !k.is_empty() && !k.starts_with('[') && !k.starts_with('#'))
            .map(|k| match &table {
                Some(t) => format!("{t}.{k}"),
                None => k.to_string(),
            });
        match key {
            Some(key) => format!(
                "{}: line {line_no}, column {column}: {key}: {message}",
                self.file
            ),
            None => format!("{}: line {line_no}, column {column}: {message}", self.file),
        }
    }

    fn resolve(&self, p: &str) -> PathBuf {
        let path = PathBuf::from(p);
        if path.is_absolute() {
            path
        } else {
            self.base_dir.join(path)
        }
    }

    /// A humantime duration within `[min, max]` (`min` zero allows "0s"). The maxima keep
    /// every deadline computed from a duration far inside the calendar's range, and the minima
    /// keep loops from spinning.
    fn duration(
        &mut self,
        key: &str,
        raw: Option<String>,
        default: &str,
        (min, max): (Duration, Duration),
    ) -> Duration {
        let fallback =
            humantime::parse_duration(default).expect("built-in default durations parse");
        let Some(text) = raw else {
            return fallback;
        };
        let show = |d: Duration| humantime::format_duration(d).to_string();
        match humantime::parse_duration(text.trim()) {
            Ok(d) if d.is_zero() && !min.is_zero() => {
                self.err(
                    key,
                    format!("{text:?} must be more than zero (try {default:?})"),
                );
                fallback
            }
            Ok(d) if d < min => {
                self.err(
                    key,
                    format!(
                        "{text:?} is less than the minimum of {:?} (try {default:?})",
                        show(min)
                    ),
                );
                fallback
            }
            Ok(d) if d > max => {
                self.err(
                    key,
                    format!(
                        "{text:?} is more than the maximum of {:?} (try {default:?})",
                        show(max)
                    ),
                );
                fallback
            }
            Ok(d) => d,
            // humantime also fails on a number too large for a Duration ("9999999999999y").
            Err(_) => {
                self.err(key, format!("{text:?} is not a duration (try {default:?})"));
                fallback
            }
        }
    }

    fn choice<T: Copy>(
        &mut self,
        key: &str,
        raw: Option<String>,
        default: T,
        options: &[(&str, T)],
    ) -> T {
        let Some(text) = raw else {
            return default;
        };
        match options.iter().find(|(name, _)| *name == text.trim()) {
            Some((_, value)) => *value,
            None => {
                let names: Vec<String> = options.iter().map(|(n, _)| format!("{n:?}")).collect();
                self.err(key, format!("{text:?} is not one of {}", names.join(", ")));
                default
            }
        }
    }

    /// An http(s) URL with a host and nothing after the path. Its messages never show a user
    /// name or password written into the URL: such a URL is refused without echoing it.
    fn http_url(&mut self, key: &str, text: &str, example: &str) -> Option<String> {
        let trimmed = text.trim().trim_end_matches('/');
        let parsed = self.web_url(key, trimmed, text, example)?;
        if parsed.query().is_some() || parsed.fragment().is_some() {
            self.err(
                key,
                format!("{text:?} must not have a query (?...) or fragment (#...)"),
            );
            return None;
        }
        Some(trimmed.to_string())
    }

    /// `to_parse` as an http(s) URL with a host and no user name or password; errors name
    /// `text` (never its credentials).
    fn web_url(
        &mut self,
        key: &str,
        to_parse: &str,
        text: &str,
        example: &str,
    ) -> Option<url::Url> {
        let parsed = match url::Url::parse(to_parse) {
            Ok(u) => u,
            Err(_) => {
                let shown = redact_userinfo(text);
                self.err(key, format!("{shown:?} is not a URL (e.g. {example:?})"));
                return None;
            }
        };
        if !parsed.username().is_empty() || parsed.password().is_some() {
            let mut shown = parsed.clone();
            let _ = shown.set_username("");
            let _ = shown.set_password(None);
            self.err(
                key,
                format!(
                    "\"{}\" has a user name or password in it (not shown); give the address \
                     alone and the credentials through the key file or the environment \
                     (see config.toml.example)",
                    shown.as_str().trim_end_matches('/')
                ),
            );
            return None;
        }
        if parsed.scheme() != "https" && parsed.scheme() != "http" {
            self.err(
                key,
                format!("{text:?} must start with https:// (or http://)"),
            );
            return None;
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            self.err(key, format!("{text:?} has no host name (e.g. {example:?})"));
            return None;
        }
        Some(parsed)
    }

    /// A count of at least `min` (the default when absent; an error naming the key below it).
    fn at_least<T: Copy + PartialOrd + fmt::Display>(
        &mut self,
        key: &str,
        raw: Option<T>,
        min: T,
        default: T,
    ) -> T {
        match raw {
            Some(n) if n < min => {
                self.err(key, format!("{n} must be at least {min} (try {default})"));
                default
            }
            Some(n) => n,
            None => default,
        }
    }

    /// A site to read: an http(s) URL with a host (a query is allowed: some FAQ pages need
    /// one); the fragment is dropped.
    fn site_url(&mut self, key: &str, text: &str) -> Option<String> {
        let example = "https://help.example.com/sitemap.xml";
        let mut parsed = self.web_url(key, text.trim(), text, example)?;
        parsed.set_fragment(None);
        Some(parsed.to_string())
    }

    fn non_empty(&mut self, key: &str, raw: Option<String>, default: &str) -> String {
        match raw {
            None => default.to_string(),
            Some(s) if s.trim().is_empty() => {
                self.err(key, format!("{s:?} must not be empty"));
                default.to_string()
            }
            Some(s) => s,
        }
    }

    /// Reads a secret from the first place that has it: `$CREDENTIALS_DIRECTORY/<cred_name>`,
    /// then the configured file, then the environment variable. Errors never include the
    /// secret, only where it was looked for.
    fn secret(
        &mut self,
        key: &str,
        cred_name: &str,
        file: Option<&Path>,
        env_var: Option<&str>,
    ) -> Result<Option<SecretString>, ()> {
        if let Some(dir) = (self.env)("CREDENTIALS_DIRECTORY").filter(|d| !d.is_empty()) {
            let path = Path::new(&dir).join(cred_name);
            if path.exists() {
                return self.read_secret_file(key, &path).map(Some);
            }
        }
        if let Some(path) = file {
            return self.read_secret_file(key, path).map(Some);
        }
        if let Some(var) = env_var
            && let Some(value) = (self.env)(var)
        {
            let value = value.trim();
            if value.is_empty() {
                self.err(key, format!("the environment variable {var} is empty"));
                return Err(());
            }
            return Ok(Some(SecretString::from(value)));
        }
        Ok(None)
    }

    fn read_secret_file(&mut self, key: &str, path: &Path) -> Result<SecretString, ()> {
        match std::fs::read_to_string(path) {
            Ok(text) if text.trim().is_empty() => {
                self.err(key, format!("the file {} is empty", path.display()));
                Err(())
            }
            Ok(text) => {
                if let Some(mode) = loose_mode(path) {
                    self.warnings.push(format!(
                        "{key}: the file {} can be read by other users (mode {mode:04o}); \
                         chmod 600 it (or use systemd's LoadCredential=)",
                        path.display()
                    ));
                }
                Ok(SecretString::from(text.trim()))
            }
            Err(e) => {
                self.err(key, format!("cannot read the file {}: {e}", path.display()));
                Err(())
            }
        }
    }

    fn validate(&mut self, raw: RawConfig) -> Config {
        let gorgias = self.gorgias(raw.gorgias);
        let bot = self.bot(raw.bot);
        let timing = self.timing(raw.timing);
        let ledger = self.ledger(raw.ledger);
        let responder = ResponderConfig {
            kind: self.choice(
                "responder.kind",
                raw.responder.kind,
                ResponderKind::Kb,
                &[("kb", ResponderKind::Kb), ("openai", ResponderKind::OpenAi)],
            ),
        };
        let kb = self.kb(raw.kb);
        let openai = self.openai(raw.openai, responder.kind);
        let handover = self.handover(raw.handover);
        let tags = self.tags(raw.tags, &bot.name);
        let business_hours = self.business_hours(raw.business_hours);
        let http = self.http(raw.http);
        let log = self.log(raw.log);
        let orders = self.orders(raw.orders);
        Config {
            file: self.file.clone(),
            gorgias,
            bot,
            timing,
            ledger,
            responder,
            kb,
            openai,
            handover,
            tags,
            business_hours,
            http,
            log,
            orders,
            load_warnings: self.warnings.clone(),
        }
    }

    /// `[orders]`. Messages resolve like `[handover.messages]`: per key, the language's own
    /// table, else the team's own default text, else the built-in translation.
    fn orders(&mut self, raw: RawOrders) -> OrdersConfig {
        use crate::orders::{OrderMessages, OrderTemplates, placeholders_in, placeholders_of};
        let builtin = OrderMessages::builtin();
        let mut default = builtin.default.clone();
        let mut customised: Vec<&str> = Vec::new();
        let mut tables: BTreeMap<String, (String, toml::Table)> = BTreeMap::new();
        let check = |v: &mut Self, full: &str, key: &str, value: toml::Value| -> Option<String> {
            let toml::Value::String(text) = value else {
                v.err(full, "expected a string (a message template)");
                return None;
            };
            if text.trim().is_empty() {
                v.err(full, "must not be empty");
                return None;
            }
            let allowed = placeholders_of(key);
            let unknown: Vec<String> = placeholders_in(&text)
                .into_iter()
                .filter(|p| !allowed.contains(&p.as_str()))
                .map(|p| format!("{{{p}}}"))
                .collect();
            if !unknown.is_empty() {
                let known: Vec<String> = allowed.iter().map(|p| format!("{{{p}}}")).collect();
                v.err(
                    full,
                    format!(
                        "{text:?} uses unknown placeholder(s) {} (known here: {})",
                        unknown.join(", "),
                        known.join(", ")
                    ),
                );
                return None;
            }
            Some(text)
        };
        for (key, value) in raw.messages {
            let full = format!("orders.messages.{key}");
            if OrderTemplates::KEYS.contains(&key.as_str()) {
                if let Some(text) = check(self, &full, &key, value)
                    && let Some(slot) = default.get_mut(&key)
                {
                    // The built-in English text written out is not the team's own wording.
                    let own = builtin.default.get(&key) != Some(text.as_str());
                    *slot = text;
                    if let Some(k) = OrderTemplates::KEYS.iter().find(|k| **k == key)
                        && own
                    {
                        customised.push(k);
                    }
                }
                continue;
            }
            let code = key.to_ascii_lowercase();
            match value {
                toml::Value::Table(t)
                    if code.len() == 2 && ISO_639_1.split_whitespace().any(|c| c == code) =>
                {
                    if let std::collections::btree_map::Entry::Vacant(e) = tables.entry(code) {
                        e.insert((key, t));
                    } else {
                        self.err(&full, "the same language is given twice; keep one table");
                    }
                }
                _ => self.err(
                    &full,
                    format!(
                        "unknown key (expected one of {}, or an [{full}] table of messages in one \
                         language, named by its two-letter ISO 639-1 code)",
                        OrderTemplates::KEYS.join(", ")
                    ),
                ),
            }
        }
        let codes: std::collections::BTreeSet<String> = builtin
            .languages
            .keys()
            .cloned()
            .chain(tables.keys().cloned())
            .collect();
        let mut languages = BTreeMap::new();
        for code in codes {
            let mut set = builtin
                .languages
                .get(&code)
                .cloned()
                .unwrap_or_else(|| default.clone());
            for key in &customised {
                if let (Some(slot), Some(text)) = (set.get_mut(key), default.get(key)) {
                    *slot = text.to_string();
                }
            }
            if let Some((written, table)) = tables.remove(&code) {
                for (key, value) in table {
                    let full = format!("orders.messages.{written}.{key}");
                    if !OrderTemplates::KEYS.contains(&key.as_str()) {
                        self.err(
                            &full,
                            format!(
                                "unknown key (expected one of {})",
                                OrderTemplates::KEYS.join(", ")
                            ),
                        );
                        continue;
                    }
                    if let Some(text) = check(self, &full, &key, value)
                        && let Some(slot) = set.get_mut(&key)
                    {
                        *slot = text;
                    }
                }
            }
            languages.insert(code, set);
        }
        OrdersConfig {
            enabled: raw.enabled,
            recent_window: self.duration(
                "orders.recent_window",
                raw.recent_window,
                "60d",
                limits::ORDERS_WINDOW,
            ),
            late_after: self.duration(
                "orders.late_after",
                raw.late_after,
                "5d",
                limits::ORDERS_WINDOW,
            ),
            number_wait: self.duration(
                "orders.number_wait",
                raw.number_wait,
                "10m",
                limits::EMAIL_WAIT,
            ),
            messages: OrderMessages { default, languages },
        }
    }

    fn gorgias(&mut self, raw: RawGorgias) -> GorgiasConfig {
        let example = "https://your-store.gorgias.com";
        let base_url = match raw.base_url {
            None => {
                self.err(
                    "gorgias.base_url",
                    format!("missing: set it to your Gorgias address, e.g. {example:?}"),
                );
                String::new()
            }
            Some(text) => match self.http_url("gorgias.base_url", &text, example) {
                Some(url) if url.ends_with("/api") => {
                    self.err(
                        "gorgias.base_url",
                        format!(
                            "{text:?} must not end in /api: give the account address (e.g. {example:?}), \
                             the bot adds /api/... itself"
                        ),
                    );
                    String::new()
                }
                Some(url) => url,
                None => String::new(),
            },
        };
        let email = match raw.email {
            Some(e) if !e.contains('@') || e.trim().contains(char::is_whitespace) => {
                self.err("gorgias.email", format!("{e:?} is not an email address"));
                String::new()
            }
            Some(e) => e.trim().to_string(),
            None if raw.bearer => String::new(),
            None => {
                self.err(
                    "gorgias.email",
                    "missing: the email of the Gorgias user whose API key the bot uses \
                     (or set gorgias.bearer = true for an OAuth2 token)",
                );
                String::new()
            }
        };
        let api_key_file = raw.api_key_file.as_deref().map(|p| self.resolve(p));
        let api_key = match self.secret(
            "gorgias.api_key",
            "gorgias_api_key",
            api_key_file.as_deref(),
            Some(ENV_GORGIAS_API_KEY),
        ) {
            Ok(Some(key)) => key,
            Ok(None) => {
                self.err(
                    "gorgias.api_key",
                    format!(
                        "no API key found; put it in $CREDENTIALS_DIRECTORY/gorgias_api_key \
                         (systemd LoadCredential=), in the file named by gorgias.api_key_file, \
                         or in the environment variable {ENV_GORGIAS_API_KEY}"
                    ),
                );
                SecretString::default()
            }
            Err(()) => SecretString::default(),
        };
        let requests_per_window = match raw.requests_per_window {
            Some(0) => {
                self.err(
                    "gorgias.requests_per_window",
                    "0 must be at least 1 (try 40)",
                );
                40
            }
            Some(n) if n > limits::MAX_REQUESTS_PER_WINDOW => {
                self.err(
                    "gorgias.requests_per_window",
                    format!(
                        "{n} is more than the maximum of {} (try 40)",
                        limits::MAX_REQUESTS_PER_WINDOW
                    ),
                );
                40
            }
            Some(n) => n,
            None => 40,
        };
        if base_url.starts_with("http://") && !is_loopback_url(&base_url) {
            if raw.allow_insecure_http {
                self.warnings.push(format!(
                    "gorgias.base_url = {base_url:?} is plain http:// to another machine: the API \
                     key crosses the network in clear (allowed by gorgias.allow_insecure_http)"
                ));
            } else {
                self.err(
                    "gorgias.base_url",
                    format!(
                        "{base_url:?} is plain http:// to another machine, which would send the \
                         API key in clear; use https:// (or set gorgias.allow_insecure_http = true)"
                    ),
                );
            }
        }
        GorgiasConfig {
            base_url,
            email,
            api_key,
            api_key_file,
            bearer: raw.bearer,
            requests_per_window,
            window: self.duration("gorgias.window", raw.window, "20s", limits::WINDOW),
            timeout: self.duration("gorgias.timeout", raw.timeout, "30s", limits::TIMEOUT),
            connect_timeout: self.duration(
                "gorgias.connect_timeout",
                raw.connect_timeout,
                "10s",
                limits::TIMEOUT,
            ),
            max_body: self.size(
                "gorgias.max_body",
                raw.max_body,
                DEFAULT_GORGIAS_MAX_BODY,
                GORGIAS_MAX_BODY_RANGE,
            ),
            stall_timeout: self.duration(
                "gorgias.stall_timeout",
                raw.stall_timeout,
                "10s",
                limits::TIMEOUT,
            ),
            allow_insecure_http: raw.allow_insecure_http,
        }
    }

    /// A byte count: a number, or digits with a unit (B, KB, MB, GB: powers of 1000; KiB, MiB,
    /// GiB: of 1024), within `range`.
    fn size(
        &mut self,
        key: &str,
        raw: Option<RawSize>,
        default: usize,
        range: (usize, usize),
    ) -> usize {
        let Some(raw) = raw else {
            return default;
        };
        let parsed = match &raw {
            RawSize::Bytes(n) => Some(*n),
            RawSize::Text(t) => parse_size(t),
        };
        let shown = match &raw {
            RawSize::Bytes(n) => n.to_string(),
            RawSize::Text(t) => format!("{t:?}"),
        };
        match parsed.map(|n| usize::try_from(n).unwrap_or(usize::MAX)) {
            Some(n) if (range.0..=range.1).contains(&n) => n,
            Some(_) => {
                self.err(
                    key,
                    format!(
                        "{shown} is out of range: {} to {} bytes (try \"20MB\")",
                        range.0, range.1
                    ),
                );
                default
            }
            None => {
                self.err(
                    key,
                    format!("{shown} is not a size (try \"20MB\" or a number of bytes)"),
                );
                default
            }
        }
    }

    fn bot(&mut self, raw: RawBot) -> BotConfig {
        let name = self
            .non_empty("bot.name", raw.name, "PerfectBot")
            .trim()
            .to_string();
        let channels = match raw.channels {
            None => vec!["chat".to_string()],
            Some(list) if list.is_empty() => {
                self.err(
                    "bot.channels",
                    "[] must list at least one channel (e.g. [\"chat\"])",
                );
                vec!["chat".to_string()]
            }
            Some(list) => {
                if list.iter().any(|c| c.trim().is_empty()) {
                    self.err(
                        "bot.channels",
                        format!("{list:?} has an empty channel name"),
                    );
                }
                list.into_iter().map(|c| c.trim().to_string()).collect()
            }
        };
        for (key, list) in [
            ("bot.handover_phrases", &raw.handover_phrases),
            ("bot.frustration_phrases", &raw.frustration_phrases),
        ] {
            if list.iter().any(|p| p.trim().is_empty()) {
                self.err(key, format!("{list:?} has an empty phrase"));
            }
        }
        if raw.opt_out_tags.iter().any(|t| t.trim().is_empty()) {
            self.err(
                "bot.opt_out_tags",
                format!("{:?} has an empty tag", raw.opt_out_tags),
            );
        }
        BotConfig {
            name,
            user_id: raw.user_id,
            channels,
            mode: self.choice(
                "bot.mode",
                raw.mode,
                Mode::Live,
                &[("live", Mode::Live), ("shadow", Mode::Shadow)],
            ),
            opt_out_tags: raw.opt_out_tags,
            handover_phrases: raw.handover_phrases,
            frustration_phrases: raw.frustration_phrases,
        }
    }

    fn timing(&mut self, raw: RawTiming) -> TimingConfig {
        let sweep = match raw.sweep {
            None => DEFAULT_SWEEP.to_string(),
            Some(text) => match check_cron(&text) {
                Ok(()) => text.trim().to_string(),
                Err(why) => {
                    self.err("timing.sweep", format!("{text:?} {why}"));
                    DEFAULT_SWEEP.to_string()
                }
            },
        };
        TimingConfig {
            poll_interval: self.duration(
                "timing.poll_interval",
                raw.poll_interval,
                "5s",
                limits::POLL_INTERVAL,
            ),
            sweep,
            close_after: self.duration(
                "timing.close_after",
                raw.close_after,
                "15m",
                limits::CLOSE_AFTER,
            ),
            email_wait: self.duration(
                "timing.email_wait",
                raw.email_wait,
                "5m",
                limits::EMAIL_WAIT,
            ),
            answer_deadline: self.duration(
                "timing.answer_deadline",
                raw.answer_deadline,
                "2m",
                limits::ANSWER_DEADLINE,
            ),
        }
    }

    fn ledger(&mut self, raw: RawLedger) -> LedgerConfig {
        let path = match raw.path {
            Some(p) if p.trim().is_empty() => {
                self.err("ledger.path", "\"\" must not be empty");
                PathBuf::from(DEFAULT_LEDGER_PATH)
            }
            Some(p) => self.resolve(&p),
            // systemd's StateDirectory= sets this (colon-separated when several are given).
            None => match (self.env)("STATE_DIRECTORY")
                .and_then(|dirs| dirs.split(':').next().map(str::to_string))
                .filter(|d| !d.is_empty())
            {
                Some(dir) => Path::new(&dir).join("ledger.db"),
                None => PathBuf::from(DEFAULT_LEDGER_PATH),
            },
        };
        LedgerConfig { path }
    }

    fn kb(&mut self, raw: RawKb) -> KbConfig {
        use crate::responder::hybrid::{DEFAULT_CONFIDENCE, bm25_confidence};
        let deprecated_min_score = match raw.min_score {
            Some(s) if !s.is_finite() || s < 0.0 => {
                self.err(
                    "kb.min_score",
                    format!("{s} must be a number of 0 or more (deprecated: use kb.confidence)"),
                );
                None
            }
            other => other,
        };
        let confidence = match (raw.confidence, deprecated_min_score) {
            (Some(c), _) if !c.is_finite() || !(0.0..=1.0).contains(&c) => {
                self.err(
                    "kb.confidence",
                    format!("{c} must be between 0 and 1 (try {DEFAULT_CONFIDENCE})"),
                );
                DEFAULT_CONFIDENCE
            }
            (Some(c), _) => c,
            // The old threshold on the BM25 score, as the confidence BM25 alone gives it.
            (None, Some(s)) => (bm25_confidence(s) * 1000.0).round() / 1000.0,
            (None, None) => DEFAULT_CONFIDENCE,
        };
        let dir = match raw.dir {
            Some(d) if d.trim().is_empty() => {
                self.err("kb.dir", "\"\" must not be empty");
                PathBuf::from(DEFAULT_KB_DIR)
            }
            Some(d) => self.resolve(&d),
            None => PathBuf::from(DEFAULT_KB_DIR),
        };
        #[derive(Clone, Copy)]
        enum Kind {
            Builtin,
            Model2Vec,
            OpenAi,
            None,
        }
        let kind = self.choice(
            "kb.embedding",
            raw.embedding,
            Kind::Builtin,
            &[
                ("builtin", Kind::Builtin),
                ("model2vec", Kind::Model2Vec),
                ("openai", Kind::OpenAi),
                ("none", Kind::None),
            ],
        );
        let timeout = self.duration(
            "kb.embedding_timeout",
            raw.embedding_timeout,
            "10s",
            limits::TIMEOUT,
        );
        let batch = match raw.embedding_batch {
            Some(0) => {
                self.err("kb.embedding_batch", "0 must be at least 1 (try 32)");
                32
            }
            Some(n) => n.min(2048),
            None => 32,
        };
        let embedding = match kind {
            Kind::Builtin => Embedding::Builtin,
            Kind::None => Embedding::None,
            Kind::Model2Vec => match raw.model2vec_dir {
                Some(d) if !d.trim().is_empty() => Embedding::Model2Vec {
                    dir: self.resolve(&d),
                },
                _ => {
                    self.err(
                        "kb.model2vec_dir",
                        "missing: kb.embedding = \"model2vec\" needs the model's directory \
                         (tokenizer.json and model.safetensors)",
                    );
                    Embedding::None
                }
            },
            Kind::OpenAi => {
                let example = "http://127.0.0.1:11434";
                let url = match raw.embedding_url.as_deref() {
                    Some(u) => self.http_url("kb.embedding_url", u, example),
                    None => {
                        self.err(
                            "kb.embedding_url",
                            format!(
                                "missing: kb.embedding = \"openai\" needs it (e.g. {example:?})"
                            ),
                        );
                        None
                    }
                };
                let model = raw.embedding_model.filter(|m| !m.trim().is_empty());
                if model.is_none() {
                    self.err(
                        "kb.embedding_model",
                        "missing: kb.embedding = \"openai\" needs it (e.g. \"nomic-embed-text\")",
                    );
                }
                let key_file = raw
                    .embedding_api_key_file
                    .as_deref()
                    .map(|p| self.resolve(p));
                let api_key = self
                    .secret(
                        "kb.embedding_api_key",
                        "embedding_api_key",
                        key_file.as_deref(),
                        Some(ENV_EMBEDDING_API_KEY),
                    )
                    .ok()
                    .flatten();
                match (url, model) {
                    (Some(base_url), Some(model)) => {
                        Embedding::OpenAi(crate::responder::embed::OpenAiEmbeddingConfig {
                            base_url,
                            model,
                            api_key,
                            timeout,
                            batch,
                        })
                    }
                    _ => Embedding::None,
                }
            }
        };
        let macro_languages = raw
            .macro_languages
            .unwrap_or_default()
            .into_iter()
            .filter_map(|l| {
                let l = l.trim().to_lowercase();
                if l.is_empty() {
                    self.err("kb.macro_languages", "\"\" is not a language (e.g. \"en\")");
                    None
                } else {
                    Some(l)
                }
            })
            .collect();
        let mut sites = Vec::new();
        for (i, site) in raw.sites.unwrap_or_default().into_iter().enumerate() {
            let key = format!("kb.sites[{i}]");
            if let Some(url) = self.site_url(&key, &site) {
                if sites.contains(&url) {
                    self.err(&key, format!("{site:?} is listed twice"));
                } else {
                    sites.push(url);
                }
            }
        }
        let bounded = |v: &mut Validator<'_>, key: &str, raw: Option<u64>, default: usize| match raw
        {
            Some(0) => {
                v.err(key, format!("0 must be more than zero (default {default})"));
                default
            }
            Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
            None => default,
        };
        KbConfig {
            dir,
            confidence,
            deprecated_min_score,
            note_prefix: self.non_empty("kb.note_prefix", raw.note_prefix, "#kb"),
            embedding,
            macros: raw.macros.unwrap_or(false),
            macro_name_prefix: raw.macro_name_prefix.filter(|p| !p.is_empty()),
            macro_languages,
            sites,
            refresh: self.duration("kb.refresh", raw.refresh, "1h", limits::REFRESH),
            site_max_pages: bounded(
                self,
                "kb.site_max_pages",
                raw.site_max_pages,
                DEFAULT_SITE_MAX_PAGES,
            ),
            site_max_page_bytes: bounded(
                self,
                "kb.site_max_page_bytes",
                raw.site_max_page_bytes,
                DEFAULT_SITE_MAX_PAGE_BYTES,
            ),
        }
    }

    fn openai(&mut self, raw: Option<RawOpenAi>, kind: ResponderKind) -> Option<OpenAiConfig> {
        let Some(raw) = raw else {
            if kind == ResponderKind::OpenAi {
                self.err(
                    "openai",
                    "missing: responder.kind = \"openai\" needs an [openai] section with base_url and model",
                );
            }
            return None;
        };
        let needed = kind == ResponderKind::OpenAi;
        let example = "https://api.openai.com/v1";
        let base_url = match raw.base_url {
            Some(u) => self.http_url("openai.base_url", &u, example),
            None => {
                if needed {
                    self.err(
                        "openai.base_url",
                        format!("missing: responder.kind = \"openai\" needs it (e.g. {example:?})"),
                    );
                }
                None
            }
        };
        let model = match raw.model {
            Some(m) if m.trim().is_empty() => {
                self.err("openai.model", "\"\" must not be empty");
                None
            }
            Some(m) => Some(m.trim().to_string()),
            None => {
                if needed {
                    self.err(
                        "openai.model",
                        "missing: responder.kind = \"openai\" needs it (e.g. \"gpt-4o-mini\")",
                    );
                }
                None
            }
        };
        let timeout = self.duration("openai.timeout", raw.timeout, "20s", limits::TIMEOUT);
        let api_key_file = raw.api_key_file.as_deref().map(|p| self.resolve(p));
        let d = OpenAiConfig::new("", "");
        let temperature = match raw.temperature {
            Some(t) if !t.is_finite() || !(0.0..=2.0).contains(&t) => {
                self.err(
                    "openai.temperature",
                    format!("{t} must be between 0 and 2 (try 0)"),
                );
                d.temperature
            }
            Some(t) => t,
            None => d.temperature,
        };
        let response_format = self.choice(
            "openai.response_format",
            raw.response_format,
            d.response_format,
            &[
                ("json_schema", StructuredOutput::JsonSchema),
                ("json_object", StructuredOutput::JsonObject),
            ],
        );
        let max_tokens = self.at_least("openai.max_tokens", raw.max_tokens, 64, d.max_tokens);
        let grounding_entries = self.at_least(
            "openai.grounding_entries",
            raw.grounding_entries,
            1,
            d.grounding_entries,
        );
        let context_tokens = self.at_least(
            "openai.context_tokens",
            raw.context_tokens,
            0,
            d.context_tokens,
        );
        let max_answer_chars = self.at_least(
            "openai.max_answer_chars",
            raw.max_answer_chars,
            1,
            d.max_answer_chars,
        );
        let concurrency = self.at_least("openai.concurrency", raw.concurrency, 1, d.concurrency);
        let max_body_bytes = self.at_least(
            "openai.max_body_bytes",
            raw.max_body_bytes,
            1024,
            d.max_body_bytes,
        );
        if !needed {
            return None;
        }
        let api_key = self
            .secret(
                "openai.api_key",
                "openai_api_key",
                api_key_file.as_deref(),
                Some(ENV_OPENAI_API_KEY),
            )
            .ok()?;
        let (base_url, model) = (base_url?, model?);
        if api_key.is_some() && base_url.starts_with("http://") && !is_loopback_url(&base_url) {
            self.warnings.push(format!(
                "openai.base_url = {base_url:?} is plain http:// to another machine: the API key \
                 crosses the network in clear"
            ));
        }
        // Local servers (Ollama, llama.cpp, vLLM) take no key; the hosted services do.
        let host = url::Url::parse(&base_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default();
        if api_key.is_none() && (host.ends_with("openai.com") || host.ends_with("azure.com")) {
            self.err(
                "openai.api_key",
                format!(
                    "no API key found for {host}; put it in $CREDENTIALS_DIRECTORY/openai_api_key, \
                     in the file named by openai.api_key_file, or in the environment variable \
                     {ENV_OPENAI_API_KEY}"
                ),
            );
        }
        Some(OpenAiConfig {
            base_url,
            model,
            api_key,
            api_key_file,
            timeout,
            temperature,
            max_tokens,
            response_format,
            grounding_entries,
            context_tokens,
            max_answer_chars,
            concurrency,
            max_body_bytes,
        })
    }

    fn handover(&mut self, raw: RawHandover) -> HandoverConfig {
        let collect_email = self.choice(
            "handover.collect_email",
            raw.collect_email,
            CollectEmail::Always,
            &[
                ("always", CollectEmail::Always),
                ("when_offline", CollectEmail::WhenOffline),
                ("never", CollectEmail::Never),
            ],
        );
        if let (Some(team), Some(user)) = (raw.assign_team_id, raw.assign_user_id) {
            self.err(
                "handover.assign_team_id",
                format!(
                    "{team} and handover.assign_user_id = {user} are both set; a handover goes \
                     to a team or to a user: set one of them (or neither, to unassign)"
                ),
            );
        }
        let messages = self.messages(raw.messages);
        HandoverConfig {
            collect_email,
            assign_team_id: raw.assign_team_id,
            assign_user_id: raw.assign_user_id,
            messages,
        }
    }

    /// `[handover.messages]`: see [`HandoverMessages`] for how a language's set is resolved.
    fn messages(&mut self, raw: toml::Table) -> HandoverMessages {
        let english = MessageTemplates::english();
        let mut default = english.clone();
        let mut customised = [false; MESSAGE_KEYS.len()];
        // Code -> (the key as written, its table); BTreeMap keeps the error order stable.
        let mut tables: BTreeMap<String, (String, toml::Table)> = BTreeMap::new();
        for (key, value) in raw {
            let full = format!("handover.messages.{key}");
            if let Some(i) = MESSAGE_KEYS.iter().position(|k| *k == key) {
                if let Some(text) = self.template_value(&full, value, english.get(i)) {
                    customised[i] = text != english.get(i);
                    *default.get_mut(i) = text;
                }
                continue;
            }
            let toml::Value::Table(table) = value else {
                self.err(
                    &full,
                    format!(
                        "unknown key (expected one of {}, or a [{full}] table of messages in \
                         one language, named by its two-letter ISO 639-1 code)",
                        MESSAGE_KEYS.join(", ")
                    ),
                );
                continue;
            };
            let code = key.to_ascii_lowercase();
            if code.len() != 2 || !ISO_639_1.split_whitespace().any(|c| c == code) {
                let hint = match language_code(&key) {
                    Some(primary) if primary != code => {
                        format!(" (tickets in {key:?} use the [handover.messages.{primary}] table)")
                    }
                    _ => String::new(),
                };
                self.err(
                    &full,
                    format!(
                        "{key:?} is not a language: name a table by a two-letter ISO 639-1 \
                         code such as \"fr\" or \"de\"{hint}"
                    ),
                );
                continue;
            }
            if let Some((first, _)) = tables.get(&code) {
                self.err(
                    &full,
                    format!("is the same language as handover.messages.{first}; keep one table"),
                );
                continue;
            }
            tables.insert(code, (key, table));
        }

        let mut languages = BTreeMap::new();
        let codes: std::collections::BTreeSet<String> = BUILTIN_LANGUAGES
            .iter()
            .map(|c| c.to_string())
            .chain(tables.keys().cloned())
            .collect();
        for code in codes {
            let builtin = MessageTemplates::builtin(&code);
            let mut set = default.clone();
            for (i, &custom) in customised.iter().enumerate() {
                if let (false, Some(b)) = (custom, &builtin) {
                    *set.get_mut(i) = b.get(i).to_string();
                }
            }
            if let Some((written, table)) = tables.remove(&code) {
                for (key, value) in table {
                    let full = format!("handover.messages.{written}.{key}");
                    match MESSAGE_KEYS.iter().position(|k| *k == key) {
                        Some(i) => {
                            let fallback = set.get(i).to_string();
                            if let Some(text) = self.template_value(&full, value, &fallback) {
                                *set.get_mut(i) = text;
                            }
                        }
                        None => self.err(
                            &full,
                            format!("unknown key (expected one of {})", MESSAGE_KEYS.join(", ")),
                        ),
                    }
                }
            }
            languages.insert(code, set);
        }
        HandoverMessages { default, languages }
    }

    /// A template given as a TOML value: a checked string, or `None` after recording why not.
    fn template_value(&mut self, key: &str, value: toml::Value, default: &str) -> Option<String> {
        match value {
            toml::Value::String(text) => {
                let before = self.errors.len();
                let text = self.template(key, Some(text), default);
                (self.errors.len() == before).then_some(text)
            }
            other => {
                self.err(
                    key,
                    format!(
                        "invalid type: {} `{other}`, expected a string (a message template)",
                        other.type_str()
                    ),
                );
                None
            }
        }
    }

    fn template(&mut self, key: &str, raw: Option<String>, default: &str) -> String {
        let text = self.non_empty(key, raw, default);
        let unknown = unknown_placeholders(&text);
        if !unknown.is_empty() {
            let known: Vec<String> = PLACEHOLDERS.iter().map(|p| format!("{{{p}}}")).collect();
            self.err(
                key,
                format!(
                    "{text:?} uses unknown placeholder(s) {} (known: {})",
                    unknown.join(", "),
                    known.join(", ")
                ),
            );
        }
        text
    }

    fn tags(&mut self, raw: RawTags, name: &str) -> Tags {
        let d = Tags::for_name(name);
        let tags = Tags {
            agent_required: self.non_empty(
                "tags.agent_required",
                raw.agent_required,
                &d.agent_required,
            ),
            agent_check: self.non_empty("tags.agent_check", raw.agent_check, &d.agent_check),
            handled: self.non_empty("tags.handled", raw.handled, &d.handled),
            not_involved: self.non_empty("tags.not_involved", raw.not_involved, &d.not_involved),
            auto_closed: self.non_empty("tags.auto_closed", raw.auto_closed, &d.auto_closed),
            preview: self.non_empty("tags.preview", raw.preview, &d.preview),
        };
        // Two roles sharing one tag would make the bot misread its own marks.
        let named = [
            ("tags.agent_required", &tags.agent_required),
            ("tags.agent_check", &tags.agent_check),
            ("tags.handled", &tags.handled),
            ("tags.not_involved", &tags.not_involved),
            ("tags.auto_closed", &tags.auto_closed),
            ("tags.preview", &tags.preview),
        ];
        let mut seen: BTreeMap<String, &str> = BTreeMap::new();
        for (key, tag) in named {
            let folded = tag.trim().to_lowercase();
            if let Some(first) = seen.get(&folded) {
                self.err(
                    key,
                    format!("{tag:?} is the same tag as {first}; each tag must differ"),
                );
            } else {
                seen.insert(folded, key);
            }
        }
        tags
    }

    fn business_hours(&mut self, raw: RawBusinessHours) -> BusinessHoursConfig {
        let source = self.choice(
            "business_hours.source",
            raw.source,
            HoursSource::Gorgias,
            &[
                ("gorgias", HoursSource::Gorgias),
                ("config", HoursSource::Config),
            ],
        );
        let timezone = raw
            .timezone
            .unwrap_or_else(|| "UTC".to_string())
            .trim()
            .to_string();
        let tz_ok = match jiff::tz::TimeZone::get(&timezone) {
            Ok(_) => true,
            Err(_) => {
                self.err(
                    "business_hours.timezone",
                    format!("{timezone:?} is not a known time zone (e.g. \"Europe/Paris\", \"US/Pacific\")"),
                );
                false
            }
        };
        let mut holidays = Vec::new();
        for value in &raw.holidays {
            let text = match value {
                toml::Value::String(s) => s.trim().to_string(),
                other => other.to_string(),
            };
            match parse_date(&text) {
                Some(d) => holidays.push(d),
                None => self.err(
                    "business_hours.holidays",
                    format!("{text:?} is not a date (use \"YYYY-MM-DD\", e.g. \"2025-12-25\")"),
                ),
            }
        }
        let mut ranges = Vec::new();
        for (i, r) in raw.ranges.into_iter().enumerate() {
            let key = format!("business_hours.ranges[{}]", i + 1);
            let days = self.range_field(&key, "days", r.days, crate::hours::parse_days);
            let from = self.range_field(&key, "from", r.from, crate::hours::parse_hhmm);
            let to = self.range_field(&key, "to", r.to, crate::hours::parse_end_hhmm);
            if let (Some(days), Some(from), Some(to)) = (days, from, to) {
                ranges.push(HoursRange { days, from, to });
            }
        }
        if source == HoursSource::Gorgias && !ranges.is_empty() {
            self.err(
                "business_hours.ranges",
                "are set, but business_hours.source = \"gorgias\" reads the hours from Gorgias; \
                 set source = \"config\" to use these ranges (or remove them)",
            );
        }
        let hours = if source == HoursSource::Config && tz_ok {
            match BusinessHours::new(&timezone, ranges.clone(), holidays.clone()) {
                Ok(h) => Some(h),
                Err(e) => {
                    self.err("business_hours.timezone", e);
                    None
                }
            }
        } else {
            None
        };
        BusinessHoursConfig {
            source,
            timezone,
            holidays,
            ranges,
            hours,
        }
    }

    /// One field of a `[[business_hours.ranges]]` entry: present and parseable, or an error.
    fn range_field<T>(
        &mut self,
        range_key: &str,
        field: &str,
        raw: Option<String>,
        parse: fn(&str) -> Result<T, String>,
    ) -> Option<T> {
        let key = format!("{range_key}.{field}");
        let Some(text) = raw else {
            self.err(
                &key,
                "missing (each range needs days, from and to, e.g. days = \"mon-fri\", \
                 from = \"09:00\", to = \"17:00\")",
            );
            return None;
        };
        parse(&text).map_err(|e| self.err(&key, e)).ok()
    }

    fn http(&mut self, raw: RawHttp) -> HttpConfig {
        let listen = raw
            .listen
            .and_then(|text| match text.trim().parse::<SocketAddr>() {
                Ok(addr) => Some(addr),
                Err(_) => {
                    self.err(
                        "http.listen",
                        format!("{text:?} is not a socket address (e.g. \"127.0.0.1:9184\")"),
                    );
                    None
                }
            });
        let webhook_secret_file = raw.webhook_secret_file.as_deref().map(|p| self.resolve(p));
        let webhook_secret = self
            .secret(
                "http.webhook_secret",
                "webhook_secret",
                webhook_secret_file.as_deref(),
                None,
            )
            .ok()
            .flatten();
        HttpConfig {
            listen,
            webhook_secret_file,
            webhook_secret,
        }
    }

    fn log(&mut self, raw: RawLog) -> LogConfig {
        let format = self.choice(
            "log.format",
            raw.format,
            LogFormat::Auto,
            &[
                ("text", LogFormat::Text),
                ("json", LogFormat::Json),
                ("journald", LogFormat::Journald),
                ("auto", LogFormat::Auto),
            ],
        );
        let filter = match raw.filter {
            None => DEFAULT_LOG_FILTER.to_string(),
            Some(f) => match tracing_subscriber::EnvFilter::try_new(&f) {
                Ok(_) => f,
                Err(e) => {
                    self.err(
                        "log.filter",
                        format!("{f:?} is not a log filter ({e}); try {DEFAULT_LOG_FILTER:?}"),
                    );
                    DEFAULT_LOG_FILTER.to_string()
                }
            },
        };
        LogConfig { format, filter }
    }
}

/// Checks a sweep cron string: six fields, seconds first, in the syntax of the `cron` crate,
/// and also accepted by tokio-cron-scheduler itself (it parses with `croner`, whose syntax
/// differs in corners: a string must satisfy both to be safe). Returns why not.
fn check_cron(text: &str) -> Result<(), String> {
    let fields = text.split_whitespace().count();
    let shorthand = text.trim().starts_with('@');
    if !shorthand && fields < 6 {
        return Err(format!(
            "has {fields} fields; six are needed, seconds first, in UTC (e.g. \"0 */10 * * * *\" or \"{DEFAULT_SWEEP}\")"
        ));
    }
    // The `cron` crate numbers weekdays 1-7 from Sunday, croner (which the scheduler runs)
    // 0-6 from Sunday: "1-5" would mean different days to the two. Names mean the same.
    if !shorthand
        && text.split_whitespace().nth(5).is_some_and(|dow| {
            dow.split('/')
                .next()
                .is_some_and(|d| d.contains(|c: char| c.is_ascii_digit()))
        })
    {
        return Err(format!(
            "numbers its days of the week; use names (e.g. \"MON-FRI\") in the sixth field, \
             as cron dialects disagree on what the numbers mean (e.g. \"{DEFAULT_SWEEP}\")"
        ));
    }
    if let Err(e) = cron::Schedule::from_str(text.trim()) {
        return Err(format!(
            "is not a valid cron expression ({e}); six fields, seconds first, e.g. \"{DEFAULT_SWEEP}\""
        ));
    }
    let job =
        tokio_cron_scheduler::Job::new_async(text.trim(), |_id, _scheduler| Box::pin(async {}));
    if job.is_err() {
        return Err(format!(
            "is not accepted by the scheduler (tokio-cron-scheduler); six fields, seconds first, e.g. \"{DEFAULT_SWEEP}\""
        ));
    }
    Ok(())
}

/// The permission bits of a secret file when its group or others may read or write it.
fn loose_mode(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o7777;
        (mode & 0o066 != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// True when the URL's host is this machine (`localhost`, 127.0.0.0/8, `::1`): plain http
/// there never crosses a network.
fn is_loopback_url(text: &str) -> bool {
    let Ok(u) = url::Url::parse(text) else {
        return false;
    };
    match u.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// `text` with anything between `://` and an `@` before the next `/` replaced by `***`, for
/// messages about a URL that did not parse (it may still carry a password).
fn redact_userinfo(text: &str) -> String {
    let Some(scheme_end) = text.find("://") else {
        return text.to_string();
    };
    let rest = &text[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}***{}", &text[..scheme_end + 3], &rest[at..]),
        None => text.to_string(),
    }
}

fn parse_date(text: &str) -> Option<Date> {
    // jiff would also take "2025-12-25T10:00"; a holiday is a whole date and nothing else.
    if text.len() != 10 {
        return None;
    }
    text.parse::<Date>().ok()
}

/// The `{name}`s in a template that are not known placeholders.
fn unknown_placeholders(text: &str) -> Vec<String> {
    let mut unknown = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        let name = &after[..close];
        if !name.contains('{') && !PLACEHOLDERS.contains(&name) {
            unknown.push(format!("{{{name}}}"));
        }
        rest = &after[close + 1..];
    }
    unknown
}

/// The field name in serde's "unknown field `x`, expected ..." message.
fn unknown_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    let end = rest.find('`')?;
    Some(rest[..end].to_string())
}

/// Splits a toml value-deserialization error into its message and the key path it names.
/// toml only exposes the path through Display ("...\nin `a.b`"), hence the parsing.
fn split_toml_error(e: &toml::de::Error) -> (String, Vec<String>) {
    let shown = e.to_string();
    let path = shown
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("in `").and_then(|r| r.strip_suffix('`')))
        .map(|p| p.split('.').map(str::to_string).collect())
        .unwrap_or_default();
    (plain_types(e.message().trim()), path)
}

/// Serde's type names in words a user knows.
fn plain_types(message: &str) -> String {
    message
        .replace("expected u32", "expected a whole number")
        .replace("expected u64", "expected a whole number (0 or more)")
        .replace("expected f64", "expected a number")
        .replace(
            "expected a sequence",
            "expected a list, e.g. [\"a\", \"b\"]",
        )
}

/// Removes the key at `path` so deserialization can go on to find the next problem. A path
/// through an array of tables drops the whole array (its elements cannot be told apart).
fn remove_key(root: &mut toml::Value, path: &[String]) -> bool {
    let mut current = root;
    for (i, key) in path.iter().enumerate() {
        let Some(table) = current.as_table_mut() else {
            return false;
        };
        let last = i + 1 == path.len();
        if last || table.get(key).is_some_and(toml::Value::is_array) {
            return table.remove(key).is_some();
        }
        match table.get_mut(key) {
            Some(next) => current = next,
            None => return false,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "sk-test-0123456789-SECRET";

    fn env_with_key(name: &str) -> Option<String> {
        (name == ENV_GORGIAS_API_KEY).then(|| KEY.to_string())
    }

    fn parse(text: &str) -> Result<Config, ConfigErrors> {
        parse_str("config.toml", text, &env_with_key)
    }

    const MINIMAL: &str = r#"
[gorgias]
base_url = "https://your-store.gorgias.com/"
email = "bot@your-store.com"
"#;

    fn errors_of(text: &str) -> Vec<String> {
        match parse(text) {
            Ok(_) => panic!("expected errors for:\n{text}"),
            Err(e) => e.0,
        }
    }

    #[test]
    fn knowledge_sources_parse_and_bad_ones_are_named() {
        let c = parse(&format!(
            "{MINIMAL}[kb]\nmacros = true\nmacro_name_prefix = \"FAQ: \"\n\
             macro_languages = [\"EN\", \"fr\"]\nrefresh = \"30m\"\n\
             sites = [\"https://help.example.com/sitemap.xml#top\", \"http://127.0.0.1:8080/faq?x=1\"]\n"
        ))
        .unwrap();
        assert!(c.kb.macros);
        assert_eq!(c.kb.macro_name_prefix.as_deref(), Some("FAQ: "));
        assert_eq!(c.kb.macro_languages, ["en", "fr"]);
        assert_eq!(c.kb.refresh, Duration::from_secs(1800));
        assert_eq!(
            c.kb.sites,
            [
                "https://help.example.com/sitemap.xml",
                "http://127.0.0.1:8080/faq?x=1"
            ]
        );
        let d = parse(MINIMAL).unwrap();
        assert!(!d.kb.macros && d.kb.sites.is_empty());
        assert_eq!(d.kb.refresh, Duration::from_secs(3600));
        let errors = errors_of(&format!(
            "{MINIMAL}[kb]\nsites = [\"ftp://x.example/a\", \"not a url\", \"https://a.example/\", \"https://a.example/\"]\n\
             site_max_pages = 0\nrefresh = \"0s\"\nmacro_languages = [\" \"]\n"
        ));
        let all = errors.join("\n");
        for want in [
            "kb.sites[0]: \"ftp://x.example/a\" must start with https://",
            "kb.sites[1]: \"not a url\" is not a URL",
            "kb.sites[3]: \"https://a.example/\" is listed twice",
            "kb.site_max_pages: 0 must be more than zero",
            "kb.refresh: \"0s\" must be more than zero",
            "kb.macro_languages:",
        ] {
            assert!(all.contains(want), "{want} not in:\n{all}");
        }
    }

    #[test]
    fn minimal_file_gets_every_default() {
        let c = parse(MINIMAL).expect("minimal config parses");
        assert_eq!(c.gorgias.base_url, "https://your-store.gorgias.com");
        assert_eq!(c.gorgias.email, "bot@your-store.com");
        assert!(!c.gorgias.bearer);
        assert_eq!(c.gorgias.requests_per_window, 40);
        assert_eq!(c.gorgias.window, Duration::from_secs(20));
        assert_eq!(c.gorgias.timeout, Duration::from_secs(30));
        assert_eq!(c.gorgias.connect_timeout, Duration::from_secs(10));
        assert_eq!(c.bot.name, "PerfectBot");
        assert_eq!(c.bot.user_id, None);
        assert_eq!(c.bot.channels, vec!["chat".to_string()]);
        assert_eq!(c.bot.mode, Mode::Live);
        assert_eq!(c.timing.poll_interval, Duration::from_secs(5));
        assert_eq!(c.timing.sweep, "*/10 * * * * *");
        assert_eq!(c.timing.close_after, Duration::from_secs(15 * 60));
        assert_eq!(c.timing.email_wait, Duration::from_secs(5 * 60));
        assert_eq!(c.timing.answer_deadline, Duration::from_secs(2 * 60));
        assert_eq!(
            c.ledger.path,
            PathBuf::from("/var/lib/perfectbot/ledger.db")
        );
        assert_eq!(c.responder.kind, ResponderKind::Kb);
        assert_eq!(c.kb.dir, PathBuf::from("/etc/perfectbot/kb"));
        assert_eq!(
            c.kb.confidence,
            crate::responder::hybrid::DEFAULT_CONFIDENCE
        );
        assert!(matches!(c.kb.embedding, Embedding::Builtin));
        assert_eq!(c.kb.note_prefix, "#kb");
        assert!(c.openai.is_none());
        assert_eq!(c.handover.collect_email, CollectEmail::Always);
        assert!(
            c.handover
                .messages
                .default
                .after_hours
                .contains("{next_open}")
        );
        assert_eq!(c.handover.messages, HandoverMessages::builtin());
        assert_eq!(c.tags.agent_required, "PerfectBot: Agent Required");
        assert_eq!(c.tags.agent_check, "PerfectBot: Agent Check Recommended");
        assert_eq!(c.tags.auto_closed, "PerfectBot: Auto-closed");
        assert_eq!(c.business_hours.source, HoursSource::Gorgias);
        assert_eq!(c.business_hours.timezone, "UTC");
        assert!(c.business_hours.hours.is_none());
        assert_eq!(c.http.listen, None);
        assert_eq!(c.log.format, LogFormat::Auto);
        assert_eq!(c.log.filter, "info,tokio_cron_scheduler=warn");
        assert_eq!(
            secrecy::ExposeSecret::expose_secret(&c.gorgias.api_key),
            KEY
        );
    }

    #[test]
    fn tags_follow_the_bot_name_unless_overridden() {
        let c = parse(&format!(
            "{MINIMAL}\n[bot]\nname = \"Ava\"\nopt_out_tags = [\"ai_ignore\"]\n[tags]\nhandled = \"done-by-bot\"\n"
        ))
        .unwrap();
        assert_eq!(c.tags.agent_required, "Ava: Agent Required");
        assert_eq!(c.tags.handled, "done-by-bot");
        assert_eq!(
            c.tags.opt_out(&c.bot.opt_out_tags),
            vec!["Ava: Not Involved".to_string(), "ai_ignore".to_string()]
        );
    }

    #[test]
    fn several_problems_are_reported_together() {
        let text = format!(
            "{MINIMAL}
[timing]
close_after = \"15 minutes please\"
sweep = \"*/10 * * * *\"
colour = \"blue\"

[business_hours]
timezone = \"Europe/Parsi\"

[handover]
collect_email = \"sometimes\"
"
        );
        let errors = errors_of(&text);
        let has = |needle: &str| errors.iter().any(|e| e.contains(needle));
        assert!(
            errors.contains(
                &"config.toml: timing.close_after: \"15 minutes please\" is not a duration (try \"15m\")"
                    .to_string()
            ),
            "{errors:#?}"
        );
        assert!(
            has("config.toml: timing.sweep: \"*/10 * * * *\" has 5 fields; six are needed"),
            "{errors:#?}"
        );
        assert!(
            has("config.toml: timing.colour: unknown key"),
            "{errors:#?}"
        );
        assert!(
            has("config.toml: business_hours.timezone: \"Europe/Parsi\" is not a known time zone"),
            "{errors:#?}"
        );
        assert!(
            has(
                "config.toml: handover.collect_email: \"sometimes\" is not one of \"always\", \"when_offline\", \"never\""
            ),
            "{errors:#?}"
        );
        assert_eq!(errors.len(), 5, "{errors:#?}");
    }

    #[test]
    fn unknown_keys_and_wrong_types_in_several_sections_are_all_reported() {
        let text = format!(
            "{MINIMAL}
requests_per_window = \"many\"
[bot]
nmae = \"Ava\"
[sectionx]
a = 1
"
        );
        let errors = errors_of(&text);
        let has = |needle: &str| errors.iter().any(|e| e.contains(needle));
        assert!(
            has("config.toml: gorgias.requests_per_window: invalid type: string \"many\""),
            "{errors:#?}"
        );
        assert!(has("config.toml: bot.nmae: unknown key"), "{errors:#?}");
        assert!(has("config.toml: sectionx: unknown key"), "{errors:#?}");
    }

    #[test]
    fn an_api_key_in_the_file_is_refused_without_echoing_it() {
        let text = format!("{MINIMAL}api_key = \"{KEY}\"\n");
        let errors = errors_of(&text);
        assert!(
            errors
                .iter()
                .any(|e| e.contains("gorgias.api_key: unknown key")),
            "{errors:#?}"
        );
        assert!(errors.iter().all(|e| !e.contains(KEY)));
    }

    #[test]
    fn syntax_errors_name_the_file_line_and_key() {
        let errors = errors_of(&format!("{MINIMAL}\n[timing]\nclose_after = 15 minutes\n"));
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert!(errors[0].starts_with("config.toml: line 7"), "{errors:#?}");
        assert!(errors[0].contains("timing.close_after"), "{errors:#?}");
    }

    #[test]
    fn missing_file_is_one_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nope.toml");
        let errors = load_with_env(&path, &env_with_key).unwrap_err().0;
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].starts_with(&format!("{}: cannot read", path.display())),
            "{errors:?}"
        );
    }

    #[test]
    fn load_resolves_relative_paths_against_the_config_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("key.txt"), format!("  {KEY}\n")).unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            format!("{MINIMAL}api_key_file = \"key.txt\"\n[kb]\ndir = \"kb\"\n[ledger]\npath = \"state/l.db\"\n"),
        )
        .unwrap();
        let c = load_with_env(&path, &|_| None).unwrap();
        assert_eq!(
            secrecy::ExposeSecret::expose_secret(&c.gorgias.api_key),
            KEY
        );
        assert_eq!(c.kb.dir, dir.path().join("kb"));
        assert_eq!(c.ledger.path, dir.path().join("state/l.db"));
    }

    #[test]
    fn unreadable_key_file_names_the_file_and_the_os_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing-key");
        let text = format!("{MINIMAL}api_key_file = \"{}\"\n", missing.display());
        let errors = parse_str("config.toml", &text, &|_| None).unwrap_err().0;
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert!(
            errors[0].contains(&missing.display().to_string()),
            "{errors:#?}"
        );
        assert!(errors[0].contains("No such file"), "{errors:#?}");
    }

    #[test]
    fn missing_key_lists_the_three_places() {
        let errors = parse_str("config.toml", MINIMAL, &|_| None).unwrap_err().0;
        assert_eq!(errors.len(), 1, "{errors:#?}");
        for place in [
            "CREDENTIALS_DIRECTORY",
            "gorgias.api_key_file",
            ENV_GORGIAS_API_KEY,
        ] {
            assert!(errors[0].contains(place), "{errors:#?}");
        }
    }

    #[test]
    fn key_precedence_is_credentials_then_file_then_env() {
        let dir = tempfile::tempdir().unwrap();
        let creds = dir.path().join("creds");
        std::fs::create_dir(&creds).unwrap();
        std::fs::write(creds.join("gorgias_api_key"), "from-creds\n").unwrap();
        std::fs::write(dir.path().join("key"), "from-file\n").unwrap();
        let text = format!(
            "{MINIMAL}api_key_file = \"{}\"\n",
            dir.path().join("key").display()
        );
        let creds_s = creds.display().to_string();
        let full_env = |name: &str| match name {
            "CREDENTIALS_DIRECTORY" => Some(creds_s.clone()),
            ENV_GORGIAS_API_KEY => Some("from-env".to_string()),
            _ => None,
        };
        let key = |c: &Config| secrecy::ExposeSecret::expose_secret(&c.gorgias.api_key).to_string();
        assert_eq!(
            key(&parse_str("config.toml", &text, &full_env).unwrap()),
            "from-creds"
        );
        let no_creds = |name: &str| (name == ENV_GORGIAS_API_KEY).then(|| "from-env".to_string());
        assert_eq!(
            key(&parse_str("config.toml", &text, &no_creds).unwrap()),
            "from-file"
        );
        assert_eq!(
            key(&parse_str("config.toml", MINIMAL, &no_creds).unwrap()),
            "from-env"
        );
        // A credentials directory without our file falls through to the next place.
        std::fs::remove_file(creds.join("gorgias_api_key")).unwrap();
        assert_eq!(
            key(&parse_str("config.toml", &text, &full_env).unwrap()),
            "from-file"
        );
    }

    #[test]
    fn kb_embedding_and_confidence_keys_are_read_and_checked() {
        let c = parse(&format!(
            "{MINIMAL}\n[kb]\nconfidence = 0.6\nembedding = \"openai\"\nembedding_url = \"http://127.0.0.1:11434\"\nembedding_model = \"nomic-embed-text\"\nembedding_batch = 8\n"
        ))
        .unwrap();
        assert_eq!(c.kb.confidence, 0.6);
        match &c.kb.embedding {
            Embedding::OpenAi(o) => {
                assert_eq!(o.model, "nomic-embed-text");
                assert_eq!(o.batch, 8);
                assert_eq!(o.timeout, Duration::from_secs(10));
            }
            other => panic!("{other:?}"),
        }
        // The deprecated threshold still works, mapped to BM25's confidence.
        let c = parse(&format!(
            "{MINIMAL}\n[kb]\nmin_score = 1.0\nembedding = \"none\"\n"
        ))
        .unwrap();
        assert_eq!(c.kb.deprecated_min_score, Some(1.0));
        assert_eq!(c.kb.confidence, 0.374);
        assert!(matches!(c.kb.embedding, Embedding::None));
        let errs = errors_of(&format!(
            "{MINIMAL}\n[kb]\nconfidence = 1.5\nembedding = \"bert\"\n"
        ));
        assert!(errs.iter().any(|e| e.contains("kb.confidence")), "{errs:?}");
        assert!(errs.iter().any(|e| e.contains("kb.embedding")), "{errs:?}");
        let errs = errors_of(&format!("{MINIMAL}\n[kb]\nembedding = \"model2vec\"\n"));
        assert!(
            errs.iter().any(|e| e.contains("kb.model2vec_dir")),
            "{errs:?}"
        );
        let errs = errors_of(&format!("{MINIMAL}\n[kb]\nembedding = \"openai\"\n"));
        assert!(
            errs.iter().any(|e| e.contains("kb.embedding_url")),
            "{errs:?}"
        );
        assert!(
            errs.iter().any(|e| e.contains("kb.embedding_model")),
            "{errs:?}"
        );
    }

    #[test]
    fn secret_never_appears_in_debug_or_summary() {
        let c = parse(MINIMAL).unwrap();
        assert!(!format!("{c:?}").contains(KEY));
        assert!(!c.summary().contains(KEY));
        let t = Config::for_tests("http://127.0.0.1:9/", "a@b.c", KEY);
        assert!(!format!("{t:?}").contains(KEY));
    }

    #[test]
    fn state_directory_sets_the_default_ledger_path() {
        let env = |name: &str| match name {
            "STATE_DIRECTORY" => Some("/var/lib/private/perfectbot".to_string()),
            _ => env_with_key(name),
        };
        let c = parse_str("config.toml", MINIMAL, &env).unwrap();
        assert_eq!(
            c.ledger.path,
            PathBuf::from("/var/lib/private/perfectbot/ledger.db")
        );
        let given = parse_str(
            "config.toml",
            &format!("{MINIMAL}[ledger]\npath = \"/tmp/x.db\"\n"),
            &env,
        )
        .unwrap();
        assert_eq!(given.ledger.path, PathBuf::from("/tmp/x.db"));
    }

    #[test]
    fn openai_responder_names_each_missing_key() {
        let errors = errors_of(&format!(
            "{MINIMAL}[responder]\nkind = \"openai\"\n[openai]\ntimeout = \"5s\"\n"
        ));
        assert!(
            errors
                .iter()
                .any(|e| e.contains("openai.base_url: missing")),
            "{errors:#?}"
        );
        assert!(
            errors.iter().any(|e| e.contains("openai.model: missing")),
            "{errors:#?}"
        );
        let errors = errors_of(&format!("{MINIMAL}[responder]\nkind = \"openai\"\n"));
        assert!(
            errors
                .iter()
                .any(|e| e.contains("config.toml: openai: missing")),
            "{errors:#?}"
        );
    }

    #[test]
    fn openai_hosted_needs_a_key_but_local_servers_do_not() {
        let hosted = format!(
            "{MINIMAL}[responder]\nkind = \"openai\"\n[openai]\nbase_url = \"https://api.openai.com/v1/\"\nmodel = \"gpt-4o-mini\"\n"
        );
        assert!(
            errors_of(&hosted)
                .iter()
                .any(|e| e.contains("openai.api_key: no API key"))
        );
        let env = |name: &str| match name {
            ENV_OPENAI_API_KEY => Some("sk-openai".to_string()),
            _ => env_with_key(name),
        };
        let c = parse_str("config.toml", &hosted, &env).unwrap();
        let o = c.openai.expect("openai config");
        assert_eq!(o.base_url, "https://api.openai.com/v1");
        assert_eq!(o.timeout, Duration::from_secs(20));
        assert!(o.api_key.is_some());
        let local = hosted.replace("https://api.openai.com/v1/", "http://127.0.0.1:11434/v1");
        assert!(parse(&local).unwrap().openai.unwrap().api_key.is_none());
    }

    #[test]
    fn handover_checks_placeholders_and_single_assignee() {
        let errors = errors_of(&format!(
            "{MINIMAL}[handover]\nassign_team_id = 1\nassign_user_id = 2\n[handover.messages]\nonline = \"Hi {{name}}, {{email}}\"\n"
        ));
        assert!(
            errors
                .iter()
                .any(|e| e.contains("handover.messages.online") && e.contains("{name}")),
            "{errors:#?}"
        );
        assert!(
            errors.iter().any(|e| e.contains("handover.assign_team_id")),
            "{errors:#?}"
        );
        assert_eq!(errors.len(), 2, "{errors:#?}");
    }

    #[test]
    fn built_in_messages_cover_the_intent_languages_with_the_same_placeholders() {
        let m = parse(MINIMAL).unwrap().handover.messages;
        let english = MessageTemplates::english();
        assert_eq!(m.default, english);
        for code in BUILTIN_LANGUAGES {
            let set = m.for_language(Some(code));
            assert_eq!(set, &MessageTemplates::builtin(code).unwrap(), "{code}");
            for (i, key) in MESSAGE_KEYS.iter().enumerate() {
                assert!(unknown_placeholders(set.get(i)).is_empty(), "{code}.{key}");
                for p in PLACEHOLDERS {
                    let tag = format!("{{{p}}}");
                    assert_eq!(
                        set.get(i).contains(&tag),
                        english.get(i).contains(&tag),
                        "{code}.{key}: {tag}"
                    );
                }
                if code != "en" {
                    assert_ne!(set.get(i), english.get(i), "{code} is not translated");
                }
            }
        }
        assert!(m.for_language(Some("pt_BR")).online.contains("equipe"));
        assert!(m.for_language(Some("DE-at")).online.contains("Geduld"));
        assert_eq!(m.for_language(Some("sv")), &english);
        assert_eq!(m.for_language(Some("fra")), &english);
        assert_eq!(m.for_language(None), &english);
    }

    #[test]
    fn a_language_table_overrides_key_by_key() {
        let c = parse(&format!(
            "{MINIMAL}[handover.messages.FR]\nonline = \"Je vous passe à un collègue, {{customer_name}}.\"\n\
             [handover.messages.sv]\nonline = \"Hej {{customer_name}}\"\n"
        ))
        .unwrap();
        let m = &c.handover.messages;
        let fr = m.for_language(Some("fr-FR"));
        assert_eq!(fr.online, "Je vous passe à un collègue, {customer_name}.");
        // The keys the table leaves out keep the built-in French text.
        let builtin_fr = MessageTemplates::builtin("fr").unwrap();
        assert_eq!(fr.after_hours, builtin_fr.after_hours);
        assert_eq!(fr.email_request, builtin_fr.email_request);
        // A language with no built-in set falls back to the default for the rest.
        let sv = m.for_language(Some("sv"));
        assert_eq!(sv.online, "Hej {customer_name}");
        assert_eq!(sv.after_hours, DEFAULT_AFTER_HOURS);
        assert_eq!(m.default, MessageTemplates::english());
    }

    #[test]
    fn courtesy_replies_are_overridable_like_the_handover_messages() {
        let c = parse(&format!(
            "{MINIMAL}[handover.messages]\nthanks = \"Glad to help, {{customer_name}}!\"\n\
             [handover.messages.de]\ngreeting = \"Moin! Was kann ich für Sie tun?\"\n"
        ))
        .unwrap();
        let m = &c.handover.messages;
        assert_eq!(m.default.thanks, "Glad to help, {customer_name}!");
        assert_eq!(m.default.greeting, DEFAULT_GREETING);
        let de = m.for_language(Some("de"));
        assert_eq!(de.greeting, "Moin! Was kann ich für Sie tun?");
        // The team's own default thanks reaches German tickets; the goodbye stays built in.
        assert_eq!(de.thanks, "Glad to help, {customer_name}!");
        assert_eq!(de.goodbye, MessageTemplates::builtin("de").unwrap().goodbye);
        let err = parse(&format!(
            "{MINIMAL}[handover.messages.fr]\nbye = \"Salut\"\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("handover.messages.fr.bye") && err.contains("goodbye"),
            "{err}"
        );
        let err = parse(&format!(
            "{MINIMAL}[handover.messages]\ngreeting = \"Hi {{name}}\"\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("unknown placeholder"), "{err}");
    }

    #[test]
    fn a_customised_default_is_not_replaced_by_built_in_translations() {
        let c = parse(&format!(
            "{MINIMAL}[handover.messages]\nonline = \"Sarah from Acme will be right with you.\"\n\
             after_hours = \"{DEFAULT_AFTER_HOURS}\"\n[handover.messages.fr]\nno_agents = \"Patience !\"\n"
        ))
        .unwrap();
        let m = &c.handover.messages;
        assert_eq!(m.default.online, "Sarah from Acme will be right with you.");
        // The team's own wording wins over the built-in German text...
        assert_eq!(
            m.for_language(Some("de")).online,
            "Sarah from Acme will be right with you."
        );
        // ...but a default written exactly as the built-in English one is not a customisation.
        assert_eq!(
            m.for_language(Some("de")).after_hours,
            MessageTemplates::builtin("de").unwrap().after_hours
        );
        // And a language table still wins over the customised default.
        let fr = m.for_language(Some("fr"));
        assert_eq!(fr.no_agents, "Patience !");
        assert_eq!(fr.online, "Sarah from Acme will be right with you.");
    }

    #[test]
    fn notes_name_the_languages_a_customised_default_reaches_untranslated() {
        let c = parse(&format!(
            "{MINIMAL}[handover.messages]\nonline = \"Sarah will be right with you.\"\n\
             [handover.messages.fr]\nonline = \"Sarah arrive.\"\n"
        ))
        .unwrap();
        let notes = c.notes();
        assert!(
            notes.iter().any(
                |n| n.starts_with("handover.messages.online is your own text")
                    && n.contains("tickets in de, es, it, nl, pt get it")
            ),
            "{notes:#?}"
        );
        assert!(parse(MINIMAL).unwrap().notes().is_empty());
        assert!(
            c.summary()
                .contains("per language: de, en, es, fr, it, nl, pt")
        );
    }

    #[test]
    fn bad_language_tables_are_reported_with_the_other_errors() {
        let errors = errors_of(&format!(
            "{MINIMAL}[timing]\nclose_after = \"soon\"\n\
             [handover.messages]\ncolour = \"blue\"\nonline = 3\n\
             [handover.messages.fr-FR]\nonline = \"x\"\n\
             [handover.messages.xx]\nonline = \"x\"\n\
             [handover.messages.de]\nonlin = \"x\"\nafter_hours = \"Zurück {{naechste}}\"\n\
             [handover.messages.es]\nemail_request = 7\n\
             [handover.messages.NL]\nonline = \"a\"\n[handover.messages.nl]\nonline = \"b\"\n"
        ));
        let has = |needle: &str| errors.iter().any(|e| e.contains(needle));
        assert!(
            has("config.toml: timing.close_after: \"soon\""),
            "{errors:#?}"
        );
        assert!(
            has("config.toml: handover.messages.colour: unknown key"),
            "{errors:#?}"
        );
        assert!(
            has(
                "config.toml: handover.messages.online: invalid type: integer `3`, expected a string"
            ),
            "{errors:#?}"
        );
        assert!(
            has("config.toml: handover.messages.fr-FR: \"fr-FR\" is not a language")
                && has("use the [handover.messages.fr] table"),
            "{errors:#?}"
        );
        assert!(
            has("config.toml: handover.messages.xx: \"xx\" is not a language"),
            "{errors:#?}"
        );
        assert!(
            has("config.toml: handover.messages.de.onlin: unknown key"),
            "{errors:#?}"
        );
        assert!(
            has(
                "config.toml: handover.messages.de.after_hours: \"Zurück {naechste}\" uses unknown placeholder(s) {naechste}"
            ),
            "{errors:#?}"
        );
        assert!(
            has("config.toml: handover.messages.es.email_request: invalid type: integer `7`"),
            "{errors:#?}"
        );
        assert!(
            has("handover.messages.nl: is the same language as handover.messages.NL"),
            "{errors:#?}"
        );
        assert_eq!(errors.len(), 9, "{errors:#?}");
    }

    #[test]
    fn config_business_hours_build_ready_hours() {
        let c = parse(&format!(
            r#"{MINIMAL}
[business_hours]
source = "config"
timezone = "Europe/Paris"
holidays = ["2025-12-25", 2026-01-01]

[[business_hours.ranges]]
days = "mon-fri"
from = "09:00"
to = "18:00"

[[business_hours.ranges]]
days = "sat"
from = "22:00"
to = "02:00"
"#
        ))
        .unwrap();
        let bh = &c.business_hours;
        assert_eq!(bh.ranges.len(), 2);
        assert_eq!(
            bh.holidays,
            vec![
                jiff::civil::date(2025, 12, 25),
                jiff::civil::date(2026, 1, 1)
            ]
        );
        let hours = bh.hours.as_ref().expect("config hours");
        assert_eq!(hours.timezone_name(), "Europe/Paris");
        assert!(hours.is_open("2025-01-15T10:00:00Z".parse().unwrap()));
        assert!(!hours.is_open("2025-12-25T10:00:00Z".parse().unwrap()));
    }

    #[test]
    fn bad_ranges_and_holidays_name_the_range() {
        let errors = errors_of(&format!(
            r#"{MINIMAL}
[business_hours]
source = "config"
holidays = ["25/12/2025"]
[[business_hours.ranges]]
days = "mon-fri"
from = "09:00"
to = "18:00"
[[business_hours.ranges]]
days = "funday"
from = "9am"
"#
        ));
        let has = |needle: &str| errors.iter().any(|e| e.contains(needle));
        assert!(
            has("business_hours.holidays: \"25/12/2025\" is not a date"),
            "{errors:#?}"
        );
        assert!(
            has("business_hours.ranges[2].days: \"funday\" is not a day"),
            "{errors:#?}"
        );
        assert!(
            has("business_hours.ranges[2].from: \"9am\" is not a time"),
            "{errors:#?}"
        );
        assert!(has("business_hours.ranges[2].to: missing"), "{errors:#?}");
    }

    #[test]
    fn ranges_with_gorgias_source_are_refused() {
        let errors = errors_of(&format!(
            "{MINIMAL}[[business_hours.ranges]]\ndays = \"1-5\"\nfrom = \"09:00\"\nto = \"17:00\"\n"
        ));
        assert!(
            errors
                .iter()
                .any(|e| e.contains("business_hours.ranges: are set")),
            "{errors:#?}"
        );
    }

    #[test]
    fn durations_beyond_their_maximum_are_refused_naming_file_key_and_value() {
        let errors = errors_of(&format!(
            "{MINIMAL}[timing]\nclose_after = \"8000y\"\nemail_wait = \"9000y\"\n\
             answer_deadline = \"2days\"\npoll_interval = \"1ns\"\n\
             [openai]\ntimeout = \"99999999999999999999y\"\n"
        ));
        let has = |needle: &str| errors.iter().any(|e| e.contains(needle));
        assert!(
            has(
                "config.toml: timing.close_after: \"8000y\" is more than the maximum of \"30days\""
            ),
            "{errors:#?}"
        );
        assert!(
            has("config.toml: timing.email_wait: \"9000y\" is more than the maximum"),
            "{errors:#?}"
        );
        assert!(has(
            "timing.answer_deadline: \"2days\" is more than the maximum of \"1day\""
        ));
        assert!(has(
            "timing.poll_interval: \"1ns\" is less than the minimum of \"100ms\""
        ));
        assert!(has(
            "openai.timeout: \"99999999999999999999y\" is not a duration"
        ));
        // The largest accepted values load.
        let c = parse(&format!(
            "{MINIMAL}window = \"1h\"\ntimeout = \"10m\"\nconnect_timeout = \"10m\"\n\
             requests_per_window = 100000\n\
             [timing]\nclose_after = \"30d\"\nemail_wait = \"7d\"\nanswer_deadline = \"1d\"\n\
             poll_interval = \"1h\"\n"
        ))
        .unwrap();
        assert_eq!(c.timing.close_after, Duration::from_secs(30 * 86_400));
        let errors = errors_of(&format!("{MINIMAL}requests_per_window = 4000000000\n"));
        assert!(
            errors[0].contains("gorgias.requests_per_window: 4000000000 is more than the maximum"),
            "{errors:#?}"
        );
    }

    #[test]
    fn plain_http_to_another_machine_is_refused_unless_allowed_then_warned() {
        let url = |u: &str| format!("[gorgias]\nbase_url = \"{u}\"\nemail = \"bot@x.org\"\n");
        let errors = errors_of(&url("http://store.example.com"));
        assert!(
            errors[0].contains("gorgias.base_url: \"http://store.example.com\" is plain http://")
                && errors[0].contains("allow_insecure_http"),
            "{errors:#?}"
        );
        let c = parse(&format!(
            "{}allow_insecure_http = true\n",
            url("http://store.example.com")
        ))
        .unwrap();
        assert!(c.gorgias.allow_insecure_http);
        assert!(
            c.notes()
                .iter()
                .any(|n| n.contains("plain http://") && n.contains("in clear")),
            "{:?}",
            c.notes()
        );
        for local in [
            "http://127.0.0.1:8089",
            "http://localhost:8089",
            "http://[::1]:80",
        ] {
            let c = parse(&url(local)).unwrap();
            assert!(
                !c.notes().iter().any(|n| n.contains("plain http")),
                "{local}"
            );
        }
        assert!(parse(&url("https://store.example.com")).is_ok());
    }

    #[test]
    fn credentials_in_a_base_url_are_refused_and_never_echoed() {
        for url in [
            "https://user:hunter2pass@store.example.com",
            "https://hunter2pass@store.example.com/",
            "https://user:hunter2pass@exa mple.com",
        ] {
            let errors = errors_of(&format!(
                "[gorgias]\nbase_url = \"{url}\"\nemail = \"bot@x.org\"\n\
                 [responder]\nkind = \"openai\"\n[openai]\nmodel = \"m\"\nbase_url = \"{url}\"\n"
            ));
            let all = errors.join("\n");
            assert!(!all.contains("hunter2pass"), "{all}");
            assert!(all.contains("gorgias.base_url:"), "{all}");
            assert!(all.contains("openai.base_url:"), "{all}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_others_can_read_is_warned_about() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key");
        std::fs::write(&key, "k-123\n").unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let text = format!("{MINIMAL}api_key_file = \"{}\"\n", key.display());
        let c = parse_str("config.toml", &text, &|_| None).unwrap();
        let notes = c.notes();
        assert!(
            notes.iter().any(|n| n.contains("gorgias.api_key")
                && n.contains(&key.display().to_string())
                && n.contains("0644")),
            "{notes:?}"
        );
        assert!(!notes.iter().any(|n| n.contains("k-123")));
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        let c = parse_str("config.toml", &text, &|_| None).unwrap();
        assert!(!c.notes().iter().any(|n| n.contains("other users")));
    }

    #[test]
    fn urls_emails_listen_and_log_are_checked() {
        let errors = errors_of(
            r#"
[gorgias]
base_url = "your-store.gorgias.com"
email = "bot"
window = "0s"
[http]
listen = "localhost"
[log]
format = "xml"
filter = "info,=[["
"#,
        );
        let has = |needle: &str| errors.iter().any(|e| e.contains(needle));
        assert!(
            has("gorgias.base_url: \"your-store.gorgias.com\""),
            "{errors:#?}"
        );
        assert!(
            has("gorgias.email: \"bot\" is not an email address"),
            "{errors:#?}"
        );
        assert!(
            has("gorgias.window: \"0s\" must be more than zero"),
            "{errors:#?}"
        );
        assert!(
            has("http.listen: \"localhost\" is not a socket address"),
            "{errors:#?}"
        );
        assert!(has("log.format: \"xml\" is not one of"), "{errors:#?}");
        assert!(has("log.filter:"), "{errors:#?}");
        let api = errors_of(&MINIMAL.replace(".com/\"", ".com/api\""));
        assert!(api[0].contains("must not end in /api"), "{api:#?}");
    }

    #[test]
    fn gorgias_body_cap_and_stall_timeout_parse_and_are_checked() {
        let c = Config::for_tests("https://x.gorgias.com", "bot@x.com", "k");
        assert_eq!(c.gorgias.max_body, DEFAULT_GORGIAS_MAX_BODY);
        assert_eq!(c.gorgias.stall_timeout, Duration::from_secs(10));
        let with = |extra: &str| {
            parse(&format!(
                "[gorgias]\nbase_url = \"https://x.gorgias.com\"\nemail = \"b@x.com\"\n{extra}\n"
            ))
        };
        let c = with("max_body = \"5MiB\"\nstall_timeout = \"3s\"").unwrap();
        assert_eq!(c.gorgias.max_body, 5 << 20);
        assert_eq!(c.gorgias.stall_timeout, Duration::from_secs(3));
        assert_eq!(with("max_body = 100000").unwrap().gorgias.max_body, 100_000);
        for (bad, why) in [
            ("max_body = \"20 parsecs\"", "is not a size"),
            ("max_body = \"1e20\"", "is not a size"),
            ("max_body = \"99999999999999999999GB\"", "is not a size"),
            ("max_body = 10", "out of range"),
            ("max_body = \"2GiB\"", "out of range"),
            ("stall_timeout = \"0s\"", "must be more than zero"),
        ] {
            let errors = with(bad).expect_err(bad).0;
            assert!(errors.iter().any(|e| e.contains(why)), "{bad}: {errors:#?}");
        }
        assert_eq!(parse_size("20MB"), Some(20_000_000));
        assert_eq!(parse_size(" 1 gib "), Some(1 << 30));
        assert_eq!(parse_size("MB"), None);
        assert_eq!(parse_size("-5"), None);
    }

    #[test]
    fn bearer_token_needs_no_email() {
        let c = parse("[gorgias]\nbase_url = \"https://x.gorgias.com\"\nbearer = true\n").unwrap();
        assert!(c.gorgias.bearer);
        assert_eq!(c.gorgias.email, "");
        let errors = errors_of("[gorgias]\nbase_url = \"https://x.gorgias.com\"\n");
        assert!(errors[0].contains("gorgias.email: missing"), "{errors:#?}");
    }

    #[test]
    fn cron_accepts_six_fields_and_rejects_garbage() {
        assert!(check_cron("*/10 * * * * *").is_ok());
        assert!(check_cron("0 0 9 * * Mon-Fri").is_ok());
        assert!(
            check_cron("*/10 * * * *")
                .unwrap_err()
                .contains("six are needed")
        );
        assert!(check_cron("every ten seconds please").is_err());
        assert!(check_cron("61 * * * * *").is_err());
        assert!(check_cron("0 0 9 * * 1-5").unwrap_err().contains("MON-FRI"));
        assert!(check_cron("0 0 9 * * */2").is_ok());
    }

    #[test]
    fn templates_fill_known_placeholders() {
        let filled = fill_template(DEFAULT_AFTER_HOURS, &[("next_open", "Monday 09:00 CET")]);
        assert_eq!(
            filled,
            "Our team is offline right now. We open again Monday 09:00 CET and will get back to you then."
        );
        assert!(unknown_placeholders(DEFAULT_AFTER_HOURS).is_empty());
    }

    #[test]
    fn summary_names_the_essentials() {
        let c = Config::for_tests("https://x.gorgias.com", "bot@x.com", "k");
        let s = c.summary();
        for needle in [
            "https://x.gorgias.com/api",
            "bot@x.com",
            "PerfectBot",
            "live",
            "ledger",
            "15m",
            "no listener",
        ] {
            assert!(s.contains(needle), "{needle} missing from:\n{s}");
        }
    }

    #[test]
    fn errors_display_one_per_line() {
        let e = ConfigErrors(vec!["a: b: c".into(), "d: e: f".into()]);
        assert_eq!(e.to_string(), "a: b: c\nd: e: f");
    }

    #[test]
    fn example_file_with_every_key_uncommented_keeps_the_defaults() {
        // Uncomment every `# key = value` and `# [section]` line: the documented defaults must
        // be the real ones, and every documented key must exist.
        let mut text = String::new();
        for line in include_str!("../config.toml.example").lines() {
            let body = line.strip_prefix("# ").unwrap_or("");
            let is_key = body.split_once(" = ").is_some_and(|(k, _)| {
                !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            });
            let is_section = body.starts_with('[') && body.ends_with(']');
            text.push_str(if is_key || is_section { body } else { line });
            text.push('\n');
        }
        // The two examples that are deliberately not defaults and conflict with others.
        let text = text
            .replace("assign_user_id = 5678\n", "")
            .replace("source = \"gorgias\"", "source = \"config\"");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("gorgias_api_key"), "from-creds").unwrap();
        std::fs::write(dir.path().join("webhook_secret"), "hook").unwrap();
        let creds = dir.path().display().to_string();
        let env = |name: &str| (name == "CREDENTIALS_DIRECTORY").then(|| creds.clone());
        let c = parse_str("config.toml.example", &text, &env)
            .unwrap_or_else(|e| panic!("uncommented example does not parse:\n{e}\n{text}"));
        let d = parse(MINIMAL).unwrap();
        assert_eq!(c.tags, d.tags);
        assert_eq!(c.handover.messages, d.handover.messages);
        assert_eq!(format!("{:?}", c.orders), format!("{:?}", d.orders));
        assert_eq!(c.orders.messages, crate::orders::OrderMessages::builtin());
        assert_eq!(c.handover.collect_email, d.handover.collect_email);
        assert_eq!(format!("{:?}", c.timing), format!("{:?}", d.timing));
        assert_eq!(format!("{:?}", c.kb), format!("{:?}", d.kb));
        assert_eq!(format!("{:?}", c.log), format!("{:?}", d.log));
        assert_eq!(c.ledger.path, d.ledger.path);
        assert_eq!(c.bot.name, d.bot.name);
        assert_eq!(c.bot.channels, d.bot.channels);
        assert_eq!(c.bot.mode, d.bot.mode);
        assert_eq!(c.gorgias.requests_per_window, d.gorgias.requests_per_window);
        assert_eq!(
            (
                c.gorgias.window,
                c.gorgias.timeout,
                c.gorgias.connect_timeout
            ),
            (
                d.gorgias.window,
                d.gorgias.timeout,
                d.gorgias.connect_timeout
            )
        );
        assert_eq!(c.business_hours.ranges.len(), 2);
        assert_eq!(c.business_hours.holidays.len(), 2);
        assert!(c.http.webhook_secret.is_some());
        assert_eq!(c.http.listen, Some("127.0.0.1:9184".parse().unwrap()));
    }

    #[test]
    fn example_openai_section_documents_the_real_defaults() {
        let example = include_str!("../config.toml.example");
        let section: String = example
            .lines()
            .skip_while(|l| *l != "# [openai]")
            .skip(1)
            .take_while(|l| !l.starts_with('['))
            .filter_map(|l| l.strip_prefix("# "))
            .filter(|l| {
                l.split_once(" = ")
                    .is_some_and(|(k, _)| k.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
            })
            .filter(|l| !l.starts_with("api_key_file"))
            // A local server: no key needed.
            .map(|l| l.replace("https://api.openai.com/v1", "http://127.0.0.1:8089"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert!(section.contains("max_answer_chars"), "{section}");
        let text = format!("{MINIMAL}\n[responder]\nkind = \"openai\"\n[openai]\n{section}");
        let c = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let got = c.openai.expect("an [openai] section");
        let mut want = OpenAiConfig::new(got.base_url.clone(), got.model.clone());
        want.api_key = got.api_key.clone();
        assert_eq!(format!("{got:?}"), format!("{want:?}"));
        let bad = format!(
            "{MINIMAL}\n[responder]\nkind = \"openai\"\n[openai]\nbase_url = \"http://127.0.0.1:1\"\nmodel = \"m\"\nconcurrency = 0\nmax_body_bytes = 10\ntemperature = 3.0\nresponse_format = \"xml\"\n"
        );
        let errors = errors_of(&bad);
        for key in [
            "openai.concurrency: 0 must be at least 1",
            "openai.max_body_bytes: 10 must be at least 1024",
            "openai.temperature: 3 must be between 0 and 2",
            "openai.response_format: \"xml\" is not one of",
        ] {
            assert!(errors.iter().any(|e| e.contains(key)), "{key}: {errors:?}");
        }
    }

    #[test]
    fn example_file_parses() {
        let text = include_str!("../config.toml.example");
        let c = parse_str("config.toml.example", text, &env_with_key)
            .unwrap_or_else(|e| panic!("config.toml.example does not parse:\n{e}"));
        assert_eq!(c.gorgias.base_url, "https://your-store.gorgias.com");
        assert_eq!(c.gorgias.email, "bot@your-store.com");
    }

    #[test]
    fn orders_keys_parse_with_their_defaults_and_overrides() {
        let c = parse(MINIMAL).unwrap();
        assert!(!c.orders.enabled);
        assert_eq!(c.orders.recent_window, Duration::from_secs(60 * 86400));
        assert_eq!(c.orders.late_after, Duration::from_secs(5 * 86400));
        assert_eq!(c.orders.number_wait, Duration::from_secs(600));
        assert_eq!(c.orders.messages, crate::orders::OrderMessages::builtin());

        let text = format!(
            "{MINIMAL}\n[orders]\nenabled = true\nrecent_window = \"30d\"\nlate_after = \"3d\"\n\
             number_wait = \"2m\"\n[orders.messages]\nask_number = \"Order number, {{customer_name}}?\"\n\
             [orders.messages.FR]\nnot_found = \"Pas de {{number}} ici.\"\n"
        );
        let c = parse(&text).unwrap();
        assert!(c.orders.enabled);
        assert_eq!(c.orders.recent_window, Duration::from_secs(30 * 86400));
        assert_eq!(c.orders.number_wait, Duration::from_secs(120));
        let m = &c.orders.messages;
        assert_eq!(m.default.ask_number, "Order number, {customer_name}?");
        // The team's own default reaches every language (never swapped for a translation)...
        assert_eq!(
            m.for_language(Some("de")).ask_number,
            "Order number, {customer_name}?"
        );
        // ...a language table wins for its keys, and the rest stays built-in.
        assert_eq!(
            m.for_language(Some("fr-FR")).not_found,
            "Pas de {number} ici."
        );
        let builtin_fr = crate::orders::OrderTemplates::builtin("fr").unwrap();
        assert_eq!(m.for_language(Some("fr")).shipped, builtin_fr.shipped);
    }

    #[test]
    fn bad_orders_keys_are_named() {
        let errs = errors_of(&format!(
            "{MINIMAL}\n[orders]\nrecent_window = \"two months\"\n[orders.messages]\n\
             shipped = \"On its way: {{tracking_link}}\"\nsent = \"x\"\nnot_found = 3\n\
             [orders.messages.xx]\nshipped = \"x\"\n[orders.messages.de]\nwhere = \"x\"\n"
        ));
        let all = errs.join("\n");
        for expected in [
            "orders.recent_window: \"two months\" is not a duration",
            "orders.messages.shipped: \"On its way: {tracking_link}\" uses unknown placeholder(s) {tracking_link}",
            "orders.messages.sent: unknown key",
            "orders.messages.not_found: expected a string",
            "orders.messages.xx: unknown key",
            "orders.messages.de.where: unknown key",
        ] {
            assert!(all.contains(expected), "missing {expected:?} in:\n{all}");
        }
    }
}
