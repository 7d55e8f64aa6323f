//! The tables, their version, and the settings a connection opens with.

use rusqlite::Connection;

use chat_domain::StoreError;

use crate::unavailable;

/// Tables keyed by names cluster their rows by what they are looked up by (`WITHOUT ROWID`): a
/// user, a group's members are each one range of one b-tree. A conversation's number is its
/// first message's id, so numbering one needs no counter and no second index. A new direct
/// conversation between two people writes two rows: its key in `conversations` (which also
/// lists the earlier name's partners: the range `d:earlier:`) and the later name's row in
/// `partners`. Rows in a rowid table, its key's index and `partners` both ways made its first
/// message write five pages instead of three (docs/benchmarks.md). Messages are stored in chunks of up to 64 consecutive
/// messages of a conversation, in the order of their first ids, so a flush appends to the
/// table's end (clustered by conversation, each flush rewrote a page of every conversation it
/// wrote to, however old); an index of (conversation, first id) finds them, so a history page
/// is one range of it and two or three chunks read by their ids. A message waits in memory
/// until a commit writes its conversation out as chunks (the longest waiting first, once 65,536
/// messages wait); until then the log holds it, one row a commit. A row a message, in a table
/// and an index, dirtied a page per message of a busy commit, and writing those pages was half
/// the server's CPU (docs/benchmarks.md).
pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS users (
    name             TEXT PRIMARY KEY NOT NULL,  -- lowercase, validated by the domain
    password_hash    TEXT NOT NULL,              -- PHC string
    registered_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS conversations (      -- each conversation's number
    key    TEXT PRIMARY KEY NOT NULL,            -- conversation_key(), e.g. d:alice:bob, g:team
    number INTEGER NOT NULL                      -- the id of its first message
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS chunks (             -- consecutive messages of one conversation
    first_id     INTEGER PRIMARY KEY,            -- the id of its first message
    conversation INTEGER NOT NULL,               -- conversations.number
    entries      BLOB NOT NULL                   -- chat_store_common's chunk framing
);
CREATE INDEX IF NOT EXISTS chunks_by_conversation ON chunks (conversation, first_id);
CREATE TABLE IF NOT EXISTS log (                 -- messages no chunk holds yet, a row a commit
    last_id INTEGER PRIMARY KEY,                 -- the id of its newest message
    entries  BLOB NOT NULL                       -- chat_store_common's log framing
);
CREATE TABLE IF NOT EXISTS groups (
    name          TEXT PRIMARY KEY NOT NULL,     -- bare, lowercase, validated by the domain
    created_at_ms INTEGER NOT NULL,
    first_message INTEGER NOT NULL               -- its creation notice: its history starts there
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS members (
    group_name TEXT NOT NULL,
    username   TEXT NOT NULL,
    role       TEXT NOT NULL,                    -- owner, admin or member
    since      INTEGER NOT NULL,                 -- the notice that added them: their view starts
    PRIMARY KEY (group_name, username)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS members_by_user ON members (username, group_name);
CREATE TABLE IF NOT EXISTS partners (               -- a direct conversation's later name
    username TEXT NOT NULL,                         -- the later of its two names
    other    TEXT NOT NULL,                         -- the earlier (the rest: conversations)
    PRIMARY KEY (username, other)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS read_markers (           -- how far each user has read each conversation
    username     TEXT NOT NULL,
    conversation TEXT NOT NULL,
    up_to        INTEGER NOT NULL,
    PRIMARY KEY (username, conversation)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS counters (               -- next_message_id as of the last chunks written
    name  TEXT PRIMARY KEY NOT NULL,
    value INTEGER NOT NULL
) WITHOUT ROWID;
";

/// The layout of the tables, kept in `PRAGMA user_version`. 2: messages carry the sender's
/// client message id; 3: `partners` and `read_markers`; 4: `members.since`, where each
/// member's view of the group starts; 5: messages clustered by (conversation, id) without a
/// recipient column, the next id in `counters`, every table `WITHOUT ROWID`; 6: messages
/// keyed by the conversation's number in `conversations`, not its text key; 7: messages in id
/// order, found by conversation through `messages_by_conversation`; 8: messages in `chunks`,
/// the newest in `log`; 9: a conversation numbered by its first message, keyed by its key
/// alone, and `partners` holding only the later name's row. A kept store of another version is
/// refused, not misread.
pub(crate) const SCHEMA_VERSION: i64 = 9;

/// Refuses a store whose tables are of another version. A new, empty file has version 0 and
/// no tables.
pub(crate) fn check_schema_version(connection: &Connection) -> Result<(), StoreError> {
    let version: i64 = connection
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(unavailable)?;
    let tables: i64 = connection
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'",
            [],
            |row| row.get(0),
        )
        .map_err(unavailable)?;
    if version == SCHEMA_VERSION || (version == 0 && tables == 0) {
        return Ok(());
    }
    Err(StoreError::Corrupt(format!(
        "sqlite: this store was written by another version of chat-server (layout {version}, \
         this one reads {SCHEMA_VERSION}); start without --keep-data to wipe it"
    )))
}

/// Creates the tables, if new, and sets the version, in one transaction: a crash between them
/// would leave a store that every later start refuses as another version's.
pub(crate) fn create_tables(connection: &Connection) -> Result<(), StoreError> {
    connection
        .execute_batch(&format!(
            "BEGIN; {SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
        ))
        .map_err(unavailable)
}

/// The page cache, in KiB (SQLite's default is 2 MiB).
const CACHE_KIB: u32 = 16 * 1024;
/// The page size of a new database (SQLite's default is 4 KiB; a kept store keeps its own).
const PAGE_BYTES: u32 = 4 * 1024;
/// WAL bytes between automatic checkpoints (SQLite's default is 1,000 pages).
const CHECKPOINT_BYTES: u32 = 80 * 1024 * 1024;
/// Prepared statements kept for reuse: more than the adapter has, so none is ever prepared
/// twice (rusqlite's default of 16 is fewer).
const STATEMENTS_CACHED_MAX: usize = 64;

/// Sets the connection up for the server: the page size (of a new file), WAL, the durability
/// `synchronous` names, no waiting for locks, and the caches.
pub(crate) fn configure(connection: &Connection, synchronous: &str) -> Result<(), StoreError> {
    // A commit writes every page it dirtied to the WAL, and checksums it. Messages are
    // written a chunk at a time, so a commit dirties few pages (the log's last, a few chunks'):
    // a quiet turn of one message in a known conversation writes one (the log's last), and 4 KiB
    // pages cost 0.8x the core's CPU of 16 KiB ones at 2,000 msg/s, the same at full speed
    // (docs/benchmarks.md).
    // The page size must be set before WAL mode, which fixes it.
    connection
        .execute_batch(&format!(
            "PRAGMA page_size = {PAGE_BYTES}; PRAGMA journal_mode = WAL; \
             PRAGMA synchronous = {synchronous}; PRAGMA busy_timeout = 0;"
        ))
        .map_err(unavailable)?;
    let page_bytes: u32 = connection
        .pragma_query_value(None, "page_size", |row| row.get(0))
        .map_err(unavailable)?;
    // A 16 MiB page cache keeps the pages a commit writes (the log's, the newest chunks')
    // in memory; a larger one costs each commit more in SQLite's cache truncation (3 % of the
    // core's time at 64 MiB). Checkpointing every 80 MiB of WAL instead of 1,000 pages copies
    // a page written many times over once (1.25x the messages a second: docs/benchmarks.md).
    let checkpoint_pages = CHECKPOINT_BYTES / page_bytes.max(512);
    connection
        .execute_batch(&format!(
            "PRAGMA cache_size = -{CACHE_KIB}; PRAGMA wal_autocheckpoint = {checkpoint_pages};"
        ))
        .map_err(unavailable)?;
    connection.set_prepared_statement_cache_capacity(STATEMENTS_CACHED_MAX);
    Ok(())
}
