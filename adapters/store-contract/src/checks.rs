//! The contract's checks, one public function each. Only `__contract_checks!`'s list makes
//! them reachable, so one missing from it is dead code, which this module refuses.
#![deny(dead_code)]

use chat_store_common::Inspect;

use super::*;

pub fn a_new_store_is_empty<S: Store>(open: Open<S>) {
    let dir = TempDir::new("empty");
    let store = open(dir.path(), Retention::Wipe);
    assert_eq!(store.find_user(&user("alice")).expect("find"), None);
    assert!(!store.user_exists(&user("alice")).expect("exists"));
    assert!(
        store
            .history(&direct("alice", "bob"), MessageId::FIRST, None, 10)
            .expect("history")
            .is_empty()
    );
}

pub fn users_are_stored_and_unique_case_insensitively<S: Store>(open: Open<S>) {
    let dir = TempDir::new("users");
    let mut store = with_users(open, dir.path(), &["alice"]);
    assert_eq!(
        store.find_user(&user("ALICE")).expect("find"),
        Some(record("alice"))
    );
    assert_eq!(
        store.insert_user(&record("Alice")).expect("insert"),
        Inserted::NameTaken
    );
    // The refused insert changed nothing.
    let mut other = record("alice");
    other.password_hash = PasswordHash::new("other".into());
    assert_eq!(
        store.insert_user(&other).expect("insert"),
        Inserted::NameTaken
    );
    assert_eq!(
        store.find_user(&user("alice")).expect("find"),
        Some(record("alice"))
    );
    assert_eq!(store.find_user(&user("alicee")).expect("find"), None);
    assert!(store.user_exists(&user("ALICE")).expect("exists"));
    assert!(!store.user_exists(&user("alicee")).expect("exists"));
}

pub fn messages_read_back_exactly_with_increasing_ids<S: Store>(open: Open<S>) {
    let dir = TempDir::new("append");
    let mut store = with_users(open, dir.path(), &["alice", "bob"]);
    let texts = [
        "hi",
        "  spaced\tand\nmulti-line  ",
        "zoë 日本語 😀",
        &"x".repeat(4000),
    ];
    let mut sent = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        let message = new_message("alice", "bob", text, 1_700_000_000_000 + i as i64);
        let stored = store.append_message(message.clone()).expect("append");
        assert_eq!(stored, message.with_id(stored.id));
        sent.push(stored);
    }
    assert!(
        sent.windows(2).all(|w| w[0].id < w[1].id),
        "ids increase: {:?}",
        ids(&sent)
    );
    assert!(sent[0].id >= MessageId::FIRST);
    store.commit().expect("commit");
    assert_eq!(
        store
            .history(&direct("alice", "bob"), MessageId::FIRST, None, 10)
            .expect("history"),
        sent
    );
}

pub fn history_holds_both_directions_in_order<S: Store>(open: Open<S>) {
    let dir = TempDir::new("order");
    let mut store = with_users(open, dir.path(), &["alice", "bob"]);
    let mut sent = Vec::new();
    for i in 0..10 {
        let (from, to) = if i % 3 == 0 {
            ("bob", "alice")
        } else {
            ("alice", "bob")
        };
        sent.push(
            store
                .append_message(new_message(from, to, &format!("m{i}"), i))
                .expect("append"),
        );
    }
    store.commit().expect("commit");
    let from_alice = store
        .history(&direct("alice", "bob"), MessageId::FIRST, None, 100)
        .expect("history");
    let from_bob = store
        .history(&direct("bob", "alice"), MessageId::FIRST, None, 100)
        .expect("history");
    assert_eq!(from_alice, sent);
    assert_eq!(from_bob, sent);
}

pub fn history_pages_by_before_and_limit<S: Store>(open: Open<S>) {
    let dir = TempDir::new("paging");
    let mut store = with_users(open, dir.path(), &["alice", "bob"]);
    let all: Vec<u64> = (0..25)
        .map(|i| {
            store
                .append_message(new_message("alice", "bob", &format!("m{i}"), i))
                .expect("append")
                .id
                .get()
        })
        .collect();
    store.commit().expect("commit");
    let conversation = direct("alice", "bob");
    let newest = store
        .history(&conversation, MessageId::FIRST, None, 10)
        .expect("history");
    assert_eq!(ids(&newest), all[15..25]);
    let middle = store
        .history(&conversation, MessageId::FIRST, Some(newest[0].id), 10)
        .expect("history");
    assert_eq!(ids(&middle), all[5..15]);
    let oldest = store
        .history(&conversation, MessageId::FIRST, Some(middle[0].id), 10)
        .expect("history");
    assert_eq!(ids(&oldest), all[0..5]);
    assert!(
        store
            .history(&conversation, MessageId::FIRST, Some(oldest[0].id), 10)
            .expect("history")
            .is_empty()
    );
    assert!(
        store
            .history(&conversation, MessageId::FIRST, None, 0)
            .expect("history")
            .is_empty()
    );
    // `before` need not be an id of this conversation, nor exist at all.
    let before_any = store
        .history(&conversation, MessageId::FIRST, Some(id(u64::MAX)), 3)
        .expect("history");
    assert_eq!(ids(&before_any), all[22..25]);
    // `since` bounds a page from below: nothing older than it, however many are asked for.
    let recent = store
        .history(&conversation, id(all[20]), None, 100)
        .expect("history");
    assert_eq!(ids(&recent), all[20..25]);
    let window = store
        .history(&conversation, id(all[20]), Some(id(all[22])), 100)
        .expect("history");
    assert_eq!(ids(&window), all[20..22]);
    // Before the first id is nothing, whatever `since` is: the page a `before` of 0 asks for.
    for since in [MessageId::FIRST, id(all[20])] {
        let before_first = store
            .history(&conversation, since, Some(MessageId::FIRST), 10)
            .expect("history");
        assert!(before_first.is_empty(), "{:?}", ids(&before_first));
    }
}

pub fn conversations_are_isolated<S: Store>(open: Open<S>) {
    let dir = TempDir::new("isolation");
    let mut store = with_users(open, dir.path(), &["alice", "bob", "carol", "bobby"]);
    let ab = store
        .append_message(new_message("alice", "bob", "to bob", 1))
        .expect("append");
    let ac = store
        .append_message(new_message("carol", "alice", "to alice", 2))
        .expect("append");
    let bc = store
        .append_message(new_message("bob", "carol", "between them", 3))
        .expect("append");
    // Names that are prefixes of each other must not leak into one another.
    let abo = store
        .append_message(new_message("alice", "bobby", "to bobby", 4))
        .expect("append");
    let note = store
        .append_message(new_message("alice", "alice", "note to self", 5))
        .expect("append");
    store.commit().expect("commit");
    let read = |a: &str, b: &str| {
        store
            .history(&direct(a, b), MessageId::FIRST, None, 100)
            .expect("history")
    };
    assert_eq!(read("alice", "bob"), vec![ab]);
    assert_eq!(read("alice", "carol"), vec![ac]);
    assert_eq!(read("bob", "carol"), vec![bc]);
    assert_eq!(read("alice", "bobby"), vec![abo]);
    assert_eq!(read("alice", "alice"), vec![note]);
    assert!(read("bob", "bobby").is_empty());
}

fn fill_and_close<S: Store>(open: Open<S>, dir: &Path) -> Vec<Message> {
    let mut store = with_users(open, dir, &["alice", "bob"]);
    let sent: Vec<Message> = (0..5)
        .map(|i| {
            store
                .append_message(new_message("bob", "alice", &format!("kept {i}"), i))
                .expect("append")
        })
        .collect();
    store.commit().expect("commit");
    sent
}

/// Commits of messages to several conversations, reopened after each: every message is read
/// back once, whether a reopening finds it in the log, in a chunk, or (a store that writes
/// some conversations out and keeps the log entry for the others) in both.
pub fn every_message_is_read_back_once_across_reopenings<S: Store>(open: Open<S>) {
    let dir = TempDir::new("reopenings");
    drop(with_users(
        open,
        dir.path(),
        &["alice", "bob", "carol", "dave"],
    ));
    let partners = ["bob", "carol", "dave"];
    let mut sent: Vec<Vec<u64>> = vec![Vec::new(); partners.len()];
    for round in 0..4 {
        let mut store = open(dir.path(), Retention::Keep);
        for (n, partner) in partners.iter().enumerate() {
            let text = format!("round {round}");
            let message = store
                .append_message(new_message("alice", partner, &text, round))
                .expect("append");
            sent[n].push(message.id.get());
        }
        store.commit().expect("commit");
        drop(store);
        let store = open(dir.path(), Retention::Keep);
        for (n, partner) in partners.iter().enumerate() {
            let read = store
                .history(&direct("alice", partner), MessageId::FIRST, None, 100)
                .expect("history");
            assert_eq!(
                ids(&read),
                sent[n],
                "alice and {partner} after round {round}"
            );
        }
    }
}

pub fn reopening_with_keep_keeps_everything<S: Store>(open: Open<S>) {
    let dir = TempDir::new("keep");
    let sent = fill_and_close(open, dir.path());
    let mut store = open(dir.path(), Retention::Keep);
    assert_eq!(
        store.find_user(&user("alice")).expect("find"),
        Some(record("alice"))
    );
    assert_eq!(
        store.find_user(&user("bob")).expect("find"),
        Some(record("bob"))
    );
    assert_eq!(
        store
            .history(&direct("alice", "bob"), MessageId::FIRST, None, 100)
            .expect("history"),
        sent
    );
    // Ids go on increasing after a reopen, never reusing one.
    let next = store
        .append_message(new_message("alice", "bob", "after", 9))
        .expect("append");
    assert!(
        next.id > sent[sent.len() - 1].id,
        "{:?} after {:?}",
        next.id,
        ids(&sent)
    );
    assert_eq!(
        store.insert_user(&record("alice")).expect("insert"),
        Inserted::NameTaken
    );
}

pub fn reopening_with_wipe_erases_everything<S: Store>(open: Open<S>) {
    let dir = TempDir::new("wipe");
    fill_and_close(open, dir.path());
    let store = open(dir.path(), Retention::Wipe);
    assert_eq!(store.find_user(&user("alice")).expect("find"), None);
    assert!(!store.user_exists(&user("alice")).expect("exists"));
    assert!(
        store
            .history(&direct("alice", "bob"), MessageId::FIRST, None, 100)
            .expect("history")
            .is_empty()
    );
}

pub fn keep_on_a_new_directory_starts_empty<S: Store>(open: Open<S>) {
    let dir = TempDir::new("fresh");
    let nested = dir.path().join("not").join("yet");
    let mut store = open(&nested, Retention::Keep);
    assert_eq!(store.find_user(&user("alice")).expect("find"), None);
    assert_eq!(
        store.insert_user(&record("alice")).expect("insert"),
        Inserted::Yes
    );
    store.commit().expect("commit");
}

pub fn a_batch_committed_once_survives_together<S: Store>(open: Open<S>) {
    let dir = TempDir::new("batch");
    let mut sent = Vec::new();
    {
        let mut store = open(dir.path(), Retention::Keep);
        for name in ["alice", "bob", "carol"] {
            store.insert_user(&record(name)).expect("insert");
        }
        for i in 0..200 {
            let to = if i % 2 == 0 { "bob" } else { "carol" };
            sent.push(
                store
                    .append_message(new_message("alice", to, &format!("batch {i}"), i))
                    .expect("append"),
            );
        }
        store.commit().expect("one commit for the whole batch");
    }
    let store = open(dir.path(), Retention::Keep);
    let mut read = store
        .history(&direct("alice", "bob"), MessageId::FIRST, None, 500)
        .expect("history");
    read.extend(
        store
            .history(&direct("alice", "carol"), MessageId::FIRST, None, 500)
            .expect("history"),
    );
    read.sort_by_key(|m| m.id);
    assert_eq!(read, sent);
}

pub fn a_deep_page_of_a_large_conversation<S: Store>(open: Open<S>) {
    let dir = TempDir::new("deep");
    let mut store = with_users(open, dir.path(), &["alice", "bob", "carol"]);
    let mut ab = Vec::new();
    for i in 0..3_000 {
        // Interleave another conversation so pages must skip it.
        let message = if i % 3 == 0 {
            new_message("alice", "bob", &format!("ab {i}"), i)
        } else {
            new_message("carol", "bob", &format!("cb {i}"), i)
        };
        let stored = store.append_message(message).expect("append");
        if i % 3 == 0 {
            ab.push(stored.id.get());
        }
    }
    store.commit().expect("commit");
    let page = store
        .history(
            &direct("bob", "alice"),
            MessageId::FIRST,
            Some(id(ab[100])),
            50,
        )
        .expect("history");
    assert_eq!(ids(&page), ab[50..100]);
}

pub fn groups_are_created_with_their_members_and_notice<S: Store>(open: Open<S>) {
    let dir = TempDir::new("groups");
    let mut store = with_users(open, dir.path(), &["alice", "bob"]);
    assert_eq!(store.find_group(&group("team")).expect("find"), None);
    let before = store
        .append_message(new_message("alice", "bob", "before", 1))
        .expect("append");
    let created = create_group(&mut store, "Team", "alice", &["bob"]);
    assert!(created.id > before.id);
    let record = store
        .find_group(&group("team"))
        .expect("find")
        .expect("created");
    assert_eq!(record.name, group("team"));
    assert_eq!(
        record.first_message, created.id,
        "its history starts at its creation"
    );
    assert_eq!(
        record.created_at,
        Timestamp::from_millisecond(CREATED_MS).expect("in range")
    );
    let since = created.id;
    assert_eq!(
        store.members(&group("team")).expect("members"),
        vec![
            member("alice", Role::Owner, since),
            member("bob", Role::Member, since)
        ],
        "everyone named at creation reads from the creation notice"
    );
    assert_eq!(group_history(&store, "team"), vec![created]);
    // A group and a user may share a name without meeting.
    assert_eq!(store.find_user(&user("team")).expect("find"), None);
    assert_eq!(store.find_group(&group("teams")).expect("find"), None);
    // Creating a name that exists changes nothing.
    let mut again = GroupWrite::new(group("team"));
    again.create = Some(Timestamp::from_millisecond(CREATED_MS).expect("in range"));
    again.add.push((user("bob"), Role::Owner));
    assert!(store.write_group(again).is_err());
    assert_eq!(
        store.members(&group("team")).expect("members"),
        vec![
            member("alice", Role::Owner, since),
            member("bob", Role::Member, since)
        ]
    );
}

pub fn members_and_memberships_agree<S: Store>(open: Open<S>) {
    let dir = TempDir::new("members");
    let mut store = with_users(open, dir.path(), &["alice", "bob", "carol"]);
    let since = create_group(&mut store, "team", "alice", &["bob"]).id;
    create_group(&mut store, "tea", "bob", &[]);
    create_group(&mut store, "team2", "carol", &[]);
    assert_eq!(
        store.members(&group("team")).expect("members"),
        vec![
            member("alice", Role::Owner, since),
            member("bob", Role::Member, since)
        ],
        "in name order, and no member of a group whose name merely starts the same"
    );
    assert_eq!(
        store.groups_of(&user("bob")).expect("groups"),
        vec![(group("tea"), Role::Owner), (group("team"), Role::Member)]
    );
    assert_eq!(membership(&store, "team", "carol"), None);
    // Roles change in place, two at once.
    set_roles(
        &mut store,
        "team",
        &[("bob", Role::Owner), ("alice", Role::Admin)],
    );
    assert_eq!(
        membership(&store, "team", "bob"),
        Some(member("bob", Role::Owner, since))
    );
    assert_eq!(
        store.groups_of(&user("alice")).expect("groups"),
        vec![(group("team"), Role::Admin)]
    );
    // Taken out, with a notice.
    let mut write = GroupWrite::new(group("team"));
    write.remove.push(user("alice"));
    write.notice = Some(to_group("alice", "team", Content::Notice(Notice::Left), 5));
    let left = store.write_group(write).expect("write").expect("notice");
    assert_eq!(
        store.members(&group("team")).expect("members"),
        vec![member("bob", Role::Owner, since)]
    );
    assert!(store.groups_of(&user("alice")).expect("groups").is_empty());
    assert_eq!(group_history(&store, "team").last(), Some(&left));
    assert_eq!(store.members(&group("team2")).expect("members").len(), 1);
}

/// A group write is all or nothing: one that fails (a role for someone who is not a member)
/// adds, removes and writes nothing, not even its notice.
pub fn a_group_write_that_fails_changes_nothing<S: Store>(open: Open<S>) {
    let dir = TempDir::new("group-write-fails");
    let mut store = with_users(open, dir.path(), &["alice", "bob", "carol", "dave"]);
    let created = create_group(&mut store, "team", "alice", &["bob"]);
    let members_before = store.members(&group("team")).expect("members");
    let mut write = GroupWrite::new(group("team"));
    write.add.push((user("carol"), Role::Member));
    write.remove.push(user("bob"));
    write.set_roles.push((user("dave"), Role::Admin));
    let joined = Notice::Joined {
        user: user("carol"),
    };
    write.notice = Some(to_group("alice", "team", Content::Notice(joined), 5));
    assert!(store.write_group(write).is_err(), "dave is not a member");
    store.commit().expect("commit");
    assert_eq!(
        store.members(&group("team")).expect("members"),
        members_before
    );
    assert_eq!(store.groups_of(&user("carol")).expect("groups"), vec![]);
    assert_eq!(
        store.groups_of(&user("bob")).expect("groups"),
        vec![(group("team"), Role::Member)]
    );
    assert_eq!(group_history(&store, "team"), vec![created]);
}

/// `user_name` joins `group_name` with a notice; returns the notice.
fn add_member<S: Store>(store: &mut S, group_name: &str, user_name: &str, role: Role) -> Message {
    let mut write = GroupWrite::new(group(group_name));
    write.add.push((user(user_name), role));
    let joined = Notice::Joined {
        user: user(user_name),
    };
    write.notice = Some(to_group("alice", group_name, Content::Notice(joined), 3));
    store
        .write_group(write)
        .expect("write group")
        .expect("a notice")
}

/// A member's view of a group starts at the notice that added them, and stays there through
/// role changes and a reopen; someone added again starts at the new notice. A role change for
/// someone not in the group writes nothing at all.
pub fn a_members_view_starts_at_the_notice_that_added_them<S: Store>(open: Open<S>) {
    let dir = TempDir::new("member-since");
    let mut store = with_users(open, dir.path(), &["alice", "bob", "carol", "dave"]);
    let created = create_group(&mut store, "team", "alice", &["bob"]);
    store
        .append_message(to_group("bob", "team", text("before carol"), 2))
        .expect("append");
    let joined = add_member(&mut store, "team", "carol", Role::Member);
    let carol_since = |store: &S| membership(store, "team", "carol").map(|m| m.since);
    assert_eq!(carol_since(&store), Some(joined.id));
    assert_eq!(
        membership(&store, "team", "alice").map(|m| m.since),
        Some(created.id)
    );
    set_roles(&mut store, "team", &[("carol", Role::Admin)]);
    assert_eq!(
        membership(&store, "team", "carol"),
        Some(member("carol", Role::Admin, joined.id)),
        "a new role keeps where the view starts"
    );
    // dave is not in the group: bob's change in the same write is not made either.
    let mut write = GroupWrite::new(group("team"));
    write.set_roles = vec![(user("bob"), Role::Admin), (user("dave"), Role::Admin)];
    write.notice = Some(to_group("alice", "team", text("not stored"), 4));
    assert!(store.write_group(write).is_err());
    assert_eq!(
        membership(&store, "team", "bob").map(|m| m.role),
        Some(Role::Member)
    );
    assert_eq!(membership(&store, "team", "dave"), None);
    assert_eq!(group_history(&store, "team").len(), 3, "no notice stored");
    // Out, and in again: the new notice.
    let mut write = GroupWrite::new(group("team"));
    write.remove.push(user("carol"));
    store.write_group(write).expect("remove");
    let again = add_member(&mut store, "team", "carol", Role::Member);
    assert!(again.id > joined.id);
    assert_eq!(carol_since(&store), Some(again.id));
    store.commit().expect("commit");
    drop(store);
    let store = open(dir.path(), Retention::Keep);
    assert_eq!(
        store.members(&group("team")).expect("members"),
        vec![
            member("alice", Role::Owner, created.id),
            member("bob", Role::Member, created.id),
            member("carol", Role::Member, again.id)
        ]
    );
}

pub fn group_history_holds_text_and_notices_in_order<S: Store>(open: Open<S>) {
    let dir = TempDir::new("group-history");
    let mut store = with_users(open, dir.path(), &["alice", "bob"]);
    let created = create_group(&mut store, "team", "alice", &["bob"]);
    let direct_message = store
        .append_message(new_message("alice", "bob", "direct, not in the group", 2))
        .expect("append");
    let hello = store
        .append_message(to_group("bob", "team", text("hello team"), 3))
        .expect("append");
    assert!(direct_message.id < hello.id);
    assert_eq!(
        group_history(&store, "team"),
        vec![created.clone(), hello.clone()]
    );
    let older = store
        .history(
            &Conversation::group(group("team")),
            created.id,
            Some(hello.id),
            10,
        )
        .expect("history");
    assert_eq!(older, vec![created]);
}

pub fn an_ended_group_and_a_new_one_of_its_name_share_nothing<S: Store>(open: Open<S>) {
    let dir = TempDir::new("group-end");
    let mut store = with_users(open, dir.path(), &["alice", "bob"]);
    create_group(&mut store, "team", "alice", &["bob"]);
    create_group(&mut store, "team2", "alice", &[]);
    store
        .append_message(to_group("alice", "team", text("old secrets"), 2))
        .expect("append");
    let mut end = GroupWrite::new(group("team"));
    end.end = true;
    assert_eq!(store.write_group(end).expect("end"), None);
    assert_eq!(store.find_group(&group("team")).expect("find"), None);
    assert!(store.members(&group("team")).expect("members").is_empty());
    assert_eq!(
        store.groups_of(&user("alice")).expect("groups"),
        vec![(group("team2"), Role::Owner)]
    );
    assert!(store.groups_of(&user("bob")).expect("groups").is_empty());
    // The name is free again; the new group's history holds none of the old one's.
    let created = create_group(&mut store, "team", "bob", &[]);
    assert_eq!(group_history(&store, "team"), vec![created]);
    assert_eq!(group_history(&store, "team2").len(), 1);
}

pub fn groups_survive_a_reopen_with_keep<S: Store>(open: Open<S>) {
    let dir = TempDir::new("group-keep");
    let sent = {
        let mut store = with_users(open, dir.path(), &["alice", "bob"]);
        let created = create_group(&mut store, "team", "alice", &["bob"]);
        let hello = store
            .append_message(to_group("bob", "team", text("kept?"), 2))
            .expect("append");
        store.commit().expect("commit");
        vec![created, hello]
    };
    let mut store = open(dir.path(), Retention::Keep);
    let since = sent[0].id;
    assert_eq!(
        store.members(&group("team")).expect("members"),
        vec![
            member("alice", Role::Owner, since),
            member("bob", Role::Member, since)
        ]
    );
    assert_eq!(
        store.groups_of(&user("bob")).expect("groups"),
        vec![(group("team"), Role::Member)]
    );
    assert_eq!(group_history(&store, "team"), sent);
    // Ids go on after the group's, whatever ended since.
    let mut end = GroupWrite::new(group("team"));
    end.end = true;
    store.write_group(end).expect("end");
    store.commit().expect("commit");
    drop(store);
    let mut store = open(dir.path(), Retention::Keep);
    let next = store
        .append_message(new_message("alice", "bob", "after", 9))
        .expect("append");
    assert!(next.id > sent[1].id);
}

/// The newest message may be in any conversation, not the one whose key sorts last: ids after
/// a reopen still go on from the highest.
pub fn ids_go_on_from_the_newest_message_of_any_conversation<S: Store>(open: Open<S>) {
    let dir = TempDir::new("newest");
    let newest = {
        let mut store = with_users(open, dir.path(), &["alice", "bob", "carol", "dave"]);
        for (from, to) in [("carol", "dave"), ("bob", "carol"), ("dave", "carol")] {
            store
                .append_message(new_message(from, to, "earlier", 1))
                .expect("append");
        }
        // Sorts first of all the conversations: "d:alice:bob".
        let newest = store
            .append_message(new_message("alice", "bob", "newest", 2))
            .expect("append");
        store.commit().expect("commit");
        newest
    };
    let mut store = open(dir.path(), Retention::Keep);
    let next = store
        .append_message(new_message("carol", "dave", "after the reopen", 3))
        .expect("append");
    assert!(next.id > newest.id, "{:?} after {:?}", next.id, newest.id);
    assert_eq!(
        store
            .history(&direct("carol", "dave"), MessageId::FIRST, None, 10)
            .expect("history")
            .len(),
        3,
        "carol to dave, dave to carol, and the one after the reopen"
    );
}

/// A resend is found by conversation, sender and number, among the newest `window` only, and
/// after a reopen too; the number's full 64 bits are kept.
pub fn a_resent_message_is_found_by_its_senders_number<S: Store>(open: Open<S>) {
    let dir = TempDir::new("resent");
    let (original, high) = {
        let mut store = with_users(open, dir.path(), &["alice", "bob", "carol"]);
        let original = store
            .append_message(numbered("alice", "bob", "once", 42))
            .expect("append");
        let high = store
            .append_message(numbered("alice", "bob", "high bits", u64::MAX))
            .expect("append");
        // Others' messages, and bob's own number 42, around it.
        store
            .append_message(numbered("bob", "alice", "bob's 42", 42))
            .expect("append");
        store
            .append_message(numbered("alice", "carol", "another conversation", 43))
            .expect("append");
        store.commit().expect("commit");
        (original, high)
    };
    let mut store = open(dir.path(), Retention::Keep);
    let find = |store: &S, from: &str, to: &str, number: u64, window: usize| {
        store
            .find_resent(
                &direct(from, to),
                &user(from),
                ClientMessageId::new(number).expect("not 0"),
                window,
            )
            .expect("find")
    };
    assert_eq!(find(&store, "alice", "bob", 42, 10), Some(original.clone()));
    assert_eq!(find(&store, "alice", "bob", u64::MAX, 10), Some(high));
    assert_eq!(
        find(&store, "alice", "bob", 43, 10),
        None,
        "43 went to carol"
    );
    assert_eq!(find(&store, "alice", "carol", 42, 10), None);
    // Outside the window: the newest 2 of alice and bob are "high bits" and "bob's 42".
    assert_eq!(find(&store, "alice", "bob", 42, 2), None);
    store
        .append_message(new_message("bob", "alice", "later", 2))
        .expect("append");
    assert_eq!(find(&store, "alice", "bob", 42, 4), Some(original));
}

/// Direct messages make partners, both ways and once, in name order whether they sort before
/// or after (a name that begins another, followed by a letter or a digit, is not its partner
/// unless they talked); group notices make none; a reopen keeps them. `after` reads a conversation forwards from an id, excluding it.
pub fn partners_and_reading_forwards<S: Store>(open: Open<S>) {
    let dir = TempDir::new("partners");
    let sent = {
        let mut store = with_users(
            open,
            dir.path(),
            &["alice", "bob", "carol", "dave", "ali", "ali2"],
        );
        let mut sent = Vec::new();
        for (from, to, text) in [
            ("bob", "alice", "1"),
            ("alice", "bob", "2"),
            ("carol", "alice", "3"),
            ("bob", "alice", "4"),
            ("dave", "dave", "note"),
            ("carol", "dave", "5"),
            ("ali", "bob", "6"),
            ("ali", "ali2", "7"),
            ("ali2", "dave", "8"),
        ] {
            sent.push(
                store
                    .append_message(new_message(from, to, text, 1))
                    .expect("append"),
            );
        }
        create_group(&mut store, "team", "alice", &["dave"]);
        store.commit().expect("commit");
        sent
    };
    let store = open(dir.path(), Retention::Keep);
    let partners = |name: &str| store.partners(&user(name)).expect("partners");
    assert_eq!(partners("alice"), [user("bob"), user("carol")]);
    assert_eq!(partners("bob"), [user("ali"), user("alice")]);
    assert_eq!(partners("carol"), [user("alice"), user("dave")]);
    assert_eq!(
        partners("dave"),
        [user("ali2"), user("carol"), user("dave")],
        "notes to self; the group is no partner"
    );
    assert_eq!(partners("ali"), [user("ali2"), user("bob")]);
    assert_eq!(partners("ali2"), [user("ali"), user("dave")]);
    let alice_bob = direct("alice", "bob");
    let forwards = |after: Option<MessageId>, limit: usize| {
        ids(&store.after(&alice_bob, after, limit).expect("after"))
    };
    let (one, two, four) = (sent[0].id, sent[1].id, sent[3].id);
    assert_eq!(
        forwards(None, 10),
        ids(&[sent[0].clone(), sent[1].clone(), sent[3].clone()])
    );
    assert_eq!(forwards(Some(one), 10), [two.get(), four.get()]);
    assert_eq!(forwards(Some(one), 1), [two.get()]);
    assert!(forwards(Some(four), 10).is_empty());
    let page = store.after(&alice_bob, Some(one), 1).expect("after");
    assert_eq!(page, vec![sent[1].clone()], "whole messages");
}

/// Unread counting skips the reader's own messages, stops at `cap`, and looks no further
/// than `scan_max` messages.
pub fn counting_what_others_sent<S: Store>(open: Open<S>) {
    let dir = TempDir::new("count");
    let mut store = with_users(open, dir.path(), &["alice", "bob"]);
    let mut ids = Vec::new();
    for (from, to) in [
        ("alice", "bob"),
        ("bob", "alice"),
        ("alice", "bob"),
        ("bob", "alice"),
        ("bob", "alice"),
    ] {
        ids.push(
            store
                .append_message(new_message(from, to, "x", 1))
                .expect("append")
                .id,
        );
    }
    let conversation = direct("alice", "bob");
    let count = |after: Option<MessageId>, cap: usize, scan_max: usize| {
        store
            .count_from_others(&conversation, after, &user("alice"), cap, scan_max)
            .expect("count")
    };
    assert_eq!(count(None, 100, 100), 3, "bob's three");
    assert_eq!(count(Some(ids[1]), 100, 100), 2, "after the first of bob's");
    assert_eq!(count(None, 2, 100), 2, "capped");
    assert_eq!(count(None, 100, 2), 1, "only the first two looked at");
    assert_eq!(count(Some(ids[4]), 100, 100), 0);
}

/// A read marker is per user and conversation, starts unset, and survives a reopen.
pub fn read_markers_are_kept_per_user_and_conversation<S: Store>(open: Open<S>) {
    let dir = TempDir::new("markers");
    {
        let mut store = with_users(open, dir.path(), &["alice", "bob"]);
        let alice_bob = direct("alice", "bob");
        assert_eq!(
            store.read_marker(&user("alice"), &alice_bob).expect("read"),
            None
        );
        store
            .set_read_marker(&user("alice"), &alice_bob, id(7))
            .expect("set");
        store
            .set_read_marker(&user("alice"), &alice_bob, id(9))
            .expect("set");
        store
            .set_read_marker(&user("bob"), &alice_bob, id(3))
            .expect("set");
        store.commit().expect("commit");
    }
    let store = open(dir.path(), Retention::Keep);
    let marker = |name: &str, conversation: &Conversation| {
        store.read_marker(&user(name), conversation).expect("read")
    };
    assert_eq!(marker("alice", &direct("alice", "bob")), Some(id(9)));
    assert_eq!(marker("bob", &direct("bob", "alice")), Some(id(3)));
    assert_eq!(marker("alice", &direct("alice", "alice")), None);
}

pub fn the_inspector_reads_the_whole_store<S: Store + Inspect>(open: Open<S>) {
    let dir = TempDir::new("inspect");
    let mut store = with_users(open, dir.path(), &["bob", "carol", "alice"]);
    let hello = store
        .append_message(new_message("alice", "bob", "hello", 1))
        .expect("append");
    let created = create_group(&mut store, "team", "carol", &["alice"]);
    let note = store
        .append_message(new_message("bob", "bob", "a note", 2))
        .expect("append");
    store.commit().expect("commit");
    let users = store.all_users().expect("users");
    let names: Vec<&str> = users.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(names, ["alice", "bob", "carol"]);
    assert_eq!(users[0], record("alice"));
    assert_eq!(
        store.all_messages().expect("messages"),
        [hello, created.clone(), note]
    );
    let groups = store.all_groups().expect("groups");
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].name, group("team"));
    assert_eq!(groups[0].first_message, created.id);
    assert_eq!(store.counts().expect("counts"), (3, 3));
}
