//! The group requests: names checked, the domain's group rules called, the notice they write
//! acknowledged to the actor and fanned out to everyone it concerns.

use chat_domain::error::ErrorCode;
use chat_domain::rules::groups::{self, GroupChange, GroupError};
use chat_domain::{GroupName, Username};
use chat_wire::convert::event_for;
use chat_wire::{Reply, Request, ServerFrame, WireEntry, WireGroup, WireMember, WireRole};
use jiff::Timestamp;
use mio::Token;

use super::{OnCommitFailure, Server};

/// A name from the wire that failed validation: the reply to send instead.
struct Refused {
    code: &'static str,
    sentence: String,
}

fn group_name(raw: &str) -> Result<GroupName, Refused> {
    GroupName::parse(raw).map_err(|e| Refused {
        code: e.code(),
        sentence: e.to_string(),
    })
}

fn user_name(raw: &str) -> Result<Username, Refused> {
    Username::parse(raw).map_err(|e| Refused {
        code: e.code(),
        sentence: e.to_string(),
    })
}

impl<S: chat_domain::Store> Server<S> {
    /// Every request past log-in that is not send or history: the group commands.
    pub(super) fn group_request(
        &mut self,
        token: Token,
        id: u32,
        actor: &Username,
        request: Request,
    ) {
        if let Err(refused) = self.try_group_request(token, id, actor, request) {
            self.reply_error(token, id, refused.code, refused.sentence);
        }
    }

    fn try_group_request(
        &mut self,
        token: Token,
        id: u32,
        actor: &Username,
        request: Request,
    ) -> Result<(), Refused> {
        let now = Timestamp::now();
        let limits = self.config.limits.groups;
        let store = &mut self.store;
        let change = match request {
            Request::CreateGroup { group, members } => {
                let group = group_name(&group)?;
                // Checked before parsing each name, so a huge list costs nothing.
                if members.len() >= limits.members_max {
                    let full = GroupError::GroupFull {
                        group,
                        members_max: limits.members_max,
                    };
                    return Err(refused(&full));
                }
                let members = members
                    .iter()
                    .map(|m| user_name(m))
                    .collect::<Result<Vec<_>, _>>()?;
                groups::create(store, actor, group, members, limits, now)
            }
            Request::Invite { group, user } => groups::invite(
                store,
                actor,
                &group_name(&group)?,
                &user_name(&user)?,
                limits,
                now,
            ),
            Request::Kick { group, user } => {
                groups::kick(store, actor, &group_name(&group)?, &user_name(&user)?, now)
            }
            Request::Leave { group } => groups::leave(store, actor, &group_name(&group)?, now),
            Request::SetOwner { group, user } => {
                groups::hand_over(store, actor, &group_name(&group)?, &user_name(&user)?, now)
            }
            Request::MakeAdmin { group, user } => {
                groups::make_admin(store, actor, &group_name(&group)?, &user_name(&user)?, now)
            }
            Request::Members { group } => {
                let members =
                    groups::members(store, actor, &group_name(&group)?).map_err(|e| refused(&e))?;
                let listed = members
                    .iter()
                    .map(|m| WireMember::from_domain(m, self.sessions.contains_key(&m.username)))
                    .collect();
                self.reply_read(token, id, Reply::Members(listed));
                return Ok(());
            }
            Request::Groups => {
                let listed = groups::groups_of(store, actor)
                    .map_err(|e| refused(&e))?
                    .into_iter()
                    .map(|(name, role)| WireGroup {
                        name: name.as_str().to_string(),
                        role: WireRole::from_domain(role),
                    })
                    .collect();
                self.reply_read(token, id, Reply::Groups(listed));
                return Ok(());
            }
            // Everything else is handled before a request gets here.
            Request::Register { .. }
            | Request::LogIn { .. }
            | Request::Send { .. }
            | Request::Resend { .. }
            | Request::Conversations
            | Request::MarkRead { .. }
            | Request::CatchUp { .. }
            | Request::History { .. }
            | Request::Ping
            | Request::Quit => return Ok(()),
        };
        let GroupChange { notice, audience } = change.map_err(|e| refused(&e))?;
        self.store_dirty = true;
        let wire_notice = notice
            .as_ref()
            .and_then(|n| match WireEntry::from_domain(n) {
                WireEntry::Notice(notice) => Some(notice),
                WireEntry::Message(_) => None,
            });
        self.queue(
            token,
            ServerFrame::Reply {
                id,
                reply: Reply::GroupChanged(wire_notice),
            },
            OnCommitFailure::ReplyError(id),
        );
        if let Some(notice) = &notice {
            self.fan_out(token, &audience, ServerFrame::Event(event_for(notice)));
        }
        Ok(())
    }
}

fn refused(e: &GroupError) -> Refused {
    Refused {
        code: e.code(),
        sentence: e.to_string(),
    }
}
