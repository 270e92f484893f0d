//! The optional HTTP listener (`[http] listen`): `GET /healthz` (are polls succeeding?),
//! `GET /metrics` (Prometheus text) and `POST /webhook` (a Gorgias HTTP integration's hint that
//! something changed). `/healthz` reads the [`Health`] picture the daemon updates after each poll.
//!
//! It must not act on tickets: a webhook only wakes the poller early (the daemon's `poke`), and
//! polling stays the truth, so a forged, lost or duplicated webhook can at worst cost one poll.
//!
//! It must not be starved either: at most [`Limits::max_connections`] connections are open at
//! once (the rest wait in the kernel's accept queue, costing the process no file handle), and a
//! connection must deliver each request in full (headers and body) within
//! [`Limits::request_timeout`] of opening or of the previous response, or it is closed. So
//! slow or idle clients, however many, cannot hold the file handles the bot needs for Gorgias
//! and its ledger, and `/healthz` answers once a slot frees.

pub use crate::health::Health;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use metrics_exporter_prometheus::PrometheusHandle;
use secrecy::{ExposeSecret as _, SecretString};
use std::future::IntoFuture as _;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use subtle::ConstantTimeEq as _;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The header a Gorgias HTTP integration sends the shared secret in.
pub const SECRET_HEADER: &str = "x-perfectbot-secret";

/// How often histograms are folded (without it their buffers grow between scrapes).
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// What the handlers need.
#[derive(Clone)]
pub struct HttpState {
    pub health: Arc<Health>,
    /// Notified by a valid webhook: wakes the daemon's worker for an early poll.
    pub poke: Arc<Notify>,
    /// `None`: `/webhook` answers 404.
    pub webhook_secret: Option<SecretString>,
    pub metrics: PrometheusHandle,
}

impl HttpState {
    /// The state for a running daemon (its `health` and `poke`, `http.webhook_secret`);
    /// installs the Prometheus recorder if not yet done.
    pub fn new(
        health: Arc<Health>,
        poke: Arc<Notify>,
        webhook_secret: Option<SecretString>,
    ) -> anyhow::Result<HttpState> {
        Ok(HttpState {
            health,
            poke,
            webhook_secret,
            metrics: crate::metrics::install()?,
        })
    }
}

/// How much the listener lets its clients hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections open at once. The unit's `LimitNOFILE=` leaves room above this for the
    /// ledger, the Gorgias and LLM connections and the knowledge files.
    pub max_connections: usize,
    /// The time a connection has to deliver a whole request (headers and body), counted from
    /// when it was accepted or last answered; also how long an idle keep-alive connection stays.
    pub request_timeout: Duration,
}

impl Limits {
    /// 256 connections (a scraper, a health check and Gorgias's webhooks need a handful) and
    /// 10 s per request (a webhook body is a few kilobytes).
    pub const DEFAULT: Limits = Limits {
        max_connections: 256,
        request_timeout: Duration::from_secs(10),
    };
}

/// A running listener.
pub struct Server {
    /// Where it listens (the real port when asked for port 0).
    pub addr: SocketAddr,
    /// Ends once the cancellation token fires and open requests are done.
    pub task: JoinHandle<std::io::Result<()>>,
    permits: Arc<Semaphore>,
    limits: Limits,
}

impl Server {
    /// Waits for the listener to end: `Ok` when it stopped (normally: the cancellation token
    /// fired and open requests are done), else why it failed.
    pub async fn wait(self) -> anyhow::Result<()> {
        let addr = self.addr;
        match self.task.await {
            Ok(served) => served.map_err(|e| anyhow::anyhow!("serving on {addr}: {e}")),
            Err(e) => Err(anyhow::anyhow!("the listener on {addr}: {e}")),
        }
    }

    /// Connections open right now (accepted and not yet closed).
    pub fn open_connections(&self) -> usize {
        self.limits
            .max_connections
            .saturating_sub(self.permits.available_permits())
    }
}

/// Bind `listen` and serve `/healthz`, `/metrics` and `/webhook` until `cancel` (graceful: open
/// requests finish), within [`Limits::DEFAULT`]. Also runs the metrics upkeep while it lives.
pub async fn serve(
    listen: SocketAddr,
    state: HttpState,
    cancel: CancellationToken,
) -> anyhow::Result<Server> {
    serve_with_limits(listen, state, cancel, Limits::DEFAULT).await
}

/// [`serve`] with other limits (tests use small ones).
pub async fn serve_with_limits(
    listen: SocketAddr,
    state: HttpState,
    cancel: CancellationToken,
    limits: Limits,
) -> anyhow::Result<Server> {
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("http.listen: cannot listen on {listen}: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| anyhow::anyhow!("http.listen: {listen}: {e}"))?;
    // Part of the listener's task: it lives and ends with the listener.
    let upkeep = {
        let handle = state.metrics.clone();
        let cancel = cancel.clone();
        async move {
            let mut tick = tokio::time::interval(UPKEEP_EVERY);
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = tick.tick() => handle.run_upkeep(),
                }
            }
        }
    };
    let app = router(state);
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let limited = LimitedListener {
        inner: listener,
        permits: permits.clone(),
        request_timeout: limits.request_timeout,
    };
    let task = tokio::spawn(async move {
        let served = axum::serve(limited, app)
            .with_graceful_shutdown(async move { cancel.cancelled().await })
            .into_future();
        tokio::join!(served, upkeep).0
    });
    tracing::info!(%addr, max_connections = limits.max_connections,
        "http listener up: /healthz, /metrics, /webhook");
    Ok(Server {
        addr,
        task,
        permits,
        limits: Limits {
            max_connections: limits.max_connections.max(1),
            ..limits
        },
    })
}

/// Accepts a connection only while a permit is free; each connection carries its permit and a
/// request deadline.
struct LimitedListener {
    inner: TcpListener,
    permits: Arc<Semaphore>,
    request_timeout: Duration,
}

impl axum::serve::Listener for LimitedListener {
    type Io = Deadlined;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Deadlined, SocketAddr) {
        // Waiting for a permit before accepting leaves the surplus in the kernel's queue.
        let permit = match self.permits.clone().acquire_owned().await {
            Ok(p) => p,
            // Never closed; if it were, accept nothing more.
            Err(_) => std::future::pending().await,
        };
        loop {
            match self.inner.accept().await {
                Ok((io, addr)) => return (Deadlined::new(io, permit, self.request_timeout), addr),
                Err(e) => {
                    // Out of file handles and the like: wait, as axum's own listener does.
                    tracing::warn!(error = %e, "http: accept failed; retrying in 1 s");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// A connection that fails (and is closed) when a request is not in within the deadline: the
/// deadline starts at accept and starts again each time a response is written.
struct Deadlined {
    io: TcpStream,
    deadline: Pin<Box<tokio::time::Sleep>>,
    timeout: Duration,
    _permit: OwnedSemaphorePermit,
}

impl Deadlined {
    fn new(io: TcpStream, permit: OwnedSemaphorePermit, timeout: Duration) -> Deadlined {
        Deadlined {
            io,
            deadline: Box::pin(tokio::time::sleep(timeout)),
            timeout,
            _permit: permit,
        }
    }

    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        self.deadline.as_mut().poll(cx).is_ready()
    }
}

fn timed_out() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        "http: request not received in time",
    )
}

impl AsyncRead for Deadlined {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.expired(cx) {
            return Poll::Ready(Err(timed_out()));
        }
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Deadlined {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if self.expired(cx) {
            return Poll::Ready(Err(timed_out()));
        }
        let written = Pin::new(&mut self.io).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = written
            && n > 0
        {
            // A response is going out: the next request gets a fresh deadline.
            let next = tokio::time::Instant::now() + self.timeout;
            self.deadline.as_mut().reset(next);
        }
        written
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// The routes, for `serve` and for tests that drive the router directly.
pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/webhook", post(webhook))
        // A hint is a few hundred bytes; axum's default (2 MB) times the connection limit would
        // let clients hold half a gigabyte.
        .layer(axum::extract::DefaultBodyLimit::max(MAX_WEBHOOK_BODY))
        .with_state(state)
}

/// The largest `/webhook` body read; a larger one is refused with 413.
pub const MAX_WEBHOOK_BODY: usize = 64 * 1024;

async fn healthz(State(s): State<HttpState>) -> Response {
    match s.health.check() {
        Ok(()) => (StatusCode::OK, "ok\n").into_response(),
        Err(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("{why}\n")).into_response(),
    }
}

async fn metrics(State(s): State<HttpState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.metrics.render(),
    )
        .into_response()
}

async fn webhook(State(s): State<HttpState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(secret) = &s.webhook_secret else {
        return (StatusCode::NOT_FOUND, "webhook disabled\n").into_response();
    };
    let given = headers
        .get(SECRET_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    // Constant time in the content; only the length can show (subtle stops early on it).
    if !bool::from(given.ct_eq(secret.expose_secret().as_bytes())) {
        tracing::warn!("webhook: missing or wrong {SECRET_HEADER}; ignored");
        return (StatusCode::UNAUTHORIZED, "missing or wrong secret\n").into_response();
    }
    let ticket_id = match parse_hint(&body) {
        Ok(id) => id,
        Err(why) => {
            tracing::warn!(error = %why, "webhook: bad body; ignored");
            return (StatusCode::BAD_REQUEST, format!("{why}\n")).into_response();
        }
    };
    match &ticket_id {
        Some(id) => tracing::info!(ticket_id = %id, "webhook: waking the poller"),
        None => tracing::info!("webhook: waking the poller"),
    }
    s.poke.notify_one();
    (StatusCode::ACCEPTED, "poll scheduled\n").into_response()
}

/// The body must be a JSON object; `ticket_id`, if present, a number or a string. Returns the
/// ticket id, for the log line only.
fn parse_hint(body: &[u8]) -> Result<Option<String>, String> {
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let obj = v
        .as_object()
        .ok_or_else(|| "the body must be a JSON object".to_string())?;
    match obj.get("ticket_id") {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Number(n)) => Ok(Some(n.to_string())),
        Some(serde_json::Value::String(s)) => Ok(Some(s.chars().take(40).collect())),
        Some(_) => Err("ticket_id must be a number or a string".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_body_must_be_an_object_with_a_plain_ticket_id() {
        assert_eq!(parse_hint(b"{}"), Ok(None));
        assert_eq!(parse_hint(br#"{"ticket_id": 42}"#), Ok(Some("42".into())));
        assert_eq!(parse_hint(br#"{"ticket_id": "42"}"#), Ok(Some("42".into())));
        assert!(parse_hint(b"not json").is_err());
        assert!(parse_hint(b"[1,2]").is_err());
        assert!(parse_hint(br#"{"ticket_id": [1]}"#).is_err());
        assert!(parse_hint(b"").is_err());
    }
}
