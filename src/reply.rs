//! One platform-neutral answer, built from a diagnosis or a lookup; rendered as terminal text
//! here and as embeds by the Discord adapter.

use std::fmt::Write as _;

use std::sync::LazyLock;

use regex::Regex;
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
    /// What to check next if this does not fix it: (entry id, title), in the KB's order.
    pub next: Vec<(String, String)>,
}

/// Findings after the best are shown only when they are nearly as likely: a second answer
/// the admin must rule out is worth it, a third guess is noise.
const ALTERNATIVE_GAP: f64 = 0.15;
const MAX_FINDINGS: usize = 3;
/// ... and only when the ranking itself gives them a real share, not a trace.
const ALTERNATIVE_SHARE: f64 = 0.2;

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
            next: Vec::new(),
        }
    }

    /// The match's evidence is already redacted (see `diagnose::diagnose`).
    fn from_match(m: &Match) -> Finding {
        let why = m.evidence.iter().filter_map(|e| tidy_why(e)).collect();
        Finding::from_entry(&m.entry, m.confidence, why)
    }
}

/// A confidence as a whole percentage, rounded down: 0.496 is "49%", so a value shown as
/// "50%" really reached a 0.5 threshold.
pub fn percent(confidence: f64) -> String {
    let c = if confidence.is_finite() {
        confidence.clamp(0.0, 1.0)
    } else {
        0.0
    };
    // The small epsilon keeps 0.29 (stored as 0.28999...) at 29%.
    format!("{}%", ((c * 100.0) + 1e-9).floor() as u32)
}

/// Job-log field labels (`Cause . . . . . :`, `Recovery  . . . :`, `Message . . . . :`):
/// layout, not evidence.
static LABEL: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::expect_used)] // a constant, covered by the tests
    Regex::new(r"^\s*[A-Za-z][A-Za-z ]{0,40}?\s*(?:\.\s*){2,}:?\s*").expect("label pattern compiles")
});

/// An evidence line as a reader should see it: a quote stays on one line and ends on a word
/// boundary, a job-log label is dropped, and `CPDB053 — CPDB053` says `CPDB053` once.
/// `None` when nothing but a label is left.
pub fn tidy_why(why: &str) -> Option<String> {
    // “quoted” pattern text: up to the first line end, whole words only.
    if let (Some(open), Some(close)) = (why.find('“'), why.rfind('”'))
        && open < close
    {
        let inner = &why[open + '“'.len_utf8()..close];
        // The diagnosis quotes at most 80 characters: a quote that long was probably cut.
        let quoted = tidy_quote(inner, 80, inner.chars().count() >= 80)?;
        return Some(format!("{}“{quoted}”{}", &why[..open], &why[close + '”'.len_utf8()..]));
    }
    // `ID — line N: text` or `ID — ID`.
    if let Some((head, rest)) = why.split_once(" — ") {
        if rest.trim() == head.trim() {
            return Some(head.trim().to_string());
        }
        if let Some((line, text)) = rest.split_once(": ")
            && line.starts_with("line ")
        {
            return Some(match tidy_quote(text, 100, false) {
                Some(q) => format!("{head} — {line}: {q}"),
                None => format!("{head} — {line}"),
            });
        }
        return Some(
            format!("{head} — {}", tidy_quote(rest, 100, false).unwrap_or_default())
                .trim_end_matches(" — ")
                .to_string(),
        );
    }
    tidy_quote(why, 200, false)
}

/// One line of quoted text: cut at the first line break, without a leading job-log label,
/// shortened to `max` characters at a word boundary (with "…" where something was left out).
fn tidy_quote(text: &str, max: usize, maybe_cut: bool) -> Option<String> {
    let (first, more) = match text.split_once(['\n', '\r']) {
        Some((a, _)) => (a, true),
        None => (text, false),
    };
    // A quote that was already cut upstream ends in "…": its last word may be partial.
    let (body, cut) = match first.strip_suffix('…') {
        Some(b) => (b, true),
        None => (first, more || maybe_cut),
    };
    let body = LABEL.replace(body, "");
    let body = body.trim();
    let mut words: Vec<&str> = body.split_whitespace().collect();
    if cut && !more && words.len() > 1 {
        words.pop();
    }
    let mut out = String::new();
    let mut shortened = cut;
    for w in words {
        let extra = if out.is_empty() { 0 } else { 1 };
        if out.chars().count() + extra + w.chars().count() > max {
            shortened = true;
            break;
        }
        if extra == 1 {
            out.push(' ');
        }
        out.push_str(w);
    }
    if out.is_empty() {
        return None;
    }
    if shortened {
        out.push('…');
    }
    Some(out)
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

/// Two findings this close are a tie for the reader: neither is "most likely".
const TIE: f64 = 0.05;

/// "Most likely" only for a certain finding with no close rival; otherwise "Possibly" for
/// the best, so a stronger word never sits beside a higher percentage.
fn headline(findings: &[Finding]) -> String {
    match findings.first() {
        Some(f) if !f.tentative && !findings[1..].iter().any(|o| o.confidence >= f.confidence - TIE) => {
            format!("Most likely: {} ({})", f.title, percent(f.confidence))
        }
        Some(f) => format!("Possibly: {} ({})", f.title, percent(f.confidence)),
        None => "No known QNTC problem matches this.".to_string(),
    }
}

impl Answer {
    pub fn from_diagnosis(d: &Diagnosis) -> Answer {
        let mut findings: Vec<Finding> = Vec::new();
        if let Some(best) = d.best() {
            findings.push(Finding::from_match(best));
            findings.extend(
                d.matches[1..]
                    .iter()
                    .filter(|m| {
                        m.confidence >= best.confidence - ALTERNATIVE_GAP
                            && m.confidence >= 0.4
                            && m.share >= ALTERNATIVE_SHARE
                    })
                    .take(MAX_FINDINGS - 1)
                    .map(Finding::from_match),
            );
        }
        let headline = headline(&findings);
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

    /// Names, for each finding, the entries its KB entry says to check next (skipping those
    /// already shown as findings).
    pub fn fill_next(&mut self, kb: &crate::kb::Kb) {
        let shown: Vec<String> = self.findings.iter().map(|f| f.entry_id.clone()).collect();
        for f in &mut self.findings {
            let Some(e) = kb.get(&f.entry_id) else { continue };
            f.next = e
                .answer
                .next
                .iter()
                .filter(|n| !shown.contains(n))
                .filter_map(|n| kb.get(n).map(|x| (x.id.clone(), x.title.clone())))
                .collect();
        }
    }

    /// Readable terminal text wrapped to 100 columns; see [`Answer::to_text_width`].
    pub fn to_text(&self) -> String {
        self.to_text_width(100)
    }

    /// Readable terminal text: headline, then per finding cause, numbered steps with their
    /// commands, how to confirm, why it matched, references. Prose is wrapped to `width`;
    /// commands and URLs are never broken, so they can be copied whole.
    pub fn to_text_width(&self, width: usize) -> String {
        let width = width.max(40);
        let mut out = String::new();
        let _ = writeln!(out, "{}", wrap(&self.headline, width, "", ""));
        for (n, f) in self.findings.iter().enumerate() {
            let _ = writeln!(out);
            let label = if n == 0 { "Finding" } else { "Also possible" };
            let _ = writeln!(
                out,
                "{}",
                wrap(
                    &format!("== {label}: {} [{}] ({})", f.title, f.entry_id, percent(f.confidence)),
                    width,
                    "",
                    "   "
                )
            );
            if f.tentative {
                let _ = writeln!(out, "   (not certain: treat these as things to check)");
            }
            if let Some(r) = &f.releases {
                let _ = writeln!(out, "{}", wrap(&format!("Releases: {r}"), width, "", "  "));
            }
            let _ = writeln!(out, "\nCause:\n{}", paragraphs(&f.cause, width, "  "));
            let _ = writeln!(out, "\nWhat to do:");
            for (i, s) in f.steps.iter().enumerate() {
                let number = format!("  {}. ", i + 1);
                let _ = writeln!(out, "{}", wrap(&s.text, width, &number, &" ".repeat(number.len())));
                if let Some(c) = &s.command {
                    for line in c.lines() {
                        let _ = writeln!(out, "       {line}");
                    }
                }
                if let Some(c) = &s.caution {
                    let _ = writeln!(out, "{}", wrap(&format!("CAUTION: {c}"), width, "       ", "         "));
                }
            }
            if !f.checks.is_empty() {
                let _ = writeln!(out, "\nQuestions that tell the causes apart:");
                for c in &f.checks {
                    let _ = writeln!(out, "{}", wrap(c, width, "  - ", "    "));
                }
            }
            if let Some(c) = &f.confirm {
                let _ = writeln!(out, "\nHow to confirm:\n{}", paragraphs(c, width, "  "));
            }
            if !f.next.is_empty() {
                let _ = writeln!(out, "\nIf that does not fix it, check next:");
                for (i, (id, title)) in f.next.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "{}",
                        wrap(&format!("{title} [{id}]"), width, &format!("  {}. ", i + 1), "     ")
                    );
                }
            }
            if !f.why.is_empty() {
                let _ = writeln!(out, "\nWhy I think so:");
                for w in &f.why {
                    let _ = writeln!(out, "{}", wrap(w, width, "  - ", "    "));
                }
            }
            if !f.references.is_empty() {
                let _ = writeln!(out, "\nReferences:");
                for r in &f.references {
                    let id = r.id.as_deref().map(|i| format!(" [{i}]")).unwrap_or_default();
                    let _ = writeln!(out, "{}", wrap(&format!("{}{id}", r.title), width, "  - ", "    "));
                    if let Some(u) = &r.url {
                        let _ = writeln!(out, "    {u}");
                    }
                }
            }
        }
        if let Some(n) = &self.note {
            let _ = writeln!(out, "\n{}", paragraphs(n, width, ""));
        }
        out
    }
}

/// Wraps one paragraph; words longer than the line (paths, URLs) stay whole.
pub fn wrap(text: &str, width: usize, first: &str, rest: &str) -> String {
    let opts = textwrap::Options::new(width)
        .initial_indent(first)
        .subsequent_indent(rest)
        .break_words(false)
        .word_splitter(textwrap::WordSplitter::NoHyphenation);
    textwrap::wrap(text.trim(), opts).join("\n")
}

/// Wraps text whose paragraphs are separated by blank lines (KB causes are hard-wrapped in
/// their files; a paragraph is re-flowed to the width).
fn paragraphs(text: &str, width: usize, indent: &str) -> String {
    text.trim()
        .split("\n\n")
        .map(|p| {
            let joined = p.split_whitespace().collect::<Vec<_>>().join(" ");
            wrap(&joined, width, indent, indent)
        })
        .filter(|p| !p.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// A finding for renderer tests: `steps` steps of `step_len` filler characters, with a check,
/// a confirmation, a next entry, evidence and a reference, so every section is drawn.
#[cfg(test)]
pub(crate) fn sample_finding(n: usize, steps: usize, step_len: usize) -> Finding {
    Finding {
        entry_id: format!("entry-{n}"),
        title: format!("Finding {n}"),
        topics: vec!["netserver-domain-mismatch".into()],
        confidence: 0.8,
        tentative: n > 0,
        cause: "The NetServer domain differs from the Windows domain.".into(),
        steps: (0..steps)
            .map(|i| Step {
                text: format!("Step {i} {}", "x".repeat(step_len)),
                command: Some(format!("CHGNETSVR DOMAIN(STEP{i})")),
                caution: None,
            })
            .collect(),
        checks: vec!["WRKLNK '/QNTC/server'".into()],
        confirm: Some("Run WRKLNK again".into()),
        releases: None,
        next: vec![("password-case-qpwdlvl".into(), "Password case".into())],
        why: vec!["line 3: CPDB053".into()],
        references: vec![Reference {
            title: "IBM technote".into(),
            id: Some("123".into()),
            url: Some("https://www.ibm.com/support/pages/node/123".into()),
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_round_down_so_the_threshold_means_what_it_shows() {
        assert_eq!(percent(0.496), "49%");
        assert_eq!(percent(0.5), "50%");
        assert_eq!(percent(0.29), "29%");
        assert_eq!(percent(1.0), "100%");
        assert_eq!(percent(f64::NAN), "0%");
        assert_eq!(percent(-0.2), "0%");
    }

    fn finding(confidence: f64, tentative: bool) -> Finding {
        Finding {
            entry_id: format!("e{confidence}"),
            title: format!("T{confidence}"),
            topics: Vec::new(),
            confidence,
            tentative,
            cause: String::new(),
            steps: Vec::new(),
            checks: Vec::new(),
            confirm: None,
            releases: None,
            why: Vec::new(),
            references: Vec::new(),
            next: Vec::new(),
        }
    }

    #[test]
    fn most_likely_only_without_a_close_or_stronger_rival() {
        assert!(headline(&[finding(0.9, false), finding(0.6, false)]).starts_with("Most likely"));
        assert!(headline(&[finding(0.8, false), finding(0.79, false)]).starts_with("Possibly"));
        // A tentative lead beside a higher certain one: neither is "most likely".
        assert!(headline(&[finding(0.79, true), finding(0.8, false)]).starts_with("Possibly"));
        assert!(headline(&[finding(0.9, true)]).starts_with("Possibly"));
    }

    #[test]
    fn evidence_lines_are_tidied() {
        assert_eq!(tidy_why("CPDB053 — CPDB053").as_deref(), Some("CPDB053"));
        assert_eq!(
            tidy_why("CPDB053 — line 4: Cause . . . . . :   The server refused").as_deref(),
            Some("CPDB053 — line 4: The server refused")
        );
        assert_eq!(
            tidy_why("CPDB053 — line 4: Cause . . . . . :").as_deref(),
            Some("CPDB053 — line 4")
        );
        assert_eq!(
            tidy_why("“after the upgrade\nWRKLNK shows” matches a known pattern").as_deref(),
            Some("“after the upgrade…” matches a known pattern")
        );
        // Cut upstream in the middle of "security": the partial word goes.
        assert_eq!(
            tidy_why("CPDB053 — line 2: Error exchanging secur…").as_deref(),
            Some("CPDB053 — line 2: Error exchanging…")
        );
        let long = format!(
            "“{}” matches a known pattern",
            "word ".repeat(16).trim_end().to_string() + " wor"
        );
        let tidy = tidy_why(&long).unwrap();
        assert!(tidy.contains("word…”") && !tidy.contains("wor…"), "{tidy}");
        assert_eq!(
            tidy_why("mentions “netserver domain”").as_deref(),
            Some("mentions “netserver domain”")
        );
        assert_eq!(
            tidy_why("error code 3401 = EACCES").as_deref(),
            Some("error code 3401 = EACCES")
        );
    }

    #[test]
    fn wrapping_keeps_commands_and_urls_whole() {
        let text = wrap(&"word ".repeat(40), 40, "  - ", "    ");
        assert!(text.lines().all(|l| l.chars().count() <= 40), "{text}");
        let url = "https://www.ibm.com/support/pages/accessing-file-server-qntc-fails-cpdb053-error-code-3401";
        assert!(wrap(url, 40, "", "").contains(url));
        assert_eq!(paragraphs("one\ntwo\n\nthree", 40, "  "), "  one two\n\n  three");
    }
}
