//! The actions offered under an answer, as a short string a platform carries in a button
//! (Discord `custom_id`, at most 100 characters; Slack `value`). The string comes back in an
//! event anyone could forge, so it is parsed strictly and only ever names a case and an entry
//! that are then checked against the case log.

/// What a person can do with an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActionKind {
    /// "Fixed it": the case is resolved by this entry.
    Fixed,
    /// "Not it": this entry was wrong; show the next best.
    NotIt,
    /// "Dismiss": the answer was not wanted; it is removed.
    Dismiss,
    /// Show the next finding without judging this one.
    Next,
}

impl ActionKind {
    pub const ALL: [ActionKind; 4] = [
        ActionKind::Fixed,
        ActionKind::NotIt,
        ActionKind::Dismiss,
        ActionKind::Next,
    ];

    fn code(self) -> &'static str {
        match self {
            ActionKind::Fixed => "fix",
            ActionKind::NotIt => "no",
            ActionKind::Dismiss => "dis",
            ActionKind::Next => "next",
        }
    }

    fn from_code(s: &str) -> Option<ActionKind> {
        ActionKind::ALL.into_iter().find(|k| k.code() == s)
    }

    /// Does this action judge the answer (and so need the asker or staff)?
    pub fn judges(self) -> bool {
        matches!(self, ActionKind::Fixed | ActionKind::NotIt | ActionKind::Dismiss)
    }
}

const PREFIX: &str = "qntc";
/// Longest token [`ActionToken::parse`] accepts; what [`ActionToken::encode`] makes always fits.
pub const TOKEN_MAX: usize = 100;
const ENTRY_ID_MAX: usize = 64;

/// One action on one case about one entry: `qntc:<action>:<case>:<entry>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ActionToken {
    pub kind: ActionKind,
    pub case: i64,
    pub entry: String,
}

/// Can this entry id travel in a token (and come back unchanged)?
pub fn valid_entry(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= ENTRY_ID_MAX
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

impl ActionToken {
    pub fn encode(&self) -> String {
        format!("{PREFIX}:{}:{}:{}", self.kind.code(), self.case, self.entry)
    }

    /// `None` for anything this bot did not produce.
    pub fn parse(s: &str) -> Option<ActionToken> {
        if s.len() > TOKEN_MAX {
            return None;
        }
        let mut parts = s.split(':');
        if parts.next()? != PREFIX {
            return None;
        }
        let kind = ActionKind::from_code(parts.next()?)?;
        let case_str = parts.next()?;
        if case_str.is_empty() || !case_str.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let case: i64 = case_str.parse().ok().filter(|c| *c > 0)?;
        let entry = parts.next()?;
        if parts.next().is_some() || !valid_entry(entry) {
            return None;
        }
        Some(ActionToken {
            kind,
            case,
            entry: entry.to_string(),
        })
    }

    /// The three judging actions for an answer about `entry`, in display order; empty when
    /// the entry id cannot travel in a token.
    pub fn judging(case: i64, entry: &str) -> Vec<ActionToken> {
        if !valid_entry(entry) {
            return Vec::new();
        }
        [ActionKind::Fixed, ActionKind::NotIt, ActionKind::Dismiss]
            .into_iter()
            .map(|kind| ActionToken {
                kind,
                case,
                entry: entry.to_string(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for kind in ActionKind::ALL {
            let t = ActionToken {
                kind,
                case: 42,
                entry: "qntc-domain-mismatch".into(),
            };
            let s = t.encode();
            assert!(s.len() <= TOKEN_MAX);
            assert_eq!(ActionToken::parse(&s), Some(t));
        }
        let longest = ActionToken {
            kind: ActionKind::Next,
            case: i64::MAX,
            entry: "e".repeat(ENTRY_ID_MAX),
        };
        assert!(longest.encode().len() <= TOKEN_MAX);
    }

    #[test]
    fn rejects_forgeries() {
        for bad in [
            "",
            "qntc",
            "qntc:fix:1",
            "qntc:fix:1:",
            "qntc:del:1:x",
            "other:fix:1:x",
            "qntc:fix:-1:x",
            "qntc:fix:0:x",
            "qntc:fix:+1:x",
            "qntc:fix:99999999999999999999:x",
            "qntc:fix:1:x:y",
            "qntc:fix:1:x y",
            "qntc:fix:1:../../etc",
            "qntc:fix:1:';DROP TABLE cases;--",
        ] {
            assert_eq!(ActionToken::parse(bad), None, "{bad:?}");
        }
        assert_eq!(ActionToken::parse(&format!("qntc:fix:1:{}", "a".repeat(200))), None);
    }

    #[test]
    fn no_actions_for_unencodable_entries() {
        assert_eq!(ActionToken::judging(1, "ok-id").len(), 3);
        assert!(ActionToken::judging(1, "bad id").is_empty());
        assert!(ActionToken::judging(1, &"a".repeat(65)).is_empty());
    }
}
