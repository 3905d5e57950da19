//! A small client of Slack's Web API: the handful of methods the bot calls, each retried when
//! Slack says "slow down" (HTTP 429 with `Retry-After`) or has a passing failure (5xx, a
//! dropped connection), within bounds. Everything else is returned as an error for the caller
//! to log; the bot token never appears in an error or a log line.

use std::time::Duration;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Client, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use tracing::{debug, warn};

use super::config::Secret;

/// How calls are retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Tries in all, the first included.
    pub attempts: u32,
    /// Longest single wait; a longer `Retry-After` is cut to this.
    pub max_wait: Duration,
    /// First wait after a 5xx or a transport error; doubled each time.
    pub backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            max_wait: Duration::from_secs(30),
            backoff: Duration::from_millis(250),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Slack answered `{"ok": false, "error": ...}`.
    #[error("{method}: Slack says {error}")]
    Slack { method: String, error: String },
    #[error("{method}: HTTP {status}")]
    Status { method: String, status: u16 },
    #[error("{method}: {reason}")]
    Transport { method: String, reason: String },
    #[error("{method}: still rate limited after {attempts} tries")]
    RateLimited { method: String, attempts: u32 },
    #[error("{method}: the answer is not Slack's JSON")]
    Decode { method: String },
    #[error("file larger than {0} bytes")]
    TooLarge(u64),
    #[error("refusing to send the bot token to {0}")]
    ForeignUrl(String),
}

/// The Web API at a base URL, with the bot token.
#[derive(Clone)]
pub struct WebApi {
    http: Client,
    base: String,
    token: Secret,
    retry: RetryPolicy,
}

/// What went out (for `chat.postMessage`): the message's `ts`.
pub type Ts = String;

impl WebApi {
    /// `base` ends with `/` (see [`super::SlackConfig::resolve`]).
    pub fn new(base: &str, token: Secret, retry: RetryPolicy) -> WebApi {
        let http = Client::builder()
            .timeout(Duration::from_secs(15))
            .connect_timeout(Duration::from_secs(5))
            .pool_max_idle_per_host(64)
            .build()
            .unwrap_or_else(|_| Client::new());
        WebApi {
            http,
            base: base.to_string(),
            token,
            retry,
        }
    }

    fn bearer(&self) -> String {
        format!("Bearer {}", self.token.expose())
    }

    /// Calls a Web API method with a JSON body.
    pub async fn call(&self, method: &str, body: &Value) -> Result<Value, ApiError> {
        let url = format!("{}{method}", self.base);
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        self.send(method, || {
            self.http
                .post(&url)
                .header(AUTHORIZATION, self.bearer())
                .header(CONTENT_TYPE, "application/json; charset=utf-8")
                .body(bytes.clone())
        })
        .await
    }

    /// Calls a Web API method with form parameters (the read methods do not take JSON).
    pub async fn call_form(&self, method: &str, params: &[(&str, &str)]) -> Result<Value, ApiError> {
        let url = format!("{}{method}", self.base);
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        self.send(method, || {
            self.http
                .post(&url)
                .header(AUTHORIZATION, self.bearer())
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(body.clone())
        })
        .await
    }

    /// Posts to a `response_url` of a slash command or a button press. No token goes there:
    /// the URL itself is the credential.
    pub async fn respond(&self, response_url: &str, body: &Value) -> Result<(), ApiError> {
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        self.send("response_url", || {
            self.http
                .post(response_url)
                .header(CONTENT_TYPE, "application/json; charset=utf-8")
                .body(bytes.clone())
        })
        .await
        .map(|_| ())
    }

    /// Sends with retries. Retried: 429 (after `Retry-After`), 5xx and transport errors (after
    /// a doubling backoff), `{"ok": false, "error": "ratelimited"}`.
    async fn send(&self, method: &str, build: impl Fn() -> RequestBuilder) -> Result<Value, ApiError> {
        let attempts = self.retry.attempts.max(1);
        let mut backoff = self.retry.backoff;
        for attempt in 1..=attempts {
            let last = attempt == attempts;
            let wait = match build().send().await {
                Err(e) => {
                    let reason = if e.is_timeout() {
                        "timed out".to_string()
                    } else if e.is_connect() {
                        "cannot connect".to_string()
                    } else {
                        // Without the URL: a response_url is a credential too.
                        e.without_url().to_string()
                    };
                    if last {
                        return Err(ApiError::Transport {
                            method: method.into(),
                            reason,
                        });
                    }
                    debug!(method, attempt, %reason, "Web API call failed; retrying");
                    next_backoff(&mut backoff, self.retry.max_wait)
                }
                Ok(resp) if resp.status() == StatusCode::TOO_MANY_REQUESTS => {
                    let after = retry_after(resp.headers().get(RETRY_AFTER));
                    if last {
                        return Err(ApiError::RateLimited {
                            method: method.into(),
                            attempts,
                        });
                    }
                    warn!(method, attempt, retry_after = ?after, "Slack rate limit; waiting");
                    after.min(self.retry.max_wait)
                }
                Ok(resp) if resp.status().is_server_error() => {
                    let status = resp.status().as_u16();
                    if last {
                        return Err(ApiError::Status {
                            method: method.into(),
                            status,
                        });
                    }
                    debug!(method, attempt, status, "Web API server error; retrying");
                    next_backoff(&mut backoff, self.retry.max_wait)
                }
                Ok(resp) if !resp.status().is_success() => {
                    return Err(ApiError::Status {
                        method: method.into(),
                        status: resp.status().as_u16(),
                    });
                }
                Ok(resp) => {
                    let body = resp.bytes().await.map_err(|_| ApiError::Transport {
                        method: method.into(),
                        reason: "connection closed while reading the answer".into(),
                    })?;
                    // response_url answers plain "ok" (or nothing), not JSON.
                    if method == "response_url" {
                        return Ok(Value::Null);
                    }
                    let v: Value =
                        serde_json::from_slice(&body).map_err(|_| ApiError::Decode { method: method.into() })?;
                    if v.get("ok").and_then(Value::as_bool) == Some(true) {
                        return Ok(v);
                    }
                    let error = v
                        .get("error")
                        .and_then(Value::as_str)
                        .unwrap_or("unknown error")
                        .chars()
                        .take(100)
                        .collect::<String>();
                    if error == "ratelimited" && !last {
                        Duration::from_secs(1)
                    } else {
                        return Err(ApiError::Slack {
                            method: method.into(),
                            error,
                        });
                    }
                }
            };
            tokio::time::sleep(wait + jitter()).await;
        }
        Err(ApiError::RateLimited {
            method: method.into(),
            attempts,
        })
    }

    /// `chat.postMessage`; returns the new message's `ts`.
    pub async fn post_message(
        &self,
        channel: &str,
        thread_ts: Option<&str>,
        text: &str,
        blocks: &[Value],
    ) -> Result<Ts, ApiError> {
        let mut body = json!({
            "channel": channel,
            "text": text,
            "blocks": blocks,
            "unfurl_links": false,
            "unfurl_media": false,
            "link_names": false,
        });
        if let Some(t) = thread_ts {
            body["thread_ts"] = json!(t);
        }
        let v = self.call("chat.postMessage", &body).await?;
        Ok(v.get("ts").and_then(Value::as_str).unwrap_or_default().to_string())
    }

    /// `chat.update` of a message the bot posted.
    pub async fn update(&self, channel: &str, ts: &str, text: &str, blocks: &[Value]) -> Result<(), ApiError> {
        let body = json!({"channel": channel, "ts": ts, "text": text, "blocks": blocks, "link_names": false});
        self.call("chat.update", &body).await.map(|_| ())
    }

    /// `chat.delete` of a message the bot posted.
    pub async fn delete(&self, channel: &str, ts: &str) -> Result<(), ApiError> {
        self.call("chat.delete", &json!({"channel": channel, "ts": ts}))
            .await
            .map(|_| ())
    }

    /// `chat.postEphemeral`: shown to `user` only.
    pub async fn post_ephemeral(
        &self,
        channel: &str,
        user: &str,
        thread_ts: Option<&str>,
        text: &str,
        blocks: &[Value],
    ) -> Result<(), ApiError> {
        let mut body = json!({"channel": channel, "user": user, "text": text, "link_names": false});
        if !blocks.is_empty() {
            body["blocks"] = json!(blocks);
        }
        if let Some(t) = thread_ts {
            body["thread_ts"] = json!(t);
        }
        self.call("chat.postEphemeral", &body).await.map(|_| ())
    }

    /// Members of a user group (`usergroups.users.list`).
    pub async fn usergroup_members(&self, group: &str) -> Result<Vec<String>, ApiError> {
        let v = self.call_form("usergroups.users.list", &[("usergroup", group)]).await?;
        Ok(v.get("users")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default())
    }

    /// The bot's own user id and bot id (`auth.test`).
    pub async fn auth_test(&self) -> Result<(Option<String>, Option<String>), ApiError> {
        let v = self.call_form("auth.test", &[]).await?;
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        Ok((s("user_id"), s("bot_id")))
    }

    /// `files.info`, for shared files whose event carries no download URL.
    pub async fn file_info(&self, file: &str) -> Result<Value, ApiError> {
        let v = self.call_form("files.info", &[("file", file)]).await?;
        Ok(v.get("file").cloned().unwrap_or(Value::Null))
    }

    /// Downloads a private file with the bot token, reading at most `max` bytes whatever the
    /// file claims to be. The token is only sent to Slack's own hosts or to the host of the
    /// configured API base (a proxy or a local fake).
    pub async fn download(&self, url: &str, max: u64) -> Result<Vec<u8>, ApiError> {
        if !self.trusted_file_host(url) {
            return Err(ApiError::ForeignUrl(host_of(url).unwrap_or_default()));
        }
        let method = "file download";
        let transport = |e: reqwest::Error| ApiError::Transport {
            method: method.into(),
            reason: e.without_url().to_string(),
        };
        let mut resp = self
            .http
            .get(url)
            .header(AUTHORIZATION, self.bearer())
            .send()
            .await
            .map_err(transport)?;
        if !resp.status().is_success() {
            return Err(ApiError::Status {
                method: method.into(),
                status: resp.status().as_u16(),
            });
        }
        if resp.content_length().is_some_and(|n| n > max) {
            return Err(ApiError::TooLarge(max));
        }
        let mut out = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(transport)? {
            if (out.len() + chunk.len()) as u64 > max {
                return Err(ApiError::TooLarge(max));
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    fn trusted_file_host(&self, url: &str) -> bool {
        let Some(host) = host_of(url) else { return false };
        let slack = ["slack.com", "slack-edge.com", "slack-files.com"]
            .iter()
            .any(|d| host == *d || host.ends_with(&format!(".{d}")));
        let https = url.starts_with("https://");
        (slack && https) || host_of(&self.base).is_some_and(|b| b == host)
    }
}

fn host_of(url: &str) -> Option<String> {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
}

/// `Retry-After` in seconds (Slack's form); 1 s when absent or unreadable.
fn retry_after(h: Option<&reqwest::header::HeaderValue>) -> Duration {
    h.and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map_or(Duration::from_secs(1), |s| Duration::from_secs_f64(s.min(3600.0)))
}

fn next_backoff(current: &mut Duration, max: Duration) -> Duration {
    let now = *current;
    *current = (*current * 2).min(max);
    now
}

/// Up to 100 ms, so that many waiting calls do not return at the same instant.
fn jitter() -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    Duration::from_millis(u64::from(nanos % 100))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_parsing() {
        assert_eq!(
            retry_after(Some(&HeaderValue::from_static("2"))),
            Duration::from_secs(2)
        );
        assert_eq!(
            retry_after(Some(&HeaderValue::from_static("0.5"))),
            Duration::from_millis(500)
        );
        assert_eq!(
            retry_after(Some(&HeaderValue::from_static("soon"))),
            Duration::from_secs(1)
        );
        assert_eq!(
            retry_after(Some(&HeaderValue::from_static("-3"))),
            Duration::from_secs(1)
        );
        assert_eq!(retry_after(None), Duration::from_secs(1));
    }

    #[test]
    fn file_hosts() {
        let api = WebApi::new(
            "http://127.0.0.1:9999/api/",
            Secret::new("xoxb-t"),
            RetryPolicy::default(),
        );
        assert!(api.trusted_file_host("https://files.slack.com/files-pri/T1-F1/a.txt"));
        assert!(api.trusted_file_host("http://127.0.0.1:4000/files/a.txt"));
        assert!(!api.trusted_file_host("http://files.slack.com/a.txt"));
        assert!(!api.trusted_file_host("https://evil.example/files.slack.com"));
        assert!(!api.trusted_file_host("https://slack.com.evil.example/a"));
        assert!(!api.trusted_file_host("not a url"));
    }

    #[test]
    fn backoff_doubles_to_the_cap() {
        let mut b = Duration::from_millis(250);
        let max = Duration::from_secs(1);
        let waits: Vec<_> = (0..4).map(|_| next_backoff(&mut b, max)).collect();
        assert_eq!(waits, [250, 500, 1000, 1000].map(Duration::from_millis).to_vec());
    }
}
