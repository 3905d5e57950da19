//! Removes secrets (and, when asked, addresses and user names) from text before it is stored.
//!
//! People paste whole job logs, CL source and shell sessions into support channels; those carry
//! passwords, tokens and profile names that must never reach the case log. Secrets are always
//! removed; IP addresses and IBM i user profile names only when the operator opts in, because
//! they are often what makes a case understandable later.

use std::borrow::Cow;
use std::sync::{LazyLock, OnceLock};

use crate::gated::{Literals, Needs};

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
    let mut present = LITERALS.scan(&fold(text));
    let rules = SECRETS
        .iter()
        .chain(IPS.iter().filter(|_| s.ip_addresses))
        .chain(USERS.iter().filter(|_| s.user_profiles));
    for rule in rules {
        // A rule whose literals are absent cannot match: it is neither compiled nor run. The
        // text is looked at again after each replacement, which can add or remove literals.
        if present.allows(rule.needs) && apply(&mut out, rule) {
            present = LITERALS.scan(&fold(&out));
        }
    }
    out
}

/// The secret values the rules find in `text` (at least 4 characters each), so that a quote
/// cut out of the text before redaction (evidence lines) can be scrubbed of them even when
/// the quote no longer contains the label that gave them away.
pub fn secret_values(text: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let present = LITERALS.scan(&fold(text));
    for rule in SECRETS.iter().filter(|r| r.values && present.allows(r.needs)) {
        let re = rule.regex();
        let group = if re.captures_len() > 3 { 3 } else { 0 };
        for c in re.captures_iter(text) {
            let value = c.get(group).map_or("", |m| m.as_str());
            let value = value.trim().trim_matches(|ch| ch == '"' || ch == '\'');
            if value.chars().count() >= 4 && !is_special_value(value) && !found.iter().any(|f| f == value) {
                found.push(value.to_string());
            }
        }
    }
    found
}

/// Redacts `text` like [`redact`] and also replaces every occurrence of `known` secret values
/// (see [`secret_values`]).
pub fn redact_known<'a>(text: &'a str, s: &RedactSettings, known: &[String]) -> Cow<'a, str> {
    let mut out = redact(text, s);
    if known.is_empty() {
        return out;
    }
    // One pass for all values, longest first where they overlap: cost stays linear.
    let Ok(ac) = aho_corasick::AhoCorasick::builder()
        .match_kind(aho_corasick::MatchKind::LeftmostLongest)
        .build(known)
    else {
        return out;
    };
    if ac.is_match(out.as_ref()) {
        let replaced = ac.replace_all(out.as_ref(), &vec![SECRET; known.len()]);
        out = Cow::Owned(replaced);
    }
    out
}

type Replace = fn(&Captures) -> String;

struct Rule {
    pattern: String,
    /// Literals every match contains (see [`crate::gated`]), checked by the unit tests.
    needs: Needs,
    /// Compiled the first time a text holds the literals.
    re: OnceLock<Regex>,
    replace: Replace,
    /// Whether capture group 3 (or the whole match) is a secret value (for
    /// [`secret_values`]); false when the rule cannot say (it decides word by word).
    values: bool,
}

impl Rule {
    fn regex(&self) -> &Regex {
        // The patterns are constants checked by the unit tests; a typo is a programming error.
        #[allow(clippy::expect_used)]
        self.re
            .get_or_init(|| Regex::new(&self.pattern).expect("redaction pattern compiles"))
    }
}

/// Whether the rule replaced anything.
fn apply(out: &mut Cow<'_, str>, rule: &Rule) -> bool {
    let replaced = match rule.regex().replace_all(out, |c: &Captures| (rule.replace)(c)) {
        Cow::Owned(s) => Some(s),
        Cow::Borrowed(_) => None,
    };
    match replaced {
        Some(s) => {
            *out = Cow::Owned(s);
            true
        }
        None => false,
    }
}

fn rule(pattern: &str, needs: Needs, replace: Replace) -> Rule {
    // Word boundaries and word characters are ASCII: labels and the values around them are,
    // and a Unicode `\b` makes the fast (DFA) engines give up on a text with any non-ASCII
    // character, leaving the slow backtracker to every quote of every reply.
    let pattern = pattern.replace(r"\b", r"(?-u:\b)").replace(r"\w", "[0-9A-Za-z_]");
    Rule {
        pattern,
        needs,
        re: OnceLock::new(),
        replace,
        values: true,
    }
}

/// A rule whose matches are not secret values as a whole.
fn rule_without_values(pattern: &str, needs: Needs, replace: Replace) -> Rule {
    Rule {
        values: false,
        ..rule(pattern, needs, replace)
    }
}

fn fold(text: &str) -> String {
    crate::kb::anchor::fold(text)
}

/// Every literal the rules need, found in one pass.
static LITERALS: LazyLock<Literals> =
    LazyLock::new(|| Literals::of_needs(SECRETS.iter().chain(IPS.iter()).chain(USERS.iter()).map(|r| r.needs)));

/// Words of the password labels (see [`PASSWORD_WORDS`], [`CJK_PASSWORD_WORDS`]) as gate
/// literals: each label contains one. The Greek and Cyrillic ones are cut to what has no
/// look-alike under case folding (κ also matches ϰ).
const PASSWORD_NEEDS: &[&str] = &[
    "pass",
    "pw",
    "kennwort",
    "contrase",
    "clave",
    "senha",
    "wachtwoord",
    "lösenord",
    "losenord",
    "adgangskode",
    "salasana",
    "hasło",
    "haslo",
    "heslo",
    "jelszó",
    "parola",
    "sifre",
    "パスワード",
    "暗証番号",
    "密码",
    "密碼",
    "口令",
    "비밀번호",
    "암호",
    "пар",
    "ωδ",
    "şifre",
];
/// The words of [`SECRET_WORDS`] that [`PASSWORD_NEEDS`] lacks.
const SECRET_NEEDS: &[&str] = &["secret", "key", "access", "private", "refresh", "token", "credential"];
/// [`PASSWORD_NEEDS`] and [`SECRET_NEEDS`]: one literal of every password or secret label.
const LABEL_NEEDS: &[&str] =
    &concat_needs::<{ PASSWORD_NEEDS.len() + SECRET_NEEDS.len() }>(PASSWORD_NEEDS, SECRET_NEEDS);

/// Two literal lists as one, at compile time (a clause must be one `'static` slice).
const fn concat_needs<const N: usize>(a: &[&'static str], b: &[&'static str]) -> [&'static str; N] {
    let mut out = [""; N];
    let mut i = 0;
    while i < a.len() {
        out[i] = a[i];
        i += 1;
    }
    let mut j = 0;
    while j < b.len() {
        out[a.len() + j] = b[j];
        j += 1;
    }
    out
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

/// Words that label a password, in the languages support channels see. Latin-script words
/// need a word boundary before them; CJK words do not (they follow other CJK text directly).
const PASSWORD_WORDS: &str = r"password|passwd|passwort|kennwort|contraseña|contrasena|clave|senha|mot de passe|mot-de-passe|wachtwoord|lösenord|losenord|adgangskode|passord|salasana|hasło|haslo|heslo|jelszó|parola|sifre|pwd|pass|pw";
/// Labels that do not start with an ASCII letter, so an (ASCII) word boundary cannot mark
/// their start: CJK, Cyrillic, Greek, Turkish.
const CJK_PASSWORD_WORDS: &str = r"パスワード|暗証番号|密码|密碼|口令|비밀번호|암호|пароль|κωδικός|şifre";
/// Labels of other credentials (`api_key`, `client_secret`, `AWS_SECRET_ACCESS_KEY`).
const SECRET_WORDS: &str = r"secret|secret[_-]?key|secret[_-]?access[_-]?key|api[_-]?key|apikey|access[_-]?key|private[_-]?key|access[_-]?token|refresh[_-]?token|auth[_-]?token|token|credentials?";

/// Keeps groups 1 and 2 and hides group 3 only when it is not an IBM i special value; a value
/// that ends in markup the label started (`**Password:** x`) is hidden whole.
fn keep_label_trimmed(c: &Captures) -> String {
    let value = c.get(3).map_or("", |m| m.as_str());
    let trimmed = value.trim_end();
    if is_special_value(trimmed) || trimmed.is_empty() {
        return c[0].to_string();
    }
    format!("{}{}{SECRET}{}", &c[1], &c[2], &value[trimmed.len()..])
}

static SECRETS: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    let label = format!(r"(?:\b(?:\w*?[_-])?(?:{PASSWORD_WORDS}|{SECRET_WORDS})|(?:{CJK_PASSWORD_WORDS}))");
    vec![
        // PEM private keys (RSA, EC, OPENSSH, ENCRYPTED, PGP): the whole block.
        rule(
            r"(?s)(-----BEGIN [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----)()(.*?)(-----END [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----|\z)",
            &[&["-----begin "], &["private key"]],
            |c| format!("{}\n{SECRET}\n{}", &c[1], &c[4]),
        ),
        // Whole header values, at a line start or inline (`curl -H "Authorization: Basic ..."`,
        // `{'Authorization': 'Bearer ...'}`): everything up to a quote or the line end.
        rule(
            r#"(?i)(\b(?:proxy-)?authorization["']?)([ \t]*[:=][ \t]*["']?)([^\r\n"']+)"#,
            &[&["authorization"]],
            keep_label,
        ),
        rule(
            r"(?i)\b(bearer|basic|ntlm|negotiate|digest)([ \t]+)([A-Za-z0-9\-._~+/]{8,}=*)",
            &[&["basic", "bearer", "digest", "negotiate", "ntlm"]],
            |c| {
                // "basic authentication" is prose; a credential has a digit, `=`, `+` or `/`.
                if c[3].contains(|ch: char| ch.is_ascii_digit() || "=+/".contains(ch))
                    || c[1].eq_ignore_ascii_case("bearer")
                {
                    format!("{}{}{SECRET}", &c[1], &c[2])
                } else {
                    c[0].to_string()
                }
            },
        ),
        // CL keywords: CHGUSRPRF ... PASSWORD(xyz), ADDSVRAUTE ... PASSWORD('xyz'), PWD(xyz),
        // RUNRMTCMD ... RMTPWD(xyz); the value may contain blanks.
        rule(
            r"(?i)\b(password|passwd|pwd|newpwd|curpwd|rmtpwd|pw)(\(\s*)('(?:[^'\n]|'')*'|[^)\n]*)",
            &[&["pass", "pw"], &["("]],
            keep_label,
        ),
        // `label = token`: shell, mount options, URLs, connection strings, JSON, env vars.
        rule(
            &format!(r#"(?i)({label}["']?)([ \t]*=[ \t]*)("[^"\n]*"|'[^'\n]*'|[^\s,;&"'<>)]+)"#),
            &[LABEL_NEEDS, &["="]],
            keep_label,
        ),
        // `label: rest of the line`: chat, YAML, JSON, 5250 displays (`Password . . . :  x`),
        // Discord bold (`**Password:** x`), full-width colons. A colon value may hold blanks.
        rule(
            &format!(
                r#"(?im)({label}["']?)([ \t]*(?:\.[ \t]*)*[:：]\**_*[ \t]*["']?)([^\n"']*[^\s"'*_|]|"[^"\n]*"|'[^'\n]*')"#
            ),
            &[LABEL_NEEDS],
            keep_label_trimmed,
        ),
        // 5250 fields without a colon (`Password  . . . .   X`) and F4 prompts
        // (`User password . . > X`): dot leaders, then the value.
        rule(
            &format!(r"(?im)({label})((?:[ \t]*\.){{2,}}[ \t]*>?[ \t]*|[ \t]*(?:\.[ \t]*)*>[ \t]+)([^\s:：>.][^\n]*)"),
            &[LABEL_NEEDS],
            keep_label_trimmed,
        ),
        // `my password is Winter2024`: only a value with a digit, so prose stays.
        rule(
            &format!(
                r"(?i)((?:\b(?:{PASSWORD_WORDS})|(?:{CJK_PASSWORD_WORDS})))([ \t]+(?:is|was|ist|war|es|est|era|é|är|jest)[ \t]+)([^\s,;]*[0-9][^\s,;]*)"
            ),
            &[PASSWORD_NEEDS],
            keep_label,
        ),
        // XML elements: <password>x</password>, <ApiKey>x</ApiKey>.
        rule(&format!(r"(?i)(<{label}>)()([^<\n]+)"), &[&["<"], &[">"]], keep_label),
        // `--password secret` (the `--password=secret` form is caught above).
        rule(r"(?i)(--pass(?:word)?)(\s+)([^\s-]\S*)", &[&["--pass"]], keep_label),
        // .netrc: `machine host login joe password secret`.
        rule(
            r"(?i)(\blogin\s+\S+\s+(?:password|passwd|pass))(\s+)(\S+)",
            &[&["login"]],
            keep_label,
        ),
        // FTP sessions: a `PASS secret` command line.
        rule(r"(?im)^([ \t>]*pass)([ \t]+)(\S+)[ \t]*$", &[&["pass"]], keep_label),
        // SQL: CONNECT TO rdb USER joe USING 'secret'.
        rule(
            r"(?i)(\bconnect\s+to\b[^\n]*?\busing)(\s+)('(?:[^'\n]|'')*'|\S+)",
            &[&["connect"], &["using"]],
            keep_label,
        ),
        // smbclient -U joe%secret, -U 'DOM\joe%secret', --user=joe%secret.
        rule(
            r#"((?:\s-U|--user(?:name)?)(?:[ \t]*=?[ \t]*)["']?[^\s%"']+%)()([^\s"']+)"#,
            &[&["%"]],
            keep_label,
        ),
        // `net use [X:] \\srv\share [password] /user:DOM\joe`: the one word that is not a
        // drive, a path, a switch or `*` (prompt) is the password.
        rule_without_values(
            r"(?im)(\bnet[ \t]+use\b)()([^\n]*\\\\[^\n]*)",
            &[&["net"], &["use"], &["\\\\"]],
            |c| {
                let rest: Vec<String> = c[3]
                    .split(' ')
                    .map(|w| {
                        let t = w.trim_matches('"');
                        let keep = t.is_empty()
                            || t == "*"
                            || t.starts_with("\\\\")
                            || t.starts_with('/')
                            || (t.len() == 2 && t.ends_with(':'));
                        if keep { w.to_string() } else { SECRET.to_string() }
                    })
                    .collect();
                format!("{}{}", &c[1], rest.join(" "))
            },
        ),
        // URL user info: smb://joe:secret@nas/share, https://u:p@host.
        rule(
            r"(?i)(\b[a-z][a-z0-9+.-]*://[^\s:/@]+:)()([^\s@/]+)(@)",
            &[&["://"], &["@"]],
            |c| format!("{}{SECRET}@", &c[1]),
        ),
        // `-p secret` only where `-p` is unambiguously a password: sshpass, or next to a user
        // flag (`mysql -u root -p secret`); elsewhere `-p` usually means a port or a path.
        rule(r"(?m)^(.*\bsshpass\b.*?\s-p)(\s*)(\S+)", &[&["sshpass"]], keep_label),
        rule(
            r"(?m)^(.*\s(?:-u|-U|--user|--username)[\s=]\S+.*?\s-p)([ \t]+)([^\s-]\S*)",
            &[&["-p"]],
            keep_label,
        ),
        rule(
            r"(?m)^(.*\s-p)([ \t]+)([^\s-]\S*)(.*\s(?:-u|-U|--user|--username)[\s=]\S+)",
            &[&["-p"]],
            |c| {
                if is_special_value(&c[3]) {
                    c[0].to_string()
                } else {
                    format!("{}{}{SECRET}{}", &c[1], &c[2], &c[4])
                }
            },
        ),
        // AWS: an access key id, and a 40-character secret key next to it.
        rule(
            r"\b((?:AKIA|ASIA)[A-Z0-9]{16})([\s,:;|=]+)([A-Za-z0-9/+]{40})\b",
            &[&["akia", "asia"]],
            |_| SECRET.into(),
        ),
        rule(
            r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)[A-Z0-9]{16}\b",
            &[&["agpa", "aida", "aipa", "akia", "anpa", "anva", "aroa", "asia"]],
            |_| SECRET.into(),
        ),
        // Google API keys, GitHub tokens, Stripe-style live/test keys.
        rule(r"\bAIza[0-9A-Za-z_-]{35}", &[&["aiza"]], |_| SECRET.into()),
        rule(
            r"\b(?:ghp|gho|ghu|ghs|ghr|github_pat)_[A-Za-z0-9_]{20,}",
            &[&["gh", "github"], &["_"]],
            |_| SECRET.into(),
        ),
        rule(r"\b[sr]k_(?:live|test)_[0-9A-Za-z]{10,}", &[&["k_"]], |_| SECRET.into()),
        // JSON Web Tokens.
        rule(
            r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*",
            &[&["eyj"]],
            |_| SECRET.into(),
        ),
        // Discord bot tokens: base64 user id, timestamp, HMAC, joined by dots.
        rule(
            r"\b[A-Za-z0-9_-]{23,28}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,}",
            &[&["."]],
            |_| SECRET.into(),
        ),
        // Slack bot, user, app-level and refresh tokens.
        rule(r"\b(?:xox[abposre]|xapp)-[A-Za-z0-9-]{8,}", &[&["xapp", "xox"]], |_| {
            SECRET.into()
        }),
    ]
});

static IPS: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    vec![
        rule(
            r"\b(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\b",
            &[&["."]],
            |_| IP.into(),
        ),
        // Full eight-group IPv6, and compressed forms (which always contain `::`). Clock times
        // like 12:30:45 have neither shape.
        rule(r"(?i)\b(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}\b", &[&[":"]], |_| IP.into()),
        // The leading context stands in for a look-behind, so `std::string` stays.
        rule(
            r"(?i)(^|[^\w:.])(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,6})?::[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,6}\b",
            &[&["::"]],
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
            &[&["user"], &["."], &[":"]],
            keep_label_user,
        ),
        // CL keywords.
        rule(
            &format!(r"(?i)(\b(?:usrprf|user))(\(\s*)((?-i:{PROFILE}))"),
            &[&["us"], &["("]],
            keep_label_user,
        ),
        // Message text: `for user JSMITH on network server`, `by user profile JSMITH`.
        rule(
            &format!(r"(?i)(\b(?:for|by|of)\s+user(?:\s+profile)?)(\s+)((?-i:{PROFILE}))\b"),
            &[&["user"]],
            keep_label_user,
        ),
        // Qualified job names: 123456/JSMITH/QPADEV0001.
        rule(
            &format!(r"\b([0-9]{{6}}/)()({PROFILE})(/[A-Z$#@][A-Z0-9$#@_.]{{0,9}})"),
            &[&["/"]],
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
    fn every_rule_names_literals_every_match_contains() {
        for rule in SECRETS.iter().chain(IPS.iter()).chain(USERS.iter()) {
            assert!(!rule.needs.is_empty(), "{}", rule.pattern);
            crate::gated::check(&rule.pattern, rule.needs).unwrap();
            rule.regex();
        }
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
