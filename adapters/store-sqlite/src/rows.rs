//! Values between SQLite's columns and the domain's types: ids, times, names, and rows read
//! back as users and messages.

use chat_domain::{
    ClientMessageId, Conversation, GroupName, Message, MessageId, PasswordHash, Role, StoreError,
    UserRecord, Username,
};
use chat_store_common::{content_from_stored, conversation_from_key, recipient_of};
use jiff::Timestamp;
use rusqlite::Row;

use crate::corrupt;

/// A stored id: 0 and negatives are no message's id, so the data is damaged.
pub(crate) fn id_from_sql(id: i64) -> Result<MessageId, StoreError> {
    u64::try_from(id)
        .ok()
        .and_then(MessageId::new)
        .ok_or_else(|| corrupt("message id", format!("{id}, which is no message's id")))
}

/// A read marker as stored. Before `MessageId` refused 0, marking read up to 0 stored a 0:
/// nothing read.
pub(crate) fn marker_from_sql(up_to: i64) -> Result<Option<MessageId>, StoreError> {
    match up_to {
        0 => Ok(None),
        id => id_from_sql(id).map(Some),
    }
}

/// The bound of a read "after" `after`: 0, below every id, after nothing.
pub(crate) fn after_to_sql(after: Option<MessageId>) -> i64 {
    after.map_or(0, id_to_sql)
}

pub(crate) fn id_to_sql(id: MessageId) -> i64 {
    // Ids above i64::MAX would take 292 years at a billion messages a second.
    i64::try_from(id.get()).unwrap_or(i64::MAX)
}

/// A count or limit as SQLite takes it.
pub(crate) fn count_to_sql(count: usize) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

pub(crate) fn timestamp(ms: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_millisecond(ms).map_err(|e| corrupt("timestamp", e))
}

/// SQLite integers are signed: the id's bits, as an i64 (ids above 2^63 come back negative,
/// and read back the same).
pub(crate) fn client_id_to_sql(id: ClientMessageId) -> i64 {
    i64::from_ne_bytes(id.get().to_ne_bytes())
}

pub(crate) fn role_from_sql(text: &str) -> Result<Role, StoreError> {
    Role::parse(text).ok_or_else(|| corrupt("role", text))
}

pub(crate) fn group_from_sql(text: &str) -> Result<GroupName, StoreError> {
    GroupName::parse(text).map_err(|e| corrupt("group name", e))
}

pub(crate) fn name_from_sql(what: &str, text: &str) -> Result<Username, StoreError> {
    Username::parse(text).map_err(|e| corrupt(what, e))
}

/// Row readers return a nested Result: the outer one is SQLite's, the inner one says whether
/// the stored values are still valid domain values.
pub(crate) fn read_user(row: &Row<'_>) -> rusqlite::Result<Result<UserRecord, StoreError>> {
    let name: String = row.get(0)?;
    let hash: String = row.get(1)?;
    let registered_at_ms: i64 = row.get(2)?;
    Ok((|| {
        Ok(UserRecord {
            username: name_from_sql("user name", &name)?,
            password_hash: PasswordHash::new(hash),
            registered_at: timestamp(registered_at_ms)?,
        })
    })())
}

/// A row of the message columns (id, sender, body, sent_at_ms) of `conversation` as its
/// message.
pub(crate) fn read_message(
    row: &Row<'_>,
    conversation: &Conversation,
) -> rusqlite::Result<Result<Message, StoreError>> {
    read_message_from(row, 0, conversation)
}

/// A row of the conversation's key then the message columns, for the inspector.
pub(crate) fn read_any_message(row: &Row<'_>) -> rusqlite::Result<Result<Message, StoreError>> {
    let key: String = row.get(0)?;
    match conversation_from_key(&key) {
        Some(conversation) => read_message_from(row, 1, &conversation),
        None => Ok(Err(corrupt("conversation", key))),
    }
}

/// The message whose columns start at column `first`.
fn read_message_from(
    row: &Row<'_>,
    first: usize,
    conversation: &Conversation,
) -> rusqlite::Result<Result<Message, StoreError>> {
    let id: i64 = row.get(first)?;
    let sender: String = row.get(first + 1)?;
    let body: String = row.get(first + 2)?;
    let sent_at_ms: i64 = row.get(first + 3)?;
    Ok((|| {
        let sender = name_from_sql("sender", &sender)?;
        let recipient = recipient_of(conversation, &sender)
            .ok_or_else(|| corrupt("sender", format!("{sender} is not in the conversation")))?;
        Ok(Message {
            id: id_from_sql(id)?,
            sender,
            recipient,
            content: content_from_stored(body).map_err(|e| corrupt("content", e))?,
            sent_at: timestamp(sent_at_ms)?,
        })
    })())
}
