//! The adapter's own queries, as SQLite plans them: each reads one range of the chunks'
//! index, never the whole table. Ids as stored: 0 is damage, not a panic. And a transaction
//! SQLite rolled back by itself fails the batch rather than commit its rest; a reopening
//! finds the next id in the counter or the log, whichever is further.

use chat_domain::MessageBody;
use chat_store_contract::TempDir;

use super::*;

/// SQLite's plan for `sql`, one line per step.
fn plan(connection: &Connection, sql: &str) -> String {
    let mut statement = connection
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .expect("explains");
    // Parameters are bound as NULL: the plan does not depend on their values.
    let nulls = vec![rusqlite::types::Null; statement.parameter_count()];
    let steps = statement
        .query_map(rusqlite::params_from_iter(nulls), |row| {
            row.get::<_, String>(3)
        })
        .expect("plan");
    steps
        .map(|step| step.expect("step"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Limits that write chunks once `messages_max` messages wait, in chunks of up to 64.
fn chunks_past(messages_max: usize) -> chat_store_common::PendingLimits {
    chat_store_common::PendingLimits {
        messages_max,
        bytes_max: 1024 * 1024,
        chunk_messages_max: 64,
    }
}

/// A note `alice` writes to herself.
fn note_of_alice(text: &str) -> chat_domain::NewMessage {
    message_to("alice", "alice", text)
}

/// A direct message of `text` from `from` to `to`.
fn message_to(from: &str, to: &str, text: &str) -> chat_domain::NewMessage {
    chat_domain::NewMessage {
        sender: Username::parse(from).expect("valid"),
        recipient: chat_domain::Recipient::User(Username::parse(to).expect("valid")),
        content: chat_domain::Content::Text(MessageBody::new(text.into()).expect("valid")),
        sent_at: jiff::Timestamp::UNIX_EPOCH,
        client_message_id: None,
    }
}

#[test]
fn chunk_reads_use_the_conversation_and_first_id_key() {
    let dir = TempDir::new("sqlite-plans");
    let store = SqliteStore::open(dir.path(), Retention::Keep).expect("opens");
    for (sql, key_range) in [
        (CHUNKS_BACK, "conversation=? AND first_id<?"),
        (CHUNKS_FORWARD, "conversation=? AND first_id>?"),
    ] {
        let plan = plan(&store.connection, sql);
        let search = format!("SEARCH chunks USING INDEX chunks_by_conversation ({key_range})");
        assert!(plan.contains(&search), "{sql}\n{plan}");
        assert!(!plan.contains("SCAN chunks"), "{sql}\n{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{sql}\n{plan}");
    }
}

#[test]
fn partner_reads_are_one_range_of_a_primary_key_each() {
    let dir = TempDir::new("sqlite-partner-plans");
    let store = SqliteStore::open(dir.path(), Retention::Keep).expect("opens");
    for (sql, search) in [
        (
            PARTNERS_EARLIER,
            "SEARCH partners USING PRIMARY KEY (username=?)",
        ),
        (
            PARTNERS_LATER,
            "SEARCH conversations USING PRIMARY KEY (key>? AND key<?)",
        ),
    ] {
        let plan = plan(&store.connection, sql);
        assert!(plan.contains(search), "{sql}\n{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{sql}\n{plan}");
    }
}

#[test]
fn a_direct_conversation_is_numbered_by_its_first_message_and_written_once_each_way() {
    let dir = TempDir::new("sqlite-new-conversation");
    let mut store = SqliteStore::open(dir.path(), Retention::Keep).expect("opens");
    store
        .append_message(note_of_alice("first"))
        .expect("append");
    let opening = store
        .append_message(message_to("bob", "alice", "hi"))
        .expect("append");
    store
        .append_message(message_to("alice", "bob", "hi"))
        .expect("append");
    store.commit().expect("commit");
    let rows = |sql: &str| -> Vec<(String, String)> {
        let mut statement = store.connection.prepare(sql).expect("prepares");
        statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    };
    assert_eq!(
        rows("SELECT key, CAST(number AS TEXT) FROM conversations ORDER BY key"),
        [
            ("d:alice:alice".to_string(), "1".to_string()),
            ("d:alice:bob".to_string(), opening.id.get().to_string()),
        ]
    );
    // Only the later name's row: alice's partners after her are the keys `d:alice:...`.
    assert_eq!(
        rows("SELECT username, other FROM partners"),
        [("bob".to_string(), "alice".to_string())]
    );
}

#[test]
fn a_send_that_fails_while_opening_a_conversation_leaves_its_number_to_nobody_else() {
    let dir = TempDir::new("sqlite-failed-opening");
    let mut store = SqliteStore::open(dir.path(), Retention::Keep).expect("opens");
    // A statement that fails as a full disk would: SQLite undoes it, the transaction stays,
    // and the turn's commit carries whatever else the send wrote.
    let update = |store: &SqliteStore, sql: &str| {
        store.connection.execute_batch(sql).expect("update");
    };
    update(
        &store,
        "CREATE TEMP TRIGGER full BEFORE INSERT ON partners
         BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;",
    );
    store
        .append_message(message_to("alice", "bob", "hi"))
        .expect_err("the partners row fails");
    update(&store, "DROP TRIGGER full");
    store.commit().expect("the turn commits");
    store
        .append_message(message_to("carol", "dave", "hi"))
        .expect("append");
    store
        .append_message(message_to("bob", "alice", "hi"))
        .expect("append");
    store.commit().expect("commit");
    let numbers: Vec<(String, i64)> = store
        .connection
        .prepare("SELECT key, number FROM conversations ORDER BY key")
        .expect("prepares")
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(numbers.len(), 2, "{numbers:?}");
    assert_ne!(numbers[0].1, numbers[1].1, "{numbers:?}");
    let bob = Username::parse("bob").expect("valid");
    assert_eq!(
        store.partners(&bob).expect("partners"),
        [Username::parse("alice").expect("valid")]
    );
}

#[test]
fn a_new_database_has_4_kib_pages_in_wal_mode() {
    let dir = TempDir::new("sqlite-pages");
    let store = SqliteStore::open(dir.path(), Retention::Wipe).expect("opens");
    let pragma = |name: &str| -> String {
        store
            .connection
            .pragma_query_value(None, name, |row| row.get::<_, rusqlite::types::Value>(0))
            .map(|value| format!("{value:?}"))
            .expect("pragma")
    };
    assert_eq!(pragma("page_size"), "Integer(4096)");
    assert_eq!(pragma("journal_mode"), "Text(\"wal\")");
}

/// A store holding a message, a group with a member, and a read marker, committed.
fn store_with_one_of_each(dir: &TempDir) -> SqliteStore {
    let mut store = SqliteStore::open(dir.path(), Retention::Keep).expect("opens");
    let alice = Username::parse("alice").expect("valid");
    let message = NewMessage {
        sender: alice.clone(),
        recipient: Recipient::User(alice.clone()),
        content: chat_domain::Content::Text(MessageBody::new("a note".into()).expect("valid")),
        sent_at: jiff::Timestamp::from_millisecond(1_700_000_000_000).expect("in range"),
        client_message_id: None,
    };
    let stored = store.append_message(message).expect("append");
    let mut write = GroupWrite::new(GroupName::parse("team").expect("valid"));
    write.create = Some(stored.sent_at);
    write.add = vec![(alice.clone(), Role::Owner)];
    store.write_group(write).expect("write group");
    let notes = Conversation::direct(alice.clone(), alice);
    store
        .set_read_marker(&stored.sender, &notes, stored.id)
        .expect("set");
    store.commit().expect("commit");
    store
}

#[test]
fn a_stored_id_of_0_is_corruption_not_a_panic() {
    let alice = Username::parse("alice").expect("valid");
    let team = GroupName::parse("team").expect("valid");
    let corrupt = |result: Result<_, StoreError>| {
        assert!(
            matches!(&result, Err(StoreError::Corrupt(detail)) if detail.contains("message id")),
            "{result:?}"
        );
    };
    let dir = TempDir::new("sqlite-id-0");
    let store = store_with_one_of_each(&dir);
    let update = |sql: &str| store.connection.execute(sql, []).expect("update");
    // A chunk holding a message numbered 0: a varint 0, then a value of one byte.
    update(
        "INSERT INTO chunks VALUES (1, (SELECT number FROM conversations WHERE key = 'd:alice:alice'), x'000100')",
    );
    update("UPDATE members SET since = 0");
    update("UPDATE groups SET first_message = 0");
    // The reads by id start at 1, so only a read of every message meets it.
    corrupt(store.all_messages().map(|_| ()));
    corrupt(store.member(&team, &alice).map(|_| ()));
    corrupt(store.find_group(&team).map(|_| ()));
}

#[test]
fn a_read_marker_of_0_stored_before_ids_refused_0_is_nothing_read() {
    let alice = Username::parse("alice").expect("valid");
    let notes = Conversation::direct(alice.clone(), alice.clone());
    let dir = TempDir::new("sqlite-marker-0");
    let store = store_with_one_of_each(&dir);
    assert_eq!(
        store.read_marker(&alice, &notes).expect("read"),
        Some(MessageId::FIRST)
    );
    let update = |sql: &str| store.connection.execute(sql, []).expect("update");
    update("UPDATE read_markers SET up_to = 0");
    assert_eq!(store.read_marker(&alice, &notes).expect("read"), None);
    update("UPDATE read_markers SET up_to = -1");
    assert!(matches!(
        store.read_marker(&alice, &notes),
        Err(StoreError::Corrupt(_))
    ));
}

#[test]
fn a_transaction_sqlite_rolled_back_by_itself_fails_the_batch() {
    let dir = TempDir::new("sqlite-own-rollback");
    let mut store = SqliteStore::open(dir.path(), Retention::Keep).expect("opens");
    let user = |name: &str| UserRecord {
        username: Username::parse(name).expect("valid"),
        password_hash: chat_domain::PasswordHash::new(format!("hash of {name}")),
        registered_at: jiff::Timestamp::UNIX_EPOCH,
    };
    assert_eq!(
        store.insert_user(&user("alice")).expect("insert"),
        Inserted::Yes
    );
    let alice_name = Username::parse("alice").expect("valid");
    let note = chat_domain::NewMessage {
        sender: alice_name.clone(),
        recipient: chat_domain::Recipient::User(alice_name.clone()),
        content: chat_domain::Content::Text(MessageBody::new("a note".into()).expect("valid")),
        sent_at: jiff::Timestamp::UNIX_EPOCH,
        client_message_id: None,
    };
    store.append_message(note).expect("append");
    // What SQLite does on a full disk or an I/O error in the middle of a transaction.
    store
        .connection
        .execute_batch("ROLLBACK")
        .expect("rolls back");
    assert!(
        store.insert_user(&user("bob")).is_err(),
        "bob was written on his own"
    );
    assert!(store.commit().is_err(), "the batch committed without alice");
    let notes = Conversation::direct(alice_name.clone(), alice_name);
    assert!(
        store
            .history(&notes, MessageId::FIRST, None, 10)
            .expect("reads")
            .is_empty(),
        "the rolled-back batch's message is forgotten, not logged by the next commit"
    );
    assert!(
        !store
            .user_exists(&Username::parse("alice").expect("valid"))
            .expect("reads")
    );
    assert!(
        !store
            .user_exists(&Username::parse("bob").expect("valid"))
            .expect("reads")
    );
    // The next batch is a fresh one.
    assert_eq!(
        store.insert_user(&user("carol")).expect("insert"),
        Inserted::Yes
    );
    store.commit().expect("commits");
    assert!(
        store
            .user_exists(&Username::parse("carol").expect("valid"))
            .expect("reads")
    );
}

#[test]
fn the_inspector_reads_log_and_chunks_from_one_snapshot_while_the_server_flushes() {
    let dir = TempDir::new("sqlite-inspector-snapshot");
    let mut server =
        SqliteStore::open_with_limits(dir.path(), Retention::Keep, chunks_past(2)).expect("opens");
    let note = note_of_alice;
    server.append_message(note("logged")).expect("append");
    server.commit().expect("commit");
    // The inspector reads the log (the first message) as it opens...
    let inspector = SqliteStore::open_read_only(dir.path()).expect("opens");
    // ...then the server's next commit writes both messages as a chunk and empties the log.
    server.append_message(note("flushed")).expect("append");
    server.commit().expect("commit");
    let ids: Vec<u64> = inspector
        .all_messages()
        .expect("reads")
        .iter()
        .map(|m| m.id.get())
        .collect();
    assert_eq!(ids, [1], "one snapshot: the log as it was, no chunk yet");
}

#[test]
fn only_a_commit_that_writes_chunks_writes_the_next_id_and_a_reopening_goes_on_from_the_log() {
    let dir = TempDir::new("sqlite-next-id");
    let limits = chunks_past(3);
    let note = || note_of_alice("a note");
    let counter = |store: &SqliteStore| read_next_id(&store.connection).expect("reads").get();
    let mut store =
        SqliteStore::open_with_limits(dir.path(), Retention::Keep, limits).expect("opens");
    for expected in 1..=2 {
        assert_eq!(
            store.append_message(note()).expect("append").id.get(),
            expected
        );
        store.commit().expect("commit");
    }
    assert_eq!(
        counter(&store),
        1,
        "commits that only log leave the counter alone"
    );
    drop(store);
    let mut store =
        SqliteStore::open_with_limits(dir.path(), Retention::Keep, limits).expect("reopens");
    assert_eq!(store.append_message(note()).expect("append").id.get(), 3);
    store
        .commit()
        .expect("commit: three held, written out as a chunk");
    assert_eq!(
        counter(&store),
        4,
        "the commit that wrote chunks wrote the counter"
    );
    assert_eq!(store.append_message(note()).expect("append").id.get(), 4);
    store.commit().expect("commit");
    drop(store);
    let mut store =
        SqliteStore::open_with_limits(dir.path(), Retention::Keep, limits).expect("reopens");
    assert_eq!(store.append_message(note()).expect("append").id.get(), 5);
}

#[test]
fn a_commit_that_writes_chunks_of_messages_read_back_writes_the_next_id_too() {
    let dir = TempDir::new("sqlite-next-id-replayed");
    let mut store = SqliteStore::open_with_limits(dir.path(), Retention::Keep, chunks_past(100))
        .expect("opens");
    for _ in 0..3 {
        store
            .append_message(note_of_alice("logged"))
            .expect("append");
    }
    store.commit().expect("commit: logged only");
    drop(store);
    // Reopened with a lower limit, the three read back are due: the next commit writes them
    // out and empties the log, though it adds no message.
    let mut store = SqliteStore::open_with_limits(dir.path(), Retention::Keep, chunks_past(2))
        .expect("reopens");
    let bob = UserRecord {
        username: Username::parse("bob").expect("valid"),
        password_hash: chat_domain::PasswordHash::new("hash of bob".into()),
        registered_at: jiff::Timestamp::UNIX_EPOCH,
    };
    store.insert_user(&bob).expect("insert");
    store.commit().expect("commit: the chunks");
    assert_eq!(read_next_id(&store.connection).expect("reads").get(), 4);
    drop(store);
    let mut store = SqliteStore::open_with_limits(dir.path(), Retention::Keep, chunks_past(2))
        .expect("reopens");
    let id = store
        .append_message(note_of_alice("after"))
        .expect("append")
        .id;
    assert_eq!(id.get(), 4, "no id is given twice");
}
