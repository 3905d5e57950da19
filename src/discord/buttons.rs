//! The buttons under an answer: one per action the conversation service offers, carrying its
//! token as the `custom_id` (at most 100 characters, which every token fits).

use serenity::all::{ButtonStyle, CreateActionRow, CreateButton};

use crate::conversation::{ActionKind, ActionToken, TOKEN_MAX};

fn label(kind: ActionKind) -> (&'static str, ButtonStyle) {
    match kind {
        ActionKind::Fixed => ("Fixed it", ButtonStyle::Success),
        ActionKind::NotIt => ("Not it", ButtonStyle::Secondary),
        ActionKind::Dismiss => ("Dismiss", ButtonStyle::Danger),
        ActionKind::Next => ("Next finding", ButtonStyle::Secondary),
    }
}

/// One row with a button per action; `None` when nothing is offered.
pub fn row(actions: &[ActionToken]) -> Option<CreateActionRow> {
    let buttons: Vec<CreateButton> = actions
        .iter()
        .map(|a| (a.kind, a.encode()))
        .filter(|(_, id)| id.len() <= TOKEN_MAX)
        .take(5)
        .map(|(kind, id)| {
            let (text, style) = label(kind);
            CreateButton::new(id).label(text).style(style)
        })
        .collect();
    (!buttons.is_empty()).then_some(CreateActionRow::Buttons(buttons))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_buttons_for_an_answer_none_for_nothing() {
        let row = row(&ActionToken::judging(7, "cpdb053-triage")).unwrap();
        let json = serde_json::to_value(&row).unwrap();
        let labels: Vec<&str> = json["components"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["label"].as_str().unwrap())
            .collect();
        assert_eq!(labels, ["Fixed it", "Not it", "Dismiss"]);
        assert_eq!(json["components"][0]["custom_id"], "qntc:fix:7:cpdb053-triage");
        assert!(super::row(&[]).is_none());
    }
}
