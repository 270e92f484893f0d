//! The simulator's view filter language: an arbitrary expression is parsed (or rejected with a
//! message and a position inside the expression) and evaluated against a fixed ticket, never a
//! panic.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use perfectbot_sim::filter::{EvalCtx, eval, parse};
use serde_json::{Value, json};

static TICKET: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "id": 42,
        "external_id": "ext-1",
        "status": "open",
        "channel": "chat",
        "via": "chat",
        "priority": "normal",
        "spam": false,
        "subject": "Where is my order? ñ ü 東京",
        "language": "en",
        "tags": [{"id": 1, "name": "vip"}, {"id": 2, "name": "bot-handled"}],
        "assignee_user": {"id": 7, "email": "agent@example.com"},
        "assignee_team": null,
        "customer": {"id": 99, "email": "jane@example.org"},
        "created_datetime": "2024-02-14T21:31:12.367230+00:00",
        "updated_datetime": "2024-02-15T08:00:00",
        "opened_datetime": "2024-02-14T21:31:12+00:00",
        "closed_datetime": null,
        "snooze_datetime": null,
        "last_message_datetime": "2024-02-15T08:00:00+01:00",
        "last_received_message_datetime": "2024-02-15T07:59:00Z",
        "messages_count": 3
    })
});

fuzz_target!(|src: &str| {
    match parse(src) {
        Ok(expr) => {
            let ctx = EvalCtx { current_user_id: 7 };
            let _ = eval(&expr, &TICKET, &ctx);
            let _ = eval(&expr, &json!({}), &ctx);
            let _ = expr.to_string();
        }
        Err(e) => {
            assert!(!e.msg.is_empty(), "a filter error with no message");
            assert!(e.pos <= src.len(), "error position {} past the end", e.pos);
        }
    }
});
