//! The ports: what the rules need from the outside world, as traits that adapters implement.

use std::fmt;
use std::ops::Deref;

use jiff::Timestamp;

use crate::error::ErrorCode;
use crate::group::{GroupName, GroupRecord, Member, Role};
use crate::message::{ClientMessageId, Conversation, Message, MessageId, NewMessage};
use crate::password::{Password, PasswordHash};
use crate::username::Username;

/// A registered user as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub username: Username,
    pub password_hash: PasswordHash,
    pub registered_at: Timestamp,
}

/// What `Store::insert_user` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    Yes,
    /// The name was taken already; nothing was written.
    NameTaken,
}

/// What a store does with the data it finds when it is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retention {
    /// Erase everything at open, as the user asked for by default. Nothing outlives the
    /// process, so `commit` need not wait for the disk.
    Wipe,
    /// Keep what is there, and make `commit` durable: once it returns, every write before it
    /// survives a crash of the process (`kill -9`).
    Keep,
}

/// What may be read from the store: the storage port without its writes (`Store`).
///
/// Anything that derefs to a store reads through it (a `Box<dyn Store>`, a reference, a store
/// that wraps another to change its writes), so such a wrapper implements only `Store`'s writes.
pub trait StoreReads {
    fn find_user(&self, username: &Username) -> Result<Option<UserRecord>, StoreError>;

    /// Whether `username` is registered: what every send asks of its recipient, so a store
    /// may answer it from memory, without reading (or copying) the record.
    fn user_exists(&self, username: &Username) -> Result<bool, StoreError>;

    /// The message `sender` sent with `client_message_id`, if it is among the newest `window`
    /// of `conversation`. Costs O(window).
    fn find_resent(
        &self,
        conversation: &Conversation,
        sender: &Username,
        client_message_id: ClientMessageId,
        window: usize,
    ) -> Result<Option<Message>, StoreError>;

    /// Up to `limit` messages of `conversation` with ids from `since` and below `before` (no
    /// upper bound, if `None`): the newest such, returned oldest first. Costs O(limit), not
    /// O(messages stored).
    fn history(
        &self,
        conversation: &Conversation,
        since: MessageId,
        before: Option<MessageId>,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError>;

    /// The messages of `conversation` with ids above `after` (from its first, if `None`),
    /// oldest first, at most `limit`. Costs O(limit).
    fn after(
        &self,
        conversation: &Conversation,
        after: Option<MessageId>,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError>;

    /// How many messages of `conversation` above `after` (from its first, if `None`) someone
    /// other than `reader` sent, counting up to `cap` and looking at no more than `scan_max`
    /// messages (the reader's own among them). Reads no more of each message than its sender
    /// where the store can.
    fn count_from_others(
        &self,
        conversation: &Conversation,
        after: Option<MessageId>,
        reader: &Username,
        cap: usize,
        scan_max: usize,
    ) -> Result<usize, StoreError>;

    /// Everyone `user` has a direct conversation with (a message sent either way; themself,
    /// for notes), in name order. `append_message` keeps this. Costs O(their partners).
    fn partners(&self, user: &Username) -> Result<Vec<Username>, StoreError>;

    /// The newest message of `conversation` that `user` has read, on any device; `None` if
    /// they have read none.
    fn read_marker(
        &self,
        user: &Username,
        conversation: &Conversation,
    ) -> Result<Option<MessageId>, StoreError>;

    /// The group named `name`, if there is one.
    fn find_group(&self, name: &GroupName) -> Result<Option<GroupRecord>, StoreError>;

    /// `user` as a member of `group` (their role, and where their view of it starts), or `None`
    /// if not a member.
    fn member(&self, group: &GroupName, user: &Username) -> Result<Option<Member>, StoreError>;

    /// Every member of `group`, in name order. Costs O(members).
    fn members(&self, group: &GroupName) -> Result<Vec<Member>, StoreError>;

    /// Every group `user` belongs to, in name order, with their role. Costs O(their groups).
    fn groups_of(&self, user: &Username) -> Result<Vec<(GroupName, Role)>, StoreError>;
}

/// The storage port: its reads (`StoreReads`) and its writes. One thread owns the store and
/// makes every call, so writes are serialised by construction and no method needs to be
/// thread-safe.
///
/// Writes become visible to reads at once, and durable (under `Retention::Keep`) at the next
/// `commit`. The server appends everything one loop turn accepted, commits once, and only then
/// acknowledges (group commit).
pub trait Store: StoreReads {
    /// Adds a user unless the name is taken. Names are lowercase by construction, so this is
    /// unique case-insensitively.
    fn insert_user(&mut self, user: &UserRecord) -> Result<Inserted, StoreError>;

    /// Numbers and stores a message. Ids strictly increase, across reopenings too. A direct
    /// message also makes its two people each other's partners.
    fn append_message(&mut self, message: NewMessage) -> Result<Message, StoreError>;

    /// Sets `user`'s read marker of `conversation` (the rules never move it back).
    fn set_read_marker(
        &mut self,
        user: &Username,
        conversation: &Conversation,
        up_to: MessageId,
    ) -> Result<(), StoreError>;

    /// Applies everything one group command changes, all of it or none of it: a crash or an
    /// error part-way leaves no half-made group, no membership without its notice. Returns the
    /// notice as stored, if there was one. Costs O(members changed), however long the history.
    fn write_group(&mut self, write: GroupWrite) -> Result<Option<Message>, StoreError>;

    /// Makes every write so far durable together (one transaction, one flush).
    fn commit(&mut self) -> Result<(), StoreError>;
}

/// Reads through whatever derefs to a store: `Box<dyn Store>`, `&S`, or a wrapper.
impl<T> StoreReads for T
where
    T: Deref,
    T::Target: StoreReads,
{
    fn find_user(&self, username: &Username) -> Result<Option<UserRecord>, StoreError> {
        (**self).find_user(username)
    }

    fn user_exists(&self, username: &Username) -> Result<bool, StoreError> {
        (**self).user_exists(username)
    }

    fn find_resent(
        &self,
        conversation: &Conversation,
        sender: &Username,
        client_message_id: ClientMessageId,
        window: usize,
    ) -> Result<Option<Message>, StoreError> {
        (**self).find_resent(conversation, sender, client_message_id, window)
    }

    fn history(
        &self,
        conversation: &Conversation,
        since: MessageId,
        before: Option<MessageId>,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        (**self).history(conversation, since, before, limit)
    }

    fn after(
        &self,
        conversation: &Conversation,
        after: Option<MessageId>,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        (**self).after(conversation, after, limit)
    }

    fn count_from_others(
        &self,
        conversation: &Conversation,
        after: Option<MessageId>,
        reader: &Username,
        cap: usize,
        scan_max: usize,
    ) -> Result<usize, StoreError> {
        (**self).count_from_others(conversation, after, reader, cap, scan_max)
    }

    fn partners(&self, user: &Username) -> Result<Vec<Username>, StoreError> {
        (**self).partners(user)
    }

    fn read_marker(
        &self,
        user: &Username,
        conversation: &Conversation,
    ) -> Result<Option<MessageId>, StoreError> {
        (**self).read_marker(user, conversation)
    }

    fn find_group(&self, name: &GroupName) -> Result<Option<GroupRecord>, StoreError> {
        (**self).find_group(name)
    }

    fn member(&self, group: &GroupName, user: &Username) -> Result<Option<Member>, StoreError> {
        (**self).member(group, user)
    }

    fn members(&self, group: &GroupName) -> Result<Vec<Member>, StoreError> {
        (**self).members(group)
    }

    fn groups_of(&self, user: &Username) -> Result<Vec<(GroupName, Role)>, StoreError> {
        (**self).groups_of(user)
    }
}

/// A boxed store is a store: how the application holds the adapter it chose at start.
impl<S: Store + ?Sized> Store for Box<S> {
    fn insert_user(&mut self, user: &UserRecord) -> Result<Inserted, StoreError> {
        (**self).insert_user(user)
    }

    fn append_message(&mut self, message: NewMessage) -> Result<Message, StoreError> {
        (**self).append_message(message)
    }

    fn set_read_marker(
        &mut self,
        user: &Username,
        conversation: &Conversation,
        up_to: MessageId,
    ) -> Result<(), StoreError> {
        (**self).set_read_marker(user, conversation, up_to)
    }

    fn write_group(&mut self, write: GroupWrite) -> Result<Option<Message>, StoreError> {
        (**self).write_group(write)
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        (**self).commit()
    }
}

/// What one group command writes. Creating requires no group of that name; the group's record
/// then starts at the notice's id. Ending removes the record and every membership; the history
/// stays stored but no later group of the name reads it (its members start later).
///
/// "This write's notice" below is the id the notice is stored under, or, in a write without
/// one, the id it would have had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupWrite {
    pub group: GroupName,
    /// Create the group at this time.
    pub create: Option<Timestamp>,
    /// People added (none of them a member), with their role: each one's view of the group
    /// starts at this write's notice.
    pub add: Vec<(Username, Role)>,
    /// Members whose role changes. Where their view starts stays; a name that is not a member
    /// is an error, and nothing of the write is applied.
    pub set_roles: Vec<(Username, Role)>,
    /// Members taken out.
    pub remove: Vec<Username>,
    /// End the group.
    pub end: bool,
    /// The notice telling of the change, numbered and stored with it.
    pub notice: Option<NewMessage>,
}

impl GroupWrite {
    pub fn new(group: GroupName) -> Self {
        GroupWrite {
            group,
            create: None,
            add: Vec::new(),
            set_roles: Vec::new(),
            remove: Vec::new(),
            end: false,
            notice: None,
        }
    }
}

/// Storage failed. The detail is for the operator's log; clients get the code and sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// The storage engine reported an error (disk full, I/O error, lock held...).
    Unavailable(String),
    /// Stored data could not be read back as a valid value.
    Corrupt(String),
}

impl StoreError {
    pub fn detail(&self) -> &str {
        match self {
            StoreError::Unavailable(detail) | StoreError::Corrupt(detail) => detail,
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("The server cannot read or write its data right now; please try again later.")
    }
}

impl ErrorCode for StoreError {
    fn code(&self) -> &'static str {
        "storage_unavailable"
    }
}

impl std::error::Error for StoreError {}

/// The password-hashing port. Hashing is deliberately slow (tens of milliseconds), so the
/// server calls this from worker threads, never from its loop: hence `Send + Sync`.
pub trait PasswordHasher: Send + Sync {
    fn hash(&self, password: &Password) -> Result<PasswordHash, HashError>;

    /// Ok(true) if `password` matches `hash`; Ok(false) if it does not.
    fn verify(&self, password: &Password, hash: &PasswordHash) -> Result<bool, HashError>;
}

/// Hashing failed: a malformed stored hash, or the hasher could not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashError(pub String);

impl fmt::Display for HashError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("The server could not check the password; please try again later.")
    }
}

impl ErrorCode for HashError {
    fn code(&self) -> &'static str {
        "internal_error"
    }
}

impl std::error::Error for HashError {}
