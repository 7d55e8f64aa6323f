//! Messages appended since the last flush, held in memory by conversation until they are
//! written as chunks: a stored message is then one write of a chunk shared with the messages
//! of its conversation around it, not a b-tree insert of its own (docs/benchmarks.md). Every
//! pending message is newer than every chunked one. Each commit also writes the messages it
//! added as one log entry, which a reopening reads back. What a failed commit held is
//! forgotten, as its writes are.

use std::collections::HashMap;

use chat_domain::{Conversation, MessageId, StoreError};

use crate::chunk::{log_entries, push_chunk_entry, push_log_entry};
use crate::stored_message::corrupt;

/// How much may wait in memory before a commit writes it all out as chunks, and how big a
/// chunk may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingLimits {
    /// Messages held at most (a commit that reaches it flushes).
    pub messages_max: usize,
    /// Bytes of stored values held at most.
    pub bytes_max: usize,
    /// Messages in one chunk at most: a page of history decodes two or three chunks.
    pub chunk_messages_max: usize,
}

impl PendingLimits {
    /// What the server uses: a flush every 65,536 messages or 16 MiB, whichever comes first.
    pub const DEFAULT: PendingLimits = PendingLimits {
        messages_max: 65_536,
        bytes_max: 16 * 1024 * 1024,
        chunk_messages_max: 64,
    };

    /// For tests: a flush at nearly every commit and chunks of two, so that every read
    /// crosses pending messages, chunks and the boundaries between them.
    pub const TINY: PendingLimits = PendingLimits {
        messages_max: 3,
        bytes_max: 1024 * 1024,
        chunk_messages_max: 2,
    };
}

/// A message waiting to be written in a chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingMessage {
    pub id: MessageId,
    /// `stored_message::encode_message`.
    pub value: Box<[u8]>,
}

/// One chunk to write: consecutive messages of one conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub conversation: Conversation,
    /// The id of its first message: where it sorts among the conversation's chunks.
    pub first_id: MessageId,
    /// `chunk::push_chunk_entry`'s framing.
    pub bytes: Vec<u8>,
}

/// The log entry of one commit: its messages, keyed by the first one's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub first_id: MessageId,
    pub bytes: Vec<u8>,
}

pub struct Pending {
    by_conversation: HashMap<Conversation, Vec<PendingMessage>>,
    messages: usize,
    value_bytes: usize,
    /// The log entry of the messages appended since the last commit, if they are logged.
    unlogged: Option<LogEntry>,
    /// The first message held since the last commit: where a failed one's begin.
    first_uncommitted: Option<MessageId>,
    limits: PendingLimits,
}

impl Pending {
    pub fn new(limits: PendingLimits) -> Self {
        assert!(limits.messages_max > 0 && limits.chunk_messages_max > 0);
        Pending {
            by_conversation: HashMap::new(),
            messages: 0,
            value_bytes: 0,
            unlogged: None,
            first_uncommitted: None,
            limits,
        }
    }

    /// Holds a message newer than every one held, to be logged by the next commit when
    /// `logged`.
    pub fn push(
        &mut self,
        conversation: Conversation,
        id: MessageId,
        value: Vec<u8>,
        logged: bool,
    ) {
        if logged {
            let entry = self.unlogged.get_or_insert_with(|| LogEntry {
                first_id: id,
                bytes: Vec::new(),
            });
            push_log_entry(&mut entry.bytes, &conversation, id, &value);
        }
        self.hold(conversation, id, value.into_boxed_slice());
    }

    fn hold(&mut self, conversation: Conversation, id: MessageId, value: Box<[u8]>) {
        self.messages += 1;
        self.value_bytes += value.len();
        self.first_uncommitted.get_or_insert(id);
        let held = self.by_conversation.entry(conversation).or_default();
        debug_assert!(held.last().is_none_or(|last| last.id < id));
        held.push(PendingMessage { id, value });
    }

    /// The log entry of what was pushed `logged` since the last commit, if anything was.
    pub fn unlogged(&self) -> Option<&LogEntry> {
        self.unlogged.as_ref()
    }

    /// The commit succeeded: it wrote `unlogged` or, if it found `is_full`, every message held
    /// as `chunks`, which are then held no more.
    pub fn committed(&mut self) {
        if self.is_full() {
            self.by_conversation.clear();
            self.messages = 0;
            self.value_bytes = 0;
        }
        self.unlogged = None;
        self.first_uncommitted = None;
    }

    /// The commit failed: what it held is forgotten, as its writes are.
    pub fn failed(&mut self) {
        self.unlogged = None;
        let Some(first) = self.first_uncommitted.take() else {
            return;
        };
        self.by_conversation.retain(|_, held| {
            let kept = held.partition_point(|message| message.id < first);
            held.truncate(kept);
            !held.is_empty()
        });
        self.messages = self.by_conversation.values().map(Vec::len).sum();
        self.value_bytes = self
            .by_conversation
            .values()
            .flatten()
            .map(|message| message.value.len())
            .sum();
    }

    /// Holds the messages of log entries read back at a reopening (in any order), and returns
    /// the newest id among them.
    pub fn replay<'a>(
        &mut self,
        logs: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<Option<MessageId>, StoreError> {
        let mut newest = None;
        for log in logs {
            for (conversation, id, value) in log_entries(log)? {
                newest = newest.max(Some(id));
                self.messages += 1;
                self.value_bytes += value.len();
                self.by_conversation
                    .entry(conversation)
                    .or_default()
                    .push(PendingMessage {
                        id,
                        value: value.into(),
                    });
            }
        }
        for held in self.by_conversation.values_mut() {
            held.sort_unstable_by_key(|message| message.id);
            if held.windows(2).any(|pair| pair[0].id == pair[1].id) {
                return Err(corrupt("log", "one message id logged twice"));
            }
        }
        Ok(newest)
    }

    /// Whether the next commit should write everything held as chunks.
    pub fn is_full(&self) -> bool {
        self.messages >= self.limits.messages_max || self.value_bytes >= self.limits.bytes_max
    }

    /// The messages of `conversation` held, oldest first.
    pub fn of(&self, conversation: &Conversation) -> &[PendingMessage] {
        self.by_conversation
            .get(conversation)
            .map_or(&[], Vec::as_slice)
    }

    /// Every message held, with its conversation, in no particular order.
    pub fn all(&self) -> impl Iterator<Item = (&Conversation, &PendingMessage)> {
        self.by_conversation
            .iter()
            .flat_map(|(conversation, held)| held.iter().map(move |m| (conversation, m)))
    }

    /// How many messages are held.
    pub fn len(&self) -> usize {
        self.messages
    }

    pub fn is_empty(&self) -> bool {
        self.messages == 0
    }

    /// Everything held, as chunks in conversation order, held until `committed`.
    pub fn chunks(&self) -> Vec<Chunk> {
        let mut conversations: Vec<_> = self.by_conversation.iter().collect();
        conversations.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut chunks = Vec::new();
        for (conversation, held) in conversations {
            for run in held.chunks(self.limits.chunk_messages_max) {
                let mut bytes = Vec::with_capacity(run.iter().map(|m| m.value.len() + 4).sum());
                for message in run {
                    push_chunk_entry(&mut bytes, message.id, &message.value);
                }
                chunks.push(Chunk {
                    conversation: conversation.clone(),
                    first_id: run[0].id,
                    bytes,
                });
            }
        }
        chunks
    }
}

#[cfg(test)]
mod tests {
    use chat_domain::Username;

    use super::*;
    use crate::chunk::chunk_entries;

    fn id(raw: u64) -> MessageId {
        MessageId::new(raw).unwrap()
    }

    fn direct(a: &str, b: &str) -> Conversation {
        Conversation::direct(Username::parse(a).unwrap(), Username::parse(b).unwrap())
    }

    #[test]
    fn messages_are_held_by_conversation_and_drained_as_bounded_chunks() {
        let mut pending = Pending::new(PendingLimits::TINY);
        let ab = direct("alice", "bob");
        let ac = direct("alice", "carol");
        for raw in 1..=5 {
            let conversation = if raw == 3 { ac.clone() } else { ab.clone() };
            pending.push(conversation, id(raw), vec![raw as u8], raw % 2 == 1);
        }
        assert_eq!(pending.len(), 5);
        assert!(pending.is_full());
        let ids: Vec<u64> = pending.of(&ab).iter().map(|m| m.id.get()).collect();
        assert_eq!(ids, [1, 2, 4, 5]);

        let logged = pending.unlogged().cloned().unwrap();
        assert_eq!(logged.first_id, id(1));
        let mut replayed = Pending::new(PendingLimits::TINY);
        assert_eq!(
            replayed.replay([logged.bytes.as_slice()]).unwrap(),
            Some(id(5))
        );
        let ids: Vec<u64> = replayed.all().map(|(_, m)| m.id.get()).collect();
        assert_eq!(ids.len(), 3, "the three logged: {ids:?}");

        let chunks = pending.chunks();
        assert_eq!(pending.len(), 5, "held until the commit succeeds");
        pending.committed();
        assert!(pending.is_empty() && pending.of(&ab).is_empty());
        let shape: Vec<(bool, u64, usize)> = chunks
            .iter()
            .map(|c| {
                let n = chunk_entries(&c.bytes).unwrap().len();
                (c.conversation == ab, c.first_id.get(), n)
            })
            .collect();
        assert_eq!(shape, [(true, 1, 2), (true, 4, 2), (false, 3, 1)]);
    }

    #[test]
    fn a_failed_commits_messages_are_forgotten() {
        let mut pending = Pending::new(PendingLimits::DEFAULT);
        let ab = direct("alice", "bob");
        let ac = direct("alice", "carol");
        pending.push(ab.clone(), id(1), vec![1], true);
        pending.committed();
        pending.push(ab.clone(), id(2), vec![2, 2], true);
        pending.push(ac.clone(), id(3), vec![3], false);
        pending.failed();
        assert_eq!(pending.len(), 1);
        assert!(pending.unlogged().is_none() && pending.of(&ac).is_empty());
        assert_eq!(pending.of(&ab)[0].id, id(1));
    }

    #[test]
    fn stored_bytes_fill_it_before_the_message_count_does() {
        let limits = PendingLimits {
            messages_max: 1_000,
            bytes_max: 100,
            chunk_messages_max: 64,
        };
        let mut pending = Pending::new(limits);
        let ab = direct("alice", "bob");
        pending.push(ab.clone(), id(1), vec![0; 99], true);
        assert!(!pending.is_full());
        pending.push(ab, id(2), vec![0; 1], true);
        assert!(pending.is_full(), "100 bytes in 2 messages");
        pending.committed();
        assert!(pending.is_empty() && !pending.is_full());
    }

    #[test]
    fn a_log_holding_one_id_twice_is_corrupt() {
        let ab = direct("alice", "bob");
        let mut log = Vec::new();
        push_log_entry(&mut log, &ab, id(4), b"four");
        let mut pending = Pending::new(PendingLimits::DEFAULT);
        let replayed = pending.replay([log.as_slice(), log.as_slice()]);
        assert!(
            matches!(replayed, Err(StoreError::Corrupt(_))),
            "{replayed:?}"
        );
    }

    #[test]
    fn replay_puts_each_conversation_back_in_id_order() {
        let ab = direct("alice", "bob");
        let mut first = Vec::new();
        let mut second = Vec::new();
        push_log_entry(&mut first, &ab, id(9), b"nine");
        push_log_entry(&mut second, &ab, id(4), b"four");
        let mut pending = Pending::new(PendingLimits::DEFAULT);
        pending
            .replay([first.as_slice(), second.as_slice()])
            .unwrap();
        let ids: Vec<u64> = pending.of(&ab).iter().map(|m| m.id.get()).collect();
        assert_eq!(ids, [4, 9]);
    }
}
