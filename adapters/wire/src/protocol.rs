//! Every frame of the protocol as a serde type. postcard is not self-describing: a variant's
//! position is its tag on the wire, so variants are only ever appended, never reordered or removed.

use serde::{Deserialize, Serialize};

/// The four bytes a client's `Hello` must carry: ASCII "CHAT".
pub const MAGIC: [u8; 4] = *b"CHAT";
/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u16 = 1;
/// The largest frame payload, either direction, in bytes (the 4-byte length prefix excluded).
pub const FRAME_BYTES_MAX: usize = 64 * 1024;

/// Everything a client sends. The first frame must be `Hello`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientFrame {
    Hello(Hello),
    Request { id: u32, request: Request },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    pub magic: [u8; 4],
    pub version: u16,
}

/// A request; the server answers each with exactly one `ServerFrame::Reply` carrying its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// Create an account and log in as it.
    Register {
        username: String,
        password: String,
    },
    LogIn {
        username: String,
        password: String,
    },
    /// `client_message_id` is the sender's own number for this message, unique per sender (a
    /// client starts at a random number and counts up; 0 means none), so that a `Resend` after
    /// a lost acknowledgement can be recognised.
    Send {
        client_message_id: u64,
        to: WireRecipient,
        body: String,
    },
    /// The newest `limit` messages with ids below `before` (the newest page if `None`).
    History {
        with: WireRecipient,
        before: Option<u64>,
        limit: Option<u32>,
    },
    Ping,
    /// Log out and close: the server answers `Bye`, then closes the connection.
    Quit,
    /// Group names travel bare, without their `#`. The group commands below are each answered
    /// with `Reply::GroupChanged`, or `Reply::Error`.
    CreateGroup {
        group: String,
        members: Vec<String>,
    },
    Invite {
        group: String,
        user: String,
    },
    Kick {
        group: String,
        user: String,
    },
    Leave {
        group: String,
    },
    /// Hand the group to `user`; the owner becomes an admin.
    SetOwner {
        group: String,
        user: String,
    },
    MakeAdmin {
        group: String,
        user: String,
    },
    /// Answered with `Reply::Members`.
    Members {
        group: String,
    },
    /// Answered with `Reply::Groups`.
    Groups,
    /// A `Send` again, after the connection dropped before its acknowledgement came. If the
    /// first was stored, the reply is its `Sent` (same id and time) and nobody receives it
    /// twice; otherwise this is stored and delivered as a `Send` would be.
    /// `client_message_id` must not be 0.
    Resend {
        client_message_id: u64,
        to: WireRecipient,
        body: String,
    },
    /// The requester's conversations, people and groups, newest first: answered with
    /// `Reply::Conversations`.
    Conversations,
    /// Everything in the conversation with `with` up to message `up_to` is read, on every
    /// device: answered with `Reply::Marked`; the requester's other connections get
    /// `Event::Read`.
    MarkRead {
        with: WireRecipient,
        up_to: u64,
    },
    /// Every message and notice in the requester's conversations with an id above `after`,
    /// oldest first, `limit` at a time (the server's page size if `None`): answered with
    /// `Reply::CaughtUp`. What a device asks after being away.
    CatchUp {
        after: u64,
        limit: Option<u32>,
    },
}

/// Who a message is for: a user, or (appended in the groups change) a group by its bare name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WireRecipient {
    User(String),
    Group(String),
}

/// Everything the server sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServerFrame {
    /// The answer to a good `Hello`.
    Welcome { version: u16, frame_bytes_max: u32 },
    /// The answer to the request with the same id.
    Reply { id: u32, reply: Reply },
    /// Something that happened, not asked for.
    Event(Event),
    /// The connection is refused or ended for the reason given; the server closes it next.
    Closing(ErrorBody),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    /// Registered and logged in.
    Registered {
        username: String,
    },
    LoggedIn {
        username: String,
    },
    /// Stored (and durable, when the server keeps data): the message's id and time.
    Sent {
        message_id: u64,
        sent_at_ms: i64,
    },
    History(HistoryPage),
    Pong,
    Bye,
    Error(ErrorBody),
    /// A group command succeeded: the notice it wrote in the group's history, or `None` when
    /// the group ended (its last member left).
    GroupChanged(Option<WireNotice>),
    /// The members of a group, in name order.
    Members(Vec<WireMember>),
    /// The requester's groups, in name order.
    Groups(Vec<WireGroup>),
    /// A page of a group's history: its messages and notices, oldest first. The answer to
    /// `History` with a group; `History` with a user is still answered with `History`.
    Timeline(TimelinePage),
    /// The requester's conversations, the one with the newest message first.
    Conversations(InboxPage),
    /// The read marker now (it never moves back, nor past the newest message); `None` if the
    /// conversation has no messages.
    Marked {
        up_to: Option<u64>,
    },
    /// A page of what came after the `CatchUp`'s id. More follow if `has_more`: ask again
    /// with `after` = the last entry's id.
    CaughtUp(TimelinePage),
}

/// A person's conversations, newest first: as many as fit one frame (`complete` if that is
/// all of them). Each `last` is a preview: text cut to 200 characters, a creation notice to
/// its first 10 names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxPage {
    pub conversations: Vec<WireConversation>,
    pub complete: bool,
}

/// One conversation of a person's inbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireConversation {
    /// The other person (the requester themself, for notes), or the group.
    pub with: WireRecipient,
    pub last: Option<WireEntry>,
    /// Messages from others after the read marker, counted up to 100.
    pub unread: u32,
    pub read_up_to: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryPage {
    /// Oldest first.
    pub messages: Vec<WireMessage>,
    /// Older messages exist: ask again with `before` = the first message's id.
    pub has_more: bool,
    /// The page size used.
    pub limit: u32,
    /// The requested size was out of range and was changed to `limit`.
    pub clamped: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelinePage {
    pub entries: Vec<WireEntry>,
    /// Older entries exist: ask again with `before` = the first entry's id.
    pub has_more: bool,
    pub limit: u32,
    pub clamped: bool,
}

/// One entry of a group's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WireEntry {
    Message(WireMessage),
    Notice(WireNotice),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// A message to this user, or one this user sent from another connection.
    Message(WireMessage),
    /// The server has not heard from this connection for a while; any frame answers it.
    Ping,
    /// A group this user is in (or just left or was removed from) changed.
    Notice(WireNotice),
    /// This user read the conversation with `with` up to `up_to` on another device.
    Read { with: WireRecipient, up_to: u64 },
}

/// A change to a group, as its history records it. Its id is in the same sequence as message
/// ids, so it sorts among the group's messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireNotice {
    pub id: u64,
    pub group: String,
    /// Who made the change.
    pub actor: String,
    pub change: WireChange,
    /// Milliseconds since 1970-01-01T00:00:00Z.
    pub at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WireChange {
    /// The actor created the group with these other members.
    Created { members: Vec<String> },
    /// The actor added `user`.
    Joined { user: String },
    /// The actor left.
    Left,
    /// The actor removed `user`.
    Removed { user: String },
    /// The actor handed the group to `user`.
    NewOwner { user: String },
    /// The actor made `user` an admin.
    NewAdmin { user: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WireRole {
    Member,
    Admin,
    Owner,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireMember {
    pub username: String,
    pub role: WireRole,
    /// Logged in on at least one connection now.
    pub online: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireGroup {
    pub name: String,
    pub role: WireRole,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireMessage {
    pub id: u64,
    pub from: String,
    pub to: WireRecipient,
    pub body: String,
    /// Milliseconds since 1970-01-01T00:00:00Z.
    pub sent_at_ms: i64,
}

/// An error: `code` is stable snake_case for programs, `message` a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
}
