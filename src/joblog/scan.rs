//! The single pass over the lines: each line is classified by its shape and fed to the
//! message being built. Forms may follow each other in one paste (two job logs, an F1 screen
//! after a list view), so the state is per message, not per paste.

use std::collections::HashMap;

use super::known;
use super::patterns::{
    BARE, BARE_REST, BLOCK_LABEL, CHROME, COLUMN_HEADER, JOB_STARTED, MSGID_ONLY, PAGE_HEADER, PAIR, PRINTED_HEADER,
    PROGRAM_COLUMNS, RELEASE, REQUEST_LIST, REQUEST_LOGGED, SCREEN_TITLE, STARTED_IN_SUBSYSTEM, plausible_id,
};
use super::table;
use super::text::{Acc, append_continuation, canonical_type, error_class_code, indent, paths};
use super::{Form, IdSource, JobInfo, LogMessage, ParsedLog, RequestLine};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    None,
    Message,
    Cause,
    Recovery,
    Technical,
    Other,
}

struct Builder<'a> {
    form: Form,
    id: Option<String>,
    msg_type: Option<String>,
    severity: Option<u8>,
    date: Option<String>,
    time: Option<String>,
    timestamp: Option<String>,
    from_program: Option<String>,
    to_program: Option<String>,
    /// Program/library/instruction columns of a printed header, kept until complete.
    program_columns: Vec<String>,
    header_raw: Option<&'a str>,
    message: Acc,
    cause: Acc,
    recovery: Acc,
    technical: Acc,
    other: Acc,
    block: Block,
    /// The raw line that supplied the end of the current block's text.
    prev_raw: &'a str,
    blank_since: bool,
    list_indent: usize,
    first: usize,
    last: usize,
}

impl<'a> Builder<'a> {
    fn new(form: Form, line: usize) -> Self {
        Builder {
            form,
            id: None,
            msg_type: None,
            severity: None,
            date: None,
            time: None,
            timestamp: None,
            from_program: None,
            to_program: None,
            program_columns: Vec::new(),
            header_raw: None,
            message: Acc::default(),
            cause: Acc::default(),
            recovery: Acc::default(),
            technical: Acc::default(),
            other: Acc::default(),
            block: Block::None,
            prev_raw: "",
            blank_since: false,
            list_indent: 0,
            first: line,
            last: line,
        }
    }

    fn block_text(&mut self) -> Option<&mut Acc> {
        match self.block {
            Block::None => None,
            Block::Message => Some(&mut self.message),
            Block::Cause => Some(&mut self.cause),
            Block::Recovery => Some(&mut self.recovery),
            Block::Technical => Some(&mut self.technical),
            Block::Other => Some(&mut self.other),
        }
    }

    fn append(&mut self, raw: &'a str, line: usize) {
        let prev = self.prev_raw;
        if let Some(acc) = self.block_text() {
            append_continuation(acc, prev, raw);
        }
        self.prev_raw = raw;
        self.blank_since = false;
        self.last = line;
    }

    fn start_block(&mut self, block: Block, value: &str, raw: &'a str, line: usize) {
        self.block = block;
        if let Some(acc) = self.block_text() {
            if !acc.is_empty() {
                // A block that comes back (page break, a second F1 page) continues.
                acc.push(' ');
            }
            acc.push_str(value.trim());
        }
        self.prev_raw = raw;
        self.blank_since = false;
        self.last = line;
    }

    fn set_programs(&mut self) {
        let (from, to) = programs(&self.program_columns);
        self.from_program = from;
        self.to_program = to;
    }
}

/// From and to program out of the columns after the time:
/// `FROM PGM  LIBRARY  INST  TO PGM  LIBRARY  INST`, where a library may be blank (`*EXT`).
fn programs(cols: &[String]) -> (Option<String>, Option<String>) {
    let Some(from) = cols.first() else {
        return (None, None);
    };
    let is_inst =
        |s: &str| s.starts_with('*') && s != "*EXT" || (s.len() >= 2 && s.bytes().all(|b| b.is_ascii_hexdigit()));
    let mut i = 1;
    if cols.get(i).is_some_and(|c| !is_inst(c)) {
        i += 1;
    }
    (Some(from.clone()), cols.get(i + 1).cloned())
}

pub struct Scanner<'a> {
    lines: Vec<&'a str>,
    cur: Option<Builder<'a>>,
    out: ParsedLog,
    jobs: Vec<JobInfo>,
    job_index: JobIndex,
    cur_job: Option<usize>,
    release: Option<String>,
    printed_seen: bool,
    detail_seen: bool,
    list_mode: bool,
    table_seen: bool,
    prose: Prose<'a>,
    /// The form each message in `out.messages` came from.
    forms: Vec<Form>,
    /// The literals of the gated line shapes that occur somewhere in the text.
    present: crate::gated::Present,
}

#[derive(Default)]
struct Prose<'a> {
    text: Acc,
    /// (byte offset in `text`, 1-based line) for each line added.
    starts: Vec<(usize, usize)>,
    prev_raw: &'a str,
}

impl<'a> Scanner<'a> {
    /// `folded` is `text` folded by [`crate::kb::anchor::fold`], for finding which line shapes
    /// can occur at all.
    pub fn new(text: &'a str, folded: &str) -> Self {
        let body = text.strip_suffix('\n').unwrap_or(text);
        Scanner {
            lines: body.split('\n').collect(),
            cur: None,
            out: ParsedLog::default(),
            jobs: Vec::new(),
            job_index: JobIndex::default(),
            cur_job: None,
            release: None,
            printed_seen: false,
            detail_seen: false,
            list_mode: false,
            table_seen: false,
            prose: Prose::default(),
            forms: Vec::new(),
            present: super::patterns::LITERALS.scan(folded),
        }
    }

    pub fn run(mut self) -> ParsedLog {
        let mut i = 0;
        while i < self.lines.len() {
            let raw = self.lines[i];
            let no = i + 1;
            if raw.trim().is_empty() {
                self.blank();
                i += 1;
                continue;
            }
            if table::may_be_header(raw)
                && let Some(t) = table::parse(&self.lines, i)
            {
                self.finish();
                self.flush_prose();
                self.table(t.columns, t.rows);
                i = t.next.max(i + 1);
                continue;
            }
            self.line(raw, no);
            i += 1;
        }
        self.finish();
        self.flush_prose();
        self.conclude()
    }

    fn blank(&mut self) {
        if let Some(b) = self.cur.as_mut() {
            b.blank_since = true;
        }
        self.flush_prose();
    }

    fn line(&mut self, raw: &'a str, no: usize) {
        crate::work::add(raw.len() + 1);
        let t = raw.trim();
        if PAGE_HEADER.regex_for(&self.present).is_some_and(|r| r.is_match(raw)) {
            self.flush_prose();
            self.printed_seen = true;
            self.list_mode = false;
            if let Some(r) = RELEASE.find(raw) {
                self.release = Some(r.as_str().to_string());
            }
            return;
        }
        if COLUMN_HEADER.regex_for(&self.present).is_some_and(|r| r.is_match(raw)) {
            self.flush_prose();
            self.printed_seen = true;
            self.list_mode = false;
            return;
        }
        if CHROME.is_match(raw) {
            return;
        }
        if let Some(c) = SCREEN_TITLE.regex_for(&self.present).and_then(|r| r.captures(raw)) {
            self.flush_prose();
            if &c["title"] == "Additional Message Information" || &c["title"] == "Display Message Details" {
                self.detail_seen = true;
                self.list_mode = false;
            } else {
                self.finish();
                self.list_mode = true;
            }
            return;
        }
        if let Some(c) = REQUEST_LIST.regex_for(&self.present).and_then(|r| r.captures(raw)) {
            self.finish();
            self.flush_prose();
            self.list_mode = true;
            self.request(no, &c["cmd"], t.trim_start_matches('>').trim());
            return;
        }
        if let Some(c) = REQUEST_LOGGED.regex_for(&self.present).and_then(|r| r.captures(raw))
            && !MSGID_ONLY.is_match(&c["cmd"])
            && self
                .cur
                .as_ref()
                .is_none_or(|b| b.block != Block::Message || b.blank_since)
        {
            self.finish();
            self.flush_prose();
            let cmd_text = t[t.find(&c["cmd"]).unwrap_or(0)..].trim();
            self.request(no, &c["cmd"], cmd_text);
            return;
        }
        if let Some(c) = BLOCK_LABEL.regex_for(&self.present).and_then(|r| r.captures(raw)) {
            self.flush_prose();
            let block = match c["label"].split_whitespace().next().unwrap_or("") {
                "Message" => Block::Message,
                "Cause" => Block::Cause,
                "Recovery" => Block::Recovery,
                "Technical" => Block::Technical,
                _ => Block::Other,
            };
            let value = c.name("value").map_or("", |m| m.as_str());
            if self.cur.is_none() {
                let form = if self.detail_seen || !self.printed_seen {
                    Form::MessageDetail
                } else {
                    Form::PrintedJobLog
                };
                self.cur = Some(Builder::new(form, no));
            }
            if let Some(b) = self.cur.as_mut() {
                b.start_block(block, value, raw, no);
            }
            return;
        }
        if let Some(c) = PRINTED_HEADER.captures(raw) {
            self.finish();
            self.flush_prose();
            self.printed_seen = true;
            self.list_mode = false;
            let mut b = Builder::new(Form::PrintedJobLog, no);
            let id = &c["id"];
            b.id = (id != "*NONE").then(|| id.to_string());
            b.msg_type = Some(canonical_type(&c["type"]));
            b.severity = c.name("sev").and_then(|s| s.as_str().parse().ok());
            b.date = Some(c["date"].to_string());
            b.time = Some(c["time"].to_string());
            if let Some(rest) = c.name("rest") {
                b.program_columns = rest.as_str().split_whitespace().map(str::to_string).collect();
            }
            b.set_programs();
            b.header_raw = Some(raw);
            self.cur = Some(b);
            return;
        }
        if (raw.contains(". :") || raw.contains(".:")) && self.pairs(raw, no) {
            return;
        }
        if let Some(c) = BARE.captures(raw)
            && plausible_id(&c["id"])
            && self.bare(&c, no)
        {
            return;
        }
        self.text(raw, no);
    }

    /// Handles `Label . . . :  value` lines; false when the line holds none.
    fn pairs(&mut self, raw: &'a str, no: usize) -> bool {
        let mut any = false;
        let mut message_field = false;
        let mut job: [Option<String>; 3] = [None, None, None];
        let mut job_type = None;
        for c in PAIR.captures_iter(raw) {
            any = true;
            let label = c["label"].to_ascii_lowercase();
            let value = c["value"].to_string();
            let label = label.split_whitespace().collect::<Vec<_>>().join(" ");
            match label.as_str() {
                "job name" | "job" => job[0] = Some(value),
                "user" => job[1] = Some(value),
                "number" => job[2] = Some(value),
                "job type" | "type of job" => job_type = Some(value),
                "job description" | "library" => {}
                // F9 "Display Message Details" repeats the id of the F1 screen before it.
                "message id"
                    if self.cur.as_ref().is_some_and(|b| {
                        b.form == Form::MessageDetail && b.id.as_deref() == Some(value.as_str()) && no - b.last < 40
                    }) => {}
                "message id" => {
                    self.finish();
                    self.flush_prose();
                    let mut b = Builder::new(Form::MessageDetail, no);
                    b.id = (!value.is_empty()).then_some(value);
                    self.cur = Some(b);
                }
                "severity" | "message type" | "date sent" | "time sent" | "from program" | "to program" => {
                    self.flush_prose();
                    message_field = true;
                    let b = self.cur.get_or_insert_with(|| Builder::new(Form::MessageDetail, no));
                    match label.as_str() {
                        "severity" => b.severity = value.parse().ok(),
                        "message type" => b.msg_type = Some(canonical_type(&value)),
                        "date sent" => b.date = Some(value),
                        "time sent" => b.time = Some(value),
                        "from program" => b.from_program = Some(value),
                        _ => b.to_program = Some(value),
                    }
                }
                _ => message_field = true,
            }
        }
        if !any {
            return false;
        }
        if job.iter().any(Option::is_some) || job_type.is_some() {
            self.flush_prose();
            self.job_header(job, job_type);
        }
        if message_field && let Some(b) = self.cur.as_mut() {
            // Field lines (From module, Statement, Thread ...) belong to the message and close
            // its text block. Job header lines repeat on every page and belong to none.
            b.block = Block::None;
            b.last = no;
        }
        true
    }

    fn bare(&mut self, c: &regex::Captures<'a>, no: usize) -> bool {
        let rest = c.name("rest").map_or("", |m| m.as_str());
        let colon = c["sep"].trim().len() == 1;
        let Some(r) = BARE_REST.captures(rest) else {
            return false;
        };
        let text = r.name("text").map_or("", |m| m.as_str());
        let typed = r.name("type").is_some() || r.name("sev").is_some();
        let starts_lower = text.chars().next().is_some_and(char::is_lowercase);
        // "CPDB053 when I open the share" is the user talking about an id, not a message line.
        if starts_lower && !typed && !colon {
            return false;
        }
        self.finish();
        self.flush_prose();
        let mut b = Builder::new(Form::BareLines, no);
        b.id = Some(c["id"].to_string());
        b.msg_type = r.name("type").map(|m| canonical_type(m.as_str()));
        b.severity = r.name("sev").and_then(|m| m.as_str().parse().ok());
        b.list_indent = indent(c.get(0).map_or("", |m| m.as_str()));
        let raw = c.get(0).map_or("", |m| m.as_str());
        b.start_block(Block::Message, text, raw, no);
        self.cur = Some(b);
        true
    }

    fn text(&mut self, raw: &'a str, no: usize) {
        if let Some(b) = self.cur.as_mut() {
            // The tail of a printed header that a terminal cut at its width.
            if b.block == Block::None
                && b.to_program.is_none()
                && b.header_raw.is_some()
                && b.last == no - 1
                && PROGRAM_COLUMNS.is_match(raw)
            {
                let cut_mid = b.header_raw.is_some_and(|h| {
                    !h.ends_with(' ') && !raw.starts_with(' ') && [80, 132].contains(&h.chars().count())
                });
                let mut tail = raw.split_whitespace();
                if cut_mid
                    && let Some(last) = b.program_columns.last_mut()
                    && let Some(first) = tail.next()
                {
                    last.push_str(first);
                }
                b.program_columns.extend(tail.map(str::to_string));
                b.set_programs();
                b.last = no;
                return;
            }
            if self.continues(raw) {
                if let Some(b) = self.cur.as_mut() {
                    b.append(raw, no);
                }
                return;
            }
        }
        self.finish();
        if self.list_mode {
            let mut b = Builder::new(Form::ListView, no);
            b.list_indent = indent(raw);
            b.start_block(Block::Message, raw, raw, no);
            self.cur = Some(b);
            return;
        }
        self.prose_line(raw, no);
    }

    /// Whether a plain text line continues the message being built.
    fn continues(&self, raw: &str) -> bool {
        let Some(b) = self.cur.as_ref() else {
            return false;
        };
        if b.block == Block::None {
            return false;
        }
        let acc = match b.block {
            Block::Message => &b.message,
            Block::Cause => &b.cause,
            Block::Recovery => &b.recovery,
            Block::Technical => &b.technical,
            _ => &b.other,
        };
        if super::text::glue(acc, b.prev_raw, raw) {
            return true;
        }
        let ind = indent(raw);
        match b.form {
            Form::ListView | Form::BareLines => {
                ind > b.list_indent || (!b.blank_since && !acc.trim_end().ends_with(['.', '?', '!']))
            }
            // Printed logs and screens pasted without their indentation still continue until
            // a blank line; after one, only an indented line does.
            _ => !b.blank_since || ind >= 4,
        }
    }

    fn prose_line(&mut self, raw: &'a str, no: usize) {
        let p = &mut self.prose;
        let before = p.text.len();
        append_continuation(&mut p.text, p.prev_raw, raw);
        let offset = if p.text.as_str()[before..].starts_with(' ') {
            before + 1
        } else {
            before
        };
        p.starts.push((offset, no));
        p.prev_raw = raw;
    }

    fn flush_prose(&mut self) {
        if self.prose.text.is_empty() {
            return;
        }
        let p = std::mem::take(&mut self.prose);
        let text = p.text.as_str();
        // Matches come in order, so a line lookup is a binary search and the end of one
        // sentence is found once for all the matches inside it.
        let line_of = |off: usize| {
            crate::work::add(1);
            let k = p.starts.partition_point(|(o, _)| *o <= off);
            k.checked_sub(1).map_or(0, |k| p.starts[k].1)
        };
        let mut ends = SentenceEnds::new(text);
        let found = known::find_in_prose(text);
        for (k, r) in found.iter().enumerate() {
            // The message text runs to the end of its sentence (a path follows "Object is"),
            // but not into the next message, nor on for ever in text without a full stop:
            // every message would hold the rest of the text, a quadratic cost.
            let next = found.get(k + 1).map_or(text.len(), |n| n.start);
            let mut cap = (r.end + MAX_SENTENCE_TAIL).min(text.len());
            while !text.is_char_boundary(cap) {
                cap -= 1;
            }
            let end = ends.end_after(r.end).min(next).min(cap).max(r.end);
            let message = text[r.start..end].trim().to_string();
            let mut b = Builder::new(Form::Prose, line_of(r.start));
            b.last = line_of(end.saturating_sub(1).max(r.start));
            b.message = Acc::from(message);
            b.block = Block::Message;
            self.push(b);
        }
    }

    fn request(&mut self, no: usize, cmd: &str, text: &str) {
        let name = cmd.rsplit('/').next().unwrap_or(cmd).to_ascii_uppercase();
        self.out.requests.push(RequestLine {
            line: no,
            command: name,
            text: text.to_string(),
        });
    }

    fn job_header(&mut self, job: [Option<String>; 3], job_type: Option<String>) {
        let [name, user, number] = job;
        // A job header cut at the terminal width arrives in pieces; a piece that does not
        // contradict the current job completes it.
        let fits = |have: &Option<String>, new: &Option<String>| new.is_none() || have.is_none() || have == new;
        let same = |j: &JobInfo| fits(&j.job_name, &name) && fits(&j.user, &user) && fits(&j.number, &number);
        let idx = match self.cur_job {
            Some(i) if self.jobs.get(i).is_some_and(same) => i,
            _ => match name.as_deref().and_then(|n| {
                self.job_index
                    .first_fit(&self.jobs, n, user.as_deref(), number.as_deref())
            }) {
                Some(i) => i,
                None => {
                    if name.is_none() && self.cur_job.is_some() && job_type.is_some() {
                        self.cur_job.unwrap_or(0)
                    } else {
                        self.jobs.push(JobInfo::default());
                        self.job_index.partial.push(self.jobs.len() - 1);
                        self.jobs.len() - 1
                    }
                }
            },
        };
        self.cur_job = Some(idx);
        if let Some(j) = self.jobs.get_mut(idx) {
            j.job_name = j.job_name.take().or(name);
            j.user = j.user.take().or(user);
            j.number = j.number.take().or(number);
            if j.release.is_none() {
                j.release = self.release.clone();
            }
            if let Some(t) = job_type {
                j.job_type = job_type_word(&t).or(j.job_type.take());
            }
            if j.job_type.is_none()
                && j.job_name
                    .as_deref()
                    .is_some_and(|n| n.starts_with("QPADEV") || n.starts_with("DSP"))
            {
                j.job_type = Some("interactive".into());
            }
            self.job_index.completed(idx, j);
        }
    }

    fn table(&mut self, columns: table::Columns, rows: Vec<table::Row>) {
        self.table_seen = true;
        for row in rows {
            let text = row.cell(columns.text).unwrap_or("");
            let msg_type = row.cell(columns.msg_type).map(canonical_type);
            if msg_type.as_deref() == Some("Request") {
                let t = text.trim_start_matches('-').trim();
                let cmd = t.split_whitespace().next().unwrap_or("");
                if !cmd.is_empty() {
                    self.request(row.lines.0, cmd, t);
                }
                continue;
            }
            if let Some(q) = row.cell(columns.job) {
                let mut parts = q.split('/').map(str::to_string);
                let (number, user, name) = (parts.next(), parts.next(), parts.next());
                if name.is_some() {
                    self.job_header([name, user, number], None);
                }
            }
            let mut b = Builder::new(Form::JoblogInfo, row.lines.0);
            b.last = row.lines.1;
            b.id = row.cell(columns.id).map(str::to_string);
            b.msg_type = msg_type;
            b.severity = row.cell(columns.severity).and_then(|s| s.parse().ok());
            b.timestamp = row.cell(columns.timestamp).map(str::to_string);
            b.from_program = row.cell(columns.from_program).map(str::to_string);
            b.to_program = row.cell(columns.to_program).map(str::to_string);
            b.message = Acc::from(text.to_string());
            b.other = Acc::from(
                row.cell(columns.second_level)
                    .map(clean_second_level)
                    .unwrap_or_default(),
            );
            self.push(b);
        }
    }

    fn finish(&mut self) {
        if let Some(b) = self.cur.take() {
            self.push(b);
        }
    }

    fn push(&mut self, b: Builder<'a>) {
        let text = b.message.trim().to_string();
        if matches!(b.msg_type.as_deref(), Some("Request" | "Command")) {
            let t = text
                .trim_start_matches(|c: char| c.is_ascii_digit() || c == ' ')
                .trim_start_matches('-')
                .trim();
            if let Some(cmd) = t.split_whitespace().next() {
                let cmd = cmd.split('(').next().unwrap_or(cmd).to_string();
                self.request(b.first, &cmd, t);
            }
            return;
        }
        let mut id = b.id.clone();
        let mut id_source = id.as_ref().map(|_| IdSource::Literal);
        if id.is_none()
            && let Some(k) = known::recognise(&text)
        {
            id = Some(k.to_string());
            id_source = Some(IdSource::RecognisedByText);
        }
        if id.is_none() && text.is_empty() {
            return;
        }
        // Prose that names no known message is not a message.
        if id.is_none() && b.form == Form::Prose {
            return;
        }
        let mut second = String::new();
        for (label, part) in [
            ("Cause", &b.cause),
            ("Recovery", &b.recovery),
            ("Technical description", &b.technical),
            ("", &b.other),
        ] {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            if !second.is_empty() {
                second.push('\n');
            }
            if !label.is_empty() {
                second.push_str(label);
                second.push_str(": ");
            }
            second.push_str(part);
        }
        let (mut class, mut code) = error_class_code(&text);
        if class.is_none() || code.is_none() {
            let (c2, d2) = error_class_code(&second);
            class = class.or(c2);
            code = code.or(d2);
        }
        let mut found = Vec::new();
        paths(&text, &mut found);
        paths(&second, &mut found);
        let timestamp = b.timestamp.clone().or_else(|| match (&b.date, &b.time) {
            (Some(d), Some(t)) => Some(format!("{d} {t}")),
            (Some(d), None) => Some(d.clone()),
            (None, Some(t)) => Some(t.clone()),
            _ => None,
        });
        if id.as_deref() == Some("CPF1124")
            && let Some(c) = JOB_STARTED.captures(&text)
        {
            let part = |i: usize| c.get(i).map(|m| m.as_str().to_string());
            self.job_header([part(3), part(2), part(1)], None);
        }
        if let Some(j) = self.cur_job.and_then(|i| self.jobs.get_mut(i))
            && j.job_type.is_none()
        {
            j.job_type = job_type_clue(id.as_deref(), &text);
        }
        self.out.messages.push(LogMessage {
            id,
            id_source,
            msg_type: b.msg_type,
            severity: b.severity,
            timestamp,
            from_program: b.from_program,
            to_program: b.to_program,
            text,
            second_level: (!second.is_empty()).then_some(second),
            error_class: class,
            error_code: code,
            paths: found,
            lines: (b.first, b.last.max(b.first)),
        });
        self.forms.push(b.form);
    }

    fn conclude(mut self) -> ParsedLog {
        let mut counts: Vec<(Form, usize)> = Vec::new();
        for f in &self.forms {
            match counts.iter_mut().find(|(g, _)| g == f) {
                Some((_, n)) => *n += 1,
                None => counts.push((*f, 1)),
            }
        }
        let mut best: Option<(Form, usize)> = None;
        for (f, n) in counts {
            if best.is_none_or(|(_, m)| n > m) {
                best = Some((f, n));
            }
        }
        self.out.form = match best {
            Some((f, _)) => f,
            None if self.printed_seen => Form::PrintedJobLog,
            None if self.table_seen => Form::JoblogInfo,
            None if self.detail_seen => Form::MessageDetail,
            None if self.list_mode || !self.out.requests.is_empty() => Form::ListView,
            None => Form::Prose,
        };
        self.out.job = self.jobs.first().cloned();
        self.out.jobs = self.jobs;
        self.out
    }
}

/// How far past a recognised message text its sentence may run (a long path after
/// "Object is" fits many times over).
const MAX_SENTENCE_TAIL: usize = 2048;

/// Ends of sentences in one text, asked for in increasing order: a full stop followed by
/// whitespace, a closing quote or bracket, or the end of the text. Each byte is looked at once
/// however many questions are asked.
struct SentenceEnds<'t> {
    text: &'t [u8],
    /// The last answer and the position it was asked from.
    last: Option<(usize, usize)>,
}

impl<'t> SentenceEnds<'t> {
    fn new(text: &'t str) -> Self {
        SentenceEnds {
            text: text.as_bytes(),
            last: None,
        }
    }

    /// The end of the sentence that `from` is in (just after its full stop).
    fn end_after(&mut self, from: usize) -> usize {
        if let Some((asked, end)) = self.last
            && asked <= from
            && from < end
        {
            return end;
        }
        let b = self.text;
        let mut i = from;
        let end = loop {
            if i >= b.len() {
                break b.len();
            }
            if b[i] == b'.' && (i + 1 == b.len() || b[i + 1].is_ascii_whitespace() || b"\"')]".contains(&b[i + 1])) {
                break i + 1;
            }
            i += 1;
        };
        crate::work::add(end.saturating_sub(from) + 1);
        self.last = Some((from, end));
        end
    }
}

/// JOBLOG_INFO keeps the display formatting codes of second-level text: &N (new line),
/// &P (new paragraph), &B (indented line).
fn clean_second_level(s: &str) -> String {
    s.replace("&N ", "\n")
        .replace("&P ", "\n")
        .replace("&B ", "\n")
        .replace("&N", "\n")
        .trim()
        .to_string()
}

/// Finds the first job (in order of appearance) that a job-header piece fits, without
/// comparing the piece with every job seen: a log of thousands of jobs would make that
/// quadratic. Jobs whose name, user and number are all known are found by hash; jobs still
/// missing a part are compared one by one, the most recent [`PARTIAL_WINDOW`] of them. (A
/// header piece that fits an older job still missing parts starts a new job instead.)
#[derive(Default)]
struct JobIndex {
    /// First complete job for each combination of the parts a piece may give.
    full: HashMap<(String, String, String), usize>,
    name_user: HashMap<(String, String), usize>,
    name_number: HashMap<(String, String), usize>,
    name: HashMap<String, usize>,
    /// Jobs created incomplete, in order (they may have been completed since).
    partial: Vec<usize>,
}

const PARTIAL_WINDOW: usize = 64;

impl JobIndex {
    fn first_fit(&self, jobs: &[JobInfo], name: &str, user: Option<&str>, number: Option<&str>) -> Option<usize> {
        let fits = |have: Option<&str>, new: Option<&str>| new.is_none() || have.is_none() || have == new;
        let n = name.to_string();
        let complete = match (user, number) {
            (Some(u), Some(num)) => self.full.get(&(n, u.to_string(), num.to_string())),
            (Some(u), None) => self.name_user.get(&(n, u.to_string())),
            (None, Some(num)) => self.name_number.get(&(n, num.to_string())),
            (None, None) => self.name.get(&n),
        }
        .copied();
        let from = self.partial.len().saturating_sub(PARTIAL_WINDOW);
        crate::work::add(self.partial.len() - from + 1);
        let partial = self.partial[from..].iter().copied().find(|&i| {
            jobs.get(i).is_some_and(|j| {
                fits(j.job_name.as_deref(), Some(name))
                    && fits(j.user.as_deref(), user)
                    && fits(j.number.as_deref(), number)
            })
        });
        match (complete, partial) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Registers job `i` under its parts once all three are known.
    fn completed(&mut self, i: usize, j: &JobInfo) {
        let (Some(n), Some(u), Some(num)) = (&j.job_name, &j.user, &j.number) else {
            return;
        };
        let first = |v: &mut usize| *v = (*v).min(i);
        self.full
            .entry((n.clone(), u.clone(), num.clone()))
            .and_modify(first)
            .or_insert(i);
        self.name_user
            .entry((n.clone(), u.clone()))
            .and_modify(first)
            .or_insert(i);
        self.name_number
            .entry((n.clone(), num.clone()))
            .and_modify(first)
            .or_insert(i);
        self.name.entry(n.clone()).and_modify(first).or_insert(i);
    }
}

fn job_type_word(t: &str) -> Option<String> {
    let t = t.trim().trim_start_matches('*').to_ascii_uppercase();
    if t.starts_with("BAT") || t == "BCH" || t == "BCI" {
        Some("batch".into())
    } else if t.starts_with("INT") {
        Some("interactive".into())
    } else {
        None
    }
}

/// CPF1124 names the subsystem the job started in; CPI1125 is logged only in a submitted job.
fn job_type_clue(id: Option<&str>, text: &str) -> Option<String> {
    match id {
        Some("CPI1125") => Some("batch".into()),
        Some("CPF1124") => STARTED_IN_SUBSYSTEM.captures(text).map(|c| {
            if matches!(&c[1], "QINTER" | "QCTL") {
                "interactive".into()
            } else {
                "batch".into()
            }
        }),
        _ => None,
    }
}
