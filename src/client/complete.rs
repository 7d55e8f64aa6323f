//! Tab completion at a terminal, without I/O: the word before the cursor completed from the
//! commands (first word) or the names the client has seen (people, `#groups`).

use std::collections::BTreeSet;

/// The commands Tab completes.
pub const COMMANDS: &[&str] = &[
    "/admin", "/create", "/groups", "/help", "/history", "/invite", "/kick", "/leave", "/members",
    "/owner", "/query", "/quit", "/send", "/unread",
];
/// Names kept for completion, at most.
pub const NAMES_MAX: usize = 2_000;

/// The completion of the word ending at `cursor` in `line` (a char index): the characters to
/// insert at the cursor. A single match is completed with a space after it; several share a
/// longest common start, which is inserted; none or nothing new gives `None`.
pub fn complete(line: &[char], cursor: usize, names: &BTreeSet<String>) -> Option<String> {
    let start = line[..cursor]
        .iter()
        .rposition(|c| c.is_whitespace())
        .map_or(0, |at| at + 1);
    let word: String = line[start..cursor].iter().collect();
    if word.is_empty() {
        return None;
    }
    let first_word = line[..start].iter().all(|c| c.is_whitespace());
    let candidates: Vec<&str> = if first_word && word.starts_with('/') {
        COMMANDS
            .iter()
            .copied()
            .filter(|c| c.starts_with(&word))
            .collect()
    } else {
        names
            .range(word.clone()..)
            .take_while(|n| n.starts_with(&word))
            .map(String::as_str)
            .collect()
    };
    let (first, rest) = candidates.split_first()?;
    if rest.is_empty() {
        return Some(format!("{} ", &first[word.len()..]));
    }
    let mut common = first.to_string();
    for other in rest {
        while !other.starts_with(&common) {
            common.pop();
        }
    }
    (common.len() > word.len()).then(|| common[word.len()..].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> BTreeSet<String> {
        ["bob", "bobby", "carol", "#team", "#tea"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    fn at_end(text: &str) -> Option<String> {
        let line: Vec<char> = text.chars().collect();
        complete(&line, line.len(), &names())
    }

    #[test]
    fn commands_complete_as_the_first_word_only() {
        assert_eq!(at_end("/his").as_deref(), Some("tory "));
        assert_eq!(at_end("/q").as_deref(), Some("u"));
        assert_eq!(at_end("/send /his"), None);
    }

    #[test]
    fn names_and_groups_complete_to_one_or_to_what_they_share() {
        assert_eq!(at_end("/send ca").as_deref(), Some("rol "));
        assert_eq!(at_end("/send bo").as_deref(), Some("b"));
        assert_eq!(at_end("/send bob"), None);
        assert_eq!(at_end("/history #te").as_deref(), Some("a"));
        assert_eq!(at_end("/send zed"), None);
        assert_eq!(at_end("/send "), None);
    }
}
