//! `BoundedSet`: remembers up to a fixed number of keys, forgetting all of them when full. For
//! adapters that skip work they did before (a write known to be there already): forgetting
//! costs only the work again, never a wrong answer.

use std::borrow::Borrow;
use std::collections::HashSet;
use std::hash::Hash;

#[derive(Debug)]
pub struct BoundedSet<K> {
    keys: HashSet<K>,
    keys_max: usize,
}

impl<K: Hash + Eq> BoundedSet<K> {
    pub fn new(keys_max: usize) -> Self {
        BoundedSet {
            keys: HashSet::new(),
            keys_max: keys_max.max(1),
        }
    }

    pub fn contains<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.keys.contains(key)
    }

    /// Remembers `key`; if the set is full, forgets everything else first.
    pub fn insert(&mut self, key: K) {
        if self.keys.len() >= self.keys_max {
            self.keys.clear();
        }
        self.keys.insert(key);
    }

    pub fn clear(&mut self) {
        self.keys.clear();
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_never_holds_more_than_its_bound() {
        let mut set = BoundedSet::new(3);
        for key in 0..10 {
            set.insert(key);
            assert!(set.contains(&key));
            assert!(set.len() <= 3);
        }
        set.clear();
        assert!(set.is_empty());
    }
}
