//! The one error type of the Gorgias boundary. Each variant tells the caller its next move.

use std::time::Duration;

/// What went wrong talking to Gorgias. `method` and `path` name the request; `msg` is Gorgias's
/// own `error.msg` when the body had one. Never carries the API key.
#[derive(Debug, thiserror::Error)]
pub enum GorgiasError {
    /// 429: wait `retry_after` before any further request.
    #[error("{method} {path}: rate limited (429), retry after {retry_after:?}")]
    RateLimited {
        method: String,
        path: String,
        retry_after: Duration,
    },
    /// 401/403: the key is wrong or lacks the role. Not transient.
    #[error("{method} {path}: unauthorized ({status}): {msg}")]
    Unauthorized {
        method: String,
        path: String,
        status: u16,
        msg: String,
    },
    /// 404: the resource is gone (or the base URL is wrong).
    #[error("{method} {path}: not found: {msg}")]
    NotFound {
        method: String,
        path: String,
        msg: String,
    },
    /// 409: e.g. another customer already has this email.
    #[error("{method} {path}: conflict: {msg}")]
    Conflict {
        method: String,
        path: String,
        msg: String,
    },
    /// 400/413/422 and other 4xx: Gorgias refused the request as invalid. Not transient.
    #[error("{method} {path}: rejected ({status}): {msg}")]
    BadRequest {
        method: String,
        path: String,
        status: u16,
        msg: String,
    },
    /// 5xx: transient on Gorgias's side.
    #[error("{method} {path}: server error ({status}): {msg}")]
    Server {
        method: String,
        path: String,
        status: u16,
        msg: String,
    },
    /// No answer within the configured timeout.
    #[error("{method} {path}: timed out")]
    Timeout { method: String, path: String },
    /// The response body stopped arriving for `after` (a stalled read): transient.
    #[error("{method} {path}: the response stalled (nothing received for {after:?})")]
    Stalled {
        method: String,
        path: String,
        after: Duration,
    },
    /// The response body was larger than `gorgias.max_body`; it was not read. Not retried at
    /// once (the same request would get the same answer); the next poll asks again.
    #[error("{method} {path}: response larger than {limit} bytes (gorgias.max_body); not read")]
    TooLarge {
        method: String,
        path: String,
        limit: usize,
    },
    /// Connection refused, reset, DNS, TLS...
    #[error("{method} {path}: transport error: {detail}")]
    Transport {
        method: String,
        path: String,
        detail: String,
    },
    /// A 2xx whose body did not parse as what the API promises.
    #[error("{method} {path}: could not decode the response: {detail}")]
    Decode {
        method: String,
        path: String,
        detail: String,
    },
    /// A 2xx whose body reads fine but shows the write did not take (e.g. the assignee a PUT
    /// answers with is not the one asked for). Transient: the step stays pending, is checked
    /// against the ticket and tried again on the next poll.
    #[error("{method} {path}: the answer shows the write did not take: {detail}")]
    NotApplied {
        method: String,
        path: String,
        detail: String,
    },
    /// `Client::new` refused its configuration (bad base URL, zero rate, unusable credentials).
    /// The detail never contains the API key.
    #[error("invalid Gorgias client configuration: {detail}")]
    InvalidConfig { detail: String },
}

impl GorgiasError {
    /// Worth trying again later (rate limit, 5xx, timeout, connection trouble).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. }
                | Self::Server { .. }
                | Self::Timeout { .. }
                | Self::Stalled { .. }
                | Self::Transport { .. }
                | Self::NotApplied { .. }
        )
    }
    /// The HTTP status, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::RateLimited { .. } => Some(429),
            Self::Unauthorized { status, .. }
            | Self::BadRequest { status, .. }
            | Self::Server { status, .. } => Some(*status),
            Self::NotFound { .. } => Some(404),
            Self::Conflict { .. } => Some(409),
            _ => None,
        }
    }
}
