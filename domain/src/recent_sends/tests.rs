//! The memory of client message ids: found while remembered, bounded per sender, by senders
//! and by age, and forgotten on request.

use super::*;

fn user(name: &str) -> Username {
    Username::parse(name).unwrap()
}

fn number(raw: u64) -> ClientMessageId {
    ClientMessageId::new(raw).unwrap()
}

fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + secs).unwrap()
}

fn original(id: u64, secs: i64) -> Original {
    Original {
        id: MessageId::new(id).unwrap(),
        sent_at: at(secs),
    }
}

#[test]
fn a_number_is_found_for_its_sender_only() {
    let mut recent = RecentSends::default();
    recent.record(&user("alice"), number(7), original(100, 0));
    assert_eq!(
        recent.find(&user("alice"), number(7)),
        Some(original(100, 0))
    );
    assert_eq!(recent.find(&user("alice"), number(8)), None);
    assert_eq!(recent.find(&user("bob"), number(7)), None);
}

#[test]
fn each_sender_keeps_its_newest_numbers() {
    let mut recent = RecentSends::default();
    let alice = user("alice");
    let count = u64::try_from(RECENT_SENDS_PER_SENDER).unwrap();
    for n in 1..=count + 1 {
        recent.record(&alice, number(n), original(n, 0));
    }
    assert_eq!(recent.find(&alice, number(1)), None, "the oldest went");
    assert_eq!(recent.find(&alice, number(2)), Some(original(2, 0)));
    assert_eq!(
        recent.find(&alice, number(count + 1)),
        Some(original(count + 1, 0))
    );
}

#[test]
fn numbers_are_forgotten_with_age_and_senders_with_their_last() {
    let mut recent = RecentSends::default();
    recent.record(&user("alice"), number(1), original(1, 0));
    recent.record(&user("alice"), number(2), original(2, 60));
    recent.forget_old(at(RECENT_SENDS_FOR_SECS + 30));
    assert_eq!(recent.find(&user("alice"), number(1)), None);
    assert_eq!(
        recent.find(&user("alice"), number(2)),
        Some(original(2, 60))
    );
    recent.forget_old(at(RECENT_SENDS_FOR_SECS + 61));
    assert_eq!(recent.senders(), 0);
}

#[test]
fn a_number_whose_message_was_not_committed_is_forgotten() {
    let mut recent = RecentSends::default();
    recent.record(&user("alice"), number(1), original(1, 0));
    recent.record(&user("alice"), number(2), original(2, 0));
    recent.forget(&user("alice"), number(1));
    assert_eq!(recent.find(&user("alice"), number(1)), None);
    assert_eq!(recent.find(&user("alice"), number(2)), Some(original(2, 0)));
}

#[test]
fn past_the_senders_bound_a_new_sender_is_not_remembered() {
    let mut recent = RecentSends::default();
    for n in 0..RECENT_SENDERS_MAX {
        recent.record(&user(&format!("user{n}")), number(1), original(1, 0));
    }
    recent.record(&user("late"), number(1), original(1, 0));
    assert_eq!(recent.find(&user("late"), number(1)), None);
    assert_eq!(recent.senders(), RECENT_SENDERS_MAX);
    // Those already remembered go on being remembered.
    recent.record(&user("user0"), number(2), original(2, 0));
    assert_eq!(recent.find(&user("user0"), number(2)), Some(original(2, 0)));
}
