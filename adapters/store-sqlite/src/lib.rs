//! The SQLite storage adapter (rusqlite with bundled SQLite, WAL mode). Messages wait in memory
//! (`Pending`, logged a row a commit) until a commit writes them out as chunks of a
//! conversation's consecutive messages, so a history page is one bounded range of `chunks`
//! (`schema.rs`). Writes open a transaction lazily; `commit` ends it, so a loop turn's writes
//! commit together.

mod rows;
mod schema;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chat_domain::limits::KNOWN_PARTNERS_MAX;
use chat_domain::{
    ClientMessageId, Conversation, GroupName, GroupRecord, GroupWrite, Inserted, Member, Message,
    MessageId, NewMessage, Recipient, Retention, Role, Store, StoreError, StoreReads, UserRecord,
    Username,
};
use chat_store_common::{
    Chunks, Inspect, KNOWN_NAMES_MAX, KnownNames, Pending, PendingLimits, Visit, chunk_entries,
    conversation_from_key, conversation_key, decode_message, encode_message,
    message_conversation_key, newest_chunked,
};
use rusqlite::{Connection, OpenFlags, OptionalExtension, Params, params};

use rows::{
    group_from_sql, id_from_sql, id_to_sql, marker_from_sql, name_from_sql, read_user,
    role_from_sql, timestamp,
};

/// The database file inside the data directory. Wiping removes only it and its WAL files.
pub const SQLITE_FILE_NAME: &str = "chat.sqlite3";

/// The row of `counters` holding the id the next message gets.
const NEXT_ID_COUNTER: &str = "next_message_id";

// Reads name the conversation by its key (?1), which one subquery turns into its number.
const CHUNKS_BACK: &str = "SELECT entries FROM chunks
    WHERE conversation = (SELECT number FROM conversations WHERE key = ?1) AND first_id < ?2
    ORDER BY first_id DESC";
// From the chunk holding ?2 (the last starting at or before it), or from the first.
const CHUNKS_FORWARD: &str = "SELECT entries FROM chunks
    WHERE conversation = (SELECT number FROM conversations WHERE key = ?1)
    AND first_id >= coalesce((SELECT max(first_id) FROM chunks
        WHERE conversation = (SELECT number FROM conversations WHERE key = ?1)
        AND first_id <= ?2), 0)
    ORDER BY first_id";

// A user's partners whose names sort before theirs.
const PARTNERS_EARLIER: &str = "SELECT other FROM partners WHERE username = ?1 ORDER BY other";
// Those whose names sort after (or are) theirs: the direct keys from `d:user:` (?1) up to
// `d:user;` (?2), `;` being the byte after `:`, which no name holds.
const PARTNERS_LATER: &str = "SELECT substr(key, length(?1) + 1) FROM conversations
    WHERE key >= ?1 AND key < ?2 ORDER BY key";

pub struct SqliteStore {
    connection: Connection,
    next_id: MessageId,
    /// `next_id` as `counters` last had it written (by a commit that wrote chunks).
    next_id_committed: MessageId,
    in_transaction: bool,
    /// Messages stored since the last flush, which no chunk holds yet.
    pending: Pending,
    /// Conversations by key, with their numbers (committed, or in this transaction); a direct
    /// one's partners are recorded with it.
    known_conversations: KnownConversations,
    /// Names of users read or written (and committed, or in this transaction).
    known_names: KnownNames,
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
        Self::open_with_limits(data_dir, retention, PendingLimits::DEFAULT)
    }

    /// `open`, holding pending messages within `limits` (tests flush at nearly every commit).
    pub fn open_with_limits(
        data_dir: &Path,
        retention: Retention,
        limits: PendingLimits,
    ) -> Result<Self, StoreError> {
        let path = Self::path_in(data_dir);
        if retention == Retention::Wipe {
            wipe(&path)?;
        }
        std::fs::create_dir_all(data_dir)
            .map_err(|e| unavailable(format!("cannot create {}: {e}", data_dir.display())))?;
        let connection = Connection::open(&path)
            .map_err(|e| unavailable(format!("cannot open {}: {e}", path.display())))?;
        let synchronous = match retention {
            Retention::Wipe => "OFF",
            Retention::Keep => "FULL",
        };
        schema::configure(&connection, synchronous)?;
        schema::check_schema_version(&connection)?;
        schema::create_tables(&connection)?;
        let next_id = read_next_id(&connection)?;
        SqliteStore {
            connection,
            next_id,
            next_id_committed: next_id,
            in_transaction: false,
            pending: Pending::new(limits),
            known_conversations: KnownConversations::new(KNOWN_PARTNERS_MAX),
            known_names: KnownNames::new(KNOWN_NAMES_MAX),
        }
        .with_log_read()
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
        // One read transaction for the inspector's life: the log and the chunks are read from
        // one snapshot, so a flush by a running server in between shows no message twice.
        connection.execute_batch("BEGIN").map_err(unavailable)?;
        schema::check_schema_version(&connection)?;
        SqliteStore {
            connection,
            next_id: MessageId::FIRST,
            next_id_committed: MessageId::FIRST,
            in_transaction: false,
            pending: Pending::new(PendingLimits::DEFAULT),
            known_conversations: KnownConversations::new(1),
            known_names: KnownNames::new(1),
        }
        .with_log_read()
    }

    /// Holds the messages the log has and no chunk (committed, not yet written out) as pending
    /// again.
    fn with_log_read(mut self) -> Result<Self, StoreError> {
        let mut statement = self
            .connection
            .prepare("SELECT entries FROM log")
            .map_err(unavailable)?;
        let logs = statement
            .query_map([], |row| row.get::<_, Vec<u8>>(0))
            .map_err(unavailable)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(unavailable)?;
        drop(statement);
        let mut pending = Pending::new(self.pending.limits());
        let newest = pending.replay(logs.iter().map(Vec::as_slice), |conversation| {
            newest_chunked(&self, conversation)
        })?;
        self.pending = pending;
        // `counters` is written only by commits that write chunks; those after it are in the log.
        // `next_id_committed` stays what `counters` holds: the next commit that writes chunks
        // writes the next id, even one that adds no message.
        if let Some(newest) = newest {
            self.next_id = self.next_id.max(newest.next());
        }
        Ok(self)
    }

    /// Runs one statement, prepared once and then reused; returns the rows it changed.
    fn execute_cached(&self, sql: &str, params: impl Params) -> Result<usize, StoreError> {
        self.connection
            .prepare_cached(sql)
            .map_err(unavailable)?
            .execute(params)
            .map_err(unavailable)
    }

    /// Calls `each` with the chunks a query of `conversation` (?1) and an id (?2) returns.
    fn query_chunks(
        &self,
        sql: &str,
        conversation: &Conversation,
        id: MessageId,
        each: &mut Visit,
    ) -> Result<(), StoreError> {
        let mut statement = self.connection.prepare_cached(sql).map_err(unavailable)?;
        let mut rows = statement
            .query(params![conversation_key(conversation), id_to_sql(id)])
            .map_err(unavailable)?;
        while let Some(row) = rows.next().map_err(unavailable)? {
            let chunk = row
                .get_ref(0)
                .and_then(|value| value.as_blob().map_err(Into::into))
                .map_err(|e| corrupt("chunk", e))?;
            if each(chunk)?.is_break() {
                break;
            }
        }
        Ok(())
    }

    /// Writes what is due out of memory as chunks and removes the log entries that then hold
    /// nothing pending, in the open transaction; whether anything was due.
    fn flush_pending(&mut self) -> Result<bool, StoreError> {
        let Some(flush) = self.pending.flush() else {
            return Ok(false);
        };
        let mut chunks = flush.chunks;
        // In id order: every one lands at the table's end.
        chunks.sort_unstable_by_key(|chunk| chunk.first_id);
        for chunk in chunks {
            let number = self.number_of(&chunk.conversation)?;
            self.execute_cached(
                "INSERT INTO chunks (conversation, first_id, entries) VALUES (?1, ?2, ?3)",
                params![number, id_to_sql(chunk.first_id), chunk.bytes],
            )?;
        }
        match flush.log_below {
            Some(below) => {
                self.execute_cached("DELETE FROM log WHERE last_id < ?1", [id_to_sql(below)])?
            }
            None => self.execute_cached("DELETE FROM log", [])?,
        };
        Ok(true)
    }

    /// The number of a conversation that has one (every pending message's has).
    fn number_of(&mut self, conversation: &Conversation) -> Result<i64, StoreError> {
        let key = conversation_key(conversation);
        self.find_number(&key)?
            .ok_or_else(|| corrupt("conversation number", format!("{key} has none")))
    }

    /// The writes of `write_group`, inside its savepoint.
    fn write_group_steps(&mut self, write: &GroupWrite) -> Result<Option<Vec<u8>>, StoreError> {
        let group = write.group.as_str();
        // The id this write's notice gets: the group's start, and its new members'.
        let first_message = id_to_sql(self.next_id);
        // Numbered inside the savepoint; held (and logged) only once the write is whole.
        let notice = match &write.notice {
            Some(notice) => {
                let key = message_conversation_key(&notice.sender, &notice.recipient);
                self.conversation_number(key, self.next_id, notice)?;
                Some(encode_message(notice)?)
            }
            None => None,
        };
        if let Some(created_at) = write.create {
            let inserted = self.execute_cached(
                "INSERT INTO groups (name, created_at_ms, first_message) VALUES (?1, ?2, ?3)
                 ON CONFLICT (name) DO NOTHING",
                params![group, created_at.as_millisecond(), first_message],
            )?;
            if inserted != 1 {
                return Err(corrupt("create group", "the name is taken"));
            }
        }
        for (user, role) in &write.add {
            self.execute_cached(
                "INSERT OR REPLACE INTO members (group_name, username, role, since)
                 VALUES (?1, ?2, ?3, ?4)",
                params![group, user.as_str(), role.as_str(), first_message],
            )?;
        }
        for (user, role) in &write.set_roles {
            // `since` is left as it is: a new role does not move where a view starts.
            let changed = self.execute_cached(
                "UPDATE members SET role = ?3 WHERE group_name = ?1 AND username = ?2",
                [group, user.as_str(), role.as_str()],
            )?;
            if changed != 1 {
                return Err(corrupt("set role", format!("{user} is not a member")));
            }
        }
        for user in &write.remove {
            self.execute_cached(
                "DELETE FROM members WHERE group_name = ?1 AND username = ?2",
                [group, user.as_str()],
            )?;
        }
        if write.end {
            self.execute_cached("DELETE FROM members WHERE group_name = ?1", [group])?;
            self.execute_cached("DELETE FROM groups WHERE name = ?1", [group])?;
        }
        Ok(notice)
    }

    /// Opens the write transaction that the next `commit` ends. If SQLite rolled the open one
    /// back by itself (a full disk, an I/O error), what it held is gone: every write until the
    /// commit fails, rather than commit on its own.
    fn begin_if_needed(&mut self) -> Result<(), StoreError> {
        if self.in_transaction && self.connection.is_autocommit() {
            return Err(unavailable("sqlite rolled the batch's transaction back"));
        }
        if !self.in_transaction {
            self.execute_cached("BEGIN IMMEDIATE", [])?;
            self.in_transaction = true;
        }
        Ok(())
    }

    /// The number of the conversation `key` names, given to it now if it has none: `first`,
    /// the id of `message`, its first. A new direct conversation also makes its two people
    /// each other's partners.
    fn conversation_number(
        &mut self,
        key: String,
        first: MessageId,
        message: &NewMessage,
    ) -> Result<i64, StoreError> {
        if let Some(number) = self.find_number(&key)? {
            return Ok(number);
        }
        let number = id_to_sql(first);
        self.start_conversation(&key, number, message)?;
        self.known_conversations.remember(key, number);
        Ok(number)
    }

    /// The number of the conversation `key` names, if it has one.
    fn find_number(&mut self, key: &str) -> Result<Option<i64>, StoreError> {
        // Most sends are in a conversation known already: nothing to do, nothing read.
        if let Some(number) = self.known_conversations.get(key) {
            return Ok(Some(number));
        }
        let found: Option<i64> = self
            .connection
            .prepare_cached("SELECT number FROM conversations WHERE key = ?1")
            .map_err(unavailable)?
            .query_row([key], |row| row.get(0))
            .optional()
            .map_err(unavailable)?;
        if let Some(number) = found {
            self.known_conversations.remember(key.to_string(), number);
        }
        Ok(found)
    }

    /// Gives the conversation `key` names, which has none, its number, and records a direct
    /// one's later name as a partner of the earlier (its key does the converse). The number
    /// comes last: once it is written, the conversation is whole, and a try that failed
    /// before it is tried again in full.
    fn start_conversation(
        &mut self,
        key: &str,
        number: i64,
        message: &NewMessage,
    ) -> Result<(), StoreError> {
        if let Recipient::User(to) = &message.recipient
            && to != &message.sender
        {
            let (earlier, later) = (to.min(&message.sender), to.max(&message.sender));
            self.execute_cached(
                "INSERT OR IGNORE INTO partners (username, other) VALUES (?1, ?2)",
                [later.as_str(), earlier.as_str()],
            )?;
        }
        self.execute_cached(
            "INSERT INTO conversations (key, number) VALUES (?1, ?2)",
            params![key, number],
        )?;
        Ok(())
    }

    /// Writes what this commit added to the log, then what is due out of memory as chunks;
    /// whether any chunk was written. `Pending` lets go of them only once the commit succeeds
    /// (`commit`).
    fn write_pending(&mut self) -> Result<bool, StoreError> {
        if let Some(entry) = self.pending.unlogged() {
            self.execute_cached(
                "INSERT INTO log (last_id, entries) VALUES (?1, ?2)",
                params![id_to_sql(entry.last_id), entry.bytes],
            )?;
        }
        self.flush_pending()
    }

    /// Writes the next id to `counters` if it moved since the last time, in a commit that
    /// writes chunks: it removes log entries, whose ids a reopening would otherwise go on from
    /// (`with_log_read`). A commit that only logs writes one page fewer (the log's last).
    fn write_next_id(&self) -> Result<(), StoreError> {
        if self.next_id == self.next_id_committed {
            return Ok(());
        }
        self.execute_cached(
            "INSERT OR REPLACE INTO counters (name, value) VALUES (?1, ?2)",
            params![NEXT_ID_COUNTER, id_to_sql(self.next_id)],
        )?;
        Ok(())
    }
}

/// Conversation keys with their numbers, up to a bound: past it, all are forgotten, which
/// costs reads, never a wrong answer.
struct KnownConversations {
    numbers: HashMap<String, i64>,
    numbers_max: usize,
}

impl KnownConversations {
    fn new(numbers_max: usize) -> Self {
        KnownConversations {
            numbers: HashMap::new(),
            numbers_max: numbers_max.max(1),
        }
    }

    fn get(&self, key: &str) -> Option<i64> {
        self.numbers.get(key).copied()
    }

    fn remember(&mut self, key: String, number: i64) {
        if self.numbers.len() >= self.numbers_max {
            self.numbers.clear();
        }
        self.numbers.insert(key, number);
    }

    fn forget_all(&mut self) {
        self.numbers.clear();
    }
}

/// Deletes the database file and its WAL files, if there.
fn wipe(path: &Path) -> Result<(), StoreError> {
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(unavailable(format!("cannot wipe {}: {e}", file.display()))),
        }
    }
    Ok(())
}

/// The id the next message gets as the last commit that wrote chunks left it (the log has the
/// newer ones: `with_log_read`), or the first, in a new store.
fn read_next_id(connection: &Connection) -> Result<MessageId, StoreError> {
    let next: Option<i64> = connection
        .query_row(
            "SELECT value FROM counters WHERE name = ?1",
            [NEXT_ID_COUNTER],
            |row| row.get(0),
        )
        .optional()
        .map_err(unavailable)?;
    next.map_or(Ok(MessageId::FIRST), id_from_sql)
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
        let users: i64 = self
            .connection
            .query_row("SELECT count(*) FROM users", [], |row| row.get(0))
            .map_err(unavailable)?;
        let mut messages = self.pending.len();
        self.each_chunk(|_, chunk| {
            messages += chunk_entries(chunk)?.len();
            Ok(())
        })?;
        Ok((usize::try_from(users).unwrap_or(0), messages))
    }

    fn all_messages(&self) -> Result<Vec<Message>, StoreError> {
        let mut messages = Vec::new();
        self.each_chunk(|conversation, chunk| {
            for (id, value) in chunk_entries(chunk)? {
                messages.push(decode_message(conversation, id, value)?);
            }
            Ok(())
        })?;
        for (conversation, message) in self.pending.all() {
            messages.push(decode_message(conversation, message.id, &message.value)?);
        }
        messages.sort_unstable_by_key(|message| message.id);
        Ok(messages)
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
                name: group_from_sql(&name)?,
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
        let found = found.transpose()?;
        if let Some(user) = &found {
            self.known_names.remember(&user.username);
        }
        Ok(found)
    }

    fn user_exists(&self, username: &Username) -> Result<bool, StoreError> {
        // Every send asks this of its recipient: most are known already.
        if self.known_names.contains(username) {
            return Ok(true);
        }
        let exists = self
            .connection
            .prepare_cached("SELECT 1 FROM users WHERE name = ?1")
            .map_err(unavailable)?
            .exists([username.as_str()])
            .map_err(unavailable)?;
        if exists {
            self.known_names.remember(username);
        }
        Ok(exists)
    }

    fn find_resent(
        &self,
        conversation: &Conversation,
        sender: &Username,
        client_message_id: ClientMessageId,
        window: usize,
    ) -> Result<Option<Message>, StoreError> {
        chat_store_common::find_resent(
            &self.pending,
            self,
            conversation,
            sender,
            client_message_id,
            window,
        )
    }

    fn history(
        &self,
        conversation: &Conversation,
        since: MessageId,
        before: Option<MessageId>,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        chat_store_common::history(&self.pending, self, conversation, since, before, limit)
    }

    fn after(
        &self,
        conversation: &Conversation,
        after: Option<MessageId>,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        chat_store_common::after(&self.pending, self, conversation, after, limit)
    }

    fn count_from_others(
        &self,
        conversation: &Conversation,
        after: Option<MessageId>,
        reader: &Username,
        cap: usize,
        scan_max: usize,
    ) -> Result<usize, StoreError> {
        chat_store_common::count_from_others(
            &self.pending,
            self,
            conversation,
            after,
            reader,
            cap,
            scan_max,
        )
    }

    fn partners(&self, user: &Username) -> Result<Vec<Username>, StoreError> {
        // Those before `user` in name order, then the others: all of them in order.
        let mut names = self.names_of(PARTNERS_EARLIER, [user.as_str()])?;
        let name = user.as_str();
        let (from, below) = (format!("d:{name}:"), format!("d:{name};"));
        names.extend(self.names_of(PARTNERS_LATER, [from.as_str(), below.as_str()])?);
        Ok(names)
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
        match found {
            None => Ok(None),
            Some(up_to) => marker_from_sql(up_to),
        }
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
                username: name_from_sql("member", &name)?,
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
            Ok((group_from_sql(&name)?, role_from_sql(&role)?))
        })
        .collect()
    }
}

impl Chunks for SqliteStore {
    fn chunks_back(
        &self,
        conversation: &Conversation,
        before: MessageId,
        each: &mut Visit,
    ) -> Result<(), StoreError> {
        self.query_chunks(CHUNKS_BACK, conversation, before, each)
    }

    fn chunks_forward(
        &self,
        conversation: &Conversation,
        from: MessageId,
        each: &mut Visit,
    ) -> Result<(), StoreError> {
        self.query_chunks(CHUNKS_FORWARD, conversation, from, each)
    }
}

impl SqliteStore {
    /// The names a query of one column of them returns, in its order.
    fn names_of(&self, sql: &str, params: impl Params) -> Result<Vec<Username>, StoreError> {
        let mut statement = self.connection.prepare_cached(sql).map_err(unavailable)?;
        let rows = statement
            .query_map(params, |row| row.get::<_, String>(0))
            .map_err(unavailable)?;
        rows.map(|row| name_from_sql("partner", &row.map_err(unavailable)?))
            .collect()
    }

    /// Calls `each` with every chunk and its conversation, for the inspector.
    fn each_chunk<F>(&self, mut each: F) -> Result<(), StoreError>
    where
        F: FnMut(&Conversation, &[u8]) -> Result<(), StoreError>,
    {
        let mut statement = self
            .connection
            .prepare(
                "SELECT conversations.key, chunks.entries FROM chunks
                 JOIN conversations ON conversations.number = chunks.conversation",
            )
            .map_err(unavailable)?;
        let mut rows = statement.query([]).map_err(unavailable)?;
        while let Some(row) = rows.next().map_err(unavailable)? {
            let key: String = row.get(0).map_err(unavailable)?;
            let chunk: Vec<u8> = row.get(1).map_err(unavailable)?;
            let conversation =
                conversation_from_key(&key).ok_or_else(|| corrupt("conversation", &key))?;
            each(&conversation, &chunk)?;
        }
        Ok(())
    }
}

impl Store for SqliteStore {
    fn insert_user(&mut self, user: &UserRecord) -> Result<Inserted, StoreError> {
        self.begin_if_needed()?;
        let changed = self.execute_cached(
            "INSERT INTO users (name, password_hash, registered_at_ms) VALUES (?1, ?2, ?3)
             ON CONFLICT (name) DO NOTHING",
            params![
                user.username.as_str(),
                user.password_hash.as_str(),
                user.registered_at.as_millisecond()
            ],
        )?;
        if changed != 1 {
            return Ok(Inserted::NameTaken);
        }
        self.known_names.remember(&user.username);
        Ok(Inserted::Yes)
    }

    fn append_message(&mut self, message: NewMessage) -> Result<Message, StoreError> {
        self.begin_if_needed()?;
        let id = self.next_id;
        let conversation = message.conversation();
        let value = encode_message(&message)?;
        // The id is spent before anything can fail: a conversation numbered by it in a write
        // that then failed, which the turn's commit may still carry, keeps it to itself.
        self.next_id = id.next();
        // Most sends are in a conversation with messages held, numbered already.
        if !self.pending.holds(&conversation) {
            let key = message_conversation_key(&message.sender, &message.recipient);
            self.conversation_number(key, id, &message)?;
        }
        // Logged by the commit, one row a commit; written in a chunk by a later one.
        self.pending.push(conversation, id, value, true);
        Ok(message.with_id(id))
    }

    fn set_read_marker(
        &mut self,
        user: &Username,
        conversation: &Conversation,
        up_to: MessageId,
    ) -> Result<(), StoreError> {
        self.begin_if_needed()?;
        self.execute_cached(
            "INSERT OR REPLACE INTO read_markers (username, conversation, up_to)
             VALUES (?1, ?2, ?3)",
            params![
                user.as_str(),
                conversation_key(conversation),
                id_to_sql(up_to)
            ],
        )?;
        Ok(())
    }

    fn write_group(&mut self, write: GroupWrite) -> Result<Option<Message>, StoreError> {
        self.begin_if_needed()?;
        // A savepoint inside the turn's transaction: an error part-way undoes this command's
        // writes only, and the turn's commit never carries half of it.
        self.execute_cached("SAVEPOINT group_write", [])?;
        let written = self.write_group_steps(&write).and_then(|notice| {
            self.execute_cached("RELEASE group_write", [])
                .map(|_| notice)
        });
        match written {
            Ok(value) => {
                let Some((value, notice)) = value.zip(write.notice) else {
                    return Ok(None);
                };
                let id = self.next_id;
                self.pending.push(notice.conversation(), id, value, true);
                self.next_id = id.next();
                Ok(Some(notice.with_id(id)))
            }
            Err(e) => {
                let _ = self
                    .connection
                    .execute_batch("ROLLBACK TO group_write; RELEASE group_write");
                // A conversation numbered inside the savepoint is numbered no more; and should
                // the rollback itself have failed, the number is not given again.
                self.known_conversations.forget_all();
                self.next_id = self.next_id.next();
                Err(e)
            }
        }
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        if !self.in_transaction {
            return Ok(());
        }
        self.in_transaction = false;
        let committed = if self.connection.is_autocommit() {
            Err(unavailable("sqlite rolled the batch's transaction back"))
        } else {
            self.write_pending().and_then(|chunked| {
                if chunked {
                    self.write_next_id()?;
                }
                self.execute_cached("COMMIT", [])?;
                Ok(chunked)
            })
        };
        let chunked = match committed {
            Ok(chunked) => chunked,
            Err(e) => {
                // Leave no half-open transaction behind: the next write starts a fresh one. What
                // it recorded is gone, so nothing is known to be recorded any more.
                let _ = self.connection.execute_batch("ROLLBACK");
                self.known_conversations.forget_all();
                self.known_names.forget_all();
                self.pending.failed();
                return Err(e);
            }
        };
        self.pending.committed();
        if chunked {
            self.next_id_committed = self.next_id;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
