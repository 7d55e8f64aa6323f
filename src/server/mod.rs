//! The event loop: one thread, one mio `Poll`, every socket non-blocking. It accepts, reads
//! until WouldBlock, cuts frames, hands requests to the domain rules, commits the turn's writes
//! once, then queues and writes the replies and deliveries. Password hashing runs on a small
//! pool and comes back through a `Waker`. Nothing on this thread blocks except `poll` itself.

pub mod abuse;
pub mod config;
mod connection;
mod groups;
mod hashing;
mod inbox;
mod requests;
mod web;

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chat_argon2::Argon2Hasher;
use chat_domain::recent_sends::RecentSends;
use chat_domain::{
    ClientMessageId, Password, PasswordHash, PasswordHasher, Retention, Store, Username,
};
use chat_wire::{ErrorBody, Reply, ServerFrame};
use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token, Waker};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook_mio::v1_0::Signals;

use self::abuse::Guards;
use self::config::Config;
use self::connection::{Connection, ReadOutcome, SharedFrame, Stream, WriteOutcome};
use self::hashing::HashPool;
use crate::data_lock::DataDirLock;
use crate::store::AnyStore;
use crate::tls::Transport;

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);
const SIGNALS: Token = Token(2);
const WEB_LISTENER: Token = Token(3);
const FIRST_CONNECTION: usize = 4;

/// The listen backlog: bursts of connections wait in the kernel rather than being refused.
const LISTEN_BACKLOG: i32 = 1024;
/// How often timeouts are checked; also the longest `poll` sleeps.
const TIMER_TICK: Duration = Duration::from_millis(250);
/// How often the abuse limits forget buckets that are full again.
const FORGET_EVERY: Duration = Duration::from_secs(10);
/// What one connection may do in one turn before the others get theirs: frames acted on, and
/// bytes read plus bytes of replies queued (a 20-byte history request that answers 64 KiB
/// spends the turn's bytes). Past either it waits in `ready` for the next turn.
const FRAMES_PER_TURN: usize = 64;
const BYTES_PER_TURN: usize = 64 * 1024;

macro_rules! log {
    ($($arg:tt)*) => { eprintln!("chat-server: {}", format_args!($($arg)*)) };
}
pub(crate) use log;

/// What must happen to a queued frame if the turn's commit fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OnCommitFailure {
    /// Nothing depends on the store: send it anyway.
    Send,
    /// An acknowledgement of a write: answer `storage_unavailable` instead.
    ReplyError(u32),
    /// A registration: answer `storage_unavailable` and log the connection out again.
    UndoRegistration(u32),
    /// A delivery of a message that was not stored: drop it.
    Drop,
}

/// What is queued for a connection: a frame to encode, or a delivery encoded once for its whole
/// audience (a fan-out to a thousand members encodes one frame, not a thousand).
enum Payload {
    Frame(ServerFrame),
    Delivery(Rc<SharedFrame>),
}

struct Outgoing {
    token: Token,
    /// What it adds to the connection's output, counted when it is queued.
    bytes: usize,
    payload: Payload,
    on_commit_failure: OnCommitFailure,
    /// Close the connection once this frame is written.
    then_close: bool,
}

/// The loop and everything it owns, over a `Store`: the adapter `--store` picks, or (in tests)
/// one wrapped to fail on cue.
pub struct Server<S = AnyStore> {
    poll: Poll,
    listener: Option<TcpListener>,
    local_addr: SocketAddr,
    /// The page and its WebSocket, with `--http`.
    web_listener: Option<TcpListener>,
    web_addr: Option<SocketAddr>,
    /// The origins whose pages may open the WebSocket: the web listener's own, and
    /// `--allow-origin`'s; fixed at start, never taken from a request.
    web_origins: Vec<String>,
    signals: Signals,
    connections: HashMap<Token, Connection>,
    /// The connections each logged-in user has open, for fan-out.
    sessions: HashMap<Username, Vec<Token>>,
    /// Connections that may have input to act on, in the order they get their turns: mio
    /// reports a socket once, so one whose turn ended before it was drained waits here.
    ready: VecDeque<Token>,
    /// Tokens are never reused, so a late event or hash result cannot reach a newer connection.
    next_token: usize,
    store: S,
    store_dirty: bool,
    pool: HashPool,
    /// Unknown names are verified against this, so they cost what a wrong password costs.
    dummy_hash: PasswordHash,
    outbox: Vec<Outgoing>,
    /// Connections with deliveries encoded but not yet written, oldest first. At most
    /// `delivery_writes_per_turn` of them are written each turn, so a fan-out to a thousand
    /// members is spread over turns and the replies of other clients go out in between.
    write_queue: VecDeque<Token>,
    config: Config,
    /// Rate limits and connection counts per user and address.
    guards: Guards,
    /// The client message ids each user sent lately: a repeat is answered with its original.
    recent_sends: RecentSends,
    /// The ids `recent_sends` learnt this turn: forgotten again if the turn's commit fails.
    numbers_this_turn: Vec<(Username, ClientMessageId)>,
    /// The epoch of the abuse limits' clock.
    started: Instant,
    now: Instant,
    next_timer_check: Instant,
    next_forget: Instant,
    /// Password jobs skipped as of the last log line about them.
    hash_jobs_skipped_logged: u64,
    shutdown_deadline: Option<Instant>,
    /// Held for the server's life once `start` took it (tests that bring their own store
    /// take none).
    data_lock: Option<DataDirLock>,
}

/// Why the server could not start.
#[derive(Debug)]
pub struct StartError(pub String);

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Server {
    /// Locks the data directory, binds the listeners, and only then opens the store (wiping it
    /// unless `keep_data`): a server that cannot start touches no data, and a second server on
    /// the same directory stops before anything else.
    pub fn start(config: Config) -> Result<Self, StartError> {
        let cannot_open = |detail: String| {
            StartError(format!(
                "cannot open the {} store in {}: {detail}",
                config.store,
                config.data_dir.display()
            ))
        };
        let data_lock =
            DataDirLock::acquire(&config.data_dir).map_err(|e| cannot_open(e.to_string()))?;
        let listeners = Listeners::bind(&config)?;
        let retention = if config.keep_data {
            Retention::Keep
        } else {
            Retention::Wipe
        };
        let open_store = |config: &Config| {
            let store = crate::store::open(config.store, &config.data_dir, retention)
                .map_err(|e| cannot_open(e.detail().to_string()))?;
            log_what_happened_to_the_data(config, &store, retention);
            Ok(store)
        };
        let mut server = Server::start_with_listeners(config.clone(), listeners, open_store)?;
        server.data_lock = Some(data_lock);
        Ok(server)
    }
}

/// The start line about the data: wiped, or kept with how much it holds.
fn log_what_happened_to_the_data(config: &Config, store: &AnyStore, retention: Retention) {
    let dir = config.data_dir.display();
    match (retention, store.counts()) {
        (Retention::Wipe, _) => log!("wiped the store in {dir} (pass --keep-data to keep it)"),
        (Retention::Keep, Ok((users, messages))) => {
            log!("kept {users} users and {messages} messages from {dir}")
        }
        (Retention::Keep, Err(e)) => {
            log!("kept the store in {dir} (cannot count it: {})", e.detail())
        }
    }
}

/// The origins whose pages may open the WebSocket, said once at start.
fn web_origins(config: &Config, web_addr: Option<SocketAddr>) -> Vec<String> {
    let (Some(web), Some(addr)) = (&config.web, web_addr) else {
        return Vec::new();
    };
    let mut origins = chat_web::http::own_origins(addr);
    origins.extend(web.allowed_origins.iter().cloned());
    log!(
        "the page's WebSocket accepts pages from {} (--allow-origin adds others)",
        origins.join(", ")
    );
    origins
}

/// The listening sockets, bound before the store is opened.
pub struct Listeners {
    chat: TcpListener,
    web: Option<TcpListener>,
}

impl Listeners {
    pub fn bind(config: &Config) -> Result<Self, StartError> {
        let bind = |addr: SocketAddr| {
            let listener = TcpListener::bind(addr)
                .map_err(|e| StartError(format!("cannot listen on {addr}: {e}")))?;
            raise_backlog(&listener);
            Ok(listener)
        };
        Ok(Listeners {
            chat: bind(config.listen)?,
            web: config
                .web
                .as_ref()
                .map(|web| bind(web.listen))
                .transpose()?,
        })
    }
}

impl<S: Store> Server<S> {
    /// Binds the listeners and starts over `store` (in tests, one that fails on cue).
    pub fn start_with_store(config: Config, store: S) -> Result<Self, StartError> {
        let listeners = Listeners::bind(&config)?;
        Self::start_with_listeners(config, listeners, |_| Ok(store))
    }

    /// Starts the hashing pool and registers the listeners, and only then opens the store with
    /// `open_store`: a server that fails to start before it has touched no data. `run` then
    /// serves.
    fn start_with_listeners(
        config: Config,
        listeners: Listeners,
        open_store: impl FnOnce(&Config) -> Result<S, StartError>,
    ) -> Result<Self, StartError> {
        let hasher = Argon2Hasher::with_cost(config.hashing.memory_kib, config.hashing.passes, 1)
            .map_err(|e| StartError(format!("bad hashing cost: {}", e.0)))?;
        let dummy_password = Password::new("no such user, no such password".into())
            .map_err(|e| StartError(e.to_string()))?;
        // On a thread of its own, which takes its argon2 memory with it when it ends: the loop
        // thread keeps none.
        let dummy_hash = std::thread::scope(|scope| {
            scope
                .spawn(|| hasher.hash(&dummy_password))
                .join()
                .unwrap_or_else(|_| Err(chat_domain::HashError("the hash panicked".into())))
        })
        .map_err(|e| StartError(e.0))?;
        fn io_error(what: &str) -> impl Fn(io::Error) -> StartError + '_ {
            move |e| StartError(format!("{what}: {e}"))
        }
        let poll = Poll::new().map_err(io_error("cannot create poll"))?;
        let waker =
            Arc::new(Waker::new(poll.registry(), WAKER).map_err(io_error("cannot create waker"))?);
        let pool = HashPool::start(
            Arc::new(hasher),
            config.hashing.threads,
            config.hashing.queue_max,
            waker,
        )
        .map_err(io_error("cannot start hashing threads"))?;
        raise_open_files_limit(config.limits.connections_max);
        let Listeners {
            chat: mut listener,
            web: mut web_listener,
        } = listeners;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)
            .map_err(io_error("cannot register listener"))?;
        let local_addr = listener
            .local_addr()
            .map_err(io_error("no local address"))?;
        let web_addr = match &mut web_listener {
            None => None,
            Some(web_listener) => {
                poll.registry()
                    .register(web_listener, WEB_LISTENER, Interest::READABLE)
                    .map_err(io_error("cannot register the web listener"))?;
                Some(
                    web_listener
                        .local_addr()
                        .map_err(io_error("no local address"))?,
                )
            }
        };
        let web_origins = web_origins(&config, web_addr);
        let mut signals =
            Signals::new([SIGINT, SIGTERM]).map_err(io_error("cannot handle signals"))?;
        poll.registry()
            .register(&mut signals, SIGNALS, Interest::READABLE)
            .map_err(io_error("cannot register signals"))?;
        let store = open_store(&config)?;
        let now = Instant::now();
        Ok(Server {
            poll,
            listener: Some(listener),
            local_addr,
            web_listener,
            web_addr,
            web_origins,
            signals,
            connections: HashMap::new(),
            sessions: HashMap::new(),
            ready: VecDeque::new(),
            next_token: FIRST_CONNECTION,
            store,
            store_dirty: false,
            pool,
            dummy_hash,
            outbox: Vec::new(),
            write_queue: VecDeque::new(),
            guards: Guards::new(&config.limits.abuse),
            recent_sends: RecentSends::default(),
            numbers_this_turn: Vec::new(),
            config,
            started: now,
            now,
            next_timer_check: now + TIMER_TICK,
            next_forget: now + FORGET_EVERY,
            hash_jobs_skipped_logged: 0,
            shutdown_deadline: None,
            data_lock: None,
        })
    }

    /// Turns a newcomer away: with a frame saying why over plain TCP, an HTTP 503 to a
    /// browser, by closing under TLS.
    fn refuse(&self, web: bool, socket: &mut mio::net::TcpStream, code: &str, message: &str) {
        if web {
            let _ = io::Write::write(socket, &chat_web::http::unavailable(code, message));
        } else if self.config.tls.is_none() {
            refuse(socket, code, message);
        }
    }

    /// This turn's time as the abuse limits count it.
    fn since_start(&self) -> Duration {
        self.now.duration_since(self.started)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Where the page is served, with `--http`.
    pub fn web_addr(&self) -> Option<SocketAddr> {
        self.web_addr
    }

    /// Serves until SIGINT or SIGTERM, then drains and returns. A second signal exits at once.
    pub fn run(mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        loop {
            // Input still to act on or deliveries to write: look for new events, but do not
            // sleep.
            let timeout = if self.write_queue.is_empty() && self.ready.is_empty() {
                TIMER_TICK
            } else {
                Duration::ZERO
            };
            match self.poll.poll(&mut events, Some(timeout)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            self.now = Instant::now();
            for event in events.iter() {
                match event.token() {
                    LISTENER => self.accept_all(false),
                    WEB_LISTENER => self.accept_all(true),
                    WAKER => {}
                    SIGNALS => self.on_signals(),
                    token => {
                        if event.is_writable() {
                            self.flush(token);
                        }
                        if event.is_error() || event.is_write_closed() {
                            self.on_peer_gone(token);
                        } else if event.is_read_closed() {
                            self.on_peer_shut(token);
                        }
                        if event.is_readable() || event.is_read_closed() || event.is_error() {
                            self.mark_ready(token);
                        }
                    }
                }
            }
            // Collected every turn, not only on the waker's event: wake-ups may coalesce.
            self.collect_hash_results();
            self.serve_ready();
            self.end_turn();
            self.write_deliveries();
            if self.now >= self.next_timer_check {
                self.check_timers();
                self.end_turn();
                self.next_timer_check = self.now + TIMER_TICK;
            }
            if self
                .shutdown_deadline
                .is_some_and(|deadline| self.connections.is_empty() || self.now >= deadline)
            {
                if let Err(e) = self.store.commit() {
                    log!("final commit failed: {}", e.detail());
                }
                log!("stopped");
                return Ok(());
            }
        }
    }

    /// Accepts every waiting connection on the chat listener or, with `web`, the web one.
    fn accept_all(&mut self, web: bool) {
        loop {
            let listener = if web {
                &self.web_listener
            } else {
                &self.listener
            };
            let Some(listener) = listener else {
                return;
            };
            match listener.accept() {
                Ok((mut socket, peer)) => {
                    if self.connections.len() >= self.config.limits.connections_max {
                        self.refuse(
                            web,
                            &mut socket,
                            "server_full",
                            "The server has too many connections; try again later.",
                        );
                        continue;
                    }
                    if !self.guards.connection_opened(peer.ip()) {
                        self.refuse(
                            web,
                            &mut socket,
                            "too_many_connections",
                            "Your address has too many connections open; close one first.",
                        );
                        continue;
                    }
                    let tls = match self
                        .config
                        .tls
                        .as_ref()
                        .filter(|_| !web)
                        .map(|tls| crate::tls::server_connection(std::sync::Arc::clone(tls)))
                    {
                        None => None,
                        Some(Ok(tls)) => Some(tls),
                        Some(Err(e)) => {
                            log!("{peer}: {e}");
                            self.guards.connection_closed(peer.ip());
                            continue;
                        }
                    };
                    // Replies are small and latency matters: never wait on Nagle's algorithm.
                    if let Err(e) = socket.set_nodelay(true) {
                        log!("{peer}: cannot set TCP_NODELAY: {e}");
                    }
                    let token = Token(self.next_token);
                    self.next_token += 1;
                    if let Err(e) = self.poll.registry().register(
                        &mut socket,
                        token,
                        Interest::READABLE | Interest::WRITABLE,
                    ) {
                        log!("{peer}: cannot register: {e}");
                        self.guards.connection_closed(peer.ip());
                        continue;
                    }
                    let stream = if web {
                        Stream::Web(web::WebStream::new(socket))
                    } else {
                        Stream::Frames(Transport::new(socket, tls))
                    };
                    let connection =
                        Connection::new(stream, peer, self.config.limits.frame_bytes_max, self.now);
                    self.connections.insert(token, connection);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // Out of file descriptors, say: try again on the next connection's event.
                    log!("accept failed: {e}");
                    return;
                }
            }
        }
    }

    fn on_signals(&mut self) {
        let count = self.signals.pending().count();
        if count == 0 {
            return;
        }
        if self.shutdown_deadline.is_some() || count > 1 {
            log!("second signal: exiting now");
            std::process::exit(130);
        }
        log!("shutting down");
        for mut listener in [self.listener.take(), self.web_listener.take()]
            .into_iter()
            .flatten()
        {
            let _ = self.poll.registry().deregister(&mut listener);
        }
        let tokens: Vec<Token> = self.connections.keys().copied().collect();
        for token in tokens {
            self.close_with(token, "server_shutdown", "The server is shutting down.");
        }
        self.shutdown_deadline = Some(self.now + self.config.limits.shutdown_grace);
    }

    /// The connection is broken (a reset, or both sides shut). One waiting for its password
    /// check is closed now, which cancels the check; the others find out when they are served.
    fn on_peer_gone(&mut self, token: Token) {
        if self
            .connections
            .get(&token)
            .is_some_and(Connection::hashing)
        {
            self.close(token, "gone while its password was checked");
        }
    }

    /// The peer shut its sending side. Closed, or only half-closed (a script may still read
    /// its answers)? While its password check waits, find out: a ping to a closed socket
    /// brings back a reset, and `on_peer_gone`.
    fn on_peer_shut(&mut self, token: Token) {
        if let Some(connection) = self.connections.get_mut(&token)
            && connection.hashing()
            && !std::mem::replace(&mut connection.probed, true)
        {
            let ping = ServerFrame::Event(chat_wire::Event::Ping);
            self.queue(token, ping, OnCommitFailure::Send);
        }
    }

    /// Puts a connection in line for a turn, once.
    fn mark_ready(&mut self, token: Token) {
        if let Some(connection) = self.connections.get_mut(&token)
            && !std::mem::replace(&mut connection.in_ready, true)
        {
            self.ready.push_back(token);
        }
    }

    /// Gives every connection that was in line when the turn began one turn's budget, in
    /// order; those that still have input line up again behind the rest.
    fn serve_ready(&mut self) {
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

    /// Output past this mark pauses reading a connection: its own replies then overshoot by
    /// one reply at most, and the rest of the cap is room for deliveries.
    fn read_pause_bytes(&self) -> usize {
        self.config.limits.unsent_bytes_max / 2
    }

    /// One turn of a connection: acts on its whole frames and reads more when none is left,
    /// within `FRAMES_PER_TURN` and `BYTES_PER_TURN`. It stops early while a password check
    /// runs (the result lines it up again), while its output is over the read-pause mark
    /// (writing it out lines it up again), and once it is closing.
    fn serve(&mut self, token: Token) {
        let (mut frames_left, mut bytes_left) = (FRAMES_PER_TURN, BYTES_PER_TURN);
        let read_pause_bytes = self.read_pause_bytes();
        loop {
            let Some(connection) = self.connections.get_mut(&token) else {
                return;
            };
            if !connection.accepts_frames() {
                return;
            }
            if connection.pending_output() >= read_pause_bytes {
                connection.output_paused = true;
                return;
            }
            if frames_left == 0 || bytes_left == 0 {
                self.mark_ready(token);
                return;
            }
            match connection.next_frame() {
                Ok(Some(frame)) => {
                    connection.partial_since = None;
                    connection.last_heard = self.now;
                    connection.pinged = false;
                    let queued_before = connection.queued_bytes;
                    self.handle_frame(token, frame);
                    let replied = self
                        .connections
                        .get(&token)
                        .map_or(0, |c| c.queued_bytes.saturating_sub(queued_before));
                    frames_left -= 1;
                    bytes_left = bytes_left.saturating_sub(replied);
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
            match connection.read_chunk() {
                ReadOutcome::Read(n) => {
                    bytes_left = bytes_left.saturating_sub(n);
                    if connection.web_mut().is_some_and(|web| web.head().is_some()) {
                        self.answer_http(token);
                    }
                }
                ReadOutcome::Control(n) => {
                    frames_left -= 1;
                    bytes_left = bytes_left.saturating_sub(n);
                }
                ReadOutcome::Drained => {
                    // What is left is the start of a frame: it has `frame_timeout` to finish.
                    if connection.has_partial_frame() {
                        connection.partial_since.get_or_insert(self.now);
                    } else {
                        connection.partial_since = None;
                    }
                    return;
                }
                ReadOutcome::Closed(reason) => {
                    connection.read_closed = true;
                    log!("{}: {reason}", connection.peer);
                    // Go on to act on what was sent before the close.
                }
            }
        }
    }

    /// The peer closed its side and every frame it sent has been acted on: close once the
    /// replies are out.
    fn finish_reading(&mut self, token: Token) {
        if let Some(connection) = self.connections.get_mut(&token) {
            connection.closing_since.get_or_insert(self.now);
        }
        if !self.outbox.iter().any(|o| o.token == token) {
            self.flush(token);
        }
    }

    /// Adds `outgoing` to the turn's outbox, charging its bytes to its connection at once.
    fn push_outgoing(&mut self, outgoing: Outgoing) {
        if let Some(connection) = self.connections.get_mut(&outgoing.token) {
            connection.queued_bytes += outgoing.bytes;
        }
        self.outbox.push(outgoing);
    }

    /// Queues `frame`, then closes the connection once it is written; acts on nothing more.
    fn queue_then_close(&mut self, token: Token, frame: ServerFrame) {
        self.push_outgoing(Outgoing {
            token,
            bytes: chat_wire::frame_bytes(&frame),
            payload: Payload::Frame(frame),
            on_commit_failure: OnCommitFailure::Send,
            then_close: true,
        });
        if let Some(connection) = self.connections.get_mut(&token) {
            connection.closing_since.get_or_insert(self.now);
        }
    }

    fn queue(&mut self, token: Token, frame: ServerFrame, on_commit_failure: OnCommitFailure) {
        self.push_outgoing(Outgoing {
            token,
            bytes: chat_wire::frame_bytes(&frame),
            payload: Payload::Frame(frame),
            on_commit_failure,
            then_close: false,
        });
    }

    fn reply(&mut self, token: Token, id: u32, reply: Reply) {
        self.queue(
            token,
            ServerFrame::Reply { id, reply },
            OnCommitFailure::Send,
        );
    }

    /// A reply that shows what the store holds: if this turn's commit fails, what it read may
    /// be undone, so it becomes `storage_unavailable` like the writes.
    fn reply_read(&mut self, token: Token, id: u32, reply: Reply) {
        self.queue(
            token,
            ServerFrame::Reply { id, reply },
            OnCommitFailure::ReplyError(id),
        );
    }

    fn reply_error(&mut self, token: Token, id: u32, code: &str, message: impl Into<String>) {
        self.reply(token, id, Reply::Error(ErrorBody::new(code, message)));
    }

    /// Sends `Closing` after whatever is already queued, acts on nothing more from this
    /// connection, and closes it once the frame is written (or the grace time runs out).
    fn close_with(&mut self, token: Token, code: &str, message: &str) {
        let Some(connection) = self.connections.get_mut(&token) else {
            return;
        };
        if connection.closing_since.is_some() {
            return;
        }
        log!("{}: closing: {code}: {message}", connection.peer);
        self.queue_then_close(token, ServerFrame::Closing(ErrorBody::new(code, message)));
    }

    /// Commits the turn's writes once, then queues every frame the turn produced and writes
    /// what the sockets take. No acknowledgement leaves before the write it acknowledges is
    /// committed.
    fn end_turn(&mut self) {
        if self.outbox.is_empty() && !self.store_dirty {
            return;
        }
        let committed = if self.store_dirty {
            self.store_dirty = false;
            self.store.commit()
        } else {
            Ok(())
        };
        if let Err(e) = &committed {
            log!("commit failed: {}", e.detail());
            for (sender, number) in &self.numbers_this_turn {
                self.recent_sends.forget(sender, *number);
            }
        }
        self.numbers_this_turn.clear();
        let (frame_bytes_max, unsent_bytes_max) = (
            self.config.limits.frame_bytes_max,
            self.config.limits.unsent_bytes_max,
        );
        let mut touched = Vec::new();
        let mut overflowing = Vec::new();
        for outgoing in std::mem::take(&mut self.outbox) {
            // Whatever becomes of the frame, it leaves the outbox: so does its charge.
            if let Some(connection) = self.connections.get_mut(&outgoing.token) {
                connection.queued_bytes = connection.queued_bytes.saturating_sub(outgoing.bytes);
            }
            let payload = match (&committed, outgoing.on_commit_failure) {
                (Ok(()), _) | (Err(_), OnCommitFailure::Send) => outgoing.payload,
                (Err(e), OnCommitFailure::ReplyError(id)) => Payload::Frame(ServerFrame::Reply {
                    id,
                    reply: Reply::Error(ErrorBody::from_error(e)),
                }),
                (Err(e), OnCommitFailure::UndoRegistration(id)) => {
                    self.log_out(outgoing.token);
                    Payload::Frame(ServerFrame::Reply {
                        id,
                        reply: Reply::Error(ErrorBody::from_error(e)),
                    })
                }
                (Err(_), OnCommitFailure::Drop) => continue,
            };
            let Some(connection) = self.connections.get_mut(&outgoing.token) else {
                continue;
            };
            if overflowing
                .iter()
                .any(|(token, _)| *token == outgoing.token)
            {
                continue;
            }
            let queued = match &payload {
                Payload::Frame(frame) => connection.queue(frame, frame_bytes_max, unsent_bytes_max),
                Payload::Delivery(shared) => {
                    // What waits in the write queue is not a slow reader's backlog: before it
                    // counts against the limit, give the socket what it will take now.
                    if connection.unsent_bytes() + shared.bytes.len() > unsent_bytes_max
                        && let WriteOutcome::Failed(reason) = connection.write_out()
                    {
                        overflowing.push((outgoing.token, reason));
                        continue;
                    }
                    connection.queue_shared(shared, unsent_bytes_max)
                }
            };
            if let Err(reason) = queued {
                overflowing.push((outgoing.token, reason));
                continue;
            }
            if outgoing.then_close {
                connection.closing_since.get_or_insert(self.now);
            }
            match payload {
                // Deliveries wait their turn in the write queue.
                Payload::Delivery(_) => {
                    if !std::mem::replace(&mut connection.write_queued, true) {
                        self.write_queue.push_back(outgoing.token);
                    }
                }
                Payload::Frame(_) => {
                    if touched.last() != Some(&outgoing.token) {
                        touched.push(outgoing.token);
                    }
                }
            }
        }
        for (token, reason) in overflowing {
            self.close(token, &reason);
        }
        for token in touched {
            self.flush(token);
        }
    }

    /// Writes the deliveries of at most `delivery_writes_per_turn` connections, oldest first.
    fn write_deliveries(&mut self) {
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

    /// Writes what a connection has queued; closes it if that was its last frame.
    fn flush(&mut self, token: Token) {
        let read_pause_bytes = self.read_pause_bytes();
        let Some(connection) = self.connections.get_mut(&token) else {
            return;
        };
        match connection.write_out() {
            WriteOutcome::Done if connection.closing_since.is_some() && !connection.hashing() => {
                self.close(token, "closed after its last frame");
            }
            WriteOutcome::Done | WriteOutcome::Pending => {
                if connection.output_paused && connection.pending_output() < read_pause_bytes {
                    connection.output_paused = false;
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

    /// Drops a connection at once.
    fn close(&mut self, token: Token, reason: &str) {
        self.log_out(token);
        if let Some(mut connection) = self.connections.remove(&token) {
            if let Some(job) = connection.hash_job.take() {
                job.cancel();
            }
            connection.close_stream();
            if let Some(socket) = connection.socket_mut() {
                let _ = self.poll.registry().deregister(socket);
            }
            self.guards.connection_closed(connection.peer.ip());
            if !reason.starts_with("closed") {
                log!("{}: disconnected: {reason}", connection.peer);
            }
        }
    }

    fn log_in(&mut self, token: Token, user: Username) {
        if let Some(connection) = self.connections.get_mut(&token) {
            connection.phase = connection::Phase::LoggedIn(user.clone());
            self.sessions.entry(user).or_default().push(token);
        }
    }

    fn log_out(&mut self, token: Token) {
        let Some(connection) = self.connections.get_mut(&token) else {
            return;
        };
        let connection::Phase::LoggedIn(user) =
            std::mem::replace(&mut connection.phase, connection::Phase::LoggedOut)
        else {
            return;
        };
        if let Some(tokens) = self.sessions.get_mut(&user) {
            tokens.retain(|t| *t != token);
            if tokens.is_empty() {
                self.sessions.remove(&user);
            }
        }
    }

    /// Closes connections past their deadlines and pings quiet ones.
    fn check_timers(&mut self) {
        let limits = self.config.limits.clone();
        let now = self.now;
        let mut expired = Vec::new();
        let mut to_ping = Vec::new();
        let mut overdue = Vec::new();
        if now >= self.next_forget {
            let since_start = self.since_start();
            self.guards.forget_full(since_start);
            self.recent_sends.forget_old(jiff::Timestamp::now());
            self.next_forget = now + FORGET_EVERY;
        }
        let read_pause_bytes = self.read_pause_bytes();
        let mut stalled = Vec::new();
        for (token, connection) in &mut self.connections {
            if connection.pending_output() < read_pause_bytes {
                connection.stalled_since = None;
            } else if now.duration_since(*connection.stalled_since.get_or_insert(now))
                > limits.stalled_reader_timeout
            {
                stalled.push(*token);
                continue;
            }
            if let Some(since) = connection.closing_since {
                if now.duration_since(since) > limits.close_grace {
                    overdue.push(*token);
                }
                continue;
            }
            // Whole frames waiting behind a password check, or unread while the output drains,
            // are not a trickle.
            if !connection.hashing()
                && !connection.output_paused
                && connection
                    .partial_since
                    .is_some_and(|since| now.duration_since(since) > limits.frame_timeout)
            {
                expired.push((*token, "frame_timeout", "A frame took too long to arrive."));
                continue;
            }
            let age = now.duration_since(connection.opened_at);
            let quiet = now.duration_since(connection.last_heard);
            match connection.phase {
                connection::Phase::AwaitingHello if age > limits.handshake_timeout => {
                    expired.push((
                        *token,
                        "handshake_timeout",
                        "No Hello within the time allowed.",
                    ));
                }
                connection::Phase::LoggedOut
                    if age > limits.login_timeout && !connection.hashing() =>
                {
                    expired.push((
                        *token,
                        "login_timeout",
                        "No log-in within the time allowed.",
                    ));
                }
                _ if quiet > limits.idle_ping_after + limits.idle_close_after => {
                    expired.push((*token, "idle_timeout", "No answer to the server's ping."));
                }
                _ if quiet > limits.idle_ping_after && !connection.pinged => {
                    connection.pinged = true;
                    to_ping.push(*token);
                }
                _ => {}
            }
        }
        for token in overdue {
            self.close(token, "its last frames were not read in time");
        }
        for token in stalled {
            let reason = format!(
                "it read none of its replies for {} s: over {read_pause_bytes} bytes stayed unsent",
                limits.stalled_reader_timeout.as_secs()
            );
            self.close(token, &reason);
        }
        self.log_skipped_hash_jobs();
        for (token, code, message) in expired {
            self.close_with(token, code, message);
        }
        for token in to_ping {
            self.queue(
                token,
                ServerFrame::Event(chat_wire::Event::Ping),
                OnCommitFailure::Send,
            );
        }
    }
}

impl<S: Store> Server<S> {
    /// Says how many password checks were dropped since the last time, if any were.
    fn log_skipped_hash_jobs(&mut self) {
        let skipped = self.pool.skipped();
        if skipped > self.hash_jobs_skipped_logged {
            log!(
                "dropped {} queued password checks of connections that closed ({skipped} in all)",
                skipped - self.hash_jobs_skipped_logged
            );
            self.hash_jobs_skipped_logged = skipped;
        }
    }
}

/// Raises the listen backlog from mio's 128 to `LISTEN_BACKLOG`. Calling listen again on a
/// listening socket updates its backlog on Linux; the kernel still caps it at somaxconn.
fn raise_backlog(listener: &TcpListener) {
    // SAFETY: the descriptor is a valid listening socket owned by `listener` for this call.
    let result = unsafe { libc::listen(listener.as_raw_fd(), LISTEN_BACKLOG) };
    if result != 0 {
        log!(
            "cannot raise the listen backlog: {}",
            io::Error::last_os_error()
        );
    }
}

/// Raises the limit on open files so `connections_max` connections fit (a shell's default soft
/// limit of 1,024 would refuse connections long before 10,000); says so if it cannot.
fn raise_open_files_limit(connections_max: usize) {
    // Sockets, plus the store's files, the poll, the signal pipe and stdio.
    let wanted = u64::try_from(connections_max)
        .unwrap_or(u64::MAX)
        .saturating_add(64);
    let now = crate::open_files::raise_limit(wanted);
    if now < wanted {
        log!("open files are limited to {now}: fewer than {connections_max} connections fit");
    }
}

/// Tells a plain connection it cannot be served, without waiting: one non-blocking write, then
/// close. (Under TLS it is closed without a word: a frame needs the handshake first.)
fn refuse(socket: &mut mio::net::TcpStream, code: &str, message: &str) {
    let mut bytes = Vec::new();
    let frame = ServerFrame::Closing(ErrorBody::new(code, message));
    if chat_wire::encode_frame(&frame, chat_wire::FRAME_BYTES_MAX, &mut bytes).is_ok() {
        let _ = io::Write::write(socket, &bytes);
    }
}
