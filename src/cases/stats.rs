//! Reports over the case log, and the priors that feed ranking.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, Utc};
use serde::Serialize;

use super::{CaseError, from_millis, to_millis};
use crate::db::Db;
use crate::diagnose::{PriorStat, Priors};

/// How many entries and topics the "top" lists keep.
const TOP: i64 = 10;

#[derive(Debug, Clone, Default, Serialize)]
pub struct CaseStats {
    pub since: Option<DateTime<Utc>>,
    pub total: u64,
    /// Folded repeat reports on top of `total`.
    pub repeats: u64,
    /// Cases per current status.
    pub by_status: BTreeMap<String, u64>,
    /// Cases per topic of the entry offered first, per ISO week, oldest week first.
    pub per_topic_week: Vec<TopicWeek>,
    /// Most frequent entries offered first, by cases.
    pub top_entries: Vec<EntryCount>,
    /// Most frequent topics, by cases.
    pub top_topics: Vec<TopicCount>,
    /// Feedback on the entry offered first.
    pub helpfulness: Vec<EntryHelpfulness>,
    /// Median time from opening to resolution over resolved cases, in seconds.
    pub median_resolution_secs: Option<f64>,
    /// Cases the bot did not answer and nobody has dealt with yet.
    pub unanswered: u64,
    /// Cases for which no entry was offered at all.
    pub unmatched: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopicWeek {
    pub topic: String,
    /// ISO week, e.g. `2026-W05`.
    pub week: String,
    pub cases: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryCount {
    pub entry_id: String,
    pub title: String,
    pub cases: u64,
    /// Cases plus folded repeats.
    pub reports: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopicCount {
    pub topic: String,
    pub cases: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntryHelpfulness {
    pub entry_id: String,
    pub helpful: u64,
    pub unhelpful: u64,
    /// helpful / (helpful + unhelpful).
    pub rate: f64,
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn stat(priors: &mut Priors, key: String, entry: String) -> &mut PriorStat {
    priors.by_key.entry(key).or_default().entry(entry).or_default()
}

fn iso_week(t: DateTime<Utc>) -> String {
    let w = t.iso_week();
    format!("{}-W{:02}", w.year(), w.week())
}

fn median(mut v: Vec<i64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[mid] as f64
    } else {
        (v[mid - 1] as f64 + v[mid] as f64) / 2.0
    })
}

impl Db {
    /// Reports over cases opened since `since` (all cases when `None`).
    #[tracing::instrument(skip_all)]
    pub async fn case_stats(&self, since: Option<DateTime<Utc>>) -> Result<CaseStats, CaseError> {
        let from = since.map_or(i64::MIN, to_millis);
        let mut stats = CaseStats {
            since,
            ..CaseStats::default()
        };

        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT status, count(*), coalesce(sum(repeats), 0) FROM cases WHERE created_at >= ? GROUP BY status",
        )
        .bind(from)
        .fetch_all(&self.pool)
        .await?;
        for (status, n, repeats) in rows {
            stats.total += count(n);
            stats.repeats += count(repeats);
            stats.by_status.insert(status, count(n));
        }

        let rows: Vec<(i64, Option<String>)> = sqlx::query_as(
            "SELECT c.created_at, m.topics FROM cases c
             LEFT JOIN case_match m ON m.case_id = c.id AND m.rank = 0
             WHERE c.created_at >= ?",
        )
        .bind(from)
        .fetch_all(&self.pool)
        .await?;
        let mut per_week: BTreeMap<(String, String), u64> = BTreeMap::new();
        let mut per_topic: HashMap<String, u64> = HashMap::new();
        for (at, topics) in rows {
            let Some(topics) = topics else {
                stats.unmatched += 1;
                continue;
            };
            // A damaged list only loses this case from the topic report.
            let topics: Vec<String> = serde_json::from_str(&topics).unwrap_or_default();
            let week = iso_week(from_millis(at));
            for topic in topics {
                *per_week.entry((week.clone(), topic.clone())).or_default() += 1;
                *per_topic.entry(topic).or_default() += 1;
            }
        }
        stats.per_topic_week = per_week
            .into_iter()
            .map(|((week, topic), cases)| TopicWeek { topic, week, cases })
            .collect();
        let mut top: Vec<TopicCount> = per_topic
            .into_iter()
            .map(|(topic, cases)| TopicCount { topic, cases })
            .collect();
        top.sort_by(|a, b| b.cases.cmp(&a.cases).then_with(|| a.topic.cmp(&b.topic)));
        top.truncate(TOP as usize);
        stats.top_topics = top;

        let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
            "SELECT m.entry_id, max(m.title), count(*), sum(1 + c.repeats) FROM case_match m
             JOIN cases c ON c.id = m.case_id
             WHERE m.rank = 0 AND c.created_at >= ?
             GROUP BY m.entry_id ORDER BY count(*) DESC, m.entry_id LIMIT ?",
        )
        .bind(from)
        .bind(TOP)
        .fetch_all(&self.pool)
        .await?;
        stats.top_entries = rows
            .into_iter()
            .map(|(entry_id, title, cases, reports)| EntryCount {
                entry_id,
                title,
                cases: count(cases),
                reports: count(reports),
            })
            .collect();

        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT m.entry_id, sum(f.helpful), sum(1 - f.helpful) FROM case_feedback f
             JOIN cases c ON c.id = f.case_id
             JOIN case_match m ON m.case_id = c.id AND m.rank = 0
             WHERE c.created_at >= ?
             GROUP BY m.entry_id ORDER BY m.entry_id",
        )
        .bind(from)
        .fetch_all(&self.pool)
        .await?;
        stats.helpfulness = rows
            .into_iter()
            .map(|(entry_id, helpful, unhelpful)| {
                let (helpful, unhelpful) = (count(helpful), count(unhelpful));
                let rate = helpful as f64 / (helpful + unhelpful).max(1) as f64;
                EntryHelpfulness {
                    entry_id,
                    helpful,
                    unhelpful,
                    rate,
                }
            })
            .collect();

        let durations: Vec<i64> = sqlx::query_scalar(
            "SELECT resolved_at - created_at FROM cases
             WHERE status = 'resolved' AND resolved_at IS NOT NULL AND created_at >= ?",
        )
        .bind(from)
        .fetch_all(&self.pool)
        .await?;
        stats.median_resolution_secs = median(durations).map(|ms| ms / 1000.0);

        let unanswered: i64 =
            sqlx::query_scalar("SELECT count(*) FROM cases WHERE replied = 0 AND status = 'open' AND created_at >= ?")
                .bind(from)
                .fetch_one(&self.pool)
                .await?;
        stats.unanswered = count(unanswered);
        Ok(stats)
    }

    /// What the case log teaches ranking, per evidence key and entry: cases resolved with the
    /// entry, helpful and unhelpful feedback on it (when it was offered first), and cases
    /// marked wrong (the entry named in the event, else the one offered first). Prose-only
    /// cases (empty key) teach nothing: their evidence is too vague to generalise.
    #[tracing::instrument(skip_all)]
    pub async fn load_priors(&self) -> Result<Priors, CaseError> {
        let mut priors = Priors::default();
        let sat = |n: i64| u32::try_from(n).unwrap_or(if n < 0 { 0 } else { u32::MAX });

        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT evidence_key, fixed_by, count(*) FROM cases
             WHERE evidence_key <> '' AND status = 'resolved' AND fixed_by IS NOT NULL
             GROUP BY evidence_key, fixed_by",
        )
        .fetch_all(&self.pool)
        .await?;
        for (key, entry, n) in rows {
            stat(&mut priors, key, entry).fixed = sat(n);
        }

        let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
            "SELECT c.evidence_key, m.entry_id, sum(f.helpful), sum(1 - f.helpful) FROM case_feedback f
             JOIN cases c ON c.id = f.case_id
             JOIN case_match m ON m.case_id = c.id AND m.rank = 0
             WHERE c.evidence_key <> ''
             GROUP BY c.evidence_key, m.entry_id",
        )
        .fetch_all(&self.pool)
        .await?;
        for (key, entry, helpful, unhelpful) in rows {
            let s = stat(&mut priors, key, entry);
            s.helpful = sat(helpful);
            s.unhelpful = sat(unhelpful);
        }

        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT c.evidence_key, coalesce(e.entry_id, m.entry_id) AS entry, count(DISTINCT c.id) FROM case_event e
             JOIN cases c ON c.id = e.case_id
             LEFT JOIN case_match m ON m.case_id = c.id AND m.rank = 0
             WHERE e.kind = 'status' AND e.status = 'wrong' AND c.evidence_key <> ''
               AND coalesce(e.entry_id, m.entry_id) IS NOT NULL
             GROUP BY c.evidence_key, entry",
        )
        .fetch_all(&self.pool)
        .await?;
        for (key, entry, n) in rows {
            stat(&mut priors, key, entry).wrong = sat(n);
        }
        Ok(priors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn median_of_odd_and_even_lists() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![5, 1, 3]), Some(3.0));
        assert_eq!(median(vec![4, 1, 3, 2]), Some(2.5));
    }

    #[test]
    fn iso_weeks_cross_year_boundaries() {
        // 2027-01-01 is a Friday: ISO week 53 of 2026.
        assert_eq!(
            iso_week(Utc.with_ymd_and_hms(2027, 1, 1, 12, 0, 0).unwrap()),
            "2026-W53"
        );
        assert_eq!(iso_week(Utc.with_ymd_and_hms(2026, 2, 2, 0, 0, 0).unwrap()), "2026-W06");
    }
}
