//! Restarts, crashes and shutdowns of the real server: what is wiped, what is kept, and that
//! nothing acknowledged is lost to a `kill -9` when data is kept.

mod common;

use std::time::Duration;

use chat_store_contract::TempDir;
use chat_wire::{Reply, ServerFrame};
use common::*;

fn restart_without_keep_data_wipes_users(store: &'static str) {
    let data = TempDir::new("e2e-wipe");
    {
        let server = ServerProcess::start(store, &data, &[]);
        user(&server, "alice");
    }
    let server = ServerProcess::start(store, &data, &[]);
    let mut again = server.client();
    assert_eq!(error_code(&again.log_in("alice", PASSWORD)), "unknown_user");
}

fn restart_with_keep_data_keeps_users_and_history(store: &'static str) {
    let data = TempDir::new("e2e-keep");
    let sent;
    {
        let mut server = ServerProcess::start(store, &data, &["--keep-data"]);
        let mut alice = user(&server, "alice");
        user(&server, "bob");
        sent = alice.send_ok("bob", "remember me");
        server.signal("TERM");
        assert!(
            server
                .wait_exit(Duration::from_secs(10))
                .is_some_and(|s| s.success())
        );
    }
    let server = ServerProcess::start(store, &data, &["--keep-data"]);
    let mut bob = server.client();
    assert_eq!(
        bob.log_in("bob", PASSWORD),
        Reply::LoggedIn {
            username: "bob".into()
        }
    );
    let page = bob.history("alice", None, None);
    assert_eq!(
        page.messages
            .iter()
            .map(|m| (m.id, m.body.as_str()))
            .collect::<Vec<_>>(),
        vec![(sent, "remember me")]
    );
    // New ids continue above the kept ones.
    assert!(bob.send_ok("alice", "back again") > sent);
}

fn sigterm_with_clients_connected_exits_cleanly(store: &'static str) {
    let data = TempDir::new("e2e-sigterm");
    let mut server = ServerProcess::start(store, &data, &[]);
    let mut alice = user(&server, "alice");
    let mut anonymous = server.client();
    server.signal("TERM");
    for client in [&mut alice, &mut anonymous] {
        match client.read_frame() {
            Some(ServerFrame::Closing(body)) => assert_eq!(body.code, "server_shutdown"),
            other => panic!("expected Closing, got {other:?}"),
        }
        assert_eq!(client.read_frame(), None);
    }
    let status = server.wait_exit(Duration::from_secs(10)).expect("exits");
    assert!(status.success(), "{status:?}");
}

on_both_stores!(
    restart_without_keep_data_wipes_users,
    restart_with_keep_data_keeps_users_and_history,
    sigterm_with_clients_connected_exits_cleanly,
);
