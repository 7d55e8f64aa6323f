//! `chat-server`: parses the command line, starts the event loop, and says where it listens.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use chat::server::Server;
use chat::server::config::{Config, DEFAULT_PORT, HashingConfig, Limits};
use chat::store::StoreKind;
use clap::Parser;

/// A small chat server: one thread, one event loop, messages stored in sled or SQLite.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value_t = SocketAddr::from(([127, 0, 0, 1], DEFAULT_PORT)))]
    listen: SocketAddr,
    /// Storage engine.
    #[arg(long, default_value = "sled", value_parser = ["sled", "sqlite"])]
    store: String,
    /// Directory for the store's files.
    #[arg(long, default_value = "chat-data")]
    data: PathBuf,
    /// Keep the data from the last run instead of wiping it at startup, and make every
    /// acknowledged write durable before it is acknowledged.
    #[arg(long)]
    keep_data: bool,
    /// Open connections at most.
    #[arg(long, default_value_t = 10_000)]
    max_connections: usize,
    /// Unsent bytes a connection may hold before it is dropped as a slow reader.
    #[arg(long, default_value_t = 1024 * 1024)]
    max_unsent_bytes: usize,
    /// Seconds of silence before the server pings a connection.
    #[arg(long, default_value_t = 120)]
    idle_ping_secs: u64,
    /// Seconds a connection has to finish its handshake.
    #[arg(long, default_value_t = 10)]
    handshake_timeout_secs: u64,
    /// Seconds a connection has to log in.
    #[arg(long, default_value_t = 60)]
    login_timeout_secs: u64,
    /// Password-hashing threads.
    #[arg(long, default_value_t = 2)]
    hash_threads: usize,
    /// argon2id memory cost in KiB (OWASP: 19456). Lower only for tests.
    #[arg(long, default_value_t = chat_argon2::OWASP_MEMORY_KIB)]
    hash_memory_kib: u32,
    /// argon2id passes (OWASP: 2). Lower only for tests.
    #[arg(long, default_value_t = chat_argon2::OWASP_PASSES)]
    hash_passes: u32,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let store: StoreKind = match args.store.parse() {
        Ok(kind) => kind,
        Err(e) => {
            eprintln!("chat-server: {e}");
            return ExitCode::from(2);
        }
    };
    let limits = Limits {
        connections_max: args.max_connections,
        unsent_bytes_max: args.max_unsent_bytes,
        idle_ping_after: Duration::from_secs(args.idle_ping_secs),
        handshake_timeout: Duration::from_secs(args.handshake_timeout_secs),
        login_timeout: Duration::from_secs(args.login_timeout_secs),
        ..Limits::default()
    };
    let config = Config {
        listen: args.listen,
        store,
        data_dir: args.data,
        keep_data: args.keep_data,
        limits,
        hashing: HashingConfig {
            threads: args.hash_threads,
            memory_kib: args.hash_memory_kib,
            passes: args.hash_passes,
            ..HashingConfig::default()
        },
    };
    let server = match Server::start(config) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("chat-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The one line on stdout: tests and scripts wait for it to know the port.
    println!("listening on {}", server.local_addr());
    match server.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chat-server: event loop failed: {e}");
            ExitCode::FAILURE
        }
    }
}
