//! Who may read what, stated once: anyone reads their direct conversations with people who
//! exist (and their notes to themself); only a member reads a group, from the notice that
//! added them, so someone removed stops at once and someone added sees nothing from before.

use std::fmt;

use crate::error::ErrorCode;
use crate::group::GroupName;
use crate::message::{MessageId, Recipient};
use crate::ports::{Store, StoreError};
use crate::username::Username;

use super::groups::{GroupError, member_in};

/// Why `reader` may not read a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    UnknownUser(Username),
    UnknownGroup(GroupName),
    NotAMember(GroupName),
    Store(StoreError),
}

impl From<StoreError> for ReadError {
    fn from(e: StoreError) -> Self {
        ReadError::Store(e)
    }
}

/// The id `reader`'s view of the conversation with `with` starts at.
pub fn readable_from(
    store: &impl Store,
    reader: &Username,
    with: &Recipient,
) -> Result<MessageId, ReadError> {
    match with {
        Recipient::User(other) => {
            if other != reader && !store.user_exists(other)? {
                return Err(ReadError::UnknownUser(other.clone()));
            }
            Ok(MessageId::FIRST)
        }
        Recipient::Group(group) => {
            let member = member_in(store, reader, group).map_err(|e| match e {
                GroupError::Store(e) => ReadError::Store(e),
                GroupError::NotAMember(_) => ReadError::NotAMember(group.clone()),
                _ => ReadError::UnknownGroup(group.clone()),
            })?;
            Ok(member.since)
        }
    }
}

/// The sentences several errors share, each written once.
pub(crate) fn unknown_user(f: &mut fmt::Formatter<'_>, name: &Username) -> fmt::Result {
    write!(f, "There is no user named {name}.")
}

pub(crate) fn unknown_group(f: &mut fmt::Formatter<'_>, group: &GroupName) -> fmt::Result {
    write!(f, "There is no group named {group}.")
}

pub(crate) fn not_a_member(f: &mut fmt::Formatter<'_>, group: &GroupName) -> fmt::Result {
    write!(f, "You are not a member of {group}.")
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::UnknownUser(name) => unknown_user(f, name),
            ReadError::UnknownGroup(group) => unknown_group(f, group),
            ReadError::NotAMember(group) => not_a_member(f, group),
            ReadError::Store(e) => e.fmt(f),
        }
    }
}

impl ErrorCode for ReadError {
    fn code(&self) -> &'static str {
        match self {
            ReadError::UnknownUser(_) => "unknown_user",
            ReadError::UnknownGroup(_) => "unknown_group",
            ReadError::NotAMember(_) => "not_a_member",
            ReadError::Store(e) => e.code(),
        }
    }
}
