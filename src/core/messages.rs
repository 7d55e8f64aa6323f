//! The messages family: Send and Resend (validated, rate-limited, stored by the domain's rules,
//! acknowledged after the commit and delivered to every connection of the audience), and
//! History.

use chat_domain::recent_sends::Original;
use chat_domain::rules::{self, Attempt, Sent};
use chat_domain::{MessageBody, MessageId, Recipient, Store, Username};
use chat_wire::{HistoryPage as WireHistoryPage, Reply, ServerFrame, WireEntry, WireRecipient};

use super::fit::fit_history;
use super::{ConnId, Core, OnCommitFailure};

/// A Send or a Resend as it came off the wire.
pub(super) struct Sending {
    client_message_id: u64,
    resend: bool,
    to: WireRecipient,
    body: String,
}

impl Sending {
    pub(super) fn first(client_message_id: u64, to: WireRecipient, body: String) -> Self {
        Sending {
            client_message_id,
            resend: false,
            to,
            body,
        }
    }

    pub(super) fn again(client_message_id: u64, to: WireRecipient, body: String) -> Self {
        Sending {
            resend: true,
            ..Sending::first(client_message_id, to, body)
        }
    }
}

impl<S: Store> Core<S> {
    pub(super) fn send(&mut self, conn: ConnId, id: u32, sender: &Username, sending: Sending) {
        let recipient = match sending.to.to_domain() {
            Ok(recipient) => recipient,
            Err(e) => return self.refuse(conn, id, &e),
        };
        let body = match MessageBody::new(sending.body) {
            Ok(body) => body,
            Err(e) => return self.refuse(conn, id, &e),
        };
        let attempt = match Attempt::from_wire(sending.client_message_id, sending.resend) {
            Ok(attempt) => attempt,
            Err(e) => return self.refuse(conn, id, &e),
        };
        if let Err(e) = self.guards.may_send(sender, self.clock.since_start) {
            return self.refuse(conn, id, &e);
        }
        let outgoing = rules::Outgoing {
            recipient,
            body,
            attempt,
        };
        let sent = rules::send(
            &mut self.store,
            &mut self.recent_sends,
            sender,
            outgoing,
            self.clock.wall,
        );
        let (ack, delivery) = match sent {
            Ok(Sent::Stored(delivery)) => {
                if let Some(number) = attempt.number() {
                    self.numbers_this_batch.push((sender.clone(), number));
                }
                (Original::of(&delivery.message), Some(delivery))
            }
            Ok(Sent::Before(original)) => (original, None),
            Err(e) => return self.refuse(conn, id, &e),
        };
        let reply = Reply::Sent {
            message_id: ack.id.get(),
            sent_at_ms: ack.sent_at.as_millisecond(),
        };
        self.reply_stored(conn, id, reply);
        if let Some(delivery) = delivery {
            let event = ServerFrame::Event(chat_wire::convert::event_for(delivery.message));
            self.deliver(conn, &delivery.audience, event);
        }
    }

    pub(super) fn history(
        &mut self,
        conn: ConnId,
        id: u32,
        reader: &Username,
        with: WireRecipient,
        before: Option<u64>,
        limit: Option<u32>,
    ) {
        let with = match with.to_domain() {
            Ok(with) => with,
            Err(e) => return self.refuse(conn, id, &e),
        };
        // Before 0 is before the first id, as before 1 is: nothing, an empty page.
        let before = before.map(|raw| MessageId::new(raw).unwrap_or(MessageId::FIRST));
        let paging = self.settings.history;
        let page = match rules::history(&self.store, reader, &with, before, limit, paging) {
            Ok(page) => fit_history(page, self.settings.frame_bytes_max),
            Err(e) => return self.refuse(conn, id, &e),
        };
        let reply = match with {
            Recipient::User(_) => Reply::History(WireHistoryPage {
                messages: page
                    .entries
                    .into_iter()
                    .filter_map(|entry| match entry {
                        WireEntry::Message(m) => Some(m),
                        // Notices are written to groups only.
                        WireEntry::Notice(_) => None,
                    })
                    .collect(),
                has_more: page.has_more,
                limit: page.limit,
                clamped: page.clamped,
            }),
            Recipient::Group(_) => Reply::Timeline(page),
        };
        let frame = ServerFrame::Reply { id, reply };
        self.send_frame(conn, frame, OnCommitFailure::ReplyError(id));
    }
}

#[cfg(test)]
mod tests;
