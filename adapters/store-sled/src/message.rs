//! A message as `conversations` keeps it. The key says the conversation and the id; the value
//! says only what the key does not: who of the conversation sent it (a side of a direct
//! conversation, a name in a group's), its content, when, and the sender's number for it.

use std::borrow::Cow;

use chat_domain::{
    ClientMessageId, Conversation, ConversationView, Message, MessageId, NewMessage, Recipient,
    StoreError, Username,
};
use chat_store_common::{
    content_from_stored, push_conversation_key, push_message_conversation_key, recipient_of,
    stored_content,
};
use serde::{Deserialize, Serialize};

use crate::{corrupt, timestamp};

/// Who sent a message, given its conversation. Variants are only appended: the position is
/// the tag postcard stores.
#[derive(Serialize, Deserialize)]
enum StoredSender<'a> {
    /// The first of a direct conversation's two people in name order (both, in notes to self).
    Low,
    /// The second.
    High,
    /// A group's member, by name.
    Named(&'a str),
}

#[derive(Serialize, Deserialize)]
struct StoredMessage<'a> {
    #[serde(borrow)]
    sender: StoredSender<'a>,
    /// `stored_content`: the text, or a notice.
    #[serde(borrow)]
    body: Cow<'a, str>,
    sent_at_ms: i64,
    /// The sender's number for it, to recognise a resend; none for notices.
    client_message_id: Option<u64>,
}

/// The first field of a `StoredMessage`, decoded without the rest.
#[derive(Deserialize)]
struct SenderOnly<'a> {
    #[serde(borrow)]
    sender: StoredSender<'a>,
}

/// A message as its one write to `conversations`.
pub(crate) struct EncodedMessage {
    pub(crate) key: Vec<u8>,
    pub(crate) value: Vec<u8>,
}

impl EncodedMessage {
    /// The key without its id: the conversation's prefix.
    pub(crate) fn conversation_prefix(&self) -> &[u8] {
        &self.key[..self.key.len() - ID_BYTES]
    }
}

/// A message id in a key: 8 bytes, big-endian, so ids sort numerically.
const ID_BYTES: usize = 8;
/// Most keys and values fit this without growing: a direct conversation of two long names, or
/// a short text.
const ENCODED_BYTES_USUAL: usize = 96;

/// The conversation's key prefix: its text key then 0x00, which no key text contains, so one
/// conversation's prefix is never a prefix of another's.
pub(crate) fn conversation_prefix(conversation: &Conversation) -> Vec<u8> {
    let mut prefix = Vec::with_capacity(ENCODED_BYTES_USUAL);
    push_conversation_key(conversation, &mut prefix);
    prefix.push(0);
    prefix
}

pub(crate) fn encode_message(
    id: MessageId,
    message: &NewMessage,
) -> Result<EncodedMessage, StoreError> {
    let mut key = Vec::with_capacity(ENCODED_BYTES_USUAL);
    push_message_conversation_key(&message.sender, &message.recipient, &mut key);
    key.push(0);
    key.extend_from_slice(&id.get().to_be_bytes());
    let sender = match &message.recipient {
        // The same order as `Conversation::direct`.
        Recipient::User(to) if message.sender <= *to => StoredSender::Low,
        Recipient::User(_) => StoredSender::High,
        Recipient::Group(_) => StoredSender::Named(message.sender.as_str()),
    };
    let stored = StoredMessage {
        sender,
        body: stored_content(&message.content),
        sent_at_ms: message.sent_at.as_millisecond(),
        client_message_id: message.client_message_id.map(ClientMessageId::get),
    };
    let value = Vec::with_capacity(ENCODED_BYTES_USUAL);
    let value = postcard::to_extend(&stored, value).map_err(|e| corrupt("encode message", e))?;
    Ok(EncodedMessage { key, value })
}

/// The message stored under id `id` of `conversation`.
pub(crate) fn decode_message(
    conversation: &Conversation,
    id: MessageId,
    value: &[u8],
) -> Result<Message, StoreError> {
    let stored: StoredMessage = postcard::from_bytes(value).map_err(|e| corrupt("message", e))?;
    let sender = sender_in(conversation, &stored.sender)?;
    let recipient = recipient_of(conversation, &sender)
        .ok_or_else(|| corrupt("sender", format!("{sender} is not in the conversation")))?;
    Ok(Message {
        id,
        sender,
        recipient,
        content: content_from_stored(stored.body.into_owned())
            .map_err(|e| corrupt("content", e))?,
        sent_at: timestamp(stored.sent_at_ms)?,
    })
}

/// Whether the message in `value` was sent by `user`, reading no more than its sender.
pub(crate) fn is_sent_by(
    conversation: &Conversation,
    value: &[u8],
    user: &Username,
) -> Result<bool, StoreError> {
    let stored: SenderOnly = postcard::from_bytes(value).map_err(|e| corrupt("message", e))?;
    names(conversation, &stored.sender, user)
}

/// Whether the message in `value` is `sender`'s numbered `client_message_id`.
pub(crate) fn is_numbered(
    conversation: &Conversation,
    value: &[u8],
    sender: &Username,
    client_message_id: ClientMessageId,
) -> Result<bool, StoreError> {
    let stored: StoredMessage = postcard::from_bytes(value).map_err(|e| corrupt("message", e))?;
    if stored.client_message_id != Some(client_message_id.get()) {
        return Ok(false);
    }
    names(conversation, &stored.sender, sender)
}

/// Whether `sender` in `conversation` is `user`, without building a name.
fn names(
    conversation: &Conversation,
    sender: &StoredSender,
    user: &Username,
) -> Result<bool, StoreError> {
    Ok(match (sender, conversation.view()) {
        (StoredSender::Low, ConversationView::Direct { low, .. }) => low == user,
        (StoredSender::High, ConversationView::Direct { high, .. }) => high == user,
        (StoredSender::Named(name), _) => *name == user.as_str(),
        _ => return Err(corrupt("message", "a group's message from a side")),
    })
}

/// The person `sender` names in `conversation`.
fn sender_in(conversation: &Conversation, sender: &StoredSender) -> Result<Username, StoreError> {
    match (sender, conversation.view()) {
        (StoredSender::Low, ConversationView::Direct { low, .. }) => Ok(low.clone()),
        (StoredSender::High, ConversationView::Direct { high, .. }) => Ok(high.clone()),
        (StoredSender::Named(name), _) => Username::parse(name).map_err(|e| corrupt("sender", e)),
        _ => Err(corrupt("message", "a group's message from a side")),
    }
}

/// The message id that ends a `conversations` key.
pub(crate) fn id_after_prefix(key: &[u8]) -> Result<MessageId, StoreError> {
    let start = key
        .len()
        .checked_sub(ID_BYTES)
        .ok_or_else(|| corrupt("conversation key", "shorter than an id"))?;
    decode_id(&key[start..])
}

/// The id that ends a key: 8 bytes, big-endian, never 0.
pub(crate) fn decode_id(bytes: &[u8]) -> Result<MessageId, StoreError> {
    stored_id("message id", decode_u64(bytes)?)
}

/// 8 bytes, big-endian.
pub(crate) fn decode_u64(bytes: &[u8]) -> Result<u64, StoreError> {
    let bytes: [u8; ID_BYTES] = bytes
        .try_into()
        .map_err(|_| corrupt("message id", "not 8 bytes"))?;
    Ok(u64::from_be_bytes(bytes))
}

/// A message id as stored: 0 is none that was ever handed out, so the data is damaged.
pub(crate) fn stored_id(what: &str, raw: u64) -> Result<MessageId, StoreError> {
    MessageId::new(raw).ok_or_else(|| corrupt(what, "0, which is no message's id"))
}

/// The conversation a whole `conversations` key belongs to, for the inspector.
pub(crate) fn conversation_of_key(key: &[u8]) -> Result<Conversation, StoreError> {
    let text = key
        .len()
        .checked_sub(ID_BYTES + 1)
        .and_then(|end| std::str::from_utf8(&key[..end]).ok())
        .ok_or_else(|| corrupt("conversation key", "not a key and an id"))?;
    chat_store_common::conversation_from_key(text).ok_or_else(|| corrupt("conversation key", text))
}

#[cfg(test)]
mod tests {
    use chat_domain::{Content, GroupName, MessageBody};
    use jiff::Timestamp;

    use super::*;

    fn user(name: &str) -> Username {
        Username::parse(name).unwrap()
    }

    fn message(from: &str, to: Recipient) -> NewMessage {
        NewMessage {
            sender: user(from),
            recipient: to,
            content: Content::Text(MessageBody::new("a message of usual length".into()).unwrap()),
            sent_at: Timestamp::from_millisecond(1_700_000_000_000).unwrap(),
            client_message_id: ClientMessageId::new(u64::MAX),
        }
    }

    #[test]
    fn every_kind_of_sender_reads_back_from_its_key() {
        let team = Recipient::Group(GroupName::parse("team").unwrap());
        for (from, to) in [
            ("alice", Recipient::User(user("bob"))),
            ("bob", Recipient::User(user("alice"))),
            ("alice", Recipient::User(user("alice"))),
            ("carol", team),
        ] {
            let sent = message(from, to);
            let id = MessageId::new(7).unwrap();
            let encoded = encode_message(id, &sent).unwrap();
            let conversation = conversation_of_key(&encoded.key).unwrap();
            assert_eq!(conversation, sent.conversation());
            let read = decode_message(&conversation, id, &encoded.value).unwrap();
            assert_eq!(read, sent.clone().with_id(id));
            assert!(is_sent_by(&conversation, &encoded.value, &user(from)).unwrap());
            assert!(!is_sent_by(&conversation, &encoded.value, &user("dave")).unwrap());
            let number = ClientMessageId::new(u64::MAX).unwrap();
            assert!(is_numbered(&conversation, &encoded.value, &user(from), number).unwrap());
        }
    }

    #[test]
    fn a_direct_message_keeps_no_name_in_its_value() {
        let sent = message("alice", Recipient::User(user("bob")));
        let encoded = encode_message(MessageId::FIRST, &sent).unwrap();
        // A tag for the side, the text with its length, the time, the number.
        let text = "a message of usual length".len();
        assert!(
            encoded.value.len() <= 1 + 1 + text + 10 + 11,
            "{:?}",
            encoded.value
        );
        assert!(!encoded.value.windows(5).any(|w| w == b"alice"));
    }
}
