//! Facts extracted from a text: message ids, error codes, NT status names, releases, commands,
//! /QNTC paths and circumstances, each with the line it came from.
//!
//! Extraction knows IBM i, not the knowledge base: it runs the same whatever the KB holds,
//! and every pass is linear in the text.

use std::collections::BTreeSet;

use rustc_hash::FxHashMap;
use std::sync::{Arc, LazyLock};

use regex::Regex;

use crate::gated::{Gated, Literals, Present};
use serde::Serialize;

use crate::errno;
use crate::joblog::{self, IdSource, ParsedLog};
use crate::kb::condition::{Release, parse_release};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FactKind {
    MessageId,
    ErrorCode,
    NtStatus,
    Release,
    Command,
    QntcPath,
    OtherPath,
    Circumstance,
    Qpwdlvl,
}

/// One observation, with the (1-based) line of the normalised text it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fact {
    pub kind: FactKind,
    pub value: String,
    pub line: usize,
    /// How much the fact counts: 1.0 normally, less for informational job-log messages or
    /// messages explained by an earlier one, and for values read loosely (a bare number).
    pub weight: f64,
    /// A human note, e.g. "EACCES, permission denied (CPE3401)" or "recognised by its text".
    pub note: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Evidence {
    /// Every fact once per (kind, value), in order of discovery. Read it; [`extract`] builds
    /// it together with the index the lookups below use.
    pub facts: Vec<Fact>,
    pub log: ParsedLog,
    /// The normalised text is about QNTC (or IBM i reaching a file share), so an answer is on
    /// topic. Without this the bot never answers unprompted.
    pub qntc_context: bool,
    /// The normalised text and where its lines start, for quoting evidence in replies.
    text: Arc<str>,
    line_starts: Vec<usize>,
    index: FactIndex,
    /// For a skimmed input (see [`crate::skim`]): (line in the whole input, line of `text`)
    /// for every selected line, in order, and the whole input's line count.
    skim_lines: Option<(Vec<(usize, usize)>, usize)>,
}

/// Lookups by kind and by (kind, value) in constant time: a text with tens of thousands of
/// distinct ids or codes must not cost a scan of every fact per fact.
#[derive(Debug, Clone, Default)]
struct FactIndex {
    /// Keyed by kind, then value: a lookup by `&str` needs no owned key (the scoring looks
    /// facts up a few hundred times per message).
    by_value: FxHashMap<FactKind, FxHashMap<String, usize>>,
    by_kind: FxHashMap<FactKind, Vec<usize>>,
    len: usize,
}

impl FactIndex {
    /// Adds `fact` or, when its (kind, value) is known, keeps the stronger sighting.
    fn push(&mut self, facts: &mut Vec<Fact>, fact: Fact) {
        crate::work::add(fact.value.len() + 1);
        match self.get(fact.kind, &fact.value) {
            // Keep the strongest sighting; a job log repeats its messages.
            Some(i) => {
                if facts[i].weight < fact.weight {
                    facts[i] = fact;
                }
            }
            None => {
                let i = facts.len();
                self.by_value
                    .entry(fact.kind)
                    .or_default()
                    .insert(fact.value.clone(), i);
                self.by_kind.entry(fact.kind).or_default().push(i);
                self.len += 1;
                facts.push(fact);
            }
        }
    }

    fn get(&self, kind: FactKind, value: &str) -> Option<usize> {
        self.by_value.get(&kind)?.get(value).copied()
    }

    fn contains(&self, kind: FactKind, value: &str) -> bool {
        crate::work::add(value.len() + 1);
        self.get(kind, value).is_some()
    }
}

/// The facts of one kind, in order: through the index, or by a scan when `facts` was changed
/// after extraction.
pub struct FactsOf<'e> {
    facts: &'e [Fact],
    kind: FactKind,
    indexed: Option<std::slice::Iter<'e, usize>>,
    scan: std::slice::Iter<'e, Fact>,
}

impl<'e> Iterator for FactsOf<'e> {
    type Item = &'e Fact;

    fn next(&mut self) -> Option<&'e Fact> {
        match &mut self.indexed {
            Some(ix) => ix.next().and_then(|&i| self.facts.get(i)),
            None => self.scan.by_ref().find(|f| f.kind == self.kind),
        }
    }
}

impl Evidence {
    /// Whether this is the evidence of a skimmed input: its text is already the selection
    /// of the lines worth reading.
    pub fn is_skimmed(&self) -> bool {
        self.skim_lines.is_some()
    }

    /// A stable key for "the same evidence": the sorted message ids, error codes and NT status
    /// names, joined with `|` (e.g. `3401|CPDB053`). Empty when the text has none of them;
    /// prose-only texts are never folded or used for learning.
    pub fn key(&self) -> String {
        let keys: BTreeSet<&str> = self
            .facts
            .iter()
            .filter(|f| matches!(f.kind, FactKind::MessageId | FactKind::ErrorCode | FactKind::NtStatus))
            .map(|f| f.value.as_str())
            .collect();
        keys.into_iter().collect::<Vec<_>>().join("|")
    }

    /// Whether the index describes `facts` (it does unless `facts` was changed by hand).
    fn indexed(&self) -> bool {
        self.index.len == self.facts.len()
    }

    pub fn of(&self, kind: FactKind) -> FactsOf<'_> {
        let indexed = self
            .indexed()
            .then(|| self.index.by_kind.get(&kind).map_or([].iter(), |v| v.iter()));
        FactsOf {
            facts: &self.facts,
            kind,
            indexed,
            scan: self.facts.iter(),
        }
    }

    pub fn has(&self, kind: FactKind, value: &str) -> bool {
        self.find(kind, value).is_some()
    }

    pub fn find(&self, kind: FactKind, value: &str) -> Option<&Fact> {
        if self.indexed() {
            let i = self.index.get(kind, value)?;
            return self.facts.get(i).filter(|f| f.kind == kind && f.value == value);
        }
        self.of(kind).find(|f| f.value == value)
    }

    pub fn releases(&self) -> impl Iterator<Item = Release> + '_ {
        self.of(FactKind::Release).filter_map(|f| parse_release(&f.value))
    }

    pub fn qpwdlvl(&self) -> Option<u8> {
        self.of(FactKind::Qpwdlvl).find_map(|f| f.value.parse().ok())
    }

    /// The text of a line, trimmed and shortened for quoting.
    pub fn quote(&self, line: usize) -> Option<String> {
        let l = self.line(line)?.trim();
        if l.is_empty() {
            return None;
        }
        Some(if l.chars().count() > 100 {
            format!("{}…", l.chars().take(99).collect::<String>())
        } else {
            l.to_string()
        })
    }

    pub fn line_count(&self) -> usize {
        match &self.skim_lines {
            Some((_, total)) => *total,
            None => self.line_starts.len(),
        }
    }

    /// Line `line` (1-based) of the normalised input, without its line end.
    fn line(&self, line: usize) -> Option<&str> {
        let line = match &self.skim_lines {
            Some((map, _)) => {
                let k = map.binary_search_by_key(&line, |&(orig, _)| orig).ok()?;
                map[k].1
            }
            None => line,
        };
        let start = *self.line_starts.get(line.checked_sub(1)?)?;
        let end = self
            .line_starts
            .get(line)
            .map_or(self.text.len(), |&next| next.saturating_sub(1));
        let l = self.text.get(start..end)?;
        Some(l.strip_suffix('\r').unwrap_or(l))
    }
}

/// Extracts the evidence from normalised text (see [`crate::input::normalize`]).
pub fn extract(text: &str) -> Evidence {
    extract_shared(Arc::from(text))
}

/// [`extract`] for a text the caller already shares, so that the evidence can quote it without
/// a copy.
pub fn extract_shared(text: Arc<str>) -> Evidence {
    extract_present(text).0
}

/// [`extract_shared`], with the literals found in the text for a second look at it.
fn extract_present(text: Arc<str>) -> (Evidence, Present) {
    // One unit per byte for each of the regex passes below.
    crate::work::add(text.len() * 12);
    let folded = crate::kb::anchor::fold(&text);
    let present = LITERALS.scan(&folded);
    let log = joblog::parse_folded(&text, &folded);
    drop(folded);
    let lines = LineIndex::new(&text);
    let mut facts = Facts::default();
    message_ids(&text, &lines, &log, &mut facts);
    error_codes(&text, &present, &lines, &log, &mut facts);
    nt_status(&text, &present, &lines, &mut facts);
    releases(&text, &present, &lines, &log, &mut facts);
    commands(&text, &lines, &log, &mut facts);
    paths(&text, &present, &lines, &mut facts);
    qpwdlvl(&text, &present, &lines, &mut facts);
    circumstances(&text, &present, &lines, &log, &mut facts);
    let qntc_context = is_about_qntc(&text, &present, &facts.list);
    // `str::lines` does not count a last empty line after the final line end.
    let mut line_starts = lines.starts;
    if line_starts.last().is_some_and(|&s| s == text.len()) {
        line_starts.pop();
    }
    let ev = Evidence {
        facts: facts.list,
        log,
        qntc_context,
        text,
        line_starts,
        index: facts.index,
        skim_lines: None,
    };
    (ev, present)
}

/// Evidence from the selected lines of a skimmed input: extracted from those lines, with
/// every line number turned back into the whole input's, and a fact for every message id of
/// the whole input (the skim saw them all).
/// Builds now what extracting evidence from any large text needs whatever it holds (the
/// literal automata of the gated regexes), for a thread that has nothing else to do while a
/// large input is skimmed.
pub fn warm() {
    LazyLock::force(&LITERALS);
    LazyLock::force(&MESSAGE_ID);
    crate::joblog::warm();
}

/// Compiles now, last first, the gated regexes that extracting evidence from the text
/// `folded` is the fold of will run: a second thread then meets the extracting one half way.
pub fn precompile(folded: &str) {
    let present = LITERALS.scan(folded);
    let ours: Vec<&Gated> = gated().collect();
    for g in ours.into_iter().rev() {
        let _ = g.regex_for(&present);
    }
    crate::joblog::precompile(folded);
}

pub fn extract_skimmed(skim: &crate::skim::Skimmed, text: Arc<str>) -> Evidence {
    let (mut ev, present) = extract_present(Arc::clone(&text));
    let orig = |line: usize| -> usize {
        // Separator lines (0) never carry a fact; the nearest selected line above stands in.
        let mut k = line.saturating_sub(1).min(skim.lines.len().saturating_sub(1));
        loop {
            match skim.lines.get(k) {
                Some(&no) if no != 0 => return no,
                _ if k == 0 => return line,
                _ => k -= 1,
            }
        }
    };
    for f in &mut ev.facts {
        f.line = orig(f.line);
    }
    for m in &mut ev.log.messages {
        m.lines = (orig(m.lines.0), orig(m.lines.1));
    }
    for r in &mut ev.log.requests {
        r.line = orig(r.line);
    }
    let mut facts = Facts {
        list: std::mem::take(&mut ev.facts),
        index: std::mem::take(&mut ev.index),
    };
    for (id, line) in &skim.ids {
        if is_ibm_message_id(id) && !facts.index.contains(FactKind::MessageId, id) {
            push_unique(
                &mut facts,
                Fact {
                    kind: FactKind::MessageId,
                    value: id.clone(),
                    line: *line,
                    weight: 1.0,
                    note: None,
                },
            );
        }
    }
    ev.qntc_context = is_about_qntc(&text, &present, &facts.list);
    ev.facts = facts.list;
    ev.index = facts.index;
    let map = skim
        .lines
        .iter()
        .enumerate()
        .filter(|&(_, &no)| no != 0)
        .map(|(k, &no)| (no, k + 1))
        .collect();
    ev.skim_lines = Some((map, skim.total_lines));
    ev
}

/// Facts being gathered, with their index.
#[derive(Default)]
struct Facts {
    list: Vec<Fact>,
    index: FactIndex,
}

struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset)
    }
}

fn push_unique(facts: &mut Facts, fact: Fact) {
    facts.index.push(&mut facts.list, fact);
}

/// Compiles an evidence regex with ASCII word boundaries: in Japanese text ("QNTCでCPDB053")
/// the neighbouring characters are letters to Unicode, and `\b` would find no boundary.
fn re(pattern: &str) -> Regex {
    // Patterns are constants of this file, checked by the unit tests.
    Regex::new(&ascii_boundaries(pattern)).unwrap_or_else(|e| panic!("evidence regex {pattern:?}: {e}"))
}

/// Every literal a gated pattern below needs, found in one pass (see [`crate::gated`]).
static LITERALS: LazyLock<Literals> = LazyLock::new(|| Literals::new(gated()));

/// Every gated pattern of this file, listed once: the literal scan and the test that proves
/// each pattern's literals read this.
fn gated() -> impl Iterator<Item = &'static Gated> {
    [
        &ERROR_CODE,
        &CPE_ID,
        &BARE_ERRNO,
        &NT_STATUS,
        &RELEASE_VRM,
        &QNTC_PATH,
        &OTHER_PATH,
        &QPWDLVL,
        &DOMAIN_NAME,
        &QNTC_WORD,
        &IBMI,
        &SHARE,
    ]
    .into_iter()
    .chain(CIRCUMSTANCE_CUES.iter().map(|(_, g)| g))
}

fn ascii_boundaries(pattern: &str) -> String {
    pattern.replace(r"\b", r"(?-u:\b)")
}

static MESSAGE_ID: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\b([a-z]{3}[0-9a-f]{4})\b"));

/// Message ids are 3 letters + 4 hex digits, so ordinary words like "windows" or "default"
/// slip through the shape; a real id carries a digit and a known IBM i component prefix.
fn is_ibm_message_id(id: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "CPA", "CPB", "CPC", "CPD", "CPE", "CPF", "CPI", "CPP", "CPX", "CPZ", "MCH", "SQL", "SQ3", "RNQ", "RNX", "RNF",
        "CEE", "TCP", "CAE", "CPS", "CPT", "CZM", "GUI", "HTP", "IWS", "JVA", "LBE", "LNR", "PQT", "QCE", "RCH", "TAA",
        "ZLC", "ZLS", "CWB", "CBE", "CZS", "ALM", "KRB", "EIM", "BRM", "BRE", "IGD", "DLT", "OPT", "SSL", "USR", "JOB",
    ];
    crate::kb::is_message_id(id) && PREFIXES.contains(&&id[..3])
}

fn message_ids(text: &str, lines: &LineIndex, log: &ParsedLog, facts: &mut Facts) {
    // Messages the parser placed: their severity and order tell how much each one counts.
    let mut explained_by_logon_failure = false;
    for m in &log.messages {
        let Some(id) = &m.id else { continue };
        let mut weight: f64 = match (
            m.severity,
            m.msg_type.as_deref().map(str::to_ascii_lowercase).as_deref(),
        ) {
            (Some(s), _) if s < 30 => 0.5,
            (_, Some("information" | "informational" | "completion")) => 0.5,
            _ => 1.0,
        };
        // CPFA0A9 right after a failed logon is a symptom of it: the share list is empty
        // because QNTC never got in.
        if id == "CPFA0A9" && explained_by_logon_failure {
            weight = weight.min(0.5);
        }
        if id == "CPDB053" {
            explained_by_logon_failure = true;
        }
        let note = match m.id_source {
            Some(IdSource::RecognisedByText) => Some("recognised by its message text".to_string()),
            _ => None,
        };
        push_unique(
            facts,
            Fact {
                kind: FactKind::MessageId,
                value: id.clone(),
                line: m.lines.0,
                weight,
                note,
            },
        );
    }
    for c in MESSAGE_ID.captures_iter(text) {
        let Some(m) = c.get(1) else { continue };
        let id = m.as_str().to_ascii_uppercase();
        if !is_ibm_message_id(&id) || facts.index.contains(FactKind::MessageId, &id) {
            continue;
        }
        push_unique(
            facts,
            Fact {
                kind: FactKind::MessageId,
                value: id,
                line: lines.line(m.start()),
                weight: 1.0,
                note: None,
            },
        );
    }
}

static ERROR_CODE: Gated = Gated::new(
    r"(?i)(?:error\s+code|fehlercode|codice\s+(?:di\s+)?errore|c[oó]digo\s+(?:de\s+)?error|エラー\s*コード|return\s+code|reason\s+code|errno|\brc)\s*(?:was|is|war|era|fue|は|of)?\s*[=:]?\s*(\d{1,5})\b",
    &[&[
        "errno",
        "error",
        "errore",
        "fehlercode",
        "rc",
        "reason",
        "return",
        "コード",
    ]],
    re,
);
static CPE_ID: Gated = Gated::new(r"(?i)\bcpe(\d{4})\b", &[&["cpe"]], re);
static ERRNO_NAME: LazyLock<Regex> = LazyLock::new(|| re(r"\b(E[A-Z0-9]{3,12})\b"));
static BARE_ERRNO: Gated = Gated::new(r"(?:^|[^\d./:-])(3[0-5]\d\d)(?:$|[^\d./:-])", &[&["3"]], re);

fn errno_note(code: u32) -> Option<String> {
    if code == 5 {
        return Some("SMB access denied (ERRnoaccess, STATUS_ACCESS_DENIED)".into());
    }
    errno::by_number(code).map(|e| format!("{}, {} ({})", e.names.join("/"), e.meaning, e.message_id()))
}

fn error_codes(text: &str, present: &Present, lines: &LineIndex, log: &ParsedLog, facts: &mut Facts) {
    let mut add = |code: u32, line: usize, weight: f64| {
        let note = errno_note(code);
        push_unique(
            facts,
            Fact {
                kind: FactKind::ErrorCode,
                value: code.to_string(),
                line,
                weight,
                note,
            },
        );
    };
    for m in &log.messages {
        if let Some(code) = m.error_code.as_deref().and_then(|c| c.trim().parse::<u32>().ok()) {
            add(code, m.lines.0, 1.0);
        }
    }
    for c in ERROR_CODE
        .regex_for(present)
        .into_iter()
        .flat_map(|r| r.captures_iter(text))
    {
        if let Some(m) = c.get(1)
            && let Ok(code) = m.as_str().parse::<u32>()
        {
            add(code, lines.line(m.start()), 1.0);
        }
    }
    for c in CPE_ID
        .regex_for(present)
        .into_iter()
        .flat_map(|r| r.captures_iter(text))
    {
        if let Some(m) = c.get(1)
            && let Ok(code) = m.as_str().parse::<u32>()
        {
            add(code, lines.line(m.start()), 1.0);
        }
    }
    for c in ERRNO_NAME.captures_iter(text) {
        if let Some(m) = c.get(1)
            && let Some(e) = errno::lookup(m.as_str())
        {
            add(e.number, lines.line(m.start()), 1.0);
        }
    }
    // "CPDB053 3401" in chat: a bare errno-range number, read with less trust.
    for c in BARE_ERRNO
        .regex_for(present)
        .into_iter()
        .flat_map(|r| r.captures_iter(text))
    {
        if let Some(m) = c.get(1)
            && let Ok(code) = m.as_str().parse::<u32>()
            && errno::by_number(code).is_some()
        {
            add(code, lines.line(m.start()), 0.7);
        }
    }
}

static NT_STATUS: Gated = Gated::new(r"(?i)\b(?:NT_)?(STATUS_[A-Z_]{4,40})\b", &[&["status_"]], re);

fn nt_status(text: &str, present: &Present, lines: &LineIndex, facts: &mut Facts) {
    for c in NT_STATUS
        .regex_for(present)
        .into_iter()
        .flat_map(|r| r.captures_iter(text))
    {
        if let Some(m) = c.get(1) {
            let value = m.as_str().to_ascii_uppercase();
            push_unique(
                facts,
                Fact {
                    kind: FactKind::NtStatus,
                    value,
                    line: lines.line(m.start()),
                    weight: 1.0,
                    note: None,
                },
            );
        }
    }
}

static RELEASE_VRM: Gated = Gated::new(r"(?i)\bV([5-7])R([0-6])(?:M\d)?\b", &[&["v"], &["r"]], re);
static RELEASE_DOTTED: LazyLock<Regex> = LazyLock::new(|| re(r"(?:^|[^\d.])([5-7])\.([0-6])(?:$|[^\d.])"));

fn releases(text: &str, present: &Present, lines: &LineIndex, log: &ParsedLog, facts: &mut Facts) {
    let mut add = |v: &str, r: &str, line: usize| {
        if let Some(rel) = parse_release(&format!("{v}.{r}")) {
            push_unique(
                facts,
                Fact {
                    kind: FactKind::Release,
                    value: rel.to_string(),
                    line,
                    weight: 1.0,
                    note: None,
                },
            );
        }
    };
    if let Some(rel) = log
        .job
        .as_ref()
        .and_then(|j| j.release.as_deref())
        .and_then(parse_release)
    {
        add(&rel.0.to_string(), &rel.1.to_string(), 1);
    }
    for c in RELEASE_VRM
        .regex_for(present)
        .into_iter()
        .flat_map(|r| r.captures_iter(text))
    {
        if let (Some(v), Some(r)) = (c.get(1), c.get(2)) {
            add(v.as_str(), r.as_str(), lines.line(v.start()));
        }
    }
    for c in RELEASE_DOTTED.captures_iter(text) {
        if let (Some(v), Some(r)) = (c.get(1), c.get(2)) {
            add(v.as_str(), r.as_str(), lines.line(v.start()));
        }
    }
}

/// CL commands that matter for QNTC triage. Short ones are only taken in upper case: "sav",
/// "cpy" or "md" in lower-case prose are not commands.
const COMMANDS: &[&str] = &[
    "WRKLNK",
    "DSPLNK",
    "CPYTOSTMF",
    "CPYFRMSTMF",
    "CPYTOIMPF",
    "CPYFRMIMPF",
    "CRTDIR",
    "MKDIR",
    "CHGATR",
    "CHGOWN",
    "CHGAUT",
    "WRKAUT",
    "DSPAUT",
    "CHGPGP",
    "SBMJOB",
    "ADDJOBSCDE",
    "WRKJOBSCDE",
    "ADDLNK",
    "RMVLNK",
    "STRJRN",
    "CHKIN",
    "CHKOUT",
    "ADDENVVAR",
    "WRKENVVAR",
    "CHGENVVAR",
    "CHGSYSVAL",
    "DSPSYSVAL",
    "WRKSYSVAL",
    "CHGPWD",
    "RCLSTG",
    "PWRDWNSYS",
    "STRTCPSVR",
    "ENDTCPSVR",
    "DSPJOBLOG",
    "SAVSECDTA",
    "DSPAUTUSR",
    "DSPSECA",
    "QZLSMAINT",
    "RMVDIR",
    "RNM",
    "SAV",
    "RST",
    "CPY",
    "MOV",
    "DEL",
    "MD",
    "LN",
    "QSH",
    "STRQSH",
    "CHGNETA",
    "CRTUSRPRF",
    "CHGUSRPRF",
];
static COMMAND_WORDS: LazyLock<Regex> = LazyLock::new(|| re(r"\b([A-Za-z]{2,10})\b"));

fn commands(text: &str, lines: &LineIndex, log: &ParsedLog, facts: &mut Facts) {
    for r in &log.requests {
        let cmd = r.command.to_ascii_uppercase();
        if COMMANDS.contains(&cmd.as_str()) {
            push_unique(
                facts,
                Fact {
                    kind: FactKind::Command,
                    value: cmd,
                    line: r.line,
                    weight: 1.0,
                    note: Some("the failing request".into()),
                },
            );
        }
    }
    for m in COMMAND_WORDS.find_iter(text) {
        let w = m.as_str();
        let upper = w.to_ascii_uppercase();
        if !COMMANDS.contains(&upper.as_str()) || (upper.len() <= 4 && w != upper) {
            continue;
        }
        push_unique(
            facts,
            Fact {
                kind: FactKind::Command,
                value: upper,
                line: lines.line(m.start()),
                weight: 1.0,
                note: None,
            },
        );
    }
}

static QNTC_PATH: Gated = Gated::new(r#"(?i)/qntc(?:/[^\s'"<>|),;]*)?"#, &[&["/qntc"]], re);
static OTHER_PATH: Gated = Gated::new(
    r#"(?:^|[\s'"(=])(/[A-Za-z0-9_$#@.-]+(?:/[^\s'"<>|),;]*)?)"#,
    &[&["/"]],
    re,
);

fn paths(text: &str, present: &Present, lines: &LineIndex, facts: &mut Facts) {
    for m in QNTC_PATH.regex_for(present).into_iter().flat_map(|r| r.find_iter(text)) {
        let path = m.as_str().trim_end_matches(['.', ':']);
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        let mut notes = Vec::new();
        if let Some(server) = parts.get(1) {
            notes.push(format!("server {server} ({} characters)", server.chars().count()));
        }
        if let Some(share) = parts.get(2) {
            notes.push(format!("share {share} ({} characters)", share.chars().count()));
        }
        if path.chars().count() > 255 {
            notes.push(format!("path of {} characters", path.chars().count()));
        }
        let note = (!notes.is_empty()).then(|| notes.join(", "));
        push_unique(
            facts,
            Fact {
                kind: FactKind::QntcPath,
                value: path.to_string(),
                line: lines.line(m.start()),
                weight: 1.0,
                note,
            },
        );
    }
    for c in OTHER_PATH
        .regex_for(present)
        .into_iter()
        .flat_map(|r| r.captures_iter(text))
    {
        let Some(m) = c.get(1) else { continue };
        let path = m.as_str().trim_end_matches(['.', ':']);
        let first = path.split('/').nth(1).unwrap_or_default().to_ascii_lowercase();
        if first == "qntc" || !path[1..].contains('/') && !matches!(first.as_str(), "home" | "tmp" | "qsys.lib") {
            continue;
        }
        push_unique(
            facts,
            Fact {
                kind: FactKind::OtherPath,
                value: path.to_string(),
                line: lines.line(m.start()),
                weight: 1.0,
                note: None,
            },
        );
    }
}

static QPWDLVL: Gated = Gated::new(
    r"(?i)(?:\bqpwd\w{0,6}|password\s+level|kennwortstufe|livello\s+(?:di\s+)?password|nivel\s+de\s+contraseña|パスワード\s*レベル)[^0-9\n]{0,24}?\b([0-4])\b",
    &[&["contraseña", "kennwortstufe", "password", "qpwd", "パスワード"]],
    re,
);

fn qpwdlvl(text: &str, present: &Present, lines: &LineIndex, facts: &mut Facts) {
    // "changed QPWDLVL from 0 to 3": the level in force for QNTC is the later one only after
    // an IPL, so both are kept as facts and the conditions see either.
    for c in QPWDLVL
        .regex_for(present)
        .into_iter()
        .flat_map(|r| r.captures_iter(text))
    {
        if let Some(m) = c.get(1) {
            push_unique(
                facts,
                Fact {
                    kind: FactKind::Qpwdlvl,
                    value: m.as_str().to_string(),
                    line: lines.line(m.start()),
                    weight: 1.0,
                    note: None,
                },
            );
        }
    }
}

/// One regex per circumstance, with the cues admins write in English, German, Italian,
/// Spanish and Japanese. Order matches [`crate::kb::condition::CIRCUMSTANCES`] where named.
static CIRCUMSTANCE_CUES: [(&str, Gated); 21] = [
    (
        "upgrade",
        Gated::new(
            r"(?i)\bupgrad|\bmigrat|\bmoved?\s+(?:from|to)\s+(?:v\d|7\.|i\s*7)|\bnew\s+release|\bnach\s+(?:dem|einem)\s+(?:upgrade|release)|releasewechsel|aggiornament|actualizaci[oó]n|\bactualiz|アップグレード|バージョンアップ|移行後",
            &[&[
                "actualiz",
                "actualizaci",
                "aggiornament",
                "migrat",
                "move",
                "release",
                "releasewechsel",
                "upgrad",
                "upgrade",
                "アップグレード",
                "バージョンアップ",
                "移行後",
            ]],
            re,
        ),
    ),
    (
        "ipl",
        Gated::new(
            r"(?i)\bipl(?:ed|'d|ing)?\b|\bafter\s+(?:a|the)\s+(?:restart|reboot)\s+of\s+the\s+(?:ibm\s*i|system|as/?400|partition)|\bpwrdwnsys\b|neustart|riavvio|reinicio|再起動",
            &[&["after", "ipl", "neustart", "pwrdwnsys", "reinicio", "riavvio", "再起動"]],
            re,
        ),
    ),
    (
        "rclstg",
        Gated::new(r"(?i)\brclstg\b|reclaim\s+storage", &[&["rclstg", "storage"]], re),
    ),
    (
        "password-change",
        Gated::new(
            r"(?i)password\s+(?:was\s+|got\s+|has\s+been\s+)?(?:changed|expired|reset)|changed\s+(?:my|his|her|their|the)\s+(?:windows\s+)?password|\bchgpwd\b|kennwort\s+(?:geändert|abgelaufen)|passwort\s+geändert|password\s+(?:cambiata|scaduta)|cambi(?:o|ó|ado)\s+(?:de\s+)?(?:la\s+)?contraseña|contraseña\s+cambiada|パスワード(?:を)?変更",
            &[&["chgpwd", "contrase", "geändert", "kennwort", "password", "パスワード"]],
            re,
        ),
    ),
    (
        "batch-job",
        Gated::new(
            r"(?i)\bsbmjob\b|\bbatch\b|job\s*schedul|\bscheduled\b|\bscheduler\b|\bwrkjobscde\b|\baddjobscde\b|\bqbatch\b|\bnightly\s+job|\bserver\s+job|\bsubmitted\b|\bstapel|\bjob\s+notturn|\btrabajo\s+(?:por\s+lotes|programado)|バッチ|ジョブスケジュール",
            &[&[
                "addjobscde",
                "batch",
                "nightly",
                "notturn",
                "qbatch",
                "sbmjob",
                "schedul",
                "scheduled",
                "scheduler",
                "server",
                "stapel",
                "submitted",
                "trabajo",
                "wrkjobscde",
                "ジョブスケジュール",
                "バッチ",
            ]],
            re,
        ),
    ),
    (
        "interactive-works",
        Gated::new(
            r"(?i)\binteractive(?:ly)?\b.{0,40}\bwork|\bworks?\b.{0,40}\binteractive|\bfrom\s+(?:my|a)\s+(?:5250\s+)?(?:session|green\s*screen)|\bmanually\s+it\s+works|\binteraktiv|\binterattiv|\binteractiv|対話",
            &[&[
                "interactiv",
                "interactive",
                "interaktiv",
                "interattiv",
                "manually",
                "screen",
                "session",
                "対話",
            ]],
            re,
        ),
    ),
    (
        "smb1-disabled",
        Gated::new(
            r"(?i)smb\s*v?1\b.{0,40}\b(?:disabled|turned\s+off|removed|deactivated|deaktiviert|disabilitat|deshabilitad|無効)|(?:disabled|disable|turned\s+off|removed)\s+smb\s*v?1\b|\bsmb1\s+(?:is\s+)?off\b",
            &[&["disable", "disabled", "removed", "smb", "smb1", "turned"]],
            re,
        ),
    ),
    (
        "ntlmv2",
        Gated::new(
            r"(?i)\bntlm\s*v2\b|lmcompatibilitylevel|lan\s+manager\s+authentication\s+level|\bntlmv1\b.{0,30}(?:disabled|blocked|refused)|restrict\s+ntlm",
            &[&[
                "authentication",
                "blocked",
                "disabled",
                "lmcompatibilitylevel",
                "ntlm",
                "refused",
                "restrict",
            ]],
            re,
        ),
    ),
    (
        "mixed-case-password",
        Gated::new(
            r"(?i)(?:upper|mixed|lower)[\s-]*case|capital\s+letters?|case[\s-]*sensitiv|gro(?:ß|ss)[\s-]*(?:/|und)?[\s-]*kleinschreibung|gro(?:ß|ss)buchstaben|maiuscol|minuscol|may[uú]scula|min[uú]scula|大文字|小文字",
            &[&[
                "buchstaben",
                "capital",
                "kleinschreibung",
                "lower",
                "maiuscol",
                "minuscol",
                "mixed",
                "scula",
                "sensitiv",
                "upper",
                "大文字",
                "小文字",
            ]],
            re,
        ),
    ),
    (
        "domain-account",
        Gated::new(
            r"(?i)\bdomain\s+(?:user|account|admin)|\bad\s+(?:user|account|domain)|active\s+directory|\bdomänen|\bdominio\b|ドメイン",
            &[&[
                "account",
                "directory",
                "domain",
                "dominio",
                "domänen",
                "user",
                "ドメイン",
            ]],
            re,
        ),
    ),
    (
        "long-domain-name",
        Gated::new(
            r"(?i)(?:domain|domäne|dominio|ドメイン)[^\n]{0,60}(?:longer\s+than|more\s+than|over|exceeds?|>\s*|mehr\s+als|länger\s+als|più\s+di|más\s+de)\s*15|15\s*(?:char|zeichen|caratteri|caracteres|文字)",
            &[&["15", "domain", "dominio", "domäne", "ドメイン"]],
            re,
        ),
    ),
    (
        "local-account",
        Gated::new(
            r"(?i)\blocal\s+(?:windows\s+)?(?:user|account)|\blokale[rs]?\s+(?:benutzer|konto)|\butente\s+locale|\bcuenta\s+local|ローカル\s*(?:ユーザー|アカウント)",
            &[&["cuenta", "local", "locale", "lokale", "ローカル"]],
            re,
        ),
    ),
    (
        "server-hardened",
        Gated::new(
            r"(?i)(?:windows\s+)?server\s+20(?:12|16|19|22|25)|\bwindows\s+(?:10|11)\b|\bhardened\b|\bhardening\b|security\s+(?:update|baseline|patch)|\bnew\s+(?:file\s*)?server|(?:nas|filer|server)\s+(?:was\s+)?(?:upgraded|replaced|migrated)|\bcis\s+benchmark",
            &[&[
                "benchmark",
                "hardened",
                "hardening",
                "migrated",
                "replaced",
                "security",
                "server",
                "upgraded",
                "windows",
            ]],
            re,
        ),
    ),
    (
        "nas",
        Gated::new(
            r"(?i)\bnas\b|synology|qnap|netapp|isilon|powerscale|truenas|\bfiler\b|buffalo\s+terastation|\bnetgear\b",
            &[&[
                "filer",
                "isilon",
                "nas",
                "netapp",
                "netgear",
                "powerscale",
                "qnap",
                "synology",
                "terastation",
                "truenas",
            ]],
            re,
        ),
    ),
    (
        "samba",
        Gated::new(
            r"(?i)\bsamba\b|\bsmbd\b|smb\.conf",
            &[&["samba", "smb.conf", "smbd"]],
            re,
        ),
    ),
    (
        "signing",
        Gated::new(
            r"(?i)\bsign(?:ing|ed)\b.{0,20}\b(?:smb|required|require)|\bsmb\b.{0,20}\bsign|requiresecuritysignature|status_invalid_signature|signatur",
            &[&["sign"]],
            re,
        ),
    ),
    (
        "kerberos",
        Gated::new(
            r"(?i)\bkerberos\b|\beim\b|single\s+sign[\s-]*on|\bsso\b|\bkrb5?\b|\bkeytab\b|\bkdc\b",
            &[&["eim", "kdc", "kerberos", "keytab", "krb", "single", "sso"]],
            re,
        ),
    ),
    (
        "exit-program",
        Gated::new(
            r"(?i)exit\s+program|exit\s*point|qibm_qpwfs_file_serv|\bwrkregint\b|exitprogramm|programma\s+di\s+uscita|programa\s+de\s+salida|出口プログラム",
            &[&[
                "exitprogramm",
                "point",
                "program",
                "programa",
                "programma",
                "qibm_qpwfs_file_serv",
                "wrkregint",
                "出口プログラム",
            ]],
            re,
        ),
    ),
    (
        "pc-to-ibmi",
        Gated::new(
            r"(?i)(?:map|mapping|mapped|connect(?:ing)?)\s+(?:a\s+|the\s+)?(?:network\s+)?drive\s+to\s+(?:the\s+|our\s+)?(?:ibm\s*i|as/?400|iseries|i5)|(?:pc|pcs|windows\s+(?:10|11|clients?|users?)|clients?|users?)\b.{0,40}\b(?:can(?:no|')t|cannot|unable\s+to|fail\s+to)\s+(?:see|reach|access|map|open|connect\s+to)\b.{0,40}\b(?:ibm\s*i|as/?400|iseries|netserver|ifs)\b|\\\\[A-Za-z0-9_-]+\\(?:qibm|home|root|qdls)|netserver\s+share|file\s+share\s+on\s+the\s+(?:ibm\s*i|as/?400)|laufwerk\s+(?:auf\s+die|zum)\s+(?:ibm\s*i|as/?400)|unità\s+di\s+rete.{0,30}(?:ibm\s*i|as/?400)|unidad\s+de\s+red.{0,30}(?:ibm\s*i|as/?400)",
            &[&[
                "can",
                "cannot",
                "drive",
                "fail",
                "home",
                "laufwerk",
                "netserver",
                "qdls",
                "qibm",
                "root",
                "share",
                "unable",
                "unidad",
                "unità",
            ]],
            re,
        ),
    ),
    (
        "remote-subnet",
        Gated::new(
            r"(?i)(?:different|other|another|remote)\s+(?:subnet|network|domain|vlan|site)|\bnot\s+(?:listed|shown|visible)\b|\bdoes\s*n[o']t\s+(?:show|appear)|\bnot\s+(?:in|under)\s+(?:the\s+)?(?:/qntc|qntc)|\bwins\b|anderen\s+subnetz|altra\s+sottorete|otra\s+subred|別のサブネット",
            &[&[
                "/qntc",
                "another",
                "different",
                "does",
                "listed",
                "other",
                "qntc",
                "remote",
                "shown",
                "sottorete",
                "subnetz",
                "subred",
                "visible",
                "wins",
                "別のサブネット",
            ]],
            re,
        ),
    ),
    (
        "slow",
        Gated::new(
            r"(?i)\bslow\b|takes?\s+(?:ages|forever|minutes)|\bhangs?\b|\blangsam|\blento\b|\blenta\b|遅い",
            &[&["hang", "langsam", "lenta", "lento", "slow", "take", "遅い"]],
            re,
        ),
    ),
];

static DOMAIN_NAME: Gated = Gated::new(
    r"(?i)\b(?:domain|domäne|dominio|ドメイン)\s*(?:name)?\s*(?:is|=|:|ist|è|es|は)?\s*([A-Za-z0-9][A-Za-z0-9-]{1,62}(?:\.[A-Za-z0-9-]{1,63})*)",
    &[&["domain", "dominio", "domäne", "ドメイン"]],
    re,
);

fn circumstances(text: &str, present: &Present, lines: &LineIndex, log: &ParsedLog, facts: &mut Facts) {
    let mut add = |name: &str, line: usize, note: Option<String>| {
        push_unique(
            facts,
            Fact {
                kind: FactKind::Circumstance,
                value: name.to_string(),
                line,
                weight: 1.0,
                note,
            },
        );
    };
    // Cue by cue, in order: only the cues whose literals occur are compiled and run.
    for (name, cue) in &CIRCUMSTANCE_CUES {
        if let Some(m) = cue.regex_for(present).and_then(|r| r.find(text)) {
            add(name, lines.line(m.start()), None);
        }
    }
    if let Some(job) = &log.job
        && job.job_type.as_deref().is_some_and(|t| t.eq_ignore_ascii_case("batch"))
    {
        add("batch-job", 1, Some("the job log is from a batch job".into()));
    }
    for c in DOMAIN_NAME
        .regex_for(present)
        .into_iter()
        .flat_map(|r| r.captures_iter(text))
    {
        let Some(m) = c.get(1) else { continue };
        let name = m.as_str();
        // The NetServer domain field holds 15 characters; a longer NetBIOS-style name (no
        // dots) or first DNS label cannot be entered there.
        let label = name.split('.').next().unwrap_or(name);
        if label.chars().count() > 15 && !name.eq_ignore_ascii_case("controller") {
            add(
                "long-domain-name",
                lines.line(m.start()),
                Some(format!("domain {label} has {} characters", label.chars().count())),
            );
        }
    }
}

static QNTC_WORD: Gated = Gated::new(
    r"(?i)\bq(?:ntc|nct|tnc|ntcs)\b|/qntc|\bnetclient\b|qibm_zlc_|qzlc_serverlist|\bqzlcsrv\b",
    &[&[
        "/qntc",
        "nct",
        "netclient",
        "ntc",
        "ntcs",
        "qibm_zlc_",
        "qzlc_serverlist",
        "qzlcsrv",
        "tnc",
    ]],
    re,
);
static IBMI: Gated = Gated::new(
    r"(?i)\bibm\s*i\b|\bi\s?[5-7]\.\d\b|\biseries\b|\bas/?400\b|\bi5/?os\b|\bos/?400\b|\bpower\s*i\b|\bv[5-7]r\d|\bsystem\s*i\b|\b5770ss1\b",
    &[&[".", "400", "5770ss1", "ibm", "iseries", "os", "power", "r", "system"]],
    re,
);
static SHARE: Gated = Gated::new(
    r"(?i)\b(?:windows|file|network|smb|cifs|samba|nas)\s*(?:share|server|folder|freigabe|condivisione|recurso|共有)|\bsmb\s*v?[1-3]?\b|\bcifs\b|\bsamba\b|\bnas\b|\\\\[A-Za-z0-9_.-]+\\|freigabe|cartella\s+condivisa|carpeta\s+compartida|共有フォルダ",
    &[&[
        "\\\\",
        "cifs",
        "compartida",
        "condivisa",
        "file",
        "freigabe",
        "nas",
        "network",
        "samba",
        "smb",
        "windows",
        "共有フォルダ",
    ]],
    re,
);

fn is_about_qntc(text: &str, present: &Present, facts: &[Fact]) -> bool {
    // CPDB05x are the QNTC logon-exchange messages: on their own they say "QNTC".
    if facts
        .iter()
        .any(|f| f.kind == FactKind::QntcPath || (f.kind == FactKind::MessageId && f.value.starts_with("CPDB05")))
    {
        return true;
    }
    if QNTC_WORD.regex_for(present).is_some_and(|r| r.is_match(text)) {
        return true;
    }
    let ibmi = IBMI.regex_for(present).is_some_and(|r| r.is_match(text))
        || facts
            .iter()
            .any(|f| matches!(f.kind, FactKind::Release | FactKind::Command | FactKind::Qpwdlvl))
        || facts
            .iter()
            .any(|f| f.kind == FactKind::MessageId && f.value.starts_with("CP"));
    ibmi && SHARE.regex_for(present).is_some_and(|r| r.is_match(text))
        && !facts
            .iter()
            .any(|f| f.kind == FactKind::Circumstance && f.value == "pc-to-ibmi")
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn ev(text: &str) -> Evidence {
        extract(text)
    }

    fn values(e: &Evidence, kind: FactKind) -> HashSet<String> {
        e.of(kind).map(|f| f.value.clone()).collect()
    }

    #[test]
    fn every_cue_compiles() {
        for (name, cue) in &CIRCUMSTANCE_CUES {
            cue.regex();
            assert!(
                crate::kb::condition::CIRCUMSTANCES.contains(name),
                "{name} missing from the vocabulary"
            );
        }
        LazyLock::force(&MESSAGE_ID);
        ERROR_CODE.regex();
        QPWDLVL.regex();
    }

    #[test]
    fn gated_patterns_name_literals_every_match_contains() {
        for g in gated() {
            crate::gated::check(&ascii_boundaries(g.pattern()), g.needs()).unwrap();
        }
    }

    #[test]
    fn ids_codes_and_lines() {
        let e = ev("hello\nCPDB053 after upgrade\nThe error class was 0, and the error code was 3401.\n");
        let id = e.find(FactKind::MessageId, "CPDB053").unwrap();
        assert_eq!(id.line, 2);
        let code = e.find(FactKind::ErrorCode, "3401").unwrap();
        assert_eq!(code.line, 3);
        assert!(code.note.as_deref().unwrap().contains("EACCES"));
        assert!(e.has(FactKind::Circumstance, "upgrade"));
        assert_eq!(e.key(), "3401|CPDB053");
        assert!(e.qntc_context);
    }

    #[test]
    fn lower_case_ids_and_errno_forms() {
        let e = ev("getting cpfa09c and CPE3426 plus EACCES on /qntc/filesrv01/share");
        assert_eq!(
            values(&e, FactKind::MessageId),
            HashSet::from(["CPFA09C".to_string(), "CPE3426".to_string()])
        );
        assert!(e.has(FactKind::ErrorCode, "3426"));
        assert!(e.has(FactKind::ErrorCode, "3401"));
        assert!(e.has(FactKind::QntcPath, "/qntc/filesrv01/share"));
    }

    #[test]
    fn ids_and_qntc_next_to_japanese_text() {
        let e = ev("QNTCでCPDB053が出ます");
        assert!(e.has(FactKind::MessageId, "CPDB053"));
        assert!(e.qntc_context);
    }

    #[test]
    fn words_that_look_like_ids_are_not_ids() {
        let e = ev("windows default decade facade CAFEBABE");
        assert!(e.of(FactKind::MessageId).next().is_none());
    }

    #[test]
    fn releases_in_every_form() {
        let e = ev("5770SS1 V7R4M0 190621 and we came from i 7.1; server 10.7.2.30 runs SMB 3.1");
        assert_eq!(
            values(&e, FactKind::Release),
            HashSet::from(["7.4".to_string(), "7.1".to_string()])
        );
    }

    #[test]
    fn qpwdlvl_values() {
        assert_eq!(ev("QPWDLVL is 0 here").qpwdlvl(), Some(0));
        assert_eq!(ev("our qpwdlevel = 1").qpwdlvl(), Some(1));
        assert_eq!(ev("password level 3").qpwdlvl(), Some(3));
        assert_eq!(ev("no level here").qpwdlvl(), None);
    }

    #[test]
    fn commands_respect_case_for_short_names() {
        let e = ev("I ran CPYTOSTMF, then sav it; also SAV DEV('/QSYS.LIB/TAP01.DEVD') and crtdir");
        assert_eq!(
            values(&e, FactKind::Command),
            HashSet::from(["CPYTOSTMF".to_string(), "SAV".to_string(), "CRTDIR".to_string()])
        );
    }

    #[test]
    fn circumstances_in_several_languages() {
        assert!(ev("funktioniert nicht nach dem Upgrade auf 7.4").has(FactKind::Circumstance, "upgrade"));
        assert!(ev("la password ha lettere maiuscole").has(FactKind::Circumstance, "mixed-case-password"));
        assert!(ev("desde el trabajo por lotes falla").has(FactKind::Circumstance, "batch-job"));
        assert!(ev("IPL のあとで消えた").has(FactKind::Circumstance, "ipl"));
        assert!(
            ev("works interactively but fails when submitted with SBMJOB")
                .has(FactKind::Circumstance, "interactive-works")
        );
        assert!(!ev("multiple shares").has(FactKind::Circumstance, "ipl"));
        assert!(ev("the box was IPLed on Sunday").has(FactKind::Circumstance, "ipl"));
    }

    #[test]
    fn long_domain_names() {
        let e = ev("our AD domain is ENGINEERINGCORPHQ.example.com");
        assert!(e.has(FactKind::Circumstance, "long-domain-name"));
        assert!(!ev("our domain is CORP.example.com").has(FactKind::Circumstance, "long-domain-name"));
    }

    #[test]
    fn qntc_context() {
        assert!(ev("qntc stopped working").qntc_context);
        assert!(ev("IBM i 7.4 cannot copy to the Windows share anymore").qntc_context);
        assert!(!ev("CPF9801 object not found in library").qntc_context);
        assert!(!ev("mount error(13): Permission denied on my Ubuntu box with cifs").qntc_context);
        assert!(!ev("CPFA0A9 Object not found. Object is /home/jsmith/x.csv").qntc_context);
    }

    #[test]
    fn paths_carry_server_and_share() {
        let e = ev("CPFA0A9 Object not found. Object is /QNTC/FILESRV01/ACCOUNTING_EXPORTS/x.csv.");
        let p = e
            .find(FactKind::QntcPath, "/QNTC/FILESRV01/ACCOUNTING_EXPORTS/x.csv")
            .unwrap();
        assert!(
            p.note
                .as_deref()
                .unwrap()
                .contains("share ACCOUNTING_EXPORTS (18 characters)")
        );
        let e = ev("Object is /home/jsmith/x.csv");
        assert!(e.has(FactKind::OtherPath, "/home/jsmith/x.csv"));
    }
}
