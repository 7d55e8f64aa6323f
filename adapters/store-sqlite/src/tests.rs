//! The adapter's own queries, as SQLite plans them: each reads one range of the messages'
//! primary key, never the whole table.

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

#[test]
fn message_reads_use_the_conversation_and_id_key() {
    let dir = TempDir::new("sqlite-plans");
    let store = SqliteStore::open(dir.path(), Retention::Keep).expect("opens");
    let pages = [HISTORY, AFTER, COUNT_FROM_OTHERS].map(|sql| (sql, "conversation=? AND id>"));
    // A resend is looked for among the conversation's newest, however old.
    for (sql, key_range) in pages.into_iter().chain([(FIND_RESENT, "conversation=?)")]) {
        let plan = plan(&store.connection, sql);
        let search = format!("SEARCH messages USING PRIMARY KEY ({key_range}");
        assert!(plan.contains(&search), "{sql}\n{plan}");
        assert!(!plan.contains("SCAN messages"), "{sql}\n{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{sql}\n{plan}");
    }
}

#[test]
fn a_new_database_has_16_kib_pages_in_wal_mode() {
    let dir = TempDir::new("sqlite-pages");
    let store = SqliteStore::open(dir.path(), Retention::Wipe).expect("opens");
    let pragma = |name: &str| -> String {
        store
            .connection
            .pragma_query_value(None, name, |row| row.get::<_, rusqlite::types::Value>(0))
            .map(|value| format!("{value:?}"))
            .expect("pragma")
    };
    assert_eq!(pragma("page_size"), "Integer(16384)");
    assert_eq!(pragma("journal_mode"), "Text(\"wal\")");
}
