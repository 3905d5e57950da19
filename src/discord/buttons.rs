//! The buttons under every answer. Their `custom_id` comes back from Discord in a component
//! interaction that anyone could forge, so it is parsed strictly and only ever names a case
//! and an entry that are then checked against the case log.

use serenity::all::{ButtonStyle, CreateActionRow, CreateButton};

const PREFIX: &str = "qntc";
/// Discord's limit on a custom_id.
const CUSTOM_ID_MAX: usize = 100;
const ENTRY_ID_MAX: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Fixed,
    NotIt,
    Dismiss,
}

impl Action {
    fn code(self) -> &'static str {
        match self {
            Action::Fixed => "fix",
            Action::NotIt => "no",
            Action::Dismiss => "dis",
        }
    }

    fn from_code(s: &str) -> Option<Action> {
        match s {
            "fix" => Some(Action::Fixed),
            "no" => Some(Action::NotIt),
            "dis" => Some(Action::Dismiss),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ButtonId {
    pub action: Action,
    pub case: i64,
    pub entry: String,
}

fn valid_entry(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= ENTRY_ID_MAX
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

impl ButtonId {
    pub fn encode(&self) -> String {
        format!("{PREFIX}:{}:{}:{}", self.action.code(), self.case, self.entry)
    }

    /// `None` for anything this bot did not produce.
    pub fn parse(s: &str) -> Option<ButtonId> {
        if s.len() > CUSTOM_ID_MAX {
            return None;
        }
        let mut parts = s.split(':');
        if parts.next()? != PREFIX {
            return None;
        }
        let action = Action::from_code(parts.next()?)?;
        let case_str = parts.next()?;
        if case_str.is_empty() || !case_str.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let case: i64 = case_str.parse().ok().filter(|c| *c > 0)?;
        let entry = parts.next()?;
        if parts.next().is_some() || !valid_entry(entry) {
            return None;
        }
        Some(ButtonId {
            action,
            case,
            entry: entry.to_string(),
        })
    }
}

/// The row of buttons for an answer about `entry` in `case`. Entry ids that could not round
/// trip (too long, odd characters) get no buttons rather than broken ones.
pub fn row(case: i64, entry: &str) -> Option<CreateActionRow> {
    if !valid_entry(entry) {
        return None;
    }
    let id = |action| {
        ButtonId {
            action,
            case,
            entry: entry.to_string(),
        }
        .encode()
    };
    Some(CreateActionRow::Buttons(vec![
        CreateButton::new(id(Action::Fixed))
            .label("Fixed it")
            .style(ButtonStyle::Success),
        CreateButton::new(id(Action::NotIt))
            .label("Not it")
            .style(ButtonStyle::Secondary),
        CreateButton::new(id(Action::Dismiss))
            .label("Dismiss")
            .style(ButtonStyle::Danger),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for action in [Action::Fixed, Action::NotIt, Action::Dismiss] {
            let id = ButtonId {
                action,
                case: 42,
                entry: "qntc-domain-mismatch".into(),
            };
            let s = id.encode();
            assert!(s.len() <= CUSTOM_ID_MAX);
            assert_eq!(ButtonId::parse(&s), Some(id));
        }
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
            assert_eq!(ButtonId::parse(bad), None, "{bad:?}");
        }
        let long = format!("qntc:fix:1:{}", "a".repeat(200));
        assert_eq!(ButtonId::parse(&long), None);
    }

    #[test]
    fn no_buttons_for_unencodable_entries() {
        assert!(row(1, "ok-id").is_some());
        assert!(row(1, "bad id").is_none());
        assert!(row(1, &"a".repeat(65)).is_none());
    }
}
