//! Webhook delivery for HTTP integrations: while the simulator is served, a task watches the
//! event log and, for each `type: "http"` integration whose `triggers` enable the event's type
//! (`ticket-created`, `ticket-updated`, `ticket-message-created`), sends the configured request
//! with `{{ticket.id}}`-style templates filled in (url, header values, `form` values as a JSON
//! body; `{}` when there is no form). Deliveries are recorded, never retried.
//! It must not change API data: it only reads events, tickets and integrations.

use super::Sim;
use serde_json::{Map, Value, json};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// One webhook the simulator sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookDelivery {
    /// The HTTP integration that fired.
    pub integration_id: u64,
    /// Event type, e.g. `ticket-message-created`.
    pub event: String,
    /// The ticket concerned.
    pub ticket_id: u64,
    /// The templated URL called.
    pub url: String,
    /// The answer's status, `None` if the request failed.
    pub status: Option<u16>,
}

struct Job {
    integration_id: u64,
    event: String,
    ticket_id: u64,
    method: reqwest::Method,
    url: String,
    headers: Vec<(String, String)>,
    body: Value,
}

/// Look up a dotted path (`ticket.customer.email`) in `ctx`; scalars render bare.
fn lookup(ctx: &Value, path: &str) -> String {
    let mut v = ctx;
    for seg in path.split('.') {
        match v.get(seg) {
            Some(x) => v = x,
            None => return String::new(),
        }
    }
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Fill `{{path}}` placeholders from `ctx`.
pub(crate) fn render(template: &str, ctx: &Value) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                out.push_str(&lookup(ctx, after[..end].trim()));
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

fn render_value(v: &Value, ctx: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(render(s, ctx)),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), render_value(x, ctx)))
                .collect::<Map<_, _>>(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|x| render_value(x, ctx)).collect()),
        other => other.clone(),
    }
}

/// Collect the jobs for events after `after`; returns them and the last event id seen.
fn jobs_since(sim: &Sim, after: u64) -> (Vec<Job>, u64) {
    let st = sim.state();
    let mut last = after;
    let mut jobs = Vec::new();
    for e in st.events.iter().filter(|e| e.id > after) {
        last = last.max(e.id);
        let ticket_id = match e.data.get("ticket_id").and_then(Value::as_u64) {
            Some(t) => t,
            None => continue,
        };
        let Some(ticket) = st.tickets.get(&ticket_id) else {
            continue;
        };
        let ctx = json!({"ticket": st.ticket_json(ticket, false), "event": st.event_json(e)});
        for i in st.integrations.values() {
            let Some(http) = &i.http else { continue };
            if http["triggers"][e.kind.as_str()] != Value::Bool(true) {
                continue;
            }
            let method = http["method"]
                .as_str()
                .and_then(|m| m.parse().ok())
                .unwrap_or(reqwest::Method::POST);
            let headers = http["headers"]
                .as_object()
                .map(|h| {
                    h.iter()
                        .map(|(k, v)| (k.clone(), render(v.as_str().unwrap_or_default(), &ctx)))
                        .collect()
                })
                .unwrap_or_default();
            let body = match http.get("form") {
                Some(f @ Value::Object(m)) if !m.is_empty() => render_value(f, &ctx),
                _ => json!({}),
            };
            jobs.push(Job {
                integration_id: i.id,
                event: e.kind.clone(),
                ticket_id,
                method,
                url: render(http["url"].as_str().unwrap_or_default(), &ctx),
                headers,
                body,
            });
        }
    }
    (jobs, last)
}

/// Deliver webhooks until `stop` is cancelled. Only events recorded after the start are sent.
pub(crate) async fn run(sim: Sim, stop: CancellationToken) {
    let client = match reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(5))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "sim: cannot build the webhook client; webhooks disabled");
            return;
        }
    };
    let mut last = sim.state().events.last().map_or(0, |e| e.id);
    // Deliveries go out within 25 ms of the simulator's clock.
    let tick = sim.state().clock.real(Duration::from_millis(25));
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(tick) => {}
        }
        let (jobs, seen) = jobs_since(&sim, last);
        last = seen;
        for job in jobs {
            let mut rb = client.request(job.method.clone(), &job.url).json(&job.body);
            for (k, v) in &job.headers {
                rb = rb.header(k, v);
            }
            let status = tokio::select! {
                () = stop.cancelled() => return,
                r = rb.send() => r.ok().map(|r| r.status().as_u16()),
            };
            sim.traffic().record_webhook(WebhookDelivery {
                integration_id: job.integration_id,
                event: job.event,
                ticket_id: job.ticket_id,
                url: job.url,
                status,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill_nested_paths_and_blank_unknown_ones() {
        let ctx =
            json!({"ticket": {"id": 7, "customer": {"email": "a@b.c"}}, "event": {"type": "x"}});
        assert_eq!(
            render("http://h/hook?t={{ticket.id}}&e={{ event.type }}", &ctx),
            "http://h/hook?t=7&e=x"
        );
        assert_eq!(render("{{ticket.customer.email}}", &ctx), "a@b.c");
        assert_eq!(render("[{{ticket.nope}}]", &ctx), "[]");
        assert_eq!(render("open {{ never closed", &ctx), "open {{ never closed");
    }
}
