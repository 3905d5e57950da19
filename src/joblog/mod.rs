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
    parse_folded(text, &crate::kb::anchor::fold(text))
}

/// [`parse`] with `text` already folded by [`crate::kb::anchor::fold`].
pub fn parse_folded(text: &str, folded: &str) -> ParsedLog {
    scan::Scanner::new(text, folded).run()
}

/// Builds now what parsing any printed job log needs: the literal automaton of the gated
/// regexes and the regexes every job log's lines reach (see [`crate::evidence::warm`]).
pub fn warm() {
    use std::sync::LazyLock;
    LazyLock::force(&patterns::LITERALS);
    for re in [
        &patterns::PRINTED_HEADER,
        &patterns::CHROME,
        &patterns::MSGID_ONLY,
        &patterns::BARE,
        &patterns::BARE_REST,
        &patterns::PAIR,
        &patterns::PROGRAM_COLUMNS,
        &patterns::JOB_STARTED,
        &patterns::STARTED_IN_SUBSYSTEM,
    ] {
        LazyLock::force(re);
    }
    text::warm();
}

/// Compiles now, last first, the gated regexes parsing the text `folded` comes from will run.
pub fn precompile(folded: &str) {
    let present = patterns::LITERALS.scan(folded);
    for g in patterns::GATED.iter().rev() {
        let _ = g.regex_for(&present);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_raw(raw: &str) -> ParsedLog {
        parse(&crate::input::normalize(raw.as_bytes()).unwrap().text)
    }

    #[test]
    fn crlf_and_quote_markers_do_not_change_the_parse() {
        let lf = "CPFA0A9    Diagnostic    40   Object not found.  Object is /QNTC/NAS01/x.\n";
        let crlf = "> CPFA0A9    Diagnostic    40   Object not found.  Object is /QNTC/NAS01/x.\r\n";
        assert_eq!(parse_raw(lf), parse_raw(crlf));
        assert_eq!(parse_raw(lf).messages[0].paths, ["/QNTC/NAS01/x"]);
    }

    #[test]
    fn list_view_messages_are_recognised_by_text_and_wraps_rejoined() {
        let p = parse_raw(
            ">> WRKLNK '/QNTC/NAS01'\n    Error exchanging security information for user A on network\n      server NAS01.\n    Object not found.  Object is /QNTC/NAS01/a/very/long/pa\n      th/x.\n",
        );
        assert_eq!(p.form, Form::ListView);
        let ids: Vec<_> = p
            .messages
            .iter()
            .map(|m| (m.id.as_deref(), m.id_source, m.lines))
            .collect();
        assert_eq!(
            ids,
            [
                (Some("CPDB053"), Some(IdSource::RecognisedByText), (2, 3)),
                (Some("CPFA0A9"), Some(IdSource::RecognisedByText), (4, 5)),
            ]
        );
        assert_eq!(p.messages[1].paths, ["/QNTC/NAS01/a/very/long/path/x"]);
        assert_eq!(p.requests[0].command, "WRKLNK");
    }

    #[test]
    fn an_id_mentioned_in_a_sentence_is_not_a_message_line() {
        let p = parse_raw("CPDB053 when I open the share, any idea?\n");
        assert!(p.messages.is_empty());
    }

    #[test]
    fn message_text_continues_across_a_page_break() {
        let p = parse_raw(concat!(
            " CPFA09C    Diagnostic              40   11/24/26  02:00:02.114500  QP0LLIB2     QSYS        *STMT    QSYS                    *STMT\n",
            "                                      Cause . . . . . :   The error class was 0, and the\n",
            "\n",
            " 5770SS1 V7R4M0 190621                    Display Job Log                        PROD01    11/24/26 02:00:09 CET     Page    2\n",
            " MSGID      TYPE                    SEV  DATE      TIME             FROM PGM     LIBRARY     INST     TO PGM      LIBRARY     INST\n",
            "                                        error code was 3401.\n",
        ));
        assert_eq!(p.messages.len(), 1);
        assert_eq!(p.messages[0].error_code.as_deref(), Some("3401"));
        assert_eq!(p.messages[0].lines, (1, 6));
    }

    #[test]
    fn prose_without_job_log_shapes_yields_nothing() {
        let p = parse_raw("QNTC broke after the 7.4 upgrade, WRKLNK shows nothing.\n");
        assert_eq!(p, ParsedLog::default());
    }
}
