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

fn kill_9_under_load_loses_nothing_acknowledged(store: &'static str) {
    const SENDERS: usize = 4;
    let data = TempDir::new("e2e-kill");
    let mut server = ServerProcess::start(store, &data, &["--keep-data"]);
    for i in 0..SENDERS {
        user(&server, &format!("sender{i}"));
    }
    user(&server, "sink");
    let addr = server.addr;
    let handles: Vec<_> = (0..SENDERS)
        .map(|i| {
            std::thread::spawn(move || {
                let mut client = Client::connect(addr);
                assert!(matches!(
                    client.log_in(&format!("sender{i}"), PASSWORD),
                    Reply::LoggedIn { .. }
                ));
                let mut acked = Vec::new();
                // Send until the server dies; keep only what was acknowledged.
                for n in 0..100_000 {
                    let id = client.send_message_request("sink", &format!("{i}:{n}"));
                    match client.read_frame() {
                        Some(ServerFrame::Reply {
                            id: got,
                            reply: Reply::Sent { message_id, .. },
                        }) if got == id => acked.push(message_id),
                        _ => break,
                    }
                }
                acked
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(700));
    server.child.kill().expect("kill -9");
    let _ = server.child.wait();
    let acked: Vec<u64> = handles
        .into_iter()
        .flat_map(|h| h.join().expect("sender"))
        .collect();
    assert!(
        acked.len() > 10,
        "too few messages before the kill: {}",
        acked.len()
    );

    let server = ServerProcess::start(store, &data, &["--keep-data"]);
    let mut sink = server.client();
    assert_eq!(
        sink.log_in("sink", PASSWORD),
        Reply::LoggedIn {
            username: "sink".into()
        }
    );
    let mut stored = Vec::new();
    for i in 0..SENDERS {
        stored.extend(sink.all_history(&format!("sender{i}")).iter().map(|m| m.id));
    }
    stored.sort_unstable();
    let before_dedup = stored.len();
    stored.dedup();
    assert_eq!(
        before_dedup,
        stored.len(),
        "duplicated messages after restart"
    );
    let missing: Vec<&u64> = acked
        .iter()
        .filter(|id| stored.binary_search(id).is_err())
        .collect();
    eprintln!(
        "{store}: {} acknowledged, {} stored, {} missing",
        acked.len(),
        stored.len(),
        missing.len()
    );
    assert!(
        missing.is_empty(),
        "{} acknowledged messages lost: {missing:?}",
        missing.len()
    );
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
    kill_9_under_load_loses_nothing_acknowledged,
    sigterm_with_clients_connected_exits_cleanly,
);
