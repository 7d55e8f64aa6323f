//! The inspector's view of a store (`chat-server inspect`, and the count a server prints when
//! it keeps its data): whole tables at once, which the rules never ask for.

use chat_domain::{GroupRecord, Message, StoreError, UserRecord};

/// Everything a store holds, for people to read. Each call reads the whole store, so the
/// server calls only `counts`, once, at start.
pub trait Inspect {
    /// Every user, in name order.
    fn all_users(&self) -> Result<Vec<UserRecord>, StoreError>;

    /// How many users and messages (notices included) the store holds.
    fn counts(&self) -> Result<(usize, usize), StoreError>;

    /// Every message, in id order.
    fn all_messages(&self) -> Result<Vec<Message>, StoreError>;

    /// Every group, in name order.
    fn all_groups(&self) -> Result<Vec<GroupRecord>, StoreError>;
}
