//! A browser's connection: its HTTP request head, answered with a page or upgraded, then the
//! protocol's frames as JSON text in WebSocket messages (tungstenite, non-blocking, on the same
//! loop). `chat_web` decides; this moves the bytes.

use std::collections::VecDeque;
use std::io::{self, Read, Write};

use chat_web::tungstenite::protocol::{Message, Role, WebSocket};
use chat_web::tungstenite::{self, error::CapacityError};
use chat_wire::{ClientFrame, ServerFrame};
use mio::net::TcpStream;

use super::connection::{FrameError, READ_CHUNK_BYTES, ReadOutcome, WriteOutcome};

/// The connection's state; `None` only for an instant while it changes.
pub struct WebStream(Option<State>);

enum State {
    /// Reading the request head.
    Head { socket: TcpStream, head: Vec<u8> },
    /// After the upgrade.
    Socket {
        socket: Box<WebSocket<Counted>>,
        /// What the last read decoded, not yet acted on: the server reads only once it is
        /// empty, so it holds a frame (or the refusal of a bad message) at most.
        inbox: VecDeque<Result<ClientFrame, FrameError>>,
        /// `Counted::read_bytes` when the last whole message arrived: bytes read since then
        /// are a message still arriving, which has the frame timeout to finish. (tungstenite
        /// reads ahead, up to its 4 KiB read buffer: the start of a next message that came with
        /// the last one, and then nothing more, is caught by the idle timeout instead.)
        read_bytes_at_last_message: u64,
        /// Bytes queued since the output was last written out whole: an upper bound of what
        /// tungstenite holds unsent.
        unsent_bytes: usize,
    },
    /// Between the two, for an instant; or a response written and the connection closing.
    Answered { socket: TcpStream, out: Vec<u8> },
}

/// The socket under tungstenite, counting the bytes read from it.
pub struct Counted {
    socket: TcpStream,
    read_bytes: u64,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.socket.read(buf)?;
        self.read_bytes += n as u64;
        Ok(n)
    }
}

impl Write for Counted {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.socket.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.socket.flush()
    }
}

impl WebStream {
    pub fn new(socket: TcpStream) -> Self {
        WebStream(Some(State::Head {
            socket,
            head: Vec::new(),
        }))
    }

    pub fn socket_mut(&mut self) -> Option<&mut TcpStream> {
        match self.0.as_mut()? {
            State::Head { socket, .. } | State::Answered { socket, .. } => Some(socket),
            State::Socket { socket, .. } => Some(&mut socket.get_mut().socket),
        }
    }

    /// Reads once: head bytes, or one WebSocket message decoded into the inbox.
    pub fn read(&mut self) -> ReadOutcome {
        let Some(state) = self.0.as_mut() else {
            return ReadOutcome::Closed("gone".into());
        };
        match state {
            State::Head { socket, head } => {
                let mut chunk = [0u8; READ_CHUNK_BYTES];
                match socket.read(&mut chunk) {
                    Ok(0) => ReadOutcome::Closed("closed by peer".into()),
                    Ok(n) => {
                        head.extend_from_slice(&chunk[..n]);
                        ReadOutcome::Read(n)
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => ReadOutcome::Drained,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => ReadOutcome::Read(0),
                    Err(e) => ReadOutcome::Closed(format!("read failed: {e}")),
                }
            }
            State::Answered { .. } => ReadOutcome::Drained,
            State::Socket {
                socket,
                inbox,
                read_bytes_at_last_message,
                ..
            } => {
                let read = socket.read();
                if read.is_ok() {
                    *read_bytes_at_last_message = socket.get_ref().read_bytes;
                }
                let (outcome, decoded) = read_message(read);
                inbox.extend(decoded);
                outcome
            }
        }
    }

    /// The next frame the page sent, if any; an error for a message that was not a frame.
    pub fn next_frame(&mut self) -> Result<Option<ClientFrame>, FrameError> {
        match self.0.as_mut() {
            Some(State::Socket { inbox, .. }) => inbox.pop_front().transpose(),
            _ => Ok(None),
        }
    }

    /// Part of a WebSocket message has arrived, the rest not yet.
    pub fn has_partial_message(&self) -> bool {
        match self.0.as_ref() {
            Some(State::Socket {
                socket,
                read_bytes_at_last_message,
                ..
            }) => socket.get_ref().read_bytes > *read_bytes_at_last_message,
            _ => false,
        }
    }

    /// Output queued and not yet known to be written.
    pub fn unsent_bytes(&self) -> usize {
        match self.0.as_ref() {
            Some(State::Socket { unsent_bytes, .. }) => *unsent_bytes,
            Some(State::Answered { out, .. }) => out.len(),
            _ => 0,
        }
    }

    /// Queues a frame as a JSON text message; an error if the output cap would be passed.
    pub fn queue(&mut self, frame: &ServerFrame) -> Result<(), String> {
        if !matches!(self.0, Some(State::Socket { .. })) {
            // Before the upgrade a frame has nowhere to go (a timeout's Closing, say).
            return Ok(());
        }
        self.queue_text(&chat_web::json::encode_server(frame)?)
    }

    /// Queues a frame already encoded as JSON.
    pub fn queue_text(&mut self, text: &str) -> Result<(), String> {
        let Some(State::Socket {
            socket,
            unsent_bytes,
            ..
        }) = self.0.as_mut()
        else {
            return Ok(());
        };
        *unsent_bytes += text.len();
        match socket.write(Message::text(text)) {
            Ok(()) => Ok(()),
            // Buffered; the rest goes when the socket is writable.
            Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            Err(tungstenite::Error::WriteBufferFull(_)) => {
                Err("too much output unsent: a slow reader".into())
            }
            Err(e) => Err(format!("websocket: {e}")),
        }
    }

    /// Writes what is queued as far as the socket takes it.
    pub fn write_out(&mut self) -> WriteOutcome {
        let Some(state) = self.0.as_mut() else {
            return WriteOutcome::Done;
        };
        match state {
            State::Head { .. } => WriteOutcome::Done,
            State::Answered { socket, out } => {
                while !out.is_empty() {
                    match socket.write(out) {
                        Ok(0) => return WriteOutcome::Failed("write returned 0".into()),
                        Ok(n) => {
                            out.drain(..n);
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            return WriteOutcome::Pending;
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return WriteOutcome::Failed(format!("write failed: {e}")),
                    }
                }
                WriteOutcome::Done
            }
            State::Socket {
                socket,
                unsent_bytes,
                ..
            } => match socket.flush() {
                Ok(()) => {
                    *unsent_bytes = 0;
                    WriteOutcome::Done
                }
                Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                    WriteOutcome::Pending
                }
                Err(e) => WriteOutcome::Failed(format!("websocket: {e}")),
            },
        }
    }

    /// Ends a WebSocket politely (a close frame), as far as the socket takes it now.
    pub fn close(&mut self) {
        if let Some(State::Socket { socket, .. }) = self.0.as_mut() {
            let _ = socket.close(None);
            let _ = socket.flush();
        }
    }

    /// The request head received so far, while it is being read.
    pub fn head(&self) -> Option<&[u8]> {
        match self.0.as_ref()? {
            State::Head { head, .. } => Some(head),
            _ => None,
        }
    }

    /// Sends `response` and closes after it: the answer to a plain HTTP request.
    pub fn answer(&mut self, response: Vec<u8>) {
        self.0 = match self.0.take() {
            Some(State::Head { socket, .. } | State::Answered { socket, .. }) => {
                Some(State::Answered {
                    socket,
                    out: response,
                })
            }
            other => other,
        };
    }

    /// Sends the 101 response and speaks WebSocket from here on. False if the response could
    /// not be written at once (a fresh socket always takes it) or this is not a head.
    pub fn upgrade(
        &mut self,
        response: &[u8],
        head_bytes: usize,
        config: tungstenite::protocol::WebSocketConfig,
    ) -> bool {
        let Some(State::Head { mut socket, head }) = self.0.take() else {
            return false;
        };
        if !matches!(socket.write(response), Ok(n) if n == response.len()) {
            self.0 = Some(State::Answered {
                socket,
                out: Vec::new(),
            });
            return false;
        }
        // Whatever came after the head is the WebSocket's first bytes.
        let rest = head.get(head_bytes..).unwrap_or_default().to_vec();
        let counted = Counted {
            socket,
            read_bytes: 0,
        };
        let socket = WebSocket::from_partially_read(counted, rest, Role::Server, Some(config));
        self.0 = Some(State::Socket {
            socket: Box::new(socket),
            inbox: VecDeque::new(),
            read_bytes_at_last_message: 0,
            unsent_bytes: 0,
        });
        true
    }
}

/// What one `WebSocket::read` gives the server: the outcome, and a frame (or the refusal of a
/// message that is not one) to act on.
fn read_message(
    read: Result<Message, tungstenite::Error>,
) -> (ReadOutcome, Option<Result<ClientFrame, FrameError>>) {
    let refuse = |code, message| Some(Err(FrameError { code, message }));
    match read {
        Ok(Message::Text(text)) => {
            let decoded = chat_web::json::decode_client(text.as_str()).map_err(|e| FrameError {
                code: "bad_frame",
                message: format!("Not a frame: {e}"),
            });
            (ReadOutcome::Read(text.len()), Some(decoded))
        }
        Ok(Message::Binary(bytes)) => (
            ReadOutcome::Read(bytes.len()),
            refuse("bad_frame", "Frames are JSON text messages.".into()),
        ),
        // Pongs are queued by tungstenite itself and go with the next write.
        Ok(Message::Ping(data) | Message::Pong(data)) => (ReadOutcome::Control(data.len()), None),
        Ok(Message::Frame(frame)) => (ReadOutcome::Control(frame.len()), None),
        Ok(Message::Close(_)) => (ReadOutcome::Closed("closed by peer".into()), None),
        Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {
            (ReadOutcome::Drained, None)
        }
        Err(tungstenite::Error::Capacity(CapacityError::MessageTooLong { size, max_size })) => (
            ReadOutcome::Read(0),
            refuse(
                "frame_too_large",
                format!("A message of {size} bytes is over the limit of {max_size} bytes."),
            ),
        ),
        Err(e) => (ReadOutcome::Closed(format!("websocket: {e}")), None),
    }
}

impl super::Server {
    /// Answers a browser's request once its head is whole: a page (then close), the upgrade
    /// to WebSocket, or a refusal.
    pub(super) fn answer_http(&mut self, token: mio::Token) {
        let socket_config = chat_web::socket_config(
            self.config.limits.frame_bytes_max,
            self.config.limits.unsent_bytes_max,
        );
        let Some(connection) = self.connections.get_mut(&token) else {
            return;
        };
        let Some(web) = connection.web_mut() else {
            return;
        };
        let parsed = chat_web::http::parse_head(web.head().unwrap_or_default());
        match parsed {
            Ok(None) => {}
            Ok(Some((head, head_bytes))) => {
                match chat_web::http::answer(&head, &self.web_origins) {
                    chat_web::http::Answer::Respond(response) => {
                        web.answer(response);
                        connection.closing_since.get_or_insert(self.now);
                        self.flush(token);
                    }
                    chat_web::http::Answer::Upgrade(response) => {
                        if !web.upgrade(&response, head_bytes, socket_config) {
                            self.close(token, "the upgrade could not be written");
                        }
                    }
                }
            }
            Err(e) => {
                web.answer(chat_web::http::refuse(&e));
                connection.closing_since.get_or_insert(self.now);
                self.flush(token);
            }
        }
    }
}
