//! The loop and the core on two threads: a connection that closes while the core still works
//! on its requests must never have its answers reach a newcomer (connection ids are never
//! reused), and answers keep their order across the threads.

mod common;

use chat_store_contract::TempDir;
use chat_wire::{ClientFrame, Reply, Request, WireRecipient};
use common::*;

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

on_both_stores!(answers_to_a_closed_connection_never_reach_a_newcomer);
