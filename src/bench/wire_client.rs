//! A blocking client for the load generator: one socket, the wire protocol, every read bounded
//! by a timeout so a stuck server ends the run instead of hanging it.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use chat_wire::{
    ClientFrame, Event, FRAME_BYTES_MAX, FrameDecoder, Hello, MAGIC, PROTOCOL_VERSION, Reply,
    Request, ServerFrame, encode_frame,
};

/// How long any one read may wait.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

pub struct WireClient {
    stream: TcpStream,
    decoder: FrameDecoder,
    next_id: u32,
    buffer: Box<[u8]>,
}

fn broken(what: impl std::fmt::Display) -> io::Error {
    io::Error::other(what.to_string())
}

impl WireClient {
    /// Connects and says hello.
    pub fn connect(addr: SocketAddr) -> io::Result<Self> {
        let stream = TcpStream::connect_timeout(&addr, READ_TIMEOUT)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(READ_TIMEOUT))?;
        let mut client = WireClient {
            stream,
            decoder: FrameDecoder::new(FRAME_BYTES_MAX),
            next_id: 1,
            buffer: vec![0; 64 * 1024].into_boxed_slice(),
        };
        client.write(&ClientFrame::Hello(Hello {
            magic: MAGIC,
            version: PROTOCOL_VERSION,
        }))?;
        match client.read()? {
            ServerFrame::Welcome { .. } => Ok(client),
            other => Err(broken(format!("expected Welcome, got {other:?}"))),
        }
    }

    fn write(&mut self, frame: &ClientFrame) -> io::Result<()> {
        let mut bytes = Vec::new();
        encode_frame(frame, FRAME_BYTES_MAX, &mut bytes).map_err(broken)?;
        self.stream.write_all(&bytes)
    }

    /// The next frame from the server.
    pub fn read(&mut self) -> io::Result<ServerFrame> {
        loop {
            if let Some(frame) = self.decoder.next_frame().map_err(broken)? {
                return Ok(frame);
            }
            let n = self.stream.read(&mut self.buffer)?;
            if n == 0 {
                return Err(broken("the server closed the connection"));
            }
            self.decoder.push(&self.buffer[..n]);
        }
    }

    /// The socket, for a caller that writes raw bytes from here on.
    pub fn into_stream(self) -> TcpStream {
        self.stream
    }

    /// Sends a request without waiting; returns its id.
    pub fn send(&mut self, request: Request) -> io::Result<u32> {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        self.write(&ClientFrame::Request { id, request })?;
        Ok(id)
    }

    /// Waits for the reply to `id`; events that come first are counted into `events`.
    pub fn reply_to(&mut self, id: u32, events: &mut Vec<Event>) -> io::Result<Reply> {
        loop {
            match self.read()? {
                ServerFrame::Reply { id: got, reply } if got == id => return Ok(reply),
                ServerFrame::Event(event) => events.push(event),
                other => return Err(broken(format!("expected reply {id}, got {other:?}"))),
            }
        }
    }

    pub fn request(&mut self, request: Request) -> io::Result<Reply> {
        let id = self.send(request)?;
        let mut ignored = Vec::new();
        self.reply_to(id, &mut ignored)
    }

    /// The next event, skipping nothing: a reply here is an error.
    pub fn next_event(&mut self) -> io::Result<Event> {
        match self.read()? {
            ServerFrame::Event(event) => Ok(event),
            other => Err(broken(format!("expected an event, got {other:?}"))),
        }
    }
}
