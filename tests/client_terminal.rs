//! The real `chat-client` in a pseudo-terminal, as a person uses it: prompts, a password that is
//! never echoed, and a message arriving while a line is half typed, which must not mix into it.

mod common;

use std::time::Duration;

use chat_store_contract::TempDir;
use common::pty::{Pty, wait_exit};
use common::{ServerProcess, user};

const ALICE_PASSWORD: &str = "alice-secret-pw";

#[test]
fn an_incoming_message_does_not_mix_into_a_half_typed_line() {
    let data = TempDir::new("client-pty");
    let server = ServerProcess::start("sled", &data, &[]);
    let mut bob = user(&server, "bob");
    let mut pty = Pty::open();
    let cooked = pty.local_modes();
    assert_ne!(cooked & libc::ICANON, 0);
    let mut client = pty.spawn_client(&server);

    // A new account: username, then the password twice, never shown.
    pty.wait_for("username: ");
    pty.type_keys("alice\r");
    pty.wait_for("password: ");
    pty.type_keys(&format!("{ALICE_PASSWORD}\r"));
    pty.wait_for("password again: ");
    pty.type_keys(&format!("{ALICE_PASSWORD}\r"));
    pty.wait_for("Registered and logged in as alice.");
    assert_eq!(
        pty.local_modes() & (libc::ICANON | libc::ECHO),
        0,
        "raw mode"
    );

    // Half a command, then a message arrives.
    pty.type_keys("/send bob hel");
    pty.wait_for("> /send bob hel");
    bob.send_ok("alice", "ping from bob");
    let shown = pty.wait_for("bob: ping from bob\r\n\r> /send bob hel\x1b[K");
    // The row was erased before the message was printed over it: the message starts a clean row.
    let at = shown.find("bob: ping from bob").unwrap();
    let before = &shown[..at];
    let row_start = before.rfind("\r\x1b[K").expect("the row is erased first");
    let stamp = &before[row_start + 4..];
    assert!(
        stamp.len() == 8 && stamp.starts_with('[') && stamp.ends_with("] "),
        "only the time stamp precedes the sender on the message's row: {stamp:?}"
    );

    // Finishing the line sends exactly what was typed, split around the message.
    pty.type_keys("lo\r");
    let message = bob.next_message();
    assert_eq!(
        (message.from.as_str(), message.body.as_str()),
        ("alice", "hello")
    );
    pty.wait_for("you -> bob: hello");

    // A lone Escape, read by itself, neither freezes the client nor changes the line.
    pty.type_keys("\x1b");
    std::thread::sleep(Duration::from_millis(200));
    pty.type_keys("/send bob after escape\r");
    assert_eq!(bob.next_message().body, "after escape");

    // Editing keys: Ctrl-U clears, Ctrl-A and Ctrl-E move, left arrow and backspace edit.
    pty.type_keys("junk\x15/send bob wrld\x1b[D\x1b[D\x1b[Do\x05!\x7f?\x01\x05\r");
    let message = bob.next_message();
    assert_eq!(message.body, "world?");

    // Ctrl-D on an empty line leaves; the terminal is as it was.
    pty.type_keys("\x04");
    let status = wait_exit(&mut client);
    assert!(status.success(), "{status:?}");
    assert!(
        !pty.output().contains(ALICE_PASSWORD),
        "the password was echoed"
    );
    assert_eq!(
        pty.local_modes(),
        cooked,
        "the terminal's modes are restored"
    );
}

#[test]
fn a_wrong_password_at_a_terminal_is_asked_again_then_ctrl_c_clears_then_leaves() {
    let data = TempDir::new("client-pty-wrong");
    let server = ServerProcess::start("sqlite", &data, &[]);
    let _alice = user(&server, "alice");
    let mut pty = Pty::open();
    let mut client = pty.spawn_client(&server);
    pty.wait_for("username: ");
    // Typed ahead in one go, as a paste or a password manager does: the password is still
    // never shown, not even under the username prompt.
    pty.type_keys("alice\rnot-the-password\r");
    // The error, then the prompt again on a fresh row.
    pty.wait_for("[wrong_password]\r\n");
    pty.wait_for("may belong to someone else: press Enter with no password to choose another name.\r\n\rpassword: ");
    pty.type_keys(&format!("{}\r", common::PASSWORD));
    pty.wait_for("Logged in as alice.");
    // Ctrl-C on a half-typed line only clears it; on the empty line it leaves.
    pty.type_keys("half a line");
    pty.wait_for("> half a line");
    pty.type_keys("\x03");
    pty.wait_for("> half a line\x1b[K\r> \x1b[K");
    assert!(client.try_wait().unwrap().is_none(), "still running");
    pty.type_keys("\x03");
    let status = wait_exit(&mut client);
    assert!(status.success(), "{status:?}");
    let shown = pty.output();
    assert!(!shown.contains("not-the-password"), "{shown:?}");
    assert!(!shown.contains(common::PASSWORD), "{shown:?}");
}
