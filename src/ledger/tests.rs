//! Tests of the SQLite ledger: on-disk ones use a temp directory.

use super::*;
use proptest::prelude::*;

fn ts(s: i64) -> Timestamp {
    Timestamp::from_second(s).expect("valid test timestamp")
}

fn us(u: i64) -> Timestamp {
    Timestamp::from_microsecond(u).expect("valid test timestamp")
}

fn key(ticket_id: u64, kind: ActionKind, trigger: &str) -> ActionKey {
    ActionKey {
        ticket_id,
        kind,
        trigger: trigger.to_owned(),
    }
}

fn row(id: u64, state: TicketState, updated: i64) -> TicketRow {
    TicketRow {
        state,
        ..TicketRow::new(id, ts(updated))
    }
}

async fn raw<R: Send + 'static>(
    ledger: &Ledger,
    f: impl FnOnce(&mut Connection) -> rusqlite::Result<R> + Send + 'static,
) -> R {
    ledger
        .conn
        .call(move |c| f(c))
        .await
        .expect("raw SQL in a test")
}

/// An event as a stored row (kind, reason, no detail) reads back.
fn stored(kind: &str, reason: Option<&str>) -> Event {
    Event::from_stored(kind, reason, None).expect("a known kind")
}

fn failed(error: &str) -> Event {
    Event::ResponderFailed {
        reason: AfterFailure::Retry,
        error: error.to_owned(),
    }
}

async fn user_version(ledger: &Ledger) -> i64 {
    raw(ledger, |c| {
        c.query_row("PRAGMA user_version", [], |r| r.get(0))
    })
    .await
}

#[tokio::test]
async fn migrations_apply_on_a_new_file_and_reopen_is_a_no_op() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ledger.db");
    let ledger = Ledger::open(&path).await.expect("open new");
    assert_eq!(user_version(&ledger).await, schema::latest_version());
    let mode: String = raw(&ledger, |c| {
        c.query_row("PRAGMA journal_mode", [], |r| r.get(0))
    })
    .await;
    assert_eq!(mode, "wal");
    let sync: i64 = raw(&ledger, |c| {
        c.query_row("PRAGMA synchronous", [], |r| r.get(0))
    })
    .await;
    assert_eq!(sync, 2, "synchronous=FULL");
    let fk: i64 = raw(&ledger, |c| {
        c.query_row("PRAGMA foreign_keys", [], |r| r.get(0))
    })
    .await;
    assert_eq!(fk, 1);
    ledger
        .save_ticket(&row(7, TicketState::Answered, 100))
        .await
        .expect("save");
    drop(ledger);

    let again = Ledger::open(&path).await.expect("reopen");
    assert_eq!(user_version(&again).await, schema::latest_version());
    let kept = again.ticket(7).await.expect("read").expect("row kept");
    assert_eq!(kept.state, TicketState::Answered);
}

#[tokio::test]
async fn open_in_a_missing_directory_names_the_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nope");
    let path = missing.join("ledger.db");
    let err = Ledger::open(&path).await.expect_err("dir is missing");
    match &err {
        LedgerError::DirMissing { dir: d, .. } => assert_eq!(d, &missing),
        other => panic!("expected DirMissing, got {other:?}"),
    }
    assert!(err.to_string().contains("nope"), "{err}");
    assert!(err.is_fatal());
    assert!(
        !missing.exists(),
        "the ledger must not create the directory"
    );
}

#[tokio::test]
async fn a_full_ticket_row_round_trips_every_field() {
    let ledger = Ledger::open_in_memory().await.expect("open");
    let full = TicketRow {
        ticket_id: 9_000_000_001,
        state: TicketState::AwaitingEmail,
        reason: Some("requested".parse().unwrap()),
        last_customer_msg_id: Some(123_456_789_012),
        last_customer_msg_at: Some(us(1_800_000_000_000_001)),
        last_bot_reply_at: Some(us(1_800_000_001_000_002)),
        close_deadline: Some(us(1_800_000_002_000_003)),
        email_requested_at: Some(us(1_800_000_003_000_004)),
        returned_at: Some(us(1_800_000_004_000_005)),
        seen_updated_at: Some(us(1_800_000_005_000_006)),
        seen_messages_count: Some(42),
        seen_fingerprint: Some("open|1|0|a".into()),
        pending_since: Some(us(1_800_000_006_000_007)),
        answers: 3,
        handovers: 1,
        closes: u32::MAX,
        created_at: Some(us(1_700_000_000_000_008)),
        updated_at: Some(us(1_800_000_007_000_009)),
    };
    ledger.save_ticket(&full).await.expect("save");
    let back = ledger.ticket(full.ticket_id).await.expect("read");
    assert_eq!(back, Some(full.clone()));

    // An upsert replaces every field, including back to None.
    let cleared = TicketRow {
        ticket_id: full.ticket_id,
        state: TicketState::Closed,
        ..TicketRow::default()
    };
    ledger.save_ticket(&cleared).await.expect("save again");
    assert_eq!(
        ledger.ticket(full.ticket_id).await.expect("read"),
        Some(cleared)
    );
    assert_eq!(ledger.ticket(1).await.expect("read"), None);
}

#[tokio::test]
async fn batch_read_returns_only_the_rows_the_ledger_has() {
    let ledger = Ledger::open_in_memory().await.expect("open");
    for id in [1, 2, 3] {
        ledger
            .save_ticket(&row(id, TicketState::Active, 10))
            .await
            .expect("save");
    }
    let got = ledger.tickets(&[2, 3, 4]).await.expect("batch");
    let mut ids: Vec<u64> = got.keys().copied().collect();
    ids.sort_unstable();
    assert_eq!(ids, vec![2, 3]);
    assert_eq!(got[&2].ticket_id, 2);
    assert!(ledger.tickets(&[]).await.expect("empty").is_empty());
}

#[tokio::test]
async fn tracked_and_counts_follow_the_states() {
    let ledger = Ledger::open_in_memory().await.expect("open");
    let states = [
        (1, TicketState::Active),
        (2, TicketState::Answered),
        (3, TicketState::AwaitingEmail),
        (4, TicketState::Escalated),
        (5, TicketState::Closed),
        (6, TicketState::Released),
        (7, TicketState::Ignored),
        (8, TicketState::Answered),
    ];
    for (id, s) in states {
        ledger.save_ticket(&row(id, s, 10)).await.expect("save");
    }
    let tracked: Vec<u64> = ledger
        .tracked()
        .await
        .expect("tracked")
        .iter()
        .map(|r| r.ticket_id)
        .collect();
    assert_eq!(tracked, vec![1, 2, 3, 8]);
    let closed: Vec<u64> = ledger
        .tickets_in_states(&[TicketState::Closed, TicketState::Escalated])
        .await
        .expect("in states")
        .iter()
        .map(|r| r.ticket_id)
        .collect();
    assert_eq!(closed, vec![4, 5]);
    let counts = ledger.counts_by_state().await.expect("counts");
    assert_eq!(counts.len(), TicketState::ALL.len());
    assert_eq!(counts["answered"], 2);
    assert_eq!(counts["ignored"], 1);
    assert_eq!(counts.values().sum::<u64>(), 8);
}

#[tokio::test]
async fn begin_action_twice_gives_started_then_pending_then_finished_after_done() {
    let ledger = Ledger::open_in_memory().await.expect("open");
    let k = key(5, ActionKind::Reply, "m:99");
    let first = ledger
        .begin_action(&k, r#"{"body":"hi"}"#, ts(100))
        .await
        .expect("begin 1");
    let Begin::Started(started) = first else {
        panic!("expected Started, got {first:?}")
    };
    assert_eq!(started.attempts, 1);
    assert_eq!(started.status, ActionStatus::Pending);
    assert_eq!(started.key, k);
    assert_eq!(
        ledger.action(&k).await.expect("read"),
        Some(started.clone())
    );

    let second = ledger
        .begin_action(&k, "ignored", ts(101))
        .await
        .expect("begin 2");
    let Begin::Pending(pending) = second else {
        panic!("expected Pending, got {second:?}")
    };
    assert_eq!(pending.id, started.id);
    assert_eq!(pending.attempts, 2);
    assert_eq!(pending.payload, r#"{"body":"hi"}"#, "first payload kept");
    assert_eq!(ledger.pending_actions().await.expect("pending").len(), 1);

    ledger
        .finish_action(started.id, ActionStatus::Done, Some("message 77"), ts(102))
        .await
        .expect("finish");
    let third = ledger
        .begin_action(&k, "ignored", ts(103))
        .await
        .expect("begin 3");
    let Begin::Finished(done) = third else {
        panic!("expected Finished, got {third:?}")
    };
    assert_eq!(done.status, ActionStatus::Done);
    assert_eq!(done.finished_at, Some(ts(102)));
    assert_eq!(done.detail.as_deref(), Some("message 77"));
    assert_eq!(done.attempts, 2, "a finished action is not touched");
    assert!(ledger.pending_actions().await.expect("pending").is_empty());

    // Another trigger or kind on the same ticket is another action.
    let other = ledger
        .begin_action(&key(5, ActionKind::Close, "m:99"), "{}", ts(104))
        .await
        .expect("begin other");
    assert!(matches!(other, Begin::Started(_)), "{other:?}");
    assert_eq!(ledger.actions_for(5).await.expect("for").len(), 2);
    assert!(ledger.actions_for(6).await.expect("for").is_empty());
}

#[tokio::test]
async fn abandoned_actions_are_finished_and_pending_finish_clears_finished_at() {
    let ledger = Ledger::open_in_memory().await.expect("open");
    let k = key(1, ActionKind::Tag, "t1");
    let Begin::Started(a) = ledger.begin_action(&k, "{}", ts(1)).await.expect("begin") else {
        panic!("expected Started")
    };
    ledger
        .finish_action(a.id, ActionStatus::Pending, Some("HTTP 503"), ts(2))
        .await
        .expect("still pending");
    let still = ledger.action(&k).await.expect("read").expect("row");
    assert_eq!(still.status, ActionStatus::Pending);
    assert_eq!(still.finished_at, None);
    assert_eq!(still.detail.as_deref(), Some("HTTP 503"));

    ledger
        .finish_action(a.id, ActionStatus::Abandoned, None, ts(3))
        .await
        .expect("abandon");
    let gone = ledger.begin_action(&k, "{}", ts(4)).await.expect("begin");
    match gone {
        Begin::Finished(r) => {
            assert_eq!(r.status, ActionStatus::Abandoned);
            assert_eq!(
                r.detail.as_deref(),
                Some("HTTP 503"),
                "None keeps the detail"
            );
        }
        other => panic!("expected Finished, got {other:?}"),
    }
}

#[tokio::test]
async fn finishing_an_unknown_action_is_an_error_naming_the_id() {
    let ledger = Ledger::open_in_memory().await.expect("open");
    let err = ledger
        .finish_action(4242, ActionStatus::Done, None, ts(1))
        .await
        .expect_err("no such action");
    assert!(
        matches!(err, LedgerError::NoSuchAction { id: 4242 }),
        "{err:?}"
    );
    assert!(!err.is_fatal());
}

#[tokio::test]
async fn finish_action_and_save_writes_all_three() {
    let ledger = Ledger::open_in_memory().await.expect("open");
    let k = key(3, ActionKind::Reply, "m:1");
    let Begin::Started(a) = ledger.begin_action(&k, "{}", ts(1)).await.expect("begin") else {
        panic!("expected Started")
    };
    let answered = TicketRow {
        answers: 1,
        close_deadline: Some(ts(600)),
        ..row(3, TicketState::Answered, 2)
    };
    ledger
        .finish_action_and_save(
            a.id,
            ActionStatus::Done,
            None,
            ts(2),
            &answered,
            Some(NewEvent::ticket(ts(2), 3, stored("answered", None))),
        )
        .await
        .expect("finish and save");
    assert_eq!(
        ledger.action(&k).await.expect("read").map(|r| r.status),
        Some(ActionStatus::Done)
    );
    assert_eq!(ledger.ticket(3).await.expect("read"), Some(answered));
    assert_eq!(ledger.events_since(ts(0)).await.expect("events").len(), 1);

    // An unknown action id rolls the whole transaction back.
    let err = ledger
        .finish_action_and_save(
            999,
            ActionStatus::Done,
            None,
            ts(3),
            &row(4, TicketState::Closed, 3),
            Some(NewEvent::ticket(ts(3), 4, stored("closed", None))),
        )
        .await
        .expect_err("unknown id");
    assert!(matches!(err, LedgerError::NoSuchAction { id: 999 }));
    assert_eq!(ledger.ticket(4).await.expect("read"), None);
    assert_eq!(ledger.events_since(ts(0)).await.expect("events").len(), 1);
}

#[tokio::test]
async fn the_same_key_is_never_started_twice_across_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ledger.db");
    let k = key(11, ActionKind::Close, "deadline:2026-11-23T10:00:00Z");
    {
        let ledger = Ledger::open(&path).await.expect("open");
        let b = ledger.begin_action(&k, "{}", ts(1)).await.expect("begin");
        assert!(matches!(b, Begin::Started(_)), "{b:?}");
    }
    let ledger = Ledger::open(&path).await.expect("reopen");
    let b = ledger.begin_action(&k, "{}", ts(2)).await.expect("begin");
    let Begin::Pending(p) = b else {
        panic!("expected Pending after reopen, got {b:?}")
    };
    ledger
        .finish_action(p.id, ActionStatus::Done, None, ts(3))
        .await
        .expect("finish");
    drop(ledger);
    let ledger = Ledger::open(&path).await.expect("reopen again");
    let b = ledger.begin_action(&k, "{}", ts(4)).await.expect("begin");
    assert!(matches!(b, Begin::Finished(_)), "{b:?}");
}

#[tokio::test]
async fn due_closes_and_next_deadline_pick_answered_rows() {
    let ledger = Ledger::open_in_memory().await.expect("open");
    assert_eq!(ledger.next_deadline().await.expect("none"), None);
    let with_deadline = |id, state, at| TicketRow {
        close_deadline: Some(ts(at)),
        ..row(id, state, 1)
    };
    for r in [
        with_deadline(1, TicketState::Answered, 500),
        with_deadline(2, TicketState::Answered, 300),
        with_deadline(3, TicketState::Answered, 900),
        // Earlier deadlines, but not in state answered: never due.
        with_deadline(4, TicketState::Closed, 100),
        with_deadline(5, TicketState::Active, 200),
        row(6, TicketState::Answered, 1),
    ] {
        ledger.save_ticket(&r).await.expect("save");
    }
    assert_eq!(ledger.next_deadline().await.expect("next"), Some(ts(300)));
    let due: Vec<u64> = ledger
        .due_closes(ts(500))
        .await
        .expect("due")
        .iter()
        .map(|r| r.ticket_id)
        .collect();
    assert_eq!(due, vec![2, 1], "earliest first, deadline == now is due");
    assert!(ledger.due_closes(ts(299)).await.expect("due").is_empty());
}

#[tokio::test]
async fn events_round_trip_and_since_filters() {
    let ledger = Ledger::open_in_memory().await.expect("open");
    ledger
        .record_event(NewEvent::global(ts(10), failed("x")))
        .await
        .expect("event");
    ledger
        .record_event(NewEvent::ticket(
            ts(20),
            5,
            Event::Closed {
                deadline: None,
                lag_ms: Some(412),
            },
        ))
        .await
        .expect("event");
    ledger
        .save_ticket_with_event(
            &row(5, TicketState::Closed, 30),
            NewEvent::ticket(ts(30), 5, stored("handover", Some("requested"))),
        )
        .await
        .expect("save with event");
    assert_eq!(
        ledger.ticket(5).await.expect("read").map(|r| r.state),
        Some(TicketState::Closed)
    );

    let all = ledger.events_since(ts(0)).await.expect("all");
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].event.kind(), "responder_failed");
    assert_eq!(all[0].ticket_id, None);
    let closed = &all[1];
    assert_eq!(closed.at, ts(20));
    assert_eq!(closed.ticket_id, Some(5));
    assert_eq!(closed.event.reason(), Some("idle"));
    assert!(
        matches!(
            closed.event,
            Event::Closed {
                lag_ms: Some(412),
                ..
            }
        ),
        "{closed:?}"
    );

    let since: Vec<String> = ledger
        .events_since(ts(20))
        .await
        .expect("since")
        .into_iter()
        .map(|e| e.event.kind().into_owned())
        .collect();
    assert_eq!(since, vec!["closed", "handover"], "since is inclusive");

    let recent: Vec<String> = ledger
        .recent_events(None, 2)
        .await
        .expect("recent")
        .into_iter()
        .map(|e| e.event.kind().into_owned())
        .collect();
    assert_eq!(recent, vec!["handover", "closed"], "newest first");
    let polls = ledger
        .recent_events(Some("responder_failed"), 10)
        .await
        .expect("polls");
    assert_eq!(polls.len(), 1);
    assert_eq!(polls[0].at, ts(10));
}

#[tokio::test]
async fn meta_values_round_trip_and_overwrite() {
    let ledger = Ledger::open_in_memory().await.expect("open");
    assert_eq!(ledger.meta("last_poll_ok").await.expect("read"), None);
    ledger.set_meta("last_poll_ok", "true").await.expect("set");
    ledger.set_meta("last_poll_ok", "false").await.expect("set");
    assert_eq!(
        ledger.meta("last_poll_ok").await.expect("read").as_deref(),
        Some("false")
    );
}

#[tokio::test]
async fn prune_removes_only_old_terminal_rows() {
    let ledger = Ledger::open_in_memory().await.expect("open");
    let cutoff = ts(1000);
    for r in [
        row(1, TicketState::Closed, 10),    // old, terminal: pruned
        row(2, TicketState::Released, 10),  // old, terminal: pruned
        row(3, TicketState::Ignored, 10),   // old, terminal: pruned
        row(4, TicketState::Closed, 2000),  // recent: kept
        row(5, TicketState::Answered, 10),  // old but tracked: kept
        row(6, TicketState::Escalated, 10), // old but not in the retention list: kept
        TicketRow {
            ticket_id: 7,
            state: TicketState::Closed,
            ..TicketRow::default()
        }, // no timestamps: kept
    ] {
        ledger.save_ticket(&r).await.expect("save");
    }
    let old_done = key(1, ActionKind::Reply, "m:1");
    let old_pending = key(1, ActionKind::Close, "m:1");
    let new_done = key(4, ActionKind::Reply, "m:2");
    for k in [&old_done, &old_pending, &new_done] {
        ledger.begin_action(k, "{}", ts(5)).await.expect("begin");
    }
    let id_of = |r: Option<ActionRow>| r.expect("action").id;
    let id = id_of(ledger.action(&old_done).await.expect("read"));
    ledger
        .finish_action(id, ActionStatus::Done, None, ts(20))
        .await
        .expect("finish");
    let id = id_of(ledger.action(&new_done).await.expect("read"));
    ledger
        .finish_action(id, ActionStatus::Abandoned, None, ts(1500))
        .await
        .expect("finish");
    for at in [10, 999, 1000, 1001] {
        ledger
            .record_event(NewEvent::global(ts(at), failed("x")))
            .await
            .expect("event");
    }

    let stats = ledger.prune(cutoff).await.expect("prune");
    assert_eq!(
        stats,
        PruneStats {
            tickets: 3,
            actions: 1,
            events: 2
        }
    );
    let left: Vec<u64> = ledger
        .tickets_in_states(&TicketState::ALL)
        .await
        .expect("all")
        .iter()
        .map(|r| r.ticket_id)
        .collect();
    assert_eq!(left, vec![4, 5, 6, 7]);
    assert_eq!(ledger.action(&old_done).await.expect("read"), None);
    assert!(ledger.action(&old_pending).await.expect("read").is_some());
    assert!(ledger.action(&new_done).await.expect("read").is_some());
    let at: Vec<Timestamp> = ledger
        .events_since(ts(0))
        .await
        .expect("events")
        .iter()
        .map(|e| e.at)
        .collect();
    assert_eq!(at, vec![ts(1000), ts(1001)]);
}

#[tokio::test]
async fn integrity_check_reports_ok_and_checkpoint_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = Ledger::open(&dir.path().join("l.db")).await.expect("open");
    ledger
        .save_ticket(&row(1, TicketState::Active, 1))
        .await
        .expect("save");
    assert_eq!(ledger.integrity_check().await.expect("check"), "ok");
    ledger.checkpoint().await.expect("checkpoint");
    assert!(ledger.ticket(1).await.expect("read").is_some());
}

#[tokio::test]
async fn a_read_only_handle_reads_while_a_writer_has_the_file_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ledger.db");
    let writer = Ledger::open(&path).await.expect("open writer");
    writer
        .save_ticket(&row(1, TicketState::Answered, 1))
        .await
        .expect("save");
    let reader = Ledger::open_read_only(&path).await.expect("open reader");
    assert!(reader.is_read_only());
    assert_eq!(
        reader.counts_by_state().await.expect("counts")["answered"],
        1
    );

    // The writer keeps writing while the reader is open; the reader sees each commit.
    writer
        .save_ticket(&row(2, TicketState::Answered, 2))
        .await
        .expect("save while a reader is open");
    assert_eq!(
        reader.counts_by_state().await.expect("counts")["answered"],
        2
    );

    let err = reader
        .save_ticket(&row(3, TicketState::Active, 3))
        .await
        .expect_err("read-only");
    assert!(matches!(err, LedgerError::ReadOnly { .. }), "{err:?}");
    assert!(err.is_fatal());
    assert!(err.to_string().contains("save ticket 3"), "{err}");
}

#[tokio::test]
async fn read_only_open_refuses_an_unmigrated_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("empty.db");
    rusqlite::Connection::open(&path)
        .and_then(|c| c.execute_batch("CREATE TABLE x (y INTEGER);"))
        .expect("plain sqlite file");
    let err = Ledger::open_read_only(&path)
        .await
        .expect_err("not a ledger");
    assert!(
        matches!(
            err,
            LedgerError::SchemaMismatch {
                found: 0,
                expected,
                ..
            } if expected == schema::latest_version()
        ),
        "{err:?}"
    );
    let missing = Ledger::open_read_only(&dir.path().join("missing.db"))
        .await
        .expect_err("missing");
    assert!(matches!(missing, LedgerError::Open { .. }), "{missing:?}");
    assert!(missing.to_string().contains("missing.db"), "{missing}");
}

#[tokio::test]
async fn two_handles_on_one_file_write_concurrently_without_busy() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ledger.db");
    let a = Ledger::open(&path).await.expect("open a");
    let b = Ledger::open(&path).await.expect("open b");
    let write_many = |ledger: Ledger, base: u64| async move {
        for i in 0..250u64 {
            let id = base + i;
            ledger.save_ticket(&row(id, TicketState::Active, 1)).await?;
            ledger
                .begin_action(&key(id, ActionKind::Reply, "m:1"), "{}", ts(1))
                .await?;
            ledger
                .record_event(NewEvent::ticket(ts(1), id, stored("answered", None)))
                .await?;
        }
        Ok::<(), LedgerError>(())
    };
    let (ra, rb) = tokio::join!(
        tokio::spawn(write_many(a.clone(), 0)),
        tokio::spawn(write_many(b.clone(), 1000)),
    );
    ra.expect("task a").expect("writes of a");
    rb.expect("task b").expect("writes of b");
    assert_eq!(a.counts_by_state().await.expect("counts")["active"], 500);
    assert_eq!(b.pending_actions().await.expect("pending").len(), 500);
}

#[tokio::test]
async fn a_write_protected_file_gives_a_fatal_error() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ledger.db");
    {
        let ledger = Ledger::open(&path).await.expect("open");
        ledger
            .save_ticket(&row(1, TicketState::Active, 1))
            .await
            .expect("save");
    }
    let set = |p: &Path, mode| std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode));
    set(&path, 0o444).expect("chmod file");
    set(dir.path(), 0o555).expect("chmod dir");
    let writable = std::fs::OpenOptions::new().write(true).open(&path).is_ok();
    let outcome = if writable {
        // root ignores file modes: the read-only handle test covers the classification.
        eprintln!("skipped: running as root, file modes do not stop writes");
        None
    } else {
        Some(match Ledger::open(&path).await {
            Err(e) => e,
            Ok(ledger) => ledger
                .save_ticket(&row(2, TicketState::Active, 2))
                .await
                .expect_err("the file is read-only"),
        })
    };
    set(dir.path(), 0o755).expect("restore dir");
    set(&path, 0o644).expect("restore file");
    if let Some(err) = outcome {
        assert!(err.is_fatal(), "{err:?}");
    }
}

#[tokio::test]
async fn a_full_database_gives_a_fatal_full_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = Ledger::open(&dir.path().join("l.db")).await.expect("open");
    // Cap the file at its current size: the next page it needs makes SQLite report FULL,
    // as a full disk would.
    raw(&ledger, |c| {
        let pages: i64 = c.query_row("PRAGMA page_count", [], |r| r.get(0))?;
        c.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |r| {
            r.get::<_, i64>(0)
        })
    })
    .await;
    let big = "x".repeat(64 * 1024);
    let mut outcome = Ok(());
    for i in 0..20 {
        outcome = ledger
            .record_event(NewEvent::global(ts(i), failed(&big)))
            .await;
        if outcome.is_err() {
            break;
        }
    }
    let err = outcome.expect_err("the database is capped");
    assert!(matches!(err, LedgerError::Full { .. }), "{err:?}");
    assert!(err.is_fatal());
}

#[tokio::test]
async fn a_corrupt_stored_string_gives_corrupt_not_a_panic() {
    let ledger = Ledger::open_in_memory().await.expect("open");
    ledger
        .save_ticket(&row(8, TicketState::Active, 1))
        .await
        .expect("save");
    ledger
        .begin_action(&key(8, ActionKind::Reply, "m:1"), "{}", ts(1))
        .await
        .expect("begin");
    raw(&ledger, |c| {
        c.execute_batch(
            "UPDATE tickets SET state = 'bogus' WHERE ticket_id = 8;
             UPDATE actions SET kind = 'fax', key = '8/fax/m:1';",
        )
    })
    .await;

    let err = ledger.ticket(8).await.expect_err("bad state");
    let LedgerError::Corrupt { detail } = &err else {
        panic!("expected Corrupt, got {err:?}")
    };
    assert!(
        detail.contains("tickets") && detail.contains("ticket_id=8") && detail.contains("bogus"),
        "{detail}"
    );
    assert!(!err.is_fatal());
    let err = ledger.counts_by_state().await.expect_err("bad state");
    assert!(matches!(err, LedgerError::Corrupt { .. }), "{err:?}");
    let err = ledger.tickets(&[8]).await.expect_err("bad state");
    assert!(matches!(err, LedgerError::Corrupt { .. }), "{err:?}");

    let err = ledger.pending_actions().await.expect_err("bad kind");
    let LedgerError::Corrupt { detail } = &err else {
        panic!("expected Corrupt, got {err:?}")
    };
    assert!(
        detail.contains("actions") && detail.contains("fax"),
        "{detail}"
    );

    raw(&ledger, |c| {
        c.execute_batch("UPDATE actions SET kind = 'reply', key = '8/reply/m:1', status = 'maybe';")
    })
    .await;
    let err = ledger.actions_for(8).await.expect_err("bad status");
    assert!(
        matches!(&err, LedgerError::Corrupt { detail } if detail.contains("maybe")),
        "{err:?}"
    );
}

#[derive(Debug, Clone)]
enum Op {
    Begin(usize),
    Finish(usize, ActionStatus),
}

fn op() -> impl Strategy<Value = Op> {
    let status = prop_oneof![
        Just(ActionStatus::Pending),
        Just(ActionStatus::Done),
        Just(ActionStatus::Abandoned),
    ];
    prop_oneof![
        (0..3usize).prop_map(Op::Begin),
        ((0..3usize), status).prop_map(|(k, s)| Op::Finish(k, s)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn begin_and_finish_never_start_one_key_twice(ops in proptest::collection::vec(op(), 1..30)) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let ledger = Ledger::open_in_memory().await.expect("open");
            let keys: Vec<ActionKey> = (0..3)
                .map(|i| key(1, ActionKind::Reply, &format!("m:{i}")))
                .collect();
            let mut started = [0u32; 3];
            // The model: None = never begun, Some(status) = last status set.
            let mut model: [Option<ActionStatus>; 3] = [None; 3];
            for (t, op) in ops.into_iter().enumerate() {
                let now = ts(t as i64);
                match op {
                    Op::Begin(k) => {
                        let b = ledger.begin_action(&keys[k], "{}", now).await.expect("begin");
                        match (&b, model[k]) {
                            (Begin::Started(_), None) => {
                                started[k] += 1;
                                model[k] = Some(ActionStatus::Pending);
                            }
                            (Begin::Pending(_), Some(ActionStatus::Pending)) => {}
                            (Begin::Finished(r), Some(s)) if s != ActionStatus::Pending => {
                                assert_eq!(r.status, s);
                            }
                            (b, m) => panic!("begin on {k} gave {b:?} with model {m:?}"),
                        }
                    }
                    Op::Finish(k, s) => {
                        if let Some(row) = ledger.action(&keys[k]).await.expect("read") {
                            ledger.finish_action(row.id, s, None, now).await.expect("finish");
                            model[k] = Some(s);
                        } else {
                            assert_eq!(model[k], None);
                        }
                    }
                }
                assert!(started.iter().all(|&n| n <= 1), "started twice: {started:?}");
            }
        });
    }
}

#[tokio::test]
async fn begin_plan_records_every_step_and_the_row_in_one_go() {
    let l = Ledger::open_in_memory().await.unwrap();
    let now = Timestamp::from_second(1_800_000_000).unwrap();
    let row = TicketRow {
        state: TicketState::Escalated,
        ..TicketRow::new(9, now)
    };
    let steps = vec![
        (
            key(9, ActionKind::Reply, "m1"),
            "{\"reply\":\"hi\"}".to_string(),
        ),
        (
            key(9, ActionKind::Unassign, "m1:handover"),
            "{\"unassign\":true}".to_string(),
        ),
    ];
    let first = l.begin_plan(&row, &steps, now).await.unwrap();
    assert!(first.iter().all(|b| matches!(b, Begin::Started(_))));
    assert_eq!(
        l.ticket(9).await.unwrap().unwrap().state,
        TicketState::Escalated
    );
    assert_eq!(l.pending_actions().await.unwrap().len(), 2);
    let again = l.begin_plan(&row, &steps, now).await.unwrap();
    assert!(
        again.iter().all(|b| matches!(b, Begin::Pending(_))),
        "never Started twice"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn a_new_ledger_and_its_wal_files_are_private_to_their_owner() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ledger.db");
    let ledger = Ledger::open(&path).await.expect("open");
    ledger
        .save_ticket(&row(1, TicketState::Active, 1))
        .await
        .expect("save");
    for file in ["ledger.db", "ledger.db-wal", "ledger.db-shm"] {
        let mode = std::fs::metadata(dir.path().join(file))
            .expect(file)
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{file}: {mode:04o}");
    }
}

#[tokio::test]
async fn a_deleted_or_replaced_ledger_file_is_noticed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ledger.db");
    let ledger = Ledger::open(&path).await.expect("open");
    ledger.check_file().expect("the file it opened");
    std::fs::remove_file(&path).expect("delete");
    let err = ledger.check_file().expect_err("deleted");
    assert!(err.is_fatal());
    assert_eq!(
        err.to_string(),
        format!(
            "the ledger {} was deleted while the bot was running",
            path.display()
        )
    );
    // A fresh file at the same path is another file.
    let _other = Ledger::open(&path).await.expect("a new ledger");
    let err = ledger.check_file().expect_err("replaced");
    assert!(
        err.to_string().contains("was replaced by another file"),
        "{err}"
    );
    // In-memory and read-only handles have nothing to check.
    Ledger::open_in_memory()
        .await
        .unwrap()
        .check_file()
        .unwrap();
}

#[tokio::test]
async fn runtime_errors_name_the_ledger_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("named.db");
    let ledger = Ledger::open(&path).await.expect("open");
    ledger
        .simulate_failure_for_tests(SimulatedFailure::ReadOnly)
        .await
        .expect("hook");
    let err = ledger
        .save_ticket(&row(3, TicketState::Active, 3))
        .await
        .expect_err("read-only");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    assert!(err.to_string().contains("save ticket 3"), "{err}");
}

#[tokio::test]
async fn one_lock_per_ledger_until_it_is_dropped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ledger.db");
    let first = LedgerLock::acquire(&path).expect("first lock");
    assert_eq!(first.path(), dir.path().join("ledger.db.lock"));
    let err = LedgerLock::acquire(&path).expect_err("second lock");
    assert!(matches!(err, LedgerError::InUse { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    // Readers are not held back by the lock.
    let ledger = Ledger::open(&path).await.expect("open");
    drop(ledger);
    let _reader = Ledger::open_read_only(&path).await.expect("read-only open");
    drop(first);
    let _again = LedgerLock::acquire(&path).expect("free again once dropped");
}

#[tokio::test]
async fn long_customer_text_is_kept_as_a_bounded_excerpt() {
    let ledger = Ledger::open_in_memory().await.expect("open");
    // A multi-byte character straddles the cut.
    let question = format!("a{}", "é".repeat(500_000));
    let e = NewEvent::ticket(
        ts(1),
        7,
        Event::Answered {
            question: question.clone(),
            sources: vec![question],
            score: Some(1.5),
            order: None,
            since: None,
            latency_ms: None,
        },
    );
    ledger.record_event(e).await.expect("record");
    let stored = ledger.events_since(ts(0)).await.expect("read");
    let Event::Answered {
        question: q,
        sources,
        score,
        ..
    } = &stored[0].event
    else {
        panic!("expected an answer, got {:?}", stored[0])
    };
    assert!(q.len() <= EXCERPT_BYTES, "{}", q.len());
    assert!(q.len() > EXCERPT_BYTES - 8);
    assert!(q.starts_with("aé") && q.ends_with('…'));
    assert_eq!(sources[0], *q);
    assert_eq!(*score, Some(1.5));
    ledger
        .set_meta("last_error", &"x".repeat(1 << 20))
        .await
        .unwrap();
    let meta = ledger.meta("last_error").await.unwrap().unwrap();
    assert!(meta.len() <= EXCERPT_BYTES);
    assert_eq!(excerpt("short", 10), "short");
}

#[tokio::test]
async fn an_unknown_stored_reason_or_event_is_corrupt_naming_the_ticket() {
    let ledger = Ledger::open_in_memory().await.expect("open");
    ledger
        .save_ticket(&row(9, TicketState::Escalated, 1))
        .await
        .expect("save");
    ledger
        .record_event(NewEvent::ticket(ts(1), 9, stored("answered", None)))
        .await
        .expect("record");
    raw(&ledger, |c| {
        c.execute_batch(
            "UPDATE tickets SET reason = 'bored' WHERE ticket_id = 9;
             UPDATE events SET kind = 'poll';",
        )
    })
    .await;
    let err = ledger.ticket(9).await.expect_err("unknown reason");
    let LedgerError::Corrupt { detail } = &err else {
        panic!("expected Corrupt, got {err:?}")
    };
    assert!(
        detail.contains("ticket_id=9") && detail.contains("reason") && detail.contains("bored"),
        "{detail}"
    );
    let err = ledger.events_since(ts(0)).await.expect_err("unknown kind");
    let LedgerError::Corrupt { detail } = &err else {
        panic!("expected Corrupt, got {err:?}")
    };
    assert!(
        detail.contains("events") && detail.contains("ticket 9") && detail.contains("poll"),
        "{detail}"
    );
}

#[tokio::test]
async fn next_handover_deadline_is_the_earliest_after_the_last_sweep() {
    let ledger = Ledger::open_in_memory().await.expect("open");
    let m = jiff::SignedDuration::from_secs;
    let next = |after| {
        let ledger = ledger.clone();
        async move {
            ledger
                .next_handover_deadline(ts(after), m(100), m(30), m(600))
                .await
                .expect("next")
        }
    };
    assert_eq!(next(0).await, None);
    for r in [
        // email wait: 1000 + 100
        TicketRow {
            email_requested_at: Some(ts(1000)),
            ..row(1, TicketState::AwaitingEmail, 1)
        },
        // answer deadline: 1050 + 30
        TicketRow {
            pending_since: Some(ts(1050)),
            ..row(2, TicketState::Active, 1)
        },
        // order wait: 500 + 600
        TicketRow {
            last_bot_reply_at: Some(ts(500)),
            ..row(3, TicketState::AwaitingOrder, 1)
        },
        // Not waiting on anything the sweep hands over.
        TicketRow {
            pending_since: Some(ts(10)),
            email_requested_at: Some(ts(10)),
            ..row(4, TicketState::Escalated, 1)
        },
    ] {
        ledger.save_ticket(&r).await.expect("save");
    }
    assert_eq!(next(0).await, Some(ts(1080)));
    // Deadlines a sweep saw are the cron sweep's (a failed handover is not retried in a loop).
    assert_eq!(next(1080).await, Some(ts(1100)));
    assert_eq!(next(1100).await, None);
}
