//! Every Discord REST call goes through this in-process relay, in both modes.
//!
//! Why: with `api_base_url` set, serenity's rate limiter must be off (it ignores the proxy
//! setting), and serenity then returns a 429 as an error whose `retry_after` is already lost;
//! with the rate limiter on, serenity retries 429s forever without jitter. The relay sits
//! between serenity's HTTP client and the real API: serenity sends to `http://127.0.0.1:<port>`,
//! the relay forwards to the API base and, on a 429, waits `retry_after` (header or JSON body)
//! plus jitter and tries again, a bounded number of times. 502/503/504 (the request did not
//! reach Discord's application) and connection failures are retried with backoff too. A 500 is
//! returned as is: the request may have been carried out, and a retried POST would post twice.

use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tracing::{debug, warn};

/// Request bodies (attachments, command lists) larger than this are refused.
const MAX_BODY: usize = 32 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// A 429 asking for a longer wait than this is returned to the caller instead.
    pub max_wait: Duration,
    /// First backoff for 5xx and connection failures; doubles per attempt.
    pub backoff: Duration,
    /// Each attempt's timeout.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 4,
            max_wait: Duration::from_secs(30),
            backoff: Duration::from_millis(250),
            timeout: Duration::from_secs(30),
        }
    }
}

struct Inner {
    base: String,
    client: reqwest::Client,
    policy: RetryPolicy,
}

/// A running relay; dropping it stops it.
pub struct Relay {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Relay {
    /// Starts a relay on a free loopback port that forwards to `base` (e.g.
    /// `https://discord.com`).
    pub async fn start(base: &str, policy: RetryPolicy) -> std::io::Result<Relay> {
        let client = reqwest::Client::builder()
            .timeout(policy.timeout)
            .build()
            .map_err(std::io::Error::other)?;
        let inner = Arc::new(Inner {
            base: base.trim_end_matches('/').to_string(),
            client,
            policy,
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let app = Router::new().fallback(forward).with_state(inner);
        // Answers go back at once: with Nagle on, a response written in pieces can wait for
        // the client's delayed ACK (40 ms on Linux).
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                warn!(error = %e, "Discord REST relay stopped");
            }
        });
        Ok(Relay { addr, task })
    }

    /// What serenity uses as its proxy base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Headers that belong to one hop, not to the request.
fn hop_by_hop(name: &HeaderName) -> bool {
    name == header::HOST
        || name == header::CONTENT_LENGTH
        || name == header::CONNECTION
        || name == header::TRANSFER_ENCODING
        || name.as_str() == "keep-alive"
}

/// Seconds to wait before retrying a 429: `Retry-After` header, else the JSON body's
/// `retry_after` (Discord sends both; proxies may keep only one), else one second.
pub fn retry_after(headers: &HeaderMap, body: &[u8]) -> Duration {
    let from_header = headers
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok());
    let from_body = || {
        serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("retry_after").and_then(serde_json::Value::as_f64))
    };
    let secs = from_header.or_else(from_body).unwrap_or(1.0);
    if secs.is_finite() && secs >= 0.0 {
        Duration::from_secs_f64(secs.min(86_400.0))
    } else {
        Duration::from_secs(1)
    }
}

/// Up to 25% extra, so that callers limited together do not retry in lock-step.
fn jitter(d: Duration) -> Duration {
    let r = std::collections::hash_map::RandomState::new().build_hasher().finish();
    let quarter = d.as_micros() / 4;
    let extra = if quarter == 0 {
        u128::from(r % 20_000)
    } else {
        u128::from(r) % quarter
    };
    d + Duration::from_micros(u64::try_from(extra).unwrap_or(0))
}

fn error_response(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({"message": message, "code": 0}).to_string();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn forward(State(inner): State<Arc<Inner>>, req: Request) -> Response {
    let method = req.method().clone();
    let path = req
        .uri()
        .path_and_query()
        .map_or_else(|| "/".to_string(), |p| p.as_str().to_string());
    let mut headers = req.headers().clone();
    headers.retain_hop_by_hop();
    let body = match axum::body::to_bytes(req.into_body(), MAX_BODY).await {
        Ok(b) => b,
        Err(_) => return error_response(StatusCode::PAYLOAD_TOO_LARGE, "request body too large"),
    };
    let url = format!("{}{}", inner.base, path);
    let policy = inner.policy;
    let mut attempt: u32 = 0;
    loop {
        let sent = inner
            .client
            .request(method.clone(), &url)
            .headers(headers.clone())
            .body(body.clone())
            .send()
            .await;
        let retries_left = attempt < policy.max_retries;
        let backoff = policy.backoff * 2u32.saturating_pow(attempt.min(6));
        match sent {
            Ok(resp) => {
                let status = resp.status();
                let resp_headers = resp.headers().clone();
                let bytes = resp.bytes().await.unwrap_or_default();
                let wait = if status == StatusCode::TOO_MANY_REQUESTS {
                    Some(retry_after(&resp_headers, &bytes)).filter(|w| *w <= policy.max_wait)
                } else if matches!(
                    status,
                    StatusCode::BAD_GATEWAY | StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT
                ) {
                    Some(backoff)
                } else {
                    None
                };
                match wait {
                    Some(w) if retries_left => {
                        let w = jitter(w);
                        debug!(%method, path = %path, %status, attempt, wait_ms = w.as_millis() as u64, "Discord said wait; retrying");
                        tokio::time::sleep(w).await;
                    }
                    _ => {
                        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
                            warn!(%method, path = %path, %status, attempts = attempt + 1, "Discord REST call failed");
                        }
                        let mut out = Response::new(Body::from(bytes));
                        *out.status_mut() = status;
                        for (k, v) in &resp_headers {
                            if !hop_by_hop(k) {
                                out.headers_mut().append(k.clone(), v.clone());
                            }
                        }
                        return out;
                    }
                }
            }
            // Only failures before anything was sent are safe to repeat for every method.
            Err(e) if e.is_connect() && retries_left => {
                debug!(error = %e, attempt, "cannot reach the Discord API; retrying");
                tokio::time::sleep(jitter(backoff)).await;
            }
            Err(e) => {
                warn!(%method, path = %path, error = %e, "Discord REST call failed");
                return error_response(StatusCode::BAD_GATEWAY, "qntcbot relay: the Discord API did not answer");
            }
        }
        attempt += 1;
    }
}

trait RetainHopByHop {
    fn retain_hop_by_hop(&mut self);
}

impl RetainHopByHop for HeaderMap {
    fn retain_hop_by_hop(&mut self) {
        let names: Vec<HeaderName> = self.keys().filter(|k| hop_by_hop(k)).cloned().collect();
        for n in names {
            self.remove(n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_from_header_or_body() {
        let mut h = HeaderMap::new();
        assert_eq!(
            retry_after(&h, br#"{"retry_after": 0.25, "global": false}"#),
            Duration::from_millis(250)
        );
        h.insert(header::RETRY_AFTER, "2".parse().unwrap());
        assert_eq!(retry_after(&h, br#"{"retry_after": 0.25}"#), Duration::from_secs(2));
        assert_eq!(retry_after(&HeaderMap::new(), b"not json"), Duration::from_secs(1));
        assert_eq!(
            retry_after(&HeaderMap::new(), br#"{"retry_after": -3}"#),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn jitter_adds_at_most_a_quarter() {
        for _ in 0..100 {
            let j = jitter(Duration::from_millis(400));
            assert!(
                j >= Duration::from_millis(400) && j <= Duration::from_millis(500),
                "{j:?}"
            );
        }
    }
}
