//! One client connection as the loop holds it: its stream (any transport, behind
//! `ClientStream`), what the core owes it, and its timers. Where it is in the protocol is the
//! core's business.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

use super::transport::ClientStream;

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
    pub stream: Box<dyn ClientStream>,
    pub peer: SocketAddr,
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
    /// Its Hello was answered with a Welcome: the loop may answer its pings itself.
    pub welcomed: bool,
}

impl Connection {
    pub fn new(stream: Box<dyn ClientStream>, peer: SocketAddr, now: Instant) -> Self {
        Connection {
            stream,
            peer,
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
            welcomed: false,
        }
    }

    /// Output it is owed: written to its buffer but not to the socket, and reserved for the
    /// answers to come.
    pub fn pending_output(&self) -> usize {
        self.stream.unsent_bytes() + self.reserved_bytes
    }

    /// The answer to its oldest frame came: its reservation goes. Returns the request bytes
    /// the core no longer holds.
    pub fn answered(&mut self) -> usize {
        let owed = self.owed.pop_front();
        debug_assert!(owed.is_some(), "the core answered a frame nobody sent");
        let Some(owed) = owed else {
            return 0;
        };
        self.reserved_bytes = self.reserved_bytes.saturating_sub(owed.answer_bytes);
        owed.request_bytes
    }

    /// Nothing more will be answered (it closes): every reservation goes. Returns the request
    /// bytes the core no longer holds.
    pub fn owed_nothing_more(&mut self) -> usize {
        self.reserved_bytes = 0;
        self.owed.drain(..).map(|owed| owed.request_bytes).sum()
    }
}
