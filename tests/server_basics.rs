//! The real `chat-server` over real sockets: accounts, sending, history, several devices, and
//! every validation error. Each scenario runs on both stores.

mod common;

use chat_store_contract::TempDir;
use chat_wire::{Reply, Request, WireRecipient};
use common::*;

fn accounts(store: &'static str) {
    let data = TempDir::new("e2e-accounts");
    let server = ServerProcess::start(store, &data, &[]);
    let mut alice = server.client();
    assert_eq!(
        alice.register("Alice"),
        Reply::Registered {
            username: "alice".into()
        }
    );
    assert_eq!(error_code(&alice.register("bob")), "already_logged_in");

    let mut other = server.client();
    assert_eq!(error_code(&other.register("ALICE")), "username_taken");
    assert_eq!(
        error_code(&other.log_in("alice", "wrong password")),
        "wrong_password"
    );
    assert_eq!(
        error_code(&other.log_in("nobody", PASSWORD)),
        "unknown_user"
    );
    assert_eq!(
        error_code(&other.log_in("alice", "short")),
        "wrong_password"
    );
    assert_eq!(error_code(&other.register("x")), "invalid_username");
    assert_eq!(error_code(&other.register("zoë")), "invalid_username");
    let short = other.request(Request::Register {
        username: "carol".into(),
        password: "1234567".into(),
    });
    assert_eq!(error_code(&short), "invalid_password");
    assert_eq!(
        other.log_in("ALICE", PASSWORD),
        Reply::LoggedIn {
            username: "alice".into()
        }
    );
    assert_eq!(other.request(Request::Ping), Reply::Pong);
}

fn requests_before_log_in_are_refused(store: &'static str) {
    let data = TempDir::new("e2e-anon");
    let server = ServerProcess::start(store, &data, &[]);
    let mut anonymous = server.client();
    assert_eq!(error_code(&anonymous.send("bob", "hi")), "not_logged_in");
    let history = anonymous.request(Request::History {
        with: WireRecipient::User("bob".into()),
        before: None,
        limit: None,
    });
    assert_eq!(error_code(&history), "not_logged_in");
}

fn every_message_error(store: &'static str) {
    let data = TempDir::new("e2e-validation");
    let server = ServerProcess::start(store, &data, &[]);
    let mut alice = user(&server, "alice");
    user(&server, "bob");
    assert_eq!(error_code(&alice.send("ghost", "hi")), "unknown_user");
    assert_eq!(error_code(&alice.send("b", "hi")), "invalid_username");
    assert_eq!(error_code(&alice.send("bob", "")), "empty_message");
    assert_eq!(error_code(&alice.send("bob", " \n\t ")), "empty_message");
    assert_eq!(
        error_code(&alice.send("bob", &"a".repeat(4001))),
        "message_too_long"
    );
    assert_eq!(
        error_code(&alice.send("bob", &"a".repeat(16 * 1024 + 1))),
        "message_too_long"
    );
    assert_eq!(
        error_code(&alice.send("bob", "bell\u{7}")),
        "invalid_message"
    );
    assert_eq!(
        error_code(&alice.send("bob", "abc\u{202E}def")),
        "invalid_message"
    );
    // The limits themselves pass, and nothing refused was stored.
    alice.send_ok("bob", &"😀".repeat(4000));
    let page = alice.history("bob", None, None);
    assert_eq!(page.messages.len(), 1);
    let unknown = alice.request(Request::History {
        with: WireRecipient::User("ghost".into()),
        before: None,
        limit: None,
    });
    assert_eq!(error_code(&unknown), "unknown_user");
}

fn live_delivery(store: &'static str) {
    let data = TempDir::new("e2e-live");
    let server = ServerProcess::start(store, &data, &[]);
    let mut alice = user(&server, "alice");
    let mut bob = user(&server, "bob");
    let id = alice.send_ok("Bob", "hello  bob\nsecond line");
    let got = bob.next_message();
    assert_eq!(
        (got.id, got.from.as_str(), got.body.as_str()),
        (id, "alice", "hello  bob\nsecond line")
    );
    assert_eq!(got.to, WireRecipient::User("bob".into()));
    let reply_id = bob.send_ok("alice", "hi alice");
    assert!(reply_id > id);
    assert_eq!(alice.next_message().body, "hi alice");
}

fn offline_message_then_history(store: &'static str) {
    let data = TempDir::new("e2e-offline");
    let server = ServerProcess::start(store, &data, &[]);
    let mut alice = user(&server, "alice");
    drop(user(&server, "bob"));
    let first = alice.send_ok("bob", "while you were out");
    let second = alice.send_ok("bob", "and another");
    let mut bob = server.client();
    assert_eq!(
        bob.log_in("bob", PASSWORD),
        Reply::LoggedIn {
            username: "bob".into()
        }
    );
    let page = bob.history("alice", None, None);
    let ids: Vec<u64> = page.messages.iter().map(|m| m.id).collect();
    assert_eq!(ids, vec![first, second]);
    assert_eq!(page.messages[0].body, "while you were out");
    assert!(!page.has_more);
}

fn history_pages_across_three_pages(store: &'static str) {
    let data = TempDir::new("e2e-paging");
    let server = ServerProcess::start(store, &data, &[]);
    let mut alice = user(&server, "alice");
    let mut bob = user(&server, "bob");
    let mut ids = Vec::new();
    for i in 0..25 {
        let (from, to) = if i % 2 == 0 {
            (&mut alice, "bob")
        } else {
            (&mut bob, "alice")
        };
        ids.push(from.send_ok(to, &format!("message {i}")));
    }
    let newest = alice.history("bob", None, Some(10));
    assert_eq!(
        newest.messages.iter().map(|m| m.id).collect::<Vec<_>>(),
        ids[15..]
    );
    assert!(newest.has_more);
    let middle = alice.history("bob", Some(newest.messages[0].id), Some(10));
    assert_eq!(
        middle.messages.iter().map(|m| m.id).collect::<Vec<_>>(),
        ids[5..15]
    );
    let oldest = alice.history("bob", Some(middle.messages[0].id), Some(10));
    assert_eq!(
        oldest.messages.iter().map(|m| m.id).collect::<Vec<_>>(),
        ids[..5]
    );
    assert!(!oldest.has_more);
    let clamped = alice.history("bob", None, Some(100_000));
    assert!(clamped.clamped && clamped.limit == 500 && clamped.messages.len() == 25);
}

fn a_large_history_page_fits_one_frame(store: &'static str) {
    let data = TempDir::new("e2e-bigpage");
    let server = ServerProcess::start(store, &data, &[]);
    let mut alice = user(&server, "alice");
    user(&server, "bob");
    let body = "x".repeat(4000);
    let ids: Vec<u64> = (0..40).map(|_| alice.send_ok("bob", &body)).collect();
    // 40 x 4,000 bytes will not fit in 64 KiB: the newest that fit come back, and has_more.
    let page = alice.history("bob", None, Some(40));
    assert!(page.has_more);
    assert!(
        page.messages.len() >= 10 && page.messages.len() < 40,
        "{}",
        page.messages.len()
    );
    assert_eq!(page.messages.last().map(|m| m.id), ids.last().copied());
}

fn three_devices_of_one_user(store: &'static str) {
    let data = TempDir::new("e2e-devices");
    let server = ServerProcess::start(store, &data, &[]);
    let mut phone = user(&server, "bob");
    let mut laptop = server.client();
    let mut tablet = server.client();
    for device in [&mut laptop, &mut tablet] {
        assert_eq!(
            device.log_in("bob", PASSWORD),
            Reply::LoggedIn {
                username: "bob".into()
            }
        );
    }
    let mut alice = user(&server, "alice");
    let id = alice.send_ok("bob", "to every device");
    for device in [&mut phone, &mut laptop, &mut tablet] {
        let got = device.next_message();
        assert_eq!((got.id, got.body.as_str()), (id, "to every device"));
    }
    // The sender's other devices see what it sent; the sending device only gets the ack.
    let own = laptop.send_ok("alice", "from the laptop");
    for device in [&mut phone, &mut tablet] {
        let got = device.next_message();
        assert_eq!((got.id, got.from.as_str()), (own, "bob"));
    }
    assert_eq!(alice.next_message().id, own);
    assert_eq!(laptop.request(Request::Ping), Reply::Pong);
    assert!(
        laptop.events.is_empty(),
        "the sending device got its own message: {:?}",
        laptop.events
    );
}

fn quit_says_bye_and_closes(store: &'static str) {
    let data = TempDir::new("e2e-quit");
    let server = ServerProcess::start(store, &data, &[]);
    let mut alice = user(&server, "alice");
    assert_eq!(alice.request(Request::Quit), Reply::Bye);
    assert_eq!(alice.read_frame(), None);
}

on_both_stores!(
    accounts,
    requests_before_log_in_are_refused,
    every_message_error,
    live_delivery,
    offline_message_then_history,
    history_pages_across_three_pages,
    a_large_history_page_fits_one_frame,
    three_devices_of_one_user,
    quit_says_bye_and_closes,
);
