//! The conversation service driven by a fake chat platform: no Discord (or Slack) types, only
//! the service's own API, the real engine, the shipped knowledge base and a real SQLite file.
//! The fake does what every adapter does — map an event, "send" what comes back (or fail to),
//! report the send, apply what an action says to show — so the case policy is tested once,
//! outside any adapter.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use qntcbot::conversation::{
    ActionKind, ActionToken, Actor, Answer, CaseQuery, ConvError, Conversation, Delivery, Heard, Message, Origin,
    Press, Quiet, Settings, Shown, Status, UserError,
};
use qntcbot::evidence::Evidence;
use qntcbot::{Diagnosis, Engine, Match};

mod common;

use common::CPDB053_LOG;

fn kb_dir() -> PathBuf {
    std::env::var_os("QNTCBOT_TEST_KB")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("kb"))
}

/// A message the fake platform shows in a channel.
#[derive(Debug, Clone)]
struct Posted {
    channel: String,
    id: String,
    case: i64,
    answer: Answer,
    actions: Vec<ActionToken>,
}

/// The fake chat platform: string ids, a list of posted messages, sends that can fail.
struct FakeChat {
    conv: Arc<Conversation>,
    posted: Mutex<Vec<Posted>>,
    fail_sends: AtomicBool,
    ids: AtomicU64,
    _dir: tempfile::TempDir,
}

fn user(id: &str) -> Actor {
    Actor {
        user_id: id.into(),
        user_name: format!("name-{id}"),
        staff: false,
    }
}

fn staff(id: &str) -> Actor {
    Actor {
        staff: true,
        ..user(id)
    }
}

impl FakeChat {
    async fn new(user_cooldown: u64, channel_cooldown: u64) -> FakeChat {
        let dir = tempfile::tempdir().unwrap();
        let engine = Arc::new(Engine::open(&dir.path().join("cases.db"), &kb_dir()).await.unwrap());
        let settings = Settings {
            user_cooldown: Duration::from_secs(user_cooldown),
            channel_cooldown: Duration::from_secs(channel_cooldown),
            ..Settings::new("fakechat")
        };
        FakeChat {
            conv: Arc::new(Conversation::new(engine, settings)),
            posted: Mutex::new(Vec::new()),
            fail_sends: AtomicBool::new(false),
            ids: AtomicU64::new(1000),
            _dir: dir,
        }
    }

    fn next_id(&self) -> String {
        format!("m{}", self.ids.fetch_add(1, Ordering::Relaxed))
    }

    fn origin(&self, channel: &str, user: &str, message: &str) -> Origin {
        Origin {
            workspace: Some("T1".into()),
            channel: channel.into(),
            thread: None,
            message_id: message.into(),
            message_link: Some(format!("fake://{channel}/{message}")),
            user_id: user.into(),
            user_name: format!("name-{user}"),
        }
    }

    /// What an adapter does with a new message (or an edit of `message`).
    async fn say_as(
        &self,
        channel: &str,
        user: &str,
        message: &str,
        text: &str,
        edited: bool,
    ) -> Result<Heard, ConvError> {
        let m = Message {
            origin: self.origin(channel, user, message),
            text: text.into(),
            edited,
        };
        self.conv.on_message(m).await
    }

    /// Posts what the service answered (or fails to), and reports the send.
    async fn deliver(&self, heard: Heard) -> Option<Posted> {
        let Heard::Reply(r) = heard else { return None };
        if self.fail_sends.load(Ordering::SeqCst) {
            self.conv.delivered(r.ticket, Delivery::Failed).await;
            return None;
        }
        let p = Posted {
            channel: "support".into(),
            id: self.next_id(),
            case: r.case,
            answer: r.answer,
            actions: r.actions,
        };
        self.conv
            .delivered(
                r.ticket,
                Delivery::Sent {
                    channel: p.channel.clone(),
                    message_id: p.id.clone(),
                },
            )
            .await;
        self.posted.lock().unwrap().push(p.clone());
        Some(p)
    }

    async fn say(&self, user: &str, text: &str) -> Option<Posted> {
        let id = self.next_id();
        let heard = self.say_as("support", user, &id, text, false).await.unwrap();
        self.deliver(heard).await
    }

    /// Presses the button of `kind` on the posted message `p`, as `by`, and applies what the
    /// service says to show.
    async fn press(&self, p: &Posted, kind: ActionKind, by: Actor) -> Result<Shown, ConvError> {
        let token = p.actions.iter().find(|a| a.kind == kind).expect("action offered");
        let press = Press {
            token: token.encode(),
            by,
            channel: p.channel.clone(),
            message_id: p.id.clone(),
        };
        let shown = self.conv.on_action(&press).await?;
        let mut posted = self.posted.lock().unwrap();
        match &shown {
            Shown::Update(v) => {
                let m = posted.iter_mut().find(|m| m.id == p.id).expect("message exists");
                m.answer = v.answer.clone();
                m.actions = v.actions.clone();
            }
            Shown::Remove(_) => posted.retain(|m| m.id != p.id),
            Shown::Notice(_) | Shown::Private(_) => {}
        }
        Ok(shown)
    }

    fn current(&self, id: &str) -> Option<Posted> {
        self.posted.lock().unwrap().iter().find(|m| m.id == id).cloned()
    }

    async fn case(&self, id: i64) -> qntcbot::conversation::Case {
        self.conv.case(id, &staff("S")).await.unwrap()
    }
}

fn user_error(r: Result<Shown, ConvError>) -> UserError {
    match r {
        Err(ConvError::User(u)) => u,
        other => panic!("expected a user error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answer_is_recorded_and_only_a_delivered_send_marks_it_answered() {
    let chat = FakeChat::new(60, 10).await;
    let heard = chat.say_as("support", "U1", "m1", CPDB053_LOG, false).await.unwrap();
    let Heard::Reply(r) = &heard else {
        panic!("a CPDB053 log is answered: {heard:?}")
    };
    assert!(r.public);
    let kinds: Vec<ActionKind> = r.actions.iter().map(|a| a.kind).collect();
    assert_eq!(kinds, [ActionKind::Fixed, ActionKind::NotIt, ActionKind::Dismiss]);
    assert_eq!(r.actions[0].entry, r.answer.findings[0].entry_id);
    // Before the send: recorded, not answered.
    let before = chat.case(r.case).await;
    assert_eq!(before.status, Status::Open);
    assert!(!before.replied);
    assert_eq!(before.platform, "fakechat");
    assert_eq!(before.channel.as_deref(), Some("support"));
    assert_eq!(before.user_id.as_deref(), Some("U1"));
    let case = r.case;
    chat.deliver(heard).await.expect("sent");
    let after = chat.case(case).await;
    assert_eq!(after.status, Status::Answered);
    assert!(after.replied);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_send_leaves_the_case_unanswered_and_the_user_not_silenced() {
    let chat = FakeChat::new(60, 10).await;
    chat.fail_sends.store(true, Ordering::SeqCst);
    let heard = chat.say_as("support", "U1", "m1", CPDB053_LOG, false).await.unwrap();
    let Heard::Reply(r) = &heard else { panic!("answered") };
    let case = r.case;
    assert!(chat.deliver(heard).await.is_none());
    let c = chat.case(case).await;
    assert_eq!(c.status, Status::Open);
    assert!(!c.replied);
    let stats = chat.conv.stats(1).await.unwrap();
    assert_eq!(stats.unanswered, 1);

    // The cooldown was given back: the re-post a second later is answered.
    chat.fail_sends.store(false, Ordering::SeqCst);
    let p = chat.say("U1", CPDB053_LOG).await.expect("re-post answered");
    assert_eq!(p.case, case, "the repeat folds into the same case");
    assert_eq!(chat.case(case).await.status, Status::Answered);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_gets_one_answer_and_every_report_is_recorded() {
    let chat = FakeChat::new(60, 30).await;
    let mut answers = 0;
    let mut cooling = 0;
    for i in 0..10 {
        let id = chat.next_id();
        match chat
            .say_as("support", &format!("U{}", i % 3), &id, CPDB053_LOG, false)
            .await
            .unwrap()
        {
            Heard::Reply(r) => {
                answers += 1;
                chat.deliver(Heard::Reply(r)).await;
            }
            Heard::Quiet(Quiet::CoolingDown { .. }) => cooling += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((answers, cooling), (1, 9));
    let stats = chat.conv.stats(1).await.unwrap();
    assert_eq!(stats.total, 3, "one case per user");
    assert_eq!(stats.total + stats.repeats, 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chit_chat_is_quiet_and_edits_speak_only_when_the_evidence_changes() {
    let chat = FakeChat::new(0, 0).await;
    let q = chat
        .say_as("support", "U1", "m1", "anyone up for lunch?", false)
        .await
        .unwrap();
    assert!(matches!(q, Heard::Quiet(Quiet::NotSure)), "{q:?}");
    assert!(matches!(
        chat.say_as("support", "U1", "m0", "   ", false).await.unwrap(),
        Heard::Quiet(Quiet::Empty)
    ));

    let first = chat.say_as("support", "U1", "m2", CPDB053_LOG, false).await.unwrap();
    chat.deliver(first).await.expect("answered");
    let same = chat
        .say_as("support", "U1", "m2", &format!("{CPDB053_LOG}\nthanks!"), true)
        .await
        .unwrap();
    assert!(matches!(same, Heard::Quiet(Quiet::EditUnchanged)), "{same:?}");
    // The same text under another message id is not an edit of m2.
    let other = chat.say_as("other", "U1", "m2", CPDB053_LOG, true).await.unwrap();
    assert!(matches!(other, Heard::Reply(_)), "{other:?}");
}

/// A case whose diagnosis offered `entries` with these confidences, answered as message
/// `m-<case>` in channel `support` for user U1.
async fn handmade_case(chat: &FakeChat, offered: &[(&str, f64)]) -> Posted {
    let engine = chat.conv.engine();
    let kb = engine.kb();
    let matches: Vec<Match> = offered
        .iter()
        .map(|(id, c)| {
            let entry = kb.get(id).unwrap_or_else(|| panic!("{id} in the KB")).clone();
            Match {
                id: id.to_string(),
                title: entry.title.clone(),
                topics: entry.topics.clone(),
                confidence: *c,
                evidence: vec![format!("test evidence for {id}")],
                share: *c,
                entry,
            }
        })
        .collect();
    let d = Diagnosis {
        reply: true,
        matches,
        evidence: Evidence::default(),
        ..Diagnosis::default()
    };
    let origin = chat.origin("support", "U1", &chat.next_id());
    let r = chat.conv.record(&origin, "handmade", &d, false).await.unwrap();
    let id = format!("m-{}", r.id);
    engine
        .db()
        .mark_delivered(r.id, Some("support"), Some(id.as_str()))
        .await
        .unwrap();
    let p = Posted {
        channel: "support".into(),
        id,
        case: r.id,
        answer: engine.answer(&d),
        actions: ActionToken::judging(r.id, offered[0].0),
    };
    chat.posted.lock().unwrap().push(p.clone());
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_it_offers_the_rest_on_their_own_merits_and_edits_the_same_message() {
    let chat = FakeChat::new(60, 10).await;
    let p = handmade_case(
        &chat,
        &[
            ("netserver-domain-mismatch", 0.80),
            ("password-case-qpwdlvl", 0.50),
            ("credentials-mismatch", 0.45),
        ],
    )
    .await;
    // The first answer shows only the 0.80 finding: 0.50 is more than 0.15 below it.
    assert_eq!(p.answer.findings.len(), 1);

    let shown = chat.press(&p, ActionKind::NotIt, user("U1")).await.unwrap();
    let Shown::Update(v) = shown else {
        panic!("Not it edits the answer: {shown:?}")
    };
    let ids: Vec<&str> = v.answer.findings.iter().map(|f| f.entry_id.as_str()).collect();
    assert_eq!(ids, ["password-case-qpwdlvl", "credentials-mismatch"]);
    assert!(v.answer.headline.contains("50%"), "{}", v.answer.headline);
    assert_eq!(v.actions[0].entry, "password-case-qpwdlvl");
    let c = chat.case(p.case).await;
    assert_eq!(c.status, Status::Wrong);

    // "Not it" again, on the same (edited) message: the next one, in the same message.
    let p2 = chat.current(&p.id).expect("still there");
    let Shown::Update(v) = chat.press(&p2, ActionKind::NotIt, user("U1")).await.unwrap() else {
        panic!()
    };
    assert_eq!(v.answer.findings[0].entry_id, "credentials-mismatch");
    let p3 = chat.current(&p.id).unwrap();
    let Shown::Update(v) = chat.press(&p3, ActionKind::NotIt, user("U1")).await.unwrap() else {
        panic!()
    };
    assert!(v.answer.findings.is_empty() && v.actions.is_empty());
    assert!(v.answer.headline.contains("Nothing else"), "{}", v.answer.headline);
    assert_eq!(chat.posted.lock().unwrap().len(), 1, "no new messages");

    // Pressing an old "Not it" again records nothing new.
    let wrong_events = |c: &qntcbot::conversation::Case| c.events.iter().filter(|e| e.status == Status::Wrong).count();
    let before = wrong_events(&chat.case(p.case).await);
    chat.press(&p, ActionKind::NotIt, user("U1")).await.unwrap();
    assert_eq!(wrong_events(&chat.case(p.case).await), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_asker_or_staff_may_judge() {
    let chat = FakeChat::new(60, 10).await;
    let p = handmade_case(
        &chat,
        &[("netserver-domain-mismatch", 0.80), ("password-case-qpwdlvl", 0.50)],
    )
    .await;

    for kind in [ActionKind::Fixed, ActionKind::NotIt, ActionKind::Dismiss] {
        let err = user_error(chat.press(&p, kind, user("U2")).await);
        assert_eq!(err, UserError::NotYours);
        assert_eq!(err.to_string(), "Only the person who asked, or staff, can do that.");
    }
    assert_eq!(chat.case(p.case).await.status, Status::Answered, "nothing changed");

    // Staff may, and once staff resolved it, the asker's "Not it" cannot undo that.
    let shown = chat.press(&p, ActionKind::Fixed, staff("S1")).await.unwrap();
    assert!(shown_text(&shown).contains("resolved"), "{shown:?}");
    let c = chat.case(p.case).await;
    assert_eq!(c.status, Status::Resolved);
    assert_eq!(c.fixed_by.as_deref(), Some("netserver-domain-mismatch"));
    let err = user_error(chat.press(&p, ActionKind::NotIt, user("U1")).await);
    assert_eq!(err, UserError::Closed(p.case));
    assert_eq!(chat.case(p.case).await.status, Status::Resolved);

    // A press is checked against the message it was attached to.
    let forged = Press {
        token: p.actions[0].encode(),
        by: user("U1"),
        channel: "support".into(),
        message_id: "some-other-message".into(),
    };
    assert_eq!(user_error(chat.conv.on_action(&forged).await), UserError::WrongMessage);
    let bad = Press {
        token: "qntc:fix:99999:netserver-domain-mismatch".into(),
        ..forged.clone()
    };
    assert_eq!(
        user_error(chat.conv.on_action(&bad).await),
        UserError::UnknownCase(99999)
    );
    let junk = Press {
        token: "<script>".into(),
        ..forged
    };
    assert_eq!(user_error(chat.conv.on_action(&junk).await), UserError::BadAction);
}

fn shown_text(s: &Shown) -> String {
    match s {
        Shown::Notice(n) | Shown::Remove(n) => n.to_string(),
        Shown::Update(v) | Shown::Private(v) => v.answer.headline.clone(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dismiss_records_dismissed_and_removes_the_answer() {
    let chat = FakeChat::new(60, 10).await;
    let p = handmade_case(&chat, &[("netserver-domain-mismatch", 0.80)]).await;
    let shown = chat.press(&p, ActionKind::Dismiss, user("U1")).await.unwrap();
    assert!(matches!(shown, Shown::Remove(_)), "{shown:?}");
    assert!(chat.current(&p.id).is_none());
    let c = chat.case(p.case).await;
    assert_eq!(c.status, Status::Dismissed);
    assert!(
        c.events
            .iter()
            .any(|e| e.status == Status::Dismissed && e.by == "name-U1")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_finding_shows_the_next_privately_without_judging() {
    let chat = FakeChat::new(60, 10).await;
    let p = handmade_case(
        &chat,
        &[("netserver-domain-mismatch", 0.80), ("password-case-qpwdlvl", 0.30)],
    )
    .await;
    let next = ActionToken {
        kind: ActionKind::Next,
        case: p.case,
        entry: "netserver-domain-mismatch".into(),
    };
    // Anyone may look; it is not a judgment.
    let press = Press {
        token: next.encode(),
        by: user("U7"),
        channel: "elsewhere".into(),
        message_id: "x".into(),
    };
    let Shown::Private(v) = chat.conv.on_action(&press).await.unwrap() else {
        panic!()
    };
    assert_eq!(v.answer.findings[0].entry_id, "password-case-qpwdlvl");
    assert_eq!(v.actions[0].kind, ActionKind::Next);
    assert_eq!(chat.case(p.case).await.status, Status::Answered);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_explanations_cases_and_stats_are_data() {
    let chat = FakeChat::new(60, 10).await;
    let x = chat.conv.explain("3401").unwrap();
    assert!(x.headline.starts_with("3401 = EACCES"), "{}", x.headline);
    assert!(!x.leads.is_empty() && x.leads.len() <= qntcbot::conversation::EXPLAIN_LEADS);
    let all = chat.conv.engine().explain_code("3401").unwrap().findings.len();
    assert_eq!(x.leads.len() + x.more.len(), all);
    let err = chat.conv.explain("NOPE").unwrap_err();
    assert_eq!(err.shown(), "I do not know the code \"NOPE\".");

    // Completion labels are whole (no platform's width inside the service).
    let kb = chat.conv.engine().kb();
    let choices = chat.conv.complete("", 100);
    assert!(!choices.is_empty());
    for c in &choices {
        let title = &kb.get(&c.entry_id).unwrap().title;
        assert!(c.label.ends_with(title.as_str()), "{c:?}");
    }

    let p = chat.say("U1", CPDB053_LOG).await.expect("answered");
    let err = chat.conv.case(p.case, &user("U1")).await.unwrap_err();
    assert_eq!(err.shown(), "This is for the support staff only.");
    let listed = chat
        .conv
        .cases(
            &CaseQuery {
                status: Some("answered".into()),
                limit: 10,
                ..Default::default()
            },
            &staff("S"),
        )
        .await
        .unwrap();
    assert_eq!(listed.iter().map(|c| c.id).collect::<Vec<_>>(), [p.case]);
    let bad = chat
        .conv
        .cases(
            &CaseQuery {
                status: Some("sleeping".into()),
                limit: 10,
                ..Default::default()
            },
            &staff("S"),
        )
        .await
        .unwrap_err();
    assert!(matches!(bad, ConvError::User(UserError::BadInput(_))), "{bad:?}");

    let err = chat
        .conv
        .resolve(p.case, "no-such-entry", &staff("S"))
        .await
        .unwrap_err();
    assert_eq!(err.shown(), "There is no knowledge-base entry \"no-such-entry\".");
    let err = chat
        .conv
        .resolve(4242, "cpdb053-triage", &staff("S"))
        .await
        .unwrap_err();
    assert_eq!(err.shown(), "There is no case #4242.");
    chat.conv
        .resolve(p.case, "netserver-domain-mismatch", &staff("S"))
        .await
        .unwrap();

    let s = chat.conv.stats(30).await.unwrap();
    assert_eq!(s.total, 1);
    assert_eq!(s.by_status.get("resolved"), Some(&1));
}
