//! Fuzzes the command parser: it must never panic, and whatever it accepts must print back to a
//! line that parses to the same command.
#![no_main]

use chat_domain::command::{Command, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(command) = parse(line) {
        // A body may hold a newline only if it came in the middle of the line; such a command
        // prints to two lines, which is not a single typed line, so skip the round trip.
        if matches!(&command, Command::Send { body, .. } if body.as_str().contains('\n')) {
            return;
        }
        assert_eq!(parse(&command.to_string()), Ok(command));
    }
});
