//! The web adapter over real sockets: the page over HTTP, every bad request refused with its
//! status, and the WebSocket speaking the protocol as JSON beside the TCP clients (same server,
//! same store), within its limits.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use chat_store_contract::TempDir;
use chat_web::tungstenite::client::IntoClientRequest;
use chat_web::tungstenite::protocol::Message;
use chat_web::tungstenite::{self, WebSocket};
use chat_wire::{Reply, WireRecipient};
use common::*;

fn web_server(data: &TempDir) -> (ServerProcess, SocketAddr) {
    let server = ServerProcess::start("sled", data, &["--http", "127.0.0.1:0"]);
    let web = server.web_addr.expect("the web address");
    (server, web)
}

/// One raw HTTP exchange: what the server answered, until it closed.
fn http(addr: SocketAddr, request: &[u8]) -> String {
    let mut socket = TcpStream::connect(addr).expect("connects");
    socket
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    // The server may answer and close before it has read everything sent.
    let _ = socket.write_all(request);
    let mut answer = Vec::new();
    match socket.read_to_end(&mut answer) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("no clean close: {e}"),
    }
    String::from_utf8_lossy(&answer).into_owned()
}

fn status_line(answer: &str) -> &str {
    answer.lines().next().unwrap_or_default()
}

type Socket = WebSocket<TcpStream>;

/// A WebSocket to the server with the page's own Origin (or `origin`).
fn open_socket(addr: SocketAddr, origin: Option<&str>) -> Result<Socket, tungstenite::Error> {
    let mut request = format!("ws://{addr}/ws").into_client_request()?;
    let own = format!("http://{addr}");
    let origin = origin.unwrap_or(&own);
    request
        .headers_mut()
        .insert("Origin", origin.parse().expect("a header value"));
    let stream = TcpStream::connect(addr).expect("connects");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    tungstenite::client(request, stream)
        .map(|(socket, _response)| socket)
        .map_err(|e| match e {
            tungstenite::HandshakeError::Failure(e) => e,
            tungstenite::HandshakeError::Interrupted(_) => {
                tungstenite::Error::Io(std::io::ErrorKind::WouldBlock.into())
            }
        })
}

fn send_json(socket: &mut Socket, json: &str) {
    socket.send(Message::text(json)).expect("sends");
}

/// The next JSON text the server sent, parsed; `None` once it closed. Waiting in vain (the
/// read timeout) fails the test: a close must come, not silence.
fn next_json(socket: &mut Socket) -> Option<serde_json::Value> {
    loop {
        match socket.read() {
            Ok(Message::Text(text)) => {
                return Some(serde_json::from_str(text.as_str()).expect("JSON"));
            }
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                panic!("the server neither answered nor closed: {e}");
            }
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

/// Says hello and registers `name`, as the page does.
fn browser(addr: SocketAddr, name: &str) -> Socket {
    let mut socket = open_socket(addr, None).expect("the upgrade");
    send_json(
        &mut socket,
        r#"{"Hello":{"magic":[67,72,65,84],"version":1}}"#,
    );
    let welcome = next_json(&mut socket).expect("welcome");
    assert_eq!(welcome["Welcome"]["version"], 1, "{welcome}");
    let register = format!(
        r#"{{"Request":{{"id":1,"request":{{"Register":{{"username":"{name}","password":"{PASSWORD}"}}}}}}}}"#
    );
    send_json(&mut socket, &register);
    let reply = next_json(&mut socket).expect("reply");
    assert_eq!(
        reply["Reply"]["reply"]["Registered"]["username"], name,
        "{reply}"
    );
    socket
}

#[test]
fn the_page_is_served_and_nothing_else_is() {
    let data = TempDir::new("e2e-web-http");
    let (_server, web) = web_server(&data);
    let page = http(web, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(status_line(&page), "HTTP/1.1 200 OK");
    assert!(page.contains("<!doctype html>"), "{page}");
    assert_eq!(
        status_line(&http(web, b"GET /app.js HTTP/1.1\r\n\r\n")),
        "HTTP/1.1 200 OK"
    );
    // The icon, so that a browser's tab shows one rather than logging a 404.
    let icon = http(web, b"GET /favicon.svg HTTP/1.1\r\n\r\n");
    assert_eq!(status_line(&icon), "HTTP/1.1 200 OK");
    assert!(
        icon.contains("\r\nContent-Type: image/svg+xml\r\n"),
        "{icon}"
    );
    for (request, status) in [
        (
            &b"GET /../../etc/passwd HTTP/1.1\r\n\r\n"[..],
            "HTTP/1.1 404 Not Found",
        ),
        (b"GET /nowhere HTTP/1.1\r\n\r\n", "HTTP/1.1 404 Not Found"),
        (
            b"DELETE / HTTP/1.1\r\n\r\n",
            "HTTP/1.1 405 Method Not Allowed",
        ),
        (b"\x00\x01 garbage\r\n\r\n", "HTTP/1.1 400 Bad Request"),
        (b"GET /ws HTTP/1.1\r\n\r\n", "HTTP/1.1 426 Upgrade Required"),
    ] {
        assert_eq!(
            status_line(&http(web, request)),
            status,
            "{}",
            String::from_utf8_lossy(request)
        );
    }
    let huge = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(9000));
    assert_eq!(
        status_line(&http(web, huge.as_bytes())),
        "HTTP/1.1 431 Request Header Fields Too Large"
    );
}

#[test]
fn a_request_head_that_never_ends_is_closed() {
    let data = TempDir::new("e2e-web-slow-head");
    let server = ServerProcess::start(
        "sled",
        &data,
        &["--http", "127.0.0.1:0", "--handshake-timeout-secs", "1"],
    );
    let web = server.web_addr.expect("web");
    let mut socket = TcpStream::connect(web).expect("connects");
    socket
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    socket
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .expect("writes");
    let mut rest = Vec::new();
    match socket.read_to_end(&mut rest) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("still open after the handshake timeout: {e}"),
    }
    assert!(rest.is_empty(), "no answer to half a head: {rest:?}");
}

#[test]
fn a_page_from_another_origin_cannot_open_the_socket() {
    let data = TempDir::new("e2e-web-origin");
    let (_server, web) = web_server(&data);
    let refused = open_socket(web, Some("http://evil.example")).expect_err("refused");
    assert!(
        matches!(&refused, tungstenite::Error::Http(response) if response.status() == 403),
        "{refused:?}"
    );
    assert!(open_socket(web, None).is_ok());
    // DNS rebinding: a page at evil.example, whose name now points here, sends its own name
    // as Host too.
    let port = web.port();
    let rebound = format!(
        "GET /ws HTTP/1.1\r\nHost: evil.example:{port}\r\nOrigin: http://evil.example:{port}\r\n\
         Upgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    let answer = http(web, rebound.as_bytes());
    assert_eq!(status_line(&answer), "HTTP/1.1 403 Forbidden", "{answer}");
}

#[test]
fn an_allowed_origin_may_open_the_socket() {
    let data = TempDir::new("e2e-web-allowed");
    let server = ServerProcess::start(
        "sled",
        &data,
        &[
            "--http",
            "127.0.0.1:0",
            "--allow-origin",
            "https://chat.example.org",
        ],
    );
    let web = server.web_addr.expect("web");
    assert!(open_socket(web, Some("https://chat.example.org")).is_ok());
}

#[test]
fn a_browser_and_a_terminal_client_chat_through_one_server() {
    let data = TempDir::new("e2e-web-chat");
    let (server, web) = web_server(&data);
    let mut page = browser(web, "alice");
    let mut bob = user(&server, "bob");
    let send = r#"{"Request":{"id":2,"request":{"Send":{"client_message_id":5,"to":{"User":"bob"},"body":"<script>hi</script>"}}}}"#;
    send_json(&mut page, send);
    let sent = next_json(&mut page).expect("the acknowledgement");
    assert!(
        sent["Reply"]["reply"]["Sent"]["message_id"].is_u64(),
        "{sent}"
    );
    let message = bob.next_message();
    assert_eq!(
        (message.from.as_str(), message.body.as_str()),
        ("alice", "<script>hi</script>")
    );
    bob.send_ok_to(WireRecipient::User("alice".into()), "hello, browser");
    let event = next_json(&mut page).expect("the delivery");
    assert_eq!(
        event["Event"]["Message"]["body"], "hello, browser",
        "{event}"
    );
    assert_eq!(event["Event"]["Message"]["from"], "bob", "{event}");
}

#[test]
fn a_websocket_message_that_never_finishes_is_closed_by_the_frame_timeout() {
    let data = TempDir::new("e2e-web-trickle");
    let server = ServerProcess::start(
        "sled",
        &data,
        &["--http", "127.0.0.1:0", "--frame-timeout-secs", "1"],
    );
    let web = server.web_addr.expect("web");
    let mut page = browser(web, "trickler");
    // A masked text frame that says 100 bytes follow, and the first of them: the rest never
    // comes (as from a page sending a byte now and then).
    page.get_mut()
        .write_all(&[0x81, 0x80 | 100, 0, 0, 0, 0, b'{'])
        .expect("writes");
    let closing = next_json(&mut page).expect("a Closing");
    assert_eq!(closing["Closing"]["code"], "frame_timeout", "{closing}");
    assert!(next_json(&mut page).is_none(), "then closed");
    let mut probe = server.client();
    assert_eq!(probe.request(chat_wire::Request::Ping), Reply::Pong);
}

#[test]
fn bad_frames_and_oversized_messages_are_closed_cleanly() {
    let data = TempDir::new("e2e-web-bad");
    let (server, web) = web_server(&data);
    let mut page = open_socket(web, None).expect("upgrade");
    send_json(&mut page, "{not a frame");
    let closing = next_json(&mut page).expect("a Closing");
    assert_eq!(closing["Closing"]["code"], "bad_frame", "{closing}");
    assert!(next_json(&mut page).is_none(), "then closed");

    let mut big = open_socket(web, None).expect("upgrade");
    let huge = format!(r#"{{"Hello":"{}"}}"#, "x".repeat(70 * 1024));
    // The server may close while it is still being sent.
    let _ = big.send(Message::text(huge));
    // Closed (next_json fails on silence), with frame_too_large if the refusal got out first.
    while let Some(frame) = next_json(&mut big) {
        assert_eq!(frame["Closing"]["code"], "frame_too_large", "{frame}");
    }
    // Everyone else is still served.
    let mut probe = server.client();
    assert_eq!(probe.request(chat_wire::Request::Ping), Reply::Pong);
}

#[test]
fn a_websocket_that_never_reads_is_dropped_and_nobody_else_waits() {
    let data = TempDir::new("e2e-web-slow");
    let server = ServerProcess::start(
        "sled",
        &data,
        &["--http", "127.0.0.1:0", "--max-unsent-bytes", "65536"],
    );
    let web = server.web_addr.expect("web");
    let sleeper = browser(web, "sleeper");
    let mut sender = user(&server, "sender");
    let mut bystander = user(&server, "bystander");
    let body = "z".repeat(4000);
    // 24 MB: far past what the kernel's buffers on both sides and the server's cap can hold.
    const MESSAGES: usize = 6_000;
    for i in 0..MESSAGES {
        let reply = sender.send("sleeper", &body);
        assert!(matches!(reply, Reply::Sent { .. }), "{reply:?}");
        if i % 500 == 0 {
            assert_eq!(bystander.request(chat_wire::Request::Ping), Reply::Pong);
        }
    }
    // Reading now, the sleeper gets what was buffered, then the end: it was dropped.
    let mut socket = sleeper.into_inner();
    socket
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut received = 0usize;
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        match socket.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => received += n,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("the reader that never reads was not dropped: {e}"),
        }
    }
    assert!(
        received < MESSAGES * body.len(),
        "{received} bytes: everything arrived, so nothing was dropped"
    );
}
