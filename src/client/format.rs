//! How the client shows things: a message as `[time] sender: text`, an error as one line with its
//! code. Text from the network is made safe to print first.

use chat_domain::body::is_bidi_control;
use jiff::Timestamp;
use jiff::tz::TimeZone;

use chat_wire::{WireChange, WireMessage, WireNotice, WireRecipient};

use super::width::str_columns;

/// Formats messages for one logged-in person, in one time zone.
#[derive(Debug)]
pub struct MessageFormat {
    me: String,
    zone: TimeZone,
}

impl MessageFormat {
    pub fn new(me: String, zone: TimeZone) -> Self {
        MessageFormat { me, zone }
    }

    /// The logged-in person's name.
    pub fn me(&self) -> &str {
        &self.me
    }

    /// `[HH:MM] alice: text` for a message to me; `[HH:MM] you -> bob: text` for one I sent,
    /// from this device or another. The date comes first unless the message is from today, `now`
    /// in this time zone. Lines after the first are indented under the text.
    pub fn message(&self, message: &WireMessage, now: Timestamp) -> String {
        let time = self.time(message.sent_at_ms, now);
        let from = self.who(&message.from);
        let header = match &message.to {
            WireRecipient::Group(group) => format!("[{time}] #{} {from}: ", printable(group)),
            WireRecipient::User(to) if message.from == self.me => {
                format!("[{time}] you -> {}: ", printable(to))
            }
            WireRecipient::User(_) => format!("[{time}] {from}: "),
        };
        let indent = " ".repeat(str_columns(&header));
        let body = printable(&message.body).replace('\n', &format!("\n{indent}"));
        format!("{header}{body}")
    }

    /// `[HH:MM] #team: alice added bob`, with "you" for the person logged in.
    pub fn notice(&self, notice: &WireNotice, now: Timestamp) -> String {
        let time = self.time(notice.at_ms, now);
        let actor = self.who(&notice.actor);
        let what = match &notice.change {
            WireChange::Created { members } if members.is_empty() => {
                format!("{actor} created the group")
            }
            WireChange::Created { members } => {
                let names: Vec<String> = members.iter().map(|m| self.who(m)).collect();
                format!("{actor} created the group with {}", names.join(", "))
            }
            WireChange::Joined { user } => format!("{actor} added {}", self.who(user)),
            WireChange::Left => format!("{actor} left"),
            WireChange::Removed { user } => format!("{actor} removed {}", self.who(user)),
            WireChange::NewOwner { user } => {
                format!("{actor} made {} the owner", self.who(user))
            }
            WireChange::NewAdmin { user } => {
                format!("{actor} made {} an admin", self.who(user))
            }
        };
        format!("[{time}] #{}: {what}", printable(&notice.group))
    }

    /// A name as shown: "you" for the person logged in.
    fn who(&self, name: &str) -> String {
        if name == self.me {
            "you".to_string()
        } else {
            printable(name)
        }
    }

    fn time(&self, sent_at_ms: i64, now: Timestamp) -> String {
        let Ok(sent_at) = Timestamp::from_millisecond(sent_at_ms) else {
            return "?".to_string();
        };
        let sent_at = sent_at.to_zoned_datetime(self.zone.clone());
        if sent_at.date() == now.to_zoned_datetime(self.zone.clone()).date() {
            sent_at.strftime("%H:%M").to_string()
        } else {
            sent_at.strftime("%Y-%m-%d %H:%M").to_string()
        }
    }
}

/// One line for an error: the sentence for people, the stable code for scripts.
pub fn error(code: &str, sentence: &str) -> String {
    format!("error: {} [{}]", printable(sentence), printable(code))
}

/// `text` with every control character but newline and tab, and every bidirectional override,
/// replaced by U+FFFD, so that nothing a server or another user sends can move the cursor,
/// recolour or retitle the terminal, or make a line read as something else.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if (c.is_control() && c != '\n' && c != '\t') || is_bidi_control(c) {
                char::REPLACEMENT_CHARACTER
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn message(from: &str, to: &str, body: &str, sent_at: &str) -> WireMessage {
        WireMessage {
            id: 1,
            from: from.into(),
            to: WireRecipient::User(to.into()),
            body: body.into(),
            sent_at_ms: at(sent_at).as_millisecond(),
        }
    }

    fn alice() -> MessageFormat {
        MessageFormat::new("alice".into(), TimeZone::UTC)
    }

    #[test]
    fn a_message_to_me_shows_time_sender_and_text() {
        let m = message("bob", "alice", "hi", "2026-11-27T10:42:05Z");
        assert_eq!(
            alice().message(&m, at("2026-11-27T18:00:00Z")),
            "[10:42] bob: hi"
        );
    }

    #[test]
    fn a_message_i_sent_shows_as_mine_with_its_recipient() {
        let m = message("alice", "bob", "hi", "2026-11-27T10:42:05Z");
        assert_eq!(
            alice().message(&m, at("2026-11-27T18:00:00Z")),
            "[10:42] you -> bob: hi"
        );
    }

    #[test]
    fn a_group_message_shows_the_group_then_the_sender() {
        let mut m = message("bob", "x", "hi all", "2026-11-27T10:42:05Z");
        m.to = WireRecipient::Group("team".into());
        let noon = at("2026-11-27T12:00:00Z");
        assert_eq!(alice().message(&m, noon), "[10:42] #team bob: hi all");
        m.from = "alice".into();
        assert_eq!(alice().message(&m, noon), "[10:42] #team you: hi all");
    }

    #[test]
    fn notices_say_who_did_what_with_you_for_me() {
        let notice = |actor: &str, change: WireChange| WireNotice {
            id: 1,
            group: "team".into(),
            actor: actor.into(),
            change,
            at_ms: at("2026-11-27T10:42:05Z").as_millisecond(),
        };
        let noon = at("2026-11-27T12:00:00Z");
        let shown = |n: WireNotice| alice().notice(&n, noon);
        assert_eq!(
            shown(notice(
                "bob",
                WireChange::Created {
                    members: vec!["alice".into(), "carol".into()]
                }
            )),
            "[10:42] #team: bob created the group with you, carol"
        );
        assert_eq!(
            shown(notice("alice", WireChange::Created { members: vec![] })),
            "[10:42] #team: you created the group"
        );
        assert_eq!(
            shown(notice(
                "bob",
                WireChange::Joined {
                    user: "dave".into()
                }
            )),
            "[10:42] #team: bob added dave"
        );
        assert_eq!(
            shown(notice("dave", WireChange::Left)),
            "[10:42] #team: dave left"
        );
        assert_eq!(
            shown(notice(
                "bob",
                WireChange::Removed {
                    user: "alice".into()
                }
            )),
            "[10:42] #team: bob removed you"
        );
        assert_eq!(
            shown(notice("alice", WireChange::NewOwner { user: "bob".into() })),
            "[10:42] #team: you made bob the owner"
        );
        assert_eq!(
            shown(notice(
                "bob",
                WireChange::NewAdmin {
                    user: "carol".into()
                }
            )),
            "[10:42] #team: bob made carol an admin"
        );
    }

    #[test]
    fn an_older_message_shows_its_date() {
        let m = message("bob", "alice", "hi", "2026-11-26T23:59:00Z");
        assert_eq!(
            alice().message(&m, at("2026-11-27T00:01:00Z")),
            "[2026-11-26 23:59] bob: hi"
        );
    }

    #[test]
    fn the_time_is_in_the_given_zone() {
        let one_hour_east = TimeZone::fixed(jiff::tz::offset(1));
        let format = MessageFormat::new("alice".into(), one_hour_east);
        let m = message("bob", "alice", "hi", "2026-11-27T10:42:05Z");
        assert_eq!(
            format.message(&m, at("2026-11-27T12:00:00Z")),
            "[11:42] bob: hi"
        );
    }

    #[test]
    fn later_lines_are_indented_under_the_text() {
        let m = message("bob", "alice", "one\ntwo", "2026-11-27T10:42:05Z");
        assert_eq!(
            alice().message(&m, at("2026-11-27T18:00:00Z")),
            "[10:42] bob: one\n             two"
        );
    }

    #[test]
    fn control_characters_from_the_network_are_neutralised() {
        let m = message("bob", "alice", "\x1b[2Jgone\x07", "2026-11-27T10:42:05Z");
        let shown = alice().message(&m, at("2026-11-27T18:00:00Z"));
        assert!(!shown.contains('\x1b') && !shown.contains('\x07'));
        assert_eq!(error("x\x1b", "a\rb"), "error: a\u{fffd}b [x\u{fffd}]");
        // Bidirectional overrides would make the line read as something else.
        assert_eq!(printable("a\u{202e}b\u{2066}c"), "a\u{fffd}b\u{fffd}c");
    }
}
