//! The loop's deadlines, checked every tick: a frame that trickles in, a connection that says
//! nothing (pinged, then closed), one whose last frames are never read, one that reads none of
//! its output; the core gets a tick for its own deadlines (the handshake, the log-in).

use mio::Token;

use super::Server;
use crate::core::Input;

impl Server {
    pub(super) fn check_timers(&mut self) {
        let limits = self.config.limits.clone();
        let now = self.now;
        let read_pause_bytes = self.read_pause_bytes();
        let mut expired: Vec<(Token, &'static str, &'static str)> = Vec::new();
        let mut to_ping = Vec::new();
        let mut dropped: Vec<(Token, String)> = Vec::new();
        for (token, connection) in &mut self.connections {
            // An idle connection should hold no memory it is not using.
            if connection.owed.is_empty() {
                connection.owed.shrink_to_fit();
            }
            if connection.pending_output() < read_pause_bytes {
                connection.stalled_since = None;
            } else if now.duration_since(*connection.stalled_since.get_or_insert(now))
                > limits.stalled_reader_timeout
            {
                let reason = format!(
                    "it read none of its replies for {} s: over {read_pause_bytes} bytes stayed unsent",
                    limits.stalled_reader_timeout.as_secs()
                );
                dropped.push((*token, reason));
                continue;
            }
            if let Some(since) = connection.closing_since {
                if now.duration_since(since) > limits.close_grace {
                    let reason = "its last frames were not read in time".to_string();
                    dropped.push((*token, reason));
                }
                continue;
            }
            if connection.ending {
                continue;
            }
            // Frames unread while answers are owed or the output drains are not a trickle.
            if !connection.paused
                && connection
                    .partial_since
                    .is_some_and(|since| now.duration_since(since) > limits.frame_timeout)
            {
                expired.push((*token, "frame_timeout", "A frame took too long to arrive."));
                continue;
            }
            let quiet = now.duration_since(connection.last_heard);
            if quiet > limits.idle_ping_after + limits.idle_close_after {
                expired.push((*token, "idle_timeout", "No answer to the server's ping."));
            } else if quiet > limits.idle_ping_after && !connection.pinged {
                connection.pinged = true;
                to_ping.push(*token);
            }
        }
        for (token, reason) in dropped {
            self.close(token, &reason);
        }
        for (token, code, message) in expired {
            self.close_with(token, code, message);
        }
        for token in to_ping {
            self.send_event(token, chat_wire::Event::Ping);
        }
        self.inputs.push(Input::Tick);
    }
}
