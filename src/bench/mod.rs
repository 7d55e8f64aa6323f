//! `chat-bench`: the load generator. Each mode is a module; they share a blocking wire client
//! and a way to start the server.

pub mod fanout;
mod server_process;
mod wire_client;
