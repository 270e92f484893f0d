//! Responder calls in flight. The daemon's worker does all ticket work one ticket at a time (so a
//! poll and a sweep never act on the same ticket at once), but an answer may take seconds: the
//! call runs here, in its own task, at most `concurrency` at a time and each within its
//! timeout, while the worker goes on with other tickets, closes and handovers. When a call
//! finishes, the ticket's id is signalled; the worker reads the ticket fresh, decides again, and
//! uses the outcome only if the customer's turn is still the one that was asked about. The
//! executor's idempotency keys still make each reply happen at most once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc};
use tokio::task::AbortHandle;

use crate::responder::{Outcome, Responder, Turn};

/// What a finished call gave.
#[derive(Debug, Clone, PartialEq)]
pub enum Answered {
    Outcome(Outcome),
    /// The responder failed or timed out (why, for the ledger's event).
    Failed(String),
}

/// The state of a ticket's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// The outcome for exactly this turn.
    Ready(Answered),
    /// A call for this turn is running (or was just started): decide when it finishes.
    Waiting,
}

enum Slot {
    Running {
        turn: Turn,
        call: u64,
        task: AbortHandle,
    },
    Done {
        turn: Turn,
        answered: Answered,
    },
}

struct Inner {
    slots: Mutex<HashMap<u64, Slot>>,
    next_call: Mutex<u64>,
    /// Woken whenever a call finishes (for [`InFlight::answer_by`]).
    finished: tokio::sync::Notify,
}

impl Inner {
    fn slots(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Slot>> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The calls in flight, one per ticket at most.
pub struct InFlight {
    timeout: Duration,
    permits: Arc<Semaphore>,
    inner: Arc<Inner>,
    done_tx: mpsc::UnboundedSender<u64>,
    done_rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<u64>>,
}

impl InFlight {
    /// At most `concurrency` calls at once (at least one), each given `timeout` once it runs.
    pub fn new(concurrency: usize, timeout: Duration) -> Self {
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        Self {
            timeout,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            inner: Arc::new(Inner {
                slots: Mutex::new(HashMap::new()),
                next_call: Mutex::new(0),
                finished: tokio::sync::Notify::new(),
            }),
            done_tx,
            done_rx: tokio::sync::Mutex::new(done_rx),
        }
    }

    /// The answer to ticket `id`'s `turn`: ready when a call for this very turn finished (it is
    /// handed out once), else `Waiting`, starting a call unless one for this turn is running.
    /// A call for another turn of the ticket (the customer wrote since) is dropped.
    pub fn answer(&self, id: u64, turn: &Turn, responder: &Arc<dyn Responder>) -> Progress {
        let mut slots = self.inner.slots();
        match slots.remove(&id) {
            Some(Slot::Done { turn: t, answered }) if &t == turn => {
                return Progress::Ready(answered);
            }
            Some(running @ Slot::Running { .. }) => {
                if let Slot::Running { turn: t, task, .. } = &running {
                    if t == turn {
                        slots.insert(id, running);
                        return Progress::Waiting;
                    }
                    task.abort();
                }
            }
            Some(Slot::Done { .. }) | None => {}
        }
        let call = {
            let mut n = self
                .inner
                .next_call
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            *n += 1;
            *n
        };
        let (responder, permits, inner, done) = (
            Arc::clone(responder),
            Arc::clone(&self.permits),
            Arc::clone(&self.inner),
            self.done_tx.clone(),
        );
        let (asked, timeout) = (turn.clone(), self.timeout);
        let task = tokio::spawn(async move {
            // The semaphore is never closed; a failure to acquire would only mean shutdown.
            let Ok(_permit) = permits.acquire_owned().await else {
                return;
            };
            let answered = match tokio::time::timeout(timeout, responder.answer(&asked)).await {
                Ok(Ok(outcome)) => Answered::Outcome(outcome),
                Ok(Err(e)) => Answered::Failed(e.to_string()),
                Err(_) => Answered::Failed("the responder timed out".to_owned()),
            };
            let mut slots = inner.slots();
            // Only if this call is still the one wanted (not replaced or forgotten meanwhile).
            if matches!(slots.get(&id), Some(Slot::Running { call: c, .. }) if *c == call) {
                slots.insert(
                    id,
                    Slot::Done {
                        turn: asked,
                        answered,
                    },
                );
                let _ = done.send(id);
                drop(slots);
                inner.finished.notify_waiters();
            }
        });
        slots.insert(
            id,
            Slot::Running {
                turn: turn.clone(),
                call,
                task: task.abort_handle(),
            },
        );
        Progress::Waiting
    }

    /// [`InFlight::answer`], waiting until `by` at the latest for a call it started (or found
    /// running) to finish: a responder that answers quickly (the knowledge base decides in
    /// milliseconds) is `Ready` on the caller's read of the ticket. `Waiting` when the call
    /// is still running at `by` (its finish is signalled as usual), or was dropped meanwhile.
    pub async fn answer_by(
        &self,
        id: u64,
        turn: &Turn,
        responder: &Arc<dyn Responder>,
        by: tokio::time::Instant,
    ) -> Progress {
        let first = self.answer(id, turn, responder);
        if first != Progress::Waiting {
            return first;
        }
        loop {
            // Registered before the slot is looked at, so a finish in between is not missed.
            let finished = self.inner.finished.notified();
            tokio::pin!(finished);
            finished.as_mut().enable();
            {
                let mut slots = self.inner.slots();
                match slots.get(&id) {
                    Some(Slot::Done { turn: t, .. }) if t == turn => {
                        if let Some(Slot::Done { answered, .. }) = slots.remove(&id) {
                            return Progress::Ready(answered);
                        }
                    }
                    Some(Slot::Running { turn: t, .. }) if t == turn => {}
                    _ => return Progress::Waiting,
                }
            }
            if tokio::time::timeout_at(by, finished).await.is_err() {
                return Progress::Waiting;
            }
        }
    }

    /// A finished call's outcome is waiting to be decided. A finish signal for a ticket
    /// without one is stale: its outcome was already used (on the read it was asked from, or
    /// by a poll that read the ticket meanwhile), or the call was dropped or replaced.
    pub fn is_done(&self, id: u64) -> bool {
        matches!(self.inner.slots().get(&id), Some(Slot::Done { .. }))
    }

    /// A call for ticket `id` is running, or finished and not yet decided: its ticket will be
    /// read again when it is decided.
    pub fn has_call(&self, id: u64) -> bool {
        self.inner.slots().contains_key(&id)
    }

    /// Ticket `id` needs no answer any more (an agent took it, it closed): drop its call.
    pub fn forget(&self, id: u64) {
        if let Some(Slot::Running { task, .. }) = self.inner.slots().remove(&id) {
            task.abort();
        }
    }

    /// How many calls are running or waiting for a permit.
    pub fn running(&self) -> usize {
        self.inner
            .slots()
            .values()
            .filter(|s| matches!(s, Slot::Running { .. }))
            .count()
    }

    /// The next ticket whose call finished. Cancel-safe (for `select!`).
    pub async fn next_done(&self) -> Option<u64> {
        self.done_rx.lock().await.recv().await
    }

    /// A ticket whose call already finished, without waiting.
    pub fn try_done(&self) -> Option<u64> {
        self.done_rx.try_lock().ok()?.try_recv().ok()
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        for slot in self.inner.slots().values() {
            if let Slot::Running { task, .. } = slot {
                task.abort();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::responder::AnswerFuture;
    use tokio::sync::Notify;

    /// Answers "slow" only when released; everything else at once, echoing the text.
    struct Gate {
        release: Arc<Notify>,
    }

    impl Responder for Gate {
        fn name(&self) -> &str {
            "gate"
        }
        fn answer<'a>(&'a self, turn: &'a Turn) -> AnswerFuture<'a> {
            Box::pin(async move {
                if turn.text() == "slow" {
                    self.release.notified().await;
                }
                Ok(Outcome::Answer {
                    text: turn.text(),
                    sources: vec![],
                    score: 1.0,
                })
            })
        }
    }

    /// An `InFlight` and the responder its calls use.
    struct Fixture {
        f: InFlight,
        r: Arc<dyn Responder>,
    }

    impl Fixture {
        fn new(release: Arc<Notify>, concurrency: usize, timeout: Duration) -> Self {
            Self {
                f: InFlight::new(concurrency, timeout),
                r: Arc::new(Gate { release }),
            }
        }
        fn answer(&self, id: u64, turn: &Turn) -> Progress {
            self.f.answer(id, turn, &self.r)
        }
    }

    impl std::ops::Deref for Fixture {
        type Target = InFlight;
        fn deref(&self) -> &InFlight {
            &self.f
        }
    }

    fn echo(text: &str) -> Progress {
        Progress::Ready(Answered::Outcome(Outcome::Answer {
            text: text.into(),
            sources: vec![],
            score: 1.0,
        }))
    }

    async fn done_within(f: &InFlight) -> u64 {
        tokio::time::timeout(Duration::from_secs(10), f.next_done())
            .await
            .expect("a call finishes")
            .expect("channel open")
    }

    #[tokio::test]
    async fn a_slow_call_does_not_hold_another_tickets_answer() {
        let release = Arc::new(Notify::new());
        let f = Fixture::new(release.clone(), 2, Duration::from_secs(60));
        let (slow, fast) = (Turn::from_message("slow"), Turn::from_message("fast"));
        assert_eq!(f.answer(1, &slow), Progress::Waiting);
        assert_eq!(f.answer(2, &fast), Progress::Waiting);
        assert_eq!(done_within(&f).await, 2, "the fast ticket finishes first");
        assert_eq!(f.answer(2, &fast), echo("fast"));
        assert_eq!(f.answer(1, &slow), Progress::Waiting, "still running");
        assert_eq!(f.running(), 1);
        release.notify_one();
        assert_eq!(done_within(&f).await, 1);
        assert_eq!(f.answer(1, &slow), echo("slow"));
    }

    #[tokio::test]
    async fn the_bound_queues_calls_beyond_it() {
        let release = Arc::new(Notify::new());
        let f = Fixture::new(release.clone(), 1, Duration::from_secs(60));
        f.answer(1, &Turn::from_message("slow"));
        f.answer(2, &Turn::from_message("fast"));
        // With one permit held by the slow call, the fast one cannot finish first.
        tokio::task::yield_now().await;
        assert!(f.try_done().is_none());
        release.notify_one();
        assert_eq!(done_within(&f).await, 1);
        assert_eq!(done_within(&f).await, 2);
    }

    #[tokio::test]
    async fn an_outcome_for_an_older_turn_is_never_handed_out() {
        let release = Arc::new(Notify::new());
        let f = Fixture::new(release.clone(), 4, Duration::from_secs(60));
        f.answer(1, &Turn::from_message("first"));
        assert_eq!(done_within(&f).await, 1);
        // The customer wrote again before the worker used the outcome.
        let newer = Turn {
            messages: vec!["first".into(), "second".into()],
            ..Turn::default()
        };
        assert_eq!(f.answer(1, &newer), Progress::Waiting);
        assert_eq!(done_within(&f).await, 1);
        assert_eq!(f.answer(1, &newer), echo("first\nsecond"));
    }

    #[tokio::test]
    async fn a_call_past_its_timeout_fails_and_a_forgotten_one_never_signals() {
        let release = Arc::new(Notify::new());
        let f = Fixture::new(release.clone(), 4, Duration::from_millis(50));
        let slow = Turn::from_message("slow");
        f.answer(1, &slow);
        assert_eq!(done_within(&f).await, 1);
        assert_eq!(
            f.answer(1, &slow),
            Progress::Ready(Answered::Failed("the responder timed out".into()))
        );
        // Ticket 2's call is dropped before its timeout; ticket 3's, started after it, is the
        // first (and only) to signal.
        f.answer(2, &slow);
        f.forget(2);
        f.answer(3, &slow);
        assert_eq!(done_within(&f).await, 3);
        assert_eq!(f.running(), 0);
    }
}
