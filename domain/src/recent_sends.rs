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
    by_sender: HashMap<Username, SenderSends>,
}

/// One sender's numbers: looked up by number, forgotten oldest first.
#[derive(Debug, Default)]
struct SenderSends {
    by_number: HashMap<ClientMessageId, Original>,
    order: VecDeque<ClientMessageId>,
}

impl RecentSends {
    /// The message `sender` stored lately under `id`, if it is remembered.
    pub fn find(&self, sender: &Username, id: ClientMessageId) -> Option<Original> {
        self.by_sender.get(sender)?.by_number.get(&id).copied()
    }

    /// Remembers that `sender`'s `id` stored `original`, forgetting the sender's oldest past
    /// the bound. A new sender is not remembered while `RECENT_SENDERS_MAX` others are.
    pub fn record(&mut self, sender: &Username, id: ClientMessageId, original: Original) {
        // Looked up by reference: a sender seen before costs no clone of the name.
        let full = self.by_sender.len() >= RECENT_SENDERS_MAX;
        let sends = match self.by_sender.get_mut(sender) {
            Some(sends) => sends,
            None if full => return,
            None => self.by_sender.entry(sender.clone()).or_default(),
        };
        if sends.by_number.insert(id, original).is_none() {
            sends.order.push_back(id);
        }
        if sends.order.len() > RECENT_SENDS_PER_SENDER
            && let Some(oldest) = sends.order.pop_front()
        {
            sends.by_number.remove(&oldest);
        }
    }

    /// Forgets `sender`'s `id`: what it stored was not committed after all.
    pub fn forget(&mut self, sender: &Username, id: ClientMessageId) {
        if let Some(sends) = self.by_sender.get_mut(sender) {
            sends.by_number.remove(&id);
            sends.order.retain(|remembered| *remembered != id);
            if sends.order.is_empty() {
                self.by_sender.remove(sender);
            }
        }
    }

    /// Forgets ids whose messages were sent more than `RECENT_SENDS_FOR_SECS` before `now`,
    /// and senders left with none.
    pub fn forget_old(&mut self, now: Timestamp) {
        let kept_for = SignedDuration::from_secs(RECENT_SENDS_FOR_SECS);
        self.by_sender.retain(|_, sends| {
            while let Some(oldest) = sends.order.front()
                && sends
                    .by_number
                    .get(oldest)
                    .is_none_or(|original| now.duration_since(original.sent_at) > kept_for)
            {
                sends.by_number.remove(oldest);
                sends.order.pop_front();
            }
            !sends.order.is_empty()
        });
    }

    /// Senders remembered now.
    pub fn senders(&self) -> usize {
        self.by_sender.len()
    }
}

#[cfg(test)]
mod tests;
