//! The password-hashing worker pool: argon2 takes tens of milliseconds, so it runs on threads
//! of its own. The core's thread queues jobs (a bounded queue) and gets the results back in its
//! inbox. A job whose connection closed before a thread took it is skipped, so a flood of
//! abandoned log-ins costs no hashing.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender, TryRecvError, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use chat_domain::PasswordHasher;

use super::core_thread::ToCore;
use super::log;
use crate::core::{Busy, ConnId, HashJob, HashQueue, Input};

/// Work for a hashing thread, tagged with the connection and request it answers.
struct Tagged<T> {
    pub conn: ConnId,
    pub request_id: u32,
    pub work: T,
}

/// A hold on a queued job: cancelling it before a thread takes it saves the hash.
struct JobHandle(Arc<AtomicBool>);

impl JobHandle {
    fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// A job in the queue, with the flag its `JobHandle` sets.
struct Queued {
    job: Tagged<HashJob>,
    cancelled: Arc<AtomicBool>,
}

pub struct HashPool {
    jobs: Option<SyncSender<Queued>>,
    threads: Vec<JoinHandle<()>>,
    /// The jobs out, by connection (one at a time each): cancelled if it closes first.
    out: HashMap<ConnId, JobHandle>,
    /// Jobs skipped because they were cancelled, since the start.
    skipped: Arc<AtomicU64>,
}

impl HashPool {
    pub fn start(
        hasher: Arc<dyn PasswordHasher>,
        threads: usize,
        queue_max: usize,
        release_freed_memory: fn(),
        results_tx: Sender<ToCore>,
    ) -> std::io::Result<Self> {
        let (jobs_tx, jobs_rx) = mpsc::sync_channel::<Queued>(queue_max);
        let jobs_rx = Arc::new(Mutex::new(jobs_rx));
        let skipped = Arc::new(AtomicU64::new(0));
        let mut handles = Vec::with_capacity(threads);
        for n in 0..threads.max(1) {
            let jobs_rx = Arc::clone(&jobs_rx);
            let results_tx = results_tx.clone();
            let hasher = Arc::clone(&hasher);
            let skipped = Arc::clone(&skipped);
            let handle = std::thread::Builder::new()
                .name(format!("hash-{n}"))
                .spawn(move || {
                    let mut released = true;
                    while let Some(Queued { job, cancelled }) =
                        next_job(&jobs_rx, &mut released, release_freed_memory)
                    {
                        if cancelled.load(Ordering::Relaxed) {
                            skipped.fetch_add(1, Ordering::Relaxed);
                            continue;
                        }
                        let done = job.work.run(hasher.as_ref());
                        if let Some(e) = done.failure() {
                            log!("password hashing failed: {}", e.0);
                        }
                        let done = Input::Hashed {
                            conn: job.conn,
                            request_id: job.request_id,
                            done,
                        };
                        released = false;
                        if results_tx.send(ToCore::Hashed(done)).is_err() {
                            return;
                        }
                    }
                })?;
            handles.push(handle);
        }
        Ok(HashPool {
            jobs: Some(jobs_tx),
            threads: handles,
            out: HashMap::new(),
            skipped,
        })
    }

    /// Jobs skipped so far because their connections closed first.
    pub fn skipped(&self) -> u64 {
        self.skipped.load(Ordering::Relaxed)
    }

    /// `conn`'s job is done: nothing is left to cancel.
    pub fn finished(&mut self, conn: ConnId) {
        self.out.remove(&conn);
    }
}

impl HashQueue for HashPool {
    fn submit(&mut self, conn: ConnId, request_id: u32, job: HashJob) -> Result<(), Busy> {
        let Some(jobs) = &self.jobs else {
            return Err(Busy);
        };
        let cancelled = Arc::new(AtomicBool::new(false));
        let handle = JobHandle(Arc::clone(&cancelled));
        let job = Tagged {
            conn,
            request_id,
            work: job,
        };
        match jobs.try_send(Queued { job, cancelled }) {
            Ok(()) => {
                self.out.insert(conn, handle);
                Ok(())
            }
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => Err(Busy),
        }
    }

    fn cancel(&mut self, conn: ConnId) {
        if let Some(job) = self.out.remove(&conn) {
            job.cancel();
        }
    }
}

impl Drop for HashPool {
    fn drop(&mut self) {
        // The jobs still queued are skipped, and closing the queue ends each thread after its
        // current job: a shutdown waits for one hash a thread at most.
        for (_, job) in self.out.drain() {
            job.cancel();
        }
        self.jobs = None;
        for handle in self.threads.drain(..) {
            let _ = handle.join();
        }
    }
}

/// The next job, waited for as long as it takes; `None` once the pool is gone. A thread that
/// finds nothing to do (no job queued, or another thread already waiting for the next) gives
/// the memory it freed back before it sleeps, once: not between the jobs of a crowd logging
/// in, whose queue is not empty. (argon2 keeps its blocks for the next hash; the rest of a
/// job's goes.)
fn next_job(
    jobs: &Mutex<Receiver<Queued>>,
    released: &mut bool,
    release_freed_memory: fn(),
) -> Option<Queued> {
    if let Ok(queue) = jobs.try_lock() {
        match queue.try_recv() {
            Ok(job) => return Some(job),
            Err(TryRecvError::Disconnected) => return None,
            Err(TryRecvError::Empty) => {}
        }
    }
    if !std::mem::replace(released, true) {
        release_freed_memory();
    }
    // The lock is held only while waiting for a job, never while hashing.
    let queue = jobs.lock().ok()?;
    queue.recv().ok()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    use chat_domain::{HashError, Password, PasswordHash, Username};

    use super::*;

    /// Takes its time over every hash, and counts them.
    struct SlowHasher(Arc<AtomicUsize>);

    impl PasswordHasher for SlowHasher {
        fn hash(&self, _: &Password) -> Result<PasswordHash, HashError> {
            std::thread::sleep(Duration::from_millis(50));
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(PasswordHash::new("hashed".into()))
        }

        fn verify(&self, _: &Password, _: &PasswordHash) -> Result<bool, HashError> {
            Ok(false)
        }
    }

    #[test]
    fn dropping_the_pool_skips_the_jobs_still_queued() {
        let hashed = Arc::new(AtomicUsize::new(0));
        let (results, _inbox) = mpsc::channel();
        let threads = 2;
        let mut pool = HashPool::start(
            Arc::new(SlowHasher(Arc::clone(&hashed))),
            threads,
            64,
            || {},
            results,
        )
        .expect("starts");
        for n in 0..20 {
            let job = HashJob::Register {
                username: Username::parse(&format!("user{n}")).expect("valid"),
                password: Password::new("a password".into()).expect("valid"),
            };
            pool.submit(ConnId(n), 1, job).expect("queued");
        }
        drop(pool);
        let done = hashed.load(Ordering::SeqCst);
        assert!(
            done <= threads,
            "{done} of 20 queued jobs were hashed after the drop"
        );
    }

    static RELEASES: AtomicUsize = AtomicUsize::new(0);

    fn count_release() {
        RELEASES.fetch_add(1, Ordering::SeqCst);
    }

    fn queued(n: u64) -> Queued {
        Queued {
            job: Tagged {
                conn: ConnId(n),
                request_id: 1,
                work: HashJob::Register {
                    username: Username::parse(&format!("user{n}")).expect("valid"),
                    password: Password::new("a password".into()).expect("valid"),
                },
            },
            cancelled: Arc::new(AtomicBool::new(false)),
        }
    }

    #[test]
    fn a_thread_gives_memory_back_when_it_runs_out_of_jobs_not_between_them() {
        let (jobs_tx, jobs_rx) = mpsc::sync_channel(8);
        let jobs = Mutex::new(jobs_rx);
        for n in 0..3 {
            jobs_tx.send(queued(n)).expect("queued");
        }
        let mut released = true;
        for n in 0..3 {
            let job = next_job(&jobs, &mut released, count_release).expect("a job");
            assert_eq!(job.job.conn, ConnId(n));
            released = false; // hashed
        }
        assert_eq!(RELEASES.load(Ordering::SeqCst), 0, "jobs were waiting");
        // None left: it gives back once, then sleeps until the next job comes.
        let jobs = Arc::new(jobs);
        let waiting = {
            let jobs = Arc::clone(&jobs);
            std::thread::spawn(move || next_job(&jobs, &mut released, count_release))
        };
        let started = std::time::Instant::now();
        while RELEASES.load(Ordering::SeqCst) == 0 && started.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(
            RELEASES.load(Ordering::SeqCst),
            1,
            "released before sleeping"
        );
        jobs_tx.send(queued(3)).expect("queued");
        let job = waiting.join().expect("the thread ends").expect("a job");
        assert_eq!(job.job.conn, ConnId(3));
        assert_eq!(RELEASES.load(Ordering::SeqCst), 1, "once");
    }
}
