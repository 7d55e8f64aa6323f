//! `chat-client`: parses the command line and runs the client.

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
}

fn main() -> ExitCode {
    let args = Args::parse();
    let exit = chat::client::run(&args.server);
    if let Some(reason) = &exit.reason {
        eprintln!("chat-client: {reason}");
    }
    ExitCode::from(exit.status)
}
