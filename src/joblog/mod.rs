//! Structured IBM i messages out of whatever was pasted: printed job logs (QPJOBLOG), the F1
//! "Additional Message Information" screen, the DSPJOBLOG list view, QSYS2.JOBLOG_INFO rows and
//! bare `MSGID  type  sev  text` lines.

mod known;
mod patterns;
mod scan;
mod table;
mod text;

use serde::Serialize;

/// The shape the pasted text was recognised as. A message may mix several; `form` names the
/// dominant one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Form {
    /// No job-log structure: chat prose.
    #[default]
    Prose,
    PrintedJobLog,
    MessageDetail,
    ListView,
    JoblogInfo,
    BareLines,
}

/// How a message's id was learned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdSource {
    /// The id was printed in the text.
    Literal,
    /// No id in the text; recognised from the message's first-level text.
    RecognisedByText,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogMessage {
    pub id: Option<String>,
    pub id_source: Option<IdSource>,
    /// Escape, Diagnostic, Information, Completion, Inquiry, Notify, Request ...
    pub msg_type: Option<String>,
    pub severity: Option<u8>,
    pub timestamp: Option<String>,
    pub from_program: Option<String>,
    pub to_program: Option<String>,
    pub text: String,
    pub second_level: Option<String>,
    pub error_class: Option<String>,
    pub error_code: Option<String>,
    pub paths: Vec<String>,
    /// 1-based line numbers (first, last) in the normalised input.
    pub lines: (usize, usize),
}

/// A command the job ran: `>> WRKLNK '/QNTC/...'` in the list view, or a request message in a
/// printed job log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestLine {
    /// 1-based input line.
    pub line: usize,
    /// The command name, upper case, without library: `WRKLNK`.
    pub command: String,
    /// The whole command as logged: `WRKLNK OBJ('/QNTC/NAS01')`.
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct JobInfo {
    pub job_name: Option<String>,
    pub user: Option<String>,
    pub number: Option<String>,
    /// "batch" or "interactive" when the log says so.
    pub job_type: Option<String>,
    /// As printed, e.g. "V7R4M0".
    pub release: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct ParsedLog {
    pub form: Form,
    pub messages: Vec<LogMessage>,
    pub requests: Vec<RequestLine>,
    /// The first job named in the text (see `jobs`).
    pub job: Option<JobInfo>,
    /// Every job named in the text, in order: one paste may hold several job logs.
    pub jobs: Vec<JobInfo>,
}

/// Parses normalised text (see [`crate::input::normalize`]). Never fails: what is not
/// recognised is simply not in the result.
pub fn parse(text: &str) -> ParsedLog {
    scan::Scanner::new(text).run()
}
