//! Parser speed on a 10 MB printed job log: a realistic page (page header, job header, request,
//! CPDB053 with Cause and Recovery, CPFA0A9 on a /QNTC path, informational noise) repeated
//! with changing times and job numbers.
//!
//! `cargo bench --bench joblog`.

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};

const TARGET_BYTES: usize = 10 * 1024 * 1024;

fn page(n: usize) -> String {
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
    s.push_str("  Job description  . . . . . . :   QDFTJOBD        Library . . . . . :   QGPL\n");
    s.push_str(" MSGID      TYPE                    SEV  DATE      TIME             FROM PGM     LIBRARY     INST     TO PGM      LIBRARY     INST\n");
    let ms = n % 1_000_000;
    let _ = writeln!(
        s,
        " *NONE      Request                      11/24/26  14:02:15.{ms:06}  QUICMENU     QSYS        00C1     QUIMNDRV    QSYS        0567"
    );
    let _ = writeln!(
        s,
        "                                      Message . . . . :   -WRKLNK OBJ('/QNTC/NAS01/Finance/{n}')"
    );
    let _ = writeln!(
        s,
        " CPDB053    Diagnostic              30   11/24/26  14:02:15.{ms:06}  QZLCSRV      QSYS        *STMT    QZLCSRV     QSYS        *STMT"
    );
    s.push_str("                                      From module . . . . . . . . :   QZLCSRV\n");
    s.push_str("                                      Statement . . . . . . . . . :   1207\n");
    s.push_str("                                      Message . . . . :   Error exchanging security information for user JSMITH on network server NAS01.\n");
    s.push_str("                                      Cause . . . . . :   The system was exchanging security information with a network server when an error occurred. The error class was 0, and the\n");
    s.push_str("                                        error code was 3401.\n");
    s.push_str("                                      Recovery  . . . :   Check that the user profile and password are the same on this system and on the network server, then try the\n");
    s.push_str("                                        request again.\n");
    let _ = writeln!(
        s,
        " CPFA0A9    Diagnostic              40   11/24/26  14:02:15.{ms:06}  QP0LLIB3     QSYS        *STMT    QP0LLIB3    QSYS        *STMT"
    );
    let _ = writeln!(
        s,
        "                                      Message . . . . :   Object not found.  Object is /QNTC/NAS01/Finance/Reports/2026/November/very/deep/path/{n}/fil"
    );
    s.push_str("                                        e.xlsx.\n");
    for k in 0..6 {
        let _ = writeln!(
            s,
            " CPC2191    Completion              00   11/24/26  14:02:16.{k:06}  QLIDLOBJ     QSYS        0B8D     QCMD        QSYS        0195"
        );
        s.push_str("                                      Message . . . . :   Object X in QTEMP type *FILE deleted.\n");
    }
    s
}

fn job_log() -> String {
    let mut s = String::with_capacity(TARGET_BYTES + 4096);
    let mut n = 1;
    while s.len() < TARGET_BYTES {
        s.push_str(&page(n));
        n += 1;
    }
    s
}

fn bench(c: &mut Criterion) {
    let log = job_log();
    let parsed = qntcbot::joblog::parse(&log);
    assert!(parsed.messages.len() > 10_000, "the synthetic log parses into messages");
    let mut g = c.benchmark_group("joblog");
    g.sample_size(10);
    g.throughput(criterion::Throughput::Bytes(log.len() as u64));
    g.bench_function("parse 10 MB printed job log", |b| {
        b.iter(|| qntcbot::joblog::parse(black_box(&log)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
