//! Framing: a 4-byte big-endian payload length, then that many bytes of postcard. The decoder
//! takes bytes as they arrive (split anywhere, many frames at once) and refuses an oversized
//! length as soon as the 4 length bytes are in, before buffering the payload.

use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::protocol::{ClientFrame, Request};

/// Bytes in the length prefix.
pub const LENGTH_PREFIX_BYTES: usize = 4;

/// The bytes one frame holding `value` takes on the wire, counted without encoding it: what
/// the server charges a connection's output the moment a reply is queued. A value that cannot
/// be encoded counts its prefix only (encoding it fails later, and that closes the connection).
pub fn frame_bytes<T: Serialize>(value: &T) -> usize {
    let size = postcard::ser_flavors::Size::default();
    LENGTH_PREFIX_BYTES + postcard::serialize_with_flavor(value, size).unwrap_or(0)
}

/// What a decoded `ClientFrame` takes in memory, at most: its bytes on the wire (each string's
/// characters), the frame's own size, and for each name in a list the `String` it became and
/// its allocation's rounding. A list of empty names is a byte a name on the wire and 24 in
/// memory: counted by its wire bytes, a 64 KiB frame would hold 2 MiB.
pub fn decoded_bytes(frame: &ClientFrame) -> usize {
    /// A `String`'s header, and what an allocator rounds a short string up to.
    const NAME_BYTES_MAX: usize = std::mem::size_of::<String>() + 16;
    let names = match frame {
        ClientFrame::Request {
            request: Request::CreateGroup { members, .. },
            ..
        } => members.len(),
        _ => 0,
    };
    frame_bytes(frame) + std::mem::size_of::<ClientFrame>() + names * NAME_BYTES_MAX
}

/// Appends one frame holding `value` to `out`. On error `out` is left as it was.
pub fn encode_frame<T: Serialize>(
    value: &T,
    frame_bytes_max: usize,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    let start = out.len();
    out.extend_from_slice(&[0; LENGTH_PREFIX_BYTES]);
    let result = postcard::to_extend(value, Appender(out)).map(|_| ());
    let payload_bytes = out.len() - start - LENGTH_PREFIX_BYTES;
    let error = match result {
        Err(e) => Some(EncodeError::Serialize(e.to_string())),
        Ok(_) if payload_bytes > frame_bytes_max => Some(EncodeError::TooLarge {
            payload_bytes,
            frame_bytes_max,
        }),
        Ok(_) => None,
    };
    if let Some(error) = error {
        out.truncate(start);
        return Err(error);
    }
    // payload_bytes <= frame_bytes_max, which callers keep far below 4 GiB.
    let length = u32::try_from(payload_bytes).map_err(|_| EncodeError::TooLarge {
        payload_bytes,
        frame_bytes_max,
    })?;
    out[start..start + LENGTH_PREFIX_BYTES].copy_from_slice(&length.to_be_bytes());
    Ok(())
}

/// Lets postcard append to a borrowed Vec.
struct Appender<'a>(&'a mut Vec<u8>);

impl Extend<u8> for Appender<'_> {
    fn extend<I: IntoIterator<Item = u8>>(&mut self, iter: I) {
        self.0.extend(iter);
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncodeError {
    TooLarge {
        payload_bytes: usize,
        frame_bytes_max: usize,
    },
    Serialize(String),
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::TooLarge {
                payload_bytes,
                frame_bytes_max,
            } => write!(
                f,
                "a frame of {payload_bytes} bytes is over the limit of {frame_bytes_max}"
            ),
            EncodeError::Serialize(e) => write!(f, "cannot encode frame: {e}"),
        }
    }
}

impl std::error::Error for EncodeError {}

/// Cuts whole frames out of a byte stream.
///
/// Memory bound: a caller that pushes at most `chunk` bytes at a time and drains every frame
/// after each push never has more than `LENGTH_PREFIX_BYTES + frame_bytes_max + chunk` bytes
/// buffered, because an oversized length is refused as soon as it is seen.
#[derive(Debug)]
pub struct FrameDecoder {
    buffer: Vec<u8>,
    /// Bytes at the front of `buffer` already handed out as frames.
    consumed: usize,
    frame_bytes_max: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The length prefix announced more than the limit. The stream cannot be resynchronised:
    /// close the connection.
    TooLarge {
        declared_bytes: u64,
        frame_bytes_max: usize,
    },
    /// The payload is not a valid frame. The framing is intact, so the next frame may be read.
    Malformed(String),
    /// The payload held a valid frame followed by extra bytes.
    TrailingBytes { extra_bytes: usize },
}

impl DecodeError {
    /// A stable snake_case code for the error frame sent before closing.
    pub fn code(&self) -> &'static str {
        match self {
            DecodeError::TooLarge { .. } => "frame_too_large",
            DecodeError::Malformed(_) | DecodeError::TrailingBytes { .. } => "bad_frame",
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::TooLarge {
                declared_bytes,
                frame_bytes_max,
            } => write!(
                f,
                "A frame of {declared_bytes} bytes is over the limit of {frame_bytes_max} bytes."
            ),
            DecodeError::Malformed(e) => write!(f, "A frame could not be decoded: {e}."),
            DecodeError::TrailingBytes { extra_bytes } => {
                write!(
                    f,
                    "A frame had {extra_bytes} bytes left over after its contents."
                )
            }
        }
    }
}

impl std::error::Error for DecodeError {}

impl FrameDecoder {
    pub fn new(frame_bytes_max: usize) -> Self {
        FrameDecoder {
            buffer: Vec::new(),
            consumed: 0,
            frame_bytes_max,
        }
    }

    /// Adds bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.consumed > 0 {
            // Drop what was handed out, so the buffer holds at most one partial frame.
            self.buffer.drain(..self.consumed);
            self.consumed = 0;
        }
        self.buffer.extend_from_slice(bytes);
    }

    /// Gives the buffer's memory back once every byte is handed out: an idle connection
    /// should hold none. The next `push` allocates again.
    pub fn release_if_empty(&mut self) {
        if self.consumed == self.buffer.len() {
            self.buffer = Vec::new();
            self.consumed = 0;
        }
    }

    /// Bytes held that are not yet part of a returned frame.
    pub fn buffered_bytes(&self) -> usize {
        self.buffer.len() - self.consumed
    }

    /// The next whole frame's payload, `None` until one has fully arrived.
    pub fn next_payload(&mut self) -> Result<Option<&[u8]>, DecodeError> {
        let pending = &self.buffer[self.consumed..];
        let Some(prefix) = pending.first_chunk::<LENGTH_PREFIX_BYTES>() else {
            return Ok(None);
        };
        let declared = u32::from_be_bytes(*prefix);
        let declared_bytes = declared as usize;
        if declared_bytes > self.frame_bytes_max {
            return Err(DecodeError::TooLarge {
                declared_bytes: u64::from(declared),
                frame_bytes_max: self.frame_bytes_max,
            });
        }
        let end = LENGTH_PREFIX_BYTES + declared_bytes;
        // No reservation for the announced length: a connection that announces 64 KiB and
        // sends nothing more must not cost 64 KiB.
        if pending.len() < end {
            return Ok(None);
        }
        let start = self.consumed + LENGTH_PREFIX_BYTES;
        self.consumed += end;
        Ok(Some(&self.buffer[start..start + declared_bytes]))
    }

    /// The next whole frame, decoded. A `Malformed` or `TrailingBytes` frame is consumed, so a
    /// caller may answer it and carry on; after `TooLarge` it must stop.
    pub fn next_frame<T: DeserializeOwned>(&mut self) -> Result<Option<T>, DecodeError> {
        match self.next_payload()? {
            None => Ok(None),
            Some(payload) => decode_payload(payload).map(Some),
        }
    }
}

/// Decodes one payload, refusing bytes left over (postcard's `from_bytes` would ignore them).
pub fn decode_payload<T: DeserializeOwned>(payload: &[u8]) -> Result<T, DecodeError> {
    match postcard::take_from_bytes::<T>(payload) {
        Ok((value, [])) => Ok(value),
        Ok((_, rest)) => Err(DecodeError::TrailingBytes {
            extra_bytes: rest.len(),
        }),
        Err(e) => Err(DecodeError::Malformed(e.to_string())),
    }
}

#[cfg(test)]
mod tests;
