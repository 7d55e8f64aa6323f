//! The seam between the loop and the ways clients speak to it: our frames over TCP or TLS
//! (`framed`), a browser's WebSocket (`web`). A transport reads, cuts and decodes frames,
//! encodes and writes; the loop deals in `ClientFrame`s and `ServerFrame`s only. Another
//! transport is one more file implementing `ClientStream`, and no edit of these.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use chat_wire::{ClientFrame, ServerFrame};
use mio::net::TcpStream;

/// Bytes read from a socket at a time.
pub const READ_CHUNK_BYTES: usize = 16 * 1024;

/// A client's stream, whatever it speaks.
pub trait ClientStream {
    /// Reads once: a chunk into the decoder, or one message. The loop calls it only when
    /// `next_frame` has nothing, so a stream holds a frame and a chunk of input at most.
    fn read(&mut self) -> ReadOutcome;
    /// The next whole frame received, if any; an error for input that is not a frame.
    fn next_frame(&mut self) -> Result<Option<ClientFrame>, FrameError>;
    /// Part of a frame has arrived, the rest not yet.
    fn has_partial_frame(&self) -> bool;
    /// Queues `frame`; the reason if it cannot be encoded or the output cap would be passed
    /// (the loop then closes the connection).
    fn queue(&mut self, frame: &ServerFrame) -> Result<(), String>;
    /// Queues a frame shared by many connections, in this transport's encoding of it.
    fn queue_shared(&mut self, shared: &SharedFrame) -> Result<(), String>;
    /// Output queued and not yet known to be written.
    fn unsent_bytes(&self) -> usize;
    /// Writes as much queued output as the socket takes.
    fn write_out(&mut self) -> WriteOutcome;
    /// Ends the stream politely (TLS close_notify, a WebSocket close frame), as far as the
    /// socket takes it now.
    fn close(&mut self);
    fn socket_mut(&mut self) -> Option<&mut TcpStream>;
}

/// What one read did.
pub enum ReadOutcome {
    /// This many bytes arrived, and whatever frame they completed waits in `next_frame` (for a
    /// WebSocket message, its length).
    Read(usize),
    /// A message that carries no frame (a WebSocket ping or pong, of this many bytes): it
    /// spends a frame of the turn all the same.
    Control(usize),
    /// The socket has nothing more for now.
    Drained,
    /// The stream has said its last (an HTTP answer): close once it is written.
    Answered,
    /// End of stream or an error.
    Closed(String),
}

pub enum WriteOutcome {
    Done,
    /// The socket is full; the rest goes when it is writable again.
    Pending,
    Failed(String),
}

/// Input that could not be taken: the code and sentence of the `Closing` that answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError {
    pub code: &'static str,
    pub message: String,
}

/// What a connection's output may hold.
#[derive(Debug, Clone, Copy)]
pub struct OutputLimits {
    pub frame_bytes_max: usize,
    pub unsent_bytes_max: usize,
}

impl OutputLimits {
    pub fn check(&self, unsent_bytes: usize) -> Result<(), String> {
        if unsent_bytes > self.unsent_bytes_max {
            return Err(format!(
                "more than {} bytes unsent: a slow reader",
                self.unsent_bytes_max
            ));
        }
        Ok(())
    }
}

/// A frame in one transport's encoding, or why it could not be encoded.
pub type Encoded = Rc<Result<Vec<u8>, String>>;

/// One frame for many connections (a delivery's audience): each transport's encoding of it is
/// made the first time one of its connections needs it, then shared by the others.
pub struct SharedFrame {
    frame: Arc<ServerFrame>,
    encodings: RefCell<Vec<(&'static str, Encoded)>>,
}

impl SharedFrame {
    pub fn new(frame: Arc<ServerFrame>) -> Self {
        SharedFrame {
            frame,
            encodings: RefCell::new(Vec::new()),
        }
    }

    /// The frame in the encoding called `name`, made by `encode` only the first time.
    pub fn encoded(
        &self,
        name: &'static str,
        encode: impl FnOnce(&ServerFrame) -> Result<Vec<u8>, String>,
    ) -> Encoded {
        if let Some((_, bytes)) = self.encodings.borrow().iter().find(|(n, _)| *n == name) {
            return Rc::clone(bytes);
        }
        let bytes = Rc::new(encode(&self.frame));
        self.encodings.borrow_mut().push((name, Rc::clone(&bytes)));
        bytes
    }
}
