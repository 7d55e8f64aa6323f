//! The SQLite storage adapter (rusqlite with bundled SQLite, WAL mode). One table of users, one
//! of messages, and an index on (conversation, id) so a history page is one bounded index scan.
//! Writes open a transaction lazily; `commit` ends it, so a loop turn's writes commit together.

use std::path::{Path, PathBuf};

use chat_domain::bounded::BoundedSet;
use chat_domain::limits::KNOWN_PARTNERS_MAX;
use chat_domain::{
    ClientMessageId, Conversation, GroupName, GroupRecord, GroupWrite, Inserted, Member, Message,
    MessageId, NewMessage, PasswordHash, Recipient, Retention, Role, Store, StoreError, StoreReads,
    UserRecord, Username,
};
use chat_store_common::{Inspect, content_from_stored, conversation_key, stored_content};
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
    conversation TEXT NOT NULL,                  -- conversation_key(), e.g. d:alice:bob
    sender       TEXT NOT NULL,
    recipient    TEXT NOT NULL,                  -- a username, or # and a group name
    body         TEXT NOT NULL,                  -- stored_content(): text, or a group notice
    sent_at_ms   INTEGER NOT NULL,
    client_message_id INTEGER                    -- the sender's number for it; NULL for notices
);
CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages (conversation, id);
CREATE TABLE IF NOT EXISTS groups (
    name          TEXT PRIMARY KEY NOT NULL,     -- bare, lowercase, validated by the domain
    created_at_ms INTEGER NOT NULL,
    first_message INTEGER NOT NULL               -- its creation notice: its history starts there
);
CREATE TABLE IF NOT EXISTS members (
    group_name TEXT NOT NULL,
    username   TEXT NOT NULL,
    role       TEXT NOT NULL,                    -- owner, admin or member
    since      INTEGER NOT NULL,                 -- the notice that added them: their view starts
    PRIMARY KEY (group_name, username)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS members_by_user ON members (username, group_name);
CREATE TABLE IF NOT EXISTS partners (               -- who has a direct conversation with whom
    username TEXT NOT NULL,
    other    TEXT NOT NULL,
    PRIMARY KEY (username, other)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS read_markers (           -- how far each user has read each conversation
    username     TEXT NOT NULL,
    conversation TEXT NOT NULL,
    up_to        INTEGER NOT NULL,
    PRIMARY KEY (username, conversation)
) WITHOUT ROWID;
";

/// The layout of the tables, kept in `PRAGMA user_version`. 2: messages carry the sender's
/// client message id; 3: `partners` and `read_markers`; 4: `members.since`, where each
/// member's view of the group starts. A kept store of another version is refused, not misread.
const SCHEMA_VERSION: i64 = 4;

/// Refuses a store whose tables are of another version. A new, empty file has version 0 and
/// no tables.
fn check_schema_version(connection: &Connection) -> Result<(), StoreError> {
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

/// The page cache, in KiB (SQLite's default is 2 MiB).
const CACHE_KIB: u32 = 64 * 1024;
/// WAL pages between automatic checkpoints (SQLite's default is 1,000).
const CHECKPOINT_PAGES: u32 = 20_000;

const MESSAGE_COLUMNS: &str = "id, sender, recipient, body, sent_at_ms";

pub struct SqliteStore {
    connection: Connection,
    next_id: MessageId,
    in_transaction: bool,
    /// Conversation keys whose partners are recorded (and committed, or in this transaction).
    known_partners: BoundedSet<String>,
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
        // Sends land on random pages of the conversation index, so most pages a commit writes
        // are distinct: a 64 MiB page cache keeps the index in memory, and checkpointing every
        // 20,000 pages (80 MiB of WAL) instead of 1,000 copies a page written many times over
        // once. Together 1.25x the messages a second (docs/benchmarks.md).
        connection
            .execute_batch(&format!(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous}; \
                 PRAGMA busy_timeout = 0; PRAGMA cache_size = -{CACHE_KIB}; \
                 PRAGMA wal_autocheckpoint = {CHECKPOINT_PAGES};"
            ))
            .map_err(unavailable)?;
        check_schema_version(&connection)?;
        // Tables and version in one transaction: a crash between them would leave a store
        // that every later start refuses as another version's.
        connection
            .execute_batch(&format!(
                "BEGIN; {SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
            ))
            .map_err(unavailable)?;
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
            known_partners: BoundedSet::new(KNOWN_PARTNERS_MAX),
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
            known_partners: BoundedSet::new(1),
        })
    }

    /// The writes of `write_group`, inside its savepoint.
    fn write_group_steps(&mut self, write: &GroupWrite) -> Result<Option<Message>, StoreError> {
        let group = write.group.as_str();
        // The id this write's notice gets: the group's start, and its new members'.
        let first_message = self.next_id;
        let notice = match &write.notice {
            Some(notice) => Some(self.append_message(notice.clone())?),
            None => None,
        };
        if let Some(created_at) = write.create {
            let inserted = self
                .connection
                .prepare_cached(
                    "INSERT INTO groups (name, created_at_ms, first_message) VALUES (?1, ?2, ?3)
                     ON CONFLICT (name) DO NOTHING",
                )
                .map_err(unavailable)?
                .execute(params![
                    group,
                    created_at.as_millisecond(),
                    id_to_sql(first_message)
                ])
                .map_err(unavailable)?;
            if inserted != 1 {
                return Err(corrupt("create group", "the name is taken"));
            }
        }
        for (user, role) in &write.add {
            self.connection
                .prepare_cached(
                    "INSERT OR REPLACE INTO members (group_name, username, role, since)
                     VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(unavailable)?
                .execute(params![
                    group,
                    user.as_str(),
                    role.as_str(),
                    id_to_sql(first_message)
                ])
                .map_err(unavailable)?;
        }
        for (user, role) in &write.set_roles {
            // `since` is left as it is: a new role does not move where a view starts.
            let changed = self
                .connection
                .prepare_cached(
                    "UPDATE members SET role = ?3 WHERE group_name = ?1 AND username = ?2",
                )
                .map_err(unavailable)?
                .execute([group, user.as_str(), role.as_str()])
                .map_err(unavailable)?;
            if changed != 1 {
                return Err(corrupt("set role", format!("{user} is not a member")));
            }
        }
        for user in &write.remove {
            self.connection
                .prepare_cached("DELETE FROM members WHERE group_name = ?1 AND username = ?2")
                .map_err(unavailable)?
                .execute([group, user.as_str()])
                .map_err(unavailable)?;
        }
        if write.end {
            self.connection
                .execute("DELETE FROM members WHERE group_name = ?1", [group])
                .map_err(unavailable)?;
            self.connection
                .execute("DELETE FROM groups WHERE name = ?1", [group])
                .map_err(unavailable)?;
        }
        Ok(notice)
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
            recipient: recipient_from_sql(&recipient)?,
            content: content_from_stored(body).map_err(|e| corrupt("content", e))?,
            sent_at: timestamp(sent_at_ms)?,
        })
    })())
}

/// SQLite integers are signed: the id's bits, as an i64 (ids above 2^63 come back negative,
/// and read back the same).
fn client_id_to_sql(id: ClientMessageId) -> i64 {
    i64::from_ne_bytes(id.get().to_ne_bytes())
}

/// A user by name; a group as `#` and its name (`#` is outside the name alphabet).
fn recipient_to_sql(recipient: &Recipient) -> String {
    match recipient {
        Recipient::User(name) => name.to_string(),
        Recipient::Group(group) => group.to_string(),
    }
}

fn recipient_from_sql(text: &str) -> Result<Recipient, StoreError> {
    if let Some(bare) = text.strip_prefix('#') {
        return GroupName::parse(bare)
            .map(Recipient::Group)
            .map_err(|e| corrupt("group", e));
    }
    Username::parse(text)
        .map(Recipient::User)
        .map_err(|e| corrupt("recipient", e))
}

fn role_from_sql(text: &str) -> Result<Role, StoreError> {
    Role::parse(text).ok_or_else(|| corrupt("role", text))
}

impl Inspect for SqliteStore {
    fn all_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        let mut statement = self
            .connection
            .prepare("SELECT name, password_hash, registered_at_ms FROM users ORDER BY name")
            .map_err(unavailable)?;
        let rows = statement.query_map([], read_user).map_err(unavailable)?;
        rows.map(|row| row.map_err(unavailable)?).collect()
    }

    fn counts(&self) -> Result<(usize, usize), StoreError> {
        let count = |table: &str| -> Result<usize, StoreError> {
            let n: i64 = self
                .connection
                .query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
                    row.get(0)
                })
                .map_err(unavailable)?;
            Ok(usize::try_from(n).unwrap_or(0))
        };
        Ok((count("users")?, count("messages")?))
    }

    fn all_messages(&self) -> Result<Vec<Message>, StoreError> {
        let mut statement = self
            .connection
            .prepare(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages ORDER BY id"
            ))
            .map_err(unavailable)?;
        let rows = statement.query_map([], read_message).map_err(unavailable)?;
        rows.map(|row| row.map_err(unavailable)?).collect()
    }

    fn all_groups(&self) -> Result<Vec<GroupRecord>, StoreError> {
        let mut statement = self
            .connection
            .prepare("SELECT name, created_at_ms, first_message FROM groups ORDER BY name")
            .map_err(unavailable)?;
        let rows = statement
            .query_map([], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, i64>(2)?,
                ))
            })
            .map_err(unavailable)?;
        rows.map(|row| {
            let (name, created_at_ms, first_message) = row.map_err(unavailable)?;
            Ok(GroupRecord {
                name: GroupName::parse(&name).map_err(|e| corrupt("group name", e))?,
                created_at: timestamp(created_at_ms)?,
                first_message: id_from_sql(first_message)?,
            })
        })
        .collect()
    }
}

impl StoreReads for SqliteStore {
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

    fn find_resent(
        &self,
        conversation: &Conversation,
        sender: &Username,
        client_message_id: ClientMessageId,
        window: usize,
    ) -> Result<Option<Message>, StoreError> {
        let mut statement = self
            .connection
            .prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM
                   (SELECT * FROM messages WHERE conversation = ?1 ORDER BY id DESC LIMIT ?2)
                 WHERE sender = ?3 AND client_message_id = ?4"
            ))
            .map_err(unavailable)?;
        let window = i64::try_from(window).unwrap_or(i64::MAX);
        statement
            .query_row(
                params![
                    conversation_key(conversation),
                    window,
                    sender.as_str(),
                    client_id_to_sql(client_message_id)
                ],
                read_message,
            )
            .optional()
            .map_err(unavailable)?
            .transpose()
    }

    fn history(
        &self,
        conversation: &Conversation,
        since: MessageId,
        before: Option<MessageId>,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        let mut statement = self
            .connection
            .prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages
                 WHERE conversation = ?1 AND id >= ?2 AND id < ?3 ORDER BY id DESC LIMIT ?4"
            ))
            .map_err(unavailable)?;
        let before = before.map_or(i64::MAX, id_to_sql);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = statement
            .query_map(
                params![
                    conversation_key(conversation),
                    id_to_sql(since),
                    before,
                    limit
                ],
                read_message,
            )
            .map_err(unavailable)?;
        let mut page = rows
            .map(|row| row.map_err(unavailable)?)
            .collect::<Result<Vec<_>, _>>()?;
        page.reverse();
        Ok(page)
    }

    fn after(
        &self,
        conversation: &Conversation,
        after: MessageId,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        let mut statement = self
            .connection
            .prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages
                 WHERE conversation = ?1 AND id > ?2 ORDER BY id ASC LIMIT ?3"
            ))
            .map_err(unavailable)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = statement
            .query_map(
                params![conversation_key(conversation), id_to_sql(after), limit],
                read_message,
            )
            .map_err(unavailable)?;
        rows.map(|row| row.map_err(unavailable)?).collect()
    }

    fn count_from_others(
        &self,
        conversation: &Conversation,
        after: MessageId,
        reader: &Username,
        cap: usize,
        scan_max: usize,
    ) -> Result<usize, StoreError> {
        let mut statement = self
            .connection
            .prepare_cached(
                "SELECT COUNT(*) FROM (
                   SELECT sender FROM messages WHERE conversation = ?1 AND id > ?2
                   ORDER BY id LIMIT ?4
                 ) WHERE sender <> ?3 LIMIT 1",
            )
            .map_err(unavailable)?;
        let scan_max = i64::try_from(scan_max).unwrap_or(i64::MAX);
        let count: i64 = statement
            .query_row(
                params![
                    conversation_key(conversation),
                    id_to_sql(after),
                    reader.as_str(),
                    scan_max
                ],
                |row| row.get(0),
            )
            .map_err(unavailable)?;
        Ok(usize::try_from(count).unwrap_or(0).min(cap))
    }

    fn partners(&self, user: &Username) -> Result<Vec<Username>, StoreError> {
        let mut statement = self
            .connection
            .prepare_cached("SELECT other FROM partners WHERE username = ?1 ORDER BY other")
            .map_err(unavailable)?;
        let rows = statement
            .query_map([user.as_str()], |row| row.get::<_, String>(0))
            .map_err(unavailable)?;
        rows.map(|row| {
            let name = row.map_err(unavailable)?;
            Username::parse(&name).map_err(|e| corrupt("partner", e))
        })
        .collect()
    }

    fn read_marker(
        &self,
        user: &Username,
        conversation: &Conversation,
    ) -> Result<Option<MessageId>, StoreError> {
        let mut statement = self
            .connection
            .prepare_cached(
                "SELECT up_to FROM read_markers WHERE username = ?1 AND conversation = ?2",
            )
            .map_err(unavailable)?;
        let found: Option<i64> = statement
            .query_row(
                params![user.as_str(), conversation_key(conversation)],
                |row| row.get(0),
            )
            .optional()
            .map_err(unavailable)?;
        found.map(id_from_sql).transpose()
    }

    fn find_group(&self, name: &GroupName) -> Result<Option<GroupRecord>, StoreError> {
        let mut statement = self
            .connection
            .prepare_cached("SELECT created_at_ms, first_message FROM groups WHERE name = ?1")
            .map_err(unavailable)?;
        let found: Option<(i64, i64)> = statement
            .query_row([name.as_str()], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()
            .map_err(unavailable)?;
        found
            .map(|(ms, first_message)| {
                Ok(GroupRecord {
                    name: name.clone(),
                    created_at: timestamp(ms)?,
                    first_message: id_from_sql(first_message)?,
                })
            })
            .transpose()
    }

    fn member(&self, group: &GroupName, user: &Username) -> Result<Option<Member>, StoreError> {
        let found: Option<(String, i64)> = self
            .connection
            .prepare_cached(
                "SELECT role, since FROM members WHERE group_name = ?1 AND username = ?2",
            )
            .map_err(unavailable)?
            .query_row([group.as_str(), user.as_str()], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .optional()
            .map_err(unavailable)?;
        found
            .map(|(role, since)| {
                Ok(Member {
                    username: user.clone(),
                    role: role_from_sql(&role)?,
                    since: id_from_sql(since)?,
                })
            })
            .transpose()
    }

    fn members(&self, group: &GroupName) -> Result<Vec<Member>, StoreError> {
        let mut statement = self
            .connection
            .prepare_cached(
                "SELECT username, role, since FROM members WHERE group_name = ?1
                 ORDER BY username",
            )
            .map_err(unavailable)?;
        let rows = statement
            .query_map([group.as_str()], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, i64>(2)?,
                ))
            })
            .map_err(unavailable)?;
        rows.map(|row| {
            let (name, role, since) = row.map_err(unavailable)?;
            Ok(Member {
                username: Username::parse(&name).map_err(|e| corrupt("member", e))?,
                role: role_from_sql(&role)?,
                since: id_from_sql(since)?,
            })
        })
        .collect()
    }

    fn groups_of(&self, user: &Username) -> Result<Vec<(GroupName, Role)>, StoreError> {
        let mut statement = self
            .connection
            .prepare_cached(
                "SELECT group_name, role FROM members WHERE username = ?1 ORDER BY group_name",
            )
            .map_err(unavailable)?;
        let rows = statement
            .query_map([user.as_str()], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
            })
            .map_err(unavailable)?;
        rows.map(|row| {
            let (name, role) = row.map_err(unavailable)?;
            let group = GroupName::parse(&name).map_err(|e| corrupt("group", e))?;
            Ok((group, role_from_sql(&role)?))
        })
        .collect()
    }
}

impl Store for SqliteStore {
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
        let conversation = conversation_key(&message.conversation());
        let mut statement = self
            .connection
            .prepare_cached(
                "INSERT INTO messages
                 (id, conversation, sender, recipient, body, sent_at_ms, client_message_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .map_err(unavailable)?;
        statement
            .execute(params![
                id_to_sql(id),
                conversation,
                message.sender.as_str(),
                recipient_to_sql(&message.recipient),
                stored_content(&message.content),
                message.sent_at.as_millisecond(),
                message.client_message_id.map(client_id_to_sql)
            ])
            .map_err(unavailable)?;
        // Stored: its id is used, whatever happens next.
        self.next_id = id.next();
        // Most sends are between people who talked before: nothing to do, nothing read.
        if let Recipient::User(to) = &message.recipient
            && !self.known_partners.contains(&conversation)
        {
            let mut partners = self
                .connection
                .prepare_cached("INSERT OR IGNORE INTO partners (username, other) VALUES (?1, ?2)")
                .map_err(unavailable)?;
            for (of, other) in [(&message.sender, to), (to, &message.sender)] {
                partners
                    .execute([of.as_str(), other.as_str()])
                    .map_err(unavailable)?;
            }
            self.known_partners.insert(conversation);
        }
        Ok(message.with_id(id))
    }

    fn set_read_marker(
        &mut self,
        user: &Username,
        conversation: &Conversation,
        up_to: MessageId,
    ) -> Result<(), StoreError> {
        self.begin_if_needed()?;
        let mut statement = self
            .connection
            .prepare_cached(
                "INSERT OR REPLACE INTO read_markers (username, conversation, up_to)
                 VALUES (?1, ?2, ?3)",
            )
            .map_err(unavailable)?;
        statement
            .execute(params![
                user.as_str(),
                conversation_key(conversation),
                id_to_sql(up_to)
            ])
            .map_err(unavailable)?;
        Ok(())
    }

    fn write_group(&mut self, write: GroupWrite) -> Result<Option<Message>, StoreError> {
        self.begin_if_needed()?;
        // A savepoint inside the turn's transaction: an error part-way undoes this command's
        // writes only, and the turn's commit never carries half of it.
        self.connection
            .execute_batch("SAVEPOINT group_write")
            .map_err(unavailable)?;
        let next_id = self.next_id;
        match self.write_group_steps(&write) {
            Ok(notice) => {
                self.connection
                    .execute_batch("RELEASE group_write")
                    .map_err(unavailable)?;
                Ok(notice)
            }
            Err(e) => {
                self.next_id = next_id;
                let _ = self
                    .connection
                    .execute_batch("ROLLBACK TO group_write; RELEASE group_write");
                Err(e)
            }
        }
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        if !self.in_transaction {
            return Ok(());
        }
        self.in_transaction = false;
        if let Err(e) = self.connection.execute_batch("COMMIT") {
            // Leave no half-open transaction behind: the next write starts a fresh one. What
            // it recorded is gone, so nothing is known to be recorded any more.
            let _ = self.connection.execute_batch("ROLLBACK");
            self.known_partners.clear();
            return Err(unavailable(e));
        }
        Ok(())
    }
}
