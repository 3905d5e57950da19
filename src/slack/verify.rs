//! Request verification, before anything else looks at a request: Slack's v0 signature
//! (HMAC-SHA256 of `v0:{timestamp}:{raw body}` with the signing secret), compared in constant
//! time, a timestamp within five minutes of now, and each signature accepted once.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::config::Secret;

/// How far a request's timestamp may be from our clock, either way (Slack's recommendation).
pub const MAX_SKEW_SECS: i64 = 5 * 60;
/// Signatures remembered for replay detection; beyond this the oldest are forgotten. A request
/// older than the skew window is refused as stale anyway, so this only bounds memory.
const REPLAY_CAP: usize = 200_000;

/// Why a request was refused. Each is answered with 401 and one log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// No `X-Slack-Signature` or `X-Slack-Request-Timestamp` header.
    Unsigned,
    /// A timestamp that is not a number.
    BadTimestamp,
    /// A timestamp more than five minutes from now.
    Stale,
    /// A signature that does not match the body.
    Forged,
    /// A valid signature seen before.
    Replayed,
}

impl Rejection {
    pub fn as_str(self) -> &'static str {
        match self {
            Rejection::Unsigned => "unsigned",
            Rejection::BadTimestamp => "bad timestamp",
            Rejection::Stale => "stale timestamp",
            Rejection::Forged => "bad signature",
            Rejection::Replayed => "replayed",
        }
    }
}

pub struct Verifier {
    secret: Secret,
    seen: Mutex<Seen>,
}

#[derive(Default)]
struct Seen {
    /// signature -> request timestamp
    by_sig: HashMap<String, i64>,
    order: VecDeque<(i64, String)>,
}

/// The v0 signature Slack would send for this timestamp and body: `v0=` and lowercase hex.
pub fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    format!(
        "v0={}",
        hex::encode(mac(secret, timestamp, body).finalize().into_bytes())
    )
}

fn mac(secret: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    mac
}

impl Verifier {
    pub fn new(secret: Secret) -> Verifier {
        Verifier {
            secret,
            seen: Mutex::new(Seen::default()),
        }
    }

    /// Checks one request. `now` is Unix seconds. A request that passes is remembered, so the
    /// same signature is refused as [`Rejection::Replayed`] afterwards.
    pub fn check(
        &self,
        timestamp: Option<&str>,
        signature: Option<&str>,
        body: &[u8],
        now: i64,
    ) -> Result<(), Rejection> {
        let (Some(ts), Some(sig)) = (timestamp, signature) else {
            return Err(Rejection::Unsigned);
        };
        let ts_num: i64 = ts.trim().parse().map_err(|_| Rejection::BadTimestamp)?;
        if (now - ts_num).abs() > MAX_SKEW_SECS {
            return Err(Rejection::Stale);
        }
        let hex_sig = sig.trim().strip_prefix("v0=").ok_or(Rejection::Forged)?;
        let raw = hex::decode(hex_sig).map_err(|_| Rejection::Forged)?;
        // `verify_slice` compares in constant time.
        mac(self.secret.expose(), ts.trim(), body)
            .verify_slice(&raw)
            .map_err(|_| Rejection::Forged)?;
        self.remember(hex_sig.to_ascii_lowercase(), ts_num, now)
    }

    fn remember(&self, sig: String, ts: i64, now: i64) -> Result<(), Rejection> {
        let mut seen = match self.seen.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        // Forget what can no longer pass the timestamp check.
        while let Some((t, _)) = seen.order.front() {
            if now - *t <= MAX_SKEW_SECS && seen.order.len() < REPLAY_CAP {
                break;
            }
            if let Some((_, s)) = seen.order.pop_front() {
                seen.by_sig.remove(&s);
            }
        }
        if seen.by_sig.contains_key(&sig) {
            return Err(Rejection::Replayed);
        }
        seen.by_sig.insert(sig.clone(), ts);
        seen.order.push_back((ts, sig));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The worked example from Slack's "Verifying requests from Slack" page.
    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const TS: &str = "1531420618";
    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const SIG: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    fn verifier() -> Verifier {
        Verifier::new(Secret::new(SECRET))
    }

    #[test]
    fn slack_documented_example_passes() {
        assert_eq!(sign(SECRET, TS, BODY.as_bytes()), SIG);
        assert_eq!(
            verifier().check(Some(TS), Some(SIG), BODY.as_bytes(), 1531420618 + 10),
            Ok(())
        );
    }

    #[test]
    fn forged_stale_unsigned_replayed() {
        let v = verifier();
        let now = 1531420618;
        let body = BODY.as_bytes();
        assert_eq!(v.check(None, Some(SIG), body, now), Err(Rejection::Unsigned));
        assert_eq!(v.check(Some(TS), None, body, now), Err(Rejection::Unsigned));
        assert_eq!(v.check(Some("abc"), Some(SIG), body, now), Err(Rejection::BadTimestamp));
        assert_eq!(v.check(Some(TS), Some(SIG), body, now + 301), Err(Rejection::Stale));
        assert_eq!(v.check(Some(TS), Some(SIG), body, now - 301), Err(Rejection::Stale));
        let mut tampered = body.to_vec();
        tampered[10] ^= 1;
        assert_eq!(v.check(Some(TS), Some(SIG), &tampered, now), Err(Rejection::Forged));
        assert_eq!(v.check(Some(TS), Some("v0=zz"), body, now), Err(Rejection::Forged));
        assert_eq!(v.check(Some(TS), Some(&SIG[3..]), body, now), Err(Rejection::Forged));
        let other = Verifier::new(Secret::new("another secret"));
        assert_eq!(other.check(Some(TS), Some(SIG), body, now), Err(Rejection::Forged));
        // A timestamp changed without re-signing is forged too.
        assert_eq!(
            v.check(Some("1531420619"), Some(SIG), body, now),
            Err(Rejection::Forged)
        );
        assert_eq!(v.check(Some(TS), Some(SIG), body, now), Ok(()));
        assert_eq!(v.check(Some(TS), Some(SIG), body, now + 5), Err(Rejection::Replayed));
        // Upper-case hex is the same signature.
        let upper = format!("v0={}", SIG[3..].to_ascii_uppercase());
        assert_eq!(v.check(Some(TS), Some(&upper), body, now + 5), Err(Rejection::Replayed));
    }

    #[test]
    fn replay_memory_is_bounded_by_time() {
        let v = verifier();
        let start = 1_700_000_000i64;
        for i in 0..1000 {
            let ts = (start + i).to_string();
            let sig = sign(SECRET, &ts, b"x");
            assert_eq!(v.check(Some(&ts), Some(&sig), b"x", start + i), Ok(()));
        }
        let ts = (start + 2000).to_string();
        let sig = sign(SECRET, &ts, b"x");
        assert_eq!(v.check(Some(&ts), Some(&sig), b"x", start + 2000), Ok(()));
        let seen = v.seen.lock().unwrap();
        assert!(seen.order.len() <= 301, "{}", seen.order.len());
        assert_eq!(seen.order.len(), seen.by_sig.len());
    }
}
