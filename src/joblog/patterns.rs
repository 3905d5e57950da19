//! Line shapes of the IBM i displays and listings, compiled once.
//!
//! Layouts follow the printed job log (QPJOBLOG: page header with product id and release,
//! job header, the MSGID/TYPE/SEV/DATE/TIME/FROM PGM/.../TO PGM column line, indented
//! "Message . . . . :" blocks) and the 5250 "Additional Message Information" and DSPJOBLOG
//! screens.

use regex::Regex;
use std::sync::LazyLock;

use crate::gated::{Gated, Literals};

/// Compiles a pattern written in this crate. Patterns are constants, so a failure is a bug
/// caught by the first test that touches it, never a consequence of input.
pub fn re(pattern: &str) -> Regex {
    match Regex::new(pattern) {
        Ok(r) => r,
        Err(e) => panic!("invalid built-in pattern {pattern:?}: {e}"),
    }
}

/// A message id: three characters (letter first) and four hexadecimal digits.
pub const MSGID: &str = r"[A-Z][A-Z0-9]{2}[0-9A-F]{4}";

/// `5770SS1 V7R4M0 190621   Display Job Log   SYSNAME  11/24/26 14:02:11 CET  Page 1`
pub static PAGE_HEADER: Gated = Gated::new(
    r"(?i)Display\s+Job\s+Log.*(?:\b\d{4}SS1\b|\bPage\s+\d+\s*$)|\b\d{4}SS1\b.*Display\s+Job\s+Log",
    &[&["display"]],
    re,
);

pub static RELEASE: LazyLock<Regex> = LazyLock::new(|| re(r"\bV(\d{1,2})R(\d)M(\d)\b"));

pub static COLUMN_HEADER: Gated = Gated::new(r"^\s*MSGID\s+TYPE\s+SEV\b", &[&["msgid"]], re);

/// One message's first line in a printed job log:
/// `CPDB053    Diagnostic   30   11/24/26  14:02:11.123456  QZLCSRV  QSYS  *STMT  QZLCSRV ...`.
/// The type may be a translated word; dates and times come in the job's own format.
pub static PRINTED_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"^\s*(?P<id>{MSGID}|\*NONE)\s+(?P<type>[^\d\s]\S*(?:\s[^\d\s]\S*)?)\s+(?:(?P<sev>\d{{1,2}})\s+)?(?P<date>\d{{1,4}}[/.\-]\d{{1,2}}[/.\-]\d{{1,4}})\s+(?P<time>\d{{1,2}}[:.]\d{{2}}[:.]\d{{2}}(?:[.,]\d{{1,6}})?)(?:\s+(?P<rest>.*?))?\s*$"
    ))
});

/// `CPFA09C    Diagnostic    40   Not authorized ...`, `CPDB053: Error exchanging ...`,
/// `- CPFA0A9 Object not found...` or an id alone.
pub static BARE: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"^\s*(?:[-*•]\s+)?(?P<id>{MSGID})(?P<sep>\s*[:\-–—]\s*|\s+|$)(?P<rest>.*?)\s*$"
    ))
});

pub static BARE_REST: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(?:(?P<type>(?i:completion|diagnostic|escape|informational|information|inquiry|notify|reply|request|\*diag|\*escape|\*info|\*comp|\*inq|\*notify))(?:\s+|$))?(?:(?P<sev>\d{1,2})(?:\s+|$))?(?P<text>.*)$",
    )
});

/// `Message . . . . :   text`, `Cause . . . . . :`, `Recovery  . . . :`,
/// `Technical description . . . . . . . . :`.
pub static BLOCK_LABEL: Gated = Gated::new(
    r"^\s*(?P<label>Message|Cause|Recovery|Technical\s+description|Possible\s+choices\s+for\s+replying\s+to\s+message)\s*(?:\.\s*)+:(?P<value>.*)$",
    &[&["."], &[":"]],
    re,
);

/// `Label . . . . :   value` pairs; several may share a line.
pub static PAIR: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?P<label>[A-Za-z][\w()/'-]*(?: [\w()/'-]+)*)\s*(?:\.\s*)+:\s*(?P<value>\S*)"));

/// Screen furniture that carries nothing: scroll markers, prompts, function-key rows, the end
/// marker of a spooled file.
pub static CHROME: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)^\s*(?:More\.\.\.|Bottom|Press Enter to continue\.?|Type choices, press Enter\.?|Type reply.*|System\s*:\s*\S+|F\d{1,2}=\S.*|(?-i:(?:(?:FROM|TO)\s+PGM|LIBRARY|INST|\s)+)|(?:\S+\s+)?\d{1,4}[/.\-]\d{1,2}[/.\-]\d{1,4}\s+\d{1,2}[:.]\d{2}[:.]\d{2}.*\bPage\s+\d+|\*\s*\*\s*\*.*E\s?N\s?D\s+O\s?F\s+L\s?I\s?S\s?T\s?I\s?N\s?G.*)\s*$",
    )
});

pub static SCREEN_TITLE: Gated = Gated::new(
    r"^\s*(?P<title>Additional Message Information|Display Message Details|Display All Messages|Display Job Log|Display Messages)\s*(?:System\s*:\s*\S+)?\s*$",
    &[&["additional message information", "display "]],
    re,
);

/// `>> WRKLNK '/QNTC/X'`: a request in the DSPJOBLOG list view, as the user typed it.
pub static REQUEST_LIST: Gated = Gated::new(
    r"^\s*>>\s*(?P<cmd>(?:[A-Za-z][\w#$@]{0,9}/)?[A-Za-z][\w#$@]{1,9})\b(?P<args>.*?)\s*$",
    &[&[">>"]],
    re,
);

/// `-CPYTOSTMF ...` (a request's text in a printed log) and `200 - CPYTOSTMF ...` (a command
/// logged by a CL program).
pub static REQUEST_LOGGED: Gated = Gated::new(
    r"^\s*(?:-|\d{1,6}\s+-\s+)(?P<cmd>(?:[A-Z][A-Z0-9_#$@]{0,9}/)?[A-Z][A-Z0-9_#$@]{1,9})\b(?P<args>.*?)\s*$",
    &[&["-"]],
    re,
);

/// A line that holds only program, library and instruction columns: the tail of a printed
/// header cut at the terminal width.
pub static PROGRAM_COLUMNS: LazyLock<Regex> = LazyLock::new(|| re(r"^\s*[A-Z0-9*#$@_]+(?:\s+[A-Z0-9*#$@_]+){0,5}\s*$"));

pub static MSGID_ONLY: LazyLock<Regex> = LazyLock::new(|| re(&format!("^{MSGID}$")));

/// CPF1124 "Job 123456/JSMITH/QPADEV0001 started ..."
pub static JOB_STARTED: LazyLock<Regex> =
    LazyLock::new(|| re(r"\bJob\s+(\d{6})/([A-Z0-9#$@_]+)/([A-Z0-9#$@_.]+)\s+started\b"));

/// CPF1124 "Job ... started ... in subsystem QINTER ..."
pub static STARTED_IN_SUBSYSTEM: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\bstarted\b.*?\bin\s+subsystem\s+([A-Z0-9#$@_]+)"));

/// The line shapes above that need literals (see [`crate::gated`]); a text without them
/// never compiles them.
pub static GATED: [&Gated; 6] = [
    &PAGE_HEADER,
    &COLUMN_HEADER,
    &SCREEN_TITLE,
    &REQUEST_LIST,
    &REQUEST_LOGGED,
    &BLOCK_LABEL,
];

pub static LITERALS: LazyLock<Literals> = LazyLock::new(|| Literals::new(GATED));

/// The four hex digits of an id contain a digit; "NASDEAD" is a word, not an id.
pub fn plausible_id(id: &str) -> bool {
    id.len() == 7 && id[3..].bytes().any(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_header_with_and_without_severity() {
        let c = PRINTED_HEADER
            .captures("CPDB053    Diagnostic              30   11/24/26  14:02:11.123456  QZLCSRV     QSYS        *STMT    QZLCSRV     QSYS        *STMT")
            .unwrap();
        assert_eq!(&c["id"], "CPDB053");
        assert_eq!(&c["type"], "Diagnostic");
        assert_eq!(&c["sev"], "30");
        assert_eq!(&c["time"], "14:02:11.123456");
        let c = PRINTED_HEADER.captures("*NONE      Request                      24.11.26  14:02:15,000000  QUICMENU    QSYS   00C1  QUIMNDRV  QSYS  0567").unwrap();
        assert_eq!(&c["type"], "Request");
        assert!(c.name("sev").is_none());
    }

    #[test]
    fn labels_and_pairs() {
        let c = BLOCK_LABEL
            .regex()
            .captures("                                      Recovery  . . . :   Ask")
            .unwrap();
        assert_eq!(&c["label"], "Recovery");
        assert!(
            BLOCK_LABEL
                .regex()
                .captures("Message ID . . . . . . :   CPDB053")
                .is_none()
        );
        let pairs: Vec<(String, String)> = PAIR
            .captures_iter("  Job name . . . . . . . . . . :   QPADEV0001    User  . . . . . . :   JSMITH   Number . . . . . . . . . . . :   123456")
            .map(|c| (c["label"].to_string(), c["value"].to_string()))
            .collect();
        assert_eq!(pairs[0], ("Job name".into(), "QPADEV0001".into()));
        assert_eq!(pairs[1], ("User".into(), "JSMITH".into()));
        assert_eq!(pairs[2], ("Number".into(), "123456".into()));
    }

    #[test]
    fn page_header_and_release() {
        let l = " 5770SS1 V7R4M0 190621                    Display Job Log                        SYSNAME   11/24/26 14:02:11 CET     Page    1";
        assert!(PAGE_HEADER.regex().is_match(l));
        assert_eq!(&RELEASE.captures(l).unwrap()[0], "V7R4M0");
        assert!(!PAGE_HEADER.regex().is_match("Display Job Log"));
    }

    #[test]
    fn gated_shapes_name_literals_every_match_contains() {
        for g in GATED {
            crate::gated::check(g.pattern(), g.needs()).unwrap();
        }
    }

    #[test]
    fn requests() {
        assert_eq!(
            &REQUEST_LIST.regex().captures(">> wrklnk '/QNTC/X'").unwrap()["cmd"],
            "wrklnk"
        );
        assert_eq!(
            &REQUEST_LOGGED
                .regex()
                .captures("-CPYTOSTMF FROMMBR('/QSYS.LIB/A.MBR')")
                .unwrap()["cmd"],
            "CPYTOSTMF"
        );
        assert_eq!(
            &REQUEST_LOGGED.regex().captures("  200 - QSYS/CPY OBJ('/x')").unwrap()["cmd"],
            "QSYS/CPY"
        );
        assert!(REQUEST_LOGGED.regex().captures("- the share is gone").is_none());
    }
}
