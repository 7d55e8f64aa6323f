//! Password hashing at its real cost (argon2id, 19 MiB, 2 passes): memory stays flat however
//! many log-ins pass, and the checks queued for connections that closed are never computed.

mod common;

use std::net::Shutdown;

use chat::bench::server_process::resident_bytes_of;
use chat_store_contract::TempDir;
use chat_wire::{ClientFrame, Reply, Request, ServerFrame};
use common::*;

const OWASP_COST: [&str; 4] = ["--hash-memory-kib", "19456", "--hash-passes", "2"];

#[test]
fn forty_log_ins_at_full_cost_keep_memory_flat() {
    let data = TempDir::new("e2e-hash-memory");
    let server = ServerProcess::start("sqlite", &data, &OWASP_COST);
    drop(user(&server, "alice"));
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for _ in 0..10 {
                    let mut client = server.client();
                    let reply = client.log_in("alice", PASSWORD);
                    assert!(matches!(reply, Reply::LoggedIn { .. }), "{reply:?}");
                }
            });
        }
    });
    let resident = resident_bytes_of(server.child.id()).expect("/proc");
    eprintln!("resident after 41 hashes: {} MiB", resident >> 20);
    // Each of the two hashing threads keeps one 19 MiB block; nothing else holds hashing memory.
    assert!(
        resident < 64 * 1024 * 1024,
        "{} MiB resident after 41 hashes",
        resident >> 20
    );
}

#[test]
fn password_checks_of_connections_that_closed_are_dropped() {
    let data = TempDir::new("e2e-hash-dropped");
    let mut flags = OWASP_COST.to_vec();
    flags.extend(["--hash-threads", "1"]);
    let server = ServerProcess::start("sqlite", &data, &flags);
    const ABANDONED: usize = 100;
    let abandoned: Vec<Client> = (0..ABANDONED)
        .map(|_| {
            let mut client = server.client();
            client.write_frame(&ClientFrame::Request {
                id: 1,
                request: Request::LogIn {
                    username: "nobody".into(),
                    password: PASSWORD.into(),
                },
            });
            client
        })
        .collect();
    drop(abandoned);
    // A newcomer is checked after at most the few checks a thread had begun.
    let mut newcomer = server.client();
    assert!(matches!(
        newcomer.register("newcomer"),
        Reply::Registered { .. }
    ));
    // One thread takes the queue in order, so every abandoned check was computed or skipped
    // before the newcomer's. The log counts them as the core's thread sees them go, in one line
    // or several; the last says how many in all.
    server.wait_for_log("queued password checks of connections that closed");
    let deadline = std::time::Instant::now() + READ_TIMEOUT;
    loop {
        let log = server.log_text();
        let dropped = log
            .lines()
            .filter_map(|line| {
                line.split_once('(')?
                    .1
                    .split_once(" in all")?
                    .0
                    .parse()
                    .ok()
            })
            .max()
            .unwrap_or(0usize);
        if dropped >= ABANDONED / 2 {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{dropped} of {ABANDONED} abandoned checks dropped:\n{log}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A client that shuts its sending side after its requests (as `nc -N` does) has not gone: it
/// still gets the answer to its log-in, and to what followed it.
#[test]
fn a_log_in_then_a_half_close_still_gets_its_answers() {
    let data = TempDir::new("e2e-hash-half-close");
    let server = ServerProcess::start("sqlite", &data, &OWASP_COST);
    drop(user(&server, "alice"));
    let mut client = server.client();
    client.write_frame(&ClientFrame::Request {
        id: 1,
        request: Request::LogIn {
            username: "alice".into(),
            password: PASSWORD.into(),
        },
    });
    client.write_frame(&ClientFrame::Request {
        id: 2,
        request: Request::Ping,
    });
    client.stream.shutdown(Shutdown::Write).expect("half-close");
    let mut replies = Vec::new();
    while let Some(frame) = client.try_read_frame() {
        if let ServerFrame::Reply { id, reply } = frame {
            replies.push((id, reply));
        }
    }
    assert_eq!(
        replies,
        [
            (
                1,
                Reply::LoggedIn {
                    username: "alice".into()
                }
            ),
            (2, Reply::Pong)
        ]
    );
}
