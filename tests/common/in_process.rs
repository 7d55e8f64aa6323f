//! The real server run in this process, over a store the test wraps (to fail or to hold its
//! commits on cue), and reached over real sockets like any other.

use std::net::SocketAddr;
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use chat::core::abuse::AbuseLimits;
use chat::server::Server;
use chat::server::config::{Config, HashingConfig, Limits};
use chat::store::StoreKind;
use chat_domain::Store;
use chat_domain::rate::RateLimit;
use chat_store_contract::TempDir;

/// A server's configuration for `kind` in `data`: cheap hashing, and the message and
/// per-address limits lifted (these tests send in bursts from one address).
pub fn config(kind: StoreKind, data: &TempDir) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().expect("address"),
        store: kind,
        data_dir: data.path().to_path_buf(),
        keep_data: false,
        limits: Limits {
            abuse: AbuseLimits {
                messages: RateLimit::per(1_000_000, Duration::from_secs(1)),
                connections_per_address: 1_000,
                ..AbuseLimits::default()
            },
            ..Limits::default()
        },
        hashing: HashingConfig {
            memory_kib: 64,
            passes: 1,
            ..HashingConfig::default()
        },
        tls: None,
        web: None,
        release_freed_memory: || {},
    }
}

/// A server running on a thread of this process.
pub struct InProcess {
    pub addr: SocketAddr,
    /// What `run` returned, once the server stops by itself.
    pub ended: Receiver<std::io::Result<()>>,
}

pub fn serve<S: Store + Send + 'static>(config: Config, store: S) -> InProcess {
    let (ready, addr) = channel();
    let (end, ended) = channel();
    // The loop owns non-Send state, so it is built on its own thread; it runs until the test
    // process ends, or until it stops by itself.
    std::thread::spawn(move || {
        let server = Server::start_with_store(config, store).expect("server starts");
        ready.send(server.local_addr()).expect("test waits");
        let _ = end.send(server.run());
    });
    InProcess {
        addr: addr.recv().expect("server ready"),
        ended,
    }
}
