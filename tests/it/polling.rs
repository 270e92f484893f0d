//! Polls that read only what changed: a full listing at least once a minute, and in between
//! only the newest pages of the view, down to what the previous listing saw.

use crate::common::{bot_chat, config_for, relaxed_sim};
use jiff::{SignedDuration, Timestamp};
use perfectbot::clock::{Clock, ManualClock};
use perfectbot::daemon::Daemon;
use perfectbot::ledger::TicketState;
use perfectbot_sim::{NewTicket, Sim};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

const LIST: (&str, &str) = ("PUT", "/api/views/{id}/items");

fn list_requests(sim: &Sim) -> u64 {
    let key = (LIST.0.to_owned(), LIST.1.to_owned());
    sim.stats().by_route.get(&key).copied().unwrap_or(0)
}

#[tokio::test]
async fn polls_between_full_listings_read_only_the_newest_page_and_still_see_every_change() {
    let clock = ManualClock::new("2026-11-23T10:00:00Z".parse::<Timestamp>().unwrap());
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());
    let (sim, server, seeded) = perfectbot_sim::start_seeded_on(relaxed_sim(), shared.clone())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_for(&server, &seeded, dir.path());
    let daemon = Daemon::build(cfg, shared).await.unwrap();
    let cancel = CancellationToken::new();
    let bot = seeded.bot.id;

    // A chat the bot answers on the first (full) poll.
    let a = bot_chat(&sim, bot, "a@example.org", "How long does shipping take?");
    let before = list_requests(&sim);
    daemon.poll_once(&cancel).await.unwrap();
    assert_eq!(list_requests(&sim) - before, 1, "one page holds one ticket");
    assert_eq!(
        daemon.ledger().ticket(a).await.unwrap().unwrap().state,
        TicketState::Answered
    );

    // 150 email tickets (the bot leaves them alone, so their update times stay spread out),
    // one every 10 s: two pages of the view.
    let customer = sim.create_customer("Mail", Some("mail@example.org"));
    for i in 0..150 {
        clock.advance(SignedDuration::from_secs(10));
        sim.create_ticket(NewTicket {
            channel: "email".into(),
            customer_id: customer,
            first_message: format!("order {i}"),
            assignee_user: Some(bot),
            ..NewTicket::default()
        });
    }
    // All of them are newer than what the last listing saw: both pages are read.
    let before = list_requests(&sim);
    daemon.poll_once(&cancel).await.unwrap();
    assert_eq!(list_requests(&sim) - before, 2);

    // Nothing changed: the first page already reaches tickets the last listing saw.
    let before = list_requests(&sim);
    daemon.poll_once(&cancel).await.unwrap();
    assert_eq!(
        list_requests(&sim) - before,
        1,
        "a partial listing stops after page 1"
    );

    // The customer of the oldest ticket writes again: it moves to the top and is answered.
    sim.customer_says(a, "And what payment methods do you accept?");
    let before = list_requests(&sim);
    daemon.poll_once(&cancel).await.unwrap();
    assert_eq!(list_requests(&sim) - before, 1);
    let replies = sim.ticket_json(a).unwrap()["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["sender"]["id"] == bot && m["public"] == true)
        .count();
    assert_eq!(
        replies, 2,
        "the follow-up on an old ticket was seen by a partial listing"
    );

    // An agent takes it: a ticket leaving the view only shows in a full listing, which comes
    // once a minute has passed since the last one.
    sim.assign(a, Some(seeded.agents[0].id), None);
    daemon.poll_once(&cancel).await.unwrap();
    assert_eq!(
        daemon.ledger().ticket(a).await.unwrap().unwrap().state,
        TicketState::Answered
    );
    clock.advance(SignedDuration::from_secs(61));
    let before = list_requests(&sim);
    daemon.poll_once(&cancel).await.unwrap();
    assert_eq!(
        list_requests(&sim) - before,
        2,
        "a full listing reads every page"
    );
    assert_eq!(
        daemon.ledger().ticket(a).await.unwrap().unwrap().state,
        TicketState::Released
    );
    drop(server);
}

/// A step of the wall clock (NTP, a resumed VM) of +2 h just after an answer must not close the
/// ticket: the close waits for the monotonic clock too. After a restart the wall clock (the
/// ledger's deadline) is all there is, and the close happens.
#[tokio::test]
async fn a_wall_clock_step_does_not_close_a_ticket_answered_seconds_ago() {
    let clock = ManualClock::new("2026-11-23T10:00:00Z".parse::<Timestamp>().unwrap());
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());
    let (sim, server, seeded) = perfectbot_sim::start_seeded_on(relaxed_sim(), shared.clone())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config_for(&server, &seeded, dir.path());
    cfg.timing.close_after = std::time::Duration::from_secs(60);
    let daemon = Daemon::build(cfg.clone(), shared.clone()).await.unwrap();
    let cancel = CancellationToken::new();
    let a = bot_chat(
        &sim,
        seeded.bot.id,
        "a@example.org",
        "How long does shipping take?",
    );
    daemon.poll_once(&cancel).await.unwrap();
    assert_eq!(
        daemon.ledger().ticket(a).await.unwrap().unwrap().state,
        TicketState::Answered
    );
    clock.advance(SignedDuration::from_secs(3));
    clock.advance(SignedDuration::from_hours(2));
    daemon.sweep_once(&cancel).await.unwrap();
    daemon.poll_once(&cancel).await.unwrap();
    assert_eq!(
        daemon.ledger().ticket(a).await.unwrap().unwrap().state,
        TicketState::Answered,
        "closed 3 s after the answer because the wall clock jumped"
    );
    assert_eq!(sim.ticket_json(a).unwrap()["status"], "open");

    // A new process knows only the wall clock: the deadline has passed, the ticket closes.
    drop(daemon);
    let daemon = Daemon::build(cfg, shared).await.unwrap();
    daemon.sweep_once(&cancel).await.unwrap();
    assert_eq!(
        daemon.ledger().ticket(a).await.unwrap().unwrap().state,
        TicketState::Closed
    );
    assert_eq!(sim.ticket_json(a).unwrap()["status"], "closed");
}
