//! The release binary `qntcbot slack` end to end: the real HTTP server receives requests
//! signed with a test secret, and talks to a local fake of Slack's Web API (`slack_sim`).
//! No internet.

mod slack_sim;

use std::time::Duration;

use serde_json::{Value, json};
use slack_sim::*;

mod common;

use common::CPDB053_LOG;

/// The NetServer-domain finding the CPDB053 log above leads to.
const DOMAIN_ENTRY: &str = "netserver-domain-mismatch";

/// Long enough for a quiet message to have been answered if it were going to be.
const SETTLE: Duration = Duration::from_millis(700);

fn all_text(v: &Value) -> String {
    v.to_string()
}

fn reply_for(fake: &Fake, channel: &str, ts: &str) -> Vec<Call> {
    fake.posts_in(channel)
        .into_iter()
        .filter(|c| c.body["thread_ts"] == ts)
        .collect()
}

async fn wait_reply(bot: &Bot, channel: &str, ts: &str) -> Call {
    let (c, t) = (channel.to_string(), ts.to_string());
    bot.fake
        .wait_for(T, move |r| {
            r.method == "chat.postMessage"
                && r.done
                && r.body["channel"] == c.as_str()
                && r.body["thread_ts"] == t.as_str()
        })
        .await
        .unwrap_or_else(|| panic!("no reply to {ts}; calls: {:?}", bot.fake.calls()))
}

/// Waits until the bot has recorded the answer to case `id` as delivered (it does so right
/// after Slack accepted the post), so that a button press can be checked against it.
async fn wait_answered(bot: &Bot, id: i64) {
    let end = std::time::Instant::now() + T;
    while bot.case(id)["status"] != "answered" {
        assert!(
            std::time::Instant::now() < end,
            "case {id} never marked answered: {}",
            bot.case(id)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn posted_ts(post: &Call) -> String {
    post.ts.clone().expect("a posted message has a ts")
}

fn case_id_of(post: &Call) -> i64 {
    let text = all_text(&post.body);
    let i = text.find("case #").expect("case id in the answer");
    text[i + 6..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

fn button_labels(post: &Call) -> Vec<String> {
    post.body["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["type"] == "actions")
        .flat_map(|b| b["elements"].as_array().unwrap().clone())
        .map(|e| e["text"]["text"].as_str().unwrap().to_string())
        .collect()
}

fn check_block_limits(blocks: &Value) {
    let blocks = blocks.as_array().expect("blocks");
    assert!(blocks.len() <= 50, "{} blocks", blocks.len());
    for b in blocks {
        match b["type"].as_str().unwrap() {
            "header" => assert!(b["text"]["text"].as_str().unwrap().chars().count() <= 150),
            "section" => {
                let t = b["text"]["text"].as_str().unwrap();
                assert!(t.chars().count() <= 3000);
                assert_eq!(t.matches("```").count() % 2, 0, "code block cut: {t}");
            }
            "actions" => {
                for e in b["elements"].as_array().unwrap() {
                    assert!(e["text"]["text"].as_str().unwrap().chars().count() <= 75);
                    assert!(e["value"].as_str().unwrap().chars().count() <= 2000);
                }
            }
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn url_verification_echoes_the_challenge() {
    let bot = Bot::start("").await;
    let body = json!({"token": "legacy", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"});
    let r = bot.client.event(&body).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json()["challenge"],
        "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_log_gets_one_threaded_reply_with_the_domain_finding_and_a_case() {
    let bot = Bot::start("").await;
    let ts = next_ts();
    let r = bot.client.event(&message("C1", "U1", &ts, CPDB053_LOG)).await;
    assert_eq!(r.status, 200);
    assert!(r.took < Duration::from_secs(3), "acknowledged in {:?}", r.took);
    let post = wait_reply(&bot, "C1", &ts).await;
    assert_eq!(post.auth.as_deref(), Some(format!("Bearer {TOKEN}").as_str()));
    let text = all_text(&post.body);
    assert!(text.contains(DOMAIN_ENTRY), "{text}");
    assert!(text.contains("Confidence"), "{text}");
    assert!(text.contains("```"), "commands as code: {text}");
    assert_eq!(button_labels(&post), ["Fixed it", "Not it", "Dismiss"]);
    check_block_limits(&post.body["blocks"]);

    // The same message again as app_mention (Slack sends both): no second answer.
    let mention = callback(
        json!({"type": "app_mention", "channel": "C1", "user": "U1", "ts": ts, "text": format!("<@{BOT_USER}> {}", slack_escape(CPDB053_LOG))}),
    );
    assert_eq!(bot.client.event(&mention).await.status, 200);
    tokio::time::sleep(SETTLE).await;
    assert_eq!(reply_for(&bot.fake, "C1", &ts).len(), 1);

    let cases = bot.cases();
    assert_eq!(cases.len(), 1, "{cases:?}");
    let c = &cases[0];
    assert_eq!(c["id"].as_i64().unwrap(), case_id_of(&post));
    assert_eq!(c["channel"], "C1");
    assert_eq!(c["user_id"], "U1");
    assert_eq!(c["platform"], "slack");
    assert_eq!(c["status"], "answered");
    assert_eq!(c["matches"][0]["entry_id"], DOMAIN_ENTRY);
    assert!(c["matches"][0]["title"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chit_chat_cpf9801_and_bots_get_no_reply() {
    let bot = Bot::start("").await;
    let quiet = [
        ("U1", "good morning all, coffee is ready"),
        ("U2", "CPF9801 Object MYFILE in library MYLIB not found."),
    ];
    let mut tss = Vec::new();
    for (user, text) in quiet {
        let ts = next_ts();
        assert_eq!(bot.client.event(&message("C1", user, &ts, text)).await.status, 200);
        tss.push(ts);
    }
    // Another bot, and the bot itself, pasting a job log: never read.
    let ts_bot = next_ts();
    let other_bot = callback(
        json!({"type": "message", "subtype": "bot_message", "bot_id": "BOTHER", "channel": "C1", "ts": ts_bot, "text": CPDB053_LOG}),
    );
    bot.client.event(&other_bot).await;
    let ts_self = next_ts();
    bot.client.event(&message("C1", BOT_USER, &ts_self, CPDB053_LOG)).await;
    let ts_bot_user = next_ts();
    let with_bot_id = callback(
        json!({"type": "message", "user": "U9", "bot_id": "B9", "channel": "C1", "ts": ts_bot_user, "text": CPDB053_LOG}),
    );
    bot.client.event(&with_bot_id).await;

    // A real report in another channel is answered: the quiet ones had their chance.
    let sentinel = next_ts();
    bot.client.event(&message("C2", "U3", &sentinel, CPDB053_LOG)).await;
    wait_reply(&bot, "C2", &sentinel).await;
    tokio::time::sleep(SETTLE).await;
    assert!(bot.fake.posts_in("C1").is_empty(), "{:?}", bot.fake.posts_in("C1"));
    assert!(bot.fake.calls_of("chat.postEphemeral").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_text_file_is_read_with_the_token_and_answered() {
    let bot = Bot::start("max_file_bytes = 4096").await;
    let url = bot.fake.add_file("joblog.txt", CPDB053_LOG.as_bytes());
    let huge = bot.fake.add_file("huge.txt", CPDB053_LOG.repeat(200).as_bytes());
    let ts = next_ts();
    let ev = callback(json!({
        "type": "message", "subtype": "file_share", "channel": "C1", "user": "U1", "ts": ts,
        "text": "here is the job log",
        "files": [
            {"id": "F2", "name": "huge.txt", "mimetype": "text/plain", "filetype": "text", "size": CPDB053_LOG.len() * 200, "url_private": huge},
            {"id": "F1", "name": "joblog.txt", "mimetype": "text/plain", "filetype": "text", "size": CPDB053_LOG.len(), "url_private": url},
        ],
    }));
    assert_eq!(bot.client.event(&ev).await.status, 200);
    let post = wait_reply(&bot, "C1", &ts).await;
    assert!(all_text(&post.body).contains(DOMAIN_ENTRY));
    let dl = bot.fake.calls_of("file:joblog.txt");
    assert_eq!(dl.len(), 1);
    assert_eq!(dl[0].auth.as_deref(), Some(format!("Bearer {TOKEN}").as_str()));
    assert!(
        bot.fake.calls_of("file:huge.txt").is_empty(),
        "over the limit: checked before download"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retried_event_gets_no_second_reply() {
    let bot = Bot::start("").await;
    let ts = next_ts();
    let ev = message("C1", "U1", &ts, CPDB053_LOG);
    bot.client.event(&ev).await;
    wait_reply(&bot, "C1", &ts).await;
    // Slack's retries: same event id, signed again, with X-Slack-Retry-Num.
    for n in 1..=3 {
        let b = ev.to_string().into_bytes();
        let mut h = signed(&b, now());
        h.push(("x-slack-retry-num", n.to_string()));
        h.push(("x-slack-retry-reason", "http_timeout".into()));
        let r = bot.client.raw("/slack/events", "application/json", b, h).await;
        assert_eq!(r.status, 200);
    }
    tokio::time::sleep(SETTLE).await;
    assert_eq!(reply_for(&bot.fake, "C1", &ts).len(), 1);
    assert_eq!(bot.cases().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_stale_unsigned_and_replayed_requests_get_401_and_nothing_else() {
    let bot = Bot::start("").await;
    let ev = message("C1", "U1", &next_ts(), CPDB053_LOG);
    let body = ev.to_string().into_bytes();

    // Forged: signed with another secret.
    let ts = now().to_string();
    let forged = vec![
        ("x-slack-request-timestamp", ts.clone()),
        (
            "x-slack-signature",
            qntcbot::slack::verify::sign("not-the-secret", &ts, &body),
        ),
    ];
    // Stale: correctly signed, ten minutes old.
    let stale = signed(&body, now() - 600);
    for (name, headers) in [("forged", forged), ("stale", stale), ("unsigned", vec![])] {
        for path in ["/slack/events", "/slack/commands", "/slack/interactivity"] {
            let r = bot
                .client
                .raw(path, "application/json", body.clone(), headers.clone())
                .await;
            assert_eq!(r.status, 401, "{name} {path}");
        }
    }
    // A body changed after signing.
    let good = signed(&body, now());
    let mut tampered = body.clone();
    let last = tampered.len() - 2;
    tampered[last] = b' ';
    assert_eq!(
        bot.client
            .raw("/slack/events", "application/json", tampered, good)
            .await
            .status,
        401
    );
    // Replayed: the exact same signed request twice.
    let once = signed(b"{\"type\":\"url_verification\",\"challenge\":\"x\"}", now());
    let b = b"{\"type\":\"url_verification\",\"challenge\":\"x\"}".to_vec();
    assert_eq!(
        bot.client
            .raw("/slack/events", "application/json", b.clone(), once.clone())
            .await
            .status,
        200
    );
    assert_eq!(
        bot.client
            .raw("/slack/events", "application/json", b, once)
            .await
            .status,
        401
    );

    tokio::time::sleep(SETTLE).await;
    assert!(
        bot.fake.calls().iter().all(|c| c.method == "auth.test"),
        "an unverified request caused {:?}",
        bot.fake.calls()
    );
    assert!(bot.cases().is_empty());
    assert!(bot.log_has("refused an unverified Slack request"));
    assert!(
        bot.log_has("stale timestamp")
            && bot.log_has("bad signature")
            && bot.log_has("unsigned")
            && bot.log_has("replayed")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slash_lookup_and_explain_3401() {
    let bot = Bot::start("").await;
    let resp = format!("{}/response/1", bot.fake.base);
    let r = bot.client.command("U1", "lookup CPDB053", &resp).await;
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["response_type"], "ephemeral");
    check_block_limits(&v["blocks"]);
    assert!(
        all_text(&v).contains("CPDB053") || all_text(&v).contains("cpdb053"),
        "{v}"
    );

    let r = bot
        .client
        .command("U1", "public lookup netserver-domain-mismatch", &resp)
        .await;
    let v = r.json();
    assert_eq!(v["response_type"], "in_channel");
    assert!(all_text(&v).contains(DOMAIN_ENTRY));

    let r = bot.client.command("U1", "explain 3401", &resp).await;
    let v = r.json();
    assert_eq!(v["response_type"], "ephemeral");
    check_block_limits(&v["blocks"]);
    let text = all_text(&v);
    assert!(text.contains("EACCES"), "{text}");
    assert!(text.len() < 20_000, "explain stays short: {} bytes", text.len());

    let r = bot.client.command("U1", "explain NOSUCHCODE", &resp).await;
    assert!(all_text(&r.json()).contains("I do not know the code"));
    let r = bot.client.command("U1", "", &resp).await;
    assert!(all_text(&r.json()).contains("/qntc lookup"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_commands_need_staff() {
    let bot = Bot::start("staff_user_group = \"SSTAFF\"").await;
    let resp = format!("{}/response/1", bot.fake.base);
    let ts = next_ts();
    bot.client.event(&message("C1", "U1", &ts, CPDB053_LOG)).await;
    let post = wait_reply(&bot, "C1", &ts).await;
    let id = case_id_of(&post);
    wait_answered(&bot, id).await;

    for cmd in [
        format!("case show {id}"),
        "case list".into(),
        format!("case resolve {id} {DOMAIN_ENTRY}"),
        "kb reload".into(),
    ] {
        let v = bot.client.command("U1", &cmd, &resp).await.json();
        assert!(all_text(&v).contains("support staff only"), "{cmd}: {v}");
    }
    let v = bot
        .client
        .command(STAFF, &format!("case show {id}"), &resp)
        .await
        .json();
    check_block_limits(&v["blocks"]);
    assert!(all_text(&v).contains(&format!("Case #{id}")), "{v}");
    let v = bot
        .client
        .command(GROUP_MEMBER, "case list status answered", &resp)
        .await
        .json();
    assert!(all_text(&v).contains(&format!("#{id}")), "{v}");
    assert!(!bot.fake.calls_of("usergroups.users.list").is_empty());
    let v = bot
        .client
        .command(STAFF, &format!("case resolve {id} {DOMAIN_ENTRY}"), &resp)
        .await
        .json();
    assert!(all_text(&v).contains("resolved"), "{v}");
    assert_eq!(bot.case(id)["status"], "resolved");
    let v = bot.client.command(STAFF, "case resolve 99999 x", &resp).await.json();
    assert!(all_text(&v).contains("There is no case #99999"), "{v}");
    let v = bot.client.command("U1", "stats 7", &resp).await.json();
    assert!(all_text(&v).contains("1 case(s)"), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buttons_fixed_it_not_it_and_dismiss_by_someone_else() {
    let bot = Bot::start("").await;
    let resp = format!("{}/response/2", bot.fake.base);

    // Dismiss by another user: refused, privately; the answer stays.
    let ts = next_ts();
    bot.client.event(&message("C1", "U1", &ts, CPDB053_LOG)).await;
    let post = wait_reply(&bot, "C1", &ts).await;
    let at = posted_ts(&post);
    let id = case_id_of(&post);
    wait_answered(&bot, id).await;
    let r = bot
        .client
        .press(&press_payload("U2", "C1", &post, &at, "Dismiss", &resp))
        .await;
    assert_eq!(r.status, 200);
    let notice = bot
        .fake
        .wait_for(T, |c| c.method == "chat.postEphemeral" && c.body["user"] == "U2")
        .await
        .expect("an ephemeral notice");
    assert!(
        all_text(&notice.body).contains("Only the person who asked"),
        "{}",
        notice.body
    );
    assert!(bot.fake.calls_of("chat.delete").is_empty());
    assert_eq!(bot.case(id)["status"], "answered");

    // Not it by the asker: the same message now offers the next finding.
    let r = bot
        .client
        .press(&press_payload("U1", "C1", &post, &at, "Not it", &resp))
        .await;
    assert_eq!(r.status, 200);
    let upd = bot
        .fake
        .wait_for(T, |c| c.method == "chat.update" && c.done)
        .await
        .expect("the answer is updated");
    assert_eq!(upd.body["ts"], at.as_str());
    let updated = all_text(&upd.body);
    assert!(
        !updated.contains(&format!("KB {DOMAIN_ENTRY}")),
        "the rejected entry is not offered again: {updated}"
    );
    assert!(
        updated.contains("instead") || updated.contains("Nothing else"),
        "{updated}"
    );
    check_block_limits(&upd.body["blocks"]);
    assert_eq!(bot.case(id)["status"], "wrong");

    // Fixed it by the asker, on a fresh case: resolved.
    let ts2 = next_ts();
    bot.client.event(&message("C2", "U5", &ts2, CPDB053_LOG)).await;
    let post2 = wait_reply(&bot, "C2", &ts2).await;
    let at2 = posted_ts(&post2);
    let id2 = case_id_of(&post2);
    wait_answered(&bot, id2).await;
    bot.client
        .press(&press_payload("U5", "C2", &post2, &at2, "Fixed it", &resp))
        .await;
    bot.fake
        .wait_for(T, |c| c.method == "chat.postEphemeral" && c.body["user"] == "U5")
        .await
        .expect("a thank-you");
    let c = bot.case(id2);
    assert_eq!(c["status"], "resolved");
    assert_eq!(c["fixed_by"], DOMAIN_ENTRY);

    // Dismiss by the asker: the answer is removed and the case says so.
    let ts3 = next_ts();
    bot.client.event(&message("C3", "U6", &ts3, CPDB053_LOG)).await;
    let post3 = wait_reply(&bot, "C3", &ts3).await;
    let at3 = posted_ts(&post3);
    wait_answered(&bot, case_id_of(&post3)).await;
    bot.client
        .press(&press_payload("U6", "C3", &post3, &at3, "Dismiss", &resp))
        .await;
    let del = bot
        .fake
        .wait_for(T, |c| c.method == "chat.delete")
        .await
        .expect("deleted");
    assert_eq!(del.body["ts"], at3.as_str());
    assert_eq!(bot.case(case_id_of(&post3))["status"], "dismissed");

    // A forged button value.
    let mut forged = press_payload("U1", "C1", &post, &at, "Fixed it", &resp);
    forged["actions"][0]["value"] = json!("qntc:fix:1:../../etc");
    bot.client.press(&forged).await;
    bot.fake
        .wait_for(T, |c| {
            c.method == "chat.postEphemeral" && all_text(&c.body).contains("not one of mine")
        })
        .await
        .expect("refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn burst_of_30_respects_the_cooldown() {
    let bot = Bot::start("").await;
    let mut sends = Vec::new();
    for i in 0..30 {
        let c = bot.client.clone();
        let ev = message("C1", &format!("UB{i:02}"), &next_ts(), CPDB053_LOG);
        sends.push(tokio::spawn(async move { c.event(&ev).await.status }));
    }
    for s in sends {
        assert_eq!(s.await.unwrap(), 200);
    }
    bot.fake
        .wait_for(T, |c| c.method == "chat.postMessage" && c.done)
        .await
        .expect("one answer");
    // Every message is recorded as a case; wait for all of them.
    let end = std::time::Instant::now() + T;
    while bot.cases().len() < 30 && std::time::Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(SETTLE).await;
    assert_eq!(
        bot.fake.posts_in("C1").len(),
        1,
        "the channel cooldown allows one answer"
    );
    let cases = bot.cases();
    assert_eq!(cases.len(), 30);
    assert_eq!(cases.iter().filter(|c| c["status"] == "answered").count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_429_then_success_and_a_failed_send_is_recorded() {
    let bot = Bot::start("").await;
    bot.fake.script("chat.postMessage", Script::Status(429, Some(1)));
    let ts = next_ts();
    bot.client.event(&message("C1", "U1", &ts, CPDB053_LOG)).await;
    let post = wait_reply(&bot, "C1", &ts).await;
    let refused = bot.fake.calls_of("chat.postMessage (refused 429)");
    assert_eq!(refused.len(), 1);
    let waited = post.at.duration_since(refused[0].at);
    assert!(
        waited >= Duration::from_millis(900),
        "Retry-After honoured: waited {waited:?}"
    );
    wait_answered(&bot, case_id_of(&post)).await;

    // A lasting error: logged, and the case says nobody was answered.
    bot.fake
        .script("chat.postMessage", Script::SlackError("channel_not_found"));
    let ts2 = next_ts();
    bot.client.event(&message("C2", "U2", &ts2, CPDB053_LOG)).await;
    bot.fake
        .wait_for(T, |c| c.method.starts_with("chat.postMessage (error"))
        .await
        .expect("the send was tried");
    let end = std::time::Instant::now() + T;
    while !bot.log_has("answer not delivered") && std::time::Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(bot.log_has("answer not delivered"));
    let cases = bot.cases();
    let c = cases.iter().find(|c| c["channel"] == "C2").expect("case recorded");
    assert_eq!(c["replied"], false);
    assert_eq!(c["status"], "open");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_are_answered_when_the_evidence_changes() {
    let bot = Bot::start("").await;
    let ts = next_ts();
    bot.client.event(&message("C1", "U1", &ts, "anyone around?")).await;
    tokio::time::sleep(SETTLE).await;
    let edit = callback(json!({
        "type": "message", "subtype": "message_changed", "channel": "C1", "hidden": true, "ts": next_ts(),
        "message": {"type": "message", "user": "U1", "ts": ts, "text": slack_escape(CPDB053_LOG), "edited": {"user": "U1", "ts": next_ts()}},
        "previous_message": {"type": "message", "user": "U1", "ts": ts, "text": "anyone around?"},
    }));
    bot.client.event(&edit).await;
    let post = wait_reply(&bot, "C1", &ts).await;
    assert!(all_text(&post.body).contains(DOMAIN_ENTRY));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_text_is_escaped_and_never_broadcasts() {
    let bot = Bot::start("").await;
    let ts = next_ts();
    let text = format!("<!channel> @here @everyone look & see <b>this</b>\n{CPDB053_LOG}");
    bot.client.event(&message("C1", "U1", &ts, &text)).await;
    let post = wait_reply(&bot, "C1", &ts).await;
    let all = all_text(&post.body).to_ascii_lowercase();
    for bad in ["<!channel>", "<!here>", "@here", "@channel", "@everyone", "<b>"] {
        assert!(!all.contains(bad), "{bad} in {all}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_the_reply_in_flight_and_exits_0() {
    let mut bot = Bot::start("").await;
    bot.fake
        .script("chat.postMessage", Script::Stall(Duration::from_secs(2)));
    let ts = next_ts();
    bot.client.event(&message("C1", "U1", &ts, CPDB053_LOG)).await;
    bot.fake
        .wait_for(T, |c| c.method == "chat.postMessage")
        .await
        .expect("the reply is being sent");
    let (code, took) = tokio::task::block_in_place(|| bot.terminate());
    assert_eq!(code, Some(0), "log: {:?}", bot.log.lock().unwrap());
    assert!(took < Duration::from_secs(10), "exited after {took:?}");
    assert_eq!(
        reply_for(&bot.fake, "C1", &ts).len(),
        1,
        "the reply in flight was finished"
    );
    let cases = bot.cases();
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0]["status"], "answered");
}

#[test]
fn missing_secrets_exit_2_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_qntcbot"))
        .current_dir(dir.path())
        .arg("--db")
        .arg(dir.path().join("x.db"))
        .arg("slack")
        .env_remove("QNTCBOT_SLACK_BOT_TOKEN")
        .env_remove("QNTCBOT_SLACK_SIGNING_SECRET")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("QNTCBOT_SLACK_BOT_TOKEN") && err.contains("QNTCBOT_SLACK_SIGNING_SECRET"),
        "{err}"
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_qntcbot"))
        .current_dir(dir.path())
        .arg("--db")
        .arg(dir.path().join("x.db"))
        .arg("slack")
        .env("QNTCBOT_SLACK_BOT_TOKEN", "xoxb-1")
        .env_remove("QNTCBOT_SLACK_SIGNING_SECRET")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("QNTCBOT_SLACK_SIGNING_SECRET") && !err.contains("xoxb-1"),
        "{err}"
    );
}
