//! Clients that misbehave, and many at once: the server answers or closes each bad one cleanly
//! and keeps serving everyone else.

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use chat_store_contract::TempDir;
use chat_wire::{ClientFrame, Hello, MAGIC, Reply, Request, ServerFrame};
use common::*;

fn closing_code(frame: Option<ServerFrame>) -> String {
    match frame {
        Some(ServerFrame::Closing(body)) => body.code,
        other => panic!("expected Closing, got {other:?}"),
    }
}

/// After each abuse, a well-behaved client still gets served.
fn still_serving(server: &ServerProcess) {
    let mut probe = server.client();
    assert_eq!(probe.request(Request::Ping), Reply::Pong);
}

fn garbage_bytes_get_an_error_then_a_close(store: &'static str) {
    let data = TempDir::new("e2e-garbage");
    let server = ServerProcess::start(store, &data, &[]);
    let mut raw = common::Client::connect_raw(server.addr);
    raw.stream
        .write_all(b"\x00\x00\x00\x08GET / HTTP/1.1\r\n")
        .unwrap();
    assert_eq!(closing_code(raw.read_frame()), "bad_frame");
    assert_eq!(raw.read_frame(), None);
    // An HTTP request reads as a huge length: refused from the prefix alone.
    let mut http = common::Client::connect_raw(server.addr);
    http.stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(closing_code(http.read_frame()), "frame_too_large");
    still_serving(&server);
}

fn a_huge_length_prefix_is_refused_at_once(store: &'static str) {
    let data = TempDir::new("e2e-huge");
    let server = ServerProcess::start(store, &data, &[]);
    let mut client = server.client();
    client.stream.write_all(&[0xff, 0xff, 0xff, 0xff]).unwrap();
    assert_eq!(closing_code(client.read_frame()), "frame_too_large");
    assert_eq!(client.read_frame(), None);
    still_serving(&server);
}

fn the_wrong_magic_or_version_is_refused(store: &'static str) {
    let data = TempDir::new("e2e-magic");
    let server = ServerProcess::start(store, &data, &[]);
    let mut wrong_magic = common::Client::connect_raw(server.addr);
    wrong_magic.write_frame(&ClientFrame::Hello(Hello {
        magic: *b"IRC!",
        version: 1,
    }));
    assert_eq!(closing_code(wrong_magic.read_frame()), "bad_magic");
    let mut wrong_version = common::Client::connect_raw(server.addr);
    wrong_version.write_frame(&ClientFrame::Hello(Hello {
        magic: MAGIC,
        version: 99,
    }));
    assert_eq!(
        closing_code(wrong_version.read_frame()),
        "unsupported_version"
    );
    let mut no_hello = common::Client::connect_raw(server.addr);
    no_hello.write_frame(&ClientFrame::Request {
        id: 1,
        request: Request::Ping,
    });
    assert_eq!(closing_code(no_hello.read_frame()), "hello_expected");
    still_serving(&server);
}

fn a_frame_sent_one_byte_at_a_time(store: &'static str) {
    let data = TempDir::new("e2e-trickle");
    let server = ServerProcess::start(store, &data, &[]);
    let mut client = common::Client::connect_raw(server.addr);
    let mut bytes = Vec::new();
    for frame in [
        ClientFrame::Hello(Hello {
            magic: MAGIC,
            version: 1,
        }),
        ClientFrame::Request {
            id: 7,
            request: Request::Register {
                username: "slow".into(),
                password: PASSWORD.into(),
            },
        },
    ] {
        chat_wire::encode_frame(&frame, chat_wire::FRAME_BYTES_MAX, &mut bytes).unwrap();
    }
    for byte in bytes {
        client.stream.write_all(&[byte]).unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(matches!(
        client.read_frame(),
        Some(ServerFrame::Welcome { .. })
    ));
    assert_eq!(
        client.reply_to(7),
        Reply::Registered {
            username: "slow".into()
        }
    );
}

fn a_client_that_says_nothing_is_closed(store: &'static str) {
    let data = TempDir::new("e2e-silent");
    let server = ServerProcess::start(
        store,
        &data,
        &["--handshake-timeout-secs", "1", "--login-timeout-secs", "2"],
    );
    let mut silent = common::Client::connect_raw(server.addr);
    let mut anonymous = server.client();
    // Meanwhile the server serves others without waiting on the silent one.
    still_serving(&server);
    assert_eq!(closing_code(silent.read_frame()), "handshake_timeout");
    assert_eq!(silent.read_frame(), None);
    assert_eq!(closing_code(anonymous.read_frame()), "login_timeout");
}

fn a_reader_that_never_reads_is_dropped_and_nobody_else_waits(store: &'static str) {
    let data = TempDir::new("e2e-slow");
    // A small output cap makes the slow reader overflow quickly.
    let server = ServerProcess::start(store, &data, &["--max-unsent-bytes", "65536"]);
    let mut sleeper = user(&server, "sleeper");
    sleeper.stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    let mut chatters: Vec<Client> = (0..10)
        .map(|i| user(&server, &format!("chatter{i}")))
        .collect();
    let body = "z".repeat(4000);
    // Fill the sleeper's socket buffers and then its output cap; it never reads.
    // 12 MB: more than loopback's socket buffers on both sides plus the cap.
    let sent_to_sleeper = 3000;
    for round in 0..sent_to_sleeper {
        chatters[round % 10].send_ok("sleeper", &body);
    }
    // Everyone else keeps chatting normally and gets every message.
    for round in 0..20 {
        let (a, b) = (round % 10, (round + 1) % 10);
        let id = chatters[a].send_ok(&format!("chatter{b}"), &format!("round {round}"));
        let got = chatters[b].next_message();
        assert_eq!((got.id, got.body), (id, format!("round {round}")));
    }
    // The sleeper was disconnected: draining its socket ends in EOF, having received less than
    // all that was sent to it.
    let mut received = Vec::new();
    let ended = sleeper.stream.read_to_end(&mut received);
    let timed_out = matches!(&ended, Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut));
    assert!(!timed_out, "the slow reader was never disconnected");
    let whole = sent_to_sleeper * body.len();
    assert!(
        received.len() < whole,
        "the slow reader got everything ({} bytes)",
        received.len()
    );
    // What it missed is in history.
    let mut again = server.client();
    assert_eq!(
        again.log_in("sleeper", PASSWORD),
        Reply::LoggedIn {
            username: "sleeper".into()
        }
    );
    assert_eq!(again.all_history("chatter0").len(), sent_to_sleeper / 10);
}

fn many_clients_lose_nothing_and_keep_order(store: &'static str) {
    const CLIENTS: usize = 200;
    const MESSAGES: usize = 20;
    let data = TempDir::new("e2e-many");
    let server = ServerProcess::start(store, &data, &[]);
    let addr = server.addr;
    // Everyone registers first, so every recipient exists.
    let clients: Vec<Client> = (0..CLIENTS)
        .map(|i| user(&server, &format!("user{i}")))
        .collect();
    let handles: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, mut client)| {
            std::thread::spawn(move || {
                let _ = addr;
                // Pipeline all sends, then collect acks and deliveries.
                let ids: Vec<u32> = (0..MESSAGES)
                    .map(|n| {
                        client.send_message_request(
                            &format!("user{}", (i + 1 + n) % CLIENTS),
                            &format!("{i}:{n}"),
                        )
                    })
                    .collect();
                let acked: Vec<u64> = ids
                    .into_iter()
                    .map(|id| match client.reply_to(id) {
                        Reply::Sent { message_id, .. } => message_id,
                        other => panic!("user{i}: {other:?}"),
                    })
                    .collect();
                let mut received = Vec::new();
                while received.len() < MESSAGES {
                    received.push(client.next_message());
                }
                (acked, received)
            })
        })
        .collect();
    let mut all_acked = Vec::new();
    let mut all_received = Vec::new();
    for handle in handles {
        let (acked, received) = handle.join().expect("client thread");
        // A sender's acks carry increasing ids: the server kept its order.
        assert!(acked.windows(2).all(|w| w[0] < w[1]));
        all_acked.extend(acked);
        all_received.extend(received);
    }
    let mut acked_sorted = all_acked.clone();
    acked_sorted.sort_unstable();
    acked_sorted.dedup();
    assert_eq!(
        acked_sorted.len(),
        CLIENTS * MESSAGES,
        "duplicate acknowledged ids"
    );
    let mut received_ids: Vec<u64> = all_received.iter().map(|m| m.id).collect();
    received_ids.sort_unstable();
    assert_eq!(received_ids, acked_sorted, "lost or duplicated deliveries");
    // Per sender, deliveries come in the order sent.
    for i in 0..CLIENTS {
        let from = format!("user{i}");
        let mut ns: Vec<(u64, usize)> = all_received
            .iter()
            .filter(|m| m.from == from)
            .map(|m| {
                (
                    m.id,
                    m.body
                        .split(':')
                        .nth(1)
                        .and_then(|n| n.parse().ok())
                        .expect("n"),
                )
            })
            .collect();
        ns.sort_unstable();
        assert!(
            ns.windows(2).all(|w| w[0].1 < w[1].1),
            "{from} out of order"
        );
    }
}

fn past_the_connection_cap_a_newcomer_is_refused_with_a_reason(store: &'static str) {
    let data = TempDir::new("e2e-cap");
    let server = ServerProcess::start(store, &data, &["--max-connections", "2"]);
    let mut first = server.client();
    let _second = server.client();
    let mut third = common::Client::connect_raw(server.addr);
    assert_eq!(closing_code(third.read_frame()), "server_full");
    assert_eq!(third.read_frame(), None);
    // Those already in are still served, and a slot frees when one leaves.
    assert_eq!(first.request(Request::Ping), Reply::Pong);
    drop(first);
    std::thread::sleep(Duration::from_millis(300));
    still_serving(&server);
}

fn a_quiet_connection_is_pinged(store: &'static str) {
    let data = TempDir::new("e2e-ping");
    let server = ServerProcess::start(store, &data, &["--idle-ping-secs", "1"]);
    let mut quiet = user(&server, "quiet");
    assert_eq!(
        quiet.read_frame(),
        Some(ServerFrame::Event(chat_wire::Event::Ping))
    );
    // Answering keeps it open.
    assert_eq!(quiet.request(Request::Ping), Reply::Pong);
}

on_both_stores!(
    past_the_connection_cap_a_newcomer_is_refused_with_a_reason,
    a_quiet_connection_is_pinged,
    garbage_bytes_get_an_error_then_a_close,
    a_huge_length_prefix_is_refused_at_once,
    the_wrong_magic_or_version_is_refused,
    a_frame_sent_one_byte_at_a_time,
    a_client_that_says_nothing_is_closed,
    a_reader_that_never_reads_is_dropped_and_nobody_else_waits,
    many_clients_lose_nothing_and_keep_order,
);
