//! A message's content as both stores keep it, in one text column or field: a text as it is; a
//! notice as NUL, its verb and its names split by spaces (`"\0joined bob"`). No text starts with
//! NUL (bodies hold no control characters) and no name holds a space, so the two never mix.

use std::borrow::Cow;
use std::fmt;

use chat_domain::{Content, MessageBody, Notice, Username};

/// Stored content that does not decode: the store was damaged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredContentError(pub String);

impl fmt::Display for StoredContentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "stored content does not decode: {}", self.0)
    }
}

/// The stored form; a text is borrowed, not copied.
pub fn stored_content(content: &Content) -> Cow<'_, str> {
    match content {
        Content::Text(body) => Cow::Borrowed(body.as_str()),
        Content::Notice(notice) => Cow::Owned(format!("\0{}", stored_notice(notice))),
    }
}

/// The notice's verb and names, in the words `content_from_stored` reads back. The words are
/// spelled here, not taken from `Notice::verb`, so that rewording what people see never
/// changes what stores read back.
fn stored_notice(notice: &Notice) -> String {
    let verb = match notice {
        Notice::Created { .. } => "created",
        Notice::Joined { .. } => "joined",
        Notice::Left => "left",
        Notice::Removed { .. } => "removed",
        Notice::NewOwner { .. } => "owner",
        Notice::NewAdmin { .. } => "admin",
    };
    let mut stored = verb.to_string();
    for name in notice.names() {
        stored.push(' ');
        stored.push_str(name.as_str());
    }
    stored
}

/// The inverse of `stored_content`.
pub fn content_from_stored(stored: String) -> Result<Content, StoredContentError> {
    let Some(notice) = stored.strip_prefix('\0') else {
        return MessageBody::new(stored)
            .map(Content::Text)
            .map_err(|e| StoredContentError(e.to_string()));
    };
    notice_from_stored(notice).map(Content::Notice)
}

fn notice_from_stored(stored: &str) -> Result<Notice, StoredContentError> {
    let mut words = stored.split(' ');
    let verb = words.next().unwrap_or_default();
    let names = words
        .map(Username::parse)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| StoredContentError(e.to_string()))?;
    let one = |names: Vec<Username>| match <[Username; 1]>::try_from(names) {
        Ok([user]) => Ok(user),
        Err(names) => Err(StoredContentError(format!(
            "{verb} names {} users, not one",
            names.len()
        ))),
    };
    Ok(match verb {
        "created" => Notice::Created { members: names },
        "joined" => Notice::Joined { user: one(names)? },
        "left" if names.is_empty() => Notice::Left,
        "removed" => Notice::Removed { user: one(names)? },
        "owner" => Notice::NewOwner { user: one(names)? },
        "admin" => Notice::NewAdmin { user: one(names)? },
        other => return Err(StoredContentError(format!("unknown notice {other:?}"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str) -> Username {
        Username::parse(name).unwrap()
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
            let stored = stored_content(&content).into_owned();
            assert_eq!(
                content_from_stored(stored.clone()),
                Ok(content),
                "{stored:?}"
            );
        }
        let joined = Content::Notice(Notice::Joined { user: user("bob") });
        assert_eq!(stored_content(&joined), "\0joined bob");
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
            assert!(content_from_stored(bad.to_string()).is_err(), "{bad:?}");
        }
    }
}
