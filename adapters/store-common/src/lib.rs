//! What both storage adapters share and the domain need not know: a conversation's key, a
//! message as stored, the chunks and log entries messages are stored in, the messages waiting
//! in memory for their chunk and the reads over both, the names of users a store remembers,
//! and the inspector's view of a whole store.

mod chunk;
mod content;
mod conversation_reads;
mod inspect;
mod key;
mod known_names;
mod pending;
#[cfg(test)]
mod senders_for_tests;
mod stored_message;

pub use chunk::{chunk_entries, log_entries, push_chunk_entry, push_log_entry};
pub use content::{StoredContentError, content_from_stored, stored_content};
pub use conversation_reads::{
    Chunks, Visit, after, count_from_others, find_resent, history, newest_chunked,
};
pub use inspect::Inspect;
pub use key::{
    conversation_from_key, conversation_key, message_conversation_key, push_conversation_key,
    push_message_conversation_key, recipient_of,
};
pub use known_names::{KNOWN_NAMES_MAX, KnownNames};
pub use pending::{Chunk, Flush, LogEntry, Pending, PendingLimits, PendingMessage};
pub use stored_message::{decode_message, encode_message, is_numbered, is_sent_by, stored_id};
