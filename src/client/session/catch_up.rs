//! Catching up after a reconnect, without I/O: what the session asked for (`after` the newest
//! id it had seen), the live events held back meanwhile, and the ids it must not show twice.

use std::collections::BTreeSet;

use chat_wire::{WireEntry, WireMessage, WireNotice};

/// Messages asked for per `CatchUp` page: the server's most.
pub const CATCH_UP_PAGE: u32 = chat_domain::limits::HISTORY_PAGE_MAX;
/// Pages one catch-up reads at most (20 pages of `CATCH_UP_PAGE`: 10,000 entries); past it the
/// client says more was missed and where to read it.
pub const CATCH_UP_PAGES_MAX: u32 = 20;
/// Live events held while the catch-up runs, at most; past it they are dropped and one more
/// round of catch-up fetches them (they are stored, or they would not have been delivered).
pub const CATCH_UP_HELD_MAX: usize = 1_000;

/// A live event that came during the catch-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Held {
    Message(WireMessage),
    Notice(WireNotice),
}

impl Held {
    pub fn id(&self) -> u64 {
        match self {
            Held::Message(m) => m.id,
            Held::Notice(n) => n.id,
        }
    }
}

/// An entry's id.
pub fn entry_id(entry: &WireEntry) -> u64 {
    match entry {
        WireEntry::Message(m) => m.id,
        WireEntry::Notice(n) => n.id,
    }
}

#[derive(Debug)]
pub struct CatchUp {
    /// Everything up to this id has been shown (or skipped as shown already).
    pub after: u64,
    pub pages: u32,
    /// Live events that came meanwhile, to show after the missed ones.
    held: Vec<Held>,
    /// Some live event was dropped for lack of room: read one more round.
    pub overflowed: bool,
    /// Ids of this device's own messages acknowledged since the loss (resent, or sent during
    /// the catch-up): the catch-up holds them too, and they are shown once, as sent. Bounded by
    /// the messages pending (`PENDING_SENDS_MAX`) plus those sent during the catch-up, which
    /// the requests-in-flight cap bounds.
    acked: BTreeSet<u64>,
    /// Missed entries shown so far.
    pub shown: u64,
}

/// What to do with one entry of a catch-up page.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Show,
    /// Shown already (this device's own, acknowledged), or older than what was shown.
    Skip,
}

impl CatchUp {
    pub fn new(after: u64) -> Self {
        CatchUp {
            after,
            pages: 0,
            held: Vec::new(),
            overflowed: false,
            acked: BTreeSet::new(),
            shown: 0,
        }
    }

    /// A live event while catching up: held back, to come after the missed ones.
    pub fn hold(&mut self, event: Held) {
        if self.held.len() < CATCH_UP_HELD_MAX {
            self.held.push(event);
        } else {
            self.overflowed = true;
        }
    }

    /// This device's message `id` was acknowledged: it shows as sent, never as missed.
    pub fn acked(&mut self, id: u64) {
        self.acked.insert(id);
    }

    /// Decides on the next entry of a page, and moves `after` past it.
    pub fn take(&mut self, id: u64) -> Verdict {
        if id <= self.after {
            return Verdict::Skip;
        }
        self.after = id;
        if self.acked.contains(&id) {
            return Verdict::Skip;
        }
        self.shown += 1;
        Verdict::Show
    }

    /// The events held, in id order, without those the catch-up showed already; emptied.
    pub fn release(&mut self) -> Vec<Held> {
        let mut held = std::mem::take(&mut self.held);
        held.sort_by_key(Held::id);
        held.dedup_by_key(|h| h.id());
        held.retain(|h| h.id() > self.after);
        held
    }

    /// One more round after an overflow: what was dropped is fetched with everything held.
    pub fn next_round(&mut self) {
        self.held.clear();
        self.overflowed = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_wire::WireRecipient;

    fn message(id: u64) -> Held {
        Held::Message(WireMessage {
            id,
            from: "bob".into(),
            to: WireRecipient::User("alice".into()),
            body: format!("m{id}"),
            sent_at_ms: 0,
        })
    }

    #[test]
    fn held_events_come_after_in_order_without_those_caught_up() {
        let mut catch_up = CatchUp::new(10);
        catch_up.hold(message(14));
        catch_up.hold(message(12));
        catch_up.hold(message(12));
        assert_eq!(catch_up.take(11), Verdict::Show);
        assert_eq!(catch_up.take(12), Verdict::Show);
        assert_eq!(catch_up.take(12), Verdict::Skip);
        let ids: Vec<u64> = catch_up.release().iter().map(Held::id).collect();
        assert_eq!(ids, [14]);
    }

    #[test]
    fn own_acknowledged_messages_are_not_shown_as_missed() {
        let mut catch_up = CatchUp::new(0);
        catch_up.acked(3);
        assert_eq!(catch_up.take(3), Verdict::Skip);
        assert_eq!(catch_up.take(4), Verdict::Show);
        assert_eq!(catch_up.shown, 1);
    }

    #[test]
    fn holding_is_bounded_and_an_overflow_asks_for_another_round() {
        let mut catch_up = CatchUp::new(0);
        for id in 1..=(CATCH_UP_HELD_MAX as u64 + 5) {
            catch_up.hold(message(id));
        }
        assert!(catch_up.overflowed);
        catch_up.next_round();
        assert!(!catch_up.overflowed && catch_up.release().is_empty());
    }
}
