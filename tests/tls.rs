//! TLS end to end, with the real binaries and the test certificates of tests/fixtures/tls
//! (scripts/make-test-certs.sh): a client that trusts the right authority chats, one that
//! trusts another is refused, and a plain client against a TLS listener gets a clean close.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use chat_store_contract::TempDir;
use chat_wire::{ClientFrame, FRAME_BYTES_MAX, Hello, MAGIC, PROTOCOL_VERSION, encode_frame};
use common::chat_client::{ClientProcess, client_command};
use common::*;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
}

fn tls_server(data: &TempDir) -> ServerProcess {
    let cert = fixture("server.pem");
    let key = fixture("server.key");
    ServerProcess::start(
        "sled",
        data,
        &[
            "--tls-cert",
            cert.to_str().expect("utf-8 path"),
            "--tls-key",
            key.to_str().expect("utf-8 path"),
        ],
    )
}

/// `chat-client --tls --ca CA` against `addr`, logged in as `name`.
fn tls_client(addr: SocketAddr, ca: &str, name: &str) -> ClientProcess {
    let mut command = client_command(addr);
    command.arg("--tls").arg("--ca").arg(fixture(ca));
    let mut client = ClientProcess::start_with(command, Stdio::piped());
    client.write_line(name);
    client.write_line(PASSWORD);
    client.expect_line(&format!("logged in as {name}."));
    client
}

#[test]
fn clients_that_trust_the_servers_authority_chat_over_tls() {
    let data = TempDir::new("e2e-tls-chat");
    let server = tls_server(&data);
    let mut bob = tls_client(server.addr, "ca.pem", "bob");
    let mut alice = tls_client(server.addr, "ca.pem", "alice");
    alice.write_line("/send bob hello over TLS");
    bob.expect_line("alice: hello over TLS");
    // A long message crosses several TLS records and comes back whole.
    let long = "x".repeat(4000);
    bob.write_line(&format!("/send alice {long}"));
    alice.expect_line(&format!("bob: {long}"));
    alice.write_line("/history bob");
    alice.expect_line("you -> bob: hello over TLS");
    let finished = alice.finish();
    assert!(finished.status.success(), "{}", finished.stderr);
}

#[test]
fn a_client_that_trusts_another_authority_is_refused() {
    let data = TempDir::new("e2e-tls-wrong-ca");
    let server = tls_server(&data);
    let mut command = client_command(server.addr);
    command
        .arg("--tls")
        .arg("--ca")
        .arg(fixture("other-ca.pem"));
    let finished = ClientProcess::start_with(command, Stdio::piped()).finish();
    assert_eq!(finished.status.code(), Some(1));
    assert!(
        finished.stderr.contains("certificate"),
        "{}",
        finished.stderr
    );
    assert!(finished.stdout.iter().all(|l| !l.contains("password")));
    // The server goes on serving those who trust it.
    let alice = tls_client(server.addr, "ca.pem", "alice");
    drop(alice);
}

#[test]
fn a_plain_client_against_a_tls_listener_gets_a_clean_close() {
    let data = TempDir::new("e2e-tls-plain");
    let server = tls_server(&data);
    // Our Hello, in plain text: the server's TLS rejects it and closes the connection.
    let mut socket = TcpStream::connect(server.addr).expect("connects");
    socket
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut hello = Vec::new();
    let frame = ClientFrame::Hello(Hello {
        magic: MAGIC,
        version: PROTOCOL_VERSION,
    });
    encode_frame(&frame, FRAME_BYTES_MAX, &mut hello).expect("encodes");
    std::io::Write::write_all(&mut socket, &hello).expect("writes");
    let mut received = Vec::new();
    // At most a TLS alert, then the end of the stream (not a timeout, not a reset).
    socket.read_to_end(&mut received).expect("a clean close");
    assert!(received.len() < 64, "{received:?}");
    // The plain chat-client says what went wrong and exits 1.
    let finished = ClientProcess::start_with(client_command(server.addr), Stdio::piped()).finish();
    assert_eq!(finished.status.code(), Some(1));
    assert!(
        finished.stderr.contains("it speaks TLS: add --tls"),
        "{}",
        finished.stderr
    );
    drop(tls_client(server.addr, "ca.pem", "alice"));
}

#[test]
fn plain_text_on_a_network_address_is_warned_about() {
    let data = TempDir::new("e2e-plain-warning");
    let mut child = Command::new(env!("CARGO_BIN_EXE_chat-server"))
        .args(["--listen", "0.0.0.0:0", "--data"])
        .arg(data.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("reads");
    assert!(line.starts_with("listening on 0.0.0.0:"), "{line}");
    child.kill().expect("kill");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("reads");
    let _ = child.wait();
    assert!(stderr.contains("warning: listening on 0.0.0.0"), "{stderr}");
    assert!(stderr.contains("--tls-cert"), "{stderr}");
}
