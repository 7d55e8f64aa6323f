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
    /// `client_message_id` is the sender's own number for this message, unique per sender, so
    /// that a resend after a lost acknowledgement can be recognised.
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
}

/// Who a message is for. Groups will be appended as a second variant.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WireRecipient {
    User(String),
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
pub enum Event {
    /// A message to this user, or one this user sent from another connection.
    Message(WireMessage),
    /// The server has not heard from this connection for a while; any frame answers it.
    Ping,
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
