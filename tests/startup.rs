//! One binary that runs anywhere and starts fast: the reviewed KB is built in, `--kb DIR`
//! overrides it, the compiled KB snapshot follows every edit of the KB and survives processes
//! starting together, and a plain `analyze` never touches the database.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_qntcbot");
const MESSAGE: &str = "CPDB053 error code 3401 after upgrading to 7.4\n";

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Runs the binary in `cwd` with a private HOME, cache and database, `stdin` as input.
fn run(cwd: &Path, home: &Path, args: &[&str], stdin: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(cwd)
        .env_clear()
        .env("HOME", home)
        .env("QNTCBOT_CACHE_DIR", home.join("cache"))
        .env("QNTCBOT_DB", home.join("qntcbot.db"))
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn snapshots(home: &Path) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(home.join("cache")) else {
        return Vec::new();
    };
    let mut v: Vec<String> = rd
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn best_id(o: &Output) -> String {
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)));
    v["matches"][0]["id"].as_str().unwrap_or_default().to_string()
}

#[test]
fn analyze_works_from_any_directory_without_touching_the_database() {
    let home = tempfile::tempdir().unwrap();
    let o = run(Path::new("/"), home.path(), &["analyze", "-"], MESSAGE);
    assert!(o.status.success(), "{o:?}");
    let text = stdout(&o);
    assert!(text.contains("NetServer"), "{text}");
    let json = run(Path::new("/"), home.path(), &["analyze", "--json", "-"], MESSAGE);
    assert_eq!(best_id(&json), "netserver-domain-mismatch");
    assert!(
        !home.path().join("qntcbot.db").exists(),
        "analyze without --record created the database"
    );
    // Recording needs it, and creates it.
    let rec = run(Path::new("/"), home.path(), &["analyze", "--record", "-"], MESSAGE);
    assert!(rec.status.success(), "{rec:?}");
    assert!(home.path().join("qntcbot.db").exists());
}

#[test]
fn version_names_the_built_in_kb() {
    let home = tempfile::tempdir().unwrap();
    let o = run(Path::new("/"), home.path(), &["--version"], "");
    let v = stdout(&o);
    let entries = std::fs::read_dir(repo("kb"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "toml"))
        .count();
    assert!(v.contains(&format!("{entries} entries")), "{v}");
    let hash = qntcbot::kb::source::embedded_hash();
    assert!(v.contains(&hash[..12]), "{v}");
}

/// A copy of the shipped KB that a test may edit.
fn kb_copy(into: &Path) -> PathBuf {
    let dir = into.join("kb");
    std::fs::create_dir_all(&dir).unwrap();
    copy_dir(&repo("kb"), &dir);
    dir
}

/// Copies `from` into `to`, sub-directories too (the KB has `model/` and `lint/`).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let target = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &target);
        } else {
            std::fs::copy(&p, target).unwrap();
        }
    }
}

#[test]
fn the_snapshot_follows_every_edit_of_the_kb() {
    let home = tempfile::tempdir().unwrap();
    let kb = kb_copy(home.path());
    let kb_arg = kb.to_string_lossy().into_owned();
    let args = ["--kb", kb_arg.as_str(), "analyze", "--json", "-"];
    let first = run(home.path(), home.path(), &args, MESSAGE);
    assert_eq!(best_id(&first), "netserver-domain-mismatch");
    assert_eq!(snapshots(home.path()).len(), 1, "a snapshot is written");
    let again = run(home.path(), home.path(), &args, MESSAGE);
    assert_eq!(stdout(&again), stdout(&first), "the snapshot gives the same diagnosis");
    assert_eq!(snapshots(home.path()).len(), 1, "and is reused");

    // Edit an entry: the next run sees the edit at once.
    let file = kb.join("netserver-domain-mismatch.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    let edited = text.replacen("title = \"", "title = \"EDITED ", 1);
    assert_ne!(text, edited);
    std::fs::write(&file, edited).unwrap();
    let after = run(home.path(), home.path(), &args, MESSAGE);
    let v: serde_json::Value = serde_json::from_slice(&after.stdout).unwrap();
    assert!(v["matches"][0]["title"].as_str().unwrap().starts_with("EDITED "), "{v}");
    assert_eq!(snapshots(home.path()).len(), 2);

    // Break it: the error names the problem, and no snapshot hides it.
    std::fs::write(&file, "id = ").unwrap();
    let broken = run(home.path(), home.path(), &args, MESSAGE);
    assert_eq!(broken.status.code(), Some(3), "{broken:?}");
    assert!(String::from_utf8_lossy(&broken.stderr).contains("netserver-domain-mismatch.toml"));
    assert_eq!(snapshots(home.path()).len(), 2);

    // A corrupt snapshot is rebuilt, not trusted.
    std::fs::write(&file, &text).unwrap();
    for s in snapshots(home.path()) {
        std::fs::write(home.path().join("cache").join(s), b"{ not json").unwrap();
    }
    let repaired = run(home.path(), home.path(), &args, MESSAGE);
    assert_eq!(stdout(&repaired), stdout(&first));

    // So is a truncated one (a process killed while copying the cache, a full disk).
    for s in snapshots(home.path()) {
        let path = home.path().join("cache").join(s);
        let whole = std::fs::read(&path).unwrap();
        std::fs::write(&path, &whole[..whole.len() * 2 / 3]).unwrap();
    }
    let repaired = run(home.path(), home.path(), &args, MESSAGE);
    assert_eq!(stdout(&repaired), stdout(&first));
}

#[test]
fn processes_starting_together_share_one_snapshot() {
    let home = tempfile::tempdir().unwrap();
    let kb = kb_copy(home.path());
    let kb_arg = kb.to_string_lossy().into_owned();
    let outputs: Vec<Output> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (home, kb_arg) = (home.path(), kb_arg.as_str());
                s.spawn(move || run(home, home, &["--kb", kb_arg, "analyze", "--json", "-"], MESSAGE))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for o in &outputs {
        assert!(o.status.success(), "{o:?}");
        assert_eq!(stdout(o), stdout(&outputs[0]));
    }
    assert_eq!(best_id(&outputs[0]), "netserver-domain-mismatch");
    // One snapshot, no temporary files left behind.
    assert_eq!(snapshots(home.path()).len(), 1, "{:?}", snapshots(home.path()));
}
