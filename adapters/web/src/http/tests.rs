//! Request heads in, answers out: pages, the upgrade, and every refusal.

use super::*;

fn head(text: &str) -> Head {
    match parse_head(text.as_bytes()) {
        Ok(Some((head, used))) => {
            assert_eq!(used, text.len());
            head
        }
        other => panic!("{other:?}"),
    }
}

fn status(answer: &Answer) -> String {
    let bytes = match answer {
        Answer::Respond(bytes) | Answer::Upgrade(bytes) => bytes,
    };
    let text = String::from_utf8_lossy(bytes);
    text.lines().next().unwrap_or_default().to_string()
}

const UPGRADE: &str = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUpgrade: websocket\r\n\
    Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Sec-WebSocket-Version: 13\r\nOrigin: http://127.0.0.1:8080\r\n\r\n";

#[test]
fn the_page_and_its_files_are_served_and_nothing_else() {
    let page = answer(&head("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), &[]);
    assert_eq!(status(&page), "HTTP/1.1 200 OK");
    let Answer::Respond(bytes) = &page else {
        panic!("a page closes after it")
    };
    let text = String::from_utf8_lossy(bytes);
    assert!(text.contains("Content-Type: text/html"), "{text}");
    assert!(
        text.contains("Content-Security-Policy: default-src 'self'"),
        "{text}"
    );
    for path in ["/app.js?v=1", "/style.css", "/index.html"] {
        let request = format!("GET {path} HTTP/1.1\r\n\r\n");
        assert_eq!(
            status(&answer(&head(&request), &[])),
            "HTTP/1.1 200 OK",
            "{path}"
        );
    }
    for path in [
        "/../Cargo.toml",
        "/etc/passwd",
        "/assets/app.js",
        "//app.js",
        "/ws/",
    ] {
        let request = format!("GET {path} HTTP/1.1\r\n\r\n");
        assert_eq!(
            status(&answer(&head(&request), &[])),
            "HTTP/1.1 404 Not Found",
            "{path}"
        );
    }
    let post = answer(&head("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n"), &[]);
    assert_eq!(status(&post), "HTTP/1.1 405 Method Not Allowed");
}

#[test]
fn the_favicon_is_an_svg_at_both_usual_paths() {
    for path in ["/favicon.svg", "/favicon.ico"] {
        let request = format!("GET {path} HTTP/1.1\r\n\r\n");
        let icon = answer(&head(&request), &[]);
        assert_eq!(status(&icon), "HTTP/1.1 200 OK", "{path}");
        let Answer::Respond(bytes) = &icon else {
            panic!("an icon closes after it")
        };
        let text = String::from_utf8_lossy(bytes);
        assert!(
            text.contains("\r\nContent-Type: image/svg+xml\r\n"),
            "{text}"
        );
        assert!(text.contains("<svg "), "{text}");
    }
}

#[test]
fn a_head_arrives_in_pieces_and_is_limited() {
    let full = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    for cut in 0..full.len() {
        assert_eq!(parse_head(&full.as_bytes()[..cut]), Ok(None), "{cut}");
    }
    let huge = format!(
        "GET / HTTP/1.1\r\nX: {}\r\n\r\n",
        "a".repeat(HEAD_BYTES_MAX)
    );
    assert_eq!(parse_head(huge.as_bytes()), Err(HeadError::TooLarge));
    let unfinished = format!("GET / HTTP/1.1\r\nX: {}", "a".repeat(HEAD_BYTES_MAX));
    assert_eq!(parse_head(unfinished.as_bytes()), Err(HeadError::TooLarge));
    let many: String = (0..HEADERS_MAX + 1)
        .map(|i| format!("X{i}: y\r\n"))
        .collect();
    let request = format!("GET / HTTP/1.1\r\n{many}\r\n");
    assert_eq!(parse_head(request.as_bytes()), Err(HeadError::TooLarge));
    assert!(matches!(
        parse_head(b"\x16\x03\x01 not http\r\n\r\n"),
        Err(HeadError::Malformed(_))
    ));
    assert!(String::from_utf8_lossy(&refuse(&HeadError::TooLarge)).starts_with("HTTP/1.1 431 "));
}

#[test]
fn the_upgrade_answers_with_the_accept_key() {
    let answer = answer(&head(UPGRADE), &own());
    let Answer::Upgrade(bytes) = &answer else {
        panic!("{answer:?}")
    };
    let text = String::from_utf8_lossy(bytes);
    assert!(
        text.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{text}"
    );
    // RFC 6455's own example key and answer.
    assert!(
        text.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
        "{text}"
    );
    assert!(!text.contains("Sec-WebSocket-Extensions"), "no compression");
}

/// The origins a server listening on 127.0.0.1:8080 accepts.
fn own() -> Vec<String> {
    own_origins("127.0.0.1:8080".parse().unwrap())
}

#[test]
fn only_the_servers_own_origin_or_an_allowed_one_may_upgrade() {
    let from = |origin: &str| UPGRADE.replace("http://127.0.0.1:8080", origin);
    let forbidden = "HTTP/1.1 403 Forbidden";
    assert!(matches!(answer(&head(UPGRADE), &own()), Answer::Upgrade(_)));
    assert_eq!(
        status(&answer(&head(&from("http://evil.example")), &own())),
        forbidden
    );
    assert_eq!(
        status(&answer(&head(&from("http://127.0.0.1:8081")), &own())),
        forbidden
    );
    let allowed = vec!["https://chat.example.org".to_string()];
    let answer_for = answer(&head(&from("https://chat.example.org")), &allowed);
    assert!(matches!(answer_for, Answer::Upgrade(_)));
    let no_origin = UPGRADE.replace("Origin: http://127.0.0.1:8080\r\n", "");
    assert_eq!(status(&answer(&head(&no_origin), &own())), forbidden);
}

#[test]
fn a_host_header_that_matches_the_origin_opens_nothing() {
    // DNS rebinding: evil.example resolves to this server, so the browser's request names it
    // in both headers.
    let rebound = UPGRADE
        .replace("Host: 127.0.0.1:8080", "Host: evil.example:8080")
        .replace(
            "Origin: http://127.0.0.1:8080",
            "Origin: http://evil.example:8080",
        );
    assert_eq!(
        status(&answer(&head(&rebound), &own())),
        "HTTP/1.1 403 Forbidden"
    );
}

#[test]
fn own_origins_come_from_the_listeners_address() {
    assert_eq!(
        own(),
        [
            "http://127.0.0.1:8080",
            "http://localhost:8080",
            "http://[::1]:8080"
        ]
    );
    assert_eq!(
        own_origins("192.0.2.7:80".parse().unwrap()),
        ["http://192.0.2.7"]
    );
    assert_eq!(
        own_origins("[2001:db8::1]:8080".parse().unwrap()),
        ["http://[2001:db8::1]:8080"]
    );
    // Every address: only the loopback names are known; others need --allow-origin.
    assert_eq!(
        own_origins("0.0.0.0:8080".parse().unwrap()),
        [
            "http://127.0.0.1:8080",
            "http://localhost:8080",
            "http://[::1]:8080"
        ]
    );
}

#[test]
fn a_broken_upgrade_is_refused_with_its_reason() {
    let plain = "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_eq!(
        status(&answer(&head(plain), &[])),
        "HTTP/1.1 426 Upgrade Required"
    );
    let old = UPGRADE.replace("Version: 13", "Version: 8");
    assert_eq!(
        status(&answer(&head(&old), &[])),
        "HTTP/1.1 400 Bad Request"
    );
    let keyless = UPGRADE.replace("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "");
    assert_eq!(
        status(&answer(&head(&keyless), &[])),
        "HTTP/1.1 400 Bad Request"
    );
}
