//! The client's loop: one thread waits with `polling` on stdin, the server socket and a signal
//! pipe together, feeds what arrives (and the time) to the session and carries out its effects;
//! a reconnect's blocking connect runs on a short-lived thread of its own.

use std::fs::File;
use std::io::{self, Read};
use std::mem::ManuallyDrop;
use std::os::fd::FromRawFd;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use polling::{Event, Events, PollMode, Poller};

use super::link::{Endpoint, Link, Received};
use super::session::{Effect, REPLY_PATIENCE_MS, Session};
use super::ui::Ui;

/// How long the client waits for a reply it is owed, counted from the last byte the server
/// sent, before it takes the link for dead (and, once logged in, reconnects).
pub const REPLY_PATIENCE: Duration = Duration::from_millis(REPLY_PATIENCE_MS);
/// Bytes read from stdin per readiness event.
const STDIN_CHUNK_BYTES: usize = 16 * 1024;

const KEY_SIGNAL: usize = 0;
const KEY_STDIN: usize = 1;
const KEY_SOCKET: usize = 2;

/// How the client ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exit {
    pub status: u8,
    /// For stderr, unless the status is 0.
    pub reason: Option<String>,
}

impl Exit {
    pub(super) fn failure(reason: impl Into<String>) -> Self {
        Exit {
            status: 1,
            reason: Some(reason.into()),
        }
    }
}

pub struct Driver {
    endpoint: Endpoint,
    /// Shared with the thread that connects again, which wakes the loop when it is done.
    poller: Arc<Poller>,
    /// A reconnect under way on its own thread: its result, when it comes.
    connecting: Option<Receiver<Result<(Link, usize), String>>>,
    session: Session,
    ui: Box<dyn Ui>,
    /// `None` between a connection the server closed before login and the next request.
    link: Option<Link>,
    /// Stdin is a regular file (or otherwise not pollable): always ready, read when wanted.
    stdin_always_ready: bool,
    /// Stdin is in the poller. It is only while wanted: a hung-up pipe or terminal reports
    /// EPOLLHUP whatever the interest, so merely unsetting interest would wake the loop forever.
    stdin_watched: bool,
    stdin_open: bool,
    signal_read: UnixStream,
    signal_number: Arc<AtomicUsize>,
    /// The session's clock counts milliseconds from here.
    started: Instant,
    /// The server of `endpoint.servers` connected last: a reconnect tries it first.
    server_index: usize,
    exit: Option<Exit>,
}

impl Driver {
    pub fn new(
        endpoint: Endpoint,
        (link, server_index): (Link, usize),
        session: Session,
        ui: Box<dyn Ui>,
    ) -> io::Result<Self> {
        let poller = Arc::new(Poller::new()?);
        let (signal_read, signal_write) = UnixStream::pair()?;
        signal_read.set_nonblocking(true)?;
        let signal_number = Arc::new(AtomicUsize::new(0));
        for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            signal_hook::flag::register_usize(signal, Arc::clone(&signal_number), signal as usize)?;
            signal_hook::low_level::pipe::register(signal, signal_write.try_clone()?)?;
        }
        // SAFETY (each add): the signal pipe and stdin live as long as the poller (stdin for the
        // whole process); the socket is deleted from the poller before it is dropped (`drop_link`).
        unsafe {
            poller.add_with_mode(&signal_read, Event::readable(KEY_SIGNAL), PollMode::Level)?
        };
        // epoll refuses regular files (EPERM) and /dev/null: such stdin is always ready anyway.
        let stdin_always_ready = unsafe {
            poller
                .add_with_mode(&io::stdin(), Event::none(KEY_STDIN), PollMode::Level)
                .is_err()
        };
        if !stdin_always_ready {
            poller.delete(io::stdin())?;
        }
        unsafe {
            poller.add_with_mode(link.stream(), Event::readable(KEY_SOCKET), PollMode::Level)?
        };
        Ok(Driver {
            endpoint,
            poller,
            connecting: None,
            session,
            ui,
            link: Some(link),
            stdin_always_ready,
            stdin_watched: false,
            stdin_open: true,
            signal_read,
            signal_number,
            started: Instant::now(),
            server_index,
            exit: None,
        })
    }

    /// The session's clock: milliseconds since the driver started, never going back.
    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    pub fn run(mut self) -> Exit {
        let mut events = Events::new();
        loop {
            if let Err(e) = self.turn(&mut events) {
                self.finish(Exit::failure(format!("the client failed: {e}")));
            }
            if let Some(exit) = self.exit.take() {
                if let Some(link) = self.link.take() {
                    let _ = self.poller.delete(link.stream());
                }
                return exit;
            }
        }
    }

    /// One pass: take what input the session wants, write, wait, handle what woke us.
    fn turn(&mut self, events: &mut Events) -> io::Result<()> {
        self.session.on_tick(self.now_ms());
        self.apply_effects()?;
        self.take_buffered_input()?;
        if self.exit.is_some() {
            return Ok(());
        }
        self.ui.set_prompt(self.session.prompt())?;
        self.write_out();
        self.set_interests()?;

        let read_stdin_now = self.wants_stdin() && self.stdin_always_ready;
        let read_socket_now = self
            .link
            .as_mut()
            .is_some_and(|link| link.has_buffered_input());
        let timeout = if read_stdin_now || read_socket_now {
            Some(Duration::ZERO)
        } else {
            self.session
                .next_tick_ms()
                .map(|at| Duration::from_millis(at.saturating_sub(self.now_ms())))
        };
        events.clear();
        match self.poller.wait(events, timeout) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(()),
            Err(e) => return Err(e),
        }
        let mut stdin_ready = read_stdin_now;
        let mut socket_ready = read_socket_now;
        for event in events.iter() {
            match event.key {
                KEY_SIGNAL => self.on_signal(),
                KEY_STDIN => stdin_ready = true,
                KEY_SOCKET => socket_ready = true,
                _ => {}
            }
        }
        self.on_connect_result()?;
        if socket_ready {
            self.on_socket()?;
        }
        if stdin_ready && self.wants_stdin() && self.exit.is_none() {
            self.read_stdin()?;
        }
        Ok(())
    }

    /// Inputs already read (typed ahead, or a script's next lines) go first, while the session
    /// takes them.
    fn take_buffered_input(&mut self) -> io::Result<()> {
        while self.session.wants_input() && self.exit.is_none() {
            // The prompt first: keys typed ahead after a username are a password, and must be
            // taken as one (never drawn) before they are decoded.
            self.ui.set_prompt(self.session.prompt())?;
            let Some(input) = self.ui.next_input()? else {
                break;
            };
            self.session.on_input(input);
            self.apply_effects()?;
        }
        Ok(())
    }

    fn wants_stdin(&mut self) -> bool {
        self.stdin_open && self.session.wants_input() && !self.ui.has_buffered_input()
    }

    fn set_interests(&mut self) -> io::Result<()> {
        let want_stdin = self.wants_stdin() && !self.stdin_always_ready;
        if want_stdin != self.stdin_watched {
            if want_stdin {
                // SAFETY: stdin stays open for the life of the process.
                unsafe {
                    self.poller.add_with_mode(
                        &io::stdin(),
                        Event::readable(KEY_STDIN),
                        PollMode::Level,
                    )?;
                }
            } else {
                self.poller.delete(io::stdin())?;
            }
            self.stdin_watched = want_stdin;
        }
        if let Some(link) = &self.link {
            let interest = if link.wants_write() {
                Event::all(KEY_SOCKET)
            } else {
                Event::readable(KEY_SOCKET)
            };
            self.poller
                .modify_with_mode(link.stream(), interest, PollMode::Level)?;
        }
        Ok(())
    }

    fn read_stdin(&mut self) -> io::Result<()> {
        // Read fd 0 directly: a buffered reader could hold lines that readiness never reports.
        // SAFETY: fd 0 stays open for the life of the process; ManuallyDrop never closes it.
        let stdin = ManuallyDrop::new(unsafe { File::from_raw_fd(0) });
        let mut chunk = [0u8; STDIN_CHUNK_BYTES];
        match (&*stdin).read(&mut chunk) {
            Ok(0) => self.end_stdin(),
            Ok(n) => self.ui.feed(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock
                ) => {}
            // A terminal that went away reads as EIO: the same as its end.
            Err(_) => self.end_stdin(),
        }
        self.take_buffered_input()
    }

    fn end_stdin(&mut self) {
        self.stdin_open = false;
        self.ui.end_of_stdin();
    }

    fn on_socket(&mut self) -> io::Result<()> {
        let Some(link) = &mut self.link else {
            return Ok(());
        };
        let received = link.read_some();
        let now_ms = self.now_ms();
        self.session.on_heard(now_ms);
        // Handle every whole frame before a close, so a last `Closing` is read.
        loop {
            let Some(link) = &mut self.link else {
                return Ok(());
            };
            match link.next_frame() {
                Ok(Some(frame)) => {
                    let closing = matches!(frame, chat_wire::ServerFrame::Closing(_));
                    self.session.on_frame(frame, Timestamp::now());
                    if closing {
                        self.drop_link();
                    }
                    self.apply_effects()?;
                }
                Ok(None) => break,
                Err(e) => {
                    self.finish(Exit::failure(format!("The server sent a bad frame: {e}")));
                    return Ok(());
                }
            }
        }
        match received {
            Ok(Received::Some) => {}
            Ok(Received::Closed) | Err(_) => {
                if self.link.is_some() {
                    self.drop_link();
                    self.session.on_disconnect(None);
                    self.apply_effects()?;
                }
            }
        }
        Ok(())
    }

    fn write_out(&mut self) {
        if let Some(link) = &mut self.link {
            // A failed write means the connection is gone; the read side reports it, with any
            // last frame the server sent before it.
            let _ = link.write_some();
        }
    }

    fn drop_link(&mut self) {
        if let Some(link) = self.link.take() {
            let _ = self.poller.delete(link.stream());
        }
    }

    fn on_signal(&mut self) {
        let mut drained = [0u8; 64];
        while matches!((&self.signal_read).read(&mut drained), Ok(n) if n > 0) {}
        let signal = self.signal_number.load(Ordering::Relaxed);
        let status = u8::try_from(128 + signal).unwrap_or(1);
        self.finish(Exit {
            status,
            reason: None,
        });
    }

    /// Carries out the session's effects, and those they lead to (a connection made asks for
    /// a log-in), until none are left.
    fn apply_effects(&mut self) -> io::Result<()> {
        loop {
            let effects = self.session.take_effects();
            if effects.is_empty() || self.exit.is_some() {
                break;
            }
            self.apply(effects)?;
        }
        let names = self.session.take_learned_names();
        if !names.is_empty() {
            self.ui.learn(names);
        }
        Ok(())
    }

    fn apply(&mut self, effects: Vec<Effect>) -> io::Result<()> {
        for effect in effects {
            if self.exit.is_some() {
                break;
            }
            match effect {
                Effect::Send { id, request } => self.send(id, request)?,
                Effect::Show(text) => self.ui.show(&text)?,
                Effect::Exit { status, reason } => self.finish(Exit { status, reason }),
                Effect::Connect => self.reconnect()?,
                Effect::Disconnect => self.drop_link(),
                Effect::KeepLine(line) => self.ui.keep_line(&line)?,
            }
        }
        Ok(())
    }

    /// Connects again for the session, to the servers in turn from the last one that worked;
    /// `on_connect_result` tells the session how that went.
    ///
    /// Connecting blocks (resolving the name, up to the connect and handshake timeouts per
    /// server), so it runs on a thread of its own, one at a time, while this loop goes on
    /// serving the keyboard; the thread hands the link over and wakes the poller.
    fn reconnect(&mut self) -> io::Result<()> {
        self.drop_link();
        let (result, receiver) = mpsc::channel();
        let endpoint = self.endpoint.clone();
        let first = self.server_index;
        let poller = Arc::clone(&self.poller);
        std::thread::Builder::new()
            .name("chat-connect".into())
            .spawn(move || {
                // The loop may have ended meanwhile: then nobody wants the link.
                let _ = result.send(Link::connect_any(&endpoint, first));
                let _ = poller.notify();
            })?;
        self.connecting = Some(receiver);
        Ok(())
    }

    /// Takes the reconnect's result if it has come, and tells the session.
    fn on_connect_result(&mut self) -> io::Result<()> {
        let Some(receiver) = &self.connecting else {
            return Ok(());
        };
        let result = match receiver.try_recv() {
            Ok(result) => result,
            Err(TryRecvError::Empty) => return Ok(()),
            Err(TryRecvError::Disconnected) => Err("the connecting thread stopped".to_string()),
        };
        self.connecting = None;
        match result {
            Ok((link, index)) => {
                self.watch(&link)?;
                self.link = Some(link);
                self.server_index = index;
                let server = self.endpoint.servers[index].clone();
                let now_ms = self.now_ms();
                self.session.on_connected(&server, now_ms);
            }
            Err(why) => {
                let now_ms = self.now_ms();
                self.session.on_connect_failed(&why, now_ms);
            }
        }
        self.apply_effects()
    }

    fn watch(&self, link: &Link) -> io::Result<()> {
        // SAFETY: deleted from the poller before it is dropped (`drop_link`, `run`).
        unsafe {
            self.poller
                .add_with_mode(link.stream(), Event::readable(KEY_SOCKET), PollMode::Level)
        }
    }

    fn send(&mut self, id: u32, request: chat_wire::Request) -> io::Result<()> {
        if self.link.is_none() {
            // The server closed an idle connection before login; this request needs a new one.
            match Link::connect_any(&self.endpoint, self.server_index) {
                Ok((link, index)) => {
                    self.watch(&link)?;
                    self.link = Some(link);
                    self.server_index = index;
                }
                Err(e) => {
                    self.finish(Exit::failure(e));
                    return Ok(());
                }
            }
        }
        if let Some(link) = &mut self.link
            && let Err(e) = link.queue(id, request)
        {
            self.finish(Exit::failure(format!("cannot encode a request: {e}")));
        }
        Ok(())
    }

    fn finish(&mut self, exit: Exit) {
        if self.exit.is_none() {
            self.exit = Some(exit);
        }
    }
}
