//! A person's inbox across devices: their conversations (people and groups) with the newest
//! message and an unread count, the read marker each conversation has (shared by all their
//! devices), and catching up on everything after a message id.

use std::collections::VecDeque;

use crate::limits::{CATCH_UP_CHUNK, UNREAD_COUNTED_MAX, UNREAD_SCANNED_MAX};
use crate::message::{Conversation, Message, MessageId, Recipient};
use crate::ports::Store;
use crate::username::Username;

use super::HistoryPaging;
use super::access::{ReadError, readable_from};

/// One conversation as the inbox lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationSummary {
    /// The other person (or the reader themself, for notes), or the group.
    pub with: Recipient,
    pub last: Option<Message>,
    /// Messages from others after the read marker, counted up to `UNREAD_COUNTED_MAX`.
    pub unread: usize,
    pub read_up_to: Option<MessageId>,
}

/// Everything `reader` can read: their direct conversations and their groups, each with where
/// it starts (for a group, the notice that added them).
fn conversations_of(
    store: &impl Store,
    reader: &Username,
) -> Result<Vec<(Recipient, MessageId)>, ReadError> {
    let mut all: Vec<(Recipient, MessageId)> = store
        .partners(reader)?
        .into_iter()
        .map(|other| (Recipient::User(other), MessageId::FIRST))
        .collect();
    for (group, _role) in store.groups_of(reader)? {
        if let Some(member) = store.member(&group, reader)? {
            all.push((Recipient::Group(group), member.since));
        }
    }
    Ok(all)
}

/// `reader`'s conversations, the one with the newest message first (those without any last).
/// Costs O(conversations x `UNREAD_COUNTED_MAX`) at most.
pub fn conversations(
    store: &impl Store,
    reader: &Username,
) -> Result<Vec<ConversationSummary>, ReadError> {
    let mut summaries = Vec::new();
    for (with, since) in conversations_of(store, reader)? {
        let conversation = Conversation::of(reader, &with);
        let last = store.history(&conversation, since, None, 1)?.pop();
        let read_up_to = store.read_marker(reader, &conversation)?;
        // Unread: after the marker and from `since` on. `None` (nothing read; before the
        // first) sorts below every id, so the later of the two is the max.
        let after = read_up_to.max(since.prev());
        let unread = store.count_from_others(
            &conversation,
            after,
            reader,
            UNREAD_COUNTED_MAX,
            UNREAD_SCANNED_MAX,
        )?;
        summaries.push(ConversationSummary {
            with,
            last,
            unread,
            read_up_to,
        });
    }
    summaries.sort_by_key(|s| std::cmp::Reverse(s.last.as_ref().map(|m| m.id)));
    Ok(summaries)
}

/// Marks `with` read up to `up_to` for all of `reader`'s devices; `None` marks nothing. The
/// marker never moves back, nor past the conversation's newest message (so messages yet to
/// come stay unread). Returns the marker now.
pub fn mark_read(
    store: &mut impl Store,
    reader: &Username,
    with: &Recipient,
    up_to: Option<MessageId>,
) -> Result<Option<MessageId>, ReadError> {
    let since = readable_from(store, reader, with)?;
    let conversation = Conversation::of(reader, with);
    let newest = store
        .history(&conversation, since, None, 1)?
        .pop()
        .map(|m| m.id);
    let current = store.read_marker(reader, &conversation)?;
    let (Some(up_to), Some(newest)) = (up_to, newest) else {
        return Ok(current);
    };
    let wanted = up_to.min(newest);
    if current.is_some_and(|read| read >= wanted) {
        return Ok(current);
    }
    store.set_read_marker(reader, &conversation, wanted)?;
    Ok(Some(wanted))
}

/// A page of everything `reader` can read after some message, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatchUpPage {
    pub messages: Vec<Message>,
    /// More follow: ask again after the last of these.
    pub has_more: bool,
    pub limit: u32,
    pub clamped: bool,
}

/// Every message (and group notice) in `reader`'s conversations with an id above `after`
/// (every one, if `None`), oldest first, a page at a time: what a device missed while it was
/// away. A merge of the conversations, each read `CATCH_UP_CHUNK` at a time: it costs about
/// the page plus `CATCH_UP_CHUNK` messages per conversation, however long the conversations
/// are.
pub fn catch_up(
    store: &impl Store,
    reader: &Username,
    after: Option<MessageId>,
    requested: Option<u32>,
    paging: HistoryPaging,
) -> Result<CatchUpPage, ReadError> {
    let (limit, clamped) = paging.clamp(requested);
    let page = limit as usize;
    let mut cursors = Vec::new();
    for (with, since) in conversations_of(store, reader)? {
        let conversation = Conversation::of(reader, &with);
        // From `since` on: `None` sorts below every id, as in `conversations`.
        let from = after.max(since.prev());
        let buffered: VecDeque<Message> = store.after(&conversation, from, CATCH_UP_CHUNK)?.into();
        let exhausted = buffered.len() < CATCH_UP_CHUNK;
        cursors.push(Cursor {
            conversation,
            buffered,
            exhausted,
        });
    }
    // One more than the page tells whether more follow.
    let mut messages = Vec::new();
    while messages.len() <= page {
        let next = cursors
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.buffered.front().map(|m| (m.id, i)))
            .min();
        let Some((_, i)) = next else {
            break;
        };
        let cursor = &mut cursors[i];
        let Some(message) = cursor.buffered.pop_front() else {
            break;
        };
        if cursor.buffered.is_empty() && !cursor.exhausted {
            let refill = store.after(&cursor.conversation, Some(message.id), CATCH_UP_CHUNK)?;
            cursor.exhausted = refill.len() < CATCH_UP_CHUNK;
            cursor.buffered = refill.into();
        }
        messages.push(message);
    }
    let has_more = messages.len() > page;
    messages.truncate(page);
    Ok(CatchUpPage {
        messages,
        has_more,
        limit,
        clamped,
    })
}

/// One conversation's place in the catch-up merge.
struct Cursor {
    conversation: Conversation,
    /// Its next messages, oldest first.
    buffered: VecDeque<Message>,
    /// Nothing more to read after `buffered`.
    exhausted: bool,
}

#[cfg(test)]
mod tests;
