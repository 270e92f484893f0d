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
    tokio::time::sleep(Duration::from_secs(1)).await;

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
