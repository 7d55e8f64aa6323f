//! `--store sled|sqlite`: picks a storage adapter at run time behind the one `Store` port.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use chat_domain::{
    ClientMessageId, Conversation, GroupName, GroupRecord, GroupWrite, Inserted, Member, Message,
    MessageId, NewMessage, Retention, Role, Store, StoreError, UserRecord, Username,
};
use chat_store_sled::SledStore;
use chat_store_sqlite::SqliteStore;

/// Which storage adapter to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StoreKind {
    #[default]
    Sled,
    Sqlite,
}

impl FromStr for StoreKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sled" => Ok(StoreKind::Sled),
            "sqlite" => Ok(StoreKind::Sqlite),
            other => Err(format!("unknown store {other:?}: choose sled or sqlite")),
        }
    }
}

impl fmt::Display for StoreKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StoreKind::Sled => "sled",
            StoreKind::Sqlite => "sqlite",
        })
    }
}

/// One of the storage adapters, dispatched statically.
pub enum AnyStore {
    Sled(SledStore),
    Sqlite(SqliteStore),
}

impl AnyStore {
    pub fn open(
        kind: StoreKind,
        data_dir: &Path,
        retention: Retention,
    ) -> Result<Self, StoreError> {
        Ok(match kind {
            StoreKind::Sled => AnyStore::Sled(SledStore::open(data_dir, retention)?),
            StoreKind::Sqlite => AnyStore::Sqlite(SqliteStore::open(data_dir, retention)?),
        })
    }
}

/// Forwards a `Store` call to whichever adapter is inside.
macro_rules! forward {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            AnyStore::Sled($store) => $call,
            AnyStore::Sqlite($store) => $call,
        }
    };
}

impl AnyStore {
    /// Opens an existing store to read it, for the inspector: nothing is created or wiped.
    pub fn open_for_reading(kind: StoreKind, data_dir: &Path) -> Result<Self, StoreError> {
        Ok(match kind {
            StoreKind::Sled => AnyStore::Sled(SledStore::open_existing(data_dir)?),
            StoreKind::Sqlite => AnyStore::Sqlite(SqliteStore::open_read_only(data_dir)?),
        })
    }

    /// Every user, in name order.
    pub fn all_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        forward!(self, s => s.all_users())
    }

    /// How many users and messages the store holds.
    pub fn counts(&self) -> Result<(usize, usize), StoreError> {
        forward!(self, s => s.counts())
    }

    /// Every message, in id order.
    pub fn all_messages(&self) -> Result<Vec<Message>, StoreError> {
        forward!(self, s => s.all_messages())
    }

    /// Every group, in name order.
    pub fn all_groups(&self) -> Result<Vec<GroupRecord>, StoreError> {
        forward!(self, s => s.all_groups())
    }
}

impl Store for AnyStore {
    fn find_user(&self, username: &Username) -> Result<Option<UserRecord>, StoreError> {
        forward!(self, s => s.find_user(username))
    }

    fn insert_user(&mut self, user: &UserRecord) -> Result<Inserted, StoreError> {
        forward!(self, s => s.insert_user(user))
    }

    fn append_message(&mut self, message: NewMessage) -> Result<Message, StoreError> {
        forward!(self, s => s.append_message(message))
    }

    fn find_resent(
        &self,
        conversation: &Conversation,
        sender: &Username,
        client_message_id: ClientMessageId,
        window: usize,
    ) -> Result<Option<Message>, StoreError> {
        forward!(self, s => s.find_resent(conversation, sender, client_message_id, window))
    }

    fn after(
        &self,
        conversation: &Conversation,
        after: MessageId,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        forward!(self, s => s.after(conversation, after, limit))
    }

    fn count_from_others(
        &self,
        conversation: &Conversation,
        after: MessageId,
        reader: &Username,
        cap: usize,
        scan_max: usize,
    ) -> Result<usize, StoreError> {
        forward!(self, s => s.count_from_others(conversation, after, reader, cap, scan_max))
    }

    fn partners(&self, user: &Username) -> Result<Vec<Username>, StoreError> {
        forward!(self, s => s.partners(user))
    }

    fn read_marker(
        &self,
        user: &Username,
        conversation: &Conversation,
    ) -> Result<Option<MessageId>, StoreError> {
        forward!(self, s => s.read_marker(user, conversation))
    }

    fn set_read_marker(
        &mut self,
        user: &Username,
        conversation: &Conversation,
        up_to: MessageId,
    ) -> Result<(), StoreError> {
        forward!(self, s => s.set_read_marker(user, conversation, up_to))
    }

    fn history(
        &self,
        conversation: &Conversation,
        since: MessageId,
        before: Option<MessageId>,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        forward!(self, s => s.history(conversation, since, before, limit))
    }

    fn find_group(&self, name: &GroupName) -> Result<Option<GroupRecord>, StoreError> {
        forward!(self, s => s.find_group(name))
    }

    fn member(&self, group: &GroupName, user: &Username) -> Result<Option<Member>, StoreError> {
        forward!(self, s => s.member(group, user))
    }

    fn write_group(&mut self, write: GroupWrite) -> Result<Option<Message>, StoreError> {
        forward!(self, s => s.write_group(write))
    }

    fn members(&self, group: &GroupName) -> Result<Vec<Member>, StoreError> {
        forward!(self, s => s.members(group))
    }

    fn groups_of(&self, user: &Username) -> Result<Vec<(GroupName, Role)>, StoreError> {
        forward!(self, s => s.groups_of(user))
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        forward!(self, s => s.commit())
    }
}
