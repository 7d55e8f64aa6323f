//! `chat-bench history`: fills a store with many messages between two users (through the store
//! port, in-process: the fastest way in), starts chat-server on it with --keep-data, and times
//! history pages at the newest end and at depths given as fractions of the conversation.

use std::time::{Duration, Instant};

use chat_argon2::Argon2Hasher;
use chat_domain::{
    Content, MessageBody, NewMessage, Password, PasswordHasher, Recipient, Retention, Store,
    UserRecord, Username,
};
use chat_wire::{Reply, Request, WireRecipient};
use jiff::Timestamp;

use super::peer::PASSWORD;
use super::server_process::{ServerProcess, temp_dir};
use super::wire_client::WireClient;
use crate::store::{self, StoreKind};

/// Appends between commits while filling.
const COMMIT_EVERY: usize = 10_000;
/// Messages a page asks for.
const PAGE: u32 = 50;

pub struct Options {
    pub store: StoreKind,
    pub messages: usize,
    /// Pages timed at each depth.
    pub reads: usize,
}

pub struct Depth {
    /// How far back the page starts, as a fraction of the conversation (0 = newest).
    pub fraction: f64,
    pub times: Vec<Duration>,
}

pub struct Report {
    pub store: StoreKind,
    pub messages: usize,
    pub fill: Duration,
    pub depths: Vec<Depth>,
}

fn name(raw: &str) -> Result<Username, String> {
    Username::parse(raw).map_err(|e| e.to_string())
}

pub fn run(options: &Options) -> Result<Report, String> {
    let dir = temp_dir(&format!("history-{}", options.store));
    let started = Instant::now();
    let first_id = fill(&dir, options)?;
    let fill = started.elapsed();
    let server = ServerProcess::spawn_on(&options.store.to_string(), dir, &["--keep-data"])?;
    let mut client = WireClient::connect(server.addr).map_err(|e| format!("connect: {e}"))?;
    let reply = client
        .request(Request::LogIn {
            username: "alice".into(),
            password: PASSWORD.into(),
        })
        .map_err(|e| format!("log in: {e}"))?;
    if !matches!(reply, Reply::LoggedIn { .. }) {
        return Err(format!("log in failed: {reply:?}"));
    }
    let mut depths = Vec::new();
    for fraction in [0.0, 0.5, 0.999] {
        // Ids are consecutive from the first: a depth is an id, kept a full page from the start.
        let room = options.messages.saturating_sub(PAGE as usize) as f64;
        let back = (room * fraction).round() as u64;
        let end = first_id + options.messages as u64;
        let before = (fraction > 0.0).then(|| end - back);
        let mut times = Vec::with_capacity(options.reads);
        for _ in 0..options.reads {
            let start = Instant::now();
            let reply = client
                .request(Request::History {
                    with: WireRecipient::User("bob".into()),
                    before,
                    limit: Some(PAGE),
                })
                .map_err(|e| format!("history: {e}"))?;
            times.push(start.elapsed());
            match reply {
                Reply::History(page) if page.messages.len() == PAGE as usize => {}
                other => return Err(format!("expected a full page, got {other:?}")),
            }
        }
        times.sort();
        depths.push(Depth { fraction, times });
    }
    Ok(Report {
        store: options.store,
        messages: options.messages,
        fill,
        depths,
    })
}

/// Writes alice, bob and `messages` messages between them; returns the first message's id.
fn fill(dir: &std::path::Path, options: &Options) -> Result<u64, String> {
    let mut store =
        store::open(options.store, dir, Retention::Wipe).map_err(|e| e.detail().to_string())?;
    let hasher = Argon2Hasher::with_cost(64, 1, 1).map_err(|e| e.0)?;
    let password = Password::new(PASSWORD.into()).map_err(|e| e.to_string())?;
    let hash = hasher.hash(&password).map_err(|e| e.0)?;
    let (alice, bob) = (name("alice")?, name("bob")?);
    for user in [&alice, &bob] {
        store
            .insert_user(&UserRecord {
                username: user.clone(),
                password_hash: hash.clone(),
                registered_at: Timestamp::UNIX_EPOCH,
            })
            .map_err(|e| e.detail().to_string())?;
    }
    let body = MessageBody::new("a message of about the usual length".into())
        .map_err(|e| e.to_string())?;
    let mut first_id = None;
    eprintln!(
        "filling a {} store with {} messages...",
        options.store, options.messages
    );
    for n in 0..options.messages {
        let (from, to) = if n % 2 == 0 {
            (&alice, &bob)
        } else {
            (&bob, &alice)
        };
        let message = store
            .append_message(NewMessage {
                sender: from.clone(),
                recipient: Recipient::User(to.clone()),
                content: Content::Text(body.clone()),
                sent_at: Timestamp::UNIX_EPOCH,
                client_message_id: None,
            })
            .map_err(|e| e.detail().to_string())?;
        first_id.get_or_insert(message.id.get());
        if n % COMMIT_EVERY == COMMIT_EVERY - 1 {
            store.commit().map_err(|e| e.detail().to_string())?;
        }
    }
    store.commit().map_err(|e| e.detail().to_string())?;
    first_id.ok_or_else(|| "no messages to read".into())
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "history: {} store of {} messages (filled in {:.1} s), pages of {PAGE}, client round trip",
            self.store,
            self.messages,
            self.fill.as_secs_f64()
        )?;
        for depth in &self.depths {
            let at = |q: f64| {
                let i = ((depth.times.len().max(1) - 1) as f64 * q).round() as usize;
                depth.times.get(i).map_or(0.0, |d| d.as_secs_f64() * 1e6)
            };
            let label = if depth.fraction == 0.0 {
                "newest page".to_string()
            } else {
                format!("{:.1}% back", depth.fraction * 100.0)
            };
            writeln!(
                f,
                "  {label:14} p50 {:7.0} us  p99 {:7.0} us  max {:7.0} us",
                at(0.5),
                at(0.99),
                at(1.0)
            )?;
        }
        Ok(())
    }
}
