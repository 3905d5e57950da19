//! Linear cost on every input, checked by counting work units (see `qntcbot::work`), not by
//! timing: for each adversarial shape, doubling the input at most about doubles the work of
//! normalising, parsing and extracting evidence. A quadratic loop anywhere in that pipeline
//! quadruples its share of the count and fails the check.
//!
//! The shapes are the ones that were quadratic or could be: paths only, ids only, one huge
//! line, many page headers, deeply quoted or fenced text, thousands of distinct codes, a `find`
//! listing, unbalanced CSV quotes, messages with many paths, prose full of known texts.

use std::fmt::Write as _;

use proptest::prelude::*;
use qntcbot::work;

/// Work units of the text pipeline (normalise, parse, extract evidence) for one input.
fn units(raw: &str) -> u64 {
    let ((), n) = work::measure(|| {
        if let Ok(n) = qntcbot::input::normalize(raw.as_bytes()) {
            let ev = qntcbot::evidence::extract(&n.text);
            std::hint::black_box(ev);
        }
    });
    n
}

/// Repeats `unit(i)` until the text reaches `bytes`.
fn grow(bytes: usize, mut unit: impl FnMut(usize) -> String) -> String {
    let mut s = String::with_capacity(bytes + 256);
    let mut i = 0;
    while s.len() < bytes {
        s.push_str(&unit(i));
        i += 1;
    }
    s
}

fn printed_page(n: usize) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        " 5770SS1 V7R4M0 190621                    Display Job Log                        PROD01    11/24/26 14:05:40 CET     Page {n:>4}"
    );
    let _ = writeln!(
        s,
        "  Job name . . . . . . . . . . :   QPADEV0001      User  . . . . . . :   JSMITH       Number . . . . . . . . . . . :   {:06}",
        n % 1_000_000
    );
    s.push_str(" MSGID      TYPE                    SEV  DATE      TIME             FROM PGM     LIBRARY     INST     TO PGM      LIBRARY     INST\n");
    s.push_str(" CPDB053    Diagnostic              30   11/24/26  14:02:15.000001  QZLCSRV      QSYS        *STMT    QZLCSRV     QSYS        *STMT\n");
    s.push_str("                                      Message . . . . :   Error exchanging security information for user JSMITH on network server NAS01.\n");
    s.push_str("                                      Cause . . . . . :   The error class was 0, and the error code was 3401.\n");
    let _ = writeln!(
        s,
        " CPFA0A9    Diagnostic              40   11/24/26  14:02:15.000002  QP0LLIB3     QSYS        *STMT    QP0LLIB3    QSYS        *STMT\n                                      Message . . . . :   Object not found.  Object is /QNTC/NAS01/Finance/{n}/fil\n                                        e.xlsx."
    );
    s
}

const IDS: &[&str] = &["CPF", "CPD", "CPE", "CPA", "MCH", "SQL", "CPI", "TCP"];

/// One adversarial shape at about `bytes` bytes.
fn shape(name: &str, bytes: usize) -> String {
    match name {
        "normal job log" => grow(bytes, printed_page),
        "paths only" => "/a\n".repeat(bytes / 3),
        "ids only" => grow(bytes, |i| {
            format!("{}{:04X}\n", IDS[i % IDS.len()], (i / IDS.len()) % 0x10000)
        }),
        "ids on one line" => grow(bytes, |i| {
            format!("{}{:04X} ", IDS[i % IDS.len()], (i / IDS.len()) % 0x10000)
        }),
        "one huge line" => grow(bytes, |i| {
            format!("CPDB053 error code 3401 on /QNTC/NAS{i}/share x. user{i} said V7R4M0 and QPWDLVL 3 ")
        }),
        "many page headers" => grow(bytes, |i| {
            format!(
                " 5770SS1 V7R4M0 190621   Display Job Log   SYS{i:05}   11/24/26 14:02:11 CET  Page {i}\n  Job name . . . . :   JOB{i:06}   User  . . . . :   U{i:05}   Number . . . . :   {:06}\n",
                i % 1_000_000
            )
        }),
        "job header pieces" => grow(bytes, |i| {
            format!(
                "  Job name . . . . :   JOB{i:06}\n  Number . . . . :   {:06}\n",
                i % 1_000_000
            )
        }),
        "deeply quoted" => format!("{}CPDB053 error code 3401\n", "> ".repeat(bytes / 2)),
        "quoted and fenced" => grow(bytes, |i| {
            format!("> > > ```text\n> > > CPFA0A9 /QNTC/a{i} `x`\n> > > ```\n")
        }),
        "distinct codes" => grow(bytes, |i| {
            let letters: String = format!("{i:x}").bytes().map(|b| char::from(b'A' + (b % 26))).collect();
            format!(
                "error code {} STATUS_{letters}_X rc={} V{}R{} EACCES\n",
                i % 100_000,
                i % 99_999,
                5 + i % 3,
                i % 7
            )
        }),
        "find listing" => grow(bytes, |i| {
            format!("/QNTC/NAS01/share/d{}/s{}/file{i}.txt\n", i / 100, i / 10)
        }),
        "find listing, indented" => grow(bytes, |i| format!("      /QNTC/NAS01/share/d{}/file{i}.txt\n", i / 100)),
        "message with many paths" => format!(
            ">> WRKLNK '/QNTC/NAS01'\n    Object not found.  Object is /QNTC/NAS01/a\n{}",
            grow(bytes, |i| format!(
                "      /QNTC/NAS01/d{i}/x /tmp/t{i}/y '/home/u{i}/z'\n"
            ))
        ),
        "bare message with path lines" => format!(
            "CPFA0A9 Diagnostic 40 Object not found.  Object is /QNTC/x\n{}",
            grow(bytes, |i| format!("    /QNTC/NAS01/p{i}/q\n"))
        ),
        "unbalanced csv quotes" => format!(
            "MESSAGE_ID,MESSAGE_TYPE,SEVERITY,MESSAGE_TEXT\n{}",
            grow(bytes, |i| format!("CPFA0A9,DIAGNOSTIC,40,\"Object not found {i}\n"))
        ),
        "known texts without full stops" => grow(bytes, |i| {
            format!(
                "Function not supported by file system and Error exchanging security information for user U{i} on network server S "
            )
        }),
        "known texts in prose lines" => grow(bytes, |i| {
            format!("then Object not copied.  Object is /QNTC/s/{i} and more words\n")
        }),
        other => panic!("unknown shape {other}"),
    }
}

const SHAPES: &[&str] = &[
    "normal job log",
    "paths only",
    "ids only",
    "ids on one line",
    "one huge line",
    "many page headers",
    "job header pieces",
    "deeply quoted",
    "quoted and fenced",
    "distinct codes",
    "find listing",
    "find listing, indented",
    "message with many paths",
    "bare message with path lines",
    "unbalanced csv quotes",
    "known texts without full stops",
    "known texts in prose lines",
];

/// Doubling the input from `base` bytes twice: each step may at most about double the work.
fn check_linear(name: &str, base: usize) -> Result<(), String> {
    let sizes = [base, base * 2, base * 4];
    let counts: Vec<(usize, u64)> = sizes
        .iter()
        .map(|&b| {
            let text = shape(name, b);
            (text.len(), units(&text))
        })
        .collect();
    for pair in counts.windows(2) {
        let ((b1, w1), (b2, w2)) = (pair[0], pair[1]);
        // Work per byte may grow by a tenth per doubling (hash tables resizing, a longer
        // last page); a quadratic loop doubles it.
        let per1 = w1 as f64 / b1 as f64;
        let per2 = w2 as f64 / b2 as f64;
        if per2 > per1 * 1.1 + 0.5 {
            return Err(format!(
                "{name}: {b1} bytes -> {w1} units ({per1:.1}/byte), {b2} bytes -> {w2} units ({per2:.1}/byte)"
            ));
        }
    }
    Ok(())
}

#[test]
fn every_adversarial_shape_costs_linear_work() {
    let failures: Vec<String> = SHAPES.iter().filter_map(|s| check_linear(s, 32 * 1024).err()).collect();
    assert!(failures.is_empty(), "superlinear work:\n{}", failures.join("\n"));
}

#[test]
fn work_per_byte_stays_near_a_normal_job_log() {
    // Linear is not enough if the constant is huge: no shape may cost much more per byte than
    // a normal printed job log of the same size.
    let bytes = 128 * 1024;
    let normal = shape("normal job log", bytes);
    let normal_per_byte = units(&normal) as f64 / normal.len() as f64;
    let mut report = Vec::new();
    for s in SHAPES {
        let text = shape(s, bytes);
        let per = units(&text) as f64 / text.len() as f64;
        report.push(format!(
            "{s}: {per:.1} units/byte ({:.2}x normal)",
            per / normal_per_byte
        ));
        assert!(
            per <= normal_per_byte * 4.0,
            "{s} costs {per:.1} units/byte, a normal job log {normal_per_byte:.1}:\n{}",
            report.join("\n")
        );
    }
    println!("{}", report.join("\n"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Random mixes of the shapes' lines: doubling the mix (the same lines twice) at most about
    /// doubles the work. The first doubling also creates the junction between the two copies
    /// (the last line of one shape now runs into the first of another), which is new structure,
    /// not more of the same: "one huge line" then "message with many paths" costs 2.45x, then
    /// 2.18x, 2.08x, 2.04x, 2.02x per doubling - linear, with a constant the first copy lacks.
    /// So the doublings compared are x2 -> x4 -> x8, where every junction already occurs.
    #[test]
    fn doubling_a_random_mix_doubles_the_work(
        picks in proptest::collection::vec((0..SHAPES.len(), 1usize..64), 1..12)
    ) {
        let mut text = String::new();
        for (s, kb) in picks {
            text.push_str(&shape(SHAPES[s], kb * 256));
            text.push('\n');
        }
        let twice = units(&text.repeat(2));
        let four = units(&text.repeat(4));
        let eight = units(&text.repeat(8));
        prop_assert!(four as f64 <= twice as f64 * 2.2 + 1000.0, "x2 {twice}, x4 {four}");
        prop_assert!(eight as f64 <= four as f64 * 2.2 + 1000.0, "x4 {four}, x8 {eight}");
    }
}
