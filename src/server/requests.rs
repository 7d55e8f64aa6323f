//! What the loop does with each frame: the handshake, then each request handed to the domain's
//! rules, and the password results that come back from the hashing pool.

use chat_domain::error::ErrorCode;
use chat_domain::recent_sends::Original;
use chat_domain::rules::{self, HistoryPage};
use chat_domain::{ClientMessageId, MessageBody, MessageId, Password, Recipient, Username};
use chat_wire::{
    ClientFrame, HistoryPage as WireHistoryPage, MAGIC, PROTOCOL_VERSION, Reply, Request,
    ServerFrame, TimelinePage, WireEntry, WireRecipient,
};
use std::rc::Rc;

use jiff::Timestamp;
use mio::Token;

use super::abuse::LoginOutcome;
use super::connection::{Phase, SharedFrame};
use super::hashing::{Done, Job, Tagged};
use super::{OnCommitFailure, Server, log};

/// Bytes a history reply may need beyond its messages' text: the frame's tags, the page's
/// fields, and each message's id, time, and length prefixes, all as varints at their widest.
const HISTORY_REPLY_OVERHEAD_BYTES: usize = 32;
const MESSAGE_OVERHEAD_BYTES: usize = 40;

impl<S: chat_domain::Store> Server<S> {
    pub(super) fn handle_frame(&mut self, token: Token, frame: ClientFrame) {
        let Some(connection) = self.connections.get_mut(&token) else {
            return;
        };
        match (&connection.phase, frame) {
            (Phase::AwaitingHello, ClientFrame::Hello(hello)) => {
                if hello.magic != MAGIC {
                    self.close_with(
                        token,
                        "bad_magic",
                        "This is a chat server; the Hello did not carry its magic bytes.",
                    );
                } else if hello.version != PROTOCOL_VERSION {
                    let message = format!(
                        "This server speaks protocol version {PROTOCOL_VERSION}; the client asked for {}.",
                        hello.version
                    );
                    self.close_with(token, "unsupported_version", &message);
                } else {
                    connection.phase = Phase::LoggedOut;
                    let welcome = ServerFrame::Welcome {
                        version: PROTOCOL_VERSION,
                        frame_bytes_max: u32::try_from(self.config.limits.frame_bytes_max)
                            .unwrap_or(u32::MAX),
                    };
                    self.queue(token, welcome, OnCommitFailure::Send);
                }
            }
            (Phase::AwaitingHello, ClientFrame::Request { .. }) => {
                self.close_with(token, "hello_expected", "The first frame must be a Hello.");
            }
            (_, ClientFrame::Hello(_)) => {
                self.close_with(token, "bad_frame", "Hello was already received.");
            }
            (_, ClientFrame::Request { id, request }) => self.handle_request(token, id, request),
        }
    }

    fn handle_request(&mut self, token: Token, id: u32, request: Request) {
        let user = self.connections.get(&token).and_then(|c| c.user().cloned());
        match (request, user) {
            (Request::Ping, _) => self.reply(token, id, Reply::Pong),
            (Request::Quit, _) => {
                let bye = ServerFrame::Reply {
                    id,
                    reply: Reply::Bye,
                };
                self.queue_then_close(token, bye);
            }
            (Request::Register { .. } | Request::LogIn { .. }, Some(user)) => {
                self.reply_error(
                    token,
                    id,
                    "already_logged_in",
                    format!("This connection is already logged in as {user}."),
                );
            }
            (Request::Register { username, password }, None) => {
                self.register(token, id, &username, password)
            }
            (Request::LogIn { username, password }, None) => {
                self.log_in_request(token, id, &username, password)
            }
            (_, None) => {
                self.reply_error(token, id, "not_logged_in", "Log in or register first.");
            }
            (
                Request::Send {
                    client_message_id,
                    to,
                    body,
                },
                Some(user),
            ) => self.send_request(token, id, &user, (client_message_id, to, body), false),
            (
                Request::Resend {
                    client_message_id,
                    to,
                    body,
                },
                Some(user),
            ) => self.send_request(token, id, &user, (client_message_id, to, body), true),
            (
                Request::History {
                    with,
                    before,
                    limit,
                },
                Some(user),
            ) => {
                let with = match with.to_domain() {
                    Ok(with) => with,
                    Err(e) => return self.reply_error(token, id, e.code(), e.to_string()),
                };
                let before = before.map(MessageId::new);
                match rules::history(
                    &self.store,
                    &user,
                    &with,
                    before,
                    limit,
                    self.config.limits.history,
                ) {
                    Ok(page) => {
                        let page = fit_history(page, self.config.limits.frame_bytes_max);
                        let reply = match with {
                            Recipient::User(_) => Reply::History(WireHistoryPage {
                                messages: page
                                    .entries
                                    .into_iter()
                                    .filter_map(|entry| match entry {
                                        WireEntry::Message(m) => Some(m),
                                        // Notices are written to groups only.
                                        WireEntry::Notice(_) => None,
                                    })
                                    .collect(),
                                has_more: page.has_more,
                                limit: page.limit,
                                clamped: page.clamped,
                            }),
                            Recipient::Group(_) => Reply::Timeline(page),
                        };
                        self.reply_read(token, id, reply);
                    }
                    Err(e) => self.reply_error(token, id, e.code(), e.to_string()),
                }
            }
            (Request::Conversations, Some(user)) => self.conversations_request(token, id, &user),
            (Request::MarkRead { with, up_to }, Some(user)) => {
                self.mark_read_request(token, id, &user, (with, up_to))
            }
            (Request::CatchUp { after, limit }, Some(user)) => {
                self.catch_up_request(token, id, &user, (after, limit))
            }
            (request, Some(user)) => self.group_request(token, id, &user, request),
        }
    }

    fn register(&mut self, token: Token, id: u32, username: &str, password: String) {
        let username = match Username::parse(username) {
            Ok(username) => username,
            Err(e) => return self.reply_error(token, id, e.code(), e.to_string()),
        };
        let password = match Password::new(password) {
            Ok(password) => password,
            Err(e) => return self.reply_error(token, id, e.code(), e.to_string()),
        };
        // Refuse a taken name before spending a hash on it.
        if let Err(e) = rules::check_register(&self.store, &username) {
            return self.reply_error(token, id, e.code(), e.to_string());
        }
        let ip = self.peer_ip(token);
        if let Some(ip) = ip
            && let Err(e) = self.guards.may_register(ip, self.since_start())
        {
            return self.reply_error(token, id, e.code(), e.to_string());
        }
        // Spent only once it is under way: a busy server's refusal costs nothing.
        if self.submit(token, id, Job::Register { username, password })
            && let Some(ip) = ip
        {
            let now = self.since_start();
            self.guards.registering(ip, now);
        }
    }

    fn log_in_request(&mut self, token: Token, id: u32, username: &str, password: String) {
        let username = match Username::parse(username) {
            Ok(username) => username,
            Err(e) => return self.reply_error(token, id, e.code(), e.to_string()),
        };
        // Admitted (and counted as a failure until it proves otherwise) before any hashing.
        let Some(ip) = self.peer_ip(token) else {
            return;
        };
        let now = self.since_start();
        if let Err(e) = self.guards.may_try_login(&username, ip, now) {
            return self.reply_error(token, id, e.code(), e.to_string());
        }
        let settle = |server: &mut Self, username: &Username| {
            server
                .guards
                .login_settled(LoginOutcome::NotChecked, username, ip, now);
        };
        let password = match Password::new(password) {
            // A password that could never have been registered is simply wrong, after the same
            // wait as any other: checking it against the dummy keeps the timing uniform.
            Ok(password) => password,
            Err(_) => match Password::new("wrong password, never valid".into()) {
                Ok(placeholder) => placeholder,
                Err(e) => {
                    settle(self, &username);
                    return self.reply_error(token, id, e.code(), e.to_string());
                }
            },
        };
        match rules::begin_login(&self.store, username.clone(), &self.dummy_hash) {
            Ok(attempt) => {
                if !self.submit(token, id, Job::LogIn { attempt, password }) {
                    settle(self, &username);
                }
            }
            Err(e) => {
                settle(self, &username);
                self.reply_error(token, id, e.code(), e.to_string());
            }
        }
    }

    fn peer_ip(&self, token: Token) -> Option<std::net::IpAddr> {
        self.connections.get(&token).map(|c| c.peer.ip())
    }

    /// Hands a job to the hashing pool; false (and `server_busy` sent) if its queue is full.
    fn submit(&mut self, token: Token, request_id: u32, work: Job) -> bool {
        match self.pool.submit(Tagged {
            token,
            request_id,
            work,
        }) {
            Ok(job) => {
                if let Some(connection) = self.connections.get_mut(&token) {
                    connection.hash_job = Some(job);
                }
                true
            }
            Err(_busy) => {
                self.reply_error(
                    token,
                    request_id,
                    "server_busy",
                    "The server is busy; try again in a moment.",
                );
                false
            }
        }
    }

    /// A `Send` or, with `resend`, a `Resend`: checked, limited, then handed to the rules.
    fn send_request(
        &mut self,
        token: Token,
        id: u32,
        sender: &Username,
        (client_message_id, to, body): (u64, WireRecipient, String),
        resend: bool,
    ) {
        let recipient = match to.to_domain() {
            Ok(recipient) => recipient,
            Err(e) => return self.reply_error(token, id, e.code(), e.to_string()),
        };
        let body = match MessageBody::new(body) {
            Ok(body) => body,
            Err(e) => return self.reply_error(token, id, e.code(), e.to_string()),
        };
        let client_message_id = ClientMessageId::new(client_message_id);
        if resend && client_message_id.is_none() {
            return self.reply_error(
                token,
                id,
                "missing_client_message_id",
                "A resend needs the client message id of the first send.",
            );
        }
        if let Err(e) = self.guards.may_send(sender, self.since_start()) {
            return self.reply_error(token, id, e.code(), e.to_string());
        }
        let outgoing = rules::Outgoing {
            recipient,
            body,
            client_message_id,
            resend,
        };
        let sent = rules::send(
            &mut self.store,
            &mut self.recent_sends,
            sender,
            outgoing,
            Timestamp::now(),
        );
        let (ack, delivery) = match sent {
            Ok(rules::Sent::Stored(delivery)) => {
                self.store_dirty = true;
                if let Some(number) = client_message_id {
                    self.numbers_this_turn.push((sender.clone(), number));
                }
                (Original::of(&delivery.message), Some(delivery))
            }
            Ok(rules::Sent::Before(original)) => (original, None),
            Err(e) => return self.reply_error(token, id, e.code(), e.to_string()),
        };
        let ack = Reply::Sent {
            message_id: ack.id.get(),
            sent_at_ms: ack.sent_at.as_millisecond(),
        };
        self.queue(
            token,
            ServerFrame::Reply { id, reply: ack },
            OnCommitFailure::ReplyError(id),
        );
        if let Some(delivery) = delivery {
            let event = ServerFrame::Event(chat_wire::convert::event_for(&delivery.message));
            self.fan_out(token, &delivery.audience, event);
        }
    }

    /// Queues `frame` for every connection of every name in `audience` but `except`, the
    /// connection that acted (it gets the reply instead). Encoded once for all of them; dropped
    /// if the commit fails.
    pub(super) fn fan_out(&mut self, except: Token, audience: &[Username], frame: ServerFrame) {
        let shared = match SharedFrame::new(frame, self.config.limits.frame_bytes_max) {
            Ok(shared) => Rc::new(shared),
            Err(e) => {
                log!("cannot encode a delivery: {e}");
                return;
            }
        };
        for name in audience {
            let Some(tokens) = self.sessions.get(name) else {
                continue;
            };
            for &target in tokens {
                if target == except {
                    continue;
                }
                // As `push_outgoing` does, on the fields this loop may borrow beside sessions.
                if let Some(connection) = self.connections.get_mut(&target) {
                    connection.queued_bytes += shared.bytes.len();
                }
                self.outbox.push(super::Outgoing {
                    token: target,
                    bytes: shared.bytes.len(),
                    payload: super::Payload::Delivery(Rc::clone(&shared)),
                    on_commit_failure: OnCommitFailure::Drop,
                    then_close: false,
                });
            }
        }
    }

    /// Finishes the registrations and log-ins whose hashing is done, then marks each of those
    /// connections ready to act on the frames that waited meanwhile.
    pub(super) fn collect_hash_results(&mut self) {
        let finished: Vec<Tagged<Done>> = self.pool.finished().collect();
        for Tagged {
            token,
            request_id: id,
            work,
        } in finished
        {
            let Some(connection) = self.connections.get_mut(&token) else {
                continue;
            };
            connection.hash_job = None;
            match work {
                Done::Register {
                    username,
                    hash: Ok(hash),
                } => {
                    match rules::finish_register(&mut self.store, username, hash, Timestamp::now())
                    {
                        Ok(user) => {
                            self.store_dirty = true;
                            let username = user.username.to_string();
                            self.log_in(token, user.username);
                            self.queue(
                                token,
                                ServerFrame::Reply {
                                    id,
                                    reply: Reply::Registered { username },
                                },
                                OnCommitFailure::UndoRegistration(id),
                            );
                        }
                        Err(e) => self.reply_error(token, id, e.code(), e.to_string()),
                    }
                }
                Done::LogIn {
                    attempt,
                    matches: Ok(matches),
                } => {
                    let ip = connection.peer.ip();
                    let name = attempt.username.clone();
                    let now = self.since_start();
                    match attempt.finish(matches) {
                        Ok(user) => {
                            self.guards
                                .login_settled(LoginOutcome::LoggedIn, &name, ip, now);
                            let username = user.to_string();
                            self.log_in(token, user);
                            self.reply(token, id, Reply::LoggedIn { username });
                        }
                        Err(e) => {
                            let outcome = match &e {
                                rules::LoginError::WrongPassword => LoginOutcome::WrongPassword,
                                rules::LoginError::UnknownUser(_) => LoginOutcome::UnknownName,
                                rules::LoginError::Store(_) => LoginOutcome::NotChecked,
                            };
                            self.guards.login_settled(outcome, &name, ip, now);
                            self.reply_error(token, id, e.code(), e.to_string());
                        }
                    }
                }
                Done::LogIn {
                    attempt,
                    matches: Err(e),
                } => {
                    log!("password hashing failed: {}", e.0);
                    let (ip, now) = (connection.peer.ip(), self.since_start());
                    self.guards
                        .login_settled(LoginOutcome::NotChecked, &attempt.username, ip, now);
                    self.reply_error(token, id, e.code(), e.to_string());
                }
                Done::Register { hash: Err(e), .. } => {
                    log!("password hashing failed: {}", e.0);
                    self.reply_error(token, id, e.code(), e.to_string());
                }
            }
            // The frames that waited meanwhile get their turn.
            self.mark_ready(token);
        }
    }
}

/// The most bytes a message or notice takes in a frame.
pub(super) fn entry_bytes(message: &chat_domain::Message) -> usize {
    let to_bytes = match &message.recipient {
        Recipient::User(to) => to.as_str().len(),
        Recipient::Group(to) => to.as_str().len(),
    };
    // The text, or a notice's words: the bytes the entry carries.
    MESSAGE_OVERHEAD_BYTES + message.content.size_bytes() + message.sender.as_str().len() + to_bytes
}

/// Converts a page to wire form, keeping only as many of its newest entries as fit in one
/// frame; if any are left out, `has_more` says so and the client pages back for them.
fn fit_history(page: HistoryPage, frame_bytes_max: usize) -> TimelinePage {
    let mut budget = frame_bytes_max.saturating_sub(HISTORY_REPLY_OVERHEAD_BYTES);
    let mut keep_from = page.messages.len();
    for message in page.messages.iter().rev() {
        let cost = entry_bytes(message);
        if cost > budget {
            break;
        }
        budget -= cost;
        keep_from -= 1;
    }
    TimelinePage {
        has_more: page.has_more || keep_from > 0,
        entries: page.messages[keep_from..]
            .iter()
            .map(WireEntry::from_domain)
            .collect(),
        limit: page.limit,
        clamped: page.clamped,
    }
}
