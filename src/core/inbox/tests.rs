//! The inbox family over a real store: read markers move the user's other devices, the
//! conversation list counts what is unread, catch-up returns what came after an id.

use chat_wire::{Event, Reply, Request, ServerFrame, WireRecipient};

use crate::core::tests::{World, error_code, frames_for, reply_to};

fn send_to(world: &mut World, from: crate::core::ConnId, to: &str, body: &str) -> u64 {
    let reply = world.ask(
        from,
        Request::Send {
            client_message_id: 0,
            to: WireRecipient::User(to.into()),
            body: body.into(),
        },
    );
    match reply {
        Reply::Sent { message_id, .. } => message_id,
        other => panic!("{other:?}"),
    }
}

#[test]
fn marking_read_moves_the_marker_on_the_users_other_devices() {
    let mut world = World::new();
    let alice = world.user("alice");
    let alice_phone = world.device("alice");
    let bob = world.user("bob");
    let id = send_to(&mut world, bob, "alice", "read me");
    let (request, effects) = world.request(
        alice,
        Request::MarkRead {
            with: WireRecipient::User("bob".into()),
            up_to: id,
        },
    );
    assert_eq!(
        reply_to(&effects, alice, request),
        Reply::Marked { up_to: Some(id) }
    );
    assert!(matches!(
        frames_for(&effects, alice_phone).as_slice(),
        [ServerFrame::Event(Event::Read { up_to, .. })] if *up_to == id
    ));
    assert!(frames_for(&effects, bob).is_empty());
}

#[test]
fn the_list_counts_unread_and_catch_up_returns_what_came_after() {
    let mut world = World::new();
    let alice = world.user("alice");
    let bob = world.user("bob");
    let first = send_to(&mut world, bob, "alice", "one");
    send_to(&mut world, bob, "alice", "two");
    let list = world.ask(alice, Request::Conversations);
    let Reply::Conversations(page) = list else {
        panic!("{list:?}")
    };
    assert_eq!(page.conversations.len(), 1);
    assert_eq!(page.conversations[0].unread, 2);
    let caught = world.ask(
        alice,
        Request::CatchUp {
            after: first,
            limit: None,
        },
    );
    let Reply::CaughtUp(page) = caught else {
        panic!("{caught:?}")
    };
    assert_eq!(page.entries.len(), 1);
    assert!(!page.has_more);
}

#[test]
fn marking_read_up_to_0_marks_nothing_and_answers_the_marker() {
    let mut world = World::new();
    let alice = world.user("alice");
    let alice_phone = world.device("alice");
    let bob = world.user("bob");
    let up_to = |with: &str, up_to: u64| Request::MarkRead {
        with: WireRecipient::User(with.into()),
        up_to,
    };
    assert_eq!(
        world.ask(alice, up_to("bob", 0)),
        Reply::Marked { up_to: None }
    );
    let id = send_to(&mut world, bob, "alice", "one");
    let (request, effects) = world.request(alice, up_to("bob", 0));
    assert_eq!(
        reply_to(&effects, alice, request),
        Reply::Marked { up_to: None }
    );
    assert!(frames_for(&effects, alice_phone).is_empty());
    world.ask(alice, up_to("bob", id));
    let (request, effects) = world.request(alice, up_to("bob", 0));
    assert_eq!(
        reply_to(&effects, alice, request),
        Reply::Marked { up_to: Some(id) }
    );
    assert!(frames_for(&effects, alice_phone).is_empty());
    assert_eq!(
        error_code(&world.ask(alice, up_to("nobody", 0))),
        "unknown_user"
    );
}

#[test]
fn catching_up_after_0_returns_everything() {
    let mut world = World::new();
    let alice = world.user("alice");
    let bob = world.user("bob");
    let first = send_to(&mut world, bob, "alice", "one");
    let second = send_to(&mut world, alice, "bob", "two");
    let caught = world.ask(
        alice,
        Request::CatchUp {
            after: 0,
            limit: None,
        },
    );
    let Reply::CaughtUp(page) = caught else {
        panic!("{caught:?}")
    };
    let ids: Vec<u64> = page
        .entries
        .iter()
        .map(|entry| match entry {
            chat_wire::WireEntry::Message(m) => m.id,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(ids, [first, second]);
    assert!(!page.has_more);
}
