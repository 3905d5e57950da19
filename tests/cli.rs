//! The `qntcbot` binary as users and scripts run it: the JSON contract, exit codes, global
//! options and bad input. Each test gets its own database file.

mod common;

use std::io::Write;
use std::path::Path;
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
    // The contract's fields are there; extra fields may be added (design brief).
    assert!(
        obj.contains_key("matches") && obj.contains_key("reply"),
        "{:?}",
        obj.keys()
    );
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
    // 0 means "the bot would answer this"; anything it would stay quiet about is 1.
    assert_eq!(out.status.code(), Some(1));
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

// ---------------------------------------------------------------------------------------
// Text in: a sentence, a file, stdin.

fn stdout_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

#[test]
fn a_quoted_sentence_is_diagnosed_from_any_directory() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = qntcbot(&dir);
    cmd.current_dir("/")
        .arg("--db")
        .arg(dir.path().join("x.db"))
        .args(["analyze", "CPDB053 error code 3401 after upgrading to 7.4"]);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    assert!(text.contains("netserver-domain-mismatch"), "{text}");
    assert!(text.contains("would answer"), "{text}");

    // Unquoted words are one text too.
    let mut cmd = qntcbot(&dir);
    cmd.args(["analyze", "--json", "CPDB053", "error", "code", "3401"]);
    let out = cmd.output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["matches"][0]["topics"][0], "netserver-domain-mismatch");
}

#[test]
fn an_existing_path_is_a_file_and_dash_is_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("question.txt");
    std::fs::write(&file, CPDB053).unwrap();
    let mut cmd = qntcbot(&dir);
    cmd.args(["analyze", "--json"]).arg(&file);
    let from_file: Value = serde_json::from_slice(&cmd.output().unwrap().stdout).unwrap();
    let mut cmd = qntcbot(&dir);
    cmd.args(["analyze", "--json", "-"]);
    let from_stdin: Value = serde_json::from_slice(&run_with_stdin(cmd, CPDB053.as_bytes()).stdout).unwrap();
    assert_eq!(from_file, from_stdin);

    let mut cmd = qntcbot(&dir);
    cmd.args(["analyze", "no-such-joblog.txt"]);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("no such file"), "{}", stderr_of(&out));

    let mut cmd = qntcbot(&dir);
    let help = stdout_of(&cmd.args(["analyze", "--help"]).output().unwrap());
    assert!(
        help.contains("existing path") && help.contains("standard input"),
        "{help}"
    );
}

/// Runs `args` under a pseudo-terminal (util-linux `script`), feeding `input`. None when
/// `script` is not installed.
fn in_terminal(dir: &tempfile::TempDir, args: &str, input: &[u8], env: &[(&str, &str)]) -> Option<Output> {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: util-linux `script` is not installed");
        return None;
    }
    let line = format!("{} {args}", env!("CARGO_BIN_EXE_qntcbot"));
    let mut cmd = Command::new("script");
    cmd.args(["-q", "-e", "-c", &line, "/dev/null"])
        .current_dir(common::repo_path("."))
        .env_remove("QNTCBOT_DB")
        .env_remove("QNTCBOT_KB")
        .env_remove("QNTCBOT_CONFIG")
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR")
        .env("HOME", dir.path())
        .env("XDG_DATA_HOME", dir.path().join("data"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    Some(run_with_stdin(cmd, input))
}

#[test]
fn on_a_terminal_with_no_input_it_asks_for_a_paste() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    // Ctrl-D (0x04) ends the paste on a terminal.
    let Some(out) = in_terminal(
        &dir,
        &format!("--db {} analyze", db.display()),
        b"CPDB053 error code 3401\n\x04",
        &[],
    ) else {
        return;
    };
    let all = stdout_of(&out);
    assert!(all.contains("paste the text, then Ctrl-D"), "{all}");
    // The paste was diagnosed: a finding about CPDB053 follows the prompt.
    assert!(all.contains("Most likely") || all.contains("Possibly"), "{all}");
}

// ---------------------------------------------------------------------------------------
// Bad input refused early and cheaply.

#[test]
fn devices_and_huge_files_are_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let sparse = dir.path().join("sparse.log");
    let f = std::fs::File::create(&sparse).unwrap();
    f.set_len(2 * 1024 * 1024 * 1024).unwrap();
    for (path, expect) in [
        (Path::new("/dev/zero"), "device"),
        (sparse.as_path(), "2147483648 bytes"),
    ] {
        let started = std::time::Instant::now();
        let mut cmd = qntcbot(&dir);
        cmd.arg("analyze").arg(path);
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
        assert!(stderr_of(&out).contains(expect), "{}", stderr_of(&out));
        // Not a timing assertion on the code path, a guard against reading 2 GB.
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }
    // /dev/zero as standard input is a device too.
    let mut cmd = qntcbot(&dir);
    cmd.args(["analyze", "-"])
        .stdin(std::fs::File::open("/dev/zero").unwrap());
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("device"), "{}", stderr_of(&out));
}

fn utf16le(text: &str) -> Vec<u8> {
    let mut out = vec![0xFF, 0xFE];
    for u in text.encode_utf16() {
        out.extend_from_slice(&u.to_le_bytes());
    }
    out
}

#[test]
fn a_utf16_job_log_is_diagnosed_like_its_utf8_twin() {
    let dir = tempfile::tempdir().unwrap();
    let utf8 = std::fs::read_to_string(common::repo_path("examples/cpdb053-after-upgrade.joblog.txt")).unwrap();
    let crlf = utf8.replace('\n', "\r\n");
    let mut be = vec![0xFE, 0xFF];
    for u in crlf.encode_utf16() {
        be.extend_from_slice(&u.to_be_bytes());
    }
    let mut utf32 = vec![0xFF, 0xFE, 0, 0];
    for c in crlf.chars() {
        utf32.extend_from_slice(&(c as u32).to_le_bytes());
    }
    let diagnose = |bytes: &[u8], name: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let mut cmd = qntcbot(&dir);
        cmd.args(["analyze", "--json"]).arg(&path);
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr_of(&out));
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let twin = diagnose(utf8.as_bytes(), "utf8.txt");
    let topics = twin["matches"][0]["topics"].as_array().cloned().unwrap_or_default();
    assert!(topics.iter().any(|t| t == "netserver-domain-mismatch"), "{twin}");
    assert_eq!(diagnose(&utf16le(&crlf), "utf16le.txt"), twin);
    assert_eq!(diagnose(&be, "utf16be.txt"), twin);
    assert_eq!(diagnose(&utf32, "utf32le.txt"), twin);
}

#[test]
fn db_is_a_path_not_a_url_and_its_directory_must_exist() {
    let dir = tempfile::tempdir().unwrap();
    let odd = dir.path().join("a%41b?mode=ro#x.db");
    let mut cmd = qntcbot(&dir);
    cmd.arg("--db")
        .arg(&odd)
        .args(["analyze", "--json", "--record", "CPDB053 3401"]);
    let out = cmd.output().unwrap();
    // Answered or not (0 or 1), the point here is the file name.
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr_of(&out));
    assert!(odd.exists(), "the file is named exactly as given");
    assert!(!dir.path().join("aAb").exists());

    let missing = dir.path().join("no/such/dir/x.db");
    let mut cmd = qntcbot(&dir);
    cmd.arg("--db").arg(&missing).args(["cases", "list"]);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = stderr_of(&out);
    assert!(err.contains("does not exist") && err.contains("no/such/dir"), "{err}");
    assert!(!dir.path().join("no").exists(), "nothing was created");
    // Said once, not once per error layer.
    assert_eq!(err.matches("does not exist").count(), 1, "{err}");
}

#[test]
fn a_database_error_is_printed_once() {
    let dir = tempfile::tempdir().unwrap();
    // A directory where the file should be: SQLite cannot open it.
    let db = dir.path().join("adir.db");
    std::fs::create_dir(&db).unwrap();
    let mut cmd = qntcbot(&dir);
    cmd.arg("--db").arg(&db).args(["cases", "list"]);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = stderr_of(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    let words: Vec<&str> = err.split(": ").collect();
    let mut seen = std::collections::HashSet::new();
    for w in &words {
        assert!(seen.insert(*w), "{w:?} repeated in {err}");
    }
}

#[cfg(unix)]
#[test]
fn kb_fifos_devices_and_oversized_files_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let kb = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(common::repo_path("kb")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "toml") {
            std::fs::copy(&p, kb.path().join(p.file_name().unwrap())).unwrap();
        }
    }
    let fifo = kb.path().join("fifo.toml");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    std::os::unix::fs::symlink("/dev/zero", kb.path().join("zero.toml")).unwrap();
    std::fs::write(kb.path().join("huge.toml"), vec![b'#'; 2 * 1024 * 1024]).unwrap();
    let started = std::time::Instant::now();
    let mut cmd = qntcbot(&dir);
    cmd.args(["kb", "check"]).arg(kb.path());
    let out = cmd.output().unwrap();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "nothing blocked"
    );
    assert_eq!(out.status.code(), Some(1));
    let report = format!("{}{}", stdout_of(&out), stderr_of(&out));
    for name in ["fifo.toml", "zero.toml", "huge.toml"] {
        assert!(report.contains(name), "{name} not named in:\n{report}");
    }
    assert!(report.contains("not a regular file"), "{report}");
}

// ---------------------------------------------------------------------------------------
// Output that agrees with itself.

fn analyze_text(dir: &tempfile::TempDir, text: &str, columns: Option<&str>) -> (Option<i32>, String) {
    let mut cmd = qntcbot(dir);
    if let Some(c) = columns {
        cmd.env("COLUMNS", c);
    }
    cmd.args(["analyze", "-"]);
    let out = run_with_stdin(cmd, text.as_bytes());
    (out.status.code(), stdout_of(&out))
}

/// The texts the output checks run over: the examples, the README's sentence, other IBM i
/// errors, prose near the answer threshold.
fn sample_texts() -> Vec<String> {
    let mut texts: Vec<String> = [
        "cpdb053-after-upgrade.joblog.txt",
        "cpfa09c-batch.joblog.txt",
        "chat-question.txt",
    ]
    .iter()
    .map(|f| std::fs::read_to_string(common::repo_path(&format!("examples/{f}"))).unwrap())
    .collect();
    texts.extend(
        [
            "CPDB053 error code 3401 after the upgrade",
            "CPF9801 object not found in library QGPL",
            "QNTC shows nothing",
            "wrklnk /qntc empty after ipl",
            "CPFA0A9 object not found /QNTC/nas01/share",
            "smbclient NT_STATUS_LOGON_FAILURE from linux",
            "the mapped drive on windows fails with error 86",
            "CPDB053 3401 batch job submitted",
        ]
        .map(String::from),
    );
    texts
}

#[test]
fn percentages_labels_and_the_decision_agree() {
    let dir = tempfile::tempdir().unwrap();
    for text in sample_texts() {
        let (code, out) = analyze_text(&dir, &text, None);
        let head = out.lines().next().unwrap_or("");
        let pct = |line: &str| -> Option<u32> {
            let open = line.rfind('(')?;
            line[open + 1..].strip_suffix("%)")?.parse().ok()
        };
        let answered = out.contains("the bot would answer this");
        assert_eq!(code, Some(if answered { 0 } else { 1 }), "{text}:\n{out}");
        if let Some(p) = pct(head) {
            if answered {
                assert!(p >= 50, "answers with {p}%: {out}");
            }
            // "(... 76% is under the 83% needed to answer.)": the two numbers shown agree
            // with each other and with the headline.
            if let Some(at) = out.find("% is under the ") {
                let number = |s: &str| -> u32 {
                    let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
                    digits.parse().unwrap()
                };
                let shown = number(out[..at].rsplit(' ').next().unwrap());
                let needed = number(&out[at + "% is under the ".len()..]);
                assert_eq!(shown, p, "the decision line and the headline disagree: {out}");
                assert!(p < needed, "says under the threshold at {p}% of {needed}%: {out}");
            }
            // Nothing below the headline is shown as more likely than it.
            // A long title wraps: the heading runs on to the line that carries its percentage.
            let lines: Vec<&str> = out.lines().collect();
            for (k, _) in lines
                .iter()
                .enumerate()
                .filter(|(_, l)| l.starts_with("== Also possible"))
            {
                let l = lines[k..]
                    .iter()
                    .take_while(|l| !l.trim().is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" ");
                let l = l.split("%)").next().map(|h| format!("{h}%)")).unwrap_or_default();
                let l = l.as_str();
                let other = pct(l).unwrap();
                assert!(other <= p, "{l} above the headline {head}");
                if head.starts_with("Most likely") {
                    assert!(other + 5 < p, "'Most likely' beside a near tie: {head} / {l}");
                }
            }
        }
    }
}

#[test]
fn evidence_quotes_are_one_line_whole_words_and_no_labels() {
    let dir = tempfile::tempdir().unwrap();
    for text in sample_texts() {
        let (_, out) = analyze_text(&dir, &text, None);
        let why: Vec<&str> = out
            .split("Why I think so:\n")
            .skip(1)
            .flat_map(|s| s.split("\n\n").next().unwrap_or("").lines())
            .filter(|l| l.starts_with("  - "))
            .collect();
        for w in why {
            let w = w.trim_start_matches("  - ");
            assert!(!w.contains(" . . "), "a job-log label quoted: {w}");
            if let Some((a, b)) = w.split_once(" — ") {
                assert_ne!(a.trim(), b.trim(), "{w}");
            }
            if let (Some(o), Some(c)) = (w.find('“'), w.rfind('”')) {
                let inner = &w[o + '“'.len_utf8()..c];
                if let Some(cut) = inner.strip_suffix('…') {
                    // Cut after a whole word: the source text continued with a blank.
                    assert!(!cut.ends_with(' '), "{w}");
                }
            }
        }
    }
}

#[test]
fn steps_and_prose_fit_the_width() {
    let dir = tempfile::tempdir().unwrap();
    for (cols, width) in [(None, 100), (Some("72"), 72)] {
        for text in sample_texts() {
            let (_, out) = analyze_text(&dir, &text, cols);
            for l in out.lines() {
                // Commands and URLs are kept whole so they can be copied; a caution under a
                // command ("       CAUTION: ...", continued at nine blanks) is wrapped.
                let caution = l.trim_start().starts_with("CAUTION:") || l.starts_with("         ");
                let command_or_url = (l.starts_with("       ") && !caution) || l.contains("://");
                assert!(
                    command_or_url || l.chars().count() <= width,
                    "{} columns > {width}: {l}",
                    l.chars().count()
                );
            }
        }
    }
}

#[test]
fn a_non_qntc_error_with_only_possibilities_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = qntcbot(&dir);
    cmd.args([
        "analyze",
        "--json",
        "CPF9801 object not found in library QGPL while running my program",
    ]);
    let out = cmd.output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["reply"], false);
    assert_eq!(out.status.code(), Some(1), "{v}");
}

// ---------------------------------------------------------------------------------------
// Commands that do what they say.

#[test]
fn lookup_limit_holds_for_error_codes_and_explain_fits_a_screen() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = qntcbot(&dir);
    cmd.args(["lookup", "3401", "--limit", "1", "--json"]);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings: usize = v
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["findings"].as_array().unwrap().len())
        .sum();
    assert_eq!(findings, 1, "{v}");

    for args in [&["explain", "CPE3401"][..], &["lookup", "3401"], &["explain", "3401"]] {
        let mut cmd = qntcbot(&dir);
        let out = cmd.args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        let text = stdout_of(&out);
        let lines = text.lines().count();
        assert!(lines <= 60, "{args:?}: {lines} lines\n{text}");
        assert!(text.starts_with("3401 = EACCES"), "decoding first: {text}");
        let first = text
            .lines()
            .find(|l| l.starts_with("1. "))
            .unwrap_or_else(|| panic!("no ranked entry in {text}"));
        assert!(
            !first.contains("batch-job-profile"),
            "name order, not relevance: {first}"
        );
    }
    // explain follows lookup's exit codes: 1 when nothing is known.
    for args in [&["explain", "CPDB054"][..], &["lookup", "zzqx"], &["explain", "banana"]] {
        let out = qntcbot(&dir).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stdout_of(&out));
    }
}

fn record(dir: &tempfile::TempDir, db: &Path, text: &str) -> String {
    let mut cmd = qntcbot(dir);
    cmd.arg("--db")
        .arg(db)
        .args(["analyze", "--record", "--user", "me", "--"])
        .arg(text);
    let out = cmd.output().unwrap();
    let err = stderr_of(&out);
    err.lines()
        .find_map(|l| l.strip_prefix("qntcbot: recorded case "))
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no case recorded: {err}"))
        .to_string()
}

fn cases(dir: &tempfile::TempDir, db: &Path, args: &[&str]) -> Output {
    let mut cmd = qntcbot(dir);
    cmd.arg("--db").arg(db).arg("cases").args(args);
    cmd.output().unwrap()
}

#[test]
fn resolve_refuses_unknown_entries_and_asks_for_force_the_second_time() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let id = record(&dir, &db, CPDB053);
    let out = cases(&dir, &db, &["resolve", &id, "--entry", "no-such-entry"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr_of(&out).contains("not a knowledge-base entry"),
        "{}",
        stderr_of(&out)
    );
    let shown = stdout_of(&cases(&dir, &db, &["show", &id, "--json"]));
    let v: Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(v["status"], "answered", "unchanged");

    let out = cases(&dir, &db, &["resolve", &id, "--entry", "netserver-domain-mismatch"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let out = cases(&dir, &db, &["resolve", &id, "--entry", "password-case-qpwdlvl"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("--force"), "{}", stderr_of(&out));
    let out = cases(
        &dir,
        &db,
        &["resolve", &id, "--entry", "password-case-qpwdlvl", "--force"],
    );
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&cases(&dir, &db, &["show", &id, "--json"]).stdout).unwrap();
    assert_eq!(v["fixed_by"], "password-case-qpwdlvl");
    assert!(v["events"].to_string().contains("re-resolved"), "{v}");
}

#[test]
fn case_show_lines_up_entries_and_names_the_bot() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let id = record(&dir, &db, CPDB053);
    let text = stdout_of(&cases(&dir, &db, &["show", &id]));
    assert!(text.contains("answered by qntcbot"), "{text}");
    assert!(!text.contains("by me\n") || text.contains("opened by me"), "{text}");
    let offered: Vec<&str> = text
        .split("Offered:\n")
        .nth(1)
        .unwrap()
        .lines()
        .take_while(|l| !l.trim_start().starts_with("Why") && !l.is_empty())
        .collect();
    assert!(offered.len() >= 2, "{text}");
    // Every row's entry id starts in the header's ENTRY column.
    let col = offered[0].find("ENTRY").unwrap();
    for row in &offered[1..] {
        let c = row.char_indices().nth(col).map(|(i, _)| i).unwrap();
        assert!(
            row[..c].ends_with("  ") && !row[c..].starts_with(' '),
            "misaligned: {row:?} in\n{}",
            offered.join("\n")
        );
    }
}

#[test]
fn purge_has_a_dry_run_and_asks_on_a_terminal_before_deleting_everything() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    record(&dir, &db, CPDB053);
    record(&dir, &db, "QNTC shows nothing after the IPL");
    let out = cases(&dir, &db, &["purge", "--older-than", "2999-01-01", "--dry-run"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout_of(&out).contains("would purge 2 of 2"), "{}", stdout_of(&out));
    let listed: Value = serde_json::from_slice(&cases(&dir, &db, &["list", "--json"]).stdout).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2, "dry run deleted nothing");

    let purge = format!("--db {} cases purge --older-than 2999-01-01", db.display());
    if let Some(out) = in_terminal(&dir, &purge, b"no\n", &[]) {
        let said = stdout_of(&out);
        assert!(
            said.contains("deletes all 2 case(s)") && said.contains("nothing deleted"),
            "{said}"
        );
        let listed: Value = serde_json::from_slice(&cases(&dir, &db, &["list", "--json"]).stdout).unwrap();
        assert_eq!(listed.as_array().unwrap().len(), 2, "answered no");
        let out = in_terminal(&dir, &purge, b"yes\n", &[]).unwrap();
        assert!(stdout_of(&out).contains("purged 2 case(s)"), "{}", stdout_of(&out));
    }
}

#[test]
fn exports_use_one_timestamp_format() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    record(&dir, &db, CPDB053);
    let json: Value = serde_json::from_slice(&cases(&dir, &db, &["export", "--format", "json"]).stdout).unwrap();
    let csv = stdout_of(&cases(&dir, &db, &["export", "--format", "csv"]));
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let row: Vec<&str> = csv.lines().nth(1).unwrap().split(',').collect();
    let col = header.iter().position(|h| *h == "created_at").unwrap();
    assert_eq!(json[0]["created_at"].as_str().unwrap(), row[col], "{csv}");
    assert!(row[col].ends_with('Z'), "{}", row[col]);
}

#[test]
fn every_flag_the_readme_mentions_exists() {
    let dir = tempfile::tempdir().unwrap();
    let readme = std::fs::read_to_string(common::repo_path("README.md")).unwrap();
    // Every `--flag` in the README's qntcbot commands and tables.
    let mut flags: Vec<String> = Vec::new();
    for line in readme.lines().filter(|l| l.contains("qntcbot") || l.contains("--")) {
        for (i, _) in line.match_indices("--") {
            let rest = &line[i + 2..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            if name.len() > 1 && name.chars().next().is_some_and(|c| c.is_ascii_lowercase()) {
                flags.push(format!("--{name}"));
            }
        }
    }
    flags.sort();
    flags.dedup();
    assert!(flags.contains(&"--text".to_string()), "{flags:?}");
    // Flags of other programs the README quotes (cargo, hyperfine).
    let foreign = [
        "--release",
        "--locked",
        "--check",
        "--all-targets",
        "--nocapture",
        "--ignored",
        "--test",
        "--bench",
        "--lib",
    ];
    let mut help = String::new();
    let mut stack: Vec<Vec<String>> = vec![vec![]];
    while let Some(path) = stack.pop() {
        let mut cmd = qntcbot(&dir);
        let out = cmd.args(&path).arg("--help").output().unwrap();
        let text = stdout_of(&out);
        if let Some(cmds) = text.split("Commands:\n").nth(1) {
            for l in cmds.lines().take_while(|l| l.starts_with("  ")) {
                let name = l.split_whitespace().next().unwrap();
                if name != "help" {
                    let mut p = path.clone();
                    p.push(name.to_string());
                    stack.push(p);
                }
            }
        }
        help.push_str(&text);
    }
    for f in flags.iter().filter(|f| !foreign.contains(&f.as_str())) {
        let found = help.contains(&format!("{f} "))
            || help.contains(&format!("{f}\n"))
            || help.contains(&format!("{f},"))
            || help.contains(&format!("{f}="))
            || help.contains(&format!("{f} <"));
        assert!(found, "README mentions {f}, which no command has");
    }
}

// ---------------------------------------------------------------------------------------
// Logs, help, completions and the man page.

#[test]
fn logs_to_a_file_carry_no_escape_codes() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = qntcbot(&dir);
    cmd.args(["-v", "analyze", "-"]);
    let out = run_with_stdin(cmd, CPDB053.as_bytes());
    assert!(!out.stderr.is_empty(), "-v logs something");
    assert!(!out.stderr.contains(&0x1b), "{}", stderr_of(&out));

    // On a terminal: colour, unless NO_COLOR says otherwise.
    let args = format!("-v --db {} analyze CPDB053 3401", dir.path().join("t.db").display());
    if let Some(out) = in_terminal(&dir, &args, b"", &[]) {
        assert!(out.stdout.contains(&0x1b), "colour on a terminal");
        let out = in_terminal(&dir, &args, b"", &[("NO_COLOR", "1")]).unwrap();
        assert!(!out.stdout.contains(&0x1b), "{}", stdout_of(&out));
    }
}

#[test]
fn help_shows_global_options_apart_and_documents_every_flag() {
    let dir = tempfile::tempdir().unwrap();
    let help = |args: &[&str]| stdout_of(&qntcbot(&dir).args(args).arg("--help").output().unwrap());
    let top = help(&[]);
    assert!(top.contains("Global options:"), "{top}");
    let list = help(&["cases", "list"]);
    let (own, global) = list.split_once("Global options:").unwrap();
    assert!(own.contains("--status") && !own.contains("--db"), "{list}");
    assert!(global.contains("--db"), "{list}");
    assert!(list.contains("open, answered, resolved, dismissed, wrong"), "{list}");
    for cmd in [
        &["analyze"][..],
        &["lookup"],
        &["explain"],
        &["parse"],
        &["kb", "list"],
        &["cases", "list"],
        &["cases", "show"],
        &["cases", "stats"],
    ] {
        let text = help(cmd);
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with("--json"))
            .unwrap_or_else(|| panic!("{cmd:?}: {text}"));
        assert!(
            line.trim_start().trim_start_matches("--json").trim().len() > 5,
            "{cmd:?}: --json has no help: {line:?}"
        );
    }
}

#[test]
fn completions_and_man_page_come_from_the_same_definitions() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = qntcbot(&dir).args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}");
        let text = stdout_of(&out);
        for word in ["analyze", "purge", "older-than", "dry-run"] {
            assert!(text.contains(word), "{shell} completion lacks {word}");
        }
    }
    let out = qntcbot(&dir).arg("man").output().unwrap();
    assert!(out.status.success());
    let man = stdout_of(&out);
    assert!(
        man.starts_with(".ie") || man.contains(".TH qntcbot"),
        "{}",
        &man[..200.min(man.len())]
    );
    for word in ["QNTCBOT CASES PURGE", "dry\\-run", "possible values: open, answered"] {
        assert!(man.contains(word), "man page lacks {word}");
    }
    let bad = qntcbot(&dir).args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
