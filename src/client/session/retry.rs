//! The reconnect schedule, without a clock: where the link stands (up, waiting to retry,
//! connecting, logging in again) and the delay before the next attempt, exponential from 2 s
//! to 30 s with jitter from a seeded generator, so tests give the time and the seed.

/// The first wait after a loss, in milliseconds.
pub const RECONNECT_DELAY_FIRST_MS: u64 = 2_000;
/// The longest wait between two attempts, in milliseconds.
pub const RECONNECT_DELAY_MAX_MS: u64 = 30_000;

/// Where the link to the server stands, once logged in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection {
    /// Connected (and, once logged in, logged in): requests go out as they are made.
    Up,
    /// Lost at `since_ms`; attempt number `attempt` (0 the first) is due at `at_ms`.
    Waiting {
        since_ms: u64,
        at_ms: u64,
        attempt: u32,
    },
    /// The driver is connecting (`Effect::Connect`).
    Connecting { since_ms: u64, attempt: u32 },
    /// Connected again; the log-in with the credentials held in memory is in flight.
    LoggingIn { since_ms: u64, attempt: u32 },
}

/// Jitter for the delays: xorshift64, seeded per process (any seed; 0 is moved off zero).
#[derive(Debug, Clone)]
pub struct Jitter(u64);

impl Jitter {
    pub fn new(seed: u64) -> Self {
        Jitter(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// The wait before attempt `attempt`: 2 s doubled per attempt, capped at 30 s, then up to
    /// a quarter taken off at random, so that clients cut off together do not all come back in
    /// the same instant.
    pub fn delay_ms(&mut self, attempt: u32) -> u64 {
        let base = RECONNECT_DELAY_FIRST_MS
            .saturating_mul(1u64 << attempt.min(16))
            .min(RECONNECT_DELAY_MAX_MS);
        base - self.next() % (base / 4 + 1)
    }
}

/// Whole seconds, rounded up, for "reconnecting in 2 s".
pub fn seconds_up(ms: u64) -> u64 {
    ms.div_ceil(1_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_from_two_seconds_to_thirty_with_at_most_a_quarter_off() {
        let mut jitter = Jitter::new(7);
        let mut previous_base = 0;
        for attempt in 0..40 {
            let base = (2_000u64 << attempt.min(16)).min(30_000);
            assert!(base >= previous_base);
            previous_base = base;
            for _ in 0..50 {
                let delay = jitter.delay_ms(attempt);
                assert!(
                    delay <= base && delay >= base - base / 4,
                    "{attempt}: {delay}"
                );
            }
        }
        assert_eq!(seconds_up(jitter.delay_ms(0)), 2);
    }

    #[test]
    fn jitter_spreads_clients_apart() {
        let delays: std::collections::BTreeSet<u64> =
            (1..20).map(|seed| Jitter::new(seed).delay_ms(3)).collect();
        assert!(delays.len() > 10, "{delays:?}");
    }
}
