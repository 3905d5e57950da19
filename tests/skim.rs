//! Large inputs are skimmed (only the lines worth reading get the full parse): the diagnosis
//! must be the one reading every line gives, down to the quoted evidence lines, and streaming
//! a file must give the same as diagnosing its bytes.

use std::fmt::Write as _;
use std::path::Path;

use qntcbot::diagnose::{self, Diagnosis, Priors, Settings};
use qntcbot::kb::KbSource;
use qntcbot::skim::SKIM_FROM_BYTES;
use qntcbot::{Engine, evidence, input};

fn engine(dir: &Path) -> Engine {
    Engine::open_lazy_cached(&dir.join("unused.db"), KbSource::Embedded, Settings::default(), None).unwrap()
}

/// What reading every line gives.
fn full(engine: &Engine, raw: &str) -> Diagnosis {
    let text = input::normalize(raw.as_bytes()).unwrap().text;
    let ev = evidence::extract(&text);
    diagnose::diagnose(&engine.kb(), ev, &text, &Priors::default(), &Settings::default())
}

/// What must not change when only the lines worth reading are read: the evidence, the
/// findings in their order and what they quote (and the decision: see [`assert_close`]). Confidence may move a little:
/// the text-similarity features see the selected lines instead of megabytes of noise.
fn summary(d: &Diagnosis) -> String {
    let mut s = format!(
        "key={} qntc={} unknown={:?}\n",
        d.evidence.key(),
        d.evidence.qntc_context,
        d.unknown_ids
    );
    for m in &d.matches {
        let _ = writeln!(s, "{} {:?}", m.id, m.evidence);
    }
    s
}

fn assert_close(a: &Diagnosis, b: &Diagnosis, name: &str) {
    let top = |d: &Diagnosis| d.matches.first().map_or(0.0, |m| m.confidence);
    assert_eq!(summary(a), summary(b), "{name}");
    // The same decision, unless the confidence sits within the tolerance below of the
    // threshold, where a move that small may cross it.
    let near = |d: &Diagnosis| (top(d) - d.threshold).abs() <= 0.05;
    assert!(
        a.reply == b.reply || (near(a) && near(b)),
        "{name}: reply {} at {:.3} vs {} at {:.3} (threshold {})",
        a.reply,
        top(a),
        b.reply,
        top(b),
        a.threshold
    );
    for (x, y) in a.matches.iter().zip(&b.matches) {
        assert!(
            (x.confidence - y.confidence).abs() <= 0.05,
            "{name}: {} {:.3} vs {:.3}",
            x.id,
            x.confidence,
            y.confidence
        );
    }
}

const NOISE: &str = "\
5770SS1 V7R4M0 190621                     Display Job Log                       SYS01     11/24/26 14:02:11 CET  Page    1
 Job name . . . . . . . . . . :   INVCOPY         User  . . . . . . :   INVOICES     Number . . . . . . . . . . . :   123456
MSGID      TYPE                    SEV  DATE      TIME             FROM PGM     LIBRARY     INST     TO PGM      LIBRARY     INST
CPI1125    Information             00   11/24/26  14:02:11.123456  QWTPIIPP     QSYS        0595     *EXT                    *N
                                     Message . . . . :   Job 123456/INVOICES/INVCOPY submitted.
CPF9898    Information             40   11/24/26  14:02:11.223456  QCMD         QSYS        0100     INVCPY      APPLIB      *STMT
                                     Message . . . . :   Copying invoice batch 2211 of 9000.
CPC2191    Completion              00   11/24/26  14:02:16.000001  QLIDLOBJ     QSYS        0B8D     QCMD        QSYS        0195
                                     Message . . . . :   Object X in QTEMP type *FILE deleted.
";

/// `middle` surrounded by job-log noise, more than the skim threshold in all.
fn padded(middle: &str) -> String {
    let half = SKIM_FROM_BYTES / 2 + 4096;
    let mut s = NOISE.repeat(half / NOISE.len() + 1);
    s.push_str(middle);
    s.push_str(&NOISE.repeat(half / NOISE.len() + 1));
    s
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/joblog")
            .join(name),
    )
    .unwrap()
}

#[test]
fn skimming_gives_the_diagnosis_of_reading_every_line() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path());
    let cpdb053 = "\
CPDB053    Diagnostic              30   11/24/26  14:02:12.000001  QZLCSRV      QSYS        *STMT    QZLCSRV     QSYS        *STMT
                                     Message . . . . :   Error exchanging security information for user INVOICES on network server FILESRV01.
                                     Cause . . . . . :   The error class was 0, and the error code was 3401.
";
    let mut cases = vec![("cpdb053 in noise".to_string(), padded(cpdb053))];
    // Lines longer than the skimmer's read size stay whole, so the lines quoted are numbered
    // as in the whole text.
    let long_lines = format!("{}\n{}\n{cpdb053}", "x ".repeat(300_000), "y".repeat(700_000));
    cases.push(("lines longer than a chunk".to_string(), padded(&long_lines)));
    for f in [
        "printed_batch_page_break.txt",
        "printed_interactive_cpdb053.txt",
        "printed_two_jobs_wrapped80.txt",
        "detail_80_cpdb053.txt",
        "listview_wrklnk.txt",
    ] {
        cases.push((f.to_string(), padded(&fixture(f))));
    }
    for (name, raw) in cases {
        assert!(raw.len() >= SKIM_FROM_BYTES);
        let skimmed = e.diagnose_bytes(raw.as_bytes()).unwrap();
        let whole = full(&e, &raw);
        assert!(!whole.matches.is_empty(), "{name}: the full read finds something");
        assert_close(&skimmed, &whole, &name);
        // Streaming the same bytes (in small reads) gives the same.
        let streamed = e
            .diagnose_reader(Slow(raw.as_bytes()), Some(raw.len() as u64), |_| {})
            .unwrap();
        assert_close(&streamed, &whole, &format!("{name}, streamed"));
    }
}

#[test]
fn skimming_keeps_every_message_id_for_the_evidence_key() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path());
    let raw = padded(
        "SQL0204    Escape                  30   11/24/26  14:02:12.000001  QSQRUN       QSYS   *STMT  X  Y  Z\n",
    );
    let d = e.diagnose_bytes(raw.as_bytes()).unwrap();
    assert_eq!(d.evidence.key(), full(&e, &raw).evidence.key());
    assert!(d.evidence.key().contains("SQL0204"));
}

#[test]
fn skimmed_input_errors_are_the_input_errors() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path());
    let binary = vec![0u8; SKIM_FROM_BYTES + 10];
    let err = e.diagnose_bytes(&binary).unwrap_err().to_string();
    assert!(err.contains("binary"), "{err}");
    let blank = " \n".repeat(SKIM_FROM_BYTES);
    let err = e.diagnose_bytes(blank.as_bytes()).unwrap_err().to_string();
    assert!(err.contains("empty"), "{err}");
}

/// A reader that hands out at most 1000 bytes at a time, so that lines span reads.
struct Slow<'a>(&'a [u8]);

impl std::io::Read for Slow<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.0.len().min(buf.len()).min(1000);
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

#[test]
fn a_large_utf16_job_log_reads_like_its_utf8_twin() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path());
    let raw = padded(&fixture("printed_interactive_cpdb053.txt"));
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(raw.encode_utf16().flat_map(u16::to_le_bytes));
    assert!(utf16.len() >= SKIM_FROM_BYTES);
    let utf8 = e.diagnose_bytes(raw.as_bytes()).unwrap();
    assert!(!utf8.matches.is_empty());
    let in_memory = e.diagnose_bytes(&utf16).unwrap();
    assert_close(&in_memory, &utf8, "UTF-16 in memory");
    let streamed = e
        .diagnose_reader(Slow(&utf16), Some(utf16.len() as u64), |_| {})
        .unwrap();
    assert_close(&streamed, &utf8, "UTF-16 streamed");
}
