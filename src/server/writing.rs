//! The loop's writing half: the core's effects put in the connections' output (a delivery
//! encoded once for its whole audience), written as the sockets take them, and connections
//! closed once their last frame is out.

use std::sync::Arc;

use chat_wire::ServerFrame;
use mio::Token;

use super::transport::{SharedFrame, WriteOutcome};
use super::{Server, conn_id, log, token_of};
use crate::core::{ConnId, Effect, Input, Outbound};

impl Server {
    /// Puts the core's effects in the connections' output, in order, and writes what the
    /// sockets take of the answers (deliveries wait in the write queue).
    pub(super) fn apply_effects(&mut self, effects: Vec<Effect>) {
        let mut touched = Vec::new();
        for effect in effects {
            match effect {
                Effect::Send(outbound) => {
                    let token = token_of(outbound.conn);
                    if self.send_outbound(outbound) && touched.last() != Some(&token) {
                        touched.push(token);
                    }
                }
                Effect::Deliver { conns, frame } => self.deliver(&conns, frame),
                Effect::StoreFailed { detail } => {
                    log!(
                        "the store failed to commit ({detail}): what was written since the last \
                         commit may or may not be on disk, so it is not trusted again; stopping \
                         for a restart on what is there"
                    );
                    self.failure = Some(format!("the store failed to commit: {detail}"));
                    self.shut_down("The server is stopping: its store failed.");
                }
            }
        }
        for token in touched {
            self.flush(token);
        }
    }

    /// One frame for one connection; false if it is gone (or went for a slow reader).
    fn send_outbound(&mut self, outbound: Outbound) -> bool {
        let token = token_of(outbound.conn);
        let Some(connection) = self.connections.get_mut(&token) else {
            return false;
        };
        if outbound.answers {
            debug_assert!(
                connection.owed.front().is_none_or(|owed| {
                    chat_wire::frame_bytes(&outbound.frame) <= owed.answer_bytes
                }),
                "an answer larger than the output reserved for it: {:?}",
                outbound.frame
            );
            let request_bytes = connection.answered();
            debug_assert!(request_bytes <= self.in_flight_bytes);
            self.in_flight_bytes = self.in_flight_bytes.saturating_sub(request_bytes);
            if std::mem::take(&mut connection.paused) {
                self.mark_ready(token);
            }
        }
        let Some(connection) = self.connections.get_mut(&token) else {
            return false;
        };
        if outbound.then_close {
            // Frames it sent after this one may still wait for the core, which drops them.
            self.released_after_next_batch += connection.owed_nothing_more();
            connection.closing_since.get_or_insert(self.now);
        }
        if matches!(outbound.frame, ServerFrame::Welcome { .. }) {
            connection.welcomed = true;
        }
        if let Err(reason) = connection.stream.queue(&outbound.frame) {
            self.close(token, &reason);
            return false;
        }
        true
    }

    /// `frame` for every connection in `conns`, encoded once; written by `write_deliveries`.
    fn deliver(&mut self, conns: &[ConnId], frame: Arc<ServerFrame>) {
        let shared = SharedFrame::new(frame);
        for conn in conns {
            let token = token_of(*conn);
            let Some(connection) = self.connections.get_mut(&token) else {
                continue;
            };
            // Its last frame is queued: nothing may follow it.
            if connection.closing_since.is_some() {
                continue;
            }
            if let Err(reason) = connection.stream.queue_shared(&shared) {
                self.close(token, &reason);
                continue;
            }
            if !std::mem::replace(&mut connection.write_queued, true) {
                self.write_queue.push_back(token);
            }
        }
    }

    /// Writes the deliveries of at most `delivery_writes_per_turn` connections, oldest first.
    pub(super) fn write_deliveries(&mut self) {
        for _ in 0..self.config.limits.delivery_writes_per_turn {
            let Some(token) = self.write_queue.pop_front() else {
                return;
            };
            if let Some(connection) = self.connections.get_mut(&token) {
                connection.write_queued = false;
                self.flush(token);
            }
        }
    }

    /// Writes what a connection has queued; closes it if that was its last frame. One paused
    /// for its output is lined up again once it drains below the mark.
    pub(super) fn flush(&mut self, token: Token) {
        let read_pause_bytes = self.read_pause_bytes();
        let Some(connection) = self.connections.get_mut(&token) else {
            return;
        };
        match connection.stream.write_out() {
            WriteOutcome::Done
                if connection.closing_since.is_some() && connection.owed.is_empty() =>
            {
                self.close(token, "closed after its last frame");
            }
            WriteOutcome::Done | WriteOutcome::Pending => {
                if connection.paused && connection.pending_output() < read_pause_bytes {
                    connection.paused = false;
                    // A frame half read before the pause gets its full time again: what was
                    // left of it waited unread in the kernel meanwhile.
                    if connection.partial_since.is_some() {
                        connection.partial_since = Some(self.now);
                    }
                    self.mark_ready(token);
                }
            }
            WriteOutcome::Failed(reason) => self.close(token, &reason),
        }
    }

    /// An event of the loop's own (a ping), sent at once.
    pub(super) fn send_event(&mut self, token: Token, event: chat_wire::Event) {
        let Some(connection) = self.connections.get_mut(&token) else {
            return;
        };
        match connection.stream.queue(&ServerFrame::Event(event)) {
            Ok(()) => self.flush(token),
            Err(reason) => self.close(token, &reason),
        }
    }

    /// Ends a connection with `Closing(code)`, after the answers it is owed: the core sends it.
    /// Nothing more is read from it.
    pub(super) fn close_with(&mut self, token: Token, code: &'static str, message: &str) {
        let Some(connection) = self.connections.get_mut(&token) else {
            return;
        };
        if connection.closing_since.is_some() || std::mem::replace(&mut connection.ending, true) {
            return;
        }
        log!("{}: closing: {code}: {message}", connection.peer);
        self.inputs.push(Input::Refuse {
            conn: conn_id(token),
            code,
            message: message.to_string(),
        });
    }

    /// Drops a connection at once, and tells the core.
    pub(super) fn close(&mut self, token: Token, reason: &str) {
        let Some(mut connection) = self.connections.remove(&token) else {
            return;
        };
        // Its frames the core has not applied yet are dropped when it applies them.
        self.released_after_next_batch += connection.owed_nothing_more();
        connection.stream.close();
        if let Some(socket) = connection.stream.socket_mut() {
            let _ = self.poll.registry().deregister(socket);
        }
        self.open_per_address.closed(connection.peer.ip());
        self.inputs.push(Input::Closed {
            conn: conn_id(token),
        });
        if !reason.starts_with("closed") {
            log!("{}: disconnected: {reason}", connection.peer);
        }
    }
}
