//! The nom parser for what a person types in the client: `/send`, `/history`, `/help`, `quit`.

use std::fmt;

use nom::bytes::complete::{take_till1, take_while1};
use nom::character::complete::{char, digit1, satisfy, space0, space1};
use nom::combinator::{eof, opt, rest};
use nom::{IResult, Parser};

use crate::body::{BodyError, MessageBody};
use crate::error::ErrorCode;
use crate::message::Recipient;
use crate::username::{Username, UsernameError};

/// A command a person typed, with every argument already valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `/send <user> <text>`: the text is everything after the one space or tab that follows the
    /// recipient, kept exactly.
    Send { to: Recipient, body: MessageBody },
    /// `/history <user> [count]`: the newest `count` messages (the server's default if absent).
    History { with: Recipient, count: Option<u32> },
    /// `/help`
    Help,
    /// `quit` or `/quit`
    Quit,
}

pub const SEND_USAGE: &str = "/send <user> <text>";
pub const HISTORY_USAGE: &str = "/history <user> [count]";
pub const HELP_USAGE: &str = "/help";
pub const QUIT_USAGE: &str = "quit";

/// What `/help` shows.
pub const HELP: &str = "\
Commands:
  /send <user> <text>      send <text> to <user>
  /history <user> [count]  show your last messages with <user> (50 unless you give a count)
  /help                    show this list
  quit                     leave (or /quit, Ctrl-D)";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandError {
    /// Nothing but white space; clients simply ignore such a line.
    Empty,
    /// Text that does not start with `/`.
    NotACommand,
    /// `/word` that is no command; holds the word as typed.
    UnknownCommand(String),
    /// A known command with the wrong arguments; holds its usage line.
    Usage(&'static str),
    InvalidRecipient(UsernameError),
    InvalidBody(BodyError),
}

type Res<'a, T> = IResult<&'a str, T>;

/// Parses one line. A trailing `\n` or `\r\n` is ignored; nothing else is trimmed from a body.
pub fn parse(line: &str) -> Result<Command, CommandError> {
    let line = line
        .strip_suffix('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .unwrap_or(line);
    let trimmed = line.trim();
    if trimmed.is_empty() {
        return Err(CommandError::Empty);
    }
    if trimmed.eq_ignore_ascii_case("quit") {
        return Ok(Command::Quit);
    }
    let start = line.trim_start();
    let Ok((args, word)) = command_word(start) else {
        return Err(if start.starts_with('/') {
            CommandError::UnknownCommand(start.split_whitespace().next().unwrap_or("/").to_string())
        } else {
            CommandError::NotACommand
        });
    };
    match word.to_ascii_lowercase().as_str() {
        "send" => parse_send(args),
        "history" => parse_history(args),
        "help" => no_arguments(args, Command::Help, HELP_USAGE),
        "quit" => no_arguments(args, Command::Quit, QUIT_USAGE),
        _ => Err(CommandError::UnknownCommand(format!("/{word}"))),
    }
}

fn command_word(input: &str) -> Res<'_, &str> {
    let (input, (_, word)) =
        (char('/'), take_while1(|c: char| c.is_ascii_alphanumeric())).parse(input)?;
    Ok((input, word))
}

fn is_space(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// A recipient token: everything up to the next white space.
fn token(input: &str) -> Res<'_, &str> {
    take_till1(char::is_whitespace).parse(input)
}

fn parse_send(args: &str) -> Result<Command, CommandError> {
    let parsed: Res<'_, (&str, &str, char, &str)> =
        (space1, token, satisfy(is_space), rest).parse(args);
    let Ok((_, (_, to, _, text))) = parsed else {
        return Err(CommandError::Usage(SEND_USAGE));
    };
    if text.is_empty() {
        return Err(CommandError::Usage(SEND_USAGE));
    }
    let to = recipient(to)?;
    let body = MessageBody::new(text.to_string()).map_err(CommandError::InvalidBody)?;
    Ok(Command::Send { to, body })
}

fn parse_history(args: &str) -> Result<Command, CommandError> {
    let parsed: Res<'_, _> = (space1, token, opt((space1, digit1)), space0, eof).parse(args);
    let Ok((_, (_, with, count, _, _))) = parsed else {
        return Err(CommandError::Usage(HISTORY_USAGE));
    };
    let count = match count {
        None => None,
        Some((_, digits)) => match digits.parse::<u32>() {
            Ok(n) if n > 0 => Some(n),
            _ => return Err(CommandError::Usage(HISTORY_USAGE)),
        },
    };
    Ok(Command::History {
        with: recipient(with)?,
        count,
    })
}

fn no_arguments(
    args: &str,
    command: Command,
    usage: &'static str,
) -> Result<Command, CommandError> {
    if args.trim().is_empty() {
        Ok(command)
    } else {
        Err(CommandError::Usage(usage))
    }
}

fn recipient(token: &str) -> Result<Recipient, CommandError> {
    Username::parse(token)
        .map(Recipient::User)
        .map_err(CommandError::InvalidRecipient)
}

impl fmt::Display for Command {
    /// The canonical line for the command: `parse` of it gives the command back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Send { to, body } => write!(f, "/send {to} {body}"),
            Command::History { with, count: None } => write!(f, "/history {with}"),
            Command::History {
                with,
                count: Some(n),
            } => write!(f, "/history {with} {n}"),
            Command::Help => f.write_str("/help"),
            Command::Quit => f.write_str("quit"),
        }
    }
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::Empty => f.write_str("Type a command, or /help for the list."),
            CommandError::NotACommand => f.write_str(
                "Commands start with /. To send a message: /send <user> <text>. Type /help for all commands.",
            ),
            CommandError::UnknownCommand(word) => {
                write!(f, "Unknown command {word}. Type /help for the list.")
            }
            CommandError::Usage(usage) => write!(f, "Usage: {usage}"),
            CommandError::InvalidRecipient(e) => e.fmt(f),
            CommandError::InvalidBody(e) => e.fmt(f),
        }
    }
}

impl ErrorCode for CommandError {
    fn code(&self) -> &'static str {
        match self {
            CommandError::Empty => "empty_command",
            CommandError::NotACommand => "not_a_command",
            CommandError::UnknownCommand(_) => "unknown_command",
            CommandError::Usage(_) => "usage",
            CommandError::InvalidRecipient(e) => e.code(),
            CommandError::InvalidBody(e) => e.code(),
        }
    }
}

impl std::error::Error for CommandError {}

#[cfg(test)]
mod tests;
