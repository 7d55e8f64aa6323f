//! The client message ids each user resent lately. A `Send` whose number is among them may be
//! the original arriving late on a connection the client gave up on (TCP still delivers what it
//! had sent), so it is looked up like a resend instead of stored again.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use chat_domain::{ClientMessageId, Username};

/// Numbers remembered per user, newest kept.
const PER_USER_MAX: usize = 256;
/// How long a number is remembered: longer than TCP keeps retransmitting on a dead link.
const REMEMBERED_FOR: Duration = Duration::from_secs(15 * 60);

#[derive(Default)]
pub struct RecentResends {
    by_user: HashMap<Username, VecDeque<(ClientMessageId, Instant)>>,
}

impl RecentResends {
    pub fn record(&mut self, user: &Username, id: ClientMessageId, now: Instant) {
        if !self.by_user.contains_key(user) {
            self.by_user.insert(user.clone(), VecDeque::new());
        }
        if let Some(ids) = self.by_user.get_mut(user) {
            if ids.len() == PER_USER_MAX {
                ids.pop_front();
            }
            ids.push_back((id, now));
        }
    }

    pub fn contains(&self, user: &Username, id: ClientMessageId) -> bool {
        self.by_user
            .get(user)
            .is_some_and(|ids| ids.iter().any(|(resent, _)| *resent == id))
    }

    /// Forgets numbers older than `REMEMBERED_FOR`, and users left with none.
    pub fn forget_old(&mut self, now: Instant) {
        self.by_user.retain(|_, ids| {
            while ids
                .front()
                .is_some_and(|(_, at)| now.duration_since(*at) > REMEMBERED_FOR)
            {
                ids.pop_front();
            }
            !ids.is_empty()
        });
    }
}
