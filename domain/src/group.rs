//! Groups: `GroupName` (`#team`), a member's `Role`, and the records stores keep.

use std::fmt;

use jiff::Timestamp;

use crate::error::ErrorCode;
use crate::message::MessageId;
use crate::username::{Username, UsernameError};

/// A valid group name: the username rules, shown with a leading `#`. Holds the bare name,
/// lowercase (`#Team` and `#team` are one group).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupName(Username);

/// The name broke the username rules; holds why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupNameError(pub UsernameError);

impl GroupName {
    /// Validates a bare name (`team`), as the wire and the stores carry it: `#team` is not one.
    pub fn parse(bare: &str) -> Result<Self, GroupNameError> {
        Username::parse(bare).map(GroupName).map_err(GroupNameError)
    }

    /// Validates a name as people type it, with its `#` (`#team`).
    pub fn typed(raw: &str) -> Result<Self, GroupNameError> {
        match raw.strip_prefix('#') {
            Some(bare) => Self::parse(bare),
            None => Err(GroupNameError(UsernameError::InvalidChar(
                raw.chars().next().unwrap_or(' '),
            ))),
        }
    }

    /// The bare name, without `#`: what the wire and the stores carry.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn into_string(self) -> String {
        self.0.into_string()
    }
}

impl fmt::Display for GroupName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

impl fmt::Debug for GroupName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GroupName(#{})", self.0)
    }
}

impl fmt::Display for GroupNameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rule = "a group name is 3 to 32 characters of a-z, 0-9, _ and -";
        match &self.0 {
            UsernameError::TooShort { chars } => {
                write!(f, "That group name is too short ({chars}): {rule}.")
            }
            UsernameError::TooLong { chars } => {
                write!(f, "That group name is too long ({chars}): {rule}.")
            }
            // Whoever sent `#team` where a bare name belongs typed the mark people write
            // groups with: the rule says what a name is, without blaming the mark itself.
            UsernameError::InvalidChar('#') => write!(f, "That is not a group name: {rule}."),
            UsernameError::InvalidChar(c) => {
                write!(f, "A group name cannot contain {c:?}: {rule}.")
            }
        }
    }
}

impl ErrorCode for GroupNameError {
    fn code(&self) -> &'static str {
        "invalid_group_name"
    }
}

impl std::error::Error for GroupNameError {}

/// What a member may do. Ordered by power: `Member < Admin < Owner`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Sends, reads the history, lists members, leaves.
    Member,
    /// And invites, and removes plain members.
    Admin,
    /// And removes anyone, makes admins, hands the group over. Exactly one per group.
    Owner,
}

impl Role {
    /// A stable lowercase name: what stores keep and people read.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }

    pub fn parse(name: &str) -> Option<Role> {
        match name {
            "member" => Some(Role::Member),
            "admin" => Some(Role::Admin),
            "owner" => Some(Role::Owner),
            _ => None,
        }
    }

    /// May invite, and remove plain members.
    pub fn manages_members(self) -> bool {
        self >= Role::Admin
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A group as stored. Who owns it is a member's role, not a field here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRecord {
    pub name: GroupName,
    pub created_at: Timestamp,
    /// The id of its creation notice. Every member's view starts here or later (`Member::since`),
    /// so a group that ends and a later one of the same name never share a message.
    pub first_message: MessageId,
}

/// One member of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub username: Username,
    pub role: Role,
    /// The id of the notice that added them (the creation notice, for those named at creation):
    /// they read the group from here on, nothing said before they joined or while they were out.
    pub since: MessageId,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_username_rules_bare_on_the_wire_and_with_a_hash_when_typed() {
        let team = GroupName::typed("#Team").unwrap();
        assert_eq!(team, GroupName::parse("team").unwrap());
        assert_eq!(team.as_str(), "team");
        assert_eq!(team.to_string(), "#team");
        for bad in [
            "#ab",
            "##team",
            "#te am",
            "#",
            "team",
            &format!("#{}", "a".repeat(33)),
        ] {
            let err = GroupName::typed(bad).unwrap_err();
            assert_eq!(err.code(), "invalid_group_name", "{bad}");
            assert!(err.to_string().contains("group name"), "{err}");
        }
        // On the wire a name is bare: the `#` is for people, and refused there.
        let hashed = GroupName::parse("#team").unwrap_err();
        assert_eq!(hashed.code(), "invalid_group_name");
        assert!(!hashed.to_string().contains('#'), "{hashed}");
    }

    #[test]
    fn roles_are_ordered_by_power_and_round_trip_by_name() {
        assert!(Role::Member < Role::Admin && Role::Admin < Role::Owner);
        assert!(!Role::Member.manages_members());
        assert!(Role::Admin.manages_members() && Role::Owner.manages_members());
        for role in [Role::Member, Role::Admin, Role::Owner] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("king"), None);
    }
}
