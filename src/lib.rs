//! The application: the binaries and the event loop that wire the domain's ports to adapters.
//! For now it holds the choice of storage adapter; the server loop comes next.

pub mod store;
