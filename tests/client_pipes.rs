//! The real `chat-client` binary through pipes against the real server: the original workflow
//! for two people, several devices, every kind of mistake, and servers that are missing or stop.

mod common;

use std::net::TcpListener;
use std::process::Stdio;
use std::time::Duration;

use chat_store_contract::TempDir;
use common::chat_client::{ClientProcess, client_command, logged_in, run_script, script};
use common::{PASSWORD, ServerProcess};

/// `[HH:MM] rest`: the line's text after its time stamp, or the line itself.
fn without_time(line: &str) -> &str {
    match line.strip_prefix('[').and_then(|l| l.split_once("] ")) {
        Some((_, rest)) => rest,
        None => line,
    }
}

/// The next line `client` shows that starts (after its time) with `start`, without the time.
fn next_shown(client: &mut ClientProcess, start: &str) -> String {
    without_time(&client.expect(start, |l| without_time(l).starts_with(start))).to_string()
}

fn texts(lines: &[String]) -> Vec<&str> {
    lines.iter().map(|l| without_time(l)).collect()
}

fn the_original_workflow_for_two_people(store: &'static str) {
    let data = TempDir::new("client-1");
    let server = ServerProcess::start(store, &data, &[]);
    // Bob registers and waits at his "terminal".
    let mut bob = logged_in(server.addr, "bob");

    let alice = run_script(
        server.addr,
        &script("alice", &["/send bob hello bob", "/history bob", "quit"]),
    );
    assert!(alice.status.success(), "{alice:?}");
    assert_eq!(
        texts(&alice.stdout),
        [
            "Registered and logged in as alice. Type /help for the commands.",
            "you -> bob: hello bob",
            "History with bob, oldest first:",
            "you -> bob: hello bob",
        ]
    );
    // The time stamp is HH:MM, in UTC as the test asked.
    let stamp = &alice.stdout[1][..7];
    assert!(
        stamp.starts_with('[') && stamp.ends_with(']') && stamp.as_bytes()[3] == b':',
        "{stamp}"
    );

    // Bob sees it live, answers, reads the history, quits.
    assert_eq!(next_shown(&mut bob, "alice:"), "alice: hello bob");
    bob.write_line("/send alice hi alice, how are you?");
    bob.write_line("/history alice");
    bob.write_line("quit");
    let bob = bob.finish();
    assert!(bob.status.success(), "{bob:?}");
    assert_eq!(
        texts(&bob.stdout),
        [
            "Registered and logged in as bob. Type /help for the commands.",
            "alice: hello bob",
            "you -> alice: hi alice, how are you?",
            "History with alice, oldest first:",
            "alice: hello bob",
            "you -> alice: hi alice, how are you?",
        ]
    );

    // Alice comes back: a known name logs in, is told what waits, and her history has both
    // messages.
    let alice = run_script(server.addr, &script("alice", &["/history bob"]));
    assert!(alice.status.success(), "{alice:?}");
    assert_eq!(
        texts(&alice.stdout),
        [
            "Logged in as alice. Type /help for the commands.",
            "1 unread: bob 1. /unread to list, /history to read",
            "History with bob, oldest first:",
            "you -> bob: hello bob",
            "bob: hi alice, how are you?",
        ]
    );
}

fn one_person_on_two_devices(store: &'static str) {
    let data = TempDir::new("client-2");
    let server = ServerProcess::start(store, &data, &[]);
    let mut laptop = logged_in(server.addr, "alice");
    let mut phone = logged_in(server.addr, "alice");
    let mut bob = logged_in(server.addr, "bob");

    bob.write_line("/send alice to both of you");
    assert_eq!(next_shown(&mut laptop, "bob:"), "bob: to both of you");
    assert_eq!(next_shown(&mut phone, "bob:"), "bob: to both of you");

    laptop.write_line("/send bob sent from the laptop");
    assert_eq!(
        next_shown(&mut laptop, "you -> bob"),
        "you -> bob: sent from the laptop"
    );
    // The phone shows it as alice's own, with its recipient.
    assert_eq!(
        next_shown(&mut phone, "you -> bob"),
        "you -> bob: sent from the laptop"
    );
    assert_eq!(
        next_shown(&mut bob, "alice:"),
        "alice: sent from the laptop"
    );
    for client in [laptop, phone, bob] {
        assert!(client.finish().status.success());
    }
}

fn mistakes_get_one_line_each_and_the_session_goes_on(store: &'static str) {
    let data = TempDir::new("client-3");
    let server = ServerProcess::start(store, &data, &[]);
    let _bob = logged_in(server.addr, "bob");
    let longest = format!("/send bob {}", "a".repeat(4_000));
    let too_long = format!("/send bob {}", "a".repeat(4_001));
    let finished = run_script(
        server.addr,
        &script(
            "alice",
            &[
                "/send zed hello?",
                "hello bob",
                "/frobnicate",
                "/send bob",
                "/history",
                "/send B@d hi",
                &too_long,
                &longest,
                "",
                "/history bob 1",
            ],
        ),
    );
    assert!(finished.status.success(), "{finished:?}");
    let lines = &finished.stdout;
    let codes: Vec<&str> = lines[1..8]
        .iter()
        .map(|l| {
            assert!(l.starts_with("error: "), "{l}");
            l.rsplit_once('[')
                .map_or("", |(_, code)| code.trim_end_matches(']'))
        })
        .collect();
    assert_eq!(
        codes,
        [
            "unknown_user",
            "not_a_command",
            "unknown_command",
            "usage",
            "usage",
            "invalid_username",
            "message_too_long",
        ]
    );
    // The 4,000-character message went through, and history shows it.
    let sent = format!("you -> bob: {}", "a".repeat(4_000));
    assert_eq!(without_time(&lines[8]), sent);
    assert_eq!(without_time(&lines[10]), sent);
    assert_eq!(lines.len(), 11, "{lines:?}");
}

fn a_wrong_password_stops_a_script_with_a_clear_reason(store: &'static str) {
    let data = TempDir::new("client-4");
    let server = ServerProcess::start(store, &data, &[]);
    let _alice = logged_in(server.addr, "alice");
    let finished = run_script(
        server.addr,
        "alice\nnot the password\n/send alice should never be sent\n",
    );
    assert_eq!(finished.status.code(), Some(1), "{finished:?}");
    assert!(finished.stderr.contains("[wrong_password]"), "{finished:?}");
    assert!(finished.stdout.is_empty(), "{finished:?}");
}

fn a_group_from_the_client(store: &'static str) {
    let data = TempDir::new("client-groups");
    let server = ServerProcess::start(store, &data, &[]);
    // carol exists but is offline.
    assert!(
        run_script(server.addr, &script("carol", &[]))
            .status
            .success()
    );
    let mut bob = logged_in(server.addr, "bob");
    let alice = run_script(
        server.addr,
        &script(
            "alice",
            &[
                "/create #team bob carol",
                "/send #team hello team",
                "/members #team",
                "/groups",
                "/kick #team carol",
                "/leave #team",
                "/owner #team bob",
                "/leave #team",
                "/send #team anyone?",
                "/history #team",
            ],
        ),
    );
    assert!(alice.status.success(), "{alice:?}");
    assert_eq!(
        texts(&alice.stdout[1..]),
        [
            "#team: you created the group with bob, carol",
            "#team you: hello team",
            "Members of #team (3):",
            "  alice  owner   online",
            "  bob    member  online",
            "  carol  member",
            "Your groups (1):",
            "  #team  owner",
            "#team: you removed carol",
            "error: You own #team: make another member the owner first (/owner #team <user>). [owner_must_hand_over]",
            "#team: you made bob the owner",
            "#team: you left",
            "error: You are not a member of #team. [not_a_member]",
            "error: You are not a member of #team. [not_a_member]",
        ]
    );
    for expected in [
        "#team: alice created the group with you, carol",
        "#team alice: hello team",
        "#team: alice removed carol",
        "#team: alice made you the owner",
        "#team: alice left",
    ] {
        assert_eq!(next_shown(&mut bob, "#team"), expected);
    }
    bob.write_line("/history #team");
    bob.write_line("/leave #team");
    bob.write_line("/groups");
    let bob = bob.finish();
    let shown = texts(&bob.stdout);
    let from = shown
        .iter()
        .position(|l| *l == "History with #team, oldest first:")
        .unwrap();
    assert_eq!(
        shown[from + 1..],
        [
            "#team: alice created the group with you, carol",
            "#team alice: hello team",
            "#team: alice removed carol",
            "#team: alice made you the owner",
            "#team: alice left",
            "You left #team, its last member: the group has ended, and nobody can read its history again.",
            "You are in no groups yet: /create #name starts one.",
        ]
    );
}

on_both_stores!(
    a_group_from_the_client,
    the_original_workflow_for_two_people,
    one_person_on_two_devices,
    mistakes_get_one_line_each_and_the_session_goes_on,
    a_wrong_password_stops_a_script_with_a_clear_reason,
);

#[test]
fn a_script_file_works_as_stdin() {
    let data = TempDir::new("client-5");
    let server = ServerProcess::start("sled", &data, &[]);
    let dir = TempDir::new("client-6");
    let path = dir.path().join("script.txt");
    std::fs::write(&path, script("alice", &["/send alice a note", "quit"])).unwrap();
    let file = std::fs::File::open(&path).unwrap();
    let finished =
        ClientProcess::start_with(client_command(server.addr), Stdio::from(file)).finish();
    assert!(finished.status.success(), "{finished:?}");
    assert_eq!(without_time(&finished.stdout[1]), "you -> alice: a note");
}

#[test]
fn end_of_input_waits_for_every_reply_past_the_in_flight_cap() {
    let data = TempDir::new("client-7");
    let server = ServerProcess::start("sled", &data, &[]);
    let count = chat::client::REQUESTS_IN_FLIGHT_MAX + 44;
    let commands: Vec<String> = (0..count)
        .map(|n| format!("/send alice note {n}"))
        .collect();
    let commands: Vec<&str> = commands.iter().map(String::as_str).collect();
    // No quit: the input just ends.
    let finished = run_script(server.addr, &script("alice", &commands));
    assert!(finished.status.success(), "{finished:?}");
    let acks: Vec<&str> = texts(&finished.stdout[1..]);
    let expected: Vec<String> = (0..count)
        .map(|n| format!("you -> alice: note {n}"))
        .collect();
    assert_eq!(acks, expected);

    let again = run_script(server.addr, &script("alice", &["/history alice 500"]));
    assert_eq!(again.stdout.len(), 2 + count, "every note was stored");
}

#[test]
fn a_server_that_is_not_running_is_a_clear_error() {
    // A port that was free a moment ago: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let finished = run_script(port, &script("alice", &[]));
    assert_eq!(finished.status.code(), Some(1));
    assert!(
        finished.stderr.contains("cannot reach the server")
            && finished.stderr.contains(&port.to_string()),
        "{finished:?}"
    );
    assert!(!finished.stderr.contains("panicked"));
}

#[test]
fn a_server_stopped_under_a_script_is_waited_for_then_given_up_naming_what_was_not_delivered() {
    let data = TempDir::new("client-8");
    let mut server = ServerProcess::start("sled", &data, &[]);
    let mut command = client_command(server.addr);
    command.args(["--reconnect-for", "2"]);
    let mut alice = ClientProcess::start_with(command, Stdio::piped());
    alice.write_line("alice");
    alice.write_line(PASSWORD);
    alice.expect_line("Registered and logged in as alice.");
    server.signal("TERM");
    assert!(server.wait_exit(Duration::from_secs(20)).is_some());
    // The shutdown frame is a loss like any other: one line, then retries.
    let lost = alice.expect_line("Connection lost");
    assert!(
        lost.contains("[server_shutdown]") && lost.contains("reconnecting in 2 s..."),
        "{lost}"
    );
    // Typed while the server is away: kept, shown pending, and named when the client gives up.
    alice.write_line("/send alice never delivered");
    alice.expect_line("(pending) you -> alice: never delivered");
    let finished = alice.wait();
    assert_eq!(finished.status.code(), Some(1), "{finished:?}");
    assert!(
        finished.stderr.contains("Gave up reconnecting after 2 s")
            && finished
                .stderr
                .contains("Not delivered: 1 message: to alice \"never delivered\"."),
        "{finished:?}"
    );
    assert!(!finished.stderr.contains("panicked"));
}

#[test]
fn a_script_whose_server_was_killed_exits_non_zero_after_reconnect_for() {
    let data = TempDir::new("client-9");
    let mut server = ServerProcess::start("sled", &data, &[]);
    let mut command = client_command(server.addr);
    command.args(["--reconnect-for", "1"]);
    let mut alice = ClientProcess::start_with(command, Stdio::piped());
    alice.write_line("alice");
    alice.write_line(PASSWORD);
    alice.expect_line("Registered and logged in as alice.");
    server.signal("KILL");
    assert!(server.wait_exit(Duration::from_secs(20)).is_some());
    // No farewell from a killed server: the client notices the close by itself.
    alice.expect_line("Connection lost (the connection to the server was lost)");
    let finished = alice.wait();
    assert_eq!(finished.status.code(), Some(1), "{finished:?}");
    assert!(
        finished.stderr.contains("Gave up reconnecting after 1 s")
            && finished
                .stderr
                .contains("Everything sent before was delivered."),
        "{finished:?}"
    );
}

#[test]
fn the_password_is_asked_once_from_a_script_and_registration_needs_a_valid_one() {
    let data = TempDir::new("client-10");
    let server = ServerProcess::start("sled", &data, &[]);
    let finished = run_script(server.addr, "alice\nshort\n");
    assert_eq!(finished.status.code(), Some(1), "{finished:?}");
    assert!(
        finished.stderr.contains("[invalid_password]"),
        "{finished:?}"
    );
    let finished = run_script(server.addr, &format!("alice\n{PASSWORD}\n"));
    assert!(finished.status.success(), "{finished:?}");
}

#[test]
fn a_connection_the_server_dropped_before_login_is_made_again() {
    let data = TempDir::new("client-login-timeout");
    let server = ServerProcess::start("sled", &data, &["--login-timeout-secs", "1"]);
    let mut slow = ClientProcess::start(server.addr);
    // Longer than the server's login timeout: it closes the client's first connection.
    std::thread::sleep(Duration::from_millis(2_500));
    slow.write_line("alice");
    slow.write_line(PASSWORD);
    slow.expect_line("Registered and logged in as alice.");
    slow.write_line("/send alice made it");
    assert_eq!(
        next_shown(&mut slow, "you -> alice"),
        "you -> alice: made it"
    );
    assert!(slow.finish().status.success());
}

/// CPU seconds (user + system) the process has used, from /proc.
fn cpu_seconds(pid: u32) -> f64 {
    chat::bench::server_process::cpu_time_of(pid)
        .expect("reads /proc")
        .as_secs_f64()
}

#[test]
fn waiting_for_a_reply_after_the_input_ended_does_not_spin() {
    use chat_wire::{FRAME_BYTES_MAX, FrameDecoder, PROTOCOL_VERSION, ServerFrame, encode_frame};
    use std::io::{Read, Write};
    // A server that says Welcome and then never answers anything.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        let mut decoder = FrameDecoder::new(FRAME_BYTES_MAX);
        let mut chunk = [0u8; 1024];
        while decoder.next_payload().unwrap().is_none() {
            let n = socket.read(&mut chunk).unwrap();
            decoder.push(&chunk[..n]);
        }
        let mut welcome = Vec::new();
        let frame = ServerFrame::Welcome {
            version: PROTOCOL_VERSION,
            frame_bytes_max: FRAME_BYTES_MAX as u32,
        };
        encode_frame(&frame, FRAME_BYTES_MAX, &mut welcome).unwrap();
        socket.write_all(&welcome).unwrap();
        while matches!(socket.read(&mut chunk), Ok(n) if n > 0) {}
    });
    let mut client = ClientProcess::start(addr);
    client.write_line("alice");
    client.write_line(PASSWORD);
    // The input ends while the log-in is unanswered: stdin is hung up but not wanted.
    client.close_stdin();
    std::thread::sleep(Duration::from_millis(300));
    let pid = client.pid();
    let before = cpu_seconds(pid);
    std::thread::sleep(Duration::from_secs(2));
    let used = cpu_seconds(pid) - before;
    assert!(
        used < 0.5,
        "the client used {used:.2} s of CPU in 2 s while it only waited"
    );
}
