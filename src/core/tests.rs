//! What the core's unit tests share, and the tests of what every family shares: a core over a
//! real SQLite store in a temporary directory, a hashing queue that runs argon2 (cheaply) when
//! the test says, a clock the test moves, and helpers to read the effects. No sockets.

use std::time::Duration;

use chat_argon2::Argon2Hasher;
use chat_domain::{PasswordHasher, Retention};
use chat_store_contract::TempDir;
use chat_store_sqlite::SqliteStore;
use chat_wire::{ClientFrame, Hello, MAGIC, PROTOCOL_VERSION, Reply, Request, ServerFrame};

use super::*;

pub(super) const PASSWORD: &str = "correct horse battery";

/// Password jobs, held until the test runs them.
pub(super) struct Hashing {
    hasher: Argon2Hasher,
    pub queued: Vec<(ConnId, u32, HashJob)>,
    /// Refuse every job, as a full queue does.
    pub full: bool,
    pub cancelled: Vec<ConnId>,
}

impl HashQueue for Hashing {
    fn submit(&mut self, conn: ConnId, request_id: u32, job: HashJob) -> Result<(), Busy> {
        if self.full {
            return Err(Busy);
        }
        self.queued.push((conn, request_id, job));
        Ok(())
    }

    fn cancel(&mut self, conn: ConnId) {
        self.queued.retain(|(queued, _, _)| *queued != conn);
        self.cancelled.push(conn);
    }
}

pub(super) struct World {
    pub core: Core<SqliteStore>,
    pub hashing: Hashing,
    pub clock: Clock,
    next_conn: u64,
    next_request: u32,
    _dir: TempDir,
}

pub(super) fn settings() -> Settings {
    Settings {
        frame_bytes_max: chat_wire::FRAME_BYTES_MAX,
        history: HistoryPaging::default(),
        groups: GroupLimits::default(),
        abuse: AbuseLimits::default(),
        handshake_timeout: Duration::from_secs(10),
        login_timeout: Duration::from_secs(60),
    }
}

impl World {
    pub fn new() -> Self {
        Self::with(settings())
    }

    pub fn with(settings: Settings) -> Self {
        let dir = TempDir::new("core");
        let store = SqliteStore::open(dir.path(), Retention::Wipe).expect("store opens");
        let hasher = Argon2Hasher::with_cost(64, 1, 1).expect("cost");
        let dummy = Password::new("dummy password".into()).expect("password");
        let dummy_hash = hasher.hash(&dummy).expect("hash");
        World {
            core: Core::new(store, settings, dummy_hash),
            hashing: Hashing {
                hasher,
                queued: Vec::new(),
                full: false,
                cancelled: Vec::new(),
            },
            clock: Clock {
                since_start: Duration::ZERO,
                wall: Timestamp::from_second(1_800_000_000).expect("time"),
            },
            next_conn: 1,
            next_request: 1,
            _dir: dir,
        }
    }

    pub fn apply(&mut self, inputs: Vec<Input>) -> Vec<Effect> {
        self.core.apply(inputs, self.clock, &mut self.hashing)
    }

    pub fn advance(&mut self, by: Duration) {
        self.clock.since_start += by;
        self.clock.wall += by;
    }

    /// A new connection from an address of its own, not yet past its Hello.
    pub fn open(&mut self) -> ConnId {
        let [_, _, high, low] = u32::try_from(self.next_conn).expect("few").to_be_bytes();
        self.open_from(std::net::IpAddr::from([10, 0, high, low]))
    }

    /// A new connection from `peer`, not yet past its Hello.
    pub fn open_from(&mut self, peer: std::net::IpAddr) -> ConnId {
        let conn = ConnId(self.next_conn);
        self.next_conn += 1;
        assert!(self.apply(vec![Input::Opened { conn, peer }]).is_empty());
        conn
    }

    /// A connection past its Hello.
    pub fn connect(&mut self) -> ConnId {
        let conn = self.open();
        let hello = ClientFrame::Hello(Hello {
            magic: MAGIC,
            version: PROTOCOL_VERSION,
        });
        let effects = self.frame(conn, hello);
        assert!(
            matches!(answer(&effects, conn), ServerFrame::Welcome { .. }),
            "{effects:?}"
        );
        conn
    }

    pub fn frame(&mut self, conn: ConnId, frame: ClientFrame) -> Vec<Effect> {
        self.apply(vec![Input::Frame { conn, frame }])
    }

    /// Sends `request` with a fresh id; returns the id and the effects.
    pub fn request(&mut self, conn: ConnId, request: Request) -> (u32, Vec<Effect>) {
        let id = self.next_request;
        self.next_request += 1;
        (id, self.frame(conn, ClientFrame::Request { id, request }))
    }

    /// The reply to `request`, which must be answered at once.
    pub fn ask(&mut self, conn: ConnId, request: Request) -> Reply {
        let (id, effects) = self.request(conn, request);
        reply_to(&effects, conn, id)
    }

    /// Runs every queued password job and hands the results to the core.
    pub fn hash_all(&mut self) -> Vec<Effect> {
        let jobs = std::mem::take(&mut self.hashing.queued);
        let inputs = jobs
            .into_iter()
            .map(|(conn, request_id, job)| Input::Hashed {
                conn,
                request_id,
                done: job.run(&self.hashing.hasher),
            })
            .collect();
        self.apply(inputs)
    }

    /// A connection logged in as a newly registered `name`.
    pub fn user(&mut self, name: &str) -> ConnId {
        let conn = self.connect();
        let (id, effects) = self.request(
            conn,
            Request::Register {
                username: name.into(),
                password: PASSWORD.into(),
            },
        );
        assert!(effects.is_empty(), "answered before hashing: {effects:?}");
        let effects = self.hash_all();
        assert_eq!(
            reply_to(&effects, conn, id),
            Reply::Registered {
                username: name.into()
            }
        );
        conn
    }

    /// Another connection of an existing `name`.
    pub fn device(&mut self, name: &str) -> ConnId {
        let conn = self.connect();
        let (id, _) = self.request(
            conn,
            Request::LogIn {
                username: name.into(),
                password: PASSWORD.into(),
            },
        );
        let effects = self.hash_all();
        assert!(matches!(
            reply_to(&effects, conn, id),
            Reply::LoggedIn { .. }
        ));
        conn
    }
}

/// Every frame the effects send to `conn`, in order, deliveries included.
pub(super) fn frames_for(effects: &[Effect], conn: ConnId) -> Vec<ServerFrame> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Send(outbound) if outbound.conn == conn => Some(outbound.frame.clone()),
            Effect::Deliver { conns, frame } if conns.contains(&conn) => {
                Some(frame.as_ref().clone())
            }
            _ => None,
        })
        .collect()
}

/// The answers the effects give `conn`, in order.
pub(super) fn answers_for(effects: &[Effect], conn: ConnId) -> Vec<ServerFrame> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Send(outbound) if outbound.conn == conn && outbound.answers => {
                Some(outbound.frame.clone())
            }
            _ => None,
        })
        .collect()
}

/// The one answer the effects give `conn`.
pub(super) fn answer(effects: &[Effect], conn: ConnId) -> ServerFrame {
    match answers_for(effects, conn).as_slice() {
        [one] => one.clone(),
        other => panic!("expected one answer to {conn:?}, got {other:?}"),
    }
}

/// The reply to request `id` of `conn`.
pub(super) fn reply_to(effects: &[Effect], conn: ConnId, id: u32) -> Reply {
    match answer(effects, conn) {
        ServerFrame::Reply { id: got, reply } if got == id => reply,
        other => panic!("expected the reply to {id}, got {other:?}"),
    }
}

pub(super) fn error_code(reply: &Reply) -> &str {
    match reply {
        Reply::Error(body) => &body.code,
        other => panic!("expected an error, got {other:?}"),
    }
}

/// Every kind of request, with arguments that make sense for a logged-in `alice`.
fn every_request() -> Vec<Request> {
    use chat_wire::WireRecipient::{Group, User};
    vec![
        Request::Register {
            username: "zed".into(),
            password: PASSWORD.into(),
        },
        Request::LogIn {
            username: "alice".into(),
            password: PASSWORD.into(),
        },
        Request::Send {
            client_message_id: 1,
            to: User("alice".into()),
            body: "hi".into(),
        },
        Request::History {
            with: User("alice".into()),
            before: None,
            limit: None,
        },
        Request::Ping,
        Request::CreateGroup {
            group: "team".into(),
            members: vec![],
        },
        Request::Invite {
            group: "team".into(),
            user: "nobody".into(),
        },
        Request::Kick {
            group: "team".into(),
            user: "nobody".into(),
        },
        Request::Leave {
            group: "other".into(),
        },
        Request::SetOwner {
            group: "team".into(),
            user: "nobody".into(),
        },
        Request::MakeAdmin {
            group: "team".into(),
            user: "nobody".into(),
        },
        Request::Members {
            group: "team".into(),
        },
        Request::Groups,
        Request::Resend {
            client_message_id: 2,
            to: Group("team".into()),
            body: "again".into(),
        },
        Request::Conversations,
        Request::MarkRead {
            with: User("alice".into()),
            up_to: 1,
        },
        Request::CatchUp {
            after: 0,
            limit: None,
        },
        Request::Quit,
    ]
}

#[test]
fn every_request_is_answered_exactly_once_logged_in_or_not() {
    let mut world = World::new();
    for request in every_request() {
        let before_login = world.connect();
        let (_, mut effects) = world.request(before_login, request.clone());
        effects.extend(world.hash_all());
        assert_eq!(
            answers_for(&effects, before_login).len(),
            1,
            "{request:?} before log-in: {effects:?}"
        );
        let alice = world.user(&format!("alice{}", world.next_conn));
        let (_, mut effects) = world.request(alice, request.clone());
        effects.extend(world.hash_all());
        assert_eq!(
            answers_for(&effects, alice).len(),
            1,
            "{request:?} logged in: {effects:?}"
        );
    }
}

#[test]
fn a_connection_that_is_gone_is_answered_nothing_and_forgotten() {
    let mut world = World::new();
    let alice = world.user("alice");
    let phone = world.device("alice");
    let bob = world.user("bob");
    world.apply(vec![Input::Closed { conn: phone }]);
    // Nothing for the closed one: neither answers nor deliveries.
    let (_, effects) = world.request(phone, Request::Ping);
    assert!(effects.is_empty(), "{effects:?}");
    let (_, effects) = world.request(
        bob,
        Request::Send {
            client_message_id: 0,
            to: chat_wire::WireRecipient::User("alice".into()),
            body: "hello".into(),
        },
    );
    assert_eq!(frames_for(&effects, alice).len(), 1);
    assert!(frames_for(&effects, phone).is_empty());
}

#[test]
fn the_loop_refusal_comes_after_the_answers_owed() {
    let mut world = World::new();
    let alice = world.user("alice");
    let effects = world.apply(vec![
        Input::Frame {
            conn: alice,
            frame: ClientFrame::Request {
                id: 7,
                request: Request::Ping,
            },
        },
        Input::Refuse {
            conn: alice,
            code: "frame_timeout",
            message: "too slow".into(),
        },
        Input::Frame {
            conn: alice,
            frame: ClientFrame::Request {
                id: 8,
                request: Request::Ping,
            },
        },
    ]);
    let frames = frames_for(&effects, alice);
    assert!(
        matches!(
            frames.as_slice(),
            [
                ServerFrame::Reply { id: 7, .. },
                ServerFrame::Closing(closing)
            ] if closing.code == "frame_timeout"
        ),
        "{frames:?}"
    );
}
