//! The case log against a real SQLite file, with diagnoses made by the real engine over a small
//! test knowledge base.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use qntcbot::Engine;
use qntcbot::cases::{CaseError, CaseFilter, CaseSettings, NewCase, Status};
use qntcbot::db::Db;

fn entry(id: &str, topic: &str, msgid: &str) -> String {
    format!(
        r#"id = "{id}"
title = "Test entry {id}"
topics = ["{topic}"]
certainty = "high"

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

pub struct Fixture {
    pub engine: Engine,
    pub dir: tempfile::TempDir,
}

impl Fixture {
    pub fn db(&self) -> &Db {
        self.engine.db()
    }
}

/// Three entries with distinct message ids and topics, and a database in a temp directory.
pub async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let kb = dir.path().join("kb");
    std::fs::create_dir(&kb).unwrap();
    for (id, topic, msgid) in [
        ("logon", "netserver-domain-mismatch", "CPDB053"),
        ("auth", "credentials-mismatch", "CPFA09C"),
        ("smb", "smb-version-mismatch", "CPFA0A9"),
    ] {
        std::fs::write(kb.join(format!("{id}.toml")), entry(id, topic, msgid)).unwrap();
    }
    let engine = Engine::open(&dir.path().join("cases.db"), &kb).await.unwrap();
    Fixture { engine, dir }
}

fn new_case<'a>(
    d: &'a qntcbot::Diagnosis,
    text: &'a str,
    user: &'a str,
    channel: &'a str,
    replied: bool,
) -> NewCase<'a> {
    NewCase {
        platform: "discord",
        workspace: Some("guild-1"),
        channel: Some(channel),
        thread: None,
        message_link: Some("https://discord.example/channels/1/2/3"),
        user_id: Some(user),
        user_name: Some(user),
        text,
        diagnosis: d,
        replied,
    }
}

const LOGON: &str = "CPDB053 on /QNTC/nas1/share after the upgrade, widget logon";
const AUTH: &str = "Object not authorized: CPFA09C when copying to /QNTC/srv/share";
const PROSE: &str = "QNTC is slow today, any ideas?";

async fn count(db: &Db, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&db.pool).await.unwrap()
}

/// A batch (group commit) is one transaction written in order: a repeat folds into a case
/// opened earlier in the same batch, and every match row of every case is stored.
#[tokio::test]
async fn a_batch_of_cases_is_written_in_order_with_folding_inside_the_batch() {
    use qntcbot::cases::record::PreparedCase;
    let f = fixture().await;
    let s = CaseSettings::default();
    let d = f.engine.diagnose(LOGON);
    let d2 = f.engine.diagnose(AUTH);
    let key = d.evidence.key();
    let key2 = d2.evidence.key();
    let batch = [
        PreparedCase::new(&new_case(&d, LOGON, "u1", "help", false), &key, &s),
        PreparedCase::new(&new_case(&d2, AUTH, "u2", "help", false), &key2, &s),
        // u1 again with the same evidence: folds into the first case of this batch.
        PreparedCase::new(&new_case(&d, LOGON, "u1", "help", true), &key, &s),
    ];
    let r = f.db().record_prepared(&batch).await.unwrap();
    assert_eq!(r.len(), 3);
    assert!(!r[0].folded && !r[1].folded);
    assert!(r[2].folded);
    assert_eq!(r[2].id, r[0].id);
    assert_ne!(r[0].id, r[1].id);
    let first = f.db().get_case(r[0].id).await.unwrap().unwrap();
    assert_eq!(first.status, Status::Answered, "the repeat was answered");
    assert_eq!(
        first.events.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
        ["opened", "repeat"]
    );
    for (rec, diag) in [(&r[0], &d), (&r[1], &d2)] {
        let case = f.db().get_case(rec.id).await.unwrap().unwrap();
        assert_eq!(case.matches.len(), diag.matches.len());
        for (stored, m) in case.matches.iter().zip(&diag.matches) {
            assert_eq!(stored.entry_id, m.id);
            assert_eq!(stored.title, m.title);
            assert_eq!(stored.topics, m.topics);
            assert_eq!(stored.evidence, m.evidence);
            assert!((stored.confidence - m.confidence).abs() < 1e-9);
        }
    }
    assert_eq!(count(f.db(), "SELECT count(*) FROM cases").await, 2);
    assert!(f.db().record_prepared(&[]).await.unwrap().is_empty());
}

/// The batch travels to SQLite as JSON: every character of a case, control characters and
/// all, comes back as it went in; ids keep counting past a purged newest case; a case with no
/// user never folds.
#[tokio::test]
async fn batch_text_round_trips_and_ids_are_never_reused() {
    use qntcbot::cases::record::PreparedCase;
    let f = fixture().await;
    let s = CaseSettings::default();
    let odd = "CPDB053 \0 NUL:\u{0} tab:\t quote:\" back:\\ 'single' emoji:🙂 ｷｬﾗ \u{7f}\u{1b}[31m\r\n end";
    let d = f.engine.diagnose(odd);
    let key = d.evidence.key();
    let mut anonymous = new_case(&d, odd, "u1", "help", false);
    anonymous.user_id = None;
    let batch = [
        PreparedCase::new(&anonymous, &key, &s),
        PreparedCase::new(&anonymous, &key, &s),
    ];
    let r = f.db().record_prepared(&batch).await.unwrap();
    assert!(!r[0].folded && !r[1].folded, "no user, no folding: {r:?}");
    assert_eq!(r[1].id, r[0].id + 1);
    let stored = f.db().get_case(r[0].id).await.unwrap().unwrap();
    assert_eq!(stored.text, odd);
    assert_eq!(stored.matches.len(), d.matches.len());

    // The newest case is deleted; the next one still gets a fresh id.
    sqlx::query("DELETE FROM cases WHERE id = ?")
        .bind(r[1].id)
        .execute(&f.db().pool)
        .await
        .unwrap();
    let again = f.db().record_prepared(&batch[..1]).await.unwrap();
    assert_eq!(
        again[0].id,
        r[1].id + 1,
        "an id once handed out is never handed out again"
    );
}

#[tokio::test]
async fn record_stores_case_matches_and_opening_event() {
    let f = fixture().await;
    let d = f.engine.diagnose(LOGON);
    assert_eq!(
        d.best().map(|m| m.id.as_str()),
        Some("logon"),
        "test KB should match: {d:?}"
    );
    let key = d.evidence.key();
    assert!(key.contains("CPDB053"), "{key}");

    let r = f
        .db()
        .record_case(new_case(&d, LOGON, "u1", "help", true), &CaseSettings::default())
        .await
        .unwrap();
    assert!(!r.folded);
    let case = f.db().get_case(r.id).await.unwrap().unwrap();
    assert_eq!(case.status, Status::Answered);
    assert_eq!(case.platform, "discord");
    assert_eq!(case.channel.as_deref(), Some("help"));
    assert_eq!(case.text, LOGON);
    assert_eq!(case.evidence_key, key);
    assert_eq!(case.matches.len(), d.matches.len());
    assert_eq!(case.matches[0].entry_id, "logon");
    assert_eq!(case.matches[0].topics, vec!["netserver-domain-mismatch".to_string()]);
    assert_eq!(case.matches[0].evidence, d.matches[0].evidence);
    assert!((case.matches[0].confidence - d.matches[0].confidence).abs() < 1e-9);
    assert_eq!(case.events.len(), 1);
    assert_eq!(case.events[0].kind, "opened");

    let quiet = f.engine.diagnose(PROSE);
    let r2 = f
        .db()
        .record_case(new_case(&quiet, PROSE, "u1", "help", false), &CaseSettings::default())
        .await
        .unwrap();
    assert_eq!(f.db().get_case(r2.id).await.unwrap().unwrap().status, Status::Open);
    assert!(f.db().get_case(9999).await.unwrap().is_none());
}

#[tokio::test]
async fn text_is_redacted_and_bounded_before_storing() {
    let f = fixture().await;
    let text = format!(
        "CPDB053 widget logon\nCHGUSRPRF X PASSWORD(hunter2) from 10.1.2.3\n{}",
        "y".repeat(200_000)
    );
    let d = f.engine.diagnose(&text);
    let settings = CaseSettings {
        redact: qntcbot::redact::RedactSettings {
            ip_addresses: true,
            user_profiles: false,
        },
        ..Default::default()
    };
    let r = f
        .db()
        .record_case(new_case(&d, &text, "u1", "help", true), &settings)
        .await
        .unwrap();
    let case = f.db().get_case(r.id).await.unwrap().unwrap();
    assert!(!case.text.contains("hunter2"));
    assert!(!case.text.contains("10.1.2.3"));
    assert!(case.text.len() <= qntcbot::cases::MAX_CASE_TEXT_BYTES);
    assert!(case.text_truncated);
    assert_eq!(case.text_bytes, text.len() as u64);
    // The raw secret is not anywhere in the file's tables either (FTS index included).
    let hits: i64 = sqlx::query_scalar("SELECT count(*) FROM case_fts WHERE case_fts MATCH 'hunter2'")
        .fetch_one(&f.db().pool)
        .await
        .unwrap();
    assert_eq!(hits, 0);
}

#[tokio::test]
async fn repeats_fold_within_the_window_only_for_same_user_and_key() {
    let f = fixture().await;
    let s = CaseSettings::default();
    let d = f.engine.diagnose(LOGON);
    let first = f
        .db()
        .record_case(new_case(&d, LOGON, "u1", "help", false), &s)
        .await
        .unwrap();
    let again = f
        .db()
        .record_case(new_case(&d, LOGON, "u1", "help", true), &s)
        .await
        .unwrap();
    assert!(again.folded);
    assert_eq!(again.id, first.id);
    let case = f.db().get_case(first.id).await.unwrap().unwrap();
    assert_eq!(case.repeats, 1);
    // The repeat was answered, so the case is no longer waiting.
    assert_eq!(case.status, Status::Answered);
    assert_eq!(
        case.events.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
        ["opened", "repeat"]
    );

    // Another user, another key, or prose-only: new cases.
    assert!(
        !f.db()
            .record_case(new_case(&d, LOGON, "u2", "help", false), &s)
            .await
            .unwrap()
            .folded
    );
    let d2 = f.engine.diagnose(AUTH);
    assert!(
        !f.db()
            .record_case(new_case(&d2, AUTH, "u1", "help", false), &s)
            .await
            .unwrap()
            .folded
    );
    let p = f.engine.diagnose(PROSE);
    assert!(p.evidence.key().is_empty());
    let a = f
        .db()
        .record_case(new_case(&p, PROSE, "u1", "help", false), &s)
        .await
        .unwrap();
    let b = f
        .db()
        .record_case(new_case(&p, PROSE, "u1", "help", false), &s)
        .await
        .unwrap();
    assert!(!a.folded && !b.folded && a.id != b.id);

    // A closed case is not reopened by a repeat.
    f.db()
        .set_case_status(first.id, Status::Resolved, "staff", Some("logon"), None)
        .await
        .unwrap();
    assert!(
        !f.db()
            .record_case(new_case(&d, LOGON, "u1", "help", false), &s)
            .await
            .unwrap()
            .folded
    );

    // Outside the window: new case.
    let tiny = CaseSettings {
        fold_window: Duration::from_millis(1),
        ..Default::default()
    };
    let x = f
        .db()
        .record_case(new_case(&d2, AUTH, "u3", "help", false), &tiny)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let y = f
        .db()
        .record_case(new_case(&d2, AUTH, "u3", "help", false), &tiny)
        .await
        .unwrap();
    assert!(!y.folded && y.id != x.id);
}

#[tokio::test]
async fn status_events_feedback_and_follow_ups() {
    let f = fixture().await;
    let s = CaseSettings::default();
    let d = f.engine.diagnose(LOGON);
    let id = f
        .db()
        .record_case(new_case(&d, LOGON, "u1", "help", true), &s)
        .await
        .unwrap()
        .id;

    f.db()
        .set_case_status(id, Status::Wrong, "staff", None, Some("not it, password=abc"))
        .await
        .unwrap();
    f.db()
        .set_case_status(id, Status::Resolved, "staff", Some("auth"), Some("fixed"))
        .await
        .unwrap();
    f.db()
        .case_feedback(id, false, Some("did not help"), "u1")
        .await
        .unwrap();
    f.db().case_feedback(id, true, None, "u2").await.unwrap();
    let case = f.db().get_case(id).await.unwrap().unwrap();
    assert_eq!(case.status, Status::Resolved);
    assert_eq!(case.fixed_by.as_deref(), Some("auth"));
    assert!(case.resolved_at.is_some());
    let kinds: Vec<_> = case.events.iter().map(|e| (e.kind.as_str(), e.status)).collect();
    assert_eq!(
        kinds,
        [
            ("opened", Status::Answered),
            ("status", Status::Wrong),
            ("status", Status::Resolved)
        ]
    );
    assert_eq!(case.events[1].note.as_deref(), Some("not it, password=[redacted]"));
    assert_eq!(case.feedback.len(), 2);
    assert!(!case.feedback[0].helpful && case.feedback[1].helpful);

    // Reopening clears the fix.
    f.db()
        .set_case_status(id, Status::Open, "staff", None, None)
        .await
        .unwrap();
    let case = f.db().get_case(id).await.unwrap().unwrap();
    assert_eq!(case.fixed_by, None);
    assert_eq!(case.resolved_at, None);

    assert!(matches!(
        f.db().set_case_status(777, Status::Resolved, "x", None, None).await,
        Err(CaseError::NotFound(777))
    ));
    assert!(matches!(
        f.db().case_feedback(777, true, None, "x").await,
        Err(CaseError::NotFound(777))
    ));

    let later = f
        .db()
        .record_case(new_case(&d, LOGON, "u9", "help", true), &s)
        .await
        .unwrap()
        .id;
    let latest = f
        .db()
        .record_case(new_case(&d, LOGON, "u8", "help", true), &s)
        .await
        .unwrap()
        .id;
    f.db().link_follow_up(later, id).await.unwrap();
    f.db().link_follow_up(latest, later).await.unwrap();
    assert_eq!(f.db().get_case(later).await.unwrap().unwrap().follow_up_of, Some(id));
    assert!(matches!(
        f.db().link_follow_up(id, latest).await,
        Err(CaseError::FollowUpLoop { .. })
    ));
    assert!(matches!(
        f.db().link_follow_up(id, id).await,
        Err(CaseError::SelfFollowUp(_))
    ));
    assert!(matches!(
        f.db().link_follow_up(id, 12345).await,
        Err(CaseError::NotFound(12345))
    ));
}

#[tokio::test]
async fn every_filter_narrows_the_list() {
    let f = fixture().await;
    let s = CaseSettings::default();
    let logon = f.engine.diagnose(LOGON);
    let auth = f.engine.diagnose(AUTH);
    let prose = f.engine.diagnose(PROSE);
    let a = f
        .db()
        .record_case(new_case(&logon, LOGON, "alice", "help", true), &s)
        .await
        .unwrap()
        .id;
    let b = f
        .db()
        .record_case(new_case(&auth, AUTH, "bob", "ibmi", false), &s)
        .await
        .unwrap()
        .id;
    let c = f
        .db()
        .record_case(new_case(&prose, PROSE, "carol", "help", false), &s)
        .await
        .unwrap()
        .id;
    f.db()
        .set_case_status(b, Status::Resolved, "staff", Some("auth"), None)
        .await
        .unwrap();

    let ids = |filter: CaseFilter| {
        let db = f.db().clone();
        async move {
            db.list_cases(&filter)
                .await
                .unwrap()
                .iter()
                .map(|c| c.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(ids(CaseFilter::default()).await, vec![c, b, a], "newest first");
    assert_eq!(
        ids(CaseFilter {
            topic: Some("credentials-mismatch".into()),
            ..Default::default()
        })
        .await,
        vec![b]
    );
    assert_eq!(
        ids(CaseFilter {
            topic: Some("NETSERVER-domain-mismatch".into()),
            ..Default::default()
        })
        .await,
        vec![a]
    );
    assert_eq!(
        ids(CaseFilter {
            entry: Some("logon".into()),
            ..Default::default()
        })
        .await,
        vec![a]
    );
    assert_eq!(
        ids(CaseFilter {
            message_id: Some("cpfa09c".into()),
            ..Default::default()
        })
        .await,
        vec![b]
    );
    assert_eq!(
        ids(CaseFilter {
            message_id: Some("CPFA0".into()),
            ..Default::default()
        })
        .await,
        Vec::<i64>::new()
    );
    assert_eq!(
        ids(CaseFilter {
            user: Some("ALICE".into()),
            ..Default::default()
        })
        .await,
        vec![a]
    );
    assert_eq!(
        ids(CaseFilter {
            channel: Some("help".into()),
            ..Default::default()
        })
        .await,
        vec![c, a]
    );
    assert_eq!(
        ids(CaseFilter {
            status: Some(Status::Resolved),
            ..Default::default()
        })
        .await,
        vec![b]
    );
    assert_eq!(
        ids(CaseFilter {
            status: Some(Status::Open),
            ..Default::default()
        })
        .await,
        vec![c]
    );
    assert_eq!(
        ids(CaseFilter {
            text: Some("slow QNTC".into()),
            ..Default::default()
        })
        .await,
        vec![c]
    );
    assert_eq!(
        ids(CaseFilter {
            text: Some("auth*".into()),
            ..Default::default()
        })
        .await,
        vec![b]
    );
    assert_eq!(
        ids(CaseFilter {
            limit: Some(2),
            ..Default::default()
        })
        .await,
        vec![c, b]
    );
    let now = Utc::now();
    assert_eq!(
        ids(CaseFilter {
            since: Some(now + chrono::Duration::hours(1)),
            ..Default::default()
        })
        .await,
        Vec::<i64>::new()
    );
    assert_eq!(
        ids(CaseFilter {
            until: Some(now - chrono::Duration::hours(1)),
            ..Default::default()
        })
        .await,
        Vec::<i64>::new()
    );
    assert_eq!(
        ids(CaseFilter {
            since: Some(now - chrono::Duration::hours(1)),
            until: Some(now + chrono::Duration::hours(1)),
            channel: Some("help".into()),
            status: Some(Status::Answered),
            ..Default::default()
        })
        .await,
        vec![a]
    );

    // Listed cases carry their matches.
    let listed = f
        .db()
        .list_cases(&CaseFilter {
            entry: Some("logon".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(listed[0].best().map(|m| m.entry_id.as_str()), Some("logon"));
}

#[tokio::test]
async fn hostile_search_input_is_data_not_syntax() {
    let f = fixture().await;
    let d = f.engine.diagnose(PROSE);
    let id = f
        .db()
        .record_case(
            new_case(&d, "he said \"NEAR\" AND OR; DROP TABLE cases; --", "u", "c", false),
            &CaseSettings::default(),
        )
        .await
        .unwrap()
        .id;
    for q in [
        "\"",
        "NEAR(",
        "a OR",
        "*",
        "cases; DROP TABLE cases; --",
        "col:x",
        "^a",
        "'",
        "(",
        ")",
        "\0",
    ] {
        let out = f
            .db()
            .list_cases(&CaseFilter {
                text: Some(q.into()),
                topic: Some(q.into()),
                user: Some(q.into()),
                message_id: Some(q.into()),
                ..Default::default()
            })
            .await;
        assert!(out.is_ok(), "{q:?}: {out:?}");
    }
    let found = f
        .db()
        .list_cases(&CaseFilter {
            text: Some("\"NEAR\" drop".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(found.iter().map(|c| c.id).collect::<Vec<_>>(), vec![id]);
    assert_eq!(count(f.db(), "SELECT count(*) FROM cases").await, 1);
}

#[tokio::test]
async fn stats_report_topics_weeks_top_entries_helpfulness_and_resolution() {
    let f = fixture().await;
    let s = CaseSettings::default();
    let logon = f.engine.diagnose(LOGON);
    let auth = f.engine.diagnose(AUTH);
    let prose = f.engine.diagnose(PROSE);
    let mut logon_ids = Vec::new();
    for user in ["a", "b", "c"] {
        logon_ids.push(
            f.db()
                .record_case(new_case(&logon, LOGON, user, "help", true), &s)
                .await
                .unwrap()
                .id,
        );
    }
    f.db()
        .record_case(new_case(&logon, LOGON, "a", "help", true), &s)
        .await
        .unwrap(); // folded repeat
    let auth_id = f
        .db()
        .record_case(new_case(&auth, AUTH, "d", "help", true), &s)
        .await
        .unwrap()
        .id;
    f.db()
        .record_case(new_case(&prose, PROSE, "e", "help", false), &s)
        .await
        .unwrap();
    f.db().case_feedback(logon_ids[0], true, None, "a").await.unwrap();
    f.db().case_feedback(logon_ids[1], true, None, "b").await.unwrap();
    f.db().case_feedback(logon_ids[2], false, None, "c").await.unwrap();
    f.db()
        .set_case_status(auth_id, Status::Resolved, "staff", Some("auth"), None)
        .await
        .unwrap();

    let st = f.db().case_stats(None).await.unwrap();
    assert_eq!(st.total, 5);
    assert_eq!(st.repeats, 1);
    assert_eq!(st.unanswered, 1);
    assert_eq!(st.unmatched, 1);
    assert_eq!(st.by_status.get("answered"), Some(&3));
    assert_eq!(st.by_status.get("resolved"), Some(&1));
    assert_eq!(st.top_entries[0].entry_id, "logon");
    assert_eq!(st.top_entries[0].cases, 3);
    assert_eq!(st.top_entries[0].reports, 4);
    assert_eq!(st.top_topics[0].topic, "netserver-domain-mismatch");
    let week = {
        let w = chrono::Datelike::iso_week(&Utc::now());
        format!("{}-W{:02}", w.year(), w.week())
    };
    assert!(
        st.per_topic_week
            .iter()
            .any(|t| t.topic == "netserver-domain-mismatch" && t.week == week && t.cases == 3),
        "{:?}",
        st.per_topic_week
    );
    let h = st.helpfulness.iter().find(|h| h.entry_id == "logon").unwrap();
    assert_eq!((h.helpful, h.unhelpful), (2, 1));
    assert!((h.rate - 2.0 / 3.0).abs() < 1e-9);
    assert!(st.median_resolution_secs.is_some_and(|s| (0.0..60.0).contains(&s)));

    let future = f
        .db()
        .case_stats(Some(Utc::now() + chrono::Duration::days(1)))
        .await
        .unwrap();
    assert_eq!(future.total, 0);
    assert!(future.top_entries.is_empty() && future.median_resolution_secs.is_none());
}

#[tokio::test]
async fn priors_count_fixes_feedback_and_wrong_answers_per_evidence_key() {
    let f = fixture().await;
    let s = CaseSettings::default();
    let logon = f.engine.diagnose(LOGON);
    let prose = f.engine.diagnose(PROSE);
    let key = logon.evidence.key();
    let ids: Vec<i64> = {
        let mut v = Vec::new();
        for u in ["a", "b", "c", "d"] {
            v.push(
                f.db()
                    .record_case(new_case(&logon, LOGON, u, "help", true), &s)
                    .await
                    .unwrap()
                    .id,
            );
        }
        v
    };
    f.db()
        .set_case_status(ids[0], Status::Resolved, "staff", Some("auth"), None)
        .await
        .unwrap();
    f.db()
        .set_case_status(ids[1], Status::Resolved, "staff", Some("auth"), None)
        .await
        .unwrap();
    f.db()
        .set_case_status(ids[2], Status::Wrong, "staff", None, None)
        .await
        .unwrap();
    f.db()
        .set_case_status(ids[3], Status::Wrong, "staff", Some("smb"), None)
        .await
        .unwrap();
    f.db().case_feedback(ids[0], true, None, "a").await.unwrap();
    f.db().case_feedback(ids[2], false, None, "c").await.unwrap();
    // Prose-only cases teach nothing.
    let p = f
        .db()
        .record_case(new_case(&prose, PROSE, "e", "help", false), &s)
        .await
        .unwrap()
        .id;
    f.db().case_feedback(p, false, None, "e").await.unwrap();

    let priors = f.db().load_priors().await.unwrap();
    assert_eq!(priors.by_key.len(), 1, "{:?}", priors.by_key);
    let per_entry = &priors.by_key[&key];
    assert_eq!(per_entry["auth"].fixed, 2);
    assert_eq!(per_entry["logon"].helpful, 1);
    assert_eq!(per_entry["logon"].unhelpful, 1);
    assert_eq!(
        per_entry["logon"].wrong, 1,
        "wrong without an entry blames the one offered first"
    );
    assert_eq!(per_entry["smb"].wrong, 1);
}

#[tokio::test]
async fn purge_deletes_old_cases_with_their_children() {
    let f = fixture().await;
    let s = CaseSettings::default();
    let d = f.engine.diagnose(LOGON);
    let old = f
        .db()
        .record_case(new_case(&d, LOGON, "a", "help", true), &s)
        .await
        .unwrap()
        .id;
    f.db().case_feedback(old, true, None, "a").await.unwrap();
    let newer = f
        .db()
        .record_case(new_case(&d, LOGON, "b", "help", true), &s)
        .await
        .unwrap()
        .id;
    f.db().link_follow_up(newer, old).await.unwrap();
    // Age the first case by a year.
    sqlx::query("UPDATE cases SET created_at = created_at - 31536000000 WHERE id = ?")
        .bind(old)
        .execute(&f.db().pool)
        .await
        .unwrap();

    assert_eq!(
        f.db()
            .purge_cases(Utc::now() - chrono::Duration::days(180))
            .await
            .unwrap(),
        1
    );
    assert!(f.db().get_case(old).await.unwrap().is_none());
    let kept = f.db().get_case(newer).await.unwrap().unwrap();
    assert_eq!(kept.follow_up_of, None);
    for sql in [
        "SELECT count(*) FROM case_match WHERE case_id NOT IN (SELECT id FROM cases)",
        "SELECT count(*) FROM case_event WHERE case_id NOT IN (SELECT id FROM cases)",
        "SELECT count(*) FROM case_feedback WHERE case_id NOT IN (SELECT id FROM cases)",
    ] {
        assert_eq!(count(f.db(), sql).await, 0, "{sql}");
    }
    // The search index forgot the purged text too.
    let hits: i64 = sqlx::query_scalar("SELECT count(*) FROM case_fts WHERE case_fts MATCH 'upgrade'")
        .fetch_one(&f.db().pool)
        .await
        .unwrap();
    assert_eq!(hits, 1);
    // Ids are not reused.
    let next = f
        .db()
        .record_case(new_case(&d, LOGON, "z", "x", true), &s)
        .await
        .unwrap()
        .id;
    assert!(next > newer);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_concurrent_writers_on_one_file_lose_nothing() {
    let f = fixture().await;
    let path = f.dir.path().join("cases.db");
    // Several independent pools on the same file, like several processes.
    let mut dbs = vec![f.db().clone()];
    for _ in 0..3 {
        dbs.push(Db::open(&path).await.unwrap());
    }
    let d = Arc::new(f.engine.diagnose(LOGON));
    let mut tasks = Vec::new();
    for i in 0..400 {
        let db = dbs[i % dbs.len()].clone();
        let d = Arc::clone(&d);
        tasks.push(tokio::spawn(async move {
            let user = format!("user{i}");
            let text = format!("{LOGON} #{i}");
            db.record_case(new_case(&d, &text, &user, "help", i % 2 == 0), &CaseSettings::default())
                .await
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        let r = t.await.unwrap().unwrap();
        assert!(!r.folded);
        ids.push(r.id);
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 400);
    assert_eq!(count(f.db(), "SELECT count(*) FROM cases").await, 400);
    assert_eq!(
        count(f.db(), "SELECT count(*) FROM case_event WHERE kind = 'opened'").await,
        400
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_repeats_of_one_problem_fold_into_one_case() {
    let f = fixture().await;
    let d = Arc::new(f.engine.diagnose(LOGON));
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let db = f.db().clone();
        let d = Arc::clone(&d);
        tasks.push(tokio::spawn(async move {
            db.record_case(new_case(&d, LOGON, "same-user", "help", true), &CaseSettings::default())
                .await
                .unwrap()
        }));
    }
    let mut folded = 0;
    for t in tasks {
        folded += usize::from(t.await.unwrap().folded);
    }
    assert_eq!(folded, 49);
    assert_eq!(count(f.db(), "SELECT count(*) FROM cases").await, 1);
    assert_eq!(count(f.db(), "SELECT repeats FROM cases").await, 49);
}
