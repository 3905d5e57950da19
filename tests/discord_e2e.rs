//! The real serenity + poise client against the local Discord simulator, with the real engine
//! and knowledge base.

mod discord_sim;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use discord_sim::*;
use qntcbot::Engine;
use qntcbot::cases::{Case, Status};
use qntcbot::conversation::Conversation;
use qntcbot::discord::{DiscordConfig, Token};
use serde_json::{Value, json};
use tokio::sync::oneshot;

const T: Duration = Duration::from_secs(20);

mod common;

use common::CPDB053_LOG;

fn kb_dir() -> PathBuf {
    std::env::var_os("QNTCBOT_TEST_KB")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("kb"))
}

struct Bot {
    sim: Sim,
    engine: Arc<Engine>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    _dir: tempfile::TempDir,
}

impl Bot {
    async fn start(tune: impl FnOnce(&mut DiscordConfig)) -> Bot {
        Bot::start_with(Sim::start().await, tune).await
    }

    async fn start_with(sim: Sim, tune: impl FnOnce(&mut DiscordConfig)) -> Bot {
        let dir = tempfile::tempdir().unwrap();
        let engine = Arc::new(Engine::open(&dir.path().join("cases.db"), &kb_dir()).await.unwrap());
        let mut cfg = DiscordConfig {
            token: Some(Token::new("sim-token")),
            api_base_url: Some(sim.base_url()),
            channels: vec![CHANNEL_ID],
            staff_role: Some(STAFF_ROLE),
            guild_id: Some(GUILD_ID),
            ..Default::default()
        };
        tune(&mut cfg);
        let conv: Arc<Conversation> = Arc::new(qntcbot::discord::conversation(engine.clone(), &cfg));
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(qntcbot::discord::run_until(cfg, conv, async {
            let _ = rx.await;
        }));
        let bot = Bot {
            sim,
            engine,
            stop: Some(tx),
            task,
            _dir: dir,
        };
        bot.sim
            .wait_for(T, |r| r.method == "PUT" && r.path.ends_with("/commands"))
            .await
            .expect("commands registered");
        bot
    }

    async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let r = tokio::time::timeout(T, self.task)
            .await
            .expect("bot stops in time")
            .unwrap();
        r.expect("bot exits cleanly");
    }

    /// Successful posts to a channel.
    fn replies(&self, channel: u64) -> Vec<Req> {
        let path = format!("/api/v10/channels/{channel}/messages");
        self.sim
            .requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path == path && r.status == 200)
            .collect()
    }

    /// The successful reply to `message`.
    async fn reply_to(&self, message: u64) -> Option<Req> {
        let id = message.to_string();
        self.sim
            .wait_for(T, move |r| {
                r.method == "POST"
                    && r.status == 200
                    && r.body["message_reference"]["message_id"].as_str() == Some(id.as_str())
            })
            .await
    }

    async fn callback(&self, interaction: u64) -> Option<Req> {
        let path = format!("/api/v10/interactions/{interaction}/tok-{interaction}/callback");
        self.sim.wait_for(T, move |r| r.path == path).await
    }

    async fn case(&self, id: i64) -> Case {
        self.engine.db().get_case(id).await.unwrap().expect("case exists")
    }

    /// Waits until case `id` has `status`.
    async fn case_becomes(&self, id: i64, status: Status) -> Case {
        let deadline = Instant::now() + T;
        loop {
            let c = self.case(id).await;
            if c.status == status {
                return c;
            }
            assert!(Instant::now() < deadline, "case {id} stayed {}", c.status);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The reply's buttons' custom ids, and the case they name.
    fn buttons(reply: &Req) -> (Vec<String>, i64) {
        let ids: Vec<String> = reply.body["components"][0]["components"]
            .as_array()
            .expect("buttons")
            .iter()
            .map(|b| b["custom_id"].as_str().unwrap().to_string())
            .collect();
        let case = ids[0].split(':').nth(2).unwrap().parse().unwrap();
        (ids, case)
    }

    /// The posted answer as the message a button press is attached to.
    fn posted(reply: &Req) -> Value {
        let id: u64 = reply.response["id"].as_str().unwrap().parse().unwrap();
        let channel: u64 = reply.response["channel_id"].as_str().unwrap().parse().unwrap();
        message_json(id, channel, user_json(BOT_ID, true), "", vec![])
    }
}

fn text_of(v: &Value) -> String {
    v.to_string()
}

fn ephemeral(cb: &Req) -> bool {
    cb.body["data"]["flags"].as_u64().unwrap_or(0) & 64 == 64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_registers_qntc_and_context_menu() {
    let bot = Bot::start(|_| {}).await;
    let identify = bot
        .sim
        .frames()
        .into_iter()
        .find(|f| f["op"] == 2)
        .expect("IDENTIFY sent");
    assert!(
        identify["d"]["intents"].as_u64().unwrap() & (1 << 15) != 0,
        "MESSAGE_CONTENT intent"
    );
    let put = bot
        .sim
        .requests()
        .into_iter()
        .find(|r| r.method == "PUT" && r.path.ends_with("/commands"))
        .unwrap();
    assert_eq!(
        put.path,
        format!("/api/v10/applications/{APP_ID}/guilds/{GUILD_ID}/commands")
    );
    let cmds = put.body.as_array().unwrap();
    let qntc = cmds.iter().find(|c| c["name"] == "qntc").expect("/qntc");
    let subs: Vec<&str> = qntc["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    for s in ["lookup", "explain", "case", "stats", "kb"] {
        assert!(subs.contains(&s), "{subs:?}");
    }
    let menu = cmds
        .iter()
        .find(|c| c["name"] == "Diagnose with qntcbot")
        .expect("context menu");
    assert_eq!(menu["type"], 3);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_log_gets_one_reply_with_the_finding_and_a_case() {
    let bot = Bot::start(|_| {}).await;
    let expected = bot.engine.diagnose(CPDB053_LOG);
    assert!(expected.reply, "the KB should answer a CPDB053 log");
    let top = expected.matches[0].id.clone();

    let msg = bot.sim.message_create(CHANNEL_ID, USER_ID, CPDB053_LOG, vec![]);
    let reply = bot.reply_to(msg).await.expect("a reply");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(bot.replies(CHANNEL_ID).len(), 1);

    let body = &reply.body;
    assert_eq!(body["allowed_mentions"]["parse"], json!([]));
    assert_eq!(body["allowed_mentions"]["replied_user"], json!(false));
    let embeds = text_of(&body["embeds"]);
    assert!(embeds.contains(&format!("KB {top}")), "{embeds}");
    let title = &bot.engine.answer(&expected).findings[0].title;
    assert!(
        embeds.contains(&serde_json::to_string(title).unwrap()[1..20]),
        "{embeds}"
    );
    let (ids, case) = Bot::buttons(&reply);
    assert_eq!(ids.len(), 3);
    let c = bot.case_becomes(case, Status::Answered).await;
    assert!(c.replied);
    assert_eq!(c.platform, "discord");
    assert_eq!(c.user_id.as_deref(), Some(USER_ID.to_string().as_str()));
    assert_eq!(c.matches.first().map(|m| m.entry_id.as_str()), Some(top.as_str()));
    assert!(c.message_link.unwrap().ends_with(&msg.to_string()));
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachment_is_downloaded_and_analysed() {
    let bot = Bot::start(|_| {}).await;
    let att = bot.sim.attachment("message.txt", CPDB053_LOG.as_bytes());
    let msg = bot.sim.message_create(CHANNEL_ID, USER_ID, "see attached", vec![att]);
    let reply = bot.reply_to(msg).await.expect("a reply");
    assert!(bot.sim.count(|r| r.method == "GET" && r.path == "/files/message.txt") == 1);
    let top = bot.engine.diagnose(CPDB053_LOG).matches[0].id.clone();
    assert!(text_of(&reply.body["embeds"]).contains(&format!("KB {top}")));

    // An attachment declared larger than the limit is never downloaded.
    let mut big = bot.sim.attachment("big.txt", CPDB053_LOG.as_bytes());
    big["size"] = json!(10 * 1024 * 1024);
    bot.sim.message_create(CHANNEL_ID, USER_ID + 1, "big one", vec![big]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(bot.sim.count(|r| r.path == "/files/big.txt"), 0);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chit_chat_and_other_channels_get_no_reply() {
    let bot = Bot::start(|c| {
        c.user_cooldown_secs = 0;
        c.channel_cooldown_secs = 0;
    })
    .await;
    bot.sim.message_create(
        CHANNEL_ID,
        USER_ID,
        "good morning all, anyone up for lunch later?",
        vec![],
    );
    bot.sim.message_create(OTHER_CHANNEL_ID, USER_ID, CPDB053_LOG, vec![]);
    // A bot's message is never answered.
    let id = bot.sim.next_id();
    bot.sim.dispatch(
        "MESSAGE_CREATE",
        message_json(id, CHANNEL_ID, user_json(777, true), CPDB053_LOG, vec![]),
    );
    let log = bot.sim.message_create(CHANNEL_ID, USER_ID, CPDB053_LOG, vec![]);
    bot.reply_to(log).await.expect("the log is answered");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(bot.replies(CHANNEL_ID).len(), 1);
    assert_eq!(bot.replies(OTHER_CHANNEL_ID).len(), 0);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edit_is_rediagnosed_only_when_evidence_changes() {
    let bot = Bot::start(|c| {
        c.user_cooldown_secs = 0;
        c.channel_cooldown_secs = 0;
    })
    .await;
    let msg = bot.sim.message_create(CHANNEL_ID, USER_ID, CPDB053_LOG, vec![]);
    bot.reply_to(msg).await.expect("first reply");
    // Same evidence, different wording: quiet.
    bot.sim
        .message_update(msg, CHANNEL_ID, USER_ID, &format!("{CPDB053_LOG}\nthanks in advance"));
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(bot.replies(CHANNEL_ID).len(), 1);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slash_lookup_and_autocomplete() {
    let bot = Bot::start(|_| {}).await;
    let q = json!({"name": "query", "type": 3, "value": "CPDB053"});
    let id = bot.sim.slash(2, &["lookup"], vec![q], USER_ID, &[], CHANNEL_ID);
    let cb = bot.callback(id).await.expect("lookup answered");
    assert_eq!(cb.body["type"], 4);
    let expected = bot.engine.lookup("CPDB053", 1).await;
    let top = &expected[0].findings[0].entry_id;
    assert!(text_of(&cb.body["data"]["embeds"]).contains(&format!("KB {top}")));
    assert!(!ephemeral(&cb), "public in a watched channel");

    let q = json!({"name": "query", "type": 3, "value": "CPDB053"});
    let id = bot.sim.slash(2, &["lookup"], vec![q], USER_ID, &[], OTHER_CHANNEL_ID);
    let cb = bot.callback(id).await.expect("lookup answered");
    assert!(ephemeral(&cb), "ephemeral elsewhere");

    let q = json!({"name": "query", "type": 3, "value": "domain", "focused": true});
    let id = bot.sim.slash(4, &["lookup"], vec![q], USER_ID, &[], CHANNEL_ID);
    let cb = bot.callback(id).await.expect("autocomplete answered");
    assert_eq!(cb.body["type"], 8);
    let choices = cb.body["data"]["choices"].as_array().unwrap();
    let want = bot.engine.complete("domain", 25);
    assert!(!choices.is_empty() && choices.len() <= 25);
    assert_eq!(choices[0]["value"], json!(want[0].0));
    for c in choices {
        assert!(c["name"].as_str().unwrap().chars().count() <= 100);
    }
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_commands_are_checked() {
    let bot = Bot::start(|_| {}).await;
    let opt = json!({"name": "id", "type": 4, "value": 1});
    let id = bot
        .sim
        .slash(2, &["case", "show"], vec![opt.clone()], USER_ID, &[], CHANNEL_ID);
    let cb = bot.callback(id).await.expect("answered");
    assert!(
        text_of(&cb.body).contains("This is for the support staff only."),
        "{}",
        cb.body
    );
    assert!(ephemeral(&cb));

    let id = bot
        .sim
        .slash(2, &["case", "show"], vec![opt], USER_ID, &[STAFF_ROLE], CHANNEL_ID);
    let cb = bot.callback(id).await.expect("answered");
    assert!(text_of(&cb.body).contains("There is no case #1."), "{}", cb.body);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buttons_judge_only_for_the_asker_or_staff_and_reject_forgeries() {
    let bot = Bot::start(|_| {}).await;
    let msg = bot.sim.message_create(CHANNEL_ID, USER_ID, CPDB053_LOG, vec![]);
    let reply = bot.reply_to(msg).await.expect("a reply");
    let (ids, case) = Bot::buttons(&reply);
    let (fix, dis) = (ids[0].clone(), ids[2].clone());
    let answer_msg = Bot::posted(&reply);
    bot.case_becomes(case, Status::Answered).await;

    // Forged: a case that does not exist, an entry the case never offered, and a real token on
    // another message.
    let id = bot.sim.button(
        "qntc:fix:999:cpdb053-triage",
        answer_msg.clone(),
        USER_ID,
        &[],
        CHANNEL_ID,
    );
    assert!(text_of(&bot.callback(id).await.unwrap().body).contains("There is no case #999."));
    let forged = format!("qntc:fix:{case}:not-offered");
    let id = bot.sim.button(&forged, answer_msg.clone(), USER_ID, &[], CHANNEL_ID);
    assert!(text_of(&bot.callback(id).await.unwrap().body).contains("does not belong"));
    let elsewhere = message_json(bot.sim.next_id(), CHANNEL_ID, user_json(BOT_ID, true), "", vec![]);
    let id = bot.sim.button(&fix, elsewhere, USER_ID, &[], CHANNEL_ID);
    assert!(text_of(&bot.callback(id).await.unwrap().body).contains("does not belong"));

    // A non-asker's "Fixed it" is refused, privately, and changes nothing.
    let id = bot.sim.button(&fix, answer_msg.clone(), 12345, &[], CHANNEL_ID);
    let cb = bot.callback(id).await.unwrap();
    assert_eq!(cb.body["type"], 4);
    assert!(ephemeral(&cb));
    assert_eq!(
        cb.body["data"]["content"],
        "Only the person who asked, or staff, can do that."
    );
    assert_eq!(bot.case(case).await.status, Status::Answered);
    // Nor may they dismiss: nothing deleted.
    let id = bot.sim.button(&dis, answer_msg.clone(), 12345, &[], CHANNEL_ID);
    assert!(text_of(&bot.callback(id).await.unwrap().body).contains("Only the person"));
    assert_eq!(bot.sim.count(|r| r.method == "DELETE"), 0);

    // The asker's "Fixed it" resolves the case with that entry.
    let id = bot.sim.button(&fix, answer_msg.clone(), USER_ID, &[], CHANNEL_ID);
    let cb = bot.callback(id).await.expect("fix acknowledged");
    assert!(text_of(&cb.body).contains("resolved"), "{}", cb.body);
    let c = bot.case(case).await;
    assert_eq!(c.status, Status::Resolved);
    assert_eq!(c.fixed_by.as_deref(), c.matches.first().map(|m| m.entry_id.as_str()));

    // Staff dismisses: the answer is deleted and the case says so.
    let id = bot.sim.button(&dis, answer_msg, 999, &[STAFF_ROLE], CHANNEL_ID);
    bot.callback(id).await.expect("dismiss acknowledged");
    assert!(
        bot.sim
            .wait_for(T, |r| r.method == "DELETE" && r.path.contains("/messages/"))
            .await
            .is_some()
    );
    assert_eq!(bot.case(case).await.status, Status::Dismissed);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn burst_of_50_gets_one_reply() {
    let bot = Bot::start(|c| {
        c.user_cooldown_secs = 60;
        c.channel_cooldown_secs = 30;
    })
    .await;
    for i in 0..50u64 {
        bot.sim.message_create(CHANNEL_ID, USER_ID + i % 5, CPDB053_LOG, vec![]);
    }
    // Every message is diagnosed and recorded: 5 users sending the same evidence make 5 cases,
    // and the other 45 reports are folded into them as repeats.
    let deadline = Instant::now() + T;
    loop {
        let stats = bot.engine.db().case_stats(None).await.unwrap();
        if stats.total + stats.repeats >= 50 {
            assert_eq!(stats.total, 5, "one case per user, repeats folded");
            break;
        }
        assert!(Instant::now() < deadline, "not all messages were processed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(bot.replies(CHANNEL_ID).len(), 1);
    bot.stop().await;
}

/// Defect: with `api_base_url` set, a 429 on the reply POST lost the reply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_reply_is_sent_after_retry_after() {
    let bot = Bot::start(|_| {}).await;
    let path = format!("/channels/{CHANNEL_ID}/messages");
    bot.sim.fault("POST", &path, FaultKind::RateLimited(0.4), 1);
    let msg = bot.sim.message_create(CHANNEL_ID, USER_ID, CPDB053_LOG, vec![]);
    let reply = bot.reply_to(msg).await.expect("the reply arrives after the 429");
    let limited: Vec<Req> = bot.sim.requests().into_iter().filter(|r| r.status == 429).collect();
    assert_eq!(limited.len(), 1);
    let waited = reply.at.duration_since(limited[0].at);
    assert!(waited >= Duration::from_millis(400), "retried after {waited:?}");
    assert!(waited < Duration::from_secs(3), "retried after {waited:?}");
    assert_eq!(bot.replies(CHANNEL_ID).len(), 1);
    let (_, case) = Bot::buttons(&reply);
    let c = bot.case_becomes(case, Status::Answered).await;
    assert!(c.replied);
    bot.stop().await;
}

/// Defect: a failed send was recorded as answered, and the spent cooldown silenced the re-post.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_error_is_recorded_unanswered_and_a_later_post_is_answered() {
    let bot = Bot::start(|_| {}).await;
    let path = format!("/channels/{CHANNEL_ID}/messages");
    bot.sim.fault("POST", &path, FaultKind::Status(500), 1);
    let first = bot.sim.message_create(CHANNEL_ID, USER_ID, CPDB053_LOG, vec![]);
    let failed = bot.sim.wait_for(T, |r| r.status == 500).await.expect("the send failed");
    assert_eq!(failed.body["message_reference"]["message_id"], first.to_string());
    let (_, case) = Bot::buttons(&failed);
    // Not retried (a 500 may have posted), and not counted as answered.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(bot.sim.count(|r| r.method == "POST" && r.path.ends_with(&path)), 1);
    let c = bot.case(case).await;
    assert_eq!(c.status, Status::Open);
    assert!(!c.replied);
    assert_eq!(bot.engine.db().case_stats(None).await.unwrap().unanswered, 1);

    // The user posts again at once: answered (the cooldown was given back), same case.
    let again = bot.sim.message_create(CHANNEL_ID, USER_ID, CPDB053_LOG, vec![]);
    let reply = bot.reply_to(again).await.expect("the re-post is answered");
    assert_eq!(Bot::buttons(&reply).1, case);
    bot.case_becomes(case, Status::Answered).await;
    bot.stop().await;
}

/// Defect: "Not it" hid candidates more than 0.15 below the rejected match, and every press
/// posted a new public message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_it_offers_a_lower_candidate_in_the_same_message() {
    let bot = Bot::start(|_| {}).await;
    let text = spread_text(&bot.engine);
    let d = bot.engine.diagnose(&text);
    let ranked = bot.engine.runners_up(&text, 0.03, 5);
    assert!(d.reply && ranked.len() >= 2, "{:?}", ranked);
    let (top, second) = (&ranked[0], &ranked[1]);
    assert!(
        second.confidence < top.confidence - 0.15,
        "the test needs a candidate outside the old 0.15 window: {} {} / {} {}",
        top.id,
        top.confidence,
        second.id,
        second.confidence
    );
    let msg = bot.sim.message_create(CHANNEL_ID, USER_ID, &text, vec![]);
    let reply = bot.reply_to(msg).await.expect("answered");
    assert!(!text_of(&reply.body["embeds"]).contains(&format!("KB {}", second.id)));
    let (ids, case) = Bot::buttons(&reply);
    bot.case_becomes(case, Status::Answered).await;

    let id = bot.sim.button(&ids[1], Bot::posted(&reply), USER_ID, &[], CHANNEL_ID);
    let cb = bot.callback(id).await.expect("Not it answered");
    assert_eq!(cb.body["type"], 7, "the answer message is edited in place");
    let shown = text_of(&cb.body["data"]["embeds"]);
    assert!(shown.contains(&format!("KB {}", second.id)), "{shown}");
    assert!(!shown.contains("Nothing else"), "{shown}");
    let next = cb.body["data"]["components"][0]["components"][1]["custom_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(next.ends_with(&format!(":{}", second.id)), "{next}");
    assert_eq!(bot.case(case).await.status, Status::Wrong);

    // A second press edits the same message again; no public message is ever added.
    let id = bot.sim.button(&next, Bot::posted(&reply), USER_ID, &[], CHANNEL_ID);
    assert_eq!(bot.callback(id).await.unwrap().body["type"], 7);
    assert_eq!(bot.replies(CHANNEL_ID).len(), 1);
    bot.stop().await;
}

/// A training text the bot answers whose second listed finding is more than 0.15 below the
/// first, so the first answer does not show it. Found by diagnosing, not hard-coded: it
/// follows the KB and the fitted model.
fn spread_text(engine: &Engine) -> String {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("eval/train");
    let cases = qntcbot::rank::dataset::load_all(&[dir]).unwrap();
    cases
        .into_iter()
        .map(|c| c.text)
        .find(|t| {
            let d = engine.diagnose(t);
            let r = engine.runners_up(t, 0.03, 5);
            d.reply && r.len() >= 2 && r[1].confidence < r[0].confidence - 0.15
        })
        .expect("a training text with a well-separated second finding")
}

/// Defect: `/qntc case show` clipped the case text inside its code block.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case_show_keeps_its_code_fence_for_a_long_case() {
    let bot = Bot::start(|_| {}).await;
    let long = format!(
        "{CPDB053_LOG}\n```\n{}\n```\nand more ``` fences",
        "CPF9898 Escape message.  Some filler line of a long job log.\n".repeat(80)
    );
    assert!(long.len() > 4000);
    let msg = bot.sim.message_create(CHANNEL_ID, USER_ID, &long, vec![]);
    let reply = bot.reply_to(msg).await.expect("answered");
    let (_, case) = Bot::buttons(&reply);

    let opt = json!({"name": "id", "type": 4, "value": case});
    let id = bot
        .sim
        .slash(2, &["case", "show"], vec![opt], USER_ID, &[STAFF_ROLE], CHANNEL_ID);
    let cb = bot.callback(id).await.expect("answered");
    let embed = &cb.body["data"]["embeds"][0];
    let desc = embed["description"].as_str().unwrap();
    assert!(desc.starts_with("```\n"), "{desc}");
    assert!(desc.ends_with("\n```"), "{desc}");
    assert_eq!(desc.matches("```").count(), 2, "only the outer fence: {desc}");
    assert!(desc.contains('…'), "the text was shortened inside the fence");
    assert!(desc.chars().count() <= 4096);
    bot.stop().await;
}

/// Defect: `/qntc explain 3401` posted 5 public messages with 10 embeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_is_one_public_message_and_a_private_list() {
    let bot = Bot::start(|_| {}).await;
    let all = bot.engine.explain_code("3401").unwrap().findings.len();
    let q = json!({"name": "code", "type": 3, "value": "3401"});
    let id = bot.sim.slash(2, &["explain"], vec![q], USER_ID, &[], CHANNEL_ID);
    let cb = bot.callback(id).await.expect("explain answered");
    assert!(!ephemeral(&cb));
    let embeds = cb.body["data"]["embeds"].as_array().unwrap();
    assert!(text_of(&embeds[0]).contains("3401 = EACCES"), "{}", embeds[0]);
    let chars: usize = text_of(&cb.body["data"]["embeds"]).chars().count();
    assert!(chars < 6000 + 2000, "one message's worth of JSON: {chars}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Nothing else public: any follow-up is ephemeral.
    let followups: Vec<Req> = bot
        .sim
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.starts_with("/api/v10/webhooks/"))
        .collect();
    if all > qntcbot::conversation::EXPLAIN_LEADS {
        assert_eq!(followups.len(), 1, "the rest as one private list");
    }
    for f in &followups {
        assert_eq!(f.body["flags"].as_u64().unwrap_or(0) & 64, 64, "{}", f.body);
    }
    bot.stop().await;
}

/// Defect: the context-menu command had no cooldown and answered publicly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn context_menu_follows_the_cooldown_and_visibility_rules() {
    let bot = Bot::start(|_| {}).await;
    let target = message_json(
        bot.sim.next_id(),
        CHANNEL_ID,
        user_json(USER_ID, false),
        CPDB053_LOG,
        vec![],
    );
    let menu = |sim: &Sim, channel: u64| {
        let data = json!({
            "id": "600000000000000007", "name": "Diagnose with qntcbot", "type": 3,
            "target_id": target["id"],
            "resolved": {"messages": {target["id"].as_str().unwrap(): target.clone()}}
        });
        sim.interaction_raw(2, data, 777, &[], channel)
    };
    let first = menu(&bot.sim, CHANNEL_ID);
    let cb = bot.callback(first).await.expect("answered");
    assert!(!ephemeral(&cb), "first in a watched channel: public");
    let second = menu(&bot.sim, CHANNEL_ID);
    let cb = bot.callback(second).await.expect("answered");
    assert!(ephemeral(&cb), "cooling down: private");
    let elsewhere = menu(&bot.sim, OTHER_CHANNEL_ID);
    let cb = bot.callback(elsewhere).await.expect("answered");
    assert!(ephemeral(&cb), "unwatched channel: private");
    bot.stop().await;
}

/// Defect: diagnosis ran on the async workers, so big attachments froze the bot. Five big
/// logs at once, then a short message: the short one is answered first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn big_attachments_do_not_hold_up_a_short_message() {
    let bot = Bot::start(|c| {
        c.user_cooldown_secs = 0;
        c.channel_cooldown_secs = 0;
    })
    .await;
    let big = big_log(500 * 1024);
    let started = Instant::now();
    let d = bot.engine.diagnose(&big);
    let one = started.elapsed();
    assert!(d.reply, "the big log is answerable");
    let mut bigs = Vec::new();
    for i in 0..5u64 {
        let att = bot.sim.attachment(&format!("big{i}.txt"), big.as_bytes());
        bigs.push(
            bot.sim
                .message_create(CHANNEL_ID, USER_ID + 10 + i, "log attached", vec![att]),
        );
    }
    // Sent after the five have arrived and are being read.
    bot.sim
        .wait_arrival(T, |r| r.path == "/files/big4.txt")
        .await
        .expect("downloads started");
    let small = bot.sim.message_create(CHANNEL_ID, USER_ID, CPDB053_LOG, vec![]);
    let small_reply = bot.reply_to(small).await.expect("small answered");
    let mut last_big = small_reply.at;
    for b in &bigs {
        let r = bot.reply_to(*b).await.expect("big answered");
        last_big = last_big.max(r.at);
    }
    assert!(
        small_reply.at < last_big,
        "the short message waited for all five big ones (one big diagnosis takes {one:?})"
    );
    let before: usize = bigs
        .iter()
        .filter(|b| {
            let id = b.to_string();
            bot.replies(CHANNEL_ID).iter().any(|r| {
                r.body["message_reference"]["message_id"].as_str() == Some(id.as_str()) && r.at < small_reply.at
            })
        })
        .count();
    assert!(
        before <= 1,
        "{before} big logs were answered before the short message ({one:?} each)"
    );
    bot.stop().await;
}

/// A printed job log of about `bytes` bytes that ends in a CPDB053 with error code 3401.
fn big_log(bytes: usize) -> String {
    let filler = "CPF9898    Diagnostic             40   11/24/26  02:00:00.000000  QZLCSRVR     QSYS        *STMT    QZLCSRVR    QSYS        *STMT\n                                     Message . . . . :   Job step completed for share access.\n";
    let mut s = String::with_capacity(bytes + 1024);
    while s.len() < bytes {
        s.push_str(filler);
    }
    s.push_str(CPDB053_LOG);
    s
}

/// Reply latency: MESSAGE_CREATE sent by the simulator -> reply POST received by it, one
/// message at a time. The 50-at-once figure comes from `cargo bench --bench discord_reply`.
/// `cargo test --release --test discord_e2e latency -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn latency() {
    let bot = Bot::start(|c| {
        c.user_cooldown_secs = 0;
        c.channel_cooldown_secs = 0;
    })
    .await;
    let mut samples = Vec::new();
    for i in 0..220 {
        let sent = Instant::now();
        let msg = bot.sim.message_create(CHANNEL_ID, USER_ID, CPDB053_LOG, vec![]);
        let reply = bot.reply_to(msg).await.expect("a reply");
        if i >= 20 {
            samples.push(reply.at.duration_since(sent));
        }
    }
    samples.sort();
    let p = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    println!(
        "reply latency over {} messages: p50 {:?}, p99 {:?}, max {:?}",
        samples.len(),
        p(0.5),
        p(0.99),
        p(1.0)
    );
    bot.stop().await;
}

/// Defect check for shutdown: the release binary gets SIGTERM while its reply is in flight
/// (the simulator holds the POST for a second); it finishes the reply, records it, exits 0.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_reply_finishes_the_reply_and_exits_0() {
    let sim = Sim::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("qntcbot.toml");
    std::fs::write(
        &config,
        format!(
            "[discord]\napi_base_url = \"{}\"\nchannels = [{CHANNEL_ID}]\nguild_id = {GUILD_ID}\n",
            sim.base_url()
        ),
    )
    .unwrap();
    let db = dir.path().join("cases.db");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_qntcbot"))
        .arg("--db")
        .arg(&db)
        .arg("--kb")
        .arg(kb_dir())
        .arg("--config")
        .arg(&config)
        .arg("discord")
        .env("QNTCBOT_DISCORD_TOKEN", "sim-token")
        .env_remove("DISCORD_TOKEN")
        .env("HOME", dir.path())
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let pid = child.id();
    // Killed if the test fails before the binary exits.
    let mut guard = KillOnDrop(Some(pid));
    sim.wait_for(T, |r| r.method == "PUT" && r.path.ends_with("/commands"))
        .await
        .expect("commands registered");

    let path = format!("/channels/{CHANNEL_ID}/messages");
    sim.fault("POST", &path, FaultKind::Delay(Duration::from_millis(1500)), 1);
    let msg = sim.message_create(CHANNEL_ID, USER_ID, CPDB053_LOG, vec![]);
    sim.wait_arrival(T, |r| r.method == "POST" && r.path.ends_with(&path))
        .await
        .expect("the reply is in flight");
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());

    let waited = tokio::task::spawn_blocking(move || child.wait_with_output());
    let out = tokio::time::timeout(T, waited)
        .await
        .expect("exits within the drain timeout")
        .unwrap()
        .unwrap();
    guard.0 = None;
    let status = out.status;
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(status.success(), "exit {status:?}\n{stderr}");
    let id = msg.to_string();
    let reply = sim
        .requests()
        .into_iter()
        .find(|r| r.status == 200 && r.body["message_reference"]["message_id"].as_str() == Some(id.as_str()))
        .expect("the reply was completed");
    let case: i64 = reply.body["components"][0]["components"][0]["custom_id"]
        .as_str()
        .unwrap()
        .split(':')
        .nth(2)
        .unwrap()
        .parse()
        .unwrap();
    let dbh = qntcbot::db::Db::open(&db).await.unwrap();
    let c = dbh.get_case(case).await.unwrap().unwrap();
    assert_eq!(
        c.status,
        Status::Answered,
        "the send was recorded before exit\n{stderr}"
    );
    assert!(c.replied);
    dbh.close().await;
}

/// Kills the child this test started if the test fails while it runs.
struct KillOnDrop(Option<u32>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let Some(pid) = self.0 else { return };
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .stderr(std::process::Stdio::null())
            .status();
    }
}
