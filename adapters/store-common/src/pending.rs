//! Messages appended but not yet written in a chunk, held in memory by conversation: a stored
//! message is one write of a chunk shared with the messages of its conversation around it,
//! not a b-tree insert of its own (docs/benchmarks.md). Each commit writes the messages it
//! added as one log entry, which a reopening reads back. Once more than the limits wait, each
//! commit writes the conversations that have waited longest as chunks, as many as bring it back
//! under them: a conversation's messages are written all together, so every pending message
//! of a conversation is newer than every chunked one of it, and the flush is spread over
//! commits rather than one long one. What a failed commit held is forgotten, as its writes are.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};

use chat_domain::{Conversation, MessageId, StoreError};

use crate::chunk::{log_entries, push_chunk_entry, push_log_entry};
use crate::stored_message::corrupt;

/// How much may wait in memory before commits write it out as chunks, and how big a chunk may
/// be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingLimits {
    /// Messages held at most, past a commit.
    pub messages_max: usize,
    /// Bytes of stored values held at most, past a commit.
    pub bytes_max: usize,
    /// Messages in one chunk at most: a page of history decodes two or three chunks.
    pub chunk_messages_max: usize,
}

impl PendingLimits {
    /// What the server uses: 65,536 messages or 16 MiB.
    pub const DEFAULT: PendingLimits = PendingLimits {
        messages_max: 65_536,
        bytes_max: 16 * 1024 * 1024,
        chunk_messages_max: 64,
    };

    /// For tests: a flush at nearly every commit and chunks of two, so that every read
    /// crosses pending messages, chunks and the boundaries between them, and every reopening
    /// finds log entries whose messages are partly in chunks.
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

/// The log entry of one commit: its messages, keyed by the newest one's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub last_id: MessageId,
    pub bytes: Vec<u8>,
}

/// What a commit writes out of memory: chunks, and which log entries then hold nothing that is
/// still pending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flush {
    pub chunks: Vec<Chunk>,
    /// Log entries keyed below this id are to be removed; `None`: every one.
    pub log_below: Option<MessageId>,
}

pub struct Pending {
    by_conversation: HashMap<Conversation, Vec<PendingMessage>>,
    /// Each conversation held, by the id of its oldest message held: who is flushed first.
    by_age: BTreeMap<MessageId, Conversation>,
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
            by_age: BTreeMap::new(),
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
                last_id: id,
                bytes: Vec::new(),
            });
            entry.last_id = id;
            push_log_entry(&mut entry.bytes, &conversation, id, &value);
        }
        self.first_uncommitted.get_or_insert(id);
        self.hold(
            conversation,
            PendingMessage {
                id,
                value: value.into_boxed_slice(),
            },
        );
    }

    fn hold(&mut self, conversation: Conversation, message: PendingMessage) {
        self.messages += 1;
        self.value_bytes += message.value.len();
        let held = match self.by_conversation.entry(conversation) {
            Entry::Occupied(held) => held.into_mut(),
            Entry::Vacant(new) => {
                self.by_age.insert(message.id, new.key().clone());
                new.insert(Vec::new())
            }
        };
        debug_assert!(held.last().is_none_or(|last| last.id < message.id));
        held.push(message);
    }

    /// Whether messages of `conversation` are held: then a store has it already, since a
    /// failed commit takes back its messages (`failed`).
    pub fn holds(&self, conversation: &Conversation) -> bool {
        self.by_conversation.contains_key(conversation)
    }

    pub fn limits(&self) -> PendingLimits {
        self.limits
    }

    /// The log entry of what was pushed `logged` since the last commit, if anything was.
    pub fn unlogged(&self) -> Option<&LogEntry> {
        self.unlogged.as_ref()
    }

    /// The conversations the next commit writes out, oldest first: as many as bring what is
    /// held under the limits.
    fn due(&self) -> Vec<&Conversation> {
        let (mut messages, mut bytes) = (self.messages, self.value_bytes);
        let mut due = Vec::new();
        for conversation in self.by_age.values() {
            if messages < self.limits.messages_max && bytes < self.limits.bytes_max {
                break;
            }
            let held = self.of(conversation);
            messages -= held.len();
            bytes -= held.iter().map(|m| m.value.len()).sum::<usize>();
            due.push(conversation);
        }
        due
    }

    /// What the next commit writes out of memory, if anything waits past the limits; held
    /// until `committed`.
    pub fn flush(&self) -> Option<Flush> {
        let due = self.due();
        if due.is_empty() {
            return None;
        }
        let mut chunks = Vec::new();
        for conversation in &due {
            for run in self.of(conversation).chunks(self.limits.chunk_messages_max) {
                let mut bytes = Vec::with_capacity(run.iter().map(|m| m.value.len() + 4).sum());
                for message in run {
                    push_chunk_entry(&mut bytes, message.id, &message.value);
                }
                chunks.push(Chunk {
                    conversation: (*conversation).clone(),
                    first_id: run[0].id,
                    bytes,
                });
            }
        }
        // The oldest message still held after: every log entry before it holds none.
        let log_below = self.by_age.keys().nth(due.len()).copied();
        Some(Flush { chunks, log_below })
    }

    /// The commit succeeded: it wrote `unlogged` and what `flush` gave, which is then held no
    /// more.
    pub fn committed(&mut self) {
        let due: Vec<Conversation> = self.due().into_iter().cloned().collect();
        for conversation in &due {
            if let Some(held) = self.by_conversation.remove(conversation) {
                self.messages -= held.len();
                self.value_bytes -= held.iter().map(|m| m.value.len()).sum::<usize>();
                self.by_age.remove(&held[0].id);
            }
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
        self.recount();
    }

    /// The counts and the age order, from what is held.
    fn recount(&mut self) {
        self.messages = self.by_conversation.values().map(Vec::len).sum();
        self.value_bytes = self
            .by_conversation
            .values()
            .flatten()
            .map(|message| message.value.len())
            .sum();
        self.by_age = self
            .by_conversation
            .iter()
            .map(|(conversation, held)| (held[0].id, conversation.clone()))
            .collect();
    }

    /// Holds the messages of log entries read back at a reopening (in any order) but those a
    /// chunk holds already (`newest_chunked` of their conversation, or older), and returns the
    /// newest id among them all.
    pub fn replay<'a>(
        &mut self,
        logs: impl IntoIterator<Item = &'a [u8]>,
        mut newest_chunked: impl FnMut(&Conversation) -> Result<Option<MessageId>, StoreError>,
    ) -> Result<Option<MessageId>, StoreError> {
        let mut newest = None;
        for log in logs {
            for (conversation, id, value) in log_entries(log)? {
                newest = newest.max(Some(id));
                self.by_conversation
                    .entry(conversation)
                    .or_default()
                    .push(PendingMessage {
                        id,
                        value: value.into(),
                    });
            }
        }
        for (conversation, held) in &mut self.by_conversation {
            held.sort_unstable_by_key(|message| message.id);
            if held.windows(2).any(|pair| pair[0].id == pair[1].id) {
                return Err(corrupt("log", "one message id logged twice"));
            }
            if let Some(chunked) = newest_chunked(conversation)? {
                held.retain(|message| message.id > chunked);
            }
        }
        self.by_conversation.retain(|_, held| !held.is_empty());
        self.recount();
        Ok(newest)
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

    fn nothing_chunked(_: &Conversation) -> Result<Option<MessageId>, StoreError> {
        Ok(None)
    }

    #[test]
    fn the_longest_waiting_conversations_are_written_out_in_bounded_chunks() {
        let mut pending = Pending::new(PendingLimits::TINY);
        let ab = direct("alice", "bob");
        let ac = direct("alice", "carol");
        for raw in 1..=5 {
            let conversation = if raw == 3 { ac.clone() } else { ab.clone() };
            pending.push(conversation, id(raw), vec![raw as u8], raw % 2 == 1);
        }
        assert_eq!(pending.len(), 5);
        let ids: Vec<u64> = pending.of(&ab).iter().map(|m| m.id.get()).collect();
        assert_eq!(ids, [1, 2, 4, 5]);

        // alice and bob waited longest; writing them leaves 1 held, under the 3 of TINY.
        let flush = pending.flush().expect("over the limits");
        let shape: Vec<(bool, u64, usize)> = flush
            .chunks
            .iter()
            .map(|c| {
                let n = chunk_entries(&c.bytes).unwrap().len();
                (c.conversation == ab, c.first_id.get(), n)
            })
            .collect();
        assert_eq!(shape, [(true, 1, 2), (true, 4, 2)]);
        assert_eq!(
            flush.log_below,
            Some(id(3)),
            "alice and carol's 3 is still held"
        );
        assert_eq!(pending.len(), 5, "held until the commit succeeds");
        pending.committed();
        assert!(pending.of(&ab).is_empty());
        assert_eq!(pending.len(), 1);
        assert_eq!(pending.flush(), None, "under the limits");
    }

    #[test]
    fn a_reopening_holds_what_the_log_has_and_no_chunk() {
        let mut pending = Pending::new(PendingLimits::TINY);
        let ab = direct("alice", "bob");
        let ac = direct("alice", "carol");
        for raw in 1..=5 {
            let conversation = if raw == 3 { ac.clone() } else { ab.clone() };
            pending.push(conversation, id(raw), vec![raw as u8], raw != 2);
        }
        let logged = pending.unlogged().cloned().unwrap();
        assert_eq!(logged.last_id, id(5));
        let mut replayed = Pending::new(PendingLimits::DEFAULT);
        let newest = replayed
            .replay([logged.bytes.as_slice()], |conversation| {
                Ok((*conversation == ab).then_some(id(4)))
            })
            .unwrap();
        assert_eq!(newest, Some(id(5)));
        let mut ids: Vec<u64> = replayed.all().map(|(_, m)| m.id.get()).collect();
        ids.sort_unstable();
        assert_eq!(
            ids,
            [3, 5],
            "1 and 4 are in alice and bob's chunks, 2 was not logged"
        );
        assert_eq!(replayed.len(), 2);
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
        // A store numbers a conversation it does not hold: one whose only messages were
        // taken back is numbered again, as its numbering was taken back too.
        assert!(pending.holds(&ab) && !pending.holds(&ac));
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
        assert_eq!(pending.flush(), None);
        pending.push(ab, id(2), vec![0; 1], true);
        assert!(pending.flush().is_some(), "100 bytes in 2 messages");
        pending.committed();
        assert!(pending.is_empty() && pending.flush().is_none());
    }

    #[test]
    fn a_log_holding_one_id_twice_is_corrupt() {
        let ab = direct("alice", "bob");
        let mut log = Vec::new();
        push_log_entry(&mut log, &ab, id(4), b"four");
        let mut pending = Pending::new(PendingLimits::DEFAULT);
        let replayed = pending.replay([log.as_slice(), log.as_slice()], nothing_chunked);
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
            .replay([first.as_slice(), second.as_slice()], nothing_chunked)
            .unwrap();
        let ids: Vec<u64> = pending.of(&ab).iter().map(|m| m.id.get()).collect();
        assert_eq!(ids, [4, 9]);
    }
}
