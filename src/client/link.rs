//! The client's connection to the server: connect and handshake (blocking, with timeouts, before
//! the loop starts), then non-blocking frame writes and reads driven by the loop's readiness.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;

use chat_wire::{
    ClientFrame, DecodeError, FRAME_BYTES_MAX, FrameDecoder, Hello, MAGIC, PROTOCOL_VERSION,
    Request, ServerFrame, encode_frame,
};

use super::format;
use crate::tls::{self, Transport};

/// Where the servers are (tried in turn), and whether to speak TLS to them (trusting which
/// authorities).
#[derive(Clone)]
pub struct Endpoint {
    /// host:port, at least one.
    pub servers: Vec<String>,
    pub tls: Option<Arc<ClientConfig>>,
}

/// The host part of `server`, as a certificate names it (an IPv6 address without brackets).
fn host(server: &str) -> &str {
    let host = server.rsplit_once(':').map_or(server, |(host, _port)| host);
    host.trim_start_matches('[').trim_end_matches(']')
}

/// How long to wait for a TCP connection to each of the server's addresses.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the server has to answer the handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Bytes read from the socket per readiness event; the loop comes back for the rest.
const READ_CHUNK_BYTES: usize = 64 * 1024;

/// What a TLS client hears from a server that does not speak TLS.
const PLAIN_SERVER: &str =
    "it does not speak TLS there (it answered in plain text or hung up): drop --tls";

/// Why a TLS handshake failed, in words that say what to change.
fn tls_failure(e: &io::Error, host: &str) -> String {
    use rustls::{CertificateError, Error};
    let cause = e.get_ref().and_then(|inner| inner.downcast_ref::<Error>());
    match cause {
        Some(Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        )) => format!(
            "TLS failed: its certificate is for another name, not {host}: connect with a name the certificate lists in --server ({e})"
        ),
        Some(Error::InvalidCertificate(CertificateError::UnknownIssuer)) => format!(
            "TLS failed: {e} (its certificate is signed by an authority not trusted here: was it signed by the one --ca names?)"
        ),
        Some(Error::InvalidMessage(_)) => PLAIN_SERVER.into(),
        _ => format!("TLS failed: {e}"),
    }
}

pub struct Link {
    stream: Transport<TcpStream>,
    decoder: FrameDecoder,
    /// Encoded frames not yet written. Bounded by what the session may have owed at once: its
    /// requests in flight (`REQUESTS_IN_FLIGHT_MAX`) and, written together after a reconnect,
    /// the messages pending (`PENDING_SENDS_MAX`), each a frame of at most `FRAME_BYTES_MAX`
    /// bytes (a message's is about 16 KiB: some 20 MiB at worst).
    unsent: Vec<u8>,
    read_buffer: Box<[u8]>,
}

/// What a read found.
pub enum Received {
    /// Bytes arrived (or none were ready): look for frames.
    Some,
    /// The server closed the connection.
    Closed,
}

impl Link {
    /// Connects to the endpoint's servers in turn, from the one at `first`, and returns the
    /// first link made with its server's index; the error says why each failed.
    pub fn connect_any(endpoint: &Endpoint, first: usize) -> Result<(Link, usize), String> {
        let count = endpoint.servers.len();
        let mut failures = Vec::new();
        for index in (0..count).map(|n| (first + n) % count) {
            match Link::connect(endpoint, &endpoint.servers[index]) {
                Ok(link) => return Ok((link, index)),
                Err(why) => failures.push(why),
            }
        }
        match failures.len() {
            0 => Err("no server was given".into()),
            1 => Err(failures.remove(0)),
            _ => Err(failures.join("; ")),
        }
    }

    /// Connects to `server` and says hello (after the TLS handshake, if TLS). The error is a
    /// sentence for the person.
    fn connect(endpoint: &Endpoint, server: &str) -> Result<Link, String> {
        let addrs: Vec<_> = server
            .to_socket_addrs()
            .map_err(|e| format!("cannot find the server {server}: {e}"))?
            .collect();
        let mut last_error = None;
        let stream = addrs
            .iter()
            .find_map(
                |addr| match TcpStream::connect_timeout(addr, CONNECT_TIMEOUT) {
                    Ok(stream) => Some(stream),
                    Err(e) => {
                        last_error = Some(e);
                        None
                    }
                },
            )
            .ok_or_else(|| {
                let why = last_error.map_or("no address".to_string(), |e| e.to_string());
                format!("cannot reach the server at {server}: {why}. Is chat-server running there?")
            })?;
        let tls = match &endpoint.tls {
            None => None,
            Some(config) => Some(tls::client_connection(Arc::clone(config), host(server))?),
        };
        let mut link = Link {
            stream: Transport::new(stream, tls),
            decoder: FrameDecoder::new(FRAME_BYTES_MAX),
            unsent: Vec::new(),
            read_buffer: vec![0; READ_CHUNK_BYTES].into_boxed_slice(),
        };
        link.handshake(server)
            .map_err(|e| format!("the server at {server} did not complete the handshake: {e}"))?;
        Ok(link)
    }

    fn handshake(&mut self, server: &str) -> Result<(), String> {
        let hello = ClientFrame::Hello(Hello {
            magic: MAGIC,
            version: PROTOCOL_VERSION,
        });
        let mut bytes = Vec::new();
        encode_frame(&hello, FRAME_BYTES_MAX, &mut bytes).map_err(|e| e.to_string())?;
        let setup = |stream: &TcpStream| -> io::Result<()> {
            stream.set_nodelay(true)?;
            stream.set_read_timeout(Some(HANDSHAKE_TIMEOUT))?;
            stream.set_write_timeout(Some(HANDSHAKE_TIMEOUT))
        };
        setup(self.stream.socket()).map_err(|e| e.to_string())?;
        self.stream.write_all(&bytes).map_err(|e| e.to_string())?;
        let mut first_bytes = Vec::new();
        let frame = loop {
            match self.next_frame() {
                Ok(Some(frame)) => break frame,
                Ok(None) => {}
                // A TLS record starts 0x15 (alert) or 0x16 (handshake), then 0x03.
                Err(_) if matches!(first_bytes[..], [0x15 | 0x16, 0x03, ..]) => {
                    return Err("it speaks TLS: add --tls".into());
                }
                Err(e) => return Err(e.to_string()),
            }
            match self.stream.read(&mut self.read_buffer) {
                Ok(0) if self.stream.is_tls() => return Err(PLAIN_SERVER.into()),
                Ok(0) => return Err("it closed the connection".into()),
                Ok(n) => {
                    if first_bytes.len() < 2 {
                        first_bytes.extend_from_slice(&self.read_buffer[..n.min(2)]);
                    }
                    self.decoder.push(&self.read_buffer[..n]);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(format!("no answer within {HANDSHAKE_TIMEOUT:?}"));
                }
                Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                    return Err(tls_failure(&e, host(server)));
                }
                // A plain server cuts a TLS hello off as a frame far too large.
                Err(e) if self.stream.is_tls() && e.kind() == io::ErrorKind::ConnectionReset => {
                    return Err(PLAIN_SERVER.into());
                }
                Err(e) => return Err(e.to_string()),
            }
        };
        match frame {
            ServerFrame::Welcome { .. } => {}
            ServerFrame::Closing(e) => {
                return Err(format::error(&e.code, &e.message)
                    .trim_start_matches("error: ")
                    .to_string());
            }
            other => return Err(format!("{server} answered {other:?}")),
        }
        self.stream
            .socket()
            .set_nonblocking(true)
            .map_err(|e| e.to_string())?;
        Ok(())
    }

    pub fn stream(&self) -> &TcpStream {
        self.stream.socket()
    }

    /// Decrypted bytes wait inside TLS: read again before waiting on the socket.
    pub fn has_buffered_input(&mut self) -> bool {
        self.stream.has_buffered_plaintext()
    }

    /// Queues a request; `write_some` sends it.
    pub fn queue(&mut self, id: u32, request: Request) -> Result<(), String> {
        let frame = ClientFrame::Request { id, request };
        encode_frame(&frame, FRAME_BYTES_MAX, &mut self.unsent).map_err(|e| e.to_string())
    }

    pub fn wants_write(&self) -> bool {
        !self.unsent.is_empty() || self.stream.wants_write()
    }

    /// Writes what the socket takes without blocking.
    pub fn write_some(&mut self) -> io::Result<()> {
        let mut written = 0;
        let result = loop {
            if written == self.unsent.len() {
                // Under TLS, records may still wait in rustls.
                break match self.stream.flush_tls() {
                    Ok(_) => Ok(()),
                    Err(e) => Err(e),
                };
            }
            match self.stream.write(&self.unsent[written..]) {
                Ok(0) => break Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        self.unsent.drain(..written);
        result
    }

    /// Reads what has arrived, up to one chunk.
    pub fn read_some(&mut self) -> io::Result<Received> {
        match self.stream.read(&mut self.read_buffer) {
            Ok(0) => Ok(Received::Closed),
            Ok(n) => {
                self.decoder.push(&self.read_buffer[..n]);
                Ok(Received::Some)
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) =>
            {
                Ok(Received::Some)
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
                ) =>
            {
                Ok(Received::Closed)
            }
            Err(e) => Err(e),
        }
    }

    /// The next whole frame received, if any.
    pub fn next_frame(&mut self) -> Result<Option<ServerFrame>, DecodeError> {
        self.decoder.next_frame()
    }
}
