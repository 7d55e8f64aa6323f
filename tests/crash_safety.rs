//! Crash safety with `--keep-data`, on each store: 20 rounds of senders going as fast as they
//! can, `kill -9` at a random moment, a restart, and a `Resend` of whatever was in flight.
//! At the end every acknowledged message is in history exactly once, and the counts are printed.

mod common;

use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::net::SocketAddr;
use std::time::Duration;

use chat_store_contract::TempDir;
use chat_wire::{Reply, Request, ServerFrame, WireRecipient};
use common::*;

const ROUNDS: usize = 20;
const SENDERS: usize = 3;
/// Requests each sender keeps in flight.
const WINDOW: usize = 8;

fn random_below(bound: u64) -> u64 {
    std::hash::RandomState::new().hash_one(std::time::Instant::now()) % bound
}

/// A message whose fate is unknown until it is acknowledged.
#[derive(Clone)]
struct Pending {
    client_message_id: u64,
    body: String,
}

/// One sender's whole history across rounds.
struct Sender {
    name: String,
    next_client_message_id: u64,
    /// Body -> the id its acknowledgement gave.
    acked: HashMap<String, u64>,
    /// Sent, never acknowledged: resent at the start of the next round.
    in_doubt: Vec<Pending>,
}

impl Sender {
    fn new(name: String) -> Self {
        Sender {
            name,
            next_client_message_id: random_below(1 << 40) + 1,
            acked: HashMap::new(),
            in_doubt: Vec::new(),
        }
    }

    /// Logs in and resends what was in doubt, then sends new messages as fast as
    /// acknowledgements allow, until the server dies (at any of these steps).
    fn run_round(mut self, addr: SocketAddr, round: usize) -> Self {
        let Some(mut client) = Client::try_connect(addr) else {
            return self;
        };
        let log_in = Request::LogIn {
            username: self.name.clone(),
            password: PASSWORD.into(),
        };
        match client.try_request(log_in) {
            Some(Reply::LoggedIn { .. }) => {}
            None => return self,
            Some(other) => panic!("log-in got {other:?}"),
        }
        if !self.resend_in_doubt(&mut client) {
            return self;
        }
        let mut in_flight: VecDeque<(u32, Pending)> = VecDeque::new();
        loop {
            while in_flight.len() < WINDOW {
                let pending = Pending {
                    client_message_id: self.next_client_message_id,
                    body: format!("{}:{round}:{}", self.name, self.next_client_message_id),
                };
                self.next_client_message_id += 1;
                let request = Request::Send {
                    client_message_id: pending.client_message_id,
                    to: WireRecipient::User("sink".into()),
                    body: pending.body.clone(),
                };
                let Ok(id) = client.try_send_request(request) else {
                    break;
                };
                in_flight.push_back((id, pending));
            }
            match client.try_read_frame() {
                Some(ServerFrame::Reply {
                    id,
                    reply: Reply::Sent { message_id, .. },
                }) => {
                    let (expected, pending) = in_flight.pop_front().expect("a reply was owed");
                    assert_eq!(id, expected, "replies in request order");
                    self.acked.insert(pending.body, message_id);
                }
                Some(ServerFrame::Event(_)) => {}
                Some(other) => panic!("unexpected {other:?}"),
                // Killed: what is still in flight may or may not have been stored.
                None => break,
            }
        }
        self.in_doubt = in_flight.into_iter().map(|(_, p)| p).collect();
        self
    }

    /// Resends each message in doubt until one goes unanswered; true if all were answered.
    fn resend_in_doubt(&mut self, client: &mut Client) -> bool {
        while let Some(pending) = self.in_doubt.first().cloned() {
            let resend = Request::Resend {
                client_message_id: pending.client_message_id,
                to: WireRecipient::User("sink".into()),
                body: pending.body.clone(),
            };
            match client.try_request(resend) {
                Some(Reply::Sent { message_id, .. }) => {
                    self.acked.insert(pending.body, message_id);
                    self.in_doubt.remove(0);
                }
                None => return false,
                Some(other) => panic!("resend of {:?} got {other:?}", pending.body),
            }
        }
        true
    }
}

fn twenty_kills_lose_and_duplicate_nothing_acknowledged(store: &'static str) {
    let data = TempDir::new("e2e-crash");
    let mut server = ServerProcess::start(store, &data, &["--keep-data"]);
    for i in 0..SENDERS {
        drop(user(&server, &format!("sender{i}")));
    }
    drop(user(&server, "sink"));
    let mut senders: Vec<Sender> = (0..SENDERS)
        .map(|i| Sender::new(format!("sender{i}")))
        .collect();
    let mut resent = 0;
    for round in 0..ROUNDS {
        resent += senders.iter().map(|s| s.in_doubt.len()).sum::<usize>();
        let addr = server.addr;
        let handles: Vec<_> = senders
            .into_iter()
            .map(|sender| std::thread::spawn(move || sender.run_round(addr, round)))
            .collect();
        std::thread::sleep(Duration::from_millis(30 + random_below(300)));
        server.child.kill().expect("kill -9");
        let _ = server.child.wait();
        senders = handles
            .into_iter()
            .map(|h| h.join().expect("sender thread"))
            .collect();
        // The store must open cleanly after every kill.
        server = ServerProcess::start(store, &data, &["--keep-data"]);
    }
    // Settle what the last kill left in doubt, then read everything back.
    for sender in &mut senders {
        resent += sender.in_doubt.len();
        let mut client = Client::connect(server.addr);
        assert!(matches!(
            client.log_in(&sender.name, PASSWORD),
            Reply::LoggedIn { .. }
        ));
        assert!(sender.resend_in_doubt(&mut client), "the server is up");
    }
    let mut sink = server.client();
    assert!(matches!(
        sink.log_in("sink", PASSWORD),
        Reply::LoggedIn { .. }
    ));
    let (mut acknowledged, mut lost, mut duplicated, mut stored_total) = (0, 0, 0, 0);
    for sender in &senders {
        let mut stored: HashMap<String, Vec<u64>> = HashMap::new();
        for message in sink.all_history(&sender.name) {
            stored_total += 1;
            stored.entry(message.body).or_default().push(message.id);
        }
        duplicated += stored.values().filter(|ids| ids.len() > 1).count();
        for (body, id) in &sender.acked {
            acknowledged += 1;
            if stored.get(body) != Some(&vec![*id]) {
                lost += 1;
            }
        }
    }
    eprintln!(
        "{store}: {ROUNDS} rounds of kill -9; {acknowledged} messages acknowledged \
         ({resent} resends of messages in doubt), {stored_total} stored, {lost} lost, \
         {duplicated} duplicated"
    );
    assert!(
        acknowledged > ROUNDS * SENDERS,
        "too little load: {acknowledged}"
    );
    assert_eq!(lost, 0, "acknowledged messages missing or under another id");
    assert_eq!(duplicated, 0, "messages stored twice");
    assert_eq!(
        stored_total, acknowledged,
        "stored messages nobody acknowledged"
    );
}

on_both_stores!(twenty_kills_lose_and_duplicate_nothing_acknowledged);
