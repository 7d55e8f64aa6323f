//! What both storage adapters share and the domain need not know: a conversation's key, a
//! message's content as stored, the names of users a store remembers, and the inspector's view of a
//! whole store.

mod content;
mod inspect;
mod key;
mod known_names;

pub use content::{StoredContentError, content_from_stored, stored_content};
pub use inspect::Inspect;
pub use key::{
    conversation_from_key, conversation_key, message_conversation_key, push_conversation_key,
    push_message_conversation_key, recipient_of,
};
pub use known_names::{KNOWN_NAMES_MAX, KnownNames};
