//! What the conversation service returns (views, explanations, cases, stats), as Block Kit.

use std::fmt::Write as _;

use serde_json::Value;

use super::blocks::{self, Button, clip, escape, section};
use crate::conversation::{ActionKind, ActionToken, Case, CaseStats, Explanation, View};

/// The buttons for the actions the service offers, labelled exactly as users know them.
pub fn buttons(actions: &[ActionToken]) -> Vec<Button> {
    actions
        .iter()
        .map(|t| {
            let (label, id, style) = match t.kind {
                ActionKind::Fixed => ("Fixed it", "qntc_fixed", Some("primary")),
                ActionKind::NotIt => ("Not it", "qntc_not_it", None),
                ActionKind::Dismiss => ("Dismiss", "qntc_dismiss", Some("danger")),
                ActionKind::Next => ("Show the next one", "qntc_next", None),
            };
            Button {
                label: label.into(),
                action_id: id.into(),
                value: t.encode(),
                style,
            }
        })
        .collect()
}

/// An answer shown after "Not it" (or "next"): the remaining findings with their buttons.
pub fn view_blocks(v: &View) -> Vec<Value> {
    blocks::answer_blocks(&v.answer, Some(v.case), &buttons(&v.actions))
}

/// `explain 3401`: the decoding, the leading entries in full, the rest by name.
pub fn explanation_blocks(e: &Explanation) -> Vec<Value> {
    let mut body = vec![blocks::header(&clip(&e.headline, blocks::HEADER_MAX))];
    if let Some(n) = &e.note {
        body.push(section(&clip(&escape(n), blocks::SECTION_MAX)));
    }
    for f in &e.leads {
        body.push(blocks::divider());
        body.extend(blocks::finding_blocks(f, None));
    }
    if !e.more.is_empty() {
        let mut t = String::from("*Also related:*");
        for r in &e.more {
            let line = format!("\n• {} `/qntc lookup {}`", escape(&r.title), escape(&r.entry_id));
            if t.chars().count() + line.chars().count() > blocks::SECTION_MAX - 20 {
                t.push_str("\n…");
                break;
            }
            t.push_str(&line);
        }
        body.push(section(&t));
    }
    blocks::fit(body, Vec::new(), e.leads.first().map(|f| f.entry_id.as_str()))
}

fn who(c: &Case) -> String {
    let id = c.user_id.as_deref().unwrap_or("-");
    match c.user_name.as_deref().filter(|n| !n.is_empty()) {
        Some(n) => format!("{n} ({id})"),
        None => id.to_string(),
    }
}

/// One case in full: who, when, what was offered, how it ended, and the text as code blocks.
pub fn case_blocks(c: &Case) -> Vec<Value> {
    let mut facts = format!(
        "*Asked by:* {}\n*Opened:* {}\n*Where:* {}{}",
        escape(&who(c)),
        c.created_at.format("%Y-%m-%d %H:%M UTC"),
        escape(&c.platform),
        c.channel
            .as_deref()
            .map(|ch| format!(" {}", escape(ch)))
            .unwrap_or_default(),
    );
    if !c.matches.is_empty() {
        let offered: Vec<String> = c
            .matches
            .iter()
            .take(10)
            .map(|m| format!("{} ({:.0}%)", escape(&m.entry_id), m.confidence * 100.0))
            .collect();
        let _ = write!(facts, "\n*Offered:* {}", offered.join(", "));
    }
    if let Some(f) = &c.fixed_by {
        let _ = write!(facts, "\n*Resolved with:* {}", escape(f));
    }
    if c.repeats > 0 {
        let _ = write!(facts, "\n*Repeat reports:* {}", c.repeats);
    }
    let mut out = vec![
        blocks::header(&format!("Case #{} ({})", c.id, c.status)),
        section(&clip(&facts, blocks::SECTION_MAX)),
    ];
    out.extend(blocks::code_sections(&c.text, blocks::MAX_BLOCKS - out.len() - 1));
    if c.text_truncated {
        out.push(blocks::context(
            "The stored text was shortened when the case was recorded.",
        ));
    }
    out.truncate(blocks::MAX_BLOCKS);
    out
}

/// Recent cases, one line each.
pub fn case_list_blocks(cases: &[Case]) -> Vec<Value> {
    if cases.is_empty() {
        return vec![section("No cases match.")];
    }
    let mut lines: Vec<String> = Vec::new();
    for c in cases {
        let entry = c
            .fixed_by
            .as_deref()
            .or(c.best().map(|m| m.entry_id.as_str()))
            .unwrap_or("-");
        let text: String = c.text.split_whitespace().collect::<Vec<_>>().join(" ");
        lines.push(format!(
            "#{} [{}] {} · {} · {} · {}",
            c.id,
            c.status,
            c.created_at.format("%Y-%m-%d %H:%M"),
            escape(&who(c)),
            escape(entry),
            escape(&clip(&text, 60))
        ));
    }
    let mut out = vec![blocks::header(&format!("{} case(s)", cases.len()))];
    let mut cur = String::new();
    for l in lines {
        if cur.chars().count() + l.chars().count() + 1 > blocks::SECTION_MAX {
            out.push(section(&cur));
            cur.clear();
        }
        if !cur.is_empty() {
            cur.push('\n');
        }
        cur.push_str(&l);
    }
    if !cur.is_empty() {
        out.push(section(&cur));
    }
    out.truncate(blocks::MAX_BLOCKS);
    out
}

/// Case statistics over the last `days` days.
pub fn stats_blocks(s: &CaseStats, days: u32) -> Vec<Value> {
    let count = |k: &str| s.by_status.get(k).copied().unwrap_or(0);
    let mut t = format!(
        "{} case(s), {} repeat report(s)\n{} resolved, {} answered, {} open, {} wrong, {} dismissed; {} unanswered",
        s.total,
        s.repeats,
        count("resolved"),
        count("answered"),
        count("open"),
        count("wrong"),
        count("dismissed"),
        s.unanswered
    );
    if let Some(m) = s.median_resolution_secs {
        let _ = write!(t, "\nMedian time to resolution: {:.1} h", m / 3600.0);
    }
    if !s.top_topics.is_empty() {
        let top: Vec<String> = s
            .top_topics
            .iter()
            .take(5)
            .map(|t| format!("{} ({})", escape(&t.topic), t.cases))
            .collect();
        let _ = write!(t, "\nTop problems: {}", top.join(", "));
    }
    vec![
        blocks::header(&format!("Cases in the last {days} days")),
        section(&clip(&t, blocks::SECTION_MAX)),
    ]
}
