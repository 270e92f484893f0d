//! The simulator's try-it surface: a customer chat page at `/chat` and its small JSON API under
//! `/chat/api/...`, where a person plays the customer (and, with two buttons, the agent).
//!
//! These routes are the simulator's own, not Gorgias routes: Gorgias has no such endpoints, so
//! they live outside `/api` and never pass through the simulated edge (no auth, no rate limit,
//! no request log, no faults). They act on the account through the same in-process calls the
//! tests use ([`Sim::create_ticket`], [`Sim::customer_says`], [`Sim::assign`]), so a ticket made
//! here is exactly what the daemon would meet on a real account: a chat ticket assigned to the
//! bot user, with a customer and the customer's first message.
//!
//! Every input is untrusted (a browser or a script): bodies are capped, texts are bounded and
//! the page renders every text with `textContent`, never as HTML.

use super::{Seeded, Sim};
use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

/// The page: one self-contained HTML file (inline CSS and JS, no CDN, no build step).
const PAGE: &str = include_str!("chat.html");

/// The longest customer or agent text the page accepts (Gorgias chat messages are short).
const MAX_TEXT: usize = 5_000;
/// The longest name or email.
const MAX_FIELD: usize = 200;
/// Request bodies above this are refused with 413.
const MAX_BODY: usize = 64 * 1024;

/// Who plays which part on the page: the bot user tickets are assigned to, and the agent who
/// takes over.
#[derive(Debug, Clone)]
pub(crate) struct ChatSetup {
    bot_id: u64,
    agent_id: u64,
    agent_name: String,
}

impl ChatSetup {
    /// The bot and the first agent of a [`Seeded`] account.
    pub(crate) fn from_seeded(seeded: &Seeded) -> Option<ChatSetup> {
        let agent = seeded.agents.first()?;
        Some(ChatSetup {
            bot_id: seeded.bot.id,
            agent_id: agent.id,
            agent_name: agent.name.clone(),
        })
    }
}

#[derive(Clone)]
struct ChatState {
    sim: Sim,
    setup: ChatSetup,
}

/// `/chat` and `/chat/api/...`, ready to merge in front of the Gorgias routes.
pub(crate) fn router(sim: Sim, setup: ChatSetup) -> Router {
    Router::new()
        .route("/chat", get(page))
        .route("/chat/", get(page))
        .route("/chat/api/conversations", post(start))
        .route("/chat/api/conversations/{id}", get(show))
        .route("/chat/api/conversations/{id}/messages", post(customer_says))
        .route("/chat/api/conversations/{id}/takeover", post(take_over))
        .route(
            "/chat/api/conversations/{id}/agent-reply",
            post(agent_reply),
        )
        .route("/chat/api/conversations/{id}/handback", post(hand_back))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(ChatState { sim, setup })
}

/// A client error with a message the page shows as is.
struct Refusal {
    status: StatusCode,
    msg: String,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.status, axum::Json(json!({"error": self.msg}))).into_response()
    }
}

fn bad(status: StatusCode, msg: impl Into<String>) -> Refusal {
    Refusal {
        status,
        msg: msg.into(),
    }
}

fn not_found(id: u64) -> Refusal {
    bad(StatusCode::NOT_FOUND, format!("no conversation {id}"))
}

async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        PAGE,
    )
        .into_response()
}

/// A JSON body, or a 400 that names the problem (axum's own rejection would be plain text).
fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Refusal> {
    serde_json::from_slice(body)
        .map_err(|e| bad(StatusCode::BAD_REQUEST, format!("invalid JSON body: {e}")))
}

/// A message's text, trimmed, or a 400 when it is empty or too long.
fn check_text(text: &str) -> Result<String, Refusal> {
    let text = text.trim();
    if text.is_empty() {
        return Err(bad(StatusCode::BAD_REQUEST, "text: empty message"));
    }
    if text.chars().count() > MAX_TEXT {
        return Err(bad(
            StatusCode::BAD_REQUEST,
            format!("text: longer than {MAX_TEXT} characters"),
        ));
    }
    Ok(text.to_string())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StartBody {
    text: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    language: Option<String>,
}

/// A two-letter ISO 639-1 code, optionally with a region ("pt-BR"), as Gorgias stores it.
fn valid_language(tag: &str) -> bool {
    let mut parts = tag.splitn(2, '-');
    let code = parts.next().unwrap_or("");
    let region_ok = parts
        .next()
        .is_none_or(|r| (2..=3).contains(&r.len()) && r.chars().all(|c| c.is_ascii_alphanumeric()));
    code.len() == 2 && code.chars().all(|c| c.is_ascii_lowercase()) && region_ok
}

/// `POST /chat/api/conversations {text, name?, email?, language?}` -> 201 `{ticket_id, customer_id}`:
/// a new customer and a chat ticket assigned to the bot, opened by the customer's first message.
async fn start(State(st): State<ChatState>, body: axum::body::Bytes) -> Result<Response, Refusal> {
    let b: StartBody = parse(&body)?;
    let text = check_text(&b.text)?;
    let name = b.name.as_deref().map(str::trim).unwrap_or("");
    let name = if name.is_empty() {
        "Chat visitor"
    } else {
        name
    };
    if name.chars().count() > MAX_FIELD {
        return Err(bad(StatusCode::BAD_REQUEST, "name: too long"));
    }
    let email = b.email.as_deref().map(str::trim).filter(|e| !e.is_empty());
    if let Some(e) = email
        && (e.len() > MAX_FIELD || !super::state::valid_email(e))
    {
        return Err(bad(
            StatusCode::BAD_REQUEST,
            format!("email: {e:?} is not an email address"),
        ));
    }
    let language = b
        .language
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty());
    if let Some(l) = language
        && !valid_language(l)
    {
        return Err(bad(
            StatusCode::BAD_REQUEST,
            format!("language: {l:?} is not a code such as \"en\" or \"pt-BR\""),
        ));
    }
    let customer_id = st.sim.create_customer(name, email);
    let ticket_id = st.sim.create_ticket(super::NewTicket {
        customer_id,
        first_message: text,
        assignee_user: Some(st.setup.bot_id),
        language: language.map(str::to_string),
        ..super::NewTicket::default()
    });
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"ticket_id": ticket_id, "customer_id": customer_id})),
    )
        .into_response())
}

/// Who wrote a message, as the page shows it.
fn author_kind(m: &Value, bot_id: u64) -> &'static str {
    let from_agent = m["from_agent"].as_bool().unwrap_or(false);
    let public = m["public"].as_bool().unwrap_or(true);
    if !public {
        "note"
    } else if !from_agent {
        "customer"
    } else if m["sender"]["id"].as_u64() == Some(bot_id) {
        "bot"
    } else {
        "agent"
    }
}

/// The page's picture of a ticket, built from the ticket exactly as `GET /api/tickets/{id}`
/// returns it, so the page shows what the API shows.
fn conversation(ticket: &Value, setup: &ChatSetup) -> Value {
    let assignee = match (
        ticket["assignee_user"]["id"].as_u64(),
        ticket["assignee_team"]["name"].as_str(),
    ) {
        (Some(id), _) if id == setup.bot_id => {
            json!({"kind": "bot", "name": ticket["assignee_user"]["name"]})
        }
        (Some(_), _) => json!({"kind": "agent", "name": ticket["assignee_user"]["name"]}),
        (None, Some(team)) => json!({"kind": "team", "name": team}),
        (None, None) => json!({"kind": "none", "name": null}),
    };
    let tags: Vec<Value> = ticket["tags"]
        .as_array()
        .map(|t| t.iter().map(|g| g["name"].clone()).collect())
        .unwrap_or_default();
    let messages: Vec<Value> = ticket["messages"]
        .as_array()
        .map(|ms| {
            ms.iter()
                .map(|m| {
                    json!({
                        "id": m["id"],
                        "from": author_kind(m, setup.bot_id),
                        "author": m["sender"]["name"],
                        "text": m["body_text"],
                        "at": m["created_datetime"],
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    json!({
        "ticket": {
            "id": ticket["id"],
            "status": ticket["status"],
            "language": ticket["language"],
            "customer": ticket["customer"]["name"],
            "assignee": assignee,
            "tags": tags,
        },
        "messages": messages,
    })
}

/// `GET /chat/api/conversations/{id}`: status, assignee, tags and messages (notes included,
/// marked `note`: the agent's side of the page shows them).
async fn show(State(st): State<ChatState>, Path(id): Path<u64>) -> Response {
    match st.sim.ticket_json(id) {
        Some(t) => axum::Json(conversation(&t, &st.setup)).into_response(),
        None => not_found(id).into_response(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TextBody {
    text: String,
}

/// `POST /chat/api/conversations/{id}/messages {text}`: the customer writes (a closed ticket
/// reopens, as in Gorgias).
async fn customer_says(
    State(st): State<ChatState>,
    Path(id): Path<u64>,
    body: axum::body::Bytes,
) -> Result<Response, Refusal> {
    post_message(&st, id, &body, |text| st.sim.customer_says(id, text))
}

/// A `{text}` body written into conversation `id` by `write`, which returns the new message's
/// id: 201 `{message_id}`, 400 for a bad text, 404 for an unknown conversation.
fn post_message(
    st: &ChatState,
    id: u64,
    body: &[u8],
    write: impl FnOnce(&str) -> u64,
) -> Result<Response, Refusal> {
    let b: TextBody = parse(body)?;
    let text = check_text(&b.text)?;
    if st.sim.ticket_json(id).is_none() {
        return Err(not_found(id));
    }
    let message_id = write(&text);
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"message_id": message_id})),
    )
        .into_response())
}

/// `POST /chat/api/conversations/{id}/takeover`: the agent assigns the ticket to themself, as
/// an agent does in the helpdesk; the bot sees a ticket assigned to someone else and steps back.
async fn take_over(State(st): State<ChatState>, Path(id): Path<u64>) -> Response {
    if st.sim.ticket_json(id).is_none() {
        return not_found(id).into_response();
    }
    st.sim.assign(id, Some(st.setup.agent_id), None);
    axum::Json(json!({"assignee": st.setup.agent_name})).into_response()
}

/// `POST /chat/api/conversations/{id}/agent-reply {text}`: the agent answers the customer.
async fn agent_reply(
    State(st): State<ChatState>,
    Path(id): Path<u64>,
    body: axum::body::Bytes,
) -> Result<Response, Refusal> {
    post_message(&st, id, &body, |text| {
        st.sim.agent_says(id, st.setup.agent_id, text)
    })
}

/// The handover tags an agent removes when giving a ticket back (whatever the bot's name).
fn is_escalation_tag(name: &str) -> bool {
    name.ends_with(": Agent Required") || name.ends_with(": Agent Check Recommended")
}

/// `POST /chat/api/conversations/{id}/handback`: what an agent does to give a ticket back to
/// the bot: remove the escalation tags and assign it to the bot user.
async fn hand_back(State(st): State<ChatState>, Path(id): Path<u64>) -> Response {
    let Some(ticket) = st.sim.ticket_json(id) else {
        return not_found(id).into_response();
    };
    let escalation: Vec<String> = ticket["tags"]
        .as_array()
        .map(|t| {
            t.iter()
                .filter_map(|g| g["name"].as_str())
                .filter(|n| is_escalation_tag(n))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let names: Vec<&str> = escalation.iter().map(String::as_str).collect();
    st.sim.remove_tags(id, &names);
    st.sim.assign(id, Some(st.setup.bot_id), None);
    axum::Json(json!({"removed_tags": escalation})).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SimOptions;

    async fn served() -> (Sim, crate::SimServer, Seeded) {
        let sim = Sim::new(SimOptions::default());
        let seeded = sim.seed_default();
        let server = sim
            .serve_with_chat(std::net::SocketAddr::from(([127, 0, 0, 1], 0)), &seeded)
            .await
            .unwrap();
        (sim, server, seeded)
    }

    #[tokio::test]
    async fn a_conversation_is_a_chat_ticket_assigned_to_the_bot() {
        let (sim, server, seeded) = served().await;
        let http = reqwest::Client::new();
        let base = server.base_url();
        let page = http.get(format!("{base}/chat")).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(html.contains("<title>perfectbot"), "{html}");
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "no CDN"
        );

        let r = http
            .post(format!("{base}/chat/api/conversations"))
            .json(
                &json!({"name": "Ana", "email": "ana@example.org", "language": "es",
                          "text": "¿Cuánto tarda el envío?"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let id = r.json::<Value>().await.unwrap()["ticket_id"]
            .as_u64()
            .unwrap();
        let t = sim.ticket_json(id).unwrap();
        assert_eq!(t["channel"], "chat");
        assert_eq!(t["status"], "open");
        assert_eq!(t["language"], "es");
        assert_eq!(t["assignee_user"]["id"].as_u64(), Some(seeded.bot.id));
        assert_eq!(t["customer"]["email"], "ana@example.org");

        let c: Value = http
            .get(format!("{base}/chat/api/conversations/{id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(c["ticket"]["assignee"]["kind"], "bot");
        assert_eq!(c["messages"][0]["from"], "customer");
        assert_eq!(c["messages"][0]["text"], "¿Cuánto tarda el envío?");

        // The bot answers through the API: the page shows it as the bot's.
        sim.agent_says(id, seeded.bot.id, "2-4 días");
        sim.add_tags(id, &["PerfectBot: Agent Required", "vip"]);
        let r = http
            .post(format!("{base}/chat/api/conversations/{id}/takeover"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let t = sim.ticket_json(id).unwrap();
        assert_eq!(t["assignee_user"]["id"].as_u64(), Some(seeded.agents[0].id));
        let r = http
            .post(format!("{base}/chat/api/conversations/{id}/handback"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let c: Value = http
            .get(format!("{base}/chat/api/conversations/{id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(c["ticket"]["assignee"]["kind"], "bot");
        assert_eq!(c["ticket"]["tags"], json!(["vip"]));
        assert_eq!(c["messages"][1]["from"], "bot");
        server.shutdown().await;
    }

    #[tokio::test]
    async fn bad_input_is_a_400_naming_the_field_and_creates_nothing() {
        let (sim, server, _) = served().await;
        let http = reqwest::Client::new();
        let url = format!("{}/chat/api/conversations", server.base_url());
        for (body, needle) in [
            (json!({"text": "  "}), "text"),
            (json!({"text": "hi", "email": "not-an-email"}), "email"),
            (json!({"text": "hi", "language": "french"}), "language"),
            (json!({"text": "x".repeat(MAX_TEXT + 1)}), "text"),
            (json!({"txet": "hi"}), "invalid JSON"),
        ] {
            let r = http.post(&url).json(&body).send().await.unwrap();
            assert_eq!(r.status(), 400, "{body}");
            let e = r.json::<Value>().await.unwrap();
            assert!(e["error"].as_str().unwrap().contains(needle), "{e}");
        }
        let r = http
            .post(&url)
            .body(vec![b' '; MAX_BODY + 1])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 413);
        let r = http
            .get(format!("{}/chat/api/conversations/999", server.base_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        assert!(sim.ticket_ids().is_empty());
        // The chat routes are not Gorgias routes: they never reach the simulated API's log.
        assert!(sim.requests().is_empty());
        server.shutdown().await;
    }
}
