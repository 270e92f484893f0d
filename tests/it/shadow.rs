//! Shadow mode: the engine runs on live tickets but only posts internal notes saying what it
//! would do and tags them Preview; it never replies, closes, assigns or adds other tags.

use crate::common::*;
use perfectbot::config::Mode;
use perfectbot::ledger::TicketState;
use std::time::Duration;

const PREVIEW: &str = "PerfectBot: Preview";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shadow_mode_only_posts_notes_and_the_preview_tag() {
    let app = spawn_app(|cfg, _| cfg.bot.mode = Mode::Shadow).await;
    let answered = app.chat(Some("a@example.org"), "How long does shipping take?");
    let human = app.chat(None, "I want to talk to a human");
    let unknown = app.chat(Some("c@example.org"), "Do you sponsor football teams?");
    let rule = app.chat(Some("d@example.org"), "Is my parcel insured?");
    app.sim.rule_says(rule, 77, "Automatic reply");

    // The answered ticket goes through its whole life in notes: answer, then close.
    app.wait_state(answered, TicketState::Answered).await;
    app.wait_ticket(answered, "a 'would close' note", |_| {
        app.bot_notes(answered).iter().any(|n| n.contains("closed"))
    })
    .await;
    app.wait_state(human, TicketState::AwaitingEmail).await;
    app.wait_state(unknown, TicketState::Escalated).await;
    app.wait_state(rule, TicketState::Ignored).await;
    app.settle().await;

    for id in [answered, human, unknown, rule] {
        let t = app.ticket(id);
        assert!(
            app.bot_replies(id).is_empty(),
            "ticket {id}: a public reply in shadow mode"
        );
        assert_eq!(t.status, "open", "ticket {id}: closed in shadow mode");
        assert_eq!(
            t.assignee_user.as_ref().map(|u| u.id),
            Some(app.bot()),
            "ticket {id}: reassigned"
        );
        assert_eq!(
            tag_names(&t),
            vec![PREVIEW.to_string()],
            "ticket {id}: only the Preview tag"
        );
        let notes = app.bot_notes(id);
        assert!(!notes.is_empty(), "ticket {id}: no note");
        assert!(
            notes
                .iter()
                .all(|n| n.starts_with("PerfectBot (shadow mode) would:")),
            "{notes:?}"
        );
    }
    let notes = app.bot_notes(answered).join("\n");
    assert!(
        notes.contains("reply: Orders leave our warehouse"),
        "{notes}"
    );
    assert!(
        app.bot_notes(unknown)
            .join("\n")
            .contains("Agent Check Recommended")
    );
    // One note per decision: the answer and the close, nothing repeated.
    assert_eq!(
        app.bot_notes(answered).len(),
        2,
        "{:?}",
        app.bot_notes(answered)
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_to_live_answers_for_real_and_never_closes_unanswered() {
    let (sim, server, seeded) = start_sim(relaxed_sim()).await;
    let dir = tempfile::tempdir().unwrap();
    let bot = seeded.bot.id;
    let c = sim.create_customer("Sam", Some("sam@example.org"));
    let id = sim.create_ticket(perfectbot_sim::NewTicket {
        channel: "chat".into(),
        customer_id: c,
        first_message: "How long does shipping take?".into(),
        assignee_user: Some(bot),
        ..Default::default()
    });
    let run = |mode: Mode| {
        let mut cfg = config_for(&server, &seeded, dir.path());
        cfg.bot.mode = mode;
        cfg.timing.close_after = Duration::from_secs(30);
        start_daemon(cfg)
    };
    let public_bot_messages = || {
        let t: perfectbot::gorgias::Ticket =
            serde_json::from_value(sim.ticket_json(id).unwrap()).unwrap();
        t.messages
            .iter()
            .filter(|m| m.from_agent && !m.is_internal_note())
            .count()
    };
    // Shadow: the ledger thinks the ticket is answered; the customer saw nothing.
    let shadow = run(Mode::Shadow).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while shadow
        .daemon
        .ledger()
        .ticket(id)
        .await
        .unwrap()
        .is_none_or(|r| r.state != TicketState::Answered)
    {
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    shadow.stop().await;
    assert_eq!(public_bot_messages(), 0);
    // Live on the same ledger: the customer gets a real answer.
    let live = run(Mode::Live).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while public_bot_messages() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the live bot never answered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    wait_polls(&sim, 3).await;
    assert_eq!(public_bot_messages(), 1);
    assert_eq!(sim.ticket_json(id).unwrap()["status"], "open");
    live.stop().await;
}
