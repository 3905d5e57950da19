//! Nothing lost across real processes: many `qntcbot analyze --record` at once on one file,
//! and writers killed with SIGKILL in the middle of their work.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use qntcbot::cases::{CaseSettings, NewCase};
use qntcbot::db::Db;

const KB_ENTRY: &str = r#"id = "logon"
title = "Test entry logon"
topics = ["netserver-domain-mismatch"]
certainty = "high"

[match]
message_ids = ["CPDB053"]
phrases = ["widget logon"]

[answer]
cause = "Because."
steps = [{ text = "Run it", command = "WRKLNK OBJ('/QNTC')" }]

[[references]]
title = "Source"
url = "https://www.ibm.com/support/pages/example"
"#;

const TEXT: &str = "CPDB053 on /QNTC/nas1/share after the upgrade\n";

struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("kb")).unwrap();
        std::fs::write(dir.path().join("kb/logon.toml"), KB_ENTRY).unwrap();
        std::fs::write(dir.path().join("input.txt"), TEXT).unwrap();
        let s = Setup { dir };
        // Create the database, its schema and the KB mirror once, as a deployment would.
        let out = s.analyze(&[]).stdin(Stdio::null()).output().unwrap();
        assert!(out.status.code().is_some(), "{out:?}");
        s
    }

    fn db_path(&self) -> PathBuf {
        self.dir.path().join("cases.db")
    }

    fn analyze(&self, extra: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_qntcbot"));
        c.env_remove("QNTCBOT_CONFIG")
            .current_dir(self.dir.path())
            .arg("--db")
            .arg(self.db_path())
            .arg("--kb")
            .arg(self.dir.path().join("kb"))
            .arg("analyze")
            .arg(self.dir.path().join("input.txt"))
            .args(extra);
        c
    }
}

fn acknowledged(stderr: &str) -> Vec<i64> {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix("qntcbot: recorded case "))
        .filter_map(|rest| rest.split_whitespace().next()?.parse().ok())
        .collect()
}

async fn check_integrity(path: &Path) -> Db {
    let db = Db::open(path).await.unwrap();
    let rows: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    assert_eq!(rows, vec!["ok".to_string()]);
    // FTS5's own check fails with SQLITE_CORRUPT_VTAB if the index and the table disagree.
    sqlx::query("INSERT INTO case_fts(case_fts) VALUES ('integrity-check')")
        .execute(&db.pool)
        .await
        .unwrap();
    // Every case is whole: its opening event and its matches were written with it.
    let torn: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM cases c WHERE NOT EXISTS (SELECT 1 FROM case_event e WHERE e.case_id = c.id AND e.kind = 'opened')
            OR (c.evidence_key <> '' AND NOT EXISTS (SELECT 1 FROM case_match m WHERE m.case_id = c.id))",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(torn, 0, "cases without their events or matches");
    db
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_recording_processes_lose_nothing() {
    let s = Setup::new();
    let users: Vec<String> = (0..200).map(|i| format!("user{i}")).collect();
    let children: Vec<_> = users
        .iter()
        .map(|u| {
            s.analyze(&["--record", "--json", "--user", u, "--channel", "help"])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut acks = Vec::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("locked") && !stderr.contains("busy"), "{stderr}");
        assert!(out.status.success(), "{:?}: {stderr}", out.status);
        acks.extend(acknowledged(&stderr));
    }
    acks.sort_unstable();
    acks.dedup();
    assert_eq!(acks.len(), 200);
    let db = check_integrity(&s.db_path()).await;
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM cases")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(n, 200);
    let users: i64 = sqlx::query_scalar("SELECT count(DISTINCT user_id) FROM cases WHERE platform = 'cli'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(users, 200);
}

/// A small, seeded pseudo-random sequence for kill timings; no quality needed.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recording_processes_killed_mid_flight_leave_a_sound_database() {
    let s = Setup::new();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    eprintln!("seed {seed}");
    let mut rng = Lcg(seed);
    let mut acks = Vec::new();
    for round in 0..4 {
        let mut children: Vec<_> = (0..30)
            .map(|i| {
                let user = format!("r{round}u{i}");
                s.analyze(&["--record", "--user", &user])
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        std::thread::sleep(Duration::from_millis(50 + rng.next(400)));
        for child in children.iter_mut() {
            if rng.next(2) == 0 {
                let _ = child.kill(); // SIGKILL
            }
        }
        for child in children {
            let out = child.wait_with_output().unwrap();
            acks.extend(acknowledged(&String::from_utf8_lossy(&out.stderr)));
        }
    }
    let db = check_integrity(&s.db_path()).await;
    for id in &acks {
        assert!(
            db.get_case(*id).await.unwrap().is_some(),
            "acknowledged case {id} is missing"
        );
    }
}

/// The body of the writer process below: records cases in a loop and prints each
/// acknowledged id. Runs only when re-executed by the test with CASES_WRITER_DB set.
#[tokio::test]
async fn writer_child() {
    let Some(path) = std::env::var_os("CASES_WRITER_DB") else {
        return;
    };
    let kb = PathBuf::from(std::env::var_os("CASES_WRITER_KB").unwrap());
    let engine = qntcbot::Engine::open(Path::new(&path), &kb).await.unwrap();
    let d = engine.diagnose(TEXT);
    let me = std::process::id().to_string();
    for i in 0.. {
        let user = format!("{me}-{i}");
        let text = format!("{TEXT} attempt {i} {}", "x".repeat(i % 5000));
        let case = NewCase {
            platform: "test",
            workspace: None,
            channel: None,
            thread: None,
            message_link: None,
            user_id: Some(&user),
            user_name: None,
            text: &text,
            diagnosis: &d,
            replied: true,
        };
        let r = engine.db().record_case(case, &CaseSettings::default()).await.unwrap();
        println!("ACK {}", r.id);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn looping_writers_killed_while_writing_keep_every_acknowledged_case() {
    let s = Setup::new();
    let me = std::env::current_exe().unwrap();
    let mut acks = Vec::new();
    for round in 0..3 {
        let mut writers: Vec<_> = (0..3)
            .map(|_| {
                Command::new(&me)
                    .args(["--exact", "writer_child", "--nocapture", "--test-threads=1"])
                    .env("CASES_WRITER_DB", s.db_path())
                    .env("CASES_WRITER_KB", s.dir.path().join("kb"))
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        // Read acknowledgements until each writer has made progress, then kill it mid-loop.
        let want = 20 + 15 * round;
        let readers: Vec<_> = writers
            .iter_mut()
            .map(|w| {
                let out = w.stdout.take().unwrap();
                std::thread::spawn(move || {
                    let mut ids = Vec::new();
                    for line in BufReader::new(out).lines().map_while(Result::ok) {
                        if let Some(id) = line.strip_prefix("ACK ").and_then(|x| x.trim().parse::<i64>().ok()) {
                            ids.push(id);
                        }
                    }
                    ids
                })
            })
            .collect();
        let start = Instant::now();
        let db = Db::open(&s.db_path()).await.unwrap();
        loop {
            let n: i64 = sqlx::query_scalar("SELECT count(*) FROM cases")
                .fetch_one(&db.pool)
                .await
                .unwrap();
            if n >= (acks.len() + want * 3) as i64 || start.elapsed() > Duration::from_secs(60) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        db.pool.close().await;
        for w in writers.iter_mut() {
            w.kill().unwrap(); // SIGKILL
            let status = w.wait().unwrap();
            assert!(!status.success());
        }
        for r in readers {
            acks.extend(r.join().unwrap());
        }
    }
    assert!(acks.len() >= 60, "the writers made progress: {}", acks.len());
    let db = check_integrity(&s.db_path()).await;
    for id in &acks {
        assert!(
            db.get_case(*id).await.unwrap().is_some(),
            "acknowledged case {id} is missing"
        );
    }
}
