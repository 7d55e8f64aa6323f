//! Conversions between wire values and domain values. Incoming text is validated here by the
//! domain's own constructors, so a request that converts is a request the rules can take.

use std::fmt;

use chat_domain::error::ErrorCode;
use chat_domain::rules::inbox::ConversationSummary;
use chat_domain::{
    Content, GroupName, GroupNameError, Member, Message, Notice, Recipient, Role, Username,
    UsernameError,
};

use crate::protocol::{
    ErrorBody, WireChange, WireConversation, WireEntry, WireMember, WireMessage, WireNotice,
    WireRecipient, WireRole,
};

/// A recipient that is not a valid user or group name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecipientError {
    User(UsernameError),
    Group(GroupNameError),
}

impl fmt::Display for RecipientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecipientError::User(e) => e.fmt(f),
            RecipientError::Group(e) => e.fmt(f),
        }
    }
}

impl ErrorCode for RecipientError {
    fn code(&self) -> &'static str {
        match self {
            RecipientError::User(e) => e.code(),
            RecipientError::Group(e) => e.code(),
        }
    }
}

impl WireRecipient {
    pub fn to_domain(&self) -> Result<Recipient, RecipientError> {
        match self {
            WireRecipient::User(name) => Username::parse(name)
                .map(Recipient::User)
                .map_err(RecipientError::User),
            WireRecipient::Group(name) => GroupName::parse(name)
                .map(Recipient::Group)
                .map_err(RecipientError::Group),
        }
    }

    pub fn from_domain(recipient: &Recipient) -> Self {
        match recipient {
            Recipient::User(name) => WireRecipient::User(name.to_string()),
            Recipient::Group(group) => WireRecipient::Group(group.as_str().to_string()),
        }
    }
}

impl WireEntry {
    /// A stored message as the wire shows it: text, or a group's notice.
    pub fn from_domain(message: &Message) -> Self {
        match &message.content {
            Content::Text(body) => WireEntry::Message(WireMessage {
                id: message.id.get(),
                from: message.sender.to_string(),
                to: WireRecipient::from_domain(&message.recipient),
                body: body.as_str().to_string(),
                sent_at_ms: message.sent_at.as_millisecond(),
            }),
            Content::Notice(notice) => {
                let group = match &message.recipient {
                    Recipient::Group(group) => group.as_str().to_string(),
                    // Notices are only ever written to groups; show the name if not.
                    Recipient::User(user) => user.to_string(),
                };
                WireEntry::Notice(WireNotice {
                    id: message.id.get(),
                    group,
                    actor: message.sender.to_string(),
                    change: WireChange::from_domain(notice),
                    at_ms: message.sent_at.as_millisecond(),
                })
            }
        }
    }
}

/// Characters of text a conversation's preview keeps.
pub const PREVIEW_CHARS_MAX: usize = 200;
/// Names of a creation notice a preview keeps.
pub const PREVIEW_NAMES_MAX: usize = 10;

impl WireEntry {
    /// The entry cut down to a preview: text to `PREVIEW_CHARS_MAX` characters, a creation
    /// notice to its first `PREVIEW_NAMES_MAX` names. Bounds what one conversation costs.
    pub fn preview(message: &Message) -> Self {
        match WireEntry::from_domain(message) {
            WireEntry::Message(mut m) => {
                if let Some((cut, _)) = m.body.char_indices().nth(PREVIEW_CHARS_MAX) {
                    m.body.truncate(cut);
                }
                WireEntry::Message(m)
            }
            WireEntry::Notice(mut n) => {
                if let WireChange::Created { members } = &mut n.change {
                    members.truncate(PREVIEW_NAMES_MAX);
                }
                WireEntry::Notice(n)
            }
        }
    }
}

impl WireConversation {
    pub fn from_domain(summary: &ConversationSummary) -> Self {
        WireConversation {
            with: WireRecipient::from_domain(&summary.with),
            last: summary.last.as_ref().map(WireEntry::preview),
            unread: u32::try_from(summary.unread).unwrap_or(u32::MAX),
            read_up_to: summary.read_up_to.map(|id| id.get()),
        }
    }
}

/// The event that tells connections about a stored message or notice as it happens; a text's
/// names and body move into it rather than being copied (every message sent makes one).
pub fn event_for(message: Message) -> crate::protocol::Event {
    match message {
        Message {
            id,
            sender,
            recipient,
            content: Content::Text(body),
            sent_at,
        } => crate::protocol::Event::Message(WireMessage {
            id: id.get(),
            from: sender.into_string(),
            to: match recipient {
                Recipient::User(name) => WireRecipient::User(name.into_string()),
                Recipient::Group(group) => WireRecipient::Group(group.into_string()),
            },
            body: body.into_string(),
            sent_at_ms: sent_at.as_millisecond(),
        }),
        notice => match WireEntry::from_domain(&notice) {
            WireEntry::Message(m) => crate::protocol::Event::Message(m),
            WireEntry::Notice(n) => crate::protocol::Event::Notice(n),
        },
    }
}

impl WireChange {
    pub fn from_domain(notice: &Notice) -> Self {
        let name = |u: &Username| u.to_string();
        match notice {
            Notice::Created { members } => WireChange::Created {
                members: members.iter().map(name).collect(),
            },
            Notice::Joined { user } => WireChange::Joined { user: name(user) },
            Notice::Left => WireChange::Left,
            Notice::Removed { user } => WireChange::Removed { user: name(user) },
            Notice::NewOwner { user } => WireChange::NewOwner { user: name(user) },
            Notice::NewAdmin { user } => WireChange::NewAdmin { user: name(user) },
        }
    }
}

impl WireRole {
    pub fn from_domain(role: Role) -> Self {
        match role {
            Role::Member => WireRole::Member,
            Role::Admin => WireRole::Admin,
            Role::Owner => WireRole::Owner,
        }
    }
}

impl WireMember {
    pub fn from_domain(member: &Member, online: bool) -> Self {
        WireMember {
            username: member.username.to_string(),
            role: WireRole::from_domain(member.role),
            online,
        }
    }
}

impl ErrorBody {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        ErrorBody {
            code: code.to_string(),
            message: message.into(),
        }
    }

    /// The code and sentence of any domain error.
    pub fn from_error(error: &impl ErrorCode) -> Self {
        ErrorBody::new(error.code(), error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_domain::{MessageBody, MessageId, NewMessage};
    use jiff::Timestamp;

    #[test]
    fn recipients_are_validated_and_lowercased() {
        let to = WireRecipient::User("Bob".into()).to_domain().unwrap();
        assert_eq!(
            WireRecipient::from_domain(&to),
            WireRecipient::User("bob".into())
        );
        assert!(WireRecipient::User("b".into()).to_domain().is_err());
    }

    #[test]
    fn group_recipients_travel_bare() {
        let to = WireRecipient::Group("Team".into()).to_domain().unwrap();
        assert_eq!(to.to_string(), "#team");
        assert_eq!(
            WireRecipient::from_domain(&to),
            WireRecipient::Group("team".into())
        );
        let err = WireRecipient::Group("t".into()).to_domain().unwrap_err();
        assert_eq!(err.code(), "invalid_group_name");
    }

    fn stored(recipient: Recipient, content: Content) -> Message {
        NewMessage {
            sender: Username::parse("alice").unwrap(),
            recipient,
            content,
            sent_at: Timestamp::from_millisecond(1_700_000_000_123).unwrap(),
            client_message_id: None,
        }
        .with_id(MessageId::new(7).unwrap())
    }

    #[test]
    fn messages_carry_every_field() {
        let message = stored(
            Recipient::User(Username::parse("bob").unwrap()),
            Content::Text(MessageBody::new("hi\nthere".into()).unwrap()),
        );
        assert_eq!(
            WireEntry::from_domain(&message),
            WireEntry::Message(WireMessage {
                id: 7,
                from: "alice".into(),
                to: WireRecipient::User("bob".into()),
                body: "hi\nthere".into(),
                sent_at_ms: 1_700_000_000_123,
            })
        );
    }

    #[test]
    fn notices_carry_every_field() {
        let team = GroupName::parse("team").unwrap();
        let bob = Username::parse("bob").unwrap();
        let message = stored(
            Recipient::Group(team),
            Content::Notice(Notice::Removed { user: bob }),
        );
        assert_eq!(
            WireEntry::from_domain(&message),
            WireEntry::Notice(WireNotice {
                id: 7,
                group: "team".into(),
                actor: "alice".into(),
                change: WireChange::Removed { user: "bob".into() },
                at_ms: 1_700_000_000_123,
            })
        );
    }

    #[test]
    fn errors_keep_code_and_sentence() {
        let err = Username::parse("x").unwrap_err();
        let body = ErrorBody::from_error(&err);
        assert_eq!(body.code, "invalid_username");
        assert_eq!(body.message, err.to_string());
    }
}
