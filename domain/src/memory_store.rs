//! An in-memory `Store` for the rules' unit tests only: simple, not fast, and able to fail on cue.

use std::collections::{BTreeMap, BTreeSet};

use crate::group::{GroupName, GroupRecord, Member, Role};
use crate::message::{ClientMessageId, Conversation, Message, MessageId, NewMessage};
use crate::ports::{GroupWrite, Inserted, Store, StoreError, StoreReads, UserRecord};
use crate::username::Username;

#[derive(Default)]
pub struct MemoryStore {
    users: BTreeMap<Username, UserRecord>,
    messages: Vec<Message>,
    /// The client message id of each message in `messages`, at the same index.
    client_message_ids: Vec<Option<ClientMessageId>>,
    groups: BTreeMap<GroupName, GroupRecord>,
    members: BTreeMap<(GroupName, Username), Member>,
    partners: BTreeSet<(Username, Username)>,
    read_markers: BTreeMap<(Username, Conversation), MessageId>,
    /// When set, every call fails with this error: how tests reach the storage error paths.
    pub failing: Option<StoreError>,
    /// When set, becomes `failing` once a group write has been applied: a store that breaks
    /// between a command's write and anything it reads after.
    pub failing_after_group_write: Option<StoreError>,
}

impl MemoryStore {
    fn check(&self) -> Result<(), StoreError> {
        match &self.failing {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// The id the next message stored gets.
    fn next_id(&self) -> MessageId {
        self.messages
            .last()
            .map_or(MessageId::FIRST, |m| m.id.next())
    }

    /// `write`'s memberships as they will be, or an error if it changes the role of someone
    /// who is not a member.
    fn members_after(
        &self,
        write: &GroupWrite,
        since: MessageId,
    ) -> Result<Vec<Member>, StoreError> {
        let mut changed: Vec<Member> = write
            .add
            .iter()
            .map(|(username, role)| Member {
                username: username.clone(),
                role: *role,
                since,
            })
            .collect();
        for (username, role) in &write.set_roles {
            let key = (write.group.clone(), username.clone());
            let Some(member) = self.members.get(&key) else {
                return Err(StoreError::Corrupt(format!("{username} is not a member")));
            };
            changed.push(Member {
                role: *role,
                ..member.clone()
            });
        }
        Ok(changed)
    }
}

impl StoreReads for MemoryStore {
    fn find_user(&self, username: &Username) -> Result<Option<UserRecord>, StoreError> {
        self.check()?;
        Ok(self.users.get(username).cloned())
    }

    fn user_exists(&self, username: &Username) -> Result<bool, StoreError> {
        self.check()?;
        Ok(self.users.contains_key(username))
    }

    fn find_resent(
        &self,
        conversation: &Conversation,
        sender: &Username,
        client_message_id: ClientMessageId,
        window: usize,
    ) -> Result<Option<Message>, StoreError> {
        self.check()?;
        Ok(self
            .messages
            .iter()
            .zip(&self.client_message_ids)
            .rev()
            .filter(|(m, _)| m.conversation() == *conversation)
            .take(window)
            .find(|(m, id)| m.sender == *sender && **id == Some(client_message_id))
            .map(|(m, _)| m.clone()))
    }

    fn history(
        &self,
        conversation: &Conversation,
        since: MessageId,
        before: Option<MessageId>,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        self.check()?;
        let mut page: Vec<Message> = self
            .messages
            .iter()
            .rev()
            .filter(|m| {
                m.id >= since
                    && before.is_none_or(|b| m.id < b)
                    && m.conversation() == *conversation
            })
            .take(limit)
            .cloned()
            .collect();
        page.reverse();
        Ok(page)
    }

    fn after(
        &self,
        conversation: &Conversation,
        after: Option<MessageId>,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        self.check()?;
        Ok(self
            .messages
            .iter()
            .filter(|m| after.is_none_or(|after| m.id > after))
            .filter(|m| m.conversation() == *conversation)
            .take(limit)
            .cloned()
            .collect())
    }

    fn count_from_others(
        &self,
        conversation: &Conversation,
        after: Option<MessageId>,
        reader: &Username,
        cap: usize,
        scan_max: usize,
    ) -> Result<usize, StoreError> {
        Ok(self
            .after(conversation, after, scan_max)?
            .iter()
            .filter(|m| m.sender != *reader)
            .take(cap)
            .count())
    }

    fn partners(&self, user: &Username) -> Result<Vec<Username>, StoreError> {
        self.check()?;
        Ok(self
            .partners
            .iter()
            .filter(|(of, _)| of == user)
            .map(|(_, other)| other.clone())
            .collect())
    }

    fn read_marker(
        &self,
        user: &Username,
        conversation: &Conversation,
    ) -> Result<Option<MessageId>, StoreError> {
        self.check()?;
        Ok(self
            .read_markers
            .get(&(user.clone(), conversation.clone()))
            .copied())
    }

    fn find_group(&self, name: &GroupName) -> Result<Option<GroupRecord>, StoreError> {
        self.check()?;
        Ok(self.groups.get(name).cloned())
    }

    fn member(&self, group: &GroupName, user: &Username) -> Result<Option<Member>, StoreError> {
        self.check()?;
        Ok(self.members.get(&(group.clone(), user.clone())).cloned())
    }

    fn members(&self, group: &GroupName) -> Result<Vec<Member>, StoreError> {
        self.check()?;
        Ok(self
            .members
            .iter()
            .filter(|((g, _), _)| g == group)
            .map(|(_, member)| member.clone())
            .collect())
    }

    fn groups_of(&self, user: &Username) -> Result<Vec<(GroupName, Role)>, StoreError> {
        self.check()?;
        Ok(self
            .members
            .iter()
            .filter(|((_, u), _)| u == user)
            .map(|((g, _), member)| (g.clone(), member.role))
            .collect())
    }
}

impl Store for MemoryStore {
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
        let id = self.next_id();
        self.client_message_ids.push(message.client_message_id);
        if let crate::message::Recipient::User(to) = &message.recipient {
            self.partners.insert((message.sender.clone(), to.clone()));
            self.partners.insert((to.clone(), message.sender.clone()));
        }
        let message = message.with_id(id);
        self.messages.push(message.clone());
        Ok(message)
    }

    fn set_read_marker(
        &mut self,
        user: &Username,
        conversation: &Conversation,
        up_to: MessageId,
    ) -> Result<(), StoreError> {
        self.check()?;
        self.read_markers
            .insert((user.clone(), conversation.clone()), up_to);
        Ok(())
    }

    fn write_group(&mut self, write: GroupWrite) -> Result<Option<Message>, StoreError> {
        self.check()?;
        let first_message = self.next_id();
        // Checked before anything is written: all of the write or none of it.
        let changed = self.members_after(&write, first_message)?;
        let notice = match write.notice {
            Some(notice) => Some(self.append_message(notice)?),
            None => None,
        };
        let name = write.group;
        if let Some(created_at) = write.create {
            self.groups.insert(
                name.clone(),
                GroupRecord {
                    name: name.clone(),
                    created_at,
                    first_message,
                },
            );
        }
        for member in changed {
            self.members
                .insert((name.clone(), member.username.clone()), member);
        }
        for user in write.remove {
            self.members.remove(&(name.clone(), user));
        }
        if write.end {
            self.groups.remove(&name);
            self.members.retain(|(group, _), _| *group != name);
        }
        if let Some(e) = self.failing_after_group_write.take() {
            self.failing = Some(e);
        }
        Ok(notice)
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        self.check()
    }
}
