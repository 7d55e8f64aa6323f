//! The sled storage adapter (the default). Trees laid out so a history page is one bounded
//! range scan and a group's members, or a user's groups, one prefix scan:
//! - `users`: lowercase username -> postcard `StoredUser`
//! - `conversations`: conversation key, 0x00, first message id (u64 big-endian) -> a chunk of
//!   up to 64 consecutive messages of the conversation (`chat_store_common`'s framing of each
//!   message's id and stored value). Big-endian ids sort numerically, so a history page is a
//!   reverse scan of one key range that decodes two or three chunks. Messages wait in memory
//!   (`Pending`) until a commit writes their conversation out as chunks, the longest waiting
//!   first, once 65,536 wait: a sled insert a message was 60% of the server's CPU
//!   (docs/benchmarks.md).
//! - `log`: newest message id (u64 big-endian) -> a log entry: the messages one commit added,
//!   kept until none of them waits any more (a reopening skips those a chunk holds); a group's
//!   notice, written with its group's change.
//! - `groups`: group name -> postcard `StoredGroup`
//! - `members`: group name, 0x00, username -> postcard `StoredMember`: the role, and the id of
//!   the notice that added them (where their view of the group starts)
//! - `memberships`: username, 0x00, group name -> the same `StoredMember` (the same facts, keyed
//!   for `groups_of`)
//! - `partners`: username, 0x00, username -> nothing: who has a direct conversation with whom
//! - `read_markers`: username, 0x00, conversation key -> the id read up to (u64 big-endian)
//! - sled's default tree: `layout` -> the layout's version, one byte (`LAYOUT_VERSION`);
//!   `next_id` -> the id after the newest message (u64 big-endian) when a commit last wrote
//!   chunks, for a log that holds nothing newer

mod disk_sync;
mod keys;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chat_domain::bounded::BoundedSet;
use chat_domain::limits::KNOWN_PARTNERS_MAX;
use chat_domain::{
    ClientMessageId, Conversation, GroupName, GroupRecord, GroupWrite, Inserted, Member, Message,
    MessageId, NewMessage, PasswordHash, Recipient, Retention, Role, Store, StoreError, StoreReads,
    UserRecord, Username,
};
use chat_store_common::{
    Chunks, Inspect, KNOWN_NAMES_MAX, KnownNames, Pending, PendingLimits, Visit, chunk_entries,
    decode_message, encode_message, newest_chunked, push_conversation_key, push_log_entry,
    stored_id,
};

use disk_sync::DiskSync;
use jiff::Timestamp;
use keys::{after_prefix, conversation_of_key, conversation_prefix, decode_u64, with_id};
use serde::{Deserialize, Serialize};
use sled::Transactional;
use sled::transaction::ConflictableTransactionError;
use std::ops::ControlFlow;

/// The directory inside the data directory that sled owns. Wiping removes only this.
pub const SLED_DIR_NAME: &str = "sled";

pub struct SledStore {
    db: sled::Db,
    users: sled::Tree,
    conversations: sled::Tree,
    groups: sled::Tree,
    members: sled::Tree,
    memberships: sled::Tree,
    partners: sled::Tree,
    read_markers: sled::Tree,
    log: sled::Tree,
    /// Messages stored since the last flush, which no chunk holds yet.
    pending: Pending,
    /// Read markers set since the last commit, written by it after the log: sled may persist
    /// a write before the commit, and a marker on disk must never cover an id that the log
    /// does not hold, or a crash would give that id, marked read, to a new message.
    markers_unwritten: HashMap<Vec<u8>, MessageId>,
    next_id: MessageId,
    /// Conversations whose partners are recorded already.
    known_partners: BoundedSet<Conversation>,
    /// Names of users read or written.
    known_names: KnownNames,
    /// A kept store's files, synced by every commit after sled's flush; `None` for a store
    /// wiped at the next start anyway, where sled's background flusher is enough.
    disk_sync: Option<DiskSync>,
}

#[derive(Serialize, Deserialize)]
struct StoredUser {
    password_hash: String,
    registered_at_ms: i64,
}

#[derive(Serialize, Deserialize)]
struct StoredMember {
    /// `Role::as_str`.
    role: String,
    /// The id of the notice that added them: they read the group from there.
    since: u64,
}

#[derive(Serialize, Deserialize)]
struct StoredGroup {
    created_at_ms: i64,
    /// The id of its creation notice: its history starts there.
    first_message: u64,
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("sled: {e}"))
}

pub(crate) fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("sled: {what}: {e}"))
}

impl SledStore {
    /// The path sled uses inside `data_dir`.
    pub fn path_in(data_dir: &Path) -> PathBuf {
        data_dir.join(SLED_DIR_NAME)
    }

    /// Opens (creating if needed) the store in `data_dir/sled`. `Retention::Wipe` removes the
    /// old directory first rather than opening it: a store left broken by a crash is never read.
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
        if retention == Retention::Wipe && path.exists() {
            std::fs::remove_dir_all(&path)
                .map_err(|e| unavailable(format!("cannot wipe {}: {e}", path.display())))?;
        }
        std::fs::create_dir_all(data_dir)
            .map_err(|e| unavailable(format!("cannot create {}: {e}", data_dir.display())))?;
        let db = open_locked(&path).map_err(|e| {
            if is_lock_error(&e) {
                unavailable(format!(
                    "cannot open {}: another server is using it: {e}",
                    path.display()
                ))
            } else {
                unavailable(format!("cannot open {}: {e}", path.display()))
            }
        })?;
        check_layout(&db, Access::Write)?;
        let disk_sync = match retention {
            Retention::Keep => Some(open_disk_sync(&path)?),
            Retention::Wipe => None,
        };
        Self::from_db(db, disk_sync, limits)
    }

    fn from_db(
        db: sled::Db,
        disk_sync: Option<DiskSync>,
        limits: PendingLimits,
    ) -> Result<Self, StoreError> {
        let users = db.open_tree("users").map_err(unavailable)?;
        let conversations = db.open_tree("conversations").map_err(unavailable)?;
        let groups = db.open_tree("groups").map_err(unavailable)?;
        let members = db.open_tree("members").map_err(unavailable)?;
        let memberships = db.open_tree("memberships").map_err(unavailable)?;
        let partners = db.open_tree("partners").map_err(unavailable)?;
        let read_markers = db.open_tree("read_markers").map_err(unavailable)?;
        let log = db.open_tree("log").map_err(unavailable)?;
        let next_id = match db.get(NEXT_ID_KEY).map_err(unavailable)? {
            Some(value) => stored_id("next id", decode_u64(&value)?)?,
            None => MessageId::FIRST,
        };
        SledStore {
            db,
            users,
            conversations,
            groups,
            members,
            memberships,
            partners,
            read_markers,
            log,
            pending: Pending::new(limits),
            markers_unwritten: HashMap::new(),
            next_id,
            known_partners: BoundedSet::new(KNOWN_PARTNERS_MAX),
            known_names: KnownNames::new(KNOWN_NAMES_MAX),
            disk_sync,
        }
        .with_log_read()
    }

    /// Holds the messages the log has and no chunk (committed, not yet written out) as pending
    /// again, and numbers on after the newest of them.
    fn with_log_read(mut self) -> Result<Self, StoreError> {
        let logs = self
            .log
            .iter()
            .values()
            .collect::<Result<Vec<_>, _>>()
            .map_err(unavailable)?;
        let mut pending = Pending::new(self.pending.limits());
        let newest = pending.replay(logs.iter().map(|entry| entry.as_ref()), |conversation| {
            newest_chunked(&self, conversation)
        })?;
        self.next_id = self
            .next_id
            .max(newest.map_or(MessageId::FIRST, MessageId::next));
        self.pending = pending;
        Ok(self)
    }

    /// Opens an existing store for the inspector, without creating or wiping anything. sled lets
    /// one process open a store at a time: while a server holds it this fails at once with
    /// a sentence that says so, rather than waiting.
    pub fn open_existing(data_dir: &Path) -> Result<Self, StoreError> {
        let path = Self::path_in(data_dir);
        if !path.is_dir() {
            return Err(unavailable(format!(
                "there is no store at {}",
                path.display()
            )));
        }
        let db = sled::Config::new()
            .path(&path)
            .open()
            .map_err(|e| match e {
                e if is_lock_error(&e) => unavailable(format!(
                    "{} is in use by another process, most likely a running chat-server: sled \
                     lets one process open a store at a time. Stop the server first (what it \
                     stored stays on disk until it next starts without --keep-data), or run it \
                     with --store sqlite, which can be read while the server runs",
                    path.display()
                )),
                e => unavailable(format!("cannot open {}: {e}", path.display())),
            })?;
        check_layout(&db, Access::Read)?;
        Self::from_db(db, Some(open_disk_sync(&path)?), PendingLimits::DEFAULT)
    }

    /// The memberships `write` adds or changes, each as the value both trees hold: those added
    /// start at `notice_id`, those whose role changes keep their start. Read before the
    /// transaction, as the loop thread is the only writer.
    fn memberships_written(
        &self,
        write: &GroupWrite,
        notice_id: MessageId,
    ) -> Result<Vec<(Username, Vec<u8>)>, StoreError> {
        let mut changed = Vec::with_capacity(write.add.len() + write.set_roles.len());
        for (user, role) in &write.add {
            changed.push((user.clone(), encode_member(*role, notice_id)?));
        }
        for (user, role) in &write.set_roles {
            let Some(member) = self.member(&write.group, user)? else {
                return Err(corrupt("set role", format!("{user} is not a member")));
            };
            changed.push((user.clone(), encode_member(*role, member.since)?));
        }
        Ok(changed)
    }
}

/// The layout of the trees, kept under `LAYOUT_KEY` in the default tree. 2: messages live in
/// `conversations` and carry the sender's client message id; 3: `partners` and
/// `read_markers`; 4: a membership is a `StoredMember` (its role and where the member's view
/// starts), no longer the bare role name; 5: a message keeps its sender as a side of its
/// direct conversation (or a group member's name) and no recipient; 6: messages in chunks,
/// the pending ones in `log`, the next id under `NEXT_ID_KEY`. Stores of other layouts (the
/// first kept no version) are refused, not misread.
const LAYOUT_KEY: &[u8] = b"layout";
const LAYOUT_VERSION: u8 = 6;
/// Where the default tree keeps the id after the newest chunked message.
const NEXT_ID_KEY: &[u8] = b"next_id";

/// Whether an open may write (the server) or only read (the inspector).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    Read,
    Write,
}

fn check_layout(db: &sled::Db, access: Access) -> Result<(), StoreError> {
    let found = db.get(LAYOUT_KEY).map_err(unavailable)?;
    match found {
        Some(version) if version.as_ref() == [LAYOUT_VERSION] => Ok(()),
        // A new store holds only sled's default tree, and nothing in it: it gets the version
        // (durably, before anything else is written), unless this open only reads.
        None if db.tree_names().len() <= 1 && db.is_empty() => {
            if access == Access::Write {
                db.insert(LAYOUT_KEY, &[LAYOUT_VERSION])
                    .map_err(unavailable)?;
                db.flush().map_err(unavailable)?;
            }
            Ok(())
        }
        _ => Err(StoreError::Corrupt(
            "sled: this store was written by another version of chat-server, in a layout this \
             one does not read; start without --keep-data to wipe it"
                .into(),
        )),
    }
}

/// How long `open` waits for sled's directory lock. sled releases it only when its background
/// flusher lets go of the database, a moment after the last handle is dropped, so a reopen in
/// the same process can find it still held.
const LOCK_WAIT: Duration = Duration::from_secs(2);

fn open_disk_sync(sled_dir: &Path) -> Result<DiskSync, StoreError> {
    DiskSync::open(sled_dir).map_err(|e| {
        unavailable(format!(
            "cannot open {} to sync it: {e}",
            sled_dir.display()
        ))
    })
}

/// sled reports a held lock only in the text of an io::Error of kind Other.
fn is_lock_error(e: &sled::Error) -> bool {
    matches!(e, sled::Error::Io(e) if e.to_string().contains("could not acquire lock"))
}

fn open_locked(path: &Path) -> sled::Result<sled::Db> {
    let deadline = Instant::now() + LOCK_WAIT;
    loop {
        match sled::Config::new().path(path).open() {
            Err(e) if is_lock_error(&e) && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            result => return result,
        }
    }
}

pub(crate) fn timestamp(ms: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_millisecond(ms).map_err(|e| corrupt("timestamp", e))
}

fn decode_user(key: &[u8], value: &[u8]) -> Result<UserRecord, StoreError> {
    let name = std::str::from_utf8(key).map_err(|e| corrupt("user key", e))?;
    let stored: StoredUser = postcard::from_bytes(value).map_err(|e| corrupt("user", e))?;
    Ok(UserRecord {
        username: Username::parse(name).map_err(|e| corrupt("user name", e))?,
        password_hash: PasswordHash::new(stored.password_hash),
        registered_at: timestamp(stored.registered_at_ms)?,
    })
}

/// `a`, 0x00, `b`: no name holds 0x00, so one name's keys never mix with another's.
fn pair_key(a: &str, b: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(a.len() + 1 + b.len());
    key.extend_from_slice(a.as_bytes());
    key.push(0);
    key.extend_from_slice(b.as_bytes());
    key
}

/// `user`, 0x00, the conversation's key.
fn read_marker_key(user: &Username, conversation: &Conversation) -> Vec<u8> {
    let mut key = name_prefix(user.as_str());
    push_conversation_key(conversation, &mut key);
    key
}

/// `name` then 0x00: the prefix of every `pair_key(name, _)`.
fn name_prefix(name: &str) -> Vec<u8> {
    pair_key(name, "")
}

fn encode_member(role: Role, since: MessageId) -> Result<Vec<u8>, StoreError> {
    let stored = StoredMember {
        role: role.as_str().to_string(),
        since: since.get(),
    };
    postcard::to_stdvec(&stored).map_err(|e| corrupt("encode member", e))
}

/// A membership's role and where the member's view starts.
fn decode_member(value: &[u8]) -> Result<(Role, MessageId), StoreError> {
    let stored: StoredMember = postcard::from_bytes(value).map_err(|e| corrupt("member", e))?;
    let role = Role::parse(&stored.role).ok_or_else(|| corrupt("role", &stored.role))?;
    Ok((role, stored_id("member since", stored.since)?))
}

/// The name after the prefix of a pair key.
fn second_name(key: &[u8], prefix_bytes: usize) -> Result<&str, StoreError> {
    std::str::from_utf8(&key[prefix_bytes..]).map_err(|e| corrupt("name in key", e))
}

impl Inspect for SledStore {
    fn all_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        self.users
            .iter()
            .map(|entry| {
                let (key, value) = entry.map_err(unavailable)?;
                decode_user(&key, &value)
            })
            .collect()
    }

    /// One pass over each tree.
    fn counts(&self) -> Result<(usize, usize), StoreError> {
        let mut messages = self.pending.len();
        for entry in self.conversations.iter().values() {
            messages += chunk_entries(&entry.map_err(unavailable)?)?.len();
        }
        Ok((self.users.len(), messages))
    }

    fn all_messages(&self) -> Result<Vec<Message>, StoreError> {
        let mut messages = Vec::new();
        for entry in self.conversations.iter() {
            let (key, chunk) = entry.map_err(unavailable)?;
            let conversation = conversation_of_key(&key)?;
            for (id, value) in chunk_entries(&chunk)? {
                messages.push(decode_message(&conversation, id, value)?);
            }
        }
        for (conversation, message) in self.pending.all() {
            messages.push(decode_message(conversation, message.id, &message.value)?);
        }
        messages.sort_unstable_by_key(|message| message.id);
        Ok(messages)
    }

    fn all_groups(&self) -> Result<Vec<GroupRecord>, StoreError> {
        self.groups
            .iter()
            .map(|entry| {
                let (key, value) = entry.map_err(unavailable)?;
                let name = std::str::from_utf8(&key).map_err(|e| corrupt("group key", e))?;
                let stored: StoredGroup =
                    postcard::from_bytes(&value).map_err(|e| corrupt("group", e))?;
                Ok(GroupRecord {
                    name: GroupName::parse(name).map_err(|e| corrupt("group name", e))?,
                    created_at: timestamp(stored.created_at_ms)?,
                    first_message: stored_id("group's first message", stored.first_message)?,
                })
            })
            .collect()
    }
}

impl StoreReads for SledStore {
    fn find_user(&self, username: &Username) -> Result<Option<UserRecord>, StoreError> {
        let Some(value) = self.users.get(username.as_str()).map_err(unavailable)? else {
            return Ok(None);
        };
        let user = decode_user(username.as_str().as_bytes(), &value)?;
        self.known_names.remember(&user.username);
        Ok(Some(user))
    }

    fn user_exists(&self, username: &Username) -> Result<bool, StoreError> {
        // Every send asks this of its recipient: most are known already.
        if self.known_names.contains(username) {
            return Ok(true);
        }
        let exists = self
            .users
            .contains_key(username.as_str())
            .map_err(unavailable)?;
        if exists {
            self.known_names.remember(username);
        }
        Ok(exists)
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
        let prefix = name_prefix(user.as_str());
        self.partners
            .scan_prefix(&prefix)
            .map(|entry| {
                let (key, _) = entry.map_err(unavailable)?;
                let name = second_name(&key, prefix.len())?;
                Username::parse(name).map_err(|e| corrupt("partner", e))
            })
            .collect()
    }

    fn read_marker(
        &self,
        user: &Username,
        conversation: &Conversation,
    ) -> Result<Option<MessageId>, StoreError> {
        let key = read_marker_key(user, conversation);
        if let Some(up_to) = self.markers_unwritten.get(&key) {
            return Ok(Some(*up_to));
        }
        match self.read_markers.get(key).map_err(unavailable)? {
            None => Ok(None),
            // Before `MessageId` refused 0, marking read up to 0 stored a 0: nothing read.
            Some(value) => decode_u64(&value).map(MessageId::new),
        }
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

    fn find_group(&self, name: &GroupName) -> Result<Option<GroupRecord>, StoreError> {
        let Some(value) = self.groups.get(name.as_str()).map_err(unavailable)? else {
            return Ok(None);
        };
        let stored: StoredGroup = postcard::from_bytes(&value).map_err(|e| corrupt("group", e))?;
        Ok(Some(GroupRecord {
            name: name.clone(),
            created_at: timestamp(stored.created_at_ms)?,
            first_message: stored_id("group's first message", stored.first_message)?,
        }))
    }

    fn member(&self, group: &GroupName, user: &Username) -> Result<Option<Member>, StoreError> {
        let key = pair_key(group.as_str(), user.as_str());
        let Some(value) = self.members.get(key).map_err(unavailable)? else {
            return Ok(None);
        };
        let (role, since) = decode_member(&value)?;
        Ok(Some(Member {
            username: user.clone(),
            role,
            since,
        }))
    }

    fn members(&self, group: &GroupName) -> Result<Vec<Member>, StoreError> {
        let prefix = name_prefix(group.as_str());
        self.members
            .scan_prefix(&prefix)
            .map(|entry| {
                let (key, value) = entry.map_err(unavailable)?;
                let name = second_name(&key, prefix.len())?;
                let (role, since) = decode_member(&value)?;
                Ok(Member {
                    username: Username::parse(name).map_err(|e| corrupt("member", e))?,
                    role,
                    since,
                })
            })
            .collect()
    }

    fn groups_of(&self, user: &Username) -> Result<Vec<(GroupName, Role)>, StoreError> {
        let prefix = name_prefix(user.as_str());
        self.memberships
            .scan_prefix(&prefix)
            .map(|entry| {
                let (key, value) = entry.map_err(unavailable)?;
                let name = second_name(&key, prefix.len())?;
                let group = GroupName::parse(name).map_err(|e| corrupt("group", e))?;
                let (role, _since) = decode_member(&value)?;
                Ok((group, role))
            })
            .collect()
    }
}

impl Chunks for SledStore {
    fn chunks_back(
        &self,
        conversation: &Conversation,
        before: MessageId,
        each: &mut Visit,
    ) -> Result<(), StoreError> {
        let prefix = conversation_prefix(conversation);
        let upper = with_id(&prefix, before);
        for entry in self
            .conversations
            .range(prefix.as_slice()..upper.as_slice())
            .rev()
        {
            if each(&entry.map_err(unavailable)?.1)?.is_break() {
                break;
            }
        }
        Ok(())
    }

    fn chunks_forward(
        &self,
        conversation: &Conversation,
        from: MessageId,
        each: &mut Visit,
    ) -> Result<(), StoreError> {
        let prefix = conversation_prefix(conversation);
        let from_key = with_id(&prefix, from);
        // The chunk holding `from` starts at or before it.
        let start = match self
            .conversations
            .range(prefix.as_slice()..=from_key.as_slice())
            .next_back()
        {
            Some(entry) => entry.map_err(unavailable)?.0.to_vec(),
            None => from_key,
        };
        let upper = after_prefix(&prefix);
        for entry in self.conversations.range(start.as_slice()..upper.as_slice()) {
            if each(&entry.map_err(unavailable)?.1)? == ControlFlow::Break(()) {
                break;
            }
        }
        Ok(())
    }
}

impl SledStore {
    /// Writes what this commit added to the log, or, once enough waits, everything waiting as
    /// chunks. `Pending` lets go of them only once the commit succeeds (`commit`).
    fn write_pending(&mut self) -> Result<(), StoreError> {
        if let Some(entry) = self.pending.unlogged() {
            self.log
                .insert(entry.last_id.get().to_be_bytes(), entry.bytes.as_slice())
                .map_err(unavailable)?;
        }
        self.flush_pending()
    }

    /// Writes the read markers set since the last commit, after the log that holds what they
    /// cover.
    fn write_markers(&self) -> Result<(), StoreError> {
        for (key, up_to) in &self.markers_unwritten {
            self.read_markers
                .insert(key.as_slice(), &up_to.get().to_be_bytes())
                .map_err(unavailable)?;
        }
        Ok(())
    }

    /// Writes what is due out of memory as chunks, drops the log entries that then hold
    /// nothing pending and records the next id, all in one transaction.
    fn flush_pending(&mut self) -> Result<(), StoreError> {
        let Some(flush) = self.pending.flush() else {
            return Ok(());
        };
        let chunks = flush.chunks;
        let done = match flush.log_below {
            Some(below) => self.log.range(..below.get().to_be_bytes()),
            None => self.log.iter(),
        };
        let logged = done
            .keys()
            .collect::<Result<Vec<_>, _>>()
            .map_err(unavailable)?;
        let next_id = self.next_id.get().to_be_bytes();
        let meta: &sled::Tree = &self.db;
        (&self.conversations, &self.log, meta)
            .transaction(|(conversations, log, meta)| {
                for chunk in &chunks {
                    let prefix = conversation_prefix(&chunk.conversation);
                    conversations
                        .insert(with_id(&prefix, chunk.first_id), chunk.bytes.as_slice())?;
                }
                for key in &logged {
                    log.remove(key)?;
                }
                meta.insert(NEXT_ID_KEY, &next_id)?;
                Ok(())
            })
            .map_err(
                |e: sled::transaction::TransactionError<StoreError>| match e {
                    sled::transaction::TransactionError::Abort(e) => e,
                    sled::transaction::TransactionError::Storage(e) => unavailable(e),
                },
            )
    }
}

impl Store for SledStore {
    fn insert_user(&mut self, user: &UserRecord) -> Result<Inserted, StoreError> {
        let stored = StoredUser {
            password_hash: user.password_hash.as_str().to_string(),
            registered_at_ms: user.registered_at.as_millisecond(),
        };
        let value = postcard::to_stdvec(&stored).map_err(|e| corrupt("encode user", e))?;
        // Compare-and-swap from "absent" is the uniqueness check and the write in one step.
        let swapped = self
            .users
            .compare_and_swap(user.username.as_str(), None as Option<&[u8]>, Some(value))
            .map_err(unavailable)?;
        if swapped.is_err() {
            return Ok(Inserted::NameTaken);
        }
        self.known_names.remember(&user.username);
        Ok(Inserted::Yes)
    }

    fn append_message(&mut self, message: NewMessage) -> Result<Message, StoreError> {
        let id = self.next_id;
        let conversation = message.conversation();
        let value = encode_message(&message)?;
        if let Recipient::User(to) = &message.recipient {
            // Most sends are between people who talked before, often with messages held:
            // nothing to do, nothing read.
            if !self.pending.holds(&conversation) && !self.known_partners.contains(&conversation) {
                for (of, other) in [(&message.sender, to), (to, &message.sender)] {
                    let key = pair_key(of.as_str(), other.as_str());
                    if !self.partners.contains_key(&key).map_err(unavailable)? {
                        self.partners.insert(key, &[]).map_err(unavailable)?;
                    }
                }
                self.known_partners.insert(conversation.clone());
            }
        }
        // Logged by the next commit: one write a commit, not one a message.
        self.pending.push(conversation, id, value, true);
        self.next_id = id.next();
        Ok(message.with_id(id))
    }

    fn set_read_marker(
        &mut self,
        user: &Username,
        conversation: &Conversation,
        up_to: MessageId,
    ) -> Result<(), StoreError> {
        self.markers_unwritten
            .insert(read_marker_key(user, conversation), up_to);
        Ok(())
    }

    fn write_group(&mut self, write: GroupWrite) -> Result<Option<Message>, StoreError> {
        let group = write.group.as_str();
        let id = self.next_id;
        // The notice's log entry is written with the group's change, in its transaction.
        let notice = match &write.notice {
            Some(notice) => {
                let conversation = notice.conversation();
                let value = encode_message(notice)?;
                let mut logged = Vec::new();
                push_log_entry(&mut logged, &conversation, id, &value);
                Some((conversation, value, logged))
            }
            None => None,
        };
        let record = match write.create {
            Some(created_at) => Some(
                postcard::to_stdvec(&StoredGroup {
                    created_at_ms: created_at.as_millisecond(),
                    first_message: id.get(),
                })
                .map_err(|e| corrupt("encode group", e))?,
            ),
            None => None,
        };
        let changed = self.memberships_written(&write, id)?;
        // Ending removes every membership: read who they are before the transaction.
        let ending: Vec<Username> = if write.end {
            self.members(&write.group)?
                .into_iter()
                .map(|m| m.username)
                .collect()
        } else {
            Vec::new()
        };
        let trees = (&self.groups, &self.members, &self.memberships, &self.log);
        // All of it in one sled transaction: a crash or error part-way leaves none of it.
        trees
            .transaction(|(groups, members, memberships, log)| {
                if let Some(record) = &record {
                    if groups.get(group)?.is_some() {
                        return Err(ConflictableTransactionError::Abort(corrupt(
                            "create group",
                            "the name is taken",
                        )));
                    }
                    groups.insert(group, record.as_slice())?;
                }
                for (user, value) in &changed {
                    members.insert(pair_key(group, user.as_str()), value.as_slice())?;
                    memberships.insert(pair_key(user.as_str(), group), value.as_slice())?;
                }
                for user in write.remove.iter().chain(&ending) {
                    members.remove(pair_key(group, user.as_str()))?;
                    memberships.remove(pair_key(user.as_str(), group))?;
                }
                if write.end {
                    groups.remove(group)?;
                }
                if let Some((_, _, logged)) = &notice {
                    log.insert(&id.get().to_be_bytes(), logged.as_slice())?;
                }
                Ok(())
            })
            .map_err(|e| match e {
                sled::transaction::TransactionError::Abort(e) => e,
                sled::transaction::TransactionError::Storage(e) => unavailable(e),
            })?;
        let Some(((conversation, value, _), notice)) = notice.zip(write.notice) else {
            return Ok(None);
        };
        // Logged already, with the group's change.
        self.pending.push(conversation, id, value, false);
        self.next_id = id.next();
        Ok(Some(notice.with_id(id)))
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        let flushed = self
            .write_pending()
            .and_then(|()| self.write_markers())
            .and_then(|()| match &mut self.disk_sync {
                None => Ok(()),
                Some(disk_sync) => self
                    .db
                    .flush()
                    .map_err(unavailable)
                    .and_then(|_| disk_sync.sync().map_err(unavailable)),
            });
        self.markers_unwritten.clear();
        if flushed.is_err() {
            // What was written since the last flush may not be on disk.
            self.known_names.forget_all();
            self.pending.failed();
            return flushed;
        }
        self.pending.committed();
        Ok(())
    }
}

#[cfg(test)]
mod tests;
