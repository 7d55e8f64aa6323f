//! A real store behind a gate the test holds: while it is held, every commit waits, so the
//! core's thread stands still, as it would on a slow fsync; and it records which messages each
//! commit made durable, so a test can check that nothing was acknowledged before.

use std::collections::BTreeSet;
use std::ops::Deref;
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Condvar, Mutex};

use chat::store::{self, AnyStore, StoreKind};
use chat_domain::{
    Conversation, GroupWrite, Inserted, Message, MessageId, NewMessage, Retention, Store,
    StoreError, UserRecord, Username,
};
use chat_store_contract::TempDir;

/// The test's hold on the store.
#[derive(Clone, Default)]
pub struct Gate {
    held: Arc<(Mutex<bool>, Condvar)>,
    /// Commits fail once let through, as after a failed fsync.
    failing: Arc<std::sync::atomic::AtomicBool>,
    /// The ids of the messages committed so far.
    committed: Arc<Mutex<BTreeSet<u64>>>,
    /// Messages in the commit waiting at the gate now (0 when none waits).
    waiting_messages: Arc<std::sync::atomic::AtomicUsize>,
}

impl Gate {
    /// Commits wait from now on.
    pub fn hold(&self) {
        *self.held.0.lock().expect("gate") = true;
    }

    /// Commits let through from now on fail.
    pub fn fail_commits(&self) {
        self.failing
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn release(&self) {
        *self.held.0.lock().expect("gate") = false;
        self.held.1.notify_all();
    }

    /// Waits until a commit holding a message waits at the gate: the core is then in the
    /// commit, as on a slow fsync, whatever the test does next.
    pub fn wait_for_a_held_message(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while self
            .waiting_messages
            .load(std::sync::atomic::Ordering::SeqCst)
            == 0
        {
            assert!(
                std::time::Instant::now() < deadline,
                "no commit with a message reached the gate"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    pub fn is_committed(&self, id: u64) -> bool {
        self.committed.lock().expect("committed").contains(&id)
    }

    fn wait_while_held(&self) {
        let (held, released) = &*self.held;
        let mut guard = held.lock().expect("gate");
        while *guard {
            guard = released.wait(guard).expect("gate");
        }
    }
}

pub struct GateStore {
    inner: AnyStore,
    gate: Gate,
    /// Appended since the last commit.
    pending: Vec<u64>,
}

impl Deref for GateStore {
    type Target = AnyStore;
    fn deref(&self) -> &AnyStore {
        &self.inner
    }
}

impl Store for GateStore {
    fn insert_user(&mut self, user: &UserRecord) -> Result<Inserted, StoreError> {
        self.inner.insert_user(user)
    }
    fn append_message(&mut self, message: NewMessage) -> Result<Message, StoreError> {
        let message = self.inner.append_message(message)?;
        self.pending.push(message.id.get());
        Ok(message)
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
        let notice = self.inner.write_group(write)?;
        self.pending.extend(notice.iter().map(|n| n.id.get()));
        Ok(notice)
    }
    fn commit(&mut self) -> Result<(), StoreError> {
        let waiting = &self.gate.waiting_messages;
        waiting.store(self.pending.len(), std::sync::atomic::Ordering::SeqCst);
        self.gate.wait_while_held();
        waiting.store(0, std::sync::atomic::Ordering::SeqCst);
        if self.gate.failing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StoreError::Unavailable("injected: the fsync failed".into()));
        }
        self.inner.commit()?;
        self.gate
            .committed
            .lock()
            .expect("committed")
            .extend(self.pending.drain(..));
        Ok(())
    }
}

/// The server over a gated `kind` store, on a thread of this process (`in_process`).
pub struct Gated {
    pub addr: std::net::SocketAddr,
    pub gate: Gate,
    pub ended: Receiver<std::io::Result<()>>,
}

pub fn serve_gated(kind: StoreKind, data: &TempDir) -> Gated {
    let gate = Gate::default();
    let store = GateStore {
        inner: store::open(kind, data.path(), Retention::Wipe).expect("store opens"),
        gate: gate.clone(),
        pending: Vec::new(),
    };
    let server = super::in_process::serve(super::in_process::config(kind, data), store);
    Gated {
        addr: server.addr,
        gate,
        ended: server.ended,
    }
}
