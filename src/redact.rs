//! Removes secrets (and, when asked, addresses and user names) from text before it is stored.
//!
//! People paste whole job logs, CL source and shell sessions into support channels; those carry
//! passwords, tokens and profile names that must never reach the case log. Secrets are always
//! removed; IP addresses and IBM i user profile names only when the operator opts in, because
//! they are often what makes a case understandable later.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Captures, Regex};

/// Replaces a secret.
const SECRET: &str = "[redacted]";
/// Replaces an IP address.
const IP: &str = "[ip]";
/// Replaces a user profile name.
const USER: &str = "[user]";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct RedactSettings {
    /// Replace IPv4 and IPv6 addresses.
    pub ip_addresses: bool,
    /// Replace IBM i user profile names in job-log and display formats.
    pub user_profiles: bool,
}

/// Returns `text` with secrets replaced; borrows when nothing needed replacing.
pub fn redact<'a>(text: &'a str, s: &RedactSettings) -> Cow<'a, str> {
    let mut out = Cow::Borrowed(text);
    for rule in SECRETS.iter() {
        apply(&mut out, rule);
    }
    if s.ip_addresses {
        for rule in IPS.iter() {
            apply(&mut out, rule);
        }
    }
    if s.user_profiles {
        for rule in USERS.iter() {
            apply(&mut out, rule);
        }
    }
    out
}

type Replace = fn(&Captures) -> String;

struct Rule {
    re: Regex,
    replace: Replace,
}

fn apply(out: &mut Cow<'_, str>, rule: &Rule) {
    let replaced = match rule.re.replace_all(out, |c: &Captures| (rule.replace)(c)) {
        Cow::Owned(s) => Some(s),
        Cow::Borrowed(_) => None,
    };
    if let Some(s) = replaced {
        *out = Cow::Owned(s);
    }
}

fn rule(pattern: &str, replace: Replace) -> Rule {
    // The patterns are constants checked by the unit tests; a typo is a programming error.
    #[allow(clippy::expect_used)]
    let re = Regex::new(pattern).expect("redaction pattern compiles");
    Rule { re, replace }
}

/// IBM i special values (`*NONE`, `*SAME`, `*USRPRF`) are not secrets and say a lot about a
/// configuration; no real password can start with `*`.
fn is_special_value(v: &str) -> bool {
    let v = v.trim_matches(|c| c == '\'' || c == '"');
    v.len() > 1 && v.starts_with('*') && v[1..].chars().all(|c| c.is_ascii_alphanumeric())
}

/// Keeps groups 1 and 2 (label and separator) and hides group 3 (the value).
fn keep_label(c: &Captures) -> String {
    let value = c.get(3).map_or("", |m| m.as_str());
    if is_special_value(value) {
        return c[0].to_string();
    }
    format!("{}{}{SECRET}", &c[1], &c[2])
}

static SECRETS: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    vec![
        // Whole header values: `Authorization: Basic ...`, `Proxy-Authorization: Bearer ...`.
        rule(
            r"(?im)^([ \t>*-]*(?:proxy-)?authorization)(\s*:[ \t]*)(.+)$",
            keep_label,
        ),
        rule(r"(?i)\b(bearer)(\s+)([A-Za-z0-9\-._~+/]+=*)", keep_label),
        // CL keywords: CHGUSRPRF ... PASSWORD(xyz), ADDSVRAUTE ... PASSWORD('xyz'), PWD(xyz).
        rule(
            r"(?i)\b(password|passwd|pwd|newpwd|curpwd|pw)(\(\s*)('(?:[^']|'')*'|[^)\s]*)",
            keep_label,
        ),
        // `password = x`, `pwd: x`, 5250 displays `Password . . . . :  x`, other languages.
        rule(
            r#"(?i)(\b(?:password|passwd|passwort|kennwort|contraseña|contrasena|senha|pwd|mot de passe)|パスワード)(\s*(?:\.\s*)*[:=：]\s*)("[^"]*"|'[^']*'|[^\s,;]+)"#,
            keep_label,
        ),
        // `--password secret` (the `--password=secret` form is caught above).
        rule(r"(?i)(--pass(?:word)?)(\s+)([^\s-]\S*)", keep_label),
        // `-p secret` only where `-p` is unambiguously a password: sshpass, or next to a user
        // flag (`mysql -u root -p secret`); elsewhere `-p` usually means a port or a path.
        rule(r"(?m)^(.*\bsshpass\b.*?\s-p)(\s*)(\S+)", keep_label),
        rule(
            r"(?m)^(.*\s(?:-u|-U|--user|--username)[\s=]\S+.*?\s-p)([ \t]+)([^\s-]\S*)",
            keep_label,
        ),
        rule(
            r"(?m)^(.*\s-p)([ \t]+)([^\s-]\S*)(.*\s(?:-u|-U|--user|--username)[\s=]\S+)",
            |c| {
                if is_special_value(&c[3]) {
                    c[0].to_string()
                } else {
                    format!("{}{}{SECRET}{}", &c[1], &c[2], &c[4])
                }
            },
        ),
        // JSON Web Tokens.
        rule(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*", |_| {
            SECRET.into()
        }),
        // Discord bot tokens: base64 user id, timestamp, HMAC, joined by dots.
        rule(
            r"\b[A-Za-z0-9_-]{23,28}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,}",
            |_| SECRET.into(),
        ),
        // Slack bot, user, app-level and refresh tokens.
        rule(r"\b(?:xox[abposre]|xapp)-[A-Za-z0-9-]{8,}", |_| SECRET.into()),
    ]
});

static IPS: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    vec![
        rule(
            r"\b(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\b",
            |_| IP.into(),
        ),
        // Full eight-group IPv6, and compressed forms (which always contain `::`). Clock times
        // like 12:30:45 have neither shape.
        rule(r"(?i)\b(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}\b", |_| IP.into()),
        // The leading context stands in for a look-behind, so `std::string` stays.
        rule(
            r"(?i)(^|[^\w:.])(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,6})?::[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,6}\b",
            |c| format!("{}{IP}", &c[1]),
        ),
    ]
});

/// An IBM i object name as the system prints it: upper case, up to 10 characters.
const PROFILE: &str = r"[A-Z$#@][A-Z0-9$#@_]{0,9}";

static USERS: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    vec![
        // Display and job-log forms: `User  . . . . :   JSMITH`, `Current user profile . : X`.
        rule(
            &format!(r"(?i)(\buser(?:\s+profile)?)(\s*(?:\.\s*)+:\s*)((?-i:{PROFILE}))\b"),
            keep_label_user,
        ),
        // CL keywords.
        rule(
            &format!(r"(?i)(\b(?:usrprf|user))(\(\s*)((?-i:{PROFILE}))"),
            keep_label_user,
        ),
        // Message text: `for user JSMITH on network server`, `by user profile JSMITH`.
        rule(
            &format!(r"(?i)(\b(?:for|by|of)\s+user(?:\s+profile)?)(\s+)((?-i:{PROFILE}))\b"),
            keep_label_user,
        ),
        // Qualified job names: 123456/JSMITH/QPADEV0001.
        rule(
            &format!(r"\b([0-9]{{6}}/)()({PROFILE})(/[A-Z$#@][A-Z0-9$#@_.]{{0,9}})"),
            |c| format!("{}{USER}{}", &c[1], &c[4]),
        ),
    ]
});

/// Keeps groups 1 and 2 (label and separator) and replaces group 3 with the user marker.
fn keep_label_user(c: &Captures) -> String {
    format!("{}{}{USER}", &c[1], &c[2])
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONE: RedactSettings = RedactSettings {
        ip_addresses: false,
        user_profiles: false,
    };
    const ALL: RedactSettings = RedactSettings {
        ip_addresses: true,
        user_profiles: true,
    };

    fn r(text: &str) -> String {
        redact(text, &NONE).into_owned()
    }

    #[test]
    fn clean_text_is_borrowed() {
        let text = "CPDB053 on /QNTC/srv/share after the 7.4 upgrade at 12:30:45";
        assert!(matches!(redact(text, &ALL), Cow::Borrowed(_)));
    }

    #[test]
    fn password_assignments_in_several_languages() {
        assert_eq!(r("user=bob password=hunter2 next"), "user=bob password=[redacted] next");
        assert_eq!(r("PWD: s3cr3t"), "PWD: [redacted]");
        assert_eq!(r("passwd = 'a b c'"), "passwd = [redacted]");
        assert_eq!(r("Kennwort: Geheim1"), "Kennwort: [redacted]");
        assert_eq!(r("contraseña=clave"), "contraseña=[redacted]");
        assert_eq!(r("パスワード：ひみつ123"), "パスワード：[redacted]");
        assert_eq!(r("--password=abc"), "--password=[redacted]");
        assert!(!r("Password . . . . . . . :   Winter2024").contains("Winter2024"));
    }

    #[test]
    fn password_words_without_a_value_are_kept() {
        let text = "the password expired, so QNTC fails with CPDB053";
        assert_eq!(r(text), text);
    }

    #[test]
    fn cl_password_keywords() {
        assert_eq!(
            r("CHGUSRPRF USRPRF(JSMITH) PASSWORD(hunter2)"),
            "CHGUSRPRF USRPRF(JSMITH) PASSWORD([redacted])"
        );
        assert_eq!(
            r("ADDSVRAUTE USRPRF(X) SERVER(QNTC) USRID(me) PASSWORD('It''s me')"),
            "ADDSVRAUTE USRPRF(X) SERVER(QNTC) USRID(me) PASSWORD([redacted])"
        );
        assert_eq!(
            r("CHGPWD CURPWD(old1) NEWPWD(new2)"),
            "CHGPWD CURPWD([redacted]) NEWPWD([redacted])"
        );
        assert_eq!(r("RUNRMTCMD PWD(abc)"), "RUNRMTCMD PWD([redacted])");
    }

    #[test]
    fn special_values_are_not_secrets() {
        assert_eq!(r("CHGUSRPRF X PASSWORD(*NONE)"), "CHGUSRPRF X PASSWORD(*NONE)");
        assert_eq!(r("password: *SAME"), "password: *SAME");
    }

    #[test]
    fn dash_p_only_when_clearly_a_password() {
        assert_eq!(r("mysql -u root -p hunter2"), "mysql -u root -p [redacted]");
        assert_eq!(r("sshpass -p hunter2 ssh host"), "sshpass -p [redacted] ssh host");
        assert_eq!(r("sshpass -phunter2 ssh host"), "sshpass -p[redacted] ssh host");
        assert_eq!(r("tool -p hunter2 --user bob"), "tool -p [redacted] --user bob");
        // -p as a port or a "make parents" flag stays.
        assert_eq!(r("smbclient //srv/share -p 445"), "smbclient //srv/share -p 445");
        assert_eq!(r("mkdir -p /QNTC/srv/share/dir"), "mkdir -p /QNTC/srv/share/dir");
        assert_eq!(r("ls -u -p /tmp"), "ls -u -p /tmp");
        assert_eq!(r("--password hunter2"), "--password [redacted]");
    }

    #[test]
    fn bearer_tokens_and_authorization_headers() {
        assert_eq!(
            r("curl -H 'x' Bearer abc.DEF-123_xyz="),
            "curl -H 'x' Bearer [redacted]"
        );
        assert_eq!(
            r("Authorization: Basic dXNlcjpwYXNz\nnext"),
            "Authorization: [redacted]\nnext"
        );
        assert_eq!(
            r("> proxy-authorization: NTLM TlRMTVNT"),
            "> proxy-authorization: [redacted]"
        );
    }

    #[test]
    fn discord_slack_and_jwt_tokens() {
        // Shaped like real tokens, made up.
        let discord = format!(
            "{}.{}.{}",
            "MTIzNDU2Nzg5MDEyMzQ1Njc4OQ", "GhIjKl", "abcdefghijklmnopqrstuvwxyz0123_-AB"
        );
        assert_eq!(r(&format!("token {discord} end")), "token [redacted] end");
        assert_eq!(r("SLACK xoxb-1234-5678-abcdefABCDEF"), "SLACK [redacted]");
        assert_eq!(r("xoxp-11111111-2222"), "[redacted]");
        assert_eq!(r("app xapp-1-A0B1C2-3456-deadbeef"), "app [redacted]");
        assert_eq!(r("jwt eyJhbGciOiJI.eyJzdWIiOiIx.sig_nature"), "jwt [redacted]");
        // Dotted names and versions are not tokens.
        let text = "V7R4M0 qntc.server.example.com 7.4.0";
        assert_eq!(r(text), text);
    }

    #[test]
    fn ip_addresses_only_when_enabled() {
        let text = "Could not reach 192.168.10.25 or fe80::1c2d:3eff:fe4f:5a6b or 2001:db8:0:0:0:0:0:1 at 12:30:45";
        assert_eq!(r(text), text);
        let ip = RedactSettings {
            ip_addresses: true,
            user_profiles: false,
        };
        assert_eq!(redact(text, &ip), "Could not reach [ip] or [ip] or [ip] at 12:30:45");
        assert_eq!(redact("release 7.4 and 256.1.1.1", &ip), "release 7.4 and 256.1.1.1");
        assert_eq!(redact("bind ::1 port", &ip), "bind [ip] port");
        assert_eq!(redact("std::abc and Vec::new", &ip), "std::abc and Vec::new");
    }

    #[test]
    fn user_profiles_only_when_enabled() {
        let log = "User  . . . . . . :   JSMITH\nCurrent user profile . . :   QSECOFR\n\
                   Not authorized for user JSMITH on network server NAS1.\n\
                   Job 123456/JSMITH/QPADEV0001 started. CHGUSRPRF USRPRF(JSMITH)";
        assert_eq!(r(log), log);
        let users = RedactSettings {
            ip_addresses: false,
            user_profiles: true,
        };
        let out = redact(log, &users);
        assert!(!out.contains("JSMITH"), "{out}");
        assert!(!out.contains("QSECOFR"), "{out}");
        assert!(out.contains("User  . . . . . . :   [user]"), "{out}");
        assert!(out.contains("for user [user] on network server NAS1"), "{out}");
        assert!(out.contains("123456/[user]/QPADEV0001"), "{out}");
        assert!(out.contains("USRPRF([user])"), "{out}");
        // Lower-case prose after "user" is not a profile name.
        let prose = "the user profile does not exist for user bob";
        assert_eq!(redact(prose, &users), prose);
    }

    #[test]
    fn never_panics_on_odd_input() {
        for text in [
            "",
            "password=",
            "PASSWORD(",
            "-p",
            "Bearer",
            "\u{0}\u{FFFD}パスワード",
            "user . . :",
        ] {
            let _ = redact(text, &ALL);
        }
    }
}
