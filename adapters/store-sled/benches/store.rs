//! criterion: append and history on the sled adapter (bodies shared with SQLite's).

use chat_store_sled::SledStore;
use criterion::{Criterion, criterion_group, criterion_main};

fn sled(c: &mut Criterion) {
    chat_store_contract::bench::store_benches(c, "sled", |dir, retention| {
        SledStore::open(dir, retention).expect("opens")
    });
}

criterion_group!(benches, sled);
criterion_main!(benches);
