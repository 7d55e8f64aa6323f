//! The shared storage contract, run against the sled adapter.

use std::path::Path;

use chat_domain::Retention;
use chat_store_sled::SledStore;

fn open(dir: &Path, retention: Retention) -> SledStore {
    SledStore::open(dir, retention).expect("sled store opens")
}

chat_store_contract::store_contract_tests!(open);

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
