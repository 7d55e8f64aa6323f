//! The client's conversation with the server, without I/O or a clock: what each typed line, each
//! frame from the server and each tick of the time given leads to (requests to write, lines to
//! show, connect, disconnect, an exit). Here: the requests in flight, the frames, the replies;
//! beside it login, commands, history, lists, reconnect (with retry and catch_up) and words.
//! The driver carries the effects out; the tests drive it directly.

use std::collections::{BTreeMap, BTreeSet};

use chat_domain::Username;
use chat_wire::{
    ErrorBody, Event, Reply, Request, ServerFrame, TimelinePage, WireChange, WireEntry,
    WireMessage, WireNotice, WireRecipient,
};
use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::answers::Answers;
use super::format::{self, MessageFormat, printable};

mod catch_up;
mod commands;
mod history;
mod lists;
mod login;
mod reconnect;
mod retry;
mod words;

use history::HistoryRead;
pub use history::{HISTORY_COUNT_MAX, HISTORY_READS_IN_FLIGHT_MAX};
pub use words::help;

use catch_up::{CatchUp, Held};
pub use retry::Connection;
use retry::Jitter;

/// Requests written but not answered, at most; past it the client stops reading input until
/// replies come, so a long script never piles up unbounded work.
pub const REQUESTS_IN_FLIGHT_MAX: usize = 256;
/// Wrong passwords a person at a terminal may type for one name before the client asks for
/// another name (it may belong to someone else).
pub const PASSWORD_ATTEMPTS_MAX: u32 = 3;
/// Messages sent but not yet acknowledged (in flight, or typed while the link is down), at
/// most; past it a new message is refused with a line, and stays in the editor.
pub const PENDING_SENDS_MAX: usize = 1_000;
/// How long the client waits for an owed reply, from the last byte the server sent, before it
/// takes the link for dead and reconnects (milliseconds).
pub const REPLY_PATIENCE_MS: u64 = 30_000;
/// Silence from the server after which the client pings it, so that a link that died without
/// a word is noticed (then `REPLY_PATIENCE_MS` applies to the ping) (milliseconds).
pub const KEEPALIVE_MS: u64 = 60_000;
/// How long a message refused as `rate_limited` waits before it is sent again (milliseconds).
pub const RATE_LIMITED_RETRY_MS: u64 = 1_000;
/// Names (people, groups) remembered for Tab completion, at most.
pub const KNOWN_NAMES_MAX: usize = 1_000;

/// What a person (or a script) gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Line(String),
    /// End of input, or Ctrl-D on an empty line.
    End,
    /// Ctrl-C.
    Interrupt,
    /// A line that could not be taken (not UTF-8, too long): the error line to show.
    Unreadable(String),
}

/// What the line being typed is for; a terminal shows it as the prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prompt {
    Username,
    Password,
    /// A new account: the password a second time.
    PasswordAgain,
    /// A command, or with `/query` a message to `to` (`bob`, `#team`); `offline` while the
    /// link is down.
    Command {
        to: Option<String>,
        offline: bool,
    },
}

/// What the driver must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Write this request. A request while logged out may need a new connection first: the
    /// server closes one that idles too long before logging in.
    Send { id: u32, request: Request },
    /// Print these lines.
    Show(String),
    /// Stop, with this status and, unless it is 0, a reason for stderr.
    Exit { status: u8, reason: Option<String> },
    /// Connect again (to the servers in turn); answer with `on_connected` or
    /// `on_connect_failed`.
    Connect,
    /// Drop the connection: the session takes it for dead and will connect again.
    Disconnect,
    /// The line just submitted was refused here: put it back in the editor to be fixed.
    KeepLine(String),
}

/// A request waiting for its reply, with what the reply will need.
#[derive(Debug)]
enum Pending {
    LogIn {
        username: Username,
        password: String,
    },
    Register {
        username: Username,
        password: String,
    },
    /// Logging in again after a reconnect, with the credentials held in memory.
    ReLogIn {
        server: String,
    },
    /// A message; `slot` until its answer is shown (as pending, when the link drops first).
    Send {
        slot: Option<u64>,
        to: WireRecipient,
        body: String,
    },
    History(HistoryRead),
    /// A group command: its reply is the notice it wrote, or nothing if the group ended.
    GroupChange {
        slot: u64,
        group: String,
    },
    Members {
        slot: u64,
        group: String,
    },
    Groups {
        slot: u64,
    },
    Unread {
        slot: u64,
    },
    /// Marking a conversation read: nothing to show either way.
    MarkRead,
    /// The unread counts, after logging in: the "3 unread" line.
    Summary,
    /// A page of what was missed while the link was down.
    CatchUp,
    Ping,
    Quit,
}

/// A request made, with what its reply needs; `written` once it went to the server (a request
/// made while the link is down waits, and one in flight when it drops is written again).
#[derive(Debug)]
struct InFlight {
    request: Request,
    what: Pending,
    written: bool,
}

impl Pending {
    /// The request's name, for messages: never its contents, which may hold a password.
    fn name(&self) -> &'static str {
        match self {
            Pending::LogIn { .. } => "LogIn",
            Pending::Register { .. } => "Register",
            Pending::ReLogIn { .. } => "LogIn",
            Pending::Summary => "Conversations",
            Pending::CatchUp => "CatchUp",
            Pending::Send { .. } => "Send",
            Pending::History(_) => "History",
            Pending::GroupChange { .. } => "group change",
            Pending::Members { .. } => "Members",
            Pending::Groups { .. } => "Groups",
            Pending::Unread { .. } => "Conversations",
            Pending::MarkRead => "MarkRead",
            Pending::Ping => "Ping",
            Pending::Quit => "Quit",
        }
    }

    /// The command answer this request's reply belongs to.
    fn slot(&self) -> Option<u64> {
        match self {
            Pending::Send { slot, .. } => *slot,
            Pending::GroupChange { slot, .. }
            | Pending::Members { slot, .. }
            | Pending::Groups { slot }
            | Pending::Unread { slot } => Some(*slot),
            Pending::History(read) => Some(read.slot),
            _ => None,
        }
    }
}

#[derive(Debug)]
enum Stage {
    Username,
    Password {
        username: Username,
    },
    /// A new account at a terminal: its first password (after a mismatch or a refused one).
    NewPassword {
        username: Username,
    },
    NewPasswordAgain {
        username: Username,
        password: String,
    },
    /// A LogIn or Register is in flight.
    Waiting,
    Chatting {
        format: MessageFormat,
    },
    /// Quit is in flight; the replies owed before it still print.
    Leaving {
        format: MessageFormat,
    },
    Done,
}

pub struct Session {
    /// A person at a terminal (ask again on mistakes) rather than a script (stop on them).
    interactive: bool,
    stage: Stage,
    pending: BTreeMap<u32, InFlight>,
    next_request_id: u32,
    next_client_message_id: u64,
    wrong_passwords: u32,
    /// The name and password that logged in, held in memory (never on disk) to log in again
    /// after a reconnect.
    credentials: Option<(Username, String)>,
    connection: Connection,
    /// Why the last reconnect attempt failed, for the give-up line.
    last_failure: Option<String>,
    jitter: Jitter,
    /// Without a terminal: how long to keep reconnecting before giving up (`--reconnect-for`).
    reconnect_for_ms: Option<u64>,
    /// The newest message or notice id this session has seen (shown, acknowledged, or listed
    /// by the unread counts): a catch-up asks for what came after it.
    newest_seen: Option<u64>,
    catch_up: Option<CatchUp>,
    /// `/query`: where plain lines go.
    query: Option<WireRecipient>,
    /// Names seen (`bob`, `#team`) for Tab completion, bounded by `KNOWN_NAMES_MAX`, and those
    /// the driver has not taken yet.
    known: BTreeSet<String>,
    learned: Vec<String>,
    /// Messages refused as `rate_limited` wait, unwritten, until this time.
    retry_sends_at_ms: Option<u64>,
    /// The clock the driver last gave (milliseconds, monotonic), when the server was last
    /// heard from, and since when a reply has been owed.
    now_ms: u64,
    heard_ms: u64,
    owed_since_ms: u64,
    /// Conversations seen up to a message id, not yet told to the server (one `MarkRead` is
    /// in flight at a time), by `key_of` their recipient.
    marks_wanted: BTreeMap<String, (WireRecipient, u64)>,
    mark_in_flight: bool,
    zone: TimeZone,
    effects: Vec<Effect>,
    answers: Answers,
    /// The command answer that `show` writes to, while a command or its reply is handled.
    answering: Option<u64>,
}

impl Session {
    /// `first_client_message_id` numbers this session's first message; the rest count up from
    /// it. It must differ between sessions of one user (a random start does), so that the
    /// server can tell a resend from a new message.
    pub fn new(interactive: bool, zone: TimeZone, first_client_message_id: u64) -> Self {
        Session {
            interactive,
            stage: Stage::Username,
            pending: BTreeMap::new(),
            next_request_id: 1,
            next_client_message_id: first_client_message_id.max(1),
            wrong_passwords: 0,
            credentials: None,
            connection: Connection::Up,
            last_failure: None,
            jitter: Jitter::new(first_client_message_id),
            reconnect_for_ms: None,
            newest_seen: None,
            catch_up: None,
            query: None,
            known: BTreeSet::new(),
            learned: Vec::new(),
            retry_sends_at_ms: None,
            now_ms: 0,
            heard_ms: 0,
            owed_since_ms: 0,
            marks_wanted: BTreeMap::new(),
            mark_in_flight: false,
            zone,
            effects: Vec::new(),
            answers: Answers::default(),
            answering: None,
        }
    }

    /// Without a terminal, stop reconnecting after `bound_ms` and exit 1 naming what was not
    /// delivered; at a terminal (`None`) the client keeps trying.
    pub fn reconnect_for(mut self, bound_ms: Option<u64>) -> Self {
        self.reconnect_for_ms = bound_ms;
        self
    }

    /// What the line being typed is for, or `None` while nothing can be typed.
    pub fn prompt(&self) -> Option<Prompt> {
        match self.stage {
            Stage::Username => Some(Prompt::Username),
            Stage::Password { .. } | Stage::NewPassword { .. } => Some(Prompt::Password),
            Stage::NewPasswordAgain { .. } => Some(Prompt::PasswordAgain),
            Stage::Chatting { .. } => Some(Prompt::Command {
                to: self.query.as_ref().map(recipient_text),
                offline: self.connection != Connection::Up,
            }),
            Stage::Waiting | Stage::Leaving { .. } | Stage::Done => None,
        }
    }

    /// Where the link stands.
    #[cfg(test)]
    pub fn connection(&self) -> Connection {
        self.connection
    }

    /// Names learned since the last call, for Tab completion.
    pub fn take_learned_names(&mut self) -> Vec<String> {
        std::mem::take(&mut self.learned)
    }

    /// True if the client should take the next input now.
    pub fn wants_input(&self) -> bool {
        match self.stage {
            // A person waiting to leave may press Ctrl-C again to leave at once.
            Stage::Leaving { .. } => self.interactive,
            Stage::Chatting { .. } => {
                let history_reads = self
                    .pending
                    .values()
                    .filter(|p| matches!(p.what, Pending::History(_)))
                    .count();
                // Messages waiting for the link are bounded apart (`PENDING_SENDS_MAX`).
                let in_flight = self.pending.values().filter(|p| p.written).count();
                in_flight < REQUESTS_IN_FLIGHT_MAX
                    && self.answers.len() < REQUESTS_IN_FLIGHT_MAX
                    && history_reads < HISTORY_READS_IN_FLIGHT_MAX
            }
            _ => self.prompt().is_some(),
        }
    }

    /// True once logged in: from then on a lost connection ends the session.
    pub fn is_logged_in(&self) -> bool {
        matches!(self.stage, Stage::Chatting { .. } | Stage::Leaving { .. })
    }

    /// True while replies are owed.
    #[cfg(test)]
    pub fn awaits_replies(&self) -> bool {
        !self.pending.is_empty()
    }

    /// True while written requests wait for their replies.
    fn owes_written(&self) -> bool {
        self.pending.values().any(|p| p.written)
    }

    /// The effects of everything handled since the last call.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }

    pub fn on_input(&mut self, input: Input) {
        let line = match input {
            Input::Line(line) => line,
            Input::End | Input::Interrupt => return self.on_end(),
            Input::Unreadable(why) if self.is_logged_in() || self.interactive => {
                return self.show(&why);
            }
            Input::Unreadable(why) => return self.exit(1, Some(why)),
        };
        match std::mem::replace(&mut self.stage, Stage::Waiting) {
            Stage::Username => self.on_username(&line),
            // At a terminal, no password at all: the name was someone else's; pick another.
            Stage::Password { .. } if line.is_empty() && self.interactive => {
                self.show("Choose another name.");
                self.stage = Stage::Username;
            }
            Stage::Password { username } => self.log_in(username, line),
            Stage::NewPassword { username } => self.on_new_password(username, line),
            Stage::NewPasswordAgain { username, password } => {
                if line == password {
                    self.register(username, password);
                } else {
                    self.show("The two passwords differ. Choose a password again.");
                    self.stage = Stage::NewPassword { username };
                }
            }
            Stage::Chatting { format } => {
                self.stage = Stage::Chatting { format };
                let slot = self.answers.open();
                self.answer_in(slot, |session| session.on_command(&line));
            }
            stage @ (Stage::Waiting | Stage::Leaving { .. } | Stage::Done) => self.stage = stage,
        }
    }

    fn on_end(&mut self) {
        match std::mem::replace(&mut self.stage, Stage::Done) {
            Stage::Chatting { format } => self.leave(format),
            Stage::Leaving { .. } => self.exit(0, None),
            Stage::Done => {}
            // A person who leaves at a prompt has done nothing wrong.
            _ if self.interactive => self.exit(0, None),
            _ => self.exit(1, Some("The input ended before logging in.".into())),
        }
    }

    pub fn on_frame(&mut self, frame: ServerFrame, now: Timestamp) {
        match frame {
            ServerFrame::Reply { id, reply } => match self.pending.remove(&id) {
                Some(in_flight) if is_rate_limited_send(&in_flight, &reply) => {
                    self.retry_later(id, in_flight);
                }
                Some(InFlight { what, .. }) => match what.slot() {
                    Some(slot) => self.answer_in(slot, |s| s.on_reply(what, reply, now)),
                    None => self.on_reply(what, reply, now),
                },
                None => self.exit(
                    1,
                    Some(format!(
                        "The server answered request {id}, which was never made."
                    )),
                ),
            },
            ServerFrame::Event(Event::Message(message)) => match &mut self.catch_up {
                Some(catch_up) => catch_up.hold(Held::Message(message)),
                None => self.show_message(&message, now, ""),
            },
            // Another device read something: nothing changes on this screen.
            ServerFrame::Event(Event::Read { .. }) => {}
            ServerFrame::Event(Event::Notice(notice)) => match &mut self.catch_up {
                Some(catch_up) => catch_up.hold(Held::Notice(notice)),
                None => self.show_notice(&notice, now, ""),
            },
            // Any frame answers a ping; one answer in flight is enough, however many come.
            ServerFrame::Event(Event::Ping) => self.ping(),
            ServerFrame::Closing(reason) => self.on_disconnect(Some(reason)),
            ServerFrame::Welcome { .. } => {
                self.exit(1, Some("The server said Welcome twice.".into()));
            }
        }
    }

    fn ping(&mut self) {
        if !self
            .pending
            .values()
            .any(|p| matches!(p.what, Pending::Ping))
        {
            self.send(Request::Ping, Pending::Ping);
        }
    }

    /// Shows a message (`marker` before it: "(missed) " from a catch-up), and tells the server
    /// it was read.
    fn show_message(&mut self, message: &WireMessage, now: Timestamp, marker: &str) {
        let (Stage::Chatting { format } | Stage::Leaving { format }) = &self.stage else {
            return;
        };
        let line = format.message(message, now);
        // Shown is read, on every device of this user.
        let seen = (message.from != format.me()).then(|| match &message.to {
            WireRecipient::User(_) => WireRecipient::User(message.from.clone()),
            group => group.clone(),
        });
        self.show(&format!("{marker}{line}"));
        self.saw(message.id);
        self.learn(&WireRecipient::User(message.from.clone()));
        self.learn(&message.to);
        if let Some(with) = seen {
            self.want_mark(with, message.id);
        }
    }

    fn show_notice(&mut self, notice: &WireNotice, now: Timestamp, marker: &str) {
        let (Stage::Chatting { format } | Stage::Leaving { format }) = &self.stage else {
            return;
        };
        let line = format.notice(notice, now);
        let seen = notice.actor != format.me();
        self.show(&format!("{marker}{line}"));
        self.saw(notice.id);
        self.learn(&WireRecipient::Group(notice.group.clone()));
        if seen {
            self.want_mark(WireRecipient::Group(notice.group.clone()), notice.id);
        }
    }

    /// Everything up to `id` has reached this session.
    fn saw(&mut self, id: u64) {
        self.newest_seen = Some(self.newest_seen.map_or(id, |seen| seen.max(id)));
    }

    /// Remembers a name for Tab completion (`bob`, `#team`), while there is room.
    fn learn(&mut self, who: &WireRecipient) {
        let name = recipient_text(who);
        if self.known.len() < KNOWN_NAMES_MAX && self.known.insert(name.clone()) {
            self.learned.push(name);
        }
    }

    /// The connection ended: after `Closing(reason)`, or without a word. Before logging in, the
    /// next request makes a new one; once logged in, the session reconnects by itself.
    pub fn on_disconnect(&mut self, reason: Option<ErrorBody>) {
        match self.stage {
            // Nothing owed: the next request will go on a new connection.
            Stage::Username
            | Stage::Password { .. }
            | Stage::NewPassword { .. }
            | Stage::NewPasswordAgain { .. } => self.pending.clear(),
            Stage::Done => {}
            Stage::Chatting { .. } | Stage::Leaving { .. } => {
                let why = match reason {
                    Some(ErrorBody { code, message }) => format!(
                        "the server closed the connection: {}",
                        format::error(&code, &message).trim_start_matches("error: ")
                    ),
                    None => "the connection to the server was lost".to_string(),
                };
                self.on_lost(&why);
            }
            Stage::Waiting => {
                let why = match reason {
                    Some(ErrorBody { code, message }) => format!(
                        "The server closed the connection: {}",
                        format::error(&code, &message).trim_start_matches("error: ")
                    ),
                    None => "The connection to the server was lost.".to_string(),
                };
                self.exit(1, Some(why));
            }
        }
    }

    fn on_reply(&mut self, pending: Pending, reply: Reply, now: Timestamp) {
        match (pending, reply) {
            (Pending::LogIn { username, password }, Reply::LoggedIn { username: name }) => {
                self.show(&format!(
                    "Logged in as {}. Type /help for the commands.",
                    printable(&name)
                ));
                self.credentials = Some((username, password));
                self.start_chatting(name);
                self.send(Request::Conversations, Pending::Summary);
            }
            (Pending::Register { username, password }, Reply::Registered { username: name }) => {
                self.show(&format!(
                    "Registered and logged in as {}. Type /help for the commands.",
                    printable(&name)
                ));
                self.credentials = Some((username, password));
                // A new account has seen everything there is.
                self.newest_seen = Some(0);
                self.start_chatting(name);
            }
            (Pending::ReLogIn { server }, Reply::LoggedIn { .. }) => {
                self.on_relogged(&server, None);
            }
            (Pending::ReLogIn { server }, Reply::Error(e)) => self.on_relogged(&server, Some(e)),
            (Pending::Summary, Reply::Conversations(page)) => self.on_summary(&page),
            (Pending::Summary, Reply::Error(_)) => {}
            (Pending::CatchUp, Reply::CaughtUp(page)) => self.on_caught_up(page, now),
            (Pending::CatchUp, Reply::Error(e)) => {
                self.show(&format::error(&e.code, &e.message));
                if let Some(catch_up) = self.catch_up.take() {
                    self.finish_catch_up(catch_up, now);
                }
            }
            (Pending::LogIn { username, password }, Reply::Error(e)) => {
                self.on_login_refused(username, password, e);
            }
            (Pending::Register { username, .. }, Reply::Error(e)) => {
                let line = format::error(&e.code, &e.message);
                if !self.interactive {
                    return self.exit(1, Some(line));
                }
                self.show(&line);
                // username_taken (someone took the name meanwhile) and the rest: start over.
                self.stage = match e.code.as_str() {
                    "invalid_password" => Stage::NewPassword { username },
                    _ => Stage::Username,
                };
            }
            (
                Pending::Send { to, body, .. },
                Reply::Sent {
                    message_id,
                    sent_at_ms,
                },
            ) => {
                self.acked(message_id);
                self.learn(&to);
                if let Stage::Chatting { format } | Stage::Leaving { format } = &self.stage {
                    let mine = WireMessage {
                        id: message_id,
                        from: format.me().to_string(),
                        to,
                        body,
                        sent_at_ms,
                    };
                    let line = format.message(&mine, now);
                    self.show(&line);
                }
            }
            (Pending::History(read), Reply::History(page)) => {
                let page = TimelinePage {
                    entries: page.messages.into_iter().map(WireEntry::Message).collect(),
                    has_more: page.has_more,
                    limit: page.limit,
                    clamped: page.clamped,
                };
                self.on_history_page(read, page, now);
            }
            (Pending::History(read), Reply::Timeline(page)) => {
                self.on_history_page(read, page, now)
            }
            (Pending::GroupChange { .. }, Reply::GroupChanged(Some(notice))) => {
                if let Stage::Chatting { format } | Stage::Leaving { format } = &self.stage {
                    let line = format.notice(&notice, now);
                    self.show(&line);
                }
                self.learn(&WireRecipient::Group(notice.group.clone()));
                if let WireChange::Created { members } = &notice.change {
                    for member in members {
                        self.learn(&WireRecipient::User(member.clone()));
                    }
                }
            }
            (Pending::GroupChange { group, .. }, Reply::GroupChanged(None)) => {
                self.show(&format!(
                    "You left {group}, its last member: the group has ended, and nobody can read its history again."
                ));
            }
            (Pending::Members { group, .. }, Reply::Members(members)) => {
                for member in &members {
                    self.learn(&WireRecipient::User(member.username.clone()));
                }
                self.show_members(&group, &members);
            }
            (Pending::Groups { .. }, Reply::Groups(groups)) => {
                for group in &groups {
                    self.learn(&WireRecipient::Group(group.name.clone()));
                }
                self.show_groups(&groups);
            }
            (Pending::Unread { .. }, Reply::Conversations(page)) => {
                for conversation in &page.conversations {
                    self.learn(&conversation.with);
                }
                self.show_unread(&page);
            }
            (Pending::MarkRead, Reply::Marked { .. } | Reply::Error(_)) => {
                self.mark_in_flight = false;
                self.send_next_mark();
            }
            (Pending::Ping, Reply::Pong) => {}
            (Pending::Quit, Reply::Bye) => self.exit(0, None),
            (
                Pending::Send { .. }
                | Pending::History(_)
                | Pending::GroupChange { .. }
                | Pending::Members { .. }
                | Pending::Groups { .. }
                | Pending::Unread { .. }
                | Pending::Ping,
                Reply::Error(e),
            ) => {
                self.show(&format::error(&e.code, &e.message));
            }
            (Pending::Quit, Reply::Error(e)) => {
                self.exit(1, Some(format::error(&e.code, &e.message)));
            }
            (pending, reply) => self.exit(
                1,
                Some(format!(
                    "The server answered a {} request with {}.",
                    pending.name(),
                    reply_name(&reply)
                )),
            ),
        }
    }

    /// Notes that `with` was seen up to message `up_to`, and tells the server when it can.
    fn want_mark(&mut self, with: WireRecipient, up_to: u64) {
        let key = match &with {
            WireRecipient::User(name) => format!("u:{name}"),
            WireRecipient::Group(group) => format!("g:{group}"),
        };
        let wanted = self.marks_wanted.entry(key).or_insert((with, up_to));
        wanted.1 = wanted.1.max(up_to);
        self.send_next_mark();
    }

    fn send_next_mark(&mut self) {
        if self.mark_in_flight || !matches!(self.stage, Stage::Chatting { .. }) {
            return;
        }
        if let Some((_, (with, up_to))) = self.marks_wanted.pop_first() {
            self.mark_in_flight = true;
            self.send(Request::MarkRead { with, up_to }, Pending::MarkRead);
        }
    }

    /// Runs `handle` with `show` writing to answer `slot`, then completes the answer unless a
    /// request still works on it, and shows every answer now complete in command order.
    fn answer_in(&mut self, slot: u64, handle: impl FnOnce(&mut Self)) {
        self.answering = Some(slot);
        handle(self);
        self.answering = None;
        if !self.pending.values().any(|p| p.what.slot() == Some(slot)) {
            self.answers.complete(slot);
        }
        for line in self.answers.ready() {
            self.effects.push(Effect::Show(line));
        }
    }

    /// Makes a request: written now, or, while the link is down, once it is back.
    fn send(&mut self, request: Request, what: Pending) {
        let now = self.connection == Connection::Up;
        self.make_request(request, what, now);
    }

    fn make_request(&mut self, request: Request, what: Pending, write: bool) {
        let id = self.next_request_id;
        // Ids only need to be unique among requests in flight; wrapping after 4 billion is fine.
        self.next_request_id = self.next_request_id.wrapping_add(1);
        let mut in_flight = InFlight {
            request,
            what,
            written: false,
        };
        if write {
            self.write(id, &mut in_flight);
        }
        self.pending.insert(id, in_flight);
    }

    /// Writes a request (again): a `Send` written again is a `Resend` with the same number.
    fn write(&mut self, id: u32, in_flight: &mut InFlight) {
        if !self.owes_written() {
            // Patience counts from now, not from the last reply long ago.
            self.owed_since_ms = self.now_ms;
        }
        in_flight.written = true;
        self.effects.push(Effect::Send {
            id,
            request: in_flight.request.clone(),
        });
    }

    /// Shows `text` now, or as part of the answer being written.
    fn show(&mut self, text: &str) {
        match self.answering {
            Some(slot) => self.answers.add(slot, text.to_string()),
            None => self.effects.push(Effect::Show(text.to_string())),
        }
    }

    fn exit(&mut self, status: u8, reason: Option<String>) {
        self.stage = Stage::Done;
        self.effects.push(Effect::Exit { status, reason });
    }
}

/// A message the server refused for now (`rate_limited`): sent again a moment later rather
/// than lost.
fn is_rate_limited_send(in_flight: &InFlight, reply: &Reply) -> bool {
    matches!(in_flight.what, Pending::Send { .. })
        && matches!(reply, Reply::Error(e) if e.code == "rate_limited")
}

/// `bob`, or `#team`, as people write it.
fn recipient_text(to: &WireRecipient) -> String {
    match to {
        WireRecipient::User(name) => printable(name),
        WireRecipient::Group(group) => format!("#{}", printable(group)),
    }
}

/// A message not acknowledged yet.
fn pending_line(to: &WireRecipient, body: &str) -> String {
    format!(
        "(pending) you -> {}: {}",
        recipient_text(to),
        printable(body)
    )
}

/// A reply's name, for messages.
fn reply_name(reply: &Reply) -> &'static str {
    match reply {
        Reply::Registered { .. } => "Registered",
        Reply::LoggedIn { .. } => "LoggedIn",
        Reply::Sent { .. } => "Sent",
        Reply::History(_) => "History",
        Reply::Pong => "Pong",
        Reply::Bye => "Bye",
        Reply::Error(_) => "Error",
        Reply::GroupChanged(_) => "GroupChanged",
        Reply::Members(_) => "Members",
        Reply::Groups(_) => "Groups",
        Reply::Timeline(_) => "Timeline",
        Reply::Conversations(_) => "Conversations",
        Reply::Marked { .. } => "Marked",
        Reply::CaughtUp(_) => "CaughtUp",
    }
}

#[cfg(test)]
mod tests;
