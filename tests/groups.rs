//! Groups end to end over real sockets against the real server, on both stores: every command
//! and error code, who may do what, one order for every member, several devices, a thousand
//! members, and groups kept across a restart.

mod common;

use std::time::Duration;

use chat_store_contract::TempDir;
use chat_wire::{
    Event, InboxPage, Reply, Request, ServerFrame, TimelinePage, WireChange, WireEntry, WireNotice,
    WireRecipient, WireRole,
};
use common::{Client, ServerProcess, error_code, user};

fn team() -> WireRecipient {
    WireRecipient::Group("team".into())
}

fn create(client: &mut Client, group: &str, members: &[&str]) -> WireNotice {
    match client.request(Request::CreateGroup {
        group: group.into(),
        members: members.iter().map(|m| m.to_string()).collect(),
    }) {
        Reply::GroupChanged(Some(notice)) => notice,
        other => panic!("create failed: {other:?}"),
    }
}

fn changed(client: &mut Client, request: Request) -> Option<WireNotice> {
    match client.request(request) {
        Reply::GroupChanged(notice) => notice,
        other => panic!("expected GroupChanged, got {other:?}"),
    }
}

fn invite(group: &str, user: &str) -> Request {
    Request::Invite {
        group: group.into(),
        user: user.into(),
    }
}

fn kick(group: &str, user: &str) -> Request {
    Request::Kick {
        group: group.into(),
        user: user.into(),
    }
}

/// The next notice event this client receives.
fn next_notice(client: &mut Client) -> WireNotice {
    loop {
        if let Some(event) = client.events.pop_front() {
            if let Event::Notice(notice) = event {
                return notice;
            }
            continue;
        }
        match client.read_frame() {
            Some(ServerFrame::Event(event)) => client.events.push_back(event),
            other => panic!("expected an event, got {other:?}"),
        }
    }
}

fn members(client: &mut Client, group: &str) -> Vec<(String, WireRole, bool)> {
    match client.request(Request::Members {
        group: group.into(),
    }) {
        Reply::Members(list) => list
            .into_iter()
            .map(|m| (m.username, m.role, m.online))
            .collect(),
        other => panic!("members failed: {other:?}"),
    }
}

fn timeline(client: &mut Client, group: &str) -> Vec<WireEntry> {
    match client.request(Request::History {
        with: WireRecipient::Group(group.into()),
        before: None,
        limit: Some(500),
    }) {
        Reply::Timeline(page) => page.entries,
        other => panic!("history failed: {other:?}"),
    }
}

fn send_to(client: &mut Client, to: WireRecipient, body: &str) -> Reply {
    client.request(Request::Send {
        client_message_id: 1,
        to,
        body: body.into(),
    })
}

fn every_command_works_and_tells_the_members(store: &'static str) {
    let data = TempDir::new("groups-all");
    let server = ServerProcess::start(store, &data, &[]);
    let mut alice = user(&server, "alice");
    let mut bob = user(&server, "bob");
    let mut carol = user(&server, "carol");
    // dave exists but is offline.
    drop(user(&server, "dave"));

    let created = create(&mut alice, "Team", &["bob", "dave"]);
    assert_eq!(created.group, "team");
    assert_eq!(created.actor, "alice");
    assert_eq!(
        created.change,
        WireChange::Created {
            members: vec!["bob".into(), "dave".into()]
        }
    );
    assert_eq!(next_notice(&mut bob), created, "members are told");

    let joined = changed(&mut alice, invite("team", "carol")).unwrap();
    assert_eq!(
        joined.change,
        WireChange::Joined {
            user: "carol".into()
        }
    );
    assert_eq!(next_notice(&mut carol), joined, "the newcomer is told");
    assert_eq!(next_notice(&mut bob), joined);

    let admin = changed(
        &mut alice,
        Request::MakeAdmin {
            group: "team".into(),
            user: "bob".into(),
        },
    )
    .unwrap();
    assert_eq!(admin.change, WireChange::NewAdmin { user: "bob".into() });
    next_notice(&mut bob);
    next_notice(&mut carol);

    assert_eq!(
        members(&mut carol, "team"),
        vec![
            ("alice".into(), WireRole::Owner, true),
            ("bob".into(), WireRole::Admin, true),
            ("carol".into(), WireRole::Member, true),
            ("dave".into(), WireRole::Member, false),
        ]
    );
    match bob.request(Request::Groups) {
        Reply::Groups(groups) => {
            assert_eq!(groups.len(), 1);
            assert_eq!(
                (groups[0].name.as_str(), groups[0].role),
                ("team", WireRole::Admin)
            );
        }
        other => panic!("{other:?}"),
    }

    // A message reaches every member, in the group's one conversation.
    let sent = carol.send_ok_to(team(), "hello team");
    for member in [&mut alice, &mut bob] {
        let m = member.next_message();
        assert_eq!(
            (m.id, m.from.as_str(), m.to.clone()),
            (sent, "carol", team())
        );
    }
    let history = timeline(&mut bob, "team");
    assert_eq!(history.len(), 4, "created, joined, admin, the message");
    assert!(matches!(&history[0], WireEntry::Notice(n) if n.change == created.change));
    assert!(matches!(&history[3], WireEntry::Message(m) if m.body == "hello team"));

    // An admin removes a member: they are told, then shut out.
    let removed = changed(&mut bob, kick("team", "carol")).unwrap();
    assert_eq!(
        removed.change,
        WireChange::Removed {
            user: "carol".into()
        }
    );
    assert_eq!(next_notice(&mut carol), removed);
    assert_eq!(
        error_code(&send_to(&mut carol, team(), "let me in")),
        "not_a_member"
    );
    let read = carol.request(Request::History {
        with: team(),
        before: None,
        limit: None,
    });
    assert_eq!(error_code(&read), "not_a_member");
    next_notice(&mut alice);
    // A message after the removal reaches the members, not her: anything for her would arrive
    // before the answer to a ping she sends after it was acknowledged.
    alice.send_ok_to(team(), "carol is gone");
    assert_eq!(bob.next_message().body, "carol is gone");
    let ping = carol.send_request(Request::Ping);
    assert_eq!(carol.reply_to(ping), Reply::Pong);
    assert!(
        !carol.events.iter().any(|e| matches!(e, Event::Message(_))),
        "{:?}",
        carol.events
    );

    // The owner hands over and leaves; the new owner leaves after the last other member.
    let handed = changed(
        &mut alice,
        Request::SetOwner {
            group: "team".into(),
            user: "bob".into(),
        },
    )
    .unwrap();
    assert_eq!(handed.change, WireChange::NewOwner { user: "bob".into() });
    let left = changed(
        &mut alice,
        Request::Leave {
            group: "team".into(),
        },
    )
    .unwrap();
    assert_eq!(left.change, WireChange::Left);
    assert_eq!(next_notice(&mut bob), handed);
    assert_eq!(next_notice(&mut bob), left);
    changed(&mut bob, kick("team", "dave")).unwrap();
    assert_eq!(
        changed(
            &mut bob,
            Request::Leave {
                group: "team".into()
            }
        ),
        None,
        "the last member leaving ends the group"
    );
    let gone = alice.request(Request::Members {
        group: "team".into(),
    });
    assert_eq!(error_code(&gone), "unknown_group");
}

fn who_may_do_what(store: &'static str) {
    let data = TempDir::new("groups-authz");
    let server = ServerProcess::start(store, &data, &[]);
    let mut alice = user(&server, "alice"); // owner
    let mut bob = user(&server, "bob"); // admin
    let mut carol = user(&server, "carol"); // member
    let mut eve = user(&server, "eve"); // outsider
    let _dave = user(&server, "dave");
    create(&mut alice, "team", &["bob", "carol"]);
    changed(
        &mut alice,
        Request::MakeAdmin {
            group: "team".into(),
            user: "bob".into(),
        },
    );
    let history = || Request::History {
        with: team(),
        before: None,
        limit: None,
    };
    let send = || Request::Send {
        client_message_id: 9,
        to: team(),
        body: "x".into(),
    };
    let owner = |user: &str| Request::SetOwner {
        group: "team".into(),
        user: user.into(),
    };
    let admin = |user: &str| Request::MakeAdmin {
        group: "team".into(),
        user: user.into(),
    };
    let check = |who: &mut Client, request: Request, code: &str| {
        let reply = who.request(request.clone());
        assert_eq!(error_code(&reply), code, "{request:?}");
    };
    // An outsider can do nothing with the group.
    for request in [
        send(),
        history(),
        invite("team", "dave"),
        kick("team", "carol"),
        Request::Members {
            group: "team".into(),
        },
        Request::Leave {
            group: "team".into(),
        },
        owner("eve"),
        admin("carol"),
    ] {
        check(&mut eve, request, "not_a_member");
    }
    // A member cannot manage anyone.
    check(&mut carol, invite("team", "dave"), "not_allowed");
    check(&mut carol, kick("team", "bob"), "not_allowed");
    check(&mut carol, admin("carol"), "not_allowed");
    check(&mut carol, owner("carol"), "not_allowed");
    // An admin cannot remove the owner or another admin, nor make admins or hand over.
    check(&mut bob, kick("team", "alice"), "not_allowed");
    check(&mut bob, admin("carol"), "not_allowed");
    check(&mut bob, owner("bob"), "not_allowed");
    check(&mut bob, kick("team", "bob"), "not_allowed");
    // The owner has to hand over before leaving.
    check(
        &mut alice,
        Request::Leave {
            group: "team".into(),
        },
        "owner_must_hand_over",
    );
    // Names and existence.
    check(&mut alice, invite("team", "zed"), "unknown_user");
    check(&mut alice, invite("team", "carol"), "already_member");
    check(&mut alice, admin("bob"), "already_admin");
    check(&mut alice, kick("team", "dave"), "not_a_member");
    check(&mut alice, invite("nowhere", "dave"), "unknown_group");
    check(&mut alice, invite("t!", "dave"), "invalid_group_name");
    check(&mut alice, invite("team", "d!"), "invalid_username");
    check(
        &mut eve,
        Request::CreateGroup {
            group: "team".into(),
            members: vec![],
        },
        "group_exists",
    );
    check(
        &mut eve,
        send_to_req(WireRecipient::Group("nowhere".into())),
        "unknown_group",
    );
    // Logged out: nothing.
    let mut anonymous = server.client();
    check(&mut anonymous, Request::Groups, "not_logged_in");
}

fn entry_id(entry: &WireEntry) -> u64 {
    match entry {
        WireEntry::Message(m) => m.id,
        WireEntry::Notice(n) => n.id,
    }
}

fn ids(entries: &[WireEntry]) -> Vec<u64> {
    entries.iter().map(entry_id).collect()
}

/// Everything `client` catches up on after id 0, in one page.
fn caught_up(client: &mut Client) -> Vec<u64> {
    let page: TimelinePage = match client.request(Request::CatchUp {
        after: 0,
        limit: Some(500),
    }) {
        Reply::CaughtUp(page) => page,
        other => panic!("expected CaughtUp, got {other:?}"),
    };
    assert!(!page.has_more);
    ids(&page.entries)
}

/// The id of the newest entry of #team in `client`'s conversation list, and its unread count.
fn team_in_the_list(client: &mut Client) -> (Option<u64>, u32) {
    let page: InboxPage = match client.request(Request::Conversations) {
        Reply::Conversations(page) => page,
        other => panic!("expected Conversations, got {other:?}"),
    };
    let team = page
        .conversations
        .iter()
        .find(|c| c.with == team())
        .unwrap_or_else(|| panic!("no #team in {page:?}"));
    (team.last.as_ref().map(entry_id), team.unread)
}

/// What `client` reads of #team, checking there is nothing older to page back to.
fn team_history(client: &mut Client) -> Vec<u64> {
    match client.request(Request::History {
        with: team(),
        before: None,
        limit: Some(500),
    }) {
        Reply::Timeline(page) => {
            assert!(!page.has_more, "nothing before where the view starts");
            ids(&page.entries)
        }
        other => panic!("history failed: {other:?}"),
    }
}

fn a_member_reads_the_group_from_the_notice_that_added_them(store: &'static str) {
    let data = TempDir::new("groups-since");
    let server = ServerProcess::start(store, &data, &[]);
    let mut alice = user(&server, "alice");
    let mut bob = user(&server, "bob");
    let mut carol = user(&server, "carol");
    let mut everything = vec![create(&mut alice, "team", &["bob"]).id];
    everything.push(alice.send_ok_to(team(), "before carol"));
    everything.push(bob.send_ok_to(team(), "carol cannot read this"));
    let joined = changed(&mut alice, invite("team", "carol")).unwrap().id;
    everything.push(joined);
    everything.push(bob.send_ok_to(team(), "hello carol"));
    let carols = everything[3..].to_vec();
    assert_eq!(team_history(&mut carol), carols);
    assert_eq!(caught_up(&mut carol), carols);
    assert_eq!(
        team_in_the_list(&mut carol),
        (Some(everything[4]), 2),
        "the notice that added her and bob's hello, nothing older"
    );
    // bob still reads everything, and counts all of alice's unread.
    assert_eq!(team_history(&mut bob), everything);
    assert_eq!(caught_up(&mut bob), everything);
    assert_eq!(team_in_the_list(&mut bob), (Some(everything[4]), 3));

    // Removed, more is said, added again: only from the new notice.
    everything.push(changed(&mut alice, kick("team", "carol")).unwrap().id);
    everything.push(alice.send_ok_to(team(), "while carol is out"));
    let again = changed(&mut alice, invite("team", "carol")).unwrap().id;
    everything.push(again);
    everything.push(alice.send_ok_to(team(), "welcome back"));
    let carols = everything[everything.len() - 2..].to_vec();
    assert_eq!(team_history(&mut carol), carols);
    assert_eq!(caught_up(&mut carol), carols);
    assert_eq!(team_in_the_list(&mut carol), (carols.last().copied(), 2));
    assert_eq!(team_history(&mut bob), everything);
}

fn send_to_req(to: WireRecipient) -> Request {
    Request::Send {
        client_message_id: 1,
        to,
        body: "x".into(),
    }
}

fn limits_are_enforced(store: &'static str) {
    let data = TempDir::new("groups-limits");
    let server = ServerProcess::start(
        store,
        &data,
        &["--max-group-members", "3", "--max-groups-per-user", "2"],
    );
    let mut alice = user(&server, "alice");
    for name in ["bob", "carol", "dave"] {
        drop(user(&server, name));
    }
    let full = alice.request(Request::CreateGroup {
        group: "big".into(),
        members: vec!["bob".into(), "carol".into(), "dave".into()],
    });
    assert_eq!(error_code(&full), "group_full");
    create(&mut alice, "team", &["bob", "carol"]);
    assert_eq!(
        error_code(&alice.request(invite("team", "dave"))),
        "group_full"
    );
    create(&mut alice, "second", &[]);
    let third = alice.request(Request::CreateGroup {
        group: "third".into(),
        members: vec![],
    });
    assert_eq!(error_code(&third), "too_many_groups");
}

fn logged_in_again(server: &ServerProcess, name: &str) -> Client {
    let mut client = server.client();
    let reply = client.log_in(name, common::PASSWORD);
    assert!(matches!(reply, Reply::LoggedIn { .. }), "{reply:?}");
    client
}

fn every_member_sees_one_order(store: &'static str) {
    let data = TempDir::new("groups-order");
    let server = ServerProcess::start(store, &data, &[]);
    let names = ["ann", "ben", "cat", "dan", "eli"];
    let mut senders: Vec<Client> = names.iter().map(|n| user(&server, n)).collect();
    // Each member's second device only watches.
    let mut watchers: Vec<Client> = names.iter().map(|n| logged_in_again(&server, n)).collect();
    create(&mut senders[0], "team", &names[1..]);
    for watcher in &mut watchers {
        next_notice(watcher);
    }
    const PER_SENDER: usize = 20;
    // All five send at once, each pipelining its messages.
    let threads: Vec<_> = senders
        .into_iter()
        .zip(names)
        .map(|(mut sender, name)| {
            std::thread::spawn(move || {
                let ids: Vec<u32> = (0..PER_SENDER)
                    .map(|n| {
                        sender.send_request(Request::Send {
                            client_message_id: n as u64,
                            to: team(),
                            body: format!("{name} {n}"),
                        })
                    })
                    .collect();
                for id in ids {
                    assert!(matches!(sender.reply_to(id), Reply::Sent { .. }));
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("a sender failed");
    }
    let total = PER_SENDER * names.len();
    let seen: Vec<Vec<u64>> = watchers
        .iter_mut()
        .map(|w| (0..total).map(|_| w.next_message().id).collect())
        .collect();
    for (name, order) in names.iter().zip(&seen) {
        assert_eq!(order, &seen[0], "{name} saw another order");
    }
    assert!(seen[0].windows(2).all(|w| w[0] < w[1]), "in id order");
    let history: Vec<u64> = timeline(&mut watchers[0], "team")
        .into_iter()
        .filter_map(|e| match e {
            WireEntry::Message(m) => Some(m.id),
            WireEntry::Notice(_) => None,
        })
        .collect();
    assert_eq!(history, seen[0], "history has the same order");
}

fn groups_survive_a_restart_with_keep_data(store: &'static str) {
    let data = TempDir::new("groups-keep");
    let mut server = ServerProcess::start(store, &data, &["--keep-data"]);
    let mut alice = user(&server, "alice");
    let _bob = user(&server, "bob");
    create(&mut alice, "team", &["bob"]);
    let before = alice.send_ok_to(team(), "still here after a restart?");
    server.signal("TERM");
    assert!(server.wait_exit(Duration::from_secs(20)).is_some());

    let server = ServerProcess::start(store, &data, &["--keep-data"]);
    let mut bob = logged_in_again(&server, "bob");
    assert_eq!(
        members(&mut bob, "team"),
        vec![
            ("alice".into(), WireRole::Owner, false),
            ("bob".into(), WireRole::Member, true),
        ]
    );
    let history = timeline(&mut bob, "team");
    assert_eq!(history.len(), 2);
    assert!(matches!(&history[1], WireEntry::Message(m) if m.id == before));
    let after = bob.send_ok_to(team(), "yes");
    assert!(after > before);
}

/// On the wire a group is named bare (docs/protocol.md section 3): `#team` is refused there,
/// and the sentence says nothing of a `#`.
fn a_group_name_with_a_hash_on_the_wire_is_refused(store: &'static str) {
    let data = TempDir::new("groups-hash");
    let server = ServerProcess::start(store, &data, &[]);
    let mut alice = user(&server, "alice");
    let created = alice.request(Request::CreateGroup {
        group: "#team".into(),
        members: vec![],
    });
    assert_eq!(error_code(&created), "invalid_group_name");
    let Reply::Error(body) = &created else {
        panic!("{created:?}")
    };
    assert!(!body.message.contains('#'), "{}", body.message);
    create(&mut alice, "team", &[]);
    let sent = send_to(&mut alice, WireRecipient::Group("#team".into()), "hi");
    assert_eq!(error_code(&sent), "invalid_group_name");
}

on_both_stores!(
    a_group_name_with_a_hash_on_the_wire_is_refused,
    every_command_works_and_tells_the_members,
    who_may_do_what,
    a_member_reads_the_group_from_the_notice_that_added_them,
    limits_are_enforced,
    every_member_sees_one_order,
    groups_survive_a_restart_with_keep_data,
    a_thousand_online_members_each_receive_a_message_once,
);

fn a_thousand_online_members_each_receive_a_message_once(store: &'static str) {
    const MEMBERS: usize = 1_000;
    // This test holds a socket per member, past the usual soft limit of 1,024.
    chat::open_files::raise_limit(2 * MEMBERS as u64 + 64);
    let data = TempDir::new("groups-thousand");
    let server = ServerProcess::start(store, &data, &[]);
    let names: Vec<String> = (0..MEMBERS).map(|i| format!("member{i:04}")).collect();
    let mut clients: Vec<Client> = names.iter().map(|n| user(&server, n)).collect();
    let others: Vec<&str> = names[1..].iter().map(String::as_str).collect();
    create(&mut clients[0], "crowd", &others);
    for client in &mut clients[1..] {
        next_notice(client);
    }
    let sent = clients[0].send_ok_to(WireRecipient::Group("crowd".into()), "hello, crowd");
    for (name, client) in names.iter().zip(&mut clients).skip(1) {
        let message = client.next_message();
        assert_eq!(
            (message.id, message.body.as_str()),
            (sent, "hello, crowd"),
            "{name}"
        );
        // Anything delivered twice would arrive before the answer to a ping sent now.
        let ping = client.send_request(Request::Ping);
        assert_eq!(client.reply_to(ping), Reply::Pong, "{name}");
        let extra: Vec<_> = client
            .events
            .drain(..)
            .filter(|e| matches!(e, Event::Message(_)))
            .collect();
        assert!(extra.is_empty(), "{name} got it more than once: {extra:?}");
    }
}

#[test]
fn a_burst_to_a_group_disconnects_no_reader_that_keeps_up() {
    // Deliveries wait in the write queue two connections a turn: what waits there must not count
    // as a slow reader's backlog. 80 messages of 16 KB to 10 members is 1.3 MB each, past the
    // 1 MiB limit, all sent before anyone reads.
    let data = TempDir::new("groups-burst");
    let server = ServerProcess::start("sled", &data, &["--delivery-writes-per-turn", "2"]);
    let names: Vec<String> = (0..10).map(|i| format!("reader{i}")).collect();
    let mut clients: Vec<Client> = names.iter().map(|n| user(&server, n)).collect();
    let others: Vec<&str> = names[1..].iter().map(String::as_str).collect();
    create(&mut clients[0], "burst", &others);
    for client in &mut clients[1..] {
        next_notice(client);
    }
    let body = "😀".repeat(4_000);
    let ids: Vec<u32> = (0..80)
        .map(|n| {
            clients[0].send_request(Request::Send {
                client_message_id: n,
                to: WireRecipient::Group("burst".into()),
                body: body.clone(),
            })
        })
        .collect();
    for id in ids {
        let reply = clients[0].reply_to(id);
        assert!(matches!(reply, Reply::Sent { .. }), "{reply:?}");
    }
    for (name, client) in names.iter().zip(&mut clients).skip(1) {
        for n in 0..80 {
            let m = client.next_message();
            assert_eq!(m.body.len(), 16_000, "{name}, message {n}");
        }
    }
}
