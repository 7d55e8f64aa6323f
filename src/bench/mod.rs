//! `chat-bench`: the load generator. Each mode is a module; they share the protocol codecs, a
//! way to start or find the server, and a blocking wire client.

pub mod fanout;
pub mod flood;
pub mod fsync;
pub mod history;
pub mod idle;
pub mod load;
pub mod peer;
pub mod probe;
pub mod server_process;
pub mod target;
mod wire_client;
