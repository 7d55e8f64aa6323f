//! The application: the binaries' shared code and the event loop that wires the domain's ports
//! to adapters.

pub mod bench;
pub mod client;
pub mod core;
pub mod data_lock;
pub mod inspect;
pub mod open_files;
pub mod server;
pub mod store;
pub mod tls;
