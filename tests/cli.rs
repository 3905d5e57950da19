//! The `qntcbot` binary as users and scripts run it: the JSON contract, exit codes, global
//! options and bad input. Each test gets its own database file.

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn qntcbot(dir: &tempfile::TempDir) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_qntcbot"));
    c.current_dir(common::repo_path("."))
        .env_remove("QNTCBOT_DB")
        .env_remove("QNTCBOT_KB")
        .env_remove("QNTCBOT_CONFIG")
        .env_remove("RUST_LOG")
        .env("HOME", dir.path())
        .env("XDG_DATA_HOME", dir.path().join("data"));
    c
}

fn run_with_stdin(mut cmd: Command, input: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn qntcbot");
    let mut stdin = child.stdin.take().expect("stdin");
    // The binary may refuse early (oversized input); a broken pipe is then expected.
    let _ = stdin.write_all(input);
    drop(stdin);
    child.wait_with_output().expect("qntcbot runs")
}

const CPDB053: &str = "After the upgrade to 7.4 WRKLNK '/QNTC/FILESRV01' shows no shares.\n\
CPDB053  Diagnostic  30  Error exchanging security information for user JSMITH on network server FILESRV01.\n\
The error class was 0, and the error code was 3401.\n";

#[test]
fn analyze_json_follows_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("contract.db");
    let mut cmd = qntcbot(&dir);
    cmd.args(["analyze", "-", "--json", "--db"]).arg(&db);
    let out = run_with_stdin(cmd, CPDB053.as_bytes());
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON object");
    let obj = v.as_object().expect("an object");
    assert_eq!(obj.keys().collect::<Vec<_>>(), ["matches", "reply"]);
    assert_eq!(v["reply"], Value::Bool(true));
    let matches = v["matches"].as_array().expect("matches array");
    assert!(!matches.is_empty());
    let mut last = f64::INFINITY;
    for m in matches {
        let keys: Vec<&String> = m.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["confidence", "evidence", "id", "title", "topics"]);
        let c = m["confidence"].as_f64().unwrap();
        assert!(
            (0.0..=1.0).contains(&c) && c <= last,
            "confidences best first within 0..1"
        );
        last = c;
        assert!(m["evidence"].as_array().unwrap().iter().all(Value::is_string));
    }
    assert!(
        matches[0]["topics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "netserver-domain-mismatch")
    );
    // A plain analyze never needs the database; recording does, in the file --db names.
    assert!(!db.exists(), "analyze without --record does not create the database");
    let mut cmd = qntcbot(&dir);
    cmd.args(["analyze", "-", "--record", "--db"]).arg(&db);
    assert!(run_with_stdin(cmd, CPDB053.as_bytes()).status.success());
    assert!(db.exists(), "--db after the subcommand chooses the database file");
}

#[test]
fn global_db_option_before_the_subcommand_and_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let before = dir.path().join("before.db");
    let mut cmd = qntcbot(&dir);
    cmd.arg("--db").arg(&before).args(["analyze", "--json", "--record"]);
    assert!(run_with_stdin(cmd, CPDB053.as_bytes()).status.success());
    assert!(before.exists());

    let from_env = dir.path().join("env.db");
    let mut cmd = qntcbot(&dir);
    cmd.env("QNTCBOT_DB", &from_env).args(["analyze", "--json", "--record"]);
    assert!(run_with_stdin(cmd, CPDB053.as_bytes()).status.success());
    assert!(from_env.exists());

    // No option at all: the documented default under XDG_DATA_HOME.
    let mut cmd = qntcbot(&dir);
    cmd.args(["analyze", "--json", "--record"]);
    assert!(run_with_stdin(cmd, CPDB053.as_bytes()).status.success());
    assert!(dir.path().join("data/qntcbot/qntcbot.db").exists());
}

#[test]
fn readable_output_has_cause_steps_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = qntcbot(&dir);
    cmd.args(["analyze", "examples/cpdb053-after-upgrade.joblog.txt"]);
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    for part in [
        "Cause:",
        "What to do:",
        "  1. ",
        "Why I think so:",
        "References:",
        "CPDB053",
    ] {
        assert!(text.contains(part), "{part:?} missing from:\n{text}");
    }
}

#[test]
fn chit_chat_is_not_answered_and_exits_1_when_nothing_matches() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = qntcbot(&dir);
    cmd.args(["analyze", "--json"]);
    let out = run_with_stdin(cmd, b"thanks everyone, have a nice weekend!");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["reply"], Value::Bool(false));
    assert_eq!(
        out.status.code(),
        Some(if v["matches"].as_array().unwrap().is_empty() {
            1
        } else {
            0
        })
    );
}

#[test]
fn bad_input_is_a_clear_error_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", Vec::new(), "empty"),
        ("blank", b"  \n \t\n".to_vec(), "empty"),
        ("binary", (0u8..=255).cycle().take(4096).collect(), "binary"),
        ("huge", vec![b'x'; qntcbot::input::MAX_INPUT_BYTES + 10], "limit"),
    ];
    for (name, input, expect) in cases {
        let mut cmd = qntcbot(&dir);
        cmd.args(["analyze", "--json"]);
        let out = run_with_stdin(cmd, &input);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(expect), "{name}: {err}");
        assert!(out.stdout.is_empty(), "{name}: nothing half-written on stdout");
    }
    let mut cmd = qntcbot(&dir);
    cmd.args(["analyze", "/no/such/file"]);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read /no/such/file"));
}

#[test]
fn invalid_utf8_and_a_50_mb_paste_still_diagnose() {
    let dir = tempfile::tempdir().unwrap();
    let mut input = b"CPDB053 \xff\xfe error code 3401 on /QNTC/SRV01\n".to_vec();
    let mut cmd = qntcbot(&dir);
    cmd.args(["analyze", "--json"]);
    let out = run_with_stdin(cmd, &input);
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!v["matches"].as_array().unwrap().is_empty());

    let filler = "CPI1125    Information             00   11/24/26  14:02:11.123456  QWTPIIPP     QSYS        0595     *EXT                    *N\n";
    while input.len() < 50 * 1024 * 1024 {
        input.extend_from_slice(filler.as_bytes());
    }
    let mut cmd = qntcbot(&dir);
    cmd.args(["analyze", "--json"]);
    let out = run_with_stdin(cmd, &input);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["matches"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["evidence"].to_string().contains("CPDB053"))
    );
}

#[test]
fn lookup_by_id_message_code_and_words() {
    let dir = tempfile::tempdir().unwrap();
    for (query, expect_topic) in [
        ("CPDB053", "netserver-domain-mismatch"),
        ("cpdb53", "netserver-domain-mismatch"),
        ("3401", "netserver-domain-mismatch"),
        ("CPE3401", "netserver-domain-mismatch"),
        ("QPWDLEVEL mixed case password", "password-case-qpwdlvl"),
    ] {
        let mut cmd = qntcbot(&dir);
        cmd.args(["lookup", query, "--limit", "10", "--json"]);
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{query}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let topics = v.to_string();
        assert!(topics.contains(expect_topic), "{query}: {topics}");
    }
    let mut cmd = qntcbot(&dir);
    cmd.args(["lookup", "zzqx", "--json"]);
    assert_eq!(cmd.output().unwrap().status.code(), Some(1));
}

#[test]
fn explain_decodes_errno_and_owns_up_to_unknown_messages() {
    let dir = tempfile::tempdir().unwrap();
    let explain = |code: &str| {
        let mut cmd = qntcbot(&dir);
        cmd.args(["explain", code]);
        let out = cmd.output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).to_string())
    };
    let (code, text) = explain("3401");
    assert_eq!(code, Some(0));
    assert!(text.contains("EACCES") && text.contains("CPE3401"), "{text}");
    let (_, text) = explain("CPE3426");
    assert!(text.contains("ECONNRESET"), "{text}");
    let (_, text) = explain("EACCES");
    assert!(text.contains("3401"), "{text}");
    let (_, text) = explain("CPE3420");
    assert!(
        text.contains("3401"),
        "the technote's CPE3420 slip is explained: {text}"
    );
    let (_, text) = explain("CPDB054");
    assert!(text.contains("F1"), "{text}");
    assert_eq!(explain("banana").0, Some(1));
}

#[test]
fn kb_list_json_and_check() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = qntcbot(&dir);
    cmd.args(["kb", "list", "--json"]);
    let out = cmd.output().unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let list = v.as_array().unwrap();
    assert!(list.len() >= 30);
    for e in list {
        assert_eq!(
            e.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["id", "title", "topics"]
        );
    }
    let mut cmd = qntcbot(&dir);
    cmd.args(["kb", "check"]);
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));

    let broken = tempfile::tempdir().unwrap();
    std::fs::write(broken.path().join("x.toml"), "id = 'x'\npatterns = [").unwrap();
    let mut cmd = qntcbot(&dir);
    cmd.args(["kb", "check"]).arg(broken.path());
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("x.toml:2:"));
}

#[test]
fn many_processes_opening_a_brand_new_database_at_once_all_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("fresh.db");
    std::fs::write(dir.path().join("in.txt"), CPDB053).unwrap();
    let children: Vec<_> = (0..40)
        .map(|i| {
            let mut cmd = qntcbot(&dir);
            cmd.arg("--db")
                .arg(&db)
                .args(["analyze", "--json", "--record", "--user"])
                .arg(format!("u{i}"));
            cmd.arg(dir.path().join("in.txt"))
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{err}");
        assert!(!err.contains("locked") && !err.contains("already exists"), "{err}");
    }
    let mut cmd = qntcbot(&dir);
    cmd.arg("--db")
        .arg(&db)
        .args(["cases", "list", "--json", "--limit", "1000"]);
    let out = cmd.output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let cases = v.as_array().or_else(|| v["cases"].as_array()).map(Vec::len);
    assert_eq!(cases, Some(40));
}

#[test]
fn a_reader_that_stops_early_is_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = qntcbot(&dir);
    cmd.args(["kb", "list"]).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    // Close our end of stdout before the child writes: its next write hits a broken pipe.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.status.success(), "{err}");
}
