//! The golden set: every case in tests/golden/cases.toml diagnosed against the real KB and a
//! real SQLite file, with accuracy figures printed and the bar asserted.

mod common;

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Deserialize)]
struct GoldenFile {
    case: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default = "en")]
    lang: String,
    text: String,
    expect: Option<String>,
    reply: Option<bool>,
}

fn en() -> String {
    "en".into()
}

#[derive(Default)]
struct Tally {
    total: usize,
    passed: usize,
}

impl Tally {
    fn add(&mut self, ok: bool) {
        self.total += 1;
        self.passed += usize::from(ok);
    }
    fn pct(&self) -> f64 {
        if self.total == 0 {
            100.0
        } else {
            100.0 * self.passed as f64 / self.total as f64
        }
    }
}

#[tokio::test]
async fn golden_set_accuracy() {
    let text = std::fs::read_to_string(common::repo_path("tests/golden/cases.toml")).expect("golden file");
    let file: GoldenFile = toml::from_str(&text).expect("golden file parses");
    let t = common::engine().await;
    let mut names = std::collections::HashSet::new();

    let mut top1 = Tally::default();
    let mut reply_agree = Tally::default();
    let mut negatives = Tally::default();
    let mut by_kind: BTreeMap<String, Tally> = BTreeMap::new();
    let mut by_lang: BTreeMap<String, Tally> = BTreeMap::new();
    let mut by_topic: BTreeMap<String, Tally> = BTreeMap::new();
    let mut failures = Vec::new();

    for c in &file.case {
        assert!(names.insert(c.name.clone()), "duplicate case name {}", c.name);
        let d = t.engine.diagnose(&c.text);
        let best = d.best();
        let want_reply = c.reply.unwrap_or(c.expect.is_some());
        let ok = match &c.expect {
            Some(topic) => {
                assert!(
                    qntcbot::kb::topics::is_known(topic),
                    "case {} expects unknown topic {topic}",
                    c.name
                );
                let hit = best.is_some_and(|m| m.topics.iter().any(|x| x == topic));
                top1.add(hit);
                by_topic.entry(topic.clone()).or_default().add(hit);
                hit && d.reply == want_reply
            }
            None => {
                negatives.add(!d.reply);
                !d.reply
            }
        };
        reply_agree.add(d.reply == want_reply);
        by_kind.entry(c.kind.clone()).or_default().add(ok);
        by_lang.entry(c.lang.clone()).or_default().add(ok);
        if !ok {
            failures.push(format!(
                "  {:<48} expect {:<32} got {:<40} reply {} (want {})",
                c.name,
                c.expect.as_deref().unwrap_or("-"),
                best.map(|m| format!("{} {:.2}", m.topics.join("+"), m.confidence))
                    .unwrap_or_else(|| "-".into()),
                d.reply,
                want_reply
            ));
        }
    }

    println!("golden set: {} cases", file.case.len());
    println!(
        "  top-1 accuracy:          {:5.1}% ({}/{})",
        top1.pct(),
        top1.passed,
        top1.total
    );
    println!(
        "  reply decision agrees:   {:5.1}% ({}/{})",
        reply_agree.pct(),
        reply_agree.passed,
        reply_agree.total
    );
    println!(
        "  negatives kept quiet:    {:5.1}% ({}/{})",
        negatives.pct(),
        negatives.passed,
        negatives.total
    );
    for (label, map) in [("kind", &by_kind), ("lang", &by_lang)] {
        let parts: Vec<String> = map
            .iter()
            .map(|(k, v)| format!("{k} {:.0}% ({}/{})", v.pct(), v.passed, v.total))
            .collect();
        println!("  by {label}: {}", parts.join(", "));
    }
    let weak: Vec<String> = by_topic
        .iter()
        .filter(|(_, v)| v.passed < v.total)
        .map(|(k, v)| format!("{k} {}/{}", v.passed, v.total))
        .collect();
    if !weak.is_empty() {
        println!("  topics with misses: {}", weak.join(", "));
    }
    if !failures.is_empty() {
        println!("failures:\n{}", failures.join("\n"));
    }

    assert!(top1.pct() >= 95.0, "top-1 accuracy {:.1}% is below 95%", top1.pct());
    assert_eq!(negatives.passed, negatives.total, "a negative case was answered");
    assert!(
        reply_agree.pct() >= 95.0,
        "reply decisions agree on only {:.1}%",
        reply_agree.pct()
    );
    let topics: std::collections::HashSet<&str> = file.case.iter().filter_map(|c| c.expect.as_deref()).collect();
    for topic in qntcbot::kb::topics::TOPICS {
        assert!(topics.contains(topic), "no golden case for topic {topic}");
    }
}
