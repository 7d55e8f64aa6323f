//! The event loop: one thread, one mio `Poll`, every socket non-blocking, and the only thread
//! that touches a socket. It accepts, reads, cuts frames and hands them, once a turn, to the
//! core's thread (`core_thread`), which applies them to the store, commits once and sends the
//! effects back through a `Waker`; the loop writes them. Nothing on this thread blocks but
//! `poll` itself: not a password hash, not a commit, not an fsync.

pub mod config;
mod connection;
mod core_thread;
mod framed;
mod hashing;
mod quiet;
mod reading;
mod timers;
mod transport;
mod web;
mod writing;

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chat_argon2::Argon2Hasher;
use chat_domain::{Retention, Store};

use self::core_thread::CoreThread;
use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token, Waker};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook_mio::v1_0::Signals;

use self::config::Config;
use self::connection::Connection;
use self::framed::FramedStream;
use self::quiet::Quiet;
use self::transport::{ClientStream, OutputLimits};
use self::web::{WebSettings, WebStream};
use crate::core::abuse::OpenConnections;
use crate::core::{Clock, ConnId, Core, Input, Settings};
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

macro_rules! log {
    ($($arg:tt)*) => { eprintln!("chat-server: {}", format_args!($($arg)*)) };
}
pub(crate) use log;

/// The loop and everything it owns, and the core's thread it feeds (over the store `--store`
/// picks, or in tests one wrapped to fail on cue).
pub struct Server {
    poll: Poll,
    listener: Option<TcpListener>,
    local_addr: SocketAddr,
    /// The page and its WebSocket, with `--http`.
    web_listener: Option<TcpListener>,
    web_addr: Option<SocketAddr>,
    /// What every browser's connection is served with: the origins whose pages may open the
    /// WebSocket (the web listener's own, and `--allow-origin`'s), its limits.
    web_settings: Arc<WebSettings>,
    signals: Signals,
    /// Boxed: a map's free slots are as big as its values, and a busy map is up to half free.
    connections: HashMap<Token, Box<Connection>>,
    open_per_address: OpenConnections,
    /// Connections that may have input to act on, in the order they get their turns: mio
    /// reports a socket once, so one whose turn ended before it was drained waits here.
    ready: VecDeque<Token>,
    /// When the loop last read anything: it gives freed memory back once quiet.
    quiet: Quiet,
    /// Tokens are never reused, so a late effect or hash result cannot reach a newer
    /// connection.
    next_token: usize,
    core: CoreThread,
    /// What this turn hands the core.
    inputs: Vec<Input>,
    /// What the core holds of what the loop handed it, all connections together: each frame's
    /// decoded size until it is answered, and each other input's until its batch is applied.
    /// Past `IN_FLIGHT_BYTES_MAX` nobody is read and nobody is accepted.
    in_flight_bytes: usize,
    /// Bytes the core may still hold for connections that closed (frames it will drop unanswered
    /// once it applies their batch): released when the next batch handed over is applied.
    released_after_next_batch: usize,
    /// A listener (chat, web) has connections waiting that were not accepted while the core
    /// held its limit: accepted once it makes room (a listener is reported once per arrival).
    accept_waiting: [bool; 2],
    /// Connections with deliveries encoded but not yet written, oldest first. At most
    /// `delivery_writes_per_turn` of them are written each turn, so a fan-out to a thousand
    /// members is spread over turns and the replies of other clients go out in between.
    write_queue: VecDeque<Token>,
    config: Config,
    /// The epoch of the core's clock.
    started: Instant,
    now: Instant,
    next_timer_check: Instant,
    shutdown_deadline: Option<Instant>,
    /// Why the server stops on its own (a failed commit): `run` returns it as an error.
    failure: Option<String>,
    /// Held for the server's life once `start` took it (tests that bring their own store
    /// take none). Declared after `core`, so the store closes before the lock goes.
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

impl Server {
    /// Binds the listeners and starts over `store` (in tests, one that fails on cue).
    pub fn start_with_store<S: Store + Send + 'static>(
        config: Config,
        store: S,
    ) -> Result<Self, StartError> {
        let listeners = Listeners::bind(&config)?;
        Self::start_with_listeners(config, listeners, |_| Ok(store))
    }

    /// Starts the hashing pool and registers the listeners, and only then opens the store with
    /// `open_store`: a server that fails to start before it has touched no data. `run` then
    /// serves.
    fn start_with_listeners<S: Store + Send + 'static>(
        config: Config,
        listeners: Listeners,
        open_store: impl FnOnce(&Config) -> Result<S, StartError>,
    ) -> Result<Self, StartError> {
        let hasher = Argon2Hasher::with_cost(config.hashing.memory_kib, config.hashing.passes, 1)
            .map_err(|e| StartError(format!("bad hashing cost: {}", e.0)))?;
        // What an unknown name's log-in is checked against, at the same cost as a real one.
        let dummy_hash = hasher
            .unmatchable_hash()
            .map_err(|e| StartError(format!("cannot make the dummy hash: {}", e.0)))?;
        fn io_error(what: &str) -> impl Fn(io::Error) -> StartError + '_ {
            move |e| StartError(format!("{what}: {e}"))
        }
        let poll = Poll::new().map_err(io_error("cannot create poll"))?;
        let waker =
            Arc::new(Waker::new(poll.registry(), WAKER).map_err(io_error("cannot create waker"))?);
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
        let web_settings = Arc::new(WebSettings::new(
            web_origins(&config, web_addr),
            output_limits(&config),
        ));
        let mut signals =
            Signals::new([SIGINT, SIGTERM]).map_err(io_error("cannot handle signals"))?;
        poll.registry()
            .register(&mut signals, SIGNALS, Interest::READABLE)
            .map_err(io_error("cannot register signals"))?;
        let store = open_store(&config)?;
        let limits = &config.limits;
        let settings = Settings {
            frame_bytes_max: limits.frame_bytes_max,
            history: limits.history,
            groups: limits.groups,
            abuse: limits.abuse.clone(),
            handshake_timeout: limits.handshake_timeout,
            login_timeout: limits.login_timeout,
        };
        let core = CoreThread::start(
            Core::new(store, settings, dummy_hash),
            Arc::new(hasher),
            &config.hashing,
            config.release_freed_memory,
            waker,
        )
        .map_err(io_error("cannot start the core's and the hashing threads"))?;
        let now = Instant::now();
        Ok(Server {
            poll,
            listener: Some(listener),
            local_addr,
            web_listener,
            web_addr,
            web_settings,
            signals,
            connections: HashMap::new(),
            open_per_address: OpenConnections::new(limits.abuse.connections_per_address),
            ready: VecDeque::new(),
            quiet: Quiet::new(config.release_freed_memory),
            next_token: FIRST_CONNECTION,
            core,
            inputs: Vec::new(),
            in_flight_bytes: 0,
            released_after_next_batch: 0,
            accept_waiting: [false; 2],
            write_queue: VecDeque::new(),
            config,
            started: now,
            now,
            next_timer_check: now + TIMER_TICK,
            shutdown_deadline: None,
            failure: None,
            data_lock: None,
        })
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
            let timeout =
                if self.write_queue.is_empty() && (self.ready.is_empty() || !self.may_serve()) {
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
                    token => self.on_event(token, event),
                }
            }
            // Collected every turn, not only on the waker's event: wake-ups may coalesce.
            self.collect_effects();
            self.accept_waiting();
            self.serve_ready();
            if self.now >= self.next_timer_check {
                self.check_timers();
                self.next_timer_check = self.now + TIMER_TICK;
            }
            self.end_turn();
            self.write_deliveries();
            if self
                .shutdown_deadline
                .is_some_and(|deadline| self.connections.is_empty() || self.now >= deadline)
            {
                if let Some(detail) = self.core.stop()
                    && self.failure.is_none()
                {
                    log!("the store failed to commit as the server stopped ({detail})");
                    self.failure = Some(format!("the store failed to commit: {detail}"));
                }
                log!("stopped");
                return match self.failure.take() {
                    None => Ok(()),
                    Some(failure) => Err(io::Error::other(failure)),
                };
            }
        }
    }

    fn on_event(&mut self, token: Token, event: &mio::event::Event) {
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

    /// Hands the turn's inputs to the core's thread, with the turn's time; the answers come
    /// back later, through the waker.
    fn end_turn(&mut self) {
        if self.inputs.is_empty() && self.released_after_next_batch == 0 {
            return;
        }
        let clock = Clock {
            since_start: self.now.duration_since(self.started),
            wall: jiff::Timestamp::now(),
        };
        // Frames are charged as they are read (`Owed`); the other inputs are charged here, and
        // like the frames of closed connections released once this batch is applied.
        let inputs_bytes: usize = self.inputs.iter().map(input_bytes).sum();
        self.in_flight_bytes += inputs_bytes;
        let released_bytes = inputs_bytes + std::mem::take(&mut self.released_after_next_batch);
        self.quiet
            .turn(Quiet::only_ticks(&self.inputs), clock.since_start);
        self.core
            .send(std::mem::take(&mut self.inputs), clock, released_bytes);
    }

    /// Puts in the connections' output whatever the core has answered since the last turn.
    fn collect_effects(&mut self) {
        let (ready, core_gone) = match self.core.effects() {
            Ok(ready) => (ready, false),
            Err(ready) => (ready, true),
        };
        for applied in ready {
            debug_assert!(applied.released_bytes <= self.in_flight_bytes);
            self.in_flight_bytes = self.in_flight_bytes.saturating_sub(applied.released_bytes);
            self.apply_effects(applied.effects);
        }
        if core_gone && self.failure.is_none() {
            log!("the core's thread has stopped: stopping");
            self.failure = Some("the core's thread stopped".into());
            self.shut_down("The server is stopping.");
        }
    }

    /// Accepts every waiting connection on the chat listener or, with `web`, the web one.
    fn accept_all(&mut self, web: bool) {
        loop {
            // The core holds its limit: newcomers wait in the kernel's backlog, not in memory.
            if !self.may_serve() {
                self.accept_waiting[usize::from(web)] = true;
                return;
            }
            let listener = if web {
                &self.web_listener
            } else {
                &self.listener
            };
            let Some(listener) = listener else {
                return;
            };
            match listener.accept() {
                Ok((socket, peer)) => self.admit(web, socket, peer),
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

    /// Accepts the connections left waiting while the core held its limit, once it has room.
    fn accept_waiting(&mut self) {
        for web in [false, true] {
            if self.accept_waiting[usize::from(web)] && self.may_serve() {
                self.accept_waiting[usize::from(web)] = false;
                self.accept_all(web);
            }
        }
    }

    /// Takes a new connection in, or turns it away past a limit.
    fn admit(&mut self, web: bool, mut socket: mio::net::TcpStream, peer: SocketAddr) {
        if self.connections.len() >= self.config.limits.connections_max {
            let message = "The server has too many connections; try again later.";
            return self.refuse_newcomer(web, &mut socket, "server_full", message);
        }
        if !self.open_per_address.opened(peer.ip()) {
            let message = "Your address has too many connections open; close one first.";
            return self.refuse_newcomer(web, &mut socket, "too_many_connections", message);
        }
        let tls = match self
            .config
            .tls
            .as_ref()
            .filter(|_| !web)
            .map(|tls| crate::tls::server_connection(Arc::clone(tls)))
        {
            None => None,
            Some(Ok(tls)) => Some(tls),
            Some(Err(e)) => {
                log!("{peer}: {e}");
                self.open_per_address.closed(peer.ip());
                return;
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
            self.open_per_address.closed(peer.ip());
            return;
        }
        let stream: Box<dyn ClientStream> = if web {
            Box::new(WebStream::new(socket, Arc::clone(&self.web_settings)))
        } else {
            let transport = Transport::new(socket, tls);
            Box::new(FramedStream::new(transport, output_limits(&self.config)))
        };
        let connection = Box::new(Connection::new(stream, peer, self.now));
        self.connections.insert(token, connection);
        self.inputs.push(Input::Opened {
            conn: conn_id(token),
            peer: peer.ip(),
        });
    }

    /// Turns a newcomer away: with a frame saying why over plain TCP, an HTTP 503 to a
    /// browser, by closing under TLS.
    fn refuse_newcomer(
        &self,
        web: bool,
        socket: &mut mio::net::TcpStream,
        code: &str,
        message: &str,
    ) {
        if web {
            let _ = io::Write::write(socket, &chat_web::http::unavailable(code, message));
        } else if self.config.tls.is_none() {
            refuse(socket, code, message);
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
        self.shut_down("The server is shutting down.");
    }

    /// Stops accepting, tells every connection why after the answers it is owed, and gives
    /// them `shutdown_grace` to read it; then `run` ends.
    fn shut_down(&mut self, why: &'static str) {
        if self.shutdown_deadline.is_some() {
            return;
        }
        for mut listener in [self.listener.take(), self.web_listener.take()]
            .into_iter()
            .flatten()
        {
            let _ = self.poll.registry().deregister(&mut listener);
        }
        let tokens: Vec<Token> = self.connections.keys().copied().collect();
        for token in tokens {
            self.close_with(token, "server_shutdown", why);
        }
        self.shutdown_deadline = Some(self.now + self.config.limits.shutdown_grace);
        arm_exit_on_a_second_signal();
    }
}

/// From now on SIGINT or SIGTERM ends the process at once with status 130, even while `run`
/// waits for the core's thread to finish a commit and polls no more.
fn arm_exit_on_a_second_signal() {
    let armed = Arc::new(std::sync::atomic::AtomicBool::new(true));
    for signal in [SIGINT, SIGTERM] {
        if let Err(e) =
            signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(&armed))
        {
            log!("cannot arm the exit on a second signal: {e}");
        }
    }
}

fn output_limits(config: &Config) -> OutputLimits {
    OutputLimits {
        frame_bytes_max: config.limits.frame_bytes_max,
        unsent_bytes_max: config.limits.unsent_bytes_max,
    }
}

/// The core's name for the connection behind `token` (the same number: never reused).
/// What an input other than a frame holds until the core applies it.
fn input_bytes(input: &Input) -> usize {
    let own = std::mem::size_of::<Input>();
    match input {
        // Charged when it is read, by its decoded size (`Owed`).
        Input::Frame { .. } => 0,
        Input::Refuse { message, .. } => own + message.len(),
        Input::Opened { .. } | Input::Closed { .. } | Input::Hashed { .. } | Input::Tick => own,
    }
}

fn conn_id(token: Token) -> ConnId {
    ConnId(token.0 as u64)
}

fn token_of(conn: ConnId) -> Token {
    Token(usize::try_from(conn.0).unwrap_or(usize::MAX))
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
    let frame = chat_wire::ServerFrame::Closing(chat_wire::ErrorBody::new(code, message));
    if chat_wire::encode_frame(&frame, chat_wire::FRAME_BYTES_MAX, &mut bytes).is_ok() {
        let _ = io::Write::write(socket, &bytes);
    }
}
