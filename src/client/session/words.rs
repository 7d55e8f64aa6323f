//! The client's own words: `/query` (parsed here, not by the domain, since only this client
//! has it), the help lines for it, and the "3 unread: bob 2, #team 1" line after logging in.

use chat_domain::{GroupName, Username};
use chat_wire::{InboxPage, WireRecipient};

use super::format::{self, printable};

/// What `/help` adds to the domain's list: the commands only this client has.
pub const CLIENT_HELP: &str = concat!(
    "  /query <user|#group>            send plain lines there (the prompt shows where); /query alone ends it\n",
    "Keys: Up/Down recall earlier lines, Tab completes commands and names, Ctrl-C clears the line\n",
    "(quits on an empty one). When the connection drops, the client reconnects by itself (after 2 s,\n",
    "then longer, 30 s at most between tries), logs in again, sends what was typed meanwhile and shows\n",
    "what was missed.",
);

/// Everything `/help` shows (and `chat-client --help` after its options).
pub fn help() -> String {
    format!("{}\n{CLIENT_HELP}", chat_domain::command::HELP)
}

/// `/query ...`: `Some(Ok(Some(to)))` opens a conversation, `Some(Ok(None))` closes it,
/// `Some(Err(line))` is a bad name; `None` for any other line.
pub fn query_command(line: &str) -> Option<Result<Option<WireRecipient>, String>> {
    let rest = line.trim().strip_prefix("/query")?;
    if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
        return None;
    }
    let mut words = rest.split_whitespace();
    let Some(target) = words.next() else {
        return Some(Ok(None));
    };
    if words.next().is_some() {
        return Some(Err(format::error(
            "usage",
            "Usage: /query <user|#group>, or /query alone to end it.",
        )));
    }
    let parsed = match target.strip_prefix('#') {
        Some(bare) => GroupName::parse(bare)
            .map(|g| WireRecipient::Group(g.as_str().to_string()))
            .map_err(|e| format::error(chat_domain::error::ErrorCode::code(&e), &e.to_string())),
        None => Username::parse(target)
            .map(|u| WireRecipient::User(u.to_string()))
            .map_err(|e| format::error(chat_domain::error::ErrorCode::code(&e), &e.to_string())),
    };
    Some(parsed.map(Some))
}

/// "3 unread: bob 2, #team 1. /unread to list, /history to read", or nothing if nothing waits.
pub fn unread_summary(page: &InboxPage) -> Option<String> {
    let unread: Vec<(String, u32)> = page
        .conversations
        .iter()
        .filter(|c| c.unread > 0)
        .map(|c| {
            let with = match &c.with {
                WireRecipient::User(name) => printable(name),
                WireRecipient::Group(group) => format!("#{}", printable(group)),
            };
            (with, c.unread)
        })
        .collect();
    if unread.is_empty() {
        return None;
    }
    let total: u64 = unread.iter().map(|(_, n)| u64::from(*n)).sum();
    let listed: Vec<String> = unread
        .iter()
        .take(SUMMARY_NAMED_MAX)
        .map(|(with, n)| format!("{with} {n}"))
        .collect();
    let more = match unread.len().saturating_sub(SUMMARY_NAMED_MAX) {
        0 => String::new(),
        n => format!(" and {n} more"),
    };
    Some(format!(
        "{total} unread: {}{more}. /unread to list, /history to read",
        listed.join(", ")
    ))
}

/// Conversations the summary names, at most.
const SUMMARY_NAMED_MAX: usize = 8;

#[cfg(test)]
mod tests {
    use super::*;
    use chat_wire::WireConversation;

    #[test]
    fn query_opens_closes_and_checks_the_name() {
        assert_eq!(
            query_command("/query bob"),
            Some(Ok(Some(WireRecipient::User("bob".into()))))
        );
        assert_eq!(
            query_command("/query #team"),
            Some(Ok(Some(WireRecipient::Group("team".into()))))
        );
        assert_eq!(query_command("/query"), Some(Ok(None)));
        assert!(matches!(query_command("/query B@d"), Some(Err(_))));
        assert!(matches!(query_command("/query a b"), Some(Err(_))));
        assert_eq!(query_command("/queryx"), None);
        assert_eq!(query_command("/send bob hi"), None);
    }

    #[test]
    fn the_summary_counts_and_names_where() {
        let conversation = |with: WireRecipient, unread| WireConversation {
            with,
            last: None,
            unread,
            read_up_to: None,
        };
        let page = InboxPage {
            conversations: vec![
                conversation(WireRecipient::User("bob".into()), 2),
                conversation(WireRecipient::User("carol".into()), 0),
                conversation(WireRecipient::Group("team".into()), 1),
            ],
            complete: true,
        };
        assert_eq!(
            unread_summary(&page).as_deref(),
            Some("3 unread: bob 2, #team 1. /unread to list, /history to read")
        );
        let none = InboxPage {
            conversations: vec![],
            complete: true,
        };
        assert_eq!(unread_summary(&none), None);
    }
}
