//! [`Core`] over the real [`Engine`] and its case log in SQLite.

use std::sync::Arc;

use chrono::{Duration as ChronoDuration, Utc};
use serenity::async_trait;

use super::core::{Answer, CaseOrigin, CaseQuery, CaseView, Core, StatsView, Verdict};
use crate::cases::{Case, CaseFilter, NewCase, Status};
use crate::{Diagnosis, Engine};

pub struct EngineCore {
    engine: Arc<Engine>,
}

impl EngineCore {
    pub fn new(engine: Arc<Engine>) -> EngineCore {
        EngineCore { engine }
    }
}

fn view(c: Case) -> CaseView {
    let mut topics: Vec<String> = Vec::new();
    for m in &c.matches {
        for t in &m.topics {
            if !topics.contains(t) {
                topics.push(t.clone());
            }
        }
    }
    CaseView {
        id: c.id,
        status: c.status.to_string(),
        user_id: c.user_id.unwrap_or_default(),
        user_name: c.user_name.unwrap_or_default(),
        text: c.text,
        message_link: c.message_link,
        entries: c.matches.iter().map(|m| m.entry_id.clone()).collect(),
        resolved_entry: c.fixed_by,
        topics,
        created: c.created_at.format("%Y-%m-%d %H:%M").to_string(),
    }
}

#[async_trait]
impl Core for EngineCore {
    fn diagnose(&self, text: &str) -> Diagnosis {
        self.engine.diagnose(text)
    }

    fn answer(&self, d: &Diagnosis) -> Answer {
        self.engine.answer(d)
    }

    async fn lookup(&self, query: &str, limit: usize) -> Vec<Answer> {
        self.engine.lookup(query, limit).await
    }

    fn complete(&self, partial: &str, limit: usize) -> Vec<(String, String)> {
        self.engine.complete(partial, limit)
    }

    fn explain_code(&self, query: &str) -> Option<Answer> {
        self.engine.explain_code(query)
    }

    async fn reload_kb(&self) -> anyhow::Result<String> {
        Ok(self.engine.reload_kb().await?.to_string())
    }

    async fn record_case(&self, origin: CaseOrigin, text: &str, d: &Diagnosis, replied: bool) -> anyhow::Result<i64> {
        let case = NewCase {
            platform: "discord",
            workspace: origin.workspace.as_deref(),
            channel: Some(&origin.channel),
            thread: origin.thread.as_deref(),
            message_link: origin.message_link.as_deref(),
            user_id: Some(&origin.user_id),
            user_name: Some(&origin.user_name),
            text,
            diagnosis: d,
            replied,
        };
        Ok(self
            .engine
            .db()
            .record_case(case, self.engine.case_settings())
            .await?
            .id)
    }

    async fn judge(&self, case: i64, verdict: Verdict, entry: &str, by: &str) -> anyhow::Result<()> {
        let status = match verdict {
            Verdict::Fixed => Status::Resolved,
            Verdict::Wrong => Status::Wrong,
        };
        self.engine
            .db()
            .set_case_status(case, status, by, Some(entry), None)
            .await?;
        // What users just said changes the ranking of the next similar case.
        self.engine.refresh_priors().await;
        Ok(())
    }

    async fn get_case(&self, id: i64) -> anyhow::Result<Option<CaseView>> {
        Ok(self.engine.db().get_case(id).await?.map(view))
    }

    async fn list_cases(&self, q: &CaseQuery) -> anyhow::Result<Vec<CaseView>> {
        let filter = CaseFilter {
            topic: q.topic.clone(),
            user: q.user_id.clone(),
            status: q.status.as_deref().map(str::parse).transpose()?,
            since: q.days.map(|d| Utc::now() - ChronoDuration::days(i64::from(d))),
            limit: Some(u32::try_from(q.limit.max(1)).unwrap_or(u32::MAX)),
            ..CaseFilter::default()
        };
        Ok(self
            .engine
            .db()
            .list_cases(&filter)
            .await?
            .into_iter()
            .map(view)
            .collect())
    }

    async fn stats(&self, days: u32) -> anyhow::Result<StatsView> {
        let since = Utc::now() - ChronoDuration::days(i64::from(days));
        let s = self.engine.db().case_stats(Some(since)).await?;
        let count = |k: &str| s.by_status.get(k).copied().unwrap_or(0);
        let mut lines = vec![
            format!("{} case(s), {} repeat report(s)", s.total, s.repeats),
            format!(
                "{} resolved, {} answered, {} open, {} wrong, {} dismissed; {} unanswered",
                count("resolved"),
                count("answered"),
                count("open"),
                count("wrong"),
                count("dismissed"),
                s.unanswered
            ),
        ];
        if let Some(m) = s.median_resolution_secs {
            lines.push(format!("median time to resolution: {:.1} h", m / 3600.0));
        }
        if !s.top_topics.is_empty() {
            let top: Vec<String> = s
                .top_topics
                .iter()
                .take(5)
                .map(|t| format!("{} ({})", t.topic, t.cases))
                .collect();
            lines.push(format!("top problems: {}", top.join(", ")));
        }
        Ok(StatsView { lines })
    }

    async fn close(&self) {
        self.engine.db().close().await;
    }
}
