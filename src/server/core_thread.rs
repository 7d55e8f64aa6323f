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
use super::quiet::Quiet;
use crate::core::{Clock, Core, Effect, Input};

/// What the core's thread is sent.
pub enum ToCore {
    /// One loop turn's inputs, at the turn's time, and the bytes the loop may count as
    /// released once they are applied.
    Batch {
        inputs: Vec<Input>,
        clock: Clock,
        released_bytes: usize,
    },
    /// A finished password job, from the pool.
    Hashed(Input),
    /// Apply what is queued, commit, and end.
    Stop,
}

/// What the core's thread sends back after applying what it was sent.
pub struct Applied {
    pub effects: Vec<Effect>,
    /// The batches' `released_bytes`: what the core no longer holds.
    pub released_bytes: usize,
}

/// The loop's end of the core's thread.
pub struct CoreThread {
    to_core: Sender<ToCore>,
    effects: Receiver<Applied>,
    thread: Option<JoinHandle<()>>,
}

impl CoreThread {
    /// Starts the core's thread and the hashing pool it feeds; `waker` wakes the loop when
    /// effects are ready.
    pub fn start<S: Store + Send + 'static>(
        core: Core<S>,
        hasher: Arc<dyn PasswordHasher>,
        hashing: &HashingConfig,
        release_freed_memory: fn(),
        waker: Arc<Waker>,
    ) -> std::io::Result<Self> {
        let (to_core, inbox) = mpsc::channel();
        let (effects_out, effects) = mpsc::channel();
        let pool = HashPool::start(
            hasher,
            hashing.threads,
            hashing.queue_max,
            release_freed_memory,
            to_core.clone(),
        )?;
        let thread = std::thread::Builder::new()
            .name("core".into())
            .spawn(move || {
                let quiet = Quiet::new(release_freed_memory);
                serve(core, pool, quiet, &inbox, &effects_out, &waker);
            })?;
        Ok(CoreThread {
            to_core,
            effects,
            thread: Some(thread),
        })
    }

    /// Hands a turn's inputs over, without waiting. The channel itself is unbounded: what it
    /// and the core hold is bounded by the loop, which counts it (`in_flight_bytes`) and hands
    /// over nothing more, and accepts nobody, past `IN_FLIGHT_BYTES_MAX`.
    pub fn send(&self, inputs: Vec<Input>, clock: Clock, released_bytes: usize) {
        // If the thread has ended, `effects` says so, once.
        let _ = self.to_core.send(ToCore::Batch {
            inputs,
            clock,
            released_bytes,
        });
    }

    /// What was applied since the last call, oldest first, without waiting; `Err` once the
    /// core's thread has ended (a panic: a bug), with what it sent before.
    pub fn effects(&self) -> Result<Vec<Applied>, Vec<Applied>> {
        let mut ready = Vec::new();
        loop {
            match self.effects.try_recv() {
                Ok(effects) => ready.push(effects),
                Err(TryRecvError::Empty) => return Ok(ready),
                Err(TryRecvError::Disconnected) => return Err(ready),
            }
        }
    }

    /// Lets the core apply what it has, commit and end, and waits for it (the batches queued
    /// and their commit, and the password jobs already running). Returns why the store can no
    /// longer be trusted, if a commit failed in what the loop had not collected.
    pub fn stop(&mut self) -> Option<String> {
        let _ = self.to_core.send(ToCore::Stop);
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            log!("the core's thread panicked");
        }
        self.effects
            .try_iter()
            .flat_map(|applied| applied.effects)
            .find_map(|effect| match effect {
                Effect::StoreFailed { detail } => Some(detail),
                _ => None,
            })
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
    mut quiet: Quiet,
    inbox: &Receiver<ToCore>,
    effects_out: &Sender<Applied>,
    waker: &Waker,
) {
    let mut clock = Clock {
        since_start: Duration::ZERO,
        wall: jiff::Timestamp::UNIX_EPOCH,
    };
    let mut skipped_logged = 0;
    while let Ok(first) = inbox.recv() {
        let mut inputs = Vec::new();
        let mut released_bytes = 0;
        let mut stop = false;
        for message in std::iter::once(first).chain(inbox.try_iter()) {
            match message {
                ToCore::Batch {
                    inputs: batch,
                    clock: at,
                    released_bytes: released,
                } => {
                    inputs.extend(batch);
                    clock = at;
                    released_bytes += released;
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
        let only_ticks = Quiet::only_ticks(&inputs);
        let effects = core.apply(inputs, clock, &mut pool);
        if !effects.is_empty() || released_bytes > 0 {
            let applied = Applied {
                effects,
                released_bytes,
            };
            if effects_out.send(applied).is_err() {
                return;
            }
            // If waking fails, the loop still collects the effects on its next turn.
            let _ = waker.wake();
        }
        skipped_logged = log_skipped(&pool, skipped_logged);
        quiet.turn(only_ticks, clock.since_start);
        // `apply` committed what it wrote; a commit that failed is never tried again.
        if stop {
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
