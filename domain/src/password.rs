//! `Password` (8 to 128 bytes, never printed) and `PasswordHash` (an opaque PHC string).

use std::fmt;

use crate::error::ErrorCode;
use crate::limits::{PASSWORD_BYTES_MAX, PASSWORD_BYTES_MIN};

/// A password of valid length. Its `Debug` hides it, and it has no `Display`, so it cannot end
/// up in a log line by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordError {
    TooShort { bytes: usize },
    TooLong { bytes: usize },
}

impl Password {
    /// Takes the string by value so that no second copy of the secret is made.
    pub fn new(raw: String) -> Result<Self, PasswordError> {
        let bytes = raw.len();
        if bytes < PASSWORD_BYTES_MIN {
            return Err(PasswordError::TooShort { bytes });
        }
        if bytes > PASSWORD_BYTES_MAX {
            return Err(PasswordError::TooLong { bytes });
        }
        Ok(Password(raw))
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<hidden>)")
    }
}

impl fmt::Display for PasswordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PasswordError::TooShort { bytes } => {
                write!(
                    f,
                    "That password is too short ({bytes} bytes): use 8 to 128 bytes."
                )
            }
            PasswordError::TooLong { bytes } => {
                write!(
                    f,
                    "That password is too long ({bytes} bytes): use 8 to 128 bytes."
                )
            }
        }
    }
}

impl ErrorCode for PasswordError {
    fn code(&self) -> &'static str {
        "invalid_password"
    }
}

impl std::error::Error for PasswordError {}

/// A password hash in PHC string form (`$argon2id$v=19$...`), as made by a `PasswordHasher`.
/// The domain never looks inside; it only stores it and hands it back for verification.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    pub fn new(phc: String) -> Self {
        PasswordHash(phc)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    // Hashes are not secrets, but they are offline-crackable: keep them out of logs too.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<hidden>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_at_the_edges() {
        assert_eq!(
            Password::new("1234567".into()),
            Err(PasswordError::TooShort { bytes: 7 })
        );
        assert!(Password::new("12345678".into()).is_ok());
        assert!(Password::new("x".repeat(128)).is_ok());
        assert_eq!(
            Password::new("x".repeat(129)),
            Err(PasswordError::TooLong { bytes: 129 })
        );
        assert_eq!(
            Password::new(String::new()),
            Err(PasswordError::TooShort { bytes: 0 })
        );
    }

    #[test]
    fn length_counts_bytes_not_characters() {
        // Four 2-byte characters are 8 bytes: long enough.
        assert!(Password::new("éééé".into()).is_ok());
        // 43 three-byte characters are 129 bytes: too long, though only 43 characters.
        assert_eq!(
            Password::new("€".repeat(43)),
            Err(PasswordError::TooLong { bytes: 129 })
        );
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let password = Password::new("hunter2-secret".into()).unwrap();
        let shown = format!(
            "{password:?} {:?}",
            PasswordHash::new("$argon2id$abc".into())
        );
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("argon2id"), "{shown}");
    }

    #[test]
    fn error_code_is_stable() {
        assert_eq!(
            Password::new("short".into()).unwrap_err().code(),
            "invalid_password"
        );
    }
}
