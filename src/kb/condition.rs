//! The `when` conditions of KB entries: a tiny grammar over structured evidence.

use std::fmt;

use serde::Serialize;

/// Circumstances the evidence step recognises (see `crate::evidence`).
pub const CIRCUMSTANCES: &[&str] = &[
    "upgrade",
    "ipl",
    "rclstg",
    "password-change",
    "batch-job",
    "interactive-works",
    "smb1-disabled",
    "ntlmv2",
    "mixed-case-password",
    "domain-account",
    "long-domain-name",
    "local-account",
    "server-hardened",
    "nas",
    "samba",
    "signing",
    "kerberos",
    "exit-program",
    "pc-to-ibmi",
    "remote-subnet",
    "slow",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Cmp {
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
}

impl Cmp {
    pub fn holds<T: PartialOrd>(self, left: T, right: T) -> bool {
        match self {
            Cmp::Lt => left < right,
            Cmp::Le => left <= right,
            Cmp::Eq => left == right,
            Cmp::Ge => left >= right,
            Cmp::Gt => left > right,
        }
    }
}

/// An IBM i release as (version, release): V7R2M0, 7.2 and "i 7.2" are all (7, 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Release(pub u8, pub u8);

impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PathKind {
    Qntc,
    Other,
}

/// A length the engine measures in the text's paths (see `crate::rank::measure`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    ServerLength,
    ShareLength,
    PathLength,
    PathLevels,
}

impl Measure {
    pub const ALL: [(&'static str, Measure); 4] = [
        ("server_length", Measure::ServerLength),
        ("share_length", Measure::ShareLength),
        ("path_length", Measure::PathLength),
        ("path_levels", Measure::PathLevels),
    ];

    pub fn name(self) -> &'static str {
        Measure::ALL
            .iter()
            .find(|(_, m)| *m == self)
            .map_or("measure", |(n, _)| n)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "subject", rename_all = "snake_case")]
pub enum When {
    Measure { what: Measure, cmp: Cmp, value: u32 },
    Release { cmp: Cmp, release: Release },
    Circumstance { name: String },
    Qpwdlvl { cmp: Cmp, level: u8 },
    Message { id: String },
    ErrorCode { code: u32 },
    Command { name: String },
    Path { kind: PathKind },
}

impl When {
    pub fn parse(text: &str) -> Result<When, String> {
        let ops = [
            (">=", Cmp::Ge),
            ("<=", Cmp::Le),
            ("=", Cmp::Eq),
            ("<", Cmp::Lt),
            (">", Cmp::Gt),
        ];
        let (subject, cmp, value) = ops
            .iter()
            .find_map(|(op, cmp)| text.split_once(op).map(|(l, r)| (l.trim(), *cmp, r.trim())))
            .ok_or_else(|| format!("condition {text:?} has no comparison (=, <, <=, >, >=)"))?;
        let only_eq = |what: &str| {
            if cmp == Cmp::Eq {
                Ok(())
            } else {
                Err(format!("{what} conditions only take `=`"))
            }
        };
        if let Some((_, what)) = Measure::ALL.iter().find(|(n, _)| *n == subject) {
            let value = value
                .parse::<u32>()
                .map_err(|_| format!("{value:?} is not a whole number of characters or levels"))?;
            return Ok(When::Measure {
                what: *what,
                cmp,
                value,
            });
        }
        match subject {
            "release" => {
                let release = parse_release(value).ok_or_else(|| format!("{value:?} is not a release like 7.2"))?;
                Ok(When::Release { cmp, release })
            }
            "circumstance" => {
                only_eq("circumstance")?;
                if !CIRCUMSTANCES.contains(&value) {
                    return Err(format!(
                        "unknown circumstance {value:?}; known: {}",
                        CIRCUMSTANCES.join(", ")
                    ));
                }
                Ok(When::Circumstance {
                    name: value.to_string(),
                })
            }
            "qpwdlvl" => {
                let level = value
                    .parse::<u8>()
                    .ok()
                    .filter(|l| *l <= 4)
                    .ok_or_else(|| format!("QPWDLVL {value:?} is not 0..4"))?;
                Ok(When::Qpwdlvl { cmp, level })
            }
            "message" => {
                only_eq("message")?;
                let id = value.to_ascii_uppercase();
                if !super::is_message_id(&id) {
                    return Err(format!("{value:?} is not a message id like CPFA0A9"));
                }
                Ok(When::Message { id })
            }
            "error_code" => {
                only_eq("error_code")?;
                let code = value.parse::<u32>().map_err(|_| format!("{value:?} is not a number"))?;
                Ok(When::ErrorCode { code })
            }
            "command" => {
                only_eq("command")?;
                if value.is_empty() || !value.chars().all(|c| c.is_ascii_alphanumeric()) {
                    return Err(format!("{value:?} is not a CL command name"));
                }
                Ok(When::Command {
                    name: value.to_ascii_uppercase(),
                })
            }
            "path" => {
                only_eq("path")?;
                match value {
                    "qntc" => Ok(When::Path { kind: PathKind::Qntc }),
                    "other" => Ok(When::Path { kind: PathKind::Other }),
                    _ => Err(format!(
                        "path conditions are `path = qntc` or `path = other`, not {value:?}"
                    )),
                }
            }
            _ => Err(format!(
                "unknown condition subject {subject:?}; use release, circumstance, qpwdlvl, message, error_code, command, path, server_length, share_length, path_length or path_levels"
            )),
        }
    }
}

/// Parses "7.2", "V7R2M0", "V7R2", "i7.2".
pub fn parse_release(text: &str) -> Option<Release> {
    let t = text.trim().trim_start_matches(['i', 'I']).trim();
    let upper = t.to_ascii_uppercase();
    if let Some(rest) = upper.strip_prefix('V') {
        let (v, rest) = rest.split_once('R')?;
        let r: String = rest.chars().take_while(char::is_ascii_digit).collect();
        return Some(Release(v.parse().ok()?, r.parse().ok()?));
    }
    let (v, r) = t.split_once('.')?;
    Some(Release(v.parse().ok()?, r.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_form() {
        assert_eq!(
            When::parse("release >= 7.2"),
            Ok(When::Release {
                cmp: Cmp::Ge,
                release: Release(7, 2)
            })
        );
        assert_eq!(
            When::parse("qpwdlvl <= 1"),
            Ok(When::Qpwdlvl { cmp: Cmp::Le, level: 1 })
        );
        assert_eq!(
            When::parse("circumstance = batch-job"),
            Ok(When::Circumstance {
                name: "batch-job".into()
            })
        );
        assert_eq!(
            When::parse("command = sbmjob"),
            Ok(When::Command { name: "SBMJOB".into() })
        );
        assert_eq!(When::parse("path = other"), Ok(When::Path { kind: PathKind::Other }));
        assert!(When::parse("circumstance = moon-phase").is_err());
        assert!(When::parse("circumstance >= ipl").is_err());
        assert!(When::parse("release").is_err());
        assert!(When::parse("weather = rain").is_err());
        assert_eq!(
            When::parse("share_length > 12"),
            Ok(When::Measure {
                what: Measure::ShareLength,
                cmp: Cmp::Gt,
                value: 12
            })
        );
        assert!(When::parse("path_length > long").is_err());
    }

    #[test]
    fn releases() {
        assert_eq!(parse_release("V7R4M0"), Some(Release(7, 4)));
        assert_eq!(parse_release("i 7.3"), Some(Release(7, 3)));
        assert_eq!(parse_release("7.10"), Some(Release(7, 10)));
        assert_eq!(parse_release("seven"), None);
    }
}
