//! Fitting a page of entries into one frame: a reply may not pass `frame_bytes_max`, so a page
//! keeps the entries that fit (the newest for history, the oldest for catch-up) and says
//! `has_more` for the rest, which the client pages for.

use chat_domain::rules::HistoryPage;
use chat_domain::rules::inbox::ConversationSummary;
use chat_domain::{Message, Recipient};
use chat_wire::{InboxPage, TimelinePage, WireConversation, WireEntry};

/// Bytes a history reply may need beyond its messages' text: the frame's tags, the page's
/// fields, and each message's id, time, and length prefixes, all as varints at their widest.
const HISTORY_REPLY_OVERHEAD_BYTES: usize = 32;
const MESSAGE_OVERHEAD_BYTES: usize = 40;
/// Bytes a conversation in the list may need beyond its preview: tags, lengths, ids, counts.
const CONVERSATION_OVERHEAD_BYTES: usize = 64;
/// Bytes a page reply needs beyond its entries.
const PAGE_OVERHEAD_BYTES: usize = 32;

/// The most bytes a message or notice takes in a frame.
fn entry_bytes(message: &chat_domain::Message) -> usize {
    let to_bytes = match &message.recipient {
        Recipient::User(to) => to.as_str().len(),
        Recipient::Group(to) => to.as_str().len(),
    };
    // The text, or a notice's words: the bytes the entry carries.
    MESSAGE_OVERHEAD_BYTES + message.content.size_bytes() + message.sender.as_str().len() + to_bytes
}

/// Converts a page to wire form, keeping only as many of its newest entries as fit in one
/// frame; if any are left out, `has_more` says so and the client pages back for them.
pub(super) fn fit_history(page: HistoryPage, frame_bytes_max: usize) -> TimelinePage {
    let mut budget = frame_bytes_max.saturating_sub(HISTORY_REPLY_OVERHEAD_BYTES);
    let mut keep_from = page.messages.len();
    for message in page.messages.iter().rev() {
        let cost = entry_bytes(message);
        if cost > budget {
            break;
        }
        budget -= cost;
        keep_from -= 1;
    }
    TimelinePage {
        has_more: page.has_more || keep_from > 0,
        entries: page.messages[keep_from..]
            .iter()
            .map(WireEntry::from_domain)
            .collect(),
        limit: page.limit,
        clamped: page.clamped,
    }
}

/// The oldest messages of `messages` that fit one frame, as wire entries.
pub(super) fn fit_oldest(messages: &[Message], frame_bytes_max: usize) -> Vec<WireEntry> {
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
pub(super) fn fit_conversations(
    summaries: &[ConversationSummary],
    frame_bytes_max: usize,
) -> InboxPage {
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
