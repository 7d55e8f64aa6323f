//! The two faces of the client: a terminal with a line editor, or plain lines for scripts (stdin
//! a pipe or a file). Both turn stdin bytes into `Input`s and print what the session shows.

use std::io::{self, Write};

use super::editor::{Action, Editor};
use super::format;
use super::session::{Input, Prompt};
use super::terminal::{self, RawMode};

/// The longest line taken from stdin, in bytes: a `/send` with the longest message body
/// (16 KiB) and room for the command and name. Longer lines are refused whole.
pub const INPUT_LINE_BYTES_MAX: usize = 16 * 1024 + 64;

pub trait Ui {
    /// Takes bytes read from stdin.
    fn feed(&mut self, bytes: &[u8]);
    /// Stdin reached its end: after the lines still buffered, `next_input` gives `Input::End`.
    fn end_of_stdin(&mut self);
    /// The next whole input among the bytes fed, if there is one.
    fn next_input(&mut self) -> io::Result<Option<Input>>;
    /// True if fed bytes make a whole input, so stdin need not be read yet.
    fn has_buffered_input(&mut self) -> bool;
    /// Prints `text` (one or more lines).
    fn show(&mut self, text: &str) -> io::Result<()>;
    /// Shows what is being typed for, or nothing.
    fn set_prompt(&mut self, prompt: Option<Prompt>) -> io::Result<()>;
    /// The line just submitted was refused: give it back to be fixed (a terminal's editor).
    fn keep_line(&mut self, _line: &str) -> io::Result<()> {
        Ok(())
    }
    /// Names the client has seen, for Tab completion.
    fn learn(&mut self, _names: Vec<String>) {}
}

/// Scripts: stdin is lines (username, password, then commands); stdout gets plain lines.
pub struct PlainUi {
    buffer: Vec<u8>,
    /// Bytes at the front of `buffer` already taken.
    taken: usize,
    /// Inside a line that is too long: drop bytes until its end.
    skipping: bool,
    ended: bool,
    end_given: bool,
    line_number: u64,
}

impl PlainUi {
    pub fn new() -> Self {
        PlainUi {
            buffer: Vec::new(),
            taken: 0,
            skipping: false,
            ended: false,
            end_given: false,
            line_number: 0,
        }
    }

    fn take_line(&mut self) -> Option<Input> {
        let rest = &self.buffer[self.taken..];
        let newline = rest.iter().position(|&b| b == b'\n');
        let line_end = match newline {
            Some(at) => at,
            // The last line may lack its newline.
            None if self.ended && !rest.is_empty() => rest.len(),
            None if rest.len() > INPUT_LINE_BYTES_MAX => return Some(self.refuse_long_line()),
            None => {
                self.compact();
                return None;
            }
        };
        let line = &rest[..line_end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        self.line_number += 1;
        let input = if line.len() > INPUT_LINE_BYTES_MAX {
            self.long_line_error()
        } else {
            match std::str::from_utf8(line) {
                Ok(text) => Input::Line(text.to_string()),
                Err(_) => Input::Unreadable(format::error(
                    "invalid_input",
                    &format!(
                        "Line {} is not valid UTF-8; it was skipped.",
                        self.line_number
                    ),
                )),
            }
        };
        self.taken += line_end + usize::from(newline.is_some());
        Some(input)
    }

    /// A line outgrew the limit before its end arrived: refuse it now and drop the rest of it as
    /// it comes, so the buffer stays bounded.
    fn refuse_long_line(&mut self) -> Input {
        self.buffer.clear();
        self.taken = 0;
        self.skipping = true;
        self.line_number += 1;
        self.long_line_error()
    }

    fn long_line_error(&self) -> Input {
        Input::Unreadable(format::error(
            "line_too_long",
            &format!(
                "Line {} is longer than {INPUT_LINE_BYTES_MAX} bytes; it was skipped.",
                self.line_number
            ),
        ))
    }

    fn compact(&mut self) {
        self.buffer.drain(..self.taken);
        self.taken = 0;
    }
}

impl Ui for PlainUi {
    fn feed(&mut self, bytes: &[u8]) {
        if self.skipping {
            // Drop the refused line's bytes up to its newline without buffering them.
            if let Some(at) = bytes.iter().position(|&b| b == b'\n') {
                self.skipping = false;
                self.buffer.extend_from_slice(&bytes[at + 1..]);
            }
        } else {
            self.buffer.extend_from_slice(bytes);
        }
    }

    fn end_of_stdin(&mut self) {
        self.ended = true;
    }

    fn next_input(&mut self) -> io::Result<Option<Input>> {
        if let Some(input) = self.take_line() {
            return Ok(Some(input));
        }
        if self.ended && !std::mem::replace(&mut self.end_given, true) {
            return Ok(Some(Input::End));
        }
        Ok(None)
    }

    fn has_buffered_input(&mut self) -> bool {
        let rest = &self.buffer[self.taken..];
        rest.contains(&b'\n')
            || rest.len() > INPUT_LINE_BYTES_MAX
            || (self.ended && !self.end_given)
    }

    fn show(&mut self, text: &str) -> io::Result<()> {
        let mut out = io::stdout().lock();
        writeln!(out, "{text}")?;
        out.flush()
    }

    fn set_prompt(&mut self, _prompt: Option<Prompt>) -> io::Result<()> {
        Ok(())
    }
}

/// A person at a terminal: raw mode, a line editor whose row stays at the bottom, output
/// printed above it.
pub struct TerminalUi {
    editor: Editor,
    prompt: Option<Prompt>,
    ended: bool,
    // Dropped last: restores the terminal's mode.
    _raw: RawMode,
}

impl TerminalUi {
    pub fn new() -> io::Result<Self> {
        Ok(TerminalUi {
            editor: Editor::new(INPUT_LINE_BYTES_MAX),
            prompt: None,
            ended: false,
            _raw: RawMode::enter()?,
        })
    }

    fn redraw(&mut self) -> io::Result<()> {
        if self.prompt.is_none() {
            return Ok(());
        }
        let row = self.editor.render(terminal::columns());
        write_terminal(&row)
    }
}

fn prompt_text(prompt: &Prompt) -> String {
    match prompt {
        Prompt::Username => "username: ".into(),
        Prompt::Password => "password: ".into(),
        Prompt::PasswordAgain => "password again: ".into(),
        Prompt::Command { to, offline } => {
            let offline = if *offline { "(offline) " } else { "" };
            match to {
                Some(to) => format!("{offline}{to}> "),
                None => format!("{offline}> "),
            }
        }
    }
}

fn write_terminal(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

impl Ui for TerminalUi {
    fn feed(&mut self, bytes: &[u8]) {
        self.editor.feed(bytes);
    }

    fn end_of_stdin(&mut self) {
        self.ended = true;
    }

    fn next_input(&mut self) -> io::Result<Option<Input>> {
        let input = match self.editor.next_action() {
            Some(Action::Submit(line)) => {
                // The keys may have come in one read and never been drawn: draw the final row.
                let row = match &self.prompt {
                    // A command's row is replaced by what it leads to.
                    Some(Prompt::Command { .. }) | None => Editor::erase().to_string(),
                    Some(Prompt::Username) => format!(
                        "\r{}{}\x1b[K\n",
                        prompt_text(&Prompt::Username),
                        format::printable(&line)
                    ),
                    // Never the password itself.
                    Some(prompt) => format!("\r{}\x1b[K\n", prompt_text(prompt)),
                };
                if matches!(self.prompt, Some(Prompt::Command { .. })) {
                    self.editor.remember(&line);
                }
                write_terminal(&row)?;
                Input::Line(line)
            }
            Some(Action::Interrupt) => Input::Interrupt,
            Some(Action::EndOfInput) => Input::End,
            None if self.ended => {
                self.ended = false;
                Input::End
            }
            None => {
                if self.editor.is_dirty() {
                    self.redraw()?;
                }
                return Ok(None);
            }
        };
        Ok(Some(input))
    }

    fn has_buffered_input(&mut self) -> bool {
        self.editor.has_complete_key() || self.ended
    }

    fn show(&mut self, text: &str) -> io::Result<()> {
        let mut out = String::from(Editor::erase());
        out.push_str(text);
        out.push('\n');
        write_terminal(&out)?;
        self.redraw()
    }

    fn set_prompt(&mut self, prompt: Option<Prompt>) -> io::Result<()> {
        if prompt == self.prompt {
            return Ok(());
        }
        let same_line = matches!(
            (&self.prompt, &prompt),
            (Some(Prompt::Command { .. }), Some(Prompt::Command { .. }))
        );
        self.prompt = prompt;
        match &self.prompt {
            // Offline, online, another /query: the line being typed stays as it is.
            Some(prompt) if same_line => {
                self.editor.set_prompt(&prompt_text(prompt));
                self.redraw()
            }
            Some(prompt) => {
                let secret = matches!(prompt, Prompt::Password | Prompt::PasswordAgain);
                self.editor.start_line(&prompt_text(prompt), secret);
                self.redraw()
            }
            None => write_terminal(Editor::erase()),
        }
    }

    fn keep_line(&mut self, line: &str) -> io::Result<()> {
        self.editor.restore(line);
        self.redraw()
    }

    fn learn(&mut self, names: Vec<String>) {
        self.editor.learn(names);
    }
}

impl Drop for TerminalUi {
    fn drop(&mut self) {
        // Leave the shell's prompt on a clean row.
        if self.prompt.is_some() {
            let _ = write_terminal(Editor::erase());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(ui: &mut PlainUi) -> Vec<Input> {
        std::iter::from_fn(|| ui.next_input().unwrap()).collect()
    }

    fn line(text: &str) -> Input {
        Input::Line(text.into())
    }

    #[test]
    fn lines_split_anywhere_and_crlf_are_taken_whole() {
        let mut ui = PlainUi::new();
        ui.feed(b"alice\r\npass");
        assert_eq!(inputs(&mut ui), vec![line("alice")]);
        assert!(!ui.has_buffered_input());
        ui.feed(b"word\n/send bob hi\n");
        assert!(ui.has_buffered_input());
        assert_eq!(
            inputs(&mut ui),
            vec![line("password"), line("/send bob hi")]
        );
    }

    #[test]
    fn the_last_line_needs_no_newline_and_end_comes_once_after_it() {
        let mut ui = PlainUi::new();
        ui.feed(b"one\ntwo");
        ui.end_of_stdin();
        assert_eq!(inputs(&mut ui), vec![line("one"), line("two"), Input::End]);
        assert_eq!(inputs(&mut ui), vec![]);
    }

    #[test]
    fn a_line_too_long_is_refused_and_the_next_one_taken() {
        let mut ui = PlainUi::new();
        // Fed in pieces, as a pipe delivers it: the refusal comes before the line ends.
        let long = vec![b'a'; INPUT_LINE_BYTES_MAX + 10];
        for piece in long.chunks(4096) {
            ui.feed(piece);
        }
        let refused = inputs(&mut ui);
        assert!(
            matches!(refused.as_slice(), [Input::Unreadable(why)] if why.contains("[line_too_long]") && why.contains("Line 1 "))
        );
        ui.feed(b"aaaa\nnext\n");
        assert_eq!(inputs(&mut ui), vec![line("next")]);
        assert!(ui.buffer.len() < 64, "nothing of the long line stays");
    }

    #[test]
    fn a_line_at_the_limit_is_taken() {
        let mut ui = PlainUi::new();
        let mut bytes = vec![b'a'; INPUT_LINE_BYTES_MAX];
        bytes.push(b'\n');
        ui.feed(&bytes);
        assert!(
            matches!(inputs(&mut ui).as_slice(), [Input::Line(l)] if l.len() == INPUT_LINE_BYTES_MAX)
        );
    }

    #[test]
    fn invalid_utf8_is_reported_with_its_line_number() {
        let mut ui = PlainUi::new();
        ui.feed(b"ok\n\xff\xfe\nfine\n");
        let got = inputs(&mut ui);
        assert_eq!(got[0], line("ok"));
        assert!(
            matches!(&got[1], Input::Unreadable(why) if why.contains("Line 2 ") && why.contains("[invalid_input]"))
        );
        assert_eq!(got[2], line("fine"));
    }
}
