//! The one trait every domain error implements: a stable machine code and a sentence for people.

use std::fmt::Display;

/// An error that can be shown to a client: `code()` is stable snake_case that programs may
/// match on and that never changes meaning; `Display` is the sentence a person reads.
pub trait ErrorCode: Display {
    fn code(&self) -> &'static str;
}

/// True if `code` is non-empty snake_case ASCII: what every `ErrorCode::code` must return.
pub fn is_snake_case(code: &str) -> bool {
    !code.is_empty()
        && !code.starts_with('_')
        && !code.ends_with('_')
        && !code.contains("__")
        && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::is_snake_case;

    #[test]
    fn snake_case_is_recognised() {
        assert!(is_snake_case("invalid_username"));
        assert!(is_snake_case("usage"));
        for bad in ["", "Invalid", "a-b", "_a", "a_", "a__b", "a1"] {
            assert!(!is_snake_case(bad), "{bad:?} passed");
        }
    }
}
