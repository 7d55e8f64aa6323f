//! The pure core of the chat: valid-by-construction types, the rules, the command parser,
//! errors with stable codes, and the ports (traits) that adapters implement.
//!
//! Nothing here does I/O, reads a clock, spawns a thread or knows about sockets or storage
//! engines: time comes in as an argument, and everything slow or external sits behind a port.

pub mod body;
pub mod bounded;
pub mod command;
pub mod error;
pub mod group;
pub mod limits;
pub mod message;
pub mod password;
pub mod ports;
pub mod rate;
pub mod recent_sends;
pub mod rules;
pub mod username;

pub use body::{BodyError, MessageBody};
pub use command::{Command, CommandError};
pub use error::ErrorCode;
pub use group::{GroupName, GroupNameError, GroupRecord, Member, Role};
pub use message::{
    ClientMessageId, Content, Conversation, ConversationView, Message, MessageId, NewMessage,
    Notice, Recipient,
};
pub use password::{Password, PasswordError, PasswordHash};
pub use ports::{
    GroupWrite, HashError, Inserted, PasswordHasher, Retention, Store, StoreError, StoreReads,
    UserRecord,
};
pub use username::{Username, UsernameError};

#[cfg(test)]
pub(crate) mod memory_store;
