//! The senders and recipients the crate's tests go through: each side of a direct
//! conversation, notes to oneself, and a group.

use chat_domain::{GroupName, Recipient, Username};

pub fn user(name: &str) -> Username {
    Username::parse(name).unwrap()
}

/// Every kind of sender a conversation has, with where each sends.
pub fn every_kind_of_sender() -> [(Username, Recipient); 4] {
    [
        (user("alice"), Recipient::User(user("bob"))),
        (user("bob"), Recipient::User(user("alice"))),
        (user("alice"), Recipient::User(user("alice"))),
        (
            user("carol"),
            Recipient::Group(GroupName::parse("team").unwrap()),
        ),
    ]
}
