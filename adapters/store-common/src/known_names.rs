//! `KnownNames`: the users a store read or wrote lately, by name only, so that a send's check
//! that its recipient exists reads no table and copies no record. A stored user never changes
//! and never goes (only a wipe at start removes users), so a remembered name is right for as
//! long as the write that stored it stands: a store forgets them all when a commit fails.

use std::cell::RefCell;
use std::collections::HashSet;

use chat_domain::Username;

/// Names a store remembers at most, about 70 bytes each: past this it forgets them all and
/// starts again, which costs reads, never a wrong answer.
pub const KNOWN_NAMES_MAX: usize = 10_000;

/// Remembered names, behind a `RefCell` so a store's reads (`&self`) can remember what they
/// read. A store is used from one thread at a time.
#[derive(Debug)]
pub struct KnownNames {
    names: RefCell<HashSet<Username>>,
    names_max: usize,
}

impl KnownNames {
    pub fn new(names_max: usize) -> Self {
        KnownNames {
            names: RefCell::new(HashSet::new()),
            names_max: names_max.max(1),
        }
    }

    /// Whether `name` is remembered as registered.
    pub fn contains(&self, name: &Username) -> bool {
        self.names.borrow().contains(name)
    }

    /// Remembers `name`, read from the store or written to it; if full, forgets the rest first.
    pub fn remember(&self, name: &Username) {
        let mut names = self.names.borrow_mut();
        if names.len() >= self.names_max {
            names.clear();
        }
        names.insert(name.clone());
    }

    /// Forgets everyone: what the store wrote may be gone.
    pub fn forget_all(&self) {
        self.names.borrow_mut().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> Username {
        Username::parse(text).unwrap()
    }

    #[test]
    fn remembers_up_to_its_bound_then_starts_again() {
        let known = KnownNames::new(2);
        let (alice, bob, carol) = (name("alice"), name("bob"), name("carol"));
        known.remember(&alice);
        known.remember(&bob);
        assert!(known.contains(&alice));
        known.remember(&carol);
        assert!(!known.contains(&alice));
        assert!(known.contains(&carol));
        known.forget_all();
        assert!(!known.contains(&carol));
    }
}
