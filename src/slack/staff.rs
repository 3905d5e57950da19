//! Who is staff on Slack: the configured user ids, and the members of the configured user
//! group, read through `usergroups.users.list` and kept for a few minutes.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing::warn;

use super::api::WebApi;

/// How long the members of the staff group are trusted before they are read again.
const GROUP_TTL: Duration = Duration::from_secs(300);

pub struct Staff {
    users: HashSet<String>,
    group: Option<String>,
    cache: Mutex<Option<(Instant, Arc<HashSet<String>>)>>,
}

impl Staff {
    pub fn new(users: &[String], group: Option<&str>) -> Staff {
        Staff {
            users: users
                .iter()
                .map(|u| u.trim().to_string())
                .filter(|u| !u.is_empty())
                .collect(),
            group: group.map(str::trim).filter(|g| !g.is_empty()).map(str::to_string),
            cache: Mutex::new(None),
        }
    }

    /// The one place that decides who is staff. A group that cannot be read counts as its last
    /// known members (none, if it was never read), and the failure is logged.
    pub async fn is_staff(&self, api: &WebApi, user: &str) -> bool {
        if self.users.contains(user) {
            return true;
        }
        let Some(group) = &self.group else { return false };
        let cached = self.lock().clone();
        if let Some((at, members)) = &cached
            && at.elapsed() < GROUP_TTL
        {
            return members.contains(user);
        }
        match api.usergroup_members(group).await {
            Ok(members) => {
                let members: Arc<HashSet<String>> = Arc::new(members.into_iter().collect());
                *self.lock() = Some((Instant::now(), members.clone()));
                members.contains(user)
            }
            Err(e) => {
                warn!(error = %e, group = %group, "cannot read the staff user group");
                cached.is_some_and(|(_, m)| m.contains(user))
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(Instant, Arc<HashSet<String>>)>> {
        match self.cache.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }
}
