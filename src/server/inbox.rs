//! The inbox requests: the conversation list, read markers shared by a user's devices, and
//! catching up after time away. Each hands its work to `chat_domain::rules::inbox`.

use chat_domain::error::ErrorCode;
use chat_domain::rules::inbox::{self, ConversationSummary};
use chat_domain::{Message, MessageId, Username};
use chat_wire::{
    Event, InboxPage, Reply, ServerFrame, TimelinePage, WireConversation, WireEntry, WireRecipient,
};
use mio::Token;

use super::requests::entry_bytes;
use super::{OnCommitFailure, Server};

/// Bytes a conversation in the list may need beyond its preview: tags, lengths, ids, counts.
const CONVERSATION_OVERHEAD_BYTES: usize = 64;
/// Bytes a page reply needs beyond its entries.
const PAGE_OVERHEAD_BYTES: usize = 32;

impl<S: chat_domain::Store> Server<S> {
    pub(super) fn conversations_request(&mut self, token: Token, id: u32, user: &Username) {
        match inbox::conversations(&self.store, user) {
            Ok(summaries) => {
                let page = fit_conversations(&summaries, self.config.limits.frame_bytes_max);
                self.reply_read(token, id, Reply::Conversations(page));
            }
            Err(e) => self.reply_error(token, id, e.code(), e.to_string()),
        }
    }

    pub(super) fn mark_read_request(
        &mut self,
        token: Token,
        id: u32,
        user: &Username,
        (with, up_to): (WireRecipient, u64),
    ) {
        let recipient = match with.to_domain() {
            Ok(recipient) => recipient,
            Err(e) => return self.reply_error(token, id, e.code(), e.to_string()),
        };
        let before = chat_domain::Conversation::of(user, &recipient);
        let old = self.store.read_marker(user, &before).ok().flatten();
        match inbox::mark_read(&mut self.store, user, &recipient, MessageId::new(up_to)) {
            Ok(marker) => {
                self.store_dirty = true;
                let reply = Reply::Marked {
                    up_to: marker.map(MessageId::get),
                };
                self.queue(
                    token,
                    ServerFrame::Reply { id, reply },
                    OnCommitFailure::ReplyError(id),
                );
                // The user's other devices move their marker too.
                if let Some(marker) = marker.filter(|m| Some(*m) != old) {
                    // As stored, not as spelled: the other devices key conversations by it.
                    let event = ServerFrame::Event(Event::Read {
                        with: WireRecipient::from_domain(&recipient),
                        up_to: marker.get(),
                    });
                    self.fan_out(token, std::slice::from_ref(user), event);
                }
            }
            Err(e) => self.reply_error(token, id, e.code(), e.to_string()),
        }
    }

    pub(super) fn catch_up_request(
        &mut self,
        token: Token,
        id: u32,
        user: &Username,
        (after, limit): (u64, Option<u32>),
    ) {
        let paging = self.config.limits.history;
        match inbox::catch_up(&self.store, user, MessageId::new(after), limit, paging) {
            Ok(page) => {
                let frame_bytes_max = self.config.limits.frame_bytes_max;
                let fitted = fit_oldest(&page.messages, frame_bytes_max);
                let reply = Reply::CaughtUp(TimelinePage {
                    has_more: page.has_more || fitted.len() < page.messages.len(),
                    entries: fitted,
                    limit: page.limit,
                    clamped: page.clamped,
                });
                self.reply_read(token, id, reply);
            }
            Err(e) => self.reply_error(token, id, e.code(), e.to_string()),
        }
    }
}

/// The oldest messages of `messages` that fit one frame, as wire entries.
fn fit_oldest(messages: &[Message], frame_bytes_max: usize) -> Vec<WireEntry> {
    let mut budget = frame_bytes_max.saturating_sub(PAGE_OVERHEAD_BYTES);
    let mut entries = Vec::new();
    for message in messages {
        let cost = entry_bytes(message);
        if cost > budget {
            break;
        }
        budget -= cost;
        entries.push(WireEntry::from_domain(message));
    }
    entries
}

/// The newest conversations whose previews fit one frame.
fn fit_conversations(summaries: &[ConversationSummary], frame_bytes_max: usize) -> InboxPage {
    let mut budget = frame_bytes_max.saturating_sub(PAGE_OVERHEAD_BYTES);
    let mut conversations = Vec::new();
    for summary in summaries {
        let conversation = WireConversation::from_domain(summary);
        let preview_bytes = match &conversation.last {
            Some(WireEntry::Message(m)) => m.body.len() + m.from.len(),
            Some(WireEntry::Notice(n)) => {
                n.actor.len() + n.group.len() + 33 * chat_wire::convert::PREVIEW_NAMES_MAX
            }
            None => 0,
        };
        let cost = CONVERSATION_OVERHEAD_BYTES + 2 * 33 + preview_bytes;
        if cost > budget {
            break;
        }
        budget -= cost;
        conversations.push(conversation);
    }
    InboxPage {
        complete: conversations.len() == summaries.len(),
        conversations,
    }
}
