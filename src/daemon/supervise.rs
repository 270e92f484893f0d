//! The process's long-lived tasks under one watch: the worker, the HTTP listener, the signal
//! handler. They are meant to run until the cancellation token fires; one that ends before
//! (an error, a panic, or a return nobody asked for) stops all the others, and the process
//! exits with a reason naming that task, instead of living on half-dead (a bot that polls
//! with no `/healthz`, or a listener saying "ok" for a worker that stopped).

use std::future::Future;
use std::time::Duration;
use tokio::task::{Id, JoinSet};
use tokio_util::sync::CancellationToken;

/// Named tasks sharing one cancellation token; see the module doc.
pub struct Supervisor {
    cancel: CancellationToken,
    tasks: JoinSet<anyhow::Result<()>>,
    names: Vec<(Id, &'static str)>,
    grace: Duration,
}

impl Supervisor {
    /// Tasks stopped by `cancel`; each gets `grace` to end once it fires, then is aborted.
    pub fn new(cancel: CancellationToken, grace: Duration) -> Supervisor {
        Supervisor {
            cancel,
            tasks: JoinSet::new(),
            names: Vec::new(),
            grace,
        }
    }

    /// Runs `task` under the name `name` ("worker", "http server"). It should end only once
    /// the token is cancelled.
    pub fn spawn(
        &mut self,
        name: &'static str,
        task: impl Future<Output = anyhow::Result<()>> + Send + 'static,
    ) {
        let id = self.tasks.spawn(task).id();
        self.names.push((id, name));
    }

    /// The name of a task that ended (no longer counted as running).
    fn ended(&mut self, id: Id) -> &'static str {
        match self.names.iter().position(|(i, _)| *i == id) {
            Some(at) => self.names.remove(at).1,
            None => "unnamed",
        }
    }

    /// Waits for the first task to end. If the token was not cancelled by then, that task
    /// died: the token is cancelled and the result is an error naming it. Then waits (up to
    /// the grace period) for the others. The result is the first error, if any: the dead
    /// task's, or the one a task ended with while stopping.
    pub async fn run(mut self) -> anyhow::Result<()> {
        let mut first: Option<anyhow::Error> = None;
        if let Some(joined) = self.tasks.join_next_with_id().await {
            let cancelled = self.cancel.is_cancelled();
            let (name, outcome) = match joined {
                Ok((id, r)) => (self.ended(id), r),
                Err(e) => (self.ended(e.id()), Err(joined_error(e))),
            };
            first = match outcome {
                Err(e) => Some(e.context(format!("the {name} task failed"))),
                Ok(()) if !cancelled => Some(anyhow::anyhow!(
                    "the {name} task stopped on its own; stopping the others"
                )),
                Ok(()) => None,
            };
            if let Some(e) = &first {
                tracing::error!("{e:#}");
            }
        }
        self.cancel.cancel();
        let grace = tokio::time::sleep(self.grace);
        tokio::pin!(grace);
        loop {
            tokio::select! {
                joined = self.tasks.join_next_with_id() => {
                    let Some(joined) = joined else { break };
                    let (name, outcome) = match joined {
                        Ok((id, r)) => (self.ended(id), r),
                        Err(e) => (self.ended(e.id()), Err(joined_error(e))),
                    };
                    if let Err(e) = outcome {
                        let e = e.context(format!("the {name} task failed while stopping"));
                        match &first {
                            None => first = Some(e),
                            Some(_) => tracing::error!("{e:#}"),
                        }
                    }
                }
                _ = &mut grace => {
                    let left: Vec<&str> = self.names.iter().map(|(_, n)| *n).collect();
                    tracing::warn!(tasks = ?left, "tasks still running after the grace period; aborting them");
                    self.tasks.abort_all();
                    break;
                }
            }
        }
        match first {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// A task that panicked or was aborted, in words.
fn joined_error(e: tokio::task::JoinError) -> anyhow::Error {
    if e.is_panic() {
        let panic = e.into_panic();
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a non-text payload".into());
        anyhow::anyhow!("panicked: {what}")
    } else {
        anyhow::anyhow!("was aborted")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LONG: Duration = Duration::from_secs(30);

    /// A task that runs until the token fires, then says it stopped.
    fn until_cancelled(
        cancel: &CancellationToken,
        stopped: &std::sync::Arc<std::sync::atomic::AtomicBool>,
    ) -> impl Future<Output = anyhow::Result<()>> + Send + 'static {
        let (cancel, stopped) = (cancel.clone(), stopped.clone());
        async move {
            cancel.cancelled().await;
            stopped.store(true, std::sync::atomic::Ordering::SeqCst);
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_task_that_fails_stops_the_others_with_its_name() {
        let cancel = CancellationToken::new();
        let stopped = Default::default();
        let mut s = Supervisor::new(cancel.clone(), LONG);
        s.spawn("worker", until_cancelled(&cancel, &stopped));
        s.spawn("http server", async {
            Err(anyhow::anyhow!("accept: too many open files"))
        });
        let err = tokio::time::timeout(LONG, s.run())
            .await
            .unwrap()
            .unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("the http server task failed"), "{text}");
        assert!(text.contains("too many open files"), "{text}");
        assert!(cancel.is_cancelled());
        assert!(stopped.load(std::sync::atomic::Ordering::SeqCst));
    }

    #[tokio::test]
    async fn a_task_that_panics_or_returns_early_is_named() {
        let cancel = CancellationToken::new();
        let stopped = Default::default();
        let mut s = Supervisor::new(cancel.clone(), LONG);
        s.spawn("worker", until_cancelled(&cancel, &stopped));
        s.spawn("http server", async { panic!("listener gone") });
        let err = s.run().await.unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("the http server task failed"), "{text}");
        assert!(text.contains("panicked: listener gone"), "{text}");

        let cancel = CancellationToken::new();
        let mut s = Supervisor::new(cancel.clone(), LONG);
        s.spawn("worker", until_cancelled(&cancel, &stopped));
        s.spawn("signal handler", async { Ok(()) });
        let err = s.run().await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "the signal handler task stopped on its own; stopping the others"
        );
    }

    #[tokio::test]
    async fn cancelling_stops_every_task_cleanly_and_keeps_a_late_error() {
        let cancel = CancellationToken::new();
        let stopped = Default::default();
        let mut s = Supervisor::new(cancel.clone(), LONG);
        s.spawn("worker", until_cancelled(&cancel, &stopped));
        s.spawn("http server", until_cancelled(&cancel, &stopped));
        cancel.cancel();
        s.run().await.unwrap();

        // The worker may end with an error of its own as it stops: that is the result.
        let cancel = CancellationToken::new();
        let mut s = Supervisor::new(cancel.clone(), LONG);
        s.spawn("http server", until_cancelled(&cancel, &stopped));
        let c = cancel.clone();
        s.spawn("worker", async move {
            c.cancelled().await;
            Err(anyhow::anyhow!("the ledger cannot be written"))
        });
        cancel.cancel();
        let err = s.run().await.unwrap_err();
        assert!(format!("{err:#}").contains("the worker task failed while stopping"));
    }

    /// The real listener: when it stops while the daemon runs, the worker is stopped and the
    /// reason names the listener.
    #[tokio::test]
    async fn a_listener_that_stops_alone_stops_the_worker() {
        let cancel = CancellationToken::new();
        let state = crate::http::HttpState::new(
            std::sync::Arc::new(crate::health::Health::new(Duration::from_secs(1))),
            Default::default(),
            None,
        )
        .unwrap();
        // The listener's own token: cancelled below as if it died on its own.
        let listener_stop = CancellationToken::new();
        let server =
            crate::http::serve("127.0.0.1:0".parse().unwrap(), state, listener_stop.clone())
                .await
                .unwrap();
        let stopped = Default::default();
        let mut s = Supervisor::new(cancel.clone(), LONG);
        s.spawn("worker", until_cancelled(&cancel, &stopped));
        s.spawn("http server", server.wait());
        listener_stop.cancel();
        let err = tokio::time::timeout(LONG, s.run())
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the http server task stopped on its own; stopping the others"
        );
        assert!(stopped.load(std::sync::atomic::Ordering::SeqCst));
    }

    #[tokio::test]
    async fn a_task_that_ignores_the_token_is_aborted_after_the_grace() {
        let cancel = CancellationToken::new();
        let mut s = Supervisor::new(cancel.clone(), Duration::from_millis(50));
        s.spawn("stuck", std::future::pending());
        s.spawn("worker", async { Err(anyhow::anyhow!("boom")) });
        let err = tokio::time::timeout(LONG, s.run())
            .await
            .unwrap()
            .unwrap_err();
        assert!(format!("{err:#}").contains("the worker task failed: boom"));
    }
}
