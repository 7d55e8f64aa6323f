//! Test harness: starts the real `chat-server` binary on a free port with a fresh data
//! directory, and a blocking test client that speaks the real wire protocol over real sockets.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chat_store_contract::TempDir;
use chat_wire::{
    ClientFrame, ErrorBody, Event, FRAME_BYTES_MAX, FrameDecoder, Hello, MAGIC, PROTOCOL_VERSION,
    Reply, Request, ServerFrame, WireMessage, WireRecipient, encode_frame,
};

pub mod chat_client;
pub mod gate_store;
pub mod in_process;
pub mod proxy;
pub mod pty;

pub const PASSWORD: &str = "correct horse battery";
/// Long enough for a slow CI machine, short enough that a hang fails the test.
pub const READ_TIMEOUT: Duration = Duration::from_secs(20);

pub struct ServerProcess {
    pub child: Child,
    pub addr: SocketAddr,
    /// Where the web page is, if the server was started with --http.
    pub web_addr: Option<SocketAddr>,
    pub store: &'static str,
    /// Everything the server wrote to stderr, line by line (at most 1 MiB).
    log: Arc<Mutex<String>>,
}

impl ServerProcess {
    /// Starts `chat-server` with cheap hashing (the cost is not under test here), the abuse
    /// limits lifted (every test client is one address, and many send in bursts), and `extra`,
    /// whose flags override those.
    pub fn start(store: &'static str, data: &TempDir, extra: &[&str]) -> Self {
        let mut flags = chat::bench::server_process::ABUSE_LIMITS_LIFTED.to_vec();
        flags.extend_from_slice(extra);
        Self::start_with_abuse_limits(store, data, &flags)
    }

    /// Starts `chat-server` with cheap hashing and `extra`, the abuse limits at their defaults.
    pub fn start_with_abuse_limits(store: &'static str, data: &TempDir, extra: &[&str]) -> Self {
        Self::start_listening(store, data, "127.0.0.1:0", extra)
    }

    /// As `start`, listening on `listen` (a port given again, to restart a server where its
    /// clients look for it).
    pub fn start_on(store: &'static str, data: &TempDir, listen: &str, extra: &[&str]) -> Self {
        let mut flags = chat::bench::server_process::ABUSE_LIMITS_LIFTED.to_vec();
        flags.extend_from_slice(extra);
        Self::start_listening(store, data, listen, &flags)
    }

    fn start_listening(store: &'static str, data: &TempDir, listen: &str, extra: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_chat-server"))
            .args(["--listen", listen, "--store", store])
            .arg("--data")
            .arg(data.path())
            .args(["--hash-memory-kib", "64", "--hash-passes", "1"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("chat-server starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut stdout = BufReader::new(stdout);
        let mut line = String::new();
        stdout.read_line(&mut line).expect("reads the first line");
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .expect("an address");
        // With --http, a second line says where the page is.
        let web_addr = extra.contains(&"--http").then(|| {
            let mut line = String::new();
            stdout.read_line(&mut line).expect("reads the second line");
            line.trim()
                .strip_prefix("web page at http://")
                .and_then(|rest| rest.strip_suffix('/'))
                .unwrap_or_else(|| panic!("unexpected second line {line:?}"))
                .parse()
                .expect("an address")
        });
        // Drain stderr in the background so the server never blocks on a full pipe; keep what
        // it says for the tests that read its log.
        let stderr = child.stderr.take().expect("stderr is piped");
        let log = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { return };
                let mut log = sink.lock().expect("log lock");
                // Bounded: a flood's log lines must not fill the test's memory.
                if log.len() < 1 << 20 {
                    log.push_str(&line);
                    log.push('\n');
                }
            }
        });
        ServerProcess {
            child,
            addr,
            web_addr,
            store,
            log,
        }
    }

    /// Waits until the server's stderr has a line containing `needle`, and returns that line;
    /// panics with everything it said if none comes within `READ_TIMEOUT`.
    pub fn wait_for_log(&self, needle: &str) -> String {
        let deadline = std::time::Instant::now() + READ_TIMEOUT;
        loop {
            let log = self.log.lock().expect("log lock").clone();
            if let Some(line) = log.lines().find(|line| line.contains(needle)) {
                return line.to_string();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no {needle:?} in the server's log:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What the server has said on stderr so far.
    pub fn log_text(&self) -> String {
        self.log.lock().expect("log lock").clone()
    }

    pub fn client(&self) -> Client {
        Client::connect(self.addr)
    }

    pub fn signal(&self, signal: &str) {
        signal_process(self.child.id(), signal);
    }

    /// Waits for the process to exit, at most `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        wait_for_exit(&mut self.child, limit)
    }
}

/// Sends `signal` (a name: TERM, INT, ...) to the process `pid`.
pub fn signal_process(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .args(["-s", signal, &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

/// Waits for `child` to exit, at most `limit`.
pub fn wait_for_exit(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Client {
    pub stream: TcpStream,
    decoder: FrameDecoder,
    next_id: u32,
    next_client_message_id: u64,
    /// Events that arrived while waiting for a reply.
    pub events: VecDeque<Event>,
}

impl Client {
    /// Connects and does the handshake.
    pub fn connect(addr: SocketAddr) -> Self {
        let mut client = Self::connect_raw(addr);
        client.write_frame(&ClientFrame::Hello(Hello {
            magic: MAGIC,
            version: PROTOCOL_VERSION,
        }));
        match client.read_frame() {
            Some(ServerFrame::Welcome { version, .. }) => assert_eq!(version, PROTOCOL_VERSION),
            other => panic!("expected Welcome, got {other:?}"),
        }
        client
    }

    /// Connects and does the handshake, or None if the server is not there (or dies meanwhile).
    pub fn try_connect(addr: SocketAddr) -> Option<Self> {
        let mut client = Self::from_stream(TcpStream::connect(addr).ok()?);
        let mut bytes = Vec::new();
        let hello = ClientFrame::Hello(Hello {
            magic: MAGIC,
            version: PROTOCOL_VERSION,
        });
        encode_frame(&hello, FRAME_BYTES_MAX, &mut bytes).expect("encodes");
        client.stream.write_all(&bytes).ok()?;
        match client.try_read_frame()? {
            ServerFrame::Welcome { .. } => Some(client),
            other => panic!("expected Welcome, got {other:?}"),
        }
    }

    /// The reply to `request`, skipping events, or None if the connection breaks first.
    pub fn try_request(&mut self, request: Request) -> Option<Reply> {
        let id = self.try_send_request(request).ok()?;
        loop {
            match self.try_read_frame()? {
                ServerFrame::Reply { id: got, reply } if got == id => return Some(reply),
                ServerFrame::Event(_) => {}
                other => panic!("expected reply {id}, got {other:?}"),
            }
        }
    }

    /// Connects without a handshake.
    pub fn connect_raw(addr: SocketAddr) -> Self {
        Self::from_stream(TcpStream::connect(addr).expect("connects"))
    }

    /// Connects from another loopback address (127.0.0.2, say), which the server counts as
    /// another address, and does the handshake.
    pub fn connect_from(source: std::net::Ipv4Addr, addr: SocketAddr) -> Self {
        let mut client = Self::from_stream(connect_from(source, addr));
        client.write_frame(&ClientFrame::Hello(Hello {
            magic: MAGIC,
            version: PROTOCOL_VERSION,
        }));
        match client.read_frame() {
            Some(ServerFrame::Welcome { .. }) => client,
            other => panic!("expected Welcome, got {other:?}"),
        }
    }

    fn from_stream(stream: TcpStream) -> Self {
        stream
            .set_read_timeout(Some(READ_TIMEOUT))
            .expect("timeout");
        stream.set_nodelay(true).expect("nodelay");
        Client {
            stream,
            decoder: FrameDecoder::new(FRAME_BYTES_MAX),
            next_id: 1,
            // Unique per sender, as the protocol asks: a random start for each client.
            next_client_message_id: {
                use std::hash::BuildHasher;
                (std::hash::RandomState::new().hash_one(0u8) >> 1).max(1)
            },
            events: VecDeque::new(),
        }
    }

    pub fn write_frame(&mut self, frame: &ClientFrame) {
        let mut bytes = Vec::new();
        encode_frame(frame, FRAME_BYTES_MAX, &mut bytes).expect("encodes");
        self.stream.write_all(&bytes).expect("writes");
    }

    /// The next frame, or None when the server closed the connection.
    pub fn read_frame(&mut self) -> Option<ServerFrame> {
        loop {
            if let Some(frame) = self.decoder.next_frame().expect("server frames decode") {
                return Some(frame);
            }
            let mut chunk = [0u8; 16 * 1024];
            match self.stream.read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => self.decoder.push(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return None,
                Err(e) => panic!("read failed: {e}"),
            }
        }
    }

    /// Sends a request and returns its id, or the error if the connection is gone.
    pub fn try_send_request(&mut self, request: Request) -> std::io::Result<u32> {
        let id = self.next_id;
        self.next_id += 1;
        let mut bytes = Vec::new();
        encode_frame(
            &ClientFrame::Request { id, request },
            FRAME_BYTES_MAX,
            &mut bytes,
        )
        .expect("encodes");
        self.stream.write_all(&bytes)?;
        Ok(id)
    }

    /// The next frame, or None when the connection is closed or broken in any way.
    pub fn try_read_frame(&mut self) -> Option<ServerFrame> {
        loop {
            if let Some(frame) = self.decoder.next_frame().ok()? {
                return Some(frame);
            }
            let mut chunk = [0u8; 16 * 1024];
            match self.stream.read(&mut chunk) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.decoder.push(&chunk[..n]),
            }
        }
    }

    /// Whether anything has arrived (or the connection ended) within `wait`, without taking it.
    pub fn anything_within(&mut self, wait: std::time::Duration) -> bool {
        if self.decoder.buffered_bytes() > 0 || !self.events.is_empty() {
            return true;
        }
        self.stream.set_read_timeout(Some(wait)).expect("timeout");
        let mut byte = [0u8; 1];
        let arrived = match self.stream.peek(&mut byte) {
            Ok(_) => true,
            Err(e) => !matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
        };
        self.stream
            .set_read_timeout(Some(READ_TIMEOUT))
            .expect("timeout");
        arrived
    }

    /// Sends a request and returns its id, without waiting.
    pub fn send_request(&mut self, request: Request) -> u32 {
        let id = self.next_id;
        self.next_id += 1;
        self.write_frame(&ClientFrame::Request { id, request });
        id
    }

    /// Waits for the reply to `id`, keeping events that arrive meanwhile.
    pub fn reply_to(&mut self, id: u32) -> Reply {
        loop {
            match self.read_frame() {
                Some(ServerFrame::Reply { id: got, reply }) => {
                    assert_eq!(got, id, "replies come in request order");
                    return reply;
                }
                Some(ServerFrame::Event(event)) => self.events.push_back(event),
                other => panic!("expected reply {id}, got {other:?}"),
            }
        }
    }

    pub fn request(&mut self, request: Request) -> Reply {
        let id = self.send_request(request);
        self.reply_to(id)
    }

    pub fn register(&mut self, name: &str) -> Reply {
        self.request(Request::Register {
            username: name.into(),
            password: PASSWORD.into(),
        })
    }

    pub fn log_in(&mut self, name: &str, password: &str) -> Reply {
        self.request(Request::LogIn {
            username: name.into(),
            password: password.into(),
        })
    }

    pub fn send_message_request(&mut self, to: &str, body: &str) -> u32 {
        let client_message_id = self.next_client_message_id;
        self.next_client_message_id += 1;
        self.send_request(Request::Send {
            client_message_id,
            to: WireRecipient::User(to.into()),
            body: body.into(),
        })
    }

    pub fn send(&mut self, to: &str, body: &str) -> Reply {
        let id = self.send_message_request(to, body);
        self.reply_to(id)
    }

    /// Sends to any recipient (a group, say) and returns the message id, failing the test on
    /// an error.
    pub fn send_ok_to(&mut self, to: WireRecipient, body: &str) -> u64 {
        let client_message_id = self.next_client_message_id;
        self.next_client_message_id += 1;
        match self.request(Request::Send {
            client_message_id,
            to: to.clone(),
            body: body.into(),
        }) {
            Reply::Sent { message_id, .. } => message_id,
            other => panic!("send to {to:?} failed: {other:?}"),
        }
    }

    /// Sends and returns the message id, failing the test on an error.
    pub fn send_ok(&mut self, to: &str, body: &str) -> u64 {
        match self.send(to, body) {
            Reply::Sent { message_id, .. } => message_id,
            other => panic!("send to {to} failed: {other:?}"),
        }
    }

    pub fn history(
        &mut self,
        with: &str,
        before: Option<u64>,
        limit: Option<u32>,
    ) -> chat_wire::HistoryPage {
        match self.request(Request::History {
            with: WireRecipient::User(with.into()),
            before,
            limit,
        }) {
            Reply::History(page) => page,
            other => panic!("history failed: {other:?}"),
        }
    }

    /// The whole conversation with `with`, oldest first, paging back until there is no more.
    pub fn all_history(&mut self, with: &str) -> Vec<WireMessage> {
        let mut pages = Vec::new();
        let mut before = None;
        loop {
            let page = self.history(with, before, Some(500));
            before = page.messages.first().map(|m| m.id);
            let more = page.has_more;
            pages.push(page.messages);
            if !more {
                break;
            }
        }
        pages.into_iter().rev().flatten().collect()
    }

    /// The next delivered message, waiting for it if none is queued.
    pub fn next_message(&mut self) -> WireMessage {
        loop {
            if let Some(event) = self.events.pop_front() {
                if let Event::Message(message) = event {
                    return message;
                }
                continue;
            }
            match self.read_frame() {
                Some(ServerFrame::Event(event)) => self.events.push_back(event),
                other => panic!("expected an event, got {other:?}"),
            }
        }
    }
}

/// A TCP connection to `addr` from `source` (std cannot bind before connecting).
fn connect_from(source: std::net::Ipv4Addr, addr: SocketAddr) -> TcpStream {
    use std::os::fd::FromRawFd;
    let SocketAddr::V4(addr) = addr else {
        panic!("an IPv4 server address");
    };
    let sockaddr = |ip: std::net::Ipv4Addr, port: u16| libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(ip).to_be(),
        },
        sin_zero: [0; 8],
    };
    let size = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: plain socket calls on a descriptor this function owns until it is handed to
    // TcpStream; each address is a valid sockaddr_in of the size given.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
        let local = sockaddr(source, 0);
        let bound = libc::bind(fd, (&raw const local).cast(), size);
        assert_eq!(bound, 0, "bind: {}", std::io::Error::last_os_error());
        let remote = sockaddr(*addr.ip(), addr.port());
        let connected = libc::connect(fd, (&raw const remote).cast(), size);
        assert_eq!(connected, 0, "connect: {}", std::io::Error::last_os_error());
        TcpStream::from_raw_fd(fd)
    }
}

/// A registered, logged-in client.
pub fn user(server: &ServerProcess, name: &str) -> Client {
    let mut client = server.client();
    assert_eq!(
        client.register(name),
        Reply::Registered {
            username: name.to_lowercase()
        }
    );
    client
}

pub fn error_code(reply: &Reply) -> &str {
    match reply {
        Reply::Error(ErrorBody { code, .. }) => code,
        other => panic!("expected an error, got {other:?}"),
    }
}

/// Runs a scenario once per store, each in its own server and data directory.
#[macro_export]
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod sled {
            $( #[test] fn $name() { super::$name("sled") } )*
        }
        mod sqlite {
            $( #[test] fn $name() { super::$name("sqlite") } )*
        }
    };
}
