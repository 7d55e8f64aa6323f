//! Fuzzes the frame decoder: it must never panic, must stay within its memory bound, and must
//! decode the same frames whether the bytes come all at once or cut into pieces.
#![no_main]

use chat_wire::frame::LENGTH_PREFIX_BYTES;
use chat_wire::{ClientFrame, DecodeError, FrameDecoder};
use libfuzzer_sys::fuzz_target;

const FRAME_BYTES_MAX: usize = 1024;

/// Feeds `chunks` in order; returns what came out, and whether decoding stopped on TooLarge.
fn decode<'a>(
    chunks: impl Iterator<Item = &'a [u8]>,
) -> (Vec<Result<ClientFrame, DecodeError>>, bool) {
    let mut decoder = FrameDecoder::new(FRAME_BYTES_MAX);
    let mut out = Vec::new();
    for chunk in chunks {
        decoder.push(chunk);
        assert!(decoder.buffered_bytes() <= LENGTH_PREFIX_BYTES + FRAME_BYTES_MAX + chunk.len());
        loop {
            match decoder.next_frame::<ClientFrame>() {
                Ok(None) => break,
                Ok(Some(frame)) => out.push(Ok(frame)),
                Err(e @ DecodeError::TooLarge { .. }) => {
                    out.push(Err(e));
                    return (out, true);
                }
                Err(e) => out.push(Err(e)),
            }
        }
    }
    (out, false)
}

fuzz_target!(|data: &[u8]| {
    // The first byte chooses the chunk size, the rest is the stream.
    let Some((&chunk, stream)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(chunk).max(1);
    let whole = decode(std::iter::once(stream));
    let pieces = decode(stream.chunks(chunk));
    assert_eq!(whole, pieces);
});
