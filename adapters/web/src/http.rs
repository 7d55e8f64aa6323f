//! The HTTP side of the web adapter: a request head parsed with httparse within fixed limits,
//! and the answer to it: a page asset, the WebSocket upgrade (after the Origin check), or an
//! error status. One request per connection; every response closes it but the upgrade.

use std::net::{IpAddr, SocketAddr};

use tungstenite::handshake::derive_accept_key;

use crate::assets;

/// Bytes a request head may take, request line and headers together.
pub const HEAD_BYTES_MAX: usize = 8 * 1024;
/// Headers a request may carry.
pub const HEADERS_MAX: usize = 32;
/// Where the page opens its WebSocket.
pub const SOCKET_PATH: &str = "/ws";

/// What the loop needs of a request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub method: String,
    /// Without its query.
    pub path: String,
    pub origin: Option<String>,
    /// `Upgrade: websocket` and `Connection: upgrade` were both asked for.
    pub wants_websocket: bool,
    pub websocket_key: Option<String>,
    pub websocket_version: Option<String>,
}

/// A head that cannot be served: the status to answer with, then close.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadError {
    /// 431: past `HEAD_BYTES_MAX` or `HEADERS_MAX`.
    TooLarge,
    /// 400, with what was wrong.
    Malformed(String),
}

/// Parses a request head from the start of `buffer`: `Ok(None)` until it is whole, then the
/// head and how many bytes it took.
pub fn parse_head(buffer: &[u8]) -> Result<Option<(Head, usize)>, HeadError> {
    let mut headers = [httparse::EMPTY_HEADER; HEADERS_MAX];
    let mut request = httparse::Request::new(&mut headers);
    let status = match request.parse(buffer) {
        Ok(status) => status,
        Err(httparse::Error::TooManyHeaders) => return Err(HeadError::TooLarge),
        Err(e) => return Err(HeadError::Malformed(e.to_string())),
    };
    let httparse::Status::Complete(head_bytes) = status else {
        if buffer.len() > HEAD_BYTES_MAX {
            return Err(HeadError::TooLarge);
        }
        return Ok(None);
    };
    if head_bytes > HEAD_BYTES_MAX {
        return Err(HeadError::TooLarge);
    }
    let header = |name: &str| -> Option<String> {
        request
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .and_then(|h| std::str::from_utf8(h.value).ok())
            .map(|v| v.trim().to_string())
    };
    let has_token = |name: &str, token: &str| {
        header(name).is_some_and(|value| {
            value
                .split(',')
                .any(|part| part.trim().eq_ignore_ascii_case(token))
        })
    };
    let path = request.path.unwrap_or("/");
    let head = Head {
        method: request.method.unwrap_or("").to_string(),
        path: path.split(['?', '#']).next().unwrap_or("/").to_string(),
        origin: header("origin"),
        wants_websocket: has_token("upgrade", "websocket") && has_token("connection", "upgrade"),
        websocket_key: header("sec-websocket-key"),
        websocket_version: header("sec-websocket-version"),
    };
    Ok(Some((head, head_bytes)))
}

/// What to do with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Send this response and close.
    Respond(Vec<u8>),
    /// Send this response, then speak WebSocket on the connection.
    Upgrade(Vec<u8>),
}

/// The answer to `head`: `allowed_origins` are the origins whose pages may open the WebSocket
/// (`own_origins` of the listener, and the operator's).
pub fn answer(head: &Head, allowed_origins: &[String]) -> Answer {
    if head.method != "GET" && head.method != "HEAD" {
        return Answer::Respond(error(405, "Method Not Allowed", "Only GET is served."));
    }
    if head.path == SOCKET_PATH {
        return upgrade(head, allowed_origins);
    }
    match assets::find(&head.path) {
        Some(asset) => {
            let body = if head.method == "HEAD" {
                &[][..]
            } else {
                asset.body
            };
            let mut response = response_head(200, "OK", asset.content_type, asset.body.len());
            response.extend_from_slice(body);
            Answer::Respond(response)
        }
        None => Answer::Respond(error(404, "Not Found", "There is no such page here.")),
    }
}

/// 503 for a newcomer the server cannot take (`code` and `sentence` say why).
pub fn unavailable(code: &str, sentence: &str) -> Vec<u8> {
    error(503, "Service Unavailable", &format!("{sentence} [{code}]"))
}

/// The answer to a head that could not be parsed.
pub fn refuse(error_kind: &HeadError) -> Vec<u8> {
    match error_kind {
        HeadError::TooLarge => error(
            431,
            "Request Header Fields Too Large",
            "The request's headers are too large.",
        ),
        HeadError::Malformed(why) => error(400, "Bad Request", &format!("Bad request: {why}.")),
    }
}

fn upgrade(head: &Head, allowed_origins: &[String]) -> Answer {
    if !head.wants_websocket {
        return Answer::Respond(error(
            426,
            "Upgrade Required",
            "This address speaks WebSocket.",
        ));
    }
    if head.websocket_version.as_deref() != Some("13") {
        return Answer::Respond(error(
            400,
            "Bad Request",
            "Only WebSocket version 13 is spoken.",
        ));
    }
    let Some(key) = &head.websocket_key else {
        return Answer::Respond(error(400, "Bad Request", "Sec-WebSocket-Key is missing."));
    };
    if !origin_allowed(head, allowed_origins) {
        return Answer::Respond(error(
            403,
            "Forbidden",
            "This page's origin may not open the chat.",
        ));
    }
    // No extensions are negotiated: no compression.
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        derive_accept_key(key.as_bytes())
    );
    Answer::Upgrade(response.into_bytes())
}

/// A browser always sends Origin with a WebSocket: it must be one of `allowed_origins`. Never
/// derived from the request's Host: a page at `http://evil.example:PORT` whose name an
/// attacker points at this address (DNS rebinding) sends a matching Host.
pub fn origin_allowed(head: &Head, allowed_origins: &[String]) -> bool {
    head.origin
        .as_ref()
        .is_some_and(|origin| allowed_origins.iter().any(|allowed| allowed == origin))
}

/// The origins of the page as this listener serves it: its address, and on loopback (or on
/// every address) the loopback names a browser on this machine uses. A page reached by any
/// other name (a host name, an address behind an unspecified listener, a TLS proxy) needs
/// `--allow-origin`.
pub fn own_origins(listener: SocketAddr) -> Vec<String> {
    let port = listener.port();
    let mut hosts = Vec::new();
    if !listener.ip().is_unspecified() {
        hosts.push(match listener.ip() {
            IpAddr::V4(ip) => ip.to_string(),
            IpAddr::V6(ip) => format!("[{ip}]"),
        });
    }
    if listener.ip().is_loopback() || listener.ip().is_unspecified() {
        for host in ["127.0.0.1", "localhost", "[::1]"] {
            if !hosts.iter().any(|known| known == host) {
                hosts.push(host.to_string());
            }
        }
    }
    hosts
        .into_iter()
        .map(|host| match port {
            // A browser leaves the scheme's own port out of an origin.
            80 => format!("http://{host}"),
            _ => format!("http://{host}:{port}"),
        })
        .collect()
}

fn response_head(status: u16, reason: &str, content_type: &str, length: usize) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\n\
         Connection: close\r\nCache-Control: no-cache\r\nX-Content-Type-Options: nosniff\r\n\
         Referrer-Policy: no-referrer\r\nContent-Security-Policy: default-src 'self'; \
         connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'\r\n\r\n"
    )
    .into_bytes()
}

fn error(status: u16, reason: &str, sentence: &str) -> Vec<u8> {
    let body = format!("{status} {reason}: {sentence}\n");
    let mut response = response_head(status, reason, "text/plain; charset=utf-8", body.len());
    response.extend_from_slice(body.as_bytes());
    response
}

#[cfg(test)]
mod tests;
