//! The limits that belong to the rules themselves, in one place (the operator's are the
//! server's `Limits`; README's limits table lists them all).

/// Fewest characters in a username (and, later, a group name).
pub const USERNAME_CHARS_MIN: usize = 3;
/// Most characters in a username.
pub const USERNAME_CHARS_MAX: usize = 32;
/// Fewest bytes in a password.
pub const PASSWORD_BYTES_MIN: usize = 8;
/// Most bytes in a password: argon2 would take more, but nobody types more.
pub const PASSWORD_BYTES_MAX: usize = 128;
/// Most characters (Unicode scalar values) in a message body.
pub const BODY_CHARS_MAX: usize = 4_000;
/// Most bytes in a message body. With at most 4 bytes a character this never binds before
/// `BODY_CHARS_MAX` does, but it lets a huge body be refused without scanning it.
pub const BODY_BYTES_MAX: usize = 16 * 1024;
/// History page size when the reader asks for none.
pub const HISTORY_PAGE_DEFAULT: u32 = 50;
/// Largest history page the server hands out; larger requests are clamped, and the reply says so.
pub const HISTORY_PAGE_MAX: u32 = 500;
/// Members a group may have.
pub const GROUP_MEMBERS_MAX: usize = 1_000;
/// Groups a user may belong to.
pub const GROUPS_PER_USER_MAX: usize = 100;
/// Direct conversations a store adapter remembers having recorded as partners, so a send
/// between people who have talked before costs no partner lookup.
pub const KNOWN_PARTNERS_MAX: usize = 100_000;
/// Unread messages counted per conversation; past it the count says "at least this many".
pub const UNREAD_COUNTED_MAX: usize = 100;
/// Messages looked at to count a conversation's unread (the reader's own are skipped, not
/// counted): bounds what one conversation in the list costs.
pub const UNREAD_SCANNED_MAX: usize = 1_000;
/// Messages fetched from each conversation at a time while catching up: a page costs about
/// the page plus this many per conversation, however long the conversations are.
pub const CATCH_UP_CHUNK: usize = 8;
/// How far back a resend is looked for in the store, when its number is not remembered (after
/// a restart, say): the newest this many messages of its conversation. A client resends what
/// was unacknowledged when its connection dropped, so the original, if it was stored, is
/// among the newest.
pub const RESEND_WINDOW_MESSAGES: usize = 1_000;
/// Client message ids remembered per sender (`RecentSends`): more than a client has in flight
/// (chat-client keeps 256 requests in flight at most).
pub const RECENT_SENDS_PER_SENDER: usize = 256;
/// How long a client message id is remembered after its message was sent.
pub const RECENT_SENDS_FOR_SECS: i64 = 60 * 60;
/// Senders whose ids are remembered at once: 10,000 x 256 numbers of about 40 bytes (a map
/// entry and its place in line) is 100 MiB at most.
pub const RECENT_SENDERS_MAX: usize = 10_000;
