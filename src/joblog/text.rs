//! Text helpers shared by every form: re-joining lines that chat or a 5250 screen cut, and
//! pulling paths and the error class/code out of message text.

use regex::Regex;
use std::sync::LazyLock;

/// Widths at which terminals, emulator copies and mail clients cut lines without regard for
/// words (a 5250 screen is 80 columns, a printed job log 132).
const HARD_WRAP_WIDTHS: [usize; 2] = [80, 132];

/// Text being accumulated from several lines, with the start of its last token kept up to
/// date, so that deciding whether the next line glues on costs the next line's length, not the
/// length of everything gathered so far (a `find` listing glues into one long token).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Acc {
    text: String,
    /// Byte offset just after the last whitespace, `(`, `'`, `"` or `=`.
    tail: usize,
}

impl Acc {
    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn len(&self) -> usize {
        self.text.len()
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    pub fn push(&mut self, c: char) {
        let mut buf = [0u8; 4];
        self.push_str(c.encode_utf8(&mut buf));
    }

    pub fn push_str(&mut self, s: &str) {
        crate::work::add(s.len() + 1);
        if let Some((i, c)) = s.char_indices().rev().find(|&(_, c)| is_token_break(c)) {
            self.tail = self.text.len() + i + c.len_utf8();
        }
        self.text.push_str(s);
    }

    /// The last token: what follows the last whitespace, `(`, `'`, `"` or `=`.
    pub fn last_token(&self) -> &str {
        &self.text[self.tail..]
    }
}

impl From<String> for Acc {
    fn from(text: String) -> Acc {
        let mut acc = Acc::default();
        acc.push_str(&text);
        acc
    }
}

impl std::ops::Deref for Acc {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

fn is_token_break(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | '\'' | '"' | '=')
}

/// Appends a continuation line to `acc`. `prev_raw` is the raw line that supplied the end of
/// `acc`; it tells whether the cut fell inside a word or a path.
pub fn append_continuation(acc: &mut Acc, prev_raw: &str, next_raw: &str) {
    let next = next_raw.trim();
    if next.is_empty() {
        return;
    }
    if acc.is_empty() {
        acc.push_str(next);
        return;
    }
    if !glue(acc, prev_raw, next_raw) {
        acc.push(' ');
    }
    acc.push_str(next);
}

/// Whether the line break between `acc` and `next_raw` split a word or a path, so that the
/// two parts must be joined without a space.
pub fn glue(acc: &Acc, prev_raw: &str, next_raw: &str) -> bool {
    crate::work::add(prev_raw.len() + next_raw.len() + 1);
    let next = next_raw.trim_start();
    let (Some(a), Some(b)) = (acc.chars().next_back(), next.chars().next()) else {
        return false;
    };
    if a.is_whitespace() {
        return false;
    }
    // A line cut at exactly the terminal width with no space on either side of the cut was cut
    // mid-word: the continuation carries no indentation of its own.
    let cut_at_width = !next_raw.starts_with(char::is_whitespace)
        && !prev_raw.ends_with(char::is_whitespace)
        && is_word_char(a)
        && is_word_char(b)
        && HARD_WRAP_WIDTHS.contains(&prev_raw.chars().count());
    if cut_at_width {
        return true;
    }
    // IBM i breaks a token longer than the line (a long path) at the margin, and the rest goes
    // to the next, indented, line. A path that ends a line without its closing punctuation and
    // a next line that starts with more path is such a break.
    let last = acc.last_token();
    if !last.starts_with('/') || last.len() < 2 || last.ends_with(['.', ',', ';', ':', ')', '\'', '"']) {
        return false;
    }
    let mut words = next.split_whitespace();
    let first = words.next().unwrap_or("");
    let single = words.next().is_none();
    first.contains('/') || first.ends_with(['.', ',', '\'', ')']) || single
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '/' | '.' | '_' | '-' | '*' | '$' | '#' | '@' | '\'' | '(' | ')')
}

static OBJECT_IS: LazyLock<Regex> = LazyLock::new(|| {
    // "Object is &1." ends the first-level text of the CPFA0xx messages, so the path runs to
    // the sentence end and may contain spaces.
    crate::joblog::patterns::re(r#"(?i)\bobject\s+is\s+(/[^"]*?)(?:\.(?:[\s"')\]]|$)|["]|$)"#)
});

static PATH: LazyLock<Regex> = LazyLock::new(|| crate::joblog::patterns::re(r#"(?:^|[\s'"(=])(/[^\s'"()<>;|,]+)"#));

/// Distinct paths one message keeps. A message that names more (a `find` listing pasted as
/// one message) keeps its first ones.
const MAX_PATHS: usize = 64;
/// Telling fragments from paths compares each new path with the kept ones. Those comparisons
/// may cost this many bytes per byte of the message's text; beyond that budget (only a
/// message made of hundreds of paths reaches it) further paths are left out.
const COMPARE_BUDGET_PER_BYTE: usize = 8;

/// IFS paths mentioned in `text`, in order of appearance, without duplicates.
pub fn paths(text: &str, out: &mut Vec<String>) {
    if !text.contains('/') {
        return;
    }
    crate::work::add(text.len() * 2);
    let mut budget = text.len().saturating_mul(COMPARE_BUDGET_PER_BYTE).saturating_add(4096);
    for c in OBJECT_IS.captures_iter(text) {
        if let Some(m) = c.get(1) {
            push_path(out, m.as_str(), &mut budget);
        }
    }
    for c in PATH.captures_iter(text) {
        if let Some(m) = c.get(1) {
            push_path(out, m.as_str(), &mut budget);
        }
    }
}

fn push_path(out: &mut Vec<String>, raw: &str, budget: &mut usize) {
    let p = raw.trim().trim_end_matches(['.', ':', '\'', '"']);
    if p.len() < 2 || !p.bytes().any(|b| b.is_ascii_alphabetic()) {
        return;
    }
    // Both containment checks below read every kept path and `p` once per kept path.
    let cost = out.iter().map(|q| q.len() + p.len()).sum::<usize>() * 2 + p.len();
    if cost > *budget {
        return;
    }
    *budget -= cost;
    crate::work::add(cost + out.len());
    // "Object is /a b/c" also yields the fragment "/a"; a path inside one already found is
    // that fragment, not a second path.
    if out.iter().any(|q| q.contains(p)) || out.len() >= MAX_PATHS {
        return;
    }
    out.retain(|q| !p.contains(q.as_str()));
    out.push(p.to_string());
}

static ERROR_CLASS: LazyLock<Regex> = LazyLock::new(|| {
    crate::joblog::patterns::re(r"(?i)\berror\s+class\s+(?:was\s+|is\s+|=\s*|:\s*)?(X'[0-9A-F]+'|-?\d+)")
});
static ERROR_CODE: LazyLock<Regex> = LazyLock::new(|| {
    crate::joblog::patterns::re(r"(?i)\berror\s+code\s+(?:was\s+|is\s+|=\s*|:\s*)?(X'[0-9A-F]+'|-?\d+)")
});

/// The error class and error code that CPDB053 and similar messages report in their text.
pub fn error_class_code(text: &str) -> (Option<String>, Option<String>) {
    let grab = |re: &Regex| re.captures(text).and_then(|c| c.get(1)).map(|m| m.as_str().to_string());
    (grab(&ERROR_CLASS), grab(&ERROR_CODE))
}

/// Message types as a printed job log spells them, whatever the source wrote (JOBLOG_INFO
/// writes "DIAGNOSTIC", "INFORMATIONAL"; CL writes "*DIAG").
pub fn canonical_type(raw: &str) -> String {
    let t = raw.trim().trim_start_matches('*');
    let l = t.to_ascii_lowercase();
    let canon = [
        ("diag", "Diagnostic"),
        ("esc", "Escape"),
        ("info", "Information"),
        ("comp", "Completion"),
        ("inq", "Inquiry"),
        ("notify", "Notify"),
        ("request", "Request"),
        ("rqs", "Request"),
        ("reply", "Reply"),
        ("rpy", "Reply"),
        ("command", "Command"),
        ("sender", "Sender"),
    ];
    canon
        .iter()
        .find(|(p, _)| l.starts_with(p))
        .map_or_else(|| t.to_string(), |(_, c)| (*c).to_string())
}

/// Leading whitespace width of a line (a tab counts as one).
pub fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// Compiles now the regexes of this file (see [`super::warm`]).
pub(super) fn warm() {
    for re in [&OBJECT_IS, &PATH, &ERROR_CLASS, &ERROR_CODE] {
        LazyLock::force(re);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hard_wrap_at_80_joins_mid_word() {
        let prev = format!("{}informa", "x".repeat(73));
        let mut acc = Acc::from(prev.clone());
        append_continuation(&mut acc, &prev, "tion for user");
        assert!(acc.ends_with("information for user"), "{}", acc.as_str());
    }

    #[test]
    fn word_wrap_keeps_space() {
        let mut acc = Acc::from("Error exchanging security information for user JSMITH on".to_string());
        append_continuation(
            &mut acc,
            "  Error exchanging security information for user JSMITH on",
            "    network server NAS01.",
        );
        assert_eq!(
            acc.as_str(),
            "Error exchanging security information for user JSMITH on network server NAS01."
        );
    }

    #[test]
    fn split_path_is_rejoined() {
        let mut acc = Acc::from("Object not found.  Object is /QNTC/NAS01/Fin".to_string());
        append_continuation(&mut acc, "   Object is /QNTC/NAS01/Fin", "      ance/Reports/2026.");
        assert_eq!(
            acc.as_str(),
            "Object not found.  Object is /QNTC/NAS01/Finance/Reports/2026."
        );
        let mut v = Vec::new();
        paths(&acc, &mut v);
        assert_eq!(v, ["/QNTC/NAS01/Finance/Reports/2026"]);
    }

    #[test]
    fn finished_path_is_not_glued() {
        let mut acc = Acc::from("Object is /QNTC/NAS01/share.".to_string());
        append_continuation(&mut acc, "Object is /QNTC/NAS01/share.", "Cause follows here");
        assert_eq!(acc.as_str(), "Object is /QNTC/NAS01/share. Cause follows here");
    }

    #[test]
    fn paths_with_spaces_and_in_commands() {
        let mut v = Vec::new();
        paths("Object not copied.  Object is /QNTC/NAS01/My Share/a.txt.", &mut v);
        paths(
            "CPYTOSTMF FROMMBR('/QSYS.LIB/X.LIB/F.FILE/M.MBR') TOSTMF('/QNTC/NAS01/out.txt')",
            &mut v,
        );
        assert_eq!(
            v,
            [
                "/QNTC/NAS01/My Share/a.txt",
                "/QSYS.LIB/X.LIB/F.FILE/M.MBR",
                "/QNTC/NAS01/out.txt"
            ]
        );
        let mut none = Vec::new();
        paths("on 11/24/26 and/or 1 / 2", &mut none);
        assert!(none.is_empty(), "{none:?}");
    }

    #[test]
    fn error_class_and_code() {
        let t = "The system was exchanging security information with a network server. The error class was 0, and the error\n code was 3401.";
        assert_eq!(error_class_code(t), (Some("0".into()), Some("3401".into())));
        assert_eq!(
            error_class_code("The error code is X'020A'."),
            (None, Some("X'020A'".into()))
        );
        assert_eq!(error_class_code("no codes"), (None, None));
    }

    #[test]
    fn types_are_canonical() {
        assert_eq!(canonical_type("DIAGNOSTIC"), "Diagnostic");
        assert_eq!(canonical_type("INFORMATIONAL"), "Information");
        assert_eq!(canonical_type("*ESCAPE"), "Escape");
        assert_eq!(canonical_type("Abbruch"), "Abbruch");
    }
}
