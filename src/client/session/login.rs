//! Logging in, without I/O: the name, the password (twice for a new account), what a refusal
//! leads to (at a terminal a wrong password may mean the name is someone else's), and the
//! start of the chat.

use chat_domain::error::ErrorCode;
use chat_domain::{Password, Username};
use chat_wire::{ErrorBody, Request};

use super::format::{self, MessageFormat};
use super::{PASSWORD_ATTEMPTS_MAX, Pending, Session, Stage};

impl Session {
    pub(super) fn on_username(&mut self, line: &str) {
        let name = line.trim();
        match Username::parse(name) {
            Ok(username) => {
                self.wrong_passwords = 0;
                self.stage = Stage::Password { username };
            }
            Err(_) if name.is_empty() && self.interactive => self.stage = Stage::Username,
            Err(e) => {
                let line = format::error(e.code(), &e.to_string());
                if self.interactive {
                    self.show(&line);
                    self.stage = Stage::Username;
                } else {
                    self.exit(1, Some(line));
                }
            }
        }
    }

    pub(super) fn on_new_password(&mut self, username: Username, password: String) {
        match Password::new(password.clone()) {
            Ok(_) => self.stage = Stage::NewPasswordAgain { username, password },
            Err(e) => {
                self.show(&format::error(e.code(), &e.to_string()));
                self.stage = Stage::NewPassword { username };
            }
        }
    }

    pub(super) fn log_in(&mut self, username: Username, password: String) {
        let request = Request::LogIn {
            username: username.to_string(),
            password: password.clone(),
        };
        self.send(request, Pending::LogIn { username, password });
        self.stage = Stage::Waiting;
    }

    pub(super) fn register(&mut self, username: Username, password: String) {
        let request = Request::Register {
            username: username.to_string(),
            password: password.clone(),
        };
        self.send(request, Pending::Register { username, password });
        self.stage = Stage::Waiting;
    }

    pub(super) fn on_login_refused(&mut self, username: Username, password: String, e: ErrorBody) {
        match (e.code.as_str(), self.interactive) {
            ("unknown_user", true) => {
                self.show(&format!(
                    "There is no account named {username} yet. To create it, type the same password again."
                ));
                self.on_new_password(username, password);
            }
            ("unknown_user", false) => self.register(username, password),
            ("wrong_password", true) => {
                self.wrong_passwords += 1;
                self.show(&format::error(&e.code, &e.message));
                if self.wrong_passwords < PASSWORD_ATTEMPTS_MAX {
                    self.show(&format!(
                        "If {username} is not your account, the name may belong to someone else: press Enter with no password to choose another name."
                    ));
                    self.stage = Stage::Password { username };
                } else {
                    self.show(&format!(
                        "{PASSWORD_ATTEMPTS_MAX} wrong passwords for {username}: the name may belong to someone else. Choose another name (or the same one to try again)."
                    ));
                    self.stage = Stage::Username;
                }
            }
            ("invalid_password", true) => {
                self.show(&format::error(&e.code, &e.message));
                self.stage = Stage::Password { username };
            }
            (_, true) if e.code != "wrong_password" => {
                self.show(&format::error(&e.code, &e.message));
                self.stage = Stage::Username;
            }
            _ => self.exit(1, Some(format::error(&e.code, &e.message))),
        }
    }

    pub(super) fn start_chatting(&mut self, username: String) {
        let format = MessageFormat::new(username, self.zone.clone());
        self.stage = Stage::Chatting { format };
    }
}
