//! `--store sled|sqlite`: picks a storage adapter once, at start, and holds it behind the one
//! `Store` port (and the inspector's `Inspect`) as a box.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use chat_domain::{Retention, Store, StoreError};
use chat_store_common::Inspect;
use chat_store_sled::SledStore;
use chat_store_sqlite::SqliteStore;

/// Which storage adapter to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StoreKind {
    #[default]
    Sled,
    Sqlite,
}

impl FromStr for StoreKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sled" => Ok(StoreKind::Sled),
            "sqlite" => Ok(StoreKind::Sqlite),
            other => Err(format!("unknown store {other:?}: choose sled or sqlite")),
        }
    }
}

impl fmt::Display for StoreKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StoreKind::Sled => "sled",
            StoreKind::Sqlite => "sqlite",
        })
    }
}

/// What every adapter is: the port, the inspector's reads, and movable to another thread.
pub trait AdapterStore: Store + Inspect + Send {}

impl<S: Store + Inspect + Send> AdapterStore for S {}

/// The adapter `--store` picked: every call goes straight to it.
pub type AnyStore = Box<dyn AdapterStore>;

/// Opens (creating if needed) the store of `kind` in `data_dir`, for a server.
pub fn open(
    kind: StoreKind,
    data_dir: &Path,
    retention: Retention,
) -> Result<AnyStore, StoreError> {
    Ok(match kind {
        StoreKind::Sled => Box::new(SledStore::open(data_dir, retention)?),
        StoreKind::Sqlite => Box::new(SqliteStore::open(data_dir, retention)?),
    })
}

/// Opens an existing store to read it, for the inspector: nothing is created or wiped.
pub fn open_for_reading(kind: StoreKind, data_dir: &Path) -> Result<AnyStore, StoreError> {
    Ok(match kind {
        StoreKind::Sled => Box::new(SledStore::open_existing(data_dir)?),
        StoreKind::Sqlite => Box::new(SqliteStore::open_read_only(data_dir)?),
    })
}
