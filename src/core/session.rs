//! The session family: the Hello, registering and logging in (in two halves around the password
//! job), Ping and Quit, and what a connection may do before it logs in.

use chat_domain::rules::{self, LoginError};
use chat_domain::{Password, Store, Username};
use chat_wire::{Hello, MAGIC, PROTOCOL_VERSION, Reply, Request, ServerFrame};

use super::abuse::LoginOutcome;
use super::{Busy, ConnId, Core, HashJob, HashQueue, Hashed, OnCommitFailure, Phase};

impl<S: Store> Core<S> {
    pub(super) fn hello(&mut self, conn: ConnId, hello: &Hello) {
        if hello.magic != MAGIC {
            let message = "This is a chat server; the Hello did not carry its magic bytes.";
            return self.close_with(conn, "bad_magic", message, true);
        }
        if hello.version != PROTOCOL_VERSION {
            let message = format!(
                "This server speaks protocol version {PROTOCOL_VERSION}; the client asked for {}.",
                hello.version
            );
            return self.close_with(conn, "unsupported_version", &message, true);
        }
        if let Some(state) = self.conns.get_mut(&conn) {
            state.phase = Phase::LoggedOut;
        }
        let welcome = ServerFrame::Welcome {
            version: PROTOCOL_VERSION,
            frame_bytes_max: u32::try_from(self.settings.frame_bytes_max).unwrap_or(u32::MAX),
        };
        self.send_frame(conn, welcome, OnCommitFailure::Send);
    }

    /// Before logging in: register, log in, ping and quit; anything else is refused.
    pub(super) fn logged_out_request(
        &mut self,
        conn: ConnId,
        id: u32,
        request: Request,
        hashing: &mut impl HashQueue,
    ) {
        match request {
            Request::Register { username, password } => {
                self.register(conn, id, &username, password, hashing)
            }
            Request::LogIn { username, password } => {
                self.log_in(conn, id, &username, password, hashing)
            }
            Request::Ping => self.reply(conn, id, Reply::Pong),
            Request::Quit => self.quit(conn, id),
            // Named, not a catch-all: a request type added later must be placed here by hand.
            Request::Send { .. }
            | Request::Resend { .. }
            | Request::History { .. }
            | Request::CreateGroup { .. }
            | Request::Invite { .. }
            | Request::Kick { .. }
            | Request::Leave { .. }
            | Request::SetOwner { .. }
            | Request::MakeAdmin { .. }
            | Request::Members { .. }
            | Request::Groups
            | Request::Conversations
            | Request::MarkRead { .. }
            | Request::CatchUp { .. } => {
                self.reply_error(conn, id, "not_logged_in", "Log in or register first.")
            }
        }
    }

    pub(super) fn quit(&mut self, conn: ConnId, id: u32) {
        let bye = ServerFrame::Reply {
            id,
            reply: Reply::Bye,
        };
        self.send_then_close(conn, bye, true);
    }

    fn register(
        &mut self,
        conn: ConnId,
        id: u32,
        username: &str,
        password: String,
        hashing: &mut impl HashQueue,
    ) {
        let username = match Username::parse(username) {
            Ok(username) => username,
            Err(e) => return self.refuse(conn, id, &e),
        };
        let password = match Password::new(password) {
            Ok(password) => password,
            Err(e) => return self.refuse(conn, id, &e),
        };
        // Refuse a taken name before spending a hash on it.
        if let Err(e) = rules::check_register(&self.store, &username) {
            return self.refuse(conn, id, &e);
        }
        let Some(ip) = self.peer(conn) else {
            return;
        };
        let now = self.clock.since_start;
        if let Err(e) = self.guards.may_register(ip, now) {
            return self.refuse(conn, id, &e);
        }
        // Spent only once it is under way: a busy server's refusal costs nothing.
        if self.submit(conn, id, HashJob::Register { username, password }, hashing) {
            self.guards.registering(ip, now);
        }
    }

    fn log_in(
        &mut self,
        conn: ConnId,
        id: u32,
        username: &str,
        password: String,
        hashing: &mut impl HashQueue,
    ) {
        let username = match Username::parse(username) {
            Ok(username) => username,
            Err(e) => return self.refuse(conn, id, &e),
        };
        let Some(ip) = self.peer(conn) else {
            return;
        };
        let now = self.clock.since_start;
        // Admitted (and counted as a failure until it proves otherwise) before any hashing.
        if let Err(e) = self.guards.may_try_login(&username, ip, now) {
            return self.refuse(conn, id, &e);
        }
        // A password that could never have been registered is simply wrong, after the same
        // wait as any other: checking it against the dummy hash keeps the timing uniform.
        let password = Password::new(password)
            .or_else(|_| Password::new("wrong password, never valid".into()));
        let attempt = match (
            password,
            rules::begin_login(&self.store, username.clone(), &self.dummy_hash),
        ) {
            (Ok(password), Ok(attempt)) => HashJob::LogIn { attempt, password },
            (Err(e), _) => {
                self.guards
                    .login_settled(LoginOutcome::NotChecked, &username, ip, now);
                return self.refuse(conn, id, &e);
            }
            (_, Err(e)) => {
                self.guards
                    .login_settled(LoginOutcome::NotChecked, &username, ip, now);
                return self.refuse(conn, id, &e);
            }
        };
        if !self.submit(conn, id, attempt, hashing) {
            self.guards
                .login_settled(LoginOutcome::NotChecked, &username, ip, now);
        }
    }

    /// Hands a job to the hashing queue; false (and `server_busy` answered) if it is full.
    fn submit(
        &mut self,
        conn: ConnId,
        id: u32,
        job: HashJob,
        hashing: &mut impl HashQueue,
    ) -> bool {
        match hashing.submit(conn, id, job) {
            Ok(()) => {
                if let Some(state) = self.conns.get_mut(&conn) {
                    state.hashing = true;
                }
                true
            }
            Err(Busy) => {
                let message = "The server is busy; try again in a moment.";
                self.reply_error(conn, id, "server_busy", message);
                false
            }
        }
    }

    /// The second half of a registration or log-in, once its password job is done.
    pub(super) fn hashed(&mut self, conn: ConnId, id: u32, done: Hashed) {
        let Some(state) = self.conns.get_mut(&conn) else {
            return;
        };
        debug_assert!(
            state.hashing,
            "a password job came back that was never sent"
        );
        state.hashing = false;
        let ip = state.peer;
        let now = self.clock.since_start;
        match done {
            Hashed::Register { hash: Ok(_), .. } if self.store_failed => {
                self.refuse_write(conn, id)
            }
            Hashed::Register {
                username,
                hash: Ok(hash),
            } => {
                self.wrote = true;
                match rules::finish_register(&mut self.store, username, hash, self.clock.wall) {
                    Ok(user) => {
                        let reply = Reply::Registered {
                            username: user.username.to_string(),
                        };
                        self.logged_in(conn, user.username);
                        let frame = ServerFrame::Reply { id, reply };
                        self.send_frame(conn, frame, OnCommitFailure::UndoRegistration(id));
                    }
                    Err(e) => self.refuse(conn, id, &e),
                }
            }
            Hashed::LogIn {
                attempt,
                matches: Ok(matches),
            } => {
                let name = attempt.username.clone();
                match attempt.finish(matches) {
                    Ok(user) => {
                        self.guards
                            .login_settled(LoginOutcome::LoggedIn, &name, ip, now);
                        let username = user.to_string();
                        self.logged_in(conn, user);
                        self.reply(conn, id, Reply::LoggedIn { username });
                    }
                    Err(e) => {
                        let outcome = match &e {
                            LoginError::WrongPassword => LoginOutcome::WrongPassword,
                            LoginError::UnknownUser(_) => LoginOutcome::UnknownName,
                            LoginError::Store(_) => LoginOutcome::NotChecked,
                        };
                        self.guards.login_settled(outcome, &name, ip, now);
                        self.refuse(conn, id, &e);
                    }
                }
            }
            Hashed::LogIn {
                attempt,
                matches: Err(e),
            } => {
                self.guards
                    .login_settled(LoginOutcome::NotChecked, &attempt.username, ip, now);
                self.refuse(conn, id, &e);
            }
            Hashed::Register { hash: Err(e), .. } => self.refuse(conn, id, &e),
        }
    }
}

#[cfg(test)]
mod tests;
