//! Sustained case writes per second on a temporary SQLite file (target: at least 1,000/s).

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use qntcbot::Engine;
use qntcbot::cases::{CaseSettings, NewCase};

const KB_ENTRY: &str = r#"id = "logon"
title = "Bench entry"
topics = ["netserver-domain-mismatch"]
certainty = "high"

[match]
message_ids = ["CPDB053"]

[answer]
cause = "Because."
steps = [{ text = "Run it", command = "WRKLNK OBJ('/QNTC')" }]

[[references]]
title = "Source"
url = "https://www.ibm.com/support/pages/example"
"#;

fn writes(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("kb")).unwrap();
    std::fs::write(dir.path().join("kb/logon.toml"), KB_ENTRY).unwrap();
    let engine = rt
        .block_on(Engine::open(&dir.path().join("bench.db"), &dir.path().join("kb")))
        .unwrap();
    let text = format!(
        "CPDB053 on /QNTC/nas1/share after the upgrade, password=hunter2\n{}",
        "job log line with some words in it\n".repeat(40)
    );
    let diagnosis = engine.diagnose(&text);
    let settings = CaseSettings::default();
    let mut n = 0u64;

    let mut group = c.benchmark_group("cases");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("record_case", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            rt.block_on(async {
                for _ in 0..iters {
                    n += 1;
                    let user = format!("user{n}");
                    let case = NewCase {
                        platform: "bench",
                        workspace: Some("guild"),
                        channel: Some("help"),
                        thread: None,
                        message_link: None,
                        user_id: Some(&user),
                        user_name: Some(&user),
                        text: &text,
                        diagnosis: &diagnosis,
                        replied: true,
                    };
                    engine.db().record_case(case, &settings).await.unwrap();
                }
            });
            start.elapsed()
        })
    });
    group.finish();
}

criterion_group!(benches, writes);
criterion_main!(benches);
