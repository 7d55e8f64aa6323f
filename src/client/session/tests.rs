//! The session driven by hand: lines in, frames in, effects out.

use super::*;
use chat_wire::{HistoryPage, InboxPage, WireConversation};

const NOON: &str = "2026-11-27T12:00:00Z";

fn now() -> Timestamp {
    NOON.parse().unwrap()
}

fn script() -> Session {
    Session::new(false, TimeZone::UTC, 1)
}

fn person() -> Session {
    Session::new(true, TimeZone::UTC, 1)
}

fn line(session: &mut Session, text: &str) -> Vec<Effect> {
    session.on_input(Input::Line(text.into()));
    session.take_effects()
}

fn reply(session: &mut Session, id: u32, reply: Reply) -> Vec<Effect> {
    session.on_frame(ServerFrame::Reply { id, reply }, now());
    session.take_effects()
}

fn error(code: &str) -> Reply {
    Reply::Error(ErrorBody::new(code, format!("sentence for {code}")))
}

/// The single request among `effects`.
fn sent(effects: &[Effect]) -> (u32, Request) {
    let sends: Vec<_> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send { id, request } => Some((*id, request.clone())),
            _ => None,
        })
        .collect();
    match sends.as_slice() {
        [one] => one.clone(),
        other => panic!("expected one request, got {other:?} among {effects:?}"),
    }
}

fn shown(effects: &[Effect]) -> Vec<String> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Show(text) => Some(text.clone()),
            _ => None,
        })
        .collect()
}

fn exit_of(effects: &[Effect]) -> Option<(u8, Option<String>)> {
    effects.iter().find_map(|e| match e {
        Effect::Exit { status, reason } => Some((*status, reason.clone())),
        _ => None,
    })
}

/// A session logged in as alice, its unread counts answered (nothing unread, newest id 0).
fn logged_in(mut session: Session) -> Session {
    line(&mut session, "alice");
    let (id, _) = sent(&line(&mut session, "secret-password"));
    let effects = reply(
        &mut session,
        id,
        Reply::LoggedIn {
            username: "alice".into(),
        },
    );
    assert!(session.is_logged_in());
    let (summary, request) = sent(&effects);
    assert_eq!(request, Request::Conversations);
    reply(
        &mut session,
        summary,
        Reply::Conversations(InboxPage {
            conversations: vec![],
            complete: true,
        }),
    );
    session
}

fn message(id: u64, from: &str, to: &str, body: &str) -> WireMessage {
    WireMessage {
        id,
        from: from.into(),
        to: WireRecipient::User(to.into()),
        body: body.into(),
        sent_at_ms: "2026-11-27T10:42:00Z"
            .parse::<Timestamp>()
            .unwrap()
            .as_millisecond(),
    }
}

fn page(messages: Vec<WireMessage>, has_more: bool, limit: u32) -> HistoryPage {
    HistoryPage {
        messages,
        has_more,
        limit,
        clamped: false,
    }
}

fn history_with_bob(before: Option<u64>, limit: u32) -> Request {
    Request::History {
        with: WireRecipient::User("bob".into()),
        before,
        limit: Some(limit),
    }
}

#[test]
fn a_script_gives_username_then_password_and_logs_in() {
    let mut session = script();
    assert_eq!(session.prompt(), Some(Prompt::Username));
    assert!(line(&mut session, " Alice ").is_empty());
    assert_eq!(session.prompt(), Some(Prompt::Password));
    let (id, request) = sent(&line(&mut session, "secret-password"));
    assert_eq!(
        request,
        Request::LogIn {
            username: "alice".into(),
            password: "secret-password".into()
        }
    );
    assert!(!session.wants_input(), "nothing is read while logging in");
    let effects = reply(
        &mut session,
        id,
        Reply::LoggedIn {
            username: "alice".into(),
        },
    );
    assert_eq!(
        shown(&effects),
        ["Logged in as alice. Type /help for the commands."]
    );
    assert_eq!(
        session.prompt(),
        Some(Prompt::Command {
            to: None,
            offline: false
        })
    );
}

#[test]
fn a_script_with_a_new_name_registers_with_the_same_password() {
    let mut session = script();
    line(&mut session, "alice");
    let (id, _) = sent(&line(&mut session, "secret-password"));
    let (id, request) = sent(&reply(&mut session, id, error("unknown_user")));
    assert_eq!(
        request,
        Request::Register {
            username: "alice".into(),
            password: "secret-password".into()
        }
    );
    let effects = reply(
        &mut session,
        id,
        Reply::Registered {
            username: "alice".into(),
        },
    );
    assert!(shown(&effects)[0].starts_with("Registered and logged in as alice."));
    assert!(session.is_logged_in());
}

#[test]
fn a_script_stops_at_a_wrong_password_or_a_bad_name() {
    let mut session = script();
    line(&mut session, "alice");
    let (id, _) = sent(&line(&mut session, "wrong-password"));
    let (status, reason) = exit_of(&reply(&mut session, id, error("wrong_password"))).unwrap();
    assert_eq!(status, 1);
    assert!(reason.unwrap().contains("[wrong_password]"));

    let mut session = script();
    let (status, reason) = exit_of(&line(&mut session, "no way")).unwrap();
    assert_eq!(status, 1);
    assert!(reason.unwrap().contains("[invalid_username]"));
}

#[test]
fn a_wrong_password_says_the_name_may_be_taken_and_lets_the_person_pick_another() {
    let mut session = person();
    line(&mut session, "alice");
    for _ in 1..PASSWORD_ATTEMPTS_MAX {
        let (id, _) = sent(&line(&mut session, "wrong-password"));
        let effects = reply(&mut session, id, error("wrong_password"));
        assert!(exit_of(&effects).is_none());
        let said = shown(&effects);
        assert!(said[0].contains("[wrong_password]"));
        assert!(said[1].contains("may belong to someone else"), "{said:?}");
        assert_eq!(session.prompt(), Some(Prompt::Password));
    }
    // The third: no exit, a new name instead.
    let (id, _) = sent(&line(&mut session, "wrong-password"));
    let effects = reply(&mut session, id, error("wrong_password"));
    assert_eq!(exit_of(&effects), None);
    assert!(shown(&effects)[1].contains("Choose another name"));
    assert_eq!(session.prompt(), Some(Prompt::Username));
    // An empty password at the prompt also goes back to the name.
    line(&mut session, "alice");
    let effects = line(&mut session, "");
    assert_eq!(shown(&effects), ["Choose another name."]);
    assert_eq!(session.prompt(), Some(Prompt::Username));
    let (_, request) = sent(&{
        line(&mut session, "alice2");
        line(&mut session, "secret-password")
    });
    assert!(matches!(request, Request::LogIn { username, .. } if username == "alice2"));
}

#[test]
fn a_person_creating_an_account_types_the_password_twice() {
    let mut session = person();
    line(&mut session, "alice");
    let (id, _) = sent(&line(&mut session, "first-password"));
    let effects = reply(&mut session, id, error("unknown_user"));
    assert!(shown(&effects)[0].contains("no account named alice"));
    assert_eq!(session.prompt(), Some(Prompt::PasswordAgain));
    // A mismatch starts the new password over.
    let effects = line(&mut session, "other-password");
    assert!(shown(&effects)[0].contains("differ"));
    assert_eq!(session.prompt(), Some(Prompt::Password));
    // A password too short is refused before the second time.
    let effects = line(&mut session, "short");
    assert!(shown(&effects)[0].contains("[invalid_password]"));
    assert!(line(&mut session, "second-password").is_empty());
    let (_, request) = sent(&line(&mut session, "second-password"));
    assert_eq!(
        request,
        Request::Register {
            username: "alice".into(),
            password: "second-password".into()
        }
    );
}

#[test]
fn a_person_is_asked_again_for_a_bad_name() {
    let mut session = person();
    let effects = line(&mut session, "x");
    assert!(shown(&effects)[0].contains("[invalid_username]"));
    assert_eq!(session.prompt(), Some(Prompt::Username));
    assert!(line(&mut session, "").is_empty());
    assert_eq!(session.prompt(), Some(Prompt::Username));
}

#[test]
fn a_sent_message_shows_as_mine_once_acknowledged() {
    let mut session = logged_in(script());
    let (id, request) = sent(&line(&mut session, "/send Bob hello there"));
    assert_eq!(
        request,
        Request::Send {
            client_message_id: 1,
            to: WireRecipient::User("bob".into()),
            body: "hello there".into()
        }
    );
    let effects = reply(
        &mut session,
        id,
        Reply::Sent {
            message_id: 9,
            sent_at_ms: message(9, "alice", "bob", "").sent_at_ms,
        },
    );
    assert_eq!(shown(&effects), ["[10:42] you -> bob: hello there"]);
    // Each message gets its own client_message_id.
    let (_, request) = sent(&line(&mut session, "/send bob again"));
    assert!(matches!(
        request,
        Request::Send {
            client_message_id: 2,
            ..
        }
    ));
}

#[test]
fn command_and_server_errors_print_one_line_and_the_session_goes_on() {
    let mut session = logged_in(script());
    for (typed, code) in [
        ("hello", "not_a_command"),
        ("/frobnicate", "unknown_command"),
        ("/send bob", "usage"),
        ("/send b! hi", "invalid_username"),
    ] {
        let effects = line(&mut session, typed);
        let lines = shown(&effects);
        assert_eq!(lines.len(), 1, "{typed}");
        assert!(
            lines[0].ends_with(&format!("[{code}]")),
            "{typed}: {lines:?}"
        );
    }
    let (id, _) = sent(&line(&mut session, "/send zed hi"));
    let effects = reply(&mut session, id, error("unknown_user"));
    assert_eq!(
        shown(&effects),
        ["error: sentence for unknown_user [unknown_user]"]
    );
    assert!(session.wants_input());
}

#[test]
fn incoming_messages_show_with_time_and_sender() {
    let mut session = logged_in(script());
    session.on_frame(
        ServerFrame::Event(Event::Message(message(3, "bob", "alice", "hi"))),
        now(),
    );
    session.on_frame(
        ServerFrame::Event(Event::Message(message(4, "alice", "bob", "from my phone"))),
        now(),
    );
    assert_eq!(
        shown(&session.take_effects()),
        ["[10:42] bob: hi", "[10:42] you -> bob: from my phone"]
    );
}

#[test]
fn history_prints_oldest_first_and_says_when_there_is_more() {
    let mut session = logged_in(script());
    let (id, request) = sent(&line(&mut session, "/history bob 2"));
    assert_eq!(request, history_with_bob(None, 2));
    let page = page(
        vec![
            message(5, "bob", "alice", "one"),
            message(6, "alice", "bob", "two"),
        ],
        true,
        2,
    );
    let effects = reply(&mut session, id, Reply::History(page));
    let lines = shown(&effects);
    assert_eq!(
        lines[..3],
        [
            "History with bob, oldest first:",
            "[10:42] bob: one",
            "[10:42] you -> bob: two"
        ]
    );
    assert!(lines[3].starts_with("(Older messages exist"));
}

#[test]
fn history_pages_back_until_it_has_the_count_asked_for() {
    let mut session = logged_in(script());
    let (id, _) = sent(&line(&mut session, "/history bob 3"));
    // Long messages: the server fitted only one into the frame.
    let first = page(vec![message(9, "bob", "alice", "newest")], true, 3);
    let (id, request) = sent(&reply(&mut session, id, Reply::History(first)));
    assert_eq!(request, history_with_bob(Some(9), 2));
    let second = page(
        vec![
            message(4, "bob", "alice", "oldest"),
            message(7, "bob", "alice", "middle"),
        ],
        false,
        2,
    );
    let effects = reply(&mut session, id, Reply::History(second));
    assert_eq!(
        shown(&effects)[1..],
        [
            "[10:42] bob: oldest",
            "[10:42] bob: middle",
            "[10:42] bob: newest"
        ]
    );
}

#[test]
fn history_says_when_empty_and_caps_the_count() {
    let mut session = logged_in(script());
    let (id, request) = sent(&line(&mut session, "/history bob 100000"));
    assert!(matches!(
        request,
        Request::History {
            limit: Some(HISTORY_COUNT_MAX),
            ..
        }
    ));
    let empty = page(vec![], false, HISTORY_COUNT_MAX);
    let lines = shown(&reply(&mut session, id, Reply::History(empty)));
    assert_eq!(lines, ["No messages with bob yet."]);

    // Fewer than the cap exist: they are all of them.
    let (id, _) = sent(&line(&mut session, "/history bob 9999"));
    let eight = (1..=8).map(|n| message(n, "bob", "alice", "hi")).collect();
    let lines = shown(&reply(
        &mut session,
        id,
        Reply::History(page(eight, false, 500)),
    ));
    assert_eq!(
        lines.last().map(String::as_str),
        Some("(That is all 8 messages with bob.)")
    );

    // The cap reached with more before: the newest 500.
    let (id, _) = sent(&line(&mut session, "/history bob 9999"));
    let many = (1..=500)
        .map(|n| message(n, "bob", "alice", "hi"))
        .collect();
    let lines = shown(&reply(
        &mut session,
        id,
        Reply::History(page(many, true, 500)),
    ));
    assert!(lines.iter().any(|l| l.contains("at most 500")), "{lines:?}");
}

#[test]
fn quit_and_end_of_input_wait_for_every_reply_then_exit_zero() {
    for leave in [Input::Line("quit".into()), Input::End] {
        let mut session = logged_in(script());
        let (send_id, _) = sent(&line(&mut session, "/send bob one"));
        session.on_input(leave.clone());
        let (quit_id, request) = sent(&session.take_effects());
        assert_eq!(request, Request::Quit);
        assert!(!session.wants_input());
        let effects = reply(
            &mut session,
            send_id,
            Reply::Sent {
                message_id: 1,
                sent_at_ms: 0,
            },
        );
        assert_eq!(shown(&effects).len(), 1, "the owed reply still prints");
        assert!(exit_of(&effects).is_none());
        assert_eq!(
            exit_of(&reply(&mut session, quit_id, Reply::Bye)),
            Some((0, None))
        );
    }
}

#[test]
fn requests_in_flight_are_capped() {
    let mut session = logged_in(script());
    let mut ids = Vec::new();
    for n in 0..REQUESTS_IN_FLIGHT_MAX {
        assert!(session.wants_input());
        ids.push(sent(&line(&mut session, &format!("/send bob {n}"))).0);
    }
    assert!(!session.wants_input());
    reply(
        &mut session,
        ids[0],
        Reply::Sent {
            message_id: 1,
            sent_at_ms: 0,
        },
    );
    assert!(session.wants_input());
}

#[test]
fn a_lost_connection_reconnects_a_logged_in_session_but_not_a_login_prompt() {
    let mut session = person();
    session.on_disconnect(Some(ErrorBody::new("login_timeout", "Too slow.")));
    assert!(session.take_effects().is_empty());
    assert_eq!(session.prompt(), Some(Prompt::Username));

    let mut session = logged_in(script());
    session.on_frame(
        ServerFrame::Closing(ErrorBody::new(
            "server_shutdown",
            "The server is shutting down.",
        )),
        now(),
    );
    let effects = session.take_effects();
    assert_eq!(exit_of(&effects), None);
    let said = shown(&effects);
    assert!(
        said.len() == 1
            && said[0].contains("The server is shutting down. [server_shutdown]")
            && said[0].contains("reconnecting in 2 s..."),
        "{said:?}"
    );
    assert!(matches!(session.connection(), Connection::Waiting { .. }));
}

#[test]
fn a_server_ping_is_answered_and_a_stray_reply_ends_the_session() {
    let mut session = logged_in(script());
    session.on_frame(ServerFrame::Event(Event::Ping), now());
    let (id, request) = sent(&session.take_effects());
    assert_eq!(request, Request::Ping);
    assert!(reply(&mut session, id, Reply::Pong).is_empty());
    let (status, _) = exit_of(&reply(&mut session, 999, Reply::Pong)).unwrap();
    assert_eq!(status, 1);
}

#[test]
fn unreadable_lines_are_reported_or_stop_a_script_before_login() {
    let mut session = script();
    session.on_input(Input::Unreadable("error: bad [invalid_input]".into()));
    assert_eq!(exit_of(&session.take_effects()).map(|e| e.0), Some(1));

    let mut session = logged_in(script());
    session.on_input(Input::Unreadable("error: bad [invalid_input]".into()));
    assert_eq!(
        shown(&session.take_effects()),
        ["error: bad [invalid_input]"]
    );
}

#[test]
fn help_lists_the_commands() {
    let mut session = logged_in(script());
    let lines = shown(&line(&mut session, "/help"));
    assert!(lines[0].contains("/send") && lines[0].contains("/history"));
}

#[test]
fn answers_print_in_the_order_the_commands_were_given() {
    let mut session = logged_in(script());
    let (id, _) = sent(&line(&mut session, "/send bob first"));
    assert!(
        shown(&line(&mut session, "hello")).is_empty(),
        "a local error waits for the reply before it"
    );
    // An incoming message is not an answer: it shows at once.
    session.on_frame(
        ServerFrame::Event(Event::Message(message(2, "bob", "alice", "hi"))),
        now(),
    );
    assert_eq!(shown(&session.take_effects()), ["[10:42] bob: hi"]);
    let effects = reply(
        &mut session,
        id,
        Reply::Sent {
            message_id: 3,
            sent_at_ms: message(3, "alice", "bob", "").sent_at_ms,
        },
    );
    let lines = shown(&effects);
    assert_eq!(lines[0], "[10:42] you -> bob: first");
    assert!(lines[1].ends_with("[not_a_command]"));
}

#[test]
fn a_person_leaving_may_press_ctrl_c_again_to_leave_at_once() {
    let mut session = logged_in(person());
    line(&mut session, "/send bob unanswered");
    session.on_input(Input::Interrupt);
    assert_eq!(sent(&session.take_effects()).1, Request::Quit);
    assert!(session.wants_input(), "a second Ctrl-C is read");
    assert_eq!(session.prompt(), None, "but nothing is typed");
    session.on_input(Input::Line("ignored".into()));
    assert!(session.take_effects().is_empty());
    session.on_input(Input::Interrupt);
    assert_eq!(exit_of(&session.take_effects()), Some((0, None)));
}

#[test]
fn leaving_during_a_history_read_shows_what_came_and_asks_no_more() {
    let mut session = logged_in(script());
    let (id, _) = sent(&line(&mut session, "/history bob 3"));
    session.on_input(Input::End);
    let (quit_id, request) = sent(&session.take_effects());
    assert_eq!(request, Request::Quit);
    // The server fitted one long message into the page; there is more, but Quit is sent, so
    // the server reads nothing after it: no second page is asked for.
    let effects = reply(
        &mut session,
        id,
        Reply::History(page(vec![message(9, "bob", "alice", "newest")], true, 3)),
    );
    assert!(
        !effects.iter().any(|e| matches!(e, Effect::Send { .. })),
        "{effects:?}"
    );
    let lines = shown(&effects);
    assert_eq!(lines[1], "[10:42] bob: newest");
    assert!(lines[2].starts_with("(Older messages exist"));
    assert_eq!(
        exit_of(&reply(&mut session, quit_id, Reply::Bye)),
        Some((0, None))
    );
}

#[test]
fn at_most_one_ping_answer_is_in_flight() {
    let mut session = logged_in(script());
    session.on_frame(ServerFrame::Event(Event::Ping), now());
    let (ping_id, _) = sent(&session.take_effects());
    for _ in 0..1_000 {
        session.on_frame(ServerFrame::Event(Event::Ping), now());
    }
    assert!(
        session.take_effects().is_empty(),
        "a flood of pings queues nothing more"
    );
    reply(&mut session, ping_id, Reply::Pong);
    session.on_frame(ServerFrame::Event(Event::Ping), now());
    assert_eq!(sent(&session.take_effects()).1, Request::Ping);
}

#[test]
fn nothing_owed_survives_a_connection_lost_before_login() {
    let mut session = person();
    session.on_frame(ServerFrame::Event(Event::Ping), now());
    session.take_effects();
    session.on_disconnect(Some(ErrorBody::new("login_timeout", "Too slow.")));
    assert!(
        !session.awaits_replies(),
        "the next connection owes nothing of the old one"
    );
}

#[test]
fn a_confused_server_never_makes_the_client_print_the_password() {
    let mut session = script();
    line(&mut session, "alice");
    let (id, _) = sent(&line(&mut session, "secret-password"));
    let (status, reason) = exit_of(&reply(&mut session, id, Reply::Pong)).unwrap();
    assert_eq!(status, 1);
    let reason = reason.unwrap();
    assert!(!reason.contains("secret-password"), "{reason}");
    assert!(
        reason.contains("LogIn") && reason.contains("Pong"),
        "{reason}"
    );
}

#[test]
fn wrong_passwords_are_counted_per_name() {
    let mut session = person();
    line(&mut session, "alice");
    for _ in 1..PASSWORD_ATTEMPTS_MAX {
        let (id, _) = sent(&line(&mut session, "wrong-password"));
        reply(&mut session, id, error("wrong_password"));
    }
    // Some other refusal sends the person back to the username: a new name starts afresh.
    let (id, _) = sent(&line(&mut session, "wrong-password"));
    reply(&mut session, id, error("rate_limited"));
    assert_eq!(session.prompt(), Some(Prompt::Username));
    line(&mut session, "bob");
    let (id, _) = sent(&line(&mut session, "wrong-password"));
    let effects = reply(&mut session, id, error("wrong_password"));
    assert!(exit_of(&effects).is_none(), "bob has tries left");
}

#[test]
fn a_person_leaving_before_login_is_not_an_error() {
    for leave in [Input::End, Input::Interrupt] {
        let mut session = person();
        session.on_input(leave);
        assert_eq!(exit_of(&session.take_effects()), Some((0, None)));
    }
}

#[test]
fn history_reads_in_flight_are_capped() {
    let mut session = logged_in(script());
    for _ in 0..HISTORY_READS_IN_FLIGHT_MAX {
        assert!(session.wants_input());
        line(&mut session, "/history bob");
    }
    assert!(
        !session.wants_input(),
        "each read may hold up to 500 messages"
    );
}

mod reconnect;
mod typing;
