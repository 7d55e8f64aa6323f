//! The real `chat-client` riding out a lost connection, over real sockets: the server killed
//! with SIGKILL and started again on its port and data (`--keep-data`), a link cut by a proxy
//! at the worst moment, two servers to fail over between, and a password changed meanwhile.

mod common;

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use chat_store_contract::TempDir;
use chat_wire::{Reply, Request, WireMessage};
use common::chat_client::{ClientProcess, client_command};
use common::proxy::Proxy;
use common::pty::Pty;
use common::{Client, PASSWORD, ServerProcess, user};

/// A script client for `name` on `servers` (each a `--server`), logged in.
fn script_client(servers: &[SocketAddr], name: &str) -> ClientProcess {
    let mut command = client_command(servers[0]);
    for server in &servers[1..] {
        command.args(["--server", &server.to_string()]);
    }
    let mut client = ClientProcess::start_with(command, Stdio::piped());
    client.write_line(name);
    client.write_line(PASSWORD);
    client.expect(&format!("logged in as {name}"), |line| {
        line.contains(&format!("ogged in as {name}."))
    });
    client
}

/// Kills the server at once, as a crash would.
fn kill(mut server: ServerProcess) {
    server.signal("KILL");
    assert!(server.wait_exit(Duration::from_secs(20)).is_some());
}

/// The bodies of `with`'s conversation with `name`, read by a fresh connection as `name`.
fn bodies(addr: SocketAddr, name: &str, with: &str) -> Vec<String> {
    let mut client = Client::connect(addr);
    assert!(matches!(
        client.log_in(name, PASSWORD),
        Reply::LoggedIn { .. }
    ));
    client
        .all_history(with)
        .into_iter()
        .map(|m: WireMessage| m.body)
        .collect()
}

fn count(bodies: &[String], body: &str) -> usize {
    bodies.iter().filter(|b| *b == body).count()
}

#[test]
fn a_killed_server_comes_back_under_a_half_typed_line_and_the_outage_message_arrives_once() {
    let data = TempDir::new("reconnect-kill");
    let server = ServerProcess::start("sled", &data, &["--keep-data"]);
    let addr = server.addr;
    drop(user(&server, "bob"));
    let mut pty = Pty::open();
    let mut client = pty.spawn_client(&server);
    pty.wait_for("username: ");
    pty.type_keys(&format!("alice\r{PASSWORD}\r{PASSWORD}\r"));
    pty.wait_for("Registered and logged in as alice.");

    // Half a line typed, then the server dies under it.
    pty.type_keys("/send bob hal");
    pty.wait_for("> /send bob hal");
    let mark = pty.mark();
    kill(server);
    let shown = pty.wait_for_after(mark, "reconnecting in 2 s...");
    assert_eq!(shown.matches("Connection lost").count(), 1, "{shown:?}");
    // The line is drawn again intact under the status line, the prompt saying offline.
    pty.wait_for_after(mark, "(offline) > /send bob hal");

    // Finished while the server is away: kept and shown pending.
    pty.type_keys("f sent offline\r");
    pty.wait_for_after(mark, "(pending) you -> bob: half sent offline");
    // Another line half typed while the server is away.
    pty.type_keys("/send bob still typ");
    pty.wait_for_after(mark, "(offline) > /send bob still typ");

    let mark = pty.mark();
    let server = ServerProcess::start_on("sled", &data, &addr.to_string(), &["--keep-data"]);
    let back = pty.wait_for_after(mark, "> /send bob still typ\x1b[K");
    assert!(back.contains("Reconnected to"), "{back:?}");
    pty.wait_for_after(mark, "you -> bob: half sent offline");
    assert_eq!(
        count(&bodies(server.addr, "bob", "alice"), "half sent offline"),
        1
    );

    // The half line was never touched: finishing it sends exactly what was typed.
    pty.type_keys("ing\r");
    pty.wait_for_after(mark, "you -> bob: still typing");
    let stored = bodies(server.addr, "bob", "alice");
    assert_eq!(stored, ["half sent offline", "still typing"]);
    pty.type_keys("\x04");
    assert!(common::pty::wait_exit(&mut client).success());
}

#[test]
fn a_message_the_server_never_read_before_it_died_is_stored_once_after_the_restart() {
    let data = TempDir::new("reconnect-unseen");
    let server = ServerProcess::start("sqlite", &data, &["--keep-data"]);
    let addr = server.addr;
    drop(user(&server, "bob"));
    let mut alice = script_client(&[addr], "alice");
    // The server is frozen: what the client writes now waits unread in the kernel, and dies
    // with the server.
    server.signal("STOP");
    alice.write_line("/send bob written to a frozen server");
    std::thread::sleep(Duration::from_millis(300));
    kill(server);
    alice.expect_line("Connection lost");
    let server = ServerProcess::start_on("sqlite", &data, &addr.to_string(), &["--keep-data"]);
    alice.expect_line("Reconnected to");
    alice.expect_line("you -> bob: written to a frozen server");
    assert_eq!(
        bodies(server.addr, "bob", "alice"),
        ["written to a frozen server"]
    );
    alice.write_line("/send bob and after it");
    alice.expect_line("you -> bob: and after it");
    assert!(alice.finish().status.success());
    assert_eq!(
        bodies(server.addr, "bob", "alice"),
        ["written to a frozen server", "and after it"]
    );
}

#[test]
fn a_message_stored_whose_ack_was_lost_when_the_server_died_is_stored_once_after_the_restart() {
    let data = TempDir::new("reconnect-seen");
    let server = ServerProcess::start("sled", &data, &["--keep-data"]);
    let addr = server.addr;
    let mut bob = user(&server, "bob");
    let proxy = Proxy::start(addr);
    let mut alice = script_client(&[proxy.addr], "alice");
    // The server stores it and acknowledges it, but the acknowledgement never arrives.
    proxy.swallow_replies(true);
    alice.write_line("/send bob stored but never acknowledged");
    assert_eq!(bob.next_message().body, "stored but never acknowledged");
    kill(server);
    alice.expect_line("Connection lost");
    proxy.cut();
    let server = ServerProcess::start_on("sled", &data, &addr.to_string(), &["--keep-data"]);
    proxy.let_in(server.addr);
    alice.expect_line("Reconnected to");
    // The resend finds the stored message: its acknowledgement, nothing stored again.
    alice.expect_line("you -> bob: stored but never acknowledged");
    assert_eq!(
        bodies(server.addr, "bob", "alice"),
        ["stored but never acknowledged"]
    );
    assert!(alice.finish().status.success());
}

#[test]
fn messages_sent_while_away_appear_once_in_order_marked_missed() {
    let data = TempDir::new("reconnect-missed");
    let server = ServerProcess::start("sled", &data, &[]);
    let mut bob = user(&server, "bob");
    let proxy = Proxy::start(server.addr);
    let mut alice = script_client(&[proxy.addr], "alice");
    bob.send_ok("alice", "before");
    alice.expect_line("bob: before");

    proxy.cut();
    alice.expect_line("Connection lost");
    for n in 1..=3 {
        bob.send_ok("alice", &format!("while away {n}"));
    }
    proxy.let_in(server.addr);
    // More while alice comes back: each may come before, during or after her catch-up, live or
    // caught up; either way once, and in order.
    for n in 1..=3 {
        bob.send_ok("alice", &format!("meanwhile {n}"));
    }
    alice.expect_line("Reconnected to");
    for n in 1..=3 {
        bob.send_ok("alice", &format!("just back {n}"));
    }
    alice.expect_line("While you were away:");
    for n in 1..=3 {
        let line = alice.expect_line(&format!("while away {n}"));
        assert!(
            line.starts_with("(missed) [") && line.ends_with(&format!("bob: while away {n}")),
            "{line}"
        );
    }
    alice.expect_line("just back 3");
    bob.send_ok("alice", "back again");
    let live = alice.expect_line("back again");
    assert!(!live.contains("missed"), "{live}");
    let finished = alice.finish();
    assert!(finished.status.success());
    let shown: Vec<&str> = finished
        .stdout
        .iter()
        .filter_map(|l| l.split_once("bob: ").map(|(_, body)| body))
        .collect();
    assert_eq!(
        shown,
        [
            "before",
            "while away 1",
            "while away 2",
            "while away 3",
            "meanwhile 1",
            "meanwhile 2",
            "meanwhile 3",
            "just back 1",
            "just back 2",
            "just back 3",
            "back again",
        ],
        "{:?}",
        finished.stdout
    );
}

#[test]
fn the_client_fails_over_between_two_servers_given_with_server_twice() {
    let (data_a, data_b) = (TempDir::new("failover-a"), TempDir::new("failover-b"));
    let a = ServerProcess::start("sled", &data_a, &[]);
    let b = ServerProcess::start("sqlite", &data_b, &[]);
    // Both know alice and bob (in a cluster they would share the database).
    drop(user(&a, "alice"));
    drop(user(&a, "bob"));
    drop(user(&b, "alice"));
    let mut bob_on_b = user(&b, "bob");
    let mut alice = script_client(&[a.addr, b.addr], "alice");
    alice.write_line("/send bob via a");
    alice.expect_line("you -> bob: via a");
    kill(a);
    alice.expect_line("Connection lost");
    let back = alice.expect_line("Reconnected to");
    assert!(back.contains(&b.addr.to_string()), "{back}");
    alice.write_line("/send bob via b");
    assert_eq!(bob_on_b.next_message().body, "via b");
    assert!(alice.finish().status.success());
}

#[test]
fn a_comma_list_of_servers_is_tried_in_turn_from_the_start() {
    let data = TempDir::new("failover-comma");
    let live = ServerProcess::start("sled", &data, &[]);
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    // The dead one first, in a comma list: the client goes on to the live one.
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_chat-client"));
    command.args(["--server", &format!("{dead},{}", live.addr)]);
    let mut client = ClientProcess::start_with(command, Stdio::piped());
    client.write_line("carol");
    client.write_line(PASSWORD);
    client.expect_line("Registered and logged in as carol.");
    assert!(client.finish().status.success());
}

#[test]
fn a_wrong_password_or_a_gone_account_at_reconnect_stops_the_retries() {
    let data = TempDir::new("reconnect-password");
    let first = ServerProcess::start("sled", &data, &[]);
    let proxy = Proxy::start(first.addr);
    let mut alice = script_client(&[proxy.addr], "alice");
    let mut carol = script_client(&[proxy.addr], "carol");
    proxy.cut();
    kill(first);
    alice.expect_line("Connection lost");
    carol.expect_line("Connection lost");
    // A new server, its store wiped: alice is someone else now, and carol nobody.
    let second = ServerProcess::start("sled", &data, &[]);
    let mut other = Client::connect(second.addr);
    assert!(matches!(
        other.request(Request::Register {
            username: "alice".into(),
            password: "another password entirely".into(),
        }),
        Reply::Registered { .. }
    ));
    proxy.let_in(second.addr);
    let alice = alice.wait();
    assert_eq!(alice.status.code(), Some(1), "{alice:?}");
    assert!(
        alice
            .stderr
            .contains("refused the password for alice on reconnecting")
            && alice.stderr.contains("[wrong_password]")
            && alice.stderr.contains("Stopped reconnecting."),
        "{alice:?}"
    );
    let carol = carol.wait();
    assert_eq!(carol.status.code(), Some(1), "{carol:?}");
    assert!(
        carol.stderr.contains("has no account carol any more"),
        "{carol:?}"
    );
}
