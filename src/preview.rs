//! `perfectbot preview`: be the customer in the terminal and see what the daemon would do.
//!
//! Each line typed (or piped) is a customer message on one synthetic chat ticket, decided by the
//! daemon's own decision path ([`crate::conversation`]: [`crate::engine::decide`] in its
//! phases, the responder built as the daemon builds it, the plan's writes applied to the
//! ticket). So preview does what the daemon does: it answers from the knowledge, asks for the
//! customer's email before a handover when none is known (`--email` imagines a known one), shows
//! the handover message that fits the business hours (the config's `[business_hours]`, at the
//! time `--at` imagines) and the agents' presence (`--agents`), and once the ticket is handed
//! over the bot takes no more turns: the conversation is the team's. An empty line starts a new
//! conversation. `--language fr` treats the ticket as one in that language.
//!
//! Every message yields exactly one output line (after the `you> ` prompt on a terminal): a
//! JSON object with `--json` (the fields `decision`, `reason`, `text`, `sources`, `score` are a
//! promise to scripts), a readable line otherwise. A start-up line on stderr says what is
//! previewed (version, config, mode, responder, knowledge entries, hours, agents).
//!
//! Preview must not touch Gorgias or write to the ledger: it reads the config (without the
//! Gorgias key: [`crate::ops::load_offline`]), the knowledge files and, when the ledger
//! file exists, the entries learned from `#kb` notes (a read-only open: a running daemon owns
//! that file), indexes them in memory, and calls the responder (which for `openai` is the
//! configured endpoint), nothing else.

use std::io::{IsTerminal as _, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use jiff::Timestamp;
use jiff::civil::{DateTime, Time, Weekday};
use jiff::tz::TimeZone;
use serde_json::{Value, json};
use tokio::io::{AsyncBufRead, AsyncBufReadExt as _};

use crate::config::{Config, HoursSource};
use crate::conversation::{Conversation, Decided};
use crate::daemon::{is_shadow, policy_for};
use crate::engine::{Availability, Policy};
use crate::hours::BusinessHours;
use crate::knowledge::learned_entry;
use crate::responder::kb::{self, Kb};
use crate::responder::{Responder, build_responder_with};

/// The bot's user id on the synthetic ticket when the config names none (preview never asks
/// Gorgias who the bot is).
const PREVIEW_BOT: u64 = 1;

/// What the bot did with one customer message.
#[derive(Debug, Clone, PartialEq)]
pub struct PreviewDecision {
    /// "answer" (a reply: from knowledge, or a courtesy one) | "ask_email" (the email asked
    /// for before a handover) | "handover" | "no_knowledge" (a handover for want of knowledge)
    /// | "none" (small talk that needs no reply) | "with_team" (the ticket was handed over
    /// already: the bot takes no turn).
    pub decision: &'static str,
    /// The handover's reason ("requested", "frustrated", "no_knowledge", "error", "order") for
    /// "ask_email", "handover" and "no_knowledge"; `None` otherwise.
    pub reason: Option<&'static str>,
    /// What the customer would read ("" when the bot says nothing).
    pub text: String,
    /// Knowledge entries the answer used.
    pub sources: Vec<String>,
    /// The answer's score, or the best score seen for "no knowledge"; `None` otherwise.
    pub score: Option<f64>,
    /// The responder's error, when it failed (the decision is then a handover, reason "error").
    pub error: Option<String>,
    /// The ticket language previewed (`--language`), if any.
    pub language: Option<String>,
    /// "online" | "no_agents" | "after_hours": the moment the handover message was picked for.
    pub availability: Option<&'static str>,
    /// The ticket's state in the ledger afterwards ("answered", "awaiting_email", "escalated").
    pub state: &'static str,
    /// Which conversation of the session (1 for the first; an empty line starts the next).
    pub conversation: u32,
}

impl PreviewDecision {
    /// The promised JSON shape: `decision`, `reason`, `text`, `sources`, `score`, `state`,
    /// `conversation` (and `error` when the responder failed, `language` when one was given,
    /// `availability` on handovers).
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "decision": self.decision,
            "reason": self.reason,
            "text": self.text,
            "sources": self.sources,
            "score": self.score,
            "state": self.state,
            "conversation": self.conversation,
        });
        if let Some(e) = &self.error {
            v["error"] = json!(e);
        }
        if let Some(l) = &self.language {
            v["language"] = json!(l);
        }
        if let Some(a) = self.availability {
            v["availability"] = json!(a);
        }
        v
    }

    /// One readable line (piped input without `--json`).
    pub fn to_line(&self) -> String {
        if self.text.is_empty() {
            self.label()
        } else {
            format!("{}: {}", self.label(), self.text)
        }
    }

    /// The decision in words: "answer [shop.toml#4, score 1.83]", "handover (requested,
    /// after_hours)".
    pub fn label(&self) -> String {
        let score = |s: Option<f64>| s.map_or("none".to_owned(), |s| format!("{s:.2}"));
        let reason = self.reason.unwrap_or("requested");
        let error = self
            .error
            .as_ref()
            .map_or(String::new(), |e| format!(": {e}"));
        match self.decision {
            "answer" if self.sources.is_empty() && self.score.is_none() => {
                "answer [small talk]".to_owned()
            }
            "answer" => format!(
                "answer [{}, score {}]",
                self.sources.join(", "),
                score(self.score)
            ),
            "ask_email" => format!("ask_email (before a handover: {reason}{error})"),
            "no_knowledge" => format!(
                "no_knowledge [best score {}] -> handover ({})",
                score(self.score),
                self.availability.unwrap_or("online")
            ),
            "none" => "none [small talk, no reply]".to_owned(),
            "with_team" => "with_team [handed over: the bot takes no turn]".to_owned(),
            _ => format!(
                "handover ({reason}, {}{error})",
                self.availability.unwrap_or("online")
            ),
        }
    }
}

/// A time to imagine the conversation at (`--at`): a weekday and a time ("Sunday 22:00", the
/// next one), or an ISO date-time, local to the business hours' time zone
/// ("2026-12-06T22:00") or absolute ("2026-12-06T21:00:00Z", "...+01:00").
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum At {
    Weekday(Weekday, Time),
    Local(DateTime),
    Instant(Timestamp),
}

impl At {
    /// Parses `--at`; the error names the value and the forms accepted.
    pub fn parse(s: &str) -> Result<At, String> {
        let t = s.trim();
        if let Ok(ts) = t.parse::<Timestamp>() {
            return Ok(At::Instant(ts));
        }
        if let Ok(z) = t.parse::<jiff::ZonedDateTime>() {
            return Ok(At::Instant(z.timestamp()));
        }
        if let Ok(dt) = t.parse::<DateTime>() {
            return Ok(At::Local(dt));
        }
        let mut words = t.split_whitespace();
        if let (Some(day), Some(time), None) = (words.next(), words.next(), words.next())
            && let Some(wd) = weekday(day)
            && let Ok(time) = crate::hours::parse_hhmm(time)
        {
            return Ok(At::Weekday(wd, time));
        }
        Err(format!(
            "{s:?} is not a time: use a weekday and a time (\"Sunday 22:00\") or an ISO \
             date-time (\"2026-12-06T22:00\" in the business hours' time zone, \
             \"2026-12-06T21:00:00Z\")"
        ))
    }

    /// The instant meant, reading local times in `tz`; a weekday is its next occurrence from
    /// `now` (today if that time is still to come).
    pub fn resolve(self, tz: &TimeZone, now: Timestamp) -> Result<Timestamp, String> {
        let local = match self {
            At::Instant(ts) => return Ok(ts),
            At::Local(dt) => dt,
            At::Weekday(wd, time) => {
                let today = tz.to_datetime(now);
                let days = (0..=7)
                    .find(|&i| {
                        let date = today.date().checked_add(jiff::Span::new().days(i));
                        date.is_ok_and(|d| d.weekday() == wd) && (i > 0 || time >= today.time())
                    })
                    .unwrap_or(7);
                today
                    .date()
                    .checked_add(jiff::Span::new().days(days))
                    .map_err(|e| e.to_string())?
                    .to_datetime(time)
            }
        };
        tz.to_timestamp(local)
            .map_err(|e| format!("{local} in {}: {e}", tz.iana_name().unwrap_or("UTC")))
    }
}

fn weekday(s: &str) -> Option<Weekday> {
    let s = s.to_ascii_lowercase();
    let days = [
        ("monday", Weekday::Monday),
        ("tuesday", Weekday::Tuesday),
        ("wednesday", Weekday::Wednesday),
        ("thursday", Weekday::Thursday),
        ("friday", Weekday::Friday),
        ("saturday", Weekday::Saturday),
        ("sunday", Weekday::Sunday),
    ];
    days.iter()
        .find(|(name, _)| s.len() >= 3 && name.starts_with(s.as_str()))
        .map(|(_, wd)| *wd)
}

/// What preview imagines around the conversation: the business hours, whether an agent is
/// available within them, and when the conversation starts.
#[derive(Debug, Clone)]
struct Scene {
    hours: BusinessHours,
    /// False when the daemon reads the hours from Gorgias: preview then treats every time as
    /// open (and says so).
    hours_known: bool,
    agents_online: bool,
    /// `--at`, resolved; `None`: the real time when each conversation starts.
    at: Option<Timestamp>,
}

impl Scene {
    /// The daemon's rule: closed -> after hours; open -> online, or no agents.
    fn availability(&self, now: Timestamp) -> Availability {
        if !self.hours.is_open(now) {
            Availability::AfterHours {
                next_open: self.hours.next_open_local(now),
            }
        } else if self.agents_online {
            Availability::Online
        } else {
            Availability::NoAgents
        }
    }
}

/// The configured responder and policy, and the scene, ready to take customer lines.
pub struct Preview {
    responder: Arc<dyn Responder>,
    policy: Policy,
    timeout: Duration,
    /// The ticket language the conversation is treated as (a Gorgias tag, e.g. "fr").
    language: Option<String>,
    /// The customer's email as Gorgias knows it (`--email`); `None`: unknown.
    email: Option<String>,
    scene: Scene,
    /// How many knowledge entries the responder indexed (files and learned notes).
    entries: usize,
}

/// One conversation of a session: the ticket, and the synthetic clock that dates its messages
/// (a second apart, from the conversation's start).
pub struct Chat {
    conversation: Conversation,
    started: Timestamp,
    said: i64,
    number: u32,
}

impl Chat {
    /// True once the ticket is handed over: the bot takes no more turns in it.
    pub fn with_team(&self) -> bool {
        self.conversation.with_team()
    }
}

impl Preview {
    /// Builds the responder as the daemon does, over the same entries (files, plus the notes
    /// learned in the ledger when its file exists) but indexed in memory, and the policy and
    /// business hours of the config (hours read from Gorgias are unknown here: open).
    pub async fn from_config(config: &Config) -> anyhow::Result<Preview> {
        let mut entries = kb::read_dir_entries(&config.kb.dir).with_context(|| {
            format!(
                "loading the knowledge base from {}",
                config.kb.dir.display()
            )
        })?;
        entries.extend(learned_entries(&config.ledger.path).await);
        let count = entries.len();
        let embedder = crate::responder::build_embedder(config)?;
        let responder = build_responder_with(config, Kb::from_entries_with(entries, embedder)?)?;
        // The same bound the daemon puts around the responder.
        let timeout = config
            .timing
            .answer_deadline
            .min(Duration::from_secs(30))
            .max(Duration::from_secs(1));
        let bot = config.bot.user_id.unwrap_or(PREVIEW_BOT);
        let mut preview = Preview::new(responder, policy_for(config, bot), timeout);
        preview.entries = count;
        if config.business_hours.source == HoursSource::Config {
            preview.scene.hours = config
                .business_hours
                .hours
                .clone()
                .unwrap_or_else(BusinessHours::always_open);
        } else {
            preview.scene.hours_known = false;
        }
        Ok(preview)
    }

    /// A preview over any responder (tests): always open, agents online, the customer's email
    /// unknown, the real time.
    pub fn new(responder: Arc<dyn Responder>, policy: Policy, timeout: Duration) -> Preview {
        Preview {
            responder,
            policy,
            timeout,
            language: None,
            email: None,
            scene: Scene {
                hours: BusinessHours::always_open(),
                hours_known: true,
                agents_online: true,
                at: None,
            },
            entries: 0,
        }
    }

    /// Treats the conversation as a ticket in `language` (a Gorgias tag: "fr", "fr-FR"), as
    /// `--language` does; `None` = no language, as a ticket without one.
    pub fn with_language(mut self, language: Option<String>) -> Preview {
        self.language = language;
        self
    }

    /// The customer's email as Gorgias would know it (`--email`): handovers skip asking.
    pub fn with_email(mut self, email: Option<String>) -> Preview {
        self.email = email;
        self
    }

    /// Whether an agent is available within business hours (`--agents`).
    pub fn with_agents_online(mut self, online: bool) -> Preview {
        self.scene.agents_online = online;
        self
    }

    /// Business hours to preview with (tests; `from_config` reads the config's).
    pub fn with_hours(mut self, hours: BusinessHours) -> Preview {
        self.scene.hours = hours;
        self.scene.hours_known = true;
        self
    }

    /// Imagines the conversations at `at` (`--at`), read in the business hours' time zone;
    /// an error names the value, or says why this config cannot imagine a time.
    pub fn at(mut self, at: At) -> anyhow::Result<Preview> {
        if !self.scene.hours_known {
            anyhow::bail!(
                "--at: this config reads the business hours from Gorgias \
                 (business_hours.source = \"gorgias\"), which preview does not contact; set \
                 business_hours.source = \"config\" with its ranges to preview a time"
            );
        }
        let tz = TimeZone::get(&self.scene.hours.timezone_name()).unwrap_or(TimeZone::UTC);
        let ts = at
            .resolve(&tz, Timestamp::now())
            .map_err(|e| anyhow::anyhow!("--at: {e}"))?;
        self.scene.at = Some(ts);
        Ok(self)
    }

    /// A new conversation: a ticket with no messages, its customer's email as `--email` says.
    pub fn start(&self, number: u32) -> Chat {
        let customer = Conversation::customer(self.email.clone());
        Chat {
            conversation: Conversation::new(
                self.policy.bot_user_id,
                customer,
                self.language.clone(),
            ),
            started: self.scene.at.unwrap_or_else(Timestamp::now),
            said: 0,
            number,
        }
    }

    /// The customer writes `message` in `chat`: what the daemon would do.
    pub async fn say(&self, chat: &mut Chat, message: &str) -> PreviewDecision {
        let now = chat.started + jiff::SignedDuration::from_secs(chat.said);
        chat.said += 1;
        let was_with_team = chat.with_team();
        let decided = chat
            .conversation
            .customer_says(
                message,
                now,
                self.scene.availability(now),
                &self.responder,
                &self.policy,
                self.timeout,
            )
            .await;
        let state = chat.conversation.state().map_or("active", |s| s.as_str());
        self.decision(&decided, was_with_team, state, chat.number)
    }

    /// The plan in the promised terms.
    fn decision(
        &self,
        d: &Decided,
        was_with_team: bool,
        state: &'static str,
        conversation: u32,
    ) -> PreviewDecision {
        let text = d.replies().last().unwrap_or_default().to_owned();
        let mut out = PreviewDecision {
            decision: "none",
            reason: None,
            text,
            sources: Vec::new(),
            score: None,
            error: d.failure.clone(),
            language: self.language.clone(),
            availability: None,
            state,
            conversation,
        };
        let reason = d.handover_reason().map(|r| r.as_str());
        if d.hands_over() {
            out.decision = match reason {
                Some("no_knowledge") => "no_knowledge",
                _ => "handover",
            };
            out.reason = reason;
            out.score = d.best_score();
            out.availability = Some(d.availability.as_str());
        } else if d.asks_email() {
            out.decision = "ask_email";
            out.reason = reason;
            out.score = d.best_score();
        } else if let Some((sources, score)) = d.answered() {
            out.decision = "answer";
            out.sources = sources;
            out.score = score;
        } else if !out.text.is_empty() {
            out.decision = "answer";
        } else if was_with_team {
            out.decision = "with_team";
        }
        out
    }

    /// The start-up line: what is previewed, and that nothing reaches Gorgias.
    fn describe(&self, config: &Config, config_path: &Path) -> String {
        let mode = if is_shadow(config) {
            "shadow (the daemon would post each decision as an internal note instead)"
        } else {
            "live"
        };
        let hours = if !self.scene.hours_known {
            "business hours: read from Gorgias by the daemon, not by preview (every time counts \
             as open)"
                .to_owned()
        } else if self.scene.hours.is_always_open() {
            "business hours: always open".to_owned()
        } else {
            let now = self.scene.at.unwrap_or_else(Timestamp::now);
            let tz = TimeZone::get(&self.scene.hours.timezone_name()).unwrap_or(TimeZone::UTC);
            let local = now
                .to_zoned_datetime(tz)
                .strftime("%a %Y-%m-%d %H:%M %Z")
                .to_string();
            if self.scene.hours.is_open(now) {
                format!("business hours: open at {local}")
            } else {
                format!("business hours: closed at {local} (handovers get the after-hours message)")
            }
        };
        let agents = if self.scene.agents_online {
            "online"
        } else {
            "none available"
        };
        let email = self.email.as_deref().map_or_else(
            || "unknown (the bot asks for it before a handover)".to_owned(),
            str::to_owned,
        );
        format!(
            "perfectbot preview {}: config {}, mode {mode}, responder {}, {} knowledge \
             entries; {hours}; agents {agents}; customer email {email}. Nothing is sent to Gorgias.",
            env!("CARGO_PKG_VERSION"),
            config_path.display(),
            self.responder.name(),
            self.entries,
        )
    }
}

/// How lines are read and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Prompt with `you> ` and show the bot's words as `bot> ` (a terminal).
    pub interactive: bool,
    /// One JSON object per decision.
    pub json: bool,
}

/// What a person reads once the ticket is handed over.
const WITH_TEAM: &str = "The conversation is now with the team: the bot takes no more turns. \
                         An empty line starts a new conversation; Ctrl-D quits.";

/// Reads customer lines from `input` until its end and writes the decisions to `output`, one
/// conversation until an empty line starts the next.
pub async fn run_lines<R, W>(
    preview: &Preview,
    mut input: R,
    output: &mut W,
    opts: Options,
) -> anyhow::Result<()>
where
    R: AsyncBufRead + Unpin,
    W: Write,
{
    let mut chat = preview.start(1);
    let mut line = String::new();
    loop {
        if opts.interactive {
            write!(output, "you> ")?;
            output.flush()?;
        }
        line.clear();
        if input
            .read_line(&mut line)
            .await
            .context("reading the input")?
            == 0
        {
            if opts.interactive {
                writeln!(output)?;
            }
            return Ok(());
        }
        let message = line.trim();
        if message.is_empty() {
            if !chat.conversation.is_empty() {
                chat = preview.start(chat.number + 1);
                if opts.interactive && !opts.json {
                    writeln!(output, "     (a new conversation)")?;
                }
            }
            continue;
        }
        let d = preview.say(&mut chat, message).await;
        if opts.json {
            writeln!(output, "{}", d.to_json())?;
        } else if opts.interactive {
            if !d.text.is_empty() {
                writeln!(output, "bot> {}", d.text)?;
            }
            writeln!(output, "     ({})", d.label())?;
            if chat.with_team() {
                writeln!(output, "     {WITH_TEAM}")?;
            }
        } else {
            writeln!(output, "{}", d.to_line())?;
        }
        output.flush()?;
    }
}

/// The entries learned from `#kb` notes in the ledger at `path`, read-only; none when the file
/// does not exist yet. A ledger that cannot be read (e.g. written by another version) is
/// reported and skipped: preview still works on the files.
async fn learned_entries(path: &Path) -> Vec<kb::KbEntry> {
    if !path.is_file() {
        return vec![];
    }
    let read = async {
        let ledger = crate::ops::open_ledger(path).await?;
        anyhow::Ok(ledger.learned().await?)
    };
    match read.await {
        Ok(rows) => rows.iter().map(learned_entry).collect(),
        Err(e) => {
            tracing::warn!(ledger = %path.display(), error = %e,
                "cannot read the learned knowledge from the ledger; previewing the files only");
            vec![]
        }
    }
}

/// `perfectbot preview`'s arguments besides the config.
#[derive(Debug, Clone, Default)]
pub struct Args {
    pub json: bool,
    pub language: Option<String>,
    pub at: Option<At>,
    /// `--email`: the customer's email as Gorgias knows it.
    pub email: Option<String>,
    /// `--agents none`: nobody available within business hours.
    pub no_agents: bool,
}

/// `perfectbot preview --config FILE [--json] [--language LANG] [--at WHEN] [--agents
/// online|none] [--email ADDR]`: stdin to stdout, prompting on a terminal.
pub async fn run(config_path: &Path, args: Args) -> anyhow::Result<()> {
    let config = crate::ops::load_offline(config_path)?;
    let mut preview = Preview::from_config(&config)
        .await?
        .with_language(args.language)
        .with_email(args.email)
        .with_agents_online(!args.no_agents);
    if let Some(at) = args.at {
        preview = preview.at(at)?;
    }
    eprintln!("{}", preview.describe(&config, config_path));
    let interactive = std::io::stdin().is_terminal();
    if interactive && !args.json {
        eprintln!("Type as the customer. An empty line starts a new conversation; Ctrl-D quits.");
    }
    let input = tokio::io::BufReader::new(tokio::io::stdin());
    let mut output = std::io::stdout();
    let opts = Options {
        interactive,
        json: args.json,
    };
    run_lines(&preview, input, &mut output, opts).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::responder::kb::{Kb, KbResponder};
    use crate::responder::{AnswerFuture, Outcome, ResponderError, Turn};

    fn preview_over(responder: Arc<dyn Responder>) -> Preview {
        let config = Config::for_tests("http://127.0.0.1:9", "bot@example.com", "key");
        Preview::new(responder, policy_for(&config, 1), Duration::from_secs(5))
    }

    fn kb_preview() -> Preview {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/kb");
        let kb = Kb::load_dir(&dir).unwrap();
        preview_over(Arc::new(KbResponder::new(
            kb,
            crate::responder::kb::DEFAULT_CONFIDENCE,
        )))
    }

    /// The decision on `message` as the first of a new conversation.
    async fn first(p: &Preview, message: &str) -> PreviewDecision {
        p.say(&mut p.start(1), message).await
    }

    async fn run_on(preview: &Preview, input: &str, opts: Options) -> String {
        let mut out = Vec::new();
        run_lines(preview, input.as_bytes(), &mut out, opts)
            .await
            .unwrap();
        String::from_utf8(out).unwrap()
    }

    fn json_lines(out: &str) -> Vec<Value> {
        out.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    const PIPED_JSON: Options = Options {
        interactive: false,
        json: true,
    };

    #[tokio::test]
    async fn a_conversation_asks_for_the_email_hands_over_then_the_bot_is_silent() {
        let p = kb_preview();
        let out = run_on(
            &p,
            "How can I track my order?\nI want to talk to a human\nit is jo@example.org\n\
             hello? anyone?\nHow can I track my order?\n",
            PIPED_JSON,
        )
        .await;
        let lines = json_lines(&out);
        assert_eq!(lines.len(), 5, "{out}");
        assert_eq!(lines[0]["decision"], "answer");
        assert_eq!(lines[0]["reason"], Value::Null);
        assert_eq!(lines[0]["sources"], json!(["shop.toml#4"]));
        assert!(lines[0]["score"].as_f64().unwrap() >= crate::responder::kb::DEFAULT_CONFIDENCE);
        assert!(lines[0]["text"].as_str().unwrap().contains("tracking link"));
        assert_eq!(lines[0]["state"], "answered");
        let messages = &p.policy.messages.default;
        assert_eq!(lines[1]["decision"], "ask_email", "{out}");
        assert_eq!(lines[1]["reason"], "requested");
        assert_eq!(lines[1]["text"], messages.email_request.as_str());
        assert_eq!(lines[1]["state"], "awaiting_email");
        assert_eq!(lines[2]["decision"], "handover", "{out}");
        assert_eq!(lines[2]["reason"], "requested");
        assert_eq!(lines[2]["availability"], "online");
        assert_eq!(lines[2]["text"], messages.online.as_str());
        assert_eq!(lines[2]["state"], "escalated");
        for l in &lines[3..] {
            assert_eq!(l["decision"], "with_team", "{out}");
            assert_eq!(l["text"], "");
        }
        assert!(lines.iter().all(|l| l["conversation"] == 1), "{out}");
        // No `--language`: no language field.
        assert!(lines.iter().all(|l| l.get("language").is_none()), "{out}");
    }

    #[tokio::test]
    async fn an_empty_line_starts_a_new_conversation() {
        let p = kb_preview();
        let q = "How can I track my order?";
        // Asked again after the answer, within one conversation: frustration.
        let out = run_on(&p, &format!("{q}\n{q}\n\n  \n{q}\n"), PIPED_JSON).await;
        let lines = json_lines(&out);
        assert_eq!(lines.len(), 3, "{out}");
        assert_eq!(lines[1]["reason"], "frustrated", "{out}");
        assert_eq!(lines[2]["decision"], "answer", "{out}");
        assert_eq!(lines[2]["conversation"], 2, "{out}");
    }

    #[tokio::test]
    async fn a_known_email_hands_over_at_once_and_no_knowledge_is_a_handover() {
        let p = kb_preview().with_email(Some("jo@example.org".into()));
        let d = first(&p, "I want to talk to a human").await;
        assert_eq!((d.decision, d.reason), ("handover", Some("requested")));
        let d = first(&p, "Who won the football match last night?").await;
        assert_eq!(d.decision, "no_knowledge", "{d:?}");
        assert_eq!(d.reason, Some("no_knowledge"));
        assert!(d.label().starts_with("no_knowledge [best score "), "{d:?}");
        assert_eq!(d.text, p.policy.messages.default.online);
    }

    #[tokio::test]
    async fn the_handover_message_fits_the_hours_and_the_agents() {
        let hours = BusinessHours::new(
            "Europe/Paris",
            vec![crate::hours::HoursRange::parse("mon-fri", "09:00", "18:00").unwrap()],
            vec![],
        )
        .unwrap();
        let base = kb_preview()
            .with_email(Some("jo@example.org".into()))
            .with_hours(hours);
        let sunday_night = At::parse("2026-12-06T22:00").unwrap();
        let p = base.with_agents_online(true).at(sunday_night).unwrap();
        let d = first(&p, "I want to talk to a human").await;
        assert_eq!(d.availability, Some("after_hours"), "{d:?}");
        assert!(d.text.contains("Monday 09:00"), "{d:?}");
        assert_eq!(d.label(), "handover (requested, after_hours)");

        let p = p
            .with_agents_online(false)
            .at(At::parse("Tuesday 10:00").unwrap())
            .unwrap();
        let d = first(&p, "I want to talk to a human").await;
        assert_eq!(d.availability, Some("no_agents"), "{d:?}");
        let template = &p.policy.messages.default.no_agents;
        let expected = template
            .replace("{email}", "jo@example.org")
            .replace("{customer_name}", "there");
        assert_eq!(d.text, expected);
    }

    #[test]
    fn at_reads_weekdays_and_iso_times_and_names_a_bad_value() {
        let tz = TimeZone::get("Europe/Paris").unwrap();
        // Monday 2026-12-07 04:00 UTC (05:00 in Paris).
        let now: Timestamp = "2026-12-07T04:00:00Z".parse().unwrap();
        let at = |s: &str| At::parse(s).unwrap().resolve(&tz, now).unwrap().to_string();
        assert_eq!(at("Sunday 22:00"), "2026-12-13T21:00:00Z");
        assert_eq!(at("sun 22:00"), "2026-12-13T21:00:00Z");
        // Today, while the time is still to come; else a week on.
        assert_eq!(at("Monday 09:30"), "2026-12-07T08:30:00Z");
        assert_eq!(at("MONDAY 04:00"), "2026-12-14T03:00:00Z");
        assert_eq!(at("2026-12-06T22:00"), "2026-12-06T21:00:00Z");
        assert_eq!(at("2026-12-06 22:00"), "2026-12-06T21:00:00Z");
        assert_eq!(at("2026-12-06T22:00:00Z"), "2026-12-06T22:00:00Z");
        assert_eq!(at("2026-12-06T22:00:00-05:00"), "2026-12-07T03:00:00Z");
        for bad in [
            "Someday 22:00",
            "Sunday 25:00",
            "tomorrow",
            "",
            "Sunday 22:00 UTC",
        ] {
            let e = At::parse(bad).unwrap_err();
            assert!(e.starts_with(&format!("{bad:?} is not a time")), "{e}");
        }
    }

    #[test]
    fn at_needs_hours_preview_can_read() {
        let mut p = kb_preview();
        p.scene.hours_known = false;
        let e = p.at(At::parse("Sunday 22:00").unwrap()).err().unwrap();
        assert!(e.to_string().contains("business_hours.source"), "{e}");
    }

    #[tokio::test]
    async fn small_talk_is_a_courtesy_answer_or_nothing() {
        let p = kb_preview();
        let messages = &p.policy.messages;
        let d = first(&p, "hello?").await;
        assert_eq!((d.decision, d.score), ("answer", None), "{d:?}");
        assert!(d.sources.is_empty());
        assert_eq!(d.text, messages.default.greeting.as_str());
        assert_eq!(first(&p, "thanks!").await.text, messages.default.thanks);
        // No --language: the customer's French words pick the French courtesy.
        assert_eq!(
            first(&p, "merci").await.text,
            messages.for_language(Some("fr")).thanks
        );
        // A greeting with a question is a question.
        let d = first(&p, "hi, how can I track my order?").await;
        assert_eq!(d.sources, ["shop.toml#4"], "{d:?}");

        // Thanks right after the bot's answer gets no reply at all.
        let out = run_on(
            &p,
            "How can I track my order?\nok great, thanks 👍\n",
            Options {
                interactive: true,
                json: false,
            },
        )
        .await;
        assert!(out.contains("(none [small talk, no reply])"), "{out}");
    }

    #[tokio::test]
    async fn interactive_shows_the_bot_and_says_when_the_team_has_it() {
        let p = kb_preview();
        let out = run_on(
            &p,
            "How can I track my order?\nI want a human\nno thanks\nhello?\n\nhi\n",
            Options {
                interactive: true,
                json: false,
            },
        )
        .await;
        assert!(
            out.starts_with("you> bot> As soon as your order ships"),
            "{out}"
        );
        assert!(out.contains("(answer [shop.toml#4, score"), "{out}");
        assert!(
            out.contains("(ask_email (before a handover: requested))"),
            "{out}"
        );
        assert!(out.contains("(handover (requested, online))"), "{out}");
        assert_eq!(out.matches(WITH_TEAM).count(), 2, "{out}");
        assert!(out.contains("(with_team [handed over"), "{out}");
        assert!(out.contains("(a new conversation)"), "{out}");
        let greeting = p
            .policy
            .messages
            .default
            .greeting
            .replace("{customer_name}", "there");
        assert!(out.contains(&format!("bot> {greeting}")), "{out}");
    }

    #[tokio::test]
    async fn readable_lines_name_the_decision() {
        let p = kb_preview();
        let out = run_on(
            &p,
            "I want to talk to a human\nno\nstill there?\n",
            Options {
                interactive: false,
                json: false,
            },
        )
        .await;
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3, "{out}");
        assert!(
            lines[0].starts_with("ask_email (before a handover: requested): "),
            "{out}"
        );
        assert!(
            lines[1].starts_with("handover (requested, online): "),
            "{out}"
        );
        assert_eq!(lines[2], "with_team [handed over: the bot takes no turn]");
    }

    struct Failing;
    impl Responder for Failing {
        fn name(&self) -> &str {
            "failing"
        }
        fn answer<'a>(&'a self, _: &'a Turn) -> AnswerFuture<'a> {
            Box::pin(async {
                Err(ResponderError::Unavailable {
                    responder: "failing".into(),
                    detail: "down".into(),
                })
            })
        }
    }

    #[tokio::test]
    async fn a_failing_responder_shows_a_handover_with_reason_error() {
        let p = preview_over(Arc::new(Failing)).with_email(Some("jo@example.org".into()));
        let d = first(&p, "where is my parcel?").await;
        assert_eq!(d.decision, "handover");
        assert_eq!(d.reason, Some("error"));
        assert!(d.error.as_deref().unwrap().contains("down"));
        assert_eq!(
            d.to_json()["error"],
            "responder failing is unavailable: down"
        );
    }

    /// A config whose knowledge folder holds one entry and whose ledger is `dir/ledger.db`.
    fn config_in(dir: &Path) -> Config {
        let kb_dir = dir.join("kb");
        std::fs::create_dir_all(&kb_dir).unwrap();
        std::fs::write(kb_dir.join("a.md"), "## Gift wrapping\nYes, for free.\n").unwrap();
        let mut config = Config::for_tests("http://127.0.0.1:9", "bot@example.com", "key");
        config.kb.dir = kb_dir;
        config.ledger.path = dir.join("ledger.db");
        config
    }

    #[tokio::test]
    async fn preview_answers_from_notes_learned_in_the_ledger_without_writing_it() {
        let dir = tempfile::tempdir().unwrap();
        let config = config_in(dir.path());
        let ledger = crate::ledger::Ledger::open(&config.ledger.path)
            .await
            .unwrap();
        let now = jiff::Timestamp::from_second(1).unwrap();
        let row = crate::ledger::LearnedRow {
            id: "note:11".into(),
            ticket_id: 3,
            message_id: 11,
            question: "Do you sponsor sports teams?".into(),
            answer: "No sponsoring, sorry.".into(),
            updated_at: now,
        };
        assert!(ledger.sync_learned(3, vec![row], now).await.unwrap());

        let p = Preview::from_config(&config).await.unwrap();
        assert_eq!(p.entries, 2);
        let d = first(&p, "do you sponsor sports teams").await;
        assert_eq!(d.decision, "answer", "{d:?}");
        assert_eq!(d.sources, ["note:11"]);
        assert_eq!(d.text, "No sponsoring, sorry.");
        let d = first(&p, "gift wrapping").await;
        assert_eq!(d.sources, ["a.md#1"]);
        // Preview indexed in memory: the daemon's index in the ledger was left alone.
        let count: i64 = rusqlite::Connection::open(&config.ledger.path)
            .unwrap()
            .query_row("SELECT count(*) FROM kb_index", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, 0);
    }

    #[tokio::test]
    async fn preview_without_a_ledger_uses_the_files_and_creates_none() {
        let dir = tempfile::tempdir().unwrap();
        let config = config_in(dir.path());
        let p = Preview::from_config(&config).await.unwrap();
        let d = first(&p, "gift wrapping").await;
        assert_eq!(d.sources, ["a.md#1"]);
        assert!(!config.ledger.path.exists());
        // Config::for_tests reads the hours from Gorgias: unknown to preview, said so.
        let line = p.describe(&config, Path::new("c.toml"));
        assert!(line.contains("1 knowledge entries"), "{line}");
        assert!(line.contains("not by preview"), "{line}");
        assert!(line.contains(env!("CARGO_PKG_VERSION")), "{line}");
    }

    #[tokio::test]
    async fn the_handover_template_is_rendered_like_the_engine_does() {
        let mut p = kb_preview().with_email(Some("jo@example.org".into()));
        p.policy.messages.default.online =
            "Hi {customer_name}, back {next_open}; we write to {email}.".into();
        let d = first(&p, "I want to talk to a human").await;
        assert_eq!(d.text, "Hi there, back soon; we write to jo@example.org.");
    }

    /// Records the language of the turns it is asked about and knows nothing.
    #[derive(Default)]
    struct Recording(std::sync::Mutex<Vec<Option<String>>>);
    impl Responder for Recording {
        fn name(&self) -> &str {
            "recording"
        }
        fn answer<'a>(&'a self, turn: &'a Turn) -> AnswerFuture<'a> {
            self.0.lock().unwrap().push(turn.language.clone());
            Box::pin(async { Ok(Outcome::NoKnowledge { best_score: None }) })
        }
    }

    #[tokio::test]
    async fn language_fr_previews_a_french_ticket() {
        let recording = Arc::new(Recording::default());
        let p = preview_over(recording.clone()).with_language(Some("fr-FR".into()));
        let out = run_on(
            &p,
            "je veux parler à un humain\nnon\n\nquelle est la couleur du ciel ?\n",
            PIPED_JSON,
        )
        .await;
        let lines = json_lines(&out);
        assert_eq!(lines.len(), 3, "{out}");
        let french = crate::config::MessageTemplates::builtin("fr").unwrap();
        assert_eq!(lines[0]["decision"], "ask_email");
        assert_eq!(lines[0]["text"], french.email_request.as_str());
        assert_eq!(lines[0]["language"], "fr-FR");
        assert_eq!(lines[1]["decision"], "handover");
        assert_eq!(lines[1]["reason"], "requested");
        assert_eq!(lines[1]["text"], french.online.as_str());
        assert_eq!(lines[2]["decision"], "ask_email", "{out}");
        assert_eq!(lines[2]["reason"], "no_knowledge");
        // The responder saw the French ticket (the handover lines never reached it).
        assert_eq!(
            *recording.0.lock().unwrap(),
            vec![Some("fr-FR".to_string())]
        );
        // The promised fields are all still there.
        for key in ["decision", "reason", "text", "sources", "score"] {
            assert!(lines[2].get(key).is_some(), "{key}: {out}");
        }
    }

    #[tokio::test]
    async fn language_fills_missing_values_with_that_languages_words() {
        let mut p = kb_preview().with_language(Some("fr".into()));
        p.policy.messages.languages.get_mut("fr").unwrap().online =
            "Bonjour {customer_name}, retour {next_open} ; réponse à {email}.".into();
        let mut chat = p.start(1);
        p.say(&mut chat, "je veux parler à un humain").await;
        let d = p.say(&mut chat, "non merci").await;
        assert_eq!(
            d.text,
            "Bonjour à vous, retour bientôt ; réponse à votre adresse e-mail."
        );
        // Without a language the same conversation gets the default (English) message.
        let p = p.with_language(None);
        let mut chat = p.start(1);
        p.say(&mut chat, "I want to talk to a human").await;
        let d = p.say(&mut chat, "no").await;
        assert_eq!(d.text, crate::config::MessageTemplates::english().online);
    }
}
