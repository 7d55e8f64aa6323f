//! The storage contract: behaviour every `Store` adapter must show, written once against the
//! domain's port. Each adapter runs it with `store_contract_tests!(open_function)`, which turns
//! every check below into a named `#[test]`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use chat_domain::{
    Content, Conversation, GroupName, GroupRecord, Inserted, Member, Message, MessageBody,
    MessageId, NewMessage, Notice, PasswordHash, Recipient, Retention, Role, Store, UserRecord,
    Username,
};
use jiff::Timestamp;

/// Opens a store of the adapter under test in `dir`.
pub type Open<S> = fn(&Path, Retention) -> S;

/// A fresh directory under the system temp dir, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(label: &str) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("chat-store-{label}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("temp dir can be made");
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn user(name: &str) -> Username {
    Username::parse(name).expect("test names are valid")
}

fn record(name: &str) -> UserRecord {
    UserRecord {
        username: user(name),
        password_hash: PasswordHash::new(format!("$argon2id$v=19$fake-hash-of-{name}")),
        registered_at: Timestamp::from_millisecond(1_700_000_000_000 + name.len() as i64)
            .expect("in range"),
    }
}

fn new_message(from: &str, to: &str, text: &str, ms: i64) -> NewMessage {
    NewMessage {
        sender: user(from),
        recipient: Recipient::User(user(to)),
        content: Content::Text(MessageBody::new(text.to_string()).expect("test bodies are valid")),
        sent_at: Timestamp::from_millisecond(ms).expect("in range"),
    }
}

fn group(name: &str) -> GroupName {
    GroupName::parse(name).expect("test group names are valid")
}

fn group_record(name: &str) -> GroupRecord {
    GroupRecord {
        name: group(name),
        created_at: Timestamp::from_millisecond(1_700_000_000_000).expect("in range"),
    }
}

fn to_group(from: &str, name: &str, content: Content, ms: i64) -> NewMessage {
    NewMessage {
        sender: user(from),
        recipient: Recipient::Group(group(name)),
        content,
        sent_at: Timestamp::from_millisecond(ms).expect("in range"),
    }
}

fn text(body: &str) -> Content {
    Content::Text(MessageBody::new(body.to_string()).expect("valid"))
}

fn member(name: &str, role: Role) -> Member {
    Member {
        username: user(name),
        role,
    }
}

fn direct(a: &str, b: &str) -> Conversation {
    Conversation::direct(user(a), user(b))
}

fn ids(messages: &[Message]) -> Vec<u64> {
    messages.iter().map(|m| m.id.get()).collect()
}

fn with_users<S: Store>(open: Open<S>, dir: &Path, names: &[&str]) -> S {
    let mut store = open(dir, Retention::Wipe);
    for name in names {
        assert_eq!(
            store.insert_user(&record(name)).expect("insert"),
            Inserted::Yes
        );
    }
    store
}

pub fn a_new_store_is_empty<S: Store>(open: Open<S>) {
    let dir = TempDir::new("empty");
    let store = open(dir.path(), Retention::Wipe);
    assert_eq!(store.find_user(&user("alice")).expect("find"), None);
    assert!(
        store
            .history(&direct("alice", "bob"), None, 10)
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
            .history(&direct("alice", "bob"), None, 10)
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
        .history(&direct("alice", "bob"), None, 100)
        .expect("history");
    let from_bob = store
        .history(&direct("bob", "alice"), None, 100)
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
    let newest = store.history(&conversation, None, 10).expect("history");
    assert_eq!(ids(&newest), all[15..25]);
    let middle = store
        .history(&conversation, Some(newest[0].id), 10)
        .expect("history");
    assert_eq!(ids(&middle), all[5..15]);
    let oldest = store
        .history(&conversation, Some(middle[0].id), 10)
        .expect("history");
    assert_eq!(ids(&oldest), all[0..5]);
    assert!(
        store
            .history(&conversation, Some(oldest[0].id), 10)
            .expect("history")
            .is_empty()
    );
    assert!(
        store
            .history(&conversation, None, 0)
            .expect("history")
            .is_empty()
    );
    // `before` need not be an id of this conversation, nor exist at all.
    let before_any = store
        .history(&conversation, Some(MessageId::new(u64::MAX)), 3)
        .expect("history");
    assert_eq!(ids(&before_any), all[22..25]);
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
    let read = |a: &str, b: &str| store.history(&direct(a, b), None, 100).expect("history");
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
            .history(&direct("alice", "bob"), None, 100)
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
    assert!(
        store
            .history(&direct("alice", "bob"), None, 100)
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
        .history(&direct("alice", "bob"), None, 500)
        .expect("history");
    read.extend(
        store
            .history(&direct("alice", "carol"), None, 500)
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
        .history(&direct("bob", "alice"), Some(MessageId::new(ab[100])), 50)
        .expect("history");
    assert_eq!(ids(&page), ab[50..100]);
}

pub fn groups_are_stored_and_unique<S: Store>(open: Open<S>) {
    let dir = TempDir::new("groups");
    let mut store = open(dir.path(), Retention::Wipe);
    assert_eq!(store.find_group(&group("team")).expect("find"), None);
    assert_eq!(
        store.insert_group(&group_record("team")).expect("insert"),
        Inserted::Yes
    );
    assert_eq!(
        store.insert_group(&group_record("Team")).expect("insert"),
        Inserted::NameTaken
    );
    assert_eq!(
        store.find_group(&group("team")).expect("find"),
        Some(group_record("team"))
    );
    // A group and a user may share a name without meeting.
    assert_eq!(store.find_user(&user("team")).expect("find"), None);
    assert_eq!(store.find_group(&group("teams")).expect("find"), None);
}

pub fn members_and_memberships_agree<S: Store>(open: Open<S>) {
    let dir = TempDir::new("members");
    let mut store = with_users(open, dir.path(), &["alice", "bob", "carol"]);
    for name in ["team", "tea", "team2"] {
        store.insert_group(&group_record(name)).expect("insert");
    }
    store
        .set_member(&group("team"), &user("bob"), Role::Member)
        .expect("set");
    store
        .set_member(&group("team"), &user("alice"), Role::Owner)
        .expect("set");
    store
        .set_member(&group("tea"), &user("bob"), Role::Admin)
        .expect("set");
    store
        .set_member(&group("team2"), &user("carol"), Role::Owner)
        .expect("set");
    assert_eq!(
        store.members(&group("team")).expect("members"),
        vec![member("alice", Role::Owner), member("bob", Role::Member)],
        "in name order, and no member of a group whose name merely starts the same"
    );
    assert_eq!(
        store.groups_of(&user("bob")).expect("groups"),
        vec![(group("tea"), Role::Admin), (group("team"), Role::Member)]
    );
    assert_eq!(
        store
            .member_role(&group("team"), &user("carol"))
            .expect("role"),
        None
    );
    // A role changes in place.
    store
        .set_member(&group("team"), &user("bob"), Role::Admin)
        .expect("set");
    assert_eq!(
        store
            .member_role(&group("team"), &user("bob"))
            .expect("role"),
        Some(Role::Admin)
    );
    assert_eq!(store.members(&group("team")).expect("members").len(), 2);
    assert_eq!(
        store.groups_of(&user("bob")).expect("groups"),
        vec![(group("tea"), Role::Admin), (group("team"), Role::Admin)]
    );
    store
        .remove_member(&group("team"), &user("bob"))
        .expect("remove");
    assert_eq!(
        store.members(&group("team")).expect("members"),
        vec![member("alice", Role::Owner)]
    );
    assert_eq!(
        store.groups_of(&user("bob")).expect("groups"),
        vec![(group("tea"), Role::Admin)]
    );
    // Removing someone who is not in it changes nothing.
    store
        .remove_member(&group("team"), &user("carol"))
        .expect("remove");
    assert_eq!(store.members(&group("team2")).expect("members").len(), 1);
}

pub fn group_history_holds_text_and_notices_in_order<S: Store>(open: Open<S>) {
    let dir = TempDir::new("group-history");
    let mut store = with_users(open, dir.path(), &["alice", "bob"]);
    store.insert_group(&group_record("team")).expect("insert");
    let created = Notice::Created {
        members: vec![user("bob")],
    };
    let sent = [
        store
            .append_message(to_group("alice", "team", Content::Notice(created), 1))
            .expect("append"),
        store
            .append_message(new_message("alice", "bob", "direct, not in the group", 2))
            .expect("append"),
        store
            .append_message(to_group("bob", "team", text("hello team"), 3))
            .expect("append"),
        store
            .append_message(to_group("alice", "team", Content::Notice(Notice::Left), 4))
            .expect("append"),
    ];
    let page = store
        .history(&Conversation::Group(group("team")), None, 10)
        .expect("history");
    assert_eq!(
        page,
        vec![sent[0].clone(), sent[2].clone(), sent[3].clone()]
    );
    let older = store
        .history(&Conversation::Group(group("team")), Some(sent[2].id), 10)
        .expect("history");
    assert_eq!(older, vec![sent[0].clone()]);
}

pub fn deleting_a_group_removes_its_members_and_history_only<S: Store>(open: Open<S>) {
    let dir = TempDir::new("group-delete");
    let mut store = with_users(open, dir.path(), &["alice", "bob"]);
    for name in ["team", "team2"] {
        store.insert_group(&group_record(name)).expect("insert");
        store
            .set_member(&group(name), &user("alice"), Role::Owner)
            .expect("set");
        store
            .append_message(to_group("alice", name, text("in the group"), 1))
            .expect("append");
    }
    let direct_message = store
        .append_message(new_message("alice", "bob", "kept", 2))
        .expect("append");
    store.delete_group(&group("team")).expect("delete");
    assert_eq!(store.find_group(&group("team")).expect("find"), None);
    assert!(store.members(&group("team")).expect("members").is_empty());
    assert_eq!(
        store.groups_of(&user("alice")).expect("groups"),
        vec![(group("team2"), Role::Owner)]
    );
    assert!(
        store
            .history(&Conversation::Group(group("team")), None, 10)
            .expect("history")
            .is_empty()
    );
    assert_eq!(
        store
            .history(&Conversation::Group(group("team2")), None, 10)
            .expect("history")
            .len(),
        1
    );
    assert_eq!(
        store
            .history(&direct("alice", "bob"), None, 10)
            .expect("history"),
        vec![direct_message]
    );
    // The name is free again, and ids keep increasing.
    assert_eq!(
        store.insert_group(&group_record("team")).expect("insert"),
        Inserted::Yes
    );
}

pub fn groups_survive_a_reopen_with_keep<S: Store>(open: Open<S>) {
    let dir = TempDir::new("group-keep");
    let sent = {
        let mut store = with_users(open, dir.path(), &["alice", "bob"]);
        store.insert_group(&group_record("team")).expect("insert");
        store
            .set_member(&group("team"), &user("alice"), Role::Owner)
            .expect("set");
        store
            .set_member(&group("team"), &user("bob"), Role::Member)
            .expect("set");
        let joined = Notice::Joined { user: user("bob") };
        let sent = vec![
            store
                .append_message(to_group("alice", "team", Content::Notice(joined), 1))
                .expect("append"),
            store
                .append_message(to_group("bob", "team", text("kept?"), 2))
                .expect("append"),
        ];
        store.commit().expect("commit");
        sent
    };
    let store = open(dir.path(), Retention::Keep);
    assert_eq!(
        store.find_group(&group("team")).expect("find"),
        Some(group_record("team"))
    );
    assert_eq!(
        store.members(&group("team")).expect("members"),
        vec![member("alice", Role::Owner), member("bob", Role::Member)]
    );
    assert_eq!(
        store.groups_of(&user("bob")).expect("groups"),
        vec![(group("team"), Role::Member)]
    );
    assert_eq!(
        store
            .history(&Conversation::Group(group("team")), None, 10)
            .expect("history"),
        sent
    );
}

/// Expands to one `#[test]` per contract check, each opening stores with `$open`.
#[macro_export]
macro_rules! store_contract_tests {
    ($open:expr) => {
        $crate::store_contract_tests!(@each $open;
            a_new_store_is_empty,
            users_are_stored_and_unique_case_insensitively,
            messages_read_back_exactly_with_increasing_ids,
            history_holds_both_directions_in_order,
            history_pages_by_before_and_limit,
            conversations_are_isolated,
            reopening_with_keep_keeps_everything,
            reopening_with_wipe_erases_everything,
            keep_on_a_new_directory_starts_empty,
            a_batch_committed_once_survives_together,
            a_deep_page_of_a_large_conversation,
            groups_are_stored_and_unique,
            members_and_memberships_agree,
            group_history_holds_text_and_notices_in_order,
            deleting_a_group_removes_its_members_and_history_only,
            groups_survive_a_reopen_with_keep,
        );
    };
    (@each $open:expr; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                $crate::$check($open);
            }
        )*
    };
}
