//! Agent presence: is any human agent online? Read from Gorgias's users list (with
//! `availability_status`) at most once per [`Presence::TTL`], so a busy poll costs one request a
//! minute, not one per ticket.

use super::{Client, User};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The last answer about agent presence and when it was read.
#[derive(Debug, Default)]
pub struct Presence {
    cached: Mutex<Option<(Instant, Option<bool>)>>,
}

impl Presence {
    /// How long one reading is trusted (in the clock's time: the caller scales it).
    pub const TTL: Duration = Duration::from_secs(60);

    /// The reading of less than `ttl` ago, if there is one (costs no request).
    pub fn cached(&self, ttl: Duration) -> Option<Option<bool>> {
        let cached = *self.cached.lock().unwrap_or_else(|p| p.into_inner());
        cached.filter(|(at, _)| at.elapsed() < ttl).map(|(_, v)| v)
    }

    /// `Some(true)`: an agent is online; `Some(false)`: none is; `None`: the account does not
    /// say (no user carries a status) or the list cannot be read: the caller assumes online.
    /// Answers from the reading of less than `ttl` ago if there is one.
    pub async fn anyone_online(
        &self,
        client: &Client,
        bot_user_id: u64,
        ttl: Duration,
    ) -> Option<bool> {
        let cached = *self.cached.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, v)) = cached
            && at.elapsed() < ttl
        {
            return v;
        }
        let v = match client.users(true).await {
            Ok(users) => anyone_online(&users, bot_user_id),
            Err(e) => {
                tracing::warn!(error = %e, "could not read agent presence; assuming agents are available");
                None
            }
        };
        *self.cached.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), v));
        v
    }
}

/// Of the active human agents (not the bot, not a user with the `bot` role): whether any is
/// online, or `None` when none carries a status.
pub fn anyone_online(users: &[User], bot_user_id: u64) -> Option<bool> {
    let agents: Vec<_> = users
        .iter()
        .filter(|u| u.id != bot_user_id && u.active != Some(false))
        .filter(|u| u.role.as_ref().is_none_or(|r| r.name != "bot"))
        .collect();
    if agents.iter().any(|u| u.availability_status.is_some()) {
        Some(agents.iter().any(|u| {
            u.availability_status
                .as_ref()
                .is_some_and(|a| a.status == "online")
        }))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users(json: serde_json::Value) -> Vec<User> {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn only_active_human_agents_count_and_no_status_means_unknown() {
        let bot = 1;
        // The bot, a deactivated agent and a bot-role user are online; no human agent is.
        let list = users(serde_json::json!([
            {"id": 1, "availability_status": {"status": "online"}},
            {"id": 2, "active": false, "availability_status": {"status": "online"}},
            {"id": 3, "role": {"name": "bot"}, "availability_status": {"status": "online"}},
            {"id": 4, "availability_status": {"status": "offline"}},
        ]));
        assert_eq!(anyone_online(&list, bot), Some(false));
        let list = users(serde_json::json!([
            {"id": 4, "availability_status": {"status": "offline"}},
            {"id": 5, "availability_status": {"status": "online"}},
        ]));
        assert_eq!(anyone_online(&list, bot), Some(true));
        let list = users(serde_json::json!([{"id": 4}, {"id": 5}]));
        assert_eq!(anyone_online(&list, bot), None);
    }
}
