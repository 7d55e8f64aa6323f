//! What `--keep-data` promises: a message is acknowledged only once it is on the disk, not
//! only in the kernel's cache. Watched from outside with strace on the running server: sends
//! made one at a time, each awaiting its acknowledgement, are met by at least as many `fsync`s
//! or `fdatasync`s of the store's log, the calls that also empty the disk's write cache (that
//! the acknowledgement waits for its commit is `tests/core_thread.rs`'s). sled's own flush
//! writes with `sync_file_range`, which does neither that nor record a file's new length; it
//! syncs only every half second in the background.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, mpsc};
use std::time::Instant;

use chat_store_contract::TempDir;
use common::*;

/// Sends made one at a time, each awaiting its acknowledgement.
const SENDS: usize = 30;

/// strace, installed from Debian's packages when this machine lacks it, as the other services
/// the tests start are; one test at a time, as apt-get takes a lock.
fn ensure_strace() {
    static INSTALLING: Mutex<()> = Mutex::new(());
    let _one_at_a_time = INSTALLING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let present = || {
        Command::new("strace")
            .arg("-V")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    };
    if present() {
        return;
    }
    let install = || {
        Command::new("apt-get")
            .args(["install", "-y", "-q", "strace"])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    };
    if !install() {
        let _ = Command::new("apt-get")
            .args(["update", "-q"])
            .stdout(Stdio::null())
            .status();
        install();
    }
    assert!(
        present(),
        "these tests need strace; `apt-get install strace` failed"
    );
}

/// strace attached to every thread of a running process, logging its syncs to a file.
struct Tracer {
    child: Child,
}

impl Tracer {
    /// Attaches, and returns once strace says it traces the process: "Process 12 attached
    /// with 5 threads", all of them at once.
    fn attach(pid: u32, log: &Path) -> Tracer {
        let mut child = Command::new("strace")
            .args(["-f", "-y", "-e", "trace=fsync,fdatasync", "-o"])
            .arg(log)
            .args(["-p", &pid.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("strace starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let (said, hear) = mpsc::channel();
        // strace goes on writing to its stderr: drained to the end so that it never blocks.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = said.send(line);
            }
        });
        // Held from here, so that a failing test still stops it.
        let tracer = Tracer { child };
        let deadline = Instant::now() + READ_TIMEOUT;
        loop {
            let line = hear
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .unwrap_or_else(|_| panic!("strace did not say it attached to {pid}"));
            assert!(!line.contains("Operation not permitted"), "{line}");
            if line.contains("attached") {
                return tracer;
            }
        }
    }

    /// Detaches (the traced process goes on) and waits until strace has written its log.
    fn detach(mut self) {
        signal_process(self.child.id(), "INT");
        assert!(
            wait_for_exit(&mut self.child, READ_TIMEOUT).is_some(),
            "strace did not detach"
        );
    }
}

impl Drop for Tracer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The syncs of `file` (its path's end) that strace logged as succeeded.
fn syncs_in(log: &Path, file: &str) -> usize {
    let fd_of_file = format!("{file}>)");
    std::fs::read_to_string(log)
        .expect("strace's log")
        .lines()
        .filter(|line| {
            line.contains("sync(") && line.contains(&fd_of_file) && line.trim_end().ends_with("= 0")
        })
        .count()
}

/// The file whose sync makes a commit of `store` durable: its log.
fn log_file_of(store: &str) -> &'static str {
    match store {
        "sled" => "/sled/db",
        "sqlite" => "/chat.sqlite3-wal",
        other => panic!("no store {other}"),
    }
}

fn every_kept_acknowledgement_follows_a_sync_to_the_disk(store: &'static str) {
    ensure_strace();
    let data = TempDir::new("durability");
    let server = ServerProcess::start(store, &data, &["--keep-data"]);
    let mut alice = user(&server, "alice");
    user(&server, "bob");
    let trace = TempDir::new("durability-trace");
    let log = trace.path().join("syncs");
    let tracer = Tracer::attach(server.child.id(), &log);
    for n in 0..SENDS {
        alice.send_ok("bob", &format!("message {n}"));
    }
    tracer.detach();
    let syncs = syncs_in(&log, log_file_of(store));
    assert!(
        syncs >= SENDS,
        "{SENDS} acknowledged sends, one at a time, but only {syncs} syncs of the store's log:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
}

on_both_stores!(every_kept_acknowledgement_follows_a_sync_to_the_disk);
