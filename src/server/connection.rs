//! One client connection as the loop holds it: its stream (our frames over plain TCP or TLS, or
//! a browser's WebSocket), its incremental decoder, its capped output buffer, and what it is
//! owed by the core (where it is in the protocol is the core's business).

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Instant;

use chat_wire::{ClientFrame, FrameDecoder, ServerFrame, encode_frame};
use mio::net::TcpStream;

use super::web::WebStream;
use crate::tls::Transport;

/// What a connection speaks.
pub enum Stream {
    /// Our protocol: length-prefixed postcard frames, plain or over TLS.
    Frames(Transport<TcpStream>),
    /// A browser: an HTTP request, then JSON frames in WebSocket messages.
    Web(WebStream),
}

/// One frame for many connections (a delivery's audience): encoded as postcard at once, and as
/// JSON the first time a browser needs it, then shared by every other browser.
pub struct SharedFrame {
    pub bytes: Vec<u8>,
    frame: std::sync::Arc<ServerFrame>,
    json: OnceLock<Result<String, String>>,
}

impl SharedFrame {
    pub fn new(frame: std::sync::Arc<ServerFrame>, frame_bytes_max: usize) -> Result<Self, String> {
        let mut bytes = Vec::new();
        encode_frame(frame.as_ref(), frame_bytes_max, &mut bytes).map_err(|e| e.to_string())?;
        Ok(SharedFrame {
            bytes,
            frame,
            json: OnceLock::new(),
        })
    }

    fn json(&self) -> Result<&str, String> {
        self.json
            .get_or_init(|| chat_web::json::encode_server(&self.frame))
            .as_deref()
            .map_err(Clone::clone)
    }
}

/// A frame that could not be taken: the code and sentence of the `Closing` that answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError {
    pub code: &'static str,
    pub message: String,
}

/// Bytes read from a socket at a time.
pub const READ_CHUNK_BYTES: usize = 16 * 1024;

/// A frame handed to the core and not yet answered.
#[derive(Debug, Clone, Copy)]
pub struct Owed {
    /// Bytes reserved in the output for its answer: the most it may take.
    pub answer_bytes: usize,
    /// Its own bytes, held by the core until answered.
    pub request_bytes: usize,
    /// A register or log-in: its password is checked on a hashing thread, and nothing more is
    /// handed over until it is answered (the core would only hold it meanwhile).
    pub awaits_hashing: bool,
}

pub struct Connection {
    stream: Stream,
    pub peer: SocketAddr,
    pub decoder: FrameDecoder,
    /// Encoded frames not yet written; `out[out_written..]` is what remains.
    out: Vec<u8>,
    out_written: usize,
    /// Its frames handed to the core and not yet answered, oldest first (answers come in
    /// order), and the output bytes reserved for their answers: counted against its output
    /// cap from the moment a frame is handed over.
    pub owed: VecDeque<Owed>,
    pub reserved_bytes: usize,
    /// In the server's list of connections that may have input to act on.
    pub in_ready: bool,
    /// Stopped before its socket was drained, until its output drains or an answer comes:
    /// either lines it up again.
    pub paused: bool,
    /// The loop asked the core to close it (a bad frame, a timeout, shutdown): nothing more
    /// is read; the core's `Closing` comes after the answers owed.
    pub ending: bool,
    /// Since when its output has been over the read-pause mark.
    pub stalled_since: Option<Instant>,
    /// Pinged to learn whether a peer that shut its side while answers are owed to it has gone
    /// (a reset comes back) or only half-closed.
    pub probed: bool,
    /// Set once the last frame is queued: close when the output is written.
    pub closing_since: Option<Instant>,
    pub last_heard: Instant,
    /// When the unfinished frame in the decoder began to arrive, if there is one.
    pub partial_since: Option<Instant>,
    pub pinged: bool,
    /// The peer closed its side or reading failed: nothing more will be read.
    pub read_closed: bool,
    /// In the server's write queue: deliveries are waiting to be written.
    pub write_queued: bool,
}

/// What one read did.
pub enum ReadOutcome {
    /// This many bytes arrived, and whatever frame they completed waits to be acted on (for a
    /// WebSocket message, its length).
    Read(usize),
    /// A WebSocket message that carries no frame (a ping or a pong, of this many bytes): it
    /// spends a frame of the turn all the same.
    Control(usize),
    /// The socket has nothing more for now.
    Drained,
    /// End of stream or an error.
    Closed(String),
}

pub enum WriteOutcome {
    Done,
    /// The socket is full; the rest goes when it is writable again.
    Pending,
    Failed(String),
}

impl Connection {
    pub fn new(stream: Stream, peer: SocketAddr, frame_bytes_max: usize, now: Instant) -> Self {
        Connection {
            stream,
            peer,
            decoder: FrameDecoder::new(frame_bytes_max),
            out: Vec::new(),
            out_written: 0,
            owed: VecDeque::new(),
            reserved_bytes: 0,
            in_ready: false,
            paused: false,
            ending: false,
            stalled_since: None,
            probed: false,
            closing_since: None,
            last_heard: now,
            partial_since: None,
            pinged: false,
            read_closed: false,
            write_queued: false,
        }
    }

    /// Output it is owed: written to its buffer but not to the socket, and reserved for the
    /// answers to come.
    pub fn pending_output(&self) -> usize {
        self.unsent_bytes() + self.reserved_bytes
    }

    pub fn socket_mut(&mut self) -> Option<&mut TcpStream> {
        match &mut self.stream {
            Stream::Frames(transport) => Some(transport.socket_mut()),
            Stream::Web(web) => web.socket_mut(),
        }
    }

    /// The browser's stream, for its HTTP request and the upgrade.
    pub fn web_mut(&mut self) -> Option<&mut WebStream> {
        match &mut self.stream {
            Stream::Web(web) => Some(web),
            Stream::Frames(_) => None,
        }
    }

    /// The next whole frame received, if any; an error for bytes that are not a frame.
    pub fn next_frame(&mut self) -> Result<Option<ClientFrame>, FrameError> {
        match &mut self.stream {
            Stream::Frames(_) => self.decoder.next_frame().map_err(|e| FrameError {
                code: e.code(),
                message: e.to_string(),
            }),
            Stream::Web(web) => web.next_frame(),
        }
    }

    /// Part of a frame (or of a WebSocket message) has arrived, the rest not yet.
    pub fn has_partial_frame(&self) -> bool {
        match &self.stream {
            Stream::Frames(_) => self.decoder.buffered_bytes() > 0,
            Stream::Web(web) => web.has_partial_message(),
        }
    }

    /// Ends the stream politely (TLS close_notify, a WebSocket close frame), as far as the
    /// socket takes it now.
    pub fn close_stream(&mut self) {
        match &mut self.stream {
            Stream::Frames(transport) => transport.close_tls(),
            Stream::Web(web) => web.close(),
        }
    }

    /// Reads one chunk into the decoder (or one WebSocket message into its inbox). The server
    /// reads only when no whole frame is waiting, so the decoder holds at most a frame and a
    /// chunk.
    pub fn read_chunk(&mut self) -> ReadOutcome {
        let transport = match &mut self.stream {
            Stream::Frames(transport) => transport,
            Stream::Web(web) => return web.read(),
        };
        let mut chunk = [0u8; READ_CHUNK_BYTES];
        match transport.read(&mut chunk) {
            Ok(0) => ReadOutcome::Closed("closed by peer".into()),
            Ok(n) => {
                self.decoder.push(&chunk[..n]);
                ReadOutcome::Read(n)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => ReadOutcome::Drained,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => ReadOutcome::Read(0),
            Err(e) => ReadOutcome::Closed(format!("read failed: {e}")),
        }
    }

    /// Queues a frame. Returns false if the frame cannot be encoded or the output cap would be
    /// passed: the caller closes the connection.
    pub fn queue(
        &mut self,
        frame: &ServerFrame,
        frame_bytes_max: usize,
        unsent_bytes_max: usize,
    ) -> Result<(), String> {
        if let Stream::Web(web) = &mut self.stream {
            return web.queue(frame);
        }
        self.reuse_written_buffer();
        encode_frame(frame, frame_bytes_max, &mut self.out).map_err(|e| e.to_string())?;
        self.check_unsent(unsent_bytes_max)
    }

    /// Queues a frame encoded once for every connection it goes to.
    pub fn queue_shared(
        &mut self,
        shared: &SharedFrame,
        unsent_bytes_max: usize,
    ) -> Result<(), String> {
        if let Stream::Web(web) = &mut self.stream {
            return web.queue_text(shared.json()?);
        }
        self.reuse_written_buffer();
        self.out.extend_from_slice(&shared.bytes);
        self.check_unsent(unsent_bytes_max)
    }

    /// Everything queued was written: start the buffer over rather than grow it.
    fn reuse_written_buffer(&mut self) {
        if self.out_written > 0 && self.out_written == self.out.len() {
            self.out.clear();
            self.out_written = 0;
        }
    }

    fn check_unsent(&self, unsent_bytes_max: usize) -> Result<(), String> {
        if self.unsent_bytes() > unsent_bytes_max {
            return Err(format!(
                "more than {unsent_bytes_max} bytes unsent: a slow reader"
            ));
        }
        Ok(())
    }

    pub fn unsent_bytes(&self) -> usize {
        match &self.stream {
            Stream::Frames(_) => self.out.len() - self.out_written,
            Stream::Web(web) => web.unsent_bytes(),
        }
    }

    /// Writes as much queued output as the socket takes.
    pub fn write_out(&mut self) -> WriteOutcome {
        let transport = match &mut self.stream {
            Stream::Frames(transport) => transport,
            Stream::Web(web) => return web.write_out(),
        };
        while self.out_written < self.out.len() {
            match transport.write(&self.out[self.out_written..]) {
                Ok(0) => return WriteOutcome::Failed("write returned 0".into()),
                Ok(n) => self.out_written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return WriteOutcome::Pending,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return WriteOutcome::Failed(format!("write failed: {e}")),
            }
        }
        self.out.clear();
        self.out_written = 0;
        // Give back the memory of a burst: an idle connection should cost little.
        if self.out.capacity() > READ_CHUNK_BYTES {
            self.out.shrink_to(READ_CHUNK_BYTES);
        }
        // Under TLS, done only once rustls's records are out too.
        match transport.flush_tls() {
            Ok(true) => WriteOutcome::Done,
            Ok(false) => WriteOutcome::Pending,
            Err(e) => WriteOutcome::Failed(format!("write failed: {e}")),
        }
    }
}
