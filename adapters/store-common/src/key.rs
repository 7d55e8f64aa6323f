//! A conversation's key as the stores index it: `d:alice:bob` for a direct conversation (its two
//! people in name order), `g:team` for a group's. `:` is outside the name alphabet, so no two
//! conversations share a key, and the kind letter tells the two kinds apart.

use chat_domain::limits::USERNAME_CHARS_MAX;
use chat_domain::{Conversation, ConversationView, GroupName, Recipient, Username};

/// The longest key: a direct conversation's two longest names (ASCII: a byte a character).
const KEY_BYTES_MAX: usize = 3 + 2 * USERNAME_CHARS_MAX;

/// The conversation's key as text.
pub fn conversation_key(conversation: &Conversation) -> String {
    let mut key = Vec::with_capacity(KEY_BYTES_MAX);
    push_conversation_key(conversation, &mut key);
    // Built from names, which are ASCII, and ASCII separators.
    String::from_utf8(key).unwrap_or_default()
}

/// The key of the conversation a message from `sender` to `recipient` belongs to, without
/// building the conversation.
pub fn message_conversation_key(sender: &Username, recipient: &Recipient) -> String {
    let mut key = Vec::with_capacity(KEY_BYTES_MAX);
    push_message_conversation_key(sender, recipient, &mut key);
    // Built from names, which are ASCII, and ASCII separators.
    String::from_utf8(key).unwrap_or_default()
}

/// Appends the conversation's key to `out`: how a store builds a longer key in one buffer.
pub fn push_conversation_key(conversation: &Conversation, out: &mut Vec<u8>) {
    match conversation.view() {
        ConversationView::Direct { low, high } => push_direct_key(low, high, out),
        ConversationView::Group(group) => push_group_key(group, out),
    }
}

/// Appends the key of the conversation a message from `sender` to `recipient` belongs to.
pub fn push_message_conversation_key(sender: &Username, recipient: &Recipient, out: &mut Vec<u8>) {
    match recipient {
        // The same order as `Conversation::direct`.
        Recipient::User(other) => push_direct_key(sender.min(other), sender.max(other), out),
        Recipient::Group(group) => push_group_key(group, out),
    }
}

fn push_direct_key(low: &Username, high: &Username, out: &mut Vec<u8>) {
    out.extend_from_slice(b"d:");
    out.extend_from_slice(low.as_str().as_bytes());
    out.push(b':');
    out.extend_from_slice(high.as_str().as_bytes());
}

fn push_group_key(group: &GroupName, out: &mut Vec<u8>) {
    out.extend_from_slice(b"g:");
    out.extend_from_slice(group.as_str().as_bytes());
}

/// The conversation whose key `key` is, if it is one.
pub fn conversation_from_key(key: &str) -> Option<Conversation> {
    if let Some(group) = key.strip_prefix("g:") {
        return GroupName::parse(group).ok().map(Conversation::group);
    }
    let (low, high) = key.strip_prefix("d:")?.split_once(':')?;
    let (low, high) = (Username::parse(low).ok()?, Username::parse(high).ok()?);
    // A key out of order is no key we wrote: refused, not put in order.
    (low <= high).then(|| Conversation::direct(low, high))
}

/// Who a message of `conversation` from `sender` was for: the other person of a direct
/// conversation (the sender, in notes to self), or the group. `None` if `sender` is not one of
/// a direct conversation's two people. What lets a store keep the conversation and the sender
/// alone.
pub fn recipient_of(conversation: &Conversation, sender: &Username) -> Option<Recipient> {
    match conversation.view() {
        ConversationView::Direct { low, high } if sender == low => {
            Some(Recipient::User(high.clone()))
        }
        ConversationView::Direct { low, high } if sender == high => {
            Some(Recipient::User(low.clone()))
        }
        ConversationView::Direct { .. } => None,
        ConversationView::Group(group) => Some(Recipient::Group(group.clone())),
    }
}

#[cfg(test)]
mod tests {
    use chat_domain::GroupName;

    use super::*;
    use crate::senders_for_tests::{every_kind_of_sender, user};

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
    fn a_messages_key_is_its_conversations() {
        for (from, to) in every_kind_of_sender() {
            let conversation = Conversation::of(&from, &to);
            let key = message_conversation_key(&from, &to);
            assert_eq!(key, conversation_key(&conversation), "{from} to {to}");
        }
    }

    #[test]
    fn a_key_reads_back_as_its_conversation() {
        let team = Conversation::group(GroupName::parse("team").unwrap());
        let direct = Conversation::direct(user("bob"), user("alice"));
        let notes = Conversation::direct(user("alice"), user("alice"));
        for conversation in [team, direct, notes] {
            let key = conversation_key(&conversation);
            assert_eq!(conversation_from_key(&key), Some(conversation), "{key}");
        }
        for bad in [
            "",
            "d:alice",
            "d:bob:alice",
            "g:",
            "x:team",
            "d:a!:bob",
            "g:team:x",
        ] {
            assert_eq!(conversation_from_key(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_recipient_follows_from_the_conversation_and_the_sender() {
        let ab = Conversation::direct(user("alice"), user("bob"));
        for (from, to) in [("alice", "bob"), ("bob", "alice")] {
            let recipient = Recipient::User(user(to));
            assert_eq!(recipient_of(&ab, &user(from)), Some(recipient.clone()));
            assert_eq!(Conversation::of(&user(from), &recipient), ab);
        }
        assert_eq!(recipient_of(&ab, &user("carol")), None);
        let notes = Conversation::direct(user("alice"), user("alice"));
        let to_self = Some(Recipient::User(user("alice")));
        assert_eq!(recipient_of(&notes, &user("alice")), to_self);
        let team = GroupName::parse("team").unwrap();
        let group = Conversation::group(team.clone());
        assert_eq!(
            recipient_of(&group, &user("carol")),
            Some(Recipient::Group(team))
        );
    }

    #[test]
    fn a_group_has_one_key_whoever_sends() {
        let team = GroupName::parse("team").unwrap();
        let conversation = Conversation::of(&user("alice"), &Recipient::Group(team));
        assert_eq!(conversation_key(&conversation), "g:team");
    }
}
