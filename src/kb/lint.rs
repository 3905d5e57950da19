//! The checks `kb check` adds on top of loading: they protect the running bot from a
//! reviewer's mistake that is valid TOML and a valid regex but would still do harm.
//!
//! - a pattern with positive weight that fires on a large share of ordinary, non-QNTC text
//!   (`lint/ordinary.txt` in the KB directory) would make the bot answer everyday chatter;
//! - a step command whose CL command name is not in `lint/cl-commands.txt` is most likely a
//!   typo or an invented command, which an administrator would copy at 2 a.m.;
//! - a `GO NETS` step must also give the IBM Navigator for i path: the NETS menu is not
//!   installed on every system.
//!
//! Patterns are matched exactly as the runtime matches them ([`Pattern::is_match`], the same
//! compiled automaton), so what the lint measures is what the bot would do. Disruptive steps
//! without a caution are refused at load time already (see `load.rs`), so a running bot never
//! loads them either.

use std::collections::HashSet;
use std::path::Path;

use super::{Entry, KbFiles, LoadReport, Problem, Severity};

/// A positive-weight pattern may match at most this share of the ordinary documents.
pub const MAX_ORDINARY_SHARE: f64 = 0.10;

/// Where the lint inputs live, relative to the KB directory.
pub const ORDINARY_FILE: &str = "lint/ordinary.txt";
pub const COMMANDS_FILE: &str = "lint/cl-commands.txt";

/// A line with only this separates two documents in `lint/ordinary.txt`.
const DOCUMENT_SEPARATOR: &str = "----";

/// Runs every lint rule over the loaded entries and appends the problems to `report`.
/// Missing lint files are a warning (a KB copy without them is still checked for everything
/// else), unreadable ones an error.
pub fn lint(report: &mut LoadReport, files: &KbFiles) {
    let dir = files.dir.as_path();
    let mut problems = Vec::new();
    // Each entry's TOML as written, to report lines: from the files checked (the built-in KB
    // has no directory to read again).
    let sources: Vec<String> = report
        .entries
        .iter()
        .map(|e| {
            e.file
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| files.get(n))
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default()
        })
        .collect();
    match read_optional(files, ORDINARY_FILE) {
        Ok(Some(text)) => {
            let docs = documents(&text);
            if docs.is_empty() {
                problems.push(file_problem(
                    dir,
                    ORDINARY_FILE,
                    Severity::Error,
                    "has no documents".into(),
                ));
            } else {
                for e in &report.entries {
                    problems.extend(ordinary_text(e, &docs));
                }
            }
        }
        Ok(None) => problems.push(file_problem(
            dir,
            ORDINARY_FILE,
            Severity::Warning,
            "is missing: patterns were not checked against ordinary text".into(),
        )),
        Err(e) => problems.push(file_problem(dir, ORDINARY_FILE, Severity::Error, e)),
    }
    match read_optional(files, COMMANDS_FILE) {
        Ok(Some(text)) => {
            let known = command_list(&text);
            for (e, source) in report.entries.iter().zip(&sources) {
                problems.extend(unknown_commands(e, source, &known));
            }
        }
        Ok(None) => problems.push(file_problem(
            dir,
            COMMANDS_FILE,
            Severity::Warning,
            "is missing: step commands were not checked against the known CL commands".into(),
        )),
        Err(e) => problems.push(file_problem(dir, COMMANDS_FILE, Severity::Error, e)),
    }
    for (e, source) in report.entries.iter().zip(&sources) {
        problems.extend(go_nets_without_navigator(e, source));
        problems.extend(disruptive_text_without_caution(e, source));
    }
    report.problems.extend(problems);
}

fn read_optional(files: &KbFiles, name: &str) -> Result<Option<String>, String> {
    files
        .get(name)
        .map(|bytes| {
            String::from_utf8(bytes.to_vec())
                .map_err(|e| format!("is not valid UTF-8 (byte {})", e.utf8_error().valid_up_to()))
        })
        .transpose()
}

fn file_problem(dir: &Path, rel: &str, severity: Severity, what: String) -> Problem {
    Problem {
        file: dir.join(rel),
        line: 0,
        severity,
        message: format!("{rel} {what}"),
    }
}

/// Splits the corpus into documents: blocks between `----` lines, blank ones dropped. Lines
/// starting with `#` are comments.
pub fn documents(text: &str) -> Vec<String> {
    let mut docs = Vec::new();
    let mut cur = String::new();
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        if line.trim_end() == DOCUMENT_SEPARATOR {
            if !cur.trim().is_empty() {
                docs.push(std::mem::take(&mut cur));
            }
            cur.clear();
        } else {
            cur.push_str(line);
            cur.push('\n');
        }
    }
    if !cur.trim().is_empty() {
        docs.push(cur);
    }
    docs
}

/// Patterns that argue for their entry must stay quiet on ordinary text. Negative weights are
/// exempt: matching everyday words is what they are for.
pub fn ordinary_text(e: &Entry, docs: &[String]) -> Vec<Problem> {
    let mut out = Vec::new();
    for p in e.patterns.iter().filter(|p| p.weight > 0.0) {
        // A pattern that does not compile is reported by `compile_patterns`; skip it here.
        if p.regex().is_none() {
            continue;
        }
        let hits = docs.iter().filter(|d| p.is_match(d)).count();
        if hits as f64 > MAX_ORDINARY_SHARE * docs.len() as f64 {
            out.push(Problem {
                file: e.file.clone(),
                line: p.line,
                severity: Severity::Error,
                message: format!(
                    "pattern {:?} (weight {}) matches {hits} of {} ordinary documents in {ORDINARY_FILE}, more than {:.0}%: it would fire on everyday text",
                    p.source,
                    p.weight,
                    docs.len(),
                    MAX_ORDINARY_SHARE * 100.0
                ),
            });
        }
    }
    out
}

/// The command list: one CL command name per line, `#` starts a comment.
pub fn command_list(text: &str) -> HashSet<String> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or_default().trim())
        .filter(|l| !l.is_empty())
        .map(str::to_ascii_uppercase)
        .collect()
}

/// The CL command name of a step command: its first word, without a library qualifier
/// (`QSYS/CRTDIR`) and without a parameter glued to it (`WRKLNK('/QNTC')`).
pub fn command_name(command: &str) -> Option<String> {
    let first = command.split_whitespace().next()?;
    let first = first.split('(').next().unwrap_or_default();
    let name = first.rsplit('/').next().unwrap_or_default().to_ascii_uppercase();
    let valid = !name.is_empty()
        && name.len() <= 10
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '#' | '@' | '$' | '_'));
    valid.then_some(name)
}

fn unknown_commands(e: &Entry, text: &str, known: &HashSet<String>) -> Vec<Problem> {
    let mut out = Vec::new();
    for s in &e.answer.steps {
        let Some(cmd) = &s.command else { continue };
        let problem = match command_name(cmd) {
            Some(name) if known.contains(&name) => continue,
            Some(name) => format!(
                "step command {cmd:?}: {name} is not a CL command this KB knows ({COMMANDS_FILE}); check the spelling, or add it there if IBM documents it"
            ),
            None => format!("step command {cmd:?} does not start with a CL command name"),
        };
        out.push(Problem {
            file: e.file.clone(),
            line: line_of(text, cmd),
            severity: Severity::Error,
            message: problem,
        });
    }
    out
}

fn go_nets_without_navigator(e: &Entry, text: &str) -> Vec<Problem> {
    e.answer
        .steps
        .iter()
        .filter(|s| {
            s.command
                .as_deref()
                .is_some_and(|c| c.split_whitespace().map(str::to_ascii_uppercase).eq(["GO", "NETS"]))
                && !s.text.contains("Navigator")
        })
        .map(|s| Problem {
            file: e.file.clone(),
            line: line_of(text, &s.text),
            severity: Severity::Error,
            message: "a GO NETS step must also give the IBM Navigator for i path: the NETS menu is not set up on every system".into(),
        })
        .collect()
}

/// What a step's words may ask for that disrupts users even when its command does not show it
/// (the command is elsewhere, or there is none): each needs a caution like a disruptive
/// command does (see `load.rs`).
const DISRUPTIVE_WORDS: &[(&str, &str)] = &[
    (
        r"(?i)\b(restart|re-start|end|stop|recycle)(s|ing)?\s+(the\s+)?(IBM\s+i\s+)?NetServer\b",
        "restarting NetServer disconnects every mapped drive",
    ),
    (
        r"(?i)\b(end|stop|restart)(s|ing)?\s+(the\s+)?QSERVER\b",
        "ending QSERVER drops every file-server session",
    ),
    (
        r"(?i)\b(re-?enable|enable|turn\s+on|allow)(s|ing)?\s+SMB\s?(v|version\s)?1\b",
        "SMB1 is insecure and disabled by Microsoft for a reason",
    ),
    (
        r"(?i)\b(perform|schedule|do|plan)\s+(an\s+|the\s+)?IPL\b",
        "an IPL stops the system",
    ),
];

/// [`DISRUPTIVE_WORDS`] compiled once. Constant patterns, covered by the unit test below.
static DISRUPTIVE_WORDS_RE: std::sync::LazyLock<Vec<(regex::Regex, &str)>> = std::sync::LazyLock::new(|| {
    DISRUPTIVE_WORDS
        .iter()
        .filter_map(|(p, why)| Some((regex::Regex::new(p).ok()?, *why)))
        .collect()
});

fn disruptive_text_without_caution(e: &Entry, text: &str) -> Vec<Problem> {
    let mut out = Vec::new();
    for s in e.answer.steps.iter().filter(|s| s.caution.is_none()) {
        for (re, why) in DISRUPTIVE_WORDS_RE.iter() {
            if re.is_match(&s.text) {
                out.push(Problem {
                    file: e.file.clone(),
                    line: line_of(text, &s.text),
                    severity: Severity::Error,
                    message: format!(
                        "this step's words ask for something disruptive ({why}) but the step has no caution"
                    ),
                });
                break;
            }
        }
    }
    out
}

/// The line of the first occurrence of `needle` (as written in the TOML file), or the line of
/// `steps` when it cannot be found (for example because of escapes).
fn line_of(text: &str, needle: &str) -> usize {
    let find = |n: &str| text.find(n).map(|i| text[..i].matches('\n').count() + 1);
    find(needle)
        .or_else(|| find(&needle.replace('\\', "\\\\").replace('"', "\\\"")))
        .or_else(|| find("steps"))
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disruptive_words_compile_and_catch_what_they_name() {
        let hits = |t: &str| {
            DISRUPTIVE_WORDS
                .iter()
                .any(|(p, _)| regex::Regex::new(p).expect("compiles").is_match(t))
        };
        for t in [
            "Then restart NetServer so the name is used.",
            "End the QSERVER subsystem and start it again.",
            "Re-enable SMB1 on the NAS.",
            "Schedule an IPL for the weekend.",
        ] {
            assert!(hits(t), "{t}");
        }
        for t in [
            "Check that NetServer is started.",
            "The change takes effect at the next IPL.",
            "QSERVER must be active.",
            "SMB1 is not offered any more.",
        ] {
            assert!(!hits(t), "{t}");
        }
    }

    #[test]
    fn command_names() {
        assert_eq!(command_name("WRKLNK OBJ('/QNTC/server')").as_deref(), Some("WRKLNK"));
        assert_eq!(command_name("GO NETS").as_deref(), Some("GO"));
        assert_eq!(command_name("QSYS/CRTDIR DIR('/QNTC/x')").as_deref(), Some("CRTDIR"));
        assert_eq!(command_name("dspjoblog").as_deref(), Some("DSPJOBLOG"));
        assert_eq!(command_name("WRKLNK('/QNTC')").as_deref(), Some("WRKLNK"));
        assert_eq!(command_name("echo %USERDOMAIN%").as_deref(), Some("ECHO"));
        assert_eq!(command_name("-- nonsense"), None);
        assert_eq!(command_name("   "), None);
    }

    #[test]
    fn documents_are_blocks_between_separators() {
        let docs = documents("# comment\na\nb\n----\n\n----\nc\n----\n");
        assert_eq!(docs, ["a\nb\n", "c\n"]);
        assert!(documents("").is_empty());
    }

    #[test]
    fn comments_and_case_in_the_command_list() {
        let list = command_list("# header\nwrklnk\nGO  # the menu command\n\n");
        assert!(list.contains("WRKLNK") && list.contains("GO"));
        assert_eq!(list.len(), 2);
    }
}
