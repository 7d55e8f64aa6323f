//! The rules of register, log in, send and history, as functions of the store and their input;
//! the group commands are in `groups`.
//!
//! Hashing is slow, so register and log in come in two halves: the first decides what needs
//! hashing, the loop hashes on a worker thread, and the second decides the outcome. Time is
//! always an argument.

use std::fmt;

use jiff::Timestamp;

use crate::body::MessageBody;
use crate::error::ErrorCode;
use crate::group::GroupName;
use crate::limits::{HISTORY_PAGE_DEFAULT, HISTORY_PAGE_MAX, RESEND_WINDOW_MESSAGES};
use crate::message::{
    ClientMessageId, Content, Conversation, Message, MessageId, NewMessage, Recipient,
    to_millisecond,
};
use crate::password::PasswordHash;
use crate::ports::{Inserted, Store, StoreError, UserRecord};
use crate::recent_sends::{Original, RecentSends};
use crate::username::Username;

pub use access::ReadError;

// ---- register ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterError {
    UsernameTaken(Username),
    Store(StoreError),
}

/// First half: refuses a taken name before any hashing is spent on it.
pub fn check_register(store: &impl Store, username: &Username) -> Result<(), RegisterError> {
    match store.user_exists(username) {
        Ok(false) => Ok(()),
        Ok(true) => Err(RegisterError::UsernameTaken(username.clone())),
        Err(e) => Err(RegisterError::Store(e)),
    }
}

/// Second half, once the password is hashed. The name may have been taken meanwhile by another
/// registration that finished first; the store's uniqueness settles it.
pub fn finish_register(
    store: &mut impl Store,
    username: Username,
    password_hash: PasswordHash,
    now: Timestamp,
) -> Result<UserRecord, RegisterError> {
    let user = UserRecord {
        username,
        password_hash,
        registered_at: to_millisecond(now),
    };
    match store.insert_user(&user) {
        Ok(Inserted::Yes) => Ok(user),
        Ok(Inserted::NameTaken) => Err(RegisterError::UsernameTaken(user.username)),
        Err(e) => Err(RegisterError::Store(e)),
    }
}

impl fmt::Display for RegisterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegisterError::UsernameTaken(name) => write!(f, "The name {name} is taken."),
            RegisterError::Store(e) => e.fmt(f),
        }
    }
}

impl ErrorCode for RegisterError {
    fn code(&self) -> &'static str {
        match self {
            RegisterError::UsernameTaken(_) => "username_taken",
            RegisterError::Store(e) => e.code(),
        }
    }
}

// ---- log in -----------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginError {
    UnknownUser(Username),
    WrongPassword,
    Store(StoreError),
}

/// What the loop must verify for a log-in: the password against `hash`. For an unknown name
/// `hash` is the caller's dummy hash, so that an unknown name costs the same work as a wrong
/// password and the answer's timing does not tell which it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginAttempt {
    pub username: Username,
    pub hash: PasswordHash,
    user_exists: bool,
}

/// First half: looks the user up and says which hash to verify against.
pub fn begin_login(
    store: &impl Store,
    username: Username,
    dummy_hash: &PasswordHash,
) -> Result<LoginAttempt, LoginError> {
    match store.find_user(&username) {
        Ok(Some(user)) => Ok(LoginAttempt {
            username,
            hash: user.password_hash,
            user_exists: true,
        }),
        Ok(None) => Ok(LoginAttempt {
            username,
            hash: dummy_hash.clone(),
            user_exists: false,
        }),
        Err(e) => Err(LoginError::Store(e)),
    }
}

impl LoginAttempt {
    /// Second half, given whether the password matched `self.hash`.
    pub fn finish(self, password_matches: bool) -> Result<Username, LoginError> {
        match (self.user_exists, password_matches) {
            (false, _) => Err(LoginError::UnknownUser(self.username)),
            (true, false) => Err(LoginError::WrongPassword),
            (true, true) => Ok(self.username),
        }
    }
}

impl fmt::Display for LoginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoginError::UnknownUser(name) => access::unknown_user(f, name),
            LoginError::WrongPassword => f.write_str("Wrong password."),
            LoginError::Store(e) => e.fmt(f),
        }
    }
}

impl ErrorCode for LoginError {
    fn code(&self) -> &'static str {
        match self {
            LoginError::UnknownUser(_) => "unknown_user",
            LoginError::WrongPassword => "wrong_password",
            LoginError::Store(e) => e.code(),
        }
    }
}

// ---- send -------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    UnknownRecipient(Username),
    UnknownGroup(GroupName),
    NotAMember(GroupName),
    /// A resend without the number of the first send.
    MissingNumber,
    Store(StoreError),
}

/// A stored message and everyone whose connections receive it as it is sent, each name once:
/// the recipient and the sender (for their other devices), or every member of the group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub message: Message,
    pub audience: Vec<Username>,
}

/// What a send did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// Stored now: acknowledge it once committed, and deliver it.
    Stored(Delivery),
    /// Its client message id stored a message before (a resend, or a late original): answer
    /// with that one. Nothing is stored or delivered; it was delivered when it was stored.
    Before(Original),
}

/// What a client asks to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub recipient: Recipient,
    pub body: MessageBody,
    pub attempt: Attempt,
}

impl Outgoing {
    /// A first try without a client message id.
    pub fn new(recipient: Recipient, body: MessageBody) -> Self {
        Outgoing {
            recipient,
            body,
            attempt: Attempt::Unnumbered,
        }
    }
}

/// Which try of a message a send is, by the sender's own number for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// No number (0 on the wire): always stored as new.
    Unnumbered,
    /// A `Send`: a first try, or the original arriving late after its resend.
    First(ClientMessageId),
    /// A `Resend`: the client sent it before and never saw the acknowledgement.
    Again(ClientMessageId),
}

impl Attempt {
    /// The attempt a `Send` (`resend` false) or `Resend` with number `raw` makes; a resend
    /// needs a number.
    pub fn from_wire(raw: u64, resend: bool) -> Result<Self, SendError> {
        match (ClientMessageId::new(raw), resend) {
            (None, false) => Ok(Attempt::Unnumbered),
            (None, true) => Err(SendError::MissingNumber),
            (Some(number), false) => Ok(Attempt::First(number)),
            (Some(number), true) => Ok(Attempt::Again(number)),
        }
    }

    pub fn number(self) -> Option<ClientMessageId> {
        match self {
            Attempt::Unnumbered => None,
            Attempt::First(number) | Attempt::Again(number) => Some(number),
        }
    }
}

/// Stores a message from the logged-in `sender`, or, when its client message id stored one
/// before, answers with that one: found among the sender's `recent` ids whatever the
/// recipient and text now, or (a resend only, after a restart, say) among the newest
/// `RESEND_WINDOW_MESSAGES` of its conversation. A stored message is visible at once but
/// durable only after the store's next `commit`: acknowledge it after that, and `forget` its
/// id in `recent` if the commit fails.
pub fn send(
    store: &mut impl Store,
    recent: &mut RecentSends,
    sender: &Username,
    outgoing: Outgoing,
    now: Timestamp,
) -> Result<Sent, SendError> {
    let Outgoing {
        recipient,
        body,
        attempt,
    } = outgoing;
    let client_message_id = attempt.number();
    if let Some(id) = client_message_id {
        if let Some(original) = recent.find(sender, id) {
            return Ok(Sent::Before(original));
        }
        if matches!(attempt, Attempt::Again(_))
            && let Some(message) = store
                .find_resent(
                    &Conversation::of(sender, &recipient),
                    sender,
                    id,
                    RESEND_WINDOW_MESSAGES,
                )
                .map_err(SendError::Store)?
        {
            let original = Original::of(&message);
            recent.record(sender, id, original);
            return Ok(Sent::Before(original));
        }
    }
    let audience = match &recipient {
        // Sending to yourself needs no look-up: you exist.
        Recipient::User(to) if to == sender => vec![sender.clone()],
        Recipient::User(to) => {
            if !store.user_exists(to).map_err(SendError::Store)? {
                return Err(SendError::UnknownRecipient(to.clone()));
            }
            vec![to.clone(), sender.clone()]
        }
        Recipient::Group(group) => {
            // The members now: someone removed a moment ago receives nothing more. The same
            // read says whether the sender is one of them.
            let members = store.members(group).map_err(SendError::Store)?;
            if !members.iter().any(|m| m.username == *sender) {
                return Err(match store.find_group(group).map_err(SendError::Store)? {
                    Some(_) => SendError::NotAMember(group.clone()),
                    None => SendError::UnknownGroup(group.clone()),
                });
            }
            members.into_iter().map(|m| m.username).collect()
        }
    };
    let message = NewMessage {
        sender: sender.clone(),
        recipient,
        content: Content::Text(body),
        sent_at: to_millisecond(now),
        client_message_id,
    };
    let message = store.append_message(message).map_err(SendError::Store)?;
    if let Some(id) = client_message_id {
        recent.record(sender, id, Original::of(&message));
    }
    Ok(Sent::Stored(Delivery { message, audience }))
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::UnknownRecipient(name) => access::unknown_user(f, name),
            SendError::UnknownGroup(group) => access::unknown_group(f, group),
            SendError::MissingNumber => {
                f.write_str("A resend needs the client message id of the first send.")
            }
            SendError::NotAMember(group) => access::not_a_member(f, group),
            SendError::Store(e) => e.fmt(f),
        }
    }
}

impl ErrorCode for SendError {
    fn code(&self) -> &'static str {
        match self {
            SendError::UnknownRecipient(_) => "unknown_user",
            SendError::UnknownGroup(_) => "unknown_group",
            SendError::NotAMember(_) => "not_a_member",
            SendError::MissingNumber => "missing_client_message_id",
            SendError::Store(e) => e.code(),
        }
    }
}

// ---- history ----------------------------------------------------------------------------

/// How history pages are sized: `limits`' default and most in the server; tests pass smaller ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryPaging {
    pub page_default: u32,
    pub page_max: u32,
}

impl Default for HistoryPaging {
    fn default() -> Self {
        HistoryPaging {
            page_default: HISTORY_PAGE_DEFAULT,
            page_max: HISTORY_PAGE_MAX,
        }
    }
}

impl HistoryPaging {
    /// The page size to use for a request, and whether the request was changed to get it.
    pub fn clamp(&self, requested: Option<u32>) -> (u32, bool) {
        match requested {
            None => (self.page_default.clamp(1, self.page_max.max(1)), false),
            Some(n) => {
                let page = n.clamp(1, self.page_max.max(1));
                (page, page != n)
            }
        }
    }
}

/// A page of history, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryPage {
    pub messages: Vec<Message>,
    /// True if older messages exist before the first one here: ask again with `before` set to
    /// its id.
    pub has_more: bool,
    /// The page size used.
    pub limit: u32,
    /// True if the requested size was outside 1 to `page_max` and was clamped to `limit`.
    pub clamped: bool,
}

/// The page of `reader`'s conversation with `with` before `before` (the newest page if `None`).
pub fn history(
    store: &impl Store,
    reader: &Username,
    with: &Recipient,
    before: Option<MessageId>,
    requested: Option<u32>,
    paging: HistoryPaging,
) -> Result<HistoryPage, ReadError> {
    // A member reads a group from the notice that added them: nothing said before they joined
    // or while they were out, nor anything of an earlier group of the name.
    let since = access::readable_from(store, reader, with)?;
    let conversation = Conversation::of(reader, with);
    let (limit, clamped) = paging.clamp(requested);
    // One extra tells whether there is more without a second query.
    let page = limit as usize;
    let mut messages = store
        .history(&conversation, since, before, page + 1)
        .map_err(ReadError::Store)?;
    let has_more = messages.len() > page;
    if has_more {
        messages.drain(..messages.len() - page);
    }
    Ok(HistoryPage {
        messages,
        has_more,
        limit,
        clamped,
    })
}

pub mod access;
pub mod groups;
pub mod inbox;
#[cfg(test)]
mod test_support;

#[cfg(test)]
mod tests;
