//! Fuzzes one server connection end to end: the real loop, in this process over SQLite, gets
//! arbitrary bytes on a real socket, after (for half the inputs) a valid Hello and log-in so
//! that the bytes reach the logged-in requests too. Whatever they are, the server must not
//! panic, must answer or close, and must close the connection once the client has hung up.
#![no_main]

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::OnceLock;
use std::time::Duration;

use chat::core::abuse::AbuseLimits;
use chat::server::Server;
use chat::server::config::{Config, HashingConfig, Limits};
use chat::store::{self, StoreKind};
use chat_domain::Retention;
use chat_domain::rate::RateLimit;
use chat_wire::{ClientFrame, FRAME_BYTES_MAX, Hello, MAGIC, PROTOCOL_VERSION, Request};
use libfuzzer_sys::fuzz_target;

const USER: &str = "fuzzer";
const PASSWORD: &str = "fuzzing password";

fn frame(frame: &ClientFrame) -> Vec<u8> {
    let mut bytes = Vec::new();
    chat_wire::encode_frame(frame, FRAME_BYTES_MAX, &mut bytes).expect("encodes");
    bytes
}

fn hello() -> Vec<u8> {
    frame(&ClientFrame::Hello(Hello {
        magic: MAGIC,
        version: PROTOCOL_VERSION,
    }))
}

fn request(id: u32, request: Request) -> Vec<u8> {
    frame(&ClientFrame::Request { id, request })
}

/// Sends `bytes`, hangs up its side, and reads until the server closes: it must, promptly.
fn exchange(addr: SocketAddr, bytes: &[u8]) {
    let mut socket = TcpStream::connect(addr).expect("the server accepts");
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    // The server may close before taking it all (a bad frame): that is an answer too.
    let _ = socket.write_all(bytes);
    let _ = socket.shutdown(Shutdown::Write);
    let mut sink = Vec::new();
    match socket.read_to_end(&mut sink) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("the server did not close the connection: {e}"),
    }
}

/// The server, started once for the whole run, with one registered user and the abuse limits
/// lifted (every input comes from the same address).
fn server() -> SocketAddr {
    static ADDR: OnceLock<SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| {
        let data = std::env::temp_dir().join(format!("chat-fuzz-{}", std::process::id()));
        let lifted = RateLimit::per(u32::MAX, Duration::from_secs(1));
        let config = Config {
            listen: "127.0.0.1:0".parse().expect("address"),
            store: StoreKind::Sqlite,
            data_dir: data.clone(),
            keep_data: false,
            limits: Limits {
                abuse: AbuseLimits {
                    login_failures: lifted,
                    registrations: lifted,
                    messages: lifted,
                    connections_per_address: usize::MAX,
                    ..AbuseLimits::default()
                },
                ..Limits::default()
            },
            hashing: HashingConfig {
                memory_kib: 8,
                passes: 1,
                ..HashingConfig::default()
            },
            tls: None,
            web: None,
            release_freed_memory: || {},
        };
        let (ready, addr) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let store = store::open(StoreKind::Sqlite, &data, Retention::Wipe).expect("store");
            let server = Server::start_with_store(config, store).expect("server starts");
            ready.send(server.local_addr()).expect("waiting");
            server.run().expect("the loop runs");
        });
        let addr = addr.recv().expect("the server starts");
        let mut register = hello();
        register.extend(request(
            1,
            Request::Register {
                username: USER.into(),
                password: PASSWORD.into(),
            },
        ));
        exchange(addr, &register);
        addr
    })
}

fuzz_target!(|data: &[u8]| {
    let addr = server();
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut bytes = Vec::new();
    if mode & 1 == 1 {
        bytes.extend(hello());
        bytes.extend(request(
            1,
            Request::LogIn {
                username: USER.into(),
                password: PASSWORD.into(),
            },
        ));
    }
    bytes.extend_from_slice(rest);
    exchange(addr, &bytes);
});
