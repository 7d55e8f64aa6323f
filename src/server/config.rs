//! What the operator can set: where to listen and store, and every limit the loop enforces.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chat_domain::rules::HistoryPaging;
use chat_domain::rules::groups::GroupLimits;
use chat_wire::FRAME_BYTES_MAX;

use crate::core::abuse::AbuseLimits;
use crate::store::StoreKind;

/// The port the server listens on, and the client connects to, unless told otherwise.
pub const DEFAULT_PORT: u16 = 7878;

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub store: StoreKind,
    pub data_dir: PathBuf,
    /// Skip the wipe at startup and make every acknowledged write durable.
    pub keep_data: bool,
    pub limits: Limits,
    pub hashing: HashingConfig,
    /// Serve TLS only, with this identity; plain TCP if `None`.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Serve the web page and its WebSocket too.
    pub web: Option<WebConfig>,
    /// Gives the memory the calling thread freed back to the system: called by the core's
    /// thread and the loop's once each has been quiet for a while
    /// (`quiet::QUIET_BEFORE_RELEASE`), and by a hashing thread that finds no job to
    /// take. The
    /// allocator's business, so the binary that picks the allocator says how.
    pub release_freed_memory: fn(),
}

#[derive(Debug, Clone)]
pub struct WebConfig {
    pub listen: SocketAddr,
    /// Origins besides the page's own that may open the WebSocket.
    pub allowed_origins: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Limits {
    /// Open connections at most; a newcomer past it gets `Closing(server_full)`.
    pub connections_max: usize,
    /// Largest frame payload in either direction.
    pub frame_bytes_max: usize,
    /// Unsent output a connection may hold; past it the connection is closed (a slow reader
    /// must not make the server hold unbounded memory, nor make anyone else wait).
    pub unsent_bytes_max: usize,
    /// A connection must finish its Hello within this.
    pub handshake_timeout: Duration,
    /// A connection must log in within this of connecting.
    pub login_timeout: Duration,
    /// A frame, once its first byte arrived, must be whole within this (a client that trickles
    /// bytes to hold a connection open is closed).
    pub frame_timeout: Duration,
    /// Silence after which the server pings a connection.
    pub idle_ping_after: Duration,
    /// Further silence after the ping after which the connection is closed.
    pub idle_close_after: Duration,
    /// How long a connection's output may stay over half of `unsent_bytes_max` (its requests
    /// are not read meanwhile) before it is closed as a reader that does not read.
    pub stalled_reader_timeout: Duration,
    /// How long a closing connection may take to drain its last frames.
    pub close_grace: Duration,
    /// How long shutdown waits for clients to receive their last frames.
    pub shutdown_grace: Duration,
    pub history: HistoryPaging,
    /// Members a group may have, and groups a user may be in.
    pub groups: GroupLimits,
    /// Connections whose deliveries are written per loop turn. A fan-out to more waits for
    /// later turns, with other clients' replies written in between: this bounds the delay a
    /// big group imposes on everyone else.
    pub delivery_writes_per_turn: usize,
    /// Failed log-ins, new accounts, messages and connections per user or address.
    pub abuse: AbuseLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            connections_max: 10_000,
            frame_bytes_max: FRAME_BYTES_MAX,
            unsent_bytes_max: 1024 * 1024,
            handshake_timeout: Duration::from_secs(10),
            login_timeout: Duration::from_secs(60),
            frame_timeout: Duration::from_secs(30),
            idle_ping_after: Duration::from_secs(120),
            idle_close_after: Duration::from_secs(30),
            stalled_reader_timeout: Duration::from_secs(30),
            close_grace: Duration::from_secs(5),
            shutdown_grace: Duration::from_secs(2),
            history: HistoryPaging::default(),
            groups: GroupLimits::default(),
            delivery_writes_per_turn: 64,
            abuse: AbuseLimits::default(),
        }
    }
}

/// The password-hashing worker pool and its argon2id cost.
#[derive(Debug, Clone)]
pub struct HashingConfig {
    pub threads: usize,
    /// Jobs waiting for a thread at most; past it the client gets `server_busy`.
    pub queue_max: usize,
    pub memory_kib: u32,
    pub passes: u32,
}

impl Default for HashingConfig {
    fn default() -> Self {
        HashingConfig {
            threads: 2,
            queue_max: 256,
            memory_kib: chat_argon2::OWASP_MEMORY_KIB,
            passes: chat_argon2::OWASP_PASSES,
        }
    }
}
