//! A browser as a transport: its HTTP request head, answered with a page or upgraded, then
//! the protocol's frames as JSON text in WebSocket messages (tungstenite, non-blocking, on the
//! same loop). `chat_web` decides; this moves the bytes.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::sync::Arc;

use chat_web::tungstenite::protocol::{Message, Role, WebSocket, WebSocketConfig};
use chat_web::tungstenite::{self, error::CapacityError};
use chat_wire::{ClientFrame, ServerFrame};
use mio::net::TcpStream;

use super::transport::{
    ClientStream, FrameError, OutputLimits, READ_CHUNK_BYTES, ReadOutcome, SharedFrame,
    WriteOutcome,
};

/// What every browser's connection is served with, fixed at start.
pub struct WebSettings {
    /// The origins whose pages may open the WebSocket (never taken from a request).
    pub origins: Vec<String>,
    pub socket: WebSocketConfig,
}

impl WebSettings {
    pub fn new(origins: Vec<String>, limits: OutputLimits) -> Self {
        WebSettings {
            origins,
            socket: chat_web::socket_config(limits.frame_bytes_max, limits.unsent_bytes_max),
        }
    }
}

/// The connection's state (`None` only for an instant while it changes), and its settings.
pub struct WebStream {
    state: Option<State>,
    settings: Arc<WebSettings>,
}

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
    pub fn new(socket: TcpStream, settings: Arc<WebSettings>) -> Self {
        WebStream {
            state: Some(State::Head {
                socket,
                head: Vec::new(),
            }),
            settings,
        }
    }
}

impl WebStream {
    /// Reads head bytes; once the head is whole, answers it.
    fn read_head(&mut self) -> ReadOutcome {
        let Some(State::Head { socket, head }) = self.state.as_mut() else {
            return ReadOutcome::Drained;
        };
        let mut chunk = [0u8; READ_CHUNK_BYTES];
        let n = match socket.read(&mut chunk) {
            Ok(0) => return ReadOutcome::Closed("closed by peer".into()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return ReadOutcome::Drained,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return ReadOutcome::Read(0),
            Err(e) => return ReadOutcome::Closed(format!("read failed: {e}")),
        };
        head.extend_from_slice(&chunk[..n]);
        match chat_web::http::parse_head(head) {
            Ok(None) => ReadOutcome::Read(n),
            Ok(Some((parsed, head_bytes))) => {
                match chat_web::http::answer(&parsed, &self.settings.origins) {
                    chat_web::http::Answer::Respond(response) => self.answer(response),
                    chat_web::http::Answer::Upgrade(response) => {
                        self.upgrade(&response, head_bytes, n)
                    }
                }
            }
            Err(e) => self.answer(chat_web::http::refuse(&e)),
        }
    }

    /// Sends `response` and closes after it: the answer to a plain HTTP request.
    fn answer(&mut self, response: Vec<u8>) -> ReadOutcome {
        self.state = match self.state.take() {
            Some(State::Head { socket, .. } | State::Answered { socket, .. }) => {
                Some(State::Answered {
                    socket,
                    out: response,
                })
            }
            other => other,
        };
        ReadOutcome::Answered
    }

    /// Sends the 101 response and speaks WebSocket from here on; closes if the response could
    /// not be written at once (a fresh socket always takes it).
    fn upgrade(&mut self, response: &[u8], head_bytes: usize, read_bytes: usize) -> ReadOutcome {
        let Some(State::Head { mut socket, head }) = self.state.take() else {
            return ReadOutcome::Closed("not a head".into());
        };
        if !matches!(socket.write(response), Ok(n) if n == response.len()) {
            self.state = Some(State::Answered {
                socket,
                out: Vec::new(),
            });
            return ReadOutcome::Closed("the upgrade could not be written".into());
        }
        // Whatever came after the head is the WebSocket's first bytes.
        let rest = head.get(head_bytes..).unwrap_or_default().to_vec();
        let counted = Counted {
            socket,
            read_bytes: 0,
        };
        let socket =
            WebSocket::from_partially_read(counted, rest, Role::Server, Some(self.settings.socket));
        self.state = Some(State::Socket {
            socket: Box::new(socket),
            inbox: VecDeque::new(),
            read_bytes_at_last_message: 0,
            unsent_bytes: 0,
        });
        ReadOutcome::Read(read_bytes)
    }

    /// Queues a frame already encoded as JSON.
    fn queue_text(&mut self, text: &str) -> Result<(), String> {
        let Some(State::Socket {
            socket,
            unsent_bytes,
            ..
        }) = self.state.as_mut()
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
}

impl ClientStream for WebStream {
    fn socket_mut(&mut self) -> Option<&mut TcpStream> {
        match self.state.as_mut()? {
            State::Head { socket, .. } | State::Answered { socket, .. } => Some(socket),
            State::Socket { socket, .. } => Some(&mut socket.get_mut().socket),
        }
    }

    /// Reads once: head bytes (answered once whole), or one WebSocket message decoded into the
    /// inbox.
    fn read(&mut self) -> ReadOutcome {
        match self.state.as_mut() {
            None => ReadOutcome::Closed("gone".into()),
            Some(State::Head { .. }) => self.read_head(),
            Some(State::Answered { .. }) => ReadOutcome::Drained,
            Some(State::Socket {
                socket,
                inbox,
                read_bytes_at_last_message,
                ..
            }) => {
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

    fn next_frame(&mut self) -> Result<Option<ClientFrame>, FrameError> {
        match self.state.as_mut() {
            Some(State::Socket { inbox, .. }) => inbox.pop_front().transpose(),
            _ => Ok(None),
        }
    }

    /// Part of a WebSocket message has arrived, the rest not yet.
    fn has_partial_frame(&self) -> bool {
        match self.state.as_ref() {
            Some(State::Socket {
                socket,
                read_bytes_at_last_message,
                ..
            }) => socket.get_ref().read_bytes > *read_bytes_at_last_message,
            _ => false,
        }
    }

    fn unsent_bytes(&self) -> usize {
        match self.state.as_ref() {
            Some(State::Socket { unsent_bytes, .. }) => *unsent_bytes,
            Some(State::Answered { out, .. }) => out.len(),
            _ => 0,
        }
    }

    /// Queues a frame as a JSON text message; an error if the output cap would be passed.
    /// Before the upgrade a frame has nowhere to go (a timeout's Closing, say).
    fn queue(&mut self, frame: &ServerFrame) -> Result<(), String> {
        if !matches!(self.state, Some(State::Socket { .. })) {
            return Ok(());
        }
        self.queue_text(&chat_web::json::encode_server(frame)?)
    }

    fn queue_shared(&mut self, shared: &SharedFrame) -> Result<(), String> {
        let json = shared.encoded("json", |frame| {
            chat_web::json::encode_server(frame).map(String::into_bytes)
        });
        let json = json.as_ref().as_ref().map_err(Clone::clone)?;
        // Made from a String just above: always UTF-8.
        let text = std::str::from_utf8(json).map_err(|e| e.to_string())?;
        self.queue_text(text)
    }

    fn write_out(&mut self) -> WriteOutcome {
        let Some(state) = self.state.as_mut() else {
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
    fn close(&mut self) {
        if let Some(State::Socket { socket, .. }) = self.state.as_mut() {
            let _ = socket.close(None);
            let _ = socket.flush();
        }
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
