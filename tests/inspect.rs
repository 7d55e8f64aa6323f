//! `chat-server inspect` on real stores the real server wrote: users and messages as text and
//! JSON, never a password hash; a sled store held by a running server is refused plainly.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use chat_store_contract::TempDir;
use chat_wire::{Reply, Request, WireRecipient};
use common::{PASSWORD, ServerProcess, user};

fn inspect(store: &str, data: &Path, json: bool) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_chat-server"));
    command
        .args(["inspect", "--store", store])
        .arg("--data")
        .arg(data);
    if json {
        command.arg("--json");
    }
    command.output().expect("chat-server inspect runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A server on `store` with two users, three direct messages (one on two lines), and a group
/// #team of both with its creation notice and one message.
fn server_with_a_conversation(store: &'static str, data: &TempDir) -> ServerProcess {
    let server = ServerProcess::start(store, data, &[]);
    let mut alice = user(&server, "alice");
    let _bob = user(&server, "bob");
    alice.send_ok("bob", "hello bob");
    alice.send_ok("bob", "two\nlines");
    alice.send_ok("alice", "a note to self");
    let created = alice.request(Request::CreateGroup {
        group: "team".into(),
        members: vec!["bob".into()],
    });
    assert!(
        matches!(created, Reply::GroupChanged(Some(_))),
        "{created:?}"
    );
    alice.send_ok_to(WireRecipient::Group("team".into()), "hello team");
    server
}

fn stop(mut server: ServerProcess) {
    server.signal("TERM");
    assert!(server.wait_exit(Duration::from_secs(20)).is_some());
}

fn assert_no_secrets(output: &str) {
    assert!(!output.contains("$argon2"), "a hash leaked: {output}");
    assert!(!output.contains(PASSWORD), "a password leaked: {output}");
    assert!(!output.contains("password"), "{output}");
}

fn shows_users_and_messages_as_text(store: &'static str) {
    let data = TempDir::new("inspect-text");
    stop(server_with_a_conversation(store, &data));
    let output = inspect(store, data.path(), false);
    assert!(output.status.success(), "{output:?}");
    let shown = text(&output.stdout);
    assert_no_secrets(&shown);
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(
        lines[0],
        format!("{store} store in {}", data.path().display())
    );
    assert_eq!(lines[1], "users (2):");
    assert!(lines[2].starts_with("  alice  registered 20"), "{shown}");
    assert!(lines[3].starts_with("  bob    registered 20"), "{shown}");
    assert_eq!(lines[4], "groups (1):");
    assert!(lines[5].starts_with("  #team created 20"), "{shown}");
    assert!(
        lines[5].ends_with(" UTC: alice (owner), bob (member)"),
        "{shown}"
    );
    assert_eq!(lines[6], "messages (5):");
    assert!(lines[7].starts_with("  #1 20") && lines[7].ends_with(" UTC alice -> bob: hello bob"));
    assert!(
        lines[8].ends_with(" UTC alice -> bob: two\\nlines"),
        "{shown}"
    );
    assert!(
        lines[9].ends_with(" UTC alice -> alice: a note to self"),
        "{shown}"
    );
    assert!(
        lines[10].ends_with(" UTC alice -> #team: [created bob]"),
        "{shown}"
    );
    assert!(
        lines[11].ends_with(" UTC alice -> #team: hello team"),
        "{shown}"
    );
    assert_eq!(lines.len(), 12);
}

fn shows_users_and_messages_as_json(store: &'static str) {
    let data = TempDir::new("inspect-json");
    stop(server_with_a_conversation(store, &data));
    let output = inspect(store, data.path(), true);
    assert!(output.status.success(), "{output:?}");
    let shown = text(&output.stdout);
    assert_no_secrets(&shown);
    let document: serde_json::Value = serde_json::from_str(&shown).expect("valid JSON");
    assert_eq!(document["store"], store);
    let users = document["users"].as_array().unwrap();
    let names: Vec<&str> = users
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alice", "bob"]);
    for u in users {
        let keys: Vec<&String> = u.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["registered_at", "username"]);
        assert!(u["registered_at"].as_str().unwrap().ends_with('Z'));
    }
    let groups = document["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0]["name"], "team");
    assert_eq!(groups[0]["members"][0]["username"], "alice");
    assert_eq!(groups[0]["members"][0]["role"], "owner");
    assert_eq!(groups[0]["members"][1]["role"], "member");
    let messages = document["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 5);
    assert_eq!(messages[0]["kind"], "text");
    assert_eq!(messages[3]["kind"], "notice");
    assert_eq!(messages[3]["body"], "created bob");
    assert_eq!(messages[3]["to"]["group"], "team");
    assert_eq!(messages[4]["body"], "hello team");
    assert_eq!(messages[1]["id"], 2);
    assert_eq!(messages[1]["from"], "alice");
    assert_eq!(messages[1]["to"]["user"], "bob");
    assert_eq!(messages[1]["body"], "two\nlines");
    assert!(messages[1]["sent_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(messages[2]["to"]["user"], "alice");
}

fn a_missing_store_is_an_error(store: &'static str) {
    let data = TempDir::new("inspect-missing");
    let output = inspect(store, data.path(), false);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("there is no store at"),
        "{output:?}"
    );
    assert!(
        std::fs::read_dir(data.path()).map_or(true, |mut d| d.next().is_none()),
        "inspecting created nothing"
    );
}

on_both_stores!(
    shows_users_and_messages_as_text,
    shows_users_and_messages_as_json,
    a_missing_store_is_an_error,
);

#[test]
fn a_sled_store_held_by_a_running_server_is_refused_plainly() {
    let data = TempDir::new("inspect-held");
    let server = server_with_a_conversation("sled", &data);
    let output = inspect("sled", data.path(), false);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let said = text(&output.stderr);
    assert!(
        said.contains("in use by another process") && said.contains("chat-server"),
        "{said}"
    );
    // The server was not disturbed.
    let mut carol = user(&server, "carol");
    carol.send_ok("alice", "still here");
    stop(server);
    assert!(inspect("sled", data.path(), false).status.success());
}

#[test]
fn a_sqlite_store_can_be_read_while_the_server_runs() {
    let data = TempDir::new("inspect-live");
    let server = server_with_a_conversation("sqlite", &data);
    let output = inspect("sqlite", data.path(), false);
    assert!(output.status.success(), "{output:?}");
    assert!(text(&output.stdout).contains("messages (5):"));
    // The server still writes after the read.
    let mut carol = user(&server, "carol");
    carol.send_ok("alice", "still here");
    let output = inspect("sqlite", data.path(), false);
    assert!(text(&output.stdout).contains("messages (6):"));
}
