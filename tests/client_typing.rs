//! The real `chat-client` in a pseudo-terminal, tried as a new user would: nothing typed is
//! thrown away, typing is quick (recall, completion, /query), and help comes where people
//! stumble. One test per item of issue 16's lists.

mod common;

use std::path::PathBuf;
use std::process::{Child, Command};

use chat_store_contract::TempDir;
use chat_wire::WireRecipient;
use common::chat_client::client_command;
use common::pty::{Pty, wait_exit};
use common::{PASSWORD, ServerProcess, user};

/// A terminal with `name` logged in (registered on first use).
fn logged_in(server: &ServerProcess, name: &str) -> (Pty, Child) {
    let mut pty = Pty::open();
    let client = pty.spawn_client(server);
    pty.wait_for("username: ");
    pty.type_keys(&format!("{name}\r{PASSWORD}\r"));
    if pty.wait_for_any(&["ogged in as", "password again: "]) == 1 {
        pty.type_keys(&format!("{PASSWORD}\r"));
    }
    pty.wait_for(&format!("ogged in as {name}."));
    (pty, client)
}

fn leave(mut pty: Pty, mut client: Child) {
    pty.type_keys("\x04");
    assert!(wait_exit(&mut client).success());
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
}

/// Runs `command` in a terminal to its exit: its status, and everything it showed once that
/// includes `last` (the reader may still be copying the last bytes when the process ends).
fn run_in_terminal(command: Command, last: &str) -> (std::process::ExitStatus, String) {
    let pty = Pty::open();
    let mut child = pty.spawn(command);
    let status = wait_exit(&mut child);
    (status, pty.wait_for(last))
}

#[test]
fn a_line_without_a_command_or_over_the_limit_stays_in_the_editor_to_be_fixed() {
    let data = TempDir::new("typing-refused");
    let server = ServerProcess::start("sled", &data, &[]);
    let mut bob = user(&server, "bob");
    let (mut pty, client) = logged_in(&server, "alice");
    let mark = pty.mark();
    pty.type_keys("hello bob\r");
    // The error, then the line drawn again under it, whole.
    pty.wait_for_after(mark, "[not_a_command]\r\n\r> hello bob\x1b[K");
    // Fixed at its start: Ctrl-A and the command.
    pty.type_keys("\x01/send bob \r");
    assert_eq!(bob.next_message().body, "hello bob");

    let too_long = format!("/send bob {}", "x".repeat(4_001));
    let mark = pty.mark();
    pty.type_keys(&format!("{too_long}\r"));
    pty.wait_for_after(mark, "[message_too_long]");
    // Two characters off the end, and it goes.
    pty.type_keys("\x7f\x7f\r");
    assert_eq!(bob.next_message().body.len(), 3_999);
    leave(pty, client);
}

#[test]
fn ctrl_c_clears_a_half_typed_line_and_quits_on_an_empty_one() {
    let data = TempDir::new("typing-ctrl-c");
    let server = ServerProcess::start("sled", &data, &[]);
    let (mut pty, mut client) = logged_in(&server, "alice");
    pty.type_keys("/send bob half");
    pty.wait_for("> /send bob half");
    let mark = pty.mark();
    pty.type_keys("\x03");
    pty.wait_for_after(mark, "\r> \x1b[K");
    assert!(client.try_wait().unwrap().is_none(), "still running");
    pty.type_keys("\x03");
    assert!(wait_exit(&mut client).success());
}

#[test]
fn up_and_down_recall_earlier_lines() {
    let data = TempDir::new("typing-recall");
    let server = ServerProcess::start("sled", &data, &[]);
    let mut bob = user(&server, "bob");
    let (mut pty, client) = logged_in(&server, "alice");
    pty.type_keys("/send bob first\r");
    assert_eq!(bob.next_message().body, "first");
    pty.type_keys("/send bob second\r");
    assert_eq!(bob.next_message().body, "second");
    // Up twice: the first line; edited and sent again.
    let mark = pty.mark();
    pty.type_keys("\x1b[A\x1b[A");
    pty.wait_for_after(mark, "> /send bob first\x1b[K");
    pty.type_keys(" again\r");
    assert_eq!(bob.next_message().body, "first again");
    // Up then Down comes back to what was being typed.
    let mark = pty.mark();
    pty.type_keys("/send bob dra\x1b[A\x1b[B");
    pty.wait_for_after(mark, "> /send bob dra\x1b[K");
    pty.type_keys("ft\r");
    assert_eq!(bob.next_message().body, "draft");
    leave(pty, client);
}

#[test]
fn tab_completes_commands_and_the_user_and_group_names_known() {
    let data = TempDir::new("typing-tab");
    let server = ServerProcess::start("sled", &data, &[]);
    let mut bob = user(&server, "bob");
    let (mut pty, client) = logged_in(&server, "alice");
    // alice learns bob's name from his message, and #team from creating it.
    bob.send_ok("alice", "hi");
    pty.wait_for("bob: hi");
    pty.type_keys("/cre\t#team b\t\r");
    pty.wait_for("#team: you created the group with bob");
    pty.type_keys("/se\t#te\thello team\r");
    let message = bob.next_message();
    assert_eq!(
        (message.to, message.body.as_str()),
        (WireRecipient::Group("team".into()), "hello team")
    );
    leave(pty, client);
}

#[test]
fn query_opens_a_conversation_the_prompt_names_and_query_alone_closes_it() {
    let data = TempDir::new("typing-query");
    let server = ServerProcess::start("sled", &data, &[]);
    let mut bob = user(&server, "bob");
    let (mut pty, client) = logged_in(&server, "alice");
    pty.type_keys("/query bob\r");
    pty.wait_for("\rbob> \x1b[K");
    pty.type_keys("just words\r");
    assert_eq!(bob.next_message().body, "just words");
    pty.type_keys("/create #team bob\r");
    pty.wait_for("#team: you created the group with bob");
    pty.type_keys("/query #team\r");
    pty.wait_for("\r#team> \x1b[K");
    pty.type_keys("to the group\r");
    let message = bob.next_message();
    assert_eq!(message.to, WireRecipient::Group("team".into()));
    let mark = pty.mark();
    pty.type_keys("/query\r");
    pty.wait_for_after(mark, "Plain lines are commands again.");
    pty.wait_for_after(mark, "\r> \x1b[K");
    leave(pty, client);
}

#[test]
fn logging_in_says_how_many_unread_messages_wait_and_where() {
    let data = TempDir::new("typing-unread");
    let server = ServerProcess::start("sled", &data, &[]);
    let (pty, client) = logged_in(&server, "alice");
    leave(pty, client);
    let mut bob = user(&server, "bob");
    bob.send_ok("alice", "one");
    bob.send_ok("alice", "two");
    let mut carol = user(&server, "carol");
    carol.send_ok("alice", "three");
    let (pty, client) = logged_in(&server, "alice");
    let shown = pty.wait_for("/unread to list, /history to read");
    assert!(
        shown.contains("3 unread: carol 1, bob 2. /unread to list, /history to read")
            || shown.contains("3 unread: bob 2, carol 1. /unread to list, /history to read"),
        "{shown:?}"
    );
    leave(pty, client);
}

#[test]
fn a_wrong_password_at_registration_says_the_name_may_be_taken_and_another_can_be_chosen() {
    let data = TempDir::new("typing-taken");
    let server = ServerProcess::start("sled", &data, &[]);
    drop(user(&server, "alice"));
    let mut pty = Pty::open();
    let client = pty.spawn_client(&server);
    pty.wait_for("username: ");
    // Someone new who wants the name alice, with their own password.
    pty.type_keys("alice\rmy-own-password\r");
    pty.wait_for("If alice is not your account, the name may belong to someone else");
    pty.type_keys("\r");
    pty.wait_for("Choose another name.");
    let mark = pty.mark();
    pty.type_keys("alice2\rmy-own-password\rmy-own-password\r");
    pty.wait_for_after(mark, "Registered and logged in as alice2.");
    // Three wrong tries end at the name prompt, not at an exit.
    leave(pty, client);
    let mut pty = Pty::open();
    let mut client = pty.spawn_client(&server);
    pty.wait_for("username: ");
    pty.type_keys("alice\rwrong-1-password\rwrong-2-password\rwrong-3-password\r");
    pty.wait_for("3 wrong passwords for alice: the name may belong to someone else.");
    pty.wait_for("\rusername: \x1b[K");
    assert!(client.try_wait().unwrap().is_none(), "still running");
    pty.type_keys("\x04");
    assert!(wait_exit(&mut client).success());
}

#[test]
fn history_asked_for_more_than_there_is_says_all_of_them() {
    let data = TempDir::new("typing-history-all");
    let server = ServerProcess::start("sled", &data, &[]);
    let mut bob = user(&server, "bob");
    let (mut pty, client) = logged_in(&server, "alice");
    for n in 1..=8 {
        bob.send_ok("alice", &format!("message {n}"));
    }
    pty.wait_for("bob: message 8");
    pty.type_keys("/history bob 9999\r");
    pty.wait_for("(That is all 8 messages with bob.)");
    leave(pty, client);
}

#[test]
fn members_are_listed_in_columns_that_line_up() {
    let data = TempDir::new("typing-members");
    let server = ServerProcess::start("sled", &data, &[]);
    drop(user(&server, "bob"));
    drop(user(&server, "christopher"));
    let (mut pty, client) = logged_in(&server, "alice");
    pty.type_keys("/create #team bob christopher\r/admin #team bob\r/members #team\r");
    let shown = pty.wait_for("  christopher  member");
    let rows: Vec<&str> = shown
        .split("\r\n")
        .filter_map(|row| row.rsplit("\x1b[K").next())
        .filter(|row| {
            ["  alice ", "  bob ", "  christopher "]
                .iter()
                .any(|name| row.starts_with(name))
        })
        .collect();
    assert_eq!(
        rows,
        [
            "  alice        owner   online",
            "  bob          admin",
            "  christopher  member",
        ],
        "{shown:?}"
    );
    leave(pty, client);
}

#[test]
fn help_lists_the_commands_used_inside_a_session() {
    let mut command = Command::new(env!("CARGO_BIN_EXE_chat-client"));
    command.arg("--help");
    let (status, shown) = run_in_terminal(command, "what was missed.");
    assert!(status.success());
    for command in [
        "/send <user|#group>",
        "/query",
        "/history",
        "/unread",
        "/members #group",
        "quit",
    ] {
        assert!(shown.contains(command), "{command}: {shown}");
    }
    assert!(shown.contains("--reconnect-for"), "{shown}");
}

#[test]
fn ca_without_tls_says_that_ca_needs_tls() {
    let mut command = Command::new(env!("CARGO_BIN_EXE_chat-client"));
    command.arg("--ca").arg(fixture("ca.pem"));
    let (status, shown) = run_in_terminal(command, "--ca needs --tls");
    assert_eq!(status.code(), Some(2), "{shown}");
}

#[test]
fn a_tls_client_at_a_plain_server_is_told_to_drop_tls() {
    let data = TempDir::new("typing-tls-plain");
    let server = ServerProcess::start("sled", &data, &[]);
    let mut command = client_command(server.addr);
    command.arg("--tls").arg("--ca").arg(fixture("ca.pem"));
    let (status, shown) = run_in_terminal(command, "drop --tls");
    assert_eq!(status.code(), Some(1), "{shown}");
}

#[test]
fn a_certificate_for_another_name_is_reported_as_that() {
    let data = TempDir::new("typing-tls-name");
    // The certificate names 127.0.0.1 and localhost; the server is reached as 127.0.0.2.
    let server = ServerProcess::start_on(
        "sled",
        &data,
        "127.0.0.2:0",
        &[
            "--tls-cert",
            fixture("server.pem").to_str().expect("utf-8 path"),
            "--tls-key",
            fixture("server.key").to_str().expect("utf-8 path"),
        ],
    );
    let mut command = client_command(server.addr);
    command.arg("--tls").arg("--ca").arg(fixture("ca.pem"));
    let (status, shown) = run_in_terminal(
        command,
        "its certificate is for another name, not 127.0.0.2",
    );
    assert_eq!(status.code(), Some(1), "{shown}");
    assert!(!shown.contains("authority"), "{shown}");
}
