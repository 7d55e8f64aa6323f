//! One connection that pipelines requests without reading its replies: before login (pings,
//! over TCP and over the WebSocket) and after (history pages of 64 KiB for 20 bytes each). It
//! gets its turn like everyone else, so a bystander is answered while the flood goes on
//! unanswered; its output is capped as it is queued, so the server's memory stays bounded; it
//! stops being read while over its cap and is closed if it stays there; and SIGTERM still ends
//! the server with status 0.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chat::bench::flood::spawn_flood;
use chat::bench::server_process::peak_resident_bytes_of;
use chat_store_contract::TempDir;
use chat_wire::{ClientFrame, FRAME_BYTES_MAX, Reply, Request, WireRecipient, encode_frame};
use common::*;

/// Memory the server may gain during a flood: far below what the floods cost before they were
/// bounded (2.9 GB for the ping flood, rising 50 MB/s for the history flood).
const FLOOD_MEMORY_BYTES_MAX: u64 = 64 * 1024 * 1024;

/// Writes the same bytes over and over without ever reading, until stopped or closed.
struct Flood {
    stop: Arc<AtomicBool>,
    written: Arc<AtomicU64>,
    thread: JoinHandle<std::io::Result<()>>,
}

impl Flood {
    fn start(stream: TcpStream, chunk: Vec<u8>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let written = Arc::new(AtomicU64::new(0));
        let thread = spawn_flood(stream, chunk, Arc::clone(&stop), Arc::clone(&written))
            .expect("the flood starts");
        Flood {
            stop,
            written,
            thread,
        }
    }

    fn written(&self) -> u64 {
        self.written.load(Ordering::SeqCst)
    }

    /// Waits until `bytes` have gone out; fails if the flood ends or stalls first.
    fn wait_for(&self, bytes: u64) {
        let deadline = Instant::now() + READ_TIMEOUT;
        while self.written() < bytes {
            assert!(!self.thread.is_finished(), "the flood ended early");
            assert!(
                Instant::now() < deadline,
                "the flood stalled at {}",
                self.written()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Whether the server ended it (the thread saw an error): false while it still writes or
    /// waits for the server to read.
    fn ended_by_the_server(&self) -> bool {
        self.thread.is_finished()
    }

    fn stop(self) -> u64 {
        self.stop.store(true, Ordering::SeqCst);
        let written = self.written();
        let _ = self.thread.join();
        written
    }
}

/// A socket that has asked for the WebSocket upgrade, as the page would; its frames may follow
/// at once, without waiting for the answer.
fn websocket(web: std::net::SocketAddr) -> TcpStream {
    let mut socket = TcpStream::connect(web).expect("connects");
    let upgrade = format!(
        "GET /ws HTTP/1.1\r\nHost: {web}\r\nOrigin: http://{web}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n"
    );
    socket.write_all(upgrade.as_bytes()).expect("writes");
    socket
}

/// `frame` repeated to about 64 KiB.
fn repeated(frame: &ClientFrame) -> Vec<u8> {
    let mut chunk = Vec::new();
    while chunk.len() < 64 * 1024 {
        encode_frame(frame, FRAME_BYTES_MAX, &mut chunk).expect("encodes");
    }
    chunk
}

fn ping_frame() -> ClientFrame {
    ClientFrame::Request {
        id: 1,
        request: Request::Ping,
    }
}

/// A bystander is answered while `flood` goes on unanswered; the server stays within its
/// memory bound; then SIGTERM ends it with status 0 while the flood still runs.
fn bystander_served_then_sigterm(mut server: ServerProcess, flood: Flood, memory_before: u64) {
    // Well past the point where the unbounded loop stopped serving anyone else.
    flood.wait_for(1024 * 1024);
    let mut bystander = server.client();
    assert_eq!(bystander.request(Request::Ping), Reply::Pong);
    assert!(
        !flood.ended_by_the_server(),
        "the flood was still unanswered when the bystander was answered"
    );
    let peak = peak_resident_bytes_of(server.child.id()).expect("/proc");
    eprintln!(
        "flood: {} MiB written; server memory peak {} MiB (from {} MiB)",
        flood.written() >> 20,
        peak >> 20,
        memory_before >> 20
    );
    assert!(
        peak < memory_before + FLOOD_MEMORY_BYTES_MAX,
        "memory grew from {memory_before} to {peak} bytes"
    );
    server.signal("TERM");
    let status = server.wait_exit(READ_TIMEOUT);
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
    flood.stop();
}

fn a_ping_flood_before_login_stalls_nobody(store: &'static str) {
    let data = TempDir::new("e2e-ping-flood");
    let server = ServerProcess::start_with_abuse_limits(store, &data, &[]);
    let flooder = server.client();
    let memory_before = peak_resident_bytes_of(server.child.id()).expect("/proc");
    let flood = Flood::start(flooder.stream, repeated(&ping_frame()));
    bystander_served_then_sigterm(server, flood, memory_before);
}

fn a_history_flood_stalls_nobody(store: &'static str) {
    let data = TempDir::new("e2e-history-flood");
    let server = ServerProcess::start_with_abuse_limits(store, &data, &[]);
    let mut alice = user(&server, "alice");
    // 50 notes to herself of 4,000 wide characters (12,000 bytes) each: every page of them
    // fills a whole frame.
    let body = "\u{4e2d}".repeat(4000);
    for _ in 0..50 {
        alice.send_ok("alice", &body);
    }
    let memory_before = peak_resident_bytes_of(server.child.id()).expect("/proc");
    let history = ClientFrame::Request {
        id: 2,
        request: Request::History {
            with: WireRecipient::User("alice".into()),
            before: None,
            limit: Some(500),
        },
    };
    let flood = Flood::start(alice.stream, repeated(&history));
    bystander_served_then_sigterm(server, flood, memory_before);
}

#[test]
fn a_websocket_ping_flood_before_login_stalls_nobody() {
    let data = TempDir::new("e2e-ws-flood");
    let server = ServerProcess::start_with_abuse_limits("sled", &data, &["--http", "127.0.0.1:0"]);
    let web = server.web_addr.expect("the web address");
    let mut socket = websocket(web);
    // Client frames are masked; a zero mask leaves the payload as it is.
    let masked_text = |payload: &str| {
        let mut frame = vec![0x81, 0x80 | u8::try_from(payload.len()).expect("short")];
        frame.extend_from_slice(&[0; 4]);
        frame.extend_from_slice(payload.as_bytes());
        frame
    };
    let mut chunk = masked_text(r#"{"Hello":{"magic":[67,72,65,84],"version":1}}"#);
    let ping = masked_text(r#"{"Request":{"id":1,"request":"Ping"}}"#);
    while chunk.len() < 64 * 1024 {
        chunk.extend_from_slice(&ping);
    }
    socket.write_all(&chunk).expect("writes");
    let memory_before = peak_resident_bytes_of(server.child.id()).expect("/proc");
    let flood = Flood::start(socket, chunk[chunk.len() - 60 * ping.len()..].to_vec());
    bystander_served_then_sigterm(server, flood, memory_before);
}

/// Empty WebSocket pings carry no frame and almost no bytes: each still spends the turn.
#[test]
fn a_websocket_flood_of_empty_pings_stalls_nobody() {
    let data = TempDir::new("e2e-ws-ping-frames");
    let server = ServerProcess::start_with_abuse_limits("sled", &data, &["--http", "127.0.0.1:0"]);
    let web = server.web_addr.expect("the web address");
    let socket = websocket(web);
    // A masked ping with nothing in it: six bytes.
    let pings: Vec<u8> = [0x89, 0x80, 0, 0, 0, 0].repeat(64 * 1024 / 6);
    let memory_before = peak_resident_bytes_of(server.child.id()).expect("/proc");
    let flood = Flood::start(socket, pings);
    bystander_served_then_sigterm(server, flood, memory_before);
}

fn a_connection_that_stays_over_its_output_cap_is_closed(store: &'static str) {
    let data = TempDir::new("e2e-stalled");
    let server = ServerProcess::start_with_abuse_limits(
        store,
        &data,
        &["--max-unsent-bytes", "65536", "--stalled-reader-secs", "1"],
    );
    let flooder = server.client();
    let flood = Flood::start(flooder.stream, repeated(&ping_frame()));
    let line = server.wait_for_log("read none of its replies");
    assert!(line.contains("1 s"), "{line}");
    let deadline = Instant::now() + READ_TIMEOUT;
    while !flood.ended_by_the_server() {
        assert!(
            Instant::now() < deadline,
            "the server never closed the flood"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    flood.stop();
    let mut bystander = server.client();
    assert_eq!(bystander.request(Request::Ping), Reply::Pong);
}

on_both_stores!(
    a_ping_flood_before_login_stalls_nobody,
    a_history_flood_stalls_nobody,
    a_connection_that_stays_over_its_output_cap_is_closed,
);
