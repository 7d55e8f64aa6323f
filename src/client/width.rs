//! How many terminal columns a character takes, from the `unicode-width` crate (Unicode's East
//! Asian Width and emoji presentation, the tables terminal programs in Rust share).

use unicode_width::UnicodeWidthChar;

/// Columns `c` occupies in a terminal: 0 for combining marks, joiners and controls (which the
/// client never draws raw), 2 for wide East Asian characters and emoji, 1 otherwise.
pub fn char_columns(c: char) -> usize {
    c.width().unwrap_or(0)
}

/// Columns `s` occupies in a terminal, counted character by character as the editor moves its
/// cursor.
pub fn str_columns(s: &str) -> usize {
    s.chars().map(char_columns).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_wide_and_zero_width() {
        assert_eq!(char_columns('a'), 1);
        assert_eq!(char_columns('é'), 1);
        assert_eq!(char_columns('中'), 2);
        assert_eq!(char_columns('😀'), 2);
        assert_eq!(char_columns('🚀'), 2);
        assert_eq!(char_columns('✅'), 2);
        assert_eq!(char_columns('☺'), 1, "text presentation by default");
        assert_eq!(char_columns('\u{0301}'), 0);
        assert_eq!(str_columns("e\u{0301}中a"), 4);
    }

    #[test]
    fn scripts_the_old_ranges_missed() {
        // Hangul Jamo extended-B (zero width), Tangut (wide), a ZWJ (zero width).
        assert_eq!(char_columns('\u{d7b0}'), 0);
        assert_eq!(char_columns('\u{17000}'), 2);
        assert_eq!(char_columns('\u{200d}'), 0);
        assert_eq!(char_columns('\u{1fae8}'), 2, "an emoji of Unicode 15");
    }
}
