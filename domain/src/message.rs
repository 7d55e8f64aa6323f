//! Messages and where they go: `MessageId`, `ClientMessageId`, `Recipient`, `Conversation`
//! (read through a `ConversationView`), `Content` (text, or a group's notice of who joined or
//! left), `NewMessage`, `Message`.

use std::fmt;
use std::num::NonZeroU64;

use jiff::Timestamp;

use crate::body::MessageBody;
use crate::group::GroupName;
use crate::username::Username;

/// A stored message's id. The store hands them out in strictly increasing order, starting at 1;
/// history is ordered and paged by it. Never 0: a place before every message ("after nothing",
/// "nothing read yet") is an `Option<MessageId>` whose `None` is that place, which sorts below
/// every id as `Option` orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(NonZeroU64);

impl MessageId {
    pub const FIRST: MessageId = MessageId(NonZeroU64::MIN);
    /// The highest id there can be: a bound above every message.
    pub const LAST: MessageId = MessageId(NonZeroU64::MAX);

    /// `None` for 0, which no message has.
    pub fn new(raw: u64) -> Option<Self> {
        NonZeroU64::new(raw).map(MessageId)
    }

    pub fn get(self) -> u64 {
        self.0.get()
    }

    /// The id after this one; saturates, since 2^64 messages will not be sent.
    pub fn next(self) -> Self {
        MessageId(self.0.saturating_add(1))
    }

    /// The id before this one, `None` before the first: the place "after" which a read that
    /// starts at this id begins.
    pub fn prev(self) -> Option<Self> {
        MessageId::new(self.get() - 1)
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
/// unordered pair of its two people, so Alice-to-Bob and Bob-to-Alice land in the same one:
/// its names are private, and only `direct` builds one, in order.
///
/// ```
/// use chat_domain::{Conversation, Username};
/// let (alice, bob) = (Username::parse("alice").unwrap(), Username::parse("bob").unwrap());
/// let conversation = Conversation::direct(bob.clone(), alice.clone());
/// assert_eq!(conversation, Conversation::direct(alice.clone(), bob.clone()));
/// assert_eq!(conversation.as_direct(), Some((&alice, &bob)));
/// ```
///
/// Nothing else builds one, so none is out of order:
///
/// ```compile_fail,E0599
/// use chat_domain::{Conversation, Username};
/// let (alice, bob) = (Username::parse("alice").unwrap(), Username::parse("bob").unwrap());
/// let _ = Conversation::Direct { low: bob, high: alice };
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Conversation(Between);

/// What a `Conversation` holds, out of reach so that no direct one is built out of order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Between {
    /// Invariant: `low <= high`. Both may be the same person (notes to self).
    Direct { low: Username, high: Username },
    /// A group's one thread, the same for every member.
    Group(GroupName),
}

/// A conversation as its users read it: a direct one's two people in name order, or a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConversationView<'a> {
    /// `low <= high`; the same person twice in notes to self.
    Direct {
        low: &'a Username,
        high: &'a Username,
    },
    Group(&'a GroupName),
}

impl Conversation {
    /// The conversation between `a` and `b`, whichever order they are given in.
    pub fn direct(a: Username, b: Username) -> Self {
        if a <= b {
            Conversation(Between::Direct { low: a, high: b })
        } else {
            Conversation(Between::Direct { low: b, high: a })
        }
    }

    /// A group's conversation.
    pub fn group(name: GroupName) -> Self {
        Conversation(Between::Group(name))
    }

    /// The conversation a message from `sender` to `recipient` belongs to.
    pub fn of(sender: &Username, recipient: &Recipient) -> Self {
        match recipient {
            Recipient::User(other) => Conversation::direct(sender.clone(), other.clone()),
            Recipient::Group(group) => Conversation::group(group.clone()),
        }
    }

    /// Who the conversation is between, to match on.
    pub fn view(&self) -> ConversationView<'_> {
        match &self.0 {
            Between::Direct { low, high } => ConversationView::Direct { low, high },
            Between::Group(group) => ConversationView::Group(group),
        }
    }

    /// A direct conversation's two people, in name order.
    pub fn as_direct(&self) -> Option<(&Username, &Username)> {
        match &self.0 {
            Between::Direct { low, high } => Some((low, high)),
            Between::Group(_) => None,
        }
    }

    /// A group conversation's group.
    pub fn as_group(&self) -> Option<&GroupName> {
        match &self.0 {
            Between::Direct { .. } => None,
            Between::Group(group) => Some(group),
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

impl Notice {
    /// The change in one word: `created`, `joined`, `left`, `removed`, `owner`, `admin`.
    pub fn verb(&self) -> &'static str {
        match self {
            Notice::Created { .. } => "created",
            Notice::Joined { .. } => "joined",
            Notice::Left => "left",
            Notice::Removed { .. } => "removed",
            Notice::NewOwner { .. } => "owner",
            Notice::NewAdmin { .. } => "admin",
        }
    }

    /// Who the notice names besides its sender, in order.
    pub fn names(&self) -> &[Username] {
        match self {
            Notice::Created { members } => members,
            Notice::Left => &[],
            Notice::Joined { user }
            | Notice::Removed { user }
            | Notice::NewOwner { user }
            | Notice::NewAdmin { user } => std::slice::from_ref(user),
        }
    }
}

/// The notice in words: its verb, then each name after a space (`joined bob`).
impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.verb())?;
        for name in self.names() {
            write!(f, " {name}")?;
        }
        Ok(())
    }
}

impl Content {
    /// The bytes the content carries: a text's, or a notice's words and one byte for its kind.
    /// What a reply that holds the message must make room for, besides its fixed fields.
    pub fn size_bytes(&self) -> usize {
        match self {
            Content::Text(body) => body.as_str().len(),
            Content::Notice(notice) => {
                let names: usize = notice.names().iter().map(|n| 1 + n.as_str().len()).sum();
                1 + notice.verb().len() + names
            }
        }
    }

    /// One string for tests to compare: a text as it is, a notice as NUL and its words (no
    /// text starts with NUL).
    #[cfg(test)]
    pub(crate) fn to_spelled(&self) -> String {
        match self {
            Content::Text(body) => body.as_str().to_string(),
            Content::Notice(notice) => format!("\0{notice}"),
        }
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
    }

    #[test]
    fn a_direct_conversation_holds_its_names_in_order_whichever_way_given() {
        for (a, b) in [("alice", "bob"), ("bob", "alice")] {
            let conversation = Conversation::direct(user(a), user(b));
            let (low, high) = conversation.as_direct().unwrap();
            assert_eq!((low.as_str(), high.as_str()), ("alice", "bob"));
            assert_eq!(
                conversation.view(),
                ConversationView::Direct {
                    low: &user("alice"),
                    high: &user("bob")
                }
            );
            assert_eq!(conversation.as_group(), None);
        }
        let notes = Conversation::direct(user("alice"), user("alice"));
        assert_eq!(notes.as_direct(), Some((&user("alice"), &user("alice"))));
    }

    #[test]
    fn message_id_zero_is_refused() {
        assert_eq!(MessageId::new(0), None);
        assert_eq!(MessageId::new(1), Some(MessageId::FIRST));
        assert_eq!(MessageId::FIRST.get(), 1);
        assert_eq!(MessageId::FIRST.next().get(), 2);
        assert_eq!(MessageId::FIRST.prev(), None);
        assert_eq!(MessageId::FIRST.next().prev(), Some(MessageId::FIRST));
        let last = MessageId::new(u64::MAX).unwrap();
        assert_eq!(last.next(), last);
        // "From the start" sorts below every id: what the readers' `max` relies on.
        assert!(None < Some(MessageId::FIRST));
    }

    #[test]
    fn a_group_is_one_conversation_whoever_sends() {
        let team = GroupName::parse("team").unwrap();
        let from_alice = Conversation::of(&user("alice"), &Recipient::Group(team.clone()));
        let from_bob = Conversation::of(&user("bob"), &Recipient::Group(team.clone()));
        assert_eq!(from_alice, from_bob);
        assert_eq!(from_alice.as_group(), Some(&team));
        assert_eq!(from_alice.view(), ConversationView::Group(&team));
        assert_eq!(from_alice.as_direct(), None);
    }

    #[test]
    fn a_notice_in_words_and_its_size() {
        let created = Notice::Created {
            members: vec![user("bob"), user("carol")],
        };
        assert_eq!(created.to_string(), "created bob carol");
        assert_eq!(Notice::Left.to_string(), "left");
        let joined = Notice::Joined { user: user("bob") };
        assert_eq!(joined.to_string(), "joined bob");
        for notice in [created, Notice::Left, joined] {
            let words = notice.to_string().len();
            assert_eq!(Content::Notice(notice).size_bytes(), 1 + words);
        }
        let text = Content::Text(MessageBody::new("héllo".into()).unwrap());
        assert_eq!(text.size_bytes(), "héllo".len());
    }

    #[test]
    fn timestamps_are_cut_to_milliseconds() {
        let t = Timestamp::new(1_700_000_000, 123_456_789).unwrap();
        assert_eq!(to_millisecond(t).as_nanosecond(), 1_700_000_000_123_000_000);
    }
}
