//! The shared storage contract, run against the SQLite adapter.

use std::path::Path;

use chat_domain::{Retention, StoreReads};
use chat_store_contract::{TempDir, user};
use chat_store_sqlite::SqliteStore;

fn open(dir: &Path, retention: Retention) -> SqliteStore {
    SqliteStore::open(dir, retention).expect("sqlite store opens")
}

chat_store_contract::store_contract_tests!(open);

#[test]
fn the_database_is_in_wal_mode() {
    let dir = TempDir::new("sqlite-wal");
    let _store = open(dir.path(), Retention::Keep);
    let connection = rusqlite::Connection::open(SqliteStore::path_in(dir.path())).unwrap();
    let mode: String = connection
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn a_store_whose_file_is_not_a_database_fails_cleanly() {
    let dir = TempDir::new("sqlite-garbage");
    std::fs::write(
        SqliteStore::path_in(dir.path()),
        b"this is not a database at all, not even close",
    )
    .unwrap();
    let err = SqliteStore::open(dir.path(), Retention::Keep)
        .err()
        .expect("refused");
    assert_eq!(chat_domain::ErrorCode::code(&err), "storage_unavailable");
    // Wipe removes the broken file and starts afresh.
    let store = open(dir.path(), Retention::Wipe);
    assert_eq!(store.find_user(&user("alice")).unwrap(), None);
}

#[test]
fn a_store_of_another_layout_is_refused_with_keep_and_wiped_without() {
    let dir = TempDir::new("sqlite-old-layout");
    {
        // The first layout: no version, and messages without a client message id.
        let connection =
            rusqlite::Connection::open(SqliteStore::path_in(dir.path())).expect("opens");
        connection
            .execute_batch(
                "CREATE TABLE messages (id INTEGER PRIMARY KEY, conversation TEXT NOT NULL,
                 sender TEXT NOT NULL, recipient TEXT NOT NULL, body TEXT NOT NULL,
                 sent_at_ms INTEGER NOT NULL);",
            )
            .expect("old schema");
    }
    let err = SqliteStore::open(dir.path(), Retention::Keep)
        .err()
        .expect("refused");
    assert!(err.detail().contains("another version"), "{}", err.detail());
    assert!(
        err.detail().contains("without --keep-data"),
        "{}",
        err.detail()
    );
    let store = SqliteStore::open(dir.path(), Retention::Wipe).expect("wiping opens it");
    assert_eq!(store.find_user(&user("alice")).expect("find"), None);
    drop(store);
    // And a store of this version opens again with keep.
    SqliteStore::open(dir.path(), Retention::Keep).expect("reopens");
}

#[test]
fn a_store_of_the_previous_version_is_refused_with_keep_and_wiped_without() {
    let dir = TempDir::new("sqlite-version-8");
    {
        // Version 8: conversations numbered by a rowid, partners both ways.
        let connection =
            rusqlite::Connection::open(SqliteStore::path_in(dir.path())).expect("opens");
        connection
            .execute_batch(
                "CREATE TABLE conversations (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE);
                 CREATE TABLE partners (username TEXT NOT NULL, other TEXT NOT NULL,
                 PRIMARY KEY (username, other)) WITHOUT ROWID;
                 INSERT INTO conversations (key) VALUES ('d:alice:bob');
                 INSERT INTO partners VALUES ('alice', 'bob'), ('bob', 'alice');
                 PRAGMA user_version = 8;",
            )
            .expect("version 8 schema");
    }
    let err = SqliteStore::open(dir.path(), Retention::Keep)
        .err()
        .expect("refused");
    assert!(
        err.detail().contains("layout 8, this one reads 9"),
        "{}",
        err.detail()
    );
    assert!(
        err.detail().contains("without --keep-data"),
        "{}",
        err.detail()
    );
    drop(SqliteStore::open(dir.path(), Retention::Wipe).expect("wiping opens it"));
    SqliteStore::open(dir.path(), Retention::Keep).expect("this version reopens");
}

/// The contract again with the pending messages written out as chunks at nearly every commit,
/// two to a chunk: every read then crosses chunks, pending messages and the bounds between.
mod flushing_often {
    use super::*;
    use chat_store_common::PendingLimits;

    fn open(dir: &Path, retention: Retention) -> SqliteStore {
        SqliteStore::open_with_limits(dir, retention, PendingLimits::TINY)
            .expect("sqlite store opens")
    }

    chat_store_contract::store_contract_tests!(open);
}
