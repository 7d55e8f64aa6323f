//! `chat-client`: a terminal chat client. A person at a terminal gets prompts and a line editor;
//! a script gets plain lines. Either way one thread waits on stdin and the server together.

mod answers;
mod complete;
mod driver;
mod editor;
mod format;
mod link;
mod recall;
mod session;
mod terminal;
mod ui;
mod width;

use std::time::Duration;

use jiff::tz::TimeZone;

pub use driver::{Exit, REPLY_PATIENCE};
pub use session::{
    HISTORY_COUNT_MAX, HISTORY_READS_IN_FLIGHT_MAX, PASSWORD_ATTEMPTS_MAX, PENDING_SENDS_MAX,
    REQUESTS_IN_FLIGHT_MAX, help,
};
pub use ui::INPUT_LINE_BYTES_MAX;

pub use link::Endpoint;

use driver::Driver;
use link::Link;
use session::Session;
use ui::{PlainUi, TerminalUi, Ui};

/// Connects to the endpoint and runs the client until the person or script leaves, or (once
/// logged in) the server stays away: at a terminal the client keeps reconnecting; from a script
/// for `reconnect_for` at most.
pub fn run(endpoint: Endpoint, reconnect_for: Duration) -> Exit {
    // Connect first, so that an unreachable server is said before anyone types a password.
    let link = match Link::connect_any(&endpoint, 0) {
        Ok(link) => link,
        Err(e) => return Exit::failure(e),
    };
    let interactive = terminal::stdin_is_terminal();
    let ui: Box<dyn Ui> = if interactive {
        match TerminalUi::new() {
            Ok(ui) => Box::new(ui),
            Err(e) => return Exit::failure(format!("cannot set up the terminal: {e}")),
        }
    } else {
        Box::new(PlainUi::new())
    };
    let bound =
        (!interactive).then(|| u64::try_from(reconnect_for.as_millis()).unwrap_or(u64::MAX));
    let session = Session::new(interactive, TimeZone::system(), random_client_message_id())
        .reconnect_for(bound);
    match Driver::new(endpoint, link, session, ui) {
        Ok(driver) => driver.run(),
        Err(e) => Exit::failure(format!("cannot start: {e}")),
    }
}

/// A random first client message id: std's hasher keys are random per process, which is all
/// the randomness needed to keep two sessions' numbers apart. Halved, so counting up from it
/// never wraps.
fn random_client_message_id() -> u64 {
    use std::hash::BuildHasher;
    (std::hash::RandomState::new().hash_one(std::process::id()) >> 1).max(1)
}
