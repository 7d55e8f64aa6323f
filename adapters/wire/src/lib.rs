//! The TCP wire format: the frames clients and servers exchange (serde types, postcard-encoded),
//! the length-prefixed framing with its incremental decoder, and conversions to domain values.
//! docs/protocol.md describes all of it to the byte.

pub mod convert;
pub mod frame;
pub mod protocol;

pub use frame::{
    DecodeError, EncodeError, FrameDecoder, decode_payload, decoded_bytes, encode_frame,
    frame_bytes,
};
pub use protocol::*;
