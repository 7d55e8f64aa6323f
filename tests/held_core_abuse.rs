//! A core held still (its commit waits) against what is small on the wire and large in memory:
//! frames listing tens of thousands of empty names, sent by connections that stay and by
//! connections that send and go. What the loop hands the core is counted by its decoded size
//! and released only once the core has applied it, and nobody new is accepted past the limit,
//! so this process's memory stays bounded; once the core goes on, the server serves again. One
//! test in this binary, so the memory read is this test's alone.

mod common;

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use chat::bench::server_process::resident_bytes_of;
use chat::store::StoreKind;
use chat_store_contract::TempDir;
use chat_wire::{ClientFrame, FRAME_BYTES_MAX, Hello, MAGIC, PROTOCOL_VERSION, Reply, Request};
use common::gate_store::{Gated, serve_gated};
use common::*;

/// Empty names a frame lists: about 60 KiB on the wire, 1.4 MiB once decoded.
const NAMES: usize = 60_000;
/// Frames each connection sends: more than it is read while their answers are owed (each
/// reserves a whole frame of output, and reading pauses at half the output cap: 8 frames).
const FRAMES_EACH: usize = 16;
/// Frames one connection may be owed at most (`FRAMES_OWED_MAX`).
const FRAMES_OWED_MAX: usize = 64;
/// Connections that stay, and connections that send and close.
const STAYING: usize = 20;
const PASSING: usize = 20;

fn big_frames(count: usize) -> Vec<u8> {
    let mut bytes = Vec::new();
    for id in 0..count {
        let frame = ClientFrame::Request {
            id: 1_000 + id as u32,
            request: Request::CreateGroup {
                group: "g".into(),
                members: vec![String::new(); NAMES],
            },
        };
        chat_wire::encode_frame(&frame, FRAME_BYTES_MAX, &mut bytes).expect("encodes");
    }
    bytes
}

/// Writes what it can of `bytes` within a moment: a server that stopped reading is not waited
/// for.
fn write_some(stream: &mut TcpStream, bytes: &[u8]) {
    stream
        .set_write_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    let _ = stream.write_all(bytes);
}

/// A Hello, then `frames`.
fn hello_then(frames: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::new();
    let hello = ClientFrame::Hello(Hello {
        magic: MAGIC,
        version: PROTOCOL_VERSION,
    });
    chat_wire::encode_frame(&hello, FRAME_BYTES_MAX, &mut bytes).expect("encodes");
    bytes.extend_from_slice(frames);
    bytes
}

/// A connection that says Hello, sends the big frames and closes, without waiting for anything.
fn pass_through(addr: SocketAddr, frames: &[u8]) {
    let Ok(mut stream) = TcpStream::connect(addr) else {
        return;
    };
    write_some(&mut stream, &hello_then(frames));
}

/// This process's resident memory once it stops growing (or after 10 s).
fn settled_resident_bytes() -> u64 {
    let mut last = resident_bytes_of(std::process::id()).expect("/proc");
    let mut still_since = Instant::now();
    let started = Instant::now();
    while still_since.elapsed() < Duration::from_secs(1)
        && started.elapsed() < Duration::from_secs(10)
    {
        std::thread::sleep(Duration::from_millis(100));
        let now = resident_bytes_of(std::process::id()).expect("/proc");
        if now > last {
            (last, still_since) = (now, Instant::now());
        }
    }
    last
}

/// A server on a store whose commits the test can hold, and a logged-in client whose send will
/// hold the core's thread still.
fn gated_with_writer(data: &TempDir) -> (Gated, Client) {
    let gated = serve_gated(StoreKind::Sqlite, data);
    let mut writer = Client::connect(gated.addr);
    assert!(matches!(
        writer.register("writer"),
        Reply::Registered { .. }
    ));
    (gated, writer)
}

#[test]
fn frames_large_in_memory_and_connections_that_come_and_go_are_held_to_the_limit() {
    let data = TempDir::new("gated-held-abuse");
    let (gated, mut writer) = gated_with_writer(&data);
    let mut staying: Vec<Client> = (0..STAYING).map(|_| Client::connect(gated.addr)).collect();
    let frames = big_frames(FRAMES_EACH);
    let before = resident_bytes_of(std::process::id()).expect("/proc");
    gated.gate.hold();
    // A write whose commit now waits: the core's thread stands still behind it.
    let held_id = writer.send_message_request("writer", "hold the core");
    let writers: Vec<_> = staying
        .iter()
        .map(|client| {
            let mut stream = client.stream.try_clone().expect("clone");
            let frames = frames.clone();
            std::thread::spawn(move || write_some(&mut stream, &frames))
        })
        .chain((0..PASSING).map(|_| {
            let frames = frames.clone();
            let addr = gated.addr;
            std::thread::spawn(move || pass_through(addr, &frames))
        }))
        .collect();
    for writer in writers {
        writer.join().expect("the writer finishes");
    }
    let held = settled_resident_bytes();
    eprintln!(
        "this process {} -> {} MiB while the core stood still",
        before >> 20,
        held >> 20
    );
    assert!(
        held < before + 64 * 1024 * 1024,
        "memory grew from {before} to {held} while the core stood still"
    );
    gated.gate.release();
    assert!(matches!(writer.reply_to(held_id), Reply::Sent { .. }));
    // The connections that stayed are answered (not logged in: refused, each frame once).
    for client in &mut staying {
        for id in 0..FRAMES_EACH {
            let reply = client.reply_to(1_000 + id as u32);
            assert!(matches!(reply, Reply::Error(_)), "{reply:?}");
        }
    }
    // And a newcomer is served.
    let mut newcomer = Client::connect(gated.addr);
    assert!(matches!(
        newcomer.register("newcomer"),
        Reply::Registered { .. }
    ));
    assert!(matches!(newcomer.request(Request::Ping), Reply::Pong));
}

#[test]
fn one_connections_big_frames_leave_the_others_served_while_the_core_stands_still() {
    let data = TempDir::new("gated-one-hog");
    let (gated, mut writer) = gated_with_writer(&data);
    let mut other = Client::connect(gated.addr);
    gated.gate.hold();
    let held_id = writer.send_message_request("writer", "hold the core");
    // As many frames as a connection may be owed, each 1.4 MiB once decoded: 90 MiB, past
    // what the core may hold of everyone's together (32 MiB). The room reserved for their
    // answers pauses the reading of this one connection long before.
    let mut hog = TcpStream::connect(gated.addr).expect("connects");
    write_some(&mut hog, &hello_then(&big_frames(FRAMES_OWED_MAX)));
    // The loop takes one such frame a turn: time to read all it will of them.
    std::thread::sleep(Duration::from_secs(1));
    // A ping needs nothing of the core: the loop answers it while the core stands still,
    // unless one connection's frames have stopped all reading.
    let ping = other.send_request(Request::Ping);
    assert!(
        other.anything_within(Duration::from_secs(5)),
        "one connection's frames stopped the reading of everyone"
    );
    assert!(matches!(other.reply_to(ping), Reply::Pong));
    gated.gate.release();
    assert!(matches!(writer.reply_to(held_id), Reply::Sent { .. }));
}
