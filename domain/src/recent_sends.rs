//! The client message ids each sender used lately, with the id and time of the message each one
//! stored. A `Send` or `Resend` that carries one of them again is answered with the original,
//! however busy its conversation has been since: a client resends what was unacknowledged when
//! its link dropped, and TCP may still deliver a late original on the link it gave up on.

use std::collections::{HashMap, VecDeque};

use jiff::{SignedDuration, Timestamp};

use crate::limits::{RECENT_SENDERS_MAX, RECENT_SENDS_FOR_SECS, RECENT_SENDS_PER_SENDER};
use crate::{ClientMessageId, Message, MessageId, Username};

/// What a client message id stored: the acknowledgement a repeat of it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Original {
    pub id: MessageId,
    pub sent_at: Timestamp,
}

impl Original {
    pub fn of(message: &Message) -> Self {
        Original {
            id: message.id,
            sent_at: message.sent_at,
        }
    }
}

/// The newest `RECENT_SENDS_PER_SENDER` ids of each of at most `RECENT_SENDERS_MAX` senders,
/// each kept `RECENT_SENDS_FOR_SECS` after its message was sent. A sender past either bound is
/// looked up in the store instead (`Store::find_resent`, on a resend only).
#[derive(Debug, Default)]
pub struct RecentSends {
    by_sender: HashMap<Username, VecDeque<(ClientMessageId, Original)>>,
}

impl RecentSends {
    /// The message `sender` stored lately under `id`, if it is remembered. A linear scan: a
    /// sender holds a few hundred entries of 32 bytes.
    pub fn find(&self, sender: &Username, id: ClientMessageId) -> Option<Original> {
        self.by_sender
            .get(sender)?
            .iter()
            .find(|(remembered, _)| *remembered == id)
            .map(|(_, original)| *original)
    }

    /// Remembers that `sender`'s `id` stored `original`, forgetting the sender's oldest past
    /// the bound. A new sender is not remembered while `RECENT_SENDERS_MAX` others are.
    pub fn record(&mut self, sender: &Username, id: ClientMessageId, original: Original) {
        if !self.by_sender.contains_key(sender) {
            if self.by_sender.len() >= RECENT_SENDERS_MAX {
                return;
            }
            self.by_sender.insert(sender.clone(), VecDeque::new());
        }
        if let Some(ids) = self.by_sender.get_mut(sender) {
            if ids.len() >= RECENT_SENDS_PER_SENDER {
                ids.pop_front();
            }
            ids.push_back((id, original));
        }
    }

    /// Forgets `sender`'s `id`: what it stored was not committed after all.
    pub fn forget(&mut self, sender: &Username, id: ClientMessageId) {
        if let Some(ids) = self.by_sender.get_mut(sender) {
            ids.retain(|(remembered, _)| *remembered != id);
            if ids.is_empty() {
                self.by_sender.remove(sender);
            }
        }
    }

    /// Forgets ids whose messages were sent more than `RECENT_SENDS_FOR_SECS` before `now`,
    /// and senders left with none.
    pub fn forget_old(&mut self, now: Timestamp) {
        let kept_for = SignedDuration::from_secs(RECENT_SENDS_FOR_SECS);
        self.by_sender.retain(|_, ids| {
            while ids
                .front()
                .is_some_and(|(_, original)| now.duration_since(original.sent_at) > kept_for)
            {
                ids.pop_front();
            }
            !ids.is_empty()
        });
    }

    /// Senders remembered now.
    pub fn senders(&self) -> usize {
        self.by_sender.len()
    }
}

#[cfg(test)]
mod tests;
