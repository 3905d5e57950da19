//! Golden fixtures: each `tests/fixtures/joblog/<name>.txt` is parsed and compared with
//! `<name>.expected.json`. Only the fields an expected object names are compared, so a fixture
//! states what matters about it (ids, types, severities, codes, paths, line ranges) and
//! incidental fields may change.

use serde_json::Value;
use std::path::{Path, PathBuf};

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/joblog");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    v.sort();
    v
}

fn actual(path: &Path) -> Value {
    let raw = std::fs::read(path).unwrap();
    let text = qntcbot::input::normalize(&raw).unwrap().text;
    serde_json::to_value(qntcbot::joblog::parse(&text)).unwrap()
}

/// Compares the keys that `expected` names; arrays of objects element by element.
fn compare(expected: &Value, actual: &Value, at: &str, problems: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                match a.get(k) {
                    Some(av) => compare(ev, av, &format!("{at}.{k}"), problems),
                    None => problems.push(format!("{at}.{k}: missing")),
                }
            }
        }
        (Value::Array(e), Value::Array(a)) if e.iter().any(Value::is_object) => {
            if e.len() != a.len() {
                problems.push(format!(
                    "{at}: expected {} entries, got {}: {}",
                    e.len(),
                    a.len(),
                    actual
                ));
                return;
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                compare(ev, av, &format!("{at}[{i}]"), problems);
            }
        }
        _ if expected != actual => problems.push(format!("{at}: expected {expected}, got {actual}")),
        _ => {}
    }
}

#[test]
fn every_fixture_parses_as_expected() {
    let mut failures = Vec::new();
    let all = fixtures();
    assert!(all.len() >= 16, "fixtures missing: {}", all.len());
    for path in all {
        let got = actual(&path);
        if std::env::var_os("JOBLOG_GOLDEN_PRINT").is_some() {
            println!("== {}\n{}", path.display(), serde_json::to_string_pretty(&got).unwrap());
        }
        let exp_path = path.with_extension("expected.json");
        let Ok(exp) = std::fs::read_to_string(&exp_path) else {
            failures.push(format!("{}: no expected file", path.display()));
            continue;
        };
        let exp: Value = serde_json::from_str(&exp).unwrap();
        let mut problems = Vec::new();
        compare(&exp, &got, "", &mut problems);
        for p in problems {
            failures.push(format!("{}: {p}", path.file_name().unwrap().to_string_lossy()));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn line_ranges_point_at_the_message_lines() {
    for path in fixtures() {
        let raw = std::fs::read(&path).unwrap();
        let text = qntcbot::input::normalize(&raw).unwrap().text;
        let lines: Vec<&str> = text.lines().collect();
        let parsed = qntcbot::joblog::parse(&text);
        for m in &parsed.messages {
            let (a, b) = m.lines;
            assert!(
                a >= 1 && a <= b && b <= lines.len(),
                "{}: {:?}",
                path.display(),
                m.lines
            );
            if let Some(id) =
                m.id.as_deref()
                    .filter(|_| m.id_source == Some(qntcbot::joblog::IdSource::Literal))
            {
                let span = lines[a - 1..b].join("\n");
                assert!(span.contains(id), "{}: {id} not within lines {a}-{b}", path.display());
            }
        }
    }
}
