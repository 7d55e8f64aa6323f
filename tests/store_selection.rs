//! `--store sled|sqlite` picks a real adapter: each kind writes its own files in the data
//! directory, keeps them with `Retention::Keep`, and erases them with `Retention::Wipe`.

use chat::store::{self, StoreKind};
use chat_domain::{Inserted, PasswordHash, Retention, Store, StoreReads, UserRecord};
use chat_store_contract::{TempDir, user};
use chat_store_sled::SledStore;
use chat_store_sqlite::SqliteStore;
use jiff::Timestamp;

fn alice() -> UserRecord {
    UserRecord {
        username: user("alice"),
        password_hash: PasswordHash::new("$argon2id$fake".into()),
        registered_at: Timestamp::UNIX_EPOCH,
    }
}

#[test]
fn store_names_parse_and_print() {
    assert_eq!("sled".parse(), Ok(StoreKind::Sled));
    assert_eq!("sqlite".parse(), Ok(StoreKind::Sqlite));
    assert_eq!(StoreKind::default(), StoreKind::Sled);
    assert!(
        "postgres"
            .parse::<StoreKind>()
            .unwrap_err()
            .contains("sled or sqlite")
    );
    assert_eq!(StoreKind::Sqlite.to_string(), "sqlite");
}

#[test]
fn each_kind_keeps_its_data_in_its_own_files_and_wipes_only_them() {
    for kind in [StoreKind::Sled, StoreKind::Sqlite] {
        let dir = TempDir::new(&format!("select-{kind}"));
        let bystander = dir.path().join("notes.txt");
        std::fs::write(&bystander, "not the store's").unwrap();
        {
            let mut store = store::open(kind, dir.path(), Retention::Keep).unwrap();
            assert_eq!(store.insert_user(&alice()).unwrap(), Inserted::Yes);
            store.commit().unwrap();
        }
        let own_path = match kind {
            StoreKind::Sled => SledStore::path_in(dir.path()),
            StoreKind::Sqlite => SqliteStore::path_in(dir.path()),
        };
        assert!(own_path.exists(), "{kind}: {} missing", own_path.display());
        {
            let store = store::open(kind, dir.path(), Retention::Keep).unwrap();
            assert_eq!(
                store.find_user(&user("alice")).unwrap(),
                Some(alice()),
                "{kind} kept"
            );
        }
        let store = store::open(kind, dir.path(), Retention::Wipe).unwrap();
        assert_eq!(
            store.find_user(&user("alice")).unwrap(),
            None,
            "{kind} wiped"
        );
        assert!(
            bystander.exists(),
            "{kind}: wiping removed a file that is not the store's"
        );
    }
}
