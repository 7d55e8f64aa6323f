//! `chat-server inspect`: prints a store's users and messages for people or, with `--json`, for
//! scripts. Password hashes are never printed; no user or message is changed.

use std::io::{self, Write};
use std::path::Path;

use chat_domain::{Message, Recipient, UserRecord};
use serde::Serialize;

use crate::store::{AnyStore, StoreKind};

/// Reads the store of `kind` in `data_dir` and writes its contents to `out`. The error is a
/// sentence for the person.
pub fn inspect(
    kind: StoreKind,
    data_dir: &Path,
    json: bool,
    out: &mut impl Write,
) -> Result<(), String> {
    let store = AnyStore::open_for_reading(kind, data_dir).map_err(|e| e.detail().to_string())?;
    let users = store.all_users().map_err(|e| e.detail().to_string())?;
    let messages = store.all_messages().map_err(|e| e.detail().to_string())?;
    let written = if json {
        write_json(kind, &users, &messages, out)
    } else {
        write_text(kind, data_dir, &users, &messages, out)
    };
    written.map_err(|e| format!("cannot write the output: {e}"))
}

#[derive(Serialize)]
struct JsonStore<'a> {
    store: String,
    users: Vec<JsonUser<'a>>,
    messages: Vec<JsonMessage<'a>>,
}

#[derive(Serialize)]
struct JsonUser<'a> {
    username: &'a str,
    /// RFC 3339, UTC.
    registered_at: String,
}

#[derive(Serialize)]
struct JsonMessage<'a> {
    id: u64,
    from: &'a str,
    to: JsonRecipient<'a>,
    body: &'a str,
    /// RFC 3339, UTC, to the millisecond.
    sent_at: String,
}

/// `{"user": "bob"}`: an object, so that groups can be `{"group": ...}` later.
#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum JsonRecipient<'a> {
    User(&'a str),
}

fn write_json(
    kind: StoreKind,
    users: &[UserRecord],
    messages: &[Message],
    out: &mut impl Write,
) -> io::Result<()> {
    let document = JsonStore {
        store: kind.to_string(),
        users: users
            .iter()
            .map(|u| JsonUser {
                username: u.username.as_str(),
                registered_at: u.registered_at.to_string(),
            })
            .collect(),
        messages: messages
            .iter()
            .map(|m| JsonMessage {
                id: m.id.get(),
                from: m.sender.as_str(),
                to: match &m.recipient {
                    Recipient::User(to) => JsonRecipient::User(to.as_str()),
                },
                body: m.body.as_str(),
                sent_at: m.sent_at.to_string(),
            })
            .collect(),
    };
    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)
}

fn write_text(
    kind: StoreKind,
    data_dir: &Path,
    users: &[UserRecord],
    messages: &[Message],
    out: &mut impl Write,
) -> io::Result<()> {
    writeln!(out, "{kind} store in {}", data_dir.display())?;
    writeln!(out, "users ({}):", users.len())?;
    let width = users
        .iter()
        .map(|u| u.username.as_str().len())
        .max()
        .unwrap_or(0);
    for user in users {
        writeln!(
            out,
            "  {:width$}  registered {}",
            user.username.as_str(),
            user.registered_at.strftime("%Y-%m-%d %H:%M:%S UTC")
        )?;
    }
    writeln!(out, "messages ({}):", messages.len())?;
    for message in messages {
        let Recipient::User(to) = &message.recipient;
        writeln!(
            out,
            "  #{} {} {} -> {}: {}",
            message.id,
            message.sent_at.strftime("%Y-%m-%d %H:%M:%S%.3f UTC"),
            message.sender,
            to,
            one_line(message.body.as_str())
        )?;
    }
    Ok(())
}

/// A body on one line: backslash, newline and tab escaped as `\\`, `\n`, `\t`.
fn one_line(body: &str) -> String {
    body.replace('\\', "\\\\")
        .replace('\n', "\\n")
        .replace('\t', "\\t")
}
