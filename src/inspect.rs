//! `chat-server inspect`: prints a store's users and messages for people or, with `--json`, for
//! scripts. Password hashes are never printed; no user or message is changed.

use std::io::{self, Write};
use std::path::Path;

use chat_domain::{Content, GroupRecord, Member, Message, Recipient, StoreReads, UserRecord};
use serde::Serialize;

use crate::store::{self, StoreKind};

/// Reads the store of `kind` in `data_dir` and writes its contents to `out`. The error is a
/// sentence for the person.
pub fn inspect(
    kind: StoreKind,
    data_dir: &Path,
    json: bool,
    out: &mut impl Write,
) -> Result<(), String> {
    let store = store::open_for_reading(kind, data_dir).map_err(|e| e.detail().to_string())?;
    let users = store.all_users().map_err(|e| e.detail().to_string())?;
    let messages = store.all_messages().map_err(|e| e.detail().to_string())?;
    let groups = store
        .all_groups()
        .and_then(|groups| {
            groups
                .into_iter()
                .map(|g| store.members(&g.name).map(|members| (g, members)))
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(|e| e.detail().to_string())?;
    let written = if json {
        write_json(kind, &users, &groups, &messages, out)
    } else {
        write_text(kind, data_dir, &users, &groups, &messages, out)
    };
    written.map_err(|e| format!("cannot write the output: {e}"))
}

#[derive(Serialize)]
struct JsonStore<'a> {
    store: String,
    users: Vec<JsonUser<'a>>,
    groups: Vec<JsonGroup<'a>>,
    messages: Vec<JsonMessage<'a>>,
}

#[derive(Serialize)]
struct JsonGroup<'a> {
    name: &'a str,
    /// RFC 3339, UTC.
    created_at: String,
    members: Vec<JsonMember<'a>>,
}

#[derive(Serialize)]
struct JsonMember<'a> {
    username: &'a str,
    role: &'static str,
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
    /// `text`, or `notice` for a change to a group (who joined, left, was removed...).
    kind: &'static str,
    /// The text, or the notice in words: `created bob carol`, `joined bob`, `left`,
    /// `removed bob`, `owner bob`, `admin bob`.
    body: String,
    /// RFC 3339, UTC, to the millisecond.
    sent_at: String,
}

/// `{"user": "bob"}` or `{"group": "team"}`.
#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum JsonRecipient<'a> {
    User(&'a str),
    Group(&'a str),
}

type GroupWithMembers = (GroupRecord, Vec<Member>);

/// The kind of a message and its body in words.
fn kind_and_body(content: &Content) -> (&'static str, String) {
    match content {
        Content::Text(body) => ("text", body.as_str().to_string()),
        Content::Notice(notice) => ("notice", notice.to_string()),
    }
}

fn write_json(
    kind: StoreKind,
    users: &[UserRecord],
    groups: &[GroupWithMembers],
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
        groups: groups
            .iter()
            .map(|(g, members)| JsonGroup {
                name: g.name.as_str(),
                created_at: g.created_at.to_string(),
                members: members
                    .iter()
                    .map(|m| JsonMember {
                        username: m.username.as_str(),
                        role: m.role.as_str(),
                    })
                    .collect(),
            })
            .collect(),
        messages: messages
            .iter()
            .map(|m| {
                let (kind, body) = kind_and_body(&m.content);
                JsonMessage {
                    id: m.id.get(),
                    from: m.sender.as_str(),
                    to: match &m.recipient {
                        Recipient::User(to) => JsonRecipient::User(to.as_str()),
                        Recipient::Group(to) => JsonRecipient::Group(to.as_str()),
                    },
                    kind,
                    body,
                    sent_at: m.sent_at.to_string(),
                }
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
    groups: &[GroupWithMembers],
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
    writeln!(out, "groups ({}):", groups.len())?;
    for (group, members) in groups {
        let listed: Vec<String> = members
            .iter()
            .map(|m| format!("{} ({})", m.username, m.role))
            .collect();
        writeln!(
            out,
            "  {} created {}: {}",
            group.name,
            group.created_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
            listed.join(", ")
        )?;
    }
    writeln!(out, "messages ({}):", messages.len())?;
    for message in messages {
        let (kind, body) = kind_and_body(&message.content);
        let body = match kind {
            "notice" => format!("[{body}]"),
            _ => one_line(&body),
        };
        writeln!(
            out,
            "  #{} {} {} -> {}: {}",
            message.id,
            message.sent_at.strftime("%Y-%m-%d %H:%M:%S%.3f UTC"),
            message.sender,
            message.recipient,
            body
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
