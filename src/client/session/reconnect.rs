//! The session's side of a lost link, without I/O or a clock (the driver passes the time in):
//! noticing the loss (silence past the patience, a keepalive ping unanswered), the retry
//! schedule, logging in again with the credentials in memory, writing again what was owed,
//! and the catch-up after it.

use chat_wire::{ErrorBody, Request, TimelinePage, WireEntry};
use jiff::Timestamp;

use super::catch_up::{CATCH_UP_PAGE, CATCH_UP_PAGES_MAX, CatchUp, Held, Verdict, entry_id};
use super::retry::{Connection, seconds_up};
use super::{
    Effect, InFlight, KEEPALIVE_MS, Pending, RATE_LIMITED_RETRY_MS, REPLY_PATIENCE_MS, Session,
    Stage, format, pending_line, recipient_text,
};

/// Messages refused as rate limited that are sent again per `RATE_LIMITED_RETRY_MS`, at most
/// (the server's default rate is 10 a second).
const RATE_LIMITED_RETRY_BATCH: usize = 10;

/// What a give-up names of the messages not delivered, at most; the rest are counted.
const UNDELIVERED_NAMED_MAX: usize = 10;

impl Session {
    /// Bytes came from the server at `now_ms`.
    pub fn on_heard(&mut self, now_ms: u64) {
        self.now_ms = self.now_ms.max(now_ms);
        self.heard_ms = self.now_ms;
    }

    /// The time passes: a retry falls due, a reply is overdue, the server has been silent long
    /// enough to ping it, or (without a terminal) it is time to give up.
    pub fn on_tick(&mut self, now_ms: u64) {
        self.now_ms = self.now_ms.max(now_ms);
        let now = self.now_ms;
        match self.connection {
            Connection::Waiting {
                since_ms, at_ms, ..
            } if now >= at_ms => {
                if self.past_bound(since_ms) {
                    return self.give_up();
                }
                if let Connection::Waiting { attempt, .. } = self.connection {
                    self.connection = Connection::Connecting { since_ms, attempt };
                }
                self.effects.push(Effect::Connect);
            }
            Connection::Waiting { .. } | Connection::Connecting { .. } => {}
            // Messages refused as rate limited go again a few at a time, about the rate the
            // server allows, rather than all at once to be refused again.
            Connection::Up if self.retry_sends_at_ms.is_some_and(|at| now >= at) => {
                self.retry_sends_at_ms = self
                    .write_waiting(RATE_LIMITED_RETRY_BATCH)
                    .then_some(now + RATE_LIMITED_RETRY_MS);
            }
            Connection::Up | Connection::LoggingIn { .. } => {
                let quiet_since = self.heard_ms.max(self.owed_since_ms);
                if self.owes_written() && now.saturating_sub(quiet_since) >= REPLY_PATIENCE_MS {
                    let why = format!(
                        "the server has not answered for {} seconds",
                        REPLY_PATIENCE_MS / 1_000
                    );
                    if !self.is_logged_in() {
                        return self.exit(1, Some(format!("{}.", capitalized(&why))));
                    }
                    self.effects.push(Effect::Disconnect);
                    self.on_lost(&why);
                } else if self.is_logged_in()
                    && self.connection == Connection::Up
                    && now.saturating_sub(self.heard_ms) >= KEEPALIVE_MS
                    && !self.owes_written()
                {
                    self.ping();
                }
            }
        }
    }

    /// When the session next wants `on_tick`, if ever.
    pub fn next_tick_ms(&self) -> Option<u64> {
        match self.connection {
            Connection::Waiting { at_ms, .. } => Some(at_ms),
            Connection::Connecting { .. } => None,
            Connection::Up | Connection::LoggingIn { .. } => {
                let patience = self
                    .owes_written()
                    .then(|| self.heard_ms.max(self.owed_since_ms) + REPLY_PATIENCE_MS);
                let keepalive = (self.is_logged_in()
                    && self.connection == Connection::Up
                    && !self.owes_written())
                .then_some(self.heard_ms + KEEPALIVE_MS);
                let retry = self
                    .retry_sends_at_ms
                    .filter(|_| self.connection == Connection::Up);
                patience.into_iter().chain(keepalive).chain(retry).min()
            }
        }
    }

    /// The driver connected to `server` after `Effect::Connect`: log in again.
    pub fn on_connected(&mut self, server: &str, now_ms: u64) {
        self.on_heard(now_ms);
        let Connection::Connecting { since_ms, attempt } = self.connection else {
            return;
        };
        let Some((username, password)) = self.credentials.clone() else {
            return self.exit(1, Some("No credentials to log in again with.".into()));
        };
        self.connection = Connection::LoggingIn { since_ms, attempt };
        let request = Request::LogIn {
            username: username.to_string(),
            password,
        };
        let server = server.to_string();
        self.make_request(request, Pending::ReLogIn { server }, true);
    }

    /// No server could be reached after `Effect::Connect`: wait longer, then try again.
    pub fn on_connect_failed(&mut self, why: &str, now_ms: u64) {
        self.now_ms = self.now_ms.max(now_ms);
        if let Connection::Connecting { since_ms, attempt } = self.connection {
            self.last_failure = Some(why.to_string());
            self.schedule(since_ms, attempt + 1);
        }
    }

    /// The link is gone while logged in: keep what is owed, say so once, and schedule a retry.
    pub(super) fn on_lost(&mut self, why: &str) {
        let (since_ms, attempt) = match self.connection {
            Connection::Up => (self.now_ms, 0),
            Connection::Connecting { since_ms, attempt }
            | Connection::LoggingIn { since_ms, attempt } => (since_ms, attempt + 1),
            Connection::Waiting { .. } => return,
        };
        self.catch_up = None;
        // Leaving, with nothing owed that a reconnect would bring (the Quit itself, read
        // markers, pings): done.
        let owed = self.pending.values().any(|p| {
            matches!(
                p.what,
                Pending::Send { .. }
                    | Pending::History(_)
                    | Pending::Members { .. }
                    | Pending::Groups { .. }
                    | Pending::Unread { .. }
                    | Pending::GroupChange { .. }
            )
        });
        if matches!(self.stage, Stage::Leaving { .. }) && !owed {
            return self.exit(0, None);
        }
        if attempt > 0 {
            self.last_failure = Some(why.to_string());
        }
        self.schedule(since_ms, attempt);
        if let Connection::Waiting { at_ms, .. } = self.connection
            && attempt == 0
        {
            let wait = seconds_up(at_ms.saturating_sub(self.now_ms));
            self.show(&format!(
                "Connection lost ({why}); reconnecting in {wait} s... What you type is kept and sent once it is back."
            ));
        }
        self.keep_what_is_owed();
    }

    fn schedule(&mut self, since_ms: u64, attempt: u32) {
        let at_ms = self.now_ms + self.jitter.delay_ms(attempt);
        let at_ms = match self.reconnect_for_ms {
            Some(bound) => at_ms.min(since_ms + bound),
            None => at_ms,
        };
        self.connection = Connection::Waiting {
            since_ms,
            at_ms,
            attempt,
        };
    }

    fn past_bound(&self, since_ms: u64) -> bool {
        self.reconnect_for_ms
            .is_some_and(|bound| self.now_ms >= since_ms + bound)
    }

    /// What was written and not answered is written again after the log-in: messages as
    /// `Resend` with their numbers, reads as they were, a `Quit` last. A group change may or
    /// may not have been made: the person is told how to check. Pings, read markers and
    /// catch-up pages are simply dropped (the next catch-up covers them).
    fn keep_what_is_owed(&mut self) {
        let ids: Vec<u32> = self.pending.keys().copied().collect();
        for id in ids {
            let Some(mut in_flight) = self.pending.remove(&id) else {
                continue;
            };
            in_flight.written = false;
            match in_flight.what {
                Pending::Send {
                    ref mut slot,
                    ref to,
                    ref body,
                } => {
                    if let Request::Send {
                        client_message_id,
                        to,
                        body,
                    } = in_flight.request
                    {
                        in_flight.request = Request::Resend {
                            client_message_id,
                            to,
                            body,
                        };
                    }
                    if let Some(slot) = slot.take() {
                        let line = pending_line(to, body);
                        self.answer_in(slot, |s| s.show(&line));
                    }
                    self.pending.insert(id, in_flight);
                }
                Pending::History(_)
                | Pending::Members { .. }
                | Pending::Groups { .. }
                | Pending::Unread { .. }
                | Pending::Quit => {
                    self.pending.insert(id, in_flight);
                }
                Pending::GroupChange { slot, group } => {
                    let line = format!(
                        "The connection was lost before the server answered: /members {group} shows whether it was done."
                    );
                    self.answer_in(slot, |s| s.show(&line));
                }
                Pending::MarkRead => self.mark_in_flight = false,
                Pending::LogIn { .. }
                | Pending::Register { .. }
                | Pending::ReLogIn { .. }
                | Pending::Summary
                | Pending::CatchUp
                | Pending::Ping => {}
            }
        }
    }

    /// The answer to logging in again.
    pub(super) fn on_relogged(&mut self, server: &str, refused: Option<ErrorBody>) {
        let Some(e) = refused else {
            self.connection = Connection::Up;
            self.last_failure = None;
            self.show(&format!("Reconnected to {server}."));
            return self.resume();
        };
        let name = self
            .credentials
            .as_ref()
            .map_or(String::new(), |(name, _)| name.to_string());
        let refusal = format::error(&e.code, &e.message);
        let stop = match e.code.as_str() {
            "wrong_password" => Some(format!(
                "{server} refused the password for {name} on reconnecting ({refusal}): it may have been changed. Stopped reconnecting."
            )),
            "unknown_user" => Some(format!(
                "{server} has no account {name} any more ({refusal}). Stopped reconnecting."
            )),
            _ => None,
        };
        match stop {
            Some(why) => {
                let undelivered = self.undelivered();
                let why = if undelivered.is_empty() {
                    why
                } else {
                    format!("{why} {undelivered}")
                };
                self.exit(1, Some(why));
            }
            // Busy, rate limited, storage trouble: a passing state, so try again later.
            None => {
                self.effects.push(Effect::Disconnect);
                self.on_lost(&refusal);
            }
        }
    }

    /// A message refused as `rate_limited`: kept, unwritten, and sent again with the same
    /// number after `RATE_LIMITED_RETRY_MS` (with any others waiting).
    pub(super) fn retry_later(&mut self, id: u32, mut in_flight: InFlight) {
        in_flight.written = false;
        self.pending.insert(id, in_flight);
        if self.retry_sends_at_ms.is_none() {
            self.retry_sends_at_ms = Some(self.now_ms + RATE_LIMITED_RETRY_MS);
        }
    }

    /// Writes the requests made but not written, in the order they were made, `at_most` of
    /// them; true if some are left.
    fn write_waiting(&mut self, at_most: usize) -> bool {
        let waiting: Vec<u32> = self
            .pending
            .iter()
            .filter(|(_, p)| !p.written)
            .map(|(id, _)| *id)
            .collect();
        let left = waiting.len() > at_most;
        for id in waiting.into_iter().take(at_most) {
            if let Some(mut in_flight) = self.pending.remove(&id) {
                self.write(id, &mut in_flight);
                self.pending.insert(id, in_flight);
            }
        }
        left
    }

    /// Logged in again: what was owed is written, then the unread counts and the catch-up.
    fn resume(&mut self) {
        self.retry_sends_at_ms = None;
        self.write_waiting(usize::MAX);
        if !matches!(self.stage, Stage::Chatting { .. }) {
            return;
        }
        self.send(Request::Conversations, Pending::Summary);
        if let Some(after) = self.newest_seen {
            self.catch_up = Some(CatchUp::new(after));
            self.ask_catch_up(after);
        }
        self.send_next_mark();
    }

    fn ask_catch_up(&mut self, after: u64) {
        let request = Request::CatchUp {
            after,
            limit: Some(CATCH_UP_PAGE),
        };
        self.send(request, Pending::CatchUp);
    }

    /// A page of what was missed: shown in order, marked, without what was shown already.
    pub(super) fn on_caught_up(&mut self, page: TimelinePage, now: Timestamp) {
        let Some(mut catch_up) = self.catch_up.take() else {
            return;
        };
        let mut shown = Vec::new();
        for entry in page.entries {
            if catch_up.take(entry_id(&entry)) == Verdict::Show {
                shown.push(entry);
            }
        }
        if catch_up.shown == shown.len() as u64 && !shown.is_empty() {
            self.show("While you were away:");
        }
        for entry in &shown {
            match entry {
                WireEntry::Message(m) => self.show_message(m, now, "(missed) "),
                WireEntry::Notice(n) => self.show_notice(n, now, "(missed) "),
            }
        }
        if let Some(last) = shown.last() {
            self.saw(entry_id(last));
        }
        catch_up.pages += 1;
        // Another page: the server has more, or live events were dropped for lack of room
        // (another round fetches them); both within the bound on pages.
        if catch_up.pages < CATCH_UP_PAGES_MAX && (page.has_more || catch_up.overflowed) {
            if !page.has_more {
                catch_up.next_round();
            }
            let after = catch_up.after;
            self.catch_up = Some(catch_up);
            return self.ask_catch_up(after);
        }
        if page.has_more || catch_up.overflowed {
            self.show(&format!(
                "(More was missed than one catch-up reads, {} entries: /unread lists where, /history reads it.)",
                u64::from(CATCH_UP_PAGES_MAX) * u64::from(CATCH_UP_PAGE)
            ));
        }
        self.finish_catch_up(catch_up, now);
    }

    /// Shows what came live during the catch-up and goes back to showing events as they come.
    pub(super) fn finish_catch_up(&mut self, mut catch_up: CatchUp, now: Timestamp) {
        for held in catch_up.release() {
            match held {
                Held::Message(m) => self.show_message(&m, now, ""),
                Held::Notice(n) => self.show_notice(&n, now, ""),
            }
        }
    }

    /// This device's message `id` was acknowledged.
    pub(super) fn acked(&mut self, id: u64) {
        if let Some(catch_up) = &mut self.catch_up {
            catch_up.acked(id);
        }
        self.saw(id);
    }

    /// Without a terminal, the time to reconnect is over.
    fn give_up(&mut self) {
        let bound = self.reconnect_for_ms.unwrap_or_default() / 1_000;
        let why = self
            .last_failure
            .clone()
            .map_or(String::new(), |why| format!(" (last: {why})"));
        let undelivered = self.undelivered();
        let tail = if undelivered.is_empty() {
            "Everything sent before was delivered.".to_string()
        } else {
            undelivered
        };
        self.exit(
            1,
            Some(format!("Gave up reconnecting after {bound} s{why}. {tail}")),
        );
    }

    /// "Not delivered: 2 messages: to bob "hi", ..." and the other requests left unanswered.
    fn undelivered(&self) -> String {
        let messages: Vec<String> = self
            .pending
            .values()
            .filter_map(|p| match &p.what {
                Pending::Send { to, body, .. } => Some(format!(
                    "to {} \"{}\"",
                    recipient_text(to),
                    format::printable(body)
                )),
                _ => None,
            })
            .collect();
        let others = self
            .pending
            .values()
            .filter(|p| !matches!(p.what, Pending::Send { .. } | Pending::Quit))
            .count();
        let mut text = String::new();
        if !messages.is_empty() {
            let named: Vec<&str> = messages
                .iter()
                .take(UNDELIVERED_NAMED_MAX)
                .map(String::as_str)
                .collect();
            text = format!(
                "Not delivered: {} message{}: {}",
                messages.len(),
                if messages.len() == 1 { "" } else { "s" },
                named.join(", ")
            );
            if messages.len() > UNDELIVERED_NAMED_MAX {
                text.push_str(&format!(
                    " and {} more",
                    messages.len() - UNDELIVERED_NAMED_MAX
                ));
            }
            text.push('.');
        }
        if others > 0 {
            text.push_str(&format!(
                "{}{others} other command{} not answered.",
                if text.is_empty() { "" } else { " " },
                if others == 1 { "" } else { "s" }
            ));
        }
        text
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or(String::new(), |first| {
        first.to_uppercase().chain(chars).collect()
    })
}
