//! The reads of a conversation's messages, written once over what both stores keep of it: its
//! chunks on disk and its pending messages in memory, every pending one newer than every
//! chunked one. A store supplies its chunks in order (`Chunks`); these read through them.

use std::ops::ControlFlow::{self, Break, Continue};

use chat_domain::{ClientMessageId, Conversation, Message, MessageId, StoreError, Username};

use crate::chunk::chunk_entries;
use crate::pending::Pending;
use crate::stored_message::{decode_message, is_numbered, is_sent_by};

/// What a visitor of chunks is handed, one at a time (a chunk's bytes), until it breaks.
pub type Visit<'v> = dyn FnMut(&[u8]) -> Result<ControlFlow<()>, StoreError> + 'v;

/// What a visitor of messages is handed, one at a time (its id and stored value), until it
/// breaks.
type VisitMessage<'v> = dyn FnMut(MessageId, &[u8]) -> Result<ControlFlow<()>, StoreError> + 'v;

/// A store's chunks of one conversation, in order.
pub trait Chunks {
    /// Calls `each` with the chunks of `conversation` whose first id is below `before`, newest
    /// first, until it breaks.
    fn chunks_back(
        &self,
        conversation: &Conversation,
        before: MessageId,
        each: &mut Visit,
    ) -> Result<(), StoreError>;

    /// Calls `each` with the chunk that may hold `from` (the last whose first id is at most
    /// `from`, if any) and every later chunk of `conversation`, oldest first, until it breaks.
    fn chunks_forward(
        &self,
        conversation: &Conversation,
        from: MessageId,
        each: &mut Visit,
    ) -> Result<(), StoreError>;
}

/// Hands `visit` the messages of `conversation` below `before`, newest first, until it breaks.
fn visit_back(
    pending: &Pending,
    chunks: &impl Chunks,
    conversation: &Conversation,
    before: MessageId,
    visit: &mut VisitMessage,
) -> Result<(), StoreError> {
    let held = pending.of(conversation);
    let below = held.partition_point(|message| message.id < before);
    for message in held[..below].iter().rev() {
        if visit(message.id, &message.value)?.is_break() {
            return Ok(());
        }
    }
    chunks.chunks_back(conversation, before, &mut |chunk| {
        for (id, value) in chunk_entries(chunk)?.into_iter().rev() {
            if id < before && visit(id, value)?.is_break() {
                return Ok(Break(()));
            }
        }
        Ok(Continue(()))
    })
}

/// Hands `visit` the messages of `conversation` from `from` on, oldest first, until it breaks.
fn visit_forward(
    pending: &Pending,
    chunks: &impl Chunks,
    conversation: &Conversation,
    from: MessageId,
    visit: &mut VisitMessage,
) -> Result<(), StoreError> {
    let mut stopped = false;
    chunks.chunks_forward(conversation, from, &mut |chunk| {
        for (id, value) in chunk_entries(chunk)? {
            if id >= from && visit(id, value)?.is_break() {
                stopped = true;
                return Ok(Break(()));
            }
        }
        Ok(Continue(()))
    })?;
    if stopped {
        return Ok(());
    }
    let held = pending.of(conversation);
    let start = held.partition_point(|message| message.id < from);
    for message in &held[start..] {
        if visit(message.id, &message.value)?.is_break() {
            break;
        }
    }
    Ok(())
}

/// `StoreReads::history`: up to `limit` messages with ids from `since` and below `before`,
/// the newest such, oldest first.
pub fn history(
    pending: &Pending,
    chunks: &impl Chunks,
    conversation: &Conversation,
    since: MessageId,
    before: Option<MessageId>,
    limit: usize,
) -> Result<Vec<Message>, StoreError> {
    let mut page = Vec::new();
    if limit == 0 {
        return Ok(page);
    }
    let before = before.unwrap_or(MessageId::LAST);
    visit_back(pending, chunks, conversation, before, &mut |id, value| {
        if id < since {
            return Ok(Break(()));
        }
        page.push(decode_message(conversation, id, value)?);
        Ok(if page.len() == limit {
            Break(())
        } else {
            Continue(())
        })
    })?;
    page.reverse();
    Ok(page)
}

/// `StoreReads::after`: the messages above `after`, oldest first, at most `limit`.
pub fn after(
    pending: &Pending,
    chunks: &impl Chunks,
    conversation: &Conversation,
    after: Option<MessageId>,
    limit: usize,
) -> Result<Vec<Message>, StoreError> {
    let mut read = Vec::new();
    if limit == 0 {
        return Ok(read);
    }
    let from = after.map_or(MessageId::FIRST, MessageId::next);
    visit_forward(pending, chunks, conversation, from, &mut |id, value| {
        read.push(decode_message(conversation, id, value)?);
        Ok(if read.len() == limit {
            Break(())
        } else {
            Continue(())
        })
    })?;
    Ok(read)
}

/// `StoreReads::count_from_others`: of the messages above `after`, how many someone other than
/// `reader` sent, up to `cap`, looking at no more than `scan_max`.
pub fn count_from_others(
    pending: &Pending,
    chunks: &impl Chunks,
    conversation: &Conversation,
    after: Option<MessageId>,
    reader: &Username,
    cap: usize,
    scan_max: usize,
) -> Result<usize, StoreError> {
    let (mut counted, mut scanned) = (0, 0);
    if cap == 0 || scan_max == 0 {
        return Ok(0);
    }
    let from = after.map_or(MessageId::FIRST, MessageId::next);
    visit_forward(pending, chunks, conversation, from, &mut |_, value| {
        scanned += 1;
        if !is_sent_by(conversation, value, reader)? {
            counted += 1;
        }
        Ok(if counted == cap || scanned == scan_max {
            Break(())
        } else {
            Continue(())
        })
    })?;
    Ok(counted)
}

/// `StoreReads::find_resent`: `sender`'s message numbered `client_message_id`, if it is among
/// the newest `window` of the conversation.
pub fn find_resent(
    pending: &Pending,
    chunks: &impl Chunks,
    conversation: &Conversation,
    sender: &Username,
    client_message_id: ClientMessageId,
    window: usize,
) -> Result<Option<Message>, StoreError> {
    let (mut found, mut scanned) = (None, 0);
    if window == 0 {
        return Ok(None);
    }
    visit_back(
        pending,
        chunks,
        conversation,
        MessageId::LAST,
        &mut |id, value| {
            scanned += 1;
            if is_numbered(conversation, value, sender, client_message_id)? {
                found = Some(decode_message(conversation, id, value)?);
                return Ok(Break(()));
            }
            Ok(if scanned == window {
                Break(())
            } else {
                Continue(())
            })
        },
    )?;
    Ok(found)
}

/// The newest message of `conversation` that a chunk holds: what a reopening's log may repeat.
pub fn newest_chunked(
    chunks: &impl Chunks,
    conversation: &Conversation,
) -> Result<Option<MessageId>, StoreError> {
    let mut newest = None;
    chunks.chunks_back(conversation, MessageId::LAST, &mut |chunk| {
        newest = chunk_entries(chunk)?.last().map(|(id, _)| *id);
        Ok(Break(()))
    })?;
    Ok(newest)
}
