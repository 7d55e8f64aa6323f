//! The server's core, without I/O: it owns the store, the rate limits, the client message ids
//! each sender used lately and the registry of who is online on which connection, and turns
//! inputs (a connection opened, a frame from it, its close, a finished password check, a tick)
//! into effects (frames for connections, deliveries, password jobs). It never touches a socket,
//! a thread or the clock: the time comes with each batch. A batch is applied, committed once,
//! and only then are its effects released: no acknowledgement or delivery precedes its commit.
//!
//! One file per family of requests: `session` (hello, register, log in, ping, quit),
//! `messages` (send, resend, history), `groups`, `inbox`.

pub mod abuse;
mod fit;
mod groups;
mod inbox;
mod messages;
mod session;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use chat_domain::error::ErrorCode;
use chat_domain::recent_sends::RecentSends;
use chat_domain::rules::groups::GroupLimits;
use chat_domain::rules::{HistoryPaging, LoginAttempt};
use chat_domain::{
    ClientMessageId, HashError, Password, PasswordHash, PasswordHasher, Store, StoreError, Username,
};
use chat_wire::{ClientFrame, ErrorBody, Reply, Request, ServerFrame};
use jiff::Timestamp;

use self::abuse::{AbuseLimits, Guards};

/// A connection, as the core knows it. Never reused: a late effect for a closed connection
/// cannot reach a newer one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// The time a batch is applied at: since the server started (rate limits, deadlines) and on the
/// wall (what messages are stamped with).
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub since_start: Duration,
    pub wall: Timestamp,
}

/// What happened, for the core to act on.
#[derive(Debug)]
pub enum Input {
    Opened {
        conn: ConnId,
        peer: IpAddr,
    },
    Frame {
        conn: ConnId,
        frame: ClientFrame,
    },
    /// The loop ends the connection (a bad frame, a timeout, shutdown): `Closing` with this
    /// code, after the answers to its frames before.
    Refuse {
        conn: ConnId,
        code: &'static str,
        message: String,
    },
    /// The connection is gone: nothing more is sent to it.
    Closed {
        conn: ConnId,
    },
    /// A password job the core asked for is done.
    Hashed {
        conn: ConnId,
        request_id: u32,
        done: Hashed,
    },
    /// Time passed: deadlines and forgetting.
    Tick,
}

/// A password to hash or check, for one request of one connection.
#[derive(Debug)]
pub enum HashJob {
    Register {
        username: Username,
        password: Password,
    },
    LogIn {
        attempt: LoginAttempt,
        password: Password,
    },
}

impl HashJob {
    /// Does the job: what a hashing thread (or a test) runs.
    pub fn run(self, hasher: &dyn PasswordHasher) -> Hashed {
        match self {
            HashJob::Register { username, password } => Hashed::Register {
                username,
                hash: hasher.hash(&password),
            },
            HashJob::LogIn { attempt, password } => {
                let matches = hasher.verify(&password, &attempt.hash);
                Hashed::LogIn { attempt, matches }
            }
        }
    }
}

/// A finished `HashJob`.
#[derive(Debug)]
pub enum Hashed {
    Register {
        username: Username,
        hash: Result<PasswordHash, HashError>,
    },
    LogIn {
        attempt: LoginAttempt,
        matches: Result<bool, HashError>,
    },
}

impl Hashed {
    /// Why the hasher failed, if it did: for the operator's log, which the hashing thread
    /// writes (the core does no I/O).
    pub fn failure(&self) -> Option<&HashError> {
        match self {
            Hashed::Register { hash: Err(e), .. }
            | Hashed::LogIn {
                matches: Err(e), ..
            } => Some(e),
            Hashed::Register { hash: Ok(_), .. } | Hashed::LogIn { matches: Ok(_), .. } => None,
        }
    }
}

/// Where password jobs go: the hashing pool, or a test's queue.
pub trait HashQueue {
    /// Queues `job`; `Err(Busy)` if the queue is full.
    fn submit(&mut self, conn: ConnId, request_id: u32, job: HashJob) -> Result<(), Busy>;
    /// The connection is gone: its job, if still queued, need not be computed.
    fn cancel(&mut self, conn: ConnId);
}

/// The hashing queue was full.
#[derive(Debug)]
pub struct Busy;

/// A frame for one connection.
#[derive(Debug, Clone, PartialEq)]
pub struct Outbound {
    pub conn: ConnId,
    pub frame: ServerFrame,
    /// It answers one of the connection's frames (each frame is answered exactly once, in
    /// order): the loop counts what it still owes.
    pub answers: bool,
    /// Close the connection once it is written; nothing more is acted on from it.
    pub then_close: bool,
}

/// What the core wants done.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Send(Outbound),
    /// One event for many connections: encoded once, by the loop.
    Deliver {
        conns: Vec<ConnId>,
        frame: Arc<ServerFrame>,
    },
    /// A commit failed: what was written since the last good one may or may not be on disk
    /// (after a failed fsync the kernel may have dropped it already), so the store is not
    /// trusted again. The server stops, for a restart on what really is there.
    StoreFailed {
        detail: String,
    },
}

/// The operator's settings the core applies.
#[derive(Debug, Clone)]
pub struct Settings {
    pub frame_bytes_max: usize,
    pub history: HistoryPaging,
    pub groups: GroupLimits,
    pub abuse: AbuseLimits,
    pub handshake_timeout: Duration,
    pub login_timeout: Duration,
}

/// Where a connection is in the protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    AwaitingHello,
    LoggedOut,
    LoggedIn(Username),
}

/// The core's view of one connection.
struct Conn {
    peer: IpAddr,
    opened_at: Duration,
    phase: Phase,
    /// A password job is out: what came after it waits in `waiting`, so answers keep order.
    hashing: bool,
    waiting: VecDeque<Incoming>,
    /// Its last frame is sent: nothing more is acted on.
    closing: bool,
}

/// What came from a connection, in order.
enum Incoming {
    Frame(ClientFrame),
    Refuse { code: &'static str, message: String },
}

/// What to do with an effect of the batch if its commit fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OnCommitFailure {
    /// Nothing depends on the store: send it anyway.
    Send,
    /// It answers request `id` with what the store holds or was written: `storage_unavailable`
    /// instead.
    ReplyError(u32),
    /// A registration: `storage_unavailable`, and the connection is logged out again.
    UndoRegistration(u32),
    /// A delivery of something not stored: dropped.
    Drop,
}

/// How often the rate limits and the client ids forget what is stale.
const FORGET_EVERY: Duration = Duration::from_secs(10);

pub struct Core<S> {
    store: S,
    settings: Settings,
    /// Unknown names are checked against this, so they cost what a wrong password costs.
    dummy_hash: PasswordHash,
    guards: Guards,
    recent_sends: RecentSends,
    /// Boxed: a map's free slots are as big as its values, and a busy map is up to half free.
    conns: HashMap<ConnId, Box<Conn>>,
    /// Who is logged in where, for deliveries.
    online: HashMap<Username, Vec<ConnId>>,
    /// The batch's effects, released after its commit.
    pending: Vec<(Effect, OnCommitFailure)>,
    /// A request that may write was applied: the batch commits.
    wrote: bool,
    /// The client ids the batch taught `recent_sends`: forgotten if its commit fails.
    numbers_this_batch: Vec<(Username, ClientMessageId)>,
    next_forget: Duration,
    clock: Clock,
    /// A commit failed: every write is refused from then on, and nothing more is committed.
    store_failed: bool,
}

impl<S: Store> Core<S> {
    pub fn new(store: S, settings: Settings, dummy_hash: PasswordHash) -> Self {
        Core {
            store,
            guards: Guards::new(&settings.abuse),
            settings,
            dummy_hash,
            recent_sends: RecentSends::default(),
            conns: HashMap::new(),
            online: HashMap::new(),
            pending: Vec::new(),
            wrote: false,
            numbers_this_batch: Vec::new(),
            next_forget: FORGET_EVERY,
            store_failed: false,
            clock: Clock {
                since_start: Duration::ZERO,
                wall: Timestamp::UNIX_EPOCH,
            },
        }
    }

    /// Applies `inputs` in order at `clock`, commits once if anything may have been written,
    /// and returns the effects, in order, as the commit's outcome allows.
    pub fn apply(
        &mut self,
        inputs: impl IntoIterator<Item = Input>,
        clock: Clock,
        hashing: &mut impl HashQueue,
    ) -> Vec<Effect> {
        self.clock = clock;
        for input in inputs {
            self.input(input, hashing);
        }
        self.release()
    }

    /// The store, for a final commit at shutdown.
    pub fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }

    fn input(&mut self, input: Input, hashing: &mut impl HashQueue) {
        match input {
            Input::Opened { conn, peer } => {
                let opened_at = self.clock.since_start;
                self.conns.insert(
                    conn,
                    Box::new(Conn {
                        peer,
                        opened_at,
                        phase: Phase::AwaitingHello,
                        hashing: false,
                        waiting: VecDeque::new(),
                        closing: false,
                    }),
                );
            }
            Input::Frame { conn, frame } => self.incoming(conn, Incoming::Frame(frame), hashing),
            Input::Refuse {
                conn,
                code,
                message,
            } => self.incoming(conn, Incoming::Refuse { code, message }, hashing),
            Input::Closed { conn } => self.closed(conn, hashing),
            Input::Hashed {
                conn,
                request_id,
                done,
            } => {
                self.hashed(conn, request_id, done);
                self.resume(conn, hashing);
            }
            Input::Tick => self.tick(),
        }
    }

    /// What came from `conn`: acted on now, or after the password job it waits behind.
    fn incoming(&mut self, conn: ConnId, incoming: Incoming, hashing: &mut impl HashQueue) {
        let Some(state) = self.conns.get_mut(&conn) else {
            return;
        };
        if state.closing {
            return;
        }
        if state.hashing {
            state.waiting.push_back(incoming);
            return;
        }
        self.act(conn, incoming, hashing);
    }

    /// Acts on the frames that waited behind a password job, until the next one waits.
    fn resume(&mut self, conn: ConnId, hashing: &mut impl HashQueue) {
        while let Some(state) = self.conns.get_mut(&conn) {
            if state.hashing || state.closing {
                return;
            }
            let Some(incoming) = state.waiting.pop_front() else {
                return;
            };
            self.act(conn, incoming, hashing);
        }
    }

    fn act(&mut self, conn: ConnId, incoming: Incoming, hashing: &mut impl HashQueue) {
        let frame = match incoming {
            Incoming::Frame(frame) => frame,
            Incoming::Refuse { code, message } => {
                return self.close_with(conn, code, &message, false);
            }
        };
        let Some(state) = self.conns.get(&conn) else {
            return;
        };
        match (&state.phase, frame) {
            (Phase::AwaitingHello, ClientFrame::Hello(hello)) => self.hello(conn, &hello),
            (Phase::AwaitingHello, ClientFrame::Request { .. }) => {
                self.close_with(
                    conn,
                    "hello_expected",
                    "The first frame must be a Hello.",
                    true,
                );
            }
            (_, ClientFrame::Hello(_)) => {
                self.close_with(conn, "bad_frame", "Hello was already received.", true);
            }
            (Phase::LoggedOut, ClientFrame::Request { id, request }) => {
                self.logged_out_request(conn, id, request, hashing);
            }
            (Phase::LoggedIn(user), ClientFrame::Request { id, request }) => {
                let user = user.clone();
                if request_may_write(&request) {
                    if self.store_failed {
                        return self.refuse_write(conn, id);
                    }
                    self.wrote = true;
                }
                self.request(conn, id, &user, request);
            }
        }
    }

    /// Every request of a logged-in connection, each matched by name: a request type that
    /// nobody handles does not compile.
    fn request(&mut self, conn: ConnId, id: u32, user: &Username, request: Request) {
        match request {
            Request::Ping => self.reply(conn, id, Reply::Pong),
            Request::Quit => self.quit(conn, id),
            Request::Register { .. } | Request::LogIn { .. } => self.reply_error(
                conn,
                id,
                "already_logged_in",
                format!("This connection is already logged in as {user}."),
            ),
            Request::Send {
                client_message_id,
                to,
                body,
            } => self.send(
                conn,
                id,
                user,
                messages::Sending::first(client_message_id, to, body),
            ),
            Request::Resend {
                client_message_id,
                to,
                body,
            } => self.send(
                conn,
                id,
                user,
                messages::Sending::again(client_message_id, to, body),
            ),
            Request::History {
                with,
                before,
                limit,
            } => self.history(conn, id, user, with, before, limit),
            Request::CreateGroup { group, members } => {
                self.create_group(conn, id, user, group, members)
            }
            Request::Invite { group, user: who } => {
                self.change_group(conn, id, user, groups::Change::Invite { group, who })
            }
            Request::Kick { group, user: who } => {
                self.change_group(conn, id, user, groups::Change::Kick { group, who })
            }
            Request::Leave { group } => {
                self.change_group(conn, id, user, groups::Change::Leave { group })
            }
            Request::SetOwner { group, user: who } => {
                self.change_group(conn, id, user, groups::Change::HandOver { group, who })
            }
            Request::MakeAdmin { group, user: who } => {
                self.change_group(conn, id, user, groups::Change::MakeAdmin { group, who })
            }
            Request::Members { group } => self.members(conn, id, user, group),
            Request::Groups => self.groups(conn, id, user),
            Request::Conversations => self.conversations(conn, id, user),
            Request::MarkRead { with, up_to } => self.mark_read(conn, id, user, with, up_to),
            Request::CatchUp { after, limit } => self.catch_up(conn, id, user, after, limit),
        }
    }

    fn closed(&mut self, conn: ConnId, hashing: &mut impl HashQueue) {
        let Some(state) = self.conns.remove(&conn) else {
            return;
        };
        if state.hashing {
            hashing.cancel(conn);
        }
        if let Phase::LoggedIn(user) = state.phase {
            self.forget_online(&user, conn);
        }
    }

    fn tick(&mut self) {
        let now = self.clock.since_start;
        if now >= self.next_forget {
            self.guards.forget_full(now);
            self.recent_sends.forget_old(self.clock.wall);
            self.next_forget = now + FORGET_EVERY;
        }
        let (handshake, login) = (self.settings.handshake_timeout, self.settings.login_timeout);
        let expired: Vec<(ConnId, &'static str, &'static str)> = self
            .conns
            .iter()
            .filter(|(_, state)| !state.closing && !state.hashing)
            .filter_map(|(conn, state)| {
                let age = now.saturating_sub(state.opened_at);
                match state.phase {
                    Phase::AwaitingHello if age > handshake => Some((
                        *conn,
                        "handshake_timeout",
                        "No Hello within the time allowed.",
                    )),
                    Phase::LoggedOut if age > login => {
                        Some((*conn, "login_timeout", "No log-in within the time allowed."))
                    }
                    _ => None,
                }
            })
            .collect();
        for (conn, code, message) in expired {
            self.close_with(conn, code, message, false);
        }
    }

    // ---- effects ------------------------------------------------------------------------

    fn push(&mut self, effect: Effect, on_commit_failure: OnCommitFailure) {
        self.pending.push((effect, on_commit_failure));
    }

    fn send_frame(&mut self, conn: ConnId, frame: ServerFrame, on_failure: OnCommitFailure) {
        let effect = Effect::Send(Outbound {
            conn,
            frame,
            answers: true,
            then_close: false,
        });
        self.push(effect, on_failure);
    }

    /// An answer that depends on nothing stored.
    fn reply(&mut self, conn: ConnId, id: u32, reply: Reply) {
        self.send_frame(
            conn,
            ServerFrame::Reply { id, reply },
            OnCommitFailure::Send,
        );
    }

    /// An answer that shows what the store holds or was written: if the batch's commit fails,
    /// it becomes `storage_unavailable`.
    fn reply_stored(&mut self, conn: ConnId, id: u32, reply: Reply) {
        let frame = ServerFrame::Reply { id, reply };
        self.send_frame(conn, frame, OnCommitFailure::ReplyError(id));
    }

    fn reply_error(&mut self, conn: ConnId, id: u32, code: &str, message: impl Into<String>) {
        self.reply(conn, id, Reply::Error(ErrorBody::new(code, message)));
    }

    fn refuse(&mut self, conn: ConnId, id: u32, error: &impl ErrorCode) {
        self.reply_error(conn, id, error.code(), error.to_string());
    }

    /// A write after a failed commit: refused without touching the store.
    fn refuse_write(&mut self, conn: ConnId, id: u32) {
        let error = StoreError::Unavailable("the store failed to commit earlier".into());
        self.reply(conn, id, Reply::Error(ErrorBody::from_error(&error)));
    }

    /// Sends `frame` last: the connection closes once it is written, and no delivery is
    /// addressed to it after this.
    fn send_then_close(&mut self, conn: ConnId, frame: ServerFrame, answers: bool) {
        self.log_out(conn);
        if let Some(state) = self.conns.get_mut(&conn) {
            state.closing = true;
        }
        let effect = Effect::Send(Outbound {
            conn,
            frame,
            answers,
            then_close: true,
        });
        self.push(effect, OnCommitFailure::Send);
    }

    /// `Closing` with `code`, then the close. `answers` when it answers the frame acted on.
    fn close_with(&mut self, conn: ConnId, code: &str, message: &str, answers: bool) {
        let frame = ServerFrame::Closing(ErrorBody::new(code, message));
        self.send_then_close(conn, frame, answers);
    }

    /// Delivers `frame` to every connection of everyone in `audience` but `except` (the
    /// connection that acted: it gets the answer instead). Dropped if the commit fails.
    fn deliver(&mut self, except: ConnId, audience: &[Username], frame: ServerFrame) {
        let conns: Vec<ConnId> = audience
            .iter()
            .filter_map(|name| self.online.get(name))
            .flatten()
            .copied()
            .filter(|conn| *conn != except)
            .collect();
        if !conns.is_empty() {
            let effect = Effect::Deliver {
                conns,
                frame: Arc::new(frame),
            };
            self.push(effect, OnCommitFailure::Drop);
        }
    }

    fn logged_in(&mut self, conn: ConnId, user: Username) {
        if let Some(state) = self.conns.get_mut(&conn) {
            state.phase = Phase::LoggedIn(user.clone());
            // Most people are online on one device: room for one, grown when a second comes.
            self.online
                .entry(user)
                .or_insert_with(|| Vec::with_capacity(1))
                .push(conn);
        }
    }

    fn log_out(&mut self, conn: ConnId) {
        let Some(state) = self.conns.get_mut(&conn) else {
            return;
        };
        if let Phase::LoggedIn(user) = std::mem::replace(&mut state.phase, Phase::LoggedOut) {
            self.forget_online(&user, conn);
        }
    }

    fn forget_online(&mut self, user: &Username, conn: ConnId) {
        if let Some(conns) = self.online.get_mut(user) {
            conns.retain(|c| *c != conn);
            if conns.is_empty() {
                self.online.remove(user);
            }
        }
    }

    fn peer(&self, conn: ConnId) -> Option<IpAddr> {
        self.conns.get(&conn).map(|state| state.peer)
    }

    /// Commits the batch if it may have written, then releases its effects as the outcome
    /// allows. A failed commit is not retried: the store is not trusted again.
    fn release(&mut self) -> Vec<Effect> {
        let committed = if std::mem::take(&mut self.wrote) && !self.store_failed {
            self.store.commit()
        } else {
            Ok(())
        };
        if committed.is_err() {
            self.store_failed = true;
            for (sender, number) in std::mem::take(&mut self.numbers_this_batch) {
                self.recent_sends.forget(&sender, number);
            }
        }
        self.numbers_this_batch.clear();
        // The next batch starts with room for as many: growing one effect at a time copied
        // them over and over in busy batches.
        let room = self.pending.len();
        let pending = std::mem::replace(&mut self.pending, Vec::with_capacity(room));
        match committed {
            // In place: the effects reuse the batch's buffer.
            Ok(()) => pending.into_iter().map(|(effect, _)| effect).collect(),
            Err(e) => self.released_after_failure(pending, &e),
        }
    }

    /// What a batch whose commit failed still sends: what depended on nothing stored, and
    /// `storage_unavailable` for what did; then `StoreFailed`.
    fn released_after_failure(
        &mut self,
        pending: Vec<(Effect, OnCommitFailure)>,
        error: &StoreError,
    ) -> Vec<Effect> {
        let mut effects = Vec::with_capacity(pending.len() + 1);
        for (effect, on_failure) in pending {
            match on_failure {
                OnCommitFailure::Send => effects.push(effect),
                OnCommitFailure::Drop => {}
                OnCommitFailure::ReplyError(id) => effects.push(unavailable(effect, id, error)),
                OnCommitFailure::UndoRegistration(id) => {
                    if let Effect::Send(outbound) = &effect {
                        self.log_out(outbound.conn);
                    }
                    effects.push(unavailable(effect, id, error));
                }
            }
        }
        effects.push(Effect::StoreFailed {
            detail: error.detail().to_string(),
        });
        effects
    }
}

/// `effect`, an answer to request `id`, turned into `storage_unavailable`.
fn unavailable(effect: Effect, id: u32, error: &StoreError) -> Effect {
    match effect {
        Effect::Send(outbound) => Effect::Send(Outbound {
            frame: ServerFrame::Reply {
                id,
                reply: Reply::Error(ErrorBody::from_error(error)),
            },
            ..outbound
        }),
        other => other,
    }
}

/// Whether applying `request` may write to the store: if so, the batch commits.
fn request_may_write(request: &Request) -> bool {
    match request {
        Request::Send { .. }
        | Request::Resend { .. }
        | Request::CreateGroup { .. }
        | Request::Invite { .. }
        | Request::Kick { .. }
        | Request::Leave { .. }
        | Request::SetOwner { .. }
        | Request::MakeAdmin { .. }
        | Request::MarkRead { .. } => true,
        Request::Register { .. }
        | Request::LogIn { .. }
        | Request::History { .. }
        | Request::Members { .. }
        | Request::Groups
        | Request::Conversations
        | Request::CatchUp { .. }
        | Request::Ping
        | Request::Quit => false,
    }
}
