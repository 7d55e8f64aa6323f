//! `MessageBody`: 1 to 4,000 characters, at most 16 KiB, no control characters but newline and
//! tab, and none of the bidirectional overrides that can make text display as something else.

use std::fmt;

use crate::error::ErrorCode;
use crate::limits::{BODY_BYTES_MAX, BODY_CHARS_MAX};

/// A message body that passed every rule. Its text is kept exactly as written.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct MessageBody(String);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// Nothing, or only white space.
    Empty,
    /// Over the character or the byte limit. `chars` is `None` when the byte count alone
    /// refused it before any character was counted.
    TooLong { chars: Option<usize>, bytes: usize },
    /// A control character other than newline and tab.
    ControlChar(char),
    /// A bidirectional override or isolate ("Trojan Source"): it reorders what readers see.
    BidiControl(char),
}

impl MessageBody {
    pub fn new(raw: String) -> Result<Self, BodyError> {
        let bytes = raw.len();
        // The byte cap is checked first so that a huge body costs O(1) to refuse.
        if bytes > BODY_BYTES_MAX {
            return Err(BodyError::TooLong { chars: None, bytes });
        }
        let mut chars = 0usize;
        let mut blank = true;
        for c in raw.chars() {
            chars += 1;
            if c.is_control() && c != '\n' && c != '\t' {
                return Err(BodyError::ControlChar(c));
            }
            if is_bidi_control(c) {
                return Err(BodyError::BidiControl(c));
            }
            blank &= c.is_whitespace();
        }
        if blank {
            return Err(BodyError::Empty);
        }
        if chars > BODY_CHARS_MAX {
            return Err(BodyError::TooLong {
                chars: Some(chars),
                bytes,
            });
        }
        Ok(MessageBody(raw))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// U+202A to U+202E (embeddings and overrides) and U+2066 to U+2069 (isolates).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

impl fmt::Debug for MessageBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageBody({:?})", self.0)
    }
}

impl fmt::Display for MessageBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyError::Empty => f.write_str("The message is empty."),
            BodyError::TooLong {
                chars: Some(chars), ..
            } => write!(
                f,
                "The message is too long ({chars} characters): the limit is {BODY_CHARS_MAX}."
            ),
            BodyError::TooLong { chars: None, bytes } => write!(
                f,
                "The message is too long ({bytes} bytes): the limit is {BODY_CHARS_MAX} characters and {BODY_BYTES_MAX} bytes."
            ),
            BodyError::ControlChar(c) => write!(
                f,
                "The message contains the control character U+{:04X}: only newline and tab are allowed.",
                u32::from(*c)
            ),
            BodyError::BidiControl(c) => write!(
                f,
                "The message contains U+{:04X}, a text-direction control that can disguise what is shown.",
                u32::from(*c)
            ),
        }
    }
}

impl ErrorCode for BodyError {
    fn code(&self) -> &'static str {
        match self {
            BodyError::Empty => "empty_message",
            BodyError::TooLong { .. } => "message_too_long",
            BodyError::ControlChar(_) | BodyError::BidiControl(_) => "invalid_message",
        }
    }
}

impl std::error::Error for BodyError {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn code_of(raw: &str) -> Result<(), &'static str> {
        MessageBody::new(raw.to_string())
            .map(|_| ())
            .map_err(|e| e.code())
    }

    #[test]
    fn empty_and_whitespace_only_are_empty() {
        for raw in ["", " ", "\t", "\n", " \n\t ", "\u{3000}"] {
            assert_eq!(code_of(raw), Err("empty_message"), "{raw:?}");
        }
    }

    #[test]
    fn text_is_kept_exactly_with_its_spaces() {
        let body = MessageBody::new("  two  spaces\tand\na newline ".into()).unwrap();
        assert_eq!(body.as_str(), "  two  spaces\tand\na newline ");
    }

    #[test]
    fn exactly_the_maximum_and_one_over() {
        assert_eq!(code_of(&"a".repeat(BODY_CHARS_MAX)), Ok(()));
        let over = MessageBody::new("a".repeat(BODY_CHARS_MAX + 1)).unwrap_err();
        assert_eq!(
            over,
            BodyError::TooLong {
                chars: Some(4001),
                bytes: 4001
            }
        );
    }

    #[test]
    fn multi_byte_characters_at_the_limits() {
        // 4,000 four-byte characters are 16,000 bytes: within both limits.
        assert_eq!(code_of(&"😀".repeat(BODY_CHARS_MAX)), Ok(()));
        // One more is over the character limit, still under the byte limit.
        assert_eq!(
            MessageBody::new("😀".repeat(BODY_CHARS_MAX + 1)).unwrap_err(),
            BodyError::TooLong {
                chars: Some(4001),
                bytes: 16_004
            }
        );
        // Past 16 KiB the byte check refuses it before counting characters.
        assert_eq!(
            MessageBody::new("😀".repeat(4097)).unwrap_err(),
            BodyError::TooLong {
                chars: None,
                bytes: 16_388
            }
        );
        // 16,384 bytes exactly but 5,462 characters (3 bytes each, minus one): characters bind.
        let near = format!("{}a", "€".repeat(5461));
        assert_eq!(near.len(), 16_384);
        assert_eq!(code_of(&near), Err("message_too_long"));
    }

    #[test]
    fn control_characters_are_refused_but_newline_and_tab_kept() {
        for c in ['\0', '\r', '\u{7}', '\u{1b}', '\u{7f}', '\u{85}', '\u{9f}'] {
            assert_eq!(
                code_of(&format!("hi{c}there")),
                Err("invalid_message"),
                "{c:?}"
            );
        }
        assert_eq!(code_of("a\tb\nc"), Ok(()));
    }

    #[test]
    fn bidi_overrides_are_refused_but_other_unicode_kept() {
        assert_eq!(code_of("abc\u{202E}fed"), Err("invalid_message"));
        assert_eq!(code_of("x\u{2066}y"), Err("invalid_message"));
        assert_eq!(code_of("zoë 日本語 👩‍👩‍👧 مرحبا"), Ok(()));
    }

    #[test]
    fn errors_have_sentences() {
        let err = MessageBody::new("\u{1b}[2J".into()).unwrap_err();
        assert!(err.to_string().contains("U+001B"), "{err}");
    }

    proptest! {
        #[test]
        fn new_never_panics_and_what_it_accepts_obeys_every_rule(raw in any::<String>()) {
            if let Ok(body) = MessageBody::new(raw.clone()) {
                prop_assert_eq!(body.as_str(), raw.as_str());
                prop_assert!(raw.chars().count() <= BODY_CHARS_MAX);
                prop_assert!(raw.len() <= BODY_BYTES_MAX);
                prop_assert!(!raw.trim().is_empty());
                prop_assert!(raw.chars().all(|c| !c.is_control() || c == '\n' || c == '\t'));
            }
        }

        #[test]
        fn printable_text_is_accepted(raw in "[a-zA-Z0-9 .,!?é€😀]{0,200}[a-z]") {
            prop_assert!(MessageBody::new(raw).is_ok());
        }
    }
}
