//! One server per data directory: a second `chat-server` on a directory a running one uses
//! exits non-zero naming the other's pid and touches nothing, whatever port it asks for; the
//! start line says whether the data was wiped or kept.

mod common;

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use chat_store_contract::TempDir;
use chat_wire::{Reply, Request, WireRecipient};
use common::*;

/// Runs a second `chat-server` on `data` listening on `listen`, without `--keep-data` (the
/// README's command run twice); it must exit by itself.
fn second_server(store: &str, data: &TempDir, listen: &str) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_chat-server"));
    command
        .args(["--listen", listen, "--store", store])
        .arg("--data")
        .arg(data.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = command.spawn().expect("chat-server starts");
    // A second server that started would serve forever: kill it after a while and fail below.
    let pid = child.id();
    let watchdog = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(20));
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    });
    let output = child.wait_with_output().expect("waits");
    drop(watchdog);
    output
}

fn inspect_json(store: &str, data: &TempDir) -> serde_json::Value {
    let output = Command::new(env!("CARGO_BIN_EXE_chat-server"))
        .args(["inspect", "--store", store, "--json"])
        .arg("--data")
        .arg(data.path())
        .output()
        .expect("inspect runs");
    assert!(output.status.success(), "{output:?}");
    serde_json::from_slice(&output.stdout).expect("JSON")
}

fn a_second_server_touches_nothing(store: &'static str, same_port: bool) {
    let data = TempDir::new("e2e-lock");
    let mut first = ServerProcess::start(store, &data, &["--keep-data"]);
    let mut alice = user(&first, "alice");
    user(&first, "bob");
    alice.send_ok("bob", "still here");

    let listen = if same_port {
        first.addr.to_string()
    } else {
        "127.0.0.1:0".to_string()
    };
    let output = second_server(store, &data, &listen);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    assert!(
        !String::from_utf8_lossy(&output.stdout).contains("listening"),
        "{output:?}"
    );
    assert!(
        stderr.contains(&format!("another chat-server (pid {})", first.child.id())),
        "the holder is named: {stderr}"
    );

    // The first goes on serving what it had, and keeps it past its end.
    let reply = alice.request(Request::History {
        with: WireRecipient::User("bob".into()),
        before: None,
        limit: Some(10),
    });
    let Reply::History(page) = reply else {
        panic!("expected history, got {reply:?}")
    };
    assert_eq!(page.messages.len(), 1);
    first.signal("TERM");
    let status = first.wait_exit(Duration::from_secs(20));
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
    let held = inspect_json(store, &data);
    assert_eq!(held["users"].as_array().map(Vec::len), Some(2), "{held}");
    assert_eq!(held["messages"].as_array().map(Vec::len), Some(1), "{held}");
}

fn a_second_server_on_the_same_port_touches_nothing(store: &'static str) {
    a_second_server_touches_nothing(store, true);
}

fn a_second_server_on_another_port_touches_nothing(store: &'static str) {
    a_second_server_touches_nothing(store, false);
}

fn the_start_line_says_whether_the_data_was_wiped_or_kept(store: &'static str) {
    let data = TempDir::new("e2e-start-line");
    {
        let server = ServerProcess::start(store, &data, &[]);
        let line = server.wait_for_log("wiped the store in");
        assert!(line.contains("(pass --keep-data to keep it)"), "{line}");
        let mut alice = user(&server, "alice");
        user(&server, "bob");
        alice.send_ok("bob", "one");
        alice.send_ok("bob", "two");
        let mut server = server;
        server.signal("TERM");
        assert!(server.wait_exit(Duration::from_secs(20)).is_some());
    }
    let server = ServerProcess::start(store, &data, &["--keep-data"]);
    let line = server.wait_for_log("kept ");
    assert!(
        line.contains(&format!(
            "kept 2 users and 2 messages from {}",
            data.path().display()
        )),
        "{line}"
    );
}

/// A server that cannot start (here: a hashing cost argon2 refuses) has wiped nothing: the
/// store is opened last.
fn a_server_that_fails_to_start_wipes_nothing(store: &'static str) {
    let data = TempDir::new("e2e-start-fails");
    {
        let mut server = ServerProcess::start(store, &data, &["--keep-data"]);
        drop(user(&server, "alice"));
        server.signal("TERM");
        assert!(server.wait_exit(Duration::from_secs(20)).is_some());
    }
    let output = Command::new(env!("CARGO_BIN_EXE_chat-server"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--store",
            store,
            "--hash-passes",
            "0",
        ])
        .arg("--data")
        .arg(data.path())
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("wiped"), "{stderr}");
    let held = inspect_json(store, &data);
    assert_eq!(held["users"].as_array().map(Vec::len), Some(1), "{held}");
}

#[test]
fn help_says_the_default_wipes() {
    let output = Command::new(env!("CARGO_BIN_EXE_chat-server"))
        .arg("--help")
        .output()
        .expect("--help runs");
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(help.contains("wiped at every start"), "{help}");
}

on_both_stores!(
    a_server_that_fails_to_start_wipes_nothing,
    a_second_server_on_the_same_port_touches_nothing,
    a_second_server_on_another_port_touches_nothing,
    the_start_line_says_whether_the_data_was_wiped_or_kept,
);
