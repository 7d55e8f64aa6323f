//! The SQLite storage adapter (rusqlite with bundled SQLite, WAL mode). One table of users, one
//! of messages, and an index on (conversation, id) so a history page is one bounded index scan.
//! Writes open a transaction lazily; `commit` ends it, so a loop turn's writes commit together.

use std::path::{Path, PathBuf};

use chat_domain::{
    Conversation, Inserted, Message, MessageBody, MessageId, NewMessage, PasswordHash, Recipient,
    Retention, Store, StoreError, UserRecord, Username,
};
use jiff::Timestamp;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, params};

/// The database file inside the data directory. Wiping removes only it and its WAL files.
pub const SQLITE_FILE_NAME: &str = "chat.sqlite3";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS users (
    name             TEXT PRIMARY KEY NOT NULL,  -- lowercase, validated by the domain
    password_hash    TEXT NOT NULL,              -- PHC string
    registered_at_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    id           INTEGER PRIMARY KEY,            -- assigned by the adapter, strictly increasing
    conversation TEXT NOT NULL,                  -- Conversation::key(), e.g. d:alice:bob
    sender       TEXT NOT NULL,
    recipient    TEXT NOT NULL,                  -- a username (groups will add a kind column)
    body         TEXT NOT NULL,
    sent_at_ms   INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages (conversation, id);
";

const MESSAGE_COLUMNS: &str = "id, sender, recipient, body, sent_at_ms";

pub struct SqliteStore {
    connection: Connection,
    next_id: MessageId,
    in_transaction: bool,
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("sqlite: {e}"))
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("sqlite: {what}: {e}"))
}

impl SqliteStore {
    /// The database file's path inside `data_dir`.
    pub fn path_in(data_dir: &Path) -> PathBuf {
        data_dir.join(SQLITE_FILE_NAME)
    }

    /// Opens (creating if needed) `data_dir/chat.sqlite3`. `Retention::Wipe` deletes the old
    /// file and its WAL first; `Retention::Keep` syncs every commit (`synchronous=FULL`).
    pub fn open(data_dir: &Path, retention: Retention) -> Result<Self, StoreError> {
        let path = Self::path_in(data_dir);
        if retention == Retention::Wipe {
            for suffix in ["", "-wal", "-shm"] {
                let file = PathBuf::from(format!("{}{suffix}", path.display()));
                match std::fs::remove_file(&file) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        return Err(unavailable(format!("cannot wipe {}: {e}", file.display())));
                    }
                }
            }
        }
        std::fs::create_dir_all(data_dir)
            .map_err(|e| unavailable(format!("cannot create {}: {e}", data_dir.display())))?;
        let connection = Connection::open(&path)
            .map_err(|e| unavailable(format!("cannot open {}: {e}", path.display())))?;
        let synchronous = match retention {
            Retention::Wipe => "OFF",
            Retention::Keep => "FULL",
        };
        connection
            .execute_batch(&format!(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous}; PRAGMA busy_timeout = 0;"
            ))
            .map_err(unavailable)?;
        connection.execute_batch(SCHEMA).map_err(unavailable)?;
        let last: Option<i64> = connection
            .query_row("SELECT MAX(id) FROM messages", [], |row| row.get(0))
            .map_err(unavailable)?;
        let next_id = match last {
            None => MessageId::FIRST,
            Some(id) => id_from_sql(id)?.next(),
        };
        Ok(SqliteStore {
            connection,
            next_id,
            in_transaction: false,
        })
    }

    /// Opens an existing store read-only, for the inspector: nothing is created, changed or
    /// locked, so it can read while a server writes (WAL readers see the last commit).
    pub fn open_read_only(data_dir: &Path) -> Result<Self, StoreError> {
        let path = Self::path_in(data_dir);
        if !path.is_file() {
            return Err(unavailable(format!(
                "there is no store at {}",
                path.display()
            )));
        }
        let connection = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| unavailable(format!("cannot open {}: {e}", path.display())))?;
        Ok(SqliteStore {
            connection,
            next_id: MessageId::FIRST,
            in_transaction: false,
        })
    }

    /// Every user, in name order: for the inspector.
    pub fn all_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        let mut statement = self
            .connection
            .prepare("SELECT name, password_hash, registered_at_ms FROM users ORDER BY name")
            .map_err(unavailable)?;
        let rows = statement.query_map([], read_user).map_err(unavailable)?;
        rows.map(|row| row.map_err(unavailable)?).collect()
    }

    /// Every message, in id order: for the inspector.
    pub fn all_messages(&self) -> Result<Vec<Message>, StoreError> {
        let mut statement = self
            .connection
            .prepare(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages ORDER BY id"
            ))
            .map_err(unavailable)?;
        let rows = statement.query_map([], read_message).map_err(unavailable)?;
        rows.map(|row| row.map_err(unavailable)?).collect()
    }

    /// Opens the write transaction that the next `commit` ends.
    fn begin_if_needed(&mut self) -> Result<(), StoreError> {
        if !self.in_transaction {
            self.connection
                .execute_batch("BEGIN IMMEDIATE")
                .map_err(unavailable)?;
            self.in_transaction = true;
        }
        Ok(())
    }
}

fn id_from_sql(id: i64) -> Result<MessageId, StoreError> {
    u64::try_from(id)
        .map(MessageId::new)
        .map_err(|_| corrupt("message id", id))
}

fn id_to_sql(id: MessageId) -> i64 {
    // Ids above i64::MAX would take 292 years at a billion messages a second.
    i64::try_from(id.get()).unwrap_or(i64::MAX)
}

fn timestamp(ms: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_millisecond(ms).map_err(|e| corrupt("timestamp", e))
}

/// Row readers return a nested Result: the outer one is SQLite's, the inner one says whether
/// the stored values are still valid domain values.
fn read_user(row: &Row<'_>) -> rusqlite::Result<Result<UserRecord, StoreError>> {
    let name: String = row.get(0)?;
    let hash: String = row.get(1)?;
    let registered_at_ms: i64 = row.get(2)?;
    Ok((|| {
        Ok(UserRecord {
            username: Username::parse(&name).map_err(|e| corrupt("user name", e))?,
            password_hash: PasswordHash::new(hash),
            registered_at: timestamp(registered_at_ms)?,
        })
    })())
}

fn read_message(row: &Row<'_>) -> rusqlite::Result<Result<Message, StoreError>> {
    let id: i64 = row.get(0)?;
    let sender: String = row.get(1)?;
    let recipient: String = row.get(2)?;
    let body: String = row.get(3)?;
    let sent_at_ms: i64 = row.get(4)?;
    Ok((|| {
        Ok(Message {
            id: id_from_sql(id)?,
            sender: Username::parse(&sender).map_err(|e| corrupt("sender", e))?,
            recipient: Recipient::User(
                Username::parse(&recipient).map_err(|e| corrupt("recipient", e))?,
            ),
            body: MessageBody::new(body).map_err(|e| corrupt("body", e))?,
            sent_at: timestamp(sent_at_ms)?,
        })
    })())
}

impl Store for SqliteStore {
    fn find_user(&self, username: &Username) -> Result<Option<UserRecord>, StoreError> {
        let mut statement = self
            .connection
            .prepare_cached(
                "SELECT name, password_hash, registered_at_ms FROM users WHERE name = ?1",
            )
            .map_err(unavailable)?;
        let found = statement
            .query_row([username.as_str()], read_user)
            .optional()
            .map_err(unavailable)?;
        found.transpose()
    }

    fn insert_user(&mut self, user: &UserRecord) -> Result<Inserted, StoreError> {
        self.begin_if_needed()?;
        let mut statement = self
            .connection
            .prepare_cached(
                "INSERT INTO users (name, password_hash, registered_at_ms) VALUES (?1, ?2, ?3)
                 ON CONFLICT (name) DO NOTHING",
            )
            .map_err(unavailable)?;
        let changed = statement
            .execute(params![
                user.username.as_str(),
                user.password_hash.as_str(),
                user.registered_at.as_millisecond()
            ])
            .map_err(unavailable)?;
        Ok(if changed == 1 {
            Inserted::Yes
        } else {
            Inserted::NameTaken
        })
    }

    fn append_message(&mut self, message: NewMessage) -> Result<Message, StoreError> {
        self.begin_if_needed()?;
        let id = self.next_id;
        let Recipient::User(to) = &message.recipient;
        let mut statement = self
            .connection
            .prepare_cached(
                "INSERT INTO messages (id, conversation, sender, recipient, body, sent_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .map_err(unavailable)?;
        statement
            .execute(params![
                id_to_sql(id),
                message.conversation().key(),
                message.sender.as_str(),
                to.as_str(),
                message.body.as_str(),
                message.sent_at.as_millisecond()
            ])
            .map_err(unavailable)?;
        self.next_id = id.next();
        Ok(message.with_id(id))
    }

    fn history(
        &self,
        conversation: &Conversation,
        before: Option<MessageId>,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        let mut statement = self
            .connection
            .prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages
                 WHERE conversation = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3"
            ))
            .map_err(unavailable)?;
        let before = before.map_or(i64::MAX, id_to_sql);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = statement
            .query_map(params![conversation.key(), before, limit], read_message)
            .map_err(unavailable)?;
        let mut page = rows
            .map(|row| row.map_err(unavailable)?)
            .collect::<Result<Vec<_>, _>>()?;
        page.reverse();
        Ok(page)
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        if !self.in_transaction {
            return Ok(());
        }
        self.in_transaction = false;
        if let Err(e) = self.connection.execute_batch("COMMIT") {
            // Leave no half-open transaction behind: the next write starts a fresh one.
            let _ = self.connection.execute_batch("ROLLBACK");
            return Err(unavailable(e));
        }
        Ok(())
    }
}
