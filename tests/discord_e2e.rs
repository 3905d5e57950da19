//! The real serenity + poise client against the local Discord simulator, with the real engine
//! and knowledge base.

mod discord_sim;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use discord_sim::*;
use qntcbot::Engine;
use qntcbot::discord::core::SharedCore;
use qntcbot::discord::{DiscordConfig, EngineCore, Token};
use serde_json::{Value, json};
use tokio::sync::oneshot;

const T: Duration = Duration::from_secs(20);

const CPDB053_LOG: &str = "\
Our nightly CPYTOSTMF to the NAS broke after the upgrade, job log below:
CPDB053    Diagnostic             40   11/24/26  02:00:01.123456  QZLCSRVR     QSYS        *STMT    QZLCSRVR    QSYS        *STMT
                                     Message . . . . :   Error exchanging security information.
                                     Cause . . . . . :   Error code 3401 was returned.
";

fn kb_dir() -> PathBuf {
    std::env::var_os("QNTCBOT_TEST_KB")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("kb"))
}

struct Bot {
    sim: Sim,
    core: SharedCore,
    engine: Arc<Engine>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    _dir: tempfile::TempDir,
}

impl Bot {
    async fn start(tune: impl FnOnce(&mut DiscordConfig)) -> Bot {
        let sim = Sim::start().await;
        let dir = tempfile::tempdir().unwrap();
        let engine = Arc::new(Engine::open(&dir.path().join("cases.db"), &kb_dir()).await.unwrap());
        let core: SharedCore = Arc::new(EngineCore::new(engine.clone()));
        let mut cfg = DiscordConfig {
            token: Some(Token::new("sim-token")),
            api_base_url: Some(sim.base_url()),
            channels: vec![CHANNEL_ID],
            staff_role: Some(STAFF_ROLE),
            guild_id: Some(GUILD_ID),
            ..Default::default()
        };
        tune(&mut cfg);
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(qntcbot::discord::run_until(cfg, core.clone(), async {
            let _ = rx.await;
        }));
        let bot = Bot {
            sim,
            core,
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

    fn replies(&self, channel: u64) -> Vec<Req> {
        let path = format!("/api/v10/channels/{channel}/messages");
        self.sim
            .requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path == path)
            .collect()
    }

    async fn reply_to(&self, message: u64) -> Option<Req> {
        let id = message.to_string();
        self.sim
            .wait_for(T, move |r| {
                r.method == "POST" && r.body["message_reference"]["message_id"].as_str() == Some(id.as_str())
            })
            .await
    }

    async fn callback(&self, interaction: u64) -> Option<Req> {
        let path = format!("/api/v10/interactions/{interaction}/tok-{interaction}/callback");
        self.sim.wait_for(T, move |r| r.path == path).await
    }
}

fn text_of(v: &Value) -> String {
    v.to_string()
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
    let buttons = body["components"][0]["components"].as_array().unwrap();
    let fix = buttons[0]["custom_id"].as_str().unwrap();
    let case: i64 = fix.split(':').nth(2).unwrap().parse().unwrap();
    let c = bot.core.get_case(case).await.unwrap().expect("case recorded");
    assert_eq!(c.user_id, USER_ID.to_string());
    assert_eq!(c.entries.first(), Some(&top));
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
    assert_eq!(
        cb.body["data"]["flags"].as_u64().unwrap_or(0) & 64,
        0,
        "public in a watched channel"
    );

    let q = json!({"name": "query", "type": 3, "value": "CPDB053"});
    let id = bot.sim.slash(2, &["lookup"], vec![q], USER_ID, &[], OTHER_CHANNEL_ID);
    let cb = bot.callback(id).await.expect("lookup answered");
    assert_eq!(
        cb.body["data"]["flags"].as_u64().unwrap_or(0) & 64,
        64,
        "ephemeral elsewhere"
    );

    let q = json!({"name": "query", "type": 3, "value": "domain", "focused": true});
    let id = bot.sim.slash(4, &["lookup"], vec![q], USER_ID, &[], CHANNEL_ID);
    let cb = bot.callback(id).await.expect("autocomplete answered");
    assert_eq!(cb.body["type"], 8);
    let choices = cb.body["data"]["choices"].as_array().unwrap();
    let want = bot.engine.complete("domain", 25);
    assert!(!choices.is_empty() && choices.len() <= 25);
    assert_eq!(choices[0]["value"], json!(want[0].0));
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
    assert!(text_of(&cb.body).contains("staff"), "{}", cb.body);
    assert_eq!(cb.body["data"]["flags"].as_u64().unwrap_or(0) & 64, 64);

    let id = bot
        .sim
        .slash(2, &["case", "show"], vec![opt], USER_ID, &[STAFF_ROLE], CHANNEL_ID);
    let cb = bot.callback(id).await.expect("answered");
    assert!(text_of(&cb.body).contains("No case #1"), "{}", cb.body);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buttons_record_feedback_and_reject_forgeries() {
    let bot = Bot::start(|_| {}).await;
    let msg = bot.sim.message_create(CHANNEL_ID, USER_ID, CPDB053_LOG, vec![]);
    let reply = bot.reply_to(msg).await.expect("a reply");
    let buttons = reply.body["components"][0]["components"].as_array().unwrap().clone();
    let fix = buttons[0]["custom_id"].as_str().unwrap().to_string();
    let case: i64 = fix.split(':').nth(2).unwrap().parse().unwrap();
    let answer_msg = message_json(bot.sim.next_id(), CHANNEL_ID, user_json(BOT_ID, true), "", vec![]);

    // Forged: a case that does not exist, and an entry the case never offered.
    let id = bot.sim.button(
        "qntc:fix:999:cpdb053-triage",
        answer_msg.clone(),
        USER_ID,
        &[],
        CHANNEL_ID,
    );
    assert!(text_of(&bot.callback(id).await.unwrap().body).contains("no longer exists"));
    let forged = format!("qntc:fix:{case}:not-offered");
    let id = bot.sim.button(&forged, answer_msg.clone(), USER_ID, &[], CHANNEL_ID);
    assert!(text_of(&bot.callback(id).await.unwrap().body).contains("does not belong"));
    // A case the bot answered is "answered" until someone says more.
    assert_eq!(bot.core.get_case(case).await.unwrap().unwrap().status, "answered");

    // Dismiss by someone else: refused, nothing deleted.
    let dis = buttons[2]["custom_id"].as_str().unwrap();
    let id = bot.sim.button(dis, answer_msg.clone(), 12345, &[], CHANNEL_ID);
    assert!(text_of(&bot.callback(id).await.unwrap().body).contains("Only the person"));
    assert_eq!(bot.sim.count(|r| r.method == "DELETE"), 0);

    let id = bot.sim.button(&fix, answer_msg.clone(), USER_ID, &[], CHANNEL_ID);
    bot.callback(id).await.expect("fix acknowledged");
    let c = bot.core.get_case(case).await.unwrap().unwrap();
    assert_eq!(c.status, "resolved");
    assert_eq!(c.resolved_entry.as_deref(), c.entries.first().map(String::as_str));

    // The asker dismisses: the answer is deleted.
    let id = bot.sim.button(dis, answer_msg, USER_ID, &[], CHANNEL_ID);
    bot.callback(id).await.expect("dismiss acknowledged");
    assert!(
        bot.sim
            .wait_for(T, |r| r.method == "DELETE" && r.path.contains("/messages/"))
            .await
            .is_some()
    );
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

/// Reply latency: MESSAGE_CREATE sent by the simulator -> reply POST received by it.
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
    assert!(p(0.99) < Duration::from_millis(50), "p99 {:?}", p(0.99));
    bot.stop().await;
}
