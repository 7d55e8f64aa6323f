//! `chat-server`: parses the command line, then serves (starts the event loop and says where it
//! listens) or, with `inspect`, prints what a store holds.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use chat::core::abuse::AbuseLimits;
use chat::server::Server;
use chat::server::config::{Config, DEFAULT_PORT, HashingConfig, Limits, WebConfig};
use chat::store::StoreKind;
use chat_domain::rate::RateLimit;
use chat_domain::rules::groups::GroupLimits;
use clap::builder::TypedValueParser;
use clap::{Parser, Subcommand};

// The server's allocator (Cargo.toml says why): the store thread allocates and frees a tree
// leaf or a page per message, which glibc's malloc makes a fifth of the server's CPU.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

unsafe extern "C" {
    /// mimalloc's own: frees what the calling thread's heap holds unused; `force` also
    /// purges at once the pages freed there and by other threads (sled's), which mimalloc
    /// otherwise purges on a later allocation, never if the thread goes quiet.
    fn mi_collect(force: bool);
}

/// Gives a thread's freed memory back once it is quiet: 2.1 -> 1.5 KiB an
/// idle connection on sled (docs/benchmarks.md).
fn release_freed_memory() {
    // SAFETY: a plain call into the allocator this binary uses, linked by the mimalloc crate.
    unsafe { mi_collect(true) }
}

/// A small chat server: one thread, one event loop, messages stored in sled or SQLite.
#[derive(Parser, Debug)]
// A flag given twice takes its last value, so a wrapper's defaults can be overridden.
#[command(
    version,
    about,
    args_conflicts_with_subcommands = true,
    args_override_self = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Tool>,
    #[command(flatten)]
    serve: Args,
}

#[derive(Subcommand, Debug)]
enum Tool {
    /// Print a store's users and messages (never password hashes); changes no user or message.
    Inspect {
        /// Storage engine of the store.
        #[arg(long, default_value = "sled", value_parser = ["sled", "sqlite"])]
        store: String,
        /// The directory the server was given as --data.
        #[arg(long, default_value = "chat-data")]
        data: PathBuf,
        /// JSON for scripts instead of text for people.
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::Args, Debug)]
struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value_t = SocketAddr::from(([127, 0, 0, 1], DEFAULT_PORT)))]
    listen: SocketAddr,
    /// Also serve the web page and its WebSocket here (port 0 picks a free port).
    #[arg(long)]
    http: Option<SocketAddr>,
    /// An origin besides the page's own whose pages may use the WebSocket (repeat for more),
    /// e.g. https://chat.example.org.
    #[arg(long = "allow-origin", requires = "http")]
    allowed_origins: Vec<String>,
    /// Serve TLS only, with this certificate chain (PEM); needs --tls-key.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Storage engine.
    #[arg(long, default_value = "sled", value_parser = ["sled", "sqlite"])]
    store: String,
    /// Directory for the store's files. The store in it is wiped at every start unless
    /// --keep-data is given; one server at a time may use a directory.
    #[arg(long, default_value = "chat-data")]
    data: PathBuf,
    /// Keep the data from the last run, and make every write durable before it is
    /// acknowledged. Without this flag the store is wiped at startup.
    #[arg(long)]
    keep_data: bool,
    /// Open connections at most.
    #[arg(long, default_value_t = 10_000)]
    max_connections: usize,
    /// Unsent bytes a connection may hold before it is dropped as a slow reader.
    #[arg(long, default_value_t = 1024 * 1024)]
    max_unsent_bytes: usize,
    /// Seconds a connection's unsent output may stay over half of --max-unsent-bytes (its
    /// requests wait unread meanwhile) before it is closed as a reader that does not read.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    stalled_reader_secs: u64,
    /// Seconds of silence before the server pings a connection.
    #[arg(long, default_value_t = 120)]
    idle_ping_secs: u64,
    /// Seconds a connection has to finish its handshake.
    #[arg(long, default_value_t = 10)]
    handshake_timeout_secs: u64,
    /// Seconds a connection has to log in.
    #[arg(long, default_value_t = 60)]
    login_timeout_secs: u64,
    /// Seconds a frame may take to arrive once it has begun (a trickling client is closed).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    frame_timeout_secs: u64,
    /// Failed log-ins allowed a minute, per username and per address.
    #[arg(long, default_value_t = 5)]
    login_failures_per_min: u32,
    /// New accounts allowed an hour per address.
    #[arg(long, default_value_t = 10)]
    registrations_per_hour: u32,
    /// Messages a user may send at once before the steady rate applies.
    #[arg(long, default_value_t = 50)]
    message_burst: u32,
    /// Messages a second a user may send, steadily (all their devices together).
    #[arg(long, default_value_t = 10)]
    messages_per_sec: u32,
    /// Connections one address may have open at once (an IPv6 /64 counts as one address).
    #[arg(long, default_value_t = 64,
          value_parser = clap::value_parser!(u32).range(1..).map(|n| usize::try_from(n).unwrap_or(usize::MAX)))]
    max_connections_per_address: usize,
    /// Members a group may have (at most 1,500: a list of them must fit in one frame).
    #[arg(long, default_value_t = chat_domain::limits::GROUP_MEMBERS_MAX,
          value_parser = clap::value_parser!(u16).range(1..=1500).map(usize::from))]
    max_group_members: usize,
    /// Groups a user may be in.
    #[arg(long, default_value_t = chat_domain::limits::GROUPS_PER_USER_MAX)]
    max_groups_per_user: usize,
    /// Connections whose deliveries are written per loop turn; a bigger fan-out is spread over
    /// turns so that other clients' replies go out in between.
    #[arg(long, default_value_t = 64)]
    delivery_writes_per_turn: usize,
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
    let cli = Cli::parse();
    match cli.command {
        Some(Tool::Inspect { store, data, json }) => inspect(&store, &data, json),
        None => serve(cli.serve),
    }
}

fn store_kind(name: &str) -> Result<StoreKind, ExitCode> {
    name.parse().map_err(|e| {
        eprintln!("chat-server: {e}");
        ExitCode::from(2)
    })
}

fn inspect(store: &str, data: &Path, json: bool) -> ExitCode {
    let kind = match store_kind(store) {
        Ok(kind) => kind,
        Err(code) => return code,
    };
    match chat::inspect::inspect(kind, data, json, &mut std::io::stdout().lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chat-server inspect: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve(args: Args) -> ExitCode {
    let store = match store_kind(&args.store) {
        Ok(kind) => kind,
        Err(code) => return code,
    };
    let limits = Limits {
        connections_max: args.max_connections,
        unsent_bytes_max: args.max_unsent_bytes,
        idle_ping_after: Duration::from_secs(args.idle_ping_secs),
        handshake_timeout: Duration::from_secs(args.handshake_timeout_secs),
        login_timeout: Duration::from_secs(args.login_timeout_secs),
        frame_timeout: Duration::from_secs(args.frame_timeout_secs),
        stalled_reader_timeout: Duration::from_secs(args.stalled_reader_secs),
        abuse: AbuseLimits {
            login_failures: RateLimit::per(args.login_failures_per_min, Duration::from_secs(60)),
            registrations: RateLimit::per(args.registrations_per_hour, Duration::from_secs(3600)),
            messages: RateLimit {
                burst: args.message_burst.max(1),
                interval: RateLimit::per(args.messages_per_sec, Duration::from_secs(1)).interval,
            },
            connections_per_address: args.max_connections_per_address,
            ..AbuseLimits::default()
        },
        delivery_writes_per_turn: args.delivery_writes_per_turn.max(1),
        groups: GroupLimits {
            members_max: args.max_group_members,
            groups_per_user_max: args.max_groups_per_user,
        },
        ..Limits::default()
    };
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => match chat::tls::server_config(cert, key) {
            Ok(config) => Some(config),
            Err(e) => {
                eprintln!("chat-server: {e}");
                return ExitCode::FAILURE;
            }
        },
        _ => None,
    };
    if tls.is_none() && !args.listen.ip().is_loopback() {
        eprintln!(
            "chat-server: warning: listening on {} in plain text: passwords and messages cross \
             the network unencrypted. Give --tls-cert and --tls-key (README: TLS).",
            args.listen
        );
    }
    if let Some(http) = args.http.filter(|http| !http.ip().is_loopback()) {
        eprintln!(
            "chat-server: warning: the web page on {http} is plain HTTP: passwords and messages \
             cross the network unencrypted. Put it behind a TLS proxy (README: web page)."
        );
    }
    let web = args.http.map(|listen| WebConfig {
        listen,
        allowed_origins: args.allowed_origins.clone(),
    });
    let config = Config {
        tls,
        web,
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
        release_freed_memory,
    };
    let server = match Server::start(config) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("chat-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The lines on stdout: tests and scripts wait for them to know the ports.
    println!("listening on {}", server.local_addr());
    if let Some(web) = server.web_addr() {
        println!("web page at http://{web}/");
    }
    match server.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chat-server: {e}");
            ExitCode::FAILURE
        }
    }
}
