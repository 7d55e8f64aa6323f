//! The session family over a real store: the Hello, register and log in around their password
//! jobs, what is allowed before logging in, and the handshake and log-in deadlines.

use std::time::Duration;

use chat_wire::{ClientFrame, Hello, MAGIC, Reply, Request, ServerFrame};

use crate::core::tests::{PASSWORD, World, answer, answers_for, error_code, reply_to};
use crate::core::{ConnId, Effect, Input};

fn closing_code(frame: &ServerFrame) -> &str {
    match frame {
        ServerFrame::Closing(body) => &body.code,
        other => panic!("expected Closing, got {other:?}"),
    }
}

#[test]
fn a_hello_with_the_wrong_magic_or_version_or_none_is_refused_and_closed() {
    let mut world = World::new();
    let wrong_magic = world.open();
    let hello = |magic, version| ClientFrame::Hello(Hello { magic, version });
    let effects = world.frame(wrong_magic, hello(*b"IRC!", 1));
    assert_eq!(closing_code(&answer(&effects, wrong_magic)), "bad_magic");
    assert!(matches!(&effects[0], Effect::Send(out) if out.then_close));
    let wrong_version = world.open();
    let effects = world.frame(wrong_version, hello(MAGIC, 99));
    assert_eq!(
        closing_code(&answer(&effects, wrong_version)),
        "unsupported_version"
    );
    let no_hello = world.open();
    let effects = world.frame(
        no_hello,
        ClientFrame::Request {
            id: 1,
            request: Request::Ping,
        },
    );
    assert_eq!(closing_code(&answer(&effects, no_hello)), "hello_expected");
    // Nothing more is acted on once closing.
    assert!(world.frame(no_hello, hello(MAGIC, 1)).is_empty());
}

#[test]
fn before_logging_in_only_register_log_in_ping_and_quit_are_served() {
    let mut world = World::new();
    let conn = world.connect();
    assert_eq!(world.ask(conn, Request::Ping), Reply::Pong);
    let refused = world.ask(conn, Request::Conversations);
    assert_eq!(error_code(&refused), "not_logged_in");
    let (id, effects) = world.request(conn, Request::Quit);
    assert_eq!(reply_to(&effects, conn, id), Reply::Bye);
    assert!(matches!(&effects[0], Effect::Send(out) if out.then_close));
}

#[test]
fn frames_after_a_register_wait_for_its_password_job_and_keep_their_order() {
    let mut world = World::new();
    let conn = world.connect();
    let effects = world.apply(vec![
        Input::Frame {
            conn,
            frame: ClientFrame::Request {
                id: 1,
                request: Request::Register {
                    username: "alice".into(),
                    password: PASSWORD.into(),
                },
            },
        },
        Input::Frame {
            conn,
            frame: ClientFrame::Request {
                id: 2,
                request: Request::Groups,
            },
        },
    ]);
    assert!(effects.is_empty(), "nothing before the hash: {effects:?}");
    let effects = world.hash_all();
    let ids: Vec<u32> = answers_for(&effects, conn)
        .iter()
        .map(|frame| match frame {
            ServerFrame::Reply { id, .. } => *id,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(ids, [1, 2]);
}

#[test]
fn a_wrong_password_an_unknown_name_and_a_full_hashing_queue() {
    let mut world = World::new();
    world.user("alice");
    let conn = world.connect();
    let (id, _) = world.request(
        conn,
        Request::LogIn {
            username: "alice".into(),
            password: "not the password".into(),
        },
    );
    assert_eq!(
        error_code(&reply_to(&world.hash_all(), conn, id)),
        "wrong_password"
    );
    let (id, _) = world.request(
        conn,
        Request::LogIn {
            username: "nobody".into(),
            password: PASSWORD.into(),
        },
    );
    assert_eq!(
        error_code(&reply_to(&world.hash_all(), conn, id)),
        "unknown_user"
    );
    world.hashing.full = true;
    let busy = world.ask(
        conn,
        Request::Register {
            username: "bob".into(),
            password: PASSWORD.into(),
        },
    );
    assert_eq!(error_code(&busy), "server_busy");
}

#[test]
fn a_connection_that_closes_during_its_password_job_cancels_it() {
    let mut world = World::new();
    let conn = world.connect();
    world.request(
        conn,
        Request::Register {
            username: "alice".into(),
            password: PASSWORD.into(),
        },
    );
    world.apply(vec![Input::Closed { conn }]);
    assert_eq!(world.hashing.cancelled, [conn]);
    assert!(world.hash_all().is_empty());
}

#[test]
fn the_handshake_and_the_log_in_have_deadlines() {
    let mut world = World::new();
    let silent = world.open();
    let greeted = world.connect();
    world.advance(Duration::from_secs(11));
    let effects = world.apply(vec![Input::Tick]);
    assert_eq!(
        closing_code(&crate::core::tests::frames_for(&effects, silent)[0]),
        "handshake_timeout"
    );
    assert!(crate::core::tests::frames_for(&effects, greeted).is_empty());
    world.advance(Duration::from_secs(50));
    let effects = world.apply(vec![Input::Tick]);
    assert_eq!(
        closing_code(&crate::core::tests::frames_for(&effects, greeted)[0]),
        "login_timeout"
    );
}

#[test]
fn registration_is_limited_per_address() {
    let mut world = World::new();
    let address = std::net::IpAddr::from([192, 0, 2, 9]);
    for n in 0..10 {
        let conn = world.open_from(address);
        world.frame(
            conn,
            ClientFrame::Hello(Hello {
                magic: MAGIC,
                version: 1,
            }),
        );
        world.request(
            conn,
            Request::Register {
                username: format!("user{n}"),
                password: PASSWORD.into(),
            },
        );
        world.hash_all();
    }
    let conn = world.open_from(address);
    world.frame(
        conn,
        ClientFrame::Hello(Hello {
            magic: MAGIC,
            version: 1,
        }),
    );
    let refused = world.ask(
        conn,
        Request::Register {
            username: "one_more".into(),
            password: PASSWORD.into(),
        },
    );
    assert_eq!(error_code(&refused), "rate_limited");
}

#[test]
fn nothing_is_delivered_after_a_bye_or_a_closing_in_the_same_batch() {
    let mut world = World::new();
    let alice = world.user("alice");
    let bob = world.user("bob");
    let send = |from: ConnId, to: &str, body: &str, id: u32| Input::Frame {
        conn: from,
        frame: ClientFrame::Request {
            id,
            request: Request::Send {
                client_message_id: u64::from(id),
                to: chat_wire::WireRecipient::User(to.into()),
                body: body.into(),
            },
        },
    };
    let quit = Input::Frame {
        conn: alice,
        frame: ClientFrame::Request {
            id: 900,
            request: Request::Quit,
        },
    };
    let effects = world.apply(vec![
        send(bob, "alice", "before your bye", 901),
        quit,
        send(bob, "alice", "after", 902),
    ]);
    let frames = crate::core::tests::frames_for(&effects, alice);
    let last = frames.last().expect("frames for alice");
    assert!(
        matches!(
            last,
            ServerFrame::Reply {
                reply: Reply::Bye,
                ..
            }
        ),
        "the Bye is the last frame alice gets: {frames:?}"
    );
    assert_eq!(
        frames.len(),
        2,
        "the message before the Bye, then the Bye: {frames:?}"
    );

    // The same for a connection the loop refuses (a bad frame, a timeout).
    let carol = world.user("carol");
    let dave = world.user("dave");
    let refuse = Input::Refuse {
        conn: carol,
        code: "frame_timeout",
        message: "A frame took too long to arrive.".into(),
    };
    let to_carol = send(dave, "carol", "after your closing", 903);
    let effects = world.apply(vec![refuse, to_carol]);
    let frames = crate::core::tests::frames_for(&effects, carol);
    assert!(
        matches!(frames.as_slice(), [ServerFrame::Closing(_)]),
        "{frames:?}"
    );
}
