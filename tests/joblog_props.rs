//! Fuzz-style properties: whatever arrives, `normalize` + `parse` neither panic nor report line
//! ranges outside the input.

use proptest::prelude::*;
use qntcbot::joblog::parse;

const PIECES: &[&str] = &[
    " 5770SS1 V7R4M0 190621                    Display Job Log                        PROD01    11/24/26 14:05:40 CET     Page    1",
    "  Job name . . . . . . . . . . :   QPADEV0001      User  . . . . . . :   JSMITH       Number . . . . . . . . . . . :   123456",
    " MSGID      TYPE                    SEV  DATE      TIME             FROM PGM     LIBRARY     INST     TO PGM      LIBRARY     INST",
    " CPDB053    Diagnostic              30   11/24/26  14:02:15.612733  QZLCSRV      QSYS        *STMT    QZLCSRV     QSYS        *STMT",
    " *NONE      Request                      11/24/26  14:02:15.000000  QUICMENU     QSYS        00C1     QUIMNDRV    QSYS        0567",
    "                                      Message . . . . :   Error exchanging security information for user JSMITH on network server NAS01.",
    "                                      Message . . . . :   -WRKLNK OBJ('/QNTC/NAS01/Fin",
    "                                        ance')",
    "                                      Cause . . . . . :   The error class was 0, and the error code was 3401.",
    "Recovery  . . . :",
    " Message ID . . . . . . :   CPFA0A9       Severity . . . . . . . :   40",
    " Message type . . . . . :   Diagnostic",
    "                         Additional Message Information",
    "                             Display All Messages",
    " >> WRKLNK '/QNTC/NAS01'",
    "    Object not found.  Object is /QNTC/NAS01/x",
    "      y/z.",
    "MESSAGE_ID,MESSAGE_TYPE,SEVERITY,MESSAGE_TEXT",
    "CPFA09C,DIAGNOSTIC,40,\"Not authorized to object.  Object is /QNTC/a,\"\"b\"\"",
    "MESSAGE_ID\tMESSAGE_TEXT",
    "CPF2817\tCopy command ended because of error.",
    "| MESSAGE_ID | MESSAGE_TEXT |",
    "CPFA0AD: Function not supported by file system.",
    "-CPYTOSTMF TOSTMF('/QNTC/x')",
    "  200 - CPY OBJ('/QNTC/y')",
    "More...",
    "F3=Exit   F12=Cancel",
    "",
    "   ",
    "\t",
    "\"",
    "> quoted",
    "```",
    "Zürich 😭 /QNTC/ü",
    "/",
    ". :",
];

fn check(raw: &[u8]) {
    let Ok(n) = qntcbot::input::normalize(raw) else { return };
    let lines = n.text.lines().count().max(1);
    let parsed = parse(&n.text);
    for m in &parsed.messages {
        assert!(
            m.lines.0 >= 1 && m.lines.0 <= m.lines.1 && m.lines.1 <= lines,
            "{:?} of {lines}",
            m.lines
        );
    }
    for r in &parsed.requests {
        assert!(r.line >= 1 && r.line <= lines, "{} of {lines}", r.line);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..2048)) {
        check(&raw);
    }

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,400}") {
        check(s.as_bytes());
    }

    #[test]
    fn job_log_like_mixes_never_panic(
        picks in proptest::collection::vec((0..PIECES.len(), 0usize..140, any::<bool>()), 0..60)
    ) {
        // Pieces in any order, some cut at an arbitrary column as a terminal would.
        let mut text = String::new();
        for (i, cut, crlf) in picks {
            let p = PIECES[i];
            let cut = p.char_indices().nth(cut).map_or(p.len(), |(b, _)| b);
            text.push_str(&p[..cut]);
            text.push_str(if crlf { "\r\n" } else { "\n" });
            if cut < p.len() {
                text.push_str(&p[cut..]);
                text.push('\n');
            }
        }
        check(text.as_bytes());
    }
}
