//! The loop's reading half: which connections get a turn (`ready`), and one connection's turn:
//! read, cut frames, hand them to the core, within the turn's budget and what the connection
//! may be owed. A peer that shuts its side while answers are owed is told from one that has
//! gone.

use chat_wire::{ClientFrame, Reply, Request, ServerFrame};
use mio::Token;

use super::connection::Owed;
use super::transport::ReadOutcome;
use super::{Server, conn_id, log};
use crate::core::Input;

/// What one connection may do in one turn before the others get theirs: frames handed over,
/// and bytes read plus bytes reserved for answers (a 20-byte history request that may be
/// answered with 64 KiB spends the turn's bytes). Past either it waits in `ready`.
const FRAMES_PER_TURN: usize = 64;
const BYTES_PER_TURN: usize = 64 * 1024;
/// Frames of one connection handed to the core and not yet answered, at most: bounds what the
/// core holds for one connection (frames waiting behind a password check, say). Room for a
/// client's pipelined window plus the next: at 16, a hundred clients pipelining 50 each all
/// paused while the core worked, and the loop and the core took turns instead of overlapping
/// (the core busy 70 % of the time, 1.3x fewer messages a second: docs/benchmarks.md).
const FRAMES_OWED_MAX: usize = 64;
/// What the core may hold of what the loop handed it, all connections together (decoded
/// frames not yet answered, other inputs not yet applied); past it nobody is read or accepted
/// until answers come back.
const IN_FLIGHT_BYTES_MAX: usize = 32 * 1024 * 1024;
/// The most an answer to a request not listed in `answer_bytes_max` takes: a short reply, or
/// an error's sentence.
const SMALL_ANSWER_BYTES: usize = 1024;

impl Server {
    /// Puts a connection in line for a turn, once.
    pub(super) fn mark_ready(&mut self, token: Token) {
        if let Some(connection) = self.connections.get_mut(&token)
            && !std::mem::replace(&mut connection.in_ready, true)
        {
            self.ready.push_back(token);
        }
    }

    /// Whether anyone may be served: not while the core holds its limit of unanswered
    /// requests (its answers, arriving, make room).
    pub(super) fn may_serve(&self) -> bool {
        self.in_flight_bytes < IN_FLIGHT_BYTES_MAX
    }

    /// Gives every connection that was in line when the turn began one turn's budget, in
    /// order; those that still have input line up again behind the rest.
    pub(super) fn serve_ready(&mut self) {
        if !self.may_serve() {
            return;
        }
        for _ in 0..self.ready.len() {
            let Some(token) = self.ready.pop_front() else {
                return;
            };
            if let Some(connection) = self.connections.get_mut(&token) {
                connection.in_ready = false;
                self.serve(token);
            }
        }
    }

    /// Output past this mark pauses reading a connection: what it is owed then overshoots by
    /// one answer at most, and the rest of the cap is room for deliveries.
    pub(super) fn read_pause_bytes(&self) -> usize {
        self.config.limits.unsent_bytes_max / 2
    }

    /// One turn of a connection: hands its whole frames to the core and reads more when none is
    /// left, within `FRAMES_PER_TURN` and `BYTES_PER_TURN`. It stops early while it is owed
    /// `FRAMES_OWED_MAX` answers or output over the read-pause mark (answers and writing line
    /// it up again), and once it is closing.
    fn serve(&mut self, token: Token) {
        let (mut frames_left, mut bytes_left) = (FRAMES_PER_TURN, BYTES_PER_TURN);
        let read_pause_bytes = self.read_pause_bytes();
        let frame_bytes_max = self.config.limits.frame_bytes_max;
        loop {
            let Some(connection) = self.connections.get_mut(&token) else {
                return;
            };
            if connection.closing_since.is_some() || connection.ending {
                return;
            }
            if connection.owed.iter().any(|owed| owed.awaits_hashing)
                || connection.owed.len() >= FRAMES_OWED_MAX
                || connection.pending_output() >= read_pause_bytes
            {
                connection.paused = true;
                return;
            }
            if frames_left == 0 || bytes_left == 0 || self.in_flight_bytes >= IN_FLIGHT_BYTES_MAX {
                self.mark_ready(token);
                return;
            }
            match connection.stream.next_frame() {
                Ok(Some(frame)) => {
                    connection.partial_since = None;
                    connection.last_heard = self.now;
                    connection.pinged = false;
                    frames_left -= 1;
                    // A ping needs nothing of the core: with nothing owed before it, it is
                    // answered here, and never waits behind a commit.
                    if let ClientFrame::Request {
                        id,
                        request: Request::Ping,
                    } = frame
                        && connection.welcomed
                        && connection.owed.is_empty()
                    {
                        let pong = ServerFrame::Reply {
                            id,
                            reply: Reply::Pong,
                        };
                        match connection.stream.queue(&pong) {
                            Ok(()) => self.flush(token),
                            Err(reason) => self.close(token, &reason),
                        }
                        continue;
                    }
                    let owed = Owed {
                        answer_bytes: answer_bytes_max(&frame, frame_bytes_max),
                        request_bytes: chat_wire::decoded_bytes(&frame),
                        awaits_hashing: matches!(
                            frame,
                            ClientFrame::Request {
                                request: Request::Register { .. } | Request::LogIn { .. },
                                ..
                            }
                        ),
                    };
                    connection.owed.push_back(owed);
                    connection.reserved_bytes += owed.answer_bytes;
                    self.in_flight_bytes += owed.request_bytes;
                    bytes_left = bytes_left.saturating_sub(owed.answer_bytes);
                    self.inputs.push(Input::Frame {
                        conn: conn_id(token),
                        frame,
                    });
                    continue;
                }
                Ok(None) => {}
                Err(e) => {
                    self.close_with(token, e.code, &e.message);
                    return;
                }
            }
            if connection.read_closed {
                self.finish_reading(token);
                return;
            }
            match connection.stream.read() {
                ReadOutcome::Read(n) => bytes_left = bytes_left.saturating_sub(n),
                ReadOutcome::Control(n) => {
                    frames_left -= 1;
                    bytes_left = bytes_left.saturating_sub(n);
                }
                ReadOutcome::Drained => {
                    // What is left is the start of a frame: it has `frame_timeout` to finish.
                    if connection.stream.has_partial_frame() {
                        connection.partial_since.get_or_insert(self.now);
                    } else {
                        connection.partial_since = None;
                    }
                    return;
                }
                ReadOutcome::Answered => connection.read_closed = true,
                ReadOutcome::Closed(reason) => {
                    connection.read_closed = true;
                    log!("{}: {reason}", connection.peer);
                    // Go on to hand over what was sent before the close.
                }
            }
        }
    }

    /// The peer closed its side and every frame it sent is handed over: close once the
    /// answers are out.
    fn finish_reading(&mut self, token: Token) {
        if let Some(connection) = self.connections.get_mut(&token) {
            connection.closing_since.get_or_insert(self.now);
        }
        self.flush(token);
    }

    /// The connection is broken (a reset, or both sides shut). One still owed answers is closed
    /// now, which tells the core (a password check it waits for is cancelled); the others find
    /// out when they are served.
    pub(super) fn on_peer_gone(&mut self, token: Token) {
        if self
            .connections
            .get(&token)
            .is_some_and(|connection| !connection.owed.is_empty())
        {
            self.close(token, "gone while answers were owed to it");
        }
    }

    /// The peer shut its sending side. Closed, or only half-closed (a script may still read
    /// its answers)? While answers are owed, find out: a ping to a closed socket brings back a
    /// reset, and `on_peer_gone`.
    pub(super) fn on_peer_shut(&mut self, token: Token) {
        if let Some(connection) = self.connections.get_mut(&token)
            && !connection.owed.is_empty()
            && !std::mem::replace(&mut connection.probed, true)
        {
            self.send_event(token, chat_wire::Event::Ping);
        }
    }
}

/// The most bytes the answer to `frame` can take: a whole frame for the requests that answer
/// with a page or a list, a little for the rest.
fn answer_bytes_max(frame: &ClientFrame, frame_bytes_max: usize) -> usize {
    let whole_frame = frame_bytes_max + chat_wire::frame::LENGTH_PREFIX_BYTES;
    match frame {
        ClientFrame::Hello(_) => SMALL_ANSWER_BYTES,
        ClientFrame::Request { request, .. } => match request {
            Request::History { .. }
            | Request::CatchUp { .. }
            | Request::Conversations
            | Request::Members { .. }
            | Request::Groups
            | Request::CreateGroup { .. } => whole_frame,
            Request::Register { .. }
            | Request::LogIn { .. }
            | Request::Send { .. }
            | Request::Resend { .. }
            | Request::Invite { .. }
            | Request::Kick { .. }
            | Request::Leave { .. }
            | Request::SetOwner { .. }
            | Request::MakeAdmin { .. }
            | Request::MarkRead { .. }
            | Request::Ping
            | Request::Quit => SMALL_ANSWER_BYTES,
        },
    }
}
