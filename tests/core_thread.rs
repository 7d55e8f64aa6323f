//! The loop and the core on two threads: no acknowledgement or delivery leaves before the
//! commit that holds its message (a store whose commit the test holds), and a connection that
//! closes while the core still works on its requests never has its answers reach a newcomer
//! (connection ids are never reused).

mod common;

use std::time::Duration;

use chat::store::StoreKind;
use chat_store_contract::TempDir;
use chat_wire::{ClientFrame, Reply, Request, WireRecipient};
use common::gate_store::serve_gated;
use common::*;

fn an_ack_and_a_delivery_never_precede_their_commit(store: &'static str) {
    let data = TempDir::new("gated-ack");
    let kind: StoreKind = store.parse().expect("store kind");
    let gated = serve_gated(kind, &data);
    let mut bob = Client::connect(gated.addr);
    assert!(matches!(bob.register("bob"), Reply::Registered { .. }));
    let mut alice = Client::connect(gated.addr);
    assert!(matches!(alice.register("alice"), Reply::Registered { .. }));
    gated.gate.hold();
    let id = alice.send_message_request("bob", "held");
    // A server that answered before its commit would answer now, while the commit waits.
    assert!(
        !alice.anything_within(Duration::from_millis(300)),
        "acked early"
    );
    assert!(
        !bob.anything_within(Duration::from_millis(1)),
        "delivered early"
    );
    gated.gate.release();
    let Reply::Sent { message_id, .. } = alice.reply_to(id) else {
        panic!("expected Sent")
    };
    assert!(gated.gate.is_committed(message_id));
    let delivered = bob.next_message();
    assert_eq!(delivered.id, message_id);
}

fn answers_to_a_closed_connection_never_reach_a_newcomer(store: &'static str) {
    let data = TempDir::new("e2e-core-ids");
    let server = ServerProcess::start(store, &data, &[]);
    let mut alice = user(&server, "alice");
    for n in 0..20 {
        alice.send_ok("alice", &format!("note {n} {}", "x".repeat(2000)));
    }
    for round in 0..20 {
        let mut gone = server.client();
        assert!(matches!(
            gone.log_in("alice", PASSWORD),
            Reply::LoggedIn { .. }
        ));
        // Requests the core is still answering when the connection goes.
        for n in 0..16 {
            gone.write_frame(&ClientFrame::Request {
                id: 1000 + n,
                request: Request::History {
                    with: WireRecipient::User("alice".into()),
                    before: None,
                    limit: Some(500),
                },
            });
        }
        drop(gone);
        // A newcomer gets its own answers only (the harness fails on any other reply), and
        // the deliveries meant for alice's devices reach none of its.
        let mut newcomer = server.client();
        assert_eq!(
            newcomer.request(Request::Ping),
            Reply::Pong,
            "round {round}"
        );
        assert!(
            newcomer.events.is_empty(),
            "round {round}: {:?}",
            newcomer.events
        );
    }
}

on_both_stores!(
    an_ack_and_a_delivery_never_precede_their_commit,
    answers_to_a_closed_connection_never_reach_a_newcomer,
);
