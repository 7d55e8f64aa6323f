//! `/history`, without I/O: the pages read back until the count asked for (bounded by
//! `HISTORY_COUNT_MAX`, with `HISTORY_READS_IN_FLIGHT_MAX` reads at once), shown oldest first.

use chat_wire::{Request, TimelinePage, WireEntry, WireRecipient};
use jiff::Timestamp;

use super::format::printable;
use super::{Pending, Session, Stage};

/// A `/history` being read, page by page (a page may hold fewer messages than asked for when
/// they are long), until it has the count asked for or the conversation's start.
#[derive(Debug)]
pub(super) struct HistoryRead {
    /// Where its lines go in the output.
    pub(super) slot: u64,
    pub(super) with: WireRecipient,
    /// Messages wanted: the count asked for, at most `HISTORY_COUNT_MAX`.
    pub(super) wanted: u32,
    pub(super) asked: Option<u32>,
    /// Pages received, newest first.
    pub(super) pages: Vec<Vec<WireEntry>>,
    pub(super) received: u32,
}

/// The most messages one `/history` shows, which bounds what the client holds for it.
pub const HISTORY_COUNT_MAX: u32 = chat_domain::limits::HISTORY_PAGE_MAX;
/// `/history` reads in flight at most: each may hold `HISTORY_COUNT_MAX` messages of up to
/// 16 KiB while it pages back, so this caps what the client holds for them (32 MiB).
pub const HISTORY_READS_IN_FLIGHT_MAX: usize = 4;

impl Session {
    /// Asks for the page before what `read` has so far.
    pub(super) fn read_history(&mut self, read: HistoryRead) {
        let before = read
            .pages
            .last()
            .and_then(|page| page.first())
            .map(|entry| match entry {
                WireEntry::Message(m) => m.id,
                WireEntry::Notice(n) => n.id,
            });
        let request = Request::History {
            with: read.with.clone(),
            before,
            limit: Some(read.wanted - read.received),
        };
        self.send(request, Pending::History(read));
    }

    pub(super) fn on_history_page(
        &mut self,
        mut read: HistoryRead,
        page: TimelinePage,
        now: Timestamp,
    ) {
        let got = u32::try_from(page.entries.len()).unwrap_or(u32::MAX);
        read.received = read.received.saturating_add(got).min(read.wanted);
        // Once Quit is sent the server reads nothing more: show what came.
        let leaving = matches!(self.stage, Stage::Leaving { .. });
        let more_wanted = page.has_more && got > 0 && read.received < read.wanted && !leaving;
        read.pages.push(page.entries);
        if more_wanted {
            return self.read_history(read);
        }
        let with = match &read.with {
            WireRecipient::User(with) => printable(with),
            WireRecipient::Group(group) => format!("#{}", printable(group)),
        };
        let lines: Vec<String> = match &self.stage {
            Stage::Chatting { format } | Stage::Leaving { format } => read
                .pages
                .iter()
                .rev()
                .flatten()
                .map(|entry| match entry {
                    WireEntry::Message(m) => format.message(m, now),
                    WireEntry::Notice(n) => format.notice(n, now),
                })
                .collect(),
            _ => return,
        };
        let newest = read
            .pages
            .first()
            .and_then(|page| page.last())
            .map(|entry| match entry {
                WireEntry::Message(m) => m.id,
                WireEntry::Notice(n) => n.id,
            });
        if lines.is_empty() {
            self.show(&format!("No messages with {with} yet."));
        } else {
            self.show(&format!("History with {with}, oldest first:"));
        }
        // Shown is read.
        if let Some(newest) = newest {
            self.want_mark(read.with.clone(), newest);
        }
        for line in lines {
            self.show(&line);
        }
        if read.asked.is_some_and(|n| n > read.wanted) {
            if read.received == 0 {
                // "No messages with bob yet." says it all.
            } else if read.received < read.wanted && !page.has_more {
                let all = match read.received {
                    1 => "the only message".to_string(),
                    n => format!("all {n} messages"),
                };
                self.show(&format!("(That is {all} with {with}.)"));
            } else {
                self.show(&format!(
                    "(Showing the newest {}: /history shows at most {HISTORY_COUNT_MAX}.)",
                    read.received
                ));
            }
        }
        if page.has_more {
            self.show(&format!(
                "(Older messages exist: /history {with} <count> shows the newest <count>.)"
            ));
        }
    }
}
