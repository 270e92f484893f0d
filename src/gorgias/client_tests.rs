//! Client tests against a loopback fake Gorgias (wiremock on 127.0.0.1, port 0).

use super::*;
use crate::gorgias::body::TicketStatus;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Instant;
use wiremock::matchers::{body_json, header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const KEY: &str = "s3cr3t-key-do-not-print";

fn cfg(server: &MockServer) -> ClientConfig {
    ClientConfig {
        base_url: server.uri(),
        auth: Auth::Basic {
            email: "bot@example.com".into(),
            api_key: KEY.into(),
        },
        requests_per_window: 1000,
        window: Duration::from_secs(1),
        timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(2),
        max_body: 1 << 20,
        stall_timeout: Duration::from_secs(2),
        max_retries: 3,
        clock: std::sync::Arc::new(crate::clock::SystemClock),
    }
}

fn client(server: &MockServer) -> Client {
    Client::new(cfg(server)).unwrap()
}

/// Answers with the scripted responses in order (the last one repeats) and records when each
/// request arrived, measured on the server side.
#[derive(Clone)]
struct Script {
    responses: Arc<Mutex<VecDeque<ResponseTemplate>>>,
    last: Arc<Mutex<Option<ResponseTemplate>>>,
    arrivals: Arc<Mutex<Vec<Instant>>>,
}

impl Script {
    fn new(responses: Vec<ResponseTemplate>) -> Script {
        Script {
            responses: Arc::new(Mutex::new(responses.into())),
            last: Arc::new(Mutex::new(None)),
            arrivals: Arc::new(Mutex::new(Vec::new())),
        }
    }
    fn arrivals(&self) -> Vec<Instant> {
        self.arrivals.lock().unwrap().clone()
    }
}

impl Respond for Script {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        self.arrivals.lock().unwrap().push(Instant::now());
        let mut q = self.responses.lock().unwrap();
        let mut last = self.last.lock().unwrap();
        if let Some(r) = q.pop_front() {
            *last = Some(r.clone());
            r
        } else {
            last.clone().expect("a script has at least one response")
        }
    }
}

fn json_ok(v: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(v)
}

fn gorgias_error(status: u16, msg: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({"error": {"msg": msg}}))
}

async fn count(server: &MockServer, m: &str, p: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == m && r.url.path() == p)
        .count()
}

#[tokio::test]
async fn basic_auth_header_is_sent_and_correct() {
    let server = MockServer::start().await;
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("bot@example.com:{KEY}"))
    );
    Mock::given(method("GET"))
        .and(path("/api/users/0"))
        .and(header("authorization", expected.as_str()))
        .respond_with(json_ok(
            json!({"id": 42, "email": "bot@example.com", "unknown": 1}),
        ))
        .mount(&server)
        .await;
    let user = client(&server).current_user().await.unwrap();
    assert_eq!(user.id, 42);
}

#[tokio::test]
async fn bearer_auth_header_is_sent() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/users/0"))
        .and(header("authorization", "Bearer tok-123"))
        .respond_with(json_ok(json!({"id": 7})))
        .mount(&server)
        .await;
    let mut c = cfg(&server);
    c.auth = Auth::Bearer("tok-123".into());
    c.base_url = format!("{}/api/", server.uri()); // a trailing /api is tolerated
    assert_eq!(Client::new(c).unwrap().current_user().await.unwrap().id, 7);
}

#[tokio::test]
async fn unauthorized_carries_gorgias_msg() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(gorgias_error(401, "Unauthorized."))
        .mount(&server)
        .await;
    let err = client(&server).current_user().await.unwrap_err();
    match &err {
        GorgiasError::Unauthorized {
            method,
            path,
            status,
            msg,
        } => {
            assert_eq!(
                (method.as_str(), path.as_str(), *status, msg.as_str()),
                ("GET", "/api/users/0", 401, "Unauthorized.")
            );
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
    assert!(!err.is_transient());
    assert_eq!(
        count(&server, "GET", "/api/users/0").await,
        1,
        "a 401 is not retried"
    );
}

#[tokio::test]
async fn not_found_html_hints_at_base_url() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_raw("<html><body>No such page</body></html>", "text/html"),
        )
        .mount(&server)
        .await;
    match client(&server).ticket(99).await.unwrap_err() {
        GorgiasError::NotFound { path, msg, .. } => {
            assert_eq!(path, "/api/tickets/99");
            assert!(msg.contains("base_url"), "{msg}");
        }
        other => panic!("expected NotFound, got {other:?}"),
    }
}

#[tokio::test]
async fn conflict_on_set_customer_email() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path("/api/customers/5"))
        .and(body_json(json!({"email": "a@b.example"})))
        .respond_with(gorgias_error(409, "Email already used."))
        .mount(&server)
        .await;
    match client(&server)
        .set_customer_email(5, "a@b.example")
        .await
        .unwrap_err()
    {
        GorgiasError::Conflict { msg, .. } => assert_eq!(msg, "Email already used."),
        other => panic!("expected Conflict, got {other:?}"),
    }
}

#[tokio::test]
async fn bad_request_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(gorgias_error(422, "Invalid status."))
        .mount(&server)
        .await;
    let err = client(&server)
        .update_ticket(3, &TicketUpdate::close())
        .await
        .unwrap_err();
    assert!(
        matches!(err, GorgiasError::BadRequest { status: 422, .. }),
        "{err:?}"
    );
    assert_eq!(count(&server, "PUT", "/api/tickets/3").await, 1);
}

#[tokio::test]
async fn rate_limit_waits_retry_after_for_every_clone_then_succeeds() {
    let server = MockServer::start().await;
    let users = Script::new(vec![
        ResponseTemplate::new(429)
            .insert_header("Retry-After", "1")
            .set_body_string(""),
        json_ok(json!({"id": 1})),
    ]);
    let teams = Script::new(vec![json_ok(
        json!({"data": [{"id": 3}], "meta": {"next_cursor": null}}),
    )]);
    Mock::given(path("/api/users/0"))
        .respond_with(users.clone())
        .mount(&server)
        .await;
    Mock::given(path("/api/teams"))
        .respond_with(teams.clone())
        .mount(&server)
        .await;
    let c = client(&server);

    let first = tokio::spawn({
        let c = c.clone();
        async move { c.current_user().await }
    });
    // Once the 429 has been answered, another clone must not send anything either.
    let deadline = Instant::now() + Duration::from_secs(10);
    while c.stats().rate_limited == 0 {
        assert!(Instant::now() < deadline, "the 429 never arrived");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let other = c.clone().teams().await.unwrap();
    assert_eq!(other.len(), 1);
    assert_eq!(first.await.unwrap().unwrap().id, 1);

    let u = users.arrivals();
    assert_eq!(u.len(), 2);
    assert!(
        u[1] - u[0] >= Duration::from_millis(900),
        "retried after {:?}",
        u[1] - u[0]
    );
    let t = teams.arrivals();
    assert!(
        t[0] - u[0] >= Duration::from_millis(900),
        "clone sent after {:?}",
        t[0] - u[0]
    );
    let s = c.stats();
    assert_eq!((s.rate_limited, s.retries), (1, 1));
}

#[tokio::test]
async fn server_error_on_get_is_retried() {
    let server = MockServer::start().await;
    let script = Script::new(vec![
        gorgias_error(503, "busy"),
        json_ok(json!({"id": 9, "status": "open"})),
    ]);
    Mock::given(method("GET"))
        .and(path("/api/tickets/9"))
        .respond_with(script.clone())
        .mount(&server)
        .await;
    let c = client(&server);
    let t = c.ticket(9).await.unwrap();
    assert_eq!(t.id, 9);
    assert_eq!(script.arrivals().len(), 2);
    let s = c.stats();
    assert_eq!(
        (s.requests, s.status_5xx, s.status_2xx, s.retries),
        (2, 1, 1, 1)
    );
}

#[tokio::test]
async fn server_errors_give_up_after_max_retries() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(gorgias_error(500, "boom"))
        .mount(&server)
        .await;
    let mut c = cfg(&server);
    c.max_retries = 2;
    let err = Client::new(c).unwrap().ticket(1).await.unwrap_err();
    assert!(
        matches!(&err, GorgiasError::Server { status: 500, msg, .. } if msg == "boom"),
        "{err:?}"
    );
    assert_eq!(count(&server, "GET", "/api/tickets/1").await, 3);
}

fn landed_ticket(sender: u64, text: &str) -> Value {
    json!({"id": 5, "status": "open", "messages": [
        {"id": 100, "from_agent": false, "body_text": "old question", "created_datetime": "2020-01-01T00:00:00"},
        {"id": 101, "from_agent": true, "sender": {"id": sender}, "body_text": text,
         "created_datetime": jiff::Timestamp::now().to_string()}
    ]})
}

#[tokio::test]
async fn post_message_that_landed_despite_500_is_not_sent_again() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/tickets/5/messages"))
        .respond_with(gorgias_error(500, "oops"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/tickets/5"))
        .respond_with(json_ok(landed_ticket(9, "Hello there")))
        .mount(&server)
        .await;
    let m = client(&server)
        .post_message(5, &NewMessage::internal_note(9, "Hello there"))
        .await
        .unwrap();
    assert_eq!(m.id, 101);
    assert_eq!(count(&server, "POST", "/api/tickets/5/messages").await, 1);
}

#[tokio::test]
async fn post_message_that_did_not_land_is_sent_again() {
    let server = MockServer::start().await;
    let posts = Script::new(vec![
        gorgias_error(502, "bad gateway"),
        ResponseTemplate::new(201)
            .set_body_json(json!({"id": 300, "from_agent": true, "body_text": "Hi"})),
    ]);
    Mock::given(method("POST"))
        .and(path("/api/tickets/5/messages"))
        .respond_with(posts.clone())
        .mount(&server)
        .await;
    // An identical old message from the same sender is not ours: it is older than the send.
    Mock::given(method("GET"))
        .and(path("/api/tickets/5"))
        .respond_with(json_ok(json!({"id": 5, "messages": [
            {"id": 1, "from_agent": true, "sender": {"id": 9}, "body_text": "Hi", "created_datetime": "2020-01-01T00:00:00"}]})))
        .mount(&server)
        .await;
    let m = client(&server)
        .post_message(5, &NewMessage::internal_note(9, "Hi"))
        .await
        .unwrap();
    assert_eq!(m.id, 300);
    assert_eq!(posts.arrivals().len(), 2);
    assert_eq!(count(&server, "GET", "/api/tickets/5").await, 1);
}

#[tokio::test]
async fn post_message_resends_are_bounded() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(gorgias_error(500, "down"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(json_ok(json!({"id": 5, "messages": []})))
        .mount(&server)
        .await;
    let err = client(&server)
        .post_message(5, &NewMessage::internal_note(9, "x"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, GorgiasError::Server { status: 500, .. }),
        "{err:?}"
    );
    assert_eq!(
        count(&server, "POST", "/api/tickets/5/messages").await,
        1 + MESSAGE_RESENDS as usize
    );
}

#[tokio::test]
async fn post_message_sends_the_documented_body() {
    let server = MockServer::start().await;
    let customer: Message = serde_json::from_value(json!({
        "id": 1, "channel": "chat", "integration_id": 8, "from_agent": false,
        "source": {"type": "chat", "from": {"address": "c"}, "to": [{"address": "s"}]}}))
    .unwrap();
    Mock::given(method("POST"))
        .and(path("/api/tickets/5/messages"))
        .and(body_json(
            json!({"channel": "chat", "via": "api", "from_agent": true, "public": true,
            "sender": {"id": 9}, "body_text": "ok", "body_html": "<p>ok</p>", "integration_id": 8,
            "source": {"type": "chat", "from": {"address": "s"}, "to": [{"address": "c"}]}}),
        ))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({"id": 2, "from_agent": true})),
        )
        .mount(&server)
        .await;
    let m = client(&server)
        .post_message(5, &NewMessage::reply_to(&customer, 9, "ok"))
        .await
        .unwrap();
    assert_eq!(m.id, 2);
}

#[tokio::test]
async fn malformed_json_is_a_decode_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("{\"id\": 1,", "application/json"))
        .mount(&server)
        .await;
    match client(&server).current_user().await.unwrap_err() {
        GorgiasError::Decode { path, detail, .. } => {
            assert_eq!(path, "/api/users/0");
            assert!(detail.contains("EOF"), "serde's message: {detail}");
        }
        other => panic!("expected Decode, got {other:?}"),
    }
}

#[tokio::test]
async fn slow_response_is_a_timeout() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(json_ok(json!({"id": 1})).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let mut c = cfg(&server);
    c.timeout = Duration::from_millis(300);
    c.max_retries = 1;
    let err = Client::new(c).unwrap().current_user().await.unwrap_err();
    assert!(matches!(err, GorgiasError::Timeout { .. }), "{err:?}");
    assert!(err.is_transient());
}

#[tokio::test]
async fn connection_refused_is_a_transport_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let server = MockServer::start().await;
    let mut c = cfg(&server);
    c.base_url = format!("http://{addr}");
    c.max_retries = 0;
    let err = Client::new(c).unwrap().current_user().await.unwrap_err();
    assert!(
        matches!(
            err,
            GorgiasError::Transport { .. } | GorgiasError::Timeout { .. }
        ),
        "{err:?}"
    );
}

fn page(ids: &[u64], meta: Value) -> ResponseTemplate {
    let data: Vec<Value> = ids
        .iter()
        .map(|id| json!({"id": id, "status": "open"}))
        .collect();
    json_ok(json!({"object": "list", "data": data, "meta": meta}))
}

#[tokio::test]
async fn pagination_follows_next_cursor_across_three_pages() {
    let server = MockServer::start().await;
    let p = "/api/messages";
    Mock::given(path(p))
        .and(query_param("ticket_id", "5"))
        .and(query_param("order_by", "created_datetime:asc"))
        .and(query_param("limit", "100"))
        .and(query_param_is_missing("cursor"))
        .respond_with(page(
            &[1, 2],
            json!({"prev_cursor": null, "next_cursor": "c2"}),
        ))
        .mount(&server)
        .await;
    Mock::given(path(p))
        .and(query_param("cursor", "c2"))
        .respond_with(page(&[3], json!({"next_cursor": "c3"})))
        .mount(&server)
        .await;
    Mock::given(path(p))
        .and(query_param("cursor", "c3"))
        .respond_with(page(&[4, 5], json!({"next_cursor": null})))
        .mount(&server)
        .await;
    let msgs = client(&server).messages(5).await.unwrap();
    assert_eq!(
        msgs.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5]
    );
}

#[tokio::test]
async fn pagination_follows_next_items_across_three_pages() {
    let server = MockServer::start().await;
    let p = "/api/views/7/items";
    Mock::given(path(p))
        .and(query_param_is_missing("cursor"))
        .respond_with(page(
            &[1],
            json!({"next_items": "/api/views/7/items?cursor=x%2B1&direction=next"}),
        ))
        .mount(&server)
        .await;
    Mock::given(path(p))
        .and(query_param("cursor", "x+1"))
        .and(query_param("direction", "next"))
        .respond_with(page(
            &[2],
            json!({"next_items": "/api/views/7/items?direction=next&cursor=x2"}),
        ))
        .mount(&server)
        .await;
    Mock::given(path(p))
        .and(query_param("cursor", "x2"))
        .respond_with(page(&[3], json!({"next_items": null})))
        .mount(&server)
        .await;
    let items = client(&server).view_items(7).await.unwrap();
    assert_eq!(
        items.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
}

#[tokio::test]
async fn ad_hoc_view_puts_the_view_and_pages_in_the_query() {
    let server = MockServer::start().await;
    let body = json!({"view": {"type": "ticket-list", "filters": "eq(ticket.status, 'open')",
                               "order_by": "updated_datetime", "order_dir": "desc"}});
    Mock::given(method("PUT"))
        .and(path("/api/views/0/items"))
        .and(body_json(body.clone()))
        .and(query_param_is_missing("cursor"))
        .respond_with(page(&[1], json!({"next_cursor": "n"})))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/api/views/0/items"))
        .and(body_json(body))
        .and(query_param("cursor", "n"))
        .respond_with(page(&[2], json!({"next_cursor": null})))
        .mount(&server)
        .await;
    let items = client(&server)
        .ad_hoc_view_items("eq(ticket.status, 'open')", "updated_datetime")
        .await
        .unwrap();
    assert_eq!(items.len(), 2);
}

#[tokio::test]
async fn repeated_cursor_serves_the_pages_read_and_stops_paging() {
    let server = MockServer::start().await;
    Mock::given(path("/api/views/0/items"))
        .and(query_param_is_missing("cursor"))
        .respond_with(page(&[1], json!({"next_cursor": "a"})))
        .mount(&server)
        .await;
    Mock::given(path("/api/views/0/items"))
        .and(query_param("cursor", "a"))
        .respond_with(page(&[2], json!({"next_cursor": "a"})))
        .mount(&server)
        .await;
    let c = client(&server);
    let listed = c
        .ad_hoc_view_items_until("eq(ticket.status, 'open')", "updated_datetime", |_| false)
        .await
        .unwrap();
    assert_eq!(
        listed.items.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![1, 2],
        "the good pages are served"
    );
    assert!(
        !listed.complete,
        "nothing may be concluded from a list cut short"
    );
    assert_eq!(count(&server, "PUT", "/api/views/0/items").await, 2);
    // Said once, not on every poll.
    assert_eq!(c.inner.warned.lock().unwrap().len(), 1);
    c.ad_hoc_view_items("eq(ticket.status, 'open')", "updated_datetime")
        .await
        .unwrap();
    assert_eq!(c.inner.warned.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_bad_ticket_in_a_listing_is_skipped_and_the_rest_served() {
    let server = MockServer::start().await;
    let body = r#"{"data":[{"id":1,"status":"open"},
        {"id":2,"status":"open","excerpt":"\ud800","updated_datetime":"2024-01-02T00:00:00Z"},
        {"id":3,"status":"open","created_datetime":"not a date"}],"meta":{"next_cursor":null}}"#;
    Mock::given(path("/api/views/0/items"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/json"))
        .mount(&server)
        .await;
    let c = client(&server);
    let listed = c
        .ad_hoc_view_items_until("x", "updated_datetime", |_| false)
        .await
        .unwrap();
    assert_eq!(listed.items.iter().map(|t| t.id).collect::<Vec<_>>(), [1]);
    assert!(listed.complete);
    assert_eq!(
        listed.skipped.iter().map(|s| s.id).collect::<Vec<_>>(),
        [Some(2), Some(3)]
    );
    // Each bad item is logged once, however often it is listed.
    c.ad_hoc_view_items("x", "updated_datetime").await.unwrap();
    assert_eq!(c.inner.warned.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn an_undecodable_ticket_is_read_once_but_a_cut_short_one_again() {
    let server = MockServer::start().await;
    let bad = r#"{"id":9,"status":"open","messages":[{"id":1,"body_text":"\ud800"}]}"#;
    Mock::given(path("/api/tickets/9"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(bad, "application/json"))
        .mount(&server)
        .await;
    let cut = Script::new(vec![
        ResponseTemplate::new(200).set_body_raw(r#"{"id":8,"status":"op"#, "application/json"),
        json_ok(json!({"id": 8, "status": "open"})),
    ]);
    Mock::given(path("/api/tickets/8"))
        .respond_with(cut.clone())
        .mount(&server)
        .await;
    let c = client(&server);
    let err = c.ticket(9).await.unwrap_err();
    assert!(matches!(err, GorgiasError::Decode { .. }), "{err:?}");
    assert_eq!(count(&server, "GET", "/api/tickets/9").await, 1);
    assert_eq!(c.ticket(8).await.unwrap().id, 8);
    assert_eq!(cut.arrivals().len(), 2);
}

/// Replays arrivals through Gorgias's leaky bucket (capacity `limit`, leaking `limit` per
/// `window`) and returns the highest level it reached.
fn max_bucket_level(arrivals: &[Instant], limit: u32, window: Duration) -> f64 {
    let rate = f64::from(limit) / window.as_secs_f64();
    let (mut level, mut max) = (0.0f64, 0.0f64);
    let mut prev: Option<Instant> = None;
    for &t in arrivals {
        if let Some(p) = prev {
            level = (level - (t - p).as_secs_f64() * rate).max(0.0);
        }
        level += 1.0;
        max = max.max(level);
        prev = Some(t);
    }
    max
}

#[tokio::test]
async fn pacing_never_overflows_the_bucket() {
    let server = MockServer::start().await;
    let script = Script::new(vec![json_ok(json!({"id": 1}))]);
    Mock::given(method("GET"))
        .respond_with(script.clone())
        .mount(&server)
        .await;
    let mut c = cfg(&server);
    c.requests_per_window = 4;
    c.window = Duration::from_secs(2);
    let c = Client::new(c).unwrap();
    // Twelve requests from four clones at once: they share one bucket.
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..3 {
                c.current_user().await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut arrivals = script.arrivals();
    arrivals.sort();
    assert_eq!(arrivals.len(), 12);
    let level = max_bucket_level(&arrivals, 4, Duration::from_secs(2));
    assert!(level <= 4.0, "the server's bucket reached {level:.2} of 4");
    // Unpaced, twelve requests would have filled it to 12: the check above has teeth.
    assert!(max_bucket_level(&[arrivals[0]; 12], 4, Duration::from_secs(2)) > 4.0);
}

#[tokio::test]
async fn full_server_bucket_header_makes_the_client_wait() {
    let server = MockServer::start().await;
    let script = Script::new(vec![
        json_ok(json!({"id": 1})).insert_header("X-Gorgias-Account-Api-Call-Limit", "40/40"),
        json_ok(json!({"id": 1})).insert_header("X-Gorgias-Account-Api-Call-Limit", "10/40"),
    ]);
    Mock::given(method("GET"))
        .respond_with(script.clone())
        .mount(&server)
        .await;
    let mut c = cfg(&server);
    c.requests_per_window = 40;
    c.window = Duration::from_secs(20);
    let c = Client::new(c).unwrap();
    c.current_user().await.unwrap();
    c.current_user().await.unwrap();
    let a = script.arrivals();
    // 40/40 with 2 kept in reserve: wait for 3 requests to leak at 0.5 s each.
    assert!(
        a[1] - a[0] >= Duration::from_millis(1400),
        "second request after {:?}",
        a[1] - a[0]
    );
}

#[tokio::test]
async fn hostile_rate_headers_neither_panic_nor_block_the_client() {
    // `1e20/40` once panicked the pacer ("cannot convert float seconds to Duration").
    let server = MockServer::start().await;
    let script = Script::new(vec![
        json_ok(json!({"id": 1})).insert_header("X-Gorgias-Account-Api-Call-Limit", "1e20/40"),
        json_ok(json!({"id": 1})).insert_header("X-Gorgias-Account-Api-Call-Limit", "NaN/40"),
        ResponseTemplate::new(429)
            .insert_header("Retry-After", "1e20")
            .insert_header("X-Gorgias-Account-Api-Call-Limit", "40/0"),
        json_ok(json!({"id": 1})).insert_header(
            "X-Gorgias-Account-Api-Call-Limit",
            "99999999999999999999/40",
        ),
    ]);
    Mock::given(method("GET"))
        .respond_with(script.clone())
        .mount(&server)
        .await;
    let c = client(&server);
    for _ in 0..3 {
        assert_eq!(c.current_user().await.unwrap().id, 1);
    }
    assert_eq!(script.arrivals().len(), 4, "the 429 was retried once");
    // The unusable Retry-After fell back to the client's own short wait, not 1e20 s or the
    // 600 s cap.
    assert!(
        c.inner
            .pacer
            .blocked_until()
            .is_none_or(|t| { t <= tokio::time::Instant::now() + Duration::from_secs(2) })
    );
}

#[tokio::test]
async fn business_hours_accepts_every_shape_over_http() {
    let data = json!({"timezone": "Europe/Paris",
                      "business_hours": [{"days": "1,2,3", "from_time": "08:00", "to_time": "17:00"}]});
    let setting = json!({"type": "business-hours", "data": data});
    let older = json!({"type": "business-hours", "data": {"timezone": "Europe/Paris",
                       "business_hours": {"days": "1,2,3", "from_time": "08:00", "to_time": "17:00"}}});
    for shape in [
        json!([setting]),
        json!({"data": [setting]}),
        setting.clone(),
        older,
    ] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/account/settings"))
            .and(query_param("type", "business-hours"))
            .respond_with(json_ok(shape.clone()))
            .mount(&server)
            .await;
        let bh = client(&server)
            .business_hours()
            .await
            .unwrap()
            .expect("a setting");
        assert_eq!(bh.timezone, "Europe/Paris", "{shape}");
        assert_eq!(bh.business_hours.len(), 1, "{shape}");
        assert_eq!(bh.business_hours[0].days, "1,2,3");
    }
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(json_ok(json!([])))
        .mount(&server)
        .await;
    assert_eq!(client(&server).business_hours().await.unwrap(), None);
}

#[tokio::test]
async fn writes_send_partial_bodies() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path("/api/tickets/4"))
        .and(body_json(json!({"status": "open", "assignee_user": null})))
        .respond_with(json_ok(
            json!({"id": 4, "status": "open", "assignee_user": null}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/tickets/4/tags"))
        .and(body_json(json!({"names": ["bot", "Handover"]})))
        .respond_with(ResponseTemplate::new(201))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/api/tickets/4/tags"))
        .and(body_json(json!({"names": ["bot"]})))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let c = client(&server);
    let t = c
        .update_ticket(4, &TicketUpdate::unassign().with_status(TicketStatus::Open))
        .await
        .unwrap();
    assert!(t.is_open() && t.assignee_user.is_none());
    c.add_tags(4, &["bot".into(), "Handover".into()])
        .await
        .unwrap();
    c.remove_tags(4, &["bot".into()]).await.unwrap();
}

#[tokio::test]
async fn create_view_is_not_retried_on_server_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/views"))
        .respond_with(gorgias_error(500, "x"))
        .mount(&server)
        .await;
    let err = client(&server)
        .create_view(&NewView::ticket_list("Bot", "f", "updated_datetime"))
        .await
        .unwrap_err();
    assert!(matches!(err, GorgiasError::Server { .. }));
    assert_eq!(count(&server, "POST", "/api/views").await, 1);
}

#[tokio::test]
async fn users_can_ask_for_availability() {
    let server = MockServer::start().await;
    Mock::given(path("/api/users"))
        .and(query_param("relationships", "availability_status"))
        .respond_with(page(&[], json!({})).set_body_json(json!({"data": [
            {"id": 1, "availability_status": {"status": "online"}}], "meta": {"next_cursor": null}})))
        .mount(&server)
        .await;
    let users = client(&server).users(true).await.unwrap();
    assert_eq!(
        users[0].availability_status.as_ref().unwrap().status,
        "online"
    );
}

#[test]
fn debug_output_hides_the_key() {
    let auth = Auth::Basic {
        email: "bot@example.com".into(),
        api_key: KEY.into(),
    };
    let cfg = ClientConfig::new("https://acme.gorgias.com", auth.clone());
    let bearer = Auth::Bearer(KEY.into());
    for shown in [
        format!("{auth:?}"),
        format!("{cfg:?}"),
        format!("{bearer:?}"),
    ] {
        assert!(!shown.contains(KEY), "{shown}");
    }
    assert!(format!("{auth:?}").contains("bot@example.com"));
}

#[tokio::test]
async fn client_debug_hides_the_key() {
    let server = MockServer::start().await;
    let shown = format!("{:?}", client(&server));
    assert!(!shown.contains(KEY) && !shown.contains("Basic"), "{shown}");
}

#[test]
fn bad_configuration_is_refused() {
    let auth = Auth::Basic {
        email: "e".into(),
        api_key: "k".into(),
    };
    let bad = |f: fn(&mut ClientConfig)| {
        let mut c = ClientConfig::new("https://acme.gorgias.com", auth.clone());
        f(&mut c);
        matches!(Client::new(c), Err(GorgiasError::InvalidConfig { .. }))
    };
    assert!(bad(|c| c.base_url = "not a url".into()));
    assert!(bad(|c| c.base_url = "ftp://acme.gorgias.com".into()));
    assert!(bad(|c| c.requests_per_window = 0));
    assert!(bad(|c| c.timeout = Duration::ZERO));
    assert!(bad(|c| c.auth = Auth::Bearer("line\nbreak".into())));
    assert!(!bad(|_| {}));
}

/// The pieces of a body and the pause before each, made as they are sent.
type BodyParts = Box<dyn Iterator<Item = (Vec<u8>, Duration)> + Send>;

/// A raw loopback server for what wiremock cannot do (a body that stalls or never ends): every
/// connection gets `head`, then `body(i)` for the i-th request, written by `write_body`.
async fn raw_server(
    head: &'static str,
    write_body: fn(usize) -> BodyParts,
) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let served = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = served.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let i = count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let _ = sock.read(&mut buf).await;
                if sock.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                for (bytes, pause) in write_body(i) {
                    tokio::time::sleep(pause).await;
                    if sock.write_all(&bytes).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (format!("http://{addr}"), served)
}

fn raw_client(base: &str, tweak: impl FnOnce(&mut ClientConfig)) -> Client {
    let mut c = ClientConfig::new(
        base,
        Auth::Basic {
            email: "bot@example.com".into(),
            api_key: KEY.into(),
        },
    );
    c.requests_per_window = 1000;
    c.window = Duration::from_secs(1);
    tweak(&mut c);
    Client::new(c).unwrap()
}

#[tokio::test]
async fn a_stalled_body_fails_on_the_stall_timeout_not_the_total_timeout() {
    // Half a ticket, then silence for a minute: only the total timeout (60 s here) used to end
    // it; the stall timeout ends each attempt after 300 ms of silence.
    let (base, served) = raw_server(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n",
        |_| {
            Box::new(
                [
                    (b"{\"id\": 5, \"status\":".to_vec(), Duration::ZERO),
                    (b" \"open\"}".to_vec(), Duration::from_secs(60)),
                ]
                .into_iter(),
            )
        },
    )
    .await;
    let c = raw_client(&base, |c| {
        c.timeout = Duration::from_secs(60);
        c.stall_timeout = Duration::from_millis(300);
        c.max_retries = 1;
    });
    let err = c.ticket(5).await.unwrap_err();
    assert!(
        matches!(err, GorgiasError::Stalled { ref path, .. } if path == "/api/tickets/5"),
        "{err:?}"
    );
    assert!(err.is_transient(), "a stall is retried like a timeout");
    assert_eq!(served.load(Ordering::SeqCst), 2, "tried, then retried once");
}

fn endless_body(_: usize) -> BodyParts {
    // `{"data":[` then 400 MB of spaces (announced or chunked), made as they are sent: valid
    // JSON whitespace, so only the cap stops it.
    let head = std::iter::once((b"{\"data\":[".to_vec(), Duration::ZERO));
    Box::new(head.chain((0..6400).map(|_| (vec![b' '; 64 * 1024], Duration::ZERO))))
}

#[tokio::test]
async fn a_400_mb_listing_fails_cleanly_at_the_cap() {
    for head in [
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 419430400\r\n\r\n",
        // No length announced: the cap must stop it while reading.
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n",
    ] {
        let (base, served) = raw_server(head, endless_body).await;
        let c = raw_client(&base, |c| c.max_body = 1 << 20);
        let err = c.teams().await.unwrap_err();
        assert!(
            matches!(
                err,
                GorgiasError::TooLarge {
                    limit: 1_048_576,
                    ..
                }
            ),
            "{head:?}: {err:?}"
        );
        assert!(!err.is_transient());
        assert_eq!(
            served.load(Ordering::SeqCst),
            1,
            "not asked again at once: the next poll will"
        );
        assert!(err.to_string().contains("gorgias.max_body"), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_and_its_tags_go_before_queued_reads_and_polls() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(json_ok(json!({"id": 1, "status": "open"})))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/api/tickets/99"))
        .respond_with(json_ok(json!({"id": 99, "status": "closed"})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/tickets/99/tags"))
        .respond_with(json_ok(json!({})))
        .mount(&server)
        .await;
    let mut c = cfg(&server);
    // One slot every 500 ms once the burst of 3 is spent.
    c.requests_per_window = 4;
    c.window = Duration::from_secs(2);
    let c = Client::new(c).unwrap();
    for _ in 0..3 {
        c.current_user().await.unwrap();
    }
    let mut tasks = Vec::new();
    for id in 1..=6u64 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            c.ticket(id).await.unwrap();
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while c.inner.pacer.waiting()[0] < 5 {
        assert!(Instant::now() < deadline, "{:?}", c.inner.pacer.waiting());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let closer = {
        let c = c.clone();
        tokio::spawn(async move {
            c.add_tags(99, &["Auto-closed".to_owned()]).await.unwrap();
            c.update_ticket(99, &TicketUpdate::close()).await.unwrap();
        })
    };
    closer.await.unwrap();
    for t in tasks {
        t.await.unwrap();
    }
    let order: Vec<String> = server.received_requests().await.unwrap()[3..]
        .iter()
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect();
    assert_eq!(order.len(), 8, "{order:?}");
    let at = |m: &str| order.iter().position(|o| o == m).unwrap();
    // At most one read took its slot while the close was being queued; the tag write and the
    // close then took the next two slots, ahead of the other reads.
    assert!(at("POST /api/tickets/99/tags") <= 1, "{order:?}");
    assert_eq!(
        at("PUT /api/tickets/99"),
        at("POST /api/tickets/99/tags") + 1,
        "{order:?}"
    );
    assert_eq!(c.stats().rate_limited, 0);
}

#[tokio::test]
async fn view_pages_are_read_one_at_a_time_as_the_caller_asks() {
    let server = MockServer::start().await;
    let view = "/api/views/0/items";
    Mock::given(method("PUT"))
        .and(path(view))
        .and(query_param_is_missing("cursor"))
        .respond_with(page(&[1, 2], json!({"next_cursor": "c2"})))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(view))
        .and(query_param("cursor", "c2"))
        .respond_with(page(&[3], json!({"next_cursor": "c3"})))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(view))
        .and(query_param("cursor", "c3"))
        .respond_with(page(&[4], json!({"next_cursor": null})))
        .mount(&server)
        .await;
    let c = client(&server);
    let mut pages = c.ad_hoc_view_pages("eq(ticket.status, 'open')", "updated_datetime");
    let first = pages.next_page().await.unwrap().unwrap();
    assert_eq!(first.items.iter().map(|t| t.id).collect::<Vec<_>>(), [1, 2]);
    // Nothing is read ahead: one page asked for, one request sent.
    assert_eq!(count(&server, "PUT", view).await, 1);
    assert!(!pages.complete());
    let second = pages.next_page().await.unwrap().unwrap();
    assert_eq!(second.items[0].id, 3);
    assert_eq!(count(&server, "PUT", view).await, 2);
    let third = pages.next_page().await.unwrap().unwrap();
    assert_eq!(third.items[0].id, 4);
    assert!(pages.complete());
    assert!(pages.next_page().await.unwrap().is_none());
    assert_eq!(
        count(&server, "PUT", view).await,
        3,
        "no request past the end"
    );
}

#[tokio::test]
async fn view_pages_stop_on_a_repeated_cursor_and_say_the_list_is_not_complete() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path("/api/views/0/items"))
        .respond_with(page(&[1], json!({"next_cursor": "same"})))
        .mount(&server)
        .await;
    let c = client(&server);
    let mut pages = c.ad_hoc_view_pages("eq(ticket.status, 'open')", "updated_datetime");
    let mut read = 0;
    while let Some(p) = pages.next_page().await.unwrap() {
        read += p.items.len();
        assert!(read <= 10, "paging did not stop");
    }
    assert_eq!(read, 2, "the first page and the one whose cursor repeated");
    assert!(!pages.complete());
}
