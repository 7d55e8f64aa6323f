//! criterion bodies shared by both adapters' store benchmarks: appending messages (a loop turn's
//! batch, committed once) and reading history pages at the newest end and deep in a large
//! conversation.

use std::hint::black_box;
use std::path::Path;

use chat_domain::{Conversation, MessageId, Retention, Store};
use criterion::Criterion;

use crate::{TempDir, new_message, record, user};

/// Messages in the conversation the history benchmarks read.
const STORED: u64 = 100_000;
/// Appends committed together, as one busy loop turn might.
const BATCH: usize = 100;

pub fn store_benches<S: Store>(c: &mut Criterion, name: &str, open: fn(&Path, Retention) -> S) {
    let dir = TempDir::new(&format!("bench-{name}"));
    let mut store = open(dir.path(), Retention::Wipe);
    for who in ["alice", "bob"] {
        store.insert_user(&record(who)).expect("insert");
    }
    let mut group = c.benchmark_group(format!("store_{name}"));
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
    let deep = MessageId::new(newest / 100);
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
