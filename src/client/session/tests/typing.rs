//! What a person types: refused lines kept, `/query`, the unread summary after logging in.

use super::*;

#[test]
fn a_line_refused_here_goes_back_to_the_editor_at_a_terminal_only() {
    let mut session = logged_in(person());
    let effects = line(&mut session, "hello");
    assert!(shown(&effects)[0].contains("[not_a_command]"));
    assert!(effects.contains(&Effect::KeepLine("hello".into())));
    let too_long = format!("/send bob {}", "a".repeat(4_001));
    let effects = line(&mut session, &too_long);
    assert!(effects.contains(&Effect::KeepLine(too_long.clone())));
    // A script has no editor.
    let mut session = logged_in(script());
    let effects = line(&mut session, "hello");
    assert!(!effects.iter().any(|e| matches!(e, Effect::KeepLine(_))));
}

#[test]
fn query_sends_plain_lines_to_its_target_shown_in_the_prompt() {
    let mut session = logged_in(person());
    line(&mut session, "/query #team");
    assert_eq!(
        session.prompt(),
        Some(Prompt::Command {
            to: Some("#team".into()),
            offline: false
        })
    );
    let (_, request) = sent(&line(&mut session, "hello all"));
    assert!(matches!(
        request,
        Request::Send { to: WireRecipient::Group(g), body, .. } if g == "team" && body == "hello all"
    ));
    // Commands still work.
    let (_, request) = sent(&line(&mut session, "/send bob direct"));
    assert!(matches!(request, Request::Send { to: WireRecipient::User(u), .. } if u == "bob"));
    line(&mut session, "/query");
    assert_eq!(
        session.prompt(),
        Some(Prompt::Command {
            to: None,
            offline: false
        })
    );
    assert!(line(&mut session, "hello").contains(&Effect::KeepLine("hello".into())));
}

#[test]
fn logging_in_says_what_is_unread_and_where() {
    let mut session = person();
    line(&mut session, "alice");
    let (id, _) = sent(&line(&mut session, "secret-password"));
    let effects = reply(
        &mut session,
        id,
        Reply::LoggedIn {
            username: "alice".into(),
        },
    );
    let (summary, _) = sent(&effects);
    let conversation = |with, unread, last| WireConversation {
        with,
        last: Some(WireEntry::Message(message(last, "bob", "alice", "x"))),
        unread,
        read_up_to: None,
    };
    let page = InboxPage {
        conversations: vec![
            conversation(WireRecipient::User("bob".into()), 2, 30),
            conversation(WireRecipient::Group("team".into()), 1, 20),
        ],
        complete: true,
    };
    let said = shown(&reply(&mut session, summary, Reply::Conversations(page)));
    assert_eq!(
        said,
        ["3 unread: bob 2, #team 1. /unread to list, /history to read"]
    );
    // The names are learned for Tab, and a catch-up would start after 30.
    assert_eq!(session.take_learned_names(), ["bob", "#team"]);
    assert_eq!(session.newest_seen, Some(30));
}
