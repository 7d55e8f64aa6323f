//! The inbox family: the conversation list, read markers shared by a user's devices, and
//! catching up after time away. Each hands its work to `chat_domain::rules::inbox`.

use chat_domain::rules::inbox;
use chat_domain::{Conversation, MessageId, Store, Username};
use chat_wire::{Event, Reply, ServerFrame, TimelinePage, WireRecipient};

use super::fit::{fit_conversations, fit_oldest};
use super::{ConnId, Core};

impl<S: Store> Core<S> {
    pub(super) fn conversations(&mut self, conn: ConnId, id: u32, user: &Username) {
        match inbox::conversations(&self.store, user) {
            Ok(summaries) => {
                let page = fit_conversations(&summaries, self.settings.frame_bytes_max);
                self.reply_stored(conn, id, Reply::Conversations(page));
            }
            Err(e) => self.refuse(conn, id, &e),
        }
    }

    pub(super) fn mark_read(
        &mut self,
        conn: ConnId,
        id: u32,
        user: &Username,
        with: WireRecipient,
        up_to: u64,
    ) {
        let recipient = match with.to_domain() {
            Ok(recipient) => recipient,
            Err(e) => return self.refuse(conn, id, &e),
        };
        let old = match self
            .store
            .read_marker(user, &Conversation::of(user, &recipient))
        {
            Ok(old) => old,
            Err(e) => return self.refuse(conn, id, &e),
        };
        // 0 on the wire is no message: marking up to it marks nothing, and the answer is the
        // marker as it is.
        let up_to = MessageId::new(up_to);
        match inbox::mark_read(&mut self.store, user, &recipient, up_to) {
            Ok(marker) => {
                let reply = Reply::Marked {
                    up_to: marker.map(MessageId::get),
                };
                self.reply_stored(conn, id, reply);
                // The user's other devices move their marker too.
                if let Some(marker) = marker.filter(|m| Some(*m) != old) {
                    // As stored, not as spelled: the other devices key conversations by it.
                    let event = ServerFrame::Event(Event::Read {
                        with: WireRecipient::from_domain(&recipient),
                        up_to: marker.get(),
                    });
                    self.deliver(conn, std::slice::from_ref(user), event);
                }
            }
            Err(e) => self.refuse(conn, id, &e),
        }
    }

    pub(super) fn catch_up(
        &mut self,
        conn: ConnId,
        id: u32,
        user: &Username,
        after: u64,
        limit: Option<u32>,
    ) {
        let paging = self.settings.history;
        // 0 on the wire is before the first message: catch up from the start.
        let after = MessageId::new(after);
        match inbox::catch_up(&self.store, user, after, limit, paging) {
            Ok(page) => {
                let fitted = fit_oldest(&page.messages, self.settings.frame_bytes_max);
                let reply = Reply::CaughtUp(TimelinePage {
                    has_more: page.has_more || fitted.len() < page.messages.len(),
                    entries: fitted,
                    limit: page.limit,
                    clamped: page.clamped,
                });
                self.reply_stored(conn, id, reply);
            }
            Err(e) => self.refuse(conn, id, &e),
        }
    }
}

#[cfg(test)]
mod tests;
