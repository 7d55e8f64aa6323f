//! The nom parser for what a person types in the client: `/send`, `/history`, the group
//! commands, `/help`, `quit`.

use std::fmt;

use nom::bytes::complete::{take_till1, take_while1};
use nom::character::complete::{char, digit1, satisfy, space0, space1};
use nom::combinator::{eof, opt, rest};
use nom::{IResult, Parser};

use crate::body::{BodyError, MessageBody};
use crate::error::ErrorCode;
use crate::group::{GroupName, GroupNameError};
use crate::message::Recipient;
use crate::username::{Username, UsernameError};

/// A command a person typed, with every argument already valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `/send <user|#group> <text>`: the text is everything after the one space or tab that
    /// follows the recipient, kept exactly.
    Send { to: Recipient, body: MessageBody },
    /// `/history <user|#group> [count]`: the newest `count` messages (the server's default if
    /// absent).
    History { with: Recipient, count: Option<u32> },
    /// `/create #group [user ...]`
    Create {
        group: GroupName,
        members: Vec<Username>,
    },
    /// `/invite #group <user>`
    Invite { group: GroupName, user: Username },
    /// `/kick #group <user>`
    Kick { group: GroupName, user: Username },
    /// `/leave #group`
    Leave { group: GroupName },
    /// `/owner #group <user>`
    Owner { group: GroupName, user: Username },
    /// `/admin #group <user>`
    Admin { group: GroupName, user: Username },
    /// `/members #group`
    Members { group: GroupName },
    /// `/groups`
    Groups,
    /// `/unread`
    Unread,
    /// `/help`
    Help,
    /// `quit` or `/quit`
    Quit,
}

pub const SEND_USAGE: &str = "/send <user|#group> <text>";
pub const HISTORY_USAGE: &str = "/history <user|#group> [count]";
pub const CREATE_USAGE: &str = "/create #group [user ...]";
pub const INVITE_USAGE: &str = "/invite #group <user>";
pub const KICK_USAGE: &str = "/kick #group <user>";
pub const LEAVE_USAGE: &str = "/leave #group";
pub const OWNER_USAGE: &str = "/owner #group <user>";
pub const ADMIN_USAGE: &str = "/admin #group <user>";
pub const MEMBERS_USAGE: &str = "/members #group";
pub const GROUPS_USAGE: &str = "/groups";
pub const UNREAD_USAGE: &str = "/unread";
pub const HELP_USAGE: &str = "/help";
pub const QUIT_USAGE: &str = "quit";

/// What `/help` shows.
pub const HELP: &str = "\
Commands:
  /send <user|#group> <text>      send <text> to a person or a group
  /history <user|#group> [count]  show your last messages there (50 unless you give a count)
  /create #group [user ...]       start a group, with these people in it
  /invite #group <user>           add someone (owner and admins)
  /kick #group <user>             remove someone (owner; admins remove plain members)
  /leave #group                   leave (an owner hands over first with /owner)
  /owner #group <user>            hand the group to another member (owner)
  /admin #group <user>            make a member an admin (owner)
  /members #group                 list the members, their roles, who is online
  /groups                         list your groups
  /unread                         list the conversations with unread messages
  /help                           show this list
  quit                            leave (or /quit, Ctrl-D)";

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
    InvalidGroup(GroupNameError),
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
        "create" => parse_create(args),
        "invite" => {
            group_and_user(args, INVITE_USAGE).map(|(group, user)| Command::Invite { group, user })
        }
        "kick" => {
            group_and_user(args, KICK_USAGE).map(|(group, user)| Command::Kick { group, user })
        }
        "owner" => {
            group_and_user(args, OWNER_USAGE).map(|(group, user)| Command::Owner { group, user })
        }
        "admin" => {
            group_and_user(args, ADMIN_USAGE).map(|(group, user)| Command::Admin { group, user })
        }
        "leave" => group_only(args, LEAVE_USAGE).map(|group| Command::Leave { group }),
        "members" => group_only(args, MEMBERS_USAGE).map(|group| Command::Members { group }),
        "groups" => no_arguments(args, Command::Groups, GROUPS_USAGE),
        "unread" => no_arguments(args, Command::Unread, UNREAD_USAGE),
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

/// The white-space separated words after a command.
fn words(args: &str) -> Vec<&str> {
    args.split_whitespace().collect()
}

/// A group argument: it must be written with its `#`, so that `/invite bob team` is a usage
/// error rather than a group named bob.
fn group_arg(word: &str, usage: &'static str) -> Result<GroupName, CommandError> {
    if !word.starts_with('#') {
        return Err(CommandError::Usage(usage));
    }
    GroupName::typed(word).map_err(CommandError::InvalidGroup)
}

fn user_arg(word: &str) -> Result<Username, CommandError> {
    Username::parse(word).map_err(CommandError::InvalidRecipient)
}

fn parse_create(args: &str) -> Result<Command, CommandError> {
    let Some((group, users)) = words(args).split_first().map(|(g, u)| (*g, u.to_vec())) else {
        return Err(CommandError::Usage(CREATE_USAGE));
    };
    let group = group_arg(group, CREATE_USAGE)?;
    let members = users
        .into_iter()
        .map(user_arg)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Command::Create { group, members })
}

fn group_and_user(args: &str, usage: &'static str) -> Result<(GroupName, Username), CommandError> {
    let [group, user] = words(args)[..] else {
        return Err(CommandError::Usage(usage));
    };
    Ok((group_arg(group, usage)?, user_arg(user)?))
}

fn group_only(args: &str, usage: &'static str) -> Result<GroupName, CommandError> {
    let [group] = words(args)[..] else {
        return Err(CommandError::Usage(usage));
    };
    group_arg(group, usage)
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

/// `#team` is a group, anything else a user.
fn recipient(token: &str) -> Result<Recipient, CommandError> {
    if token.starts_with('#') {
        return GroupName::typed(token)
            .map(Recipient::Group)
            .map_err(CommandError::InvalidGroup);
    }
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
            Command::Create { group, members } => {
                write!(f, "/create {group}")?;
                members.iter().try_for_each(|m| write!(f, " {m}"))
            }
            Command::Invite { group, user } => write!(f, "/invite {group} {user}"),
            Command::Kick { group, user } => write!(f, "/kick {group} {user}"),
            Command::Leave { group } => write!(f, "/leave {group}"),
            Command::Owner { group, user } => write!(f, "/owner {group} {user}"),
            Command::Admin { group, user } => write!(f, "/admin {group} {user}"),
            Command::Members { group } => write!(f, "/members {group}"),
            Command::Groups => f.write_str("/groups"),
            Command::Unread => f.write_str("/unread"),
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
            CommandError::InvalidGroup(e) => e.fmt(f),
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
            CommandError::InvalidGroup(e) => e.code(),
            CommandError::InvalidBody(e) => e.code(),
        }
    }
}

impl std::error::Error for CommandError {}

#[cfg(test)]
mod tests;
