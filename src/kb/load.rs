//! Reads and validates `kb/*.toml`. Every problem is reported as `file:line: what is wrong`;
//! one broken file never hides the problems of the others.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::condition::When;
use super::source::{KbFile, KbFiles};
use super::{Answer, Certainty, Condition, Entry, Pattern, Reference, Step, is_message_id, topics};

/// Files larger than this are not knowledge-base entries; refusing them keeps a stray dump in
/// `kb/` from stalling start-up.
const MAX_FILE_BYTES: u64 = 256 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    pub line: usize,
    pub severity: Severity,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{}:{}: {kind}: {}", self.file.display(), self.line, self.message)
    }
}

#[derive(Debug, Default)]
pub struct LoadReport {
    pub entries: Vec<Entry>,
    pub problems: Vec<Problem>,
    pub files: usize,
}

impl LoadReport {
    /// Compiles every pattern now, as the matcher would on first use, and reports those that
    /// parse but do not compile (too large). `kb check` runs this; start-up does not.
    pub fn compile_patterns(&mut self) {
        let mut failures = Vec::new();
        for e in &self.entries {
            for p in &e.patterns {
                if let Err(err) = p.compile() {
                    let detail = err.to_string().lines().last().unwrap_or_default().trim().to_string();
                    failures.push(Problem {
                        file: e.file.clone(),
                        line: p.line,
                        severity: Severity::Error,
                        message: format!("regex {:?} does not compile: {detail}", p.source),
                    });
                }
            }
        }
        self.problems.extend(failures);
    }

    pub fn errors(&self) -> impl Iterator<Item = &Problem> {
        self.problems.iter().filter(|p| p.severity == Severity::Error)
    }

    pub fn has_errors(&self) -> bool {
        self.errors().next().is_some()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    id: Spanned<String>,
    title: Spanned<String>,
    topics: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    tags: Vec<String>,
    certainty: Spanned<String>,
    #[serde(default)]
    releases: Option<String>,
    #[serde(default = "yes")]
    unprompted: bool,
    #[serde(default)]
    triage: bool,
    #[serde(rename = "match", default)]
    matching: Option<Spanned<RawMatch>>,
    answer: Spanned<RawAnswer>,
    #[serde(default)]
    references: Vec<Spanned<Reference>>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawMatch {
    #[serde(default)]
    message_ids: Vec<Spanned<String>>,
    #[serde(default)]
    error_codes: Vec<Spanned<i64>>,
    #[serde(default)]
    nt_status: Vec<Spanned<String>>,
    #[serde(default)]
    phrases: Vec<Spanned<String>>,
    /// Short things users say about this problem, in any language: training data for the
    /// learned ranking and the similarity features, never matched literally.
    #[serde(default)]
    examples: Vec<Spanned<String>>,
    #[serde(default)]
    patterns: Vec<Spanned<RawPattern>>,
    #[serde(default)]
    conditions: Vec<Spanned<RawCondition>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPattern {
    regex: String,
    #[serde(default)]
    weight: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCondition {
    when: Spanned<String>,
    effect: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAnswer {
    cause: String,
    steps: Vec<Spanned<Step>>,
    #[serde(default)]
    confirm: Option<String>,
    #[serde(default)]
    checks: Vec<String>,
    #[serde(default)]
    next: Vec<String>,
}

const DEFAULT_PATTERN_WEIGHT: f64 = 0.3;

/// CL commands that disrupt other users or the whole system: a step giving one must carry a
/// `caution`, which the reply shows next to the command. `(name, must contain, what it does)`;
/// an empty "must contain" means every use of the command.
const DISRUPTIVE: &[(&str, &str, &str)] = &[
    (
        "ENDTCPSVR",
        "",
        "ends TCP/IP servers; ending NetServer disconnects every mapped PC drive",
    ),
    (
        "ENDSBS",
        "",
        "ends a subsystem and every job in it (QSERVER: all file-server sessions)",
    ),
    ("ENDHOSTSVR", "", "ends the host servers and their client connections"),
    ("ENDTCP", "", "ends TCP/IP for the whole system"),
    ("ENDTCPIFC", "", "takes a network interface down"),
    ("ENDJOB", "", "ends a job"),
    ("ENDSYS", "", "ends the system to the restricted state"),
    ("PWRDWNSYS", "", "powers the system down (IPL)"),
    ("RCLSTG", "", "needs the restricted state and runs for hours"),
    (
        "CHGSYSVAL",
        "QPWDLVL",
        "changes the password level at the next IPL and can lock users out",
    ),
    ("CHGSYSVAL", "QSECURITY", "changes the security level at the next IPL"),
    ("CHGSYSVAL", "QPWD", "changes password rules for every user profile"),
    (
        "CHGSYSVAL",
        "QMAXS",
        "changes when every user profile is disabled after failed sign-ons",
    ),
    (
        "CHGUSRPRF",
        "PASSWORD(",
        "changes a user's password, which everything storing the old one depends on",
    ),
    (
        "CHGPWD",
        "",
        "changes a password, which everything storing the old one depends on",
    ),
    ("ADDENVVAR", "*SYS", "sets a variable for every job on the system"),
    ("CHGENVVAR", "*SYS", "changes a variable for every job on the system"),
    ("RMVENVVAR", "*SYS", "removes a variable for every job on the system"),
    ("EDTAUTL", "", "changes an authorization list, a security change"),
    ("ADDAUTLE", "", "changes an authorization list, a security change"),
    ("CHGAUTLE", "", "changes an authorization list, a security change"),
    ("RMVAUTLE", "", "changes an authorization list, a security change"),
];

/// Why `command` needs a caution, if it does.
pub fn disruptive(command: &str) -> Option<&'static str> {
    let upper = command.to_ascii_uppercase();
    let name = upper.split_whitespace().next()?.split('(').next()?.rsplit('/').next()?;
    DISRUPTIVE
        .iter()
        .find(|(n, needle, _)| *n == name && upper.contains(needle))
        .map(|(_, _, why)| *why)
}

/// Loads every `*.toml` in `dir` (not recursive; `README.md` and other files are ignored).
pub fn load_dir(dir: &Path) -> LoadReport {
    match KbFiles::read_dir(dir) {
        Ok(files) => load_files(&files),
        Err(e) => LoadReport {
            problems: vec![Problem {
                file: dir.to_path_buf(),
                line: 0,
                severity: Severity::Error,
                message: format!("cannot read the knowledge-base directory: {e}"),
            }],
            ..LoadReport::default()
        },
    }
}

/// Loads the `*.toml` files of a KB (a directory read, or the embedded KB).
pub fn load_files(kb: &KbFiles) -> LoadReport {
    let mut report = LoadReport::default();
    let dir = kb.dir.as_path();
    // Entries are the `*.toml` files at the top; `model/` and `lint/` hold other things.
    let toml: Vec<&KbFile> = kb
        .files
        .iter()
        .filter(|f| f.name.ends_with(".toml") && !f.name.contains('/'))
        .collect();
    report.files = toml.len() + kb.refused.len();
    for (name, why) in &kb.refused {
        report.problems.push(Problem {
            file: kb.path_of(name),
            line: 0,
            severity: Severity::Error,
            message: why.clone(),
        });
    }
    if toml.is_empty() {
        report.problems.push(Problem {
            file: dir.to_path_buf(),
            line: 0,
            severity: Severity::Error,
            message: "no *.toml entries in the knowledge-base directory".into(),
        });
    }
    let mut seen: HashMap<String, (PathBuf, usize)> = HashMap::new();
    for f in toml {
        let path = kb.path_of(&f.name);
        let text = match bounded_text(&f.bytes) {
            Ok(t) => t,
            Err(message) => {
                report.problems.push(Problem {
                    file: path,
                    line: 0,
                    severity: Severity::Error,
                    message,
                });
                continue;
            }
        };
        let mut file = FileCheck {
            path: &path,
            text: &text,
            problems: Vec::new(),
        };
        if let Some(entry) = file.entry() {
            let line = file.line_of_key("id");
            match seen.get(&entry.id) {
                Some((other, other_line)) => file.error(
                    line,
                    format!(
                        "duplicate id {:?}: also defined at {}:{other_line}",
                        entry.id,
                        other.display()
                    ),
                ),
                None => {
                    seen.insert(entry.id.clone(), (path.clone(), line));
                    report.entries.push(entry);
                }
            }
        }
        report.problems.append(&mut file.problems);
    }
    if !report.has_errors() {
        cross_checks(&mut report);
    }
    report
}

fn bounded_text(bytes: &[u8]) -> Result<String, String> {
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!(
            "file is {} bytes; an entry may be at most {MAX_FILE_BYTES}",
            bytes.len()
        ));
    }
    String::from_utf8(bytes.to_vec()).map_err(|e| format!("not valid UTF-8 (byte {})", e.utf8_error().valid_up_to()))
}

struct FileCheck<'a> {
    path: &'a Path,
    text: &'a str,
    problems: Vec<Problem>,
}

impl FileCheck<'_> {
    fn line_at(&self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        self.text.as_bytes()[..offset].iter().filter(|&&b| b == b'\n').count() + 1
    }

    fn line_of_key(&self, key: &str) -> usize {
        self.text
            .lines()
            .position(|l| l.trim_start().starts_with(key) && l.contains('='))
            .map_or(1, |i| i + 1)
    }

    fn error(&mut self, line: usize, message: String) {
        self.problems.push(Problem {
            file: self.path.to_path_buf(),
            line,
            severity: Severity::Error,
            message,
        });
    }

    fn error_at<T>(&mut self, spanned: &Spanned<T>, message: String) {
        let line = self.line_at(spanned.span().start);
        self.error(line, message);
    }

    fn entry(&mut self) -> Option<Entry> {
        let raw: RawEntry = match toml::from_str(self.text) {
            Ok(raw) => raw,
            Err(e) => {
                let line = e.span().map_or(1, |s| self.line_at(s.start));
                let message = e.message().trim().replace('\n', " ");
                self.error(line, message);
                return None;
            }
        };
        let before = self.problems.len();

        let id = raw.id.get_ref().clone();
        let stem = self.path.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            self.error_at(
                &raw.id,
                format!("id {id:?} must be lower-case kebab-case (a-z, 0-9, -)"),
            );
        } else if id != stem {
            self.error_at(&raw.id, format!("id {id:?} must equal the file name ({stem}.toml)"));
        }
        if raw.title.get_ref().trim().is_empty() {
            self.error_at(&raw.title, "title is empty".into());
        }
        if raw.topics.get_ref().is_empty() {
            self.error_at(
                &raw.topics,
                "topics is empty: name at least one topic from kb-topics.md".into(),
            );
        }
        for t in raw.topics.get_ref() {
            if !topics::is_known(t.get_ref()) {
                self.error_at(t, format!("unknown topic {:?} (see shared/kb-topics.md)", t.get_ref()));
            }
        }
        let certainty = match raw.certainty.get_ref().as_str() {
            "high" => Certainty::High,
            "medium" => Certainty::Medium,
            "low" => Certainty::Low,
            other => {
                self.error_at(
                    &raw.certainty,
                    format!("certainty {other:?} must be high, medium or low"),
                );
                Certainty::Low
            }
        };

        let (match_line, m) = match raw.matching {
            Some(m) => (self.line_at(m.span().start), m.into_inner()),
            None => (1, RawMatch::default()),
        };
        let mut message_ids = Vec::new();
        for mid in &m.message_ids {
            let v = mid.get_ref().trim();
            if is_message_id(v) {
                message_ids.push(v.to_string());
            } else {
                self.error_at(
                    mid,
                    format!("{v:?} is not a message id: 3 upper-case letters and 4 hex digits, e.g. CPDB053"),
                );
            }
        }
        let mut error_codes = Vec::new();
        for code in &m.error_codes {
            match u32::try_from(*code.get_ref()) {
                Ok(c) => error_codes.push(c),
                Err(_) => self.error_at(code, format!("error code {} must be a positive number", code.get_ref())),
            }
        }
        let mut nt_status = Vec::new();
        for s in &m.nt_status {
            let v = s.get_ref().trim();
            if v.starts_with("STATUS_")
                && v.chars()
                    .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
            {
                nt_status.push(v.to_string());
            } else {
                self.error_at(s, format!("{v:?} is not an NT status name like STATUS_LOGON_FAILURE"));
            }
        }
        let mut phrases = Vec::new();
        for p in &m.phrases {
            let v = p.get_ref().trim();
            if v.chars().count() < 3 {
                self.error_at(
                    p,
                    format!("phrase {v:?} is too short to mean anything (3 characters at least)"),
                );
            } else {
                phrases.push(v.to_lowercase());
            }
        }
        let mut examples = Vec::new();
        for x in &m.examples {
            let v = x.get_ref().trim();
            if v.chars().count() < 8 {
                self.error_at(
                    x,
                    format!("example {v:?} is too short to teach anything (8 characters at least)"),
                );
            } else {
                examples.push(v.to_string());
            }
        }
        let mut patterns = Vec::new();
        for p in &m.patterns {
            let raw_p = p.get_ref();
            let weight = raw_p.weight.unwrap_or(DEFAULT_PATTERN_WEIGHT);
            if !(-1.0..=1.0).contains(&weight) {
                self.error_at(p, format!("pattern weight {weight} must be within -1..1"));
            }
            // Parsing is enough to catch every syntax error and is cheap; compiling is left to
            // the first text that can match (see `Pattern::regex`) and to `kb check`.
            match regex_syntax::Parser::new().parse(&raw_p.regex) {
                Ok(hir) if hir.properties().minimum_len() == Some(0) => self.error_at(
                    p,
                    format!(
                        "pattern {:?} matches empty text, so it would match everything",
                        raw_p.regex
                    ),
                ),
                Ok(hir) => patterns.push(Pattern::new(
                    raw_p.regex.clone(),
                    weight,
                    super::anchor::anchors(&hir),
                    self.line_at(p.span().start),
                )),
                Err(e) => {
                    let detail = e.to_string().lines().last().unwrap_or_default().trim().to_string();
                    self.error_at(p, format!("invalid regex {:?}: {detail}", raw_p.regex));
                }
            }
        }
        let mut conditions = Vec::new();
        for c in &m.conditions {
            let rc = c.get_ref();
            if !(-1.0..=1.0).contains(&rc.effect) {
                self.error_at(c, format!("condition effect {} must be within -1..1", rc.effect));
            }
            match When::parse(rc.when.get_ref()) {
                Ok(when) => conditions.push(Condition {
                    when,
                    source: rc.when.get_ref().clone(),
                    effect: rc.effect,
                }),
                Err(e) => self.error_at(&rc.when, e),
            }
        }
        if message_ids.is_empty()
            && error_codes.is_empty()
            && nt_status.is_empty()
            && phrases.is_empty()
            && patterns.is_empty()
            && m.message_ids.is_empty()
            && m.patterns.is_empty()
            && m.phrases.is_empty()
        {
            self.error(
                match_line,
                "[match] has nothing to match: give message_ids, error_codes, nt_status, phrases or patterns".into(),
            );
        }

        let answer_line = self.line_at(raw.answer.span().start);
        let a = raw.answer.into_inner();
        if a.cause.trim().is_empty() {
            self.error(answer_line, "answer.cause is empty".into());
        }
        if a.steps.is_empty() {
            self.error(answer_line, "answer.steps is empty: give at least one step".into());
        }
        for s in &a.steps {
            let step = s.get_ref();
            if step.text.trim().is_empty() {
                self.error_at(s, "a step has an empty text".into());
            }
            if step.caution.as_deref().is_some_and(|c| c.trim().is_empty()) {
                self.error_at(
                    s,
                    "a step has an empty caution: say what the step disrupts, or leave caution out".into(),
                );
            }
            if let Some(cmd) = &step.command
                && step.caution.is_none()
                && let Some(why) = disruptive(cmd)
            {
                self.error_at(
                    s,
                    format!("step command {cmd:?} {why}: give the step a caution = \"...\" that says so"),
                );
            }
        }
        if raw.references.is_empty() {
            self.error(
                self.line_of_key("title"),
                "no [[references]]: every entry cites at least one source".into(),
            );
        }
        let mut references = Vec::new();
        for r in raw.references {
            let line = self.line_at(r.span().start);
            let r = r.into_inner();
            if r.url.is_none() && r.id.is_none() {
                self.error(line, format!("reference {:?} needs a url or an id", r.title));
            }
            if let Some(url) = &r.url
                && !(url.starts_with("https://") || url.starts_with("http://"))
            {
                self.error(line, format!("reference url {url:?} is not an http(s) URL"));
            }
            references.push(r);
        }

        if self.problems.len() > before {
            return None;
        }
        Some(Entry {
            id,
            title: raw.title.into_inner().trim().to_string(),
            topics: raw.topics.into_inner().into_iter().map(Spanned::into_inner).collect(),
            tags: raw.tags,
            certainty,
            releases: raw.releases,
            unprompted: raw.unprompted,
            triage: raw.triage,
            message_ids,
            error_codes,
            nt_status,
            phrases,
            examples,
            patterns,
            conditions,
            answer: Answer {
                cause: a.cause.trim().to_string(),
                steps: a.steps.into_iter().map(Spanned::into_inner).collect(),
                confirm: a.confirm,
                checks: a.checks,
                next: a.next,
            },
            references,
            file: self.path.to_path_buf(),
        })
    }
}

/// Problems that only show across entries: patterns two entries share with equal weight
/// (neither can win on them) and topics nobody covers.
fn cross_checks(report: &mut LoadReport) {
    let mut by_pattern: HashMap<(String, u64), &Entry> = HashMap::new();
    let mut warnings = Vec::new();
    for e in &report.entries {
        for p in &e.patterns {
            let key = (p.source.clone(), p.weight.to_bits());
            if let Some(other) = by_pattern.get(&key) {
                warnings.push(Problem {
                    file: e.file.clone(),
                    line: 1,
                    severity: Severity::Warning,
                    message: format!(
                        "pattern {:?} (weight {}) is also in entry {:?}: the two entries claim the same text with equal weight",
                        p.source,
                        p.weight,
                        other.id
                    ),
                });
            } else {
                by_pattern.insert(key, e);
            }
        }
    }
    let covered: HashSet<&str> = report
        .entries
        .iter()
        .flat_map(|e| e.topics.iter().map(String::as_str))
        .collect();
    let ids: HashSet<&str> = report.entries.iter().map(|e| e.id.as_str()).collect();
    let mut unknown_next = Vec::new();
    for e in &report.entries {
        for n in &e.answer.next {
            if !ids.contains(n.as_str()) || *n == e.id {
                // The line of `next = [...]` in the file, when the file can be read again.
                let line = std::fs::read_to_string(&e.file)
                    .ok()
                    .and_then(|t| {
                        t.lines()
                            .position(|l| l.trim_start().starts_with("next") && l.contains(&format!("{n:?}")))
                    })
                    .map_or(1, |i| i + 1);
                unknown_next.push(Problem {
                    file: e.file.clone(),
                    line,
                    severity: Severity::Error,
                    message: format!("answer.next names {n:?}, which is not another entry of this KB"),
                });
            }
        }
    }
    report.problems.extend(unknown_next);
    let dir = report
        .entries
        .first()
        .and_then(|e| e.file.parent())
        .map(Path::to_path_buf)
        .unwrap_or_default();
    for t in topics::TOPICS {
        if !covered.contains(t) {
            warnings.push(Problem {
                file: dir.clone(),
                line: 0,
                severity: Severity::Warning,
                message: format!("topic {t:?} has no entry"),
            });
        }
    }
    report.problems.extend(warnings);
}
