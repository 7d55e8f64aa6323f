//! chat-web: the web transport adapter. HTTP for the page and the WebSocket upgrade (`http`),
//! the page itself (`assets`), the protocol's frames as JSON (`json`), and the WebSocket's
//! limits (`socket_config`). The server's loop owns the sockets and calls these.

pub mod assets;
pub mod http;
pub mod json;

pub use tungstenite;

use tungstenite::protocol::WebSocketConfig;

/// The WebSocket's limits: a message or frame from the page at most `message_bytes_max` (not
/// tungstenite's default of many MiB), unsent output at most `unsent_bytes_max`, small read
/// buffers for many idle tabs.
pub fn socket_config(message_bytes_max: usize, unsent_bytes_max: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(unsent_bytes_max)
        .max_message_size(Some(message_bytes_max))
        .max_frame_size(Some(message_bytes_max))
}
