//! criterion: append and history on the SQLite adapter (bodies shared with sled's).

use chat_store_sqlite::SqliteStore;
use criterion::{Criterion, criterion_group, criterion_main};

fn sqlite(c: &mut Criterion) {
    chat_store_contract::bench::store_benches(c, "sqlite", |dir, retention| {
        SqliteStore::open(dir, retention).expect("opens")
    });
}

criterion_group!(benches, sqlite);
criterion_main!(benches);
