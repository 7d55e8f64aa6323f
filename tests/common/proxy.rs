//! A TCP proxy between a client and a server, for cutting the link on cue: it can swallow
//! what the server says (an acknowledgement the client never gets), hang up every connection,
//! keep clients out for a while, and point at another server. Real sockets, one thread a
//! direction.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

pub struct Proxy {
    pub addr: SocketAddr,
    state: Arc<State>,
}

struct State {
    upstream: Mutex<SocketAddr>,
    /// Bytes from the server are dropped, not passed on.
    swallow: AtomicBool,
    /// New connections are closed at once.
    blocked: AtomicBool,
    /// Both sockets of every connection, to hang them up.
    open: Mutex<Vec<TcpStream>>,
}

impl Proxy {
    pub fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
        let addr = listener.local_addr().expect("an address");
        let state = Arc::new(State {
            upstream: Mutex::new(upstream),
            swallow: AtomicBool::new(false),
            blocked: AtomicBool::new(false),
            open: Mutex::new(Vec::new()),
        });
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if shared.blocked.load(Ordering::SeqCst) {
                    continue;
                }
                let upstream = *shared.upstream.lock().expect("lock");
                let Ok(server) = TcpStream::connect(upstream) else {
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                {
                    let mut open = shared.open.lock().expect("lock");
                    open.extend(client.try_clone().ok());
                    open.extend(server.try_clone().ok());
                }
                pump(&shared, client.try_clone(), server.try_clone(), false);
                pump(&shared, server.try_clone(), client.try_clone(), true);
            }
        });
        Proxy { addr, state }
    }

    /// Drop (or pass again) what the server sends.
    pub fn swallow_replies(&self, swallow: bool) {
        self.state.swallow.store(swallow, Ordering::SeqCst);
    }

    /// Hangs up every connection, and keeps new ones out until `let_in`.
    pub fn cut(&self) {
        self.state.blocked.store(true, Ordering::SeqCst);
        for socket in self.state.open.lock().expect("lock").drain(..) {
            let _ = socket.shutdown(Shutdown::Both);
        }
    }

    /// Lets connections through again, to `upstream` from now on.
    pub fn let_in(&self, upstream: SocketAddr) {
        *self.state.upstream.lock().expect("lock") = upstream;
        self.swallow_replies(false);
        self.state.blocked.store(false, Ordering::SeqCst);
    }
}

/// Copies `from` to `to` until either ends, then hangs both up.
fn pump(
    state: &Arc<State>,
    from: std::io::Result<TcpStream>,
    to: std::io::Result<TcpStream>,
    from_server: bool,
) {
    let (Ok(mut from), Ok(mut to)) = (from, to) else {
        return;
    };
    let state = Arc::clone(state);
    std::thread::spawn(move || {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            let n = match from.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if from_server && state.swallow.load(Ordering::SeqCst) {
                continue;
            }
            if to.write_all(&chunk[..n]).is_err() {
                break;
            }
        }
        let _ = from.shutdown(Shutdown::Both);
        let _ = to.shutdown(Shutdown::Both);
    });
}
