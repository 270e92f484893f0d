//! HTTP tests of the simulator: a served `Sim` on 127.0.0.1:0 driven with reqwest.

use super::*;
use reqwest::Method;
use reqwest::header::HeaderMap;
use std::collections::BTreeSet;
use std::time::Instant;

struct Harness {
    sim: Sim,
    server: SimServer,
    seeded: Seeded,
    http: reqwest::Client,
}

struct Reply {
    status: u16,
    headers: HeaderMap,
    text: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
}

async fn start(opts: SimOptions) -> Harness {
    let sim = Sim::new(opts);
    let seeded = sim.seed_default();
    let server = sim
        .serve("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("serve");
    Harness {
        sim,
        server,
        seeded,
        http: reqwest::Client::new(),
    }
}

fn no_limit() -> SimOptions {
    SimOptions {
        rate_limit: None,
        ..SimOptions::default()
    }
}

impl Harness {
    async fn call_as(
        &self,
        who: Option<&SimUser>,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Reply {
        let mut rb = self
            .http
            .request(method, format!("{}{path}", self.server.base_url()));
        if let Some(u) = who {
            rb = rb.basic_auth(&u.email, Some(&u.api_key));
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.expect("request sent");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap_or_default();
        Reply {
            status,
            headers,
            text,
        }
    }
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.call_as(Some(&self.seeded.bot), method, path, body)
            .await
    }
    async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None).await
    }
    fn ticket(&self, customer: &str, assignee: Option<u64>, channel: &str) -> u64 {
        let c = self.sim.create_customer(customer, None);
        self.sim.create_ticket(NewTicket {
            customer_id: c,
            first_message: format!("hello from {customer}"),
            assignee_user: assignee,
            channel: channel.into(),
            ..NewTicket::default()
        })
    }
}

fn ids(v: &Value) -> BTreeSet<u64> {
    v["data"]
        .as_array()
        .expect("data list")
        .iter()
        .map(|t| t["id"].as_u64().expect("id"))
        .collect()
}

#[tokio::test]
async fn bad_or_missing_credentials_get_401_and_good_ones_identify_the_user() {
    let h = start(no_limit()).await;
    let r = h.call_as(None, Method::GET, "/api/users/0", None).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json(), json!({"error": {"msg": "Unauthorized."}}));

    let mut wrong = h.seeded.bot.clone();
    wrong.api_key = "nope".into();
    let r = h
        .call_as(Some(&wrong), Method::GET, "/api/users/0", None)
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"]["msg"], "Unauthorized.");

    let r = h.get("/api/users/0").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["id"], h.seeded.bot.id);
    assert_eq!(r.json()["role"]["name"], "bot");

    h.sim.add_token(h.seeded.agents[0].id, "tok-123");
    let r = h
        .http
        .get(format!("{}/api/users/0", h.server.base_url()))
        .bearer_auth("tok-123")
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status().as_u16(), 200);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["id"], h.seeded.agents[0].id);
    let r = h
        .http
        .get(format!("{}/api/users/0", h.server.base_url()))
        .bearer_auth("tok-999")
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status().as_u16(), 401);
    h.server.shutdown().await;
}

#[tokio::test]
async fn paths_work_with_and_without_trailing_slash_and_unknown_paths_404() {
    let h = start(no_limit()).await;
    let t = h.ticket("Ann", None, "chat");
    for p in ["/api/users/0", "/api/users/0/"] {
        assert_eq!(h.get(p).await.json()["id"], h.seeded.bot.id, "{p}");
    }
    for p in [format!("/api/tickets/{t}"), format!("/api/tickets/{t}/")] {
        assert_eq!(h.get(&p).await.json()["id"], t, "{p}");
    }
    assert_eq!(h.get("/api/tickets/").await.json()["object"], "list");
    let r = h.get("/api/nothing-here").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json(), json!({"error": {"msg": "Resource not found."}}));
    let r = h.get("/wrong/place").await;
    assert_eq!(r.status, 404);
    assert!(r.text.contains("<html"), "outside /api answers HTML");
    assert!(serde_json::from_str::<Value>(&r.text).is_err());
    h.server.shutdown().await;
}

#[tokio::test]
async fn a_non_json_body_is_rejected_with_400() {
    let h = start(no_limit()).await;
    let t = h.ticket("Ann", None, "chat");
    let r = h
        .http
        .put(format!("{}/api/tickets/{t}", h.server.base_url()))
        .basic_auth(&h.seeded.bot.email, Some(&h.seeded.bot.api_key))
        .header("content-type", "application/json")
        .body("status=closed")
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status().as_u16(), 400);
    let v: Value = r.json().await.expect("json error");
    assert!(v["error"]["msg"].is_string());
    assert_eq!(h.sim.ticket_json(t).expect("ticket")["status"], "open");
    h.server.shutdown().await;
}

#[tokio::test]
async fn ticket_pages_clamp_the_limit_and_end_with_a_null_cursor() {
    let h = start(no_limit()).await;
    let c = h.sim.create_customer("Many", None);
    let mut all = BTreeSet::new();
    for i in 0..120 {
        all.insert(h.sim.create_ticket(NewTicket {
            customer_id: c,
            first_message: format!("m{i}"),
            ..NewTicket::default()
        }));
    }
    let first = h.get("/api/tickets").await.json();
    assert_eq!(
        first["data"].as_array().expect("list").len(),
        30,
        "default 30"
    );

    let p1 = h
        .get("/api/tickets?limit=500&order_by=created_datetime:asc")
        .await
        .json();
    assert_eq!(p1["object"], "list");
    assert_eq!(
        p1["data"].as_array().expect("list").len(),
        100,
        "clamped to 100"
    );
    let compact = &p1["data"][0];
    assert!(compact.get("messages").is_none());
    assert_eq!(compact["messages_count"], 1);
    assert!(compact["excerpt"].is_string());
    assert!(p1["meta"]["prev_cursor"].is_null());
    let cursor = p1["meta"]["next_cursor"].as_str().expect("next cursor");
    let p2 = h
        .get(&format!(
            "/api/tickets?limit=100&order_by=created_datetime:asc&cursor={cursor}"
        ))
        .await
        .json();
    assert_eq!(p2["data"].as_array().expect("list").len(), 20);
    assert!(p2["meta"]["next_cursor"].is_null(), "last page");
    assert!(p2["meta"]["prev_cursor"].is_string());
    let seen: BTreeSet<u64> = ids(&p1).union(&ids(&p2)).copied().collect();
    assert_eq!(seen, all, "every ticket exactly once");

    for bad in [
        "limit=0",
        "limit=abc",
        "limit=-3",
        "cursor=garbled!!",
        "order_by=status:asc",
    ] {
        let r = h.get(&format!("/api/tickets?{bad}")).await;
        assert_eq!(r.status, 400, "{bad}");
        assert!(r.json()["error"]["msg"].is_string(), "{bad}");
    }
    h.server.shutdown().await;
}

const BOT_VIEW: &str = "eq(ticket.channel,'chat') && eq(ticket.status,'open') && eq(ticket.assignee_user.id,'{{current_user.id}}')";

#[tokio::test]
async fn a_view_returns_exactly_the_matching_tickets_for_the_current_user() {
    let h = start(no_limit()).await;
    let bot = h.seeded.bot.id;
    let agent = h.seeded.agents[0].id;
    let a = h.ticket("A", Some(bot), "chat");
    let b = h.ticket("B", Some(bot), "chat");
    h.sim.set_status(b, "closed");
    let _c = h.ticket("C", Some(bot), "email");
    let d = h.ticket("D", Some(agent), "chat");
    let _e = h.ticket("E", None, "chat");
    let f = h.ticket("F", Some(bot), "chat");

    let r = h
        .call(
            Method::POST,
            "/api/views",
            Some(
                json!({"name": "Bot inbox", "type": "ticket-list", "filters": BOT_VIEW,
                        "order_by": "updated_datetime", "order_dir": "desc"}),
            ),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let view_id = r.json()["id"].as_u64().expect("view id");
    assert_eq!(h.sim.views_json().len(), 1);

    let items = h.get(&format!("/api/views/{view_id}/items")).await.json();
    assert_eq!(ids(&items), BTreeSet::from([a, f]));
    let as_agent = h
        .call_as(
            Some(&h.seeded.agents[0]),
            Method::GET,
            &format!("/api/views/{view_id}/items/"),
            None,
        )
        .await
        .json();
    assert_eq!(ids(&as_agent), BTreeSet::from([d]));
    let via_tickets = h
        .get(&format!("/api/tickets?view_id={view_id}"))
        .await
        .json();
    assert_eq!(ids(&via_tickets), BTreeSet::from([a, f]));

    // Paging: next_items is a relative URL that works as is.
    let p1 = h
        .get(&format!("/api/views/{view_id}/items?limit=1"))
        .await
        .json();
    assert_eq!(
        p1["data"][0]["id"], f,
        "updated_datetime desc: newest first"
    );
    let next_items = p1["meta"]["next_items"].as_str().expect("next_items");
    assert!(next_items.starts_with(&format!("/api/views/{view_id}/items?cursor=")));
    assert!(next_items.contains("direction=next"));
    assert!(p1["meta"]["next_cursor"].is_string());
    let p2 = h.get(&format!("{next_items}&limit=1")).await.json();
    assert_eq!(p2["data"][0]["id"], a);
    assert!(p2["meta"]["next_items"].is_null());
    assert!(p2["meta"]["next_cursor"].is_null());

    // The same filter, ad hoc.
    let r = h
        .call(
            Method::PUT,
            "/api/views/0/items?limit=10",
            Some(json!({"view": {"type": "ticket-list", "filters": BOT_VIEW,
                                 "order_by": "updated_datetime", "order_dir": "desc"}})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(ids(&r.json()), BTreeSet::from([a, f]));
    h.server.shutdown().await;
}

#[tokio::test]
async fn a_malformed_filter_is_rejected_naming_the_problem() {
    let h = start(no_limit()).await;
    let r = h
        .call(
            Method::POST,
            "/api/views",
            Some(json!({"name": "Bad", "type": "ticket-list",
                        "filters": "eq(ticket.channel,'chat') && eq(ticket.status,'open'"})),
        )
        .await;
    assert_eq!(r.status, 400);
    let msg = r.json()["error"]["msg"].as_str().expect("msg").to_string();
    assert!(msg.contains("position") && msg.contains("')'"), "{msg}");
    assert!(r.json()["error"]["data"]["filters"].is_array());

    let r = h
        .call(
            Method::POST,
            "/api/views",
            Some(json!({"name": "No filter"})),
        )
        .await;
    assert_eq!(r.status, 400);
    let data = &r.json()["error"]["data"];
    assert_eq!(data["filters"][0], "Missing data for required field.");
    assert_eq!(data["type"][0], "Missing data for required field.");

    let r = h
        .call(
            Method::PUT,
            "/api/views/0/items",
            Some(json!({"view": {"type": "ticket-list", "filters": "eq(ticket.bogus, 1)"}})),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(r.text.contains("ticket.bogus"));
    assert!(h.sim.views_json().is_empty());
    h.server.shutdown().await;
}

#[tokio::test]
async fn the_bucket_sends_its_header_and_429s_with_retry_after_when_full() {
    let h = start(SimOptions {
        rate_limit: Some((3, Duration::from_secs(60))),
        ..SimOptions::default()
    })
    .await;
    let header = |r: &Reply| {
        r.headers
            .get("x-gorgias-account-api-call-limit")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    for i in 1..=3 {
        let r = h.get("/api/users/0").await;
        assert_eq!(r.status, 200);
        assert_eq!(header(&r).as_deref(), Some(format!("{i}/3").as_str()));
    }
    for _ in 0..2 {
        let r = h.get("/api/users/0").await;
        assert_eq!(r.status, 429);
        let retry: u64 = r
            .headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .expect("integer Retry-After");
        assert!(retry >= 1);
        assert!(r.json()["error"]["msg"].is_string());
        assert_eq!(
            header(&r).as_deref(),
            Some("3/3"),
            "429s do not fill the bucket"
        );
    }
    let s = h.sim.stats();
    assert_eq!(s.rate_limited, 2);
    assert_eq!(s.max_bucket_used, 3);
    assert_eq!(s.by_status.get(&200), Some(&3));
    assert_eq!(s.requests, 5);
    let log = h.sim.requests();
    assert_eq!(log.len(), 5);
    assert_eq!(log[0].user_id, Some(h.seeded.bot.id));
    assert_eq!(log[0].pattern, "/api/users/{id}");
    h.server.shutdown().await;
}

#[tokio::test]
async fn tag_endpoints_add_remove_and_replace_with_their_status_codes() {
    let h = start(no_limit()).await;
    let t = h.ticket("Ann", None, "chat");
    let names = |h: &Harness| -> Vec<String> {
        h.sim.ticket_json(t).expect("ticket")["tags"]
            .as_array()
            .expect("tags")
            .iter()
            .map(|g| g["name"].as_str().expect("name").to_string())
            .collect()
    };
    let path = format!("/api/tickets/{t}/tags");
    let r = h
        .call(Method::POST, &path, Some(json!({"names": ["vip", "VIP"]})))
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(names(&h), vec!["vip", "VIP"], "case-sensitive");
    let r = h
        .call(
            Method::POST,
            &path,
            Some(json!({"names": ["vip", "refund"]})),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(names(&h), vec!["vip", "VIP", "refund"]);
    let r = h
        .call(Method::DELETE, &path, Some(json!({"names": ["VIP"]})))
        .await;
    assert_eq!(r.status, 204);
    assert!(r.text.is_empty());
    assert_eq!(names(&h), vec!["vip", "refund"]);
    let r = h
        .call(Method::PUT, &path, Some(json!({"names": ["bot-handled"]})))
        .await;
    assert_eq!(r.status, 202);
    assert_eq!(names(&h), vec!["bot-handled"]);
    let r = h
        .call(Method::POST, &path, Some(json!({"tags": ["x"]})))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["error"]["data"]["names"][0],
        "Missing data for required field."
    );
    let found = h.get("/api/tags?search=vi").await.json();
    let found: BTreeSet<String> = found["data"]
        .as_array()
        .expect("list")
        .iter()
        .map(|g| g["name"].as_str().expect("name").to_string())
        .collect();
    assert_eq!(
        found,
        BTreeSet::from(["vip".to_string(), "VIP".to_string()])
    );
    h.server.shutdown().await;
}

#[tokio::test]
async fn a_customer_message_reopens_a_closed_ticket() {
    let h = start(no_limit()).await;
    let t = h.ticket("Ann", None, "chat");
    let customer = h.sim.ticket_json(t).expect("ticket")["customer"]["id"]
        .as_u64()
        .expect("customer id");
    let r = h
        .call(
            Method::PUT,
            &format!("/api/tickets/{t}"),
            Some(json!({"status": "closed"})),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status"], "closed");
    assert!(r.json()["closed_datetime"].is_string());
    let r = h
        .call(
            Method::POST,
            &format!("/api/tickets/{t}/messages"),
            Some(
                json!({"channel": "chat", "via": "api", "from_agent": false, "public": true,
                        "sender": {"id": customer}, "body_text": "me again"}),
            ),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let tj = h.sim.ticket_json(t).expect("ticket");
    assert_eq!(tj["status"], "open");
    assert!(tj["closed_datetime"].is_null());
    assert_eq!(
        tj["last_received_message_datetime"],
        r.json()["created_datetime"]
    );

    h.sim.set_status(t, "closed");
    h.sim.customer_says(t, "and again");
    assert_eq!(h.sim.ticket_json(t).expect("ticket")["status"], "open");
    h.server.shutdown().await;
}

#[tokio::test]
async fn updated_datetime_moves_on_every_change() {
    let h = start(no_limit()).await;
    let t = h.ticket("Ann", None, "chat");
    let bot = h.seeded.bot.id;
    let updated = |h: &Harness| {
        let v = h.sim.ticket_json(t).expect("ticket");
        filter::parse_datetime(v["updated_datetime"].as_str().expect("updated")).expect("dt")
    };
    let mut last = updated(&h);
    let steps: Vec<(Method, String, Value)> = vec![
        (
            Method::PUT,
            format!("/api/tickets/{t}"),
            json!({"status": "closed"}),
        ),
        (
            Method::PUT,
            format!("/api/tickets/{t}"),
            json!({"status": "open"}),
        ),
        (
            Method::POST,
            format!("/api/tickets/{t}/tags"),
            json!({"names": ["a"]}),
        ),
        (
            Method::PUT,
            format!("/api/tickets/{t}"),
            json!({"assignee_user": {"id": bot}}),
        ),
        (
            Method::PUT,
            format!("/api/tickets/{t}"),
            json!({"assignee_user": null}),
        ),
        (
            Method::POST,
            format!("/api/tickets/{t}/messages"),
            json!({"channel": "internal-note", "via": "api", "from_agent": true, "public": false,
                   "sender": {"id": bot}, "body_text": "note", "body_html": "<p>note</p>"}),
        ),
    ];
    for (m, p, b) in steps {
        let r = h.call(m, &p, Some(b.clone())).await;
        assert!(r.status < 300, "{p} {b}: {}", r.text);
        let now = updated(&h);
        assert!(now > last, "{p} {b} must move updated_datetime");
        last = now;
    }
    h.sim.customer_says(t, "hi");
    assert!(updated(&h) > last);
    let tj = h.sim.ticket_json(t).expect("ticket");
    let re = regex_like_datetime(tj["updated_datetime"].as_str().expect("string"));
    assert!(re, "{}", tj["updated_datetime"]);
    assert_eq!(tj["messages"].as_array().expect("messages").len(), 3);
    h.server.shutdown().await;
}

/// `2024-02-14T21:31:12.367230+00:00`
fn regex_like_datetime(s: &str) -> bool {
    s.len() == 32 && s.ends_with("+00:00") && s.as_bytes()[19] == b'.' && s.as_bytes()[10] == b'T'
}

#[tokio::test]
async fn a_message_missing_required_fields_is_rejected_field_by_field() {
    let h = start(no_limit()).await;
    let t = h.ticket("Ann", None, "chat");
    let r = h
        .call(
            Method::POST,
            &format!("/api/tickets/{t}/messages"),
            Some(json!({"body_text": "hello"})),
        )
        .await;
    assert_eq!(r.status, 400);
    let data = r.json()["error"]["data"].clone();
    for f in ["channel", "via", "from_agent", "sender", "public"] {
        assert_eq!(
            data[f][0], "Missing data for required field.",
            "{f}: {data}"
        );
    }
    let r = h
        .call(
            Method::POST,
            &format!("/api/tickets/{t}/messages"),
            Some(
                json!({"channel": "chat", "via": "api", "from_agent": true, "public": true,
                        "sender": {"id": 999_999}, "body_text": "x"}),
            ),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(r.json()["error"]["data"]["sender"].is_array());
    let r = h
        .call(
            Method::POST,
            &format!("/api/tickets/{t}/messages"),
            Some(
                json!({"channel": "chat", "via": "api", "from_agent": true, "public": true,
                        "sender": {"id": h.seeded.bot.id}}),
            ),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["error"]["data"]["body_text"][0],
        "Missing data for required field."
    );
    assert_eq!(
        h.sim.ticket_json(t).expect("ticket")["messages"]
            .as_array()
            .expect("messages")
            .len(),
        1,
        "nothing was added"
    );
    h.server.shutdown().await;
}

#[tokio::test]
async fn an_agent_reply_assigns_an_unassigned_ticket_unless_disabled() {
    let h = start(no_limit()).await;
    let t = h.ticket("Ann", None, "chat");
    let bot = h.seeded.bot.id;
    let reply = json!({"channel": "chat", "via": "api", "from_agent": true, "public": true,
                       "sender": {"id": bot}, "body_text": "Hi!", "body_html": "<p>Hi!</p>"});
    let note = json!({"channel": "internal-note", "via": "api", "from_agent": true,
                      "public": false, "sender": {"id": bot}, "body_text": "n"});
    let r = h
        .call(
            Method::POST,
            &format!("/api/tickets/{t}/messages"),
            Some(note),
        )
        .await;
    assert_eq!(r.status, 201);
    assert!(h.sim.ticket_json(t).expect("t")["assignee_user"].is_null());
    let r = h
        .call(
            Method::POST,
            &format!("/api/tickets/{t}/messages"),
            Some(reply.clone()),
        )
        .await;
    assert_eq!(r.status, 201);
    let m = r.json();
    assert!(m["sent_datetime"].is_string());
    assert_eq!(m["sender"]["id"], bot);
    assert_eq!(h.sim.ticket_json(t).expect("t")["assignee_user"]["id"], bot);

    h.sim.set_assign_on_reply(false);
    let t2 = h.ticket("Bob", None, "chat");
    h.call(
        Method::POST,
        &format!("/api/tickets/{t2}/messages"),
        Some(reply),
    )
    .await;
    assert!(h.sim.ticket_json(t2).expect("t")["assignee_user"].is_null());
    h.server.shutdown().await;
}

#[tokio::test]
async fn ticket_updates_accept_only_known_statuses_and_users() {
    let h = start(no_limit()).await;
    let t = h.ticket("Ann", None, "chat");
    let path = format!("/api/tickets/{t}");
    let r = h
        .call(Method::PUT, &path, Some(json!({"status": "snoozed"})))
        .await;
    assert_eq!(r.status, 400);
    assert!(r.json()["error"]["data"]["status"].is_array());
    let r = h
        .call(
            Method::PUT,
            &path,
            Some(json!({"assignee_user": {"id": 4242}})),
        )
        .await;
    assert_eq!(r.status, 400);
    let team = h.seeded.team_id;
    let r = h
        .call(
            Method::PUT,
            &path,
            Some(json!({"assignee_team": {"id": team}, "tags": [{"name": "x"}, {"name": "y"}]})),
        )
        .await;
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["assignee_team"]["id"], team);
    assert_eq!(v["tags"].as_array().expect("tags").len(), 2);
    assert!(v["messages"].is_array(), "PUT returns the full ticket");
    h.server.shutdown().await;
}

#[tokio::test]
async fn customer_email_updates_validate_and_conflict() {
    let h = start(no_limit()).await;
    let a = h.sim.create_customer("Ann", Some("ann@x.test"));
    let b = h.sim.create_customer("Bob", None);
    let r = h
        .call(
            Method::PUT,
            &format!("/api/customers/{b}"),
            Some(json!({"email": "ANN@x.test"})),
        )
        .await;
    assert_eq!(r.status, 409);
    assert!(r.json()["error"]["msg"].is_string());
    let r = h
        .call(
            Method::PUT,
            &format!("/api/customers/{b}"),
            Some(json!({"email": "not an email"})),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = h
        .call(
            Method::PUT,
            &format!("/api/customers/{b}"),
            Some(json!({"email": "bob@x.test"})),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(h.sim.customer_json(b).expect("b")["email"], "bob@x.test");
    assert_eq!(h.sim.customer_json(a).expect("a")["email"], "ann@x.test");
    h.server.shutdown().await;
}

#[tokio::test]
async fn injected_errors_follow_the_seed_and_a_storm_answers_429() {
    let h = start(no_limit()).await;
    h.sim.set_faults(Faults {
        error_rate: 0.5,
        ..Faults::default()
    });
    let mut statuses = Vec::new();
    for _ in 0..30 {
        statuses.push(h.get("/api/users/0").await.status);
    }
    assert!(statuses.iter().any(|s| [500, 502, 503].contains(s)));
    assert!(statuses.contains(&200));
    assert!(statuses.iter().all(|s| [200, 500, 502, 503].contains(s)));

    // The same seed, the same sequence.
    let h2 = start(no_limit()).await;
    h2.sim.set_faults(Faults {
        error_rate: 0.5,
        ..Faults::default()
    });
    let mut again = Vec::new();
    for _ in 0..30 {
        again.push(h2.get("/api/users/0").await.status);
    }
    assert_eq!(statuses, again);

    h.sim.set_faults(Faults {
        storm_for: Some(Duration::from_secs(60)),
        ..Faults::default()
    });
    let r = h.get("/api/users/0").await;
    assert_eq!(r.status, 429);
    let retry: u64 = r
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=60).contains(&retry));
    h.sim.set_faults(Faults::default());
    assert_eq!(h.get("/api/users/0").await.status, 200);
    h.server.shutdown().await;
    h2.server.shutdown().await;
}

#[tokio::test]
async fn malformed_and_reset_faults_break_the_body() {
    let h = start(no_limit()).await;
    h.sim.set_faults(Faults {
        malformed_rate: 1.0,
        ..Faults::default()
    });
    let r = h.get("/api/users/0").await;
    assert_eq!(r.status, 200);
    assert!(
        serde_json::from_str::<Value>(&r.text).is_err(),
        "{}",
        r.text
    );

    h.sim.set_faults(Faults {
        reset_rate: 1.0,
        ..Faults::default()
    });
    let res = h
        .http
        .get(format!("{}/api/users", h.server.base_url()))
        .basic_auth(&h.seeded.bot.email, Some(&h.seeded.bot.api_key))
        .send()
        .await;
    let broken = match res {
        Err(_) => true,
        Ok(r) => r.text().await.is_err(),
    };
    assert!(broken, "the body must fail to arrive whole");
    h.server.shutdown().await;
}

#[tokio::test]
async fn business_hours_come_in_the_configured_shape() {
    let h = start(no_limit()).await;
    let path = "/api/account/settings?type=business-hours";
    let v = h.get(path).await.json();
    assert_eq!(v["data"][0]["data"]["timezone"], "Europe/Paris");
    h.sim.set_business_hours_shape(HoursShape::BareArray);
    let v = h.get(path).await.json();
    assert_eq!(v[0]["type"], "business-hours");
    h.sim.set_business_hours_shape(HoursShape::LegacyObject);
    let v = h.get(path).await.json();
    assert_eq!(v["data"]["business_hours"][0]["days"], "1,2,3,4,5");
    let acct = h.get("/api/account").await.json();
    assert_eq!(acct["settings"][0]["type"], "business-hours");
    h.server.shutdown().await;
}

#[tokio::test]
async fn users_list_filters_by_role_and_reports_availability() {
    let h = start(no_limit()).await;
    h.sim.set_availability(h.seeded.agents[0].id, "online");
    let v = h
        .get("/api/users?roles=agent&relationships=availability_status")
        .await
        .json();
    let data = v["data"].as_array().expect("list");
    assert_eq!(data.len(), 2);
    assert_eq!(data[0]["availability_status"]["status"], "online");
    assert_eq!(data[1]["availability_status"]["status"], "offline");
    let v = h.get("/api/users?email=bot@perfectbot.test").await.json();
    assert_eq!(ids(&v), BTreeSet::from([h.seeded.bot.id]));
    let teams = h.get("/api/teams").await.json();
    assert_eq!(
        teams["data"][0]["members"]
            .as_array()
            .expect("members")
            .len(),
        2
    );
    h.server.shutdown().await;
}

#[tokio::test]
async fn http_integrations_need_a_url() {
    let h = start(no_limit()).await;
    let r = h
        .call(
            Method::POST,
            "/api/integrations",
            Some(json!({"name": "hook", "type": "http", "http": {"method": "POST"}})),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(r.json()["error"]["data"]["http.url"].is_array());
    let r = h
        .call(
            Method::POST,
            "/api/integrations",
            Some(json!({"name": "hook", "type": "http",
                        "http": {"url": "http://127.0.0.1:9/webhook", "method": "POST",
                                 "headers": {"X-Secret": "s"},
                                 "triggers": {"ticket-message-created": true}}})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(h.sim.integrations_json().len(), 2, "chat + http");
    h.server.shutdown().await;
}

#[tokio::test]
async fn in_process_messages_have_the_chat_shape() {
    let h = start(no_limit()).await;
    let t = h.ticket("Ann", None, "chat");
    h.sim.agent_says(t, h.seeded.agents[0].id, "hello");
    h.sim.rule_says(t, 77, "auto reply");
    let msgs = h
        .get(&format!(
            "/api/messages?ticket_id={t}&order_by=created_datetime:asc"
        ))
        .await
        .json();
    let m = msgs["data"].as_array().expect("list");
    assert_eq!(m.len(), 3);
    assert_eq!(m[0]["from_agent"], false);
    assert_eq!(m[0]["via"], "gorgias_chat");
    assert_eq!(m[0]["source"]["type"], "chat");
    assert_eq!(m[0]["integration_id"], h.seeded.chat_integration_id);
    assert_eq!(m[1]["via"], "helpdesk");
    assert_eq!(m[1]["source"]["to"][0], m[0]["source"]["from"]);
    assert_eq!(m[2]["via"], "rule");
    assert_eq!(m[2]["rule_id"], 77);
    // The agent (not the rule) got the ticket by replying.
    assert_eq!(
        h.sim.ticket_json(t).expect("t")["assignee_user"]["id"],
        h.seeded.agents[0].id
    );
    let ev = h
        .get("/api/events?types=ticket-message-created&order_by=created_datetime:asc")
        .await
        .json();
    assert_eq!(ev["data"].as_array().expect("events").len(), 3);
    h.server.shutdown().await;
}

#[tokio::test]
async fn http_integrations_receive_templated_webhooks() {
    use axum::extract::{Query as AxQuery, State as AxState};
    type Seen = Arc<Mutex<Vec<(Option<String>, Option<String>, Value)>>>;
    async fn hook(
        AxState(seen): AxState<Seen>,
        AxQuery(q): AxQuery<std::collections::HashMap<String, String>>,
        headers: axum::http::HeaderMap,
        axum::Json(body): axum::Json<Value>,
    ) -> &'static str {
        let secret = headers
            .get("x-secret")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        seen.lock()
            .expect("lock")
            .push((q.get("t").cloned(), secret, body));
        "ok"
    }
    let seen: Seen = Arc::default();
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(hook))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let receiver = tokio::spawn(async move { axum::serve(listener, app).await });

    let h = start(no_limit()).await;
    let t = h.ticket("Ann", None, "chat");
    let r = h
        .call(
            Method::POST,
            "/api/integrations",
            Some(json!({"name": "perfectbot", "type": "http",
                        "http": {"url": format!("http://127.0.0.1:{port}/hook?t={{{{ticket.id}}}}"),
                                 "method": "POST", "headers": {"X-Secret": "s3"},
                                 "form": {"ticket_id": "{{ticket.id}}", "event": "{{event.type}}"},
                                 "triggers": {"ticket-message-created": true}}})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    h.sim.customer_says(t, "ping");

    let deadline = Instant::now() + Duration::from_secs(10);
    while seen.lock().expect("lock").is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let got = seen.lock().expect("lock").clone();
    assert_eq!(got.len(), 1, "one message event, one delivery: {got:?}");
    let tid = t.to_string();
    assert_eq!(got[0].0.as_deref(), Some(tid.as_str()));
    assert_eq!(got[0].1.as_deref(), Some("s3"));
    assert_eq!(
        got[0].2,
        json!({"ticket_id": tid, "event": "ticket-message-created"})
    );
    // The simulator records the delivery once the receiver has answered.
    while h.sim.webhook_deliveries().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let deliveries = h.sim.webhook_deliveries();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].status, Some(200));
    h.server.shutdown().await;
    receiver.abort();
}

#[test]
fn datetimes_follow_the_injected_clock_and_can_drop_the_offset() {
    let at: jiff::Timestamp = "2024-02-14T21:31:12.367230Z".parse().expect("ts");
    let clock = perfectbot_clock::ManualClock::new(at);
    let sim = Sim::with_clock(SimOptions::default(), Arc::new(clock.clone()));
    let c = sim.create_customer("Ann", None);
    let t = sim.create_ticket(NewTicket {
        customer_id: c,
        first_message: "hi".into(),
        ..NewTicket::default()
    });
    let v = sim.ticket_json(t).expect("ticket");
    let created = v["created_datetime"].as_str().expect("created");
    assert!(created.starts_with("2024-02-14T21:31:12.3672"), "{created}");
    assert!(created.ends_with("+00:00"));
    clock.advance(jiff::SignedDuration::from_hours(1));
    sim.set_naive_datetimes(true);
    let m = sim.customer_says(t, "still there?");
    let v = sim.ticket_json(t).expect("ticket");
    let msg = v["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .find(|x| x["id"] == m)
        .expect("message")
        .clone();
    let sent = msg["created_datetime"].as_str().expect("created");
    assert!(sent.starts_with("2024-02-14T22:31:12"), "{sent}");
    assert!(!sent.contains('+') && !sent.ends_with('Z'), "{sent}");
    assert_eq!(
        v["updated_datetime"]
            .as_str()
            .map(|s| s.ends_with("+00:00")),
        Some(true)
    );
}
