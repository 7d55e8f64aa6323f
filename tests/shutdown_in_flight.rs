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
    // Give the core a moment to be in the commit, then stop the server.
    std::thread::sleep(Duration::from_millis(200));
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
