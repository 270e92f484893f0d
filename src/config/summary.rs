//! `check-config`'s summary and the start-up notes: what a loaded config says, in words.

use std::time::Duration;

use super::messages::{BUILTIN_LANGUAGES, MESSAGE_KEYS, MessageTemplates};
use super::types::*;

impl Config {
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
