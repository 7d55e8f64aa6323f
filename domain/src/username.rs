//! `Username`: 3 to 32 of a-z 0-9 _ -, compared and stored lowercase.

use std::fmt;

use crate::error::ErrorCode;
use crate::limits::{USERNAME_CHARS_MAX, USERNAME_CHARS_MIN};

/// A valid username, always lowercase. Holding one proves it passed `Username::parse`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Username(String);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsernameError {
    TooShort { chars: usize },
    TooLong { chars: usize },
    InvalidChar(char),
}

impl Username {
    /// Validates `raw` and lowercases it: `Alice` and `alice` are the same person.
    pub fn parse(raw: &str) -> Result<Self, UsernameError> {
        // Check the alphabet first so that a non-ASCII name is named for what is wrong with it.
        if let Some(bad) = raw.chars().find(|c| !is_name_char(*c)) {
            return Err(UsernameError::InvalidChar(bad));
        }
        // Only ASCII is left, so bytes are characters.
        let chars = raw.len();
        if chars < USERNAME_CHARS_MIN {
            return Err(UsernameError::TooShort { chars });
        }
        if chars > USERNAME_CHARS_MAX {
            return Err(UsernameError::TooLong { chars });
        }
        Ok(Username(raw.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// The username alphabet before lowercasing: ASCII letters of either case, digits, `_` and `-`.
pub(crate) fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Username({})", self.0)
    }
}

impl std::str::FromStr for Username {
    type Err = UsernameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Username::parse(s)
    }
}

impl fmt::Display for UsernameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rule = "a username is 3 to 32 characters of a-z, 0-9, _ and -";
        match self {
            UsernameError::TooShort { chars } => {
                write!(f, "That name is too short ({chars}): {rule}.")
            }
            UsernameError::TooLong { chars } => {
                write!(f, "That name is too long ({chars}): {rule}.")
            }
            UsernameError::InvalidChar(c) => write!(f, "A username cannot contain {c:?}: {rule}."),
        }
    }
}

impl ErrorCode for UsernameError {
    fn code(&self) -> &'static str {
        "invalid_username"
    }
}

impl std::error::Error for UsernameError {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lengths_at_the_edges() {
        assert_eq!(
            Username::parse("ab"),
            Err(UsernameError::TooShort { chars: 2 })
        );
        assert_eq!(
            Username::parse("abc").map(|u| u.to_string()),
            Ok("abc".to_string())
        );
        let max = "a".repeat(32);
        assert_eq!(Username::parse(&max).map(|u| u.to_string()), Ok(max));
        assert_eq!(
            Username::parse(&"a".repeat(33)),
            Err(UsernameError::TooLong { chars: 33 })
        );
        assert_eq!(
            Username::parse(""),
            Err(UsernameError::TooShort { chars: 0 })
        );
    }

    #[test]
    fn upper_case_is_folded_to_lower_case() {
        let upper = Username::parse("Alice_Smith-9").unwrap();
        let lower = Username::parse("alice_smith-9").unwrap();
        assert_eq!(upper, lower);
        assert_eq!(upper.as_str(), "alice_smith-9");
    }

    #[test]
    fn non_ascii_spaces_and_punctuation_are_refused() {
        for (raw, bad) in [
            ("zoë", 'ë'),
            ("ａｂｃ", 'ａ'),
            ("al ice", ' '),
            ("bob!", '!'),
            ("a.b.c", '.'),
            ("#team", '#'),
            ("abc\n", '\n'),
            ("İab", 'İ'),
        ] {
            assert_eq!(
                Username::parse(raw),
                Err(UsernameError::InvalidChar(bad)),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn errors_say_the_rule_and_share_one_code() {
        let err = Username::parse("x").unwrap_err();
        assert_eq!(err.code(), "invalid_username");
        assert!(err.to_string().contains("3 to 32"), "{err}");
    }

    proptest! {
        #[test]
        fn every_valid_name_parses_to_its_lowercase(raw in "[a-zA-Z0-9_-]{3,32}") {
            let name = Username::parse(&raw).unwrap();
            prop_assert_eq!(name.as_str(), raw.to_ascii_lowercase());
            // Parsing what we store is the identity.
            prop_assert_eq!(Username::parse(name.as_str()).unwrap(), name);
        }

        #[test]
        fn parse_never_panics_and_accepts_only_the_alphabet(raw in any::<String>()) {
            if let Ok(name) = Username::parse(&raw) {
                let len = name.as_str().len();
                prop_assert!((USERNAME_CHARS_MIN..=USERNAME_CHARS_MAX).contains(&len));
                prop_assert!(name.as_str().chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-'));
            }
        }
    }
}
