//! A write failure injected through the storage port, on each store: while writes fail, senders
//! get `storage_unavailable`, nobody receives what was not stored, and reads go on; once writes
//! work again, so does the server. The real server loop runs in this process (so the store can
//! be wrapped) and is reached over real sockets.

mod common;

use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::Receiver;
use std::time::Duration;

use chat::store::{self, AnyStore, StoreKind};
use chat_domain::{
    Conversation, GroupWrite, Inserted, Message, MessageId, NewMessage, Retention, Store,
    StoreError, UserRecord, Username,
};
use chat_store_contract::TempDir;
use chat_wire::{Reply, Request, ServerFrame, WireRecipient};
use common::*;

/// A store whose writes fail while `faults.writes` is set, and whose commits fail while
/// `faults.commits` is; reads go through to the real store (`Deref`).
struct FaultyStore {
    inner: AnyStore,
    faults: Faults,
}

#[derive(Clone, Default)]
struct Faults {
    writes: Arc<AtomicBool>,
    commits: Arc<AtomicBool>,
    /// Commits that failed, as injected.
    commits_failed: Arc<AtomicUsize>,
}

impl FaultyStore {
    fn write_allowed(&self) -> Result<(), StoreError> {
        if self.faults.writes.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("injected: the disk is full".into()));
        }
        Ok(())
    }
}

impl Deref for FaultyStore {
    type Target = AnyStore;
    fn deref(&self) -> &AnyStore {
        &self.inner
    }
}

impl Store for FaultyStore {
    fn insert_user(&mut self, user: &UserRecord) -> Result<Inserted, StoreError> {
        self.write_allowed()?;
        self.inner.insert_user(user)
    }
    fn append_message(&mut self, message: NewMessage) -> Result<Message, StoreError> {
        self.write_allowed()?;
        self.inner.append_message(message)
    }
    fn set_read_marker(
        &mut self,
        user: &Username,
        conversation: &Conversation,
        up_to: MessageId,
    ) -> Result<(), StoreError> {
        self.write_allowed()?;
        self.inner.set_read_marker(user, conversation, up_to)
    }
    fn write_group(&mut self, write: GroupWrite) -> Result<Option<Message>, StoreError> {
        self.write_allowed()?;
        self.inner.write_group(write)
    }
    fn commit(&mut self) -> Result<(), StoreError> {
        // A refused write left nothing to commit: the commit itself goes through.
        if self.faults.commits.load(Ordering::SeqCst) {
            self.faults.commits_failed.fetch_add(1, Ordering::SeqCst);
            return Err(StoreError::Unavailable(
                "injected: the commit failed".into(),
            ));
        }
        self.inner.commit()
    }
}

/// The running server: where it listens, its store's faults, and what `run` returned once it
/// ends.
struct Running {
    addr: SocketAddr,
    faults: Faults,
    ended: Receiver<std::io::Result<()>>,
}

fn serve(kind: StoreKind, data: &TempDir) -> Running {
    let faults = Faults::default();
    let store = FaultyStore {
        inner: store::open(kind, data.path(), Retention::Wipe).expect("store opens"),
        faults: faults.clone(),
    };
    let server = in_process::serve(in_process::config(kind, data), store);
    Running {
        addr: server.addr,
        faults,
        ended: server.ended,
    }
}

fn a_failing_write_is_refused_reads_go_on_and_writes_recover(store: &'static str) {
    let data = TempDir::new("e2e-faults");
    let kind: StoreKind = store.parse().expect("store kind");
    let Running { addr, faults, .. } = serve(kind, &data);
    let failing = faults.writes;
    let connect = || Client::connect(addr);
    let mut bob = connect();
    assert!(matches!(bob.register("bob"), Reply::Registered { .. }));
    let mut alice = connect();
    assert!(matches!(alice.register("alice"), Reply::Registered { .. }));
    let before = alice.send_ok("bob", "before");
    assert_eq!(bob.next_message().body, "before");

    failing.store(true, Ordering::SeqCst);
    assert_eq!(
        error_code(&alice.send("bob", "during")),
        "storage_unavailable"
    );
    let create = alice.request(Request::CreateGroup {
        group: "team".into(),
        members: vec!["bob".into()],
    });
    assert_eq!(error_code(&create), "storage_unavailable");
    assert_eq!(
        error_code(&connect().register("carol")),
        "storage_unavailable"
    );
    // Reads are served meanwhile, and show only what was stored.
    let bodies: Vec<String> = bob
        .all_history("alice")
        .into_iter()
        .map(|m| m.body)
        .collect();
    assert_eq!(bodies, ["before"]);
    let mut bob_again = connect();
    assert!(matches!(
        bob_again.log_in("bob", PASSWORD),
        Reply::LoggedIn { .. }
    ));
    // A read marker that could not be stored is refused, and moves no other device.
    let marked = bob.request(Request::MarkRead {
        with: WireRecipient::User("alice".into()),
        up_to: before,
    });
    assert_eq!(error_code(&marked), "storage_unavailable");
    assert!(!bob_again.anything_within(Duration::from_millis(200)));

    failing.store(false, Ordering::SeqCst);
    alice.send_ok("bob", "after");
    // Bob's next message is "after": "during" was never delivered.
    assert_eq!(bob.next_message().body, "after");
    let bodies: Vec<String> = bob
        .all_history("alice")
        .into_iter()
        .map(|m| m.body)
        .collect();
    assert_eq!(bodies, ["before", "after"]);
    assert!(matches!(
        connect().register("carol"),
        Reply::Registered { .. }
    ));
}

/// After a failed commit the store is not trusted again (a failed fsync may have lost what it
/// held, and sled may still write later what was refused): the writers of that batch are told
/// `storage_unavailable`, nobody receives what they sent, and the server stops, with an error,
/// for a restart on what is really on disk.
fn a_failed_commit_delivers_nothing_and_stops_the_server(store: &'static str) {
    let data = TempDir::new("e2e-faults-commit");
    let kind: StoreKind = store.parse().expect("store kind");
    let Running {
        addr,
        faults,
        ended,
    } = serve(kind, &data);
    let mut bob = Client::connect(addr);
    assert!(matches!(bob.register("bob"), Reply::Registered { .. }));
    let mut alice = Client::connect(addr);
    assert!(matches!(alice.register("alice"), Reply::Registered { .. }));
    faults.commits.store(true, Ordering::SeqCst);
    assert_eq!(
        error_code(&alice.send("bob", "never trusted")),
        "storage_unavailable"
    );
    // Bob's next frame is the server's goodbye, not the message.
    match bob.read_frame() {
        Some(ServerFrame::Closing(body)) => assert_eq!(body.code, "server_shutdown"),
        other => panic!("expected the server's Closing, got {other:?}"),
    }
    let result = ended.recv_timeout(READ_TIMEOUT).expect("the server stops");
    let error = result.expect_err("an error");
    assert!(
        error.to_string().contains("the store failed to commit"),
        "{error}"
    );
    // Not tried again on the way out: sled would write what its writers were told was not.
    assert_eq!(faults.commits_failed.load(Ordering::SeqCst), 1);
}

on_both_stores!(
    a_failing_write_is_refused_reads_go_on_and_writes_recover,
    a_failed_commit_delivers_nothing_and_stops_the_server,
);
