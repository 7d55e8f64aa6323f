//! The terminal line editor: turns raw key bytes into edits of one line and into actions, and
//! draws that line on one terminal row. Pure: no I/O, so every key is unit-tested.

use std::collections::{BTreeSet, VecDeque};

use super::complete::{NAMES_MAX, complete};
use super::recall::Recall;
use super::width::{char_columns, str_columns};

/// What a finished key sequence asks of the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Enter: the line as typed.
    Submit(String),
    /// Ctrl-C on an empty line (on a non-empty one it clears the line).
    Interrupt,
    /// Ctrl-D on an empty line.
    EndOfInput,
}

/// One decoded key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Char(char),
    Enter,
    Backspace,
    /// Delete, or Ctrl-D on a non-empty line: the character under the cursor.
    Delete,
    Left,
    Right,
    Home,
    End,
    /// Ctrl-U: everything before the cursor.
    KillBefore,
    /// Ctrl-K: everything from the cursor on.
    KillAfter,
    /// Ctrl-W: the word before the cursor.
    KillWord,
    /// Ctrl-L: draw the line again.
    Redraw,
    /// Up and Down: earlier lines.
    Older,
    Newer,
    Tab,
    Interrupt,
    EndOfInput,
    /// Anything else: an unknown escape sequence, a stray control byte, invalid UTF-8.
    Ignored,
}

pub struct Editor {
    line: Vec<char>,
    /// Index into `line`, 0..=line.len().
    cursor: usize,
    /// Bytes read but not yet decoded: a partial UTF-8 character or escape sequence, or keys
    /// typed ahead of an `Action` that has not been taken yet.
    pending: VecDeque<u8>,
    prompt: String,
    /// Typing is not shown (passwords): the row shows the prompt alone.
    secret: bool,
    line_bytes_max: usize,
    line_bytes: usize,
    /// The line changed since the last `render`.
    dirty: bool,
    /// A key was refused (the line is full, nothing to complete): ring the bell once.
    bell: bool,
    recall: Recall,
    /// Names to complete with Tab, bounded by `NAMES_MAX`.
    names: BTreeSet<String>,
}

/// How many pending bytes an escape sequence may span before it is dropped as garbage.
const ESCAPE_BYTES_MAX: usize = 16;

impl Editor {
    pub fn new(line_bytes_max: usize) -> Self {
        Editor {
            line: Vec::new(),
            cursor: 0,
            pending: VecDeque::new(),
            prompt: String::new(),
            secret: false,
            line_bytes_max,
            line_bytes: 0,
            dirty: true,
            bell: false,
            recall: Recall::default(),
            names: BTreeSet::new(),
        }
    }

    /// Shows `prompt` in front of the line, which stays as it is.
    pub fn set_prompt(&mut self, prompt: &str) {
        self.prompt = prompt.to_string();
        self.dirty = true;
    }

    /// Puts a refused line back, cursor at its end, to be fixed.
    pub fn restore(&mut self, line: &str) {
        self.clear();
        for c in line.chars() {
            self.insert(c);
        }
    }

    /// Keeps a submitted line for Up and Down.
    pub fn remember(&mut self, line: &str) {
        self.recall.remember(line);
    }

    /// More names for Tab to complete.
    pub fn learn(&mut self, names: impl IntoIterator<Item = String>) {
        for name in names {
            if self.names.len() >= NAMES_MAX {
                break;
            }
            self.names.insert(name);
        }
    }

    /// Starts a new, empty line under `prompt`.
    pub fn start_line(&mut self, prompt: &str, secret: bool) {
        self.prompt = prompt.to_string();
        self.secret = secret;
        self.clear();
    }

    /// Takes bytes read from the terminal; `next_action` decodes them.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.pending.extend(bytes);
    }

    /// True if the pending bytes hold at least one whole key. A partial one (a lone Escape, half
    /// an arrow key's sequence, the first byte of a character) needs more bytes from the
    /// terminal before it means anything.
    pub fn has_complete_key(&mut self) -> bool {
        decode_key(self.pending.make_contiguous()).is_some()
    }

    /// Decodes pending keys, editing the line, up to and including the first key that asks for
    /// an action. Keys after it stay pending: the client may not want them yet.
    pub fn next_action(&mut self) -> Option<Action> {
        while let Some((key, used)) = decode_key(self.pending.make_contiguous()) {
            self.pending.drain(..used);
            if let Some(action) = self.apply(key) {
                return Some(action);
            }
        }
        None
    }

    fn apply(&mut self, key: Key) -> Option<Action> {
        self.dirty = true;
        if !matches!(key, Key::Older | Key::Newer | Key::Redraw | Key::Ignored) {
            self.recall.stop();
        }
        match key {
            Key::Char(c) => self.insert(c),
            Key::Enter => {
                let line: String = self.line.iter().collect();
                self.clear();
                return Some(Action::Submit(line));
            }
            Key::Backspace if self.cursor > 0 => {
                self.cursor -= 1;
                self.remove(self.cursor..self.cursor + 1);
            }
            Key::Delete if self.cursor < self.line.len() => {
                self.remove(self.cursor..self.cursor + 1);
            }
            Key::Left => self.cursor = self.cursor.saturating_sub(1),
            Key::Right => self.cursor = (self.cursor + 1).min(self.line.len()),
            Key::Home => self.cursor = 0,
            Key::End => self.cursor = self.line.len(),
            Key::KillBefore => {
                self.remove(0..self.cursor);
                self.cursor = 0;
            }
            Key::KillAfter => self.remove(self.cursor..self.line.len()),
            Key::KillWord => {
                let mut start = self.cursor;
                while start > 0 && self.line[start - 1].is_whitespace() {
                    start -= 1;
                }
                while start > 0 && !self.line[start - 1].is_whitespace() {
                    start -= 1;
                }
                self.remove(start..self.cursor);
                self.cursor = start;
            }
            // Ctrl-C clears a line being typed; only on an empty one does it ask to quit.
            Key::Interrupt if !self.line.is_empty() => self.clear(),
            Key::Interrupt => return Some(Action::Interrupt),
            Key::Older | Key::Newer if self.secret => self.dirty = false,
            Key::Older => {
                let current: String = self.line.iter().collect();
                match self.recall.older(&current) {
                    Some(line) => self.restore(&line),
                    None => self.bell = true,
                }
            }
            Key::Newer => match self.recall.newer() {
                Some(line) => self.restore(&line),
                None => self.dirty = false,
            },
            Key::Tab if self.secret => self.dirty = false,
            Key::Tab => match complete(&self.line, self.cursor, &self.names) {
                Some(insert) => insert.chars().for_each(|c| self.insert(c)),
                None => self.bell = true,
            },
            Key::EndOfInput if self.line.is_empty() => return Some(Action::EndOfInput),
            Key::EndOfInput => return self.apply(Key::Delete),
            Key::Redraw => {}
            Key::Backspace | Key::Delete | Key::Ignored => self.dirty = false,
        }
        None
    }

    fn insert(&mut self, c: char) {
        if self.line_bytes + c.len_utf8() > self.line_bytes_max {
            self.bell = true;
            return;
        }
        self.line.insert(self.cursor, c);
        self.line_bytes += c.len_utf8();
        self.cursor += 1;
    }

    fn remove(&mut self, range: std::ops::Range<usize>) {
        let removed: usize = self.line.drain(range).map(char::len_utf8).sum();
        self.line_bytes -= removed;
    }

    fn clear(&mut self) {
        self.line.clear();
        self.line_bytes = 0;
        self.cursor = 0;
        self.dirty = true;
    }

    /// True if the row should be drawn again.
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// The bytes that redraw the row in a terminal `columns` wide: back to column 0, the prompt
    /// and as much of the line as fits around the cursor (it scrolls sideways rather than
    /// wrapping, so a redraw never has to know how many rows it spans), the rest of the row
    /// cleared, the cursor put back.
    pub fn render(&mut self, columns: usize) -> String {
        self.dirty = false;
        let mut out = String::from("\r");
        if std::mem::take(&mut self.bell) {
            out.push('\x07');
        }
        out.push_str(&self.prompt);
        let prompt_columns = str_columns(&self.prompt);
        let room = columns.saturating_sub(prompt_columns + 1).max(1);
        if !self.secret {
            let (start, end) = self.window(room);
            let visible: String = self.line[start..end].iter().collect();
            out.push_str(&visible);
            out.push_str("\x1b[K");
            let back: usize = self.line[self.cursor..end]
                .iter()
                .map(|&c| char_columns(c))
                .sum();
            if back > 0 {
                out.push_str(&format!("\x1b[{back}D"));
            }
        } else {
            out.push_str("\x1b[K");
        }
        out
    }

    /// The slice of the line to show in `room` columns: it ends at the line's end if that fits
    /// with the cursor, else it starts far enough left to keep the cursor in view.
    fn window(&self, room: usize) -> (usize, usize) {
        // Grow leftwards from the cursor, then rightwards, within `room` columns.
        let mut start = self.cursor;
        let mut used = 0;
        // Reserve one column for the cursor itself when it sits past the last character.
        let cursor_columns = self.line.get(self.cursor).map_or(1, |&c| char_columns(c));
        while start > 0 && used + char_columns(self.line[start - 1]) + cursor_columns <= room {
            start -= 1;
            used += char_columns(self.line[start]);
        }
        let mut end = self.cursor;
        while end < self.line.len() && used + char_columns(self.line[end]) <= room {
            used += char_columns(self.line[end]);
            end += 1;
        }
        (start, end)
    }

    /// The bytes that erase the row, before other output is printed in its place.
    pub fn erase() -> &'static str {
        "\r\x1b[K"
    }
}

/// Decodes the first key in `bytes`: the key and how many bytes it took, or `None` if the bytes
/// are the start of a key that has not fully arrived.
fn decode_key(bytes: &[u8]) -> Option<(Key, usize)> {
    let &first = bytes.first()?;
    let key = match first {
        b'\r' | b'\n' => Key::Enter,
        0x7f | 0x08 => Key::Backspace,
        0x01 => Key::Home,
        0x05 => Key::End,
        0x02 => Key::Left,
        0x06 => Key::Right,
        0x15 => Key::KillBefore,
        0x0b => Key::KillAfter,
        0x17 => Key::KillWord,
        0x0c => Key::Redraw,
        0x03 => Key::Interrupt,
        0x04 => Key::EndOfInput,
        b'\t' => Key::Tab,
        0x1b => return decode_escape(bytes),
        0x00..=0x1f => Key::Ignored,
        _ => return decode_char(bytes),
    };
    Some((key, 1))
}

/// ESC [ or ESC O sequences: arrows, Home, End, Delete. Others are skipped whole.
fn decode_escape(bytes: &[u8]) -> Option<(Key, usize)> {
    let &kind = bytes.get(1)?;
    if kind != b'[' && kind != b'O' {
        // A lone Escape press followed by something else: drop the Escape.
        return Some((Key::Ignored, 1));
    }
    // CSI: parameter bytes 0x30-0x3f, then one final byte 0x40-0x7e.
    let final_at = bytes[2..]
        .iter()
        .position(|b| !(0x30..=0x3f).contains(b))
        .map(|i| i + 2);
    let Some(final_at) = final_at else {
        return if bytes.len() > ESCAPE_BYTES_MAX {
            Some((Key::Ignored, bytes.len()))
        } else {
            None
        };
    };
    let params = &bytes[2..final_at];
    let key = match (bytes[final_at], params) {
        (b'A', _) => Key::Older,
        (b'B', _) => Key::Newer,
        (b'C', _) => Key::Right,
        (b'D', _) => Key::Left,
        (b'H', _) => Key::Home,
        (b'F', _) => Key::End,
        (b'~', b"1" | b"7") => Key::Home,
        (b'~', b"4" | b"8") => Key::End,
        (b'~', b"3") => Key::Delete,
        _ => Key::Ignored,
    };
    Some((key, final_at + 1))
}

/// One UTF-8 character; an invalid byte is skipped.
fn decode_char(bytes: &[u8]) -> Option<(Key, usize)> {
    let needed = match bytes[0] {
        0x00..=0x7f => 1,
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return Some((Key::Ignored, 1)),
    };
    if bytes.len() < needed {
        // Wait for the rest unless what came already cannot be the start of a character.
        return if bytes[1..].iter().all(|b| b & 0xc0 == 0x80) {
            None
        } else {
            Some((Key::Ignored, 1))
        };
    }
    match std::str::from_utf8(&bytes[..needed]) {
        // C1 controls (U+0080-U+009F) would be drawn raw, and no message may hold them.
        Ok(s) => s.chars().next().map(|c| {
            let key = if c.is_control() {
                Key::Ignored
            } else {
                Key::Char(c)
            };
            (key, needed)
        }),
        Err(_) => Some((Key::Ignored, 1)),
    }
}

#[cfg(test)]
mod tests;
