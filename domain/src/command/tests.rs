//! Parser tests: every command, every usage error, round-trips, and never panicking.

use proptest::prelude::*;

use super::*;

fn to(name: &str) -> Recipient {
    Recipient::User(Username::parse(name).unwrap())
}

fn send(name: &str, text: &str) -> Command {
    Command::Send {
        to: to(name),
        body: MessageBody::new(text.to_string()).unwrap(),
    }
}

#[test]
fn send_keeps_the_text_exactly() {
    assert_eq!(parse("/send bob hi"), Ok(send("bob", "hi")));
    assert_eq!(
        parse("/send bob hello  there, friend "),
        Ok(send("bob", "hello  there, friend "))
    );
    // Only the one separator after the name is eaten; further spaces belong to the text.
    assert_eq!(parse("/send bob   indented"), Ok(send("bob", "  indented")));
    assert_eq!(parse("/send\tbob\ttabbed"), Ok(send("bob", "tabbed")));
    // Spaces between command and name are free.
    assert_eq!(parse("  /send   Bob hi\n"), Ok(send("bob", "hi")));
    assert_eq!(parse("/send bob hi\r\n"), Ok(send("bob", "hi")));
    assert_eq!(parse("/SEND bob hi"), Ok(send("bob", "hi")));
    assert_eq!(
        parse("/send bob /history is a word"),
        Ok(send("bob", "/history is a word"))
    );
}

#[test]
fn send_usage_errors_show_the_usage() {
    for line in ["/send", "/send ", "/send bob", "/send bob ", "/send:bob hi"] {
        let err = parse(line).unwrap_err();
        assert_eq!(err, CommandError::Usage(SEND_USAGE), "{line:?}");
        assert_eq!(err.to_string(), "Usage: /send <user|#group> <text>");
        assert_eq!(err.code(), "usage");
    }
}

#[test]
fn send_validates_the_name_and_the_text() {
    assert_eq!(parse("/send b hi").unwrap_err().code(), "invalid_username");
    assert_eq!(
        parse("/send zoë hi").unwrap_err().code(),
        "invalid_username"
    );
    assert_eq!(parse("/send bob  ").unwrap_err().code(), "empty_message");
    assert_eq!(
        parse("/send bob \u{7}").unwrap_err().code(),
        "invalid_message"
    );
    let long = format!("/send bob {}", "a".repeat(4001));
    assert_eq!(parse(&long).unwrap_err().code(), "message_too_long");
    let max = format!("/send bob {}", "a".repeat(4000));
    assert!(parse(&max).is_ok());
}

#[test]
fn history_with_and_without_count() {
    assert_eq!(
        parse("/history bob"),
        Ok(Command::History {
            with: to("bob"),
            count: None
        })
    );
    assert_eq!(
        parse("/history bob 20"),
        Ok(Command::History {
            with: to("bob"),
            count: Some(20)
        })
    );
    assert_eq!(
        parse("/history  Bob  7  "),
        Ok(Command::History {
            with: to("bob"),
            count: Some(7)
        })
    );
    for line in [
        "/history",
        "/history ",
        "/history bob x",
        "/history bob 0",
        "/history bob -1",
        "/history bob 1 2",
        "/history bob 99999999999",
    ] {
        assert_eq!(
            parse(line),
            Err(CommandError::Usage(HISTORY_USAGE)),
            "{line:?}"
        );
    }
    assert_eq!(parse("/history b").unwrap_err().code(), "invalid_username");
}

#[test]
fn help_and_quit() {
    assert_eq!(parse("/help"), Ok(Command::Help));
    assert_eq!(parse("/help  "), Ok(Command::Help));
    assert_eq!(parse("quit"), Ok(Command::Quit));
    assert_eq!(parse(" QUIT \n"), Ok(Command::Quit));
    assert_eq!(parse("/quit"), Ok(Command::Quit));
    assert_eq!(parse("/help me"), Err(CommandError::Usage(HELP_USAGE)));
    assert_eq!(parse("/quit now"), Err(CommandError::Usage(QUIT_USAGE)));
    assert!(HELP.contains(SEND_USAGE) && HELP.contains(HISTORY_USAGE));
}

#[test]
fn unknown_commands_and_plain_text_say_what_to_do() {
    let err = parse("/dance bob").unwrap_err();
    assert_eq!(err, CommandError::UnknownCommand("/dance".into()));
    assert_eq!(err.code(), "unknown_command");
    assert_eq!(
        err.to_string(),
        "Unknown command /dance. Type /help for the list."
    );
    assert_eq!(parse("/").unwrap_err().code(), "unknown_command");
    assert_eq!(
        parse("/ send bob hi").unwrap_err().code(),
        "unknown_command"
    );
    assert_eq!(parse("/sendbob hi").unwrap_err().code(), "unknown_command");
    let plain = parse("hello bob").unwrap_err();
    assert_eq!(plain.code(), "not_a_command");
    assert!(plain.to_string().contains("/send <user> <text>"));
    assert_eq!(parse("").unwrap_err().code(), "empty_command");
    assert_eq!(parse("   \t \n").unwrap_err().code(), "empty_command");
}

#[test]
fn every_error_code_is_snake_case() {
    for line in [
        "",
        "x",
        "/x",
        "/send",
        "/send b x",
        "/send bob \u{1}",
        "/send bob  ",
    ] {
        let code = parse(line).unwrap_err().code();
        assert!(crate::error::is_snake_case(code), "{line:?} gave {code}");
    }
}

fn group(name: &str) -> GroupName {
    GroupName::parse(name).unwrap()
}

fn name(text: &str) -> Username {
    Username::parse(text).unwrap()
}

#[test]
fn a_hash_makes_a_recipient_a_group() {
    assert_eq!(
        parse("/send #Team hi all"),
        Ok(Command::Send {
            to: Recipient::Group(group("team")),
            body: MessageBody::new("hi all".into()).unwrap()
        })
    );
    assert_eq!(
        parse("/history #team 20"),
        Ok(Command::History {
            with: Recipient::Group(group("team")),
            count: Some(20)
        })
    );
    assert_eq!(
        parse("/send #t hi").unwrap_err().code(),
        "invalid_group_name"
    );
    assert_eq!(
        parse("/send #te!am hi").unwrap_err().code(),
        "invalid_group_name"
    );
}

#[test]
fn every_group_command_parses() {
    assert_eq!(
        parse("/create #team bob Carol"),
        Ok(Command::Create {
            group: group("team"),
            members: vec![name("bob"), name("carol")]
        })
    );
    assert_eq!(
        parse("/create #team"),
        Ok(Command::Create {
            group: group("team"),
            members: vec![]
        })
    );
    let (g, u) = (group("team"), name("bob"));
    assert_eq!(
        parse("/invite #team bob"),
        Ok(Command::Invite {
            group: g.clone(),
            user: u.clone()
        })
    );
    assert_eq!(
        parse("/kick #team bob"),
        Ok(Command::Kick {
            group: g.clone(),
            user: u.clone()
        })
    );
    assert_eq!(
        parse("/owner #team bob"),
        Ok(Command::Owner {
            group: g.clone(),
            user: u.clone()
        })
    );
    assert_eq!(
        parse("/admin  #team\tbob "),
        Ok(Command::Admin {
            group: g.clone(),
            user: u
        })
    );
    assert_eq!(
        parse("/leave #team"),
        Ok(Command::Leave { group: g.clone() })
    );
    assert_eq!(parse("/members #team"), Ok(Command::Members { group: g }));
    assert_eq!(parse("/groups"), Ok(Command::Groups));
    assert_eq!(parse("/unread"), Ok(Command::Unread));
    assert_eq!(parse("/unread now"), Err(CommandError::Usage("/unread")));
}

#[test]
fn group_commands_show_their_usage_when_misused() {
    for (line, usage) in [
        ("/create", CREATE_USAGE),
        ("/create team bob", CREATE_USAGE),
        ("/invite #team", INVITE_USAGE),
        ("/invite bob #team", INVITE_USAGE),
        ("/invite #team bob carol", INVITE_USAGE),
        ("/kick #team", KICK_USAGE),
        ("/owner", OWNER_USAGE),
        ("/admin #team", ADMIN_USAGE),
        ("/leave", LEAVE_USAGE),
        ("/leave #team now", LEAVE_USAGE),
        ("/members", MEMBERS_USAGE),
        ("/groups #team", GROUPS_USAGE),
    ] {
        assert_eq!(parse(line), Err(CommandError::Usage(usage)), "{line:?}");
    }
    assert_eq!(
        parse("/invite #team b!").unwrap_err().code(),
        "invalid_username"
    );
    assert_eq!(
        parse("/create #team ok b!").unwrap_err().code(),
        "invalid_username"
    );
    assert_eq!(parse("/leave #x").unwrap_err().code(), "invalid_group_name");
}

fn arb_name() -> impl Strategy<Value = Username> {
    "[a-zA-Z0-9_-]{3,32}".prop_map(|raw| Username::parse(&raw).unwrap())
}

fn arb_group() -> impl Strategy<Value = GroupName> {
    "[a-zA-Z0-9_-]{3,32}".prop_map(|raw| GroupName::parse(&raw).unwrap())
}

fn arb_recipient() -> impl Strategy<Value = Recipient> {
    prop_oneof![
        arb_name().prop_map(Recipient::User),
        arb_group().prop_map(Recipient::Group),
    ]
}

/// Bodies as a person can type them on one line: no newline, and never all white space.
fn arb_typed_body() -> impl Strategy<Value = MessageBody> {
    "[^\n\r\u{0}-\u{8}\u{b}-\u{1f}\u{7f}-\u{9f}\u{202a}-\u{202e}\u{2066}-\u{2069}]{0,60}[a-z!😀]"
        .prop_map(|raw| MessageBody::new(raw).unwrap())
}

fn arb_command() -> impl Strategy<Value = Command> {
    prop_oneof![
        (arb_recipient(), arb_typed_body()).prop_map(|(to, body)| Command::Send { to, body }),
        (arb_recipient(), proptest::option::of(1u32..))
            .prop_map(|(with, count)| Command::History { with, count }),
        (arb_group(), proptest::collection::vec(arb_name(), 0..4))
            .prop_map(|(group, members)| Command::Create { group, members }),
        (arb_group(), arb_name()).prop_map(|(group, user)| Command::Invite { group, user }),
        (arb_group(), arb_name()).prop_map(|(group, user)| Command::Kick { group, user }),
        (arb_group(), arb_name()).prop_map(|(group, user)| Command::Owner { group, user }),
        (arb_group(), arb_name()).prop_map(|(group, user)| Command::Admin { group, user }),
        arb_group().prop_map(|group| Command::Leave { group }),
        arb_group().prop_map(|group| Command::Members { group }),
        Just(Command::Groups),
        Just(Command::Unread),
        Just(Command::Help),
        Just(Command::Quit),
    ]
}

proptest! {
    #[test]
    fn display_then_parse_is_the_identity(command in arb_command()) {
        prop_assert_eq!(parse(&command.to_string()), Ok(command));
    }

    #[test]
    fn parse_never_panics(line in any::<String>()) {
        let _ = parse(&line);
    }

    #[test]
    fn parse_never_panics_on_command_shaped_lines(
        word in prop_oneof![
            Just("/send"), Just("/history"), Just("/help"), Just("/quit"), Just("quit"),
            Just("/create"), Just("/invite"), Just("/kick"), Just("/leave"), Just("/owner"),
            Just("/admin"), Just("/members"), Just("/groups"),
        ],
        args in "[ \ta-zA-Z0-9_#\u{0}-\u{1f}é😀-]{0,40}",
    ) {
        let _ = parse(&format!("{word}{args}"));
    }

    #[test]
    fn what_parses_redisplays_to_the_same_command(
        line in "/(send|history|help|quit|create|invite|kick|leave|owner|admin|members|groups)[ \ta-z0-9#]{0,30}",
    ) {
        if let Ok(command) = parse(&line) {
            prop_assert_eq!(parse(&command.to_string()), Ok(command));
        }
    }
}

/// `/help` speaks of the history page without a count; it must say the page the server gives.
#[test]
fn help_states_the_default_history_page() {
    let default = crate::limits::HISTORY_PAGE_DEFAULT;
    assert!(
        HELP.contains(&format!("({default} unless you give a count)")),
        "{HELP}"
    );
}
