//! Every row of the lifecycle table, end to end: simulator + daemon in-process.

use crate::common::*;
use perfectbot::ledger::TicketState;
use std::time::Duration;

const HANDLED: &str = "PerfectBot: Handled";
const AUTO_CLOSED: &str = "PerfectBot: Auto-closed";
const AGENT_REQUIRED: &str = "PerfectBot: Agent Required";
const AGENT_CHECK: &str = "PerfectBot: Agent Check Recommended";
const NOT_INVOLVED: &str = "PerfectBot: Not Involved";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_ticket_closes_after_close_after() {
    let app = spawn_app(|_, _| {}).await;
    let id = app.chat(Some("ada@example.org"), "How long does shipping take?");
    let row = app.wait_state(id, TicketState::Answered).await;
    assert_eq!(app.bot_replies(id).len(), 1, "one answer");
    let deadline = row.close_deadline.expect("close deadline armed");
    let t = app
        .wait_ticket(id, "closed", |t| t.status == "closed")
        .await;
    assert!(tag_names(&t).contains(&AUTO_CLOSED.to_string()));
    assert!(tag_names(&t).contains(&HANDLED.to_string()));
    // Closed at the deadline, not before.
    let closed_at = t.closed_datetime.or(t.updated_datetime).unwrap();
    assert!(
        closed_at >= deadline,
        "closed at {closed_at}, deadline {deadline}"
    );
    assert_eq!(
        app.wait_state(id, TicketState::Closed).await.state,
        TicketState::Closed
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_reply_before_close_is_answered_and_moves_the_close() {
    let app = spawn_app(|cfg, _| cfg.timing.close_after = Duration::from_secs(4)).await;
    let id = app.chat(
        Some("ben@example.org"),
        "What payment methods do you accept?",
    );
    let first = app.wait_state(id, TicketState::Answered).await;
    app.sim.customer_says(id, "How long does shipping take?");
    let t = app
        .wait_ticket(id, "second answer", |_| app.bot_replies(id).len() == 2)
        .await;
    assert_eq!(t.status, "open");
    let second = app.wait_state(id, TicketState::Answered).await;
    assert!(
        second.close_deadline > first.close_deadline,
        "the close moved"
    );
    app.wait_ticket(id, "closed", |t| t.status == "closed")
        .await;
    assert_eq!(app.bot_replies(id).len(), 2);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handover_on_request_collects_email_first() {
    let app = spawn_app(|_, _| {}).await;
    let id = app.chat(None, "Can I talk to a human please?");
    app.wait_state(id, TicketState::AwaitingEmail).await;
    assert_eq!(app.bot_replies(id).len(), 1, "asked for the email");
    app.sim.customer_says(id, "sure, it's cleo.m@example.org");
    let row = app.wait_state(id, TicketState::Escalated).await;
    assert_eq!(row.reason.map(|r| r.as_str()), Some("requested"));
    let t = app.ticket(id);
    assert!(tag_names(&t).contains(&AGENT_REQUIRED.to_string()));
    assert!(t.assignee_user.is_none(), "unassigned");
    assert_eq!(t.status, "open");
    assert_eq!(
        t.customer.as_ref().unwrap().email.as_deref(),
        Some("cleo.m@example.org")
    );
    assert_eq!(
        app.bot_replies(id).len(),
        2,
        "email request + handover message"
    );
    let notes = app.bot_notes(id);
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0].contains("requested") && notes[0].contains("cleo.m@example.org"),
        "{notes:?}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_email_within_email_wait_hands_over_anyway() {
    let app = spawn_app(|_, _| {}).await;
    let id = app.chat(None, "I want to speak to a real person");
    app.wait_state(id, TicketState::AwaitingEmail).await;
    let row = app.wait_state(id, TicketState::Escalated).await;
    assert_eq!(row.reason.map(|r| r.as_str()), Some("requested"));
    assert!(app.bot_notes(id)[0].contains("not given"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_knowledge_hands_over_with_agent_check() {
    let app = spawn_stepped(|_, _| {}).await;
    let id = app.chat(Some("dev@example.org"), "Do you sponsor football teams?");
    let row = app.wait_state(id, TicketState::Escalated).await;
    assert_eq!(row.reason.map(|r| r.as_str()), Some("no_knowledge"));
    let t = app.ticket(id);
    assert!(tag_names(&t).contains(&AGENT_CHECK.to_string()));
    assert!(t.assignee_user.is_none());
    assert_eq!(t.status, "open", "never closed");
    app.settle().await;
    assert_eq!(app.ticket(id).status, "open");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frustrated_customer_is_handed_over() {
    let app = spawn_app(|_, _| {}).await;
    let id = app.chat(
        Some("eve@example.org"),
        "THIS IS USELESS!!! Nothing works and nobody helps",
    );
    let row = app.wait_state(id, TicketState::Escalated).await;
    assert_eq!(row.reason.map(|r| r.as_str()), Some("frustrated"));
    assert!(tag_names(&app.ticket(id)).contains(&AGENT_REQUIRED.to_string()));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_involved_tag_keeps_the_bot_silent() {
    let app = spawn_stepped(|cfg, _| cfg.bot.opt_out_tags = vec!["ai_ignore".into()]).await;
    let a = app.chat_with(Some("f@example.org"), "Where is my order?", |t| {
        t.tags = vec![NOT_INVOLVED.into()]
    });
    let b = app.chat_with(Some("g@example.org"), "Where is my order?", |t| {
        t.tags = vec!["ai_ignore".into()]
    });
    app.wait_state(a, TicketState::Ignored).await;
    app.wait_state(b, TicketState::Ignored).await;
    app.sim.customer_says(a, "hello??");
    app.settle().await;
    for id in [a, b] {
        assert!(app.bot_replies(id).is_empty());
        assert!(app.bot_notes(id).is_empty());
        assert_eq!(app.ticket(id).assignee_user.unwrap().id, app.bot());
    }
    // Removing the tag brings the bot back for new messages.
    app.sim.remove_tags(b, &["ai_ignore"]);
    app.sim.customer_says(b, "How long does shipping take?");
    app.wait_state(b, TicketState::Answered).await;
    assert_eq!(app.bot_replies(b).len(), 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_takeover_silences_the_bot() {
    let app = spawn_stepped(|_, _| {}).await;
    let id = app.chat(Some("gus@example.org"), "How do I return an item?");
    app.wait_state(id, TicketState::Answered).await;
    app.sim.assign(id, Some(app.agent()), None);
    let row = app.wait_state(id, TicketState::Released).await;
    assert_eq!(row.close_deadline, None);
    app.sim.customer_says(id, "Thanks, and the return label?");
    app.advance(Duration::from_secs(3)); // past close_after
    app.settle().await;
    let t = app.ticket(id);
    assert_eq!(t.status, "open", "never closed under an agent");
    assert_eq!(app.bot_replies(id).len(), 1, "silent after the takeover");
    assert_eq!(t.assignee_user.unwrap().id, app.agent());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticket_returned_to_the_bot_is_answered_again() {
    let app = spawn_stepped(|_, _| {}).await;
    let id = app.chat(Some("dev@example.org"), "Do you sponsor football teams?");
    app.wait_state(id, TicketState::Escalated).await;
    // Still tagged: assigning it back is not enough.
    app.sim.assign(id, Some(app.bot()), None);
    app.sim.customer_says(id, "hello?");
    app.settle().await;
    assert_eq!(app.row(id).await.unwrap().state, TicketState::Escalated);
    let replies_before = app.bot_replies(id).len();
    // The agent answers, removes the tag: returned.
    app.sim.agent_says(id, app.agent(), "We don't, sorry!");
    app.sim.remove_tags(id, &[AGENT_CHECK]);
    let row = app.wait_state(id, TicketState::Active).await;
    assert!(row.returned_at.is_some());
    app.sim
        .customer_says(id, "Ok. How long does shipping take?");
    app.wait_state(id, TicketState::Answered).await;
    assert_eq!(
        app.bot_replies(id).len(),
        replies_before + 1,
        "answered only the new question"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticket_handled_by_a_gorgias_rule_is_released_with_not_involved() {
    let app = spawn_app(|_, _| {}).await;
    let id = app.chat(Some("h@example.org"), "Is my parcel insured?");
    // The rule speaks before the bot's first poll sees the ticket.
    app.sim
        .rule_says(id, 77, "Thanks for reaching out! (auto-reply)");
    let row = app.wait_state(id, TicketState::Ignored).await;
    assert_eq!(row.reason.map(|r| r.as_str()), Some("rule"));
    let t = app.ticket(id);
    assert!(tag_names(&t).contains(&NOT_INVOLVED.to_string()));
    assert!(
        t.assignee_user.is_none(),
        "released, not left with a silent bot"
    );
    assert!(app.bot_replies(id).is_empty());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_channel_ticket_is_left_alone() {
    let app = spawn_stepped(|_, _| {}).await;
    let id = app.chat_with(Some("i@example.org"), "Please send me an invoice", |t| {
        t.channel = "email".into();
        t.via = "email".into();
    });
    app.wait_state(id, TicketState::Ignored).await;
    app.settle().await;
    let t = app.ticket(id);
    assert!(app.bot_replies(id).is_empty());
    assert!(t.tags.is_empty());
    assert_eq!(t.assignee_user.unwrap().id, app.bot());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_writing_after_the_close_gets_the_bot_again() {
    let app = spawn_app(|_, _| {}).await;
    let id = app.chat(Some("j@example.org"), "How long does shipping take?");
    app.wait_ticket(id, "closed", |t| t.status == "closed")
        .await;
    app.wait_state(id, TicketState::Closed).await;
    app.sim
        .customer_says(id, "What payment methods do you accept?");
    assert_eq!(app.ticket(id).status, "open", "Gorgias reopens it");
    app.wait_ticket(id, "a second answer", |_| app.bot_replies(id).len() == 2)
        .await;
    app.wait_ticket(id, "closed again", |t| t.status == "closed")
        .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_reply_without_reassignment_hands_the_ticket_to_that_agent() {
    let app = spawn_stepped(|_, _| {}).await;
    let id = app.chat(Some("k@example.org"), "How long does shipping take?");
    app.wait_state(id, TicketState::Answered).await;
    app.sim
        .agent_says(id, app.agent(), "Let me check that for you personally.");
    let row = app.wait_state(id, TicketState::Released).await;
    assert_eq!(row.reason.map(|r| r.as_str()), Some("agent_replied"));
    let t = app.ticket(id);
    assert_eq!(t.assignee_user.unwrap().id, app.agent());
    app.advance(Duration::from_secs(3)); // past close_after
    app.settle().await;
    assert_eq!(app.ticket(id).status, "open", "not closed under the agent");
    assert_eq!(app.bot_replies(id).len(), 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handover_assigns_to_the_configured_team() {
    let app = spawn_app(|cfg, seeded| cfg.handover.assign_team_id = Some(seeded.team_id)).await;
    let team = app.seeded.team_id;
    let id = app.chat(Some("l@example.org"), "talk to a human");
    app.wait_state(id, TicketState::Escalated).await;
    let t = app.ticket(id);
    assert_eq!(t.assignee_team.map(|x| x.id), Some(team));
    assert!(
        t.assignee_user.is_none() || t.assignee_user.as_ref().is_some_and(|u| u.id != app.bot())
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handover_message_fits_business_hours() {
    // Open 09:00-18:00 every day, but today and tomorrow are holidays: after hours for sure,
    // and the next opening is the day after tomorrow at 09:00.
    let today = jiff::Timestamp::now().in_tz("Europe/Paris").unwrap().date();
    let tomorrow = today.tomorrow().unwrap();
    let (sim, server, seeded) = start_sim(relaxed_sim()).await;
    sim.set_business_hours(serde_json::json!({
        "timezone": "Europe/Paris",
        "business_hours": [{"days": "1,2,3,4,5,6,7", "from_time": "09:00", "to_time": "18:00"}]
    }));
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config_for(&server, &seeded, dir.path());
    cfg.business_hours.holidays = vec![today, tomorrow];
    let running = start_daemon(cfg).await;
    let id = crate::common::bot_chat(&sim, seeded.bot.id, "owl@example.org", "talk to a human");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let t: perfectbot::gorgias::Ticket =
            serde_json::from_value(sim.ticket_json(id).unwrap()).unwrap();
        if let Some(m) = t
            .messages
            .iter()
            .find(|m| m.from_agent && !m.is_internal_note())
        {
            let text = m.text();
            assert!(
                text.contains("09:00"),
                "the after-hours message names the next opening: {text}"
            );
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no handover message");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    running.stop().await;
}

/// A responder whose backend is down.
struct Broken(std::sync::atomic::AtomicUsize);

impl perfectbot::responder::Responder for Broken {
    fn name(&self) -> &str {
        "broken"
    }
    fn answer<'a>(
        &'a self,
        _turn: &'a perfectbot::responder::Turn,
    ) -> perfectbot::responder::AnswerFuture<'a> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Box::pin(async {
            Err(perfectbot::responder::ResponderError::Unavailable {
                responder: "broken".into(),
                detail: "backend down".into(),
            })
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_responder_is_retried_then_hands_over_after_answer_deadline() {
    let broken = std::sync::Arc::new(Broken(Default::default()));
    let b = broken.clone();
    let app = spawn_app_with(|_, _| {}, move |d| d.responder(b)).await;
    let id = app.chat(Some("m@example.org"), "How long does shipping take?");
    let started = std::time::Instant::now();
    let row = app.wait_state(id, TicketState::Escalated).await;
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "not before answer_deadline (3 s)"
    );
    assert_eq!(row.reason.map(|r| r.as_str()), Some("error"));
    assert!(
        broken.0.load(std::sync::atomic::Ordering::SeqCst) >= 2,
        "retried before giving up"
    );
    let t = app.ticket(id);
    assert!(tag_names(&t).contains(&AGENT_CHECK.to_string()));
    assert_eq!(t.status, "open", "never closed instead of answered");
    assert_eq!(
        app.bot_replies(id).len(),
        1,
        "one handover message, nothing else"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_handover_phrases_extend_the_built_in_lists() {
    let app = spawn_app(|cfg, _| {
        cfg.bot.handover_phrases = vec!["send in the cavalry".into()];
        cfg.bot.frustration_phrases = vec!["what a circus".into()];
    })
    .await;
    let asked = app.chat(
        Some("n@example.org"),
        "Please send in the cavalry about my parcel",
    );
    let angry = app.chat(
        Some("o@example.org"),
        "What a circus, my parcel went to the wrong town",
    );
    assert_eq!(
        app.wait_state(asked, TicketState::Escalated)
            .await
            .reason
            .map(|r| r.as_str()),
        Some("requested")
    );
    assert_eq!(
        app.wait_state(angry, TicketState::Escalated)
            .await
            .reason
            .map(|r| r.as_str()),
        Some("frustrated")
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn french_ticket_is_handed_over_in_french() {
    use perfectbot::config::MessageTemplates;
    let app = spawn_app(|_, _| {}).await;
    let fr = MessageTemplates::builtin("fr").unwrap();
    let en = MessageTemplates::english();
    let french = app.chat_with(
        None,
        "Bonjour, je voudrais parler à un conseiller s'il vous plaît",
        |t| t.language = Some("fr-FR".into()),
    );
    let swedish = app.chat_with(Some("sven@example.org"), "Can I talk to a human?", |t| {
        t.language = Some("sv".into())
    });
    app.wait_state(french, TicketState::AwaitingEmail).await;
    assert_eq!(app.bot_replies(french), vec![fr.email_request.clone()]);
    app.sim
        .customer_says(french, "oui, c'est camille@example.org");
    app.wait_state(french, TicketState::Escalated).await;
    let replies = app.bot_replies(french);
    assert_eq!(replies.len(), 2, "{replies:?}");
    assert!(
        replies[1] == fr.online || replies[1] == fr.no_agents,
        "not the French handover message: {replies:?}"
    );
    // A language without messages of its own gets the default (English) ones.
    app.wait_state(swedish, TicketState::Escalated).await;
    let replies = app.bot_replies(swedish);
    assert!(
        replies.len() == 1 && (replies[0] == en.online || replies[0] == en.no_agents),
        "{replies:?}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thanks_after_an_answer_gets_no_reply_and_the_ticket_still_closes() {
    let app = spawn_app(|cfg, _| cfg.timing.close_after = Duration::from_secs(4)).await;
    let id = app.chat(Some("cy@example.org"), "How long does shipping take?");
    let answered = app.wait_state(id, TicketState::Answered).await;
    let thanks = app.sim.customer_says(id, "perfect, thanks! 👍");
    // Wait until the daemon has handled the thanks (its watermark moves past it).
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let row = loop {
        let r = app.row(id).await.expect("row");
        if r.last_customer_msg_id == Some(thanks) {
            break r;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "thanks never handled: {r:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        row.state,
        TicketState::Answered,
        "small talk is not a handover"
    );
    assert!(
        row.close_deadline > answered.close_deadline,
        "the close re-armed"
    );
    let t = app
        .wait_ticket(id, "closed", |t| t.status == "closed")
        .await;
    assert_eq!(app.bot_replies(id).len(), 1, "no reply to the thanks");
    let tags = tag_names(&t);
    assert!(tags.contains(&HANDLED.to_string()), "{tags:?}");
    assert!(tags.contains(&AUTO_CLOSED.to_string()), "{tags:?}");
    assert!(!tags.iter().any(|t| t.contains("Agent")), "{tags:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_greeting_gets_a_courtesy_reply_then_the_question_is_answered() {
    let app = spawn_app(|cfg, _| cfg.timing.close_after = Duration::from_secs(2)).await;
    let id = app.chat(Some("di@example.org"), "hello?");
    app.wait_ticket(id, "courtesy reply", |_| app.bot_replies(id).len() == 1)
        .await;
    assert_eq!(app.bot_replies(id)[0], "Hello! How can I help you today?");
    let row = app.wait_state(id, TicketState::Answered).await;
    assert_eq!(row.answers, 0, "a courtesy is not an answer");
    assert!(!tag_names(&app.ticket(id)).contains(&HANDLED.to_string()));
    app.sim.customer_says(id, "How long does shipping take?");
    app.wait_ticket(id, "the answer", |_| app.bot_replies(id).len() == 2)
        .await;
    app.wait_ticket(id, "Handled with the close's tags", |t| {
        t.status == "closed" && tag_names(t).contains(&HANDLED.to_string())
    })
    .await;
    app.stop().await;
}

/// Every request one answered-then-closed conversation costs, by route, besides list polls:
/// a read to decide (the knowledge base answers within `ANSWER_GRACE` of it, so the reply is
/// written on that read), the reply, then a read before the close, one tag write carrying
/// Handled and Auto-closed, the close. Five.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answered_then_closed_conversation_writes_its_tags_once_and_costs_five_requests() {
    let app = spawn_app(|cfg, _| cfg.timing.close_after = Duration::from_secs(2)).await;
    let before = app.sim.requests().len();
    let id = app.chat(Some("ada@example.org"), "How long does shipping take?");
    app.wait_ticket(id, "closed", |t| t.status == "closed")
        .await;
    app.wait_state(id, TicketState::Closed).await;
    let t = app.ticket(id);
    assert!(tag_names(&t).contains(&HANDLED.to_string()));
    assert!(tag_names(&t).contains(&AUTO_CLOSED.to_string()));
    let own = format!("/api/tickets/{id}");
    let mut by_route = std::collections::BTreeMap::<String, u32>::new();
    let mut shared = std::collections::BTreeMap::<String, u32>::new();
    for r in &app.sim.requests()[before..] {
        let route = format!("{} {}", r.method, r.pattern);
        if r.path.trim_end_matches('/') == own || r.path.starts_with(&format!("{own}/")) {
            *by_route.entry(route).or_default() += 1;
        } else {
            *shared.entry(route).or_default() += 1;
        }
    }
    eprintln!("this conversation's requests by route: {by_route:?}; shared: {shared:?}");
    // Besides its own, only list polls: presence (`GET /api/users`) is read only when a plan
    // depends on it (a handover), and this conversation has none.
    for route in shared.keys() {
        assert!(
            route == "PUT /api/views/{id}/items",
            "unexpected request {route}: {shared:?}"
        );
    }
    assert_eq!(
        by_route.get("GET /api/tickets/{id}"),
        Some(&2),
        "a read to answer, a read to close: {by_route:?}"
    );
    assert_eq!(
        by_route.get("POST /api/tickets/{id}/tags"),
        Some(&1),
        "one tag write: {by_route:?}"
    );
    assert_eq!(
        by_route.get("POST /api/tickets/{id}/messages"),
        Some(&1),
        "{by_route:?}"
    );
    assert_eq!(
        by_route.get("PUT /api/tickets/{id}"),
        Some(&1),
        "{by_route:?}"
    );
    let total: u32 = by_route.values().sum();
    assert!(total <= 5, "{total} requests: {by_route:?}");
    app.stop().await;
}

/// Answers "Answer to: <the turn>" once the gate is open; until then every call waits.
struct Gated(tokio::sync::watch::Receiver<bool>);

impl perfectbot::responder::Responder for Gated {
    fn name(&self) -> &str {
        "gated"
    }
    fn answer<'a>(
        &'a self,
        turn: &'a perfectbot::responder::Turn,
    ) -> perfectbot::responder::AnswerFuture<'a> {
        Box::pin(async move {
            let mut open = self.0.clone();
            let _ = open.wait_for(|o| *o).await;
            Ok(perfectbot::responder::Outcome::Answer {
                text: format!("Answer to: {}", turn.text()),
                sources: vec!["test".into()],
                score: 1.0,
            })
        })
    }
}

/// An answer that is not ready within `ANSWER_GRACE` of the read it was asked from is not
/// written on that read: it is decided on a fresh read when it comes, and a customer who wrote
/// meanwhile is answered for the turn as it is then, never for the turn that changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_answer_is_decided_on_a_fresh_read_and_never_answers_a_changed_turn() {
    let (gate, open) = tokio::sync::watch::channel(false);
    let (sim, _server, seeded) = start_sim(relaxed_sim()).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_for(&_server, &seeded, dir.path());
    let daemon = perfectbot::daemon::Daemon::builder(
        cfg,
        std::sync::Arc::new(perfectbot::clock::SystemClock),
    )
    .responder(std::sync::Arc::new(Gated(open)))
    .build()
    .await
    .unwrap();
    let cancel = tokio_util::sync::CancellationToken::new();
    let id = bot_chat(
        &sim,
        seeded.bot.id,
        "slow@example.org",
        "How long does shipping take?",
    );
    let own = format!("/api/tickets/{id}");
    let reads = || {
        sim.requests()
            .iter()
            .filter(|r| r.method == "GET" && r.path.trim_end_matches('/') == own)
            .count()
    };
    // The poll reads the ticket and asks; the gate holds the answer past the grace.
    daemon.poll_pass(&cancel).await.unwrap();
    assert_eq!(reads(), 1);
    let ticket: perfectbot::gorgias::Ticket =
        serde_json::from_value(sim.ticket_json(id).unwrap()).unwrap();
    assert!(
        !ticket.messages.iter().any(|m| m.from_agent),
        "nothing written while the answer is not there"
    );
    // The customer writes while the call runs, then the answer to the old turn comes.
    sim.customer_says(id, "Also, can I pay with PayPal?");
    gate.send(true).unwrap();
    let mut stats = perfectbot::daemon::PassStats::default();
    daemon.settle_answers(&cancel, &mut stats).await.unwrap();
    assert!(reads() >= 2, "the slow answer was decided on a fresh read");
    let ticket: perfectbot::gorgias::Ticket =
        serde_json::from_value(sim.ticket_json(id).unwrap()).unwrap();
    let replies: Vec<String> = ticket
        .messages
        .iter()
        .filter(|m| m.from_agent && !m.is_internal_note())
        .map(|m| m.text().into_owned())
        .collect();
    assert_eq!(replies.len(), 1, "one reply: {replies:?}");
    assert!(
        replies[0].contains("PayPal") && replies[0].contains("shipping"),
        "the reply answers the turn as it is now, both messages: {replies:?}"
    );
}

/// An agent tags the ticket between the bot's read and its write: the bot's tag write adds
/// to the tags (it never replaces them), so the agent's tag survives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agents_tag_set_between_the_bots_read_and_write_survives() {
    use perfectbot::engine::{Answering, Availability, Input, decide};
    // The daemon answers; its own close is an hour away, so the close below is the test's.
    let app = spawn_app(|cfg, _| cfg.timing.close_after = Duration::from_secs(3600)).await;
    let id = app.chat(Some("ada@example.org"), "How long does shipping take?");
    let row = app.wait_state(id, TicketState::Answered).await;
    let deadline = row.close_deadline.expect("close armed");
    // The bot's read.
    let read = app.daemon.client().ticket(id).await.unwrap();
    // The agent's tag lands after it.
    app.sim.add_tags(id, &["VIP"]);
    let now = deadline + jiff::SignedDuration::from_secs(1);
    let plan = decide(
        &Input {
            ticket: &read,
            row: Some(&row),
            now,
            availability: &Availability::Online,
            answer: Answering::NotAsked,
        },
        app.daemon.policy(),
    );
    assert!(
        plan.steps.iter().any(|s| s.action
            == perfectbot::engine::Action::AddTags(vec![HANDLED.into(), AUTO_CLOSED.into()])),
        "one tag write carries both: {:?}",
        plan.steps
    );
    app.daemon
        .executor()
        .execute(&read, &plan, now)
        .await
        .unwrap();
    let tags = tag_names(&app.ticket(id));
    for tag in ["VIP", HANDLED, AUTO_CLOSED] {
        assert!(tags.contains(&tag.to_string()), "{tag} lost: {tags:?}");
    }
    assert_eq!(app.ticket(id).status, "closed");
    app.stop().await;
}
