//! SIGTERM while a commit is in flight (a slow fsync, held by the test): the core finishes and
//! commits its batch, the acknowledgement and the delivery go out before the `Closing`, and the
//! server ends cleanly. Its own binary: the test signals its own process.

mod common;

use std::time::Duration;

use chat::store::StoreKind;
use chat_store_contract::TempDir;
use chat_wire::{Event, Reply, ServerFrame};
use common::gate_store::serve_gated;
use common::*;

#[test]
fn sigterm_during_a_commit_sends_its_ack_and_delivery_before_closing_and_ends_cleanly() {
    let data = TempDir::new("shutdown-in-flight");
    let gated = serve_gated(StoreKind::Sqlite, &data);
    let mut bob = Client::connect(gated.addr);
    assert!(matches!(bob.register("bob"), Reply::Registered { .. }));
    let mut alice = Client::connect(gated.addr);
    assert!(matches!(alice.register("alice"), Reply::Registered { .. }));
    gated.gate.hold();
    let id = alice.send_message_request("bob", "in flight at shutdown");
    // Once the core is in the commit, stop the server.
    gated.gate.wait_for_a_held_message();
    // SAFETY: kill(2) on this process with a signal the server has a handler for.
    assert_eq!(unsafe { libc::kill(libc::getpid(), libc::SIGTERM) }, 0);
    // The server must not end, nor close alice, while her message is being committed.
    assert!(
        gated
            .ended
            .recv_timeout(Duration::from_millis(300))
            .is_err(),
        "the server ended while its commit was still running"
    );
    gated.gate.release();

    let message_id = match alice.read_frame() {
        Some(ServerFrame::Reply {
            id: answered,
            reply: Reply::Sent { message_id, .. },
        }) if answered == id => message_id,
        other => panic!("expected the ack before anything else, got {other:?}"),
    };
    assert!(gated.gate.is_committed(message_id));
    match bob.read_frame() {
        Some(ServerFrame::Event(Event::Message(message))) => {
            assert_eq!(message.id, message_id);
            assert_eq!(message.body, "in flight at shutdown");
        }
        other => panic!("expected the delivery before the Closing, got {other:?}"),
    }
    for client in [&mut alice, &mut bob] {
        match client.read_frame() {
            Some(ServerFrame::Closing(body)) => assert_eq!(body.code, "server_shutdown"),
            other => panic!("expected Closing, got {other:?}"),
        }
        assert_eq!(client.read_frame(), None);
    }
    let result = gated
        .ended
        .recv_timeout(READ_TIMEOUT)
        .expect("the server stops");
    assert!(result.is_ok(), "{result:?}");
}

/// The child's part of the next test: a server whose commit is stuck, in a process of its own.
const STUCK_CHILD: &str = "CHAT_TEST_STUCK_COMMIT_CHILD";
/// What the child prints once its commit is stuck.
const STUCK_LINE: &str = "the commit is stuck";

/// A second SIGTERM ends the server at once (status 130) even while it waits for a commit that
/// does not return (a hung disk), when the loop no longer polls for signals. The test runs
/// itself again as the child that serves, and signals it.
#[test]
fn a_second_sigterm_while_a_commit_is_stuck_exits_at_once() {
    if std::env::var_os(STUCK_CHILD).is_some() {
        return serve_with_a_stuck_commit();
    }
    let child = std::process::Command::new(std::env::current_exe().expect("own path"))
        .args([
            "--exact",
            "a_second_sigterm_while_a_commit_is_stuck_exits_at_once",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(STUCK_CHILD, "1")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the child starts");
    // Killed whatever happens: its commit never ends by itself.
    let mut child = KilledOnDrop(child);
    let child = &mut child.0;
    let stdout = child.stdout.take().expect("piped");
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
    assert!(
        // libtest may print the test's name on the same line first.
        lines.any(|line| line.is_ok_and(|l| l.ends_with(STUCK_LINE))),
        "the child never reached its stuck commit"
    );
    let pid = i32::try_from(child.id()).expect("pid");
    // SAFETY: kill(2) on our own child.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    // Past the shutdown grace (2 s), the loop waits for the core's thread and polls no more.
    std::thread::sleep(Duration::from_millis(2_500));
    assert!(
        child.try_wait().expect("wait").is_none(),
        "the server ended while its commit was stuck"
    );
    // SAFETY: as above.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "a second SIGTERM did not end the server"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(130), "{status:?}");
}

fn serve_with_a_stuck_commit() {
    let data = TempDir::new("stuck-commit");
    let gated = serve_gated(StoreKind::Sqlite, &data);
    let mut alice = Client::connect(gated.addr);
    assert!(matches!(alice.register("alice"), Reply::Registered { .. }));
    gated.gate.hold();
    alice.send_message_request("alice", "stuck for good");
    gated.gate.wait_for_a_held_message();
    println!("{STUCK_LINE}");
    // The gate is never released: only a signal ends this process.
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}

struct KilledOnDrop(std::process::Child);

impl Drop for KilledOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
