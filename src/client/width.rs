//! How many terminal columns a character takes: 0 for combining marks and joiners, 2 for wide
//! East Asian characters and emoji, 1 otherwise. An approximation of Unicode's East Asian Width
//! that covers the common ranges, enough to keep the cursor where the person expects it.

/// Columns `c` occupies in a terminal.
pub fn char_columns(c: char) -> usize {
    let u = u32::from(c);
    if is_zero_width(u) {
        0
    } else if is_wide(u) {
        2
    } else {
        1
    }
}

/// Columns `s` occupies in a terminal.
pub fn str_columns(s: &str) -> usize {
    s.chars().map(char_columns).sum()
}

fn is_zero_width(u: u32) -> bool {
    matches!(u,
        0x0300..=0x036f      // combining diacritical marks
        | 0x200b..=0x200f    // zero-width space, joiners, marks
        | 0x20d0..=0x20ff    // combining marks for symbols
        | 0xfe00..=0xfe0f    // variation selectors
        | 0xfe20..=0xfe2f    // combining half marks
        | 0xe0100..=0xe01ef  // variation selectors supplement
    )
}

fn is_wide(u: u32) -> bool {
    matches!(u,
        0x1100..=0x115f      // Hangul Jamo
        | 0x2e80..=0x303e    // CJK radicals, punctuation
        | 0x3041..=0x33ff    // kana, CJK compatibility
        | 0x3400..=0x4dbf    // CJK extension A
        | 0x4e00..=0x9fff    // CJK unified ideographs
        | 0xa000..=0xa4cf    // Yi
        | 0xac00..=0xd7a3    // Hangul syllables
        | 0xf900..=0xfaff    // CJK compatibility ideographs
        | 0xfe30..=0xfe4f    // CJK compatibility forms
        | 0xff00..=0xff60    // full-width forms
        | 0xffe0..=0xffe6
        | 0x1f300..=0x1f64f  // pictographs, emoticons
        | 0x1f680..=0x1f6ff  // transport and map symbols
        | 0x1f900..=0x1f9ff  // supplemental symbols and pictographs
        | 0x1fa70..=0x1faff  // symbols and pictographs extended-A
        | 0x20000..=0x3fffd  // CJK extensions B and on
    ) || is_wide_symbol(u)
}

/// The older symbols that terminals draw as emoji, two columns wide (Unicode's emoji with
/// default emoji presentation below U+1F000).
fn is_wide_symbol(u: u32) -> bool {
    matches!(u,
        0x231a..=0x231b | 0x23e9..=0x23ec | 0x23f0 | 0x23f3 | 0x25fd..=0x25fe
        | 0x2614..=0x2615 | 0x2648..=0x2653 | 0x267f | 0x2693 | 0x26a1 | 0x26aa..=0x26ab
        | 0x26bd..=0x26be | 0x26c4..=0x26c5 | 0x26ce | 0x26d4 | 0x26ea | 0x26f2..=0x26f3
        | 0x26f5 | 0x26fa | 0x26fd | 0x2705 | 0x270a..=0x270b | 0x2728 | 0x274c | 0x274e
        | 0x2753..=0x2755 | 0x2757 | 0x2795..=0x2797 | 0x27b0 | 0x27bf | 0x2b1b..=0x2b1c
        | 0x2b50 | 0x2b55
    )
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
}
