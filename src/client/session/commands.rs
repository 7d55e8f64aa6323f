//! A typed command, without I/O: parsed (`/query` here, the rest by the domain's parser),
//! refused with the line kept for the editor, or turned into a request; messages kept while
//! the link is down, bounded by `PENDING_SENDS_MAX`.

use chat_domain::command::{self, Command, CommandError};
use chat_domain::error::ErrorCode;
use chat_domain::rules::HistoryPaging;
use chat_wire::{Request, WireRecipient};

use super::format::{self, MessageFormat};
use super::history::{HISTORY_COUNT_MAX, HistoryRead};
use super::retry::Connection;
use super::{
    Effect, PENDING_SENDS_MAX, Pending, Session, Stage, pending_line, recipient_text, words,
};

impl Session {
    pub(super) fn on_command(&mut self, line: &str) {
        if let Some(query) = words::query_command(line) {
            return match query {
                Ok(to) => self.set_query(to),
                Err(e) => self.refuse(&e, line),
            };
        }
        let parsed = match (&self.query, line.trim_start().starts_with('/')) {
            (Some(to), false) if !line.trim().is_empty() && line.trim() != "quit" => {
                command::parse(&format!("/send {} {line}", recipient_text(to)))
            }
            _ => command::parse(line),
        };
        let needs_link = !matches!(
            parsed,
            Ok(Command::Send { .. } | Command::Help | Command::Quit) | Err(_)
        );
        if needs_link && self.connection != Connection::Up {
            let why = "Not connected to the server: this waits for the reconnection. Press Enter again once it is back.";
            return self.refuse(why, line);
        }
        match parsed {
            Ok(Command::Send { to, body }) => self.send_message(
                WireRecipient::from_domain(&to),
                body.as_str().to_string(),
                line,
            ),
            Ok(Command::History { with, count }) => {
                let wanted = count
                    .unwrap_or(HistoryPaging::default().page_default)
                    .min(HISTORY_COUNT_MAX);
                self.read_history(HistoryRead {
                    slot: self.answering.unwrap_or_default(),
                    with: WireRecipient::from_domain(&with),
                    wanted,
                    asked: count,
                    pages: Vec::new(),
                    received: 0,
                });
            }
            Ok(Command::Create { group, members }) => {
                let request = Request::CreateGroup {
                    group: group.as_str().to_string(),
                    members: members.iter().map(|m| m.to_string()).collect(),
                };
                self.send_group_change(request, &group);
            }
            Ok(Command::Invite { group, user }) => {
                let (name, user) = (group.as_str().to_string(), user.to_string());
                self.send_group_change(Request::Invite { group: name, user }, &group);
            }
            Ok(Command::Kick { group, user }) => {
                let (name, user) = (group.as_str().to_string(), user.to_string());
                self.send_group_change(Request::Kick { group: name, user }, &group);
            }
            Ok(Command::Leave { group }) => {
                let name = group.as_str().to_string();
                self.send_group_change(Request::Leave { group: name }, &group);
            }
            Ok(Command::Owner { group, user }) => {
                let (name, user) = (group.as_str().to_string(), user.to_string());
                self.send_group_change(Request::SetOwner { group: name, user }, &group);
            }
            Ok(Command::Admin { group, user }) => {
                let (name, user) = (group.as_str().to_string(), user.to_string());
                self.send_group_change(Request::MakeAdmin { group: name, user }, &group);
            }
            Ok(Command::Members { group }) => {
                let slot = self.answering.unwrap_or_default();
                let request = Request::Members {
                    group: group.as_str().to_string(),
                };
                let group = group.to_string();
                self.send(request, Pending::Members { slot, group });
            }
            Ok(Command::Groups) => {
                let slot = self.answering.unwrap_or_default();
                self.send(Request::Groups, Pending::Groups { slot });
            }
            Ok(Command::Unread) => {
                let slot = self.answering.unwrap_or_default();
                self.send(Request::Conversations, Pending::Unread { slot });
            }
            Ok(Command::Help) => {
                self.show(&words::help());
            }
            Ok(Command::Quit) => {
                if let Stage::Chatting { format } = std::mem::replace(&mut self.stage, Stage::Done)
                {
                    self.leave(format);
                }
            }
            Err(CommandError::Empty) => {}
            Err(e) => self.refuse(&format::error(e.code(), &e.to_string()), line),
        }
    }

    /// Refuses a typed line with `why`; at a terminal the line goes back into the editor.
    pub(super) fn refuse(&mut self, why: &str, line: &str) {
        self.show(why);
        if self.interactive {
            self.effects.push(Effect::KeepLine(line.to_string()));
        }
    }

    pub(super) fn set_query(&mut self, to: Option<WireRecipient>) {
        match &to {
            Some(to) => {
                let to = recipient_text(to);
                self.show(&format!(
                    "Talking to {to}: plain lines go to {to}. /query alone ends it."
                ));
            }
            None if self.query.is_some() => self.show("Plain lines are commands again."),
            None => self.show("No /query is open: /query <user|#group> opens one."),
        }
        self.query = to;
    }

    /// Sends a message now, or keeps it until the link is back (shown as pending); refuses it
    /// when `PENDING_SENDS_MAX` are already waiting.
    pub(super) fn send_message(&mut self, to: WireRecipient, body: String, line: &str) {
        let waiting = self
            .pending
            .values()
            .filter(|p| matches!(p.what, Pending::Send { .. }))
            .count();
        if waiting >= PENDING_SENDS_MAX {
            let why = format!(
                "Not sent: {PENDING_SENDS_MAX} messages already wait for the server. This one stays here; send it once they are through."
            );
            return self.refuse(&format::error("too_many_pending", &why), line);
        }
        let client_message_id = self.next_client_message_id;
        self.next_client_message_id += 1;
        let request = Request::Send {
            client_message_id,
            to: to.clone(),
            body: body.clone(),
        };
        let slot = if self.connection == Connection::Up {
            self.answering
        } else {
            self.show(&pending_line(&to, &body));
            None
        };
        self.send(request, Pending::Send { slot, to, body });
    }

    pub(super) fn send_group_change(&mut self, request: Request, group: &chat_domain::GroupName) {
        let slot = self.answering.unwrap_or_default();
        let group = group.to_string();
        self.send(request, Pending::GroupChange { slot, group });
    }

    pub(super) fn leave(&mut self, format: MessageFormat) {
        if self.connection != Connection::Up && self.pending.is_empty() {
            // Offline with nothing owed: nothing to wait for.
            return self.exit(0, None);
        }
        if self.connection != Connection::Up && self.interactive {
            self.show(
                "Leaving once the server is back and has what is pending. Ctrl-C again leaves now.",
            );
        }
        self.send(Request::Quit, Pending::Quit);
        self.stage = Stage::Leaving { format };
    }
}
