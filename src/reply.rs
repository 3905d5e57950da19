//! One platform-neutral answer, built from a diagnosis or a lookup; rendered as terminal text
//! here and as embeds by the Discord adapter.

use std::fmt::Write as _;

use serde::Serialize;

use crate::diagnose::{Diagnosis, Match};
use crate::kb::{Certainty, Entry};
pub use crate::kb::{Reference, Step};

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Answer {
    pub headline: String,
    pub findings: Vec<Finding>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Finding {
    pub entry_id: String,
    pub title: String,
    pub topics: Vec<String>,
    pub confidence: f64,
    /// Medium- or low-certainty knowledge, or a weak match: worded as things to check.
    pub tentative: bool,
    pub cause: String,
    pub steps: Vec<Step>,
    pub checks: Vec<String>,
    pub confirm: Option<String>,
    pub releases: Option<String>,
    pub why: Vec<String>,
    pub references: Vec<Reference>,
}

/// Findings after the best are shown only when they are nearly as likely: a second answer
/// the admin must rule out is worth it, a third guess is noise.
const ALTERNATIVE_GAP: f64 = 0.15;
const MAX_FINDINGS: usize = 3;

impl Finding {
    pub fn from_entry(e: &Entry, confidence: f64, why: Vec<String>) -> Finding {
        Finding {
            entry_id: e.id.clone(),
            title: e.title.clone(),
            topics: e.topics.clone(),
            confidence,
            tentative: e.certainty != Certainty::High || confidence < 0.6,
            cause: e.answer.cause.clone(),
            steps: e.answer.steps.clone(),
            checks: e.answer.checks.clone(),
            confirm: e.answer.confirm.clone(),
            releases: e.releases.clone(),
            why,
            references: e.references.clone(),
        }
    }

    fn from_match(m: &Match) -> Finding {
        Finding::from_entry(&m.entry, m.confidence, m.evidence.clone())
    }
}

/// What to tell the user about message ids the KB does not know.
pub fn unknown_ids_note(ids: &[String]) -> Option<String> {
    (!ids.is_empty()).then(|| {
        format!(
            "I do not know {} yet. Please paste the full message text: put the cursor on the message in DSPJOBLOG and press F1 (\"Additional Message Information\"), then copy the whole screen.",
            ids.join(", ")
        )
    })
}

impl Answer {
    pub fn from_diagnosis(d: &Diagnosis) -> Answer {
        let mut findings: Vec<Finding> = Vec::new();
        if let Some(best) = d.best() {
            findings.push(Finding::from_match(best));
            findings.extend(
                d.matches[1..]
                    .iter()
                    .filter(|m| m.confidence >= best.confidence - ALTERNATIVE_GAP && m.confidence >= 0.4)
                    .take(MAX_FINDINGS - 1)
                    .map(Finding::from_match),
            );
        }
        let headline = match findings.first() {
            Some(f) if f.tentative => format!("Possibly: {} ({:.0}%)", f.title, f.confidence * 100.0),
            Some(f) => format!("Most likely: {} ({:.0}%)", f.title, f.confidence * 100.0),
            None => "No known QNTC problem matches this.".to_string(),
        };
        let mut note = unknown_ids_note(&d.unknown_ids);
        if findings.is_empty() && note.is_none() {
            note = Some(
                "Nothing in the knowledge base fits. Paste the job log (DSPJOBLOG, F10 for details) or describe what the job was doing; a person from the team will take a look.".into(),
            );
        }
        Answer {
            headline,
            findings,
            note,
        }
    }

    /// Readable terminal text: headline, then per finding cause, numbered steps with their
    /// commands, how to confirm, why it matched, references.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{}", self.headline);
        for (n, f) in self.findings.iter().enumerate() {
            let _ = writeln!(out);
            let label = if n == 0 { "Finding" } else { "Also possible" };
            let _ = writeln!(
                out,
                "== {label}: {} [{}] ({:.0}%)",
                f.title,
                f.entry_id,
                f.confidence * 100.0
            );
            if f.tentative {
                let _ = writeln!(out, "   (not certain: treat these as things to check)");
            }
            if let Some(r) = &f.releases {
                let _ = writeln!(out, "Releases: {r}");
            }
            let _ = writeln!(out, "\nCause:\n{}", indent(&f.cause));
            let _ = writeln!(out, "\nWhat to do:");
            for (i, s) in f.steps.iter().enumerate() {
                let _ = writeln!(out, "  {}. {}", i + 1, s.text);
                if let Some(c) = &s.command {
                    let _ = writeln!(out, "       {c}");
                }
                if let Some(c) = &s.caution {
                    let _ = writeln!(out, "       CAUTION: {c}");
                }
            }
            if !f.checks.is_empty() {
                let _ = writeln!(out, "\nQuestions that tell the causes apart:");
                for c in &f.checks {
                    let _ = writeln!(out, "  - {c}");
                }
            }
            if let Some(c) = &f.confirm {
                let _ = writeln!(out, "\nHow to confirm:\n{}", indent(c));
            }
            if !f.why.is_empty() {
                let _ = writeln!(out, "\nWhy I think so:");
                for w in &f.why {
                    let _ = writeln!(out, "  - {w}");
                }
            }
            if !f.references.is_empty() {
                let _ = writeln!(out, "\nReferences:");
                for r in &f.references {
                    let id = r.id.as_deref().map(|i| format!(" [{i}]")).unwrap_or_default();
                    let url = r.url.as_deref().map(|u| format!(" {u}")).unwrap_or_default();
                    let _ = writeln!(out, "  - {}{id}{url}", r.title);
                }
            }
        }
        if let Some(n) = &self.note {
            let _ = writeln!(out, "\n{n}");
        }
        out
    }
}

fn indent(text: &str) -> String {
    text.trim()
        .lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
