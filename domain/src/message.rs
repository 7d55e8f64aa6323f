//! Messages and where they go: `MessageId`, `Recipient`, `Conversation`, `NewMessage`, `Message`.

use std::fmt;

use jiff::Timestamp;

use crate::body::MessageBody;
use crate::username::Username;

/// A stored message's id. The store hands them out in strictly increasing order, starting at 1;
/// history is ordered and paged by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(u64);

impl MessageId {
    pub const FIRST: MessageId = MessageId(1);

    pub fn new(raw: u64) -> Self {
        MessageId(raw)
    }

    pub fn get(self) -> u64 {
        self.0
    }

    /// The id after this one; saturates, since 2^64 messages will not be sent.
    pub fn next(self) -> Self {
        MessageId(self.0.saturating_add(1))
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Who a message is for. One variant today; groups will be a second variant, added after it so
/// that nothing stored or sent with this one changes meaning.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Recipient {
    User(Username),
}

impl fmt::Display for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Recipient::User(name) => write!(f, "{name}"),
        }
    }
}

/// The thread a message belongs to and history is read from. A direct conversation is the
/// unordered pair of its two people, so Alice-to-Bob and Bob-to-Alice land in the same one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Conversation {
    /// Invariant: `low <= high`. Both may be the same person (notes to self).
    Direct { low: Username, high: Username },
}

impl Conversation {
    pub fn direct(a: Username, b: Username) -> Self {
        if a <= b {
            Conversation::Direct { low: a, high: b }
        } else {
            Conversation::Direct { low: b, high: a }
        }
    }

    /// The conversation a message from `sender` to `recipient` belongs to.
    pub fn of(sender: &Username, recipient: &Recipient) -> Self {
        match recipient {
            Recipient::User(other) => Conversation::direct(sender.clone(), other.clone()),
        }
    }

    /// A stable text key, unique per conversation, for stores to index by. `:` is outside the
    /// username alphabet, so no two conversations share a key, and the leading kind letter keeps
    /// room for groups (`g:`).
    pub fn key(&self) -> String {
        match self {
            Conversation::Direct { low, high } => format!("d:{low}:{high}"),
        }
    }

    /// True if `user` may read this conversation's history.
    pub fn includes(&self, user: &Username) -> bool {
        match self {
            Conversation::Direct { low, high } => low == user || high == user,
        }
    }
}

/// A message the rules accepted and that the store has yet to number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    pub sender: Username,
    pub recipient: Recipient,
    pub body: MessageBody,
    /// Millisecond precision, UTC: what the stores keep, so what is acknowledged is what is read back.
    pub sent_at: Timestamp,
}

impl NewMessage {
    pub fn conversation(&self) -> Conversation {
        Conversation::of(&self.sender, &self.recipient)
    }

    pub fn with_id(self, id: MessageId) -> Message {
        Message {
            id,
            sender: self.sender,
            recipient: self.recipient,
            body: self.body,
            sent_at: self.sent_at,
        }
    }
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub id: MessageId,
    pub sender: Username,
    pub recipient: Recipient,
    pub body: MessageBody,
    pub sent_at: Timestamp,
}

impl Message {
    pub fn conversation(&self) -> Conversation {
        Conversation::of(&self.sender, &self.recipient)
    }

    /// Everyone whose devices receive this message as it is sent: the recipient, and the
    /// sender (for their other devices). Each name once.
    pub fn audience(&self) -> Vec<Username> {
        match &self.recipient {
            Recipient::User(to) if *to == self.sender => vec![to.clone()],
            Recipient::User(to) => vec![to.clone(), self.sender.clone()],
        }
    }
}

/// Truncates to whole milliseconds, the precision every store keeps.
pub fn to_millisecond(t: Timestamp) -> Timestamp {
    // A millisecond count taken from a valid timestamp is always in range again.
    Timestamp::from_millisecond(t.as_millisecond()).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str) -> Username {
        Username::parse(name).unwrap()
    }

    #[test]
    fn a_direct_conversation_is_the_same_from_both_sides() {
        let ab = Conversation::direct(user("alice"), user("bob"));
        let ba = Conversation::direct(user("bob"), user("alice"));
        assert_eq!(ab, ba);
        assert_eq!(ab.key(), "d:alice:bob");
        assert!(ab.includes(&user("alice")) && ab.includes(&user("bob")));
        assert!(!ab.includes(&user("carol")));
    }

    #[test]
    fn conversation_keys_never_collide_on_prefixes() {
        // "ab"+"c" and "a"+"bc" would collide in a naive concatenation.
        let one = Conversation::direct(user("abc"), user("abcd"));
        let two = Conversation::direct(user("abca"), user("bcd"));
        assert_ne!(one.key(), two.key());
    }

    #[test]
    fn the_audience_is_recipient_and_sender_once_each() {
        let body = MessageBody::new("hi".into()).unwrap();
        let message = NewMessage {
            sender: user("alice"),
            recipient: Recipient::User(user("bob")),
            body: body.clone(),
            sent_at: Timestamp::UNIX_EPOCH,
        }
        .with_id(MessageId::FIRST);
        assert_eq!(message.audience(), vec![user("bob"), user("alice")]);
        let note = NewMessage {
            sender: user("alice"),
            recipient: Recipient::User(user("alice")),
            body,
            sent_at: Timestamp::UNIX_EPOCH,
        }
        .with_id(MessageId::FIRST);
        assert_eq!(note.audience(), vec![user("alice")]);
    }

    #[test]
    fn timestamps_are_cut_to_milliseconds() {
        let t = Timestamp::new(1_700_000_000, 123_456_789).unwrap();
        assert_eq!(to_millisecond(t).as_nanosecond(), 1_700_000_000_123_000_000);
    }
}
