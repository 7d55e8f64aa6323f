//! A commit that fails while the server is stopping: SIGTERM comes while a commit is stuck (a
//! slow fsync), the grace for draining passes, and then the commit fails. The server must
//! still end with an error (a supervisor restarts it on what is really on disk), not exit 0 as
//! if all were well. Its own binary: the test signals its own process.

mod common;

use std::time::Duration;

use chat::store::StoreKind;
use chat_store_contract::TempDir;
use chat_wire::Reply;
use common::gate_store::serve_gated;
use common::*;

#[test]
fn a_commit_that_fails_after_the_shutdown_grace_still_ends_the_server_with_an_error() {
    let data = TempDir::new("fault-at-shutdown");
    let gated = serve_gated(StoreKind::Sqlite, &data);
    let mut alice = Client::connect(gated.addr);
    assert!(matches!(alice.register("alice"), Reply::Registered { .. }));
    gated.gate.hold();
    gated.gate.fail_commits();
    alice.send_message_request("alice", "stuck in a commit");
    // Once the core is in the commit, stop the server.
    gated.gate.wait_for_a_held_message();
    // SAFETY: kill(2) on this process with a signal the server has a handler for.
    assert_eq!(unsafe { libc::kill(libc::getpid(), libc::SIGTERM) }, 0);
    // The loop waits out its grace for alice's answer, then for the core's thread.
    assert!(
        gated.ended.recv_timeout(Duration::from_secs(4)).is_err(),
        "the server ended while its commit was still running"
    );
    gated.gate.release();
    let result = gated
        .ended
        .recv_timeout(READ_TIMEOUT)
        .expect("the server stops");
    let error = result.expect_err("a failed commit ends the server with an error");
    assert!(
        error.to_string().contains("the store failed to commit"),
        "{error}"
    );
}
