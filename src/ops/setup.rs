//! `perfectbot setup`: creates, idempotently, the Gorgias views the team works from (and, on
//! request, the HTTP integration that pokes the daemon's `/webhook`).
//!
//! A view is found by its exact name, an integration by its URL: found ones are left as they
//! are (an operator may have edited them), never duplicated or overwritten. This module talks
//! to Gorgias only through the client; it never touches the ledger.

use std::path::Path;

use anyhow::Context as _;
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};

use crate::config::Config;
use crate::gorgias::{Client, GorgiasError, NewView};

/// The name of the webhook integration `setup --webhook` creates.
pub const WEBHOOK_NAME: &str = "perfectbot webhook";

/// One view the bot's team works from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewSpec {
    pub name: String,
    pub filters: String,
}

/// Whether `setup` made a thing or found it already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Found,
}

impl Outcome {
    /// "created" / "found".
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Found => "found",
        }
    }
}

/// One line of `setup`'s result: what, its Gorgias id, created or found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupLine {
    /// "view" or "integration".
    pub kind: &'static str,
    pub name: String,
    pub id: u64,
    pub outcome: Outcome,
}

impl std::fmt::Display for SetupLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} \"{}\" (id {})",
            self.outcome.as_str(),
            self.kind,
            self.name,
            self.id
        )
    }
}

/// Why `setup` stopped. Lines done before the failure are in `done`, so the operator knows
/// what exists; running `setup` again finishes the job.
#[derive(Debug, thiserror::Error)]
#[error("{what}: {source}")]
pub struct SetupError {
    pub what: String,
    pub done: Vec<SetupLine>,
    #[source]
    pub source: GorgiasError,
}

/// A string literal for the Gorgias filter language (single quotes, `\` escapes).
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\'' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// The four views, with the configured tag names and the bot's user id.
pub fn view_specs(config: &Config, bot_user_id: u64) -> Vec<ViewSpec> {
    let t = &config.tags;
    let spec = |name: &str, filters: String| ViewSpec {
        name: name.to_owned(),
        filters,
    };
    vec![
        spec(
            "✅ Closed",
            format!(
                "eq(ticket.status, 'closed') && containsAll(ticket.tags.name, [{}])",
                quote(&t.auto_closed)
            ),
        ),
        spec(
            "🙋 Agent required",
            format!(
                "eq(ticket.status, 'open') && containsAny(ticket.tags.name, [{}, {}])",
                quote(&t.agent_required),
                quote(&t.agent_check)
            ),
        ),
        spec(
            "🖐 Open",
            format!("eq(ticket.status, 'open') && eq(ticket.assignee_user.id, {bot_user_id})"),
        ),
        spec(
            "👁 Preview",
            format!("containsAll(ticket.tags.name, [{}])", quote(&t.preview)),
        ),
    ]
}

/// The body of `POST /api/integrations` for the webhook to `url`. Carries the webhook secret
/// (when configured) in the header the daemon checks: never print this value.
pub fn webhook_body(config: &Config, url: &str) -> Value {
    let mut headers = serde_json::Map::new();
    if let Some(secret) = &config.http.webhook_secret {
        headers.insert(
            "X-Perfectbot-Secret".into(),
            Value::String(secret.expose_secret().to_owned()),
        );
    }
    json!({
        "type": "http",
        "name": WEBHOOK_NAME,
        "http": {
            "url": url,
            "method": "POST",
            "request_content_type": "application/json",
            "headers": headers,
            "form": {"ticket_id": "{{ticket.id}}"},
            "triggers": {
                "ticket-created": true,
                "ticket-updated": true,
                "ticket-message-created": true,
            },
        },
    })
}

/// Creates the missing views (and the webhook integration when `webhook` is given); finds the
/// rest. `bot_user_id` is `bot.user_id` or the API key's user.
pub async fn setup(
    client: &Client,
    config: &Config,
    bot_user_id: u64,
    webhook: Option<&str>,
) -> Result<Vec<SetupLine>, SetupError> {
    let mut done = Vec::new();
    let existing = match client.views().await {
        Ok(v) => v,
        Err(source) => {
            return Err(SetupError {
                what: "listing views (GET /api/views)".into(),
                done,
                source,
            });
        }
    };
    for spec in view_specs(config, bot_user_id) {
        if let Some(v) = existing.iter().find(|v| v.name == spec.name) {
            done.push(SetupLine {
                kind: "view",
                name: spec.name,
                id: v.id,
                outcome: Outcome::Found,
            });
            continue;
        }
        let new = NewView::ticket_list(&spec.name, &spec.filters, "updated_datetime");
        match client.create_view(&new).await {
            Ok(v) => done.push(SetupLine {
                kind: "view",
                name: spec.name,
                id: v.id,
                outcome: Outcome::Created,
            }),
            Err(source) => {
                return Err(SetupError {
                    what: format!("creating view {:?} (POST /api/views)", spec.name),
                    done,
                    source,
                });
            }
        }
    }
    if let Some(url) = webhook {
        let integrations = match client.integrations().await {
            Ok(i) => i,
            Err(source) => {
                return Err(SetupError {
                    what: "listing integrations (GET /api/integrations)".into(),
                    done,
                    source,
                });
            }
        };
        let found = integrations.iter().find(|i| {
            i.kind == "http"
                && i.http
                    .as_ref()
                    .and_then(|h| h.get("url"))
                    .and_then(Value::as_str)
                    == Some(url)
        });
        let line = match found {
            Some(i) => SetupLine {
                kind: "integration",
                name: i.name.clone().unwrap_or_else(|| url.to_owned()),
                id: i.id,
                outcome: Outcome::Found,
            },
            None => match client.create_integration(&webhook_body(config, url)).await {
                Ok(i) => SetupLine {
                    kind: "integration",
                    name: i.name.unwrap_or_else(|| WEBHOOK_NAME.to_owned()),
                    id: i.id,
                    outcome: Outcome::Created,
                },
                Err(source) => {
                    return Err(SetupError {
                        what: format!("creating the webhook to {url} (POST /api/integrations)"),
                        done,
                        source,
                    });
                }
            },
        };
        done.push(line);
    }
    Ok(done)
}

/// The `setup` command: loads the config (with the API key), finds the bot's user id, creates
/// what is missing, prints one line per view (and integration).
pub async fn run(config_path: &Path, webhook: Option<String>) -> anyhow::Result<()> {
    let config = crate::config::load(config_path).map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(url) = &webhook {
        let parsed = url::Url::parse(url).with_context(|| format!("--webhook {url:?}"))?;
        anyhow::ensure!(
            matches!(parsed.scheme(), "http" | "https"),
            "--webhook {url:?}: must be an http(s) URL"
        );
        if config.http.webhook_secret.is_none() {
            eprintln!(
                "note: no webhook secret is configured (http.webhook_secret_file); the daemon's /webhook stays disabled until one is"
            );
        }
    }
    let client = crate::daemon::client_for(&config)?;
    let bot_user_id = crate::daemon::bot_user_id(&config, &client)
        .await
        .context("finding the bot's user")?;
    match setup(&client, &config, bot_user_id, webhook.as_deref()).await {
        Ok(lines) => {
            for l in lines {
                println!("{l}");
            }
            Ok(())
        }
        Err(e) => {
            for l in &e.done {
                println!("{l}");
            }
            Err(e.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_strings_escape_quotes_in_tag_names() {
        assert_eq!(quote("Bot's: Preview"), r"'Bot\'s: Preview'");
        let parsed = perfectbot_sim::filter::parse(&format!(
            "containsAll(ticket.tags.name, [{}])",
            quote(r"a'b\c")
        ));
        assert!(parsed.is_ok(), "{parsed:?}");
    }

    #[test]
    fn views_use_the_configured_tags_and_bot_id() {
        let mut c = Config::for_tests("http://127.0.0.1:9", "bot@example.org", "k");
        c.tags = crate::config::Tags::for_name("Robo");
        let specs = view_specs(&c, 42);
        let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            ["✅ Closed", "🙋 Agent required", "🖐 Open", "👁 Preview"]
        );
        assert_eq!(
            specs[1].filters,
            "eq(ticket.status, 'open') && containsAny(ticket.tags.name, ['Robo: Agent Required', 'Robo: Agent Check Recommended'])"
        );
        assert!(
            specs[2]
                .filters
                .ends_with("eq(ticket.assignee_user.id, 42)")
        );
        for s in &specs {
            assert!(
                perfectbot_sim::filter::parse(&s.filters).is_ok(),
                "{}",
                s.filters
            );
        }
    }

    #[test]
    fn webhook_body_carries_the_secret_header_only_when_configured() {
        let mut c = Config::for_tests("http://127.0.0.1:9", "bot@example.org", "k");
        let b = webhook_body(&c, "https://bot.example.org/webhook");
        assert_eq!(b["http"]["headers"], json!({}));
        assert_eq!(b["http"]["form"]["ticket_id"], "{{ticket.id}}");
        assert_eq!(b["http"]["triggers"]["ticket-message-created"], true);
        c.http.webhook_secret = Some("s3cret".into());
        let b = webhook_body(&c, "https://bot.example.org/webhook");
        assert_eq!(b["http"]["headers"]["X-Perfectbot-Secret"], "s3cret");
        assert_eq!(b["name"], WEBHOOK_NAME);
    }
}
