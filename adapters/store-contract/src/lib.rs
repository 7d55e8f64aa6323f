//! The storage contract: behaviour every `Store` adapter must show, written once against the
//! domain's port (the checks are in `checks.rs`). Each adapter runs it with
//! `store_contract_tests!(open_function)`, which turns every check into a named `#[test]`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use chat_domain::{
    ClientMessageId, Content, Conversation, GroupName, GroupWrite, Inserted, Member, Message,
    MessageBody, MessageId, NewMessage, Notice, PasswordHash, Recipient, Retention, Role, Store,
    UserRecord, Username,
};
use jiff::Timestamp;

pub mod bench;
mod checks;

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
        client_message_id: None,
    }
}

/// A message carrying the sender's number for it.
fn numbered(from: &str, to: &str, text: &str, number: u64) -> NewMessage {
    NewMessage {
        client_message_id: ClientMessageId::new(number),
        ..new_message(from, to, text, 1)
    }
}

fn group(name: &str) -> GroupName {
    GroupName::parse(name).expect("test group names are valid")
}

const CREATED_MS: i64 = 1_700_000_000_000;

/// Creates `name` with `owner` and `members`, and its creation notice; returns the notice.
fn create_group<S: Store>(store: &mut S, name: &str, owner: &str, members: &[&str]) -> Message {
    let mut write = GroupWrite::new(group(name));
    write.create = Some(Timestamp::from_millisecond(CREATED_MS).expect("in range"));
    write.add.push((user(owner), Role::Owner));
    write
        .add
        .extend(members.iter().map(|m| (user(m), Role::Member)));
    let created = Notice::Created {
        members: members.iter().map(|m| user(m)).collect(),
    };
    write.notice = Some(to_group(owner, name, Content::Notice(created), CREATED_MS));
    store
        .write_group(write)
        .expect("write group")
        .expect("a notice")
}

/// Changes roles in `name` (no notice).
fn set_roles<S: Store>(store: &mut S, name: &str, roles: &[(&str, Role)]) {
    let mut write = GroupWrite::new(group(name));
    write.set_roles = roles.iter().map(|(u, r)| (user(u), *r)).collect();
    assert_eq!(store.write_group(write).expect("write group"), None);
}

fn group_history<S: Store>(store: &S, name: &str) -> Vec<Message> {
    let since = store
        .find_group(&group(name))
        .expect("find")
        .map_or(MessageId::FIRST, |g| g.first_message);
    store
        .history(&Conversation::group(group(name)), since, None, 100)
        .expect("history")
}

fn to_group(from: &str, name: &str, content: Content, ms: i64) -> NewMessage {
    NewMessage {
        sender: user(from),
        recipient: Recipient::Group(group(name)),
        content,
        sent_at: Timestamp::from_millisecond(ms).expect("in range"),
        client_message_id: None,
    }
}

fn text(body: &str) -> Content {
    Content::Text(MessageBody::new(body.to_string()).expect("valid"))
}

fn member(name: &str, role: Role, since: MessageId) -> Member {
    Member {
        username: user(name),
        role,
        since,
    }
}

/// `name`'s membership of `group_name`, if any.
fn membership<S: Store>(store: &S, group_name: &str, name: &str) -> Option<Member> {
    store
        .member(&group(group_name), &user(name))
        .expect("member")
}

fn direct(a: &str, b: &str) -> Conversation {
    Conversation::direct(user(a), user(b))
}

fn id(raw: u64) -> MessageId {
    MessageId::new(raw).expect("not 0")
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

/// The one list of the contract's checks, handed to `__each_contract_check!` with a mode:
/// `export` makes each check public (the only use `checks.rs` has, and it denies dead code, so a
/// check left out of this list fails to compile), `tests OPEN` makes each a `#[test]`.
#[doc(hidden)]
#[macro_export]
macro_rules! __contract_checks {
    ($($mode:tt)*) => {
        $crate::__each_contract_check! { [$($mode)*]
            a_new_store_is_empty,
            users_are_stored_and_unique_case_insensitively,
            messages_read_back_exactly_with_increasing_ids,
            history_holds_both_directions_in_order,
            history_pages_by_before_and_limit,
            conversations_are_isolated,
            reopening_with_keep_keeps_everything,
            every_message_is_read_back_once_across_reopenings,
            reopening_with_wipe_erases_everything,
            keep_on_a_new_directory_starts_empty,
            a_batch_committed_once_survives_together,
            a_deep_page_of_a_large_conversation,
            groups_are_created_with_their_members_and_notice,
            members_and_memberships_agree,
            a_group_write_that_fails_changes_nothing,
            a_members_view_starts_at_the_notice_that_added_them,
            group_history_holds_text_and_notices_in_order,
            an_ended_group_and_a_new_one_of_its_name_share_nothing,
            groups_survive_a_reopen_with_keep,
            ids_go_on_from_the_newest_message_of_any_conversation,
            a_resent_message_is_found_by_its_senders_number,
            partners_and_reading_forwards,
            counting_what_others_sent,
            read_markers_are_kept_per_user_and_conversation,
            the_inspector_reads_the_whole_store,
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __each_contract_check {
    ([export] $($check:ident,)*) => {
        pub use checks::{$($check),*};
    };
    ([tests $open:expr] $($check:ident,)*) => {
        $(
            #[test]
            fn $check() {
                $crate::$check($open);
            }
        )*
    };
}

__contract_checks!(export);

/// Expands to one `#[test]` per contract check, each opening stores with `$open`.
#[macro_export]
macro_rules! store_contract_tests {
    ($open:expr) => {
        $crate::__contract_checks!(tests $open);
    };
}
