//! Reading an HTTP response body from an untrusted peer (Gorgias, an LLM server, a web page)
//! with a size cap and a stall timeout. Every body the daemon reads goes through
//! [`read_capped`]: a peer that sends 400 MB, or one byte a minute, costs at most `limit` bytes
//! of memory and `stall` of waiting per chunk, never the process. [`transport_detail`] says
//! what went wrong with a request that failed on the way.

use std::time::Duration;

/// Why a body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The peer announced or sent more than the cap.
    #[error("response body larger than {limit} bytes")]
    TooLarge { limit: usize },
    /// No byte arrived for `after`: the peer stalled mid-body.
    #[error("response body stalled: nothing received for {after:?}")]
    Stalled { after: Duration },
    /// The connection failed while reading.
    #[error("reading the response body: {0}")]
    Transport(#[source] reqwest::Error),
}

/// A failed request's error with each of its causes (refused, DNS, TLS, ...): reqwest's own
/// message is terse ("error sending request") and the cause is in its source chain. The URL is
/// left out: the caller names the request its own way.
pub fn transport_detail(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        detail.push_str(": ");
        detail.push_str(&s.to_string());
        source = s.source();
    }
    detail
}

/// Reads `resp`'s body whole, failing as soon as it exceeds `limit` bytes (checked against
/// `Content-Length` before reading, and again as chunks arrive) or when no chunk arrives for
/// `stall`.
pub async fn read_capped(
    mut resp: reqwest::Response,
    limit: usize,
    stall: Duration,
) -> Result<Vec<u8>, BodyError> {
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge { limit });
    }
    // Start small: the announced length is a hint from the peer, not a promise.
    let hint = resp.content_length().unwrap_or(0).min(64 * 1024) as usize;
    let mut body = Vec::with_capacity(hint);
    loop {
        let chunk = match tokio::time::timeout(stall, resp.chunk()).await {
            Err(_) => return Err(BodyError::Stalled { after: stall }),
            Ok(Err(e)) => return Err(BodyError::Transport(e)),
            Ok(Ok(None)) => return Ok(body),
            Ok(Ok(Some(chunk))) => chunk,
        };
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A loopback server that answers one request with `head` then writes `chunks`, pausing
    /// `gap` between them.
    async fn serve_once(head: String, chunks: Vec<Vec<u8>>, gap: Duration) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.expect("accept");
            let mut buf = [0u8; 4096];
            let _ = sock.read(&mut buf).await;
            let _ = sock.write_all(head.as_bytes()).await;
            for c in chunks {
                tokio::time::sleep(gap).await;
                if sock.write_all(&c).await.is_err() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_secs(5)).await;
        });
        format!("http://{addr}/")
    }

    async fn get(url: &str) -> reqwest::Response {
        reqwest::Client::new().get(url).send().await.expect("send")
    }

    #[tokio::test]
    async fn a_body_within_the_cap_is_read_whole() {
        let url = serve_once(
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n".into(),
            vec![b"hello".to_vec()],
            Duration::ZERO,
        )
        .await;
        let body = read_capped(get(&url).await, 5, Duration::from_secs(2)).await;
        assert_eq!(body.expect("read"), b"hello");
    }

    #[tokio::test]
    async fn an_announced_length_over_the_cap_is_refused_before_reading() {
        let url = serve_once(
            "HTTP/1.1 200 OK\r\nContent-Length: 400000000\r\n\r\n".into(),
            vec![],
            Duration::ZERO,
        )
        .await;
        let err = read_capped(get(&url).await, 1024, Duration::from_secs(2)).await;
        assert!(
            matches!(err, Err(BodyError::TooLarge { limit: 1024 })),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn a_chunked_body_growing_past_the_cap_stops_at_the_cap() {
        let chunk = |n: usize| format!("{n:x}\r\n{}\r\n", "x".repeat(n)).into_bytes();
        let url = serve_once(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".into(),
            vec![chunk(600), chunk(600), chunk(600)],
            Duration::ZERO,
        )
        .await;
        let err = read_capped(get(&url).await, 1024, Duration::from_secs(2)).await;
        assert!(matches!(err, Err(BodyError::TooLarge { .. })), "{err:?}");
    }

    #[tokio::test]
    async fn a_stalled_body_times_out() {
        let url = serve_once(
            "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc".into(),
            vec![b"def".to_vec()],
            Duration::from_secs(3),
        )
        .await;
        let err = read_capped(get(&url).await, 1024, Duration::from_millis(300)).await;
        assert!(matches!(err, Err(BodyError::Stalled { .. })), "{err:?}");
    }
}
