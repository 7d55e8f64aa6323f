//! Rate limits: a token bucket kept as one time (the generic cell rate algorithm), pure
//! arithmetic on times the caller passes in, and a bounded map of buckets per key (a username,
//! an address). A time is a `Duration` since an epoch the caller picks and keeps (the server
//! uses its start), so nothing here reads a clock.

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::time::Duration;

use crate::error::ErrorCode;

/// `burst` actions at once, then one more each `interval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub burst: u32,
    pub interval: Duration,
}

impl RateLimit {
    /// A bucket of `count` that refills over `period`: `count` actions at once, then `count`
    /// more each `period`. `count` of 0 is treated as 1: a limit that allows nothing would
    /// lock people out for good.
    pub fn per(count: u32, period: Duration) -> Self {
        let burst = count.max(1);
        RateLimit {
            burst,
            interval: period / burst,
        }
    }

    /// How far ahead of now the bucket's full-again time may run: all but one token spent.
    fn tolerance(&self) -> Duration {
        self.interval
            .checked_mul(self.burst.saturating_sub(1))
            .unwrap_or(Duration::MAX)
    }

    /// Whether one more action is allowed now for a bucket that is full again at `full_at`
    /// (`None`: never used, or full). `Err` holds the wait until it is.
    pub fn check(&self, full_at: Option<Duration>, now: Duration) -> Result<(), Duration> {
        let Some(full_at) = full_at else {
            return Ok(());
        };
        // Allowed once at least one token has come back: `full_at - tolerance <= now`.
        let earliest = full_at.saturating_sub(self.tolerance());
        match earliest.checked_sub(now) {
            Some(wait) if !wait.is_zero() => Err(wait),
            _ => Ok(()),
        }
    }

    /// Takes one token: the bucket's new full-again time, or the wait if none is left.
    pub fn take(&self, full_at: Option<Duration>, now: Duration) -> Result<Duration, Duration> {
        self.check(full_at, now)?;
        let from = full_at.map_or(now, |at| at.max(now));
        Ok(from.saturating_add(self.interval))
    }
}

/// One bucket per key, at most `keys_max` of them. A full bucket is the same as no bucket, so
/// `forget_full` drops those; a new key when the map is full is refused rather than letting
/// the map grow or resetting someone else's bucket.
#[derive(Debug)]
pub struct Limiter<K> {
    limit: RateLimit,
    keys_max: usize,
    full_at: HashMap<K, Duration>,
}

impl<K: Hash + Eq> Limiter<K> {
    pub fn new(limit: RateLimit, keys_max: usize) -> Self {
        Limiter {
            limit,
            keys_max,
            full_at: HashMap::new(),
        }
    }

    pub fn limit(&self) -> RateLimit {
        self.limit
    }

    /// Whether `key` may act now, without spending anything.
    pub fn check(&self, key: &K, now: Duration) -> Result<(), Duration> {
        let full_at = self.full_at.get(key).copied();
        if full_at.is_none() && self.full_at.len() >= self.keys_max {
            return Err(self.limit.interval);
        }
        self.limit.check(full_at, now)
    }

    /// Spends one of `key`'s tokens, or says how long to wait for one.
    pub fn take(&mut self, key: &K, now: Duration) -> Result<(), Duration>
    where
        K: Clone,
    {
        self.check(key, now)?;
        match self.full_at.get_mut(key) {
            Some(full_at) => *full_at = self.limit.take(Some(*full_at), now)?,
            None => {
                let full_at = self.limit.take(None, now)?;
                self.full_at.insert(key.clone(), full_at);
            }
        }
        Ok(())
    }

    /// Returns one token taken from `key` (an attempt that turned out not to count); a bucket
    /// full again is forgotten.
    pub fn give_back(&mut self, key: &K, now: Duration) {
        if let Some(full_at) = self.full_at.get_mut(key) {
            *full_at = full_at.saturating_sub(self.limit.interval);
            if *full_at <= now {
                self.full_at.remove(key);
            }
        }
    }

    /// Drops the buckets that are full again: called now and then, it keeps the map to the
    /// keys that acted recently.
    pub fn forget_full(&mut self, now: Duration) {
        self.full_at.retain(|_, full_at| *full_at > now);
    }

    pub fn len(&self) -> usize {
        self.full_at.len()
    }

    pub fn is_empty(&self) -> bool {
        self.full_at.is_empty()
    }
}

/// What was limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limited {
    /// Failed log-ins, for one username or from one address.
    LogInFailures,
    /// New accounts from one address.
    Registrations,
    /// Messages from one user, on all their devices together.
    Messages,
}

/// An action refused for now; `wait` is how long until one more is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimited {
    pub limited: Limited,
    pub wait: Duration,
}

impl RateLimited {
    /// The wait in whole seconds, rounded up and at least 1: what people are told.
    pub fn wait_secs(&self) -> u64 {
        let secs = self.wait.as_secs() + u64::from(self.wait.subsec_nanos() > 0);
        secs.max(1)
    }
}

impl fmt::Display for RateLimited {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.limited {
            Limited::LogInFailures => "Too many failed log-ins",
            Limited::Registrations => "Too many new accounts from your address",
            Limited::Messages => "You are sending too fast",
        };
        write!(f, "{what}; try again in {} s.", self.wait_secs())
    }
}

impl ErrorCode for RateLimited {
    fn code(&self) -> &'static str {
        "rate_limited"
    }
}

#[cfg(test)]
mod tests;
