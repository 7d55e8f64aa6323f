//! What the lists look like: the unread line after logging in, `/unread`, `/members` in
//! columns, `/groups`.

use chat_wire::{InboxPage, WireConversation, WireGroup, WireMember, WireRecipient, WireRole};

use super::catch_up::entry_id;
use super::format::printable;
use super::{Session, words};
use crate::client::width::str_columns;

impl Session {
    /// The unread counts after logging in: one line if anything waits, and the newest id
    /// listed, which a later catch-up starts after.
    pub(super) fn on_summary(&mut self, page: &InboxPage) {
        for conversation in &page.conversations {
            self.learn(&conversation.with);
            if let Some(last) = &conversation.last {
                self.saw(entry_id(last));
            }
        }
        if self.newest_seen.is_none() {
            self.newest_seen = Some(0);
        }
        if let Some(line) = words::unread_summary(page) {
            self.show(&line);
        }
    }

    pub(super) fn show_members(&mut self, group: &str, members: &[WireMember]) {
        self.show(&format!("Members of {group} ({}):", members.len()));
        let names: Vec<String> = members.iter().map(|m| printable(&m.username)).collect();
        let width = names.iter().map(|n| str_columns(n)).max().unwrap_or(0);
        let role_width = members
            .iter()
            .map(|m| role_name(m.role).len())
            .max()
            .unwrap_or(0);
        for (member, name) in members.iter().zip(&names) {
            let online = if member.online { "online" } else { "" };
            let pad = " ".repeat(width - str_columns(name));
            let role = role_name(member.role);
            let line = format!("  {name}{pad}  {role:role_width$}  {online}");
            self.show(line.trim_end());
        }
    }

    pub(super) fn show_unread(&mut self, page: &InboxPage) {
        let unread: Vec<&WireConversation> =
            page.conversations.iter().filter(|c| c.unread > 0).collect();
        if unread.is_empty() {
            return self.show("Nothing unread.");
        }
        self.show("Unread:");
        for conversation in unread {
            let with = match &conversation.with {
                WireRecipient::User(name) => printable(name.as_str()),
                WireRecipient::Group(group) => format!("#{}", printable(group.as_str())),
            };
            // The server counts up to 100.
            let count = match conversation.unread {
                n if n >= 100 => "100 or more".to_string(),
                n => n.to_string(),
            };
            self.show(&format!("  {with}  {count}"));
        }
        if !page.complete {
            self.show("(Only your most recent conversations are listed.)");
        }
    }

    pub(super) fn show_groups(&mut self, groups: &[WireGroup]) {
        if groups.is_empty() {
            return self.show("You are in no groups yet: /create #name starts one.");
        }
        self.show(&format!("Your groups ({}):", groups.len()));
        for group in groups {
            self.show(&format!(
                "  #{}  {}",
                printable(&group.name),
                role_name(group.role)
            ));
        }
    }
}

fn role_name(role: WireRole) -> &'static str {
    match role {
        WireRole::Member => "member",
        WireRole::Admin => "admin",
        WireRole::Owner => "owner",
    }
}
