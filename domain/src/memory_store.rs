//! An in-memory `Store` for the rules' unit tests only: simple, not fast, and able to fail on cue.

use std::collections::BTreeMap;

use crate::message::{Conversation, Message, MessageId, NewMessage};
use crate::ports::{Inserted, Store, StoreError, UserRecord};
use crate::username::Username;

#[derive(Default)]
pub struct MemoryStore {
    users: BTreeMap<Username, UserRecord>,
    messages: Vec<Message>,
    /// When set, every call fails with this error: how tests reach the storage error paths.
    pub failing: Option<StoreError>,
}

impl MemoryStore {
    fn check(&self) -> Result<(), StoreError> {
        match &self.failing {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }
}

impl Store for MemoryStore {
    fn find_user(&self, username: &Username) -> Result<Option<UserRecord>, StoreError> {
        self.check()?;
        Ok(self.users.get(username).cloned())
    }

    fn insert_user(&mut self, user: &UserRecord) -> Result<Inserted, StoreError> {
        self.check()?;
        if self.users.contains_key(&user.username) {
            return Ok(Inserted::NameTaken);
        }
        self.users.insert(user.username.clone(), user.clone());
        Ok(Inserted::Yes)
    }

    fn append_message(&mut self, message: NewMessage) -> Result<Message, StoreError> {
        self.check()?;
        let id = self
            .messages
            .last()
            .map_or(MessageId::FIRST, |m| m.id.next());
        let message = message.with_id(id);
        self.messages.push(message.clone());
        Ok(message)
    }

    fn history(
        &self,
        conversation: &Conversation,
        before: Option<MessageId>,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        self.check()?;
        let mut page: Vec<Message> = self
            .messages
            .iter()
            .rev()
            .filter(|m| before.is_none_or(|b| m.id < b) && m.conversation() == *conversation)
            .take(limit)
            .cloned()
            .collect();
        page.reverse();
        Ok(page)
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        self.check()
    }
}
