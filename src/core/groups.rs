//! The groups family: create, invite, kick, leave, hand over, make admin (each a notice, answered
//! to the actor and delivered to everyone it concerns), and the member and group lists.

use chat_domain::error::ErrorCode;
use chat_domain::rules::groups::{self, GroupChange};
use chat_domain::{GroupName, Store, Username};
use chat_wire::convert::event_for;
use chat_wire::{Reply, ServerFrame, WireEntry, WireGroup, WireMember, WireRole};

use super::{ConnId, Core, OnCommitFailure};

/// A change of one group, with the names as they came off the wire.
pub(super) enum Change {
    Invite { group: String, who: String },
    Kick { group: String, who: String },
    Leave { group: String },
    HandOver { group: String, who: String },
    MakeAdmin { group: String, who: String },
}

/// Why a group request is refused: a bad name off the wire, or the rules.
struct Refused {
    code: &'static str,
    sentence: String,
}

impl<E: ErrorCode> From<E> for Refused {
    fn from(e: E) -> Self {
        Refused {
            code: e.code(),
            sentence: e.to_string(),
        }
    }
}

fn one_of(group: &str) -> Result<GroupName, Refused> {
    Ok(GroupName::parse(group)?)
}

fn one_of_and(group: &str, who: &str) -> Result<(GroupName, Username), Refused> {
    Ok((GroupName::parse(group)?, Username::parse(who)?))
}

impl<S: Store> Core<S> {
    pub(super) fn create_group(
        &mut self,
        conn: ConnId,
        id: u32,
        actor: &Username,
        group: String,
        members: Vec<String>,
    ) {
        let change = self.try_create_group(actor, &group, &members);
        self.answer_change(conn, id, change);
    }

    fn try_create_group(
        &mut self,
        actor: &Username,
        group: &str,
        members: &[String],
    ) -> Result<GroupChange, Refused> {
        let limits = self.settings.groups;
        let group = one_of(group)?;
        // The size is checked once, by the rules, on the names without repeats (a frame
        // holds 16,000 names at most: parsing them all first costs a millisecond).
        let members = members
            .iter()
            .map(|m| Username::parse(m))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(groups::create(
            &mut self.store,
            actor,
            group,
            members,
            limits,
            self.clock.wall,
        )?)
    }

    pub(super) fn change_group(&mut self, conn: ConnId, id: u32, actor: &Username, change: Change) {
        let result = self.try_change_group(actor, change);
        self.answer_change(conn, id, result);
    }

    fn try_change_group(
        &mut self,
        actor: &Username,
        change: Change,
    ) -> Result<GroupChange, Refused> {
        let (now, limits) = (self.clock.wall, self.settings.groups);
        let store = &mut self.store;
        let change = match change {
            Change::Invite { group, who } => {
                let (group, who) = one_of_and(&group, &who)?;
                groups::invite(store, actor, &group, &who, limits, now)
            }
            Change::Kick { group, who } => {
                let (group, who) = one_of_and(&group, &who)?;
                groups::kick(store, actor, &group, &who, now)
            }
            Change::Leave { group } => groups::leave(store, actor, &one_of(&group)?, now),
            Change::HandOver { group, who } => {
                let (group, who) = one_of_and(&group, &who)?;
                groups::hand_over(store, actor, &group, &who, now)
            }
            Change::MakeAdmin { group, who } => {
                let (group, who) = one_of_and(&group, &who)?;
                groups::make_admin(store, actor, &group, &who, now)
            }
        };
        Ok(change?)
    }

    /// Answers a group change with its notice, and delivers the notice to everyone it
    /// concerns; or answers the refusal.
    fn answer_change(&mut self, conn: ConnId, id: u32, change: Result<GroupChange, Refused>) {
        let GroupChange { notice, audience } = match change {
            Ok(change) => change,
            Err(refused) => return self.reply_error(conn, id, refused.code, refused.sentence),
        };
        let wire_notice = notice
            .as_ref()
            .and_then(|n| match WireEntry::from_domain(n) {
                WireEntry::Notice(notice) => Some(notice),
                WireEntry::Message(_) => None,
            });
        let frame = ServerFrame::Reply {
            id,
            reply: Reply::GroupChanged(wire_notice),
        };
        self.send_frame(conn, frame, OnCommitFailure::ReplyError(id));
        if let Some(notice) = notice {
            self.deliver(conn, &audience, ServerFrame::Event(event_for(notice)));
        }
    }

    pub(super) fn members(&mut self, conn: ConnId, id: u32, reader: &Username, group: String) {
        let members =
            one_of(&group).and_then(|group| Ok(groups::members(&self.store, reader, &group)?));
        match members {
            Ok(members) => {
                let listed = members
                    .iter()
                    .map(|m| WireMember::from_domain(m, self.online.contains_key(&m.username)))
                    .collect();
                self.reply_stored(conn, id, Reply::Members(listed));
            }
            Err(refused) => self.reply_error(conn, id, refused.code, refused.sentence),
        }
    }

    pub(super) fn groups(&mut self, conn: ConnId, id: u32, user: &Username) {
        match groups::groups_of(&self.store, user) {
            Ok(listed) => {
                let listed = listed
                    .into_iter()
                    .map(|(name, role)| WireGroup {
                        name: name.as_str().to_string(),
                        role: WireRole::from_domain(role),
                    })
                    .collect();
                self.reply_stored(conn, id, Reply::Groups(listed));
            }
            Err(e) => self.refuse(conn, id, &e),
        }
    }
}

#[cfg(test)]
mod tests;
