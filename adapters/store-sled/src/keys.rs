//! Keys of the `conversations` and `log` trees: a chunk's key is its conversation's key text,
//! 0x00 (which no key text holds, so one conversation's keys never mix with another's), then
//! its first message's id, 8 bytes big-endian, so a conversation's chunks sort by id; a log
//! entry's key is its first id alone.

use chat_domain::{Conversation, MessageId, StoreError};
use chat_store_common::push_conversation_key;

use crate::corrupt;

/// A message id in a key: 8 bytes, big-endian, so ids sort numerically.
const ID_BYTES: usize = 8;
/// Most keys fit this without growing: a direct conversation of two long names and an id.
const KEY_BYTES_USUAL: usize = 96;

/// The prefix of every chunk key of `conversation`.
pub(crate) fn conversation_prefix(conversation: &Conversation) -> Vec<u8> {
    let mut prefix = Vec::with_capacity(KEY_BYTES_USUAL);
    push_conversation_key(conversation, &mut prefix);
    prefix.push(0);
    prefix
}

/// `prefix` followed by `id`: where a chunk starting at `id` is, or a bound of a range.
pub(crate) fn with_id(prefix: &[u8], id: MessageId) -> Vec<u8> {
    let mut key = Vec::with_capacity(prefix.len() + ID_BYTES);
    key.extend_from_slice(prefix);
    key.extend_from_slice(&id.get().to_be_bytes());
    key
}

/// The bound above every chunk key of the conversation `prefix` starts: its 0x00 raised to
/// 0x01.
pub(crate) fn after_prefix(prefix: &[u8]) -> Vec<u8> {
    let mut bound = prefix.to_vec();
    if let Some(last) = bound.last_mut() {
        *last = 1;
    }
    bound
}

/// The conversation a whole chunk key belongs to, for the inspector.
pub(crate) fn conversation_of_key(key: &[u8]) -> Result<Conversation, StoreError> {
    let text = key
        .len()
        .checked_sub(ID_BYTES + 1)
        .and_then(|end| std::str::from_utf8(&key[..end]).ok())
        .ok_or_else(|| corrupt("chunk key", "not a key and an id"))?;
    chat_store_common::conversation_from_key(text).ok_or_else(|| corrupt("chunk key", text))
}

/// 8 bytes, big-endian.
pub(crate) fn decode_u64(bytes: &[u8]) -> Result<u64, StoreError> {
    let bytes: [u8; ID_BYTES] = bytes
        .try_into()
        .map_err(|_| corrupt("message id", "not 8 bytes"))?;
    Ok(u64::from_be_bytes(bytes))
}
