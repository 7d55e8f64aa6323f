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

/// Frames decoded from the page and not yet acted on, at most: reading pauses past it.
const INBOX_FRAMES_MAX: usize = 64;

/// The connection's state; `None` only for an instant while it changes.
pub struct WebStream(Option<State>);

enum State {
    /// Reading the request head.
    Head { socket: TcpStream, head: Vec<u8> },
    /// After the upgrade.
    Socket {
        socket: Box<WebSocket<TcpStream>>,
        inbox: VecDeque<ClientFrame>,
    },
    /// Between the two, for an instant; or a response written and the connection closing.
    Answered { socket: TcpStream, out: Vec<u8> },
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
            State::Socket { socket, .. } => Some(socket.get_mut()),
        }
    }

    /// Reads what the socket has: head bytes, or WebSocket messages decoded into frames.
    pub fn read(&mut self, paused: bool) -> Option<ReadOutcome> {
        let Some(state) = self.0.as_mut() else {
            return Some(ReadOutcome::Closed("gone".into()));
        };
        match state {
            State::Head { socket, head } => {
                let mut chunk = [0u8; READ_CHUNK_BYTES];
                match socket.read(&mut chunk) {
                    Ok(0) => Some(ReadOutcome::Closed("closed by peer".into())),
                    Ok(n) => {
                        head.extend_from_slice(&chunk[..n]);
                        None
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => Some(ReadOutcome::Drained),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => None,
                    Err(e) => Some(ReadOutcome::Closed(format!("read failed: {e}"))),
                }
            }
            State::Answered { .. } => Some(ReadOutcome::Drained),
            State::Socket { socket, inbox } => {
                if paused && !inbox.is_empty() || inbox.len() >= INBOX_FRAMES_MAX {
                    return Some(ReadOutcome::Paused);
                }
                match socket.read() {
                    Ok(Message::Text(text)) => {
                        match chat_web::json::decode_client(text.as_str()) {
                            Ok(frame) => inbox.push_back(frame),
                            Err(e) => {
                                return Some(ReadOutcome::Refused(FrameError {
                                    code: "bad_frame",
                                    message: format!("Not a frame: {e}"),
                                }));
                            }
                        }
                        None
                    }
                    Ok(Message::Binary(_)) => Some(ReadOutcome::Refused(FrameError {
                        code: "bad_frame",
                        message: "Frames are JSON text messages.".into(),
                    })),
                    // Pongs are queued by tungstenite itself and go with the next write.
                    Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => None,
                    Ok(Message::Close(_)) => Some(ReadOutcome::Closed("closed by peer".into())),
                    Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                        Some(ReadOutcome::Drained)
                    }
                    Err(tungstenite::Error::Capacity(CapacityError::MessageTooLong {
                        size,
                        max_size,
                    })) => Some(ReadOutcome::Refused(FrameError {
                        code: "frame_too_large",
                        message: format!(
                            "A message of {size} bytes is over the limit of {max_size} bytes."
                        ),
                    })),
                    Err(e) => Some(ReadOutcome::Closed(format!("websocket: {e}"))),
                }
            }
        }
    }

    /// The next frame the page sent, if any.
    pub fn next_frame(&mut self) -> Option<ClientFrame> {
        match self.0.as_mut()? {
            State::Socket { inbox, .. } => inbox.pop_front(),
            _ => None,
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
        let Some(State::Socket { socket, .. }) = self.0.as_mut() else {
            return Ok(());
        };
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
            State::Socket { socket, .. } => match socket.flush() {
                Ok(()) => WriteOutcome::Done,
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
        let socket = WebSocket::from_partially_read(socket, rest, Role::Server, Some(config));
        self.0 = Some(State::Socket {
            socket: Box::new(socket),
            inbox: VecDeque::new(),
        });
        true
    }
}

impl<S: chat_domain::Store> super::Server<S> {
    /// Answers a browser's request once its head is whole: a page (then close), the upgrade
    /// to WebSocket, or a refusal.
    pub(super) fn answer_http(&mut self, token: mio::Token) {
        let allowed = self
            .config
            .web
            .as_ref()
            .map(|web| web.allowed_origins.clone())
            .unwrap_or_default();
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
            Ok(Some((head, head_bytes))) => match chat_web::http::answer(&head, &allowed) {
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
            },
            Err(e) => {
                web.answer(chat_web::http::refuse(&e));
                connection.closing_since.get_or_insert(self.now);
                self.flush(token);
            }
        }
    }
}
