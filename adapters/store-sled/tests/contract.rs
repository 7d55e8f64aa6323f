//! The shared storage contract, run against the sled adapter.

use std::path::Path;

use chat_domain::Retention;
use chat_store_common::Inspect;
use chat_store_sled::SledStore;

fn open(dir: &Path, retention: Retention) -> SledStore {
    SledStore::open(dir, retention).expect("sled store opens")
}

chat_store_contract::store_contract_tests!(open);

/// The contract again with the pending messages written out as chunks at nearly every commit,
/// two to a chunk: every read then crosses chunks, pending messages and the bounds between.
mod flushing_often {
    use super::*;
    use chat_store_common::PendingLimits;

    fn open(dir: &Path, retention: Retention) -> SledStore {
        SledStore::open_with_limits(dir, retention, PendingLimits::TINY).expect("sled store opens")
    }

    chat_store_contract::store_contract_tests!(open);
}

#[test]
fn a_second_open_of_a_held_store_fails_with_a_clear_error() {
    let dir = chat_store_contract::TempDir::new("sled-lock");
    let _held = open(dir.path(), Retention::Keep);
    // sled locks its directory; a second open must fail, not hang or share it.
    let second = SledStore::open(dir.path(), Retention::Keep);
    let err = second.err().expect("second open refused");
    assert_eq!(chat_domain::ErrorCode::code(&err), "storage_unavailable");
    assert!(err.detail().contains("another server"), "{}", err.detail());
}

#[test]
fn a_store_in_the_old_layout_is_refused_with_keep_and_wiped_without() {
    let dir = chat_store_contract::TempDir::new("sled-old-layout");
    {
        // The layout before messages moved into `conversations`: a tree keyed by id alone.
        let db = sled::open(SledStore::path_in(dir.path())).expect("sled opens");
        let old = db.open_tree("messages").expect("tree");
        old.insert(1u64.to_be_bytes(), b"old".as_slice())
            .expect("insert");
        db.flush().expect("flush");
    }
    let err = SledStore::open(dir.path(), Retention::Keep)
        .err()
        .expect("the old layout is refused");
    assert!(err.detail().contains("another version"), "{}", err.detail());
    assert!(
        err.detail().contains("without --keep-data"),
        "{}",
        err.detail()
    );
    let store = SledStore::open(dir.path(), Retention::Wipe).expect("wiping opens it");
    assert!(store.all_messages().expect("read").is_empty());
}

#[test]
fn a_store_of_the_previous_layout_is_refused_with_keep_and_wiped_without() {
    let dir = chat_store_contract::TempDir::new("sled-layout-4");
    {
        // Layout 4: a message kept its sender's and its recipient's names.
        let db = sled::open(SledStore::path_in(dir.path())).expect("sled opens");
        db.insert(b"layout", &[4u8]).expect("insert");
        let conversations = db.open_tree("conversations").expect("tree");
        let mut key = b"d:alice:bob\0".to_vec();
        key.extend_from_slice(&1u64.to_be_bytes());
        conversations
            .insert(key, b"\x05alice\x00\x03bob\x02hi\x00\x00".as_slice())
            .expect("insert");
        db.flush().expect("flush");
    }
    let err = SledStore::open(dir.path(), Retention::Keep)
        .err()
        .expect("layout 4 is refused");
    assert!(err.detail().contains("another version"), "{}", err.detail());
    assert!(
        err.detail().contains("without --keep-data"),
        "{}",
        err.detail()
    );
    let store = SledStore::open(dir.path(), Retention::Wipe).expect("wiping opens it");
    drop(store);
    SledStore::open(dir.path(), Retention::Keep).expect("this layout reopens");
}
