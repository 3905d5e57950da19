//! `qntcbot kb check` as a reviewer meets it: the real binary over a copy of the shipped KB,
//! with one mistake added at a time. Each mistake must fail the check with `file:line`.

mod common;

use std::path::Path;
use std::process::Command;

/// Copies the repository's `kb/` (entries and `lint/`) into `dst`.
fn copy_kb(dst: &Path) {
    let src = common::repo_path("kb");
    for sub in ["", "lint"] {
        let from = src.join(sub);
        let to = dst.join(sub);
        std::fs::create_dir_all(&to).unwrap();
        for e in std::fs::read_dir(&from).unwrap() {
            let p = e.unwrap().path();
            if p.is_file() {
                std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
            }
        }
    }
}

/// The binary run in `cwd` with a private home, cache and data directory and none of the
/// caller's qntcbot settings.
fn qntcbot(cwd: &Path, home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_qntcbot"));
    cmd.current_dir(cwd)
        .env_remove("QNTCBOT_DB")
        .env_remove("QNTCBOT_KB")
        .env_remove("QNTCBOT_CONFIG")
        .env_remove("RUST_LOG")
        .env("HOME", home)
        .env("QNTCBOT_CACHE_DIR", home.join("cache"))
        .env("XDG_DATA_HOME", home.join("data"));
    cmd
}

/// Runs `kb check DIR`; returns the exit code and stdout.
fn kb_check(dir: &Path) -> (Option<i32>, String) {
    let home = tempfile::tempdir().unwrap();
    let out = qntcbot(&common::repo_path("."), home.path())
        .args(["kb", "check"])
        .arg(dir)
        .output()
        .unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Replaces the first occurrence of `anchor` in `kb/<file>` with `replacement` and returns the
/// 1-based line on which `marker` (a piece of the replacement) now stands.
fn edit(dir: &Path, file: &str, anchor: &str, replacement: &str, marker: &str) -> usize {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(anchor), "{file} has no {anchor:?}");
    let text = text.replacen(anchor, replacement, 1);
    std::fs::write(&path, &text).unwrap();
    let at = text.find(marker).expect("marker in the edited text");
    text[..at].matches('\n').count() + 1
}

fn assert_reported(out: &str, file: &str, line: usize, what: &str) {
    let prefix = format!("{file}:{line}: error:");
    assert!(
        out.lines().any(|l| l.contains(&prefix) && l.contains(what)),
        "expected `{prefix} ...{what}...` in:\n{out}"
    );
}

#[test]
fn the_shipped_kb_is_clean() {
    let dir = tempfile::tempdir().unwrap();
    copy_kb(dir.path());
    let (code, out) = kb_check(dir.path());
    assert_eq!(code, Some(0), "{out}");
    assert!(!out.contains(": error:"), "{out}");
}

#[test]
fn a_pattern_that_matches_everything_fails_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    copy_kb(dir.path());
    let line = edit(
        dir.path(),
        "browse-slow.toml",
        "patterns = [\n",
        "patterns = [\n  { regex = '(?s).+', weight = 1.0 },\n",
        "(?s).+",
    );
    let (code, out) = kb_check(dir.path());
    assert_eq!(code, Some(1), "{out}");
    assert_reported(&out, "browse-slow.toml", line, "ordinary documents");
}

#[test]
fn a_pattern_that_matches_common_words_fails_but_a_negative_one_does_not() {
    let dir = tempfile::tempdir().unwrap();
    copy_kb(dir.path());
    let line = edit(
        dir.path(),
        "chmod-ignored.toml",
        "patterns = [\n",
        "patterns = [\n  { regex = '(?i)\\b(the|a|is|der|la)\\b', weight = 0.3 },\n  { regex = '(?i)\\b(thanks|danke)\\b', weight = -0.3 },\n",
        "(the|a|is",
    );
    let (code, out) = kb_check(dir.path());
    assert_eq!(code, Some(1), "{out}");
    assert_reported(&out, "chmod-ignored.toml", line, "ordinary documents");
    assert!(!out.contains("thanks|danke"), "negative weights are exempt: {out}");
}

#[test]
fn a_pattern_that_matches_empty_text_fails() {
    let dir = tempfile::tempdir().unwrap();
    copy_kb(dir.path());
    let line = edit(
        dir.path(),
        "chmod-ignored.toml",
        "patterns = [\n",
        "patterns = [\n  { regex = '(?i)(umask)?', weight = 0.3 },\n",
        "(umask)?",
    );
    let (code, out) = kb_check(dir.path());
    assert_eq!(code, Some(1), "{out}");
    assert_reported(&out, "chmod-ignored.toml", line, "matches empty text");
}

#[test]
fn a_regex_too_big_to_compile_fails_as_the_runtime_would() {
    let dir = tempfile::tempdir().unwrap();
    copy_kb(dir.path());
    let line = edit(
        dir.path(),
        "chmod-ignored.toml",
        "patterns = [\n",
        "patterns = [\n  { regex = '(?i)umask[a-z0-9]{60000}', weight = 0.3 },\n",
        "umask[a-z0-9]",
    );
    let (code, out) = kb_check(dir.path());
    assert_eq!(code, Some(1), "{out}");
    assert_reported(&out, "chmod-ignored.toml", line, "does not compile");
}

#[test]
fn steps_with_unknown_commands_missing_cautions_or_no_navigator_path_fail() {
    let dir = tempfile::tempdir().unwrap();
    copy_kb(dir.path());
    let typo = edit(
        dir.path(),
        "browse-slow.toml",
        "steps = [\n",
        "steps = [\n  { text = \"List it.\", command = \"WRKLNKK OBJ('/QNTC')\" },\n",
        "WRKLNKK",
    );
    let uncautioned = edit(
        dir.path(),
        "server-not-listed.toml",
        "steps = [\n",
        "steps = [\n  { text = \"Restart the file servers.\", command = \"ENDSBS SBS(QSERVER) OPTION(*IMMED)\" },\n",
        "ENDSBS",
    );
    let go_nets = edit(
        dir.path(),
        "chmod-ignored.toml",
        "steps = [\n",
        "steps = [\n  { text = \"Look at option 9.\", command = \"GO NETS\" },\n",
        "Look at option 9",
    );
    let (code, out) = kb_check(dir.path());
    assert_eq!(code, Some(1), "{out}");
    assert_reported(&out, "browse-slow.toml", typo, "WRKLNKK is not a CL command");
    assert_reported(&out, "server-not-listed.toml", uncautioned, "caution");
    assert_reported(&out, "chmod-ignored.toml", go_nets, "Navigator");
}

#[test]
fn a_caution_satisfies_the_disruptive_command_rule() {
    let dir = tempfile::tempdir().unwrap();
    copy_kb(dir.path());
    edit(
        dir.path(),
        "server-not-listed.toml",
        "steps = [\n",
        "steps = [\n  { text = \"Restart the file servers.\", command = \"ENDSBS SBS(QSERVER)\", caution = \"Drops every file-server session.\" },\n",
        "ENDSBS",
    );
    let (code, out) = kb_check(dir.path());
    assert_eq!(code, Some(0), "{out}");
}

#[test]
fn the_reply_shows_a_caution_under_its_command() {
    let home = tempfile::tempdir().unwrap();
    let out = qntcbot(&common::repo_path("."), home.path())
        .args(["lookup", "netserver-domain-mismatch"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let at = lines
        .iter()
        .position(|l| *l == "ENDTCPSVR SERVER(*NETSVR)")
        .unwrap_or_else(|| panic!("no ENDTCPSVR step in:\n{text}"));
    assert!(
        lines[at + 1].starts_with("CAUTION:") && lines[at + 1].contains("mapped"),
        "{text}"
    );
}

#[test]
fn a_next_entry_that_does_not_exist_fails() {
    let dir = tempfile::tempdir().unwrap();
    copy_kb(dir.path());
    let line = edit(
        dir.path(),
        "netserver-domain-mismatch.toml",
        "next = [\"password-case-qpwdlvl\"",
        "next = [\"no-such-entry\"",
        "no-such-entry",
    );
    let (code, out) = kb_check(dir.path());
    assert_eq!(code, Some(1), "{out}");
    assert_reported(&out, "netserver-domain-mismatch.toml", line, "\"no-such-entry\"");
}

/// IBM's CPDB053 technote checks the NetServer domain first and the password case second: the
/// answer to an admin's one-line report follows that order.
#[test]
fn cpdb053_after_an_upgrade_names_the_domain_then_the_password_case() {
    let home = tempfile::tempdir().unwrap();
    let out = qntcbot(Path::new("/"), home.path())
        .args(["analyze", "CPDB053 error code 3401 after an upgrade"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.find("[netserver-domain-mismatch]").expect("the domain finding");
    let next = text.find("check next:").expect("what to check next");
    let password = text[next..]
        .find("[password-case-qpwdlvl]")
        .expect("password case next");
    let others = text[next..].find("[credentials-mismatch]").expect("then credentials");
    assert!(first < next && password < others, "{text}");
}
