//! criterion: encoding a request frame and decoding a delivery, the per-message wire work.

use chat_wire::{
    ClientFrame, Event, FRAME_BYTES_MAX, FrameDecoder, Request, ServerFrame, WireMessage,
    WireRecipient, encode_frame,
};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn frames(c: &mut Criterion) {
    let send = ClientFrame::Request {
        id: 42,
        request: Request::Send {
            client_message_id: 7,
            to: WireRecipient::User("bob".into()),
            body: "hello there, how is it going today?".into(),
        },
    };
    let delivery = ServerFrame::Event(Event::Message(WireMessage {
        id: 123_456,
        from: "alice".into(),
        to: WireRecipient::User("bob".into()),
        body: "hello there, how is it going today?".into(),
        sent_at_ms: 1_764_000_000_000,
    }));
    let mut encoded = Vec::new();
    encode_frame(&delivery, FRAME_BYTES_MAX, &mut encoded).unwrap();

    let mut group = c.benchmark_group("frame");
    group.bench_function("encode_send", |b| {
        let mut out = Vec::with_capacity(128);
        b.iter(|| {
            out.clear();
            encode_frame(black_box(&send), FRAME_BYTES_MAX, &mut out).unwrap();
        })
    });
    group.bench_function("decode_delivery", |b| {
        let mut decoder = FrameDecoder::new(FRAME_BYTES_MAX);
        b.iter(|| {
            decoder.push(black_box(&encoded));
            let frame: Option<ServerFrame> = decoder.next_frame().unwrap();
            black_box(frame)
        })
    });
    group.finish();
}

criterion_group!(benches, frames);
criterion_main!(benches);
