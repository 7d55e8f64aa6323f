//! Conversions between wire values and domain values. Incoming text is validated here by the
//! domain's own constructors, so a request that converts is a request the rules can take.

use chat_domain::error::ErrorCode;
use chat_domain::{Message, Recipient, Username, UsernameError};

use crate::protocol::{ErrorBody, WireMessage, WireRecipient};

impl WireRecipient {
    pub fn to_domain(&self) -> Result<Recipient, UsernameError> {
        match self {
            WireRecipient::User(name) => Username::parse(name).map(Recipient::User),
        }
    }

    pub fn from_domain(recipient: &Recipient) -> Self {
        match recipient {
            Recipient::User(name) => WireRecipient::User(name.to_string()),
        }
    }
}

impl WireMessage {
    pub fn from_domain(message: &Message) -> Self {
        WireMessage {
            id: message.id.get(),
            from: message.sender.to_string(),
            to: WireRecipient::from_domain(&message.recipient),
            body: message.body.as_str().to_string(),
            sent_at_ms: message.sent_at.as_millisecond(),
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
    fn messages_carry_every_field() {
        let message = NewMessage {
            sender: Username::parse("alice").unwrap(),
            recipient: Recipient::User(Username::parse("bob").unwrap()),
            body: MessageBody::new("hi\nthere".into()).unwrap(),
            sent_at: Timestamp::from_millisecond(1_700_000_000_123).unwrap(),
        }
        .with_id(MessageId::new(7));
        let wire = WireMessage::from_domain(&message);
        assert_eq!(
            wire,
            WireMessage {
                id: 7,
                from: "alice".into(),
                to: WireRecipient::User("bob".into()),
                body: "hi\nthere".into(),
                sent_at_ms: 1_700_000_000_123,
            }
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
