//! A conversation's key as the stores index it: `d:alice:bob` for a direct conversation (its two
//! people in name order), `g:team` for a group's. `:` is outside the name alphabet, so no two
//! conversations share a key, and the kind letter tells the two kinds apart.

use chat_domain::Conversation;

/// The conversation's key as text.
pub fn conversation_key(conversation: &Conversation) -> String {
    let mut key = Vec::with_capacity(key_bytes(conversation));
    push_conversation_key(conversation, &mut key);
    // Built from names, which are ASCII, and ASCII separators.
    String::from_utf8(key).unwrap_or_default()
}

/// Appends the conversation's key to `out`: how a store builds a longer key in one buffer.
pub fn push_conversation_key(conversation: &Conversation, out: &mut Vec<u8>) {
    match conversation {
        Conversation::Direct { low, high } => {
            out.extend_from_slice(b"d:");
            out.extend_from_slice(low.as_str().as_bytes());
            out.push(b':');
            out.extend_from_slice(high.as_str().as_bytes());
        }
        Conversation::Group(group) => {
            out.extend_from_slice(b"g:");
            out.extend_from_slice(group.as_str().as_bytes());
        }
    }
}

/// How long the key is.
fn key_bytes(conversation: &Conversation) -> usize {
    match conversation {
        Conversation::Direct { low, high } => 3 + low.as_str().len() + high.as_str().len(),
        Conversation::Group(group) => 2 + group.as_str().len(),
    }
}

#[cfg(test)]
mod tests {
    use chat_domain::{GroupName, Recipient, Username};

    use super::*;

    fn user(name: &str) -> Username {
        Username::parse(name).unwrap()
    }

    #[test]
    fn a_direct_conversation_has_one_key_from_both_sides() {
        let ab = Conversation::direct(user("alice"), user("bob"));
        let ba = Conversation::direct(user("bob"), user("alice"));
        assert_eq!(conversation_key(&ab), "d:alice:bob");
        assert_eq!(conversation_key(&ba), "d:alice:bob");
    }

    #[test]
    fn keys_never_collide_on_prefixes() {
        // "ab"+"c" and "a"+"bc" would collide in a naive concatenation.
        let one = Conversation::direct(user("abc"), user("abcd"));
        let two = Conversation::direct(user("abca"), user("bcd"));
        assert_ne!(conversation_key(&one), conversation_key(&two));
    }

    #[test]
    fn a_group_has_one_key_whoever_sends() {
        let team = GroupName::parse("team").unwrap();
        let conversation = Conversation::of(&user("alice"), &Recipient::Group(team));
        assert_eq!(conversation_key(&conversation), "g:team");
    }
}
