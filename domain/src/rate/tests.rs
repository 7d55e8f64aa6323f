//! The token bucket's arithmetic and the bounded map of buckets.

use std::time::Duration;

use proptest::prelude::*;

use super::*;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[test]
fn a_burst_is_allowed_then_one_per_interval() {
    let limit = RateLimit::per(5, secs(60));
    assert_eq!(limit.interval, secs(12));
    let start = secs(1000);
    let mut full_at = None;
    for _ in 0..5 {
        full_at = Some(limit.take(full_at, start).expect("within the burst"));
    }
    assert_eq!(limit.take(full_at, start), Err(secs(12)));
    // One token back after one interval, not before.
    assert_eq!(
        limit.check(full_at, start + secs(11)),
        Err(Duration::from_secs(1))
    );
    let full_at = Some(limit.take(full_at, start + secs(12)).expect("one back"));
    assert!(limit.take(full_at, start + secs(12)).is_err());
}

#[test]
fn an_idle_bucket_fills_up_to_the_burst_and_no_further() {
    let limit = RateLimit::per(3, secs(3));
    let start = secs(1000);
    let mut full_at = Some(limit.take(None, start).expect("first"));
    let later = start + secs(3600);
    for _ in 0..3 {
        full_at = Some(limit.take(full_at, later).expect("a full bucket again"));
    }
    assert!(limit.take(full_at, later).is_err(), "only the burst");
}

#[test]
fn a_limiter_keeps_keys_apart() {
    let mut limiter = Limiter::new(RateLimit::per(2, secs(60)), 10);
    let now = secs(1000);
    limiter.take(&"alice", now).expect("1");
    limiter.take(&"alice", now).expect("2");
    assert_eq!(limiter.take(&"alice", now), Err(secs(30)));
    limiter.take(&"bob", now).expect("bob is not alice");
    assert!(limiter.check(&"alice", now).is_err());
    assert!(limiter.check(&"carol", now).is_ok());
}

#[test]
fn a_token_given_back_can_be_taken_again() {
    let mut limiter = Limiter::new(RateLimit::per(2, secs(60)), 10);
    let now = secs(1000);
    limiter.take(&"alice", now).expect("1");
    limiter.take(&"alice", now).expect("2");
    assert!(limiter.take(&"alice", now).is_err());
    limiter.give_back(&"alice", now);
    limiter.take(&"alice", now).expect("the one given back");
    limiter.give_back(&"alice", now);
    limiter.give_back(&"alice", now);
    assert!(limiter.is_empty(), "a full bucket is forgotten");
    limiter.give_back(&"nobody", now);
}

#[test]
fn a_full_limiter_refuses_new_keys_until_old_ones_are_forgotten() {
    let mut limiter = Limiter::new(RateLimit::per(1, secs(10)), 2);
    let now = secs(1000);
    limiter.take(&1, now).expect("1");
    limiter.take(&2, now).expect("2");
    assert_eq!(
        limiter.take(&3, now),
        Err(secs(10)),
        "no room for a third key"
    );
    limiter.forget_full(now + secs(5));
    assert_eq!(limiter.len(), 2, "nothing is full again yet");
    limiter.forget_full(now + secs(10));
    assert!(limiter.is_empty());
    limiter.take(&3, now + secs(10)).expect("room again");
}

#[test]
fn people_are_told_whole_seconds_rounded_up() {
    let limited = RateLimited {
        limited: Limited::LogInFailures,
        wait: Duration::from_millis(41_200),
    };
    assert_eq!(limited.wait_secs(), 42);
    assert_eq!(
        limited.to_string(),
        "Too many failed log-ins; try again in 42 s."
    );
    assert_eq!(limited.code(), "rate_limited");
    let tiny = RateLimited {
        limited: Limited::Messages,
        wait: Duration::from_nanos(1),
    };
    assert_eq!(tiny.wait_secs(), 1);
}

proptest! {
    /// However the actions are spaced, between any two allowed ones at most the burst plus one
    /// per interval elapsed were allowed: a bucket of `burst` that earns one token an interval.
    #[test]
    fn never_more_than_the_burst_plus_what_time_earned(
        count in 1u32..20,
        period_ms in 1u64..10_000,
        gaps_ms in proptest::collection::vec(0u64..2_000, 1..200),
    ) {
        let limit = RateLimit::per(count, Duration::from_millis(period_ms));
        let start = secs(1000);
        let mut full_at = None;
        let mut at = start;
        let mut allowed = Vec::new();
        for gap in gaps_ms {
            at += Duration::from_millis(gap);
            if let Ok(next) = limit.take(full_at, at) {
                full_at = Some(next);
                allowed.push(at);
            }
        }
        for (i, first) in allowed.iter().enumerate() {
            for (j, last) in allowed.iter().enumerate().skip(i) {
                let earned = (*last - *first).as_nanos() / limit.interval.as_nanos().max(1);
                let taken = (j - i + 1) as u128;
                prop_assert!(taken <= u128::from(count) + earned, "{taken} taken, {earned} earned");
            }
        }
    }

    /// A bucket never refuses when the caller waited as long as it was told to.
    #[test]
    fn waiting_as_told_is_enough(count in 1u32..10, period_ms in 1u64..10_000, tries in 1usize..50) {
        let limit = RateLimit::per(count, Duration::from_millis(period_ms));
        let mut now = secs(1000);
        let mut full_at = None;
        for _ in 0..tries {
            match limit.take(full_at, now) {
                Ok(next) => full_at = Some(next),
                Err(wait) => {
                    now += wait;
                    full_at = Some(limit.take(full_at, now).map_err(|w| TestCaseError::fail(format!("still {w:?}")))?);
                }
            }
        }
    }
}
