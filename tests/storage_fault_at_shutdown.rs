//! A commit that fails while the server is stopping: SIGTERM comes while a commit is stuck (a
//! slow fsync), the grace for draining passes, and then the commit fails. The server must
//! still end with an error (a supervisor restarts it on what is really on disk), not exit 0 as
//! if all were well. Its own binary: the test signals its own process.

mod common;

use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use chat::store::{self, AnyStore, StoreKind};
use chat_domain::{
    Conversation, GroupWrite, Inserted, Message, MessageId, NewMessage, Retention, Store,
    StoreError, UserRecord, Username,
};
use chat_store_contract::TempDir;
use chat_wire::Reply;
use common::*;

/// Once `stuck` is set, the next commit waits until the test lets it go, then fails.
#[derive(Clone, Default)]
struct Stuck {
    stuck: Arc<AtomicBool>,
    let_go: Arc<(Mutex<bool>, Condvar)>,
}

impl Stuck {
    fn let_go(&self) {
        *self.let_go.0.lock().expect("lock") = true;
        self.let_go.1.notify_all();
    }

    fn wait(&self) {
        let (gone, cond) = &*self.let_go;
        let mut guard = gone.lock().expect("lock");
        while !*guard {
            guard = cond.wait(guard).expect("lock");
        }
    }
}

struct StuckStore {
    inner: AnyStore,
    stuck: Stuck,
}

impl Deref for StuckStore {
    type Target = AnyStore;
    fn deref(&self) -> &AnyStore {
        &self.inner
    }
}

impl Store for StuckStore {
    fn insert_user(&mut self, user: &UserRecord) -> Result<Inserted, StoreError> {
        self.inner.insert_user(user)
    }
    fn append_message(&mut self, message: NewMessage) -> Result<Message, StoreError> {
        self.inner.append_message(message)
    }
    fn set_read_marker(
        &mut self,
        user: &Username,
        conversation: &Conversation,
        up_to: MessageId,
    ) -> Result<(), StoreError> {
        self.inner.set_read_marker(user, conversation, up_to)
    }
    fn write_group(&mut self, write: GroupWrite) -> Result<Option<Message>, StoreError> {
        self.inner.write_group(write)
    }
    fn commit(&mut self) -> Result<(), StoreError> {
        if self.stuck.stuck.load(Ordering::SeqCst) {
            self.stuck.wait();
            return Err(StoreError::Unavailable("injected: the fsync failed".into()));
        }
        self.inner.commit()
    }
}

#[test]
fn a_commit_that_fails_after_the_shutdown_grace_still_ends_the_server_with_an_error() {
    let data = TempDir::new("fault-at-shutdown");
    let stuck = Stuck::default();
    let store = StuckStore {
        inner: store::open(StoreKind::Sqlite, data.path(), Retention::Wipe).expect("opens"),
        stuck: stuck.clone(),
    };
    let server = in_process::serve(in_process::config(StoreKind::Sqlite, &data), store);
    let mut alice = Client::connect(server.addr);
    assert!(matches!(alice.register("alice"), Reply::Registered { .. }));
    stuck.stuck.store(true, Ordering::SeqCst);
    alice.send_message_request("alice", "stuck in a commit");
    // Give the core a moment to be in the commit, then stop the server.
    std::thread::sleep(Duration::from_millis(200));
    // SAFETY: kill(2) on this process with a signal the server has a handler for.
    assert_eq!(unsafe { libc::kill(libc::getpid(), libc::SIGTERM) }, 0);
    // The loop waits out its grace for alice's answer, then for the core's thread.
    assert!(
        server.ended.recv_timeout(Duration::from_secs(4)).is_err(),
        "the server ended while its commit was still running"
    );
    stuck.let_go();
    let result = server
        .ended
        .recv_timeout(READ_TIMEOUT)
        .expect("the server stops");
    let error = result.expect_err("a failed commit ends the server with an error");
    assert!(
        error.to_string().contains("the store failed to commit"),
        "{error}"
    );
}
