//! Exactly once on retry: a client whose connection drops before the acknowledgement resends
//! with the same client message id and gets the original back, and nobody receives a copy.

mod common;

use std::net::Shutdown;

use chat_store_contract::TempDir;
use chat_wire::{ClientFrame, Reply, Request, WireEntry, WireRecipient};
use common::*;

fn resend(client: &mut Client, client_message_id: u64, to: &str, body: &str) -> Reply {
    client.request(Request::Resend {
        client_message_id,
        to: WireRecipient::User(to.into()),
        body: body.into(),
    })
}

fn sent_id(reply: &Reply) -> u64 {
    match reply {
        Reply::Sent { message_id, .. } => *message_id,
        other => panic!("expected Sent, got {other:?}"),
    }
}

/// Every message's text in `group`'s history, oldest first, paging back to its start.
fn group_bodies(client: &mut Client, group: &str) -> Vec<String> {
    let mut pages = Vec::new();
    let mut before = None;
    loop {
        let page = match client.request(Request::History {
            with: WireRecipient::Group(group.into()),
            before,
            limit: Some(500),
        }) {
            Reply::Timeline(page) => page,
            other => panic!("history failed: {other:?}"),
        };
        before = page.entries.first().map(|entry| match entry {
            WireEntry::Message(m) => m.id,
            WireEntry::Notice(n) => n.id,
        });
        let more = page.has_more;
        pages.push(page.entries);
        if !more {
            break;
        }
    }
    let entries = pages.into_iter().rev().flatten();
    entries
        .filter_map(|entry| match entry {
            WireEntry::Message(m) => Some(m.body),
            WireEntry::Notice(_) => None,
        })
        .collect()
}

/// Bob's next delivered message; a copy of an earlier one would come first.
fn next_body(bob: &mut Client) -> (u64, String) {
    let message = bob.next_message();
    (message.id, message.body)
}

fn a_resend_after_a_dropped_ack_gets_the_original(store: &'static str) {
    let data = TempDir::new("e2e-resend-dropped");
    let server = ServerProcess::start(store, &data, &[]);
    let mut bob = user(&server, "bob");
    let mut alice = user(&server, "alice");
    // The send goes out, then the connection drops before the acknowledgement is read.
    alice.write_frame(&ClientFrame::Request {
        id: 50,
        request: Request::Send {
            client_message_id: 9001,
            to: WireRecipient::User("bob".into()),
            body: "did this arrive?".into(),
        },
    });
    alice.stream.shutdown(Shutdown::Both).expect("shutdown");
    drop(alice);
    let (delivered_id, body) = next_body(&mut bob);
    assert_eq!(body, "did this arrive?");
    // Back on a new connection, the same number: the original, not a copy.
    let mut alice = server.client();
    assert!(matches!(
        alice.log_in("alice", PASSWORD),
        Reply::LoggedIn { .. }
    ));
    let reply = resend(&mut alice, 9001, "bob", "did this arrive?");
    assert_eq!(sent_id(&reply), delivered_id);
    // Bob's next message is the next one alice sends: no copy came in between.
    alice.send_ok("bob", "next");
    assert_eq!(next_body(&mut bob).1, "next");
    let history: Vec<String> = bob
        .all_history("alice")
        .into_iter()
        .map(|m| m.body)
        .collect();
    assert_eq!(history, ["did this arrive?", "next"]);
}

fn a_resend_of_a_send_that_never_arrived_is_stored_once(store: &'static str) {
    let data = TempDir::new("e2e-resend-new");
    let server = ServerProcess::start(store, &data, &[]);
    let mut bob = user(&server, "bob");
    let mut alice = user(&server, "alice");
    let first = sent_id(&resend(&mut alice, 77, "bob", "first try lost"));
    assert_eq!(next_body(&mut bob), (first, "first try lost".to_string()));
    // Its acknowledgement was lost too, say: the same again changes nothing.
    let second = sent_id(&resend(&mut alice, 77, "bob", "first try lost"));
    assert_eq!(second, first);
    alice.send_ok("bob", "then this");
    assert_eq!(next_body(&mut bob).1, "then this");
    assert_eq!(alice.all_history("bob").len(), 2);
}

/// The old connection's `Send` can arrive after the new one's `Resend` (TCP retransmits it on a
/// link the client gave up on): it must not make a copy either.
fn a_send_arriving_after_its_resend_is_not_stored_again(store: &'static str) {
    let data = TempDir::new("e2e-send-after-resend");
    let server = ServerProcess::start(store, &data, &[]);
    let mut bob = user(&server, "bob");
    let mut alice = user(&server, "alice");
    let mut old_link = server.client();
    assert!(matches!(
        old_link.log_in("alice", PASSWORD),
        Reply::LoggedIn { .. }
    ));
    let resent = sent_id(&resend(&mut alice, 31, "bob", "overtaken"));
    assert_eq!(next_body(&mut bob), (resent, "overtaken".to_string()));
    let late = old_link.request(Request::Send {
        client_message_id: 31,
        to: WireRecipient::User("bob".into()),
        body: "overtaken".into(),
    });
    assert_eq!(sent_id(&late), resent);
    alice.send_ok("bob", "next");
    assert_eq!(next_body(&mut bob).1, "next");
    assert_eq!(bob.all_history("alice").len(), 2);
}

fn a_resend_needs_a_number(store: &'static str) {
    let data = TempDir::new("e2e-resend-zero");
    let server = ServerProcess::start(store, &data, &[]);
    drop(user(&server, "bob"));
    let mut alice = user(&server, "alice");
    let reply = resend(&mut alice, 0, "bob", "no number");
    assert_eq!(error_code(&reply), "missing_client_message_id");
    assert!(alice.all_history("bob").is_empty());
    // The connection goes on.
    alice.send_ok("bob", "still here");
    assert_eq!(alice.all_history("bob").len(), 1);
}

/// However busy the conversation: the original is found by its sender's number, not among the
/// newest messages of the group.
fn a_resend_after_a_thousand_others_gets_the_original(store: &'static str) {
    let data = TempDir::new("e2e-resend-busy");
    let server = ServerProcess::start(store, &data, &[]);
    let mut bob = user(&server, "bob");
    let mut alice = user(&server, "alice");
    let created = alice.request(Request::CreateGroup {
        group: "busy".into(),
        members: vec!["bob".into()],
    });
    assert!(
        matches!(created, Reply::GroupChanged(Some(_))),
        "{created:?}"
    );
    let team = || WireRecipient::Group("busy".into());
    let original = sent_id(&alice.request(Request::Send {
        client_message_id: 4242,
        to: team(),
        body: "acked, then the ack was lost".into(),
    }));
    for i in 0..1_001 {
        bob.send_ok_to(team(), &format!("chatter {i}"));
    }
    let again = sent_id(&alice.request(Request::Resend {
        client_message_id: 4242,
        to: team(),
        body: "acked, then the ack was lost".into(),
    }));
    assert_eq!(again, original);
    let copies = group_bodies(&mut alice, "busy")
        .into_iter()
        .filter(|body| body == "acked, then the ack was lost")
        .count();
    assert_eq!(copies, 1);
}

/// A number the sender used already answers with its original, whatever the text now: the
/// first text is what was stored and delivered (docs/protocol.md, Resend).
fn a_resend_with_other_text_gets_the_originals_ack(store: &'static str) {
    let data = TempDir::new("e2e-resend-other-text");
    let server = ServerProcess::start(store, &data, &[]);
    let mut bob = user(&server, "bob");
    let mut alice = user(&server, "alice");
    let first = sent_id(&resend(&mut alice, 808, "bob", "the first text"));
    assert_eq!(next_body(&mut bob), (first, "the first text".to_string()));
    let other = sent_id(&resend(&mut alice, 808, "bob", "another text"));
    assert_eq!(other, first);
    alice.send_ok("bob", "next");
    assert_eq!(next_body(&mut bob).1, "next");
    let history: Vec<String> = bob
        .all_history("alice")
        .into_iter()
        .map(|m| m.body)
        .collect();
    assert_eq!(history, ["the first text", "next"]);
}

on_both_stores!(
    a_resend_after_a_thousand_others_gets_the_original,
    a_resend_with_other_text_gets_the_originals_ack,
    a_resend_after_a_dropped_ack_gets_the_original,
    a_resend_of_a_send_that_never_arrived_is_stored_once,
    a_send_arriving_after_its_resend_is_not_stored_again,
    a_resend_needs_a_number,
);
