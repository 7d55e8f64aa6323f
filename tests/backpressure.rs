//! A core held still (its commit waits, as on a slow disk) while clients keep sending: the loop
//! stops reading them rather than holding what they send, so this process's memory stays
//! bounded; once the core goes on, every request is answered. One test in this binary, so the
//! memory read is this test's alone.

mod common;

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chat::bench::server_process::resident_bytes_of;
use chat::store::StoreKind;
use chat_store_contract::TempDir;
use chat_wire::{ClientFrame, FRAME_BYTES_MAX, Reply, Request, WireRecipient, encode_frame};
use common::gate_store::serve_gated;
use common::*;

const SENDERS: usize = 4;
/// Frames each sender writes: 4,000 of about 4 KiB (a message at its longest), 16 MiB each,
/// far past what the kernel's buffers hold.
const FRAMES_EACH: usize = 4_000;
const BODY_CHARS: usize = 4_000;

#[test]
fn a_core_held_still_stops_the_reading_not_the_memory_and_all_is_answered_after() {
    let data = TempDir::new("gated-backpressure");
    let gated = serve_gated(StoreKind::Sqlite, &data);
    drop(Client::connect(gated.addr).register("sink"));
    let mut senders: Vec<Client> = (0..SENDERS)
        .map(|n| {
            let mut client = Client::connect(gated.addr);
            assert!(matches!(
                client.register(&format!("sender{n}")),
                Reply::Registered { .. }
            ));
            client
        })
        .collect();
    let before = resident_bytes_of(std::process::id()).expect("/proc");
    gated.gate.hold();
    let written = Arc::new(AtomicUsize::new(0));
    let writers: Vec<_> = senders
        .iter()
        .map(|client| {
            let mut stream = client.stream.try_clone().expect("clone");
            let written = Arc::clone(&written);
            std::thread::spawn(move || {
                let body = "y".repeat(BODY_CHARS);
                for n in 0..FRAMES_EACH {
                    let mut bytes = Vec::new();
                    let frame = ClientFrame::Request {
                        id: 100 + n as u32,
                        request: Request::Send {
                            client_message_id: 0,
                            to: WireRecipient::User("sink".into()),
                            body: body.clone(),
                        },
                    };
                    encode_frame(&frame, FRAME_BYTES_MAX, &mut bytes).expect("encodes");
                    stream.write_all(&bytes).expect("writes");
                    written.fetch_add(bytes.len(), Ordering::SeqCst);
                }
            })
        })
        .collect();
    // The senders go on until the server stops reading them and their sockets fill up.
    let mut last = 0;
    let mut still_since = Instant::now();
    while still_since.elapsed() < Duration::from_millis(500) {
        std::thread::sleep(Duration::from_millis(50));
        let now = written.load(Ordering::SeqCst);
        if now != last {
            (last, still_since) = (now, Instant::now());
        }
    }
    let total = SENDERS * FRAMES_EACH * BODY_CHARS;
    assert!(
        last < total,
        "everything was taken while the core stood still"
    );
    let held = resident_bytes_of(std::process::id()).expect("/proc");
    eprintln!(
        "held: {} MiB written of {} MiB; this process {} -> {} MiB",
        last >> 20,
        total >> 20,
        before >> 20,
        held >> 20
    );
    assert!(
        held < before + 64 * 1024 * 1024,
        "memory grew from {before} to {held} while the core stood still"
    );
    gated.gate.release();
    for writer in writers {
        writer.join().expect("the writer finishes");
    }
    for sender in &mut senders {
        for n in 0..FRAMES_EACH {
            let reply = sender.reply_to(100 + n as u32);
            assert!(matches!(reply, Reply::Sent { .. }), "reply {n}: {reply:?}");
        }
    }
}
