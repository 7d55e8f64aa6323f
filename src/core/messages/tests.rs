//! The messages family over a real store: who receives a message, what a repeated number gets,
//! the message rate limit, and history.

use chat_wire::{Event, Reply, Request, ServerFrame, WireRecipient};

use crate::core::tests::{World, error_code, frames_for, reply_to};

fn send(to: &str, body: &str, number: u64) -> Request {
    Request::Send {
        client_message_id: number,
        to: WireRecipient::User(to.into()),
        body: body.into(),
    }
}

fn sent_id(reply: &Reply) -> u64 {
    match reply {
        Reply::Sent { message_id, .. } => *message_id,
        other => panic!("expected Sent, got {other:?}"),
    }
}

#[test]
fn a_message_reaches_the_recipients_devices_and_the_senders_others_once() {
    let mut world = World::new();
    let alice = world.user("alice");
    let alice_phone = world.device("alice");
    let bob = world.user("bob");
    let bob_phone = world.device("bob");
    let carol = world.user("carol");
    let (id, effects) = world.request(alice, send("bob", "hi", 1));
    let message_id = sent_id(&reply_to(&effects, alice, id));
    for conn in [bob, bob_phone, alice_phone] {
        let frames = frames_for(&effects, conn);
        assert!(
            matches!(frames.as_slice(), [ServerFrame::Event(Event::Message(m))] if m.id == message_id && m.body == "hi"),
            "{conn:?}: {frames:?}"
        );
    }
    // The sender's own connection gets the ack, not a copy; nobody else gets anything.
    assert_eq!(frames_for(&effects, alice).len(), 1);
    assert!(frames_for(&effects, carol).is_empty());
}

#[test]
fn a_repeated_number_is_answered_with_the_original_and_delivered_once() {
    let mut world = World::new();
    let alice = world.user("alice");
    let bob = world.user("bob");
    let (id, effects) = world.request(alice, send("bob", "hi", 7));
    let first = sent_id(&reply_to(&effects, alice, id));
    let resend = Request::Resend {
        client_message_id: 7,
        to: WireRecipient::User("bob".into()),
        body: "hi".into(),
    };
    let (id, effects) = world.request(alice, resend);
    assert_eq!(sent_id(&reply_to(&effects, alice, id)), first);
    assert!(frames_for(&effects, bob).is_empty(), "delivered once");
    let no_number = Request::Resend {
        client_message_id: 0,
        to: WireRecipient::User("bob".into()),
        body: "hi".into(),
    };
    assert_eq!(
        error_code(&world.ask(alice, no_number)),
        "missing_client_message_id"
    );
}

#[test]
fn messages_past_the_burst_are_rate_limited_and_others_are_not_slowed() {
    let mut world = World::new();
    let alice = world.user("alice");
    let bob = world.user("bob");
    for n in 0..50 {
        assert!(
            matches!(
                world.ask(alice, send("bob", "burst", 0)),
                Reply::Sent { .. }
            ),
            "{n}"
        );
    }
    assert_eq!(
        error_code(&world.ask(alice, send("bob", "one more", 0))),
        "rate_limited"
    );
    assert!(matches!(
        world.ask(bob, send("alice", "hi", 0)),
        Reply::Sent { .. }
    ));
}

#[test]
fn history_reads_back_what_was_sent_newest_page_first() {
    let mut world = World::new();
    let alice = world.user("alice");
    world.user("bob");
    for n in 0..3 {
        world.ask(alice, send("bob", &format!("m{n}"), 0));
    }
    let history = world.ask(
        alice,
        Request::History {
            with: WireRecipient::User("bob".into()),
            before: None,
            limit: Some(2),
        },
    );
    let Reply::History(page) = history else {
        panic!("{history:?}")
    };
    let bodies: Vec<&str> = page.messages.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, ["m1", "m2"]);
    assert!(page.has_more);
    let unknown = world.ask(alice, send("nobody", "hello?", 0));
    assert_eq!(error_code(&unknown), "unknown_user");
}

#[test]
fn history_before_0_is_an_empty_page_after_the_same_checks() {
    let mut world = World::new();
    let alice = world.user("alice");
    world.user("bob");
    world.ask(alice, send("bob", "hi", 0));
    let before_0 = |with: &str| Request::History {
        with: WireRecipient::User(with.into()),
        before: Some(0),
        limit: Some(0),
    };
    let history = world.ask(alice, before_0("bob"));
    let Reply::History(page) = history else {
        panic!("{history:?}")
    };
    assert!(page.messages.is_empty());
    assert!(!page.has_more);
    assert_eq!((page.limit, page.clamped), (1, true));
    let unknown = world.ask(alice, before_0("nobody"));
    assert_eq!(error_code(&unknown), "unknown_user");
}
