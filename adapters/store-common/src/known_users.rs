//! `KnownUsers`: the users a store read or wrote lately, so that a send's check that its
//! recipient exists reads no table. A stored user never changes and never goes (only a wipe at
//! start removes users), so a remembered record is right for as long as the write that stored
//! it stands: a store forgets them all when a commit fails.

use std::cell::RefCell;
use std::collections::HashMap;

use chat_domain::{UserRecord, Username};

/// Users a store remembers at most, about 250 bytes each: past this it forgets them all and
/// starts again, which costs reads, never a wrong answer.
pub const KNOWN_USERS_MAX: usize = 10_000;

/// Remembered records, behind a `RefCell` so a store's reads (`&self`) can remember what they
/// read. A store is used from one thread at a time.
#[derive(Debug)]
pub struct KnownUsers {
    users: RefCell<HashMap<Username, UserRecord>>,
    users_max: usize,
}

impl KnownUsers {
    pub fn new(users_max: usize) -> Self {
        KnownUsers {
            users: RefCell::new(HashMap::new()),
            users_max: users_max.max(1),
        }
    }

    /// The record of `name`, if remembered.
    pub fn get(&self, name: &Username) -> Option<UserRecord> {
        self.users.borrow().get(name).cloned()
    }

    /// Remembers `user`, read from the store or written to it; if full, forgets the rest first.
    pub fn remember(&self, user: &UserRecord) {
        let mut users = self.users.borrow_mut();
        if users.len() >= self.users_max {
            users.clear();
        }
        users.insert(user.username.clone(), user.clone());
    }

    /// Forgets everyone: what the store wrote may be gone.
    pub fn forget_all(&self) {
        self.users.borrow_mut().clear();
    }
}

#[cfg(test)]
mod tests {
    use chat_domain::PasswordHash;
    use jiff::Timestamp;

    use super::*;

    fn record(name: &str) -> UserRecord {
        UserRecord {
            username: Username::parse(name).unwrap(),
            password_hash: PasswordHash::new(format!("hash of {name}")),
            registered_at: Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn remembers_up_to_its_bound_then_starts_again() {
        let known = KnownUsers::new(2);
        let (alice, bob, carol) = (record("alice"), record("bob"), record("carol"));
        known.remember(&alice);
        known.remember(&bob);
        assert_eq!(known.get(&alice.username), Some(alice.clone()));
        known.remember(&carol);
        assert_eq!(known.get(&alice.username), None);
        assert_eq!(known.get(&carol.username), Some(carol.clone()));
        known.forget_all();
        assert_eq!(known.get(&carol.username), None);
    }
}
