//! The group rules over the in-memory store: every command, every refusal, who is told.

use super::*;
use crate::body::MessageBody;
use crate::memory_store::MemoryStore;
use crate::password::PasswordHash;
use crate::ports::{StoreReads, UserRecord};
use crate::rules::test_support::{at, send_new as send, store_with, team, user};
use crate::rules::{HistoryPaging, Outgoing, history};

fn users(names: &[&str]) -> Vec<Username> {
    names.iter().map(|n| user(n)).collect()
}

/// alice owns #team; bob is an admin; carol and dave are members; eve is outside.
fn the_team() -> MemoryStore {
    let mut store = store_with(&["alice", "bob", "carol", "dave", "eve"]);
    let limits = GroupLimits::default();
    create(
        &mut store,
        &user("alice"),
        team(),
        users(&["bob", "carol", "dave"]),
        limits,
        at(1),
    )
    .unwrap();
    make_admin(&mut store, &user("alice"), &team(), &user("bob"), at(2)).unwrap();
    store
}

fn role(store: &MemoryStore, name: &str) -> Option<Role> {
    store.member(&team(), &user(name)).unwrap().map(|m| m.role)
}

fn code<T: std::fmt::Debug>(result: Result<T, GroupError>) -> &'static str {
    result.unwrap_err().code()
}

fn notice_of(change: &GroupChange) -> &Notice {
    match &change.notice.as_ref().unwrap().content {
        Content::Notice(notice) => notice,
        other => panic!("not a notice: {other:?}"),
    }
}

#[test]
fn create_makes_the_creator_owner_and_tells_everyone() {
    let mut store = store_with(&["alice", "bob", "carol"]);
    let change = create(
        &mut store,
        &user("alice"),
        team(),
        users(&["carol", "bob", "alice", "bob"]),
        GroupLimits::default(),
        at(1),
    )
    .unwrap();
    assert_eq!(
        notice_of(&change),
        &Notice::Created {
            members: users(&["bob", "carol"])
        },
        "each other member once, in name order"
    );
    assert_eq!(change.audience, users(&["alice", "bob", "carol"]));
    assert_eq!(role(&store, "alice"), Some(Role::Owner));
    assert_eq!(role(&store, "bob"), Some(Role::Member));
    let notice = change.notice.unwrap();
    assert_eq!(notice.sender, user("alice"));
    assert_eq!(notice.recipient, Recipient::Group(team()));
}

#[test]
fn create_refusals() {
    let mut store = the_team();
    let limits = GroupLimits::default();
    assert_eq!(
        code(create(
            &mut store,
            &user("eve"),
            team(),
            vec![],
            limits,
            at(3)
        )),
        "group_exists"
    );
    let other = GroupName::parse("other").unwrap();
    assert_eq!(
        code(create(
            &mut store,
            &user("eve"),
            other.clone(),
            users(&["zed"]),
            limits,
            at(3)
        )),
        "unknown_user"
    );
    let small = GroupLimits {
        members_max: 2,
        ..limits
    };
    assert_eq!(
        code(create(
            &mut store,
            &user("eve"),
            other.clone(),
            users(&["alice", "bob"]),
            small,
            at(3)
        )),
        "group_full"
    );
    let one_group = GroupLimits {
        groups_per_user_max: 1,
        ..limits
    };
    assert_eq!(
        code(create(
            &mut store,
            &user("eve"),
            other.clone(),
            users(&["bob"]),
            one_group,
            at(3)
        )),
        "too_many_groups",
        "bob is in #team already"
    );
    assert_eq!(
        code(create(
            &mut store,
            &user("alice"),
            other.clone(),
            vec![],
            one_group,
            at(3)
        )),
        "too_many_groups"
    );
    assert!(
        store.find_group(&other).unwrap().is_none(),
        "nothing half-made"
    );
}

#[test]
fn invite_by_owner_or_admin_only() {
    let mut store = the_team();
    let limits = GroupLimits::default();
    assert_eq!(
        code(invite(
            &mut store,
            &user("carol"),
            &team(),
            &user("eve"),
            limits,
            at(3)
        )),
        "not_allowed"
    );
    assert_eq!(
        code(invite(
            &mut store,
            &user("eve"),
            &team(),
            &user("eve"),
            limits,
            at(3)
        )),
        "not_a_member"
    );
    let change = invite(
        &mut store,
        &user("bob"),
        &team(),
        &user("eve"),
        limits,
        at(3),
    )
    .unwrap();
    assert_eq!(notice_of(&change), &Notice::Joined { user: user("eve") });
    assert!(
        change.audience.contains(&user("eve")),
        "the newcomer is told too"
    );
    assert_eq!(role(&store, "eve"), Some(Role::Member));
    assert_eq!(
        code(invite(
            &mut store,
            &user("alice"),
            &team(),
            &user("eve"),
            limits,
            at(4)
        )),
        "already_member"
    );
    assert_eq!(
        code(invite(
            &mut store,
            &user("alice"),
            &team(),
            &user("zed"),
            limits,
            at(4)
        )),
        "unknown_user"
    );
    let nowhere = GroupName::parse("nowhere").unwrap();
    assert_eq!(
        code(invite(
            &mut store,
            &user("alice"),
            &nowhere,
            &user("eve"),
            limits,
            at(4)
        )),
        "unknown_group"
    );
}

#[test]
fn invite_respects_both_limits() {
    let mut store = the_team();
    store
        .insert_user(&UserRecord {
            username: user("frank"),
            password_hash: PasswordHash::new("hash".into()),
            registered_at: at(0),
        })
        .unwrap();
    let full = GroupLimits {
        members_max: 4,
        ..GroupLimits::default()
    };
    assert_eq!(
        code(invite(
            &mut store,
            &user("alice"),
            &team(),
            &user("eve"),
            full,
            at(3)
        )),
        "group_full"
    );
    let one_group = GroupLimits {
        groups_per_user_max: 1,
        ..GroupLimits::default()
    };
    let other = GroupName::parse("other").unwrap();
    create(
        &mut store,
        &user("frank"),
        other,
        vec![],
        GroupLimits::default(),
        at(3),
    )
    .unwrap();
    assert_eq!(
        code(invite(
            &mut store,
            &user("alice"),
            &team(),
            &user("frank"),
            one_group,
            at(4)
        )),
        "too_many_groups"
    );
}

#[test]
fn kick_follows_the_roles() {
    let mut store = the_team();
    // A member cannot kick; an admin cannot kick an admin or the owner; nobody kicks themself.
    assert_eq!(
        code(kick(
            &mut store,
            &user("carol"),
            &team(),
            &user("dave"),
            at(3)
        )),
        "not_allowed"
    );
    assert_eq!(
        code(kick(
            &mut store,
            &user("bob"),
            &team(),
            &user("alice"),
            at(3)
        )),
        "not_allowed"
    );
    assert_eq!(
        code(kick(
            &mut store,
            &user("alice"),
            &team(),
            &user("alice"),
            at(3)
        )),
        "not_allowed"
    );
    assert_eq!(
        code(kick(
            &mut store,
            &user("alice"),
            &team(),
            &user("eve"),
            at(3)
        )),
        "not_a_member"
    );
    assert_eq!(
        code(kick(
            &mut store,
            &user("eve"),
            &team(),
            &user("dave"),
            at(3)
        )),
        "not_a_member"
    );
    // An admin kicks a member; the owner kicks an admin.
    let change = kick(&mut store, &user("bob"), &team(), &user("dave"), at(3)).unwrap();
    assert_eq!(notice_of(&change), &Notice::Removed { user: user("dave") });
    assert!(
        change.audience.contains(&user("dave")),
        "the one removed is told"
    );
    assert_eq!(role(&store, "dave"), None);
    kick(&mut store, &user("alice"), &team(), &user("bob"), at(4)).unwrap();
    assert_eq!(role(&store, "bob"), None);
}

#[test]
fn someone_removed_can_no_longer_send_or_read() {
    let mut store = the_team();
    kick(&mut store, &user("alice"), &team(), &user("carol"), at(3)).unwrap();
    let body = MessageBody::new("still here?".into()).unwrap();
    let to_team = Recipient::Group(team());
    assert_eq!(
        send(
            &mut store,
            &user("carol"),
            Outgoing::new(to_team.clone(), body.clone()),
            at(4)
        )
        .unwrap_err()
        .code(),
        "not_a_member"
    );
    assert_eq!(
        history(
            &store,
            &user("carol"),
            &to_team,
            None,
            None,
            HistoryPaging::default()
        )
        .unwrap_err()
        .code(),
        "not_a_member"
    );
    // A message after the removal reaches the members only.
    let delivery = send(
        &mut store,
        &user("alice"),
        Outgoing::new(to_team, body),
        at(5),
    )
    .unwrap();
    assert_eq!(delivery.audience, users(&["alice", "bob", "dave"]));
}

#[test]
fn members_read_the_whole_history_with_its_notices_in_one_order() {
    let mut store = the_team();
    let to_team = Recipient::Group(team());
    let body = MessageBody::new("hello team".into()).unwrap();
    send(
        &mut store,
        &user("carol"),
        Outgoing::new(to_team.clone(), body),
        at(3),
    )
    .unwrap();
    let page = history(
        &store,
        &user("dave"),
        &to_team,
        None,
        None,
        HistoryPaging::default(),
    )
    .unwrap();
    let kinds: Vec<String> = page
        .messages
        .iter()
        .map(|m| m.content.to_spelled())
        .collect();
    assert_eq!(
        kinds,
        ["\0created bob carol dave", "\0admin bob", "hello team"]
    );
    let nowhere = Recipient::Group(GroupName::parse("nowhere").unwrap());
    assert_eq!(
        history(
            &store,
            &user("dave"),
            &nowhere,
            None,
            None,
            HistoryPaging::default()
        )
        .unwrap_err()
        .code(),
        "unknown_group"
    );
    let body = MessageBody::new("x".into()).unwrap();
    assert_eq!(
        send(
            &mut store,
            &user("dave"),
            Outgoing::new(nowhere, body),
            at(4)
        )
        .unwrap_err()
        .code(),
        "unknown_group"
    );
}

/// What `name` reads of #team, oldest first, spelled out (notices start with `\0`).
fn team_history(store: &MemoryStore, name: &str) -> Vec<String> {
    let to_team = Recipient::Group(team());
    let paging = HistoryPaging::default();
    let page = history(store, &user(name), &to_team, None, Some(500), paging).unwrap();
    assert!(!page.has_more, "nothing before where {name}'s view starts");
    page.messages
        .iter()
        .map(|m| m.content.to_spelled())
        .collect()
}

fn say_to_team(store: &mut MemoryStore, from: &str, text: &str) {
    let body = MessageBody::new(text.into()).unwrap();
    let to_team = Recipient::Group(team());
    send(store, &user(from), Outgoing::new(to_team, body), at(3)).unwrap();
}

#[test]
fn a_member_reads_the_group_from_the_notice_that_added_them() {
    let mut store = the_team();
    let limits = GroupLimits::default();
    say_to_team(&mut store, "alice", "before eve");
    let added = invite(
        &mut store,
        &user("alice"),
        &team(),
        &user("eve"),
        limits,
        at(4),
    )
    .unwrap();
    let since = added.notice.unwrap().id;
    assert_eq!(
        store.member(&team(), &user("eve")).unwrap().unwrap().since,
        since
    );
    say_to_team(&mut store, "bob", "hello eve");
    assert_eq!(team_history(&store, "eve"), ["\0joined eve", "hello eve"]);
    // Others' views are as they were.
    assert_eq!(team_history(&store, "dave").len(), 5);
    // A new role does not move where a view starts, for the one made admin nor the one who
    // hands the group over.
    make_admin(&mut store, &user("alice"), &team(), &user("eve"), at(5)).unwrap();
    hand_over(&mut store, &user("alice"), &team(), &user("eve"), at(6)).unwrap();
    assert_eq!(team_history(&store, "eve").len(), 4);
    assert_eq!(team_history(&store, "alice").len(), 7);
}

#[test]
fn someone_added_again_reads_nothing_from_before_nor_from_while_they_were_out() {
    let mut store = the_team();
    let limits = GroupLimits::default();
    say_to_team(&mut store, "carol", "carol was here");
    kick(&mut store, &user("alice"), &team(), &user("carol"), at(4)).unwrap();
    say_to_team(&mut store, "alice", "while carol was out");
    invite(
        &mut store,
        &user("bob"),
        &team(),
        &user("carol"),
        limits,
        at(5),
    )
    .unwrap();
    say_to_team(&mut store, "dave", "welcome back");
    assert_eq!(
        team_history(&store, "carol"),
        ["\0joined carol", "welcome back"]
    );
    // The same after leaving of one's own accord.
    leave(&mut store, &user("carol"), &team(), at(6)).unwrap();
    say_to_team(&mut store, "alice", "carol left");
    invite(
        &mut store,
        &user("alice"),
        &team(),
        &user("carol"),
        limits,
        at(7),
    )
    .unwrap();
    assert_eq!(team_history(&store, "carol"), ["\0joined carol"]);
    assert_eq!(
        team_history(&store, "dave")[2..],
        [
            "carol was here",
            "\0removed carol",
            "while carol was out",
            "\0joined carol",
            "welcome back",
            "\0left",
            "carol left",
            "\0joined carol"
        ],
        "dave sees it all"
    );
}

#[test]
fn leave_and_the_owner_hands_over_first() {
    let mut store = the_team();
    assert_eq!(
        code(leave(&mut store, &user("alice"), &team(), at(3))),
        "owner_must_hand_over"
    );
    assert_eq!(
        code(leave(&mut store, &user("eve"), &team(), at(3))),
        "not_a_member"
    );
    let change = leave(&mut store, &user("carol"), &team(), at(3)).unwrap();
    assert_eq!(notice_of(&change), &Notice::Left);
    assert_eq!(
        change.audience.last(),
        Some(&user("carol")),
        "the leaver is told"
    );
    assert_eq!(role(&store, "carol"), None);
    // Hand over: a member only, by the owner only.
    assert_eq!(
        code(hand_over(
            &mut store,
            &user("bob"),
            &team(),
            &user("dave"),
            at(4)
        )),
        "not_allowed"
    );
    assert_eq!(
        code(hand_over(
            &mut store,
            &user("alice"),
            &team(),
            &user("eve"),
            at(4)
        )),
        "not_a_member"
    );
    assert_eq!(
        code(hand_over(
            &mut store,
            &user("alice"),
            &team(),
            &user("alice"),
            at(4)
        )),
        "not_allowed"
    );
    let change = hand_over(&mut store, &user("alice"), &team(), &user("dave"), at(4)).unwrap();
    assert_eq!(notice_of(&change), &Notice::NewOwner { user: user("dave") });
    assert_eq!(role(&store, "dave"), Some(Role::Owner));
    assert_eq!(role(&store, "alice"), Some(Role::Admin));
    leave(&mut store, &user("alice"), &team(), at(5)).unwrap();
}

#[test]
fn the_group_ends_with_its_last_member_and_its_history_with_it() {
    let mut store = store_with(&["alice", "bob"]);
    let limits = GroupLimits::default();
    create(&mut store, &user("alice"), team(), vec![], limits, at(1)).unwrap();
    let body = MessageBody::new("secret plans".into()).unwrap();
    send(
        &mut store,
        &user("alice"),
        Outgoing::new(Recipient::Group(team()), body),
        at(2),
    )
    .unwrap();
    let change = leave(&mut store, &user("alice"), &team(), at(3)).unwrap();
    assert_eq!(change.notice, None);
    assert_eq!(change.audience, users(&["alice"]));
    assert!(store.find_group(&team()).unwrap().is_none());
    // A new #team starts with nothing of the old one.
    create(&mut store, &user("bob"), team(), vec![], limits, at(4)).unwrap();
    let page = history(
        &store,
        &user("bob"),
        &Recipient::Group(team()),
        None,
        None,
        HistoryPaging::default(),
    )
    .unwrap();
    assert_eq!(page.messages.len(), 1, "only the new group's creation");
}

#[test]
fn admins_are_made_by_the_owner() {
    let mut store = the_team();
    assert_eq!(
        code(make_admin(
            &mut store,
            &user("bob"),
            &team(),
            &user("carol"),
            at(3)
        )),
        "not_allowed"
    );
    assert_eq!(
        code(make_admin(
            &mut store,
            &user("alice"),
            &team(),
            &user("bob"),
            at(3)
        )),
        "already_admin"
    );
    assert_eq!(
        code(make_admin(
            &mut store,
            &user("alice"),
            &team(),
            &user("eve"),
            at(3)
        )),
        "not_a_member"
    );
    let change = make_admin(&mut store, &user("alice"), &team(), &user("carol"), at(3)).unwrap();
    assert_eq!(
        notice_of(&change),
        &Notice::NewAdmin {
            user: user("carol")
        }
    );
    assert_eq!(role(&store, "carol"), Some(Role::Admin));
}

#[test]
fn members_and_groups_lists() {
    let store = the_team();
    let listed = members(&store, &user("carol"), &team()).unwrap();
    let summary: Vec<(&str, Role)> = listed
        .iter()
        .map(|m| (m.username.as_str(), m.role))
        .collect();
    assert_eq!(
        summary,
        [
            ("alice", Role::Owner),
            ("bob", Role::Admin),
            ("carol", Role::Member),
            ("dave", Role::Member)
        ]
    );
    assert_eq!(code(members(&store, &user("eve"), &team())), "not_a_member");
    assert_eq!(
        groups_of(&store, &user("bob")).unwrap(),
        vec![(team(), Role::Admin)]
    );
    assert_eq!(groups_of(&store, &user("eve")).unwrap(), vec![]);
}

#[test]
fn every_code_is_snake_case_and_every_sentence_names_the_group() {
    let g = team();
    let u = user("bob");
    let errors = [
        GroupError::UnknownGroup(g.clone()),
        GroupError::GroupExists(g.clone()),
        GroupError::NotAMember(g.clone()),
        GroupError::NotInGroup(u.clone(), g.clone()),
        GroupError::AlreadyMember(u.clone(), g.clone()),
        GroupError::AlreadyAdmin(u.clone(), g.clone()),
        GroupError::NotAllowed(Action::Invite, g.clone()),
        GroupError::NotAllowed(Action::Kick, g.clone()),
        GroupError::NotAllowed(Action::KickAdmin, g.clone()),
        GroupError::NotAllowed(Action::KickSelf, g.clone()),
        GroupError::NotAllowed(Action::HandOver, g.clone()),
        GroupError::NotAllowed(Action::MakeAdmin, g.clone()),
        GroupError::OwnerMustHandOver(g.clone()),
        GroupError::GroupFull {
            group: g.clone(),
            members_max: 3,
        },
    ];
    for e in errors {
        assert!(crate::error::is_snake_case(e.code()), "{e:?}");
        assert!(e.to_string().contains("#team"), "{e}");
    }
}

#[test]
fn a_store_failure_is_storage_unavailable() {
    let mut store = the_team();
    store.failing = Some(StoreError::Unavailable("disk".into()));
    assert_eq!(
        code(leave(&mut store, &user("carol"), &team(), at(3))),
        "storage_unavailable"
    );
}

/// A store that breaks right after a command's write: the command must not answer a failure
/// for a change the store holds (it would be committed with the batch, and the client told it
/// was not made), so nothing is read after the write. Who is told is worked out before the
/// write: each one once, the one who left or was removed last.
#[test]
fn a_store_that_breaks_after_a_write_never_turns_a_made_change_into_a_failure() {
    type Command = fn(&mut MemoryStore) -> Result<GroupChange, GroupError>;
    let solo = GroupName::parse("solo").unwrap();
    let commands: [(&str, Command, &[&str]); 7] = [
        (
            "create",
            |s| {
                let others = users(&["eve"]);
                let other = GroupName::parse("other").unwrap();
                create(
                    s,
                    &user("carol"),
                    other,
                    others,
                    GroupLimits::default(),
                    at(3),
                )
            },
            &["carol", "eve"],
        ),
        (
            "invite",
            |s| {
                let limits = GroupLimits::default();
                invite(s, &user("alice"), &team(), &user("eve"), limits, at(3))
            },
            &["alice", "bob", "carol", "dave", "eve"],
        ),
        (
            "kick",
            |s| kick(s, &user("alice"), &team(), &user("carol"), at(3)),
            &["alice", "bob", "dave", "carol"],
        ),
        (
            "leave",
            |s| leave(s, &user("carol"), &team(), at(3)),
            &["alice", "bob", "dave", "carol"],
        ),
        (
            "hand over",
            |s| hand_over(s, &user("alice"), &team(), &user("bob"), at(3)),
            &["alice", "bob", "carol", "dave"],
        ),
        (
            "make admin",
            |s| make_admin(s, &user("alice"), &team(), &user("carol"), at(3)),
            &["alice", "bob", "carol", "dave"],
        ),
        (
            "the last one leaves",
            |s| leave(s, &user("eve"), &GroupName::parse("solo").unwrap(), at(3)),
            &["eve"],
        ),
    ];
    for (name, command, told) in commands {
        let mut store = the_team();
        create(
            &mut store,
            &user("eve"),
            solo.clone(),
            vec![],
            GroupLimits::default(),
            at(2),
        )
        .unwrap();
        store.failing_after_group_write = Some(StoreError::Unavailable("disk".into()));
        let change = command(&mut store);
        assert!(store.failing.is_some(), "{name}: the write was not reached");
        let change =
            change.unwrap_or_else(|e| panic!("{name}: answered {e:?} for a change it made"));
        assert_eq!(change.audience, users(told), "{name}");
    }
}
