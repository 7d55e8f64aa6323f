//! Messages and where they go: `MessageId`, `ClientMessageId`, `Recipient`, `Conversation`,
//! `Content` (text, or a group's notice of who joined or left), `NewMessage`, `Message`.

use std::fmt;
use std::num::NonZeroU64;

use jiff::Timestamp;

use crate::body::MessageBody;
use crate::group::GroupName;
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

/// The sender's own number for a message, unique per sender (clients start at a random
/// number): what lets a resend after a lost acknowledgement be recognised. Never 0, which on
/// the wire means "none".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientMessageId(NonZeroU64);

impl ClientMessageId {
    /// `None` for 0.
    pub fn new(raw: u64) -> Option<Self> {
        NonZeroU64::new(raw).map(ClientMessageId)
    }

    pub fn get(self) -> u64 {
        self.0.get()
    }
}

/// Who a message is for: a person, or every member of a group.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Recipient {
    User(Username),
    Group(GroupName),
}

impl fmt::Display for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Recipient::User(name) => write!(f, "{name}"),
            Recipient::Group(name) => write!(f, "{name}"),
        }
    }
}

/// The thread a message belongs to and history is read from. A direct conversation is the
/// unordered pair of its two people, so Alice-to-Bob and Bob-to-Alice land in the same one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Conversation {
    /// Invariant: `low <= high`. Both may be the same person (notes to self).
    Direct { low: Username, high: Username },
    /// A group's one thread, the same for every member.
    Group(GroupName),
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
            Recipient::Group(group) => Conversation::Group(group.clone()),
        }
    }

    /// A stable text key, unique per conversation, for stores to index by. `:` is outside the
    /// name alphabet, so no two conversations share a key; the kind letter tells a direct
    /// conversation (`d:alice:bob`) from a group's (`g:team`).
    pub fn key(&self) -> String {
        match self {
            Conversation::Direct { low, high } => format!("d:{low}:{high}"),
            Conversation::Group(group) => format!("g:{}", group.as_str()),
        }
    }
}

/// What a message holds: text someone wrote, or a notice the server wrote into a group's
/// history when its membership changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    Text(MessageBody),
    Notice(Notice),
}

/// A change to a group, written by the server in the group's history; the message's sender is
/// who made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// The sender created the group with these other members.
    Created { members: Vec<Username> },
    /// The sender added `user`.
    Joined { user: Username },
    /// The sender left.
    Left,
    /// The sender removed `user`.
    Removed { user: Username },
    /// The sender handed the group to `user`.
    NewOwner { user: Username },
    /// The sender made `user` an admin.
    NewAdmin { user: Username },
}

/// Stored content that does not decode: the store was damaged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredContentError(pub String);

impl fmt::Display for StoredContentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "stored content does not decode: {}", self.0)
    }
}

impl Content {
    /// One string for stores to keep: a text as it is; a notice as NUL, a word and names split
    /// by spaces (`"\0joined bob"`). No text starts with NUL (bodies hold no control
    /// characters) and no name holds a space, so the two never mix.
    pub fn to_stored(&self) -> String {
        let notice = match self {
            Content::Text(body) => return body.as_str().to_string(),
            Content::Notice(notice) => notice,
        };
        let (word, names): (&str, Vec<&Username>) = match notice {
            Notice::Created { members } => ("created", members.iter().collect()),
            Notice::Joined { user } => ("joined", vec![user]),
            Notice::Left => ("left", vec![]),
            Notice::Removed { user } => ("removed", vec![user]),
            Notice::NewOwner { user } => ("owner", vec![user]),
            Notice::NewAdmin { user } => ("admin", vec![user]),
        };
        let mut stored = format!("\0{word}");
        for name in names {
            stored.push(' ');
            stored.push_str(name.as_str());
        }
        stored
    }

    /// The inverse of `to_stored`.
    pub fn from_stored(stored: String) -> Result<Content, StoredContentError> {
        let Some(notice) = stored.strip_prefix('\0') else {
            return MessageBody::new(stored)
                .map(Content::Text)
                .map_err(|e| StoredContentError(e.to_string()));
        };
        let mut words = notice.split(' ');
        let word = words.next().unwrap_or_default();
        let names = words
            .map(Username::parse)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StoredContentError(e.to_string()))?;
        let one = |names: Vec<Username>| match <[Username; 1]>::try_from(names) {
            Ok([user]) => Ok(user),
            Err(names) => Err(StoredContentError(format!(
                "{word} names {} users, not one",
                names.len()
            ))),
        };
        let notice = match word {
            "created" => Notice::Created { members: names },
            "joined" => Notice::Joined { user: one(names)? },
            "left" if names.is_empty() => Notice::Left,
            "removed" => Notice::Removed { user: one(names)? },
            "owner" => Notice::NewOwner { user: one(names)? },
            "admin" => Notice::NewAdmin { user: one(names)? },
            other => return Err(StoredContentError(format!("unknown notice {other:?}"))),
        };
        Ok(Content::Notice(notice))
    }

    /// The text, if this is text.
    pub fn text(&self) -> Option<&MessageBody> {
        match self {
            Content::Text(body) => Some(body),
            Content::Notice(_) => None,
        }
    }
}

/// A message the rules accepted and that the store has yet to number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    pub sender: Username,
    pub recipient: Recipient,
    pub content: Content,
    /// Millisecond precision, UTC: what the stores keep, so what is acknowledged is what is read back.
    pub sent_at: Timestamp,
    /// The sender's number for it, if the client gave one; group notices have none.
    pub client_message_id: Option<ClientMessageId>,
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
            content: self.content,
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
    pub content: Content,
    pub sent_at: Timestamp,
}

impl Message {
    pub fn conversation(&self) -> Conversation {
        Conversation::of(&self.sender, &self.recipient)
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
    }

    #[test]
    fn conversation_keys_never_collide_on_prefixes() {
        // "ab"+"c" and "a"+"bc" would collide in a naive concatenation.
        let one = Conversation::direct(user("abc"), user("abcd"));
        let two = Conversation::direct(user("abca"), user("bcd"));
        assert_ne!(one.key(), two.key());
    }

    #[test]
    fn a_group_is_one_conversation_whoever_sends() {
        let team = GroupName::parse("team").unwrap();
        let from_alice = Conversation::of(&user("alice"), &Recipient::Group(team.clone()));
        let from_bob = Conversation::of(&user("bob"), &Recipient::Group(team));
        assert_eq!(from_alice, from_bob);
        assert_eq!(from_alice.key(), "g:team");
    }

    #[test]
    fn content_round_trips_through_its_stored_form() {
        let contents = [
            Content::Text(MessageBody::new("hi\tthere\nyou".into()).unwrap()),
            Content::Notice(Notice::Created { members: vec![] }),
            Content::Notice(Notice::Created {
                members: vec![user("bob"), user("carol")],
            }),
            Content::Notice(Notice::Joined { user: user("bob") }),
            Content::Notice(Notice::Left),
            Content::Notice(Notice::Removed { user: user("bob") }),
            Content::Notice(Notice::NewOwner { user: user("bob") }),
            Content::Notice(Notice::NewAdmin { user: user("bob") }),
        ];
        for content in contents {
            let stored = content.to_stored();
            assert_eq!(
                Content::from_stored(stored.clone()),
                Ok(content),
                "{stored:?}"
            );
        }
        assert_eq!(
            Content::Notice(Notice::Joined { user: user("bob") }).to_stored(),
            "\0joined bob"
        );
    }

    #[test]
    fn damaged_stored_content_is_an_error_not_a_panic() {
        for bad in [
            "\0joined",
            "\0joined a b",
            "\0left bob",
            "\0party",
            "\0joined B!",
            "",
            "\u{7}",
        ] {
            assert!(Content::from_stored(bad.to_string()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn timestamps_are_cut_to_milliseconds() {
        let t = Timestamp::new(1_700_000_000, 123_456_789).unwrap();
        assert_eq!(to_millisecond(t).as_nanosecond(), 1_700_000_000_123_000_000);
    }
}
