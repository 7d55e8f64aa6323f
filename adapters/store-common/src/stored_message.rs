//! A message as both stores keep it, inside a chunk or a log entry: only what its conversation
//! and id do not say. Who of the conversation sent it (a side of a direct conversation, a name
//! in a group's), its content, when, and the sender's number for it.

use std::borrow::Cow;

use chat_domain::{
    ClientMessageId, Conversation, ConversationView, Message, MessageId, NewMessage, Recipient,
    StoreError, Username,
};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::{content_from_stored, recipient_of, stored_content};

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

/// Most values fit this without growing: a short text.
const VALUE_BYTES_USUAL: usize = 64;

pub(crate) fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("stored {what}: {e}"))
}

/// A message id as stored: 0 is none that was ever handed out, so the data is damaged.
pub fn stored_id(what: &str, raw: u64) -> Result<MessageId, StoreError> {
    MessageId::new(raw).ok_or_else(|| corrupt(what, "0, which is no message's id"))
}

/// The stored value of `message`.
pub fn encode_message(message: &NewMessage) -> Result<Vec<u8>, StoreError> {
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
    let value = Vec::with_capacity(VALUE_BYTES_USUAL);
    postcard::to_extend(&stored, value).map_err(|e| corrupt("message", e))
}

/// The message stored as `value` under id `id` of `conversation`.
pub fn decode_message(
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
        sent_at: Timestamp::from_millisecond(stored.sent_at_ms)
            .map_err(|e| corrupt("timestamp", e))?,
    })
}

/// Whether the message in `value` was sent by `user`, reading no more than its sender.
pub fn is_sent_by(
    conversation: &Conversation,
    value: &[u8],
    user: &Username,
) -> Result<bool, StoreError> {
    let stored: SenderOnly = postcard::from_bytes(value).map_err(|e| corrupt("message", e))?;
    names(conversation, &stored.sender, user)
}

/// Whether the message in `value` is `sender`'s numbered `client_message_id`.
pub fn is_numbered(
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

#[cfg(test)]
mod tests {
    use chat_domain::{Content, MessageBody};

    use super::*;
    use crate::senders_for_tests::{every_kind_of_sender, user};

    fn message(from: &Username, to: Recipient) -> NewMessage {
        NewMessage {
            sender: from.clone(),
            recipient: to,
            content: Content::Text(MessageBody::new("a message of usual length".into()).unwrap()),
            sent_at: Timestamp::from_millisecond(1_700_000_000_000).unwrap(),
            client_message_id: ClientMessageId::new(u64::MAX),
        }
    }

    #[test]
    fn every_kind_of_sender_reads_back_in_its_conversation() {
        for (from, to) in every_kind_of_sender() {
            let sent = message(&from, to);
            let id = MessageId::new(7).unwrap();
            let value = encode_message(&sent).unwrap();
            let conversation = sent.conversation();
            let read = decode_message(&conversation, id, &value).unwrap();
            assert_eq!(read, sent.clone().with_id(id));
            assert!(is_sent_by(&conversation, &value, &from).unwrap());
            assert!(!is_sent_by(&conversation, &value, &user("dave")).unwrap());
            let number = ClientMessageId::new(u64::MAX).unwrap();
            assert!(is_numbered(&conversation, &value, &from, number).unwrap());
        }
    }

    #[test]
    fn a_direct_message_keeps_no_name_in_its_value() {
        let sent = message(&user("alice"), Recipient::User(user("bob")));
        let value = encode_message(&sent).unwrap();
        // A tag for the side, the text with its length, the time, the number.
        let text = "a message of usual length".len();
        assert!(value.len() <= 1 + 1 + text + 10 + 11, "{value:?}");
        assert!(!value.windows(5).any(|w| w == b"alice"));
    }
}
