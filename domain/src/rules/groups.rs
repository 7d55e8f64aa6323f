//! The group rules: create, invite, kick, leave, hand over, make admin, list. Every change is
//! written into the group's history as a notice, so members see it in the one order they see
//! messages in.

use std::collections::BTreeSet;
use std::fmt;

use jiff::Timestamp;

use crate::error::ErrorCode;
use crate::group::{GroupName, Member, Role};
use crate::limits::{GROUP_MEMBERS_MAX, GROUPS_PER_USER_MAX};
use crate::message::{Content, NewMessage, Notice, Recipient, to_millisecond};
use crate::ports::{GroupWrite, Store, StoreError};
use crate::username::Username;

/// How big groups get; the operator may tune both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupLimits {
    pub members_max: usize,
    pub groups_per_user_max: usize,
}

impl Default for GroupLimits {
    fn default() -> Self {
        GroupLimits {
            members_max: GROUP_MEMBERS_MAX,
            groups_per_user_max: GROUPS_PER_USER_MAX,
        }
    }
}

/// A change made: the notice written into the group's history (none when the group ended with
/// its last member leaving) and everyone whose connections are told: the members, and whoever
/// just left or was removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupChange {
    pub notice: Option<crate::message::Message>,
    pub audience: Vec<Username>,
}

/// What someone may be refused when they act on a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Invite,
    Kick,
    KickAdmin,
    KickSelf,
    HandOver,
    MakeAdmin,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupError {
    UnknownGroup(GroupName),
    GroupExists(GroupName),
    /// The one acting is not in the group.
    NotAMember(GroupName),
    /// The one acted on is not in the group.
    NotInGroup(Username, GroupName),
    AlreadyMember(Username, GroupName),
    AlreadyAdmin(Username, GroupName),
    NotAllowed(Action, GroupName),
    /// The owner wants to leave while others remain.
    OwnerMustHandOver(GroupName),
    GroupFull {
        group: GroupName,
        members_max: usize,
    },
    TooManyGroups {
        user: Username,
        groups_max: usize,
    },
    UnknownUser(Username),
    Store(StoreError),
}

impl From<StoreError> for GroupError {
    fn from(e: StoreError) -> Self {
        GroupError::Store(e)
    }
}

/// `user` as a member of `group`: `UnknownGroup` if there is no such group, `NotAMember` if they
/// are not in it.
pub(crate) fn member_in(
    store: &impl Store,
    user: &Username,
    group: &GroupName,
) -> Result<Member, GroupError> {
    match store.member(group, user)? {
        Some(member) => Ok(member),
        None if store.find_group(group)?.is_some() => Err(GroupError::NotAMember(group.clone())),
        None => Err(GroupError::UnknownGroup(group.clone())),
    }
}

/// `user`'s role in `group`, refused as `member_in` refuses.
fn role_in(store: &impl Store, user: &Username, group: &GroupName) -> Result<Role, GroupError> {
    Ok(member_in(store, user, group)?.role)
}

/// `user`'s role in `group`, or `None` if they are not in it.
fn role_of(
    store: &impl Store,
    group: &GroupName,
    user: &Username,
) -> Result<Option<Role>, GroupError> {
    Ok(store.member(group, user)?.map(|member| member.role))
}

/// Refuses `user` if one more group would pass their limit.
fn check_room_for_one_more_group(
    store: &impl Store,
    user: &Username,
    limits: GroupLimits,
) -> Result<(), GroupError> {
    if store.groups_of(user)?.len() >= limits.groups_per_user_max {
        return Err(GroupError::TooManyGroups {
            user: user.clone(),
            groups_max: limits.groups_per_user_max,
        });
    }
    Ok(())
}

/// The notice `actor` writes into `group`'s history.
fn notice(actor: &Username, group: &GroupName, notice: Notice, now: Timestamp) -> NewMessage {
    NewMessage {
        sender: actor.clone(),
        recipient: Recipient::Group(group.clone()),
        content: Content::Notice(notice),
        sent_at: to_millisecond(now),
        client_message_id: None,
    }
}

/// Applies `write` and names who is told: the members after it, and `extra` (someone who just
/// left or was removed). Everything is read before the write: a read that failed after it
/// would answer a failure for a change the batch's commit then makes.
fn apply(
    store: &mut impl Store,
    write: GroupWrite,
    extra: Option<&Username>,
) -> Result<GroupChange, GroupError> {
    let audience = audience_after(store.members(&write.group)?, &write, extra);
    let notice = store.write_group(write)?;
    Ok(GroupChange { notice, audience })
}

/// The members' names once `write` is applied to `before`, in name order as a store lists
/// them, and `extra` (someone who just left) after them.
fn audience_after(
    before: Vec<Member>,
    write: &GroupWrite,
    extra: Option<&Username>,
) -> Vec<Username> {
    let mut names = BTreeSet::new();
    if !write.end {
        names.extend(before.into_iter().map(|m| m.username));
        for removed in &write.remove {
            names.remove(removed);
        }
        names.extend(write.add.iter().map(|(user, _)| user.clone()));
    }
    let mut names: Vec<Username> = names.into_iter().collect();
    names.extend(extra.cloned());
    names
}

/// Gives members their `roles` (where each one's view starts stays), writes the notice `what`
/// by `actor`, and tells the members.
fn change_roles(
    store: &mut impl Store,
    actor: &Username,
    group: &GroupName,
    roles: &[(&Username, Role)],
    what: Notice,
    now: Timestamp,
) -> Result<GroupChange, GroupError> {
    let mut write = GroupWrite::new(group.clone());
    write.set_roles = roles
        .iter()
        .map(|&(user, role)| (user.clone(), role))
        .collect();
    write.notice = Some(notice(actor, group, what, now));
    apply(store, write, None)
}

/// `/create #group [user ...]`: a new group, `creator` its owner, `others` its members.
pub fn create(
    store: &mut impl Store,
    creator: &Username,
    group: GroupName,
    others: Vec<Username>,
    limits: GroupLimits,
    now: Timestamp,
) -> Result<GroupChange, GroupError> {
    // Each name once, in name order, the creator not among them.
    let others: Vec<Username> = others
        .into_iter()
        .filter(|u| u != creator)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if store.find_group(&group)?.is_some() {
        return Err(GroupError::GroupExists(group));
    }
    if others.len() + 1 > limits.members_max {
        return Err(GroupError::GroupFull {
            group,
            members_max: limits.members_max,
        });
    }
    check_room_for_one_more_group(store, creator, limits)?;
    for user in &others {
        if !store.user_exists(user)? {
            return Err(GroupError::UnknownUser(user.clone()));
        }
        check_room_for_one_more_group(store, user, limits)?;
    }
    let mut write = GroupWrite::new(group.clone());
    write.create = Some(to_millisecond(now));
    // Everyone named at creation reads the group from its creation notice.
    write.add.push((creator.clone(), Role::Owner));
    write
        .add
        .extend(others.iter().map(|user| (user.clone(), Role::Member)));
    write.notice = Some(notice(
        creator,
        &group,
        Notice::Created { members: others },
        now,
    ));
    apply(store, write, None)
}

/// `/invite #group user`: an owner or admin adds someone.
pub fn invite(
    store: &mut impl Store,
    actor: &Username,
    group: &GroupName,
    user: &Username,
    limits: GroupLimits,
    now: Timestamp,
) -> Result<GroupChange, GroupError> {
    if !role_in(store, actor, group)?.manages_members() {
        return Err(GroupError::NotAllowed(Action::Invite, group.clone()));
    }
    if !store.user_exists(user)? {
        return Err(GroupError::UnknownUser(user.clone()));
    }
    if role_of(store, group, user)?.is_some() {
        return Err(GroupError::AlreadyMember(user.clone(), group.clone()));
    }
    if store.members(group)?.len() >= limits.members_max {
        return Err(GroupError::GroupFull {
            group: group.clone(),
            members_max: limits.members_max,
        });
    }
    check_room_for_one_more_group(store, user, limits)?;
    // They read the group from this notice on: nothing said before, nor while they were out
    // if they were in it before.
    let mut write = GroupWrite::new(group.clone());
    write.add.push((user.clone(), Role::Member));
    let joined = Notice::Joined { user: user.clone() };
    write.notice = Some(notice(actor, group, joined, now));
    apply(store, write, None)
}

/// `/kick #group user`: the owner removes anyone else; an admin removes plain members.
pub fn kick(
    store: &mut impl Store,
    actor: &Username,
    group: &GroupName,
    user: &Username,
    now: Timestamp,
) -> Result<GroupChange, GroupError> {
    let actor_role = role_in(store, actor, group)?;
    if !actor_role.manages_members() {
        return Err(GroupError::NotAllowed(Action::Kick, group.clone()));
    }
    let Some(target_role) = role_of(store, group, user)? else {
        return Err(GroupError::NotInGroup(user.clone(), group.clone()));
    };
    if user == actor {
        return Err(GroupError::NotAllowed(Action::KickSelf, group.clone()));
    }
    if target_role >= actor_role {
        return Err(GroupError::NotAllowed(Action::KickAdmin, group.clone()));
    }
    let mut write = GroupWrite::new(group.clone());
    write.remove.push(user.clone());
    let removed = Notice::Removed { user: user.clone() };
    write.notice = Some(notice(actor, group, removed, now));
    apply(store, write, Some(user))
}

/// `/leave #group`. The owner must hand the group over first, unless nobody else is in it:
/// then the group ends, and nobody can read its history again.
pub fn leave(
    store: &mut impl Store,
    actor: &Username,
    group: &GroupName,
    now: Timestamp,
) -> Result<GroupChange, GroupError> {
    if role_in(store, actor, group)? == Role::Owner {
        if store.members(group)?.len() > 1 {
            return Err(GroupError::OwnerMustHandOver(group.clone()));
        }
        let mut write = GroupWrite::new(group.clone());
        write.end = true;
        return apply(store, write, Some(actor));
    }
    let mut write = GroupWrite::new(group.clone());
    write.remove.push(actor.clone());
    write.notice = Some(notice(actor, group, Notice::Left, now));
    apply(store, write, Some(actor))
}

/// `/owner #group user`: the owner hands the group to another member and becomes an admin.
pub fn hand_over(
    store: &mut impl Store,
    actor: &Username,
    group: &GroupName,
    user: &Username,
    now: Timestamp,
) -> Result<GroupChange, GroupError> {
    if role_in(store, actor, group)? != Role::Owner || user == actor {
        return Err(GroupError::NotAllowed(Action::HandOver, group.clone()));
    }
    if role_of(store, group, user)?.is_none() {
        return Err(GroupError::NotInGroup(user.clone(), group.clone()));
    }
    let new_owner = Notice::NewOwner { user: user.clone() };
    let roles = [(user, Role::Owner), (actor, Role::Admin)];
    change_roles(store, actor, group, &roles, new_owner, now)
}

/// `/admin #group user`: the owner makes a member an admin.
pub fn make_admin(
    store: &mut impl Store,
    actor: &Username,
    group: &GroupName,
    user: &Username,
    now: Timestamp,
) -> Result<GroupChange, GroupError> {
    if role_in(store, actor, group)? != Role::Owner {
        return Err(GroupError::NotAllowed(Action::MakeAdmin, group.clone()));
    }
    match role_of(store, group, user)? {
        None => return Err(GroupError::NotInGroup(user.clone(), group.clone())),
        Some(Role::Member) => {}
        Some(_) => return Err(GroupError::AlreadyAdmin(user.clone(), group.clone())),
    }
    let new_admin = Notice::NewAdmin { user: user.clone() };
    change_roles(store, actor, group, &[(user, Role::Admin)], new_admin, now)
}

/// `/members #group`: the members with their roles, for a member.
pub fn members(
    store: &impl Store,
    reader: &Username,
    group: &GroupName,
) -> Result<Vec<Member>, GroupError> {
    role_in(store, reader, group)?;
    Ok(store.members(group)?)
}

/// `/groups`: the reader's groups with their role in each.
pub fn groups_of(
    store: &impl Store,
    reader: &Username,
) -> Result<Vec<(GroupName, Role)>, GroupError> {
    Ok(store.groups_of(reader)?)
}

impl fmt::Display for GroupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GroupError::UnknownGroup(g) => super::access::unknown_group(f, g),
            GroupError::GroupExists(g) => write!(f, "A group named {g} exists already."),
            GroupError::NotAMember(g) => super::access::not_a_member(f, g),
            GroupError::NotInGroup(u, g) => write!(f, "{u} is not a member of {g}."),
            GroupError::AlreadyMember(u, g) => write!(f, "{u} is a member of {g} already."),
            GroupError::AlreadyAdmin(u, g) => write!(f, "{u} is an admin of {g} already."),
            GroupError::NotAllowed(action, g) => f.write_str(&match action {
                Action::Invite => format!("Only the owner or an admin of {g} can invite."),
                Action::Kick => format!("Only the owner or an admin of {g} can remove members."),
                Action::KickAdmin => {
                    format!("Only the owner of {g} can remove an admin, and nobody the owner.")
                }
                Action::KickSelf => format!("To leave {g}, use /leave {g}."),
                Action::HandOver => {
                    format!("Only the owner of {g} can hand it to another member.")
                }
                Action::MakeAdmin => format!("Only the owner of {g} can make admins."),
            }),
            GroupError::OwnerMustHandOver(g) => write!(
                f,
                "You own {g}: make another member the owner first (/owner {g} <user>)."
            ),
            GroupError::GroupFull { group, members_max } => {
                write!(
                    f,
                    "{group} is full: a group has at most {members_max} members."
                )
            }
            GroupError::TooManyGroups { user, groups_max } => {
                write!(
                    f,
                    "{user} is in {groups_max} groups, the most one can be in."
                )
            }
            GroupError::UnknownUser(u) => super::access::unknown_user(f, u),
            GroupError::Store(e) => e.fmt(f),
        }
    }
}

impl ErrorCode for GroupError {
    fn code(&self) -> &'static str {
        match self {
            GroupError::UnknownGroup(_) => "unknown_group",
            GroupError::GroupExists(_) => "group_exists",
            GroupError::NotAMember(_) | GroupError::NotInGroup(..) => "not_a_member",
            GroupError::AlreadyMember(..) => "already_member",
            GroupError::AlreadyAdmin(..) => "already_admin",
            GroupError::NotAllowed(..) => "not_allowed",
            GroupError::OwnerMustHandOver(_) => "owner_must_hand_over",
            GroupError::GroupFull { .. } => "group_full",
            GroupError::TooManyGroups { .. } => "too_many_groups",
            GroupError::UnknownUser(_) => "unknown_user",
            GroupError::Store(e) => e.code(),
        }
    }
}

impl std::error::Error for GroupError {}

#[cfg(test)]
mod tests;
