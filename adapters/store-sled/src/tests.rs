//! Ids as stored: 0 is no message's id, so finding one is damage, reported and not a panic;
//! a read marker of 0 (stored before `MessageId` refused 0) is nothing read.

use chat_domain::{Content, MessageBody};
use chat_store_contract::TempDir;

use super::*;

fn alice() -> Username {
    Username::parse("alice").expect("valid")
}

fn team() -> GroupName {
    GroupName::parse("team").expect("valid")
}

fn notes() -> Conversation {
    Conversation::direct(alice(), alice())
}

/// A store holding a note to self, a group with one member, and a read marker.
fn store_with_one_of_each(dir: &TempDir) -> SledStore {
    let mut store = SledStore::open(dir.path(), Retention::Wipe).expect("opens");
    let message = NewMessage {
        sender: alice(),
        recipient: Recipient::User(alice()),
        content: Content::Text(MessageBody::new("a note".into()).expect("valid")),
        sent_at: Timestamp::from_millisecond(1_700_000_000_000).expect("in range"),
        client_message_id: None,
    };
    let stored = store.append_message(message).expect("append");
    let mut write = GroupWrite::new(team());
    write.create = Some(stored.sent_at);
    write.add = vec![(alice(), Role::Owner)];
    store.write_group(write).expect("write group");
    store
        .set_read_marker(&alice(), &notes(), stored.id)
        .expect("set");
    store.commit().expect("commit");
    store
}

fn assert_corrupt<T: std::fmt::Debug>(result: Result<T, StoreError>) {
    assert!(
        matches!(&result, Err(StoreError::Corrupt(detail)) if detail.contains("no message's id")),
        "{result:?}"
    );
}

#[test]
fn a_message_stored_under_id_0_is_corruption() {
    let dir = TempDir::new("sled-message-0");
    let store = store_with_one_of_each(&dir);
    // A chunk and a log entry each holding a message numbered 0 (a varint 0, then a value).
    let zero_chunk = [0u8, 1, 0];
    let mut zero_log = vec![b"d:alice:alice".len() as u8];
    zero_log.extend_from_slice(b"d:alice:alice");
    zero_log.extend_from_slice(&zero_chunk);
    let key = keys::with_id(&conversation_prefix(&notes()), MessageId::FIRST);
    store
        .conversations
        .insert(key, zero_chunk.as_slice())
        .expect("insert");
    assert_corrupt(store.all_messages());
    assert_corrupt(store.history(&notes(), MessageId::FIRST, None, 10));
    store
        .log
        .insert(7u64.to_be_bytes(), zero_log)
        .expect("insert");
    store.db.flush().expect("flush");
    drop(store);
    assert_corrupt(SledStore::open(dir.path(), Retention::Keep).map(|_| ()));
}

#[test]
fn a_membership_or_group_starting_at_id_0_is_corruption() {
    let dir = TempDir::new("sled-group-0");
    let store = store_with_one_of_each(&dir);
    let member = postcard::to_stdvec(&StoredMember {
        role: Role::Owner.as_str().into(),
        since: 0,
    })
    .expect("encode");
    let key = pair_key(team().as_str(), alice().as_str());
    store
        .members
        .insert(key, member.as_slice())
        .expect("insert");
    assert_corrupt(store.member(&team(), &alice()));
    assert_corrupt(store.members(&team()));
    let group = postcard::to_stdvec(&StoredGroup {
        created_at_ms: 1_700_000_000_000,
        first_message: 0,
    })
    .expect("encode");
    store.groups.insert(team().as_str(), group).expect("insert");
    assert_corrupt(store.find_group(&team()));
    assert_corrupt(store.all_groups());
}

#[test]
fn a_read_marker_of_0_is_nothing_read() {
    let dir = TempDir::new("sled-marker-0");
    let store = store_with_one_of_each(&dir);
    assert_eq!(
        store.read_marker(&alice(), &notes()).expect("read"),
        Some(MessageId::FIRST)
    );
    let key = read_marker_key(&alice(), &notes());
    store
        .read_markers
        .insert(key.as_slice(), &0u64.to_be_bytes())
        .expect("insert");
    assert_eq!(store.read_marker(&alice(), &notes()).expect("read"), None);
    store.read_markers.insert(key, &[0u8; 3]).expect("insert");
    assert!(matches!(
        store.read_marker(&alice(), &notes()),
        Err(StoreError::Corrupt(_))
    ));
}

#[test]
fn a_read_marker_reaches_its_tree_only_with_the_commit_that_logs_what_it_covers() {
    let dir = TempDir::new("sled-marker-order");
    let mut store = SledStore::open(dir.path(), Retention::Keep).expect("opens");
    let note = NewMessage {
        sender: alice(),
        recipient: Recipient::User(alice()),
        content: Content::Text(MessageBody::new("later".into()).expect("valid")),
        sent_at: Timestamp::from_millisecond(1_700_000_000_000).expect("in range"),
        client_message_id: None,
    };
    let stored = store.append_message(note).expect("append");
    store
        .set_read_marker(&alice(), &notes(), stored.id)
        .expect("set");
    let key = read_marker_key(&alice(), &notes());
    // Read at once, but not where sled's background flusher could persist it before the log.
    assert_eq!(
        store.read_marker(&alice(), &notes()).expect("read"),
        Some(stored.id)
    );
    assert!(store.read_markers.get(&key).expect("get").is_none());
    store.commit().expect("commit");
    assert!(store.read_markers.get(&key).expect("get").is_some());
    assert!(store.log.len() == 1, "the message is logged");
}

/// A commit's log entry too big for sled's log goes in a blob file, which sled never syncs
/// itself: a kept commit syncs it, and the store reopens with every message.
#[test]
fn a_kept_commit_syncs_the_blob_sled_writes_for_a_big_log_entry() {
    let dir = TempDir::new("sled-blob");
    let mut store = SledStore::open(dir.path(), Retention::Keep).expect("opens");
    // 12 bodies of 4,000 four-byte characters: one log entry of about 190 KiB.
    let body = "\u{1d11e}".repeat(4_000);
    for _ in 0..12 {
        store
            .append_message(NewMessage {
                sender: alice(),
                recipient: Recipient::User(alice()),
                content: Content::Text(MessageBody::new(body.clone()).expect("valid")),
                sent_at: Timestamp::from_millisecond(1_700_000_000_000).expect("in range"),
                client_message_id: None,
            })
            .expect("append");
    }
    store.commit().expect("commit");
    let blobs: HashMap<u64, u64> = std::fs::read_dir(SledStore::path_in(dir.path()).join("blobs"))
        .expect("sled's blobs")
        .map(|entry| {
            let entry = entry.expect("an entry");
            let name = entry.file_name();
            let number = name
                .to_str()
                .and_then(|n| n.parse().ok())
                .expect("a number");
            (number, entry.metadata().expect("its length").len())
        })
        .collect();
    assert!(!blobs.is_empty(), "no blob: the entry fitted in sled's log");
    let synced = store.disk_sync.as_ref().expect("kept").blobs_synced();
    assert_eq!(synced, &blobs);
    drop(store);
    let store = SledStore::open(dir.path(), Retention::Keep).expect("reopens");
    let page = store
        .history(&notes(), MessageId::FIRST, None, 50)
        .expect("history");
    assert_eq!(page.len(), 12);
}
