//! Lines typed earlier, for Up and Down at a terminal: kept in memory only, the newest
//! `RECALL_LINES_MAX`, with the line being typed kept aside while browsing.

use std::collections::VecDeque;

/// Earlier lines kept, at most (the oldest is forgotten first).
pub const RECALL_LINES_MAX: usize = 200;

#[derive(Debug, Default)]
pub struct Recall {
    lines: VecDeque<String>,
    /// Browsing: the index of the line shown, and the line that was being typed.
    browsing: Option<(usize, String)>,
}

impl Recall {
    /// A line was submitted: remember it (not twice in a row), and stop browsing.
    pub fn remember(&mut self, line: &str) {
        self.browsing = None;
        if line.trim().is_empty() || self.lines.back().is_some_and(|last| last == line) {
            return;
        }
        if self.lines.len() == RECALL_LINES_MAX {
            self.lines.pop_front();
        }
        self.lines.push_back(line.to_string());
    }

    /// Up: the line before the one shown, given the line being typed now.
    pub fn older(&mut self, current: &str) -> Option<String> {
        let at = match &self.browsing {
            None => {
                let at = self.lines.len().checked_sub(1)?;
                self.browsing = Some((at, current.to_string()));
                at
            }
            Some((0, _)) => return None,
            Some((at, _)) => at - 1,
        };
        if let Some((shown, _)) = &mut self.browsing {
            *shown = at;
        }
        self.lines.get(at).cloned()
    }

    /// Down: the line after the one shown, or back to the line that was being typed.
    pub fn newer(&mut self) -> Option<String> {
        let (at, typed) = self.browsing.take()?;
        if at + 1 < self.lines.len() {
            self.browsing = Some((at + 1, typed));
            return self.lines.get(at + 1).cloned();
        }
        Some(typed)
    }

    /// The line was edited or replaced: the next Up starts from the newest again.
    pub fn stop(&mut self) {
        self.browsing = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn up_and_down_walk_the_lines_and_come_back_to_the_one_typed() {
        let mut recall = Recall::default();
        recall.remember("one");
        recall.remember("two");
        assert_eq!(recall.older("half").as_deref(), Some("two"));
        assert_eq!(recall.older("two").as_deref(), Some("one"));
        assert_eq!(recall.older("one"), None);
        assert_eq!(recall.newer().as_deref(), Some("two"));
        assert_eq!(recall.newer().as_deref(), Some("half"));
        assert_eq!(recall.newer(), None);
    }

    #[test]
    fn it_is_bounded_and_skips_repeats_and_blanks() {
        let mut recall = Recall::default();
        for n in 0..RECALL_LINES_MAX + 10 {
            recall.remember(&format!("line {n}"));
            recall.remember(&format!("line {n}"));
            recall.remember("  ");
        }
        assert_eq!(recall.lines.len(), RECALL_LINES_MAX);
        assert_eq!(recall.lines.front().map(String::as_str), Some("line 10"));
    }
}
