//! The inbox over real sockets, on both stores: the conversation list with unread counts, a
//! read marker all of a user's devices share, catching up after time away, and `/unread` in
//! the terminal client.

mod common;

use chat_store_contract::TempDir;
use chat_wire::{
    Event, InboxPage, Reply, Request, ServerFrame, TimelinePage, WireEntry, WireRecipient,
};
use common::chat_client::{logged_in, run_script, script};
use common::*;

fn conversations(client: &mut Client) -> InboxPage {
    match client.request(Request::Conversations) {
        Reply::Conversations(page) => page,
        other => panic!("expected Conversations, got {other:?}"),
    }
}

fn unread_with(page: &InboxPage, with: &WireRecipient) -> u32 {
    page.conversations
        .iter()
        .find(|c| c.with == *with)
        .unwrap_or_else(|| panic!("no conversation with {with:?} in {page:?}"))
        .unread
}

fn entry_id(entry: &WireEntry) -> u64 {
    match entry {
        WireEntry::Message(m) => m.id,
        WireEntry::Notice(n) => n.id,
    }
}

fn the_list_counts_unread_and_a_marker_is_shared_by_devices(store: &'static str) {
    let data = TempDir::new("e2e-inbox-list");
    let server = ServerProcess::start(store, &data, &[]);
    let mut alice = user(&server, "alice");
    let mut bob = user(&server, "bob");
    let mut carol = user(&server, "carol");
    let mut phone = server.client();
    assert!(matches!(
        phone.log_in("alice", PASSWORD),
        Reply::LoggedIn { .. }
    ));
    bob.send_ok("alice", "one");
    let second = bob.send_ok("alice", "two");
    let own = alice.send_ok("bob", "alice's own do not count");
    let created = carol.request(Request::CreateGroup {
        group: "team".into(),
        members: vec!["alice".into()],
    });
    assert!(matches!(created, Reply::GroupChanged(Some(_))));
    let team_message = carol.send_ok_to(WireRecipient::Group("team".into()), "hi team");

    let page = conversations(&mut alice);
    assert!(page.complete);
    let bob_with = WireRecipient::User("bob".into());
    let team = WireRecipient::Group("team".into());
    // Newest first: the team's message came last.
    assert_eq!(page.conversations[0].with, team);
    assert_eq!(
        page.conversations[0].last.as_ref().map(entry_id),
        Some(team_message)
    );
    assert_eq!(unread_with(&page, &bob_with), 2);
    assert_eq!(
        unread_with(&page, &team),
        2,
        "the creation notice and the message"
    );

    let marked = alice.request(Request::MarkRead {
        with: bob_with.clone(),
        up_to: second,
    });
    assert_eq!(
        marked,
        Reply::Marked {
            up_to: Some(second)
        }
    );
    // The phone hears of it, and its list agrees.
    let read = loop {
        match phone.read_frame() {
            Some(ServerFrame::Event(Event::Read { with, up_to })) => break (with, up_to),
            Some(ServerFrame::Event(_)) => {}
            other => panic!("expected Event::Read, got {other:?}"),
        }
    };
    assert_eq!(read, (bob_with.clone(), second));
    let page = conversations(&mut phone);
    assert_eq!(unread_with(&page, &bob_with), 0);
    assert_eq!(unread_with(&page, &team), 2);
    // A marker beyond the newest stops at the newest; what comes later is unread.
    let marked = alice.request(Request::MarkRead {
        with: bob_with.clone(),
        up_to: u64::MAX,
    });
    assert_eq!(marked, Reply::Marked { up_to: Some(own) });
    bob.send_ok("alice", "three");
    assert_eq!(unread_with(&conversations(&mut alice), &bob_with), 1);
    // Strangers are refused.
    let refused = bob.request(Request::MarkRead {
        with: team,
        up_to: 1,
    });
    assert_eq!(error_code(&refused), "not_a_member");
}

fn a_device_catches_up_on_what_it_missed_in_pages(store: &'static str) {
    let data = TempDir::new("e2e-inbox-catch-up");
    let server = ServerProcess::start(store, &data, &[]);
    let alice = user(&server, "alice");
    let mut bob = user(&server, "bob");
    let seen = bob.send_ok("alice", "seen before going away");
    drop(alice);
    let mut sent = Vec::new();
    for i in 0..5 {
        sent.push(bob.send_ok("alice", &format!("missed {i}")));
    }
    bob.send_ok("bob", "a note alice never sees");
    let mut alice = server.client();
    assert!(matches!(
        alice.log_in("alice", PASSWORD),
        Reply::LoggedIn { .. }
    ));
    let mut after = seen;
    let mut caught = Vec::new();
    loop {
        let page: TimelinePage = match alice.request(Request::CatchUp {
            after,
            limit: Some(2),
        }) {
            Reply::CaughtUp(page) => page,
            other => panic!("expected CaughtUp, got {other:?}"),
        };
        assert!(page.entries.len() <= 2);
        caught.extend(page.entries.iter().map(entry_id));
        match page.entries.last() {
            Some(last) if page.has_more => after = entry_id(last),
            _ => break,
        }
    }
    assert_eq!(caught, sent, "everything missed, once, in order");
}

fn the_terminal_client_lists_unread_and_reading_clears_it(store: &'static str) {
    let data = TempDir::new("e2e-inbox-client");
    let server = ServerProcess::start(store, &data, &[]);
    drop(user(&server, "alice"));
    let mut bob = user(&server, "bob");
    bob.send_ok("alice", "are you there?");
    bob.send_ok("alice", "hello?");
    let finished = run_script(server.addr, &script("alice", &["/unread"]));
    assert!(finished.status.success(), "{}", finished.stderr);
    assert!(
        finished.stdout.iter().any(|l| l == "Unread:"),
        "{:?}",
        finished.stdout
    );
    assert!(
        finished.stdout.iter().any(|l| l == "  bob  2"),
        "{:?}",
        finished.stdout
    );
    // Shown is read: after /history, and after a message arrives on screen.
    let mut alice = logged_in(server.addr, "alice");
    alice.write_line("/history bob");
    alice.expect_line("bob: hello?");
    alice.write_line("/unread");
    alice.expect_line("Nothing unread.");
    bob.send_ok("alice", "live");
    alice.expect_line("bob: live");
    alice.write_line("/unread");
    alice.expect_line("Nothing unread.");
}

on_both_stores!(
    the_list_counts_unread_and_a_marker_is_shared_by_devices,
    a_device_catches_up_on_what_it_missed_in_pages,
    the_terminal_client_lists_unread_and_reading_clears_it,
);
