//! The inbox rules over the in-memory store: the conversation list, read markers, catch-up.

use super::*;
use crate::body::MessageBody;
use crate::error::ErrorCode;
use crate::group::GroupName;
use crate::memory_store::MemoryStore;
use crate::rules::Outgoing;
use crate::rules::groups::{GroupLimits, create, invite, kick};
use crate::rules::test_support::{at, send_new as send, store_with, team, user};

/// `owner` creates #team with `members`.
fn create_team(store: &mut MemoryStore, owner: &str, members: &[&str]) {
    let members = members.iter().map(|m| user(m)).collect();
    create(
        store,
        &user(owner),
        team(),
        members,
        GroupLimits::default(),
        at(1),
    )
    .unwrap();
}

fn say(store: &mut MemoryStore, from: &str, to: Recipient, text: &str) -> Message {
    let body = MessageBody::new(text.into()).unwrap();
    send(store, &user(from), Outgoing::new(to, body), at(1))
        .unwrap()
        .message
}

fn to(name: &str) -> Recipient {
    Recipient::User(user(name))
}

#[test]
fn the_list_holds_people_and_groups_newest_first_with_unread_counts() {
    let mut store = store_with(&["alice", "bob", "carol"]);
    say(&mut store, "bob", to("alice"), "one");
    say(&mut store, "bob", to("alice"), "two");
    say(&mut store, "alice", to("bob"), "mine do not count");
    create_team(&mut store, "carol", &["alice"]);
    let newest = say(&mut store, "carol", Recipient::Group(team()), "hi team");
    say(&mut store, "bob", to("carol"), "not alice's");

    let list = conversations(&store, &user("alice")).unwrap();
    let withs: Vec<&Recipient> = list.iter().map(|c| &c.with).collect();
    assert_eq!(withs, [&Recipient::Group(team()), &to("bob")]);
    assert_eq!(list[0].last.as_ref(), Some(&newest));
    // The group's creation notice is carol's; her message is the other unread.
    assert_eq!(list[0].unread, 2);
    assert_eq!(list[1].unread, 2, "bob's two, not alice's own");
    assert_eq!(list[1].read_up_to, None);
    assert_eq!(conversations(&store, &user("carol")).unwrap().len(), 2);
}

#[test]
fn marking_read_is_shared_never_moves_back_and_never_past_the_newest() {
    let mut store = store_with(&["alice", "bob"]);
    let first = say(&mut store, "bob", to("alice"), "one");
    let second = say(&mut store, "bob", to("alice"), "two");
    let alice = user("alice");
    assert_eq!(
        mark_read(&mut store, &alice, &to("bob"), Some(first.id)).unwrap(),
        Some(first.id)
    );
    assert_eq!(conversations(&store, &alice).unwrap()[0].unread, 1);
    // Far past the newest: stops at the newest, so what comes later stays unread.
    assert_eq!(
        mark_read(&mut store, &alice, &to("bob"), MessageId::new(1_000_000)).unwrap(),
        Some(second.id)
    );
    say(&mut store, "bob", to("alice"), "three");
    assert_eq!(conversations(&store, &alice).unwrap()[0].unread, 1);
    // Back is no move at all.
    assert_eq!(
        mark_read(&mut store, &alice, &to("bob"), Some(first.id)).unwrap(),
        Some(second.id)
    );
}

#[test]
fn marking_read_up_to_nothing_answers_the_marker_as_it_is() {
    let mut store = store_with(&["alice", "bob"]);
    let alice = user("alice");
    assert_eq!(
        mark_read(&mut store, &alice, &to("bob"), None).unwrap(),
        None
    );
    let first = say(&mut store, "bob", to("alice"), "one");
    say(&mut store, "bob", to("alice"), "two");
    assert_eq!(
        mark_read(&mut store, &alice, &to("bob"), None).unwrap(),
        None
    );
    assert_eq!(conversations(&store, &alice).unwrap()[0].read_up_to, None);
    mark_read(&mut store, &alice, &to("bob"), Some(first.id)).unwrap();
    assert_eq!(
        mark_read(&mut store, &alice, &to("bob"), None).unwrap(),
        Some(first.id)
    );
    // Still only for someone who may read it.
    let err = mark_read(&mut store, &alice, &to("ghost"), None).unwrap_err();
    assert_eq!(err.code(), "unknown_user");
}

#[test]
fn unread_counts_stop_at_the_cap() {
    let mut store = store_with(&["alice", "bob"]);
    for i in 0..UNREAD_COUNTED_MAX + 5 {
        say(&mut store, "bob", to("alice"), &format!("m{i}"));
    }
    let list = conversations(&store, &user("alice")).unwrap();
    assert_eq!(list[0].unread, UNREAD_COUNTED_MAX);
}

#[test]
fn only_members_mark_a_group_read_and_strangers_are_refused() {
    let mut store = store_with(&["alice", "bob", "carol"]);
    create_team(&mut store, "alice", &["bob"]);
    let group = Recipient::Group(team());
    let err = mark_read(&mut store, &user("carol"), &group, Some(MessageId::FIRST)).unwrap_err();
    assert_eq!(err.code(), "not_a_member");
    let nowhere = Recipient::Group(GroupName::parse("nowhere").unwrap());
    let err = mark_read(&mut store, &user("carol"), &nowhere, Some(MessageId::FIRST)).unwrap_err();
    assert_eq!(err.code(), "unknown_group");
    let err = mark_read(
        &mut store,
        &user("carol"),
        &to("ghost"),
        Some(MessageId::FIRST),
    )
    .unwrap_err();
    assert_eq!(err.code(), "unknown_user");
}

#[test]
fn catch_up_pages_every_conversation_in_id_order() {
    let mut store = store_with(&["alice", "bob", "carol"]);
    let before = say(&mut store, "bob", to("alice"), "before");
    create_team(&mut store, "carol", &["alice"]);
    say(&mut store, "carol", Recipient::Group(team()), "g1");
    say(&mut store, "bob", to("alice"), "d1");
    say(&mut store, "bob", to("carol"), "not for alice");
    say(&mut store, "alice", to("alice"), "a note");
    let alice = user("alice");
    let paging = HistoryPaging::default();
    let page = catch_up(&store, &alice, Some(before.id), Some(2), paging).unwrap();
    let texts = |page: &CatchUpPage| -> Vec<String> {
        page.messages
            .iter()
            .map(|m| m.content.to_spelled())
            .collect()
    };
    assert_eq!(texts(&page), ["\0created alice", "g1"]);
    assert!(page.has_more);
    let last = page.messages.last().unwrap().id;
    let rest = catch_up(&store, &alice, Some(last), Some(2), paging).unwrap();
    assert_eq!(texts(&rest), ["d1", "a note"]);
    assert!(!rest.has_more);
}

#[test]
fn someone_removed_no_longer_catches_up_on_the_group() {
    let mut store = store_with(&["alice", "bob"]);
    create_team(&mut store, "alice", &["bob"]);
    kick(&mut store, &user("alice"), &team(), &user("bob"), at(2)).unwrap();
    say(
        &mut store,
        "alice",
        Recipient::Group(team()),
        "after bob left",
    );
    let page = catch_up(&store, &user("bob"), None, None, HistoryPaging::default()).unwrap();
    assert!(page.messages.is_empty(), "{:?}", page.messages);
}

#[test]
fn someone_added_later_counts_and_catches_up_from_the_notice_that_added_them() {
    let mut store = store_with(&["alice", "bob", "carol"]);
    create_team(&mut store, "alice", &["bob"]);
    let team_at = Recipient::Group(team());
    say(&mut store, "bob", team_at.clone(), "before carol");
    let limits = GroupLimits::default();
    let invite_carol = |store: &mut MemoryStore| {
        let change = invite(
            store,
            &user("alice"),
            &team(),
            &user("carol"),
            limits,
            at(2),
        );
        change.unwrap().notice.unwrap()
    };
    let added = invite_carol(&mut store);
    let carol = user("carol");
    let paging = HistoryPaging::default();
    let list = conversations(&store, &carol).unwrap();
    assert_eq!(list[0].last.as_ref(), Some(&added));
    assert_eq!(
        list[0].unread, 1,
        "the notice that added her, not what came before"
    );
    let caught = catch_up(&store, &carol, None, None, paging).unwrap();
    assert_eq!(caught.messages, [added]);
    assert_eq!(conversations(&store, &user("bob")).unwrap()[0].unread, 2);
    // Removed, then added again: nothing from while she was out.
    kick(&mut store, &user("alice"), &team(), &carol, at(3)).unwrap();
    say(&mut store, "bob", team_at.clone(), "while carol was out");
    let again = invite_carol(&mut store);
    let back = say(&mut store, "bob", team_at, "welcome back");
    let list = conversations(&store, &carol).unwrap();
    assert_eq!(list[0].unread, 2, "the new notice and what followed");
    let caught = catch_up(&store, &carol, None, None, paging).unwrap();
    assert_eq!(caught.messages, [again, back]);
    // Marking read stops at the newest she can read, as ever.
    let team_at = Recipient::Group(team());
    let marked = mark_read(&mut store, &carol, &team_at, MessageId::new(1_000)).unwrap();
    assert_eq!(marked, Some(caught.messages[1].id));
}

#[test]
fn the_readers_own_messages_do_not_hide_what_others_said() {
    let mut store = store_with(&["alice", "bob"]);
    create_team(&mut store, "alice", &["bob"]);
    let team_at = Recipient::Group(team());
    for i in 0..UNREAD_COUNTED_MAX + 20 {
        say(
            &mut store,
            "alice",
            team_at.clone(),
            &format!("announcement {i}"),
        );
    }
    say(&mut store, "bob", team_at, "a reply");
    let list = conversations(&store, &user("alice")).unwrap();
    assert_eq!(list[0].unread, 1);
}

#[test]
fn catching_up_across_long_conversations_keeps_one_order() {
    let mut store = store_with(&["alice", "bob", "carol", "dave"]);
    let mut expected = Vec::new();
    for i in 0..(CATCH_UP_CHUNK * 5) {
        let from = ["bob", "carol", "dave"][i % 3];
        let step = if i % 7 == 0 { "alice" } else { from };
        expected.push(
            say(
                &mut store,
                step,
                to(if step == "alice" { from } else { "alice" }),
                &format!("m{i}"),
            )
            .id,
        );
    }
    let alice = user("alice");
    let mut got = Vec::new();
    let mut after = None;
    loop {
        let page = catch_up(&store, &alice, after, Some(5), HistoryPaging::default()).unwrap();
        got.extend(page.messages.iter().map(|m| m.id));
        match page.messages.last() {
            Some(last) if page.has_more => after = Some(last.id),
            _ => break,
        }
    }
    assert_eq!(got, expected);
}
