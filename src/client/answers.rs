//! Keeps the answers to commands in the order the commands were given, so a script's output
//! reads like its input even though a local error is known at once and a reply comes later.

use std::collections::VecDeque;

/// One command's answer: its lines, and whether it is complete.
struct Slot {
    id: u64,
    lines: Vec<String>,
    complete: bool,
}

#[derive(Default)]
pub struct Answers {
    slots: VecDeque<Slot>,
    next_id: u64,
}

impl Answers {
    /// Makes room for the answer to the next command.
    pub fn open(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.slots.push_back(Slot {
            id,
            lines: Vec::new(),
            complete: false,
        });
        id
    }

    pub fn add(&mut self, slot: u64, line: String) {
        if let Some(slot) = self.slots.iter_mut().find(|s| s.id == slot) {
            slot.lines.push(line);
        }
    }

    pub fn complete(&mut self, slot: u64) {
        if let Some(slot) = self.slots.iter_mut().find(|s| s.id == slot) {
            slot.complete = true;
        }
    }

    /// Answers not yet taken by `ready`, complete or not.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// The lines of the complete answers at the front, in command order.
    pub fn ready(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        while self.slots.front().is_some_and(|s| s.complete) {
            if let Some(slot) = self.slots.pop_front() {
                lines.extend(slot.lines);
            }
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quick_answer_waits_for_a_slower_one_before_it() {
        let mut answers = Answers::default();
        let first = answers.open();
        let second = answers.open();
        answers.add(second, "local error".into());
        answers.complete(second);
        assert!(answers.ready().is_empty());
        answers.add(first, "reply".into());
        answers.complete(first);
        assert_eq!(answers.ready(), ["reply", "local error"]);
        assert_eq!(answers.len(), 0);
    }
}
