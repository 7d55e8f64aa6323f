//! criterion bodies shared by both adapters' store benchmarks: appending messages (one a commit,
//! as in a quiet turn; a busy loop turn's batch, committed once) to one conversation and across
//! many, as the relay benchmark sends them, also past the limit of messages waiting for their
//! chunks; and reading history pages at the newest end and deep in a large conversation.

use std::hint::black_box;
use std::path::Path;

use chat_domain::{Conversation, MessageId, Retention, Store};
use chat_store_common::PendingLimits;
use criterion::Criterion;

use crate::{TempDir, new_message, record, user};

/// Messages in the conversation the history benchmarks read.
const STORED: u64 = 100_000;
/// Appends committed together, as one busy loop turn might.
const BATCH: usize = 100;
/// People sending to each other at random in the many-conversations benchmark, as in
/// `chat-bench throughput --clients 100`: 4,950 conversations.
const SENDERS: usize = 100;
/// People in the new-conversations benchmark: enough for 1,998,000 pairs.
const PEERS: usize = 2_000;

pub fn store_benches<S: Store>(c: &mut Criterion, name: &str, open: fn(&Path, Retention) -> S) {
    let dir = TempDir::new(&format!("bench-{name}"));
    let mut store = open(dir.path(), Retention::Wipe);
    for who in ["alice", "bob"] {
        store.insert_user(&record(who)).expect("insert");
    }
    let senders: Vec<String> = (0..SENDERS).map(|n| format!("user{n}")).collect();
    for sender in &senders {
        store.insert_user(&record(sender)).expect("insert");
    }
    store.commit().expect("commit");
    let mut group = c.benchmark_group(format!("store_{name}"));
    // What a commit costs by itself: at 2,000 msg/s most turns carry one message.
    group.bench_function("append_1_then_commit", |b| {
        b.iter(|| {
            black_box(
                store
                    .append_message(new_message("alice", "bob", "a message of usual length", 0))
                    .expect("append"),
            );
            store.commit().expect("commit");
        })
    });
    // What a quiet turn costs when the message opens a conversation, as most do in `chat-bench
    // rate` (1,000 clients pairing at random). A store of its own: the one-message
    // conversations it leaves waiting would be written out by the benchmarks after it.
    let peers_dir = TempDir::new(&format!("bench-{name}-peers"));
    let mut peers_store = open(peers_dir.path(), Retention::Wipe);
    let peers: Vec<String> = (0..PEERS).map(|n| format!("peer{n}")).collect();
    for peer in &peers {
        peers_store.insert_user(&record(peer)).expect("insert");
    }
    peers_store.commit().expect("commit");
    let mut pairs = NewPairs::default();
    group.bench_function("append_1_to_a_new_conversation_then_commit", |b| {
        b.iter(|| {
            let (from, to) = pairs.next();
            black_box(
                peers_store
                    .append_message(new_message(&peers[from], &peers[to], "a message", 0))
                    .expect("append"),
            );
            peers_store.commit().expect("commit");
        })
    });
    drop(peers_store);
    group.bench_function("append_100_then_commit", |b| {
        b.iter(|| {
            for i in 0..BATCH {
                black_box(
                    store
                        .append_message(new_message(
                            "alice",
                            "bob",
                            "a message of usual length",
                            i as i64,
                        ))
                        .expect("append"),
                );
            }
            store.commit().expect("commit");
        })
    });
    let mut random = Random(0x9e37_79b9_7f4a_7c15);
    group.bench_function("append_100_across_conversations_then_commit", |b| {
        b.iter(|| {
            for _ in 0..BATCH {
                let from = &senders[random.below(SENDERS)];
                let to = &senders[random.below(SENDERS)];
                black_box(
                    store
                        .append_message(new_message(from, to, "a message of usual length", 0))
                        .expect("append"),
                );
            }
            store.commit().expect("commit");
        })
    });
    // Past the pending limit, each commit also writes out the conversations that waited
    // longest: what a busy server's batch pays for it, once the store holds 65,536 waiting.
    for _ in 0..PendingLimits::DEFAULT.messages_max {
        let from = &senders[random.below(SENDERS)];
        let to = &senders[random.below(SENDERS)];
        let text = "a message of usual length";
        store
            .append_message(new_message(from, to, text, 0))
            .expect("append");
    }
    store.commit().expect("commit");
    group.bench_function(
        "append_100_across_conversations_then_commit_past_the_limit",
        |b| {
            b.iter(|| {
                for _ in 0..BATCH {
                    let from = &senders[random.below(SENDERS)];
                    let to = &senders[random.below(SENDERS)];
                    let text = "a message of usual length";
                    black_box(
                        store
                            .append_message(new_message(from, to, text, 0))
                            .expect("append"),
                    );
                }
                store.commit().expect("commit");
            })
        },
    );
    // Fill to a known size for the reads.
    let conversation = Conversation::direct(user("alice"), user("bob"));
    let mut newest = store
        .history(&conversation, MessageId::FIRST, None, 1)
        .expect("history")
        .first()
        .map_or(0, |m| m.id.get());
    while newest < STORED {
        for _ in 0..1_000 {
            newest = store
                .append_message(new_message("bob", "alice", "filler", 0))
                .expect("append")
                .id
                .get();
        }
        store.commit().expect("commit");
    }
    group.bench_function("history_newest_page_of_50", |b| {
        b.iter(|| {
            black_box(
                store
                    .history(&conversation, MessageId::FIRST, None, 50)
                    .expect("history"),
            )
        })
    });
    let deep = MessageId::new(newest / 100).unwrap_or(MessageId::FIRST);
    group.bench_function("history_deep_page_of_50", |b| {
        b.iter(|| {
            black_box(
                store
                    .history(&conversation, MessageId::FIRST, Some(deep), 50)
                    .expect("history"),
            )
        })
    });
    group.finish();
}

/// Pairs of senders never paired before: each sender with the next, then the one after, up to
/// half way round (further would pair the same two again): 1,998,000 pairs.
#[derive(Default)]
struct NewPairs(usize);

impl NewPairs {
    fn next(&mut self) -> (usize, usize) {
        let from = self.0 % PEERS;
        let apart = 1 + (self.0 / PEERS) % (PEERS / 2 - 1);
        self.0 += 1;
        (from, (from + apart) % PEERS)
    }
}

/// xorshift: the same sequence of pairs on every run, without a dependency.
struct Random(u64);

impl Random {
    /// A number below `bound`.
    fn below(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % bound as u64) as usize
    }
}
