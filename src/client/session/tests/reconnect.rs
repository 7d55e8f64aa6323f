//! The reconnect, the resends and the catch-up, driven by hand with the time given: no socket,
//! no clock.

use super::*;
use crate::client::session::catch_up::CATCH_UP_PAGES_MAX;

fn effects_at(session: &mut Session, now_ms: u64) -> Vec<Effect> {
    session.on_tick(now_ms);
    session.take_effects()
}

fn requests(effects: &[Effect]) -> Vec<(u32, Request)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send { id, request } => Some((*id, request.clone())),
            _ => None,
        })
        .collect()
}

fn waiting_until(session: &Session) -> u64 {
    match session.connection() {
        Connection::Waiting { at_ms, .. } => at_ms,
        other => panic!("not waiting: {other:?}"),
    }
}

/// Loses the link at `at_ms`, lets the retry fall due, connects: the effects of that.
fn lose_and_reconnect(session: &mut Session, at_ms: u64) -> Vec<Effect> {
    session.on_heard(at_ms);
    session.on_disconnect(None);
    session.take_effects();
    let due = waiting_until(session);
    assert!(effects_at(session, due).contains(&Effect::Connect));
    session.on_connected("server-b:4000", due);
    session.take_effects()
}

/// Answers the re-login: the effects (resends, the unread counts, the catch-up).
fn relogged(session: &mut Session, login: &[Effect]) -> Vec<Effect> {
    let (id, request) = sent(login);
    assert!(matches!(request, Request::LogIn { .. }));
    reply(
        session,
        id,
        Reply::LoggedIn {
            username: "alice".into(),
        },
    )
}

fn caught_up(entries: Vec<WireMessage>, has_more: bool) -> Reply {
    Reply::CaughtUp(TimelinePage {
        entries: entries.into_iter().map(WireEntry::Message).collect(),
        has_more,
        limit: 500,
        clamped: false,
    })
}

fn live(session: &mut Session, message: WireMessage) -> Vec<String> {
    session.on_frame(ServerFrame::Event(Event::Message(message)), now());
    shown(&session.take_effects())
}

#[test]
fn a_lost_link_is_retried_on_a_backoff_and_logs_in_again_with_the_credentials_held() {
    let mut session = logged_in(person());
    session.on_heard(1_000);
    session.on_disconnect(None);
    let said = shown(&session.take_effects());
    assert_eq!(said.len(), 1, "one status line: {said:?}");
    assert!(said[0].starts_with(
        "Connection lost (the connection to the server was lost); reconnecting in 2 s..."
    ));
    assert!(matches!(
        session.prompt(),
        Some(Prompt::Command { offline: true, .. })
    ));
    let first = waiting_until(&session);
    assert!((2_500..=3_000).contains(&first), "{first}");
    assert!(effects_at(&mut session, first - 1).is_empty());
    assert_eq!(effects_at(&mut session, first), [Effect::Connect]);
    // Nobody there: the next wait is longer, and nothing is said.
    session.on_connect_failed("refused", first);
    assert!(session.take_effects().is_empty());
    let second = waiting_until(&session);
    assert!(
        second - first >= 3_000 && second - first <= 4_000,
        "{}",
        second - first
    );
    // The waits grow to 30 s and stay there.
    let mut at = second;
    for _ in 0..10 {
        assert_eq!(effects_at(&mut session, at), [Effect::Connect]);
        session.on_connect_failed("refused", at);
        let next = waiting_until(&session);
        assert!(next - at <= 30_000);
        at = next;
    }
    assert!(at - second > 200_000);
    assert_eq!(effects_at(&mut session, at), [Effect::Connect]);
    session.on_connected("server-b:4000", at);
    let (id, request) = sent(&session.take_effects());
    assert_eq!(
        request,
        Request::LogIn {
            username: "alice".into(),
            password: "secret-password".into()
        }
    );
    let effects = reply(
        &mut session,
        id,
        Reply::LoggedIn {
            username: "alice".into(),
        },
    );
    assert_eq!(shown(&effects), ["Reconnected to server-b:4000."]);
    let asked: Vec<Request> = requests(&effects).into_iter().map(|(_, r)| r).collect();
    assert_eq!(
        asked,
        [
            Request::Conversations,
            Request::CatchUp {
                after: 0,
                limit: Some(500)
            }
        ]
    );
    assert_eq!(session.connection(), Connection::Up);
    assert!(matches!(
        session.prompt(),
        Some(Prompt::Command { offline: false, .. })
    ));
}

#[test]
fn messages_in_flight_or_typed_offline_are_resent_with_their_numbers_then_shown_sent() {
    let mut session = logged_in(person());
    let (_, first) = sent(&line(&mut session, "/send bob one"));
    let Request::Send {
        client_message_id: number,
        ..
    } = first
    else {
        panic!("{first:?}");
    };
    session.on_heard(0);
    session.on_disconnect(None);
    let said = shown(&session.take_effects());
    assert!(
        said.contains(&"(pending) you -> bob: one".to_string()),
        "{said:?}"
    );
    // Typed while offline: kept, shown pending, nothing written.
    let effects = line(&mut session, "/send bob two");
    assert!(requests(&effects).is_empty());
    assert_eq!(shown(&effects), ["(pending) you -> bob: two"]);

    let login = lose_and_reconnect_after_loss(&mut session);
    let effects = relogged(&mut session, &login);
    let asked = requests(&effects);
    assert_eq!(
        asked[0].1,
        Request::Resend {
            client_message_id: number,
            to: WireRecipient::User("bob".into()),
            body: "one".into()
        }
    );
    // Never written before: a plain Send, with the number it was given.
    assert_eq!(
        asked[1].1,
        Request::Send {
            client_message_id: number + 1,
            to: WireRecipient::User("bob".into()),
            body: "two".into()
        }
    );
    let acked = reply(
        &mut session,
        asked[0].0,
        Reply::Sent {
            message_id: 7,
            sent_at_ms: 0,
        },
    );
    assert_eq!(shown(&acked).len(), 1);
    assert!(shown(&acked)[0].ends_with("you -> bob: one"));
}

/// The retry after a loss already handled: connect and return the log-in's effects.
fn lose_and_reconnect_after_loss(session: &mut Session) -> Vec<Effect> {
    let due = waiting_until(session);
    assert!(effects_at(session, due).contains(&Effect::Connect));
    session.on_connected("server-a:4000", due);
    session.take_effects()
}

#[test]
fn the_catch_up_shows_what_was_missed_once_in_order_and_live_messages_after_it() {
    let mut session = logged_in(person());
    // Seen up to 9.
    live(&mut session, message(9, "bob", "alice", "before"));
    let (_, _) = sent(&line(&mut session, "/send bob mine"));
    let login = lose_and_reconnect(&mut session, 0);
    let effects = relogged(&mut session, &login);
    let asked = requests(&effects);
    let (resend, catch_up) = (asked[0].0, asked[2].0);
    assert_eq!(
        asked[2].1,
        Request::CatchUp {
            after: 9,
            limit: Some(500)
        }
    );
    // The resent message is stored as 10; bob's 12 arrives live before the catch-up's answer.
    reply(
        &mut session,
        resend,
        Reply::Sent {
            message_id: 10,
            sent_at_ms: 0,
        },
    );
    assert!(live(&mut session, message(12, "bob", "alice", "live")).is_empty());
    let mine = WireMessage {
        id: 10,
        from: "alice".into(),
        to: WireRecipient::User("bob".into()),
        body: "mine".into(),
        sent_at_ms: 0,
    };
    let page = vec![
        mine,
        message(11, "bob", "alice", "away"),
        message(12, "bob", "alice", "live"),
    ];
    let effects = reply(&mut session, catch_up, caught_up(page, false));
    let said = shown(&effects);
    assert_eq!(said.len(), 3, "{said:?}");
    assert_eq!(said[0], "While you were away:");
    assert!(said[1].starts_with("(missed) [") && said[1].ends_with("bob: away"));
    assert!(said[2].starts_with("(missed) [") && said[2].ends_with("bob: live"));
    // Shown is read: the marker moves to 12.
    assert!(
        requests(&effects)
            .iter()
            .any(|(_, r)| matches!(r, Request::MarkRead { up_to: 11 | 12, .. }))
    );
    // From now on live messages show as they come.
    let said = live(&mut session, message(13, "bob", "alice", "now"));
    assert!(said[0].ends_with("bob: now") && !said[0].contains("missed"));
}

#[test]
fn the_catch_up_pages_on_and_stops_at_its_bound_saying_so() {
    let mut session = logged_in(person());
    let login = lose_and_reconnect(&mut session, 0);
    let effects = relogged(&mut session, &login);
    let (mut id, _) = requests(&effects)
        .into_iter()
        .find(|(_, r)| matches!(r, Request::CatchUp { .. }))
        .unwrap();
    for page_number in 0..u64::from(CATCH_UP_PAGES_MAX) {
        let first = page_number * 2 + 1;
        let page = vec![
            message(first, "bob", "alice", "a"),
            message(first + 1, "bob", "alice", "b"),
        ];
        let effects = reply(&mut session, id, caught_up(page, true));
        let next = requests(&effects)
            .into_iter()
            .find(|(_, r)| matches!(r, Request::CatchUp { .. }));
        match next {
            Some((next_id, Request::CatchUp { after, .. })) => {
                assert_eq!(after, first + 1);
                id = next_id;
            }
            _ => {
                assert_eq!(page_number + 1, u64::from(CATCH_UP_PAGES_MAX));
                assert!(
                    shown(&effects)
                        .last()
                        .unwrap()
                        .starts_with("(More was missed")
                );
                return;
            }
        }
    }
    panic!("the catch-up never stopped");
}

#[test]
fn a_wrong_password_or_a_deleted_account_on_reconnect_stops_the_retries() {
    for (code, words) in [
        ("wrong_password", "refused the password for alice"),
        ("unknown_user", "has no account alice any more"),
    ] {
        let mut session = logged_in(script());
        line(&mut session, "/send bob unsent");
        let login = lose_and_reconnect(&mut session, 0);
        let (id, _) = sent(&login);
        let effects = reply(&mut session, id, error(code));
        let (status, reason) = exit_of(&effects).unwrap();
        let reason = reason.unwrap();
        assert_eq!(status, 1);
        assert!(reason.contains(words), "{reason}");
        assert!(reason.contains("Stopped reconnecting."), "{reason}");
        assert!(reason.contains("to bob \"unsent\""), "{reason}");
    }
    // A passing refusal (busy, rate limited) is retried later.
    let mut session = logged_in(script());
    let login = lose_and_reconnect(&mut session, 0);
    let (id, _) = sent(&login);
    let effects = reply(&mut session, id, error("server_busy"));
    assert!(effects.contains(&Effect::Disconnect));
    assert_eq!(exit_of(&effects), None);
    assert!(matches!(
        session.connection(),
        Connection::Waiting { attempt: 1, .. }
    ));
}

#[test]
fn a_script_gives_up_after_its_bound_naming_what_was_not_delivered() {
    let mut session = logged_in(script()).reconnect_for(Some(10_000));
    line(&mut session, "/send bob lost in the void");
    session.on_heard(5_000);
    session.on_disconnect(None);
    session.take_effects();
    let mut now = 5_000;
    loop {
        let due = waiting_until(&session);
        assert!(due <= 15_000, "no attempt after the bound: {due}");
        now = now.max(due);
        let effects = effects_at(&mut session, now);
        if let Some((status, reason)) = exit_of(&effects) {
            let reason = reason.unwrap();
            assert_eq!(status, 1);
            assert!(
                reason.starts_with("Gave up reconnecting after 10 s (last: refused)"),
                "{reason}"
            );
            assert!(
                reason.contains("Not delivered: 1 message: to bob \"lost in the void\"."),
                "{reason}"
            );
            assert_eq!(now, 15_000);
            return;
        }
        assert_eq!(effects, [Effect::Connect]);
        session.on_connect_failed("refused", now);
    }
}

#[test]
fn a_quiet_link_is_pinged_and_silence_past_the_patience_is_a_loss() {
    let mut session = logged_in(person());
    session.on_heard(0);
    assert_eq!(session.next_tick_ms(), Some(KEEPALIVE_MS));
    assert!(effects_at(&mut session, KEEPALIVE_MS - 1).is_empty());
    let (_, ping) = sent(&effects_at(&mut session, KEEPALIVE_MS));
    assert_eq!(ping, Request::Ping);
    assert_eq!(
        session.next_tick_ms(),
        Some(KEEPALIVE_MS + REPLY_PATIENCE_MS)
    );
    let effects = effects_at(&mut session, KEEPALIVE_MS + REPLY_PATIENCE_MS);
    assert!(effects.contains(&Effect::Disconnect));
    assert!(shown(&effects)[0].contains("has not answered for 30 seconds"));
    assert!(matches!(session.connection(), Connection::Waiting { .. }));
}

#[test]
fn the_server_s_shutdown_frame_is_a_loss_like_any_other() {
    let mut session = logged_in(script());
    session.on_frame(
        ServerFrame::Closing(ErrorBody::new("server_shutdown", "Stopping.")),
        now(),
    );
    assert_eq!(exit_of(&session.take_effects()), None);
    assert!(matches!(
        session.connection(),
        Connection::Waiting { attempt: 0, .. }
    ));
}

#[test]
fn pending_messages_are_bounded_and_the_one_refused_stays_in_the_editor() {
    let mut session = logged_in(person());
    session.on_heard(0);
    session.on_disconnect(None);
    session.take_effects();
    for n in 0..PENDING_SENDS_MAX {
        assert!(session.wants_input());
        line(&mut session, &format!("/send bob {n}"));
    }
    let effects = line(&mut session, "/send bob one too many");
    assert!(shown(&effects)[0].contains("[too_many_pending]"));
    assert!(effects.contains(&Effect::KeepLine("/send bob one too many".into())));
}

#[test]
fn commands_that_need_the_server_wait_for_it_and_stay_in_the_editor() {
    let mut session = logged_in(person());
    session.on_heard(0);
    session.on_disconnect(None);
    session.take_effects();
    let effects = line(&mut session, "/history bob");
    assert!(requests(&effects).is_empty());
    assert!(shown(&effects)[0].starts_with("Not connected to the server"));
    assert!(effects.contains(&Effect::KeepLine("/history bob".into())));
}

#[test]
fn a_read_in_flight_when_the_link_drops_is_asked_again_and_a_group_change_is_not() {
    let mut session = logged_in(script());
    sent(&line(&mut session, "/invite #team carol"));
    let (_, history) = sent(&line(&mut session, "/history bob"));
    session.on_heard(0);
    session.on_disconnect(None);
    let said = shown(&session.take_effects());
    assert!(
        said.iter()
            .any(|l| l.contains("/members #team shows whether it was done")),
        "{said:?}"
    );
    let login = lose_and_reconnect_after_loss(&mut session);
    let effects = relogged(&mut session, &login);
    assert_eq!(requests(&effects)[0].1, history);
    assert!(
        !requests(&effects)
            .iter()
            .any(|(_, r)| matches!(r, Request::Invite { .. }))
    );
}

#[test]
fn a_message_refused_as_rate_limited_is_sent_again_with_its_number_a_moment_later() {
    let mut session = logged_in(script());
    session.on_heard(0);
    let (id, request) = sent(&line(&mut session, "/send bob slow down"));
    let effects = reply(&mut session, id, error("rate_limited"));
    assert!(shown(&effects).is_empty(), "nothing lost, nothing said yet");
    assert_eq!(session.next_tick_ms(), Some(RATE_LIMITED_RETRY_MS));
    assert!(effects_at(&mut session, RATE_LIMITED_RETRY_MS - 1).is_empty());
    let (again, resent) = sent(&effects_at(&mut session, RATE_LIMITED_RETRY_MS));
    assert_eq!(resent, request);
    let effects = reply(
        &mut session,
        again,
        Reply::Sent {
            message_id: 3,
            sent_at_ms: 0,
        },
    );
    assert!(shown(&effects)[0].ends_with("you -> bob: slow down"));
}

#[test]
fn leaving_while_offline_with_nothing_owed_exits_at_once() {
    let mut session = logged_in(script());
    session.on_heard(0);
    session.on_disconnect(None);
    session.take_effects();
    session.on_input(Input::End);
    assert_eq!(exit_of(&session.take_effects()), Some((0, None)));
}

#[test]
fn a_person_leaving_while_offline_waits_for_what_is_pending_or_leaves_on_a_second_ctrl_c() {
    let mut session = logged_in(person());
    session.on_heard(0);
    session.on_disconnect(None);
    session.take_effects();
    line(&mut session, "/send bob still pending");
    session.on_input(Input::Interrupt);
    let effects = session.take_effects();
    assert_eq!(exit_of(&effects), None);
    assert!(shown(&effects)[0].contains("Ctrl-C again leaves now"));
    assert!(session.wants_input());
    session.on_input(Input::Interrupt);
    assert_eq!(exit_of(&session.take_effects()), Some((0, None)));
}

#[test]
fn live_events_past_the_room_held_are_fetched_by_another_round_not_lost() {
    let mut session = logged_in(person());
    let login = lose_and_reconnect(&mut session, 0);
    let effects = relogged(&mut session, &login);
    let (id, _) = requests(&effects)
        .into_iter()
        .find(|(_, r)| matches!(r, Request::CatchUp { .. }))
        .unwrap();
    // More live messages than can be held arrive before the first page's answer.
    let held_max = crate::client::session::catch_up::CATCH_UP_HELD_MAX as u64;
    for n in 1..=held_max + 1 {
        assert!(live(&mut session, message(n + 1, "bob", "alice", "live")).is_empty());
    }
    let effects = reply(
        &mut session,
        id,
        caught_up(vec![message(1, "bob", "alice", "a")], false),
    );
    let (again, request) = requests(&effects)
        .into_iter()
        .find(|(_, r)| matches!(r, Request::CatchUp { .. }))
        .expect("another round");
    assert_eq!(
        request,
        Request::CatchUp {
            after: 1,
            limit: Some(500)
        }
    );
    // The second round has them all; they show once each.
    let all = (2..=held_max + 2)
        .map(|n| message(n, "bob", "alice", "live"))
        .collect();
    let said = shown(&reply(&mut session, again, caught_up(all, false)));
    assert_eq!(said.len() as u64, held_max + 1, "{:?}", &said[..3]);
}

#[test]
fn many_messages_refused_as_rate_limited_go_again_a_few_a_second() {
    let mut session = logged_in(script());
    session.on_heard(0);
    let mut ids = Vec::new();
    for n in 0..25 {
        ids.push(sent(&line(&mut session, &format!("/send bob {n}"))).0);
    }
    for id in ids {
        reply(&mut session, id, error("rate_limited"));
    }
    let mut at = RATE_LIMITED_RETRY_MS;
    let mut batches = Vec::new();
    while let Some(next) = session
        .next_tick_ms()
        .filter(|&t| t <= 10 * RATE_LIMITED_RETRY_MS)
    {
        at = at.max(next);
        let written = requests(&effects_at(&mut session, at));
        if written.is_empty() {
            break;
        }
        batches.push(written.len());
        at += 1;
    }
    assert_eq!(batches, [10, 10, 5]);
}
