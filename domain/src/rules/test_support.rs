//! What the rules' unit tests share: names, a group, times, and a store with users in it.

use jiff::Timestamp;

use crate::group::GroupName;
use crate::memory_store::MemoryStore;
use crate::password::PasswordHash;
use crate::ports::{Store, UserRecord};
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
