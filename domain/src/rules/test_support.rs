//! What the rules' unit tests share: names, a group, times, and a store with users in it.

use jiff::Timestamp;

use crate::group::GroupName;
use crate::memory_store::MemoryStore;
use crate::password::PasswordHash;
use crate::ports::{Store, UserRecord};
use crate::recent_sends::RecentSends;
use crate::rules::{self, Delivery, Outgoing, SendError, Sent};
use crate::username::Username;

pub fn user(name: &str) -> Username {
    Username::parse(name).unwrap()
}

pub fn team() -> GroupName {
    GroupName::parse("team").unwrap()
}

pub fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(seconds).unwrap()
}

/// A store in which these people are registered.
pub fn store_with(names: &[&str]) -> MemoryStore {
    let mut store = MemoryStore::default();
    for name in names {
        store
            .insert_user(&UserRecord {
                username: user(name),
                password_hash: PasswordHash::new("hash".into()),
                registered_at: at(0),
            })
            .unwrap();
    }
    store
}

/// `rules::send` for a message the test expects stored (no number seen before): its delivery.
pub fn send_new(
    store: &mut MemoryStore,
    sender: &Username,
    outgoing: Outgoing,
    now: Timestamp,
) -> Result<Delivery, SendError> {
    match rules::send(store, &mut RecentSends::default(), sender, outgoing, now)? {
        Sent::Stored(delivery) => Ok(delivery),
        Sent::Before(original) => panic!("expected a new message, got {original:?}"),
    }
}
