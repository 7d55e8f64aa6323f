//! The groups family over a real store: a change is answered with its notice and delivered to
//! everyone it concerns; the member list says who is online; refusals carry their codes.

use chat_wire::{Event, Reply, Request, ServerFrame, WireRecipient};

use crate::core::tests::{World, error_code, frames_for, reply_to};

#[test]
fn creating_a_group_tells_its_members_and_only_them() {
    let mut world = World::new();
    let alice = world.user("alice");
    let bob = world.user("bob");
    let carol = world.user("carol");
    let (id, effects) = world.request(
        alice,
        Request::CreateGroup {
            group: "team".into(),
            members: vec!["bob".into()],
        },
    );
    assert!(matches!(
        reply_to(&effects, alice, id),
        Reply::GroupChanged(Some(_))
    ));
    assert!(matches!(
        frames_for(&effects, bob).as_slice(),
        [ServerFrame::Event(Event::Notice(_))]
    ));
    assert!(frames_for(&effects, carol).is_empty());
    // A message to the group reaches bob; carol is refused.
    let (_, effects) = world.request(
        alice,
        Request::Send {
            client_message_id: 0,
            to: WireRecipient::Group("team".into()),
            body: "hello team".into(),
        },
    );
    assert_eq!(frames_for(&effects, bob).len(), 1);
    let refused = world.ask(
        carol,
        Request::Send {
            client_message_id: 0,
            to: WireRecipient::Group("team".into()),
            body: "let me in".into(),
        },
    );
    assert_eq!(error_code(&refused), "not_a_member");
}

#[test]
fn the_member_list_says_who_is_online() {
    let mut world = World::new();
    let alice = world.user("alice");
    let bob = world.user("bob");
    world.ask(
        alice,
        Request::CreateGroup {
            group: "team".into(),
            members: vec!["bob".into()],
        },
    );
    world.apply(vec![crate::core::Input::Closed { conn: bob }]);
    let members = world.ask(
        alice,
        Request::Members {
            group: "team".into(),
        },
    );
    let Reply::Members(members) = members else {
        panic!("{members:?}")
    };
    let online: Vec<(&str, bool)> = members
        .iter()
        .map(|m| (m.username.as_str(), m.online))
        .collect();
    assert!(online.contains(&("alice", true)), "{online:?}");
    assert!(online.contains(&("bob", false)), "{online:?}");
}

#[test]
fn bad_names_and_the_rules_refusals_carry_their_codes() {
    let mut world = World::new();
    let alice = world.user("alice");
    let bad_group = world.ask(
        alice,
        Request::Leave {
            group: "no spaces allowed".into(),
        },
    );
    assert_eq!(error_code(&bad_group), "invalid_group_name");
    let bad_user = world.ask(
        alice,
        Request::Invite {
            group: "team".into(),
            user: "x".into(),
        },
    );
    assert_eq!(error_code(&bad_user), "invalid_username");
    let unknown = world.ask(
        alice,
        Request::Leave {
            group: "nowhere".into(),
        },
    );
    assert_eq!(error_code(&unknown), "unknown_group");
}
