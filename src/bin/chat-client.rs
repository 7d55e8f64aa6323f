//! `chat-client`: parses the command line and runs the client.

use std::path::PathBuf;
use std::process::ExitCode;

use chat::server::config::DEFAULT_PORT;
use clap::Parser;

/// A terminal chat client. At a terminal it asks for a username and password; from a pipe or a
/// file it reads them as the first two lines, then one command per line.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// The server's address, host:port.
    #[arg(long, default_value_t = format!("127.0.0.1:{DEFAULT_PORT}"))]
    server: String,
    /// Speak TLS, and check the server's certificate (its name or IP must be the host given
    /// in --server).
    #[arg(long)]
    tls: bool,
    /// With --tls: trust the certificate authorities in this PEM file rather than the
    /// system's.
    #[arg(long, requires = "tls", default_value = chat::tls::SYSTEM_CA_FILE)]
    ca: PathBuf,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let tls = if args.tls {
        match chat::tls::client_config(&args.ca) {
            Ok(config) => Some(config),
            Err(e) => {
                eprintln!("chat-client: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        None
    };
    let exit = chat::client::run(chat::client::Endpoint {
        server: args.server,
        tls,
    });
    if let Some(reason) = &exit.reason {
        eprintln!("chat-client: {reason}");
    }
    ExitCode::from(exit.status)
}
