//! Unit tests of the rules over the in-memory store.

use jiff::Timestamp;

use super::test_support::send_new;
use super::*;
use crate::memory_store::MemoryStore;
use crate::password::PasswordHash;
use crate::ports::StoreReads;
use crate::recent_sends::{Original, RecentSends};

fn user(name: &str) -> Username {
    Username::parse(name).unwrap()
}

fn body(text: &str) -> MessageBody {
    MessageBody::new(text.to_string()).unwrap()
}

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(seconds).unwrap()
}

fn registered(names: &[&str]) -> MemoryStore {
    let mut store = MemoryStore::default();
    for name in names {
        check_register(&store, &user(name)).unwrap();
        finish_register(
            &mut store,
            user(name),
            PasswordHash::new(format!("hash-of-{name}")),
            at(1),
        )
        .unwrap();
    }
    store
}

#[test]
fn register_refuses_a_taken_name_in_any_case() {
    let mut store = registered(&["alice"]);
    let err = check_register(&store, &user("ALICE")).unwrap_err();
    assert_eq!(err.code(), "username_taken");
    assert_eq!(err.to_string(), "The name alice is taken.");
    // The second half also refuses, for a race between two registrations of one name.
    let late = finish_register(
        &mut store,
        user("Alice"),
        PasswordHash::new("x".into()),
        at(2),
    );
    assert_eq!(late.unwrap_err().code(), "username_taken");
}

#[test]
fn register_keeps_the_hash_and_the_time_in_milliseconds() {
    let mut store = MemoryStore::default();
    let now = Timestamp::new(10, 123_456_789).unwrap();
    let record =
        finish_register(&mut store, user("bob"), PasswordHash::new("h".into()), now).unwrap();
    assert_eq!(
        record.registered_at,
        Timestamp::new(10, 123_000_000).unwrap()
    );
    assert_eq!(store.find_user(&user("bob")).unwrap(), Some(record));
}

#[test]
fn login_verifies_against_the_users_hash_or_the_dummy() {
    let store = registered(&["alice"]);
    let dummy = PasswordHash::new("dummy".into());

    let known = begin_login(&store, user("Alice"), &dummy).unwrap();
    assert_eq!(known.hash, PasswordHash::new("hash-of-alice".into()));
    assert_eq!(known.clone().finish(true), Ok(user("alice")));
    assert_eq!(known.finish(false).unwrap_err().code(), "wrong_password");

    let unknown = begin_login(&store, user("nobody"), &dummy).unwrap();
    // An unknown name is checked against the dummy: the same work as a wrong password.
    assert_eq!(unknown.hash, dummy);
    // Even a "match" against the dummy never logs anyone in.
    let err = unknown.finish(true).unwrap_err();
    assert_eq!(err.code(), "unknown_user");
    assert_eq!(err.to_string(), "There is no user named nobody.");
}

#[test]
fn send_stores_and_numbers_messages_in_order() {
    let mut store = registered(&["alice", "bob"]);
    let first = send_new(
        &mut store,
        &user("alice"),
        Outgoing::new(Recipient::User(user("bob")), body("hi")),
        at(5),
    )
    .unwrap();
    let second = send_new(
        &mut store,
        &user("bob"),
        Outgoing::new(Recipient::User(user("alice")), body("hey")),
        at(6),
    )
    .unwrap();
    assert!(second.message.id > first.message.id);
    assert_eq!(first.message.sender, user("alice"));
    assert_eq!(first.message.content.text().unwrap().as_str(), "hi");
    assert_eq!(first.message.sent_at, at(5));
    // The recipient's devices and the sender's others: each name once.
    assert_eq!(first.audience, vec![user("bob"), user("alice")]);
    let note = send_new(
        &mut store,
        &user("alice"),
        Outgoing::new(Recipient::User(user("alice")), body("note")),
        at(7),
    )
    .unwrap();
    assert_eq!(note.audience, vec![user("alice")]);
}

fn numbered(to: &str, text: &str, number: u64, resend: bool) -> Outgoing {
    Outgoing {
        attempt: Attempt::from_wire(number, resend).unwrap(),
        ..Outgoing::new(Recipient::User(user(to)), body(text))
    }
}

/// What was stored, or what a repeated number was answered with: the ack's id either way.
fn acked_id(sent: &Sent) -> MessageId {
    match sent {
        Sent::Stored(delivery) => delivery.message.id,
        Sent::Before(original) => original.id,
    }
}

fn stored_count(store: &MemoryStore, a: &str, b: &str) -> usize {
    let conversation = Conversation::direct(user(a), user(b));
    store
        .history(&conversation, MessageId::FIRST, None, 100)
        .unwrap()
        .len()
}

#[test]
fn a_repeated_number_returns_the_original_and_stores_nothing() {
    let mut store = registered(&["alice", "bob"]);
    let mut recent = RecentSends::default();
    let alice = user("alice");
    let original = send(
        &mut store,
        &mut recent,
        &alice,
        numbered("bob", "hi", 7, false),
        at(5),
    );
    let Ok(Sent::Stored(original)) = original else {
        panic!("{original:?}")
    };
    // A resend, a late original, another text: all the original's ack, nothing stored.
    for (text, resend) in [("hi", true), ("hi", false), ("other text", true)] {
        let again = send(
            &mut store,
            &mut recent,
            &alice,
            numbered("bob", text, 7, resend),
            at(9),
        );
        assert_eq!(
            again,
            Ok(Sent::Before(Original::of(&original.message))),
            "{text} {resend}"
        );
    }
    assert_eq!(stored_count(&store, "alice", "bob"), 1);
}

#[test]
fn a_resend_not_remembered_is_found_in_the_store() {
    let mut store = registered(&["alice", "bob"]);
    let alice = user("alice");
    let original = send(
        &mut store,
        &mut RecentSends::default(),
        &alice,
        numbered("bob", "hi", 7, false),
        at(5),
    );
    // The memory is gone (a restart): the store still has the number.
    let mut after_restart = RecentSends::default();
    let resent = send(
        &mut store,
        &mut after_restart,
        &alice,
        numbered("bob", "hi", 7, true),
        at(9),
    );
    assert_eq!(acked_id(&resent.unwrap()), acked_id(&original.unwrap()));
    assert!(
        after_restart
            .find(&alice, ClientMessageId::new(7).unwrap())
            .is_some()
    );
    assert_eq!(stored_count(&store, "alice", "bob"), 1);
}

#[test]
fn a_resend_of_a_message_never_stored_stores_it_once() {
    let mut store = registered(&["alice", "bob"]);
    let mut recent = RecentSends::default();
    let alice = user("alice");
    let first = send(
        &mut store,
        &mut recent,
        &alice,
        numbered("bob", "lost ack", 3, true),
        at(5),
    );
    let Ok(Sent::Stored(first)) = first else {
        panic!("{first:?}")
    };
    assert_eq!(first.audience, vec![user("bob"), user("alice")]);
    let again = send(
        &mut store,
        &mut recent,
        &alice,
        numbered("bob", "lost ack", 3, true),
        at(6),
    );
    assert_eq!(acked_id(&again.unwrap()), first.message.id);
    assert_eq!(stored_count(&store, "alice", "bob"), 1);
}

#[test]
fn only_the_same_sender_with_the_same_number_matches() {
    let mut store = registered(&["alice", "bob"]);
    let mut recent = RecentSends::default();
    let alices = send(
        &mut store,
        &mut recent,
        &user("alice"),
        numbered("bob", "a", 1, false),
        at(5),
    );
    let alices = acked_id(&alices.unwrap());
    // Bob's number 1 is his own; another number is new.
    let bobs = send(
        &mut store,
        &mut recent,
        &user("bob"),
        numbered("alice", "b", 1, true),
        at(6),
    );
    assert_ne!(acked_id(&bobs.unwrap()), alices);
    let other = send(
        &mut store,
        &mut recent,
        &user("alice"),
        numbered("bob", "c", 2, true),
        at(8),
    );
    assert_ne!(acked_id(&other.unwrap()), alices);
    assert_eq!(stored_count(&store, "alice", "bob"), 3);
}

#[test]
fn a_resend_needs_a_number() {
    let missing = Attempt::from_wire(0, true).unwrap_err();
    assert_eq!(missing.code(), "missing_client_message_id");
    assert_eq!(Attempt::from_wire(0, false), Ok(Attempt::Unnumbered));
}

#[test]
fn a_first_try_not_remembered_is_not_looked_for_in_the_store() {
    let mut store = registered(&["alice", "bob"]);
    let alice = user("alice");
    send(
        &mut store,
        &mut RecentSends::default(),
        &alice,
        numbered("bob", "a", 1, false),
        at(5),
    )
    .unwrap();
    // A Send (not a Resend) costs no store look-up: unremembered, it is new.
    let first_try = send(
        &mut store,
        &mut RecentSends::default(),
        &alice,
        numbered("bob", "a", 1, false),
        at(7),
    );
    assert!(matches!(first_try, Ok(Sent::Stored(_))));
}

#[test]
fn send_to_an_unknown_user_is_refused_and_stores_nothing() {
    let mut store = registered(&["alice"]);
    let err = send_new(
        &mut store,
        &user("alice"),
        Outgoing::new(Recipient::User(user("ghost")), body("boo")),
        at(5),
    )
    .unwrap_err();
    assert_eq!(err.code(), "unknown_user");
    let conversation = Conversation::direct(user("alice"), user("ghost"));
    assert!(
        store
            .history(&conversation, MessageId::FIRST, None, 10)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn send_to_yourself_is_a_note() {
    let mut store = registered(&["alice"]);
    send_new(
        &mut store,
        &user("alice"),
        Outgoing::new(Recipient::User(user("alice")), body("note")),
        at(5),
    )
    .unwrap();
    let page = history(
        &store,
        &user("alice"),
        &Recipient::User(user("alice")),
        None,
        None,
        HistoryPaging::default(),
    )
    .unwrap();
    assert_eq!(page.messages.len(), 1);
}

#[test]
fn storage_failures_surface_as_storage_unavailable() {
    let mut store = registered(&["alice", "bob"]);
    store.failing = Some(StoreError::Unavailable("disk full".into()));
    let sent = send_new(
        &mut store,
        &user("alice"),
        Outgoing::new(Recipient::User(user("bob")), body("x")),
        at(1),
    );
    assert_eq!(sent.unwrap_err().code(), "storage_unavailable");
    assert_eq!(
        check_register(&store, &user("carol")).unwrap_err().code(),
        "storage_unavailable"
    );
    let login = begin_login(&store, user("alice"), &PasswordHash::new("d".into()));
    assert_eq!(login.unwrap_err().code(), "storage_unavailable");
    let read = history(
        &store,
        &user("alice"),
        &Recipient::User(user("bob")),
        None,
        None,
        HistoryPaging::default(),
    );
    assert_eq!(read.unwrap_err().code(), "storage_unavailable");
}

fn chat(store: &mut MemoryStore, count: usize) -> Vec<MessageId> {
    (0..count)
        .map(|i| {
            let (from, to) = if i % 2 == 0 {
                ("alice", "bob")
            } else {
                ("bob", "alice")
            };
            send_new(
                store,
                &user(from),
                Outgoing::new(Recipient::User(user(to)), body(&format!("m{i}"))),
                at(i as i64),
            )
            .unwrap()
            .message
            .id
        })
        .collect()
}

#[test]
fn history_pages_newest_first_then_older_by_before() {
    let mut store = registered(&["alice", "bob", "carol"]);
    let ids = chat(&mut store, 7);
    // Noise in another conversation must not show.
    send_new(
        &mut store,
        &user("alice"),
        Outgoing::new(Recipient::User(user("carol")), body("other")),
        at(99),
    )
    .unwrap();
    let bob = Recipient::User(user("bob"));
    let paging = HistoryPaging::default();

    let newest = history(&store, &user("alice"), &bob, None, Some(3), paging).unwrap();
    assert_eq!(
        newest.messages.iter().map(|m| m.id).collect::<Vec<_>>(),
        ids[4..7]
    );
    assert!(newest.has_more && !newest.clamped);

    let older = history(
        &store,
        &user("alice"),
        &bob,
        Some(newest.messages[0].id),
        Some(3),
        paging,
    )
    .unwrap();
    assert_eq!(
        older.messages.iter().map(|m| m.id).collect::<Vec<_>>(),
        ids[1..4]
    );
    assert!(older.has_more);

    let oldest = history(
        &store,
        &user("alice"),
        &bob,
        Some(older.messages[0].id),
        Some(3),
        paging,
    )
    .unwrap();
    assert_eq!(
        oldest.messages.iter().map(|m| m.id).collect::<Vec<_>>(),
        ids[0..1]
    );
    assert!(!oldest.has_more);

    // Both sides read the same conversation.
    let from_bob = history(
        &store,
        &user("bob"),
        &Recipient::User(user("alice")),
        None,
        Some(10),
        paging,
    )
    .unwrap();
    assert_eq!(from_bob.messages.len(), 7);
    assert!(!from_bob.has_more);
}

#[test]
fn history_page_size_is_clamped_and_says_so() {
    let mut store = registered(&["alice", "bob"]);
    chat(&mut store, 4);
    let bob = Recipient::User(user("bob"));
    let paging = HistoryPaging {
        page_default: 2,
        page_max: 3,
    };

    let default = history(&store, &user("alice"), &bob, None, None, paging).unwrap();
    assert_eq!(
        (default.messages.len(), default.limit, default.clamped),
        (2, 2, false)
    );

    let big = history(&store, &user("alice"), &bob, None, Some(1000), paging).unwrap();
    assert_eq!((big.messages.len(), big.limit, big.clamped), (3, 3, true));

    let zero = history(&store, &user("alice"), &bob, None, Some(0), paging).unwrap();
    assert_eq!(
        (zero.messages.len(), zero.limit, zero.clamped),
        (1, 1, true)
    );
}

#[test]
fn history_with_an_unknown_user_is_refused() {
    let store = registered(&["alice"]);
    let err = history(
        &store,
        &user("alice"),
        &Recipient::User(user("ghost")),
        None,
        None,
        HistoryPaging::default(),
    );
    assert_eq!(err.unwrap_err().code(), "unknown_user");
}

#[test]
fn every_rule_error_code_is_snake_case() {
    let store_error = StoreError::Corrupt("x".into());
    let codes = [
        RegisterError::UsernameTaken(user("abc")).code(),
        RegisterError::Store(store_error.clone()).code(),
        LoginError::UnknownUser(user("abc")).code(),
        LoginError::WrongPassword.code(),
        SendError::UnknownRecipient(user("abc")).code(),
        ReadError::UnknownUser(user("abc")).code(),
        ReadError::Store(store_error).code(),
    ];
    for code in codes {
        assert!(crate::error::is_snake_case(code), "{code}");
    }
}
