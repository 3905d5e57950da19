//! Engine speed: a 2 KB chat message and a 10 MB job log against the shipped KB, and the same
//! against a synthetic KB of 5,000 entries (to show that cost does not grow as KB × text).
//!
//! `cargo bench --bench engine`; numbers go in README.md.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, criterion_group, criterion_main};
use qntcbot::Engine;

fn repo(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn chat_message() -> String {
    let mut s = String::from(
        "Hi all, since we moved our IBM i from 7.1 to 7.4 last weekend the nightly job that copies invoices to \
         /QNTC/FILESRV01/EXPORTS fails. WRKLNK '/QNTC/FILESRV01' shows no shares at all. The job log says:\n\
         CPDB053  Diagnostic  30  Error exchanging security information for user INVOICES on network server FILESRV01.\n\
         The error class was 0, and the error code was 3401.\n",
    );
    while s.len() < 2048 {
        s.push_str("We checked the Windows side, the account exists and the password was not changed recently. ");
    }
    s.truncate(2048);
    s
}

fn job_log(bytes: usize) -> String {
    let block = "\
5770SS1 V7R4M0 190621                     Display Job Log                       SYS01     11/24/26 14:02:11 CET  Page    1
 Job name . . . . . . . . . . :   INVCOPY         User  . . . . . . :   INVOICES     Number . . . . . . . . . . . :   123456
MSGID      TYPE                    SEV  DATE      TIME             FROM PGM     LIBRARY     INST     TO PGM      LIBRARY     INST
CPI1125    Information             00   11/24/26  14:02:11.123456  QWTPIIPP     QSYS        0595     *EXT                    *N
                                     Message . . . . :   Job 123456/INVOICES/INVCOPY submitted.
CPF9898    Information             40   11/24/26  14:02:11.223456  QCMD         QSYS        0100     INVCPY      APPLIB      *STMT
                                     Message . . . . :   Copying invoice batch 2211 of 9000.
";
    let mut s = String::with_capacity(bytes + 1024);
    while s.len() < bytes / 2 {
        s.push_str(block);
    }
    s.push_str(
        "CPDB053    Diagnostic              30   11/24/26  14:02:12.000001  QZLCSRV      QSYS        *STMT    QZLCSRV     QSYS        *STMT\n\
         \x20                                    Message . . . . :   Error exchanging security information for user INVOICES on network server FILESRV01.\n\
         \x20                                    Cause . . . . . :   The error class was 0, and the error code was 3401.\n",
    );
    while s.len() < bytes {
        s.push_str(block);
    }
    s
}

/// 5,000 entries, each with its own message id, phrases and a pattern, written as TOML files
/// so that they go through the same loader as the real KB.
fn synthetic_kb(dir: &Path, n: usize) {
    for i in 0..n {
        let id = format!("synthetic-{i:05}");
        let text = format!(
            r#"id = "{id}"
title = "Synthetic problem {i} with widget{i}"
topics = ["object-not-found"]
certainty = "medium"
[match]
message_ids = ["ZZZ{i:04X}"]
error_codes = [{code}]
phrases = ["widget{i} broke", "gadget{i} failed"]
patterns = [{{ regex = '(?i)\bsprocket{i}\b.{{0,20}}\bjammed', weight = 0.3 }}]
[answer]
cause = "Synthetic cause {i}."
steps = [{{ text = "Fix widget{i}.", command = "WRKLNK OBJ('/QNTC/S{i}')" }}]
[[references]]
title = "Synthetic"
url = "https://example.com/{i}"
"#,
            code = 3000 + (i % 500)
        );
        std::fs::write(dir.join(format!("{id}.toml")), text).expect("write synthetic entry");
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let data = tempfile::tempdir().expect("temp dir");
    let real = rt
        .block_on(Engine::open(&data.path().join("real.db"), &repo("kb")))
        .expect("real KB");
    let big_dir = tempfile::tempdir().expect("temp dir");
    synthetic_kb(big_dir.path(), 5000);
    let big = rt
        .block_on(Engine::open(&data.path().join("big.db"), big_dir.path()))
        .expect("synthetic KB");

    let chat = chat_message();
    let log_1m = job_log(1 << 20);
    let log_10m = job_log(10 << 20);

    let mut g = c.benchmark_group("diagnose");
    g.bench_function("chat 2KB, shipped KB", |b| {
        b.iter(|| black_box(real.diagnose(black_box(&chat))))
    });
    g.bench_function("chat 2KB, 5000-entry KB", |b| {
        b.iter(|| black_box(big.diagnose(black_box(&chat))))
    });
    g.sample_size(10);
    g.bench_function("job log 1MB, shipped KB", |b| {
        b.iter(|| black_box(real.diagnose(black_box(&log_1m))))
    });
    g.bench_function("job log 1MB, 5000-entry KB", |b| {
        b.iter(|| black_box(big.diagnose(black_box(&log_1m))))
    });
    g.bench_function("job log 10MB, shipped KB", |b| {
        b.iter(|| black_box(real.diagnose(black_box(&log_10m))))
    });
    g.bench_function("job log 10MB, 5000-entry KB", |b| {
        b.iter(|| black_box(big.diagnose(black_box(&log_10m))))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
