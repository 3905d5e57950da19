//! The knowledge base as files -> validation -> SQLite, against real files and a real database.

mod common;

use std::path::Path;

use qntcbot::Engine;
use qntcbot::kb::{Severity, load_dir};
use sqlx::Row;

fn entry(id: &str, msgid: &str, extra: &str) -> String {
    format!(
        r#"id = "{id}"
title = "Test entry {id}"
topics = ["object-not-found"]
certainty = "high"
{extra}
[match]
message_ids = ["{msgid}"]
phrases = ["widget {id}"]

[answer]
cause = "Because {id}."
steps = [{{ text = "Run it", command = "WRKLNK OBJ('/QNTC')" }}]

[[references]]
title = "Source"
url = "https://www.ibm.com/support/pages/example"
"#
    )
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).expect("write test file");
}

#[test]
fn each_broken_file_is_reported_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "good.toml", &entry("good", "CPFA0A9", ""));
    write(
        dir.path(),
        "syntax.toml",
        "id = \"syntax\"\ntitle = \"x\"\ntopics = [\"object-not-found\"\n",
    );
    let bad_regex = entry("bad-regex", "CPFA0A9", "")
        .replace("phrases = [\"widget bad-regex\"]", "patterns = [{ regex = '(oops' }]");
    write(dir.path(), "bad-regex.toml", &bad_regex);
    write(
        dir.path(),
        "bad-topic.toml",
        &entry("bad-topic", "CPFA0A9", "").replace("object-not-found", "no-such-topic"),
    );
    write(dir.path(), "bad-msgid.toml", &entry("bad-msgid", "CPFA0A", ""));
    write(dir.path(), "dupe.toml", &entry("good", "CPFA0A9", ""));
    write(
        dir.path(),
        "missing.toml",
        "id = \"missing\"\ntitle = \"x\"\ntopics = [\"object-not-found\"]\ncertainty = \"high\"\n",
    );
    write(
        dir.path(),
        "bad-when.toml",
        &entry("bad-when", "CPFA0A9", "").replace(
            "[answer]",
            "[[match.conditions]]\nwhen = \"moon = full\"\neffect = 0.1\n\n[answer]",
        ),
    );

    let report = load_dir(dir.path());
    let errors: Vec<String> = report
        .errors()
        .map(|p| {
            format!(
                "{}:{}: {}",
                p.file.file_name().unwrap().to_string_lossy(),
                p.line,
                p.message
            )
        })
        .collect();
    let has = |file: &str, line: usize, text: &str| {
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with(&format!("{file}:{line}:")) && e.contains(text)),
            "expected {file}:{line} with {text:?} in {errors:#?}"
        )
    };
    has("syntax.toml", 3, "");
    has("bad-regex.toml", 8, "invalid regex");
    has("bad-topic.toml", 3, "unknown topic \"no-such-topic\"");
    has("bad-msgid.toml", 7, "not a message id");
    // Ids equal file names, which is what keeps them unique: a copied file is caught here.
    has("dupe.toml", 1, "id \"good\" must equal the file name (dupe.toml)");
    has("missing.toml", 1, "missing field");
    has("bad-when.toml", 11, "unknown condition subject");
    assert_eq!(
        report.entries.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        ["good"]
    );
}

#[test]
fn cross_checks_warn_about_shared_patterns_and_uncovered_topics() {
    let dir = tempfile::tempdir().unwrap();
    let with_pattern = |id: &str| {
        entry(id, "CPFA0A9", "").replace(
            &format!("phrases = [\"widget {id}\"]"),
            "patterns = [{ regex = '(?i)same thing', weight = 0.3 }]",
        )
    };
    write(dir.path(), "a.toml", &with_pattern("a"));
    write(dir.path(), "b.toml", &with_pattern("b"));
    let report = load_dir(dir.path());
    assert!(!report.has_errors());
    let warnings: Vec<&str> = report
        .problems
        .iter()
        .filter(|p| p.severity == Severity::Warning)
        .map(|p| p.message.as_str())
        .collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("claim the same text with equal weight")),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("topic \"netserver-direction\" has no entry"))
    );
}

async fn count(engine: &Engine, sql: &'static str) -> i64 {
    sqlx::query(sql)
        .fetch_one(&engine.db().pool)
        .await
        .unwrap()
        .get::<i64, _>(0)
}

#[tokio::test]
async fn loading_is_idempotent_and_follows_edits_and_deletions() {
    let kb = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let db = data.path().join("q.db");
    write(kb.path(), "one.toml", &entry("one", "CPFA0A9", ""));
    write(kb.path(), "two.toml", &entry("two", "CPFA09C", ""));

    let engine = Engine::open(&db, kb.path()).await.unwrap();
    assert_eq!(count(&engine, "SELECT count(*) FROM kb_entry").await, 2);
    assert_eq!(count(&engine, "SELECT count(*) FROM kb_fts").await, 2);
    let again = engine.reload_kb().await.unwrap();
    assert_eq!(
        (
            again.sync.added,
            again.sync.updated,
            again.sync.removed,
            again.sync.unchanged
        ),
        (0, 0, 0, 2)
    );

    write(kb.path(), "one.toml", &entry("one", "CPFA0AD", ""));
    std::fs::remove_file(kb.path().join("two.toml")).unwrap();
    write(kb.path(), "three.toml", &entry("three", "CPFA09C", ""));
    let s = engine.reload_kb().await.unwrap();
    assert_eq!((s.sync.added, s.sync.updated, s.sync.removed), (1, 1, 1));
    assert_eq!(count(&engine, "SELECT count(*) FROM kb_entry").await, 2);
    assert_eq!(
        count(
            &engine,
            "SELECT count(*) FROM kb_key WHERE kind = 'message_id' AND value = 'cpfa0ad'"
        )
        .await,
        1
    );
    assert_eq!(
        count(&engine, "SELECT count(*) FROM kb_key WHERE entry_id = 'two'").await,
        0
    );
    assert_eq!(
        count(&engine, "SELECT count(*) FROM kb_fts WHERE entry_id = 'two'").await,
        0
    );
    let found = engine.db().search_kb("widget three", 5).await.unwrap();
    assert_eq!(found.first().map(|(id, _)| id.as_str()), Some("three"));
    engine.db().close().await;

    // A new process over the same file sees the same KB and writes nothing.
    let engine = Engine::open(&db, kb.path()).await.unwrap();
    let s = engine.reload_kb().await.unwrap();
    assert_eq!(s.sync.unchanged, 2);
}

#[tokio::test]
async fn a_broken_reload_keeps_the_running_kb() {
    let kb = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    write(kb.path(), "one.toml", &entry("one", "CPFA0A9", ""));
    let engine = Engine::open(&data.path().join("q.db"), kb.path()).await.unwrap();
    write(
        kb.path(),
        "one.toml",
        &entry("one", "CPFA0A9", "")
            .replace("widget one", "(")
            .replace("phrases", "patterns = [{ regex = '(' }]\n#"),
    );
    let err = engine.reload_kb().await.unwrap_err().to_string();
    assert!(err.contains("one.toml:"), "{err}");
    assert_eq!(engine.kb().len(), 1);
    assert!(
        engine
            .diagnose("CPFA0A9 on /QNTC/SRV/share")
            .matches
            .iter()
            .any(|m| m.id == "one")
    );
    assert_eq!(count(&engine, "SELECT count(*) FROM kb_entry").await, 1);
}

#[tokio::test]
async fn a_broken_kb_at_start_is_an_error_not_a_panic() {
    let kb = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    write(kb.path(), "x.toml", "this is not toml = = =");
    let err = Engine::open(&data.path().join("q.db"), kb.path())
        .await
        .err()
        .expect("must fail")
        .to_string();
    assert!(err.contains("x.toml:1:"), "{err}");
    let err = Engine::open(&data.path().join("q.db"), &data.path().join("nowhere"))
        .await
        .err()
        .expect("must fail")
        .to_string();
    assert!(err.contains("cannot read the knowledge-base directory"), "{err}");
}
