//! Fuzzes every domain constructor that takes outside input: none may panic, what one accepts
//! must hold its invariant, and parsing what it holds gives it back.
#![no_main]

use std::time::Duration;

use chat_domain::error::{ErrorCode, is_snake_case};
use chat_domain::group::Role;
use chat_domain::rate::RateLimit;
use chat_domain::{
    ClientMessageId, Content, Conversation, GroupName, MessageBody, MessageId, Password, Username,
};
use chat_store_common::{content_from_stored, stored_content};
use libfuzzer_sys::fuzz_target;

fn checked<T, E: ErrorCode>(result: Result<T, E>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(e) => {
            assert!(is_snake_case(e.code()), "{}", e.code());
            assert!(!e.to_string().is_empty());
            None
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    if let Some(name) = checked(Username::parse(&text)) {
        assert_eq!(name.as_str(), name.as_str().to_lowercase());
        assert_eq!(Username::parse(name.as_str()), Ok(name.clone()));
    }
    // Two names, either way round, are one direct conversation, held in order.
    if let Some((Ok(a), Ok(b))) = text
        .split_once(' ')
        .map(|(first, second)| (Username::parse(first), Username::parse(second)))
    {
        let ab = Conversation::direct(a.clone(), b.clone());
        assert_eq!(ab, Conversation::direct(b, a));
        let (low, high) = ab.as_direct().expect("direct");
        assert!(low <= high);
    }
    if let Some(group) = checked(GroupName::parse(&text)) {
        // Bare on the wire, with its `#` as people write it: each reads back the same group.
        assert_eq!(GroupName::parse(group.as_str()), Ok(group.clone()));
        assert_eq!(GroupName::typed(&group.to_string()), Ok(group.clone()));
        assert!(GroupName::parse(&group.to_string()).is_err());
    }
    if let Some(group) = checked(GroupName::typed(&text)) {
        assert_eq!(GroupName::typed(&group.to_string()), Ok(group));
    }
    if let Some(password) = checked(Password::new(text.clone())) {
        assert_eq!(password.as_str(), text);
    }
    if let Some(body) = checked(MessageBody::new(text.clone())) {
        assert!(!body.as_str().trim().is_empty());
        assert!(body.as_str().chars().count() <= chat_domain::limits::BODY_CHARS_MAX);
        // Stored and read back, a text is itself.
        let content = Content::Text(body);
        let stored = stored_content(&content).into_owned();
        assert_eq!(content_from_stored(stored).ok(), Some(content));
    }
    // Whatever a store holds, reading it back never panics.
    let _ = content_from_stored(text.clone());
    if let Some(role) = Role::parse(&text) {
        assert_eq!(role.as_str(), text);
    }
    if data.len() >= 12 {
        let raw = u64::from_le_bytes(data[..8].try_into().expect("8 bytes"));
        assert_eq!(
            ClientMessageId::new(raw).map(|id| id.get()),
            (raw != 0).then_some(raw)
        );
        // A message id is never 0; what one holds is what it was given.
        let id = MessageId::new(raw);
        assert_eq!(id.map(MessageId::get), (raw != 0).then_some(raw));
        if let Some(id) = id {
            assert!(id >= MessageId::FIRST);
            assert!(id.next() >= id);
            assert_eq!(id.prev().map_or(0, MessageId::get), raw - 1);
        }
        let count = u32::from_le_bytes(data[8..12].try_into().expect("4 bytes"));
        let limit = RateLimit::per(count, Duration::from_millis(raw % 1_000_000_000));
        let now = Duration::from_millis(raw % 86_400_000);
        let after = limit.take(None, now).expect("a fresh bucket allows one");
        let _ = limit.take(Some(after), now);
    }
});
