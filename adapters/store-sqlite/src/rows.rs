//! Values between SQLite's columns and the domain's types: ids, times, names, and rows read
//! back as users.

use chat_domain::{GroupName, MessageId, PasswordHash, Role, StoreError, UserRecord, Username};
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

pub(crate) fn id_to_sql(id: MessageId) -> i64 {
    // Ids above i64::MAX would take 292 years at a billion messages a second.
    i64::try_from(id.get()).unwrap_or(i64::MAX)
}

pub(crate) fn timestamp(ms: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_millisecond(ms).map_err(|e| corrupt("timestamp", e))
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
