//! The core's thread: it owns the core (and so the store, which only it touches) and the queue
//! of the hashing pool. It takes every batch the loop has sent and every finished password job
//! at once, applies them together, commits once, and sends the effects back, waking the loop.
//! The loop never waits for it: not for a batch, not for an fsync.

use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::thread::JoinHandle;
use std::time::Duration;

use chat_domain::{PasswordHasher, Store};
use mio::Waker;

use super::config::HashingConfig;
use super::hashing::HashPool;
use super::log;
use crate::core::{Clock, Core, Effect, Input};

/// What the core's thread is sent.
pub enum ToCore {
    /// One loop turn's inputs, at the turn's time.
    Batch { inputs: Vec<Input>, clock: Clock },
    /// A finished password job, from the pool.
    Hashed(Input),
    /// Apply what is queued, commit, and end.
    Stop,
}

/// The loop's end of the core's thread.
pub struct CoreThread {
    to_core: Sender<ToCore>,
    effects: Receiver<Vec<Effect>>,
    thread: Option<JoinHandle<()>>,
}

impl CoreThread {
    /// Starts the core's thread and the hashing pool it feeds; `waker` wakes the loop when
    /// effects are ready.
    pub fn start<S: Store + Send + 'static>(
        core: Core<S>,
        hasher: Arc<dyn PasswordHasher>,
        hashing: &HashingConfig,
        waker: Arc<Waker>,
    ) -> std::io::Result<Self> {
        let (to_core, inbox) = mpsc::channel();
        let (effects_out, effects) = mpsc::channel();
        let pool = HashPool::start(hasher, hashing.threads, hashing.queue_max, to_core.clone())?;
        let thread = std::thread::Builder::new()
            .name("core".into())
            .spawn(move || serve(core, pool, &inbox, &effects_out, &waker))?;
        Ok(CoreThread {
            to_core,
            effects,
            thread: Some(thread),
        })
    }

    /// Hands a turn's inputs over, without waiting. What the core holds is bounded by the
    /// loop, which hands over nothing more past `IN_FLIGHT_BYTES_MAX` unanswered.
    pub fn send(&self, inputs: Vec<Input>, clock: Clock) {
        // If the thread has ended, `effects` says so, once.
        let _ = self.to_core.send(ToCore::Batch { inputs, clock });
    }

    /// Effects ready now, oldest first, without waiting; `Err` once the core's thread has
    /// ended (a panic: a bug), with what it sent before.
    pub fn effects(&self) -> Result<Vec<Vec<Effect>>, Vec<Vec<Effect>>> {
        let mut ready = Vec::new();
        loop {
            match self.effects.try_recv() {
                Ok(effects) => ready.push(effects),
                Err(TryRecvError::Empty) => return Ok(ready),
                Err(TryRecvError::Disconnected) => return Err(ready),
            }
        }
    }

    /// Lets the core apply what it has, commit and end; waits for it (one batch and its
    /// commit at most).
    pub fn stop(&mut self) {
        let _ = self.to_core.send(ToCore::Stop);
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            log!("the core's thread panicked");
        }
    }
}

impl Drop for CoreThread {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The thread's loop: everything queued, applied together, one commit, effects out.
fn serve<S: Store>(
    mut core: Core<S>,
    mut pool: HashPool,
    inbox: &Receiver<ToCore>,
    effects_out: &Sender<Vec<Effect>>,
    waker: &Waker,
) {
    let mut clock = Clock {
        since_start: Duration::ZERO,
        wall: jiff::Timestamp::UNIX_EPOCH,
    };
    let mut skipped_logged = 0;
    while let Ok(first) = inbox.recv() {
        let mut inputs = Vec::new();
        let mut stop = false;
        for message in std::iter::once(first).chain(inbox.try_iter()) {
            match message {
                ToCore::Batch {
                    inputs: batch,
                    clock: at,
                } => {
                    inputs.extend(batch);
                    clock = at;
                }
                ToCore::Hashed(input) => {
                    if let Input::Hashed { conn, .. } = &input {
                        pool.finished(*conn);
                    }
                    inputs.push(input);
                }
                ToCore::Stop => stop = true,
            }
        }
        let effects = core.apply(inputs, clock, &mut pool);
        if !effects.is_empty() {
            if effects_out.send(effects).is_err() {
                return;
            }
            // If waking fails, the loop still collects the effects on its next turn.
            let _ = waker.wake();
        }
        skipped_logged = log_skipped(&pool, skipped_logged);
        if stop {
            if let Err(e) = core.store_mut().commit() {
                log!("final commit failed: {}", e.detail());
            }
            return;
        }
    }
}

/// Says how many password checks were dropped since the last time, if any were.
fn log_skipped(pool: &HashPool, logged: u64) -> u64 {
    let skipped = pool.skipped();
    if skipped > logged {
        log!(
            "dropped {} queued password checks of connections that closed ({skipped} in all)",
            skipped - logged
        );
    }
    skipped
}
