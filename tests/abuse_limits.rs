//! The abuse limits, each over real sockets: just under a limit is served, just over it gets
//! its code (with the wait, for rate limits), and nobody else is touched. Limits do not depend
//! on the store, so these run on the default one.

mod common;

use std::io::Write;
use std::time::Duration;

use chat_store_contract::TempDir;
use chat_wire::{ClientFrame, ErrorBody, Reply, Request, ServerFrame, encode_frame};
use common::*;

const STORE: &str = "sled";

fn closing_code(frame: Option<ServerFrame>) -> String {
    match frame {
        Some(ServerFrame::Closing(body)) => body.code,
        other => panic!("expected Closing, got {other:?}"),
    }
}

/// The wait a `rate_limited` reply asks for, in seconds, checked to be within `1..=most`.
fn rate_limited_wait(reply: &Reply, most: u64) -> u64 {
    let Reply::Error(ErrorBody { code, message }) = reply else {
        panic!("expected rate_limited, got {reply:?}");
    };
    assert_eq!(code, "rate_limited", "{message}");
    let secs: u64 = message
        .split("try again in ")
        .nth(1)
        .and_then(|rest| rest.strip_suffix(" s."))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no wait in {message:?}"));
    assert!((1..=most).contains(&secs), "{secs} s in {message:?}");
    secs
}

#[test]
fn failed_log_ins_are_limited_per_username() {
    let data = TempDir::new("limit-login-name");
    let server = ServerProcess::start(STORE, &data, &["--login-failures-per-min", "3"]);
    drop(user(&server, "alice"));
    let mut client = server.client();
    for _ in 0..2 {
        assert_eq!(
            error_code(&client.log_in("alice", "wrong password")),
            "wrong_password"
        );
    }
    // Two failures of three: the right password still works.
    assert!(matches!(
        client.log_in("alice", PASSWORD),
        Reply::LoggedIn { .. }
    ));
    let mut other = server.client();
    assert_eq!(
        error_code(&other.log_in("alice", "wrong password")),
        "wrong_password"
    );
    // The third failure spent the last: now even the right password waits, about 20 s.
    rate_limited_wait(&other.log_in("alice", PASSWORD), 20);
    // From another address (this one has spent its failures too), alice still waits...
    let elsewhere = std::net::Ipv4Addr::new(127, 0, 0, 2);
    let mut away = Client::connect_from(elsewhere, server.addr);
    rate_limited_wait(&away.log_in("alice", PASSWORD), 20);
    // ...and someone else's account is not touched by alice's failures.
    assert!(matches!(away.register("bob"), Reply::Registered { .. }));
    let mut bob = Client::connect_from(elsewhere, server.addr);
    assert!(matches!(
        bob.log_in("bob", PASSWORD),
        Reply::LoggedIn { .. }
    ));
}

#[test]
fn failed_log_ins_are_limited_per_address() {
    let data = TempDir::new("limit-login-address");
    let server = ServerProcess::start(STORE, &data, &["--login-failures-per-min", "3"]);
    for name in ["alice", "bob", "carol", "dave"] {
        drop(user(&server, name));
    }
    let mut client = server.client();
    // Each name fails once (under its own limit), and an unknown one counts for the address.
    assert_eq!(
        error_code(&client.log_in("alice", "wrong password")),
        "wrong_password"
    );
    assert_eq!(
        error_code(&client.log_in("bob", "wrong password")),
        "wrong_password"
    );
    assert!(matches!(
        client.log_in("carol", PASSWORD),
        Reply::LoggedIn { .. }
    ));
    let mut next = server.client();
    assert_eq!(error_code(&next.log_in("nobody", PASSWORD)), "unknown_user");
    // Three failures from this address: dave, who never failed, waits too...
    rate_limited_wait(&next.log_in("dave", PASSWORD), 20);
    // ...but not from another address.
    let mut away = Client::connect_from(std::net::Ipv4Addr::new(127, 0, 0, 2), server.addr);
    assert!(matches!(
        away.log_in("dave", PASSWORD),
        Reply::LoggedIn { .. }
    ));
}

#[test]
fn registrations_are_limited_per_address() {
    let data = TempDir::new("limit-registrations");
    let server = ServerProcess::start(STORE, &data, &["--registrations-per-hour", "3"]);
    for name in ["alice", "bob", "carol"] {
        drop(user(&server, name));
    }
    // An hour over three: the next one is in 20 minutes, but not from another address.
    rate_limited_wait(&server.client().register("dave"), 20 * 60);
    let mut away = Client::connect_from(std::net::Ipv4Addr::new(127, 0, 0, 2), server.addr);
    assert!(matches!(away.register("dave"), Reply::Registered { .. }));
    // Those registered still log in.
    assert!(matches!(
        server.client().log_in("alice", PASSWORD),
        Reply::LoggedIn { .. }
    ));
}

#[test]
fn messages_are_limited_per_user_on_all_devices_and_nobody_else_waits() {
    let data = TempDir::new("limit-messages");
    let server = ServerProcess::start(
        STORE,
        &data,
        &["--message-burst", "5", "--messages-per-sec", "20"],
    );
    let mut alice = user(&server, "alice");
    let mut bob = user(&server, "bob");
    let mut alice_phone = server.client();
    assert!(matches!(
        alice_phone.log_in("alice", PASSWORD),
        Reply::LoggedIn { .. }
    ));
    // The burst, spread over two devices; sent back to back, faster than 20 a second.
    let ids: Vec<u32> = (0..3)
        .map(|i| alice.send_message_request("bob", &format!("laptop {i}")))
        .collect();
    for id in ids {
        assert!(matches!(alice.reply_to(id), Reply::Sent { .. }));
    }
    for i in 0..2 {
        alice_phone.send_ok("bob", &format!("phone {i}"));
    }
    rate_limited_wait(&alice.send("bob", "one too many"), 1);
    rate_limited_wait(&alice_phone.send("bob", "from the phone too"), 1);
    // Bob is not alice: he sends at once.
    bob.send_ok("alice", "I am not limited");
    // A token comes back every 50 ms.
    std::thread::sleep(Duration::from_millis(120));
    alice.send_ok("bob", "after a pause");
    // The refused ones were never stored or delivered.
    let bodies: Vec<String> = bob
        .all_history("alice")
        .into_iter()
        .map(|m| m.body)
        .collect();
    assert_eq!(bodies.len(), 7, "{bodies:?}");
    assert!(
        !bodies
            .iter()
            .any(|b| b == "one too many" || b == "from the phone too")
    );
}

#[test]
fn the_default_message_burst_is_fifty() {
    let data = TempDir::new("limit-default-burst");
    let server = ServerProcess::start_with_abuse_limits(STORE, &data, &[]);
    let mut alice = user(&server, "alice");
    drop(user(&server, "bob"));
    let ids: Vec<u32> = (0..51)
        .map(|i| alice.send_message_request("bob", &format!("note {i}")))
        .collect();
    let replies: Vec<Reply> = ids.into_iter().map(|id| alice.reply_to(id)).collect();
    // Written in one go, a token or two may come back (one each 100 ms) before the end.
    let sent = replies
        .iter()
        .filter(|r| matches!(r, Reply::Sent { .. }))
        .count();
    assert!((50..=51).contains(&sent), "{sent} sent");
    let more: Vec<u32> = (0..10)
        .map(|i| alice.send_message_request("bob", &format!("more {i}")))
        .collect();
    let limited = more
        .into_iter()
        .map(|id| alice.reply_to(id))
        .filter(|r| matches!(r, Reply::Error(e) if e.code == "rate_limited"))
        .count();
    assert!(limited >= 8, "{limited} of 10 refused");
}

#[test]
fn connections_are_limited_per_address() {
    let data = TempDir::new("limit-connections");
    let server = ServerProcess::start(STORE, &data, &["--max-connections-per-address", "3"]);
    let mut open: Vec<Client> = (0..3).map(|_| server.client()).collect();
    let mut fourth = Client::connect_raw(server.addr);
    assert_eq!(closing_code(fourth.read_frame()), "too_many_connections");
    // Another address has its own count.
    let mut away = Client::connect_from(std::net::Ipv4Addr::new(127, 0, 0, 2), server.addr);
    assert_eq!(away.request(Request::Ping), Reply::Pong);
    // Closing one makes room; the others were never disturbed.
    drop(open.pop());
    let mut again = None;
    // The server sees the close on its next turn: retry briefly until it has.
    for _ in 0..100 {
        let mut probe = Client::connect_raw(server.addr);
        probe.write_frame(&ClientFrame::Hello(chat_wire::Hello {
            magic: chat_wire::MAGIC,
            version: chat_wire::PROTOCOL_VERSION,
        }));
        match probe.read_frame() {
            Some(ServerFrame::Welcome { .. }) => {
                again = Some(probe);
                break;
            }
            Some(ServerFrame::Closing(body)) if body.code == "too_many_connections" => {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(again.is_some(), "room again after a close");
    for client in &mut open {
        assert_eq!(client.request(Request::Ping), Reply::Pong);
    }
}

#[test]
fn a_frame_that_trickles_in_too_slowly_is_closed() {
    let data = TempDir::new("limit-frame-timeout");
    let server = ServerProcess::start(STORE, &data, &["--frame-timeout-secs", "1"]);
    let mut bystander = user(&server, "bob");
    let mut slow = user(&server, "alice");
    let mut bytes = Vec::new();
    let ping = ClientFrame::Request {
        id: 100,
        request: Request::Ping,
    };
    encode_frame(&ping, chat_wire::FRAME_BYTES_MAX, &mut bytes).expect("encodes");
    // Just under: a frame in two parts, half a second apart, is answered.
    slow.stream.write_all(&bytes[..3]).expect("writes");
    std::thread::sleep(Duration::from_millis(500));
    slow.stream.write_all(&bytes[3..]).expect("writes");
    assert_eq!(slow.reply_to(100), Reply::Pong);
    // Over: the start of a frame and then nothing, while someone else is served.
    slow.stream.write_all(&bytes[..3]).expect("writes");
    for _ in 0..3 {
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(bystander.request(Request::Ping), Reply::Pong);
    }
    assert_eq!(closing_code(slow.read_frame()), "frame_timeout");
}

#[test]
fn log_ins_in_flight_at_once_cannot_outrun_the_limit() {
    let data = TempDir::new("limit-login-parallel");
    // Slow hashing keeps the attempts in flight together.
    let server = ServerProcess::start(
        STORE,
        &data,
        &["--login-failures-per-min", "3", "--hash-memory-kib", "8192"],
    );
    drop(user(&server, "alice"));
    let mut guessers: Vec<Client> = (0..8).map(|_| server.client()).collect();
    // All eight guesses are sent before any answer comes back.
    let ids: Vec<u32> = guessers
        .iter_mut()
        .map(|guesser| {
            guesser.send_request(Request::LogIn {
                username: "alice".into(),
                password: "a wrong guess".into(),
            })
        })
        .collect();
    let codes: Vec<String> = guessers
        .iter_mut()
        .zip(ids)
        .map(|(guesser, id)| error_code(&guesser.reply_to(id)).to_string())
        .collect();
    let checked = codes.iter().filter(|c| *c == "wrong_password").count();
    let limited = codes.iter().filter(|c| *c == "rate_limited").count();
    assert_eq!((checked, limited), (3, 5), "{codes:?}");
}
